/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-shim.c - the host side of a VM-isolated container while it runs: the process
 * the runtime records as the container's (vm-isolation.h).
 *
 * It starts the VMM as its child (PR_SET_PDEATHSIG: a SIGKILL of the shim takes the VM
 * with it), accepts the agent's connection, sends CREATE, tells `create` the outcome,
 * waits for `start` on exec.fifo like a container's init, then runs process 1 and
 * relays: its stdio to and from frames, the signals the shim receives (`kill`) as
 * SIGNAL, SIGWINCH of a terminal as RESIZE. Exec clients connect to exec.sock and
 * become further sessions on the same stream. When process 1's EXIT arrives the shim
 * tells the agent to power off, waits for the VMM (bounded), copies rw volumes back
 * and exits with that status.
 *
 * Trust: every frame from the agent goes through agent_reader (bounded, typed) and
 * its id must name a session this shim opened; anything else ends the VM with one
 * line on the container's stderr. Writes to the agent are queued and non-blocking so
 * that a guest that stops reading cannot stall the relay of its own output.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "vm-isolation.h"

#define MAX_SESSIONS   32
#define OUT_HIGH_WATER (256u << 10)
#define CLIENT_MSG_MAX (1u << 20)
#define MAX_PS_CLIENTS 8

struct session {
        uint32_t id; /* 0: free */
        int in_fd, out_fd, err_fd;
        int client; /* exec.sock connection; -EBADF for process 1 */
        bool in_open;
        bool started;
};

static struct {
        struct vmiso_shim *sh;
        int agent_fd;
        struct agent_reader rd;
        struct agent_buf out;
        struct session s[MAX_SESSIONS];
        uint32_t next_id;
        pid_t vmm_pid;
        int vmm_pidfd;
        int sfd;
        bool main_started;
        uint32_t agent_version;         /* from HELLO */
        int bound_ms;                   /* of the boot under way: VMM start to READY */
        bool console_append;            /* a cold boot after a failed restore keeps its console */
        char boot_why[512];             /* why the boot under way failed (boot_fail()) */
        int ps_clients[MAX_PS_CLIENTS]; /* waiting for PROCS, in the order their PS went out */
        size_t n_ps;
} S = {.agent_fd = -EBADF, .vmm_pidfd = -EBADF, .sfd = -EBADF, .next_id = 2};


static void say(const char *fmt, ...) _printf_(1, 2);
/* One line on the container's stderr: the only place its user looks. */
static void say(const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        n = MIN(n, (int)sizeof(line) - 2);
        line[n++] = '\n';
        (void)!write(S.sh->err_fd, line, (size_t)n);
}

/* Flush the queue to the agent; block up to timeout_ms (0: only what fits now). */
static int flush_agent(int timeout_ms)
{
        long end = now_ms() + timeout_ms;

        while (S.out.len) {
                ssize_t k = send(S.agent_fd, S.out.data, S.out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0) {
                        agent_buf_consume(&S.out, (size_t)k);
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno != EAGAIN)
                        return -errno;
                long left = end - now_ms();
                if (left <= 0)
                        return 0;
                struct pollfd p = {.fd = S.agent_fd, .events = POLLOUT};
                poll(&p, 1, (int)left);
        }
        return 0;
}

/* With io.hull.isolation.debug=1: "hull-shim: T+<ms since create began> <step>" on stderr. */
static void stamp(const char *step)
{
        if (S.sh->debug)
                dprintf(S.sh->err_fd, "hull-shim: T+%ld %s\n", now_ms() - S.sh->t0_ms, step);
}

static void queue_u32(uint16_t type, uint32_t id, uint32_t v)
{
        uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        agent_buf_frame(&S.out, type, id, b, sizeof(b));
}

/* The VMM, then the virtiofsd daemons its vhost-user connections kept busy (vm-fs.c). */
static void kill_vmm(void)
{
        if (S.vmm_pid > 0) {
                kill(S.vmm_pid, SIGKILL);
                waitpid(S.vmm_pid, NULL, 0);
                S.vmm_pid = 0;
        }
        vmiso_fs_stop(S.sh->shares, S.sh->n_shares, 1000);
}

static void reply_client(struct session *se, int status, const char *msg)
{
        struct vmiso_exec_reply rep = {.status = status};

        if (se->client < 0)
                return;
        snprintf(rep.message, sizeof(rep.message), "%s", msg ? msg : "");
        (void)!send(se->client, &rep, sizeof(rep), MSG_NOSIGNAL);
}

static void session_close(struct session *se)
{
        if (se->client >= 0) {
                safe_close(se->in_fd);
                safe_close(se->out_fd);
                safe_close(se->err_fd);
                safe_close(se->client);
        }
        *se = (struct session){.in_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF, .client = -EBADF};
}

static struct session *session_find(uint32_t id)
{
        for (size_t i = 0; i < MAX_SESSIONS; i++)
                if (S.s[i].id == id && id)
                        return &S.s[i];
        return NULL;
}

/*
 * Copy rw volumes back to their host directories once the guest has powered off: entries
 * the guest removed go, the others are replaced by the image's (debugfs rdump: nothing is
 * mounted on the host). Names with white space are not copied back (docs/agent.md).
 */
static const char copy_back_script[] =
        "img=$1; dir=$2\n"
        "names=$(debugfs -R 'ls -p /' \"$img\" 2>/dev/null | "
        "awk -F/ 'NF>5 && $6!=\".\" && $6!=\"..\" && $6!=\"lost+found\" {print $6}')\n"
        "for f in \"$dir\"/* \"$dir\"/.[!.]* \"$dir\"/..?*; do\n"
        "  [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n"
        "  printf '%s\\n' \"$names\" | grep -qxF -- \"${f##*/}\" || rm -rf -- \"$f\"\n"
        "done\n"
        "for f in $names; do rm -rf -- \"$dir/$f\"; debugfs -R \"rdump /$f $dir\" \"$img\" >/dev/null 2>&1; "
        "done\n";

static void copy_back_volumes(void)
{
        for (size_t i = 0; i < S.sh->n_volumes; i++) {
                struct vmiso_volume *v = &S.sh->volumes[i];
                pid_t pid;

                if (!v->host_dir)
                        continue;
                pid = fork();
                if (pid == 0) {
                        execl("/bin/sh", "sh", "-c", copy_back_script, "sh", v->image, v->host_dir,
                              (char *)NULL);
                        _exit(127);
                }
                if (pid > 0)
                        waitpid(pid, NULL, 0);
        }
}

/* Answer the oldest PS client: errno 0 and the PROCS payload, or an errno and a message. */
static void ps_reply(int err, const void *p, size_t n)
{
        _cleanup_free_ uint8_t *msg = malloc(4 + n);
        int32_t e = err;

        if (msg) {
                memcpy(msg, &e, 4);
                if (n)
                        memcpy(msg + 4, p, n);
                (void)!send(S.ps_clients[0], msg, 4 + n, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        safe_close(S.ps_clients[0]);
        memmove(S.ps_clients, S.ps_clients + 1, (S.n_ps - 1) * sizeof(int));
        S.n_ps--;
}

static _noreturn_ void finish(int status, bool clean)
{
        long end;

        stamp("EXIT");
        /*
         * The agent sends EXIT(1) once its disks are synced and read-only (docs/agent.md): the VM
         * can go at once. Otherwise (the VMM died, a hostile agent) it is told to power off and
         * given the time to.
         */
        agent_buf_frame(&S.out, AGENT_SHUTDOWN, 0, NULL, 0);
        flush_agent(clean ? 0 : 1000);
        if (clean)
                kill_vmm();
        end = now_ms() + 10000;
        while (S.vmm_pid > 0 && now_ms() < end) {
                struct pollfd p = {.fd = S.vmm_pidfd, .events = POLLIN};
                if (poll(&p, 1, (int)(end - now_ms())) > 0) {
                        waitpid(S.vmm_pid, NULL, 0);
                        S.vmm_pid = 0;
                }
        }
        kill_vmm();
        stamp("VMM exited");
        copy_back_volumes();
        for (size_t i = 0; i < MAX_SESSIONS; i++)
                if (S.s[i].id && S.s[i].client >= 0) {
                        reply_client(&S.s[i], 255, "the container's VM has stopped");
                        session_close(&S.s[i]);
                }
        while (S.n_ps)
                ps_reply(ESHUTDOWN, "the container's VM has stopped",
                         strlen("the container's VM has stopped"));
        _exit(status);
}

static void ready_fail(const char *fmt, ...) _printf_(1, 2);
static _noreturn_ void ready_fail_exit(void)
{
        kill_vmm();
        _exit(1);
}

static void ready_fail(const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n > 0)
                (void)!write(S.sh->ready_fd, line, (size_t)MIN(n, (int)sizeof(line) - 1));
        ready_fail_exit();
}

static void close_taps(void)
{
        for (size_t i = 0; i < S.sh->n_taps; i++)
                S.sh->tap_fds[i] = safe_close(S.sh->tap_fds[i]);
}

static void vmm_start(void)
{
        pid_t pid = fork();

        if (pid < 0)
                ready_fail("cannot start the VMM: %s", strerror(errno));
        if (pid == 0) {
                int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (S.console_append ? O_APPEND : O_TRUNC);
                int fd = open(S.sh->console, flags, 0600);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                sigset_t none;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(125);
                /* The taps are named by number on the VMM's command line (--net fd=N, -netdev tap,fd=N). */
                for (size_t i = 0; i < S.sh->n_taps; i++)
                        if (fcntl(S.sh->tap_fds[i], F_SETFD, 0) < 0)
                                _exit(125);
                /* --api-sock fd=N: the shim's listening socket (vm-isolation.h, api_listen). */
                if (S.sh->api_listen >= 0 && fcntl(S.sh->api_listen, F_SETFD, 0) < 0)
                        _exit(125);
                execvp(S.sh->vmm_argv[0], S.sh->vmm_argv);
                dprintf(2, "cannot execute '%s': %m\n", S.sh->vmm_argv[0]);
                _exit(125);
        }
        /*
         * The VMM holds the taps now: they go with it (a kill -9 of the VMM leaves none behind).
         * A restore that may fail keeps them for the cold boot behind it, until READY.
         */
        if (!S.sh->vmm_argv_cold)
                close_taps();
        S.vmm_pid = pid;
        S.vmm_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (S.vmm_pidfd < 0)
                ready_fail("cannot watch the VMM: %s", strerror(errno));
}

/*
 * The VMM's own words when it fails: the last line of its console log; a virtiofsd that
 * ended first is the cause (the VMM then only says its backend hung up).
 */
static void vmm_last_line(char *buf, size_t size)
{
        _cleanup_free_ char *all = NULL;
        size_t len = 0;

        struct stat st;

        buf[0] = 0;
        if (vmiso_fs_failure(S.sh->shares, S.sh->n_shares, buf, size))
                return;
        /* io.hull.isolation.console may name a terminal (/dev/console): a read there waits for input. */
        if (stat(S.sh->console, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        if (read_full_file(S.sh->console, 1 << 20, &all, &len) < 0 || len == 0)
                return;
        while (len && (all[len - 1] == '\n' || all[len - 1] == '\r'))
                all[--len] = 0;
        char *nl = memrchr(all, '\n', len);
        snprintf(buf, size, "%s", nl ? nl + 1 : all);
}

/* How the VMM ended ("exit status 2", "signal 9"), or "" while it runs; it stays a zombie. */
static void vmm_status(char *buf, size_t size)
{
        siginfo_t si = {};

        buf[0] = 0;
        if (S.vmm_pid <= 0 || waitid(P_PID, (id_t)S.vmm_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            si.si_pid != S.vmm_pid)
                return;
        snprintf(buf, size, si.si_code == CLD_EXITED ? "exit status %d" : "signal %d", si.si_status);
}

/*
 * A boot that failed before READY. A restore (its cold command line still waits) returns -1,
 * the reason kept for restore_fallback(); any other boot fails create with it.
 */
static int boot_fail(const char *fmt, ...) _printf_(1, 2);
static int boot_fail(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(S.boot_why, sizeof(S.boot_why), fmt, ap);
        va_end(ap);
        if (!S.sh->vmm_argv_cold)
                ready_fail("%s", S.boot_why);
        return -1;
}

/* The VMM ended before READY: its status and its last words say why. */
static int boot_fail_vmm(const char *what)
{
        char last[256], st[64];

        vmm_status(st, sizeof(st));
        vmm_last_line(last, sizeof(last));
        return boot_fail("%s%s%s%s%s%s", what, st[0] ? " (VMM " : "", st, st[0] ? ")" : "",
                         last[0] ? "; the VM's console ends with: " : "", last);
}

/* Read one frame from the agent during boot: 0, or boot_fail() when the VMM ends or time runs out. */
static int boot_read(struct agent_msg *m, long deadline)
{
        for (;;) {
                int k = agent_reader_next(&S.rd, m);
                if (k > 0)
                        return 0;
                if (k < 0)
                        return boot_fail("%s", S.rd.error);
                struct pollfd p[2] = {{.fd = S.agent_fd, .events = POLLIN},
                                      {.fd = S.vmm_pidfd, .events = POLLIN}};
                long left = deadline - now_ms();
                if (left <= 0 || poll(p, 2, (int)left) == 0)
                        return boot_fail("the VM's agent did not answer within %d s", S.bound_ms / 1000);
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        uint8_t buf[65536];
                        ssize_t n = read(S.agent_fd, buf, sizeof(buf));
                        if (n <= 0) {
                                /* The VMM closes the stream as it exits: its last words say why. */
                                struct pollfd d = {.fd = S.vmm_pidfd, .events = POLLIN};
                                poll(&d, 1, 2000);
                                return boot_fail_vmm("the VM's agent closed its connection during boot");
                        }
                        if (agent_reader_feed(&S.rd, buf, (size_t)n) < 0)
                                return boot_fail("%s", S.rd.error);
                        continue;
                }
                if (p[1].revents & POLLIN)
                        return boot_fail_vmm("the VMM exited during boot");
        }
}

static void start_main(void)
{
        struct session *se = &S.s[0];

        *se = (struct session){.id = 1,
                               .in_fd = S.sh->in_fd,
                               .out_fd = S.sh->out_fd,
                               .err_fd = S.sh->err_fd,
                               .client = -EBADF,
                               .in_open = true};
        /*
         * The terminal's size as it is now goes with EXEC, so that the process starts with it (a
         * RESIZE after STARTED would race with a program that reads its size at once).
         */
        if (S.sh->terminal) {
                struct winsize ws;
                if (ioctl(S.sh->in_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
                        char v[32];
                        snprintf(v, sizeof(v), "%u:%u", ws.ws_row, ws.ws_col);
                        agent_buf_field_str(&S.sh->main_fields, AGENT_E_ROWS_COLS, v);
                }
        }
        agent_buf_frame(&S.out, AGENT_EXEC, 1, S.sh->main_fields.data, S.sh->main_fields.len);
        S.main_started = true;
        S.sh->fifo_fd = safe_close(S.sh->fifo_fd);
}

/*
 * CREATE, and with `run` (no exec.fifo to wait on) EXEC(1) right behind it: the agent
 * starts the process as soon as the container is set up, without a round trip through
 * the host (docs/agent.md, "Conversation"). An agent whose CREATE failed refuses EXEC.
 * Not with a terminal: its size comes from whoever receives the console after create
 * returns (hull's monitor, conmon), and a process started before that reads 0x0.
 */
static void send_create(void)
{
        const struct agent_buf *c = &S.sh->create_frame;

        /*
         * An agent of protocol 3 takes the wall clock and 64 bytes for its kernel's random pool
         * first (docs/agent.md, "Templates"): taken now, as the frame leaves, so the guest's
         * clock is the host's to within the stream's latency. Older agents refuse the fields;
         * the shim knows the version only after HELLO, so an early CREATE goes without them.
         */
        if (S.agent_version >= 3) {
                struct timespec now;
                uint8_t seed[AGENT_SEED_SIZE];
                if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
                        ready_fail("cannot draw the guest's random seed: %s", strerror(errno));
                clock_gettime(CLOCK_REALTIME, &now);
                if (agent_buf_begin(&S.out, AGENT_CREATE, 0) < 0 ||
                    agent_buf_field(&S.out, AGENT_C_SEED, seed, sizeof(seed)) < 0 ||
                    agent_clock_put(&S.out, &now) < 0 ||
                    agent_buf_put(&S.out, c->data + AGENT_HDR_SIZE, c->len - AGENT_HDR_SIZE) < 0)
                        ready_fail("cannot send the container's set-up to the agent: %s", strerror(ENOMEM));
                agent_buf_end(&S.out);
                explicit_bzero(seed, sizeof(seed));
        } else
                agent_buf_put(&S.out, c->data, c->len);
        /*
         * Not while a restore may still fall back to a cold boot: then no process of the container
         * may have run when the VM is thrown away (restore_fallback()), and the stream is in order,
         * so EXEC(1) after READY has arrived is the proof.
         */
        if (S.sh->fifo_fd < 0 && !S.sh->terminal && !S.sh->vmm_argv_cold)
                start_main();
        if (flush_agent(5000) < 0 || S.out.len)
                ready_fail("cannot send the container's set-up to the agent");
}

/*
 * A restored guest that did not get to READY within its bound, or whose VMM ended or whose
 * agent broke the conversation before READY (hull-vmm refusing the template with exit 125, a
 * triple fault, a closed connection, a hang): the VMM goes, and so does the template (it may
 * be the cause), and the container boots cold once, making a new one (docs/agent.md,
 * "Templates"). Safe: EXEC(1) waits for READY while this may happen (send_create()), exec
 * clients are served only after boot, so no process of the container has run; what the guest
 * did to the container's disks is the agent's CREATE (mounts, the files of /etc), which the
 * cold boot does again on the same fresh disks. The taps and the agent's listening socket
 * were kept for this boot (vmm_start()).
 */
static void restore_fallback(void)
{
        kill_vmm();
        S.vmm_pidfd = safe_close(S.vmm_pidfd);
        S.agent_fd = safe_close(S.agent_fd);
        agent_reader_free(&S.rd);
        agent_reader_init(&S.rd, true);
        agent_buf_consume(&S.out, S.out.len);
        /* A connection the dead VMM made after the one accepted must not be taken for the new guest's. */
        for (;;) {
                struct pollfd p = {.fd = S.sh->agent_listen, .events = POLLIN};
                if (poll(&p, 1, 0) <= 0)
                        break;
                safe_close(accept4(S.sh->agent_listen, NULL, NULL, SOCK_CLOEXEC));
        }
        /* hull-vmm removes its listening socket as it exits, not when killed: the next could not listen. */
        if (unlink(VMISO_VSOCK_UDS) < 0 && errno != ENOENT)
                log_debug("vm templates: cannot remove '%s': %m", VMISO_VSOCK_UDS);
        log_debug("vm templates: restore of '%s' failed (%s): removed, booting cold", S.sh->template_key,
                  S.boot_why);
        vmiso_template_remove(S.sh->template_cache, S.sh->template_key);
        S.sh->template_fd = safe_close(S.sh->template_fd);
        /* The cold boot makes a new template unless the plan said not to (a memory limit). */
        bool making = strv_contains(S.sh->vmm_argv_cold, "--snapshot-at-connect");
        {
                _cleanup_close_ int fd = open("template", O_WRONLY | O_TRUNC | O_CLOEXEC);
                if (fd >= 0)
                        dprintf(fd, "%s %s (after a failed restore: %s)\n", making ? "snapshot" : "cold",
                                S.sh->template_key, S.boot_why);
        }
        {
                _cleanup_close_ int fd = open(S.sh->console, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
                if (fd >= 0)
                        dprintf(fd, "\nhull: the restored VM failed (%s); booting cold\n", S.boot_why);
        }
        S.console_append = true;
        /*
         * virtiofsd serves one vhost-user connection and ends when it hangs up: a refused restore
         * that got as far as connecting has used it up, one that did not left it listening.
         * Either way the cold boot gets daemons of its own on the same sockets.
         */
        if (S.sh->n_shares) {
                vmiso_fs_stop(S.sh->shares, S.sh->n_shares, 0);
                int r = vmiso_fs_start(S.sh->shares, S.sh->n_shares);
                if (r < 0)
                        ready_fail("%s", err_msg(r));
        }
        S.sh->vmm_argv = S.sh->vmm_argv_cold;
        S.sh->vmm_argv_cold = NULL;
        /* The agent is not known any more: CREATE after HELLO, which is recorded in the new template. */
        S.sh->create_early = false;
        S.sh->agent_version = 0;
        S.sh->template_making = making;
        S.bound_ms = S.sh->boot_timeout_ms;
        stamp("VMM start (cold, after a failed restore)");
}

/*
 * Have the VMM open the late root disk: one request line on the API socket the shim holds
 * (a connection waits there until hull-vmm's event loop runs) and one reply line. 0, or -1
 * (boot_fail()).
 */
static int attach_disks(long deadline)
{
        static const char req[] = "{\"command\":\"attach-disks\"}\n";
        _cleanup_close_ int fd = vmiso_connect_in(AT_FDCWD, VMISO_API_SOCK, SOCK_STREAM);
        int k = fd < 0 ? fd : write_all(fd, req, sizeof(req) - 1);
        char reply[1024];
        size_t len = 0;

        if (k < 0)
                return boot_fail("cannot ask the VMM to open the root disk: %s", strerror(-k));
        while (!memchr(reply, '\n', len)) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = S.vmm_pidfd, .events = POLLIN}};
                long left = deadline - now_ms();
                if (len == sizeof(reply) - 1 || left <= 0 || poll(p, 2, (int)left) <= 0)
                        return boot_fail("the VMM did not answer its API's attach-disks");
                if (!(p[0].revents & (POLLIN | POLLHUP)))
                        return boot_fail_vmm("the VMM exited before it opened the root disk");
                ssize_t n = read(fd, reply + len, sizeof(reply) - 1 - len);
                if (n <= 0)
                        return boot_fail_vmm("the VMM closed its API during attach-disks");
                len += (size_t)n;
        }
        reply[len] = 0;
        _cleanup_json_ struct json_object *o = json_tokener_parse(reply);
        struct json_object *ok = NULL, *e = NULL;
        if (!o || !json_object_object_get_ex(o, "ok", &ok) || !json_object_get_boolean(ok)) {
                const char *why =
                        o && json_object_object_get_ex(o, "error", &e) ? json_object_get_string(e) : reply;
                return boot_fail("the VMM cannot open the root disk: %s", why);
        }
        stamp("root disk attached");
        return 0;
}

/*
 * create's word on the late root disk, then the attach: "ok" when whole; anything else, create
 * failed and ends the shim. 0, or -1 (boot_fail()).
 */
static int disk_ready(long deadline)
{
        char buf[8];
        ssize_t n;

        do
                n = read(S.sh->disk_fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n != 2 || memcmp(buf, "ok", 2) != 0)
                ready_fail("create ended before the VM's root disk was made");
        S.sh->disk_fd = safe_close(S.sh->disk_fd);
        return attach_disks(deadline);
}

/* One boot: the VMM, the agent's connection, HELLO, CREATE, READY. 0, or -1 (boot_fail()). */
static int boot_once(void)
{
        long deadline = now_ms() + S.bound_ms;
        struct agent_msg m;

        vmm_start();
        /* A late root disk made before this VMM started (a cold boot after a failed restore). */
        if (S.sh->api_listen >= 0 && S.sh->disk_fd < 0 && attach_disks(deadline) < 0)
                return -1;
        for (;;) {
                struct pollfd p[3] = {{.fd = S.sh->agent_listen, .events = POLLIN},
                                      {.fd = S.vmm_pidfd, .events = POLLIN},
                                      {.fd = S.sh->disk_fd, .events = POLLIN}};
                long left = deadline - now_ms();
                if (left <= 0 || poll(p, S.sh->disk_fd >= 0 ? 3 : 2, (int)left) == 0)
                        return boot_fail("the VM's agent did not connect within %d s", S.bound_ms / 1000);
                /* The disk is whole while the guest boots: the VMM opens it now. */
                if (S.sh->disk_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && disk_ready(deadline) < 0)
                        return -1;
                if (p[0].revents & POLLIN) {
                        S.agent_fd = accept4(S.sh->agent_listen, NULL, NULL, SOCK_CLOEXEC);
                        if (S.agent_fd >= 0)
                                break;
                }
                if (p[1].revents & POLLIN)
                        return boot_fail_vmm("the VMM exited during boot");
        }
        /* Kept while a restore may fall back to a cold boot (restore_fallback()). */
        if (!S.sh->vmm_argv_cold) {
                S.sh->agent_listen = safe_close(S.sh->agent_listen);
                close_taps();
        }
        stamp("connected");
        /* The guest gets CREATE once its root disk is there (it booted faster than create made it). */
        if (S.sh->disk_fd >= 0) {
                struct pollfd p[2] = {{.fd = S.sh->disk_fd, .events = POLLIN},
                                      {.fd = S.vmm_pidfd, .events = POLLIN}};
                long left = deadline - now_ms();
                if (left <= 0 || poll(p, 2, (int)left) == 0)
                        return boot_fail("the VM's root disk was not made within %d s", S.bound_ms / 1000);
                if (!(p[0].revents & (POLLIN | POLLHUP)))
                        return boot_fail_vmm("the VMM exited during boot");
                if (disk_ready(deadline) < 0)
                        return -1;
        }
        /*
         * Over vsock the connection is the agent itself, so CREATE goes at once instead of a
         * round trip after HELLO (the agent reads it after sending HELLO). A virtio-serial
         * chardev connects when QEMU starts, long before the guest opens its port: there,
         * HELLO says the agent is listening.
         */
        S.agent_version = S.sh->agent_version;
        if (S.sh->create_early)
                send_create();
        if (boot_read(&m, deadline) < 0)
                return -1;
        if (m.type != AGENT_HELLO || m.value < AGENT_PROTO_VERSION_MIN || m.value > AGENT_PROTO_VERSION)
                return boot_fail("agent: expected HELLO with version %d to %d, got %s",
                                 AGENT_PROTO_VERSION_MIN, AGENT_PROTO_VERSION,
                                 agent_msg_type_to_string(m.type));
        S.agent_version = m.value;
        stamp("HELLO");
        /* The template this VM made (it exists by now: hull-vmm saves it before the connection goes on). */
        if (S.sh->template_making && m.value >= 3)
                vmiso_template_note_agent(S.sh->template_cache, S.sh->template_key, m.value);
        if (!S.sh->create_early)
                send_create();
        if (boot_read(&m, deadline) < 0)
                return -1;
        /* The agent's answer to this container's set-up: a cold boot would get the same. */
        if (m.type == AGENT_ERROR)
                ready_fail("in the VM: %.*s", (int)m.text_len, m.text);
        if (m.type != AGENT_READY)
                return boot_fail("agent: expected READY, got %s", agent_msg_type_to_string(m.type));
        stamp("READY");
        return 0;
}

/*
 * A restore is bounded by io.hull.isolation.template.timeout (VMISO_RESTORE_TIMEOUT_MS): it
 * gets to READY in a fraction of a second, a cold boot in seconds, so a restored guest still
 * short of READY then has gone wrong; the cold boot behind it has the boot's bound.
 */
static void boot(void)
{
        int r = vmiso_fs_start(S.sh->shares, S.sh->n_shares);
        if (r < 0)
                ready_fail("%s", err_msg(r));
        S.bound_ms = S.sh->vmm_argv_cold ? S.sh->restore_timeout_ms : S.sh->boot_timeout_ms;
        stamp("VMM start");
        if (boot_once() < 0) {
                restore_fallback();
                /* Nothing to fall back to any more: a failure fails create. */
                boot_once();
        }
        S.sh->vmm_argv_cold = NULL;
        S.sh->agent_listen = safe_close(S.sh->agent_listen);
        S.sh->api_listen = safe_close(S.sh->api_listen); /* the VMM has its copy */
        close_taps();
        fd_nonblock(S.agent_fd, true);
        if (write(S.sh->ready_fd, "ok", 2) != 2)
                ready_fail_exit();
        S.sh->ready_fd = safe_close(S.sh->ready_fd);
}

static void send_resize(uint32_t id, int tty)
{
        struct winsize ws;
        uint8_t b[4];

        if (ioctl(tty, TIOCGWINSZ, &ws) < 0)
                return;
        b[0] = (uint8_t)ws.ws_row;
        b[1] = (uint8_t)(ws.ws_row >> 8);
        b[2] = (uint8_t)ws.ws_col;
        b[3] = (uint8_t)(ws.ws_col >> 8);
        agent_buf_frame(&S.out, AGENT_RESIZE, id, b, sizeof(b));
}

/* Frames from the agent while running. Returns false when the conversation must end. */
static bool on_frame(const struct agent_msg *m)
{
        struct session *se = m->id ? session_find(m->id) : NULL;

        if (m->id >= S.next_id || (m->id && !S.main_started)) {
                say("hull: agent: %s for process %u, which was never started",
                    agent_msg_type_to_string(m->type), m->id);
                return false;
        }
        switch (m->type) {
        case AGENT_STARTED:
                if (m->id == 1)
                        stamp("STARTED 1");
                if (se)
                        se->started = true;
                if (m->id == 1 && S.sh->terminal)
                        send_resize(1, S.sh->in_fd);
                return true;
        case AGENT_STDOUT:
        case AGENT_STDERR:
                if (se) {
                        int fd = m->type == AGENT_STDERR && se->err_fd >= 0 ? se->err_fd : se->out_fd;
                        (void)write_all(fd, m->data, m->len);
                }
                return true;
        case AGENT_EXIT:
                if (m->id == 1)
                        finish((int)m->value, true);
                if (se) {
                        reply_client(se, (int)m->value, NULL);
                        session_close(se);
                }
                return true;
        case AGENT_PROCS:
                if (S.n_ps)
                        ps_reply(0, m->data, m->len);
                return true;
        case AGENT_ERROR: {
                char msg[AGENT_MAX_ERROR_TEXT + 1];
                int status = m->err == ENOENT ? 127 : 126;
                snprintf(msg, sizeof(msg), "%.*s", (int)m->text_len, m->text);
                /* The agent answers in order: an ERROR for the VM while a PS waits is the PS's. */
                if (m->id == 0 && S.n_ps) {
                        ps_reply(m->err, msg, strlen(msg));
                        return true;
                }
                if (m->id == 1) {
                        say("hull: %s", msg);
                        finish(status, false);
                }
                if (se) {
                        reply_client(se, status, msg);
                        session_close(se);
                } else if (m->id == 0)
                        say("hull: agent: %s", msg);
                return true;
        }
        default:
                say("hull: agent: unexpected %s while running", agent_msg_type_to_string(m->type));
                return false;
        }
}

/*
 * Called when poll() says in_fd is readable: a read then returns what is there without
 * blocking. in_fd is never made O_NONBLOCK: it may be a terminal shared with a shell.
 */
static void relay_input(struct session *se)
{
        uint8_t buf[AGENT_CHUNK];
        ssize_t k = read(se->in_fd, buf, sizeof(buf));

        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (k <= 0) {
                se->in_open = false;
                agent_buf_frame(&S.out, AGENT_STDIN, se->id, NULL, 0);
                return;
        }
        agent_buf_frame(&S.out, AGENT_STDIN, se->id, buf, (size_t)k);
}

/* A PS client (vmiso_ps()): the agent is asked, the answer goes back when PROCS arrives. */
static void ps_request(int c)
{
        static const char old[] = "the container's VM runs an agent too old to list its processes";
        static const char busy[] = "too many process lists asked of this container's VM at once";

        if (S.n_ps == MAX_PS_CLIENTS || S.agent_version < 2) {
                int32_t e = S.n_ps == MAX_PS_CLIENTS ? EBUSY : EOPNOTSUPP;
                const char *why = e == EBUSY ? busy : old;
                uint8_t msg[4 + sizeof(old) + sizeof(busy)];
                memcpy(msg, &e, 4);
                memcpy(msg + 4, why, strlen(why));
                (void)!send(c, msg, 4 + strlen(why), MSG_NOSIGNAL | MSG_DONTWAIT);
                safe_close(c);
                return;
        }
        S.ps_clients[S.n_ps++] = c;
        agent_buf_frame(&S.out, AGENT_PS, 0, NULL, 0);
}

/* A new exec client: its three stdio fds and the EXEC fields in one packet. */
static void accept_client(void)
{
        _cleanup_close_ int c = accept4(S.sh->exec_listen, NULL, NULL, SOCK_CLOEXEC);
        _cleanup_free_ uint8_t *buf = NULL;
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(3 * sizeof(int))];
        } ctl = {};
        struct iovec iov;
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
        struct session *se = NULL;
        int fds[3] = {-EBADF, -EBADF, -EBADF};
        ssize_t k;

        if (c < 0)
                return;
        buf = malloc(CLIENT_MSG_MAX);
        if (!buf)
                return;
        iov = (struct iovec){buf, CLIENT_MSG_MAX};
        k = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
        struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
        if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
            h->cmsg_len == CMSG_LEN(3 * sizeof(int)))
                memcpy(fds, CMSG_DATA(h), sizeof(fds));
        if (k == (ssize_t)strlen(VMISO_PS_REQUEST) && fds[0] < 0 &&
            !memcmp(buf, VMISO_PS_REQUEST, (size_t)k)) {
                ps_request(TAKE_FD(c));
                return;
        }
        if (k <= 0 || fds[2] < 0 || (mh.msg_flags & MSG_TRUNC)) {
                for (int i = 0; i < 3; i++)
                        safe_close(fds[i]);
                return;
        }
        for (size_t i = 1; i < MAX_SESSIONS && !se; i++)
                if (!S.s[i].id)
                        se = &S.s[i];
        if (!se || S.next_id == UINT32_MAX) {
                struct vmiso_exec_reply rep = {.status = 126};
                snprintf(rep.message, sizeof(rep.message), "too many processes in this container's VM");
                (void)!send(c, &rep, sizeof(rep), MSG_NOSIGNAL);
                for (int i = 0; i < 3; i++)
                        safe_close(fds[i]);
                return;
        }
        *se = (struct session){.id = S.next_id++,
                               .in_fd = fds[0],
                               .out_fd = fds[1],
                               .err_fd = fds[2],
                               .client = TAKE_FD(c),
                               .in_open = true};
        agent_buf_frame(&S.out, AGENT_EXEC, se->id, buf, (size_t)k);
}

static void client_message(struct session *se)
{
        uint32_t msg[2];
        ssize_t k = recv(se->client, msg, sizeof(msg), MSG_DONTWAIT);

        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k != sizeof(msg)) {
                /* The client is gone (killed): so goes its process. */
                queue_u32(AGENT_SIGNAL, se->id, SIGKILL);
                session_close(se);
                return;
        }
        if (msg[0] == VMISO_CTL_SIGNAL && msg[1] > 0 && msg[1] < 65)
                queue_u32(AGENT_SIGNAL, se->id, msg[1]);
        else if (msg[0] == VMISO_CTL_RESIZE)
                queue_u32(AGENT_RESIZE, se->id, ((msg[1] >> 16) & 0xffff) | (msg[1] & 0xffff) << 16);
}

static void on_signal(void)
{
        struct signalfd_siginfo si;

        while (read(S.sfd, &si, sizeof(si)) == sizeof(si)) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGCHLD)
                        continue;
                if (sig == SIGWINCH) {
                        if (S.sh->terminal && S.main_started)
                                send_resize(1, S.sh->in_fd);
                        continue;
                }
                if (!S.main_started) {
                        /* Killed before start: nothing runs yet, the VM just goes. */
                        kill_vmm();
                        _exit(128 + sig);
                }
                queue_u32(AGENT_SIGNAL, 1, (uint32_t)sig);
        }
}

static _noreturn_ void vmm_died(void)
{
        siginfo_t si = {};
        char last[256];

        waitid(P_PID, (id_t)S.vmm_pid, &si, WEXITED);
        S.vmm_pid = 0;
        vmm_last_line(last, sizeof(last));
        if (si.si_code == CLD_EXITED)
                say("hull: the VM ended before the container's process (VMM exit status %d%s%s)",
                    si.si_status, last[0] ? ": " : "", last);
        else
                say("hull: the VM ended before the container's process (VMM killed by signal %d)",
                    si.si_status);
        finish(si.si_code == CLD_EXITED ? 255 : 128 + si.si_status, false);
}

/* Handle every whole frame the reader holds; false when the conversation must end. */
static bool drain_frames(void)
{
        struct agent_msg m;
        int r;

        while ((r = agent_reader_next(&S.rd, &m)) > 0)
                if (!on_frame(&m))
                        return false;
        if (r < 0) {
                say("hull: %s", S.rd.error);
                return false;
        }
        return true;
}

static void serve(void)
{
        for (;;) {
                struct pollfd p[6 + 2 * MAX_SESSIONS];
                struct session *owner[6 + 2 * MAX_SESSIONS] = {};
                size_t n = 0;
                uint8_t buf[65536];

                /* Frames that came behind READY during boot first: no read may bring more. */
                if (!drain_frames())
                        finish(255, false);
                p[n++] = (struct pollfd){.fd = S.agent_fd, .events = POLLIN | (S.out.len ? POLLOUT : 0)};
                p[n++] = (struct pollfd){.fd = S.vmm_pidfd, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = S.sfd, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = S.sh->exec_listen, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = S.main_started ? -1 : S.sh->fifo_fd, .events = POLLIN};
                for (size_t i = 0; i < MAX_SESSIONS; i++) {
                        struct session *se = &S.s[i];
                        if (!se->id)
                                continue;
                        if (se->in_open && S.out.len < OUT_HIGH_WATER) {
                                owner[n] = se;
                                p[n++] = (struct pollfd){.fd = se->in_fd, .events = POLLIN};
                        }
                        if (se->client >= 0) {
                                owner[n] = se;
                                p[n++] = (struct pollfd){.fd = se->client, .events = POLLIN};
                        }
                }
                if (poll(p, n, -1) < 0 && errno != EINTR) {
                        say("hull: poll: %m");
                        finish(255, false);
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t k = read(S.agent_fd, buf, sizeof(buf));
                        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                                /* The VMM closes the stream as it exits: let its exit say why. */
                                struct pollfd d = {.fd = S.vmm_pidfd, .events = POLLIN};
                                poll(&d, 1, 5000);
                                vmm_died();
                        }
                        if (k > 0 && agent_reader_feed(&S.rd, buf, (size_t)k) < 0) {
                                say("hull: %s", S.rd.error);
                                finish(255, false);
                        }
                        if (!drain_frames())
                                finish(255, false);
                }
                if (p[1].revents & POLLIN)
                        vmm_died();
                if (p[2].revents & POLLIN)
                        on_signal();
                if (p[3].revents & POLLIN)
                        accept_client();
                if (p[4].revents & (POLLIN | POLLHUP)) {
                        char c;
                        if (read(S.sh->fifo_fd, &c, 1) == 1)
                                start_main();
                }
                for (size_t i = 5; i < n; i++) {
                        struct session *se = owner[i];
                        if (!p[i].revents || !se || !se->id)
                                continue;
                        if (p[i].fd == se->client)
                                client_message(se);
                        else if (p[i].fd == se->in_fd && se->in_open)
                                relay_input(se);
                }
                if (flush_agent(0) < 0) {
                        say("hull: the connection to the VM's agent broke");
                        vmm_died();
                }
        }
}

_noreturn_ void vmiso_shim_main(struct vmiso_shim *sh)
{
        sigset_t mask;

        S.sh = sh;
        for (size_t i = 0; i < MAX_SESSIONS; i++)
                S.s[i] = (struct session){
                        .in_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF, .client = -EBADF};
        agent_reader_init(&S.rd, true);
        /* Every signal a user can send is the container's (runc's signal proxy does the same). */
        sigfillset(&mask);
        sigdelset(&mask, SIGSEGV);
        sigdelset(&mask, SIGBUS);
        sigdelset(&mask, SIGILL);
        sigdelset(&mask, SIGFPE);
        sigdelset(&mask, SIGPIPE);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        S.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (S.sfd < 0)
                ready_fail("signalfd: %s", strerror(errno));
        boot();
        if (sh->fifo_fd < 0 && !S.main_started)
                start_main();
        flush_agent(0);
        serve();
        _exit(255);
}
