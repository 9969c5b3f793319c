/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-config.c - the image config JSON as Dockerfile instructions change it.
 *
 * Fields follow image-spec config.md and Docker's names in "config": Env,
 * Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels,
 * StopSignal, Healthcheck (Docker's extension, durations in nanoseconds),
 * Shell (Docker's, set by SHELL). The functions here take values already
 * expanded by the executor and record "Dockerfile:"-free messages; build.c
 * adds the line. Every json-c allocation is checked.
 */
#include <ctype.h>
#include <time.h>

#include "build-internal.h"
#include "error.h"
#include "json.h"
#include "manifest.h"
#include "util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int build_json_add(struct json_object *o, const char *key, struct json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int build_json_push(struct json_object *a, struct json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* The member key of o, created as an empty object/array of type t when missing or of another type. */
static struct json_object *member(struct json_object *o, const char *key, enum json_type t)
{
        struct json_object *v;

        if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t))
                return v;
        v = t == json_type_array ? json_object_new_array() : json_object_new_object();
        if (build_json_add(o, key, v) < 0)
                return NULL;
        return v;
}

static struct json_object *section(struct json_object *cfg)
{
        return member(cfg, "config", json_type_object);
}

int build_config_scratch(struct json_object **ret)
{
        _cleanup_json_ struct json_object *cfg = json_object_new_object();
        struct json_object *c, *rootfs, *env;
        int r;

        if (!cfg)
                return -ENOMEM;
        if ((r = build_json_add(cfg, "architecture", json_object_new_string(manifest_host_arch()))) < 0 ||
            (r = build_json_add(cfg, "os", json_object_new_string("linux"))) < 0)
                return r;
        if (!(c = section(cfg)) || !(rootfs = member(cfg, "rootfs", json_type_object)) ||
            !member(rootfs, "diff_ids", json_type_array) || !member(cfg, "history", json_type_array))
                return -ENOMEM;
        if ((r = build_json_add(rootfs, "type", json_object_new_string("layers"))) < 0)
                return r;
        /* As BuildKit: an image from scratch still gets a PATH for its RUN steps and containers. */
        if (!(env = member(c, "Env", json_type_array)))
                return -ENOMEM;
        if ((r = build_json_push(env, json_object_new_string(DEFAULT_PATH))) < 0)
                return r;
        *ret = TAKE_PTR(cfg);
        return 0;
}

const char *build_config_string(struct json_object *cfg, const char *field)
{
        struct json_object *c, *v;

        if (!json_object_object_get_ex(cfg, "config", &c) || !json_object_object_get_ex(c, field, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int build_config_strv(struct json_object *cfg, const char *field, char ***ret)
{
        _cleanup_free_ char *path = strdup_printf("config.%s", field);
        struct json_object *c;
        int r;

        *ret = NULL;
        if (!path)
                return -ENOMEM;
        if (!json_object_object_get_ex(cfg, "config", &c) || !json_object_is_type(c, json_type_object))
                return 0;
        r = json_get_strv(c, field, path, ret);
        return r == -ENOENT ? 0 : r;
}

int build_config_set_string(struct json_object *cfg, const char *field, const char *value)
{
        struct json_object *c = section(cfg);
        return c ? build_json_add(c, field, json_object_new_string(value)) : -ENOMEM;
}

int build_config_set_strv(struct json_object *cfg, const char *field, char *const *value)
{
        struct json_object *c = section(cfg), *a;

        if (!c)
                return -ENOMEM;
        if (!value) {
                json_object_object_del(c, field);
                return 0;
        }
        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; value[i]; i++)
                if (build_json_push(a, json_object_new_string(value[i])) < 0) {
                        json_object_put(a);
                        return -ENOMEM;
                }
        return build_json_add(c, field, a);
}

int build_config_set_env(struct json_object *cfg, const char *key, const char *value)
{
        struct json_object *c = section(cfg), *env;
        _cleanup_free_ char *kv = strdup_printf("%s=%s", key, value);
        size_t n = strlen(key);

        if (!c || !kv || !(env = member(c, "Env", json_type_array)))
                return -ENOMEM;
        /* A variable keeps its place in the list when it is set again, as Docker keeps it. */
        for (size_t i = 0; i < json_object_array_length(env); i++) {
                const char *e = json_object_get_string(json_object_array_get_idx(env, i));
                if (e && strncmp(e, key, n) == 0 && e[n] == '=') {
                        struct json_object *v = json_object_new_string(kv);
                        if (!v)
                                return -ENOMEM;
                        json_object_array_put_idx(env, i, v);
                        return 0;
                }
        }
        return build_json_push(env, json_object_new_string(kv));
}

int build_config_set_label(struct json_object *cfg, const char *key, const char *value)
{
        struct json_object *c = section(cfg), *labels;

        if (!c || !(labels = member(c, "Labels", json_type_object)))
                return -ENOMEM;
        return build_json_add(labels, key, json_object_new_string(value));
}

int build_config_add_volume(struct json_object *cfg, const char *path)
{
        struct json_object *c = section(cfg), *m;

        if (!*path)
                return err_set(-EINVAL, "VOLUME: empty path");
        if (!c || !(m = member(c, "Volumes", json_type_object)))
                return -ENOMEM;
        return build_json_add(m, path, json_object_new_object());
}

static int parse_port(const char *s, size_t n, unsigned *ret)
{
        char buf[8];
        uint32_t v;

        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (parse_u32(buf, &v) < 0 || v == 0 || v > 65535 || !isdigit((unsigned char)buf[0]))
                return -EINVAL;
        *ret = v;
        return 0;
}

int build_config_expose(struct json_object *cfg, const char *spec)
{
        struct json_object *c = section(cfg), *m;
        const char *slash = strchr(spec, '/'), *dash;
        char proto[8] = "tcp";
        size_t plen = slash ? (size_t)(slash - spec) : strlen(spec);
        unsigned lo, hi;

        if (!c || !(m = member(c, "ExposedPorts", json_type_object)))
                return -ENOMEM;
        if (slash) {
                size_t k = strlen(slash + 1);
                if (k == 0 || k >= sizeof(proto))
                        return err_set(-EINVAL, "EXPOSE: invalid protocol in '%.40s' (tcp, udp or sctp)",
                                       spec);
                for (size_t i = 0; i <= k; i++)
                        proto[i] = (char)tolower((unsigned char)slash[1 + i]);
                if (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp"))
                        return err_set(-EINVAL, "EXPOSE: invalid protocol in '%.40s' (tcp, udp or sctp)",
                                       spec);
        }
        dash = memchr(spec, '-', plen);
        if (parse_port(spec, dash ? (size_t)(dash - spec) : plen, &lo) < 0 ||
            parse_port(dash ? dash + 1 : spec, dash ? (size_t)(spec + plen - dash - 1) : plen, &hi) < 0 ||
            hi < lo)
                return err_set(
                        -EINVAL,
                        "EXPOSE: invalid port '%.40s' (1-65535, a range like 8000-8010, optionally /tcp, "
                        "/udp or /sctp)",
                        spec);
        for (unsigned p = lo; p <= hi; p++) {
                char key[24];
                snprintf(key, sizeof(key), "%u/%s", p, proto);
                if (build_json_add(m, key, json_object_new_object()) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int build_config_healthcheck(struct json_object *cfg, char *const *test, char *const *flags)
{
        static const struct {
                const char *flag, *field;
        } durations[] = {
                {"interval", "Interval"},
                {"timeout", "Timeout"},
                {"start-period", "StartPeriod"},
                {"start-interval", "StartInterval"},
        };
        struct json_object *c = section(cfg), *hc, *t;
        int r;

        if (!c || !(hc = json_object_new_object()))
                return -ENOMEM;
        if ((r = build_json_add(c, "Healthcheck", hc)) < 0)
                return r;
        if (!(t = member(hc, "Test", json_type_array)))
                return -ENOMEM;
        for (size_t i = 0; test && test[i]; i++)
                if ((r = build_json_push(t, json_object_new_string(test[i]))) < 0)
                        return r;
        for (size_t i = 0; flags && flags[i]; i++) {
                const char *eq = strchr(flags[i], '=');
                if (!eq)
                        return err_set(-EINVAL, "HEALTHCHECK: --%s needs a value", flags[i]);
                if (startswith(flags[i], "retries=")) {
                        int n;
                        if (parse_int(eq + 1, &n) < 0 || n < 0)
                                return err_set(-EINVAL, "HEALTHCHECK: invalid --retries '%s'", eq + 1);
                        if ((r = build_json_add(hc, "Retries", json_object_new_int64(n))) < 0)
                                return r;
                        continue;
                }
                for (size_t k = 0; k < ELEMENTSOF(durations); k++) {
                        int64_t ns;
                        if (strlen(durations[k].flag) != (size_t)(eq - flags[i]) ||
                            strncmp(flags[i], durations[k].flag, (size_t)(eq - flags[i])) != 0)
                                continue;
                        if (dockerfile_parse_duration(eq + 1, &ns) < 0)
                                return err_set(-EINVAL, "HEALTHCHECK: invalid duration '%s' for --%s",
                                               eq + 1, durations[k].flag);
                        if ((r = build_json_add(hc, durations[k].field, json_object_new_int64(ns))) < 0)
                                return r;
                }
        }
        return 0;
}

int build_config_set_author(struct json_object *cfg, const char *author)
{
        return build_json_add(cfg, "author", json_object_new_string(author));
}

int build_config_history(struct json_object *cfg, const char *created_by, bool empty_layer)
{
        struct json_object *hist = member(cfg, "history", json_type_array), *h;
        char now[64];
        time_t t = time(NULL);
        struct tm tm;
        int r;

        if (!hist)
                return -ENOMEM;
        gmtime_r(&t, &tm);
        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if ((r = build_json_add(cfg, "created", json_object_new_string(now))) < 0)
                return r;
        h = json_object_new_object();
        if (!h)
                return -ENOMEM;
        if ((r = build_json_push(hist, h)) < 0)
                return r;
        if ((r = build_json_add(h, "created", json_object_new_string(now))) < 0 ||
            (r = build_json_add(h, "created_by", json_object_new_string(created_by))) < 0)
                return r;
        if (empty_layer && (r = build_json_add(h, "empty_layer", json_object_new_boolean(true))) < 0)
                return r;
        return 0;
}

int build_config_add_diff_id(struct json_object *cfg, const char *diff_id)
{
        struct json_object *rootfs = member(cfg, "rootfs", json_type_object), *ids;

        if (!rootfs || !(ids = member(rootfs, "diff_ids", json_type_array)))
                return -ENOMEM;
        return build_json_push(ids, json_object_new_string(diff_id));
}

char *build_path_join(const char *base, const char *path)
{
        _cleanup_free_ char *in = path[0] == '/' ? strdup(path) : strdup_printf("%s/%s", base ?: "/", path);

        /* Lexical, as Go's path.Clean: ".." stops at the root. */
        return in ? path_clean_rooted(in) : NULL;
}
