/* SPDX-License-Identifier: Apache-2.0 */
/* workload.c - the workloads table; see workload.h. */
#include <sys/random.h>

#include "error.h"
#include "util.h"
#include "workload.h"

static const char *const state_names[_WORKLOAD_STATE_MAX] = {
        [WORKLOAD_CREATING] = "creating",     [WORKLOAD_CREATED] = "created",
        [WORKLOAD_RUNNING] = "running",       [WORKLOAD_PAUSED] = "paused",
        [WORKLOAD_RESTARTING] = "restarting", [WORKLOAD_STOPPING] = "stopping",
        [WORKLOAD_EXITED] = "exited",         [WORKLOAD_REMOVING] = "removing",
};

const char *workload_state_to_string(enum workload_state s)
{
        return s >= 0 && s < _WORKLOAD_STATE_MAX ? state_names[s] : "unknown";
}

enum workload_state workload_state_from_string(const char *s)
{
        for (int i = 0; i < _WORKLOAD_STATE_MAX; i++)
                if (streq(s, state_names[i]))
                        return (enum workload_state)i;
        return _WORKLOAD_STATE_INVALID;
}

void workload_free(struct workload *w)
{
        if (!w)
                return;
        free(w->id);
        free(w->name);
        free(w->kind);
        free(w->image_id);
        free(w->image_ref);
        free(w->spec);
        free(w->labels);
        free(w->error);
        free(w->health);
        free(w->command);
        free(w);
}

void workload_list_free(struct workload **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                workload_free(l[i]);
        free(l);
}

#define COLUMNS                                                                                   \
        "id, name, kind, image_id, image_ref, spec, labels, state, pid, pid_start, monitor_pid, " \
        "monitor_start, "                                                                         \
        "exit_code, oom, error, created, started, finished, restart_count, health, command"

static int from_row(sqlite3_stmt *st, struct workload **ret)
{
        _cleanup_workload_ struct workload *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->id = strdup(db_column_str(st, 0));
        w->name = strdup(db_column_str(st, 1));
        w->kind = strdup(db_column_str(st, 2));
        w->image_id = strdup(db_column_str(st, 3));
        w->image_ref = strdup(db_column_str(st, 4));
        w->spec = strdup(db_column_str(st, 5));
        w->labels = strdup(db_column_str(st, 6));
        w->state = workload_state_from_string(db_column_str(st, 7));
        w->pid = sqlite3_column_int64(st, 8);
        w->pid_start = sqlite3_column_int64(st, 9);
        w->monitor_pid = sqlite3_column_int64(st, 10);
        w->monitor_start = sqlite3_column_int64(st, 11);
        w->exit_code = sqlite3_column_int(st, 12);
        w->oom = sqlite3_column_int(st, 13) != 0;
        w->error = strdup(db_column_str(st, 14));
        w->created = sqlite3_column_int64(st, 15);
        w->started = sqlite3_column_int64(st, 16);
        w->finished = sqlite3_column_int64(st, 17);
        w->restart_count = sqlite3_column_int(st, 18);
        w->health = strdup(db_column_str(st, 19));
        w->command = strdup(db_column_str(st, 20));
        if (!w->command || !w->id || !w->name || !w->kind || !w->image_id || !w->image_ref || !w->spec ||
            !w->labels || !w->error || !w->health)
                return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

int workload_insert(struct db *db, const struct workload *w)
{
        _cleanup_free_ char *holder = NULL;
        int r;

        r = db_run(db,
                   "INSERT INTO workloads (id, name, kind, image_id, image_ref, spec, labels, state, "
                   "created, command) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "ssssssssis", w->id, w->name, w->kind ?: "container", w->image_id, w->image_ref, w->spec,
                   w->labels ?: "{}", workload_state_to_string(w->state), w->created, w->command ?: "");
        if (r != -EEXIST)
                return r < 0 ? r : 0;
        err_clear();
        if (db_query_str(db, &holder, "SELECT id FROM workloads WHERE name = ?", "s", w->name) > 0)
                return err_set(-EEXIST, "the name '%s' is already in use by container %.12s", w->name,
                               holder);
        return err_set(-EEXIST, "container id %.12s exists already", w->id);
}

static int query_one(struct db *db, struct workload **ret, const char *sql, const char *arg)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = db_prepare(db, &st, sql, "s", arg);
        if (r < 0)
                return r;
        r = db_step(db, st);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        return from_row(st, ret);
}

int workload_get(struct db *db, const char *id, struct workload **ret)
{
        int r = query_one(db, ret, "SELECT " COLUMNS " FROM workloads WHERE id = ?", id);
        if (r == -ENOENT)
                return err_set(-ENOENT, "no such container '%.12s'", id);
        return r;
}

static bool is_hex_prefix(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

int workload_find(struct db *db, const char *name_or_id, struct workload **ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_free_ char *pattern = NULL;
        int r;

        /* A name wins over an id prefix (podman's order), then the full id, then a unique prefix. */
        r = query_one(db, ret, "SELECT " COLUMNS " FROM workloads WHERE name = ?", name_or_id);
        if (r != -ENOENT)
                return r;
        if (!is_hex_prefix(name_or_id))
                return err_set(-ENOENT, "no such container '%s'", name_or_id);
        pattern = strdup_printf("%s*", name_or_id);
        if (!pattern)
                return -ENOMEM;
        r = db_prepare(db, &st, "SELECT " COLUMNS " FROM workloads WHERE id GLOB ? LIMIT 2", "s", pattern);
        if (r < 0)
                return r;
        r = db_step(db, st);
        if (r < 0)
                return r;
        if (r == 0)
                return err_set(-ENOENT, "no such container '%s'", name_or_id);
        r = from_row(st, &w);
        if (r < 0)
                return r;
        r = db_step(db, st);
        if (r < 0)
                return r;
        if (r > 0)
                return err_set(-EINVAL, "the id prefix '%s' names more than one container: give more digits",
                               name_or_id);
        *ret = TAKE_PTR(w);
        return 0;
}

int workload_list(struct db *db, struct workload ***ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct workload **l = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(db, &st, "SELECT " COLUMNS " FROM workloads ORDER BY created DESC", "");
        if (r < 0)
                return r;
        while ((r = db_step(db, st)) > 0) {
                struct workload **m = realloc(l, (n + 1) * sizeof(*l));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                l = m;
                r = from_row(st, &l[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                workload_list_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int workload_update_status(struct db *db, const struct workload *w)
{
        int r = db_run(db,
                       "UPDATE workloads SET state = ?, pid = ?, pid_start = ?, monitor_pid = ?, "
                       "monitor_start = ?, "
                       "exit_code = ?, oom = ?, error = ?, started = ?, finished = ?, restart_count = ?, "
                       "health = ? "
                       "WHERE id = ?",
                       "siiiiiisiiiss", workload_state_to_string(w->state), w->pid, w->pid_start,
                       w->monitor_pid, w->monitor_start, (int64_t)w->exit_code, (int64_t)w->oom,
                       w->error ?: "", w->started, w->finished, (int64_t)w->restart_count, w->health ?: "",
                       w->id);
        if (r == 0)
                return err_set(-ENOENT, "no such container '%.12s'", w->id);
        return r < 0 ? r : 0;
}

int workload_set_state(struct db *db, const char *id, enum workload_state s)
{
        int r = db_run(db, "UPDATE workloads SET state = ? WHERE id = ?", "ss", workload_state_to_string(s),
                       id);
        if (r == 0)
                return err_set(-ENOENT, "no such container '%.12s'", id);
        return r < 0 ? r : 0;
}

int workload_rename(struct db *db, const char *id, const char *name)
{
        _cleanup_free_ char *holder = NULL;
        int r = db_run(db, "UPDATE workloads SET name = ? WHERE id = ?", "ss", name, id);

        if (r == -EEXIST) {
                err_clear();
                if (db_query_str(db, &holder, "SELECT id FROM workloads WHERE name = ?", "s", name) > 0)
                        return err_set(-EEXIST, "the name '%s' is already in use by container %.12s", name,
                                       holder);
        }
        if (r == 0)
                return err_set(-ENOENT, "no such container '%.12s'", id);
        return r < 0 ? r : 0;
}

int workload_set_spec(struct db *db, const char *id, const char *spec)
{
        int r = db_run(db, "UPDATE workloads SET spec = ? WHERE id = ?", "ss", spec, id);
        if (r == 0)
                return err_set(-ENOENT, "no such container '%.12s'", id);
        return r < 0 ? r : 0;
}

int workload_delete(struct db *db, const char *id)
{
        int r = db_run(db, "DELETE FROM workloads WHERE id = ?", "s", id);
        return r < 0 ? r : 0;
}

int workload_image_users(struct db *db, const char *image_id, char **ret_first_name)
{
        int64_t n = 0;
        int r = db_query_int(db, &n, "SELECT COUNT(*) FROM workloads WHERE image_id = ?", "s", image_id);

        if (r < 0)
                return r;
        if (n > 0 && ret_first_name) {
                r = db_query_str(db, ret_first_name, "SELECT name FROM workloads WHERE image_id = ? LIMIT 1",
                                 "s", image_id);
                if (r < 0)
                        return r;
        }
        return (int)n;
}

int workload_new_id(char ret[65])
{
        uint8_t b[32];
        static const char hex[] = "0123456789abcdef";

        if (getrandom(b, sizeof(b), 0) != sizeof(b))
                return negative_errno();
        for (size_t i = 0; i < sizeof(b); i++) {
                ret[2 * i] = hex[b[i] >> 4];
                ret[2 * i + 1] = hex[b[i] & 15];
        }
        ret[64] = 0;
        return 0;
}

/* Names in the style users know from Docker: an adjective and a noun (our own lists). */
static const char *const adjectives[] = {
        "amber",  "bold",   "brave",  "bright", "calm",   "clever", "cosmic", "crisp",   "daring", "eager",
        "fancy",  "gentle", "glad",   "golden", "happy",  "hardy",  "honest", "jolly",   "keen",   "kind",
        "lively", "lucky",  "mellow", "merry",  "modest", "nimble", "noble",  "patient", "plucky", "polite",
        "proud",  "quick",  "quiet",  "rapid",  "ready",  "silent", "sleepy", "smart",   "snowy",  "solid",
        "steady", "sunny",  "swift",  "tidy",   "tender", "upbeat", "vivid",  "warm",    "wise",   "witty",
};
static const char *const nouns[] = {
        "anchor",  "badger",  "beacon", "bison",   "canyon", "cedar",   "comet",  "condor",  "coral",
        "delta",   "ember",   "falcon", "fjord",   "garnet", "glacier", "harbor", "heron",   "island",
        "jaguar",  "kestrel", "lagoon", "lantern", "maple",  "meadow",  "nebula", "otter",   "osprey",
        "pebble",  "pine",    "quartz", "raven",   "reef",   "ridge",   "river",  "saffron", "sequoia",
        "sparrow", "summit",  "tundra", "valley",  "walrus", "willow",  "yarrow", "zephyr",  "acorn",
        "basalt",  "cobalt",  "dune",   "fern",    "lynx",
};

int workload_new_name(struct db *db, char **ret)
{
        for (int attempt = 0; attempt < 64; attempt++) {
                uint32_t x;
                _cleanup_free_ char *name = NULL;
                int64_t n = 0;
                int r;

                if (getrandom(&x, sizeof(x), 0) != sizeof(x))
                        return negative_errno();
                name = attempt < 32 ? strdup_printf("%s_%s", adjectives[x % ELEMENTSOF(adjectives)],
                                                    nouns[(x >> 16) % ELEMENTSOF(nouns)])
                                    : strdup_printf("%s_%s_%u", adjectives[x % ELEMENTSOF(adjectives)],
                                                    nouns[(x >> 16) % ELEMENTSOF(nouns)], (x >> 8) % 1000);
                if (!name)
                        return -ENOMEM;
                r = db_query_int(db, &n, "SELECT COUNT(*) FROM workloads WHERE name = ?", "s", name);
                if (r < 0)
                        return r;
                if (n == 0) {
                        *ret = TAKE_PTR(name);
                        return 0;
                }
        }
        return err_set(-EEXIST, "cannot find a free container name: give one with --name");
}
