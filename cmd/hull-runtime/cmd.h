/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd.h - hull-runtime's command table and parsed arguments.
 *
 * One table (main.c) lists every command with its options, argument counts and
 * help; `--help`, option parsing and argument checks all come from it. Each
 * command lives in cmd-<name>.c and receives the parsed arguments.
 */
#pragma once

#include "macro.h"

enum opt_kind {
        OPT_FLAG,  /* --detach */
        OPT_VALUE, /* --bundle DIR */
        OPT_LIST,  /* --env K=V, repeatable */
};

struct opt_def {
        const char *name;
        char short_name;
        enum opt_kind kind;
        const char *arg_name;
        const char *help;
};

struct global_opts {
        const char *root;
        const char *log;
        const char *log_format;
        bool debug;
        bool systemd_cgroup;
};

#define MAX_OPTS 32

struct cmd_args {
        const struct opt_def *defs;
        size_t n_defs;
        bool set[MAX_OPTS];
        const char *value[MAX_OPTS];
        char **list[MAX_OPTS];
        char **pos; /* positional arguments (borrowed from argv) */
        int n_pos;
        struct global_opts *g;
};

struct command {
        const char *name;
        int (*run)(struct cmd_args *a);
        const char *usage; /* positional part, e.g. "ID [SIGNAL]" */
        int min_pos, max_pos; /* max_pos < 0: unlimited */
        const struct opt_def *opts;
        const char *summary;
        const char *help;
};

bool arg_flag(const struct cmd_args *a, const char *name);
const char *arg_value(const struct cmd_args *a, const char *name);
char **arg_list(const struct cmd_args *a, const char *name);

/* Report err (a negative errno with err_set detail) as one line and return the exit status 1. */
int cmd_fail(int r, const char *fmt, ...) _printf_(2, 3);

#define EXTERN_CMD(n) int cmd_##n(struct cmd_args *a)
EXTERN_CMD(create);
EXTERN_CMD(run);
EXTERN_CMD(start);
EXTERN_CMD(state);
EXTERN_CMD(kill);
EXTERN_CMD(delete);
EXTERN_CMD(exec);
EXTERN_CMD(list);
EXTERN_CMD(ps);
EXTERN_CMD(pause);
EXTERN_CMD(resume);
EXTERN_CMD(update);
EXTERN_CMD(events);
EXTERN_CMD(features);
EXTERN_CMD(spec);
EXTERN_CMD(checkpoint);
EXTERN_CMD(restore);

extern const struct opt_def create_opts[], run_opts[], kill_opts[], delete_opts[], exec_opts[], list_opts[],
        ps_opts[], update_opts[], events_opts[], spec_opts[], no_opts[];
