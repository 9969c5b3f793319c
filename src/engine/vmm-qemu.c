/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-qemu.c - the QEMU backend: qemu-system-x86_64 (Debian's qemu-system-x86) driven
 * through QMP (docs/interop/qmp-spec.rst: a greeting, qmp_capabilities, then one JSON
 * object per line: commands and their "return", and asynchronous "event"s).
 *
 * The machine is q35 (never microvm under TCG: it hangs now and then without a reliable
 * timer, MACHINE.md), -nodefaults so that the guest sees only what hull gives it: COM1 on
 * the process's stdio (the console), COM2 on a Unix socket (the exec channel; QEMU has no
 * vsock without /dev/vhost-vsock), virtio-blk disks on PCI in the order given (the guest
 * names them vda, vdb... in that order), a virtio-net on a tap. -no-reboot turns a guest
 * reboot into an exit, so that hull's monitor decides about restarts as with hull-vmm; the
 * SHUTDOWN event's "reason" (QAPI ShutdownCause) tells a reboot from a power-off.
 */
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "util.h"
#include "vmm-backend-internal.h"

#define QMP_TIMEOUT_MS  5000
#define OVMF_PATH       "/usr/share/ovmf/OVMF.fd"
#define QMP_EVENTS_SOCK "qmp-events.sock"

static const char *qemu_format(enum disk_format f)
{
        switch (f) {
        case DISK_FORMAT_QCOW2:
                return "qcow2";
        case DISK_FORMAT_VHD:
                return "vpc";
        default:
                return "raw";
        }
}

static int add(char ***l, const char *fmt, ...) _printf_(2, 3);
static int add(char ***l, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s ? strv_push(l, s) : -ENOMEM;
}

static int qemu_argv(const struct vmm_choice *choice, const struct vmm_spec *spec, const char *binary,
                     char ***ret)
{
        _cleanup_strv_free_ char **a = NULL;
        int r = 0;

        r |= add(&a, "qemu-system-x86_64");
        r |= add(&a, "-nodefaults");
        r |= add(&a, "-no-user-config");
        r |= add(&a, "-display");
        r |= add(&a, "none");
        r |= add(&a, "-M");
        r |= add(&a, "q35");
        r |= add(&a, "-accel");
        r |= add(&a, "%s", choice->kvm ? "kvm" : "tcg");
        if (choice->kvm) {
                r |= add(&a, "-cpu");
                r |= add(&a, "host");
        }
        r |= add(&a, "-smp");
        r |= add(&a, "%u", spec->cpus ?: 1);
        r |= add(&a, "-m");
        r |= add(&a, "%" PRIu64 "M", spec->memory >> 20);
        r |= add(&a, "-no-reboot");
        if (spec->kernel) {
                r |= add(&a, "-kernel");
                r |= add(&a, "%s", spec->kernel);
                if (spec->initrd) {
                        r |= add(&a, "-initrd");
                        r |= add(&a, "%s", spec->initrd);
                }
                r |= add(&a, "-append");
                r |= add(&a, "%s", spec->cmdline ?: "console=ttyS0");
        } else if (streq_ptr(spec->firmware, "uefi")) {
                if (access(OVMF_PATH, R_OK) < 0)
                        return err_set(-ENOENT, "--firmware uefi: %s is missing (Debian package ovmf)",
                                       OVMF_PATH);
                r |= add(&a, "-bios");
                r |= add(&a, OVMF_PATH);
        }
        r |= add(&a, "-chardev");
        r |= add(&a, "stdio,id=console,signal=off");
        r |= add(&a, "-serial");
        r |= add(&a, "chardev:console");
        if (spec->exec_channel) {
                r |= add(&a, "-chardev");
                r |= add(&a, "socket,id=exec,path=" VMM_EXEC_SOCK ",server=on,wait=off");
                r |= add(&a, "-serial");
                r |= add(&a, "chardev:exec");
        }
        /* Two QMP sockets: a chardev server serves one client at a time, and the monitor keeps one. */
        r |= add(&a, "-qmp");
        r |= add(&a, "unix:" VMM_SOCK ",server=on,wait=off");
        r |= add(&a, "-qmp");
        r |= add(&a, "unix:" QMP_EVENTS_SOCK ",server=on,wait=off");
        for (size_t i = 0; i < spec->n_disks; i++) {
                const struct vmm_disk *d = &spec->disks[i];
                if (strchr(d->path, ','))
                        return err_set(-EINVAL, "disk path '%s': qemu cannot take a ',' in a file name",
                                       d->path);
                r |= add(&a, "-drive");
                r |= add(&a, "file=%s,if=none,id=disk%zu,format=%s,cache=writeback%s", d->path, i,
                         qemu_format(d->format), d->readonly ? ",readonly=on" : "");
                r |= add(&a, "-device");
                /* Slots from 0x10 up, in the order given: the guest's vda, vdb... follow it. */
                r |= add(&a, "virtio-blk-pci,drive=disk%zu,addr=0x%zx%s", i, 0x10 + i,
                         !spec->kernel && i == 0 ? ",bootindex=0" : "");
        }
        for (size_t i = 0; i < spec->n_nics; i++) {
                const char *mac = spec->macs[i];
                r |= add(&a, "-netdev");
                r |= add(&a, "tap,id=net%zu,ifname=%s,script=no,downscript=no", i, spec->taps[i]);
                r |= add(&a, "-device");
                /* Slots from 0x08 up, in the order given: the guest's eth0, eth1... follow it. */
                r |= add(&a, "virtio-net-pci,netdev=net%zu,addr=0x%zx%s%s", i, 0x08 + i, mac ? ",mac=" : "",
                         mac ?: "");
        }
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

static int qmp_command(int fd, const char *command, struct json_object **ret_return)
{
        _cleanup_json_ struct json_object *req = json_object_new_object();
        int r;

        if (!req)
                return -ENOMEM;
        json_object_object_add(req, "execute", json_object_new_string(command));
        if ((r = vmm_send_json(fd, req)) < 0)
                return r;
        for (;;) {
                _cleanup_json_ struct json_object *o = NULL;
                struct json_object *v;
                if ((r = vmm_read_json_line(fd, QMP_TIMEOUT_MS, &o)) < 0)
                        return r;
                if (json_object_object_get_ex(o, "error", &v)) {
                        struct json_object *desc = NULL;
                        json_object_object_get_ex(v, "desc", &desc);
                        return err_set(-EIO, "qemu refused '%s': %s", command,
                                       desc ? json_object_get_string(desc) : "unknown error");
                }
                if (json_object_object_get_ex(o, "return", &v)) {
                        if (ret_return)
                                *ret_return = json_object_get(v);
                        return 0;
                }
                /* An event that arrived before the reply: not this caller's business. */
        }
}

static int qmp_connect(const char *dir, const char *name, int timeout_ms)
{
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        _cleanup_json_ struct json_object *greeting = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!path)
                return -ENOMEM;
        fd = vmm_unix_connect(path, timeout_ms);
        if (fd < 0)
                return fd;
        if ((r = vmm_read_json_line(fd, QMP_TIMEOUT_MS, &greeting)) < 0)
                return r;
        if (!json_object_object_get_ex(greeting, "QMP", NULL))
                return err_set(-EPROTO, "'%s' is not a QMP socket", path);
        if ((r = qmp_command(fd, "qmp_capabilities", NULL)) < 0)
                return r;
        return TAKE_FD(fd);
}

static int qemu_connect(const char *dir, int timeout_ms)
{
        return qmp_connect(dir, QMP_EVENTS_SOCK, timeout_ms);
}

static enum vmm_exit shutdown_cause(const char *reason)
{
        if (streq_ptr(reason, "guest-shutdown"))
                return VMM_EXIT_POWEROFF;
        if (streq_ptr(reason, "guest-reset"))
                return VMM_EXIT_REBOOT;
        if (streq_ptr(reason, "guest-panic"))
                return VMM_EXIT_CRASH;
        return VMM_EXIT_STOPPED;
}

static int qemu_read_events(int fd, enum vmm_exit *reason)
{
        for (;;) {
                _cleanup_json_ struct json_object *o = NULL;
                struct json_object *ev, *data, *why;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int r;

                if (poll(&p, 1, 0) <= 0)
                        return 1;
                r = vmm_read_json_line(fd, QMP_TIMEOUT_MS, &o);
                if (r == -ECONNRESET) {
                        err_clear();
                        return 0;
                }
                if (r < 0)
                        return r;
                if (!json_object_object_get_ex(o, "event", &ev) ||
                    !streq(json_object_get_string(ev), "SHUTDOWN"))
                        continue;
                if (json_object_object_get_ex(o, "data", &data) &&
                    json_object_object_get_ex(data, "reason", &why))
                        *reason = shutdown_cause(json_object_get_string(why));
        }
}

static int qemu_request(const char *dir, enum vmm_request req, char **ret_state)
{
        static const char *const commands[_VMM_REQ_MAX] = {
                [VMM_REQ_POWERDOWN] = "system_powerdown",
                [VMM_REQ_PAUSE] = "stop",
                [VMM_REQ_RESUME] = "cont",
                [VMM_REQ_STATUS] = "query-status",
        };
        _cleanup_json_ struct json_object *ret = NULL;
        _cleanup_close_ int fd = qmp_connect(dir, VMM_SOCK, 1000);
        struct json_object *st;
        int r;

        if (fd < 0)
                return fd;
        if ((r = qmp_command(fd, commands[req], &ret)) < 0)
                return r;
        if (ret_state && json_object_object_get_ex(ret, "status", &st)) {
                *ret_state = strdup(json_object_get_string(st));
                if (!*ret_state)
                        return -ENOMEM;
        }
        return 0;
}

/* QEMU exits 0 whatever ended the guest (-no-reboot): the QMP SHUTDOWN event says what. */
static enum vmm_exit qemu_exit_code(int code, enum vmm_exit reported)
{
        if (code != 0)
                return VMM_EXIT_FAILED;
        return reported >= 0 ? reported : VMM_EXIT_POWEROFF;
}

const struct vmm_backend_ops vmm_qemu_ops = {
        .argv = qemu_argv,
        .connect = qemu_connect,
        .read_events = qemu_read_events,
        .request = qemu_request,
        .exit_code = qemu_exit_code,
};
