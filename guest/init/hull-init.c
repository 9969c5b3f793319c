/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-init.c - hull's guest init for full VMs: the /init of the small initramfs that hull
 * boots VMs made from container images with (src/engine/vm-boot.c writes that initramfs).
 *
 * As PID 1 of the initramfs it mounts /proc, /sys and devtmpfs, loads the kernel modules
 * listed in /lib/modules/order (virtio-blk is a module in Debian's cloud kernel), waits for
 * the root disk (vda) and the config disk (vdb), reads the first-boot configuration
 * (src/engine/vmconf.h), mounts the root disk and moves into it (MS_MOVE of the root, then
 * chroot: the initramfs stays in memory, a few MiB). In the new root it mounts devpts,
 * /dev/shm, /run and a cgroup2 hierarchy (so that a container engine inside works), applies
 * the configuration (host name, root's authorized keys, eth0's address, resolv.conf, data
 * disks, the user-data script once per root disk), prints the marker `HULL-VM-INIT-OK`, then
 * either execs /sbin/init (no command configured) or runs the command as the VM's main
 * process with the console as its stdio. When that process ends it prints
 * `HULL-VM-EXIT=<status>` (the host's monitor reads it as the VM's exit code), stops what is
 * left and powers the machine off (ACPI S5).
 *
 * It also serves `hull vm exec` (exec.c, protocol in docs/vm.md) on the second serial port
 * (QEMU) and on vsock port 1024 (hull-vmm), and turns the ACPI power button (KEY_POWER on an
 * evdev device: `hull vm stop`) into SIGTERM for the main process, then SIGKILL after 10 s.
 *
 * Linked statically against libc: it runs before any root file system is mounted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hull-init.h"
#include "util.h"

#define STOP_GRACE_MS 10000

void init_log(const char *fmt, ...)
{
        va_list ap;
        fputs("hull-init: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mount_or_warn(const char *src, const char *dst, const char *type, unsigned long flags,
                          const char *data)
{
        mkdir(dst, 0755);
        if (mount(src, dst, type, flags, data) < 0)
                init_log("cannot mount %s on %s: %m", type, dst);
}

static void load_modules(void)
{
        _cleanup_fclose_ FILE *f = fopen("/lib/modules/order", "re");
        char name[256], path[300];

        if (!f)
                return;
        while (fgets(name, sizeof(name), f)) {
                name[strcspn(name, "\n")] = 0;
                if (!name[0])
                        continue;
                snprintf(path, sizeof(path), "/lib/modules/%s.ko", name);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                /* EEXIST: built into this kernel, or already loaded. */
                if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
                        init_log("cannot load module %s: %m", name);
        }
}

/* Block devices appear once virtio-blk has probed, after the module load returned. */
static int wait_for(const char *path, int ms)
{
        for (int64_t end = mono_ms() + ms; access(path, F_OK) < 0; usleep(10000))
                if (mono_ms() > end)
                        return -ETIMEDOUT;
        return 0;
}

static int read_config(struct vmconf *c)
{
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        if (wait_for("/dev/vdb", 10000) < 0)
                return -ENODEV;
        r = read_full_file("/dev/vdb", VMCONF_MAX, &buf, &n);
        if (r < 0)
                return r;
        return vmconf_parse(buf, n, c);
}

static int switch_root(const char *fstype)
{
        static const char *const moves[] = {"/dev", "/proc", "/sys"};
        char target[64];
        bool ro = streq(fstype, "erofs");

        if (wait_for("/dev/vda", 10000) < 0) {
                init_log("no root disk (/dev/vda)");
                return -ENODEV;
        }
        mkdir("/newroot", 0755);
        if (mount("/dev/vda", "/newroot", fstype, ro ? MS_RDONLY : 0, NULL) < 0) {
                init_log("cannot mount the root disk (%s): %m", fstype);
                return -errno;
        }
        for (size_t i = 0; i < ELEMENTSOF(moves); i++) {
                snprintf(target, sizeof(target), "/newroot%s", moves[i]);
                mkdir(target, 0755);
                if (mount(moves[i], target, NULL, MS_MOVE, NULL) < 0)
                        init_log("cannot move %s: %m", moves[i]);
        }
        if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
            chdir("/") < 0) {
                init_log("cannot switch to the root disk: %m");
                return -errno;
        }
        return 0;
}

static void write_file(const char *path, const char *s, mode_t mode)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 || write_all(fd, s, strlen(s)) < 0)
                init_log("cannot write %s: %m", path);
}

static void apply_config(const struct vmconf *c)
{
        if (c->hostname) {
                if (sethostname(c->hostname, strlen(c->hostname)) < 0)
                        init_log("cannot set the host name: %m");
                _cleanup_free_ char *line = strdup_printf("%s\n", c->hostname);
                if (line)
                        write_file("/etc/hostname", line, 0644);
        }
        if (c->ssh_keys) {
                _cleanup_free_ char *keys = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&keys, &n);
                if (f) {
                        STRV_FOREACH (k, c->ssh_keys)
                                fprintf(f, "%s\n", *k);
                        fclose(f);
                        mkdir("/root", 0700);
                        mkdir("/root/.ssh", 0700);
                        if (keys)
                                write_file("/root/.ssh/authorized_keys", keys, 0600);
                }
        }
        net_setup(c);
        STRV_FOREACH (m, c->mounts) {
                _cleanup_free_ char *dev = strdup(*m);
                char *path = dev ? strchr(dev, ' ') : NULL;
                if (!path)
                        continue;
                *path++ = 0;
                wait_for(dev, 5000);
                mkdir_p(path, 0755);
                if (mount(dev, path, "ext4", 0, NULL) < 0)
                        init_log("cannot mount %s on %s: %m", dev, path);
        }
}

/* The user-data script runs once per root disk: a marker on that disk says it ran. */
static void run_user_data(const struct vmconf *c)
{
        static const char marker[] = "/var/lib/hull-init/user-data.done";
        int status;
        pid_t pid;

        if (!c->user_data || access(marker, F_OK) == 0)
                return;
        mkdir_p("/run/hull", 0700);
        write_file("/run/hull/user-data", c->user_data, 0700);
        pid = fork();
        if (pid == 0) {
                execl("/bin/sh", "sh", "/run/hull/user-data", (char *)NULL);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return;
        init_log("user-data exited with %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        mkdir_p("/var/lib/hull-init", 0755);
        write_file(marker, "", 0644);
}

static pid_t start_main(const struct vmconf *c)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        setsid();
        (void)!ioctl_ctty(0);
        init_exec_process(c->argv, c->env, c->workdir, c->user, -EBADF);
        int e = errno;
        init_log("cannot execute '%s': %s", c->argv[0], strerror(e));
        /* As a container's: 127 when the program is not there, 126 when it cannot run. */
        _exit(e == ENOENT ? 127 : 126);
}

/* Open every evdev device that can report KEY_POWER (the ACPI power button). */
static int open_power_buttons(int *fds, int max)
{
        _cleanup_(closedirp) DIR *d = opendir("/dev/input");
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d)) && n < max) {
                unsigned long keys[KEY_MAX / (8 * sizeof(long)) + 1] = {};
                char path[300];
                if (strncmp(de->d_name, "event", 5) != 0)
                        continue;
                snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
                int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0 ||
                    !(keys[KEY_POWER / (8 * sizeof(long))] & (1UL << (KEY_POWER % (8 * sizeof(long)))))) {
                        close(fd);
                        continue;
                }
                fds[n++] = fd;
        }
        return n;
}

static _noreturn_ void power_off(int status)
{
        printf("HULL-VM-EXIT=%d\n", status);
        fflush(stdout);
        kill(-1, SIGTERM);
        usleep(200000);
        kill(-1, SIGKILL);
        sync();
        reboot(RB_POWER_OFF);
        for (;;)
                pause();
}

int main(int argc, char **argv)
{
        struct vmconf c = {};
        int buttons[8], n_buttons, sfd, r;
        int64_t kill_at = 0;
        sigset_t mask;
        pid_t main_pid;

        if (getpid() != 1) {
                init_log("must run as the kernel's init (pid 1)");
                return 1;
        }
        mount_or_warn("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_or_warn("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_or_warn("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
        console_setup();
        load_modules();
        r = read_config(&c);
        if (r < 0) {
                init_log("cannot read the config disk: %s", strerror(-r));
                power_off(125);
        }
        if (switch_root(c.root_fstype ?: "ext4") < 0)
                power_off(125);
        mount_or_warn("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                      "newinstance,ptmxmode=0666,mode=0620");
        mount_or_warn("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
        mount_or_warn("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
        mount_or_warn("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        apply_config(&c);
        run_user_data(&c);
        printf("HULL-VM-INIT-OK\n");
        fflush(stdout);
        if (!c.argv) {
                /* The exec servers stay, as children of the image's own init. */
                exec_servers_start();
                execl("/sbin/init", "/sbin/init", (char *)NULL);
                init_log("cannot execute /sbin/init: %m");
                power_off(127);
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        main_pid = start_main(&c);
        if (main_pid < 0)
                power_off(126);
        exec_servers_start();
        n_buttons = open_power_buttons(buttons, ELEMENTSOF(buttons));

        for (;;) {
                struct pollfd p[ELEMENTSOF(buttons) + 1] = {{.fd = sfd, .events = POLLIN}};
                int timeout = -1, status;
                pid_t pid;

                for (int i = 0; i < n_buttons; i++)
                        p[i + 1] = (struct pollfd){.fd = buttons[i], .events = POLLIN};
                if (kill_at)
                        timeout = (int)MAX(0, kill_at - mono_ms());
                if (poll(p, (nfds_t)n_buttons + 1, timeout) < 0 && errno != EINTR)
                        break;
                if (kill_at && mono_ms() >= kill_at) {
                        kill(main_pid, SIGKILL);
                        kill_at = 0;
                }
                for (int i = 0; i < n_buttons; i++) {
                        struct input_event ev;
                        while (read(buttons[i], &ev, sizeof(ev)) == sizeof(ev))
                                if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1 && !kill_at) {
                                        kill(main_pid, SIGTERM);
                                        kill_at = mono_ms() + STOP_GRACE_MS;
                                }
                }
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                        if (si.ssi_signo != SIGCHLD && !kill_at) {
                                kill(main_pid, SIGTERM);
                                kill_at = mono_ms() + STOP_GRACE_MS;
                        }
                while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                        if (pid == main_pid)
                                power_off(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
        power_off(125);
}
