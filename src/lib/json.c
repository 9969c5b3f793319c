/* SPDX-License-Identifier: Apache-2.0 */
/* json.c - typed json-c access with messages naming the field; see json.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>

#include "error.h"
#include "json.h"
#include "util.h"

int json_parse_buffer(const char *buf, size_t len, const char *what, struct json_object **ret)
{
        struct json_tokener *tok;
        struct json_object *o;
        enum json_tokener_error e;
        size_t off, line = 1, col = 1;

        if (len > INT_MAX)
                return err_set(-EFBIG, "%s: too large", what);
        tok = json_tokener_new_ex(64);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, buf, (int)len);
        e = json_tokener_get_error(tok);
        off = json_tokener_get_parse_end(tok);
        if (!o && e == json_tokener_continue)
                e = json_tokener_error_parse_eof;
        if (o && e == json_tokener_success) {
                /* Trailing garbage after the document is an error too. */
                while (off < len && strchr(" \t\r\n", buf[off]))
                        off++;
                if (off < len) {
                        json_object_put(o);
                        o = NULL;
                        e = json_tokener_error_parse_unexpected;
                }
        }
        json_tokener_free(tok);
        if (!o) {
                if (len == 0)
                        return err_set(-EINVAL, "%s: empty document", what);
                for (size_t i = 0; i < off && i < len; i++) {
                        if (buf[i] == '\n') {
                                line++;
                                col = 1;
                        } else
                                col++;
                }
                return err_set(-EINVAL, "%s: invalid JSON at line %zu, column %zu: %s", what, line, col,
                               json_tokener_error_desc(e));
        }
        *ret = o;
        return 0;
}

int json_parse_file(const char *path, size_t max, struct json_object **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        r = read_full_file(path, max, &buf, &size);
        if (r == -EFBIG)
                return err_set(r, "%s: larger than %zu bytes", path, max);
        if (r < 0)
                return err_set(r, "cannot read '%s': %s", path, strerror(-r));
        return json_parse_buffer(buf, size, path, ret);
}

const char *json_type_label(struct json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "boolean";
        case json_type_double:
                return "number";
        case json_type_int:
                return "integer";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "unknown";
}

static const char *type_name(enum json_type t)
{
        switch (t) {
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        case json_type_boolean:
                return "a boolean";
        case json_type_int:
                return "an integer";
        default:
                return "a value";
        }
}

int json_expect_type(struct json_object *v, enum json_type t, const char *path)
{
        if (json_object_get_type(v) != t)
                return err_set(-EINVAL, "%s: expected %s, got %s", path, type_name(t), json_type_label(v));
        return 0;
}

static int get_member(struct json_object *o, const char *key, struct json_object **ret)
{
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return -ENOENT;
        /* "key": null means the same as leaving it out, as Go's encoding/json reads it. */
        if (json_object_get_type(v) == json_type_null)
                return -ENOENT;
        *ret = v;
        return 0;
}

#define DEFINE_GET(fn, jtype, ctype, conv)                                                                         \
        int fn(struct json_object *o, const char *key, const char *path, ctype *ret)                              \
        {                                                                                                          \
                struct json_object *v;                                                                             \
                int r = get_member(o, key, &v);                                                                    \
                if (r < 0)                                                                                         \
                        return r;                                                                                  \
                r = json_expect_type(v, jtype, path);                                                              \
                if (r < 0)                                                                                         \
                        return r;                                                                                  \
                *ret = conv(v);                                                                                    \
                return 0;                                                                                          \
        }

#define IDENTITY(v) (v)
DEFINE_GET(json_get_object, json_type_object, struct json_object *, IDENTITY)
DEFINE_GET(json_get_array, json_type_array, struct json_object *, IDENTITY)
DEFINE_GET(json_get_string, json_type_string, const char *, json_object_get_string)
DEFINE_GET(json_get_bool, json_type_boolean, bool, json_object_get_boolean)

int json_value_int64(struct json_object *v, const char *path, int64_t *ret)
{
        if (json_object_get_type(v) != json_type_int)
                return err_set(-EINVAL, "%s: expected an integer, got %s", path, json_type_label(v));
        errno = 0;
        int64_t x = json_object_get_int64(v);
        /* json-c clamps out-of-range values to INT64_MIN/MAX and sets errno to ERANGE. */
        if (errno == ERANGE)
                return err_set(-ERANGE, "%s: integer out of range", path);
        *ret = x;
        return 0;
}

int json_value_uint64(struct json_object *v, const char *path, uint64_t *ret)
{
        if (json_object_get_type(v) != json_type_int)
                return err_set(-EINVAL, "%s: expected an unsigned integer, got %s", path, json_type_label(v));
        /* json-c keeps values above INT64_MAX as unsigned; negative ones are signed. */
        errno = 0;
        int64_t s = json_object_get_int64(v);
        if (s < 0 && errno != ERANGE)
                return err_set(-EINVAL, "%s: expected an unsigned integer, got %" PRId64, path, s);
        errno = 0;
        uint64_t u = json_object_get_uint64(v);
        if (errno == ERANGE)
                return err_set(-ERANGE, "%s: integer out of range", path);
        *ret = u;
        return 0;
}

int json_get_int64(struct json_object *o, const char *key, const char *path, int64_t *ret)
{
        struct json_object *v;
        int r = get_member(o, key, &v);
        if (r < 0)
                return r;
        return json_value_int64(v, path, ret);
}

int json_get_uint64(struct json_object *o, const char *key, const char *path, uint64_t *ret)
{
        struct json_object *v;
        int r = get_member(o, key, &v);
        if (r < 0)
                return r;
        return json_value_uint64(v, path, ret);
}

int json_get_uint32(struct json_object *o, const char *key, const char *path, uint32_t *ret)
{
        uint64_t v;
        int r = json_get_uint64(o, key, path, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return err_set(-ERANGE, "%s: %" PRIu64 " is larger than %u", path, v, UINT32_MAX);
        *ret = (uint32_t)v;
        return 0;
}

int json_get_strv(struct json_object *o, const char *key, const char *path, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        struct json_object *a;
        size_t n;
        int r;

        r = json_get_array(o, key, path, &a);
        if (r < 0)
                return r;
        n = json_object_array_length(a);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                if (json_object_get_type(e) != json_type_string)
                        return err_set(-EINVAL, "%s[%zu]: expected a string, got %s", path, i, json_type_label(e));
                l[i] = strdup(json_object_get_string(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

const char *json_to_string(struct json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int json_write_file_atomic(const char *path, struct json_object *o, mode_t mode)
{
        const char *s = json_to_string(o);
        return write_file_atomic(path, s, strlen(s), mode);
}
