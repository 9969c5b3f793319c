/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config-internal.h - helpers shared by the pieces of the OCI config parser.
 *
 * The parser is split by spec section: config.c (top level, process, mounts,
 * hooks, annotations, the enum tables), config-linux.c (config-linux.md outside
 * "Control groups" and "Seccomp"), config-resources.c (linux.resources) and
 * config-seccomp.c (linux.seccomp). They share the conventions below.
 *
 * Field getters follow src/lib/json.h: 0 when the member is present and valid,
 * -ENOENT (no message) when it is absent or null, another -errno with a message
 * naming the field when it is wrong. config_need() turns -ENOENT into "required
 * field is missing", config_opt() turns it into 0 and success into 1.
 *
 * Every string a getter returns is a malloc'd copy owned by the caller. Strings
 * with an embedded NUL ("\u0000") are rejected: C would see a shorter path or
 * name than the one the user wrote.
 *
 * Paths in messages are built into char[CONFIG_PATH_MAX] buffers with
 * snprintf(); user-supplied text inside a message goes through config_quote() so
 * that a control character cannot forge a log line.
 */
#pragma once

#include <stdint.h>

#include "config.h"
#include "json.h"

#define CONFIG_PATH_MAX 256

/* -ENOENT -> "path: required field is missing" (-EINVAL); other values unchanged. */
int config_need(int r, const char *path);
/* -ENOENT -> 0, success -> 1, errors unchanged. */
static inline int config_opt(int r)
{
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

/* Copy s for a message: at most 64 characters, non-printable ones as '?', "..." when cut. */
const char *config_quote(const char *s, char buf[static 80]);

/* A string member (copied); the value itself when v is a string element. */
int config_get_str(struct json_object *o, const char *key, const char *path, char **ret);
int config_value_str(struct json_object *v, const char *path, char **ret);
/* A string member that must be an absolute path. */
int config_get_abs_path(struct json_object *o, const char *key, const char *path, char **ret);
int config_check_abs_path(const char *s, const char *path);
/* An array of strings as a strv (empty array: empty strv, not NULL). */
int config_get_strv(struct json_object *o, const char *key, const char *path, char ***ret);
/* json_get_int64() that also refuses values of 2^63 and above. */
int config_get_int64(struct json_object *o, const char *key, const char *path, int64_t *ret);
/* Integers with an inclusive range; the message names the range. */
int config_get_int64_range(struct json_object *o, const char *key, const char *path, int64_t min,
                           int64_t max, int64_t *ret);
int config_get_uint64_range(struct json_object *o, const char *key, const char *path, uint64_t min,
                            uint64_t max, uint64_t *ret);
/* An object member whose values must all be strings, as (key, value) pairs. */
int config_get_string_map(struct json_object *o, const char *key, const char *path,
                          struct oci_key_value **ret, size_t *ret_n);
void config_key_values_free(struct oci_key_value *kv, size_t n);

/* A cpuset list ("0-3,7"): digits, ranges with lo <= hi, separated by commas. */
int config_check_cpu_list(const char *s, const char *path);

/* uidMappings/gidMappings style arrays (linux.* and mounts[].*): size > 0, no overflow, no overlap. */
int config_get_id_mappings(struct json_object *o, const char *key, const char *path,
                           struct oci_id_mapping **ret, size_t *ret_n);

/*
 * An array of objects as a calloc'd array of n elements of size bytes: parse() fills one zeroed
 * element (path names it, "mounts[3]"); on failure done() releases what the elements own and
 * nothing is returned. An empty array gives (NULL, 0).
 */
int config_get_object_array(struct json_object *o, const char *key, const char *path, size_t size,
                            int (*parse)(struct json_object *e, const char *path, void *elem),
                            void (*done)(void *elem), void **ret, size_t *ret_n);

/* The sections parsed by the other files; path is where the object sits. */
int config_process_parse(struct json_object *o, const char *path, struct oci_process **ret);
int config_linux_parse(struct json_object *o, const char *path, struct oci_linux **ret);
void config_linux_free(struct oci_linux *l);
int config_resources_parse(struct json_object *o, const char *path, struct oci_resources **ret);
int config_seccomp_parse(struct json_object *o, const char *path, struct oci_seccomp **ret);
void config_seccomp_free(struct oci_seccomp *s);
/* Checks between sections (hostname needs a uts namespace, ...), after everything parsed. */
int config_linux_check(const struct oci_config *c);
