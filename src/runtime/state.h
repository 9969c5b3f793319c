/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h - the runtime's record of one container: <root>/<id>/.
 *
 * Directory layout (mode 0700, created by `create`, removed by `delete`):
 *   state.json   what later commands need: pid and its start time, bundle, rootfs,
 *                created, cgroup paths, annotations, flags. Written atomically.
 *   config.json  the config as create read it (bundles may change or vanish later).
 *   exec.fifo    present from create until start: the container process blocks reading
 *                it; `start` writes one byte and removes it. Its presence means "created".
 *
 * A container exists when its directory holds state.json. The status is derived,
 * never stored: "created" (fifo present, process alive), "running", "paused" (cgroup
 * frozen), "stopped" (process gone, or its pid reused: the start time in
 * /proc/PID/stat differs from the recorded one).
 *
 * Concurrency: commands that change a container take flock(LOCK_EX) on the
 * directory for their whole run; `create` claims the id with mkdir(2), which fails
 * with EEXIST for a second create of the same id.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct json_object;
struct cgroup;

enum container_status {
        STATUS_CREATING,
        STATUS_CREATED,
        STATUS_RUNNING,
        STATUS_PAUSED,
        STATUS_STOPPED,
        _STATUS_MAX,
        _STATUS_INVALID = -EINVAL,
};

const char *container_status_to_string(enum container_status s);

struct container_state {
        char *id;
        char *dir;    /* <root>/<id> */
        int dir_fd;   /* O_DIRECTORY; holds the flock when locked */
        pid_t pid;
        uint64_t pid_start; /* field 22 of /proc/PID/stat */
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339, UTC, nanoseconds */
        bool external_pidns; /* the container joined a pid namespace it does not own */
        bool has_cgroupns;
        struct cgroup *cgroup; /* NULL when none was created */
        struct json_object *annotations; /* object, may be NULL */
        struct json_object *extra; /* fields written by newer versions, kept as is */
};

/* Validate an id: 1..1024 chars of [A-Za-z0-9_.+-], not starting with '.' (runc's rule). */
int state_check_id(const char *id);
/* Create <root>/<id> (mode 0700), -EEXIST with a message when the id is taken. */
int state_claim(const char *root, const char *id, struct container_state **ret);
/* Open an existing container; lock = take LOCK_EX on its directory. -ENOENT with a message. */
int state_open(const char *root, const char *id, bool lock, struct container_state **ret);
int state_save(struct container_state *s);
/* Remove the directory and everything in it. */
int state_remove(struct container_state *s);
void state_free(struct container_state *s);
static inline void state_freep(struct container_state **s)
{
        state_free(*s);
}
#define _cleanup_state_ _cleanup_(state_freep)

/* Status from the live system; also reports whether the process is alive. */
enum container_status state_status(const struct container_state *s);
/* OCI "state" document: ociVersion, id, status, pid, bundle, rootfs?, created, owner, annotations. */
int state_to_oci_json(const struct container_state *s, struct json_object **ret);
/* Load the config.json copy of a container. */
int state_load_config(const struct container_state *s, struct oci_config **ret);
/* Store the config bytes next to state.json. */
int state_save_config(const struct container_state *s, const char *buf, size_t len);
/* List container ids under root (sorted). */
int state_list(const char *root, char ***ret);

/* Current time as RFC 3339 with nanoseconds, malloc'd. */
char *rfc3339_now(void);
