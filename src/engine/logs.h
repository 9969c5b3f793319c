/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs.h - reading a container's json-file log (logfile.h) for `hull logs`: all of it or
 * the last N lines, optionally following new output until the container stops, across
 * rotations.
 */
#pragma once

#include <stdint.h>

#include "container.h"
#include "logfile.h"

struct logs_options {
        bool follow;
        int64_t tail;     /* last N records; -1 all */
        int64_t since_ns; /* records at or after; 0 all */
        int64_t until_ns; /* records before; 0 no bound */
};

/* Called per record, oldest first; a negative return stops the reading with that value. */
typedef int (*logs_fn)(void *userdata, const struct log_record *rec);

int ctr_logs(struct engine *e, struct workload *w, const struct logs_options *o, logs_fn fn, void *userdata);

/*
 * Decode every complete line of buf (len bytes) and call fn; lines that are not records are
 * skipped (a log truncated by a full disk, an edit). Returns the bytes consumed (up to the
 * last '\n') or a negative value from fn.
 */
int64_t logs_parse_buffer(const char *buf, size_t len, logs_fn fn, void *userdata);
