/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h - the engine's context: the node's state root, its database connection, the
 * image store when an operation needs it, and where hull's helper binaries are.
 *
 * Layout under the root (default /var/lib/hull, `--root`, $HULL_ROOT):
 *     state.db                 the node's SQLite database (db.h); module "engine" owns
 *                              workloads, volumes, workload_volumes (workload.h, volume.h)
 *     image/                   the image store (src/image/store.h)
 *     containers/<id>/         one directory per container (container.h): bundle
 *                              (config.json, rootfs/ mount point, upper/, work/), the
 *                              monitor's files (status, attach, ctr.log), lock
 *     volumes/<name>/_data     named volumes (volume.h)
 *     runtime/                 hull-runtime's --root (its state, the seccomp cache)
 *     run/                     the network library's runtime state (engine-net.h) when the
 *                              root is not the default one (then /run/hull)
 *
 * An engine belongs to one thread. Every operation of the CLI (and later hulld) is a
 * call taking a struct engine; cmd/ only parses and prints.
 */
#pragma once

#include "db.h"
#include "macro.h"

struct image_store;
struct net_ctx;

enum engine_binary {
        ENGINE_BIN_RUNTIME, /* hull-runtime */
        ENGINE_BIN_MONITOR, /* hull-monitor */
        ENGINE_BIN_HULL,    /* hull itself (the monitor's exit command) */
        ENGINE_BIN_IMAGE,   /* hull-image: the image transfer commands */
        ENGINE_BIN_DNS,     /* hull-dns: a user network's DNS responder (src/net) */
        _ENGINE_BIN_MAX,
        _ENGINE_BIN_INVALID = -EINVAL,
};

struct engine {
        char *root;
        char *containers_dir, *volumes_dir, *runtime_root;
        struct db *db;
        struct image_store *store; /* engine_store() opens, engine_store_release() closes */
        char *bin[_ENGINE_BIN_MAX];
        struct net_ctx *net; /* engine_net_ctx() opens it (engine-net.h) */
};

/* Open the engine state under root (created when missing) and bring its schema up to date. */
int engine_open(const char *root, struct engine **ret);
void engine_free(struct engine *e);
static inline void engine_freep(struct engine **e)
{
        engine_free(*e);
}
#define _cleanup_engine_ _cleanup_(engine_freep)

/*
 * The image store, opened on first use. It holds the store's shared lock: release it as
 * soon as the images are no longer needed, so that a long `hull run` in the foreground
 * does not keep garbage collection waiting.
 */
int engine_store(struct engine *e, struct image_store **ret);
void engine_store_release(struct engine *e);

/*
 * Path of a helper binary: $HULL_RUNTIME / $HULL_MONITOR / $HULL_BIN / $HULL_IMAGE when set,
 * else next to this executable (installed layout, and build/cmd/<name>/<name> in a build
 * tree), else HULL_LIBEXECDIR, else PATH for hull-runtime.
 */
int engine_binary(struct engine *e, enum engine_binary which, const char **ret);
/* The same without an engine (main() uses it for hull-image before opening anything). */
int engine_find_binary(enum engine_binary which, char **ret);

/* <containers_dir>/<id> (malloc'd). */
char *engine_container_dir(struct engine *e, const char *id);

struct workload;
/*
 * The workloads of one kind ("container", "vm"), each brought up to date by refresh (which
 * returns -ENOENT for one that turned out to be gone: left out). Listed in creation order.
 */
int engine_list_kind(struct engine *e, const char *kind, int (*refresh)(struct engine *, struct workload *),
                     struct workload ***ret, size_t *ret_n);
