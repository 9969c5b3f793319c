/* SPDX-License-Identifier: Apache-2.0 */
/* ipam.c - next-fit address leases in the store; see ipam.h. */
#include <inttypes.h>

#include "error.h"
#include "ipam.h"
#include "util.h"

/* Dynamic allocation probes at most this many candidates: an IPv6 /64 is never scanned whole. */
#define IPAM_PROBE_MAX (1u << 20)

bool ipam_reserved(const struct ipam_pool *p, const struct ipaddr *a)
{
        struct ipaddr last;

        if (ipaddr_equal(a, &p->subnet.addr) || (ipaddr_is_set(&p->gateway) && ipaddr_equal(a, &p->gateway)))
                return true;
        if (a->family == AF_INET && p->subnet.len < 31) {
                last = cidr_last(&p->subnet);
                return ipaddr_equal(a, &last);
        }
        return false;
}

int ipam_pool_check(const struct ipam_pool *p, const char *what)
{
        char s[CIDR_STRLEN], r[CIDR_STRLEN], g[IPADDR_STRLEN];
        unsigned bits = ipaddr_bits(p->subnet.addr.family);
        uint64_t usable;

        cidr_to_string(&p->subnet, s);
        cidr_to_string(&p->range, r);
        if (p->subnet.len + 2 > bits)
                return err_set(-EINVAL, "%s: subnet %s is too small (at least /%u)", what, s, bits - 2);
        if (p->range.addr.family != p->subnet.addr.family || !cidr_contains_cidr(&p->subnet, &p->range))
                return err_set(-EINVAL, "%s: ip-range %s is not inside subnet %s", what, r, s);
        if (ipaddr_is_set(&p->gateway)) {
                if (!cidr_contains(&p->subnet, &p->gateway))
                        return err_set(-EINVAL, "%s: gateway %s is not inside subnet %s", what,
                                       ipaddr_to_string(&p->gateway, g), s);
                struct ipaddr last = cidr_last(&p->subnet);
                if (ipaddr_equal(&p->gateway, &p->subnet.addr) ||
                    (p->gateway.family == AF_INET && ipaddr_equal(&p->gateway, &last)))
                        return err_set(-EINVAL, "%s: gateway %s is the network or broadcast address of %s",
                                       what, ipaddr_to_string(&p->gateway, g), s);
        }
        /* The range loses at most the network, broadcast and gateway addresses. */
        usable = cidr_size(&p->range);
        if (usable != UINT64_MAX && usable <= 3) {
                uint64_t n = 0;
                for (uint64_t i = 0; i < usable; i++) {
                        struct ipaddr a;
                        if (cidr_nth(&p->range, i, &a) == 0 && !ipam_reserved(p, &a))
                                n++;
                }
                if (n == 0)
                        return err_set(-EINVAL, "%s: ip-range %s leaves no address to hand out", what, r);
        }
        return 0;
}

static int lease_table(const char *netid, char buf[static 128])
{
        if ((size_t)snprintf(buf, 128, "leases/%s", netid) >= 128)
                return -ENAMETOOLONG;
        return 0;
}

static int cursor_key(const char *netid, int family, char buf[static 128])
{
        if ((size_t)snprintf(buf, 128, "%s-%s", netid, family == AF_INET ? "v4" : "v6") >= 128)
                return -ENAMETOOLONG;
        return 0;
}

static uint64_t cursor_load(struct store *s, const char *netid, int family)
{
        _cleanup_free_ char *v = NULL;
        char key[128];
        uint64_t n;

        if (cursor_key(netid, family, key) < 0 || store_read(s, "cursors", key, &v) < 0)
                return UINT64_MAX;
        return parse_u64(v, &n) == 0 ? n : UINT64_MAX;
}

static void cursor_save(struct store *s, const char *netid, int family, uint64_t n)
{
        char key[128], v[32];

        if (cursor_key(netid, family, key) < 0)
                return;
        snprintf(v, sizeof(v), "%" PRIu64, n);
        /* A lost cursor only makes the next allocation start over; not worth failing for. */
        (void)store_write(s, "cursors", key, v);
}

static int claim(struct store *s, const char *table, const struct ipaddr *a, const char *owner)
{
        char key[IPADDR_STRLEN];
        return store_create(s, table, ipaddr_to_string(a, key), owner);
}

int ipam_allocate(struct store *s, const char *netid, const char *network, const struct ipam_pool *p,
                  const struct ipaddr *want, const char *owner, struct ipaddr *ret)
{
        char table[128], a[IPADDR_STRLEN], sub[CIDR_STRLEN];
        uint64_t size, start, cursor, probes;
        int r;

        r = lease_table(netid, table);
        if (r < 0)
                return r;
        cidr_to_string(&p->subnet, sub);
        if (want && ipaddr_is_set(want)) {
                if (!cidr_contains(&p->subnet, want))
                        return err_set(-EINVAL, "address %s is not in network '%s' (%s)",
                                       ipaddr_to_string(want, a), network, sub);
                if (ipam_reserved(p, want))
                        return err_set(-EINVAL, "address %s is reserved in network '%s' (%s)",
                                       ipaddr_to_string(want, a), network, sub);
                r = claim(s, table, want, owner);
                if (r == -EEXIST) {
                        _cleanup_free_ char *holder = NULL;
                        (void)ipam_owner(s, netid, want, &holder);
                        return err_set(-EADDRINUSE, "address %s is already in use in network '%s'%s%s%s",
                                       ipaddr_to_string(want, a), network, holder ? " (by " : "",
                                       strempty(holder), holder ? ")" : "");
                }
                if (r < 0)
                        return r;
                *ret = *want;
                return 0;
        }

        size = cidr_size(&p->range);
        cursor = cursor_load(s, netid, p->subnet.addr.family);
        start = cursor == UINT64_MAX || cursor >= size - 1 ? 0 : cursor + 1;
        probes = MIN(size, (uint64_t)IPAM_PROBE_MAX);
        for (uint64_t i = 0; i < probes; i++) {
                uint64_t off = start + i;
                struct ipaddr cand;

                if (off >= size && size != UINT64_MAX)
                        off -= size;
                if (cidr_nth(&p->range, off, &cand) < 0 || ipam_reserved(p, &cand))
                        continue;
                r = claim(s, table, &cand, owner);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return r;
                cursor_save(s, netid, p->subnet.addr.family, off);
                *ret = cand;
                return 0;
        }
        return err_set(-ENOSPC, "no free address left in network '%s' (%s)", network,
                       cidr_to_string(&p->range, sub));
}

int ipam_owner(struct store *s, const char *netid, const struct ipaddr *a, char **ret)
{
        char table[128], key[IPADDR_STRLEN];
        int r;

        r = lease_table(netid, table);
        if (r < 0)
                return r;
        return store_read(s, table, ipaddr_to_string(a, key), ret);
}

int ipam_release(struct store *s, const char *netid, const struct ipaddr *a, const char *owner)
{
        _cleanup_free_ char *holder = NULL;
        char table[128], key[IPADDR_STRLEN];
        int r;

        r = lease_table(netid, table);
        if (r < 0)
                return r;
        if (owner) {
                r = store_read(s, table, ipaddr_to_string(a, key), &holder);
                if (r < 0)
                        return r;
                if (!streq(holder, owner))
                        return -EPERM;
        }
        return store_remove(s, table, ipaddr_to_string(a, key));
}

int ipam_list(struct store *s, const char *netid, char ***ret)
{
        char table[128];
        int r;

        r = lease_table(netid, table);
        if (r < 0)
                return r;
        return store_keys(s, table, ret);
}

int ipam_drop(struct store *s, const char *netid)
{
        _cleanup_strv_free_ char **keys = NULL;
        char table[128], key[128];
        int r;

        r = lease_table(netid, table);
        if (r < 0)
                return r;
        r = store_keys(s, table, &keys);
        if (r < 0)
                return r;
        STRV_FOREACH (k, keys)
                (void)store_remove(s, table, *k);
        for (int f = 0; f < 2; f++)
                if (cursor_key(netid, f == 0 ? AF_INET : AF_INET6, key) == 0)
                        (void)store_remove(s, "cursors", key);
        return 0;
}
