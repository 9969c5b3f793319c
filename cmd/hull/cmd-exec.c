/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-exec.c - `hull exec`: hull-runtime exec runs the process (in the foreground it
 * relays the terminal and signals and returns the process's status, 126/127 when it could
 * not be executed), so hull replaces itself with it once the process is prepared.
 */
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

int cmd_exec(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if ((r = ctr_lookup_or_fail(c, c->argv[0], &w)) < 0)
                return r;
        if (cmd_flag(c, "detach")) {
                r = ctr_exec_detached(c->engine, w, c->argv + 1, cmd_opt(c, "user"), cmd_opt(c, "workdir"),
                                      cmd_opt_all(c, "env"));
                if (r < 0)
                        return cmd_fail(r, "executing in container %s", w->name);
                return 0;
        }
        r = ctr_exec_argv(c->engine, w, c->argv + 1, cmd_opt(c, "user"), cmd_opt(c, "workdir"),
                          cmd_opt_all(c, "env"), cmd_flag(c, "tty"), &argv);
        if (r < 0)
                return cmd_fail(r, "executing in container %s", w->name);
        if (cmd_flag(c, "tty") && !isatty(STDIN_FILENO))
                return cmd_fail(-ENOTTY, "--tty: stdin is not a terminal");
        fflush(NULL);
        execv(argv[0], argv);
        return cmd_fail(negative_errno(), "executing '%s'", argv[0]);
}
