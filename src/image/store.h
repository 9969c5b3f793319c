/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the image store: content-addressed blobs, unpacked layers and the
 * image tables of the node's state database.
 *
 * Layout under <root> (default /var/lib/hull):
 *     state.db                         the node's SQLite database (tables below)
 *     image/lock                       flock: shared while a process uses the store,
 *                                      exclusive for garbage collection
 *     image/blobs/sha256/<hex>         manifests, indexes, configs, layer tarballs
 *     image/layers/<chain-id hex>/     one unpacked layer (overlay lower dir)
 *     image/tmp/<txn>/                 staging area of one import in progress
 *
 * Tables (module "image"): images, tags, image_digests (repository digests),
 * layers (chain_id, diff_id, parent, path, size, refcount), image_layers (the
 * ordered layers of an image with their blob), image_blobs (every blob an image
 * needs: manifest, config, index, layers).
 *
 * Crash consistency: content arrives in a staging directory (a blob is hashed
 * while written and verified before it is staged), is renamed into blobs/ and
 * layers/ only when the whole image is there, and the database rows are
 * written last, in one transaction. A SIGKILL at any moment therefore leaves
 * either no image or a complete one; what it leaves in tmp/, blobs/ or
 * layers/ without a row is garbage that store_gc() collects (at the next
 * store open that gets the lock alone, at rmi, at image prune).
 *
 * Concurrency: every process holds the lock shared while it has the store
 * open, so two pulls of one image run side by side (their renames are
 * idempotent: same name, same content, and the database keeps one row); the
 * collector deletes files only with the lock held exclusively, so it never
 * removes what a running import is about to reference.
 */
#pragma once

#include <stdint.h>

#include "db.h"
#include "macro.h"
#include "manifest.h"

struct image_store;
struct store_txn;

enum progress_event {
        PROGRESS_START,  /* what: short digest, total: size or 0 when unknown */
        PROGRESS_UPDATE, /* done/total bytes */
        PROGRESS_DONE,   /* finished */
        PROGRESS_EXISTS, /* already present, skipped */
        _PROGRESS_EVENT_MAX,
        _PROGRESS_EVENT_INVALID = -EINVAL,
};

/* Progress of blob transfers, for the command layer's progress bars. May be NULL. */
struct image_progress {
        void (*fn)(void *userdata, enum progress_event ev, const char *action, const char *what, uint64_t done,
                   uint64_t total);
        void *userdata;
};

void image_progress_emit(const struct image_progress *p, enum progress_event ev, const char *action,
                         const char *digest, uint64_t done, uint64_t total);

struct image_info {
        char *id;              /* "sha256:<config digest hex>" */
        char *manifest_digest; /* digest of the stored manifest */
        char *manifest_type;
        int64_t created;       /* from the config; 0 when unknown */
        int64_t added;
        int64_t size;          /* unpacked bytes of all layers */
        char **tags;           /* normalised names "docker.io/library/busybox:latest" */
        char **repo_digests;   /* "repo@sha256:..." */
        char *os, *architecture;
};

/* Open (and create) the store under root. Takes the shared lock and may collect garbage. */
int image_store_open(const char *root, struct image_store **ret);
void image_store_close(struct image_store *s);
static inline void image_store_closep(struct image_store **s)
{
        image_store_close(*s);
}
#define _cleanup_image_store_ _cleanup_(image_store_closep)

const char *image_store_root(struct image_store *s);
struct db *image_store_db(struct image_store *s);

/* Path of a stored blob (malloc'd); does not check that it exists. */
char *store_blob_path(struct image_store *s, const char *digest);
bool store_blob_exists(struct image_store *s, const char *digest);
/* Read a whole blob (at most max bytes) and verify its digest; -EBADMSG when it does not match. */
int store_blob_read(struct image_store *s, const char *digest, size_t max, char **ret, size_t *ret_size);
/* Open a blob for reading; the caller verifies the digest while reading (see unpack.h, blob_verify_fd()). */
int store_blob_open(struct image_store *s, const char *digest, int *ret_fd);
/* Hash fd from offset 0 and compare with digest: 0, or -EBADMSG with a message naming it. */
int blob_verify_fd(int fd, const char *digest);

/* Chain id of a layer (image-spec config.md "Layer ChainID"): sha256(parent_chain + " " + diff_id). */
void layer_chain_id(const char *parent_chain, const char *diff_id, char ret[80]);

/*
 * Staging of one import. All content goes to the transaction's directory; the
 * commit moves it into place and writes the rows; freeing an uncommitted
 * transaction removes everything it staged.
 */
int store_txn_begin(struct image_store *s, struct store_txn **ret);
void store_txn_free(struct store_txn *t);
static inline void store_txn_freep(struct store_txn **t)
{
        store_txn_free(*t);
}
#define _cleanup_store_txn_ _cleanup_(store_txn_freep)

/* A blob being written: hashed as it goes. */
struct blob_writer;
int store_txn_blob_new(struct store_txn *t, struct blob_writer **ret);
int blob_writer_write(struct blob_writer *w, const void *data, size_t len);
/* Copy fd from its current offset to its end into w. */
int blob_writer_copy_fd(struct blob_writer *w, int fd);
int blob_writer_fd(struct blob_writer *w);
uint64_t blob_writer_size(struct blob_writer *w);
/*
 * Finish: verify against expect_digest (NULL: accept what was computed) and
 * expect_size (-1: any), stage the blob, write its digest to ret_digest.
 * Frees w in every case.
 */
int blob_writer_finish(struct blob_writer *w, const char *expect_digest, int64_t expect_size, char ret_digest[80]);
void blob_writer_abort(struct blob_writer *w);

/* Stage a blob from memory. */
int store_txn_add_blob(struct store_txn *t, const void *data, size_t len, const char *expect_digest,
                       char ret_digest[80]);
/* Where a blob can be read now: staged in this transaction or already stored (malloc'd path), or -ENOENT. */
int store_txn_blob_path(struct store_txn *t, const char *digest, char **ret);
/* True when the image (config digest) is in the store. */
bool store_image_exists(struct image_store *s, const char *id);
/* True when a layer with this chain id is stored (row and directory), so it need not be unpacked again. */
bool store_layer_exists(struct image_store *s, const char *chain_id);
/* Create the staging directory for a layer and return an fd of it (O_DIRECTORY). */
int store_txn_layer_dir(struct store_txn *t, const char *chain_id, int *ret_fd);

struct store_layer_add {
        const char *diff_id;
        const char *blob_digest;
        const char *media_type;
        int64_t blob_size;
        int64_t unpacked_size; /* -1 when the layer is already stored */
};

struct store_image_add {
        const char *config_digest;   /* becomes the image id */
        const char *manifest_digest; /* a staged or stored blob */
        const char *manifest_type;
        const char *index_digest;    /* or NULL */
        const char *repo;            /* "docker.io/library/busybox" for repo digests, or NULL */
        char **tags;                 /* normalised names to point at the image */
        const struct store_layer_add *layers;
        size_t n_layers;
        int64_t created;
        const char *os, *architecture;
};

/*
 * Move the staged content into place and record the image in one database
 * transaction. Tags that pointed elsewhere are moved. Returns 1 when the image
 * was new, 0 when it existed (only names were added).
 */
int store_txn_commit(struct store_txn *t, const struct store_image_add *img);

/* Resolve a name (tag, name@digest, full or short id) to an image id (malloc'd). */
int store_resolve(struct image_store *s, const char *name, char **ret_id);
int store_image_info(struct image_store *s, const char *id, struct image_info **ret);
void image_info_free(struct image_info *i);
static inline void image_info_freep(struct image_info **i)
{
        image_info_free(*i);
}
#define _cleanup_image_info_ _cleanup_(image_info_freep)
/* Every image, newest first. */
int store_list_images(struct image_store *s, struct image_info ***ret, size_t *ret_n);
void image_info_list_free(struct image_info **l, size_t n);

/* Point tag (a normalised name) at the image. */
int store_tag(struct image_store *s, const char *id, const char *tag);
/* Remove a tag. Returns the image id it pointed to (malloc'd) through ret_id when not NULL. */
int store_untag(struct image_store *s, const char *tag, char **ret_id);
/* Delete the image's rows (tags, digests) and drop its layer references. Files go at store_gc(). */
int store_remove_image(struct image_store *s, const char *id);
/* Number of tags of the image. */
int store_count_tags(struct image_store *s, const char *id);

struct store_gc_stats {
        uint64_t blobs, layers, tmp, bytes;
};
/*
 * Collect garbage: staging directories, layers no image uses, blobs no image
 * references. wait: block until the lock can be taken exclusively; otherwise
 * return -EBUSY at once when another process uses the store.
 */
int store_gc(struct image_store *s, bool wait, struct store_gc_stats *ret);

/* The config blob of an image, parsed. */
int store_image_config(struct image_store *s, const char *id, struct image_config **ret);
/* The stored manifest of an image (raw bytes, verified, malloc'd), and its digest/type through info. */
int store_image_manifest(struct image_store *s, const char *id, char **ret, size_t *ret_size);
/* Absolute paths of the image's unpacked layers, bottom first (strv). */
int store_image_layer_paths(struct image_store *s, const char *id, char ***ret);
/* Layer rows of an image, bottom first. */
struct store_layer {
        char *chain_id, *diff_id, *blob_digest, *media_type, *path;
        int64_t size, blob_size;
};
int store_image_layers(struct image_store *s, const char *id, struct store_layer **ret, size_t *ret_n);
void store_layers_free(struct store_layer *l, size_t n);
