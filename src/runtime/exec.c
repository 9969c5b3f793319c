/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec.c - run another process in a running container (runc's `exec`).
 *
 * The new process enters every namespace of the container's first process
 * through one setns(pidfd, flags) call (Linux 5.8), which is atomic and needs no
 * /proc/<pid>/ns paths. pid and time namespaces only apply to children, so the
 * runtime enters those itself before cloning (its own namespaces stay the same)
 * and the clone lands inside them directly: no double fork.
 * From there the process goes through the same final sequence as the container's
 * first process (process.h): console, cwd check, credentials, capabilities,
 * seccomp, and the sealed exec stub.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "container.h"
#include "vm-isolation.h"
#include "error.h"
#include "process.h"
#include "seccomp.h"
#include "sync.h"
#include "util.h"

struct exec_child {
        struct process_exec x;
        int pidfd;
        int ns_flags;
        int sync_fd;
        int console_fd;
        int *cg_fds;
        size_t n_cg_fds;
        bool join_userns;
};

static _noreturn_ void exec_fail(struct exec_child *c, int r)
{
        sync_send(c->sync_fd, SYNC_ERROR, r, err_msg(r), -EBADF);
        _exit(r == -ENOENT ? 127 : 126);
}

static _noreturn_ void exec_child_main(struct exec_child *c)
{
        int r;

        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        {
                /* No runtime fd may reach the container (CVE-2024-21626): keep only what is needed. */
                int keep[24];
                size_t n = 0;
                keep[n++] = c->sync_fd;
                keep[n++] = c->pidfd;
                keep[n++] = c->x.stub_fd;
                if (c->console_fd >= 0)
                        keep[n++] = c->console_fd;
                for (size_t i = 0; i < c->n_cg_fds && n < ELEMENTSOF(keep); i++)
                        keep[n++] = c->cg_fds[i];
                if (close_all_fds(3 + c->x.preserve_fds, keep, n) < 0)
                        _exit(126);
        }
        for (size_t i = 0; i < c->n_cg_fds; i++)
                if (write(c->cg_fds[i], "0", 1) < 0)
                        exec_fail(c, err_set(negative_errno(), "cannot join the container's cgroup: %m"));
        for (size_t i = 0; i < c->n_cg_fds; i++)
                c->cg_fds[i] = safe_close(c->cg_fds[i]);
        if (c->ns_flags && setns(c->pidfd, c->ns_flags) < 0)
                exec_fail(c, err_set(negative_errno(), "cannot enter the container's namespaces: %m"));
        c->pidfd = safe_close(c->pidfd);
        if (c->join_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                exec_fail(c, err_set(negative_errno(), "cannot become root in the container's user namespace: %m"));
        if (setsid() < 0)
                exec_fail(c, err_set(negative_errno(), "setsid: %m"));
        if (c->x.proc->terminal && (r = process_setup_console(c->console_fd, c->x.proc)) < 0)
                exec_fail(c, r);
        c->console_fd = safe_close(c->console_fd);
        if ((r = process_apply(c->x.proc)) < 0 || (r = process_resolve_exe(c->x.proc, &c->x.exe)) < 0 ||
            (r = process_build_env(c->x.proc, &c->x.env)) < 0)
                exec_fail(c, r);
        r = process_exec(&c->x);
        exec_fail(c, r);
}

int container_exec(const struct exec_options *o, int *ret_exit)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_config_ struct oci_config *cfg = NULL;
        _cleanup_close_ int pidfd = -EBADF, stub = -EBADF, console = -EBADF, peer = -EBADF, pty = -EBADF;
        struct seccomp_prog *base = NULL, *prog = NULL;
        struct exec_child c = { .pidfd = -EBADF, .sync_fd = -EBADF, .console_fd = -EBADF };
        int sp[2] = { -EBADF, -EBADF };
        enum container_status st;
        int ns_flags = 0, parent_flags = 0, r;
        pid_t pid = 0;

        r = state_open(o->root, o->id, false, &s);
        if (r < 0)
                return r;
        st = state_status(s);
        if (st == STATUS_STOPPED)
                return err_set(-EINVAL, "cannot exec in container '%s': it is stopped", o->id);
        if (st == STATUS_PAUSED)
                return err_set(-EINVAL, "cannot exec in container '%s': it is paused", o->id);
        if (vmiso_state(s))
                return vmiso_exec(o, s, ret_exit);
        r = state_load_config(s, &cfg);
        if (r < 0)
                return err_prefix(r, "cannot read the config of container '%s'", o->id);
        if (o->process->terminal && !o->console_socket && o->detach)
                return err_set(-EINVAL, "--tty: a terminal needs --console-socket when detached");

        pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
        if (pidfd < 0 || !proc_alive(s->pid, s->pid_start))
                return err_set(-ESRCH, "cannot exec in container '%s': its process is gone", o->id);

        for (size_t i = 0; cfg->linux_cfg && i < cfg->linux_cfg->n_namespaces; i++) {
                enum ns_type t = cfg->linux_cfg->namespaces[i].type;
                int f = ns_type_clone_flag(t);
                if (t == NS_PID || t == NS_TIME)
                        parent_flags |= f;
                else
                        ns_flags |= f;
        }
        c.join_userns = ns_flags & CLONE_NEWUSER;

        if (cfg->linux_cfg && cfg->linux_cfg->seccomp) {
                _cleanup_free_ char *cache = strdup_printf("%s/.seccomp-cache", o->root);
                r = seccomp_prepare(cfg->linux_cfg->seccomp, cache, &base);
                if (r < 0)
                        return err_prefix(r, "linux.seccomp");
        }
        stub = exec_stub_memfd();
        if (stub < 0) {
                r = err_set(stub, "cannot create the exec stub: %s", strerror(-stub));
                goto out;
        }
        if (base && (r = process_seccomp_with_stub(base, stub, &prog)) < 0)
                goto out;
        if (s->cgroup && (r = cgroup_enter_fds_exec(s->cgroup, s->pid, &c.cg_fds, &c.n_cg_fds)) < 0)
                goto out;
        if (o->process->terminal) {
                if (o->console_socket) {
                        console = console_socket_connect(o->console_socket);
                        if (console < 0) {
                                r = console;
                                goto out;
                        }
                } else {
                        int pair[2];
                        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
                                r = negative_errno();
                                goto out;
                        }
                        peer = pair[0];
                        console = pair[1];
                }
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = negative_errno();
                goto out;
        }
        /* Only this process's children are affected: the runtime itself stays where it is. */
        if (parent_flags && setns(pidfd, parent_flags) < 0) {
                r = err_set(negative_errno(), "cannot enter the container's pid namespace: %m");
                goto out;
        }

        c.x = (struct process_exec){
                .proc = o->process,
                .seccomp = prog,
                .sync_fd = sp[1],
                .stub_fd = stub,
                .preserve_fds = o->preserve_fds,
                .in_userns = c.join_userns,
        };
        c.pidfd = pidfd;
        c.ns_flags = ns_flags;
        c.sync_fd = sp[1];
        c.console_fd = console;

        fflush(NULL);
        pid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
        if (pid < 0) {
                r = err_set(negative_errno(), "cannot create the process: %m");
                goto out;
        }
        if (pid == 0) {
                safe_close(sp[0]);
                safe_close(peer);
                exec_child_main(&c);
        }
        sp[1] = safe_close(sp[1]);
        console = safe_close(console);

        /* The sync socket closes on a successful execve (close-on-exec); an error arrives first. */
        {
                struct sync_msg m;
                int fd;
                for (;;) {
                        r = sync_recv(sp[0], &m, &fd);
                        if (r == -EPIPE) {
                                r = 0;
                                break;
                        }
                        if (r < 0)
                                goto kill;
                        if (m.type == SYNC_ERROR) {
                                safe_close(fd);
                                r = err_set(m.value < 0 ? m.value : -EIO, "%s", m.text);
                                goto kill;
                        }
                        if (m.type == SYNC_SECCOMP_FD) {
                                /* Exec'd processes share the container's listener; nothing to forward. */
                                safe_close(fd);
                                sync_send(sp[0], SYNC_SECCOMP_DONE, 0, NULL, -EBADF);
                        } else
                                safe_close(fd);
                }
        }
        if (peer >= 0 && (r = unix_recv_fd(peer, &pty)) < 0)
                goto kill;
        if (o->pid_file && (r = write_pid_file(o->pid_file, pid)) < 0)
                goto kill;
        if (o->detach)
                goto out;
        r = wait_forwarding(pid, pty, ret_exit);
        goto out;
kill:
        {
                int status;
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                err_set(r, "%s", msg);
        }
out:
        safe_close(sp[0]);
        safe_close(sp[1]);
        for (size_t i = 0; i < c.n_cg_fds; i++)
                safe_close(c.cg_fds[i]);
        free(c.cg_fds);
        if (prog) {
                free(prog->insns);
                free(prog);
        }
        seccomp_prog_free(base);
        return r;
}
