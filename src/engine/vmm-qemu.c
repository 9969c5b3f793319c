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
 * names them vda, vdb... in that order), a virtio-net on a tap behind a PCIe root port of its
 * own (q35's root bus pcie.0 takes no hot-plug: a NIC there could never be unplugged), and
 * VMM_HOTPLUG_PORTS empty root ports for the NICs of `network connect` (QMP netdev_add and
 * device_add; device_del, the DEVICE_DELETED event once the guest released the device, then
 * netdev_del: docs/system/devices/net.rst, qapi/qdev.json). -no-reboot turns a guest
 * reboot into an exit, so that hull's monitor decides about restarts as with hull-vmm; the
 * SHUTDOWN event's "reason" (QAPI ShutdownCause) tells a reboot from a power-off.
 */
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
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

/* A NIC on tap behind root port <port_prefix><port>: ids "nd-TAP" (netdev) and "nic-TAP" (device). */
static int qemu_nic_args(char ***a, const char *tap, const char *mac, const char *port_prefix, size_t port)
{
        int r = 0;

        r |= add(a, "-netdev");
        r |= add(a, "tap,id=nd-%s,ifname=%s,script=no,downscript=no", tap, tap);
        r |= add(a, "-device");
        r |= add(a, "virtio-net-pci,id=nic-%s,netdev=nd-%s,bus=%s%zu%s%s", tap, tap, port_prefix, port,
                 mac ? ",mac=" : "", mac ?: "");
        return r;
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
        /* Free root ports for `network connect` (q35's pcie.0 takes no hot-plug): slots 0x04 up. */
        for (size_t i = 0; i < VMM_HOTPLUG_PORTS; i++) {
                r |= add(&a, "-device");
                r |= add(&a, "pcie-root-port,id=hp%zu,bus=pcie.0,addr=0x%zx,chassis=%zu", i, 0x04 + i,
                         16 + i);
        }
        for (size_t i = 0; i < spec->n_nics; i++) {
                const char *mac = spec->macs[i];
                /* Each NIC behind a root port of its own, so that any can be unplugged; ports in slots
                 * from 0x08 up, in the order given: the guest's eth0, eth1... follow it (the spare
                 * ports above are empty at boot). */
                r |= add(&a, "-device");
                r |= add(&a, "pcie-root-port,id=np%zu,bus=pcie.0,addr=0x%zx,chassis=%zu", i, 0x08 + i,
                         1 + i);
                r |= qemu_nic_args(&a, spec->taps[i], mac, "np", i);
        }
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

/* A DEVICE_DELETED event for the device watch (NULL: none): QEMU sends it when the guest released it. */
static bool is_deleted_event(struct json_object *o, const char *watch)
{
        struct json_object *ev, *data, *dev;

        return watch && json_object_object_get_ex(o, "event", &ev) &&
               streq(json_object_get_string(ev), "DEVICE_DELETED") &&
               json_object_object_get_ex(o, "data", &data) &&
               json_object_object_get_ex(data, "device", &dev) && streq(json_object_get_string(dev), watch);
}

/*
 * Run command with args (may be NULL; taken). The error's QMP class (qapi/error.json:
 * "DeviceNotFound", "GenericError") through ret_class when given, for callers that accept some;
 * *deleted set when a DEVICE_DELETED event for watch arrives before the reply.
 */
static int qmp_execute(int fd, const char *command, struct json_object *args,
                       struct json_object **ret_return, char *ret_class, size_t class_size,
                       const char *watch, bool *deleted)
{
        _cleanup_json_ struct json_object *req = json_object_new_object();
        int r;

        if (!req) {
                json_object_put(args);
                return -ENOMEM;
        }
        json_object_object_add(req, "execute", json_object_new_string(command));
        if (args)
                json_object_object_add(req, "arguments", args);
        if ((r = vmm_send_json(fd, req)) < 0)
                return r;
        for (;;) {
                _cleanup_json_ struct json_object *o = NULL;
                struct json_object *v;
                if ((r = vmm_read_json_line(fd, QMP_TIMEOUT_MS, &o)) < 0)
                        return r;
                if (json_object_object_get_ex(o, "error", &v)) {
                        struct json_object *desc = NULL, *cls = NULL;
                        json_object_object_get_ex(v, "desc", &desc);
                        json_object_object_get_ex(v, "class", &cls);
                        if (ret_class)
                                snprintf(ret_class, class_size, "%s",
                                         cls ? json_object_get_string(cls) : "");
                        return err_set(-EIO, "qemu refused '%s': %s", command,
                                       desc ? json_object_get_string(desc) : "unknown error");
                }
                if (json_object_object_get_ex(o, "return", &v)) {
                        if (ret_return)
                                *ret_return = json_object_get(v);
                        return 0;
                }
                /* An event that arrived before the reply: not this caller's business, but for watch. */
                if (deleted && is_deleted_event(o, watch))
                        *deleted = true;
        }
}

static int qmp_command(int fd, const char *command, struct json_object **ret_return)
{
        return qmp_execute(fd, command, NULL, ret_return, NULL, 0, NULL, NULL);
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

/* Whether arg (a -device value) has the option opt ("bus=hp0") among its comma-separated ones. */
static bool has_option(const char *arg, const char *opt)
{
        size_t n = strlen(opt);

        for (const char *p = strchr(arg, ','); p; p = strchr(p + 1, ','))
                if (strncmp(p + 1, opt, n) == 0 && (p[1 + n] == ',' || p[1 + n] == 0))
                        return true;
        return false;
}

/* The first spare root port that no NIC of argv sits on. */
static int free_port(char **argv)
{
        for (size_t p = 0; p < VMM_HOTPLUG_PORTS; p++) {
                char opt[16], id[16];
                bool used = false, exists = false;

                snprintf(opt, sizeof(opt), "bus=hp%zu", p);
                snprintf(id, sizeof(id), "id=hp%zu", p);
                STRV_FOREACH (a, argv) {
                        used = used || (startswith(*a, "virtio-net-pci,") && has_option(*a, opt));
                        exists = exists || (startswith(*a, "pcie-root-port,") && has_option(*a, id));
                }
                if (!exists)
                        return err_set(
                                -EOPNOTSUPP, "%s",
                                "the VM was started without spare PCIe root ports (by an older hull): "
                                "a restart gives it some");
                if (!used)
                        return (int)p;
        }
        return err_set(-ENOSPC,
                       "the VM's %d spare PCIe root ports all hold a NIC plugged in since its start "
                       "(a restart of the VM makes room)",
                       VMM_HOTPLUG_PORTS);
}

static struct json_object *qmp_args(const char *k1, const char *v1, ...)
{
        struct json_object *o = json_object_new_object();
        va_list ap;

        va_start(ap, v1);
        for (const char *k = k1, *v = v1; o && k;
             k = va_arg(ap, const char *), v = k ? va_arg(ap, const char *) : NULL)
                if (v && json_object_object_add(o, k, json_object_new_string(v)) < 0) {
                        json_object_put(o);
                        o = NULL;
                }
        va_end(ap);
        return o;
}

/*
 * NIC hot-plug (docs/vm.md "Networks"): the tap as a netdev (QMP netdev_add), then a virtio-net on a
 * spare root port (device_add), which the guest's PCIe hot-plug (pciehp or ACPI) probes. argv (the
 * launch file's) gains the same NIC, so that a VMM the monitor restarts has it cold-plugged.
 */
static int qemu_nic_plug(const char *dir, char ***argv, const char *tap, const char *mac)
{
        _cleanup_free_ char *nd = strdup_printf("nd-%s", tap), *nic = strdup_printf("nic-%s", tap);
        _cleanup_close_ int fd = -EBADF;
        char bus[16];
        int port, r;

        if (!nd || !nic)
                return -ENOMEM;
        if ((port = free_port(*argv)) < 0)
                return port;
        snprintf(bus, sizeof(bus), "hp%d", port);
        if ((fd = qmp_connect(dir, VMM_SOCK, 1000)) < 0)
                return fd;
        r = qmp_execute(
                fd, "netdev_add",
                qmp_args("type", "tap", "id", nd, "ifname", tap, "script", "no", "downscript", "no", NULL),
                NULL, NULL, 0, NULL, NULL);
        if (r < 0)
                return r;
        r = qmp_execute(
                fd, "device_add",
                qmp_args("driver", "virtio-net-pci", "id", nic, "netdev", nd, "bus", bus, "mac", mac, NULL),
                NULL, NULL, 0, NULL, NULL);
        if (r < 0) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                (void)qmp_execute(fd, "netdev_del", qmp_args("id", nd, NULL), NULL, NULL, 0, NULL, NULL);
                return err_set(r, "%s", msg);
        }
        return qemu_nic_args(argv, tap, mac, "hp", (size_t)port) < 0 ? -ENOMEM : 0;
}

/* Drop the -netdev and -device pairs of tap's NIC from argv. */
static void drop_nic_args(char **argv, const char *tap)
{
        _cleanup_free_ char *nd = strdup_printf("id=nd-%s", tap), *nic = strdup_printf("id=nic-%s", tap);
        size_t j = 0;

        if (!nd || !nic)
                return;
        for (size_t i = 0; argv[i]; i++) {
                if (argv[i + 1] && ((streq(argv[i], "-netdev") && has_option(argv[i + 1], nd)) ||
                                    (streq(argv[i], "-device") && has_option(argv[i + 1], nic)))) {
                        free(argv[i]);
                        free(argv[++i]);
                        continue;
                }
                argv[j++] = argv[i];
        }
        argv[j] = NULL;
}

/*
 * Unplug tap's NIC: device_del asks the guest to release it (an ACPI or PCIe attention event the
 * guest's OS must answer), DEVICE_DELETED says it did; then netdev_del closes the tap. A device QEMU
 * does not know (an interrupted plug or unplug) counts as unplugged.
 */
static int qemu_nic_unplug(const char *dir, char ***argv, const char *tap, int timeout_ms)
{
        _cleanup_free_ char *nd = strdup_printf("nd-%s", tap), *nic = strdup_printf("nic-%s", tap);
        _cleanup_close_ int fd = -EBADF;
        bool deleted = false;
        char cls[64] = "";
        int r;

        if (!nd || !nic)
                return -ENOMEM;
        if ((fd = qmp_connect(dir, VMM_SOCK, 1000)) < 0)
                return fd;
        r = qmp_execute(fd, "device_del", qmp_args("id", nic, NULL), NULL, cls, sizeof(cls), nic, &deleted);
        if (r < 0 && !streq(cls, "DeviceNotFound"))
                return r;
        if (r < 0) {
                err_clear();
                deleted = true;
        }
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (!deleted) {
                _cleanup_json_ struct json_object *o = NULL;
                clock_gettime(CLOCK_MONOTONIC, &t);
                int64_t left =
                        timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
                if (left <= 0)
                        return err_set(-ETIMEDOUT,
                                       "the guest did not release its NIC on tap %s within %d s "
                                       "(its OS must answer PCIe hot-unplug)",
                                       tap, timeout_ms / 1000);
                r = vmm_read_json_line(fd, (int)left, &o);
                if (r == -ETIMEDOUT) {
                        err_clear();
                        continue;
                }
                if (r < 0)
                        return r;
                deleted = is_deleted_event(o, nic);
        }
        /* Gone already when an earlier unplug was interrupted after it. */
        if (qmp_execute(fd, "netdev_del", qmp_args("id", nd, NULL), NULL, NULL, 0, NULL, NULL) < 0)
                err_clear();
        drop_nic_args(*argv, tap);
        return 0;
}

const struct vmm_backend_ops vmm_qemu_ops = {
        .argv = qemu_argv,
        .connect = qemu_connect,
        .read_events = qemu_read_events,
        .request = qemu_request,
        .exit_code = qemu_exit_code,
        .nic_plug = qemu_nic_plug,
        .nic_unplug = qemu_nic_unplug,
};
