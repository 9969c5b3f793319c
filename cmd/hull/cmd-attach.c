/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-attach.c - `hull attach CONTAINER`: the monitor's attach socket relayed to this terminal. */
#include "attach-io.h"
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

int cmd_attach(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_runspec_ struct runspec *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct attach_options ao;
        int code = 0, r;

        if ((r = ctr_lookup_or_fail(c, c->argv[0], &w)) < 0)
                return r;
        if ((r = ctr_spec(w, &s)) < 0 || (r = ctr_attach(c->engine, w, &fd)) < 0)
                return cmd_fail(r, "attaching to container %s", w->name);
        ao = (struct attach_options){.tty = s->tty,
                                     .stdin_on = s->interactive && !cmd_flag(c, "no-stdin"),
                                     .sig_proxy = cmd_bool(c, "sig-proxy", true)};
        r = attach_run(fd, &ao, &code);
        if (r == ATTACH_DETACHED)
                return 0;
        if (r < 0)
                return cmd_fail(r, "attached to container %s", w->name);
        c->exit_status = code;
        if (ctr_refresh(c->engine, w) < 0)
                err_clear();
        return 0;
}
