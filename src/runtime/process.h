/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.h - the last steps inside the container before the workload runs.
 *
 * Shared by the container's first process (create/run) and by exec. Everything
 * here runs in the cloned child, inside the container's namespaces and root.
 * Memory is allocated by the parent before clone (seccomp program, stub memfd),
 * so the final sequence does only system calls.
 *
 * Final sequence (process_exec): seccomp when no_new_privs is off (it needs
 * CAP_SYS_ADMIN, which is about to go), bounding set, groups, gid, uid with
 * PR_SET_KEEPCAPS, capability sets, no_new_privs, seccomp when no_new_privs is on,
 * LSM exec label, close every fd above stdio and the preserved ones, then execveat()
 * of the sealed exec stub (see stub/exec-stub.c, CVE-2019-5736).
 */
#pragma once

#include "config.h"

struct seccomp_prog;

struct process_exec {
        const struct oci_process *proc;
        struct seccomp_prog *seccomp; /* NULL: none; already extended with the stub allowance */
        bool seccomp_loaded;          /* loaded earlier (a notify listener must reach the parent in time) */
        int sync_fd;                  /* for the seccomp listener fd; -EBADF when none */
        int stub_fd;
        int preserve_fds;
        bool in_userns;
        char *exe; /* resolved program path (process_resolve_exe) */
        char **env; /* process env plus HOME when missing */
};

/* A sealed memfd holding the exec stub (created once, in the parent). */
int exec_stub_memfd(void);

/*
 * Return a copy of p with a filter prefix that allows execveat(stub_fd, "", ..., AT_EMPTY_PATH),
 * so that a profile which blocks execveat still lets the runtime start the stub. The rest of
 * the profile is unchanged. Allocated in the parent.
 */
int process_seccomp_with_stub(const struct seccomp_prog *p, int stub_fd, struct seccomp_prog **ret);

/* Look args[0] up in PATH (from env) inside the current root; "executable file ... not found" errors. */
int process_resolve_exe(const struct oci_process *p, char **ret);
/* env with HOME added from the container's /etc/passwd (or "/") when it is missing. */
int process_build_env(const struct oci_process *p, char ***ret);
/* Create the pty inside the container, send the master over console_sock, make the slave stdio. */
int process_setup_console(int console_sock, const struct oci_process *p);
/* rlimits, umask, cwd (verified to be inside the root, CVE-2024-21626), io priority, scheduler. */
int process_apply(const struct oci_process *p);
/* Load x->seccomp now (sets no_new_privs first when asked) and hand a notify listener to the parent. */
int process_load_seccomp(const struct process_exec *x);
/* The final sequence; only returns on failure (with err_set). */
int process_exec(const struct process_exec *x);
