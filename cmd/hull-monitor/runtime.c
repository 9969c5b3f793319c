/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime.c - what hull-monitor asks of hull-runtime (runc's command line: run --detach,
 * delete, exec), and the host-side steps around it: the container's network namespace, the
 * OOM counter, a sweep of cgroups a killed runtime could leave, and the rootfs unmount.
 *
 * Network: the engine made the namespace and attached it to the container's networks before
 * spawning us (src/engine/engine-net.h); we hold it (--netns-fd) and hand a copy to the
 * runtime as fd 3 at every start, which config.json names as "/proc/self/fd/3" (runtime-spec
 * config-linux.md: a namespace "path" is joined). That also lets one `run --detach` replace
 * create + start (one runtime execution less per start).
 *
 * The container inherits hull-runtime's stdio (runtime-spec runtime.md leaves it to the
 * runtime; runc and crun pass their own), so the runtime runs with the container's pipes as
 * stdio, or /dev/null and --console-socket with a terminal. hull-runtime also writes its
 * errors to stderr: the pipes are only read once it succeeded, so a failure's message never
 * reaches the container log; the message comes from --log (JSON lines).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "leftovers.h"
#include "monitor.h"
#include "util.h"

#define RUNTIME_LOG    "runtime.log"
#define CONSOLE_SOCKET "console.sock"

/* Fork and exec argv with the given stdio (-1: /dev/null) and extra as fd 3 (-1: none). Returns the pid or
 * -errno. */
static pid_t spawn_with(char **argv, int in, int out, int err, int extra)
{
        pid_t parent = getpid(), p = fork();
        if (p < 0)
                return negative_errno();
        if (p == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                /*
                 * The runtime dies with its monitor: an orphaned `run` would go on to make the
                 * cgroup and the container after the engine repaired the monitor's death (swept
                 * the cgroup, deleted the state), and leave both behind.
                 */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                int fds[4] = {in >= 0 ? in : null, out >= 0 ? out : null, err >= 0 ? err : null, extra};
                sigset_t all;

                /* Above every target first, so that no dup2() below overwrites a source. */
                for (int i = 0; i < 4; i++)
                        if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
                                _exit(127);
                for (int i = 0; i < 4; i++)
                        if (fds[i] >= 0 && dup2(fds[i], i) < 0)
                                _exit(127);
                sigfillset(&all);
                sigprocmask(SIG_UNBLOCK, &all, NULL);
                signal(SIGPIPE, SIG_DFL);
                close_all_fds(extra >= 0 ? 4 : 3, fds, 0);
                execv(argv[0], argv);
                _exit(127);
        }
        return p;
}

static pid_t spawn(char **argv, int in, int out, int err)
{
        return spawn_with(argv, in, out, err, -1);
}

static int wait_pid(pid_t p)
{
        int status;
        while (waitpid(p, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return status;
}

/* argv for a runtime command: RUNTIME --root R --log L --log-format json <words...> (NULL-terminated). */
static int runtime_cmd(struct monitor *m, const char *log, char ***ret, ...)
{
        _cleanup_strv_free_ char **l = NULL;
        va_list ap;
        const char *w;
        int r = 0;

        if (strv_extend(&l, m->o.runtime) < 0 || strv_extend(&l, "--root") < 0 ||
            strv_extend(&l, m->o.runtime_root) < 0 || strv_extend(&l, "--log") < 0 ||
            strv_extend(&l, log) < 0 || strv_extend(&l, "--log-format") < 0 || strv_extend(&l, "json") < 0)
                return -ENOMEM;
        va_start(ap, ret);
        while (r >= 0 && (w = va_arg(ap, const char *)))
                r = strv_extend(&l, w);
        va_end(ap);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* The last error hull-runtime logged (its JSON lines carry "msg"), unescaped into buf. */
static void last_runtime_error(const char *log, char *buf, size_t size)
{
        _cleanup_free_ char *data = NULL;
        const char *p, *last = NULL;
        size_t n, o = 0;

        buf[0] = 0;
        if (read_full_file(log, 1 << 20, &data, &n) < 0)
                return;
        for (p = data; (p = strstr(p, "\"level\":\"error\",\"msg\":\"")); p++)
                last = p;
        if (!last)
                return;
        for (p = last + strlen("\"level\":\"error\",\"msg\":\""); *p && *p != '"' && o + 1 < size; p++) {
                if (*p == '\\' && p[1]) {
                        p++;
                        if (*p == 'n')
                                buf[o++] = ' ';
                        else if (*p == 'u' && strlen(p) >= 5)
                                p += 4, buf[o++] = '?';
                        else
                                buf[o++] = *p;
                } else
                        buf[o++] = *p;
        }
        buf[o] = 0;
        /* hull-runtime's context ("create container '<id>': ", "exec in container '<id>': ") repeats ours.
         */
        {
                const char *p2 = strstr(buf, "container '"), *q;
                if (p2 && p2 - buf < 24 && (q = strstr(p2, "': ")))
                        memmove(buf, q + 3, strlen(q + 3) + 1);
        }
}

/* podman's mapping of the runtime's words to exit statuses: 127 not found, 126 not executable. */
static int exit_code_for(const char *msg)
{
        if (strstr(msg, "not found in $PATH") ||
            (strstr(msg, "exec: '") && strstr(msg, "No such file or directory")))
                return EXIT_NOT_FOUND;
        if (strstr(msg, "exec: '") && strstr(msg, "permission denied"))
                return EXIT_CANNOT_EXECUTE;
        return EXIT_ENGINE_ERROR;
}

static void fail(struct monitor *m, int code, const char *fmt, ...) _printf_(3, 4);
static void fail(struct monitor *m, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->st.error, sizeof(m->st.error), fmt, ap);
        va_end(ap);
        m->st.exit_code = code;
}

/* A listening socket for --console-socket; hull-runtime connects during create and sends the pty master. */
static int console_listen(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        unlinkat(AT_FDCWD, CONSOLE_SOCKET, 0);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* Relative to our cwd (the container directory): no sun_path length limit on the store path. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", CONSOLE_SOCKET);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return fd;
}

static int console_receive(int listen_fd)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = {};
        char data[256];
        struct iovec iov = {data, sizeof(data)};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c;
        _cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        int fd;

        if (conn < 0)
                return negative_errno();
        if (recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) < 0)
                return negative_errno();
        c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                return -EBADMSG;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}

int runtime_launch(struct monitor *m)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int console = -EBADF, in_r = -EBADF, out_w = -EBADF, err_w = -EBADF, netns = -EBADF;
        _cleanup_free_ char *pidbuf = NULL;
        int in[2] = {-EBADF, -EBADF}, out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF};
        char msg[sizeof(m->st.error)];
        int status, r;
        pid_t p;
        uint64_t start;

        unlinkat(AT_FDCWD, RUNTIME_LOG, 0);
        unlinkat(AT_FDCWD, "pid", 0);
        /* A copy for this run: ours stays open, so that a restart finds the container's networks as they
         * were (same addresses, ports and names). */
        if (m->o.netns_fd >= 0) {
                netns = fcntl(m->o.netns_fd, F_DUPFD_CLOEXEC, 3);
                if (netns < 0) {
                        r = -errno;
                        fail(m, EXIT_ENGINE_ERROR, "cannot pass the container's network namespace: %s",
                             strerror(-r));
                        return r;
                }
        }
        if (m->o.tty) {
                console = console_listen();
                if (console < 0) {
                        fail(m, EXIT_ENGINE_ERROR, "cannot create the console socket: %s",
                             strerror(-console));
                        return console;
                }
                r = runtime_cmd(m, RUNTIME_LOG, &argv, "run", "--detach", "--bundle", ".", "--pid-file",
                                "pid", "--console-socket", CONSOLE_SOCKET, m->o.id, NULL);
        } else {
                if ((m->o.stdin_open && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
                    pipe2(err, O_CLOEXEC) < 0) {
                        r = negative_errno();
                        safe_close(in[0]), safe_close(in[1]), safe_close(out[0]), safe_close(out[1]);
                        fail(m, EXIT_ENGINE_ERROR, "cannot create the stdio pipes: %s", strerror(-r));
                        return r;
                }
                in_r = in[0];
                m->stdin_fd = in[1];
                m->out_fd = out[0];
                out_w = out[1];
                m->err_fd = err[0];
                err_w = err[1];
                r = runtime_cmd(m, RUNTIME_LOG, &argv, "run", "--detach", "--bundle", ".", "--pid-file",
                                "pid", m->o.id, NULL);
        }
        if (r < 0) {
                fail(m, EXIT_ENGINE_ERROR, "out of memory");
                return r;
        }
        p = spawn_with(argv, in_r, out_w, err_w, netns);
        if (p < 0) {
                fail(m, EXIT_ENGINE_ERROR, "cannot run '%s': %s", m->o.runtime, strerror(-(int)p));
                return (int)p;
        }
        /* Our copies of the container's ends: EOF on the pipes must mean the container closed them. */
        netns = safe_close(netns);
        in_r = safe_close(in_r);
        out_w = safe_close(out_w);
        err_w = safe_close(err_w);
        status = wait_pid(p);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                last_runtime_error(RUNTIME_LOG, msg, sizeof(msg));
                if (!msg[0])
                        snprintf(msg, sizeof(msg), "hull-runtime run %s",
                                 status >= 0 && WIFSIGNALED(status) ? "was killed" : "failed");
                fail(m, exit_code_for(msg), "%s", msg);
                goto undo;
        }
        r = read_full_file("pid", 64, &pidbuf, NULL);
        if (r < 0 || parse_int(pidbuf, &m->pid) < 0 || m->pid <= 0) {
                fail(m, EXIT_ENGINE_ERROR, "hull-runtime run left no usable pid file");
                goto undo;
        }
        /* It runs already and may have exited (a zombie that is ours to reap): then no start time. */
        if (proc_start_time(m->pid, &start) < 0)
                start = 0;
        m->st.pid = m->pid;
        m->st.pid_start = (int64_t)start;
        if (m->o.tty) {
                int pty = console_receive(console);
                if (pty < 0) {
                        fail(m, EXIT_ENGINE_ERROR, "no terminal came through the console socket: %s",
                             strerror(-pty));
                        goto undo;
                }
                fd_nonblock(pty, true);
                m->pty_fd = pty;
                unlinkat(AT_FDCWD, CONSOLE_SOCKET, 0);
        }
        if (m->out_fd >= 0)
                fd_nonblock(m->out_fd, true);
        if (m->err_fd >= 0)
                fd_nonblock(m->err_fd, true);
        if (m->stdin_fd >= 0)
                fd_nonblock(m->stdin_fd, true);
        return 0;
undo:
        m->pid = 0;
        m->out_fd = safe_close(m->out_fd);
        m->err_fd = safe_close(m->err_fd);
        m->pty_fd = safe_close(m->pty_fd);
        m->stdin_fd = safe_close(m->stdin_fd);
        unlinkat(AT_FDCWD, CONSOLE_SOCKET, 0);
        return -EIO;
}

void runtime_delete(struct monitor *m, bool release_rootfs)
{
        _cleanup_strv_free_ char **argv = NULL;
        pid_t p = -1;

        if (runtime_cmd(m, "delete.log", &argv, "delete", "--force", m->o.id, NULL) >= 0)
                p = spawn(argv, -1, -1, -1);
        /* The processes are gone: the host's rootfs mount can go while the runtime works. */
        if (release_rootfs)
                rootfs_release(m);
        if (p > 0)
                (void)wait_pid(p);
        unlinkat(AT_FDCWD, "delete.log", 0);
        /*
         * A runtime killed between making the cgroup and saving its state cannot delete it, and
         * `delete --force` of a container without state succeeds (as runc's): sweep whatever the
         * outcome (a directory read and a stat per hierarchy when nothing is left).
         */
        leftover_cgroup_sweep(m->o.cgroup_path);
}

int runtime_exec_health(struct monitor *m, int *ret_out_fd)
{
        _cleanup_strv_free_ char **argv = NULL;
        int pfd[2];
        pid_t p;
        int r;

        unlinkat(AT_FDCWD, "exec.pid", 0);
        r = runtime_cmd(m, "health.log", &argv, "exec", "--process", m->o.health_process, "--pid-file",
                        "exec.pid", m->o.id, NULL);
        if (r < 0)
                return r;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return negative_errno();
        p = spawn(argv, -1, pfd[1], pfd[1]);
        safe_close(pfd[1]);
        if (p < 0) {
                safe_close(pfd[0]);
                return (int)p;
        }
        fd_nonblock(pfd[0], true);
        *ret_out_fd = pfd[0];
        return (int)p;
}

int runtime_exec_detached(struct monitor *m, const char *process_file, char *err, size_t err_size)
{
        _cleanup_strv_free_ char **argv = NULL;
        int status, r;
        pid_t p;

        r = runtime_cmd(m, "exec.log", &argv, "exec", "--detach", "--process", process_file, m->o.id, NULL);
        if (r < 0)
                return r;
        p = spawn(argv, -1, -1, -1);
        if (p < 0)
                return (int)p;
        /* Short: the runtime returns once the process runs. The process stays our descendant. */
        status = wait_pid(p);
        unlinkat(AT_FDCWD, process_file, 0);
        if (status < 0)
                return status;
        r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r != 0)
                last_runtime_error("exec.log", err, err_size);
        unlinkat(AT_FDCWD, "exec.log", 0);
        return r;
}

bool runtime_oom_killed(struct monitor *m)
{
        _cleanup_free_ char *data = NULL;
        const char *p;

        if (!m->o.oom_file || read_full_file(m->o.oom_file, 1 << 16, &data, NULL) < 0)
                return false;
        /* memory.oom_control (v1, Linux 4.13+) and memory.events (v2) both have "oom_kill N". */
        p = strstr(data, "oom_kill ");
        return p && atoll(p + strlen("oom_kill ")) > 0;
}

void rootfs_release(struct monitor *m)
{
        int r = leftover_umount(m->o.rootfs);
        if (r < 0)
                monitor_note(m, "cannot unmount '%s': %s", m->o.rootfs, strerror(-r));
}
