/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-disk.c - the disks of a VM-isolated container (docs/agent.md, "Disks").
 *
 * Data disks (volumes) are ext4 images made from a directory with mke2fs -d (e2fsprogs;
 * nothing is mounted on the host). The root disk is a qcow2 overlay (hull's disk library,
 * src/vmm/disk; hull-vmm and QEMU both read it) on a raw ext4 base that is made once and
 * never written: a container's create then writes a few KiB instead of a file system, and
 * the guest's writes stay in the overlay.
 *
 * Where the base comes from:
 *   - io.hull.isolation.rootfs-base (hull's engine: one per image id, made here when missing);
 *   - else the runtime's cache, <root>/.vm-disks/<key>.ext4, key = SHA-256 of what the walk
 *     that sizes the disk sees of every entry of the tree (path, type, mode, uid/gid, size,
 *     mtime and ctime in ns, inode, device number): a changed tree gives a new key.
 *
 * Invariants:
 *   - a base appears by rename(2), whole: a concurrent create sees it complete or not at all;
 *   - the overlay's backing file is a hard link to the base beside the overlay
 *     (<image>.base, named relatively): the container keeps its base however the cache or
 *     the engine's image store change, and the link goes with the container's files;
 *   - so a cache entry is in use exactly when its link count is above 1: eviction (least
 *     recently used first, by mtime, which a hit refreshes) removes only entries at 1;
 *   - the link is made before the rename, so that an entry that appears is already held
 *     and an eviction racing with its creator cannot take it away.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "disk.h"
#include "error.h"
#include "log.h"
#include "sha256.h"
#include "util.h"
#include "vm-isolation.h"

/* Part of the cache key: a change of how bases are made must not reuse old ones. */
#define BASE_FORMAT_VERSION "hull-vm-root-2"
/* A temporary base older than this was left by a create that died. */
#define STALE_TMP_SECONDS 3600

/* nftw() passes no context: what the walk gathers lives here (create is single-threaded). */
static struct {
        uint64_t bytes;
        uint64_t inodes;
        struct sha256_ctx *hash; /* NULL: sizes only */
        size_t prefix;           /* strlen of the walked directory */
        int error;
} walk;

/*
 * One record per entry: everything that changes when a file's content or metadata does. A
 * symlink's target is not read: it cannot change in place, and a new link is a new inode
 * with a new ctime (and its st_size is the target's length); that saves a readlink per link,
 * which busybox's hundreds of applet links made the biggest cost of a cache hit.
 */
static void hash_entry(const char *path, const struct stat *st)
{
        const char *rel = path + walk.prefix;
        uint64_t rec[10] = {
                st->st_mode,
                st->st_uid,
                st->st_gid,
                (uint64_t)st->st_size,
                (uint64_t)st->st_mtim.tv_sec,
                (uint64_t)st->st_mtim.tv_nsec,
                (uint64_t)st->st_ctim.tv_sec,
                (uint64_t)st->st_ctim.tv_nsec,
                st->st_ino,
                st->st_rdev,
        };

        sha256_update(walk.hash, rel, strlen(rel) + 1);
        sha256_update(walk.hash, rec, sizeof(rec));
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        if (flag == FTW_NS || flag == FTW_DNR) {
                walk.error = err_set(-EACCES, "cannot read '%s'", path);
                return 1;
        }
        walk.bytes += (uint64_t)st->st_blocks * 512 + 4096;
        walk.inodes++;
        if (walk.hash)
                hash_entry(path, st);
        return walk.error < 0;
}

/* Walk dir once: sizes, and with key non-NULL the cache key (64 hex digits). */
static int walk_tree(const char *dir, char key[SHA256_HEX_LEN + 1])
{
        walk.bytes = walk.inodes = 0;
        walk.error = 0;
        walk.prefix = strlen(dir);
        walk.hash = NULL;
        if (key) {
                walk.hash = sha256_new();
                if (!walk.hash)
                        return -ENOMEM;
                sha256_update(walk.hash, BASE_FORMAT_VERSION, sizeof(BASE_FORMAT_VERSION));
        }
        if (nftw(dir, visit, 64, FTW_PHYS) < 0 && walk.error == 0)
                walk.error = err_set(negative_errno(), "cannot read '%s': %m", dir);
        if (key)
                sha256_final_hex(walk.hash, key);
        walk.hash = NULL;
        return walk.error;
}

/* Run argv, its stderr kept for the error message; 0 when it exits 0. */
static int run_tool(char *const *argv, const char *what)
{
        char err[512] = "";
        int p[2], st;
        pid_t pid;
        ssize_t k;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(p[1], 2) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                dprintf(2, "cannot execute %s: %m", argv[0]);
                _exit(127);
        }
        safe_close(p[1]);
        k = read(p[0], err, sizeof(err) - 1);
        safe_close(p[0]);
        err[k > 0 ? k : 0] = 0;
        err[strcspn(err, "\n")] = 0;
        if (waitpid(pid, &st, 0) < 0)
                return negative_errno();
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return err_set(-EIO, "%s failed: %s", what, err[0] ? err : "no message");
        return 0;
}

/*
 * mke2fs -d of dir at image, sized from the last walk: the content twice over plus 1 GiB,
 * paid for only when the guest writes it. No journal: the disk of a container lives as
 * long as the container, and its VM powers off cleanly.
 */
static int mke2fs_walked(const char *dir, const char *image)
{
        char size[32], inodes[32];

        snprintf(size, sizeof(size), "%" PRIu64 "M", walk.bytes * 2 / (1 << 20) + 1024);
        snprintf(inodes, sizeof(inodes), "%" PRIu64, walk.inodes * 2 + 65536);
        char *argv[] = {"mke2fs",
                        "-q",
                        "-F",
                        "-t",
                        "ext4",
                        "-O",
                        "^has_journal",
                        "-m",
                        "0",
                        "-N",
                        inodes,
                        "-E",
                        "lazy_itable_init=1",
                        "-d",
                        (char *)dir,
                        (char *)image,
                        size,
                        NULL};
        int r = run_tool(argv, "mke2fs");
        if (r < 0)
                return r;
        /*
         * mke2fs always makes lost+found, which the agent removes before the container sees its
         * disk (guest/agent/spawn.c): an rmdir that frees an inode and its blocks at every start
         * (about 20 ms inside the nested test host, as long as the mount). Removed here, once per
         * image; where debugfs (e2fsprogs, like mke2fs) fails, the guest still does it.
         */
        char *rm[] = {"debugfs", "-w", "-R", "rmdir lost+found", (char *)image, NULL};
        if (run_tool(rm, "debugfs") < 0) {
                log_debug("vm isolation: lost+found left in %s for the guest to remove: %s", image, err_msg(-EIO));
                err_clear();
        }
        return 0;
}

int vmiso_make_ext4(const char *dir, const char *image)
{
        int r = walk_tree(dir, NULL);
        return r < 0 ? r : mke2fs_walked(dir, image);
}

/* "<path>.base": the overlay's hard link to its base. */
static char *link_name(const char *image)
{
        return strdup_printf("%s.base", image);
}

/*
 * Make base from rootfs (already walked): mke2fs into a temporary name in base's
 * directory, hard-link it to held (the container's link) when held is not NULL, then
 * rename it into place.
 */
static int make_base(const char *rootfs, const char *base, const char *held)
{
        _cleanup_free_ char *dir = strdup(base), *tmp = NULL;
        char *slash = dir ? strrchr(dir, '/') : NULL;
        int r;

        if (!slash)
                return -ENOMEM;
        *slash = 0;
        tmp = strdup_printf("%s/.tmp-%d-%s", dir, (int)getpid(), slash + 1);
        if (!tmp)
                return -ENOMEM;
        if ((r = mkdir_p(dir, 0700)) < 0)
                return err_set(r, "cannot create '%s': %s", dir, strerror(-r));
        if ((r = mke2fs_walked(rootfs, tmp)) < 0)
                goto fail;
        if (held) {
                unlink(held);
                if (link(tmp, held) < 0) {
                        r = err_set(negative_errno(), "cannot link the root disk's base to '%s': %m", held);
                        goto fail;
                }
        }
        if (rename(tmp, base) < 0) {
                r = err_set(negative_errno(), "cannot create '%s': %m", base);
                if (held)
                        unlink(held);
                goto fail;
        }
        return 0;
fail:
        unlink(tmp);
        return r;
}

/* The cache's disks, and the left-overs of makers that died: removed once they are stale. */
static bool cached_disk(DIR *d, const char *name, const struct stat *st, void *userdata)
{
        size_t len = strlen(name);

        if (!S_ISREG(st->st_mode))
                return false;
        if (strncmp(name, ".tmp-", 5) == 0) {
                if (time(NULL) - st->st_mtim.tv_sec > STALE_TMP_SECONDS)
                        unlinkat(dirfd(d), name, 0);
                return false;
        }
        return len >= 5 && streq(name + len - 5, ".ext4");
}

int vmiso_disk_cache_evict(const struct vmiso_disk_cache *c, const char *keep)
{
        struct dir_entry_use *e = NULL;
        size_t n = 0, count;
        uint64_t total = 0;
        DIR *d = opendir(c->dir);
        int r;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        r = dir_list_by_use(d, cached_disk, NULL, &e, &n);
        for (size_t i = 0; i < n; i++)
                total += (uint64_t)e[i].st.st_blocks * 512;
        count = n;
        for (size_t i = 0; i < n && (count > c->max_entries || total > c->max_bytes); i++) {
                /* Held: a container's overlay links it (nlink > 1), or this create uses it. */
                if (e[i].st.st_nlink > 1 || (keep && streq(keep, e[i].name)))
                        continue;
                /* ENOENT: a concurrent eviction took it first. */
                if (unlinkat(dirfd(d), e[i].name, 0) < 0 && errno != ENOENT)
                        continue;
                count--;
                total -= (uint64_t)e[i].st.st_blocks * 512;
        }
        dir_entries_free(e, n);
        closedir(d);
        return r;
}

/*
 * Hold the cache's entry for rootfs at held (a hard link), making it on a miss. 1: made,
 * 0: found. An eviction may remove the entry between the lookup and the link: then it
 * is made again.
 */
static int cache_hold(const char *rootfs, const struct vmiso_disk_cache *c, const char *held)
{
        char key[SHA256_HEX_LEN + 1], name[SHA256_HEX_LEN + 8];
        _cleanup_free_ char *base = NULL;
        int r;

        r = walk_tree(rootfs, key);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s.ext4", key);
        base = strdup_printf("%s/%s", c->dir, name);
        if (!base)
                return -ENOMEM;
        for (int attempt = 0; attempt < 3; attempt++) {
                unlink(held);
                if (link(base, held) == 0) {
                        /* The entry's mtime is its last use, for eviction. */
                        utimensat(AT_FDCWD, base, NULL, 0);
                        return 0;
                }
                if (errno != ENOENT)
                        return err_set(negative_errno(), "cannot link the cached root disk '%s': %m", base);
                r = make_base(rootfs, base, held);
                if (r < 0)
                        return r;
                /* A failed eviction leaves the cache larger, not broken: the create goes on. */
                (void)vmiso_disk_cache_evict(c, name);
                return 1;
        }
        return err_set(-EAGAIN, "the cached root disk '%s' kept disappearing", base);
}

enum disk_format vmiso_disk_format(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned char magic[4];

        if (fd < 0 || read(fd, magic, sizeof(magic)) != sizeof(magic))
                return DISK_FORMAT_RAW;
        /* "QFI\xfb", qcow2's magic (QEMU docs/interop/qcow2.txt): an ext4 image starts with zeros. */
        return memcmp(magic, "QFI\xfb", 4) == 0 ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
}

int vmiso_root_disk(const char *rootfs, const char *base, const struct vmiso_disk_cache *cache,
                    const char *image)
{
        _cleanup_free_ char *held = link_name(image), *rel = NULL;
        const char *slash = strrchr(image, '/');
        int made = 0, r;

        if (!held)
                return -ENOMEM;
        if (base) {
                if (access(base, F_OK) < 0) {
                        if ((r = walk_tree(rootfs, NULL)) < 0)
                                return r;
                        r = make_base(rootfs, base, NULL);
                        if (r < 0)
                                return err_prefix(r, "io.hull.isolation.rootfs-base");
                        made = 1;
                }
                unlink(held);
                /* EXDEV (another file system): the overlay names the base itself. */
                if (link(base, held) < 0 && errno != EXDEV)
                        return err_set(negative_errno(), "cannot link the root disk's base '%s' to '%s': %m",
                                       base, held);
        } else {
                made = cache_hold(rootfs, cache, held);
                if (made < 0)
                        return made;
        }
        if (access(held, F_OK) == 0) {
                rel = strdup_printf("%s.base", slash ? slash + 1 : image);
                if (!rel)
                        return -ENOMEM;
        }
        struct disk_create_options o = {
                .format = DISK_FORMAT_QCOW2,
                .backing = rel ?: base,
                .backing_format = DISK_FORMAT_RAW,
        };
        unlink(image);
        r = disk_create_ext(image, &o);
        if (r < 0) {
                unlink(held);
                return err_prefix(r, "cannot create the overlay '%s'", image);
        }
        return made;
}
