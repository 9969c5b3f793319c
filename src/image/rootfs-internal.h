/* SPDX-License-Identifier: Apache-2.0 */
/* rootfs-internal.h - overlay format details shared by rootfs.c (copy fallback) and rootfs-commit.c (diff). */
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "macro.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"

/* A file seen with several links: later links are made (or written) as links to path. */
struct hardlink {
        dev_t dev;
        ino_t ino;
        char *path;
};

/* overlayfs.rst "whiteouts and opaque directories": a 0/0 character device hides a lower entry. */
static inline bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static inline bool is_opaque(int dfd)
{
        char v[4] = {};
        return fgetxattr(dfd, OPAQUE_XATTR, v, sizeof(v)) == 1 && v[0] == 'y';
}
