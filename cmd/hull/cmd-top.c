/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-top.c - `hull top CONTAINER`: its processes, podman's default columns. */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "output.h"
#include "stats.h"
#include "util.h"

static const char *hms(uint64_t s, char buf[static 32])
{
        if (s >= 86400)
                snprintf(buf, 32, "%llud%02lluh", (unsigned long long)(s / 86400),
                         (unsigned long long)(s / 3600 % 24));
        else
                snprintf(buf, 32, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
                         (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
        return buf;
}

/* podman top's format descriptors (the AIX ones ps knows, and hull's h* for host values). */
enum col {
        COL_USER,
        COL_PID,
        COL_PPID,
        COL_PCPU,
        COL_ETIME,
        COL_TTY,
        COL_TIME,
        COL_ARGS,
        COL_COMM,
        COL_GROUP,
        COL_NICE,
        COL_VSZ,
        COL_STATE,
        COL_HPID,
        COL_HPPID,
        COL_HUSER,
        COL_HGROUP,
        _COL_MAX
};

static const struct {
        const char *name, *header, *field;
} cols[_COL_MAX] = {
        [COL_USER] = {"user", "USER", "User"},         [COL_PID] = {"pid", "PID", "PID"},
        [COL_PPID] = {"ppid", "PPID", "PPID"},         [COL_PCPU] = {"pcpu", "%CPU", "CPU"},
        [COL_ETIME] = {"etime", "ELAPSED", "Elapsed"}, [COL_TTY] = {"tty", "TTY", "TTY"},
        [COL_TIME] = {"time", "TIME", "Time"},         [COL_ARGS] = {"args", "COMMAND", "Command"},
        [COL_COMM] = {"comm", "COMMAND", "Comm"},      [COL_GROUP] = {"group", "GROUP", "Group"},
        [COL_NICE] = {"nice", "NI", "Nice"},           [COL_VSZ] = {"vsz", "VSZ", "VSZ"},
        [COL_STATE] = {"state", "STATE", "State"},     [COL_HPID] = {"hpid", "HPID", "HPID"},
        [COL_HPPID] = {"hppid", "HPPID", "HPPID"},     [COL_HUSER] = {"huser", "HUSER", "HUser"},
        [COL_HGROUP] = {"hgroup", "HGROUP", "HGroup"},
};

/* Descriptors from argv (each may be a comma-separated list); none: podman's default columns. */
static int parse_cols(char **argv, int argc, enum col *out, size_t *ret_n)
{
        static const enum col defaults[] = {COL_USER,  COL_PID, COL_PPID, COL_PCPU,
                                            COL_ETIME, COL_TTY, COL_TIME, COL_ARGS};
        size_t n = 0;

        if (argc == 0) {
                memcpy(out, defaults, sizeof(defaults));
                *ret_n = ELEMENTSOF(defaults);
                return 0;
        }
        for (int i = 0; i < argc; i++) {
                _cleanup_free_ char *copy = strdup(argv[i]);
                char *save = NULL;

                if (!copy)
                        return -ENOMEM;
                for (char *d = strtok_r(copy, ", ", &save); d; d = strtok_r(NULL, ", ", &save)) {
                        size_t k = 0;
                        while (k < _COL_MAX && !streq(cols[k].name, d))
                                k++;
                        if (k == _COL_MAX)
                                return err_set(-EINVAL,
                                               "unknown descriptor '%s' (user, pid, ppid, pcpu, etime, tty, "
                                               "time, args, "
                                               "comm, group, nice, vsz, state, hpid, hppid, huser, hgroup)",
                                               d);
                        if (n == 32)
                                return err_set(-E2BIG, "too many descriptors");
                        out[n++] = (enum col)k;
                }
        }
        *ret_n = n;
        return 0;
}

static void cell(const struct top_entry *e, enum col k, char buf[static 64], const char **ret)
{
        *ret = buf;
        switch (k) {
        case COL_USER:
                *ret = e->user;
                break;
        case COL_PID:
                snprintf(buf, 64, "%d", (int)e->pid);
                break;
        case COL_PPID:
                snprintf(buf, 64, "%d", (int)e->ppid);
                break;
        case COL_PCPU:
                snprintf(buf, 64, "%.3f", e->cpu_percent);
                break;
        case COL_ETIME:
                hms(e->elapsed_s, buf);
                break;
        case COL_TTY:
                *ret = e->tty;
                break;
        case COL_TIME:
                hms(e->cpu_s, buf);
                break;
        case COL_ARGS:
                *ret = e->args;
                break;
        case COL_COMM:
                *ret = e->comm;
                break;
        case COL_GROUP:
                *ret = e->group;
                break;
        case COL_NICE:
                snprintf(buf, 64, "%d", e->nice);
                break;
        case COL_VSZ:
                snprintf(buf, 64, "%llu", (unsigned long long)e->vsz_kib);
                break;
        case COL_STATE:
                snprintf(buf, 64, "%c", e->state);
                break;
        case COL_HPID:
                snprintf(buf, 64, "%d", (int)e->hpid);
                break;
        case COL_HPPID:
                snprintf(buf, 64, "%d", (int)e->hppid);
                break;
        case COL_HUSER:
                *ret = e->huser;
                break;
        case COL_HGROUP:
                *ret = e->hgroup;
                break;
        default:
                buf[0] = 0;
                break;
        }
}

int cmd_top(struct cmd_context *c)
{
        const char *headers[32], *fields[32];
        enum col want[32];
        _cleanup_table_ struct table *t = NULL;
        _cleanup_workload_ struct workload *w = NULL;
        struct top_entry *l = NULL;
        size_t n = 0, nc = 0;
        int r;

        if ((r = parse_cols(c->argv + 1, c->argc - 1, want, &nc)) < 0)
                return cmd_fail(r, "top");
        for (size_t i = 0; i < nc; i++) {
                headers[i] = cols[want[i]].header;
                fields[i] = cols[want[i]].field;
        }
        if (!(t = table_new(headers, fields, nc)))
                return -ENOMEM;
        if ((r = ctr_lookup_or_fail(c, c->argv[0], &w)) < 0)
                return r;
        r = ctr_top(c->engine, w, &l, &n);
        if (r < 0)
                return cmd_fail(r, "listing the processes of container %s", w->name);
        for (size_t i = 0; i < n && r >= 0; i++) {
                char bufs[32][64];
                const char *row[32];
                for (size_t j = 0; j < nc; j++)
                        cell(&l[i], want[j], bufs[j], &row[j]);
                r = table_add_row(t, row);
        }
        top_entries_free(l, n);
        if (r < 0)
                return cmd_fail(r, "listing processes");
        return table_print(t, NULL, false, stdout);
}
