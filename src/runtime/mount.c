/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mount.c - container mounts, devices and pivot_root; see mount.h.
 *
 * Order (runtime-spec runtime.md "create"): make the host mounts slaves of this
 * namespace so nothing propagates back, bind the rootfs onto itself so that it is
 * a mount point pivot_root accepts, mount config.mounts in order, create devices,
 * then (after hooks) pivot_root and finalize masked/read-only paths.
 *
 * Bind mounts are two steps: the bind itself, then a remount with the wanted flags
 * (the kernel ignores most flags on the first MS_BIND). In a user namespace the
 * remount must keep the flags the source mount has locked (nosuid, nodev, noexec,
 * ro, atime flags) or it fails with EPERM, so they are read back with statvfs and kept.
 */
#include <dirent.h>
#include <inttypes.h>
#include <sched.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "cgroup.h"
#include "chase.h"
#include "error.h"
#include "log.h"
#include "mount.h"
#include "util.h"

struct flag_def {
        const char *name;
        bool clear;
        unsigned long flag;
};

static const struct flag_def flag_defs[] = {
        { "ro", false, MS_RDONLY },           { "rw", true, MS_RDONLY },
        { "nosuid", false, MS_NOSUID },       { "suid", true, MS_NOSUID },
        { "nodev", false, MS_NODEV },         { "dev", true, MS_NODEV },
        { "noexec", false, MS_NOEXEC },       { "exec", true, MS_NOEXEC },
        { "sync", false, MS_SYNCHRONOUS },    { "async", true, MS_SYNCHRONOUS },
        { "dirsync", false, MS_DIRSYNC },     { "remount", false, MS_REMOUNT },
        { "mand", false, MS_MANDLOCK },       { "nomand", true, MS_MANDLOCK },
        { "noatime", false, MS_NOATIME },     { "atime", true, MS_NOATIME },
        { "nodiratime", false, MS_NODIRATIME }, { "diratime", true, MS_NODIRATIME },
        { "relatime", false, MS_RELATIME },   { "norelatime", true, MS_RELATIME },
        { "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
        { "silent", false, MS_SILENT },       { "loud", true, MS_SILENT },
        { "lazytime", false, MS_LAZYTIME },   { "nolazytime", true, MS_LAZYTIME },
        { "iversion", false, MS_I_VERSION },  { "noiversion", true, MS_I_VERSION },
        { "nosymfollow", false, MS_NOSYMFOLLOW },
};

static const struct {
        const char *name;
        unsigned long flag;
} propagation_defs[] = {
        { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
        { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
        { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
        { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static const struct {
        const char *name;
        bool clear;
        uint64_t attr;
} rattr_defs[] = {
        { "rro", false, MOUNT_ATTR_RDONLY },          { "rrw", true, MOUNT_ATTR_RDONLY },
        { "rnosuid", false, MOUNT_ATTR_NOSUID },      { "rsuid", true, MOUNT_ATTR_NOSUID },
        { "rnodev", false, MOUNT_ATTR_NODEV },        { "rdev", true, MOUNT_ATTR_NODEV },
        { "rnoexec", false, MOUNT_ATTR_NOEXEC },      { "rexec", true, MOUNT_ATTR_NOEXEC },
        { "rnodiratime", false, MOUNT_ATTR_NODIRATIME }, { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
        { "rnoatime", false, MOUNT_ATTR_NOATIME },    { "rrelatime", false, MOUNT_ATTR_RELATIME },
        { "rstrictatime", false, MOUNT_ATTR_STRICTATIME },
        { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW }, { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
};

int mount_options_parse(char *const *options, const char *what, struct mount_options *ret)
{
        struct mount_options o = {};
        size_t data_len = 0;

        for (size_t i = 0; options && options[i]; i++) {
                const char *opt = options[i];
                bool done = false;

                if (streq(opt, "bind") || streq(opt, "rbind")) {
                        o.bind = true;
                        o.rbind |= streq(opt, "rbind");
                        continue;
                }
                if (streq(opt, "idmap") || streq(opt, "ridmap")) {
                        o.idmap = true;
                        o.ridmap |= streq(opt, "ridmap");
                        continue;
                }
                for (size_t k = 0; k < ELEMENTSOF(flag_defs) && !done; k++)
                        if (streq(opt, flag_defs[k].name)) {
                                if (flag_defs[k].clear) {
                                        o.flags &= ~flag_defs[k].flag;
                                        o.clear |= flag_defs[k].flag;
                                } else {
                                        o.flags |= flag_defs[k].flag;
                                        o.clear &= ~flag_defs[k].flag;
                                }
                                done = true;
                        }
                for (size_t k = 0; k < ELEMENTSOF(propagation_defs) && !done; k++)
                        if (streq(opt, propagation_defs[k].name)) {
                                o.propagation = propagation_defs[k].flag;
                                done = true;
                        }
                for (size_t k = 0; k < ELEMENTSOF(rattr_defs) && !done; k++)
                        if (streq(opt, rattr_defs[k].name)) {
                                if (streq(opt, "rnoatime") || streq(opt, "rrelatime") || streq(opt, "rstrictatime")) {
                                        /*
                                         * The atime modes are one field, not bits (MOUNT_ATTR_RELATIME
                                         * is 0): replace the field and clear all of it in the kernel.
                                         */
                                        o.attr_set = (o.attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | rattr_defs[k].attr;
                                        o.attr_clr |= MOUNT_ATTR__ATIME;
                                } else if (rattr_defs[k].clear) {
                                        o.attr_clr |= rattr_defs[k].attr;
                                        o.attr_set &= ~rattr_defs[k].attr;
                                } else {
                                        o.attr_set |= rattr_defs[k].attr;
                                        o.attr_clr &= ~rattr_defs[k].attr;
                                }
                                done = true;
                        }
                if (done)
                        continue;
                /* runc and crun extensions, never passed to the kernel (copy-symlink: not implemented). */
                if (streq(opt, "tmpcopyup") || streq(opt, "notmpcopyup")) {
                        o.copy_up = streq(opt, "tmpcopyup");
                        continue;
                }
                if (streq(opt, "copy-symlink"))
                        continue;
                {
                        size_t n = strlen(opt);
                        char *d = realloc(o.data, data_len + n + 2);
                        if (!d) {
                                free(o.data);
                                return -ENOMEM;
                        }
                        o.data = d;
                        if (data_len)
                                o.data[data_len++] = ',';
                        memcpy(o.data + data_len, opt, n + 1);
                        data_len += n;
                }
        }
        (void)what;
        *ret = o;
        return 0;
}

void mount_options_done(struct mount_options *o)
{
        free(o->data);
        o->data = NULL;
}

/* Flags that a remount inside a user namespace must keep (the kernel locks them). */
static unsigned long locked_flags(const char *path)
{
        struct statvfs sv;
        unsigned long f = 0;

        if (statvfs(path, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_RDONLY)
                f |= MS_RDONLY;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME)
                f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                f |= MS_RELATIME;
        return f;
}

static int mount_setattr_recursive(const char *path, uint64_t set, uint64_t clr)
{
        struct mount_attr a = { .attr_set = set, .attr_clr = clr };

        if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &a, sizeof(a)) < 0)
                return negative_errno();
        return 0;
}

static int mount_error(int r, const char *what, const struct oci_mount *m)
{
        return err_set(r, "%s: mount '%s' (type '%s') on '%s': %s", what, strempty(m->source),
                       strempty(m->type), m->destination, strerror(-r));
}

int mount_prepare_root(struct mount_context *ctx)
{
        unsigned long prop = MS_SLAVE | MS_REC;
        const char *p = ctx->cfg->linux_cfg ? ctx->cfg->linux_cfg->rootfs_propagation : NULL;
        int fd;

        /* "shared"/"rshared" rootfsPropagation needs the host side shared too; slave otherwise. */
        if (p && (streq(p, "shared") || streq(p, "rshared")))
                prop = MS_SHARED | MS_REC;
        else if (p && (streq(p, "private") || streq(p, "rprivate")))
                prop = MS_PRIVATE | MS_REC;
        if (mount(NULL, "/", NULL, prop, NULL) < 0)
                return err_set(negative_errno(), "cannot set propagation of '/': %m");
        /* pivot_root wants a mount point whose parent mount is not shared. */
        if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_set(negative_errno(), "cannot bind rootfs '%s': %m", ctx->rootfs);
        fd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(negative_errno(), "cannot open rootfs '%s': %m", ctx->rootfs);
        ctx->rootfs_fd = fd;
        return 0;
}

/* Owner, mode and times of st onto fd; chown first, as it clears the set-id bits. */
static int copy_attrs(int fd, const struct stat *st)
{
        const struct timespec ts[2] = {st->st_atim, st->st_mtim};

        /* EINVAL: an owner the container's user namespace does not map; the copy keeps ours. */
        if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EINVAL)
                return negative_errno();
        if (fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, ts) < 0)
                return negative_errno();
        return 0;
}

static int copy_tree(int src, int dst, unsigned depth);

static int copy_entry(int src, int dst, const char *name, unsigned depth)
{
        _cleanup_close_ int s = -EBADF, d = -EBADF;
        struct timespec ts[2];
        struct stat st;
        int r;

        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        ts[0] = st.st_atim;
        ts[1] = st.st_mtim;
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                if (mkdirat(dst, name, 0700) < 0)
                        return negative_errno();
                s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return negative_errno();
                r = copy_tree(s, d, depth + 1);
                return r < 0 ? r : copy_attrs(d, &st);
        case S_IFREG: {
                struct stat now;
                /* O_NONBLOCK, and the type checked again: a fifo swapped in meanwhile must not block us. */
                s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
                if (s < 0 || fstat(s, &now) < 0)
                        return negative_errno();
                if (!S_ISREG(now.st_mode))
                        return -EIO;
                d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (d < 0)
                        return negative_errno();
                for (off_t left = st.st_size; left > 0;) {
                        ssize_t k = sendfile(d, s, NULL, (size_t)MIN(left, (off_t)1 << 30));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return negative_errno();
                        if (k == 0)
                                break; /* the file shrank meanwhile */
                        left -= k;
                }
                return copy_attrs(d, &st);
        }
        case S_IFLNK: {
                _cleanup_free_ char *target = malloc((size_t)st.st_size + 1);
                ssize_t n;
                if (!target)
                        return -ENOMEM;
                n = readlinkat(src, name, target, (size_t)st.st_size + 1);
                if (n < 0)
                        return negative_errno();
                if (n > st.st_size)
                        return -EIO; /* replaced while we read it */
                target[n] = 0;
                if (symlinkat(target, dst, name) < 0)
                        return negative_errno();
                break;
        }
        default:
                /* Device nodes, fifos, sockets; a user namespace may not create devices: skip those. */
                if (mknodat(dst, name, st.st_mode & (S_IFMT | 0700), st.st_rdev) < 0)
                        return errno == EPERM ? 0 : negative_errno();
                if (fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
                        return negative_errno();
                break;
        }
        /* A fresh entry of our own tmpfs, where nothing else writes yet: its name is safe to use. */
        if ((fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL) ||
            utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        return 0;
}

/* Copy the entries of directory src into directory dst (both fds stay the caller's). */
static int copy_tree(int src, int dst, unsigned depth)
{
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        /* Each level holds two fds; a tree deeper than this is no /etc or /run. */
        if (depth > 128)
                return -ELOOP;
        fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = copy_entry(src, dst, de->d_name, depth);
                if (r < 0)
                        break;
        }
        if (r >= 0 && errno)
                r = negative_errno();
        closedir(d);
        return r;
}

/*
 * tmpcopyup (runc's and crun's extension; podman asks for it on --tmpfs, --read-only and --systemd
 * mounts): the new tmpfs starts with a copy of the directory it covers, that directory's owner and
 * mode included (unless the options set a mode). covered is that directory, opened before the
 * mount. Every entry is opened relative to its parent without following symlinks, so that a link
 * in the image cannot lead the copy outside the two trees. A read-only tmpfs was mounted writable
 * for the copy and is made read-only here.
 */
static int tmpfs_copy_up(struct mount_context *ctx, const struct oci_mount *m, int covered,
                         const struct mount_options *o, const char *data, const char *what)
{
        _cleanup_close_ int top = chase_open(ctx->rootfs_fd, m->destination, O_RDONLY | O_DIRECTORY, 0);
        bool has_mode = data && (strncmp(data, "mode=", 5) == 0 || strstr(data, ",mode="));
        struct stat st;
        char buf[32];
        int r;

        if (top < 0)
                return mount_error(top, what, m);
        if (fstat(covered, &st) < 0)
                return mount_error(negative_errno(), what, m);
        r = copy_tree(covered, top, 0);
        if (r >= 0 && !has_mode)
                r = copy_attrs(top, &st);
        if (r < 0)
                return err_set(r, "%s: tmpcopyup: cannot copy '%s' into the new tmpfs: %s", what,
                               m->destination, strerror(-r));
        if ((o->flags & MS_RDONLY) && mount(NULL, fd_path(top, buf), NULL, MS_REMOUNT | o->flags, data) < 0)
                return mount_error(negative_errno(), what, m);
        return 0;
}

/* Resolve m's source: absolute, or relative to the bundle for binds (runtime-spec config.md). */
static char *bind_source(const struct mount_context *ctx, const struct oci_mount *m)
{
        if (!m->source)
                return NULL;
        if (m->source[0] == '/' || !ctx->bundle)
                return strdup(m->source);
        return strdup_printf("%s/%s", ctx->bundle, m->source);
}

static int do_one_mount(struct mount_context *ctx, const struct oci_mount *m, const char *what)
{
        _cleanup_free_ char *src = NULL, *data = NULL;
        _cleanup_close_ int target = -EBADF;
        struct mount_options o;
        const char *type = m->type;
        bool is_dir = true;
        char tbuf[32];
        int idmap_fd, r;

        r = mount_options_parse(m->options, what, &o);
        if (r < 0)
                return r;
        data = o.data;
        o.data = NULL;
        idmap_fd = ctx->idmap_fds ? ctx->idmap_fds[m - ctx->cfg->mounts] : -EBADF;
        if ((o.idmap || m->n_uid_mappings || m->n_gid_mappings) && idmap_fd < 0)
                return err_set(-EINVAL, "%s: an idmapped mount must be a bind mount", what);
        if (type && streq(type, "bind"))
                o.bind = true;

        if (o.bind) {
                struct stat st;
                src = bind_source(ctx, m);
                if (!src)
                        return err_set(-EINVAL, "%s: a bind mount needs a source", what);
                if (stat(src, &st) < 0)
                        return err_set(negative_errno(), "%s: bind source '%s': %m", what, src);
                is_dir = S_ISDIR(st.st_mode);
        }

        target = chase_mount_target(ctx->rootfs_fd, m->destination, is_dir, 0755, 0);
        if (target < 0)
                return err_set(target, "%s: cannot create mount point '%s' in the rootfs: %s", what,
                               m->destination, strerror(-target));
        fd_path(target, tbuf);

        if (type && streq(type, "cgroup")) {
                r = cgroup_mount(ctx->cgroup, tbuf, o.flags, ctx->cgroupns);
                if (r < 0)
                        return err_prefix(r, "%s: cgroup mount on '%s'", what, m->destination);
        } else if (o.bind) {
                unsigned long rec = o.rbind ? MS_REC : 0;
                if (idmap_fd >= 0) {
                        if (move_mount(idmap_fd, "", AT_FDCWD, tbuf, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
                                return mount_error(negative_errno(), what, m);
                } else if (mount(src, tbuf, NULL, MS_BIND | rec, NULL) < 0)
                        return mount_error(negative_errno(), what, m);
                if (o.flags & ~(MS_REMOUNT | MS_BIND | MS_REC)) {
                        /* The fd names the directory under the new mount: reopen to reach the mount. */
                        _cleanup_close_ int top = chase_open(ctx->rootfs_fd, m->destination, O_PATH, 0);
                        char b2[32];
                        unsigned long f;
                        if (top < 0)
                                return mount_error(top, what, m);
                        fd_path(top, b2);
                        f = MS_REMOUNT | MS_BIND | (o.flags & ~MS_REMOUNT);
                        if (ctx->in_userns)
                                f |= locked_flags(b2) & ~(o.clear & ~(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
                        if (mount(NULL, b2, NULL, f, NULL) < 0)
                                return mount_error(negative_errno(), what, m);
                }
        } else {
                if (!type)
                        return err_set(-EINVAL, "%s: 'type' is required for a mount that is not a bind", what);
                _cleanup_close_ int covered = -EBADF;
                unsigned long flags = o.flags;
                if (o.copy_up && streq(type, "tmpfs") && !(o.flags & MS_REMOUNT)) {
                        covered = open(tbuf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (covered < 0)
                                return mount_error(negative_errno(), what, m);
                        flags &= ~MS_RDONLY;
                }
                if (o.flags & MS_REMOUNT) {
                        if (mount(NULL, tbuf, NULL, o.flags, data) < 0)
                                return mount_error(negative_errno(), what, m);
                } else if (mount(m->source ? m->source : type, tbuf, type, flags, data) < 0) {
                        r = negative_errno();
                        /* sysfs in a user namespace without its own netns: fall back to a bind of /sys. */
                        if (r == -EPERM && streq(type, "sysfs") && ctx->in_userns) {
                                if (mount("/sys", tbuf, NULL, MS_BIND | MS_REC, NULL) < 0)
                                        return mount_error(negative_errno(), what, m);
                        } else
                                return mount_error(r, what, m);
                }
                if (covered >= 0 && (r = tmpfs_copy_up(ctx, m, covered, &o, data, what)) < 0)
                        return r;
        }

        if (o.attr_set || o.attr_clr || o.propagation) {
                _cleanup_close_ int top = chase_open(ctx->rootfs_fd, m->destination, O_PATH, 0);
                char b2[32];
                if (top < 0)
                        return mount_error(top, what, m);
                fd_path(top, b2);
                if (o.attr_set || o.attr_clr) {
                        r = mount_setattr_recursive(b2, o.attr_set, o.attr_clr);
                        if (r < 0)
                                return err_set(r, "%s: recursive mount attributes on '%s': %s", what,
                                               m->destination, strerror(-r));
                }
                if (o.propagation && mount(NULL, b2, NULL, o.propagation, NULL) < 0)
                        return mount_error(negative_errno(), what, m);
        }
        return 0;
}

size_t mount_first_cgroup(const struct oci_config *cfg)
{
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (cfg->mounts[i].type && streq(cfg->mounts[i].type, "cgroup"))
                        return i;
        return cfg->n_mounts;
}

int mount_config_range(struct mount_context *ctx, size_t from, size_t to)
{
        for (size_t i = from; i < to; i++) {
                char what[32];
                int r;

                snprintf(what, sizeof(what), "mounts[%zu]", i);
                r = do_one_mount(ctx, &ctx->cfg->mounts[i], what);
                if (r < 0)
                        return r;
        }
        return 0;
}

struct default_dev {
        const char *path;
        unsigned major, minor;
};

/* runtime-spec config-linux.md "Default Devices". */
static const struct default_dev default_devs[] = {
        { "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
        { "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static int make_device(struct mount_context *ctx, const char *path, char type, unsigned major, unsigned minor,
                       mode_t mode, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dfd = -EBADF;
        const char *name;
        char *slash;
        char buf[32];
        mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return err_set(-EINVAL, "invalid device path '%s'", path);
        *slash = 0;
        name = path + (slash - dir) + 1;
        {
                _cleanup_close_ int d = chase_mkdir_p(ctx->rootfs_fd, dir[0] ? dir : "/", 0755, 0);
                if (d < 0)
                        return err_set(d, "cannot create '%s' in the rootfs: %s", dir, strerror(-d));
                dfd = open(fd_path(d, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return negative_errno();
        }

        if (ctx->in_userns && fmt != S_IFIFO) {
                /* mknod of devices is not allowed in a user namespace: bind the host's node. */
                /* The host's node at the same path, as runc does (there may be no /dev/char here). */
                _cleanup_close_ int t = openat(dfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                struct stat st;
                if (t < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", path);
                if (stat(path, &st) < 0 || (st.st_mode & S_IFMT) != fmt || st.st_rdev != makedev(major, minor))
                        return err_set(-ENODEV, "device '%s' (%u:%u) does not exist on the host, and a user "
                                       "namespace cannot create it", path, major, minor);
                if (mount(path, fd_path(t, buf), NULL, MS_BIND, NULL) < 0)
                        return err_set(negative_errno(), "cannot bind device '%s': %m", path);
                return 0;
        }
        if (mknodat(dfd, name, fmt | (mode & 07777), makedev(major, minor)) < 0) {
                if (errno == EEXIST)
                        return 0; /* /dev came from the host or the image: keep what is there */
                return err_set(negative_errno(), "cannot create device '%s': %m", path);
        }
        /* mknod is subject to the umask; set the exact mode and owner. */
        if (fchmodat(dfd, name, mode & 07777, 0) < 0 || fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(negative_errno(), "cannot set mode/owner of '%s': %m", path);
        return 0;
}

static int make_symlink(struct mount_context *ctx, const char *target, const char *path)
{
        _cleanup_close_ int d = chase_mkdir_p(ctx->rootfs_fd, "/dev", 0755, 0);
        _cleanup_close_ int dfd = -EBADF;
        char buf[32];

        if (d < 0)
                return d;
        dfd = open(fd_path(d, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (symlinkat(target, dfd, path + strlen("/dev/")) < 0 && errno != EEXIST)
                return err_set(negative_errno(), "cannot create symlink '%s': %m", path);
        return 0;
}

int mount_devices(struct mount_context *ctx)
{
        const struct oci_linux *l = ctx->cfg->linux_cfg;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(default_devs); i++) {
                bool overridden = false;
                for (size_t k = 0; l && k < l->n_devices; k++)
                        if (streq(l->devices[k].path, default_devs[i].path))
                                overridden = true;
                if (overridden)
                        continue;
                r = make_device(ctx, default_devs[i].path, 'c', default_devs[i].major, default_devs[i].minor, 0666,
                                0, 0);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; l && i < l->n_devices; i++) {
                const struct oci_device *d = &l->devices[i];
                r = make_device(ctx, d->path, d->type == 'u' ? 'c' : d->type, (unsigned)d->major, (unsigned)d->minor,
                                d->has_file_mode ? d->file_mode : 0666, d->has_uid ? d->uid : 0,
                                d->has_gid ? d->gid : 0);
                if (r < 0)
                        return err_prefix(r, "linux.devices[%zu]", i);
        }
        static const char *const links[][2] = {
                { "/proc/self/fd", "/dev/fd" },      { "/proc/self/fd/0", "/dev/stdin" },
                { "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
                { "pts/ptmx", "/dev/ptmx" },
        };
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                r = make_symlink(ctx, links[i][0], links[i][1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mount_pivot_root(const char *rootfs, bool no_pivot)
{
        _cleanup_close_ int newroot = -EBADF;

        if (no_pivot) {
                if (chdir(rootfs) < 0 || mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
                    chdir("/") < 0)
                        return err_set(negative_errno(), "cannot move into rootfs '%s': %m", rootfs);
                return 0;
        }
        newroot = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (newroot < 0)
                return err_set(negative_errno(), "cannot open rootfs '%s': %m", rootfs);
        /*
         * pivot_root(".", "."): stacks the old root on top of the new one at "/", then
         * unmount it lazily. Needs no directory for the old root inside the rootfs.
         */
        if (fchdir(newroot) < 0)
                return negative_errno();
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return err_set(negative_errno(), "pivot_root into '%s': %m", rootfs);
        /* Keep the old root's mounts from propagating the umount to the host. */
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return err_set(negative_errno(), "cannot make the old root a slave: %m");
        if (umount2(".", MNT_DETACH) < 0)
                return err_set(negative_errno(), "cannot detach the old root: %m");
        if (chdir("/") < 0)
                return negative_errno();
        return 0;
}

static int mask_path(const char *path)
{
        _cleanup_close_ int fd = chase_open(AT_FDCWD, path, O_PATH | O_NOFOLLOW, CHASE_NOFOLLOW);
        struct stat st;
        char buf[32];

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return err_set(fd, "linux.maskedPaths: '%s': %s", path, strerror(-fd));
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", fd_path(fd, buf), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=0,mode=0555") < 0)
                        return err_set(negative_errno(), "linux.maskedPaths: cannot mask '%s': %m", path);
        } else if (mount("/dev/null", fd_path(fd, buf), NULL, MS_BIND, NULL) < 0) {
                return err_set(negative_errno(), "linux.maskedPaths: cannot mask '%s': %m", path);
        }
        return 0;
}

static int readonly_path(const char *path)
{
        _cleanup_close_ int fd = chase_open(AT_FDCWD, path, O_PATH, 0);
        _cleanup_close_ int top = -EBADF;
        char buf[32];

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return err_set(fd, "linux.readonlyPaths: '%s': %s", path, strerror(-fd));
        if (mount(fd_path(fd, buf), fd_path(fd, buf), NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_set(negative_errno(), "linux.readonlyPaths: cannot bind '%s': %m", path);
        top = chase_open(AT_FDCWD, path, O_PATH, 0);
        if (top < 0)
                return top;
        fd_path(top, buf);
        if (mount(NULL, buf, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(buf), NULL) < 0)
                return err_set(negative_errno(), "linux.readonlyPaths: cannot make '%s' read-only: %m", path);
        return 0;
}

int mount_finalize(const struct oci_config *cfg)
{
        const struct oci_linux *l = cfg->linux_cfg;
        int r;

        STRV_FOREACH(p, l ? l->masked_paths : NULL)
        {
                r = mask_path(*p);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(p, l ? l->readonly_paths : NULL)
        {
                r = readonly_path(*p);
                if (r < 0)
                        return r;
        }
        if (cfg->root_readonly &&
            mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), NULL) < 0)
                return err_set(negative_errno(), "root.readonly: cannot remount '/' read-only: %m");
        if (l && l->rootfs_propagation) {
                struct mount_options o;
                char *opts[] = { l->rootfs_propagation, NULL };
                r = mount_options_parse(opts, "linux.rootfsPropagation", &o);
                if (r < 0)
                        return r;
                mount_options_done(&o);
                if (!o.propagation)
                        return err_set(-EINVAL, "linux.rootfsPropagation: unknown propagation '%s'",
                                       l->rootfs_propagation);
                if (mount(NULL, "/", NULL, o.propagation, NULL) < 0)
                        return err_set(negative_errno(), "linux.rootfsPropagation: %m");
        }
        return 0;
}

/* ------------------------------------------------------------------ idmapped mounts */

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n)
{
        char path[64], buf[1024];
        size_t len = 0;

        for (size_t i = 0; i < n && len < sizeof(buf); i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                                        m[i].container_id, m[i].host_id, m[i].size);
        if (len >= sizeof(buf))
                return -E2BIG;
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        return write_string_file(path, buf); /* one write(2), as uid_map demands */
}

/* An fd of a new user namespace with these mappings: a child unshares it, we map it, it exits. */
static int idmap_userns(const struct oci_id_mapping *uid, size_t nu, const struct oci_id_mapping *gid, size_t ng,
                        int *ret_fd)
{
        int ready[2], hold[2], r = 0, fd = -EBADF;
        char c, path[64];
        pid_t pid;

        if (pipe2(ready, O_CLOEXEC) < 0)
                return negative_errno();
        if (pipe2(hold, O_CLOEXEC) < 0) {
                r = negative_errno();
                safe_close(ready[0]);
                safe_close(ready[1]);
                return r;
        }
        pid = fork();
        if (pid == 0) {
                safe_close(ready[0]);
                safe_close(hold[1]);
                c = unshare(CLONE_NEWUSER) < 0 ? 'E' : 'U';
                (void)!write(ready[1], &c, 1);
                (void)!read(hold[0], &c, 1); /* until the parent has what it needs */
                _exit(0);
        }
        safe_close(ready[1]);
        safe_close(hold[0]);
        if (pid < 0)
                r = negative_errno();
        else if (read(ready[0], &c, 1) != 1 || c != 'U')
                r = err_set(-EPERM, "cannot create a user namespace for an idmapped mount");
        else if ((r = write_id_map(pid, "uid_map", uid, nu)) < 0 || (r = write_id_map(pid, "gid_map", gid, ng)) < 0)
                r = err_set(r, "cannot write the mappings of an idmapped mount: %s", strerror(-r));
        else {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = negative_errno();
        }
        safe_close(ready[0]);
        safe_close(hold[1]);
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}

static int idmap_one(const struct oci_config *cfg, const struct oci_mount *m, const char *src,
                     const struct mount_options *o, const char *what, int *ret_fd)
{
        const struct oci_linux *l = cfg->linux_cfg;
        const struct oci_id_mapping *uid = m->uid_mappings, *gid = m->gid_mappings;
        size_t nu = m->n_uid_mappings, ng = m->n_gid_mappings;
        _cleanup_close_ int ns = -EBADF, tree = -EBADF;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP};
        int r;

        if (!nu && l) {
                uid = l->uid_mappings;
                nu = l->n_uid_mappings;
        }
        if (!ng && l) {
                gid = l->gid_mappings;
                ng = l->n_gid_mappings;
        }
        if (!nu || !ng)
                return err_set(-EINVAL, "%s: an idmapped mount needs uidMappings and gidMappings (its own or linux's)",
                               what);
        r = idmap_userns(uid, nu, gid, ng, &ns);
        if (r < 0)
                return err_prefix(r, "%s", what);
        tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o->rbind ? AT_RECURSIVE : 0));
        if (tree < 0)
                return err_set(negative_errno(), "%s: bind source '%s': %m", what, src);
        attr.userns_fd = (uint64_t)ns;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (o->ridmap ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0) {
                r = negative_errno();
                if (r == -EINVAL || r == -EOPNOTSUPP)
                        return err_set(r, "%s: the file system of '%s' cannot be idmapped here", what, src);
                return err_set(r, "%s: idmapping '%s': %s", what, src, strerror(-r));
        }
        *ret_fd = TAKE_FD(tree);
        return 0;
}

void mount_idmap_free(int *fds, size_t n)
{
        if (!fds)
                return;
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
        free(fds);
}

int mount_idmap_prepare(const struct oci_config *cfg, const char *bundle, int **ret_fds)
{
        struct mount_context ctx = {.cfg = cfg, .bundle = bundle};
        int *fds = NULL;
        size_t count = 0;
        int r = 0;

        for (size_t i = 0; i < cfg->n_mounts && r >= 0; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                _cleanup_free_ char *src = NULL;
                struct mount_options o;
                char what[32];

                snprintf(what, sizeof(what), "mounts[%zu]", i);
                r = mount_options_parse(m->options, what, &o);
                if (r < 0)
                        break;
                mount_options_done(&o);
                if (!o.idmap && !m->n_uid_mappings && !m->n_gid_mappings)
                        continue;
                if (!o.bind && !(m->type && streq(m->type, "bind"))) {
                        r = err_set(-EINVAL, "%s: an idmapped mount must be a bind mount", what);
                        break;
                }
                if (++count > MOUNT_IDMAP_MAX) {
                        r = err_set(-E2BIG, "%s: more than %d idmapped mounts", what, MOUNT_IDMAP_MAX);
                        break;
                }
                if (!fds) {
                        fds = malloc(cfg->n_mounts * sizeof(*fds));
                        if (!fds)
                                return -ENOMEM;
                        for (size_t k = 0; k < cfg->n_mounts; k++)
                                fds[k] = -EBADF;
                }
                src = bind_source(&ctx, m);
                if (!src) {
                        r = err_set(-EINVAL, "%s: a bind mount needs a source", what);
                        break;
                }
                r = idmap_one(cfg, m, src, &o, what, &fds[i]);
        }
        if (r < 0) {
                mount_idmap_free(fds, cfg->n_mounts);
                return r;
        }
        *ret_fds = fds;
        return 0;
}
