/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - keyed rows under <state>/net and <run>/net with one flock; see store.h. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "error.h"
#include "json.h"
#include "store.h"
#include "util.h"

#define ROW_MAX (1u << 20)

struct store {
        char *path, *run_path;
        char *lock_path;
        int dir_fd, run_fd;
        int lock_fd;
        unsigned lock_depth;
};

/* Tables that outlive a reboot; every other one is runtime state (store.h). */
static const char *const persistent_tables[] = {"networks", "node"};

static int open_dir(const char *path, int *ret)
{
        int r = mkdir_p(path, 0711);

        if (r < 0)
                return err_set(r, "cannot create state directory '%s': %s", path, strerror(-r));
        *ret = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (*ret < 0)
                return err_set(negative_errno(), "cannot open state directory '%s': %m", path);
        return 0;
}

int store_open(const char *state_root, const char *run_root, struct store **ret)
{
        struct store *s;
        int r;

        if (!run_root)
                run_root = state_root;
        if (!state_root || state_root[0] != '/' || run_root[0] != '/')
                return err_set(-EINVAL, "state directories must be absolute paths, got '%s' and '%s'",
                               strempty(state_root), strempty(run_root));
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dir_fd = s->run_fd = s->lock_fd = -EBADF;
        s->path = strdup_printf("%s/net", state_root);
        s->run_path = strdup_printf("%s/net", run_root);
        s->lock_path = strdup_printf("%s/net/lock", state_root);
        if (!s->path || !s->run_path || !s->lock_path) {
                store_free(s);
                return -ENOMEM;
        }
        r = open_dir(s->path, &s->dir_fd);
        if (r >= 0)
                r = open_dir(s->run_path, &s->run_fd);
        if (r < 0) {
                store_free(s);
                return r;
        }
        /* The lock file is world-readable: the unprivileged DNS responder flocks it (LOCK_EX works on
         * a read-only fd) before it exits on its own, so that it never races an attach. */
        s->lock_fd = openat(s->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (s->lock_fd < 0) {
                r = err_set(negative_errno(), "cannot open '%s': %m", s->lock_path);
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
        safe_close(s->lock_fd);
        safe_close(s->dir_fd);
        safe_close(s->run_fd);
        free(s->path);
        free(s->run_path);
        free(s->lock_path);
        free(s);
}

const char *store_run_path(struct store *s)
{
        return s->run_path;
}

int store_run_fd(struct store *s)
{
        return s->run_fd;
}

/* The directory fd a table lives under. */
static int table_fd(struct store *s, const char *table)
{
        size_t n = strcspn(table, "/");

        for (size_t i = 0; i < ELEMENTSOF(persistent_tables); i++)
                if (strlen(persistent_tables[i]) == n && strncmp(table, persistent_tables[i], n) == 0)
                        return s->dir_fd;
        return s->run_fd;
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

/* Table names are ours ("leases/<netid>"); they are checked anyway so no row escapes the store. */
static bool table_valid(const char *table)
{
        if (!table || !*table || table[0] == '/' || strstr(table, ".."))
                return false;
        return true;
}

static int table_path(const char *table, const char *key, char *buf, size_t size)
{
        if (!table_valid(table) || (key && !store_key_valid(key)))
                return -EINVAL;
        if ((size_t)snprintf(buf, size, "%s%s%s", table, key ? "/" : "", key ? key : "") >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int table_mkdir(struct store *s, const char *table)
{
        char buf[512];

        if (strlen(table) >= sizeof(buf))
                return -ENAMETOOLONG;
        snprintf(buf, sizeof(buf), "%s", table);
        for (char *p = buf;; p++) {
                if (*p == '/' || *p == 0) {
                        char c = *p;
                        *p = 0;
                        if (mkdirat(table_fd(s, table), buf, 0755) < 0) {
                                if (errno != EEXIST)
                                        return negative_errno();
                        } else if (fchmodat(table_fd(s, table), buf, 0755, 0) < 0)
                                /* Whatever the caller's umask: the unprivileged DNS responder reads
                                 * its table through these directories. */
                                return negative_errno();
                        if (c == 0)
                                return 0;
                        *p = c;
                }
        }
}

int store_read(struct store *s, const char *table, const char *key, char **ret)
{
        char path[512];
        int r;

        r = table_path(table, key, path, sizeof(path));
        if (r < 0)
                return r;
        return read_full_file_at(table_fd(s, table), path, ROW_MAX, ret, NULL);
}

static int write_row(struct store *s, const char *table, const char *key, const char *data, bool excl)
{
        char path[512], tmp[600];
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = table_path(table, key, path, sizeof(path));
        if (r < 0)
                return r;
        for (int attempt = 0;; attempt++) {
                if (excl)
                        fd = openat(table_fd(s, table), path,
                                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                else {
                        snprintf(tmp, sizeof(tmp), "%s/.%s.%d", table, key, (int)getpid());
                        fd = openat(table_fd(s, table), tmp,
                                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
                }
                if (fd >= 0)
                        break;
                if (errno != ENOENT || attempt > 0)
                        return negative_errno();
                r = table_mkdir(s, table);
                if (r < 0)
                        return r;
        }
        r = fchmod(fd, 0644) < 0 ? negative_errno() : 0;
        if (r >= 0)
                r = write_all(fd, data, strlen(data));
        if (r < 0) {
                (void)unlinkat(table_fd(s, table), excl ? path : tmp, 0);
                return r;
        }
        if (!excl && renameat(table_fd(s, table), tmp, table_fd(s, table), path) < 0) {
                r = negative_errno();
                (void)unlinkat(table_fd(s, table), tmp, 0);
                return r;
        }
        return 0;
}

int store_write(struct store *s, const char *table, const char *key, const char *data)
{
        return write_row(s, table, key, data, false);
}

int store_create(struct store *s, const char *table, const char *key, const char *data)
{
        return write_row(s, table, key, data, true);
}

int store_remove(struct store *s, const char *table, const char *key)
{
        char path[512];
        int r;

        r = table_path(table, key, path, sizeof(path));
        if (r < 0)
                return r;
        if (unlinkat(table_fd(s, table), path, 0) < 0)
                return negative_errno();
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int open_table(struct store *s, const char *table, DIR **ret)
{
        char path[512];
        int fd, r;
        DIR *d;

        r = table_path(table, NULL, path, sizeof(path));
        if (r < 0)
                return r;
        fd = openat(table_fd(s, table), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int store_keys(struct store *s, const char *table, char ***ret)
{
        _cleanup_strv_free_ char **keys = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;
        int r;

        r = open_table(s, table, &d);
        if (r == -ENOENT) {
                keys = calloc(1, sizeof(char *));
                if (!keys)
                        return -ENOMEM;
                *ret = TAKE_PTR(keys);
                return 0;
        }
        if (r < 0)
                return r;
        keys = calloc(1, sizeof(char *));
        while (keys && (de = readdir(d))) {
                if (de->d_name[0] == '.' || !store_key_valid(de->d_name))
                        continue;
                r = strv_extend(&keys, de->d_name);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
                n++;
        }
        closedir(d);
        if (!keys)
                return -ENOMEM;
        qsort(keys, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(keys);
        return 0;
}

int store_sweep(struct store *s, const char *table)
{
        struct dirent *de;
        DIR *d;
        int r;

        r = open_table(s, table, &d);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                if (de->d_name[0] != '.' || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
        return 0;
}

int store_drop_table(struct store *s, const char *table)
{
        char path[512];
        int r;

        r = table_path(table, NULL, path, sizeof(path));
        if (r < 0)
                return r;
        (void)store_sweep(s, table);
        if (unlinkat(table_fd(s, table), path, AT_REMOVEDIR) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 0;
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

int store_subdir(struct store *s, const char *sub, char **ret_path)
{
        char *path;
        int r;

        if (!table_valid(sub))
                return -EINVAL;
        r = table_mkdir(s, sub);
        if (r < 0)
                return r;
        path = strdup_printf("%s/%s", table_fd(s, sub) == s->dir_fd ? s->path : s->run_path, sub);
        if (!path)
                return -ENOMEM;
        *ret_path = path;
        return 0;
}
