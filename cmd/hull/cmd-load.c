/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-load.c - `hull load`: images from a docker-archive/oci-archive tarball or an OCI layout directory. */
#include "cmd.h"
#include "image-archive.h"
#include "output.h"
#include "util.h"

int cmd_load(struct cmd_context *c)
{
        const char *input = cmd_opt(c, "input") ?: "-";
        struct progress_view view = { .tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet") };
        struct image_progress p = { progress_view_fn, &view };
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (streq(input, "-") && isatty(STDIN_FILENO)) {
                fprintf(stderr, "hull: loading images: stdin is a terminal: give the archive with --input FILE\n");
                return -EINVAL;
        }
        r = image_archive_load(c->store, input, &p, &names);
        if (r < 0)
                return cmd_fail(r, "loading '%s'", streq(input, "-") ? "stdin" : input);
        STRV_FOREACH(n, names)
        printf("Loaded image: %s\n", *n);
        return 0;
}
