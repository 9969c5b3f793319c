/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-container-inspect.c - `hull container inspect` and `hull inspect`, which looks each
 * name up as a container, then an image, then a volume (podman's order), or as --type says.
 */
#include <json-c/json.h>

#include "cmd.h"
#include "container.h"
#include "error.h"
#include "inspect.h"
#include "json.h"
#include "store.h"
#include "util.h"
#include "volume.h"

enum kind {
        KIND_CONTAINER = 1 << 0,
        KIND_IMAGE = 1 << 1,
        KIND_VOLUME = 1 << 2,
};

static int inspect_one(struct cmd_context *c, const char *name, unsigned kinds, struct json_object **ret)
{
        int r = -ENOENT;

        /* "app:1", "repo/app", "app@sha256:..." can only be images: keep the image's own error then. */
        if ((kinds & KIND_IMAGE) && strpbrk(name, ":/@"))
                kinds = KIND_IMAGE;

        if (kinds & KIND_CONTAINER) {
                _cleanup_workload_ struct workload *w = NULL;
                r = ctr_lookup(c->engine, name, &w);
                if (r >= 0)
                        return ctr_inspect_json(c->engine, w, ret);
                if (r != -ENOENT)
                        return r;
        }
        if (kinds & KIND_IMAGE) {
                _cleanup_free_ char *id = NULL;
                struct image_store *s;
                err_clear();
                if ((r = engine_store(c->engine, &s)) < 0)
                        return r;
                r = store_resolve(s, name, &id);
                if (r >= 0) {
                        *ret = image_inspect_json(s, id, &r);
                        return *ret ? 0 : r;
                }
                if (r != -ENOENT)
                        return r;
        }
        if (kinds & KIND_VOLUME) {
                _cleanup_volume_info_ struct volume_info *v = NULL;
                err_clear();
                r = volume_inspect(c->engine, name, &v);
                if (r >= 0)
                        return volume_inspect_json(c->engine, v, ret);
        }
        if (r == -ENOENT && kinds != KIND_IMAGE) {
                err_clear();
                return err_set(-ENOENT, "no such %s '%s'",
                               kinds == KIND_CONTAINER ? "container"
                               : kinds == KIND_IMAGE   ? "image"
                               : kinds == KIND_VOLUME  ? "volume"
                                                       : "container, image or volume",
                               name);
        }
        return r;
}

static int inspect_all(struct cmd_context *c, unsigned kinds)
{
        _cleanup_json_ struct json_object *all = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        bool json = !format || streq(format, "json");
        int r, ret = 0;

        if (!all)
                return -ENOMEM;
        for (int i = 0; i < c->argc; i++) {
                struct json_object *o = NULL;
                err_clear();
                r = inspect_one(c, c->argv[i], kinds, &o);
                if (r < 0) {
                        ret = cmd_fail(r, "inspecting '%s'", c->argv[i]);
                        continue;
                }
                if (!json) {
                        r = inspect_template(o, format);
                        json_object_put(o);
                        if (r < 0)
                                return cmd_fail(r == -ENOENT ? -ENOENT : -EINVAL, "--format '%s'", format);
                        continue;
                }
                json_object_array_add(all, o);
        }
        if (json)
                puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
        return ret;
}

int cmd_container_inspect(struct cmd_context *c)
{
        return inspect_all(c, KIND_CONTAINER);
}

int cmd_volume_inspect(struct cmd_context *c)
{
        return inspect_all(c, KIND_VOLUME);
}

int cmd_inspect_any(struct cmd_context *c)
{
        const char *type = cmd_opt(c, "type");
        unsigned kinds = KIND_CONTAINER | KIND_IMAGE | KIND_VOLUME;

        if (type && streq(type, "container"))
                kinds = KIND_CONTAINER;
        else if (type && streq(type, "image"))
                kinds = KIND_IMAGE;
        else if (type && streq(type, "volume"))
                kinds = KIND_VOLUME;
        else if (type && !streq(type, "all")) {
                fprintf(stderr, "hull inspect: --type: expected container, image, volume or all, not '%s'\n",
                        type);
                return -EINVAL;
        }
        return inspect_all(c, kinds);
}
