/* SPDX-License-Identifier: Apache-2.0 */
/*
 * network.c - networks: create, remove, inspect, list, policy; their records and kernel state.
 *
 * A network record (store table "networks", keyed by name) is written with state "creating"
 * and the creator's identity before any kernel object exists, and turned "ready" when the
 * bridge, its addresses, the sysctls and the rules are in place; a failure tears down what was
 * made, and a creator killed half-way leaves a record that net_reclaim() finishes tearing down.
 *
 * Forwarding (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) is switched on by the first
 * network that routes (not --internal) and put back by the last one to go, only if hull
 * changed it: the previous value is recorded (store table "sysctl") before the write, so a crash
 * in between still lets the last network restore it.
 */
#include <net/if.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "hull-build.h"
#include "dns.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "net-internal.h"
#include "sha256.h"
#include "util.h"

#define DEFAULT_MTU        1500
#define DEFAULT_BRIDGE     "hull0"
#define DEFAULT_DNS_HELPER HULL_LIBEXECDIR "/hull-dns"

/* ------------------------------------------------------------------ context */

int net_ctx_open(const char *root, const char *run_root, struct net_ctx **ret)
{
        return net_ctx_open_shared(root, run_root, NULL, ret);
}

int net_ctx_open_shared(const char *root, const char *run_root, struct db *db, struct net_ctx **ret)
{
        struct net_ctx *ctx = calloc(1, sizeof(*ctx));
        int r;

        if (!ctx)
                return -ENOMEM;
        ctx->dns_helper = strdup(DEFAULT_DNS_HELPER);
        if (!ctx->dns_helper) {
                free(ctx);
                return -ENOMEM;
        }
        r = store_open(root, run_root, db, &ctx->store);
        if (r < 0) {
                net_ctx_free(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

void net_ctx_free(struct net_ctx *ctx)
{
        if (!ctx)
                return;
        nl_close(ctx->nl);
        nft_close(ctx->nft);
        store_free(ctx->store);
        free(ctx->dns_helper);
        free(ctx);
}

int net_ctx_set_dns_helper(struct net_ctx *ctx, const char *path)
{
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        free(ctx->dns_helper);
        ctx->dns_helper = p;
        return 0;
}

int ctx_nl(struct net_ctx *ctx, struct nl **ret)
{
        if (!ctx->nl) {
                int r = nl_open(&ctx->nl);
                if (r < 0)
                        return r;
        }
        *ret = ctx->nl;
        return 0;
}

int ctx_nft(struct net_ctx *ctx, struct nft **ret)
{
        if (!ctx->nft) {
                int r = nft_open(&ctx->nft);
                if (r < 0)
                        return r;
        }
        *ret = ctx->nft;
        return 0;
}

char *now_iso8601(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return strdup_printf("%s.%06ldZ", buf, ts.tv_nsec / 1000);
}

void short_hash(const char *a, const char *b, char out[static NET_ID_SHORT + 1])
{
        struct sha256_ctx *c = sha256_new();
        char hex[SHA256_HEX_LEN + 1];

        if (!c) {
                snprintf(out, NET_ID_SHORT + 1, "000000000000");
                return;
        }
        sha256_update(c, a, strlen(a));
        sha256_update(c, ":", 1);
        sha256_update(c, b, strlen(b));
        sha256_final_hex(c, hex);
        memcpy(out, hex, NET_ID_SHORT);
        out[NET_ID_SHORT] = 0;
}

/* ------------------------------------------------------------------ records */

void network_free(struct network *n)
{
        if (!n)
                return;
        free(n->name);
        free(n->id);
        free(n->bridge);
        free(n->created);
        policy_done(&n->egress);
        policy_done(&n->ingress);
        if (n->options)
                json_object_put(n->options);
        free(n);
}

void json_add_str(struct json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

struct json_object *proc_id_to_json(const struct proc_id *id)
{
        struct json_object *o;

        if (id->pid <= 0)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "pid", json_object_new_int64(id->pid));
        json_object_object_add(o, "start", json_object_new_int64((int64_t)id->start));
        return o;
}

void proc_id_from_json(struct json_object *o, const char *key, struct proc_id *ret)
{
        struct json_object *p;
        int64_t pid = 0, start = 0;

        *ret = (struct proc_id){};
        if (json_get_object(o, key, key, &p) < 0)
                return;
        (void)json_get_int64(p, "pid", key, &pid);
        (void)json_get_int64(p, "start", key, &start);
        *ret = (struct proc_id){.pid = (pid_t)pid, .start = (uint64_t)start};
}

struct json_object *json_strv(char *const *l)
{
        struct json_object *a = json_object_new_array();
        STRV_FOREACH (s, (char **)l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static struct json_object *pool_to_json(const struct ipam_pool *p)
{
        struct json_object *o = json_object_new_object();
        char c[CIDR_STRLEN], a[IPADDR_STRLEN];

        json_add_str(o, "subnet", cidr_to_string(&p->subnet, c));
        json_add_str(o, "gateway", ipaddr_to_string(&p->gateway, a));
        json_add_str(o, "ip_range", cidr_to_string(&p->range, c));
        return o;
}

static struct json_object *policy_json(const struct policy *p)
{
        _cleanup_strv_free_ char **l = policy_to_strv(p);
        return json_strv(l);
}

static struct json_object *network_to_json(const struct network *n)
{
        struct json_object *o = json_object_new_object();
        char mac[MAC_STRLEN];

        json_add_str(o, "name", n->name);
        json_add_str(o, "id", n->id);
        json_add_str(o, "created", n->created);
        json_add_str(o, "driver", "bridge");
        json_add_str(o, "bridge", n->bridge);
        json_add_str(o, "mac", mac_to_string(n->mac, mac));
        json_object_object_add(o, "mtu", json_object_new_int64(n->mtu));
        json_object_object_add(o, "internal", json_object_new_boolean(n->internal));
        json_object_object_add(o, "dns", json_object_new_boolean(n->dns));
        json_object_object_add(o, "default", json_object_new_boolean(n->is_default));
        json_object_object_add(o, "ipv6_enabled", json_object_new_boolean(n->has6));
        json_object_object_add(o, "ipv4", pool_to_json(&n->pool4));
        if (n->has6)
                json_object_object_add(o, "ipv6", pool_to_json(&n->pool6));
        json_object_object_add(o, "egress", policy_json(&n->egress));
        json_object_object_add(o, "ingress", policy_json(&n->ingress));
        json_object_object_add(o, "options",
                               n->options ? json_object_get(n->options) : json_object_new_object());
        json_add_str(o, "state", n->state == RECORD_READY ? "ready" : "creating");
        if (n->state != RECORD_READY)
                json_object_object_add(o, "creator", proc_id_to_json(&n->creator));
        return o;
}

static int pool_from_json(struct json_object *o, const char *path, int family, struct ipam_pool *ret)
{
        const char *subnet, *gateway, *range;
        int r;

        if ((r = json_get_string(o, "subnet", path, &subnet)) < 0 ||
            (r = json_get_string(o, "gateway", path, &gateway)) < 0 ||
            (r = json_get_string(o, "ip_range", path, &range)) < 0)
                return r == -ENOENT ? err_set(-EINVAL, "%s: incomplete address pool", path) : r;
        if (cidr_parse(subnet, path, &ret->subnet) < 0 || cidr_parse(range, path, &ret->range) < 0 ||
            ipaddr_parse(gateway, &ret->gateway) < 0 || ret->subnet.addr.family != family)
                return err_set(-EINVAL, "%s: invalid address pool", path);
        return 0;
}

static int network_from_json(struct json_object *o, struct network **ret)
{
        _cleanup_network_ struct network *n = calloc(1, sizeof(*n));
        _cleanup_strv_free_ char **eg = NULL, **in = NULL;
        struct json_object *p4, *p6, *opts;
        const char *name, *id, *bridge, *created, *mac, *state;
        int64_t mtu = DEFAULT_MTU;
        int r;

        if (!n)
                return -ENOMEM;
        if ((r = json_get_string(o, "name", "network.name", &name)) < 0 ||
            (r = json_get_string(o, "id", "network.id", &id)) < 0 ||
            (r = json_get_string(o, "bridge", "network.bridge", &bridge)) < 0 ||
            (r = json_get_string(o, "created", "network.created", &created)) < 0 ||
            (r = json_get_string(o, "mac", "network.mac", &mac)) < 0 ||
            (r = json_get_string(o, "state", "network.state", &state)) < 0 ||
            (r = json_get_object(o, "ipv4", "network.ipv4", &p4)) < 0)
                return r == -ENOENT ? err_set(-EINVAL, "network record: a field is missing") : r;
        n->name = strdup(name);
        n->id = strdup(id);
        n->bridge = strdup(bridge);
        n->created = strdup(created);
        if (!n->name || !n->id || !n->bridge || !n->created)
                return -ENOMEM;
        snprintf(n->short_id, sizeof(n->short_id), "%s", id);
        if (mac_parse(mac, n->mac) < 0)
                return err_set(-EINVAL, "network record '%s': invalid mac", name);
        (void)json_get_int64(o, "mtu", "network.mtu", &mtu);
        n->mtu = (uint32_t)mtu;
        (void)json_get_bool(o, "internal", "network.internal", &n->internal);
        (void)json_get_bool(o, "dns", "network.dns", &n->dns);
        (void)json_get_bool(o, "default", "network.default", &n->is_default);
        r = pool_from_json(p4, "network.ipv4", AF_INET, &n->pool4);
        if (r < 0)
                return r;
        if (json_get_object(o, "ipv6", "network.ipv6", &p6) == 0) {
                r = pool_from_json(p6, "network.ipv6", AF_INET6, &n->pool6);
                if (r < 0)
                        return r;
                n->has6 = true;
        }
        if (json_get_strv(o, "egress", "network.egress", &eg) == 0 &&
            policy_parse(eg, "egress", &n->egress) < 0)
                return -EINVAL;
        if (json_get_strv(o, "ingress", "network.ingress", &in) == 0 &&
            policy_parse(in, "ingress", &n->ingress) < 0)
                return -EINVAL;
        if (json_get_object(o, "options", "network.options", &opts) == 0)
                n->options = json_object_get(opts);
        n->state = streq(state, "ready") ? RECORD_READY : RECORD_CREATING;
        proc_id_from_json(o, "creator", &n->creator);
        *ret = TAKE_PTR(n);
        return 0;
}

int network_names(struct net_ctx *ctx, char ***ret)
{
        return store_keys(ctx->store, "networks", ret);
}

static int network_load_exact(struct net_ctx *ctx, const char *name, struct network **ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        if (!store_key_valid(name))
                return -ENOENT;
        r = store_read_json(ctx->store, "networks", name, &o);
        if (r < 0)
                return r;
        return network_from_json(o, ret);
}

int network_load(struct net_ctx *ctx, const char *name, struct network **ret)
{
        _cleanup_strv_free_ char **names = NULL;
        struct network *found = NULL;
        int r;

        r = network_load_exact(ctx, name, ret);
        if (r != -ENOENT)
                return r;
        /* An id or an unambiguous id prefix, as docker accepts. */
        if (strlen(name) >= 3 && network_names(ctx, &names) == 0)
                STRV_FOREACH (k, names) {
                        struct network *n;
                        if (network_load_exact(ctx, *k, &n) < 0)
                                continue;
                        if (!startswith(n->id, name)) {
                                network_free(n);
                                continue;
                        }
                        if (found) {
                                network_free(n);
                                network_free(found);
                                return err_set(-EINVAL, "network id prefix '%s' is ambiguous", name);
                        }
                        found = n;
                }
        if (!found)
                return err_set(-ENOENT, "network '%s' not found", name);
        *ret = found;
        return 0;
}

int network_save(struct net_ctx *ctx, const struct network *n)
{
        _cleanup_json_ struct json_object *o = network_to_json(n);
        return store_write_json(ctx->store, "networks", n->name, o);
}

void network_endpoint_table(const struct network *n, char buf[static 128])
{
        snprintf(buf, 128, "endpoints/%s", n->id);
}

void network_nft_view(const struct network *n, struct nft_network *ret)
{
        *ret = (struct nft_network){
                .id = n->short_id,
                .bridge = n->bridge,
                .internal = n->internal,
                .dns = n->dns,
                .subnet4 = &n->pool4.subnet,
                .gateway4 = &n->pool4.gateway,
                .subnet6 = n->has6 ? &n->pool6.subnet : NULL,
                .gateway6 = n->has6 ? &n->pool6.gateway : NULL,
                .egress = &n->egress,
                .ingress = &n->ingress,
        };
}

/* ------------------------------------------------------------------ checks and choices */

static bool network_name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NETWORK_NAME_MAX ||
            !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        return store_key_valid(s) && !strchr(s, ':');
}

static bool br_netfilter_present(void)
{
        return access("/proc/sys/net/bridge/bridge-nf-call-iptables", F_OK) == 0;
}

/* What a new subnet of one family must not overlap: the other networks' subnets and the host's
 * routes (those through hull bridges are the networks'), loaded once per create. */
struct taken {
        struct cidr *cidrs;
        char **what; /* "network 'front' (10.89.0.0/24)", "the host route to 192.0.2.0/24 (dev eth0)" */
        size_t n;
};

static void taken_done(struct taken *t)
{
        free(t->cidrs);
        strv_free(t->what);
}

static int taken_add(struct taken *t, const struct cidr *c, char *what)
{
        struct cidr *v;

        if (!what)
                return -ENOMEM;
        v = reallocarray(t->cidrs, t->n + 1, sizeof(*v));
        if (!v) {
                free(what);
                return -ENOMEM;
        }
        t->cidrs = v;
        t->cidrs[t->n++] = *c;
        return strv_push(&t->what, what);
}

static int taken_load(struct net_ctx *ctx, const char *name, int family, struct taken *t)
{
        _cleanup_strv_free_ char **names = NULL, **bridges = NULL;
        _cleanup_free_ struct nl_route *routes = NULL;
        char b[CIDR_STRLEN];
        size_t n_routes = 0;
        struct nl *nl;
        int r;

        r = network_names(ctx, &names);
        if (r < 0)
                return r;
        STRV_FOREACH (k, names) {
                _cleanup_network_ struct network *n = NULL;
                const struct cidr *sub;

                if (streq(*k, name) || network_load_exact(ctx, *k, &n) < 0)
                        continue;
                if (strv_extend(&bridges, n->bridge) < 0)
                        return -ENOMEM;
                sub = family == AF_INET ? &n->pool4.subnet : n->has6 ? &n->pool6.subnet : NULL;
                if (sub &&
                    (r = taken_add(t, sub,
                                   strdup_printf("network '%s' (%s)", n->name, cidr_to_string(sub, b)))) < 0)
                        return r;
        }
        r = ctx_nl(ctx, &nl);
        if (r >= 0)
                r = nl_route_list(nl, family, &routes, &n_routes);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_routes; i++) {
                char dev[IF_NAMESIZE] = "?";

                if (routes[i].dst.len == 0)
                        continue;
                if (routes[i].oif > 0)
                        (void)if_indextoname((unsigned)routes[i].oif, dev);
                if (strv_contains(bridges, dev))
                        continue;
                r = taken_add(t, &routes[i].dst,
                              strdup_printf("the host route to %s (dev %s)",
                                            cidr_to_string(&routes[i].dst, b), dev));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What c overlaps, or NULL. */
static const char *taken_find(const struct taken *t, const struct cidr *c)
{
        for (size_t i = 0; i < t->n; i++)
                if (cidr_overlaps(c, &t->cidrs[i]))
                        return t->what[i];
        return NULL;
}

/* A free subnet: IPv4 /24s from 10.89.0.0 to 10.99.255.0 for user networks, a /16 from 10.88.0.0
 * down to 10.80.0.0 for the default one (10.88.0.0/16 first, as podman's); IPv6 /64s of the
 * node's random ULA /48 (RFC 4193 §3.2, created on first use). */
static int pick_subnet(struct net_ctx *ctx, const struct taken *t, int family, bool is_default,
                       struct cidr *ret)
{
        _cleanup_free_ char *ula = NULL;
        struct ipaddr base;
        int r;

        if (family == AF_INET) {
                for (unsigned i = 0; i < (is_default ? 9u : 11u * 256u); i++) {
                        struct cidr c = {.addr.family = AF_INET, .len = is_default ? 16 : 24};
                        c.addr.bytes[0] = 10;
                        c.addr.bytes[1] = (uint8_t)(is_default ? 88 - i : 89 + i / 256);
                        c.addr.bytes[2] = (uint8_t)(is_default ? 0 : i % 256);
                        if (!taken_find(t, &c)) {
                                *ret = c;
                                return 0;
                        }
                }
                return err_set(-ENOSPC, "no free IPv4 subnet left in %s: give one with --subnet",
                               is_default ? "10.80.0.0/13" : "10.89.0.0 - 10.99.255.0");
        }
        r = store_read(ctx->store, "node", "ula48", &ula);
        if (r == -ENOENT) {
                uint8_t g[5];
                if (getrandom(g, sizeof(g), 0) != sizeof(g))
                        return -EIO;
                ula = strdup_printf("fd%02x:%02x%02x:%02x%02x::", g[0], g[1], g[2], g[3], g[4]);
                if (!ula)
                        return -ENOMEM;
                r = store_write(ctx->store, "node", "ula48", ula);
        }
        if (r < 0)
                return r;
        if (ipaddr_parse(ula, &base) < 0 || base.family != AF_INET6)
                return err_set(-EINVAL, "node ULA prefix '%s' is invalid", ula);
        for (unsigned sub = 1; sub < 65536; sub++) {
                struct cidr c = {.addr = base, .len = 64};
                c.addr.bytes[6] = (uint8_t)(sub >> 8);
                c.addr.bytes[7] = (uint8_t)sub;
                if (!taken_find(t, &c)) {
                        *ret = c;
                        return 0;
                }
        }
        return err_set(-ENOSPC, "no free IPv6 subnet left: give one with --subnet6");
}

/* Fill a pool from the options; family-checked; subnet chosen when not given. */
static int pool_setup(struct net_ctx *ctx, const char *name, int family, bool is_default, const char *subnet,
                      const char *gateway, const char *range, struct ipam_pool *p)
{
        _cleanup_(taken_done) struct taken t = {};
        const char *fam = family == AF_INET ? "" : "6", *other;
        char what[32], c[CIDR_STRLEN];
        int r;

        r = taken_load(ctx, name, family, &t);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "--subnet%s", fam);
        if (subnet) {
                r = cidr_parse(subnet, what, &p->subnet);
                if (r < 0)
                        return r;
                if (p->subnet.addr.family != family)
                        return err_set(-EINVAL, "%s: '%s' is not an IPv%s subnet", what, subnet,
                                       family == AF_INET ? "4" : "6");
                other = taken_find(&t, &p->subnet);
                if (other)
                        return err_set(-EINVAL, "subnet %s overlaps %s", cidr_to_string(&p->subnet, c),
                                       other);
        } else {
                r = pick_subnet(ctx, &t, family, is_default, &p->subnet);
                if (r < 0)
                        return r;
        }
        if (gateway) {
                if (ipaddr_parse(gateway, &p->gateway) < 0 || p->gateway.family != family)
                        return err_set(-EINVAL, "--gateway%s: invalid IPv%s address '%s'", fam,
                                       family == AF_INET ? "4" : "6", gateway);
        } else if (cidr_nth(&p->subnet, 1, &p->gateway) < 0)
                return err_set(-EINVAL, "%s: subnet too small", what);
        snprintf(what, sizeof(what), "--ip-range%s", fam);
        if (range) {
                r = cidr_parse(range, what, &p->range);
                if (r < 0)
                        return r;
        } else
                p->range = p->subnet;
        return ipam_pool_check(p, name);
}

static int parse_opts(struct network *n, char *const *opts)
{
        n->options = json_object_new_object();
        STRV_FOREACH (o, (char **)opts) {
                const char *eq = strchr(*o, '=');
                char key[32];
                const char *v;
                uint32_t mtu;

                if (!eq || (size_t)(eq - *o) >= sizeof(key))
                        return err_set(-EINVAL, "--opt: expected KEY=VALUE, got '%s'", *o);
                snprintf(key, sizeof(key), "%.*s", (int)(eq - *o), *o);
                v = eq + 1;
                if (streq(key, "mtu") || streq(key, "com.docker.network.driver.mtu")) {
                        if (parse_u32(v, &mtu) < 0 || mtu < 1280 || mtu > 65535)
                                return err_set(-EINVAL, "--opt mtu: '%s' is not an MTU (1280-65535)", v);
                        n->mtu = mtu;
                } else if (streq(key, "bridge") || streq(key, "com.docker.network.bridge.name")) {
                        if (strlen(v) == 0 || strlen(v) >= IF_NAMESIZE || strchr(v, '/') || strchr(v, ' ') ||
                            streq(v, ".") || streq(v, ".."))
                                return err_set(-EINVAL, "--opt bridge: invalid interface name '%s'", v);
                        free(n->bridge);
                        n->bridge = strdup(v);
                        if (!n->bridge)
                                return -ENOMEM;
                } else if (streq(key, "dns")) {
                        if (!streq(v, "true") && !streq(v, "false"))
                                return err_set(-EINVAL, "--opt dns: expected true or false, got '%s'", v);
                        n->dns = streq(v, "true");
                } else
                        return err_set(-EINVAL, "--opt: unknown option '%s' (mtu, bridge, dns)", key);
                json_object_object_add(n->options, key, json_object_new_string(v));
        }
        return 0;
}

/* ------------------------------------------------------------------ kernel state */

static const char *forward_key(int family)
{
        return family == AF_INET ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding";
}

static const char *forward_row(int family)
{
        return family == AF_INET ? "ipv4-forward" : "ipv6-forward";
}

static int forwarding_enable(struct net_ctx *ctx, int family)
{
        _cleanup_free_ char *cur = NULL;
        int r;

        r = sysctl_read(forward_key(family), &cur);
        if (r < 0)
                return err_set(r, "cannot read sysctl %s: %s", forward_key(family), strerror(-r));
        if (streq(cur, "1"))
                return 0;
        /* Recorded first: whoever removes the last routing network puts it back. */
        r = store_write(ctx->store, "sysctl", forward_row(family), cur);
        if (r < 0)
                return r;
        return sysctl_write(forward_key(family), "1");
}

static void forwarding_restore(struct net_ctx *ctx)
{
        _cleanup_strv_free_ char **names = NULL;
        bool need[2] = {};

        if (network_names(ctx, &names) < 0)
                return;
        STRV_FOREACH (k, names) {
                _cleanup_network_ struct network *n = NULL;
                if (network_load_exact(ctx, *k, &n) < 0 || n->internal)
                        continue;
                need[0] = true;
                need[1] = need[1] || n->has6;
        }
        for (int f = 0; f < 2; f++) {
                int family = f == 0 ? AF_INET : AF_INET6;
                _cleanup_free_ char *prev = NULL, *cur = NULL;

                if (need[f] || store_read(ctx->store, "sysctl", forward_row(family), &prev) < 0)
                        continue;
                if (sysctl_read(forward_key(family), &cur) == 0 && streq(cur, "1") && !streq(prev, "1"))
                        (void)sysctl_write(forward_key(family), prev);
                (void)store_remove(ctx->store, "sysctl", forward_row(family));
        }
}

static int network_setup(struct net_ctx *ctx, struct network *n)
{
        _cleanup_free_ char *cmds = NULL, *key = NULL;
        struct nft_network view;
        struct nl_link_info li;
        struct nft *nft;
        struct nl *nl;
        size_t size = 0;
        FILE *f;
        int r;

        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        r = nl_link_get(nl, n->bridge, &li);
        if (r == -ENODEV) {
                r = nl_bridge_create(nl, n->bridge, n->mtu, n->mac, br_netfilter_present());
                if (r < 0)
                        return r;
                r = nl_link_get(nl, n->bridge, &li);
        }
        if (r < 0)
                return r;
        if (!streq(li.kind, "bridge"))
                return err_set(-EEXIST, "link '%s' exists and is not a bridge", n->bridge);
        for (int fam = 0; fam < (n->has6 ? 2 : 1); fam++) {
                const struct ipam_pool *p = fam == 0 ? &n->pool4 : &n->pool6;
                struct cidr gw = {.addr = p->gateway, .len = p->subnet.len};
                r = nl_addr_add(nl, li.ifindex, &gw);
                if (r == -EEXIST) {
                        err_clear();
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        if (!n->internal) {
                /* Loopback-published ports: the kernel routes 127/8 sources out of this bridge only
                 * with route_localnet; nat_pre drops 127/8 destinations coming in (CVE-2020-8558). */
                key = strdup_printf("net/ipv4/conf/%s/route_localnet", n->bridge);
                if (!key)
                        return -ENOMEM;
                r = sysctl_write(key, "1");
                if (r >= 0)
                        r = forwarding_enable(ctx, AF_INET);
                if (r >= 0 && n->has6)
                        r = forwarding_enable(ctx, AF_INET6);
                if (r < 0)
                        return r;
        }
        r = ctx_nft(ctx, &nft);
        if (r < 0)
                return r;
        /* The fixed part in a transaction of its own: nft 1.0.6 cannot add elements to an
         * interval map created earlier in the same transaction (ENOENT). */
        f = open_memstream(&cmds, &size);
        if (!f)
                return -ENOMEM;
        nft_gen_base(f);
        if (fclose(f) != 0)
                return -ENOMEM;
        r = nft_run(nft, cmds);
        if (r < 0)
                return r;
        free(cmds);
        cmds = NULL;
        f = open_memstream(&cmds, &size);
        if (!f)
                return -ENOMEM;
        network_nft_view(n, &view);
        nft_gen_network_add(f, &view);
        if (fclose(f) != 0)
                return -ENOMEM;
        return nft_run(nft, cmds);
}

int network_ensure_up(struct net_ctx *ctx, struct network *n)
{
        struct nl *nl;
        int r, idx;

        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        idx = nl_link_index(nl, n->bridge);
        if (n->state != RECORD_READY || idx <= 0) {
                /* After a reboot (no bridge, no rules) or an interrupted create: make it all again. */
                r = network_setup(ctx, n);
                if (r < 0)
                        return r;
                idx = nl_link_index(nl, n->bridge);
                if (idx < 0)
                        return err_set(idx, "bridge '%s' of network '%s' is missing", n->bridge, n->name);
                if (n->state != RECORD_READY) {
                        n->state = RECORD_READY;
                        r = network_save(ctx, n);
                        if (r < 0)
                                return r;
                }
        }
        n->bridge_ifindex = idx;
        return 0;
}

int network_teardown(struct net_ctx *ctx, struct network *n)
{
        _cleanup_strv_free_ char **keys = NULL, **left = NULL;
        _cleanup_free_ char *cmds = NULL;
        struct nft_network view;
        char table[128];
        struct nft *nft = NULL;
        struct nl *nl;
        size_t size = 0;
        FILE *f;
        int r;

        (void)dns_responder_stop(ctx->store, n->id);
        if (endpoint_keys(ctx, n, &keys) == 0)
                STRV_FOREACH (k, keys) {
                        _cleanup_endpoint_ struct endpoint *ep = NULL;
                        if (endpoint_load(ctx, n, *k, &ep) == 0) {
                                r = endpoint_teardown(ctx, n, ep);
                                if (r < 0)
                                        return r;
                        }
                }
        f = open_memstream(&cmds, &size);
        if (!f)
                return -ENOMEM;
        network_nft_view(n, &view);
        nft_gen_network_del(f, &view);
        if (fclose(f) != 0)
                return -ENOMEM;
        r = ctx_nft(ctx, &nft);
        if (r >= 0)
                r = nft_run_lenient(nft, cmds);
        if (r < 0)
                return r;
        r = ctx_nl(ctx, &nl);
        if (r >= 0) {
                r = nl_link_delete(nl, n->bridge);
                if (r == -ENODEV)
                        r = 0;
        }
        if (r < 0)
                return r;
        (void)ipam_drop(ctx->store, n->id);
        (void)dns_names_drop(ctx->store, n->id);
        /* Endpoint rows left by a teardown that could not finish go with their network. */
        network_endpoint_table(n, table);
        if (store_keys(ctx->store, table, &left) == 0)
                STRV_FOREACH (k, left)
                        (void)store_remove(ctx->store, table, *k);
        strv_free(left);
        left = NULL;
        r = store_remove(ctx->store, "networks", n->name);
        if (r < 0 && r != -ENOENT)
                return r;
        forwarding_restore(ctx);
        /* The last network takes the table with it. */
        if (network_names(ctx, &left) == 0 && strv_length(left) == 0)
                (void)nft_delete_table(nft);
        return 0;
}

/* ------------------------------------------------------------------ API */

static int create_locked(struct net_ctx *ctx, const struct net_create_options *o, bool is_default,
                         struct network **ret)
{
        _cleanup_network_ struct network *n = calloc(1, sizeof(*n));
        _cleanup_free_ char *existing = NULL;
        uint8_t idbytes[32];
        struct nl *nl;
        int r;

        if (!n)
                return -ENOMEM;
        if (!o->name || !network_name_valid(o->name))
                return err_set(-EINVAL,
                               "invalid network name '%s': [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d "
                               "characters",
                               strempty(o->name), NETWORK_NAME_MAX);
        if (streq(o->name, "none") || streq(o->name, "host") || streq(o->name, "bridge") ||
            streq(o->name, "container"))
                return err_set(-EINVAL, "network name '%s' is reserved", o->name);
        if (store_read(ctx->store, "networks", o->name, &existing) == 0)
                return err_set(-EEXIST, "network '%s' already exists", o->name);

        n->name = strdup(o->name);
        n->is_default = is_default;
        n->internal = o->internal;
        n->dns = !is_default;
        n->mtu = DEFAULT_MTU;
        if (getrandom(idbytes, sizeof(idbytes), 0) != sizeof(idbytes))
                return -EIO;
        n->id = malloc(SHA256_HEX_LEN + 1);
        if (!n->name || !n->id)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof(idbytes); i++)
                snprintf(n->id + 2 * i, 3, "%02x", idbytes[i]);
        snprintf(n->short_id, sizeof(n->short_id), "%s", n->id);
        r = parse_opts(n, o->opts);
        if (r < 0)
                return r;
        if (!n->bridge) {
                n->bridge = is_default ? strdup(DEFAULT_BRIDGE) : strdup_printf("hb-%s", n->short_id);
                if (!n->bridge)
                        return -ENOMEM;
        }
        r = pool_setup(ctx, n->name, AF_INET, is_default, o->subnet, o->gateway, o->ip_range, &n->pool4);
        if (r < 0)
                return r;
        if (o->ipv6 || o->subnet6) {
                r = pool_setup(ctx, n->name, AF_INET6, false, o->subnet6, o->gateway6, o->ip_range6,
                               &n->pool6);
                if (r < 0)
                        return r;
                n->has6 = true;
        }
        if ((r = policy_parse(o->egress, "--egress", &n->egress)) < 0 ||
            (r = policy_parse(o->ingress, "--ingress", &n->ingress)) < 0)
                return r;
        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        if (nl_link_index(nl, n->bridge) > 0)
                return err_set(-EEXIST, "bridge name '%s' is already used by another link", n->bridge);
        mac_random(n->mac);
        n->created = now_iso8601();
        if (!n->created)
                return -ENOMEM;

        n->state = RECORD_CREATING;
        r = proc_id_get(0, &n->creator);
        if (r >= 0)
                r = network_save(ctx, n);
        if (r < 0)
                return r;
        r = network_setup(ctx, n);
        if (r >= 0) {
                n->state = RECORD_READY;
                r = network_save(ctx, n);
        }
        if (r < 0) {
                KEEP_ERROR(r, (void)network_teardown(ctx, n));
                return r;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

static struct json_object *inspect_json(struct net_ctx *ctx, const struct network *n)
{
        struct json_object *o = network_to_json(n), *eps = json_object_new_object(), *dns;
        _cleanup_strv_free_ char **keys = NULL;
        int pid;

        if (endpoint_keys(ctx, n, &keys) == 0)
                STRV_FOREACH (k, keys) {
                        _cleanup_endpoint_ struct endpoint *ep = NULL;
                        if (endpoint_load(ctx, n, *k, &ep) == 0)
                                json_object_object_add(eps, *k, endpoint_to_json(ep));
                }
        json_object_object_add(o, "endpoints", eps);
        dns = json_object_new_object();
        pid = n->dns ? dns_responder_pid(ctx->store, n->id) : 0;
        json_object_object_add(dns, "enabled", json_object_new_boolean(n->dns));
        json_object_object_add(dns, "responder_pid", pid > 0 ? json_object_new_int(pid) : NULL);
        json_object_object_add(o, "dns_responder", dns);
        /* Without br_netfilter, traffic between two containers of one network is bridged below
         * nftables' inet hooks: their policies then only see routed traffic. */
        json_object_object_add(o, "policy_scope",
                               json_object_new_string(br_netfilter_present() ? "all" : "routed"));
        return o;
}

int net_network_create(struct net_ctx *ctx, const struct net_create_options *o,
                       struct json_object **ret_inspect)
{
        _cleanup_network_ struct network *n = NULL;
        int r;

        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        r = create_locked(ctx, o, false, &n);
        store_unlock(ctx->store);
        if (r < 0)
                return r;
        if (ret_inspect)
                *ret_inspect = inspect_json(ctx, n);
        return 0;
}

int net_network_ensure_default(struct net_ctx *ctx)
{
        _cleanup_network_ struct network *n = NULL;
        _cleanup_free_ char *existing = NULL;
        struct net_create_options o = {.name = NET_DEFAULT_NETWORK};
        int r;

        if (store_read(ctx->store, "networks", NET_DEFAULT_NETWORK, &existing) == 0)
                return 0;
        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        if (store_read(ctx->store, "networks", NET_DEFAULT_NETWORK, &existing) == 0)
                r = 0;
        else
                r = create_locked(ctx, &o, true, &n);
        store_unlock(ctx->store);
        return r;
}

int net_network_remove(struct net_ctx *ctx, const char *name, bool force)
{
        _cleanup_network_ struct network *n = NULL;
        _cleanup_strv_free_ char **keys = NULL, **live = NULL;
        int r;

        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        r = network_load(ctx, name, &n);
        if (r >= 0)
                r = endpoint_keys(ctx, n, &keys);
        STRV_FOREACH (k, keys) {
                _cleanup_endpoint_ struct endpoint *ep = NULL;
                if (r < 0 || endpoint_load(ctx, n, *k, &ep) < 0)
                        continue;
                if (endpoint_stale(ctx, ep))
                        r = endpoint_teardown(ctx, n, ep);
                else
                        r = strv_extend(&live, *k);
        }
        if (r >= 0 && strv_length(live) > 0 && !force) {
                _cleanup_free_ char *list = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&list, &size);
                if (f) {
                        STRV_FOREACH (k, live)
                                fprintf(f, "%s%s", k == live ? "" : ", ", *k);
                        fclose(f);
                }
                r = err_set(-EBUSY, "network '%s' has %zu attached endpoint%s (%s)", n->name,
                            strv_length(live), strv_length(live) == 1 ? "" : "s", strempty(list));
        }
        if (r >= 0)
                r = network_teardown(ctx, n);
        store_unlock(ctx->store);
        return r;
}

int net_network_inspect(struct net_ctx *ctx, const char *name, struct json_object **ret)
{
        _cleanup_network_ struct network *n = NULL;
        int r;

        r = network_load(ctx, name, &n);
        if (r < 0)
                return r;
        *ret = inspect_json(ctx, n);
        return 0;
}

int net_network_list(struct net_ctx *ctx, struct json_object **ret)
{
        _cleanup_strv_free_ char **names = NULL;
        struct json_object *a;
        int r;

        r = network_names(ctx, &names);
        if (r < 0)
                return r;
        a = json_object_new_array();
        STRV_FOREACH (k, names) {
                _cleanup_network_ struct network *n = NULL;
                _cleanup_strv_free_ char **keys = NULL;
                struct json_object *o;
                char c[CIDR_STRLEN];

                if (network_load_exact(ctx, *k, &n) < 0)
                        continue;
                o = json_object_new_object();
                json_add_str(o, "name", n->name);
                json_object_object_add(o, "id", json_object_new_string_len(n->id, NET_ID_SHORT));
                json_add_str(o, "driver", "bridge");
                json_add_str(o, "subnet", cidr_to_string(&n->pool4.subnet, c));
                json_add_str(o, "subnet6", n->has6 ? cidr_to_string(&n->pool6.subnet, c) : NULL);
                json_object_object_add(o, "internal", json_object_new_boolean(n->internal));
                (void)endpoint_keys(ctx, n, &keys);
                json_object_object_add(o, "endpoints", json_object_new_int((int)strv_length(keys)));
                json_add_str(o, "created", n->created);
                json_object_array_add(a, o);
        }
        *ret = a;
        return 0;
}

int net_network_set_policy(struct net_ctx *ctx, const char *name, char *const *egress, char *const *ingress)
{
        _cleanup_network_ struct network *n = NULL;
        _cleanup_free_ char *cmds = NULL;
        struct policy eg = {}, in = {};
        struct nft_network view;
        struct nft *nft;
        size_t size = 0;
        FILE *f;
        int r;

        if ((egress && (r = policy_parse(egress, "--egress", &eg)) < 0) ||
            (ingress && (r = policy_parse(ingress, "--ingress", &in)) < 0)) {
                policy_done(&eg);
                return r;
        }
        r = store_lock(ctx->store);
        if (r < 0)
                goto out;
        r = network_load(ctx, name, &n);
        if (r < 0)
                goto unlock;
        if (egress) {
                policy_done(&n->egress);
                n->egress = eg;
                eg = (struct policy){};
        }
        if (ingress) {
                policy_done(&n->ingress);
                n->ingress = in;
                in = (struct policy){};
        }
        f = open_memstream(&cmds, &size);
        if (!f) {
                r = -ENOMEM;
                goto unlock;
        }
        network_nft_view(n, &view);
        nft_gen_network_policy(f, &view);
        if (fclose(f) != 0)
                r = -ENOMEM;
        if (r >= 0)
                r = ctx_nft(ctx, &nft);
        if (r >= 0)
                r = nft_run(nft, cmds);
        if (r >= 0)
                r = network_save(ctx, n);
unlock:
        store_unlock(ctx->store);
out:
        policy_done(&eg);
        policy_done(&in);
        return r;
}
