/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db.c - SQLite connection setup, per-module migrations, prepared statements;
 * see db.h for the contract.
 *
 * Why these pragmas: WAL lets `hull images` read while a pull commits, and a
 * writer killed in the middle of a transaction leaves the WAL tail ignored at
 * the next open (SQLite file format, "WAL mode" recovery). synchronous=NORMAL
 * in WAL mode loses at most the last commits on power loss, never consistency.
 *
 * Why no checkpoint at close: hull processes live for one command, and SQLite's
 * checkpoint when the last connection closes (an fdatasync of the WAL and one of
 * the database: 3 ms each on this machine's disk) would be paid by nearly every
 * command, for every database it opened. The writer that passes
 * wal_autocheckpoint checkpoints instead. That threshold is kept low because
 * every process is the first to open the database and rebuilds the WAL index by
 * reading (and checksumming) the whole WAL: 128 pages bound that to 512 KiB.
 * Pages are read through mmap: a fresh process otherwise preads each one.
 */
#include <stdarg.h>

#include "db.h"
#include "error.h"
#include "util.h"

#define DB_BUSY_TIMEOUT_MS 30000

struct db {
        sqlite3 *h;
        bool in_txn;
};

static int db_errno(int rc)
{
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        default:
                return -EIO;
        }
}

static int db_fail(struct db *db, int rc)
{
        return err_set(db_errno(rc) ?: -EIO, "database: %s", db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
}

int db_open(const char *path, struct db **ret)
{
        _cleanup_db_ struct db *db = calloc(1, sizeof(*db));
        int rc;

        if (!db)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &db->h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                     SQLITE_OPEN_EXRESCODE,
                             NULL);
        if (rc != SQLITE_OK)
                return err_set(db_errno(rc) ?: -EIO, "database '%s': %s", path,
                               db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
        sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        sqlite3_wal_autocheckpoint(db->h, 128);
        rc = db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                         "PRAGMA mmap_size=16777216;"
                         "CREATE TABLE IF NOT EXISTS schema_versions ("
                         "  module TEXT PRIMARY KEY, version INTEGER NOT NULL);");
        if (rc < 0)
                return err_prefix(rc, "database '%s'", path);
        *ret = TAKE_PTR(db);
        return 0;
}

void db_close(struct db *db)
{
        if (!db)
                return;
        if (db->in_txn)
                db_rollback(db);
        sqlite3_close_v2(db->h);
        free(db);
}

sqlite3 *db_handle(struct db *db)
{
        return db->h;
}

int db_exec(struct db *db, const char *sql)
{
        int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : db_fail(db, rc);
}

int db_begin(struct db *db)
{
        int r;

        if (db->in_txn)
                return -EBUSY;
        r = db_exec(db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        db->in_txn = true;
        return 0;
}

int db_commit(struct db *db)
{
        int r;

        if (!db->in_txn)
                return -EINVAL;
        r = db_exec(db, "COMMIT");
        if (r < 0) {
                db_rollback(db);
                return r;
        }
        db->in_txn = false;
        return 0;
}

void db_rollback(struct db *db)
{
        if (!db->in_txn)
                return;
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        db->in_txn = false;
}

static int bind_args(struct db *db, sqlite3_stmt *st, const char *types, va_list ap)
{
        int idx = 1, rc = SQLITE_OK;

        for (const char *t = types; t && *t; t++, idx++) {
                switch (*t) {
                case 's': {
                        const char *s = va_arg(ap, const char *);
                        rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
                        break;
                }
                case 'i':
                        rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
                        break;
                case 'b': {
                        const void *p = va_arg(ap, const void *);
                        size_t n = va_arg(ap, size_t);
                        rc = sqlite3_bind_blob64(st, idx, p, n, SQLITE_TRANSIENT);
                        break;
                }
                default:
                        return -EINVAL;
                }
                if (rc != SQLITE_OK)
                        return db_fail(db, rc);
        }
        return 0;
}

static int prepare_v(struct db *db, sqlite3_stmt **ret, const char *sql, const char *types, va_list ap)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return db_fail(db, rc);
        r = bind_args(db, st, types, ap);
        if (r < 0) {
                sqlite3_finalize(st);
                return r;
        }
        *ret = st;
        return 0;
}

int db_prepare(struct db *db, sqlite3_stmt **ret, const char *sql, const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = prepare_v(db, ret, sql, types, ap);
        va_end(ap);
        return r;
}

int db_step(struct db *db, sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return db_fail(db, rc);
}

int db_run(struct db *db, const char *sql, const char *types, ...)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = prepare_v(db, &st, sql, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        while ((r = db_step(db, st)) > 0)
                ;
        if (r < 0)
                return r;
        return sqlite3_changes(db->h);
}

/* Prepare, bind and step once: 1 with *ret_st on the row, 0 when there is none. */
static int query_one(struct db *db, sqlite3_stmt **ret_st, const char *sql, const char *types, va_list ap)
{
        int r = prepare_v(db, ret_st, sql, types, ap);
        if (r < 0)
                return r;
        return db_step(db, *ret_st);
}

int db_query_int(struct db *db, int64_t *ret, const char *sql, const char *types, ...)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = query_one(db, &st, sql, types, ap);
        va_end(ap);
        if (r <= 0)
                return r;
        *ret = sqlite3_column_int64(st, 0);
        return 1;
}

int db_query_str(struct db *db, char **ret, const char *sql, const char *types, ...)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        char *s;
        int r;

        va_start(ap, types);
        r = query_one(db, &st, sql, types, ap);
        va_end(ap);
        if (r <= 0)
                return r;
        s = strdup(db_column_str(st, 0));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 1;
}

const char *db_column_str(sqlite3_stmt *st, int col)
{
        const unsigned char *s = sqlite3_column_text(st, col);
        return s ? (const char *)s : "";
}

int db_schema_version(struct db *db, const char *module)
{
        int64_t v = 0;
        int r = db_query_int(db, &v, "SELECT version FROM schema_versions WHERE module = ?", "s", module);
        if (r < 0)
                return r;
        return (int)v;
}

int db_migrate(struct db *db, const char *module, const struct db_migration *steps, size_t n_steps)
{
        int64_t v = 0;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        /* Read the version inside the write transaction: two processes may migrate at once. */
        r = db_query_int(db, &v, "SELECT version FROM schema_versions WHERE module = ?", "s", module);
        if (r < 0)
                goto fail;
        if (v > (int64_t)n_steps) {
                r = err_set(-EPROTO, "database: schema of '%s' is version %lld, newer than this hull knows (%zu)",
                            module, (long long)v, n_steps);
                goto fail;
        }
        for (size_t i = (size_t)v; i < n_steps; i++) {
                r = db_exec(db, steps[i].sql);
                if (r < 0) {
                        err_prefix(r, "migrating '%s' to version %zu", module, i + 1);
                        goto fail;
                }
        }
        if ((size_t)v < n_steps) {
                r = db_run(db, "INSERT OR REPLACE INTO schema_versions(module, version) VALUES(?, ?)", "si",
                           module, (int64_t)n_steps);
                if (r < 0)
                        goto fail;
        }
        return db_commit(db);
fail:
        db_rollback(db);
        return r;
}
