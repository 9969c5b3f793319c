/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.c - container statistics and process lists; see stats.h.
 *
 * The cgroup comes from hull-runtime's state of the container (state.h): the same paths
 * the runtime created, on whichever cgroup version the host runs. Network counters come
 * from /proc/<init pid>/net/dev, which shows the container's network namespace.
 *
 * A VM-isolated container (docs/agent.md, "Resources"): its cgroup holds the shim and the VMM,
 * its network counters are those of the namespace its monitor holds, and its processes are the
 * guest's, listed by the agent (vmiso_ps()).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include <time.h>

#include "cgroup.h"
#include "chase.h"
#include "error.h"
#include "json.h"
#include "state.h"
#include "stats.h"
#include "util.h"
#include "vm-isolation.h"

static uint64_t get_u64(struct json_object *o, const char *a, const char *b, const char *c)
{
        struct json_object *v = o;
        const char *path[] = {a, b, c};
        for (size_t i = 0; i < ELEMENTSOF(path) && path[i] && v; i++)
                if (!json_object_object_get_ex(v, path[i], &v))
                        return 0;
        return v ? (uint64_t)json_object_get_uint64(v) : 0;
}

static void blkio(struct json_object *data, uint64_t *rd, uint64_t *wr)
{
        struct json_object *a;

        *rd = *wr = 0;
        if (!json_object_object_get_ex(data, "blkio", &a) ||
            !json_object_object_get_ex(a, "ioServiceBytesRecursive", &a) ||
            !json_object_is_type(a, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i), *op, *v;
                const char *o;
                if (!json_object_object_get_ex(e, "op", &op) || !json_object_object_get_ex(e, "value", &v))
                        continue;
                o = json_object_get_string(op);
                if (strcasecmp(o, "read") == 0)
                        *rd += (uint64_t)json_object_get_uint64(v);
                else if (strcasecmp(o, "write") == 0)
                        *wr += (uint64_t)json_object_get_uint64(v);
        }
}

static uint64_t host_memory(void)
{
        _cleanup_free_ char *m = NULL;
        const char *p;
        if (read_full_file("/proc/meminfo", 1 << 16, &m, NULL) < 0 || !(p = strstr(m, "MemTotal:")))
                return 0;
        return strtoull(p + strlen("MemTotal:"), NULL, 10) * 1024;
}

/* rx and tx bytes of every interface but lo, from the text of /proc/net/dev. */
static void net_dev_parse(char *data, uint64_t *rx, uint64_t *tx)
{
        char *line, *save = NULL;

        *rx = *tx = 0;
        for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[64];
                unsigned long long v[16];
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = 0;
                if (sscanf(line, " %63s", name) != 1 || streq(name, "lo"))
                        continue;
                /* rx: bytes packets errs drop fifo frame compressed multicast; then tx: bytes ... */
                if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9) {
                        *rx += v[0];
                        *tx += v[8];
                }
        }
}

static void net_dev(pid_t pid, uint64_t *rx, uint64_t *tx)
{
        _cleanup_free_ char *path = strdup_printf("/proc/%d/net/dev", (int)pid), *data = NULL;

        *rx = *tx = 0;
        if (!path || read_full_file(path, 1 << 20, &data, NULL) < 0)
                return;
        net_dev_parse(data, rx, tx);
}

/*
 * The same for the network namespace at path, which no process of the host is in: that of a
 * VM-isolated container, whose shim stays in the host's namespace while the guest's NICs are
 * joined to the namespace's interfaces (their counters are the guest's traffic). /proc/self/net
 * shows the namespace of the task that reads it, so a child enters the namespace and reads.
 */
static void net_dev_netns(const char *path, uint64_t *rx, uint64_t *tx)
{
        _cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC), rd = -EBADF;
        _cleanup_free_ char *data = NULL;
        int p[2];
        pid_t pid;

        *rx = *tx = 0;
        if (ns < 0 || pipe2(p, O_CLOEXEC) < 0)
                return;
        pid = fork();
        if (pid == 0) {
                /* No allocation after fork: the caller may have threads (hulld). */
                static char d[1 << 16];
                ssize_t k;
                int fd;
                if (setns(ns, CLONE_NEWNET) < 0)
                        _exit(1);
                fd = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        _exit(1);
                while ((k = read(fd, d, sizeof(d))) > 0)
                        if (write_all(p[1], d, (size_t)k) < 0)
                                _exit(1);
                _exit(k < 0);
        }
        safe_close(p[1]);
        rd = p[0];
        if (pid < 0)
                return;
        if (read_full_fd(rd, 1 << 20, &data, NULL) >= 0)
                net_dev_parse(data, rx, tx);
        waitpid(pid, NULL, 0);
}

/*
 * A VM-isolated container's namespace: its monitor holds it (an fd it got from the engine and
 * hands to hull-runtime, cmd/hull-monitor/runtime.c); found among the monitor's fds as the one
 * network namespace there.
 */
static void net_dev_monitor_netns(pid_t monitor, uint64_t *rx, uint64_t *tx)
{
        _cleanup_free_ char *dir = strdup_printf("/proc/%d/fd", (int)monitor);
        DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        *rx = *tx = 0;
        while (d && (de = readdir(d))) {
                char link[64], path[96];
                ssize_t n;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                n = readlink(path, link, sizeof(link) - 1);
                if (n <= 0)
                        continue;
                link[n] = 0;
                if (startswith(link, "net:[")) {
                        net_dev_netns(path, rx, tx);
                        break;
                }
        }
        if (d)
                closedir(d);
}

/* hull-runtime's record of a running container, which names its cgroup. */
static int running_state(struct engine *e, struct workload *w, struct container_state **ret)
{
        _cleanup_state_ struct container_state *st = NULL;
        int r;

        if (w->state != WORKLOAD_RUNNING && w->state != WORKLOAD_PAUSED)
                return err_set(-EINVAL, "container %s is not running", w->name);
        r = state_open(e->runtime_root, w->id, false, &st);
        if (r < 0)
                return r;
        if (!st->cgroup)
                return err_set(-ENOENT, "container %s has no cgroup", w->name);
        *ret = TAKE_PTR(st);
        return 0;
}

int ctr_stats_read(struct engine *e, struct workload *w, struct ctr_stats *ret)
{
        _cleanup_state_ struct container_state *st = NULL;
        _cleanup_json_ struct json_object *data = NULL;
        struct json_object *raw;
        struct timespec ts;
        struct ctr_stats s = {};
        uint64_t inactive = 0;
        int r;

        r = running_state(e, w, &st);
        if (r < 0)
                return r;
        r = cgroup_stats(st->cgroup, &data);
        if (r < 0)
                return r;
        s.cpu_ns = get_u64(data, "cpu", "usage", "total");
        s.mem_usage = get_u64(data, "memory", "usage", "usage");
        s.mem_limit = get_u64(data, "memory", "usage", "limit");
        /* Docker shows usage without the page cache the kernel can drop at once. */
        if (json_object_object_get_ex(data, "memory", &raw) && json_object_object_get_ex(raw, "raw", &raw)) {
                inactive = get_u64(raw, "total_inactive_file", NULL, NULL)
                                   ?: get_u64(raw, "inactive_file", NULL, NULL);
                if (inactive < s.mem_usage)
                        s.mem_usage -= inactive;
        }
        {
                uint64_t host = host_memory();
                /* v1 reports "no limit" as a huge page-aligned number. */
                if (host && (s.mem_limit == 0 || s.mem_limit > host))
                        s.mem_limit = host;
        }
        s.pids = get_u64(data, "pids", "current", NULL);
        s.pids_limit = get_u64(data, "pids", "limit", NULL);
        blkio(data, &s.blk_read, &s.blk_write);
        if (vmiso_state(st)) {
                if (proc_alive((pid_t)w->monitor_pid, (uint64_t)w->monitor_start))
                        net_dev_monitor_netns((pid_t)w->monitor_pid, &s.net_rx, &s.net_tx);
        } else
                net_dev((pid_t)w->pid, &s.net_rx, &s.net_tx);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s.at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        *ret = s;
        return 0;
}

double ctr_stats_cpu_percent(const struct ctr_stats *prev, const struct ctr_stats *cur)
{
        int64_t dt = cur->at - prev->at;
        if (dt <= 0 || cur->cpu_ns < prev->cpu_ns)
                return 0;
        return (double)(cur->cpu_ns - prev->cpu_ns) * 100.0 / (double)dt;
}

void top_entries_free(struct top_entry *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(l[i].args);
        free(l);
}

/* The user name of uid in the container's /etc/passwd (through its root, confined), else the number. */
/* The name of id in file (/etc/passwd or /etc/group: name:x:id:...) of the root, else the number. */
static void id_name(int root_fd, const char *file, unsigned id, char out[64])
{
        _cleanup_close_ int fd = root_fd >= 0 ? chase_open(root_fd, file, O_RDONLY | O_CLOEXEC, 0) : -EBADF;
        _cleanup_free_ char *data = NULL;

        snprintf(out, 64, "%u", id);
        if (fd < 0 || read_full_fd(fd, 4 << 20, &data, NULL) < 0)
                return;
        for (char *l = data, *e; l && *l; l = e) {
                char name[64];
                unsigned u;
                e = strchr(l, '\n');
                if (e)
                        *e++ = 0;
                if (sscanf(l, "%63[^:]:%*[^:]:%u:", name, &u) == 2 && u == id) {
                        snprintf(out, 64, "%s", name);
                        return;
                }
        }
}

/* Number index (0-based; -1: the last) of a "Key:\t1\t2" line of /proc/PID/status, or fallback. */
static unsigned long status_number(const char *status, const char *key, int index, unsigned long fallback)
{
        const char *l = status ? strstr(status, key) : NULL;
        unsigned long v = fallback;
        char *end;

        if (!l)
                return fallback;
        l += strlen(key);
        for (int i = 0;; i++) {
                unsigned long x = strtoul(l, &end, 10);
                if (end == l)
                        return index < 0 ? v : fallback;
                if (i == index)
                        return x;
                v = x;
                l = end;
                if (*l == '\n')
                        return index < 0 ? v : fallback;
        }
}

/* "pts/N" of a tty_nr (major 136 + minor bits), or "?". */
static void tty_name(unsigned tty, char out[16])
{
        if (tty)
                snprintf(out, 16, "pts/%u", (tty & 0xff) | ((tty >> 12) & 0xfff00));
        else
                snprintf(out, 16, "?");
}

static int proc_entry(pid_t pid, int root_fd, int host_root_fd, double uptime, long hz, struct top_entry *t)
{
        _cleanup_free_ char *p = NULL, *stat = NULL, *status = NULL, *cmd = NULL;
        unsigned long long utime, stime, start, vsize;
        int ppid, tty, nice;
        unsigned uid, gid;
        size_t n = 0;
        const char *lp, *rp;
        char state;

        *t = (struct top_entry){.pid = pid, .hpid = pid};
        if (!(p = strdup_printf("/proc/%d/stat", (int)pid)) || read_full_file(p, 4096, &stat, NULL) < 0)
                return -ESRCH;
        lp = strchr(stat, '(');
        rp = strrchr(stat, ')');
        if (!lp || !rp || rp < lp ||
            sscanf(rp + 2,
                   "%c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %d %*d %*d %llu %llu",
                   &state, &ppid, &tty, &utime, &stime, &nice, &start, &vsize) != 8)
                return -EIO;
        t->hppid = ppid;
        t->state = state;
        t->nice = nice;
        t->vsz_kib = vsize / 1024;
        snprintf(t->comm, sizeof(t->comm), "%.*s", (int)(rp - lp - 1), lp + 1);
        tty_name((unsigned)tty, t->tty);
        t->cpu_s = (utime + stime) / (unsigned long long)hz;
        t->elapsed_s =
                uptime > (double)start / (double)hz ? (uint64_t)(uptime - (double)start / (double)hz) : 0;
        t->cpu_percent =
                t->elapsed_s ? (double)(utime + stime) / (double)hz * 100.0 / (double)t->elapsed_s : 0;
        free(p);
        if ((p = strdup_printf("/proc/%d/status", (int)pid)))
                (void)read_full_file(p, 1 << 16, &status, NULL);
        /* NSpid lists the pid in each namespace from the host's down: the last is the container's. */
        t->pid = (pid_t)status_number(status, "\nNSpid:", -1, (unsigned long)pid);
        /* The effective ids (Uid: real, effective, saved, fs), named as ps would in the container
         * and on the host. */
        uid = (unsigned)status_number(status, "\nUid:", 1, 0);
        gid = (unsigned)status_number(status, "\nGid:", 1, 0);
        id_name(root_fd, "/etc/passwd", uid, t->user);
        id_name(root_fd, "/etc/group", gid, t->group);
        id_name(host_root_fd, "/etc/passwd", uid, t->huser);
        id_name(host_root_fd, "/etc/group", gid, t->hgroup);
        free(p);
        if ((p = strdup_printf("/proc/%d/cmdline", (int)pid)) && read_full_file(p, 1 << 16, &cmd, &n) >= 0 &&
            n > 0) {
                for (size_t i = 0; i + 1 < n; i++)
                        if (cmd[i] == 0)
                                cmd[i] = ' ';
                t->args = TAKE_PTR(cmd);
        } else
                t->args = strdup_printf("[%s]", t->comm);
        return t->args ? 0 : -ENOMEM;
}

/*
 * A VM-isolated container: its processes run under the guest's kernel, listed by its agent
 * (vm-ps.c); they have no host pid (hpid 0). Names come from the container's root on the host
 * (the bundle's rootfs the guest's disk was made from), else the numbers.
 */
static int top_guest(struct workload *w, const struct container_state *st, struct top_entry **ret,
                     size_t *ret_n)
{
        _cleanup_free_ struct agent_proc *l = NULL;
        _cleanup_close_ int root_fd =
                st->rootfs ? open(st->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -EBADF;
        struct top_entry *t;
        size_t n = 0;
        int r;

        if (w->state == WORKLOAD_PAUSED)
                return err_set(-EINVAL, "container %s is paused: its VM cannot list its processes", w->name);
        r = vmiso_ps(st, &l, &n);
        if (r < 0)
                return r;
        t = calloc(n ? n : 1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct agent_proc *p = &l[i];
                t[i] = (struct top_entry){
                        .pid = (pid_t)p->pid,
                        .state = p->state,
                        .nice = p->nice,
                        .cpu_s = p->cpu_ms / 1000,
                        .elapsed_s = p->elapsed_ms / 1000,
                        .vsz_kib = p->vsz_kib,
                };
                for (size_t j = 0; j < n; j++)
                        if (l[j].pid == p->ppid)
                                t[i].ppid = (pid_t)p->ppid;
                t[i].cpu_percent = p->elapsed_ms ? (double)p->cpu_ms * 100.0 / (double)p->elapsed_ms : 0;
                tty_name(p->tty, t[i].tty);
                snprintf(t[i].comm, sizeof(t[i].comm), "%s", p->comm);
                id_name(root_fd, "/etc/passwd", p->uid, t[i].user);
                id_name(root_fd, "/etc/group", p->gid, t[i].group);
                snprintf(t[i].huser, sizeof(t[i].huser), "%s", t[i].user);
                snprintf(t[i].hgroup, sizeof(t[i].hgroup), "%s", t[i].group);
                t[i].args = strdup(p->args);
                if (!t[i].args) {
                        top_entries_free(t, i);
                        return -ENOMEM;
                }
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

int ctr_top(struct engine *e, struct workload *w, struct top_entry **ret, size_t *ret_n)
{
        _cleanup_state_ struct container_state *st = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *up = NULL, *root = NULL;
        _cleanup_close_ int root_fd = -EBADF, host_root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct top_entry *l;
        size_t n = 0, k = 0;
        double uptime = 0;
        long hz = sysconf(_SC_CLK_TCK);
        int r;

        r = running_state(e, w, &st);
        if (r < 0)
                return r;
        if (vmiso_state(st))
                return top_guest(w, st, ret, ret_n);
        r = cgroup_pids(st->cgroup, &pids, &n);
        if (r < 0)
                return r;
        if (read_full_file("/proc/uptime", 128, &up, NULL) >= 0)
                uptime = strtod(up, NULL);
        root = strdup_printf("/proc/%d/root", (int)w->pid);
        if (root && proc_alive((pid_t)w->pid, (uint64_t)w->pid_start))
                root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        l = calloc(n ? n : 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = proc_entry(pids[i], root_fd, host_root_fd, uptime, hz > 0 ? hz : 100, &l[k]);
                if (r == -ENOMEM) {
                        top_entries_free(l, k);
                        return r;
                }
                if (r >= 0)
                        k++;
        }
        /* A parent in the container by its pid there; one outside it (the runtime, the
         * monitor) is 0, as ps shows inside a pid namespace. */
        for (size_t i = 0; i < k; i++) {
                l[i].ppid = 0;
                for (size_t j = 0; j < k; j++)
                        if (l[j].hpid == l[i].hppid)
                                l[i].ppid = l[j].pid;
        }
        *ret = l;
        *ret_n = k;
        return 0;
}
