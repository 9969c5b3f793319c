/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-profile.c - seccomp profiles in Docker's schema (hull's default, embedded from
 * seccomp-default.json, and users' --security-opt seccomp=FILE) turned into the
 * runtime-spec linux.seccomp object of one container; see seccomp-profile.h.
 *
 * Docker's schema adds to runtime-spec's: "archMap" (the native architecture and the
 * sub-architectures whose system calls a process of it can make: x86 and x32 on x86_64),
 * and per rule "includes"/"excludes" with "caps" (the rule applies when the container
 * holds one of / none of those capabilities), "arches" and "minKernel". A profile that
 * already is a runtime-spec object ("architectures", no conditions) passes through.
 */
#include <sys/utsname.h>

#include "error.h"
#include "json.h"
#include "seccomp-profile.h"
#include "util.h"

extern const unsigned char hull_seccomp_default[];
extern const size_t hull_seccomp_default_size;

static const char *native_arch(void)
{
#if defined(__x86_64__)
        return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
        return "SCMP_ARCH_AARCH64";
#elif defined(__i386__)
        return "SCMP_ARCH_X86";
#else
        return NULL;
#endif
}

static bool has_any(char **caps, struct json_object *list)
{
        size_t n = json_object_array_length(list);
        for (size_t i = 0; i < n; i++) {
                const char *c = json_object_get_string(json_object_array_get_idx(list, i));
                if (c && strv_contains(caps, c))
                        return true;
        }
        return false;
}

/* "5.8" <= running kernel? */
static bool kernel_at_least(const char *v)
{
        struct utsname u;
        unsigned a = 0, b = 0, x = 0, y = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &x, &y) != 2 || sscanf(v, "%u.%u", &a, &b) < 1)
                return true;
        return x > a || (x == a && y >= b);
}

/*
 * Whether a rule's condition object (includes or excludes) matches: each listed criterion
 * must hold. For excludes the rule is dropped when it matches.
 */
static int condition_matches(struct json_object *cond, const char *path, char **caps, bool *ret)
{
        struct json_object *v;
        const char *s;
        bool m = true;
        int r;

        r = json_get_array(cond, "caps", path, &v);
        if (r >= 0)
                m = m && has_any(caps, v);
        else if (r != -ENOENT)
                return r;
        r = json_get_array(cond, "arches", path, &v);
        if (r >= 0) {
                bool any = false;
                size_t n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++) {
                        const char *a = json_object_get_string(json_object_array_get_idx(v, i));
                        /* Docker's arches use GOARCH names ("amd64") or SCMP names. */
                        if (a && (streq(a, native_arch() ?: "") ||
                                  (streq(a, "amd64") && native_arch() &&
                                   streq(native_arch(), "SCMP_ARCH_X86_64")) ||
                                  (streq(a, "x32") && native_arch() &&
                                   streq(native_arch(), "SCMP_ARCH_X86_64")) ||
                                  (streq(a, "arm64") && native_arch() &&
                                   streq(native_arch(), "SCMP_ARCH_AARCH64"))))
                                any = true;
                }
                m = m && any;
        } else if (r != -ENOENT)
                return r;
        r = json_get_string(cond, "minKernel", path, &s);
        if (r >= 0)
                m = m && kernel_at_least(s);
        else if (r != -ENOENT)
                return r;
        *ret = m;
        return 0;
}

static int architectures(struct json_object *profile, struct json_object **ret)
{
        _cleanup_json_ struct json_object *out = json_object_new_array();
        struct json_object *map, *a;
        const char *native = native_arch();
        int r;

        if (!out)
                return -ENOMEM;
        r = json_get_array(profile, "architectures", "architectures", &a);
        if (r >= 0) {
                json_object_put(out);
                out = json_object_get(a);
                *ret = TAKE_PTR(out);
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = json_get_array(profile, "archMap", "archMap", &map);
        if (r == -ENOENT) {
                *ret = TAKE_PTR(out);
                return 0;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(map); i++) {
                struct json_object *e = json_object_array_get_idx(map, i), *subs;
                const char *arch;
                if ((r = json_expect_type(e, json_type_object, "archMap[]")) < 0 ||
                    (r = json_get_string(e, "architecture", "archMap[].architecture", &arch)) < 0)
                        return r;
                if (!native || !streq(arch, native))
                        continue;
                json_object_array_add(out, json_object_new_string(arch));
                r = json_get_array(e, "subArchitectures", "archMap[].subArchitectures", &subs);
                if (r >= 0)
                        for (size_t k = 0; k < json_object_array_length(subs); k++)
                                json_object_array_add(out,
                                                      json_object_get(json_object_array_get_idx(subs, k)));
                else if (r != -ENOENT)
                        return r;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int seccomp_profile_resolve(const char *text, size_t len, char **caps, struct json_object **ret)
{
        _cleanup_json_ struct json_object *profile = NULL, *out = NULL, *rules = NULL, *arches = NULL;
        struct json_object *syscalls, *v;
        const char *action;
        int r;

        r = json_parse_buffer(text, len, "seccomp profile", &profile);
        if (r < 0)
                return r;
        if (!json_object_is_type(profile, json_type_object))
                return err_set(-EINVAL, "seccomp profile: expected a JSON object");
        r = json_get_string(profile, "defaultAction", "defaultAction", &action);
        if (r == -ENOENT)
                return err_set(-EINVAL, "seccomp profile: defaultAction is missing");
        if (r < 0)
                return r;
        out = json_object_new_object();
        rules = json_object_new_array();
        if (!out || !rules)
                return -ENOMEM;
        json_object_object_add(out, "defaultAction", json_object_new_string(action));
        if (json_object_object_get_ex(profile, "defaultErrnoRet", &v))
                json_object_object_add(out, "defaultErrnoRet", json_object_get(v));
        if (json_object_object_get_ex(profile, "flags", &v))
                json_object_object_add(out, "flags", json_object_get(v));
        if (json_object_object_get_ex(profile, "listenerPath", &v))
                json_object_object_add(out, "listenerPath", json_object_get(v));
        r = architectures(profile, &arches);
        if (r < 0)
                return r;
        if (json_object_array_length(arches) > 0)
                json_object_object_add(out, "architectures", TAKE_PTR(arches));

        r = json_get_array(profile, "syscalls", "syscalls", &syscalls);
        if (r < 0 && r != -ENOENT)
                return r;
        for (size_t i = 0; r >= 0 && i < json_object_array_length(syscalls); i++) {
                struct json_object *e = json_object_array_get_idx(syscalls, i), *cond, *rule;
                char path[64];
                bool keep = true, m;

                snprintf(path, sizeof(path), "syscalls[%zu]", i);
                if ((r = json_expect_type(e, json_type_object, path)) < 0)
                        return r;
                if (json_object_object_get_ex(e, "includes", &cond)) {
                        if ((r = json_expect_type(cond, json_type_object, path)) < 0 ||
                            (r = condition_matches(cond, path, caps, &m)) < 0)
                                return r;
                        keep = keep && m;
                }
                if (json_object_object_get_ex(e, "excludes", &cond)) {
                        if ((r = json_expect_type(cond, json_type_object, path)) < 0 ||
                            (r = condition_matches(cond, path, caps, &m)) < 0)
                                return r;
                        /* An empty excludes object excludes nothing. */
                        if (json_object_object_length(cond) > 0)
                                keep = keep && !m;
                }
                if (!keep)
                        continue;
                rule = json_object_new_object();
                if (!rule || json_object_array_add(rules, rule) < 0) {
                        json_object_put(rule);
                        return -ENOMEM;
                }
                /* Keep what runtime-spec knows; hull-runtime validates the values. */
                json_object_object_foreach (e, k, val) {
                        if (streq(k, "names") || streq(k, "action") || streq(k, "errnoRet") ||
                            streq(k, "args"))
                                json_object_object_add(rule, k, json_object_get(val));
                        else if (streq(k, "name")) {
                                /* Docker's older schema: one "name" per rule. */
                                struct json_object *a = json_object_new_array();
                                json_object_array_add(a, json_object_get(val));
                                json_object_object_add(rule, "names", a);
                        }
                }
                if (!json_object_object_get_ex(rule, "names", NULL) ||
                    !json_object_object_get_ex(rule, "action", NULL))
                        return err_set(-EINVAL, "seccomp profile: %s: needs names and action", path);
        }
        json_object_object_add(out, "syscalls", TAKE_PTR(rules));
        *ret = TAKE_PTR(out);
        return 0;
}

int seccomp_profile_default(char **caps, struct json_object **ret)
{
        return seccomp_profile_resolve((const char *)hull_seccomp_default, hull_seccomp_default_size, caps,
                                       ret);
}

int seccomp_profile_default_text(const char **ret, size_t *ret_len)
{
        *ret = (const char *)hull_seccomp_default;
        *ret_len = hull_seccomp_default_size;
        return 0;
}
