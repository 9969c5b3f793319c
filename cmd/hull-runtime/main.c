/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - hull-runtime: an OCI runtime with runc's command line.
 *
 * Global options come before the command, as conmon and containerd's shim pass
 * them: hull-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug]
 * [--systemd-cgroup] COMMAND [OPTIONS] ARGS. Options take "--name value" or
 * "--name=value"; a command's options stop at its first positional argument
 * (so that `exec ID sh -c ...` passes "-c" to the container).
 */
#include <getopt.h>
#include <stdarg.h>

#include "hull-build.h"
#include "cgroup.h"
#include "cmd.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define DEFAULT_ROOT "/run/hull-runtime"

static const struct command commands[] = {
        { "create", cmd_create, "ID", 1, 1, create_opts, "create a container (its process waits for start)",
          "Create the container ID from the bundle's config.json. The container's process is set up and\n"
          "waits; `start` runs the user program." },
        { "start", cmd_start, "ID", 1, 1, no_opts, "run the user program of a created container", NULL },
        { "run", cmd_run, "ID", 1, 1, run_opts, "create and start a container",
          "Create and start the container ID. Without --detach, wait for it, forward signals, return its\n"
          "exit status and delete it." },
        { "state", cmd_state, "ID", 1, 1, no_opts, "print the state of a container as JSON", NULL },
        { "kill", cmd_kill, "ID [SIGNAL]", 1, 2, kill_opts, "send a signal (default SIGTERM) to a container",
          "SIGNAL is a name (TERM, SIGTERM) or a number." },
        { "delete", cmd_delete, "ID", 1, 1, delete_opts, "delete a container and everything the runtime made for it",
          NULL },
        { "exec", cmd_exec, "ID [COMMAND [ARG...]]", 1, -1, exec_opts, "run a new process in a running container",
          "The process comes from --process FILE (a runtime-spec process object) or from COMMAND and the\n"
          "options; it starts from the container's own process settings." },
        { "list", cmd_list, "", 0, 0, list_opts, "list containers", NULL },
        { "ps", cmd_ps, "ID [PS-ARGS...]", 1, -1, ps_opts, "list the processes of a container", NULL },
        { "pause", cmd_pause, "ID", 1, 1, no_opts, "freeze every process of a container", NULL },
        { "resume", cmd_resume, "ID", 1, 1, no_opts, "thaw a paused container", NULL },
        { "update", cmd_update, "ID", 1, 1, update_opts, "change the resource limits of a container",
          "--resources FILE (or - for stdin) holds a runtime-spec linux.resources object; the other\n"
          "options change single values." },
        { "events", cmd_events, "ID", 1, 1, events_opts, "print resource usage and OOM events of a container",
          NULL },
        { "features", cmd_features, "", 0, 0, no_opts, "print what this runtime supports (runtime-spec features)",
          NULL },
        { "spec", cmd_spec, "", 0, 0, spec_opts, "write a default config.json", NULL },
        { "checkpoint", cmd_checkpoint, "ID", 0, -1, no_opts, "checkpoint a container (not supported yet)", NULL },
        { "restore", cmd_restore, "ID", 0, -1, no_opts, "restore a container (not supported yet)", NULL },
};

const struct opt_def no_opts[] = { {} };

bool arg_flag(const struct cmd_args *a, const char *name)
{
        for (size_t i = 0; i < a->n_defs; i++)
                if (streq(a->defs[i].name, name))
                        return a->set[i];
        return false;
}

const char *arg_value(const struct cmd_args *a, const char *name)
{
        for (size_t i = 0; i < a->n_defs; i++)
                if (streq(a->defs[i].name, name))
                        return a->value[i];
        return NULL;
}

char **arg_list(const struct cmd_args *a, const char *name)
{
        for (size_t i = 0; i < a->n_defs; i++)
                if (streq(a->defs[i].name, name))
                        return a->list[i];
        return NULL;
}

int cmd_fail(int r, const char *fmt, ...)
{
        char ctx[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        log_error("%s: %s", ctx, err_msg(r));
        return 1;
}

static void print_opts(FILE *f, const struct opt_def *o)
{
        for (; o && o->name; o++) {
                char left[64];
                snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->short_name ? "-" : "", o->short_name ? o->short_name : ' ',
                         o->short_name ? ", " : "  ", o->name, o->arg_name ? " " : "", o->arg_name ? o->arg_name : "");
                fprintf(f, "  %-34s %s\n", left + (o->short_name ? 0 : 1), o->help);
        }
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: hull-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] ARGS\n\n"
                   "An OCI runtime (runtime-spec 1.2) with runc's command line.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\nGlobal options:\n"
                   "  --root DIR                 state directory (default " DEFAULT_ROOT ")\n"
                   "  --log FILE                 write log messages to FILE\n"
                   "  --log-format text|json     format of --log (default text)\n"
                   "  --debug                    log debug messages\n"
                   "  --systemd-cgroup           use systemd for cgroups (refused: no systemd support)\n"
                   "  -v, --version              print the version\n"
                   "  -h, --help                 print this help\n\n"
                   "Run 'hull-runtime COMMAND --help' for a command's options.\n");
}

static void command_usage(FILE *f, const struct command *c)
{
        fprintf(f, "Usage: hull-runtime %s [OPTIONS] %s\n\n%s.\n", c->name, c->usage, c->summary);
        if (c->help)
                fprintf(f, "\n%s\n", c->help);
        if (c->opts && c->opts->name) {
                fprintf(f, "\nOptions:\n");
                print_opts(f, c->opts);
        }
}

static void args_free(struct cmd_args *a)
{
        for (size_t i = 0; i < a->n_defs; i++)
                strv_free(a->list[i]);
}

static int parse_command(const struct command *c, int argc, char **argv, struct cmd_args *a)
{
        struct option lo[MAX_OPTS + 2] = {};
        char so[3 * MAX_OPTS + 4] = "+";
        size_t n = 0, sl = 1;
        int opt, idx;

        for (const struct opt_def *o = c->opts; o && o->name; o++, n++) {
                lo[n] = (struct option){ o->name, o->kind == OPT_FLAG ? no_argument : required_argument, NULL, 0 };
                if (o->short_name) {
                        so[sl++] = o->short_name;
                        if (o->kind != OPT_FLAG)
                                so[sl++] = ':';
                }
        }
        lo[n] = (struct option){ "help", no_argument, NULL, 0 };
        so[sl++] = 'h';
        a->defs = c->opts;
        a->n_defs = n;
        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, so, lo, &idx)) != -1) {
                size_t i = n + 1;
                if (opt == '?' || opt == ':') {
                        if (optopt)
                                log_error("%s: unknown option '-%c'", c->name, optopt);
                        else
                                log_error("%s: unknown option '%s'", c->name, argv[optind - 1]);
                        return -EINVAL;
                }
                if (opt == 'h' || (opt == 0 && idx == (int)n)) {
                        command_usage(stdout, c);
                        return 1;
                }
                if (opt == 0)
                        i = (size_t)idx;
                else
                        for (size_t k = 0; k < n; k++)
                                if (c->opts[k].short_name == opt)
                                        i = k;
                if (i >= n)
                        return -EINVAL;
                a->set[i] = true;
                if (c->opts[i].kind == OPT_VALUE)
                        a->value[i] = optarg;
                else if (c->opts[i].kind == OPT_LIST && strv_extend(&a->list[i], optarg) < 0)
                        return -ENOMEM;
        }
        a->pos = argv + optind;
        a->n_pos = argc - optind;
        if (a->n_pos < c->min_pos || (c->max_pos >= 0 && a->n_pos > c->max_pos)) {
                log_error("%s: expected %s%s, got %d argument%s (see 'hull-runtime %s --help')", c->name,
                          c->min_pos == c->max_pos ? "exactly " : "", c->usage, a->n_pos, a->n_pos == 1 ? "" : "s",
                          c->name);
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "root", required_argument, NULL, 'r' },     { "log", required_argument, NULL, 'l' },
                { "log-format", required_argument, NULL, 'f' }, { "debug", no_argument, NULL, 'd' },
                { "systemd-cgroup", no_argument, NULL, 's' }, { "version", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },           { "rootless", required_argument, NULL, 'R' },
                { "criu", required_argument, NULL, 'C' },     {},
        };
        struct global_opts g = { .root = DEFAULT_ROOT };
        struct cmd_args a = { .g = &g };
        const struct command *c = NULL;
        int opt, r;

        log_set_program("hull-runtime");
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+vh", lo, NULL)) != -1) {
                switch (opt) {
                case 'r':
                        g.root = optarg;
                        break;
                case 'l':
                        g.log = optarg;
                        break;
                case 'f':
                        g.log_format = optarg;
                        break;
                case 'd':
                        g.debug = true;
                        break;
                case 's':
                        g.systemd_cgroup = true;
                        break;
                case 'R':
                case 'C':
                        break; /* accepted for compatibility with runc's callers */
                case 'v':
                        printf("hull-runtime version " HULL_VERSION "\nspec: 1.2.0\n");
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        log_error("unknown global option '%s' (see 'hull-runtime --help')", argv[optind - 1]);
                        return 1;
                }
        }
        if (g.log_format && log_format_from_string(g.log_format) < 0) {
                log_error("--log-format: unknown format '%s' (text or json)", g.log_format);
                return 1;
        }
        if (g.log) {
                r = log_open_file(g.log, g.log_format ? log_format_from_string(g.log_format) : LOG_FORMAT_TEXT);
                if (r < 0) {
                        log_error("--log: cannot open '%s': %s", g.log, strerror(-r));
                        return 1;
                }
        }
        if (g.debug)
                log_set_level(LOG_LEVEL_DEBUG);
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, argv[optind]))
                        c = &commands[i];
        if (!c) {
                log_error("unknown command '%s' (see 'hull-runtime --help')", argv[optind]);
                return 1;
        }
        if (g.systemd_cgroup) {
                log_error("--systemd-cgroup: systemd cgroup management is not supported: this host is driven "
                          "through cgroupfs (drop the option, e.g. podman --cgroup-manager=cgroupfs)");
                return 1;
        }
        r = parse_command(c, argc - optind, argv + optind, &a);
        if (r == 1) {
                args_free(&a);
                return 0;
        }
        if (r < 0) {
                args_free(&a);
                return 1;
        }
        {
                _cleanup_free_ char *cache = strdup_printf("%s/.cgroup-layout", g.root);
                cgroup_layout_set_cache(cache);
        }
        r = c->run(&a);
        cgroup_layout_set_cache(NULL);
        args_free(&a);
        log_close();
        return r;
}
