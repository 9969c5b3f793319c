/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - hull-vmm's control socket: a Unix stream socket that takes one JSON object
 * per line and answers with one JSON object per line.
 *
 *   {"command":"status"}   -> {"ok":true,"state":"running","vcpus":2,"memory":268435456,"uptime_ms":1234}
 *   {"command":"pause"}    -> {"ok":true,"state":"paused"}
 *   {"command":"resume"}   -> {"ok":true,"state":"running"}
 *   {"command":"attach-disks"} -> {"ok":true,"state":"running"}  (opens the `late` disks)
 *   {"command":"shutdown"} -> {"ok":true,"state":"stopping"}  (ACPI power button, then the grace time)
 *   anything else          -> {"ok":false,"error":"..."}
 *
 * The socket is created (mode 0600) when the VM is built and removed when it is freed;
 * an existing file at the path is an error, not something to delete. With "fd=N" the
 * socket is the caller's, listening already and inherited across exec: a client may
 * connect before hull-vmm is up, and its request is answered once the event loop runs. Clients are
 * served on the event loop thread; a request line longer than 4 KiB closes the client.
 */
#pragma once

#include "vm.h"

struct api;

int api_new(struct vm *vm, const char *path, struct api **ret);
void api_free(struct api *a);
/* Handle one request line; returns a malloc'd response without the newline. Exposed for tests. */
char *api_handle_request(struct vm *vm, const char *line);
