/* SPDX-License-Identifier: Apache-2.0 */
/* nft.c - libnftables transactions and the text of hull's rules; see nft.h. */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "nft.h"
#include "util.h"

struct nft {
        struct nft_ctx *ctx;
        struct mnl_socket *elem_sock; /* nft-elem.c's, opened on first use */
        int memfd;
        bool changed; /* a transaction was committed through ctx */
};

int nft_open(struct nft **ret)
{
        struct nft *n = calloc(1, sizeof(*n));

        if (!n)
                return -ENOMEM;
        n->memfd = -EBADF;
        *ret = n;
        return 0;
}

/*
 * libnftables is loaded on first use (dlopen): with libxtables, libjansson and libgmp it is
 * 0.8 MiB of mappings and relocations that every hull command paid at start, while only network
 * creation and policies need it (an attach that only adds set elements goes through nft-elem.c).
 */
static struct {
        struct nft_ctx *(*ctx_new)(uint32_t flags);
        void (*ctx_free)(struct nft_ctx *ctx);
        int (*buffer_error)(struct nft_ctx *ctx);
        int (*buffer_output)(struct nft_ctx *ctx);
        const char *(*get_error_buffer)(struct nft_ctx *ctx);
        const char *(*get_output_buffer)(struct nft_ctx *ctx);
        unsigned (*output_get_flags)(struct nft_ctx *ctx);
        void (*output_set_flags)(struct nft_ctx *ctx, unsigned flags);
        int (*run_buffer)(struct nft_ctx *nft, const char *buf);
        int (*run_filename)(struct nft_ctx *nft, const char *filename);
} lib;

static int lib_load(void)
{
        static const struct {
                const char *name;
                size_t offset;
        } syms[] = {
                {"nft_ctx_new", offsetof(typeof(lib), ctx_new)},
                {"nft_ctx_free", offsetof(typeof(lib), ctx_free)},
                {"nft_ctx_buffer_error", offsetof(typeof(lib), buffer_error)},
                {"nft_ctx_buffer_output", offsetof(typeof(lib), buffer_output)},
                {"nft_ctx_get_error_buffer", offsetof(typeof(lib), get_error_buffer)},
                {"nft_ctx_get_output_buffer", offsetof(typeof(lib), get_output_buffer)},
                {"nft_ctx_output_get_flags", offsetof(typeof(lib), output_get_flags)},
                {"nft_ctx_output_set_flags", offsetof(typeof(lib), output_set_flags)},
                {"nft_run_cmd_from_buffer", offsetof(typeof(lib), run_buffer)},
                {"nft_run_cmd_from_filename", offsetof(typeof(lib), run_filename)},
        };
        void *h;

        if (lib.run_filename)
                return 0;
        h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return err_set(-ENOPKG, "nftables: cannot load libnftables.so.1: %s", dlerror());
        for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
                void *f = dlsym(h, syms[i].name);
                if (!f)
                        return err_set(-ENOPKG, "nftables: libnftables.so.1 has no %s", syms[i].name);
                memcpy((char *)&lib + syms[i].offset, &f, sizeof(f));
        }
        return 0;
}

/* libnftables is set up on first use. */
static int ctx_get(struct nft *n)
{
        int r;

        if (n->ctx)
                return 0;
        if ((r = lib_load()) < 0)
                return r;
        /* libnftables 1.0.6 quotes the first line of a buffer in its errors, whatever line failed;
         * reading the commands from a file gives the right line (and its number). */
        if (n->memfd < 0) {
                n->memfd = memfd_create("hull-nft", MFD_CLOEXEC);
                if (n->memfd < 0)
                        return negative_errno();
        }
        n->ctx = lib.ctx_new(NFT_CTX_DEFAULT);
        if (!n->ctx)
                return -ENOMEM;
        /* Errors and listings go to buffers, never to the caller's stderr/stdout. */
        if (lib.buffer_error(n->ctx) < 0 || lib.buffer_output(n->ctx) < 0) {
                lib.ctx_free(n->ctx);
                n->ctx = NULL;
                return -ENOMEM;
        }
        return 0;
}

int nft_elem_socket(struct nft *n, struct mnl_socket **ret)
{
        if (!n->elem_sock) {
                struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
                if (!nl)
                        return err_set(negative_errno(), "nftables: cannot open a netlink socket: %m");
                if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                        int r = negative_errno();
                        mnl_socket_close(nl);
                        return err_set(r, "nftables: cannot bind a netlink socket: %m");
                }
                n->elem_sock = nl;
        }
        n->changed = true;
        *ret = n->elem_sock;
        return 0;
}

static bool is_nfnetlink(int fd)
{
        int domain = 0, proto = 0;
        socklen_t l1 = sizeof(domain), l2 = sizeof(proto);

        return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) == 0 && domain == AF_NETLINK &&
               getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l2) == 0 && proto == NETLINK_NETFILTER;
}

/* The nfnetlink sockets among this process's descriptors (libnftables' and nft-elem.c's), sorted. */
static size_t nfnetlink_fds(int *out, size_t max)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)) && n < max) {
                int fd = atoi(de->d_name);
                if (de->d_name[0] != '.' && fd != dirfd(d) && is_nfnetlink(fd))
                        out[n++] = fd;
        }
        closedir(d);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
                        int t = out[j];
                        out[j] = out[j - 1];
                        out[j - 1] = t;
                }
        return n;
}

/*
 * The last close of an nfnetlink socket runs nf_tables' NETLINK_URELEASE notifier, which flushes
 * the destruction work of the transactions committed before it; that work waits for an RCU grace
 * period (5-10 ms on a loaded 2-core machine), so a command that has just changed rules would
 * wait for it on its way out, and so would whoever waits for the command. A child holding copies
 * of the nfnetlink sockets and of the read end of a pipe, and of nothing else (no pipe of a
 * caller that reads to the end), makes the last close instead, once the pipe says that ours are
 * closed (*ret_gate, the write end, is closed after them). The child is not waited for: it is
 * reaped by whoever adopts it when this process exits (hull's commands exit right after), or by
 * a caller that reaps its children. Only async-signal-safe calls after fork().
 */
static int release_later(int *ret_gate)
{
        int keep[16], gate[2];
        size_t n = nfnetlink_fds(keep, ELEMENTSOF(keep) - 1);
        pid_t pid;

        if (n == 0)
                return 0;
        if (pipe2(gate, O_CLOEXEC) < 0)
                return -errno;
        keep[n++] = gate[0];
        for (size_t i = n - 1; i > 0 && keep[i - 1] > keep[i]; i--) {
                int t = keep[i];
                keep[i] = keep[i - 1];
                keep[i - 1] = t;
        }
        pid = fork();
        if (pid == 0) {
                unsigned from = 0;
                char c;
                for (size_t i = 0; i < n; i++) {
                        if ((unsigned)keep[i] > from)
                                (void)syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0U);
                        from = (unsigned)keep[i] + 1;
                }
                (void)syscall(SYS_close_range, from, ~0U, 0U);
                while (read(gate[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        safe_close(gate[0]);
        if (pid < 0) {
                safe_close(gate[1]);
                return -errno;
        }
        *ret_gate = gate[1];
        return 0;
}

void nft_close(struct nft *n)
{
        int gate = -EBADF;

        if (!n)
                return;
        if (n->changed)
                (void)release_later(&gate);
        if (n->ctx)
                lib.ctx_free(n->ctx);
        if (n->elem_sock)
                mnl_socket_close(n->elem_sock);
        safe_close(n->memfd);
        safe_close(gate);
        free(n);
}

/* libnftables reports kernel errors as text ("Error: Could not process rule: File exists"):
 * find the errno whose strerror() it quotes. */
static int errno_from_text(const char *text)
{
        static const int known[] = {ENOENT, EEXIST, EBUSY,  EPERM,  EACCES, EINVAL, EOPNOTSUPP,
                                    ENOSPC, ENOMEM, ENODEV, ENFILE, E2BIG,  ERANGE};

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strstr(text, strerror(known[i])))
                        return -known[i];
        return -EIO;
}

/* Turn libnftables' error text into -errno and one line: "nftables: <reason>: <command>". */
static int run_error(const char *cmds, const char *errbuf)
{
        const char *err, *reason, *cmd, *eol;
        int r = errno_from_text(errbuf ? errbuf : "");

        if (!errbuf || !(err = strstr(errbuf, "Error: "))) {
                log_debug("nft transaction failed:\n%s", cmds);
                return err_set(r, "nftables: the transaction failed");
        }
        reason = err + strlen("Error: ");
        eol = strchr(reason, '\n');
        cmd = eol ? eol + 1 : "";
        err_set(r, "nftables: %.*s: %.*s", eol ? (int)(eol - reason) : (int)strlen(reason), reason,
                (int)strcspn(cmd, "\n"), cmd);
        log_debug("nft transaction failed:\n%s\n%s", cmds, errbuf);
        return r;
}

static int run_buffer(struct nft *n, const char *cmds)
{
        int r = ctx_get(n);

        if (r < 0)
                return r;
        if (lib.run_buffer(n->ctx, cmds) == 0)
                return 0;
        return run_error(cmds, lib.get_error_buffer(n->ctx));
}

int nft_run(struct nft *n, const char *cmds)
{
        char path[32];
        size_t len = strlen(cmds);
        int r = ctx_get(n);

        if (r < 0)
                return r;
        if (ftruncate(n->memfd, 0) < 0 || pwrite(n->memfd, cmds, len, 0) != (ssize_t)len)
                return negative_errno();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", n->memfd);
        n->changed = true;
        if (lib.run_filename(n->ctx, path) == 0)
                return 0;
        return run_error(cmds, lib.get_error_buffer(n->ctx));
}

int nft_run_lenient(struct nft *n, const char *cmds)
{
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        int r, first = 0;

        r = nft_run(n, cmds);
        if (r == 0)
                return 0;
        copy = strdup(cmds);
        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                r = nft_run(n, line);
                if (r < 0 && r != -ENOENT && first == 0)
                        first = r;
        }
        if (first == 0)
                err_clear();
        return first;
}

int nft_list_table(struct nft *n, const char *table, struct json_object **ret)
{
        char cmd[64];
        const char *out;
        unsigned flags;
        int r = ctx_get(n);

        if (r < 0)
                return r;
        flags = lib.output_get_flags(n->ctx);
        lib.output_set_flags(n->ctx, flags | NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        snprintf(cmd, sizeof(cmd), "list table %s", table);
        r = run_buffer(n, cmd);
        lib.output_set_flags(n->ctx, flags);
        if (r < 0) {
                if (r == -ENOENT)
                        err_clear();
                return r;
        }
        out = lib.get_output_buffer(n->ctx);
        if (!out)
                return -EIO;
        return json_parse_buffer(out, strlen(out), "nft list table", ret);
}

/* libnftables parses a buffer as JSON while its JSON output flag is set. */
static int run_json(struct nft *n, struct json_object *doc)
{
        unsigned flags;
        int r = ctx_get(n);

        if (r < 0)
                return r;
        flags = lib.output_get_flags(n->ctx);
        lib.output_set_flags(n->ctx, flags | NFT_CTX_OUTPUT_JSON);
        r = run_buffer(n, json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
        lib.output_set_flags(n->ctx, flags);
        return r;
}

int nft_run_json_lenient(struct nft *n, struct json_object *doc)
{
        struct json_object *cmds;
        int r, first = 0;

        if (!json_object_object_get_ex(doc, "nftables", &cmds) ||
            !json_object_is_type(cmds, json_type_array))
                return -EINVAL;
        if (json_object_array_length(cmds) == 0)
                return 0;
        r = run_json(n, doc);
        if (r == 0)
                return 0;
        for (size_t i = 0; i < json_object_array_length(cmds); i++) {
                _cleanup_json_ struct json_object *one = json_object_new_object(),
                                                  *a = json_object_new_array();
                json_object_array_add(a, json_object_get(json_object_array_get_idx(cmds, i)));
                json_object_object_add(one, "nftables", json_object_get(a));
                r = run_json(n, one);
                if (r < 0 && r != -ENOENT && first == 0)
                        first = r;
        }
        if (first == 0)
                err_clear();
        return first;
}

int nft_delete_table(struct nft *n)
{
        static const char *const tables[] = {NFT_TABLE, NFT_BRIDGE_TABLE};
        int first = 0;

        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                char cmd[64];
                int r;

                snprintf(cmd, sizeof(cmd), "delete table %s", tables[i]);
                r = nft_run(n, cmd);
                if (r < 0 && r != -ENOENT && first == 0)
                        first = r;
        }
        if (first == 0)
                err_clear();
        return first;
}

/* ------------------------------------------------------------------ the fixed part */

#define ND_TYPES "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit }"

static void base_chain(FILE *f, const char *name, const char *type, const char *hook, const char *prio,
                       const char *const *rules)
{
        fprintf(f, "add chain " NFT_TABLE " %s { type %s hook %s priority %s; policy accept; }\n", name,
                type, hook, prio);
        /* Re-running the fixed part replaces its rules instead of appending duplicates. */
        fprintf(f, "flush chain " NFT_TABLE " %s\n", name);
        for (const char *const *r = rules; *r; r++)
                fprintf(f, "add rule " NFT_TABLE " %s %s\n", name, *r);
}

void nft_gen_base(FILE *f)
{
        static const char *const maps[] = {
                "set bridges { type ifname; }",
                "map from_net { type ifname : verdict; }",
                "map to_net { type ifname : verdict; }",
                "map host_net { type ifname : verdict; }",
                "map neg { type ifname : verdict; }",
                "map nin { type ifname : verdict; }",
                "map snat4 { type ipv4_addr : verdict; flags interval; }",
                "map snat6 { type ipv6_addr : verdict; flags interval; }",
                /* Hash maps, not interval ones: adding to an interval set makes libnftables fetch
                 * every element first (overlap checks), which an attach would pay per published
                 * port on the node. Bindings to every address have maps of their own instead. */
                "map pub4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }",
                "map pub4any { type inet_proto . inet_service : ipv4_addr . inet_service; }",
                "map pub6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }",
                "map pub6any { type inet_proto . inet_service : ipv6_addr . inet_service; }",
                "map eg4 { type ipv4_addr : verdict; }",
                "map eg6 { type ipv6_addr : verdict; }",
                "map in4 { type ipv4_addr : verdict; }",
                "map in6 { type ipv6_addr : verdict; }",
        };
        /* In the nat chain, which sees only the first packet of a connection: a connection that
         * cannot start cannot go on, and a base chain of its own would cost every packet a hook. */
        static const char *const nat_pre[] = {"ip daddr 127.0.0.0/8 iifname @bridges counter drop",
                                              "fib daddr type local jump published", NULL};
        static const char *const nat_local[] = {"fib daddr type local jump published", NULL};
        /* A binding to one address and one to every address never share a port (ports.h), so the
         * order of the lookups does not matter; a dnat ends the chain when its lookup hits. */
        static const char *const published[] = {
                "meta nfproto ipv4 meta l4proto { tcp, udp, sctp } "
                "dnat ip to ip daddr . meta l4proto . th dport map @pub4",
                "meta nfproto ipv4 meta l4proto { tcp, udp, sctp } "
                "dnat ip to meta l4proto . th dport map @pub4any",
                "meta nfproto ipv6 meta l4proto { tcp, udp, sctp } "
                "dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6",
                "meta nfproto ipv6 meta l4proto { tcp, udp, sctp } "
                "dnat ip6 to meta l4proto . th dport map @pub6any",
                NULL,
        };
        static const char *const nat_post[] = {
                /* host loopback -> published port: the source must become the bridge's address */
                "oifname @bridges ip saddr 127.0.0.0/8 masquerade",
                "ip saddr vmap @snat4",
                "ip6 saddr vmap @snat6",
                NULL,
        };
        static const char *const forward[] = {
                "ct state established,related accept",
                "iifname @bridges " ND_TYPES " accept",
                "iifname vmap @from_net",
                "oifname vmap @to_net",
                "ip saddr vmap @eg4",
                "ip6 saddr vmap @eg6",
                "iifname vmap @neg",
                "ip daddr vmap @in4",
                "ip6 daddr vmap @in6",
                "oifname vmap @nin",
                NULL,
        };
        static const char *const input[] = {
                "ct state established,related accept",
                "iifname @bridges " ND_TYPES " accept",
                "iifname vmap @host_net",
                "iifname @bridges ip saddr vmap @eg4",
                "iifname @bridges ip6 saddr vmap @eg6",
                "iifname vmap @neg",
                NULL,
        };
        static const char *const output[] = {
                "ct state established,related accept",
                "oifname @bridges " ND_TYPES " accept",
                "oifname @bridges ip daddr vmap @in4",
                "oifname @bridges ip6 daddr vmap @in6",
                "oifname vmap @nin",
                NULL,
        };

        fputs("add table " NFT_TABLE "\n", f);
        for (size_t i = 0; i < ELEMENTSOF(maps); i++)
                fprintf(f, "add %.*s " NFT_TABLE "%s\n", (int)strcspn(maps[i], " "), maps[i],
                        maps[i] + strcspn(maps[i], " "));
        fputs("add chain " NFT_TABLE " published\nflush chain " NFT_TABLE " published\n", f);
        for (const char *const *r = published; *r; r++)
                fprintf(f, "add rule " NFT_TABLE " published %s\n", *r);
        base_chain(f, "nat_pre", "nat", "prerouting", "dstnat", nat_pre);
        /* nft 1.0.6 takes "dstnat" for prerouting only; -100 is its value (nft(8), "priority"). */
        base_chain(f, "nat_out", "nat", "output", "-100", nat_local);
        base_chain(f, "nat_post", "nat", "postrouting", "srcnat", nat_post);
        base_chain(f, "forward", "filter", "forward", "filter", forward);
        base_chain(f, "input", "filter", "input", "filter", input);
        base_chain(f, "output", "filter", "output", "filter", output);

        /* The port guard: a frame from a hull endpoint passes only with its own MAC and address,
         * one lookup for the common case (port . MAC . address); the rest is dropped, which also
         * ends VLAN tags, STP and other ethertypes. -300: before br_netfilter hands bridged IP to
         * the inet hooks. */
        fputs("add table " NFT_BRIDGE_TABLE "\n"
              "add set " NFT_BRIDGE_TABLE " guard { type ifname; }\n"
              "add set " NFT_BRIDGE_TABLE " mac { type ifname . ether_addr; }\n"
              "add set " NFT_BRIDGE_TABLE " ok4 { type ifname . ether_addr . ipv4_addr; }\n"
              "add set " NFT_BRIDGE_TABLE " ok6 { type ifname . ether_addr . ipv6_addr; }\n"
              "add chain " NFT_BRIDGE_TABLE
              " ports { type filter hook prerouting priority -300; policy accept; }\n"
              "flush chain " NFT_BRIDGE_TABLE " ports\n"
              /* The common case first, one lookup: IPv4 from a port with its own MAC and address. */
              "add rule " NFT_BRIDGE_TABLE
              " ports ether type ip iifname . ether saddr . ip saddr @ok4 accept\n"
              "add rule " NFT_BRIDGE_TABLE " ports iifname != @guard accept\n"
              "add rule " NFT_BRIDGE_TABLE
              " ports ether type ip6 iifname . ether saddr . ip6 saddr @ok6 accept\n"
              "add rule " NFT_BRIDGE_TABLE
              " ports ether type arp iifname . ether saddr . arp saddr ip @ok4 accept\n"
              /* Link-local sources and "::" (duplicate address detection) belong to IPv6 itself. */
              "add rule " NFT_BRIDGE_TABLE
              " ports ether type ip6 ip6 saddr { fe80::/10, :: } iifname . ether saddr @mac accept\n"
              "add rule " NFT_BRIDGE_TABLE " ports counter drop\n",
              f);
}

/* ------------------------------------------------------------------ networks */

static const char *const net_chains[] = {"from", "to", "host", "post", "eg", "in"};

/* (map, chain suffix) pairs of the per-bridge dispatch; "bridges" is a plain set. */
static const char *const net_maps[][2] = {
        {"from_net", "from"}, {"to_net", "to"}, {"host_net", "host"}, {"neg", "eg"}, {"nin", "in"},
};

static void chain_reset(FILE *f, const char *prefix, const char *id, const char *suffix)
{
        fprintf(f, "add chain " NFT_TABLE " %s-%s-%s\n", prefix, id, suffix);
        fprintf(f, "flush chain " NFT_TABLE " %s-%s-%s\n", prefix, id, suffix);
}

void nft_gen_network_policy(FILE *f, const struct nft_network *net)
{
        char chain[64];

        chain_reset(f, "n", net->id, "eg");
        chain_reset(f, "n", net->id, "in");
        snprintf(chain, sizeof(chain), "n-%s-eg", net->id);
        if (net->egress)
                policy_to_nft(net->egress, POLICY_EGRESS, NFT_TABLE, chain, f);
        snprintf(chain, sizeof(chain), "n-%s-in", net->id);
        if (net->ingress)
                policy_to_nft(net->ingress, POLICY_INGRESS, NFT_TABLE, chain, f);
}

void nft_gen_network_add(FILE *f, const struct nft_network *net)
{
        const char *id = net->id, *br = net->bridge;
        char a[CIDR_STRLEN];

        for (size_t i = 0; i < ELEMENTSOF(net_chains); i++)
                chain_reset(f, "n", id, net_chains[i]);

        /* Forwarded, new, from a container of this network. */
        fprintf(f, "add rule " NFT_TABLE " n-%s-from oifname \"%s\" return\n", id, br);
        if (net->internal)
                fprintf(f, "add rule " NFT_TABLE " n-%s-from counter reject with icmpx admin-prohibited\n",
                        id);
        else {
                fprintf(f, "add rule " NFT_TABLE " n-%s-from oifname @bridges ct status dnat return\n", id);
                fprintf(f, "add rule " NFT_TABLE " n-%s-from oifname @bridges counter drop\n", id);
        }
        /* Forwarded, new, into this network: from itself, or through a published port. */
        fprintf(f, "add rule " NFT_TABLE " n-%s-to iifname \"%s\" return\n", id, br);
        fprintf(f, "add rule " NFT_TABLE " n-%s-to ct status dnat return\n", id);
        fprintf(f, "add rule " NFT_TABLE " n-%s-to counter drop\n", id);
        /* To the host itself: the DNS responder is always reachable. */
        if (net->dns && net->gateway4)
                fprintf(f,
                        "add rule " NFT_TABLE " n-%s-host ip daddr %s meta l4proto { tcp, udp } th dport 53 "
                        "accept\n",
                        id, ipaddr_to_string(net->gateway4, a));
        if (net->dns && net->gateway6)
                fprintf(f,
                        "add rule " NFT_TABLE
                        " n-%s-host ip6 daddr %s meta l4proto { tcp, udp } th dport 53 "
                        "accept\n",
                        id, ipaddr_to_string(net->gateway6, a));
        if (net->internal)
                fprintf(f, "add rule " NFT_TABLE " n-%s-host counter drop\n", id);
        /* Source NAT: hairpin through a published port, then outbound. */
        fprintf(f, "add rule " NFT_TABLE " n-%s-post oifname \"%s\" ct status dnat masquerade\n", id, br);
        fprintf(f, "add rule " NFT_TABLE " n-%s-post oifname \"%s\" return\n", id, br);
        if (!net->internal)
                fprintf(f, "add rule " NFT_TABLE " n-%s-post masquerade\n", id);
        nft_gen_network_policy(f, net);

        fprintf(f, "add element " NFT_TABLE " bridges { \"%s\" }\n", br);
        for (size_t i = 0; i < ELEMENTSOF(net_maps); i++)
                fprintf(f, "add element " NFT_TABLE " %s { \"%s\" : jump n-%s-%s }\n", net_maps[i][0], br,
                        id, net_maps[i][1]);
        if (net->subnet4)
                fprintf(f, "add element " NFT_TABLE " snat4 { %s : jump n-%s-post }\n",
                        cidr_to_string(net->subnet4, a), id);
        if (net->subnet6)
                fprintf(f, "add element " NFT_TABLE " snat6 { %s : jump n-%s-post }\n",
                        cidr_to_string(net->subnet6, a), id);
}

void nft_gen_network_del(FILE *f, const struct nft_network *net)
{
        char a[CIDR_STRLEN];

        fprintf(f, "delete element " NFT_TABLE " bridges { \"%s\" }\n", net->bridge);
        for (size_t i = 0; i < ELEMENTSOF(net_maps); i++)
                fprintf(f, "delete element " NFT_TABLE " %s { \"%s\" }\n", net_maps[i][0], net->bridge);
        if (net->subnet4)
                fprintf(f, "delete element " NFT_TABLE " snat4 { %s }\n", cidr_to_string(net->subnet4, a));
        if (net->subnet6)
                fprintf(f, "delete element " NFT_TABLE " snat6 { %s }\n", cidr_to_string(net->subnet6, a));
        for (size_t i = 0; i < ELEMENTSOF(net_chains); i++) {
                fprintf(f, "flush chain " NFT_TABLE " n-%s-%s\n", net->id, net_chains[i]);
                fprintf(f, "delete chain " NFT_TABLE " n-%s-%s\n", net->id, net_chains[i]);
        }
}

/* ------------------------------------------------------------------ endpoints */

static void port_element(FILE *f, const struct port_map *p, const struct ipaddr *target)
{
        char h[IPADDR_STRLEN], t[IPADDR_STRLEN];

        if (ipaddr_is_set(&p->host_ip) && !ipaddr_is_any(&p->host_ip))
                fprintf(f, "%s . ", ipaddr_to_string(&p->host_ip, h));
        fprintf(f, "%s . %u", port_proto_to_string(p->proto), p->host_port);
        if (target)
                fprintf(f, " : %s . %u", ipaddr_to_string(target, t), p->container_port);
}

bool nft_port_in_family(const struct port_map *p, int family, const struct nft_endpoint *ep)
{
        const struct ipaddr *target = family == AF_INET ? ep->ip4 : ep->ip6;

        if (!target || !ipaddr_is_set(target))
                return false;
        return !ipaddr_is_set(&p->host_ip) || p->host_ip.family == family;
}

static void ports_gen(FILE *f, const struct nft_endpoint *ep, bool add)
{
        for (int fam = 0; fam < 2; fam++) {
                int family = fam == 0 ? AF_INET : AF_INET6;
                const struct ipaddr *target = family == AF_INET ? ep->ip4 : ep->ip6;

                for (size_t i = 0; i < ep->n_ports; i++) {
                        const struct port_map *p = &ep->ports[i];
                        bool any = !ipaddr_is_set(&p->host_ip) || ipaddr_is_any(&p->host_ip);

                        if (!nft_port_in_family(p, family, ep))
                                continue;
                        fprintf(f, "%s element " NFT_TABLE " pub%c%s { ", add ? "add" : "delete",
                                family == AF_INET ? '4' : '6', any ? "any" : "");
                        port_element(f, p, add ? target : NULL);
                        fputs(" }\n", f);
                }
        }
}

/* The port guard's elements of an endpoint, one per line (see the header). */
static void guard_gen(FILE *f, const struct nft_endpoint *ep, bool add)
{
        const char *verb = add ? "add" : "delete";
        char a[IPADDR_STRLEN], m[MAC_STRLEN];

        mac_to_string(ep->mac, m);
        fprintf(f, "%s element " NFT_BRIDGE_TABLE " guard { \"%s\" }\n", verb, ep->host_ifname);
        fprintf(f, "%s element " NFT_BRIDGE_TABLE " mac { \"%s\" . %s }\n", verb, ep->host_ifname, m);
        if (ep->ip4 && ipaddr_is_set(ep->ip4))
                fprintf(f, "%s element " NFT_BRIDGE_TABLE " ok4 { \"%s\" . %s . %s }\n", verb,
                        ep->host_ifname, m, ipaddr_to_string(ep->ip4, a));
        if (ep->ip6 && ipaddr_is_set(ep->ip6))
                fprintf(f, "%s element " NFT_BRIDGE_TABLE " ok6 { \"%s\" . %s . %s }\n", verb,
                        ep->host_ifname, m, ipaddr_to_string(ep->ip6, a));
}

static bool policy_present(const struct policy *p)
{
        return p && p->n > 0;
}

void nft_gen_endpoint_add(FILE *f, const struct nft_endpoint *ep)
{
        char a[IPADDR_STRLEN], chain[64];

        if (ep->host_ifname && ep->mac)
                guard_gen(f, ep, true);
        ports_gen(f, ep, true);
        for (int d = 0; d < _POLICY_DIR_MAX; d++) {
                const struct policy *p = d == POLICY_EGRESS ? ep->egress : ep->ingress;
                const char *suffix = d == POLICY_EGRESS ? "eg" : "in";

                if (!policy_present(p))
                        continue;
                /* A new endpoint's chains are new: no flush (which would make libnftables list rules). */
                fprintf(f, "add chain " NFT_TABLE " e-%s-%s\n", ep->id, suffix);
                snprintf(chain, sizeof(chain), "e-%s-%s", ep->id, suffix);
                policy_to_nft(p, (enum policy_dir)d, NFT_TABLE, chain, f);
                if (ep->ip4 && ipaddr_is_set(ep->ip4))
                        fprintf(f, "add element " NFT_TABLE " %s4 { %s : jump %s }\n", suffix,
                                ipaddr_to_string(ep->ip4, a), chain);
                if (ep->ip6 && ipaddr_is_set(ep->ip6))
                        fprintf(f, "add element " NFT_TABLE " %s6 { %s : jump %s }\n", suffix,
                                ipaddr_to_string(ep->ip6, a), chain);
        }
}

void nft_gen_endpoint_del(FILE *f, const struct nft_endpoint *ep)
{
        char a[IPADDR_STRLEN];

        ports_gen(f, ep, false);
        for (int d = 0; d < _POLICY_DIR_MAX; d++) {
                const struct policy *p = d == POLICY_EGRESS ? ep->egress : ep->ingress;
                const char *suffix = d == POLICY_EGRESS ? "eg" : "in";

                if (!policy_present(p))
                        continue;
                if (ep->ip4 && ipaddr_is_set(ep->ip4))
                        fprintf(f, "delete element " NFT_TABLE " %s4 { %s }\n", suffix,
                                ipaddr_to_string(ep->ip4, a));
                if (ep->ip6 && ipaddr_is_set(ep->ip6))
                        fprintf(f, "delete element " NFT_TABLE " %s6 { %s }\n", suffix,
                                ipaddr_to_string(ep->ip6, a));
                fprintf(f, "flush chain " NFT_TABLE " e-%s-%s\n", ep->id, suffix);
                fprintf(f, "delete chain " NFT_TABLE " e-%s-%s\n", ep->id, suffix);
        }
        if (ep->host_ifname && ep->mac)
                guard_gen(f, ep, false);
}
