/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs-commit.c - the changes in an overlay upper directory as an image layer
 * (rootfs_diff_tar) and as a new image on top of its parent (rootfs_commit); see
 * rootfs.h. Walks go through directory fds opened with O_NOFOLLOW, entry by
 * entry, so that a symlink in the upper directory never leads the diff out of it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "chase.h"
#include "error.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "rootfs-internal.h"
#include "rootfs.h"
#include "sha256.h"
#include "util.h"

/* ------------------------------------------------------------------ diff */

struct differ {
        struct archive *a;
        bool layer; /* overlay whiteouts and opaque directories become .wh. markers */
        struct hardlink *links;
        size_t n_links;
};

static int write_header(struct differ *df, const char *path, const struct stat *st, const char *link,
                        const char *hardlink, int fd, const char *lpath)
{
        struct archive_entry *e = archive_entry_new();
        char names[4096];
        ssize_t n;
        int r = 0;

        if (!e)
                return -ENOMEM;
        archive_entry_copy_stat(e, st);
        archive_entry_set_pathname(e, path);
        if (link)
                archive_entry_set_symlink(e, link);
        if (hardlink) {
                archive_entry_set_hardlink(e, hardlink);
                archive_entry_set_size(e, 0);
        }
        if (!S_ISREG(st->st_mode))
                archive_entry_set_size(e, 0);
        n = fd >= 0 ? flistxattr(fd, names, sizeof(names)) : lpath ? llistxattr(lpath, names, sizeof(names)) : 0;
        for (char *p = names; n > 0 && p < names + n; p += strlen(p) + 1) {
                char val[4096];
                ssize_t k;
                if (startswith(p, "trusted.overlay."))
                        continue;
                k = fd >= 0 ? fgetxattr(fd, p, val, sizeof(val)) : lgetxattr(lpath, p, val, sizeof(val));
                if (k >= 0)
                        archive_entry_xattr_add_entry(e, p, val, (size_t)k);
        }
        if (archive_write_header(df->a, e) < ARCHIVE_WARN)
                r = err_set(-EIO, "writing the diff: %s", archive_error_string(df->a));
        archive_entry_free(e);
        return r;
}

static int write_marker(struct differ *df, const char *dir, const char *name)
{
        struct stat st = { .st_mode = S_IFREG | 0644, .st_nlink = 1 };
        _cleanup_free_ char *p = strdup_printf("%s%s%s", dir, *dir ? "/" : "", name);
        if (!p)
                return -ENOMEM;
        return write_header(df, p, &st, NULL, NULL, -EBADF, NULL);
}

static int diff_tree(struct differ *df, int dfd, const char *rel);

/* Entry name of directory dfd, as path in the tar. */
static int diff_entry(struct differ *df, int dfd, const char *name, const char *rel, const char *path)
{
        _cleanup_free_ char *lpath = NULL;
        struct stat st;
        char buf[32];
        int r;

        lpath = strdup_printf("%s/%s", fd_path(dfd, buf), name);
        if (!lpath)
                return -ENOMEM;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (df->layer && is_whiteout(&st)) {
                _cleanup_free_ char *wh = strdup_printf(".wh.%s", name);
                return wh ? write_marker(df, rel, wh) : -ENOMEM;
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return negative_errno();
                r = write_header(df, path, &st, NULL, NULL, sub, NULL);
                if (r >= 0 && df->layer && is_opaque(sub))
                        r = write_marker(df, path, ".wh..wh..opq");
                return r < 0 ? r : diff_tree(df, sub, path);
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *copy = NULL;
                const char *first = NULL;
                char data[65536];

                for (size_t i = 0; st.st_nlink > 1 && i < df->n_links; i++)
                        if (df->links[i].dev == st.st_dev && df->links[i].ino == st.st_ino)
                                first = df->links[i].path;
                if (first)
                        return write_header(df, path, &st, NULL, first, -EBADF, lpath);
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                r = write_header(df, path, &st, NULL, NULL, fd, NULL);
                for (;;) {
                        ssize_t k = r < 0 ? 0 : read(fd, data, sizeof(data));
                        if (k < 0)
                                r = negative_errno();
                        if (k <= 0)
                                break;
                        if (archive_write_data(df->a, data, (size_t)k) != k)
                                r = err_set(-EIO, "writing the tar: %s", archive_error_string(df->a));
                }
                if (r >= 0 && st.st_nlink > 1) {
                        struct hardlink *nl = realloc(df->links, (df->n_links + 1) * sizeof(*nl));
                        if (!nl || !(copy = strdup(path))) {
                                if (nl)
                                        df->links = nl;
                                return -ENOMEM;
                        }
                        df->links = nl;
                        df->links[df->n_links++] = (struct hardlink){st.st_dev, st.st_ino, TAKE_PTR(copy)};
                }
                return r;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t k = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (k < 0)
                        return negative_errno();
                target[k] = 0;
                return write_header(df, path, &st, target, NULL, -EBADF, lpath);
        }
        return write_header(df, path, &st, NULL, NULL, -EBADF, lpath);
}

static int diff_tree(struct differ *df, int dfd, const char *rel)
{
        DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
        struct dirent *de;
        int r = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d)) && r >= 0) {
                _cleanup_free_ char *path = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                path = strdup_printf("%s%s%s", rel, *rel ? "/" : "", de->d_name);
                r = path ? diff_entry(df, dirfd(d), de->d_name, rel, path) : -ENOMEM;
        }
        closedir(d);
        return r;
}

/* Write a tar to out_fd: of the tree below dfd (name NULL), or of entry name of dfd. */
static int write_tar(int dfd, const char *name, bool layer, int out_fd)
{
        struct differ df = {.a = archive_write_new(), .layer = layer};
        int r;

        if (!df.a)
                return -ENOMEM;
        archive_write_set_format_pax_restricted(df.a);
        archive_write_set_bytes_in_last_block(df.a, 1);
        if (archive_write_open_fd(df.a, out_fd) != ARCHIVE_OK) {
                r = err_set(-EIO, "%s", archive_error_string(df.a));
                goto out;
        }
        r = name ? diff_entry(&df, dfd, name, "", name) : diff_tree(&df, dfd, "");
        if (r >= 0 && archive_write_close(df.a) != ARCHIVE_OK)
                r = err_set(-EIO, "writing the tar: %s", archive_error_string(df.a));
out:
        archive_write_free(df.a);
        for (size_t i = 0; i < df.n_links; i++)
                free(df.links[i].path);
        free(df.links);
        return r;
}

int rootfs_diff_tar(int upper_fd, int out_fd)
{
        return write_tar(upper_fd, NULL, true, out_fd);
}

int rootfs_tree_tar(int dfd, const char *name, int out_fd)
{
        return write_tar(dfd, streq(name, ".") ? NULL : name, false, out_fd);
}

/* ------------------------------------------------------------------ commit */

static char *now_rfc3339(void)
{
        char buf[64];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return strdup(buf);
}

int rootfs_diff_blob(struct store_txn *t, int upper_fd, const char *tmp_dir, char ret_digest[80],
                     uint64_t *ret_size)
{
        _cleanup_close_ int tar_fd = -EBADF;
        struct blob_writer *w;
        uint64_t size;
        int r;

        /* An anonymous file first (gone with the process whatever happens), then into a blob
         * writer that hashes it. */
        tar_fd = open(tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (tar_fd < 0)
                return err_set(negative_errno(), "cannot create a file in '%s': %m", tmp_dir);
        r = rootfs_diff_tar(upper_fd, tar_fd);
        if (r < 0)
                return r;
        if (lseek(tar_fd, 0, SEEK_SET) < 0)
                return negative_errno();
        r = store_txn_blob_new(t, &w);
        if (r < 0)
                return r;
        r = blob_writer_copy_fd(w, tar_fd);
        if (r < 0) {
                blob_writer_abort(w);
                return r;
        }
        size = blob_writer_size(w);
        r = blob_writer_finish(w, NULL, -1, ret_digest);
        if (r < 0)
                return r;
        *ret_size = size;
        return 0;
}

int rootfs_commit(struct image_store *s, const char *parent_id, const char *upper, const char *created_by,
                  const char *tag, char **ret_id)
{
        _cleanup_image_config_ struct image_config *cfg = NULL;
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_free_ char *tmp = NULL, *now = NULL, *manifest_buf = NULL;
        _cleanup_close_ int upper_fd = -EBADF;
        _cleanup_free_ struct descriptor *descs = NULL;
        _cleanup_manifest_ struct manifest *parent_m = NULL;
        _cleanup_strv_free_ char **tags = NULL;
        struct json_object *rootfs, *diffs, *hist, *h;
        char diff_id[80];
        size_t mlen;
        int r;

        r = store_image_config(s, parent_id, &cfg);
        if (r < 0)
                return r;
        r = store_image_manifest(s, parent_id, &manifest_buf, &mlen);
        if (r < 0)
                return r;
        r = manifest_parse(manifest_buf, mlen, NULL, &parent_m);
        if (r < 0)
                return r;
        upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (upper_fd < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", upper);
        r = store_txn_begin(s, &t);
        if (r < 0)
                return r;
        tmp = strdup_printf("%s/image/tmp", image_store_root(s));
        if (!tmp)
                return -ENOMEM;
        uint64_t tar_size;
        r = rootfs_diff_blob(t, upper_fd, tmp, diff_id, &tar_size);
        if (r < 0)
                return r;

        /* The new config: the parent's, one more diff_id and one more history entry. */
        now = now_rfc3339();
        if (!now)
                return -ENOMEM;
        json_object_object_add(cfg->json, "created", json_object_new_string(now));
        if (!json_object_object_get_ex(cfg->json, "rootfs", &rootfs) ||
            !json_object_object_get_ex(rootfs, "diff_ids", &diffs))
                return -EINVAL;
        json_object_array_add(diffs, json_object_new_string(diff_id));
        if (!json_object_object_get_ex(cfg->json, "history", &hist)) {
                hist = json_object_new_array();
                json_object_object_add(cfg->json, "history", hist);
        }
        h = json_object_new_object();
        json_object_object_add(h, "created", json_object_new_string(now));
        json_object_object_add(h, "created_by", json_object_new_string(created_by ?: "hull commit"));
        json_object_array_add(hist, h);
        descs = calloc(parent_m->n_layers + 1, sizeof(*descs));
        if (!descs)
                return -ENOMEM;
        for (size_t i = 0; i < parent_m->n_layers; i++)
                descs[i] = parent_m->layers[i];
        descs[parent_m->n_layers] = (struct descriptor){ .media_type = (char *)MT_OCI_LAYER, .digest = diff_id,
                                                         .size = (int64_t)tar_size };
        if (tag) {
                r = strv_extend(&tags, tag);
                if (r < 0)
                        return r;
        }
        struct image_import im = { .store = s, .txn = t };
        r = image_import_config(&im, json_to_string(cfg->json), descs, parent_m->n_layers + 1, tags, ret_id);
        return r < 0 ? r : 0;
}
