/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.c - parsing and validation of manifests, indexes and image configs;
 * see manifest.h.
 *
 * Every field that later code trusts is checked here: digests are
 * "sha256:<64 hex>" (the only algorithm hull stores, image-spec descriptor.md
 * "Registered algorithms"), sizes are non-negative, media types are known,
 * arrays are bounded. Field paths in messages follow the JSON ("layers[2].digest").
 */
#include <sys/utsname.h>

#include "error.h"
#include "json.h"
#include "manifest.h"
#include "sha256.h"
#include "util.h"

static const char *const kind_media_type[_MANIFEST_KIND_MAX] = {
        [MANIFEST_OCI] = MT_OCI_MANIFEST,
        [MANIFEST_DOCKER] = MT_DOCKER_MANIFEST,
        [MANIFEST_INDEX_OCI] = MT_OCI_INDEX,
        [MANIFEST_INDEX_DOCKER] = MT_DOCKER_LIST,
};

const char *manifest_accept_header(void)
{
        return MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST;
}

bool manifest_layer_type_supported(const char *mt)
{
        static const char *const ok[] = {
                MT_OCI_LAYER,
                MT_OCI_LAYER_GZIP,
                MT_OCI_LAYER_ZSTD,
                MT_DOCKER_LAYER,
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                "application/vnd.docker.image.rootfs.diff.tar",
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (streq(mt, ok[i]))
                        return true;
        return false;
}

static void descriptor_done(struct descriptor *d)
{
        free(d->media_type);
        free(d->digest);
        free(d->os);
        free(d->architecture);
        free(d->variant);
        free(d->ref_name);
}

void manifest_free(struct manifest *m)
{
        if (!m)
                return;
        descriptor_done(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                descriptor_done(&m->layers[i]);
        free(m->layers);
        for (size_t i = 0; i < m->n_manifests; i++)
                descriptor_done(&m->manifests[i]);
        free(m->manifests);
        free(m);
}

static int dup_opt_string(struct json_object *o, const char *key, const char *path, char **ret)
{
        const char *s;
        int r = json_get_string(o, key, path, &s);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int parse_descriptor(struct json_object *o, const char *path, bool in_index, struct descriptor *d)
{
        char p[128];
        const char *s;
        int r;

        r = json_expect_type(o, json_type_object, path);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.mediaType", path);
        r = json_get_string(o, "mediaType", p, &s);
        if (r == -ENOENT)
                return err_set(-EINVAL, "%s: missing", p);
        if (r < 0)
                return r;
        d->media_type = strdup(s);
        if (!d->media_type)
                return -ENOMEM;
        snprintf(p, sizeof(p), "%s.digest", path);
        r = json_get_string(o, "digest", p, &s);
        if (r == -ENOENT)
                return err_set(-EINVAL, "%s: missing", p);
        if (r < 0)
                return r;
        if (!digest_is_valid(s))
                return err_set(-EINVAL, "%s: unsupported or malformed digest '%.80s'", p, s);
        d->digest = strdup(s);
        if (!d->digest)
                return -ENOMEM;
        snprintf(p, sizeof(p), "%s.size", path);
        r = json_get_int64(o, "size", p, &d->size);
        if (r == -ENOENT)
                return err_set(-EINVAL, "%s: missing", p);
        if (r < 0)
                return r;
        if (d->size < 0)
                return err_set(-EINVAL, "%s: negative size %lld", p, (long long)d->size);
        {
                struct json_object *ann;
                if (json_get_object(o, "annotations", "annotations", &ann) >= 0) {
                        snprintf(p, sizeof(p), "%s.annotations", path);
                        r = dup_opt_string(ann, "org.opencontainers.image.ref.name", p, &d->ref_name);
                        if (r < 0)
                                return r;
                }
        }
        if (in_index) {
                struct json_object *plat;
                snprintf(p, sizeof(p), "%s.platform", path);
                r = json_get_object(o, "platform", p, &plat);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                char q[160];
                snprintf(q, sizeof(q), "%s.os", p);
                r = dup_opt_string(plat, "os", q, &d->os);
                if (r < 0)
                        return r;
                snprintf(q, sizeof(q), "%s.architecture", p);
                r = dup_opt_string(plat, "architecture", q, &d->architecture);
                if (r < 0)
                        return r;
                snprintf(q, sizeof(q), "%s.variant", p);
                r = dup_opt_string(plat, "variant", q, &d->variant);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_descriptor_array(struct json_object *o, const char *key, bool in_index, struct descriptor **ret,
                                  size_t *ret_n)
{
        struct json_object *a;
        struct descriptor *l;
        size_t n;
        int r;

        r = json_get_array(o, key, key, &a);
        if (r == -ENOENT)
                return err_set(-EINVAL, "%s: missing", key);
        if (r < 0)
                return r;
        n = json_object_array_length(a);
        if (n > MANIFEST_MAX_ENTRIES)
                return err_set(-E2BIG, "%s: %zu entries, more than %d", key, n, MANIFEST_MAX_ENTRIES);
        l = calloc(n ?: 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *ret = l;
        for (size_t i = 0; i < n; i++) {
                char p[64];
                snprintf(p, sizeof(p), "%s[%zu]", key, i);
                *ret_n = i + 1;
                r = parse_descriptor(json_object_array_get_idx(a, i), p, in_index, &l[i]);
                if (r < 0)
                        return r;
        }
        *ret_n = n;
        return 0;
}

static enum manifest_kind kind_from_media_type(const char *mt)
{
        for (int k = 0; k < _MANIFEST_KIND_MAX; k++)
                if (streq(mt, kind_media_type[k]))
                        return k;
        return _MANIFEST_KIND_INVALID;
}

static int manifest_parse_json(struct json_object *o, const char *content_type, struct manifest **ret)
{
        _cleanup_manifest_ struct manifest *m = NULL;
        const char *mt = NULL;
        int64_t version;
        int r;

        r = json_expect_type(o, json_type_object, "manifest");
        if (r < 0)
                return r;
        r = json_get_int64(o, "schemaVersion", "schemaVersion", &version);
        if (r == -ENOENT)
                return err_set(-EINVAL, "schemaVersion: missing");
        if (r < 0)
                return r;
        if (version == 1 || (content_type && (streq(content_type, MT_DOCKER_SCHEMA1) ||
                                              streq(content_type, MT_DOCKER_SCHEMA1S))))
                return err_set(-EPROTONOSUPPORT, "Docker schema 1 manifests are not supported (deprecated format)");
        if (version != 2)
                return err_set(-EINVAL, "schemaVersion: unsupported version %lld", (long long)version);
        r = json_get_string(o, "mediaType", "mediaType", &mt);
        if (r < 0 && r != -ENOENT)
                return r;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        /*
         * The OCI media type field is optional (image-spec manifest.md "mediaType ...
         * SHOULD be used"); without it and without a Content-Type, the shape decides.
         */
        if (mt)
                m->kind = kind_from_media_type(mt);
        else if (content_type && kind_from_media_type(content_type) >= 0)
                m->kind = kind_from_media_type(content_type);
        else if (json_object_object_get_ex(o, "manifests", NULL))
                m->kind = MANIFEST_INDEX_OCI;
        else if (json_object_object_get_ex(o, "config", NULL))
                m->kind = MANIFEST_OCI;
        else
                return err_set(-EINVAL, "mediaType: missing, and the document is neither a manifest nor an index");
        if (m->kind < 0)
                return err_set(-EPROTONOSUPPORT, "mediaType: unsupported manifest type '%.100s'", mt);
        if (mt && content_type && kind_from_media_type(content_type) >= 0 && !streq(mt, content_type))
                return err_set(-EINVAL, "mediaType: '%s' does not match the served type '%s'", mt, content_type);
        m->media_type = kind_media_type[m->kind];
        if (manifest_is_index(m)) {
                r = parse_descriptor_array(o, "manifests", true, &m->manifests, &m->n_manifests);
                if (r < 0)
                        return r;
        } else {
                struct json_object *c;
                r = json_get_object(o, "config", "config", &c);
                if (r == -ENOENT)
                        return err_set(-EINVAL, "config: missing");
                if (r < 0)
                        return r;
                r = parse_descriptor(c, "config", false, &m->config);
                if (r < 0)
                        return r;
                r = parse_descriptor_array(o, "layers", false, &m->layers, &m->n_layers);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int manifest_parse(const char *buf, size_t len, const char *content_type, struct manifest **ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        if (len > MANIFEST_MAX_SIZE)
                return err_set(-EFBIG, "manifest: %zu bytes, larger than %u", len, MANIFEST_MAX_SIZE);
        r = json_parse_buffer(buf, len, "manifest", &o);
        if (r < 0)
                return r;
        r = manifest_parse_json(o, content_type, ret);
        if (r < 0 && !startswith(err_msg(r), "manifest"))
                err_prefix(r, "manifest");
        return r;
}

const char *manifest_normalize_arch(const char *arch)
{
        if (!arch)
                return NULL;
        if (streq(arch, "x86_64") || streq(arch, "x86-64"))
                return "amd64";
        if (streq(arch, "aarch64"))
                return "arm64";
        if (streq(arch, "i386") || streq(arch, "i686"))
                return "386";
        return arch;
}

const char *manifest_host_arch(void)
{
        static char arch[65];
        struct utsname u;

        if (!arch[0]) {
                if (uname(&u) < 0)
                        return "amd64";
                snprintf(arch, sizeof(arch), "%s", manifest_normalize_arch(u.machine));
        }
        return arch;
}

int manifest_select_platform(const struct manifest *index, const char *os, const char *arch, const char *variant)
{
        char avail[512] = "";
        size_t used = 0;

        arch = manifest_normalize_arch(arch);
        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct descriptor *d = &index->manifests[i];
                if (!d->os || !d->architecture)
                        continue;
                if (streq(d->os, os) && streq(manifest_normalize_arch(d->architecture), arch) &&
                    (!variant || streq_ptr(d->variant, variant)))
                        return (int)i;
        }
        for (size_t i = 0; i < index->n_manifests && used + 64 < sizeof(avail); i++) {
                const struct descriptor *d = &index->manifests[i];
                if (!d->os || !d->architecture)
                        continue;
                used += (size_t)snprintf(avail + used, sizeof(avail) - used, "%s%.20s/%.20s%s%.10s", used ? ", " : "",
                                         d->os, d->architecture, d->variant ? "/" : "", strempty(d->variant));
        }
        return err_set(-ENOENT, "no %s/%s image in the index (available: %s)", os, arch, used ? avail : "none");
}

static struct json_object *descriptor_to_json(const struct descriptor *d)
{
        struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "mediaType", json_object_new_string(d->media_type));
        json_object_object_add(o, "digest", json_object_new_string(d->digest));
        json_object_object_add(o, "size", json_object_new_int64(d->size));
        return o;
}

char *manifest_oci_to_json(const struct descriptor *config, const struct descriptor *layers, size_t n_layers)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *a;

        if (!o)
                return NULL;
        json_object_object_add(o, "schemaVersion", json_object_new_int(2));
        json_object_object_add(o, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
        json_object_object_add(o, "config", descriptor_to_json(config));
        a = json_object_new_array();
        json_object_object_add(o, "layers", a);
        for (size_t i = 0; i < n_layers; i++)
                json_object_array_add(a, descriptor_to_json(&layers[i]));
        return strdup(json_to_string(o));
}

void image_config_free(struct image_config *c)
{
        if (!c)
                return;
        free(c->architecture);
        free(c->os);
        free(c->variant);
        free(c->created);
        free(c->author);
        strv_free(c->env);
        strv_free(c->cmd);
        strv_free(c->entrypoint);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        strv_free(c->exposed_ports);
        strv_free(c->volumes);
        strv_free(c->labels);
        strv_free(c->healthcheck.test);
        strv_free(c->diff_ids);
        for (size_t i = 0; i < c->n_history; i++) {
                free(c->history[i].created);
                free(c->history[i].created_by);
                free(c->history[i].comment);
        }
        free(c->history);
        if (c->json)
                json_object_put(c->json);
        free(c);
}

static int opt_strv(struct json_object *o, const char *key, const char *path, char ***ret)
{
        int r = json_get_strv(o, key, path, ret);
        return r == -ENOENT ? 0 : r;
}

/* Keys of an object ({"80/tcp": {}}) as a strv; labels as key, value pairs. */
static int object_keys(struct json_object *o, const char *key, const char *path, bool with_values, char ***ret)
{
        struct json_object *m;
        int r = json_get_object(o, key, path, &m);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        json_object_object_foreach(m, k, v)
        {
                r = strv_extend(ret, k);
                if (r < 0)
                        return r;
                if (with_values) {
                        if (json_object_get_type(v) != json_type_string)
                                return err_set(-EINVAL, "%s.%s: expected a string, got %s", path, k,
                                               json_type_label(v));
                        r = strv_extend(ret, json_object_get_string(v));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_healthcheck(struct json_object *cfg, struct image_healthcheck *h)
{
        struct json_object *o;
        int r = json_get_object(cfg, "Healthcheck", "config.Healthcheck", &o);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = opt_strv(o, "Test", "config.Healthcheck.Test", &h->test);
        if (r < 0)
                return r;
        static const struct {
                const char *key, *path;
                size_t off;
        } f[] = {
                { "Interval", "config.Healthcheck.Interval", offsetof(struct image_healthcheck, interval) },
                { "Timeout", "config.Healthcheck.Timeout", offsetof(struct image_healthcheck, timeout) },
                { "StartPeriod", "config.Healthcheck.StartPeriod", offsetof(struct image_healthcheck, start_period) },
                { "StartInterval", "config.Healthcheck.StartInterval",
                  offsetof(struct image_healthcheck, start_interval) },
                { "Retries", "config.Healthcheck.Retries", offsetof(struct image_healthcheck, retries) },
        };
        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                int64_t *v = (int64_t *)((char *)h + f[i].off);
                r = json_get_int64(o, f[i].key, f[i].path, v);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (*v < 0)
                        return err_set(-EINVAL, "%s: negative value", f[i].path);
        }
        return 0;
}

static int parse_history(struct json_object *o, struct image_config *c)
{
        struct json_object *a;
        size_t n;
        int r = json_get_array(o, "history", "history", &a);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        n = json_object_array_length(a);
        if (n > 4 * MANIFEST_MAX_ENTRIES)
                return err_set(-E2BIG, "history: %zu entries, too many", n);
        c->history = calloc(n ?: 1, sizeof(*c->history));
        if (!c->history)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                struct image_history *h = &c->history[i];
                char p[48];

                c->n_history = i + 1;
                snprintf(p, sizeof(p), "history[%zu]", i);
                r = json_expect_type(e, json_type_object, p);
                if (r < 0)
                        return r;
                if ((r = dup_opt_string(e, "created", p, &h->created)) < 0 ||
                    (r = dup_opt_string(e, "created_by", p, &h->created_by)) < 0 ||
                    (r = dup_opt_string(e, "comment", p, &h->comment)) < 0)
                        return r;
                r = json_get_bool(e, "empty_layer", p, &h->empty_layer);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

int image_config_parse(const char *buf, size_t len, struct image_config **ret)
{
        _cleanup_image_config_ struct image_config *c = NULL;
        struct json_object *cfg, *rootfs;
        const char *type;
        int r;

        if (len > CONFIG_MAX_SIZE)
                return err_set(-EFBIG, "image config: %zu bytes, larger than %u", len, CONFIG_MAX_SIZE);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = json_parse_buffer(buf, len, "image config", &c->json);
        if (r < 0)
                return r;
        r = json_expect_type(c->json, json_type_object, "image config");
        if (r < 0)
                return r;
        if ((r = dup_opt_string(c->json, "architecture", "architecture", &c->architecture)) < 0 ||
            (r = dup_opt_string(c->json, "os", "os", &c->os)) < 0 ||
            (r = dup_opt_string(c->json, "variant", "variant", &c->variant)) < 0 ||
            (r = dup_opt_string(c->json, "created", "created", &c->created)) < 0 ||
            (r = dup_opt_string(c->json, "author", "author", &c->author)) < 0)
                goto fail;
        r = json_get_object(c->json, "rootfs", "rootfs", &rootfs);
        if (r == -ENOENT)
                r = err_set(-EINVAL, "rootfs: missing");
        if (r < 0)
                goto fail;
        r = json_get_string(rootfs, "type", "rootfs.type", &type);
        if (r >= 0 && !streq(type, "layers"))
                r = err_set(-EINVAL, "rootfs.type: expected 'layers', got '%.40s'", type);
        if (r < 0)
                goto fail;
        r = json_get_strv(rootfs, "diff_ids", "rootfs.diff_ids", &c->diff_ids);
        if (r == -ENOENT)
                r = err_set(-EINVAL, "rootfs.diff_ids: missing");
        if (r < 0)
                goto fail;
        if (strv_length(c->diff_ids) > MANIFEST_MAX_ENTRIES) {
                r = err_set(-E2BIG, "rootfs.diff_ids: more than %d layers", MANIFEST_MAX_ENTRIES);
                goto fail;
        }
        for (size_t i = 0; c->diff_ids[i]; i++)
                if (!digest_is_valid(c->diff_ids[i])) {
                        r = err_set(-EINVAL, "rootfs.diff_ids[%zu]: malformed digest '%.80s'", i, c->diff_ids[i]);
                        goto fail;
                }
        r = json_get_object(c->json, "config", "config", &cfg);
        if (r >= 0) {
                if ((r = opt_strv(cfg, "Env", "config.Env", &c->env)) < 0 ||
                    (r = opt_strv(cfg, "Cmd", "config.Cmd", &c->cmd)) < 0 ||
                    (r = opt_strv(cfg, "Entrypoint", "config.Entrypoint", &c->entrypoint)) < 0 ||
                    (r = dup_opt_string(cfg, "WorkingDir", "config.WorkingDir", &c->working_dir)) < 0 ||
                    (r = dup_opt_string(cfg, "User", "config.User", &c->user)) < 0 ||
                    (r = dup_opt_string(cfg, "StopSignal", "config.StopSignal", &c->stop_signal)) < 0 ||
                    (r = object_keys(cfg, "ExposedPorts", "config.ExposedPorts", false, &c->exposed_ports)) < 0 ||
                    (r = object_keys(cfg, "Volumes", "config.Volumes", false, &c->volumes)) < 0 ||
                    (r = object_keys(cfg, "Labels", "config.Labels", true, &c->labels)) < 0 ||
                    (r = parse_healthcheck(cfg, &c->healthcheck)) < 0)
                        goto fail;
        } else if (r != -ENOENT)
                goto fail;
        r = parse_history(c->json, c);
        if (r < 0)
                goto fail;
        *ret = TAKE_PTR(c);
        return 0;
fail:
        if (!startswith(err_msg(r), "image config"))
                err_prefix(r, "image config");
        return r;
}
