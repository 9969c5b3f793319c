/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.c - hull-agent: /init of a VM-isolated container's microVM (docs/agent.md).
 *
 * Runs as pid 1 of the guest: mounts the API file systems, loads the virtio and vsock
 * modules the Debian cloud kernel builds as modules (finit_module(2), no insmod),
 * reaches the host over vsock or a virtio-serial port, and serves the host's frames:
 * CREATE mounts the container's root disk on /ctr with its mounts and files, EXEC
 * starts processes chrooted there (pipes or a pty), their output and exit status go
 * back as frames; the main process (id 1) ending powers the VM off.
 *
 * Structure: one thread, one poll loop over the host stream, a signalfd for SIGCHLD,
 * and per process its stdout/stderr (or pty master) and a non-blocking stdin with a
 * pending buffer, so that a process that does not read its stdin never stalls the loop.
 * The host is trusted (its frames are still bounded by agent-proto.c); everything
 * the container does stays inside this VM.
 *
 * Also usable as a service of a full guest (`hull vm exec`): without CREATE,
 * processes run in the guest's own root, and the agent powers off only as pid 1.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto.h"
#include "agent.h"

#define CTR_ROOT  "/ctr"
#define MAX_PROCS 64

struct proc {
        uint32_t id; /* 0: free slot */
        pid_t pid;
        int in_fd, out_fd, err_fd; /* -1 when closed; a terminal has only out_fd (the master) */
        struct agent_buf in_pending;
        bool in_eof; /* the host closed stdin: close in_fd once in_pending is written */
        bool reaped;
        int status; /* exit code or 128+signal, once reaped */
};

static struct {
        int host_fd;
        struct agent_reader rd;
        struct agent_buf out;
        struct proc procs[MAX_PROCS];
        bool created;
        bool create_failed; /* EXECs that the host sent behind a failed CREATE must not run in "/" */
        bool debug;
        bool is_init;
        bool batch; /* answering the frames of one read: flushed together after the last */
} A = {.host_fd = -1};

void agent_log(const char *fmt, ...)
{
        char line[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(line) - 2)
                n = sizeof(line) - 2;
        line[n++] = '\n';
        /* stderr is /dev/console; a failed write has nowhere else to go. */
        if (write(STDERR_FILENO, "hull-agent: ", 12) < 0 || write(STDERR_FILENO, line, (size_t)n) < 0)
                return;
}

/*
 * With hull.debug=1: a step stamped with the guest's uptime (CLOCK_BOOTTIME; the kernel's own
 * stamps are on another clock, so the agent stamps its start too), "hull-agent: T+3.045 CREATE".
 * The lines are kept and written to the console before EXIT (or the power-off): each byte of
 * the serial console is a trap to the VMM, about 10 ms a line inside the nested test host,
 * which would land in the very steps the stamps measure.
 */
static char stamps[16384];
static size_t stamps_len;

static void debug_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void debug_line(const char *fmt, ...)
{
        struct timespec t;
        va_list ap;
        int n;

        clock_gettime(CLOCK_BOOTTIME, &t);
        n = snprintf(stamps + stamps_len, sizeof(stamps) - stamps_len, "hull-agent: T+%ld.%03ld ",
                     (long)t.tv_sec, t.tv_nsec / 1000000);
        if (n < 0 || (size_t)n >= sizeof(stamps) - stamps_len)
                return;
        va_start(ap, fmt);
        int k = vsnprintf(stamps + stamps_len + n, sizeof(stamps) - stamps_len - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (k < 0 || (size_t)(n + k) >= sizeof(stamps) - stamps_len - 1)
                return; /* full: the rest is dropped */
        stamps_len += (size_t)(n + k);
        stamps[stamps_len++] = '\n';
}

static void flush_stamps(void)
{
        if (stamps_len && write(STDERR_FILENO, stamps, stamps_len) < 0)
                return;
        stamps_len = 0;
}

#define debug(fmt, ...)                                 \
        do {                                            \
                if (A.debug)                            \
                        debug_line(fmt, ##__VA_ARGS__); \
        } while (0)

void agent_stamp(const char *step)
{
        debug("%s", step);
}

/* ------------------------------------------------------------------ sending */

static int flush_out(void)
{
        size_t off = 0;

        while (off < A.out.len) {
                ssize_t k = write(A.host_fd, A.out.data + off, A.out.len - off);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = {.fd = A.host_fd, .events = POLLOUT};
                                poll(&p, 1, 1000);
                                continue;
                        }
                        A.out.len = 0;
                        return -errno;
                }
                off += (size_t)k;
        }
        A.out.len = 0;
        return 0;
}

static int send_frame(uint16_t type, uint32_t id, const void *p, size_t n)
{
        int r = agent_buf_frame(&A.out, type, id, p, n);
        return r < 0 || A.batch ? r : flush_out();
}

static int send_u32(uint16_t type, uint32_t id, uint32_t v)
{
        uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        return send_frame(type, id, b, sizeof(b));
}

int agent_send_error(uint32_t id, int err, const char *fmt, ...)
{
        char text[AGENT_MAX_ERROR_TEXT + 1];
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (n < 0)
                n = 0;
        if ((size_t)n > AGENT_MAX_ERROR_TEXT)
                n = AGENT_MAX_ERROR_TEXT;
        debug("error for %u: %s", id, text);
        r = agent_buf_begin(&A.out, AGENT_ERROR, id);
        if (r >= 0)
                r = agent_buf_put_u32(&A.out, (uint32_t)(err > 0 ? err : EIO));
        if (r >= 0)
                r = agent_buf_put(&A.out, text, (size_t)n);
        if (r < 0)
                return r;
        agent_buf_end(&A.out);
        return flush_out();
}

/* ------------------------------------------------------------------ processes */

static struct proc *proc_find(uint32_t id)
{
        for (size_t i = 0; i < MAX_PROCS; i++)
                if (A.procs[i].id == id && id)
                        return &A.procs[i];
        return NULL;
}

static void proc_release(struct proc *p)
{
        if (p->in_fd >= 0 && p->in_fd != p->out_fd)
                close(p->in_fd);
        if (p->out_fd >= 0)
                close(p->out_fd);
        if (p->err_fd >= 0)
                close(p->err_fd);
        agent_buf_free(&p->in_pending);
        *p = (struct proc){.in_fd = -1, .out_fd = -1, .err_fd = -1};
}

/* Read what fd holds now; returns false at EOF or error (the fd was closed). */
static bool relay_output(struct proc *p, int *fd, uint16_t type)
{
        uint8_t buf[AGENT_CHUNK];

        for (;;) {
                ssize_t k = read(*fd, buf, sizeof(buf));
                if (k > 0) {
                        send_frame(type, p->id, buf, (size_t)k);
                        if ((size_t)k < sizeof(buf))
                                return true;
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return true;
                /* EOF, or EIO from a pty master whose last slave closed. */
                close(*fd);
                *fd = -1;
                return false;
        }
}

static void power_off(void)
{
        flush_stamps();
        sync();
        umount2(CTR_ROOT, MNT_DETACH);
        if (A.is_init) {
                reboot(RB_POWER_OFF);
                /* Without ACPI the kernel halts instead; nothing more to do either way. */
                for (;;)
                        pause();
        }
        exit(0);
}

/* The main process ended: everything else goes, the host is told, then the VM powers off. */
/* Wait until every other process is gone (bounded): open files would keep a remount busy. */
static void reap_all(long timeout_ms)
{
        struct timespec t0, now;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                pid_t pid = waitpid(-1, NULL, WNOHANG);
                if (pid < 0 && errno == ECHILD)
                        return;
                if (pid > 0)
                        continue;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
                        return;
                struct timespec nap = {0, 1000000};
                nanosleep(&nap, NULL);
        }
}

static void finish_main(int status)
{
        struct pollfd pf = {.fd = A.host_fd, .events = POLLIN};
        struct timespec start, now;

        if (A.is_init) {
                kill(-1, SIGKILL);
                reap_all(1000);
        }
        /*
         * Disks written and read-only (so their superblocks say clean) before EXIT: the host may
         * then stop the VMM at once (docs/agent.md) instead of waiting for the power-off.
         */
        sync();
        agent_quiesce_disks();
        debug("disks quiesced");
        flush_stamps();
        send_u32(AGENT_EXIT, 1, (uint32_t)status);
        /*
         * Wait (bounded) for the host's SHUTDOWN or its end of the stream: a virtio-serial
         * port's bytes may still sit in QEMU when the guest powers off, and EXIT must arrive.
         */
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                uint8_t buf[4096];
                struct agent_msg m;
                ssize_t k;

                clock_gettime(CLOCK_MONOTONIC, &now);
                long left = 3000 -
                            ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
                        break;
                k = read(A.host_fd, buf, sizeof(buf));
                if (k <= 0 || agent_reader_feed(&A.rd, buf, (size_t)k) < 0)
                        break;
                if (agent_reader_next(&A.rd, &m) != 0)
                        break;
        }
        power_off();
}

static void proc_finish(struct proc *p)
{
        uint32_t id = p->id;
        int status = p->status;

        debug("process %u ended with %d", id, status);
        if (p->out_fd >= 0)
                relay_output(p, &p->out_fd, AGENT_STDOUT);
        if (p->err_fd >= 0)
                relay_output(p, &p->err_fd, AGENT_STDERR);
        proc_release(p);
        if (id == 1)
                finish_main(status);
        send_u32(AGENT_EXIT, id, (uint32_t)status);
}

static void reap(void)
{
        int st;
        pid_t pid;

        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                for (size_t i = 0; i < MAX_PROCS; i++) {
                        struct proc *p = &A.procs[i];
                        if (!p->id || p->pid != pid)
                                continue;
                        p->reaped = true;
                        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
        }
        for (size_t i = 0; i < MAX_PROCS; i++)
                if (A.procs[i].id && A.procs[i].reaped)
                        proc_finish(&A.procs[i]);
}

static void handle_stdin(struct proc *p, const struct agent_msg *m)
{
        if (p->in_fd < 0)
                return;
        if (m->len == 0)
                p->in_eof = true;
        else if (agent_buf_put(&p->in_pending, m->data, m->len) < 0)
                return;
        /* Written from the loop when the pipe has room (POLLOUT). */
}

static void write_stdin(struct proc *p)
{
        while (p->in_pending.len) {
                ssize_t k = write(p->in_fd, p->in_pending.data, p->in_pending.len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        p->in_pending.len = 0; /* the reader is gone (EPIPE): drop the rest */
                        break;
                }
                agent_buf_consume(&p->in_pending, (size_t)k);
        }
        /* A terminal's master stays open for output: EOF is the terminal's EOF character. */
        if (p->in_eof && p->in_fd >= 0 && p->in_fd != p->out_fd) {
                close(p->in_fd);
                p->in_fd = -1;
        } else if (p->in_eof && p->in_fd == p->out_fd) {
                struct termios t;
                char eof = tcgetattr(p->in_fd, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
                if (write(p->in_fd, &eof, 1) == 1)
                        p->in_eof = false;
                p->in_fd = -1;
        }
}

static void handle_msg(const struct agent_msg *m)
{
        struct proc *p;

        switch (m->type) {
        case AGENT_CREATE:
                if (A.created) {
                        agent_send_error(0, EEXIST, "the container is already set up");
                        return;
                }
                debug("CREATE");
                if (agent_create(m->data, m->len, CTR_ROOT) == 0) {
                        debug("READY");
                        A.created = true;
                        send_frame(AGENT_READY, 0, NULL, 0);
                } else
                        A.create_failed = true;
                return;
        case AGENT_EXEC: {
                struct proc *slot = NULL;
                if (proc_find(m->id)) {
                        agent_send_error(m->id, EEXIST, "process %u exists", m->id);
                        return;
                }
                if (A.create_failed) {
                        agent_send_error(m->id, ECANCELED, "the container could not be set up");
                        return;
                }
                for (size_t i = 0; i < MAX_PROCS && !slot; i++)
                        if (!A.procs[i].id)
                                slot = &A.procs[i];
                if (!slot) {
                        agent_send_error(m->id, EAGAIN, "too many processes (%d)", MAX_PROCS);
                        return;
                }
                *slot = (struct proc){.in_fd = -1, .out_fd = -1, .err_fd = -1};
                struct agent_spawned s;
                int r = agent_spawn_process(m->id, m->data, m->len, A.created ? CTR_ROOT : "/", &s);
                if (r < 0)
                        return; /* agent_spawn sent the ERROR */
                slot->id = m->id;
                slot->pid = s.pid;
                slot->in_fd = s.in_fd;
                slot->out_fd = s.out_fd;
                slot->err_fd = s.err_fd;
                debug("STARTED %u", m->id);
                send_u32(AGENT_STARTED, m->id, (uint32_t)s.pid);
                return;
        }
        case AGENT_STDIN:
                if ((p = proc_find(m->id)))
                        handle_stdin(p, m);
                return;
        case AGENT_SIGNAL:
                if ((p = proc_find(m->id)) && !p->reaped)
                        kill(p->pid, (int)m->value);
                return;
        case AGENT_RESIZE:
                if ((p = proc_find(m->id)) && p->out_fd >= 0 && p->err_fd < 0) {
                        struct winsize ws = {.ws_row = m->rows, .ws_col = m->cols};
                        ioctl(p->out_fd, TIOCSWINSZ, &ws);
                }
                return;
        case AGENT_PS: {
                struct agent_buf procs = {};
                int r = agent_ps(&procs);
                if (r < 0)
                        agent_send_error(0, -r, "cannot list the processes: %s", strerror(-r));
                else
                        send_frame(AGENT_PROCS, 0, procs.data, procs.len);
                agent_buf_free(&procs);
                return;
        }
        case AGENT_SHUTDOWN:
                (void)flush_out();
                if (A.is_init)
                        kill(-1, SIGKILL);
                power_off();
                return;
        default:
                return;
        }
}

/* ------------------------------------------------------------------ the loop */

static int serve(int sfd)
{
        for (;;) {
                struct pollfd pf[2 + 3 * MAX_PROCS];
                struct proc *owner[2 + 3 * MAX_PROCS];
                size_t n = 0;

                pf[n] = (struct pollfd){.fd = A.host_fd, .events = POLLIN};
                owner[n++] = NULL;
                pf[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
                owner[n++] = NULL;
                for (size_t i = 0; i < MAX_PROCS; i++) {
                        struct proc *p = &A.procs[i];
                        if (!p->id)
                                continue;
                        if (p->out_fd >= 0) {
                                pf[n] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
                                owner[n++] = p;
                        }
                        if (p->err_fd >= 0) {
                                pf[n] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
                                owner[n++] = p;
                        }
                        if (p->in_fd >= 0 && p->in_fd != p->out_fd && (p->in_pending.len || p->in_eof)) {
                                pf[n] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
                                owner[n++] = p;
                        }
                        if (p->in_fd >= 0 && p->in_fd == p->out_fd && (p->in_pending.len || p->in_eof))
                                write_stdin(p);
                }
                if (poll(pf, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        uint8_t buf[65536];
                        struct agent_msg m;
                        ssize_t k = read(A.host_fd, buf, sizeof(buf));
                        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
                                agent_log("the host closed the connection");
                                return -ECONNRESET;
                        }
                        if (k > 0 && agent_reader_feed(&A.rd, buf, (size_t)k) < 0) {
                                agent_log("%s", A.rd.error);
                                return -EBADMSG;
                        }
                        int r;
                        /*
                         * The answers to one read go out in one write: READY to CREATE and
                         * STARTED to the EXEC(1) behind it are one packet to the host, and the
                         * process starts without waiting for READY's (an ERROR still goes at once,
                         * behind what was queued).
                         */
                        A.batch = true;
                        while ((r = agent_reader_next(&A.rd, &m)) > 0)
                                handle_msg(&m);
                        A.batch = false;
                        int f = flush_out();
                        if (f < 0)
                                agent_log("cannot answer the host: %s", strerror(-f));
                        if (r < 0) {
                                agent_log("%s", A.rd.error);
                                return r;
                        }
                }
                for (size_t i = 2; i < n; i++) {
                        struct proc *p = owner[i];
                        if (!pf[i].revents || !p->id)
                                continue;
                        if (pf[i].fd == p->out_fd && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                relay_output(p, &p->out_fd, AGENT_STDOUT);
                        else if (pf[i].fd == p->err_fd && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                relay_output(p, &p->err_fd, AGENT_STDERR);
                        else if (pf[i].fd == p->in_fd)
                                write_stdin(p);
                }
                if (pf[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                ;
                        reap();
                }
        }
}

int main(int argc, char **argv)
{
        sigset_t mask;
        int sfd, r;

        struct timespec start;

        clock_gettime(CLOCK_BOOTTIME, &start);
        A.is_init = getpid() == 1;
        for (size_t i = 0; i < MAX_PROCS; i++)
                A.procs[i] = (struct proc){.in_fd = -1, .out_fd = -1, .err_fd = -1};
        agent_reader_init(&A.rd, false);
        signal(SIGPIPE, SIG_IGN);
        if (A.is_init)
                agent_init_system();
        A.debug = agent_cmdline_flag("hull.debug");
        if (A.debug)
                agent_log("T+%ld.%03ld start", (long)start.tv_sec, start.tv_nsec / 1000000);
        debug("system ready");
        /* hull.agent=off: the microVM alone, without the container (the baseline of bench/isolation-nested).
         */
        if (agent_cmdline_is("hull.agent", "off"))
                power_off();
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                agent_log("signalfd: %s", strerror(errno));
                power_off();
        }
        A.host_fd = agent_connect_host(argc > 1 ? argv[1] : NULL);
        if (A.host_fd < 0) {
                agent_log("cannot reach the host: %s", strerror(-A.host_fd));
                power_off();
        }
        debug("connected to the host");
        send_u32(AGENT_HELLO, 0, AGENT_PROTO_VERSION);
        r = serve(sfd);
        debug("serve ended: %s", strerror(-r));
        if (A.is_init)
                kill(-1, SIGKILL);
        power_off();
        return 0;
}
