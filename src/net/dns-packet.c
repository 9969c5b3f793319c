/* SPDX-License-Identifier: Apache-2.0 */
/* dns-packet.c - DNS query parsing and response building; see dns-packet.h. */
#include "dns-packet.h"
#include "macro.h"

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
        put16(p, (uint16_t)(v >> 16));
        put16(p + 2, (uint16_t)v);
}

static bool host_char(uint8_t c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Read an uncompressed name at *pos into out (dotted, lower case). A question has no reason to
 * be compressed (it is the first name of the message), so a pointer there is refused. */
static int read_name(const uint8_t *buf, size_t len, size_t *pos, char *out, bool *plain)
{
        size_t p = *pos, o = 0;
        unsigned labels = 0;

        *plain = true;
        for (;;) {
                uint8_t c;

                if (p >= len)
                        return -EINVAL;
                c = buf[p++];
                if (c == 0)
                        break;
                if (c & 0xc0)
                        return -EINVAL;
                if (p + c > len || ++labels > 127 || o + c + 1 > DNS_NAME_MAX)
                        return -EINVAL;
                if (o > 0)
                        out[o++] = '.';
                for (unsigned i = 0; i < c; i++) {
                        uint8_t ch = buf[p + i];
                        if (ch >= 'A' && ch <= 'Z')
                                ch = (uint8_t)(ch - 'A' + 'a');
                        if (!host_char(ch)) {
                                *plain = false;
                                ch = '?';
                        }
                        out[o++] = (char)ch;
                }
                p += c;
        }
        out[o] = 0;
        *pos = p;
        return 0;
}

/* The first additional record, when it is an EDNS0 OPT record, gives the client's UDP limit. */
static void parse_edns(const uint8_t *buf, size_t len, size_t pos, struct dns_query *q)
{
        uint16_t type, size;

        /* OPT's owner is the root: a single zero byte. */
        if (pos + 11 > len || buf[pos] != 0)
                return;
        type = get16(buf + pos + 1);
        size = get16(buf + pos + 3);
        if (type == DNS_TYPE_OPT && size > DNS_UDP_MIN)
                q->udp_size = size;
}

int dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *ret)
{
        struct dns_query q = {.udp_size = DNS_UDP_MIN};
        uint16_t qd, an, ns, ar;
        size_t pos = DNS_HEADER_SIZE;

        if (len < DNS_HEADER_SIZE) {
                *ret = q;
                return -EBADMSG;
        }
        q.id = get16(buf);
        q.flags = get16(buf + 2);
        *ret = q;
        if (q.flags & F_QR)
                return -EBADMSG;
        if (((q.flags >> 11) & 0xf) != 0)
                return -EOPNOTSUPP;
        qd = get16(buf + 4);
        an = get16(buf + 6);
        ns = get16(buf + 8);
        ar = get16(buf + 10);
        if (qd == 0)
                return -EINVAL;
        if (qd > 1)
                return -EOPNOTSUPP;
        if (read_name(buf, len, &pos, q.name, &q.plain) < 0)
                return -EINVAL;
        if (pos + 4 > len)
                return -EINVAL;
        q.qtype = get16(buf + pos);
        q.qclass = get16(buf + pos + 2);
        q.question_end = pos + 4;
        if (an == 0 && ns == 0 && ar > 0)
                parse_edns(buf, len, q.question_end, &q);
        *ret = q;
        return 0;
}

/* Encode a dotted name; returns its size or -ENOBUFS. */
static int put_name(const char *name, uint8_t *out, size_t max)
{
        size_t o = 0;

        while (*name) {
                size_t n = strcspn(name, ".");
                if (n == 0 || n > 63 || o + 1 + n + 1 > max)
                        return -ENOBUFS;
                out[o++] = (uint8_t)n;
                memcpy(out + o, name, n);
                o += n;
                name += n;
                if (*name == '.')
                        name++;
        }
        if (o + 1 > max)
                return -ENOBUFS;
        out[o++] = 0;
        return (int)o;
}

static void put_header(uint8_t *out, const struct dns_query *q, int rcode, bool aa, bool tc, uint16_t qd,
                       uint16_t an)
{
        uint16_t flags = F_QR | F_RA | (q->flags & F_RD) | (uint16_t)(rcode & 0xf);

        if (aa)
                flags |= F_AA;
        if (tc)
                flags |= F_TC;
        put16(out, q->id);
        put16(out + 2, flags);
        put16(out + 4, qd);
        put16(out + 6, an);
        put16(out + 8, 0);
        put16(out + 10, 0);
}

int dns_response_build(const uint8_t *buf, size_t len, const struct dns_query *q, int rcode, bool aa,
                       const struct dns_answer *answers, size_t n, uint32_t ttl, uint8_t *out, size_t max)
{
        size_t pos = q->question_end;
        uint16_t an = 0;
        bool tc = false;

        if (pos < DNS_HEADER_SIZE || pos > len || pos > max)
                return -ENOBUFS;
        memcpy(out + DNS_HEADER_SIZE, buf + DNS_HEADER_SIZE, pos - DNS_HEADER_SIZE);
        for (size_t i = 0; i < n && an < UINT16_MAX; i++) {
                const struct dns_answer *a = &answers[i];
                uint8_t rdata[DNS_NAME_MAX + 2];
                int rdlen;

                if (a->type == DNS_TYPE_PTR) {
                        rdlen = put_name(a->ptr, rdata, sizeof(rdata));
                        if (rdlen < 0)
                                continue;
                } else {
                        rdlen = (int)ipaddr_size(a->addr.family);
                        memcpy(rdata, a->addr.bytes, (size_t)rdlen);
                }
                if (pos + 12 + (size_t)rdlen > max) {
                        tc = true;
                        break;
                }
                put16(out + pos, 0xc000 | DNS_HEADER_SIZE);
                put16(out + pos + 2, a->type);
                put16(out + pos + 4, DNS_CLASS_IN);
                put32(out + pos + 6, ttl);
                put16(out + pos + 10, (uint16_t)rdlen);
                memcpy(out + pos + 12, rdata, (size_t)rdlen);
                pos += 12 + (size_t)rdlen;
                an++;
        }
        put_header(out, q, rcode, aa, tc, 1, an);
        return (int)pos;
}

int dns_error_build(const uint8_t *buf, size_t len, const struct dns_query *q, int rcode, uint8_t *out,
                    size_t max)
{
        if (q->question_end >= DNS_HEADER_SIZE && q->question_end <= len && q->question_end <= max)
                return dns_response_build(buf, len, q, rcode, false, NULL, 0, 0, out, max);
        if (max < DNS_HEADER_SIZE)
                return -ENOBUFS;
        put_header(out, q, rcode, false, false, 0, 0);
        return DNS_HEADER_SIZE;
}

int dns_response_check(const uint8_t *buf, size_t len, uint16_t id)
{
        if (len < DNS_HEADER_SIZE || !(get16(buf + 2) & F_QR) || get16(buf) != id)
                return -EBADMSG;
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int dns_ptr_name_to_addr(const char *name, struct ipaddr *ret)
{
        struct ipaddr a = {};
        const char *p = name;
        size_t n = strlen(name);

        if (n > 13 && streq(name + n - 13, ".in-addr.arpa")) {
                a.family = AF_INET;
                for (int i = 3; i >= 0; i--) {
                        unsigned v = 0, digits = 0;
                        while (*p >= '0' && *p <= '9' && digits < 4) {
                                v = v * 10 + (unsigned)(*p++ - '0');
                                digits++;
                        }
                        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[-(int)digits] == '0'))
                                return -EINVAL;
                        if (*p++ != '.')
                                return -EINVAL;
                        a.bytes[i] = (uint8_t)v;
                }
                if (!streq(p, "in-addr.arpa"))
                        return -EINVAL;
        } else if (n == 72 && streq(name + 63, ".ip6.arpa")) {
                a.family = AF_INET6;
                for (int i = 31; i >= 0; i--) {
                        int v = hexval(*p++);
                        if (v < 0 || (i > 0 && *p++ != '.'))
                                return -EINVAL;
                        a.bytes[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
                }
        } else
                return -EINVAL;
        *ret = a;
        return 0;
}
