/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-logs.c - `hull logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER`. */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "logs.h"
#include "runspec.h"
#include "status.h"
#include "util.h"

struct out {
        bool timestamps;
        bool broken; /* stdout went away (`| head`) */
};

static int print_record(void *userdata, const struct log_record *rec)
{
        struct out *o = userdata;
        FILE *f = rec->stream == LOG_STREAM_STDERR ? stderr : stdout;
        char t[48];

        if (o->timestamps)
                fprintf(f, "%s ", logfile_format_time(rec->time_ns, t, sizeof(t)));
        if (fwrite(rec->data, 1, rec->len, f) != rec->len || fflush(f) != 0)
                return -EPIPE;
        return 0;
}

/* RFC 3339, a number of seconds since the epoch, or a duration back from now (Docker's --since). */
static int parse_when(const char *flag, const char *v, int64_t *ret)
{
        int64_t d;
        if (logfile_parse_time(v, strlen(v), ret) >= 0)
                return 0;
        if (parse_i64(v, &d) >= 0 && d >= 0) {
                *ret = d * 1000000000;
                return 0;
        }
        if (runspec_parse_duration(flag, v, &d) >= 0) {
                *ret = now_ns() - d;
                return 0;
        }
        return err_set(-EINVAL,
                       "%s: expected an RFC 3339 time, seconds since the epoch or a duration, not '%s'",
                       flag, v);
}

int cmd_logs(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        struct logs_options o = {.follow = cmd_flag(c, "follow"), .tail = -1};
        struct out out = {.timestamps = cmd_flag(c, "timestamps")};
        const char *v;
        int r;

        if ((v = cmd_opt(c, "tail")) && !streq(v, "all") && (parse_i64(v, &o.tail) < 0 || o.tail < -1))
                return cmd_fail(-EINVAL, "--tail: expected a number of lines or 'all', not '%s'", v);
        if ((v = cmd_opt(c, "since")) && (r = parse_when("--since", v, &o.since_ns)) < 0)
                return cmd_fail(r, "invalid option");
        if ((v = cmd_opt(c, "until")) && (r = parse_when("--until", v, &o.until_ns)) < 0)
                return cmd_fail(r, "invalid option");
        if ((r = ctr_lookup_or_fail(c, c->argv[0], &w)) < 0)
                return r;
        r = ctr_logs(c->engine, w, &o, print_record, &out);
        if (r == -EPIPE)
                return 0;
        if (r < 0)
                return cmd_fail(r, "reading the logs of container %s", w->name);
        return 0;
}
