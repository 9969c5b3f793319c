/* SPDX-License-Identifier: Apache-2.0 */
/* cp.h - copying files between the host and a container (`hull cp`); rules in cp.c. */
#pragma once

#include "container.h"

/*
 * Copy hpath (host) to cpath (container) when to_container, else cpath to hpath. archive
 * keeps owners (-a); otherwise copies belong to the caller (root). hpath "-" is a tar stream
 * instead (`docker cp`'s "-"): read from stream_fd and unpacked into the directory cpath, or
 * cpath written as a tar to stream_fd.
 */
int ctr_copy(struct engine *e, struct workload *w, bool to_container, const char *cpath, const char *hpath,
             bool archive, int stream_fd);

/*
 * The tar stream of entry name of directory dfd: written to fd, or (in) read from fd and
 * unpacked into that directory; whole_dir: the directory's contents rather than the entry.
 * ctr_copy() calls it through ctr_copy_stream, NULL (not served) unless the program links
 * cp-stream.c (libarchive) and sets it to ctr_copy_stream_tar.
 */
extern int (*ctr_copy_stream)(int dfd, const char *name, bool whole_dir, bool in, int fd);
int ctr_copy_stream_tar(int dfd, const char *name, bool whole_dir, bool in, int fd);
