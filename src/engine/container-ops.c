/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container-ops.c - the lifecycle after start: refresh (folding the monitor's status file
 * into the row and repairing what killed processes left), stop, kill, pause, remove,
 * rename, wait, attach and exec; see container.h.
 *
 * Stopping: the engine writes <dir>/stop (so that the monitor applies no restart policy),
 * signals the container's init directly (it is our pid namespace's view of the process
 * hull-runtime created; runc's kill does the same kill(2)), and waits for the monitor to
 * record the end. Signals reach a pid namespace's init from outside only when it handles
 * them, except SIGKILL (pid_namespaces(7)): that is why the stop signal is followed by
 * SIGKILL after the timeout.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "attach-proto.h"
#include "chase.h"
#include "container-internal.h"
#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "leftovers.h"
#include "ocispec.h"
#include "store.h"
#include "user.h"
#include "util.h"
#include "volume.h"

#define STOP_WAIT_AFTER_KILL_MS (30 * 1000)
#define ORPHAN_MIN_AGE          (3 * 1000000000LL)

int ctr_spawn_capture(char **argv, char *err, size_t err_size)
{
        int pfd[2], status, r;
        pid_t p;

        if (err_size)
                err[0] = 0;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return negative_errno();
        p = fork();
        if (p < 0) {
                r = negative_errno();
                safe_close(pfd[0]);
                safe_close(pfd[1]);
                return r;
        }
        if (p == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(null, 0);
                dup2(null, 1);
                dup2(pfd[1], 2);
                execv(argv[0], argv);
                _exit(127);
        }
        safe_close(pfd[1]);
        {
                _cleanup_free_ char *out = NULL;
                if (read_full_fd(pfd[0], 1 << 20, &out, NULL) >= 0 && out && err_size) {
                        size_t n = strlen(out);
                        while (n > 0 && out[n - 1] == '\n')
                                out[--n] = 0;
                        snprintf(err, err_size, "%s", strrchr(out, '\n') ? strrchr(out, '\n') + 1 : out);
                }
        }
        safe_close(pfd[0]);
        while (waitpid(p, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ctr_runtime(struct engine *e, char *err, size_t err_size, ...)
{
        _cleanup_strv_free_ char **argv = NULL;
        const char *runtime, *a;
        va_list ap;
        int r;

        if (err_size)
                err[0] = 0;
        r = engine_binary(e, ENGINE_BIN_RUNTIME, &runtime);
        if (r < 0)
                return r;
        if (strv_extend(&argv, runtime) < 0 || strv_extend(&argv, "--root") < 0 ||
            strv_extend(&argv, e->runtime_root) < 0)
                return -ENOMEM;
        va_start(ap, err_size);
        while ((a = va_arg(ap, const char *)))
                if (strv_extend(&argv, a) < 0) {
                        va_end(ap);
                        return -ENOMEM;
                }
        va_end(ap);
        return ctr_spawn_capture(argv, err, err_size);
}

void ctr_release(struct engine *e, const struct workload *w)
{
        _cleanup_free_ char *cg = ctr_cgroup_path(w->id),
                            *rootfs = strdup_printf("%s/%s/rootfs", e->containers_dir, w->id);

        /* delete --force kills what still runs; the sweep covers a runtime killed before it saved its state.
         */
        (void)ctr_runtime(e, NULL, 0, "delete", "--force", w->id, NULL);
        leftover_cgroup_sweep(cg);
        leftover_umount(rootfs);
        /* Its namespace went with the monitor and the container: what is left are the library's records,
         * rules and leases. */
        if (engine_net_teardown(e, w->id) < 0)
                err_clear();
}

static bool running_like(enum workload_state s)
{
        return s == WORKLOAD_RUNNING || s == WORKLOAD_PAUSED || s == WORKLOAD_RESTARTING ||
               s == WORKLOAD_STOPPING;
}

static int set_str(char **dst, const char *v)
{
        char *c = strdup(v ?: "");
        if (!c)
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

/*
 * Detach an ended container from its networks. Once its monitor (the endpoints' owner) is gone, the
 * veths left with the namespace and the library does not delete them (an RCU grace period each): a
 * monitor on its way out is given a moment, unless it is about to remove a --rm container itself
 * (its `container cleanup` waits for the lock our caller holds).
 */
static int net_release(struct engine *e, struct workload *w)
{
        _cleanup_runspec_ struct runspec *s = NULL;
        pid_t mon = (pid_t)w->monitor_pid;
        siginfo_t si = {};
        bool child;

        if (!engine_net_attached(e, w->id))
                return 0;
        /* The monitor of a `run` or `start -a` in the foreground is our child (and was told that we
         * remove the container): a zombie would still count as the endpoints' owner, so it is reaped. */
        child = mon > 0 && waitid(P_PID, (id_t)mon, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
        if (mon > 0 && (child || (ctr_spec(w, &s) >= 0 && !s->auto_remove)) &&
            ctr_wait_monitor(w, 1000) >= 0 && child)
                (void)waitpid(mon, NULL, WNOHANG);
        err_clear();
        return engine_net_teardown(e, w->id);
}

/*
 * The row goes first, in one transaction, then the directory: a kill in between leaves a
 * directory without a row, which the next listing sweeps (sweep_orphans()) once its lock is
 * free. The rootfs is unmounted before the row goes, so that nothing mounted is ever left
 * without a record pointing at it for longer than the sweep's wait.
 */
int ctr_destroy(struct engine *e, struct workload *w, bool volumes)
{
        _cleanup_strv_free_ char **anon = NULL;
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *rootfs = NULL;
        int r;

        if (!dir || !(rootfs = strdup_printf("%s/rootfs", dir)))
                return -ENOMEM;
        if (volumes && (r = volume_anonymous_of(e, w->id, &anon)) < 0)
                return r;
        /* Before the row: a kill after this leaves a row to remove again, never attachments without one. */
        if ((r = net_release(e, w)) < 0)
                return err_prefix(r, "detaching container %s from its networks", w->name);
        leftover_umount(rootfs);
        r = workload_delete(e->db, w->id);
        if (r < 0)
                return r;
        w->state = WORKLOAD_REMOVING;
        /* A monitor on its way out may still drop a file in the directory: try again briefly. */
        for (int k = 0;; k++) {
                leftover_umount(rootfs);
                r = rm_rf(dir);
                if (r != -ENOTEMPTY || k == 20)
                        break;
                usleep(50000);
        }
        if (r < 0 && r != -ENOENT)
                return err_set(r, "cannot remove '%s': %s", dir, strerror(-r));
        STRV_FOREACH (v, anon) {
                if (volume_remove(e, *v) < 0)
                        err_clear(); /* another container uses it now: it stays */
        }
        return 0;
}

/* Repairs need the lock: take it for the duration when the caller does not hold it. */
static bool repair_lock(struct engine *e, const struct workload *w, bool have_lock, int *fd)
{
        if (have_lock)
                return true;
        return ctr_lock(e, w->id, false, fd) >= 0;
}

/* persist: write what changed to the row (a removal that follows needs only the answer). */
static int refresh(struct engine *e, struct workload *w, bool have_lock, bool persist)
{
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *dir = engine_container_dir(e, w->id);
        struct monitor_status st;
        struct workload old = *w;
        _cleanup_free_ char *old_health = strdup(w->health ?: ""), *old_error = strdup(w->error ?: "");
        bool alive, changed;
        int r;

        if (!dir || !old_health || !old_error)
                return -ENOMEM;
        if (w->state == WORKLOAD_CREATING || w->state == WORKLOAD_REMOVING) {
                if (!have_lock) {
                        r = ctr_lock(e, w->id, false, &lock);
                        if (r == -EBUSY)
                                return 0; /* its owner is at work */
                }
                /* Its owner died: finish the removal, or undo the creation. */
                ctr_release(e, w);
                r = ctr_destroy(e, w, true);
                if (r < 0)
                        return r;
                return err_set(-ENOENT, "no such container '%s'", w->name);
        }

        r = monitor_status_read(dir, &st);
        if (r < 0) {
                /* No status: never started, or a monitor that died before its first word. */
                if (!running_like(w->state)) {
                        _cleanup_free_ char *rootfs = strdup_printf("%s/rootfs", dir);
                        /* A start killed after mounting, before the monitor said anything. */
                        if (rootfs && is_mount_point(rootfs) && repair_lock(e, w, have_lock, &lock))
                                leftover_umount(rootfs);
                        return 0;
                }
                if (w->monitor_pid > 0 && proc_alive((pid_t)w->monitor_pid, (uint64_t)w->monitor_start))
                        return 0;
                if (!repair_lock(e, w, have_lock, &lock))
                        return 0;
                ctr_release(e, w);
                w->state = WORKLOAD_EXITED;
                w->pid = 0;
                w->finished = now_ns();
                if ((r = set_str(&w->error, "hull-monitor exited before it recorded the container's end")) <
                    0)
                        return r;
                return persist ? workload_update_status(e->db, w) : 0;
        }

        alive = proc_alive((pid_t)st.monitor_pid, (uint64_t)st.monitor_start);
        w->monitor_pid = st.monitor_pid;
        w->monitor_start = st.monitor_start;
        w->restart_count = (int)st.restarts;
        if (st.started)
                w->started = st.started;
        if ((r = set_str(&w->health, st.health)) < 0)
                return r;

        if (streq(st.state, "exited")) {
                w->pid = 0;
                w->exit_code = st.exit_code;
                w->finished = st.finished;
                w->oom = st.oom;
                if ((r = set_str(&w->error, st.error)) < 0)
                        return r;
                if (st.final || !alive) {
                        if (!st.cleaned && !alive) {
                                if (!repair_lock(e, w, have_lock, &lock))
                                        return 0;
                                ctr_release(e, w);
                        }
                        /* Never ran (the runtime refused the process): "created", as podman shows it. */
                        w->state = st.pid == 0 && st.error[0] ? WORKLOAD_CREATED : WORKLOAD_EXITED;
                } else
                        w->state =
                                WORKLOAD_STOPPING; /* the monitor is releasing it, or about to restart it */
        } else if (streq(st.state, "starting") && !alive) {
                /* Died between its birth and the container's start: undo what it may have made. */
                if (!repair_lock(e, w, have_lock, &lock))
                        return 0;
                ctr_release(e, w);
                w->state = WORKLOAD_CREATED;
                w->pid = 0;
                if ((r = set_str(&w->error, "hull-monitor died while starting the container")) < 0)
                        return r;
        } else if (alive) {
                w->pid = st.pid;
                w->pid_start = st.pid_start;
                if (streq(st.state, "restarting"))
                        w->state = WORKLOAD_RESTARTING;
                else if (streq(st.state, "running")) {
                        if (w->state != WORKLOAD_PAUSED && w->state != WORKLOAD_STOPPING)
                                w->state = WORKLOAD_RUNNING;
                        w->exit_code = -1;
                        w->finished = 0;
                }
                /* "starting": the start that spawned it records the rest. */
        } else {
                /* The monitor died while the container ran: nobody holds its stdio or records its end. */
                if (!repair_lock(e, w, have_lock, &lock))
                        return 0;
                ctr_release(e, w);
                w->state = WORKLOAD_EXITED;
                w->pid = 0;
                w->exit_code = -1;
                w->finished = now_ns();
                if ((r = set_str(&w->error, "hull-monitor died; the container was stopped")) < 0)
                        return r;
        }
        /* Ended, and the exit command that detaches it never ran (killed) or has not yet: do it. */
        if (!alive && !running_like(w->state) && engine_net_attached(e, w->id) &&
            repair_lock(e, w, have_lock, &lock) && engine_net_teardown(e, w->id) < 0)
                err_clear();
        changed = old.state != w->state || old.pid != w->pid || old.exit_code != w->exit_code ||
                  old.finished != w->finished || old.started != w->started ||
                  old.monitor_pid != w->monitor_pid || old.restart_count != w->restart_count ||
                  old.oom != w->oom || !streq(old_health, w->health) || !streq(old_error, w->error);
        return changed && persist ? workload_update_status(e->db, w) : 0;
}

int ctr_refresh_locked(struct engine *e, struct workload *w, bool have_lock)
{
        return refresh(e, w, have_lock, true);
}

int ctr_refresh(struct engine *e, struct workload *w)
{
        return ctr_refresh_locked(e, w, false);
}

/*
 * Directories of containers/ that no row names: a create killed between its mkdir and its
 * INSERT, or a removal killed after its DELETE. Each is removed once its lock is free (or,
 * lacking a lock file, once it is old enough that no create can still be making it), and
 * only after checking again, under the lock, that no row appeared meanwhile.
 */
static void sweep_orphans(struct engine *e, struct workload **l, size_t n)
{
        DIR *d = opendir(e->containers_dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_close_ int lock = -EBADF;
                _cleanup_free_ char *dir = NULL, *rootfs = NULL;
                _cleanup_workload_ struct workload *w = NULL;
                bool known = false;
                struct stat st;
                int r;

                if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
                        continue;
                for (size_t i = 0; i < n && !known; i++)
                        known = streq(l[i]->id, de->d_name);
                if (known)
                        continue;
                dir = engine_container_dir(e, de->d_name);
                if (!dir || !(rootfs = strdup_printf("%s/rootfs", dir)))
                        break;
                /* Young ones may be a create between its mkdir and its lock (or a slow INSERT). */
                if (stat(dir, &st) < 0 ||
                    now_ns() - (int64_t)st.st_mtim.tv_sec * 1000000000 < ORPHAN_MIN_AGE)
                        continue;
                r = ctr_lock(e, de->d_name, false, &lock);
                if (r == -EBUSY)
                        continue;
                if (workload_get(e->db, de->d_name, &w) >= 0)
                        continue;
                err_clear();
                leftover_umount(rootfs);
                rm_rf(dir);
        }
        if (d)
                closedir(d);
}

int ctr_list(struct engine *e, struct workload ***ret, size_t *ret_n)
{
        int r = engine_list_kind(e, "container", ctr_refresh, ret, ret_n);

        if (r >= 0)
                sweep_orphans(e, *ret, *ret_n);
        return r;
}

int ctr_lookup(struct engine *e, const char *name_or_id, struct workload **ret)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r;

        r = workload_find(e->db, name_or_id, &w);
        if (r < 0)
                return r;
        if (!streq(w->kind, "container"))
                return err_set(-ENOENT, "no such container '%s' (it is a %s: use the 'hull %s' commands)",
                               name_or_id, w->kind, w->kind);
        r = ctr_refresh(e, w);
        if (r == -ENOENT)
                return err_set(-ENOENT, "no such container '%s'", name_or_id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int ctr_status(struct engine *e, const struct workload *w, struct monitor_status *ret)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id);
        if (!dir)
                return -ENOMEM;
        return monitor_status_read(dir, ret);
}

int ctr_spec(const struct workload *w, struct runspec **ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = json_parse_buffer(w->spec, strlen(w->spec), "container spec", &o);
        if (r < 0)
                return r;
        return runspec_from_json(o, ret);
}

int ctr_stop_signal(struct engine *e, const struct workload *w)
{
        _cleanup_runspec_ struct runspec *s = NULL;
        _cleanup_image_config_ struct image_config *img = NULL;
        struct image_store *st;
        const char *name = NULL;
        int sig;

        if (ctr_spec(w, &s) >= 0 && s->stop_signal)
                name = s->stop_signal;
        else if (engine_store(e, &st) >= 0 && store_image_config(st, w->image_id, &img) >= 0 &&
                 img->stop_signal && img->stop_signal[0])
                name = img->stop_signal;
        err_clear();
        sig = name ? signal_from_string(name) : SIGTERM;
        return sig > 0 ? sig : SIGTERM;
}

static int touch_stop_file(struct engine *e, const struct workload *w)
{
        _cleanup_free_ char *p = strdup_printf("%s/%s/" STOP_FILE, e->containers_dir, w->id);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        return fd < 0 ? negative_errno() : 0;
}

static int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

int ctr_wait_monitor(const struct workload *w, int timeout_ms)
{
        _cleanup_close_ int pfd = -EBADF;
        struct pollfd p;
        int r;

        if (w->monitor_pid <= 0)
                return 0;
        pfd = pidfd_open_((pid_t)w->monitor_pid);
        /* Checked after the pidfd exists: from here the pid cannot be recycled under us. */
        if (pfd < 0 || !proc_alive((pid_t)w->monitor_pid, (uint64_t)w->monitor_start))
                return 0;
        p = (struct pollfd){.fd = pfd, .events = POLLIN};
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0 ? 0 : -ETIMEDOUT;
}

int ctr_wait_end(struct engine *e, struct workload *w, int timeout_ms)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id);
        int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;

        if (!dir)
                return -ENOMEM;
        for (;;) {
                struct monitor_status st;
                int64_t left;
                if (monitor_status_read(dir, &st) >= 0 && st.final)
                        return 0;
                if (!proc_alive((pid_t)w->monitor_pid, (uint64_t)w->monitor_start))
                        return 0;
                left = (deadline - now_ns()) / 1000000;
                if (timeout_ms >= 0 && left <= 0)
                        return -ETIMEDOUT;
                /* Wakes at the monitor's exit; the status becomes final a little before it. */
                ctr_wait_monitor(w, timeout_ms < 0 ? 20 : (int)MIN(left, 20));
        }
}

static void signal_container(const struct workload *w, int sig)
{
        if (w->pid > 0 && proc_alive((pid_t)w->pid, (uint64_t)w->pid_start))
                kill((pid_t)w->pid, sig);
}

static int stop_locked(struct engine *e, struct workload *w, int timeout, int sig)
{
        char err[256];
        int r;

        if ((r = touch_stop_file(e, w)) < 0)
                return err_set(r, "cannot mark container %s as stopping: %s", w->name, strerror(-r));
        if (w->state == WORKLOAD_PAUSED && ctr_runtime(e, err, sizeof(err), "resume", w->id, NULL) != 0)
                return err_set(-EIO, "cannot resume paused container %s: %s", w->name, err);
        if (w->state != WORKLOAD_STOPPING && (r = workload_set_state(e->db, w->id, WORKLOAD_STOPPING)) < 0)
                return r;
        w->state = WORKLOAD_STOPPING;
        signal_container(w, sig);
        r = ctr_wait_end(e, w, timeout * 1000);
        if (r == -ETIMEDOUT) {
                signal_container(w, SIGKILL);
                r = ctr_wait_end(e, w, STOP_WAIT_AFTER_KILL_MS);
        }
        if (r < 0)
                return err_set(r, "container %s did not stop", w->name);
        return ctr_refresh_locked(e, w, true);
}

/* Lock the container and bring it up to date: what every change of its state starts with. */
static int lock_refreshed(struct engine *e, struct workload *w, int *ret_lock)
{
        int r = ctr_lock(e, w->id, true, ret_lock);
        if (r < 0)
                return err_set(r, "cannot lock container %s: %s", w->name, strerror(-r));
        return ctr_refresh_locked(e, w, true);
}

int ctr_stop(struct engine *e, struct workload *w, int timeout)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        r = lock_refreshed(e, w, &lock);
        if (r < 0)
                return r;
        if (!running_like(w->state))
                return 0;
        if (timeout < 0) {
                _cleanup_runspec_ struct runspec *s = NULL;
                timeout = ctr_spec(w, &s) >= 0 && s->stop_timeout >= 0 ? s->stop_timeout : 10;
        }
        r = stop_locked(e, w, timeout, ctr_stop_signal(e, w));
        /* Off its networks before stop returns (the monitor's exit command would do it a moment later). */
        if (r >= 0 && !running_like(w->state) && net_release(e, w) < 0)
                err_clear();
        /* A --rm container attached elsewhere is removed by its client as soon as it ends. */
        return r == -ENOENT ? 0 : r;
}

int ctr_kill(struct engine *e, struct workload *w, int sig)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        r = lock_refreshed(e, w, &lock);
        if (r < 0)
                return r;
        if (w->state != WORKLOAD_RUNNING && w->state != WORKLOAD_PAUSED && w->state != WORKLOAD_STOPPING)
                return err_set(-EINVAL, "container %s is not running", w->name);
        /* Killing with KILL or the stop signal is stopping it: no restart (Docker's "manually stopped"). */
        if ((sig == SIGKILL || sig == ctr_stop_signal(e, w)) && (r = touch_stop_file(e, w)) < 0)
                return r;
        signal_container(w, sig);
        return 0;
}

int ctr_pause(struct engine *e, struct workload *w, bool pause)
{
        _cleanup_close_ int lock = -EBADF;
        char err[256];
        int r;

        r = lock_refreshed(e, w, &lock);
        if (r < 0)
                return r;
        if (pause && w->state != WORKLOAD_RUNNING)
                return err_set(-EINVAL, "container %s is %s, not running", w->name,
                               workload_state_to_string(w->state));
        if (!pause && w->state != WORKLOAD_PAUSED)
                return err_set(-EINVAL, "container %s is not paused", w->name);
        r = ctr_runtime(e, err, sizeof(err), pause ? "pause" : "resume", w->id, NULL);
        if (r != 0)
                return err_set(r < 0 ? r : -EIO, "%s", err[0] ? err : "hull-runtime failed");
        w->state = pause ? WORKLOAD_PAUSED : WORKLOAD_RUNNING;
        return workload_set_state(e->db, w->id, w->state);
}

/* Its monitor lives and still starts it (the status says so). */
static bool starting(struct engine *e, const struct workload *w)
{
        struct monitor_status st;

        return ctr_status(e, w, &st) >= 0 && streq(st.state, "starting") &&
               proc_alive((pid_t)st.monitor_pid, (uint64_t)st.monitor_start);
}

int ctr_remove(struct engine *e, struct workload *w, bool force, bool volumes)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        r = ctr_lock(e, w->id, true, &lock);
        if (r == -ENOENT) {
                /* The directory is gone (a removal killed half way): only the row is left. */
                err_clear();
                return ctr_destroy(e, w, volumes);
        }
        if (r < 0)
                return err_set(r, "cannot lock container %s: %s", w->name, strerror(-r));
        r = refresh(e, w, true, false);
        if (r < 0)
                return r;
        if (running_like(w->state)) {
                if (!force)
                        return err_set(-EBUSY,
                                       "container %s is %s: stop it first, or remove it with --force",
                                       w->name, workload_state_to_string(w->state));
                r = stop_locked(e, w, 0, SIGKILL);
                if (r < 0)
                        return r;
        } else if (starting(e, w)) {
                /*
                 * A start whose hull was killed: its monitor still brings the container up, without
                 * the lock. Removing the directory under it would leave what its runtime makes next
                 * (the cgroup, the runtime's state) to nobody: end the monitor (its runtime dies with
                 * it), then release what they made.
                 */
                if (!force)
                        return err_set(-EBUSY, "container %s is starting: remove it with --force", w->name);
                kill((pid_t)w->monitor_pid, SIGKILL);
                for (int k = 0; k < 500 && proc_alive((pid_t)w->monitor_pid, (uint64_t)w->monitor_start); k++)
                        usleep(10000);
                ctr_release(e, w);
        }
        return ctr_destroy(e, w, volumes);
}

int ctr_rename(struct engine *e, struct workload *w, const char *name)
{
        _cleanup_close_ int lock = -EBADF;
        char *n;
        int r;

        if ((r = runspec_check_name(name)) < 0)
                return r;
        r = ctr_lock(e, w->id, true, &lock);
        if (r < 0)
                return err_set(r, "cannot lock container %s: %s", w->name, strerror(-r));
        r = workload_rename(e->db, w->id, name);
        if (r < 0)
                return r;
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        free(w->name);
        w->name = n;
        return 0;
}

int ctr_wait(struct engine *e, struct workload *w, int *ret_code)
{
        int r;

        for (;;) {
                r = ctr_refresh(e, w);
                if (r < 0)
                        return r;
                if (!running_like(w->state))
                        break;
                r = ctr_wait_end(e, w, -1);
                if (r < 0)
                        return r;
        }
        *ret_code = w->exit_code;
        return 0;
}

int ctr_attach(struct engine *e, struct workload *w, int *ret_fd)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id);
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        if (!dir)
                return -ENOMEM;
        if (w->state != WORKLOAD_RUNNING && w->state != WORKLOAD_PAUSED && w->state != WORKLOAD_RESTARTING)
                return err_set(-EINVAL, "container %s is not running", w->name);
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        /* Through the directory fd: the store path may be longer than sun_path. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" ATTACH_SOCKET, dfd);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(negative_errno(), "cannot attach to container %s: %m", w->name);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The runtime-spec process of an exec: the container's own, changed by the arguments. */
static int exec_process(struct engine *e, struct workload *w, char **args, const char *user,
                        const char *workdir, char **env, bool tty, struct json_object **ret)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *cfg_path = NULL;
        _cleanup_json_ struct json_object *config = NULL;
        _cleanup_(user_ids_done) struct user_ids ids = {};
        int r;

        if (!dir)
                return -ENOMEM;
        if (w->state == WORKLOAD_PAUSED)
                return err_set(-EINVAL, "container %s is paused: unpause it first", w->name);
        if (w->state != WORKLOAD_RUNNING)
                return err_set(-EINVAL, "container %s is not running", w->name);
        if (!args || !args[0])
                return err_set(-EINVAL, "no command given");
        cfg_path = strdup_printf("%s/config.json", dir);
        if (!cfg_path)
                return -ENOMEM;
        r = json_parse_file(cfg_path, 16 << 20, &config);
        if (r < 0)
                return r;
        if (user) {
                _cleanup_free_ char *root = strdup_printf("/proc/%lld/root", (long long)w->pid);
                _cleanup_close_ int root_fd = -EBADF;
                if (!root)
                        return -ENOMEM;
                /* The container's own view of its files (/etc/passwd may be on a volume). */
                root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0 || !proc_alive((pid_t)w->pid, (uint64_t)w->pid_start))
                        return err_set(-ESRCH, "container %s stopped", w->name);
                if ((r = user_resolve(root_fd, user, &ids)) < 0)
                        return r;
        }
        return ocispec_exec_process(config, args, user ? &ids : NULL, workdir, env, tty, ret);
}

int ctr_exec_argv(struct engine *e, struct workload *w, char **args, const char *user, const char *workdir,
                  char **env, bool tty, char ***ret_argv)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *fdpath = NULL;
        _cleanup_json_ struct json_object *proc = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        const char *runtime, *text;
        int fd, r;

        if (!dir)
                return -ENOMEM;
        r = exec_process(e, w, args, user, workdir, env, tty, &proc);
        if (r < 0)
                return r;
        /* An unnamed file: hull-runtime reads it through the inherited fd, nothing stays on disk. */
        fd = open(dir, O_TMPFILE | O_RDWR, 0600);
        if (fd < 0)
                return err_set(negative_errno(), "cannot write the exec process: %m");
        text = json_to_string(proc);
        r = write_all(fd, text, strlen(text));
        if (r < 0 || lseek(fd, 0, SEEK_SET) < 0) {
                safe_close(fd);
                return r < 0 ? r : negative_errno();
        }
        fdpath = strdup_printf("/proc/self/fd/%d", fd);
        if ((r = engine_binary(e, ENGINE_BIN_RUNTIME, &runtime)) < 0 || !fdpath) {
                safe_close(fd);
                return r < 0 ? r : -ENOMEM;
        }
        if (strv_extend(&argv, runtime) < 0 || strv_extend(&argv, "--root") < 0 ||
            strv_extend(&argv, e->runtime_root) < 0 || strv_extend(&argv, "exec") < 0 ||
            strv_extend(&argv, "--process") < 0 || strv_extend(&argv, fdpath) < 0 ||
            strv_extend(&argv, w->id) < 0) {
                safe_close(fd);
                return -ENOMEM;
        }
        /* fd stays open (without close-on-exec) for the exec that follows. */
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

int ctr_exec_detached(struct engine *e, struct workload *w, char **args, const char *user,
                      const char *workdir, char **env)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *path = NULL;
        _cleanup_json_ struct json_object *proc = NULL;
        _cleanup_close_ int fd = -EBADF;
        char name[80], rnd[65], buf[ATTACH_MSG_MAX + 1];
        int r;

        if (!dir)
                return -ENOMEM;
        if ((r = exec_process(e, w, args, user, workdir, env, false, &proc)) < 0 ||
            (r = workload_new_id(rnd)) < 0)
                return r;
        snprintf(name, sizeof(name), "exec-%.16s.json", rnd);
        if (!(path = strdup_printf("%s/%s", dir, name)))
                return -ENOMEM;
        r = json_write_file_atomic(path, proc, 0600);
        if (r < 0)
                return err_set(r, "cannot write the exec process: %s", strerror(-r));
        /* The monitor runs it, so that the process stays its descendant (attach-proto.h, 'X'). */
        r = ctr_attach(e, w, &fd);
        if (r >= 0) {
                buf[0] = ATTACH_EXEC_DETACHED;
                memcpy(buf + 1, name, strlen(name));
                if (send(fd, buf, strlen(name) + 1, MSG_NOSIGNAL) < 0)
                        r = negative_errno();
        }
        while (r >= 0) {
                ssize_t n = recv(fd, buf, ATTACH_MSG_MAX, 0);
                int32_t code;
                /* ECONNRESET comes once, before what is still queued for us (attach-io.c). */
                if (n < 0 && (errno == EINTR || errno == ECONNRESET))
                        continue;
                if (n <= 0) {
                        r = err_set(-ECONNRESET, "the container's monitor went away");
                        break;
                }
                if (buf[0] != ATTACH_EXEC_RESULT || n < 5)
                        continue; /* output of the container, meant for attached clients */
                memcpy(&code, buf + 1, 4);
                buf[n] = 0;
                if (code != 0)
                        return err_set(code == EXIT_NOT_FOUND || code == EXIT_CANNOT_EXECUTE ? -ENOEXEC
                                                                                             : -EIO,
                                       "%s", n > 5 ? buf + 5 : "hull-runtime exec failed");
                return 0;
        }
        unlink(path);
        return r;
}
