/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-engine-ocispec.c - config.json generation (ocispec.h), the default seccomp profile
 * (seccomp-profile.h) and user resolution (user.h). Every generated config is also run
 * through hull-runtime's own parser, so that what the engine writes is what the runtime
 * accepts.
 */
#include <json-c/json.h>
#include <linux/audit.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "ocispec.h"
#include "runspec.h"
#include "seccomp-profile.h"
#include "test.h"
#include "user.h"
#include "util.h"
#include "vm-isolation.h"

/* libseccomp's; declared here because src/runtime/seccomp.h shadows <seccomp.h> on this include path. */
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);

static char *mount_sources[8];

static struct json_object *build(struct runspec *s, struct image_config *img, const struct user_ids *u)
{
        struct ocispec_input in = {
                .spec = s,
                .image = img,
                .id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                .rootfs = "/var/lib/hull/containers/x/rootfs",
                .dir = "/var/lib/hull/containers/x",
                .user = u,
                .mount_sources = mount_sources,
                .cgroups_path = "/hull-x",
                .hostname = "0123456789ab",
                .have_swap_accounting = true,
        };
        struct json_object *o = NULL;
        struct oci_config *cfg = NULL;
        const char *text;
        int r = ocispec_build(&in, &o);

        if (r < 0) {
                fprintf(stderr, "# ocispec_build: %s\n", err_msg(r));
                return NULL;
        }
        /* What hull-runtime would say about it. */
        text = json_to_string(o);
        r = config_parse(text, strlen(text), &cfg);
        if (r < 0) {
                fprintf(stderr, "# hull-runtime refuses the config: %s\n", err_msg(r));
                json_object_put(o);
                return NULL;
        }
        config_free(cfg);
        return o;
}

static struct json_object *at(struct json_object *o, const char *a, const char *b)
{
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(o, a, &v))
                return NULL;
        if (b && !json_object_object_get_ex(v, b, &v))
                return NULL;
        return v;
}

static bool array_has(struct json_object *a, const char *s)
{
        for (size_t i = 0; a && i < json_object_array_length(a); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i)), s))
                        return true;
        return false;
}

static bool has_mount(struct json_object *o, const char *dest, const char *type)
{
        struct json_object *m = at(o, "mounts", NULL);
        for (size_t i = 0; m && i < json_object_array_length(m); i++) {
                struct json_object *e = json_object_array_get_idx(m, i);
                if (streq(json_object_get_string(at(e, "destination", NULL)), dest) &&
                    streq(json_object_get_string(at(e, "type", NULL)), type))
                        return true;
        }
        return false;
}

static struct image_config *image(void)
{
        static char *env[] = {(char *)"PATH=/bin", (char *)"A=image", NULL};
        static char *cmd[] = {(char *)"sh", NULL};
        static struct image_config img;
        img = (struct image_config){.env = env, .cmd = cmd, .working_dir = (char *)"/srv"};
        return &img;
}

TEST(defaults_are_docker_like)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *caps, *env;

        s->image = strdup("bb");
        o = build(s, image(), NULL);
        ASSERT_TRUE(o != NULL);
        caps = at(at(o, "process", "capabilities"), "bounding", NULL);
        ASSERT_EQ(json_object_array_length(caps), 14);
        ASSERT_TRUE(array_has(caps, "CAP_NET_BIND_SERVICE"));
        ASSERT_FALSE(array_has(caps, "CAP_SYS_ADMIN"));
        ASSERT_FALSE(array_has(caps, "CAP_NET_ADMIN"));
        ASSERT_TRUE(array_has(at(o, "linux", "maskedPaths"), "/proc/kcore"));
        ASSERT_TRUE(array_has(at(o, "linux", "maskedPaths"), "/sys/firmware"));
        ASSERT_TRUE(array_has(at(o, "linux", "readonlyPaths"), "/proc/sys"));
        ASSERT_TRUE(at(o, "linux", "seccomp") != NULL);
        ASSERT_STREQ(json_object_get_string(at(at(o, "linux", "seccomp"), "defaultAction", NULL)),
                     "SCMP_ACT_ERRNO");
        ASSERT_TRUE(has_mount(o, "/dev/shm", "tmpfs"));
        ASSERT_TRUE(has_mount(o, "/dev/mqueue", "mqueue"));
        ASSERT_TRUE(has_mount(o, "/etc/hosts", "bind"));
        ASSERT_FALSE(json_object_get_boolean(at(o, "root", "readonly")));
        ASSERT_FALSE(json_object_get_boolean(at(o, "process", "noNewPrivileges")));
        ASSERT_STREQ(json_object_get_string(at(o, "process", "cwd")), "/srv");
        ASSERT_STREQ(json_object_get_string(at(o, "hostname", NULL)), "0123456789ab");
        env = at(o, "process", "env");
        ASSERT_TRUE(array_has(env, "PATH=/bin"));
        ASSERT_TRUE(array_has(env, "A=image"));
        ASSERT_TRUE(array_has(env, "HOSTNAME=0123456789ab"));
        ASSERT_TRUE(array_has(env, "HOME=/"));
        ASSERT_FALSE(array_has(env, "TERM=xterm"));
        /* A private network namespace by default; cgroup namespace too. */
        {
                struct json_object *ns = at(o, "linux", "namespaces");
                bool net = false, cg = false;
                for (size_t i = 0; i < json_object_array_length(ns); i++) {
                        const char *t =
                                json_object_get_string(at(json_object_array_get_idx(ns, i), "type", NULL));
                        net = net || streq(t, "network");
                        cg = cg || streq(t, "cgroup");
                }
                ASSERT_TRUE(net && cg);
        }
}

TEST(env_precedence_and_tty)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *o = NULL;
        struct user_ids u = {.uid = 1000, .gid = 1000, .home = (char *)"/home/u"};
        struct json_object *env;

        s->tty = true;
        ASSERT_OK(runspec_add_env(s, "A=user"));
        ASSERT_OK(runspec_add_env(s, "HOME=/custom"));
        o = build(s, image(), &u);
        ASSERT_TRUE(o != NULL);
        env = at(o, "process", "env");
        ASSERT_TRUE(array_has(env, "A=user"));
        ASSERT_FALSE(array_has(env, "A=image"));
        ASSERT_TRUE(array_has(env, "TERM=xterm"));
        ASSERT_TRUE(array_has(env, "HOME=/custom"));
        ASSERT_EQ(json_object_get_int(at(at(o, "process", "user"), "uid", NULL)), 1000);
        ASSERT_TRUE(json_object_get_boolean(at(o, "process", "terminal")));
}

TEST(args_rules)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        static char *ep[] = {(char *)"/entry", (char *)"-x", NULL};
        struct image_config img = *image();
        char **args = NULL;

        img.entrypoint = ep;
        ASSERT_OK(ocispec_args(s, &img, &args));
        ASSERT_EQ(strv_length(args), 3); /* ENTRYPOINT + CMD */
        ASSERT_STREQ(args[2], "sh");
        strv_free(args);
        s->command = strv_copy((char *const[]){(char *)"ls", NULL});
        ASSERT_OK(ocispec_args(s, &img, &args));
        ASSERT_STREQ(args[0], "/entry");
        ASSERT_STREQ(args[2], "ls");
        strv_free(args);
        /* --entrypoint replaces ENTRYPOINT and drops CMD; the command after the image stays. */
        s->entrypoint_set = true;
        s->entrypoint = strv_copy((char *const[]){(char *)"/bin/echo", NULL});
        ASSERT_OK(ocispec_args(s, &img, &args));
        ASSERT_EQ(strv_length(args), 2);
        ASSERT_STREQ(args[0], "/bin/echo");
        strv_free(args);
        strv_free(s->command);
        s->command = NULL;
        strv_free(s->entrypoint);
        s->entrypoint = calloc(1, sizeof(char *));
        ASSERT_ERR(ocispec_args(s, &img, &args), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "no command specified");
}

TEST(privileged_read_only_limits)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *res;

        s->privileged = true;
        s->read_only = true;
        s->memory = 64 << 20;
        s->pids_limit = 50;
        ASSERT_OK(runspec_set_cpus(s, "0.5"));
        ASSERT_OK(runspec_add_label(s, "team=core"));
        o = build(s, image(), NULL);
        ASSERT_TRUE(o != NULL);
        ASSERT_TRUE(array_has(at(at(o, "process", "capabilities"), "bounding", NULL), "CAP_SYS_ADMIN"));
        ASSERT_TRUE(at(o, "linux", "seccomp") == NULL);
        ASSERT_TRUE(at(o, "linux", "maskedPaths") == NULL);
        ASSERT_TRUE(json_object_get_boolean(at(o, "root", "readonly")));
        res = at(o, "linux", "resources");
        ASSERT_EQ(json_object_get_int64(at(at(res, "memory", NULL), "limit", NULL)), 64 << 20);
        ASSERT_EQ(json_object_get_int64(at(at(res, "memory", NULL), "swap", NULL)), 128 << 20);
        ASSERT_EQ(json_object_get_int64(at(at(res, "cpu", NULL), "quota", NULL)), 50000);
        ASSERT_EQ(json_object_get_int64(at(at(res, "pids", NULL), "limit", NULL)), 50);
        ASSERT_TRUE(json_object_get_boolean(
                at(json_object_array_get_idx(at(res, "devices", NULL), 0), "allow", NULL)));
        ASSERT_STREQ(json_object_get_string(at(at(o, "annotations", NULL), "team", NULL)), "core");
}

TEST(capabilities_add_drop)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        char **caps = NULL;

        s->cap_add = strv_copy((char *const[]){(char *)"net_admin", (char *)"CAP_SYS_PTRACE", NULL});
        s->cap_drop = strv_copy((char *const[]){(char *)"NET_RAW", (char *)"chown", NULL});
        ASSERT_OK(ocispec_capabilities(s, &caps));
        ASSERT_TRUE(strv_contains(caps, "CAP_NET_ADMIN"));
        ASSERT_TRUE(strv_contains(caps, "CAP_SYS_PTRACE"));
        ASSERT_FALSE(strv_contains(caps, "CAP_NET_RAW"));
        ASSERT_FALSE(strv_contains(caps, "CAP_CHOWN"));
        ASSERT_EQ(strv_length(caps), 14);
        strv_free(caps);
        strv_free(s->cap_drop);
        s->cap_drop = strv_copy((char *const[]){(char *)"ALL", NULL});
        strv_free(s->cap_add);
        s->cap_add = strv_copy((char *const[]){(char *)"KILL", NULL});
        ASSERT_OK(ocispec_capabilities(s, &caps));
        ASSERT_EQ(strv_length(caps), 1);
        strv_free(caps);
        strv_free(s->cap_add);
        s->cap_add = strv_copy((char *const[]){(char *)"CAP_FLY", NULL});
        ASSERT_ERR(ocispec_capabilities(s, &caps), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "CAP_FLY");
}

TEST(user_mounts)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *o = NULL;

        ASSERT_OK(runspec_add_volume(s, "/host:/data:ro"));
        ASSERT_OK(runspec_add_tmpfs(s, "/dev/shm:size=1m"));
        mount_sources[0] = (char *)"/host";
        mount_sources[1] = NULL;
        o = build(s, image(), NULL);
        mount_sources[0] = NULL;
        ASSERT_TRUE(o != NULL);
        ASSERT_TRUE(has_mount(o, "/data", "bind"));
        /* The user's /dev/shm replaces the default one rather than stacking on it. */
        {
                struct json_object *m = at(o, "mounts", NULL);
                int shm = 0;
                for (size_t i = 0; i < json_object_array_length(m); i++)
                        shm += streq(json_object_get_string(
                                             at(json_object_array_get_idx(m, i), "destination", NULL)),
                                     "/dev/shm");
                ASSERT_EQ(shm, 1);
        }
}

TEST(seccomp_profile_conditions)
{
        _cleanup_json_ struct json_object *plain = NULL, *admin = NULL;
        char *caps[] = {(char *)"CAP_CHOWN", NULL}, *admin_caps[] = {(char *)"CAP_SYS_ADMIN", NULL};
        bool clone_masked = false, clone3_enosys = false, mount_allowed = false;
        struct json_object *rules;

        ASSERT_OK(seccomp_profile_default(caps, &plain));
        ASSERT_OK(seccomp_profile_default(admin_caps, &admin));
        ASSERT_TRUE(array_has(at(plain, "architectures", NULL), "SCMP_ARCH_X86"));
        rules = at(plain, "syscalls", NULL);
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                struct json_object *r = json_object_array_get_idx(rules, i), *names = at(r, "names", NULL);
                if (array_has(names, "clone") && at(r, "args", NULL))
                        clone_masked = true;
                if (array_has(names, "clone3") &&
                    streq(json_object_get_string(at(r, "action", NULL)), "SCMP_ACT_ERRNO"))
                        clone3_enosys = json_object_get_int(at(r, "errnoRet", NULL)) == 38;
                if (array_has(names, "mount"))
                        mount_allowed = true;
                ASSERT_FALSE(array_has(names, "ptrace"));
                ASSERT_FALSE(array_has(names, "keyctl"));
        }
        ASSERT_TRUE(clone_masked);
        ASSERT_TRUE(clone3_enosys);
        ASSERT_FALSE(mount_allowed);
        rules = at(admin, "syscalls", NULL);
        mount_allowed = false;
        for (size_t i = 0; i < json_object_array_length(rules); i++)
                if (array_has(at(json_object_array_get_idx(rules, i), "names", NULL), "mount"))
                        mount_allowed = true;
        ASSERT_TRUE(mount_allowed);
}

TEST(seccomp_default_names_exist)
{
        /* A misspelt name would be skipped silently by the runtime: every name must be a real system call.
         */
        _cleanup_json_ struct json_object *o = NULL;
        const char *text;
        size_t len;
        struct json_object *rules;

        ASSERT_OK(seccomp_profile_default_text(&text, &len));
        ASSERT_OK(json_parse_buffer(text, len, "default profile", &o));
        rules = at(o, "syscalls", NULL);
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                struct json_object *names = at(json_object_array_get_idx(rules, i), "names", NULL);
                for (size_t k = 0; k < json_object_array_length(names); k++) {
                        const char *n = json_object_get_string(json_object_array_get_idx(names, k));
                        /* libseccomp's architecture tokens are the AUDIT_ARCH_ values; -1 is
                         * __NR_SCMP_ERROR. */
                        if (seccomp_syscall_resolve_name_arch(AUDIT_ARCH_X86_64, n) == -1 &&
                            seccomp_syscall_resolve_name_arch(AUDIT_ARCH_I386, n) == -1 &&
                            seccomp_syscall_resolve_name_arch(AUDIT_ARCH_AARCH64, n) == -1)
                                TEST_FAIL(
                                        "the default seccomp profile names '%s', which no architecture has",
                                        n);
                }
        }
}

TEST(user_profiles)
{
        _cleanup_json_ struct json_object *o = NULL;
        char *caps[] = {NULL};
        const char *docker_style =
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
                "\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]}],\"syscalls\":["
                "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"name\":\"write\",\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_"
                "ADMIN\"]}}]}";

        ASSERT_OK(seccomp_profile_resolve(docker_style, strlen(docker_style), caps, &o));
        ASSERT_EQ(json_object_array_length(at(o, "syscalls", NULL)), 2);
        ASSERT_TRUE(array_has(at(o, "architectures", NULL), "SCMP_ARCH_X86_64"));
        json_object_put(o);
        o = NULL;
        ASSERT_ERR(seccomp_profile_resolve("{}", 2, caps, &o), -EINVAL);
        ASSERT_ERR(seccomp_profile_resolve("[", 1, caps, &o), -EINVAL);
        ASSERT_ERR(seccomp_profile_resolve(
                           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"x\"}]}", 62,
                           caps, &o),
                   -EINVAL);
}

TEST(users_from_passwd)
{
        const char *passwd =
                "root:x:0:0:root:/root:/bin/sh\nweb:x:33:44:www:/var/www:/bin/false\n#c:x:9:9::/:\n";
        const char *group = "root:x:0:\nwww:x:44:\nadm:x:4:web,other\naudio:x:29:web\nstaff:x:50:other\n";
        struct user_ids u = {};

        ASSERT_OK(user_resolve_text(passwd, group, NULL, &u));
        ASSERT_EQ(u.uid, 0);
        ASSERT_STREQ(u.home, "/root");
        user_ids_done(&u);
        ASSERT_OK(user_resolve_text(passwd, group, "web", &u));
        ASSERT_EQ(u.uid, 33);
        ASSERT_EQ(u.gid, 44);
        ASSERT_STREQ(u.home, "/var/www");
        ASSERT_EQ(u.n_gids, 2);
        ASSERT_EQ(u.gids[0], 4);
        ASSERT_EQ(u.gids[1], 29);
        user_ids_done(&u);
        ASSERT_OK(user_resolve_text(passwd, group, "web:staff", &u));
        ASSERT_EQ(u.gid, 50);
        user_ids_done(&u);
        ASSERT_OK(user_resolve_text(passwd, group, "1234:5", &u));
        ASSERT_EQ(u.uid, 1234);
        ASSERT_EQ(u.gid, 5);
        ASSERT_STREQ(u.home, "/");
        user_ids_done(&u);
        ASSERT_OK(user_resolve_text(NULL, NULL, "33", &u));
        ASSERT_EQ(u.gid, 0);
        user_ids_done(&u);
        ASSERT_ERR(user_resolve_text(passwd, group, "nobody", &u), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "unable to find user nobody");
        ASSERT_ERR(user_resolve_text(passwd, group, "web:nogroup", &u), -ENOENT);
        ASSERT_ERR(user_resolve_text(passwd, group, "web:", &u), -EINVAL);
        ASSERT_ERR(user_resolve_text(passwd, group, ":5", &u), -EINVAL);
}

TEST(exec_process)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *o = NULL, *p = NULL;
        char *args[] = {(char *)"ps", NULL}, *env[] = {(char *)"X=1", (char *)"A=exec", NULL};
        struct user_ids u = {.uid = 7, .gid = 8};

        o = build(s, image(), NULL);
        ASSERT_TRUE(o != NULL);
        ASSERT_OK(ocispec_exec_process(o, args, &u, "/tmp", env, true, &p));
        ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(at(p, "args", NULL), 0)), "ps");
        ASSERT_STREQ(json_object_get_string(at(p, "cwd", NULL)), "/tmp");
        ASSERT_EQ(json_object_get_int(at(at(p, "user", NULL), "uid", NULL)), 7);
        ASSERT_TRUE(array_has(at(p, "env", NULL), "X=1"));
        ASSERT_TRUE(array_has(at(p, "env", NULL), "A=exec"));
        ASSERT_FALSE(array_has(at(p, "env", NULL), "A=image"));
        ASSERT_TRUE(array_has(at(p, "env", NULL), "TERM=xterm"));
        ASSERT_TRUE(json_object_get_boolean(at(p, "terminal", NULL)));
        ASSERT_TRUE(at(p, "capabilities", NULL) != NULL);
}

TEST(vm_isolated_limits_as_for_a_container)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *plain = NULL, *vm = NULL;
        struct oci_config *cfg = NULL;
        struct vmiso_size sz;
        const char *text;

        /* -m 300m --memory-swap 600m --cpus 2 --pids-limit 100 */
        s->memory = 300 << 20;
        s->memory_swap = 600 << 20;
        s->pids_limit = 100;
        ASSERT_OK(runspec_set_cpus(s, "2"));
        plain = build(s, image(), NULL);
        s->isolation = strdup("vm");
        vm = build(s, image(), NULL);
        ASSERT_TRUE(plain && vm);
        /* --isolation vm gives hull-runtime the same linux.resources, which then size the VM */
        ASSERT_STREQ(json_object_to_json_string(at(vm, "linux", "resources")),
                     json_object_to_json_string(at(plain, "linux", "resources")));
        ASSERT_STREQ(json_object_get_string(at(at(vm, "annotations", NULL), "io.hull.isolation", NULL)),
                     "vm");
        text = json_to_string(vm);
        ASSERT_OK(config_parse(text, strlen(text), &cfg));
        ASSERT_OK(vmiso_size(cfg, &VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, 300 - 112 - 2 * 16);
        ASSERT_EQ(sz.cpus, 2);
        config_free(cfg);
}
