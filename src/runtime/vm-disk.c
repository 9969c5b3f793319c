/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-disk.c - the ext4 disks of a VM-isolated container (docs/agent.md, "Disks"): made from a
 * directory with mke2fs -d (e2fsprogs; nothing is mounted on the host), or copied sparsely
 * from the image's disk. The guest kernel has ext4 built in, so the disks need no module.
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "error.h"
#include "util.h"
#include "vm-isolation.h"

/* nftw() passes no context: the sizes it adds up live here (create is single-threaded). */
static uint64_t tree_bytes;
static uint64_t tree_inodes;

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        tree_bytes += (uint64_t)st->st_blocks * 512 + 4096;
        tree_inodes++;
        return 0;
}

/* Run argv, its stderr kept for the error message; 0 when it exits 0. */
static int run_tool(char *const *argv, const char *what)
{
        char err[512] = "";
        int p[2], st;
        pid_t pid;
        ssize_t k;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(p[1], 2) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                dprintf(2, "cannot execute %s: %m", argv[0]);
                _exit(127);
        }
        safe_close(p[1]);
        k = read(p[0], err, sizeof(err) - 1);
        safe_close(p[0]);
        err[k > 0 ? k : 0] = 0;
        err[strcspn(err, "\n")] = 0;
        if (waitpid(pid, &st, 0) < 0)
                return negative_errno();
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return err_set(-EIO, "%s failed: %s", what, err[0] ? err : "no message");
        return 0;
}

/*
 * An ext4 image of dir at image (sparse). The size leaves room to write: the content
 * twice over plus 1 GiB, paid for only when the guest writes it. No journal: the disk of
 * a container lives as long as the container, and its VM powers off cleanly.
 */
int vmiso_make_ext4(const char *dir, const char *image)
{
        char size[32], inodes[32];
        uint64_t mib;

        tree_bytes = tree_inodes = 0;
        if (nftw(dir, count_entry, 64, FTW_PHYS) < 0)
                return err_set(negative_errno(), "cannot read '%s': %m", dir);
        mib = tree_bytes * 2 / (1 << 20) + 1024;
        snprintf(size, sizeof(size), "%" PRIu64 "M", mib);
        snprintf(inodes, sizeof(inodes), "%" PRIu64, tree_inodes * 2 + 65536);
        char *argv[] = {"mke2fs",
                        "-q",
                        "-F",
                        "-t",
                        "ext4",
                        "-O",
                        "^has_journal",
                        "-m",
                        "0",
                        "-N",
                        inodes,
                        "-E",
                        "lazy_itable_init=1",
                        "-d",
                        (char *)dir,
                        (char *)image,
                        size,
                        NULL};
        return run_tool(argv, "mke2fs");
}

/* Copy the data extents of in to out (a sparse copy: holes stay holes). */
static int copy_sparse(int in, int out)
{
        struct stat st;
        off_t pos = 0;

        if (fstat(in, &st) < 0)
                return negative_errno();
        while (pos < st.st_size) {
                off_t data = lseek(in, pos, SEEK_DATA), hole;
                if (data < 0)
                        break; /* ENXIO: only a hole is left */
                hole = lseek(in, data, SEEK_HOLE);
                if (hole < 0)
                        return negative_errno();
                for (off_t o = data; o < hole;) {
                        loff_t a = o, b = o;
                        ssize_t k = copy_file_range(in, &a, out, &b, (size_t)(hole - o), 0);
                        if (k <= 0)
                                return k < 0 ? negative_errno() : -EIO;
                        o += k;
                }
                pos = hole;
        }
        return ftruncate(out, st.st_size) < 0 ? negative_errno() : 0;
}

/*
 * The container's root disk at image: a copy of base (io.hull.isolation.rootfs-base, the
 * image's root disk, which hull's engine names by image id), made from rootfs first when it
 * does not exist yet; without a base, mke2fs of rootfs. The base appears by rename, whole,
 * so that concurrent creates never see half of one.
 */
int vmiso_disk_from_base(const char *rootfs, const char *base, const char *image)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        int r;

        if (!base)
                return vmiso_make_ext4(rootfs, image);
        if (access(base, F_OK) < 0) {
                _cleanup_free_ char *dir = strdup(base),
                                    *tmp = strdup_printf("%s.tmp-%d", base, (int)getpid());
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (!tmp || !slash)
                        return -ENOMEM;
                *slash = 0;
                if ((r = mkdir_p(dir, 0700)) < 0)
                        return err_set(r, "io.hull.isolation.rootfs-base: cannot create '%s': %s", dir,
                                       strerror(-r));
                if ((r = vmiso_make_ext4(rootfs, tmp)) < 0) {
                        unlink(tmp);
                        return r;
                }
                if (rename(tmp, base) < 0) {
                        r = negative_errno();
                        unlink(tmp);
                        return err_set(r, "io.hull.isolation.rootfs-base: cannot create '%s': %m", base);
                }
        }
        in = open(base, O_RDONLY | O_CLOEXEC);
        out = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (in < 0 || out < 0)
                return err_set(negative_errno(), "cannot copy the root disk '%s' to '%s': %m", base, image);
        r = copy_sparse(in, out);
        if (r < 0)
                return err_set(r, "cannot copy the root disk '%s' to '%s': %s", base, image, strerror(-r));
        return 0;
}
