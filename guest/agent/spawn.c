/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spawn.c - CREATE (clock and seed, the container's root, mounts, files, hostname) and EXEC (a
 * process in it) of docs/agent.md.
 *
 * The container's root is a disk of the VM mounted on /ctr; processes are chrooted
 * there. chroot, not pivot_root: the VM is the isolation boundary and the agent must
 * keep its own root for later EXECs and for the power-off. /dev of the container is
 * the guest's devtmpfs and devpts (the devices of this VM only).
 *
 * Errors are sent to the host as ERROR frames here, with the step and the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent-proto.h"
#include "agent.h"

#define MAX_PARTS   8
#define MAX_ARGS    4096
#define MAX_GROUPS  64
#define MAX_RLIMITS 16

static int mkdir_parents(char *path, bool last)
{
        for (char *s = path + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                int r = mkdir(path, 0755);
                *s = '/';
                if (r < 0 && errno != EEXIST)
                        return -errno;
        }
        if (last && mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

struct flag_name {
        const char *name;
        unsigned long set, clear;
};

static const struct flag_name mount_flags[] = {
        {"ro", MS_RDONLY, 0},
        {"rw", 0, MS_RDONLY},
        {"nosuid", MS_NOSUID, 0},
        {"suid", 0, MS_NOSUID},
        {"nodev", MS_NODEV, 0},
        {"dev", 0, MS_NODEV},
        {"noexec", MS_NOEXEC, 0},
        {"exec", 0, MS_NOEXEC},
        {"relatime", MS_RELATIME, 0},
        {"noatime", MS_NOATIME, 0},
        {"strictatime", MS_STRICTATIME, 0},
        {"sync", MS_SYNCHRONOUS, 0},
        {"nodiratime", MS_NODIRATIME, 0},
};

/* Split "ro,nosuid,size=64k" into flags and the data string the file system reads. */
static unsigned long parse_options(const char *opts, char *data, size_t size)
{
        unsigned long flags = 0;
        char buf[1024];
        size_t dl = 0;

        data[0] = 0;
        snprintf(buf, sizeof(buf), "%s", opts);
        for (char *save = NULL, *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                bool known = false;
                for (size_t i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++)
                        if (strcmp(o, mount_flags[i].name) == 0) {
                                flags = (flags | mount_flags[i].set) & ~mount_flags[i].clear;
                                known = true;
                        }
                /* Propagation and bind flags mean nothing for a file system of the guest. */
                if (known || strstr(o, "shared") || strstr(o, "private") || strstr(o, "slave") ||
                    strstr(o, "bind"))
                        continue;
                int n = snprintf(data + dl, size - dl, "%s%s", dl ? "," : "", o);
                if (n > 0 && (size_t)n < size - dl)
                        dl += (size_t)n;
        }
        return flags;
}

/* Disks mounted by CREATE, in mount order, for agent_quiesce_disks(). */
#define MAX_DISK_MOUNTS 32
static char *disk_mounts[MAX_DISK_MOUNTS];
static size_t n_disk_mounts;

void agent_quiesce_disks(void)
{
        for (size_t i = n_disk_mounts; i > 0; i--)
                if (mount(NULL, disk_mounts[i - 1], NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
                        agent_log("cannot remount '%s' read-only: %s", disk_mounts[i - 1], strerror(errno));
}

static int mount_one(const char *root, const char *src, const char *dst, const char *type, const char *opts)
{
        char target[4096], dev[256], data[1024];
        unsigned long flags = parse_options(opts, data, sizeof(data));
        const char *source = src;
        int r;

        snprintf(target, sizeof(target), "%s%s", root, dst);
        r = mkdir_parents(target, true);
        if (r < 0)
                return agent_send_error(0, -r, "cannot create mount point '%s': %s", dst, strerror(-r)), r;
        /* A disk of the VM: "vdb" is /dev/vdb. */
        if (strncmp(src, "vd", 2) == 0 && !strchr(src, '/')) {
                snprintf(dev, sizeof(dev), "/dev/%s", src);
                if (agent_wait_path(dev) < 0)
                        return agent_send_error(0, ENOENT, "disk '%s' for '%s' did not appear", dev, dst),
                               -ENOENT;
                r = agent_disk_ready(dev);
                if (r < 0)
                        return agent_send_error(0, -r, "disk '%s' for '%s' is not ready: %s", dev, dst,
                                                r == -ENOSPC ? "it has no capacity" : strerror(-r)),
                               r;
                agent_stamp("disk ready");
                source = dev;
                /*
                 * hull's ext4 disks are made with lazy_itable_init (vm-disk.c): without this, a rw
                 * mount starts ext4lazyinit, which zeroes every inode table in the background, on the
                 * VM's one vCPU and into the root disk's overlay. Unused inode tables are flagged
                 * uninitialized, so leaving them is safe (ext4(5), noinit_itable). The same thread
                 * would also read every group's block bitmap ahead of the allocator (Linux 5.9 on)
                 * while the container's process starts; the allocator reads the ones it needs.
                 */
                if (strcmp(type, "ext4") == 0) {
                        size_t dl = strlen(data);
                        snprintf(data + dl, sizeof(data) - dl, "%snoinit_itable,no_prefetch_block_bitmaps",
                                 dl ? "," : "");
                }
        }
        if (strcmp(type, "virtiofs") == 0)
                r = agent_fs_mount(src, target, flags, data[0] ? data : NULL);
        else
                r = mount(source, target, type, flags, data[0] ? data : NULL) < 0 ? -errno : 0;
        if (r < 0) {
                agent_send_error(0, -r, "cannot mount %s '%s' on '%s': %s", type, src, dst, strerror(-r));
                return r;
        }
        /*
         * mke2fs -d makes lost+found; a container's disk shows what the container had, no more.
         * hull-runtime removes it where it makes the image (vm-disk.c); a disk made elsewhere
         * (an engine's kept disk from before that) still has one.
         */
        if (source == dev) {
                agent_stamp("disk mounted");
                char lf[4096 + 16];
                snprintf(lf, sizeof(lf), "%s/lost+found", target);
                rmdir(lf);
                if (n_disk_mounts < MAX_DISK_MOUNTS)
                        disk_mounts[n_disk_mounts++] = strdup(target);
        }
        return 0;
}

static int write_file(const char *root, const char *path, const char *mode, const char *content, size_t len)
{
        char target[4096];
        int fd, r;

        snprintf(target, sizeof(target), "%s%s", root, path);
        mkdir_parents(target, false);
        /* Replace a symlink (Debian's /etc/resolv.conf may be one) instead of writing through it. */
        unlink(target);
        fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                  (mode_t)strtoul(mode, NULL, 8));
        if (fd < 0) {
                r = -errno;
                return agent_send_error(0, -r, "cannot write '%s': %s", path, strerror(-r)), r;
        }
        while (len) {
                ssize_t k = write(fd, content, len);
                if (k <= 0) {
                        r = k < 0 ? -errno : -EIO;
                        close(fd);
                        return agent_send_error(0, -r, "cannot write '%s': %s", path, strerror(-r)), r;
                }
                content += k;
                len -= (size_t)k;
        }
        close(fd);
        return 0;
}

/* The container's /dev: the guest's devices, its devpts and a fresh /dev/shm. */
static void setup_dev(const char *root)
{
        char p[4096];

        snprintf(p, sizeof(p), "%s/dev", root);
        mkdir(p, 0755);
        mount("devtmpfs", p, "devtmpfs", MS_NOSUID, "mode=0755");
        snprintf(p, sizeof(p), "%s/dev/pts", root);
        mkdir(p, 0755);
        mount("/dev/pts", p, NULL, MS_BIND, NULL);
        snprintf(p, sizeof(p), "%s/dev/shm", root);
        mkdir(p, 01777);
        mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

int agent_create(const uint8_t *payload, size_t len, const char *root)
{
        struct agent_field_iter it = {payload, len};
        const uint8_t *val;
        uint32_t vlen;
        uint16_t tag;
        bool have_root = false, root_ro = false;
        int r;

        /*
         * The clock and the random state first, whatever the order of the fields: a guest restored
         * from a template must not mount, name or write anything with its template's (fresh.c).
         */
        while ((r = agent_field_next(&it, &tag, &val, &vlen)) > 0) {
                if (tag == AGENT_C_SEED && (r = agent_reseed(val, vlen)) < 0)
                        return r;
                if (tag == AGENT_C_CLOCK && (r = agent_set_clock(val, vlen)) < 0)
                        return r;
        }
        it = (struct agent_field_iter){payload, len};
        while ((r = agent_field_next(&it, &tag, &val, &vlen)) > 0) {
                static char buf[AGENT_MAX_FROM_HOST + 1];
                char *parts[MAX_PARTS];
                int n = agent_field_split(val, vlen, buf, sizeof(buf), parts,
                                          tag == AGENT_C_FILE ? 3 : MAX_PARTS);

                if (n < 0)
                        return agent_send_error(0, EINVAL, "CREATE: malformed field %u", tag), -EINVAL;
                switch (tag) {
                case AGENT_C_ROOT: {
                        char dev[256];
                        if (n < 2)
                                return agent_send_error(0, EINVAL, "CREATE: ROOT needs device and type"),
                                       -EINVAL;
                        snprintf(dev, sizeof(dev), "/dev/%s", parts[0]);
                        if (agent_wait_path(dev) < 0)
                                return agent_send_error(0, ENOENT, "root disk '%s' did not appear", dev),
                                       -ENOENT;
                        mkdir(root, 0755);
                        /*
                         * A read-only root is mounted writable until the mount points and files of
                         * CREATE are in place (as runc does before it remounts the root read-only).
                         */
                        root_ro = n > 2 && strcmp(parts[2], "ro") == 0;
                        r = mount_one("", parts[0], root, parts[1], n > 2 && !root_ro ? parts[2] : "");
                        if (r < 0)
                                return r;
                        setup_dev(root);
                        agent_stamp("root's /dev set up");
                        have_root = true;
                        break;
                }
                case AGENT_C_MOUNT:
                        if (n < 3 || !have_root)
                                return agent_send_error(0, EINVAL, "CREATE: MOUNT needs a root and 3 parts"),
                                       -EINVAL;
                        r = mount_one(root, parts[0], parts[1], parts[2], n > 3 ? parts[3] : "");
                        if (r < 0)
                                return r;
                        break;
                case AGENT_C_FILE: {
                        if (n < 3 || !have_root)
                                return agent_send_error(0, EINVAL, "CREATE: FILE needs a root and 3 parts"),
                                       -EINVAL;
                        size_t clen = vlen - (size_t)(parts[2] - buf);
                        r = write_file(root, parts[0], parts[1], parts[2], clen);
                        if (r < 0)
                                return r;
                        break;
                }
                case AGENT_C_NET:
                        if (n < 3)
                                return agent_send_error(0, EINVAL, "CREATE: NET needs name, MAC and MTU"),
                                       -EINVAL;
                        r = agent_net_link(parts[0], parts[1], parts[2]);
                        if (r < 0)
                                return r;
                        break;
                case AGENT_C_ADDR:
                        if (n < 2)
                                return agent_send_error(0, EINVAL, "CREATE: ADDR needs name and address"),
                                       -EINVAL;
                        r = agent_net_addr(parts[0], parts[1]);
                        if (r < 0)
                                return r;
                        break;
                case AGENT_C_ROUTE:
                        if (n < 3)
                                return agent_send_error(0, EINVAL,
                                                        "CREATE: ROUTE needs name, destination and gateway"),
                                       -EINVAL;
                        r = agent_net_route(parts[0], parts[1], parts[2]);
                        if (r < 0)
                                return r;
                        break;
                case AGENT_C_HOSTNAME:
                        if (sethostname(parts[0], strlen(parts[0])) < 0)
                                return agent_send_error(0, errno, "cannot set hostname '%s': %s", parts[0],
                                                        strerror(errno)),
                                       -errno;
                        break;
                case AGENT_C_CLOCK:
                case AGENT_C_SEED:
                        break;
                default:
                        return agent_send_error(0, EINVAL, "CREATE: unknown field %u", tag), -EINVAL;
                }
        }
        if (r < 0)
                return agent_send_error(0, EINVAL, "CREATE: truncated field"), -EINVAL;
        if (!have_root)
                return agent_send_error(0, EINVAL, "CREATE: no ROOT"), -EINVAL;
        if (root_ro && mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
                int e = errno;
                return agent_send_error(0, e, "cannot make the root read-only: %s", strerror(e)), -e;
        }
        return 0;
}

/* ------------------------------------------------------------------ EXEC */

struct spec {
        char *argv[MAX_ARGS + 1];
        size_t argc;
        char *envp[MAX_ARGS + 1];
        size_t envc;
        char *cwd;
        uid_t uid;
        gid_t gid;
        gid_t groups[MAX_GROUPS];
        size_t n_groups;
        bool terminal;
        struct {
                int resource;
                struct rlimit lim;
        } rlimits[MAX_RLIMITS];
        size_t n_rlimits;
        unsigned short rows, cols;
};

static void spec_free(struct spec *s)
{
        for (size_t i = 0; i < s->argc; i++)
                free(s->argv[i]);
        for (size_t i = 0; i < s->envc; i++)
                free(s->envp[i]);
        free(s->cwd);
}

static int spec_parse(struct spec *s, const uint8_t *payload, size_t len)
{
        struct agent_field_iter it = {payload, len};
        const uint8_t *val;
        uint32_t vlen;
        uint16_t tag;
        int r;

        while ((r = agent_field_next(&it, &tag, &val, &vlen)) > 0) {
                char *v = strndup((const char *)val, vlen);
                unsigned long long a, b, c;
                if (!v)
                        return -ENOMEM;
                switch (tag) {
                case AGENT_E_ARG:
                        if (s->argc == MAX_ARGS)
                                goto bad;
                        s->argv[s->argc++] = v;
                        continue;
                case AGENT_E_ENV:
                        if (s->envc == MAX_ARGS)
                                goto bad;
                        s->envp[s->envc++] = v;
                        continue;
                case AGENT_E_CWD:
                        free(s->cwd);
                        s->cwd = v;
                        continue;
                case AGENT_E_USER:
                        if (sscanf(v, "%llu:%llu", &a, &b) != 2)
                                goto bad;
                        s->uid = (uid_t)a;
                        s->gid = (gid_t)b;
                        break;
                case AGENT_E_GROUP:
                        if (s->n_groups == MAX_GROUPS || sscanf(v, "%llu", &a) != 1)
                                goto bad;
                        s->groups[s->n_groups++] = (gid_t)a;
                        break;
                case AGENT_E_TERMINAL:
                        s->terminal = true;
                        break;
                case AGENT_E_RLIMIT:
                        if (s->n_rlimits == MAX_RLIMITS || sscanf(v, "%llu:%llu:%llu", &a, &b, &c) != 3)
                                goto bad;
                        s->rlimits[s->n_rlimits].resource = (int)a;
                        s->rlimits[s->n_rlimits].lim = (struct rlimit){b, c};
                        s->n_rlimits++;
                        break;
                case AGENT_E_ROWS_COLS:
                        if (sscanf(v, "%llu:%llu", &a, &b) != 2)
                                goto bad;
                        s->rows = (unsigned short)a;
                        s->cols = (unsigned short)b;
                        break;
                default:
                        goto bad;
                }
                free(v);
                continue;
        bad:
                free(v);
                return -EINVAL;
        }
        return r < 0 || s->argc == 0 ? -EINVAL : 0;
}

struct child_error {
        int err;
        char step[64];
};

static _Noreturn void child_fail(int fd, int err, const char *step)
{
        struct child_error e = {.err = err};
        snprintf(e.step, sizeof(e.step), "%s", step);
        if (write(fd, &e, sizeof(e)) < 0)
                _exit(127);
        _exit(127);
}

static _Noreturn void child(const struct spec *s, const char *root, int in, int out, int err,
                            const char *pts, int errfd)
{
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        if (pts) {
                int fd = open(pts, O_RDWR);
                if (fd < 0)
                        child_fail(errfd, errno, "open the terminal");
                ioctl(fd, TIOCSCTTY, 0);
                in = out = err = fd;
        }
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                child_fail(errfd, errno, "set up stdio");
        if (strcmp(root, "/") != 0 && chroot(root) < 0)
                child_fail(errfd, errno, "chroot");
        /* A missing working directory is made, as runc and Docker do. */
        if (chdir(s->cwd ? s->cwd : "/") < 0) {
                char cwd[4096];
                snprintf(cwd, sizeof(cwd), "%s", s->cwd ? s->cwd : "/");
                if (errno != ENOENT || mkdir_parents(cwd, true) < 0 || chdir(cwd) < 0)
                        child_fail(errfd, errno, "change to the working directory");
        }
        for (size_t i = 0; i < s->n_rlimits; i++)
                if (setrlimit((__rlimit_resource_t)s->rlimits[i].resource, &s->rlimits[i].lim) < 0)
                        child_fail(errfd, errno, "set an rlimit");
        if (setgroups(s->n_groups, s->groups) < 0 || setgid(s->gid) < 0)
                child_fail(errfd, errno, "set the groups");
        if (setuid(s->uid) < 0)
                child_fail(errfd, errno, "set the user");
        /* execvp searches the PATH of environ, so environ is the container's first. */
        environ = (char **)s->envp;
        execvp(s->argv[0], (char **)s->argv);
        child_fail(errfd, errno, "execute");
}

/*
 * The child, through vfork(): the agent is suspended until the child execs (it waits for that
 * anyway, on the error pipe), and no page table is copied and then faulted back copy-on-write
 * (fork() cost 10 ms inside the nested test host). The child runs on the stack below this
 * frame, which is its own so that no caller's variable lives across vfork; of the agent's
 * memory it writes only environ, restored here. Returns the pid, or -1 with errno.
 */
static __attribute__((noinline)) pid_t vfork_child(const struct spec *s, const char *root, int in, int out,
                                                   int err, const char *pts, int errfd)
{
        char **agent_environ = environ;
        pid_t pid = vfork();

        if (pid == 0)
                child(s, root, in, out, err, pts, errfd);
        environ = agent_environ;
        return pid;
}

int agent_spawn_process(uint32_t id, const uint8_t *payload, size_t len, const char *root,
                        struct agent_spawned *ret)
{
        struct spec s = {};
        int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, ep[2] = {-1, -1}, master = -1;
        char pts[128] = "";
        struct child_error ce = {};
        pid_t pid;
        ssize_t k;
        int r;

        r = spec_parse(&s, payload, len);
        if (r < 0) {
                spec_free(&s);
                return agent_send_error(id, EINVAL, "EXEC: malformed process"), -EINVAL;
        }
        if (s.terminal) {
                master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
                    ptsname_r(master, pts, sizeof(pts)) != 0) {
                        r = -errno;
                        goto fail_setup;
                }
                if (s.rows && s.cols) {
                        struct winsize ws = {.ws_row = s.rows, .ws_col = s.cols};
                        ioctl(master, TIOCSWINSZ, &ws);
                }
        } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail_setup;
        }
        if (pipe2(ep, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail_setup;
        }
        pid = vfork_child(&s, root, in[0], out[1], err[1], s.terminal ? pts : NULL, ep[1]);
        if (pid < 0) {
                r = -errno;
                goto fail_setup;
        }
        close(ep[1]);
        if (!s.terminal) {
                close(in[0]);
                close(out[1]);
                close(err[1]);
        }
        do
                k = read(ep[0], &ce, sizeof(ce));
        while (k < 0 && errno == EINTR);
        close(ep[0]);
        if (k == (ssize_t)sizeof(ce)) {
                waitpid(pid, NULL, 0);
                ce.step[sizeof(ce.step) - 1] = 0;
                agent_send_error(id, ce.err, "cannot %s '%s': %s", ce.step,
                                 strcmp(ce.step, "execute") == 0 ? s.argv[0]
                                 : s.cwd                         ? s.cwd
                                                                 : "/",
                                 strerror(ce.err));
                spec_free(&s);
                if (master >= 0)
                        close(master);
                else {
                        close(in[1]);
                        close(out[0]);
                        close(err[0]);
                }
                return -ce.err;
        }
        spec_free(&s);
        if (master >= 0) {
                fcntl(master, F_SETFL, O_NONBLOCK);
                *ret = (struct agent_spawned){.pid = pid, .in_fd = master, .out_fd = master, .err_fd = -1};
        } else {
                fcntl(in[1], F_SETFL, O_NONBLOCK);
                fcntl(out[0], F_SETFL, O_NONBLOCK);
                fcntl(err[0], F_SETFL, O_NONBLOCK);
                *ret = (struct agent_spawned){
                        .pid = pid, .in_fd = in[1], .out_fd = out[0], .err_fd = err[0]};
        }
        return 0;

fail_setup:
        for (int i = 0; i < 2; i++) {
                if (in[i] >= 0)
                        close(in[i]);
                if (out[i] >= 0)
                        close(out[i]);
                if (err[i] >= 0)
                        close(err[i]);
                if (ep[i] >= 0)
                        close(ep[i]);
        }
        if (master >= 0)
                close(master);
        spec_free(&s);
        return agent_send_error(id, -r, "cannot start the process: %s", strerror(-r)), r;
}
