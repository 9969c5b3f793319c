/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-archive.c - load and import of image files; see image-archive.h.
 *
 * A tarball is read once, sequentially (docker save puts manifest.json last):
 * every regular member is copied into the staging area as a blob, hashed on
 * the way, and remembered by its member name; symlinks and hardlinks between
 * members (docker save links duplicate layers) are remembered as aliases.
 * Then manifest.json or index.json decides which members are what, and each
 * image goes through import.h, atomically. Member names are only lookup keys:
 * nothing from the tarball is written under its own name.
 *
 * Saving is in image-archive-save.c.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "image-archive.h"
#include "build-internal.h"
#include "error.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "reference.h"
#include "sha256.h"
#include "unpack.h"
#include "util.h"

/* Read/write buffer of the copy loops (heap: library code may run on several threads). */
#define IO_BUFFER (256u << 10)

#define MEMBERS_MAX 100000

struct member {
        char *name;
        char *digest; /* staged blob, or NULL for a link */
        char *link;   /* member name this one is an alias of */
        int64_t size;
};

struct loader {
        struct image_store *s;
        struct store_txn *t;
        const struct image_progress *p;
        struct member *m;
        size_t n;
        char *dir; /* OCI layout directory, for dir loads */
};

static const char *const format_names[_IMAGE_ARCHIVE_FORMAT_MAX] = {
        [IMAGE_ARCHIVE_DOCKER] = "docker-archive",
        [IMAGE_ARCHIVE_OCI] = "oci-archive",
        [IMAGE_ARCHIVE_OCI_DIR] = "oci-dir",
};

enum image_archive_format image_archive_format_from_string(const char *s)
{
        for (int i = 0; i < _IMAGE_ARCHIVE_FORMAT_MAX; i++)
                if (streq(s, format_names[i]))
                        return i;
        return _IMAGE_ARCHIVE_FORMAT_INVALID;
}

const char *image_archive_format_to_string(enum image_archive_format f)
{
        return f >= 0 && f < _IMAGE_ARCHIVE_FORMAT_MAX ? format_names[f] : NULL;
}

static void loader_done(struct loader *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->m[i].name);
                free(l->m[i].digest);
                free(l->m[i].link);
        }
        free(l->m);
        free(l->dir);
}

static int loader_add(struct loader *l, const char *name, const char *digest, const char *link, int64_t size)
{
        struct member *m;

        if (l->n >= MEMBERS_MAX)
                return err_set(-E2BIG, "archive has more than %d members", MEMBERS_MAX);
        m = realloc(l->m, (l->n + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        l->m = m;
        m = &l->m[l->n];
        *m = (struct member){ .name = strdup(name), .digest = digest ? strdup(digest) : NULL,
                              .link = link ? strdup(link) : NULL, .size = size };
        l->n++;
        if (!m->name || (digest && !m->digest) || (link && !m->link))
                return -ENOMEM;
        return 0;
}

/* The member named name, following aliases; NULL when missing. */
static const struct member *loader_find(struct loader *l, const char *name)
{
        _cleanup_free_ char *clean = NULL;
        const char *want;

        if (unpack_clean_path(name, &clean) < 0)
                return NULL;
        want = clean;
        for (int hops = 0; hops < 16; hops++) {
                const struct member *found = NULL;
                /* Later members with the same name replace earlier ones, as tar extraction would. */
                for (size_t i = l->n; i > 0; i--)
                        if (streq(l->m[i - 1].name, want)) {
                                found = &l->m[i - 1];
                                break;
                        }
                if (!found || found->digest)
                        return found;
                want = found->link;
        }
        return NULL;
}

static int read_member(struct loader *l, const char *name, size_t max, char **ret, size_t *ret_len,
                       const struct member **ret_m)
{
        const struct member *m = loader_find(l, name);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!m)
                return err_set(-ENOENT, "archive: member '%.200s' is missing", name);
        r = store_txn_blob_path(l->t, m->digest, &path);
        if (r < 0)
                return r;
        r = read_full_file(path, max, ret, ret_len);
        if (r == -EFBIG)
                return err_set(r, "archive: member '%.200s' is too large", name);
        if (r < 0)
                return r;
        if (ret_m)
                *ret_m = m;
        return 0;
}

static int stage_entry(struct loader *l, struct archive *a, struct archive_entry *e, const char *name)
{
        _cleanup_free_ char *expect = NULL;
        struct blob_writer *w;
        char digest[80];
        const char *hex = startswith(name, "blobs/sha256/");
        int64_t size = archive_entry_size(e);
        uint64_t done = 0, last = 0;
        _cleanup_free_ char *buf = malloc(IO_BUFFER);
        int r;

        if (!buf)
                return -ENOMEM;
        if (hex) {
                expect = strdup_printf("sha256:%s", hex);
                if (!expect)
                        return -ENOMEM;
                if (!digest_is_valid(expect))
                        return err_set(-EINVAL, "archive: member '%.200s' is not named by a sha256 digest", name);
        }
        r = store_txn_blob_new(l->t, &w);
        if (r < 0)
                return r;
        /* Small members (manifests, configs) are not worth a progress line. */
        const struct image_progress *p = size >= (64 << 10) ? l->p : NULL;
        image_progress_emit(p, PROGRESS_START, "Copying blob", expect ?: name, 0, (uint64_t)MAX(size, 0));
        for (;;) {
                la_ssize_t k = archive_read_data(a, buf, IO_BUFFER);
                if (k == 0)
                        break;
                if (k < 0) {
                        blob_writer_abort(w);
                        return err_set(-EINVAL, "archive: member '%.200s': %s", name,
                                       archive_error_string(a) ?: "read error");
                }
                r = blob_writer_write(w, buf, (size_t)k);
                if (r < 0) {
                        blob_writer_abort(w);
                        return r;
                }
                done += (uint64_t)k;
                if (done - last >= (4u << 20)) {
                        image_progress_emit(p, PROGRESS_UPDATE, "Copying blob", expect ?: name, done,
                                            (uint64_t)MAX(size, 0));
                        last = done;
                }
        }
        r = blob_writer_finish(w, expect, -1, digest);
        if (r < 0)
                return err_prefix(r, "archive: member '%.200s'", name);
        image_progress_emit(p, PROGRESS_DONE, "Copying blob", expect ?: name, done, done);
        return loader_add(l, name, digest, NULL, (int64_t)done);
}

static int open_input(const char *path, int *ret)
{
        int fd;

        if (streq(path, "-")) {
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return negative_errno();
        } else {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return err_set(negative_errno(), "cannot open '%s': %m", path);
        }
        *ret = fd;
        return 0;
}

static int read_tarball(struct loader *l, int fd)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int r = 0;

        if (!a)
                return -ENOMEM;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_fd(a, fd, 256 << 10) != ARCHIVE_OK) {
                r = err_set(-EINVAL, "archive: %s", archive_error_string(a) ?: "cannot read");
                goto out;
        }
        for (;;) {
                _cleanup_free_ char *name = NULL;
                int k = archive_read_next_header(a, &e);

                if (k == ARCHIVE_EOF)
                        break;
                if (k < ARCHIVE_WARN) {
                        r = err_set(-EINVAL, "archive: %s", archive_error_string(a) ?: "not a tar archive");
                        goto out;
                }
                if (!archive_entry_pathname(e) || unpack_clean_path(archive_entry_pathname(e), &name) < 0 || !*name)
                        continue;
                if (archive_entry_hardlink(e)) {
                        _cleanup_free_ char *target = NULL;
                        if (unpack_clean_path(archive_entry_hardlink(e), &target) < 0)
                                continue;
                        r = loader_add(l, name, NULL, target, 0);
                } else if (archive_entry_filetype(e) == AE_IFLNK) {
                        _cleanup_free_ char *joined = NULL, *target = NULL;
                        const char *slash = strrchr(name, '/');
                        const char *t = archive_entry_symlink(e) ?: "";
                        joined = t[0] == '/' ? strdup(t)
                                             : strdup_printf("%.*s/%s", slash ? (int)(slash - name) : 0, name, t);
                        if (!joined)
                                return -ENOMEM;
                        if (unpack_clean_path(joined, &target) < 0)
                                continue;
                        r = loader_add(l, name, NULL, target, 0);
                } else if (archive_entry_filetype(e) == AE_IFREG)
                        r = stage_entry(l, a, e, name);
                if (r < 0)
                        goto out;
        }
out:
        archive_read_free(a);
        return r;
}

/* fetch callback of dir loads: copy blobs/sha256/<hex> into the staging area, verified. */
static int fetch_from_dir(void *userdata, const struct descriptor *d)
{
        struct loader *l = userdata;
        _cleanup_free_ char *path = strdup_printf("%s/blobs/sha256/%s", l->dir, d->digest + strlen("sha256:"));
        _cleanup_close_ int fd = -EBADF;
        struct blob_writer *w;
        int r;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(negative_errno(), "blob %s is missing from the layout: %m", d->digest);
        r = store_txn_blob_new(l->t, &w);
        if (r < 0)
                return r;
        image_progress_emit(l->p, PROGRESS_START, "Copying blob", d->digest, 0, (uint64_t)d->size);
        r = blob_writer_copy_fd(w, fd);
        if (r < 0) {
                blob_writer_abort(w);
                return r;
        }
        r = blob_writer_finish(w, d->digest, d->size, NULL);
        if (r < 0)
                return r;
        image_progress_emit(l->p, PROGRESS_DONE, "Copying blob", d->digest, (uint64_t)d->size, (uint64_t)d->size);
        return 0;
}

/* A blob of an OCI layout: staged member (tarball) or file (directory). */
static int read_oci_blob(struct loader *l, const struct descriptor *d, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if (d->size > (int64_t)max)
                return err_set(-EFBIG, "blob %s: %lld bytes, too large", d->digest, (long long)d->size);
        if (store_txn_blob_path(l->t, d->digest, &path) < 0) {
                if (!l->dir)
                        return err_set(-ENOENT, "archive: blob %s is missing", d->digest);
                r = fetch_from_dir(l, d);
                if (r < 0)
                        return r;
                r = store_txn_blob_path(l->t, d->digest, &path);
                if (r < 0)
                        return r;
        }
        r = read_full_file(path, max, ret, ret_len);
        if (r < 0)
                return err_set(r, "blob %s: %s", d->digest, strerror(-r));
        if ((int64_t)*ret_len != d->size)
                return err_set(-EBADMSG, "blob %s: descriptor says %lld bytes, the blob has %zu", d->digest,
                               (long long)d->size, *ret_len);
        return 0;
}

static int name_from_ref(const char *ref_name, char ***tags)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        char *s;

        /* A bare tag ("latest") names no repository: the image stays unnamed. */
        if (!ref_name || (!strchr(ref_name, '/') && !strchr(ref_name, ':')))
                return 0;
        if (image_ref_parse(ref_name, &ref) < 0 || !ref->tag) {
                log_debug("archive: ignoring reference name '%s'", ref_name);
                err_clear();
                return 0;
        }
        s = image_ref_string(ref);
        if (!s)
                return -ENOMEM;
        return strv_push(tags, s);
}

static int load_oci(struct loader *l, char ***names)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_manifest_ struct manifest *index = NULL;
        size_t len;
        int r;

        if (l->dir) {
                _cleanup_free_ char *p = strdup_printf("%s/index.json", l->dir);
                if (!p)
                        return -ENOMEM;
                r = read_full_file(p, MANIFEST_MAX_SIZE, &buf, &len);
                if (r < 0)
                        return err_set(r, "cannot read '%s': %s", p, strerror(-r));
        } else {
                r = read_member(l, "index.json", MANIFEST_MAX_SIZE, &buf, &len, NULL);
                if (r < 0)
                        return r;
        }
        r = manifest_parse(buf, len, MT_OCI_INDEX, &index);
        if (r < 0)
                return err_prefix(r, "index.json");
        if (index->n_manifests == 0)
                return err_set(-EINVAL, "index.json: no images");
        for (size_t i = 0; i < index->n_manifests; i++) {
                _cleanup_free_ char *mbuf = NULL, *id = NULL, *ibuf = NULL;
                _cleanup_manifest_ struct manifest *m = NULL, *sub = NULL;
                _cleanup_strv_free_ char **tags = NULL;
                const struct descriptor *d = &index->manifests[i];
                const char *index_digest = NULL;
                size_t mlen, ilen;

                r = name_from_ref(d->ref_name, &tags);
                if (r < 0)
                        return r;
                if (streq(d->media_type, MT_OCI_INDEX) || streq(d->media_type, MT_DOCKER_LIST)) {
                        r = read_oci_blob(l, d, MANIFEST_MAX_SIZE, &ibuf, &ilen);
                        if (r < 0)
                                return r;
                        r = manifest_parse(ibuf, ilen, d->media_type, &sub);
                        if (r < 0)
                                return r;
                        r = manifest_select_platform(sub, "linux", manifest_host_arch(), NULL);
                        if (r < 0)
                                return r;
                        index_digest = d->digest;
                        d = &sub->manifests[r];
                }
                r = read_oci_blob(l, d, MANIFEST_MAX_SIZE, &mbuf, &mlen);
                if (r < 0)
                        return r;
                r = manifest_parse(mbuf, mlen, d->media_type, &m);
                if (r < 0)
                        return r;
                struct image_import im = { .store = l->s, .txn = l->t, .progress = l->p,
                                           .fetch = l->dir ? fetch_from_dir : NULL, .userdata = l };
                r = image_import_manifest(&im, m, d->digest, index_digest, NULL, tags, &id);
                if (r < 0)
                        return r;
                r = strv_extend(names, tags && tags[0] ? tags[0] : id);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A member manifest.json must have: -ENOENT becomes "<path>: missing". */
static int required(int r, const char *path)
{
        return r == -ENOENT ? err_set(-EINVAL, "%s: missing", path) : r;
}

static int load_docker(struct loader *l, char ***names)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        size_t len, n;
        int r;

        r = read_member(l, "manifest.json", MANIFEST_MAX_SIZE, &buf, &len, NULL);
        if (r < 0)
                return r;
        r = json_parse_buffer(buf, len, "manifest.json", &o);
        if (r < 0)
                return r;
        r = json_expect_type(o, json_type_array, "manifest.json");
        if (r < 0)
                return r;
        n = json_object_array_length(o);
        if (n == 0)
                return err_set(-EINVAL, "manifest.json: no images");
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(o, i);
                _cleanup_strv_free_ char **layer_files = NULL, **repo_tags = NULL, **tags = NULL;
                _cleanup_free_ struct descriptor *layers = NULL;
                _cleanup_free_ char *mjson = NULL, *id = NULL;
                _cleanup_manifest_ struct manifest *m = NULL;
                const struct member *cm;
                struct descriptor config;
                const char *config_file;
                char path[64], mdigest[80];
                size_t nl;

                snprintf(path, sizeof(path), "manifest.json[%zu]", i);
                r = json_expect_type(e, json_type_object, path);
                if (r < 0)
                        return r;
                snprintf(path, sizeof(path), "manifest.json[%zu].Config", i);
                r = required(json_get_string(e, "Config", path, &config_file), path);
                if (r < 0)
                        return r;
                snprintf(path, sizeof(path), "manifest.json[%zu].Layers", i);
                r = required(json_get_strv(e, "Layers", path, &layer_files), path);
                if (r < 0)
                        return r;
                snprintf(path, sizeof(path), "manifest.json[%zu].RepoTags", i);
                r = json_get_strv(e, "RepoTags", path, &repo_tags);
                if (r < 0 && r != -ENOENT)
                        return r;
                cm = loader_find(l, config_file);
                if (!cm)
                        return err_set(-ENOENT, "archive: config '%.200s' named in manifest.json is missing",
                                       config_file);
                config = (struct descriptor){ .media_type = (char *)MT_OCI_CONFIG, .digest = cm->digest,
                                              .size = cm->size };
                nl = strv_length(layer_files);
                if (nl > MANIFEST_MAX_ENTRIES)
                        return err_set(-E2BIG, "manifest.json: too many layers");
                layers = calloc(nl ?: 1, sizeof(*layers));
                if (!layers)
                        return -ENOMEM;
                for (size_t j = 0; j < nl; j++) {
                        const struct member *lm = loader_find(l, layer_files[j]);
                        _cleanup_free_ char *p = NULL;
                        _cleanup_close_ int fd = -EBADF;

                        if (!lm)
                                return err_set(-ENOENT, "archive: layer '%.200s' named in manifest.json is missing",
                                               layer_files[j]);
                        r = store_txn_blob_path(l->t, lm->digest, &p);
                        if (r < 0)
                                return r;
                        fd = open(p, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                return negative_errno();
                        layers[j] = (struct descriptor){ .media_type = (char *)layer_media_type_fd(fd),
                                                         .digest = lm->digest, .size = lm->size };
                }
                STRV_FOREACH(t, repo_tags)
                {
                        _cleanup_image_ref_ struct image_ref *ref = NULL;
                        r = image_ref_parse(*t, &ref);
                        if (r < 0)
                                return err_prefix(r, "manifest.json: RepoTags");
                        r = strv_push(&tags, image_ref_string(ref));
                        if (r < 0)
                                return r;
                }
                mjson = manifest_oci_to_json(&config, layers, nl);
                if (!mjson)
                        return -ENOMEM;
                r = store_txn_add_blob(l->t, mjson, strlen(mjson), NULL, mdigest);
                if (r < 0)
                        return r;
                r = manifest_parse(mjson, strlen(mjson), MT_OCI_MANIFEST, &m);
                if (r < 0)
                        return r;
                struct image_import im = { .store = l->s, .txn = l->t, .progress = l->p };
                r = image_import_manifest(&im, m, mdigest, NULL, NULL, tags, &id);
                if (r < 0)
                        return r;
                r = strv_extend(names, tags && tags[0] ? tags[0] : id);
                if (r < 0)
                        return r;
        }
        return 0;
}

int image_archive_load(struct image_store *s, const char *path, const struct image_progress *p, char ***ret)
{
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_strv_free_ char **names = NULL;
        struct loader l = { .s = s, .p = p };
        struct stat st;
        int r;

        r = store_txn_begin(s, &t);
        if (r < 0)
                return r;
        l.t = t;
        if (!streq(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                l.dir = strdup(path);
                if (!l.dir)
                        return -ENOMEM;
                r = load_oci(&l, &names);
        } else {
                _cleanup_close_ int fd = -EBADF;
                r = open_input(path, &fd);
                if (r >= 0)
                        r = read_tarball(&l, fd);
                if (r >= 0) {
                        if (loader_find(&l, "index.json") && loader_find(&l, "oci-layout"))
                                r = load_oci(&l, &names);
                        else if (loader_find(&l, "manifest.json"))
                                r = load_docker(&l, &names);
                        else
                                r = err_set(-EINVAL, "not a docker-archive or oci-archive: no manifest.json or "
                                                     "index.json in the tarball");
                }
        }
        loader_done(&l);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(names);
        return 0;
}

/* ------------------------------------------------------------------ import */

/* cfg: the image config's "config" section of image_cfg. */
static int apply_change(struct json_object *image_cfg, struct json_object *cfg, const char *change)
{
        const char *sp = strchr(change, ' ');
        _cleanup_free_ char *key = NULL;
        const char *val;

        if (!sp)
                return err_set(-EINVAL, "--change '%s': expected 'INSTRUCTION value'", change);
        key = strndup(change, (size_t)(sp - change));
        if (!key)
                return -ENOMEM;
        val = sp + strspn(sp, " ");
        for (char *k = key; *k; k++)
                *k = (char)(*k >= 'a' && *k <= 'z' ? *k - 32 : *k);
        if (streq(key, "CMD") || streq(key, "ENTRYPOINT")) {
                struct json_object *a = NULL;
                if (val[0] == '[') {
                        a = json_tokener_parse(val);
                        if (!a || json_object_get_type(a) != json_type_array) {
                                if (a)
                                        json_object_put(a);
                                return err_set(-EINVAL, "--change '%s': invalid JSON array", change);
                        }
                } else {
                        a = json_object_new_array();
                        json_object_array_add(a, json_object_new_string("/bin/sh"));
                        json_object_array_add(a, json_object_new_string("-c"));
                        json_object_array_add(a, json_object_new_string(val));
                }
                json_object_object_add(cfg, streq(key, "CMD") ? "Cmd" : "Entrypoint", a);
        } else if (streq(key, "ENV")) {
                struct json_object *env;
                if (!json_object_object_get_ex(cfg, "Env", &env)) {
                        env = json_object_new_array();
                        json_object_object_add(cfg, "Env", env);
                }
                json_object_array_add(env, json_object_new_string(val));
        } else if (streq(key, "WORKDIR"))
                json_object_object_add(cfg, "WorkingDir", json_object_new_string(val));
        else if (streq(key, "USER"))
                json_object_object_add(cfg, "User", json_object_new_string(val));
        else if (streq(key, "STOPSIGNAL"))
                json_object_object_add(cfg, "StopSignal", json_object_new_string(val));
        else if (streq(key, "EXPOSE") || streq(key, "VOLUME")) {
                /* Several ports or paths, separated by blanks, with the Dockerfile's rules for each. */
                _cleanup_free_ char *words = strdup(val);
                char *save = NULL;
                int r = 0;
                if (!words)
                        return -ENOMEM;
                for (char *w = strtok_r(words, " \t", &save); w && r >= 0; w = strtok_r(NULL, " \t", &save))
                        r = streq(key, "EXPOSE") ? build_config_expose(image_cfg, w)
                                                 : build_config_add_volume(image_cfg, w);
                if (r < 0)
                        return err_prefix(r, "--change '%s'", change);
        } else if (streq(key, "LABEL")) {
                const char *eq = strchr(val, '=');
                struct json_object *m;
                _cleanup_free_ char *k = NULL;
                if (!eq)
                        return err_set(-EINVAL, "--change '%s': expected LABEL key=value", change);
                k = strndup(val, (size_t)(eq - val));
                if (!k)
                        return -ENOMEM;
                if (!json_object_object_get_ex(cfg, "Labels", &m)) {
                        m = json_object_new_object();
                        json_object_object_add(cfg, "Labels", m);
                }
                json_object_object_add(m, k, json_object_new_string(eq + 1));
        } else
                return err_set(-EINVAL, "--change '%s': unsupported instruction '%s'", change, key);
        return 0;
}

static void rfc3339_now(char buf[64])
{
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, 64, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int image_archive_import(struct image_store *s, const char *path, const char *name, char **changes,
                   const struct image_progress *p, char **ret_id)
{
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_close_ int in = -EBADF, blob = -EBADF;
        _cleanup_json_ struct json_object *cfg = json_object_new_object();
        _cleanup_free_ char *blob_path = NULL;
        _cleanup_strv_free_ char **tags = NULL;
        struct json_object *c, *rootfs, *diffs, *hist, *h;
        struct blob_writer *w;
        char digest[80], diff_id[80], now[64];
        uint64_t size = 0;
        const char *mt;
        int r;

        if (!cfg)
                return -ENOMEM;
        if (name) {
                _cleanup_image_ref_ struct image_ref *ref = NULL;
                r = image_ref_parse(name, &ref);
                if (r < 0)
                        return r;
                r = strv_push(&tags, image_ref_string(ref));
                if (r < 0)
                        return r;
        }
        r = open_input(path, &in);
        if (r < 0)
                return r;
        r = store_txn_begin(s, &t);
        if (r < 0)
                return r;
        r = store_txn_blob_new(t, &w);
        if (r < 0)
                return r;
        image_progress_emit(p, PROGRESS_START, "Copying blob", path, 0, 0);
        r = blob_writer_copy_fd(w, in);
        if (r < 0) {
                blob_writer_abort(w);
                return err_prefix(r, "'%s'", path);
        }
        size = blob_writer_size(w);
        r = blob_writer_finish(w, NULL, -1, digest);
        if (r < 0)
                return r;
        image_progress_emit(p, PROGRESS_DONE, "Copying blob", path, size, size);
        r = store_txn_blob_path(t, digest, &blob_path);
        if (r < 0)
                return r;
        blob = open(blob_path, O_RDONLY | O_CLOEXEC);
        if (blob < 0)
                return negative_errno();
        mt = layer_media_type_fd(blob);
        if (streq(mt, MT_OCI_LAYER))
                snprintf(diff_id, sizeof(diff_id), "%s", digest);
        else {
                r = layer_diff_id_fd(blob, diff_id);
                if (r < 0)
                        return r;
        }

        rfc3339_now(now);
        c = json_object_new_object();
        json_object_object_add(cfg, "created", json_object_new_string(now));
        json_object_object_add(cfg, "architecture", json_object_new_string(manifest_host_arch()));
        json_object_object_add(cfg, "os", json_object_new_string("linux"));
        json_object_object_add(cfg, "config", c);
        STRV_FOREACH(ch, changes)
        {
                r = apply_change(cfg, c, *ch);
                if (r < 0)
                        return r;
        }
        rootfs = json_object_new_object();
        diffs = json_object_new_array();
        json_object_array_add(diffs, json_object_new_string(diff_id));
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object_object_add(rootfs, "diff_ids", diffs);
        json_object_object_add(cfg, "rootfs", rootfs);
        hist = json_object_new_array();
        h = json_object_new_object();
        json_object_object_add(h, "created", json_object_new_string(now));
        json_object_object_add(h, "created_by", json_object_new_string("hull import"));
        json_object_object_add(h, "comment", json_object_new_string("imported from tarball"));
        json_object_array_add(hist, h);
        json_object_object_add(cfg, "history", hist);
        struct descriptor layer = { .media_type = (char *)mt, .digest = digest, .size = (int64_t)size };
        struct image_import im = { .store = s, .txn = t, .progress = p };
        return image_import_config(&im, json_to_string(cfg), &layer, 1, tags, ret_id);
}
