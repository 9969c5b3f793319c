/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-images.c - `hull images`: list the store's images as a table, JSON or a template. */
#include "build.h"
#include "cmd.h"
#include "json.h"
#include "output.h"
#include "reference.h"
#include "util.h"

/* Split "docker.io/library/busybox:latest" into repository and tag. */
static void split_name(const char *name, char *repo, size_t rn, char *tag, size_t tn)
{
        const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
        if (colon && (!slash || colon > slash)) {
                snprintf(repo, rn, "%.*s", (int)(colon - name), name);
                snprintf(tag, tn, "%s", colon + 1);
        } else {
                snprintf(repo, rn, "%s", name);
                snprintf(tag, tn, "<none>");
        }
}

static bool matches(const char *filter, const char *repo)
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_free_ char *want = NULL;

        if (!filter)
                return true;
        if (image_ref_parse(filter, &ref) < 0)
                return false;
        want = image_ref_name(ref);
        return want && streq(want, repo);
}

static int print_json(struct image_info **l, size_t n, const char *filter)
{
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *o = json_object_new_object(), *names = json_object_new_array(),
                                   *digests = json_object_new_array();
                bool any = !filter;
                char repo[512], tag[160];

                STRV_FOREACH(t, l[i]->tags)
                {
                        json_object_array_add(names, json_object_new_string(*t));
                        split_name(*t, repo, sizeof(repo), tag, sizeof(tag));
                        any = any || matches(filter, repo);
                }
                STRV_FOREACH(d, l[i]->repo_digests)
                json_object_array_add(digests, json_object_new_string(*d));
                json_object_object_add(o, "Id", json_object_new_string(l[i]->id + strlen("sha256:")));
                json_object_object_add(o, "Digest", json_object_new_string(l[i]->manifest_digest));
                json_object_object_add(o, "Names", names);
                json_object_object_add(o, "RepoDigests", digests);
                json_object_object_add(o, "Created", json_object_new_int64(l[i]->created));
                json_object_object_add(o, "Size", json_object_new_int64(l[i]->size));
                json_object_object_add(o, "Dangling", json_object_new_boolean(!l[i]->tags[0]));
                if (any)
                        json_object_array_add(a, o);
                else
                        json_object_put(o);
        }
        puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}

/* Untagged images that hold cached build steps are listed only with --all, as podman does. */
static void drop_intermediate(struct image_store *s, struct image_info **l, size_t *n)
{
        size_t k = 0;

        for (size_t i = 0; i < *n; i++) {
                if (!l[i]->tags[0] && build_cache_holds(s, l[i]->id) > 0) {
                        image_info_free(l[i]);
                        continue;
                }
                l[k++] = l[i];
        }
        *n = k;
}

int cmd_images(struct cmd_context *c)
{
        static const char *const headers[] = { "REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE" };
        static const char *const fields[] = { "Repository", "Tag", "Digest", "ID", "Created", "Size" };
        const char *format = cmd_opt(c, "format"), *filter = c->argc ? c->argv[0] : NULL;
        bool digests = cmd_flag(c, "digests"), quiet = cmd_flag(c, "quiet"), notrunc = cmd_flag(c, "no-trunc");
        _cleanup_table_ struct table *t = NULL;
        struct image_info **l = NULL;
        size_t n = 0;
        int r;

        r = store_list_images(c->store, &l, &n);
        if (r < 0)
                return cmd_fail(r, "listing images");
        if (!cmd_flag(c, "all"))
                drop_intermediate(c->store, l, &n);
        if (format && streq(format, "json")) {
                r = print_json(l, n, filter);
                image_info_list_free(l, n);
                return r;
        }
        t = table_new(headers, fields, ELEMENTSOF(headers));
        if (!t) {
                image_info_list_free(l, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                char id[16], created[64], size[32], repo[512], tag[160];
                const char *fullid = l[i]->id + strlen("sha256:");
                const char *digest = l[i]->repo_digests[0] ? strchr(l[i]->repo_digests[0], '@') + 1 : "<none>";

                short_id(l[i]->id, id);
                format_ago(l[i]->created ?: l[i]->added, created);
                format_size((uint64_t)l[i]->size, size);
                if (!l[i]->tags[0]) {
                        if (filter)
                                continue;
                        const char *row[] = { "<none>", "<none>", digest, notrunc ? fullid : id, created, size };
                        r = table_add_row(t, row);
                }
                STRV_FOREACH(name, l[i]->tags)
                {
                        split_name(*name, repo, sizeof(repo), tag, sizeof(tag));
                        if (!matches(filter, repo))
                                continue;
                        /* The digest this repository knows the image by, when it came from a registry. */
                        digest = "<none>";
                        STRV_FOREACH(d, l[i]->repo_digests)
                        {
                                const char *at = strchr(*d, '@');
                                if (at && (size_t)(at - *d) == strlen(repo) && strncmp(*d, repo, strlen(repo)) == 0)
                                        digest = at + 1;
                        }
                        const char *row[] = { repo, tag, digest, notrunc ? fullid : id, created, size };
                        r = table_add_row(t, row);
                        if (r < 0)
                                break;
                }
                if (r < 0)
                        break;
        }
        image_info_list_free(l, n);
        if (r < 0)
                return cmd_fail(r, "listing images");
        if (quiet)
                format = "{{.ID}}";
        /* Without --digests the DIGEST column is left out of the table, as podman does. */
        if (!digests)
                table_hide_column(t, "Digest");
        r = table_print(t, format, cmd_flag(c, "noheading"), stdout);
        if (r < 0)
                return cmd_fail(-EINVAL, "--format '%s': unknown field (fields: ID, Repository, Tag, Digest, Created, Size)",
                                format);
        return 0;
}
