/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container.h - the container lifecycle of the engine: create, start (with or without
 * an attached client), stop, kill, pause, remove, rename, wait, refresh.
 *
 * Functions are prefixed ctr_ rather than container_: hull-runtime's library (linked into
 * hull for cgroup statistics) exports container_create() and friends.
 *
 * Directory of a container, <root>/containers/<id>/ (the OCI bundle):
 *     lock                 flock()ed by every operation that changes the container
 *     config.json          written at every start from the runspec and the image
 *     rootfs/ upper/ work/ the overlay mount (mounted while the container runs) and its layers
 *     hostname hosts resolv.conf   bind-mounted over /etc/...
 *     health-process.json  the health check's process, for hull-runtime exec
 *     status, attach, ctr.log*, stop   hull-monitor's (monitor.h, status.h)
 *
 * Crash consistency. Every step that makes something is preceded by the record that lets
 * a later command undo it: the directory and its lock exist before the row, the row
 * (claiming the name) before any mount, the status file is the monitor's truth. A command
 * that finds a container in a transient state (creating, removing; starting shows as
 * created) with its lock free knows that its owner died, and finishes or undoes the step
 * (ctr_refresh()). A container whose monitor died is stopped and its resources released.
 *
 * Concurrency: operations on one container serialize on its lock; the database serializes
 * writers (BEGIN IMMEDIATE, busy timeout).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "runspec.h"
#include "status.h"
#include "workload.h"

struct ctr_start_result {
        int attach_fd; /* the monitor's conversation (attach-proto.h) when attach was asked, else -EBADF */
        pid_t pid;
};

/*
 * Create a container: resolve the image (pulling it when missing and pull is not NULL: the
 * extra options of `hull-image pull`, such as "--tls-verify=false"), claim the name, write the
 * row and the directory. Nothing is mounted. The new row through *ret. On failure nothing is
 * left behind.
 */
int ctr_create(struct engine *e, const char *name, const struct runspec *spec, char *const *pull,
               struct workload **ret);

/*
 * Start a created or exited container: mount its rootfs, write config.json, spawn the
 * monitor and wait until the container runs. With attach, the monitor's conversation is
 * returned (the caller reads the output and the exit from it, and may send 'a' to take the
 * removal over). A container that cannot start gets exit code 125/126/127 and the reason
 * (-ENOEXEC is returned, with the message and w->exit_code set).
 */
int ctr_start(struct engine *e, struct workload *w, bool attach, struct ctr_start_result *ret);

/* Stop: the stop signal (--stop-signal, the image's STOPSIGNAL, SIGTERM), then SIGKILL after timeout
 * seconds. */
int ctr_stop(struct engine *e, struct workload *w, int timeout);
/* Send a signal; KILL and the stop signal also keep the restart policy from restarting it. */
int ctr_kill(struct engine *e, struct workload *w, int sig);
int ctr_pause(struct engine *e, struct workload *w, bool pause);
/* Remove; a running container needs force (it is killed). volumes: also its anonymous volumes. */
int ctr_remove(struct engine *e, struct workload *w, bool force, bool volumes);
int ctr_rename(struct engine *e, struct workload *w, const char *name);
/* Wait until the container is not running; its exit code through *ret_code. */
int ctr_wait(struct engine *e, struct workload *w, int *ret_code);

/*
 * Bring the row up to date with what is true now: fold the monitor's status file in,
 * repair what a killed hull, hull-monitor or hull-runtime left. Returns -ENOENT (and
 * the row is gone) when the container turned out to be a leftover of a killed create or
 * remove.
 */
int ctr_refresh(struct engine *e, struct workload *w);
/* Every container, refreshed, newest first. */
int ctr_list(struct engine *e, struct workload ***ret, size_t *ret_n);
/* Find by name or id and refresh. */
int ctr_lookup(struct engine *e, const char *name_or_id, struct workload **ret);

/* The monitor's last status (for inspect: health log, error); -ENOENT when never started. */
int ctr_status(struct engine *e, const struct workload *w, struct monitor_status *ret);
/* The runspec of a workload, parsed. */
int ctr_spec(const struct workload *w, struct runspec **ret);
/* The stop signal of a container (runspec, else the image's, else SIGTERM). */
int ctr_stop_signal(struct engine *e, const struct workload *w);
/* Connect to a running container's attach socket (attach-proto.h). */
int ctr_attach(struct engine *e, struct workload *w, int *ret_fd);

/*
 * Prepare `hull-runtime exec` of args in a running container, in the foreground: the argv
 * to execute (the process JSON is passed as an inherited fd, nothing is left on disk).
 * user/workdir/env may be NULL.
 */
int ctr_exec_argv(struct engine *e, struct workload *w, char **args, const char *user, const char *workdir,
                  char **env, bool tty, char ***ret_argv);
/* Start args in the container in the background, through its monitor (attach-proto.h, 'X'). */
int ctr_exec_detached(struct engine *e, struct workload *w, char **args, const char *user,
                      const char *workdir, char **env);
