/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-lifecycle.c - `start`, `kill`, `delete`, `pause`, `resume`: one call each into container.h. */
#include <signal.h>

#include "cmd.h"
#include "container.h"
#include "util.h"

const struct opt_def kill_opts[] = {
        { "all", 'a', OPT_FLAG, NULL, "signal every process of the container" },
        {},
};

const struct opt_def delete_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "kill the container first when it still runs" },
        {},
};

int cmd_start(struct cmd_args *a)
{
        int r = container_start(a->g->root, a->pos[0]);
        return r < 0 ? cmd_fail(r, "start container '%s'", a->pos[0]) : 0;
}

int cmd_kill(struct cmd_args *a)
{
        int sig = SIGTERM, r;

        if (a->n_pos > 1) {
                sig = signal_from_string(a->pos[1]);
                if (sig < 0)
                        return cmd_fail(-EINVAL, "kill: invalid signal '%s'", a->pos[1]);
        }
        r = container_kill(a->g->root, a->pos[0], sig, arg_flag(a, "all"));
        return r < 0 ? cmd_fail(r, "kill container '%s'", a->pos[0]) : 0;
}

int cmd_delete(struct cmd_args *a)
{
        int r = container_delete(a->g->root, a->pos[0], arg_flag(a, "force"));
        return r < 0 ? cmd_fail(r, "delete container '%s'", a->pos[0]) : 0;
}

int cmd_pause(struct cmd_args *a)
{
        int r = container_pause(a->g->root, a->pos[0], true);
        return r < 0 ? cmd_fail(r, "pause container '%s'", a->pos[0]) : 0;
}

int cmd_resume(struct cmd_args *a)
{
        int r = container_pause(a->g->root, a->pos[0], false);
        return r < 0 ? cmd_fail(r, "resume container '%s'", a->pos[0]) : 0;
}

int cmd_checkpoint(struct cmd_args *a)
{
        return cmd_fail(-EOPNOTSUPP, "checkpoint: not supported yet (CRIU support has not landed)");
}

int cmd_restore(struct cmd_args *a)
{
        return cmd_fail(-EOPNOTSUPP, "restore: not supported yet (CRIU support has not landed)");
}
