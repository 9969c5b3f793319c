/* SPDX-License-Identifier: Apache-2.0 */
/* volume.c - named and anonymous volumes on local disk; see volume.h. */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include "error.h"
#include "json.h"
#include "status.h"
#include "runspec.h"
#include "util.h"
#include "volume.h"

void volume_info_free(struct volume_info *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->driver);
        free(v->mountpoint);
        free(v->labels);
        strv_free(v->users);
        free(v);
}

void volume_info_list_free(struct volume_info **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                volume_info_free(l[i]);
        free(l);
}

char *volume_data_path(struct engine *e, const char *name)
{
        return strdup_printf("%s/%s/_data", e->volumes_dir, name);
}

static char *volume_dir(struct engine *e, const char *name)
{
        return strdup_printf("%s/%s", e->volumes_dir, name);
}

int volume_create(struct engine *e, const char *name, char **labels, bool anonymous)
{
        _cleanup_free_ char *lj = NULL, *dir = volume_dir(e, name), *data = volume_data_path(e, name);
        int r;

        if (!dir || !data)
                return -ENOMEM;
        r = runspec_labels_json(labels, &lj);
        if (r < 0)
                return r;
        r = db_run(e->db, "INSERT INTO volumes (name, created, labels, anonymous) VALUES (?, ?, ?, ?)",
                   "sisi", name, now_ns(), lj, (int64_t)anonymous);
        if (r == -EEXIST) {
                err_clear();
                return err_set(-EEXIST, "volume '%s' already exists", name);
        }
        if (r < 0)
                return r;
        /* A directory without a row is what a killed create or rm left: it is not this volume's. */
        rm_rf(dir);
        r = mkdir_p(data, 0755);
        if (r < 0) {
                db_run(e->db, "DELETE FROM volumes WHERE name = ?", "s", name);
                return err_set(r, "cannot create '%s': %s", data, strerror(-r));
        }
        return 0;
}

int volume_claim(struct engine *e, const char *name, bool anonymous)
{
        int r = db_run(e->db, "INSERT OR IGNORE INTO volumes (name, created, anonymous) VALUES (?, ?, ?)",
                       "sii", name, now_ns(), (int64_t)anonymous);
        return r < 0 ? r : 0;
}

int volume_prepare(struct engine *e, const char *name)
{
        _cleanup_free_ char *data = volume_data_path(e, name);
        int r;

        if (!data)
                return -ENOMEM;
        r = mkdir_p(data, 0755);
        if (r < 0)
                return err_set(r, "cannot create the volume directory '%s': %s", data, strerror(-r));
        return 0;
}

/* The first column of every row of sql (one string argument) as a strv. */
static int query_strv(struct engine *e, const char *sql, const char *arg, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = db_prepare(e->db, &st, sql, "s", arg);
        if (r < 0)
                return r;
        while ((r = db_step(e->db, st)) > 0)
                if (strv_extend(&l, db_column_str(st, 0)) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int users_of(struct engine *e, const char *name, char ***ret)
{
        return query_strv(e,
                          "SELECT w.name FROM workload_volumes v JOIN workloads w ON w.id = v.workload_id "
                          "WHERE v.volume = ? ORDER BY w.name",
                          name, ret);
}

static int info_from_row(struct engine *e, sqlite3_stmt *st, struct volume_info **ret)
{
        _cleanup_volume_info_ struct volume_info *v = calloc(1, sizeof(*v));
        int r;

        if (!v)
                return -ENOMEM;
        v->name = strdup(db_column_str(st, 0));
        v->driver = strdup(db_column_str(st, 1));
        v->created = sqlite3_column_int64(st, 2);
        v->labels = strdup(db_column_str(st, 3));
        v->anonymous = sqlite3_column_int(st, 4) != 0;
        if (!v->name || !v->driver || !v->labels)
                return -ENOMEM;
        v->mountpoint = volume_data_path(e, v->name);
        if (!v->mountpoint)
                return -ENOMEM;
        r = users_of(e, v->name, &v->users);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int volume_inspect(struct engine *e, const char *name, struct volume_info **ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = db_prepare(e->db, &st,
                       "SELECT name, driver, created, labels, anonymous FROM volumes WHERE name = ?", "s",
                       name);
        if (r < 0)
                return r;
        r = db_step(e->db, st);
        if (r < 0)
                return r;
        if (r == 0)
                return err_set(-ENOENT, "no such volume '%s'", name);
        return info_from_row(e, st, ret);
}

int volume_list(struct engine *e, struct volume_info ***ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct volume_info **l = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(e->db, &st,
                       "SELECT name, driver, created, labels, anonymous FROM volumes ORDER BY name", "");
        if (r < 0)
                return r;
        while ((r = db_step(e->db, st)) > 0) {
                struct volume_info **m = realloc(l, (n + 1) * sizeof(*l));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                l = m;
                r = info_from_row(e, st, &l[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                volume_info_list_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int volume_remove(struct engine *e, const char *name)
{
        _cleanup_strv_free_ char **users = NULL;
        _cleanup_free_ char *dir = volume_dir(e, name);
        int r;

        if (!dir)
                return -ENOMEM;
        r = db_begin(e->db);
        if (r < 0)
                return r;
        r = users_of(e, name, &users);
        if (r >= 0 && users && users[0])
                r = err_set(-EBUSY, "volume '%s' is in use by container %s", name, users[0]);
        if (r >= 0) {
                r = db_run(e->db, "DELETE FROM volumes WHERE name = ?", "s", name);
                if (r == 0)
                        r = err_set(-ENOENT, "no such volume '%s'", name);
        }
        if (r < 0) {
                db_rollback(e->db);
                return r;
        }
        /* Rename first, so that a kill during the removal never leaves a half-empty volume under its name.
         */
        {
                _cleanup_free_ char *trash = strdup_printf("%s/.removing-%s", e->volumes_dir, name);
                if (!trash) {
                        db_rollback(e->db);
                        return -ENOMEM;
                }
                if (rename(dir, trash) < 0 && errno != ENOENT) {
                        r = negative_errno();
                        db_rollback(e->db);
                        return err_set(r, "cannot remove '%s': %s", dir, strerror(-r));
                }
                r = db_commit(e->db);
                if (r < 0)
                        return r;
                rm_rf(trash);
        }
        return 0;
}

int volume_prune(struct engine *e, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_strv_free_ char **candidates = NULL, **removed = NULL;
        int r;

        r = db_prepare(e->db, &st,
                       "SELECT name FROM volumes WHERE name NOT IN (SELECT volume FROM workload_volumes) "
                       "ORDER BY name",
                       "");
        if (r < 0)
                return r;
        while ((r = db_step(e->db, st)) > 0)
                if (strv_extend(&candidates, db_column_str(st, 0)) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        STRV_FOREACH (n, candidates) {
                r = volume_remove(e, *n);
                if (r == -EBUSY || r == -ENOENT) {
                        /* Taken (or removed) by someone else meanwhile. */
                        err_clear();
                        continue;
                }
                if (r < 0)
                        return r;
                if (strv_extend(&removed, *n) < 0)
                        return -ENOMEM;
        }
        /* Leftovers of removals a kill interrupted. */
        {
                DIR *d = opendir(e->volumes_dir);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (startswith(de->d_name, ".removing-")) {
                                _cleanup_free_ char *p = strdup_printf("%s/%s", e->volumes_dir, de->d_name);
                                if (p)
                                        rm_rf(p);
                        }
                if (d)
                        closedir(d);
        }
        if (!removed && !(removed = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(removed);
        return 0;
}

int volume_attach(struct engine *e, const char *workload_id, const char *name, const char *destination)
{
        int r = db_run(e->db,
                       "INSERT INTO workload_volumes (workload_id, volume, destination) VALUES (?, ?, ?)",
                       "sss", workload_id, name, destination);
        return r < 0 ? r : 0;
}

int volume_anonymous_of(struct engine *e, const char *workload_id, char ***ret)
{
        return query_strv(e,
                          "SELECT v.name FROM workload_volumes wv JOIN volumes v ON v.name = wv.volume "
                          "WHERE wv.workload_id = ? AND v.anonymous = 1",
                          workload_id, ret);
}

bool volume_is_empty(struct engine *e, const char *name)
{
        _cleanup_free_ char *data = volume_data_path(e, name);
        DIR *d;
        struct dirent *de;
        bool empty = true;

        if (!data || !(d = opendir(data)))
                return false;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        empty = false;
                        break;
                }
        closedir(d);
        return empty;
}
