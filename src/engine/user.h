/* SPDX-License-Identifier: Apache-2.0 */
/*
 * user.h - "--user name[:group]" resolved through the container's own /etc/passwd and
 * /etc/group, as Docker does: a name must exist there, a number need not; the primary
 * group comes from the passwd entry (0 when the uid has none) unless a group is given;
 * the supplementary groups are those that list the user as a member; HOME is the passwd
 * entry's directory, or "/".
 *
 * The files are read from the mounted rootfs through chase.h (an image's /etc may be a
 * symlink pointing anywhere on the host: it is resolved inside the rootfs).
 */
#pragma once

#include <stdint.h>

#include "macro.h"

struct user_ids {
        uint32_t uid, gid;
        uint32_t *gids; /* supplementary groups */
        size_t n_gids;
        char *home;
};

void user_ids_done(struct user_ids *u);

/* Resolve spec (NULL or "" = root) with the text of passwd and group (either may be NULL: missing). */
int user_resolve_text(const char *passwd, const char *group, const char *spec, struct user_ids *ret);
/* The same with the files of the rootfs at root_fd. */
int user_resolve(int root_fd, const char *spec, struct user_ids *ret);
