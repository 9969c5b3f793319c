/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netlink.h - links, addresses and routes through rtnetlink (libmnl), and tap devices.
 *
 * A struct nl is one NETLINK_ROUTE socket bound to the network namespace it was opened in
 * (nl_open_in_netns enters the target namespace only for the socket() call, so the caller's
 * thread is back in its own namespace on return). Requests are acknowledged one by one, or,
 * between nl_batch_begin() and nl_batch_end(), sent in one sendmsg() and acknowledged together;
 * the first failing request decides the result.
 *
 * Errors: -errno from the kernel; when the kernel adds an extended-ack message ("Error: ..."), it
 * is recorded with err_set() together with the request, e.g.
 * "netlink: cannot add address 10.1.0.2/24 to ifindex 7: ... (File exists)".
 *
 * Kernel behaviour relied on (Linux >= 5.4): IFLA_NET_NS_FD inside VETH_INFO_PEER creates the
 * peer directly in the target namespace; IFLA_MASTER and IFF_UP are applied by RTM_NEWLINK at
 * creation (rtnl_configure_link), so the host end is created, enslaved and up in one request.
 *
 * A struct nl belongs to one thread at a time.
 */
#pragma once

#include <linux/netlink.h>
#include <stdint.h>
#include <sys/types.h>

#include "cidr.h"
#include "macro.h"

struct nl;

/* Open a socket in the caller's network namespace. */
int nl_open(struct nl **ret);
/* Open a socket in the network namespace netns_fd refers to (needs CAP_SYS_ADMIN there). */
int nl_open_in_netns(int netns_fd, struct nl **ret);
void nl_close(struct nl *nl);
static inline void nl_closep(struct nl **nl)
{
        nl_close(*nl);
}
#define _cleanup_nl_ _cleanup_(nl_closep)

/* Batch the following requests into one sendmsg(); nl_batch_end() sends and collects the acks. */
void nl_batch_begin(struct nl *nl);
int nl_batch_end(struct nl *nl);

/* The ifindex of a link (> 0), or -ENODEV. */
int nl_link_index(struct nl *nl, const char *name);

struct nl_link_info {
        int ifindex;
        int master; /* ifindex of the bridge, 0 when none */
        uint32_t mtu;
        uint8_t mac[6];
        char kind[16]; /* "bridge", "veth", "tun", "" */
        char name[16];
        bool up;
};
/* Describe one link by name; -ENODEV when it does not exist. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link_info *ret);
/* Every link of the namespace; the array is malloc'd. */
int nl_link_list(struct nl *nl, struct nl_link_info **ret, size_t *ret_n);

/* A bridge, up, with a fixed MAC (so that it does not follow its ports' addresses). nf_call
 * turns on br_netfilter for IPv4 and IPv6 on this bridge only (IFLA_BR_NF_CALL_IPTABLES). */
int nl_bridge_create(struct nl *nl, const char *name, uint32_t mtu, const uint8_t mac[6], bool nf_call);

struct nl_veth {
        const char *name;        /* host side */
        int master;              /* bridge ifindex, 0 for none */
        uint32_t mtu;            /* 0: kernel default */
        const char *peer;        /* name inside the namespace */
        int peer_netns_fd;       /* target namespace of the peer */
        const uint8_t *peer_mac; /* NULL: random */
};
/* Create the pair: the host end up and enslaved to master, the peer (down) in its namespace. */
int nl_veth_create(struct nl *nl, const struct nl_veth *v);

/* Delete a link by name; -ENODEV when it does not exist. */
int nl_link_delete(struct nl *nl, const char *name);

int nl_link_set_up(struct nl *nl, int ifindex);
int nl_link_set_master(struct nl *nl, int ifindex, int master);
int nl_link_set_mtu(struct nl *nl, int ifindex, uint32_t mtu);

/* Add addr/len to a link. IPv6 addresses are added with IFA_F_NODAD: the IPAM guarantees
 * uniqueness, and duplicate address detection would leave them "tentative" for a second. */
int nl_addr_add(struct nl *nl, int ifindex, const struct cidr *addr);
int nl_addr_del(struct nl *nl, int ifindex, const struct cidr *addr);

/* A route to dst (NULL: default route) via gw (NULL: on-link) out of ifindex in the main table.
 * -EEXIST when a route to dst exists already. */
int nl_route_add(struct nl *nl, int ifindex, const struct cidr *dst, const struct ipaddr *gw);

struct nl_route {
        struct cidr dst;
        int oif;
        struct ipaddr gw; /* AF_UNSPEC: on-link */
        uint8_t protocol; /* RTPROT_KERNEL for the routes the kernel adds with an address */
};
/* Unicast routes of the main table of a family (for overlap checks), malloc'd. */
int nl_route_list(struct nl *nl, int family, struct nl_route **ret, size_t *ret_n);

struct nl_addr {
        int ifindex;
        struct cidr addr; /* the interface's address and its prefix length */
        uint8_t scope;    /* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK (fe80::/10), RT_SCOPE_HOST */
};
/* Addresses of a family (AF_UNSPEC: both) on every link, malloc'd. */
int nl_addr_list(struct nl *nl, int family, struct nl_addr **ret, size_t *ret_n);

/*
 * Send a request built elsewhere (tcredirect.c builds traffic-control messages) as one of this
 * socket's, acknowledged or batched like the others; what names it in an error ("add ingress
 * qdisc to ifindex 4"). ignore: an errno (positive) that counts as success, 0 for none.
 */
int nl_request(struct nl *nl, const struct nlmsghdr *msg, int ignore, const char *what);

/* Create a persistent tap (IFF_TAP|IFF_NO_PI) through /dev/net/tun and TUNSETPERSIST, owned by
 * uid/gid (-1: root only), so that an unprivileged hull-vmm can open it later by name. */
int tap_create(const char *name, uid_t uid, gid_t gid);
