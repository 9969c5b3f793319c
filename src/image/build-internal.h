/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-internal.h - what the files of the build executor share (build.h is
 * the public side).
 *
 *   build.c         inputs, stages, variables, the final image
 *   build-step.c    the cached steps: RUN, COPY/ADD, WORKDIR, config changes
 *   build-config.c  the image config JSON each instruction changes
 *   build-cache.c   cache keys and the build_cache table
 *   build-copy.c    COPY/ADD sources: matching, hashing, copying, archives
 *   build-passwd.c  users and groups of the image (USER, --chown)
 *   build-run.c     RUN through hull-runtime
 *   build-layer.c   overlay mounts of a stage and commits of upper directories
 *   build-dir.c     the build's directory, its lock, and stale builds
 *
 * A struct build_state is what a stage is after some steps: the image that holds
 * its layers and the config JSON. It owns both. The state's key chains every
 * step before it (build-cache.c).
 */
#pragma once

#include <json-c/json.h>
#include <sys/types.h>

#include "build.h"
#include "dockerfile.h"
#include "dockerignore.h"
#include "manifest.h"
#include "rootfs.h"
#include "sha256.h"
#include "store.h"

/* Bumped when the meaning of a key changes, so that old cache rows stop matching. */
#define BUILD_CACHE_VERSION "hull-build-cache-1"

struct build_state {
        char *image_id;             /* image holding the layers; NULL when there are none (scratch) */
        struct json_object *config; /* the image config */
        char *config_text;          /* the stored text of config; NULL once config changed */
        char key[SHA256_HEX_LEN + 1];
};

void build_state_done(struct build_state *st);
int build_state_copy(const struct build_state *from, struct build_state *to);
/* The config as text (serialised when it changed); borrowed from st. */
const char *build_state_text(struct build_state *st);
/* Replace the config with a parsed copy of text (a cache hit). */
int build_state_set(struct build_state *st, const char *image_id, const char *config_text);

struct build {
        struct image_store *store;
        const struct build_options *o;
        char *dir; /* <root>/build/<id> */
        char *id;  /* random hex, also in container ids */
        int lock_fd;
        unsigned n_containers;
        /* Progress context of the running step. */
        unsigned stage, n_stages, step, n_steps, line;
        uint64_t step_start_ns, last_tick_ns;
};

/* ------------------------------------------------------------------ build.c */
struct build_stage {
        size_t first, end; /* instructions [first, end); first is the FROM */
        const char *name;  /* borrowed from the instruction */
        bool needed, built, cmd_set;
        unsigned number;
        char **args; /* ARG values in scope, "K=V" */
        struct build_state state;
};

struct build_exec {
        struct build b;
        struct dockerfile *df;
        struct dockerignore *ignore;
        bool ignore_exceptions;
        int context_fd;
        struct build_stage *stages;
        size_t n_stages;
        char **global_args; /* "K=V" */
        char **build_args;  /* --build-arg, "K=V" */
        char **used_args;   /* names of build args some ARG consumed */
        char **tags;        /* normalised */
};

/* Variables: "K=V" lists where the last definition wins. */
const char *build_env_get(char *const *l, const char *name);
int build_env_set(char ***l, const char *name, const char *value);
/* The value of build arg name, which counts as used from then on; NULL when not given. */
const char *build_arg_value(struct build_exec *x, const char *name);
/* What a stage's instructions expand with: its ARGs, then its ENV. */
int build_stage_env(struct build_stage *s, char ***ret);
/* dockerfile_expand() with the Dockerfile's escape; errors get the instruction's line. */
int build_expand(struct build_exec *x, const struct dockerfile_instruction *in, const char *word,
                 char *const *env, char **ret);
int build_expand_all(struct build_exec *x, const struct dockerfile_instruction *in, char *const *words,
                     char *const *env, char ***ret);
/* The key=value arguments of ENV, LABEL or ARG as written, quotes still in place. */
int build_raw_pairs(const struct dockerfile_instruction *in, char escape, char ***ret);
/* A stored image (pulled when missing) as a state. */
int build_image_state(struct build_exec *x, const char *name, struct build_state *st);

/* ------------------------------------------------------------------ build-step.c */
/* Docker's predefined proxy args: RUN sees them undeclared, and an unused one is no mistake. */
bool build_arg_predefined(const char *name);
int build_step_meta(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in);
int build_step_run(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in);
int build_step_workdir(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in);
int build_step_copy(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in);

void build_emit(struct build *b, enum build_event_type type, const char *text, const char *id,
                const char *data, size_t len);
/* Emit a tick when the last one is 100 ms old. Returns -ECANCELED when the build is being cancelled. */
int build_tick(struct build *b);
uint64_t build_now_ns(void);

/* ------------------------------------------------------------------ build-config.c */
/* Add v to an object / an array; v is consumed, also on failure (NULL, a failed allocation, is -ENOMEM). */
int build_json_add(struct json_object *o, const char *key, struct json_object *v);
int build_json_push(struct json_object *a, struct json_object *v);
int build_config_scratch(struct json_object **ret);
/* config.<field> as a string (borrowed) or NULL. */
const char *build_config_string(struct json_object *cfg, const char *field);
/* config.<field> as a strv copy (NULL when absent). */
int build_config_strv(struct json_object *cfg, const char *field, char ***ret);
int build_config_set_string(struct json_object *cfg, const char *field, const char *value);
/* value NULL removes the field. */
int build_config_set_strv(struct json_object *cfg, const char *field, char *const *value);
int build_config_set_env(struct json_object *cfg, const char *key, const char *value);
int build_config_set_label(struct json_object *cfg, const char *key, const char *value);
int build_config_add_volume(struct json_object *cfg, const char *path);
/* "80", "80/tcp", "8000-8002/udp" (each port of a range is added). */
int build_config_expose(struct json_object *cfg, const char *spec);
/* test: ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]; flags as HEALTHCHECK's. */
int build_config_healthcheck(struct json_object *cfg, char *const *test, char *const *flags);
int build_config_set_author(struct json_object *cfg, const char *author);
/* Append a history entry and set "created" to now. */
int build_config_history(struct json_object *cfg, const char *created_by, bool empty_layer);
int build_config_add_diff_id(struct json_object *cfg, const char *diff_id);
/* Resolve a WORKDIR argument against the current one into a clean absolute path. */
char *build_path_join(const char *base, const char *path);

/* ------------------------------------------------------------------ build-cache.c */
struct build_key {
        struct sha256_ctx *ctx;
};
int build_key_begin(struct build_key *k, const char *prev, const char *what);
void build_key_add(struct build_key *k, const char *s);
void build_key_add_strv(struct build_key *k, char *const *l);
void build_key_add_u64(struct build_key *k, uint64_t v);
void build_key_finish(struct build_key *k, char ret[SHA256_HEX_LEN + 1]);
void build_key_abort(struct build_key *k);

int build_cache_init(struct image_store *s);
/* 1 and the row when key is cached and its image still exists; 0 when not. */
int build_cache_get(struct image_store *s, const char *key, char **ret_image_id, char **ret_config);
int build_cache_put(struct image_store *s, const char *key, const char *image_id, const char *config);

/* ------------------------------------------------------------------ build-passwd.c */
struct build_user {
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary groups (from /etc/group) */
        size_t n_groups;
};
void build_user_done(struct build_user *u);
/*
 * Resolve "user[:group]" (names or numbers) in the image's /etc/passwd and /etc/group,
 * read through root_fd with chase.h. groups: also collect the supplementary groups
 * (USER does, --chown does not). gid_from_uid: a user without group takes the uid as
 * gid (--chown), not the user's primary group (USER).
 */
int build_user_lookup(int root_fd, const char *spec, bool groups, bool gid_from_uid, struct build_user *ret);
/*
 * The parsers, on the text of the files (for tests): 1 when found, 0 when not. passwd_find()
 * matches name, or *uid when name is NULL, and gives the entry's uid, gid and name (ret_name
 * may be NULL).
 */
int passwd_find(const char *buf, size_t len, const char *name, uid_t *uid, gid_t *ret_gid, char **ret_name);
int group_find(const char *buf, size_t len, const char *name, gid_t *ret_gid);
int group_members(const char *buf, size_t len, const char *user, gid_t **ret, size_t *ret_n);

/* ------------------------------------------------------------------ build-copy.c */
struct copy_source {
        int root_fd;                       /* context directory or a mounted stage */
        const struct dockerignore *ignore; /* context only */
        bool ignore_exceptions;            /* the .dockerignore has "!" patterns */
        bool keep_owner;                   /* --from: owners as in the source; context: root */
        const char *what;                  /* "build context" or "stage 'builder'" for messages */
};

struct copy_spec {
        char **srcs;      /* expanded source patterns */
        const char *dest; /* absolute, expanded */
        bool dest_is_dir; /* written with a trailing '/' */
        bool add;         /* unpack local tar archives */
        uid_t uid;        /* (uid_t)-1: no --chown */
        gid_t gid;
        mode_t mode;           /* (mode_t)-1: no --chmod */
        const char *stage_dir; /* scratch directory for archives */
        struct build *b;       /* for ticks and cancellation; may be NULL */
};

/* Parse --chmod: octal, up to 07777. */
int copy_parse_chmod(const char *s, mode_t *ret);
/* Match the patterns against the source: relative paths (malloc'd strv, "" is the root). */
int copy_match(const struct copy_source *src, char *const *patterns, char ***ret);
/* Add the names, types, modes, owners and contents of the matched paths to the key. */
int copy_hash(const struct copy_source *src, char *const *paths, struct build_key *k);
/* Copy the matched paths into the tree of dest_root_fd following Docker's rules. */
int copy_run(const struct copy_source *src, char *const *paths, const struct copy_spec *spec,
             int dest_root_fd);
/*
 * Resolve the absolute directory path in the tree of root_fd (chase.h), creating the missing
 * components (0755, owned by uid:gid unless uid is (uid_t)-1). Returns an O_PATH fd of it;
 * *created tells whether its last component was made here.
 */
int copy_mkdir(int root_fd, const char *path, uid_t uid, gid_t gid, bool *created);
/* Whether fd (a regular file) is a tar archive, plain or compressed with gzip, bzip2 or xz. */
bool copy_is_archive(int fd);

/* ------------------------------------------------------------------ build-layer.c */
struct build_mount {
        char *dir;    /* <build dir>/<name> */
        char *rootfs; /* <dir>/rootfs */
        char *upper;  /* <dir>/upper */
        int root_fd;  /* O_PATH of rootfs while mounted, for chase.h */
        enum rootfs_mode mode;
        bool mounted;
};
/* -ENOENT with a message when the image holding the state's layers is gone. */
int build_check_image(struct build *b, const struct build_state *st);
/* Mount the state's layers at <build dir>/<name>/rootfs with a fresh upper directory. */
int build_mount(struct build *b, const struct build_state *st, const char *name, bool read_only,
                struct build_mount *ret);
/* Unmount, keeping the directories (the upper directory is then committed). */
int build_mount_detach(struct build_mount *m);
/* Unmount and delete the directory; safe on a zeroed or half set-up mount. */
int build_umount(struct build_mount *m);
static inline void build_umountp(struct build_mount *m)
{
        build_umount(m);
}
#define _cleanup_build_mount_ _cleanup_(build_umountp)
/*
 * Import the state (its config text and the layers of its image, plus extra, a layer blob staged
 * in t, when not NULL) as an image with the given tags; its id through ret_id (malloc'd).
 */
int build_import(struct build *b, struct store_txn *t, struct build_state *st,
                 const struct descriptor *extra, char **tags, char **ret_id);
/*
 * Commit the upper directory as the state's next layer: a history entry (empty_layer
 * when the upper directory holds nothing), and when it does, a new image holding the
 * layers, which becomes st->image_id. Returns 1 when a layer was made, 0 otherwise.
 */
int build_commit(struct build *b, struct build_state *st, const char *upper, const char *created_by);

/* ------------------------------------------------------------------ build-run.c */
struct build_run_spec {
        char **args; /* the process */
        char **env;
        const char *cwd;
        const char *user; /* USER as written, or NULL */
        bool network_none;
        const char *display;    /* "RUN make" for messages */
        const char *created_by; /* for the history: "RUN /bin/sh -c make" */
};
/* Run a RUN step on st; a new layer (or none) is committed into st. */
int build_run(struct build *b, struct build_state *st, const struct build_run_spec *r);

/* ------------------------------------------------------------------ build-dir.c */
/* Create and lock <root>/build/<id>. */
int build_dir_create(struct build *b);
/* Remove the build's directory and release its lock. */
void build_dir_remove(struct build *b);
/* Run `runtime --root R ARGS...` with stdio on /dev/null (cleanup paths). Returns its exit status. */
int build_runtime_call(const char *runtime, const char *state_root, char *const *args);
