/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mount.h - mount options and the mounts of a container (runtime-spec config.md "Mounts").
 *
 * mount_options_parse() decodes an options list into MS_* flags to set and clear,
 * propagation flags, recursive attributes for mount_setattr(2) (rro, rnosuid...),
 * and the filesystem data string (what the kernel does not know as a flag).
 *
 * The rest runs in the container's new mount namespace, before pivot_root: every
 * destination is resolved inside the rootfs with chase.h and used through its
 * /proc/self/fd path, so that a symlink planted in the rootfs cannot send a mount
 * outside it (CVE-2021-30465).
 */
#pragma once

#include <stdint.h>

#include "config.h"

struct cgroup;

struct mount_options {
        unsigned long flags;       /* MS_* to set */
        unsigned long clear;       /* MS_* the options asked to clear (rw, suid, ...) */
        unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC] */
        uint64_t attr_set;         /* MOUNT_ATTR_* for recursive mount_setattr */
        uint64_t attr_clr;
        bool bind, rbind;
        bool idmap;
        bool copy_up; /* tmpcopyup: a tmpfs starts with what the directory it covers holds */
        char *data; /* comma-joined remaining options, NULL when none */
};

/* options: the mount's option list; what names the mount in errors ("mounts[3]"). */
int mount_options_parse(char *const *options, const char *what, struct mount_options *ret);
void mount_options_done(struct mount_options *o);

/* Context for the mount work in the container's mount namespace. */
struct mount_context {
        const struct oci_config *cfg;
        const char *rootfs; /* absolute host path of the rootfs */
        const char *bundle;
        int rootfs_fd;      /* O_PATH|O_DIRECTORY of the rootfs mount (after the self-bind) */
        const struct cgroup *cgroup;
        bool in_userns;     /* new user namespace: devices are bind-mounted, locked flags kept */
        bool cgroupns;
};

/* Make "/" rslave (or per linux.rootfsPropagation) and bind the rootfs onto itself. */
int mount_prepare_root(struct mount_context *ctx);
/* Config mounts [from, to), in order. */
int mount_config_range(struct mount_context *ctx, size_t from, size_t to);
/* Index of the first mount of type "cgroup" (n_mounts when there is none). */
size_t mount_first_cgroup(const struct oci_config *cfg);
/* /dev nodes (defaults + linux.devices) and the /dev symlinks. */
int mount_devices(struct mount_context *ctx);
/* pivot_root into the rootfs (or MS_MOVE + chroot when no_pivot). Afterwards "/" is the rootfs. */
int mount_pivot_root(const char *rootfs, bool no_pivot);
/* After pivot: masked and read-only paths, read-only root, rootfs propagation. */
int mount_finalize(const struct oci_config *cfg);
