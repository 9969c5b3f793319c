/* SPDX-License-Identifier: Apache-2.0 */
/*
 * system.c - what hull-agent does as the guest's pid 1 before it serves the host:
 * the API file systems, the kernel modules, loopback, and the host transport
 * (docs/agent.md "Transports").
 *
 * Debian's cloud kernel builds virtio_pci, virtio_blk, virtio_console and vsock as
 * modules (docs/guest-assets.md), so they are loaded here, in the order of
 * /lib/modules/order that scripts/agent-initramfs wrote from `modinfo depends`; of the two
 * transports only the one hull.agent names (vsock.order or port.order: each module costs
 * tens of ms of the nested host's boot); the network modules, listed in
 * /lib/modules/net.order, only when CREATE brings a NIC (net.c).
 * Devices appear asynchronously after a driver loads: the transport and the root
 * disk are waited for, bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static void mount_api(const char *src, const char *dst, const char *type, unsigned long flags,
                      const char *data)
{
        mkdir(dst, 0755);
        if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
                agent_log("mount %s on %s: %s", type, dst, strerror(errno));
}

void agent_load_modules(const char *order)
{
        FILE *f = fopen(order, "re");
        char name[128];

        if (!f)
                return;
        while (fgets(name, sizeof(name), f)) {
                char path[256];
                int fd;

                name[strcspn(name, "\n")] = 0;
                if (!name[0])
                        continue;
                snprintf(path, sizeof(path), "/lib/modules/%s.ko", name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        agent_log("module %s: %s", name, strerror(errno));
                        continue;
                }
                /* EEXIST: built into this kernel or already loaded. */
                if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
                        agent_log("module %s: %s", name, strerror(errno));
                close(fd);
        }
        fclose(f);
}

static void loopback_up(void)
{
        struct ifreq ifr = {};
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP;
                ioctl(fd, SIOCSIFFLAGS, &ifr);
        }
        close(fd);
}

static char *cmdline_value(const char *name);

void agent_init_system(void)
{
        const char *spec;
        int fd;

        mount_api("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
        /* Output of the agent goes to the console, the VMM's serial port. */
        fd = open("/dev/console", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                dup2(fd, STDIN_FILENO);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                if (fd > STDERR_FILENO)
                        close(fd);
        }
        mount_api("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_api("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_api("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_api("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666");
        mount_api("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
        agent_load_modules("/lib/modules/order");
        /* hull.agent=off (the microVM alone of the benchmark) boots with vsock, as under hull-vmm. */
        spec = cmdline_value("hull.agent");
        agent_load_modules(spec && strncmp(spec, "port:", 5) == 0 ? "/lib/modules/port.order"
                                                                   : "/lib/modules/vsock.order");
        loopback_up();
}

static char *cmdline_value(const char *name)
{
        static char buf[4096];
        size_t nl = strlen(name);
        ssize_t k;
        int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return NULL;
        k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k <= 0)
                return NULL;
        buf[k] = 0;
        for (char *save = NULL, *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                if (strncmp(w, name, nl) != 0)
                        continue;
                if (w[nl] == '=')
                        return w + nl + 1;
                if (w[nl] == 0)
                        return w + nl;
        }
        return NULL;
}

bool agent_cmdline_is(const char *name, const char *value)
{
        const char *v = cmdline_value(name);
        return v && strcmp(v, value) == 0;
}

bool agent_cmdline_flag(const char *name)
{
        const char *v = cmdline_value(name);
        return v && (v[0] == 0 || strcmp(v, "1") == 0);
}

static long ms_since(const struct timespec *t0)
{
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void nap_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

static int connect_vsock(unsigned port)
{
        struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
        int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

        /*
         * The kernel gives a vsock connect 2 s (SO_VM_SOCKETS_CONNECT_TIMEOUT) by the guest's
         * clock. A guest restored from a template resumes inside this connect, and under load
         * the VMM's answer can come later than that: the guest would then reset the connection
         * the host has just accepted and start another, which no one accepts. The host answers
         * or refuses at once when it is there, so a long bound costs nothing.
         */
        struct timeval tv = {.tv_sec = 60};
        if (fd < 0)
                return -errno;
        (void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* The /dev node of the virtio-serial port called name, or -ENOENT. */
static int open_port(const char *name)
{
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *de;
        int r = -ENOENT;

        if (!d)
                return -ENOENT;
        while ((de = readdir(d))) {
                char path[512], got[128];
                ssize_t k;
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                k = read(fd, got, sizeof(got) - 1);
                close(fd);
                if (k <= 0)
                        continue;
                got[k] = 0;
                got[strcspn(got, "\n")] = 0;
                if (strcmp(got, name) != 0)
                        continue;
                snprintf(path, sizeof(path), "/dev/%s", de->d_name);
                r = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (r < 0)
                        r = -errno;
                break;
        }
        closedir(d);
        return r;
}

int agent_connect_host(const char *spec)
{
        struct timespec t0;
        bool waited = false;
        int r;

        if (!spec)
                spec = cmdline_value("hull.agent");
        if (!spec || !spec[0])
                spec = "vsock:1024";
        clock_gettime(CLOCK_MONOTONIC, &t0);
        /* The driver may still be probing its device: retry for 10 s. */
        for (;;) {
                if (strncmp(spec, "vsock:", 6) == 0)
                        r = connect_vsock((unsigned)strtoul(spec + 6, NULL, 10));
                else if (strncmp(spec, "port:", 5) == 0)
                        r = open_port(spec + 5);
                else
                        return -EINVAL;
                if (r >= 0 || ms_since(&t0) > 10000)
                        return r;
                if (!waited)
                        agent_stamp("host transport not there yet");
                waited = true;
                nap_ms(5);
        }
}

int agent_wait_path(const char *path)
{
        struct timespec t0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (access(path, F_OK) < 0) {
                if (ms_since(&t0) > 10000)
                        return -ENOENT;
                nap_ms(2);
        }
        return 0;
}
