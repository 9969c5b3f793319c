/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - hull-monitor: options, the container's life (start, exit, restart, end) and
 * the poll loop. See monitor.h for what the process is for.
 *
 * Restart policy (Docker's semantics): "no"; "always" and "unless-stopped" restart after
 * any exit; "on-failure[:N]" after a non-zero exit, at most N times. None applies when
 * the engine asked for the stop (the "stop" file). Backoff: 100 ms, doubled at each
 * restart up to one minute, back to 100 ms once a run lasted 10 s (Docker's restart
 * manager).
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "monitor.h"
#include "util.h"

#define BACKOFF_START  (100 * 1000000LL)
#define BACKOFF_MAX    (60 * 1000000000LL)
#define BACKOFF_RESET  (10 * 1000000000LL)
#define DRAIN_TIMEOUT  (2 * 1000000000LL)
#define LINGER_TIMEOUT (2 * 1000000000LL)

int64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Append a line to <dir>/monitor.log: the only place a detached monitor can say what went wrong. */
void monitor_note(struct monitor *m, const char *fmt, ...)
{
        char line[1024], t[48];
        va_list ap;
        int fd, n;

        n = snprintf(line, sizeof(line), "%s ", logfile_format_time(now_ns(), t, sizeof(t)));
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        n = MIN(n, (int)sizeof(line) - 2);
        line[n++] = '\n';
        fd = openat(AT_FDCWD, "monitor.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
                (void)!write(fd, line, (size_t)n);
                close(fd);
        }
}

int monitor_write_status(struct monitor *m)
{
        int r = monitor_status_write(".", &m->st);
        if (r < 0)
                monitor_note(m, "cannot write the status file: %s", strerror(-r));
        return r;
}

static int parse_restart(const char *s, struct options *o)
{
        const char *n;

        if (streq(s, "no"))
                o->restart = RESTART_NO;
        else if (streq(s, "always"))
                o->restart = RESTART_ALWAYS;
        else if (streq(s, "unless-stopped"))
                o->restart = RESTART_UNLESS_STOPPED;
        else if (streq(s, "on-failure"))
                o->restart = RESTART_ON_FAILURE;
        else if ((n = startswith(s, "on-failure:"))) {
                o->restart = RESTART_ON_FAILURE;
                return parse_u32(n, &o->restart_max);
        } else
                return -EINVAL;
        return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option lo[] = {
                {"id", required_argument, NULL, 'i'},
                {"dir", required_argument, NULL, 'd'},
                {"runtime", required_argument, NULL, 'R'},
                {"runtime-root", required_argument, NULL, 'T'},
                {"rootfs", required_argument, NULL, 'f'},
                {"log-path", required_argument, NULL, 'l'},
                {"log-max-size", required_argument, NULL, 'S'},
                {"log-max-files", required_argument, NULL, 'F'},
                {"tty", no_argument, NULL, 't'},
                {"stdin", no_argument, NULL, 's'},
                {"netns-fd", required_argument, NULL, 'n'},
                {"wait-network", no_argument, NULL, 'W'},
                {"exit-command-unless-stopped", no_argument, NULL, 'U'},
                {"restart", required_argument, NULL, 'r'},
                {"restarts", required_argument, NULL, 'c'},
                {"health-process", required_argument, NULL, 'H'},
                {"health-interval", required_argument, NULL, 'I'},
                {"health-timeout", required_argument, NULL, 'O'},
                {"health-start-period", required_argument, NULL, 'P'},
                {"health-retries", required_argument, NULL, 'N'},
                {"oom-file", required_argument, NULL, 'o'},
                {"cgroup-path", required_argument, NULL, 'g'},
                {"attach-fd", required_argument, NULL, 'a'},
                {"exit-command", required_argument, NULL, 'x'},
                {},
        };
        int k, r = 0;
        uint64_t u;

        *o = (struct options){.attach_fd = -EBADF,
                              .netns_fd = -EBADF,
                              .log_max_files = 1,
                              .health_retries = 3,
                              .health_interval = 30000000000LL,
                              .health_timeout = 30000000000LL};
        opterr = 0;
        while ((k = getopt_long(argc, argv, "", lo, NULL)) != -1) {
                switch (k) {
                case 'i':
                        o->id = optarg;
                        break;
                case 'd':
                        o->dir = optarg;
                        break;
                case 'R':
                        o->runtime = optarg;
                        break;
                case 'T':
                        o->runtime_root = optarg;
                        break;
                case 'f':
                        o->rootfs = optarg;
                        break;
                case 'l':
                        o->log_path = optarg;
                        break;
                case 'S':
                        r = parse_u64(optarg, &o->log_max_size);
                        break;
                case 'F':
                        r = parse_u32(optarg, &o->log_max_files);
                        break;
                case 't':
                        o->tty = true;
                        break;
                case 's':
                        o->stdin_open = true;
                        break;
                case 'n':
                        r = parse_int(optarg, &o->netns_fd);
                        /* Ours for the container's life; never inherited by what we run but the runtime. */
                        if (r >= 0 && fcntl(o->netns_fd, F_SETFD, FD_CLOEXEC) < 0)
                                r = -errno;
                        break;
                case 'W':
                        o->wait_network = true;
                        break;
                case 'U':
                        o->exit_command_unless_stopped = true;
                        break;
                case 'r':
                        r = parse_restart(optarg, o);
                        break;
                case 'c':
                        r = parse_u32(optarg, &o->restarts);
                        break;
                case 'H':
                        o->health_process = optarg;
                        break;
                case 'I':
                        r = parse_u64(optarg, &u);
                        o->health_interval = (int64_t)u;
                        break;
                case 'O':
                        r = parse_u64(optarg, &u);
                        o->health_timeout = (int64_t)u;
                        break;
                case 'P':
                        r = parse_u64(optarg, &u);
                        o->health_start_period = (int64_t)u;
                        break;
                case 'N':
                        r = parse_u32(optarg, &o->health_retries);
                        break;
                case 'o':
                        o->oom_file = optarg;
                        break;
                case 'g':
                        o->cgroup_path = optarg;
                        break;
                case 'a':
                        r = parse_int(optarg, &o->attach_fd);
                        break;
                case 'x':
                        r = strv_extend(&o->exit_command, optarg);
                        break;
                default:
                        r = -EINVAL;
                        break;
                }
                if (r < 0) {
                        fprintf(stderr, "hull-monitor: invalid option '%s'\n", argv[optind - 1]);
                        return r;
                }
        }
        if (!o->id || !o->dir || !o->runtime || !o->runtime_root || optind != argc) {
                fprintf(stderr, "hull-monitor: usage: hull-monitor --id ID --dir DIR --runtime PATH "
                                "--runtime-root DIR [options]\n(started by hull; see docs/engine.md)\n");
                return -EINVAL;
        }
        if (o->health_interval <= 0)
                o->health_interval = 30000000000LL;
        if (o->health_timeout <= 0)
                o->health_timeout = 30000000000LL;
        return 0;
}

/*
 * The engine attaches the container's namespace to its networks once we exist (we are the
 * endpoints' owner: when we are gone, so is the namespace), then says so on the initial
 * conversation. Its end without that word: the engine failed or was killed, nothing may run.
 */
static int wait_network(struct monitor *m)
{
        struct pollfd p = {.fd = m->o.attach_fd, .events = POLLIN};
        char buf[ATTACH_MSG_MAX];
        ssize_t n;

        for (;;) {
                /* The socket is non-blocking (setup()): wait for the word, or the engine's end. */
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return -errno;
                n = recv(m->o.attach_fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ECONNRESET))
                        continue;
                return n >= 1 && buf[0] == ATTACH_NETWORK_READY ? 0 : -ECONNABORTED;
        }
}

static void launch(struct monitor *m)
{
        int r;

        m->exited = false;
        r = runtime_launch(m);
        if (r < 0) {
                int32_t code = m->st.exit_code;
                char msg[4 + sizeof(m->st.error)];

                /* Not started: nothing to restart, the error is final. */
                m->st.finished = now_ns();
                snprintf(m->st.state, sizeof(m->st.state), "exited");
                monitor_write_status(m);
                runtime_delete(m, true);
                m->st.cleaned = m->st.final = true;
                monitor_write_status(m);
                memcpy(msg, &code, 4);
                memcpy(msg + 4, m->st.error, strlen(m->st.error));
                io_broadcast(m, ATTACH_ERROR, msg, 4 + strlen(m->st.error));
                m->done = true;
                return;
        }
        m->started_mono = mono_ns();
        snprintf(m->st.state, sizeof(m->st.state), "running");
        m->st.started = now_ns();
        m->st.finished = 0;
        m->st.exit_code = -1;
        m->st.oom = false;
        m->st.error[0] = 0;
        m->st.cleaned = false;
        if (m->o.health_process) {
                snprintf(m->st.health, sizeof(m->st.health), "starting");
                m->st.health_failures = 0;
        }
        monitor_write_status(m);
        {
                int32_t pid = m->pid;
                io_broadcast(m, ATTACH_STARTED, &pid, sizeof(pid));
        }
        health_schedule(m);
}

static void container_exited(struct monitor *m, int status)
{
        m->st.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        m->st.finished = now_ns();
        m->st.oom = runtime_oom_killed(m);
        snprintf(m->st.state, sizeof(m->st.state), "exited");
        m->pid = 0;
        m->exited = true;
        m->drain_deadline = mono_ns() + DRAIN_TIMEOUT;
        /* The exit status first: it must survive whatever happens next. */
        monitor_write_status(m);
        if (m->health_pid > 0) {
                kill(m->health_pid, SIGKILL);
                m->health_killed = true;
        }
        m->health_next = 0;
}

static bool should_restart(struct monitor *m)
{
        if (faccessat(AT_FDCWD, "stop", F_OK, 0) == 0)
                return false;
        switch (m->o.restart) {
        case RESTART_ALWAYS:
        case RESTART_UNLESS_STOPPED:
                return true;
        case RESTART_ON_FAILURE:
                return m->st.exit_code != 0 && (m->o.restart_max == 0 || m->st.restarts < m->o.restart_max);
        default:
                return false;
        }
}

/* Output drained after the exit: release the container, then restart or end. */
static void container_finished(struct monitor *m)
{
        int32_t code = m->st.exit_code;

        m->exited = false;
        log_writer_flush(&m->log);
        m->out_fd = safe_close(m->out_fd);
        m->err_fd = safe_close(m->err_fd);
        m->pty_fd = safe_close(m->pty_fd);
        m->stdin_fd = safe_close(m->stdin_fd);
        m->stdin_len = 0;
        if (should_restart(m)) {
                runtime_delete(m, false);
                int64_t ran = mono_ns() - m->started_mono;
                if (m->backoff == 0 || ran >= BACKOFF_RESET)
                        m->backoff = BACKOFF_START;
                else
                        m->backoff = MIN(m->backoff * 2, BACKOFF_MAX);
                m->restart_at = mono_ns() + m->backoff;
                m->st.restarts++;
                snprintf(m->st.state, sizeof(m->st.state), "restarting");
                monitor_write_status(m);
                return;
        }
        runtime_delete(m, true);
        m->st.cleaned = m->st.final = true;
        monitor_write_status(m);
        io_broadcast(m, ATTACH_EXIT, &code, sizeof(code));
        m->done = true;
}

static void reap(struct monitor *m)
{
        int status;
        pid_t p;

        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                if (p == m->pid)
                        container_exited(m, status);
                else if (p == m->health_pid)
                        health_collect(m, status);
                /* Anything else is an orphan of the container that was reparented to us. */
        }
}

static void handle_signals(struct monitor *m)
{
        struct signalfd_siginfo si;

        while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si))
                if (si.ssi_signo == SIGCHLD)
                        reap(m);
        /* SIGTERM, SIGINT, SIGHUP: the monitor outlives its session; the engine stops containers. */
}

static bool queues_empty(struct monitor *m)
{
        for (size_t i = 0; i < m->n_clients; i++)
                if (m->clients[i].queued > 0)
                        return false;
        return true;
}

static int timeout_ms(struct monitor *m, int64_t now)
{
        int64_t t = INT64_MAX;

        if (m->exited)
                t = MIN(t, m->drain_deadline);
        if (m->restart_at)
                t = MIN(t, m->restart_at);
        if (m->health_next)
                t = MIN(t, m->health_next);
        if (m->health_pid > 0)
                t = MIN(t, m->health_deadline);
        if (t == INT64_MAX)
                return -1;
        return t <= now ? 0 : (int)MIN((t - now) / 1000000 + 1, 60000);
}

static void run_loop(struct monitor *m, int64_t linger_until)
{
        for (;;) {
                struct pollfd p[8 + MAX_CLIENTS];
                size_t n = 0, client0;
                int out_i = -1, err_i = -1, pty_i = -1, health_i = -1, listen_i = -1, in_i = -1;
                /* Backpressure: while the container does not take its stdin, clients wait to send more. */
                bool read_clients = m->stdin_len < STDIN_HIGH;
                int64_t now = mono_ns();

                if (m->done) {
                        if ((queues_empty(m) &&
                             (!m->o.exit_command || io_any_ack(m) || m->n_clients == 0)) ||
                            now >= linger_until)
                                return;
                }
                p[n++] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
                if (!m->done) {
                        listen_i = (int)n;
                        p[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
                }
                if (m->out_fd >= 0) {
                        out_i = (int)n;
                        p[n++] = (struct pollfd){.fd = m->out_fd, .events = POLLIN};
                }
                if (m->err_fd >= 0) {
                        err_i = (int)n;
                        p[n++] = (struct pollfd){.fd = m->err_fd, .events = POLLIN};
                }
                if (m->pty_fd >= 0) {
                        pty_i = (int)n;
                        p[n++] = (struct pollfd){.fd = m->pty_fd, .events = POLLIN};
                }
                if (m->health_fd >= 0) {
                        health_i = (int)n;
                        p[n++] = (struct pollfd){.fd = m->health_fd, .events = POLLIN};
                }
                if (m->stdin_len > 0 && !m->o.tty && m->stdin_fd >= 0) {
                        in_i = (int)n;
                        p[n++] = (struct pollfd){.fd = m->stdin_fd, .events = POLLOUT};
                }
                if (m->stdin_len > 0 && m->o.tty && pty_i >= 0)
                        p[pty_i].events |= POLLOUT;
                client0 = n;
                for (size_t i = 0; i < m->n_clients; i++)
                        p[n++] = (struct pollfd){.fd = m->clients[i].fd,
                                                 .events = (short)((read_clients ? POLLIN : 0) |
                                                                   (m->clients[i].queued ? POLLOUT : 0))};

                if (poll(p, n, m->done ? 50 : timeout_ms(m, now)) < 0) {
                        if (errno == EINTR)
                                continue;
                        monitor_note(m, "poll: %m");
                        return;
                }
                if (p[0].revents)
                        handle_signals(m);
                /* Before anything that may drop a client, while the pollfd slots still match. */
                /* In reverse: io_drop_client() moves the last one into the freed slot. */
                for (size_t i = n - client0; i-- > 0;)
                        if (i < m->n_clients && p[client0 + i].revents)
                                io_client_event(m, i, p[client0 + i].revents);
                if (out_i >= 0 && p[out_i].revents && !io_read_output(m, m->out_fd, LOG_STREAM_STDOUT))
                        m->out_fd = safe_close(m->out_fd);
                if (err_i >= 0 && p[err_i].revents && !io_read_output(m, m->err_fd, LOG_STREAM_STDERR))
                        m->err_fd = safe_close(m->err_fd);
                if ((in_i >= 0 && p[in_i].revents) || (pty_i >= 0 && (p[pty_i].revents & POLLOUT)))
                        io_flush_stdin(m);
                if (pty_i >= 0 && (p[pty_i].revents & ~POLLOUT) &&
                    !io_read_output(m, m->pty_fd, LOG_STREAM_STDOUT))
                        m->pty_fd = safe_close(m->pty_fd);
                if (health_i >= 0 && p[health_i].revents) {
                        char buf[1024];
                        ssize_t k = read(m->health_fd, buf, sizeof(buf));
                        if (k <= 0)
                                m->health_fd = safe_close(m->health_fd);
                        else {
                                size_t room = sizeof(m->health_out) - 1 - m->health_len;
                                memcpy(m->health_out + m->health_len, buf, MIN((size_t)k, room));
                                m->health_len += MIN((size_t)k, room);
                        }
                }
                if (listen_i >= 0 && p[listen_i].revents)
                        io_accept(m);

                now = mono_ns();
                if (m->exited &&
                    ((m->out_fd < 0 && m->err_fd < 0 && m->pty_fd < 0) || now >= m->drain_deadline))
                        container_finished(m);
                if (m->restart_at && now >= m->restart_at && !m->done) {
                        m->restart_at = 0;
                        if (faccessat(AT_FDCWD, "stop", F_OK, 0) == 0) {
                                int32_t code = m->st.exit_code;
                                /* Stopped while waiting to restart. */
                                rootfs_release(m);
                                snprintf(m->st.state, sizeof(m->st.state), "exited");
                                m->st.cleaned = m->st.final = true;
                                monitor_write_status(m);
                                io_broadcast(m, ATTACH_EXIT, &code, sizeof(code));
                                m->done = true;
                        } else
                                launch(m);
                }
                if (m->health_next && now >= m->health_next && m->pid > 0 && m->health_pid <= 0)
                        health_start(m);
                if (m->health_pid > 0 && now >= m->health_deadline && !m->health_killed)
                        health_timeout(m);
                if (m->done && linger_until == INT64_MAX)
                        linger_until = mono_ns() + LINGER_TIMEOUT;
        }
}

static int setup(struct monitor *m)
{
        sigset_t mask;
        int r;

        if (chdir(m->o.dir) < 0)
                return negative_errno();
        /* Orphans of the container (its init included, once hull-runtime run exits) come to us. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return negative_errno();
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        m->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (m->sig_fd < 0)
                return negative_errno();
        r = log_writer_open(&m->log, m->o.log_path ?: LOGFILE_NAME, m->o.log_max_size, m->o.log_max_files);
        if (r < 0)
                return r;
        r = io_listen(m);
        if (r < 0)
                return r;
        if (m->o.attach_fd >= 0) {
                fd_cloexec(m->o.attach_fd, true);
                fd_nonblock(m->o.attach_fd, true);
                m->clients[m->n_clients++] = (struct client){.fd = m->o.attach_fd, .initial = true};
        }
        return 0;
}

int main(int argc, char **argv)
{
        static struct monitor m = {
                .sig_fd = -EBADF,
                .listen_fd = -EBADF,
                .out_fd = -EBADF,
                .err_fd = -EBADF,
                .pty_fd = -EBADF,
                .stdin_fd = -EBADF,
                .health_fd = -EBADF,
        };
        uint64_t start = 0;
        int r;

        if (parse_options(argc, argv, &m.o) < 0)
                return 1;
        monitor_status_init(&m.st);
        m.st.monitor_pid = getpid();
        proc_start_time(getpid(), &start);
        m.st.monitor_start = (int64_t)start;
        m.st.restarts = m.o.restarts;
        snprintf(m.st.state, sizeof(m.st.state), "starting");
        r = setup(&m);
        if (r >= 0 && m.o.wait_network && m.o.attach_fd >= 0) {
                /* Our pid first: the engine names it as the owner of the container's endpoints. */
                monitor_write_status(&m);
                r = wait_network(&m);
        }
        if (r < 0) {
                /* Nothing is running yet; say why where the engine looks. */
                m.st.exit_code = EXIT_ENGINE_ERROR;
                if (r == -ECONNABORTED)
                        snprintf(m.st.error, sizeof(m.st.error),
                                 "hull exited before the container's network was attached");
                else
                        snprintf(m.st.error, sizeof(m.st.error), "hull-monitor: setting up in '%s': %s",
                                 m.o.dir, strerror(-r));
                snprintf(m.st.state, sizeof(m.st.state), "exited");
                m.st.finished = now_ns();
                rootfs_release(&m);
                m.st.cleaned = m.st.final = true;
                monitor_status_write(m.o.dir, &m.st);
                return 1;
        }
        /* Our pid first: an engine that finds us dead before the container ran knows to clean up. */
        monitor_write_status(&m);
        launch(&m);
        run_loop(&m, INT64_MAX);
        unlinkat(AT_FDCWD, ATTACH_SOCKET, 0);
        io_drain_clients(&m);
        /* A stop or rm by the engine detaches the container itself: then an exit command that is there
         * for the network only would merely wait for that command's lock. */
        if (m.o.exit_command && !io_any_ack(&m) &&
            !(m.o.exit_command_unless_stopped && faccessat(AT_FDCWD, "stop", F_OK, 0) == 0)) {
                /* Nobody took care of the end (run --rm -d, or the CLI was killed): the engine's cleanup. */
                for (size_t i = 0; i < m.n_clients; i++)
                        safe_close(m.clients[i].fd);
                log_writer_close(&m.log);
                execv(m.o.exit_command[0], m.o.exit_command);
                monitor_note(&m, "cannot execute '%s': %m", m.o.exit_command[0]);
                return 1;
        }
        log_writer_close(&m.log);
        return 0;
}
