/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-state.c - `state` and `list`. */
#include "cmd.h"
#include "error.h"
#include "json.h"
#include "state.h"
#include "util.h"

const struct opt_def list_opts[] = {
        { "quiet", 'q', OPT_FLAG, NULL, "print only the container ids" },
        { "format", 'f', OPT_VALUE, "FORMAT", "table (default) or json" },
        {},
};

int cmd_state(struct cmd_args *a)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        r = state_open(a->g->root, a->pos[0], false, &s);
        if (r >= 0)
                r = state_to_oci_json(s, &o);
        if (r < 0)
                return cmd_fail(r, "state of container '%s'", a->pos[0]);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}

int cmd_list(struct cmd_args *a)
{
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_json_ struct json_object *arr = json_object_new_array();
        const char *fmt = arg_value(a, "format");
        bool json = fmt && streq(fmt, "json");
        int r;

        if (fmt && !json && !streq(fmt, "table"))
                return cmd_fail(-EINVAL, "--format: unknown format '%s' (table or json)", fmt);
        r = state_list(a->g->root, &ids);
        if (r < 0)
                return cmd_fail(r, "list containers in '%s'", a->g->root);
        if (!json && !arg_flag(a, "quiet"))
                printf("%-24s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
        STRV_FOREACH(id, ids)
        {
                _cleanup_state_ struct container_state *s = NULL;
                _cleanup_json_ struct json_object *o = NULL;
                struct json_object *v;

                /* A container being created or deleted right now is skipped, not an error. */
                if (state_open(a->g->root, *id, false, &s) < 0 || state_to_oci_json(s, &o) < 0)
                        continue;
                if (arg_flag(a, "quiet")) {
                        printf("%s\n", *id);
                        continue;
                }
                if (json) {
                        json_object_array_add(arr, json_object_get(o));
                        continue;
                }
                json_object_object_get_ex(o, "status", &v);
                printf("%-24s %-8d %-10s %-40s %-30s %s\n", *id, state_status(s) == STATUS_STOPPED ? 0 : s->pid,
                       json_object_get_string(v), strempty(s->bundle), strempty(s->created), "root");
        }
        err_clear();
        if (json && !arg_flag(a, "quiet"))
                printf("%s\n", json_to_string(arr));
        return 0;
}
