/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-internal.h - what network.c (networks), endpoint.c (attach/detach) and reclaim.c (stale
 * state, prune) share: the context, and the in-memory forms of the network and endpoint
 * records of the store (store.h).
 *
 * A struct network / struct endpoint is a parsed copy of one row; the row is the truth, and
 * every change is written back while the caller holds the store lock.
 */
#pragma once

#include <json-c/json.h>

#include "cidr.h"
#include "ipam.h"
#include "netlink.h"
#include "netns.h"
#include "network.h"
#include "nft.h"
#include "policy.h"
#include "ports.h"
#include "store.h"

#define NETWORK_NAME_MAX 64
#define NET_ID_SHORT     12

struct net_ctx {
        struct store *store;
        struct nl *nl;   /* the host namespace's rtnetlink socket, opened on first use */
        struct nft *nft; /* opened on first use */
        char *dns_helper;
};

int ctx_nl(struct net_ctx *ctx, struct nl **ret);
int ctx_nft(struct net_ctx *ctx, struct nft **ret);

enum record_state {
        RECORD_CREATING, /* being made by the process in .creator; roll back if it died */
        RECORD_READY,
        _RECORD_STATE_MAX,
        _RECORD_STATE_INVALID = -EINVAL,
};

struct network {
        char *name;
        char *id; /* 64 hex */
        char short_id[NET_ID_SHORT + 1];
        char *bridge;
        char *created;
        uint8_t mac[6];
        uint32_t mtu;
        bool internal, dns, is_default, has6;
        struct ipam_pool pool4, pool6;
        struct policy egress, ingress;
        enum record_state state;
        struct proc_id creator;
        struct json_object *options; /* as given, for inspect */
        int bridge_ifindex;          /* set by network_ensure_up() */
};

void network_free(struct network *n);
static inline void network_freep(struct network **n)
{
        network_free(*n);
}
#define _cleanup_network_ _cleanup_(network_freep)

/* Load by exact name, else by id or unique id prefix (>= 3 characters). -ENOENT with
 * "network 'x' not found". */
int network_load(struct net_ctx *ctx, const char *name, struct network **ret);
int network_save(struct net_ctx *ctx, const struct network *n);
void network_nft_view(const struct network *n, struct nft_network *ret);
/* Make the kernel state of a network match its record (bridge, addresses, sysctls, rules),
 * idempotently; cheap when the bridge exists and the record is ready. */
int network_ensure_up(struct net_ctx *ctx, struct network *n);
/* Tear a network down (responder, rules, bridge, leases, record). */
int network_teardown(struct net_ctx *ctx, struct network *n);
/* Every network name, sorted. */
int network_names(struct net_ctx *ctx, char ***ret);
/* The store table of a network's endpoints ("endpoints/<id>"). */
void network_endpoint_table(const struct network *n, char buf[static 128]);

struct endpoint {
        char *key; /* the caller's endpoint id */
        char eid[NET_ID_SHORT + 1];
        enum net_endpoint_kind kind;
        enum record_state state;
        struct proc_id attacher, owner;
        char *name, *hostname;
        char **aliases, **dns;
        char *ifname, *host_ifname;
        uint8_t mac[6];
        struct ipaddr ip4, ip6;
        struct port_map *ports;
        size_t n_ports;
        struct policy egress, ingress;
        char *created;
};

void endpoint_free(struct endpoint *ep);
static inline void endpoint_freep(struct endpoint **ep)
{
        endpoint_free(*ep);
}
#define _cleanup_endpoint_ _cleanup_(endpoint_freep)
int endpoint_load(struct net_ctx *ctx, const struct network *n, const char *key, struct endpoint **ret);
int endpoint_save(struct net_ctx *ctx, const struct network *n, const struct endpoint *ep);
/* Every endpoint key of a network, sorted. */
int endpoint_keys(struct net_ctx *ctx, const struct network *n, char ***ret);
/* The port reservation owner of an endpoint: "<key>@<network>". */
char *endpoint_port_owner(const struct network *n, const char *key);
/* Undo everything an endpoint record says exists, then drop the record. Objects already gone
 * are fine; a failure to remove rules keeps the record (for the next reclaim). */
int endpoint_teardown(struct net_ctx *ctx, const struct network *n, struct endpoint *ep);
/* True when the endpoint's attach was interrupted, or its namespace or owner is gone. */
bool endpoint_stale(struct net_ctx *ctx, const struct endpoint *ep);
struct json_object *endpoint_to_json(const struct endpoint *ep);

/* Keep the message of the first failure across a cleanup that may record its own. */
#define KEEP_ERROR(r, cleanup)                                  \
        do {                                                    \
                char _msg[1024];                                \
                snprintf(_msg, sizeof(_msg), "%s", err_msg(r)); \
                cleanup;                                        \
                err_set(r, "%s", _msg);                         \
        } while (0)

/* JSON helpers of the records: a string member (NULL: JSON null), an array of strings. */
void json_add_str(struct json_object *o, const char *k, const char *v);
struct json_object *json_strv(char *const *l);
/* A process identity as {"pid", "start"} (NULL for none), and back (none when key is absent). */
struct json_object *proc_id_to_json(const struct proc_id *id);
void proc_id_from_json(struct json_object *o, const char *key, struct proc_id *ret);

/* ISO 8601 UTC time of now, malloc'd. */
char *now_iso8601(void);
/* 12 hex digits of sha256(a ":" b). */
void short_hash(const char *a, const char *b, char out[static NET_ID_SHORT + 1]);
