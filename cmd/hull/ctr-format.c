/* SPDX-License-Identifier: Apache-2.0 */
/* ctr-format.c - container status lines and durations for people; see ctr-format.h. */
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "output.h"
#include "status.h"
#include "util.h"

const char *format_duration(int64_t ns, char buf[static 64])
{
        int64_t s = ns / 1000000000;

        if (s < 1)
                snprintf(buf, 64, "Less than a second");
        else if (s == 1)
                snprintf(buf, 64, "1 second");
        else if (s < 60)
                snprintf(buf, 64, "%lld seconds", (long long)s);
        else if (s < 120)
                snprintf(buf, 64, "About a minute");
        else if (s < 3600)
                snprintf(buf, 64, "%lld minutes", (long long)(s / 60));
        else if (s < 7200)
                snprintf(buf, 64, "About an hour");
        else if (s < 48 * 3600)
                snprintf(buf, 64, "%lld hours", (long long)(s / 3600));
        else if (s < 14 * 86400)
                snprintf(buf, 64, "%lld days", (long long)(s / 86400));
        else if (s < 60 * 86400)
                snprintf(buf, 64, "%lld weeks", (long long)(s / (7 * 86400)));
        else if (s < 730 * 86400)
                snprintf(buf, 64, "%lld months", (long long)(s / (30 * 86400)));
        else
                snprintf(buf, 64, "%lld years", (long long)(s / (365 * 86400)));
        return buf;
}

const char *ctr_status_line(const struct workload *w, char buf[static 128])
{
        char d[64];
        int64_t now = now_ns();

        switch (w->state) {
        case WORKLOAD_RUNNING:
        case WORKLOAD_PAUSED:
                snprintf(buf, 128, "Up %s%s%s%s%s", format_duration(now - w->started, d),
                         w->state == WORKLOAD_PAUSED ? " (Paused)" : "",
                         w->health && w->health[0] ? " (" : "", w->health && w->health[0] ? w->health : "",
                         w->health && w->health[0] ? ")" : "");
                break;
        case WORKLOAD_RESTARTING:
                snprintf(buf, 128, "Restarting (%d) %s ago", w->exit_code,
                         format_duration(now - w->finished, d));
                break;
        case WORKLOAD_STOPPING:
                snprintf(buf, 128, "Stopping");
                break;
        case WORKLOAD_EXITED:
                if (w->finished)
                        snprintf(buf, 128, "Exited (%d) %s ago", w->exit_code,
                                 format_duration(now - w->finished, d));
                else
                        snprintf(buf, 128, "Exited (%d)", w->exit_code);
                break;
        case WORKLOAD_REMOVING:
                snprintf(buf, 128, "Removal In Progress");
                break;
        default:
                snprintf(buf, 128, "Created");
                break;
        }
        return buf;
}

int ctr_lookup_or_fail(struct cmd_context *c, const char *name, struct workload **ret)
{
        int r = ctr_lookup(c->engine, name, ret);
        if (r < 0)
                return cmd_fail(r, "looking up container '%s'", name);
        return 0;
}

const char *format_pair(uint64_t a, uint64_t b, char buf[static 80])
{
        char x[32], y[32];
        snprintf(buf, 80, "%s / %s", format_size(a, x), format_size(b, y));
        return buf;
}

int ctr_for_each_arg(struct cmd_context *c, const char *doing, bool print_names,
                     int (*fn)(struct cmd_context *c, struct workload *w, void *userdata), void *userdata)
{
        int r, ret = 0;

        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                err_clear();
                if ((r = ctr_lookup_or_fail(c, c->argv[i], &w)) < 0) {
                        ret = r;
                        continue;
                }
                r = fn(c, w, userdata);
                if (r < 0)
                        ret = cmd_fail(r, "%s container %s", doing, w->name);
                else if (print_names)
                        printf("%s\n", c->argv[i]);
        }
        return ret;
}
