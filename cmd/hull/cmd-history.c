/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-history.c - `hull history`: the history entries of an image's config, newest first, with layer sizes. */
#include <time.h>

#include "cmd.h"
#include "json.h"
#include "output.h"
#include "util.h"

static int64_t parse_time(const char *s)
{
        struct tm tm = {};
        if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
                return 0;
        return (int64_t)timegm(&tm);
}

int cmd_history(struct cmd_context *c)
{
        static const char *const headers[] = { "ID", "CREATED", "CREATED BY", "SIZE", "COMMENT" };
        static const char *const fields[] = { "ID", "Created", "CreatedBy", "Size", "Comment" };
        _cleanup_image_config_ struct image_config *cfg = NULL;
        _cleanup_table_ struct table *t = NULL;
        _cleanup_json_ struct json_object *ja = NULL;
        _cleanup_free_ char *id = NULL;
        const char *format = cmd_opt(c, "format");
        struct store_layer *layers = NULL;
        size_t n = 0, li;
        int r;

        r = store_resolve(c->store, c->argv[0], &id);
        if (r >= 0)
                r = store_image_config(c->store, id, &cfg);
        if (r >= 0)
                r = store_image_layers(c->store, id, &layers, &n);
        if (r < 0)
                return cmd_fail(r, "history of '%s'", c->argv[0]);
        t = table_new(headers, fields, ELEMENTSOF(headers));
        ja = json_object_new_array();
        if (!t || !ja) {
                store_layers_free(layers, n);
                return -ENOMEM;
        }
        /* Entries that made a layer take the layers in order; the rest are metadata-only. */
        li = 0;
        for (size_t i = 0; i < cfg->n_history; i++)
                if (!cfg->history[i].empty_layer)
                        li++;
        for (size_t i = cfg->n_history; i > 0; i--) {
                const struct image_history *h = &cfg->history[i - 1];
                char sid[16], created[64], size[32], by[64];
                int64_t sz = 0;
                const char *row_id = "<missing>";

                if (!h->empty_layer && li > 0) {
                        li--;
                        if (li < n)
                                sz = layers[li].size;
                }
                if (i == cfg->n_history)
                        row_id = short_id(id, sid);
                format_ago(parse_time(h->created), created);
                format_size((uint64_t)sz, size);
                snprintf(by, sizeof(by), "%.45s%s", strempty(h->created_by),
                         strlen(strempty(h->created_by)) > 45 ? "..." : "");
                const char *row[] = { row_id, created, cmd_flag(c, "no-trunc") ? strempty(h->created_by) : by, size,
                                      strempty(h->comment) };
                r = table_add_row(t, row);
                if (r < 0)
                        break;
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_string(i == cfg->n_history ? id : "<missing>"));
                json_object_object_add(o, "created", json_object_new_string(strempty(h->created)));
                json_object_object_add(o, "createdBy", json_object_new_string(strempty(h->created_by)));
                json_object_object_add(o, "size", json_object_new_int64(sz));
                json_object_object_add(o, "comment", json_object_new_string(strempty(h->comment)));
                json_object_array_add(ja, o);
        }
        store_layers_free(layers, n);
        if (r < 0)
                return r;
        if (format && streq(format, "json")) {
                puts(json_object_to_json_string_ext(ja, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        r = table_print(t, cmd_flag(c, "quiet") ? "{{.ID}}" : format, cmd_flag(c, "noheading"), stdout);
        if (r < 0)
                return cmd_fail(-EINVAL, "--format '%s': unknown field (fields: ID, Created, CreatedBy, Size, Comment)",
                                format);
        return 0;
}
