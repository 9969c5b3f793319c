/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-boot.c - what an image VM boots from, made on the host before its first start:
 *
 *   - the guest kernel: the guest assets (docs/guest-assets.md: Debian's cloud kernel and
 *     its modules), found at $HULL_GUEST_DIR, else assets/guest of a build tree, else
 *     /usr/share/hull/guest;
 *   - hull's initramfs: an uncompressed cpio (newc, the format of the kernel's
 *     Documentation/driver-api/early-userspace/buffer-format.rst) with /init = hull-init, the
 *     modules of the assets' guest.order (virtio-blk is a module in that kernel) and the
 *     ACPI power button's (button, evdev), cached in <root>/vm-cache/ and remade when
 *     hull-init or the kernel changes;
 *   - the image's root disk: the layers unpacked (copy mode: no mount needed) into a
 *     temporary directory and made into an ext4 file system by mkfs.ext4 -d (e2fsprogs:
 *     root needs no loop device), cached per image id, read-only; each VM writes to a
 *     qcow2 overlay of its own that has it as backing file;
 *   - the config disk (vmconf.h) and the ext4 image of each VM volume.
 */
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "hull-build.h"
#include "chase.h"
#include "rootfs.h"
#include "util.h"
#include "vm-internal.h"
#include "volume.h"

#define GUEST_SYSTEM_DIR "/usr/share/hull/guest"
#define ROOT_DISK_SLACK  (256ULL << 20)

extern char **environ;

/* The directory of this executable (malloc'd). */
static char *exe_dir(void)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n <= 0)
                return NULL;
        self[n] = 0;
        slash = strrchr(self, '/');
        if (!slash)
                return NULL;
        *slash = 0;
        return strdup(self);
}

int vm_find_file(const char *env, const char *const *candidates, const char *what, char **ret)
{
        _cleanup_free_ char *dir = exe_dir();
        const char *v = getenv(env);

        if (v && *v) {
                if (access(v, R_OK) < 0)
                        return err_set(-errno, "$%s: cannot use '%s': %s", env, v, strerror(errno));
                *ret = strdup(v);
                return *ret ? 0 : -ENOMEM;
        }
        for (const char *const *c = candidates; *c; c++) {
                _cleanup_free_ char *p =
                        (*c)[0] == '/' ? strdup(*c) : strdup_printf("%s/%s", dir ?: ".", *c);
                if (!p)
                        return -ENOMEM;
                if (access(p, R_OK) == 0) {
                        *ret = realpath(p, NULL);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        return err_set(-ENOENT, "cannot find %s (set $%s)", what, env);
}

int vm_guest_dir(char **ret)
{
        /* Build tree: build/cmd/hull/hull -> <source>/assets/guest (build/ is in the source tree). */
        static const char *const c[] = {"../../../assets/guest/modules", GUEST_SYSTEM_DIR "/modules", NULL};
        _cleanup_free_ char *modules = NULL;
        const char *v = getenv("HULL_GUEST_DIR");
        int r;

        if (v && *v) {
                *ret = strdup(v);
                return *ret ? 0 : -ENOMEM;
        }
        /* modules/ is a directory: its realpath is where the assets are (vmlinuz is a symlink). */
        r = vm_find_file("HULL_GUEST_DIR", c, "the guest kernel (scripts/guest-assets makes it)", &modules);
        if (r < 0)
                return r;
        *strrchr(modules, '/') = 0;
        *ret = TAKE_PTR(modules);
        return 0;
}

int vm_find_helper(const char *name, const char *env, char **ret)
{
        _cleanup_free_ char *a = strdup(name), *b = strdup_printf("../%s/%s", name, name),
                            *c = strdup_printf("../../guest/%s", name),
                            *d = strdup_printf("%s/%s", HULL_LIBEXECDIR, name);
        const char *const list[] = {a, b, c, d, NULL};

        if (!a || !b || !c || !d)
                return -ENOMEM;
        return vm_find_file(env, list, name, ret);
}

int vm_run_tool(char *const *argv, const char *what)
{
        posix_spawn_file_actions_t fa;
        char tmpl[] = "/tmp/hull-vm-tool-XXXXXX";
        _cleanup_close_ int log = mkostemp(tmpl, O_CLOEXEC);
        int status, r;
        pid_t pid;

        if (log < 0)
                return -errno;
        unlink(tmpl);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, log, 1);
        posix_spawn_file_actions_adddup2(&fa, log, 2);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return err_set(-r, "%s: cannot run %s: %s", what, argv[0], strerror(r));
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        /* The tool's last line says why. */
        char buf[4096] = "";
        ssize_t n = pread(log, buf, sizeof(buf) - 1,
                          MAX((off_t)0, lseek(log, 0, SEEK_END) - (off_t)sizeof(buf) + 1));
        buf[MAX(n, (ssize_t)0)] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        char *last = strrchr(buf, '\n');
        return err_set(-EIO, "%s: %s failed: %s", what, argv[0], last ? last + 1 : buf);
}

/* ---- cpio (newc) ---- */

static int cpio_entry(FILE *f, const char *name, mode_t mode, const void *data, size_t size)
{
        static const char zeros[4] = {};
        size_t namesize = strlen(name) + 1;

        fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", 0u, (unsigned)mode, 0u,
                0u, S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
        fwrite(name, 1, namesize, f);
        fwrite(zeros, 1, ALIGN_UP(110 + namesize, (size_t)4) - (110 + namesize), f);
        if (size) {
                fwrite(data, 1, size, f);
                fwrite(zeros, 1, ALIGN_UP(size, (size_t)4) - size, f);
        }
        return ferror(f) ? -EIO : 0;
}

static int cpio_file(FILE *f, const char *name, const char *path, mode_t mode)
{
        _cleanup_free_ char *data = NULL;
        size_t n;
        int r = read_full_file(path, 256u << 20, &data, &n);
        if (r < 0)
                return err_set(r, "cannot read '%s': %s", path, strerror(-r));
        return cpio_entry(f, name, S_IFREG | mode, data, n);
}

/* The modules hull's initramfs loads, in order: the assets' guest.order, then the power button's. */
static int initrd_modules(const char *guest, char ***ret_names, char ***ret_paths)
{
        _cleanup_strv_free_ char **names = NULL, **paths = NULL;
        _cleanup_free_ char *order_path = strdup_printf("%s/modules/guest.order", guest), *order = NULL;
        _cleanup_free_ char *kver = NULL, *kdir = strdup_printf("%s/kernel/lib/modules", guest);
        int r;

        if (!order_path || !kdir)
                return -ENOMEM;
        r = read_full_file(order_path, 1 << 20, &order, NULL);
        if (r < 0)
                return err_set(r, "cannot read '%s' (scripts/guest-assets makes it)", order_path);
        for (char *l = strtok(order, "\n"); l; l = strtok(NULL, "\n")) {
                char *p = strdup_printf("%s/modules/%s.ko", guest, l);
                if (!p || strv_extend(&names, l) < 0 || strv_push(&paths, p) < 0)
                        return -ENOMEM;
        }
        _cleanup_(closedirp) DIR *d = opendir(kdir);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.') {
                        kver = strdup(de->d_name);
                        break;
                }
        static const char *const extra[][2] = {{"button", "drivers/acpi/button.ko"},
                                               {"evdev", "drivers/input/evdev.ko"}};
        for (size_t i = 0; kver && i < ELEMENTSOF(extra); i++) {
                char *p = strdup_printf("%s/%s/kernel/%s", kdir, kver, extra[i][1]);
                if (!p)
                        return -ENOMEM;
                /* Built in, or compressed in another kernel package: stop works by timeout then. */
                if (access(p, R_OK) < 0) {
                        free(p);
                        continue;
                }
                if (strv_extend(&names, extra[i][0]) < 0 || strv_push(&paths, p) < 0)
                        return -ENOMEM;
        }
        *ret_names = TAKE_PTR(names);
        *ret_paths = TAKE_PTR(paths);
        return 0;
}

int vm_boot_initrd(struct engine *e, const char *guest, char **ret)
{
        _cleanup_free_ char *init = NULL, *cache = strdup_printf("%s/vm-cache", e->root), *path = NULL,
                            *tmp = NULL, *kernel = strdup_printf("%s/vmlinuz", guest);
        _cleanup_strv_free_ char **names = NULL, **paths = NULL;
        _cleanup_free_ char *order = NULL;
        size_t olen = 0;
        struct stat si, sk, sc;
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        if (!cache || !kernel)
                return -ENOMEM;
        if ((r = vm_find_helper("hull-init", "HULL_INIT", &init)) < 0)
                return r;
        if (stat(init, &si) < 0 || stat(kernel, &sk) < 0)
                return err_set(-errno, "cannot find the guest kernel or hull-init: %s", strerror(errno));
        path = strdup_printf("%s/initrd-%llx-%llx.cpio", cache,
                             (unsigned long long)si.st_mtim.tv_sec ^ (unsigned long long)si.st_size,
                             (unsigned long long)sk.st_ino ^ (unsigned long long)sk.st_mtim.tv_sec);
        if (!path)
                return -ENOMEM;
        if (stat(path, &sc) == 0) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        if ((r = mkdir_p(cache, 0700)) < 0 || (r = initrd_modules(guest, &names, &paths)) < 0)
                return r;
        tmp = strdup_printf("%s.%d.tmp", path, getpid());
        if (!tmp || !(f = fopen(tmp, "we")))
                return tmp ? -errno : -ENOMEM;
        static const char *const dirs[] = {"dev", "proc", "sys", "newroot", "lib", "lib/modules"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if ((r = cpio_entry(f, dirs[i], S_IFDIR | 0755, NULL, 0)) < 0)
                        goto fail;
        if ((r = cpio_file(f, "init", init, 0755)) < 0)
                goto fail;
        FILE *o = open_memstream(&order, &olen);
        if (!o) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *name = strdup_printf("lib/modules/%s.ko", names[i]);
                fprintf(o, "%s\n", names[i]);
                if (!name || (r = cpio_file(f, name, paths[i], 0644)) < 0) {
                        fclose(o);
                        r = r < 0 ? r : -ENOMEM;
                        goto fail;
                }
        }
        fclose(o);
        if ((r = cpio_entry(f, "lib/modules/order", S_IFREG | 0644, order, olen)) < 0 ||
            (r = cpio_entry(f, "TRAILER!!!", 0, NULL, 0)) < 0)
                goto fail;
        if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        *ret = TAKE_PTR(path);
        return 0;
fail:
        unlink(tmp);
        return r;
}

/* Bytes used under dir (st_blocks), to size the ext4 image. */
static uint64_t tree_size(int dfd)
{
        _cleanup_(closedirp) DIR *d = fdopendir(dfd);
        struct dirent *de;
        uint64_t total = 0;

        if (!d) {
                close(dfd);
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                total += (uint64_t)st.st_blocks * 512 + 256; /* + an inode's share */
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd(d), de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                total += tree_size(sub);
                }
        }
        return total;
}

/* The virtio and vsock modules an image's kernel is asked for, each after what it depends on
 * (the order of the guest assets' guest.order for Debian's cloud kernel); missing ones are
 * built in. */
static const char *const image_kernel_modules[] = {
        "virtio_ring",
        "virtio",
        "virtio_pci_modern_dev",
        "virtio_pci_legacy_dev",
        "virtio_pci",
        "virtio_blk",
        "failover",
        "net_failover",
        "virtio_net",
        "vsock",
        "vmw_vsock_virtio_transport_common",
        "vmw_vsock_virtio_transport",
};

/* Copy the file at path inside the tree (resolved confined to it: the image is not trusted) to dst. */
static int copy_from_tree(int tree_fd, const char *path, const char *dst)
{
        _cleanup_close_ int in = chase_open(tree_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t n;
        int r;

        if (in < 0)
                return in;
        if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
                return -EINVAL;
        if ((r = read_full_fd(in, 256u << 20, &data, &n)) < 0)
                return r;
        return write_file_atomic(dst, data, n, 0644);
}

/* Find a module's file under lib/modules/<ver>/kernel of the tree: its path relative to the tree. */
static int find_module_in(int tree_fd, const char *kdir, const char *name, char **ret)
{
        _cleanup_close_ int d = chase_open(tree_fd, kdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        _cleanup_(closedirp) DIR *dir = NULL;
        struct dirent *de;
        char file[256], alt[256];

        if (d < 0)
                return d;
        snprintf(file, sizeof(file), "%s.ko", name);
        snprintf(alt, sizeof(alt), "%s.ko", name);
        for (char *c = alt; *c; c++)
                *c = *c == '_' ? '-' : *c == '-' ? '_' : *c;
        dir = fdopendir(TAKE_FD(d));
        while (dir && (de = readdir(dir))) {
                _cleanup_free_ char *sub = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (streq(de->d_name, file) || streq(de->d_name, alt)) {
                        *ret = strdup_printf("%s/%s", kdir, de->d_name);
                        return *ret ? 0 : -ENOMEM;
                }
                if (de->d_type == DT_DIR && (sub = strdup_printf("%s/%s", kdir, de->d_name)) &&
                    find_module_in(tree_fd, sub, name, ret) == 0)
                        return 0;
        }
        return -ENOENT;
}

/*
 * An image with its own kernel (boot/vmlinuz-<ver> and lib/modules/<ver>/) boots it: its kernel
 * and the modules hull's initramfs loads are copied into <guest>, laid out as the guest assets
 * are (vmlinuz, modules/guest.order and modules/NAME.ko, kernel/lib/modules/<ver>/... for the power
 * button's), so that the rest of the boot does not care where the kernel came from. 0 with
 * nothing made when the image has no kernel. Compressed modules (.ko.xz, .ko.zst) are not
 * supported: hull-init loads module files as they are.
 */
static int image_kernel(const char *tree, const char *guest)
{
        _cleanup_close_ int tfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int boot = -EBADF;
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *ver = NULL, *order = NULL, *kdir = NULL;
        struct dirent *de;
        size_t olen = 0;
        int r;

        if (tfd < 0)
                return -errno;
        boot = chase_open(tfd, "/boot", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (boot < 0)
                return 0;
        d = fdopendir(TAKE_FD(boot));
        while (d && (de = readdir(d))) {
                const char *v = startswith(de->d_name, "vmlinuz-");
                _cleanup_free_ char *mods = v ? strdup_printf("/lib/modules/%s", v) : NULL;
                _cleanup_close_ int m =
                        mods ? chase_open(tfd, mods, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) : -EBADF;
                /* The newest version whose modules are there. */
                if (m >= 0 && (!ver || strverscmp(v, ver) > 0)) {
                        free(ver);
                        if (!(ver = strdup(v)))
                                return -ENOMEM;
                }
        }
        if (!ver)
                return 0;
        _cleanup_free_ char *src = strdup_printf("/boot/vmlinuz-%s", ver),
                            *dst = strdup_printf("%s/vmlinuz", guest),
                            *mdir = strdup_printf("%s/modules", guest);
        kdir = strdup_printf("/lib/modules/%s/kernel", ver);
        if (!src || !dst || !mdir || !kdir)
                return -ENOMEM;
        if ((r = mkdir_p(mdir, 0755)) < 0 || (r = copy_from_tree(tfd, src, dst)) < 0)
                return err_set(r, "the image's kernel %s: %s", src, strerror(-r));
        FILE *o = open_memstream(&order, &olen);
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(image_kernel_modules); i++) {
                _cleanup_free_ char *mod = NULL, *out = NULL;
                if (find_module_in(tfd, kdir, image_kernel_modules[i], &mod) < 0)
                        continue;
                out = strdup_printf("%s/%s.ko", mdir, image_kernel_modules[i]);
                if (!out || copy_from_tree(tfd, mod, out) < 0)
                        continue;
                fprintf(o, "%s\n", image_kernel_modules[i]);
        }
        fclose(o);
        _cleanup_free_ char *order_path = strdup_printf("%s/guest.order", mdir);
        if (!order_path || (r = write_file_atomic(order_path, order ?: "", olen, 0644)) < 0)
                return r < 0 ? r : -ENOMEM;
        static const char *const extra[] = {"drivers/acpi/button.ko", "drivers/input/evdev.ko"};
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                _cleanup_free_ char *from = strdup_printf("%s/%s", kdir, extra[i]),
                                    *to = strdup_printf("%s/kernel/lib/modules/%s/kernel/%s", guest, ver,
                                                        extra[i]);
                _cleanup_free_ char *to_dir = to ? strdup(to) : NULL;
                if (!from || !to || !to_dir)
                        return -ENOMEM;
                *strrchr(to_dir, '/') = 0;
                if (mkdir_p(to_dir, 0755) >= 0)
                        (void)copy_from_tree(tfd, from, to);
        }
        return 1;
}

int vm_image_disk(struct engine *e, const char *image_id, char **ret)
{
        _cleanup_free_ char *dir = strdup_printf("%s/vm-cache/images", e->root);
        _cleanup_free_ char *path = strdup_printf("%s/%s.ext4", dir ?: "", image_id);
        _cleanup_free_ char *tmp = NULL, *tree = NULL, *upper = NULL, *work = NULL, *size = NULL,
                            *img = NULL, *guest = NULL, *guest_tmp = NULL;
        struct image_store *s;
        enum rootfs_mode mode;
        int r;

        if (!dir || !path)
                return -ENOMEM;
        if (access(path, R_OK) == 0) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        if ((r = mkdir_p(dir, 0700)) < 0)
                return r;
        tmp = strdup_printf("%s/.%s.%d", dir, image_id, getpid());
        tree = strdup_printf("%s/rootfs", tmp ?: "");
        upper = strdup_printf("%s/upper", tmp ?: "");
        work = strdup_printf("%s/work", tmp ?: "");
        if (!tmp || !tree || !upper || !work)
                return -ENOMEM;
        if ((r = mkdir_p(tree, 0755)) < 0)
                return r;
        if ((r = engine_store(e, &s)) < 0)
                goto out;
        r = rootfs_mount(s, image_id, tree, upper, work, ROOTFS_FORCE_COPY, &mode);
        if (r < 0)
                goto out;
        /* Its own kernel, when it has one: <id>.guest, made before the disk that marks the cache complete.
         */
        guest = strdup_printf("%s/%s.guest", dir, image_id);
        guest_tmp = strdup_printf("%s/guest", tmp);
        if (!guest || !guest_tmp) {
                r = -ENOMEM;
                goto out;
        }
        if ((r = image_kernel(tree, guest_tmp)) < 0)
                goto out;
        if (r > 0) {
                rm_rf(guest);
                if (rename(guest_tmp, guest) < 0) {
                        r = -errno;
                        goto out;
                }
        }
        uint64_t bytes = tree_size(open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        bytes = ALIGN_UP(bytes + bytes / 4 + ROOT_DISK_SLACK, 1ULL << 20);
        img = strdup_printf("%s/disk.ext4", tmp);
        size = strdup_printf("%" PRIu64 "k", bytes >> 10);
        if (!img || !size) {
                r = -ENOMEM;
                goto out;
        }
        char *const argv[] = {(char *)"mkfs.ext4",
                              (char *)"-q",
                              (char *)"-F",
                              (char *)"-L",
                              (char *)"hull-root",
                              (char *)"-E",
                              (char *)"root_owner=0:0",
                              (char *)"-d",
                              tree,
                              img,
                              size,
                              NULL};
        if ((r = vm_run_tool(argv, "making the image's root disk")) < 0)
                goto out;
        if (chmod(img, 0444) < 0 || rename(img, path) < 0) {
                r = -errno;
                goto out;
        }
        *ret = TAKE_PTR(path);
        r = 0;
out:
        rm_rf(tmp);
        return r;
}

int vm_config_disk(const char *path, const struct vmconf *c)
{
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r = vmconf_format(c, &buf, &n);
        if (r < 0)
                return r == -E2BIG ? err_set(r, "the first-boot config is larger than 1 MiB") : r;
        return write_file_atomic(path, buf, n, 0600);
}

int vm_volume_disk(struct engine *e, const struct vm_volume_spec *v, char **ret)
{
        _cleanup_free_ char *data = volume_data_path(e, v->name), *path = NULL, *size = NULL;
        int r;

        if (!data || !(path = strdup_printf("%s/" VM_VOLUME_DISK, data)))
                return -ENOMEM;
        if (access(path, F_OK) == 0) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        size = strdup_printf("%" PRIu64 "k", v->size >> 10);
        if (!size)
                return -ENOMEM;
        char *const argv[] = {(char *)"mkfs.ext4",   (char *)"-q", (char *)"-F", (char *)"-L",
                              (char *)"hull-volume", path,         size,         NULL};
        r = vm_run_tool(argv, "making the volume's disk");
        if (r < 0) {
                unlink(path);
                return r;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

void vm_image_cache_drop(struct engine *e, const char *image_id)
{
        /* isolation.ext4: the root disk of its VM-isolated containers (container.c, docs/agent.md). */
        static const char *const suffixes[] = {"ext4", "guest", "isolation.ext4"};

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/vm-cache/images/%s.%s", e->root, image_id, suffixes[i]);
                if (p)
                        (void)rm_rf(p);
        }
}
