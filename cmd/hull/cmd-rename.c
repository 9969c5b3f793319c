/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-rename.c - `hull rename CONTAINER NAME`. */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

int cmd_rename(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r;

        if ((r = ctr_lookup_or_fail(c, c->argv[0], &w)) < 0)
                return r;
        r = ctr_rename(c->engine, w, c->argv[1]);
        if (r < 0)
                return cmd_fail(r, "renaming container %s", w->name);
        return 0;
}
