/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.h - what hull-monitor tells the engine about its container, through one file.
 *
 * The monitor owns <container dir>/status and replaces it atomically (write to a
 * temporary file, rename) at every transition: container started, exited, restarting,
 * health changed, resources released. The engine never writes it; it reads it when it
 * looks at a container and folds it into the database ("the CLI folds the exit file into
 * the DB when it next looks"), so that the monitor needs no database and a `kill -9` of
 * the CLI never loses an exit code.
 *
 * Format: "key=value" lines, values on one line ('\' and newlines escaped as \\ and \n).
 * Unknown keys are ignored, so that an older engine reads a newer monitor's file.
 *
 * Order of the monitor's writes when the container ends: state=exited with the exit code
 * first (so the code survives a kill of the monitor right after), then, once the runtime
 * has deleted the container and the rootfs is unmounted, cleaned=1, and final=1 when no
 * restart follows. An engine that finds state=exited, cleaned=0 and the monitor gone
 * finishes the cleanup itself.
 *
 * Dependencies: libc only (hull-monitor links it statically).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define STATUS_FILE       "status"
#define HEALTH_LOG_KEEP   5
#define HEALTH_OUTPUT_MAX 4096

struct health_result {
        int64_t start, end; /* ns since the epoch */
        int exit_code;
        char output[HEALTH_OUTPUT_MAX];
};

struct monitor_status {
        char state[16]; /* "starting", "running", "restarting", "exited" */
        int64_t pid, pid_start;
        int64_t monitor_pid, monitor_start;
        int64_t started, finished; /* ns since the epoch; 0 unknown */
        int exit_code;             /* -1 unknown */
        bool oom;
        unsigned restarts;
        char health[16]; /* "", "starting", "healthy", "unhealthy" */
        unsigned health_failures;
        bool cleaned; /* runtime state deleted, rootfs unmounted */
        bool final;   /* no restart follows; the monitor is exiting */
        char error[512];
        struct health_result health_log[HEALTH_LOG_KEEP]; /* oldest first */
        unsigned n_health_log;
};

void monitor_status_init(struct monitor_status *s);
/* Serialize into buf (malloc'd). */
int monitor_status_format(const struct monitor_status *s, char **ret, size_t *ret_len);
int monitor_status_parse(const char *buf, size_t len, struct monitor_status *ret);
/* Atomic replace of <dir>/status. */
int monitor_status_write(const char *dir, const struct monitor_status *s);
/* -ENOENT when the monitor has not written one yet. */
int monitor_status_read(const char *dir, struct monitor_status *ret);

/* Nanoseconds since the epoch. */
int64_t now_ns(void);
