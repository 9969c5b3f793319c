/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.h - linux.seccomp through libseccomp (runtime-spec config-linux.md "Seccomp").
 *
 * The filter is compiled in the runtime process, before the container process is
 * cloned, into a classic BPF program (struct seccomp_prog). The container process
 * only loads it with seccomp(2) right before execve, so that the child does no
 * allocation or libseccomp work after fork. Compiled programs are cached on disk
 * under a cache directory keyed by the sha256 of the seccomp section and the
 * libseccomp version, because compiling a 300-rule profile costs milliseconds.
 *
 * Every action (SCMP_ACT_KILL, KILL_THREAD, KILL_PROCESS, TRAP, ERRNO, TRACE,
 * ALLOW, LOG, NOTIFY) with errnoRet, every operator, the architectures and the
 * flags (SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW, _WAIT_KILLABLE_RECV) are
 * supported. With SCMP_ACT_NOTIFY the load returns a listener fd that
 * seccomp_send_listener() passes to listenerPath (runtime-spec
 * "seccomp-notify" ContainerProcessState over SCM_RIGHTS).
 */
#pragma once

#include <stdint.h>

#include "config.h"

struct seccomp_prog {
        struct sock_filter *insns;
        size_t n_insns;
        unsigned flags;     /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
        bool needs_listener; /* some rule or the default action is SCMP_ACT_NOTIFY */
};

/*
 * Compile s into *ret. cache_dir may be NULL (no cache). An unknown syscall name is skipped
 * (as runc and crun do, so that one profile serves several kernels); an unknown action,
 * architecture or flag fails with a message naming the field.
 */
int seccomp_prepare(const struct oci_seccomp *s, const char *cache_dir, struct seccomp_prog **ret);
void seccomp_prog_free(struct seccomp_prog *p);

/*
 * Load into the calling thread (async-signal-safe: no allocation, only syscalls). Sets
 * *ret_listener to the notify fd when p->needs_listener, else to -EBADF. Needs no_new_privs
 * or CAP_SYS_ADMIN.
 */
int seccomp_load(const struct seccomp_prog *p, int *ret_listener);

/*
 * Connect to listener_path and send state_json (runtime-spec ContainerProcessState, with
 * "fds":["seccompFd"]) together with listener_fd. Called by the container's parent process
 * after it received the listener fd from the child.
 */
int seccomp_send_listener(const char *listener_path, const char *state_json, int listener_fd);

/* Names for features: actions, architectures and flags this build understands. */
int seccomp_features(struct json_object **ret);
