/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - egress and ingress allow/deny lists of containers and networks.
 *
 * A list is ordered; the first rule that matches a new connection decides, and a connection
 * that no rule matches is allowed. A container's traffic must pass both its own list and its
 * network's list (a network's "deny" cannot be undone by a container's "allow").
 *
 *     --egress  allow=tcp:443           --egress deny=all
 *     --ingress allow=tcp:80@10.0.0.0/8 --ingress deny=all
 *
 *     RULE   := ACTION "=" TARGET
 *     ACTION := allow | deny
 *     TARGET := all | PROTO[:PORT[-PORT]][@CIDR] | CIDR
 *     PROTO  := tcp | udp | sctp | icmp | icmpv6 | any
 *
 * PORT is the destination port: the remote service for egress, the container's own port for
 * ingress (after the translation of a published port). CIDR is the remote side: destination for
 * egress, source for ingress. Replies of allowed connections always pass (conntrack).
 *
 * policy_to_nft() writes the rules of one chain in nft syntax: an allowed match returns to the
 * dispatching chain ("return"), a denied egress is rejected (the workload fails fast with
 * "administratively prohibited") and a denied ingress is dropped (no answer to a scanner).
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "cidr.h"

enum policy_action {
        POLICY_ALLOW,
        POLICY_DENY,
        _POLICY_ACTION_MAX,
        _POLICY_ACTION_INVALID = -EINVAL,
};

enum policy_proto {
        POLICY_PROTO_ANY,
        POLICY_PROTO_TCP,
        POLICY_PROTO_UDP,
        POLICY_PROTO_SCTP,
        POLICY_PROTO_ICMP,
        POLICY_PROTO_ICMPV6,
        _POLICY_PROTO_MAX,
        _POLICY_PROTO_INVALID = -EINVAL,
};

enum policy_dir {
        POLICY_EGRESS,
        POLICY_INGRESS,
        _POLICY_DIR_MAX,
        _POLICY_DIR_INVALID = -EINVAL,
};

struct policy_rule {
        enum policy_action action;
        enum policy_proto proto;
        uint16_t port_lo, port_hi; /* 0: any port */
        bool has_cidr;
        struct cidr cidr;
};

struct policy {
        struct policy_rule *rules;
        size_t n;
};

#define POLICY_RULES_MAX 256

const char *policy_dir_to_string(enum policy_dir d);

/* Parse one rule; what names the option in messages ("--egress"). */
int policy_rule_parse(const char *s, const char *what, struct policy_rule *ret);
/* Parse every rule of a NULL-terminated list into p (replacing its content). */
int policy_parse(char *const *rules, const char *what, struct policy *p);
void policy_done(struct policy *p);
/* The canonical text of a rule ("allow=tcp:443@10.0.0.0/8"), written to f. */
void policy_rule_format(const struct policy_rule *r, FILE *f);
/* The canonical texts of every rule, as a malloc'd strv. */
char **policy_to_strv(const struct policy *p);
/* One "add rule TABLE CHAIN ..." command per policy rule, for a chain of direction dir. */
void policy_to_nft(const struct policy *p, enum policy_dir dir, const char *table, const char *chain,
                   FILE *f);
