/* SPDX-License-Identifier: Apache-2.0 */
/* test-lib.c - unit tests for src/lib: parsing, strv, json access, sha256, confined path resolution. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "chase.h"
#include "error.h"
#include "json.h"
#include "sha256.h"
#include "util.h"
#include "test.h"

TEST(parse_numbers)
{
        uint64_t u;
        uint32_t u32;
        int i;

        ASSERT_OK(parse_u64("18446744073709551615", &u));
        ASSERT_TRUE(u == UINT64_MAX);
        ASSERT_ERR(parse_u64("18446744073709551616", &u), -ERANGE);
        ASSERT_ERR(parse_u64("-1", &u), -EINVAL);
        ASSERT_ERR(parse_u64("12x", &u), -EINVAL);
        ASSERT_ERR(parse_u64("", &u), -EINVAL);
        ASSERT_ERR(parse_u32("4294967296", &u32), -ERANGE);
        ASSERT_OK(parse_int("-42", &i));
        ASSERT_EQ(i, -42);
}

TEST(parse_sizes)
{
        uint64_t v;

        ASSERT_OK(parse_size("256M", &v));
        ASSERT_EQ(v, 256ULL << 20);
        ASSERT_OK(parse_size("1G", &v));
        ASSERT_EQ(v, 1ULL << 30);
        ASSERT_OK(parse_size("4096", &v));
        ASSERT_EQ(v, 4096);
        ASSERT_OK(parse_size("2KiB", &v));
        ASSERT_EQ(v, 2048);
        ASSERT_ERR(parse_size("1X", &v), -EINVAL);
        ASSERT_ERR(parse_size("M", &v), -EINVAL);
        ASSERT_ERR(parse_size("99999999999999T", &v), -ERANGE);
}

TEST(signals)
{
        char buf[32];

        ASSERT_EQ(signal_from_string("KILL"), SIGKILL);
        ASSERT_EQ(signal_from_string("SIGTERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("sigusr1"), SIGUSR1);
        ASSERT_EQ(signal_from_string("9"), 9);
        ASSERT_EQ(signal_from_string("RTMIN+2"), SIGRTMIN + 2);
        ASSERT_ERR(signal_from_string("NOPE"), -EINVAL);
        ASSERT_ERR(signal_from_string("0"), -EINVAL);
        ASSERT_ERR(signal_from_string("65"), -EINVAL);
        ASSERT_STREQ(signal_to_string(SIGTERM, buf, sizeof(buf)), "SIGTERM");
}

TEST(strv)
{
        _cleanup_strv_free_ char **l = NULL;

        ASSERT_OK(strv_extend(&l, "a"));
        ASSERT_OK(strv_extend(&l, "b"));
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_TRUE(strv_contains(l, "b"));
        ASSERT_FALSE(strv_contains(l, "c"));
}

TEST(json_errors_name_the_field)
{
        _cleanup_json_ struct json_object *o = NULL;
        uint32_t u;
        const char *s;

        err_clear();
        ASSERT_ERR(json_parse_buffer("{\n  \"a\": [1,\n}", 14, "config.json", &o), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "config.json: invalid JSON at line 3");

        {
                const char *doc = "{\"uid\": \"x\", \"n\": -1, \"big\": 5000000000, \"s\": \"v\"}";
                ASSERT_OK(json_parse_buffer(doc, strlen(doc), "t", &o));
        }
        ASSERT_ERR(json_get_uint32(o, "uid", "process.user.uid", &u), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "process.user.uid: expected an unsigned integer, got string");
        ASSERT_ERR(json_get_uint32(o, "n", "n", &u), -EINVAL);
        ASSERT_ERR(json_get_uint32(o, "big", "big", &u), -ERANGE);
        ASSERT_ERR(json_get_string(o, "missing", "missing", &s), -ENOENT);
        ASSERT_OK(json_get_string(o, "s", "s", &s));
        ASSERT_STREQ(s, "v");
}

TEST(json_trailing_garbage)
{
        _cleanup_json_ struct json_object *o = NULL;

        ASSERT_ERR(json_parse_buffer("{} x", 4, "t", &o), -EINVAL);
        ASSERT_ERR(json_parse_buffer("", 0, "t", &o), -EINVAL);
}

TEST(sha256_known_vector)
{
        char hex[SHA256_HEX_LEN + 1];

        sha256_hex("abc", 3, hex);
        ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        ASSERT_TRUE(digest_is_valid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        ASSERT_FALSE(digest_is_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        ASSERT_FALSE(digest_is_valid("sha256:abc"));
}

/* Build a hostile tree: root/etc -> /../../.., root/abs -> /etc/passwd, root/up -> ../../../../tmp */
static char *make_tree(void)
{
        char tmpl[] = "/tmp/hull-test-chase-XXXXXX";
        char *d = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
        char p[512];

        if (!d)
                return NULL;
        snprintf(p, sizeof(p), "%s/dir", d);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/dir/file", d);
        close(open(p, O_CREAT | O_WRONLY, 0644));
        snprintf(p, sizeof(p), "%s/escape", d);
        symlink("/../../../../..", p);
        snprintf(p, sizeof(p), "%s/abs", d);
        symlink("/dir/file", p);
        snprintf(p, sizeof(p), "%s/up", d);
        symlink("../../../../../../", p);
        snprintf(p, sizeof(p), "%s/magic", d);
        symlink("/proc/self/root", p);
        snprintf(p, sizeof(p), "%s/loop", d);
        symlink("loop", p);
        return d;
}

static void check_chase(unsigned flags)
{
        _cleanup_free_ char *d = make_tree();
        _cleanup_close_ int root = -EBADF;
        struct stat a, b;
        int fd;

        ASSERT_TRUE(d);
        root = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(root >= 0);
        ASSERT_OK(fstat(root, &a));

        /* ".." chains and absolute symlinks stay in the root. */
        fd = chase_open(root, "escape", O_PATH, flags);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(fstat(fd, &b));
        ASSERT_TRUE(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        close(fd);

        fd = chase_open(root, "/up/../../dir/../../../dir/file", O_RDONLY, flags);
        ASSERT_TRUE(fd >= 0);
        close(fd);

        fd = chase_open(root, "abs", O_RDONLY, flags);
        ASSERT_TRUE(fd >= 0);
        close(fd);

        fd = chase_open(root, "/escape/etc/passwd", O_RDONLY, flags);
        ASSERT_ERR(fd, -ENOENT);

        ASSERT_ERR(chase_open(root, "loop", O_RDONLY, flags), -ELOOP);

        /* mkdir_p through an escaping symlink creates inside the root. */
        fd = chase_mkdir_p(root, "/escape/new/deeper", 0755, flags);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        char p[512];
        snprintf(p, sizeof(p), "%s/new/deeper", d);
        ASSERT_OK(stat(p, &b));

        fd = chase_mount_target(root, "/up/target-file", false, 0644, flags);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        snprintf(p, sizeof(p), "%s/target-file", d);
        ASSERT_OK(stat(p, &b));
        ASSERT_TRUE(S_ISREG(b.st_mode));

        ASSERT_OK(rm_rf(d));
}

TEST(chase_openat2)
{
        check_chase(0);
}

TEST(chase_portable_walk)
{
        check_chase(CHASE_NO_OPENAT2);
}

TEST(chase_magic_links_refused)
{
        _cleanup_free_ char *d = make_tree();
        _cleanup_close_ int root = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd;

        /* openat2 refuses magic links outright; the walk treats them as plain text inside the root. */
        fd = chase_open(root, "magic/etc/passwd", O_RDONLY, 0);
        ASSERT_TRUE(fd < 0);
        fd = chase_open(root, "magic/etc/passwd", O_RDONLY, CHASE_NO_OPENAT2);
        ASSERT_TRUE(fd < 0);
        ASSERT_OK(rm_rf(d));
}
