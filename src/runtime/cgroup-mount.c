/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-mount.c - the container's view of its cgroups, for a config mount of type "cgroup"
 * (runtime-spec config.md "Mounts"; runc and crun mount the same shape).
 *
 * v2: a cgroup2 mount when the container has a cgroup namespace (its root is then the
 * container's own cgroup), else a bind mount of the container's cgroup directory.
 *
 * v1: a tmpfs holding one directory per hierarchy, named by its controllers ("memory",
 * "cpu,cpuacct", "systemd" for name=systemd, "unified" for a joined hybrid cgroup2), each a
 * cgroup mount of that hierarchy (with a cgroup namespace) or a bind of the container's cgroup
 * (without), plus "cpu" -> "cpu,cpuacct"-style symlinks for co-mounted controllers.
 *
 * The target is a /proc/self/fd/N path that the caller resolved safely inside the rootfs. A
 * tmpfs mounted over it with mount(2) would hide the directory that N names, and paths through N
 * would then lead below the tmpfs, so the tmpfs is built detached (fsopen/fsmount, Linux 5.2),
 * filled through its own fd, attached with move_mount(), and the cgroup mounts are then made
 * through that fd, which names the tmpfs root wherever it is attached. The bind sources are host
 * paths below the cgroup mounts: fds opened before the caller unshared its mount namespace
 * belong to the old namespace, which the kernel refuses as a bind source.
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "cgroup-internal.h"
#include "error.h"
#include "util.h"

#define MS_HONOURED (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static unsigned ms_to_attr(unsigned long flags)
{
        return (flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
               (flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
}

/*
 * A detached copy of the container's cgroup directory, flags set on the copy (mount_setattr,
 * Linux 5.12), then attached: mount --bind plus a remount would need the target path to lead to
 * the new mount, which a /proc/self/fd/N target does not (it names the directory underneath).
 */
static int bind_cgroup(const struct cgroup_hier *h, const char *dst, unsigned long flags)
{
        _cleanup_free_ char *src = strdup_printf("%s%s", h->mount, h->path);
        _cleanup_close_ int tree = -EBADF;
        struct mount_attr attr = { .attr_set = ms_to_attr(flags) };

        if (!src)
                return -ENOMEM;
        tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return err_set(negative_errno(), "cannot bind cgroup %s: %m", src);
        if (attr.attr_set && mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return err_set(negative_errno(), "cannot set the mount's flags on cgroup %s: %m", src);
        if (move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
                return err_set(negative_errno(), "cannot bind cgroup %s: %m", src);
        return 0;
}

static int mount_one(const struct cgroup_hier *h, const char *dst, unsigned long flags, bool in_cgroupns)
{
        if (!in_cgroupns)
                return bind_cgroup(h, dst, flags);
        if (h->v2) {
                if (mount("cgroup2", dst, "cgroup2", flags & MS_HONOURED, NULL) < 0)
                        return err_set(negative_errno(), "cannot mount cgroup2: %m");
                return 0;
        }
        /* The hierarchy's name is its mount option list: "cpu,cpuacct", "name=systemd". */
        if (mount("cgroup", dst, "cgroup", flags & MS_HONOURED, h->name) < 0)
                return err_set(negative_errno(), "cannot mount cgroup hierarchy '%s': %m", h->name);
        return 0;
}

static const char *dir_name(const struct cgroup_hier *h)
{
        if (h->v2)
                return "unified";
        return startswith(h->name, "name=") ?: h->name;
}

int cgroup_mount(const struct cgroup *cg, const char *target, unsigned long flags, bool in_cgroupns)
{
        _cleanup_close_ int fs = -EBADF, mnt = -EBADF;
        int r;

        if (cg->mode == CGROUP_MODE_V2) {
                const struct cgroup_hier *h = cgroup_hier_procs(cg);
                if (!h)
                        return err_set(-ENOENT, "the container's cgroup no longer exists");
                return mount_one(h, target, flags, in_cgroupns);
        }

        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return err_set(negative_errno(), "cannot create the tmpfs for cgroups: %m");
        if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "size", "64k", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return err_set(negative_errno(), "cannot create the tmpfs for cgroups: %m");
        /* Read-only comes last: the directories and symlinks are made through this mount. */
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, ms_to_attr(flags & ~MS_RDONLY));
        if (mnt < 0)
                return err_set(negative_errno(), "cannot create the tmpfs for cgroups: %m");

        for (size_t i = 0; i < cg->n_hier; i++) {
                const struct cgroup_hier *h = &cg->hier[i];
                const char *d = dir_name(h);
                if (mkdirat(mnt, d, 0755) < 0 && errno != EEXIST)
                        return err_set(negative_errno(), "cannot create %s in the cgroup tmpfs: %m", d);
                /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct", as on the host. */
                if (!h->v2 && strchr(d, ',') && !startswith(h->name, "name=")) {
                        _cleanup_free_ char *copy = strdup(d);
                        char *save = NULL;
                        if (!copy)
                                return -ENOMEM;
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                if (symlinkat(d, mnt, t) < 0 && errno != EEXIST)
                                        return err_set(negative_errno(), "cannot create symlink %s: %m", t);
                }
        }
        if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
                return err_set(negative_errno(), "cannot attach the cgroup tmpfs at %s: %m", target);

        for (size_t i = 0; i < cg->n_hier; i++) {
                const struct cgroup_hier *h = &cg->hier[i];
                char dst[64];
                snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", mnt, dir_name(h));
                r = mount_one(h, dst, flags, in_cgroupns);
                if (r < 0)
                        return r;
        }
        if (flags & MS_RDONLY) {
                struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(mnt, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
                        return err_set(negative_errno(), "cannot make the cgroup tmpfs read-only: %m");
        }
        return 0;
}
