/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-cp.c - `hull cp SRC DEST`, one of them CONTAINER:PATH (rules in src/engine/cp.c). */
#include "cmd.h"
#include "container.h"
#include "cp.h"
#include "ctr-format.h"
#include "error.h"
#include "util.h"

/* "name:/path" -> name, path; a host path holding ':' after a '/' is not a container reference. */
static bool split_ref(const char *s, char **ret_name, const char **ret_path)
{
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || memchr(s, '/', (size_t)(colon - s)))
                return false;
        *ret_name = strndup(s, (size_t)(colon - s));
        *ret_path = colon + 1;
        return *ret_name != NULL;
}

int cmd_cp(struct cmd_context *c)
{
        _cleanup_free_ char *src_name = NULL, *dst_name = NULL;
        _cleanup_workload_ struct workload *w = NULL;
        const char *src_path, *dst_path;
        bool from = split_ref(c->argv[0], &src_name, &src_path),
             to = split_ref(c->argv[1], &dst_name, &dst_path);
        int r;

        if (from == to) {
                fprintf(stderr, "hull cp: exactly one of SRC and DEST must be CONTAINER:PATH\n");
                return -EINVAL;
        }
        if ((r = ctr_lookup_or_fail(c, from ? src_name : dst_name, &w)) < 0)
                return r;
        r = ctr_copy(c->engine, w, to, to ? dst_path : src_path, to ? c->argv[0] : c->argv[1],
                     cmd_flag(c, "archive"), to ? STDIN_FILENO : STDOUT_FILENO);
        if (r < 0)
                return cmd_fail(r, "copying %s to %s", c->argv[0], c->argv[1]);
        return 0;
}
