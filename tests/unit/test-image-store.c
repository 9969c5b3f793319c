/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-image-store.c - the image store end to end without root: import of a
 * rootfs tarball, names, resolution, removal, save/load round trips, and
 * garbage collection of what a killed import leaves behind.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "error.h"
#include "image-archive.h"
#include "store.h"
#include "tar-build.h"
#include "util.h"
#include "test.h"

static char root[128];

static struct image_store *new_store(void)
{
        struct image_store *s = NULL;
        snprintf(root, sizeof(root), "/tmp/hull-test-store-XXXXXX");
        if (!mkdtemp(root))
                return NULL;
        if (image_store_open(root, &s) < 0)
                return NULL;
        return s;
}

static void write_tar(const char *path, bool gzip, const char *content)
{
        struct tar_build t;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        tar_begin(&t, gzip);
        tar_add(&t, "etc", AE_IFDIR, 0755, NULL, NULL, NULL);
        tar_add_file(&t, "etc/motd", content);
        tar_end(&t);
        write_all(fd, t.buf, t.used);
        tar_free(&t);
}

static int count_entries(const char *sub)
{
        char p[256];
        int n = 0;
        DIR *d;
        struct dirent *de;

        snprintf(p, sizeof(p), "%s/image/%s", root, sub);
        d = opendir(p);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

TEST(import_resolve_remove)
{
        _cleanup_image_store_ struct image_store *s = new_store();
        _cleanup_free_ char *id = NULL, *id2 = NULL, *id3 = NULL;
        _cleanup_image_info_ struct image_info *info = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_image_config_ struct image_config *cfg = NULL;
        char tarp[200], *changes[] = { (char *)"CMD [\"/bin/sh\"]", (char *)"ENV A=b", NULL };

        ASSERT_TRUE(s != NULL);
        snprintf(tarp, sizeof(tarp), "%s/rootfs.tar.gz", root);
        write_tar(tarp, true, "hello");
        ASSERT_OK(image_archive_import(s, tarp, "example/app:1", changes, NULL, &id));
        ASSERT_OK(store_resolve(s, "example/app:1", &id2));
        ASSERT_STREQ(id, id2);
        ASSERT_ERR(store_resolve(s, id + 7 + 10, &id3), -ENOENT); /* a suffix is not a prefix */
        {
                char prefix[16];
                snprintf(prefix, sizeof(prefix), "%.12s", id + 7);
                ASSERT_OK(store_resolve(s, prefix, &id3));
                ASSERT_STREQ(id3, id);
        }
        ASSERT_OK(store_image_info(s, id, &info));
        ASSERT_STREQ(info->tags[0], "docker.io/example/app:1");
        ASSERT_EQ(info->size, 5);
        ASSERT_OK(store_image_layer_paths(s, id, &paths));
        ASSERT_EQ(strv_length(paths), 1);
        {
                char p[400];
                _cleanup_free_ char *motd = NULL;
                snprintf(p, sizeof(p), "%s/etc/motd", paths[0]);
                ASSERT_OK(read_full_file(p, 100, &motd, NULL));
                ASSERT_STREQ(motd, "hello");
        }
        ASSERT_OK(store_image_config(s, id, &cfg));
        ASSERT_STREQ(cfg->cmd[0], "/bin/sh");
        ASSERT_STREQ(cfg->env[0], "A=b");

        err_clear();
        free(id2);
        id2 = NULL;
        ASSERT_ERR(store_resolve(s, "example/none", &id2), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "image 'example/none' not found");

        ASSERT_OK(store_tag(s, id, "docker.io/example/other:2"));
        ASSERT_EQ(store_count_tags(s, id), 2);
        ASSERT_OK(store_untag(s, "docker.io/example/other:2", NULL));
        ASSERT_OK(store_remove_image(s, id));
        ASSERT_OK(store_gc(s, true, NULL));
        ASSERT_EQ(count_entries("layers"), 0);
        ASSERT_EQ(count_entries("blobs/sha256"), 0);
        rm_rf(root);
}

TEST(shared_layers_and_refcounts)
{
        _cleanup_image_store_ struct image_store *s = new_store();
        _cleanup_free_ char *a = NULL, *b = NULL;
        char tarp[200], *c1[] = { (char *)"CMD [\"a\"]", NULL }, *c2[] = { (char *)"CMD [\"b\"]", NULL };

        ASSERT_TRUE(s != NULL);
        snprintf(tarp, sizeof(tarp), "%s/rootfs.tar", root);
        write_tar(tarp, false, "same");
        ASSERT_OK(image_archive_import(s, tarp, "x/a", c1, NULL, &a));
        ASSERT_OK(image_archive_import(s, tarp, "x/b", c2, NULL, &b));
        ASSERT_FALSE(streq(a, b));
        /* One layer on disk for two images. */
        ASSERT_EQ(count_entries("layers"), 1);
        ASSERT_OK(store_remove_image(s, a));
        ASSERT_OK(store_gc(s, true, NULL));
        ASSERT_EQ(count_entries("layers"), 1);
        ASSERT_OK(store_remove_image(s, b));
        ASSERT_OK(store_gc(s, true, NULL));
        ASSERT_EQ(count_entries("layers"), 0);
        rm_rf(root);
}

TEST(save_load_round_trip)
{
        static const enum image_archive_format formats[] = { IMAGE_ARCHIVE_DOCKER, IMAGE_ARCHIVE_OCI,
                                                             IMAGE_ARCHIVE_OCI_DIR };
        _cleanup_image_store_ struct image_store *s = new_store();
        _cleanup_free_ char *id = NULL;
        char tarp[200], out[200];

        ASSERT_TRUE(s != NULL);
        snprintf(tarp, sizeof(tarp), "%s/rootfs.tar.gz", root);
        write_tar(tarp, true, "round trip");
        ASSERT_OK(image_archive_import(s, tarp, "x/rt:1", NULL, NULL, &id));
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                char *ids[] = { id, NULL }, *names[] = { (char *)"docker.io/x/rt:1", NULL };
                _cleanup_strv_free_ char **loaded = NULL;
                _cleanup_free_ char *again = NULL;

                snprintf(out, sizeof(out), "%s/out-%zu", root, i);
                ASSERT_OK(image_archive_save(s, ids, names, formats[i], out, NULL));
                ASSERT_OK(store_remove_image(s, id));
                ASSERT_OK(store_gc(s, true, NULL));
                ASSERT_OK(image_archive_load(s, out, NULL, &loaded));
                ASSERT_STREQ(loaded[0], "docker.io/x/rt:1");
                ASSERT_OK(store_resolve(s, "x/rt:1", &again));
                /* docker-archive rewrites a gzip layer as a plain tar: same diff_id, so the same image id. */
                ASSERT_STREQ(again, id);
        }
        rm_rf(root);
}

TEST(garbage_of_a_killed_import)
{
        _cleanup_image_store_ struct image_store *s = new_store();
        _cleanup_free_ char *id = NULL;
        struct store_gc_stats st = {};
        char tarp[200], p[300];

        ASSERT_TRUE(s != NULL);
        snprintf(tarp, sizeof(tarp), "%s/rootfs.tar", root);
        write_tar(tarp, false, "keep");
        ASSERT_OK(image_archive_import(s, tarp, "x/keep", NULL, NULL, &id));
        /* What a SIGKILL can leave: a staging directory, a blob and a layer without rows. */
        snprintf(p, sizeof(p), "%s/image/tmp/123-abc", root);
        ASSERT_OK(mkdir_p(p, 0700));
        snprintf(p, sizeof(p), "%s/image/blobs/sha256/%064d", root, 7);
        ASSERT_OK(write_file_atomic(p, "x", 1, 0600));
        snprintf(p, sizeof(p), "%s/image/layers/%064d", root, 8);
        ASSERT_OK(mkdir_p(p, 0700));
        ASSERT_OK(store_gc(s, true, &st));
        ASSERT_EQ(st.tmp, 1);
        ASSERT_EQ(st.blobs, 1);
        ASSERT_EQ(st.layers, 1);
        ASSERT_EQ(count_entries("layers"), 1);
        {
                _cleanup_free_ char *again = NULL;
                ASSERT_OK(store_resolve(s, "x/keep", &again));
        }
        rm_rf(root);
}

TEST(corrupt_blob_is_detected)
{
        _cleanup_image_store_ struct image_store *s = new_store();
        _cleanup_free_ char *id = NULL, *path = NULL;
        struct image_config *cfg = NULL;
        char tarp[200];

        ASSERT_TRUE(s != NULL);
        snprintf(tarp, sizeof(tarp), "%s/rootfs.tar", root);
        write_tar(tarp, false, "data");
        ASSERT_OK(image_archive_import(s, tarp, "x/c", NULL, NULL, &id));
        path = store_blob_path(s, id);
        ASSERT_OK(write_file_atomic(path, "{}", 2, 0600));
        err_clear();
        ASSERT_ERR(store_image_config(s, id, &cfg), -EBADMSG);
        ASSERT_CONTAINS(err_msg(-EBADMSG), "does not match its digest");
        rm_rf(root);
}

TEST(bad_archives_leave_the_store_unchanged)
{
        _cleanup_image_store_ struct image_store *s = new_store();
        _cleanup_strv_free_ char **names = NULL;
        struct tar_build t;
        char p[200];
        _cleanup_close_ int fd = -EBADF;

        ASSERT_TRUE(s != NULL);
        snprintf(p, sizeof(p), "%s/bad.tar", root);
        /* manifest.json names a layer that is not in the tarball. */
        tar_begin(&t, false);
        tar_add_file(&t, "cfg.json", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        tar_add_file(&t, "manifest.json", "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"x/bad:1\"],\"Layers\":[\"l.tar\"]}]");
        tar_end(&t);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(write_all(fd, t.buf, t.used));
        tar_free(&t);
        err_clear();
        ASSERT_ERR(image_archive_load(s, p, NULL, &names), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "layer 'l.tar' named in manifest.json is missing");
        ASSERT_EQ(count_entries("blobs/sha256"), 0);
        ASSERT_EQ(count_entries("tmp"), 0);
        /* An OCI blob whose content does not match its name. */
        tar_begin(&t, false);
        tar_add_file(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        tar_add_file(&t, "blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111", "lies");
        tar_add_file(&t, "index.json", "{\"schemaVersion\":2,\"manifests\":[]}");
        tar_end(&t);
        fd = safe_close(fd);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(write_all(fd, t.buf, t.used));
        tar_free(&t);
        err_clear();
        ASSERT_ERR(image_archive_load(s, p, NULL, &names), -EBADMSG);
        ASSERT_CONTAINS(err_msg(-EBADMSG), "does not match its digest");
        ASSERT_EQ(count_entries("blobs/sha256"), 0);
        ASSERT_EQ(count_entries("tmp"), 0);
        rm_rf(root);
}
