/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - the process-wide logger; see log.h.
 *
 * Messages are formatted into one buffer and written with a single write()
 * so that lines from several processes sharing a log file do not interleave.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>

#include "error.h"
#include "log.h"

static const char *program = "hull";
static enum log_level max_level = LOG_LEVEL_WARNING;
static enum log_format format = LOG_FORMAT_TEXT;
static int log_fd = -EBADF;
static bool use_stderr = true;

static const char *const level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_program(const char *name)
{
        program = name;
}

void log_set_level(enum log_level level)
{
        max_level = level;
}

enum log_level log_get_level(void)
{
        return max_level;
}

void log_set_format(enum log_format f)
{
        format = f;
}

enum log_format log_format_from_string(const char *s)
{
        if (streq(s, "text"))
                return LOG_FORMAT_TEXT;
        if (streq(s, "json"))
                return LOG_FORMAT_JSON;
        return _LOG_FORMAT_INVALID;
}

int log_open_file(const char *path, enum log_format f)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        safe_close(log_fd);
        log_fd = fd;
        format = f;
        return 0;
}

void log_set_stderr(bool on)
{
        use_stderr = on;
}

void log_close(void)
{
        log_fd = safe_close(log_fd);
}

/* Append s to out as the body of a JSON string. */
static size_t json_escape(char *out, size_t size, const char *s)
{
        size_t n = 0;

        for (; *s && n + 7 < size; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        out[n++] = '\\';
                        out[n++] = (char)c;
                } else if (c == '\n') {
                        out[n++] = '\\';
                        out[n++] = 'n';
                } else if (c < 0x20) {
                        n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
                } else
                        out[n++] = (char)c;
        }
        out[n] = 0;
        return n;
}

static void write_all_quiet(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t k = write(fd, buf, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                buf += k;
                len -= (size_t)k;
        }
}

void log_msgv(enum log_level level, const char *fmt, va_list ap)
{
        char msg[2048], line[4608];
        int saved = errno;
        int n;

        if (level > max_level)
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);

        if (log_fd >= 0) {
                struct timespec ts;
                struct tm tm;
                char stamp[64];

                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
                snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%09ldZ", ts.tv_nsec);
                if (format == LOG_FORMAT_JSON) {
                        char esc[sizeof(msg) * 2];
                        json_escape(esc, sizeof(esc), msg);
                        n = snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                                     level_names[level], esc, stamp);
                } else
                        n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", stamp,
                                     level_names[level], msg);
                write_all_quiet(log_fd, line, (size_t)MIN(n, (int)sizeof(line) - 1));
        }
        if (use_stderr && (log_fd < 0 || level == LOG_LEVEL_ERROR)) {
                n = snprintf(line, sizeof(line), "%s: %s%s\n", program,
                             level == LOG_LEVEL_WARNING ? "warning: "
                             : level == LOG_LEVEL_DEBUG ? "debug: "
                                                        : "",
                             msg);
                write_all_quiet(STDERR_FILENO, line, (size_t)MIN(n, (int)sizeof(line) - 1));
        }
        errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_msgv(level, fmt, ap);
        va_end(ap);
}

int log_error_errno(int r, const char *fmt, ...)
{
        char ctx[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        log_msg(LOG_LEVEL_ERROR, "%s: %s", ctx, err_msg(r));
        return r;
}
