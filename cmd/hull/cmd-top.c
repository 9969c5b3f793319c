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

int cmd_top(struct cmd_context *c)
{
        static const char *const headers[] = {"USER",    "PID", "PPID", "%CPU",
                                              "ELAPSED", "TTY", "TIME", "COMMAND"};
        static const char *const fields[] = {"User",    "PID", "PPID", "CPU",
                                             "Elapsed", "TTY", "Time", "Command"};
        _cleanup_table_ struct table *t = table_new(headers, fields, ELEMENTSOF(fields));
        _cleanup_workload_ struct workload *w = NULL;
        struct top_entry *l = NULL;
        size_t n = 0;
        int r;

        if (!t)
                return -ENOMEM;
        if ((r = ctr_lookup_or_fail(c, c->argv[0], &w)) < 0)
                return r;
        r = ctr_top(c->engine, w, &l, &n);
        if (r < 0)
                return cmd_fail(r, "listing the processes of container %s", w->name);
        for (size_t i = 0; i < n && r >= 0; i++) {
                char pid[16], ppid[16], cpu[16], el[32], tm[32];
                snprintf(pid, sizeof(pid), "%d", (int)l[i].pid);
                snprintf(ppid, sizeof(ppid), "%d", (int)l[i].ppid);
                snprintf(cpu, sizeof(cpu), "%.3f", l[i].cpu_percent);
                r = table_add_row(t,
                                  (const char *const[]){l[i].user, pid, ppid, cpu, hms(l[i].elapsed_s, el),
                                                        l[i].tty, hms(l[i].cpu_s, tm), l[i].args});
        }
        top_entries_free(l, n);
        if (r < 0)
                return cmd_fail(r, "listing processes");
        return table_print(t, NULL, false, stdout);
}
