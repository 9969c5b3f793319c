/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-monitor.c - the monitor of one VM (`hull vm-monitor DIR`, spawned by vm_start() in
 * its own session): it runs the VMM of the launch file with pipes as the guest's console,
 * appends everything the guest writes to console.log and to every client of the console
 * socket (whose input goes to the guest), watches the VMM's control connection for why it
 * ends (vmm-backend.h), records each run's end in the status file (status.h, the same file
 * as a container's monitor), applies the restart policy, and removes the sockets when the VM
 * is over.
 *
 * Exit code of a run: the guest's own when hull's guest init reported one on the console
 * ("HULL-VM-EXIT=<n>", the main process's status); else 0 after a power-off or a reboot,
 * 128+N when the VMM was killed by signal N, 2 after a guest crash, 143 when it was stopped
 * from outside, 125 when the VMM failed (the last line of vmm.log is the error).
 *
 * Restart policy (Docker's): "no"; "always" and "unless-stopped" after any end;
 * "on-failure[:N]" after a non-zero exit code, at most N times. A guest reboot always
 * restarts (hull-vmm and QEMU with -no-reboot end the process instead of resetting the
 * machine). Nothing restarts once the engine wrote the "stop" file (stop, kill). Backoff:
 * 100 ms doubling up to 1 min, back to 100 ms after a run of 10 s.
 *
 * The VMM gets PR_SET_PDEATHSIG(SIGKILL): a monitor killed with -9 takes its VM with it
 * (nobody else holds the console), and the next command that looks records the end.
 *
 * Single-threaded: one poll() loop over a signalfd, the VMM's output, the control
 * connection, the console socket and its clients.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "util.h"
#include "vm-internal.h"

#define MAX_CLIENTS   16
#define CLIENT_QUEUE  (4u << 20)  /* a client that falls this far behind is dropped */
#define LOG_MAX       (16u << 20) /* console.log is renamed console.log.1 past this size */
#define BACKOFF_START 100
#define BACKOFF_MAX   60000
#define BACKOFF_RESET 10000

int vm_restart_parse(const char *s, bool *ret_always, unsigned *ret_max_failures)
{
        bool always = false;
        uint32_t max = 0;
        const char *n;

        if (!s || streq(s, "no"))
                max = 0;
        else if (streq(s, "always") || streq(s, "unless-stopped"))
                always = true;
        else if (streq(s, "on-failure"))
                max = UINT32_MAX;
        else if ((n = startswith(s, "on-failure:"))) {
                if (parse_u32(n, &max) < 0 || max == 0)
                        return -EINVAL;
        } else
                return -EINVAL;
        if (ret_always)
                *ret_always = always;
        if (ret_max_failures)
                *ret_max_failures = max;
        return 0;
}


struct vmon {
        struct monitor_status st;
        enum vmm_kind kind;
        char **argv;
        bool always, auto_remove;
        unsigned max_failures;
        int log_fd, listen_fd;
        uint64_t log_size;
        struct vclient {
                int fd;
                char *queue; /* output the client has not taken yet */
                size_t queued;
                bool initial; /* the foreground hull that started the VM */
        } clients[MAX_CLIENTS];
        size_t n_clients;
        char line[256]; /* the console's current line, for the exit marker */
        size_t line_len;
        int guest_exit; /* -1: not reported */
};

static void note(const char *fmt, ...) _printf_(1, 2);
static void note(const char *fmt, ...)
{
        _cleanup_close_ int fd =
                open("monitor.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        char buf[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        n = MIN(n, (int)sizeof(buf) - 2);
        buf[n++] = '\n';
        if (fd >= 0)
                (void)!write(fd, buf, (size_t)n);
}

static void drop_client(struct vmon *m, size_t i)
{
        close(m->clients[i].fd);
        free(m->clients[i].queue);
        m->clients[i] = m->clients[--m->n_clients];
}

static void add_client(struct vmon *m, int fd, bool initial)
{
        if (m->n_clients == MAX_CLIENTS) {
                close(fd);
                return;
        }
        fd_nonblock(fd, true);
        m->clients[m->n_clients++] = (struct vclient){.fd = fd, .initial = initial};
}

/* Write what the client has queued, then buf; queue what the socket does not take. <0: drop it. */
static int client_send(struct vclient *c, const char *buf, size_t n)
{
        if (c->queued) {
                ssize_t k = write(c->fd, c->queue, c->queued);
                if (k < 0 && errno != EAGAIN)
                        return -errno;
                if (k > 0) {
                        memmove(c->queue, c->queue + k, c->queued - (size_t)k);
                        c->queued -= (size_t)k;
                }
        }
        if (!c->queued && n) {
                ssize_t k = write(c->fd, buf, n);
                if (k < 0 && errno != EAGAIN)
                        return -errno;
                if (k > 0) {
                        buf += k;
                        n -= (size_t)k;
                }
        }
        if (!n)
                return 0;
        if (c->queued + n > CLIENT_QUEUE)
                return -ENOBUFS;
        char *q = realloc(c->queue, c->queued + n);
        if (!q)
                return -ENOMEM;
        memcpy(q + c->queued, buf, n);
        c->queue = q;
        c->queued += n;
        return 0;
}

/* Guest output: to the log, to each client (one that cannot keep up is dropped), and the marker. */
static void console_output(struct vmon *m, const char *buf, size_t n)
{
        /* A guest that writes forever does not fill the host's disk: one older file is kept. */
        if (m->log_size + n > LOG_MAX && rename(VM_CONSOLE_LOG, VM_CONSOLE_LOG ".1") == 0) {
                int fd = open(VM_CONSOLE_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0) {
                        close(m->log_fd);
                        m->log_fd = fd;
                        m->log_size = 0;
                }
        }
        if (write_all(m->log_fd, buf, n) >= 0)
                m->log_size += n;
        for (size_t i = 0; i < m->n_clients;)
                if (client_send(&m->clients[i], buf, n) < 0)
                        drop_client(m, i);
                else
                        i++;
        for (size_t i = 0; i < n; i++) {
                if (buf[i] != '\n' && buf[i] != '\r') {
                        if (m->line_len < sizeof(m->line) - 1)
                                m->line[m->line_len++] = buf[i];
                        continue;
                }
                m->line[m->line_len] = 0;
                const char *v = strstr(m->line, VM_EXIT_MARKER);
                int code;
                if (v && parse_int(v + strlen(VM_EXIT_MARKER), &code) >= 0)
                        m->guest_exit = code;
                m->line_len = 0;
        }
}

static int read_launch(struct vmon *m)
{
        _cleanup_json_ struct json_object *o = NULL;
        const char *kind, *restart;
        int64_t restarts = 0;
        int r;

        if ((r = json_parse_file(VM_LAUNCH_FILE, 1 << 20, &o)) < 0 ||
            (r = json_get_string(o, "vmm", "vmm", &kind)) < 0 ||
            (r = json_get_strv(o, "argv", "argv", &m->argv)) < 0 ||
            (r = json_get_string(o, "restart", "restart", &restart)) < 0)
                return r;
        (void)json_get_int64(o, "restarts", "restarts", &restarts);
        (void)json_get_bool(o, "auto_remove", "auto_remove", &m->auto_remove);
        err_clear();
        m->kind = vmm_kind_from_string(kind);
        m->st.restarts = (unsigned)restarts;
        if (m->kind < 0 || !m->argv || !m->argv[0] ||
            vm_restart_parse(restart, &m->always, &m->max_failures) < 0)
                return -EINVAL;
        return 0;
}

/* Before a restart: `network connect|disconnect` of the running VM (vm-hotplug.c) may have changed its
 * NICs, and the launch file's command line with them. */
static void reread_argv(struct vmon *m)
{
        _cleanup_json_ struct json_object *o = NULL;
        char **argv = NULL;

        if (json_parse_file(VM_LAUNCH_FILE, 1 << 20, &o) >= 0 &&
            json_get_strv(o, "argv", "argv", &argv) >= 0 && argv && argv[0]) {
                strv_free(m->argv);
                m->argv = argv;
                return;
        }
        strv_free(argv);
        err_clear();
}

static int listen_console(void)
{
        struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = VM_CONSOLE_SOCK};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        unlink(VM_CONSOLE_SOCK);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(VM_CONSOLE_SOCK, 0600) < 0 ||
            listen(fd, 8) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* fork+exec rather than posix_spawn: the child needs PR_SET_PDEATHSIG before it executes the VMM. */
static pid_t spawn_vmm(struct vmon *m, int in, int out)
{
        int err = open(VM_VMM_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        sigset_t all;
        pid_t pid;

        if (err < 0)
                return -errno;
        pid = fork();
        if (pid != 0) {
                close(err);
                return pid < 0 ? -errno : pid;
        }
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(125);
        execvp(m->argv[0], m->argv);
        dprintf(2, "cannot execute %s: %m\n", m->argv[0]);
        _exit(127);
}

/* The last line of vmm.log: what the VMM said before failing. */
static void vmm_error(char *buf, size_t size)
{
        _cleanup_free_ char *log = NULL;
        size_t n = 0;

        buf[0] = 0;
        if (read_full_file(VM_VMM_LOG, 1 << 20, &log, &n) < 0 || n == 0)
                return;
        while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == '\r'))
                log[--n] = 0;
        char *last = strrchr(log, '\n');
        snprintf(buf, size, "%s", last ? last + 1 : log);
}

static int exit_code_of(const struct vmon *m, enum vmm_exit how, int wstatus)
{
        if (m->guest_exit >= 0)
                return m->guest_exit;
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        switch (how) {
        case VMM_EXIT_POWEROFF:
        case VMM_EXIT_REBOOT:
                return 0;
        case VMM_EXIT_CRASH:
                return 2;
        case VMM_EXIT_STOPPED:
                return 143;
        default:
                return 125;
        }
}

/* One run of the VMM, from spawn to exit. Returns how it ended; the wait status through ret. */
static enum vmm_exit run_once(struct vmon *m, int sfd, int *ret_wstatus)
{
        int in[2], out[2], ctl = -EBADF, wstatus = 0;
        enum vmm_exit reported = _VMM_EXIT_INVALID;
        bool exited = false;
        uint64_t start;
        pid_t pid;

        *ret_wstatus = 0;
        m->guest_exit = -1;
        /* A VMM killed with -9 leaves its sockets, and hull-vmm refuses to reuse a path. */
        static const char *const stale[] = {VMM_SOCK, VMM_EXEC_SOCK, "qmp-events.sock"};
        for (size_t i = 0; i < ELEMENTSOF(stale); i++)
                unlink(stale[i]);
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
                snprintf(m->st.error, sizeof(m->st.error), "cannot make the console's pipes: %m");
                return VMM_EXIT_FAILED;
        }
        pid = spawn_vmm(m, in[0], out[1]);
        close(in[0]);
        close(out[1]);
        if (pid < 0) {
                close(in[1]);
                close(out[0]);
                snprintf(m->st.error, sizeof(m->st.error), "cannot start the VMM: %s", strerror((int)-pid));
                return VMM_EXIT_FAILED;
        }
        snprintf(m->st.state, sizeof(m->st.state), "running");
        m->st.pid = pid;
        m->st.pid_start = proc_start_time(pid, &start) >= 0 ? (int64_t)start : 0;
        m->st.started = now_ns();
        m->st.finished = 0;
        m->st.exit_code = -1;
        m->st.error[0] = 0;
        (void)monitor_status_write(".", &m->st);
        ctl = vmm_backend_connect(m->kind, ".", 5000);
        if (ctl < 0)
                err_clear();

        while (!exited || out[0] >= 0) {
                struct pollfd p[4 + MAX_CLIENTS] = {
                        {.fd = sfd, .events = POLLIN},
                        {.fd = out[0], .events = POLLIN},
                        {.fd = ctl, .events = POLLIN},
                        {.fd = m->listen_fd, .events = POLLIN},
                };
                char buf[16384];
                size_t nc = m->n_clients;

                for (size_t i = 0; i < nc; i++)
                        p[4 + i] = (struct pollfd){.fd = m->clients[i].fd,
                                                   .events = POLLIN | (m->clients[i].queued ? POLLOUT : 0)};
                /* After the VMM's exit, drain its output, but not forever (a child it left). */
                if (poll(p, 4 + nc, exited ? 200 : -1) == 0 && exited)
                        break;
                if (p[1].revents) {
                        ssize_t n = read(out[0], buf, sizeof(buf));
                        if (n > 0)
                                console_output(m, buf, (size_t)n);
                        else if (n == 0 || errno != EINTR) {
                                close(out[0]);
                                out[0] = -1;
                        }
                }
                if (p[2].revents && vmm_backend_read_events(m->kind, ctl, &reported) <= 0) {
                        err_clear();
                        close(ctl);
                        ctl = -EBADF;
                }
                if (p[3].revents & POLLIN) {
                        int c = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c >= 0)
                                add_client(m, c, false);
                }
                for (size_t i = nc; i-- > 0;) {
                        if (!p[4 + i].revents)
                                continue;
                        if (p[4 + i].revents & POLLOUT && client_send(&m->clients[i], NULL, 0) < 0) {
                                drop_client(m, i);
                                continue;
                        }
                        if (!(p[4 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t n = read(m->clients[i].fd, buf, sizeof(buf));
                        if (n <= 0)
                                drop_client(m, i);
                        else if (in[1] >= 0 && write_all(in[1], buf, (size_t)n) < 0) {
                                close(in[1]);
                                in[1] = -1;
                        }
                }
                if (p[0].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
                                    si.ssi_signo == SIGHUP) {
                                        (void)!write_file_atomic(VM_STOP_FILE, "stop\n", 5, 0600);
                                        kill(pid, SIGTERM);
                                }
                        if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid)
                                exited = true;
                }
        }
        if (!exited)
                waitpid(pid, &wstatus, 0);
        if (ctl >= 0) {
                /* QEMU sends SHUTDOWN before it exits: read what is still queued. */
                (void)vmm_backend_read_events(m->kind, ctl, &reported);
                err_clear();
                close(ctl);
        }
        if (in[1] >= 0)
                close(in[1]);
        if (out[0] >= 0)
                close(out[0]);
        *ret_wstatus = wstatus;
        return vmm_backend_exit(m->kind, wstatus, reported);
}

static void remove_sockets(void)
{
        static const char *const socks[] = {VMM_SOCK, VMM_EXEC_SOCK, VM_CONSOLE_SOCK, "qmp-events.sock"};
        for (size_t i = 0; i < ELEMENTSOF(socks); i++)
                unlink(socks[i]);
}

/* The store's root and the VM's id, from the monitor's directory (<root>/vms/<id>). */
static int root_and_id(char **ret_root, char **ret_id)
{
        /* The monitor runs in the VM's directory. */
        _cleanup_free_ char *abs = realpath(".", NULL), *root = NULL;
        char *slash;

        if (!abs || !(slash = strrchr(abs, '/')) || !(root = strndup(abs, (size_t)(slash - abs))))
                return -ENOMEM;
        slash = strrchr(root, '/'); /* <root>/vms */
        if (!slash)
                return -EINVAL;
        *slash = 0;
        if (!(*ret_id = strdup(strrchr(abs, '/') + 1)))
                return -ENOMEM;
        *ret_root = TAKE_PTR(root);
        return 0;
}

/*
 * `vm run --rm` whose hull was killed: nobody else will remove the VM. `hull --root <root> vm rm
 * <id>`, run by this same executable once the status is final; the removal takes the VM's lock,
 * so it cannot race a command on the VM.
 */
static void remove_self(void)
{
        _cleanup_free_ char *root = NULL, *id = NULL;

        if (root_and_id(&root, &id) < 0)
                return;
        char *const argv[] = {(char *)"hull", (char *)"--root", root, (char *)"vm", (char *)"rm", id, NULL};
        note("the foreground hull is gone: removing the VM (--rm)");
        if (chdir("/") < 0)
                return;
        execv("/proc/self/exe", argv);
        note("cannot run hull vm rm: %m");
}

/*
 * The run is over for good: `hull --root <root> vm cleanup <id>` gives its network back now
 * rather than at the next command that looks at the VM (vm-net.c). Waited for, with a bound:
 * the status is final already, so whoever looks meanwhile does the same.
 */
static void release_network(void)
{
        _cleanup_free_ char *root = NULL, *id = NULL;
        pid_t pid;

        if (access(ENGINE_NET_RECORD, F_OK) < 0 || root_and_id(&root, &id) < 0)
                return;
        char *const argv[] = {
                (char *)"hull", (char *)"--root", root, (char *)"vm", (char *)"cleanup", id, NULL};
        pid = fork();
        if (pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (chdir("/") == 0)
                        execv("/proc/self/exe", argv);
                _exit(127);
        }
        for (int i = 0; pid > 0 && i < 300; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return;
                usleep(100000);
        }
        if (pid > 0)
                note("hull vm cleanup did not finish: the next command on the VM detaches it");
        else
                note("cannot run hull vm cleanup: %m");
}

int vm_monitor_main(const char *dir, int console_fd)
{
        struct vmon m = {.log_fd = -EBADF, .listen_fd = -EBADF};
        int64_t backoff = BACKOFF_START;
        uint64_t start;
        sigset_t mask;
        int sfd, r;

        if (chdir(dir) < 0)
                return 125;
        monitor_status_init(&m.st);
        m.st.monitor_pid = getpid();
        m.st.monitor_start = proc_start_time(getpid(), &start) >= 0 ? (int64_t)start : 0;
        snprintf(m.st.state, sizeof(m.st.state), "starting");
        if (console_fd >= 0)
                add_client(&m, console_fd, true);
        if ((r = read_launch(&m)) < 0) {
                note("cannot read the launch file: %s", err_msg(r));
                snprintf(m.st.error, sizeof(m.st.error), "cannot read the launch file: %s", err_msg(r));
                goto final;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        m.log_fd = open(VM_CONSOLE_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        struct stat lst;
        m.log_size = m.log_fd >= 0 && fstat(m.log_fd, &lst) == 0 ? (uint64_t)lst.st_size : 0;
        m.listen_fd = listen_console();
        if (sfd < 0 || m.log_fd < 0 || m.listen_fd < 0) {
                snprintf(m.st.error, sizeof(m.st.error), "cannot set up the monitor: %m");
                goto final;
        }
        for (;;) {
                int64_t t0 = now_ms();
                int wstatus;
                enum vmm_exit how = run_once(&m, sfd, &wstatus);
                bool stop = access(VM_STOP_FILE, F_OK) == 0, restart;

                snprintf(m.st.state, sizeof(m.st.state), "exited");
                m.st.exit_code = exit_code_of(&m, how, wstatus);
                m.st.finished = now_ns();
                if (how == VMM_EXIT_FAILED && !m.st.error[0] && !WIFSIGNALED(wstatus))
                        vmm_error(m.st.error, sizeof(m.st.error));
                note("vmm ended: %s, exit code %d", vmm_exit_to_string(how), m.st.exit_code);
                restart = !stop && how != VMM_EXIT_FAILED &&
                          (how == VMM_EXIT_REBOOT || m.always ||
                           (m.st.exit_code != 0 && m.max_failures && m.st.restarts < m.max_failures));
                /* A VMM killed from outside (kill -9) is a failure the policy covers. */
                if (!stop && how == VMM_EXIT_FAILED && WIFSIGNALED(wstatus))
                        restart = m.always || (m.max_failures && m.st.restarts < m.max_failures);
                if (!restart)
                        break;
                (void)monitor_status_write(".", &m.st);
                backoff = now_ms() - t0 >= BACKOFF_RESET ? BACKOFF_START : backoff;
                /* In steps, so that a stop during the backoff (up to a minute) is seen at once. */
                for (int64_t until = now_ms() + backoff;
                     now_ms() < until && access(VM_STOP_FILE, F_OK) < 0;)
                        usleep(50000);
                backoff = MIN(backoff * 2, (int64_t)BACKOFF_MAX);
                if (access(VM_STOP_FILE, F_OK) == 0)
                        break;
                m.st.restarts++;
                reread_argv(&m);
        }
final:
        remove_sockets();
        m.st.final = m.st.cleaned = true;
        if (!streq(m.st.state, "exited")) {
                snprintf(m.st.state, sizeof(m.st.state), "exited");
                m.st.exit_code = 125;
                m.st.finished = now_ns();
        }
        (void)monitor_status_write(".", &m.st);
        bool foreground = false;
        for (size_t i = 0; i < m.n_clients; i++)
                foreground = foreground || m.clients[i].initial;
        /* The clients see the end of the stream once the status is final, after what they have queued. */
        for (size_t i = 0; i < m.n_clients; i++) {
                struct timeval tv = {.tv_sec = 2};
                fd_nonblock(m.clients[i].fd, false);
                /* ...but a client that stopped reading does not keep the monitor alive. */
                setsockopt(m.clients[i].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                if (m.clients[i].queued)
                        (void)!write_all(m.clients[i].fd, m.clients[i].queue, m.clients[i].queued);
                close(m.clients[i].fd);
                free(m.clients[i].queue);
        }
        strv_free(m.argv);
        if (m.auto_remove && !foreground)
                remove_self();
        release_network();
        return 0;
}
