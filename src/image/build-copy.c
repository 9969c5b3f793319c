/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-copy.c - COPY and ADD: which files, their content hash for the
 * cache, and the copy itself, with the Dockerfile reference's rules:
 *
 *   - sources are relative to the context (or the --from stage's root); a
 *     leading "/" changes nothing and ".." may not climb out; wildcards are Go
 *     filepath.Match patterns per path component; .dockerignore'd files do not
 *     exist for COPY (a source that names one is "not found");
 *   - a directory source copies its contents, not itself; a file source goes
 *     to dest/<name> when dest ends with "/" or is an existing directory, else
 *     to dest itself; several sources need a dest ending with "/"; missing
 *     parents of dest are created (owned by --chown's user when given);
 *   - modes, mtimes, symlinks (as links), hardlinks within one copy, device
 *     nodes and xattrs are kept; owners become root unless --chown, except from
 *     another stage, whose owners are kept;
 *   - ADD unpacks a source that is a local tar archive (plain, gzip, bzip2,
 *     xz) into dest as a directory; an archive entry named like a layer
 *     whiteout (.wh.*) is refused, as it would delete files from the image.
 *
 * Every path inside the source and the destination trees is resolved with
 * chase.h (both trees belong to someone else: a symlink in the context, the
 * stage or the image never leads to the host), and below a resolved directory
 * entries are only ever opened relative to a directory fd with O_NOFOLLOW.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "build-internal.h"
#include "chase.h"
#include "error.h"
#include "log.h"
#include "unpack.h"
#include "util.h"

#define COPY_BUFFER   (256u << 10)
#define MAX_LINK_FDS  1024
#define ARCHIVE_BLOCK (64u << 10)

struct hardlink {
        dev_t dev;
        ino_t ino;
        int fd; /* O_PATH of the first copy */
};

struct copier {
        const struct copy_source *src;
        const struct copy_spec *spec;
        struct hardlink *links;
        size_t n_links;
        char *buf;
};

static void copier_done(struct copier *c)
{
        for (size_t i = 0; i < c->n_links; i++)
                safe_close(c->links[i].fd);
        free(c->links);
        free(c->buf);
}

int copy_parse_chmod(const char *s, mode_t *ret)
{
        unsigned long v;
        char *end;

        if (!*s || strspn(s, "01234567") != strlen(s) || strlen(s) > 5)
                return err_set(-EINVAL, "--chmod: invalid mode '%.20s' (octal, e.g. 755)", s);
        v = strtoul(s, &end, 8);
        if (v > 07777)
                return err_set(-EINVAL, "--chmod: invalid mode '%.20s' (octal, e.g. 755)", s);
        *ret = (mode_t)v;
        return 0;
}

static bool has_wildcard(const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' && s[1]) {
                        s++;
                        continue;
                }
                if (*s == '*' || *s == '?' || *s == '[')
                        return true;
        }
        return false;
}

static char *join(const char *a, const char *b)
{
        return *a ? strdup_printf("%s/%s", a, b) : strdup(b);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory fd, sorted (so hashes do not depend on the file system's order). */
static int list_dir(int fd, char ***ret)
{
        /* A new open file: fd may be O_PATH, and a dup would share its directory position. */
        DIR *d = fdopendir(openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        _cleanup_strv_free_ char **l = NULL;
        struct dirent *de;
        int r = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    (r = strv_extend(&l, de->d_name)) < 0)
                        break;
        closedir(d);
        if (r < 0)
                return r;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        qsort(l, strv_length(l), sizeof(char *), cmp_names);
        *ret = TAKE_PTR(l);
        return 0;
}

static bool excluded(const struct copy_source *src, const char *path)
{
        return src->ignore && *path && dockerignore_excludes(src->ignore, path);
}

/* ------------------------------------------------------------------ matching */

static int match_one(const struct copy_source *src, const char *pattern, char ***out)
{
        _cleanup_free_ char *clean = NULL;
        _cleanup_strv_free_ char **cur = NULL;
        size_t before = strv_length(*out);
        int r;

        r = unpack_clean_path(pattern, &clean);
        if (r < 0)
                return err_set(-EINVAL, "source '%s' is outside the %s", pattern, src->what);
        if (!has_wildcard(clean)) {
                _cleanup_close_ int fd = chase_open(src->root_fd, clean, O_PATH | O_CLOEXEC, 0);
                if (fd >= 0 && excluded(src, clean))
                        return err_set(-ENOENT, "'%s' not found in the %s (excluded by .dockerignore)",
                                       pattern, src->what);
                if (fd == -ENOENT || fd == -ENOTDIR)
                        return err_set(-ENOENT, "'%s' not found in the %s", pattern, src->what);
                if (fd < 0)
                        return err_set(fd, "cannot open '%s' in the %s: %s", pattern, src->what,
                                       strerror(-fd));
                return strv_extend(out, clean);
        }
        if ((r = strv_extend(&cur, "")) < 0)
                return r;
        /* Component by component: a wildcard lists its directory, a plain name must exist. */
        for (const char *p = clean; *p;) {
                size_t n = strcspn(p, "/");
                _cleanup_free_ char *comp = strndup(p, n);
                _cleanup_strv_free_ char **next = NULL;

                if (!comp)
                        return -ENOMEM;
                p += n + (p[n] == '/');
                STRV_FOREACH (prefix, cur) {
                        _cleanup_close_ int dfd =
                                chase_open(src->root_fd, *prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
                        _cleanup_strv_free_ char **names = NULL;
                        if (dfd < 0)
                                continue;
                        if (!has_wildcard(comp)) {
                                struct stat st;
                                _cleanup_free_ char *j = join(*prefix, comp);
                                if (!j)
                                        return -ENOMEM;
                                if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                                    (r = strv_extend(&next, j)) < 0)
                                        return r;
                                continue;
                        }
                        r = list_dir(dfd, &names);
                        if (r < 0)
                                return r;
                        STRV_FOREACH (name, names) {
                                _cleanup_free_ char *j = NULL;
                                r = dockerignore_match(comp, *name);
                                if (r < 0)
                                        return err_set(-EINVAL, "bad pattern '%s'", pattern);
                                if (r == 0)
                                        continue;
                                j = join(*prefix, *name);
                                if (!j || (r = strv_push(&next, TAKE_PTR(j))) < 0)
                                        return -ENOMEM;
                        }
                }
                strv_free(cur);
                cur = TAKE_PTR(next);
                if (!cur)
                        break;
        }
        STRV_FOREACH (m, cur)
                if (!excluded(src, *m) && (r = strv_extend(out, *m)) < 0)
                        return r;
        if (strv_length(*out) == before)
                return err_set(-ENOENT, "no file in the %s matches '%s'", src->what, pattern);
        return 0;
}

int copy_match(const struct copy_source *src, char *const *patterns, char ***ret)
{
        _cleanup_strv_free_ char **out = NULL;
        int r;

        for (size_t i = 0; patterns && patterns[i]; i++) {
                r = match_one(src, patterns[i], &out);
                if (r < 0)
                        return r;
        }
        if (!out && !(out = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

/* ------------------------------------------------------------------ hashing */

static int hash_node(const struct copy_source *src, struct build_key *k, int dfd, const char *name,
                     const char *rel, const char *ctx_path, bool follow);

static int hash_dir(const struct copy_source *src, struct build_key *k, int fd, const char *rel,
                    const char *ctx_path)
{
        _cleanup_strv_free_ char **names = NULL;
        int r = list_dir(fd, &names);

        if (r < 0)
                return r;
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *sub = join(rel, *n), *csub = join(ctx_path, *n);
                if (!sub || !csub)
                        return -ENOMEM;
                r = hash_node(src, k, fd, *n, sub, csub, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int hash_node(const struct copy_source *src, struct build_key *k, int dfd, const char *name,
                     const char *rel, const char *ctx_path, bool follow)
{
        struct stat st;
        bool excl;

        if (fstatat(dfd, name, &st, follow ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(negative_errno(), "cannot stat '%s' in the %s: %m", ctx_path, src->what);
        excl = excluded(src, ctx_path);
        if (excl && (!S_ISDIR(st.st_mode) || !src->ignore_exceptions))
                return 0;
        if (!excl) {
                build_key_add(k, rel);
                build_key_add_u64(k, st.st_mode);
                build_key_add_u64(k, st.st_uid);
                build_key_add_u64(k, st.st_gid);
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd = -EBADF;
                char buf[32], hex[SHA256_HEX_LEN + 1];
                int r;
                fd = follow ? open(fd_path(dfd, buf), O_RDONLY | O_CLOEXEC | O_NOCTTY)
                            : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return err_set(negative_errno(), "cannot open '%s' in the %s: %m", ctx_path,
                                       src->what);
                r = sha256_fd(fd, hex);
                if (r < 0)
                        return err_set(r, "cannot read '%s' in the %s: %s", ctx_path, src->what,
                                       strerror(-r));
                build_key_add(k, hex);
        } else if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return negative_errno();
                target[n] = 0;
                build_key_add(k, target);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                build_key_add_u64(k, st.st_rdev);
        else if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = -EBADF;
                char buf[32];
                fd = follow ? open(fd_path(dfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                            : openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return err_set(negative_errno(), "cannot open '%s' in the %s: %m", ctx_path,
                                       src->what);
                return hash_dir(src, k, fd, rel, ctx_path);
        }
        return 0;
}

int copy_hash(const struct copy_source *src, char *const *paths, struct build_key *k)
{
        for (size_t i = 0; paths && paths[i]; i++) {
                _cleanup_close_ int fd = chase_open(src->root_fd, paths[i], O_PATH | O_CLOEXEC, 0);
                int r;
                if (fd < 0)
                        return err_set(fd, "cannot open '%s' in the %s: %s", paths[i], src->what,
                                       strerror(-fd));
                build_key_add(k, paths[i]);
                r = hash_node(src, k, fd, "", "", paths[i], true);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ------------------------------------------------------------------ destination */

static void owner_of(const struct copier *c, const struct stat *st, uid_t *uid, gid_t *gid)
{
        if (c->spec->uid != (uid_t)-1) {
                *uid = c->spec->uid;
                *gid = c->spec->gid;
        } else if (c->src->keep_owner) {
                *uid = st->st_uid;
                *gid = st->st_gid;
        } else
                *uid = *gid = 0;
}

int copy_mkdir(int root_fd, const char *path, uid_t uid, gid_t gid, bool *created)
{
        _cleanup_close_ int cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *prefix = strdup("");

        if (cur < 0)
                return negative_errno();
        if (!prefix)
                return -ENOMEM;
        *created = false;
        for (const char *p = path; *p;) {
                size_t n;
                _cleanup_free_ char *comp = NULL, *np = NULL;
                int fd;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                n = strcspn(p, "/");
                comp = strndup(p, n);
                np = strdup_printf("%s/%s", prefix, comp ?: "");
                if (!comp || !np)
                        return -ENOMEM;
                p += n;
                *created = false;
                fd = chase_open(root_fd, np, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                if (fd == -ENOENT) {
                        /* The parent is cur, resolved in the root; comp is a plain name, no symlink. */
                        if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
                                return err_set(negative_errno(), "cannot create '%s': %m", np);
                        if (uid != (uid_t)-1 && fchownat(cur, comp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                                return negative_errno();
                        *created = true;
                        fd = chase_open(root_fd, np, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                }
                if (fd == -ENOTDIR)
                        return err_set(fd, "'%s' exists and is not a directory", np);
                if (fd < 0)
                        return err_set(fd, "cannot open '%s': %s", np, strerror(-fd));
                safe_close(cur);
                cur = fd;
                free(prefix);
                prefix = TAKE_PTR(np);
        }
        return TAKE_FD(cur);
}

static int copy_xattrs(int from, int to, bool nofollow_paths, const char *from_path, const char *to_path)
{
        char names[8192];
        ssize_t n = nofollow_paths ? llistxattr(from_path, names, sizeof(names))
                                   : flistxattr(from, names, sizeof(names));

        if (n < 0)
                return errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : negative_errno();
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                char val[8192];
                ssize_t k;
                /* Overlay's own markers would change what the layer means. */
                if (startswith(p, "trusted.overlay."))
                        continue;
                k = nofollow_paths ? lgetxattr(from_path, p, val, sizeof(val))
                                   : fgetxattr(from, p, val, sizeof(val));
                if (k < 0)
                        continue;
                if ((nofollow_paths ? lsetxattr(to_path, p, val, (size_t)k, 0)
                                    : fsetxattr(to, p, val, (size_t)k, 0)) < 0 &&
                    errno != ENOTSUP && errno != EOPNOTSUPP)
                        return negative_errno();
        }
        return 0;
}

static int copy_data(struct copier *c, int in, int out, off_t size)
{
        bool fallback = false;

        while (size > 0 && !fallback) {
                ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)MIN(size, (off_t)1 << 30), 0);
                if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                        /* Across file systems (Linux 5.19 refuses most): plain reads and writes. */
                        fallback = true;
                        break;
                }
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return 0;
                size -= k;
        }
        if (!fallback)
                return 0;
        if (!c->buf && !(c->buf = malloc(COPY_BUFFER)))
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(in, c->buf, COPY_BUFFER);
                int r;
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return 0;
                r = write_all(out, c->buf, (size_t)k);
                if (r < 0)
                        return r;
        }
}

/* Make room for name in ddfd: remove what is there unless both are directories (then merge). */
static int make_room(int ddfd, const char *name, const struct stat *src, const char *what,
                     bool *ret_exists_dir)
{
        struct stat dst;

        *ret_exists_dir = false;
        if (fstatat(ddfd, name, &dst, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISDIR(dst.st_mode)) {
                if (S_ISDIR(src->st_mode)) {
                        *ret_exists_dir = true;
                        return 0;
                }
                return err_set(-EISDIR, "cannot replace the directory '%s' with a file", what);
        }
        return unlinkat(ddfd, name, 0) < 0 ? negative_errno() : 0;
}

static int set_meta(struct copier *c, int ddfd, const char *name, const struct stat *st)
{
        struct timespec t[2] = {st->st_mtim, st->st_mtim};
        uid_t uid;
        gid_t gid;

        owner_of(c, st, &uid, &gid);
        /* Owner before mode: chown(2) clears setuid and setgid bits. */
        if (fchownat(ddfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st->st_mode) &&
            fchmodat(ddfd, name, c->spec->mode != (mode_t)-1 ? c->spec->mode : st->st_mode & 07777, 0) < 0)
                return negative_errno();
        return utimensat(ddfd, name, t, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
}

static int copy_tree(struct copier *c, int sfd, const char *ctx_path, int ddfd, const char *dest_path);

/*
 * Copy one entry. Source: sdfd + name, or, when name is NULL, sdfd itself (an O_PATH fd of a
 * followed top-level source). Destination: dname in the directory ddfd.
 */
static int copy_node(struct copier *c, int sdfd, const char *name, const char *ctx_path, int ddfd,
                     const char *dname, const char *dest_path)
{
        struct stat st;
        char pbuf[32];
        bool merge;
        int r;

        r = build_tick(c->spec->b);
        if (r < 0)
                return r;
        if (fstatat(sdfd, name ?: "", &st, name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0)
                return err_set(negative_errno(), "cannot stat '%s' in the %s: %m", ctx_path, c->src->what);
        if (S_ISSOCK(st.st_mode))
                return 0; /* a socket is not content */
        r = make_room(ddfd, dname, &st, dest_path, &merge);
        if (r < 0)
                return r;
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int in =
                        name ? openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                             : open(fd_path(sdfd, pbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int out = -EBADF;
                if (in < 0)
                        return err_set(negative_errno(), "cannot open '%s' in the %s: %m", ctx_path,
                                       c->src->what);
                if (!merge && mkdirat(ddfd, dname, 0700) < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", dest_path);
                out = openat(ddfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (out < 0)
                        return negative_errno();
                r = copy_tree(c, in, ctx_path, out, dest_path);
                if (r < 0)
                        return r;
                /* After the contents, so that the directory's mtime is the source's. */
                r = set_meta(c, ddfd, dname, &st);
                return r < 0 ? r : copy_xattrs(in, out, false, NULL, NULL);
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = -EBADF, out = -EBADF;
                if (st.st_nlink > 1)
                        for (size_t i = 0; i < c->n_links; i++)
                                if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino &&
                                    linkat(AT_FDCWD, fd_path(c->links[i].fd, pbuf), ddfd, dname,
                                           AT_SYMLINK_FOLLOW) == 0)
                                        return 0;
                in = name ? openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
                          : open(fd_path(sdfd, pbuf), O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (in < 0)
                        return err_set(negative_errno(), "cannot open '%s' in the %s: %m", ctx_path,
                                       c->src->what);
                out = openat(ddfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", dest_path);
                r = copy_data(c, in, out, st.st_size);
                if (r < 0)
                        return err_set(r, "copying '%s' to '%s': %s", ctx_path, dest_path, strerror(-r));
                /* xattrs after the owner: chown(2) drops security.capability. */
                r = set_meta(c, ddfd, dname, &st);
                if (r < 0)
                        return r;
                r = copy_xattrs(in, out, false, NULL, NULL);
                if (r < 0)
                        return r;
                if (st.st_nlink > 1 && c->n_links < MAX_LINK_FDS) {
                        struct hardlink *nl = realloc(c->links, (c->n_links + 1) * sizeof(*nl));
                        int fd = openat(ddfd, dname, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        if (!nl) {
                                safe_close(fd);
                                return -ENOMEM;
                        }
                        c->links = nl;
                        if (fd >= 0)
                                c->links[c->n_links++] = (struct hardlink){st.st_dev, st.st_ino, fd};
                }
                return 0;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(sdfd, name ?: "", target, sizeof(target) - 1);
                if (n < 0)
                        return negative_errno();
                target[n] = 0;
                if (symlinkat(target, ddfd, dname) < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", dest_path);
        } else if (mknodat(ddfd, dname, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
                return err_set(negative_errno(), "cannot create '%s': %m", dest_path);
        r = set_meta(c, ddfd, dname, &st);
        if (r < 0)
                return r;
        /* Device nodes and fifos keep their xattrs; Linux allows no user xattrs on symlinks. */
        if (name && !S_ISLNK(st.st_mode)) {
                _cleanup_free_ char *sp = NULL, *dp = NULL;
                char dbuf[32];
                sp = strdup_printf("%s/%s", fd_path(sdfd, pbuf), name);
                dp = strdup_printf("%s/%s", fd_path(ddfd, dbuf), dname);
                if (!sp || !dp)
                        return -ENOMEM;
                r = copy_xattrs(-EBADF, -EBADF, true, sp, dp);
        }
        return r;
}

static int copy_tree(struct copier *c, int sfd, const char *ctx_path, int ddfd, const char *dest_path)
{
        _cleanup_strv_free_ char **names = NULL;
        int r = list_dir(sfd, &names);

        if (r < 0)
                return err_set(r, "cannot list '%s' in the %s: %s", ctx_path, c->src->what, strerror(-r));
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *cp = join(ctx_path, *n), *dp = strdup_printf("%s/%s", dest_path, *n);
                struct stat st;

                if (!cp || !dp)
                        return -ENOMEM;
                if (excluded(c->src, cp)) {
                        _cleanup_close_ int in = -EBADF, out = -EBADF;
                        bool merge;
                        /* An ignored directory may hold re-included ("!") files: make it for them. */
                        if (!c->src->ignore_exceptions || fstatat(sfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                            !S_ISDIR(st.st_mode))
                                continue;
                        in = openat(sfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (in < 0)
                                continue;
                        r = make_room(ddfd, *n, &st, dp, &merge);
                        if (r < 0)
                                return r;
                        if (!merge && mkdirat(ddfd, *n, 0755) < 0)
                                return negative_errno();
                        out = openat(ddfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (out < 0)
                                return negative_errno();
                        r = copy_tree(c, in, cp, out, dp);
                        if (r < 0)
                                return r;
                        /* Nothing re-included below: the directory was only made in case. */
                        if (!merge) {
                                if (unlinkat(ddfd, *n, AT_REMOVEDIR) == 0)
                                        continue;
                                if (errno != ENOTEMPTY && errno != EEXIST)
                                        return negative_errno();
                        }
                        r = set_meta(c, ddfd, *n, &st);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = copy_node(c, sfd, *n, cp, ddfd, *n, dp);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ------------------------------------------------------------------ archives */

bool copy_is_archive(int fd)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        bool yes = false;

        if (!a)
                return false;
        /* Docker's list: identity, gzip, bzip2, xz. */
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_filter_xz(a);
        archive_read_support_format_tar(a);
        if (lseek(fd, 0, SEEK_SET) == 0 && archive_read_open_fd(a, fd, ARCHIVE_BLOCK) == ARCHIVE_OK)
                yes = archive_read_next_header(a, &e) == ARCHIVE_OK;
        archive_read_free(a);
        (void)lseek(fd, 0, SEEK_SET);
        return yes;
}

/* Refuse an archive with whiteout names: unpack.h would turn them into deletions. */
static int archive_check(int fd, const char *name)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int r = 0, k;

        if (!a)
                return -ENOMEM;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_fd(a, fd, ARCHIVE_BLOCK) != ARCHIVE_OK)
                r = err_set(-EINVAL, "ADD '%s': %s", name, archive_error_string(a) ?: "unreadable archive");
        while (r >= 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *p = archive_entry_pathname(e) ?: "", *base = strrchr(p, '/');
                base = base ? base + 1 : p;
                if (startswith(base, ".wh."))
                        r = err_set(
                                -EINVAL,
                                "ADD '%s': the archive holds '%.200s', a name reserved for layer whiteouts",
                                name, p);
        }
        if (r >= 0 && k != ARCHIVE_EOF)
                r = err_set(-EINVAL, "ADD '%s': %s", name, archive_error_string(a) ?: "unreadable archive");
        archive_read_free(a);
        if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = negative_errno();
        return r;
}

/* Unpack the archive fd into a scratch directory, then copy that tree into dest_fd with the tar's owners. */
static int add_archive(struct copier *c, int fd, const char *name, int dest_fd, const char *dest_path)
{
        static unsigned counter;
        _cleanup_free_ char *dir = strdup_printf("%s/archive-%u", c->spec->stage_dir, counter++);
        _cleanup_close_ int dfd = -EBADF;
        struct unpack_options uo = {};
        struct unpack_result res;
        struct copy_source tar_src = {.keep_owner = true, .what = "archive"};
        struct copier tc = {.src = &tar_src, .spec = c->spec};
        int r;

        if (!dir)
                return -ENOMEM;
        r = archive_check(fd, name);
        if (r < 0)
                return r;
        if (mkdir(dir, 0700) < 0)
                return err_set(negative_errno(), "cannot create '%s': %m", dir);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = negative_errno();
                goto out;
        }
        r = unpack_layer_fd(fd, dfd, &uo, &res);
        if (r < 0) {
                r = err_prefix(r, "ADD '%s'", name);
                goto out;
        }
        tar_src.root_fd = dfd;
        r = copy_tree(&tc, dfd, "", dest_fd, dest_path);
out:
        copier_done(&tc);
        (void)rm_rf(dir);
        return r;
}

/* ------------------------------------------------------------------ COPY/ADD */

static char *base_name(const char *p)
{
        const char *s = strrchr(p, '/');
        return strdup(s ? s + 1 : p);
}

static int copy_one(struct copier *c, const char *path, int dest_root_fd)
{
        const struct copy_spec *spec = c->spec;
        _cleanup_close_ int sfd = chase_open(c->src->root_fd, path, O_PATH | O_CLOEXEC, 0), dfd = -EBADF;
        _cleanup_free_ char *parent = NULL, *name = NULL, *dest_path = NULL;
        struct stat st;
        char buf[32];
        bool created;
        int r;

        if (sfd < 0)
                return err_set(sfd, "cannot open '%s' in the %s: %s", path, c->src->what, strerror(-sfd));
        if (fstat(sfd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int in = open(fd_path(sfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (in < 0)
                        return negative_errno();
                dfd = copy_mkdir(dest_root_fd, spec->dest, spec->uid, spec->gid, &created);
                if (dfd < 0)
                        return dfd;
                if (created) {
                        /* A directory made for the copy takes the source directory's metadata. */
                        _cleanup_close_ int real =
                                open(fd_path(dfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (real < 0)
                                return negative_errno();
                        r = copy_tree(c, in, path, real, spec->dest);
                        if (r < 0)
                                return r;
                        return set_meta(c, real, ".", &st);
                }
                _cleanup_close_ int real = open(fd_path(dfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (real < 0)
                        return negative_errno();
                return copy_tree(c, in, path, real, spec->dest);
        }
        if (spec->add && S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = open(fd_path(sfd, buf), O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (in < 0)
                        return negative_errno();
                if (copy_is_archive(in)) {
                        _cleanup_close_ int real = -EBADF;
                        dfd = copy_mkdir(dest_root_fd, spec->dest, spec->uid, spec->gid, &created);
                        if (dfd < 0)
                                return dfd;
                        real = open(fd_path(dfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (real < 0)
                                return negative_errno();
                        return add_archive(c, in, path, real, spec->dest);
                }
        }
        /* A file: into dest when it is a directory (or written as one), else as dest. */
        {
                _cleanup_close_ int probe =
                        chase_open(dest_root_fd, spec->dest, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                if (spec->dest_is_dir || probe >= 0) {
                        parent = strdup(spec->dest);
                        name = base_name(path);
                } else {
                        const char *s = strrchr(spec->dest, '/');
                        parent = s ? strndup(spec->dest, (size_t)(s - spec->dest)) : strdup("/");
                        name = base_name(spec->dest);
                }
        }
        if (!parent || !name)
                return -ENOMEM;
        if (!*name)
                return err_set(-EINVAL, "invalid destination '%s'", spec->dest);
        dest_path = strdup_printf("%s/%s", streq(parent, "/") ? "" : parent, name);
        if (!dest_path)
                return -ENOMEM;
        dfd = copy_mkdir(dest_root_fd, parent, spec->uid, spec->gid, &created);
        if (dfd < 0)
                return dfd;
        return copy_node(c, sfd, NULL, path, dfd, name, dest_path);
}

int copy_run(const struct copy_source *src, char *const *paths, const struct copy_spec *spec,
             int dest_root_fd)
{
        struct copier c = {.src = src, .spec = spec};
        int r = 0;

        if (strv_length(paths) > 1 && !spec->dest_is_dir)
                return err_set(-EINVAL,
                               "with more than one source file the destination must be a directory ending "
                               "with '/', got '%s'",
                               spec->dest);
        for (size_t i = 0; paths && paths[i]; i++) {
                r = copy_one(&c, paths[i], dest_root_fd);
                if (r < 0)
                        break;
        }
        copier_done(&c);
        return r;
}
