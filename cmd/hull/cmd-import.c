/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-import.c - `hull import`: a root file system tarball becomes a one-layer image. */
#include "cmd.h"
#include "image-archive.h"
#include "output.h"
#include "util.h"

int cmd_import(struct cmd_context *c)
{
        struct progress_view view = { .tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet") };
        struct image_progress p = { progress_view_fn, &view };
        _cleanup_free_ char *id = NULL;
        int r;

        r = image_archive_import(c->store, c->argv[0], c->argc > 1 ? c->argv[1] : NULL, cmd_opt_all(c, "change"), &p,
                                 &id);
        if (r < 0)
                return cmd_fail(r, "importing '%s'", c->argv[0]);
        printf("%s\n", id + strlen("sha256:"));
        return 0;
}
