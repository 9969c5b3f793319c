/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-inspect.c - `hull inspect`: an image's details as JSON, or through a
 * template whose {{.Field}} / {{.Config.Cmd}} references walk the JSON.
 */
#include "cmd.h"
#include "json.h"
#include "output.h"
#include "util.h"

static struct json_object *inspect_json(struct image_store *s, const char *id, int *ret_r)
{
        _cleanup_image_info_ struct image_info *info = NULL;
        _cleanup_image_config_ struct image_config *cfg = NULL;
        _cleanup_free_ char *manifest = NULL;
        struct store_layer *layers = NULL;
        struct json_object *o, *v, *a;
        size_t n = 0, mlen;
        int r;

        if ((r = store_image_info(s, id, &info)) < 0 || (r = store_image_config(s, id, &cfg)) < 0 ||
            (r = store_image_manifest(s, id, &manifest, &mlen)) < 0 || (r = store_image_layers(s, id, &layers, &n)) < 0) {
                *ret_r = r;
                return NULL;
        }
        o = json_object_new_object();
        json_object_object_add(o, "Id", json_object_new_string(id + strlen("sha256:")));
        json_object_object_add(o, "Digest", json_object_new_string(info->manifest_digest));
        a = json_object_new_array();
        STRV_FOREACH(t, info->tags)
        json_object_array_add(a, json_object_new_string(*t));
        json_object_object_add(o, "RepoTags", a);
        a = json_object_new_array();
        STRV_FOREACH(t, info->repo_digests)
        json_object_array_add(a, json_object_new_string(*t));
        json_object_object_add(o, "RepoDigests", a);
        json_object_object_add(o, "Created", json_object_new_string(cfg->created ?: ""));
        json_object_object_add(o, "Author", json_object_new_string(cfg->author ?: ""));
        json_object_object_add(o, "Architecture", json_object_new_string(cfg->architecture ?: ""));
        json_object_object_add(o, "Os", json_object_new_string(cfg->os ?: ""));
        json_object_object_add(o, "Size", json_object_new_int64(info->size));
        if (json_object_object_get_ex(cfg->json, "config", &v))
                json_object_object_add(o, "Config", json_object_get(v));
        else
                json_object_object_add(o, "Config", json_object_new_object());
        if (json_object_object_get_ex(cfg->json, "rootfs", &v))
                json_object_object_add(o, "RootFS", json_object_get(v));
        if (json_object_object_get_ex(cfg->json, "history", &v))
                json_object_object_add(o, "History", json_object_get(v));
        json_object_object_add(o, "ManifestType", json_object_new_string(info->manifest_type));
        a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                struct json_object *l = json_object_new_object();
                json_object_object_add(l, "Digest", json_object_new_string(layers[i].blob_digest));
                json_object_object_add(l, "DiffID", json_object_new_string(layers[i].diff_id));
                json_object_object_add(l, "MediaType", json_object_new_string(layers[i].media_type));
                json_object_object_add(l, "Size", json_object_new_int64(layers[i].blob_size));
                json_object_object_add(l, "UnpackedSize", json_object_new_int64(layers[i].size));
                json_object_object_add(l, "Path", json_object_new_string(layers[i].path));
                json_object_array_add(a, l);
        }
        json_object_object_add(o, "Layers", a);
        store_layers_free(layers, n);
        return o;
}

/* Print tmpl with {{.A.B}} replaced by the JSON value at that path (strings bare). */
static int print_template(struct json_object *o, const char *tmpl)
{
        for (const char *p = tmpl; *p;) {
                if (p[0] == '{' && p[1] == '{') {
                        const char *end = strstr(p, "}}"), *q = p + 2;
                        struct json_object *v = o;
                        if (!end)
                                return -EINVAL;
                        while (*q == ' ')
                                q++;
                        while (q < end && *q == '.') {
                                char key[128];
                                size_t n = strcspn(q + 1, ". }");
                                if (n >= sizeof(key) || q + 1 + n > end)
                                        return -EINVAL;
                                memcpy(key, q + 1, n);
                                key[n] = 0;
                                if (!v || !json_object_object_get_ex(v, key, &v))
                                        return -ENOENT;
                                q += 1 + n;
                        }
                        if (v && json_object_get_type(v) == json_type_string)
                                fputs(json_object_get_string(v), stdout);
                        else
                                fputs(v ? json_to_string(v) : "<no value>", stdout);
                        p = end + 2;
                } else if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't')) {
                        putchar(p[1] == 'n' ? '\n' : '\t');
                        p += 2;
                } else
                        putchar(*p++);
        }
        putchar('\n');
        return 0;
}

int cmd_inspect(struct cmd_context *c)
{
        _cleanup_json_ struct json_object *all = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        int r, ret = 0;

        if (!all)
                return -ENOMEM;
        for (int i = 0; i < c->argc; i++) {
                _cleanup_free_ char *id = NULL;
                struct json_object *o;

                r = store_resolve(c->store, c->argv[i], &id);
                if (r < 0) {
                        ret = cmd_fail(r, "inspecting '%s'", c->argv[i]);
                        continue;
                }
                o = inspect_json(c->store, id, &r);
                if (!o) {
                        ret = cmd_fail(r, "inspecting '%s'", c->argv[i]);
                        continue;
                }
                if (format && !streq(format, "json")) {
                        r = print_template(o, format);
                        json_object_put(o);
                        if (r < 0)
                                return cmd_fail(r == -ENOENT ? -ENOENT : -EINVAL, "--format '%s'", format);
                        continue;
                }
                json_object_array_add(all, o);
        }
        if (!format || streq(format, "json"))
                puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return ret;
}
