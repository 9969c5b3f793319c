/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-wait.c - `hull wait CONTAINER...`: block until each has stopped, print its exit code. */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

static int wait_one(struct cmd_context *c, struct workload *w, void *userdata)
{
        int code = 0, r = ctr_wait(c->engine, w, &code);
        if (r >= 0)
                printf("%d\n", code);
        return r;
}

int cmd_wait(struct cmd_context *c)
{
        return ctr_for_each_arg(c, "waiting for", false, wait_one, NULL);
}
