/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockerfile.c - Dockerfile parsing and word expansion; see dockerfile.h.
 *
 * The parser works in two steps: logical lines (directives, comments and
 * continuations resolved, each tagged with the line its keyword is on), then
 * one function per argument syntax (JSON-or-shell, key=value pairs, words).
 * Every failure records one "Dockerfile:<line>: <problem>" message.
 */
#include <ctype.h>

#include "dockerfile.h"
#include "error.h"
#include "json.h"
#include "util.h"

#define DOCKERFILE_MAX_SIZE (4u << 20)

static const char *const kind_names[_DF_KIND_MAX] = {
        [DF_FROM] = "FROM",         [DF_RUN] = "RUN",           [DF_CMD] = "CMD",
        [DF_ENTRYPOINT] = "ENTRYPOINT", [DF_LABEL] = "LABEL",   [DF_MAINTAINER] = "MAINTAINER",
        [DF_EXPOSE] = "EXPOSE",     [DF_ENV] = "ENV",           [DF_ADD] = "ADD",
        [DF_COPY] = "COPY",         [DF_VOLUME] = "VOLUME",     [DF_USER] = "USER",
        [DF_WORKDIR] = "WORKDIR",   [DF_ARG] = "ARG",           [DF_STOPSIGNAL] = "STOPSIGNAL",
        [DF_HEALTHCHECK] = "HEALTHCHECK", [DF_SHELL] = "SHELL",
};

/* Flags each instruction accepts; NULL-terminated. */
static const char *const from_flags[] = { "platform", NULL };
static const char *const run_flags[] = { "mount", "network", "security", NULL };
static const char *const copy_flags[] = { "from", "chown", "chmod", "link", "parents", "exclude", NULL };
static const char *const add_flags[] = { "chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", NULL };
static const char *const hc_flags[] = { "interval", "timeout", "start-period", "start-interval", "retries", NULL };

const char *dockerfile_kind_to_string(enum dockerfile_kind k)
{
        return k >= 0 && k < _DF_KIND_MAX ? kind_names[k] : NULL;
}

static void instruction_done(struct dockerfile_instruction *i)
{
        free(i->original);
        strv_free(i->flags);
        strv_free(i->args);
        strv_free(i->kv);
        free(i->stage_name);
}

void dockerfile_free(struct dockerfile *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                instruction_done(&d->v[i]);
        free(d->v);
        free(d);
}

const char *dockerfile_flag(const struct dockerfile_instruction *i, const char *name)
{
        size_t n = strlen(name);
        STRV_FOREACH(f, i->flags)
        {
                if (strncmp(*f, name, n) == 0 && ((*f)[n] == '=' || (*f)[n] == 0))
                        return (*f)[n] == '=' ? *f + n + 1 : "";
        }
        return NULL;
}

static const char *skip_ws(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

/* Split off leading "--name=value" flags. *rest points after them. */
static int parse_flags(struct dockerfile_instruction *in, const char *s, const char *const *allowed,
                       const char **rest)
{
        s = skip_ws(s);
        while (startswith(s, "--")) {
                size_t n = strcspn(s, " \t");
                _cleanup_free_ char *f = strndup(s + 2, n - 2);
                size_t nl;
                bool ok = false;
                int r;

                if (!f)
                        return -ENOMEM;
                nl = strcspn(f, "=");
                for (const char *const *a = allowed; *a; a++)
                        if (strlen(*a) == nl && strncmp(*a, f, nl) == 0)
                                ok = true;
                if (!ok || nl == 0) {
                        f[nl] = 0;
                        return err_set(-EINVAL, "Dockerfile:%u: unknown flag '--%s' for %s", in->line, f,
                                       kind_names[in->kind]);
                }
                r = strv_push(&in->flags, TAKE_PTR(f));
                if (r < 0)
                        return r;
                s = skip_ws(s + n);
        }
        *rest = s;
        return 0;
}

/* A JSON array of strings, or -ENOMSG when s is not one (then it is shell form). */
static int parse_json_array(const char *s, char ***ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n;

        if (*s != '[')
                return -ENOMSG;
        o = json_tokener_parse(s);
        if (!o || json_object_get_type(o) != json_type_array)
                return -ENOMSG;
        n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(o, i);
                int r;
                if (json_object_get_type(e) != json_type_string)
                        return -ENOMSG;
                r = strv_extend(&l, json_object_get_string(e));
                if (r < 0)
                        return r;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* Words separated by whitespace; quotes group (and stay, for dockerfile_expand to remove). */
static int split_words(const char *s, char escape, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        for (;;) {
                const char *start;
                char quote = 0;
                int r;

                s = skip_ws(s);
                if (!*s)
                        break;
                start = s;
                while (*s && (quote || (*s != ' ' && *s != '\t'))) {
                        if (*s == escape && s[1]) {
                                s += 2;
                                continue;
                        }
                        if (quote && *s == quote)
                                quote = 0;
                        else if (!quote && (*s == '"' || *s == '\''))
                                quote = *s;
                        s++;
                }
                r = strv_push(&l, strndup(start, (size_t)(s - start)));
                if (r < 0)
                        return r;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* Remove one level of quotes and escapes (no expansion): for keys and values of ENV/LABEL/ARG. */
static char *unquote(const char *s, size_t n, char escape)
{
        char *out = malloc(n + 1), quote = 0;
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == escape && i + 1 < n && quote != '\'') {
                        out[o++] = s[++i];
                        continue;
                }
                if (quote && c == quote) {
                        quote = 0;
                        continue;
                }
                if (!quote && (c == '"' || c == '\'')) {
                        quote = c;
                        continue;
                }
                out[o++] = c;
        }
        out[o] = 0;
        return out;
}

/* "k=v k2='v 2'" pairs (ENV, LABEL), or the legacy "ENV k value" form. */
static int parse_kv(struct dockerfile_instruction *in, const char *s, char escape, bool legacy_ok)
{
        _cleanup_strv_free_ char **words = NULL;
        int r;

        r = split_words(s, escape, &words);
        if (r < 0)
                return r;
        if (!words[0])
                return err_set(-EINVAL, "Dockerfile:%u: %s needs arguments", in->line, kind_names[in->kind]);
        if (!strchr(words[0], '=')) {
                const char *sp;
                if (!legacy_ok || !words[1])
                        return err_set(-EINVAL, "Dockerfile:%u: %s needs key=value, got '%s'", in->line,
                                       kind_names[in->kind], words[0]);
                /* Legacy "ENV key the rest of the line is the value". */
                s = skip_ws(s);
                sp = s + strcspn(s, " \t");
                if ((r = strv_push(&in->kv, unquote(s, (size_t)(sp - s), escape))) < 0)
                        return r;
                sp = skip_ws(sp);
                return strv_push(&in->kv, unquote(sp, strlen(sp), escape));
        }
        STRV_FOREACH(w, words)
        {
                const char *eq = strchr(*w, '=');
                if (!eq || eq == *w)
                        return err_set(-EINVAL, "Dockerfile:%u: %s needs key=value, got '%s'", in->line,
                                       kind_names[in->kind], *w);
                if ((r = strv_push(&in->kv, unquote(*w, (size_t)(eq - *w), escape))) < 0 ||
                    (r = strv_push(&in->kv, unquote(eq + 1, strlen(eq + 1), escape))) < 0)
                        return r;
        }
        return 0;
}

static int parse_json_or_shell(struct dockerfile_instruction *in, const char *s)
{
        int r = parse_json_array(s, &in->args);
        if (r == 0) {
                in->exec_form = true;
                return 0;
        }
        if (r != -ENOMSG)
                return r;
        in->exec_form = false;
        return strv_extend(&in->args, s);
}

static int parse_args(struct dockerfile_instruction *in, const char *s, char escape)
{
        _cleanup_strv_free_ char **words = NULL;
        int r;

        switch (in->kind) {
        case DF_FROM:
                r = parse_flags(in, s, from_flags, &s);
                if (r < 0)
                        return r;
                r = split_words(s, escape, &words);
                if (r < 0)
                        return r;
                if (strv_length(words) == 3 && strcasecmp(words[1], "as") == 0) {
                        in->stage_name = strdup(words[2]);
                        if (!in->stage_name)
                                return -ENOMEM;
                        for (char *p = in->stage_name; *p; p++)
                                *p = (char)tolower((unsigned char)*p);
                        free(words[1]);
                        free(words[2]);
                        words[1] = words[2] = NULL;
                } else if (strv_length(words) != 1)
                        return err_set(-EINVAL, "Dockerfile:%u: FROM takes an image and optionally 'AS name'", in->line);
                in->args = TAKE_PTR(words);
                return 0;
        case DF_RUN:
                r = parse_flags(in, s, run_flags, &s);
                if (r < 0)
                        return r;
                __attribute__((fallthrough));
        case DF_CMD:
        case DF_ENTRYPOINT:
                if (in->kind != DF_RUN)
                        s = skip_ws(s);
                if (!*s && in->kind == DF_RUN)
                        return err_set(-EINVAL, "Dockerfile:%u: RUN needs a command", in->line);
                return parse_json_or_shell(in, s);
        case DF_SHELL:
                r = parse_json_array(skip_ws(s), &in->args);
                if (r == -ENOMSG || (r == 0 && !in->args[0]))
                        return err_set(-EINVAL, "Dockerfile:%u: SHELL needs a JSON array of strings, e.g. "
                                                "[\"/bin/sh\", \"-c\"]",
                                       in->line);
                in->exec_form = true;
                return r;
        case DF_ENV:
                return parse_kv(in, s, escape, true);
        case DF_LABEL:
                return parse_kv(in, s, escape, false);
        case DF_ARG: {
                const char *eq;
                r = split_words(s, escape, &words);
                if (r < 0)
                        return r;
                if (strv_length(words) != 1)
                        return err_set(-EINVAL, "Dockerfile:%u: ARG takes one name or name=default", in->line);
                eq = strchr(words[0], '=');
                in->has_default = eq != NULL;
                if ((r = strv_push(&in->kv, unquote(words[0], eq ? (size_t)(eq - words[0]) : strlen(words[0]),
                                                    escape))) < 0 ||
                    (r = strv_push(&in->kv, eq ? unquote(eq + 1, strlen(eq + 1), escape) : strdup(""))) < 0)
                        return r;
                if (!in->kv[0][0])
                        return err_set(-EINVAL, "Dockerfile:%u: ARG needs a name", in->line);
                return 0;
        }
        case DF_ADD:
        case DF_COPY:
                r = parse_flags(in, s, in->kind == DF_ADD ? add_flags : copy_flags, &s);
                if (r < 0)
                        return r;
                if (startswith(s, "<<"))
                        return err_set(-EOPNOTSUPP, "Dockerfile:%u: heredocs are not supported", in->line);
                r = parse_json_array(s, &in->args);
                if (r == 0)
                        in->exec_form = true;
                else if (r == -ENOMSG)
                        r = split_words(s, escape, &in->args);
                if (r < 0)
                        return r;
                if (strv_length(in->args) < 2)
                        return err_set(-EINVAL, "Dockerfile:%u: %s needs at least one source and a destination",
                                       in->line, kind_names[in->kind]);
                return 0;
        case DF_EXPOSE:
        case DF_VOLUME:
                if (in->kind == DF_VOLUME && parse_json_array(skip_ws(s), &in->args) == 0)
                        in->exec_form = true;
                else {
                        r = split_words(s, escape, &in->args);
                        if (r < 0)
                                return r;
                }
                if (!in->args[0])
                        return err_set(-EINVAL, "Dockerfile:%u: %s needs arguments", in->line, kind_names[in->kind]);
                return 0;
        case DF_USER:
        case DF_WORKDIR:
        case DF_STOPSIGNAL:
        case DF_MAINTAINER: {
                size_t n;
                s = skip_ws(s);
                n = strlen(s);
                while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                        n--;
                if (n == 0)
                        return err_set(-EINVAL, "Dockerfile:%u: %s needs a value", in->line, kind_names[in->kind]);
                return strv_push(&in->args, strndup(s, n));
        }
        case DF_HEALTHCHECK: {
                const char *cmd;
                r = parse_flags(in, s, hc_flags, &s);
                if (r < 0)
                        return r;
                if (strncasecmp(s, "NONE", 4) == 0 && !*skip_ws(s + 4)) {
                        if (in->flags)
                                return err_set(-EINVAL, "Dockerfile:%u: HEALTHCHECK NONE takes no options", in->line);
                        return strv_extend(&in->args, "NONE");
                }
                if (strncasecmp(s, "CMD", 3) != 0 || (s[3] && s[3] != ' ' && s[3] != '\t'))
                        return err_set(-EINVAL, "Dockerfile:%u: HEALTHCHECK needs NONE or CMD", in->line);
                cmd = skip_ws(s + 3);
                if (!*cmd)
                        return err_set(-EINVAL, "Dockerfile:%u: HEALTHCHECK CMD needs a command", in->line);
                STRV_FOREACH(f, in->flags)
                {
                        const char *v = strchr(*f, '=');
                        int64_t d;
                        if (!v)
                                return err_set(-EINVAL, "Dockerfile:%u: HEALTHCHECK --%s needs a value", in->line, *f);
                        if (startswith(*f, "retries=")) {
                                int n;
                                if (parse_int(v + 1, &n) < 0 || n < 0)
                                        return err_set(-EINVAL, "Dockerfile:%u: invalid --retries '%s'", in->line,
                                                       v + 1);
                        } else if (dockerfile_parse_duration(v + 1, &d) < 0)
                                return err_set(-EINVAL, "Dockerfile:%u: invalid duration '%s' for --%.*s", in->line,
                                               v + 1, (int)(v - *f), *f);
                }
                return parse_json_or_shell(in, cmd);
        }
        default:
                return -EINVAL;
        }
}

/* One logical line: text and the line number of its first physical line. */
struct logical {
        char *text;
        unsigned line;
};

static bool is_blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
}

int dockerfile_parse(const char *buf, size_t len, struct dockerfile **ret)
{
        _cleanup_dockerfile_ struct dockerfile *d = calloc(1, sizeof(*d));
        _cleanup_free_ char *acc = NULL;
        size_t acc_len = 0, pos = 0;
        unsigned lineno = 0, acc_line = 0;
        bool directives = true, seen_from = false;
        int r;

        if (!d)
                return -ENOMEM;
        if (len > DOCKERFILE_MAX_SIZE)
                return err_set(-EFBIG, "Dockerfile: larger than %u bytes", DOCKERFILE_MAX_SIZE);
        if (memchr(buf, 0, len))
                return err_set(-EINVAL, "Dockerfile: contains a NUL byte");
        d->escape = '\\';
        /* A UTF-8 byte order mark is allowed before everything. */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                pos = 3;
        while (pos < len || acc) {
                const char *line = buf + pos;
                size_t n = 0, trimmed;
                bool eof = pos >= len;

                if (!eof) {
                        const char *nl = memchr(line, '\n', len - pos);
                        n = nl ? (size_t)(nl - line) : len - pos;
                        pos += n + (nl ? 1 : 0);
                        lineno++;
                        if (n > 0 && line[n - 1] == '\r')
                                n--;
                }
                if (!eof && directives) {
                        const char *p = line, *end = line + n;
                        while (p < end && (*p == ' ' || *p == '\t'))
                                p++;
                        if (p < end && *p == '#') {
                                char key[16] = "", val[64] = "";
                                _cleanup_free_ char *l = strndup(p + 1, (size_t)(end - p - 1));
                                if (!l)
                                        return -ENOMEM;
                                if (sscanf(l, " %15[a-zA-Z] = %63s", key, val) == 2) {
                                        if (strcasecmp(key, "escape") == 0) {
                                                if (strlen(val) != 1 || (val[0] != '\\' && val[0] != '`'))
                                                        return err_set(-EINVAL,
                                                                       "Dockerfile:%u: invalid escape '%s' (\\ or `)",
                                                                       lineno, val);
                                                d->escape = val[0];
                                        }
                                        /* "syntax" (a BuildKit frontend) and unknown directives: ignored. */
                                        continue;
                                }
                        }
                        directives = false;
                }
                if (!eof) {
                        const char *p = line;
                        while (p < line + n && (*p == ' ' || *p == '\t'))
                                p++;
                        /* Comments, also in the middle of a continued instruction, are dropped. */
                        if (p < line + n && *p == '#')
                                continue;
                        if (is_blank(line, n) && !acc)
                                continue;
                        if (is_blank(line, n))
                                continue; /* an empty line inside a continuation */
                        trimmed = n;
                        while (trimmed > 0 && (line[trimmed - 1] == ' ' || line[trimmed - 1] == '\t'))
                                trimmed--;
                        {
                                bool cont = trimmed > 0 && line[trimmed - 1] == d->escape;
                                size_t take = cont ? trimmed - 1 : n;
                                char *na = realloc(acc, acc_len + take + 2);
                                if (!na)
                                        return -ENOMEM;
                                acc = na;
                                if (acc_len == 0)
                                        acc_line = lineno;
                                memcpy(acc + acc_len, line, take);
                                acc_len += take;
                                acc[acc_len] = 0;
                                if (cont && pos < len)
                                        continue;
                        }
                }
                if (!acc)
                        break;
                /* A complete instruction in acc. */
                {
                        struct dockerfile_instruction in = { .line = acc_line };
                        const char *p = skip_ws(acc), *rest;
                        char kw[32];
                        size_t kn = strcspn(p, " \t");
                        struct dockerfile_instruction *nv;

                        snprintf(kw, sizeof(kw), "%.*s", (int)MIN(kn, sizeof(kw) - 1), p);
                        rest = skip_ws(p + kn);
                        in.kind = _DF_KIND_INVALID;
                        for (int k = 0; k < _DF_KIND_MAX; k++)
                                if (strcasecmp(kw, kind_names[k]) == 0 && kn < sizeof(kw))
                                        in.kind = k;
                        if (strcasecmp(kw, "ONBUILD") == 0)
                                return err_set(-EOPNOTSUPP, "Dockerfile:%u: ONBUILD is not supported", acc_line);
                        if (in.kind < 0)
                                return err_set(-EINVAL, "Dockerfile:%u: unknown instruction '%.40s'", acc_line, kw);
                        if (strstr(rest, "<<") && (in.kind == DF_RUN || in.kind == DF_COPY || in.kind == DF_ADD)) {
                                const char *h = strstr(rest, "<<");
                                if (h[2] == '-' || h[2] == '"' || h[2] == '\'' || isupper((unsigned char)h[2]))
                                        return err_set(-EOPNOTSUPP, "Dockerfile:%u: heredocs are not supported",
                                                       acc_line);
                        }
                        if (!seen_from && in.kind != DF_FROM && in.kind != DF_ARG)
                                return err_set(-EINVAL,
                                               "Dockerfile:%u: the first instruction must be FROM (only ARG may come "
                                               "before it), got %s",
                                               acc_line, kind_names[in.kind]);
                        if (in.kind == DF_FROM)
                                seen_from = true;
                        in.original = strdup(p);
                        if (!in.original)
                                return -ENOMEM;
                        r = parse_args(&in, rest, d->escape);
                        if (r < 0) {
                                instruction_done(&in);
                                return r;
                        }
                        nv = realloc(d->v, (d->n + 1) * sizeof(*nv));
                        if (!nv) {
                                instruction_done(&in);
                                return -ENOMEM;
                        }
                        d->v = nv;
                        d->v[d->n++] = in;
                }
                free(acc);
                acc = NULL;
                acc_len = 0;
                if (eof)
                        break;
        }
        if (!seen_from)
                return err_set(-EINVAL, "Dockerfile: no FROM instruction");
        /* Stage names must be unique: COPY --from=name would be ambiguous. */
        for (size_t i = 0; i < d->n; i++)
                for (size_t j = 0; j < i; j++)
                        if (d->v[i].stage_name && d->v[j].stage_name && streq(d->v[i].stage_name, d->v[j].stage_name))
                                return err_set(-EINVAL, "Dockerfile:%u: stage name '%s' is already used on line %u",
                                               d->v[i].line, d->v[i].stage_name, d->v[j].line);
        *ret = TAKE_PTR(d);
        return 0;
}

static const char *env_lookup(char *const *env, const char *name, size_t n)
{
        const char *found = NULL;
        /* The last definition wins (later ENV/ARG shadow earlier ones). */
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        found = env[i] + n + 1;
        return found;
}

struct sbuf {
        char *p;
        size_t n, a;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
        if (b->n + n + 1 > b->a) {
                size_t na = MAX(b->a * 2, b->n + n + 64);
                char *np = realloc(b->p, na);
                if (!np)
                        return -ENOMEM;
                b->p = np;
                b->a = na;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = 0;
        return 0;
}

static bool is_name_char(char c, bool first)
{
        return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

static int expand_into(struct sbuf *out, const char *s, char escape, char *const *env, int depth);

/* $NAME or ${...} at s (s[0] == '$'); *consumed is set to the length used. */
static int expand_var(struct sbuf *out, const char *s, char escape, char *const *env, size_t *consumed, int depth)
{
        const char *name, *val;
        size_t n;

        if (s[1] == '{') {
                const char *end, *p = s + 2;
                int level = 1;
                name = p;
                while (is_name_char(*p, p == name))
                        p++;
                n = (size_t)(p - name);
                if (n == 0)
                        return err_set(-EINVAL, "bad substitution '%.40s'", s);
                /* Find the closing brace, nesting allowed in the word. */
                for (end = p; *end && level > 0; end++) {
                        if (*end == escape && end[1]) {
                                end++;
                                continue;
                        }
                        if (*end == '{')
                                level++;
                        else if (*end == '}')
                                level--;
                }
                if (level != 0)
                        return err_set(-EINVAL, "missing '}' in '%.40s'", s);
                end--; /* at the closing brace */
                val = env_lookup(env, name, n);
                if (p == end) {
                        if (val && sbuf_add(out, val, strlen(val)) < 0)
                                return -ENOMEM;
                } else {
                        bool colon = *p == ':';
                        char op = colon ? p[1] : p[0];
                        const char *word = p + (colon ? 2 : 1);
                        _cleanup_free_ char *w = strndup(word, (size_t)(end - word));
                        bool set = val && (!colon || *val);

                        if (!w)
                                return -ENOMEM;
                        if (op == '-') {
                                if (set) {
                                        if (sbuf_add(out, val, strlen(val)) < 0)
                                                return -ENOMEM;
                                } else if (expand_into(out, w, escape, env, depth + 1) < 0)
                                        return -EINVAL;
                        } else if (op == '+') {
                                if (set && expand_into(out, w, escape, env, depth + 1) < 0)
                                        return -EINVAL;
                        } else
                                return err_set(-EINVAL, "unsupported substitution '%.*s'", (int)(end - s + 1), s);
                }
                *consumed = (size_t)(end - s + 1);
                return 0;
        }
        name = s + 1;
        for (n = 0; is_name_char(name[n], n == 0); n++)
                ;
        if (n == 0) {
                *consumed = 1;
                return sbuf_add(out, "$", 1);
        }
        val = env_lookup(env, name, n);
        if (val && sbuf_add(out, val, strlen(val)) < 0)
                return -ENOMEM;
        *consumed = 1 + n;
        return 0;
}

static int expand_into(struct sbuf *out, const char *s, char escape, char *const *env, int depth)
{
        char quote = 0;

        if (depth > 8)
                return err_set(-EINVAL, "substitutions nested too deeply");
        while (*s) {
                if (quote == '\'') {
                        if (*s == '\'')
                                quote = 0;
                        else if (sbuf_add(out, s, 1) < 0)
                                return -ENOMEM;
                        s++;
                        continue;
                }
                if (*s == escape && s[1]) {
                        if (sbuf_add(out, s + 1, 1) < 0)
                                return -ENOMEM;
                        s += 2;
                        continue;
                }
                if (*s == '"') {
                        quote = quote ? 0 : '"';
                        s++;
                        continue;
                }
                if (*s == '\'' && !quote) {
                        quote = '\'';
                        s++;
                        continue;
                }
                if (*s == '$') {
                        size_t used;
                        int r = expand_var(out, s, escape, env, &used, depth);
                        if (r < 0)
                                return r;
                        s += used;
                        continue;
                }
                if (sbuf_add(out, s, 1) < 0)
                        return -ENOMEM;
                s++;
        }
        if (quote)
                return err_set(-EINVAL, "unterminated %s quote", quote == '"' ? "double" : "single");
        return 0;
}

int dockerfile_expand(const char *word, char escape, char *const *env, char **ret)
{
        struct sbuf b = {};
        int r = sbuf_add(&b, "", 0);

        if (r >= 0)
                r = expand_into(&b, word, escape, env, 0);
        if (r < 0) {
                free(b.p);
                return r;
        }
        *ret = b.p;
        return 0;
}

int dockerfile_parse_duration(const char *s, int64_t *ret)
{
        static const struct {
                const char *unit;
                int64_t ns;
        } units[] = { { "ns", 1 }, { "us", 1000 }, { "µs", 1000 }, { "ms", 1000000 }, { "s", 1000000000LL },
                      { "m", 60000000000LL }, { "h", 3600000000000LL } };
        int64_t total = 0;

        if (!s || !*s)
                return -EINVAL;
        if (streq(s, "0")) {
                *ret = 0;
                return 0;
        }
        while (*s) {
                char *end;
                double v;
                size_t best = 0, bi = 0;

                if (!isdigit((unsigned char)*s) && *s != '.')
                        return -EINVAL;
                v = strtod(s, &end);
                if (end == s || v < 0)
                        return -EINVAL;
                s = end;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (startswith(s, units[i].unit) && strlen(units[i].unit) > best) {
                                best = strlen(units[i].unit);
                                bi = i;
                        }
                if (!best)
                        return -EINVAL;
                if (v * (double)units[bi].ns > 9.2e18 - (double)total)
                        return -ERANGE;
                total += (int64_t)(v * (double)units[bi].ns);
                s += best;
        }
        *ret = total;
        return 0;
}
