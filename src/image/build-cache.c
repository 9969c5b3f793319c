/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-cache.c - cache keys of build steps and the build_cache table.
 *
 * A key is the sha256 of a sequence of fields, each written as its length
 * (8 bytes, little endian) then its bytes, so that no two different field
 * lists hash the same stream ("ab","c" and "a","bc" differ). The first field is
 * BUILD_CACHE_VERSION, the second the previous step's key (or the base image id
 * for a FROM), then the step's own inputs (build.c and copy_hash() decide which).
 *
 * Table (module "build" of the node's state database):
 *     build_cache(key, image_id, config, created)
 * image_id is the untagged image that holds the layers after the step (NULL
 * when the stage has none yet, FROM scratch); config is the image config text
 * after the step, byte for byte, so that a fully cached build commits the very
 * same config and therefore the same image id. A row whose image was removed
 * (`hull rmi`, `hull image prune`) is a miss and is deleted when seen.
 */
#include <stdint.h>
#include <time.h>

#include "build-internal.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "util.h"

static const struct db_migration build_schema[] = {
        {"CREATE TABLE build_cache ("
         "  key TEXT PRIMARY KEY,"
         "  image_id TEXT,"
         "  config TEXT NOT NULL,"
         "  created INTEGER NOT NULL);"},
};

static void add_raw(struct build_key *k, const void *p, uint64_t n)
{
        unsigned char len[8];
        for (int i = 0; i < 8; i++)
                len[i] = (unsigned char)(n >> (8 * i));
        sha256_update(k->ctx, len, sizeof(len));
        if (p && n != UINT64_MAX)
                sha256_update(k->ctx, p, (size_t)n);
}

int build_key_begin(struct build_key *k, const char *prev, const char *what)
{
        k->ctx = sha256_new();
        if (!k->ctx)
                return -ENOMEM;
        build_key_add(k, BUILD_CACHE_VERSION);
        build_key_add(k, prev);
        build_key_add(k, what);
        return 0;
}

void build_key_add(struct build_key *k, const char *s)
{
        /* NULL and "" are different inputs (an unset USER is not USER ""). */
        add_raw(k, s, s ? strlen(s) : UINT64_MAX);
}

void build_key_add_strv(struct build_key *k, char *const *l)
{
        build_key_add_u64(k, l ? strv_length(l) : UINT64_MAX);
        for (size_t i = 0; l && l[i]; i++)
                build_key_add(k, l[i]);
}

void build_key_add_u64(struct build_key *k, uint64_t v)
{
        char buf[24];
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        build_key_add(k, buf);
}

void build_key_finish(struct build_key *k, char ret[SHA256_HEX_LEN + 1])
{
        sha256_final_hex(k->ctx, ret);
        k->ctx = NULL;
}

void build_key_abort(struct build_key *k)
{
        sha256_free(k->ctx);
        k->ctx = NULL;
}

int build_cache_init(struct image_store *s)
{
        return db_migrate(image_store_db(s), "build", build_schema, ELEMENTSOF(build_schema));
}

int build_cache_get(struct image_store *s, const char *key, char **ret_image_id, char **ret_config)
{
        struct db *db = image_store_db(s);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *image_id = NULL, *config = NULL;
        int r;

        r = db_prepare(db, &st, "SELECT image_id, config FROM build_cache WHERE key = ?", "s", key);
        if (r < 0)
                return r;
        r = db_step(db, st);
        if (r <= 0)
                return r;
        if (sqlite3_column_type(st, 0) != SQLITE_NULL && !(image_id = strdup(db_column_str(st, 0))))
                return -ENOMEM;
        config = strdup(db_column_str(st, 1));
        if (!config)
                return -ENOMEM;
        if (image_id && !store_image_exists(s, image_id)) {
                log_debug("build: cache entry %.12s: image %s is gone", key, image_id);
                sqlite3_finalize(TAKE_PTR(st));
                r = db_run(db, "DELETE FROM build_cache WHERE key = ?", "s", key);
                return r < 0 ? r : 0;
        }
        *ret_image_id = TAKE_PTR(image_id);
        *ret_config = TAKE_PTR(config);
        return 1;
}

int build_cache_put(struct image_store *s, const char *key, const char *image_id, const char *config)
{
        int r = db_run(
                image_store_db(s),
                "INSERT OR REPLACE INTO build_cache(key, image_id, config, created) VALUES(?, ?, ?, ?)",
                "sssi", key, image_id, config, (int64_t)time(NULL));
        return r < 0 ? r : 0;
}

int build_cache_holds(struct image_store *s, const char *image_id)
{
        struct db *db = image_store_db(s);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = build_cache_init(s);

        if (r < 0)
                return r;
        r = db_prepare(db, &st, "SELECT 1 FROM build_cache WHERE image_id = ? LIMIT 1", "s", image_id);
        if (r < 0)
                return r;
        return db_step(db, st);
}
