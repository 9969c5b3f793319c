/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-start.c - `hull start [-a [-i]] CONTAINER...`: ctr_start() for each, attached for one. */
#include "attach-io.h"
#include "cmd.h"
#include "container.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

int cmd_start(struct cmd_context *c)
{
        bool attach = cmd_flag(c, "attach");
        int ret = 0;

        if (attach && c->argc > 1) {
                fprintf(stderr, "hull start: --attach takes one container\n");
                return -EINVAL;
        }
        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                _cleanup_runspec_ struct runspec *s = NULL;
                struct ctr_start_result res = {.attach_fd = -EBADF};
                struct attach_options ao;
                int code = 0, r;

                err_clear();
                if ((r = ctr_lookup_or_fail(c, c->argv[i], &w)) < 0) {
                        ret = r;
                        continue;
                }
                r = ctr_start(c->engine, w, attach, &res);
                if (r == -EALREADY && !attach) {
                        /* podman's answer to starting a running container: its name, no error. */
                        printf("%s\n", w->name);
                        continue;
                }
                if (r < 0) {
                        ret = cmd_fail(r, "starting container %s", w->name);
                        if (r == -ENOEXEC && w->exit_code > 0)
                                c->exit_status = w->exit_code;
                        continue;
                }
                if (!attach) {
                        printf("%s\n", w->name);
                        continue;
                }
                if ((r = ctr_spec(w, &s)) < 0) {
                        safe_close(res.attach_fd);
                        return cmd_fail(r, "reading container %s", w->name);
                }
                ao = (struct attach_options){.tty = s->tty,
                                             .stdin_on = s->interactive && cmd_flag(c, "interactive"),
                                             .sig_proxy = true,
                                             .ack_exit = s->auto_remove};
                r = attach_run(res.attach_fd, &ao, &code);
                safe_close(res.attach_fd);
                if (r == ATTACH_DETACHED)
                        return 0;
                if (r < 0)
                        return cmd_fail(r, "attached to container %s", w->name);
                c->exit_status = code;
                if (s->auto_remove && (r = ctr_remove(c->engine, w, true, true)) < 0 && r != -ENOENT)
                        return cmd_fail(r, "removing container %s", w->name);
                if (!s->auto_remove && ctr_refresh(c->engine, w) < 0)
                        err_clear();
        }
        return ret;
}
