/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unpack.c - layer extraction; see unpack.h for the security contract.
 *
 * Two libarchive readers are chained: the outer one (raw format, every
 * compression filter) turns the source into the uncompressed tar stream,
 * which is hashed (the diff_id) and fed to the inner one (tar formats, no
 * filter). libarchive only parses: every file system change is made here,
 * relative to fds inside the destination, never with a path libarchive built.
 *
 * Directory mtimes are set after the last entry (writing into a directory
 * changes its mtime), deepest first.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "chase.h"
#include "error.h"
#include "log.h"
#include "sha256.h"
#include "unpack.h"
#include "util.h"

#define READ_BLOCK (256u << 10)

struct source {
        unpack_read_fn read;
        void *userdata;
        struct sha256_ctx *sha;
        uint64_t n;
        int error;
        unpack_progress_fn progress;
        void *progress_userdata;
        char buf[READ_BLOCK];
};

struct tar_stream {
        struct archive *outer;
        struct sha256_ctx *sha;
        uint64_t n;
        char buf[READ_BLOCK];
};

struct dir_time {
        char *path;
        struct timespec mtime;
};

struct unpacker {
        int dest_fd;
        bool root;
        bool plain;
        /* Parent directory cache: consecutive entries usually share it. */
        char *parent_path;
        int parent_fd;
        struct dir_time *dirs;
        size_t n_dirs, alloc_dirs;
        struct unpack_result *res;
};

static void archive_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}
#define _cleanup_archive_ _cleanup_(archive_freep)

static void sha256_freep(struct sha256_ctx **c)
{
        sha256_free(*c);
}

static ssize_t source_read_cb(struct archive *a, void *userdata, const void **buf)
{
        struct source *s = userdata;
        ssize_t k = s->read(s->userdata, s->buf, sizeof(s->buf));

        if (k < 0) {
                s->error = (int)k;
                archive_set_error(a, (int)-k, "reading the layer: %s", strerror((int)-k));
                return -1;
        }
        sha256_update(s->sha, s->buf, (size_t)k);
        s->n += (uint64_t)k;
        if (s->progress && k > 0)
                s->progress(s->progress_userdata, s->n);
        *buf = s->buf;
        return k;
}

static ssize_t tar_read_cb(struct archive *a, void *userdata, const void **buf)
{
        struct tar_stream *t = userdata;
        la_ssize_t k = archive_read_data(t->outer, t->buf, sizeof(t->buf));

        if (k < 0) {
                archive_set_error(a, archive_errno(t->outer) ?: EIO, "%s", archive_error_string(t->outer));
                return -1;
        }
        sha256_update(t->sha, t->buf, (size_t)k);
        t->n += (uint64_t)k;
        *buf = t->buf;
        return k;
}

int unpack_clean_path(const char *name, char **ret)
{
        _cleanup_free_ char *out = malloc(strlen(name) + 1);
        size_t len = 0;
        const char *p = name;

        if (!out)
                return -ENOMEM;
        while (*p) {
                size_t n;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                n = strcspn(p, "/");
                if (n == 1 && p[0] == '.') {
                        /* nothing */
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (len == 0)
                                return -EINVAL;
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--; /* the slash */
                } else {
                        if (n > NAME_MAX)
                                return -ENAMETOOLONG;
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
        }
        out[len] = 0;
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;
        *ret = TAKE_PTR(out);
        return 0;
}

/* A printable, bounded copy of an entry name for messages (tar names are hostile input). */
static const char *printable(const char *s, char buf[static 160])
{
        size_t i = 0;
        for (; s && *s && i < 150; s++)
                buf[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
        if (s && *s) {
                memcpy(buf + i, "...", 3);
                i += 3;
        }
        buf[i] = 0;
        return buf;
}

static void unpacker_drop_parent(struct unpacker *u)
{
        u->parent_fd = safe_close(u->parent_fd);
        free(u->parent_path);
        u->parent_path = NULL;
}

/* An O_PATH fd of the parent directory of the cleaned path, created inside the root when missing. */
static int unpacker_parent(struct unpacker *u, const char *parent)
{
        int fd;

        if (u->parent_path && streq(u->parent_path, parent))
                return u->parent_fd;
        unpacker_drop_parent(u);
        if (!*parent)
                fd = openat(u->dest_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        else
                fd = chase_mkdir_p(u->dest_fd, parent, 0755, 0);
        if (fd < 0)
                return fd == -1 ? negative_errno() : fd;
        u->parent_path = strdup(parent);
        if (!u->parent_path) {
                safe_close(fd);
                return -ENOMEM;
        }
        u->parent_fd = fd;
        return fd;
}

/*
 * Remove whatever is at parent/name (a directory with its content), except a directory when keep_dir.
 * Returns 0 when there was nothing, 1 when a directory was kept, 2 when something was removed.
 */
static int remove_existing(int parent_fd, const char *name, bool keep_dir)
{
        struct stat st;
        char buf[32];

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *p = NULL;
                if (keep_dir)
                        return 1;
                /* rm_rf never follows symlinks nor crosses mounts; the dir fd pins the parent. */
                p = strdup_printf("%s/%s", fd_path(parent_fd, buf), name);
                if (!p)
                        return -ENOMEM;
                int r = rm_rf(p);
                return r < 0 ? r : 2;
        }
        if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 2;
}

static bool xattr_allowed(const char *name)
{
        /* overlayfs trusts these on its layers (Documentation/filesystems/overlayfs.rst): never from a tar. */
        if (startswith(name, "trusted.overlay.") || startswith(name, "user.overlay."))
                return false;
        return startswith(name, "user.") || startswith(name, "trusted.") || startswith(name, "security.") ||
               startswith(name, "system.");
}

/* Apply owner, mode, xattrs (in this order: chown drops security.capability and setuid bits). */
static int apply_metadata(struct unpacker *u, struct archive_entry *e, int parent_fd, const char *name, int fd,
                          bool is_link)
{
        char buf[32];
        _cleanup_free_ char *lpath = NULL;
        int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
        mode_t mode = archive_entry_perm(e) & 07777;
        const char *xname;
        const void *xval;
        size_t xsize;

        if (fd < 0) {
                lpath = strdup_printf("%s/%s", fd_path(parent_fd, buf), name);
                if (!lpath)
                        return -ENOMEM;
        }
        if (u->root) {
                if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
                        return -ERANGE;
                if (fd >= 0 ? fchown(fd, (uid_t)uid, (gid_t)gid) < 0
                            : fchownat(parent_fd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return negative_errno();
        }
        if (!is_link && (fd >= 0 ? fchmod(fd, mode) < 0 : fchmodat(parent_fd, name, mode, 0) < 0))
                return negative_errno();
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &xname, &xval, &xsize) == ARCHIVE_OK) {
                int k;
                if (!xname || !xattr_allowed(xname)) {
                        log_debug("unpack: dropping xattr '%s' of '%s'", strempty(xname), name);
                        continue;
                }
                if (!u->root && !startswith(xname, "user."))
                        continue;
                k = fd >= 0 ? fsetxattr(fd, xname, xval, xsize, 0) : lsetxattr(lpath, xname, xval, xsize, 0);
                if (k < 0) {
                        if (errno == EOPNOTSUPP || errno == ENOTSUP) {
                                log_debug("unpack: file system refuses xattr '%s' on '%s'", xname, name);
                                continue;
                        }
                        return negative_errno();
                }
        }
        return 0;
}

static void entry_mtime(struct archive_entry *e, struct timespec t[2])
{
        t[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
        t[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e);
        t[1].tv_sec = archive_entry_mtime(e);
        t[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (t[1].tv_nsec < 0 || t[1].tv_nsec >= 1000000000)
                t[1].tv_nsec = 0;
        if (t[0].tv_nsec < 0 || t[0].tv_nsec >= 1000000000)
                t[0].tv_nsec = 0;
}

static int remember_dir(struct unpacker *u, const char *path, struct archive_entry *e)
{
        struct timespec t[2];

        if (u->n_dirs == u->alloc_dirs) {
                size_t n = u->alloc_dirs ? u->alloc_dirs * 2 : 64;
                struct dir_time *d = realloc(u->dirs, n * sizeof(*d));
                if (!d)
                        return -ENOMEM;
                u->dirs = d;
                u->alloc_dirs = n;
        }
        entry_mtime(e, t);
        u->dirs[u->n_dirs].path = strdup(path);
        if (!u->dirs[u->n_dirs].path)
                return -ENOMEM;
        u->dirs[u->n_dirs].mtime = t[1];
        u->n_dirs++;
        return 0;
}

static int write_whiteout(int parent_fd, const char *name)
{
        const char *target = name + strlen(".wh.");
        int r;

        if (streq(name, ".wh..wh..opq")) {
                char buf[32];
                _cleanup_close_ int dfd = open(fd_path(parent_fd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return negative_errno();
                if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return negative_errno();
                return 0;
        }
        if (startswith(name, ".wh..wh."))
                return 0; /* AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): no meaning for overlay */
        if (!*target || streq(target, ".") || streq(target, ".."))
                return -EINVAL;
        r = remove_existing(parent_fd, target, false);
        if (r < 0)
                return r;
        /* overlayfs whiteout: a character device with device number 0/0. */
        if (mknodat(parent_fd, target, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return negative_errno();
        return 0;
}

static int unpack_entry(struct unpacker *u, struct archive *a, struct archive_entry *e)
{
        _cleanup_free_ char *path = NULL, *parent = NULL;
        const char *raw = archive_entry_pathname(e);
        const char *name, *hardlink = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        struct timespec t[2];
        char pbuf[160];
        int pfd, r;

        if (!raw)
                return err_set(-EINVAL, "layer entry without a name");
        r = unpack_clean_path(raw, &path);
        if (r == -EINVAL)
                return err_set(r, "layer entry '%s': path leaves the layer", printable(raw, pbuf));
        if (r < 0)
                return err_set(r, "layer entry '%s': %s", printable(raw, pbuf), strerror(-r));
        entry_mtime(e, t);

        if (!*path) {
                /* "./": the layer's root directory itself. */
                if (!hardlink && type == AE_IFDIR && u->plain)
                        return 0;
                if (!hardlink && type == AE_IFDIR) {
                        r = apply_metadata(u, e, -EBADF, NULL, u->dest_fd, false);
                        if (r < 0)
                                return err_set(r, "layer root: %s", strerror(-r));
                        return remember_dir(u, ".", e);
                }
                return err_set(-EINVAL, "layer entry '%s': not a directory at the layer root", printable(raw, pbuf));
        }

        name = strrchr(path, '/');
        if (name) {
                parent = strndup(path, (size_t)(name - path));
                name++;
        } else {
                parent = strdup("");
                name = path;
        }
        if (!parent)
                return -ENOMEM;
        pfd = unpacker_parent(u, parent);
        if (pfd < 0)
                return err_set(pfd, "layer entry '%s': cannot create its parent directory: %s", printable(raw, pbuf),
                               strerror(-pfd));

        if (!u->plain && startswith(name, ".wh.")) {
                r = write_whiteout(pfd, name);
                if (r < 0)
                        return err_set(r, "layer entry '%s': invalid whiteout: %s", printable(raw, pbuf),
                                       r == -EINVAL ? "bad name" : strerror(-r));
                return 0;
        }

        r = remove_existing(pfd, name, !hardlink && type == AE_IFDIR);
        if (r < 0)
                return err_set(r, "layer entry '%s': cannot replace the existing entry: %s", printable(raw, pbuf),
                               strerror(-r));
        if (r == 2) {
                /* The cached parent fd may be this very entry's old self, or below it: resolve again. */
                unpacker_drop_parent(u);
                pfd = unpacker_parent(u, parent);
                if (pfd < 0)
                        return pfd;
        }

        if (hardlink) {
                _cleanup_free_ char *target = NULL;
                _cleanup_close_ int tfd = -EBADF;
                struct stat st;
                char buf[32];

                r = unpack_clean_path(hardlink, &target);
                if (r < 0 || !*target)
                        return err_set(-EINVAL, "layer entry '%s': hardlink target '%s' leaves the layer",
                                       printable(raw, pbuf), hardlink);
                tfd = chase_open(u->dest_fd, target, O_PATH, CHASE_NOFOLLOW);
                if (tfd < 0)
                        return err_set(tfd, "layer entry '%s': hardlink target '%.100s' is not in the layer",
                                       printable(raw, pbuf), target);
                if (fstat(tfd, &st) < 0)
                        return negative_errno();
                if (S_ISDIR(st.st_mode))
                        return err_set(-EPERM, "layer entry '%s': hardlink to a directory", printable(raw, pbuf));
                /* Through the fd's magic link: names exactly the inode chase found, never a path. */
                if (linkat(AT_FDCWD, fd_path(tfd, buf), pfd, name, AT_SYMLINK_FOLLOW) < 0)
                        return err_set(negative_errno(), "layer entry '%s': cannot link: %m", printable(raw, pbuf));
                return 0;
        }

        switch (type) {
        case AE_IFREG: {
                _cleanup_close_ int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return err_set(negative_errno(), "layer entry '%s': cannot create: %m", printable(raw, pbuf));
                if (archive_entry_size(e) > 0) {
                        r = archive_read_data_into_fd(a, fd);
                        if (r < ARCHIVE_WARN)
                                return err_set(archive_errno(a) > 0 ? -archive_errno(a) : -EIO, "layer entry '%s': %s",
                                               printable(raw, pbuf), archive_error_string(a) ?: "read error");
                        u->res->unpacked_size += (uint64_t)archive_entry_size(e);
                }
                r = apply_metadata(u, e, pfd, name, fd, false);
                if (r < 0)
                        return err_set(r, "layer entry '%s': %s", printable(raw, pbuf), strerror(-r));
                if (futimens(fd, t) < 0)
                        return negative_errno();
                return 0;
        }
        case AE_IFDIR:
                if (mkdirat(pfd, name, 0700) < 0 && errno != EEXIST)
                        return err_set(negative_errno(), "layer entry '%s': cannot create: %m", printable(raw, pbuf));
                {
                        _cleanup_close_ int fd =
                                openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return err_set(negative_errno(), "layer entry '%s': %m", printable(raw, pbuf));
                        r = apply_metadata(u, e, pfd, name, fd, false);
                        if (r < 0)
                                return err_set(r, "layer entry '%s': %s", printable(raw, pbuf), strerror(-r));
                }
                return remember_dir(u, path, e);
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);
                if (!target || !*target)
                        return err_set(-EINVAL, "layer entry '%s': symlink without a target", printable(raw, pbuf));
                /* The target is data: it is resolved later, inside the container's root. */
                if (symlinkat(target, pfd, name) < 0)
                        return err_set(negative_errno(), "layer entry '%s': cannot create: %m", printable(raw, pbuf));
                break;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                if (type != AE_IFIFO && !u->root) {
                        log_debug("unpack: skipping device node '%s' (not root)", path);
                        return 0;
                }
                if (mknodat(pfd, name, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) < 0)
                        return err_set(negative_errno(), "layer entry '%s': cannot create: %m", printable(raw, pbuf));
                break;
        case AE_IFSOCK:
                log_debug("unpack: skipping socket '%s'", path);
                return 0;
        default:
                return err_set(-EINVAL, "layer entry '%s': unsupported entry type 0%o", printable(raw, pbuf),
                               (unsigned)type);
        }
        r = apply_metadata(u, e, pfd, name, -EBADF, type == AE_IFLNK);
        if (r < 0)
                return err_set(r, "layer entry '%s': %s", printable(raw, pbuf), strerror(-r));
        if (utimensat(pfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        return 0;
}

static int set_dir_times(struct unpacker *u)
{
        /* Deepest first, so that setting a child's time does not touch its parent's afterwards. */
        for (size_t i = u->n_dirs; i > 0; i--) {
                struct dir_time *d = &u->dirs[i - 1];
                struct timespec t[2] = { d->mtime, d->mtime };
                _cleanup_close_ int fd = streq(d->path, ".") ? fcntl(u->dest_fd, F_DUPFD_CLOEXEC, 3)
                                                              : chase_open(u->dest_fd, d->path, O_RDONLY | O_DIRECTORY,
                                                                           CHASE_NOFOLLOW);
                if (fd < 0)
                        continue; /* replaced by a later entry */
                if (futimens(fd, t) < 0)
                        return negative_errno();
        }
        return 0;
}

static void unpacker_done(struct unpacker *u)
{
        unpacker_drop_parent(u);
        for (size_t i = 0; i < u->n_dirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
}

static void digest_str(struct sha256_ctx *c, char out[80])
{
        char hex[SHA256_HEX_LEN + 1];
        sha256_final_hex(c, hex);
        snprintf(out, 80, "sha256:%s", hex);
}

int unpack_layer(unpack_read_fn read_fn, void *userdata, int dest_fd, const struct unpack_options *opts,
                 struct unpack_result *ret)
{
        static const struct unpack_options no_opts = {};
        _cleanup_archive_ struct archive *outer = NULL, *inner = NULL;
        _cleanup_(sha256_freep) struct sha256_ctx *sha_src = sha256_new(), *sha_tar = sha256_new();
        _cleanup_free_ struct source *src = calloc(1, sizeof(*src));
        _cleanup_free_ struct tar_stream *tar = calloc(1, sizeof(*tar));
        struct unpack_result res = {};
        struct unpacker u = { .dest_fd = dest_fd, .root = geteuid() == 0, .parent_fd = -EBADF, .res = &res };
        struct archive_entry *e;
        int r;

        if (!opts)
                opts = &no_opts;
        u.plain = opts->plain;
        if (!sha_src || !sha_tar || !src || !tar)
                return -ENOMEM;
        *src = (struct source){ .read = read_fn, .userdata = userdata, .sha = sha_src, .progress = opts->progress,
                                .progress_userdata = opts->progress_userdata };
        outer = archive_read_new();
        inner = archive_read_new();
        if (!outer || !inner)
                return -ENOMEM;
        archive_read_support_filter_all(outer);
        archive_read_support_format_raw(outer);
        archive_read_support_format_tar(inner);
        if (archive_read_open(outer, src, NULL, source_read_cb, NULL) != ARCHIVE_OK ||
            archive_read_next_header(outer, &e) != ARCHIVE_OK) {
                r = src->error ?: -EINVAL;
                return err_set(r, "layer: %s", archive_error_string(outer) ?: "cannot read the stream");
        }
        *tar = (struct tar_stream){ .outer = outer, .sha = sha_tar };
        if (archive_read_open(inner, tar, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
                r = src->error ?: -EINVAL;
                return err_set(r, "layer: not a tar archive: %s", archive_error_string(inner) ?: "unknown format");
        }
        for (;;) {
                r = archive_read_next_header(inner, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        r = src->error ?: -EINVAL;
                        err_set(r, "layer: %s", archive_error_string(inner) ?: "corrupt tar archive");
                        goto fail;
                }
                r = unpack_entry(&u, inner, e);
                if (r < 0) {
                        if (src->error)
                                r = err_set(src->error, "layer: %s", strerror(-src->error));
                        goto fail;
                }
                res.n_entries++;
        }
        /* Hash the tar's tail (end-of-archive blocks, padding) and the compressed tail as well. */
        for (;;) {
                la_ssize_t k = archive_read_data(outer, tar->buf, sizeof(tar->buf));
                if (k == 0)
                        break;
                if (k < 0) {
                        r = err_set(src->error ?: -EINVAL, "layer: %s", archive_error_string(outer) ?: "read error");
                        goto fail;
                }
                sha256_update(sha_tar, tar->buf, (size_t)k);
        }
        for (;;) {
                ssize_t k = source_read_cb(outer, src, &(const void *){ NULL });
                if (k == 0)
                        break;
                if (k < 0) {
                        r = err_set(src->error ?: -EIO, "layer: %s", strerror(-(src->error ?: -EIO)));
                        goto fail;
                }
        }
        r = set_dir_times(&u);
        if (r < 0)
                goto fail;
        digest_str(TAKE_PTR(sha_src), res.digest);
        digest_str(TAKE_PTR(sha_tar), res.diff_id);
        res.stream_size = src->n;
        if (opts->expect_digest && !streq(opts->expect_digest, res.digest)) {
                r = err_set(-EBADMSG, "layer: digest mismatch: expected %s, got %s", opts->expect_digest, res.digest);
                goto fail;
        }
        if (opts->expect_diff_id && !streq(opts->expect_diff_id, res.diff_id)) {
                r = err_set(-EBADMSG, "layer: uncompressed digest mismatch: the image config says %s, the layer is %s",
                            opts->expect_diff_id, res.diff_id);
                goto fail;
        }
        unpacker_done(&u);
        if (ret)
                *ret = res;
        return 0;
fail:
        unpacker_done(&u);
        return r;
}

static ssize_t fd_read(void *userdata, void *buf, size_t size)
{
        int fd = *(int *)userdata;
        for (;;) {
                ssize_t k = read(fd, buf, size);
                if (k >= 0)
                        return k;
                if (errno != EINTR)
                        return negative_errno();
        }
}

int unpack_layer_fd(int src_fd, int dest_fd, const struct unpack_options *opts, struct unpack_result *ret)
{
        return unpack_layer(fd_read, &src_fd, dest_fd, opts, ret);
}
