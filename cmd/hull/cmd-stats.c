/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-stats.c - `hull stats [--no-stream] [CONTAINER...]`. CPU % is Docker's: CPU time over
 * wall time between two samples (100% = one CPU); a single sample (--no-stream) is taken
 * against the container's start, as podman does for its first line.
 */
#include <json-c/json.h>
#include <signal.h>
#include <time.h>

#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "stats.h"
#include "status.h"
#include "util.h"

struct item {
        struct workload *w;
        struct ctr_stats prev, cur;
        bool have_prev, ok;
};

static int collect(struct cmd_context *c, struct item **ret, size_t *ret_n)
{
        struct workload **l = NULL;
        struct item *items;
        size_t n = 0, k = 0;
        int r;

        if (c->argc == 0) {
                r = ctr_list(c->engine, &l, &n);
                if (r < 0)
                        return cmd_fail(r, "listing containers");
        } else {
                l = calloc((size_t)c->argc, sizeof(*l));
                if (!l)
                        return -ENOMEM;
                for (int i = 0; i < c->argc; i++) {
                        r = ctr_lookup_or_fail(c, c->argv[i], &l[n]);
                        if (r < 0) {
                                workload_list_free(l, n);
                                return r;
                        }
                        n++;
                }
        }
        items = calloc(n ? n : 1, sizeof(*items));
        if (!items) {
                workload_list_free(l, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (c->argc == 0 && l[i]->state != WORKLOAD_RUNNING && l[i]->state != WORKLOAD_PAUSED) {
                        workload_free(l[i]);
                        continue;
                }
                items[k++].w = l[i];
        }
        free(l);
        *ret = items;
        *ret_n = k;
        return 0;
}

static int show(struct cmd_context *c, struct item *items, size_t n, bool first)
{
        static const char *const headers[] = {"ID",    "NAME",   "CPU %",    "MEM USAGE / LIMIT",
                                              "MEM %", "NET IO", "BLOCK IO", "PIDS"};
        static const char *const fields[] = {"ID",      "Name",  "CPUPerc", "MemUsage",
                                             "MemPerc", "NetIO", "BlockIO", "PIDs"};
        _cleanup_table_ struct table *t = table_new(headers, fields, ELEMENTSOF(fields));
        _cleanup_json_ struct json_object *arr = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        bool json = format && streq(format, "json");
        int r = 0;

        if (!t || !arr)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct item *it = &items[i];
                char id[16], cpu[16], mem[80], memp[16], net[80], blk[80], pids[24];
                double cp, mp;

                if (!it->ok)
                        continue;
                if (it->have_prev)
                        cp = ctr_stats_cpu_percent(&it->prev, &it->cur);
                else {
                        int64_t up = now_ns() - it->w->started;
                        cp = up > 0 ? (double)it->cur.cpu_ns * 100.0 / (double)up : 0;
                }
                mp = it->cur.mem_limit ? (double)it->cur.mem_usage * 100.0 / (double)it->cur.mem_limit : 0;
                snprintf(id, sizeof(id), "%.12s", it->w->id);
                snprintf(cpu, sizeof(cpu), "%.2f%%", cp);
                snprintf(memp, sizeof(memp), "%.2f%%", mp);
                snprintf(pids, sizeof(pids), "%llu", (unsigned long long)it->cur.pids);
                format_pair(it->cur.mem_usage, it->cur.mem_limit, mem);
                format_pair(it->cur.net_rx, it->cur.net_tx, net);
                format_pair(it->cur.blk_read, it->cur.blk_write, blk);
                if (json) {
                        struct json_object *o = json_object_new_object();
                        json_object_object_add(o, "ID", json_object_new_string(it->w->id));
                        json_object_object_add(o, "Name", json_object_new_string(it->w->name));
                        json_object_object_add(o, "CPUPerc", json_object_new_double(cp));
                        json_object_object_add(o, "CPUNano", json_object_new_int64((int64_t)it->cur.cpu_ns));
                        json_object_object_add(o, "MemUsage",
                                               json_object_new_int64((int64_t)it->cur.mem_usage));
                        json_object_object_add(o, "MemLimit",
                                               json_object_new_int64((int64_t)it->cur.mem_limit));
                        json_object_object_add(o, "MemPerc", json_object_new_double(mp));
                        json_object_object_add(o, "NetInput",
                                               json_object_new_int64((int64_t)it->cur.net_rx));
                        json_object_object_add(o, "NetOutput",
                                               json_object_new_int64((int64_t)it->cur.net_tx));
                        json_object_object_add(o, "BlockInput",
                                               json_object_new_int64((int64_t)it->cur.blk_read));
                        json_object_object_add(o, "BlockOutput",
                                               json_object_new_int64((int64_t)it->cur.blk_write));
                        json_object_object_add(o, "PIDs", json_object_new_int64((int64_t)it->cur.pids));
                        json_object_array_add(arr, o);
                        continue;
                }
                r = table_add_row(t, (const char *const[]){id, it->w->name, cpu, mem, memp, net, blk, pids});
        }
        if (r < 0)
                return r;
        if (json) {
                puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        if (!first && c->stdout_tty && (!format || streq(format, "table")))
                fputs("\033[2J\033[H", stdout);
        r = table_print(t, format, false, stdout);
        fflush(stdout);
        return r < 0 ? cmd_fail(-EINVAL, "--format '%s': unknown field or bad template", format) : 0;
}

int cmd_stats(struct cmd_context *c)
{
        struct item *items = NULL;
        size_t n = 0;
        bool stream = !cmd_flag(c, "no-stream");
        const char *iv = cmd_opt(c, "interval");
        int interval = 1, r;

        if (iv && (parse_int(iv, &interval) < 0 || interval < 1))
                return cmd_fail(-EINVAL, "--interval: expected a number of seconds, not '%s'", iv);
        r = collect(c, &items, &n);
        if (r < 0)
                return r;
        for (bool first = true;; first = false) {
                for (size_t i = 0; i < n; i++) {
                        struct item *it = &items[i];
                        if (it->ok) {
                                it->prev = it->cur;
                                it->have_prev = true;
                        }
                        err_clear();
                        r = ctr_stats_read(c->engine, it->w, &it->cur);
                        it->ok = r >= 0;
                        if (r < 0 && c->argc > 0 && first) {
                                r = cmd_fail(r, "reading the statistics of container %s", it->w->name);
                                goto out;
                        }
                }
                r = show(c, items, n, first);
                if (r < 0 || !stream)
                        break;
                sleep((unsigned)interval);
        }
out:
        for (size_t i = 0; i < n; i++)
                workload_free(items[i].w);
        free(items);
        return r < 0 ? r : 0;
}
