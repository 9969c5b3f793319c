/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.h - typed access to json-c objects with error messages that name the field.
 *
 * Getters take the object, the member key and the dotted path of that member
 * as the user knows it ("process.user.uid"); on a type mismatch they record
 * "process.user.uid: expected an unsigned integer, got string" with err_set()
 * and return -EINVAL. A missing member returns -ENOENT without a message, so
 * that callers decide whether it is optional. Returned strings and objects are
 * borrowed from the parent object.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "macro.h"

static inline void json_object_putp(struct json_object **o)
{
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parse buf; on a syntax error record "<what>: invalid JSON at line L, column C: <reason>". */
int json_parse_buffer(const char *buf, size_t len, const char *what, struct json_object **ret);
/* Read and parse a file (at most max bytes). */
int json_parse_file(const char *path, size_t max, struct json_object **ret);

const char *json_type_label(struct json_object *o);

int json_get_object(struct json_object *o, const char *key, const char *path, struct json_object **ret);
int json_get_array(struct json_object *o, const char *key, const char *path, struct json_object **ret);
int json_get_string(struct json_object *o, const char *key, const char *path, const char **ret);
int json_get_bool(struct json_object *o, const char *key, const char *path, bool *ret);
int json_get_int64(struct json_object *o, const char *key, const char *path, int64_t *ret);
int json_get_uint64(struct json_object *o, const char *key, const char *path, uint64_t *ret);
int json_get_uint32(struct json_object *o, const char *key, const char *path, uint32_t *ret);
/* An array of strings as a malloc'd strv. */
int json_get_strv(struct json_object *o, const char *key, const char *path, char ***ret);

/* Checks of a value itself (for array elements); path names the element, e.g. "mounts[3]". */
int json_expect_type(struct json_object *v, enum json_type t, const char *path);
int json_value_uint64(struct json_object *v, const char *path, uint64_t *ret);
int json_value_int64(struct json_object *v, const char *path, int64_t *ret);

/* Serialize compactly; the string belongs to o. */
const char *json_to_string(struct json_object *o);
/* Serialize and write atomically to path. */
int json_write_file_atomic(const char *path, struct json_object *o, mode_t mode);
