/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-template.c - the runtime's cache of microVM templates for VM-isolated containers under
 * hull-vmm (docs/agent.md, "Templates"): <runtime root>/.vm-templates/<key>/.
 *
 * A template is hull-vmm's snapshot of a microVM taken when the guest's agent first connects to
 * the host (`--snapshot-at-connect PORT,dir=DIR`, docs/vmm.md): the kernel has booted, the
 * agent has loaded its modules and waits for CREATE; disks had capacity 0 and no NIC driver was
 * loaded, so no container's data is in it. A later container with the same key starts with
 * `--restore DIR`: guest RAM mapped MAP_PRIVATE from the snapshot (copy-on-write), so the boot
 * and the agent's set-up are skipped (Firecracker's snapshots, Kata Containers' VM templating).
 *
 * The key is a SHA-256 of everything the snapshot depends on: hull-vmm's binary, the guest
 * kernel and the initramfs (each by dev, inode, size and mtime in ns: a rebuilt or replaced
 * file is a new key), the kernel command line, the vCPUs and memory, and the number of each
 * kind of device in the order hull-vmm creates them (disks, NICs, shares). A change of any of
 * them makes a new template instead of restoring a guest that does not match its VMM.
 *
 * Entries: hull-vmm writes DIR.tmp-<its pid> and renames it to DIR, so a DIR is whole; when
 * DIR exists another maker won. A VM restored from a template holds a shared flock on its
 * directory for its life (the shim keeps the fd), which eviction tests with a non-blocking
 * exclusive lock: at most VMISO_TEMPLATE_MAX entries, least recently used first (a hit
 * refreshes the directory's mtime), never one in use. A template removed anyway (`rm -rf` of
 * the root) does not disturb its VMs: they map its files, and an unlinked file's inode and
 * pages live on until the last mapping goes (unlink(2)); only a write into a mapped file
 * would show through MAP_PRIVATE's pages not yet copied, and nothing writes into hull-vmm's
 * files after their rename. The only file added later is `agent-version` (the protocol of the
 * template's agent, written by the shim of the VM that made it, once HELLO said it): a hit
 * that finds it sends CREATE as the connection arrives instead of a round trip after HELLO.
 * Left-over DIR.tmp-<pid> of a maker that died are removed when that pid is gone.
 *
 * Not thread-safe (no state); called by create in hull-runtime and by the shim.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "config.h"
#include "log.h"
#include "sha256.h"
#include "util.h"
#include "vm-isolation.h"

/* Part of the key: a change of what a template holds or how it is used must not reuse old ones. */
#define TEMPLATE_FORMAT_VERSION "hull-vm-template-1"

static void hash_u64(struct sha256_ctx *h, uint64_t v)
{
        sha256_update(h, &v, sizeof(v));
}

static void hash_str(struct sha256_ctx *h, const char *s)
{
        /* With its NUL: "ab"+"c" and "a"+"bc" differ. */
        sha256_update(h, s, strlen(s) + 1);
}

static int hash_file_identity(struct sha256_ctx *h, const char *what, const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return err_set(negative_errno(), "%s: cannot read '%s': %m", what, path);
        hash_str(h, what);
        hash_u64(h, st.st_dev);
        hash_u64(h, st.st_ino);
        hash_u64(h, (uint64_t)st.st_size);
        hash_u64(h, (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec);
        return 0;
}

int vmiso_template_key(const struct vmiso_template_spec *sp, char ret[SHA256_HEX_LEN + 1])
{
        struct sha256_ctx *h = sha256_new();
        int r;

        if (!h)
                return -ENOMEM;
        hash_str(h, TEMPLATE_FORMAT_VERSION);
        if ((r = hash_file_identity(h, "vmm", sp->vmm)) < 0 ||
            (r = hash_file_identity(h, "kernel", sp->kernel)) < 0 ||
            (r = hash_file_identity(h, "initrd", sp->initrd)) < 0) {
                sha256_free(h);
                return r;
        }
        hash_str(h, sp->cmdline);
        hash_u64(h, (uint64_t)sp->cpus);
        hash_u64(h, (uint64_t)sp->memory_mib);
        hash_u64(h, sp->n_disks);
        hash_u64(h, sp->n_nics);
        hash_u64(h, sp->n_shares);
        sha256_final_hex(h, ret);
        return 0;
}

int vmiso_template_open(const char *cache_dir, const char *key, int *ret_fd)
{
        _cleanup_free_ char *path = strdup_printf("%s/%s", cache_dir, key);
        _cleanup_close_ int fd = -EBADF;
        struct stat a, b;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        /* Being evicted right now: boot as on a miss (the maker's rename then makes it again). */
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 0 : negative_errno();
        /* Locked after an eviction renamed it away: what is at the path (if anything) is not this. */
        if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
                return 0;
        /* The cache is least recently used first: a hit is a use. */
        (void)futimens(fd, NULL);
        *ret_fd = TAKE_FD(fd);
        return 1;
}

/* Rename name away under a temporary name (whole or not at all for concurrent opens), then remove it. */
static int remove_entry(int dir_fd, const char *dir, const char *name)
{
        char tmp[NAME_MAX + 1];
        _cleanup_free_ char *path = NULL;

        if (snprintf(tmp, sizeof(tmp), "%.64s.tmp-%d", name, (int)getpid()) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        if (renameat(dir_fd, name, dir_fd, tmp) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        path = strdup_printf("%s/%s", dir, tmp);
        if (!path)
                return -ENOMEM;
        return rm_rf(path);
}

int vmiso_template_remove(const char *cache_dir, const char *key)
{
        _cleanup_close_ int dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return remove_entry(dfd, cache_dir, key);
}

/* A maker's left-over: NAME.tmp-<pid> whose pid is gone (a live pid may be a maker at work). */
static bool stale_tmp(const char *name)
{
        const char *t = strstr(name, ".tmp-");
        char *end;
        long pid;

        if (!t)
                return false;
        errno = 0;
        pid = strtol(t + 5, &end, 10);
        if (errno || *end || pid <= 0 || pid > INT32_MAX)
                return true;
        return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static bool is_key(const char *name)
{
        size_t n = strlen(name);
        if (n != SHA256_HEX_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return false;
        return true;
}

/*
 * Remove the template name unless a VM holds it (its shim's shared lock): 1 removed, 0 in use or
 * gone, or -errno. The exclusive lock is held across the rename, so an open that races it either
 * fails to lock or finds the path gone or another inode there (vmiso_template_open()).
 */
static int remove_unused(int dir_fd, const char *dir, const char *name)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 0 : negative_errno();
        r = remove_entry(dir_fd, dir, name);
        return r < 0 ? r : 1;
}

/* The templates, and the left-overs of makers that died (removed). userdata: the cache's path. */
static bool template_dir(DIR *d, const char *name, const struct stat *st, void *userdata)
{
        const char *cache_dir = userdata;

        if (!S_ISDIR(st->st_mode))
                return false;
        if (is_key(name))
                return true;
        if (stale_tmp(name)) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", cache_dir, name);
                if (p && rm_rf(p) == 0)
                        log_debug("vm templates: removed the left-over '%s'", name);
        }
        return false;
}

int vmiso_template_evict(const char *cache_dir, size_t max, const char *keep)
{
        struct dir_entry_use *e = NULL;
        size_t n = 0, count;
        DIR *d = opendir(cache_dir);
        int r;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        r = dir_list_by_use(d, template_dir, (void *)cache_dir, &e, &n);
        count = n;
        for (size_t i = 0; i < n && count > max; i++) {
                if ((keep && streq(keep, e[i].name)) || remove_unused(dirfd(d), cache_dir, e[i].name) <= 0)
                        continue;
                log_debug("vm templates: evicted '%s'", e[i].name);
                count--;
        }
        dir_entries_free(e, n);
        closedir(d);
        return r;
}

uint32_t vmiso_template_agent_version(int dir_fd)
{
        _cleanup_free_ char *v = NULL;
        size_t len = 0;
        unsigned long n;
        char *end;

        if (read_full_file_at(dir_fd, VMISO_TEMPLATE_AGENT_FILE, 32, &v, &len) < 0)
                return 0;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno || end == v || (*end && *end != '\n') || n > UINT32_MAX)
                return 0;
        return (uint32_t)n;
}

int vmiso_template_note_agent(const char *cache_dir, const char *key, uint32_t version)
{
        _cleanup_free_ char *dir = strdup_printf("%s/%s", cache_dir, key), *path = NULL;
        char v[16];
        struct stat st;

        if (!dir)
                return -ENOMEM;
        /* No template: hull-vmm could not save it (a warning), or another maker's is there. */
        if (stat(dir, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        path = strdup_printf("%s/" VMISO_TEMPLATE_AGENT_FILE, dir);
        if (!path)
                return -ENOMEM;
        snprintf(v, sizeof(v), "%u\n", version);
        return write_file_atomic(path, v, strlen(v), 0600);
}

/* ------------------------------------------------------------------ hull-vmm's command line */

void vmiso_template_plan_done(struct vmiso_template_plan *t)
{
        t->fd = safe_close(t->fd);
        free(t->cache);
        t->cache = NULL;
        strv_free(t->cold_argv);
        t->cold_argv = NULL;
}

/* argv (a strv) with two more arguments, in a new strv. */
static int argv_plus(char **argv, const char *a, const char *b, char ***ret)
{
        _cleanup_strv_free_ char **n = strv_copy(argv);
        int r;

        if (!n)
                return -ENOMEM;
        if ((r = strv_extend(&n, a)) < 0 || (r = strv_extend(&n, b)) < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

/* hull-vmm's command line for a restore: the snapshot holds the booted kernel, so no --kernel, --initrd,
 * --cmdline. */
static int argv_restore(char **argv, const char *dir, char ***ret)
{
        _cleanup_strv_free_ char **n = NULL;
        int r = 0;

        for (size_t i = 0; argv[i] && r >= 0; i++) {
                if ((streq(argv[i], "--kernel") || streq(argv[i], "--initrd") ||
                     streq(argv[i], "--cmdline")) &&
                    argv[i + 1]) {
                        i++;
                        continue;
                }
                r = strv_extend(&n, argv[i]);
        }
        if (r >= 0 && (r = strv_extend(&n, "--restore")) >= 0)
                r = strv_extend(&n, dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

int vmiso_template_plan(const struct oci_config *cfg, const char *root, const char *port,
                        struct vmiso_template_spec *sp, char ***argv, struct vmiso_template_plan *t)
{
        const char *a = config_annotation(cfg, "io.hull.isolation.template"),
                   *env = getenv("HULL_ISOLATION_TEMPLATE"),
                   *timeout = config_annotation(cfg, "io.hull.isolation.template.timeout");
        const char *cmdline = NULL;
        _cleanup_free_ char *dir = NULL, *spec = NULL;
        char **n = NULL;
        bool limited;
        int r;

        if (a && !streq(a, "on") && !streq(a, "off"))
                return err_set(-EINVAL, "io.hull.isolation.template: expected 'on' or 'off', not '%s'", a);
        t->restore_timeout_ms = VMISO_RESTORE_TIMEOUT_MS;
        if (timeout) {
                uint32_t s;
                if (parse_u32(timeout, &s) < 0 || s < 1 || s > 600)
                        return err_set(-EINVAL,
                                       "io.hull.isolation.template.timeout: "
                                       "expected seconds from 1 to 600, not '%s'",
                                       timeout);
                t->restore_timeout_ms = (int)s * 1000;
        }
        if (a && streq(a, "off")) {
                snprintf(t->note, sizeof(t->note), "cold: io.hull.isolation.template=off");
                return 0;
        }
        if (!a && env && streq(env, "0")) {
                snprintf(t->note, sizeof(t->note), "cold: HULL_ISOLATION_TEMPLATE=0");
                return 0;
        }
        t->cache = strdup_printf("%s/" VMISO_TEMPLATE_DIR, root);
        if (!t->cache)
                return -ENOMEM;
        if (strchr(t->cache, ',')) {
                snprintf(t->note, sizeof(t->note),
                         "cold: a ',' in the runtime root cannot be given to hull-vmm");
                return 0;
        }
        for (size_t i = 0; (*argv)[i]; i++) {
                if (streq((*argv)[i], "--cmdline") && (*argv)[i + 1])
                        cmdline = (*argv)[i + 1];
        }
        sp->vmm = (*argv)[0];
        sp->cmdline = cmdline ?: "";
        if ((r = mkdir_p(t->cache, 0700)) < 0)
                return err_set(r, "cannot create '%s': %s", t->cache, strerror(-r));
        if ((r = vmiso_template_key(sp, t->key)) < 0)
                return r;
        r = vmiso_template_evict(t->cache, VMISO_TEMPLATE_MAX, t->key);
        if (r < 0)
                log_debug("vm templates: eviction in '%s' failed: %s", t->cache, strerror(-r));
        dir = strdup_printf("%s/%s", t->cache, t->key);
        spec = strdup_printf("%s,dir=%s", port, dir);
        if (!dir || !spec)
                return -ENOMEM;
        r = vmiso_template_open(t->cache, t->key, &t->fd);
        if (r < 0)
                return err_set(r, "cannot open the VM template '%s': %s", dir, strerror(-r));
        /*
         * hull-vmm writes a template's memory file (about half the guest's RAM, on the runtime
         * root's tmpfs as a rule) from inside the container's cgroup, which is charged for those
         * pages for as long as the template lives: under a memory limit, which the guest is sized
         * to fill, that is an OOM kill waiting to happen. Such a container restores a template
         * of its size when one exists (a restore is charged for the pages it writes only) but
         * never makes one, nor does the cold boot behind its failed restore.
         */
        limited = cfg->linux_cfg && cfg->linux_cfg->resources && cfg->linux_cfg->resources->has_memory_limit &&
                  cfg->linux_cfg->resources->memory_limit > 0;
        if (r > 0) {
                if (limited)
                        r = (t->cold_argv = strv_copy(*argv)) ? 0 : -ENOMEM;
                else
                        r = argv_plus(*argv, "--snapshot-at-connect", spec, &t->cold_argv);
                if (r < 0 || (r = argv_restore(*argv, dir, &n)) < 0)
                        return r;
                snprintf(t->note, sizeof(t->note), "restore %s", t->key);
        } else if (limited) {
                snprintf(t->note, sizeof(t->note),
                         "cold: a container with a memory limit makes no template (its cgroup would be "
                         "charged for the template's memory)");
                t->key[0] = 0;
                return 0;
        } else {
                if ((r = argv_plus(*argv, "--snapshot-at-connect", spec, &n)) < 0)
                        return r;
                snprintf(t->note, sizeof(t->note), "snapshot %s", t->key);
        }
        strv_free(*argv);
        *argv = n;
        return 0;
}
