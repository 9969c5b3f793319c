/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-caps.c - capability names, caps_validate() messages, and caps_set()/caps_drop_bounding()
 * in a forked child (dropping needs no privilege; the bounding set needs CAP_SETPCAP and
 * skips without it).
 */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "caps.h"
#include "config.h"
#include "error.h"
#include "test.h"
#include "util.h"

#define BIT(c) (UINT64_C(1) << (c))

TEST(names_from_spec_form_only)
{
        ASSERT_EQ(cap_from_name_strict("CAP_CHOWN"), CAP_CHOWN);
        ASSERT_EQ(cap_from_name_strict("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
        ASSERT_EQ(cap_from_name_strict("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
        ASSERT_EQ(cap_from_name_strict("CAP_CHECKPOINT_RESTORE"), 40);
        ASSERT_ERR(cap_from_name_strict("cap_chown"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("Cap_Chown"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("CHOWN"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("12"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("CAP_12"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("CAP_"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("CAP_FOO"), -EINVAL);
        ASSERT_ERR(cap_from_name_strict("CAP_CHOWN "), -EINVAL);
        ASSERT_ERR(cap_from_name_strict(""), -EINVAL);
        ASSERT_ERR(cap_from_name_strict(NULL), -EINVAL);
}

TEST(names_round_trip)
{
        ASSERT_STREQ(cap_to_spec_name(0), "CAP_CHOWN");
        ASSERT_STREQ(cap_to_spec_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
        ASSERT_STREQ(cap_to_spec_name(40), "CAP_CHECKPOINT_RESTORE");
        ASSERT_TRUE(cap_to_spec_name(63) == NULL);
        ASSERT_TRUE(cap_to_spec_name(64) == NULL);
        ASSERT_TRUE(cap_to_spec_name(-1) == NULL);
        for (int c = 0; c <= 40; c++) {
                const char *n = cap_to_spec_name(c);
                ASSERT_TRUE(n != NULL);
                ASSERT_EQ(cap_from_name_strict(n), c);
        }
}

TEST(last_cap_matches_procfs)
{
        _cleanup_free_ char *s = NULL;
        int v;

        if (read_one_line_file("/proc/sys/kernel/cap_last_cap", &s) < 0)
                SKIP("/proc/sys/kernel/cap_last_cap is not readable");
        ASSERT_OK(parse_int(s, &v));
        ASSERT_EQ(cap_last_cap(), v);
        ASSERT_EQ(cap_last_cap(), v); /* cached */
}

TEST(validate_names_the_set)
{
        struct oci_capabilities c = {
                .bounding = BIT(CAP_CHOWN) | BIT(CAP_NET_RAW) | BIT(CAP_KILL),
                .effective = BIT(CAP_CHOWN),
                .permitted = BIT(CAP_CHOWN) | BIT(CAP_NET_RAW),
                .inheritable = BIT(CAP_NET_RAW),
                .ambient = BIT(CAP_NET_RAW),
        };

        ASSERT_OK(caps_validate(&c));

        err_clear();
        c.effective |= BIT(CAP_KILL);
        ASSERT_ERR(caps_validate(&c), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "process.capabilities.effective: 'CAP_KILL' is not in the permitted set");
        c.effective = BIT(CAP_CHOWN);

        c.inheritable |= BIT(CAP_SYS_ADMIN);
        ASSERT_ERR(caps_validate(&c), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "process.capabilities.inheritable: 'CAP_SYS_ADMIN' is not in the bounding set");
        c.inheritable = BIT(CAP_NET_RAW);

        /* Ambient ones outside permitted and inheritable are left out by caps_set(), as runc does. */
        c.ambient |= BIT(CAP_CHOWN) | BIT(CAP_KILL);
        ASSERT_OK(caps_validate(&c));

        /* Numbers above the kernel's last capability are skipped, not refused. */
        struct oci_capabilities future = {.inheritable = BIT(63), .effective = BIT(62)};
        if (cap_last_cap() < 62)
                ASSERT_OK(caps_validate(&future));
}

/* Read one "CapXxx:" line of /proc/self/status. */
static uint64_t status_caps(const char *field)
{
        _cleanup_free_ char *s = NULL;
        const char *p;
        uint64_t v = UINT64_MAX;

        if (read_full_file("/proc/self/status", 1 << 16, &s, NULL) < 0 || !(p = strstr(s, field)))
                return UINT64_MAX;
        sscanf(p + strlen(field), " %" SCNx64, &v);
        return v;
}

static int run_child(int (*fn)(void))
{
        int status;
        pid_t pid = fork();

        if (pid < 0)
                TEST_FAIL("fork: %m");
        if (pid == 0)
                _exit(fn());
        if (waitpid(pid, &status, 0) != pid)
                TEST_FAIL("waitpid: %m");
        ASSERT_TRUE(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int drop_to_chown_only(void)
{
        /* Whatever we have, keep at most CAP_CHOWN; bit 63 is above every kernel's last cap: ignored. */
        uint64_t had = status_caps("CapPrm:");
        struct oci_capabilities c = {.effective = (had & BIT(CAP_CHOWN)) | BIT(63),
                                     .permitted = (had & BIT(CAP_CHOWN)) | BIT(63)};

        if (caps_set(&c) < 0)
                return 10;
        if (status_caps("CapEff:") != (had & BIT(CAP_CHOWN)) ||
            status_caps("CapPrm:") != (had & BIT(CAP_CHOWN)))
                return 11;
        if (status_caps("CapInh:") != 0 || status_caps("CapAmb:") != 0)
                return 12;
        /* An ambient capability that is not inheritable is left out, not an error (runc). */
        c.ambient = BIT(CAP_CHOWN);
        if (caps_set(&c) < 0 || status_caps("CapAmb:") != 0)
                return 14;
        c.ambient = 0;
        /* Asking for more than we have is refused by the kernel. */
        c.permitted = c.effective = BIT(CAP_CHOWN) | BIT(CAP_SYS_ADMIN);
        if (caps_set(&c) != -EPERM)
                return 13;
        return 0;
}

TEST(set_drops_capabilities)
{
        ASSERT_EQ(run_child(drop_to_chown_only), 0);
}

static int drop_bounding(void)
{
        if (caps_drop_bounding(BIT(CAP_CHOWN) | BIT(CAP_SETPCAP)) < 0)
                return 20;
        if (status_caps("CapBnd:") != (BIT(CAP_CHOWN) | BIT(CAP_SETPCAP)))
                return 21;
        /* Dropping what is already gone is not an error. */
        if (caps_drop_bounding(BIT(CAP_CHOWN) | BIT(CAP_SETPCAP)) < 0)
                return 22;
        if (caps_drop_bounding(BIT(CAP_CHOWN)) < 0 || status_caps("CapBnd:") != BIT(CAP_CHOWN))
                return 23;
        return 0;
}

TEST(drop_bounding_set)
{
        if (!(status_caps("CapEff:") & BIT(CAP_SETPCAP)))
                SKIP("needs CAP_SETPCAP");
        ASSERT_EQ(run_child(drop_bounding), 0);
}
