/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pull.c - image_pull() and image_push(); see pull.h.
 *
 * Blob bodies go from libcurl straight into a blob writer (hashed on the
 * way); a body that grows past the descriptor's size is cut off at once, so a
 * hostile registry cannot fill the disk, and a digest or size mismatch fails
 * the pull before anything is unpacked.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "error.h"
#include "import.h"
#include "log.h"
#include "policy.h"
#include "pull.h"
#include "reference.h"
#include "sha256.h"
#include "util.h"

struct pull_ctx {
        struct image_store *s;
        struct store_txn *t;
        struct registry *reg;
        const char *repo;
        const struct image_progress *p;
};

struct sink_ctx {
        struct blob_writer *w;
        int64_t limit;
        const char *digest;
};

static int sink_write(void *userdata, const void *data, size_t len)
{
        struct sink_ctx *c = userdata;

        if (c->limit >= 0 && blob_writer_size(c->w) + len > (uint64_t)c->limit)
                return err_set(-EBADMSG, "blob %s: the registry sent more than the %lld bytes the manifest announced",
                               c->digest, (long long)c->limit);
        return blob_writer_write(c->w, data, len);
}

static int pull_fetch(void *userdata, const struct descriptor *d)
{
        struct pull_ctx *c = userdata;
        struct sink_ctx sc = { .limit = d->size, .digest = d->digest };
        int r;

        r = store_txn_blob_new(c->t, &sc.w);
        if (r < 0)
                return r;
        image_progress_emit(c->p, PROGRESS_START, "Copying blob", d->digest, 0, (uint64_t)d->size);
        r = registry_get_blob(c->reg, c->repo, d->digest, sink_write, &sc, c->p, (uint64_t)d->size);
        if (r < 0) {
                blob_writer_abort(sc.w);
                return r;
        }
        r = blob_writer_finish(sc.w, d->digest, d->size, NULL);
        if (r < 0)
                return err_prefix(r, "registry %s", c->repo);
        image_progress_emit(c->p, PROGRESS_DONE, "Copying blob", d->digest, (uint64_t)d->size, (uint64_t)d->size);
        return 0;
}

int image_pull(struct image_store *s, const char *name, const struct image_pull_options *o, char **ret_id)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_registry_ struct registry *reg = NULL;
        _cleanup_store_txn_ struct store_txn *t = NULL;
        _cleanup_manifest_ struct manifest *top = NULL, *m = NULL;
        _cleanup_free_ char *body = NULL, *type = NULL, *body2 = NULL, *type2 = NULL, *repo = NULL, *full = NULL;
        _cleanup_strv_free_ char **tags = NULL;
        char top_digest[80], digest[80];
        const struct manifest *img;
        const char *index_digest = NULL;
        size_t len, len2;
        int r;

        r = image_ref_parse(name, &ref);
        if (r < 0)
                return r;
        repo = image_ref_name(ref);
        full = image_ref_string(ref);
        if (!repo || !full)
                return -ENOMEM;
        r = registry_new(image_ref_registry_host(ref), &o->registry, &reg);
        if (r < 0)
                return r;
        r = registry_get_manifest(reg, ref->path, ref->digest ?: ref->tag, &body, &len, &type, top_digest);
        if (r < 0)
                return r;
        r = manifest_parse(body, len, type, &top);
        if (r < 0)
                return err_prefix(r, "registry %s: %s", ref->domain, full);
        img = top;
        snprintf(digest, sizeof(digest), "%s", top_digest);
        if (manifest_is_index(top)) {
                int i = manifest_select_platform(top, "linux", manifest_host_arch(), NULL);
                if (i < 0)
                        return err_prefix(i, "%s", full);
                r = registry_get_manifest(reg, ref->path, top->manifests[i].digest, &body2, &len2, &type2, digest);
                if (r < 0)
                        return r;
                r = manifest_parse(body2, len2, type2 ?: top->manifests[i].media_type, &m);
                if (r < 0)
                        return err_prefix(r, "registry %s: %s", ref->domain, full);
                if (manifest_is_index(m))
                        return err_set(-EPROTONOSUPPORT, "%s: nested indexes are not supported", full);
                img = m;
                index_digest = top_digest;
        }
        /* The policy judges what the user asked for: the digest the tag pointed at. */
        r = policy_check(o->policy_path, ref, reg, top_digest);
        if (r < 0)
                return r;
        r = store_txn_begin(s, &t);
        if (r < 0)
                return r;
        r = store_txn_add_blob(t, body, len, top_digest, NULL);
        if (r >= 0 && body2)
                r = store_txn_add_blob(t, body2, len2, digest, NULL);
        if (r < 0)
                return r;
        if (ref->tag) {
                r = strv_extend(&tags, full);
                if (r < 0)
                        return r;
        }
        struct pull_ctx pc = { .s = s, .t = t, .reg = reg, .repo = ref->path, .p = o->progress };
        struct image_import im = { .store = s, .txn = t, .progress = o->progress, .fetch = pull_fetch, .userdata = &pc };
        r = image_import_manifest(&im, img, digest, index_digest, repo, tags, ret_id);
        return r < 0 ? r : 0;
}

/* A repository of the same registry the image came from, for a cross-repository mount. */
static char *mount_source(struct image_store *s, const char *id, const struct image_ref *dest)
{
        _cleanup_free_ char *repo = NULL;
        _cleanup_free_ char *prefix = strdup_printf("%s/%%", dest->domain);
        const char *path;

        if (!prefix || db_query_str(image_store_db(s), &repo,
                                    "SELECT repo FROM image_digests WHERE image_id = ? AND repo LIKE ? LIMIT 1", "ss",
                                    id, prefix) <= 0)
                return NULL;
        path = repo + strlen(dest->domain) + 1;
        return streq(path, dest->path) ? NULL : strdup(path);
}

static int push_blob(struct image_store *s, struct registry *reg, const char *repo, const char *digest,
                     const char *from, const struct image_progress *p)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = registry_blob_exists(reg, repo, digest);
        if (r < 0)
                return r;
        if (r > 0) {
                image_progress_emit(p, PROGRESS_EXISTS, "Copying blob", digest, 0, 0);
                return 0;
        }
        r = store_blob_open(s, digest, &fd);
        if (r < 0)
                return r;
        /* Never send a blob the store has corrupted: the registry would store it under a false name. */
        r = blob_verify_fd(fd, digest);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        r = registry_upload_blob(reg, repo, digest, fd, (uint64_t)st.st_size, from, p);
        if (r == 1)
                image_progress_emit(p, PROGRESS_EXISTS, "Copying blob", digest, 0, 0);
        return r < 0 ? r : 0;
}

int image_push(struct image_store *s, const char *name, const char *dest, const struct registry_options *o,
               const struct image_progress *p, char ret_digest[80])
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_registry_ struct registry *reg = NULL;
        _cleanup_image_info_ struct image_info *info = NULL;
        _cleanup_free_ char *id = NULL, *manifest = NULL, *from = NULL;
        struct store_layer *layers = NULL;
        size_t n = 0, mlen;
        int r;

        r = store_resolve(s, name, &id);
        if (r < 0)
                return r;
        if (!dest && image_ref_is_id_prefix(name))
                return err_set(-EINVAL, "pushing an image id needs a destination name");
        r = image_ref_parse(dest ?: name, &ref);
        if (r < 0)
                return r;
        if (!ref->tag)
                return err_set(-EINVAL, "destination '%s' needs a tag, not only a digest", dest ?: name);
        r = store_image_info(s, id, &info);
        if (r < 0)
                return r;
        r = store_image_manifest(s, id, &manifest, &mlen);
        if (r < 0)
                return r;
        r = registry_new(image_ref_registry_host(ref), o, &reg);
        if (r < 0)
                return r;
        from = mount_source(s, id, ref);
        r = store_image_layers(s, id, &layers, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = push_blob(s, reg, ref->path, layers[i].blob_digest, from, p);
        store_layers_free(layers, n);
        if (r >= 0)
                r = push_blob(s, reg, ref->path, id, from, p);
        if (r < 0)
                return r;
        r = registry_put_manifest(reg, ref->path, ref->tag, manifest, mlen, info->manifest_type);
        if (r < 0)
                return r;
        if (ret_digest)
                snprintf(ret_digest, 80, "%s", info->manifest_digest);
        return 0;
}
