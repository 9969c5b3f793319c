/* SPDX-License-Identifier: Apache-2.0 */
/* test-agent-proto.c - frames of docs/agent.md: encoding, the bounded reader, fields. */
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
