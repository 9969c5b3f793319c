/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent-proto.c - frame encoding and the bounded frame reader of docs/agent.md.
 *
 * The reader is where the host meets untrusted input from the guest: every check a
 * hostile agent could defeat is here, in one place, and fuzzed (fuzz-agent-proto.c).
 * libc only (the static agent compiles this file too): no err_set(), the reason
 * goes to reader->error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-proto.h"

static const char *const type_names[_AGENT_MSG_MAX] = {
        [AGENT_CREATE] = "CREATE", [AGENT_EXEC] = "EXEC",     [AGENT_STDIN] = "STDIN",
        [AGENT_SIGNAL] = "SIGNAL", [AGENT_RESIZE] = "RESIZE", [AGENT_SHUTDOWN] = "SHUTDOWN",
        [AGENT_HELLO] = "HELLO",   [AGENT_READY] = "READY",   [AGENT_STARTED] = "STARTED",
        [AGENT_STDOUT] = "STDOUT", [AGENT_STDERR] = "STDERR", [AGENT_EXIT] = "EXIT",
        [AGENT_ERROR] = "ERROR",   [AGENT_PS] = "PS",         [AGENT_PROCS] = "PROCS",
};

const char *agent_msg_type_to_string(int type)
{
        if (type < 0 || type >= _AGENT_MSG_MAX || !type_names[type])
                return NULL;
        return type_names[type];
}

static void put_le32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

/* ------------------------------------------------------------------ writing */

void agent_buf_free(struct agent_buf *b)
{
        free(b->data);
        *b = (struct agent_buf){};
}

void agent_buf_consume(struct agent_buf *b, size_t n)
{
        if (n >= b->len) {
                b->len = 0;
                return;
        }
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
}

static int reserve(struct agent_buf *b, size_t n)
{
        size_t want;
        uint8_t *p;

        if (n > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        want = b->len + n;
        if (want <= b->cap)
                return 0;
        want = want < 4096 ? 4096 : want * 2;
        p = realloc(b->data, want);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = want;
        return 0;
}

int agent_buf_put(struct agent_buf *b, const void *p, size_t n)
{
        int r = reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

int agent_buf_put_u32(struct agent_buf *b, uint32_t v)
{
        uint8_t p[4];
        put_le32(p, v);
        return agent_buf_put(b, p, sizeof(p));
}

int agent_buf_begin(struct agent_buf *b, uint16_t type, uint32_t id)
{
        uint8_t h[AGENT_HDR_SIZE] = {};
        int r;

        put_le16(h + 4, type);
        put_le32(h + 8, id);
        b->frame_start = b->len;
        r = agent_buf_put(b, h, sizeof(h));
        return r;
}

void agent_buf_end(struct agent_buf *b)
{
        put_le32(b->data + b->frame_start, (uint32_t)(b->len - b->frame_start - AGENT_HDR_SIZE));
}

int agent_buf_field(struct agent_buf *b, uint16_t tag, const void *p, size_t n)
{
        uint8_t h[8] = {};
        int r;

        if (n > UINT32_MAX)
                return -E2BIG;
        put_le16(h, tag);
        put_le32(h + 4, (uint32_t)n);
        r = agent_buf_put(b, h, sizeof(h));
        return r < 0 ? r : agent_buf_put(b, p, n);
}

int agent_buf_field_str(struct agent_buf *b, uint16_t tag, const char *s)
{
        return agent_buf_field(b, tag, s, strlen(s));
}

int agent_buf_field_parts(struct agent_buf *b, uint16_t tag, const char *const *parts, size_t n)
{
        size_t total = 0;
        uint8_t h[8] = {};
        int r;

        for (size_t i = 0; i < n; i++)
                total += strlen(parts[i]) + (i + 1 < n);
        if (total > UINT32_MAX)
                return -E2BIG;
        put_le16(h, tag);
        put_le32(h + 4, (uint32_t)total);
        r = agent_buf_put(b, h, sizeof(h));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = agent_buf_put(b, parts[i], strlen(parts[i]) + (i + 1 < n));
        }
        return r;
}

int agent_buf_frame(struct agent_buf *b, uint16_t type, uint32_t id, const void *p, size_t n)
{
        int r = agent_buf_begin(b, type, id);
        if (r >= 0)
                r = agent_buf_put(b, p, n);
        if (r >= 0)
                agent_buf_end(b);
        return r;
}

/* ------------------------------------------------------------------ reading */

void agent_reader_init(struct agent_reader *r, bool from_agent)
{
        *r = (struct agent_reader){.from_agent = from_agent};
}

void agent_reader_free(struct agent_reader *r)
{
        free(r->buf);
        r->buf = NULL;
        r->len = r->cap = r->consumed = 0;
}

static size_t max_payload(const struct agent_reader *r)
{
        return r->from_agent ? AGENT_MAX_FROM_AGENT : AGENT_MAX_FROM_HOST;
}

int agent_reader_feed(struct agent_reader *r, const void *p, size_t n)
{
        size_t limit = max_payload(r) + 2 * AGENT_HDR_SIZE + 65536;

        if (n == 0)
                return 0;
        if (r->consumed) {
                memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
                r->len -= r->consumed;
                r->consumed = 0;
        }
        /* Frames are taken out as they complete; more than one frame pending means nobody reads. */
        if (n > limit || r->len + n > limit) {
                snprintf(r->error, sizeof(r->error),
                         "agent: more than %zu bytes pending without a complete frame", limit);
                return -EMSGSIZE;
        }
        if (r->len + n > r->cap) {
                size_t want = (r->len + n) * 2;
                uint8_t *b = realloc(r->buf, want);
                if (!b)
                        return -ENOMEM;
                r->buf = b;
                r->cap = want;
        }
        memcpy(r->buf + r->len, p, n);
        r->len += n;
        return 0;
}

static int fail(struct agent_reader *r, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct agent_reader *r, int e, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof(r->error), fmt, ap);
        va_end(ap);
        return e;
}

/* Checks that depend only on the frame itself; the caller checks ids against its own table. */
static int check_msg(struct agent_reader *r, struct agent_msg *m)
{
        const char *name = agent_msg_type_to_string(m->type);
        bool agent_type = m->type >= AGENT_HELLO;
        size_t want = SIZE_MAX; /* SIZE_MAX: any size */

        if (!name || agent_type != r->from_agent)
                return fail(r, -EBADMSG, "%s: unexpected message type %u", r->from_agent ? "agent" : "host",
                            m->type);
        switch (m->type) {
        case AGENT_HELLO:
        case AGENT_STARTED:
        case AGENT_EXIT:
        case AGENT_SIGNAL:
                want = 4;
                break;
        case AGENT_RESIZE:
                want = 4;
                break;
        case AGENT_READY:
        case AGENT_SHUTDOWN:
        case AGENT_PS:
                want = 0;
                break;
        default:
                break;
        }
        if (want != SIZE_MAX && m->len != want)
                return fail(r, -EBADMSG, "agent: %s of %zu bytes, expected %zu", name, m->len, want);
        if ((m->type == AGENT_HELLO || m->type == AGENT_READY || m->type == AGENT_CREATE ||
             m->type == AGENT_SHUTDOWN || m->type == AGENT_PS || m->type == AGENT_PROCS) &&
            m->id != 0)
                return fail(r, -EBADMSG, "agent: %s for process %u, expected 0", name, m->id);
        if ((m->type == AGENT_STARTED || m->type == AGENT_STDOUT || m->type == AGENT_STDERR ||
             m->type == AGENT_EXIT || m->type == AGENT_EXEC || m->type == AGENT_STDIN ||
             m->type == AGENT_SIGNAL || m->type == AGENT_RESIZE) &&
            m->id == 0)
                return fail(r, -EBADMSG, "agent: %s for process 0", name);
        if (want == 4)
                m->value = get_le32(m->data);
        if (m->type == AGENT_RESIZE) {
                m->rows = get_le16(m->data);
                m->cols = get_le16(m->data + 2);
        }
        if (m->type == AGENT_EXIT && m->value > 255)
                return fail(r, -EBADMSG, "agent: exit status %u of process %u out of range", m->value,
                            m->id);
        if (m->type == AGENT_SIGNAL && (m->value == 0 || m->value > 64))
                return fail(r, -EBADMSG, "host: invalid signal %u", m->value);
        if (m->type == AGENT_ERROR) {
                if (m->len < 4 || m->len - 4 > AGENT_MAX_ERROR_TEXT)
                        return fail(r, -EBADMSG, "agent: ERROR of %zu bytes (4 to %u)", m->len,
                                    4 + AGENT_MAX_ERROR_TEXT);
                m->err = (int32_t)get_le32(m->data);
                m->text = (const char *)m->data + 4;
                m->text_len = m->len - 4;
                if (m->err <= 0 || m->err > 4095)
                        return fail(r, -EBADMSG, "agent: ERROR with errno %d out of range", m->err);
                if (memchr(m->text, 0, m->text_len))
                        return fail(r, -EBADMSG, "agent: ERROR message holds a NUL byte");
        }
        return 0;
}

int agent_reader_next(struct agent_reader *r, struct agent_msg *m)
{
        uint32_t len;
        uint16_t flags;
        int k;

        if (r->error[0])
                return -EBADMSG;
        if (r->consumed) {
                memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
                r->len -= r->consumed;
                r->consumed = 0;
        }
        if (r->len < AGENT_HDR_SIZE)
                return 0;
        len = get_le32(r->buf);
        flags = get_le16(r->buf + 6);
        if (len > max_payload(r))
                return fail(r, -EMSGSIZE, "%s: frame of %u bytes exceeds %zu",
                            r->from_agent ? "agent" : "host", len, max_payload(r));
        if (flags)
                return fail(r, -EBADMSG, "%s: frame with unknown flags 0x%x",
                            r->from_agent ? "agent" : "host", flags);
        if (r->len - AGENT_HDR_SIZE < len)
                return 0;
        *m = (struct agent_msg){
                .type = get_le16(r->buf + 4),
                .id = get_le32(r->buf + 8),
                .data = r->buf + AGENT_HDR_SIZE,
                .len = len,
        };
        k = check_msg(r, m);
        if (k < 0)
                return k;
        r->consumed = AGENT_HDR_SIZE + len;
        return 1;
}

int agent_field_next(struct agent_field_iter *it, uint16_t *ret_tag, const uint8_t **ret_val,
                     uint32_t *ret_len)
{
        uint32_t len;

        if (it->left == 0)
                return 0;
        if (it->left < 8)
                return -EBADMSG;
        len = get_le32(it->p + 4);
        if (len > it->left - 8)
                return -EBADMSG;
        *ret_tag = get_le16(it->p);
        *ret_val = it->p + 8;
        *ret_len = len;
        it->p += 8 + len;
        it->left -= 8 + len;
        return 1;
}

int agent_field_split(const uint8_t *val, uint32_t len, char *out, size_t out_size, char **parts, size_t max)
{
        size_t n = 0;

        if ((size_t)len + 1 > out_size || max == 0)
                return -E2BIG;
        memcpy(out, val, len);
        out[len] = 0;
        parts[n++] = out;
        /* The last part takes the rest, NUL bytes included (a FILE's content). */
        for (uint32_t i = 0; i < len && n < max; i++)
                if (out[i] == 0)
                        parts[n++] = out + i + 1;
        return (int)n;
}

int agent_proc_put(struct agent_buf *b, const struct agent_proc *p, const char *args, size_t args_len)
{
        char head[256];
        int n = snprintf(head, sizeof(head), "%u%c%u%c%u%c%u%c%c%c%d%c%u%c%llu%c%llu%c%llu%c%s", p->pid, 0,
                         p->ppid, 0, p->uid, 0, p->gid, 0, p->state ? p->state : '?', 0, p->nice, 0, p->tty,
                         0, (unsigned long long)p->vsz_kib, 0, (unsigned long long)p->cpu_ms, 0,
                         (unsigned long long)p->elapsed_ms, 0, p->comm);
        uint8_t hdr[8] = {AGENT_P_PROC, 0, 0, 0};
        size_t len;
        int r;

        if (n < 0 || (size_t)n >= sizeof(head))
                return -E2BIG;
        len = (size_t)n + 1 + args_len;
        hdr[4] = (uint8_t)len;
        hdr[5] = (uint8_t)(len >> 8);
        hdr[6] = (uint8_t)(len >> 16);
        hdr[7] = (uint8_t)(len >> 24);
        r = agent_buf_put(b, hdr, sizeof(hdr));
        if (r >= 0)
                r = agent_buf_put(b, head, (size_t)n + 1);
        if (r >= 0)
                r = agent_buf_put(b, args, args_len);
        return r;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s || strlen(s) > 20)
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        if (v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* Copy src into dst (size n), cut, with NULs as spaces and anything else unprintable as '?'. */
static void copy_printable(char *dst, size_t n, const char *src, size_t len)
{
        size_t i;

        for (i = 0; i < len && i + 1 < n; i++) {
                unsigned char c = (unsigned char)src[i];
                dst[i] = c == 0 ? ' ' : c < 0x20 || c > 0x7e ? '?' : (char)c;
        }
        dst[i] = 0;
}

int agent_proc_parse(const uint8_t *val, uint32_t len, struct agent_proc *ret)
{
        char buf[AGENT_PROC_MAX + 1], *parts[12];
        struct agent_proc p = {};
        uint64_t v[10];
        int n = agent_field_split(val, len, buf, sizeof(buf), parts, 12);

        if (n != 12)
                return -EBADMSG;
        for (int i = 0; i < 10; i++) {
                if (i == 4)
                        continue;
                /* nice is -20..19, sent with its sign */
                if (i == 5) {
                        bool neg = parts[5][0] == '-';
                        if (parse_u64(parts[5] + neg, 20, &v[5]) < 0)
                                return -EBADMSG;
                        p.nice = neg ? -(int32_t)v[5] : (int32_t)v[5];
                        continue;
                }
                if (parse_u64(parts[i], i < 7 ? UINT32_MAX : UINT64_MAX, &v[i]) < 0)
                        return -EBADMSG;
        }
        if (strlen(parts[4]) != 1)
                return -EBADMSG;
        p.pid = (uint32_t)v[0];
        p.ppid = (uint32_t)v[1];
        p.uid = (uint32_t)v[2];
        p.gid = (uint32_t)v[3];
        p.state = (parts[4][0] >= 'A' && parts[4][0] <= 'Z') || (parts[4][0] >= 'a' && parts[4][0] <= 'z')
                          ? parts[4][0]
                          : '?';
        p.tty = (uint32_t)v[6];
        p.vsz_kib = v[7];
        p.cpu_ms = v[8];
        p.elapsed_ms = v[9];
        copy_printable(p.comm, sizeof(p.comm), parts[10], strlen(parts[10]));
        copy_printable(p.args, sizeof(p.args), parts[11], len - (size_t)(parts[11] - buf));
        *ret = p;
        return 0;
}

int agent_clock_put(struct agent_buf *b, const struct timespec *t)
{
        uint8_t v[AGENT_CLOCK_SIZE];
        uint64_t sec = (uint64_t)t->tv_sec;

        put_le32(v, (uint32_t)sec);
        put_le32(v + 4, (uint32_t)(sec >> 32));
        put_le32(v + 8, (uint32_t)t->tv_nsec);
        return agent_buf_field(b, AGENT_C_CLOCK, v, sizeof(v));
}

int agent_clock_parse(const uint8_t *val, uint32_t len, struct timespec *ret)
{
        uint64_t sec;
        uint32_t nsec;

        if (len != AGENT_CLOCK_SIZE)
                return -EBADMSG;
        sec = (uint64_t)get_le32(val) | (uint64_t)get_le32(val + 4) << 32;
        nsec = get_le32(val + 8);
        /* time_t is signed 64-bit on every target hull builds for: a larger value would wrap. */
        if (nsec >= 1000000000u || sec > (uint64_t)INT64_MAX)
                return -EBADMSG;
        ret->tv_sec = (time_t)sec;
        ret->tv_nsec = (long)nsec;
        return 0;
}
