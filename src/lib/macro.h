/* SPDX-License-Identifier: Apache-2.0 */
/*
 * macro.h - cleanup attributes and small helpers used by every hull module.
 *
 * Ownership rules (see docs/STYLE notes in the repository README):
 *   - a variable declared with _cleanup_free_ / _cleanup_close_ owns what it points to;
 *   - TAKE_PTR()/TAKE_FD() hand ownership to the caller and leave the variable empty;
 *   - file descriptors start at -EBADF, so a cleanup on an unused fd is a no-op.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)       __attribute__((cleanup(f)))
#define _unused_           __attribute__((unused))
#define _noreturn_         __attribute__((noreturn))
#define _printf_(a, b)     __attribute__((format(printf, a, b)))
#define _pure_             __attribute__((pure))
#define _likely_(x)        __builtin_expect(!!(x), 1)
#define _unlikely_(x)      __builtin_expect(!!(x), 0)
#define _warn_unused_      __attribute__((warn_unused_result))

#define ELEMENTSOF(a)      (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)          ((a) < (b) ? (a) : (b))
#define MAX(a, b)          ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)     (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define STRINGIFY_(x)      #x
#define STRINGIFY(x)       STRINGIFY_(x)

#define TAKE_PTR(p)                                                                                               \
        ({                                                                                                        \
                __typeof__(p) _p_ = (p);                                                                          \
                (p) = NULL;                                                                                       \
                _p_;                                                                                              \
        })

#define TAKE_FD(fd)                                                                                               \
        ({                                                                                                        \
                int _fd_ = (fd);                                                                                  \
                (fd) = -EBADF;                                                                                    \
                _fd_;                                                                                             \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* close() that keeps errno, accepts negative fds and returns -EBADF for "fd = safe_close(fd)". */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* A NULL-terminated array of malloc'd strings. */
void strv_free(char **l);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s)
{
        return s ? s : "";
}

/* Returns the rest of s after prefix, or NULL when s does not start with prefix. */
static inline const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

/* Return -errno for a failed libc call; callers write "return negative_errno();" right after it. */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}
