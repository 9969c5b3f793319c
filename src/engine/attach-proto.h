/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach-proto.h - the messages on a monitor's attach socket.
 *
 * hull-monitor listens on <container dir>/attach, a SOCK_SEQPACKET unix socket
 * (message boundaries kept, so no framing is needed). The client that started the
 * container in the foreground gets the same conversation over a socketpair it hands
 * to the monitor at birth (--attach-fd), so that no output is lost before it could
 * connect. Every message is one type byte and a payload:
 *
 *   client -> monitor
 *     'i' bytes       data for the container's stdin (when it was started with -i)
 *     'c'             close the container's stdin
 *     'w' u16 u16     terminal size: rows, columns (with -t)
 *     's' i32         send this signal to the container (signal proxying)
 *     'a'             "I saw the exit and remove the container myself" (run --rm)
 *     'n'             (the engine, first) the container's network is attached: start it
 *                     (a monitor started with --wait-network runs nothing before)
 *     'X' name        run the process in <container dir>/<name> (runtime-spec process JSON,
 *                     removed afterwards) detached, as a child of the monitor: an exec -d
 *                     process reparented anywhere else would keep the pid namespace's init
 *                     from finishing its exit until that parent reaps it (zap_pid_ns_processes)
 *   monitor -> client
 *     '1' bytes       stdout (all output with -t)
 *     '2' bytes       stderr
 *     'r' i32         the container runs; its pid
 *     'e' i32 text    the container could not be started: exit status for the CLI
 *                     (125 engine/runtime, 126 cannot execute, 127 not found) and the reason
 *     'R' i32 text    the result of an 'X': hull-runtime exec's status and error
 *     'x' i32         the container exited with this status (128+N when killed by signal
 *                     N), no restart follows, and its resources are released
 *
 * A client that only wants to know that the container started (run -d, start) reads
 * until 'r' or 'e' and closes.
 *
 * Sockets in the container directory are reached through /proc/self/fd/<dirfd>/attach:
 * a store path can be longer than sun_path's 108 bytes.
 */
#pragma once

#include <stdint.h>

#define ATTACH_SOCKET  "attach"
#define ATTACH_MSG_MAX (32 * 1024)

enum {
        ATTACH_STDIN = 'i',
        ATTACH_STDIN_CLOSE = 'c',
        ATTACH_RESIZE = 'w',
        ATTACH_SIGNAL = 's',
        ATTACH_ACK_EXIT = 'a',
        ATTACH_EXEC_DETACHED = 'X',
        ATTACH_NETWORK_READY = 'n',
        ATTACH_EXEC_RESULT = 'R',
        ATTACH_STDOUT = '1',
        ATTACH_STDERR = '2',
        ATTACH_STARTED = 'r',
        ATTACH_ERROR = 'e',
        ATTACH_EXIT = 'x',
};

/* Exit statuses of podman (and hull) when the container's own status is not available. */
#define EXIT_ENGINE_ERROR   125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND      127
