/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-net-tcredirect.c - the traffic-control messages that join an interface and a VM's tap
 * (tcredirect.c), parsed back attribute by attribute as the kernel would read them.
 */
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "tcredirect.h"
#include "test.h"

/* The attribute of type `type` directly inside [p, p + len), or NULL. */
static const struct nlattr *find_attr(const void *p, size_t len, uint16_t type)
{
        const struct nlattr *attr;

        mnl_attr_for_each_payload(p, len)
        {
                if (mnl_attr_get_type(attr) == type)
                        return attr;
        }
        return NULL;
}

static const struct nlattr *find_nested(const struct nlattr *nest, uint16_t type)
{
        return find_attr(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), type);
}

static const struct nlattr *find_top(const struct nlmsghdr *h, uint16_t type)
{
        return find_attr(mnl_nlmsg_get_payload_offset(h, sizeof(struct tcmsg)),
                         h->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(struct tcmsg)), type);
}

TEST(ingress_qdisc_add_and_delete)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[TC_MSG_SIZE];
        struct nlmsghdr *h = tc_msg_ingress_qdisc(buf, true, 7);
        const struct tcmsg *t = mnl_nlmsg_get_payload(h);
        const struct nlattr *kind;

        ASSERT_EQ(h->nlmsg_type, RTM_NEWQDISC);
        ASSERT_TRUE(h->nlmsg_flags & NLM_F_CREATE);
        ASSERT_TRUE(h->nlmsg_flags & NLM_F_EXCL);
        ASSERT_EQ(t->tcm_ifindex, 7);
        ASSERT_EQ(t->tcm_parent, TC_H_INGRESS);
        ASSERT_EQ(t->tcm_handle, 0xffff0000u);
        kind = find_top(h, TCA_KIND);
        ASSERT_TRUE(kind != NULL);
        ASSERT_STREQ(mnl_attr_get_str(kind), "ingress");
        ASSERT_TRUE(h->nlmsg_len <= TC_MSG_SIZE);

        /* a delete names no handle, so that "none there" is always ENOENT */
        h = tc_msg_ingress_qdisc(buf, false, 9);
        t = mnl_nlmsg_get_payload(h);
        ASSERT_EQ(h->nlmsg_type, RTM_DELQDISC);
        ASSERT_EQ(h->nlmsg_flags & NLM_F_CREATE, 0);
        ASSERT_EQ(t->tcm_ifindex, 9);
        ASSERT_EQ(t->tcm_parent, TC_H_INGRESS);
        ASSERT_EQ(t->tcm_handle, 0);
}

TEST(redirect_filter_matches_every_frame_and_steals_it)
{
        _Alignas(NLMSG_ALIGNTO) uint8_t buf[TC_MSG_SIZE];
        struct nlmsghdr *h = tc_msg_redirect_filter(buf, 3, 12);
        const struct tcmsg *t = mnl_nlmsg_get_payload(h);
        const struct nlattr *kind, *opts, *sel, *acts, *act, *aopts, *parms;
        const struct tc_u32_sel *s;
        const struct tc_mirred *m;

        ASSERT_EQ(h->nlmsg_type, RTM_NEWTFILTER);
        ASSERT_TRUE(h->nlmsg_len <= TC_MSG_SIZE);
        ASSERT_EQ(t->tcm_ifindex, 3);
        ASSERT_EQ(t->tcm_parent, 0xffff0000u);
        /* priority 1, every protocol */
        ASSERT_EQ(TC_H_MAJ(t->tcm_info) >> 16, 1);
        ASSERT_EQ(TC_H_MIN(t->tcm_info), htons(ETH_P_ALL));
        kind = find_top(h, TCA_KIND);
        ASSERT_TRUE(kind != NULL);
        ASSERT_STREQ(mnl_attr_get_str(kind), "u32");

        opts = find_top(h, TCA_OPTIONS);
        ASSERT_TRUE(opts != NULL);
        sel = find_nested(opts, TCA_U32_SEL);
        ASSERT_TRUE(sel != NULL);
        ASSERT_EQ(mnl_attr_get_payload_len(sel), sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key));
        s = mnl_attr_get_payload(sel);
        ASSERT_EQ(s->nkeys, 1);
        ASSERT_TRUE(s->flags & TC_U32_TERMINAL);
        ASSERT_EQ(s->keys[0].mask, 0);
        ASSERT_EQ(s->keys[0].val, 0);

        acts = find_nested(opts, TCA_U32_ACT);
        ASSERT_TRUE(acts != NULL);
        act = find_nested(acts, 1);
        ASSERT_TRUE(act != NULL);
        kind = find_nested(act, TCA_ACT_KIND);
        ASSERT_TRUE(kind != NULL);
        ASSERT_STREQ(mnl_attr_get_str(kind), "mirred");
        aopts = find_nested(act, TCA_ACT_OPTIONS);
        ASSERT_TRUE(aopts != NULL);
        parms = find_nested(aopts, TCA_MIRRED_PARMS);
        ASSERT_TRUE(parms != NULL);
        ASSERT_EQ(mnl_attr_get_payload_len(parms), sizeof(struct tc_mirred));
        m = mnl_attr_get_payload(parms);
        ASSERT_EQ(m->eaction, TCA_EGRESS_REDIR);
        ASSERT_EQ(m->action, TC_ACT_STOLEN);
        ASSERT_EQ(m->ifindex, 12);
}

TEST(tap_names_are_bounded)
{
        ASSERT_ERR(tap_open_in_netns(-1, "a-name-longer-than-15"), -EINVAL);
}
