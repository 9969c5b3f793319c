/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-rm.c - `hull rm`, `hull container prune`, and the monitor's `hull container cleanup`. */
#include "cmd.h"
#include "container.h"
#include "engine-net.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

int cmd_rm(struct cmd_context *c)
{
        bool force = cmd_flag(c, "force"), volumes = cmd_flag(c, "volumes");
        int r, ret = 0;

        if (cmd_flag(c, "all")) {
                struct workload **all = NULL;
                size_t n = 0;
                r = ctr_list(c->engine, &all, &n);
                if (r < 0)
                        return cmd_fail(r, "listing containers");
                for (size_t i = 0; i < n; i++) {
                        err_clear();
                        r = ctr_remove(c->engine, all[i], force, volumes);
                        if (r < 0 && r != -ENOENT)
                                ret = cmd_fail(r, "removing container %s", all[i]->name);
                        else
                                printf("%s\n", all[i]->id);
                }
                workload_list_free(all, n);
                return ret;
        }
        if (c->argc == 0) {
                fprintf(stderr,
                        "hull rm: missing arguments (usage: hull rm [OPTIONS] CONTAINER [CONTAINER...])\n");
                return -EINVAL;
        }
        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                err_clear();
                r = ctr_lookup(c->engine, c->argv[i], &w);
                if (r == -ENOENT && force)
                        continue;
                if (r < 0) {
                        ret = cmd_fail(r, "removing container '%s'", c->argv[i]);
                        continue;
                }
                r = ctr_remove(c->engine, w, force, volumes);
                if (r < 0 && !(r == -ENOENT && force))
                        ret = cmd_fail(r, "removing container %s", w->name);
                else
                        printf("%s\n", c->argv[i]);
        }
        return ret;
}

int cmd_container_prune(struct cmd_context *c)
{
        struct workload **all = NULL;
        size_t n = 0;
        int r, ret = 0;

        r = ctr_list(c->engine, &all, &n);
        if (r < 0)
                return cmd_fail(r, "listing containers");
        for (size_t i = 0; i < n; i++) {
                if (all[i]->state != WORKLOAD_CREATED && all[i]->state != WORKLOAD_EXITED)
                        continue;
                err_clear();
                r = ctr_remove(c->engine, all[i], false, true);
                /* Started by someone else meanwhile: not ours to prune. */
                if (r == -EBUSY || r == -ENOENT)
                        continue;
                if (r < 0)
                        ret = cmd_fail(r, "removing container %s", all[i]->name);
                else
                        printf("%s\n", all[i]->id);
        }
        workload_list_free(all, n);
        return ret;
}

int cmd_container_cleanup(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_runspec_ struct runspec *s = NULL;
        int r;

        r = ctr_lookup(c->engine, c->argv[0], &w);
        if (r == -ENOENT)
                return 0; /* removed by its attached client already */
        if (r < 0)
                return cmd_fail(r, "cleaning up container '%s'", c->argv[0]);
        if (ctr_spec(w, &s) < 0 || !s->auto_remove) {
                /* Stopped for good: off its networks (engine-net.h). */
                err_clear();
                r = engine_net_cleanup(c->engine, w);
                if (r < 0 && r != -ENOENT)
                        return cmd_fail(r, "detaching container %s from its networks", w->name);
                return 0;
        }
        r = ctr_remove(c->engine, w, false, true);
        if (r < 0 && r != -ENOENT && r != -EBUSY)
                return cmd_fail(r, "removing container %s", w->name);
        return 0;
}
