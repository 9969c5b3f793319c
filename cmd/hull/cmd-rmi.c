/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-rmi.c - `hull rmi`: remove names and images.
 *
 * podman's rules: removing by name drops that name, and the image with its
 * last name; removing by id an image that still has several names needs
 * --force. Files are collected afterwards, when no other hull process holds
 * the store (otherwise the next one that opens it alone does it).
 */
#include "cmd.h"
#include "container.h"
#include "error.h"
#include "output.h"
#include "reference.h"
#include "util.h"
#include "vm.h"

/* An image containers use stays (their root file systems are its layers), unless --force removes them. */
static int release_from_containers(struct cmd_context *c, const char *id, bool force)
{
        _cleanup_free_ char *user = NULL;
        struct workload **l = NULL;
        size_t n = 0;
        char sid[16];
        int r = workload_image_users(c->engine->db, id, &user);

        if (r <= 0)
                return r;
        if (!force)
                return err_set(-EBUSY, "image %s is in use by container %s: remove the container first, or use --force",
                               short_id(id, sid), user);
        r = ctr_list(c->engine, &l, &n);
        for (size_t i = 0; i < n && r >= 0; i++)
                if (streq(l[i]->image_id, id)) {
                        r = ctr_remove(c->engine, l[i], true, true);
                        if (r >= 0)
                                printf("Removed container: %s\n", l[i]->name);
                }
        workload_list_free(l, n);
        return r;
}

static int remove_one(struct cmd_context *c, const char *arg, bool force)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_free_ char *id = NULL, *name = NULL;
        char sid[16];
        int r, n;

        r = store_resolve(c->store, arg, &id);
        if (r < 0)
                return r;
        /* A name (not an id, not a digest) only loses that name unless it was the last one. */
        if (!image_ref_is_id_prefix(arg) && image_ref_parse(arg, &ref) >= 0 && ref->tag && !ref->digest) {
                name = image_ref_string(ref);
                if (!name)
                        return -ENOMEM;
                /* Its last name: the image goes too, so containers using it must be dealt with first. */
                n = store_count_tags(c->store, id);
                if (n == 1 && (r = release_from_containers(c, id, force)) < 0)
                        return r;
                r = store_untag(c->store, name, NULL);
                if (r < 0)
                        return r;
                printf("Untagged: %s\n", name);
                n = store_count_tags(c->store, id);
                if (n != 0)
                        return n < 0 ? n : 0;
        } else {
                n = store_count_tags(c->store, id);
                if (n < 0)
                        return n;
                if (n > 1 && !force)
                        return err_set(-EBUSY, "image %s has %d names: remove them one by one, or use --force",
                                       short_id(id, sid), n);
        }
        r = release_from_containers(c, id, force);
        if (r < 0)
                return r;
        r = store_remove_image(c->store, id);
        if (r < 0)
                return r;
        vm_image_cache_drop(c->engine, id);
        printf("Deleted: %s\n", id + strlen("sha256:"));
        return 0;
}

int cmd_rmi(struct cmd_context *c)
{
        bool force = cmd_flag(c, "force"), all = cmd_flag(c, "all");
        int r, ret = 0;

        if (all) {
                struct image_info **l = NULL;
                size_t n = 0;
                r = store_list_images(c->store, &l, &n);
                if (r < 0)
                        return cmd_fail(r, "listing images");
                for (size_t i = 0; i < n && r >= 0; i++) {
                        r = release_from_containers(c, l[i]->id, force);
                        if (r >= 0)
                                r = store_remove_image(c->store, l[i]->id);
                        if (r >= 0)
                                vm_image_cache_drop(c->engine, l[i]->id);
                        if (r >= 0)
                                printf("Deleted: %s\n", l[i]->id + strlen("sha256:"));
                }
                image_info_list_free(l, n);
                if (r < 0)
                        return cmd_fail(r, "removing images");
        } else if (c->argc == 0) {
                fprintf(stderr, "hull rmi: missing arguments (usage: hull rmi [OPTIONS] IMAGE [IMAGE...])\n");
                return -EINVAL;
        }
        for (int i = 0; i < c->argc; i++) {
                err_clear();
                r = remove_one(c, c->argv[i], force);
                if (r == -ENOENT && force)
                        continue;
                if (r < 0)
                        ret = cmd_fail(r, "removing '%s'", c->argv[i]);
        }
        r = store_gc(c->store, false, NULL);
        if (r < 0 && r != -EBUSY && ret >= 0)
                ret = cmd_fail(r, "collecting unused layers");
        return ret;
}
