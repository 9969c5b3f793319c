/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload.h - the "workloads" table of the node's state database: one row per container
 * (and, later, per virtual machine: the kind column), module "engine" of db.h.
 *
 * Columns: id (64 hex digits), name (unique), kind ("container"), image id and the
 * reference as typed, the runspec as JSON, labels (JSON object, for filters), state,
 * container pid and its start time, monitor pid and its start time, exit code, OOM
 * flag, error, created/started/finished (ns since the epoch), restart count, health.
 *
 * States (podman's vocabulary): creating -> created -> running <-> paused; running ->
 * stopping -> exited; created/exited -> removing -> (row deleted). "creating" and
 * "removing" only exist while a hull process holds the container's lock (container.h):
 * a row left in one of them by a killed process is repaired by the next that looks.
 *
 * Invariants: a name belongs to one row; the name is claimed by the INSERT that creates
 * the row (UNIQUE constraint), before anything is made on disk. Triggers keep an image
 * from being removed while a workload uses it (the image module's rmi and prune get
 * "image is in use by a container" from the database).
 */
#pragma once

#include <stdint.h>

#include "db.h"
#include "macro.h"

enum workload_state {
        WORKLOAD_CREATING,
        WORKLOAD_CREATED,
        WORKLOAD_RUNNING,
        WORKLOAD_PAUSED,
        WORKLOAD_RESTARTING,
        WORKLOAD_STOPPING,
        WORKLOAD_EXITED,
        WORKLOAD_REMOVING,
        _WORKLOAD_STATE_MAX,
        _WORKLOAD_STATE_INVALID = -EINVAL,
};

const char *workload_state_to_string(enum workload_state s);
enum workload_state workload_state_from_string(const char *s);

struct workload {
        char *id, *name, *kind;
        char *image_id, *image_ref;
        char *spec;    /* runspec JSON */
        char *command; /* the process's command line as ps shows it (ENTRYPOINT + CMD, resolved at create) */
        char *labels;  /* JSON object */
        enum workload_state state;
        int64_t pid, pid_start;
        int64_t monitor_pid, monitor_start;
        int exit_code; /* -1 unknown */
        bool oom;
        char *error;
        int64_t created, started, finished;
        int restart_count;
        char *health;
};

void workload_free(struct workload *w);
static inline void workload_freep(struct workload **w)
{
        workload_free(*w);
}
#define _cleanup_workload_ _cleanup_(workload_freep)
void workload_list_free(struct workload **l, size_t n);

/* Insert a new row; -EEXIST with "the name 'x' is already in use by container <id>". */
int workload_insert(struct db *db, const struct workload *w);
/* Find by full id, unique id prefix, or name. -ENOENT "no such container 'x'". */
int workload_find(struct db *db, const char *name_or_id, struct workload **ret);
int workload_get(struct db *db, const char *id, struct workload **ret);
/* Every row, newest first. */
int workload_list(struct db *db, struct workload ***ret, size_t *ret_n);
/* Write the runtime fields (state, pids, exit, times, restarts, health, error) of w. */
int workload_update_status(struct db *db, const struct workload *w);
int workload_set_state(struct db *db, const char *id, enum workload_state s);
int workload_rename(struct db *db, const char *id, const char *name);
int workload_delete(struct db *db, const char *id);
/* Replace the runspec JSON (network connect/disconnect). */
int workload_set_spec(struct db *db, const char *id, const char *spec);
/* Number of workloads using the image. */
int workload_image_users(struct db *db, const char *image_id, char **ret_first_name);

/* 64 random hex digits. */
int workload_new_id(char ret[65]);
/* A random "adjective_noun" name not in use. */
int workload_new_name(struct db *db, char **ret);
