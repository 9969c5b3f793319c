/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unpack.h - extraction of one image layer (a tar, plain or compressed) into a
 * directory, in the overlay filesystem's format.
 *
 * Security contract: nothing is ever written outside the destination
 * directory, whatever the tar says. Entry names are cleaned lexically and a
 * name that climbs above the root ("../x", "a/../../x") is an error; absolute
 * names are taken relative to the root (what tar(1) and Docker do). Parents
 * are resolved inside the root with chase.h (a symlink created by an earlier
 * entry is followed the confined way, never to the host), the last component
 * is created with O_EXCL|O_NOFOLLOW after removing what was there, and a
 * hardlink may only point to an entry already unpacked in this layer.
 *
 * Layer semantics (OCI image-spec layer.md): ".wh.<name>" entries become
 * overlay whiteouts (a 0/0 character device), ".wh..wh..opq" marks its
 * directory opaque (xattr trusted.overlay.opaque="y"); overlay's own
 * trusted.overlay.* xattrs coming from the tar are dropped, so that an image
 * cannot forge redirects or opaque markers. As root, owners, modes (setuid
 * and sticky bits included), device nodes, xattrs (security.capability too)
 * and mtimes are kept.
 *
 * Integrity: the compressed stream's sha256 and the uncompressed tar's sha256
 * (the diff_id) are computed while unpacking; when expected values are given
 * and do not match, the result is -EBADMSG and the caller must throw the
 * directory away (it is always a fresh temporary one).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Reads up to size bytes into buf. Returns the count, 0 at the end, -errno on failure. */
typedef ssize_t (*unpack_read_fn)(void *userdata, void *buf, size_t size);
typedef void (*unpack_progress_fn)(void *userdata, uint64_t bytes_read);

struct unpack_options {
        const char *expect_digest;  /* sha256 of the stream as given (compressed), or NULL */
        const char *expect_diff_id; /* sha256 of the uncompressed tar, or NULL */
        unpack_progress_fn progress;
        void *progress_userdata;
        /* A plain tar, not a layer (`hull cp -`): ".wh." names are ordinary files, and a "./"
         * entry leaves the destination directory's owner and mode alone. */
        bool plain;
};

struct unpack_result {
        char digest[80];        /* "sha256:<hex>" of the stream as read */
        char diff_id[80];       /* "sha256:<hex>" of the uncompressed tar */
        uint64_t stream_size;   /* bytes read from the source */
        uint64_t unpacked_size; /* bytes of regular file data written */
        uint64_t n_entries;
};

/* Unpack the tar read through read_fn into dest_fd (a directory). */
int unpack_layer(unpack_read_fn read_fn, void *userdata, int dest_fd, const struct unpack_options *opts,
                 struct unpack_result *ret);
/* Same, reading src_fd to its end. */
int unpack_layer_fd(int src_fd, int dest_fd, const struct unpack_options *opts, struct unpack_result *ret);

/* Lexically clean a tar entry name; -EINVAL when it leaves the root. "" is the root itself. */
int unpack_clean_path(const char *name, char **ret);
