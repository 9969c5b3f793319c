/* SPDX-License-Identifier: Apache-2.0 */
/* test-db.c - the SQLite wrapper: settings, migrations per module, binding, errors. */
#include "db.h"
#include "error.h"
#include "util.h"
#include "test.h"

static const struct db_migration steps[] = {
        { "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);" },
        { "ALTER TABLE t ADD COLUMN extra TEXT;" },
};

TEST(migrate_and_query)
{
        char dir[] = "/tmp/hull-test-db-XXXXXX", path[64];
        _cleanup_db_ struct db *db = NULL;
        _cleanup_free_ char *s = NULL;
        int64_t v = 0;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/state.db", dir);
        ASSERT_OK(db_open(path, &db));
        ASSERT_EQ(db_schema_version(db, "mod"), 0);
        ASSERT_OK(db_migrate(db, "mod", steps, 1));
        ASSERT_EQ(db_schema_version(db, "mod"), 1);
        ASSERT_OK(db_migrate(db, "mod", steps, 2));
        ASSERT_OK(db_migrate(db, "mod", steps, 2));
        ASSERT_EQ(db_schema_version(db, "mod"), 2);
        ASSERT_EQ(db_run(db, "INSERT INTO t(k, v, extra) VALUES(?, ?, ?)", "sis", "a", (int64_t)42, NULL), 1);
        ASSERT_EQ(db_query_int(db, &v, "SELECT v FROM t WHERE k = ?", "s", "a"), 1);
        ASSERT_EQ(v, 42);
        ASSERT_EQ(db_query_str(db, &s, "SELECT k FROM t WHERE v = ?", "i", (int64_t)42), 1);
        ASSERT_STREQ(s, "a");
        ASSERT_EQ(db_query_int(db, &v, "SELECT v FROM t WHERE k = ?", "s", "none"), 0);
        err_clear();
        ASSERT_ERR(db_run(db, "INSERT INTO t(k, v) VALUES(?, ?)", "si", "a", (int64_t)1), -EEXIST);
        ASSERT_CONTAINS(err_msg(-EEXIST), "database: UNIQUE constraint failed");
        /* A schema newer than the code is refused, not downgraded. */
        err_clear();
        ASSERT_ERR(db_migrate(db, "mod", steps, 1), -EPROTO);
        {
                _cleanup_free_ char *mode = NULL;
                ASSERT_EQ(db_query_str(db, &mode, "PRAGMA journal_mode", ""), 1);
                ASSERT_STREQ(mode, "wal");
        }
        rm_rf(dir);
}

TEST(transactions)
{
        char dir[] = "/tmp/hull-test-db-XXXXXX", path[64];
        _cleanup_db_ struct db *db = NULL;
        int64_t n = -1;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/state.db", dir);
        ASSERT_OK(db_open(path, &db));
        ASSERT_OK(db_migrate(db, "mod", steps, 2));
        ASSERT_OK(db_begin(db));
        ASSERT_EQ(db_begin(db), -EBUSY);
        ASSERT_OK(db_run(db, "INSERT INTO t(k, v) VALUES('x', 1)", ""));
        db_rollback(db);
        ASSERT_EQ(db_query_int(db, &n, "SELECT COUNT(*) FROM t", ""), 1);
        ASSERT_EQ(n, 0);
        ASSERT_OK(db_begin(db));
        ASSERT_OK(db_run(db, "INSERT INTO t(k, v) VALUES('x', 1)", ""));
        ASSERT_OK(db_commit(db));
        ASSERT_EQ(db_query_int(db, &n, "SELECT COUNT(*) FROM t", ""), 1);
        ASSERT_EQ(n, 1);
        rm_rf(dir);
}
