/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.c - the container's network interfaces in the guest: CREATE's NET, ADDR and ROUTE fields
 * (docs/agent.md, "Networks").
 *
 * The host joined each interface of the container's namespace to a tap and gave the VM one
 * virtio-net NIC per tap with the interface's MAC. Here the NIC with that MAC takes the
 * interface's name (eth0...), MTU, addresses and routes, and comes up. virtio_net (with failover
 * and net_failover, which it needs) is a module of the guest kernel, loaded on the first NET only:
 * a container without a network does not pay for it at boot.
 *
 * rtnetlink requests are written by hand (linux/rtnetlink.h): the agent is a static binary with
 * glibc alone. One socket, one request at a time, each acknowledged (NLM_F_ACK).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

struct req {
        struct nlmsghdr h;
        union {
                struct ifinfomsg ifi;
                struct ifaddrmsg ifa;
                struct rtmsg rt;
        };
        char attrs[256];
};

static int nl_fd = -1;
static uint32_t nl_seq;

static void put_attr(struct req *q, unsigned short type, const void *data, size_t len)
{
        struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->h.nlmsg_len));

        a->rta_type = type;
        a->rta_len = (unsigned short)RTA_LENGTH(len);
        memcpy(RTA_DATA(a), data, len);
        q->h.nlmsg_len = NLMSG_ALIGN(q->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void req_init(struct req *q, unsigned short type, unsigned short flags, size_t body)
{
        memset(q, 0, sizeof(*q));
        q->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
        q->h.nlmsg_type = type;
        q->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        q->h.nlmsg_seq = ++nl_seq;
}

/* Send q and wait for its ack: 0 or -errno. */
static int nl_talk(struct req *q)
{
        char buf[4096];

        if (nl_fd < 0) {
                nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
                if (nl_fd < 0)
                        return -errno;
        }
        if (send(nl_fd, q, q->h.nlmsg_len, 0) < 0)
                return -errno;
        for (;;) {
                ssize_t k = recv(nl_fd, buf, sizeof(buf), 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)k);
                     h = NLMSG_NEXT(h, k)) {
                        if (h->nlmsg_seq != q->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                                return -EIO;
                        return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
                }
        }
}

static int link_change(int ifindex, const char *name, unsigned mtu, bool up)
{
        struct req q;

        req_init(&q, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
        q.ifi.ifi_family = AF_UNSPEC;
        q.ifi.ifi_index = ifindex;
        if (up) {
                q.ifi.ifi_flags = IFF_UP;
                q.ifi.ifi_change = IFF_UP;
        }
        if (name)
                put_attr(&q, IFLA_IFNAME, name, strlen(name) + 1);
        if (mtu)
                put_attr(&q, IFLA_MTU, &mtu, sizeof(mtu));
        return nl_talk(&q);
}

/* An address with its prefix length ("10.88.0.5/16", "fd00::5/64"); -EINVAL when malformed. */
static int parse_cidr(const char *s, int *family, unsigned char bytes[16], unsigned *len)
{
        char a[64];
        const char *slash = strchr(s, '/');
        char *end;
        unsigned long l;

        if (!slash || (size_t)(slash - s) >= sizeof(a))
                return -EINVAL;
        memcpy(a, s, (size_t)(slash - s));
        a[slash - s] = 0;
        if (inet_pton(AF_INET, a, bytes) == 1)
                *family = AF_INET;
        else if (inet_pton(AF_INET6, a, bytes) == 1)
                *family = AF_INET6;
        else
                return -EINVAL;
        errno = 0;
        l = strtoul(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || l > (*family == AF_INET ? 32u : 128u))
                return -EINVAL;
        *len = (unsigned)l;
        return 0;
}

/* The ifindex of the NIC whose MAC is mac ("02:42:..."), from sysfs; 0 when none. */
static int nic_by_mac(const char *mac)
{
        static const char *const prefix = "/sys/class/net/";
        char path[128], got[32];
        int found = 0;

        /* if_nameindex(3) lists every link: a guest has few. */
        struct if_nameindex *all = if_nameindex();
        for (struct if_nameindex *i = all; i && i->if_index && !found; i++) {
                snprintf(path, sizeof(path), "%s%s/address", prefix, i->if_name);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                ssize_t k = read(fd, got, sizeof(got) - 1);
                close(fd);
                if (k <= 0)
                        continue;
                got[k] = 0;
                got[strcspn(got, "\n")] = 0;
                if (strcasecmp(got, mac) == 0)
                        found = (int)i->if_index;
        }
        if (all)
                if_freenameindex(all);
        return found;
}

int agent_net_link(const char *name, const char *mac, const char *mtu_s)
{
        static bool loaded;
        struct timespec t0, now;
        unsigned long mtu;
        int ifindex, other, r;
        char *end;

        if (!name[0] || strlen(name) >= IFNAMSIZ)
                return agent_send_error(0, EINVAL, "CREATE: invalid interface name '%s'", name), -EINVAL;
        errno = 0;
        mtu = strtoul(mtu_s, &end, 10);
        if (errno || *end || mtu < 68 || mtu > 65535)
                return agent_send_error(0, EINVAL, "CREATE: invalid MTU '%s' for '%s'", mtu_s, name),
                       -EINVAL;
        if (!loaded) {
                agent_load_modules("/lib/modules/net.order");
                loaded = true;
        }
        /* The driver may still be probing the NIC: wait, bounded like the disks. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while ((ifindex = nic_by_mac(mac)) == 0) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - t0.tv_sec > 10)
                        return agent_send_error(0, ENODEV, "no network device with MAC %s for '%s'", mac,
                                                name),
                               -ENODEV;
                struct timespec ts = {0, 2000000};
                nanosleep(&ts, NULL);
        }
        /* The kernel names NICs in probe order: another one may hold the name (eth0 and eth1 swapped). */
        other = (int)if_nametoindex(name);
        if (other > 0 && other != ifindex) {
                char tmp[IFNAMSIZ];
                snprintf(tmp, sizeof(tmp), "nic%d", other);
                link_change(other, tmp, 0, false);
        }
        r = link_change(ifindex, other == ifindex ? NULL : name, (unsigned)mtu, false);
        if (r >= 0)
                r = link_change(ifindex, NULL, 0, true);
        if (r < 0)
                return agent_send_error(0, -r, "cannot set up network interface '%s' (MAC %s): %s", name,
                                        mac, strerror(-r)),
                       r;
        return 0;
}

int agent_net_addr(const char *name, const char *cidr)
{
        unsigned char bytes[16];
        int family, ifindex = (int)if_nametoindex(name), r;
        unsigned len;
        struct req q;

        if (ifindex <= 0 || parse_cidr(cidr, &family, bytes, &len) < 0)
                return agent_send_error(0, EINVAL, "CREATE: invalid address '%s' of '%s'", cidr, name),
                       -EINVAL;
        req_init(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
        q.ifa.ifa_family = (unsigned char)family;
        q.ifa.ifa_prefixlen = (unsigned char)len;
        q.ifa.ifa_index = (unsigned)ifindex;
        put_attr(&q, IFA_LOCAL, bytes, family == AF_INET ? 4 : 16);
        put_attr(&q, IFA_ADDRESS, bytes, family == AF_INET ? 4 : 16);
        if (family == AF_INET6) {
                /* The address is the container's already, checked by its network's IPAM: no DAD delay. */
                uint32_t flags = IFA_F_NODAD;
                put_attr(&q, IFA_FLAGS, &flags, sizeof(flags));
        } else if (len < 31) {
                uint32_t host = len ? 0xffffffffu >> len : 0xffffffffu, a;
                memcpy(&a, bytes, 4);
                a |= htonl(host);
                put_attr(&q, IFA_BROADCAST, &a, 4);
        }
        r = nl_talk(&q);
        if (r < 0 && r != -EEXIST)
                return agent_send_error(0, -r, "cannot add address %s to '%s': %s", cidr, name,
                                        strerror(-r)),
                       r;
        return 0;
}

int agent_net_route(const char *name, const char *dst, const char *gw)
{
        unsigned char d[16], g[16];
        int family, gfamily = 0, ifindex = (int)if_nametoindex(name), r;
        unsigned len;
        uint32_t oif;
        struct req q;

        if (ifindex <= 0 || parse_cidr(dst, &family, d, &len) < 0 ||
            (gw[0] && ((gfamily = inet_pton(AF_INET, gw, g) == 1    ? AF_INET
                                  : inet_pton(AF_INET6, gw, g) == 1 ? AF_INET6
                                                                    : 0)) != family))
                return agent_send_error(0, EINVAL, "CREATE: invalid route to '%s' via '%s' on '%s'", dst, gw,
                                        name),
                       -EINVAL;
        req_init(&q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
        q.rt.rtm_family = (unsigned char)family;
        q.rt.rtm_dst_len = (unsigned char)len;
        q.rt.rtm_table = RT_TABLE_MAIN;
        q.rt.rtm_protocol = RTPROT_STATIC;
        q.rt.rtm_scope = gw[0] ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        q.rt.rtm_type = RTN_UNICAST;
        if (len)
                put_attr(&q, RTA_DST, d, family == AF_INET ? 4 : 16);
        if (gw[0])
                put_attr(&q, RTA_GATEWAY, g, family == AF_INET ? 4 : 16);
        oif = (uint32_t)ifindex;
        put_attr(&q, RTA_OIF, &oif, sizeof(oif));
        r = nl_talk(&q);
        if (r < 0 && r != -EEXIST)
                return agent_send_error(0, -r, "cannot add route to %s via '%s' on '%s': %s", dst, gw, name,
                                        strerror(-r)),
                       r;
        return 0;
}
