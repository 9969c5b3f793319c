/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-backend.c - choosing a VMM backend, and what both backends share: the control
 * connection (one JSON object per line on a Unix socket, for hull-vmm's API and QEMU's QMP
 * alike) and the mapping of a VMM's end onto enum vmm_exit. See vmm-backend.h.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "util.h"
#include "vmm-backend-internal.h"

static const char *const kind_names[_VMM_KIND_MAX] = {
        [VMM_HULL] = "hull",
        [VMM_QEMU] = "qemu",
};

static const char *const exit_names[_VMM_EXIT_MAX] = {
        [VMM_EXIT_POWEROFF] = "poweroff", [VMM_EXIT_REBOOT] = "reboot", [VMM_EXIT_CRASH] = "crash",
        [VMM_EXIT_STOPPED] = "stopped",   [VMM_EXIT_FAILED] = "failed",
};

const char *vmm_kind_to_string(enum vmm_kind k)
{
        return k >= 0 && k < _VMM_KIND_MAX ? kind_names[k] : NULL;
}

enum vmm_kind vmm_kind_from_string(const char *s)
{
        for (int i = 0; i < _VMM_KIND_MAX; i++)
                if (streq_ptr(s, kind_names[i]))
                        return (enum vmm_kind)i;
        return _VMM_KIND_INVALID;
}

const char *vmm_exit_to_string(enum vmm_exit e)
{
        return e >= 0 && e < _VMM_EXIT_MAX ? exit_names[e] : NULL;
}

/* The "flags" line of /proc/cpuinfo names vmx (Intel VT-x) or svm (AMD-V) when the CPU offers them. */
bool vmm_host_has_hw_virt(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[8192];

        while (f && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "flags", 5) != 0)
                        continue;
                return strstr(line, " vmx") || strstr(line, " svm");
        }
        return false;
}

bool vmm_host_has_kvm(void)
{
        _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        return fd >= 0;
}

int vmm_backend_pick(enum vmm_kind want, const struct vmm_spec *spec, struct vmm_choice *ret)
{
        bool kvm = vmm_host_has_kvm(), hw = vmm_host_has_hw_virt();
        struct vmm_choice c = {.kind = VMM_QEMU, .kvm = kvm && hw};

        if (want == VMM_HULL) {
                if (!spec->kernel)
                        return err_set(
                                -EOPNOTSUPP,
                                "--vmm hull: hull-vmm has no firmware and cannot boot a disk by itself; "
                                "use --vmm qemu or give a kernel");
                c.kind = VMM_HULL;
                snprintf(c.reason, sizeof(c.reason), "hull-vmm: asked for with --vmm hull%s",
                         kvm && hw ? "" : " (this host's /dev/kvm may not run a Linux guest)");
        } else if (want == VMM_QEMU) {
                snprintf(c.reason, sizeof(c.reason), "qemu (%s): asked for with --vmm qemu",
                         c.kvm ? "kvm" : "tcg");
        } else if (!spec->kernel) {
                snprintf(c.reason, sizeof(c.reason),
                         "qemu (%s): the disk boots through firmware (%s), which only qemu has",
                         c.kvm ? "kvm" : "tcg", spec->firmware ?: "bios");
        } else if (!kvm) {
                snprintf(c.reason, sizeof(c.reason), "qemu (tcg): /dev/kvm cannot be opened");
        } else if (!hw) {
                snprintf(c.reason, sizeof(c.reason),
                         "qemu (tcg): /dev/kvm is not hardware virtualization (no vmx/svm CPU flag: "
                         "paravirtual KVM does not run a Linux guest)");
        } else {
                c.kind = VMM_HULL;
                snprintf(c.reason, sizeof(c.reason), "hull-vmm: /dev/kvm with hardware virtualization");
        }
        *ret = c;
        return 0;
}

static const struct vmm_backend_ops *const backends[_VMM_KIND_MAX] = {
        [VMM_HULL] = &vmm_hull_ops,
        [VMM_QEMU] = &vmm_qemu_ops,
};

static const struct vmm_backend_ops *ops(enum vmm_kind k)
{
        return k >= 0 && k < _VMM_KIND_MAX ? backends[k] : NULL;
}

int vmm_backend_argv(const struct vmm_choice *choice, const struct vmm_spec *spec, const char *binary,
                     char ***ret)
{
        const struct vmm_backend_ops *o = ops(choice->kind);
        return o ? o->argv(choice, spec, binary, ret) : -EINVAL;
}

int vmm_unix_connect(const char *path, int timeout_ms)
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        struct timespec start, now;

        _cleanup_close_ int dfd = -EBADF;
        if (strlen(path) >= sizeof(a.sun_path)) {
                /* Through the directory's fd: /proc/self/fd/N/NAME is short whatever the directory. */
                const char *slash = strrchr(path, '/');
                _cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
                if (!dir)
                        return err_set(-ENAMETOOLONG, "socket path too long: '%s'", path);
                dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return err_set(-errno, "cannot open '%s': %s", dir, strerror(errno));
                if (snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dfd, slash + 1) >=
                    (int)sizeof(a.sun_path))
                        return err_set(-ENAMETOOLONG, "socket name too long: '%s'", slash + 1);
        } else
                strcpy(a.sun_path, path);
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                        return TAKE_FD(fd);
                if (errno != ENOENT && errno != ECONNREFUSED)
                        return err_set(-errno, "cannot connect to '%s': %s", path, strerror(errno));
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
                    timeout_ms)
                        return err_set(-ETIMEDOUT, "the VMM's socket '%s' did not appear", path);
                usleep(20000);
        }
}

int vmm_read_json_line(int fd, int timeout_ms, struct json_object **ret)
{
        char line[65536];
        size_t n = 0;

        /* Byte by byte: a reply is short, and what follows it on the socket is not ours to take. */
        while (n < sizeof(line) - 1) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int k = poll(&p, 1, timeout_ms);
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return err_set(-ETIMEDOUT, "the VMM did not answer");
                ssize_t m = read(fd, line + n, 1);
                if (m < 0)
                        return -errno;
                if (m == 0)
                        return err_set(-ECONNRESET, "the VMM closed its control connection");
                if (line[n] == '\n') {
                        if (n == 0)
                                continue;
                        return json_parse_buffer(line, n, "VMM reply", ret);
                }
                n++;
        }
        return err_set(-EBADMSG, "the VMM's reply is too long");
}

int vmm_send_json(int fd, struct json_object *o)
{
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        _cleanup_free_ char *line = strdup_printf("%s\n", s);
        return line ? write_all(fd, line, strlen(line)) : -ENOMEM;
}

int vmm_backend_connect(enum vmm_kind kind, const char *dir, int timeout_ms)
{
        const struct vmm_backend_ops *o = ops(kind);
        return o && o->connect ? o->connect(dir, timeout_ms) : -EOPNOTSUPP;
}

int vmm_backend_read_events(enum vmm_kind kind, int fd, enum vmm_exit *reason)
{
        const struct vmm_backend_ops *o = ops(kind);
        return o && o->read_events ? o->read_events(fd, reason) : 0;
}

int vmm_backend_request(enum vmm_kind kind, const char *dir, enum vmm_request req, char **ret_state)
{
        const struct vmm_backend_ops *o = ops(kind);
        if (!o || req < 0 || req >= _VMM_REQ_MAX)
                return -EINVAL;
        return o->request(dir, req, ret_state);
}

enum vmm_exit vmm_backend_exit(enum vmm_kind kind, int wait_status, enum vmm_exit reported)
{
        const struct vmm_backend_ops *o = ops(kind);

        if (WIFSIGNALED(wait_status))
                return WTERMSIG(wait_status) == SIGKILL ? VMM_EXIT_FAILED : VMM_EXIT_STOPPED;
        return o ? o->exit_code(WEXITSTATUS(wait_status), reported) : VMM_EXIT_FAILED;
}

static int no_hotplug(enum vmm_kind kind)
{
        return err_set(-EOPNOTSUPP, "the VM runs under %s, which cannot plug NICs in or out: %s",
                       kind == VMM_HULL ? "hull-vmm" : vmm_kind_to_string(kind) ?: "an unknown VMM",
                       "stop it first (its networks change as of its next start)");
}

int vmm_backend_nic_hotplug(enum vmm_kind kind)
{
        const struct vmm_backend_ops *o = ops(kind);
        return o && o->nic_plug ? 0 : no_hotplug(kind);
}

int vmm_backend_nic_plug(enum vmm_kind kind, const char *dir, char ***argv, const char *tap, const char *mac)
{
        const struct vmm_backend_ops *o = ops(kind);
        return o && o->nic_plug ? o->nic_plug(dir, argv, tap, mac) : no_hotplug(kind);
}

int vmm_backend_nic_unplug(enum vmm_kind kind, const char *dir, char ***argv, const char *tap,
                           int timeout_ms)
{
        const struct vmm_backend_ops *o = ops(kind);
        return o && o->nic_unplug ? o->nic_unplug(dir, argv, tap, timeout_ms) : no_hotplug(kind);
}
