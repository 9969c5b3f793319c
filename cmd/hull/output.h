/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.h - what commands print: aligned tables, Go-template-like formats,
 * progress for blob transfers, human sizes and times.
 *
 * Tables: columns are sized to their widest cell and separated by three
 * spaces (podman's look). A --format other than "table" and "json" is a
 * template in which {{.Field}} is replaced by the row's cell of that name and
 * "\t", "\n" are escapes, printed once per row (podman's Go templates,
 * restricted to field references).
 *
 * Progress goes to stderr: on a terminal one line per blob redrawn in place
 * with a bar, otherwise one plain line per finished blob.
 */
#pragma once

#include <stdint.h>

#include "store.h"

struct table;

struct table *table_new(const char *const *headers, const char *const *fields, size_t n_cols);
void table_free(struct table *t);
static inline void table_freep(struct table **t)
{
        table_free(*t);
}
#define _cleanup_table_ _cleanup_(table_freep)
/* Add one row of n_cols cells (copied). */
int table_add_row(struct table *t, const char *const *cells);
/* Leave the column out of table output (templates can still name it). */
void table_hide_column(struct table *t, const char *field);
/* Print as a table (heading unless noheading) or through a template. */
int table_print(struct table *t, const char *format, bool noheading, FILE *f);

/* "1.23MB" (podman uses decimal units). */
const char *format_size(uint64_t bytes, char buf[static 32]);
/* "3 minutes ago" */
const char *format_ago(int64_t t, char buf[static 64]);
/* RFC 3339 in UTC */
const char *format_time(int64_t t, char buf[static 64]);
/* First 12 hex digits of a "sha256:..." digest. */
const char *short_id(const char *digest, char buf[static 16]);

struct progress_view {
        bool tty;
        bool quiet;
        int last_len;
        uint64_t last_done;
        char current[16];
};
/* image_progress callback rendering to stderr; userdata is a struct progress_view. */
void progress_view_fn(void *userdata, enum progress_event ev, const char *action, const char *what, uint64_t done,
                      uint64_t total);
