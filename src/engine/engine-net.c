/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine-net.c - containers and VMs on hull networks; see engine-net.h for who attaches and
 * who detaches, and docs/networking.md for the library underneath.
 *
 * Order of a start (each step undone when a later one fails):
 *   1. write network.json {"attaching":true}: from here a kill leaves a record;
 *   2. make the namespace: unshare(CLONE_NEWNET) on this thread, keep an fd, go back (the
 *      engine's own sockets stay in the host's namespace), loopback up (engine_net_setup());
 *   3. the monitor is spawned with the namespace and waits;
 *   4. net_attach() for each network (eth0, eth1...) with the monitor as owner, the first one
 *      writing the /etc files, then network.json with the attachments (engine_net_attach());
 *   5. the engine tells the monitor to start the container.
 * A kill of the engine before 5 ends the monitor's wait: it exits, the namespace and its veths
 * go, the library sees the endpoints as stale (owner dead), and the record makes the next
 * command of the engine detach them.
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cidr.h"
#include "container-internal.h"
#include "engine-net.h"
#include "error.h"
#include "hosts.h"
#include "json.h"
#include "manifest.h"
#include "network.h"
#include "netns.h"
#include "../net/policy.h" /* src/image has a policy.h too (signatures) */
#include "ports.h"
#include "util.h"
#include "vm.h"

#define DEFAULT_ROOT_DIR "/var/lib/hull"
#define DEFAULT_RUN_ROOT "/run/hull"

static char *run_root(const struct engine *e)
{
        const char *v = getenv("HULL_RUNROOT");

        if (v && *v)
                return strdup(v);
        if (streq(e->root, DEFAULT_ROOT_DIR))
                return strdup(DEFAULT_RUN_ROOT);
        return strdup_printf("%s/run", e->root);
}

int engine_net_ctx(struct engine *e, struct net_ctx **ret)
{
        _cleanup_free_ char *run = NULL;
        const char *dns;
        int r;

        if (!e->net) {
                if (!(run = run_root(e)))
                        return -ENOMEM;
                r = net_ctx_open_shared(e->root, run, e->db, &e->net);
                if (r < 0)
                        return r;
                /* Found like the other helpers (a build tree, $HULL_DNS); the library's default otherwise.
                 */
                if (engine_binary(e, ENGINE_BIN_DNS, &dns) >= 0)
                        (void)net_ctx_set_dns_helper(e->net, dns);
                else
                        err_clear();
        }
        *ret = e->net;
        return 0;
}

/* ------------------------------------------------------------------ the record */

static char *record_path(struct engine *e, const char *id, const char *dir)
{
        _cleanup_free_ char *ctr = NULL, *vm = NULL;

        if (dir)
                return strdup_printf("%s/" ENGINE_NET_RECORD, dir);
        /* Containers and VMs share one id space (the workloads table): a VM keeps its record in its
         * own directory. */
        ctr = strdup_printf("%s/%s", e->containers_dir, id);
        if (ctr && access(ctr, F_OK) < 0 && (vm = vm_dir(e, id)) && access(vm, F_OK) == 0)
                return strdup_printf("%s/" ENGINE_NET_RECORD, vm);
        return ctr ? strdup_printf("%s/" ENGINE_NET_RECORD, ctr) : NULL;
}

static int record_write(const char *path, struct json_object *o)
{
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        _cleanup_close_ int fd = -EBADF;

        /* In place (as the bundle's other files): the container's lock serializes its writers. */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_set(negative_errno(), "cannot write '%s': %m", path);
        return write_all(fd, text, strlen(text));
}

static int record_mark(const char *path)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();

        if (!o || json_object_object_add(o, "attaching", json_object_new_boolean(true)) < 0)
                return -ENOMEM;
        return record_write(path, o);
}

bool engine_net_attached(struct engine *e, const char *id)
{
        _cleanup_free_ char *p = record_path(e, id, NULL);
        return p && access(p, F_OK) == 0;
}

int engine_net_attachments(struct engine *e, const char *id, struct json_object **ret)
{
        _cleanup_free_ char *p = record_path(e, id, NULL), *text = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *a = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 1 << 20, &text, NULL);
        if (r >= 0 && json_parse_buffer(text, strlen(text), ENGINE_NET_RECORD, &o) >= 0 &&
            json_object_object_get_ex(o, "networks", &a) && json_object_is_type(a, json_type_array)) {
                *ret = json_object_get(a);
                return 0;
        }
        err_clear();
        *ret = json_object_new_array();
        return *ret ? 0 : -ENOMEM;
}

static int teardown_at(struct engine *e, const char *id, const char *path)
{
        struct net_ctx *ctx;
        int r;

        if (access(path, F_OK) < 0)
                return 0;
        r = engine_net_ctx(e, &ctx);
        if (r < 0)
                return r;
        r = net_detach_all(ctx, id);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return r;
}

int engine_net_teardown(struct engine *e, const char *id)
{
        _cleanup_free_ char *p = record_path(e, id, NULL);
        return p ? teardown_at(e, id, p) : -ENOMEM;
}

/* ------------------------------------------------------------------ checks at create */

static int check_network_exists(struct net_ctx *ctx, const char *name)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        /* The default network is made on first use. */
        if (streq(name, NET_DEFAULT_NETWORK))
                return 0;
        r = net_network_inspect(ctx, name, &o);
        if (r == -ENOENT)
                return err_set(-ENOENT, "--network: no such network '%s'", name);
        return r;
}

static int check_ports(char **specs, bool expose)
{
        STRV_FOREACH (p, specs) {
                _cleanup_free_ struct port_map *l = NULL;
                size_t n = 0;
                int r = expose ? ports_parse_expose(*p, &l, &n) : ports_parse(*p, &l, &n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_policy(char *const *rules, const char *what)
{
        struct policy p = {};
        int r;

        if (!rules)
                return 0;
        r = policy_parse(rules, what, &p);
        policy_done(&p);
        return r;
}

static int check_address(const char *what, const char *v, int family)
{
        struct ipaddr a;

        if (!v)
                return 0;
        if (ipaddr_parse(v, &a) < 0 || a.family != family)
                return err_set(-EINVAL, "%s: invalid address '%s'", what, v);
        return 0;
}

int engine_net_check(struct engine *e, const struct runspec *s)
{
        struct net_ctx *ctx;
        uint8_t mac[6];
        int r;

        STRV_FOREACH (h, s->add_hosts) {
                /* host-gateway needs a gateway: any routed network has one. */
                struct ipaddr gw = {};
                (void)ipaddr_parse("10.88.0.1", &gw);
                if ((r = hosts_add_host_check(*h, runspec_is_bridged(s) ? &gw : NULL)) < 0)
                        return r;
        }
        STRV_FOREACH (d, s->dns) {
                struct ipaddr a;
                if (ipaddr_parse(*d, &a) < 0)
                        return err_set(-EINVAL, "--dns: invalid address '%s'", *d);
        }
        if ((r = check_ports(s->publish, false)) < 0 || (r = check_policy(s->egress, "--egress")) < 0 ||
            (r = check_policy(s->ingress, "--ingress")) < 0)
                return r;
        for (size_t i = 0; i < s->n_networks; i++) {
                const struct runspec_network *n = &s->networks[i];
                if ((r = check_address("--ip", n->ip, AF_INET)) < 0 ||
                    (r = check_address("--ip6", n->ip6, AF_INET6)) < 0)
                        return r;
                if (n->mac && mac_parse(n->mac, mac) < 0)
                        return err_set(-EINVAL, "--mac-address: invalid MAC address '%s'", n->mac);
        }
        if (s->network && startswith(s->network, "container:")) {
                _cleanup_workload_ struct workload *other = NULL;
                r = workload_find(e->db, startswith(s->network, "container:"), &other);
                if (r == -ENOENT)
                        return err_set(-ENOENT, "--network %s: no such container", s->network);
                return r;
        }
        if (!runspec_is_bridged(s) || s->n_networks == 0)
                return 0;
        r = engine_net_ctx(e, &ctx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_networks; i++)
                if ((r = check_network_exists(ctx, s->networks[i].name)) < 0)
                        return r;
        return 0;
}

/* ------------------------------------------------------------------ start */

void engine_net_start_done(struct engine_net_start *s)
{
        s->netns_fd = safe_close(s->netns_fd);
        free(s->netns_path);
        s->netns_path = NULL;
}

/* A new network namespace with loopback up, as an fd; this thread comes back to its own. */
static int netns_make(int *ret_fd)
{
        _cleanup_close_ int orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ns = -EBADF;
        int r = 0;

        if (orig < 0)
                return negative_errno();
        if (unshare(CLONE_NEWNET) < 0)
                return err_set(negative_errno(), "cannot make the container's network namespace: %m");
        ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (ns < 0)
                r = negative_errno();
        /* Back home whatever happened: the database, netlink and nftables sockets are the host's. */
        if (setns(orig, CLONE_NEWNET) < 0)
                return negative_errno();
        if (r < 0)
                return r;
        r = netns_loopback_up(ns);
        if (r < 0)
                return err_set(r, "cannot bring up the container's loopback device: %s", strerror(-r));
        *ret_fd = TAKE_FD(ns);
        return 0;
}

/* /etc/hosts and resolv.conf of another container, for --network container:ID (the host name stays ours). */
static int copy_files_of(struct engine *e, const char *other_id, const char *dir, const char *hostname)
{
        static const char *const names[] = {"hosts", "resolv.conf"};
        _cleanup_free_ char *hn = strdup_printf("%s/hostname", dir), *line = strdup_printf("%s\n", hostname);
        int r;

        if (!hn || !line)
                return -ENOMEM;
        r = write_file_atomic(hn, line, strlen(line), 0644);
        if (r < 0)
                return err_set(r, "cannot write '%s': %s", hn, strerror(-r));

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *src = strdup_printf("%s/%s/%s", e->containers_dir, other_id, names[i]),
                                    *dst = strdup_printf("%s/%s", dir, names[i]), *text = NULL;

                if (!src || !dst)
                        return -ENOMEM;
                r = read_full_file(src, 1 << 20, &text, NULL);
                if (r < 0)
                        return err_set(r, "cannot read '%s': %s", src, strerror(-r));
                r = write_file_atomic(dst, text, strlen(text), 0644);
                if (r < 0)
                        return err_set(r, "cannot write '%s': %s", dst, strerror(-r));
        }
        return 0;
}

static int setup_container_mode(struct engine *e, const struct runspec *s, const char *dir,
                                const char *hostname, struct engine_net_start *ret)
{
        _cleanup_workload_ struct workload *other = NULL;
        const char *ref = startswith(s->network, "container:");
        int r;

        r = ctr_lookup(e, ref, &other);
        if (r < 0)
                return r;
        if (other->state != WORKLOAD_RUNNING || other->pid <= 0)
                return err_set(-EINVAL, "--network container:%s: the container is not running", ref);
        /*
         * A VM-isolated container's process is hull-runtime's shim, in the host's namespace; its
         * network namespace belongs to its guest (docs/agent.md, "Networks"): nothing to share.
         */
        {
                _cleanup_runspec_ struct runspec *os = NULL;
                if (ctr_spec(other, &os) >= 0 && runspec_vm_isolated(os))
                        return err_set(-EINVAL,
                                       "--network container:%s: the container runs in a VM of its own", ref);
        }
        if ((r = copy_files_of(e, other->id, dir, hostname)) < 0)
                return r;
        ret->netns_path = strdup_printf("/proc/%lld/ns/net", (long long)other->pid);
        return ret->netns_path ? 0 : -ENOMEM;
}

/* What a runspec says of an endpoint on network n (NULL: the default network, no options of its own). */
static void attach_options_fill(struct net_attach_options *o, const struct runspec *s,
                                const struct runspec_network *n)
{
        o->ip = n ? n->ip : NULL;
        o->ip6 = n ? n->ip6 : NULL;
        o->mac = n ? n->mac : NULL;
        o->aliases = n ? n->aliases : NULL;
        o->dns = s->dns;
        o->dns_search = s->dns_search;
        o->dns_options = s->dns_options;
        o->add_hosts = s->add_hosts;
        o->egress = s->egress;
        o->ingress = s->ingress;
}

static int attach_one(struct net_ctx *ctx, const char *id, const char *name, const struct runspec *s,
                      const struct image_config *img, size_t i, int netns_fd, pid_t owner,
                      const char *hostname, const char *files_dir, struct net_attachment **ret)
{
        const struct runspec_network *n = &s->networks[i];
        char ifname[16];
        struct net_attach_options o = {
                .network = n->name,
                .endpoint = id,
                .kind = NET_ENDPOINT_VETH,
                .netns_fd = netns_fd,
                /* The monitor: when it is gone, so is the namespace (and the library knows the veth
                 * left with it, instead of deleting it and waiting for an RCU grace period). */
                .owner_pid = owner,
                .ifname = ifname,
                .name = name,
                .hostname = hostname,
                /* Ports are published once, through the first network (podman's rule). */
                .publish = i == 0 ? s->publish : NULL,
                .expose = i == 0 && s->publish_all && img ? img->exposed_ports : NULL,
                .files_dir = files_dir,
        };

        attach_options_fill(&o, s, n);
        snprintf(ifname, sizeof(ifname), "eth%zu", i);
        return net_attach(ctx, &o, ret);
}

static int record_attachments(const char *path, struct net_attachment **l, size_t n)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *a = json_object_new_array();

        if (!o || !a || json_object_object_add(o, "networks", a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (json_object_array_add(a, net_attachment_to_json(l[i])) < 0)
                        return -ENOMEM;
        return record_write(path, o);
}

/* The bridged mode, first half: the record, the namespace. */
static int setup_bridged(struct engine *e, const struct workload *w, const char *dir,
                         struct engine_net_start *ret)
{
        _cleanup_free_ char *path = record_path(e, w->id, dir);
        _cleanup_close_ int ns = -EBADF;
        int r;

        if (!path)
                return -ENOMEM;
        /* A record left by an earlier run (its end was never cleaned up): detach that first. */
        if ((r = teardown_at(e, w->id, path)) < 0 || (r = record_mark(path)) < 0)
                return r;
        r = netns_make(&ns);
        if (r < 0) {
                (void)unlink(path);
                return r;
        }
        ret->netns_fd = TAKE_FD(ns);
        ret->netns_path = strdup("/proc/self/fd/3");
        ret->bridged = true;
        return ret->netns_path ? 0 : -ENOMEM;
}

/* The networks of a bridged runspec: its own, or the default network. */
static void networks_of(const struct runspec *s, struct runspec *view, struct runspec_network *def)
{
        *view = *s;
        if (s->n_networks == 0) {
                /* No --network: the default network, as podman and Docker do. */
                *def = (struct runspec_network){.name = (char *)NET_DEFAULT_NETWORK};
                view->networks = def;
                view->n_networks = 1;
        }
}

int engine_net_attach(struct engine *e, const struct workload *w, const struct runspec *spec,
                      const struct image_config *img, const char *dir, const char *hostname, int netns_fd,
                      pid_t owner)
{
        _cleanup_free_ char *path = record_path(e, w->id, dir);
        struct net_attachment **l = NULL;
        struct runspec_network def;
        struct runspec s;
        struct net_ctx *ctx;
        size_t n = 0;
        int r;

        if (!path)
                return -ENOMEM;
        networks_of(spec, &s, &def);
        r = engine_net_ctx(e, &ctx);
        if (r < 0)
                goto fail;
        l = calloc(s.n_networks, sizeof(*l));
        if (!l) {
                r = -ENOMEM;
                goto fail;
        }
        for (; n < s.n_networks; n++) {
                r = attach_one(ctx, w->id, w->name, &s, img, n, netns_fd, owner, hostname,
                               n == 0 ? dir : NULL, &l[n]);
                if (r < 0)
                        goto fail;
        }
        r = record_attachments(path, l, n);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < n; i++)
                net_attachment_free(l[i]);
        free(l);
        return 0;
fail : {
        /* Undo in full, keeping the message of the step that failed. */
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        for (size_t i = 0; i < n; i++)
                net_attachment_free(l[i]);
        free(l);
        if (teardown_at(e, w->id, path) < 0)
                err_clear();
        return err_set(r, "%s", msg);
}
}

int engine_net_setup(struct engine *e, const struct workload *w, const struct runspec *s,
                     const struct image_config *img, const char *dir, const char *hostname,
                     struct engine_net_start *ret)
{
        _cleanup_net_attachment_ struct net_attachment *a = NULL;
        struct engine_net_start st = {.netns_fd = -EBADF};
        int r;

        if (runspec_is_bridged(s))
                r = setup_bridged(e, w, dir, &st);
        else if (streq(s->network, "host")) {
                r = net_files_standalone(NET_MODE_HOST, hostname, s->add_hosts, s->dns, s->dns_search,
                                         s->dns_options, dir, &a);
        } else if (streq(s->network, "none")) {
                r = netns_make(&st.netns_fd);
                if (r >= 0)
                        r = net_files_standalone(NET_MODE_NONE, hostname, s->add_hosts, s->dns,
                                                 s->dns_search, s->dns_options, dir, &a);
                if (r >= 0 && !(st.netns_path = strdup("/proc/self/fd/3")))
                        r = -ENOMEM;
        } else
                r = setup_container_mode(e, s, dir, hostname, &st);
        if (r < 0) {
                engine_net_start_done(&st);
                return r;
        }
        *ret = st;
        return 0;
}

/* ------------------------------------------------------------------ connect, disconnect, cleanup */

static int spec_save(struct engine *e, struct workload *w, const struct runspec *s)
{
        _cleanup_json_ struct json_object *o = NULL;
        char *text;
        int r;

        r = runspec_to_json(s, &o);
        if (r < 0)
                return r;
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (!text)
                return -ENOMEM;
        r = workload_set_spec(e->db, w->id, text);
        if (r < 0) {
                free(text);
                return r;
        }
        free(w->spec);
        w->spec = text;
        return 0;
}

static int record_add(struct engine *e, const char *id, struct net_attachment *a)
{
        _cleanup_free_ char *path = record_path(e, id, NULL);
        _cleanup_json_ struct json_object *l = NULL, *o = json_object_new_object();
        int r;

        if (!path || !o)
                return -ENOMEM;
        r = engine_net_attachments(e, id, &l);
        if (r < 0)
                return r;
        if (json_object_array_add(l, net_attachment_to_json(a)) < 0 ||
            json_object_object_add(o, "networks", json_object_get(l)) < 0)
                return -ENOMEM;
        return record_write(path, o);
}

static int record_drop(struct engine *e, const char *id, const char *network)
{
        _cleanup_free_ char *path = record_path(e, id, NULL);
        _cleanup_json_ struct json_object *l = NULL, *o = json_object_new_object(),
                                          *keep = json_object_new_array();
        int r;

        if (!path || !o || !keep)
                return -ENOMEM;
        r = engine_net_attachments(e, id, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                struct json_object *a = json_object_array_get_idx(l, i), *n;
                if (json_object_object_get_ex(a, "network", &n) && streq(json_object_get_string(n), network))
                        continue;
                json_object_array_add(keep, json_object_get(a));
        }
        if (json_object_object_add(o, "networks", json_object_get(keep)) < 0)
                return -ENOMEM;
        return record_write(path, o);
}

/*
 * The guest of a running VM-isolated container took its interfaces when it booted; the shim, its
 * process, is not in its namespace. Its networks change while it is stopped, for its next boot.
 */
static int vm_isolated_stopped(const struct workload *w, const struct runspec *s, const char *verb)
{
        if (runspec_vm_isolated(s) && (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED))
                return err_set(-EBUSY, "network %s: container %s runs in a VM of its own: stop it first",
                               verb, w->name);
        return 0;
}

int engine_net_connect(struct engine *e, struct workload *w, const char *network, const char *ip,
                       const char *ip6, const char *mac, char *const *aliases)
{
        _cleanup_close_ int lock = -EBADF, ns = -EBADF;
        _cleanup_runspec_ struct runspec *s = NULL;
        _cleanup_net_attachment_ struct net_attachment *a = NULL;
        _cleanup_free_ char *nspath = NULL;
        struct net_ctx *ctx;
        size_t i;
        int r;

        r = ctr_lock(e, w->id, true, &lock);
        if (r < 0)
                return err_set(r, "cannot lock container %s: %s", w->name, strerror(-r));
        if ((r = ctr_refresh_locked(e, w, true)) < 0 || (r = ctr_spec(w, &s)) < 0)
                return r;
        if (!runspec_is_bridged(s))
                return err_set(-EINVAL, "container %s is not on a bridged network (--network %s)", w->name,
                               s->network);
        if ((r = vm_isolated_stopped(w, s, "connect")) < 0)
                return r;
        if (s->n_networks == 0 &&
            (r = runspec_network_add(s, NET_DEFAULT_NETWORK, NULL, NULL, NULL, NULL)) < 0)
                return r;
        r = runspec_network_add(s, network, ip, ip6, mac, aliases);
        if (r == -EEXIST)
                return err_set(-EEXIST, "container %s is already on network '%s'", w->name, network);
        if (r < 0)
                return r;
        if ((r = engine_net_check(e, s)) < 0)
                return r;
        i = s->n_networks - 1;
        if (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED) {
                if ((r = engine_net_ctx(e, &ctx)) < 0)
                        return r;
                if (!(nspath = strdup_printf("/proc/%lld/ns/net", (long long)w->pid)))
                        return -ENOMEM;
                if ((r = netns_open(nspath, &ns)) < 0)
                        return err_set(r, "cannot open the network namespace of container %s: %s", w->name,
                                       strerror(-r));
                r = attach_one(ctx, w->id, w->name, s, NULL, i, ns, (pid_t)w->monitor_pid, NULL, NULL, &a);
                if (r < 0)
                        return r;
                /* Ports belong to the first network only; a connect never publishes. */
                if ((r = record_add(e, w->id, a)) < 0 || (r = spec_save(e, w, s)) < 0) {
                        char msg[1024];
                        snprintf(msg, sizeof(msg), "%s", err_msg(r));
                        if (net_detach(ctx, network, w->id) < 0)
                                err_clear();
                        return err_set(r, "%s", msg);
                }
                return 0;
        }
        return spec_save(e, w, s);
}

int engine_net_disconnect(struct engine *e, struct workload *w, const char *network, bool force)
{
        _cleanup_close_ int lock = -EBADF;
        _cleanup_runspec_ struct runspec *s = NULL;
        struct net_ctx *ctx;
        int r;

        r = ctr_lock(e, w->id, true, &lock);
        if (r < 0)
                return err_set(r, "cannot lock container %s: %s", w->name, strerror(-r));
        if ((r = ctr_refresh_locked(e, w, true)) < 0 || (r = ctr_spec(w, &s)) < 0)
                return r;
        if ((r = vm_isolated_stopped(w, s, "disconnect")) < 0)
                return r;
        if (runspec_is_bridged(s) && s->n_networks == 0 &&
            (r = runspec_network_add(s, NET_DEFAULT_NETWORK, NULL, NULL, NULL, NULL)) < 0)
                return r;
        r = runspec_network_remove(s, network);
        if (r == -ENOENT && !force)
                return err_set(-ENOENT, "container %s is not on network '%s'", w->name, network);
        if (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED) {
                if ((r = engine_net_ctx(e, &ctx)) < 0)
                        return r;
                r = net_detach(ctx, network, w->id);
                if (r < 0 && !(r == -ENOENT && force))
                        return r;
                err_clear();
                if ((r = record_drop(e, w->id, network)) < 0)
                        return r;
        }
        /* With no network left it is "none" in all but name: keep it bridged, without networks. */
        if (s->n_networks == 0 && runspec_is_bridged(s)) {
                free(s->network);
                if (!(s->network = strdup("none")))
                        return -ENOMEM;
        }
        return spec_save(e, w, s);
}

int engine_net_cleanup(struct engine *e, struct workload *w)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (!engine_net_attached(e, w->id))
                return 0;
        /* Held: a stop, rm or start is at work on the container, and detaches it (or attaches it again). */
        r = ctr_lock(e, w->id, false, &lock);
        if (r == -EBUSY || r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = ctr_refresh_locked(e, w, true);
        if (r < 0)
                return r;
        /* Started again meanwhile: its new attachments are not ours to undo. */
        if (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED || w->state == WORKLOAD_RESTARTING)
                return 0;
        return engine_net_teardown(e, w->id);
}

/* A VM's network (one: vm-net.c), as a pair for engine_net_uses(); a spec that does not parse names none. */
static int vm_uses(const struct workload *w, char ***pairs)
{
        struct vm_spec vs = {};
        const char *name = NULL;
        int r = 0;

        if (vm_spec_from_json(w->spec, &vs) < 0)
                err_clear();
        else if (!vs.net || (runspec_is_bridged(vs.net) && vs.net->n_networks == 0))
                name = NET_DEFAULT_NETWORK;
        else if (runspec_is_bridged(vs.net))
                name = vs.net->networks[0].name;
        if (name && (r = strv_extend(pairs, name)) >= 0)
                r = strv_extend(pairs, w->name);
        vm_spec_done(&vs);
        return r;
}

int engine_net_uses(struct engine *e, char ***ret)
{
        _cleanup_strv_free_ char **pairs = calloc(1, sizeof(char *));
        struct workload **l = NULL;
        size_t n = 0;
        int r;

        if (!pairs)
                return -ENOMEM;
        r = workload_list(e->db, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_runspec_ struct runspec *s = NULL;
                if (streq(l[i]->kind, VM_KIND)) {
                        r = vm_uses(l[i], &pairs);
                        continue;
                }
                if (ctr_spec(l[i], &s) < 0) {
                        err_clear();
                        continue;
                }
                if (runspec_is_bridged(s) && s->n_networks == 0 &&
                    (r = strv_extend(&pairs, NET_DEFAULT_NETWORK)) >= 0)
                        r = strv_extend(&pairs, l[i]->name);
                for (size_t j = 0; j < s->n_networks && r >= 0; j++)
                        if ((r = strv_extend(&pairs, s->networks[j].name)) >= 0)
                                r = strv_extend(&pairs, l[i]->name);
        }
        workload_list_free(l, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pairs);
        return 0;
}

/* ------------------------------------------------------------------ VMs */

void engine_net_tap_done(struct engine_net_tap *t)
{
        free(t->network);
        free(t->tap);
        free(t->mac);
        free(t->ipv4);
        free(t->gateway4);
        free(t->ipv6);
        free(t->gateway6);
        free(t->kernel_ip_arg);
        free(t->hosts);
        free(t->resolv_conf);
        free(t->hostname);
        *t = (struct engine_net_tap){};
}

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

void engine_net_taps_free(struct engine_net_tap *t, size_t n)
{
        for (size_t i = 0; i < n; i++)
                engine_net_tap_done(&t[i]);
        free(t);
}

static int tap_from_attachment(const struct net_attachment *a, struct engine_net_tap *ret)
{
        struct engine_net_tap t = {
                .network = strdup(a->network),
                .tap = strdup(a->host_ifname),
                .mac = strdup(a->mac),
                .ipv4 = strdup(a->ipv4),
                .gateway4 = dup_or_null(a->gateway4),
                .ipv6 = dup_or_null(a->ipv6),
                .gateway6 = dup_or_null(a->gateway6),
                .mtu = a->mtu,
                .kernel_ip_arg = dup_or_null(a->kernel_ip_arg),
                .hosts = dup_or_null(a->hosts),
                .resolv_conf = dup_or_null(a->resolv_conf),
                .hostname = dup_or_null(a->hostname),
        };

        if (!t.network || !t.tap || !t.mac || !t.ipv4) {
                engine_net_tap_done(&t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

/* A tap name is at most 15 bytes: "ht" and 12 digits of the id are unique enough on one node; the taps
 * of further networks are "ht", 10 digits, '-' and their index (ids are hex: never the name of a first
 * tap). */
static void tap_name(const char *workload_id, size_t i, char ret[static 16])
{
        if (i == 0)
                snprintf(ret, 16, "ht%.12s", workload_id);
        else
                snprintf(ret, 16, "ht%.10s-%zx", workload_id, i);
}

/* A tap for spec's network net (spec's own, or the default one when it names none), named tap. */
static struct net_attach_options tap_options(const char *workload_id, const char *name,
                                             const struct runspec *spec, const struct runspec_network *net,
                                             char *tap, uid_t uid, gid_t gid)
{
        struct net_attach_options o = {
                .network = net->name,
                .endpoint = workload_id,
                .kind = NET_ENDPOINT_TAP,
                .netns_fd = -EBADF,
                .ifname = tap,
                .tap_uid = uid,
                .tap_gid = gid,
                .name = name,
                .hostname = spec->hostname ?: name,
        };
        attach_options_fill(&o, spec, spec->n_networks ? net : NULL);
        return o;
}

int engine_net_attach_taps(struct engine *e, const char *workload_id, const char *name,
                           const struct runspec *spec, const struct image_config *img, const char *dir,
                           uid_t tap_uid, gid_t tap_gid, struct engine_net_tap **ret, size_t *ret_n)
{
        _cleanup_free_ char *path = record_path(e, workload_id, dir);
        struct net_attachment **l = NULL;
        struct engine_net_tap *taps = NULL;
        struct runspec_network def;
        struct runspec s;
        struct net_ctx *ctx;
        size_t n = 0;
        int r;

        if (!path)
                return -ENOMEM;
        if (!runspec_is_bridged(spec))
                return err_set(-EINVAL, "--network %s: a VM is attached to a bridged network",
                               spec->network);
        networks_of(spec, &s, &def);
        if ((r = engine_net_check(e, spec)) < 0 || (r = engine_net_ctx(e, &ctx)) < 0)
                return r;
        if ((r = teardown_at(e, workload_id, path)) < 0 || (r = record_mark(path)) < 0)
                return r;
        l = calloc(s.n_networks, sizeof(*l));
        taps = calloc(s.n_networks, sizeof(*taps));
        if (!l || !taps) {
                r = -ENOMEM;
                goto fail;
        }
        for (; n < s.n_networks; n++) {
                char tap[16];
                struct net_attach_options o =
                        tap_options(workload_id, name, spec, &s.networks[n], tap, tap_uid, tap_gid);
                /* Ports are published once, through the first network (podman's rule). */
                o.publish = n == 0 ? spec->publish : NULL;
                o.expose = n == 0 && spec->publish_all && img ? img->exposed_ports : NULL;
                tap_name(workload_id, n, tap);
                if ((r = net_attach(ctx, &o, &l[n])) < 0)
                        goto fail;
        }
        if ((r = record_attachments(path, l, n)) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++)
                if ((r = tap_from_attachment(l[i], &taps[i])) < 0)
                        goto fail;
        for (size_t i = 0; i < n; i++)
                net_attachment_free(l[i]);
        free(l);
        *ret = taps;
        *ret_n = n;
        return 0;
fail : {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        for (size_t i = 0; l && i < n; i++)
                net_attachment_free(l[i]);
        free(l);
        engine_net_taps_free(taps, taps ? s.n_networks : 0);
        if (teardown_at(e, workload_id, path) < 0)
                err_clear();
        return err_set(r, "%s", msg);
}
}

int engine_net_detach_tap(struct engine *e, const char *workload_id, const char *dir)
{
        _cleanup_free_ char *path = record_path(e, workload_id, dir);
        return path ? teardown_at(e, workload_id, path) : -ENOMEM;
}

static const char *attachment_str(struct json_object *a, const char *k);

/* Whether a recorded attachment has the tap's name, or a link of that name exists on the host. */
static bool tap_taken(struct json_object *l, const char *tap)
{
        for (size_t i = 0; i < json_object_array_length(l); i++)
                if (streq_ptr(attachment_str(json_object_array_get_idx(l, i), "host_ifname"), tap))
                        return true;
        return if_nametoindex(tap) > 0;
}

int engine_net_attach_tap_one(struct engine *e, const char *workload_id, const char *name,
                              const struct runspec *spec, size_t i, const char *dir,
                              struct engine_net_tap *ret)
{
        _cleanup_free_ char *path = record_path(e, workload_id, dir);
        _cleanup_net_attachment_ struct net_attachment *a = NULL;
        _cleanup_json_ struct json_object *l = NULL;
        const struct runspec_network *net = &spec->networks[i];
        struct net_ctx *ctx;
        char tap[16];
        size_t k = 0;
        int r;

        if (!path)
                return -ENOMEM;
        if ((r = engine_net_ctx(e, &ctx)) < 0)
                return r;
        /* A VM that started on no network has no record: one before the tap, as at a start. */
        if (access(path, F_OK) < 0 && (r = record_mark(path)) < 0)
                return r;
        if ((r = engine_net_attachments(e, workload_id, &l)) < 0)
                return r;
        /* The index of a network that was disconnected meanwhile may be free, its successor's not. */
        do
                tap_name(workload_id, k++, tap);
        while (tap_taken(l, tap) && k < 256);
        struct net_attach_options o = tap_options(workload_id, name, spec, net, tap, (uid_t)-1, (gid_t)-1);
        if ((r = net_attach(ctx, &o, &a)) < 0)
                return r;
        /* A connect never publishes: ports belong to the first network of a start. */
        if ((r = record_add(e, workload_id, a)) < 0 || (r = tap_from_attachment(a, ret)) < 0) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                if (net_detach(ctx, net->name, workload_id) < 0 ||
                    record_drop(e, workload_id, net->name) < 0)
                        err_clear();
                return err_set(r, "%s", msg);
        }
        return 0;
}

int engine_net_detach_one(struct engine *e, const char *workload_id, const char *network)
{
        struct net_ctx *ctx;
        int r;

        if ((r = engine_net_ctx(e, &ctx)) < 0)
                return r;
        r = net_detach(ctx, network, workload_id);
        if (r < 0 && r != -ENOENT)
                return r;
        err_clear();
        return record_drop(e, workload_id, network);
}

/* ------------------------------------------------------------------ inspect */

static struct json_object *jstr_or_empty(const char *s)
{
        return json_object_new_string(s ?: "");
}

/* "10.88.0.2/16" -> address and prefix length. */
static void split_cidr(const char *cidr, char *addr, size_t size, int *len)
{
        const char *slash = cidr ? strchr(cidr, '/') : NULL;

        snprintf(addr, size, "%.*s", slash ? (int)(slash - cidr) : (int)strlen(cidr ?: ""), cidr ?: "");
        *len = slash ? atoi(slash + 1) : 0;
}

static const char *attachment_str(struct json_object *a, const char *k)
{
        struct json_object *v;
        return json_object_object_get_ex(a, k, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* The canonical form of a policy list (what nftables enforces), or the list as typed if it does not parse.
 */
static struct json_object *policy_json(char **rules, const char *what)
{
        struct json_object *a = json_object_new_array();
        struct policy p = {};
        _cleanup_strv_free_ char **canon = NULL;

        if (rules && policy_parse(rules, what, &p) >= 0)
                canon = policy_to_strv(&p);
        err_clear();
        policy_done(&p);
        STRV_FOREACH (r, canon ?: rules)
                json_object_array_add(a, json_object_new_string(*r));
        return a;
}

int engine_net_settings_json(struct engine *e, const struct workload *w, const struct runspec *s,
                             struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object(), *l = NULL;
        struct json_object *nets = json_object_new_object(), *ports = json_object_new_object();
        int r;

        if (!o || !nets || !ports) {
                json_object_put(nets);
                json_object_put(ports);
                return -ENOMEM;
        }
        json_object_object_add(o, "Networks", nets);
        json_object_object_add(o, "Ports", ports);
        r = engine_net_attachments(e, w->id, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                struct json_object *a = json_object_array_get_idx(l, i), *n = json_object_new_object(), *pl,
                                   *aliases = json_object_new_array();
                const char *name = attachment_str(a, "network") ?: "";
                char ip[64], ip6[64];
                int len4, len6;

                split_cidr(attachment_str(a, "ipv4"), ip, sizeof(ip), &len4);
                split_cidr(attachment_str(a, "ipv6"), ip6, sizeof(ip6), &len6);
                json_object_object_add(n, "IPAddress", json_object_new_string(ip));
                json_object_object_add(n, "IPPrefixLen", json_object_new_int(len4));
                json_object_object_add(n, "Gateway", jstr_or_empty(attachment_str(a, "gateway4")));
                json_object_object_add(n, "GlobalIPv6Address", json_object_new_string(ip6));
                json_object_object_add(n, "GlobalIPv6PrefixLen", json_object_new_int(len6));
                json_object_object_add(n, "IPv6Gateway", jstr_or_empty(attachment_str(a, "gateway6")));
                json_object_object_add(n, "MacAddress", jstr_or_empty(attachment_str(a, "mac")));
                json_object_object_add(n, "InterfaceName", jstr_or_empty(attachment_str(a, "ifname")));
                json_object_object_add(n, "Aliases", aliases);
                for (size_t k = 0; k < s->n_networks; k++)
                        if (streq(s->networks[k].name, name))
                                STRV_FOREACH (al, s->networks[k].aliases)
                                        json_object_array_add(aliases, json_object_new_string(*al));
                json_object_object_add(nets, name, n);
                if (i == 0) {
                        /* podman repeats the first network's settings at the top. */
                        json_object_object_foreach (n, k, v) {
                                if (!streq(k, "Aliases") && !streq(k, "InterfaceName"))
                                        json_object_object_add(o, k, json_object_get(v));
                        }
                }
                if (!json_object_object_get_ex(a, "ports", &pl))
                        continue;
                for (size_t j = 0; j < json_object_array_length(pl); j++) {
                        struct json_object *p = json_object_array_get_idx(pl, j),
                                           *b = json_object_new_object(), *list;
                        char key[32], hp[8];
                        snprintf(key, sizeof(key), "%d/%s",
                                 json_object_get_int(json_object_object_get(p, "container_port")),
                                 attachment_str(p, "protocol") ?: "tcp");
                        snprintf(hp, sizeof(hp), "%d",
                                 json_object_get_int(json_object_object_get(p, "host_port")));
                        json_object_object_add(b, "HostIp", jstr_or_empty(attachment_str(p, "host_ip")));
                        json_object_object_add(b, "HostPort", json_object_new_string(hp));
                        if (!json_object_object_get_ex(ports, key, &list)) {
                                list = json_object_new_array();
                                json_object_object_add(ports, key, list);
                        }
                        json_object_array_add(list, b);
                }
        }
        /*
         * A VM's network is its guest's: no namespace of the host to name. A VM-isolated container's
         * process is the runtime's shim, which is not in the namespace its guest took over.
         */
        if (w->pid > 0 && json_object_array_length(l) > 0 && !streq(w->kind, VM_KIND) &&
            !runspec_vm_isolated(s)) {
                char sandbox[64];
                snprintf(sandbox, sizeof(sandbox), "/proc/%lld/ns/net", (long long)w->pid);
                json_object_object_add(o, "SandboxKey", json_object_new_string(sandbox));
        }
        json_object_object_add(o, "Egress", policy_json(s->egress, "--egress"));
        json_object_object_add(o, "Ingress", policy_json(s->ingress, "--ingress"));
        *ret = TAKE_PTR(o);
        return 0;
}

int engine_net_ports_string(struct engine *e, const char *id, char **ret)
{
        _cleanup_json_ struct json_object *l = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        r = engine_net_attachments(e, id, &l);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                struct json_object *pl;
                if (!json_object_object_get_ex(json_object_array_get_idx(l, i), "ports", &pl))
                        continue;
                for (size_t j = 0; j < json_object_array_length(pl); j++) {
                        struct json_object *p = json_object_array_get_idx(pl, j);
                        const char *hip = attachment_str(p, "host_ip");
                        fprintf(f, "%s%s:%d->%d/%s", ftell(f) > 0 ? ", " : "", hip && *hip ? hip : "0.0.0.0",
                                json_object_get_int(json_object_object_get(p, "host_port")),
                                json_object_get_int(json_object_object_get(p, "container_port")),
                                attachment_str(p, "protocol") ?: "tcp");
                }
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}
