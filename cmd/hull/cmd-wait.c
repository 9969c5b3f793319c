/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-wait.c - `hull wait CONTAINER...`: block until each has stopped, print its exit code. */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

int cmd_wait(struct cmd_context *c)
{
        int r, ret = 0;

        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                int code = 0;
                err_clear();
                if ((r = ctr_lookup_or_fail(c, c->argv[i], &w)) < 0) {
                        ret = r;
                        continue;
                }
                r = ctr_wait(c->engine, w, &code);
                if (r < 0)
                        ret = cmd_fail(r, "waiting for container %s", w->name);
                else
                        printf("%d\n", code);
        }
        return ret;
}
