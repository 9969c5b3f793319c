/* SPDX-License-Identifier: Apache-2.0 */
/* status.c - the monitor's status file and process identity; see status.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <time.h>

#include "status.h"
#include "util.h"

#define STATUS_MAX (64 * 1024)

void monitor_status_init(struct monitor_status *s)
{
        *s = (struct monitor_status){.exit_code = -1};
}

struct buf {
        char *p;
        size_t n, cap;
        bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->n + n + 1024);
                char *p = realloc(b->p, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = 0;
}

static void buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
static void buf_printf(struct buf *b, const char *fmt, ...)
{
        char tmp[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        buf_add(b, tmp, (size_t)MIN(n, (int)sizeof(tmp) - 1));
}

static void buf_escaped(struct buf *b, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        buf_add(b, "\\\\", 2);
                else if (*s == '\n')
                        buf_add(b, "\\n", 2);
                else
                        buf_add(b, s, 1);
        }
}

int monitor_status_format(const struct monitor_status *s, char **ret, size_t *ret_len)
{
        struct buf b = {};

        buf_printf(&b,
                   "state=%s\npid=%" PRId64 "\npid_start=%" PRId64 "\nmonitor_pid=%" PRId64
                   "\nmonitor_start=%" PRId64 "\nstarted=%" PRId64 "\nfinished=%" PRId64 "\n",
                   s->state, s->pid, s->pid_start, s->monitor_pid, s->monitor_start, s->started,
                   s->finished);
        buf_printf(
                &b,
                "exit_code=%d\noom=%d\nrestarts=%u\nhealth=%s\nhealth_failures=%u\ncleaned=%d\nfinal=%d\n",
                s->exit_code, s->oom, s->restarts, s->health, s->health_failures, s->cleaned, s->final);
        buf_add(&b, "error=", 6);
        buf_escaped(&b, s->error);
        buf_add(&b, "\n", 1);
        for (unsigned i = 0; i < s->n_health_log && i < HEALTH_LOG_KEEP; i++) {
                const struct health_result *h = &s->health_log[i];
                buf_printf(&b, "health_log=%" PRId64 " %" PRId64 " %d ", h->start, h->end, h->exit_code);
                buf_escaped(&b, h->output);
                buf_add(&b, "\n", 1);
        }
        if (b.oom) {
                free(b.p);
                return -ENOMEM;
        }
        *ret = b.p;
        *ret_len = b.n;
        return 0;
}

/* Copy value (escaped) into out (size bytes), unescaping. */
static void unescape(const char *v, size_t n, char *out, size_t size)
{
        size_t o = 0;
        for (size_t i = 0; i < n && o + 1 < size; i++) {
                if (v[i] == '\\' && i + 1 < n) {
                        i++;
                        out[o++] = v[i] == 'n' ? '\n' : v[i];
                } else
                        out[o++] = v[i];
        }
        out[o] = 0;
}

static int64_t num(const char *v, size_t n)
{
        char tmp[32];
        int64_t x;
        if (n >= sizeof(tmp))
                return 0;
        memcpy(tmp, v, n);
        tmp[n] = 0;
        return parse_i64(tmp, &x) < 0 ? 0 : x;
}

static void parse_health_line(struct monitor_status *s, const char *v, size_t n)
{
        struct health_result *h;
        const char *p = v, *end = v + n;
        int64_t f[3];

        if (s->n_health_log >= HEALTH_LOG_KEEP)
                return;
        h = &s->health_log[s->n_health_log];
        for (int i = 0; i < 3; i++) {
                const char *sp = memchr(p, ' ', (size_t)(end - p));
                if (!sp)
                        return;
                f[i] = num(p, (size_t)(sp - p));
                p = sp + 1;
        }
        h->start = f[0];
        h->end = f[1];
        h->exit_code = (int)f[2];
        unescape(p, (size_t)(end - p), h->output, sizeof(h->output));
        s->n_health_log++;
}

int monitor_status_parse(const char *buf, size_t len, struct monitor_status *ret)
{
        struct monitor_status s;
        const char *p = buf, *end = buf + len;

        monitor_status_init(&s);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
                const char *le = nl ? nl : end;
                size_t kl, vl;

                eq = memchr(p, '=', (size_t)(le - p));
                if (!eq) {
                        p = le + 1;
                        continue;
                }
                kl = (size_t)(eq - p);
                vl = (size_t)(le - eq - 1);
#define KEY(k) (kl == strlen(k) && memcmp(p, k, kl) == 0)
                if (KEY("state"))
                        unescape(eq + 1, vl, s.state, sizeof(s.state));
                else if (KEY("pid"))
                        s.pid = num(eq + 1, vl);
                else if (KEY("pid_start"))
                        s.pid_start = num(eq + 1, vl);
                else if (KEY("monitor_pid"))
                        s.monitor_pid = num(eq + 1, vl);
                else if (KEY("monitor_start"))
                        s.monitor_start = num(eq + 1, vl);
                else if (KEY("started"))
                        s.started = num(eq + 1, vl);
                else if (KEY("finished"))
                        s.finished = num(eq + 1, vl);
                else if (KEY("exit_code"))
                        s.exit_code = (int)num(eq + 1, vl);
                else if (KEY("oom"))
                        s.oom = num(eq + 1, vl) != 0;
                else if (KEY("restarts"))
                        s.restarts = (unsigned)num(eq + 1, vl);
                else if (KEY("health"))
                        unescape(eq + 1, vl, s.health, sizeof(s.health));
                else if (KEY("health_failures"))
                        s.health_failures = (unsigned)num(eq + 1, vl);
                else if (KEY("cleaned"))
                        s.cleaned = num(eq + 1, vl) != 0;
                else if (KEY("final"))
                        s.final = num(eq + 1, vl) != 0;
                else if (KEY("error"))
                        unescape(eq + 1, vl, s.error, sizeof(s.error));
                else if (KEY("health_log"))
                        parse_health_line(&s, eq + 1, vl);
#undef KEY
                p = le + 1;
        }
        if (!s.state[0])
                return -EBADMSG;
        *ret = s;
        return 0;
}

int monitor_status_write(const char *dir, const struct monitor_status *s)
{
        _cleanup_free_ char *buf = NULL, *path = NULL;
        size_t n;
        int r;

        r = monitor_status_format(s, &buf, &n);
        if (r < 0)
                return r;
        path = strdup_printf("%s/" STATUS_FILE, dir);
        if (!path)
                return -ENOMEM;
        return write_file_atomic(path, buf, n, 0600);
}

int monitor_status_read(const char *dir, struct monitor_status *ret)
{
        _cleanup_free_ char *buf = NULL, *path = strdup_printf("%s/" STATUS_FILE, dir);
        size_t n;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, STATUS_MAX, &buf, &n);
        if (r < 0)
                return r;
        return monitor_status_parse(buf, n, ret);
}

int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
