/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam.h - address allocation for a network: one pool per family.
 *
 * A pool is a subnet, the range that dynamic allocation draws from (--ip-range, the whole
 * subnet by default) and the gateway. Never handed out: the gateway, the subnet's first address
 * (the IPv4 network address, the IPv6 subnet-router anycast address, RFC 4291 §2.6.1) and, for
 * IPv4, the broadcast address. An explicit address (--ip) may lie anywhere in the subnet.
 *
 * Leases are rows of the store table "leases/<network id>" keyed by the address, written with
 * O_EXCL (store_create), so an address is never given twice even by callers racing outside the
 * store lock. Dynamic allocation is next-fit: it starts after the last address it handed out
 * (a cursor row), so that an address just released is not reused at once while peers may still
 * hold its old MAC in their neighbour caches.
 *
 * A lease row holds its owner (the endpoint key); ipam_release() only removes a lease whose
 * owner matches, so a late cleanup of an old endpoint cannot free a newer endpoint's address.
 */
#pragma once

#include "cidr.h"
#include "store.h"

struct ipam_pool {
        struct cidr subnet;
        struct cidr range;
        struct ipaddr gateway;
};

/* Check a pool: range inside subnet, gateway inside subnet and not a reserved address,
 * at least one address to hand out. what names the network in messages. */
int ipam_pool_check(const struct ipam_pool *p, const char *what);

/* True when a is one of the pool's reserved addresses (network, broadcast, gateway). */
bool ipam_reserved(const struct ipam_pool *p, const struct ipaddr *a);

/* Lease an address to owner: want (when set) or the next free one. -EADDRINUSE for a taken
 * want, -ENOSPC when the range is full, with a message naming network. */
int ipam_allocate(struct store *s, const char *netid, const char *network, const struct ipam_pool *p,
                  const struct ipaddr *want, const char *owner, struct ipaddr *ret);
/* Release a lease held by owner (NULL: whoever holds it). -ENOENT when not leased, -EPERM when
 * another owner holds it. */
int ipam_release(struct store *s, const char *netid, const struct ipaddr *a, const char *owner);
/* The owner of an address, or -ENOENT. */
int ipam_owner(struct store *s, const char *netid, const struct ipaddr *a, char **ret);
/* Every leased address of a network (as strings), sorted. */
int ipam_list(struct store *s, const char *netid, char ***ret);
/* Forget every lease and cursor of a network (network removal). */
int ipam_drop(struct store *s, const char *netid);
