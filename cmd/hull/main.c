/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - `hull`: the command table, option parsing, generated help and the
 * global options (--root, --log-level). See cmd.h for the table's contract.
 *
 * Global options may come before the command or among its options
 * ("hull --root /tmp/r images" and "hull images --root /tmp/r"), as podman
 * accepts them. The store root is --root, else $HULL_ROOT, else /var/lib/hull.
 */
#include <getopt.h>
#include <stdarg.h>

#include "cmd.h"
#include "hull-build.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define DEFAULT_ROOT "/var/lib/hull"

static const char *const image_ls_aliases[] = { "image ls", "image list", NULL };
static const char *const rmi_aliases[] = { "image rm", NULL };
static const char *const pull_aliases[] = { "image pull", NULL };
static const char *const push_aliases[] = { "image push", NULL };
static const char *const load_aliases[] = { "image load", NULL };
static const char *const save_aliases[] = { "image save", NULL };
static const char *const import_aliases[] = { "image import", NULL };
static const char *const tag_aliases[] = { "image tag", NULL };
static const char *const inspect_aliases[] = { "image inspect", NULL };
static const char *const history_aliases[] = { "image history", NULL };

#define OPT_TLS                                                                                                    \
        { "tls-verify", 0, OPT_BOOL, "BOOL",                                                                      \
          "require HTTPS and verify certificates (default true; false also allows plain HTTP)" },                 \
        { "cert-dir", 0, OPT_VALUE, "DIR",                                                                        \
          "trust the CA certificates (*.crt) in DIR, in addition to the system's" },                              \
        { "creds", 0, OPT_VALUE, "USER:PASS", "credentials for the registry" }

static const struct cmd_option pull_opts[] = {
        OPT_TLS,
        { "policy", 0, OPT_VALUE, "FILE", "signature policy (default /etc/hull/policy.json)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress, only the image id" },
        {},
};
static const struct cmd_option push_opts[] = {
        OPT_TLS,
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress" },
        {},
};
static const struct cmd_option sign_opts[] = {
        OPT_TLS,
        { "key", 0, OPT_VALUE, "FILE", "private key (PEM, Ed25519 or ECDSA P-256) to sign with" },
        {},
};
static const struct cmd_option load_opts[] = {
        { "input", 'i', OPT_VALUE, "FILE", "read from FILE (a tarball or an OCI layout directory) instead of stdin" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress" },
        {},
};
static const struct cmd_option save_opts[] = {
        { "output", 'o', OPT_VALUE, "FILE", "write to FILE instead of stdout" },
        { "format", 0, OPT_VALUE, "FORMAT", "docker-archive (default), oci-archive or oci-dir" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress" },
        {},
};
static const struct cmd_option import_opts[] = {
        { "change", 'c', OPT_MULTI, "INSTRUCTION",
          "apply a Dockerfile instruction to the config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, "
          "VOLUME, WORKDIR)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress, only the image id" },
        {},
};
static const struct cmd_option images_opts[] = {
        { "all", 'a', OPT_FLAG, NULL, "accepted for podman compatibility (hull keeps no intermediate images)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print image ids only" },
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template like '{{.Repository}}:{{.Tag}}'" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        { "digests", 0, OPT_FLAG, NULL, "show the repository digests" },
        { "no-trunc", 0, OPT_FLAG, NULL, "show full image ids" },
        {},
};
static const struct cmd_option rmi_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "remove an image with several names, and ignore missing images" },
        { "all", 'a', OPT_FLAG, NULL, "remove every image" },
        {},
};
static const struct cmd_option inspect_opts[] = {
        { "format", 'f', OPT_VALUE, "FORMAT", "json (default) or a template like '{{.Id}}'" },
        {},
};
static const struct cmd_option history_opts[] = {
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template" },
        { "no-trunc", 0, OPT_FLAG, NULL, "do not truncate the CREATED BY column" },
        { "quiet", 'q', OPT_FLAG, NULL, "print ids only" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        {},
};
static const struct cmd_option prune_opts[] = {
        { "all", 'a', OPT_FLAG, NULL, "remove every image, not only the unnamed ones" },
        { "force", 'f', OPT_FLAG, NULL, "do not ask (hull never asks; accepted for podman compatibility)" },
        {},
};
static const struct cmd_option build_opts[] = {
        { "tag", 't', OPT_MULTI, "NAME", "name the image NAME" },
        { "file", 'f', OPT_VALUE, "FILE", "the Dockerfile (default CONTEXT/Dockerfile; '-' reads stdin)" },
        { "build-arg", 0, OPT_MULTI, "NAME[=VALUE]", "set a build argument (without a value: from the environment)" },
        { "target", 0, OPT_VALUE, "STAGE", "build up to this stage and name it" },
        { "no-cache", 0, OPT_FLAG, NULL, "run every step instead of reusing cached results" },
        { "quiet", 'q', OPT_FLAG, NULL, "print nothing but the image id" },
        {},
};
static const struct cmd_option no_opts[] = { {} };

const struct cmd cmd_table[] = {
        { "pull", pull_aliases, cmd_pull, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 1, "IMAGE",
          "copy an image from a registry into the store",
          "Fetches IMAGE (e.g. busybox, docker.io/library/busybox:1.36, localhost:5000/app@sha256:...) over the OCI\n"
          "distribution protocol. From a multi-architecture index the linux image of this machine's architecture\n"
          "is chosen. Every blob is verified against its digest as it arrives and again before it is unpacked;\n"
          "layers the store already has are not fetched again. When the signature policy demands a signature\n"
          "for the repository, the image is refused unless a valid one is found (see `hull image sign`).\n"
          "Registry credentials: --creds, else $HULL_REGISTRY_CREDS. Prints the image id.",
          pull_opts },
        { "push", push_aliases, cmd_push, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 2, "IMAGE [DESTINATION]",
          "copy an image from the store to a registry",
          "Uploads the layers, config and manifest of IMAGE to DESTINATION (default: IMAGE's own name). Blobs the\n"
          "registry already has are skipped, and mounted from the source repository when it is on the same\n"
          "registry. The manifest is pushed as stored, so the digest does not change.",
          push_opts },
        { "load", load_aliases, cmd_load, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 0, 0, "",
          "load images from a docker-archive or oci-archive tarball or an OCI layout directory",
          "Reads a tarball written by `hull save`, `podman save`, `docker save` or `skopeo copy` (plain or\n"
          "compressed), or an OCI image layout directory. Each image is stored whole or not at all.",
          load_opts },
        { "save", save_aliases, cmd_save, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, -1, "IMAGE [IMAGE...]",
          "write images to a tarball or an OCI layout directory",
          "Writes the images in docker-archive format (loadable by docker, podman and hull), oci-archive or\n"
          "oci-dir. Blob digests are verified while they are written; on failure no partial file is left.",
          save_opts },
        { "import", import_aliases, cmd_import, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 2, "TARBALL [NAME]",
          "create an image from a root file system tarball",
          "Makes a one-layer image of TARBALL (plain, gzip, xz or zstd compressed; '-' reads stdin) and names it\n"
          "NAME. --change sets config fields with Dockerfile syntax, e.g. --change 'CMD [\"/bin/sh\"]'.",
          import_opts },
        { "images", image_ls_aliases, cmd_images, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 0, 1, "[NAME]",
          "list the images in the store",
          "Lists every image with its names, or those whose repository is NAME. Columns: REPOSITORY, TAG,\n"
          "IMAGE ID, CREATED, SIZE (unpacked). Template fields: ID, Repository, Tag, Digest, Created, Size.",
          images_opts },
        { "rmi", rmi_aliases, cmd_rmi, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 0, -1, "IMAGE [IMAGE...]",
          "remove images",
          "Removing a name removes that name; the image goes with its last name. An image id with several\n"
          "names is only removed with --force. Layers no other image uses are deleted.",
          rmi_opts },
        { "tag", tag_aliases, cmd_tag, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 2, -1, "IMAGE NAME [NAME...]",
          "add names to an image", "Points each NAME (normalised, e.g. 'app' is docker.io/library/app:latest) at IMAGE.",
          no_opts },
        { "inspect", inspect_aliases, cmd_inspect, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, -1, "IMAGE [IMAGE...]",
          "show the details of images as JSON",
          "Prints a JSON array with, for each image: Id, Digest, RepoTags, RepoDigests, Created, Architecture, Os,\n"
          "Size, Config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, StopSignal, Healthcheck,\n"
          "Labels), RootFS, History and the stored Manifest.",
          inspect_opts },
        { "history", history_aliases, cmd_history, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 1, "IMAGE",
          "show how an image was built", "Lists the history entries of IMAGE's config, newest first.",
          history_opts },
        { "image prune", NULL, cmd_image_prune, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 0, 0, "",
          "remove unused images and collect garbage",
          "Removes unnamed images (all images with --all), then deletes layers and blobs that no image\n"
          "references and what interrupted imports left behind.",
          prune_opts },
        { "image sign", NULL, cmd_image_sign, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 1, "IMAGE",
          "sign an image in a registry",
          "Signs the manifest digest of IMAGE as the registry serves it with --key and uploads the signature\n"
          "next to it, under the tag sha256-<hex>.sig (format: docs/image-signing.md). A pull checks it when\n"
          "/etc/hull/policy.json (or --policy) demands signatures for the repository.",
          sign_opts },
        { "build", NULL, cmd_build, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 1, "CONTEXT",
          "build an image from a Dockerfile",
          "Runs the Dockerfile (CONTEXT/Dockerfile, or --file) on the directory CONTEXT: FROM (multi-stage, AS),\n"
          "RUN (in a hull-runtime container, on the host's network), COPY (also --from a stage or image, --chown,\n"
          "--chmod), ADD (local files; tar archives are unpacked), ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT,\n"
          "EXPOSE, LABEL, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL. Files matched by CONTEXT/.dockerignore are left\n"
          "out. Each step is cached under a key of its instruction and inputs (build args it sees, the content of\n"
          "the files it copies): a rebuild of unchanged input runs nothing and gives the same image. Cached\n"
          "layers are kept as unnamed images until `hull image prune`. Steps and RUN output go to stderr, the\n"
          "image id to stdout.",
          build_opts },
        { "completion", NULL, cmd_completion, 0, 1, 1, "bash", "print a shell completion script",
          "Prints a bash completion script generated from the command table: source it, or install it as\n"
          "/usr/share/bash-completion/completions/hull.",
          no_opts },
        { "help", NULL, cmd_help, 0, 0, 1, "[COMMAND]", "show help for hull or a command", "", no_opts },
        { "version", NULL, cmd_version, 0, 0, 0, "", "print the version", "", no_opts },
};
const size_t cmd_table_size = ELEMENTSOF(cmd_table);

static const struct cmd_option global_opts[] = {
        { "root", 0, OPT_VALUE, "DIR", "store root (default $HULL_ROOT or " DEFAULT_ROOT ")" },
        { "log-level", 0, OPT_VALUE, "LEVEL", "error, warning (default), info or debug" },
        { "help", 'h', OPT_FLAG, NULL, "show this help" },
        {},
};

int cmd_fail(int r, const char *fmt, ...)
{
        char ctx[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        fprintf(stderr, "hull: %s: %s\n", ctx, err_msg(r));
        return r;
}

static int opt_index(const struct cmd *cmd, const char *name)
{
        for (int i = 0; cmd->options && cmd->options[i].name; i++)
                if (streq(cmd->options[i].name, name))
                        return i;
        fprintf(stderr, "hull: internal error: command '%s' has no option '%s'\n", cmd->name, name);
        abort();
}

const char *cmd_opt(struct cmd_context *c, const char *name)
{
        return c->values[opt_index(c->cmd, name)];
}

bool cmd_flag(struct cmd_context *c, const char *name)
{
        return c->set[opt_index(c->cmd, name)];
}

char **cmd_opt_all(struct cmd_context *c, const char *name)
{
        return c->multi[opt_index(c->cmd, name)];
}

bool cmd_bool(struct cmd_context *c, const char *name, bool def)
{
        int i = opt_index(c->cmd, name);
        if (!c->set[i])
                return def;
        return !c->values[i] || streq(c->values[i], "true") || streq(c->values[i], "1");
}

static void print_options(const struct cmd_option *o, FILE *f)
{
        for (; o && o->name; o++) {
                char left[64];
                snprintf(left, sizeof(left), "%s%c%s--%s%s%s%s", o->short_name ? "-" : "",
                         o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                         o->kind == OPT_BOOL ? "[=" : o->arg_name ? " " : "", o->arg_name ? o->arg_name : "",
                         o->kind == OPT_BOOL ? "]" : "");
                fprintf(f, "  %-30s %s%s\n", o->short_name ? left : left + 1, o->help,
                        o->kind == OPT_MULTI ? " (repeatable)" : "");
        }
}

void cmd_print_help(const struct cmd *cmd, FILE *f)
{
        fprintf(f, "Usage: hull %s [OPTIONS]%s%s\n\n%c%s.\n", cmd->name, *cmd->usage ? " " : "", cmd->usage,
                cmd->summary[0] >= 'a' ? cmd->summary[0] - 32 : cmd->summary[0], cmd->summary + 1);
        if (cmd->help && *cmd->help)
                fprintf(f, "\n%s\n", cmd->help);
        if (cmd->aliases) {
                fprintf(f, "\nAliases:");
                for (const char *const *a = cmd->aliases; *a; a++)
                        fprintf(f, " hull %s%s", *a, a[1] ? "," : "");
                fputc('\n', f);
        }
        if (cmd->options && cmd->options->name) {
                fprintf(f, "\nOptions:\n");
                print_options(cmd->options, f);
        }
        fprintf(f, "\nGlobal options:\n");
        print_options(global_opts, f);
        fprintf(f, "\nExit status: 0 on success, 125 when hull failed.\n");
}

static void print_main_help(FILE *f)
{
        fprintf(f, "Usage: hull [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
                   "hull runs containers and virtual machines from images, without a daemon.\n\nCommands:\n");
        for (size_t i = 0; i < cmd_table_size; i++)
                fprintf(f, "  %-14s %s\n", cmd_table[i].name, cmd_table[i].summary);
        fprintf(f, "\nGlobal options:\n");
        print_options(global_opts, f);
        fprintf(f, "\nRun 'hull COMMAND --help' for a command's options.\n");
}

int cmd_help(struct cmd_context *c)
{
        if (c->argc == 0) {
                print_main_help(stdout);
                return 0;
        }
        for (size_t i = 0; i < cmd_table_size; i++)
                if (streq(cmd_table[i].name, c->argv[0]) || startswith(cmd_table[i].name, c->argv[0])) {
                        cmd_print_help(&cmd_table[i], stdout);
                        return 0;
                }
        return cmd_fail(-EINVAL, "help: unknown command '%s'", c->argv[0]);
}

int cmd_version(struct cmd_context *c)
{
        printf("hull version %s\n", HULL_VERSION);
        return 0;
}

/* Find the command named by argv[0] (and argv[1] for a group such as "image prune"). */
static const struct cmd *find_cmd(int argc, char **argv, int *ret_words)
{
        for (int words = 2; words >= 1; words--) {
                char name[128];
                if (argc < words)
                        continue;
                if (words == 2)
                        snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
                else
                        snprintf(name, sizeof(name), "%s", argv[0]);
                for (size_t i = 0; i < cmd_table_size; i++) {
                        bool match = streq(cmd_table[i].name, name);
                        for (const char *const *a = cmd_table[i].aliases; !match && a && *a; a++)
                                match = streq(*a, name);
                        if (match) {
                                *ret_words = words;
                                return &cmd_table[i];
                        }
                }
        }
        return NULL;
}

static int parse_global(const char *name, const char *value, const char **root)
{
        if (streq(name, "root")) {
                *root = value;
                return 0;
        }
        if (streq(name, "log-level")) {
                static const char *const levels[] = { "error", "warning", "info", "debug" };
                for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                        if (streq(value, levels[i])) {
                                log_set_level((enum log_level)i);
                                return 0;
                        }
                fprintf(stderr, "hull: invalid --log-level '%s': expected error, warning, info or debug\n", value);
                return -EINVAL;
        }
        return -ENOENT;
}

static int parse_command_line(struct cmd_context *c, int argc, char **argv)
{
        struct option lopts[CMD_OPTIONS_MAX + 8] = {};
        char shorts[2 * CMD_OPTIONS_MAX + 8] = "+";
        const struct cmd_option *o = c->cmd->options;
        size_t n = 0, ns = 1;
        int k;

        for (int i = 0; o && o[i].name; i++, n++) {
                lopts[n] = (struct option){ o[i].name,
                                            o[i].kind == OPT_FLAG   ? no_argument
                                            : o[i].kind == OPT_BOOL ? optional_argument
                                                                    : required_argument,
                                            NULL, 1000 + i };
                if (o[i].short_name) {
                        shorts[ns++] = o[i].short_name;
                        if (o[i].kind == OPT_VALUE || o[i].kind == OPT_MULTI)
                                shorts[ns++] = ':';
                }
        }
        for (int i = 0; global_opts[i].name; i++, n++)
                lopts[n] = (struct option){ global_opts[i].name,
                                            global_opts[i].kind == OPT_FLAG ? no_argument : required_argument, NULL,
                                            2000 + i };
        shorts[ns++] = 'h';
        shorts[ns] = 0;
        /* Options may follow arguments ("hull rmi busybox -f"), as podman's parser allows. */
        shorts[0] = '-';
        optind = 1;
        opterr = 0;
        while ((k = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
                int idx = -1;
                if (k == 1) {
                        c->argv[c->argc++] = optarg;
                        continue;
                }
                if (k == '?' || k == ':') {
                        const char *bad = argv[optind - 1];
                        if (optopt && optopt < 256)
                                fprintf(stderr, "hull %s: unknown or incomplete option '-%c'\n", c->cmd->name, optopt);
                        else
                                fprintf(stderr, "hull %s: unknown option '%s' (see 'hull %s --help')\n", c->cmd->name,
                                        bad, c->cmd->name);
                        return -EINVAL;
                }
                if (k == 'h' || k == 2000 + 2) {
                        cmd_print_help(c->cmd, stdout);
                        return 1;
                }
                if (k >= 2000) {
                        int r = parse_global(global_opts[k - 2000].name, optarg, &c->root);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k >= 1000)
                        idx = k - 1000;
                else
                        for (int i = 0; o && o[i].name; i++)
                                if (o[i].short_name == k)
                                        idx = i;
                if (idx < 0)
                        return -EINVAL;
                if (o[idx].kind == OPT_BOOL && optarg && !streq(optarg, "true") && !streq(optarg, "false")) {
                        fprintf(stderr, "hull %s: --%s takes true or false, not '%s'\n", c->cmd->name, o[idx].name,
                                optarg);
                        return -EINVAL;
                }
                c->set[idx] = true;
                c->values[idx] = optarg;
                if (o[idx].kind == OPT_MULTI && strv_extend(&c->multi[idx], optarg) < 0)
                        return -ENOMEM;
        }
        while (optind < argc)
                c->argv[c->argc++] = argv[optind++];
        return 0;
}

int main(int argc, char **argv)
{
        struct cmd_context c = { .root = getenv("HULL_ROOT") };
        const struct cmd *cmd;
        int i = 1, words = 0, r;

        log_set_program("hull");
        /* Global options before the command. */
        while (i < argc && argv[i][0] == '-') {
                const char *a = argv[i] + 2, *eq;
                char name[32];
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        print_main_help(stdout);
                        return 0;
                }
                if (streq(argv[i], "--version")) {
                        printf("hull version %s\n", HULL_VERSION);
                        return 0;
                }
                if (argv[i][1] != '-') {
                        fprintf(stderr, "hull: unknown option '%s' (see 'hull --help')\n", argv[i]);
                        return EXIT_ENGINE_ERROR;
                }
                eq = strchr(a, '=');
                snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
                if (!eq && i + 1 >= argc) {
                        fprintf(stderr, "hull: option '--%s' needs a value\n", name);
                        return EXIT_ENGINE_ERROR;
                }
                r = parse_global(name, eq ? eq + 1 : argv[i + 1], &c.root);
                if (r == -ENOENT) {
                        fprintf(stderr, "hull: unknown option '%s' (see 'hull --help')\n", argv[i]);
                        return EXIT_ENGINE_ERROR;
                }
                if (r < 0)
                        return EXIT_ENGINE_ERROR;
                i += eq ? 1 : 2;
        }
        if (i >= argc) {
                print_main_help(stderr);
                return EXIT_ENGINE_ERROR;
        }
        cmd = find_cmd(argc - i, argv + i, &words);
        if (!cmd) {
                fprintf(stderr, "hull: unknown command '%s' (see 'hull --help')\n", argv[i]);
                return EXIT_ENGINE_ERROR;
        }
        c.cmd = cmd;
        c.argv = calloc((size_t)argc + 1, sizeof(char *));
        if (!c.argv)
                return EXIT_ENGINE_ERROR;
        /* getopt wants argv[0] to be the program: let the last word of the command name play it. */
        r = parse_command_line(&c, argc - i - words + 1, argv + i + words - 1);
        if (r != 0) {
                free(c.argv);
                return r > 0 ? 0 : EXIT_ENGINE_ERROR;
        }
        if (c.argc < cmd->min_args || (cmd->max_args >= 0 && c.argc > cmd->max_args)) {
                fprintf(stderr, "hull %s: %s (usage: hull %s [OPTIONS] %s)\n", cmd->name,
                        c.argc < cmd->min_args ? "missing arguments" : "too many arguments", cmd->name, cmd->usage);
                r = -EINVAL;
                goto out;
        }
        if ((cmd->flags & CMD_NEEDS_ROOT) && geteuid() != 0) {
                fprintf(stderr, "hull %s: must be run as root\n", cmd->name);
                r = -EPERM;
                goto out;
        }
        if (!c.root || !*c.root)
                c.root = DEFAULT_ROOT;
        c.stdout_tty = isatty(STDOUT_FILENO);
        c.stderr_tty = isatty(STDERR_FILENO);
        if (cmd->flags & CMD_NEEDS_STORE) {
                r = image_store_open(c.root, &c.store);
                if (r < 0) {
                        cmd_fail(r, "opening the image store in '%s'", c.root);
                        goto out;
                }
        }
        err_clear();
        r = cmd->run(&c);
out:
        image_store_close(c.store);
        for (size_t k = 0; k < CMD_OPTIONS_MAX; k++)
                strv_free(c.multi[k]);
        free(c.argv);
        return r < 0 ? EXIT_ENGINE_ERROR : 0;
}
