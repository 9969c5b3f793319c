/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db.h - the node's state database: a thin layer over SQLite.
 *
 * One database per node (<root>/state.db) holds the state of every module
 * (images now, containers, volumes and networks later). db_open() sets the
 * connection up the same way for all of them: WAL journal (readers never block
 * the writer, and a process killed with SIGKILL leaves a consistent database),
 * a busy timeout (several hull processes share the file), foreign keys on.
 *
 * Each module owns its tables and a schema version in the shared table
 * schema_versions(module, version); db_migrate() runs the module's missing
 * steps in one transaction, so that modules evolve independently.
 *
 * Errors: SQLite result codes become -errno (-EBUSY, -EEXIST for constraint
 * violations, -ENOSPC, -ENOMEM, otherwise -EIO) and SQLite's message is
 * recorded with err_set() as "database: <message>".
 *
 * A struct db belongs to one thread at a time.
 */
#pragma once

#include <sqlite3.h>
#include <stdint.h>

#include "macro.h"

struct db;

/* One schema step of a module: SQL run as a script, in order, inside the migration transaction. */
struct db_migration {
        const char *sql;
};

/* Open (creating when missing) the database at path with hull's settings. */
int db_open(const char *path, struct db **ret);
void db_close(struct db *db);
static inline void db_closep(struct db **db)
{
        db_close(*db);
}
#define _cleanup_db_ _cleanup_(db_closep)

sqlite3 *db_handle(struct db *db);

/* Bring module's schema to version n_steps by running steps[current..n_steps-1]. */
int db_migrate(struct db *db, const char *module, const struct db_migration *steps, size_t n_steps);
/* The module's schema version (0 when it has no tables yet). */
int db_schema_version(struct db *db, const char *module);

/* Run one or more statements without results. */
int db_exec(struct db *db, const char *sql);

/*
 * Transactions. db_begin() takes the write lock at once (BEGIN IMMEDIATE), so that two
 * writers queue on the busy timeout instead of failing when one upgrades a read lock.
 * Nesting is not supported.
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
/* Safe to call when no transaction is open. */
void db_rollback(struct db *db);

/*
 * Prepare sql and bind the arguments described by types, one character per
 * argument: 's' const char * (NULL binds NULL), 'i' int64_t, 'b' const void * then
 * size_t (a blob). Returns 0 and the statement, to be stepped with db_step().
 */
int db_prepare(struct db *db, sqlite3_stmt **ret, const char *sql, const char *types, ...);
/* Step: 1 when a row is available, 0 when done, -errno on failure. */
int db_step(struct db *db, sqlite3_stmt *st);
/* Prepare, bind, step to completion. Returns the number of rows changed. */
int db_run(struct db *db, const char *sql, const char *types, ...);
/* Prepare, bind, step once: 1 and the first column as int64 or a malloc'd string, 0 when no row. */
int db_query_int(struct db *db, int64_t *ret, const char *sql, const char *types, ...);
int db_query_str(struct db *db, char **ret, const char *sql, const char *types, ...);

/* Column helpers that never return NULL for a string column. */
const char *db_column_str(sqlite3_stmt *st, int col);

static inline void db_finalizep(sqlite3_stmt **st)
{
        if (*st)
                sqlite3_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(db_finalizep)
