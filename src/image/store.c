/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - blob and layer storage, staging transactions, image tables and
 * garbage collection; see store.h for the layout and the crash/concurrency
 * rules.
 *
 * Ownership: struct image_store owns its directory fds, the lock fd and the
 * database connection. A struct store_txn owns its staging directory (removed
 * when the transaction is freed) and borrows the store.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "reference.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

#define COPY_BUFFER (256u << 10)

struct image_store {
        char *root;
        char *dir; /* <root>/image */
        struct db *db;
        int lock_fd;
};

struct store_txn {
        struct image_store *s;
        char *dir; /* <root>/image/tmp/<name> */
        unsigned n_files;
        char **staged_blobs;  /* digests */
        char **staged_layers; /* chain ids */
        bool committed;
};

struct blob_writer {
        struct store_txn *t;
        char *path;
        int fd;
        struct sha256_ctx *sha;
        uint64_t size;
};

static const struct db_migration image_schema[] = {
        { "CREATE TABLE images ("
          "  id TEXT PRIMARY KEY,"
          "  manifest_digest TEXT NOT NULL,"
          "  manifest_type TEXT NOT NULL,"
          "  created INTEGER NOT NULL,"
          "  added INTEGER NOT NULL,"
          "  size INTEGER NOT NULL,"
          "  os TEXT, architecture TEXT);"
          "CREATE TABLE tags ("
          "  name TEXT PRIMARY KEY,"
          "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
          "CREATE INDEX tags_image ON tags(image_id);"
          "CREATE TABLE image_digests ("
          "  repo TEXT NOT NULL, digest TEXT NOT NULL,"
          "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
          "  PRIMARY KEY(repo, digest));"
          "CREATE TABLE layers ("
          "  chain_id TEXT PRIMARY KEY,"
          "  diff_id TEXT NOT NULL,"
          "  parent TEXT,"
          "  path TEXT NOT NULL,"
          "  size INTEGER NOT NULL,"
          "  refcount INTEGER NOT NULL);"
          "CREATE TABLE image_layers ("
          "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
          "  idx INTEGER NOT NULL,"
          "  chain_id TEXT NOT NULL REFERENCES layers(chain_id),"
          "  blob_digest TEXT NOT NULL, media_type TEXT NOT NULL, blob_size INTEGER NOT NULL,"
          "  PRIMARY KEY(image_id, idx));"
          "CREATE TABLE image_blobs ("
          "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
          "  digest TEXT NOT NULL,"
          "  PRIMARY KEY(image_id, digest));"
          "CREATE INDEX image_blobs_digest ON image_blobs(digest);" },
};

void image_progress_emit(const struct image_progress *p, enum progress_event ev, const char *action,
                         const char *digest, uint64_t done, uint64_t total)
{
        if (p && p->fn)
                p->fn(p->userdata, ev, action, digest, done, total);
}

const char *image_store_root(struct image_store *s)
{
        return s->root;
}

struct db *image_store_db(struct image_store *s)
{
        return s->db;
}

static int make_dirs(struct image_store *s)
{
        static const char *const sub[] = { "", "/blobs/sha256", "/layers", "/tmp" };
        for (size_t i = 0; i < ELEMENTSOF(sub); i++) {
                _cleanup_free_ char *p = strdup_printf("%s%s", s->dir, sub[i]);
                int r;
                if (!p)
                        return -ENOMEM;
                r = mkdir_p(p, 0700);
                if (r < 0)
                        return err_set(r, "cannot create '%s': %s", p, strerror(-r));
        }
        return 0;
}

int image_store_open(const char *root, struct image_store **ret)
{
        _cleanup_(image_store_closep) struct image_store *s = calloc(1, sizeof(*s));
        _cleanup_free_ char *dbpath = NULL, *lockpath = NULL;
        int r;

        if (!s)
                return -ENOMEM;
        s->lock_fd = -EBADF;
        s->root = strdup(root);
        s->dir = strdup_printf("%s/image", root);
        dbpath = strdup_printf("%s/state.db", root);
        lockpath = strdup_printf("%s/image/lock", root);
        if (!s->root || !s->dir || !dbpath || !lockpath)
                return -ENOMEM;
        r = mkdir_p(root, 0700);
        if (r < 0)
                return err_set(r, "cannot create '%s': %s", root, strerror(-r));
        r = make_dirs(s);
        if (r < 0)
                return r;
        s->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", lockpath);
        r = db_open(dbpath, &s->db);
        if (r < 0)
                return r;
        r = db_migrate(s->db, "image", image_schema, ELEMENTSOF(image_schema));
        if (r < 0)
                return r;
        /* Alone with the store: a good moment to collect what a killed process left. */
        r = store_gc(s, false, NULL);
        if (r < 0 && r != -EBUSY)
                log_debug("store: garbage collection at open failed: %s", err_msg(r));
        err_clear();
        if (flock(s->lock_fd, LOCK_SH) < 0)
                return err_set(negative_errno(), "cannot lock '%s': %m", lockpath);
        *ret = TAKE_PTR(s);
        return 0;
}

void image_store_close(struct image_store *s)
{
        if (!s)
                return;
        db_close(s->db);
        safe_close(s->lock_fd);
        free(s->root);
        free(s->dir);
        free(s);
}

char *store_blob_path(struct image_store *s, const char *digest)
{
        const char *hex = startswith(digest, "sha256:");
        return strdup_printf("%s/blobs/sha256/%s", s->dir, hex ?: "invalid");
}

bool store_blob_exists(struct image_store *s, const char *digest)
{
        _cleanup_free_ char *p = store_blob_path(s, digest);
        return p && access(p, F_OK) == 0;
}

int blob_verify_fd(int fd, const char *digest)
{
        char hex[SHA256_HEX_LEN + 1];
        int r;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        r = sha256_fd(fd, hex);
        if (r < 0)
                return r;
        if (!streq(hex, digest + strlen("sha256:")))
                return err_set(-EBADMSG, "blob %s: content does not match its digest (sha256:%s)", digest, hex);
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        return 0;
}

int store_blob_open(struct image_store *s, const char *digest, int *ret_fd)
{
        _cleanup_free_ char *p = NULL;
        int fd;

        if (!digest_is_valid(digest))
                return err_set(-EINVAL, "invalid digest '%s'", digest);
        p = store_blob_path(s, digest);
        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(negative_errno(), "blob %s: %m", digest);
        *ret_fd = fd;
        return 0;
}

static int read_verified(const char *path, const char *digest, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        char hex[SHA256_HEX_LEN + 1];
        size_t n;
        int r;

        r = read_full_file(path, max, &buf, &n);
        if (r == -EFBIG)
                return err_set(r, "blob %s: larger than %zu bytes", digest, max);
        if (r < 0)
                return err_set(r, "blob %s: %s", digest, strerror(-r));
        sha256_hex(buf, n, hex);
        if (!streq(hex, digest + strlen("sha256:")))
                return err_set(-EBADMSG, "blob %s: content does not match its digest (sha256:%s)", digest, hex);
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int store_blob_read(struct image_store *s, const char *digest, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *p = NULL;

        if (!digest_is_valid(digest))
                return err_set(-EINVAL, "invalid digest '%s'", digest);
        p = store_blob_path(s, digest);
        if (!p)
                return -ENOMEM;
        return read_verified(p, digest, max, ret, ret_size);
}

void layer_chain_id(const char *parent_chain, const char *diff_id, char ret[80])
{
        char hex[SHA256_HEX_LEN + 1];

        if (!parent_chain) {
                snprintf(ret, 80, "%s", diff_id);
                return;
        }
        _cleanup_free_ char *s = strdup_printf("%s %s", parent_chain, diff_id);
        if (!s) {
                ret[0] = 0;
                return;
        }
        sha256_hex(s, strlen(s), hex);
        snprintf(ret, 80, "sha256:%s", hex);
}

/* ------------------------------------------------------------------ transactions */

int store_txn_begin(struct image_store *s, struct store_txn **ret)
{
        struct store_txn *t = calloc(1, sizeof(*t));
        char tmpl[64];

        if (!t)
                return -ENOMEM;
        t->s = s;
        snprintf(tmpl, sizeof(tmpl), "/tmp/%d-XXXXXX", (int)getpid());
        t->dir = strdup_printf("%s%s", s->dir, tmpl);
        if (!t->dir || !mkdtemp(t->dir)) {
                int r = t->dir ? negative_errno() : -ENOMEM;
                free(t->dir);
                free(t);
                return err_set(r, "cannot create a staging directory in '%s/tmp': %s", s->dir, strerror(-r));
        }
        *ret = t;
        return 0;
}

void store_txn_free(struct store_txn *t)
{
        if (!t)
                return;
        rm_rf(t->dir);
        free(t->dir);
        strv_free(t->staged_blobs);
        strv_free(t->staged_layers);
        free(t);
}

static char *staged_blob_path(struct store_txn *t, const char *digest)
{
        return strdup_printf("%s/blob-%s", t->dir, digest + strlen("sha256:"));
}

static char *staged_layer_path(struct store_txn *t, const char *chain_id)
{
        return strdup_printf("%s/layer-%s", t->dir, chain_id + strlen("sha256:"));
}

int store_txn_blob_new(struct store_txn *t, struct blob_writer **ret)
{
        struct blob_writer *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->t = t;
        w->path = strdup_printf("%s/part-%u", t->dir, t->n_files++);
        w->sha = sha256_new();
        if (!w->path || !w->sha) {
                blob_writer_abort(w);
                return -ENOMEM;
        }
        w->fd = open(w->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0) {
                int r = negative_errno();
                blob_writer_abort(w);
                return err_set(r, "cannot create a blob in the staging area: %s", strerror(-r));
        }
        *ret = w;
        return 0;
}

int blob_writer_write(struct blob_writer *w, const void *data, size_t len)
{
        int r = write_all(w->fd, data, len);
        if (r < 0)
                return err_set(r, "writing a blob: %s", strerror(-r));
        sha256_update(w->sha, data, len);
        w->size += len;
        return 0;
}

int blob_writer_copy_fd(struct blob_writer *w, int fd)
{
        _cleanup_free_ char *buf = malloc(COPY_BUFFER);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf, COPY_BUFFER);
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return err_set(negative_errno(), "reading: %m");
                if (k == 0)
                        return 0;
                r = blob_writer_write(w, buf, (size_t)k);
                if (r < 0)
                        return r;
        }
}

int blob_writer_fd(struct blob_writer *w)
{
        return w->fd;
}

uint64_t blob_writer_size(struct blob_writer *w)
{
        return w->size;
}

void blob_writer_abort(struct blob_writer *w)
{
        if (!w)
                return;
        safe_close(w->fd);
        if (w->path)
                unlink(w->path);
        free(w->path);
        sha256_free(w->sha);
        free(w);
}

static bool staged(char **l, const char *s)
{
        return strv_contains(l, s);
}

int blob_writer_finish(struct blob_writer *w, const char *expect_digest, int64_t expect_size, char ret_digest[80])
{
        _cleanup_free_ char *dest = NULL;
        char hex[SHA256_HEX_LEN + 1], digest[80];
        struct store_txn *t = w->t;
        int r;

        sha256_final_hex(w->sha, hex);
        w->sha = NULL;
        snprintf(digest, sizeof(digest), "sha256:%s", hex);
        if (expect_size >= 0 && (uint64_t)expect_size != w->size) {
                r = err_set(-EBADMSG, "blob %s: expected %lld bytes, got %llu", expect_digest ?: digest,
                            (long long)expect_size, (unsigned long long)w->size);
                goto fail;
        }
        if (expect_digest && !streq(expect_digest, digest)) {
                r = err_set(-EBADMSG, "blob %s: content does not match its digest (%s)", expect_digest, digest);
                goto fail;
        }
        dest = staged_blob_path(t, digest);
        if (!dest) {
                r = -ENOMEM;
                goto fail;
        }
        if (rename(w->path, dest) < 0) {
                r = err_set(negative_errno(), "staging blob %s: %m", digest);
                goto fail;
        }
        if (!staged(t->staged_blobs, digest)) {
                r = strv_extend(&t->staged_blobs, digest);
                if (r < 0)
                        goto fail;
        }
        free(w->path);
        w->path = NULL;
        blob_writer_abort(w);
        if (ret_digest)
                snprintf(ret_digest, 80, "%s", digest);
        return 0;
fail:
        blob_writer_abort(w);
        return r;
}

int store_txn_add_blob(struct store_txn *t, const void *data, size_t len, const char *expect_digest,
                       char ret_digest[80])
{
        struct blob_writer *w;
        int r;

        r = store_txn_blob_new(t, &w);
        if (r < 0)
                return r;
        r = blob_writer_write(w, data, len);
        if (r < 0) {
                blob_writer_abort(w);
                return r;
        }
        return blob_writer_finish(w, expect_digest, -1, ret_digest);
}

int store_txn_blob_path(struct store_txn *t, const char *digest, char **ret)
{
        char *p;

        if (staged(t->staged_blobs, digest))
                p = staged_blob_path(t, digest);
        else {
                p = store_blob_path(t->s, digest);
                if (p && access(p, F_OK) < 0) {
                        free(p);
                        return -ENOENT;
                }
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

bool store_image_exists(struct image_store *s, const char *id)
{
        int64_t one = 0;
        return db_query_int(s->db, &one, "SELECT 1 FROM images WHERE id = ?", "s", id) > 0;
}

bool store_layer_exists(struct image_store *s, const char *chain_id)
{
        _cleanup_free_ char *path = NULL;
        int r = db_query_str(s->db, &path, "SELECT path FROM layers WHERE chain_id = ?", "s", chain_id);
        return r > 0 && access(path, F_OK) == 0;
}

int store_txn_layer_dir(struct store_txn *t, const char *chain_id, int *ret_fd)
{
        _cleanup_free_ char *p = staged_layer_path(t, chain_id);
        int fd, r;

        if (!p)
                return -ENOMEM;
        /* A second unpack of the same layer in one transaction starts over. */
        r = rm_rf(p);
        if (r < 0)
                return r;
        if (mkdir(p, 0755) < 0)
                return err_set(negative_errno(), "cannot create '%s': %m", p);
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (!staged(t->staged_layers, chain_id)) {
                r = strv_extend(&t->staged_layers, chain_id);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
        }
        *ret_fd = fd;
        return 0;
}

static char *layer_path(struct image_store *s, const char *chain_id)
{
        return strdup_printf("%s/layers/%s", s->dir, chain_id + strlen("sha256:"));
}

/* Rename staged content into blobs/ and layers/. Existing entries (another import) win. */
static int txn_move_into_place(struct store_txn *t)
{
        STRV_FOREACH(d, t->staged_blobs)
        {
                _cleanup_free_ char *from = staged_blob_path(t, *d), *to = store_blob_path(t->s, *d);
                if (!from || !to)
                        return -ENOMEM;
                if (rename(from, to) < 0)
                        return err_set(negative_errno(), "storing blob %s: %m", *d);
        }
        STRV_FOREACH(c, t->staged_layers)
        {
                _cleanup_free_ char *from = staged_layer_path(t, *c), *to = layer_path(t->s, *c);
                if (!from || !to)
                        return -ENOMEM;
                /* renameat2(RENAME_NOREPLACE): never swap a layer that another process already uses. */
                if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0 && errno != EEXIST)
                        return err_set(negative_errno(), "storing layer %s: %m", *c);
        }
        /* A transaction may commit several images (an archive): the next one starts from the store. */
        strv_free(t->staged_blobs);
        t->staged_blobs = NULL;
        strv_free(t->staged_layers);
        t->staged_layers = NULL;
        return 0;
}

static int add_blob_ref(struct image_store *s, const char *id, const char *digest)
{
        int r = db_run(s->db, "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?, ?)", "ss", id, digest);
        return r < 0 ? r : 0;
}

static int add_names(struct image_store *s, const struct store_image_add *img, const char *id)
{
        int r;

        STRV_FOREACH(tag, img->tags)
        {
                r = db_run(s->db, "INSERT OR REPLACE INTO tags(name, image_id) VALUES(?, ?)", "ss", *tag, id);
                if (r < 0)
                        return r;
        }
        if (img->repo) {
                r = db_run(s->db, "INSERT OR REPLACE INTO image_digests(repo, digest, image_id) VALUES(?, ?, ?)",
                           "sss", img->repo, img->index_digest ?: img->manifest_digest, id);
                if (r < 0)
                        return r;
                if (img->index_digest) {
                        r = db_run(s->db,
                                   "INSERT OR REPLACE INTO image_digests(repo, digest, image_id) VALUES(?, ?, ?)",
                                   "sss", img->repo, img->manifest_digest, id);
                        if (r < 0)
                                return r;
                }
        }
        if (img->index_digest) {
                r = add_blob_ref(s, id, img->index_digest);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int insert_image(struct image_store *s, const struct store_image_add *img, const char *id)
{
        char parent[80] = "", chain[80];
        int64_t total = 0;
        int r;

        /* The image row first: image_layers and image_blobs refer to it. */
        r = db_run(s->db,
                   "INSERT INTO images(id, manifest_digest, manifest_type, created, added, size, os, architecture) "
                   "VALUES(?, ?, ?, ?, ?, 0, ?, ?)",
                   "sssiiss", id, img->manifest_digest, img->manifest_type, img->created, (int64_t)time(NULL),
                   img->os, img->architecture);
        if (r < 0)
                return r;
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct store_layer_add *l = &img->layers[i];
                _cleanup_free_ char *path = NULL;
                int64_t size = 0;

                layer_chain_id(i ? parent : NULL, l->diff_id, chain);
                path = layer_path(s, chain);
                if (!path)
                        return -ENOMEM;
                r = db_query_int(s->db, &size, "SELECT size FROM layers WHERE chain_id = ?", "s", chain);
                if (r < 0)
                        return r;
                if (r > 0)
                        r = db_run(s->db, "UPDATE layers SET refcount = refcount + 1 WHERE chain_id = ?", "s", chain);
                else {
                        size = MAX(l->unpacked_size, 0);
                        r = db_run(s->db,
                                   "INSERT INTO layers(chain_id, diff_id, parent, path, size, refcount) "
                                   "VALUES(?, ?, ?, ?, ?, 1)",
                                   "ssssi", chain, l->diff_id, i ? parent : NULL, path, size);
                }
                if (r < 0)
                        return r;
                total += size;
                r = db_run(s->db,
                           "INSERT INTO image_layers(image_id, idx, chain_id, blob_digest, media_type, blob_size) "
                           "VALUES(?, ?, ?, ?, ?, ?)",
                           "sisssi", id, (int64_t)i, chain, l->blob_digest, l->media_type, l->blob_size);
                if (r < 0)
                        return r;
                r = add_blob_ref(s, id, l->blob_digest);
                if (r < 0)
                        return r;
                snprintf(parent, sizeof(parent), "%s", chain);
        }
        r = db_run(s->db, "UPDATE images SET size = ? WHERE id = ?", "is", total, id);
        if (r < 0)
                return r;
        if ((r = add_blob_ref(s, id, img->manifest_digest)) < 0 || (r = add_blob_ref(s, id, img->config_digest)) < 0)
                return r;
        return 0;
}

int store_txn_commit(struct store_txn *t, const struct store_image_add *img)
{
        struct image_store *s = t->s;
        const char *id = img->config_digest;
        int64_t exists = 0;
        int r;

        /* Everything the rows will name must be there before they are written. */
        r = txn_move_into_place(t);
        if (r < 0)
                return r;
        r = db_begin(s->db);
        if (r < 0)
                return r;
        r = db_query_int(s->db, &exists, "SELECT 1 FROM images WHERE id = ?", "s", id);
        if (r < 0)
                goto fail;
        if (!exists) {
                /* Layers another image dropped but the collector has not removed yet are still here. */
                for (size_t i = 0; i < img->n_layers; i++) {
                        if (!store_blob_exists(s, img->layers[i].blob_digest)) {
                                r = err_set(-ENOENT, "layer blob %s is missing from the store",
                                            img->layers[i].blob_digest);
                                goto fail;
                        }
                }
                r = insert_image(s, img, id);
                if (r < 0)
                        goto fail;
        }
        r = add_names(s, img, id);
        if (r < 0)
                goto fail;
        r = db_commit(s->db);
        if (r < 0)
                return r;
        t->committed = true;
        return exists ? 0 : 1;
fail:
        db_rollback(s->db);
        return r;
}

/* ------------------------------------------------------------------ queries */

int store_resolve(struct image_store *s, const char *name, char **ret_id)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        if (image_ref_parse(name, &ref) >= 0) {
                _cleanup_free_ char *repo = image_ref_name(ref), *full = image_ref_string(ref);
                if (!repo || !full)
                        return -ENOMEM;
                if (ref->digest) {
                        r = db_query_str(s->db, &id, "SELECT image_id FROM image_digests WHERE repo = ? AND digest = ?",
                                         "ss", repo, ref->digest);
                        if (r == 0)
                                r = db_query_str(s->db, &id,
                                                 "SELECT image_id FROM image_digests WHERE digest = ? UNION "
                                                 "SELECT id FROM images WHERE manifest_digest = ? LIMIT 1",
                                                 "ss", ref->digest, ref->digest);
                } else
                        r = db_query_str(s->db, &id, "SELECT image_id FROM tags WHERE name = ?", "s", full);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_id = TAKE_PTR(id);
                        return 0;
                }
        }
        err_clear();
        if (image_ref_is_id_prefix(name)) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                _cleanup_free_ char *pattern =
                        strdup_printf("sha256:%s%%", startswith(name, "sha256:") ?: name);
                int n = 0;

                if (!pattern)
                        return -ENOMEM;
                r = db_prepare(s->db, &st, "SELECT id FROM images WHERE id LIKE ? LIMIT 2", "s", pattern);
                if (r < 0)
                        return r;
                while ((r = db_step(s->db, st)) > 0) {
                        if (n++ == 0) {
                                id = strdup(db_column_str(st, 0));
                                if (!id)
                                        return -ENOMEM;
                        }
                }
                if (r < 0)
                        return r;
                if (n > 1)
                        return err_set(-EINVAL, "image id prefix '%s' is ambiguous", name);
                if (n == 1) {
                        *ret_id = TAKE_PTR(id);
                        return 0;
                }
        }
        return err_set(-ENOENT, "image '%s' not found", name);
}

void image_info_free(struct image_info *i)
{
        if (!i)
                return;
        free(i->id);
        free(i->manifest_digest);
        free(i->manifest_type);
        strv_free(i->tags);
        strv_free(i->repo_digests);
        free(i->os);
        free(i->architecture);
        free(i);
}

void image_info_list_free(struct image_info **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                image_info_free(l[i]);
        free(l);
}

static int collect_strv(struct db *db, char ***ret, const char *sql, const char *id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = db_prepare(db, &st, sql, "s", id);
        if (r < 0)
                return r;
        while ((r = db_step(db, st)) > 0) {
                r = strv_extend(&l, db_column_str(st, 0));
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int info_from_row(struct image_store *s, sqlite3_stmt *st, struct image_info **ret)
{
        _cleanup_image_info_ struct image_info *i = calloc(1, sizeof(*i));
        int r;

        if (!i)
                return -ENOMEM;
        i->id = strdup(db_column_str(st, 0));
        i->manifest_digest = strdup(db_column_str(st, 1));
        i->manifest_type = strdup(db_column_str(st, 2));
        i->created = sqlite3_column_int64(st, 3);
        i->added = sqlite3_column_int64(st, 4);
        i->size = sqlite3_column_int64(st, 5);
        i->os = strdup(db_column_str(st, 6));
        i->architecture = strdup(db_column_str(st, 7));
        if (!i->id || !i->manifest_digest || !i->manifest_type || !i->os || !i->architecture)
                return -ENOMEM;
        r = collect_strv(s->db, &i->tags, "SELECT name FROM tags WHERE image_id = ? ORDER BY name", i->id);
        if (r < 0)
                return r;
        r = collect_strv(s->db, &i->repo_digests,
                         "SELECT repo || '@' || digest FROM image_digests WHERE image_id = ? ORDER BY repo, digest",
                         i->id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}

#define INFO_COLUMNS "id, manifest_digest, manifest_type, created, added, size, os, architecture"

int store_image_info(struct image_store *s, const char *id, struct image_info **ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = db_prepare(s->db, &st, "SELECT " INFO_COLUMNS " FROM images WHERE id = ?", "s", id);
        if (r < 0)
                return r;
        r = db_step(s->db, st);
        if (r < 0)
                return r;
        if (r == 0)
                return err_set(-ENOENT, "image '%s' not found", id);
        return info_from_row(s, st, ret);
}

int store_list_images(struct image_store *s, struct image_info ***ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct image_info **l = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(s->db, &st, "SELECT " INFO_COLUMNS " FROM images ORDER BY created DESC, added DESC, id", "");
        if (r < 0)
                return r;
        while ((r = db_step(s->db, st)) > 0) {
                struct image_info **m = realloc(l, (n + 1) * sizeof(*l));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                l = m;
                r = info_from_row(s, st, &l[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                image_info_list_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int store_tag(struct image_store *s, const char *id, const char *tag)
{
        int r = db_run(s->db, "INSERT OR REPLACE INTO tags(name, image_id) VALUES(?, ?)", "ss", tag, id);
        return r < 0 ? r : 0;
}

int store_untag(struct image_store *s, const char *tag, char **ret_id)
{
        _cleanup_free_ char *id = NULL;
        int r;

        r = db_query_str(s->db, &id, "SELECT image_id FROM tags WHERE name = ?", "s", tag);
        if (r < 0)
                return r;
        if (r == 0)
                return err_set(-ENOENT, "image '%s' not found", tag);
        r = db_run(s->db, "DELETE FROM tags WHERE name = ?", "s", tag);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = TAKE_PTR(id);
        return 0;
}

int store_count_tags(struct image_store *s, const char *id)
{
        int64_t n = 0;
        int r = db_query_int(s->db, &n, "SELECT COUNT(*) FROM tags WHERE image_id = ?", "s", id);
        return r < 0 ? r : (int)n;
}

int store_remove_image(struct image_store *s, const char *id)
{
        int r;

        r = db_begin(s->db);
        if (r < 0)
                return r;
        r = db_run(s->db,
                   "UPDATE layers SET refcount = refcount - 1 WHERE chain_id IN "
                   "(SELECT chain_id FROM image_layers WHERE image_id = ?)",
                   "s", id);
        if (r >= 0)
                r = db_run(s->db, "DELETE FROM image_layers WHERE image_id = ?", "s", id);
        if (r >= 0)
                r = db_run(s->db, "DELETE FROM images WHERE id = ?", "s", id);
        if (r == 0)
                r = err_set(-ENOENT, "image '%s' not found", id);
        if (r < 0) {
                db_rollback(s->db);
                return r;
        }
        return db_commit(s->db);
}

/* ------------------------------------------------------------------ garbage collection */

static uint64_t du(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static int gc_dir(struct image_store *s, const char *sub, const char *sql, uint64_t *count, uint64_t *bytes,
                  bool is_tmp)
{
        _cleanup_free_ char *dir = strdup_printf("%s/%s", s->dir, sub);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL, *digest = NULL;
                int64_t used = 0;
                int k;

                if (de->d_name[0] == '.')
                        continue;
                if (!is_tmp) {
                        digest = strdup_printf("sha256:%s", de->d_name);
                        if (!digest) {
                                r = -ENOMEM;
                                break;
                        }
                        k = db_query_int(s->db, &used, sql, "s", digest);
                        if (k < 0) {
                                r = k;
                                break;
                        }
                        if (k > 0)
                                continue;
                }
                p = strdup_printf("%s/%s", dir, de->d_name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                *bytes += du(p);
                k = rm_rf(p);
                if (k < 0)
                        r = k;
                (*count)++;
                log_debug("store: collected '%s'", p);
        }
        closedir(d);
        return r;
}

int store_gc(struct image_store *s, bool wait, struct store_gc_stats *ret)
{
        struct store_gc_stats st = {};
        int r, k;

        if (flock(s->lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                if (errno == EWOULDBLOCK)
                        return -EBUSY;
                return negative_errno();
        }
        /* Layer rows no image uses go first; their directories are then unreferenced. */
        r = db_run(s->db, "DELETE FROM layers WHERE refcount <= 0 AND chain_id NOT IN (SELECT chain_id FROM image_layers)",
                   "");
        if (r >= 0)
                r = gc_dir(s, "tmp", NULL, &st.tmp, &st.bytes, true);
        if (r >= 0)
                r = gc_dir(s, "layers", "SELECT 1 FROM layers WHERE chain_id = ?", &st.layers, &st.bytes, false);
        if (r >= 0)
                r = gc_dir(s, "blobs/sha256", "SELECT 1 FROM image_blobs WHERE digest = ? LIMIT 1", &st.blobs,
                           &st.bytes, false);
        /* Back to shared: the caller keeps using the store. */
        k = flock(s->lock_fd, LOCK_SH) < 0 ? negative_errno() : 0;
        if (r < 0)
                return r;
        if (k < 0)
                return k;
        if (ret)
                *ret = st;
        return 0;
}

/* ------------------------------------------------------------------ image content */

int store_image_manifest(struct image_store *s, const char *id, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *digest = NULL;
        int r;

        r = db_query_str(s->db, &digest, "SELECT manifest_digest FROM images WHERE id = ?", "s", id);
        if (r < 0)
                return r;
        if (r == 0)
                return err_set(-ENOENT, "image '%s' not found", id);
        return store_blob_read(s, digest, MANIFEST_MAX_SIZE, ret, ret_size);
}

int store_image_config(struct image_store *s, const char *id, struct image_config **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        r = store_blob_read(s, id, CONFIG_MAX_SIZE, &buf, &n);
        if (r < 0)
                return r;
        return image_config_parse(buf, n, ret);
}

void store_layers_free(struct store_layer *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].chain_id);
                free(l[i].diff_id);
                free(l[i].blob_digest);
                free(l[i].media_type);
                free(l[i].path);
        }
        free(l);
}

int store_image_layers(struct image_store *s, const char *id, struct store_layer **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct store_layer *l = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(s->db, &st,
                       "SELECT il.chain_id, l.diff_id, il.blob_digest, il.media_type, l.path, l.size, il.blob_size "
                       "FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id "
                       "WHERE il.image_id = ? ORDER BY il.idx",
                       "s", id);
        if (r < 0)
                return r;
        while ((r = db_step(s->db, st)) > 0) {
                struct store_layer *m = realloc(l, (n + 1) * sizeof(*l));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                l = m;
                l[n] = (struct store_layer){
                        .chain_id = strdup(db_column_str(st, 0)),
                        .diff_id = strdup(db_column_str(st, 1)),
                        .blob_digest = strdup(db_column_str(st, 2)),
                        .media_type = strdup(db_column_str(st, 3)),
                        .path = strdup(db_column_str(st, 4)),
                        .size = sqlite3_column_int64(st, 5),
                        .blob_size = sqlite3_column_int64(st, 6),
                };
                n++;
                if (!l[n - 1].chain_id || !l[n - 1].diff_id || !l[n - 1].blob_digest || !l[n - 1].media_type ||
                    !l[n - 1].path) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r < 0) {
                store_layers_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int store_image_layer_paths(struct image_store *s, const char *id, char ***ret)
{
        _cleanup_strv_free_ char **paths = NULL;
        struct store_layer *l;
        size_t n;
        int r;

        r = store_image_layers(s, id, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = strv_extend(&paths, l[i].path);
        store_layers_free(l, n);
        if (r < 0)
                return r;
        if (!paths) {
                paths = calloc(1, sizeof(char *));
                if (!paths)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(paths);
        return 0;
}
