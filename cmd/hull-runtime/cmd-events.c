/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-events.c - `events`: {"type":"stats","id":ID,"data":{...}} lines every --interval
 * (default 5s), {"type":"oom","id":ID} when the kernel OOM-kills in the container; with
 * --stats one stats line and exit. Ends when the container stops.
 */
#include <poll.h>
#include <time.h>

#include "cgroup.h"
#include "cmd.h"
#include "error.h"
#include "json.h"
#include "state.h"
#include "util.h"

const struct opt_def events_opts[] = {
        { "stats", 0, OPT_FLAG, NULL, "print one stats event and exit" },
        { "interval", 0, OPT_VALUE, "DURATION", "time between stats events (e.g. 5s, 500ms; default 5s)" },
        {},
};

static int parse_duration_ms(const char *s, int *ret)
{
        char *end;
        double v = strtod(s, &end);

        if (end == s || v < 0)
                return -EINVAL;
        if (streq(end, "ms"))
                ;
        else if (streq(end, "s") || !*end)
                v *= 1000;
        else if (streq(end, "m"))
                v *= 60000;
        else
                return -EINVAL;
        if (v < 1 || v > 86400000)
                return -ERANGE;
        *ret = (int)v;
        return 0;
}

static int print_event(const char *type, const char *id, struct json_object *data)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "id", json_object_new_string(id));
        if (data)
                json_object_object_add(o, "data", data);
        printf("%s\n", json_to_string(o));
        fflush(stdout);
        return 0;
}

int cmd_events(struct cmd_args *a)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_close_ int oom = -EBADF;
        const char *iv = arg_value(a, "interval");
        int interval = 5000, r;

        if (iv && parse_duration_ms(iv, &interval) < 0)
                return cmd_fail(-EINVAL, "--interval: invalid duration '%s'", iv);
        r = state_open(a->g->root, a->pos[0], false, &s);
        if (r < 0)
                return cmd_fail(r, "events of container '%s'", a->pos[0]);
        if (!s->cgroup)
                return cmd_fail(-EOPNOTSUPP, "events of container '%s': it has no cgroup", a->pos[0]);
        if (state_status(s) == STATUS_STOPPED)
                return cmd_fail(-EINVAL, "events of container '%s': it is stopped", a->pos[0]);
        if (arg_flag(a, "stats")) {
                struct json_object *data;
                r = cgroup_stats(s->cgroup, &data);
                if (r < 0)
                        return cmd_fail(r, "stats of container '%s'", a->pos[0]);
                return print_event("stats", a->pos[0], data);
        }
        oom = cgroup_oom_fd(s->cgroup);
        for (;;) {
                struct pollfd p = { .fd = oom, .events = POLLIN };
                struct json_object *data;
                int k = poll(&p, oom >= 0 ? 1 : 0, interval);

                if (state_status(s) == STATUS_STOPPED)
                        return 0;
                if (k > 0 && (p.revents & POLLIN)) {
                        if (cgroup_oom_read(s->cgroup, oom) > 0)
                                print_event("oom", a->pos[0], NULL);
                        continue;
                }
                if (cgroup_stats(s->cgroup, &data) >= 0)
                        print_event("stats", a->pos[0], data);
                err_clear();
        }
}
