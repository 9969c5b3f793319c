/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-stop.c - `hull stop`, `hull restart` and `hull kill`. */
#include <signal.h>

#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

static int timeout_option(struct cmd_context *c, int *ret)
{
        const char *v = cmd_opt(c, "time");
        *ret = -1;
        if (v && (parse_int(v, ret) < 0 || *ret < 0)) {
                fprintf(stderr, "hull %s: --time: invalid number of seconds '%s'\n", c->cmd->name, v);
                return -EINVAL;
        }
        return 0;
}

static int stop_one(struct cmd_context *c, struct workload *w, void *userdata)
{
        return ctr_stop(c->engine, w, *(int *)userdata);
}

int cmd_stop(struct cmd_context *c)
{
        struct workload **all = NULL;
        size_t n = 0;
        int timeout, r, ret = 0;

        if ((r = timeout_option(c, &timeout)) < 0)
                return r;
        if (cmd_flag(c, "all")) {
                r = ctr_list(c->engine, &all, &n);
                if (r < 0)
                        return cmd_fail(r, "listing containers");
                for (size_t i = 0; i < n; i++) {
                        err_clear();
                        if (all[i]->state != WORKLOAD_RUNNING && all[i]->state != WORKLOAD_PAUSED &&
                            all[i]->state != WORKLOAD_RESTARTING)
                                continue;
                        r = ctr_stop(c->engine, all[i], timeout);
                        if (r < 0)
                                ret = cmd_fail(r, "stopping container %s", all[i]->name);
                        else
                                printf("%s\n", all[i]->name);
                }
                workload_list_free(all, n);
                return ret;
        }
        if (c->argc == 0) {
                fprintf(stderr, "hull stop: missing arguments (usage: hull stop [OPTIONS] CONTAINER "
                                "[CONTAINER...])\n");
                return -EINVAL;
        }
        return ctr_for_each_arg(c, "stopping", true, stop_one, &timeout);
}

static int restart_one(struct cmd_context *c, struct workload *w, void *userdata)
{
        struct ctr_start_result res;
        int r = ctr_stop(c->engine, w, *(int *)userdata);
        return r < 0 ? r : ctr_start(c->engine, w, false, &res);
}

int cmd_restart(struct cmd_context *c)
{
        int timeout, r;

        if ((r = timeout_option(c, &timeout)) < 0)
                return r;
        return ctr_for_each_arg(c, "restarting", true, restart_one, &timeout);
}

static int kill_one(struct cmd_context *c, struct workload *w, void *userdata)
{
        return ctr_kill(c->engine, w, *(int *)userdata);
}

int cmd_kill(struct cmd_context *c)
{
        const char *v = cmd_opt(c, "signal");
        int sig = SIGKILL;

        if (v && (sig = signal_from_string(v)) <= 0) {
                fprintf(stderr, "hull kill: --signal: unknown signal '%s'\n", v);
                return -EINVAL;
        }
        return ctr_for_each_arg(c, "killing", true, kill_one, &sig);
}
