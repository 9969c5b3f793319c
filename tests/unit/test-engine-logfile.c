/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-engine-logfile.c - the json-file log format (logfile.h): encoding and decoding,
 * times, partial lines, rotation; the reader's tail (logs.h parse helper); the monitor's
 * status file (status.h).
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include "json.h"
#include "logfile.h"
#include "logs.h"
#include "status.h"
#include "test.h"
#include "util.h"

static char *tmpdir(void)
{
        char tmpl[] = "/tmp/hull-test-log-XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}

TEST(time_format_and_parse)
{
        char buf[48];
        int64_t ns;

        ASSERT_STREQ(logfile_format_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000000000Z");
        ASSERT_STREQ(logfile_format_time(1717243200123456789LL, buf, sizeof(buf)),
                     "2024-06-01T12:00:00.123456789Z");
        ASSERT_STREQ(logfile_format_time(951782400LL * 1000000000, buf, sizeof(buf)),
                     "2000-02-29T00:00:00.000000000Z");
        ASSERT_OK(logfile_parse_time("2024-06-01T12:00:00.123456789Z", 30, &ns));
        ASSERT_EQ(ns, 1717243200123456789LL);
        ASSERT_OK(logfile_parse_time("2024-06-01T14:00:00.5+02:00", 27, &ns));
        ASSERT_EQ(ns, 1717243200500000000LL);
        ASSERT_OK(logfile_parse_time("2024-06-01T12:00:00Z", 20, &ns));
        ASSERT_ERR(logfile_parse_time("2024-06-01 nonsense", 19, &ns), -EINVAL);
        ASSERT_ERR(logfile_parse_time("2024-13-01T12:00:00Z", 20, &ns), -EINVAL);
        ASSERT_ERR(logfile_parse_time("2024-06-01T12:00:00.Z", 21, &ns), -EINVAL);
}

TEST(encode_is_docker_json)
{
        char out[LOGFILE_RECORD_MAX];
        const char line[] = "tab\there \"quoted\" back\\slash é\n";
        size_t n = logfile_encode(out, line, strlen(line), LOG_STREAM_STDERR, 1000000001);
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *v;

        ASSERT_EQ(out[n - 1], '\n');
        /* Any JSON parser reads it (json-c here), with Docker's three keys. */
        ASSERT_OK(json_parse_buffer(out, n, "record", &o));
        ASSERT_TRUE(json_object_object_get_ex(o, "log", &v));
        ASSERT_STREQ(json_object_get_string(v), line);
        ASSERT_TRUE(json_object_object_get_ex(o, "stream", &v));
        ASSERT_STREQ(json_object_get_string(v), "stderr");
        ASSERT_TRUE(json_object_object_get_ex(o, "time", &v));
        ASSERT_STREQ(json_object_get_string(v), "1970-01-01T00:00:01.000000001Z");
}

TEST(round_trip_binary)
{
        char out[LOGFILE_RECORD_MAX];
        unsigned char data[300];
        struct log_record rec;
        size_t n;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (unsigned char)(i * 7);
        n = logfile_encode(out, data, sizeof(data), LOG_STREAM_STDOUT, 42);
        ASSERT_OK(logfile_decode(out, n - 1, &rec));
        ASSERT_EQ(rec.len, sizeof(data));
        ASSERT_TRUE(memcmp(rec.data, data, sizeof(data)) == 0);
        ASSERT_EQ(rec.stream, LOG_STREAM_STDOUT);
        ASSERT_EQ(rec.time_ns, 42);
        log_record_done(&rec);
}

TEST(decode_accepts_other_writers)
{
        /* Go's encoder (Docker's) escapes <, > and & as \u003c..., keys may come in any order, extra keys.
         */
        const char *docker = "{ \"time\":\"2024-01-02T03:04:05.5Z\", \"stream\":\"stdout\", "
                             "\"log\":\"\\u003cé\\ud83d\\ude00\\n\","
                             "\"attrs\":\"x\" }";
        struct log_record rec;

        ASSERT_OK(logfile_decode(docker, strlen(docker), &rec));
        ASSERT_EQ(rec.len, strlen("<é😀\n"));
        ASSERT_TRUE(memcmp(rec.data, "<\xc3\xa9\xf0\x9f\x98\x80\n", rec.len) == 0);
        ASSERT_EQ(rec.time_ns, 1704164645500000000LL);
        log_record_done(&rec);
}

TEST(decode_rejects_garbage)
{
        static const char *const bad[] = {
                "",
                "{}",
                "[]",
                "{\"log\":\"x\"}",
                "{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"2024-01-01T00:00:00Z\"}",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"yesterday\"}",
                "{\"log\":\"x\\q\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}",
                "{\"log\":\"\\ud800\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"} trailing",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"",
                "{\"log\":5,\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}",
        };
        struct log_record rec;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (logfile_decode(bad[i], strlen(bad[i]), &rec) != -EBADMSG)
                        TEST_FAIL("accepted: %s", bad[i]);
}

static int count_cb(void *userdata, const struct log_record *rec)
{
        size_t *n = userdata;
        (*n)++;
        return rec->len > 0 ? 0 : -EIO;
}

TEST(writer_lines_partials_rotation)
{
        _cleanup_free_ char *dir = tmpdir(), *path = NULL, *p1 = NULL, *p2 = NULL, *p3 = NULL, *all = NULL;
        struct log_writer w;
        char big[LOGFILE_LINE_MAX + 100];
        size_t n = 0, len;
        struct stat st;

        ASSERT_TRUE(dir != NULL);
        path = strdup_printf("%s/ctr.log", dir);
        p1 = logfile_rotated_path(path, 1);
        p2 = logfile_rotated_path(path, 2);
        p3 = logfile_rotated_path(path, 3);
        ASSERT_OK(log_writer_open(&w, path, 4096, 3));
        ASSERT_OK(log_writer_feed(&w, LOG_STREAM_STDOUT, "a\nb", 3));
        ASSERT_OK(log_writer_feed(&w, LOG_STREAM_STDERR, "err\n", 4));
        ASSERT_OK(log_writer_feed(&w, LOG_STREAM_STDOUT, "c\n", 2));
        ASSERT_OK(read_full_file(path, 1 << 20, &all, &len));
        ASSERT_EQ(logs_parse_buffer(all, len, count_cb, &n), (int64_t)len);
        ASSERT_EQ(n, 3); /* "a\n", "err\n", "bc\n" */
        ASSERT_CONTAINS(all, "\"log\":\"bc\\n\"");
        /* A line longer than the limit is cut into partial records. */
        memset(big, 'x', sizeof(big));
        ASSERT_OK(log_writer_feed(&w, LOG_STREAM_STDOUT, big, sizeof(big)));
        ASSERT_OK(log_writer_feed(&w, LOG_STREAM_STDOUT, "end", 3));
        ASSERT_OK(log_writer_flush(&w));
        for (int i = 0; i < 200; i++)
                ASSERT_OK(log_writer_feed(&w, LOG_STREAM_STDOUT, "some output line\n", 17));
        log_writer_close(&w);
        ASSERT_OK(stat(path, &st));
        ASSERT_TRUE(st.st_size <= 4096);
        ASSERT_OK(stat(p1, &st));
        ASSERT_OK(stat(p2, &st));
        ASSERT_TRUE(stat(p3, &st) < 0); /* max-file=3: ctr.log, .1, .2 */
        unlink(path);
        unlink(p1);
        unlink(p2);
        rmdir(dir);
}

TEST(status_round_trip)
{
        _cleanup_free_ char *dir = tmpdir(), *text = NULL;
        struct monitor_status s, back;
        size_t n;

        monitor_status_init(&s);
        snprintf(s.state, sizeof(s.state), "exited");
        s.pid = 12;
        s.monitor_pid = 34;
        s.exit_code = 137;
        s.oom = true;
        s.restarts = 2;
        s.cleaned = s.final = true;
        snprintf(s.health, sizeof(s.health), "unhealthy");
        snprintf(s.error, sizeof(s.error), "line one\nline two \\ end");
        s.n_health_log = 1;
        s.health_log[0] = (struct health_result){.start = 1, .end = 2, .exit_code = 1};
        snprintf(s.health_log[0].output, sizeof(s.health_log[0].output), "out\nput");
        ASSERT_OK(monitor_status_format(&s, &text, &n));
        ASSERT_OK(monitor_status_parse(text, n, &back));
        ASSERT_STREQ(back.state, "exited");
        ASSERT_EQ(back.exit_code, 137);
        ASSERT_TRUE(back.oom && back.cleaned && back.final);
        ASSERT_EQ(back.restarts, 2);
        ASSERT_STREQ(back.error, s.error);
        ASSERT_EQ(back.n_health_log, 1);
        ASSERT_STREQ(back.health_log[0].output, "out\nput");
        ASSERT_OK(monitor_status_write(dir, &s));
        ASSERT_OK(monitor_status_read(dir, &back));
        ASSERT_EQ(back.pid, 12);
        ASSERT_ERR(monitor_status_parse("garbage", 7, &back), -EBADMSG);
        {
                _cleanup_free_ char *p = strdup_printf("%s/" STATUS_FILE, dir);
                unlink(p);
        }
        rmdir(dir);
}

TEST(process_identity)
{
        uint64_t t;
        ASSERT_OK(proc_start_time(getpid(), &t));
        ASSERT_TRUE(proc_alive(getpid(), t));
        ASSERT_FALSE(proc_alive(getpid(), t + 1));
        ASSERT_FALSE(proc_alive(0, 0));
}
