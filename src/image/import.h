/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.h - the one path by which an image enters the store, shared by pull,
 * load and import: check the manifest against the config, fetch the missing
 * blobs (through a callback: registry, archive, file), unpack every layer the
 * store does not have yet with both digests verified, then commit.
 *
 * The caller has already staged the manifest blob in the transaction; blobs
 * the fetch callback stages are verified by the blob writer against the
 * descriptor (digest and size) before anything reads them.
 */
#pragma once

#include "manifest.h"
#include "store.h"

struct image_import {
        struct image_store *store;
        struct store_txn *txn;
        const struct image_progress *progress;
        /* Stage the blob d (digest and size verified); -ENOENT when it cannot be had. */
        int (*fetch)(void *userdata, const struct descriptor *d);
        void *userdata;
};

/*
 * Import the image described by the manifest (already staged as manifest_digest)
 * and commit it with the given names. index_digest and repo may be NULL.
 * Returns 1 when the image is new, 0 when it was already stored; the image id
 * through ret_id (malloc'd).
 */
int image_import_manifest(struct image_import *im, const struct manifest *m, const char *manifest_digest,
                          const char *index_digest, const char *repo, char **tags, char **ret_id);

/*
 * Import an image made here (import, commit, later build): stage config (JSON text),
 * write an OCI manifest of it and the given layer descriptors (blobs already staged or
 * stored), and import that. Returns as image_import_manifest().
 */
int image_import_config(struct image_import *im, const char *config, const struct descriptor *layers,
                        size_t n_layers, char **tags, char **ret_id);

/* sha256 of the uncompressed content of a (possibly compressed) tar in fd, read from offset 0. */
int layer_diff_id_fd(int fd, char ret[80]);
/* Media type for a layer blob from its first bytes: gzip, zstd or plain tar. */
const char *layer_media_type_fd(int fd);
