/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chase.c - path resolution confined to a root; see chase.h for the contract.
 *
 * The portable walk keeps a stack of O_PATH fds, one per directory entered, so
 * that ".." pops one and can never go above the root entry, whatever the tree's
 * real parent is. Symlinks are expanded textually into the remaining path
 * (absolute ones restart from the root), at most 40 times, like the kernel.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "chase.h"
#include "util.h"

#define MAX_SYMLINKS 40
#define MAX_DEPTH    256

const char *fd_path(int fd, char buf[static 32])
{
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
        return buf;
}

static int openat2_in_root(int root_fd, const char *path, int open_flags, mode_t mode)
{
        struct open_how how = {
                .flags = (uint64_t)(open_flags | O_CLOEXEC),
                .mode = (open_flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        for (;;) {
                fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
                /* EAGAIN: a rename raced with the lookup; the kernel asks us to retry. */
                if (fd >= 0 || errno != EAGAIN)
                        break;
        }
        return fd < 0 ? negative_errno() : (int)fd;
}

/* Portable walk: returns an O_PATH fd of the resolved entry. */
static int walk_in_root(int root_fd, const char *path, bool nofollow_last)
{
        int stack[MAX_DEPTH];
        int depth = 0, links = 0, r = 0;
        _cleanup_free_ char *rest = strdup(path);

        if (!rest)
                return -ENOMEM;
        stack[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (stack[0] < 0)
                return negative_errno();

        char *p = rest;
        while (*p) {
                char *slash, *comp;
                struct stat st;
                int fd;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                comp = p;
                slash = strchr(p, '/');
                if (slash) {
                        *slash = 0;
                        p = slash + 1;
                } else
                        p += strlen(p);

                if (streq(comp, "."))
                        continue;
                if (streq(comp, "..")) {
                        if (depth > 0) {
                                safe_close(stack[depth]);
                                depth--;
                        }
                        continue;
                }
                fd = openat(stack[depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = negative_errno();
                        goto out;
                }
                if (fstat(fd, &st) < 0) {
                        r = negative_errno();
                        safe_close(fd);
                        goto out;
                }
                bool last = true;
                for (const char *q = p; *q; q++)
                        if (*q != '/') {
                                last = false;
                                break;
                        }
                if (S_ISLNK(st.st_mode) && !(last && nofollow_last)) {
                        char target[PATH_MAX];
                        ssize_t n;
                        char *np;

                        n = readlinkat(fd, "", target, sizeof(target) - 1);
                        safe_close(fd);
                        if (n < 0) {
                                r = negative_errno();
                                goto out;
                        }
                        target[n] = 0;
                        if (++links > MAX_SYMLINKS) {
                                r = -ELOOP;
                                goto out;
                        }
                        if (target[0] == '/')
                                for (; depth > 0; depth--)
                                        safe_close(stack[depth]);
                        np = strdup_printf("%s/%s", target, p);
                        if (!np) {
                                r = -ENOMEM;
                                goto out;
                        }
                        free(rest);
                        rest = np;
                        p = rest;
                        continue;
                }
                if (!last && !S_ISDIR(st.st_mode)) {
                        safe_close(fd);
                        r = -ENOTDIR;
                        goto out;
                }
                if (depth + 1 >= MAX_DEPTH) {
                        safe_close(fd);
                        r = -ENAMETOOLONG;
                        goto out;
                }
                stack[++depth] = fd;
        }
        r = stack[depth];
        stack[depth] = -EBADF;
out:
        for (int i = 0; i <= depth; i++)
                safe_close(stack[i]);
        return r;
}

static bool openat2_missing = false;

int chase_open(int root_fd, const char *path, int open_flags, unsigned flags)
{
        char buf[32];
        int fd, r;

        if (flags & CHASE_NOFOLLOW)
                open_flags |= O_NOFOLLOW;
        if (!(flags & CHASE_NO_OPENAT2) && !openat2_missing) {
                fd = openat2_in_root(root_fd, path, open_flags & ~O_CREAT, 0);
                if (fd != -ENOSYS)
                        return fd;
                openat2_missing = true;
        }
        fd = walk_in_root(root_fd, path, flags & CHASE_NOFOLLOW);
        if (fd < 0 || (open_flags & O_PATH))
                return fd;
        /* Reopen the O_PATH fd with the wanted flags through its magic link, which names exactly it. */
        r = open(fd_path(fd, buf), (open_flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
        r = r < 0 ? negative_errno() : r;
        safe_close(fd);
        return r;
}

/* Split path into its parent (inside the root) and last component. */
static int split_last(const char *path, char **ret_parent, const char **ret_name)
{
        _cleanup_free_ char *p = strdup(path);
        char *slash;
        size_t n;

        if (!p)
                return -ENOMEM;
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        slash = strrchr(p, '/');
        if (!slash) {
                *ret_name = path;
                *ret_parent = strdup(".");
                return *ret_parent ? 0 : -ENOMEM;
        }
        *ret_name = path + (slash - p) + 1;
        *slash = 0;
        *ret_parent = TAKE_PTR(p);
        return 0;
}

/*
 * One pass of chase_mkdir_p(). When a component is a dangling symlink, it cannot be created
 * through: the link is read and *ret_redirect gets the path to try next (link target plus the
 * rest), which the caller resolves in the root again, as the kernel would follow it.
 */
static int mkdir_p_once(int root_fd, const char *path, mode_t mode, unsigned flags, char **ret_redirect)
{
        _cleanup_free_ char *prefix = malloc(strlen(path) + 2);
        const char *p = path;
        int fd;

        if (!prefix)
                return -ENOMEM;
        fd = chase_open(root_fd, path, O_PATH | O_DIRECTORY, flags);
        if (fd != -ENOENT)
                return fd;
        /*
         * Walk the prefixes from the root: each one is resolved in the root again, so
         * that a symlink among them is followed the confined way, and the missing
         * entry is created relative to its already resolved parent fd.
         */
        prefix[0] = 0;
        while (*p) {
                _cleanup_close_ int parent = -EBADF;
                size_t l, start;
                char comp[NAME_MAX + 1];

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                l = strcspn(p, "/");
                if (l > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, l);
                comp[l] = 0;
                start = strlen(prefix);
                parent = chase_open(root_fd, start ? prefix : ".", O_PATH | O_DIRECTORY, flags & CHASE_NO_OPENAT2);
                if (parent < 0)
                        return parent;
                snprintf(prefix + start, l + 2, "/%s", comp);
                p += l;
                if (streq(comp, ".") || streq(comp, ".."))
                        continue;
                fd = chase_open(root_fd, prefix, O_PATH | O_DIRECTORY, flags & CHASE_NO_OPENAT2);
                if (fd >= 0) {
                        if (*p)
                                safe_close(fd);
                        else
                                return fd;
                        continue;
                }
                if (fd != -ENOENT)
                        return fd;
                if (mkdirat(parent, comp, mode) < 0) {
                        char target[PATH_MAX];
                        ssize_t n;

                        if (errno != EEXIST)
                                return negative_errno();
                        /* It exists but does not resolve: a dangling symlink. */
                        n = readlinkat(parent, comp, target, sizeof(target) - 1);
                        if (n < 0)
                                return -ENOENT;
                        target[n] = 0;
                        prefix[start] = 0;
                        *ret_redirect = target[0] == '/' ? strdup_printf("%s%s", target, p)
                                                         : strdup_printf("%s/%s%s", prefix, target, p);
                        return *ret_redirect ? -EAGAIN : -ENOMEM;
                }
        }
        return chase_open(root_fd, path, O_PATH | O_DIRECTORY, flags);
}

int chase_mkdir_p(int root_fd, const char *path, mode_t mode, unsigned flags)
{
        _cleanup_free_ char *cur = strdup(path);

        if (!cur)
                return -ENOMEM;
        for (int hops = 0; hops <= MAX_SYMLINKS; hops++) {
                char *next = NULL;
                int r = mkdir_p_once(root_fd, cur, mode, flags, &next);
                if (r != -EAGAIN)
                        return r;
                free(cur);
                cur = next;
        }
        return -ELOOP;
}

int chase_mount_target(int root_fd, const char *path, bool dir, mode_t mode, unsigned flags)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int pfd = -EBADF;
        const char *name;
        int fd, r;

        fd = chase_open(root_fd, path, O_PATH, flags);
        if (fd != -ENOENT)
                return fd;
        if (dir)
                return chase_mkdir_p(root_fd, path, mode, flags);
        r = split_last(path, &parent, &name);
        if (r < 0)
                return r;
        pfd = chase_mkdir_p(root_fd, parent, 0755, flags);
        if (pfd < 0)
                return pfd;
        {
                char buf[32];
                _cleanup_close_ int dfd = open(fd_path(pfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return negative_errno();
                /* O_NOFOLLOW|O_EXCL: never create through a symlink planted at the last component. */
                r = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (r < 0 && errno != EEXIST)
                        return negative_errno();
                safe_close(r);
        }
        return chase_open(root_fd, path, O_PATH, flags);
}
