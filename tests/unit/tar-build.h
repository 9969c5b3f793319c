/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tar-build.h - build small (possibly hostile) tar archives in memory for the
 * image tests, with libarchive's writer: regular files, directories, links,
 * devices, xattrs, and optional gzip compression.
 */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

struct tar_build {
        struct archive *a;
        char *buf;
        size_t size, used;
};

static inline void tar_begin(struct tar_build *t, bool gzip)
{
        t->size = 1 << 20;
        t->buf = malloc(t->size);
        t->used = 0;
        t->a = archive_write_new();
        archive_write_set_format_pax_restricted(t->a);
        if (gzip)
                archive_write_add_filter_gzip(t->a);
        archive_write_set_bytes_in_last_block(t->a, 1);
        archive_write_open_memory(t->a, t->buf, t->size, &t->used);
}

/* type: AE_IFREG, AE_IFDIR, AE_IFLNK (target = link), AE_IFCHR; hardlink when hardlink != NULL. */
static inline void tar_add(struct tar_build *t, const char *name, unsigned type, unsigned mode, const char *data,
                           const char *link, const char *hardlink)
{
        struct archive_entry *e = archive_entry_new();
        size_t n = data ? strlen(data) : 0;

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, mode);
        archive_entry_set_mtime(e, 1000000000, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        if (type == AE_IFLNK)
                archive_entry_set_symlink(e, link);
        if (hardlink)
                archive_entry_set_hardlink(e, hardlink);
        archive_entry_set_size(e, type == AE_IFREG && !hardlink ? (la_int64_t)n : 0);
        archive_write_header(t->a, e);
        if (n && type == AE_IFREG && !hardlink)
                archive_write_data(t->a, data, n);
        archive_entry_free(e);
}

static inline void tar_add_file(struct tar_build *t, const char *name, const char *data)
{
        tar_add(t, name, AE_IFREG, 0644, data, NULL, NULL);
}

static inline void tar_add_xattr_file(struct tar_build *t, const char *name, const char *xname, const char *xval)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_size(e, 0);
        archive_entry_xattr_add_entry(e, xname, xval, strlen(xval));
        archive_write_header(t->a, e);
        archive_entry_free(e);
}

/* Finish; the archive is t->buf[0..t->used). */
static inline void tar_end(struct tar_build *t)
{
        archive_write_close(t->a);
        archive_write_free(t->a);
        t->a = NULL;
}

static inline void tar_free(struct tar_build *t)
{
        if (t->a)
                archive_write_free(t->a);
        free(t->buf);
}
