/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build.c - the build executor: inputs, stages, variables and the final
 * image; see build.h for the model and build-step.c for the steps that go
 * through the cache.
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
 */
#include <ctype.h>
#include <fcntl.h>
#include <time.h>

#include "build-internal.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "pull.h"
#include "reference.h"
#include "util.h"

#define DOCKERFILE_MAX (4u << 20)
#define TICK_NS        100000000ull

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
        struct build_state tmp = {.config_text = NULL};
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

void build_emit(struct build *b, enum build_event_type type, const char *text, const char *id,
                const char *data, size_t len)
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

const char *build_env_get(char *const *l, const char *name)
{
        size_t n = strlen(name);
        const char *found = NULL;
        for (size_t i = 0; l && l[i]; i++)
                if (strncmp(l[i], name, n) == 0 && l[i][n] == '=')
                        found = l[i] + n + 1;
        return found;
}

int build_env_set(char ***l, const char *name, const char *value)
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
const char *build_arg_value(struct build_exec *x, const char *name)
{
        const char *v = build_env_get(x->build_args, name);
        if (v && !strv_contains(x->used_args, name) && strv_extend(&x->used_args, name) < 0)
                return NULL;
        return v;
}

/* Variables for expansion in a stage: its ARGs, then ENV, which wins (later entries win). */
int build_stage_env(struct build_stage *s, char ***ret)
{
        _cleanup_strv_free_ char **env = strv_copy(s->args ?: (char *[]){NULL}), **cenv = NULL;
        int r;

        if (!env)
                return -ENOMEM;
        r = build_config_strv(s->state.config, "Env", &cenv);
        if (r < 0)
                return r;
        STRV_FOREACH (e, cenv)
                if ((r = strv_extend(&env, *e)) < 0)
                        return r;
        *ret = TAKE_PTR(env);
        return 0;
}

int build_expand(struct build_exec *x, const struct dockerfile_instruction *in, const char *word,
                 char *const *env, char **ret)
{
        int r = dockerfile_expand(word, x->df->escape, env, ret);
        return r < 0 ? err_prefix(r, "Dockerfile:%u", in->line) : 0;
}

int build_expand_all(struct build_exec *x, const struct dockerfile_instruction *in, char *const *words,
                     char *const *env, char ***ret)
{
        _cleanup_strv_free_ char **out = NULL;
        int r;

        for (size_t i = 0; words && words[i]; i++) {
                char *e;
                r = build_expand(x, in, words[i], env, &e);
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
int build_raw_pairs(const struct dockerfile_instruction *in, char escape, char ***ret)
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
                if ((r = strv_push(&l, strndup(start, eq ? (size_t)(eq - start) : (size_t)(s - start)))) <
                            0 ||
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

/* ------------------------------------------------------------------ stages */

static void step_begin(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        struct build *b = &x->b;
        b->stage = s->number;
        b->step = (unsigned)(in - x->df->v - s->first) + 1;
        b->n_steps = (unsigned)(s->end - s->first);
        b->line = in->line;
        b->step_start_ns = b->last_tick_ns = build_now_ns();
        build_emit(b, BUILD_EVENT_STEP, in->original, NULL, NULL, 0);
}

static int step_arg(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        const char *name = in->kv[0], *v;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *def = NULL;
        int r;

        v = build_arg_value(x, name);
        if (!v && in->has_default) {
                _cleanup_strv_free_ char **raw = NULL;
                r = build_stage_env(s, &env);
                if (r >= 0)
                        r = build_raw_pairs(in, x->df->escape, &raw);
                if (r >= 0)
                        r = build_expand(x, in, raw[1], env, &def);
                if (r < 0)
                        return r;
                v = def;
        }
        if (!v)
                v = build_env_get(x->global_args, name);
        if (!v)
                return 0; /* declared without a value: stays unset */
        return build_env_set(&s->args, name, v);
}

/* A stored image as the state to start from (FROM) or to copy from (COPY --from); pulled when missing. */
int build_image_state(struct build_exec *x, const char *name, struct build_state *st)
{
        _cleanup_free_ char *id = NULL, *config = NULL;
        int r = store_resolve(x->b.store, name, &id);

        if (r == -ENOENT) {
                struct image_pull_options po = {.progress = x->b.o->pull_progress};
                err_clear();
                r = image_pull(x->b.store, name, &po, &id);
        }
        if (r < 0)
                return r;
        r = store_blob_read(x->b.store, id, CONFIG_MAX_SIZE, &config, NULL);
        if (r < 0)
                return r;
        return build_state_set(st, id, config);
}

/* ------------------------------------------------------------------ FROM and stages */

static int step_from(struct build_exec *x, struct build_stage *s, const struct dockerfile_instruction *in)
{
        _cleanup_free_ char *name = NULL, *lower = NULL;
        const char *platform = dockerfile_flag(in, "platform");
        size_t self = (size_t)(s - x->stages);
        struct build_key k = {};
        int r;

        r = build_expand(x, in, in->args[0], x->global_args, &name);
        if (r < 0)
                return r;
        if (!*name)
                return err_set(-EINVAL, "Dockerfile:%u: FROM '%s' names no image", in->line, in->args[0]);
        if (platform) {
                _cleanup_free_ char *p = NULL, *want = strdup_printf("linux/%s", manifest_host_arch());
                r = build_expand(x, in, platform, x->global_args, &p);
                if (r < 0)
                        return r;
                if (!want)
                        return -ENOMEM;
                if (!streq(p, want))
                        return err_set(-EOPNOTSUPP,
                                       "Dockerfile:%u: FROM --platform=%s: hull builds for %s only",
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
                r = build_image_state(x, name, &s->state);
                if (r < 0)
                        return err_prefix(r, "Dockerfile:%u: FROM %s", in->line, name);
        }
        r = build_key_begin(&k, NULL, "FROM");
        if (r < 0)
                return r;
        build_key_add(&k, s->state.image_id ?: "scratch");
        build_key_finish(&k, s->state.key);
        build_emit(&x->b, BUILD_EVENT_DONE, NULL, s->state.image_id, NULL, 0);
        return 0;
}

static int run_stage(struct build_exec *x, struct build_stage *s)
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
                        r = build_step_run(x, s, in);
                        break;
                case DF_COPY:
                case DF_ADD:
                        r = build_step_copy(x, s, in);
                        break;
                case DF_WORKDIR:
                        r = build_step_workdir(x, s, in);
                        break;
                default:
                        r = build_step_meta(x, s, in);
                }
                if (r < 0)
                        return r;
        }
        s->built = true;
        return 0;
}

static void mark_needed(struct build_exec *x, size_t i)
{
        struct build_stage *s = &x->stages[i];

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

static int plan(struct build_exec *x)
{
        const struct dockerfile *df = x->df;
        size_t target;
        unsigned number = 0;
        int r;

        /* Global ARGs: before the first FROM. */
        for (size_t i = 0; i < df->n && df->v[i].kind == DF_ARG; i++) {
                const struct dockerfile_instruction *in = &df->v[i];
                const char *v = build_arg_value(x, in->kv[0]);
                _cleanup_free_ char *def = NULL;

                if (!v && in->has_default) {
                        _cleanup_strv_free_ char **raw = NULL;
                        r = build_raw_pairs(in, x->df->escape, &raw);
                        if (r >= 0)
                                r = build_expand(x, in, raw[1], x->global_args, &def);
                        if (r < 0)
                                return r;
                        v = def;
                }
                if (v && (r = build_env_set(&x->global_args, in->kv[0], v)) < 0)
                        return r;
        }
        for (size_t i = 0; i < df->n; i++) {
                struct build_stage *ns;
                if (df->v[i].kind != DF_FROM)
                        continue;
                ns = realloc(x->stages, (x->n_stages + 1) * sizeof(*ns));
                if (!ns)
                        return -ENOMEM;
                x->stages = ns;
                x->stages[x->n_stages] =
                        (struct build_stage){.first = i, .end = df->n, .name = df->v[i].stage_name};
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
                        return err_set(-ENOENT, "--target: no stage named '%s' in the Dockerfile",
                                       x->b.o->target);
        }
        mark_needed(x, target);
        for (size_t i = 0; i <= target; i++)
                if (x->stages[i].needed)
                        x->stages[i].number = ++number;
        x->b.n_stages = number;
        return (int)target;
}

/* ------------------------------------------------------------------ inputs */

static int read_dockerfile(struct build_exec *x, char **ret, size_t *ret_len)
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
                return err_set(r, "cannot read the Dockerfile '%s': %s", path ?: o->dockerfile,
                               strerror(-r));
        return 0;
}

static int read_dockerignore(struct build_exec *x)
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

static int parse_options(struct build_exec *x)
{
        const struct build_options *o = x->b.o;
        int r;

        if (!o->runtime)
                return err_set(-EINVAL, "no hull-runtime to run RUN steps with");
        STRV_FOREACH (t, o->tags) {
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
        STRV_FOREACH (a, o->build_args) {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *name = eq ? strndup(*a, (size_t)(eq - *a)) : strdup(*a);
                const char *v;

                if (!name)
                        return -ENOMEM;
                if (!*name)
                        return err_set(-EINVAL, "--build-arg '%s': expected NAME=VALUE or NAME", *a);
                v = eq ? eq + 1 : getenv(name);
                if (v && (r = build_env_set(&x->build_args, name, v)) < 0)
                        return r;
        }
        x->context_fd = open(o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x->context_fd < 0)
                return err_set(negative_errno(), "build context '%s': %m (it must be a directory)",
                               o->context);
        return 0;
}

/* ------------------------------------------------------------------ the image */

static int commit_image(struct build_exec *x, struct build_state *st, char **ret_id)
{
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_free_ char *id = NULL;
        const char *text = build_state_text(st);
        char hex[SHA256_HEX_LEN + 1];
        int r;

        if (!text)
                return -ENOMEM;
        sha256_hex(text, strlen(text), hex);
        id = strdup_printf("sha256:%s", hex);
        if (!id)
                return -ENOMEM;
        /* An unchanged rebuild: the image is there (the last step's own), only names move. */
        if (store_image_exists(x->b.store, id)) {
                STRV_FOREACH (tag, x->tags)
                        if ((r = store_tag(x->b.store, id, *tag)) < 0)
                                return r;
                *ret_id = TAKE_PTR(id);
                return 0;
        }
        free(id);
        id = NULL;
        r = store_txn_begin(x->b.store, &t);
        if (r < 0)
                return r;
        r = build_import(&x->b, t, st, NULL, x->tags, &id);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id);
        return 0;
}

static void executor_done(struct build_exec *x)
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

static int run_build(struct build_exec *x, char **ret_id)
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
                r = run_stage(x, &x->stages[i]);
                if (r < 0)
                        return r;
        }
        r = commit_image(x, &x->stages[target].state, &id);
        if (r < 0)
                return r;
        build_emit(&x->b, BUILD_EVENT_COMMIT, x->tags ? x->tags[0] : NULL, id, NULL, 0);
        STRV_FOREACH (a, x->build_args) {
                _cleanup_free_ char *name = strndup(*a, strcspn(*a, "="));
                _cleanup_free_ char *msg = NULL;
                if (!name)
                        return -ENOMEM;
                if (strv_contains(x->used_args, name) || build_arg_predefined(name))
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
        struct build_exec x = {.b = {.store = s, .o = o, .lock_fd = -EBADF}, .context_fd = -EBADF};
        int r = run_build(&x, ret_id);

        executor_done(&x);
        return r;
}
