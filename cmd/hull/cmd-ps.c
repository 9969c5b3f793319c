/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-ps.c - `hull ps`: containers as a table, JSON (podman's field names) or a template.
 * Listing refreshes each container (ctr_list()): exits recorded by monitors are folded
 * in, and containers whose monitor died are repaired, on the way.
 */
#include <json-c/json.h>

#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "logfile.h"
#include "output.h"
#include "util.h"
#include "vm.h"

static bool label_matches(const struct workload *w, const char *f)
{
        _cleanup_json_ struct json_object *o = NULL;
        const char *eq = strchr(f, '=');
        _cleanup_free_ char *key = eq ? strndup(f, (size_t)(eq - f)) : strdup(f);
        struct json_object *v;

        if (!key || json_parse_buffer(w->labels, strlen(w->labels), "labels", &o) < 0) {
                err_clear();
                return false;
        }
        if (!json_object_object_get_ex(o, key, &v))
                return false;
        return !eq || streq(json_object_get_string(v), eq + 1);
}

static const char *state_word(enum workload_state s)
{
        switch (s) {
        case WORKLOAD_CREATING:
        case WORKLOAD_CREATED:
                return "created";
        case WORKLOAD_EXITED:
                return "exited";
        default:
                return workload_state_to_string(s);
        }
}

/* Docker's filters: every given key must match (several values of one key: any of them). */
static int matches(const struct workload *w, char **filters, bool *ret)
{
        static const char *const keys[] = {"name", "id", "label", "status", "ancestor"};

        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                bool given = false, any = false;
                STRV_FOREACH (f, filters) {
                        const char *v = startswith(*f, keys[k]);
                        if (!v || *v != '=')
                                continue;
                        v++;
                        given = true;
                        if ((k == 0 && strstr(w->name, v)) || (k == 1 && startswith(w->id, v)) ||
                            (k == 2 && label_matches(w, v)) || (k == 3 && streq(state_word(w->state), v)) ||
                            (k == 4 &&
                             (streq(w->image_ref, v) || startswith(w->image_id + strlen("sha256:"), v))))
                                any = true;
                }
                if (given && !any) {
                        *ret = false;
                        return 0;
                }
        }
        STRV_FOREACH (f, filters) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        known = known || (startswith(*f, keys[k]) && (*f)[strlen(keys[k])] == '=');
                if (!known) {
                        fprintf(stderr,
                                "hull ps: unknown filter '%s' (name=, id=, label=, status=, ancestor=)\n",
                                *f);
                        return -EINVAL;
                }
        }
        *ret = true;
        return 0;
}

/* "vm" for a container run with --isolation vm, else "container". */
static const char *isolation_of(const struct workload *w)
{
        _cleanup_json_ struct json_object *spec = NULL;
        struct json_object *v;

        if (!w->spec || !strstr(w->spec, "\"isolation\"") || !(spec = json_tokener_parse(w->spec)))
                return "container";
        if (!json_object_object_get_ex(spec, "isolation", &v) || !json_object_is_type(v, json_type_string))
                return "container";
        return streq(json_object_get_string(v), "vm") ? "vm" : "container";
}

static struct json_object *ps_json(struct engine *e, const struct workload *w)
{
        _cleanup_json_ struct json_object *nets = NULL;
        struct json_object *ports = json_object_new_array();
        struct json_object *o = json_object_new_object(), *names = json_object_new_array(), *labels = NULL;
        char st[128], t[48];

        json_object_object_add(o, "Id", json_object_new_string(w->id));
        json_object_object_add(o, "Image", json_object_new_string(w->image_ref));
        json_object_object_add(o, "ImageID",
                               json_object_new_string(startswith(w->image_id, "sha256:") ?: w->image_id));
        json_object_object_add(o, "Command", json_object_new_string(w->command));
        json_object_object_add(o, "Created", json_object_new_int64(w->created / 1000000000));
        json_object_object_add(o, "CreatedAt",
                               json_object_new_string(logfile_format_time(w->created, t, sizeof(t))));
        json_object_object_add(o, "State", json_object_new_string(state_word(w->state)));
        json_object_object_add(o, "Status", json_object_new_string(ctr_status_line(w, st)));
        json_object_array_add(names, json_object_new_string(w->name));
        json_object_object_add(o, "Names", names);
        /* podman's shape: one object per published port. */
        if (engine_net_attachments(e, w->id, &nets) >= 0)
                for (size_t i = 0; i < json_object_array_length(nets); i++) {
                        struct json_object *pl;
                        if (!json_object_object_get_ex(json_object_array_get_idx(nets, i), "ports", &pl))
                                continue;
                        for (size_t j = 0; j < json_object_array_length(pl); j++)
                                json_object_array_add(ports,
                                                      json_object_get(json_object_array_get_idx(pl, j)));
                }
        err_clear();
        json_object_object_add(o, "Ports", ports);
        if (json_parse_buffer(w->labels, strlen(w->labels), "labels", &labels) < 0) {
                err_clear();
                labels = json_object_new_object();
        }
        json_object_object_add(o, "Labels", labels);
        json_object_object_add(o, "ExitCode", json_object_new_int(w->exit_code < 0 ? 0 : w->exit_code));
        json_object_object_add(o, "Exited", json_object_new_boolean(w->state == WORKLOAD_EXITED));
        json_object_object_add(o, "Pid", json_object_new_int64(w->pid));
        json_object_object_add(o, "RestartCount", json_object_new_int(w->restart_count));
        json_object_object_add(o, "Health", json_object_new_string(w->health ? w->health : ""));
        json_object_object_add(o, "StartedAt", json_object_new_int64(w->started / 1000000000));
        json_object_object_add(o, "Kind", json_object_new_string(w->kind));
        json_object_object_add(o, "Isolation", json_object_new_string(isolation_of(w)));
        return o;
}

int cmd_ps(struct cmd_context *c)
{
        static const char *const headers[] = {"CONTAINER ID",
                                              "IMAGE",
                                              "COMMAND",
                                              "CREATED",
                                              "STATUS",
                                              "PORTS",
                                              "NAMES",
                                              "ISOLATION",
                                              "",
                                              "",
                                              "",
                                              "",
                                              "",
                                              "",
                                              "",
                                              "",
                                              "KIND"};
        static const char *const fields[] = {"ID",      "Image",     "Command",  "Created",   "Status",
                                             "Ports",   "Names",     "Isolation", "ImageID", "CreatedAt",
                                             "State",   "Labels",    "ExitCode", "Pid",       "RestartCount",
                                             "Health",  "Kind"};
        _cleanup_table_ struct table *t = table_new(headers, fields, ELEMENTSOF(fields));
        _cleanup_json_ struct json_object *arr = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        bool all = cmd_flag(c, "all"), quiet = cmd_flag(c, "quiet"), no_trunc = cmd_flag(c, "no-trunc");
        bool json = format && streq(format, "json"), any_vm = false;
        struct workload **l = NULL;
        size_t n = 0;
        int r = 0;

        if (!t || !arr)
                return -ENOMEM;
        const char *kind = cmd_opt(c, "kind");
        bool all_kinds = cmd_flag(c, "all-kinds");
        if (kind && !streq(kind, "container") && !streq(kind, VM_KIND))
                return cmd_fail(-EINVAL, "--kind: unknown kind '%s' (container, vm)", kind);
        /* Isolation (7) is shown once a VM-isolated container is listed (below). */
        for (size_t i = 8; i < ELEMENTSOF(fields) - (all_kinds || kind ? 1 : 0); i++)
                table_hide_column(t, fields[i]);
        /* Containers first, then VMs (--all-kinds, --kind vm): each kind refreshed by its own engine part. */
        if (!kind || streq(kind, "container"))
                r = ctr_list(c->engine, &l, &n);
        if (r >= 0 && (all_kinds || streq_ptr(kind, VM_KIND))) {
                struct workload **v = NULL, **both;
                size_t nv = 0;
                r = vm_list(c->engine, &v, &nv);
                both = r >= 0 ? realloc(l, (n + nv + 1) * sizeof(*l)) : NULL;
                if (r >= 0 && !both)
                        r = -ENOMEM;
                if (both) {
                        memcpy(both + n, v, nv * sizeof(*v));
                        l = both;
                        n += nv;
                        free(v);
                } else
                        workload_list_free(v, nv);
        }
        if (r < 0) {
                workload_list_free(l, n);
                return cmd_fail(r, "listing containers");
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                const struct workload *w = l[i];
                char id[16], st[128], ago[64], created[48], code[16], pid[24], restarts[16];
                _cleanup_free_ char *cmdline = NULL, *ports = NULL;
                bool ok;

                r = matches(w, cmd_opt_all(c, "filter"), &ok);
                if (r < 0 || !ok)
                        continue;
                if (!all && w->state != WORKLOAD_RUNNING && w->state != WORKLOAD_PAUSED &&
                    w->state != WORKLOAD_RESTARTING && w->state != WORKLOAD_STOPPING)
                        continue;
                any_vm = any_vm || streq(isolation_of(w), "vm");
                if (quiet) {
                        printf("%.*s\n", no_trunc ? 64 : 12, w->id);
                        continue;
                }
                if (json) {
                        json_object_array_add(arr, ps_json(c->engine, w));
                        continue;
                }
                snprintf(id, sizeof(id), "%.12s", w->id);
                cmdline = !no_trunc && strlen(w->command) > 20 ? strdup_printf("%.17s...", w->command)
                                                               : strdup(w->command);
                if (engine_net_ports_string(c->engine, w->id, &ports) < 0)
                        err_clear();
                snprintf(code, sizeof(code), "%d", w->exit_code);
                snprintf(pid, sizeof(pid), "%lld", (long long)w->pid);
                snprintf(restarts, sizeof(restarts), "%d", w->restart_count);
                r = table_add_row(
                        t, (const char *const[]){no_trunc ? w->id : id, w->image_ref, cmdline ?: "",
                                                 format_ago(w->created / 1000000000, ago),
                                                 ctr_status_line(w, st), ports ?: "", w->name,
                                                 isolation_of(w), w->image_id,
                                                 logfile_format_time(w->created, created, sizeof(created)),
                                                 state_word(w->state), w->labels, code, pid, restarts,
                                                 w->health ?: "", w->kind});
        }
        workload_list_free(l, n);
        if (r < 0)
                return r == -EINVAL ? r : cmd_fail(r, "listing containers");
        /* The column appears once a VM-isolated container is listed, so that scripts reading the
         * usual columns see them unchanged. */
        if (!any_vm)
                table_hide_column(t, "Isolation");
        if (quiet)
                return 0;
        if (json) {
                puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        r = table_print(t, format, cmd_flag(c, "noheading"), stdout);
        if (r < 0)
                return cmd_fail(r == -ENOENT ? -ENOENT : -EINVAL,
                                "--format '%s': unknown field or bad template", format);
        return 0;
}
