/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-net-rules.c - what becomes nftables rules and files: policies (policy.c), published
 * ports (ports.c), the generated transactions (nft.c), hosts/resolv.conf (hosts.c).
 */
#include "error.h"
#include "hosts.h"
#include "nft.h"
#include "policy.h"
#include "ports.h"
#include "test.h"
#include "util.h"

/* What a printer writes, as a malloc'd string. */
#define PRINTED(fn, arg)                                  \
        ({                                                \
                char *_out = NULL;                        \
                size_t _size = 0;                         \
                FILE *_f = open_memstream(&_out, &_size); \
                fn(arg, _f);                              \
                fclose(_f);                               \
                _out;                                     \
        })

static char *rule_text(const struct policy_rule *r)
{
        return PRINTED(policy_rule_format, r);
}

/* Parse a rule and print it back in canonical form. */
static void check_canonical(const char *in, const char *expect)
{
        struct policy_rule r;
        _cleanup_free_ char *t = NULL;

        if (policy_rule_parse(in, "--egress", &r) < 0)
                TEST_FAIL("rule '%s' rejected: %s", in, err_msg(-EINVAL));
        t = rule_text(&r);
        if (strcmp(t, expect) != 0)
                TEST_FAIL("rule '%s' printed as '%s', expected '%s'", in, t, expect);
}

TEST(policy_parse_and_format)
{
        check_canonical("allow=tcp:443", "allow=tcp:443");
        check_canonical("deny=all", "deny=all");
        check_canonical("allow=udp:53@10.0.0.0/8", "allow=udp:53@10.0.0.0/8");
        check_canonical("allow=tcp:8000-8080", "allow=tcp:8000-8080");
        check_canonical("allow=tcp:80-80", "allow=tcp:80");
        check_canonical("deny=10.1.0.0/16", "deny=10.1.0.0/16");
        check_canonical("deny=192.0.2.7", "deny=192.0.2.7/32");
        check_canonical("deny=fd00::/8", "deny=fd00::/8");
        check_canonical("allow=icmp", "allow=icmp");
        check_canonical("allow=icmpv6@fd00::/8", "allow=icmpv6@fd00::/8");
        check_canonical("deny=tcp@172.16.0.0/12", "deny=tcp@172.16.0.0/12");
        check_canonical("allow=any@10.0.0.0/8", "allow=10.0.0.0/8");
}

TEST(policy_rejects)
{
        struct policy_rule r;
        const char *bad[][2] = {
                {"allow", "needs allow= or deny="},
                {"permit=tcp", "unknown action 'permit'"},
                {"allow=", "has no target"},
                {"allow=tcp:0", "invalid port"},
                {"allow=tcp:65536", "invalid port"},
                {"allow=tcp:90-80", "invalid port"},
                {"allow=tcp:080", "invalid port"},
                {"allow=icmp:8", "ports need tcp, udp or sctp"},
                {"allow=gre", "unknown protocol 'gre'"},
                {"allow=tcp@10.0.0.1/8", "has host bits set"},
                {"allow=icmp@fd00::/8", "address family differ"},
                {"allow=icmpv6@10.0.0.0/8", "address family differ"},
                {"deny=10.0.0.0/33", "invalid CIDR"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err_clear();
                ASSERT_ERR(policy_rule_parse(bad[i][0], "--egress", &r), -EINVAL);
                ASSERT_CONTAINS(err_msg(-EINVAL), bad[i][1]);
                ASSERT_CONTAINS(err_msg(-EINVAL), "--egress");
        }
}

TEST(policy_to_nft_text)
{
        char *rules[] = {"allow=tcp:443", "allow=udp:53@10.0.0.0/8", "allow=icmpv6", "deny=all", NULL};
        struct policy p = {};
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f;

        ASSERT_OK(policy_parse(rules, "--egress", &p));
        ASSERT_EQ(p.n, 4);
        f = open_memstream(&out, &size);
        policy_to_nft(&p, POLICY_EGRESS, "inet hull", "e-x-eg", f);
        fclose(f);
        ASSERT_STREQ(out,
                     "add rule inet hull e-x-eg meta l4proto tcp th dport 443 return\n"
                     "add rule inet hull e-x-eg ip daddr 10.0.0.0/8 meta l4proto udp th dport 53 return\n"
                     "add rule inet hull e-x-eg meta l4proto ipv6-icmp return\n"
                     "add rule inet hull e-x-eg counter reject with icmpx admin-prohibited\n");
        free(out);
        out = NULL;
        f = open_memstream(&out, &size);
        policy_to_nft(&p, POLICY_INGRESS, "inet hull", "e-x-in", f);
        fclose(f);
        ASSERT_CONTAINS(out, "ip saddr 10.0.0.0/8 meta l4proto udp th dport 53 return\n");
        ASSERT_CONTAINS(out, "e-x-in counter drop\n");
        _cleanup_strv_free_ char **l = policy_to_strv(&p);
        ASSERT_EQ(strv_length(l), 4);
        ASSERT_STREQ(l[1], "allow=udp:53@10.0.0.0/8");
        policy_done(&p);
        char *many[POLICY_RULES_MAX + 2];
        for (int i = 0; i < POLICY_RULES_MAX + 1; i++)
                many[i] = (char *)"deny=all";
        many[POLICY_RULES_MAX + 1] = NULL;
        ASSERT_ERR(policy_parse(many, "--egress", &p), -E2BIG);
}

static void ports(const char *spec, struct port_map **list, size_t *n)
{
        if (ports_parse(spec, list, n) < 0)
                TEST_FAIL("'%s' rejected: %s", spec, err_msg(-EINVAL));
}

static char *port_text(const struct port_map *p)
{
        return PRINTED(port_map_format, p);
}

TEST(ports_parse_specs)
{
        _cleanup_free_ struct port_map *l = NULL;
        size_t n = 0;
        const char *expect[] = {
                "0.0.0.0:0->80/tcp",       "0.0.0.0:8080->80/tcp", "127.0.0.1:9090->90/udp",
                "127.0.0.1:0->91/tcp",     "[::1]:8081->81/tcp",   "0.0.0.0:7000->8000/sctp",
                "0.0.0.0:7001->8001/sctp", "0.0.0.0:0->5000/tcp",  "0.0.0.0:0->5001/tcp",
                "0.0.0.0:0->443/udp",
        };

        ports("80", &l, &n);
        ports("8080:80", &l, &n);
        ports("127.0.0.1:9090:90/udp", &l, &n);
        ports("127.0.0.1::91", &l, &n);
        ports("[::1]:8081:81", &l, &n);
        ports("7000-7001:8000-8001/sctp", &l, &n);
        ports("5000-5001", &l, &n);
        ASSERT_OK(ports_parse_expose("443/udp", &l, &n));
        ASSERT_EQ(n, ELEMENTSOF(expect));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *t = port_text(&l[i]);
                ASSERT_STREQ(t, expect[i]);
        }
}

TEST(ports_reject)
{
        _cleanup_free_ struct port_map *l = NULL;
        size_t n = 0;
        const char *bad[][2] = {
                {"", "empty"},
                {"80/icmp", "unknown protocol 'icmp'"},
                {"0", "invalid container port"},
                {"65536", "invalid container port"},
                {"a:80", "invalid host port"},
                {"1.2.3:80:80", "invalid host address"},
                {"::1:80:80", "brackets"},
                {"[::1]80:80", "[IPV6]:HOSTPORT"},
                {"[1.2.3.4]:80:80", "invalid IPv6"},
                {"8000-8010:80-81", "differ in length"},
                {"90-80", "invalid container port"},
                {"8080:080", "invalid container port"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err_clear();
                ASSERT_TRUE(ports_parse(bad[i][0], &l, &n) < 0);
                ASSERT_CONTAINS(err_msg(-EINVAL), bad[i][1]);
        }
        ASSERT_EQ(n, 0);
        ASSERT_ERR(ports_parse("1-65535", &l, &n), -E2BIG);
        ASSERT_TRUE(n <= PORTS_MAX);
}

static char *gen(void (*fn)(FILE *, const void *), const void *arg)
{
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        fn(f, arg);
        fclose(f);
        return out;
}

static void gen_net_add(FILE *f, const void *a)
{
        nft_gen_network_add(f, a);
}
static void gen_net_del(FILE *f, const void *a)
{
        nft_gen_network_del(f, a);
}
static void gen_ep_add(FILE *f, const void *a)
{
        nft_gen_endpoint_add(f, a);
}
static void gen_ep_del(FILE *f, const void *a)
{
        nft_gen_endpoint_del(f, a);
}
static void gen_base(FILE *f, const void *a)
{
        nft_gen_base(f);
}

/* Every line of a deletion deletes (or flushes) one object: nft_run_lenient() retries them alone. */
static void check_one_object_per_line(const char *text)
{
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;

        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (!startswith(l, "delete ") && !startswith(l, "flush chain "))
                        TEST_FAIL("unexpected line in a deletion: %s", l);
                if (strchr(l, ','))
                        TEST_FAIL("more than one element in: %s", l);
        }
}

TEST(nft_network_rules)
{
        struct cidr s4, s6;
        struct ipaddr g4, g6;
        struct policy eg = {}, in = {};
        char *egr[] = {"deny=tcp:25", NULL};
        _cleanup_free_ char *base = NULL, *add = NULL, *del = NULL, *iadd = NULL;

        ASSERT_OK(cidr_parse("10.89.0.0/24", "t", &s4));
        ASSERT_OK(cidr_parse("fd00:1::/64", "t", &s6));
        ASSERT_OK(ipaddr_parse("10.89.0.1", &g4));
        ASSERT_OK(ipaddr_parse("fd00:1::1", &g6));
        ASSERT_OK(policy_parse(egr, "--egress", &eg));
        struct nft_network net = {.id = "0123456789ab",
                                  .bridge = "hb-0123456789ab",
                                  .dns = true,
                                  .subnet4 = &s4,
                                  .subnet6 = &s6,
                                  .gateway4 = &g4,
                                  .gateway6 = &g6,
                                  .egress = &eg,
                                  .ingress = &in};

        base = gen(gen_base, NULL);
        ASSERT_CONTAINS(base, "add table inet hull\n");
        ASSERT_CONTAINS(base, "add map inet hull pub4 { type ipv4_addr . inet_proto . inet_service : "
                              "ipv4_addr . inet_service; }\n");
        ASSERT_CONTAINS(base, "add map inet hull pub4any { type inet_proto . inet_service : "
                              "ipv4_addr . inet_service; }\n");
        ASSERT_CONTAINS(base, "flush chain inet hull forward\n");
        ASSERT_CONTAINS(base,
                        "add rule inet hull nat_pre ip daddr 127.0.0.0/8 iifname @bridges counter drop\n");
        ASSERT_CONTAINS(base, "type nat hook output priority -100;");
        ASSERT_CONTAINS(base,
                        "add rule bridge hull ports ether type ip iifname . ether saddr . ip saddr @ok4 "
                        "accept\n");
        ASSERT_CONTAINS(base, "add rule bridge hull ports counter drop\n");

        add = gen(gen_net_add, &net);
        ASSERT_CONTAINS(add, "add element inet hull bridges { \"hb-0123456789ab\" }\n");
        ASSERT_CONTAINS(
                add, "add element inet hull from_net { \"hb-0123456789ab\" : jump n-0123456789ab-from }\n");
        ASSERT_CONTAINS(add, "add element inet hull snat4 { 10.89.0.0/24 : jump n-0123456789ab-post }\n");
        ASSERT_CONTAINS(add, "add element inet hull snat6 { fd00:1::/64 : jump n-0123456789ab-post }\n");
        ASSERT_CONTAINS(add, "add rule inet hull n-0123456789ab-post masquerade\n");
        ASSERT_CONTAINS(add, "add rule inet hull n-0123456789ab-from oifname @bridges counter drop\n");
        ASSERT_CONTAINS(add, "ip daddr 10.89.0.1 meta l4proto { tcp, udp } th dport 53 accept\n");
        ASSERT_CONTAINS(add,
                        "add rule inet hull n-0123456789ab-eg meta l4proto tcp th dport 25 counter reject");
        ASSERT_TRUE(strstr(add, "n-0123456789ab-host counter drop") == NULL);

        net.internal = true;
        iadd = gen(gen_net_add, &net);
        ASSERT_CONTAINS(
                iadd, "add rule inet hull n-0123456789ab-from counter reject with icmpx admin-prohibited\n");
        ASSERT_CONTAINS(iadd, "add rule inet hull n-0123456789ab-host counter drop\n");
        ASSERT_TRUE(strstr(iadd, "-post masquerade\n") == NULL);

        del = gen(gen_net_del, &net);
        check_one_object_per_line(del);
        ASSERT_CONTAINS(del, "delete chain inet hull n-0123456789ab-post\n");
        ASSERT_CONTAINS(del, "delete element inet hull snat6 { fd00:1::/64 }\n");
        policy_done(&eg);
}

TEST(nft_endpoint_rules)
{
        struct ipaddr ip4, ip6, lo;
        struct policy eg = {}, in = {};
        char *egr[] = {"allow=tcp:443", "deny=all", NULL};
        _cleanup_free_ struct port_map *ports_list = NULL;
        size_t n = 0;
        _cleanup_free_ char *add = NULL, *del = NULL;

        ASSERT_OK(ipaddr_parse("10.89.0.2", &ip4));
        ASSERT_OK(ipaddr_parse("fd00:1::2", &ip6));
        ASSERT_OK(ipaddr_parse("127.0.0.1", &lo));
        ASSERT_OK(policy_parse(egr, "--egress", &eg));
        ports("8080:80", &ports_list, &n);
        ports("127.0.0.1:9090:90/udp", &ports_list, &n);
        ports("[::]:7070:70", &ports_list, &n);
        static const uint8_t mac[6] = {2, 0, 0, 0, 0, 7};
        struct nft_endpoint ep = {.id = "aaaaaaaaaaaa",
                                  .host_ifname = "vhaaaaaaaaaaaa",
                                  .mac = mac,
                                  .ip4 = &ip4,
                                  .ip6 = &ip6,
                                  .ports = ports_list,
                                  .n_ports = n,
                                  .egress = &eg,
                                  .ingress = &in};

        add = gen(gen_ep_add, &ep);
        ASSERT_CONTAINS(add, "add element bridge hull guard { \"vhaaaaaaaaaaaa\" }\n");
        ASSERT_CONTAINS(add, "add element bridge hull mac { \"vhaaaaaaaaaaaa\" . 02:00:00:00:00:07 }\n");
        ASSERT_CONTAINS(
                add, "add element bridge hull ok4 { \"vhaaaaaaaaaaaa\" . 02:00:00:00:00:07 . 10.89.0.2 }\n");
        ASSERT_CONTAINS(
                add, "add element bridge hull ok6 { \"vhaaaaaaaaaaaa\" . 02:00:00:00:00:07 . fd00:1::2 }\n");
        ASSERT_TRUE(strstr(add, "add chain") == NULL || strstr(add, "spoof") == NULL);
        ASSERT_CONTAINS(add, "add element inet hull pub4any { tcp . 8080 : 10.89.0.2 . 80 }\n");
        ASSERT_CONTAINS(add, "add element inet hull pub6any { tcp . 8080 : fd00:1::2 . 80 }\n");
        ASSERT_CONTAINS(add, "add element inet hull pub4 { 127.0.0.1 . udp . 9090 : 10.89.0.2 . 90 }\n");
        /* "::" binds IPv6 only */
        ASSERT_CONTAINS(add, "add element inet hull pub6any { tcp . 7070 : fd00:1::2 . 70 }\n");
        ASSERT_TRUE(strstr(add, "pub4any { tcp . 7070") == NULL);
        ASSERT_CONTAINS(add, "add element inet hull eg4 { 10.89.0.2 : jump e-aaaaaaaaaaaa-eg }\n");
        ASSERT_CONTAINS(add, "add element inet hull eg6 { fd00:1::2 : jump e-aaaaaaaaaaaa-eg }\n");
        ASSERT_TRUE(strstr(add, "e-aaaaaaaaaaaa-in") == NULL); /* no ingress list, no chain */

        del = gen(gen_ep_del, &ep);
        check_one_object_per_line(del);
        ASSERT_CONTAINS(del, "delete element inet hull pub4any { tcp . 8080 }\n");
        ASSERT_CONTAINS(del, "delete element inet hull eg4 { 10.89.0.2 }\n");
        ASSERT_CONTAINS(
                del,
                "delete element bridge hull ok4 { \"vhaaaaaaaaaaaa\" . 02:00:00:00:00:07 . 10.89.0.2 }\n");
        policy_done(&eg);
        (void)lo;
}

TEST(resolv_conf)
{
        struct resolv_conf rc;
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(resolv_conf_parse("# comment\nnameserver 127.0.0.53\nnameserver 1.1.1.1 # cloud\n"
                                    "nameserver fe80::1%eth0\nnameserver bogus\n"
                                    "domain a.example\nsearch b.example c.example\noptions edns0 trust-ad\n"
                                    "  nameserver\t9.9.9.9\r\n",
                                    &rc));
        ASSERT_EQ(strv_length(rc.nameservers), 3);
        ASSERT_STREQ(rc.nameservers[1], "1.1.1.1");
        ASSERT_STREQ(rc.nameservers[2], "9.9.9.9");
        ASSERT_EQ(strv_length(rc.search), 2); /* the last search/domain line wins */
        ASSERT_STREQ(rc.search[0], "b.example");
        ASSERT_EQ(strv_length(rc.options), 2);
        text = resolv_conf_format(&rc);
        ASSERT_STREQ(text, "# generated by hull\nsearch b.example c.example\nnameserver 127.0.0.53\n"
                           "nameserver 1.1.1.1\nnameserver 9.9.9.9\noptions edns0 trust-ad\n");
        resolv_conf_done(&rc);
}

TEST(hosts_file)
{
        struct ipaddr ip4, ip6, gw;
        char *add[] = {"db.local:10.1.2.3", "v6host:fd00::9", "gw=host-gateway", NULL};
        char *bad1[] = {"nocolon", NULL}, *bad2[] = {"-x:1.2.3.4", NULL}, *bad3[] = {"x:1.2.3", NULL};
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(ipaddr_parse("10.89.0.2", &ip4));
        ASSERT_OK(ipaddr_parse("fd00::2", &ip6));
        ASSERT_OK(ipaddr_parse("10.89.0.1", &gw));
        struct hosts_config c = {.hostname = "web1",
                                 .name = "web",
                                 .ip4 = &ip4,
                                 .ip6 = &ip6,
                                 .gateway = &gw,
                                 .add_hosts = add};
        ASSERT_OK(hosts_format(&c, &text));
        ASSERT_CONTAINS(text, "127.0.0.1\tlocalhost\n");
        ASSERT_CONTAINS(text, "10.89.0.2\tweb1 web\n");
        ASSERT_CONTAINS(text, "fd00::2\tweb1 web\n");
        ASSERT_CONTAINS(text, "10.89.0.1\thost.hull.internal\n");
        ASSERT_CONTAINS(text, "10.1.2.3\tdb.local\n");
        ASSERT_CONTAINS(text, "fd00::9\tv6host\n");
        ASSERT_CONTAINS(text, "10.89.0.1\tgw\n");
        c.add_hosts = bad1;
        ASSERT_ERR(hosts_format(&c, &(char *){NULL}), -EINVAL);
        c.add_hosts = bad2;
        ASSERT_ERR(hosts_format(&c, &(char *){NULL}), -EINVAL);
        c.add_hosts = bad3;
        ASSERT_ERR(hosts_format(&c, &(char *){NULL}), -EINVAL);
        c.gateway = NULL;
        c.add_hosts = add;
        ASSERT_ERR(hosts_format(&c, &(char *){NULL}), -EINVAL); /* host-gateway without a gateway */
        ASSERT_TRUE(hostname_valid("a-b.c_d"));
        ASSERT_FALSE(hostname_valid("a..b"));
        ASSERT_FALSE(hostname_valid("a-.b"));
        ASSERT_FALSE(hostname_valid("a b"));
        ASSERT_FALSE(hostname_valid("0123456789012345678901234567890123456789012345678901234567890123"));
}
