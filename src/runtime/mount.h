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
        bool idmap, ridmap; /* idmapped (ridmap: submounts too) */
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
        const int *idmap_fds; /* per config mount: a detached idmapped mount, or -EBADF; NULL: none */
};

/*
 * Idmapped bind mounts (runtime-spec config.md: mounts[].uidMappings/gidMappings, options
 * "idmap"/"ridmap"; without mappings of their own they take linux.uidMappings/gidMappings). They
 * are made by the runtime before the clone, in the host's user namespace where the mappings make
 * sense: a user namespace with the mappings, then open_tree(OPEN_TREE_CLONE) of the source and
 * mount_setattr(MOUNT_ATTR_IDMAP) on the detached copy; the child attaches it with move_mount().
 * *ret_fds holds one fd per config mount (-EBADF where it is not idmapped), or NULL when no mount
 * is. At most MOUNT_IDMAP_MAX idmapped mounts.
 */
#define MOUNT_IDMAP_MAX 32
int mount_idmap_prepare(const struct oci_config *cfg, const char *bundle, int **ret_fds);
void mount_idmap_free(int *fds, size_t n);

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
