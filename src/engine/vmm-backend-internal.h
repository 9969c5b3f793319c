/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-backend-internal.h - what vmm-backend.c, vmm-hull.c and vmm-qemu.c share: each backend
 * is a struct vmm_backend_ops (kvmtool's way with devices), and the JSON-lines plumbing both
 * control sockets use.
 */
#pragma once

#include "vmm-backend.h"

struct json_object;

struct vmm_backend_ops {
        /* The VMM's command line for spec (binary: hull-vmm's path, for the hull backend). */
        int (*argv)(const struct vmm_choice *choice, const struct vmm_spec *spec, const char *binary,
                    char ***ret);
        /* The monitor's event connection; NULL when the backend has none (the exit code says it all). */
        int (*connect)(const char *dir, int timeout_ms);
        int (*read_events)(int fd, enum vmm_exit *reason);
        int (*request)(const char *dir, enum vmm_request req, char **ret_state);
        /* How a VMM that exited with code (not killed by a signal) ended. */
        enum vmm_exit (*exit_code)(int code, enum vmm_exit reported);
        /* NIC hot-plug (NULL: the backend has none). */
        int (*nic_plug)(const char *dir, char ***argv, const char *tap, const char *mac);
        int (*nic_unplug)(const char *dir, char ***argv, const char *tap, int timeout_ms);
};

extern const struct vmm_backend_ops vmm_hull_ops, vmm_qemu_ops;

int vmm_unix_connect(const char *path, int timeout_ms);
/* One JSON object from a line of fd (empty lines skipped). */
int vmm_read_json_line(int fd, int timeout_ms, struct json_object **ret);
int vmm_send_json(int fd, struct json_object *o);
