/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-image-unpack.c - layer extraction: content, metadata, overlay whiteouts,
 * and hostile archives that must never write outside the layer directory.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "error.h"
#include "sha256.h"
#include "tar-build.h"
#include "unpack.h"
#include "util.h"
#include "test.h"

struct mem {
        const char *buf;
        size_t len, pos;
};

static ssize_t mem_read(void *userdata, void *buf, size_t size)
{
        struct mem *m = userdata;
        size_t n = MIN(size, m->len - m->pos);
        memcpy(buf, m->buf + m->pos, n);
        m->pos += n;
        return (ssize_t)n;
}

static char base[256];

/* A fresh scratch directory with a "layer" directory inside and a "outside" sentinel next to it. */
static int scratch(void)
{
        char p[300];
        snprintf(base, sizeof(base), "/tmp/hull-test-unpack-XXXXXX");
        if (!mkdtemp(base))
                return -1;
        snprintf(p, sizeof(p), "%s/layer", base);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/outside", base);
        mkdir(p, 0755);
        return open(p, O_RDONLY | O_DIRECTORY) >= 0 ? 0 : -1;
}

static int unpack_buf(struct tar_build *t, const struct unpack_options *o, struct unpack_result *res)
{
        char p[300];
        struct mem m = { t->buf, t->used, 0 };
        _cleanup_close_ int fd = -EBADF;

        snprintf(p, sizeof(p), "%s/layer", base);
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        err_clear();
        return unpack_layer(mem_read, &m, fd, o, res);
}

static bool exists(const char *rel)
{
        char p[400];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", base, rel);
        return lstat(p, &st) == 0;
}

static void cleanup(void)
{
        rm_rf(base);
}

/* Nothing may appear next to the layer directory. */
static void assert_outside_empty(void)
{
        char p[300];
        _cleanup_free_ char *buf = NULL;
        snprintf(p, sizeof(p), "%s/outside/pwned", base);
        if (access(p, F_OK) == 0)
                TEST_FAIL("a file was written outside the layer");
        snprintf(p, sizeof(p), "%s/pwned", base);
        if (access(p, F_OK) == 0)
                TEST_FAIL("a file was written next to the layer");
}

TEST(content_and_metadata)
{
        struct tar_build t;
        struct unpack_result res;
        struct stat st;
        char p[400], hex[SHA256_HEX_LEN + 1];

        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add(&t, "./", AE_IFDIR, 0755, NULL, NULL, NULL);
        tar_add(&t, "etc", AE_IFDIR, 0755, NULL, NULL, NULL);
        tar_add_file(&t, "etc/hostname", "box\n");
        tar_add(&t, "bin/su", AE_IFREG, 04755, "elf", NULL, NULL);
        tar_add(&t, "bin/sh", AE_IFLNK, 0777, NULL, "/bin/busybox", NULL);
        tar_add(&t, "bin/su2", AE_IFREG, 0, NULL, NULL, "bin/su");
        tar_add(&t, "tmp", AE_IFDIR, 01777, NULL, NULL, NULL);
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        ASSERT_EQ(res.n_entries, 7);
        sha256_hex(t.buf, t.used, hex);
        ASSERT_STREQ(res.diff_id + 7, hex);
        ASSERT_STREQ(res.digest, res.diff_id);

        snprintf(p, sizeof(p), "%s/layer/bin/su", base);
        ASSERT_OK(lstat(p, &st));
        if (geteuid() == 0)
                ASSERT_EQ(st.st_mode & 07777, 04755);
        ASSERT_EQ(st.st_mtime, 1000000000);
        ASSERT_EQ(st.st_nlink, 2);
        snprintf(p, sizeof(p), "%s/layer/tmp", base);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 01777);
        ASSERT_EQ(st.st_mtime, 1000000000);
        {
                char target[64] = {};
                snprintf(p, sizeof(p), "%s/layer/bin/sh", base);
                ASSERT_TRUE(readlink(p, target, sizeof(target) - 1) > 0);
                ASSERT_STREQ(target, "/bin/busybox");
        }
        tar_free(&t);
        cleanup();
}

TEST(gzip_and_digests)
{
        struct tar_build t;
        struct unpack_result res;
        char hex[SHA256_HEX_LEN + 1], want[80];
        struct unpack_options o = {};

        ASSERT_OK(scratch());
        tar_begin(&t, true);
        tar_add_file(&t, "a", "hello");
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        sha256_hex(t.buf, t.used, hex);
        ASSERT_STREQ(res.digest + 7, hex);
        ASSERT_FALSE(streq(res.digest, res.diff_id));
        /* A wrong expected digest is refused after the fact. */
        snprintf(want, sizeof(want), "sha256:%064d", 0);
        o.expect_digest = want;
        ASSERT_ERR(unpack_buf(&t, &o, &res), -EBADMSG);
        ASSERT_CONTAINS(err_msg(-EBADMSG), "digest mismatch");
        o.expect_digest = NULL;
        o.expect_diff_id = want;
        ASSERT_ERR(unpack_buf(&t, &o, &res), -EBADMSG);
        ASSERT_CONTAINS(err_msg(-EBADMSG), "uncompressed digest mismatch");
        tar_free(&t);
        cleanup();
}

TEST(truncated_gzip)
{
        struct tar_build t;
        struct unpack_result res;
        char big[8192];

        ASSERT_OK(scratch());
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        tar_begin(&t, true);
        tar_add_file(&t, "a", big);
        tar_add_file(&t, "b", big);
        tar_end(&t);
        t.used = t.used / 2;
        ASSERT_TRUE(unpack_buf(&t, NULL, &res) < 0);
        ASSERT_CONTAINS(err_msg(-EINVAL), "layer");
        tar_free(&t);
        cleanup();
}

TEST(truncated_tar_huge_size)
{
        struct tar_build t;
        struct unpack_result res;

        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add_file(&t, "a", "0123456789");
        tar_end(&t);
        /* Claim a 1 TiB file in the header (octal size field at offset 124), then end. */
        memcpy(t.buf + 124, "20000000000", 11);
        {
                unsigned sum = 0;
                memset(t.buf + 148, ' ', 8);
                for (int i = 0; i < 512; i++)
                        sum += (unsigned char)t.buf[i];
                snprintf(t.buf + 148, 8, "%06o", sum);
        }
        ASSERT_TRUE(unpack_buf(&t, NULL, &res) < 0);
        tar_free(&t);
        cleanup();
}

TEST(dotdot_is_refused)
{
        struct tar_build t;
        struct unpack_result res;

        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add_file(&t, "../pwned", "x");
        tar_end(&t);
        ASSERT_ERR(unpack_buf(&t, NULL, &res), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "layer entry '../pwned': path leaves the layer");
        assert_outside_empty();
        tar_free(&t);
        tar_begin(&t, false);
        tar_add_file(&t, "a/../../outside/pwned", "x");
        tar_end(&t);
        ASSERT_ERR(unpack_buf(&t, NULL, &res), -EINVAL);
        assert_outside_empty();
        tar_free(&t);
        cleanup();
}

TEST(absolute_paths_stay_inside)
{
        struct tar_build t;
        struct unpack_result res;

        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add_file(&t, "/pwned", "x");
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        ASSERT_TRUE(exists("layer/pwned"));
        assert_outside_empty();
        tar_free(&t);
        cleanup();
}

TEST(symlink_then_file_through_it)
{
        struct tar_build t;
        struct unpack_result res;
        char abs[400];
        const char *targets[] = { abs, "../../outside", "..", "/" };

        ASSERT_OK(scratch());
        snprintf(abs, sizeof(abs), "%s/outside", base);
        /*
         * Absolute and relative symlinks out of the layer, then a file written "through"
         * them: either it lands inside the layer or the entry is refused; never outside.
         */
        for (size_t i = 0; i < ELEMENTSOF(targets); i++) {
                tar_begin(&t, false);
                tar_add(&t, "link", AE_IFLNK, 0777, NULL, targets[i], NULL);
                tar_add_file(&t, "link/pwned", "x");
                tar_end(&t);
                (void)unpack_buf(&t, NULL, &res);
                assert_outside_empty();
                tar_free(&t);
        }
        /* ".." and "/" are the layer root itself inside the layer. */
        ASSERT_TRUE(exists("layer/pwned"));
        cleanup();
}

TEST(symlink_replaced_last_component)
{
        struct tar_build t;
        struct unpack_result res;
        char target[400];

        ASSERT_OK(scratch());
        snprintf(target, sizeof(target), "%s/outside/pwned", base);
        tar_begin(&t, false);
        /* A symlink named like the file that follows: the file must replace the link, not follow it. */
        tar_add(&t, "f", AE_IFLNK, 0777, NULL, target, NULL);
        tar_add_file(&t, "f", "x");
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        assert_outside_empty();
        {
                struct stat st;
                char p[400];
                snprintf(p, sizeof(p), "%s/layer/f", base);
                ASSERT_OK(lstat(p, &st));
                ASSERT_TRUE(S_ISREG(st.st_mode));
        }
        tar_free(&t);
        cleanup();
}

TEST(hardlink_outside_is_refused)
{
        struct tar_build t;
        struct unpack_result res;

        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add(&t, "passwd", AE_IFREG, 0644, NULL, NULL, "/etc/passwd");
        tar_end(&t);
        ASSERT_TRUE(unpack_buf(&t, NULL, &res) < 0);
        ASSERT_CONTAINS(err_msg(-ENOENT), "hardlink target 'etc/passwd' is not in the layer");
        ASSERT_FALSE(exists("layer/passwd"));
        tar_free(&t);
        tar_begin(&t, false);
        tar_add(&t, "passwd", AE_IFREG, 0644, NULL, NULL, "../../../etc/passwd");
        tar_end(&t);
        ASSERT_ERR(unpack_buf(&t, NULL, &res), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "leaves the layer");
        tar_free(&t);
        /* Through a symlink to the host's /etc: the link resolves inside the layer, where there is no passwd. */
        tar_begin(&t, false);
        tar_add(&t, "etc", AE_IFLNK, 0777, NULL, "/etc", NULL);
        tar_add(&t, "passwd", AE_IFREG, 0644, NULL, NULL, "etc/passwd");
        tar_end(&t);
        ASSERT_TRUE(unpack_buf(&t, NULL, &res) < 0);
        tar_free(&t);
        cleanup();
}

TEST(whiteouts)
{
        struct tar_build t;
        struct unpack_result res;
        struct stat st;
        char p[400], v[8] = {};

        if (geteuid() != 0)
                SKIP("overlay whiteouts need CAP_MKNOD and trusted.* xattrs (root)");
        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add(&t, "d", AE_IFDIR, 0755, NULL, NULL, NULL);
        tar_add(&t, "d/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL, NULL);
        tar_add(&t, "e/.wh.gone", AE_IFREG, 0644, NULL, NULL, NULL);
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        snprintf(p, sizeof(p), "%s/layer/e/gone", base);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, makedev(0, 0));
        snprintf(p, sizeof(p), "%s/layer/d", base);
        ASSERT_EQ(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
        ASSERT_EQ(v[0], 'y');
        ASSERT_FALSE(exists("layer/d/.wh..wh..opq"));
        tar_free(&t);

        /* A whiteout of "..", or one that climbs out. */
        tar_begin(&t, false);
        tar_add(&t, "a/.wh...", AE_IFREG, 0644, NULL, NULL, NULL);
        tar_end(&t);
        ASSERT_ERR(unpack_buf(&t, NULL, &res), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "invalid whiteout");
        tar_free(&t);
        tar_begin(&t, false);
        tar_add(&t, "../.wh.x", AE_IFREG, 0644, NULL, NULL, NULL);
        tar_end(&t);
        ASSERT_ERR(unpack_buf(&t, NULL, &res), -EINVAL);
        tar_free(&t);
        cleanup();
}

TEST(overlay_xattrs_from_the_tar_are_dropped)
{
        struct tar_build t;
        struct unpack_result res;
        char p[400], v[64];

        if (geteuid() != 0)
                SKIP("trusted.* and security.* xattrs need root");
        ASSERT_OK(scratch());
        tar_begin(&t, false);
        tar_add_xattr_file(&t, "evil", "trusted.overlay.redirect", "/etc");
        tar_add_xattr_file(&t, "ping", "user.note", "hello");
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        snprintf(p, sizeof(p), "%s/layer/evil", base);
        ASSERT_TRUE(getxattr(p, "trusted.overlay.redirect", v, sizeof(v)) < 0);
        snprintf(p, sizeof(p), "%s/layer/ping", base);
        ASSERT_EQ(getxattr(p, "user.note", v, sizeof(v)), 5);
        tar_free(&t);
        cleanup();
}

TEST(device_nodes)
{
        struct tar_build t;
        struct unpack_result res;
        struct archive_entry *e;
        struct stat st;
        char p[400];

        if (geteuid() != 0)
                SKIP("device nodes need CAP_MKNOD");
        ASSERT_OK(scratch());
        tar_begin(&t, false);
        e = archive_entry_new();
        archive_entry_set_pathname(e, "dev/null");
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_perm(e, 0666);
        archive_entry_set_rdev(e, makedev(1, 3));
        archive_write_header(t.a, e);
        archive_entry_free(e);
        tar_end(&t);
        ASSERT_OK(unpack_buf(&t, NULL, &res));
        snprintf(p, sizeof(p), "%s/layer/dev/null", base);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, makedev(1, 3));
        ASSERT_EQ(st.st_mode & 0777, 0666);
        tar_free(&t);
        cleanup();
}

TEST(clean_path)
{
        char *s;

        ASSERT_OK(unpack_clean_path("./a//b/./c/", &s));
        ASSERT_STREQ(s, "a/b/c");
        free(s);
        ASSERT_OK(unpack_clean_path("a/b/../c", &s));
        ASSERT_STREQ(s, "a/c");
        free(s);
        ASSERT_OK(unpack_clean_path("/", &s));
        ASSERT_STREQ(s, "");
        free(s);
        ASSERT_ERR(unpack_clean_path("a/../..", &s), -EINVAL);
        ASSERT_ERR(unpack_clean_path("..", &s), -EINVAL);
}

TEST(not_a_tar)
{
        struct tar_build t = {};
        struct unpack_result res;

        ASSERT_OK(scratch());
        t.buf = strdup("this is not a tar archive at all, just some text that goes on and on");
        t.used = strlen(t.buf);
        ASSERT_TRUE(unpack_buf(&t, NULL, &res) < 0);
        ASSERT_CONTAINS(err_msg(-EINVAL), "layer");
        free(t.buf);
        cleanup();
}
