/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor.h - hull-monitor: one small process per running container (podman's conmon).
 *
 * The engine starts it in its own session (posix_spawn, setsid) and it lives as long as the
 * container, restarts included. It is the container's subreaper and the only holder of the
 * container's stdio: it holds the container's network namespace (made and attached to its
 * networks by the engine, inherited as --netns-fd) for the container's whole life, restarts
 * included, runs `hull-runtime run --detach` with pipes (or a pty through --console-socket) as
 * the container's stdio and that namespace as fd 3, writes every output line to the json-file
 * log, serves the attach socket (and runs `exec -d` processes, so that they stay its
 * descendants), runs health checks through `hull-runtime exec`, records the exit status in
 * the status file, applies the restart policy with Docker's backoff, and calls
 * `hull-runtime delete` when the container ends.
 * It needs no database: the engine reads the status file (src/engine/status.h).
 *
 * Files (in the container directory, --dir):
 *   status          src/engine/status.h, written atomically at every transition
 *   attach          the attach socket (src/engine/attach-proto.h)
 *   ctr.log[.N]     the json-file log and its rotated files
 *   runtime.log     hull-runtime's error log of the last call (JSON lines)
 *   stop            created by the engine before it stops the container: no restart
 *   pid, exec.pid   pid files written by hull-runtime run / exec
 *
 * Single-threaded: one poll() loop over a signalfd, the container's output and stdin, the
 * attach socket and its clients and the health check's output; its timeout serves the
 * restart backoff and the health checks. Linked statically against libc and hull's base helpers
 * only, so that its resident size stays under 1 MiB (docs/benchmarks.md).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "attach-proto.h"
#include "logfile.h"
#include "macro.h"
#include "status.h"

#define MAX_CLIENTS      32
#define CLIENT_QUEUE_MAX (4u << 20)
#define STDIN_HIGH       (1u << 20) /* queued stdin above which clients are not read */

enum restart_kind {
        RESTART_NO,
        RESTART_ALWAYS,
        RESTART_UNLESS_STOPPED,
        RESTART_ON_FAILURE,
        _RESTART_KIND_MAX,
        _RESTART_KIND_INVALID = -EINVAL,
};

struct msg {
        struct msg *next;
        size_t len;
        char data[];
};

struct client {
        int fd;
        struct msg *head, *tail;
        size_t queued;
        bool initial; /* the --attach-fd client */
};

struct options {
        const char *id, *dir, *runtime, *runtime_root, *rootfs;
        const char *log_path;
        uint64_t log_max_size;
        unsigned log_max_files;
        bool tty, stdin_open;
        bool wait_network; /* run nothing before the engine's ATTACH_NETWORK_READY on attach_fd */
        bool exit_command_unless_stopped; /* not after a stop by the engine (the "stop" file) */
        int netns_fd; /* the container's network namespace (made and attached by the engine), or -EBADF */
        enum restart_kind restart;
        unsigned restart_max; /* on-failure:N, 0 = unlimited */
        unsigned restarts;    /* count so far (kept across `hull start`) */
        const char *health_process;
        int64_t health_interval, health_timeout, health_start_period; /* ns */
        unsigned health_retries;
        const char *oom_file;
        const char *cgroup_path;
        int attach_fd;
        char **exit_command;
};

struct monitor {
        struct options o;
        struct monitor_status st;
        struct log_writer log;
        int sig_fd, listen_fd;
        int out_fd, err_fd, pty_fd; /* container output (pty_fd with -t); -EBADF when closed */
        int stdin_fd;               /* write end of the container's stdin pipe */
        struct client clients[MAX_CLIENTS];
        size_t n_clients;
        char *stdin_buf;
        size_t stdin_len;
        bool stdin_close_pending;
        pid_t pid;   /* container process, 0 when none */
        bool exited; /* container exited, output being drained */
        int64_t drain_deadline;
        int64_t restart_at; /* ns (CLOCK_MONOTONIC), 0 none */
        int64_t backoff;    /* ns */
        /* Health checks. */
        int64_t health_next, health_deadline, health_started; /* CLOCK_MONOTONIC ns */
        int64_t started_mono;
        pid_t health_pid;
        int health_fd;
        char health_out[HEALTH_OUTPUT_MAX];
        size_t health_len;
        bool health_killed;
        bool done;
        bool acked; /* a client sent ATTACH_ACK_EXIT: it removes the container, no exit command */
};

/* main.c */
int64_t mono_ns(void);
void monitor_note(struct monitor *m, const char *fmt, ...) _printf_(2, 3);
int monitor_write_status(struct monitor *m);

/* runtime.c: hull-runtime calls and what surrounds them. */
/* Make the namespaces we own, run the container; on failure set exit status and error, return < 0. */
int runtime_launch(struct monitor *m);
/* Delete the container's runtime state (force; sweep what a killed runtime could leave); unmount the rootfs
 * too. */
void runtime_delete(struct monitor *m, bool release_rootfs);
/* Spawn `hull-runtime exec --process FILE` with stdout+stderr into a pipe; returns its pid. */
int runtime_exec_health(struct monitor *m, int *ret_out_fd);
/* `hull-runtime exec --detach --process FILE` as our child; its exit status, its error in err. */
int runtime_exec_detached(struct monitor *m, const char *process_file, char *err, size_t err_size);
/* Read the OOM counter of the container's cgroup (before delete). */
bool runtime_oom_killed(struct monitor *m);
/* Unmount the container's rootfs (the engine mounted it). */
void rootfs_release(struct monitor *m);

/* io.c: the attach socket, clients, container output and stdin. */
int io_listen(struct monitor *m);
void io_accept(struct monitor *m);
void io_client_event(struct monitor *m, size_t i, short revents);
void io_broadcast(struct monitor *m, char type, const void *data, size_t len);
/* Read container output from fd (stream s); returns false at EOF. */
bool io_read_output(struct monitor *m, int fd, enum log_stream s);
void io_flush_stdin(struct monitor *m);
void io_drop_client(struct monitor *m, size_t i);
bool io_any_ack(struct monitor *m);
/* Read and drop what clients sent but nobody read, before the sockets close. */
void io_drain_clients(struct monitor *m);

/* health.c */
void health_schedule(struct monitor *m);
void health_start(struct monitor *m);
void health_collect(struct monitor *m, int status);
void health_timeout(struct monitor *m);
