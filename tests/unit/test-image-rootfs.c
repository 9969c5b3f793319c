/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-image-rootfs.c - container root file systems from images: commit of an
 * overlay upper directory (whiteouts, opaque directories) as a new layer, then
 * the overlay mount and the copy fallback must show the same tree.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "error.h"
#include "image-archive.h"
#include "rootfs.h"
#include "store.h"
#include "tar-build.h"
#include "util.h"
#include "test.h"

static char root[128];

static void p(char *buf, const char *unused, const char *a)
{
        snprintf(buf, 400, "%s/%s", root, a);
}

static bool has(const char *dir, const char *rel)
{
        char b[600];
        struct stat st;
        snprintf(b, sizeof(b), "%s/%s/%s", root, dir, rel);
        return lstat(b, &st) == 0;
}

static char *content(const char *dir, const char *rel)
{
        char b[600];
        char *s = NULL;
        snprintf(b, sizeof(b), "%s/%s/%s", root, dir, rel);
        if (read_full_file(b, 4096, &s, NULL) < 0)
                return NULL;
        return s;
}

static void check_tree(const char *dir)
{
        _cleanup_free_ char *keep = content(dir, "keep/file"), *added = content(dir, "new.txt");
        ASSERT_STREQ(keep, "base");
        ASSERT_STREQ(added, "added");
        ASSERT_FALSE(has(dir, "gone.txt"));
        ASSERT_TRUE(has(dir, "opaque"));
        ASSERT_FALSE(has(dir, "opaque/old"));
        ASSERT_TRUE(has(dir, "opaque/fresh"));
}

TEST(commit_mount_copy)
{
        _cleanup_image_store_ struct image_store *s = NULL;
        _cleanup_free_ char *base = NULL, *child = NULL;
        _cleanup_strv_free_ char **layers = NULL;
        struct tar_build t;
        enum rootfs_mode mode;
        char b[400], b2[400], b3[400];
        int fd;

        if (geteuid() != 0)
                SKIP("whiteouts, trusted.* xattrs and mounts need root");
        snprintf(root, sizeof(root), "/tmp/hull-test-rootfs-XXXXXX");
        ASSERT_TRUE(mkdtemp(root) != NULL);
        ASSERT_OK(image_store_open(root, &s));

        tar_begin(&t, false);
        tar_add(&t, "keep", AE_IFDIR, 0755, NULL, NULL, NULL);
        tar_add_file(&t, "keep/file", "base");
        tar_add_file(&t, "gone.txt", "x");
        tar_add(&t, "opaque", AE_IFDIR, 0755, NULL, NULL, NULL);
        tar_add_file(&t, "opaque/old", "x");
        tar_end(&t);
        p(b, "%s/%s", "base.tar");
        fd = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(write_all(fd, t.buf, t.used));
        close(fd);
        tar_free(&t);
        ASSERT_OK(image_archive_import(s, b, "x/base", NULL, NULL, &base));

        /* An upper directory as overlay leaves it after: a new file, a whiteout, an opaque directory. */
        p(b, "%s/%s", "upper");
        ASSERT_OK(mkdir_p(b, 0755));
        p(b, "%s/%s", "upper/new.txt");
        ASSERT_OK(write_file_atomic(b, "added", 5, 0644));
        p(b, "%s/%s", "upper/gone.txt");
        ASSERT_OK(mknod(b, S_IFCHR, makedev(0, 0)));
        p(b, "%s/%s", "upper/opaque");
        ASSERT_OK(mkdir(b, 0755));
        ASSERT_OK(setxattr(b, "trusted.overlay.opaque", "y", 1, 0));
        p(b, "%s/%s", "upper/opaque/fresh");
        ASSERT_OK(write_file_atomic(b, "f", 1, 0644));
        p(b, "%s/%s", "upper");
        ASSERT_OK(rootfs_commit(s, base, b, "RUN change things", "x/child:1", &child));
        ASSERT_OK(store_image_layer_paths(s, child, &layers));
        ASSERT_EQ(strv_length(layers), 2);

        /* The committed layer holds the whiteouts in overlay form again. */
        {
                struct stat st;
                snprintf(b, sizeof(b), "%s/gone.txt", layers[1]);
                ASSERT_OK(lstat(b, &st));
                ASSERT_TRUE(S_ISCHR(st.st_mode));
        }

        p(b, "%s/%s", "mnt");
        p(b2, "%s/%s", "c-upper");
        p(b3, "%s/%s", "c-work");
        ASSERT_OK(rootfs_mount(s, child, b, b2, b3, 0, &mode));
        {
                _cleanup_free_ char *fs = NULL;
                /* This machine's kernel has overlay built in: the fallback must not hide a broken mount. */
                if (read_full_file("/proc/filesystems", 1 << 16, &fs, NULL) >= 0 && strstr(fs, "\toverlay\n"))
                        ASSERT_EQ(mode, ROOTFS_OVERLAY);
        }
        if (mode == ROOTFS_OVERLAY) {
                check_tree("mnt");
                ASSERT_OK(rootfs_umount(b, mode));
        }
        p(b, "%s/%s", "copy");
        ASSERT_OK(rootfs_mount(s, child, b, b2, b3, ROOTFS_FORCE_COPY, &mode));
        ASSERT_EQ(mode, ROOTFS_COPY);
        check_tree("copy");
        image_store_close(TAKE_PTR(s));
        rm_rf(root);
}

TEST(diff_of_nothing_is_an_empty_tar)
{
        char dir[] = "/tmp/hull-test-diff-XXXXXX", out[64];
        _cleanup_close_ int dfd = -EBADF, ofd = -EBADF;
        struct stat st;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(out, sizeof(out), "%s.tar", dir);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_OK(rootfs_diff_tar(dfd, ofd));
        ASSERT_OK(fstat(ofd, &st));
        ASSERT_EQ(st.st_size, 1024); /* two zero blocks: the end-of-archive marker */
        unlink(out);
        rm_rf(dir);
}
