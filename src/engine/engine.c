/* SPDX-License-Identifier: Apache-2.0 */
/* engine.c - the engine's context, schema and helper binaries; see engine.h. */
#include <limits.h>
#include <sys/stat.h>

#include "engine.h"
#include "error.h"
#include "hull-build.h"
#include "network.h"
#include "store.h"
#include "util.h"
#include "workload.h"

/*
 * Module "engine" of the state database. Steps are never edited once released: a change
 * is a new step. workload_volumes ties anonymous and named volumes to the containers using
 * them (a volume in use cannot be removed: the foreign key refuses it).
 */
static const struct db_migration engine_schema[] = {
        {"CREATE TABLE workloads ("
         "  id TEXT PRIMARY KEY,"
         "  name TEXT NOT NULL UNIQUE,"
         "  kind TEXT NOT NULL DEFAULT 'container',"
         "  image_id TEXT,"
         "  image_ref TEXT,"
         "  spec TEXT NOT NULL,"
         "  labels TEXT NOT NULL DEFAULT '{}',"
         "  state TEXT NOT NULL,"
         "  pid INTEGER NOT NULL DEFAULT 0,"
         "  pid_start INTEGER NOT NULL DEFAULT 0,"
         "  monitor_pid INTEGER NOT NULL DEFAULT 0,"
         "  monitor_start INTEGER NOT NULL DEFAULT 0,"
         "  exit_code INTEGER NOT NULL DEFAULT -1,"
         "  oom INTEGER NOT NULL DEFAULT 0,"
         "  error TEXT NOT NULL DEFAULT '',"
         "  created INTEGER NOT NULL,"
         "  started INTEGER NOT NULL DEFAULT 0,"
         "  finished INTEGER NOT NULL DEFAULT 0,"
         "  restart_count INTEGER NOT NULL DEFAULT 0,"
         "  health TEXT NOT NULL DEFAULT '',"
         "  command TEXT NOT NULL DEFAULT '');"
         "CREATE INDEX workloads_image ON workloads(image_id);"
         "CREATE TABLE volumes ("
         "  name TEXT PRIMARY KEY,"
         "  driver TEXT NOT NULL DEFAULT 'local',"
         "  created INTEGER NOT NULL,"
         "  labels TEXT NOT NULL DEFAULT '{}',"
         "  options TEXT NOT NULL DEFAULT '{}',"
         "  anonymous INTEGER NOT NULL DEFAULT 0);"
         "CREATE TABLE workload_volumes ("
         "  workload_id TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,"
         "  volume TEXT NOT NULL REFERENCES volumes(name),"
         "  destination TEXT NOT NULL,"
         "  PRIMARY KEY (workload_id, destination));"
         "CREATE INDEX workload_volumes_volume ON workload_volumes(volume);"},
};

/*
 * The image module's images table exists once the store was opened; a workload can only
 * name an image after that, so the trigger is made then (engine_store()).
 */
static const char images_in_use_trigger[] =
        "CREATE TRIGGER IF NOT EXISTS engine_images_in_use BEFORE DELETE ON images "
        "WHEN EXISTS (SELECT 1 FROM workloads WHERE image_id = OLD.id) "
        "BEGIN SELECT RAISE(ABORT, 'image is in use by a container'); END;";

void engine_free(struct engine *e)
{
        if (!e)
                return;
        engine_store_release(e);
        net_ctx_free(e->net);
        db_close(e->db);
        free(e->root);
        free(e->containers_dir);
        free(e->volumes_dir);
        free(e->runtime_root);
        for (int i = 0; i < _ENGINE_BIN_MAX; i++)
                free(e->bin[i]);
        free(e);
}

int engine_open(const char *root, struct engine **ret)
{
        _cleanup_engine_ struct engine *e = calloc(1, sizeof(*e));
        _cleanup_free_ char *dbpath = NULL;
        int r;

        if (!e)
                return -ENOMEM;
        e->root = strdup(root);
        e->containers_dir = strdup_printf("%s/containers", root);
        e->volumes_dir = strdup_printf("%s/volumes", root);
        e->runtime_root = strdup_printf("%s/runtime", root);
        dbpath = strdup_printf("%s/state.db", root);
        if (!e->root || !e->containers_dir || !e->volumes_dir || !e->runtime_root || !dbpath)
                return -ENOMEM;
        /* 0700: container directories hold the attach socket and the logs. */
        if (mkdir(e->containers_dir, 0700) < 0 && errno != EEXIST) {
                r = mkdir_p(e->containers_dir, 0700);
                if (r < 0)
                        return err_set(r, "cannot create '%s': %s", e->containers_dir, strerror(-r));
        }
        r = db_open(dbpath, &e->db);
        if (r < 0)
                return r;
        /* Connection settings (no checkpoint at close, mmap): db.c. */
        r = db_migrate(e->db, "engine", engine_schema, ELEMENTSOF(engine_schema));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

int engine_store(struct engine *e, struct image_store **ret)
{
        int r;

        if (!e->store) {
                r = image_store_open(e->root, &e->store);
                if (r < 0)
                        return r;
                r = db_exec(e->db, images_in_use_trigger);
                if (r < 0)
                        return r;
                (void)db_exec(image_store_db(e->store), "PRAGMA mmap_size=16777216");
        }
        *ret = e->store;
        return 0;
}

void engine_store_release(struct engine *e)
{
        image_store_close(e->store);
        e->store = NULL;
}

char *engine_container_dir(struct engine *e, const char *id)
{
        return strdup_printf("%s/%s", e->containers_dir, id);
}

static const struct {
        const char *name, *env;
} binaries[_ENGINE_BIN_MAX] = {
        [ENGINE_BIN_RUNTIME] = {"hull-runtime", "HULL_RUNTIME"},
        [ENGINE_BIN_MONITOR] = {"hull-monitor", "HULL_MONITOR"},
        [ENGINE_BIN_HULL] = {"hull", "HULL_BIN"},
        [ENGINE_BIN_IMAGE] = {"hull-image", "HULL_IMAGE"},
        [ENGINE_BIN_DNS] = {"hull-dns", "HULL_DNS"},
};

int engine_find_binary(enum engine_binary which, char **ret)
{
        int r = find_hull_binary(binaries[which].name, binaries[which].env, ret);

        if (r == -ENOENT)
                return err_set(r, "cannot find %s (set $%s, or install it next to hull or in %s)",
                               binaries[which].name, binaries[which].env, HULL_LIBEXECDIR);
        return r;
}

int engine_binary(struct engine *e, enum engine_binary which, const char **ret)
{
        if (!e->bin[which]) {
                int r = engine_find_binary(which, &e->bin[which]);
                if (r < 0)
                        return r;
        }
        *ret = e->bin[which];
        return 0;
}

int engine_list_kind(struct engine *e, const char *kind, int (*refresh)(struct engine *, struct workload *),
                     struct workload ***ret, size_t *ret_n)
{
        struct workload **l = NULL;
        size_t n = 0, k = 0;
        int r;

        r = workload_list(e->db, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                /* Other kinds have their own lifecycle; a workload removed while refreshing is gone. */
                r = streq(l[i]->kind, kind) ? refresh(e, l[i]) : -ENOENT;
                if (r == -ENOENT) {
                        err_clear();
                        workload_free(l[i]);
                        continue;
                }
                if (r < 0) {
                        for (size_t j = i; j < n; j++)
                                workload_free(l[j]);
                        workload_list_free(l, k);
                        return r;
                }
                l[k++] = l[i];
        }
        *ret = l;
        *ret_n = k;
        return 0;
}
