/* SPDX-License-Identifier: Apache-2.0 */
/*
 * network.h - the network library's API: what `hull network ...`, `hull run --network ...`
 * and hull-vmm's tap attachment call. One call per user-visible operation.
 *
 * A network is a Linux bridge with an IPv4 subnet (and optionally an IPv6 one), its nftables
 * chains (nft.h), an IPAM pool per family (ipam.h) and, for user networks, a DNS responder
 * (dns.h). An endpoint is one workload on one network: a veth pair whose peer lives in the
 * container's network namespace, or a tap for a VM, with leased addresses, published ports,
 * policies and DNS names. Endpoints are keyed by (network, endpoint id): the engine passes its
 * container or VM id.
 *
 * Every state-changing call takes the node-wide store lock, so parallel hull processes
 * serialize; every call either completes or undoes what it did (nothing half-made). A process
 * killed in the middle leaves a record marked "attaching"/"creating" with its identity, which
 * the next attach of that endpoint, net_reclaim() or net_network_prune() roll back, as they do
 * for endpoints whose namespace or owner process has gone.
 *
 * Errors: -errno, with one line for the user through err_set() ("network 'web' already
 * exists", "host port 8080/tcp is already in use on the host", "subnet 10.89.0.0/24 overlaps
 * network 'front' (10.89.0.0/16)").
 *
 * A struct net_ctx belongs to one thread at a time. Attaching enters the container's network
 * namespace with setns(2) on the calling thread for the duration of one socket() call.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define NET_DEFAULT_NETWORK "hull"

struct net_ctx;

/* Open the network state of a node: network definitions in <root>/state.db (the node's
 * database), runtime state (endpoints, leases, port reservations, DNS tables) under
 * <run_root>/net, normally on tmpfs (/run/hull): it describes kernel objects that a reboot takes
 * away with it. run_root NULL: root. */
int net_ctx_open(const char *root, const char *run_root, struct net_ctx **ret);
struct db;
/* The same through the caller's connection to <root>/state.db (one open less per command); db
 * must outlive the context. */
int net_ctx_open_shared(const char *root, const char *run_root, struct db *db, struct net_ctx **ret);
void net_ctx_free(struct net_ctx *ctx);
static inline void net_ctx_freep(struct net_ctx **c)
{
        net_ctx_free(*c);
}
#define _cleanup_net_ctx_ _cleanup_(net_ctx_freep)
/* The DNS responder executable (default: HULL_LIBEXECDIR "/hull-dns"). */
int net_ctx_set_dns_helper(struct net_ctx *ctx, const char *path);

/* ------------------------------------------------------------------ networks */

struct net_create_options {
        const char *name;
        const char *subnet;   /* NULL: a free /24 from 10.89.0.0/16 .. 10.99.255.0/24 */
        const char *gateway;  /* NULL: the subnet's first host address */
        const char *ip_range; /* NULL: the whole subnet */
        bool ipv6;
        const char *subnet6; /* NULL (with ipv6): a /64 of the node's random ULA /48 */
        const char *gateway6;
        const char *ip_range6;
        bool internal;
        char *const *opts;   /* "mtu=N", "bridge=NAME", "dns=true|false" */
        char *const *egress; /* policy.h rules */
        char *const *ingress;
};

/* Create a network: bridge, addresses, rules. ret_inspect (may be NULL) receives its inspect
 * document. -EEXIST for a taken name, -EINVAL for bad options or overlapping subnets. */
int net_network_create(struct net_ctx *ctx, const struct net_create_options *o,
                       struct json_object **ret_inspect);
/* Create the default network ("hull", 10.88.0.0/16, no DNS responder) unless it exists. */
int net_network_ensure_default(struct net_ctx *ctx);
/* Remove a network. -EBUSY while endpoints are attached, unless force (they are detached). */
int net_network_remove(struct net_ctx *ctx, const char *name, bool force);
/* The inspect document of one network (name or id prefix): settings, policy, endpoints, DNS. */
int net_network_inspect(struct net_ctx *ctx, const char *name, struct json_object **ret);
/* A JSON array with one summary per network. */
int net_network_list(struct net_ctx *ctx, struct json_object **ret);
/* Reclaim stale state, then remove every user network without endpoints. ret_removed (may be
 * NULL) lists the removed networks' names. */
int net_network_prune(struct net_ctx *ctx, char ***ret_removed);
/* Replace a network's egress/ingress lists (NULL: leave as is), atomically in nftables. */
int net_network_set_policy(struct net_ctx *ctx, const char *name, char *const *egress, char *const *ingress);
/* Roll back interrupted operations and detach endpoints whose namespace or owner is gone.
 * Returns the number of endpoints reclaimed. */
int net_reclaim(struct net_ctx *ctx);

/* ------------------------------------------------------------------ endpoints */

enum net_endpoint_kind {
        NET_ENDPOINT_VETH, /* a container: veth pair into its network namespace */
        NET_ENDPOINT_TAP,  /* a VM: persistent tap on the bridge, opened by hull-vmm */
        _NET_ENDPOINT_KIND_MAX,
        _NET_ENDPOINT_KIND_INVALID = -EINVAL,
};

struct net_attach_options {
        const char *network;  /* NULL: the default network (created on first use) */
        const char *endpoint; /* the container / VM id: [A-Za-z0-9_.-], unique per network */
        enum net_endpoint_kind kind;
        /* veth: the namespace, as an fd (>= 0) or a pid / path for netns_open() */
        int netns_fd;
        const char *netns;
        pid_t owner_pid;    /* 0: none; when it dies the endpoint is stale */
        const char *ifname; /* veth: name inside the namespace (default eth0); tap: tap name */
        uid_t tap_uid;      /* tap owner (-1: root only) */
        gid_t tap_gid;
        const char *name;     /* DNS name and /etc/hosts alias */
        const char *hostname; /* /etc/hostname (default: name) */
        const char *ip, *ip6, *mac;
        char *const *aliases;     /* --network-alias */
        char *const *dns;         /* --dns: upstream servers for this endpoint */
        char *const *dns_search;  /* --dns-search */
        char *const *dns_options; /* --dns-option */
        char *const *add_hosts;   /* --add-host NAME:IP */
        char *const *publish;     /* -p specs */
        char *const *expose;      /* -P: exposed ports of the image ("80/tcp") */
        char *const *egress;
        char *const *ingress;
        const char *files_dir; /* write hosts, resolv.conf and hostname here (NULL: do not) */
};

struct net_published_port {
        char *host_ip; /* "" for every address */
        uint16_t host_port, container_port;
        char *protocol;
};

struct net_attachment {
        char *network, *endpoint;
        char *ifname;          /* in the namespace (veth) or the tap's name */
        char *host_ifname;     /* host side of the veth (== ifname for a tap) */
        char *mac;             /* the container's (or the guest's) MAC address */
        char *ipv4, *gateway4; /* "10.89.0.2/24", "10.89.0.1" */
        char *ipv6, *gateway6; /* NULL without IPv6 */
        uint32_t mtu;
        struct net_published_port *ports;
        size_t n_ports;
        char *hosts, *resolv_conf, *hostname;                /* file contents */
        char *hosts_path, *resolv_conf_path, *hostname_path; /* when files_dir was given */
        char *kernel_ip_arg; /* tap: "ip=..." for a Linux guest's command line */
};

/* Attach an endpoint. All or nothing. ret receives what the engine mounts and reports. */
int net_attach(struct net_ctx *ctx, const struct net_attach_options *o, struct net_attachment **ret);
/* Detach and forget an endpoint; -ENOENT when it is not attached. */
int net_detach(struct net_ctx *ctx, const char *network, const char *endpoint);
/* Detach an endpoint from every network it is on (its container is gone). Returns the count. */
int net_detach_all(struct net_ctx *ctx, const char *endpoint);
/* Replace an endpoint's egress/ingress lists (NULL: leave as is). */
int net_endpoint_set_policy(struct net_ctx *ctx, const char *network, const char *endpoint,
                            char *const *egress, char *const *ingress);
void net_attachment_free(struct net_attachment *a);
static inline void net_attachment_freep(struct net_attachment **a)
{
        net_attachment_free(*a);
}
#define _cleanup_net_attachment_ _cleanup_(net_attachment_freep)
struct json_object *net_attachment_to_json(const struct net_attachment *a);

/* ------------------------------------------------------------------ modes without a network */

enum net_mode {
        NET_MODE_BRIDGE,    /* a hull network (the default one, or NAME) */
        NET_MODE_NONE,      /* own namespace, loopback only */
        NET_MODE_HOST,      /* the host's namespace */
        NET_MODE_CONTAINER, /* another container's namespace */
        _NET_MODE_MAX,
        _NET_MODE_INVALID = -EINVAL,
};

/* Parse --network: "none", "host", "container:ID", "bridge" (the default network) or a network
 * name. ret_arg receives the network name or the container id (malloc'd). */
int net_mode_parse(const char *s, enum net_mode *ret_mode, char **ret_arg);

/* hosts / resolv.conf / hostname for the none and host modes (the host's resolvers). */
int net_files_standalone(enum net_mode mode, const char *hostname, char *const *add_hosts, char *const *dns,
                         char *const *dns_search, char *const *dns_options, const char *files_dir,
                         struct net_attachment **ret);
