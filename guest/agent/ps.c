/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ps.c - PS: the guest's processes for `hull top` and `hull-runtime ps` (docs/agent.md,
 * "PROCS").
 *
 * Read from the guest's /proc, like ps(1) does: stat (ppid, state, tty, times, nice, start,
 * vsize), status (effective uid and gid), cmdline. Listed are the container's processes: the
 * agent itself (pid 1) and kernel threads (pid 2 and its children) are left out. Times are in
 * milliseconds, so that the host needs no knowledge of the guest's clock tick. The reply is one
 * frame: processes that would make it exceed AGENT_MAX_FROM_AGENT are left out (the host
 * lists what came), and arguments are cut to fit AGENT_PROC_MAX.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-proto.h"
#include "agent.h"

/* Read a small /proc file whole; returns the length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n, total = 0;

        if (fd < 0)
                return -1;
        while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
                total += n;
        close(fd);
        buf[total] = 0;
        return total;
}

static unsigned long status_id(const char *status, const char *key)
{
        const char *l = strstr(status, key);
        unsigned long real, eff;

        /* "Uid:\treal\teffective\tsaved\tfs": ps shows the effective one. */
        if (!l || sscanf(l + strlen(key), "%lu %lu", &real, &eff) != 2)
                return 0;
        return eff;
}

/* One process into b; 0 when it was added, 1 when it is not listed, -errno. */
static int one(struct agent_buf *b, unsigned pid, double uptime, long hz)
{
        char path[64], stat[1024], status[4096], cmd[AGENT_PROC_MAX - 512];
        unsigned long long utime, stime, start, vsize;
        struct agent_proc p = {.pid = pid};
        int ppid, tty, nice;
        ssize_t n;
        char *lp, *rp;

        snprintf(path, sizeof(path), "/proc/%u/stat", pid);
        if (read_small(path, stat, sizeof(stat)) <= 0)
                return 1;
        lp = strchr(stat, '(');
        rp = strrchr(stat, ')');
        if (!lp || !rp || rp < lp ||
            sscanf(rp + 2,
                   "%c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %d %*d %*d %llu %llu",
                   &p.state, &ppid, &tty, &utime, &stime, &nice, &start, &vsize) != 8)
                return 1;
        if (pid <= 2 || ppid == 2)
                return 1;
        p.ppid = (uint32_t)ppid;
        p.tty = (uint32_t)tty;
        p.nice = nice;
        p.vsz_kib = vsize / 1024;
        p.cpu_ms = (utime + stime) * 1000 / (unsigned long long)hz;
        {
                double started = (double)start / (double)hz;
                p.elapsed_ms = uptime > started ? (uint64_t)((uptime - started) * 1000) : 0;
        }
        snprintf(p.comm, sizeof(p.comm), "%.*s", (int)(rp - lp - 1), lp + 1);
        snprintf(path, sizeof(path), "/proc/%u/status", pid);
        if (read_small(path, status, sizeof(status)) > 0) {
                p.uid = (uint32_t)status_id(status, "\nUid:");
                p.gid = (uint32_t)status_id(status, "\nGid:");
        }
        snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
        n = read_small(path, cmd, sizeof(cmd));
        while (n > 0 && cmd[n - 1] == 0)
                n--;
        if (n <= 0)
                n = snprintf(cmd, sizeof(cmd), "[%s]", p.comm);
        return agent_proc_put(b, &p, cmd, (size_t)n);
}

int agent_ps(struct agent_buf *ret)
{
        struct agent_buf b = {};
        char up[64];
        double uptime = 0;
        long hz = sysconf(_SC_CLK_TCK);
        DIR *d = opendir("/proc");
        struct dirent *e;
        int r = 0;

        if (!d)
                return -errno;
        if (hz <= 0)
                hz = 100;
        if (read_small("/proc/uptime", up, sizeof(up)) > 0)
                uptime = strtod(up, NULL);
        while ((e = readdir(d))) {
                char *end;
                unsigned long pid = strtoul(e->d_name, &end, 10);
                size_t before = b.len;

                if (*end || end == e->d_name || pid > UINT32_MAX)
                        continue;
                r = one(&b, (unsigned)pid, uptime, hz);
                if (r < 0)
                        break;
                /* One frame: a process that does not fit is left out, and so are the rest. */
                if (b.len > AGENT_MAX_FROM_AGENT) {
                        b.len = before;
                        r = 0;
                        break;
                }
                r = 0;
        }
        closedir(d);
        if (r < 0) {
                agent_buf_free(&b);
                return r;
        }
        *ret = b;
        return 0;
}
