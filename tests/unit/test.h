/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test.h - a minimal unit test harness.
 *
 * Each test file defines TEST(name) { ... } blocks and includes this header once;
 * the generated main() runs every test in file order, prints one TAP line per
 * test and exits non-zero when any failed. An ASSERT_* failure ends the current
 * test only. Tests print "ok N name # SKIP reason" through SKIP().
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

struct test_case {
        const char *name;
        void (*fn)(void);
};

#define TEST_MAX 512
static struct test_case test_cases[TEST_MAX];
static unsigned test_count;
static jmp_buf test_jmp;
static bool test_failed;
static const char *test_skip_reason;

#define TEST(name)                                                                                                \
        static void test_##name(void);                                                                            \
        __attribute__((constructor)) static void test_register_##name(void)                                       \
        {                                                                                                         \
                if (test_count < TEST_MAX)                                                                        \
                        test_cases[test_count++] = (struct test_case){ #name, test_##name };                      \
        }                                                                                                         \
        static void test_##name(void)

#define TEST_FAIL(...)                                                                                            \
        do {                                                                                                      \
                fprintf(stderr, "# %s:%d: ", __FILE__, __LINE__);                                                 \
                fprintf(stderr, __VA_ARGS__);                                                                     \
                fputc('\n', stderr);                                                                              \
                test_failed = true;                                                                               \
                longjmp(test_jmp, 1);                                                                             \
        } while (0)

#define SKIP(reason)                                                                                              \
        do {                                                                                                      \
                test_skip_reason = (reason);                                                                      \
                longjmp(test_jmp, 1);                                                                             \
        } while (0)

#define ASSERT_TRUE(e)                                                                                            \
        do {                                                                                                      \
                if (!(e))                                                                                         \
                        TEST_FAIL("expected true: %s", #e);                                                       \
        } while (0)
#define ASSERT_FALSE(e) ASSERT_TRUE(!(e))

#define ASSERT_EQ(a, b)                                                                                           \
        do {                                                                                                      \
                intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);                                                  \
                if (_a != _b)                                                                                     \
                        TEST_FAIL("%s == %s: %jd != %jd", #a, #b, _a, _b);                                        \
        } while (0)

#define ASSERT_OK(e)                                                                                              \
        do {                                                                                                      \
                intmax_t _r = (intmax_t)(e);                                                                      \
                if (_r < 0)                                                                                       \
                        TEST_FAIL("%s failed: %jd (%s)", #e, _r, strerror((int)-_r));                             \
        } while (0)

#define ASSERT_ERR(e, err)                                                                                        \
        do {                                                                                                      \
                intmax_t _r = (intmax_t)(e);                                                                      \
                if (_r != (intmax_t)(err))                                                                        \
                        TEST_FAIL("%s: expected %jd, got %jd", #e, (intmax_t)(err), _r);                          \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                                        \
        do {                                                                                                      \
                const char *_a = (a), *_b = (b);                                                                  \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                                            \
                        TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");  \
        } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                                              \
        do {                                                                                                      \
                const char *_h = (hay), *_n = (needle);                                                           \
                if (!_h || !strstr(_h, _n))                                                                       \
                        TEST_FAIL("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n);                      \
        } while (0)

/* dir/<fmt...>, in one of 8 rotating buffers, so that a call can build several paths. */
__attribute__((unused, format(printf, 2, 3))) static char *test_path(const char *dir, const char *fmt, ...)
{
        static char buf[8][512];
        static int i;
        char *b = buf[i++ % 8], rel[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(b, 512, "%s/%s", dir, rel);
        return b;
}

/* path made (or truncated) holding text; a failure fails the test. */
__attribute__((unused)) static void test_write_text(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t len = strlen(text);

        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(write(fd, text, len) == (ssize_t)len);
        close(fd);
}

int main(int argc, char **argv)
{
        volatile unsigned failed = 0;
        const char *only = argc > 1 ? argv[1] : NULL;

        printf("1..%u\n", test_count);
        for (volatile unsigned i = 0; i < test_count; i++) {
                if (only && strcmp(only, test_cases[i].name) != 0) {
                        printf("ok %u %s # SKIP not selected\n", i + 1, test_cases[i].name);
                        continue;
                }
                test_failed = false;
                test_skip_reason = NULL;
                if (setjmp(test_jmp) == 0)
                        test_cases[i].fn();
                if (test_skip_reason)
                        printf("ok %u %s # SKIP %s\n", i + 1, test_cases[i].name, test_skip_reason);
                else if (test_failed) {
                        printf("not ok %u %s\n", i + 1, test_cases[i].name);
                        failed++;
                } else
                        printf("ok %u %s\n", i + 1, test_cases[i].name);
                fflush(stdout);
        }
        return failed ? 1 : 0;
}
