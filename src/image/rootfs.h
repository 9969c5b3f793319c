/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs.h - a container's root file system from an image, and back.
 *
 * Mount: the image's unpacked layers become the lower directories of an
 * overlay mount (Documentation/filesystems/overlayfs.rst) with the
 * container's own upper and work directories, so layers are shared by every
 * container and never written. Where overlay cannot be mounted (no overlay
 * in the kernel, an upper directory on overlay itself...), the layers are
 * copied into the target instead, bottom first, with whiteouts and opaque
 * directories applied: same content, no sharing.
 *
 * Diff: the changes recorded in an overlay upper directory become an image
 * layer tar in OCI format (image-spec layer.md): a 0/0 character device is a
 * ".wh.<name>" whiteout, a directory with trusted.overlay.opaque="y" gets a
 * ".wh..wh..opq" entry. rootfs_commit() stores that layer on top of an image
 * as a new image (what `build` needs after each RUN).
 *
 * Volatile: a container removed when it exits (`run --rm`) or a build step
 * (its upper directory is read into a layer while mounted) loses nothing if a
 * host crash loses its writes, so its overlay is mounted "volatile": overlay
 * then skips syncing the upper file system, which made every unmount an ext4
 * journal commit (5-25 ms here, with nothing written). A volatile mount that
 * was not unmounted leaves incompat/volatile in overlayfs's own directory inside
 * the work directory, which refuses the next mount: it is removed first. Kernels before 5.10 lack the option: mounted
 * without it.
 *
 * Not thread-safe: the overlay mount briefly changes the process's working
 * directory to keep the mount options under one page.
 */
#pragma once

#include "store.h"

enum rootfs_mode {
        ROOTFS_OVERLAY,
        ROOTFS_COPY,
        _ROOTFS_MODE_MAX,
        _ROOTFS_MODE_INVALID = -EINVAL,
};

enum {
        ROOTFS_FORCE_COPY = 1 << 0, /* do not try overlay */
        ROOTFS_READ_ONLY = 1 << 1,  /* mount read-only (overlay) */
        ROOTFS_VOLATILE = 1 << 2,   /* an upper directory that need not survive a host crash (below) */
};

/*
 * Mount the layers (bottom first) at target with upper and work directories
 * (created when missing; on one file system, not on overlay). The mode used
 * is returned through ret_mode.
 */
int rootfs_mount_layers(char *const *layers, const char *target, const char *upper, const char *work,
                        unsigned flags, enum rootfs_mode *ret_mode);
/* The same for a stored image. */
int rootfs_mount(struct image_store *s, const char *image_id, const char *target, const char *upper,
                 const char *work, unsigned flags, enum rootfs_mode *ret_mode);
/* Undo rootfs_mount*(): unmount an overlay; a copy is left for the caller to delete. */
int rootfs_umount(const char *target, enum rootfs_mode mode);

/* Write the changes recorded in the overlay upper directory upper_fd as a layer tar to out_fd. */
int rootfs_diff_tar(int upper_fd, int out_fd);
/* A plain tar (no layer markers) to out_fd of entry name of directory dfd, under that name; of
 * the directory's contents when name is ".". Symlinks are archived, never followed. */
int rootfs_tree_tar(int dfd, const char *name, int out_fd);
/* The same tar, staged as a blob of t through an anonymous file in tmp_dir: its digest and size. */
int rootfs_diff_blob(struct store_txn *t, int upper_fd, const char *tmp_dir, char ret_digest[80],
                     uint64_t *ret_size);

/*
 * Store the changes in upper as a new layer on top of parent_id, as a new image
 * with one more history entry (created_by). tag may be NULL. The new image id
 * through ret_id (malloc'd).
 */
int rootfs_commit(struct image_store *s, const char *parent_id, const char *upper, const char *created_by,
                  const char *tag, char **ret_id);
