/* SPDX-License-Identifier: Apache-2.0 */
/* vmm-backend-internal.h - what vmm-backend.c, vmm-hull.c and vmm-qemu.c share. */
#pragma once

#include "vmm-backend.h"

struct json_object;

int vmm_unix_connect(const char *path, int timeout_ms);
/* One JSON object from a line of fd (empty lines skipped). */
int vmm_read_json_line(int fd, int timeout_ms, struct json_object **ret);
int vmm_send_json(int fd, struct json_object *o);

int vmm_hull_argv(const struct vmm_spec *spec, const char *binary, char ***ret);
int vmm_hull_request(const char *dir, enum vmm_request req, char **ret_state);

int vmm_qemu_argv(const struct vmm_choice *choice, const struct vmm_spec *spec, char ***ret);
int vmm_qemu_connect(const char *dir, int timeout_ms);
int vmm_qemu_read_events(int fd, enum vmm_exit *reason);
int vmm_qemu_request(const char *dir, enum vmm_request req, char **ret_state);
