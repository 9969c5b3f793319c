/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the network library's persistent state: small tables of keyed rows on disk.
 *
 * hull keeps one state database per node (SQLite, src/lib/db.c, once it is on main). Until
 * then the network state lives in directories in the same shape, so that moving it into
 * SQLite is a change of this file only:
 *
 *     table directory       row file      SQLite equivalent
 *     networks/             <name>        networks(name PRIMARY KEY, doc JSON)
 *     node/                 ula48         node(key, value)
 *   runtime:
 *     endpoints/<netid>/    <endpoint>    endpoints(network, endpoint, doc JSON)
 *     leases/<netid>/       <address>     leases(network, address PRIMARY KEY, owner)
 *     ports/                <proto>-<n>   ports(proto, port, host_ip, owner)
 *     cursors/              <netid>-<f>   networks.next_v4 / next_v6
 *     sysctl/               <key>         what hull changed in the kernel, and the old value
 *     dns/<netid>/          names, pid    (the responder's files; not rows)
 *
 * Network definitions persist (<state>/net); the runtime tables describe kernel objects that a
 * reboot takes away (links, namespaces, rules), so they live with them in <run>/net, normally
 * on tmpfs (/run): a reboot clears both together, and rows are written at tmpfs cost (on this
 * machine's loaded ext4 a create+rename costs 0.2-1 ms, the largest part of an attach). In
 * SQLite they would be a second database in /run attached to the first.
 *
 * Concurrency: every change is made while holding the store lock (flock(2) on <state>/net/lock,
 * LOCK_EX), so parallel hull processes serialize their read-modify-write sequences; the kernel
 * drops the lock of a process killed with SIGKILL. Rows are replaced atomically (write to a
 * dot-file, rename(2)), so readers without the lock (inspect, ls, the DNS responder) see either
 * the old or the new row, never a torn one. store_create() is O_EXCL, so that an IPAM lease is
 * claimed once even by a caller that forgot the lock.
 *
 * Keys are [A-Za-z0-9_.:-], 1-200 characters, not starting with '.'; files starting with '.' are
 * temporary and are skipped by store_keys() and removed by store_sweep().
 */
#pragma once

#include <json-c/json.h>

#include "macro.h"

struct store;

/* Open (creating) <state_root>/net and <run_root>/net (run_root NULL: state_root). */
int store_open(const char *state_root, const char *run_root, struct store **ret);
void store_free(struct store *s);
static inline void store_freep(struct store **s)
{
        store_free(*s);
}
#define _cleanup_store_ _cleanup_(store_freep)

/* <run_root>/net (runtime tables and the responder's files), and an fd to it (borrowed). */
const char *store_run_path(struct store *s);
int store_run_fd(struct store *s);

/* Take / drop the store lock (blocking). Nested store_lock() calls only count. */
int store_lock(struct store *s);
void store_unlock(struct store *s);
/* The path of the lock file (the DNS responder takes it before it exits on its own). */
const char *store_lock_path(struct store *s);

bool store_key_valid(const char *key);

/* Row access. Reads return -ENOENT for a missing row. */
int store_read(struct store *s, const char *table, const char *key, char **ret);
int store_write(struct store *s, const char *table, const char *key, const char *data);
/* Create a row that must not exist yet: -EEXIST otherwise. */
int store_create(struct store *s, const char *table, const char *key, const char *data);
/* Remove a row; -ENOENT when it does not exist. */
int store_remove(struct store *s, const char *table, const char *key);
/* Every key of a table, sorted; an empty list for a missing table. */
int store_keys(struct store *s, const char *table, char ***ret);
/* Remove an empty table directory (rows left: -ENOTEMPTY), and leftover temporary files first. */
int store_drop_table(struct store *s, const char *table);
/* Remove temporary files left by a killed writer in a table. */
int store_sweep(struct store *s, const char *table);

int store_read_json(struct store *s, const char *table, const char *key, struct json_object **ret);
int store_write_json(struct store *s, const char *table, const char *key, struct json_object *o);

/* A directory below the store for files that are not rows (the DNS responder's); created. */
int store_subdir(struct store *s, const char *sub, char **ret_path);
