/* SPDX-License-Identifier: Apache-2.0 */
/* output.c - tables, templates, sizes, times and progress for `hull`; see output.h. */
#include <time.h>

#include "output.h"
#include "util.h"

struct table {
        size_t n_cols, n_rows;
        bool *hidden;
        char **headers, **fields;
        char **cells; /* n_rows * n_cols */
};

struct table *table_new(const char *const *headers, const char *const *fields, size_t n_cols)
{
        struct table *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->n_cols = n_cols;
        t->headers = calloc(n_cols, sizeof(char *));
        t->fields = calloc(n_cols, sizeof(char *));
        t->hidden = calloc(n_cols, sizeof(bool));
        if (!t->headers || !t->fields || !t->hidden) {
                table_free(t);
                return NULL;
        }
        for (size_t i = 0; i < n_cols; i++) {
                t->headers[i] = strdup(headers[i]);
                t->fields[i] = strdup(fields[i]);
                if (!t->headers[i] || !t->fields[i]) {
                        table_free(t);
                        return NULL;
                }
        }
        return t;
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_cols; i++) {
                if (t->headers)
                        free(t->headers[i]);
                if (t->fields)
                        free(t->fields[i]);
        }
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->headers);
        free(t->fields);
        free(t->hidden);
        free(t->cells);
        free(t);
}

void table_hide_column(struct table *t, const char *field)
{
        for (size_t i = 0; i < t->n_cols; i++)
                if (streq(t->fields[i], field))
                        t->hidden[i] = true;
}

int table_add_row(struct table *t, const char *const *cells)
{
        char **c = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));
        if (!c)
                return -ENOMEM;
        t->cells = c;
        for (size_t i = 0; i < t->n_cols; i++) {
                c[t->n_rows * t->n_cols + i] = strdup(cells[i] ?: "");
                if (!c[t->n_rows * t->n_cols + i]) {
                        for (size_t j = 0; j < i; j++)
                                free(c[t->n_rows * t->n_cols + j]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

static int print_template(struct table *t, const char *tmpl, FILE *f)
{
        for (size_t r = 0; r < t->n_rows; r++) {
                const char *p = tmpl;
                while (*p) {
                        if (p[0] == '{' && p[1] == '{') {
                                const char *end = strstr(p, "}}");
                                const char *name = p + 2;
                                size_t n;
                                bool found = false;

                                if (!end)
                                        return -EINVAL;
                                while (*name == ' ')
                                        name++;
                                if (*name == '.')
                                        name++;
                                n = (size_t)(end - name);
                                while (n > 0 && name[n - 1] == ' ')
                                        n--;
                                for (size_t i = 0; i < t->n_cols; i++)
                                        if (strlen(t->fields[i]) == n && strncasecmp(t->fields[i], name, n) == 0) {
                                                fputs(t->cells[r * t->n_cols + i], f);
                                                found = true;
                                                break;
                                        }
                                if (!found)
                                        return -ENOENT;
                                p = end + 2;
                        } else if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
                                fputc(p[1] == 't' ? '\t' : '\n', f);
                                p += 2;
                        } else
                                fputc(*p++, f);
                }
                fputc('\n', f);
        }
        return 0;
}

int table_print(struct table *t, const char *format, bool noheading, FILE *f)
{
        _cleanup_free_ size_t *w = NULL;

        if (format && !streq(format, "table"))
                return print_template(t, format, f);
        w = calloc(t->n_cols, sizeof(size_t));
        if (!w)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_cols; i++) {
                w[i] = noheading ? 0 : strlen(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++)
                        w[i] = MAX(w[i], strlen(t->cells[r * t->n_cols + i]));
        }
        for (size_t r = noheading ? 1 : 0; r <= t->n_rows; r++) {
                size_t last = t->n_cols;
                while (last > 0 && t->hidden[last - 1])
                        last--;
                for (size_t i = 0; i < last; i++) {
                        const char *cell = r == 0 ? t->headers[i] : t->cells[(r - 1) * t->n_cols + i];
                        if (t->hidden[i])
                                continue;
                        if (i + 1 < last)
                                fprintf(f, "%-*s   ", (int)w[i], cell);
                        else
                                fputs(cell, f);
                }
                fputc('\n', f);
        }
        return 0;
}

const char *format_size(uint64_t bytes, char buf[static 32])
{
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
        double v = (double)bytes;
        size_t u = 0;

        while (v >= 1000 && u + 1 < ELEMENTSOF(units)) {
                v /= 1000;
                u++;
        }
        if (u == 0)
                snprintf(buf, 32, "%llu %s", (unsigned long long)bytes, units[u]);
        else
                snprintf(buf, 32, "%.3g %s", v, units[u]);
        return buf;
}

const char *format_ago(int64_t t, char buf[static 64])
{
        int64_t d = (int64_t)time(NULL) - t;
        static const struct {
                int64_t secs;
                const char *unit;
        } u[] = { { 365 * 86400, "year" }, { 30 * 86400, "month" }, { 7 * 86400, "week" }, { 86400, "day" },
                  { 3600, "hour" },        { 60, "minute" },        { 1, "second" } };

        if (t <= 0) {
                snprintf(buf, 64, "unknown");
                return buf;
        }
        if (d < 1) {
                snprintf(buf, 64, "Less than a second ago");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(u); i++)
                if (d >= u[i].secs) {
                        int64_t n = d / u[i].secs;
                        snprintf(buf, 64, "%lld %s%s ago", (long long)n, u[i].unit, n == 1 ? "" : "s");
                        break;
                }
        return buf;
}

const char *format_time(int64_t t, char buf[static 64])
{
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, 64, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return buf;
}

const char *short_id(const char *digest, char buf[static 16])
{
        const char *h = startswith(digest, "sha256:") ?: digest;
        snprintf(buf, 16, "%.12s", h);
        return buf;
}

static void progress_clear(struct progress_view *v)
{
        if (v->tty && v->last_len > 0) {
                fprintf(stderr, "\r%*s\r", v->last_len, "");
                v->last_len = 0;
        }
}

void progress_view_fn(void *userdata, enum progress_event ev, const char *action, const char *what, uint64_t done,
                      uint64_t total)
{
        struct progress_view *v = userdata;
        char id[16], a[32], b[32];

        if (v->quiet)
                return;
        short_id(what, id);
        switch (ev) {
        case PROGRESS_START:
                v->last_done = 0;
                snprintf(v->current, sizeof(v->current), "%s", id);
                if (v->tty) {
                        progress_clear(v);
                        v->last_len = fprintf(stderr, "%s %s", action, id);
                }
                break;
        case PROGRESS_UPDATE:
                if (!v->tty)
                        break;
                progress_clear(v);
                if (total > 0) {
                        int width = 30, fill = (int)(MIN(done, total) * (uint64_t)width / total);
                        v->last_len = fprintf(stderr, "%s %s [%.*s%s%*s] %s / %s", action, id, fill,
                                              "==============================", fill < width ? ">" : "",
                                              width - fill - (fill < width ? 1 : 0), "", format_size(done, a),
                                              format_size(total, b));
                } else
                        v->last_len = fprintf(stderr, "%s %s %s", action, id, format_size(done, a));
                break;
        case PROGRESS_DONE:
                progress_clear(v);
                fprintf(stderr, "%s %s done\n", action, id);
                break;
        case PROGRESS_EXISTS:
                progress_clear(v);
                fprintf(stderr, "%s %s skipped: already exists\n", action, id);
                break;
        default:
                break;
        }
        fflush(stderr);
}
