/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container.h - the container lifecycle of runtime-spec runtime.md: create, start,
 * run (create + start [+ wait + delete]), kill, delete, pause/resume, exec.
 *
 * All functions run in the runtime's (single-threaded) process and return -errno
 * with err_set() detail. On a failed create, everything it made is undone: the
 * container process is killed, its cgroup removed, its state directory removed.
 */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "state.h"

enum create_mode {
        CREATE_ONLY,    /* `create`: the process waits for `start` on exec.fifo */
        RUN_DETACHED,   /* `run --detach` */
        RUN_FOREGROUND, /* `run`: wait for the process, forward signals, then delete */
};

struct create_options {
        const char *root;
        const char *id;
        const char *bundle;
        const char *pid_file;
        const char *console_socket;
        int preserve_fds;
        bool no_pivot;
        bool no_new_keyring;
        enum create_mode mode;
};

/* create / run. For RUN_FOREGROUND *ret_exit is the exit status (128+signal when killed). */
int container_create(const struct create_options *o, int *ret_exit);
int container_start(const char *root, const char *id);
int container_kill(const char *root, const char *id, int sig, bool all);
/* force: kill a running container first, and succeed when the container does not exist (runc). */
int container_delete(const char *root, const char *id, bool force);
int container_pause(const char *root, const char *id, bool pause);

struct exec_options {
        const char *root;
        const char *id;
        struct oci_process *process; /* complete process to run (defaults already merged) */
        const char *pid_file;
        const char *console_socket;
        int preserve_fds;
        bool detach;
};

/* Run a new process in a running container. Foreground: *ret_exit is its exit status. */
int container_exec(const struct exec_options *o, int *ret_exit);

/* Connect to the --console-socket at path (-errno with a message). */
int console_socket_connect(const char *path);
/* Write pid to path atomically (pid files are read by conmon and containerd's shim). */
int write_pid_file(const char *path, pid_t pid);
/* Wait for pid (a child) while forwarding signals; proxy pty_master <-> stdio when >= 0. */
int wait_forwarding(pid_t pid, int pty_master, int *ret_exit);
