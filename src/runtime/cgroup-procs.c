/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-procs.c - the processes of a container cgroup: joining, listing, freezing, signalling,
 * and the OOM notification fd.
 *
 * Processes are listed, frozen and signalled through one hierarchy (cgroup_hier_procs(): the
 * freezer on v1, the only one on v2); joining writes every hierarchy's cgroup.procs. Listing
 * walks the container's own sub-cgroups too (a container may create them, e.g. systemd inside).
 * Such a container's cgroup, once it hands controllers down, takes no process of its own on
 * cgroup2, so exec joins the cgroup of the container's init below it instead.
 *
 * kill_all freezes first, so that no process can fork a child that the pid list would miss,
 * signals every pid and thaws; for SIGKILL on cgroup2, cgroup.kill (Linux 5.14) does all of it
 * in the kernel, for the whole subtree at once.
 *
 * OOM: v1 registers an eventfd on memory.oom_control through cgroup.event_control; v2 watches
 * memory.events with inotify (kernfs raises IN_MODIFY when a counter changes). Either way the
 * count reported is the difference of the "oom_kill" counter since cgroup_oom_fd() or the last
 * cgroup_oom_read(), so that the v1 eventfd's other wake-ups (rmdir of the cgroup, an OOM that
 * killed nothing) are not counted as kills.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/sched.h>

#include "cgroup-internal.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* ------------------------------------------------------------------ processes */

/* An absolute path without empty, "." or ".." components. */
static bool path_is_plain(const char *p)
{
        if (*p != '/')
                return false;
        for (const char *c = p + 1;;) {
                size_t l = strcspn(c, "/");
                if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!c[l])
                        return true;
                c += l + 1;
        }
}

int cgroup_v2_init_path(const char *proc_pid_cgroup, const char *path, char **ret)
{
        for (const char *p = proc_pid_cgroup; p && *p;) {
                const char *nl = strchrnul(p, '\n'), *rest;
                _cleanup_free_ char *line = strndup(p, (size_t)(nl - p));

                p = *nl ? nl + 1 : nl;
                if (!line)
                        return -ENOMEM;
                if (!(rest = startswith(line, "0::")))
                        continue;
                /* Taken only strictly below the container's own cgroup: the container chose it. */
                if (!path_is_plain(rest))
                        return -EINVAL;
                rest = startswith(rest, path);
                if (!rest || rest[0] != '/')
                        return -ENOENT;
                *ret = strdup(rest + 1);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

/*
 * cgroup.procs of h for a process that joins a running container. A cgroup2 cgroup that hands
 * controllers down (cgroup.subtree_control not empty: systemd or a nested runtime inside the
 * container) refuses processes of its own, EBUSY ("no internal processes"), so the process goes
 * where the container's init is, as runc does. One read of cgroup.subtree_control otherwise.
 */
static int open_procs_exec(const struct cgroup_hier *h, pid_t init_pid)
{
        _cleanup_free_ char *subtree = NULL, *self = NULL, *sub = NULL;
        _cleanup_close_ int dfd = -EBADF;
        char p[64];

        if (!h->v2 || init_pid <= 0 || cg_read(h->dfd, "cgroup.subtree_control", &subtree) < 0 ||
            !subtree[strspn(subtree, " \n")])
                return -ENOENT;
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)init_pid);
        if (read_full_file(p, 1 << 20, &self, NULL) < 0 || cgroup_v2_init_path(self, h->path, &sub) < 0)
                return -ENOENT;
        log_debug("cgroup: %s%s hands controllers down; joining %s below it, where process %d is", h->mount,
                  h->path, sub, (int)init_pid);
        dfd = openat(h->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();
        int fd = openat(dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

/* init_pid 0: for the container's own process, which writes "0" (see cgroup_enter_fds()). */
static int enter_fds(const struct cgroup *cg, pid_t init_pid, bool skip_v2, int **ret, size_t *ret_n)
{
        _cleanup_free_ int *fds = calloc(cg->n_hier ? cg->n_hier : 1, sizeof(int));
        size_t n = 0;

        if (!fds)
                return -ENOMEM;
        for (size_t i = 0; i < cg->n_hier; i++) {
                const char *file = init_pid == 0 && !cg->hier[i].v2 ? "tasks" : "cgroup.procs";
                if (cg->hier[i].dfd < 0 || (skip_v2 && cg->hier[i].v2))
                        continue;
                int fd = open_procs_exec(&cg->hier[i], init_pid);
                if (fd < 0)
                        fd = openat(cg->hier[i].dfd, file, O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        int r = negative_errno();
                        for (size_t k = 0; k < n; k++)
                                safe_close(fds[k]);
                        return err_set(r, "cannot open %s%s/%s: %s", cg->hier[i].mount, cg->hier[i].path, file,
                                       strerror(-r));
                }
                fds[n++] = fd;
        }
        *ret = TAKE_PTR(fds);
        *ret_n = n;
        return 0;
}

int cgroup_enter_fds(const struct cgroup *cg, bool skip_v2, int **ret, size_t *ret_n)
{
        return enter_fds(cg, 0, skip_v2, ret, ret_n);
}

int cgroup_enter_fds_exec(const struct cgroup *cg, pid_t init_pid, int **ret, size_t *ret_n)
{
        return enter_fds(cg, init_pid, false, ret, ret_n);
}

pid_t cgroup_clone(const struct cgroup *cg, bool into, uint64_t flags, int **ret_fds, size_t *ret_n)
{
        int cgfd = into ? cgroup_clone_fd(cg) : -EOPNOTSUPP;
        pid_t pid = -1;
        int r;

        r = cgroup_enter_fds(cg, cgfd >= 0, ret_fds, ret_n);
        if (r < 0)
                return r;
        if (cgfd >= 0) {
                struct clone_args ca = {
                        .flags = flags | CLONE_INTO_CGROUP,
                        .exit_signal = SIGCHLD,
                        .cgroup = (uint64_t)cgfd,
                };
                pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
                if (pid < 0 && (errno == ENOSYS || errno == E2BIG)) {
                        /* No clone3: the child joins the cgroup2 hierarchy through an fd too. */
                        for (size_t i = 0; i < *ret_n; i++)
                                safe_close((*ret_fds)[i]);
                        free(*ret_fds);
                        *ret_fds = NULL;
                        *ret_n = 0;
                        r = cgroup_enter_fds(cg, false, ret_fds, ret_n);
                        if (r < 0)
                                return r;
                        cgfd = -EOPNOTSUPP;
                }
        }
        if (cgfd < 0)
                pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
        return pid < 0 ? err_set(negative_errno(), "%m") : pid;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid)
{
        char buf[16];

        snprintf(buf, sizeof(buf), "%d", (int)pid);
        for (size_t i = 0; i < cg->n_hier; i++) {
                const struct cgroup_hier *h = &cg->hier[i];
                if (h->dfd < 0)
                        continue;
                int r = cg_write(h->dfd, "cgroup.procs", buf);
                if (r < 0)
                        return err_set(r, "cannot move process %d into %s%s: %s", (int)pid, h->mount, h->path,
                                       strerror(-r));
        }
        return 0;
}

static int pids_collect(int dfd, pid_t **pids, size_t *n, unsigned depth)
{
        _cleanup_free_ char *s = NULL;
        int r;

        if (depth > 64)
                return -ELOOP;
        r = cg_read(dfd, "cgroup.procs", &s);
        if (r < 0)
                return r;
        for (char *p = s, *nl; *p; p = nl + (*nl != 0)) {
                int pid;
                nl = strchrnul(p, '\n');
                char c = *nl;
                *nl = 0;
                if (*p && parse_int(p, &pid) >= 0) {
                        pid_t *a = realloc(*pids, sizeof(pid_t) * (*n + 1));
                        if (!a)
                                return -ENOMEM;
                        *pids = a;
                        a[(*n)++] = pid;
                }
                *nl = c;
        }
        /* Nested cgroups the container made for itself. */
        int d2 = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d2 < 0)
                return negative_errno();
        DIR *d = fdopendir(d2);
        if (!d) {
                safe_close(d2);
                return negative_errno();
        }
        struct dirent *de;
        r = 0;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (cfd < 0)
                        continue;
                r = pids_collect(cfd, pids, n, depth + 1);
                if (r < 0 && r != -ENOENT)
                        break;
                r = 0;
        }
        closedir(d);
        return r;
}

int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n)
{
        const struct cgroup_hier *h = cgroup_hier_procs(cg);
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        if (!h)
                return err_set(-ENOENT, "the container's cgroup no longer exists");
        r = pids_collect(h->dfd, &pids, &n, 0);
        if (r < 0)
                return err_set(r, "cannot list processes of %s%s: %s", h->mount, h->path, strerror(-r));
        if (!pids) {
                pids = malloc(sizeof(pid_t));
                if (!pids)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int cgroup_freeze(const struct cgroup *cg, bool frozen)
{
        const struct cgroup_hier *h;

        if (cg->mode == CGROUP_MODE_V2) {
                h = cgroup_hier_procs(cg);
                return h ? cgroup_v2_freeze(h, frozen) : err_set(-ENOENT, "the container's cgroup no longer exists");
        }
        h = cgroup_hier_for(cg, CGROUP_FREEZER);
        if (h && h->v2)
                return cgroup_v2_freeze(h, frozen);
        if (!h)
                return err_set(-EOPNOTSUPP, "the freezer controller is not available on this host");
        return cgroup_v1_freeze(h, frozen);
}

int cgroup_is_frozen(const struct cgroup *cg, bool *ret)
{
        const struct cgroup_hier *h = cg->mode == CGROUP_MODE_V2 ? cgroup_hier_procs(cg)
                                                                 : cgroup_hier_for(cg, CGROUP_FREEZER);
        _cleanup_free_ char *s = NULL;
        int r;

        if (!h)
                return -EOPNOTSUPP;
        r = cg_read(h->dfd, h->v2 ? "cgroup.freeze" : "freezer.state", &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = h->v2 ? streq(s, "1") : !streq(s, "THAWED");
        return 0;
}

int cgroup_kill_all(const struct cgroup *cg, int sig)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        bool frozen = false;
        int r;

        if (sig == SIGKILL) {
                /* cgroup.kill (Linux 5.14) kills the whole subtree at once, forks included. */
                for (size_t i = 0; i < cg->n_hier; i++) {
                        const struct cgroup_hier *h = &cg->hier[i];
                        if (!h->v2 || h->dfd < 0)
                                continue;
                        r = cg_write(h->dfd, "cgroup.kill", "1");
                        if (r >= 0)
                                return 0;
                        if (r != -ENOENT)
                                return err_set(r, "cannot write cgroup.kill of %s%s: %s", h->mount, h->path,
                                               strerror(-r));
                }
        }
        /* Frozen, no process can fork a child that the pid list below would miss. */
        r = cgroup_freeze(cg, true);
        if (r >= 0)
                frozen = true;
        else
                log_debug("cgroup: kill without freezing first: %s", err_msg(r));
        err_clear();
        r = cgroup_pids(cg, &pids, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH) {
                        r = negative_errno();
                        err_set(r, "cannot send signal %d to process %d: %m", sig, (int)pids[i]);
                }
        if (frozen) {
                int k = cgroup_freeze(cg, false);
                if (r >= 0 && k < 0)
                        r = k;
        }
        return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ OOM */

int cgroup_oom_fd(const struct cgroup *cg)
{
        const struct cgroup_hier *h = cgroup_hier_for(cg, CGROUP_MEMORY);
        _cleanup_close_ int fd = -EBADF, cfd = -EBADF;
        _cleanup_free_ char *s = NULL;
        char buf[64];
        int r;

        if (!h || (cg->mode == CGROUP_MODE_V1 && h->v2))
                return err_set(-EOPNOTSUPP, "the memory controller is not available");
        if (h->v2) {
                /* memory.events is a kernfs file: a change raises IN_MODIFY. */
                fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                snprintf(buf, sizeof(buf), "/proc/self/fd/%d/memory.events", h->dfd);
                if (inotify_add_watch(fd, buf, IN_MODIFY) < 0)
                        return errno == ENOENT ? err_set(-EOPNOTSUPP, "the memory controller is not available")
                                               : negative_errno();
                r = cg_read(h->dfd, "memory.events", &s);
                if (r >= 0)
                        (void)cg_keyed_u64(s, "oom_kill", cg->oom_seen);
                return TAKE_FD(fd);
        }
        /* v1: an eventfd registered through cgroup.event_control on memory.oom_control. */
        fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        cfd = openat(h->dfd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
        if (cfd < 0)
                return negative_errno();
        snprintf(buf, sizeof(buf), "%d %d", fd, cfd);
        r = cg_write(h->dfd, "cgroup.event_control", buf);
        if (r < 0)
                return r;
        r = cg_read(h->dfd, "memory.oom_control", &s);
        if (r >= 0)
                (void)cg_keyed_u64(s, "oom_kill", cg->oom_seen);
        return TAKE_FD(fd);
}

int cgroup_oom_read(const struct cgroup *cg, int fd)
{
        const struct cgroup_hier *h = cgroup_hier_for(cg, CGROUP_MEMORY);
        _cleanup_free_ char *s = NULL;
        uint64_t now;
        char drain[4096];
        int r;

        /* Drain first, so that a kill that lands between the read below and the next poll wakes it again. */
        while (read(fd, drain, sizeof(drain)) > 0)
                ;
        if (!h)
                return -ENOENT;
        r = cg_read(h->dfd, h->v2 ? "memory.events" : "memory.oom_control", &s);
        if (r < 0)
                return r;
        r = cg_keyed_u64(s, "oom_kill", &now);
        if (r < 0)
                return r;
        if (now <= *cg->oom_seen)
                return 0;
        uint64_t d = now - *cg->oom_seen;
        *cg->oom_seen = now;
        return (int)MIN(d, (uint64_t)INT32_MAX);
}
