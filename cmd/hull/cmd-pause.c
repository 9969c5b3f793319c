/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-pause.c - `hull pause` and `hull unpause` (the cgroup freezer, through hull-runtime). */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

static int pause_all(struct cmd_context *c, bool pause)
{
        int r, ret = 0;

        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                err_clear();
                if ((r = ctr_lookup_or_fail(c, c->argv[i], &w)) < 0) {
                        ret = r;
                        continue;
                }
                r = ctr_pause(c->engine, w, pause);
                if (r < 0)
                        ret = cmd_fail(r, "%s container %s", pause ? "pausing" : "unpausing", w->name);
                else
                        printf("%s\n", c->argv[i]);
        }
        return ret;
}

int cmd_pause(struct cmd_context *c)
{
        return pause_all(c, true);
}

int cmd_unpause(struct cmd_context *c)
{
        return pause_all(c, false);
}
