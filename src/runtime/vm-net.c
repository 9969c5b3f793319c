/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-net.c - the network of a VM-isolated container (docs/agent.md, "Networks").
 *
 * Whoever made the container's network namespace (hull's engine, podman with netavark or CNI)
 * has put its interfaces there, with their MACs, addresses and routes, before create. This file
 * hands each of them to the guest without changing anything the network's owner knows about:
 *   - for each interface but loopback (eth0, eth1...), a tap is opened in the namespace
 *     (tcredirect.c) and joined to the interface back to back with tc redirects;
 *   - the interface's name, MAC, MTU, global addresses and non-kernel routes go into CREATE
 *     (fields NET, ADDR, ROUTE), and the agent gives them to the guest's NIC, whose MAC is the
 *     interface's: the guest answers for the container's address, frames cross unchanged;
 *   - the tap fds go to the VMM (hull-vmm --net fd=N, QEMU -netdev tap,fd=N).
 * This works the same whoever made the namespace: the DNAT of published ports goes to the
 * container's address, which the guest now owns; the bridge, the nft rules and the DNS
 * server of the network are untouched.
 *
 * Ownership: struct vmiso_net owns the tap fds (close-on-exec). The taps are not persistent:
 * they go with the last fd (the VMM's, once the shim closed its own), and the qdiscs with the
 * namespace. A namespace whose qdiscs outlived a VM (a restart) gets them replaced.
 *
 * The namespace is entered by this (single-threaded) process only around socket() and
 * open("/dev/net/tun"); everything else goes through fds bound to it.
 */
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/stat.h>

#include "cidr.h"
#include "error.h"
#include "log.h"
#include "netlink.h"
#include "tcredirect.h"
#include "util.h"
#include "vm-isolation.h"

void vmiso_net_done(struct vmiso_net *n)
{
        for (size_t i = 0; i < n->n; i++)
                n->nics[i].tap_fd = safe_close(n->nics[i].tap_fd);
        n->n = 0;
}

static bool same_file(int a, int b)
{
        struct stat sa, sb;
        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Is this link one for the guest? Loopback, taps (a previous VM's) and links without an Ethernet MAC are
 * not. */
static bool link_for_guest(const struct nl_link_info *l)
{
        static const uint8_t zero[6];

        return !streq(l->name, "lo") && !streq(l->kind, "tun") && memcmp(l->mac, zero, 6) != 0;
}

/* ADDR and ROUTE fields of one interface. */
static int put_addresses(struct nl *nl, const struct nl_link_info *l, struct agent_buf *b)
{
        _cleanup_free_ struct nl_addr *addrs = NULL;
        size_t n_addrs = 0;
        int r;

        r = nl_addr_list(nl, AF_UNSPEC, &addrs, &n_addrs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_addrs; i++) {
                char a[CIDR_STRLEN];
                /* Link-local IPv6 addresses the guest's kernel makes itself, from the same MAC. */
                if (addrs[i].ifindex != l->ifindex || addrs[i].scope != RT_SCOPE_UNIVERSE)
                        continue;
                const char *parts[] = {l->name, cidr_to_string(&addrs[i].addr, a)};
                r = agent_buf_field_parts(b, AGENT_C_ADDR, parts, 2);
                if (r < 0)
                        return r;
        }
        for (int f = 0; f < 2; f++) {
                _cleanup_free_ struct nl_route *routes = NULL;
                size_t n_routes = 0;

                r = nl_route_list(nl, f == 0 ? AF_INET : AF_INET6, &routes, &n_routes);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_routes; i++) {
                        char d[CIDR_STRLEN], g[IPADDR_STRLEN] = "";
                        /* The prefix routes of the addresses: the guest's kernel adds them with the
                         * addresses. */
                        if (routes[i].oif != l->ifindex || routes[i].protocol == RTPROT_KERNEL)
                                continue;
                        if (routes[i].gw.family != AF_UNSPEC)
                                ipaddr_to_string(&routes[i].gw, g);
                        const char *parts[] = {l->name, cidr_to_string(&routes[i].dst, d), g};
                        r = agent_buf_field_parts(b, AGENT_C_ROUTE, parts, 3);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A tap for the interface l, joined to it; NET, ADDR and ROUTE fields for the guest. */
static int take_link(struct nl *nl, int netns_fd, const struct nl_link_info *l, struct vmiso_nic *nic,
                     struct agent_buf *b)
{
        char tap[IFNAMSIZ], mac[MAC_STRLEN], mtu[16];
        int r, tap_index;

        snprintf(tap, sizeof(tap), "vmtap%d", l->ifindex);
        nic->tap_fd = tap_open_in_netns(netns_fd, tap);
        if (nic->tap_fd < 0)
                return err_prefix(nic->tap_fd, "network interface '%s'", l->name);
        snprintf(nic->name, sizeof(nic->name), "%s", l->name);
        memcpy(nic->mac, l->mac, 6);
        tap_index = nl_link_index(nl, tap);
        if (tap_index < 0)
                return err_set(tap_index, "network interface '%s': its tap '%s' vanished", l->name, tap);
        /* The tap carries the interface's frames: the same MTU, or large ones are dropped between them. */
        if ((l->mtu && (r = nl_link_set_mtu(nl, tap_index, l->mtu)) < 0) ||
            (r = nl_link_set_up(nl, tap_index)) < 0 ||
            (!l->up && (r = nl_link_set_up(nl, l->ifindex)) < 0) ||
            (r = tc_redirect_pair(nl, l->ifindex, tap_index)) < 0)
                return err_prefix(r, "network interface '%s'", l->name);
        snprintf(mtu, sizeof(mtu), "%u", l->mtu ? l->mtu : 1500);
        const char *parts[] = {l->name, mac_to_string(l->mac, mac), mtu};
        r = agent_buf_field_parts(b, AGENT_C_NET, parts, 3);
        return r < 0 ? r : put_addresses(nl, l, b);
}

int vmiso_net_setup(const struct oci_config *cfg, struct agent_buf *b, struct vmiso_net *ret)
{
        const struct oci_namespace *ns = config_find_namespace(cfg, NS_NET);
        _cleanup_close_ int netns = -EBADF, self = -EBADF;
        _cleanup_free_ struct nl_link_info *links = NULL;
        _cleanup_nl_ struct nl *nl = NULL;
        struct vmiso_net n = {};
        size_t n_links = 0;
        int r;

        /*
         * No network namespace: the runtime-spec's host network, which a VM cannot take over; a new
         * one (no path) that no one filled: loopback only. Either way the guest has lo alone.
         */
        if (!ns || !ns->path) {
                log_debug("vm isolation: no network namespace to join, the guest has loopback only");
                *ret = n;
                return 0;
        }
        netns = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (netns < 0)
                return err_set(negative_errno(),
                               "linux.namespaces: cannot open the network namespace '%s': %m", ns->path);
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self >= 0 && same_file(netns, self))
                return err_set(
                        -EINVAL,
                        "linux.namespaces: the network namespace '%s' is the runtime's own: a VM cannot "
                        "take over its interfaces",
                        ns->path);
        r = nl_open_in_netns(netns, &nl);
        if (r < 0)
                return err_prefix(r, "linux.namespaces: network namespace '%s'", ns->path);
        r = nl_link_list(nl, &links, &n_links);
        if (r < 0)
                return err_prefix(r, "cannot list the interfaces of '%s'", ns->path);
        for (size_t i = 0; i < n_links; i++) {
                if (!link_for_guest(&links[i]))
                        continue;
                if (n.n == VMISO_MAX_NICS) {
                        r = err_set(-E2BIG, "a VM-isolated container takes at most %d network interfaces",
                                    VMISO_MAX_NICS);
                        break;
                }
                n.nics[n.n].tap_fd = -EBADF;
                r = take_link(nl, netns, &links[i], &n.nics[n.n], b);
                n.n++;
                if (r < 0)
                        break;
        }
        if (r < 0) {
                vmiso_net_done(&n);
                return r;
        }
        *ret = n;
        return 0;
}
