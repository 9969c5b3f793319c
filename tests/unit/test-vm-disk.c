/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vm-disk.c - the root disk of a VM-isolated container (src/runtime/vm-disk.c): the
 * cache of bases keyed by the tree (hit, miss after a change, concurrent creates, eviction,
 * nothing held after delete) and the qcow2 overlay (writes stay out of the base). Needs
 * mke2fs (e2fsprogs), no root.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "disk.h"
#include "test.h"
#include "util.h"
#include "vm-isolation.h"

static char tmp[] = "/tmp/hull-test-vm-disk.XXXXXX";

static void need_mke2fs(void)
{
        if (system("command -v mke2fs >/dev/null 2>&1") != 0)
                SKIP("mke2fs (e2fsprogs) is not on PATH");
}

#define path(...) test_path(tmp, __VA_ARGS__)

/* A small root file system named name: a directory, a file, a symlink. The path stays valid. */
static const char *make_tree(const char *name)
{
        static char trees[4][512];
        static int n;
        char *t = trees[n++ % 4];

        ASSERT_OK(mkdir_p(path("%s/etc", name), 0755));
        test_write_text(path("%s/etc/hostname", name), name);
        unlink(path("%s/etc/link", name));
        ASSERT_OK(symlink("hostname", path("%s/etc/link", name)));
        snprintf(t, 512, "%s", path("%s", name));
        return t;
}

static size_t count_entries(const char *dir, const char *suffix)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l >= strlen(suffix) && streq(de->d_name + l - strlen(suffix), suffix))
                        n++;
        }
        closedir(d);
        return n;
}

static nlink_t links_of(const char *p)
{
        struct stat st;
        return stat(p, &st) < 0 ? 0 : st.st_nlink;
}

static struct vmiso_disk_cache cache(size_t entries, uint64_t bytes)
{
        static char dir[512];
        snprintf(dir, sizeof(dir), "%s/cache", tmp);
        return (struct vmiso_disk_cache){.dir = dir, .max_entries = entries, .max_bytes = bytes};
}

static void container_dir(const char *name)
{
        ASSERT_OK(mkdir_p(path("%s", name), 0700));
}

TEST(setup)
{
        ASSERT_TRUE(mkdtemp(tmp) != NULL);
}

TEST(hit_on_unchanged_tree_miss_after_change)
{
        struct vmiso_disk_cache c = cache(8, 1ULL << 40);
        const char *root;

        need_mke2fs();
        root = make_tree("t1");
        container_dir("c1");
        container_dir("c2");
        container_dir("c3");
        ASSERT_EQ(vmiso_root_disk(root, NULL, &c, path("%s/rootfs.qcow2", "c1")), 1);
        ASSERT_EQ(vmiso_disk_format(path("%s/rootfs.qcow2", "c1")), DISK_FORMAT_QCOW2);
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 1u);
        ASSERT_EQ(links_of(path("%s/rootfs.qcow2.base", "c1")), 2u);
        ASSERT_EQ(vmiso_disk_format(path("%s/rootfs.qcow2.base", "c1")), DISK_FORMAT_RAW);
        /* mke2fs's lost+found is removed where the base is made, and the file system stays clean. */
        if (system("command -v debugfs >/dev/null 2>&1 && command -v e2fsck >/dev/null 2>&1") == 0) {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd), "debugfs -R 'ls /' %s 2>/dev/null | grep -q lost+found",
                         path("%s/rootfs.qcow2.base", "c1"));
                ASSERT_TRUE(system(cmd) != 0);
                snprintf(cmd, sizeof(cmd), "debugfs -R 'ls /' %s 2>/dev/null | grep -q etc",
                         path("%s/rootfs.qcow2.base", "c1"));
                ASSERT_EQ(system(cmd), 0);
                snprintf(cmd, sizeof(cmd), "e2fsck -fn %s >/dev/null 2>&1", path("%s/rootfs.qcow2.base", "c1"));
                ASSERT_EQ(system(cmd), 0);
        }

        /* Unchanged: the same base, held twice now. */
        ASSERT_EQ(vmiso_root_disk(root, NULL, &c, path("%s/rootfs.qcow2", "c2")), 0);
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 1u);
        ASSERT_EQ(links_of(path("%s/rootfs.qcow2.base", "c1")), 3u);

        /* A changed file gives a new key. */
        test_write_text(path("%s/etc/hostname", "t1"), "changed");
        ASSERT_EQ(vmiso_root_disk(root, NULL, &c, path("%s/rootfs.qcow2", "c3")), 1);
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 2u);
        ASSERT_EQ(links_of(path("%s/rootfs.qcow2.base", "c3")), 2u);
        ASSERT_EQ(count_entries(c.dir, ".tmp-"), 0u);
}

TEST(overlay_reads_the_base_and_keeps_writes)
{
        struct disk_open_options ro = {.format = _DISK_FORMAT_INVALID};
        const char *img = path("%s/rootfs.qcow2", "c1"), *base = path("%s/rootfs.qcow2.base", "c1");
        struct disk *d = NULL;
        uint8_t sb[512], base_sb[512], mine[512];
        struct stat before, after;
        int fd;

        need_mke2fs();
        ASSERT_OK(stat(base, &before));
        ASSERT_OK(disk_open(img, &ro, &d));
        /* Same size as the base, and its ext4 superblock (offset 1024, magic 0xef53 at 56) shows through. */
        ASSERT_EQ(disk_size(d), (uint64_t)before.st_size);
        ASSERT_OK(disk_read(d, 1024, &(struct iovec){sb, sizeof(sb)}, 1));
        ASSERT_EQ(sb[56] | sb[57] << 8, 0xef53);

        memset(mine, 0xa5, sizeof(mine));
        ASSERT_OK(disk_write(d, 1024, &(struct iovec){mine, sizeof(mine)}, 1));
        ASSERT_OK(disk_flush(d));
        disk_close(d);
        d = NULL;

        fd = open(base, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(pread(fd, base_sb, sizeof(base_sb), 1024), (ssize_t)sizeof(base_sb));
        close(fd);
        ASSERT_TRUE(memcmp(base_sb, sb, sizeof(sb)) == 0);
        ASSERT_OK(stat(base, &after));
        ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
        ASSERT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);

        ASSERT_OK(disk_open(img, &ro, &d));
        ASSERT_OK(disk_read(d, 1024, &(struct iovec){sb, sizeof(sb)}, 1));
        ASSERT_TRUE(memcmp(sb, mine, sizeof(sb)) == 0);
        disk_close(d);
        /* Another container on the same base does not see it. */
        ASSERT_OK(disk_open(path("%s/rootfs.qcow2", "c2"), &ro, &d));
        ASSERT_OK(disk_read(d, 1024, &(struct iovec){sb, sizeof(sb)}, 1));
        ASSERT_TRUE(memcmp(sb, base_sb, sizeof(sb)) == 0);
        disk_close(d);
}

TEST(concurrent_creates_share_one_whole_base)
{
        struct vmiso_disk_cache c = cache(8, 1ULL << 40);
        const char *root;
        pid_t pids[4];
        char name[16];

        need_mke2fs();
        root = make_tree("t2");
        for (int i = 0; i < 4; i++) {
                snprintf(name, sizeof(name), "p%d", i);
                container_dir(name);
        }
        for (int i = 0; i < 4; i++) {
                pids[i] = fork();
                ASSERT_TRUE(pids[i] >= 0);
                if (pids[i] == 0) {
                        snprintf(name, sizeof(name), "p%d", i);
                        _exit(vmiso_root_disk(root, NULL, &c, path("%s/rootfs.qcow2", name)) < 0);
                }
        }
        for (int i = 0; i < 4; i++) {
                int st;
                ASSERT_EQ(waitpid(pids[i], &st, 0), pids[i]);
                ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        /* t1 (twice, changed in between) and t2: whoever lost a race left no half base behind. */
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 3u);
        ASSERT_EQ(count_entries(c.dir, ".tmp-"), 0u);
        for (int i = 0; i < 4; i++) {
                struct disk_open_options ro = {.format = _DISK_FORMAT_INVALID, .readonly = true};
                struct disk *d = NULL;
                uint8_t sb[512];
                snprintf(name, sizeof(name), "p%d", i);
                ASSERT_OK(disk_open(path("%s/rootfs.qcow2", name), &ro, &d));
                ASSERT_OK(disk_read(d, 1024, &(struct iovec){sb, sizeof(sb)}, 1));
                ASSERT_EQ(sb[56] | sb[57] << 8, 0xef53);
                disk_close(d);
        }
}

static void remove_container(const char *name)
{
        ASSERT_OK(unlink(path("%s/rootfs.qcow2", name)));
        ASSERT_OK(unlink(path("%s/rootfs.qcow2.base", name)));
        ASSERT_OK(rmdir(path("%s", name)));
}

TEST(eviction_spares_entries_in_use_and_delete_leaves_nothing_held)
{
        struct vmiso_disk_cache c = cache(1, 1ULL << 40);
        char name[16];

        need_mke2fs();
        /* Every entry is held: over the bound of 1, nothing may go. */
        ASSERT_OK(vmiso_disk_cache_evict(&c, NULL));
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 3u);

        /* t2's containers go: its entry is the only one free, and goes. */
        for (int i = 0; i < 4; i++) {
                snprintf(name, sizeof(name), "p%d", i);
                remove_container(name);
        }
        ASSERT_OK(vmiso_disk_cache_evict(&c, NULL));
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 2u);

        /* Every container deleted: nothing holds an entry. */
        remove_container("c1");
        remove_container("c2");
        remove_container("c3");
        {
                DIR *d = opendir(c.dir);
                struct dirent *de;
                char last[300] = "";
                ASSERT_TRUE(d != NULL);
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.') {
                                ASSERT_EQ(links_of(path("cache/%s", de->d_name)), 1u);
                                snprintf(last, sizeof(last), "%s", de->d_name);
                        }
                closedir(d);
                /* The least recently used goes first: make one entry an hour older. */
                struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
                ASSERT_OK(utimensat(AT_FDCWD, path("cache/%s", last), old, 0));
                ASSERT_OK(vmiso_disk_cache_evict(&c, NULL));
                ASSERT_EQ(count_entries(c.dir, ".ext4"), 1u);
                ASSERT_EQ(links_of(path("cache/%s", last)), 0u);
        }
        /* A miss makes an entry and evicts down to the bound, sparing the new one. */
        test_write_text(path("%s/etc/hostname", "t1"), "changed again");
        container_dir("c4");
        ASSERT_EQ(vmiso_root_disk(path("%s", "t1"), NULL, &c, path("%s/rootfs.qcow2", "c4")), 1);
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 1u);
        ASSERT_EQ(links_of(path("%s/rootfs.qcow2.base", "c4")), 2u);

        /* A byte bound below one entry empties what is free. */
        remove_container("c4");
        c.max_bytes = 1;
        ASSERT_OK(vmiso_disk_cache_evict(&c, NULL));
        ASSERT_EQ(count_entries(c.dir, ".ext4"), 0u);
}

TEST(engine_base_made_once_and_linked)
{
        const char *base = path("%s", "images/img.isolation.ext4");
        struct stat st;

        need_mke2fs();
        container_dir("e1");
        container_dir("e2");
        ASSERT_EQ(vmiso_root_disk(path("%s", "t1"), base, NULL, path("%s/rootfs.ext4", "e1")), 1);
        ASSERT_EQ(vmiso_root_disk(path("%s", "t1"), base, NULL, path("%s/rootfs.ext4", "e2")), 0);
        ASSERT_EQ(links_of(base), 3u);
        ASSERT_EQ(count_entries(path("%s", "images"), ".isolation.ext4"), 1u);
        /* The image goes (rmi): its containers keep their base. */
        ASSERT_OK(unlink(base));
        ASSERT_OK(stat(path("%s/rootfs.ext4.base", "e1"), &st));
        ASSERT_EQ(vmiso_disk_format(path("%s/rootfs.ext4", "e1")), DISK_FORMAT_QCOW2);
}

TEST(cleanup)
{
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        ASSERT_EQ(system(cmd), 0);
}
