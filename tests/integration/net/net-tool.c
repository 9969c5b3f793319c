/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-tool.c - drives src/net from the integration tests and the benchmark until `hull network`
 * and `hull run --network` exist (not installed). Every command is one call of network.h:
 *
 *   net-tool [--root DIR] [--run DIR] [--dns-helper PATH] COMMAND ...
 *     create NAME [--subnet C] [--gateway IP] [--ip-range C] [--ipv6] [--subnet6 C] [--gateway6 IP]
 *                 [--ip-range6 C] [--internal] [--opt K=V]... [--egress R]... [--ingress R]...
 *     rm NAME [--force]          inspect NAME          ls          prune          reclaim
 *     policy NAME [--egress R]... [--ingress R]... [--clear-egress] [--clear-ingress]
 *     attach NETWORK ENDPOINT --netns PID|PATH [ATTACH OPTIONS]
 *     tap NETWORK ENDPOINT [--ifname TAP] [--uid U] [--gid G] [ATTACH OPTIONS]
 *     detach NETWORK ENDPOINT    detach-all ENDPOINT
 *     endpoint-policy NETWORK ENDPOINT [--egress R]... [--ingress R]... [--clear-egress] [--clear-ingress]
 *     standalone none|host [--hostname H] [--add-host E]... [--dns IP]... [--files-dir DIR]
 *     bench N NETWORK [ATTACH OPTIONS]   attach N fresh "containers" (a child in a new network
 *                                        namespace) and detach each after it died; print medians (µs)
 *
 *   ATTACH OPTIONS: --name N --hostname H --ip IP --ip6 IP --mac M --alias A --dns IP
 *     --dns-search D --dns-option O --add-host NAME:IP -p SPEC --expose SPEC --egress R
 *     --ingress R --ifname NAME --files-dir DIR --owner PID
 *
 * Results are JSON on stdout; errors "net-tool: <command>: <message>" on stderr, exit 1.
 * HULL_DNS_HELPER, or hull-dns next to this build, is the responder.
 */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "error.h"
#include "json.h"
#include "network.h"
#include "util.h"

struct args {
        struct net_create_options create;
        struct net_attach_options attach;
        char **opts, **egress, **ingress, **aliases, **dns, **dns_search, **dns_options, **add_hosts,
                **publish, **expose;
        bool force, clear_egress, clear_ingress;
};

static void args_done(struct args *a)
{
        strv_free(a->opts);
        strv_free(a->egress);
        strv_free(a->ingress);
        strv_free(a->aliases);
        strv_free(a->dns);
        strv_free(a->dns_search);
        strv_free(a->dns_options);
        strv_free(a->add_hosts);
        strv_free(a->publish);
        strv_free(a->expose);
}

static int fail(const char *what, int r)
{
        fprintf(stderr, "net-tool: %s: %s\n", what, err_msg(r));
        return 1;
}

static void print_json(struct json_object *o)
{
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
}

enum {
        O_SUBNET = 256,
        O_GATEWAY,
        O_IPRANGE,
        O_IPV6,
        O_SUBNET6,
        O_GATEWAY6,
        O_IPRANGE6,
        O_INTERNAL,
        O_OPT,
        O_EGRESS,
        O_INGRESS,
        O_FORCE,
        O_CLEAR_EG,
        O_CLEAR_IN,
        O_NETNS,
        O_NAME,
        O_HOSTNAME,
        O_IP,
        O_IP6,
        O_MAC,
        O_ALIAS,
        O_DNS,
        O_DNS_SEARCH,
        O_DNS_OPTION,
        O_ADD_HOST,
        O_EXPOSE,
        O_IFNAME,
        O_FILES,
        O_OWNER,
        O_UID,
        O_GID,
};

static const struct option long_opts[] = {
        {"subnet", required_argument, NULL, O_SUBNET},
        {"gateway", required_argument, NULL, O_GATEWAY},
        {"ip-range", required_argument, NULL, O_IPRANGE},
        {"ipv6", no_argument, NULL, O_IPV6},
        {"subnet6", required_argument, NULL, O_SUBNET6},
        {"gateway6", required_argument, NULL, O_GATEWAY6},
        {"ip-range6", required_argument, NULL, O_IPRANGE6},
        {"internal", no_argument, NULL, O_INTERNAL},
        {"opt", required_argument, NULL, O_OPT},
        {"egress", required_argument, NULL, O_EGRESS},
        {"ingress", required_argument, NULL, O_INGRESS},
        {"force", no_argument, NULL, O_FORCE},
        {"clear-egress", no_argument, NULL, O_CLEAR_EG},
        {"clear-ingress", no_argument, NULL, O_CLEAR_IN},
        {"netns", required_argument, NULL, O_NETNS},
        {"name", required_argument, NULL, O_NAME},
        {"hostname", required_argument, NULL, O_HOSTNAME},
        {"ip", required_argument, NULL, O_IP},
        {"ip6", required_argument, NULL, O_IP6},
        {"mac", required_argument, NULL, O_MAC},
        {"alias", required_argument, NULL, O_ALIAS},
        {"dns", required_argument, NULL, O_DNS},
        {"dns-search", required_argument, NULL, O_DNS_SEARCH},
        {"dns-option", required_argument, NULL, O_DNS_OPTION},
        {"add-host", required_argument, NULL, O_ADD_HOST},
        {"publish", required_argument, NULL, 'p'},
        {"expose", required_argument, NULL, O_EXPOSE},
        {"ifname", required_argument, NULL, O_IFNAME},
        {"files-dir", required_argument, NULL, O_FILES},
        {"owner", required_argument, NULL, O_OWNER},
        {"uid", required_argument, NULL, O_UID},
        {"gid", required_argument, NULL, O_GID},
        {},
};

/* Parse the options of a command (argv[0] is the command); positional arguments are left in
 * argv[optind..]. */
static int parse(int argc, char **argv, struct args *a)
{
        struct net_attach_options *at = &a->attach;
        struct net_create_options *c = &a->create;
        uint32_t v;
        int o;

        at->netns_fd = -1;
        at->tap_uid = (uid_t)-1;
        at->tap_gid = (gid_t)-1;
        optind = 1;
        while ((o = getopt_long(argc, argv, "p:", long_opts, NULL)) >= 0) {
                int r = 0;
                switch (o) {
                case O_SUBNET:
                        c->subnet = optarg;
                        break;
                case O_GATEWAY:
                        c->gateway = optarg;
                        break;
                case O_IPRANGE:
                        c->ip_range = optarg;
                        break;
                case O_IPV6:
                        c->ipv6 = true;
                        break;
                case O_SUBNET6:
                        c->subnet6 = optarg;
                        break;
                case O_GATEWAY6:
                        c->gateway6 = optarg;
                        break;
                case O_IPRANGE6:
                        c->ip_range6 = optarg;
                        break;
                case O_INTERNAL:
                        c->internal = true;
                        break;
                case O_OPT:
                        r = strv_extend(&a->opts, optarg);
                        break;
                case O_EGRESS:
                        r = strv_extend(&a->egress, optarg);
                        break;
                case O_INGRESS:
                        r = strv_extend(&a->ingress, optarg);
                        break;
                case O_FORCE:
                        a->force = true;
                        break;
                case O_CLEAR_EG:
                        a->clear_egress = true;
                        break;
                case O_CLEAR_IN:
                        a->clear_ingress = true;
                        break;
                case O_NETNS:
                        at->netns = optarg;
                        break;
                case O_NAME:
                        at->name = optarg;
                        break;
                case O_HOSTNAME:
                        at->hostname = optarg;
                        break;
                case O_IP:
                        at->ip = optarg;
                        break;
                case O_IP6:
                        at->ip6 = optarg;
                        break;
                case O_MAC:
                        at->mac = optarg;
                        break;
                case O_ALIAS:
                        r = strv_extend(&a->aliases, optarg);
                        break;
                case O_DNS:
                        r = strv_extend(&a->dns, optarg);
                        break;
                case O_DNS_SEARCH:
                        r = strv_extend(&a->dns_search, optarg);
                        break;
                case O_DNS_OPTION:
                        r = strv_extend(&a->dns_options, optarg);
                        break;
                case O_ADD_HOST:
                        r = strv_extend(&a->add_hosts, optarg);
                        break;
                case 'p':
                        r = strv_extend(&a->publish, optarg);
                        break;
                case O_EXPOSE:
                        r = strv_extend(&a->expose, optarg);
                        break;
                case O_IFNAME:
                        at->ifname = optarg;
                        break;
                case O_FILES:
                        at->files_dir = optarg;
                        break;
                case O_OWNER:
                case O_UID:
                case O_GID:
                        if (parse_u32(optarg, &v) < 0)
                                return err_set(-EINVAL, "invalid number '%s'", optarg);
                        if (o == O_OWNER)
                                at->owner_pid = (pid_t)v;
                        else if (o == O_UID)
                                at->tap_uid = (uid_t)v;
                        else
                                at->tap_gid = (gid_t)v;
                        break;
                default:
                        return err_set(-EINVAL, "unknown option");
                }
                if (r < 0)
                        return r;
        }
        c->opts = a->opts;
        c->egress = at->egress = a->egress;
        c->ingress = at->ingress = a->ingress;
        at->aliases = a->aliases;
        at->dns = a->dns;
        at->dns_search = a->dns_search;
        at->dns_options = a->dns_options;
        at->add_hosts = a->add_hosts;
        at->publish = a->publish;
        at->expose = a->expose;
        return 0;
}

static char *const empty_list[] = {NULL};

static int policy_lists(struct args *a, char *const **eg, char *const **in)
{
        *eg = a->clear_egress ? empty_list : a->egress;
        *in = a->clear_ingress ? empty_list : a->ingress;
        return 0;
}

static int cmp_u64(const void *x, const void *y)
{
        uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
        return a < b ? -1 : a > b;
}

static uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct json_object *stats(uint64_t *v, size_t n)
{
        struct json_object *o = json_object_new_object();

        qsort(v, n, sizeof(*v), cmp_u64);
        json_object_object_add(o, "min", json_object_new_int64((int64_t)v[0]));
        json_object_object_add(o, "median", json_object_new_int64((int64_t)v[n / 2]));
        json_object_object_add(o, "p90", json_object_new_int64((int64_t)v[n * 9 / 10]));
        json_object_object_add(o, "max", json_object_new_int64((int64_t)v[n - 1]));
        return o;
}

/* CPU time of this process (user + system, which includes the kernel's work on its requests). */
static uint64_t cpu_us(void)
{
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return 0;
        return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
               (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A "container": a child in a new network namespace that waits to be killed (not timed). */
static pid_t spawn_container(void)
{
        int p[2];
        char c;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(1);
                (void)write(p[1], "r", 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        if (pid < 0 || read(p[0], &c, 1) != 1) {
                close(p[0]);
                return pid < 0 ? -errno : -EIO;
        }
        close(p[0]);
        return pid;
}

/* What `run --rm` pays for a network: attach a fresh container (named by its pid, which makes
 * it the endpoint's owner), and after it died, detach it. */
static int bench(struct net_ctx *ctx, struct args *a, unsigned n, const char *network)
{
        _cleanup_free_ uint64_t *att = calloc(n, sizeof(uint64_t)), *det = calloc(n, sizeof(uint64_t)),
                                *cpu = calloc(n, sizeof(uint64_t));
        _cleanup_json_ struct json_object *o = json_object_new_object();
        const char *name = a->attach.name;
        int r;

        if (!att || !det || !cpu || n == 0)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++) {
                _cleanup_net_attachment_ struct net_attachment *res = NULL;
                char id[64], nm[64], pidstr[16];
                uint64_t t0, t1, t2, c0;
                pid_t pid = spawn_container();

                if (pid < 0)
                        return pid;
                snprintf(id, sizeof(id), "bench-%d-%u", (int)getpid(), i);
                snprintf(nm, sizeof(nm), "bench%u", i);
                snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
                a->attach.endpoint = id;
                a->attach.network = network;
                a->attach.netns = pidstr;
                a->attach.name = name ?: nm;
                c0 = cpu_us();
                t0 = now_us();
                r = net_attach(ctx, &a->attach, &res);
                t1 = now_us();
                cpu[i] = cpu_us() - c0;
                kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                if (r < 0)
                        return r;
                t1 = t1 - t0;
                t2 = now_us();
                r = net_detach(ctx, network, id);
                if (r < 0)
                        return r;
                att[i] = t1;
                det[i] = now_us() - t2;
        }
        json_object_object_add(o, "iterations", json_object_new_int((int)n));
        json_object_object_add(o, "attach_us", stats(att, n));
        json_object_object_add(o, "attach_cpu_us", stats(cpu, n));
        json_object_object_add(o, "detach_us", stats(det, n));
        print_json(o);
        return 0;
}

static void default_dns_helper(struct net_ctx *ctx)
{
        char exe[4096], path[4200];
        const char *env = getenv("HULL_DNS_HELPER");
        ssize_t n;

        if (env) {
                (void)net_ctx_set_dns_helper(ctx, env);
                return;
        }
        /* build/tests/integration/net/net-tool -> build/cmd/hull-dns/hull-dns */
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return;
        exe[n] = 0;
        snprintf(path, sizeof(path), "%s/../../../cmd/hull-dns/hull-dns", dirname(exe));
        if (access(path, X_OK) == 0)
                (void)net_ctx_set_dns_helper(ctx, path);
}

int main(int argc, char **argv)
{
        _cleanup_net_ctx_ struct net_ctx *ctx = NULL;
        _cleanup_json_ struct json_object *out = NULL;
        const char *root = "/var/lib/hull", *run = NULL, *helper = NULL, *cmd;
        struct args a = {};
        char **pos;
        int npos, r, i = 1;

        while (i + 1 < argc &&
               (streq(argv[i], "--root") || streq(argv[i], "--run") || streq(argv[i], "--dns-helper"))) {
                if (streq(argv[i], "--root"))
                        root = argv[i + 1];
                else if (streq(argv[i], "--run"))
                        run = argv[i + 1];
                else
                        helper = argv[i + 1];
                i += 2;
        }
        if (i >= argc) {
                fputs("usage: net-tool [--root DIR] [--dns-helper PATH] COMMAND ... (see net-tool.c)\n",
                      stderr);
                return 2;
        }
        cmd = argv[i];
        r = parse(argc - i, argv + i, &a);
        if (r < 0) {
                args_done(&a);
                return fail(cmd, r);
        }
        pos = argv + i + optind;
        npos = argc - i - optind;
        r = net_ctx_open(root, run, &ctx);
        if (r < 0) {
                args_done(&a);
                return fail(cmd, r);
        }
        if (helper)
                r = net_ctx_set_dns_helper(ctx, helper);
        else
                default_dns_helper(ctx);

#define NEED(n)                                                                               \
        do {                                                                                  \
                if (npos != (n)) {                                                            \
                        args_done(&a);                                                        \
                        fprintf(stderr, "net-tool: %s: expected %d argument(s)\n", cmd, (n)); \
                        return 2;                                                             \
                }                                                                             \
        } while (0)

        if (streq(cmd, "create")) {
                NEED(1);
                a.create.name = pos[0];
                r = net_network_create(ctx, &a.create, &out);
        } else if (streq(cmd, "rm")) {
                NEED(1);
                r = net_network_remove(ctx, pos[0], a.force);
        } else if (streq(cmd, "inspect")) {
                NEED(1);
                r = net_network_inspect(ctx, pos[0], &out);
        } else if (streq(cmd, "ls")) {
                NEED(0);
                r = net_network_list(ctx, &out);
        } else if (streq(cmd, "prune")) {
                _cleanup_strv_free_ char **removed = NULL;
                NEED(0);
                r = net_network_prune(ctx, &removed);
                if (r >= 0) {
                        out = json_object_new_array();
                        STRV_FOREACH (s, removed)
                                json_object_array_add(out, json_object_new_string(*s));
                }
        } else if (streq(cmd, "reclaim")) {
                NEED(0);
                r = net_reclaim(ctx);
                if (r >= 0)
                        out = json_object_new_int(r);
        } else if (streq(cmd, "policy") || streq(cmd, "endpoint-policy")) {
                char *const *eg, *const *in;
                policy_lists(&a, &eg, &in);
                if (streq(cmd, "policy")) {
                        NEED(1);
                        r = net_network_set_policy(ctx, pos[0], eg, in);
                } else {
                        NEED(2);
                        r = net_endpoint_set_policy(ctx, pos[0], pos[1], eg, in);
                }
        } else if (streq(cmd, "attach") || streq(cmd, "tap")) {
                _cleanup_net_attachment_ struct net_attachment *res = NULL;
                NEED(2);
                a.attach.network = pos[0];
                a.attach.endpoint = pos[1];
                a.attach.kind = streq(cmd, "tap") ? NET_ENDPOINT_TAP : NET_ENDPOINT_VETH;
                r = net_attach(ctx, &a.attach, &res);
                if (r >= 0)
                        out = net_attachment_to_json(res);
        } else if (streq(cmd, "detach")) {
                NEED(2);
                r = net_detach(ctx, pos[0], pos[1]);
        } else if (streq(cmd, "detach-all")) {
                NEED(1);
                r = net_detach_all(ctx, pos[0]);
        } else if (streq(cmd, "standalone")) {
                _cleanup_net_attachment_ struct net_attachment *res = NULL;
                enum net_mode mode;
                _cleanup_free_ char *arg = NULL;
                NEED(1);
                r = net_mode_parse(pos[0], &mode, &arg);
                if (r >= 0)
                        r = net_files_standalone(mode, a.attach.hostname, a.add_hosts, a.dns, a.dns_search,
                                                 a.dns_options, a.attach.files_dir, &res);
                if (r >= 0) {
                        out = json_object_new_object();
                        json_object_object_add(out, "hosts", json_object_new_string(res->hosts));
                        json_object_object_add(out, "resolv.conf", json_object_new_string(res->resolv_conf));
                        json_object_object_add(out, "hostname", json_object_new_string(res->hostname));
                }
        } else if (streq(cmd, "bench")) {
                uint32_t n;
                NEED(2);
                if (parse_u32(pos[0], &n) < 0 || n == 0)
                        r = err_set(-EINVAL, "invalid count '%s'", pos[0]);
                else
                        r = bench(ctx, &a, n, pos[1]);
        } else {
                args_done(&a);
                fprintf(stderr, "net-tool: unknown command '%s'\n", cmd);
                return 2;
        }
        args_done(&a);
        if (r < 0)
                return fail(cmd, r);
        if (out)
                print_json(out);
        return 0;
}
