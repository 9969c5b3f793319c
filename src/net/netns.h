/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netns.h - network namespace handles, sysctls, and process identities.
 *
 * A workload's network namespace is named by a pid ("1234": /proc/1234/ns/net) or a path
 * ("/run/netns/x", "/proc/1234/ns/net"); netns_open() returns an O_CLOEXEC fd to it.
 * netns_enter()/netns_leave() move the calling thread only (setns(2) with CLONE_NEWNET), which
 * is also how sysctls of that namespace are written: /proc/sys/net resolves against the
 * namespace of the thread that opens the file.
 *
 * A process identity is (pid, start time in clock ticks since boot, field 22 of
 * /proc/PID/stat): a recycled pid has another start time, so a record that names a dead
 * process is recognised as stale even after the pid has been reused.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* spec: a pid, or a path to a namespace file. */
int netns_open(const char *spec, int *ret_fd);
/* Move this thread into netns_fd; *ret_saved is the fd to hand to netns_leave(). */
int netns_enter(int netns_fd, int *ret_saved);
/* Go back to the namespace saved by netns_enter() and close it. */
int netns_leave(int saved);
/* The inode of a namespace fd (to compare two handles). */
int netns_inode(int netns_fd, uint64_t *ret);
/* Bring "lo" up in the namespace (for --network none and every attach). */
int netns_loopback_up(int netns_fd);

/* Read/write /proc/sys/<key> (key like "net/ipv4/ip_forward") in the caller's namespace. */
int sysctl_read(const char *key, char **ret);
int sysctl_write(const char *key, const char *value);

struct proc_id {
        pid_t pid;
        uint64_t start;
};
/* The identity of pid (0: the calling process); -ESRCH when it does not exist. */
int proc_id_get(pid_t pid, struct proc_id *ret);
/* True when the process still exists with the same start time. */
bool proc_id_alive(const struct proc_id *id);
