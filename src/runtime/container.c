/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container.c - create and run (runtime-spec runtime.md "create", "start"; config-linux.md
 * namespaces, user namespace mappings, sysctl).
 *
 * The parent (runtime) prepares everything that allocates or may fail cheaply
 * before cloning: the config, the compiled seccomp program, the cgroup, fds of
 * namespaces to join, the console socket, the sealed exec stub. The child then
 * only performs system calls in a fixed order and reports failure as one
 * SYNC_ERROR message. While the child mounts its rootfs, the parent writes the
 * cgroup limits: the two run in parallel on separate CPUs.
 *
 * Two ways to enter namespaces:
 *  - one clone() with every CLONE_NEW* flag (the usual case, fastest). The kernel
 *    creates the user namespace first, so the others are owned by it;
 *  - two stages, when a user namespace or a pid namespace is joined by path, or a
 *    new user namespace must be created after joining namespaces that belong to
 *    the host's: the child joins, unshares, and forks the real container process
 *    (CLONE_PARENT, so that the runtime stays its parent); the middle one exits.
 * The cgroup namespace is always unshared by the child after it joined its
 * cgroup, so that the namespace's root is the container's cgroup.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/keyctl.h>
#include <linux/sched.h>

#include "cgroup.h"
#include "container.h"
#include "vm-isolation.h"
#include "error.h"
#include "hooks.h"
#include "json.h"
#include "log.h"
#include "mount.h"
#include "process.h"
#include "seccomp.h"
#include "sync.h"
#include "util.h"

struct init_ctx {
        const struct oci_config *cfg;
        const struct create_options *opts;
        const char *rootfs;
        const char *bundle;
        struct cgroup *cgroup;
        int sync_fd;
        int fifo_fd;
        int console_fd;
        int stub_fd;
        int *cg_fds;
        size_t n_cg_fds;
        int *idmap_fds; /* per config mount (mount.h), NULL when none is idmapped */
        int ns_fds[_NS_TYPE_MAX];
        unsigned long clone_flags;   /* flags of the single clone() */
        unsigned long unshare_flags; /* two-stage: namespaces the child unshares */
        bool two_stage;
        bool new_userns, in_userns, new_mntns, new_utsns, cgroupns_new;
        bool need_hook_sync;
        struct seccomp_prog *seccomp;
        pid_t parent;
};

static _noreturn_ void child_fail(const struct init_ctx *c, int r)
{
        sync_send(c->sync_fd, SYNC_ERROR, r, err_msg(r), -EBADF);
        _exit(1);
}

static int child_setns(const struct init_ctx *c, enum ns_type t)
{
        if (c->ns_fds[t] < 0)
                return 0;
        if (setns(c->ns_fds[t], ns_type_clone_flag(t)) < 0)
                return err_set(negative_errno(), "linux.namespaces: cannot join the %s namespace '%s': %m",
                               ns_type_to_string(t), config_find_namespace(c->cfg, t)->path);
        return 0;
}

static int child_usermap(const struct init_ctx *c)
{
        struct sync_msg m;
        int r;

        r = sync_send(c->sync_fd, SYNC_USERMAP, 0, NULL, -EBADF);
        if (r < 0)
                return r;
        r = sync_expect(c->sync_fd, SYNC_USERMAP_DONE, &m);
        if (r < 0)
                return r;
        /* Become root of the new namespace, so that mounts and mknod are ours to do. */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return err_set(negative_errno(), "linux.uidMappings: container root (0) is not mapped: %m");
        return 0;
}

static int child_sysctl(const struct oci_linux *l)
{
        for (size_t i = 0; l && i < l->n_sysctl; i++) {
                _cleanup_free_ char *path = strdup_printf("/proc/sys/%s", l->sysctl[i].key);
                int r;

                if (!path)
                        return -ENOMEM;
                for (char *p = path + strlen("/proc/sys/"); *p; p++)
                        if (*p == '.')
                                *p = '/';
                if (strstr(path, "/.."))
                        return err_set(-EINVAL, "linux.sysctl: invalid key '%s'", l->sysctl[i].key);
                r = write_string_file(path, l->sysctl[i].value);
                if (r < 0)
                        return err_set(r, "linux.sysctl: cannot set '%s' to '%s': %s", l->sysctl[i].key,
                                       l->sysctl[i].value, strerror(-r));
        }
        return 0;
}

/* linux.timeOffsets, written while no process is in the new time namespace yet (time_namespaces(7)). */
static int child_time_offsets(const struct oci_linux *l)
{
        char buf[128];
        int r;

        if (!l || !l->has_time_offsets)
                return 0;
        snprintf(buf, sizeof(buf), "monotonic %" PRId64 " %u\nboottime %" PRId64 " %u\n", l->time_monotonic_secs,
                 l->time_monotonic_nsecs, l->time_boottime_secs, l->time_boottime_nsecs);
        r = write_string_file("/proc/self/timens_offsets", buf);
        if (r < 0)
                return err_set(r, "linux.timeOffsets: cannot set: %s", strerror(-r));
        return 0;
}

/* Everything the container process does; never returns. */
static _noreturn_ void child_main(struct init_ctx *c)
{
        const struct oci_config *cfg = c->cfg;
        const struct oci_process *proc = cfg->process;
        _cleanup_free_ char *state_json = NULL;
        struct process_exec x = {
                .proc = proc,
                .seccomp = c->seccomp,
                .sync_fd = c->sync_fd,
                .stub_fd = c->stub_fd,
                .preserve_fds = c->opts->preserve_fds,
                .in_userns = c->in_userns,
        };
        struct sync_msg m;
        int r;

        /*
         * Die with a runtime that dies during setup; cleared before READY (create exits then).
         * A runtime that died before this line is noticed at the next sync message (EOF).
         */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(1);
        /*
         * Close every fd the child does not need right away: the state directory's fd carries the
         * create lock (flock belongs to the open file, which fork shares), and no runtime fd may
         * reach the container (CVE-2024-21626).
         */
        {
                int keep[8 + _NS_TYPE_MAX + 16 + MOUNT_IDMAP_MAX];
                size_t n = 0;
                keep[n++] = c->sync_fd;
                if (c->fifo_fd >= 0)
                        keep[n++] = c->fifo_fd;
                if (c->console_fd >= 0)
                        keep[n++] = c->console_fd;
                keep[n++] = c->stub_fd;
                for (int t = 0; t < _NS_TYPE_MAX; t++)
                        if (c->ns_fds[t] >= 0)
                                keep[n++] = c->ns_fds[t];
                for (size_t i = 0; i < c->n_cg_fds && n < ELEMENTSOF(keep) - MOUNT_IDMAP_MAX; i++)
                        keep[n++] = c->cg_fds[i];
                for (size_t i = 0; c->idmap_fds && i < c->cfg->n_mounts && n < ELEMENTSOF(keep); i++)
                        if (c->idmap_fds[i] >= 0)
                                keep[n++] = c->idmap_fds[i];
                if (close_all_fds(3 + c->opts->preserve_fds, keep, n) < 0)
                        _exit(1);
        }
        /* Keep other container processes away from /proc/<us>/exe and our memory until execve. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        if (c->two_stage) {
                /* The real container process is forked below and must inherit the cgroup. */
                for (size_t i = 0; i < c->n_cg_fds; i++)
                        if (write(c->cg_fds[i], "0", 1) < 0)
                                child_fail(c, err_set(negative_errno(), "cannot join the container's cgroup: %m"));
                for (size_t i = 0; i < c->n_cg_fds; i++)
                        c->cg_fds[i] = safe_close(c->cg_fds[i]);
                if ((r = child_setns(c, NS_USER)) < 0)
                        child_fail(c, r);
                for (enum ns_type t = 0; t < _NS_TYPE_MAX; t++) {
                        if (t == NS_USER || t == NS_CGROUP)
                                continue;
                        if ((r = child_setns(c, t)) < 0)
                                child_fail(c, r);
                }
                if (c->new_userns) {
                        if (unshare(CLONE_NEWUSER) < 0)
                                child_fail(c, err_set(negative_errno(), "cannot create a user namespace: %m"));
                        if ((r = child_usermap(c)) < 0)
                                child_fail(c, r);
                }
                if (c->unshare_flags && unshare((int)c->unshare_flags) < 0)
                        child_fail(c, err_set(negative_errno(), "cannot create namespaces: %m"));
                if ((c->unshare_flags & CLONE_NEWTIME) && (r = child_time_offsets(cfg->linux_cfg)) < 0)
                        child_fail(c, r);
                if ((c->unshare_flags & (CLONE_NEWPID | CLONE_NEWTIME)) || c->ns_fds[NS_PID] >= 0 ||
                    c->ns_fds[NS_TIME] >= 0) {
                        /* pid and time namespaces apply to children only: fork the real process. */
                        pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
                        if (pid < 0)
                                child_fail(c, err_set(negative_errno(), "cannot fork into the pid namespace: %m"));
                        if (pid > 0) {
                                sync_send(c->sync_fd, SYNC_PID, pid, NULL, -EBADF);
                                _exit(0);
                        }
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                }
        } else {
                if (c->new_userns && (r = child_usermap(c)) < 0)
                        child_fail(c, r);
                for (enum ns_type t = 0; t < _NS_TYPE_MAX; t++) {
                        if (t == NS_CGROUP)
                                continue;
                        if ((r = child_setns(c, t)) < 0)
                                child_fail(c, r);
                }
        }
        if (!c->opts->no_new_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 &&
            errno != ENOSYS && errno != EPERM)
                child_fail(c, err_set(negative_errno(), "cannot create a session keyring: %m"));

        {
                struct mount_context mc = {
                        .cfg = cfg, .rootfs = c->rootfs, .bundle = c->bundle, .rootfs_fd = -EBADF,
                        .cgroup = c->cgroup, .in_userns = c->in_userns, .cgroupns = c->cgroupns_new || c->ns_fds[NS_CGROUP] >= 0,
                        .idmap_fds = c->idmap_fds,
                };
                size_t first_cg = c->new_mntns ? mount_first_cgroup(cfg) : 0;

                /*
                 * The parent writes the cgroup limits meanwhile: mount what does not need the cgroup
                 * first, then join it, then enter the cgroup namespace, whose root is the cgroup we
                 * are in at that moment.
                 */
                if (c->new_mntns && ((r = mount_prepare_root(&mc)) < 0 || (r = mount_config_range(&mc, 0, first_cg)) < 0))
                        child_fail(c, r);
                if (!c->two_stage) {
                        /* The parent has written the limits: join (cgroup_enter_fds()). */
                        if ((r = sync_expect(c->sync_fd, SYNC_CGROUP_DONE, &m)) < 0)
                                child_fail(c, r);
                        for (size_t i = 0; i < c->n_cg_fds; i++)
                                if (write(c->cg_fds[i], "0", 1) < 0)
                                        child_fail(c, err_set(negative_errno(),
                                                              "cannot join the container's cgroup: %m"));
                        for (size_t i = 0; i < c->n_cg_fds; i++)
                                c->cg_fds[i] = safe_close(c->cg_fds[i]);
                }
                if (c->cgroupns_new && unshare(CLONE_NEWCGROUP) < 0)
                        child_fail(c, err_set(negative_errno(), "cannot create a cgroup namespace: %m"));
                if ((r = child_setns(c, NS_CGROUP)) < 0)
                        child_fail(c, r);
                if (c->new_mntns && ((r = mount_config_range(&mc, first_cg, cfg->n_mounts)) < 0 ||
                                     (r = mount_devices(&mc)) < 0))
                        child_fail(c, r);
                safe_close(mc.rootfs_fd);
        }

        if (c->need_hook_sync) {
                r = sync_send(c->sync_fd, SYNC_HOOKS, 0, NULL, -EBADF);
                if (r >= 0)
                        r = sync_expect(c->sync_fd, SYNC_HOOKS_DONE, &m);
                if (r < 0)
                        child_fail(c, r);
                state_json = strdup(m.text);
                if (!state_json)
                        child_fail(c, -ENOMEM);
                if ((r = hooks_run(cfg, HOOK_CREATE_CONTAINER, state_json)) < 0)
                        child_fail(c, r);
        }

        if (c->new_mntns) {
                if ((r = mount_pivot_root(c->rootfs, c->opts->no_pivot)) < 0)
                        child_fail(c, r);
        } else if (chroot(c->rootfs) < 0 || chdir("/") < 0)
                child_fail(c, err_set(negative_errno(), "cannot enter rootfs '%s': %m", c->rootfs));
        /* sysctl before the read-only paths: /proc/sys is one of them. */
        if ((r = child_sysctl(cfg->linux_cfg)) < 0)
                child_fail(c, r);
        if (c->new_mntns && (r = mount_finalize(cfg)) < 0)
                child_fail(c, r);

        if (cfg->hostname && *cfg->hostname) {
                if (!c->new_utsns)
                        child_fail(c, err_set(-EINVAL, "hostname: setting it needs a new uts namespace"));
                if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
                        child_fail(c, err_set(negative_errno(), "hostname: cannot set '%s': %m", cfg->hostname));
        }
        if (cfg->domainname && *cfg->domainname) {
                if (!c->new_utsns)
                        child_fail(c, err_set(-EINVAL, "domainname: setting it needs a new uts namespace"));
                if (setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
                        child_fail(c, err_set(negative_errno(), "domainname: cannot set '%s': %m", cfg->domainname));
        }
        if (setsid() < 0)
                child_fail(c, err_set(negative_errno(), "setsid: %m"));
        if (proc->terminal) {
                if ((r = process_setup_console(c->console_fd, proc)) < 0)
                        child_fail(c, r);
        }
        c->console_fd = safe_close(c->console_fd);
        if ((r = process_apply(proc)) < 0 || (r = process_resolve_exe(proc, &x.exe)) < 0 ||
            (r = process_build_env(proc, &x.env)) < 0)
                child_fail(c, r);
        if (cfg->linux_cfg && cfg->linux_cfg->has_personality &&
            personality(cfg->linux_cfg->personality_domain) < 0)
                child_fail(c, err_set(negative_errno(), "linux.personality: %m"));
        if (x.seccomp && x.seccomp->needs_listener) {
                /* The listener must reach listenerPath while the runtime is still there to send it. */
                if ((r = process_load_seccomp(&x)) < 0)
                        child_fail(c, r);
                x.seccomp_loaded = true;
        }

        prctl(PR_SET_PDEATHSIG, 0);
        if (sync_send(c->sync_fd, SYNC_READY, 0, NULL, -EBADF) < 0)
                _exit(1);

        if (c->opts->mode == CREATE_ONLY) {
                char b;
                ssize_t k;
                do
                        k = read(c->fifo_fd, &b, 1);
                while (k < 0 && errno == EINTR);
                if (k != 1)
                        _exit(1);
                c->fifo_fd = safe_close(c->fifo_fd);
        } else if (sync_expect(c->sync_fd, SYNC_START, &m) < 0)
                _exit(1);

        if (hooks_any(cfg, HOOK_START_CONTAINER)) {
                char *s = state_json ? strstr(state_json, "\"status\":\"creating\"") : NULL;
                if (s)
                        memcpy(s, "\"status\":\"created\" ", strlen("\"status\":\"creating\""));
                r = hooks_run(cfg, HOOK_START_CONTAINER, state_json ? state_json : "{}");
                if (r < 0) {
                        log_error("%s", err_msg(r));
                        _exit(1);
                }
        }
        r = process_exec(&x);
        /* After READY nobody listens on the sync socket for create; stderr is the container's. */
        if (c->opts->mode != CREATE_ONLY)
                sync_send(c->sync_fd, SYNC_ERROR, r, err_msg(r), -EBADF);
        log_error("%s", err_msg(r));
        _exit(r == -ENOENT ? 127 : 126);
}

/* ------------------------------------------------------------------ parent side */

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n, const char *field)
{
        char path[64], buf[4096];
        size_t len = 0;
        int r;

        for (size_t i = 0; i < n && len < sizeof(buf) - 64; i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id, m[i].host_id,
                                        m[i].size);
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        r = write_string_file(path, buf);
        if (r < 0)
                return err_set(r, "%s: cannot write %s: %s", field, file, strerror(-r));
        return 0;
}

static int state_json_for_hooks(const struct container_state *s, const char *status, char **ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = state_to_oci_json(s, &o);
        if (r < 0)
                return r;
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "pid", json_object_new_int(s->pid));
        *ret = strdup(json_to_string(o));
        return *ret ? 0 : -ENOMEM;
}

int write_pid_file(const char *path, pid_t pid)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
        int r = write_file_atomic(path, buf, (size_t)n, 0644);
        if (r < 0)
                return err_set(r, "cannot write pid file '%s': %s", path, strerror(-r));
        return 0;
}

int console_socket_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(-ENAMETOOLONG, "--console-socket: path too long: '%s'", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(negative_errno(), "--console-socket: cannot connect to '%s': %m", path);
        return TAKE_FD(fd);
}

static int resolve_rootfs(const struct oci_config *cfg, const char *bundle, char **ret)
{
        _cleanup_free_ char *p = NULL;
        char *real;
        struct stat st;

        if (!cfg->root_path)
                return err_set(-EINVAL, "root.path: required");
        p = cfg->root_path[0] == '/' ? strdup(cfg->root_path) : strdup_printf("%s/%s", bundle, cfg->root_path);
        if (!p)
                return -ENOMEM;
        real = realpath(p, NULL);
        if (!real)
                return err_set(negative_errno(), "root.path: '%s': %m", cfg->root_path);
        if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
                free(real);
                return err_set(-ENOTDIR, "root.path: '%s' is not a directory", cfg->root_path);
        }
        *ret = real;
        return 0;
}

/* Reject what this host cannot do before anything is created. */
static int check_host_support(const struct oci_config *cfg)
{
        const struct oci_linux *l = cfg->linux_cfg;

        if (!cfg->process)
                return err_set(-EINVAL, "process: required to create a container");
        if (!l)
                return 0;
        if (l->has_intel_rdt)
                return err_set(-EOPNOTSUPP, "linux.intelRdt: Intel RDT (resctrl) is not available on this host");
        if (l->resources && l->resources->has_rdma)
                return err_set(-EOPNOTSUPP, "linux.resources.rdma: the rdma cgroup controller is not supported");
        for (size_t i = 0; i < l->n_namespaces; i++) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/ns/%s", ns_type_proc_name(l->namespaces[i].type));
                if (access(p, F_OK) < 0)
                        return err_set(-EOPNOTSUPP, "linux.namespaces[%zu]: %s namespaces are not supported by this kernel",
                                       i, ns_type_to_string(l->namespaces[i].type));
        }
        return 0;
}

struct create_run {
        struct init_ctx c;
        struct container_state *state;
        struct seccomp_prog *seccomp_base;
        pid_t child;
        pid_t pid; /* the container process (differs from child in the two-stage path) */
        int pty_master;
};

static void create_run_cleanup(struct create_run *cr)
{
        for (int t = 0; t < _NS_TYPE_MAX; t++)
                safe_close(cr->c.ns_fds[t]);
        for (size_t i = 0; i < cr->c.n_cg_fds; i++)
                safe_close(cr->c.cg_fds[i]);
        free(cr->c.cg_fds);
        if (cr->c.cfg)
                mount_idmap_free(cr->c.idmap_fds, cr->c.cfg->n_mounts);
        safe_close(cr->c.sync_fd);
        safe_close(cr->c.fifo_fd);
        safe_close(cr->c.console_fd);
        safe_close(cr->c.stub_fd);
        if (cr->c.seccomp) {
                free(cr->c.seccomp->insns);
                free(cr->c.seccomp);
        }
        seccomp_prog_free(cr->seccomp_base);
}

/* Undo a failed create: kill, reap, remove cgroup and state. */
static void create_undo(struct create_run *cr)
{
        if (cr->pid > 0)
                kill(cr->pid, SIGKILL);
        if (cr->child > 0 && cr->child != cr->pid)
                kill(cr->child, SIGKILL);
        if (cr->child > 0)
                waitpid(cr->child, NULL, 0);
        if (cr->pid > 0 && cr->pid != cr->child)
                waitpid(cr->pid, NULL, 0);
        if (cr->state) {
                if (cr->state->cgroup) {
                        cgroup_kill_all(cr->state->cgroup, SIGKILL);
                        cgroup_destroy(cr->state->cgroup);
                }
                state_remove(cr->state);
        }
}

static int parent_loop(struct create_run *cr, const struct oci_config *cfg)
{
        const struct oci_linux *l = cfg->linux_cfg;
        struct sync_msg m;
        int r;

        for (;;) {
                int fd = -EBADF;
                r = sync_recv(cr->c.sync_fd, &m, &fd);
                if (r == -EPIPE) {
                        int status = 0;
                        if (waitpid(cr->child, &status, 0) == cr->child)
                                cr->child = 0;
                        if (cr->pid == cr->child || cr->pid <= 0)
                                cr->pid = 0;
                        if (WIFSIGNALED(status))
                                return err_set(-ECHILD, "container process was killed by signal %d during setup",
                                               WTERMSIG(status));
                        return err_set(-ECHILD, "container process exited during setup (status %d)",
                                       WEXITSTATUS(status));
                }
                if (r < 0)
                        return r;
                switch (m.type) {
                case SYNC_ERROR:
                        safe_close(fd);
                        return err_set(m.value < 0 ? m.value : -EIO, "%s", m.text);
                case SYNC_USERMAP:
                        r = write_id_map(cr->child, "uid_map", l->uid_mappings, l->n_uid_mappings, "linux.uidMappings");
                        if (r >= 0)
                                r = write_id_map(cr->child, "gid_map", l->gid_mappings, l->n_gid_mappings,
                                                 "linux.gidMappings");
                        if (r < 0)
                                return r;
                        r = sync_send(cr->c.sync_fd, SYNC_USERMAP_DONE, 0, NULL, -EBADF);
                        break;
                case SYNC_PID:
                        cr->pid = m.value;
                        /* The middle process exits right after sending this. */
                        if (waitpid(cr->child, NULL, 0) == cr->child)
                                cr->child = cr->pid;
                        cr->state->pid = cr->pid;
                        break;
                case SYNC_HOOKS: {
                        _cleanup_free_ char *sj = NULL;
                        r = state_json_for_hooks(cr->state, "creating", &sj);
                        if (r < 0)
                                return r;
                        if ((r = hooks_run(cfg, HOOK_PRESTART, sj)) < 0 ||
                            (r = hooks_run(cfg, HOOK_CREATE_RUNTIME, sj)) < 0)
                                return r;
                        r = sync_send(cr->c.sync_fd, SYNC_HOOKS_DONE, 0, sj, -EBADF);
                        break;
                }
                case SYNC_SECCOMP_FD: {
                        _cleanup_json_ struct json_object *o = json_object_new_object();
                        _cleanup_json_ struct json_object *st = NULL;
                        _cleanup_close_ int lfd = fd;
                        struct json_object *fds = json_object_new_array();
                        fd = -EBADF;
                        r = state_to_oci_json(cr->state, &st);
                        if (r < 0)
                                return r;
                        json_object_object_add(st, "status", json_object_new_string("creating"));
                        json_object_object_add(st, "pid", json_object_new_int(cr->pid));
                        json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
                        json_object_array_add(fds, json_object_new_string("seccompFd"));
                        json_object_object_add(o, "fds", fds);
                        json_object_object_add(o, "pid", json_object_new_int(cr->pid));
                        json_object_object_add(o, "metadata",
                                               json_object_new_string(strempty(l->seccomp->listener_metadata)));
                        json_object_object_add(o, "state", json_object_get(st));
                        r = seccomp_send_listener(l->seccomp->listener_path, json_to_string(o), lfd);
                        if (r < 0)
                                return err_prefix(r, "linux.seccomp.listenerPath: '%s'", l->seccomp->listener_path);
                        r = sync_send(cr->c.sync_fd, SYNC_SECCOMP_DONE, 0, NULL, -EBADF);
                        break;
                }
                case SYNC_READY:
                        safe_close(fd);
                        return 0;
                default:
                        safe_close(fd);
                        return err_set(-EBADMSG, "unexpected message %u from the container process", m.type);
                }
                safe_close(fd);
                if (r < 0)
                        return r;
        }
}

/*
 * Tell the child that its cgroup is ready (limits written), so that it joins. A new user
 * namespace's maps come first: the child asks for them right after clone.
 */
static int parent_join_cgroup(struct create_run *cr, const struct oci_config *cfg)
{
        const struct oci_linux *l = cfg->linux_cfg;
        int r;

        if (cr->c.new_userns) {
                struct sync_msg m;
                r = sync_expect(cr->c.sync_fd, SYNC_USERMAP, &m);
                if (r < 0)
                        return r;
                r = write_id_map(cr->child, "uid_map", l->uid_mappings, l->n_uid_mappings, "linux.uidMappings");
                if (r >= 0)
                        r = write_id_map(cr->child, "gid_map", l->gid_mappings, l->n_gid_mappings, "linux.gidMappings");
                if (r >= 0)
                        r = sync_send(cr->c.sync_fd, SYNC_USERMAP_DONE, 0, NULL, -EBADF);
                if (r < 0)
                        return r;
        }
        return sync_send(cr->c.sync_fd, SYNC_CGROUP_DONE, 0, NULL, -EBADF);
}

/* Decide how namespaces are entered and open the ones to join. */
static int plan_namespaces(struct create_run *cr, const struct oci_config *cfg)
{
        const struct oci_linux *l = cfg->linux_cfg;
        bool joins_other = false;
        unsigned long new_flags = 0;

        for (size_t i = 0; l && i < l->n_namespaces; i++) {
                const struct oci_namespace *n = &l->namespaces[i];
                if (n->path) {
                        int fd = open(n->path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                return err_set(negative_errno(), "linux.namespaces[%zu].path: cannot open '%s': %m", i,
                                               n->path);
                        cr->c.ns_fds[n->type] = fd;
                        if (n->type != NS_USER && n->type != NS_CGROUP)
                                joins_other = true;
                } else if (n->type == NS_CGROUP)
                        cr->c.cgroupns_new = true;
                else
                        new_flags |= (unsigned long)ns_type_clone_flag(n->type);
        }
        cr->c.new_userns = new_flags & CLONE_NEWUSER;
        cr->c.in_userns = cr->c.new_userns || cr->c.ns_fds[NS_USER] >= 0;
        cr->c.new_mntns = (new_flags & CLONE_NEWNS) != 0;
        cr->c.new_utsns = (new_flags & CLONE_NEWUTS) != 0;
        if (cr->c.ns_fds[NS_MNT] >= 0)
                return err_set(-EOPNOTSUPP, "linux.namespaces: joining a mount namespace at create is not supported");
        if (!cr->c.new_mntns)
                log_debug("no new mount namespace: the rootfs is entered with chroot");

        /* clone() has no room for CLONE_NEWTIME (its value is in the exit-signal byte): unshare it. */
        if (cr->c.ns_fds[NS_USER] >= 0 || cr->c.ns_fds[NS_PID] >= 0 || cr->c.ns_fds[NS_TIME] >= 0 ||
            (new_flags & CLONE_NEWTIME) || (cr->c.new_userns && joins_other)) {
                cr->c.two_stage = true;
                cr->c.unshare_flags = new_flags & ~(unsigned long)CLONE_NEWUSER;
                cr->c.clone_flags = 0;
        } else {
                cr->c.clone_flags = new_flags;
        }
        if (cr->c.new_userns && (!l->n_uid_mappings || !l->n_gid_mappings))
                return err_set(-EINVAL, "linux.uidMappings: a new user namespace needs uid and gid mappings");
        return 0;
}

static int seccomp_cache_dir(const char *root, char **ret)
{
        *ret = strdup_printf("%s/.seccomp-cache", root);
        if (!*ret)
                return -ENOMEM;
        if (mkdir(*ret, 0700) < 0 && errno != EEXIST) {
                free(*ret);
                *ret = NULL; /* no cache is not an error */
        }
        return 0;
}

int container_create(const struct create_options *o, int *ret_exit)
{
        _cleanup_config_ struct oci_config *cfg = NULL;
        _cleanup_free_ char *config_path = NULL, *config_buf = NULL, *rootfs = NULL, *bundle = NULL;
        struct create_run cr = { .c = { .sync_fd = -EBADF, .fifo_fd = -EBADF, .console_fd = -EBADF, .stub_fd = -EBADF },
                                 .pty_master = -EBADF };
        int sp[2] = { -EBADF, -EBADF }, console_pair[2] = { -EBADF, -EBADF };
        size_t config_len;
        int r;

        for (int t = 0; t < _NS_TYPE_MAX; t++)
                cr.c.ns_fds[t] = -EBADF;

        bundle = realpath(o->bundle, NULL);
        if (!bundle)
                return err_set(negative_errno(), "--bundle: '%s': %m", o->bundle);
        config_path = strdup_printf("%s/config.json", bundle);
        if (!config_path)
                return -ENOMEM;
        r = read_full_file(config_path, 16 << 20, &config_buf, &config_len);
        if (r < 0)
                return err_set(r, "cannot read '%s': %s", config_path, strerror(-r));
        r = config_parse(config_buf, config_len, &cfg);
        if (r < 0)
                return err_prefix(r, "config.json");
        if ((r = check_host_support(cfg)) < 0 || (r = resolve_rootfs(cfg, bundle, &rootfs)) < 0)
                return r;
        if (cfg->process->terminal && !o->console_socket && o->mode != RUN_FOREGROUND)
                return err_set(-EINVAL, "process.terminal: a terminal needs --console-socket when detached");
        /* io.hull.isolation=vm: the container runs in a microVM of its own (vm-isolation.h). */
        r = vmiso_requested(cfg);
        if (r < 0)
                return r;
        if (r > 0)
                return vmiso_create(o, cfg, config_buf, config_len, bundle, rootfs, ret_exit);

        r = plan_namespaces(&cr, cfg);
        if (r < 0)
                goto out;
        if (cfg->linux_cfg && cfg->linux_cfg->seccomp) {
                _cleanup_free_ char *cache = NULL;
                seccomp_cache_dir(o->root, &cache);
                r = seccomp_prepare(cfg->linux_cfg->seccomp, cache, &cr.seccomp_base);
                if (r < 0) {
                        err_prefix(r, "linux.seccomp");
                        goto out;
                }
        }
        cr.c.stub_fd = exec_stub_memfd();
        if (cr.c.stub_fd < 0) {
                r = err_set(cr.c.stub_fd, "cannot create the exec stub: %s", strerror(-cr.c.stub_fd));
                goto out;
        }
        if (cr.seccomp_base && (r = process_seccomp_with_stub(cr.seccomp_base, cr.c.stub_fd, &cr.c.seccomp)) < 0)
                goto out;

        r = state_claim(o->root, o->id, &cr.state);
        if (r < 0)
                goto out;
        cr.state->bundle = TAKE_PTR(bundle);
        cr.state->rootfs = strdup(rootfs);
        cr.state->created = rfc3339_now();
        if (!cr.state->rootfs || !cr.state->created) {
                r = -ENOMEM;
                goto undo;
        }
        if (cfg->n_annotations) {
                cr.state->annotations = json_object_new_object();
                for (size_t i = 0; i < cfg->n_annotations; i++)
                        json_object_object_add(cr.state->annotations, cfg->annotations[i].key,
                                               json_object_new_string(cfg->annotations[i].value));
        }
        cr.state->has_cgroupns = cr.c.cgroupns_new || cr.c.ns_fds[NS_CGROUP] >= 0;
        cr.state->external_pidns = cr.c.ns_fds[NS_PID] >= 0;

        r = cgroup_create(cfg->linux_cfg ? cfg->linux_cfg->cgroups_path : NULL, o->id, &cr.state->cgroup);
        if (r < 0) {
                err_prefix(r, "linux.cgroupsPath");
                goto undo;
        }
        if (o->mode == CREATE_ONLY) {
                if (mkfifoat(cr.state->dir_fd, "exec.fifo", 0600) < 0) {
                        r = err_set(negative_errno(), "cannot create exec.fifo: %m");
                        goto undo;
                }
                /* O_RDWR: opening never blocks, and `start` can open it for writing while we live. */
                cr.c.fifo_fd = openat(cr.state->dir_fd, "exec.fifo", O_RDWR | O_CLOEXEC);
                if (cr.c.fifo_fd < 0) {
                        r = negative_errno();
                        goto undo;
                }
        }
        if (cfg->process->terminal) {
                if (o->console_socket) {
                        cr.c.console_fd = console_socket_connect(o->console_socket);
                        if (cr.c.console_fd < 0) {
                                r = cr.c.console_fd;
                                goto undo;
                        }
                } else {
                        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console_pair) < 0) {
                                r = negative_errno();
                                goto undo;
                        }
                        cr.c.console_fd = TAKE_FD(console_pair[1]);
                }
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = negative_errno();
                goto undo;
        }
        cr.c.cfg = cfg;
        cr.c.opts = o;
        cr.c.rootfs = rootfs;
        cr.c.bundle = cr.state->bundle;
        cr.c.cgroup = cr.state->cgroup;
        cr.c.need_hook_sync = hooks_any(cfg, HOOK_PRESTART) || hooks_any(cfg, HOOK_CREATE_RUNTIME) ||
                              hooks_any(cfg, HOOK_CREATE_CONTAINER) || hooks_any(cfg, HOOK_START_CONTAINER);
        cr.c.parent = getpid();
        cr.c.sync_fd = TAKE_FD(sp[1]);
        /* Idmapped mounts are made here, where the host's ids mean what the mappings say. */
        if (cr.c.new_mntns && (r = mount_idmap_prepare(cfg, cr.state->bundle, &cr.c.idmap_fds)) < 0)
                goto undo;

        /*
         * No move that takes the cgroup threadgroup lock (its writer waits for an RCU grace
         * period, milliseconds): the one-clone path creates the child inside its cgroup2 cgroup
         * (clone3 with CLONE_INTO_CGROUP, Linux 5.7; on a hybrid host the cgroup2 hierarchy beside
         * the v1 ones), and the child joins the v1 hierarchies itself through fds, by writing "0"
         * to their `tasks` files (cgroup.h).
         */
        fflush(NULL);
        cr.child = cgroup_clone(cr.state->cgroup, !cr.c.two_stage, cr.c.clone_flags, &cr.c.cg_fds,
                                &cr.c.n_cg_fds);
        if (cr.child < 0) {
                r = err_prefix(cr.child, "cannot create the container process");
                goto undo;
        }
        if (cr.child == 0) {
                safe_close(sp[0]);
                safe_close(console_pair[0]);
                child_main(&cr.c);
        }
        cr.pid = cr.child;
        cr.state->pid = cr.child;
        safe_close(cr.c.sync_fd);
        cr.c.sync_fd = TAKE_FD(sp[0]);
        cr.c.console_fd = safe_close(cr.c.console_fd);

        /* While the child mounts, write the limits (always: the default device rules come with them). */
        r = cgroup_apply(cr.state->cgroup, cfg->linux_cfg ? cfg->linux_cfg->resources : NULL, false);
        if (r < 0)
                goto undo;
        if (!cr.c.two_stage) {
                r = parent_join_cgroup(&cr, cfg);
                if (r < 0)
                        goto undo;
        }
        for (size_t i = 0; i < cr.c.n_cg_fds; i++)
                cr.c.cg_fds[i] = safe_close(cr.c.cg_fds[i]);
        r = parent_loop(&cr, cfg);
        if (r < 0)
                goto undo;
        if (cfg->process->has_oom_score_adj) {
                char p[64], v[16];
                snprintf(p, sizeof(p), "/proc/%d/oom_score_adj", (int)cr.pid);
                snprintf(v, sizeof(v), "%d", cfg->process->oom_score_adj);
                r = write_string_file(p, v);
                if (r < 0) {
                        err_set(r, "process.oomScoreAdj: cannot set %s: %s", v, strerror(-r));
                        goto undo;
                }
        }
        if (console_pair[0] >= 0) {
                r = unix_recv_fd(console_pair[0], &cr.pty_master);
                if (r < 0)
                        goto undo;
        }
        cr.state->pid = cr.pid;
        r = proc_start_time(cr.pid, &cr.state->pid_start);
        if (r < 0) {
                err_set(r, "container process vanished during create");
                goto undo;
        }
        if ((r = state_save_config(cr.state, config_buf, config_len)) < 0 || (r = state_save(cr.state)) < 0) {
                err_prefix(r, "cannot save the container state");
                goto undo;
        }
        if (o->pid_file && (r = write_pid_file(o->pid_file, cr.pid)) < 0)
                goto undo;

        if (o->mode != CREATE_ONLY) {
                _cleanup_free_ char *sj = NULL;
                r = sync_send(cr.c.sync_fd, SYNC_START, 0, NULL, -EBADF);
                if (r < 0)
                        goto undo;
                if (hooks_any(cfg, HOOK_POSTSTART) && state_json_for_hooks(cr.state, "running", &sj) >= 0)
                        hooks_run(cfg, HOOK_POSTSTART, sj);
        }
        if (o->mode == RUN_FOREGROUND) {
                int status = 0;
                /* Unlock so that `state`, `kill` and `exec` from others work while we wait. */
                flock(cr.state->dir_fd, LOCK_UN);
                r = wait_forwarding(cr.pid, cr.pty_master, &status);
                cr.child = 0;
                cr.pid = 0;
                *ret_exit = status;
                {
                        char id[1025];
                        snprintf(id, sizeof(id), "%s", o->id);
                        state_free(cr.state);
                        cr.state = NULL;
                        int k = container_delete(o->root, id, true);
                        if (k < 0 && r >= 0)
                                r = k;
                }
        }
        goto out;

undo:
        {
                /* Keep the first error's message through the cleanup. */
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                create_undo(&cr);
                err_set(r, "%s", msg);
        }
out:
        safe_close(sp[0]);
        safe_close(sp[1]);
        safe_close(console_pair[0]);
        safe_close(console_pair[1]);
        safe_close(cr.pty_master);
        create_run_cleanup(&cr);
        state_free(cr.state);
        return r;
}
