/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-exec.c - the host side of `hull vm exec` (protocol: vm-exec-proto.h) and the inspect
 * document of a VM.
 *
 * The channel is the VM's exec.sock: with QEMU, the guest's second serial port as a Unix
 * socket (connect, and the stream is the line); with hull-vmm, the host side of the vsock
 * device (write "CONNECT 1024\n", read "OK <port>\n", docs/vmm.md). The guest init may
 * still be booting when exec starts, so the HELLO is repeated until the guest answers or
 * the boot timeout passes.
 */
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "util.h"
#include "vm-exec-proto.h"
#include "vm-internal.h"
#include "vmm-backend-internal.h"

#define EXEC_BOOT_TIMEOUT_MS 180000
#define HELLO_INTERVAL_MS    500


/* The vsock handshake of hull-vmm's Unix socket: one line each way. */
static int vsock_connect(int fd, unsigned port)
{
        char line[64];
        size_t n = 0;
        int r;

        snprintf(line, sizeof(line), "CONNECT %u\n", port);
        if ((r = write_all(fd, line, strlen(line))) < 0)
                return r;
        while (n < sizeof(line) - 1) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 5000) <= 0 || read(fd, line + n, 1) != 1)
                        return -ECONNREFUSED;
                if (line[n++] == '\n')
                        break;
        }
        line[n] = 0;
        return startswith(line, "OK ") ? 0 : -ECONNREFUSED;
}

static int exec_connect(const char *dir, enum vmm_kind kind, int64_t deadline, int *ret_fd)
{
        _cleanup_free_ char *path = strdup_printf("%s/" VMM_EXEC_SOCK, dir);

        if (!path)
                return -ENOMEM;
        for (;;) {
                _cleanup_close_ int fd = vmm_unix_connect(path, 2000);
                int r = fd;
                if (fd >= 0 && kind == VMM_HULL)
                        r = vsock_connect(fd, 1024);
                if (r >= 0) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                /* hull-vmm resets a port nobody listens on: the guest init is not there yet. */
                if (now_ms() > deadline)
                        return err_set(-ETIMEDOUT,
                                       "the VM's guest init does not answer on its exec channel");
                err_clear();
                usleep(HELLO_INTERVAL_MS * 1000);
        }
}

static int handshake(int fd, struct vmx_reader *rd, int64_t deadline)
{
        int64_t next = 0;

        for (;;) {
                const uint8_t *p;
                uint32_t len;
                char type;
                int r;

                if (now_ms() >= next) {
                        if ((r = vmx_send_str(fd, VMX_HELLO, VMX_MAGIC)) < 0)
                                return r;
                        next = now_ms() + HELLO_INTERVAL_MS;
                }
                /* Whatever came before the guest's HELLO is not this session's. */
                if (vmx_skip_to_hello(rd) && vmx_next(rd, &type, &p, &len) > 0)
                        return 0;
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                if (now_ms() > deadline)
                        return err_set(-ETIMEDOUT,
                                       "the VM's guest init does not answer on its exec channel");
                if (poll(&pf, 1, HELLO_INTERVAL_MS) > 0) {
                        r = vmx_fill(rd, fd);
                        if (r == 0)
                                return err_set(-ECONNRESET, "the VM's exec channel closed");
                        if (r < 0)
                                return r;
                }
        }
}

/* A session with the guest init, HELLOs exchanged. */
static int session_open(const char *dir, enum vmm_kind kind, int64_t deadline, struct vmx_reader *rd,
                        int *ret_fd)
{
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                int r;

                if ((r = exec_connect(dir, kind, deadline, &fd)) < 0)
                        return r;
                r = handshake(fd, rd, deadline);
                if (r >= 0) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                /* hull-vmm may take the connection and then reset it while the guest's init is not
                 * listening yet: start over on a new one. */
                if ((r != -ECONNRESET && r != -EPIPE) || now_ms() > deadline)
                        return r;
                err_clear();
                rd->len = rd->consumed = 0;
                usleep(HELLO_INTERVAL_MS * 1000);
        }
}

int vm_exec_nic(const char *dir, enum vmm_kind kind, char type, const void *payload, size_t len,
                int timeout_ms)
{
        _cleanup_free_ struct vmx_reader *rd = calloc(1, sizeof(*rd));
        _cleanup_close_ int fd = -EBADF;
        int64_t deadline = now_ms() + timeout_ms;
        int r, failed = 0;

        if (!rd)
                return -ENOMEM;
        signal(SIGPIPE, SIG_IGN);
        if ((r = session_open(dir, kind, deadline, rd, &fd)) < 0 ||
            (r = vmx_send(fd, type, payload, (uint32_t)len)) < 0)
                return r;
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                const uint8_t *pl;
                uint32_t n;
                char t;

                while ((r = vmx_next(rd, &t, &pl, &n)) > 0) {
                        if (t == VMX_FAIL)
                                failed = err_set(-EIO, "%.*s", (int)n, (const char *)pl);
                        else if (t == VMX_STATUS)
                                return failed < 0 ? failed
                                       : n == 1 && pl[0] == '0'
                                               ? 0
                                               : err_set(-EIO, "%s",
                                                         "the guest init refused the NIC request");
                }
                if (r < 0)
                        return err_set(r, "the VM's exec channel sent a malformed frame");
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return err_set(-ETIMEDOUT,
                                       "the guest init did not answer the NIC request within %d s",
                                       timeout_ms / 1000);
                if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
                        return -errno;
                if (p.revents && (r = vmx_fill(rd, fd)) <= 0)
                        return r < 0 ? r : err_set(-ECONNRESET, "%s", "the VM's exec channel closed");
        }
}

/* This terminal's size as the guest terminal's new size (after SIGWINCH); nothing if it has none. */
static int send_size(int fd)
{
        struct winsize ws;
        char size[32];

        if (ioctl(1, TIOCGWINSZ, &ws) < 0 && ioctl(0, TIOCGWINSZ, &ws) < 0)
                return 0;
        snprintf(size, sizeof(size), "%u %u", ws.ws_row, ws.ws_col);
        return vmx_send_str(fd, VMX_RESIZE, size);
}

int vm_exec(struct engine *e, const struct workload *w, const struct vm_exec_options *o, int *ret_code)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id);
        _cleanup_free_ struct vmx_reader *rd = calloc(1, sizeof(*rd));
        _cleanup_close_ int fd = -EBADF;
        int64_t deadline = now_ms() + EXEC_BOOT_TIMEOUT_MS;
        bool in_open = o->interactive;
        int signal_fd = o->signal_fd;
        enum vmm_kind kind;
        int r, failed = 0;

        if (!dir || !rd)
                return -ENOMEM;
        if (w->state != WORKLOAD_RUNNING)
                return err_set(-EINVAL, "vm '%s' is not running", w->name);
        if (w->image_id[0] == 0)
                return err_set(-EOPNOTSUPP,
                               "vm '%s' does not run hull's guest init (exec needs a VM made from an image)",
                               w->name);
        /* A guest going away shows as EPIPE on a write: an error to handle, not a signal to die of. */
        signal(SIGPIPE, SIG_IGN);
        if ((r = vm_launch_kind(dir, &kind)) < 0)
                return r;
        if ((r = session_open(dir, kind, deadline, rd, &fd)) < 0)
                return r;
        STRV_FOREACH (a, o->argv)
                if ((r = vmx_send_str(fd, VMX_ARG, *a)) < 0)
                        return r;
        STRV_FOREACH (kv, o->env)
                if ((r = vmx_send_str(fd, VMX_ENV, *kv)) < 0)
                        return r;
        if (o->tty) {
                char size[32];
                snprintf(size, sizeof(size), "%u %u", o->rows, o->cols);
                if ((r = vmx_send_str(fd, VMX_TERMINAL, size)) < 0)
                        return r;
        }
        if ((o->workdir && (r = vmx_send_str(fd, VMX_WORKDIR, o->workdir)) < 0) ||
            (o->user && (r = vmx_send_str(fd, VMX_USER, o->user)) < 0) ||
            (r = vmx_send(fd, VMX_RUN, NULL, 0)) < 0)
                return r;
        if (!in_open && (r = vmx_send(fd, VMX_STDIN_CLOSE, NULL, 0)) < 0)
                return r;
        for (;;) {
                struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
                                      {.fd = in_open ? 0 : -1, .events = POLLIN},
                                      {.fd = signal_fd, .events = POLLIN}};
                const uint8_t *pl;
                uint32_t len;
                char type;

                while ((r = vmx_next(rd, &type, &pl, &len)) > 0) {
                        if (type == VMX_STDOUT)
                                (void)!write_all(1, pl, len);
                        else if (type == VMX_STDERR)
                                (void)!write_all(2, pl, len);
                        else if (type == VMX_FAIL)
                                failed = err_set(-ENOEXEC, "%.*s", (int)len, (const char *)pl);
                        else if (type == VMX_STATUS) {
                                char s[16] = {};
                                memcpy(s, pl, MIN(len, (uint32_t)sizeof(s) - 1));
                                if (parse_int(s, ret_code) < 0)
                                        return err_set(-EBADMSG,
                                                       "the guest sent an invalid exit status '%s'", s);
                                return failed;
                        }
                }
                if (r < 0)
                        return err_set(r, "the VM's exec channel sent a malformed frame");
                if (poll(p, 3, -1) < 0 && errno != EINTR)
                        return -errno;
                if (p[2].revents) {
                        struct signalfd_siginfo si = {};
                        char num[16];
                        if (read(signal_fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGWINCH) {
                                if (o->tty && (r = send_size(fd)) < 0)
                                        return r;
                        } else if (si.ssi_signo > 0) {
                                snprintf(num, sizeof(num), "%u", si.ssi_signo);
                                if ((r = vmx_send_str(fd, VMX_SIGNAL, num)) < 0)
                                        return r;
                        }
                }
                if (p[1].revents) {
                        char buf[VMX_PAYLOAD_MAX];
                        ssize_t n = read(0, buf, sizeof(buf));
                        if (n > 0)
                                r = vmx_send(fd, VMX_STDIN, buf, (uint32_t)n);
                        else {
                                in_open = false;
                                r = vmx_send(fd, VMX_STDIN_CLOSE, NULL, 0);
                        }
                        if (r < 0)
                                return r;
                }
                if (p[0].revents) {
                        r = vmx_fill(rd, fd);
                        if (r == 0)
                                return err_set(-ECONNRESET, "the VM ended before the process did");
                        if (r < 0)
                                return r;
                }
        }
}

static char *iso_time(int64_t ns)
{
        char buf[64];
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;

        if (!ns)
                return strdup("0001-01-01T00:00:00Z");
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return strdup_printf("%s.%09lldZ", buf, (long long)(ns % 1000000000));
}

static void add_time(struct json_object *o, const char *key, int64_t ns)
{
        _cleanup_free_ char *s = iso_time(ns);
        json_object_object_add(o, key, json_object_new_string(s ?: ""));
}

int vm_inspect_json(struct engine *e, const struct workload *w, struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object(), *spec = NULL, *launch = NULL;
        _cleanup_free_ char *dir = vm_dir(e, w->id), *lpath = NULL, *log = NULL;
        struct json_object *state = json_object_new_object(), *vmm = json_object_new_object(), *v;

        if (!o || !state || !vmm || !dir || !(lpath = strdup_printf("%s/" VM_LAUNCH_FILE, dir)) ||
            !(log = strdup_printf("%s/" VM_CONSOLE_LOG, dir))) {
                json_object_put(state);
                json_object_put(vmm);
                return -ENOMEM;
        }
        json_object_object_add(o, "Id", json_object_new_string(w->id));
        json_object_object_add(o, "Name", json_object_new_string(w->name));
        json_object_object_add(o, "Kind", json_object_new_string(w->kind));
        add_time(o, "Created", w->created);
        json_object_object_add(o, "Image", json_object_new_string(w->image_id));
        json_object_object_add(o, "ImageName", json_object_new_string(w->image_ref));
        json_object_object_add(o, "Command", json_object_new_string(w->command ?: ""));
        json_object_object_add(state, "Status", json_object_new_string(workload_state_to_string(w->state)));
        json_object_object_add(state, "Running", json_object_new_boolean(w->state == WORKLOAD_RUNNING));
        json_object_object_add(state, "Paused", json_object_new_boolean(w->state == WORKLOAD_PAUSED));
        json_object_object_add(state, "Restarting",
                               json_object_new_boolean(w->state == WORKLOAD_RESTARTING));
        json_object_object_add(state, "Pid",
                               json_object_new_int64(w->state == WORKLOAD_RUNNING ? w->pid : 0));
        json_object_object_add(state, "MonitorPid", json_object_new_int64(w->monitor_pid));
        json_object_object_add(state, "ExitCode", json_object_new_int(w->exit_code));
        json_object_object_add(state, "Error", json_object_new_string(w->error ?: ""));
        add_time(state, "StartedAt", w->started);
        add_time(state, "FinishedAt", w->finished);
        json_object_object_add(o, "State", state);
        json_object_object_add(o, "RestartCount", json_object_new_int(w->restart_count));
        if (json_parse_file(lpath, 1 << 20, &launch) >= 0) {
                if (json_object_object_get_ex(launch, "vmm", &v))
                        json_object_object_add(vmm, "Backend", json_object_get(v));
                if (json_object_object_get_ex(launch, "reason", &v))
                        json_object_object_add(vmm, "Reason", json_object_get(v));
                if (json_object_object_get_ex(launch, "argv", &v))
                        json_object_object_add(vmm, "Args", json_object_get(v));
        }
        err_clear();
        /* What the VMM itself says (QMP query-status, hull-vmm's status): "running", "paused"... */
        enum vmm_kind kind;
        _cleanup_free_ char *live = NULL;
        if ((w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED) &&
            vm_launch_kind(dir, &kind) >= 0 && vmm_backend_request(kind, dir, VMM_REQ_STATUS, &live) >= 0 &&
            live)
                json_object_object_add(vmm, "Status", json_object_new_string(live));
        err_clear();
        json_object_object_add(o, "Vmm", vmm);
        json_object_object_add(o, "ConsoleLogPath", json_object_new_string(log));
        if (json_parse_buffer(w->spec, strlen(w->spec), "vm spec", &spec) >= 0)
                json_object_object_add(o, "Spec", TAKE_PTR(spec));
        err_clear();
        /* As a container's (engine-net.h): the attachment recorded in the VM's directory. */
        struct vm_spec vs = {};
        struct json_object *net = NULL;
        if (vm_spec_from_json(w->spec, &vs) >= 0 &&
            engine_net_settings_json(e, w, vs.net ?: &(struct runspec){}, &net) >= 0)
                json_object_object_add(o, "NetworkSettings", net);
        vm_spec_done(&vs);
        err_clear();
        *ret = TAKE_PTR(o);
        return 0;
}
