/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nft.h - hull's nftables rules: one table "inet hull", changed in atomic transactions.
 *
 * Every hull rule lives in table inet hull; no other table is read or written. The fixed part
 * (sets, maps and base chains, nft_gen_base) dispatches through verdict maps to chains owned by
 * one network ("n-<netid>-*") or one endpoint ("e-<eid>-*"), so that adding or removing a
 * network or an endpoint adds or deletes exactly its own chains and map elements, in one
 * transaction, without listing the ruleset (the cost of an attach does not grow with the number
 * of containers) and without touching anything it does not own. docs/networking.md draws the
 * layout; in short:
 *
 *   nat_pre   prerouting, dstnat  drop 127.0.0.0/8 arriving on a hull bridge (CVE-2020-8558:
 *                                 bridges have route_localnet=1 for loopback-published ports);
 *                                 published ports: maps pub4/pub6 (host addr . proto . port ->
 *   nat_out   output, dstnat        container addr . port) and pub4any/pub6any (proto . port ->
 *                                   ...) for bindings to every address; local destinations only
 *   nat_post  postrouting, srcnat masquerade: outbound per subnet (map snat4/snat6 -> n-*-post),
 *                                 hairpin and loopback-originated connections to published ports
 *   forward   forward, filter     established first; then per bridge (maps from_net/to_net):
 *                                 isolation between networks, no outside access for internal
 *                                 networks, no unpublished access from outside; then policies:
 *                                 per endpoint address (eg4/eg6, in4/in6) and per network
 *                                 (neg/nin by bridge)
 *   input     input, filter       containers -> host: DNS to the gateway, internal networks
 *                                 stop here, egress policies
 *   output    output, filter      host -> containers: ingress policies
 *
 * And one table "bridge hull" for what only the bridge family sees, the bridge port a frame
 * comes in through: policies key on addresses, so a container with CAP_NET_RAW must not be
 * able to borrow another one's. Its chain "ports" (prerouting, before br_netfilter) drops, on
 * ports of hull endpoints, frames whose source MAC, IPv4 (also ARP's sender address) or IPv6
 * address (link-local and "::" aside) is not the endpoint's, and every ethertype but IPv4, ARP
 * and IPv6 (no VLAN tags, no STP). Endpoints are set elements (port . address), not chains:
 * libnftables lists every chain of a table before each transaction, so per-endpoint chains
 * would make each attach cost grow with the number of containers (measured: 300 more chains,
 * +0.8 ms per transaction).
 *
 * Generators write nft commands (one per line) to a FILE; nft_run() applies a buffer as one
 * transaction. Deletions are generated one object per line so that nft_run_lenient() can
 * retry them one by one when the atomic attempt fails on an object that is already gone (after
 * a reboot, a crash, or a device that left with its namespace).
 */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

#include "cidr.h"
#include "macro.h"
#include "policy.h"
#include "ports.h"

#define NFT_TABLE        "inet hull"
#define NFT_BRIDGE_TABLE "bridge hull"

struct nft;

int nft_open(struct nft **ret);
void nft_close(struct nft *n);
static inline void nft_closep(struct nft **n)
{
        nft_close(*n);
}
#define _cleanup_nft_ _cleanup_(nft_closep)

/* Apply cmds as one transaction. On failure -errno (from the kernel's message) and
 * err_set("nftables: <reason>: <command>"). */
int nft_run(struct nft *n, const char *cmds);
/* nft_run(); when that fails, each line on its own, ignoring objects that do not exist. */
int nft_run_lenient(struct nft *n, const char *cmds);
/* "list table <table>" in JSON (NFT_TABLE or NFT_BRIDGE_TABLE); -ENOENT when it does not exist. */
int nft_list_table(struct nft *n, const char *table, struct json_object **ret);
/* Apply a JSON command document ({"nftables": [...]}, libnftables-json(5)) as one transaction;
 * when that fails, each command on its own, ignoring objects that do not exist. */
int nft_run_json_lenient(struct nft *n, struct json_object *doc);
/* Delete hull's tables (the last network is gone); 0 when they did not exist. */
int nft_delete_table(struct nft *n);

struct nft_network {
        const char *id; /* short id: chain names n-<id>-... */
        const char *bridge;
        bool internal;
        bool dns; /* the DNS responder listens on the gateways */
        const struct cidr *subnet4, *subnet6;
        const struct ipaddr *gateway4, *gateway6;
        const struct policy *egress, *ingress;
};

struct nft_endpoint {
        const char *id;          /* eid: chain names e-<id>-... */
        const char *host_ifname; /* the bridge port the endpoint's frames enter through */
        const uint8_t *mac;      /* its MAC address (NULL: no port guard) */
        const struct ipaddr *ip4, *ip6;
        const struct port_map *ports;
        size_t n_ports;
        const struct policy *egress, *ingress;
};

void nft_gen_base(FILE *f);
void nft_gen_network_add(FILE *f, const struct nft_network *net);
void nft_gen_network_del(FILE *f, const struct nft_network *net);
/* Replace the network's policy chains' rules (flush + add, in the caller's transaction). */
void nft_gen_network_policy(FILE *f, const struct nft_network *net);
void nft_gen_endpoint_add(FILE *f, const struct nft_endpoint *ep);
void nft_gen_endpoint_del(FILE *f, const struct nft_endpoint *ep);
/* Whether published port p applies to family: its host address's, or, bound to every host
 * address, each family the endpoint has an address of. */
bool nft_port_in_family(const struct port_map *p, int family, const struct nft_endpoint *ep);

/* nft-elem.c: add (or delete, missing ones ignored) an endpoint's set elements -- port guard,
 * published ports -- in one transaction without libnftables; -EOPNOTSUPP for an endpoint with
 * policies of its own (chains: nft_gen_endpoint_add/del through nft_run()). */
int nft_endpoint_elems(struct nft *n, const struct nft_endpoint *ep, bool add);
struct mnl_socket;
/* The nfnetlink socket of nft-elem.c (opened once; marks n as changed). */
int nft_elem_socket(struct nft *n, struct mnl_socket **ret);
