/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcredirect.h - join an interface and a tap back to back with traffic control, and open taps in
 * another network namespace: the network of a VM-isolated container (docs/agent.md, "Networks").
 *
 * A container's network namespace holds its interface (a veth peer made by hull's engine, by
 * netavark or by a CNI plugin) with the container's MAC and addresses. For a container that runs
 * in a microVM the guest must own that interface's traffic. Rather than move addresses or bridge
 * anything, each direction is one rule: an ingress qdisc on the interface and on the tap, and on
 * each a u32 filter that matches every frame (one key: mask 0, value 0) with a mirred action that
 * redirects it to the egress of the other device. Frames cross unchanged; the guest's NIC carries
 * the interface's MAC, so peers cannot tell the difference. The namespace's own stack keeps its
 * addresses but never sees a frame again.
 *
 * Kernel pieces: NET_SCH_INGRESS, NET_CLS_U32, NET_CLS_ACT with NET_ACT_MIRRED (built in on
 * hull's build hosts; modules sch_ingress, cls_u32, act_mirred in Debian's cloud kernel, which
 * the kernel loads on demand through request_module("sch_%s"/"cls_%s"/"act_%s") when modprobe is
 * present, else they must be loaded first). u32 rather than matchall or flower: the kernels hull
 * targets do not all have those.
 *
 * Ownership: everything made here lives in the container's namespace and goes with it; a tap
 * opened by tap_open_in_netns() is not persistent, so it also goes with the last fd.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "netlink.h"

/* Room for any message built below. */
#define TC_MSG_SIZE 512

/*
 * Build into buf (TC_MSG_SIZE bytes, aligned for struct nlmsghdr) an RTM_NEWQDISC (add) or
 * RTM_DELQDISC (!add) of the ingress qdisc of ifindex; returns the message.
 */
struct nlmsghdr *tc_msg_ingress_qdisc(void *buf, bool add, int ifindex);
/*
 * Build into buf an RTM_NEWTFILTER on the ingress qdisc of from: u32, every protocol, one key that
 * matches every frame, action mirred egress redirect to to_ifindex (the frame is stolen).
 */
struct nlmsghdr *tc_msg_redirect_filter(void *buf, int from_ifindex, int to_ifindex);

/*
 * Redirect every frame that arrives on a to the egress of b, and every frame that arrives on b
 * to the egress of a. An ingress qdisc either had (a restarted VM's, pointing at a tap that is
 * gone) is replaced. 0 or -errno with err_set().
 */
int tc_redirect_pair(struct nl *nl, int a_ifindex, int b_ifindex);

/*
 * Open a tap named name (IFF_TAP | IFF_NO_PI, not persistent) in the network namespace netns_fd
 * refers to, and return its fd (close-on-exec, blocking). The calling thread enters the namespace
 * for the open only: /dev/net/tun creates its device in the namespace it was opened in.
 */
int tap_open_in_netns(int netns_fd, const char *name);
