/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c - allow/deny lists: parsing, canonical text, nft rules; see policy.h. */
#include "error.h"
#include "policy.h"
#include "util.h"

static const char *const proto_names[_POLICY_PROTO_MAX] = {
        [POLICY_PROTO_ANY] = "any",   [POLICY_PROTO_TCP] = "tcp",   [POLICY_PROTO_UDP] = "udp",
        [POLICY_PROTO_SCTP] = "sctp", [POLICY_PROTO_ICMP] = "icmp", [POLICY_PROTO_ICMPV6] = "icmpv6",
};

/* nft's names of the layer-4 protocols (meta l4proto). */
static const char *const proto_nft[_POLICY_PROTO_MAX] = {
        [POLICY_PROTO_TCP] = "tcp",   [POLICY_PROTO_UDP] = "udp",          [POLICY_PROTO_SCTP] = "sctp",
        [POLICY_PROTO_ICMP] = "icmp", [POLICY_PROTO_ICMPV6] = "ipv6-icmp",
};

const char *policy_dir_to_string(enum policy_dir d)
{
        return d == POLICY_EGRESS ? "egress" : d == POLICY_INGRESS ? "ingress" : "?";
}

static bool proto_has_ports(enum policy_proto p)
{
        return p == POLICY_PROTO_TCP || p == POLICY_PROTO_UDP || p == POLICY_PROTO_SCTP;
}

static int parse_port(const char *s, uint16_t *ret)
{
        uint32_t v;

        if (!*s || s[0] == '0' || parse_u32(s, &v) < 0 || v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

static int parse_cidr_or_addr(const char *s, const char *what, const char *rule, struct cidr *ret)
{
        struct ipaddr a;

        if (!strchr(s, '/') && ipaddr_parse(s, &a) == 0) {
                *ret = (struct cidr){.addr = a, .len = ipaddr_bits(a.family)};
                return 0;
        }
        if (cidr_parse(s, what, ret) < 0)
                return err_prefix(-EINVAL, "rule '%s'", rule);
        return 0;
}

int policy_rule_parse(const char *s, const char *what, struct policy_rule *ret)
{
        struct policy_rule r = {};
        char buf[128], *target, *at, *ports;
        struct ipaddr probe;

        if (!s || strlen(s) >= sizeof(buf))
                return err_set(-EINVAL, "%s: invalid rule '%s'", what, strempty(s));
        snprintf(buf, sizeof(buf), "%s", s);
        target = strchr(buf, '=');
        if (!target)
                return err_set(-EINVAL, "%s: rule '%s' needs allow= or deny=", what, s);
        *target++ = 0;
        if (streq(buf, "allow"))
                r.action = POLICY_ALLOW;
        else if (streq(buf, "deny"))
                r.action = POLICY_DENY;
        else
                return err_set(-EINVAL, "%s: unknown action '%s' in rule '%s' (allow or deny)", what, buf,
                               s);
        if (streq(target, "all")) {
                *ret = r;
                return 0;
        }

        at = strchr(target, '@');
        if (at)
                *at++ = 0;
        else if (strchr(target, '/') || ipaddr_parse(target, &probe) == 0) {
                /* A bare CIDR or address: every protocol to (egress) or from (ingress) it. */
                at = target;
                target = (char *)"";
        }
        if (at) {
                if (parse_cidr_or_addr(at, what, s, &r.cidr) < 0)
                        return -EINVAL;
                r.has_cidr = true;
        }

        ports = strchr(target, ':');
        if (ports)
                *ports++ = 0;
        if (*target) {
                int p = -1;
                for (int i = 0; i < _POLICY_PROTO_MAX; i++)
                        if (streq(target, proto_names[i]))
                                p = i;
                if (p < 0)
                        return err_set(-EINVAL,
                                       "%s: unknown protocol '%s' in rule '%s' (tcp, udp, sctp, icmp, "
                                       "icmpv6, any)",
                                       what, target, s);
                r.proto = (enum policy_proto)p;
        }
        if (ports) {
                char *dash = strchr(ports, '-');
                if (!proto_has_ports(r.proto))
                        return err_set(-EINVAL, "%s: rule '%s': ports need tcp, udp or sctp", what, s);
                if (dash)
                        *dash++ = 0;
                if (parse_port(ports, &r.port_lo) < 0 || parse_port(dash ? dash : ports, &r.port_hi) < 0 ||
                    r.port_lo > r.port_hi)
                        return err_set(-EINVAL, "%s: rule '%s': invalid port or port range", what, s);
        }
        if (r.has_cidr && ((r.proto == POLICY_PROTO_ICMP && r.cidr.addr.family != AF_INET) ||
                           (r.proto == POLICY_PROTO_ICMPV6 && r.cidr.addr.family != AF_INET6)))
                return err_set(-EINVAL, "%s: rule '%s': the protocol and the address family differ", what,
                               s);
        if (!*target && !r.has_cidr)
                return err_set(-EINVAL, "%s: rule '%s' has no target (all, a protocol or a CIDR)", what, s);
        *ret = r;
        return 0;
}

int policy_parse(char *const *rules, const char *what, struct policy *p)
{
        struct policy_rule *v = NULL;
        size_t n = strv_length(rules);

        if (n > POLICY_RULES_MAX)
                return err_set(-E2BIG, "%s: too many rules (at most %d)", what, POLICY_RULES_MAX);
        if (n > 0) {
                v = calloc(n, sizeof(*v));
                if (!v)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                int r = policy_rule_parse(rules[i], what, &v[i]);
                if (r < 0) {
                        free(v);
                        return r;
                }
        }
        policy_done(p);
        p->rules = v;
        p->n = n;
        return 0;
}

void policy_done(struct policy *p)
{
        free(p->rules);
        p->rules = NULL;
        p->n = 0;
}

void policy_rule_format(const struct policy_rule *r, FILE *f)
{
        char c[CIDR_STRLEN];

        fputs(r->action == POLICY_ALLOW ? "allow=" : "deny=", f);
        if (r->proto == POLICY_PROTO_ANY && !r->has_cidr) {
                fputs("all", f);
                return;
        }
        if (r->proto != POLICY_PROTO_ANY || !r->has_cidr)
                fputs(proto_names[r->proto], f);
        if (r->port_lo && r->port_lo == r->port_hi)
                fprintf(f, ":%u", r->port_lo);
        else if (r->port_lo)
                fprintf(f, ":%u-%u", r->port_lo, r->port_hi);
        if (r->has_cidr)
                fprintf(f, "%s%s", r->proto != POLICY_PROTO_ANY ? "@" : "", cidr_to_string(&r->cidr, c));
}

char **policy_to_strv(const struct policy *p)
{
        char **l = calloc(p->n + 1, sizeof(char *));

        if (!l)
                return NULL;
        for (size_t i = 0; i < p->n; i++) {
                size_t size = 0;
                FILE *f = open_memstream(&l[i], &size);
                if (!f) {
                        strv_free(l);
                        return NULL;
                }
                policy_rule_format(&p->rules[i], f);
                if (fclose(f) != 0) {
                        strv_free(l);
                        return NULL;
                }
        }
        return l;
}

void policy_to_nft(const struct policy *p, enum policy_dir dir, const char *table, const char *chain,
                   FILE *f)
{
        for (size_t i = 0; i < p->n; i++) {
                const struct policy_rule *r = &p->rules[i];
                char c[CIDR_STRLEN];

                fprintf(f, "add rule %s %s ", table, chain);
                if (r->has_cidr)
                        fprintf(f, "%s %s %s ", r->cidr.addr.family == AF_INET ? "ip" : "ip6",
                                dir == POLICY_EGRESS ? "daddr" : "saddr", cidr_to_string(&r->cidr, c));
                if (r->proto != POLICY_PROTO_ANY)
                        fprintf(f, "meta l4proto %s ", proto_nft[r->proto]);
                if (r->port_lo && r->port_lo == r->port_hi)
                        fprintf(f, "th dport %u ", r->port_lo);
                else if (r->port_lo)
                        fprintf(f, "th dport %u-%u ", r->port_lo, r->port_hi);
                if (r->action == POLICY_ALLOW)
                        fputs("return", f);
                else if (dir == POLICY_EGRESS)
                        fputs("counter reject with icmpx admin-prohibited", f);
                else
                        fputs("counter drop", f);
                fputc('\n', f);
        }
}
