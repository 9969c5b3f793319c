/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-agent-proto - what a hostile guest can send to the host: the byte stream of a
 * VM-isolated container's agent (docs/agent.md), through the reader the shim uses.
 *
 * Input: the stream, fed in chunks whose sizes come from the input itself (frames split
 * anywhere). Invariants checked: a returned frame lies inside the reader's buffer and is at
 * most 65536 bytes; only agent message types come out, with the payload size each has; an
 * ERROR's text is inside the payload and holds no NUL; after an error the reader stays
 * failed and says why; the fields of a payload never run past it; a process entry of PROCS
 * that parses has a terminated, printable name and arguments (`hull top` prints them); a CLOCK
 * field that parses is a valid time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable(const char *s, size_t size)
{
        const char *end = memchr(s, 0, size);

        if (!end)
                return false;
        for (; s < end; s++)
                if (*s < 0x20 || *s > 0x7e)
                        return false;
        return true;
}

static void check_msg(const struct agent_reader *r, const struct agent_msg *m)
{
        if (m->len > AGENT_MAX_FROM_AGENT || m->data < r->buf || m->data + m->len > r->buf + r->len)
                abort();
        if (m->type < AGENT_HELLO || !agent_msg_type_to_string(m->type))
                abort();
        if ((m->type == AGENT_EXIT || m->type == AGENT_STARTED || m->type == AGENT_HELLO) && m->len != 4)
                abort();
        if (m->type == AGENT_EXIT && m->value > 255)
                abort();
        if (m->type == AGENT_ERROR &&
            (m->text < (const char *)m->data || m->text + m->text_len != (const char *)m->data + m->len ||
             memchr(m->text, 0, m->text_len) || m->err <= 0))
                abort();
        if ((m->type == AGENT_PROCS || m->type == AGENT_HELLO) && m->id != 0)
                abort();
        /* Treat the payload as fields too: the iterator must stay inside it. */
        struct agent_field_iter it = {m->data, m->len};
        const uint8_t *v;
        uint32_t vl;
        uint16_t tag;
        while (agent_field_next(&it, &tag, &v, &vl) > 0) {
                if (v < m->data || v + vl > m->data + m->len)
                        abort();
                /* CLOCK (the agent's side of CREATE): a time that parses is a valid timespec. */
                struct timespec t;
                if (agent_clock_parse(v, vl, &t) == 0 &&
                    (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L))
                        abort();
                /* A process entry (PROCS, `hull top`): what comes out is terminated and printable. */
                struct agent_proc p;
                if (agent_proc_parse(v, vl, &p) == 0 &&
                    (!printable(p.comm, sizeof(p.comm)) || !printable(p.args, sizeof(p.args)) ||
                     !((p.state >= 'A' && p.state <= 'Z') || (p.state >= 'a' && p.state <= 'z') ||
                       p.state == '?') ||
                     p.nice < -20 || p.nice > 20))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct agent_reader r;
        struct agent_msg m;
        size_t off = 0;
        bool failed = false;

        agent_reader_init(&r, true);
        while (off < size && !failed) {
                /* The first byte of each step says how much of the stream arrives at once. */
                size_t n = 1 + data[off] * 7u;
                off++;
                if (n > size - off)
                        n = size - off;
                if (agent_reader_feed(&r, data + off, n) < 0)
                        failed = true;
                off += n;
                int k;
                while (!failed && (k = agent_reader_next(&r, &m)) > 0)
                        check_msg(&r, &m);
                if (!failed && k < 0) {
                        if (!r.error[0] || agent_reader_next(&r, &m) >= 0)
                                abort();
                        failed = true;
                }
        }
        agent_reader_free(&r);
        return 0;
}
