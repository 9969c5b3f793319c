/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-prune.c - `hull image prune`: remove unnamed (or all) images no container uses, then collect every unreferenced file. */
#include "build.h"
#include "cmd.h"
#include "workload.h"
#include "output.h"
#include "util.h"
#include "vm.h"

int cmd_image_prune(struct cmd_context *c)
{
        bool all = cmd_flag(c, "all");
        struct store_gc_stats st = {};
        struct image_info **l = NULL;
        size_t n = 0;
        _cleanup_free_ char *runtime = NULL;
        char size[32];
        int r;

        /* What killed builds left (their containers, mounts and files) first: it may hold layers. */
        r = engine_find_binary(ENGINE_BIN_RUNTIME, &runtime);
        if (r >= 0)
                r = build_cleanup_stale(c->store, runtime);
        if (r < 0)
                return cmd_fail(r, "collecting killed builds");
        r = store_list_images(c->store, &l, &n);
        if (r < 0)
                return cmd_fail(r, "listing images");
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (!all && l[i]->tags[0])
                        continue;
                /* Containers run from it: not unused (podman's image prune keeps it too). */
                if (workload_image_users(c->engine->db, l[i]->id, NULL) != 0)
                        continue;
                r = store_remove_image(c->store, l[i]->id);
                if (r >= 0)
                        vm_image_cache_drop(c->engine, l[i]->id);
                if (r >= 0)
                        printf("%s\n", l[i]->id + strlen("sha256:"));
        }
        image_info_list_free(l, n);
        if (r < 0)
                return cmd_fail(r, "pruning images");
        /* Waits for running pulls and loads: what they staged is not garbage yet. */
        r = store_gc(c->store, true, &st);
        if (r < 0)
                return cmd_fail(r, "collecting garbage");
        if (st.blobs || st.layers || st.tmp)
                fprintf(stderr, "Removed %llu layers, %llu blobs, %llu leftovers of interrupted imports (%s)\n",
                        (unsigned long long)st.layers, (unsigned long long)st.blobs, (unsigned long long)st.tmp,
                        format_size(st.bytes, size));
        return 0;
}
