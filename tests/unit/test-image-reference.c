/* SPDX-License-Identifier: Apache-2.0 */
/* test-image-reference.c - image reference parsing and normalisation (Docker's rules). */
#include "error.h"
#include "reference.h"
#include "test.h"

static void check(const char *in, const char *want)
{
        _cleanup_image_ref_ struct image_ref *r = NULL;
        _cleanup_free_ char *s = NULL;

        err_clear();
        if (image_ref_parse(in, &r) < 0)
                TEST_FAIL("parsing '%s': %s", in, err_msg(-EINVAL));
        s = image_ref_string(r);
        if (!s || strcmp(s, want) != 0)
                TEST_FAIL("'%s' normalised to '%s', expected '%s'", in, s ? s : "(null)", want);
}

static void bad(const char *in, const char *msg)
{
        _cleanup_image_ref_ struct image_ref *r = NULL;

        err_clear();
        if (image_ref_parse(in, &r) >= 0)
                TEST_FAIL("'%s' was accepted", in);
        if (!strstr(err_msg(-EINVAL), msg))
                TEST_FAIL("'%s': message '%s' lacks '%s'", in, err_msg(-EINVAL), msg);
}

TEST(normalisation)
{
        check("busybox", "docker.io/library/busybox:latest");
        check("busybox:1.36", "docker.io/library/busybox:1.36");
        check("library/busybox", "docker.io/library/busybox:latest");
        check("docker.io/busybox", "docker.io/library/busybox:latest");
        check("index.docker.io/busybox", "docker.io/library/busybox:latest");
        check("user/app:v1", "docker.io/user/app:v1");
        check("localhost:5000/x", "localhost:5000/x:latest");
        check("localhost/x:1", "localhost/x:1");
        check("quay.io/a/b/c:tag_1.0-rc", "quay.io/a/b/c:tag_1.0-rc");
        check("127.0.0.1:5000/a__b/c-d.e",
              "127.0.0.1:5000/a__b/c-d.e:latest");
        check("localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
              "localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        check("x:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
              "docker.io/library/x:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

TEST(registry_host)
{
        _cleanup_image_ref_ struct image_ref *a = NULL, *b = NULL;

        ASSERT_OK(image_ref_parse("busybox", &a));
        ASSERT_STREQ(image_ref_registry_host(a), "registry-1.docker.io");
        ASSERT_OK(image_ref_parse("localhost:5000/b", &b));
        ASSERT_STREQ(image_ref_registry_host(b), "localhost:5000");
        ASSERT_STREQ(b->path, "b");
}

TEST(invalid)
{
        bad("", "empty");
        bad("Busybox", "lowercase");
        bad("busybox:", "invalid tag");
        bad("busybox:-x", "invalid tag");
        bad("a//b", "component");
        bad("a/-b", "component");
        bad("x@sha256:abc", "digest");
        bad("x@md5:0123", "digest");
        bad("localhost:99999/x", "registry");
        bad("localhost:5000/", "missing repository");
        bad("a..b", "component");
}

TEST(id_prefix)
{
        ASSERT_TRUE(image_ref_is_id_prefix("abc"));
        ASSERT_TRUE(image_ref_is_id_prefix("sha256:abcdef"));
        ASSERT_FALSE(image_ref_is_id_prefix("ab"));
        ASSERT_FALSE(image_ref_is_id_prefix("busybox"));
        ASSERT_TRUE(image_ref_tag_is_valid("v1.0_rc-2"));
        ASSERT_FALSE(image_ref_tag_is_valid(".x"));
}
