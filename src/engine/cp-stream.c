/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cp-stream.c - the tar streams of `hull cp` ("-"): libarchive's part of cp.c, linked only into
 * the programs that carry libarchive (hull-image; `hull` hands `cp -` to it), which set
 * ctr_copy_stream to ctr_copy_stream_tar.
 */
#include <fcntl.h>

#include "cp.h"
#include "error.h"
#include "rootfs.h"
#include "unpack.h"
#include "util.h"

int ctr_copy_stream_tar(int dfd, const char *name, bool whole_dir, bool in, int fd)
{
        _cleanup_close_ int dir = -EBADF;
        int r;

        if (!whole_dir)
                return rootfs_tree_tar(dfd, name, fd);
        dir = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", name);
        if (!in)
                return rootfs_tree_tar(dir, ".", fd);
        r = unpack_layer_fd(fd, dir, &(struct unpack_options){.plain = true}, NULL);
        return r < 0 ? err_prefix(r, "the tar stream") : 0;
}
