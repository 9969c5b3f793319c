/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-pause.c - `hull pause` and `hull unpause` (the cgroup freezer, through hull-runtime). */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

static int pause_one(struct cmd_context *c, struct workload *w, void *userdata)
{
        return ctr_pause(c->engine, w, *(bool *)userdata);
}

int cmd_pause(struct cmd_context *c)
{
        bool pause = true;
        return ctr_for_each_arg(c, "pausing", true, pause_one, &pause);
}

int cmd_unpause(struct cmd_context *c)
{
        bool pause = false;
        return ctr_for_each_arg(c, "unpausing", true, pause_one, &pause);
}
