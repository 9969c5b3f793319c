/* SPDX-License-Identifier: Apache-2.0 */
/* test-vm-isolation.c - the host side of VM isolation that needs no VM: the annotation, the EXEC fields. */
#include "config.h"
#include "error.h"
#include "test.h"
#include "vm-isolation.h"

static struct oci_config *parse(const char *json)
{
        struct oci_config *c = NULL;
        if (config_parse(json, strlen(json), &c) < 0)
                return NULL;
        return c;
}

#define CONFIG(ann)                                                                                       \
        "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"cwd\":\"/"               \
        "w\",\"args\":[\"sh\","                                                                           \
        "\"-c\",\"x\"],\"env\":[\"A=b\"],\"user\":{\"uid\":7,\"gid\":8,\"additionalGids\":[9]},"          \
        "\"terminal\":true,"                                                                              \
        "\"consoleSize\":{\"height\":24,\"width\":80},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":" \
        "10,"                                                                                             \
        "\"hard\":20}]}" ann "}"

TEST(annotation)
{
        struct oci_config *c = parse(CONFIG(""));
        ASSERT_TRUE(c);
        ASSERT_EQ(vmiso_requested(c), 0);
        config_free(c);
        c = parse(CONFIG(",\"annotations\":{\"io.hull.isolation\":\"vm\"}"));
        ASSERT_TRUE(c);
        ASSERT_EQ(vmiso_requested(c), 1);
        config_free(c);
        c = parse(CONFIG(",\"annotations\":{\"io.hull.isolation\":\"kata\"}"));
        ASSERT_TRUE(c);
        ASSERT_EQ(vmiso_requested(c), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "annotations.io.hull.isolation: unknown isolation 'kata' (container, vm)");
        config_free(c);
}

TEST(exec_fields)
{
        struct oci_config *c = parse(CONFIG(""));
        struct agent_buf b = {};
        struct agent_field_iter it;
        const uint8_t *v;
        uint32_t vl;
        uint16_t tag;
        char got[512] = "";

        ASSERT_TRUE(c);
        ASSERT_OK(vmiso_exec_fields(&b, c->process));
        it = (struct agent_field_iter){b.data, b.len};
        while (agent_field_next(&it, &tag, &v, &vl) > 0) {
                char one[96];
                snprintf(one, sizeof(one), "%u=%.*s;", tag, (int)vl, (const char *)v);
                strcat(got, one);
        }
        ASSERT_STREQ(got, "1=sh;1=-c;1=x;2=A=b;3=/w;4=7:8;5=9;6=;7=7:10:20;8=24:80;");
        agent_buf_free(&b);
        config_free(c);
}
