/* SPDX-License-Identifier: Apache-2.0 */
/* test-net-cidr.c - addresses, prefixes, MAC addresses (src/net/cidr.c). */
#include "cidr.h"
#include "error.h"
#include "test.h"

static const char *addr_str(const struct ipaddr *a)
{
        static char buf[IPADDR_STRLEN];
        return ipaddr_to_string(a, buf);
}

static const char *cidr_str(const struct cidr *c)
{
        static char buf[CIDR_STRLEN];
        return cidr_to_string(c, buf);
}

static struct cidr C(const char *s) {
        struct cidr c = {};
        if (cidr_parse(s, "test", &c) < 0)
                abort();
        return c;
}

static struct ipaddr
A(const char *s) {
        struct ipaddr a = {};
        if (ipaddr_parse(s, &a) < 0)
                abort();
        return a;
}

TEST(ipaddr_parse_strict)
{
        const char *bad[] = {"",         "1.2.3",        "1.2.3.4.5", "256.1.1.1",  "01.2.3.4", "1.2.3.4 ",
                             " 1.2.3.4", "fe80::1%eth0", "[::1]",     "1.2.3.4/32", "::g",      "1..2.3",
                             NULL};
        struct ipaddr a;

        ASSERT_OK(ipaddr_parse("10.1.2.3", &a));
        ASSERT_EQ(a.family, AF_INET);
        ASSERT_STREQ(addr_str(&a), "10.1.2.3");
        ASSERT_OK(ipaddr_parse("fd00:0::1", &a));
        ASSERT_EQ(a.family, AF_INET6);
        ASSERT_STREQ(addr_str(&a), "fd00::1");
        for (const char **b = bad; *b; b++)
                ASSERT_ERR(ipaddr_parse(*b, &a), -EINVAL);
        ASSERT_ERR(ipaddr_parse(NULL, &a), -EINVAL);
}

TEST(ipaddr_predicates)
{
        struct ipaddr a = A("127.0.0.53"), b = A("::1"), z = A("0.0.0.0"), z6 = A("::"), n = {};

        ASSERT_TRUE(ipaddr_is_loopback(&a));
        ASSERT_TRUE(ipaddr_is_loopback(&b));
        ASSERT_FALSE(ipaddr_is_loopback(&z));
        ASSERT_TRUE(ipaddr_is_any(&z));
        ASSERT_TRUE(ipaddr_is_any(&z6));
        ASSERT_FALSE(ipaddr_is_any(&n));
        ASSERT_FALSE(ipaddr_is_set(&n));
        ASSERT_STREQ(addr_str(&n), "-");
        ASSERT_FALSE(ipaddr_equal(&z, &z6));
}

TEST(cidr_parse_networks)
{
        struct cidr c;

        err_clear();
        ASSERT_OK(cidr_parse("10.88.0.0/16", "--subnet", &c));
        ASSERT_STREQ(cidr_str(&c), "10.88.0.0/16");
        ASSERT_OK(cidr_parse("0.0.0.0/0", "--subnet", &c));
        ASSERT_OK(cidr_parse("fd00:1:2:3::/64", "--subnet", &c));
        ASSERT_EQ(c.len, 64);
        ASSERT_ERR(cidr_parse("10.88.1.0/16", "--subnet", &c), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "--subnet: '10.88.1.0/16' has host bits set (the network is 10.88.0.0/16)");
        ASSERT_ERR(cidr_parse("10.0.0.0/33", "--subnet", &c), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "--subnet: invalid CIDR '10.0.0.0/33' (expected ADDRESS/LENGTH)");
        const char *bad[] = {"10.0.0.0",      "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1",
                             "10.0.0.0/+8",   "/8",        "fd00::/129",  "10.0.0.0/8/8",
                             "10.0.0.0/1000", "x/8",       NULL};
        for (const char **b = bad; *b; b++)
                ASSERT_ERR(cidr_parse(*b, "t", &c), -EINVAL);
}

TEST(cidr_parse_host)
{
        struct cidr c;

        ASSERT_OK(cidr_parse_host("10.1.2.3/24", "ip", &c));
        ASSERT_STREQ(cidr_str(&c), "10.1.2.3/24");
        ASSERT_OK(cidr_parse_host("10.1.2.3", "ip", &c));
        ASSERT_EQ(c.len, 32);
        ASSERT_OK(cidr_parse_host("fd00::5", "ip", &c));
        ASSERT_EQ(c.len, 128);
        ASSERT_ERR(cidr_parse_host("10.1.2.3/40", "ip", &c), -EINVAL);
}

TEST(cidr_contains_and_overlaps)
{
        struct cidr a = C("10.88.0.0/16"), b = C("10.88.4.0/24"), d = C("10.89.0.0/16"),
                    all = C("0.0.0.0/0"), v6 = C("fd00::/8");
        struct ipaddr in = A("10.88.255.255"), out = A("10.89.0.0");

        ASSERT_TRUE(cidr_contains(&a, &in));
        ASSERT_FALSE(cidr_contains(&a, &out));
        ASSERT_TRUE(cidr_contains_cidr(&a, &b));
        ASSERT_FALSE(cidr_contains_cidr(&b, &a));
        ASSERT_TRUE(cidr_overlaps(&a, &b));
        ASSERT_TRUE(cidr_overlaps(&b, &a));
        ASSERT_FALSE(cidr_overlaps(&a, &d));
        ASSERT_TRUE(cidr_overlaps(&all, &d));
        ASSERT_FALSE(cidr_overlaps(&all, &v6)); /* families never overlap */
}

TEST(cidr_arithmetic)
{
        struct cidr c = C("10.1.2.0/30"), big = C("fd00:1::/64"), v6_48 = C("fd00:1::/48");
        struct ipaddr a, last;

        ASSERT_EQ(cidr_size(&c), 4);
        ASSERT_OK(cidr_nth(&c, 3, &a));
        ASSERT_STREQ(addr_str(&a), "10.1.2.3");
        ASSERT_ERR(cidr_nth(&c, 4, &a), -ERANGE);
        ASSERT_EQ(cidr_offset(&c, &a), 3);
        last = cidr_last(&c);
        ASSERT_STREQ(addr_str(&last), "10.1.2.3");
        ASSERT_EQ(cidr_size(&big), UINT64_MAX);
        ASSERT_OK(cidr_nth(&big, 0x1234, &a));
        ASSERT_STREQ(addr_str(&a), "fd00:1::1234");
        ASSERT_OK(cidr_nth(&big, UINT64_MAX, &a));
        ASSERT_STREQ(addr_str(&a), "fd00:1::ffff:ffff:ffff:ffff");
        ASSERT_EQ(cidr_offset(&big, &a), UINT64_MAX);
        /* a /48 is used through its low 64 bits only */
        ASSERT_OK(cidr_nth(&v6_48, 7, &a));
        ASSERT_STREQ(addr_str(&a), "fd00:1::7");
        /* carrying across bytes */
        struct cidr w = C("10.0.0.0/8");
        ASSERT_OK(cidr_nth(&w, 0x10203, &a));
        ASSERT_STREQ(addr_str(&a), "10.1.2.3");
        last = cidr_last(&w);
        ASSERT_STREQ(addr_str(&last), "10.255.255.255");
        struct cidr net = cidr_network(&a, 16);
        ASSERT_STREQ(cidr_str(&net), "10.1.0.0/16");
}

TEST(mac_addresses)
{
        uint8_t m[6];
        char buf[MAC_STRLEN];

        ASSERT_OK(mac_parse("02:42:AC:11:00:02", m));
        ASSERT_STREQ(mac_to_string(m, buf), "02:42:ac:11:00:02");
        ASSERT_OK(mac_parse("02-42-ac-11-00-03", m));
        ASSERT_ERR(mac_parse("01:00:5e:00:00:01", m), -EINVAL); /* multicast */
        ASSERT_ERR(mac_parse("00:00:00:00:00:00", m), -EINVAL);
        ASSERT_ERR(mac_parse("02:42:ac:11:00", m), -EINVAL);
        ASSERT_ERR(mac_parse("02:42:ac:11:00:0g", m), -EINVAL);
        ASSERT_ERR(mac_parse("02:42:ac:11:00:021", m), -EINVAL);
        for (int i = 0; i < 100; i++) {
                mac_random(m);
                ASSERT_EQ(m[0] & 3, 2); /* locally administered, unicast */
        }
}
