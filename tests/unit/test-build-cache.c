/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-build-cache.c - build cache keys (every input changes the key, field
 * boundaries and NULL are part of it, the key is stable) and the build_cache
 * table (a row whose image is gone is a miss and is dropped).
 */
#include <stdlib.h>

#include "build-internal.h"
#include "db.h"
#include "error.h"
#include "store.h"
#include "util.h"
#include "test.h"

static void key_of(const char *prev, const char *what, char *const *fields, char out[SHA256_HEX_LEN + 1])
{
        struct build_key k;
        if (build_key_begin(&k, prev, what) < 0)
                abort();
        for (size_t i = 0; fields && fields[i]; i++)
                build_key_add(&k, fields[i]);
        build_key_finish(&k, out);
}

TEST(key_is_stable_and_hex)
{
        char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
        char *f[] = {(char *)"echo hi", NULL};

        key_of("prev", "RUN", f, a);
        key_of("prev", "RUN", f, b);
        ASSERT_STREQ(a, b);
        ASSERT_EQ(strlen(a), 64);
        ASSERT_EQ(strspn(a, "0123456789abcdef"), 64);
}

TEST(key_depends_on_every_input)
{
        char base[SHA256_HEX_LEN + 1], other[SHA256_HEX_LEN + 1];
        char *f[] = {(char *)"a", (char *)"b", NULL};
        char *g[] = {(char *)"a", (char *)"c", NULL};
        char *joined[] = {(char *)"ab", NULL};
        char *split[] = {(char *)"a", (char *)"b", NULL};
        char *moved[] = {(char *)"", (char *)"ab", NULL};

        key_of("p", "COPY", f, base);
        key_of("q", "COPY", f, other);
        ASSERT_FALSE(streq(base, other));
        key_of("p", "ADD", f, other);
        ASSERT_FALSE(streq(base, other));
        key_of("p", "COPY", g, other);
        ASSERT_FALSE(streq(base, other));
        /* Lengths are part of the stream: "ab" is not "a","b", nor "","ab". */
        key_of("p", "COPY", joined, base);
        key_of("p", "COPY", split, other);
        ASSERT_FALSE(streq(base, other));
        key_of("p", "COPY", moved, other);
        ASSERT_FALSE(streq(base, other));
}

TEST(key_null_is_not_empty)
{
        char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
        struct build_key k;

        ASSERT_OK(build_key_begin(&k, "p", "RUN"));
        build_key_add(&k, NULL);
        build_key_finish(&k, a);
        ASSERT_OK(build_key_begin(&k, "p", "RUN"));
        build_key_add(&k, "");
        build_key_finish(&k, b);
        ASSERT_FALSE(streq(a, b));
        /* A strv: NULL, empty and one empty string differ too. */
        ASSERT_OK(build_key_begin(&k, "p", "RUN"));
        build_key_add_strv(&k, NULL);
        build_key_finish(&k, a);
        ASSERT_OK(build_key_begin(&k, "p", "RUN"));
        build_key_add_strv(&k, (char *[]){NULL});
        build_key_finish(&k, b);
        ASSERT_FALSE(streq(a, b));
        ASSERT_OK(build_key_begin(&k, "p", "RUN"));
        build_key_abort(&k);
}

TEST(key_of_a_first_step_has_no_parent)
{
        char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
        char *f[] = {(char *)"sha256:0123", NULL};

        key_of(NULL, "FROM", f, a);
        key_of("", "FROM", f, b);
        ASSERT_FALSE(streq(a, b));
}

static char *make_root(void)
{
        char tmpl[] = "/tmp/hull-test-build-cache-XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}

TEST(cache_table_round_trip_and_stale_rows)
{
        _cleanup_free_ char *root = make_root(), *id = NULL, *cfg = NULL;
        struct image_store *s = NULL;
        int64_t n = -1;

        ASSERT_TRUE(root != NULL);
        ASSERT_OK(image_store_open(root, &s));
        ASSERT_OK(build_cache_init(s));
        /* Twice: the migration is idempotent. */
        ASSERT_OK(build_cache_init(s));
        ASSERT_EQ(build_cache_get(s, "k1", &id, &cfg), 0);
        /* A row without image (a scratch stage with metadata only) is a hit. */
        ASSERT_OK(build_cache_put(s, "k1", NULL, "{\"a\":1}"));
        ASSERT_EQ(build_cache_get(s, "k1", &id, &cfg), 1);
        ASSERT_TRUE(id == NULL);
        ASSERT_STREQ(cfg, "{\"a\":1}");
        free(cfg);
        cfg = NULL;
        /* Replaced by a later build of the same key. */
        ASSERT_OK(build_cache_put(s, "k1", NULL, "{\"a\":2}"));
        ASSERT_EQ(build_cache_get(s, "k1", &id, &cfg), 1);
        ASSERT_STREQ(cfg, "{\"a\":2}");
        free(cfg);
        cfg = NULL;
        /* A row whose image was removed: a miss, and the row goes. */
        ASSERT_OK(build_cache_put(
                s, "k2", "sha256:0000000000000000000000000000000000000000000000000000000000000000", "{}"));
        ASSERT_EQ(build_cache_get(s, "k2", &id, &cfg), 0);
        ASSERT_TRUE(id == NULL && cfg == NULL);
        ASSERT_EQ(db_query_int(image_store_db(s), &n, "SELECT COUNT(*) FROM build_cache", ""), 1);
        ASSERT_EQ(n, 1);
        image_store_close(s);
        ASSERT_OK(rm_rf(root));
}
