/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build.c - the build executor: stages, instructions, variables, cache
 * lookups and the final image; see build.h for the model.
 *
 * Plan: the Dockerfile is split into stages at each FROM; the target (the
 * --target stage, else the last) and, transitively, the stages it names in
 * FROM or COPY --from are built, in file order; others are skipped as
 * BuildKit skips them.
 *
 * Variables (Dockerfile reference, "Environment replacement" and "ARG"):
 *   - ARGs before the first FROM are global: visible in FROM lines, and inside
 *     a stage only after "ARG NAME" re-declares them;
 *   - an ARG's value is its --build-arg, else its default, else (re-declared
 *     global) the global value; ENV of the same name wins over an ARG;
 *   - ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR
 *     and the flags of COPY/ADD are expanded here; RUN, CMD and ENTRYPOINT
 *     are not (the shell does it), but RUN sees the ARGs in its environment;
 *   - the predefined proxy ARGs (HTTP_PROXY...) reach RUN without a
 *     declaration and stay out of cache keys, as in Docker.
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
#include <time.h>

#include "build-internal.h"
#include "error.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "pull.h"
#include "reference.h"
#include "util.h"

#define DOCKERFILE_MAX  (4u << 20)
#define TICK_NS         100000000ull

static const char *const proxy_args[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
        "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy", NULL,
};

static const char *const default_shell[] = { "/bin/sh", "-c", NULL };

struct stage {
        size_t first, end; /* instructions [first, end); first is the FROM */
        const char *name;  /* borrowed from the instruction */
        bool needed, built, cmd_set;
        unsigned number;
        char **args; /* ARG values in scope, "K=V" */
        struct build_state state;
};

struct executor {
        struct build b;
        struct dockerfile *df;
        struct dockerignore *ignore;
        bool ignore_exceptions;
        int context_fd;
        struct stage *stages;
        size_t n_stages;
        char **global_args;   /* "K=V" */
        char **build_args;    /* --build-arg, "K=V" */
        char **used_args;     /* names of build args some ARG consumed */
        char **tags;          /* normalised */
};

/* ------------------------------------------------------------------ state and progress */

void build_state_done(struct build_state *st)
{
        free(st->image_id);
        if (st->config)
                json_object_put(st->config);
        free(st->config_text);
        *st = (struct build_state){};
}

const char *build_state_text(struct build_state *st)
{
        if (!st->config_text)
                st->config_text = strdup(json_to_string(st->config));
        return st->config_text;
}

int build_state_set(struct build_state *st, const char *image_id, const char *config_text)
{
        struct build_state n = {};
        int r;

        n.image_id = image_id ? strdup(image_id) : NULL;
        n.config_text = strdup(config_text);
        if ((image_id && !n.image_id) || !n.config_text) {
                build_state_done(&n);
                return -ENOMEM;
        }
        r = json_parse_buffer(config_text, strlen(config_text), "image config", &n.config);
        if (r >= 0 && !json_object_is_type(n.config, json_type_object))
                r = err_set(-EINVAL, "image config: not a JSON object");
        if (r < 0) {
                build_state_done(&n);
                return r;
        }
        memcpy(n.key, st->key, sizeof(n.key));
        build_state_done(st);
        *st = n;
        return 0;
}

int build_state_copy(const struct build_state *from, struct build_state *to)
{
        struct build_state tmp = { .config_text = NULL };
        const char *text = from->config_text ? from->config_text : json_to_string(from->config);
        int r;

        memcpy(tmp.key, from->key, sizeof(tmp.key));
        r = build_state_set(&tmp, from->image_id, text);
        if (r < 0)
                return r;
        build_state_done(to);
        *to = tmp;
        return 0;
}

uint64_t build_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void build_emit(struct build *b, enum build_event_type type, const char *text, const char *id, const char *data,
                size_t len)
{
        struct build_event e = {
                .type = type,
                .stage = b->stage,
                .n_stages = b->n_stages,
                .step = b->step,
                .n_steps = b->n_steps,
                .line = b->line,
                .text = text,
                .id = id,
                .data = data,
                .len = len,
                .elapsed_ns = build_now_ns() - b->step_start_ns,
        };
        if (b->o->progress && b->o->progress->fn)
                b->o->progress->fn(b->o->progress->userdata, &e);
}

int build_tick(struct build *b)
{
        uint64_t now;

        if (!b)
                return 0;
        if (b->o->cancel && *b->o->cancel)
                return err_set(-ECANCELED, "interrupted");
        now = build_now_ns();
        if (now - b->last_tick_ns >= TICK_NS) {
                b->last_tick_ns = now;
                build_emit(b, BUILD_EVENT_TICK, NULL, NULL, NULL, 0);
        }
        return 0;
}

/* ------------------------------------------------------------------ variables */

static const char *strv_env_get(char *const *l, const char *name)
{
        size_t n = strlen(name);
        const char *found = NULL;
        for (size_t i = 0; l && l[i]; i++)
                if (strncmp(l[i], name, n) == 0 && l[i][n] == '=')
                        found = l[i] + n + 1;
        return found;
}

static int strv_env_set(char ***l, const char *name, const char *value)
{
        size_t n = strlen(name);
        char *kv = strdup_printf("%s=%s", name, value);

        if (!kv)
                return -ENOMEM;
        for (size_t i = 0; *l && (*l)[i]; i++)
                if (strncmp((*l)[i], name, n) == 0 && (*l)[i][n] == '=') {
                        free((*l)[i]);
                        (*l)[i] = kv;
                        return 0;
                }
        return strv_push(l, kv);
}

/* The value of build arg name (marking it used), or NULL. */
static const char *build_arg(struct executor *x, const char *name)
{
        const char *v = strv_env_get(x->build_args, name);
        if (v && !strv_contains(x->used_args, name) && strv_extend(&x->used_args, name) < 0)
                return NULL;
        return v;
}

/* Variables for expansion in a stage: its ARGs, then ENV, which wins (later entries win). */
static int stage_env(struct stage *s, char ***ret)
{
        _cleanup_strv_free_ char **env = strv_copy(s->args ?: (char *[]){ NULL }), **cenv = NULL;
        int r;

        if (!env)
                return -ENOMEM;
        r = build_config_strv(s->state.config, "Env", &cenv);
        if (r < 0)
                return r;
        STRV_FOREACH(e, cenv)
        if ((r = strv_extend(&env, *e)) < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

static int expand(struct executor *x, const struct dockerfile_instruction *in, const char *word, char *const *env,
                  char **ret)
{
        int r = dockerfile_expand(word, x->df->escape, env, ret);
        return r < 0 ? err_prefix(r, "Dockerfile:%u", in->line) : 0;
}

static int expand_all(struct executor *x, const struct dockerfile_instruction *in, char *const *words,
                      char *const *env, char ***ret)
{
        _cleanup_strv_free_ char **out = NULL;
        int r;

        for (size_t i = 0; words && words[i]; i++) {
                char *e;
                r = expand(x, in, words[i], env, &e);
                if (r < 0 || (r = strv_push(&out, e)) < 0)
                        return r;
        }
        if (!out && !(out = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

/*
 * The key=value arguments of ENV, LABEL or ARG as written, quotes and escapes still in place:
 * the parser's kv have them removed already, and expanding those again would expand what single
 * quotes protect ('$HOME') and choke on escaped quotes ("a\"b"). Legacy "ENV key the value".
 */
static int raw_pairs(const struct dockerfile_instruction *in, char escape, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        const char *s = in->original + strcspn(in->original, " \t");
        bool first = true;
        int r;

        for (;;) {
                const char *start, *eq = NULL;
                char quote = 0;

                s += strspn(s, " \t");
                if (!*s)
                        break;
                start = s;
                for (; *s && (quote || (*s != ' ' && *s != '\t')); s++) {
                        if (*s == escape && s[1]) {
                                s++;
                                continue;
                        }
                        if (quote && *s == quote)
                                quote = 0;
                        else if (!quote && (*s == '"' || *s == '\''))
                                quote = *s;
                        else if (!quote && *s == '=' && !eq)
                                eq = s;
                }
                if (!eq && first && in->kind == DF_ENV) {
                        /* Legacy form: the rest of the line is the value. */
                        size_t n = strlen(s + strspn(s, " \t"));
                        const char *v = s + strspn(s, " \t");
                        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                                n--;
                        if ((r = strv_push(&l, strndup(start, (size_t)(s - start)))) < 0 ||
                            (r = strv_push(&l, strndup(v, n))) < 0)
                                return r;
                        break;
                }
                if ((r = strv_push(&l, strndup(start, eq ? (size_t)(eq - start) : (size_t)(s - start)))) < 0 ||
                    (r = strv_push(&l, eq ? strndup(eq + 1, (size_t)(s - eq - 1)) : strdup(""))) < 0)
                        return r;
                first = false;
        }
        /* The parser checked the shape: anything else means the two disagree. */
        if (strv_length(l) != strv_length(in->kv))
                return err_set(-EINVAL, "Dockerfile:%u: cannot read the arguments of %s", in->line,
                               dockerfile_kind_to_string(in->kind));
        *ret = TAKE_PTR(l);
        return 0;
}

/* ------------------------------------------------------------------ steps */

static void step_begin(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
{
        struct build *b = &x->b;
        b->stage = s->number;
        b->step = (unsigned)(in - x->df->v - s->first) + 1;
        b->n_steps = (unsigned)(s->end - s->first);
        b->line = in->line;
        b->step_start_ns = b->last_tick_ns = build_now_ns();
        build_emit(b, BUILD_EVENT_STEP, in->original, NULL, NULL, 0);
}

typedef int (*step_fn)(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, void *data);

/*
 * A step through the cache: k holds the step's inputs; on a hit the state is the cached
 * one, otherwise fn runs and its result is cached. Takes k.
 */
static int cached(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, struct build_key *k,
                  step_fn fn, void *data)
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
        build_emit(&x->b, BUILD_EVENT_DONE, NULL, streq_ptr(image_id, s->state.image_id) ? NULL : s->state.image_id,
                   NULL, 0);
        return 0;
}

/* Metadata steps: the change is made by build.c, the step only adds the history entry. */
static int history_only(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, void *data)
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

static int apply_meta(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, void *data)
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
                STRV_FOREACH(w, m->words)
                if ((r = build_config_expose(cfg, *w)) < 0)
                        break;
                break;
        case DF_VOLUME:
                STRV_FOREACH(w, m->words)
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
static int shell_form(struct stage *s, const char *text, char ***ret)
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

static int step_meta(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_strv_free_ char **env = NULL, **words = NULL;
        struct build_key k = {};
        struct meta m = { .kind = in->kind };
        int r;

        r = stage_env(s, &env);
        if (r < 0)
                return r;
        switch (in->kind) {
        case DF_ENV:
        case DF_LABEL: {
                _cleanup_strv_free_ char **raw = NULL;
                /* Values see the variables before this instruction, not those it sets. */
                r = raw_pairs(in, x->df->escape, &raw);
                if (r >= 0)
                        r = expand_all(x, in, raw, env, &words);
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
                                STRV_FOREACH(a, in->args)
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
                r = expand_all(x, in, in->args, env, &words);
        }
        if (r < 0)
                return r;
        if (in->kind == DF_STOPSIGNAL && signal_from_string(words[0]) <= 0)
                return err_set(-EINVAL, "Dockerfile:%u: STOPSIGNAL: invalid signal '%s'", in->line, words[0]);
        if (in->kind == DF_ENV)
                for (size_t i = 0; words[i]; i += 2)
                        if (!words[i][0] || strchr(words[i], '='))
                                return err_set(-EINVAL, "Dockerfile:%u: ENV: invalid name '%s'", in->line, words[i]);
        r = build_key_begin(&k, s->state.key, dockerfile_kind_to_string(in->kind));
        if (r < 0)
                return r;
        build_key_add_strv(&k, words);
        build_key_add_strv(&k, in->flags);
        m.words = words;
        return cached(x, s, in, &k, apply_meta, &m);
}

static int step_arg(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
{
        const char *name = in->kv[0], *v;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *def = NULL;
        int r;

        v = build_arg(x, name);
        if (!v && in->has_default) {
                _cleanup_strv_free_ char **raw = NULL;
                r = stage_env(s, &env);
                if (r >= 0)
                        r = raw_pairs(in, x->df->escape, &raw);
                if (r >= 0)
                        r = expand(x, in, raw[1], env, &def);
                if (r < 0)
                        return r;
                v = def;
        }
        if (!v)
                v = strv_env_get(x->global_args, name);
        if (!v)
                return 0; /* declared without a value: stays unset */
        return strv_env_set(&s->args, name, v);
}

/* ------------------------------------------------------------------ RUN */

struct run_data {
        struct build_run_spec spec;
};

static int exec_run(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, void *data)
{
        struct run_data *d = data;
        return build_run(&x->b, &s->state, &d->spec);
}

static int step_run(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
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
                return err_set(-EINVAL, "Dockerfile:%u: RUN --network: expected default, host or none, got '%s'",
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
        STRV_FOREACH(a, s->args)
        {
                _cleanup_free_ char *name = strndup(*a, strcspn(*a, "="));
                if (!name)
                        return -ENOMEM;
                if (!strv_env_get(env, name) && (r = strv_extend(&env, *a)) < 0)
                        return r;
        }
        keyed = strv_copy(env ?: (char *[]){ NULL });
        if (!keyed)
                return -ENOMEM;
        for (const char *const *p = proxy_args; *p; p++) {
                const char *v = strv_env_get(x->build_args, *p);
                if (v && !strv_env_get(env, *p)) {
                        if (!strv_contains(x->used_args, *p) && (r = strv_extend(&x->used_args, *p)) < 0)
                                return r;
                        if ((r = strv_env_set(&env, *p, v)) < 0)
                                return r;
                }
        }
        joined = in->exec_form ? strdup(in->original + strcspn(in->original, " \t")) : NULL;
        display = strdup_printf("RUN %s", in->exec_form ? strempty(joined) + strspn(strempty(joined), " \t")
                                                          : in->args[0]);
        created_by = strdup_printf("RUN %s", in->exec_form ? strempty(joined) + strspn(strempty(joined), " \t") : "");
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

static int exec_workdir(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, void *data)
{
        _cleanup_build_mount_ struct build_mount m = {};
        _cleanup_close_ int root_fd = -EBADF, fd = -EBADF;
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
        root_fd = open(m.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return negative_errno();
        /* As BuildKit, owned by the USER in effect (when the image knows it), so that it can write there. */
        if (user && *user && build_user_lookup(root_fd, user, false, false, &u) >= 0) {
                uid = u.uid;
                gid = u.gid;
                build_user_done(&u);
        }
        err_clear();
        fd = copy_mkdir(root_fd, path, uid, gid, &created);
        if (fd < 0)
                return fd;
        fd = safe_close(fd);
        root_fd = safe_close(root_fd);
        r = rootfs_umount(m.rootfs, m.mode);
        if (r < 0)
                return r;
        m.mounted = false;
        return build_commit(&x->b, &s->state, m.upper, in->original);
}

static int step_workdir(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *word = NULL, *path = NULL;
        struct build_key k = {};
        int r;

        r = stage_env(s, &env);
        if (r < 0)
                return r;
        r = expand(x, in, in->args[0], env, &word);
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

static int exec_copy(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, void *data)
{
        _cleanup_build_mount_ struct build_mount m = {}, fm = {};
        _cleanup_close_ int root_fd = -EBADF, from_fd = -EBADF;
        _cleanup_strv_free_ char **paths = NULL;
        struct copy_data *d = data;
        struct copy_source src = d->src;
        struct copy_spec spec = d->spec;
        int r;

        if (d->from) {
                r = build_mount(&x->b, d->from, "from", true, &fm);
                if (r < 0)
                        return r;
                from_fd = open(fm.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (from_fd < 0)
                        return negative_errno();
                src.root_fd = from_fd;
                r = copy_match(&src, spec.srcs, &paths);
                if (r < 0)
                        return r;
        }
        r = build_mount(&x->b, &s->state, "copy", false, &m);
        if (r < 0)
                return r;
        root_fd = open(m.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return negative_errno();
        if (d->chown) {
                struct build_user u = {};
                r = build_user_lookup(root_fd, d->chown, false, true, &u);
                if (r < 0)
                        return err_prefix(r, "--chown");
                spec.uid = u.uid;
                spec.gid = u.gid;
                build_user_done(&u);
        }
        spec.stage_dir = m.dir;
        r = copy_run(&src, d->from ? paths : d->paths, &spec, root_fd);
        if (r < 0)
                return r;
        root_fd = safe_close(root_fd);
        r = rootfs_umount(m.rootfs, m.mode);
        if (r < 0)
                return r;
        m.mounted = false;
        return build_commit(&x->b, &s->state, m.upper, in->original);
}

/* The --from of COPY: a stage by name or index, else an image. */
static int copy_from(struct executor *x, struct stage *s, const struct dockerfile_instruction *in, const char *from,
                     struct build_state *image, const struct build_state **ret)
{
        _cleanup_free_ char *lower = strdup(from), *id = NULL, *config = NULL;
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
                                return err_set(-EINVAL, "Dockerfile:%u: COPY --from=%s: the stage was not built",
                                               in->line, from);
                        *ret = &x->stages[i].state;
                        return 0;
                }
        if (parse_u32(from, &idx) >= 0)
                return err_set(-EINVAL, "Dockerfile:%u: COPY --from=%s: no such stage before this one", in->line, from);
        r = store_resolve(x->b.store, from, &id);
        if (r == -ENOENT) {
                struct image_pull_options po = { .progress = x->b.o->pull_progress };
                err_clear();
                r = image_pull(x->b.store, from, &po, &id);
        }
        if (r < 0)
                return err_prefix(r, "Dockerfile:%u: COPY --from=%s", in->line, from);
        r = store_blob_read(x->b.store, id, CONFIG_MAX_SIZE, &config, NULL);
        if (r < 0)
                return r;
        r = build_state_set(image, id, config);
        if (r < 0)
                return r;
        snprintf(image->key, sizeof(image->key), "%s", id + strlen("sha256:"));
        *ret = image;
        return 0;
}

static bool ends_as_dir(const char *d)
{
        size_t n = strlen(d);
        return n == 0 || d[n - 1] == '/' || streq(d, ".") || (n >= 2 && streq(d + n - 2, "/."));
}

static int step_copy(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
{
        static const char *const refused[] = { "parents", "exclude", "checksum", "keep-git-dir", NULL };
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
                        return err_set(-EOPNOTSUPP, "Dockerfile:%u: %s --%s is not supported", in->line, kind, *p);
        r = stage_env(s, &env);
        if (r < 0)
                return r;
        r = expand_all(x, in, in->args, env, &words);
        if (r < 0)
                return r;
        n = strv_length(words);
        for (size_t i = 0; i + 1 < n; i++)
                if (strstr(words[i], "://") || startswith(words[i], "git@"))
                        return err_set(-EOPNOTSUPP,
                                       "Dockerfile:%u: %s '%s': sources from URLs are not supported (download them "
                                       "in a RUN step, or COPY a local file)",
                                       in->line, kind, words[i]);
        if ((f = dockerfile_flag(in, "from")) && (r = expand(x, in, f, env, &from)) < 0)
                return r;
        if ((f = dockerfile_flag(in, "chown")) && (r = expand(x, in, f, env, &chown)) < 0)
                return r;
        d.spec = (struct copy_spec){ .add = in->kind == DF_ADD, .uid = (uid_t)-1, .gid = (gid_t)-1,
                                     .mode = (mode_t)-1, .b = &x->b };
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
                d.src = (struct copy_source){ .keep_owner = true, .what = "stage or image of --from" };
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

/* ------------------------------------------------------------------ FROM and stages */

static int step_from(struct executor *x, struct stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_free_ char *name = NULL, *lower = NULL, *id = NULL, *config = NULL;
        const char *platform = dockerfile_flag(in, "platform");
        size_t self = (size_t)(s - x->stages);
        struct build_key k = {};
        int r;

        r = expand(x, in, in->args[0], x->global_args, &name);
        if (r < 0)
                return r;
        if (!*name)
                return err_set(-EINVAL, "Dockerfile:%u: FROM '%s' names no image", in->line, in->args[0]);
        if (platform) {
                _cleanup_free_ char *p = NULL, *want = strdup_printf("linux/%s", manifest_host_arch());
                r = expand(x, in, platform, x->global_args, &p);
                if (r < 0)
                        return r;
                if (!want)
                        return -ENOMEM;
                if (!streq(p, want))
                        return err_set(-EOPNOTSUPP, "Dockerfile:%u: FROM --platform=%s: hull builds for %s only",
                                       in->line, p, want);
        }
        lower = strdup(name);
        if (!lower)
                return -ENOMEM;
        for (char *p = lower; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        for (size_t i = self; i > 0; i--)
                if (x->stages[i - 1].name && streq(x->stages[i - 1].name, lower)) {
                        r = build_state_copy(&x->stages[i - 1].state, &s->state);
                        if (r < 0)
                                return r;
                        build_emit(&x->b, BUILD_EVENT_DONE, NULL, s->state.image_id, NULL, 0);
                        return 0;
                }
        if (streq(lower, "scratch")) {
                r = build_config_scratch(&s->state.config);
                if (r < 0)
                        return r;
        } else {
                r = store_resolve(x->b.store, name, &id);
                if (r == -ENOENT) {
                        struct image_pull_options po = { .progress = x->b.o->pull_progress };
                        err_clear();
                        r = image_pull(x->b.store, name, &po, &id);
                }
                if (r < 0)
                        return err_prefix(r, "Dockerfile:%u: FROM %s", in->line, name);
                r = store_blob_read(x->b.store, id, CONFIG_MAX_SIZE, &config, NULL);
                if (r < 0)
                        return r;
                r = build_state_set(&s->state, id, config);
                if (r < 0)
                        return r;
        }
        r = build_key_begin(&k, NULL, "FROM");
        if (r < 0)
                return r;
        build_key_add(&k, id ?: "scratch");
        build_key_finish(&k, s->state.key);
        build_emit(&x->b, BUILD_EVENT_DONE, NULL, id, NULL, 0);
        return 0;
}

static int build_stage(struct executor *x, struct stage *s)
{
        int r;

        for (size_t i = s->first; i < s->end; i++) {
                const struct dockerfile_instruction *in = &x->df->v[i];

                if (x->b.o->cancel && *x->b.o->cancel)
                        return err_set(-ECANCELED, "interrupted");
                step_begin(x, s, in);
                switch (in->kind) {
                case DF_FROM:
                        r = step_from(x, s, in);
                        break;
                case DF_ARG:
                        r = step_arg(x, s, in);
                        if (r >= 0)
                                build_emit(&x->b, BUILD_EVENT_DONE, NULL, NULL, NULL, 0);
                        break;
                case DF_RUN:
                        r = step_run(x, s, in);
                        break;
                case DF_COPY:
                case DF_ADD:
                        r = step_copy(x, s, in);
                        break;
                case DF_WORKDIR:
                        r = step_workdir(x, s, in);
                        break;
                default:
                        r = step_meta(x, s, in);
                }
                if (r < 0)
                        return r;
        }
        s->built = true;
        return 0;
}

static void mark_needed(struct executor *x, size_t i)
{
        struct stage *s = &x->stages[i];

        if (s->needed)
                return;
        s->needed = true;
        for (size_t j = s->first; j < s->end; j++) {
                const struct dockerfile_instruction *in = &x->df->v[j];
                const char *ref = in->kind == DF_FROM ? in->args[0] : dockerfile_flag(in, "from");
                _cleanup_free_ char *e = NULL;
                uint32_t idx;

                if (!ref || (in->kind != DF_FROM && in->kind != DF_COPY))
                        continue;
                if (strchr(ref, '$') && in->kind == DF_COPY) {
                        /* Known only once expanded: keep every earlier stage. */
                        for (size_t k = 0; k < i; k++)
                                mark_needed(x, k);
                        continue;
                }
                if (in->kind == DF_FROM && dockerfile_expand(ref, x->df->escape, x->global_args, &e) < 0)
                        continue;
                for (char *p = e ?: (char *)ref; e && *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                for (size_t k = 0; k < i; k++)
                        if ((x->stages[k].name && strcasecmp(x->stages[k].name, e ?: ref) == 0) ||
                            (in->kind == DF_COPY && parse_u32(ref, &idx) >= 0 && idx == k))
                                mark_needed(x, k);
        }
}

static int plan(struct executor *x)
{
        const struct dockerfile *df = x->df;
        size_t target;
        unsigned number = 0;
        int r;

        /* Global ARGs: before the first FROM. */
        for (size_t i = 0; i < df->n && df->v[i].kind == DF_ARG; i++) {
                const struct dockerfile_instruction *in = &df->v[i];
                const char *v = build_arg(x, in->kv[0]);
                _cleanup_free_ char *def = NULL;

                if (!v && in->has_default) {
                        _cleanup_strv_free_ char **raw = NULL;
                        r = raw_pairs(in, x->df->escape, &raw);
                        if (r >= 0)
                                r = expand(x, in, raw[1], x->global_args, &def);
                        if (r < 0)
                                return r;
                        v = def;
                }
                if (v && (r = strv_env_set(&x->global_args, in->kv[0], v)) < 0)
                        return r;
        }
        for (size_t i = 0; i < df->n; i++) {
                struct stage *ns;
                if (df->v[i].kind != DF_FROM)
                        continue;
                ns = realloc(x->stages, (x->n_stages + 1) * sizeof(*ns));
                if (!ns)
                        return -ENOMEM;
                x->stages = ns;
                x->stages[x->n_stages] = (struct stage){ .first = i, .end = df->n, .name = df->v[i].stage_name };
                if (x->n_stages > 0)
                        x->stages[x->n_stages - 1].end = i;
                x->n_stages++;
        }
        target = x->n_stages - 1;
        if (x->b.o->target) {
                bool found = false;
                for (size_t i = 0; i < x->n_stages && !found; i++)
                        if (x->stages[i].name && strcasecmp(x->stages[i].name, x->b.o->target) == 0) {
                                target = i;
                                found = true;
                        }
                if (!found)
                        return err_set(-ENOENT, "--target: no stage named '%s' in the Dockerfile", x->b.o->target);
        }
        mark_needed(x, target);
        for (size_t i = 0; i <= target; i++)
                if (x->stages[i].needed)
                        x->stages[i].number = ++number;
        x->b.n_stages = number;
        return (int)target;
}

/* ------------------------------------------------------------------ inputs */

static int read_dockerfile(struct executor *x, char **ret, size_t *ret_len)
{
        const struct build_options *o = x->b.o;
        _cleanup_free_ char *path = o->dockerfile ? NULL : strdup_printf("%s/Dockerfile", o->context);
        int r;

        if (!o->dockerfile && !path)
                return -ENOMEM;
        if (o->dockerfile && streq(o->dockerfile, "-"))
                r = read_full_fd(STDIN_FILENO, DOCKERFILE_MAX, ret, ret_len);
        else
                r = read_full_file(path ?: o->dockerfile, DOCKERFILE_MAX, ret, ret_len);
        if (r < 0)
                return err_set(r, "cannot read the Dockerfile '%s': %s", path ?: o->dockerfile, strerror(-r));
        return 0;
}

static int read_dockerignore(struct executor *x)
{
        const struct build_options *o = x->b.o;
        _cleanup_free_ char *buf = NULL, *own = NULL;
        size_t len;
        int r = -ENOENT;

        /* BuildKit's <Dockerfile>.dockerignore beside the Dockerfile comes first. */
        if (o->dockerfile && !streq(o->dockerfile, "-")) {
                own = strdup_printf("%s.dockerignore", o->dockerfile);
                if (!own)
                        return -ENOMEM;
                r = read_full_file(own, DOCKERFILE_MAX, &buf, &len);
        }
        if (r == -ENOENT)
                r = read_full_file_at(x->context_fd, ".dockerignore", DOCKERFILE_MAX, &buf, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return err_set(r, "cannot read .dockerignore: %s", strerror(-r));
        r = dockerignore_parse(buf, len, &x->ignore);
        if (r < 0)
                return r;
        for (const char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (l[strspn(l, " \t")] == '!')
                        x->ignore_exceptions = true;
        return 0;
}

static int parse_options(struct executor *x)
{
        const struct build_options *o = x->b.o;
        int r;

        if (!o->runtime)
                return err_set(-EINVAL, "no hull-runtime to run RUN steps with");
        STRV_FOREACH(t, o->tags)
        {
                _cleanup_image_ref_ struct image_ref *ref = NULL;
                r = image_ref_parse(*t, &ref);
                if (r < 0)
                        return err_prefix(r, "--tag");
                if (ref->digest)
                        return err_set(-EINVAL, "--tag '%s': a tag cannot have a digest", *t);
                r = strv_push(&x->tags, image_ref_string(ref));
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(a, o->build_args)
        {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *name = eq ? strndup(*a, (size_t)(eq - *a)) : strdup(*a);
                const char *v;

                if (!name)
                        return -ENOMEM;
                if (!*name)
                        return err_set(-EINVAL, "--build-arg '%s': expected NAME=VALUE or NAME", *a);
                v = eq ? eq + 1 : getenv(name);
                if (v && (r = strv_env_set(&x->build_args, name, v)) < 0)
                        return r;
        }
        x->context_fd = open(o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x->context_fd < 0)
                return err_set(negative_errno(), "build context '%s': %m (it must be a directory)", o->context);
        return 0;
}

/* ------------------------------------------------------------------ the image */

static int commit_image(struct executor *x, struct build_state *st, char **ret_id)
{
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_free_ struct descriptor *descs = NULL;
        _cleanup_free_ char *id = NULL;
        struct store_layer *layers = NULL;
        const char *text = build_state_text(st);
        char hex[SHA256_HEX_LEN + 1];
        size_t n = 0;
        int r;

        if (!text)
                return -ENOMEM;
        sha256_hex(text, strlen(text), hex);
        id = strdup_printf("sha256:%s", hex);
        if (!id)
                return -ENOMEM;
        /* An unchanged rebuild: the image is there (the last step's own), only names move. */
        if (store_image_exists(x->b.store, id)) {
                STRV_FOREACH(tag, x->tags)
                if ((r = store_tag(x->b.store, id, *tag)) < 0)
                        return r;
                *ret_id = TAKE_PTR(id);
                return 0;
        }
        free(id);
        id = NULL;
        if (st->image_id && (r = store_image_layers(x->b.store, st->image_id, &layers, &n)) < 0)
                return r;
        descs = calloc(n ?: 1, sizeof(*descs));
        if (!descs) {
                store_layers_free(layers, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                descs[i] = (struct descriptor){ .media_type = layers[i].media_type, .digest = layers[i].blob_digest,
                                                .size = layers[i].blob_size };
        r = store_txn_begin(x->b.store, &t);
        if (r >= 0) {
                struct image_import im = { .store = x->b.store, .txn = t };
                r = image_import_config(&im, text, descs, n, x->tags, &id);
        }
        store_layers_free(layers, n);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id);
        return 0;
}

static void executor_done(struct executor *x)
{
        for (size_t i = 0; i < x->n_stages; i++) {
                strv_free(x->stages[i].args);
                build_state_done(&x->stages[i].state);
        }
        free(x->stages);
        dockerfile_free(x->df);
        dockerignore_free(x->ignore);
        safe_close(x->context_fd);
        strv_free(x->global_args);
        strv_free(x->build_args);
        strv_free(x->used_args);
        strv_free(x->tags);
        build_dir_remove(&x->b);
        free(x->b.id);
}

static int run_build(struct executor *x, char **ret_id)
{
        _cleanup_free_ char *text = NULL, *id = NULL;
        size_t len;
        int target, r;

        r = parse_options(x);
        if (r < 0)
                return r;
        r = read_dockerfile(x, &text, &len);
        if (r < 0)
                return r;
        r = dockerfile_parse(text, len, &x->df);
        if (r < 0)
                return r;
        r = read_dockerignore(x);
        if (r < 0)
                return r;
        target = plan(x);
        if (target < 0)
                return target;
        r = build_cache_init(x->b.store);
        if (r < 0)
                return r;
        r = build_cleanup_stale(x->b.store, x->b.o->runtime);
        if (r > 0)
                log_debug("build: collected %d directories of killed builds", r);
        r = build_dir_create(&x->b);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= (size_t)target; i++) {
                if (!x->stages[i].needed)
                        continue;
                r = build_stage(x, &x->stages[i]);
                if (r < 0)
                        return r;
        }
        r = commit_image(x, &x->stages[target].state, &id);
        if (r < 0)
                return r;
        build_emit(&x->b, BUILD_EVENT_COMMIT, x->tags ? x->tags[0] : NULL, id, NULL, 0);
        STRV_FOREACH(a, x->build_args)
        {
                _cleanup_free_ char *name = strndup(*a, strcspn(*a, "="));
                _cleanup_free_ char *msg = NULL;
                if (!name)
                        return -ENOMEM;
                if (strv_contains(x->used_args, name))
                        continue;
                msg = strdup_printf("the build arg '%s' was not consumed by any ARG", name);
                if (msg)
                        build_emit(&x->b, BUILD_EVENT_WARNING, msg, NULL, NULL, 0);
        }
        *ret_id = TAKE_PTR(id);
        return 0;
}

int build_image(struct image_store *s, const struct build_options *o, char **ret_id)
{
        struct executor x = { .b = { .store = s, .o = o, .lock_fd = -EBADF }, .context_fd = -EBADF };
        int r = run_build(&x, ret_id);

        executor_done(&x);
        return r;
}
