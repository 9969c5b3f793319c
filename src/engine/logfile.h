/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logfile.h - container logs in Docker's json-file format, written by hull-monitor
 * and read by `hull logs`.
 *
 * One record per line: {"log":"<bytes>","stream":"stdout"|"stderr","time":"<RFC 3339, ns>"}
 * where "log" holds one line of output including its '\n' (a line longer than
 * LOGFILE_LINE_MAX, or what is left when the stream ends, is written without the '\n',
 * as Docker writes partial lines). Bytes that are not valid UTF-8 are written as \u00XX
 * of the byte, so that every file is valid JSON; the reader gives those bytes back.
 *
 * Rotation (--log-opt max-size, max-file): when the file would exceed max_size, it is
 * renamed to <path>.1 (and .1 to .2, ...; the last one over max_files-1 is dropped), and a
 * new file is started. Readers take <path>.N ... <path>.1, <path> in that order.
 *
 * No dependency beyond libc: hull-monitor links this statically and its RSS stays small.
 * The decoder is for outside input (a log file may be edited by anyone with access to the
 * store) and is fuzzed (tests/fuzz/fuzz-logfile.c).
 */
#pragma once

#include <stdint.h>
#include <time.h>

#include "macro.h"

#define LOGFILE_NAME     "ctr.log"
#define LOGFILE_LINE_MAX (16 * 1024)
/* One encoded record: every byte may become a 6-byte \u00XX escape, plus the frame. */
#define LOGFILE_RECORD_MAX (LOGFILE_LINE_MAX * 6 + 128)

enum log_stream {
        LOG_STREAM_STDOUT,
        LOG_STREAM_STDERR,
        _LOG_STREAM_MAX,
        _LOG_STREAM_INVALID = -EINVAL,
};

const char *log_stream_to_string(enum log_stream s);

/* "2024-05-01T12:00:00.000000123Z" for ns since the epoch (UTC, always 9 digits). buf >= 40. */
const char *logfile_format_time(int64_t ns, char *buf, size_t size);
/* Parse RFC 3339 with optional fraction and a Z or +hh:mm offset. */
int logfile_parse_time(const char *s, size_t len, int64_t *ret_ns);

/*
 * Encode one record into out (at least LOGFILE_RECORD_MAX bytes for len <= LOGFILE_LINE_MAX).
 * Returns the number of bytes written, newline included.
 */
size_t logfile_encode(char *out, const void *data, size_t len, enum log_stream stream, int64_t ns);

struct log_record {
        char *data; /* malloc'd, not NUL-terminated in meaning (may hold NULs); len bytes */
        size_t len;
        enum log_stream stream;
        int64_t time_ns;
};

/* Decode one line (without its '\n'). -EBADMSG for anything that is not a record. */
int logfile_decode(const char *line, size_t len, struct log_record *ret);
void log_record_done(struct log_record *r);

/* The writer, used by hull-monitor: appends records, rotates by size. */
struct log_writer {
        int fd;
        char *path;
        uint64_t size;      /* bytes in the current file */
        uint64_t max_size;  /* 0: never rotate */
        unsigned max_files; /* files kept in all, >= 1 */
        /* Pending partial line per stream, written when a '\n' arrives, when full, or at flush. */
        char pending[_LOG_STREAM_MAX][LOGFILE_LINE_MAX];
        size_t n_pending[_LOG_STREAM_MAX];
        char *buf; /* LOGFILE_RECORD_MAX */
};

int log_writer_open(struct log_writer *w, const char *path, uint64_t max_size, unsigned max_files);
/* Feed output of a stream; complete lines are written at once. */
int log_writer_feed(struct log_writer *w, enum log_stream s, const char *data, size_t len);
/* Write what is pending (the stream ended). */
int log_writer_flush(struct log_writer *w);
void log_writer_close(struct log_writer *w);

/* Name of rotated file n (n >= 1) of path; malloc'd. */
char *logfile_rotated_path(const char *path, unsigned n);
