/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-archive-save.c - `save`: stored images to a docker-archive, an oci-archive or an OCI
 * layout directory; see image-archive.h for the formats.
 *
 * Blobs are streamed from the store into the tar (libarchive writer, pax format) and each
 * one's digest is verified on the way, so a corrupt store never produces an archive that
 * looks valid. docker-archive wants plain layer tars: compressed layer blobs are decompressed
 * into an anonymous file of the store's tmp directory first (the tar header needs the size).
 * A regular output file is written to "<path>.tmp-<pid>" and renamed at the end, so that a
 * failed save leaves no truncated file; devices and FIFOs are written in place.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "error.h"
#include "image-archive.h"
#include "json.h"
#include "sha256.h"
#include "util.h"

/* Read/write buffer of the copy loops (heap: library code may run on several threads). */
#define IO_BUFFER (256u << 10)

struct saver {
        struct image_store *s;
        struct archive *a; /* tar writer, or NULL for oci-dir */
        char *dir;         /* oci-dir destination */
        const struct image_progress *p;
        char **written;    /* member names already written */
};

static int write_member_fd(struct saver *sv, const char *name, int fd, uint64_t size, const char *verify)
{
        struct archive_entry *e = archive_entry_new();
        struct sha256_ctx *c = verify ? sha256_new() : NULL;
        _cleanup_free_ char *buf = malloc(IO_BUFFER);
        uint64_t done = 0;
        int r = 0;

        if (!e || (verify && !c) || !buf) {
                r = -ENOMEM;
                goto out;
        }
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)size);
        archive_entry_set_mtime(e, 0, 0);
        if (archive_write_header(sv->a, e) != ARCHIVE_OK) {
                r = err_set(-EIO, "writing '%s': %s", name, archive_error_string(sv->a));
                goto out;
        }
        while (done < size) {
                ssize_t k = read(fd, buf, MIN(IO_BUFFER, size - done));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? negative_errno() : err_set(-EIO, "'%s' shrank while it was saved", name);
                        goto out;
                }
                if (c)
                        sha256_update(c, buf, (size_t)k);
                if (archive_write_data(sv->a, buf, (size_t)k) != k) {
                        r = err_set(-EIO, "writing '%s': %s", name, archive_error_string(sv->a));
                        goto out;
                }
                done += (uint64_t)k;
        }
        if (c) {
                char hex[SHA256_HEX_LEN + 1];
                sha256_final_hex(c, hex);
                c = NULL;
                if (!streq(hex, verify + strlen("sha256:")))
                        r = err_set(-EBADMSG, "blob %s in the store is corrupt (content is sha256:%s)", verify, hex);
        }
out:
        sha256_free(c);
        archive_entry_free(e);
        return r;
}

static int write_member_mem(struct saver *sv, const char *name, const char *data)
{
        struct archive_entry *e = archive_entry_new();
        size_t n = strlen(data);
        int r = 0;

        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)n);
        archive_entry_set_mtime(e, 0, 0);
        if (archive_write_header(sv->a, e) != ARCHIVE_OK || archive_write_data(sv->a, data, n) != (la_ssize_t)n)
                r = err_set(-EIO, "writing '%s': %s", name, archive_error_string(sv->a));
        archive_entry_free(e);
        return r;
}

static int copy_fd_to_file(int fd, const char *dest, const char *verify)
{
        _cleanup_close_ int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        struct sha256_ctx *c;
        _cleanup_free_ char *buf = NULL;
        char hex[SHA256_HEX_LEN + 1];
        int r = 0;

        if (out < 0)
                return err_set(negative_errno(), "cannot create '%s': %m", dest);
        c = sha256_new();
        buf = malloc(IO_BUFFER);
        if (!c || !buf) {
                sha256_free(c);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t k = read(fd, buf, IO_BUFFER);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        break;
                }
                if (k == 0)
                        break;
                sha256_update(c, buf, (size_t)k);
                r = write_all(out, buf, (size_t)k);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                sha256_free(c);
                return r;
        }
        sha256_final_hex(c, hex);
        if (!streq(hex, verify + strlen("sha256:")))
                return err_set(-EBADMSG, "blob %s in the store is corrupt (content is sha256:%s)", verify, hex);
        return 0;
}

/* Write a stored blob under blobs/sha256/<hex> (oci) once. */
static int save_blob(struct saver *sv, const char *digest)
{
        _cleanup_free_ char *name = strdup_printf("blobs/sha256/%s", digest + strlen("sha256:"));
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (!name)
                return -ENOMEM;
        if (strv_contains(sv->written, name))
                return 0;
        r = store_blob_open(sv->s, digest, &fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        image_progress_emit(sv->p, PROGRESS_START, "Writing blob", digest, 0, (uint64_t)st.st_size);
        if (sv->a)
                r = write_member_fd(sv, name, fd, (uint64_t)st.st_size, digest);
        else {
                _cleanup_free_ char *dest = strdup_printf("%s/%s", sv->dir, name);
                r = dest ? copy_fd_to_file(fd, dest, digest) : -ENOMEM;
        }
        if (r < 0)
                return r;
        image_progress_emit(sv->p, PROGRESS_DONE, "Writing blob", digest, (uint64_t)st.st_size, (uint64_t)st.st_size);
        return strv_extend(&sv->written, name);
}

/* Decompress a layer blob into an anonymous file of the store's tmp dir (docker-archive wants plain tars). */
static int decompress_to_tmp(struct saver *sv, int fd, int *ret)
{
        _cleanup_free_ char *tmp = strdup_printf("%s/image/tmp", image_store_root(sv->s));
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        _cleanup_free_ char *buf = malloc(IO_BUFFER);
        int out, r = 0;

        if (!tmp || !a || !buf) {
                if (a)
                        archive_read_free(a);
                return -ENOMEM;
        }
        out = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (out < 0) {
                archive_read_free(a);
                return negative_errno();
        }
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, IO_BUFFER) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
                r = err_set(-EINVAL, "layer: %s", archive_error_string(a) ?: "unreadable");
        while (r >= 0) {
                la_ssize_t k = archive_read_data(a, buf, IO_BUFFER);
                if (k == 0)
                        break;
                if (k < 0) {
                        r = err_set(-EINVAL, "layer: %s", archive_error_string(a) ?: "read error");
                        break;
                }
                r = write_all(out, buf, (size_t)k);
        }
        archive_read_free(a);
        if (r >= 0 && lseek(out, 0, SEEK_SET) < 0)
                r = negative_errno();
        if (r < 0) {
                safe_close(out);
                return r;
        }
        *ret = out;
        return 0;
}

static int save_docker_image(struct saver *sv, const char *id, char **tags, struct json_object *manifest)
{
        _cleanup_free_ char *cfg_name = strdup_printf("%s.json", id + strlen("sha256:"));
        struct json_object *entry = json_object_new_object(), *jl = json_object_new_array(),
                           *jt = json_object_new_array();
        _cleanup_close_ int cfd = -EBADF;
        struct store_layer *layers = NULL;
        size_t n = 0;
        struct stat st;
        int r;

        if (!cfg_name || !entry || !jl || !jt)
                return -ENOMEM;
        json_object_object_add(entry, "Config", json_object_new_string(cfg_name));
        json_object_object_add(entry, "RepoTags", jt);
        json_object_object_add(entry, "Layers", jl);
        json_object_array_add(manifest, entry);
        STRV_FOREACH(t, tags)
        json_object_array_add(jt, json_object_new_string(*t));

        if (!strv_contains(sv->written, cfg_name)) {
                r = store_blob_open(sv->s, id, &cfd);
                if (r < 0)
                        return r;
                if (fstat(cfd, &st) < 0)
                        return negative_errno();
                r = write_member_fd(sv, cfg_name, cfd, (uint64_t)st.st_size, id);
                if (r < 0)
                        return r;
                r = strv_extend(&sv->written, cfg_name);
                if (r < 0)
                        return r;
        }
        r = store_image_layers(sv->s, id, &layers, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *name = strdup_printf("%s/layer.tar", layers[i].diff_id + strlen("sha256:"));
                _cleanup_close_ int fd = -EBADF, plain = -EBADF;
                bool compressed = !streq(layers[i].media_type, MT_OCI_LAYER) &&
                                  !streq(layers[i].media_type, "application/vnd.docker.image.rootfs.diff.tar");

                if (!name) {
                        r = -ENOMEM;
                        break;
                }
                json_object_array_add(jl, json_object_new_string(name));
                if (strv_contains(sv->written, name))
                        continue;
                r = store_blob_open(sv->s, layers[i].blob_digest, &fd);
                if (r < 0)
                        break;
                image_progress_emit(sv->p, PROGRESS_START, "Writing blob", layers[i].diff_id, 0, 0);
                if (compressed) {
                        r = blob_verify_fd(fd, layers[i].blob_digest);
                        if (r >= 0)
                                r = decompress_to_tmp(sv, fd, &plain);
                        if (r < 0)
                                break;
                }
                if (fstat(compressed ? plain : fd, &st) < 0) {
                        r = negative_errno();
                        break;
                }
                /* The uncompressed tar's digest is the diff_id: verified for both kinds of blob. */
                r = write_member_fd(sv, name, compressed ? plain : fd, (uint64_t)st.st_size, layers[i].diff_id);
                if (r < 0)
                        break;
                image_progress_emit(sv->p, PROGRESS_DONE, "Writing blob", layers[i].diff_id, (uint64_t)st.st_size,
                                    (uint64_t)st.st_size);
                r = strv_extend(&sv->written, name);
        }
        store_layers_free(layers, n);
        return r;
}

static int save_oci_image(struct saver *sv, const char *id, char **tags, struct json_object *index)
{
        _cleanup_image_info_ struct image_info *info = NULL;
        struct store_layer *layers = NULL;
        size_t n = 0;
        struct stat st;
        int r;

        r = store_image_info(sv->s, id, &info);
        if (r < 0)
                return r;
        r = save_blob(sv, info->manifest_digest);
        if (r >= 0)
                r = save_blob(sv, id);
        if (r < 0)
                return r;
        r = store_image_layers(sv->s, id, &layers, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = save_blob(sv, layers[i].blob_digest);
        store_layers_free(layers, n);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *p = store_blob_path(sv->s, info->manifest_digest);
                if (!p || stat(p, &st) < 0)
                        return p ? negative_errno() : -ENOMEM;
        }
        for (size_t i = 0; i == 0 || (tags && tags[i]); i++) {
                struct json_object *d = json_object_new_object();
                if (!d)
                        return -ENOMEM;
                json_object_object_add(d, "mediaType", json_object_new_string(info->manifest_type));
                json_object_object_add(d, "digest", json_object_new_string(info->manifest_digest));
                json_object_object_add(d, "size", json_object_new_int64(st.st_size));
                if (tags && tags[i]) {
                        struct json_object *ann = json_object_new_object();
                        json_object_object_add(ann, "org.opencontainers.image.ref.name",
                                               json_object_new_string(tags[i]));
                        json_object_object_add(d, "annotations", ann);
                }
                json_object_array_add(index, d);
                if (!tags || !tags[i])
                        break;
        }
        return 0;
}

int image_archive_save(struct image_store *s, char **ids, char **names, enum image_archive_format f,
                       const char *path, const struct image_progress *p)
{
        _cleanup_json_ struct json_object *doc = NULL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = -EBADF;
        struct saver sv = { .s = s, .p = p };
        struct json_object *list;
        bool to_stdout = streq(path, "-");
        int r = 0;

        if (f == IMAGE_ARCHIVE_OCI_DIR) {
                if (to_stdout)
                        return err_set(-EINVAL, "oci-dir needs a directory, not stdout");
                sv.dir = strdup(path);
                tmp = strdup_printf("%s/blobs/sha256", path);
                if (!sv.dir || !tmp)
                        return -ENOMEM;
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return err_set(negative_errno(), "cannot create '%s': %m", path);
                r = mkdir_p(tmp, 0755);
                if (r < 0)
                        return err_set(r, "cannot create '%s': %s", tmp, strerror(-r));
                free(tmp);
                tmp = NULL;
        } else {
                struct stat st;
                if (to_stdout) {
                        if (isatty(STDOUT_FILENO))
                                return err_set(-EINVAL, "refusing to write an archive to a terminal: use --output");
                        out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                        /*
                         * A device or a FIFO (-o /dev/null, a pipe) is written in place: the
                         * rename that makes regular files appear whole would replace the node.
                         */
                        if (S_ISDIR(st.st_mode))
                                return err_set(-EISDIR, "'%s' is a directory (oci-dir writes directories)", path);
                        out = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                } else {
                        tmp = strdup_printf("%s.tmp-%d", path, (int)getpid());
                        if (!tmp)
                                return -ENOMEM;
                        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
                }
                if (out < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", tmp ?: path);
                sv.a = archive_write_new();
                if (!sv.a)
                        return -ENOMEM;
                archive_write_set_format_pax_restricted(sv.a);
                archive_write_set_bytes_in_last_block(sv.a, 1);
                if (archive_write_open_fd(sv.a, out) != ARCHIVE_OK) {
                        r = err_set(-EIO, "%s", archive_error_string(sv.a));
                        goto out;
                }
        }
        doc = f == IMAGE_ARCHIVE_DOCKER ? json_object_new_array() : json_object_new_object();
        list = f == IMAGE_ARCHIVE_DOCKER ? doc : json_object_new_array();
        if (!doc || !list) {
                r = -ENOMEM;
                goto out;
        }
        if (f != IMAGE_ARCHIVE_DOCKER) {
                json_object_object_add(doc, "schemaVersion", json_object_new_int(2));
                json_object_object_add(doc, "mediaType", json_object_new_string(MT_OCI_INDEX));
                json_object_object_add(doc, "manifests", list);
        }
        for (size_t i = 0; ids[i] && r >= 0; i++) {
                char *one[2] = { names ? names[i] : NULL, NULL };
                char **tags = one[0] && *one[0] ? one : NULL;
                r = f == IMAGE_ARCHIVE_DOCKER ? save_docker_image(&sv, ids[i], tags, list)
                                              : save_oci_image(&sv, ids[i], tags, list);
        }
        if (r < 0)
                goto out;
        if (f == IMAGE_ARCHIVE_DOCKER)
                r = write_member_mem(&sv, "manifest.json", json_to_string(doc));
        else if (sv.a) {
                r = write_member_mem(&sv, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
                if (r >= 0)
                        r = write_member_mem(&sv, "index.json", json_to_string(doc));
        } else {
                _cleanup_free_ char *lp = strdup_printf("%s/oci-layout", path), *ip = strdup_printf("%s/index.json", path);
                const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
                const char *js = json_to_string(doc);
                r = lp && ip ? write_file_atomic(lp, layout, strlen(layout), 0644) : -ENOMEM;
                if (r >= 0)
                        r = write_file_atomic(ip, js, strlen(js), 0644);
        }
        if (r >= 0 && sv.a && archive_write_close(sv.a) != ARCHIVE_OK)
                r = err_set(-EIO, "%s", archive_error_string(sv.a));
        if (r >= 0 && tmp && rename(tmp, path) < 0)
                r = err_set(negative_errno(), "cannot rename to '%s': %m", path);
out:
        if (sv.a)
                archive_write_free(sv.a);
        if (r < 0 && tmp)
                unlink(tmp);
        strv_free(sv.written);
        free(sv.dir);
        return r;
}
