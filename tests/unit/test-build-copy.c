/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-build-copy.c - COPY/ADD semantics on plain directories: source matching
 * (wildcards, .dockerignore, the context's edge), the content hash that keys the
 * cache, and the copy rules (directory contents, file into a directory or as a
 * name, several sources, symlinks, hardlinks, --chmod/--chown, archives), with
 * both trees confined: symlinks in the context or the image never reach the host.
 */
#include <archive.h>
#include <archive_entry.h>
#include <endian.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "build-internal.h"
#include "error.h"
#include "util.h"
#include "test.h"

static char top[128];

static void put(const char *rel, const char *content, mode_t mode)
{
        char p[512];
        _cleanup_free_ char *dir = NULL;
        snprintf(p, sizeof(p), "%s/%s", top, rel);
        dir = strndup(p, (size_t)(strrchr(p, '/') - p));
        if (!dir || mkdir_p(dir, 0755) < 0 || write_file_atomic(p, content, strlen(content), mode) < 0)
                abort();
}

static char *get(const char *rel)
{
        char p[512];
        char *s = NULL;
        snprintf(p, sizeof(p), "%s/%s", top, rel);
        if (read_full_file(p, 1 << 20, &s, NULL) < 0)
                return NULL;
        return s;
}

static bool exists(const char *rel)
{
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", top, rel);
        return lstat(p, &st) == 0;
}

static int open_dir(const char *rel)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", top, rel);
        return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void setup(void)
{
        snprintf(top, sizeof(top), "/tmp/hull-test-build-copy-XXXXXX");
        if (!mkdtemp(top))
                abort();
        put("ctx/a.txt", "a\n", 0644);
        put("ctx/b.md", "b\n", 0644);
        put("ctx/dir/x", "x\n", 0600);
        put("ctx/dir/sub/y", "y\n", 0644);
        put("ctx/tree/one/leaf", "1\n", 0644);
        put("ctx/tree/two/leaf", "2\n", 0644);
        put("ctx/ignored.log", "log\n", 0644);
        put("dest/.keep", "", 0644);
}

static void teardown(void)
{
        (void)rm_rf(top);
}

static const char *const ignore_text = "*.log\n";

struct fixture {
        struct copy_source src;
        struct dockerignore *ig;
        int ctx_fd, dest_fd;
};

static void fixture_open(struct fixture *f)
{
        *f = (struct fixture){.ctx_fd = open_dir("ctx"), .dest_fd = open_dir("dest")};
        if (f->ctx_fd < 0 || f->dest_fd < 0 ||
            dockerignore_parse(ignore_text, strlen(ignore_text), &f->ig) < 0)
                abort();
        f->src = (struct copy_source){.root_fd = f->ctx_fd, .ignore = f->ig, .what = "build context"};
}

static void fixture_close(struct fixture *f)
{
        safe_close(f->ctx_fd);
        safe_close(f->dest_fd);
        dockerignore_free(f->ig);
}

static struct copy_spec spec_for(const char *dest, bool dir)
{
        return (struct copy_spec){.dest = dest,
                                  .dest_is_dir = dir,
                                  .uid = (uid_t)-1,
                                  .gid = (gid_t)-1,
                                  .mode = (mode_t)-1,
                                  .stage_dir = top};
}

static int copy(struct fixture *f, const char *const *srcs, const char *dest, bool dir)
{
        _cleanup_strv_free_ char **paths = NULL;
        struct copy_spec spec = spec_for(dest, dir);
        int r = copy_match(&f->src, (char *const *)srcs, &paths);
        if (r < 0)
                return r;
        return copy_run(&f->src, paths, &spec, f->dest_fd);
}

TEST(match_sources)
{
        struct fixture f;
        _cleanup_strv_free_ char **m = NULL;

        setup();
        fixture_open(&f);
        ASSERT_OK(copy_match(&f.src, (char *[]){(char *)"/a.txt", (char *)"./dir/../b.md", NULL}, &m));
        ASSERT_EQ(strv_length(m), 2);
        ASSERT_STREQ(m[0], "a.txt");
        ASSERT_STREQ(m[1], "b.md");
        strv_free(m);
        m = NULL;
        ASSERT_OK(copy_match(&f.src, (char *[]){(char *)"tree/*/leaf", NULL}, &m));
        ASSERT_EQ(strv_length(m), 2);
        ASSERT_STREQ(m[0], "tree/one/leaf");
        ASSERT_STREQ(m[1], "tree/two/leaf");
        strv_free(m);
        m = NULL;
        /* "." is the whole context. */
        ASSERT_OK(copy_match(&f.src, (char *[]){(char *)".", NULL}, &m));
        ASSERT_EQ(strv_length(m), 1);
        ASSERT_STREQ(m[0], "");
        strv_free(m);
        m = NULL;
        /* Wildcards skip ignored files; naming one is "not found". */
        ASSERT_OK(copy_match(&f.src, (char *[]){(char *)"*.*", NULL}, &m));
        ASSERT_EQ(strv_length(m), 2);
        ASSERT_ERR(copy_match(&f.src, (char *[]){(char *)"ignored.log", NULL}, &m), -ENOENT);
        ASSERT_STREQ(err_msg(-ENOENT),
                     "'ignored.log' not found in the build context (excluded by .dockerignore)");
        ASSERT_ERR(copy_match(&f.src, (char *[]){(char *)"../ctx/a.txt", NULL}, &m), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "source '../ctx/a.txt' is outside the build context");
        ASSERT_ERR(copy_match(&f.src, (char *[]){(char *)"nothing*", NULL}, &m), -ENOENT);
        ASSERT_STREQ(err_msg(-ENOENT), "no file in the build context matches 'nothing*'");
        ASSERT_ERR(copy_match(&f.src, (char *[]){(char *)"missing", NULL}, &m), -ENOENT);
        fixture_close(&f);
        teardown();
}

static void hash_of(struct fixture *f, const char *src, char out[SHA256_HEX_LEN + 1])
{
        _cleanup_strv_free_ char **m = NULL;
        struct build_key k;
        if (copy_match(&f->src, (char *[]){(char *)src, NULL}, &m) < 0 ||
            build_key_begin(&k, NULL, "COPY") < 0)
                abort();
        if (copy_hash(&f->src, m, &k) < 0) {
                build_key_abort(&k);
                abort();
        }
        build_key_finish(&k, out);
}

TEST(hash_follows_content_names_and_modes_not_times)
{
        char h0[SHA256_HEX_LEN + 1], h1[SHA256_HEX_LEN + 1];
        struct timespec t[2] = {{1000, 0}, {1000, 0}};
        char p[512];
        struct fixture f;

        setup();
        fixture_open(&f);
        hash_of(&f, ".", h0);
        hash_of(&f, ".", h1);
        ASSERT_STREQ(h0, h1);
        /* Times are not content. */
        snprintf(p, sizeof(p), "%s/ctx/dir/x", top);
        ASSERT_OK(utimensat(AT_FDCWD, p, t, 0));
        hash_of(&f, ".", h1);
        ASSERT_STREQ(h0, h1);
        /* An ignored file is not content either. */
        put("ctx/ignored.log", "changed\n", 0644);
        hash_of(&f, ".", h1);
        ASSERT_STREQ(h0, h1);
        /* Content, mode and names are. */
        put("ctx/dir/x", "X\n", 0600);
        hash_of(&f, ".", h1);
        ASSERT_FALSE(streq(h0, h1));
        put("ctx/dir/x", "x\n", 0600);
        hash_of(&f, ".", h1);
        ASSERT_STREQ(h0, h1);
        ASSERT_OK(chmod(p, 0644));
        hash_of(&f, ".", h1);
        ASSERT_FALSE(streq(h0, h1));
        ASSERT_OK(chmod(p, 0600));
        put("ctx/dir/new", "", 0644);
        hash_of(&f, ".", h1);
        ASSERT_FALSE(streq(h0, h1));
        fixture_close(&f);
        teardown();
}

TEST(copy_rules)
{
        struct fixture f;
        _cleanup_free_ char *s = NULL;
        struct stat st;
        char p[512];

        if (geteuid() != 0)
                SKIP("copies set owners (root only)");
        setup();
        fixture_open(&f);
        /* A directory copies its contents, into a directory made for it with the source's mode. */
        ASSERT_OK(copy(&f, (const char *[]){"dir", NULL}, "/out/d", false));
        ASSERT_TRUE(exists("dest/out/d/x") && exists("dest/out/d/sub/y") && !exists("dest/out/d/dir"));
        snprintf(p, sizeof(p), "%s/dest/out/d/x", top);
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        /* A file: into a directory (written with '/', or existing), else as the name. */
        ASSERT_OK(copy(&f, (const char *[]){"a.txt", NULL}, "/files/", true));
        ASSERT_OK(copy(&f, (const char *[]){"b.md", NULL}, "/files", false));
        ASSERT_OK(copy(&f, (const char *[]){"a.txt", NULL}, "/renamed", false));
        ASSERT_TRUE(exists("dest/files/a.txt") && exists("dest/files/b.md") && exists("dest/renamed"));
        s = get("dest/renamed");
        ASSERT_STREQ(s, "a\n");
        /* Several sources need a directory. */
        ASSERT_ERR(copy(&f, (const char *[]){"a.txt", "b.md", NULL}, "/two", false), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "the destination must be a directory ending with '/'");
        ASSERT_OK(copy(&f, (const char *[]){"tree/*/leaf", NULL}, "/leaves/", true));
        ASSERT_TRUE(exists("dest/leaves/leaf"));
        /* A file onto an existing directory goes into it; inside a copied tree it cannot replace one. */
        ASSERT_OK(copy(&f, (const char *[]){"a.txt", NULL}, "/out/d/sub", false));
        ASSERT_TRUE(exists("dest/out/d/sub/a.txt"));
        put("ctx/clash/sub", "a file\n", 0644);
        ASSERT_ERR(copy(&f, (const char *[]){"clash", NULL}, "/out/d", false), -EISDIR);
        ASSERT_STREQ(err_msg(-EISDIR), "cannot replace the directory '/out/d/sub' with a file");
        fixture_close(&f);
        teardown();
}

TEST(copy_symlinks_and_hardlinks_stay_confined)
{
        struct fixture f;
        char p[512], q[512], target[256];
        struct stat a, b;
        ssize_t n;

        if (geteuid() != 0)
                SKIP("copies set owners (root only)");
        setup();
        snprintf(p, sizeof(p), "%s/ctx/dir/rel-link", top);
        ASSERT_OK(symlink("../a.txt", p));
        snprintf(p, sizeof(p), "%s/ctx/escape", top);
        ASSERT_OK(symlink("/etc/hostname", p));
        snprintf(p, sizeof(p), "%s/ctx/dir/x", top);
        snprintf(q, sizeof(q), "%s/ctx/dir/x-hard", top);
        ASSERT_OK(link(p, q));
        /* The image's own symlink to "/" must not lead the copy to the host's root. */
        snprintf(p, sizeof(p), "%s/dest/up", top);
        ASSERT_OK(symlink("/", p));
        fixture_open(&f);
        ASSERT_OK(copy(&f, (const char *[]){"dir", NULL}, "/c", false));
        snprintf(p, sizeof(p), "%s/dest/c/rel-link", top);
        n = readlink(p, target, sizeof(target) - 1);
        ASSERT_TRUE(n > 0);
        target[n] = 0;
        ASSERT_STREQ(target, "../a.txt");
        snprintf(p, sizeof(p), "%s/dest/c/x", top);
        snprintf(q, sizeof(q), "%s/dest/c/x-hard", top);
        ASSERT_OK(stat(p, &a));
        ASSERT_OK(stat(q, &b));
        ASSERT_EQ(a.st_ino, b.st_ino);
        /* A top-level symlink is followed, inside the context: /etc/hostname of the context does not exist.
         */
        ASSERT_ERR(copy(&f, (const char *[]){"escape", NULL}, "/e", false), -ENOENT);
        /* Writing below dest's "/up" (a link to /) stays in dest. */
        ASSERT_OK(copy(&f, (const char *[]){"a.txt", NULL}, "/up/tmp/hull-copy-test-escape", false));
        ASSERT_TRUE(exists("dest/tmp/hull-copy-test-escape"));
        ASSERT_TRUE(access("/tmp/hull-copy-test-escape", F_OK) < 0);
        fixture_close(&f);
        teardown();
}

TEST(copy_chown_and_chmod)
{
        _cleanup_strv_free_ char **m = NULL;
        struct copy_spec spec = spec_for("/owned/", true);
        struct fixture f;
        struct stat st;
        char p[512];

        if (geteuid() != 0)
                SKIP("chown needs root");
        setup();
        /* A file capability (VFS_CAP_REVISION_2, permitted CAP_NET_BIND_SERVICE): chown(2) would drop it. */
        {
                uint32_t cap[5] = {htole32(0x02000000), htole32(1u << 10), 0, 0, 0};
                snprintf(p, sizeof(p), "%s/ctx/dir/sub/y", top);
                ASSERT_OK(setxattr(p, "security.capability", cap, sizeof(cap), 0));
        }
        fixture_open(&f);
        spec.uid = 1234;
        spec.gid = 4321;
        spec.mode = 0640;
        ASSERT_OK(copy_match(&f.src, (char *[]){(char *)"dir", NULL}, &m));
        ASSERT_OK(copy_run(&f.src, m, &spec, f.dest_fd));
        snprintf(p, sizeof(p), "%s/dest/owned/sub/y", top);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_uid, 1234);
        ASSERT_EQ(st.st_gid, 4321);
        ASSERT_EQ(st.st_mode & 07777, 0640);
        ASSERT_EQ(getxattr(p, "security.capability", NULL, 0), 20);
        /* The directory made for the destination is the user's too. */
        snprintf(p, sizeof(p), "%s/dest/owned", top);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_uid, 1234);
        fixture_close(&f);
        teardown();
}

/* A gzip'd tar with one file owned by 7:8. */
static void write_tar(const char *path)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_gzip(a);
        if (archive_write_open_filename(a, path) != ARCHIVE_OK)
                abort();
        archive_entry_set_pathname(e, "top/file");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0640);
        archive_entry_set_uid(e, 7);
        archive_entry_set_gid(e, 8);
        archive_entry_set_size(e, 7);
        archive_write_header(a, e);
        archive_write_data(a, "in tar\n", 7);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
}

TEST(add_unpacks_archives_only)
{
        _cleanup_strv_free_ char **m = NULL;
        struct copy_spec spec = spec_for("/unpacked", false);
        _cleanup_free_ char *s = NULL;
        struct fixture f;
        struct stat st;
        char p[512];

        if (geteuid() != 0)
                SKIP("unpacking keeps owners (root only)");
        setup();
        snprintf(p, sizeof(p), "%s/ctx/arch.tar", top);
        write_tar(p);
        fixture_open(&f);
        spec.add = true;
        ASSERT_OK(copy_match(&f.src, (char *[]){(char *)"arch.tar", (char *)"a.txt", NULL}, &m));
        /* dest without '/': the archive is a directory anyway, but a plain file with it needs '/'. */
        ASSERT_ERR(copy_run(&f.src, m, &spec, f.dest_fd), -EINVAL);
        spec.dest_is_dir = true;
        ASSERT_OK(copy_run(&f.src, m, &spec, f.dest_fd));
        s = get("dest/unpacked/top/file");
        ASSERT_STREQ(s, "in tar\n");
        ASSERT_TRUE(exists("dest/unpacked/a.txt"));
        snprintf(p, sizeof(p), "%s/dest/unpacked/top/file", top);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_uid, 7);
        ASSERT_EQ(st.st_gid, 8);
        {
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
                ASSERT_FALSE(copy_is_archive(fd));
        }
        fixture_close(&f);
        teardown();
}

TEST(parse_chmod)
{
        mode_t m;
        ASSERT_OK(copy_parse_chmod("755", &m));
        ASSERT_EQ(m, 0755);
        ASSERT_OK(copy_parse_chmod("04755", &m));
        ASSERT_EQ(m, 04755);
        ASSERT_ERR(copy_parse_chmod("u+x", &m), -EINVAL);
        ASSERT_ERR(copy_parse_chmod("17777", &m), -EINVAL);
        ASSERT_ERR(copy_parse_chmod("", &m), -EINVAL);
}
