/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-tag.c - `hull tag`: add names to an image. */
#include "cmd.h"
#include "reference.h"
#include "util.h"

int cmd_tag(struct cmd_context *c)
{
        _cleanup_free_ char *id = NULL;
        int r;

        r = store_resolve(c->store, c->argv[0], &id);
        if (r < 0)
                return cmd_fail(r, "tagging '%s'", c->argv[0]);
        for (int i = 1; i < c->argc; i++) {
                _cleanup_image_ref_ struct image_ref *ref = NULL;
                _cleanup_free_ char *name = NULL;

                r = image_ref_parse(c->argv[i], &ref);
                if (r < 0)
                        return cmd_fail(r, "tagging '%s'", c->argv[0]);
                if (ref->digest) {
                        fprintf(stderr, "hull: tagging '%s': '%s' has a digest; a tag name cannot\n", c->argv[0],
                                c->argv[i]);
                        return -EINVAL;
                }
                name = image_ref_string(ref);
                if (!name)
                        return -ENOMEM;
                r = store_tag(c->store, id, name);
                if (r < 0)
                        return cmd_fail(r, "tagging '%s' as '%s'", c->argv[0], name);
        }
        return 0;
}
