/* SPDX-License-Identifier: Apache-2.0 */
/* container-internal.h - helpers shared by container.c (create, start) and container-ops.c (the rest). */
#pragma once

#include "container.h"

#define LOCK_FILE "lock"
#define STOP_FILE "stop"

/* Take the container's lock (flock on <dir>/lock); wait or -EBUSY. -ENOENT when the directory is gone. */
int ctr_lock(struct engine *e, const char *id, bool wait, int *ret_fd);
/* Run argv with stdin and stdout on /dev/null: its exit status (128+N when killed), stderr's last line in
 * err. */
int ctr_spawn_capture(char **argv, char *err, size_t err_size);
/* Run hull-runtime --root <runtime root> args... (NULL-terminated): as ctr_spawn_capture(). */
int ctr_runtime(struct engine *e, char *err, size_t err_size, ...);
/* Release what a container whose monitor is gone holds on the host: runtime state, cgroup, rootfs mount. */
void ctr_release(struct engine *e, const struct workload *w);
/* "/hull-<id>": the cgroupsPath of every container (one level, so that removing it leaves nothing). */
char *ctr_cgroup_path(const char *id);
/* Refresh; with the lock held by the caller (repairs allowed) or not (repairs only if the lock is free). */
int ctr_refresh_locked(struct engine *e, struct workload *w, bool have_lock);
/* Until the monitor recorded the end (final) or is gone, at most timeout_ms (-1: no limit); -ETIMEDOUT. */
int ctr_wait_end(struct engine *e, struct workload *w, int timeout_ms);
/* Wait up to timeout_ms for the monitor of w to exit. 0 when gone, -ETIMEDOUT. */
int ctr_wait_monitor(const struct workload *w, int timeout_ms);
/* Remove the container's row, then its directory (the lock is held); anonymous volumes too when volumes. */
int ctr_destroy(struct engine *e, struct workload *w, bool volumes);
