/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-volume.c - `hull volume create|ls|rm|prune` (inspect: cmd-container-inspect.c). */
#include <json-c/json.h>

#include "cmd.h"
#include "container.h"
#include "error.h"
#include "inspect.h"
#include "json.h"
#include "output.h"
#include "runspec.h"
#include "util.h"
#include "volume.h"

int cmd_volume_create(struct cmd_context *c)
{
        _cleanup_strv_free_ char **labels = NULL;
        const char *driver = cmd_opt(c, "driver");
        char gen[65];
        const char *name = c->argc > 0 ? c->argv[0] : NULL;
        int r;

        if (driver && !streq(driver, "local"))
                return cmd_fail(-EINVAL, "--driver: only the local driver exists, not '%s'", driver);
        STRV_FOREACH (l, cmd_opt_all(c, "label")) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);
                if (!k || !*k)
                        return cmd_fail(k ? -EINVAL : -ENOMEM, "--label: invalid label '%s'", *l);
                if (strv_extend(&labels, k) < 0 || strv_extend(&labels, eq ? eq + 1 : "") < 0)
                        return -ENOMEM;
        }
        if (!name) {
                if ((r = workload_new_id(gen)) < 0)
                        return cmd_fail(r, "creating a volume");
                name = gen;
        } else if (!name[0] || strchr(name, '/') || name[0] == '.' || strlen(name) > 255) {
                return cmd_fail(-EINVAL, "invalid volume name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-]*", name);
        }
        r = volume_create(c->engine, name, labels, false);
        if (r < 0)
                return cmd_fail(r, "creating volume '%s'", name);
        printf("%s\n", name);
        return 0;
}

int cmd_volume_ls(struct cmd_context *c)
{
        static const char *const headers[] = {"DRIVER", "VOLUME NAME", "", "", "", ""};
        static const char *const fields[] = {"Driver",    "Name",   "Mountpoint",
                                             "CreatedAt", "Labels", "Anonymous"};
        _cleanup_table_ struct table *t = table_new(headers, fields, ELEMENTSOF(fields));
        _cleanup_json_ struct json_object *arr = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        bool json = format && streq(format, "json");
        struct volume_info **l = NULL;
        size_t n = 0;
        int r;

        if (!t || !arr)
                return -ENOMEM;
        for (size_t i = 2; i < ELEMENTSOF(fields); i++)
                table_hide_column(t, fields[i]);
        r = volume_list(c->engine, &l, &n);
        if (r < 0)
                return cmd_fail(r, "listing volumes");
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct json_object *o = NULL;
                if (cmd_flag(c, "quiet")) {
                        printf("%s\n", l[i]->name);
                        continue;
                }
                r = volume_inspect_json(c->engine, l[i], &o);
                if (r < 0)
                        break;
                if (json) {
                        json_object_array_add(arr, o);
                        continue;
                }
                r = table_add_row(t, (const char *const[]){
                                             l[i]->driver, l[i]->name, l[i]->mountpoint,
                                             json_object_get_string(json_object_object_get(o, "CreatedAt")),
                                             l[i]->labels, l[i]->anonymous ? "true" : "false"});
                json_object_put(o);
        }
        volume_info_list_free(l, n);
        if (r < 0)
                return cmd_fail(r, "listing volumes");
        if (cmd_flag(c, "quiet"))
                return 0;
        if (json) {
                puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        if (table_print(t, format, cmd_flag(c, "noheading"), stdout) < 0)
                return cmd_fail(-EINVAL, "--format '%s': unknown field or bad template", format);
        return 0;
}

int cmd_volume_rm(struct cmd_context *c)
{
        bool force = cmd_flag(c, "force");
        int r, ret = 0;

        for (int i = 0; i < c->argc; i++) {
                err_clear();
                r = volume_remove(c->engine, c->argv[i]);
                if (r == -EBUSY && force) {
                        /* podman's --force: the containers using it go first. */
                        _cleanup_volume_info_ struct volume_info *v = NULL;
                        err_clear();
                        if ((r = volume_inspect(c->engine, c->argv[i], &v)) >= 0)
                                STRV_FOREACH (u, v->users) {
                                        _cleanup_workload_ struct workload *w = NULL;
                                        if ((r = ctr_lookup(c->engine, *u, &w)) >= 0)
                                                r = ctr_remove(c->engine, w, true, false);
                                        if (r < 0 && r != -ENOENT)
                                                break;
                                        r = 0;
                                }
                        if (r >= 0)
                                r = volume_remove(c->engine, c->argv[i]);
                }
                if (r == -ENOENT && force)
                        continue;
                if (r < 0)
                        ret = cmd_fail(r, "removing volume '%s'", c->argv[i]);
                else
                        printf("%s\n", c->argv[i]);
        }
        return ret;
}

int cmd_volume_prune(struct cmd_context *c)
{
        _cleanup_strv_free_ char **removed = NULL;
        int r = volume_prune(c->engine, &removed);

        if (r < 0)
                return cmd_fail(r, "pruning volumes");
        STRV_FOREACH (v, removed)
                printf("%s\n", *v);
        return 0;
}
