/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cp.c - `hull cp`: copies between the host and a container, with `docker cp`'s rules:
 *
 *   SRC a file:       DEST an existing directory -> DEST/<name of SRC>; else DEST is the file
 *   SRC a directory:  DEST an existing directory -> DEST/<name of SRC>; else DEST is created
 *   SRC ending in /.: the directory's contents go into DEST (created when missing)
 *
 * The container's side is resolved inside its root with chase.h: through /proc/<pid>/root
 * while it runs (its whole view, volumes and tmpfs included), else through its rootfs
 * mounted for the copy, where volume and bind mount points are redirected to their
 * sources. A symlink at the end of SRC is copied as a symlink.
 *
 * "-" as the host side is a tar stream: out of the container, the entry SRC (or, for SRC/.,
 * its contents) with symlinks archived as such; into it, a plain tar (no layer whiteouts)
 * unpacked into the existing directory DEST with the layer unpacker's confinement: no entry
 * lands outside DEST, whatever its name or the symlinks before it.
 */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "chase.h"
#include "container-internal.h"
#include "cp.h"
#include "error.h"
#include "fscopy.h"
#include "leftovers.h"
#include "rootfs.h"
#include "store.h"
#include "util.h"
#include "volume.h"

int (*ctr_copy_stream)(int dfd, const char *name, bool whole_dir, bool in, int fd);

struct side {
        int dfd;    /* directory holding the entry */
        char *name; /* entry name in dfd ("." for "contents of") */
        bool exists, is_dir, contents;
};

static void side_done(struct side *s)
{
        safe_close(s->dfd);
        free(s->name);
}

/* Split path into parent and last name; "/." and "/" endings mean "the directory's contents". */
static int split(const char *path, char **ret_parent, char **ret_name, bool *ret_contents)
{
        _cleanup_free_ char *p = strdup(path);
        size_t n;
        char *slash;

        if (!p)
                return -ENOMEM;
        n = strlen(p);
        *ret_contents = false;
        if (n >= 2 && streq(p + n - 2, "/.")) {
                *ret_contents = true;
                p[n - 2] = 0;
                n -= 2;
        }
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        slash = strrchr(p, '/');
        if (!slash) {
                *ret_parent = strdup(".");
                *ret_name = strdup(p);
        } else if (slash == p) {
                *ret_parent = strdup("/");
                *ret_name = strdup(slash[1] ? slash + 1 : ".");
        } else {
                *slash = 0;
                *ret_parent = strdup(p);
                *ret_name = strdup(slash + 1);
        }
        return *ret_parent && *ret_name ? 0 : -ENOMEM;
}

/* Resolve path on the host (root_fd < 0) or in a container root. */
static int resolve(int root_fd, const char *path, struct side *s)
{
        _cleanup_free_ char *parent = NULL, *name = NULL;
        struct stat st;
        int r;

        r = split(path, &parent, &name, &s->contents);
        if (r < 0)
                return r;
        s->dfd = root_fd >= 0 ? chase_open(root_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
                              : open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dfd < 0)
                return err_set(s->dfd < 0 && root_fd >= 0 ? s->dfd : negative_errno(),
                               "'%s': no such directory", parent);
        s->name = TAKE_PTR(name);
        if (fstatat(s->dfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                s->exists = true;
                s->is_dir = S_ISDIR(st.st_mode);
        }
        return 0;
}

static int do_copy(struct side *src, struct side *dst, const char *src_path, const char *dst_path,
                   unsigned flags)
{
        _cleanup_close_ int into = -EBADF;
        const char *leaf;

        if (!src->exists)
                return err_set(-ENOENT, "'%s': no such file or directory", src_path);
        if (src->contents) {
                _cleanup_close_ int from = -EBADF;
                if (!src->is_dir)
                        return err_set(-ENOTDIR, "'%s': not a directory", src_path);
                if (!dst->exists && mkdirat(dst->dfd, dst->name, 0755) < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", dst_path);
                from = openat(src->dfd, src->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                into = openat(dst->dfd, dst->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (from < 0 || into < 0)
                        return err_set(-ENOTDIR, "'%s': not a directory", from < 0 ? src_path : dst_path);
                return fscopy_dir_contents(from, into, flags);
        }
        leaf = streq(src->name, ".") ? "." : src->name;
        if (dst->exists && dst->is_dir) {
                into = openat(dst->dfd, dst->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (into < 0)
                        return err_set(negative_errno(), "cannot open '%s': %m", dst_path);
                return fscopy_entry(src->dfd, leaf, into, leaf, flags);
        }
        if (dst->contents)
                return err_set(-ENOENT, "'%s': no such directory", dst_path);
        return fscopy_entry(src->dfd, leaf, dst->dfd, dst->name, flags);
}

/* A stopped container's path may be on a volume or a bind mount: use the source then. */
static int redirect(struct engine *e, const struct runspec *s, const char *path, char **ret_root,
                    char **ret_path)
{
        size_t best = 0;
        const struct runspec_mount *m = NULL;

        for (size_t i = 0; i < s->n_mounts; i++) {
                size_t l = strlen(s->mounts[i].destination);
                if (s->mounts[i].kind != MOUNT_TMPFS && l > best &&
                    strncmp(path, s->mounts[i].destination, l) == 0 && (path[l] == '/' || path[l] == 0)) {
                        best = l;
                        m = &s->mounts[i];
                }
        }
        if (!m)
                return 0;
        *ret_root = m->kind == MOUNT_VOLUME ? volume_data_path(e, m->source) : strdup(m->source);
        *ret_path = strdup(path[best] ? path + best : "/");
        return *ret_root && *ret_path ? 1 : -ENOMEM;
}

int ctr_copy(struct engine *e, struct workload *w, bool to_container, const char *cpath, const char *hpath,
             bool archive, int stream_fd)
{
        _cleanup_close_ int lock = -EBADF, root_fd = -EBADF;
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *rootfs = NULL, *vroot = NULL,
                            *vpath = NULL;
        _cleanup_runspec_ struct runspec *spec = NULL;
        struct side c = {.dfd = -EBADF}, h = {.dfd = -EBADF};
        bool mounted = false;
        enum rootfs_mode mode = ROOTFS_OVERLAY;
        int r;

        if (!dir || !(rootfs = strdup_printf("%s/rootfs", dir)))
                return -ENOMEM;
        if (cpath[0] != '/')
                return err_set(-EINVAL, "the path in the container must be absolute, not '%s'", cpath);
        if (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED) {
                _cleanup_free_ char *proot = strdup_printf("/proc/%lld/root", (long long)w->pid);
                if (!proot)
                        return -ENOMEM;
                root_fd = open(proot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0 || !proc_alive((pid_t)w->pid, (uint64_t)w->pid_start))
                        return err_set(-ESRCH, "container %s stopped during the copy", w->name);
        } else {
                _cleanup_strv_free_ char **layers = NULL;
                struct image_store *s;
                /* Keep a start from mounting over us while the rootfs is borrowed. */
                if ((r = ctr_lock(e, w->id, true, &lock)) < 0 || (r = ctr_spec(w, &spec)) < 0)
                        return r;
                r = redirect(e, spec, cpath, &vroot, &vpath);
                if (r < 0)
                        return r;
                if (r > 0) {
                        root_fd = open(vroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        cpath = vpath;
                } else {
                        if ((r = engine_store(e, &s)) < 0 ||
                            (r = store_image_layer_paths(s, w->image_id, &layers)) < 0)
                                return r;
                        _cleanup_free_ char *upper = strdup_printf("%s/upper", dir),
                                            *work = strdup_printf("%s/work", dir);
                        if (!upper || !work)
                                return -ENOMEM;
                        /* With the container's own upper directory: its changes are part of its files. */
                        leftover_umount(rootfs);
                        r = rootfs_mount_layers(layers, rootfs, upper, work, 0, &mode);
                        engine_store_release(e);
                        if (r < 0)
                                return r;
                        mounted = true;
                        root_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (root_fd < 0) {
                        r = err_set(negative_errno(), "cannot open the container's files: %m");
                        goto out;
                }
        }
        if (streq(hpath, "-")) {
                r = resolve(root_fd, cpath, &c);
                if (r >= 0 && !ctr_copy_stream)
                        r = err_set(-EOPNOTSUPP, "%s", "tar streams are served by hull-image");
                else if (r >= 0) {
                        if (!c.exists)
                                r = err_set(-ENOENT, "'%s': no such file or directory", cpath);
                        else if ((to_container || c.contents) && !c.is_dir)
                                r = err_set(-ENOTDIR, "'%s': %s", cpath,
                                            to_container
                                                    ? "the destination of a tar stream must be a directory"
                                                    : "not a directory");
                        else
                                r = ctr_copy_stream(c.dfd, c.name, c.contents || to_container, to_container,
                                                    stream_fd);
                }
                goto out;
        }
        if ((r = resolve(root_fd, cpath, &c)) < 0 || (r = resolve(-EBADF, hpath, &h)) < 0)
                goto out;
        r = to_container ? do_copy(&h, &c, hpath, cpath, archive ? FSCOPY_KEEP_OWNER : 0)
                         : do_copy(&c, &h, cpath, hpath, archive ? FSCOPY_KEEP_OWNER : 0);
out:
        side_done(&c);
        side_done(&h);
        if (mounted) {
                root_fd = safe_close(root_fd);
                rootfs_umount(rootfs, mode);
        }
        return r;
}
