/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs.c - overlay mounts of image layers and the copy fallback; see rootfs.h.
 * The way back (upper directory -> layer) is in rootfs-commit.c, apart so that
 * mounting a container's root file system does not pull libarchive in.
 *
 * Every walk of a tree here goes through directory fds opened with
 * O_NOFOLLOW, entry by entry: the trees are built from image content, and a
 * symlink in them must never lead a copy or a diff out of the tree.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include "chase.h"
#include "error.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "rootfs-internal.h"
#include "rootfs.h"
#include "sha256.h"
#include "util.h"


/* ------------------------------------------------------------------ overlay */

static int overlay_mount(char *const *layers, const char *target, const char *upper, const char *work,
                         unsigned flags)
{
        _cleanup_free_ char *opts = NULL, *common = NULL;
        _cleanup_close_ int cwd = -EBADF;
        size_t n = strv_length(layers), len = 0;
        const char *slash;
        int r = 0;

        if (n == 0)
                return err_set(-EINVAL, "an image without layers cannot be mounted");
        /*
         * Mount options are limited to one page (fs/namespace.c copy_mount_options): name the
         * layers relative to their common directory, entered with fchdir for the mount call.
         */
        slash = strrchr(layers[0], '/');
        common = slash ? strndup(layers[0], (size_t)(slash - layers[0])) : strdup(".");
        if (!common)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *s = startswith(layers[i], common);
                if (!s || *s != '/') {
                        free(common);
                        common = NULL;
                        break;
                }
        }
        opts = strdup("lowerdir=");
        if (!opts)
                return -ENOMEM;
        len = strlen(opts);
        for (size_t i = n; i > 0; i--) {
                /* Overlay takes the topmost lower directory first. */
                const char *l = common ? layers[i - 1] + strlen(common) + 1 : layers[i - 1];
                char *no = realloc(opts, len + strlen(l) + 2);
                if (!no)
                        return -ENOMEM;
                opts = no;
                len += (size_t)sprintf(opts + len, "%s%s", l, i > 1 ? ":" : "");
        }
        if (!(flags & ROOTFS_READ_ONLY) || upper) {
                char *no = strdup_printf("%s,upperdir=%s,workdir=%s%s", opts, upper, work,
                                         (flags & ROOTFS_VOLATILE) ? ",volatile" : "");
                if (!no)
                        return -ENOMEM;
                free(opts);
                opts = no;
        }
        if (strlen(opts) >= 4096)
                return err_set(-E2BIG, "too many layers for one overlay mount (%zu)", n);
        if (common) {
                cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (cwd < 0)
                        return negative_errno();
                if (chdir(common) < 0)
                        return err_set(negative_errno(), "cannot enter '%s': %m", common);
        }
        if (mount("overlay", target, "overlay", (flags & ROOTFS_READ_ONLY) ? MS_RDONLY : 0, opts) < 0)
                r = negative_errno();
        if (cwd >= 0 && fchdir(cwd) < 0 && r >= 0)
                r = negative_errno();
        if (r < 0)
                return err_set(r, "mounting overlay on '%s': %s", target, strerror(-r));
        return 0;
}

/* ------------------------------------------------------------------ copy fallback */

struct copier {
        int root_fd; /* target */
        struct hardlink *links;
        size_t n_links;
};

static int copy_xattrs(int from_fd, const char *from_path, int to_fd, const char *to_path)
{
        char names[4096];
        ssize_t n = from_fd >= 0 ? flistxattr(from_fd, names, sizeof(names)) : llistxattr(from_path, names, sizeof(names));

        if (n < 0)
                return errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : negative_errno();
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                char val[4096];
                ssize_t k;
                if (startswith(p, "trusted.overlay."))
                        continue;
                k = from_fd >= 0 ? fgetxattr(from_fd, p, val, sizeof(val)) : lgetxattr(from_path, p, val, sizeof(val));
                if (k < 0)
                        continue;
                if ((to_fd >= 0 ? fsetxattr(to_fd, p, val, (size_t)k, 0) : lsetxattr(to_path, p, val, (size_t)k, 0)) < 0 &&
                    errno != ENOTSUP && errno != EOPNOTSUPP)
                        return negative_errno();
        }
        return 0;
}

static int clear_dir(int dfd)
{
        char buf[32];
        DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
        struct dirent *de;
        int r = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                p = strdup_printf("%s/%s", fd_path(dfd, buf), de->d_name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                int k = rm_rf(p);
                if (k < 0)
                        r = k;
        }
        closedir(d);
        return r;
}

static int copy_tree(struct copier *c, int src_dfd, int dst_dfd, const char *rel);

static int copy_entry(struct copier *c, int src_dfd, int dst_dfd, const char *name, const char *rel)
{
        struct stat st, dst;
        char sbuf[32], dbuf[32];
        _cleanup_free_ char *path = strdup_printf("%s%s%s", rel, *rel ? "/" : "", name);
        _cleanup_free_ char *spath = NULL, *dpath = NULL;
        bool exists;
        int r;

        if (!path)
                return -ENOMEM;
        if (fstatat(src_dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        exists = fstatat(dst_dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
        spath = strdup_printf("%s/%s", fd_path(src_dfd, sbuf), name);
        dpath = strdup_printf("%s/%s", fd_path(dst_dfd, dbuf), name);
        if (!spath || !dpath)
                return -ENOMEM;
        if (is_whiteout(&st))
                return exists ? rm_rf(dpath) : 0;
        if (exists && !(S_ISDIR(st.st_mode) && S_ISDIR(dst.st_mode))) {
                r = rm_rf(dpath);
                if (r < 0)
                        return r;
                exists = false;
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int s = openat(src_dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int d = -EBADF;
                struct timespec t[2] = { st.st_atim, st.st_mtim };
                if (s < 0)
                        return negative_errno();
                if (!exists && mkdirat(dst_dfd, name, 0700) < 0)
                        return negative_errno();
                d = openat(dst_dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return negative_errno();
                /* An opaque directory hides everything the lower layers put there. */
                if (exists && is_opaque(s)) {
                        r = clear_dir(d);
                        if (r < 0)
                                return r;
                }
                r = copy_tree(c, s, d, path);
                if (r < 0)
                        return r;
                if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
                        return negative_errno();
                r = copy_xattrs(s, NULL, d, NULL);
                if (r < 0)
                        return r;
                return futimens(d, t) < 0 ? negative_errno() : 0;
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < c->n_links; i++)
                        if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino) {
                                _cleanup_close_ int t = -EBADF;
                                char tb[32];
                                t = openat(c->root_fd, c->links[i].path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                                if (t >= 0 && linkat(AT_FDCWD, fd_path(t, tb), dst_dfd, name, AT_SYMLINK_FOLLOW) == 0)
                                        return 0;
                                break; /* the first copy is gone (whiteout): copy again */
                        }
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int s = openat(src_dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int d = openat(dst_dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                struct timespec t[2] = { st.st_atim, st.st_mtim };
                off_t left = st.st_size;
                if (s < 0 || d < 0)
                        return negative_errno();
                while (left > 0) {
                        ssize_t k = copy_file_range(s, NULL, d, NULL, (size_t)MIN(left, (off_t)1 << 30), 0);
                        if (k < 0)
                                return negative_errno();
                        if (k == 0)
                                break;
                        left -= k;
                }
                if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
                        return negative_errno();
                r = copy_xattrs(s, NULL, d, NULL);
                if (r < 0)
                        return r;
                if (futimens(d, t) < 0)
                        return negative_errno();
                if (st.st_nlink > 1) {
                        struct hardlink *nl = realloc(c->links, (c->n_links + 1) * sizeof(*nl));
                        if (!nl)
                                return -ENOMEM;
                        c->links = nl;
                        c->links[c->n_links] = (struct hardlink){ st.st_dev, st.st_ino, strdup(path) };
                        if (!c->links[c->n_links].path)
                                return -ENOMEM;
                        c->n_links++;
                }
                return 0;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t k = readlinkat(src_dfd, name, target, sizeof(target) - 1);
                if (k < 0)
                        return negative_errno();
                target[k] = 0;
                if (symlinkat(target, dst_dfd, name) < 0)
                        return negative_errno();
        } else if (mknodat(dst_dfd, name, st.st_mode, st.st_rdev) < 0)
                return negative_errno();
        if (fchownat(dst_dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st.st_mode) && fchmodat(dst_dfd, name, st.st_mode & 07777, 0) < 0)
                return negative_errno();
        r = copy_xattrs(-EBADF, spath, -EBADF, dpath);
        if (r < 0)
                return r;
        {
                struct timespec t[2] = { st.st_atim, st.st_mtim };
                if (utimensat(dst_dfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
                        return negative_errno();
        }
        return 0;
}

static int copy_tree(struct copier *c, int src_dfd, int dst_dfd, const char *rel)
{
        DIR *d = fdopendir(fcntl(src_dfd, F_DUPFD_CLOEXEC, 3));
        struct dirent *de;
        int r = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = copy_entry(c, dirfd(d), dst_dfd, de->d_name, rel);
                if (r < 0) {
                        err_set(r, "copying '%s/%s' into the root file system: %s", rel, de->d_name, strerror(-r));
                        break;
                }
        }
        closedir(d);
        return r;
}

static int copy_layers(char *const *layers, const char *target)
{
        struct copier c = { .root_fd = -EBADF };
        int r = 0;

        c.root_fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c.root_fd < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", target);
        for (size_t i = 0; layers[i] && r >= 0; i++) {
                _cleanup_close_ int l = open(layers[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (l < 0) {
                        r = err_set(negative_errno(), "cannot open layer '%s': %m", layers[i]);
                        break;
                }
                r = copy_tree(&c, l, c.root_fd, "");
                /* Hardlinks do not cross layers: each layer is its own tar. */
                for (size_t k = 0; k < c.n_links; k++)
                        free(c.links[k].path);
                c.n_links = 0;
        }
        free(c.links);
        safe_close(c.root_fd);
        return r;
}

int rootfs_mount_layers(char *const *layers, const char *target, const char *upper, const char *work,
                        unsigned flags, enum rootfs_mode *ret_mode)
{
        int r;

        r = mkdir_p(target, 0755);
        if (r < 0)
                return err_set(r, "cannot create '%s': %s", target, strerror(-r));
        if (!(flags & ROOTFS_FORCE_COPY)) {
                if ((r = mkdir_p(upper, 0755)) < 0 || (r = mkdir_p(work, 0700)) < 0)
                        return err_set(r, "cannot create the upper and work directories: %s", strerror(-r));
                if (flags & ROOTFS_VOLATILE) {
                        /* overlayfs keeps its own state in a "work" directory inside work. */
                        _cleanup_free_ char *incompat = strdup_printf("%s/%s/incompat", work, "work");
                        if (!incompat)
                                return -ENOMEM;
                        (void)rm_rf(incompat); /* a volatile mount's mark, left by a crash */
                        r = overlay_mount(layers, target, upper, work, flags);
                        if (r == -EINVAL) {
                                /* Before Linux 5.10: no "volatile". */
                                err_clear();
                                flags &= ~(unsigned)ROOTFS_VOLATILE;
                                r = overlay_mount(layers, target, upper, work, flags);
                        }
                } else
                        r = overlay_mount(layers, target, upper, work, flags);
                if (r >= 0) {
                        *ret_mode = ROOTFS_OVERLAY;
                        return 0;
                }
                /* Only "overlay cannot work here" falls back; other failures are real errors. */
                if (r != -ENODEV && r != -EINVAL && r != -EOPNOTSUPP && r != -EPERM && r != -E2BIG)
                        return r;
                log_debug("rootfs: overlay unavailable (%s), copying the layers", err_msg(r));
                err_clear();
        }
        r = copy_layers(layers, target);
        if (r < 0)
                return r;
        *ret_mode = ROOTFS_COPY;
        return 0;
}

int rootfs_mount(struct image_store *s, const char *image_id, const char *target, const char *upper,
                 const char *work, unsigned flags, enum rootfs_mode *ret_mode)
{
        _cleanup_strv_free_ char **layers = NULL;
        int r = store_image_layer_paths(s, image_id, &layers);
        if (r < 0)
                return r;
        return rootfs_mount_layers(layers, target, upper, work, flags, ret_mode);
}

int rootfs_umount(const char *target, enum rootfs_mode mode)
{
        if (mode != ROOTFS_OVERLAY)
                return 0;
        if (umount2(target, UMOUNT_NOFOLLOW) < 0) {
                if (errno != EBUSY)
                        return err_set(negative_errno(), "unmounting '%s': %m", target);
                /* Still in use (a process inside): detach now, the kernel frees it with the last user. */
                if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return err_set(negative_errno(), "unmounting '%s': %m", target);
        }
        return 0;
}
