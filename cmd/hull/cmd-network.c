/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-network.c - `hull network create|ls|inspect|rm|connect|disconnect|prune` and `hull port`:
 * options into the network library's calls (src/net/network.h) and the engine's
 * (src/engine/engine-net.h), output in podman's shapes.
 *
 * inspect prints podman's fields (name, id, driver, network_interface, created, subnets,
 * ipv6_enabled, internal, dns_enabled, options, ipam_options, containers) and hull's policy
 * (egress, ingress, policy_scope), from the library's own document.
 */
#include <json-c/json.h>

#include "cmd.h"
#include "container.h"
#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "network.h"
#include "output.h"
#include "util.h"
#include "vm.h"

static int net_ctx(struct cmd_context *c, struct net_ctx **ret)
{
        int r = engine_net_ctx(c->engine, ret);
        if (r < 0)
                return cmd_fail(r, "opening the network state");
        return 0;
}

static struct json_object *get(struct json_object *o, const char *k)
{
        struct json_object *v = NULL;
        return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *get_str(struct json_object *o, const char *k)
{
        struct json_object *v = get(o, k);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *copy(struct json_object *o, const char *k)
{
        return json_object_get(get(o, k));
}

static void add_subnet(struct json_object *subnets, struct json_object *fam)
{
        struct json_object *s;

        if (!fam || !get_str(fam, "subnet"))
                return;
        s = json_object_new_object();
        json_object_object_add(s, "subnet", copy(fam, "subnet"));
        json_object_object_add(s, "gateway", copy(fam, "gateway"));
        if (get_str(fam, "ip_range") && !streq(get_str(fam, "ip_range"), get_str(fam, "subnet")))
                json_object_object_add(s, "ip_range", copy(fam, "ip_range"));
        json_object_array_add(subnets, s);
}

/* One container of the network, as podman lists it, with hull's per-container policy. */
static struct json_object *container_json(struct json_object *ep)
{
        struct json_object *o = json_object_new_object(), *ifs = json_object_new_object(),
                           *i = json_object_new_object(), *subnets = json_object_new_array();
        const char *ifname = get_str(ep, "ifname") ?: "eth0";

        json_object_object_add(o, "name", copy(ep, "name"));
        json_object_object_add(o, "kind", copy(ep, "kind"));
        json_object_object_add(o, "aliases", copy(ep, "aliases"));
        json_object_object_add(o, "interfaces", ifs);
        json_object_object_add(ifs, ifname, i);
        json_object_object_add(i, "mac_address", copy(ep, "mac"));
        json_object_object_add(i, "subnets", subnets);
        for (const char *const *k = (const char *const[]){"ipv4", "ipv6", NULL}; *k; k++)
                if (get_str(ep, *k)) {
                        struct json_object *s = json_object_new_object();
                        json_object_object_add(s, "ipnet", copy(ep, *k));
                        json_object_array_add(subnets, s);
                }
        json_object_object_add(o, "host_interface", copy(ep, "host_ifname"));
        json_object_object_add(o, "ports", copy(ep, "ports"));
        json_object_object_add(o, "egress", copy(ep, "egress"));
        json_object_object_add(o, "ingress", copy(ep, "ingress"));
        return o;
}

static struct json_object *podman_json(struct json_object *n)
{
        struct json_object *o = json_object_new_object(), *subnets = json_object_new_array(),
                           *ipam = json_object_new_object(), *ctrs = json_object_new_object(), *eps;

        json_object_object_add(o, "name", copy(n, "name"));
        json_object_object_add(o, "id", copy(n, "id"));
        json_object_object_add(o, "driver", copy(n, "driver"));
        json_object_object_add(o, "network_interface", copy(n, "bridge"));
        json_object_object_add(o, "created", copy(n, "created"));
        add_subnet(subnets, get(n, "ipv4"));
        add_subnet(subnets, get(n, "ipv6"));
        json_object_object_add(o, "subnets", subnets);
        json_object_object_add(o, "ipv6_enabled", copy(n, "ipv6_enabled"));
        json_object_object_add(o, "internal", copy(n, "internal"));
        json_object_object_add(o, "dns_enabled", copy(n, "dns"));
        json_object_object_add(o, "mtu", copy(n, "mtu"));
        json_object_object_add(o, "options", copy(n, "options"));
        json_object_object_add(ipam, "driver", json_object_new_string("host-local"));
        json_object_object_add(o, "ipam_options", ipam);
        json_object_object_add(o, "egress", copy(n, "egress"));
        json_object_object_add(o, "ingress", copy(n, "ingress"));
        json_object_object_add(o, "policy_scope", copy(n, "policy_scope"));
        json_object_object_add(o, "default", copy(n, "default"));
        eps = get(n, "endpoints");
        if (eps && json_object_is_type(eps, json_type_object)) {
                json_object_object_foreach (eps, k, v) {
                        json_object_object_add(ctrs, k, container_json(v));
                }
        }
        json_object_object_add(o, "containers", ctrs);
        return o;
}

static void print_json(struct json_object *o)
{
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE |
                                                       JSON_C_TO_STRING_SPACED));
}

int cmd_network_create(struct cmd_context *c)
{
        _cleanup_strv_free_ char **opts = NULL;
        _cleanup_json_ struct json_object *doc = NULL;
        const char *driver = cmd_opt(c, "driver");
        struct net_create_options o = {
                .name = c->argv[0],
                .gateway = cmd_opt(c, "gateway"),
                .ip_range = cmd_opt(c, "ip-range"),
                .ipv6 = cmd_flag(c, "ipv6"),
                .internal = cmd_flag(c, "internal"),
                .egress = cmd_opt_all(c, "egress"),
                .ingress = cmd_opt_all(c, "ingress"),
        };
        struct net_ctx *ctx;
        int r;

        if (driver && !streq(driver, "bridge"))
                return cmd_fail(-EINVAL, "--driver: only the bridge driver exists, not '%s'", driver);
        /* podman takes --subnet once per family. */
        STRV_FOREACH (s, cmd_opt_all(c, "subnet")) {
                const char **slot = strchr(*s, ':') ? &o.subnet6 : &o.subnet;
                if (*slot)
                        return cmd_fail(-EINVAL, "--subnet: one IPv4 and one IPv6 subnet at most, not '%s'",
                                        *s);
                *slot = *s;
                if (slot == &o.subnet6)
                        o.ipv6 = true;
        }
        if (o.gateway && strchr(o.gateway, ':')) {
                o.gateway6 = o.gateway;
                o.gateway = NULL;
        }
        if (o.ip_range && strchr(o.ip_range, ':')) {
                o.ip_range6 = o.ip_range;
                o.ip_range = NULL;
        }
        STRV_FOREACH (v, cmd_opt_all(c, "opt"))
                if (strv_extend(&opts, *v) < 0)
                        return -ENOMEM;
        if (cmd_flag(c, "disable-dns") && strv_extend(&opts, "dns=false") < 0)
                return -ENOMEM;
        o.opts = opts;
        if ((r = net_ctx(c, &ctx)) < 0)
                return r;
        r = net_network_create(ctx, &o, &doc);
        if (r < 0)
                return cmd_fail(r, "creating network '%s'", c->argv[0]);
        printf("%s\n", c->argv[0]);
        return 0;
}

int cmd_network_ls(struct cmd_context *c)
{
        static const char *const headers[] = {"NETWORK ID", "NAME", "DRIVER", "SUBNETS", "INTERNAL"};
        static const char *const fields[] = {"ID", "Name", "Driver", "Subnets", "Internal"};
        _cleanup_table_ struct table *t = table_new(headers, fields, ELEMENTSOF(fields));
        _cleanup_json_ struct json_object *l = NULL, *out = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        struct net_ctx *ctx;
        int r;

        if (!t || !out)
                return -ENOMEM;
        table_hide_column(t, "Subnets");
        table_hide_column(t, "Internal");
        if ((r = net_ctx(c, &ctx)) < 0)
                return r;
        r = net_network_list(ctx, &l);
        if (r < 0)
                return cmd_fail(r, "listing networks");
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                struct json_object *n = json_object_array_get_idx(l, i);
                const char *name = get_str(n, "name") ?: "";
                char subnets[128];

                if (cmd_flag(c, "quiet")) {
                        printf("%s\n", name);
                        continue;
                }
                if (format && streq(format, "json")) {
                        _cleanup_json_ struct json_object *full = NULL;
                        if (net_network_inspect(ctx, name, &full) < 0) {
                                err_clear();
                                continue;
                        }
                        json_object_array_add(out, podman_json(full));
                        continue;
                }
                snprintf(subnets, sizeof(subnets), "%s%s%s", get_str(n, "subnet") ?: "",
                         get_str(n, "subnet6") ? "," : "", get_str(n, "subnet6") ?: "");
                r = table_add_row(t,
                                  (const char *const[]){
                                          get_str(n, "id") ?: "", name, get_str(n, "driver") ?: "", subnets,
                                          json_object_get_boolean(get(n, "internal")) ? "true" : "false"});
                if (r < 0)
                        return r;
        }
        if (cmd_flag(c, "quiet"))
                return 0;
        if (format && streq(format, "json")) {
                print_json(out);
                return 0;
        }
        if (table_print(t, format, cmd_flag(c, "noheading"), stdout) < 0)
                return cmd_fail(-EINVAL, "--format '%s': unknown field or bad template", format);
        return 0;
}

int cmd_network_inspect(struct cmd_context *c)
{
        _cleanup_json_ struct json_object *all = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        struct net_ctx *ctx;
        int r, ret = 0;

        if (!all)
                return -ENOMEM;
        if ((r = net_ctx(c, &ctx)) < 0)
                return r;
        for (int i = 0; i < c->argc; i++) {
                _cleanup_json_ struct json_object *n = NULL;
                err_clear();
                r = net_network_inspect(ctx, c->argv[i], &n);
                if (r < 0) {
                        ret = cmd_fail(r, "inspecting network '%s'", c->argv[i]);
                        continue;
                }
                json_object_array_add(all, podman_json(n));
        }
        if (format && !streq(format, "json")) {
                for (size_t i = 0; i < json_object_array_length(all); i++)
                        if ((r = inspect_template(json_object_array_get_idx(all, i), format)) < 0)
                                return cmd_fail(r, "--format '%s'", format);
        } else if (json_object_array_length(all) > 0 || ret == 0)
                print_json(all);
        return ret;
}

/* Containers whose runspec names the network (running or not). */
static int users_of(struct engine *e, const char *network, char ***ret)
{
        _cleanup_strv_free_ char **uses = NULL, **users = calloc(1, sizeof(char *));
        int r;

        if (!users)
                return -ENOMEM;
        r = engine_net_uses(e, &uses);
        for (size_t i = 0; r >= 0 && uses[i] && uses[i + 1]; i += 2)
                if (streq(uses[i], network))
                        r = strv_extend(&users, uses[i + 1]);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(users);
        return 0;
}

int cmd_network_rm(struct cmd_context *c)
{
        bool force = cmd_flag(c, "force");
        struct net_ctx *ctx;
        int r, ret = 0;

        if ((r = net_ctx(c, &ctx)) < 0)
                return r;
        for (int i = 0; i < c->argc; i++) {
                _cleanup_strv_free_ char **users = NULL;
                _cleanup_json_ struct json_object *n = NULL;
                const char *name;

                err_clear();
                if ((r = net_network_inspect(ctx, c->argv[i], &n)) < 0) {
                        if (r == -ENOENT && force)
                                continue;
                        ret = cmd_fail(r, "removing network '%s'", c->argv[i]);
                        continue;
                }
                name = get_str(n, "name");
                if (streq(name, NET_DEFAULT_NETWORK)) {
                        ret = cmd_fail(err_set(-EPERM, "it is the default network"), "removing network '%s'",
                                       name);
                        continue;
                }
                if ((r = users_of(c->engine, name, &users)) < 0)
                        return cmd_fail(r, "listing containers");
                if (users[0] && !force) {
                        ret = cmd_fail(err_set(-EBUSY, "in use by container %s (remove it, or use --force)",
                                               users[0]),
                                       "removing network '%s'", name);
                        continue;
                }
                /* podman's --force: the containers on it go first. */
                STRV_FOREACH (u, users) {
                        _cleanup_workload_ struct workload *w = NULL;
                        if ((r = ctr_lookup(c->engine, *u, &w)) >= 0)
                                r = ctr_remove(c->engine, w, true, true);
                        if (r < 0 && r != -ENOENT)
                                return cmd_fail(r, "removing container %s", *u);
                        err_clear();
                }
                r = net_network_remove(ctx, name, force);
                if (r < 0)
                        ret = cmd_fail(r, "removing network '%s'", name);
                else
                        printf("%s\n", name);
        }
        return ret;
}

int cmd_network_prune(struct cmd_context *c)
{
        _cleanup_strv_free_ char **uses = NULL;
        _cleanup_json_ struct json_object *l = NULL;
        struct net_ctx *ctx;
        int r;

        if ((r = net_ctx(c, &ctx)) < 0)
                return r;
        /* Stale endpoints first (killed containers, attaches and creates), then the unused networks: those
         * no container names, stopped ones included (their next start needs them). */
        if ((r = net_reclaim(ctx)) < 0)
                return cmd_fail(r, "reclaiming network state");
        if ((r = engine_net_uses(c->engine, &uses)) < 0)
                return cmd_fail(r, "listing containers");
        if ((r = net_network_list(ctx, &l)) < 0)
                return cmd_fail(r, "listing networks");
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                const char *name = get_str(json_object_array_get_idx(l, i), "name");
                bool used = !name || streq(name, NET_DEFAULT_NETWORK);
                for (size_t k = 0; !used && uses[k] && uses[k + 1]; k += 2)
                        used = streq(uses[k], name);
                if (used)
                        continue;
                r = net_network_remove(ctx, name, false);
                if (r == -EBUSY || r == -ENOENT) {
                        err_clear();
                        continue;
                }
                if (r < 0)
                        return cmd_fail(r, "removing network '%s'", name);
                printf("%s\n", name);
        }
        return 0;
}

/* A VM named instead of a container: its networks as of its next start (vm.c). 0: not a VM;
 * 1: done; < 0: failed (said). */
static int vm_change(struct cmd_context *c, bool connect)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_free_ char *note = NULL;
        int r;

        if ((r = vm_lookup(c->engine, c->argv[1], &w)) < 0) {
                err_clear();
                return 0;
        }
        r = vm_net_change(c->engine, w, c->argv[0], connect, connect ? cmd_opt(c, "ip") : NULL,
                          connect ? cmd_opt(c, "ip6") : NULL, connect ? cmd_opt(c, "mac-address") : NULL,
                          connect ? cmd_opt_all(c, "alias") : NULL, &note);
        if (r < 0)
                return cmd_fail(r, "%s vm %s %s network '%s'", connect ? "connecting" : "disconnecting", w->name,
                                connect ? "to" : "from", c->argv[0]);
        if (note)
                fprintf(stderr, "hull: %s\n", note);
        return 1;
}

int cmd_network_connect(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r;

        if ((r = vm_change(c, true)) != 0)
                return r > 0 ? 0 : r;
        r = ctr_lookup(c->engine, c->argv[1], &w);
        if (r < 0)
                return cmd_fail(r, "connecting container '%s'", c->argv[1]);
        r = engine_net_connect(c->engine, w, c->argv[0], cmd_opt(c, "ip"), cmd_opt(c, "ip6"),
                               cmd_opt(c, "mac-address"), cmd_opt_all(c, "alias"));
        if (r < 0)
                return cmd_fail(r, "connecting container %s to network '%s'", w->name, c->argv[0]);
        return 0;
}

int cmd_network_disconnect(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r;

        if ((r = vm_change(c, false)) != 0)
                return r > 0 ? 0 : r;
        r = ctr_lookup(c->engine, c->argv[1], &w);
        if (r < 0)
                return cmd_fail(r, "disconnecting container '%s'", c->argv[1]);
        r = engine_net_disconnect(c->engine, w, c->argv[0], cmd_flag(c, "force"));
        if (r < 0)
                return cmd_fail(r, "disconnecting container %s from network '%s'", w->name, c->argv[0]);
        return 0;
}

int cmd_port(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_json_ struct json_object *l = NULL;
        const char *want = c->argc > 1 ? c->argv[1] : NULL;
        int r;

        r = ctr_lookup(c->engine, c->argv[0], &w);
        if (r < 0)
                return cmd_fail(r, "listing the ports of '%s'", c->argv[0]);
        if ((r = engine_net_attachments(c->engine, w->id, &l)) < 0)
                return cmd_fail(r, "listing the ports of '%s'", c->argv[0]);
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                struct json_object *ports = get(json_object_array_get_idx(l, i), "ports");
                for (size_t j = 0; ports && j < json_object_array_length(ports); j++) {
                        struct json_object *p = json_object_array_get_idx(ports, j);
                        const char *hip = get_str(p, "host_ip"), *proto = get_str(p, "protocol") ?: "tcp";
                        int cport = json_object_get_int(get(p, "container_port"));
                        char key[32];

                        snprintf(key, sizeof(key), "%d/%s", cport, proto);
                        if (want && !streq(want, key) &&
                            !(atoi(want) == cport && !strchr(want, '/') && streq(proto, "tcp")))
                                continue;
                        if (want)
                                printf("%s:%d\n", hip && *hip ? hip : "0.0.0.0",
                                       json_object_get_int(get(p, "host_port")));
                        else
                                printf("%s -> %s:%d\n", key, hip && *hip ? hip : "0.0.0.0",
                                       json_object_get_int(get(p, "host_port")));
                }
        }
        return 0;
}
