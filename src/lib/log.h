/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - one logger per process.
 *
 * Commands choose where messages go (stderr by default, or a file given by
 * --log) and in which format (text, or JSON lines as runc writes them, which
 * containerd's shim and conmon parse: {"level":"error","msg":"...","time":"..."}).
 * Library code logs only at debug level; the command layer logs errors once.
 * An error always also goes to stderr when a log file is set, so that a user
 * at a terminal sees it.
 */
#pragma once

#include <stdarg.h>

#include "macro.h"

enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
        _LOG_LEVEL_INVALID = -EINVAL,
};

enum log_format {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        _LOG_FORMAT_MAX,
        _LOG_FORMAT_INVALID = -EINVAL,
};

/* Set the program name used as prefix on stderr ("hull-runtime: ..."). */
void log_set_program(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Open path for appending and send messages there. Returns 0 or -errno. */
int log_open_file(const char *path, enum log_format format);
void log_set_format(enum log_format format);
enum log_format log_format_from_string(const char *s);
/* Stop writing to stderr (used once stderr belongs to a container). */
void log_set_stderr(bool on);
void log_close(void);

void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);
void log_msgv(enum log_level level, const char *fmt, va_list ap) _printf_(2, 0);

#define log_debug(...)   (log_get_level() >= LOG_LEVEL_DEBUG ? log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__) : (void)0)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Log "<fmt>: <detail for r>" at error level and return r (negative). */
int log_error_errno(int r, const char *fmt, ...) _printf_(2, 3);
