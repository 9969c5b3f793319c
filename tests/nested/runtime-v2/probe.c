/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c - what the runtime-v2 nested payload runs inside its containers, where busybox cannot
 * tell one errno from another or does not touch memory on purpose. Built statically by
 * tests/nested/run and copied into the container's rootfs as /probe.
 *
 *   probe open PATH             open PATH for reading, then for writing: "r:ok w:EPERM"
 *   probe mknod PATH MAJ MIN    mknod a character device: "mknod:ok" or "mknod:EPERM"
 *   probe alloc MIB             allocate MIB MiB and write every page; "alloc:ok" if it survives
 *   probe fork N                fork N children that sleep 1 s; "forked:K" then the errno of the
 *                               first failed fork ("forked:3 EAGAIN"); exits 1 when K < N
 *   probe spin MS               burn CPU for MS milliseconds of wall time
 *   probe time CMD [ARG...]     run CMD, print "time:<ms> ms exit <status>" (CLOCK_MONOTONIC;
 *                               busybox date has no sub-second clock)
 *
 * Errors name the errno (strerrorname_np) so that the payload compares words, not messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e)
{
        const char *n = strerrorname_np(e);
        return n ? n : "E?";
}

static int cmd_open(const char *path)
{
        static const struct {
                char mode;
                int flags;
        } modes[] = {{'r', O_RDONLY}, {'w', O_WRONLY}};

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                /* O_NONBLOCK: a tty or a fifo must not make the probe hang. */
                int fd = open(path, modes[i].flags | O_NONBLOCK | O_CLOEXEC);
                printf("%s%c:%s", i ? " " : "", modes[i].mode, fd >= 0 ? "ok" : err_name(errno));
                if (fd >= 0)
                        close(fd);
        }
        printf("\n");
        return 0;
}

static int cmd_mknod(const char *path, const char *maj, const char *min)
{
        dev_t dev = makedev((unsigned)strtoul(maj, NULL, 10), (unsigned)strtoul(min, NULL, 10));

        if (mknod(path, S_IFCHR | 0600, dev) < 0) {
                printf("mknod:%s\n", err_name(errno));
                return 1;
        }
        printf("mknod:ok\n");
        return 0;
}

static int cmd_alloc(const char *mib)
{
        size_t len = (size_t)strtoul(mib, NULL, 10) << 20;
        long page = sysconf(_SC_PAGESIZE);
        volatile char *p = malloc(len);

        if (!p) {
                printf("alloc:ENOMEM\n");
                return 1;
        }
        /* Touch every page: an untouched allocation is not charged to the memory cgroup. */
        for (size_t off = 0; off < len; off += (size_t)page)
                p[off] = 1;
        printf("alloc:ok\n");
        return 0;
}

static int cmd_fork(const char *count)
{
        int n = atoi(count), done = 0, first_err = 0;

        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid == 0) {
                        sleep(1);
                        _exit(0);
                }
                if (pid < 0) {
                        if (!first_err)
                                first_err = errno;
                        continue;
                }
                done++;
        }
        printf("forked:%d%s%s\n", done, first_err ? " " : "", first_err ? err_name(first_err) : "");
        fflush(stdout);
        while (wait(NULL) > 0)
                ;
        return done == n ? 0 : 1;
}

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int cmd_spin(const char *ms)
{
        long long end = now_ms() + atoll(ms);
        volatile unsigned long x = 0;

        while (now_ms() < end)
                for (int i = 0; i < 100000; i++)
                        x += (unsigned long)i;
        return 0;
}

static int cmd_time(char **argv)
{
        struct timespec a, b;
        int status = 0;
        pid_t pid;

        clock_gettime(CLOCK_MONOTONIC, &a);
        pid = fork();
        if (pid < 0)
                return 1;
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("time:%.2f ms exit %d\n",
               (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6,
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 3 && strcmp(argv[1], "open") == 0)
                return cmd_open(argv[2]);
        if (argc == 5 && strcmp(argv[1], "mknod") == 0)
                return cmd_mknod(argv[2], argv[3], argv[4]);
        if (argc == 3 && strcmp(argv[1], "alloc") == 0)
                return cmd_alloc(argv[2]);
        if (argc == 3 && strcmp(argv[1], "fork") == 0)
                return cmd_fork(argv[2]);
        if (argc == 3 && strcmp(argv[1], "spin") == 0)
                return cmd_spin(argv[2]);
        if (argc >= 3 && strcmp(argv[1], "time") == 0)
                return cmd_time(argv + 2);
        fprintf(stderr, "usage: probe open PATH | mknod PATH MAJ MIN | alloc MIB | fork N | spin MS | time "
                        "CMD...\n");
        return 2;
}
