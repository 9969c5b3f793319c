/* SPDX-License-Identifier: Apache-2.0 */
/* test-engine-runspec.c - run option parsers (runspec.h) and the runspec's JSON round trip. */
#include <json-c/json.h>

#include "error.h"
#include "json.h"
#include "runspec.h"
#include "test.h"
#include "util.h"

static struct runspec *new_spec(void)
{
        struct runspec *s = runspec_new();
        if (!s)
                abort();
        return s;
}

TEST(env_and_env_file)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        const char *file = "# comment\n\n  A=1\r\nB=two words\nHULL_TEST_FROM_ENV\nA=override\nEMPTY=\n";

        setenv("HULL_TEST_FROM_ENV", "host", 1);
        unsetenv("HULL_TEST_UNSET");
        ASSERT_OK(runspec_add_env_file(s, file, strlen(file), "f.env"));
        ASSERT_OK(runspec_add_env(s, "C=3"));
        ASSERT_OK(runspec_add_env(s, "HULL_TEST_UNSET"));
        ASSERT_EQ(strv_length(s->env), 5);
        ASSERT_STREQ(s->env[0], "A=override");
        ASSERT_STREQ(s->env[1], "B=two words");
        ASSERT_STREQ(s->env[2], "HULL_TEST_FROM_ENV=host");
        ASSERT_STREQ(s->env[3], "EMPTY=");
        ASSERT_STREQ(s->env[4], "C=3");
        ASSERT_ERR(runspec_add_env_file(s, "=x\n", 3, "bad.env"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "bad.env:1");
        ASSERT_ERR(runspec_add_env_file(s, "A B\n", 4, "bad.env"), -EINVAL);
        ASSERT_ERR(runspec_add_env_file(s, "A=\0B\n", 5, "nul.env"), -EINVAL);
        ASSERT_ERR(runspec_add_env(s, "=v"), -EINVAL);
}

TEST(labels)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        ASSERT_OK(runspec_add_label(s, "a=1"));
        ASSERT_OK(runspec_add_label(s, "flag"));
        ASSERT_OK(runspec_add_label(s, "a=2=3"));
        ASSERT_EQ(strv_length(s->labels), 4);
        ASSERT_STREQ(s->labels[0], "a");
        ASSERT_STREQ(s->labels[1], "2=3");
        ASSERT_STREQ(s->labels[3], "");
        ASSERT_ERR(runspec_add_label(s, "=x"), -EINVAL);
}

TEST(volume_syntax)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        ASSERT_OK(runspec_add_volume(s, "/host:/ctr:ro,rshared"));
        ASSERT_OK(runspec_add_volume(s, "data:/data"));
        ASSERT_OK(runspec_add_volume(s, "/anon"));
        ASSERT_OK(runspec_add_volume(s, "/anon2:ro"));
        ASSERT_OK(runspec_add_volume(s, "named:/n:nocopy,z"));
        ASSERT_EQ(s->n_mounts, 5);
        ASSERT_EQ(s->mounts[0].kind, MOUNT_BIND);
        ASSERT_STREQ(s->mounts[0].source, "/host");
        ASSERT_STREQ(s->mounts[0].destination, "/ctr");
        ASSERT_TRUE(s->mounts[0].readonly);
        ASSERT_STREQ(s->mounts[0].propagation, "rshared");
        ASSERT_EQ(s->mounts[1].kind, MOUNT_VOLUME);
        ASSERT_STREQ(s->mounts[1].source, "data");
        ASSERT_FALSE(s->mounts[1].anonymous);
        ASSERT_TRUE(s->mounts[2].anonymous);
        ASSERT_STREQ(s->mounts[2].destination, "/anon");
        ASSERT_TRUE(s->mounts[3].anonymous && s->mounts[3].readonly);
        ASSERT_TRUE(s->mounts[4].nocopy);

        ASSERT_ERR(runspec_add_volume(s, "rel/path:/x"), -EINVAL);
        ASSERT_ERR(runspec_add_volume(s, "./x:/x"), -EINVAL);
        ASSERT_ERR(runspec_add_volume(s, "/x:relative"), -EINVAL);
        ASSERT_ERR(runspec_add_volume(s, "/x:/"), -EINVAL);
        ASSERT_ERR(runspec_add_volume(s, "/x:/y:bogus"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "bogus");
        ASSERT_ERR(runspec_add_volume(s, "vol:/y:rshared"), -EINVAL);
        ASSERT_ERR(runspec_add_volume(s, "a:b:c:d"), -EINVAL);
        ASSERT_ERR(runspec_add_volume(s, ""), -EINVAL);
        ASSERT_EQ(s->n_mounts, 5);
}

TEST(mount_syntax)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        ASSERT_OK(runspec_add_mount(s, "type=bind,source=/a,target=/b,readonly,bind-propagation=rslave"));
        ASSERT_OK(runspec_add_mount(s, "type=volume,src=v1,dst=/v,volume-nocopy=true"));
        ASSERT_OK(runspec_add_mount(s, "type=volume,target=/anon"));
        ASSERT_OK(runspec_add_mount(s, "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770"));
        ASSERT_OK(runspec_add_mount(s, "type=bind,source=/a:b,target=/with:colon,ro=false"));
        ASSERT_EQ(s->n_mounts, 5);
        ASSERT_TRUE(s->mounts[0].readonly);
        ASSERT_STREQ(s->mounts[0].propagation, "rslave");
        ASSERT_TRUE(s->mounts[1].nocopy);
        ASSERT_TRUE(s->mounts[2].anonymous);
        ASSERT_STREQ(s->mounts[3].options, "size=1048576,mode=1770");
        ASSERT_STREQ(s->mounts[4].destination, "/with:colon");
        ASSERT_FALSE(s->mounts[4].readonly);

        ASSERT_ERR(runspec_add_mount(s, "source=/a,target=/b"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "type=");
        ASSERT_ERR(runspec_add_mount(s, "type=nfs,target=/b"), -EINVAL);
        ASSERT_ERR(runspec_add_mount(s, "type=bind,target=/b"), -EINVAL);
        ASSERT_ERR(runspec_add_mount(s, "type=tmpfs,source=/x,target=/b"), -EINVAL);
        ASSERT_ERR(runspec_add_mount(s, "type=volume,source=v,target=/b,bind-propagation=shared"), -EINVAL);
        ASSERT_ERR(runspec_add_mount(s, "type=tmpfs,target=/b,tmpfs-mode=99"), -EINVAL);
        ASSERT_ERR(runspec_add_mount(s, "type=bind,source=/a,target=/b,color=red"), -EINVAL);
        ASSERT_EQ(s->n_mounts, 5);
}

TEST(tmpfs_and_validate)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        ASSERT_OK(runspec_add_tmpfs(s, "/run:size=64m,ro"));
        ASSERT_TRUE(s->mounts[0].readonly);
        ASSERT_STREQ(s->mounts[0].options, "size=64m,ro");
        ASSERT_OK(runspec_validate(s));
        ASSERT_OK(runspec_add_volume(s, "/x:/run"));
        ASSERT_ERR(runspec_validate(s), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "duplicate mount destination '/run'");
        ASSERT_ERR(runspec_add_tmpfs(s, "relative"), -EINVAL);
}

TEST(restart)
{
        enum restart_policy p;
        unsigned max;
        ASSERT_OK(runspec_parse_restart("no", &p, &max));
        ASSERT_EQ(p, RESTART_POLICY_NO);
        ASSERT_OK(runspec_parse_restart("on-failure:5", &p, &max));
        ASSERT_EQ(p, RESTART_POLICY_ON_FAILURE);
        ASSERT_EQ(max, 5);
        ASSERT_OK(runspec_parse_restart("unless-stopped", &p, &max));
        ASSERT_EQ(p, RESTART_POLICY_UNLESS_STOPPED);
        ASSERT_ERR(runspec_parse_restart("always:3", &p, &max), -EINVAL);
        ASSERT_ERR(runspec_parse_restart("on-failure:x", &p, &max), -EINVAL);
        ASSERT_ERR(runspec_parse_restart("sometimes", &p, &max), -EINVAL);
}

TEST(limits)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        int64_t v;

        ASSERT_OK(runspec_set_cpus(s, "1.5"));
        ASSERT_EQ(s->cpu_quota, 150000);
        ASSERT_EQ(s->cpu_period, 100000);
        ASSERT_ERR(runspec_set_cpus(s, "0"), -EINVAL);
        ASSERT_ERR(runspec_set_cpus(s, "0.001"), -EINVAL);
        ASSERT_ERR(runspec_set_cpus(s, "many"), -EINVAL);
        ASSERT_OK(runspec_parse_memory("--memory", "512m", false, &v));
        ASSERT_EQ(v, 512 << 20);
        ASSERT_OK(runspec_parse_memory("--memory", "1gb", false, &v));
        ASSERT_EQ(v, 1 << 30);
        ASSERT_OK(runspec_parse_memory("--memory-swap", "-1", true, &v));
        ASSERT_EQ(v, -1);
        ASSERT_ERR(runspec_parse_memory("--memory", "-1", false, &v), -EINVAL);
        ASSERT_ERR(runspec_parse_memory("--memory", "lots", false, &v), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--memory: invalid size 'lots'");

        s->memory = 100 << 20;
        s->memory_swap = 50 << 20;
        ASSERT_ERR(runspec_validate(s), -EINVAL);
        s->memory_swap = 0;
        ASSERT_OK(runspec_add_ulimit(s, "nofile=1024:2048"));
        ASSERT_OK(runspec_add_ulimit(s, "nproc=100"));
        ASSERT_OK(runspec_add_ulimit(s, "nofile=10"));
        ASSERT_EQ(s->n_ulimits, 2);
        ASSERT_EQ(s->ulimits[0].soft, 10);
        ASSERT_EQ(s->ulimits[0].hard, 10);
        ASSERT_EQ(s->ulimits[1].hard, 100);
        ASSERT_ERR(runspec_add_ulimit(s, "nofile=9:8"), -EINVAL);
        ASSERT_ERR(runspec_add_ulimit(s, "bogus=1"), -EINVAL);
        ASSERT_OK(runspec_set_log_opt(s, "max-size=10m"));
        ASSERT_OK(runspec_set_log_opt(s, "max-file=3"));
        ASSERT_EQ(s->log_max_size, 10 << 20);
        ASSERT_EQ(s->log_max_files, 3);
        ASSERT_ERR(runspec_set_log_opt(s, "max-size=1"), -EINVAL);
        ASSERT_ERR(runspec_set_log_opt(s, "compress=true"), -EINVAL);
}

TEST(durations)
{
        int64_t ns;
        ASSERT_OK(runspec_parse_duration("--x", "30s", &ns));
        ASSERT_EQ(ns, 30000000000LL);
        ASSERT_OK(runspec_parse_duration("--x", "1m30s", &ns));
        ASSERT_EQ(ns, 90000000000LL);
        ASSERT_OK(runspec_parse_duration("--x", "250ms", &ns));
        ASSERT_EQ(ns, 250000000LL);
        ASSERT_OK(runspec_parse_duration("--x", "1.5h", &ns));
        ASSERT_EQ(ns, 5400000000000LL);
        ASSERT_OK(runspec_parse_duration("--x", "0", &ns));
        ASSERT_EQ(ns, 0);
        ASSERT_ERR(runspec_parse_duration("--x", "5", &ns), -EINVAL);
        ASSERT_ERR(runspec_parse_duration("--x", "-5s", &ns), -EINVAL);
        ASSERT_ERR(runspec_parse_duration("--x", "5d", &ns), -EINVAL);
        ASSERT_ERR(runspec_parse_duration("--x", "", &ns), -EINVAL);
}

TEST(security_opts)
{
        _cleanup_runspec_ struct runspec *s = new_spec();
        char path[] = "/tmp/hull-test-seccomp-XXXXXX";
        int fd = mkstemp(path);

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(write_all(fd, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 34));
        close(fd);
        ASSERT_OK(runspec_set_security_opt(s, "no-new-privileges"));
        ASSERT_TRUE(s->no_new_privileges);
        ASSERT_OK(runspec_set_security_opt(s, "no-new-privileges=false"));
        ASSERT_FALSE(s->no_new_privileges);
        ASSERT_OK(runspec_set_security_opt(s, "seccomp=unconfined"));
        ASSERT_TRUE(s->seccomp_unconfined);
        {
                char opt[64];
                snprintf(opt, sizeof(opt), "seccomp=%s", path);
                ASSERT_OK(runspec_set_security_opt(s, opt));
        }
        unlink(path);
        ASSERT_FALSE(s->seccomp_unconfined);
        ASSERT_CONTAINS(s->seccomp_profile, "SCMP_ACT_ALLOW");
        ASSERT_ERR(runspec_set_security_opt(s, "seccomp=/nonexistent/profile.json"), -ENOENT);
        ASSERT_OK(runspec_set_security_opt(s, "label=disable"));
        ASSERT_ERR(runspec_set_security_opt(s, "label=type:foo_t"), -EINVAL);
        ASSERT_ERR(runspec_set_security_opt(s, "whatever"), -EINVAL);
}

TEST(names)
{
        ASSERT_OK(runspec_check_name("web"));
        ASSERT_OK(runspec_check_name("a.b-c_1"));
        ASSERT_ERR(runspec_check_name("-x"), -EINVAL);
        ASSERT_ERR(runspec_check_name("a/b"), -EINVAL);
        ASSERT_ERR(runspec_check_name(""), -EINVAL);
}

TEST(json_round_trip)
{
        _cleanup_runspec_ struct runspec *s = new_spec(), *back = NULL;
        _cleanup_json_ struct json_object *o = NULL, *o2 = NULL;
        enum restart_policy p;

        s->image = strdup("busybox");
        s->command = strv_copy((char *const[]){(char *)"sh", (char *)"-c", (char *)"echo hi", NULL});
        s->entrypoint_set = true;
        s->entrypoint = calloc(1, sizeof(char *));
        s->tty = s->interactive = s->auto_remove = s->read_only = true;
        ASSERT_OK(runspec_add_env(s, "A=1"));
        ASSERT_OK(runspec_add_label(s, "k=v"));
        ASSERT_OK(runspec_add_volume(s, "/h:/c:ro"));
        ASSERT_OK(runspec_add_tmpfs(s, "/t:size=1m"));
        ASSERT_OK(runspec_add_ulimit(s, "nofile=5:6"));
        ASSERT_OK(runspec_parse_restart("on-failure:2", &p, &s->restart_max));
        s->restart = p;
        s->memory = 1 << 20;
        s->pids_limit = -1;
        s->stop_timeout = 0;
        s->health.test = strv_copy((char *const[]){(char *)"CMD-SHELL", (char *)"true", NULL});
        s->health.retries = 4;
        ASSERT_OK(runspec_to_json(s, &o));
        ASSERT_OK(runspec_from_json(o, &back));
        ASSERT_STREQ(back->image, "busybox");
        ASSERT_EQ(strv_length(back->command), 3);
        ASSERT_TRUE(back->entrypoint_set);
        ASSERT_EQ(strv_length(back->entrypoint), 0);
        ASSERT_TRUE(back->tty && back->interactive && back->auto_remove && back->read_only);
        ASSERT_EQ(back->n_mounts, 2);
        ASSERT_TRUE(back->mounts[0].readonly);
        ASSERT_EQ(back->mounts[1].kind, MOUNT_TMPFS);
        ASSERT_EQ(back->restart, RESTART_POLICY_ON_FAILURE);
        ASSERT_EQ(back->restart_max, 2);
        ASSERT_EQ(back->pids_limit, -1);
        ASSERT_EQ(back->stop_timeout, 0);
        ASSERT_EQ(back->ulimits[0].hard, 6);
        ASSERT_EQ(back->health.retries, 4);
        ASSERT_STREQ(back->labels[1], "v");
        ASSERT_OK(runspec_to_json(back, &o2));
        ASSERT_STREQ(json_to_string(o), json_to_string(o2));
}

TEST(json_rejects_wrong_types)
{
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_runspec_ struct runspec *s = NULL;

        ASSERT_OK(json_parse_buffer("{\"image\": 5}", 12, "t", &o));
        ASSERT_ERR(runspec_from_json(o, &s), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "image");
}

TEST(networks)
{
        _cleanup_runspec_ struct runspec *s = new_spec(), *back = NULL;
        _cleanup_json_ struct json_object *o = NULL, *o2 = NULL;
        char *aliases[] = {(char *)"db", NULL};

        /* Bridged by default; names accumulate; "bridge" is the default network. */
        ASSERT_TRUE(runspec_is_bridged(s));
        ASSERT_OK(runspec_add_network(s, "front"));
        ASSERT_OK(runspec_add_network(s, "bridge"));
        ASSERT_EQ(s->n_networks, 2);
        ASSERT_STREQ(s->networks[1].name, "hull");
        ASSERT_ERR(runspec_add_network(s, "front"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "given twice");
        ASSERT_ERR(runspec_add_network(s, "none"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "'none' cannot be combined");
        ASSERT_ERR(runspec_add_network(s, "bad:name"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "bad:name");
        /* connect/disconnect edit the list. */
        ASSERT_OK(runspec_network_add(s, "back", "10.89.0.5", NULL, "02:00:00:00:00:01", aliases));
        ASSERT_ERR(runspec_network_add(s, "back", NULL, NULL, NULL, NULL), -EEXIST);
        ASSERT_OK(runspec_network_remove(s, "hull"));
        ASSERT_ERR(runspec_network_remove(s, "hull"), -ENOENT);
        ASSERT_EQ(s->n_networks, 2);
        ASSERT_STREQ(s->networks[1].name, "back");
        s->publish_all = true;
        ASSERT_OK(strv_extend(&s->publish, "8080:80"));
        ASSERT_OK(strv_extend(&s->egress, "deny=all"));
        ASSERT_OK(strv_extend(&s->dns, "192.0.2.53"));
        ASSERT_OK(runspec_validate(s));
        ASSERT_OK(runspec_to_json(s, &o));
        ASSERT_OK(runspec_from_json(o, &back));
        ASSERT_EQ(back->n_networks, 2);
        ASSERT_STREQ(back->networks[1].ip, "10.89.0.5");
        ASSERT_STREQ(back->networks[1].mac, "02:00:00:00:00:01");
        ASSERT_STREQ(back->networks[1].aliases[0], "db");
        ASSERT_TRUE(back->publish_all);
        ASSERT_STREQ(back->publish[0], "8080:80");
        ASSERT_OK(runspec_to_json(back, &o2));
        ASSERT_STREQ(json_to_string(o), json_to_string(o2));
}

TEST(network_modes)
{
        _cleanup_runspec_ struct runspec *s = new_spec(), *h = new_spec();

        ASSERT_OK(runspec_add_network(s, "container:web"));
        ASSERT_FALSE(runspec_is_bridged(s));
        ASSERT_ERR(runspec_add_network(s, "front"), -EINVAL);
        ASSERT_OK(strv_extend(&s->dns, "192.0.2.53"));
        ASSERT_ERR(runspec_validate(s), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "shares the other one's /etc files");
        /* Options of an endpoint need a bridged network. */
        ASSERT_OK(runspec_add_network(h, "host"));
        ASSERT_OK(strv_extend(&h->publish, "80"));
        ASSERT_ERR(runspec_validate(h), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--publish: needs a bridged network");
}

TEST(vm_isolation_networks)
{
        _cleanup_runspec_ struct runspec *s = new_spec(), *h = new_spec(), *c = new_spec(), *d = new_spec();

        /* The guest takes the namespace's interfaces: networks, ports and the default are fine. */
        ASSERT_TRUE((s->isolation = strdup("vm")));
        ASSERT_OK(runspec_add_network(s, "front"));
        ASSERT_OK(runspec_add_network(s, "bridge"));
        ASSERT_OK(strv_extend(&s->publish, "8080:80"));
        ASSERT_OK(runspec_validate(s));
        ASSERT_TRUE((d->isolation = strdup("vm")));
        ASSERT_OK(runspec_validate(d));
        /* Not the host's interfaces, nor another container's. */
        ASSERT_TRUE((h->isolation = strdup("vm")));
        ASSERT_OK(runspec_add_network(h, "host"));
        ASSERT_ERR(runspec_validate(h), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--network 'host'");
        ASSERT_TRUE((c->isolation = strdup("vm")));
        ASSERT_OK(runspec_add_network(c, "container:web"));
        ASSERT_ERR(runspec_validate(c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--network 'container:web'");
}
