/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.c - the shared import pipeline; see import.h.
 *
 * Order matters for the store's guarantees: the config is staged and parsed
 * before any layer (a manifest whose config does not describe its layers is
 * refused before a byte of layer data is fetched), layers are unpacked into
 * the staging area with the compressed digest and the diff_id from the config
 * both checked, and only then does store_txn_commit() move things into place.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <time.h>

#include "error.h"
#include "import.h"
#include "log.h"
#include "sha256.h"
#include "unpack.h"
#include "util.h"

/* Read/write buffer of the copy loops (heap: library code may run on several threads). */
#define IO_BUFFER (256u << 10)

static int64_t parse_created(const char *s)
{
        struct tm tm = {};
        const char *end;

        if (!s)
                return 0;
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return 0;
        return (int64_t)timegm(&tm);
}

static int ensure_blob(struct image_import *im, const struct descriptor *d)
{
        _cleanup_free_ char *p = NULL;

        if (store_txn_blob_path(im->txn, d->digest, &p) >= 0) {
                /* Only worth saying when it saved a download (archives stage everything first). */
                if (im->fetch)
                        image_progress_emit(im->progress, PROGRESS_EXISTS, "Copying blob", d->digest, 0,
                                            (uint64_t)d->size);
                return 0;
        }
        if (!im->fetch)
                return err_set(-ENOENT, "blob %s is missing", d->digest);
        return im->fetch(im->userdata, d);
}

struct progress_ctx {
        const struct image_progress *p;
        const char *digest;
        uint64_t total;
};

static void unpack_progress(void *userdata, uint64_t n)
{
        struct progress_ctx *c = userdata;
        image_progress_emit(c->p, PROGRESS_UPDATE, "Extracting", c->digest, n, c->total);
}

static int unpack_staged(struct image_import *im, const struct descriptor *d, const char *diff_id,
                         const char *chain_id, int64_t *ret_size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF, dest = -EBADF;
        struct progress_ctx pc = { im->progress, d->digest, (uint64_t)d->size };
        struct unpack_options o = {
                .expect_digest = d->digest,
                .expect_diff_id = diff_id,
                .progress = unpack_progress,
                .progress_userdata = &pc,
        };
        struct unpack_result res;
        int r;

        r = store_txn_blob_path(im->txn, d->digest, &path);
        if (r < 0)
                return err_set(r, "blob %s is missing", d->digest);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_set(negative_errno(), "cannot open blob %s: %m", d->digest);
        r = store_txn_layer_dir(im->txn, chain_id, &dest);
        if (r < 0)
                return r;
        image_progress_emit(im->progress, PROGRESS_START, "Extracting", d->digest, 0, (uint64_t)d->size);
        r = unpack_layer_fd(fd, dest, &o, &res);
        if (r < 0) {
                /* Name the layer once: "layer sha256:0123456789ab: <what is wrong>". */
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", startswith(err_msg(r), "layer: ") ?: err_msg(r));
                return err_set(r, "layer %.19s: %s", d->digest, msg);
        }
        image_progress_emit(im->progress, PROGRESS_DONE, "Extracting", d->digest, res.stream_size, res.stream_size);
        *ret_size = (int64_t)res.unpacked_size;
        return 0;
}

int image_import_manifest(struct image_import *im, const struct manifest *m, const char *manifest_digest,
                          const char *index_digest, const char *repo, char **tags, char **ret_id)
{
        _cleanup_image_config_ struct image_config *cfg = NULL;
        _cleanup_free_ struct store_layer_add *layers = NULL;
        _cleanup_free_ char *cfg_path = NULL, *cfg_buf = NULL;
        char parent[80] = "", chain[80];
        size_t cfg_len;
        int r;

        if (manifest_is_index(m))
                return err_set(-EINVAL, "an index is not an image manifest");
        r = ensure_blob(im, &m->config);
        if (r < 0)
                return r;
        r = store_txn_blob_path(im->txn, m->config.digest, &cfg_path);
        if (r < 0)
                return err_set(r, "config blob %s is missing", m->config.digest);
        r = read_full_file(cfg_path, CONFIG_MAX_SIZE, &cfg_buf, &cfg_len);
        if (r < 0)
                return err_set(r, "cannot read config blob %s: %s", m->config.digest, strerror(-r));
        {
                char hex[SHA256_HEX_LEN + 1];
                sha256_hex(cfg_buf, cfg_len, hex);
                if (!streq(hex, m->config.digest + strlen("sha256:")))
                        return err_set(-EBADMSG, "config blob %s: content does not match its digest", m->config.digest);
        }
        r = image_config_parse(cfg_buf, cfg_len, &cfg);
        if (r < 0)
                return r;
        if (strv_length(cfg->diff_ids) != m->n_layers)
                return err_set(-EINVAL, "image config lists %zu layers (rootfs.diff_ids) but the manifest has %zu",
                               strv_length(cfg->diff_ids), m->n_layers);
        if (cfg->os && !streq(cfg->os, "linux"))
                return err_set(-EPROTONOSUPPORT, "image is for os '%s', hull runs linux images", cfg->os);
        layers = calloc(m->n_layers ?: 1, sizeof(*layers));
        if (!layers)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_layers; i++) {
                const struct descriptor *d = &m->layers[i];
                if (!manifest_layer_type_supported(d->media_type))
                        return err_set(-EPROTONOSUPPORT, "layers[%zu].mediaType: unsupported layer type '%.100s'", i,
                                       d->media_type);
        }
        /* An image the store already has only gains names: its layers need not be fetched again. */
        bool have_image = store_image_exists(im->store, m->config.digest);
        for (size_t i = 0; i < m->n_layers; i++) {
                const struct descriptor *d = &m->layers[i];
                int64_t size = -1;

                layer_chain_id(i ? parent : NULL, cfg->diff_ids[i], chain);
                if (!have_image) {
                        r = ensure_blob(im, d);
                        if (r < 0)
                                return r;
                }
                if (!have_image && !store_layer_exists(im->store, chain)) {
                        r = unpack_staged(im, d, cfg->diff_ids[i], chain, &size);
                        if (r < 0)
                                return r;
                } else
                        log_debug("import: layer %s already unpacked", chain);
                layers[i] = (struct store_layer_add){
                        .diff_id = cfg->diff_ids[i],
                        .blob_digest = d->digest,
                        .media_type = d->media_type,
                        .blob_size = d->size,
                        .unpacked_size = size,
                };
                snprintf(parent, sizeof(parent), "%s", chain);
        }
        struct store_image_add add = {
                .config_digest = m->config.digest,
                .manifest_digest = manifest_digest,
                .manifest_type = m->media_type,
                .index_digest = index_digest,
                .repo = repo,
                .tags = tags,
                .layers = layers,
                .n_layers = m->n_layers,
                .created = parse_created(cfg->created),
                .os = cfg->os ?: "linux",
                .architecture = cfg->architecture ?: "",
        };
        r = store_txn_commit(im->txn, &add);
        if (r < 0)
                return r;
        if (ret_id) {
                *ret_id = strdup(m->config.digest);
                if (!*ret_id)
                        return -ENOMEM;
        }
        return r;
}

int image_import_config(struct image_import *im, const char *config, const struct descriptor *layers,
                        size_t n_layers, char **tags, char **ret_id)
{
        _cleanup_manifest_ struct manifest *m = NULL;
        _cleanup_free_ char *mjson = NULL;
        char cdigest[80], mdigest[80];
        int r;

        r = store_txn_add_blob(im->txn, config, strlen(config), NULL, cdigest);
        if (r < 0)
                return r;
        struct descriptor cd = { .media_type = (char *)MT_OCI_CONFIG, .digest = cdigest,
                                 .size = (int64_t)strlen(config) };
        mjson = manifest_oci_to_json(&cd, layers, n_layers);
        if (!mjson)
                return -ENOMEM;
        r = store_txn_add_blob(im->txn, mjson, strlen(mjson), NULL, mdigest);
        if (r < 0)
                return r;
        /* Parsed back like any other manifest: what is stored is what the checks saw. */
        r = manifest_parse(mjson, strlen(mjson), MT_OCI_MANIFEST, &m);
        if (r < 0)
                return r;
        return image_import_manifest(im, m, mdigest, NULL, NULL, tags, ret_id);
}

int layer_diff_id_fd(int fd, char ret[80])
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        struct sha256_ctx *c = sha256_new();
        char hex[SHA256_HEX_LEN + 1];
        _cleanup_free_ char *buf = malloc(IO_BUFFER);
        int r = 0;

        if (!a || !c || !buf) {
                r = -ENOMEM;
                goto out;
        }
        if (lseek(fd, 0, SEEK_SET) < 0) {
                r = negative_errno();
                goto out;
        }
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, 256 << 10) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
                r = err_set(-EINVAL, "layer: %s", archive_error_string(a) ?: "unreadable");
                goto out;
        }
        for (;;) {
                la_ssize_t k = archive_read_data(a, buf, IO_BUFFER);
                if (k == 0)
                        break;
                if (k < 0) {
                        r = err_set(-EINVAL, "layer: %s", archive_error_string(a) ?: "read error");
                        goto out;
                }
                sha256_update(c, buf, (size_t)k);
        }
        sha256_final_hex(c, hex);
        c = NULL;
        snprintf(ret, 80, "sha256:%s", hex);
        if (lseek(fd, 0, SEEK_SET) < 0)
                r = negative_errno();
out:
        sha256_free(c);
        if (a)
                archive_read_free(a);
        return r;
}

const char *layer_media_type_fd(int fd)
{
        unsigned char m[4] = {};
        ssize_t n = pread(fd, m, sizeof(m), 0);

        if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
                return MT_OCI_LAYER_GZIP;
        if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                return MT_OCI_LAYER_ZSTD;
        return MT_OCI_LAYER;
}
