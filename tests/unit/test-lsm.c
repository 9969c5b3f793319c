/* SPDX-License-Identifier: Apache-2.0 */
/* test-lsm.c - LSM detection, label checks and the SELinux mount option. */
#include <sys/stat.h>

#include "error.h"
#include "lsm.h"
#include "test.h"
#include "util.h"

TEST(no_label_is_no_work)
{
        ASSERT_OK(lsm_check_labels(NULL, NULL));
        ASSERT_OK(lsm_check_labels("", ""));
        ASSERT_OK(lsm_set_exec_label(NULL, ""));
}

TEST(label_without_lsm_names_the_field)
{
        if (!lsm_apparmor_enabled()) {
                err_clear();
                ASSERT_ERR(lsm_set_exec_label("hull-default", NULL), -EOPNOTSUPP);
                ASSERT_STREQ(err_msg(-EOPNOTSUPP),
                             "process.apparmorProfile: AppArmor is not enabled on this "
                             "host, cannot apply 'hull-default'");
        }
        if (!lsm_selinux_enabled()) {
                err_clear();
                ASSERT_ERR(lsm_check_labels(NULL, "system_u:system_r:container_t:s0"), -EOPNOTSUPP);
                ASSERT_STREQ(err_msg(-EOPNOTSUPP),
                             "process.selinuxLabel: SELinux is not enabled on this host, "
                             "cannot apply 'system_u:system_r:container_t:s0'");
        }
        if (lsm_apparmor_enabled() && lsm_selinux_enabled())
                SKIP("both AppArmor and SELinux are enabled here");
}

TEST(detection_agrees_with_the_host)
{
        struct stat st;
        _cleanup_free_ char *aa = NULL;

        /* No selinuxfs means no SELinux, whatever the kernel was built with. */
        if (stat("/sys/fs/selinux/enforce", &st) < 0)
                ASSERT_FALSE(lsm_selinux_enabled());
        if (read_one_line_file("/sys/module/apparmor/parameters/enabled", &aa) < 0 || aa[0] != 'Y')
                ASSERT_FALSE(lsm_apparmor_enabled());
}

static char *fmt(const char *label, const char *data, bool selinux)
{
        char *s = NULL;
        ASSERT_OK(lsm_format_mount_label(label, data, selinux, &s));
        return s;
}

TEST(mount_label_option)
{
        const char *l = "system_u:object_r:container_file_t:s0:c715,c811";
        _cleanup_free_ char *a = fmt(l, "mode=755", true), *b = fmt(l, NULL, true), *c = fmt(l, "", true),
                            *d = fmt(l, "mode=755", false), *e = fmt(NULL, "mode=755", true),
                            *f = fmt("", NULL, true),
                            *g = fmt(l, "mode=755,context=\"x:y:z:s0:c1,c2\"", true),
                            *h = fmt(l, "rootcontext=foo", true), *i = fmt(l, "nocontext=1", true);
        char *bad = NULL;

        ASSERT_STREQ(a, "mode=755,context=\"system_u:object_r:container_file_t:s0:c715,c811\"");
        ASSERT_STREQ(b, "context=\"system_u:object_r:container_file_t:s0:c715,c811\"");
        ASSERT_STREQ(c, b);
        ASSERT_STREQ(d, "mode=755");
        ASSERT_STREQ(e, "mode=755");
        ASSERT_STREQ(f, "");
        /* An explicit context option wins. */
        ASSERT_STREQ(g, "mode=755,context=\"x:y:z:s0:c1,c2\"");
        ASSERT_STREQ(h, "rootcontext=foo");
        ASSERT_STREQ(i, "nocontext=1,context=\"system_u:object_r:container_file_t:s0:c715,c811\"");

        err_clear();
        ASSERT_ERR(lsm_format_mount_label("a\"b", "x", true, &bad), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "linux.mountLabel: must not contain '\"', got 'a\"b'");
        ASSERT_TRUE(bad == NULL);
}

TEST(mount_label_follows_host)
{
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(lsm_mount_label_option("system_u:object_r:container_file_t:s0", "size=64k", &s));
        if (lsm_selinux_enabled())
                ASSERT_STREQ(s, "size=64k,context=\"system_u:object_r:container_file_t:s0\"");
        else
                ASSERT_STREQ(s, "size=64k");
}
