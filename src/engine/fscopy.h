/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fscopy.h - copying file trees between the host and a container's file system
 * (`hull cp`, and an image's content into a new volume).
 *
 * Both ends are directory fds; every entry is opened relative to its parent with
 * O_NOFOLLOW, so that a symlink in a container's tree (which its processes may change at
 * any time) is copied as a symlink and never followed out of the tree. Regular files,
 * directories, symlinks, FIFOs and device nodes are copied with mode, owner and times;
 * sockets are skipped. Hard links are not preserved (each link becomes a file, as
 * `docker cp` does).
 */
#pragma once

#include "macro.h"

enum {
        FSCOPY_KEEP_OWNER = 1 << 0, /* chown to the source's uid/gid (root only) */
};

/* Copy the entries of directory src_dfd into directory dst_dfd (merging into what is there). */
int fscopy_dir_contents(int src_dfd, int dst_dfd, unsigned flags);
/* Copy the entry name of src_dfd to dst_name in dst_dfd (a file, a symlink or a whole directory). */
int fscopy_entry(int src_dfd, const char *name, int dst_dfd, const char *dst_name, unsigned flags);
