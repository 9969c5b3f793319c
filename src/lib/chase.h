/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chase.h - resolve paths inside a directory tree that is treated as "/".
 *
 * Used for every path inside a container rootfs or an unpacked image layer,
 * where the tree's own symlinks are controlled by someone else (CVE-2021-30465
 * and friends): ".." stops at the root, absolute symlinks are taken relative to
 * the root, magic links (/proc/self/fd/N, /proc/N/root) are never followed, and
 * the result is an fd, so that a later rename in the tree cannot redirect it.
 *
 * The fast path is openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) (Linux
 * 5.6). Where openat2 is missing (ENOSYS) a component-by-component walk with
 * O_PATH|O_NOFOLLOW gives the same answer.
 */
#pragma once

#include <sys/types.h>

#include "macro.h"

enum {
        CHASE_NOFOLLOW = 1 << 0, /* do not follow a symlink in the last component */
        CHASE_NO_OPENAT2 = 1 << 1, /* force the portable walk (tests) */
};

/* Open path (absolute or relative, both taken from root_fd) with open_flags. Returns the fd or -errno. */
int chase_open(int root_fd, const char *path, int open_flags, unsigned flags);
/* Create the missing directories of path inside the root. Returns an O_PATH fd of the last one. */
int chase_mkdir_p(int root_fd, const char *path, mode_t mode, unsigned flags);
/*
 * Make sure path exists inside the root, as a directory (dir = true) or a regular empty
 * file, creating parents as needed; an existing entry of another kind is kept as it is
 * (a bind mount of a file over a directory fails later, with the kernel's error).
 * Returns an O_PATH fd of it, which mount calls then use through its /proc/self/fd path.
 */
int chase_mount_target(int root_fd, const char *path, bool dir, mode_t mode, unsigned flags);
/* Write "/proc/self/fd/<fd>" into buf. */
const char *fd_path(int fd, char buf[static 32]);
