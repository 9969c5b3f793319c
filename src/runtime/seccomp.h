/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.h - linux.seccomp through libseccomp (runtime-spec config-linux.md "Seccomp").
 *
 * The filter is compiled in the runtime process, before the container process is
 * cloned, into a classic BPF program (struct seccomp_prog). The container process
 * only loads it with seccomp(2) (seccomp_prog_load()) right before execve, so that the child does no
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
 *
 * Hand-over of the listener: after seccomp_prog_load() the container process passes
 * the fd to its parent with write(2) (its number; the parent takes it with
 * pidfd_getfd(2), as runc does) or sendmsg(2) with SCM_RIGHTS (hull-runtime's sync
 * socket). seccomp_prepare() refuses SCMP_ACT_NOTIFY as the default action and on
 * "write" and "sendmsg" for that reason: a notifying hand-over would wait for an agent
 * that does not have the fd yet. Any other syscall the process makes after the
 * hand-over may be notified: the parent sends the fd to the agent before it lets the
 * child go on.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "sha256.h"

struct seccomp_prog {
        struct sock_filter *insns;
        size_t n_insns;
        unsigned flags;      /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
        bool needs_listener; /* some rule or the default action is SCMP_ACT_NOTIFY */
};

/*
 * Compile s into *ret. cache_dir may be NULL (no cache). An unknown syscall name is skipped
 * (as runc and crun do, so that one profile serves several kernels); an unknown action,
 * architecture or flag fails with a message naming the field.
 */
int seccomp_prepare(const struct oci_seccomp *s, const char *cache_dir, struct seccomp_prog **ret);
/*
 * libseccomp compiles in a child process that seccomp_prepare() waits for at most this long
 * (10000 ms unless set): some small rule sets make libseccomp 2.5 loop for ever. Past it, the
 * child is killed and seccomp_prepare() fails with -ETIMEDOUT and a message.
 */
void seccomp_set_compile_timeout(unsigned ms);
void seccomp_prog_free(struct seccomp_prog *p);
static inline void seccomp_prog_freep(struct seccomp_prog **p)
{
        seccomp_prog_free(*p);
}
#define _cleanup_seccomp_prog_ _cleanup_(seccomp_prog_freep)

/*
 * The cache file name of s, without ".bpf": a 64-bit FNV-1a hash (16 hex digits) of the fields
 * that shape the program plus the libseccomp version, native architecture and kernel API level.
 * The file also holds the whole key, compared on every hit, so a collision is only a miss.
 * The cache directory given to seccomp_prepare() must belong to the runtime's euid and not be
 * group/other-writable (it is created 0700 when missing), otherwise the cache is not used.
 */
int seccomp_cache_key(const struct oci_seccomp *s, char key[SHA256_HEX_LEN + 1]);

/*
 * Load into the calling thread (async-signal-safe: no allocation, only syscalls). Sets
 * *ret_listener to the notify fd when p->needs_listener, else to -EBADF. Needs no_new_privs
 * or CAP_SYS_ADMIN. (Not called seccomp_load(): libseccomp exports that symbol.)
 */
int seccomp_prog_load(const struct seccomp_prog *p, int *ret_listener);

/*
 * The runtime-spec ContainerProcessState document for listenerPath: {"ociVersion", "fds":
 * ["seccompFd"], "pid", "metadata" (when not NULL), "state"}. state is the container's state
 * object (runtime.md "State"), borrowed. *ret is a malloc'd JSON string.
 */
int seccomp_listener_state(const char *oci_version, pid_t pid, const char *metadata,
                           struct json_object *state, char **ret);

/*
 * Connect to listener_path and send state_json (runtime-spec ContainerProcessState, with
 * "fds":["seccompFd"]) together with listener_fd. Called by the container's parent process
 * after it received the listener fd from the child.
 */
int seccomp_send_listener(const char *listener_path, const char *state_json, int listener_fd);

/*
 * The features-linux.md "seccomp" object: enabled, actions, operators, archs (those this
 * libseccomp knows), knownFlags, supportedFlags (those the running kernel accepts).
 */
int seccomp_features(struct json_object **ret);
