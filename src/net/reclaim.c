/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reclaim.c - give back what interrupted or abandoned operations left behind; network prune.
 *
 * Records first: a network still "creating" whose creator is dead is torn down; an endpoint
 * whose attach was interrupted, whose namespace is gone or whose owner process died is
 * detached (endpoint_stale). Then everything hull names deterministically but that no record
 * claims any more is removed, in each place it can live:
 *   - store rows: leases whose owner eid has no endpoint, host port reservations whose
 *     "<endpoint>@<network>" is gone, DNS name lines, tables of networks that no longer exist
 *     (and their responders), temporary files of killed writers;
 *   - links: "vh<eid>" veths and taps enslaved to a hull bridge without an endpoint, and
 *     "hb-<id>" bridges without a network;
 *   - nftables: e-<eid>-* and n-<id>-* chains without a record, the map elements that jump to
 *     them or translate to an address no endpoint holds, and port guard elements of links no
 *     endpoint has (found by listing each table once, in JSON, and deleted by echoing the listed
 *     elements back).
 * It runs under the store lock, so it never races an attach.
 */
#include "dns.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "net-internal.h"
#include "util.h"

struct live {
        char **netids; /* short ids of networks */
        char **bridges;
        char **eids;
        char **ifnames; /* host-side links of endpoints */
        char **ips;     /* endpoint addresses */
        char **owners;  /* "<endpoint>@<network>" */
};

static void live_done(struct live *l)
{
        strv_free(l->netids);
        strv_free(l->bridges);
        strv_free(l->eids);
        strv_free(l->ifnames);
        strv_free(l->ips);
        strv_free(l->owners);
}

/* Endpoints of one network: stale ones are detached, the others counted as live. */
static int reclaim_endpoints(struct net_ctx *ctx, struct network *n, struct live *l, int *count)
{
        _cleanup_strv_free_ char **keys = NULL, **leases = NULL, **live_eids = NULL;
        char a[IPADDR_STRLEN];
        int r;

        r = endpoint_keys(ctx, n, &keys);
        if (r < 0)
                return r;
        STRV_FOREACH (k, keys) {
                _cleanup_endpoint_ struct endpoint *ep = NULL;
                _cleanup_free_ char *owner = NULL;

                if (endpoint_load(ctx, n, *k, &ep) < 0)
                        continue;
                if (endpoint_stale(ctx, ep)) {
                        r = endpoint_teardown(ctx, n, ep);
                        if (r < 0)
                                return r;
                        (*count)++;
                        continue;
                }
                owner = endpoint_port_owner(n, ep->key);
                if (!owner || strv_extend(&l->eids, ep->eid) < 0 || strv_extend(&live_eids, ep->eid) < 0 ||
                    strv_push(&l->owners, TAKE_PTR(owner)) < 0 ||
                    (ep->host_ifname && strv_extend(&l->ifnames, ep->host_ifname) < 0) ||
                    (ipaddr_is_set(&ep->ip4) && strv_extend(&l->ips, ipaddr_to_string(&ep->ip4, a)) < 0) ||
                    (ipaddr_is_set(&ep->ip6) && strv_extend(&l->ips, ipaddr_to_string(&ep->ip6, a)) < 0))
                        return -ENOMEM;
        }
        /* Leases taken by an attach that died before it wrote its record. */
        if (ipam_list(ctx->store, n->id, &leases) == 0)
                STRV_FOREACH (addr, leases) {
                        _cleanup_free_ char *owner = NULL;
                        struct ipaddr ip;
                        if (ipaddr_parse(*addr, &ip) < 0 || ipam_owner(ctx->store, n->id, &ip, &owner) < 0)
                                continue;
                        if (!strv_contains(live_eids, owner))
                                (void)ipam_release(ctx->store, n->id, &ip, NULL);
                }
        /* Name lines of endpoints without a record. */
        if (n->dns) {
                _cleanup_free_ char *text = NULL;
                struct dns_table t = {};
                char table[128];

                snprintf(table, sizeof(table), "dns/%s", n->id);
                if (store_file_read(ctx->store, table, "names", &text) == 0 &&
                    dns_table_parse(text, &t) == 0) {
                        for (size_t i = 0; i < t.n; i++)
                                if (!strv_contains(keys, t.records[i].endpoint))
                                        (void)dns_names_remove(ctx->store, n->id, t.records[i].endpoint);
                        dns_table_done(&t);
                }
        }
        return 0;
}

/* Rows and responders of networks that are gone. */
static void reclaim_tables(struct net_ctx *ctx, const struct live *l, char *const *netids_full)
{
        static const char *const parents[] = {"endpoints", "leases"};
        _cleanup_strv_free_ char **dirs = NULL;

        for (size_t i = 0; i < ELEMENTSOF(parents); i++) {
                _cleanup_strv_free_ char **ids = NULL;

                if (store_tables(ctx->store, parents[i], &ids) < 0)
                        continue;
                STRV_FOREACH (id, ids) {
                        _cleanup_strv_free_ char **rows = NULL;
                        char table[160];

                        if (strv_contains((char **)netids_full, *id))
                                continue;
                        snprintf(table, sizeof(table), "%s/%s", parents[i], *id);
                        if (store_keys(ctx->store, table, &rows) == 0)
                                STRV_FOREACH (row, rows)
                                        (void)store_remove(ctx->store, table, *row);
                }
        }
        /* Responder directories: stop and drop those of removed networks; the temporary files a
         * killed writer left in the others. */
        if (store_dir_list(ctx->store, "dns", &dirs) == 0)
                STRV_FOREACH (id, dirs) {
                        char dir[160];

                        snprintf(dir, sizeof(dir), "dns/%s", *id);
                        if (strv_contains((char **)netids_full, *id)) {
                                (void)store_dir_list(ctx->store, dir, NULL);
                                continue;
                        }
                        (void)dns_responder_stop(ctx->store, *id);
                        (void)dns_names_drop(ctx->store, *id);
                }
        /* Port reservations of endpoints that are gone. */
        {
                _cleanup_strv_free_ char **keys = NULL;
                if (store_keys(ctx->store, "ports", &keys) == 0)
                        STRV_FOREACH (k, keys) {
                                _cleanup_free_ char *row = NULL;
                                char *save = NULL;
                                if (store_read(ctx->store, "ports", *k, &row) < 0)
                                        continue;
                                for (char *line = strtok_r(row, "\n", &save); line;
                                     line = strtok_r(NULL, "\n", &save)) {
                                        const char *sp = strchr(line, ' ');
                                        if (sp && !strv_contains(l->owners, sp + 1))
                                                (void)ports_release_owner_all(ctx->store, sp + 1);
                                }
                        }
        }
}

static int reclaim_links(struct net_ctx *ctx, const struct live *l)
{
        _cleanup_free_ struct nl_link_info *links = NULL;
        size_t n = 0;
        struct nl *nl;
        int r;

        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        r = nl_link_list(nl, &links, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const struct nl_link_info *li = &links[i];
                bool on_hull_bridge = false;

                for (size_t j = 0; j < n && li->master > 0; j++)
                        if (links[j].ifindex == li->master && strv_contains(l->bridges, links[j].name))
                                on_hull_bridge = true;
                if (on_hull_bridge && !strv_contains(l->ifnames, li->name) &&
                    (startswith(li->name, "vh") || streq(li->kind, "tun")))
                        (void)nl_link_delete(nl, li->name);
                else if (streq(li->kind, "bridge") && startswith(li->name, "hb-") &&
                         strlen(li->name) == 15 && !strv_contains(l->bridges, li->name))
                        (void)nl_link_delete(nl, li->name);
        }
        err_clear();
        return 0;
}

/* "e-<eid>-x" / "n-<id>-x": the id, when the chain is one of ours. */
static bool chain_owner(const char *name, char prefix, char out[static NET_ID_SHORT + 1])
{
        if (name[0] != prefix || name[1] != '-' || strlen(name) < 2 + NET_ID_SHORT + 2 ||
            name[2 + NET_ID_SHORT] != '-')
                return false;
        memcpy(out, name + 2, NET_ID_SHORT);
        out[NET_ID_SHORT] = 0;
        return true;
}

static bool chain_orphan(const char *name, const struct live *l)
{
        char id[NET_ID_SHORT + 1];

        if (chain_owner(name, 'e', id))
                return !strv_contains(l->eids, id);
        if (chain_owner(name, 'n', id))
                return !strv_contains(l->netids, id);
        return false;
}

static struct json_object *cmd(const char *family, const char *verb, const char *what,
                               struct json_object *body)
{
        struct json_object *o = json_object_new_object(), *w = json_object_new_object();

        json_object_object_add(body, "family", json_object_new_string(family));
        json_object_object_add(body, "table", json_object_new_string("hull"));
        json_object_object_add(w, what, body);
        json_object_object_add(o, verb, w);
        return o;
}

/* Whether an element must go: it jumps to an orphan chain, translates to an address no
 * endpoint holds, or names a bridge no network owns. */
static bool element_orphan(const char *family, const char *set, struct json_object *elem,
                           const struct live *l)
{
        struct json_object *data, *v, *target, *concat;

        /* Port guard elements: an interface name, alone or first of a concatenation. */
        if (streq(family, "bridge")) {
                if (json_object_object_get_ex(elem, "concat", &concat) &&
                    json_object_is_type(concat, json_type_array))
                        elem = json_object_array_get_idx(concat, 0);
                return json_object_is_type(elem, json_type_string) &&
                       !strv_contains(l->ifnames, json_object_get_string(elem));
        }
        if (streq(set, "bridges"))
                return json_object_is_type(elem, json_type_string) &&
                       !strv_contains(l->bridges, json_object_get_string(elem));
        if (!json_object_is_type(elem, json_type_array) || json_object_array_length(elem) != 2)
                return false;
        data = json_object_array_get_idx(elem, 1);
        if ((json_object_object_get_ex(data, "jump", &v) || json_object_object_get_ex(data, "goto", &v)) &&
            json_object_object_get_ex(v, "target", &target))
                return chain_orphan(json_object_get_string(target), l);
        if (json_object_object_get_ex(data, "concat", &concat) &&
            json_object_is_type(concat, json_type_array) && json_object_array_length(concat) == 2)
                return !strv_contains(l->ips, json_object_get_string(json_object_array_get_idx(concat, 0)));
        return false;
}

static int reclaim_table(struct nft *nft, const char *table, const char *family, const struct live *l)
{
        _cleanup_json_ struct json_object *list = NULL, *doc = json_object_new_object();
        struct json_object *items, *cmds = json_object_new_array();
        int r;

        json_object_object_add(doc, "nftables", cmds);
        r = nft_list_table(nft, table, &list);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(list, "nftables", &items))
                return -EINVAL;
        /* Elements first: a chain that a map still jumps to cannot be deleted. */
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                struct json_object *it = json_object_array_get_idx(items, i), *s, *name, *elems, *del = NULL;

                if (!json_object_object_get_ex(it, "map", &s) && !json_object_object_get_ex(it, "set", &s))
                        continue;
                if (!json_object_object_get_ex(s, "name", &name) ||
                    !json_object_object_get_ex(s, "elem", &elems))
                        continue;
                for (size_t j = 0; j < json_object_array_length(elems); j++) {
                        struct json_object *e = json_object_array_get_idx(elems, j);
                        if (!element_orphan(family, json_object_get_string(name), e, l))
                                continue;
                        if (!del)
                                del = json_object_new_array();
                        /* A map element is [key, data]; deletion names the key only. */
                        json_object_array_add(del, json_object_get(json_object_is_type(e, json_type_array)
                                                                           ? json_object_array_get_idx(e, 0)
                                                                           : e));
                }
                if (del) {
                        struct json_object *body = json_object_new_object();
                        json_object_object_add(body, "name", json_object_get(name));
                        json_object_object_add(body, "elem", del);
                        json_object_array_add(cmds, cmd(family, "delete", "element", body));
                }
        }
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                struct json_object *it = json_object_array_get_idx(items, i), *c, *name;

                if (!json_object_object_get_ex(it, "chain", &c) ||
                    !json_object_object_get_ex(c, "name", &name) ||
                    !chain_orphan(json_object_get_string(name), l))
                        continue;
                for (int k = 0; k < 2; k++) {
                        struct json_object *body = json_object_new_object();
                        json_object_object_add(body, "name", json_object_get(name));
                        json_object_array_add(cmds, cmd(family, k == 0 ? "flush" : "delete", "chain", body));
                }
        }
        return nft_run_json_lenient(nft, doc);
}

static int reclaim_rules(struct net_ctx *ctx, const struct live *l)
{
        struct nft *nft;
        int r;

        r = ctx_nft(ctx, &nft);
        if (r < 0)
                return r;
        r = reclaim_table(nft, NFT_TABLE, "inet", l);
        if (r >= 0)
                r = reclaim_table(nft, NFT_BRIDGE_TABLE, "bridge", l);
        return r;
}

static int reclaim_locked(struct net_ctx *ctx)
{
        _cleanup_strv_free_ char **names = NULL, **netids_full = NULL;
        struct live l = {};
        int r, count = 0;

        r = network_names(ctx, &names);
        if (r < 0)
                return r;
        STRV_FOREACH (k, names) {
                _cleanup_network_ struct network *n = NULL;

                if (network_load(ctx, *k, &n) < 0)
                        continue;
                if (n->state != RECORD_READY && !proc_id_alive(&n->creator)) {
                        r = network_teardown(ctx, n);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (strv_extend(&l.netids, n->short_id) < 0 || strv_extend(&l.bridges, n->bridge) < 0 ||
                    strv_extend(&netids_full, n->id) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                r = reclaim_endpoints(ctx, n, &l, &count);
                if (r < 0)
                        goto out;
        }
        reclaim_tables(ctx, &l, netids_full);
        r = reclaim_links(ctx, &l);
        if (r >= 0)
                r = reclaim_rules(ctx, &l);
        if (r >= 0 && strv_length(l.netids) == 0) {
                struct nft *nft;
                if (ctx_nft(ctx, &nft) == 0)
                        (void)nft_delete_table(nft);
        }
out:
        live_done(&l);
        return r < 0 ? r : count;
}

int net_reclaim(struct net_ctx *ctx)
{
        int r = store_lock(ctx->store);

        if (r < 0)
                return r;
        r = reclaim_locked(ctx);
        store_unlock(ctx->store);
        return r;
}

int net_network_prune(struct net_ctx *ctx, char ***ret_removed)
{
        _cleanup_strv_free_ char **names = NULL, **removed = calloc(1, sizeof(char *));
        int r;

        if (!removed)
                return -ENOMEM;
        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        r = reclaim_locked(ctx);
        if (r >= 0)
                r = network_names(ctx, &names);
        STRV_FOREACH (k, names) {
                _cleanup_network_ struct network *n = NULL;
                _cleanup_strv_free_ char **keys = NULL;

                if (r < 0)
                        break;
                if (network_load(ctx, *k, &n) < 0 || n->is_default)
                        continue;
                if (endpoint_keys(ctx, n, &keys) < 0 || strv_length(keys) > 0)
                        continue;
                r = network_teardown(ctx, n);
                if (r >= 0)
                        r = strv_extend(&removed, n->name);
        }
        store_unlock(ctx->store);
        if (r < 0)
                return r;
        if (ret_removed)
                *ret_removed = TAKE_PTR(removed);
        return 0;
}
