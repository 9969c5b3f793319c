/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint.c - attaching workloads to networks: veths into container namespaces, taps for VMs.
 *
 * net_attach() runs under the store lock, in an order chosen so that every step can be undone
 * and a crash at any point leaves a record that says what may exist:
 *
 *   1. check the options, lease the addresses (ipam.h), reserve the host ports (ports.h);
 *   2. write the endpoint record, state "creating", with the attaching process's identity;
 *   3. kernel objects: the veth pair (host end "vh<eid>" on the bridge, peer created directly
 *      in the container's namespace), then inside the namespace in one netlink batch: lo up,
 *      addresses, default routes; or the persistent tap on the bridge;
 *   4. one nftables transaction: port guard (anti-spoofing), published ports, policies (nft.h);
 *   5. the DNS name, and the network's responder if it is not running (dns.h);
 *   6. /etc/hosts, /etc/resolv.conf, /etc/hostname (hosts.h) into the caller's directory;
 *   7. the record turns "ready".
 *
 * endpoint_teardown() walks the same list backwards from the record; every name it deletes is
 * derived from the record (eid = sha256(network id ":" endpoint)[0:12]), never searched for.
 */
#include <arpa/inet.h>
#include <net/if.h>

#include "dns.h"
#include "error.h"
#include "hosts.h"
#include "json.h"
#include "log.h"
#include "net-internal.h"
#include "util.h"

static const char *const kind_names[_NET_ENDPOINT_KIND_MAX] = {
        [NET_ENDPOINT_VETH] = "veth",
        [NET_ENDPOINT_TAP] = "tap",
};

/* ------------------------------------------------------------------ records */

void endpoint_free(struct endpoint *ep)
{
        if (!ep)
                return;
        free(ep->key);
        free(ep->name);
        free(ep->hostname);
        strv_free(ep->aliases);
        strv_free(ep->dns);
        free(ep->ifname);
        free(ep->host_ifname);
        free(ep->ports);
        policy_done(&ep->egress);
        policy_done(&ep->ingress);
        free(ep->created);
        free(ep);
}

static struct json_object *port_json(const struct port_map *p)
{
        struct json_object *o = json_object_new_object();
        char a[IPADDR_STRLEN];

        json_add_str(o, "host_ip", ipaddr_is_set(&p->host_ip) ? ipaddr_to_string(&p->host_ip, a) : "");
        json_object_object_add(o, "host_port", json_object_new_int(p->host_port));
        json_object_object_add(o, "container_port", json_object_new_int(p->container_port));
        json_add_str(o, "protocol", port_proto_to_string(p->proto));
        return o;
}

struct json_object *endpoint_to_json(const struct endpoint *ep)
{
        struct json_object *o = json_object_new_object(), *ports = json_object_new_array();
        _cleanup_strv_free_ char **eg = policy_to_strv(&ep->egress), **in = policy_to_strv(&ep->ingress);
        char a[IPADDR_STRLEN], mac[MAC_STRLEN];

        json_add_str(o, "endpoint", ep->key);
        json_add_str(o, "eid", ep->eid);
        json_add_str(o, "kind", kind_names[ep->kind]);
        json_add_str(o, "state", ep->state == RECORD_READY ? "ready" : "creating");
        json_add_str(o, "created", ep->created);
        json_object_object_add(o, "attacher",
                               ep->state == RECORD_READY ? NULL : proc_id_to_json(&ep->attacher));
        json_object_object_add(o, "owner", proc_id_to_json(&ep->owner));
        json_add_str(o, "name", ep->name);
        json_add_str(o, "hostname", ep->hostname);
        json_object_object_add(o, "aliases", json_strv(ep->aliases));
        json_object_object_add(o, "dns", json_strv(ep->dns));
        json_add_str(o, "ifname", ep->ifname);
        json_add_str(o, "host_ifname", ep->host_ifname);
        json_add_str(o, "mac", mac_to_string(ep->mac, mac));
        json_add_str(o, "ipv4", ipaddr_is_set(&ep->ip4) ? ipaddr_to_string(&ep->ip4, a) : NULL);
        json_add_str(o, "ipv6", ipaddr_is_set(&ep->ip6) ? ipaddr_to_string(&ep->ip6, a) : NULL);
        for (size_t i = 0; i < ep->n_ports; i++)
                json_object_array_add(ports, port_json(&ep->ports[i]));
        json_object_object_add(o, "ports", ports);
        json_object_object_add(o, "egress", json_strv(eg));
        json_object_object_add(o, "ingress", json_strv(in));
        return o;
}

static int ports_from_json(struct json_object *o, struct endpoint *ep)
{
        struct json_object *a;
        size_t n;

        if (json_get_array(o, "ports", "endpoint.ports", &a) < 0)
                return 0;
        n = json_object_array_length(a);
        if (n > PORTS_MAX)
                return -EINVAL;
        ep->ports = calloc(n ? n : 1, sizeof(*ep->ports));
        if (!ep->ports)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *p = json_object_array_get_idx(a, i);
                const char *ip = "", *proto = "tcp";
                uint32_t hp = 0, cp = 0;
                struct port_map *m = &ep->ports[i];

                (void)json_get_string(p, "host_ip", "endpoint.ports[].host_ip", &ip);
                (void)json_get_string(p, "protocol", "endpoint.ports[].protocol", &proto);
                (void)json_get_uint32(p, "host_port", "endpoint.ports[].host_port", &hp);
                (void)json_get_uint32(p, "container_port", "endpoint.ports[].container_port", &cp);
                if ((*ip && ipaddr_parse(ip, &m->host_ip) < 0) || hp > 65535 || cp > 65535 ||
                    (int)(m->proto = port_proto_from_string(proto)) < 0)
                        return err_set(-EINVAL, "endpoint record: invalid port %zu", i);
                m->host_port = (uint16_t)hp;
                m->container_port = (uint16_t)cp;
        }
        ep->n_ports = n;
        return 0;
}

static int endpoint_from_json(struct json_object *o, struct endpoint **ret)
{
        _cleanup_endpoint_ struct endpoint *ep = calloc(1, sizeof(*ep));
        _cleanup_strv_free_ char **eg = NULL, **in = NULL;
        const char *key, *eid, *kind, *state, *mac, *s;
        int r;

        if (!ep)
                return -ENOMEM;
        if ((r = json_get_string(o, "endpoint", "endpoint", &key)) < 0 ||
            (r = json_get_string(o, "eid", "endpoint.eid", &eid)) < 0 ||
            (r = json_get_string(o, "kind", "endpoint.kind", &kind)) < 0 ||
            (r = json_get_string(o, "state", "endpoint.state", &state)) < 0 ||
            (r = json_get_string(o, "mac", "endpoint.mac", &mac)) < 0)
                return r == -ENOENT ? err_set(-EINVAL, "endpoint record: a field is missing") : r;
        ep->key = strdup(key);
        if (!ep->key)
                return -ENOMEM;
        snprintf(ep->eid, sizeof(ep->eid), "%s", eid);
        ep->kind = streq(kind, "tap") ? NET_ENDPOINT_TAP : NET_ENDPOINT_VETH;
        ep->state = streq(state, "ready") ? RECORD_READY : RECORD_CREATING;
        if (mac_parse(mac, ep->mac) < 0)
                return err_set(-EINVAL, "endpoint record '%s': invalid mac", key);
        proc_id_from_json(o, "attacher", &ep->attacher);
        proc_id_from_json(o, "owner", &ep->owner);
#define DUP_FIELD(field, name)                                                               \
        if (json_get_string(o, name, "endpoint." name, &s) == 0 && !(ep->field = strdup(s))) \
                return -ENOMEM;
        DUP_FIELD(name, "name");
        DUP_FIELD(hostname, "hostname");
        DUP_FIELD(ifname, "ifname");
        DUP_FIELD(host_ifname, "host_ifname");
        DUP_FIELD(created, "created");
#undef DUP_FIELD
        (void)json_get_strv(o, "aliases", "endpoint.aliases", &ep->aliases);
        (void)json_get_strv(o, "dns", "endpoint.dns", &ep->dns);
        if (json_get_string(o, "ipv4", "endpoint.ipv4", &s) == 0 && ipaddr_parse(s, &ep->ip4) < 0)
                return err_set(-EINVAL, "endpoint record '%s': invalid ipv4", key);
        if (json_get_string(o, "ipv6", "endpoint.ipv6", &s) == 0 && ipaddr_parse(s, &ep->ip6) < 0)
                return err_set(-EINVAL, "endpoint record '%s': invalid ipv6", key);
        r = ports_from_json(o, ep);
        if (r < 0)
                return r;
        if (json_get_strv(o, "egress", "endpoint.egress", &eg) == 0 &&
            policy_parse(eg, "egress", &ep->egress) < 0)
                return -EINVAL;
        if (json_get_strv(o, "ingress", "endpoint.ingress", &in) == 0 &&
            policy_parse(in, "ingress", &ep->ingress) < 0)
                return -EINVAL;
        *ret = TAKE_PTR(ep);
        return 0;
}

int endpoint_load(struct net_ctx *ctx, const struct network *n, const char *key, struct endpoint **ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        char table[128];
        int r;

        if (!store_key_valid(key))
                return -ENOENT;
        network_endpoint_table(n, table);
        r = store_read_json(ctx->store, table, key, &o);
        if (r < 0)
                return r;
        return endpoint_from_json(o, ret);
}

int endpoint_save(struct net_ctx *ctx, const struct network *n, const struct endpoint *ep)
{
        _cleanup_json_ struct json_object *o = endpoint_to_json(ep);
        char table[128];

        network_endpoint_table(n, table);
        return store_write_json(ctx->store, table, ep->key, o);
}

int endpoint_keys(struct net_ctx *ctx, const struct network *n, char ***ret)
{
        char table[128];

        network_endpoint_table(n, table);
        return store_keys(ctx->store, table, ret);
}

char *endpoint_port_owner(const struct network *n, const char *key)
{
        return strdup_printf("%s@%s", key, n->name);
}

bool endpoint_stale(struct net_ctx *ctx, const struct endpoint *ep)
{
        struct nl *nl;

        if (ep->state != RECORD_READY)
                return !proc_id_alive(&ep->attacher);
        if (ep->owner.pid > 0 && !proc_id_alive(&ep->owner))
                return true;
        /* A veth goes away with its namespace: the container is gone. */
        if (ep->kind == NET_ENDPOINT_VETH && ep->host_ifname && ctx_nl(ctx, &nl) == 0 &&
            nl_link_index(nl, ep->host_ifname) == -ENODEV)
                return true;
        return false;
}

static void endpoint_nft_view(const struct endpoint *ep, struct nft_endpoint *ret)
{
        *ret = (struct nft_endpoint){
                .id = ep->eid,
                .host_ifname = ep->host_ifname,
                .mac = ep->mac,
                .ip4 = &ep->ip4,
                .ip6 = &ep->ip6,
                .ports = ep->ports,
                .n_ports = ep->n_ports,
                .egress = &ep->egress,
                .ingress = &ep->ingress,
        };
}

static int nft_endpoint_apply(struct net_ctx *ctx, const struct nft_endpoint *del,
                              const struct nft_endpoint *add)
{
        _cleanup_free_ char *cmds = NULL;
        struct nft *nft;
        size_t size = 0;
        FILE *f;
        int r;

        /* Set elements only (no policy chains): straight to the kernel, see nft-elem.c. */
        if (!(del && add) && (r = ctx_nft(ctx, &nft)) >= 0 &&
            (r = nft_endpoint_elems(nft, del ?: add, add != NULL)) != -EOPNOTSUPP)
                return r;
        f = open_memstream(&cmds, &size);
        if (!f)
                return -ENOMEM;
        if (del)
                nft_gen_endpoint_del(f, del);
        if (add)
                nft_gen_endpoint_add(f, add);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (size == 0)
                return 0;
        r = ctx_nft(ctx, &nft);
        if (r < 0)
                return r;
        return add ? nft_run(nft, cmds) : nft_run_lenient(nft, cmds);
}

int endpoint_teardown(struct net_ctx *ctx, const struct network *n, struct endpoint *ep)
{
        _cleanup_free_ char *owner = endpoint_port_owner(n, ep->key);
        struct nft_endpoint view;
        char table[128];
        struct nl *nl;
        bool txn;
        int r;

        if (!owner)
                return -ENOMEM;
        endpoint_nft_view(ep, &view);
        r = nft_endpoint_apply(ctx, &view, NULL);
        if (r < 0)
                return r;
        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        /* A veth whose owner died leaves with the owner's namespace: the kernel unregisters the
         * pair in cleanup_net(). Deleting it here would only wait for the RCU grace period of
         * unregister_netdevice_many() (10-30 ms). If something else pins the namespace, the
         * link sweep of net_reclaim() removes the orphan. */
        if (ep->host_ifname &&
            !(ep->kind == NET_ENDPOINT_VETH && ep->owner.pid > 0 && !proc_id_alive(&ep->owner))) {
                r = nl_link_delete(nl, ep->host_ifname);
                if (r < 0 && r != -ENODEV)
                        return r;
        }
        if (n->dns)
                (void)dns_names_remove(ctx->store, n->id, ep->key);
        /* The rows go in one transaction (when the caller has none open already). */
        txn = store_begin(ctx->store) >= 0;
        ports_release(ctx->store, ep->ports, ep->n_ports, owner);
        if (ipaddr_is_set(&ep->ip4))
                (void)ipam_release(ctx->store, n->id, &ep->ip4, ep->eid);
        if (ipaddr_is_set(&ep->ip6))
                (void)ipam_release(ctx->store, n->id, &ep->ip6, ep->eid);
        network_endpoint_table(n, table);
        r = store_remove(ctx->store, table, ep->key);
        if (txn) {
                int k = store_commit(ctx->store);
                if (k < 0) {
                        store_rollback(ctx->store);
                        return k;
                }
        }
        err_clear();
        return r == -ENOENT ? 0 : r;
}

/* ------------------------------------------------------------------ attach */

static bool ifname_valid(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && n < IF_NAMESIZE && !strpbrk(s, "/ \t\n:") && !streq(s, ".") && !streq(s, "..");
}

/* Everything of the options that does not depend on the network. */
static int endpoint_from_options(const struct net_attach_options *o, struct endpoint **ret)
{
        _cleanup_endpoint_ struct endpoint *ep = calloc(1, sizeof(*ep));
        int r;

        if (!ep)
                return -ENOMEM;
        if (!o->endpoint || !store_key_valid(o->endpoint))
                return err_set(-EINVAL, "invalid endpoint id '%s': [A-Za-z0-9_.:-], at most 200 characters",
                               strempty(o->endpoint));
        if ((int)o->kind < 0 || o->kind >= _NET_ENDPOINT_KIND_MAX)
                return -EINVAL;
        ep->kind = o->kind;
        if (o->name && !hostname_valid(o->name))
                return err_set(-EINVAL, "invalid container name '%s' for DNS", o->name);
        if (o->hostname && !hostname_valid(o->hostname))
                return err_set(-EINVAL, "--hostname: invalid host name '%s'", o->hostname);
        STRV_FOREACH (a, (char **)o->aliases)
                if (!hostname_valid(*a))
                        return err_set(-EINVAL, "--network-alias: invalid name '%s'", *a);
        STRV_FOREACH (d, (char **)o->dns) {
                struct ipaddr a;
                if (ipaddr_parse(*d, &a) < 0)
                        return err_set(-EINVAL, "--dns: invalid address '%s'", *d);
        }
        STRV_FOREACH (d, (char **)o->dns_search)
                if (!hostname_valid(*d))
                        return err_set(-EINVAL, "--dns-search: invalid domain '%s'", *d);
        STRV_FOREACH (d, (char **)o->dns_options)
                if (!**d || strpbrk(*d, " \t\n"))
                        return err_set(-EINVAL, "--dns-option: invalid option '%s'", *d);
        if (o->ifname && !ifname_valid(o->ifname))
                return err_set(-EINVAL, "invalid interface name '%s'", o->ifname);
        if (o->ip && (ipaddr_parse(o->ip, &ep->ip4) < 0 || ep->ip4.family != AF_INET))
                return err_set(-EINVAL, "--ip: invalid IPv4 address '%s'", o->ip);
        if (o->ip6 && (ipaddr_parse(o->ip6, &ep->ip6) < 0 || ep->ip6.family != AF_INET6))
                return err_set(-EINVAL, "--ip6: invalid IPv6 address '%s'", o->ip6);
        if (o->mac) {
                if (mac_parse(o->mac, ep->mac) < 0)
                        return err_set(-EINVAL, "--mac-address: invalid unicast MAC address '%s'", o->mac);
        } else
                mac_random(ep->mac);
        STRV_FOREACH (p, (char **)o->publish) {
                r = ports_parse(*p, &ep->ports, &ep->n_ports);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH (p, (char **)o->expose) {
                r = ports_parse_expose(*p, &ep->ports, &ep->n_ports);
                if (r < 0)
                        return r;
        }
        if ((r = policy_parse(o->egress, "--egress", &ep->egress)) < 0 ||
            (r = policy_parse(o->ingress, "--ingress", &ep->ingress)) < 0)
                return r;
        ep->key = strdup(o->endpoint);
        ep->name = o->name ? strdup(o->name) : NULL;
        ep->hostname = strdup(o->hostname ?: o->name ?: o->endpoint);
        ep->aliases = strv_copy((char **)o->aliases);
        ep->dns = strv_copy((char **)o->dns);
        ep->created = now_iso8601();
        if (!ep->key || (o->name && !ep->name) || !ep->hostname || !ep->aliases || !ep->dns || !ep->created)
                return -ENOMEM;
        /* A host name from the id is cut to 12 characters like docker's; an id that is no host
         * name (it may hold ':' or '.') gives way to the hex endpoint hash. */
        if (!o->hostname && !o->name) {
                if (strlen(ep->hostname) > 12)
                        ep->hostname[12] = 0;
                if (!hostname_valid(ep->hostname)) {
                        char h[NET_ID_SHORT + 1];
                        short_hash("host", o->endpoint, h);
                        free(ep->hostname);
                        ep->hostname = strdup(h);
                        if (!ep->hostname)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(ep);
        return 0;
}

static int veth_setup(struct net_ctx *ctx, const struct network *n, const struct endpoint *ep, int netns_fd)
{
        _cleanup_nl_ struct nl *ns = NULL;
        struct nl_veth v;
        struct nl *nl;
        int r, idx;

        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        v = (struct nl_veth){
                .name = ep->host_ifname,
                .master = n->bridge_ifindex,
                .mtu = n->mtu,
                .peer = ep->ifname,
                .peer_netns_fd = netns_fd,
                .peer_mac = ep->mac,
        };
        r = nl_veth_create(nl, &v);
        if (r == -EEXIST) {
                /* The veth of this endpoint's previous life: its owner died but something (a
                 * process of the old container, a VMM's tap) still pinned the namespace it left
                 * with, so it was not deleted (endpoint_teardown()). The name is this endpoint's
                 * (derived from its eid): delete it and try once more. */
                err_clear();
                if ((r = nl_link_delete(nl, ep->host_ifname)) < 0 && r != -ENODEV)
                        return r;
                r = nl_veth_create(nl, &v);
        }
        if (r < 0)
                return r;
        r = nl_open_in_netns(netns_fd, &ns);
        if (r < 0)
                return r;
        idx = nl_link_index(ns, ep->ifname);
        if (idx < 0)
                return err_set(idx, "interface '%s' did not appear in the container's namespace",
                               ep->ifname);
        nl_batch_begin(ns);
        /* Every namespace registers its loopback first: LOOPBACK_IFINDEX (include/net/net_namespace.h). */
        (void)nl_link_set_up(ns, 1);
        (void)nl_link_set_up(ns, idx);
        (void)nl_addr_add(ns, idx, &(struct cidr){.addr = ep->ip4, .len = n->pool4.subnet.len});
        if (n->has6)
                (void)nl_addr_add(ns, idx, &(struct cidr){.addr = ep->ip6, .len = n->pool6.subnet.len});
        /* Internal networks get no default route: outside addresses fail at once, unreachable. */
        if (!n->internal) {
                (void)nl_route_add(ns, idx, NULL, &n->pool4.gateway);
                if (n->has6)
                        (void)nl_route_add(ns, idx, NULL, &n->pool6.gateway);
        }
        return nl_batch_end(ns);
}

static int tap_setup(struct net_ctx *ctx, const struct network *n, const struct endpoint *ep, uid_t uid,
                     gid_t gid)
{
        struct nl *nl;
        int r, idx;

        r = ctx_nl(ctx, &nl);
        if (r < 0)
                return r;
        if (nl_link_index(nl, ep->host_ifname) > 0)
                return err_set(-EEXIST, "tap '%s' already exists", ep->host_ifname);
        r = tap_create(ep->host_ifname, uid, gid);
        if (r < 0)
                return r;
        idx = nl_link_index(nl, ep->host_ifname);
        if (idx < 0)
                return idx;
        nl_batch_begin(nl);
        (void)nl_link_set_mtu(nl, idx, n->mtu);
        (void)nl_link_set_master(nl, idx, n->bridge_ifindex);
        (void)nl_link_set_up(nl, idx);
        return nl_batch_end(nl);
}

static int dns_register(struct net_ctx *ctx, const struct network *n, const struct endpoint *ep)
{
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        struct dns_record rec;
        struct dns_responder_config rc;
        int r;

        if (!names)
                return -ENOMEM;
        if (ep->name && strv_extend(&names, ep->name) < 0)
                return -ENOMEM;
        STRV_FOREACH (a, ep->aliases)
                if (!strv_contains(names, *a) && strv_extend(&names, *a) < 0)
                        return -ENOMEM;
        rec = (struct dns_record){
                .endpoint = ep->key, .ip4 = ep->ip4, .ip6 = ep->ip6, .names = names, .upstreams = ep->dns};
        if (strv_length(names) > 0 || strv_length(ep->dns) > 0) {
                r = dns_names_set(ctx->store, n->id, &rec);
                if (r < 0)
                        return r;
        }
        rc = (struct dns_responder_config){
                .helper = ctx->dns_helper,
                .netid = n->id,
                .network = n->name,
                .listen4 = &n->pool4.gateway,
                .listen6 = n->has6 ? &n->pool6.gateway : NULL,
                .forward = !n->internal,
        };
        return dns_responder_ensure(ctx->store, &rc);
}

static int write_file_in(const char *dir, const char *name, const char *content, char **ret_path)
{
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        int r;

        if (!path)
                return -ENOMEM;
        r = write_file_atomic(path, content, strlen(content), 0644);
        if (r < 0)
                return err_set(r, "cannot write '%s': %s", path, strerror(-r));
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* hosts, resolv.conf and hostname content, written to files_dir when given. */
static int files_make(const struct net_attach_options *o, const char *hostname,
                      const struct hosts_config *hc, struct resolv_conf *rc, struct net_attachment *a)
{
        int r;

        if (o->dns_search) {
                strv_free(rc->search);
                rc->search = strv_copy((char **)o->dns_search);
        }
        if (o->dns_options) {
                strv_free(rc->options);
                rc->options = strv_copy((char **)o->dns_options);
        }
        r = hosts_format(hc, &a->hosts);
        if (r < 0)
                return r;
        a->resolv_conf = resolv_conf_format(rc);
        a->hostname = strdup_printf("%s\n", hostname);
        if (!a->resolv_conf || !a->hostname)
                return -ENOMEM;
        if (!o->files_dir)
                return 0;
        r = mkdir_p(o->files_dir, 0755);
        if (r < 0)
                return err_set(r, "cannot create '%s': %s", o->files_dir, strerror(-r));
        if ((r = write_file_in(o->files_dir, "hosts", a->hosts, &a->hosts_path)) < 0 ||
            (r = write_file_in(o->files_dir, "resolv.conf", a->resolv_conf, &a->resolv_conf_path)) < 0 ||
            (r = write_file_in(o->files_dir, "hostname", a->hostname, &a->hostname_path)) < 0)
                return r;
        return 0;
}

static int endpoint_files(const struct network *n, const struct endpoint *ep,
                          const struct net_attach_options *o, struct net_attachment *a)
{
        struct resolv_conf rc = {};
        char gw[IPADDR_STRLEN];
        struct hosts_config hc = {
                .hostname = ep->hostname,
                .name = ep->name,
                .ip4 = &ep->ip4,
                .ip6 = ipaddr_is_set(&ep->ip6) ? &ep->ip6 : NULL,
                .gateway = n->internal ? NULL : &n->pool4.gateway,
                .add_hosts = o->add_hosts,
        };
        int r;

        r = resolv_conf_host(&rc);
        if (r < 0)
                return r;
        if (n->dns) {
                /* The responder answers for the network and forwards the rest (--dns included). */
                static char *const ndots[] = {(char *)"ndots:0", NULL};
                strv_free(rc.nameservers);
                strv_free(rc.options);
                rc.nameservers = NULL;
                rc.options = strv_copy(ndots);
                r = strv_extend(&rc.nameservers, ipaddr_to_string(&n->pool4.gateway, gw));
        } else if (o->dns) {
                strv_free(rc.nameservers);
                rc.nameservers = strv_copy((char **)o->dns);
        }
        if (r >= 0)
                r = files_make(o, ep->hostname, &hc, &rc, a);
        resolv_conf_done(&rc);
        return r;
}

static int attachment_fill(const struct network *n, const struct endpoint *ep, struct net_attachment *a)
{
        char ip[IPADDR_STRLEN], gw[IPADDR_STRLEN], mac[MAC_STRLEN], mask[IPADDR_STRLEN];

        a->network = strdup(n->name);
        a->endpoint = strdup(ep->key);
        a->ifname = strdup(ep->kind == NET_ENDPOINT_TAP ? ep->host_ifname : ep->ifname);
        a->host_ifname = strdup(ep->host_ifname);
        a->mac = strdup(mac_to_string(ep->mac, mac));
        a->ipv4 = strdup_printf("%s/%u", ipaddr_to_string(&ep->ip4, ip), n->pool4.subnet.len);
        a->gateway4 = n->internal ? NULL : strdup(ipaddr_to_string(&n->pool4.gateway, gw));
        a->mtu = n->mtu;
        if (n->has6) {
                a->ipv6 = strdup_printf("%s/%u", ipaddr_to_string(&ep->ip6, ip), n->pool6.subnet.len);
                a->gateway6 = n->internal ? NULL : strdup(ipaddr_to_string(&n->pool6.gateway, gw));
        }
        if (ep->kind == NET_ENDPOINT_TAP) {
                /* Linux's ip= (Documentation/admin-guide/nfs/nfsroot.rst):
                 * client::gateway:netmask:hostname:device:autoconf:dns0 */
                struct in_addr m = {
                        .s_addr = htonl(n->pool4.subnet.len ? ~0u << (32 - n->pool4.subnet.len) : 0)};
                inet_ntop(AF_INET, &m, mask, sizeof(mask));
                a->kernel_ip_arg = strdup_printf(
                        "ip=%s::%s:%s:%s:eth0:off%s%s", ipaddr_to_string(&ep->ip4, ip),
                        n->internal ? "" : ipaddr_to_string(&n->pool4.gateway, gw), mask, ep->hostname,
                        n->dns || !n->internal ? ":" : "", n->dns || !n->internal ? gw : "");
                if (!a->kernel_ip_arg)
                        return -ENOMEM;
        }
        a->ports = calloc(ep->n_ports ? ep->n_ports : 1, sizeof(*a->ports));
        if (!a->network || !a->endpoint || !a->ifname || !a->host_ifname || !a->mac || !a->ipv4 || !a->ports)
                return -ENOMEM;
        for (size_t i = 0; i < ep->n_ports; i++) {
                const struct port_map *p = &ep->ports[i];
                a->ports[i] = (struct net_published_port){
                        .host_ip =
                                strdup(ipaddr_is_set(&p->host_ip) ? ipaddr_to_string(&p->host_ip, ip) : ""),
                        .host_port = p->host_port,
                        .container_port = p->container_port,
                        .protocol = strdup(port_proto_to_string(p->proto)),
                };
                a->n_ports++;
                if (!a->ports[i].host_ip || !a->ports[i].protocol)
                        return -ENOMEM;
        }
        return 0;
}

/* Leases and reservations of a new endpoint, before its record exists. */
static int endpoint_claim(struct net_ctx *ctx, const struct network *n, struct endpoint *ep,
                          const char *owner)
{
        struct ipaddr want4 = ep->ip4, want6 = ep->ip6;
        int r;

        r = ipam_allocate(ctx->store, n->id, n->name, &n->pool4, &want4, ep->eid, &ep->ip4);
        if (r < 0)
                return r;
        if (n->has6) {
                r = ipam_allocate(ctx->store, n->id, n->name, &n->pool6, &want6, ep->eid, &ep->ip6);
                if (r < 0) {
                        (void)ipam_release(ctx->store, n->id, &ep->ip4, ep->eid);
                        return r;
                }
        } else if (ipaddr_is_set(&want6)) {
                (void)ipam_release(ctx->store, n->id, &ep->ip4, ep->eid);
                return err_set(-EINVAL, "--ip6: network '%s' has no IPv6 subnet", n->name);
        }
        r = ports_reserve(ctx->store, ep->ports, ep->n_ports, owner);
        if (r < 0) {
                (void)ipam_release(ctx->store, n->id, &ep->ip4, ep->eid);
                if (n->has6)
                        (void)ipam_release(ctx->store, n->id, &ep->ip6, ep->eid);
        }
        return r;
}

static int attach_locked(struct net_ctx *ctx, const char *network, const struct net_attach_options *o,
                         struct endpoint *ep, int netns_fd, struct net_attachment *a)
{
        _cleanup_network_ struct network *n = NULL;
        _cleanup_endpoint_ struct endpoint *old = NULL;
        _cleanup_free_ char *owner = NULL;
        struct nft_endpoint view;
        int r;

        r = network_load(ctx, network, &n);
        if (r < 0)
                return r;
        if (endpoint_load(ctx, n, ep->key, &old) == 0) {
                if (!endpoint_stale(ctx, old))
                        return err_set(-EEXIST, "'%s' is already attached to network '%s'", ep->key,
                                       n->name);
                r = endpoint_teardown(ctx, n, old);
                if (r < 0)
                        return r;
        }
        if (n->internal && ep->n_ports > 0)
                return err_set(-EINVAL, "network '%s' is internal: it cannot publish ports", n->name);
        STRV_FOREACH (h, (char **)o->add_hosts) {
                r = hosts_add_host_check(*h, n->internal ? NULL : &n->pool4.gateway);
                if (r < 0)
                        return r;
        }
        r = network_ensure_up(ctx, n);
        if (r < 0)
                return r;
        short_hash(n->id, ep->key, ep->eid);
        if (ep->kind == NET_ENDPOINT_VETH) {
                ep->ifname = strdup(o->ifname ?: "eth0");
                ep->host_ifname = strdup_printf("vh%s", ep->eid);
        } else
                ep->host_ifname = o->ifname ? strdup(o->ifname) : strdup_printf("tap%s", ep->eid);
        owner = endpoint_port_owner(n, ep->key);
        if ((ep->kind == NET_ENDPOINT_VETH && !ep->ifname) || !ep->host_ifname || !owner)
                return -ENOMEM;
        /* Leases, host ports and the "creating" record commit together, before any kernel object. */
        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        r = endpoint_claim(ctx, n, ep, owner);
        if (r >= 0) {
                ep->state = RECORD_CREATING;
                (void)proc_id_get(0, &ep->attacher);
                r = endpoint_save(ctx, n, ep);
        }
        if (r >= 0)
                r = store_commit(ctx->store);
        if (r < 0) {
                store_rollback(ctx->store);
                return r;
        }
        if (ep->kind == NET_ENDPOINT_VETH)
                r = veth_setup(ctx, n, ep, netns_fd);
        else
                r = tap_setup(ctx, n, ep, o->tap_uid, o->tap_gid);
        endpoint_nft_view(ep, &view);
        if (r >= 0)
                r = nft_endpoint_apply(ctx, NULL, &view);
        if (r >= 0 && n->dns)
                r = dns_register(ctx, n, ep);
        if (r >= 0)
                r = endpoint_files(n, ep, o, a);
        if (r >= 0) {
                ep->state = RECORD_READY;
                r = endpoint_save(ctx, n, ep);
        }
        if (r >= 0)
                r = attachment_fill(n, ep, a);
        if (r < 0)
                KEEP_ERROR(r, (void)endpoint_teardown(ctx, n, ep));
        return r;
}

void net_attachment_free(struct net_attachment *a)
{
        if (!a)
                return;
        free(a->network);
        free(a->endpoint);
        free(a->ifname);
        free(a->host_ifname);
        free(a->mac);
        free(a->ipv4);
        free(a->gateway4);
        free(a->ipv6);
        free(a->gateway6);
        for (size_t i = 0; i < a->n_ports; i++) {
                free(a->ports[i].host_ip);
                free(a->ports[i].protocol);
        }
        free(a->ports);
        free(a->hosts);
        free(a->resolv_conf);
        free(a->hostname);
        free(a->hosts_path);
        free(a->resolv_conf_path);
        free(a->hostname_path);
        free(a->kernel_ip_arg);
        free(a);
}

/* Remove files written for an attach that failed afterwards. */
static void attachment_unlink(struct net_attachment *a)
{
        const char *paths[] = {a->hosts_path, a->resolv_conf_path, a->hostname_path};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (paths[i])
                        (void)unlink(paths[i]);
}

int net_attach(struct net_ctx *ctx, const struct net_attach_options *o, struct net_attachment **ret)
{
        _cleanup_endpoint_ struct endpoint *ep = NULL;
        _cleanup_net_attachment_ struct net_attachment *a = NULL;
        _cleanup_close_ int nsfd = -EBADF;
        const char *network = o->network ?: NET_DEFAULT_NETWORK;
        int netns_fd = o->netns_fd, r;

        r = endpoint_from_options(o, &ep);
        if (r < 0)
                return r;
        if (ep->kind == NET_ENDPOINT_VETH && netns_fd < 0) {
                uint32_t pid;
                if (!o->netns)
                        return err_set(-EINVAL, "attach: the container's network namespace is missing");
                r = netns_open(o->netns, &nsfd);
                if (r < 0)
                        return r;
                netns_fd = nsfd;
                /* A namespace named by pid lives as long as that process does. */
                if (o->owner_pid == 0 && parse_u32(o->netns, &pid) == 0)
                        (void)proc_id_get((pid_t)pid, &ep->owner);
        }
        if (o->owner_pid > 0) {
                r = proc_id_get(o->owner_pid, &ep->owner);
                if (r < 0)
                        return err_set(r, "owner process %d: %s", (int)o->owner_pid, strerror(-r));
        }
        if (streq(network, NET_DEFAULT_NETWORK)) {
                r = net_network_ensure_default(ctx);
                if (r < 0)
                        return r;
        }
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        r = attach_locked(ctx, network, o, ep, netns_fd, a);
        store_unlock(ctx->store);
        if (r < 0) {
                attachment_unlink(a);
                return r;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int net_detach(struct net_ctx *ctx, const char *network, const char *endpoint)
{
        _cleanup_network_ struct network *n = NULL;
        _cleanup_endpoint_ struct endpoint *ep = NULL;
        int r;

        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        r = network_load(ctx, network ?: NET_DEFAULT_NETWORK, &n);
        if (r >= 0) {
                r = endpoint_load(ctx, n, endpoint, &ep);
                if (r == -ENOENT)
                        r = err_set(-ENOENT, "'%s' is not attached to network '%s'", endpoint, n->name);
        }
        if (r >= 0)
                r = endpoint_teardown(ctx, n, ep);
        store_unlock(ctx->store);
        return r;
}

int net_detach_all(struct net_ctx *ctx, const char *endpoint)
{
        _cleanup_strv_free_ char **names = NULL;
        int r, count = 0;

        r = store_lock(ctx->store);
        if (r < 0)
                return r;
        r = network_names(ctx, &names);
        STRV_FOREACH (k, names) {
                _cleanup_network_ struct network *n = NULL;
                _cleanup_endpoint_ struct endpoint *ep = NULL;

                if (r < 0)
                        break;
                if (network_load(ctx, *k, &n) < 0 || endpoint_load(ctx, n, endpoint, &ep) < 0)
                        continue;
                r = endpoint_teardown(ctx, n, ep);
                if (r >= 0)
                        count++;
        }
        store_unlock(ctx->store);
        return r < 0 ? r : count;
}

int net_endpoint_set_policy(struct net_ctx *ctx, const char *network, const char *endpoint,
                            char *const *egress, char *const *ingress)
{
        _cleanup_network_ struct network *n = NULL;
        _cleanup_endpoint_ struct endpoint *ep = NULL;
        struct nft_endpoint before, after;
        struct policy eg = {}, in = {}, old_eg, old_in;
        int r;

        if ((egress && (r = policy_parse(egress, "--egress", &eg)) < 0) ||
            (ingress && (r = policy_parse(ingress, "--ingress", &in)) < 0)) {
                policy_done(&eg);
                return r;
        }
        r = store_lock(ctx->store);
        if (r < 0)
                goto out;
        r = network_load(ctx, network ?: NET_DEFAULT_NETWORK, &n);
        if (r >= 0)
                r = endpoint_load(ctx, n, endpoint, &ep);
        if (r < 0)
                goto unlock;
        old_eg = ep->egress;
        old_in = ep->ingress;
        /* Only the policy chains change: the views leave ports and anti-spoofing out. */
        before = (struct nft_endpoint){
                .id = ep->eid, .ip4 = &ep->ip4, .ip6 = &ep->ip6, .egress = &old_eg, .ingress = &old_in};
        after = before;
        if (egress)
                after.egress = &eg;
        if (ingress)
                after.ingress = &in;
        {
                _cleanup_free_ char *cmds = NULL;
                size_t size = 0;
                struct nft *nft;
                FILE *f = open_memstream(&cmds, &size);

                if (!f) {
                        r = -ENOMEM;
                        goto unlock;
                }
                nft_gen_endpoint_del(f, &before);
                nft_gen_endpoint_add(f, &after);
                if (fclose(f) != 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = ctx_nft(ctx, &nft);
                if (r >= 0 && size > 0)
                        r = nft_run(nft, cmds);
        }
        if (r < 0)
                goto unlock;
        if (egress) {
                policy_done(&ep->egress);
                ep->egress = eg;
                eg = (struct policy){};
        }
        if (ingress) {
                policy_done(&ep->ingress);
                ep->ingress = in;
                in = (struct policy){};
        }
        r = endpoint_save(ctx, n, ep);
unlock:
        store_unlock(ctx->store);
out:
        policy_done(&eg);
        policy_done(&in);
        return r;
}

struct json_object *net_attachment_to_json(const struct net_attachment *a)
{
        struct json_object *o = json_object_new_object(), *ports = json_object_new_array(), *files;

        json_add_str(o, "network", a->network);
        json_add_str(o, "endpoint", a->endpoint);
        json_add_str(o, "ifname", a->ifname);
        json_add_str(o, "host_ifname", a->host_ifname);
        json_add_str(o, "mac", a->mac);
        json_add_str(o, "ipv4", a->ipv4);
        json_add_str(o, "gateway4", a->gateway4);
        json_add_str(o, "ipv6", a->ipv6);
        json_add_str(o, "gateway6", a->gateway6);
        json_object_object_add(o, "mtu", json_object_new_int64(a->mtu));
        for (size_t i = 0; i < a->n_ports; i++) {
                struct json_object *p = json_object_new_object();
                json_add_str(p, "host_ip", a->ports[i].host_ip);
                json_object_object_add(p, "host_port", json_object_new_int(a->ports[i].host_port));
                json_object_object_add(p, "container_port", json_object_new_int(a->ports[i].container_port));
                json_add_str(p, "protocol", a->ports[i].protocol);
                json_object_array_add(ports, p);
        }
        json_object_object_add(o, "ports", ports);
        files = json_object_new_object();
        json_add_str(files, "hosts", a->hosts_path);
        json_add_str(files, "resolv.conf", a->resolv_conf_path);
        json_add_str(files, "hostname", a->hostname_path);
        json_object_object_add(o, "files", files);
        json_add_str(o, "kernel_ip_arg", a->kernel_ip_arg);
        return o;
}

/* ------------------------------------------------------------------ modes without a network */

int net_mode_parse(const char *s, enum net_mode *ret_mode, char **ret_arg)
{
        const char *id;
        char *arg = NULL;

        if (!s || !*s || streq(s, "bridge")) {
                *ret_mode = NET_MODE_BRIDGE;
                *ret_arg = NULL;
                return 0;
        }
        if (streq(s, "none") || streq(s, "host")) {
                *ret_mode = streq(s, "none") ? NET_MODE_NONE : NET_MODE_HOST;
                *ret_arg = NULL;
                return 0;
        }
        if ((id = startswith(s, "container:"))) {
                if (!*id)
                        return err_set(-EINVAL, "--network container: needs a container name or id");
                arg = strdup(id);
                if (!arg)
                        return -ENOMEM;
                *ret_mode = NET_MODE_CONTAINER;
                *ret_arg = arg;
                return 0;
        }
        if (strchr(s, ':') || !store_key_valid(s))
                return err_set(-EINVAL, "--network: invalid value '%s' (NAME, none, host or container:ID)",
                               s);
        arg = strdup(s);
        if (!arg)
                return -ENOMEM;
        *ret_mode = NET_MODE_BRIDGE;
        *ret_arg = arg;
        return 0;
}

int net_files_standalone(enum net_mode mode, const char *hostname, char *const *add_hosts, char *const *dns,
                         char *const *dns_search, char *const *dns_options, const char *files_dir,
                         struct net_attachment **ret)
{
        _cleanup_net_attachment_ struct net_attachment *a = calloc(1, sizeof(*a));
        _cleanup_free_ char *text = NULL;
        struct net_attach_options o = {.add_hosts = add_hosts,
                                       .dns_search = dns_search,
                                       .dns_options = dns_options,
                                       .files_dir = files_dir};
        struct hosts_config hc = {.hostname = hostname, .add_hosts = add_hosts};
        struct resolv_conf rc = {};
        int r;

        if (!a)
                return -ENOMEM;
        if (mode != NET_MODE_NONE && mode != NET_MODE_HOST)
                return -EINVAL;
        if (hostname && !hostname_valid(hostname))
                return err_set(-EINVAL, "--hostname: invalid host name '%s'", hostname);
        /* The host's namespace reaches the host's own loopback resolvers; "none" reaches nothing,
         * but programs still read the file. */
        if (mode == NET_MODE_HOST) {
                r = read_full_file("/etc/resolv.conf", 64 * 1024, &text, NULL);
                r = resolv_conf_parse(r < 0 ? "" : text, &rc);
        } else
                r = resolv_conf_host(&rc);
        if (r < 0)
                return r;
        if (dns) {
                strv_free(rc.nameservers);
                rc.nameservers = strv_copy((char **)dns);
        }
        r = files_make(&o, hostname ?: "localhost", &hc, &rc, a);
        resolv_conf_done(&rc);
        if (r < 0) {
                attachment_unlink(a);
                return r;
        }
        *ret = TAKE_PTR(a);
        return 0;
}
