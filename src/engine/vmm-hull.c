/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-hull.c - the hull-vmm backend: hull-vmm's command line and its control API
 * (docs/vmm.md: one JSON request and one reply per line on --api-sock). The console is
 * `--serial stdio`; the exec channel is the vsock device, whose host side is the Unix
 * socket exec.sock (`CONNECT <port>\n`, then the stream). A guest reboot ends hull-vmm
 * with exit code 1 (docs/vmm.md), which the monitor turns into a restart.
 */
#include <json-c/json.h>
#include <stdio.h>

#include "error.h"
#include "json.h"
#include "util.h"
#include "vmm-backend-internal.h"

#define API_TIMEOUT_MS 5000
#define GUEST_CID      3

/* "--opt VALUE"; takes value (malloc'd, may be NULL: -ENOMEM) in every case. */
static int add_pair(char ***a, const char *opt, char *value)
{
        if (!value || strv_extend(a, opt) < 0) {
                free(value);
                return -ENOMEM;
        }
        return strv_push(a, value);
}

static int hull_argv(const struct vmm_choice *choice, const struct vmm_spec *spec, const char *binary,
                     char ***ret)
{
        _cleanup_strv_free_ char **a = NULL;
        char buf[64];

        if (!spec->kernel)
                return err_set(-EOPNOTSUPP, "hull-vmm cannot boot a disk by itself (no firmware)");
        if (strv_extend(&a, binary) < 0 || strv_extend(&a, "--kernel") < 0 ||
            strv_extend(&a, spec->kernel) < 0)
                return -ENOMEM;
        if (spec->initrd && (strv_extend(&a, "--initrd") < 0 || strv_extend(&a, spec->initrd) < 0))
                return -ENOMEM;
        if (spec->cmdline && (strv_extend(&a, "--cmdline") < 0 || strv_extend(&a, spec->cmdline) < 0))
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "%u", spec->cpus ?: 1);
        if (strv_extend(&a, "--cpus") < 0 || strv_extend(&a, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "%" PRIu64 "M", spec->memory >> 20);
        if (strv_extend(&a, "--memory") < 0 || strv_extend(&a, buf) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < spec->n_disks; i++) {
                const struct vmm_disk *d = &spec->disks[i];
                char *s = strdup_printf("%s,format=%s%s", d->path, disk_format_to_string(d->format),
                                        d->readonly ? ",ro" : "");
                if (add_pair(&a, "--disk", s) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < spec->n_nics; i++) {
                const char *mac = spec->macs[i];
                char *s = strdup_printf("tap=%s%s%s", spec->taps[i], mac ? ",mac=" : "", mac ?: "");
                if (add_pair(&a, "--net", s) < 0)
                        return -ENOMEM;
        }
        if (spec->exec_channel) {
                char *s = strdup_printf("cid=%d,uds=" VMM_EXEC_SOCK, GUEST_CID);
                if (add_pair(&a, "--vsock", s) < 0)
                        return -ENOMEM;
        }
        if (strv_extend(&a, "--serial") < 0 || strv_extend(&a, "stdio") < 0 ||
            strv_extend(&a, "--api-sock") < 0 || strv_extend(&a, VMM_SOCK) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

static int hull_request(const char *dir, enum vmm_request req, char **ret_state)
{
        static const char *const commands[_VMM_REQ_MAX] = {
                [VMM_REQ_POWERDOWN] = "shutdown",
                [VMM_REQ_PAUSE] = "pause",
                [VMM_REQ_RESUME] = "resume",
                [VMM_REQ_STATUS] = "status",
        };
        _cleanup_free_ char *path = strdup_printf("%s/" VMM_SOCK, dir);
        _cleanup_json_ struct json_object *q = json_object_new_object(), *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *state = NULL, *error = NULL;
        bool ok = false;
        int r;

        if (!path || !q)
                return -ENOMEM;
        if ((fd = vmm_unix_connect(path, 1000)) < 0)
                return fd;
        json_object_object_add(q, "command", json_object_new_string(commands[req]));
        if ((r = vmm_send_json(fd, q)) < 0 || (r = vmm_read_json_line(fd, API_TIMEOUT_MS, &reply)) < 0)
                return r;
        (void)json_get_bool(reply, "ok", "ok", &ok);
        (void)json_get_string(reply, "state", "state", &state);
        (void)json_get_string(reply, "error", "error", &error);
        err_clear();
        if (!ok)
                return err_set(-EIO, "hull-vmm refused '%s': %s", commands[req], error ?: "unknown error");
        if (ret_state && state && !(*ret_state = strdup(state)))
                return -ENOMEM;
        return 0;
}

/* docs/vmm.md "Exit status". */
static enum vmm_exit hull_exit_code(int code, enum vmm_exit reported)
{
        switch (code) {
        case 0:
                return VMM_EXIT_POWEROFF;
        case 1:
                return VMM_EXIT_REBOOT;
        case 2:
                return VMM_EXIT_CRASH;
        case 3:
                return VMM_EXIT_STOPPED;
        default:
                return VMM_EXIT_FAILED;
        }
}

const struct vmm_backend_ops vmm_hull_ops = {
        .argv = hull_argv,
        .request = hull_request,
        .exit_code = hull_exit_code,
};
