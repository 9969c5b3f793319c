/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-build-config.c - what Dockerfile instructions do to the image config
 * (ENV keeps a variable's place, EXPOSE ranges and protocols, HEALTHCHECK
 * durations, history entries), WORKDIR path resolution, and the image's
 * passwd/group parsers behind USER and --chown.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "error.h"
#include "json.h"
#include "util.h"
#include "test.h"

static const char *get(struct json_object *cfg, const char *path)
{
        return json_to_string(json_object_object_get(json_object_object_get(cfg, "config"), path));
}

TEST(scratch_config)
{
        _cleanup_json_ struct json_object *cfg = NULL;

        ASSERT_OK(build_config_scratch(&cfg));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(cfg, "os")), "linux");
        ASSERT_STREQ(get(cfg, "Env"),
                     "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]");
        ASSERT_STREQ(json_to_string(json_object_object_get(cfg, "rootfs")),
                     "{\"diff_ids\":[],\"type\":\"layers\"}");
}

TEST(env_keeps_its_place)
{
        _cleanup_json_ struct json_object *cfg = json_object_new_object();
        _cleanup_strv_free_ char **env = NULL;

        ASSERT_OK(build_config_set_env(cfg, "A", "1"));
        ASSERT_OK(build_config_set_env(cfg, "B", "2"));
        ASSERT_OK(build_config_set_env(cfg, "A", "x=y"));
        ASSERT_OK(build_config_set_env(cfg, "AB", "3"));
        ASSERT_STREQ(get(cfg, "Env"), "[\"A=x=y\",\"B=2\",\"AB=3\"]");
        ASSERT_OK(build_config_strv(cfg, "Env", &env));
        ASSERT_EQ(strv_length(env), 3);
        ASSERT_STREQ(build_config_string(cfg, "Missing") ?: "(null)", "(null)");
}

TEST(expose)
{
        _cleanup_json_ struct json_object *cfg = json_object_new_object();

        ASSERT_OK(build_config_expose(cfg, "80"));
        ASSERT_OK(build_config_expose(cfg, "53/UDP"));
        ASSERT_OK(build_config_expose(cfg, "7000-7002/sctp"));
        ASSERT_STREQ(get(cfg, "ExposedPorts"),
                     "{\"80/tcp\":{},\"53/udp\":{},\"7000/sctp\":{},\"7001/sctp\":{},"
                     "\"7002/sctp\":{}}");
        ASSERT_ERR(build_config_expose(cfg, "0"), -EINVAL);
        ASSERT_ERR(build_config_expose(cfg, "65536"), -EINVAL);
        ASSERT_ERR(build_config_expose(cfg, "90-80"), -EINVAL);
        ASSERT_ERR(build_config_expose(cfg, "80/icmp"), -EINVAL);
        ASSERT_ERR(build_config_expose(cfg, "80/"), -EINVAL);
        ASSERT_ERR(build_config_expose(cfg, "+80"), -EINVAL);
        ASSERT_ERR(build_config_expose(cfg, "http"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "EXPOSE: invalid port 'http'");
}

TEST(healthcheck_and_history)
{
        _cleanup_json_ struct json_object *cfg = json_object_new_object();
        char *test[] = {(char *)"CMD-SHELL", (char *)"true", NULL};
        char *flags[] = {(char *)"interval=1m30s", (char *)"retries=2", (char *)"start-interval=500ms",
                         NULL};
        char *bad[] = {(char *)"timeout=soon", NULL};
        struct json_object *h;

        ASSERT_OK(build_config_healthcheck(cfg, test, flags));
        ASSERT_STREQ(get(cfg, "Healthcheck"), "{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":90000000000,"
                                              "\"Retries\":2,\"StartInterval\":500000000}");
        ASSERT_ERR(build_config_healthcheck(cfg, test, bad), -EINVAL);
        ASSERT_OK(build_config_history(cfg, "ENV A=1", true));
        ASSERT_OK(build_config_history(cfg, "RUN x", false));
        h = json_object_object_get(cfg, "history");
        ASSERT_EQ(json_object_array_length(h), 2);
        ASSERT_TRUE(json_object_get_boolean(
                json_object_object_get(json_object_array_get_idx(h, 0), "empty_layer")));
        ASSERT_TRUE(json_object_object_get(json_object_array_get_idx(h, 1), "empty_layer") == NULL);
        ASSERT_TRUE(json_object_object_get(cfg, "created") != NULL);
        ASSERT_OK(build_config_add_diff_id(cfg, "sha256:00"));
        ASSERT_STREQ(
                json_to_string(json_object_object_get(json_object_object_get(cfg, "rootfs"), "diff_ids")),
                "[\"sha256:00\"]");
}

TEST(strv_fields)
{
        _cleanup_json_ struct json_object *cfg = json_object_new_object();
        char *cmd[] = {(char *)"/bin/sh", (char *)"-c", (char *)"x", NULL};

        ASSERT_OK(build_config_set_strv(cfg, "Cmd", cmd));
        ASSERT_STREQ(get(cfg, "Cmd"), "[\"/bin/sh\",\"-c\",\"x\"]");
        ASSERT_OK(build_config_set_strv(cfg, "Cmd", NULL));
        ASSERT_TRUE(json_object_object_get(json_object_object_get(cfg, "config"), "Cmd") == NULL);
        ASSERT_OK(build_config_set_label(cfg, "a.b", "c d"));
        ASSERT_STREQ(get(cfg, "Labels"), "{\"a.b\":\"c d\"}");
        ASSERT_OK(build_config_add_volume(cfg, "/data"));
        ASSERT_ERR(build_config_add_volume(cfg, ""), -EINVAL);
}

TEST(path_join)
{
        static const char *const cases[][3] = {
                {NULL, "app", "/app"},    {"/", "app", "/app"},    {"/srv", "app", "/srv/app"},
                {"/srv", "/abs", "/abs"}, {"/srv", "../..", "/"},  {"/a/b", "./c/../d/", "/a/b/d"},
                {"/a", ".", "/a"},        {"/", "//x//y", "/x/y"}, {"", "x", "/x"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = build_path_join(cases[i][0], cases[i][1]);
                ASSERT_STREQ(p, cases[i][2]);
        }
}

static const char passwd[] = "# comment\n"
                             "root:x:0:0:root:/root:/bin/sh\n"
                             "broken line\n"
                             "bad:x:notanumber:1::/:/bin/sh\n"
                             "+nis:x:5:5::/:\n"
                             "app:x:1000:1001:App:/home/app:/bin/sh\r\n"
                             "app:x:2000:2000:second wins not:/:/bin/sh\n"
                             "noeol:x:7:8::/:/bin/sh";
static const char group[] = "root:x:0:\n"
                            "app:x:1001:\n"
                            "staff:x:50:app,other\n"
                            "wheel:x:10:other,app\n"
                            "appfake:x:11:application\n"
                            "bad:x:zz:app\n";

TEST(passwd_and_group_parsers)
{
        _cleanup_free_ char *name = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        uid_t uid = 0;
        gid_t gid = 0;
        size_t n = 0;

        ASSERT_EQ(passwd_find(passwd, strlen(passwd), "app", &uid, &gid, NULL), 1);
        ASSERT_EQ(uid, 1000);
        ASSERT_EQ(gid, 1001);
        ASSERT_EQ(passwd_find(passwd, strlen(passwd), "noeol", &uid, &gid, NULL), 1);
        ASSERT_EQ(gid, 8);
        ASSERT_EQ(passwd_find(passwd, strlen(passwd), "bad", &uid, &gid, NULL), 0);
        ASSERT_EQ(passwd_find(passwd, strlen(passwd), "+nis", &uid, &gid, NULL), 0);
        ASSERT_EQ(passwd_find(passwd, strlen(passwd), "nobody", &uid, &gid, NULL), 0);
        uid = 1000;
        ASSERT_EQ(passwd_find(passwd, strlen(passwd), NULL, &uid, &gid, &name), 1);
        ASSERT_STREQ(name, "app");
        ASSERT_EQ(group_find(group, strlen(group), "staff", &gid), 1);
        ASSERT_EQ(gid, 50);
        ASSERT_EQ(group_find(group, strlen(group), "bad", &gid), 0);
        ASSERT_OK(group_members(group, strlen(group), "app", &gids, &n));
        ASSERT_EQ(n, 2);
        ASSERT_EQ(gids[0], 50);
        ASSERT_EQ(gids[1], 10);
}

TEST(user_lookup_in_a_tree)
{
        char top[] = "/tmp/hull-test-build-user-XXXXXX", p[256];
        _cleanup_close_ int fd = -EBADF;
        struct build_user u = {};

        ASSERT_TRUE(mkdtemp(top) != NULL);
        snprintf(p, sizeof(p), "%s/etc", top);
        ASSERT_OK(mkdir(p, 0755));
        snprintf(p, sizeof(p), "%s/etc/passwd", top);
        ASSERT_OK(write_file_atomic(p, passwd, strlen(passwd), 0644));
        snprintf(p, sizeof(p), "%s/etc/group", top);
        ASSERT_OK(write_file_atomic(p, group, strlen(group), 0644));
        fd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        /* USER: primary group from passwd, supplementary ones from group. */
        ASSERT_OK(build_user_lookup(fd, "app", true, false, &u));
        ASSERT_EQ(u.uid, 1000);
        ASSERT_EQ(u.gid, 1001);
        ASSERT_EQ(u.n_groups, 2);
        build_user_done(&u);
        ASSERT_OK(build_user_lookup(fd, "1000", true, false, &u));
        ASSERT_EQ(u.gid, 1001);
        ASSERT_EQ(u.n_groups, 2);
        build_user_done(&u);
        ASSERT_OK(build_user_lookup(fd, "4242", true, false, &u));
        ASSERT_EQ(u.uid, 4242);
        ASSERT_EQ(u.gid, 0);
        build_user_done(&u);
        ASSERT_OK(build_user_lookup(fd, "app:staff", true, false, &u));
        ASSERT_EQ(u.gid, 50);
        build_user_done(&u);
        /* --chown: no group means the uid as gid. */
        ASSERT_OK(build_user_lookup(fd, "app", false, true, &u));
        ASSERT_EQ(u.gid, 1000);
        ASSERT_EQ(u.n_groups, 0);
        ASSERT_OK(build_user_lookup(fd, "12:34", false, true, &u));
        ASSERT_EQ(u.uid, 12);
        ASSERT_EQ(u.gid, 34);
        ASSERT_ERR(build_user_lookup(fd, "ghost", false, true, &u), -ENOENT);
        ASSERT_STREQ(err_msg(-ENOENT), "no user 'ghost' in the image's /etc/passwd");
        ASSERT_ERR(build_user_lookup(fd, "app:ghosts", false, true, &u), -ENOENT);
        ASSERT_STREQ(err_msg(-ENOENT), "no group 'ghosts' in the image's /etc/group");
        ASSERT_ERR(build_user_lookup(fd, ":x", false, true, &u), -EINVAL);
        ASSERT_ERR(build_user_lookup(fd, "4294967295", false, true, &u), -ENOENT);
        /* /etc/passwd as an absolute symlink resolves inside the tree, never on the host. */
        snprintf(p, sizeof(p), "%s/etc/passwd", top);
        ASSERT_OK(unlink(p));
        ASSERT_OK(symlink("/usr/lib/passwd", p));
        snprintf(p, sizeof(p), "%s/usr/lib", top);
        ASSERT_OK(mkdir_p(p, 0755));
        snprintf(p, sizeof(p), "%s/usr/lib/passwd", top);
        ASSERT_OK(write_file_atomic(p, "zed:x:99:98::/:/bin/sh\n", 23, 0644));
        ASSERT_OK(build_user_lookup(fd, "zed", true, false, &u));
        ASSERT_EQ(u.uid, 99);
        ASSERT_EQ(u.gid, 98);
        build_user_done(&u);
        ASSERT_ERR(build_user_lookup(fd, "root", false, true, &u), -ENOENT);
        /* A loop is an error, not an empty file. */
        snprintf(p, sizeof(p), "%s/etc/passwd", top);
        ASSERT_OK(unlink(p));
        ASSERT_OK(symlink("/etc/passwd", p));
        ASSERT_ERR(build_user_lookup(fd, "root", false, true, &u), -ELOOP);
        ASSERT_OK(rm_rf(top));
}
