/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-cgroup.c - unit tests for src/runtime/cgroup*.c that need no root: path rules, layout
 * detection from mountinfo text, unit conversions, the v1 device rule model, and the generated
 * eBPF device program (its instruction stream, and its answers, computed by a small interpreter of
 * the instructions the generator uses and compared with the v1 kernel's rules). One test loads the
 * programs into the kernel verifier and skips without root.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <linux/bpf.h>

#include "cgroup-internal.h"
#include "error.h"
#include "util.h"
#include "test.h"

static char *norm(const char *in, const char *id, bool *rel)
{
        char *out = NULL;
        bool r = false;
        if (cgroup_path_normalize(in, id, &out, &r) < 0)
                return NULL;
        if (rel)
                *rel = r;
        return out;
}

TEST(path_rules)
{
        char *p;
        bool rel;

        p = norm(NULL, "abc", &rel);
        ASSERT_STREQ(p, "/abc");
        ASSERT_FALSE(rel);
        free(p);
        p = norm("", "abc", &rel);
        ASSERT_STREQ(p, "/abc");
        free(p);
        p = norm("/hull//abc/", "x", &rel);
        ASSERT_STREQ(p, "/hull/abc");
        ASSERT_FALSE(rel);
        free(p);
        p = norm("pod1/ctr", "x", &rel);
        ASSERT_STREQ(p, "/pod1/ctr");
        ASSERT_TRUE(rel);
        free(p);
        /* a colon alone is a legal cgroup name; the systemd form has exactly two and is relative */
        p = norm("/a:b:c", "x", &rel);
        ASSERT_STREQ(p, "/a:b:c");
        free(p);

        err_clear();
        ASSERT_ERR(cgroup_path_normalize("system.slice:hull:abc", "x", &p, &rel), -EOPNOTSUPP);
        ASSERT_CONTAINS(err_msg(-EOPNOTSUPP), "linux.cgroupsPath: systemd cgroup path 'system.slice:hull:abc'");
        ASSERT_ERR(cgroup_path_normalize("/a/../b", "x", &p, &rel), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "'/a/../b'");
        ASSERT_ERR(cgroup_path_normalize("/a/./b", "x", &p, &rel), -EINVAL);
        ASSERT_ERR(cgroup_path_normalize("///", "x", &p, &rel), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "hierarchy root");
        ASSERT_ERR(cgroup_path_normalize(NULL, "a/b", &p, &rel), -EINVAL);
        ASSERT_ERR(cgroup_path_normalize(NULL, "..", &p, &rel), -EINVAL);
        ASSERT_ERR(cgroup_path_normalize(NULL, NULL, &p, &rel), -EINVAL);

        p = cgroup_path_join("/", "/a");
        ASSERT_STREQ(p, "/a");
        free(p);
        p = cgroup_path_join("/user/1", "/a/b");
        ASSERT_STREQ(p, "/user/1/a/b");
        free(p);
}

/* This machine's layout: v1 controllers, name=systemd, and a cgroup2 mount at unified. */
static const char hybrid_mountinfo[] =
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "36 31 0:33 /sub /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "37 31 0:34 / /sys/fs/cgroup/net\\040cls rw,relatime - cgroup cgroup rw,net_cls,net_prio\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
        "42 31 0:39 / /sys/fs/cgroup/elogind rw,relatime - cgroup cgroup rw,name=elogind\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
        "50 35 0:32 / /sys/fs/cgroup/memory/nested rw,relatime - cgroup cgroup rw,memory\n"
        "60 27 0:50 / /other/cgroup rw - cgroup cgroup rw,freezer\n";

static const struct cgroup_layout_mount *find(const struct cgroup_layout *l, const char *mount)
{
        for (size_t i = 0; i < l->n_mounts; i++)
                if (streq(l->mounts[i].mount, mount))
                        return &l->mounts[i];
        return NULL;
}

TEST(layout_hybrid)
{
        struct cgroup_layout *l = NULL;
        const struct cgroup_layout_mount *m;
        char *own = NULL;

        ASSERT_OK(cgroup_layout_parse("/sys/fs/cgroup/", false, hybrid_mountinfo, &l));
        ASSERT_EQ(l->mode, CGROUP_MODE_V1);
        ASSERT_STREQ(l->root, "/sys/fs/cgroup");
        /* cpu,cpuacct + cpuset + memory + pids + net + systemd + unified; not elogind, not nested, not /other */
        ASSERT_EQ(l->n_mounts, 7);
        m = find(l, "/sys/fs/cgroup/cpu,cpuacct");
        ASSERT_TRUE(m);
        ASSERT_STREQ(m->name, "cpu,cpuacct");
        ASSERT_EQ(m->mask, CGROUP_MASK(CGROUP_CPU) | CGROUP_MASK(CGROUP_CPUACCT));
        m = find(l, "/sys/fs/cgroup/cpuset");
        ASSERT_STREQ(m->name, "cpuset");
        m = find(l, "/sys/fs/cgroup/net cls");
        ASSERT_TRUE(m);
        ASSERT_STREQ(m->name, "net_cls,net_prio");
        m = find(l, "/sys/fs/cgroup/systemd");
        ASSERT_STREQ(m->name, "name=systemd");
        ASSERT_EQ(m->mask, CGROUP_MASK(CGROUP_NAME_SYSTEMD));
        m = find(l, "/sys/fs/cgroup/unified");
        ASSERT_TRUE(m && m->v2);

        const char self[] = "12:pids:/sub/user/5\n"
                            "9:name=systemd:/init.scope\n"
                            "4:memory:/process_api/5e65\n"
                            "2:cpu,cpuacct:/\n"
                            "0::/init.scope\n";
        ASSERT_OK(cgroup_own_path(self, find(l, "/sys/fs/cgroup/memory"), &own));
        ASSERT_STREQ(own, "/process_api/5e65");
        free(own);
        ASSERT_OK(cgroup_own_path(self, find(l, "/sys/fs/cgroup/cpu,cpuacct"), &own));
        ASSERT_STREQ(own, "/");
        free(own);
        /* the pids mount shows the subtree /sub: the own path is taken relative to it */
        ASSERT_OK(cgroup_own_path(self, find(l, "/sys/fs/cgroup/pids"), &own));
        ASSERT_STREQ(own, "/user/5");
        free(own);
        ASSERT_OK(cgroup_own_path(self, find(l, "/sys/fs/cgroup/unified"), &own));
        ASSERT_STREQ(own, "/init.scope");
        free(own);
        ASSERT_ERR(cgroup_own_path(self, find(l, "/sys/fs/cgroup/cpuset"), &own), -ENOENT);
        cgroup_layout_free(l);
}

TEST(layout_v2_and_none)
{
        struct cgroup_layout *l = NULL;

        ASSERT_OK(cgroup_layout_parse("/sys/fs/cgroup", true,
                                      "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", &l));
        ASSERT_EQ(l->mode, CGROUP_MODE_V2);
        ASSERT_EQ(l->n_mounts, 1);
        ASSERT_TRUE(l->mounts[0].v2);
        cgroup_layout_free(l);

        err_clear();
        ASSERT_ERR(cgroup_layout_parse("/sys/fs/cgroup", false, "22 27 0:21 / /proc rw - proc proc rw\n", &l),
                   -ENOMEDIUM);
        ASSERT_CONTAINS(err_msg(-ENOMEDIUM), "no cgroup hierarchy is mounted at '/sys/fs/cgroup'");
        /* only a cgroup2 below a tmpfs root: nothing v1 can use */
        ASSERT_ERR(cgroup_layout_parse("/sys/fs/cgroup", false,
                                       "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n", &l),
                   -ENOMEDIUM);
}

TEST(controllers_and_keyed)
{
        uint64_t v;

        ASSERT_EQ(cgroup_controller_mask("cpuset cpu io memory hugetlb pids rdma misc\n", ' '),
                  CGROUP_MASK(CGROUP_CPUSET) | CGROUP_MASK(CGROUP_CPU) | CGROUP_MASK(CGROUP_BLKIO) |
                          CGROUP_MASK(CGROUP_MEMORY) | CGROUP_MASK(CGROUP_HUGETLB) | CGROUP_MASK(CGROUP_PIDS) |
                          CGROUP_MASK(CGROUP_RDMA) | CGROUP_MASK(CGROUP_MISC));
        ASSERT_EQ(cgroup_controller_mask("", ' '), 0);
        ASSERT_EQ(cgroup_controller_from_string("bogus"), _CGROUP_CONTROLLER_INVALID);

        const char events[] = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        ASSERT_OK(cg_keyed_u64(events, "oom_kill", &v));
        ASSERT_EQ(v, 2);
        ASSERT_OK(cg_keyed_u64(events, "oom", &v));
        ASSERT_EQ(v, 3);
        ASSERT_OK(cg_keyed_u64(events, "max", &v));
        ASSERT_EQ(v, 12);
        ASSERT_ERR(cg_keyed_u64(events, "oom_kil", &v), -ENOENT);
        ASSERT_OK(cg_keyed_u64("rbps max\n", "rbps", &v));
        ASSERT_TRUE(v == UINT64_MAX);
}

TEST(conversions)
{
        int64_t v;

        /* cpu.shares -> cpu.weight, runc's map: 2 -> 1, 1024 -> 39, 262144 -> 10000 */
        ASSERT_EQ(cgroup_cpu_shares_to_weight(2), 1);
        ASSERT_EQ(cgroup_cpu_shares_to_weight(1024), 39);
        ASSERT_EQ(cgroup_cpu_shares_to_weight(512), 20);
        ASSERT_EQ(cgroup_cpu_shares_to_weight(262144), 10000);
        ASSERT_EQ(cgroup_cpu_shares_to_weight(0), 1);
        ASSERT_EQ(cgroup_cpu_shares_to_weight(1000000), 10000);

        ASSERT_EQ(cgroup_blkio_weight_to_io_weight(10), 1);
        ASSERT_EQ(cgroup_blkio_weight_to_io_weight(500), 4950);
        ASSERT_EQ(cgroup_blkio_weight_to_io_weight(1000), 10000);
        ASSERT_EQ(cgroup_blkio_weight_to_io_weight(1), 1);

        /* memory.swap (memory + swap) -> memory.swap.max (swap alone) */
        ASSERT_OK(cgroup_swap_to_v2(100 << 20, 300 << 20, &v));
        ASSERT_EQ(v, 200 << 20);
        ASSERT_OK(cgroup_swap_to_v2(100 << 20, 100 << 20, &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(cgroup_swap_to_v2(100 << 20, -1, &v));
        ASSERT_EQ(v, -1);
        ASSERT_OK(cgroup_swap_to_v2(-1, -1, &v));
        ASSERT_EQ(v, -1);
        err_clear();
        ASSERT_ERR(cgroup_swap_to_v2(200 << 20, 100 << 20, &v), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "linux.resources.memory.swap: 104857600 is below memory.limit 209715200");
        ASSERT_ERR(cgroup_swap_to_v2(-1, 100 << 20, &v), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "needs a memory limit");
        ASSERT_ERR(cgroup_swap_to_v2(100, -5, &v), -EINVAL);
}

/*
 * A fake cgroup2 tree of regular files: each level's cgroup.controllers is what the test says its
 * parent hands down (the kernel would derive it), cgroup.subtree_control starts empty and records
 * what the runtime wrote.
 */
static void put(int dfd, const char *file, const char *text)
{
        _cleanup_close_ int fd = openat(dfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                TEST_FAIL("write %s: %m", file);
}

static void fake_level(int dfd, const char *dir, const char *controllers, const char *subtree)
{
        char p[256];

        if (*dir && mkdirat(dfd, dir, 0755) < 0 && errno != EEXIST)
                TEST_FAIL("mkdir %s: %m", dir);
        snprintf(p, sizeof(p), "%s%scgroup.controllers", dir, *dir ? "/" : "");
        put(dfd, p, controllers);
        snprintf(p, sizeof(p), "%s%scgroup.subtree_control", dir, *dir ? "/" : "");
        put(dfd, p, subtree);
}

/* The file's content is want (the test ends at the first mismatch; its buffer is then lost). */
static void expect_file(int dfd, const char *file, const char *want)
{
        char *s = NULL;
        if (cg_read(dfd, file, &s) < 0)
                TEST_FAIL("read %s", file);
        ASSERT_STREQ(s, want);
        free(s);
}

/* A fake root, parent "pre" and leaf "pre/leaf": (controllers, subtree_control) of each. */
static void fake_tree(int dfd, const char *root_c, const char *root_s, const char *pre_c, const char *pre_s,
                      const char *leaf_c)
{
        fake_level(dfd, "", root_c, root_s);
        fake_level(dfd, "pre", pre_c, pre_s);
        fake_level(dfd, "pre/leaf", leaf_c, "");
}

TEST(v2_enable_controllers_top_down)
{
        char dir[] = "/tmp/hull-test-cgroup-XXXXXX";
        _cleanup_close_ int dfd = -EBADF;
        const unsigned hugetlb = CGROUP_MASK(CGROUP_HUGETLB);

        if (!mkdtemp(dir))
                TEST_FAIL("mkdtemp: %m");
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);

        /* A parent made by someone else that hands nothing down: every level above the leaf gets
         * what its own parent offers, the root first. */
        fake_tree(dfd, "cpuset cpu io memory pids\n", "", "cpuset cpu io memory pids\n", "", "");
        ASSERT_OK(cgroup_v2_enable_controllers(dfd, "/pre/leaf", ~0u, false));
        expect_file(dfd, "cgroup.subtree_control", "+cpu +cpuset +memory +io +pids");
        expect_file(dfd, "pre/cgroup.subtree_control", "+cpu +cpuset +memory +io +pids");
        expect_file(dfd, "pre/leaf/cgroup.subtree_control", "");

        /* Only what is missing is written; a level that has it all is left alone. */
        fake_tree(dfd, "cpu memory pids\n", "cpu memory pids\n", "cpu memory pids\n", "memory\n", "memory\n");
        ASSERT_OK(cgroup_v2_enable_controllers(dfd, "/pre/leaf", ~0u, false));
        expect_file(dfd, "cgroup.subtree_control", "cpu memory pids\n");
        expect_file(dfd, "pre/cgroup.subtree_control", "+cpu +pids");

        /* The leaf offers everything the root has: nothing is written. */
        fake_tree(dfd, "cpu memory pids\n", "", "cpu memory pids\n", "", "cpu memory pids\n");
        ASSERT_OK(cgroup_v2_enable_controllers(dfd, "/pre/leaf", ~0u, false));
        expect_file(dfd, "cgroup.subtree_control", "");
        expect_file(dfd, "pre/cgroup.subtree_control", "");

        /* One controller on request (hybrid hugetlb); one the root lacks is not asked of anyone. */
        fake_tree(dfd, "hugetlb\n", "", "hugetlb\n", "", "");
        ASSERT_OK(cgroup_v2_enable_controllers(dfd, "/pre/leaf", CGROUP_MASK(CGROUP_MEMORY), true));
        expect_file(dfd, "cgroup.subtree_control", "");
        ASSERT_OK(cgroup_v2_enable_controllers(dfd, "/pre/leaf", hugetlb, true));
        expect_file(dfd, "pre/cgroup.subtree_control", "+hugetlb");

        /* strict: a level that cannot be read is an error; otherwise it is skipped. */
        fake_level(dfd, "pre", "hugetlb\n", "");
        ASSERT_OK(unlinkat(dfd, "pre/cgroup.subtree_control", 0));
        ASSERT_ERR(cgroup_v2_enable_controllers(dfd, "/pre/leaf", hugetlb, true), -ENOENT);
        ASSERT_OK(cgroup_v2_enable_controllers(dfd, "/pre/leaf", hugetlb, false));
        ASSERT_OK(rm_rf(dir));
}

TEST(v2_init_path)
{
        char *p = NULL;

        /* exec joins where the container's init is when the container's cgroup hands controllers down */
        ASSERT_OK(cgroup_v2_init_path("0::/ctr/init.scope\n", "/ctr", &p));
        ASSERT_STREQ(p, "init.scope");
        free(p);
        ASSERT_OK(cgroup_v2_init_path("12:pids:/x\n1:name=systemd:/y\n0::/hull/ctr/a/b\n", "/hull/ctr", &p));
        ASSERT_STREQ(p, "a/b");
        free(p);
        /* not strictly below the container's cgroup, or no cgroup2 line: nothing to join */
        ASSERT_ERR(cgroup_v2_init_path("0::/ctr\n", "/ctr", &p), -ENOENT);
        ASSERT_ERR(cgroup_v2_init_path("0::/ctr2/init\n", "/ctr", &p), -ENOENT);
        ASSERT_ERR(cgroup_v2_init_path("0::/other\n", "/ctr", &p), -ENOENT);
        ASSERT_ERR(cgroup_v2_init_path("4:memory:/ctr/init\n", "/ctr", &p), -ENOENT);
        ASSERT_ERR(cgroup_v2_init_path("", "/ctr", &p), -ENOENT);
        /* a path that could climb out is refused */
        ASSERT_ERR(cgroup_v2_init_path("0::/ctr/../etc\n", "/ctr", &p), -EINVAL);
        ASSERT_ERR(cgroup_v2_init_path("0::/ctr//x\n", "/ctr", &p), -EINVAL);
        ASSERT_ERR(cgroup_v2_init_path("0::ctr/x\n", "/ctr", &p), -EINVAL);
}

TEST(clone_fd_is_the_cgroup2_hierarchy)
{
        struct cgroup *cg = calloc(1, sizeof(*cg));
        int fd, fd2;

        ASSERT_TRUE(cg);
        cg->hier = calloc(2, sizeof(*cg->hier));
        ASSERT_TRUE(cg->hier);
        cg->n_hier = 1;
        cg->hier[0].dfd = fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cg->hier[1].dfd = -EBADF;
        ASSERT_TRUE(fd >= 0);
        cg->mode = CGROUP_MODE_V2;
        cg->hier[0].v2 = true;
        ASSERT_EQ(cgroup_clone_fd(cg), fd);
        setenv("HULL_CGROUP_NO_CLONE_INTO", "1", 1);
        ASSERT_ERR(cgroup_clone_fd(cg), -EOPNOTSUPP);
        unsetenv("HULL_CGROUP_NO_CLONE_INTO");
        /* v1 alone: nothing to clone into */
        cg->mode = CGROUP_MODE_V1;
        cg->hier[0].v2 = false;
        ASSERT_ERR(cgroup_clone_fd(cg), -EOPNOTSUPP);
        /* hybrid: the cgroup2 hierarchy beside the v1 ones (they are joined through `tasks`) */
        cg->n_hier = 2;
        cg->hier[1].v2 = true;
        cg->hier[1].dfd = fd2 = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd2 >= 0);
        ASSERT_EQ(cgroup_clone_fd(cg), fd2);
        cgroup_free(cg);
}

static struct oci_device_rule rule(bool allow, char type, int64_t maj, int64_t min, const char *acc)
{
        struct oci_device_rule r = { .allow = allow, .type = type, .major = maj, .minor = min };
        snprintf(r.access, sizeof(r.access), "%s", acc);
        return r;
}

TEST(device_rules_format_and_check)
{
        char buf[64];
        struct oci_device_rule r = rule(true, 'c', 1, 3, "rwm");

        cgroup_dev_rule_format(&r, buf);
        ASSERT_STREQ(buf, "c 1:3 rwm");
        r = rule(false, 'b', -1, -1, "");
        cgroup_dev_rule_format(&r, buf);
        ASSERT_STREQ(buf, "b *:* rwm");
        r = rule(true, 'c', 136, -1, "rw");
        cgroup_dev_rule_format(&r, buf);
        ASSERT_STREQ(buf, "c 136:* rw");
        r = rule(false, 'a', 5, 5, "r");
        cgroup_dev_rule_format(&r, buf);
        ASSERT_STREQ(buf, "a *:* rwm");

        err_clear();
        r = rule(true, 'x', 1, 3, "r");
        ASSERT_ERR(cgroup_dev_rule_check(&r, 4), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "linux.resources.devices[4].type");
        r = rule(true, 'c', 1, 3, "rq");
        ASSERT_ERR(cgroup_dev_rule_check(&r, 0), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "linux.resources.devices[0].access");
        r = rule(true, 'c', 5000000000LL, 3, "r");
        ASSERT_ERR(cgroup_dev_rule_check(&r, 1), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "linux.resources.devices[1].major");
        r = rule(true, 'c', 1, -2, "r");
        ASSERT_ERR(cgroup_dev_rule_check(&r, 1), -EINVAL);
}

TEST(device_emulation)
{
        struct cgroup_dev_state s;

        /* no rules: deny by default, the runtime-spec default devices allowed */
        ASSERT_OK(cgroup_dev_emulate(NULL, 0, true, &s));
        ASSERT_FALSE(s.default_allow);
        ASSERT_EQ(s.n_ex, cgroup_n_default_device_rules);
        cgroup_dev_state_done(&s);

        /* allow all: the default allow rules then change nothing */
        struct oci_device_rule all[] = { rule(true, 'a', -1, -1, "rwm") };
        ASSERT_OK(cgroup_dev_emulate(all, 1, true, &s));
        ASSERT_TRUE(s.default_allow);
        ASSERT_EQ(s.n_ex, 0);
        cgroup_dev_state_done(&s);

        /* same device twice merges; a deny takes bits away; an "a" rule resets */
        struct oci_device_rule r[] = {
                rule(true, 'c', 10, 200, "r"), rule(true, 'c', 10, 200, "w"), rule(true, 'b', 7, -1, "rwm"),
                rule(false, 'b', 7, -1, "w"),  rule(false, 'c', 4, 0, "rwm"),
        };
        ASSERT_OK(cgroup_dev_emulate(r, ELEMENTSOF(r), false, &s));
        ASSERT_FALSE(s.default_allow);
        ASSERT_EQ(s.n_ex, 2);
        ASSERT_EQ(s.ex[0].type, 'c');
        ASSERT_EQ(s.ex[0].major, 10);
        ASSERT_EQ(s.ex[0].access, CGROUP_DEV_ACC_READ | CGROUP_DEV_ACC_WRITE);
        ASSERT_EQ(s.ex[1].type, 'b');
        ASSERT_TRUE(s.ex[1].minor == UINT32_MAX);
        ASSERT_EQ(s.ex[1].access, CGROUP_DEV_ACC_READ | CGROUP_DEV_ACC_MKNOD);
        cgroup_dev_state_done(&s);

        struct oci_device_rule r2[] = { rule(true, 'c', 10, 200, "rwm"), rule(false, 'a', -1, -1, "") };
        ASSERT_OK(cgroup_dev_emulate(r2, 2, false, &s));
        ASSERT_EQ(s.n_ex, 0);
        cgroup_dev_state_done(&s);

        /* allow by default: a deny adds an exception, an allow of the same device removes it */
        struct oci_device_rule r3[] = { rule(true, 'a', -1, -1, ""), rule(false, 'c', 1, 11, "rw"),
                                        rule(false, 'b', -1, -1, "m"), rule(true, 'c', 1, 11, "w") };
        ASSERT_OK(cgroup_dev_emulate(r3, 4, false, &s));
        ASSERT_TRUE(s.default_allow);
        ASSERT_EQ(s.n_ex, 2);
        ASSERT_EQ(s.ex[0].access, CGROUP_DEV_ACC_READ);
        cgroup_dev_state_done(&s);

        struct oci_device_rule bad[] = { rule(true, 'c', 1, 3, "r"), rule(true, 'z', 1, 3, "r") };
        err_clear();
        ASSERT_ERR(cgroup_dev_emulate(bad, 2, true, &s), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "devices[1].type");
}

/* ------------------------------------------------------------------ a tiny eBPF interpreter */

/* Runs the instruction subset cgroup_bpf_generate() emits; fails the test on anything else. */
static int run_prog(const struct bpf_insn *p, size_t n, uint32_t access_type, uint32_t major, uint32_t minor)
{
        uint64_t reg[11] = { 0 };
        uint32_t ctx[3] = { access_type, major, minor };

        for (size_t pc = 0, steps = 0; pc < n && steps < 10000; pc++, steps++) {
                const struct bpf_insn *i = &p[pc];
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W:
                        if (i->src_reg != 1 || i->off % 4 || i->off < 0 || i->off > 8)
                                return -100;
                        reg[i->dst_reg] = ctx[i->off / 4];
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        reg[i->dst_reg] = (uint32_t)reg[i->src_reg];
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] & (uint32_t)i->imm;
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] >> i->imm;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = (uint64_t)(int64_t)i->imm;
                        break;
                case BPF_JMP32 | BPF_JNE | BPF_K:
                        if ((uint32_t)reg[i->dst_reg] != (uint32_t)i->imm)
                                pc += (size_t)i->off;
                        break;
                case BPF_JMP32 | BPF_JEQ | BPF_K:
                        if ((uint32_t)reg[i->dst_reg] == (uint32_t)i->imm)
                                pc += (size_t)i->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int)reg[0];
                default:
                        return -101;
                }
        }
        return -102; /* fell off the end */
}

/* The v1 kernel's answer for state s (security/device_cgroup.c match_exception{,_partial}). */
static bool v1_answer(const struct cgroup_dev_state *s, char type, uint32_t maj, uint32_t min, uint8_t acc)
{
        for (size_t i = 0; i < s->n_ex; i++) {
                const struct cgroup_dev_exception *e = &s->ex[i];
                if (e->type != type || (e->major != UINT32_MAX && e->major != maj) ||
                    (e->minor != UINT32_MAX && e->minor != min))
                        continue;
                if (s->default_allow ? (acc & e->access) != 0 : (acc & ~e->access) == 0)
                        return !s->default_allow;
        }
        return s->default_allow;
}

static void check_program_matches_model(const struct oci_device_rule *rules, size_t n, bool defaults)
{
        static const uint32_t majors[] = { 0, 1, 4, 5, 7, 10, 136, 254, 0xfff };
        static const uint32_t minors[] = { 0, 1, 2, 3, 5, 7, 8, 9, 11, 200, 0xfffff };
        struct cgroup_dev_state s;
        struct bpf_insn *p = NULL;
        size_t np;

        ASSERT_OK(cgroup_dev_emulate(rules, n, defaults, &s));
        ASSERT_OK(cgroup_bpf_generate(&s, &p, &np));
        for (int t = 0; t < 2; t++)
                for (size_t a = 0; a < ELEMENTSOF(majors); a++)
                        for (size_t b = 0; b < ELEMENTSOF(minors); b++)
                                for (uint8_t acc = 1; acc < 8; acc++) {
                                        char type = t ? 'b' : 'c';
                                        uint32_t at = ((uint32_t)acc << 16) |
                                                      (t ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
                                        int got = run_prog(p, np, at, majors[a], minors[b]);
                                        bool want = v1_answer(&s, type, majors[a], minors[b], acc);
                                        if (got != (want ? 1 : 0)) {
                                                free(p);
                                                cgroup_dev_state_done(&s);
                                                TEST_FAIL("%c %u:%u access %u: program says %d, v1 says %d", type,
                                                          majors[a], minors[b], acc, got, want);
                                        }
                                }
        free(p);
        cgroup_dev_state_done(&s);
}

TEST(bpf_instruction_stream)
{
        struct cgroup_dev_state s = { .default_allow = false };
        struct cgroup_dev_exception ex = { 'c', 1, 3, CGROUP_DEV_ACC_READ | CGROUP_DEV_ACC_WRITE };
        struct bpf_insn *p = NULL;
        size_t n;

        s.ex = &ex;
        s.n_ex = 1;
        ASSERT_OK(cgroup_bpf_generate(&s, &p, &n));
        ASSERT_EQ(n, 6 + 8 + 2);
        /* prologue: access_type, type, access, major, minor */
        ASSERT_EQ(p[0].code, BPF_LDX | BPF_MEM | BPF_W);
        ASSERT_EQ(p[0].off, 0);
        ASSERT_EQ(p[2].code, BPF_ALU | BPF_AND | BPF_K);
        ASSERT_EQ(p[2].imm, 0xffff);
        ASSERT_EQ(p[3].code, BPF_ALU | BPF_RSH | BPF_K);
        ASSERT_EQ(p[3].imm, 16);
        ASSERT_EQ(p[4].off, 4);
        ASSERT_EQ(p[5].off, 8);
        /* block: type, major, minor compares jump past the block */
        ASSERT_EQ(p[6].code, BPF_JMP32 | BPF_JNE | BPF_K);
        ASSERT_EQ(p[6].imm, BPF_DEVCG_DEV_CHAR);
        ASSERT_EQ(p[6].off, 7);
        ASSERT_EQ(p[7].imm, 1);
        ASSERT_EQ(p[7].off, 6);
        ASSERT_EQ(p[8].imm, 3);
        ASSERT_EQ(p[8].off, 5);
        /* access: requested bits outside "rw" (only m) make it skip */
        ASSERT_EQ(p[10].imm, CGROUP_DEV_ACC_MKNOD);
        ASSERT_EQ(p[12].code, BPF_ALU64 | BPF_MOV | BPF_K);
        ASSERT_EQ(p[12].imm, 1);
        ASSERT_EQ(p[13].code, BPF_JMP | BPF_EXIT);
        /* default deny */
        ASSERT_EQ(p[14].imm, 0);
        ASSERT_EQ(p[15].code, BPF_JMP | BPF_EXIT);
        free(p);

        /* allow by default, wildcard minor: two compares, the deny block returns 0 */
        s.default_allow = true;
        ex = (struct cgroup_dev_exception){ 'b', 8, UINT32_MAX, CGROUP_DEV_ACC_WRITE };
        ASSERT_OK(cgroup_bpf_generate(&s, &p, &n));
        ASSERT_EQ(n, 6 + 7 + 2);
        ASSERT_EQ(p[6].imm, BPF_DEVCG_DEV_BLOCK);
        ASSERT_EQ(p[6].off, 6);
        ASSERT_EQ(p[7].imm, 8);
        ASSERT_EQ(p[7].off, 5);
        ASSERT_EQ(p[9].imm, CGROUP_DEV_ACC_WRITE);
        ASSERT_EQ(p[10].code, BPF_JMP32 | BPF_JEQ | BPF_K);
        ASSERT_EQ(p[11].imm, 0);
        ASSERT_EQ(p[13].imm, 1);
        free(p);
}

TEST(bpf_program_answers_like_v1)
{
        check_program_matches_model(NULL, 0, true);

        struct oci_device_rule deny_all_then[] = {
                rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 10, 200, "rw"), rule(true, 'b', 7, -1, "r"),
                rule(true, 'c', -1, -1, "m"),    rule(true, 'b', -1, -1, "m"),
        };
        check_program_matches_model(deny_all_then, ELEMENTSOF(deny_all_then), true);

        struct oci_device_rule privileged[] = { rule(true, 'a', -1, -1, "rwm") };
        check_program_matches_model(privileged, 1, true);

        struct oci_device_rule blacklist[] = {
                rule(true, 'a', -1, -1, ""), rule(false, 'c', 1, 11, "rw"), rule(false, 'b', 254, -1, "w"),
                rule(false, 'c', -1, 5, "m"), rule(true, 'c', 1, 11, "w"),
        };
        check_program_matches_model(blacklist, ELEMENTSOF(blacklist), false);

        struct oci_device_rule split[] = { rule(true, 'c', 4, 0, "r"), rule(true, 'c', 4, 0, "w"),
                                           rule(false, 'c', 1, 3, "w") };
        check_program_matches_model(split, ELEMENTSOF(split), true);
        check_program_matches_model(split, ELEMENTSOF(split), false);
}

TEST(bpf_kernel_verifier)
{
        struct oci_device_rule sets[][3] = {
                { rule(true, 'c', 10, 200, "rwm"), rule(true, 'b', 7, -1, "r"), rule(false, 'c', 1, 3, "w") },
                { rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 11, "rw"), rule(false, 'b', -1, -1, "m") },
        };

        if (geteuid() != 0)
                SKIP("loading a BPF_PROG_TYPE_CGROUP_DEVICE program needs root");
        for (size_t k = 0; k < ELEMENTSOF(sets); k++) {
                struct cgroup_dev_state s;
                struct bpf_insn *p = NULL;
                size_t n;
                int fd = -1, r;

                ASSERT_OK(cgroup_dev_emulate(sets[k], 3, true, &s));
                ASSERT_OK(cgroup_bpf_generate(&s, &p, &n));
                cgroup_dev_state_done(&s);
                err_clear();
                r = cgroup_bpf_load(p, n, &fd);
                free(p);
                if (r == -ENOSYS || r == -EPERM)
                        SKIP("bpf(2) is not available to this process");
                if (r < 0)
                        TEST_FAIL("verifier refused set %zu: %s", k, err_msg(r));
                close(fd);
        }
}
