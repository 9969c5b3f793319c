/* SPDX-License-Identifier: Apache-2.0 */
/* process.c - credentials, capabilities, seccomp and execve of the container process; see process.h. */
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pty.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

#include "caps.h"
#include "error.h"
#include "lsm.h"
#include "process.h"
#include "seccomp.h"
#include "sync.h"
#include "util.h"

extern const unsigned char hull_exec_stub[];
extern const size_t hull_exec_stub_size;

#define STUB_MAGIC "\x7fhull-exec"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

int exec_stub_memfd(void)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* MFD_EXEC (Linux 6.3) keeps vm.memfd_noexec=1 hosts from refusing to execute it. */
        fd = memfd_create("hull-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create("hull-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, hull_exec_stub, hull_exec_stub_size);
        if (r < 0)
                return r;
        if (fchmod(fd, 0555) < 0)
                return negative_errno();
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

int process_seccomp_with_stub(const struct seccomp_prog *p, int stub_fd, struct seccomp_prog **ret)
{
        /*
         * Classic BPF jumps are relative, so a prefix can be put in front of any program.
         * It matches exactly execveat(stub_fd, <any>, <any>, <any>, AT_EMPTY_PATH) on x86-64
         * and falls through to the profile otherwise. seccomp_data layout: nr at 0, arch at 4,
         * args[i] at 16 + 8*i (low word first on little-endian).
         */
        const struct sock_filter prefix[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 9),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 0, 7),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)stub_fd, 0, 5),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 20),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 48),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AT_EMPTY_PATH, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct seccomp_prog *n;

        if (p->n_insns + ELEMENTSOF(prefix) > BPF_MAXINSNS)
                return -E2BIG;
        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        *n = *p;
        n->n_insns = p->n_insns + ELEMENTSOF(prefix);
        n->insns = malloc(n->n_insns * sizeof(struct sock_filter));
        if (!n->insns) {
                free(n);
                return -ENOMEM;
        }
        memcpy(n->insns, prefix, sizeof(prefix));
        memcpy(n->insns + ELEMENTSOF(prefix), p->insns, p->n_insns * sizeof(struct sock_filter));
        *ret = n;
        return 0;
}

static const char *env_get(char *const *env, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

static bool is_executable_file(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

int process_resolve_exe(const struct oci_process *p, char **ret)
{
        const char *name = p->args[0];
        const char *path;
        struct stat st;

        if (strchr(name, '/')) {
                if (stat(name, &st) < 0)
                        return err_set(negative_errno(), "exec: '%s': %m", name);
                if (S_ISDIR(st.st_mode))
                        return err_set(-EACCES, "exec: '%s': is a directory: permission denied", name);
                if (!(st.st_mode & 0111))
                        return err_set(-EACCES, "exec: '%s': permission denied", name);
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        path = env_get(p->env, "PATH");
        if (!path)
                path = DEFAULT_PATH;
        for (const char *s = path;;) {
                size_t l = strcspn(s, ":");
                _cleanup_free_ char *c = l ? strdup_printf("%.*s/%s", (int)l, s, name) : strdup_printf("./%s", name);
                if (!c)
                        return -ENOMEM;
                if (is_executable_file(c)) {
                        *ret = TAKE_PTR(c);
                        return 0;
                }
                if (!s[l])
                        break;
                s += l + 1;
        }
        return err_set(-ENOENT, "executable file `%s` not found in $PATH: No such file or directory", name);
}

/* HOME of uid from the container's /etc/passwd, or "/". */
static char *home_of(uid_t uid)
{
        _cleanup_free_ char *buf = NULL;
        char *line, *save = NULL;

        if (read_full_file("/etc/passwd", 4 << 20, &buf, NULL) < 0)
                return strdup("/");
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[7] = {};
                char *p = line;
                int n = 0;
                while (n < 7) {
                        f[n++] = p;
                        p = strchr(p, ':');
                        if (!p)
                                break;
                        *p++ = 0;
                }
                uint32_t u;
                if (n >= 6 && parse_u32(f[2], &u) >= 0 && u == uid && f[5][0])
                        return strdup(f[5]);
        }
        return strdup("/");
}

int process_build_env(const struct oci_process *p, char ***ret)
{
        _cleanup_strv_free_ char **env = strv_copy(p->env);
        int r;

        if (!env)
                return -ENOMEM;
        if (!env_get(env, "HOME")) {
                _cleanup_free_ char *home = home_of(p->user.uid);
                _cleanup_free_ char *e = home ? strdup_printf("HOME=%s", home) : NULL;
                if (!e)
                        return -ENOMEM;
                r = strv_push(&env, TAKE_PTR(e));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

int process_setup_console(int console_sock, const struct oci_process *p)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char name[64];
        int unlock = 0, r;

        /* The pty comes from the container's own devpts instance (/dev/ptmx -> pts/ptmx). */
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return err_set(negative_errno(), "process.terminal: cannot open /dev/ptmx: %m");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return negative_errno();
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return err_set(negative_errno(), "process.terminal: cannot open the pty peer: %m");
        if (p->has_console_size) {
                struct winsize ws = { .ws_row = (unsigned short)p->console_height,
                                      .ws_col = (unsigned short)p->console_width };
                ioctl(slave, TIOCSWINSZ, &ws);
        }
        snprintf(name, sizeof(name), "/dev/ptmx");
        r = unix_send_fd(console_sock, master, name);
        if (r < 0)
                return err_set(r, "cannot send the pty to the console socket: %s", strerror(-r));
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return err_set(negative_errno(), "process.terminal: cannot set the controlling terminal: %m");
        for (int i = 0; i < 3; i++)
                if (dup3(slave, i, 0) < 0)
                        return negative_errno();
        return 0;
}

int process_apply(const struct oci_process *p)
{
        char cwd[PATH_MAX];

        for (size_t i = 0; i < p->n_rlimits; i++) {
                const struct oci_rlimit *l = &p->rlimits[i];
                struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard}, now;
                const char *name = rlimit_to_string(l->resource);
                unsigned long long soft = l->soft, hard = l->hard;
                int r;

                if (setrlimit(l->resource, &rl) >= 0)
                        continue;
                r = negative_errno();
                /* podman asks for RLIMIT_NOFILE 1048576 by default, more than some hosts allow. */
                if (r == -EPERM && getrlimit(l->resource, &now) >= 0 && rl.rlim_max > now.rlim_max)
                        return err_set(r,
                                       "process.rlimits[%zu]: hard %s %llu is above the runtime's own %llu, "
                                       "and raising it needs CAP_SYS_RESOURCE",
                                       i, name, hard, (unsigned long long)now.rlim_max);
                return err_set(r, "process.rlimits[%zu]: cannot set %s to %llu/%llu: %s", i, name, soft,
                               hard, strerror(-r));
        }
        if (p->user.has_umask)
                umask(p->user.umask & 0777);
        if (p->has_io_priority &&
            syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (p->io_priority.ioprio_class << 13) | p->io_priority.priority) < 0)
                return err_set(negative_errno(), "process.ioPriority: %m");
        if (p->has_scheduler) {
                struct sched_param sp = { .sched_priority = p->scheduler.priority };
                if (p->scheduler.policy == SCHED_OTHER || p->scheduler.policy == SCHED_BATCH ||
                    p->scheduler.policy == SCHED_IDLE)
                        sp.sched_priority = 0;
                if (sched_setscheduler(0, p->scheduler.policy, &sp) < 0)
                        return err_set(negative_errno(), "process.scheduler: %m");
                if (p->scheduler.nice && setpriority(PRIO_PROCESS, 0, p->scheduler.nice) < 0)
                        return err_set(negative_errno(), "process.scheduler.nice: %m");
        }
        if (chdir(p->cwd) < 0)
                return err_set(negative_errno(), "process.cwd: cannot change to '%s': %m", p->cwd);
        /*
         * CVE-2024-21626: a cwd reached through a leaked host fd (/proc/self/fd/N) lies outside
         * the root; getcwd() then fails or reports "(unreachable)". Refuse to run there.
         */
        if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
                return err_set(-EPERM, "process.cwd: '%s' is outside the container's root", p->cwd);
        return 0;
}

int process_load_seccomp(const struct process_exec *x)
{
        int listener = -EBADF, r;
        struct sync_msg m;

        if (x->proc->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return err_set(negative_errno(), "process.noNewPrivileges: %m");
        r = seccomp_prog_load(x->seccomp, &listener);
        if (r < 0)
                return err_set(r, "linux.seccomp: cannot load the filter: %s", strerror(-r));
        if (listener >= 0) {
                r = sync_send(x->sync_fd, SYNC_SECCOMP_FD, 0, NULL, listener);
                safe_close(listener);
                if (r < 0)
                        return r;
                r = sync_expect(x->sync_fd, SYNC_SECCOMP_DONE, &m);
                if (r < 0)
                        return r;
        }
        return 0;
}

int process_exec(const struct process_exec *x)
{
        const struct oci_process *p = x->proc;
        struct oci_capabilities none = {};
        const struct oci_capabilities *caps = p->has_capabilities ? &p->capabilities : &none;
        bool seccomp_early = x->seccomp && !x->seccomp_loaded && !p->no_new_privileges;
        int r;

        if (seccomp_early) {
                r = process_load_seccomp(x);
                if (r < 0)
                        return r;
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return negative_errno();
        r = caps_drop_bounding(caps->bounding);
        if (r < 0)
                return err_set(r, "process.capabilities.bounding: cannot drop: %s", strerror(-r));
        if (p->user.n_additional_gids > 0 || !x->in_userns) {
                if (setgroups(p->user.n_additional_gids, p->user.additional_gids) < 0 &&
                    !(x->in_userns && errno == EPERM))
                        return err_set(negative_errno(), "process.user.additionalGids: %m");
        }
        if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
                return err_set(negative_errno(), "process.user.gid: cannot set %u: %m", p->user.gid);
        if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
                return err_set(negative_errno(), "process.user.uid: cannot set %u: %m", p->user.uid);
        r = caps_set(caps);
        if (r < 0)
                return err_set(r, "process.capabilities: cannot set: %s", strerror(-r));
        if (p->no_new_privileges && !seccomp_early && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return err_set(negative_errno(), "process.noNewPrivileges: %m");
        r = lsm_set_exec_label(p->apparmor_profile, p->selinux_label);
        if (r < 0)
                return r;
        if (x->seccomp && !x->seccomp_loaded && !seccomp_early) {
                r = process_load_seccomp(x);
                if (r < 0)
                        return r;
        }

        /*
         * CVE-2024-21626: no runtime fd may reach the workload. Everything above stdio and the
         * preserved fds becomes close-on-exec (the stub fd itself is already, and execveat
         * of a close-on-exec fd works for ELF binaries).
         */
        {
                unsigned first = 3 + (unsigned)x->preserve_fds;
                if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                        return negative_errno();
        }

        size_t n = strv_length(p->args);
        /* argv for the stub: magic, path, then the program's argv (this process is single-threaded). */
        _cleanup_free_ char **argv = calloc(n + 3, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        argv[0] = (char *)STUB_MAGIC;
        argv[1] = x->exe;
        for (size_t i = 0; i < n; i++)
                argv[2 + i] = p->args[i];
        argv[n + 2] = NULL;
        syscall(SYS_execveat, x->stub_fd, "", argv, x->env, AT_EMPTY_PATH);
        return err_set(negative_errno(), "exec: cannot start '%s': %m", x->exe);
}
