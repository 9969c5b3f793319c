/* SPDX-License-Identifier: Apache-2.0 */
/* fscopy.c - tree copies through directory fds; see fscopy.h. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "error.h"
#include "fscopy.h"
#include "util.h"

#define MAX_DEPTH 256

static int copy_data(int in, int out)
{
        for (;;) {
                /* copy_file_range(2) reflinks or copies in the kernel; sendfile covers older kernels. */
                ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
                        return negative_errno();
                break;
        }
        for (;;) {
                ssize_t n = sendfile(out, in, NULL, 1 << 30);
                if (n == 0)
                        return 0;
                if (n < 0)
                        return negative_errno();
        }
}

static void copy_attrs(int dst_dfd, const char *name, const struct stat *st, unsigned flags)
{
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        if (flags & FSCOPY_KEEP_OWNER)
                (void)fchownat(dst_dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
        if (!S_ISLNK(st->st_mode))
                (void)fchmodat(dst_dfd, name, st->st_mode & 07777, 0);
        (void)utimensat(dst_dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int copy_tree(int src_dfd, int dst_dfd, unsigned flags, unsigned depth);

static int copy_one(int src_dfd, const char *name, int dst_dfd, const char *dst_name, unsigned flags,
                    unsigned depth)
{
        struct stat st;
        int r;

        if (fstatat(src_dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(negative_errno(), "cannot read '%s': %m", name);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int s = -EBADF, d = -EBADF;
                struct stat dst;

                if (depth >= MAX_DEPTH)
                        return err_set(-ELOOP, "'%s': directories nested too deep", name);
                if (mkdirat(dst_dfd, dst_name, 0700) < 0 &&
                    (errno != EEXIST || fstatat(dst_dfd, dst_name, &dst, AT_SYMLINK_NOFOLLOW) < 0 ||
                     !S_ISDIR(dst.st_mode)))
                        return err_set(negative_errno() == -EEXIST ? -ENOTDIR : negative_errno(),
                                       "cannot create directory '%s': %m", dst_name);
                s = openat(src_dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d = openat(dst_dfd, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return err_set(negative_errno(), "cannot open directory '%s': %m", name);
                r = copy_tree(s, d, flags, depth + 1);
                if (r < 0)
                        return r;
        } else if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = openat(src_dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int out = -EBADF;
                if (in < 0)
                        return err_set(negative_errno(), "cannot open '%s': %m", name);
                /* Replace what is there (a symlink at the target must not be written through). */
                if (unlinkat(dst_dfd, dst_name, 0) < 0 && errno != ENOENT && errno != EISDIR)
                        return err_set(negative_errno(), "cannot replace '%s': %m", dst_name);
                out = openat(dst_dfd, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", dst_name);
                r = copy_data(in, out);
                if (r < 0)
                        return err_set(r, "copying '%s': %s", name, strerror(-r));
        } else if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(src_dfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return err_set(negative_errno(), "cannot read link '%s': %m", name);
                target[n] = 0;
                (void)unlinkat(dst_dfd, dst_name, 0);
                if (symlinkat(target, dst_dfd, dst_name) < 0)
                        return err_set(negative_errno(), "cannot create link '%s': %m", dst_name);
        } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                (void)unlinkat(dst_dfd, dst_name, 0);
                if (mknodat(dst_dfd, dst_name, st.st_mode, st.st_rdev) < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", dst_name);
        } else
                return 0; /* sockets mean nothing away from their process */
        copy_attrs(dst_dfd, dst_name, &st, flags);
        return 0;
}

static int copy_tree(int src_dfd, int dst_dfd, unsigned flags, unsigned depth)
{
        int dup_fd = fcntl(src_dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (dup_fd < 0)
                return negative_errno();
        d = fdopendir(dup_fd);
        if (!d) {
                safe_close(dup_fd);
                return negative_errno();
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = copy_one(src_dfd, de->d_name, dst_dfd, de->d_name, flags, depth);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int fscopy_dir_contents(int src_dfd, int dst_dfd, unsigned flags)
{
        return copy_tree(src_dfd, dst_dfd, flags, 0);
}

int fscopy_entry(int src_dfd, const char *name, int dst_dfd, const char *dst_name, unsigned flags)
{
        return copy_one(src_dfd, name, dst_dfd, dst_name, flags, 0);
}
