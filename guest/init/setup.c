/* SPDX-License-Identifier: Apache-2.0 */
/*
 * setup.c - hull-init's console and network setup. The network is configured with the
 * classic ioctls (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS, SIOCADDRT) rather than
 * netlink: a static IPv4 address per NIC (found by its MAC: a VM on several networks has one
 * NIC on each) and a default route are all a first-boot config holds.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hull-init.h"
#include "util.h"

void console_setup(void)
{
        int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return;
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
                close(fd);
        setvbuf(stdout, NULL, _IOLBF, 0);
}

static int set_addr(int s, unsigned long req, const char *ifname, in_addr_t a)
{
        struct ifreq ifr = {};
        struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = a;
        return ioctl(s, req, &ifr) < 0 ? -errno : 0;
}

static int link_up(int s, const char *ifname)
{
        struct ifreq ifr = {};

        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static void etc_file(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
                init_log("cannot write %s: %m", path);
}

/* Give ifname the address "A.B.C.D/N" and bring it up. */
static void if_configure(int s, const char *ifname, const char *cidr)
{
        _cleanup_free_ char *ip = strdup(cidr);
        char *slash = ip ? strchr(ip, '/') : NULL;
        unsigned prefix = 32;
        struct in_addr a;

        if (slash) {
                *slash++ = 0;
                prefix = (unsigned)atoi(slash);
        }
        if (!ip || inet_pton(AF_INET, ip, &a) != 1 || prefix > 32) {
                init_log("invalid address '%s'", cidr);
                return;
        }
        if (set_addr(s, SIOCSIFADDR, ifname, a.s_addr) < 0 ||
            set_addr(s, SIOCSIFNETMASK, ifname, prefix ? htonl(~0u << (32 - prefix)) : 0) < 0 ||
            link_up(s, ifname) < 0)
                init_log("cannot configure %s: %m", ifname);
}

/* struct in6_ifreq of linux/ipv6.h (which clashes with netinet/in.h): SIOCSIFADDR on AF_INET6. */
struct in6_ifreq_ {
        struct in6_addr addr;
        uint32_t prefixlen;
        int ifindex;
};

/* Give ifname the IPv6 address "X:Y::Z/N" (it is usable once duplicate address detection is done). */
static void if_configure6(const char *ifname, const char *cidr)
{
        _cleanup_close_ int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        _cleanup_free_ char *ip = strdup(cidr);
        char *slash = ip ? strchr(ip, '/') : NULL;
        struct in6_ifreq_ r = {.prefixlen = 64, .ifindex = (int)if_nametoindex(ifname)};

        if (slash) {
                *slash++ = 0;
                r.prefixlen = (uint32_t)atoi(slash);
        }
        if (s6 < 0 || !ip || inet_pton(AF_INET6, ip, &r.addr) != 1 || r.prefixlen > 128 || r.ifindex == 0) {
                init_log("invalid IPv6 address '%s' for %s", cidr, ifname);
                return;
        }
        /* hull's IPAM hands each address out once: no duplicate address detection, whose
         * second of "tentative" would delay the default route and the first packets. */
        _cleanup_free_ char *dad = strdup_printf("/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
        _cleanup_close_ int fd = dad ? open(dad, O_WRONLY | O_CLOEXEC) : -EBADF;
        if (fd >= 0)
                (void)write(fd, "0", 1);
        if (ioctl(s6, SIOCSIFADDR, &r) < 0)
                init_log("cannot give %s the address %s: %m", ifname, cidr);
}

/* The default IPv6 route through gw. */
static void route6_default(const char *gw)
{
        _cleanup_close_ int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct in6_rtmsg rt = {.rtmsg_flags = RTF_UP | RTF_GATEWAY, .rtmsg_metric = 1};

        if (s6 < 0 || inet_pton(AF_INET6, gw, &rt.rtmsg_gateway) != 1) {
                init_log("invalid IPv6 gateway '%s'", gw);
                return;
        }
        if (ioctl(s6, SIOCADDRT, &rt) < 0)
                init_log("cannot add the default IPv6 route: %m");
}

/* The interface whose MAC is mac ("02:42:..."), into name; -ENODEV when none has it. */
static int if_by_mac(int s, const char *mac, char name[static IF_NAMESIZE])
{
        struct if_nameindex *l = if_nameindex();
        unsigned m[6];
        int r = -ENODEV;

        if (!l || sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
                if (l)
                        if_freenameindex(l);
                return -EINVAL;
        }
        for (struct if_nameindex *i = l; i->if_index && r < 0; i++) {
                struct ifreq ifr = {};
                snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
                if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
                        continue;
                bool same = true;
                for (int k = 0; k < 6; k++)
                        same = same && (unsigned char)ifr.ifr_hwaddr.sa_data[k] == m[k];
                if (same) {
                        snprintf(name, IF_NAMESIZE, "%s", i->if_name);
                        r = 0;
                }
        }
        if_freenameindex(l);
        return r;
}

void net_setup(const struct vmconf *c)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct in_addr a;

        if (s < 0)
                return;
        link_up(s, "lo");
        STRV_FOREACH (nic, c->nics) {
                _cleanup_free_ char *mac = strdup(*nic);
                char *sp = mac ? strchr(mac, ' ') : NULL;
                char name[IF_NAMESIZE];
                if (!sp) {
                        init_log("invalid nic line '%s'", *nic);
                        continue;
                }
                *sp++ = 0;
                /* "A.B.C.D/N" and maybe " X:Y::Z/N" */
                char *v6 = strchr(sp, ' ');
                if (v6)
                        *v6++ = 0;
                if (if_by_mac(s, mac, name) < 0) {
                        init_log("no network interface has the MAC %s", mac);
                        continue;
                }
                if_configure(s, name, sp);
                if (v6)
                        if_configure6(name, v6);
        }
        /* A host older than nic lines names eth0's address only. */
        if (c->ip && !c->nics)
                if_configure(s, "eth0", c->ip);
        if (c->gateway && inet_pton(AF_INET, c->gateway, &a) == 1) {
                struct rtentry rt = {};
                struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
                struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
                struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
                gw->sin_family = dst->sin_family = mask->sin_family = AF_INET;
                gw->sin_addr = a;
                rt.rt_flags = RTF_UP | RTF_GATEWAY;
                if (ioctl(s, SIOCADDRT, &rt) < 0)
                        init_log("cannot add the default route: %m");
        }
        if (c->gateway6)
                route6_default(c->gateway6);
        /* On a hull network the host wrote the guest's files, as a container's (search domains,
         * options, the names of --add-host): they replace what the image has. */
        if (c->hosts)
                etc_file("/etc/hosts", c->hosts);
        if (c->resolv_conf)
                etc_file("/etc/resolv.conf", c->resolv_conf);
        else if (c->dns) {
                _cleanup_free_ char *buf = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&buf, &n);
                if (!f)
                        return;
                STRV_FOREACH (d, c->dns)
                        fprintf(f, "nameserver %s\n", *d);
                fclose(f);
                _cleanup_close_ int fd =
                        open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write_all(fd, buf, n) < 0)
                        init_log("cannot write /etc/resolv.conf: %m");
        }
}

int net_nic_up(const char *doc, size_t len, char *err, size_t size)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct vmconf c = {};
        int r;

        if (s < 0)
                return -errno;
        if ((r = vmconf_parse(doc, len, &c)) < 0) {
                snprintf(err, size, "the NIC request is not a config document: %s", strerror(-r));
                return r;
        }
        /* The host plugged the NIC in just before: the guest's hot-plug and virtio-net probe it in
         * their own time. */
        STRV_FOREACH (nic, c.nics) {
                char mac[18], name[IF_NAMESIZE];
                snprintf(mac, sizeof(mac), "%.17s", *nic);
                for (int waited = 0; (r = if_by_mac(s, mac, name)) == -ENODEV && waited < NIC_WAIT_MS;
                     waited += 50)
                        usleep(50000);
                if (r < 0) {
                        snprintf(err, size, "no network interface with the MAC %s appeared within %d s", mac,
                                 NIC_WAIT_MS / 1000);
                        vmconf_done(&c);
                        return r;
                }
        }
        net_setup(&c);
        vmconf_done(&c);
        return 0;
}

int net_nic_down(const char *mac, char *err, size_t size)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};
        char name[IF_NAMESIZE];
        int r;

        if (s < 0)
                return -errno;
        /* Gone already (an earlier disconnect was interrupted after the unplug): nothing to do. */
        if ((r = if_by_mac(s, mac, name)) == -ENODEV)
                return 0;
        if (r < 0) {
                snprintf(err, size, "invalid MAC '%s'", mac);
                return r;
        }
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags &= (short)~IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
                r = -errno;
                snprintf(err, size, "cannot take %s down: %s", name, strerror(-r));
                return r;
        }
        return 0;
}
