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
