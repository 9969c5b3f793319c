/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockerignore.c - .dockerignore parsing and matching; see dockerignore.h.
 *
 * Matching works on whole strings with '/' as a hard boundary: a single
 * component matcher implements filepath.Match's grammar, and the "**" rule
 * is handled one level up by trying every split point at a '/'.
 */
#include <stdint.h>

#include "dockerignore.h"
#include "error.h"
#include "util.h"

struct pattern {
        char *pattern;
        bool exception;
};

struct dockerignore {
        struct pattern *v;
        size_t n;
};

void dockerignore_free(struct dockerignore *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                free(d->v[i].pattern);
        free(d->v);
        free(d);
}

/* Match a character class at *pp against c; advances *pp past ']'. Returns 1, 0, or -EINVAL. */
static int match_class(const char **pp, char c)
{
        const char *p = *pp;
        bool neg = false, matched = false;

        if (*p == '^') {
                neg = true;
                p++;
        }
        for (int first = 1;; first = 0) {
                char lo, hi;
                if (*p == ']' && !first)
                        break;
                if (!*p)
                        return -EINVAL;
                if (*p == '\\') {
                        p++;
                        if (!*p)
                                return -EINVAL;
                }
                lo = *p++;
                hi = lo;
                if (*p == '-' && p[1] != ']') {
                        p++;
                        if (*p == '\\')
                                p++;
                        if (!*p)
                                return -EINVAL;
                        hi = *p++;
                        if (hi < lo)
                                return -EINVAL;
                }
                if (c >= lo && c <= hi)
                        matched = true;
        }
        *pp = p + 1;
        return matched != neg;
}

/* filepath.Match: '*' and '?' stop at '/'. Patterns are checked completely for syntax errors. */
static int match_simple(const char *p, const char *s)
{
        while (*p) {
                switch (*p) {
                case '*': {
                        int r;
                        while (*p == '*')
                                p++;
                        for (const char *t = s;; t++) {
                                r = match_simple(p, t);
                                if (r != 0)
                                        return r;
                                if (!*t || *t == '/')
                                        break;
                        }
                        return 0;
                }
                case '?':
                        if (!*s || *s == '/')
                                return 0;
                        p++;
                        s++;
                        break;
                case '[': {
                        int r;
                        p++;
                        if (!*s || *s == '/') {
                                /* Still validate the class. */
                                r = match_class(&p, 0);
                                return r < 0 ? r : 0;
                        }
                        r = match_class(&p, *s);
                        if (r <= 0)
                                return r;
                        s++;
                        break;
                }
                case '\\':
                        p++;
                        if (!*p)
                                return -EINVAL;
                        __attribute__((fallthrough));
                default:
                        if (*p != *s)
                                return 0;
                        p++;
                        s++;
                        break;
                }
        }
        return *s == 0;
}

/*
 * Which (pattern position, name position) pairs are already known not to match: a pattern with
 * several "**" would otherwise try every way of splitting the name between them again and again
 * (exponential; a fuzzed .dockerignore line took minutes). Positions of tails after a "**" and
 * of component starts in the name make at most (pattern length + 1) x (name length + 1) states.
 */
struct dmatch {
        const char *pattern, *name;
        size_t plen, nlen;
        uint8_t *failed; /* bitmap, (plen + 1) x (nlen + 1) */
};

static bool dmatch_failed(const struct dmatch *m, const char *p, const char *s)
{
        size_t bit = (size_t)(p - m->pattern) * (m->nlen + 1) + (size_t)(s - m->name);
        return m->failed[bit / 8] & (1u << (bit % 8));
}

static void dmatch_set_failed(struct dmatch *m, const char *p, const char *s)
{
        size_t bit = (size_t)(p - m->pattern) * (m->nlen + 1) + (size_t)(s - m->name);
        m->failed[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static int match_dstar(struct dmatch *m, const char *pattern, const char *name)
{
        const char *dstar = strstr(pattern, "**");
        _cleanup_free_ char *head = NULL;
        const char *tail;
        int r;

        if (!dstar)
                return match_simple(pattern, name);
        if (dmatch_failed(m, pattern, name))
                return 0;
        /* "pre**post": pre must match a prefix ending at a '/' (or be empty), post any suffix of what remains. */
        head = strndup(pattern, (size_t)(dstar - pattern));
        if (!head)
                return -ENOMEM;
        tail = dstar + 2;
        while (*tail == '*')
                tail++;
        if (*tail == '/')
                tail++;
        for (const char *s = name;; s++) {
                if (s == name || s[-1] == '/') {
                        _cleanup_free_ char *pre = strndup(name, (size_t)(s - name));
                        if (!pre)
                                return -ENOMEM;
                        r = match_simple(head, pre);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                /* "**" takes any number of whole components, then tail matches the rest. */
                                for (const char *t = s;; t++) {
                                        if (t == s || t[-1] == '/') {
                                                r = *tail ? match_dstar(m, tail, t) : 1;
                                                if (r != 0)
                                                        return r;
                                        }
                                        if (!*t)
                                                break;
                                }
                                /*
                                 * A longer prefix cannot do better: "**" could have taken the
                                 * components it adds.
                                 */
                                break;
                        }
                }
                if (!*s)
                        break;
        }
        dmatch_set_failed(m, pattern, name);
        return 0;
}

int dockerignore_match(const char *pattern, const char *name)
{
        struct dmatch m = {.pattern = pattern, .name = name, .plen = strlen(pattern), .nlen = strlen(name)};
        _cleanup_free_ uint8_t *failed = NULL;
        int r;

        if (!strstr(pattern, "**"))
                return match_simple(pattern, name);
        /* Validate the whole pattern first (also what a match would not reach). */
        for (const char *p = pattern;;) {
                const char *next = strstr(p, "**");
                _cleanup_free_ char *seg = strndup(p, next ? (size_t)(next - p) : strlen(p));
                if (!seg)
                        return -ENOMEM;
                r = match_simple(seg, "");
                if (r < 0)
                        return r;
                if (!next)
                        break;
                p = next + 2;
                while (*p == '*')
                        p++;
                if (*p == '/')
                        p++;
        }
        failed = calloc(((m.plen + 1) * (m.nlen + 1) + 7) / 8, 1);
        if (!failed)
                return -ENOMEM;
        m.failed = failed;
        return match_dstar(&m, pattern, name);
}

/* filepath.Clean without the leading "/" (patterns are relative to the context): "." for the context. */
static char *clean_pattern(const char *s)
{
        _cleanup_free_ char *rooted = path_clean_rooted(s);

        if (!rooted)
                return NULL;
        return strdup(rooted[1] ? rooted + 1 : ".");
}

int dockerignore_parse(const char *buf, size_t len, struct dockerignore **ret)
{
        _cleanup_(dockerignore_freep) struct dockerignore *d = calloc(1, sizeof(*d));
        size_t pos = 0;
        unsigned lineno = 0;

        if (!d)
                return -ENOMEM;
        while (pos < len) {
                const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - line) : len - pos;
                _cleanup_free_ char *l = NULL;
                char *p, *e;
                bool exc = false;
                struct pattern *nv;
                int r;

                pos += n + (nl ? 1 : 0);
                lineno++;
                l = strndup(line, n);
                if (!l)
                        return -ENOMEM;
                p = l;
                while (*p == ' ' || *p == '\t')
                        p++;
                e = p + strlen(p);
                while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                        *--e = 0;
                if (!*p || *p == '#')
                        continue;
                if (*p == '!') {
                        exc = true;
                        p++;
                        while (*p == ' ' || *p == '\t')
                                p++;
                }
                nv = realloc(d->v, (d->n + 1) * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                d->v = nv;
                d->v[d->n] = (struct pattern){ .pattern = clean_pattern(p), .exception = exc };
                if (!d->v[d->n].pattern)
                        return -ENOMEM;
                d->n++;
                r = dockerignore_match(d->v[d->n - 1].pattern, "");
                if (r < 0)
                        return err_set(-EINVAL, ".dockerignore:%u: bad pattern '%.100s'", lineno, p);
        }
        *ret = TAKE_PTR(d);
        return 0;
}

bool dockerignore_excludes(const struct dockerignore *d, const char *path)
{
        _cleanup_free_ char *clean = clean_pattern(path);
        bool excluded = false;

        if (!clean)
                return false;
        for (size_t i = 0; i < d->n; i++) {
                bool m = false;
                /* The path itself or any of its parent directories. */
                for (char *s = clean;; s++) {
                        if (!*s || *s == '/') {
                                char save = *s;
                                *s = 0;
                                m = dockerignore_match(d->v[i].pattern, clean) > 0;
                                *s = save;
                                if (m)
                                        break;
                        }
                        if (!*s)
                                break;
                }
                if (m)
                        excluded = !d->v[i].exception;
        }
        return excluded;
}
