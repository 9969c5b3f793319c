/* SPDX-License-Identifier: Apache-2.0 */
/* test-agent-proto.c - frames of docs/agent.md: encoding, the bounded reader, fields. */
#include <time.h>

#include "agent-proto.h"
#include "test.h"

static void put_hdr(uint8_t *h, uint32_t len, uint16_t type, uint16_t flags, uint32_t id)
{
        memcpy(h, &len, 4);
        memcpy(h + 4, &type, 2);
        memcpy(h + 6, &flags, 2);
        memcpy(h + 8, &id, 4);
}

/* Feed one raw frame to a fresh agent-side reader and return agent_reader_next()'s result. */
static int parse_one(uint32_t len, uint16_t type, uint16_t flags, uint32_t id, const void *p, size_t n,
                     struct agent_reader *r, struct agent_msg *m)
{
        uint8_t h[AGENT_HDR_SIZE];
        put_hdr(h, len, type, flags, id);
        agent_reader_init(r, true);
        ASSERT_OK(agent_reader_feed(r, h, sizeof(h)));
        if (n)
                ASSERT_OK(agent_reader_feed(r, p, n));
        return agent_reader_next(r, m);
}

TEST(round_trip_byte_by_byte)
{
        struct agent_buf b = {};
        struct agent_reader r;
        struct agent_msg m;
        uint8_t st[4] = {3, 0, 0, 0};
        int got = 0;

        ASSERT_OK(agent_buf_frame(&b, AGENT_HELLO, 0, "\1\0\0\0", 4));
        ASSERT_OK(agent_buf_frame(&b, AGENT_STDOUT, 1, "hello", 5));
        ASSERT_OK(agent_buf_frame(&b, AGENT_EXIT, 1, st, 4));
        agent_reader_init(&r, true);
        for (size_t i = 0; i < b.len; i++) {
                ASSERT_OK(agent_reader_feed(&r, b.data + i, 1));
                while (agent_reader_next(&r, &m) == 1) {
                        if (got == 0)
                                ASSERT_TRUE(m.type == AGENT_HELLO && m.value == 1);
                        if (got == 1)
                                ASSERT_TRUE(m.type == AGENT_STDOUT && m.len == 5 &&
                                            !memcmp(m.data, "hello", 5));
                        if (got == 2)
                                ASSERT_TRUE(m.type == AGENT_EXIT && m.id == 1 && m.value == 3);
                        got++;
                }
        }
        ASSERT_EQ(got, 3);
        agent_reader_free(&r);
        agent_buf_free(&b);
}

TEST(rejects_hostile_frames)
{
        struct agent_reader r;
        struct agent_msg m;
        uint8_t big[8] = {};

        ASSERT_EQ(parse_one(AGENT_MAX_FROM_AGENT + 1, AGENT_STDOUT, 0, 1, NULL, 0, &r, &m), -EMSGSIZE);
        ASSERT_STREQ(r.error, "agent: frame of 65537 bytes exceeds 65536");
        agent_reader_free(&r);
        ASSERT_EQ(parse_one(0, AGENT_STDOUT, 2, 1, NULL, 0, &r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: frame with unknown flags 0x2");
        agent_reader_free(&r);
        ASSERT_EQ(parse_one(0, AGENT_EXEC, 0, 1, NULL, 0, &r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: unexpected message type 2");
        agent_reader_free(&r);
        ASSERT_EQ(parse_one(8, AGENT_EXIT, 0, 1, big, 8, &r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: EXIT of 8 bytes, expected 4");
        agent_reader_free(&r);
        big[0] = 0;
        big[1] = 1;
        ASSERT_EQ(parse_one(4, AGENT_EXIT, 0, 1, big, 4, &r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: exit status 256 of process 1 out of range");
        agent_reader_free(&r);
        ASSERT_EQ(parse_one(5, AGENT_STDERR, 0, 0, "x\0y\0z", 5, &r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: STDERR for process 0");
        agent_reader_free(&r);
        ASSERT_EQ(parse_one(6, AGENT_ERROR, 0, 1, "\2\0\0\0a\0", 6, &r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: ERROR message holds a NUL byte");
        /* A failed reader stays failed. */
        ASSERT_EQ(agent_reader_next(&r, &m), -EBADMSG);
        agent_reader_free(&r);
        ASSERT_EQ(parse_one(7, AGENT_ERROR, 0, 1, "\2\0\0\0abc", 7, &r, &m), 1);
        ASSERT_TRUE(m.err == 2 && m.text_len == 3 && !memcmp(m.text, "abc", 3));
        agent_reader_free(&r);
}

TEST(incomplete_frame_waits)
{
        struct agent_reader r;
        struct agent_msg m;

        ASSERT_EQ(parse_one(100, AGENT_STDOUT, 0, 1, "abc", 3, &r, &m), 0);
        agent_reader_free(&r);
}

TEST(host_reader_accepts_host_types_only)
{
        struct agent_buf b = {};
        struct agent_reader r;
        struct agent_msg m;
        const char *parts[] = {"/etc/hosts", "644", "a\0b"};

        ASSERT_OK(agent_buf_begin(&b, AGENT_CREATE, 0));
        ASSERT_OK(agent_buf_field_parts(&b, AGENT_C_FILE, parts, 3));
        agent_buf_end(&b);
        ASSERT_OK(agent_buf_frame(&b, AGENT_READY, 0, NULL, 0));
        agent_reader_init(&r, false);
        ASSERT_OK(agent_reader_feed(&r, b.data, b.len));
        ASSERT_EQ(agent_reader_next(&r, &m), 1);
        ASSERT_EQ(m.type, AGENT_CREATE);
        {
                struct agent_field_iter it = {m.data, m.len};
                const uint8_t *v;
                uint32_t vl;
                uint16_t tag;
                char buf[64], *p[3];
                ASSERT_EQ(agent_field_next(&it, &tag, &v, &vl), 1);
                ASSERT_EQ(tag, AGENT_C_FILE);
                ASSERT_EQ(agent_field_split(v, vl, buf, sizeof(buf), p, 3), 3);
                ASSERT_STREQ(p[0], "/etc/hosts");
                ASSERT_STREQ(p[1], "644");
                ASSERT_STREQ(p[2], "a"); /* parts[2] was "a" as a C string: no NUL sent after it */
                ASSERT_EQ(agent_field_next(&it, &tag, &v, &vl), 0);
        }
        ASSERT_EQ(agent_reader_next(&r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "host: unexpected message type 65");
        agent_reader_free(&r);
        agent_buf_free(&b);
}

TEST(split_keeps_nul_in_last_part)
{
        const uint8_t v[] = "p\0m\0x\0y";
        char buf[16], *p[3];

        ASSERT_EQ(agent_field_split(v, sizeof(v) - 1, buf, sizeof(buf), p, 3), 3);
        ASSERT_TRUE(!memcmp(p[2], "x\0y", 4));
        ASSERT_EQ(agent_field_split(v, sizeof(v) - 1, buf, 4, p, 3), -E2BIG);
}

TEST(truncated_field)
{
        const uint8_t f[] = {1, 0, 0, 0, 9, 0, 0, 0, 'a'};
        struct agent_field_iter it = {f, sizeof(f)};
        const uint8_t *v;
        uint32_t vl;
        uint16_t tag;

        ASSERT_EQ(agent_field_next(&it, &tag, &v, &vl), -EBADMSG);
}

TEST(procs_round_trip_and_hostile_entries)
{
        struct agent_proc p = {.pid = 80,
                               .ppid = 1,
                               .uid = 65534,
                               .gid = 7,
                               .state = 'S',
                               .nice = -5,
                               .tty = 34816,
                               .vsz_kib = 2260,
                               .cpu_ms = 1500,
                               .elapsed_ms = 6000};
        const char args[] = "sh\0-c\0echo \x1b]0;owned\x07 hi";
        struct agent_buf b = {}, f = {};
        struct agent_reader r;
        struct agent_msg m;
        struct agent_field_iter it;
        struct agent_proc got;
        const uint8_t *v;
        uint32_t vl;
        uint16_t tag;

        snprintf(p.comm, sizeof(p.comm), "s\th");
        ASSERT_OK(agent_proc_put(&f, &p, args, sizeof(args) - 1));
        ASSERT_OK(agent_buf_frame(&b, AGENT_PROCS, 0, f.data, f.len));
        agent_reader_init(&r, true);
        ASSERT_OK(agent_reader_feed(&r, b.data, b.len));
        ASSERT_EQ(agent_reader_next(&r, &m), 1);
        ASSERT_EQ(m.type, AGENT_PROCS);
        it = (struct agent_field_iter){m.data, m.len};
        ASSERT_EQ(agent_field_next(&it, &tag, &v, &vl), 1);
        ASSERT_EQ(tag, AGENT_P_PROC);
        ASSERT_OK(agent_proc_parse(v, vl, &got));
        ASSERT_EQ(got.pid, 80);
        ASSERT_EQ(got.ppid, 1);
        ASSERT_EQ(got.uid, 65534);
        ASSERT_EQ(got.gid, 7);
        ASSERT_EQ(got.state, 'S');
        ASSERT_EQ(got.nice, -5);
        ASSERT_EQ(got.tty, 34816);
        ASSERT_EQ(got.vsz_kib, 2260);
        ASSERT_EQ(got.cpu_ms, 1500);
        ASSERT_EQ(got.elapsed_ms, 6000);
        /* control bytes (a terminal escape, a tab) come out as '?', NULs between arguments as spaces */
        ASSERT_STREQ(got.comm, "s?h");
        ASSERT_STREQ(got.args, "sh -c echo ?]0;owned? hi");
        ASSERT_EQ(agent_field_next(&it, &tag, &v, &vl), 0);
        agent_reader_free(&r);
        agent_buf_free(&b);
        agent_buf_free(&f);

        /* a PROCS for a process id, a PS from the agent: refused */
        agent_reader_init(&r, true);
        ASSERT_OK(agent_buf_frame(&b, AGENT_PROCS, 3, NULL, 0));
        ASSERT_OK(agent_reader_feed(&r, b.data, b.len));
        ASSERT_EQ(agent_reader_next(&r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: PROCS for process 3, expected 0");
        agent_reader_free(&r);
        agent_buf_free(&b);
        agent_reader_init(&r, false);
        ASSERT_OK(agent_buf_frame(&b, AGENT_PS, 0, "x", 1));
        ASSERT_OK(agent_reader_feed(&r, b.data, b.len));
        ASSERT_EQ(agent_reader_next(&r, &m), -EBADMSG);
        ASSERT_STREQ(r.error, "agent: PS of 1 bytes, expected 0");
        agent_reader_free(&r);
        agent_buf_free(&b);

        /* entries that do not parse ("\000": the NUL between parts) */
        static const struct {
                const char *s;
                size_t n;
        } bad[] = {
                /* a part missing */
                {"1\0002\0003\0004\000S\0000\0000\0001\0001\0001\000c", 21},
                /* not a number */
                {"x\0002\0003\0004\000S\0000\0000\0001\0001\0001\000c\000a", 23},
                /* above u32 */
                {"4294967296\0002\0003\0004\000S\0000\0000\0001\0001\0001\000c\000a", 32},
                /* a state of two letters */
                {"1\0002\0003\0004\000SS\0000\0000\0001\0001\0001\000c\000a", 24},
                /* a nice without digits */
                {"1\0002\0003\0004\000S\000-\0000\0001\0001\0001\000c\000a", 23},
                /* above u64 */
                {"1\0002\0003\0004\000S\0000\0000\0001\00099999999999999999999\0001\000c\000a", 42},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_EQ(agent_proc_parse((const uint8_t *)bad[i].s, (uint32_t)bad[i].n, &got), -EBADMSG);
        /* the same entry well formed parses */
        ASSERT_OK(agent_proc_parse(
                (const uint8_t *)"1\0002\0003\0004\000S\0000\0000\0001\0001\0001\000c\000a", 23, &got));
        ASSERT_STREQ(got.args, "a");
        /* a field longer than AGENT_PROC_MAX */
        {
                static uint8_t big[AGENT_PROC_MAX + 8];
                memset(big, 'a', sizeof(big));
                ASSERT_EQ(agent_proc_parse(big, sizeof(big), &got), -EBADMSG);
        }
}

TEST(clock_round_trip_and_hostile_values)
{
        struct agent_buf b = {};
        struct agent_field_iter it;
        struct timespec in = {.tv_sec = 1796040000, .tv_nsec = 999999999}, out;
        const uint8_t *v;
        uint32_t vl;
        uint16_t tag;
        uint8_t bad[AGENT_CLOCK_SIZE];

        ASSERT_OK(agent_clock_put(&b, &in));
        it = (struct agent_field_iter){b.data, b.len};
        ASSERT_EQ(agent_field_next(&it, &tag, &v, &vl), 1);
        ASSERT_EQ(tag, AGENT_C_CLOCK);
        ASSERT_OK(agent_clock_parse(v, vl, &out));
        ASSERT_EQ(out.tv_sec, in.tv_sec);
        ASSERT_EQ(out.tv_nsec, in.tv_nsec);
        /* a size other than 12 bytes, nanoseconds of a second or more, seconds past time_t */
        ASSERT_EQ(agent_clock_parse(v, vl - 1, &out), -EBADMSG);
        memcpy(bad, v, sizeof(bad));
        memcpy(bad + 8, &(uint32_t){1000000000u}, 4);
        ASSERT_EQ(agent_clock_parse(bad, sizeof(bad), &out), -EBADMSG);
        memcpy(bad, v, sizeof(bad));
        memcpy(bad + 4, &(uint32_t){0x80000000u}, 4);
        ASSERT_EQ(agent_clock_parse(bad, sizeof(bad), &out), -EBADMSG);
        agent_buf_free(&b);
}
