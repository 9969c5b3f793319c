/* SPDX-License-Identifier: Apache-2.0 */
/* cidr.c - addresses, prefixes and MAC addresses; see cidr.h. */
#include <arpa/inet.h>
#include <sys/random.h>

#include "cidr.h"
#include "error.h"
#include "util.h"

unsigned ipaddr_size(int family)
{
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

unsigned ipaddr_bits(int family)
{
        return ipaddr_size(family) * 8;
}

int ipaddr_parse(const char *s, struct ipaddr *ret)
{
        struct ipaddr a = {};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, &a.in) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, &a.in6) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

const char *ipaddr_to_string(const struct ipaddr *a, char buf[static IPADDR_STRLEN])
{
        if (!a || !inet_ntop(a->family, a->bytes, buf, IPADDR_STRLEN))
                snprintf(buf, IPADDR_STRLEN, "-");
        return buf;
}

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
        return a->family == b->family && memcmp(a->bytes, b->bytes, ipaddr_size(a->family)) == 0;
}

bool ipaddr_is_set(const struct ipaddr *a)
{
        return a->family == AF_INET || a->family == AF_INET6;
}

bool ipaddr_is_loopback(const struct ipaddr *a)
{
        if (a->family == AF_INET)
                return a->bytes[0] == 127;
        return a->family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->in6);
}

bool ipaddr_is_any(const struct ipaddr *a)
{
        static const uint8_t zero[16];
        return ipaddr_is_set(a) && memcmp(a->bytes, zero, ipaddr_size(a->family)) == 0;
}

static void mask_host_bits(struct ipaddr *a, unsigned len)
{
        unsigned n = ipaddr_size(a->family);

        for (unsigned i = 0; i < n; i++) {
                unsigned bit = i * 8;
                if (bit >= len)
                        a->bytes[i] = 0;
                else if (bit + 8 > len)
                        a->bytes[i] &= (uint8_t)(0xff << (8 - (len - bit)));
        }
}

struct cidr cidr_network(const struct ipaddr *a, unsigned len)
{
        struct cidr c = {.addr = *a, .len = len};
        mask_host_bits(&c.addr, len);
        return c;
}

/* Split "ADDR/LEN"; a prefix length is plain decimal without sign or leading zeros. */
static int split_prefix(const char *s, struct ipaddr *ret_addr, int *ret_len)
{
        const char *slash = strchr(s, '/');
        char abuf[IPADDR_STRLEN + 1];
        size_t n;
        int len = -1;

        n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0 || n >= sizeof(abuf))
                return -EINVAL;
        memcpy(abuf, s, n);
        abuf[n] = 0;
        if (ipaddr_parse(abuf, ret_addr) < 0)
                return -EINVAL;
        if (slash) {
                const char *p = slash + 1;
                if (!*p || strlen(p) > 3 || (p[0] == '0' && p[1]))
                        return -EINVAL;
                len = 0;
                for (; *p; p++) {
                        if (*p < '0' || *p > '9')
                                return -EINVAL;
                        len = len * 10 + (*p - '0');
                }
                if ((unsigned)len > ipaddr_bits(ret_addr->family))
                        return -EINVAL;
        }
        *ret_len = len;
        return 0;
}

int cidr_parse(const char *s, const char *what, struct cidr *ret)
{
        struct ipaddr a;
        struct cidr c;
        char buf[CIDR_STRLEN];
        int len;

        if (!s || split_prefix(s, &a, &len) < 0 || len < 0)
                return err_set(-EINVAL, "%s: invalid CIDR '%s' (expected ADDRESS/LENGTH)", what,
                               strempty(s));
        c = cidr_network(&a, (unsigned)len);
        if (!ipaddr_equal(&c.addr, &a))
                return err_set(-EINVAL, "%s: '%s' has host bits set (the network is %s)", what, s,
                               cidr_to_string(&c, buf));
        *ret = c;
        return 0;
}

int cidr_parse_host(const char *s, const char *what, struct cidr *ret)
{
        struct ipaddr a;
        int len;

        if (!s || split_prefix(s, &a, &len) < 0)
                return err_set(-EINVAL, "%s: invalid address '%s'", what, strempty(s));
        *ret = (struct cidr){.addr = a, .len = len < 0 ? ipaddr_bits(a.family) : (unsigned)len};
        return 0;
}

const char *cidr_to_string(const struct cidr *c, char buf[static CIDR_STRLEN])
{
        char a[IPADDR_STRLEN];
        snprintf(buf, CIDR_STRLEN, "%s/%u", ipaddr_to_string(&c->addr, a), c->len);
        return buf;
}

bool cidr_contains(const struct cidr *c, const struct ipaddr *a)
{
        struct ipaddr m;

        if (c->addr.family != a->family)
                return false;
        m = *a;
        mask_host_bits(&m, c->len);
        return ipaddr_equal(&m, &c->addr);
}

bool cidr_contains_cidr(const struct cidr *outer, const struct cidr *inner)
{
        return inner->len >= outer->len && cidr_contains(outer, &inner->addr);
}

bool cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
        return cidr_contains_cidr(a, b) || cidr_contains_cidr(b, a);
}

uint64_t cidr_size(const struct cidr *c)
{
        unsigned host = ipaddr_bits(c->addr.family) - c->len;
        return host >= 64 ? UINT64_MAX : (uint64_t)1 << host;
}

/* The low 64 bits of an address as a host-order integer. */
static uint64_t low64(const struct ipaddr *a)
{
        unsigned n = ipaddr_size(a->family), from = n > 8 ? n - 8 : 0;
        uint64_t v = 0;

        for (unsigned i = from; i < n; i++)
                v = (v << 8) | a->bytes[i];
        return v;
}

int cidr_nth(const struct cidr *c, uint64_t n, struct ipaddr *ret)
{
        struct ipaddr a = c->addr;
        unsigned size = ipaddr_size(a.family);
        unsigned carry = 0;

        if (n >= cidr_size(c) && cidr_size(c) != UINT64_MAX)
                return -ERANGE;
        for (unsigned i = size; i-- > 0;) {
                unsigned v = a.bytes[i] + (unsigned)(n & 0xff) + carry;
                a.bytes[i] = (uint8_t)v;
                carry = v >> 8;
                n >>= 8;
        }
        /* A prefix shorter than /64 can carry into the network part, which cidr_contains catches. */
        if (carry || !cidr_contains(c, &a))
                return -ERANGE;
        *ret = a;
        return 0;
}

uint64_t cidr_offset(const struct cidr *c, const struct ipaddr *a)
{
        return low64(a) - low64(&c->addr);
}

struct ipaddr cidr_last(const struct cidr *c)
{
        struct ipaddr a = c->addr;
        unsigned n = ipaddr_size(a.family);

        for (unsigned i = 0; i < n; i++) {
                unsigned bit = i * 8;
                if (bit >= c->len)
                        a.bytes[i] = 0xff;
                else if (bit + 8 > c->len)
                        a.bytes[i] |= (uint8_t)(0xff >> (c->len - bit));
        }
        return a;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int mac_parse(const char *s, uint8_t ret[6])
{
        uint8_t m[6];

        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (unsigned i = 0; i < 6; i++) {
                const char *p = s + i * 3;
                int hi = hexval(p[0]), lo = hexval(p[1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                if (i < 5 && p[2] != ':' && p[2] != '-')
                        return -EINVAL;
                m[i] = (uint8_t)(hi << 4 | lo);
        }
        /* A multicast source address is invalid on Ethernet (IEEE 802.3 §3.2.3); all-zero too. */
        if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
                return -EINVAL;
        memcpy(ret, m, 6);
        return 0;
}

const char *mac_to_string(const uint8_t mac[6], char buf[static MAC_STRLEN])
{
        snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                 mac[5]);
        return buf;
}

void mac_random(uint8_t ret[6])
{
        if (getrandom(ret, 6, 0) != 6) {
                /* getrandom() of 6 bytes does not fail once the pool is initialized; keep a fallback. */
                for (unsigned i = 0; i < 6; i++)
                        ret[i] = (uint8_t)random();
        }
        ret[0] = (uint8_t)((ret[0] & 0xfe) | 0x02);
}
