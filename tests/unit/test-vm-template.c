/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vm-template.c - the cache of microVM templates (src/runtime/vm-template.c): the key
 * changes with each thing a snapshot depends on and with nothing else; a hit holds its
 * template (a shared lock) and refreshes it; eviction keeps the most recently used, never
 * one in use nor the one asked to keep, and removes the left-overs of makers that died but
 * not those of a maker at work; the agent's protocol noted in a template reads back; a create's
 * plan boots with --snapshot-at-connect on a miss, --restore (its fallback the miss's command
 * line) on a hit, and cold when the annotation, the environment or shares say so. No root, no KVM:
 * templates here are directories made by hand, as hull-vmm would make them.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "test.h"
#include "util.h"
#include "vm-isolation.h"

static char tmp[] = "/tmp/hull-test-vm-template.XXXXXX";
static bool made;

/* The test's directory, made on first use. */
static const char *tmpdir(void)
{
        if (!made) {
                ASSERT_TRUE(mkdtemp(tmp) != NULL);
                made = true;
        }
        return tmp;
}

#define path(...) test_path(tmpdir(), __VA_ARGS__)

static void set_mtime(const char *p, time_t sec)
{
        struct timespec t[2] = {{sec, 0}, {sec, 0}};
        ASSERT_OK(utimensat(AT_FDCWD, p, t, 0));
}

static bool exists(const char *p)
{
        return access(p, F_OK) == 0;
}

static struct vmiso_template_spec spec(void)
{
        test_write_text(path("vmm"), "hull-vmm");
        test_write_text(path("vmlinuz"), "kernel");
        test_write_text(path("agent.cpio"), "initrd");
        return (struct vmiso_template_spec){.vmm = path("vmm"),
                                            .kernel = path("vmlinuz"),
                                            .initrd = path("agent.cpio"),
                                            .cmdline = "console=ttyS0 quiet hull.agent=vsock:1024",
                                            .cpus = 1,
                                            .memory_mib = 256,
                                            .n_disks = 1};
}

/* A key of 64 hex digits, distinct from `other` when given. */
static void key_of(const struct vmiso_template_spec *sp, char key[SHA256_HEX_LEN + 1])
{
        ASSERT_OK(vmiso_template_key(sp, key));
        ASSERT_EQ(strlen(key), SHA256_HEX_LEN);
}

TEST(key_stable_and_changes_with_each_input)
{
        struct vmiso_template_spec sp = spec(), v;
        char k0[SHA256_HEX_LEN + 1], k[SHA256_HEX_LEN + 1];

        key_of(&sp, k0);
        key_of(&sp, k);
        ASSERT_STREQ(k, k0);

#define CHANGED(field, value)               \
        do {                                \
                v = sp;                     \
                v.field = value;            \
                key_of(&v, k);              \
                ASSERT_FALSE(streq(k, k0)); \
        } while (0)
        CHANGED(cmdline, "console=ttyS0 quiet hull.agent=vsock:1024 hull.debug=1");
        CHANGED(cpus, 2);
        CHANGED(memory_mib, 512);
        CHANGED(n_disks, 2);
        CHANGED(n_nics, 1);
        CHANGED(n_shares, 1);
        /* Another file of the same content is another kernel. */
        test_write_text(path("vmlinuz2"), "kernel");
        CHANGED(kernel, path("vmlinuz2"));
#undef CHANGED
        /* A device moved from one kind to another is another machine, though the total is the same. */
        v = sp;
        v.n_disks = 0;
        v.n_nics = 1;
        key_of(&v, k);
        ASSERT_FALSE(streq(k, k0));

        /* A rebuilt initramfs (new mtime and size) is a new template; so is a touched VMM. */
        test_write_text(path("agent.cpio"), "initrd, rebuilt");
        key_of(&sp, k);
        ASSERT_FALSE(streq(k, k0));
        key_of(&sp, k0);
        set_mtime(path("vmm"), 1000000);
        key_of(&sp, k);
        ASSERT_FALSE(streq(k, k0));
}

TEST(key_of_missing_file_names_it)
{
        struct vmiso_template_spec sp = spec();
        char k[SHA256_HEX_LEN + 1];

        sp.initrd = path("no-such-initrd");
        ASSERT_ERR(vmiso_template_key(&sp, k), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "no-such-initrd");
}

/* A template as hull-vmm leaves it: <cache>/<key>/ with a file, its mtime `age` seconds ago. */
static void make_template(const char *cache, char key[SHA256_HEX_LEN + 1], int n, time_t age)
{
        snprintf(key, SHA256_HEX_LEN + 1, "%064x", n);
        ASSERT_OK(mkdir_p(path("%s/%s", cache, key), 0700));
        test_write_text(path("%s/%s/memory", cache, key), "guest RAM");
        set_mtime(path("%s/%s", cache, key), time(NULL) - age);
}

TEST(open_hit_miss_and_lock)
{
        char k[SHA256_HEX_LEN + 1];
        int fd = -EBADF, fd2 = -EBADF;
        struct stat st;

        ASSERT_OK(mkdir_p(path("c1"), 0700));
        make_template("c1", k, 1, 3600);
        ASSERT_EQ(vmiso_template_open(path("c1"),
                                      "00000000000000000000000000000000000000000000000000000000000000ff",
                                      &fd),
                  0);
        ASSERT_EQ(fd, -EBADF);
        ASSERT_EQ(vmiso_template_open(path("c1"), k, &fd), 1);
        ASSERT_TRUE(fd >= 0);
        /* A hit is a use: the directory's mtime is now. */
        ASSERT_OK(stat(path("c1/%s", k), &st));
        ASSERT_TRUE(time(NULL) - st.st_mtim.tv_sec < 60);
        /* Held: an exclusive lock (what eviction takes) is refused while fd is open; two VMs share it. */
        ASSERT_EQ(vmiso_template_open(path("c1"), k, &fd2), 1);
        int probe = open(path("c1/%s", k), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(probe >= 0);
        ASSERT_TRUE(flock(probe, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
        close(fd);
        close(fd2);
        ASSERT_OK(flock(probe, LOCK_EX | LOCK_NB));
        /* Being evicted (the lock taken exclusively): a miss, not a wait. */
        ASSERT_EQ(vmiso_template_open(path("c1"), k, &fd), 0);
        close(probe);
        /* A missing cache is a miss too. */
        ASSERT_EQ(vmiso_template_open(path("no-cache"), k, &fd), 0);
}

TEST(evict_lru_not_in_use_not_kept)
{
        char k[6][SHA256_HEX_LEN + 1];
        int held = -EBADF;

        ASSERT_OK(mkdir_p(path("c2"), 0700));
        /* k[0] oldest ... k[5] newest */
        for (int i = 0; i < 6; i++)
                make_template("c2", k[i], i + 1, 1000 - i * 100);
        /* k[0], the oldest, is in use by a VM; k[1] is the one this create restores. */
        int fd;
        ASSERT_EQ(vmiso_template_open(path("c2"), k[0], &held), 1);
        set_mtime(path("c2/%s", k[0]), time(NULL) - 5000);
        ASSERT_OK(vmiso_template_evict(path("c2"), 3, k[1]));
        /* Over by 3: k[0] held and k[1] kept, so k[2], k[3], k[4] go; k[5] is the newest. */
        ASSERT_TRUE(exists(path("c2/%s", k[0])));
        ASSERT_TRUE(exists(path("c2/%s", k[1])));
        ASSERT_FALSE(exists(path("c2/%s", k[2])));
        ASSERT_FALSE(exists(path("c2/%s", k[3])));
        ASSERT_FALSE(exists(path("c2/%s", k[4])));
        ASSERT_TRUE(exists(path("c2/%s", k[5])));
        /* The VM that held k[0] ended: now it goes first. */
        close(held);
        ASSERT_OK(vmiso_template_evict(path("c2"), 2, NULL));
        ASSERT_FALSE(exists(path("c2/%s", k[0])));
        ASSERT_TRUE(exists(path("c2/%s", k[1])));
        ASSERT_TRUE(exists(path("c2/%s", k[5])));
        /* Nothing but whole templates is left: no temporary name of the removal. */
        ASSERT_EQ(vmiso_template_open(path("c2"), k[5], &fd), 1);
        close(fd);
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", path("c2"));
        ASSERT_EQ(system(cmd), 0);
}

TEST(evict_removes_dead_makers_left_overs_only)
{
        char k[SHA256_HEX_LEN + 1], name[128], live[128];
        pid_t dead = fork();

        ASSERT_TRUE(dead >= 0);
        if (dead == 0)
                _exit(0);
        ASSERT_EQ(waitpid(dead, NULL, 0), dead);
        ASSERT_OK(mkdir_p(path("c3"), 0700));
        make_template("c3", k, 7, 10);
        snprintf(name, sizeof(name), "%s.tmp-%d", k, (int)dead);
        snprintf(live, sizeof(live), "%s.tmp-%d", k, (int)getpid());
        ASSERT_OK(mkdir_p(path("c3/%s", name), 0700));
        test_write_text(path("c3/%s/memory", name), "half written");
        ASSERT_OK(mkdir_p(path("c3/%s", live), 0700));
        /* Not a template and not a maker's: left alone (the cache removes only what it knows). */
        ASSERT_OK(mkdir_p(path("c3/other"), 0700));
        ASSERT_OK(vmiso_template_evict(path("c3"), 4, NULL));
        ASSERT_FALSE(exists(path("c3/%s", name)));
        ASSERT_TRUE(exists(path("c3/%s", live)));
        ASSERT_TRUE(exists(path("c3/%s", k)));
        ASSERT_TRUE(exists(path("c3/other")));
}

TEST(remove_failed_template)
{
        char k[SHA256_HEX_LEN + 1];
        char cmd[700];

        ASSERT_OK(mkdir_p(path("c4"), 0700));
        make_template("c4", k, 9, 10);
        ASSERT_OK(vmiso_template_remove(path("c4"), k));
        ASSERT_FALSE(exists(path("c4/%s", k)));
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path("c4"));
        ASSERT_EQ(system(cmd), 0);
        /* Already gone (a concurrent shim removed it): fine. */
        ASSERT_OK(vmiso_template_remove(path("c4"), k));
}

TEST(agent_version_noted_and_read)
{
        char k[SHA256_HEX_LEN + 1];
        int fd = -EBADF;

        ASSERT_OK(mkdir_p(path("c5"), 0700));
        make_template("c5", k, 5, 10);
        ASSERT_EQ(vmiso_template_open(path("c5"), k, &fd), 1);
        /* Not known until the maker's HELLO said it. */
        ASSERT_EQ(vmiso_template_agent_version(fd), 0u);
        ASSERT_OK(vmiso_template_note_agent(path("c5"), k, 3));
        ASSERT_EQ(vmiso_template_agent_version(fd), 3u);
        /* A damaged note is "not known", never a guess. */
        test_write_text(path("c5/%s/" VMISO_TEMPLATE_AGENT_FILE, k), "3x\n");
        ASSERT_EQ(vmiso_template_agent_version(fd), 0u);
        close(fd);
        /* No template (hull-vmm could not save it): nothing is made. */
        ASSERT_OK(vmiso_template_note_agent(
                path("c5"), "00000000000000000000000000000000000000000000000000000000000000aa", 3));
        ASSERT_FALSE(exists(path("c5/00000000000000000000000000000000000000000000000000000000000000aa")));
}

/* hull-vmm's cold command line, as vm-isolation.c builds it (the parts the plan reads). */
static char **cold_argv(void)
{
        char **a = NULL;
        const char *args[] = {path("vmm"),
                              "--kernel",
                              path("vmlinuz"),
                              "--initrd",
                              path("agent.cpio"),
                              "--cmdline",
                              "console=ttyS0 quiet hull.agent=vsock:1024",
                              "--memory",
                              "256M",
                              "--disk",
                              "rootfs.qcow2,format=qcow2"};
        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                ASSERT_OK(strv_extend(&a, args[i]));
        return a;
}

static bool has(char **argv, const char *s)
{
        for (; *argv; argv++)
                if (streq(*argv, s))
                        return true;
        return false;
}

static const char *last(char **argv)
{
        return argv[strv_length(argv) - 1];
}

/* A new plan of the cold command line under root. */
static void replan(const struct oci_config *cfg, const char *root, struct vmiso_template_spec *sp, char ***a,
                   struct vmiso_template_plan *t)
{
        strv_free(*a);
        *a = cold_argv();
        *t = (struct vmiso_template_plan){.fd = -EBADF};
        ASSERT_OK(vmiso_template_plan(cfg, root, "1024", sp, a, t));
}

TEST(plan_miss_then_hit_then_off)
{
        struct vmiso_template_spec sp = spec();
        struct oci_key_value kv = {(char *)"io.hull.isolation.template", (char *)"off"};
        struct oci_config cfg = {};
        struct vmiso_template_plan t = {.fd = -EBADF};
        _cleanup_strv_free_ char **a = cold_argv();
        char dir[600], snap[700];

        /* a miss: the boot makes the template */
        ASSERT_OK(vmiso_template_plan(&cfg, path("r1"), "1024", &sp, &a, &t));
        snprintf(dir, sizeof(dir), "%s/.vm-templates/%s", path("r1"), t.key);
        snprintf(snap, sizeof(snap), "1024,dir=%s", dir);
        ASSERT_EQ(t.fd, -EBADF);
        ASSERT_TRUE(t.cold_argv == NULL);
        ASSERT_TRUE(has(a, "--kernel") && has(a, "console=ttyS0 quiet hull.agent=vsock:1024"));
        ASSERT_STREQ(a[strv_length(a) - 2], "--snapshot-at-connect");
        ASSERT_STREQ(last(a), snap);
        ASSERT_TRUE(strncmp(t.note, "snapshot ", 9) == 0 && streq(t.note + 9, t.key));
        vmiso_template_plan_done(&t);

        /* hull-vmm left the template: a hit restores it (no kernel, initramfs or command line) */
        ASSERT_OK(mkdir_p(dir, 0700));
        strv_free(a);
        a = cold_argv();
        t = (struct vmiso_template_plan){.fd = -EBADF};
        ASSERT_OK(vmiso_template_plan(&cfg, path("r1"), "1024", &sp, &a, &t));
        ASSERT_TRUE(t.fd >= 0);
        ASSERT_FALSE(has(a, "--kernel") || has(a, "--initrd") || has(a, "--cmdline") ||
                     has(a, "--snapshot-at-connect"));
        ASSERT_TRUE(has(a, "--memory") && has(a, "--disk"));
        ASSERT_STREQ(a[strv_length(a) - 2], "--restore");
        ASSERT_STREQ(last(a), dir);
        /* its fallback is the miss's command line */
        ASSERT_TRUE(t.cold_argv && has(t.cold_argv, "--kernel"));
        ASSERT_STREQ(last(t.cold_argv), snap);
        ASSERT_TRUE(strncmp(t.note, "restore ", 8) == 0);
        vmiso_template_plan_done(&t);

        /* off by the annotation or by the environment: the command line is left cold */
        cfg.annotations = &kv;
        cfg.n_annotations = 1;
        replan(&cfg, path("r1"), &sp, &a, &t);
        ASSERT_STREQ(t.note, "cold: io.hull.isolation.template=off");
        ASSERT_STREQ(last(a), "rootfs.qcow2,format=qcow2");
        vmiso_template_plan_done(&t);
        cfg.n_annotations = 0;
        ASSERT_OK(setenv("HULL_ISOLATION_TEMPLATE", "0", 1));
        ASSERT_OK(vmiso_template_plan(&cfg, path("r1"), "1024", &sp, &a, &t));
        ASSERT_STREQ(t.note, "cold: HULL_ISOLATION_TEMPLATE=0");
        ASSERT_OK(unsetenv("HULL_ISOLATION_TEMPLATE"));
        ASSERT_STREQ(last(a), "rootfs.qcow2,format=qcow2");
        vmiso_template_plan_done(&t);

        /* a value that is neither on nor off names the annotation */
        kv.value = (char *)"maybe";
        cfg.n_annotations = 1;
        ASSERT_ERR(vmiso_template_plan(&cfg, path("r1"), "1024", &sp, &a, &t), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "io.hull.isolation.template");
        vmiso_template_plan_done(&t);
}

/*
 * Shares (virtio-fs) take templates too: a template of their own (the key counts them), made by
 * a miss that keeps its --fs devices, restored by a hit that keeps them as well (the share's
 * socket and tag come from the restoring command line, docs/vmm.md).
 */
TEST(plan_shares_miss_then_hit)
{
        struct vmiso_template_spec sp = spec();
        struct oci_config cfg = {};
        struct vmiso_template_plan t = {.fd = -EBADF};
        _cleanup_strv_free_ char **a = cold_argv();
        char plain[SHA256_HEX_LEN + 1], dir[600];

        ASSERT_OK(vmiso_template_key(&sp, plain));
        sp.n_shares = 1;
        ASSERT_OK(strv_extend(&a, "--fs"));
        ASSERT_OK(strv_extend(&a, "socket=fs-0.sock,tag=hullfs0"));

        ASSERT_OK(vmiso_template_plan(&cfg, path("r2"), "1024", &sp, &a, &t));
        ASSERT_TRUE(strncmp(t.note, "snapshot ", 9) == 0);
        ASSERT_FALSE(streq(t.key, plain));
        ASSERT_TRUE(has(a, "--kernel") && has(a, "socket=fs-0.sock,tag=hullfs0"));
        ASSERT_STREQ(a[strv_length(a) - 2], "--snapshot-at-connect");
        ASSERT_TRUE(has(a, "console=ttyS0 quiet hull.agent=vsock:1024"));
        snprintf(dir, sizeof(dir), "%s/.vm-templates/%s", path("r2"), t.key);
        vmiso_template_plan_done(&t);

        ASSERT_OK(mkdir_p(dir, 0700));
        strv_free(a);
        a = cold_argv();
        ASSERT_OK(strv_extend(&a, "--fs"));
        ASSERT_OK(strv_extend(&a, "socket=fs-0.sock,tag=hullfs0"));
        t = (struct vmiso_template_plan){.fd = -EBADF};
        ASSERT_OK(vmiso_template_plan(&cfg, path("r2"), "1024", &sp, &a, &t));
        ASSERT_TRUE(t.fd >= 0);
        ASSERT_TRUE(strncmp(t.note, "restore ", 8) == 0);
        ASSERT_FALSE(has(a, "--kernel"));
        ASSERT_TRUE(has(a, "--fs") && has(a, "socket=fs-0.sock,tag=hullfs0"));
        ASSERT_STREQ(last(a), dir);
        ASSERT_TRUE(t.cold_argv && has(t.cold_argv, "--kernel") && has(t.cold_argv, "--fs"));
        ASSERT_TRUE(has(t.cold_argv, "console=ttyS0 quiet hull.agent=vsock:1024"));
        vmiso_template_plan_done(&t);

        /* a share that boots cold on purpose: no template options */
        struct oci_key_value kv = {(char *)"io.hull.isolation.template", (char *)"off"};
        cfg.annotations = &kv;
        cfg.n_annotations = 1;
        replan(&cfg, path("r2"), &sp, &a, &t);
        ASSERT_FALSE(has(a, "--snapshot-at-connect") || has(a, "--restore"));
        vmiso_template_plan_done(&t);
}

/* A memory limit: the template's memory would be charged to the container's cgroup. */
TEST(plan_memory_limit_makes_no_template)
{
        struct vmiso_template_spec sp = spec();
        struct oci_resources res = {.has_memory_limit = true, .memory_limit = 256 << 20};
        struct oci_linux lin = {.resources = &res};
        struct oci_config cfg = {.linux_cfg = &lin};
        struct vmiso_template_plan t = {.fd = -EBADF};
        _cleanup_strv_free_ char **a = cold_argv();
        char dir[600];

        /* a miss boots cold and makes nothing */
        ASSERT_OK(vmiso_template_plan(&cfg, path("r4"), "1024", &sp, &a, &t));
        ASSERT_TRUE(strncmp(t.note, "cold: a container with a memory limit", 37) == 0);
        ASSERT_STREQ(t.key, "");
        ASSERT_FALSE(has(a, "--snapshot-at-connect") || has(a, "--restore"));
        vmiso_template_plan_done(&t);

        /* a hit (the template of a container of the same size without a limit) restores, and the
         * cold boot behind a failed restore makes nothing either */
        struct oci_config unlimited = {};
        replan(&unlimited, path("r4"), &sp, &a, &t);
        ASSERT_TRUE(strncmp(t.note, "snapshot ", 9) == 0);
        snprintf(dir, sizeof(dir), "%s/.vm-templates/%s", path("r4"), t.key);
        vmiso_template_plan_done(&t);
        ASSERT_OK(mkdir_p(dir, 0700));
        replan(&cfg, path("r4"), &sp, &a, &t);
        ASSERT_TRUE(strncmp(t.note, "restore ", 8) == 0 && t.fd >= 0);
        ASSERT_STREQ(last(a), dir);
        ASSERT_TRUE(t.cold_argv && has(t.cold_argv, "--kernel"));
        ASSERT_FALSE(has(t.cold_argv, "--snapshot-at-connect"));
        vmiso_template_plan_done(&t);
}

TEST(plan_restore_timeout)
{
        struct vmiso_template_spec sp = spec();
        struct oci_key_value kv = {(char *)"io.hull.isolation.template.timeout", (char *)"5"};
        struct oci_config cfg = {};
        struct vmiso_template_plan t = {.fd = -EBADF};
        _cleanup_strv_free_ char **a = cold_argv();
        const char *bad[] = {"0", "601", "-1", "5s", "", " 5", "0x10"};

        /* the default bound of a restored guest, to READY */
        ASSERT_OK(vmiso_template_plan(&cfg, path("r3"), "1024", &sp, &a, &t));
        ASSERT_EQ(t.restore_timeout_ms, VMISO_RESTORE_TIMEOUT_MS);
        vmiso_template_plan_done(&t);

        /* seconds from the annotation */
        cfg.annotations = &kv;
        cfg.n_annotations = 1;
        replan(&cfg, path("r3"), &sp, &a, &t);
        ASSERT_EQ(t.restore_timeout_ms, 5000);
        vmiso_template_plan_done(&t);

        /* anything else is refused, naming the annotation and the value */
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                kv.value = (char *)bad[i];
                t = (struct vmiso_template_plan){.fd = -EBADF};
                ASSERT_ERR(vmiso_template_plan(&cfg, path("r3"), "1024", &sp, &a, &t), -EINVAL);
                ASSERT_CONTAINS(err_msg(-EINVAL), "io.hull.isolation.template.timeout");
                vmiso_template_plan_done(&t);
        }
}

TEST(cleanup)
{
        char cmd[600];
        if (!made)
                return;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        ASSERT_EQ(system(cmd), 0);
}
