/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcredirect.c - an interface and a tap back to back (ingress qdisc, u32 match-all, mirred egress
 * redirect), and taps opened in another namespace; see tcredirect.h.
 *
 * Message layout (rtnetlink tc, include/uapi/linux/rtnetlink.h, pkt_sched.h, pkt_cls.h,
 * tc_act/tc_mirred.h):
 *   qdisc:  struct tcmsg {ifindex, handle ffff:0, parent TC_H_INGRESS}, TCA_KIND "ingress"
 *   filter: struct tcmsg {ifindex, parent ffff:0, info = prio 1 << 16 | htons(ETH_P_ALL)},
 *           TCA_KIND "u32", TCA_OPTIONS { TCA_U32_SEL (struct tc_u32_sel, TC_U32_TERMINAL, one
 *           key 0/0), TCA_U32_ACT { 1 { TCA_ACT_KIND "mirred", TCA_ACT_OPTIONS {
 *           TCA_MIRRED_PARMS (struct tc_mirred, TC_ACT_STOLEN, TCA_EGRESS_REDIR, ifindex) } } } }
 */
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "error.h"
#include "tcredirect.h"
#include "util.h"

#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0) /* "ffff:" */
#define FILTER_PRIO    1

static struct nlmsghdr *tc_header(void *buf, uint16_t type, uint16_t flags, int ifindex, uint32_t handle,
                                  uint32_t parent, uint32_t info)
{
        struct nlmsghdr *h;
        struct tcmsg *t;

        memset(buf, 0, TC_MSG_SIZE);
        h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = type;
        h->nlmsg_flags = flags;
        t = mnl_nlmsg_put_extra_header(h, sizeof(*t));
        t->tcm_family = AF_UNSPEC;
        t->tcm_ifindex = ifindex;
        t->tcm_handle = handle;
        t->tcm_parent = parent;
        t->tcm_info = info;
        return h;
}

struct nlmsghdr *tc_msg_ingress_qdisc(void *buf, bool add, int ifindex)
{
        struct nlmsghdr *h;

        /*
         * A delete names no handle: the kernel then answers ENOENT both when the device never had
         * an ingress qdisc and when it had one that was deleted (tc_get_qdisc, Linux 6.1).
         */
        h = tc_header(buf, add ? RTM_NEWQDISC : RTM_DELQDISC, add ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex,
                      add ? INGRESS_HANDLE : 0, TC_H_INGRESS, 0);
        mnl_attr_put_strz(h, TCA_KIND, "ingress");
        return h;
}

struct nlmsghdr *tc_msg_redirect_filter(void *buf, int from_ifindex, int to_ifindex)
{
        /* struct tc_u32_sel ends in a flexible array of keys: one key (all zero) follows it. */
        _Alignas(struct tc_u32_sel) uint8_t sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)] = {0};
        struct tc_u32_sel *head = (struct tc_u32_sel *)sel;
        struct tc_mirred mirred = {
                .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = (uint32_t)to_ifindex};
        struct nlattr *opts, *acts, *act, *aopts;
        struct nlmsghdr *h;

        h = tc_header(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, from_ifindex, 0, INGRESS_HANDLE,
                      TC_H_MAKE((uint32_t)FILTER_PRIO << 16, htons(ETH_P_ALL)));
        head->flags = TC_U32_TERMINAL;
        head->nkeys = 1;
        mnl_attr_put_strz(h, TCA_KIND, "u32");
        opts = mnl_attr_nest_start(h, TCA_OPTIONS);
        /* One key with mask 0 matches every frame (u32_classify: (word ^ val) & mask == 0). */
        mnl_attr_put(h, TCA_U32_SEL, sizeof(sel), &sel);
        acts = mnl_attr_nest_start(h, TCA_U32_ACT);
        act = mnl_attr_nest_start(h, 1); /* the action's order in the list */
        mnl_attr_put_strz(h, TCA_ACT_KIND, "mirred");
        aopts = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
        mnl_attr_put(h, TCA_MIRRED_PARMS, sizeof(mirred), &mirred);
        mnl_attr_nest_end(h, aopts);
        mnl_attr_nest_end(h, act);
        mnl_attr_nest_end(h, acts);
        mnl_attr_nest_end(h, opts);
        return h;
}

/* A fresh ingress qdisc on ifindex with the redirect to to_ifindex. */
static int redirect_one(struct nl *nl, int ifindex, int to_ifindex)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[TC_MSG_SIZE];
        char what[96];
        int r;

        snprintf(what, sizeof(what), "remove the ingress qdisc of ifindex %d", ifindex);
        r = nl_request(nl, tc_msg_ingress_qdisc(buf, false, ifindex), ENOENT, what);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "add an ingress qdisc to ifindex %d", ifindex);
        r = nl_request(nl, tc_msg_ingress_qdisc(buf, true, ifindex), 0, what);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "redirect ifindex %d to ifindex %d", ifindex, to_ifindex);
        return nl_request(nl, tc_msg_redirect_filter(buf, ifindex, to_ifindex), 0, what);
}

int tc_redirect_pair(struct nl *nl, int a_ifindex, int b_ifindex)
{
        int r = redirect_one(nl, a_ifindex, b_ifindex);
        return r < 0 ? r : redirect_one(nl, b_ifindex, a_ifindex);
}

int tap_open_in_netns(int netns_fd, const char *name)
{
        _cleanup_close_ int self = -EBADF, fd = -EBADF;
        struct ifreq ifr = {};
        int r = 0;

        if (strlen(name) >= IFNAMSIZ)
                return err_set(-EINVAL, "tap name '%s' is longer than %d characters", name, IFNAMSIZ - 1);
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return negative_errno();
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return err_set(negative_errno(), "cannot enter the network namespace: %m");
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                r = err_set(negative_errno(), "cannot open /dev/net/tun: %m");
        if (setns(self, CLONE_NEWNET) < 0)
                return err_set(-EIO, "cannot return to the original network namespace: %m");
        if (r < 0)
                return r;
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        memcpy(ifr.ifr_name, name, strlen(name));
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return err_set(negative_errno(), "cannot create tap '%s': %m", name);
        return TAKE_FD(fd);
}
