/* SPDX-License-Identifier: Apache-2.0 */
/* netlink.c - rtnetlink requests through libmnl, and persistent taps; see netlink.h. */
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include "error.h"
#include "log.h"
#include "netlink.h"

#define NL_BUF_SIZE  16384
#define NL_MSG_MAX   2048 /* no request of this file comes near it */
#define NL_BATCH_MAX 16
#define NL_WHAT_SIZE 96

struct nl {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
        bool batching;
        int batch_error; /* from a flush forced by a full buffer in the middle of a batch */
        size_t len;
        unsigned n_pending;
        uint32_t first_seq;
        struct {
                char what[NL_WHAT_SIZE];
                int ignore; /* an errno (positive) that counts as success */
        } pending[NL_BATCH_MAX];
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[NL_BUF_SIZE];
        _Alignas(NLMSG_ALIGNTO) uint8_t rbuf[NL_BUF_SIZE];
};

int nl_open(struct nl **ret)
{
        struct nl *nl;
        int one = 1;

        nl = calloc(1, sizeof(*nl));
        if (!nl)
                return -ENOMEM;
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock) {
                int r = negative_errno();
                free(nl);
                return r;
        }
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = negative_errno();
                nl_close(nl);
                return r;
        }
        /* Extended acks carry the kernel's reason ("Error: ..."); capped acks do not echo requests. */
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
        nl->portid = mnl_socket_get_portid(nl->sock);
        nl->seq = (uint32_t)getpid() << 12;
        *ret = nl;
        return 0;
}

int nl_open_in_netns(int netns_fd, struct nl **ret)
{
        _cleanup_close_ int self = -EBADF;
        struct nl *nl = NULL;
        int r;

        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return negative_errno();
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return err_set(negative_errno(), "cannot enter the network namespace: %m");
        r = nl_open(&nl);
        /* A socket keeps the namespace it was created in: going back now is safe. */
        if (setns(self, CLONE_NEWNET) < 0) {
                nl_close(nl);
                return err_set(-EIO, "cannot return to the original network namespace: %m");
        }
        if (r < 0)
                return r;
        *ret = nl;
        return 0;
}

void nl_close(struct nl *nl)
{
        if (!nl)
                return;
        if (nl->sock)
                mnl_socket_close(nl->sock);
        free(nl);
}

void nl_batch_begin(struct nl *nl)
{
        nl->batching = true;
}

static int ext_ack_cb(const struct nlattr *attr, void *data)
{
        const char **msg = data;

        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                *msg = mnl_attr_get_str(attr);
        return MNL_CB_OK;
}

/* Send every queued request and read one ack per request. */
static int nl_flush(struct nl *nl)
{
        unsigned acked = 0, n = nl->n_pending;
        int first_error = 0;

        if (n == 0)
                return 0;
        nl->n_pending = 0;
        if (mnl_socket_sendto(nl->sock, nl->buf, nl->len) < 0) {
                nl->len = 0;
                return negative_errno();
        }
        nl->len = 0;
        while (acked < n) {
                ssize_t got = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
                int left;

                if (got < 0)
                        return negative_errno();
                left = (int)got;
                for (struct nlmsghdr *h = (struct nlmsghdr *)nl->rbuf; mnl_nlmsg_ok(h, left);
                     h = mnl_nlmsg_next(h, &left)) {
                        const struct nlmsgerr *e;
                        const char *kmsg = NULL;
                        uint32_t i;
                        int err;

                        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                continue;
                        i = h->nlmsg_seq - nl->first_seq;
                        if (i >= n)
                                continue;
                        acked++;
                        e = mnl_nlmsg_get_payload(h);
                        err = e->error;
                        if (err == 0 || -err == nl->pending[i].ignore || first_error != 0)
                                continue;
                        if (h->nlmsg_flags & NLM_F_ACK_TLVS)
                                mnl_attr_parse(h, sizeof(*e), ext_ack_cb, &kmsg);
                        first_error = err;
                        if (kmsg)
                                err_set(err, "netlink: cannot %s: %s (%s)", nl->pending[i].what, kmsg,
                                        strerror(-err));
                        else
                                err_set(err, "netlink: cannot %s: %s", nl->pending[i].what, strerror(-err));
                }
        }
        return first_error;
}

int nl_batch_end(struct nl *nl)
{
        int r = nl_flush(nl), early = nl->batch_error;

        nl->batching = false;
        nl->batch_error = 0;
        return early < 0 ? early : r;
}

static struct nlmsghdr *msg_new(struct nl *nl, uint16_t type, uint16_t flags)
{
        struct nlmsghdr *h;

        /* The buffer of a long batch is sent early; acks are still collected in order. */
        if (nl->n_pending == NL_BATCH_MAX || nl->len + NL_MSG_MAX > sizeof(nl->buf)) {
                int r = nl_flush(nl);
                if (r < 0 && nl->batch_error == 0)
                        nl->batch_error = r;
        }
        if (nl->n_pending == 0)
                nl->first_seq = nl->seq + 1;
        h = mnl_nlmsg_put_header(nl->buf + nl->len);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        h->nlmsg_seq = ++nl->seq;
        return h;
}

_printf_(4, 5) static int msg_commit(struct nl *nl, struct nlmsghdr *h, int ignore, const char *fmt, ...)
{
        va_list ap;
        unsigned i = nl->n_pending++;

        va_start(ap, fmt);
        vsnprintf(nl->pending[i].what, NL_WHAT_SIZE, fmt, ap);
        va_end(ap);
        nl->pending[i].ignore = ignore;
        nl->len += NLMSG_ALIGN(h->nlmsg_len);
        return nl->batching ? 0 : nl_flush(nl);
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *h, int ifindex, bool up)
{
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        if (up) {
                ifi->ifi_flags = IFF_UP;
                ifi->ifi_change = IFF_UP;
        }
        return ifi;
}

/* ------------------------------------------------------------------ dumps and gets */

/* Index a message's attributes by type, up to max (libmnl's usual parse callback). */
struct attr_table {
        const struct nlattr **tb;
        int max;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
        struct attr_table *t = data;
        int type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, (uint16_t)t->max) > 0)
                t->tb[type] = attr;
        return MNL_CB_OK;
}

/* What a get or dump collects: a growing array of elements of one size. */
struct collect {
        void *v;
        size_t n, cap, size;
        int family; /* route dumps: the family asked for */
        int r;
};

/* Room for one more element (counted), or NULL with c->r = -ENOMEM (the array is kept). */
static void *collect_next(struct collect *c)
{
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;
                void *v = reallocarray(c->v, cap, c->size);
                if (!v) {
                        c->r = -ENOMEM;
                        return NULL;
                }
                c->v = v;
                c->cap = cap;
        }
        return (uint8_t *)c->v + c->n++ * c->size;
}

static void link_parse(const struct nlmsghdr *h, struct nl_link_info *li)
{
        const struct nlattr *tb[IFLA_MAX + 1] = {};
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);

        *li = (struct nl_link_info){.ifindex = ifi->ifi_index, .up = !!(ifi->ifi_flags & IFF_UP)};
        mnl_attr_parse(h, sizeof(*ifi), attr_cb, &(struct attr_table){tb, IFLA_MAX});
        if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0)
                snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
        if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) >= 0)
                li->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
        if (tb[IFLA_MASTER] && mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) >= 0)
                li->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
                memcpy(li->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *info[IFLA_INFO_MAX + 1] = {};
                mnl_attr_parse_nested(tb[IFLA_LINKINFO], attr_cb, &(struct attr_table){info, IFLA_INFO_MAX});
                if (info[IFLA_INFO_KIND] &&
                    mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) >= 0)
                        snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(info[IFLA_INFO_KIND]));
        }
}

static int link_list_cb(const struct nlmsghdr *h, void *data)
{
        struct nl_link_info *slot;

        if (h->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        slot = collect_next(data);
        if (!slot)
                return MNL_CB_ERROR;
        link_parse(h, slot);
        return MNL_CB_OK;
}

/* Send one request (a get or a dump) and run cb on every reply until the kernel is done. */
static int nl_query(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
        int r;

        r = nl_flush(nl);
        if (r < 0)
                return r;
        if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
                return negative_errno();
        for (;;) {
                ssize_t got = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
                if (got < 0)
                        return negative_errno();
                r = mnl_cb_run(nl->rbuf, (size_t)got, h->nlmsg_seq, nl->portid, cb, data);
                if (r < 0)
                        return errno > 0 ? -errno : -EIO;
                if (r == MNL_CB_STOP || !(h->nlmsg_flags & NLM_F_DUMP))
                        return 0;
        }
}

/* nl_query() into a collector; on success the array goes to the caller (malloc'd). */
static int nl_collect(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, struct collect *c, void *ret,
                      size_t *ret_n)
{
        int r = nl_query(nl, h, cb, c);

        if (r == 0 && c->r < 0)
                r = c->r;
        if (r < 0) {
                free(c->v);
                return r;
        }
        *(void **)ret = c->v;
        *ret_n = c->n;
        return 0;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link_info *ret)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[512];
        struct collect c = {.size = sizeof(struct nl_link_info)};
        _cleanup_free_ struct nl_link_info *v = NULL;
        struct nlmsghdr *h;
        size_t n;
        int r;

        if (strlen(name) >= IFNAMSIZ)
                return -ENODEV;
        h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = RTM_GETLINK;
        h->nlmsg_flags = NLM_F_REQUEST;
        h->nlmsg_seq = ++nl->seq;
        put_ifinfo(h, 0, false);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        r = nl_collect(nl, h, link_list_cb, &c, &v, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENODEV;
        *ret = v[0];
        return 0;
}

int nl_link_index(struct nl *nl, const char *name)
{
        struct nl_link_info li;
        int r = nl_link_get(nl, name, &li);
        return r < 0 ? r : li.ifindex;
}

int nl_link_list(struct nl *nl, struct nl_link_info **ret, size_t *ret_n)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[256];
        struct collect c = {.size = sizeof(struct nl_link_info)};
        struct nlmsghdr *h;

        h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = RTM_GETLINK;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        h->nlmsg_seq = ++nl->seq;
        put_ifinfo(h, 0, false);
        return nl_collect(nl, h, link_list_cb, &c, ret, ret_n);
}

/* ------------------------------------------------------------------ links */

int nl_bridge_create(struct nl *nl, const char *name, uint32_t mtu, const uint8_t mac[6], bool nf_call)
{
        struct nlmsghdr *h = msg_new(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct nlattr *info, *data;

        put_ifinfo(h, 0, true);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        if (mtu)
                mnl_attr_put_u32(h, IFLA_MTU, mtu);
        if (mac)
                mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
        info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
        data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        if (nf_call) {
                mnl_attr_put_u8(h, IFLA_BR_NF_CALL_IPTABLES, 1);
                mnl_attr_put_u8(h, IFLA_BR_NF_CALL_IP6TABLES, 1);
        }
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
        return msg_commit(nl, h, 0, "create bridge '%s'", name);
}

int nl_veth_create(struct nl *nl, const struct nl_veth *v)
{
        struct nlmsghdr *h = msg_new(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct nlattr *info, *data, *peer;
        struct ifinfomsg *pifi;

        put_ifinfo(h, 0, true);
        mnl_attr_put_strz(h, IFLA_IFNAME, v->name);
        if (v->mtu)
                mnl_attr_put_u32(h, IFLA_MTU, v->mtu);
        if (v->master > 0)
                mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)v->master);
        info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
        /* VETH_INFO_PEER starts with the peer's own ifinfomsg (veth_newlink), then its attributes.
         * Not IFF_UP: the peer is configured before the pair is linked, and veth_open() of a peer
         * without its other end fails with ENOTCONN; it is brought up from inside its namespace. */
        pifi = mnl_nlmsg_get_payload_tail(h);
        memset(pifi, 0, sizeof(*pifi));
        pifi->ifi_family = AF_UNSPEC;
        h->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
        mnl_attr_put_strz(h, IFLA_IFNAME, v->peer);
        if (v->peer_netns_fd >= 0)
                mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)v->peer_netns_fd);
        if (v->mtu)
                mnl_attr_put_u32(h, IFLA_MTU, v->mtu);
        if (v->peer_mac)
                mnl_attr_put(h, IFLA_ADDRESS, 6, v->peer_mac);
        mnl_attr_nest_end(h, peer);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
        return msg_commit(nl, h, 0, "create veth '%s' with peer '%s'", v->name, v->peer);
}

int nl_link_delete(struct nl *nl, const char *name)
{
        struct nlmsghdr *h = msg_new(nl, RTM_DELLINK, 0);
        int r;

        put_ifinfo(h, 0, false);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        r = msg_commit(nl, h, 0, "delete link '%s'", name);
        return r == -ENODEV ? (err_clear(), -ENODEV) : r;
}

static int link_change(struct nl *nl, int ifindex, bool up, uint32_t mtu, int master)
{
        struct nlmsghdr *h = msg_new(nl, RTM_NEWLINK, 0);

        put_ifinfo(h, ifindex, up);
        if (mtu)
                mnl_attr_put_u32(h, IFLA_MTU, mtu);
        if (master >= 0)
                mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
        return msg_commit(nl, h, 0, "change link %d", ifindex);
}

int nl_link_set_up(struct nl *nl, int ifindex)
{
        return link_change(nl, ifindex, true, 0, -1);
}

int nl_link_set_master(struct nl *nl, int ifindex, int master)
{
        return link_change(nl, ifindex, false, 0, master);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, uint32_t mtu)
{
        return link_change(nl, ifindex, false, mtu, -1);
}

/* ------------------------------------------------------------------ addresses and routes */

static int addr_request(struct nl *nl, uint16_t type, uint16_t flags, int ifindex, const struct cidr *a)
{
        struct nlmsghdr *h = msg_new(nl, type, flags);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
        unsigned size = ipaddr_size(a->addr.family);
        char buf[CIDR_STRLEN];

        ifa->ifa_family = (uint8_t)a->addr.family;
        ifa->ifa_prefixlen = (uint8_t)a->len;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t)ifindex;
        mnl_attr_put(h, IFA_LOCAL, size, a->addr.bytes);
        mnl_attr_put(h, IFA_ADDRESS, size, a->addr.bytes);
        if (a->addr.family == AF_INET && a->len < 31) {
                struct cidr net = cidr_network(&a->addr, a->len);
                struct ipaddr bcast = cidr_last(&net);
                mnl_attr_put(h, IFA_BROADCAST, 4, bcast.bytes);
        }
        if (a->addr.family == AF_INET6)
                mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
        return msg_commit(nl, h, 0, "%s address %s %s ifindex %d", type == RTM_NEWADDR ? "add" : "delete",
                          cidr_to_string(a, buf), type == RTM_NEWADDR ? "to" : "from", ifindex);
}

int nl_addr_add(struct nl *nl, int ifindex, const struct cidr *addr)
{
        return addr_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr);
}

int nl_addr_del(struct nl *nl, int ifindex, const struct cidr *addr)
{
        return addr_request(nl, RTM_DELADDR, 0, ifindex, addr);
}

int nl_route_add(struct nl *nl, int ifindex, const struct cidr *dst, const struct ipaddr *gw)
{
        struct nlmsghdr *h = msg_new(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
        int family = dst ? dst->addr.family : gw->family;
        char buf[CIDR_STRLEN];

        rt->rtm_family = (uint8_t)family;
        rt->rtm_dst_len = (uint8_t)(dst ? dst->len : 0);
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_STATIC;
        rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        rt->rtm_type = RTN_UNICAST;
        if (dst && dst->len > 0)
                mnl_attr_put(h, RTA_DST, ipaddr_size(family), dst->addr.bytes);
        if (gw)
                mnl_attr_put(h, RTA_GATEWAY, ipaddr_size(family), gw->bytes);
        mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
        /* The first network of a container gives it its default route; later ones find it there. */
        return msg_commit(nl, h, dst ? 0 : EEXIST, "add route to %s",
                          dst ? cidr_to_string(dst, buf) : "default");
}

static int route_list_cb(const struct nlmsghdr *h, void *data)
{
        const struct nlattr *tb[RTA_MAX + 1] = {};
        const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
        struct collect *l = data;
        struct nl_route route = {}, *slot;
        uint32_t table;

        if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != l->family || rt->rtm_type != RTN_UNICAST)
                return MNL_CB_OK;
        mnl_attr_parse(h, sizeof(*rt), attr_cb, &(struct attr_table){tb, RTA_MAX});
        table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rt->rtm_table;
        if (table != RT_TABLE_MAIN)
                return MNL_CB_OK;
        route.dst.addr.family = l->family;
        route.dst.len = rt->rtm_dst_len;
        if (tb[RTA_DST]) {
                if (mnl_attr_get_payload_len(tb[RTA_DST]) != ipaddr_size(l->family))
                        return MNL_CB_OK;
                memcpy(route.dst.addr.bytes, mnl_attr_get_payload(tb[RTA_DST]), ipaddr_size(l->family));
        }
        if (tb[RTA_OIF])
                route.oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
        if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == ipaddr_size(l->family)) {
                route.gw.family = l->family;
                memcpy(route.gw.bytes, mnl_attr_get_payload(tb[RTA_GATEWAY]), ipaddr_size(l->family));
        }
        route.protocol = rt->rtm_protocol;
        slot = collect_next(l);
        if (!slot)
                return MNL_CB_ERROR;
        *slot = route;
        return MNL_CB_OK;
}

int nl_route_list(struct nl *nl, int family, struct nl_route **ret, size_t *ret_n)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[256];
        struct collect c = {.size = sizeof(struct nl_route), .family = family};
        struct nlmsghdr *h;
        struct rtmsg *rt;

        h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = RTM_GETROUTE;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        h->nlmsg_seq = ++nl->seq;
        rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
        rt->rtm_family = (uint8_t)family;
        return nl_collect(nl, h, route_list_cb, &c, ret, ret_n);
}

static int addr_list_cb(const struct nlmsghdr *h, void *data)
{
        const struct nlattr *tb[IFA_MAX + 1] = {};
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;
        struct nl_addr addr = {}, *slot;
        unsigned size = ipaddr_size(ifa->ifa_family);

        if (h->nlmsg_type != RTM_NEWADDR || size == 0 || ifa->ifa_prefixlen > ipaddr_bits(ifa->ifa_family))
                return MNL_CB_OK;
        mnl_attr_parse(h, sizeof(*ifa), attr_cb, &(struct attr_table){tb, IFA_MAX});
        /* IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer's on point-to-point links. */
        a = tb[IFA_LOCAL] ?: tb[IFA_ADDRESS];
        if (!a || mnl_attr_get_payload_len(a) != size)
                return MNL_CB_OK;
        addr.ifindex = (int)ifa->ifa_index;
        addr.scope = ifa->ifa_scope;
        addr.addr.addr.family = ifa->ifa_family;
        addr.addr.len = ifa->ifa_prefixlen;
        memcpy(addr.addr.addr.bytes, mnl_attr_get_payload(a), size);
        slot = collect_next(data);
        if (!slot)
                return MNL_CB_ERROR;
        *slot = addr;
        return MNL_CB_OK;
}

int nl_addr_list(struct nl *nl, int family, struct nl_addr **ret, size_t *ret_n)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[256];
        struct collect c = {.size = sizeof(struct nl_addr)};
        struct nlmsghdr *h;
        struct ifaddrmsg *ifa;

        h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = RTM_GETADDR;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        h->nlmsg_seq = ++nl->seq;
        ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
        ifa->ifa_family = (uint8_t)family;
        return nl_collect(nl, h, addr_list_cb, &c, ret, ret_n);
}

/* ------------------------------------------------------------------ requests built elsewhere */

int nl_request(struct nl *nl, const struct nlmsghdr *msg, int ignore, const char *what)
{
        struct nlmsghdr *h;

        if (msg->nlmsg_len < sizeof(*msg) || msg->nlmsg_len > NL_MSG_MAX)
                return -EMSGSIZE;
        h = msg_new(nl, msg->nlmsg_type, msg->nlmsg_flags);
        memcpy(h + 1, msg + 1, msg->nlmsg_len - sizeof(*msg));
        h->nlmsg_len = msg->nlmsg_len;
        return msg_commit(nl, h, ignore, "%s", what);
}

/* ------------------------------------------------------------------ taps */

int tap_create(const char *name, uid_t uid, gid_t gid)
{
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};

        if (strlen(name) >= IFNAMSIZ)
                return err_set(-EINVAL, "tap name '%s' is longer than %d characters", name, IFNAMSIZ - 1);
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return err_set(negative_errno(), "cannot open /dev/net/tun: %m");
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        memcpy(ifr.ifr_name, name, strlen(name));
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return err_set(negative_errno(), "cannot create tap '%s': %m", name);
        if (uid != (uid_t)-1 && ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0)
                return err_set(negative_errno(), "cannot set the owner of tap '%s': %m", name);
        if (gid != (gid_t)-1 && ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0)
                return err_set(negative_errno(), "cannot set the group of tap '%s': %m", name);
        /* Without TUNSETPERSIST the device goes away with this fd; hull-vmm opens it by name later. */
        if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
                return err_set(negative_errno(), "cannot make tap '%s' persistent: %m", name);
        return 0;
}
