/* SPDX-License-Identifier: Apache-2.0 */
/*
 * leftovers.h - releasing what a container holds on the host when the process that
 * normally releases it is gone: the cgroup (hull-runtime killed between creating the
 * cgroup and writing its state, so that `delete` cannot find it) and the rootfs mount
 * (the engine mounts it, the monitor unmounts it when the container ends).
 *
 * Used by hull-monitor and by the engine's repairs; libc only.
 */
#pragma once

#include "macro.h"

/* Kill what is left in the cgroup at path (relative to each hierarchy's root) and remove it everywhere. */
void leftover_cgroup_sweep(const char *cgroup_path);
/* Unmount path when something is mounted there (lazily when still busy). Returns 1 when it was mounted. */
int leftover_umount(const char *path);
/* True when path is the root of a mount (its device differs from its parent's). */
bool is_mount_point(const char *path);
