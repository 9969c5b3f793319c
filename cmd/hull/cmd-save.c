/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-save.c - `hull save`: images to a docker-archive, an oci-archive or an OCI layout directory. */
#include "cmd.h"
#include "image-archive.h"
#include "output.h"
#include "reference.h"
#include "util.h"

int cmd_save(struct cmd_context *c)
{
        const char *output = cmd_opt(c, "output") ?: "-", *fmt = cmd_opt(c, "format") ?: "docker-archive";
        struct progress_view view = { .tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet") || streq(output, "-") };
        struct image_progress p = { progress_view_fn, &view };
        _cleanup_strv_free_ char **ids = NULL, **names = NULL;
        enum image_archive_format f = image_archive_format_from_string(fmt);
        int r;

        if (f < 0) {
                fprintf(stderr, "hull: saving images: unknown --format '%s' (docker-archive, oci-archive, oci-dir)\n",
                        fmt);
                return -EINVAL;
        }
        for (int i = 0; i < c->argc; i++) {
                _cleanup_image_ref_ struct image_ref *ref = NULL;
                char *id = NULL, *name = NULL;

                r = store_resolve(c->store, c->argv[i], &id);
                if (r < 0)
                        return cmd_fail(r, "saving '%s'", c->argv[i]);
                r = strv_push(&ids, id);
                if (r < 0)
                        return r;
                /* The name the user gave is the one written into the archive, when it is a name. */
                if (!image_ref_is_id_prefix(c->argv[i]) && image_ref_parse(c->argv[i], &ref) >= 0 && ref->tag)
                        name = image_ref_string(ref);
                r = strv_push(&names, name ?: strdup(""));
                if (r < 0)
                        return r;
        }
        r = image_archive_save(c->store, ids, names, f, output, &p);
        if (r < 0)
                return cmd_fail(r, "saving to '%s'", streq(output, "-") ? "stdout" : output);
        return 0;
}
