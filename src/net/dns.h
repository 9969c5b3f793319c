/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns.h - service discovery on a user network: the name table and its responder process.
 *
 * Each user network with DNS has one small responder process (hull-dns, dns-server.h), started
 * on demand by the first attach, bound to the network's gateway address(es) port 53 on the
 * bridge, in the host's network namespace. It answers A/AAAA/PTR for the names and aliases of
 * the network's endpoints and forwards every other question to the host's resolvers (or to an
 * endpoint's own --dns servers). docs/networking.md explains why a process per network.
 *
 * The name table is a text file, dns/<netid>/names, rewritten atomically by the library under
 * the store lock; the responder stats it before each answer and reloads it when it changed.
 * One line per endpoint:
 *
 *     <endpoint> <ipv4|-> <ipv6|-> <name>[,<alias>...]|- [<upstream>[,<upstream>...]]
 *
 * Liveness: the responder holds an exclusive flock on dns/<netid>/pid for its whole life, so
 * "running" is "that lock is taken" (no pid guessing). It exits on SIGTERM, and by itself after
 * its table has been empty for a while, taking the store lock first so that it never leaves
 * while an attach is registering a name.
 */
#pragma once

#include <stdio.h>

#include "cidr.h"
#include "store.h"

#define DNS_TABLE_MAX (4u << 20)

struct dns_record {
        char *endpoint;
        struct ipaddr ip4, ip6;
        char **names;
        char **upstreams;
};

struct dns_table {
        struct dns_record *records;
        size_t n;
};

void dns_table_done(struct dns_table *t);
/* Parse the table text; malformed lines are skipped (the file is ours, but a truncated copy
 * must not stop the responder). */
int dns_table_parse(const char *text, struct dns_table *ret);
/* Write one record as a table line. */
void dns_record_format(const struct dns_record *r, FILE *f);
/* Answers for a name: every address of family (AF_INET/AF_INET6) of the records that carry it.
 * Returns the number of records carrying the name (0: not ours), even when none has an address
 * of that family. */
size_t dns_table_lookup(const struct dns_table *t, const char *name, int family, struct ipaddr *out,
                        size_t max, size_t *ret_n);
/* The record with this address (PTR, and per-client upstreams), or NULL. */
const struct dns_record *dns_table_by_addr(const struct dns_table *t, const struct ipaddr *a);

/* Library side: add (replacing) / remove an endpoint's line in dns/<netid>/names. */
int dns_names_set(struct store *s, const char *netid, const struct dns_record *r);
int dns_names_remove(struct store *s, const char *netid, const char *endpoint);
/* Forget a network's names and directory (after dns_responder_stop). */
int dns_names_drop(struct store *s, const char *netid);

struct dns_responder_config {
        const char *helper; /* hull-dns executable */
        const char *netid;
        const char *network; /* for ps(1) and messages */
        const struct ipaddr *listen4, *listen6;
        bool forward; /* false on internal networks: no outside questions */
};

/* Start the responder unless it runs; waits until it listens (or reports why it cannot). */
int dns_responder_ensure(struct store *s, const struct dns_responder_config *c);
/* Stop it (SIGTERM, then SIGKILL after a second) and wait until it is gone. */
int dns_responder_stop(struct store *s, const char *netid);
/* > 0: its pid; 0: not running. */
int dns_responder_pid(struct store *s, const char *netid);
