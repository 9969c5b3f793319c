/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-step.c - the steps of a stage that go through the cache: RUN,
 * COPY/ADD, WORKDIR and the instructions that only change the config.
 *
 * Each step computes its key, takes the cached state on a hit, and otherwise
 * runs and records its result (cached()). A failure is reported once, with the
 * line: "Dockerfile:5: COPY: 'x' not found in the build context", or, when
 * the message already names the instruction, "Dockerfile:5: RUN make: exit
 * status 2".
 *
 * Cache keys (build-cache.c) chain from the base image id; each step adds its
 * kind and its expanded inputs: for RUN the command, the whole environment,
 * user, working directory and network; for COPY/ADD the sources' content (or
 * the --from stage's key or image id), destination and flags; for the rest the
 * expanded arguments. ARG itself adds nothing: a changed build arg misses the
 * cache where it is used, not where it is declared.
 */
#include <ctype.h>
#include <fcntl.h>

#include "build-internal.h"
#include "error.h"
#include "util.h"

static const char *const proxy_args[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY",   "no_proxy",   "ALL_PROXY",   "all_proxy",   NULL,
};

static const char *const default_shell[] = {"/bin/sh", "-c", NULL};

bool build_arg_predefined(const char *name)
{
        for (const char *const *p = proxy_args; *p; p++)
                if (streq(*p, name))
                        return true;
        return false;
}

typedef int (*step_fn)(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                       void *data);

/*
 * A step through the cache: k holds the step's inputs; on a hit the state is the cached
 * one, otherwise fn runs and its result is cached. Takes k.
 */
static int cached(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                  struct build_key *k, step_fn fn, void *data)
{
        _cleanup_free_ char *image_id = NULL, *config = NULL;
        char key[SHA256_HEX_LEN + 1];
        int r;

        build_key_finish(k, key);
        if (!x->b.o->no_cache) {
                r = build_cache_get(x->b.store, key, &image_id, &config);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = build_state_set(&s->state, image_id, config);
                        if (r < 0)
                                return r;
                        memcpy(s->state.key, key, sizeof(key));
                        build_emit(&x->b, BUILD_EVENT_CACHED, NULL, image_id, NULL, 0);
                        return 0;
                }
        }
        free(image_id);
        image_id = s->state.image_id ? strdup(s->state.image_id) : NULL;
        if (s->state.image_id && !image_id)
                return -ENOMEM;
        r = fn(x, s, in, data);
        if (r < 0) {
                const char *msg = err_msg(r), *kind = dockerfile_kind_to_string(in->kind);
                size_t kl = strlen(kind);
                /* "Dockerfile:5: COPY: 'x' not found...", but "Dockerfile:5: RUN make: exit status 2". */
                if (r == -ECANCELED || startswith(msg, "Dockerfile:"))
                        return r;
                if (strncmp(msg, kind, kl) == 0 && (msg[kl] == ' ' || msg[kl] == ':'))
                        return err_prefix(r, "Dockerfile:%u", in->line);
                return err_prefix(r, "Dockerfile:%u: %s", in->line, kind);
        }
        memcpy(s->state.key, key, sizeof(key));
        if (!build_state_text(&s->state))
                return -ENOMEM;
        r = build_cache_put(x->b.store, key, s->state.image_id, s->state.config_text);
        if (r < 0)
                return r;
        /* The id of the image holding a new layer; none when the step made no layer. */
        build_emit(&x->b, BUILD_EVENT_DONE, NULL,
                   streq_ptr(image_id, s->state.image_id) ? NULL : s->state.image_id, NULL, 0);
        return 0;
}

/* The history entry of a step that changes only the config (apply_meta() made the change). */
static int history_only(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                        void *data)
{
        int r = build_config_history(s->state.config, in->original, true);
        free(s->state.config_text);
        s->state.config_text = NULL;
        return r;
}

struct meta {
        enum dockerfile_kind kind;
        char **words; /* expanded arguments, or kv pairs */
};

static int apply_meta(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                      void *data)
{
        struct meta *m = data;
        struct json_object *cfg = s->state.config;
        int r = 0;

        switch (m->kind) {
        case DF_ENV:
                for (size_t i = 0; m->words[i] && m->words[i + 1] && r >= 0; i += 2)
                        r = build_config_set_env(cfg, m->words[i], m->words[i + 1]);
                break;
        case DF_LABEL:
                for (size_t i = 0; m->words[i] && m->words[i + 1] && r >= 0; i += 2)
                        r = build_config_set_label(cfg, m->words[i], m->words[i + 1]);
                break;
        case DF_EXPOSE:
                STRV_FOREACH (w, m->words)
                        if ((r = build_config_expose(cfg, *w)) < 0)
                                break;
                break;
        case DF_VOLUME:
                STRV_FOREACH (w, m->words)
                        if ((r = build_config_add_volume(cfg, *w)) < 0)
                                break;
                break;
        case DF_USER:
                r = build_config_set_string(cfg, "User", m->words[0]);
                break;
        case DF_STOPSIGNAL:
                r = build_config_set_string(cfg, "StopSignal", m->words[0]);
                break;
        case DF_MAINTAINER:
                r = build_config_set_author(cfg, m->words[0]);
                break;
        case DF_SHELL:
                r = build_config_set_strv(cfg, "Shell", m->words);
                break;
        case DF_CMD:
        case DF_ENTRYPOINT:
                r = build_config_set_strv(cfg, m->kind == DF_CMD ? "Cmd" : "Entrypoint", m->words);
                /* An ENTRYPOINT drops a CMD inherited from the base image (Dockerfile reference). */
                if (r >= 0 && m->kind == DF_ENTRYPOINT && !s->cmd_set)
                        r = build_config_set_strv(cfg, "Cmd", NULL);
                break;
        case DF_HEALTHCHECK:
                r = build_config_healthcheck(cfg, m->words, in->flags);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        return history_only(x, s, in, NULL);
}

/* The command of a shell-form instruction: SHELL (or /bin/sh -c) then the text. */
static int shell_form(struct build_stage *s, const char *text, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        int r = build_config_strv(s->state.config, "Shell", &l);

        if (r < 0)
                return r;
        if (!l || !l[0]) {
                strv_free(l);
                l = strv_copy((char **)default_shell);
                if (!l)
                        return -ENOMEM;
        }
        r = strv_extend(&l, text);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int build_step_meta(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_strv_free_ char **env = NULL, **words = NULL;
        struct build_key k = {};
        struct meta m = {.kind = in->kind};
        int r;

        r = build_stage_env(s, &env);
        if (r < 0)
                return r;
        switch (in->kind) {
        case DF_ENV:
        case DF_LABEL: {
                _cleanup_strv_free_ char **raw = NULL;
                /* Values see the variables before this instruction, not those it sets. */
                r = build_raw_pairs(in, x->df->escape, &raw);
                if (r >= 0)
                        r = build_expand_all(x, in, raw, env, &words);
                break;
        }
        case DF_CMD:
        case DF_ENTRYPOINT:
        case DF_HEALTHCHECK:
                if (in->kind == DF_HEALTHCHECK && streq(in->args[0], "NONE") && !in->exec_form)
                        r = strv_extend(&words, "NONE");
                else if (in->exec_form) {
                        words = in->kind == DF_HEALTHCHECK ? NULL : strv_copy(in->args);
                        if (in->kind == DF_HEALTHCHECK) {
                                r = strv_extend(&words, "CMD");
                                STRV_FOREACH (a, in->args)
                                        if (r >= 0)
                                                r = strv_extend(&words, *a);
                        } else if (!words)
                                r = -ENOMEM;
                } else if (in->kind == DF_HEALTHCHECK) {
                        if ((r = strv_extend(&words, "CMD-SHELL")) >= 0)
                                r = strv_extend(&words, in->args[0]);
                } else
                        r = shell_form(s, in->args[0], &words);
                if (in->kind == DF_CMD)
                        s->cmd_set = true;
                break;
        case DF_SHELL:
                words = strv_copy(in->args);
                r = words ? 0 : -ENOMEM;
                break;
        default:
                r = build_expand_all(x, in, in->args, env, &words);
        }
        if (r < 0)
                return r;
        if (in->kind == DF_STOPSIGNAL && signal_from_string(words[0]) <= 0)
                return err_set(-EINVAL, "Dockerfile:%u: STOPSIGNAL: invalid signal '%s'", in->line,
                               words[0]);
        if (in->kind == DF_ENV)
                for (size_t i = 0; words[i]; i += 2)
                        if (!words[i][0] || strchr(words[i], '='))
                                return err_set(-EINVAL, "Dockerfile:%u: ENV: invalid name '%s'", in->line,
                                               words[i]);
        r = build_key_begin(&k, s->state.key, dockerfile_kind_to_string(in->kind));
        if (r < 0)
                return r;
        build_key_add_strv(&k, words);
        build_key_add_strv(&k, in->flags);
        m.words = words;
        return cached(x, s, in, &k, apply_meta, &m);
}

/* ------------------------------------------------------------------ RUN */

struct run_data {
        struct build_run_spec spec;
};

static int exec_run(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                    void *data)
{
        struct run_data *d = data;
        return build_run(&x->b, &s->state, &d->spec);
}

int build_step_run(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_strv_free_ char **args = NULL, **env = NULL, **keyed = NULL;
        _cleanup_free_ char *display = NULL, *created_by = NULL, *joined = NULL;
        const char *net = dockerfile_flag(in, "network");
        struct run_data d = {};
        struct build_key k = {};
        const char *cwd = build_config_string(s->state.config, "WorkingDir");
        int r;

        if (dockerfile_flag(in, "mount") || dockerfile_flag(in, "security"))
                return err_set(-EOPNOTSUPP, "Dockerfile:%u: RUN --%s is not supported", in->line,
                               dockerfile_flag(in, "mount") ? "mount" : "security");
        if (net && !streq(net, "default") && !streq(net, "host") && !streq(net, "none"))
                return err_set(-EINVAL,
                               "Dockerfile:%u: RUN --network: expected default, host or none, got '%s'",
                               in->line, net);
        if (in->exec_form) {
                if (!in->args[0])
                        return err_set(-EINVAL, "Dockerfile:%u: RUN needs a command", in->line);
                args = strv_copy(in->args);
                r = args ? 0 : -ENOMEM;
        } else
                r = shell_form(s, in->args[0], &args);
        if (r < 0)
                return r;
        /* The environment: ENV, then the ARGs ENV does not shadow. Only these are keyed. */
        r = build_config_strv(s->state.config, "Env", &env);
        if (r < 0)
                return r;
        STRV_FOREACH (a, s->args) {
                _cleanup_free_ char *name = strndup(*a, strcspn(*a, "="));
                if (!name)
                        return -ENOMEM;
                if (!build_env_get(env, name) && (r = strv_extend(&env, *a)) < 0)
                        return r;
        }
        keyed = strv_copy(env ?: (char *[]){NULL});
        if (!keyed)
                return -ENOMEM;
        for (const char *const *p = proxy_args; *p; p++) {
                const char *v = build_env_get(x->build_args, *p);
                if (v && !build_env_get(env, *p)) {
                        if (!strv_contains(x->used_args, *p) && (r = strv_extend(&x->used_args, *p)) < 0)
                                return r;
                        if ((r = build_env_set(&env, *p, v)) < 0)
                                return r;
                }
        }
        joined = in->exec_form ? strdup(in->original + strcspn(in->original, " \t")) : NULL;
        display = strdup_printf("RUN %s", in->exec_form ? strempty(joined) + strspn(strempty(joined), " \t")
                                                        : in->args[0]);
        created_by = strdup_printf("RUN %s",
                                   in->exec_form ? strempty(joined) + strspn(strempty(joined), " \t") : "");
        if (!display || !created_by)
                return -ENOMEM;
        if (!in->exec_form) {
                /* History shows what ran: "RUN /bin/sh -c make". */
                for (size_t i = 0; args[i]; i++) {
                        char *n = strdup_printf("%s%s%s", created_by, i ? " " : "", args[i]);
                        if (!n)
                                return -ENOMEM;
                        free(created_by);
                        created_by = n;
                }
        }
        d.spec = (struct build_run_spec){
                .args = args,
                .env = env,
                .cwd = cwd && *cwd ? cwd : "/",
                .user = build_config_string(s->state.config, "User"),
                .network_none = net && streq(net, "none"),
                .display = display,
                .created_by = created_by,
        };
        r = build_key_begin(&k, s->state.key, "RUN");
        if (r < 0)
                return r;
        build_key_add_strv(&k, args);
        build_key_add_strv(&k, keyed);
        build_key_add(&k, d.spec.user);
        build_key_add(&k, d.spec.cwd);
        build_key_add(&k, d.spec.network_none ? "none" : "host");
        return cached(x, s, in, &k, exec_run, &d);
}

/* ------------------------------------------------------------------ WORKDIR */

static int exec_workdir(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                        void *data)
{
        _cleanup_build_mount_ struct build_mount m = {};
        _cleanup_close_ int fd = -EBADF;
        const char *path = data, *user = build_config_string(s->state.config, "User");
        struct build_user u = {};
        uid_t uid = (uid_t)-1;
        gid_t gid = (gid_t)-1;
        bool created;
        int r;

        r = build_config_set_string(s->state.config, "WorkingDir", path);
        if (r < 0)
                return r;
        /* As Docker, the directory exists in the image from here on: made in a layer when missing. */
        r = build_mount(&x->b, &s->state, "workdir", false, &m);
        if (r < 0)
                return r;
        /* As BuildKit, owned by the USER in effect (when the image knows it), so that it can write there. */
        if (user && *user && build_user_lookup(m.root_fd, user, false, false, &u) >= 0) {
                uid = u.uid;
                gid = u.gid;
                build_user_done(&u);
        }
        err_clear();
        fd = copy_mkdir(m.root_fd, path, uid, gid, &created);
        if (fd < 0)
                return fd;
        fd = safe_close(fd);
        r = build_mount_detach(&m);
        if (r < 0)
                return r;
        return build_commit(&x->b, &s->state, m.upper, in->original);
}

int build_step_workdir(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *word = NULL, *path = NULL;
        struct build_key k = {};
        int r;

        r = build_stage_env(s, &env);
        if (r < 0)
                return r;
        r = build_expand(x, in, in->args[0], env, &word);
        if (r < 0)
                return r;
        path = build_path_join(build_config_string(s->state.config, "WorkingDir"), word);
        if (!path)
                return -ENOMEM;
        r = build_key_begin(&k, s->state.key, "WORKDIR");
        if (r < 0)
                return r;
        build_key_add(&k, path);
        return cached(x, s, in, &k, exec_workdir, path);
}

/* ------------------------------------------------------------------ COPY and ADD */

struct copy_data {
        struct copy_source src;
        struct copy_spec spec;
        char **paths;                   /* matched, for the context */
        const struct build_state *from; /* --from: the stage or image to mount */
        const char *chown;
};

static int exec_copy(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                     void *data)
{
        _cleanup_build_mount_ struct build_mount m = {}, fm = {};

        _cleanup_strv_free_ char **paths = NULL;
        struct copy_data *d = data;
        struct copy_source src = d->src;
        struct copy_spec spec = d->spec;
        int r;

        if (d->from) {
                r = build_mount(&x->b, d->from, "from", true, &fm);
                if (r < 0)
                        return r;
                src.root_fd = fm.root_fd;
                r = copy_match(&src, spec.srcs, &paths);
                if (r < 0)
                        return r;
        }
        r = build_mount(&x->b, &s->state, "copy", false, &m);
        if (r < 0)
                return r;
        if (d->chown) {
                struct build_user u = {};
                r = build_user_lookup(m.root_fd, d->chown, false, true, &u);
                if (r < 0)
                        return err_prefix(r, "--chown");
                spec.uid = u.uid;
                spec.gid = u.gid;
                build_user_done(&u);
        }
        spec.stage_dir = m.dir;
        r = copy_run(&src, d->from ? paths : d->paths, &spec, m.root_fd);
        if (r < 0)
                return r;
        r = build_mount_detach(&m);
        if (r < 0)
                return r;
        return build_commit(&x->b, &s->state, m.upper, in->original);
}

/* The --from of COPY: a stage by name or index, else an image. */
static int copy_from(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in,
                     const char *from, struct build_state *image, const struct build_state **ret)
{
        _cleanup_free_ char *lower = strdup(from);
        size_t self = (size_t)(s - x->stages);
        uint32_t idx;
        int r;

        if (!lower)
                return -ENOMEM;
        for (char *p = lower; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        for (size_t i = 0; i < self; i++)
                if ((x->stages[i].name && streq(x->stages[i].name, lower)) ||
                    (parse_u32(from, &idx) >= 0 && idx == i)) {
                        if (!x->stages[i].built)
                                return err_set(-EINVAL,
                                               "Dockerfile:%u: COPY --from=%s: the stage was not built",
                                               in->line, from);
                        *ret = &x->stages[i].state;
                        return 0;
                }
        if (parse_u32(from, &idx) >= 0)
                return err_set(-EINVAL, "Dockerfile:%u: COPY --from=%s: no such stage before this one",
                               in->line, from);
        r = build_image_state(x, from, image);
        if (r < 0)
                return err_prefix(r, "Dockerfile:%u: COPY --from=%s", in->line, from);
        snprintf(image->key, sizeof(image->key), "%s", image->image_id + strlen("sha256:"));
        *ret = image;
        return 0;
}

static bool ends_as_dir(const char *d)
{
        size_t n = strlen(d);
        return n == 0 || d[n - 1] == '/' || streq(d, ".") || (n >= 2 && streq(d + n - 2, "/."));
}

int build_step_copy(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        static const char *const refused[] = {"parents", "exclude", "checksum", "keep-git-dir", NULL};
        _cleanup_strv_free_ char **env = NULL, **words = NULL;
        _cleanup_free_ char *from = NULL, *chown = NULL, *dest = NULL;
        _cleanup_(build_state_done) struct build_state image = {};
        const char *kind = dockerfile_kind_to_string(in->kind), *f;
        struct copy_data d = {};
        struct build_key k = {};
        size_t n;
        int r;

        for (const char *const *p = refused; *p; p++)
                if (dockerfile_flag(in, *p))
                        return err_set(-EOPNOTSUPP, "Dockerfile:%u: %s --%s is not supported", in->line,
                                       kind, *p);
        r = build_stage_env(s, &env);
        if (r < 0)
                return r;
        r = build_expand_all(x, in, in->args, env, &words);
        if (r < 0)
                return r;
        n = strv_length(words);
        for (size_t i = 0; i + 1 < n; i++)
                if (strstr(words[i], "://") || startswith(words[i], "git@"))
                        return err_set(
                                -EOPNOTSUPP,
                                "Dockerfile:%u: %s '%s': sources from URLs are not supported (download them "
                                "in a RUN step, or COPY a local file)",
                                in->line, kind, words[i]);
        if ((f = dockerfile_flag(in, "from")) && (r = build_expand(x, in, f, env, &from)) < 0)
                return r;
        if ((f = dockerfile_flag(in, "chown")) && (r = build_expand(x, in, f, env, &chown)) < 0)
                return r;
        d.spec = (struct copy_spec){.add = in->kind == DF_ADD,
                                    .uid = (uid_t)-1,
                                    .gid = (gid_t)-1,
                                    .mode = (mode_t)-1,
                                    .b = &x->b};
        if ((f = dockerfile_flag(in, "chmod")) && (r = copy_parse_chmod(f, &d.spec.mode)) < 0)
                return err_prefix(r, "Dockerfile:%u: %s", in->line, kind);
        dest = build_path_join(build_config_string(s->state.config, "WorkingDir"), words[n - 1]);
        if (!dest)
                return -ENOMEM;
        d.spec.dest = dest;
        d.spec.dest_is_dir = ends_as_dir(words[n - 1]);
        free(words[n - 1]);
        words[n - 1] = NULL;
        d.spec.srcs = words;
        d.chown = chown;
        r = build_key_begin(&k, s->state.key, kind);
        if (r < 0)
                return r;
        if (from) {
                if (in->kind == DF_ADD)
                        r = err_set(-EINVAL, "Dockerfile:%u: ADD has no --from (use COPY --from)", in->line);
                if (r >= 0)
                        r = copy_from(x, s, in, from, &image, &d.from);
                if (r < 0) {
                        build_key_abort(&k);
                        return r;
                }
                d.src = (struct copy_source){.keep_owner = true, .what = "stage or image of --from"};
                build_key_add(&k, "from");
                build_key_add(&k, d.from->key);
                build_key_add_strv(&k, words);
        } else {
                d.src = (struct copy_source){
                        .root_fd = x->context_fd,
                        .ignore = x->ignore,
                        .ignore_exceptions = x->ignore_exceptions,
                        .what = "build context",
                };
                r = copy_match(&d.src, words, &d.paths);
                if (r >= 0)
                        r = copy_hash(&d.src, d.paths, &k);
                if (r < 0) {
                        build_key_abort(&k);
                        return err_prefix(r, "Dockerfile:%u: %s", in->line, kind);
                }
        }
        build_key_add(&k, dest);
        build_key_add_u64(&k, d.spec.dest_is_dir);
        build_key_add(&k, chown);
        build_key_add_u64(&k, d.spec.mode);
        r = cached(x, s, in, &k, exec_copy, &d);
        strv_free(d.paths);
        return r;
}
