/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lifecycle.c - start, kill, delete, pause/resume of an existing container
 * (runtime-spec runtime.md "Operations"), and the foreground wait of `run`/`exec`.
 *
 * Signals go through a pidfd opened and checked against the recorded start time,
 * so that a recycled pid never receives a signal meant for a container that is gone.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "cgroup.h"
#include "container.h"
#include "error.h"
#include "hooks.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "vm-isolation.h"

/* A pidfd for the container's process, or -ESRCH when it is gone (or its pid was reused). */
static int open_pidfd(const struct container_state *s)
{
        int fd = (int)syscall(SYS_pidfd_open, s->pid, 0);
        if (fd < 0)
                return negative_errno();
        /* Check after opening: from now on the pidfd pins this process, not a later one. */
        if (!proc_alive(s->pid, s->pid_start)) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

int container_start(const char *root, const char *id)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_config_ struct oci_config *cfg = NULL;
        _cleanup_close_ int fifo = -EBADF;
        enum container_status st;
        int r;

        r = state_open(root, id, true, &s);
        if (r < 0)
                return r;
        st = state_status(s);
        if (st != STATUS_CREATED)
                return err_set(-EINVAL, "cannot start container '%s': it is %s, not created", id,
                               container_status_to_string(st));
        fifo = openat(s->dir_fd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return err_set(negative_errno(), "cannot start container '%s': %m", id);
        if (write(fifo, "1", 1) != 1)
                return err_set(negative_errno(), "cannot start container '%s': %m", id);
        unlinkat(s->dir_fd, "exec.fifo", 0);
        r = state_load_config(s, &cfg);
        if (r >= 0 && hooks_any(cfg, HOOK_POSTSTART)) {
                _cleanup_json_ struct json_object *o = NULL;
                if (state_to_oci_json(s, &o) >= 0)
                        hooks_run(cfg, HOOK_POSTSTART, json_to_string(o));
        }
        return 0;
}

int container_kill(const char *root, const char *id, int sig, bool all)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        enum container_status st;
        int r;

        r = state_open(root, id, false, &s);
        if (r < 0)
                return r;
        st = state_status(s);
        /*
         * A VM-isolated container's cgroup holds its shim and VMM, not its processes: --all with a
         * signal other than SIGKILL goes to the shim, which hands it to the guest's process
         * (SIGTERM to the VMM would pull the guest's power instead).
         */
        if (all && s->cgroup && vmiso_state(s) && sig != SIGKILL)
                all = false;
        if (all && s->cgroup) {
                r = cgroup_kill_all(s->cgroup, sig);
                if (r < 0)
                        return err_prefix(r, "cannot signal the processes of container '%s'", id);
                return 0;
        }
        /*
         * Worded as runc's: containerd's shim looks for "container not running" in the error to
         * know that a task exited while it was being signalled (and reports it as not found).
         */
        if (st == STATUS_STOPPED)
                return err_set(-ESRCH, "container not running (its process has exited)");
        pidfd = open_pidfd(s);
        if (pidfd < 0)
                return err_set(-ESRCH, "container not running (its process has exited)");
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return err_set(negative_errno(), "cannot signal container '%s': %m", id);
        /* A paused container would never see the signal; SIGKILL must work on it anyway. */
        return 0;
}

static int wait_pidfd(int pidfd, int timeout_ms)
{
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        int k;

        do
                k = poll(&p, 1, timeout_ms);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        return k == 0 ? -ETIMEDOUT : 0;
}

/*
 * `delete --force` of a container that does not exist succeeds, as runc's does: podman runs it after
 * a failed create and containerd's shim after its shim died, and both log a failure as an error. A
 * directory without state.json is what a create killed midway leaves behind; it goes too, unless a
 * create still holds its lock.
 */
static int delete_leftover(const char *root, const char *id)
{
        _cleanup_free_ char *dir = strdup_printf("%s/%s", root, id);
        _cleanup_close_ int fd = -EBADF;
        int r;

        err_clear();
        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || faccessat(fd, "state.json", F_OK, 0) == 0)
                return 0;
        r = rm_rf(dir);
        if (r < 0)
                return err_set(r, "cannot remove '%s', left by a create that did not finish: %s", dir,
                               strerror(-r));
        return 0;
}

int container_delete(const char *root, const char *id, bool force)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_config_ struct oci_config *cfg = NULL;
        enum container_status st;
        int r;

        r = state_open(root, id, true, &s);
        if (r == -ENOENT && force)
                return delete_leftover(root, id);
        if (r < 0)
                return r;
        st = state_status(s);
        if (st == STATUS_RUNNING || st == STATUS_PAUSED) {
                if (!force)
                        return err_set(-EBUSY, "cannot delete container '%s' that is %s (use --force)", id,
                                       container_status_to_string(st));
        }
        if (st != STATUS_STOPPED) {
                _cleanup_close_ int pidfd = open_pidfd(s);
                if (pidfd >= 0) {
                        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                        if (st == STATUS_PAUSED && s->cgroup)
                                cgroup_freeze(s->cgroup, false);
                        wait_pidfd(pidfd, 10000);
                }
        }
        /* Processes that joined the container (exec) or shared its pid namespace. */
        if (s->cgroup) {
                pid_t *pids = NULL;
                size_t n = 0;
                if (cgroup_pids(s->cgroup, &pids, &n) >= 0 && n > 0) {
                        cgroup_kill_all(s->cgroup, SIGKILL);
                        for (int i = 0; i < 200; i++) {
                                free(pids);
                                pids = NULL;
                                if (cgroup_pids(s->cgroup, &pids, &n) < 0 || n == 0)
                                        break;
                                struct timespec ts = { 0, 5 * 1000 * 1000 };
                                nanosleep(&ts, NULL);
                        }
                }
                free(pids);
        }
        r = state_load_config(s, &cfg);
        if (r >= 0 && hooks_any(cfg, HOOK_POSTSTOP)) {
                _cleanup_json_ struct json_object *o = NULL;
                if (state_to_oci_json(s, &o) >= 0) {
                        json_object_object_add(o, "status", json_object_new_string("stopped"));
                        hooks_run(cfg, HOOK_POSTSTOP, json_to_string(o));
                }
        }
        err_clear();
        if (s->cgroup) {
                r = cgroup_destroy(s->cgroup);
                if (r < 0)
                        return err_prefix(r, "cannot remove the cgroup of container '%s'", id);
        }
        r = state_remove(s);
        if (r < 0)
                return err_set(r, "cannot remove the state of container '%s': %s", id, strerror(-r));
        return 0;
}

int container_pause(const char *root, const char *id, bool pause)
{
        _cleanup_state_ struct container_state *s = NULL;
        enum container_status st;
        int r;

        r = state_open(root, id, true, &s);
        if (r < 0)
                return r;
        st = state_status(s);
        if (pause && st != STATUS_RUNNING && st != STATUS_CREATED)
                return err_set(-EINVAL, "cannot pause container '%s': it is %s", id, container_status_to_string(st));
        if (!pause && st != STATUS_PAUSED)
                return err_set(-EINVAL, "cannot resume container '%s': it is %s, not paused", id,
                               container_status_to_string(st));
        if (!s->cgroup)
                return err_set(-EOPNOTSUPP, "container '%s' has no cgroup to freeze", id);
        r = cgroup_freeze(s->cgroup, pause);
        if (r < 0)
                return err_prefix(r, "cannot %s container '%s'", pause ? "pause" : "resume", id);
        return 0;
}

/* ------------------------------------------------------------------ foreground wait */

static int exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

static void copy_once(int from, int to, bool *open_flag)
{
        char buf[16384];
        ssize_t k = read(from, buf, sizeof(buf));

        if (k <= 0) {
                if (k == 0 || (errno != EAGAIN && errno != EINTR))
                        *open_flag = false;
                return;
        }
        if (write_all(to, buf, (size_t)k) < 0)
                *open_flag = false;
}

int wait_forwarding(pid_t pid, int pty_master, int *ret_exit)
{
        _cleanup_close_ int sfd = -EBADF, pidfd = -EBADF;
        struct termios saved;
        bool raw = false, stdin_open = pty_master >= 0, master_open = pty_master >= 0;
        sigset_t mask, old;
        int status = 0, r = 0;

        /* Forward every signal a user can send to the container, like runc's signal proxy. */
        sigfillset(&mask);
        sigdelset(&mask, SIGSEGV);
        sigdelset(&mask, SIGBUS);
        sigdelset(&mask, SIGILL);
        sigdelset(&mask, SIGFPE);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (sfd < 0 || pidfd < 0) {
                r = negative_errno();
                goto out;
        }
        if (pty_master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                struct termios t = saved;
                struct winsize ws;
                cfmakeraw(&t);
                raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                        ioctl(pty_master, TIOCSWINSZ, &ws);
        }
        for (;;) {
                struct pollfd p[4] = {
                        { .fd = sfd, .events = POLLIN },
                        { .fd = master_open ? pty_master : -1, .events = POLLIN },
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = pidfd, .events = POLLIN },
                };
                int k = poll(p, 4, -1);

                if (k < 0 && errno != EINTR) {
                        r = negative_errno();
                        break;
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGCHLD)
                                        continue;
                                if (si.ssi_signo == SIGWINCH && pty_master >= 0) {
                                        struct winsize ws;
                                        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                                ioctl(pty_master, TIOCSWINSZ, &ws);
                                        continue;
                                }
                                syscall(SYS_pidfd_send_signal, pidfd, si.ssi_signo, NULL, 0);
                        }
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
                        copy_once(pty_master, STDOUT_FILENO, &master_open);
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        copy_once(STDIN_FILENO, pty_master, &stdin_open);
                if (p[3].revents & POLLIN) {
                        /* The process is gone: drain what the pty still holds, then reap. */
                        while (master_open) {
                                struct pollfd d = { .fd = pty_master, .events = POLLIN };
                                if (poll(&d, 1, 0) <= 0)
                                        break;
                                copy_once(pty_master, STDOUT_FILENO, &master_open);
                        }
                        if (waitpid(pid, &status, 0) == pid)
                                break;
                }
        }
        *ret_exit = exit_code(status);
out:
        if (raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
