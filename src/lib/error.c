/* SPDX-License-Identifier: Apache-2.0 */
/* error.c - thread-local detail message for -errno returns; see error.h. */
#include <stdarg.h>

#include "error.h"

static __thread char err_buf[1024];
static __thread bool err_valid;

int err_set(int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
        va_end(ap);
        err_valid = true;
        return r;
}

int err_prefix(int r, const char *fmt, ...)
{
        char prefix[512], old[sizeof(err_buf)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        snprintf(old, sizeof(old), "%s", err_msg(r));
        snprintf(err_buf, sizeof(err_buf), "%s: %s", prefix, old);
        err_valid = true;
        return r;
}

const char *err_msg(int r)
{
        if (err_valid)
                return err_buf;
        return strerror(r < 0 ? -r : r);
}

bool err_has_msg(void)
{
        return err_valid;
}

void err_clear(void)
{
        err_valid = false;
        err_buf[0] = 0;
}
