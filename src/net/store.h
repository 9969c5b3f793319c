/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the network library's persistent state: keyed rows in SQLite (src/lib/db.h),
 * and the files of the DNS responders.
 *
 * Rows are (table, key, value) in one table net_rows of two databases:
 *
 *     <root>/state.db      the node's database (shared with the other modules; module "net"):
 *                          "networks" (name -> JSON record), "node" (ula48)
 *     <run>/net/run.db     runtime state (module "net-run"): "endpoints/<netid>" (endpoint ->
 *                          JSON record), "leases/<netid>" (address -> owner eid), "ports"
 *                          ("<proto>-<port>" -> bindings), "cursors" (next-fit positions),
 *                          "sysctl" (values hull changed, before the change)
 *
 * Network definitions persist; the runtime rows describe kernel objects that a reboot takes away
 * (links, namespaces, rules), so they live with them in <run>, normally a tmpfs (/run/hull): a
 * reboot clears both together, and the attach path writes at tmpfs cost. (On this machine's
 * loaded ext4, a file create+rename cost 0.2-1 ms, the largest part of an attach when runtime
 * rows were files on disk.)
 *
 * Files: the DNS responder of a network reads its name table from a file, and its liveness is a
 * lock on a pid file, both in <run>/net/dns/<netid>/ (dns.h). store_file_*() write such files
 * atomically (a dot-file, then rename(2)), mode 0644 and directories 0755 whatever the umask,
 * since the responder runs as nobody.
 *
 * Concurrency: every change is made while holding the store lock (flock(2) on <root>/net/lock,
 * LOCK_EX), so parallel hull processes serialize their read-modify-write sequences; the kernel
 * drops the lock of a process killed with SIGKILL, and SQLite's WAL makes every statement atomic
 * (a killed writer's partial transaction is ignored at the next open). Readers without the lock
 * (inspect, ls) see whole rows. store_create() is an INSERT, so an IPAM lease is claimed once
 * even by a caller that forgot the lock.
 *
 * Keys are [A-Za-z0-9_.:-], 1-200 characters, not starting with '.'.
 */
#pragma once

#include <json-c/json.h>

#include "macro.h"

struct store;

struct db;
/* Open (creating) the databases and <root>/net, <run_root>/net (run_root NULL: root). With db,
 * that connection to <root>/state.db is used (and stays the caller's) instead of a new one. */
int store_open(const char *root, const char *run_root, struct db *db, struct store **ret);
void store_free(struct store *s);
static inline void store_freep(struct store **s)
{
        store_free(*s);
}
#define _cleanup_store_ _cleanup_(store_freep)

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
/* Every key of a table, sorted; an empty list for an empty table. */
int store_keys(struct store *s, const char *table, char ***ret);
/* The tables "<prefix>/<x>" that have rows: every x, sorted. */
int store_tables(struct store *s, const char *prefix, char ***ret);

/* One transaction on the runtime database (where every row an attach or a detach writes lives):
 * its rows commit together or not at all. Not nested. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

int store_read_json(struct store *s, const char *table, const char *key, struct json_object **ret);
int store_write_json(struct store *s, const char *table, const char *key, struct json_object *o);

/* Files under <run_root>/net: dir is relative ("dns/<netid>"). */
int store_file_read(struct store *s, const char *dir, const char *name, char **ret);
int store_file_write(struct store *s, const char *dir, const char *name, const char *data);
int store_file_remove(struct store *s, const char *dir, const char *name);
/* Open a file of such a directory (flags of openat(2); O_CLOEXEC and O_NOFOLLOW are added). */
int store_file_open(struct store *s, const char *dir, const char *name, int flags);
/* Create dir (0755) and return its absolute path. */
int store_dir_make(struct store *s, const char *dir, char **ret_path);
/* The entries of dir that are not temporary files (no leading '.'), sorted; empty when missing. */
int store_dir_list(struct store *s, const char *dir, char ***ret);
/* Remove dir: temporary files of killed writers first; -ENOTEMPTY when real files are left. */
int store_dir_remove(struct store *s, const char *dir);
