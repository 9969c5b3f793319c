/* SPDX-License-Identifier: Apache-2.0 */
/* test-net-dns.c - DNS wire format (dns-packet.c) and the name table (dns.c). */
#include "dns-packet.h"
#include "dns.h"
#include "error.h"
#include "test.h"
#include "util.h"

/* Build a query for name/type; extra bytes (an OPT record) are appended with arcount 1. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type, uint16_t edns)
{
        size_t o = 12;

        memset(buf, 0, 12);
        buf[0] = (uint8_t)(id >> 8);
        buf[1] = (uint8_t)id;
        buf[2] = 0x01; /* RD */
        buf[5] = 1;
        while (*name) {
                size_t n = strcspn(name, ".");
                buf[o++] = (uint8_t)n;
                memcpy(buf + o, name, n);
                o += n;
                name += n;
                if (*name == '.')
                        name++;
        }
        buf[o++] = 0;
        buf[o++] = (uint8_t)(type >> 8);
        buf[o++] = (uint8_t)type;
        buf[o++] = 0;
        buf[o++] = 1;
        if (edns) {
                buf[11] = 1;
                buf[o++] = 0; /* root */
                buf[o++] = 0;
                buf[o++] = DNS_TYPE_OPT;
                buf[o++] = (uint8_t)(edns >> 8);
                buf[o++] = (uint8_t)edns;
                memset(buf + o, 0, 6);
                o += 6;
        }
        return o;
}

TEST(query_parse)
{
        uint8_t buf[512];
        struct dns_query q;
        size_t n = make_query(buf, 0x1234, "Web.Example", DNS_TYPE_AAAA, 0);

        ASSERT_OK(dns_query_parse(buf, n, &q));
        ASSERT_EQ(q.id, 0x1234);
        ASSERT_STREQ(q.name, "web.example");
        ASSERT_TRUE(q.plain);
        ASSERT_EQ(q.qtype, DNS_TYPE_AAAA);
        ASSERT_EQ(q.qclass, DNS_CLASS_IN);
        ASSERT_EQ(q.question_end, n);
        ASSERT_EQ(q.udp_size, 512);
        n = make_query(buf, 1, "a", DNS_TYPE_A, 4096);
        ASSERT_OK(dns_query_parse(buf, n, &q));
        ASSERT_EQ(q.udp_size, 4096);
        /* the root name */
        n = make_query(buf, 1, "", DNS_TYPE_A, 0);
        ASSERT_OK(dns_query_parse(buf, n, &q));
        ASSERT_STREQ(q.name, "");
}

TEST(query_reject)
{
        uint8_t buf[600];
        struct dns_query q;
        size_t n = make_query(buf, 7, "x", DNS_TYPE_A, 0);

        ASSERT_ERR(dns_query_parse(buf, 11, &q), -EBADMSG);
        buf[2] |= 0x80; /* a response */
        ASSERT_ERR(dns_query_parse(buf, n, &q), -EBADMSG);
        buf[2] = 0x01 | (5 << 3); /* opcode UPDATE */
        ASSERT_ERR(dns_query_parse(buf, n, &q), -EOPNOTSUPP);
        ASSERT_EQ(q.id, 7);
        buf[2] = 0x01;
        buf[5] = 2;
        ASSERT_ERR(dns_query_parse(buf, n, &q), -EOPNOTSUPP);
        buf[5] = 0;
        ASSERT_ERR(dns_query_parse(buf, n, &q), -EINVAL);
        buf[5] = 1;
        ASSERT_ERR(dns_query_parse(buf, n - 1, &q), -EINVAL); /* cut in the question */
        /* a compression pointer in the question */
        buf[12] = 0xc0;
        buf[13] = 0x0c;
        ASSERT_ERR(dns_query_parse(buf, n, &q), -EINVAL);
        /* a name longer than 255 bytes */
        memset(buf, 0, 12);
        buf[5] = 1;
        size_t o = 12;
        for (int i = 0; i < 5; i++) {
                buf[o++] = 63;
                memset(buf + o, 'a', 63);
                o += 63;
        }
        buf[o++] = 0;
        memset(buf + o, 0, 4);
        o += 4;
        ASSERT_ERR(dns_query_parse(buf, o, &q), -EINVAL);
}

TEST(query_odd_bytes_are_not_plain)
{
        uint8_t buf[64] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1};
        struct dns_query q;

        ASSERT_OK(dns_query_parse(buf, 21, &q));
        ASSERT_FALSE(q.plain);
        buf[14] = 0x07;
        ASSERT_OK(dns_query_parse(buf, 21, &q));
        ASSERT_FALSE(q.plain);
}

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

TEST(response_build)
{
        uint8_t buf[512], out[512];
        struct dns_query q;
        struct dns_answer ans[2] = {{.type = DNS_TYPE_A}, {.type = DNS_TYPE_A}};
        size_t n = make_query(buf, 0xbeef, "web", DNS_TYPE_A, 0);
        int r;

        ASSERT_OK(dns_query_parse(buf, n, &q));
        ASSERT_OK(ipaddr_parse("10.89.0.2", &ans[0].addr));
        ASSERT_OK(ipaddr_parse("10.89.0.3", &ans[1].addr));
        r = dns_response_build(buf, n, &q, DNS_RCODE_NOERROR, true, ans, 2, 10, out, sizeof(out));
        ASSERT_EQ(r, (int)(n + 2 * 16));
        ASSERT_EQ(get16(out), 0xbeef);
        ASSERT_EQ(get16(out + 2), 0x8000 | 0x0400 | 0x0100 | 0x0080); /* QR AA RD RA */
        ASSERT_EQ(get16(out + 4), 1);
        ASSERT_EQ(get16(out + 6), 2);
        ASSERT_TRUE(memcmp(out + 12, buf + 12, n - 12) == 0);
        ASSERT_EQ(get16(out + n), 0xc00c);
        ASSERT_EQ(get16(out + n + 2), DNS_TYPE_A);
        ASSERT_EQ(get16(out + n + 10), 4);
        ASSERT_TRUE(memcmp(out + n + 12, ans[0].addr.bytes, 4) == 0);
        ASSERT_OK(dns_response_check(out, (size_t)r, 0xbeef));
        ASSERT_ERR(dns_response_check(out, (size_t)r, 0xbeee), -EBADMSG);
        ASSERT_ERR(dns_response_check(buf, n, 0xbeef), -EBADMSG);

        /* truncation at a whole record, TC set */
        r = dns_response_build(buf, n, &q, DNS_RCODE_NOERROR, true, ans, 2, 10, out, n + 20);
        ASSERT_EQ(r, (int)(n + 16));
        ASSERT_EQ(get16(out + 6), 1);
        ASSERT_TRUE(get16(out + 2) & 0x0200);
        ASSERT_ERR(dns_response_build(buf, n, &q, 0, true, ans, 2, 10, out, n - 1), -ENOBUFS);

        /* PTR */
        struct dns_answer ptr = {.type = DNS_TYPE_PTR, .ptr = "web"};
        r = dns_response_build(buf, n, &q, DNS_RCODE_NOERROR, true, &ptr, 1, 10, out, sizeof(out));
        ASSERT_EQ(r, (int)(n + 12 + 5));
        ASSERT_TRUE(memcmp(out + n + 12, "\3web\0", 5) == 0);

        /* errors: with and without a parsed question */
        r = dns_error_build(buf, n, &q, DNS_RCODE_SERVFAIL, out, sizeof(out));
        ASSERT_EQ(r, (int)n);
        ASSERT_EQ(get16(out + 2) & 0xf, DNS_RCODE_SERVFAIL);
        struct dns_query none = {.id = 9};
        r = dns_error_build(buf, 5, &none, DNS_RCODE_FORMERR, out, sizeof(out));
        ASSERT_EQ(r, 12);
        ASSERT_EQ(get16(out + 4), 0);
}

TEST(ptr_names)
{
        struct ipaddr a;
        char s[IPADDR_STRLEN];

        ASSERT_OK(dns_ptr_name_to_addr("4.3.2.10.in-addr.arpa", &a));
        ASSERT_STREQ(ipaddr_to_string(&a, s), "10.2.3.4");
        ASSERT_OK(dns_ptr_name_to_addr(
                "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa", &a));
        ASSERT_STREQ(ipaddr_to_string(&a, s), "fd00:1::2");
        const char *bad[] = {"in-addr.arpa",
                             "1.2.3.in-addr.arpa",
                             "1.2.3.4.5.in-addr.arpa",
                             "256.1.1.1.in-addr.arpa",
                             "01.1.1.1.in-addr.arpa",
                             "a.1.1.1.in-addr.arpa",
                             "x.ip6.arpa",
                             "example.com",
                             NULL};
        for (const char **b = bad; *b; b++)
                ASSERT_ERR(dns_ptr_name_to_addr(*b, &a), -EINVAL);
}

TEST(name_table)
{
        struct dns_table t;
        struct ipaddr out[4], q;
        size_t n;
        const struct dns_record *r;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        ASSERT_OK(dns_table_parse("c1 10.89.0.2 - web,frontend\n"
                                  "c2 10.89.0.3 fd00::3 db,frontend 1.1.1.1,9.9.9.9\n"
                                  "garbage\n"
                                  "c3 not-an-ip - x\n",
                                  &t));
        ASSERT_EQ(t.n, 2);
        ASSERT_EQ(dns_table_lookup(&t, "FRONTEND", AF_INET, out, 4, &n), 2);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(dns_table_lookup(&t, "web", AF_INET6, out, 4, &n), 1); /* ours, but no AAAA */
        ASSERT_EQ(n, 0);
        ASSERT_EQ(dns_table_lookup(&t, "nobody", AF_INET, out, 4, &n), 0);
        ASSERT_OK(ipaddr_parse("fd00::3", &q));
        r = dns_table_by_addr(&t, &q);
        ASSERT_TRUE(r && streq(r->endpoint, "c2"));
        ASSERT_EQ(strv_length(r->upstreams), 2);
        FILE *f = open_memstream(&line, &size);
        dns_record_format(r, f);
        fclose(f);
        ASSERT_STREQ(line, "c2 10.89.0.3 fd00::3 db,frontend 1.1.1.1,9.9.9.9\n");
        dns_table_done(&t);
}

TEST(name_table_file)
{
        char t[] = "/tmp/hull-test-dns-XXXXXX";
        _cleanup_free_ char *text = NULL;
        struct store *s = NULL;
        char *names[] = {"web", NULL}, *none[] = {NULL};
        struct dns_record rec = {.endpoint = "c1", .names = names, .upstreams = none};

        ASSERT_TRUE(mkdtemp(t));
        ASSERT_OK(store_open(t, NULL, NULL, &s));
        ASSERT_OK(ipaddr_parse("10.0.0.2", &rec.ip4));
        ASSERT_OK(dns_names_set(s, "net", &rec));
        rec.endpoint = "c10";
        ASSERT_OK(dns_names_set(s, "net", &rec));
        ASSERT_OK(ipaddr_parse("10.0.0.9", &rec.ip4));
        rec.endpoint = "c1";
        ASSERT_OK(dns_names_set(s, "net", &rec)); /* replaces c1, keeps c10 */
        ASSERT_OK(store_file_read(s, "dns/net", "names", &text));
        ASSERT_STREQ(text, "c10 10.0.0.2 - web\nc1 10.0.0.9 - web\n");
        /* upstreams without a name keep their column */
        rec.endpoint = "c2";
        rec.names = none;
        rec.upstreams = names;
        ASSERT_OK(dns_names_set(s, "net", &rec));
        free(text);
        ASSERT_OK(store_file_read(s, "dns/net", "names", &text));
        ASSERT_CONTAINS(text, "c2 10.0.0.9 - - web\n");
        struct dns_table tab;
        ASSERT_OK(dns_table_parse(text, &tab));
        ASSERT_EQ(tab.n, 3);
        ASSERT_EQ(strv_length(tab.records[2].names), 0);
        ASSERT_EQ(strv_length(tab.records[2].upstreams), 1);
        dns_table_done(&tab);
        ASSERT_OK(dns_names_remove(s, "net", "c1"));
        ASSERT_ERR(dns_names_remove(s, "net", "c1"), -ENOENT);
        ASSERT_EQ(dns_responder_pid(s, "net"), 0);
        ASSERT_OK(dns_names_drop(s, "net"));
        store_free(s);
        ASSERT_OK(rm_rf(t));
}
