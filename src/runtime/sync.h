/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync.h - messages between the runtime (parent) and the container process it cloned.
 *
 * A SOCK_SEQPACKET socketpair carries one struct sync_msg per packet, optionally
 * with one fd (SCM_RIGHTS) and a text payload (error messages). Seqpacket keeps
 * message boundaries and reports the peer's death as EOF, so that neither side
 * can block forever on a process that died.
 *
 * Protocol (child -> parent unless noted):
 *   SYNC_USERMAP      the child is in its new user namespace; parent writes
 *                     uid_map/gid_map and answers SYNC_USERMAP_DONE.
 *   SYNC_PID          (two-stage path) value = pid of the real container process.
 *   SYNC_HOOKS        mounts are ready, pivot_root not done: parent runs prestart and
 *                     createRuntime hooks and answers SYNC_HOOKS_DONE.
 *   SYNC_SECCOMP_FD   fd = seccomp notify listener, parent forwards it to listenerPath
 *                     and answers SYNC_SECCOMP_DONE.
 *   SYNC_READY        setup done; the child now waits for start.
 *   SYNC_START        (parent -> child, run only) go ahead and execute the process.
 *   SYNC_ERROR        value = -errno, payload = one-line message; the child then exits.
 *   SYNC_CGROUP_DONE  (parent -> child, one-clone path) the child is in its cgroup now.
 */
#pragma once

#include <stdint.h>

#include "macro.h"

enum sync_type {
        SYNC_USERMAP = 1,
        SYNC_USERMAP_DONE,
        SYNC_PID,
        SYNC_HOOKS,
        SYNC_HOOKS_DONE,
        SYNC_SECCOMP_FD,
        SYNC_SECCOMP_DONE,
        SYNC_READY,
        SYNC_START,
        SYNC_ERROR,
        SYNC_CGROUP_DONE,
};

#define SYNC_TEXT_MAX 65536

struct sync_msg {
        uint32_t type;
        int32_t value;
        char text[SYNC_TEXT_MAX];
};

/* Send a message (text may be NULL), with fd when fd >= 0. */
int sync_send(int sock, enum sync_type type, int32_t value, const char *text, int fd);
/* Receive one message; *ret_fd gets a passed fd or -EBADF. -EPIPE when the peer is gone. */
int sync_recv(int sock, struct sync_msg *m, int *ret_fd);
/* Receive and require type; a SYNC_ERROR becomes err_set(value, text) and is returned. */
int sync_expect(int sock, enum sync_type type, struct sync_msg *m);

/* Send/receive an fd with a short text over any unix socket (console socket protocol). */
int unix_send_fd(int sock, int fd, const char *text);
int unix_recv_fd(int sock, int *ret_fd);
