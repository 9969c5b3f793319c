/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - keyed rows in SQLite, the responders' files, one flock; see store.h. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "db.h"
#include "error.h"
#include "json.h"
#include "store.h"
#include "util.h"

#define FILE_MAX (4u << 20)

struct store {
        char *run_path;
        char *lock_path;
        int run_fd;
        int lock_fd;
        unsigned lock_depth;
        struct db *db;     /* <root>/state.db */
        bool db_shared;    /* db is the caller's: not closed here */
        struct db *run_db; /* <run>/net/run.db */
};

/* Tables that outlive a reboot; every other one is runtime state (store.h). */
static const char *const persistent_tables[] = {"networks", "node"};

static const struct db_migration schema[] = {
        {"CREATE TABLE net_rows (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
         " PRIMARY KEY (tbl, key)) WITHOUT ROWID;"},
};

static int open_dir(const char *path, mode_t mode, int *ret)
{
        int r = mkdir_p(path, mode);

        if (r < 0)
                return err_set(r, "cannot create state directory '%s': %s", path, strerror(-r));
        if (ret) {
                *ret = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (*ret < 0)
                        return err_set(negative_errno(), "cannot open state directory '%s': %m", path);
        }
        return 0;
}

static int open_db(const char *path, const char *module, struct db **ret)
{
        int r = db_open(path, ret);

        if (r < 0)
                return r;
        return db_migrate(*ret, module, schema, ELEMENTSOF(schema));
}

int store_open(const char *root, const char *run_root, struct db *db, struct store **ret)
{
        _cleanup_free_ char *net = NULL, *dbpath = NULL, *rundb = NULL;
        struct store *s;
        int r;

        if (!run_root)
                run_root = root;
        if (!root || root[0] != '/' || run_root[0] != '/')
                return err_set(-EINVAL, "state directories must be absolute paths, got '%s' and '%s'",
                               strempty(root), strempty(run_root));
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->run_fd = s->lock_fd = -EBADF;
        net = strdup_printf("%s/net", root);
        dbpath = strdup_printf("%s/state.db", root);
        s->run_path = strdup_printf("%s/net", run_root);
        rundb = strdup_printf("%s/net/run.db", run_root);
        s->lock_path = strdup_printf("%s/net/lock", root);
        if (!net || !dbpath || !s->run_path || !rundb || !s->lock_path) {
                store_free(s);
                return -ENOMEM;
        }
        /* 0711: the unprivileged DNS responder only passes through to its own directory. */
        r = open_dir(net, 0711, NULL);
        if (r >= 0)
                r = open_dir(s->run_path, 0711, &s->run_fd);
        /* The lock file is world-readable: the DNS responder flocks it (LOCK_EX works on a
         * read-only fd) before it exits on its own, so that it never races an attach. */
        if (r >= 0) {
                s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (s->lock_fd < 0)
                        r = err_set(negative_errno(), "cannot open '%s': %m", s->lock_path);
        }
        if (r >= 0 && db) {
                s->db = db;
                s->db_shared = true;
                r = db_migrate(db, "net", schema, ELEMENTSOF(schema));
        } else if (r >= 0)
                r = open_db(dbpath, "net", &s->db);
        if (r >= 0)
                r = open_db(rundb, "net-run", &s->run_db);
        if (r < 0) {
                store_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void store_free(struct store *s)
{
        if (!s)
                return;
        if (!s->db_shared)
                db_close(s->db);
        db_close(s->run_db);
        safe_close(s->lock_fd);
        safe_close(s->run_fd);
        free(s->run_path);
        free(s->lock_path);
        free(s);
}

const char *store_lock_path(struct store *s)
{
        return s->lock_path;
}

int store_lock(struct store *s)
{
        if (s->lock_depth++ > 0)
                return 0;
        while (flock(s->lock_fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        s->lock_depth = 0;
                        return err_set(negative_errno(), "cannot lock '%s': %m", s->lock_path);
                }
        }
        return 0;
}

void store_unlock(struct store *s)
{
        if (s->lock_depth == 0 || --s->lock_depth > 0)
                return;
        (void)flock(s->lock_fd, LOCK_UN);
}

bool store_key_valid(const char *key)
{
        size_t n = key ? strlen(key) : 0;

        if (n == 0 || n > 200 || key[0] == '.')
                return false;
        for (const char *p = key; *p; p++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == ':' || c == '-'))
                        return false;
        }
        return true;
}

/* Table and directory names are ours ("leases/<netid>"); checked anyway, so that nothing written
 * through here escapes <run>/net as a file. */
static bool name_valid(const char *table)
{
        return table && *table && table[0] != '/' && !strstr(table, "..") && strlen(table) < 256;
}

/* The database a table lives in. */
static struct db *table_db(struct store *s, const char *table)
{
        size_t n = strcspn(table, "/");

        for (size_t i = 0; i < ELEMENTSOF(persistent_tables); i++)
                if (strlen(persistent_tables[i]) == n && strncmp(table, persistent_tables[i], n) == 0)
                        return s->db;
        return s->run_db;
}

static int check(const char *table, const char *key)
{
        return name_valid(table) && (!key || store_key_valid(key)) ? 0 : -EINVAL;
}

int store_read(struct store *s, const char *table, const char *key, char **ret)
{
        int r = check(table, key);

        if (r < 0)
                return r;
        r = db_query_str(table_db(s, table), ret, "SELECT value FROM net_rows WHERE tbl = ? AND key = ?",
                         "ss", table, key);
        return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

int store_write(struct store *s, const char *table, const char *key, const char *data)
{
        int r = check(table, key);

        if (r < 0)
                return r;
        r = db_run(table_db(s, table),
                   "INSERT INTO net_rows (tbl, key, value) VALUES (?, ?, ?)"
                   " ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
                   "sss", table, key, data);
        return r < 0 ? r : 0;
}

int store_create(struct store *s, const char *table, const char *key, const char *data)
{
        int r = check(table, key);

        if (r < 0)
                return r;
        r = db_run(table_db(s, table), "INSERT INTO net_rows (tbl, key, value) VALUES (?, ?, ?)", "sss",
                   table, key, data);
        if (r == -EEXIST)
                err_clear(); /* a taken row is an answer, not a failure to report */
        return r < 0 ? r : 0;
}

int store_remove(struct store *s, const char *table, const char *key)
{
        int r = check(table, key);

        if (r < 0)
                return r;
        r = db_run(table_db(s, table), "DELETE FROM net_rows WHERE tbl = ? AND key = ?", "ss", table, key);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* Collect the first column of a query's rows, after skipping `skip` bytes of each. */
static int collect_strv(struct db *db, sqlite3_stmt *st, size_t skip, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        while ((r = db_step(db, st)) > 0) {
                const char *v = db_column_str(st, 0);
                if (strlen(v) >= skip && strv_extend(&l, v + skip) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int store_keys(struct store *s, const char *table, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct db *db;
        int r = check(table, NULL);

        if (r < 0)
                return r;
        db = table_db(s, table);
        r = db_prepare(db, &st, "SELECT key FROM net_rows WHERE tbl = ? ORDER BY key", "s", table);
        if (r < 0)
                return r;
        return collect_strv(db, st, 0, ret);
}

int store_tables(struct store *s, const char *prefix, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *p = NULL;
        struct db *db;
        int r = check(prefix, NULL);

        if (r < 0)
                return r;
        p = strdup_printf("%s/", prefix);
        if (!p)
                return -ENOMEM;
        db = table_db(s, prefix);
        r = db_prepare(
                db, &st,
                "SELECT DISTINCT tbl FROM net_rows WHERE substr(tbl, 1, length(?1)) = ?1 ORDER BY tbl", "s",
                p);
        if (r < 0)
                return r;
        return collect_strv(db, st, strlen(p), ret);
}

int store_begin(struct store *s)
{
        return db_begin(s->run_db);
}

int store_commit(struct store *s)
{
        return db_commit(s->run_db);
}

void store_rollback(struct store *s)
{
        db_rollback(s->run_db);
}

int store_read_json(struct store *s, const char *table, const char *key, struct json_object **ret)
{
        _cleanup_free_ char *data = NULL;
        int r;

        r = store_read(s, table, key, &data);
        if (r < 0)
                return r;
        return json_parse_buffer(data, strlen(data), key, ret);
}

int store_write_json(struct store *s, const char *table, const char *key, struct json_object *o)
{
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return -ENOMEM;
        return store_write(s, table, key, text);
}

/* ------------------------------------------------------------------ files */

static int file_path(const char *dir, const char *name, char buf[static 512])
{
        if (!name_valid(dir) || (name && !store_key_valid(name)))
                return -EINVAL;
        if ((size_t)snprintf(buf, 512, "%s%s%s", dir, name ? "/" : "", name ? name : "") >= 512)
                return -ENAMETOOLONG;
        return 0;
}

int store_dir_make(struct store *s, const char *dir, char **ret_path)
{
        char buf[512];
        int r;

        r = file_path(dir, NULL, buf);
        if (r < 0)
                return r;
        for (char *p = buf;; p++) {
                char c = *p;
                if (c != '/' && c != 0)
                        continue;
                *p = 0;
                if (mkdirat(s->run_fd, buf, 0755) < 0) {
                        if (errno != EEXIST)
                                return negative_errno();
                } else if (fchmodat(s->run_fd, buf, 0755, 0) < 0)
                        /* Whatever the caller's umask: the responder reads through these as nobody. */
                        return negative_errno();
                if (c == 0)
                        break;
                *p = c;
        }
        if (ret_path) {
                *ret_path = strdup_printf("%s/%s", s->run_path, dir);
                if (!*ret_path)
                        return -ENOMEM;
        }
        return 0;
}

int store_file_read(struct store *s, const char *dir, const char *name, char **ret)
{
        char path[512];
        int r = file_path(dir, name, path);

        if (r < 0)
                return r;
        return read_full_file_at(s->run_fd, path, FILE_MAX, ret, NULL);
}

int store_file_write(struct store *s, const char *dir, const char *name, const char *data)
{
        char path[512], tmp[600];
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = file_path(dir, name, path);
        if (r < 0)
                return r;
        r = store_dir_make(s, dir, NULL);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, name, (int)getpid());
        fd = openat(s->run_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        r = fchmod(fd, 0644) < 0 ? negative_errno() : 0;
        if (r >= 0)
                r = write_all(fd, data, strlen(data));
        if (r >= 0 && renameat(s->run_fd, tmp, s->run_fd, path) < 0)
                r = negative_errno();
        if (r < 0)
                (void)unlinkat(s->run_fd, tmp, 0);
        return r;
}

int store_file_remove(struct store *s, const char *dir, const char *name)
{
        char path[512];
        int r = file_path(dir, name, path);

        if (r < 0)
                return r;
        return unlinkat(s->run_fd, path, 0) < 0 ? negative_errno() : 0;
}

int store_file_open(struct store *s, const char *dir, const char *name, int flags)
{
        char path[512];
        int r = file_path(dir, name, path), fd;

        if (r < 0)
                return r;
        fd = openat(s->run_fd, path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
        return fd < 0 ? negative_errno() : fd;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List dir: real entries into *ret (when ret), temporary ones removed (when sweep). */
static int dir_scan(struct store *s, const char *dir, char ***ret, bool sweep)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        struct dirent *de;
        char path[512];
        DIR *d;
        int fd, r;

        if (!l)
                return -ENOMEM;
        r = file_path(dir, NULL, path);
        if (r < 0)
                return r;
        fd = openat(s->run_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return negative_errno();
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (fd >= 0 && !d) {
                r = negative_errno();
                close(fd);
                return r;
        }
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_name[0] == '.') {
                        if (sweep)
                                (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (strv_extend(&l, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        if (d)
                closedir(d);
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
        if (ret)
                *ret = TAKE_PTR(l);
        return 0;
}

int store_dir_list(struct store *s, const char *dir, char ***ret)
{
        return dir_scan(s, dir, ret, false);
}

int store_dir_remove(struct store *s, const char *dir)
{
        char path[512];
        int r;

        r = dir_scan(s, dir, NULL, true);
        if (r < 0)
                return r;
        r = file_path(dir, NULL, path);
        if (r < 0)
                return r;
        if (unlinkat(s->run_fd, path, AT_REMOVEDIR) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 0;
}
