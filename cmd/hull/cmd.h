/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd.h - the `hull` command table and what command handlers share.
 *
 * main.c holds ONE table of commands (struct cmd): name, aliases, handler,
 * flags, argument counts, options, one-line summary and long help. Argument
 * checks, `hull CMD --help`, `hull help` and `hull completion bash` are all
 * generated from it, so a command is added by writing its cmd-<verb>.c and
 * one table entry. Handlers are thin: read options, call the library, report.
 *
 * Handlers return 0 or a negative errno; they report failures themselves,
 * once, with cmd_fail() ("hull: <what failed>: <why>"), and main turns any
 * failure into exit status 125 (podman's "the engine failed").
 */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "engine.h"

struct json_object;
#include "store.h"

#define EXIT_ENGINE_ERROR 125
#define CMD_OPTIONS_MAX   64

enum {
        CMD_NEEDS_ROOT = 1 << 0,   /* refuse to run unless euid is 0 */
        CMD_NEEDS_STORE = 1 << 1,  /* open the image store (shared lock) before the handler */
        CMD_NEEDS_ENGINE = 1 << 2, /* open the engine (state.db, containers, volumes) before the handler */
        CMD_STOP_AT_ARGS = 1 << 3, /* options end at the first argument ("run IMAGE ls -l": -l is ls's) */
        CMD_TRANSFER = 1 << 4,     /* moves images in or out: runs in the hull-image helper (see main.c) */
        CMD_HIDDEN = 1 << 5,       /* internal (called by hull-monitor): not in help or completion */
        CMD_WORKLOAD_EXIT = 1 << 6, /* the exit status is the container's own (run, start -a, exec, wait) */
};

enum cmd_opt_kind {
        OPT_FLAG,     /* --name */
        OPT_VALUE,    /* --name VALUE or --name=VALUE */
        OPT_MULTI,    /* repeatable --name VALUE */
        OPT_BOOL,     /* --name, --name=true|false (podman's --tls-verify) */
        _OPT_KIND_MAX,
        _OPT_KIND_INVALID = -EINVAL,
};

struct cmd_option {
        const char *name;
        char short_name;
        enum cmd_opt_kind kind;
        const char *arg_name; /* "FILE"; for completion, "FILE" and "DIR" complete paths */
        const char *help;
};

struct cmd_context;

struct cmd {
        const char *name;            /* "pull", or "image prune" for a subcommand of a group */
        const char *const *aliases;  /* NULL-terminated, may be NULL */
        int (*run)(struct cmd_context *c);
        unsigned flags;
        int min_args, max_args;      /* max_args -1: unlimited */
        const char *usage;           /* "IMAGE [IMAGE...]" */
        const char *summary;         /* one line */
        const char *help;            /* paragraphs, man-page style */
        const struct cmd_option *options;
};

struct cmd_context {
        const struct cmd *cmd;
        int argc;
        char **argv; /* positional arguments */
        const char *values[CMD_OPTIONS_MAX];
        char **multi[CMD_OPTIONS_MAX];
        bool set[CMD_OPTIONS_MAX];
        struct image_store *store; /* CMD_NEEDS_STORE */
        struct engine *engine;     /* CMD_NEEDS_ENGINE */
        const char *root;
        bool stdout_tty, stderr_tty;
        int exit_status; /* returned by hull when the handler succeeds (a container's own status) */
};

/* Option access by long name; a name that is not in the command's table is a programming error. */
const char *cmd_opt(struct cmd_context *c, const char *name);
bool cmd_flag(struct cmd_context *c, const char *name);
char **cmd_opt_all(struct cmd_context *c, const char *name);
/* An OPT_BOOL's value (default when not given). */
bool cmd_bool(struct cmd_context *c, const char *name, bool def);

/* Print "hull: <context>: <detail>" and return r. */
int cmd_fail(int r, const char *fmt, ...) _printf_(2, 3);

/* --network, --ip, --ip6, --mac-address, --network-alias, -p, -P, --dns*, --egress, --ingress into s
 * (cmd-run.c): one parser for containers and VMs. */
struct runspec;
int cmd_network_options(struct cmd_context *c, struct runspec *s);

extern const struct cmd cmd_table[];
extern const size_t cmd_table_size;

/* Handlers, one per cmd-<verb>.c. */
int cmd_pull(struct cmd_context *c);
int cmd_push(struct cmd_context *c);
int cmd_load(struct cmd_context *c);
int cmd_save(struct cmd_context *c);
int cmd_import(struct cmd_context *c);
int cmd_images(struct cmd_context *c);
int cmd_rmi(struct cmd_context *c);
int cmd_tag(struct cmd_context *c);
int cmd_inspect(struct cmd_context *c);
int cmd_history(struct cmd_context *c);
int cmd_image_prune(struct cmd_context *c);
int cmd_image_sign(struct cmd_context *c);
int cmd_build(struct cmd_context *c);
int cmd_completion(struct cmd_context *c);
/* Containers and volumes (src/engine). */
int cmd_run(struct cmd_context *c);
int cmd_create(struct cmd_context *c);
int cmd_start(struct cmd_context *c);
int cmd_stop(struct cmd_context *c);
int cmd_restart(struct cmd_context *c);
int cmd_kill(struct cmd_context *c);
int cmd_rm(struct cmd_context *c);
int cmd_container_prune(struct cmd_context *c);
int cmd_container_cleanup(struct cmd_context *c);
int cmd_ps(struct cmd_context *c);
int cmd_logs(struct cmd_context *c);
int cmd_exec(struct cmd_context *c);
int cmd_attach(struct cmd_context *c);
int cmd_inspect_any(struct cmd_context *c);
int cmd_container_inspect(struct cmd_context *c);
int cmd_top(struct cmd_context *c);
int cmd_stats(struct cmd_context *c);
int cmd_wait(struct cmd_context *c);
int cmd_cp(struct cmd_context *c);
int cmd_pause(struct cmd_context *c);
int cmd_unpause(struct cmd_context *c);
int cmd_rename(struct cmd_context *c);
int cmd_volume_create(struct cmd_context *c);
int cmd_volume_ls(struct cmd_context *c);
int cmd_volume_inspect(struct cmd_context *c);
int cmd_volume_rm(struct cmd_context *c);
int cmd_volume_prune(struct cmd_context *c);
int cmd_network_create(struct cmd_context *c);
int cmd_network_ls(struct cmd_context *c);
int cmd_network_inspect(struct cmd_context *c);
int cmd_network_rm(struct cmd_context *c);
int cmd_network_prune(struct cmd_context *c);
int cmd_network_connect(struct cmd_context *c);
int cmd_network_disconnect(struct cmd_context *c);
int cmd_port(struct cmd_context *c);

/* An image's inspect document (cmd-inspect.c), for `hull inspect` of images and containers alike. */
struct json_object *image_inspect_json(struct image_store *s, const char *id, int *ret_r);
/* Print one document through a template: {{.A.B}} is the JSON value at that path (cmd-inspect.c). */
int inspect_template(struct json_object *o, const char *tmpl);
int cmd_help(struct cmd_context *c);
int cmd_version(struct cmd_context *c);

/* Print the generated --help of one command. */
void cmd_print_help(const struct cmd *cmd, FILE *f);
