/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.h - the detail message that goes with a negative errno.
 *
 * Library code returns -errno and never prints above debug level. When the
 * errno alone would not tell the user what is wrong (which config field,
 * which value), the function that knows records one line with err_set(),
 * which returns its first argument so that it reads as
 *
 *         return err_set(-EINVAL, "process.args: must be a non-empty array");
 *
 * The command layer prints err_msg() once, prefixed with what it was doing.
 * The buffer is thread-local; err_clear() drops it. A later err_set() replaces
 * an earlier one unless err_prefix() is used to add context on the way up.
 */
#pragma once

#include "macro.h"

int err_set(int r, const char *fmt, ...) _printf_(2, 3);
/* Prepend "prefix: " to the current message (or set it to "prefix: strerror(-r)"). Returns r. */
int err_prefix(int r, const char *fmt, ...) _printf_(2, 3);
/* The detail message for r: the recorded one, or strerror(-r) when none was recorded. */
const char *err_msg(int r);
bool err_has_msg(void);
void err_clear(void);
