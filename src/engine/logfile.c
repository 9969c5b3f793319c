/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logfile.c - json-file log records: encoding, decoding, the rotating writer; see logfile.h.
 *
 * The decoder accepts exactly what a JSON object with string members is (RFC 8259):
 * members in any order, unknown members skipped when they are strings, whitespace
 * around tokens. It does not use json-c so that hull-monitor can share the encoder
 * without linking it, and so that one bounded parser handles hostile files.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "logfile.h"
#include "util.h"

const char *log_stream_to_string(enum log_stream s)
{
        return s == LOG_STREAM_STDERR ? "stderr" : "stdout";
}

/* Howard Hinnant's days_from_civil / civil_from_days: no timegm()/gmtime_r() locale or TZ access. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

const char *logfile_format_time(int64_t ns, char *buf, size_t size)
{
        int64_t secs = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
        int64_t frac = ns - secs * 1000000000, days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
        int64_t rem = secs - days * 86400, y;
        unsigned m, d;

        civil_from_days(days, &y, &m, &d);
        snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%09lldZ", (long long)y, m, d,
                 (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60), (long long)frac);
        return buf;
}

static int digits(const char *s, size_t n, int64_t *ret)
{
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int logfile_parse_time(const char *s, size_t len, int64_t *ret_ns)
{
        int64_t y, mo, d, h, mi, se, frac = 0, off = 0;
        size_t i = 19;

        /* YYYY-MM-DDTHH:MM:SS */
        if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
            s[13] != ':' || s[16] != ':')
                return -EINVAL;
        if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0 ||
            digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &se) < 0)
                return -EINVAL;
        /* Nanoseconds since the epoch in an int64_t reach from 1677 to 2262. */
        if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
                return -EINVAL;
        if (s[i] == '.') {
                size_t n = 0;
                for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
                        if (n < 9)
                                frac = frac * 10 + (s[i] - '0');
                if (n == 0)
                        return -EINVAL;
                for (; n < 9; n++)
                        frac *= 10;
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z'))
                i++;
        else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
                int64_t oh, om;
                if (digits(s + i + 1, 2, &oh) < 0 || digits(s + i + 4, 2, &om) < 0 || oh > 23 || om > 59)
                        return -EINVAL;
                off = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
                i += 6;
        } else
                return -EINVAL;
        if (i != len)
                return -EINVAL;
        *ret_ns = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se) - off) *
                          1000000000 +
                  frac;
        return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one (RFC 3629 table 3-7). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        unsigned c = p[0];
        size_t l;
        unsigned lo = 0x80, hi = 0xbf;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                l = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                l = 3;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f; /* no surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                l = 4;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < l || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < l; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return l;
}

size_t logfile_encode(char *out, const void *data, size_t len, enum log_stream stream, int64_t ns)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = data;
        char *o = out, tbuf[48];
        size_t i = 0;

        o = stpcpy(o, "{\"log\":\"");
        while (i < len) {
                unsigned c = p[i];
                size_t l;
                switch (c) {
                case '"':
                        o = stpcpy(o, "\\\"");
                        i++;
                        continue;
                case '\\':
                        o = stpcpy(o, "\\\\");
                        i++;
                        continue;
                case '\n':
                        o = stpcpy(o, "\\n");
                        i++;
                        continue;
                case '\r':
                        o = stpcpy(o, "\\r");
                        i++;
                        continue;
                case '\t':
                        o = stpcpy(o, "\\t");
                        i++;
                        continue;
                default:
                        break;
                }
                l = c < 0x20 || c == 0x7f ? 0 : utf8_len(p + i, len - i);
                if (l == 0) {
                        /* A control character, or a byte that is not UTF-8: keep it, escaped. */
                        o = stpcpy(o, "\\u00");
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                        i++;
                        continue;
                }
                memcpy(o, p + i, l);
                o += l;
                i += l;
        }
        o = stpcpy(o, "\",\"stream\":\"");
        o = stpcpy(o, log_stream_to_string(stream));
        o = stpcpy(o, "\",\"time\":\"");
        o = stpcpy(o, logfile_format_time(ns, tbuf, sizeof(tbuf)));
        o = stpcpy(o, "\"}\n");
        return (size_t)(o - out);
}

/* ------------------------------------------------------------------ decoding */

struct cursor {
        const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
                c->p++;
}

static int hex4(const char *p, unsigned *ret)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                char h = p[i];
                v <<= 4;
                if (h >= '0' && h <= '9')
                        v |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f')
                        v |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                        v |= (unsigned)(h - 'A' + 10);
                else
                        return -EBADMSG;
        }
        *ret = v;
        return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
        if (cp < 0x80) {
                o[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char)(0xc0 | cp >> 6);
                o[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char)(0xe0 | cp >> 12);
                o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                o[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        o[0] = (char)(0xf0 | cp >> 18);
        o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/*
 * Read a JSON string at c->p (which must be '"'). With out != NULL, the decoded bytes go
 * there (the decoded form is never longer than the encoded one) and *ret_len is set.
 */
static int read_string(struct cursor *c, char *out, size_t *ret_len)
{
        size_t n = 0;

        if (c->p >= c->end || *c->p != '"')
                return -EBADMSG;
        c->p++;
        while (c->p < c->end) {
                unsigned char ch = (unsigned char)*c->p;
                if (ch == '"') {
                        c->p++;
                        if (ret_len)
                                *ret_len = n;
                        return 0;
                }
                if (ch < 0x20)
                        return -EBADMSG;
                if (ch != '\\') {
                        if (out)
                                out[n] = (char)ch;
                        n++;
                        c->p++;
                        continue;
                }
                if (c->end - c->p < 2)
                        return -EBADMSG;
                c->p++;
                switch (*c->p) {
                case '"':
                case '\\':
                case '/':
                        ch = (unsigned char)*c->p;
                        break;
                case 'b':
                        ch = '\b';
                        break;
                case 'f':
                        ch = '\f';
                        break;
                case 'n':
                        ch = '\n';
                        break;
                case 'r':
                        ch = '\r';
                        break;
                case 't':
                        ch = '\t';
                        break;
                case 'u': {
                        unsigned cp, lo;
                        if (c->end - c->p < 5 || hex4(c->p + 1, &cp) < 0)
                                return -EBADMSG;
                        c->p += 5;
                        if (cp >= 0x80 && cp <= 0xff) {
                                /* logfile_encode() writes a raw byte that is not UTF-8 this way. */
                                if (out)
                                        out[n] = (char)cp;
                                n++;
                                continue;
                        }
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
                                    hex4(c->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                                        return -EBADMSG;
                                c->p += 6;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        } else if (cp >= 0xdc00 && cp <= 0xdfff)
                                return -EBADMSG;
                        /* "\uXXXX" is 6 bytes, at most 4 come out (12 in, 4 out for a pair). */
                        if (out)
                                n += put_utf8(out + n, cp);
                        else
                                n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                        continue;
                }
                default:
                        return -EBADMSG;
                }
                if (out)
                        out[n] = (char)ch;
                n++;
                c->p++;
        }
        return -EBADMSG;
}

int logfile_decode(const char *line, size_t len, struct log_record *ret)
{
        struct cursor c = {line, line + len};
        struct log_record r = {.stream = _LOG_STREAM_INVALID, .time_ns = -1};
        bool have_log = false;

        skip_ws(&c);
        if (c.p >= c.end || *c.p++ != '{')
                return -EBADMSG;
        for (;;) {
                const char *key, *val;
                size_t klen;
                struct cursor v;

                /* Keys are compared as written: an escaped "log" is some other member. */
                skip_ws(&c);
                key = c.p + 1;
                if (read_string(&c, NULL, NULL) < 0)
                        goto bad;
                klen = (size_t)(c.p - key - 1);
                skip_ws(&c);
                if (c.p >= c.end || *c.p++ != ':')
                        goto bad;
                skip_ws(&c);
                val = c.p;
                v = c;
                if (read_string(&c, NULL, NULL) < 0)
                        goto bad;
                if (klen == 3 && memcmp(key, "log", 3) == 0 && !have_log) {
                        size_t n;
                        r.data = malloc((size_t)(c.p - val) + 1);
                        if (!r.data)
                                return -ENOMEM;
                        if (read_string(&v, r.data, &n) < 0)
                                goto bad;
                        r.len = n;
                        have_log = true;
                } else if (klen == 6 && memcmp(key, "stream", 6) == 0) {
                        size_t n = (size_t)(c.p - val);
                        if (n == 8 && memcmp(val, "\"stdout\"", 8) == 0)
                                r.stream = LOG_STREAM_STDOUT;
                        else if (n == 8 && memcmp(val, "\"stderr\"", 8) == 0)
                                r.stream = LOG_STREAM_STDERR;
                        else
                                goto bad;
                } else if (klen == 4 && memcmp(key, "time", 4) == 0) {
                        if (logfile_parse_time(val + 1, (size_t)(c.p - val) - 2, &r.time_ns) < 0)
                                goto bad;
                }
                skip_ws(&c);
                if (c.p < c.end && *c.p == ',') {
                        c.p++;
                        continue;
                }
                if (c.p < c.end && *c.p == '}') {
                        c.p++;
                        break;
                }
                goto bad;
        }
        skip_ws(&c);
        if (c.p != c.end || !have_log || r.stream < 0 || r.time_ns < 0)
                goto bad;
        *ret = r;
        return 0;
bad:
        free(r.data);
        return -EBADMSG;
}

void log_record_done(struct log_record *r)
{
        free(r->data);
        r->data = NULL;
        r->len = 0;
}

/* ------------------------------------------------------------------ writer */

char *logfile_rotated_path(const char *path, unsigned n)
{
        return strdup_printf("%s.%u", path, n);
}

static int writer_open_file(struct log_writer *w)
{
        struct stat st;

        w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (w->fd < 0)
                return negative_errno();
        if (fstat(w->fd, &st) < 0)
                return negative_errno();
        w->size = (uint64_t)st.st_size;
        return 0;
}

int log_writer_open(struct log_writer *w, const char *path, uint64_t max_size, unsigned max_files)
{
        *w = (struct log_writer){.fd = -EBADF, .max_size = max_size, .max_files = max_files ? max_files : 1};
        w->path = strdup(path);
        w->buf = malloc(LOGFILE_RECORD_MAX);
        if (!w->path || !w->buf) {
                log_writer_close(w);
                return -ENOMEM;
        }
        return writer_open_file(w);
}

static int rotate(struct log_writer *w)
{
        /* Oldest first: .N-1 -> .N is dropped by the rename over it, then down to path -> .1. */
        for (unsigned i = w->max_files - 1; i >= 1; i--) {
                _cleanup_free_ char *to = logfile_rotated_path(w->path, i);
                _cleanup_free_ char *from = i == 1 ? strdup(w->path) : logfile_rotated_path(w->path, i - 1);
                if (!to || !from)
                        return -ENOMEM;
                if (rename(from, to) < 0 && errno != ENOENT)
                        return negative_errno();
        }
        if (w->max_files == 1 && ftruncate(w->fd, 0) < 0)
                return negative_errno();
        w->fd = safe_close(w->fd);
        return writer_open_file(w);
}

static int write_record(struct log_writer *w, enum log_stream s, const char *data, size_t len)
{
        struct timespec ts;
        size_t n;
        int r;

        clock_gettime(CLOCK_REALTIME, &ts);
        n = logfile_encode(w->buf, data, len, s, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
        if (w->max_size > 0 && w->size > 0 && w->size + n > w->max_size) {
                r = rotate(w);
                if (r < 0)
                        return r;
        }
        r = write_all(w->fd, w->buf, n);
        if (r < 0)
                return r;
        w->size += n;
        return 0;
}

int log_writer_feed(struct log_writer *w, enum log_stream s, const char *data, size_t len)
{
        int r;

        while (len > 0) {
                size_t room = LOGFILE_LINE_MAX - w->n_pending[s];
                const char *nl = memchr(data, '\n', MIN(len, room));
                size_t take = nl ? (size_t)(nl - data) + 1 : MIN(len, room);

                if (w->n_pending[s] == 0 && (nl || take == LOGFILE_LINE_MAX)) {
                        /* A whole line straight from the read buffer, no copy. */
                        r = write_record(w, s, data, take);
                } else {
                        memcpy(w->pending[s] + w->n_pending[s], data, take);
                        w->n_pending[s] += take;
                        r = 0;
                        if (nl || w->n_pending[s] == LOGFILE_LINE_MAX) {
                                r = write_record(w, s, w->pending[s], w->n_pending[s]);
                                w->n_pending[s] = 0;
                        }
                }
                if (r < 0)
                        return r;
                data += take;
                len -= take;
        }
        return 0;
}

int log_writer_flush(struct log_writer *w)
{
        int r = 0;
        for (int s = 0; s < _LOG_STREAM_MAX; s++)
                if (w->n_pending[s] > 0) {
                        int k = write_record(w, s, w->pending[s], w->n_pending[s]);
                        w->n_pending[s] = 0;
                        if (k < 0 && r == 0)
                                r = k;
                }
        return r;
}

void log_writer_close(struct log_writer *w)
{
        if (w->fd >= 0)
                log_writer_flush(w);
        w->fd = safe_close(w->fd);
        free(w->path);
        free(w->buf);
        w->path = NULL;
        w->buf = NULL;
}
