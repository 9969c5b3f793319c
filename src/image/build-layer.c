/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-layer.c - the file systems of build steps: an overlay of a stage's
 * layers with a fresh upper directory, and the commit of what a step wrote
 * there as the stage's next layer.
 *
 * Every step that writes (RUN, COPY, ADD, a WORKDIR that must be created)
 * mounts <build dir>/<name>/rootfs over the stage's layers with the upper and
 * work directories beside it (rootfs.h), writes through the mount, unmounts,
 * and commits the upper directory: rootfs_diff_tar() turns it into an OCI layer
 * tar (whiteouts and opaque directories as .wh. entries), which is staged,
 * imported with the new config as an untagged image (import.h, so the layer is
 * hashed, unpacked and recorded like any other), and that image holds the
 * stage's layers from then on. A step whose upper directory is empty makes no
 * layer, only a history entry with empty_layer, as Docker does for metadata.
 *
 * A build needs a real overlay: the copy fallback of rootfs.h has no upper
 * directory to commit, so it is refused with a clear message.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "error.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "util.h"

int build_check_image(struct build *b, const struct build_state *st)
{
        /* `hull image prune` from another process removes unnamed images, cached steps included. */
        if (st->image_id && !store_image_exists(b->store, st->image_id))
                return err_set(-ENOENT,
                               "image %.19s, which holds the layers so far, was removed during the build",
                               st->image_id);
        return 0;
}

int build_mount(struct build *b, const struct build_state *st, const char *name, bool read_only,
                struct build_mount *ret)
{
        _cleanup_free_ char *work = NULL, *empty = NULL;
        struct build_mount m = {.root_fd = -EBADF};
        unsigned flags = read_only ? ROOTFS_READ_ONLY : ROOTFS_VOLATILE; /* the upper becomes a layer while mounted */
        int r;

        m.dir = strdup_printf("%s/%s", b->dir, name);
        m.rootfs = strdup_printf("%s/%s/rootfs", b->dir, name);
        m.upper = strdup_printf("%s/%s/upper", b->dir, name);
        work = strdup_printf("%s/%s/work", b->dir, name);
        if (!m.dir || !m.rootfs || !m.upper || !work) {
                r = -ENOMEM;
                goto fail;
        }
        /* Fresh: an earlier step of the same name left nothing, but a stale upper would become a layer. */
        if ((r = rm_rf(m.dir)) < 0 || (r = mkdir_p(m.dir, 0700)) < 0) {
                r = err_set(r, "cannot create '%s': %s", m.dir, strerror(-r));
                goto fail;
        }
        if (st->image_id && (r = build_check_image(b, st)) < 0)
                goto fail;
        if (st->image_id)
                r = rootfs_mount(b->store, st->image_id, m.rootfs, m.upper, work, flags, &m.mode);
        else {
                /* FROM scratch: overlay needs one lower directory, an empty one will do. */
                char *layers[2] = {NULL, NULL};
                empty = strdup_printf("%s/%s/empty", b->dir, name);
                if (!empty) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (mkdir(empty, 0755) < 0) {
                        r = err_set(negative_errno(), "cannot create '%s': %m", empty);
                        goto fail;
                }
                layers[0] = empty;
                r = rootfs_mount_layers(layers, m.rootfs, m.upper, work, flags, &m.mode);
        }
        if (r < 0)
                goto fail;
        m.mounted = true;
        m.root_fd = open(m.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m.root_fd < 0) {
                r = err_set(negative_errno(), "cannot open '%s': %m", m.rootfs);
                goto fail;
        }
        if (m.mode != ROOTFS_OVERLAY) {
                r = err_set(-EOPNOTSUPP,
                            "cannot mount an overlay in '%s': build needs overlay file systems "
                            "(and the store on a file system overlay accepts as upper directory)",
                            b->dir);
                goto fail;
        }
        *ret = m;
        return 0;
fail:
        build_umount(&m);
        return r;
}

int build_mount_detach(struct build_mount *m)
{
        int r = 0;

        m->root_fd = safe_close(m->root_fd);
        if (m->mounted) {
                r = rootfs_umount(m->rootfs, m->mode);
                m->mounted = false;
        }
        return r;
}

int build_umount(struct build_mount *m)
{
        int r = 0, k;

        /* Without dir the mount was never set up (or is zeroed): its fd and mount are not ours. */
        if (m->dir) {
                r = build_mount_detach(m);
                k = rm_rf(m->dir);
                if (k < 0 && r >= 0)
                        r = err_set(k, "cannot remove '%s': %s", m->dir, strerror(-k));
        }
        free(m->dir);
        free(m->rootfs);
        free(m->upper);
        *m = (struct build_mount){.root_fd = -EBADF};
        return r;
}

static int dir_is_empty(int fd)
{
        /* A new open file: a dup would share (and move) the directory position of fd. */
        DIR *d = fdopendir(openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dirent *de;
        bool empty = true;

        if (!d)
                return negative_errno();
        while (empty && (de = readdir(d)))
                empty = streq(de->d_name, ".") || streq(de->d_name, "..");
        closedir(d);
        return empty;
}

/* Stage the diff of upper as a blob of t; its descriptor (digest in digest) through ret. */
static int stage_diff(struct build *b, struct store_txn *t, int upper_fd, char digest[80], int64_t *ret_size)
{
        uint64_t size;
        int r = rootfs_diff_blob(t, upper_fd, b->dir, digest, &size);

        if (r < 0)
                return r;
        *ret_size = (int64_t)size;
        return 0;
}

int build_import(struct build *b, struct store_txn *t, struct build_state *st,
                 const struct descriptor *extra, char **tags, char **ret_id)
{
        _cleanup_free_ struct descriptor *descs = NULL;
        struct store_layer *layers = NULL;
        struct image_import im = {.store = b->store, .txn = t};
        size_t n = 0;
        int r;

        if (!build_state_text(st))
                return -ENOMEM;
        if ((r = build_check_image(b, st)) < 0)
                return r;
        if (st->image_id && (r = store_image_layers(b->store, st->image_id, &layers, &n)) < 0)
                return r;
        descs = calloc(n + 1, sizeof(*descs));
        if (!descs) {
                store_layers_free(layers, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                descs[i] = (struct descriptor){.media_type = layers[i].media_type,
                                               .digest = layers[i].blob_digest,
                                               .size = layers[i].blob_size};
        if (extra)
                descs[n] = *extra;
        r = image_import_config(&im, st->config_text, descs, n + !!extra, tags, ret_id);
        store_layers_free(layers, n);
        return r < 0 ? r : 0;
}

int build_commit(struct build *b, struct build_state *st, const char *upper, const char *created_by)
{
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_close_ int upper_fd = -EBADF;
        _cleanup_free_ char *new_id = NULL;
        char digest[80];
        int64_t size = 0;
        int r;

        upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (upper_fd < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", upper);
        r = dir_is_empty(upper_fd);
        if (r < 0)
                return r;
        if (r > 0) {
                r = build_config_history(st->config, created_by, true);
                if (r < 0)
                        return r;
                free(st->config_text);
                st->config_text = NULL;
                return 0;
        }
        r = store_txn_begin(b->store, &t);
        if (r < 0)
                return r;
        r = stage_diff(b, t, upper_fd, digest, &size);
        if (r < 0)
                return r;
        if ((r = build_config_add_diff_id(st->config, digest)) < 0 ||
            (r = build_config_history(st->config, created_by, false)) < 0)
                return r;
        free(st->config_text);
        st->config_text = NULL;
        /* A plain tar: its digest is its diff_id. */
        struct descriptor layer = {.media_type = (char *)MT_OCI_LAYER, .digest = digest, .size = size};
        r = build_import(b, t, st, &layer, NULL, &new_id);
        if (r < 0)
                return r;
        log_debug("build: layer %s committed as image %s", digest, new_id);
        free(st->image_id);
        st->image_id = TAKE_PTR(new_id);
        return 1;
}
