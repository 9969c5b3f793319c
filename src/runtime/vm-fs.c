/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-fs.c - directories shared live with a VM-isolated container's guest through virtio-fs
 * (virtio 1.2 §5.11: FUSE requests over virtqueues), served on the host by virtiofsd over
 * vhost-user (QEMU's docs/interop/vhost-user.rst). docs/agent.md, "Shared directories".
 *
 * Each directory bind mount of config.json (volumes, -v DIR:DST) becomes one share: a tag
 * (hullfs0, hullfs1...) the guest mounts with `mount -t virtiofs TAG DEST`, one virtiofsd and
 * its vhost-user socket fs-N.sock in the state directory. Without virtiofsd (Debian's
 * qemu-system-common, or $HULL_VIRTIOFSD) the runtime keeps the ext4 copy in and out
 * (vm-disk.c): nothing regresses on a host that lacks it.
 *
 * Ownership and lifetime: the shim (vm-shim.c) listens on each socket itself and hands the
 * listening fd to its virtiofsd (--fd), before it starts the VMM, so that the VMM's connect
 * never races the daemon's bind. Each virtiofsd is the shim's child with PR_SET_PDEATHSIG, so a
 * SIGKILL of the shim takes it along; it exits by itself when the VMM closes the vhost-user
 * connection (the VMM ended, kill -9 included), and the shim reaps it, or kills it after a grace
 * period, before it exits itself.
 *
 * Read-only shares: a `ro` in the guest is no boundary (the guest is not trusted), so the
 * daemon of a read-only share runs in a mount namespace of its own where the directory is a
 * read-only bind mount of itself: virtiofsd's writes fail with EROFS whatever the guest asks.
 * Mounts below the directory keep their own flags (the remount is not recursive).
 *
 * Ownership of files: virtiofsd runs as root and takes the credentials of each FUSE request
 * (setresuid/setresgid per thread), so files the guest creates belong to the guest process's
 * uid and gid, as in an ordinary container.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "util.h"
#include "vm-isolation.h"

#define VIRTIOFSD_DEBIAN "/usr/lib/qemu/virtiofsd"

const char *vmiso_fs_daemon(void)
{
        const char *v = getenv("HULL_VIRTIOFSD");

        if (v)
                return *v && access(v, X_OK) == 0 ? v : NULL;
        return access(VIRTIOFSD_DEBIAN, X_OK) == 0 ? VIRTIOFSD_DEBIAN : NULL;
}

int vmiso_fs_plan(struct agent_buf *frame, struct vmiso_share *sh, size_t index, const char *source,
                  const char *destination, bool readonly)
{
        const char *parts[4];

        *sh = (struct vmiso_share){.readonly = readonly};
        snprintf(sh->tag, sizeof(sh->tag), "hullfs%zu", index);
        snprintf(sh->socket, sizeof(sh->socket), "fs-%zu.sock", index);
        sh->source = strdup(source);
        if (!sh->source)
                return -ENOMEM;
        parts[0] = sh->tag;
        parts[1] = destination;
        parts[2] = "virtiofs";
        parts[3] = readonly ? "ro" : "";
        return agent_buf_field_parts(frame, AGENT_C_MOUNT, parts, 4);
}

void vmiso_fs_free(struct vmiso_share *shares, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(shares[i].source);
}

int vmiso_fs_vmm_args(char ***argv, bool hull_vmm, const struct vmiso_share *shares, size_t n)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *a = NULL, *b = NULL;
                if (hull_vmm) {
                        a = strdup("--fs");
                        b = strdup_printf("socket=%s,tag=%s", shares[i].socket, shares[i].tag);
                } else {
                        a = strdup_printf("socket,id=fs%zu,path=%s", i, shares[i].socket);
                        b = strdup_printf("vhost-user-fs-pci,chardev=fs%zu,tag=%s", i, shares[i].tag);
                }
                if (!a || !b)
                        return -ENOMEM;
                if (!hull_vmm)
                        r = strv_extend(argv, "-chardev");
                if (r >= 0)
                        r = strv_push(argv, TAKE_PTR(a));
                if (r >= 0 && !hull_vmm)
                        r = strv_extend(argv, "-device");
                if (r >= 0)
                        r = strv_push(argv, TAKE_PTR(b));
        }
        return r;
}

/* A listening socket at name in the current directory (the shim runs in the state directory). */
static int listen_here(const char *name)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
        unlink(name);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/*
 * Is "/" the initramfs (mountinfo type "rootfs")? pivot_root(2) refuses it (EINVAL), so
 * virtiofsd's default sandbox, which pivots into the shared directory, cannot start there:
 * hosts that run from an initramfs (the nested test host) get its chroot sandbox instead.
 */
static bool root_is_initramfs(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        while (f && fgets(line, sizeof(line), f)) {
                char mnt[16];
                const char *sep = strstr(line, " - ");
                if (sscanf(line, "%*s %*s %*s %*s %15s", mnt) == 1 && streq(mnt, "/") && sep &&
                    startswith(sep + 3, "rootfs "))
                        return true;
        }
        return false;
}

/* The child: a read-only view of the source when asked, then virtiofsd on the listening fd. */
static _noreturn_ void exec_daemon(const char *daemon, const struct vmiso_share *sh, size_t index, int fd)
{
        char fdarg[32], src[PATH_MAX + 16], log[32];
        sigset_t none;
        int out;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        snprintf(log, sizeof(log), "fs-%zu.log", index);
        out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0 || dup2(out, 2) < 0 || dup2(out, 1) < 0)
                _exit(125);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0)
                _exit(125);
        if (sh->readonly) {
                /* MS_SLAVE first: the read-only bind must not propagate back to the host's namespace. */
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
                    mount(sh->source, sh->source, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, sh->source, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
                        dprintf(2, "hull: cannot make '%s' read-only for virtiofsd: %m\n", sh->source);
                        _exit(125);
                }
        }
        if (fcntl(fd, F_SETFD, 0) < 0)
                _exit(125);
        snprintf(fdarg, sizeof(fdarg), "--fd=%d", fd);
        snprintf(src, sizeof(src), "source=%s", sh->source);
        /*
         * --rlimit-nofile=0: virtiofsd raises RLIMIT_NOFILE to 1000000 by default, which fails
         * (and ends it) where the hard limit is lower and CAP_SYS_RESOURCE is gone (MACHINE.md).
         * cache=auto: the guest revalidates on open and after a second, so writes of the host
         * and of other containers show up while the guest runs.
         */
        execl(daemon, daemon, fdarg, "-o", src, "-o", "cache=auto", "-o", "log_level=warn",
              "--rlimit-nofile=0", "-o", root_is_initramfs() ? "sandbox=chroot" : "sandbox=namespace",
              (char *)NULL);
        dprintf(2, "hull: cannot execute '%s': %m\n", daemon);
        _exit(127);
}

int vmiso_fs_start(struct vmiso_share *shares, size_t n)
{
        const char *daemon = n ? vmiso_fs_daemon() : NULL;

        if (n && !daemon)
                return err_set(-ENOENT, "virtiofsd is gone (set $HULL_VIRTIOFSD)");
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int fd = listen_here(shares[i].socket);
                pid_t pid;

                if (fd < 0)
                        return err_set(fd, "cannot listen on '%s': %s", shares[i].socket, strerror(-fd));
                pid = fork();
                if (pid < 0)
                        return err_set(negative_errno(), "cannot start virtiofsd: %m");
                if (pid == 0)
                        exec_daemon(daemon, &shares[i], i, fd);
                shares[i].pid = pid;
                log_debug("vm isolation: virtiofsd %d serves '%s' as %s", pid, shares[i].source,
                          shares[i].tag);
        }
        return 0;
}

bool vmiso_fs_failure(struct vmiso_share *shares, size_t n, char *buf, size_t size)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *all = NULL;
                char log[32];
                size_t len = 0;

                if (shares[i].pid <= 0 || waitpid(shares[i].pid, NULL, WNOHANG) != shares[i].pid)
                        continue;
                shares[i].pid = 0;
                snprintf(log, sizeof(log), "fs-%zu.log", i);
                (void)read_full_file(log, 1 << 16, &all, &len);
                while (len && all[len - 1] == '\n')
                        all[--len] = 0;
                const char *last = all ? (strrchr(all, '\n') ? strrchr(all, '\n') + 1 : all) : "";
                snprintf(buf, size, "virtiofsd for '%s' ended%s%s", shares[i].source, *last ? ": " : "",
                         last);
                return true;
        }
        return false;
}


void vmiso_fs_stop(struct vmiso_share *shares, size_t n, int grace_ms)
{
        long end = now_ms() + grace_ms;

        for (size_t i = 0; i < n; i++) {
                if (shares[i].pid <= 0)
                        continue;
                /* The VMM is gone, so is the vhost-user connection: virtiofsd ends on its own. */
                while (waitpid(shares[i].pid, NULL, WNOHANG) == 0) {
                        if (now_ms() >= end) {
                                kill(shares[i].pid, SIGKILL);
                                waitpid(shares[i].pid, NULL, 0);
                                break;
                        }
                        poll(NULL, 0, 10);
                }
                shares[i].pid = 0;
        }
}
