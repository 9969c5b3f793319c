/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec.c - hull-init's side of `hull vm exec` (protocol: src/engine/vm-exec-proto.h).
 *
 * Two servers, forked from PID 1 once the root file system is in place, so that a session
 * never blocks the init's own loop: one on the second serial port (QEMU's COM2, made raw:
 * one session at a time, as a serial line has no connections), one on vsock port 1024
 * (hull-vmm; a process per connection). A session's process gets pipes as its stdio and its
 * own session; the server waits for it through a pidfd (Linux 5.3), so that it notices the
 * exit even while the host keeps stdin open.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hull-init.h"
#include "util.h"
#include "vm-exec-proto.h"

void init_exec_process(char **argv, char **env, const char *workdir, const char *user, int err_fd)
{
        uid_t uid = 0;
        gid_t gid = 0;
        int e;

        if (user && !streq(user, "root")) {
                char *colon = strchr(user, ':');
                uint32_t u, g;
                _cleanup_free_ char *name = colon ? strndup(user, (size_t)(colon - user)) : strdup(user);
                if (!name || parse_u32(name, &u) < 0 || (colon && parse_u32(colon + 1, &g) < 0)) {
                        e = EINVAL;
                        goto fail;
                }
                uid = u;
                gid = colon ? g : u;
        }
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
                e = errno;
                goto fail;
        }
        if (workdir && chdir(workdir) < 0) {
                e = errno;
                goto fail;
        }
        if (!env || !strv_contains(env, "PATH"))
                setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
        STRV_FOREACH (kv, env)
                putenv(*kv);
        execvp(argv[0], argv);
        e = errno;
fail:
        if (err_fd >= 0)
                (void)!write(err_fd, &e, sizeof(e));
}

struct request {
        char **argv, **env;
        char *workdir, *user;
        bool terminal;
        unsigned short rows, cols;
        char nic_type; /* VMX_NIC_UP or VMX_NIC_DOWN instead of a process; 0: none */
        char *nic;     /* its payload */
        size_t nic_len;
};

static void request_done(struct request *q)
{
        strv_free(q->argv);
        strv_free(q->env);
        free(q->workdir);
        free(q->user);
        free(q->nic);
}

/* Read frames up to RUN. 1: a request, 0: the host went away, -errno. */
static int read_request(int io, struct vmx_reader *rd, bool serial, struct request *q)
{
        bool hello = false;

        for (;;) {
                const uint8_t *p;
                uint32_t len;
                char type;
                int r;

                if (!hello && serial && !vmx_skip_to_hello(rd)) {
                        if ((r = vmx_fill(rd, io)) <= 0)
                                return r;
                        continue;
                }
                r = vmx_next(rd, &type, &p, &len);
                if (r < 0)
                        return r;
                if (r == 0) {
                        if ((r = vmx_fill(rd, io)) <= 0)
                                return r;
                        continue;
                }
                _cleanup_free_ char *s = strndup((const char *)p, len);
                if (!s)
                        return -ENOMEM;
                switch (type) {
                case VMX_HELLO:
                        /* A new HELLO on the serial line: the host gave up on what came before. */
                        request_done(q);
                        *q = (struct request){};
                        hello = true;
                        if ((r = vmx_send_str(io, VMX_HELLO, VMX_MAGIC)) < 0)
                                return r;
                        break;
                case VMX_ARG:
                        r = strv_extend(&q->argv, s);
                        break;
                case VMX_ENV:
                        r = strv_extend(&q->env, s);
                        break;
                case VMX_WORKDIR:
                        free(q->workdir);
                        q->workdir = TAKE_PTR(s);
                        break;
                case VMX_USER:
                        free(q->user);
                        q->user = TAKE_PTR(s);
                        break;
                case VMX_TERMINAL:
                        q->terminal = true;
                        if (sscanf(s, "%hu %hu", &q->rows, &q->cols) != 2)
                                q->rows = q->cols = 0;
                        break;
                case VMX_RUN:
                        return hello && q->argv ? 1 : -EPROTO;
                case VMX_NIC_UP:
                case VMX_NIC_DOWN:
                        if (!hello)
                                return -EPROTO;
                        q->nic_type = type;
                        q->nic_len = len;
                        q->nic = TAKE_PTR(s);
                        return 1;
                default:
                        break;
                }
                if (r < 0)
                        return r;
        }
}

static int send_status(int io, int status)
{
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", status);
        return vmx_send_str(io, VMX_STATUS, buf);
}

/*
 * Stdin data, its end, signals and terminal sizes from the host, for the session's process. True when a HELLO
 * came: on the serial line that is a new session, the host gave up on this one (a killed
 * `hull vm exec`), whose process must not keep the line.
 */
static bool handle_input(struct vmx_reader *rd, pid_t pid, int in[2], bool terminal, int master)
{
        const uint8_t *pl;
        uint32_t len;
        char type;

        while (vmx_next(rd, &type, &pl, &len) > 0) {
                if (type == VMX_HELLO)
                        return true;
                if (type == VMX_STDIN && in[1] >= 0)
                        (void)!write_all(in[1], pl, len);
                else if (type == VMX_STDIN_CLOSE && in[1] >= 0) {
                        /* A terminal has no end of input to close: its EOF character says it. */
                        if (terminal)
                                (void)!write(in[1], "\x04", 1);
                        close(in[1]);
                        in[1] = -1;
                } else if (type == VMX_RESIZE && master >= 0 && len < 32) {
                        /* On the master: the kernel sends SIGWINCH to the terminal's foreground group. */
                        char s[32] = {};
                        unsigned short rows, cols;
                        memcpy(s, pl, len);
                        if (sscanf(s, "%hu %hu", &rows, &cols) == 2)
                                (void)ioctl(master, TIOCSWINSZ, &(struct winsize){.ws_row = rows, .ws_col = cols});
                } else if (type == VMX_SIGNAL && len > 0 && len < 8) {
                        char s[8] = {};
                        memcpy(s, pl, len);
                        kill(pid, atoi(s));
                }
        }
        return false;
}

/* Run one request and relay its stdio until it exits and its output is drained. */
static void close_all(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

/*
 * The session's stdio: pipes, or with a terminal a pty whose master serves as both ends
 * (out[0] for output, in[1] for input) and whose slave the child opens as its controlling
 * terminal (slave_name).
 */
static int session_stdio(const struct request *q, int in[2], int out[2], int errp[2], char *slave_name,
                         size_t size)
{
        if (!q->terminal)
                return pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0
                               ? -errno
                               : 0;
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave_name, size) != 0) {
                int r = -errno;
                if (m >= 0)
                        close(m);
                return r;
        }
        if (q->rows && q->cols)
                (void)ioctl(m, TIOCSWINSZ, &(struct winsize){.ws_row = q->rows, .ws_col = q->cols});
        out[0] = m;
        in[1] = fcntl(m, F_DUPFD_CLOEXEC, 3);
        return in[1] < 0 ? -errno : 0;
}

/* Run one request and relay its stdio until it exits and its output is drained. */
static int run_session(int io, struct vmx_reader *rd, const struct request *q)
{
        int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, ep[2] = {-1, -1};
        int e = 0, status = -1, pidfd = -1, r;
        bool abandoned = false;
        char slave[64];
        pid_t pid;

        r = session_stdio(q, in, out, errp, slave, sizeof(slave));
        if (r < 0 || pipe2(ep, O_CLOEXEC) < 0) {
                int fds[] = {in[0], in[1], out[0], out[1], errp[0], errp[1]};
                close_all(fds, ELEMENTSOF(fds));
                vmx_send_str(io, VMX_FAIL, "cannot make the process's stdio");
                return send_status(io, 126);
        }
        pid = fork();
        if (pid == 0) {
                setsid();
                if (q->terminal) {
                        int t = open(slave, O_RDWR);
                        if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
                                _exit(126);
                        dup2(t, 0);
                        dup2(t, 1);
                        dup2(t, 2);
                } else {
                        dup2(in[0], 0);
                        dup2(out[1], 1);
                        dup2(errp[1], 2);
                }
                init_exec_process(q->argv, q->env, q->workdir, q->user, ep[1]);
                _exit(127);
        }
        {
                int ours[] = {in[0], out[1], errp[1], ep[1]};
                close_all(ours, ELEMENTSOF(ours));
                in[0] = out[1] = errp[1] = ep[1] = -1;
        }
        if (pid < 0 || read(ep[0], &e, sizeof(e)) == sizeof(e)) {
                char msg[512];
                snprintf(msg, sizeof(msg), "%s: %s", q->argv[0], strerror(pid < 0 ? errno : e));
                if (pid > 0)
                        waitpid(pid, NULL, 0);
                int fds[] = {in[1], out[0], errp[0], ep[0]};
                close_all(fds, ELEMENTSOF(fds));
                vmx_send_str(io, VMX_FAIL, msg);
                return send_status(io, pid > 0 && e == ENOENT ? 127 : 126);
        }
        close(ep[0]);
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

        while (abandoned ? status < 0 : out[0] >= 0 || errp[0] >= 0 || status < 0) {
                struct pollfd p[4] = {
                        {.fd = io, .events = POLLIN},
                        {.fd = out[0], .events = POLLIN},
                        {.fd = errp[0], .events = POLLIN},
                        {.fd = status < 0 ? pidfd : -1, .events = POLLIN},
                };
                uint8_t buf[16384];

                /* Frames that came with the request (stdin, its end) are already in the buffer. */
                if (!abandoned && handle_input(rd, pid, in, q->terminal, q->terminal ? out[0] : -1)) {
                        kill(pid, SIGKILL);
                        abandoned = true;
                }
                /* Once the process exited, its output is drained for a moment only: a child it left
                 * in the background may hold the pipes open for as long as it likes. */
                int k = poll(p, ELEMENTSOF(p), status >= 0 ? 200 : pidfd < 0 ? 100 : -1);
                if (k < 0 && errno != EINTR)
                        break;
                if (k == 0 && status >= 0)
                        break;
                for (int i = 1; i <= 2; i++) {
                        int *fd = i == 1 ? &out[0] : &errp[0];
                        if (!(p[i].revents & (POLLIN | POLLHUP)))
                                continue;
                        ssize_t n = read(*fd, buf, sizeof(buf));
                        if (n <= 0) {
                                close(*fd);
                                *fd = -1;
                        } else
                                vmx_send(io, i == 1 ? VMX_STDOUT : VMX_STDERR, buf, (uint32_t)n);
                }
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        if (vmx_fill(rd, io) <= 0) {
                                /* The host went away: the session's process goes with it. */
                                kill(pid, SIGKILL);
                                io = -1;
                        } else if (!abandoned && handle_input(rd, pid, in, q->terminal, q->terminal ? out[0] : -1)) {
                                kill(pid, SIGKILL);
                                abandoned = true;
                        }
                }
                int st;
                if (status < 0 && waitpid(pid, &st, WNOHANG) == pid)
                        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                if (io < 0 && status >= 0)
                        break;
        }
        {
                int fds[] = {in[1], out[0], errp[0], pidfd};
                close_all(fds, ELEMENTSOF(fds));
        }
        return io < 0 || abandoned ? 0 : send_status(io, status);
}

/* A NIC request: configure or take down the NIC the host plugs in or is about to unplug. */
static int nic_session(int io, const struct request *q)
{
        char err[256] = "";
        int r;

        if (q->nic_type == VMX_NIC_UP)
                r = net_nic_up(q->nic, q->nic_len, err, sizeof(err));
        else
                r = net_nic_down(q->nic, err, sizeof(err));
        if (r < 0)
                vmx_send_str(io, VMX_FAIL, err);
        return send_status(io, r < 0 ? 1 : 0);
}

static _noreturn_ void serve_serial(void)
{
        static struct vmx_reader rd;
        struct termios t;
        int io = open(EXEC_SERIAL, O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (io < 0 || tcgetattr(io, &t) < 0)
                _exit(0);
        cfmakeraw(&t);
        t.c_cflag &= ~(tcflag_t)CRTSCTS;
        t.c_iflag &= ~(tcflag_t)(IXOFF | IXANY);
        cfsetspeed(&t, B115200);
        tcsetattr(io, TCSANOW, &t);
        /* What came before the line was raw went through the line discipline: the host repeats HELLO. */
        tcflush(io, TCIOFLUSH);
        for (;;) {
                struct request q = {};
                int r = read_request(io, &rd, true, &q);
                if (r > 0 && q.nic_type)
                        nic_session(io, &q);
                else if (r > 0)
                        run_session(io, &rd, &q);
                else if (r < 0)
                        rd.len = rd.consumed = 0;
                else
                        usleep(100000);
                request_done(&q);
        }
}

static _noreturn_ void serve_vsock(void)
{
        struct sockaddr_vm a = {
                .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = EXEC_VSOCK_PORT};
        int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
                _exit(0);
        signal(SIGCHLD, SIG_IGN);
        for (;;) {
                int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                if (fork() == 0) {
                        static struct vmx_reader rd;
                        struct request q = {};
                        signal(SIGCHLD, SIG_DFL);
                        if (read_request(c, &rd, false, &q) > 0)
                                q.nic_type ? nic_session(c, &q) : run_session(c, &rd, &q);
                        _exit(0);
                }
                close(c);
        }
}

void exec_servers_start(void)
{
        if (fork() == 0) {
                sigset_t all;
                sigfillset(&all);
                sigprocmask(SIG_UNBLOCK, &all, NULL);
                serve_serial();
        }
        if (fork() == 0) {
                sigset_t all;
                sigfillset(&all);
                sigprocmask(SIG_UNBLOCK, &all, NULL);
                serve_vsock();
        }
}
