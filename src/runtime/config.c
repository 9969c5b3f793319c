/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - config.json: the top level, root, mounts, hooks, annotations, the
 * enum <-> string tables, and the field helpers of config-internal.h.
 *
 * Implements runtime-spec v1.2 config.md "Specification version", "Root",
 * "Mounts" (with the Linux uidMappings/gidMappings of idmapped mounts),
 * "Hostname", "Domainname", "POSIX-platform Hooks", "Annotations" and
 * "Extensibility": unknown members are ignored at every level, a known member
 * with the wrong type or an invalid value is an error. "process" is parsed by
 * config-process.c, "linux" by config-linux.c.
 *
 * Ownership: config_parse() builds a struct oci_config that owns every string
 * and array reachable from it; on any error everything built so far is freed
 * by config_free(), which accepts a partly filled structure because every
 * array is stored only once its elements are complete.
 */
#include <ctype.h>
#include <limits.h>
#include <sched.h>
#include <sys/resource.h>

#include "config-internal.h"
#include "error.h"
#include "util.h"

/* Larger than any real config (the biggest seen, with a 400-rule seccomp profile, is ~100 KiB). */
#define CONFIG_FILE_MAX (16U << 20)

/* ---------------------------------------------------------------- enum tables */

static const char *const ns_type_names[_NS_TYPE_MAX] = {
        [NS_PID] = "pid", [NS_NET] = "network", [NS_MNT] = "mount",     [NS_IPC] = "ipc",
        [NS_UTS] = "uts", [NS_USER] = "user",   [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

static const char *const ns_proc_names[_NS_TYPE_MAX] = {
        [NS_PID] = "pid", [NS_NET] = "net",   [NS_MNT] = "mnt",       [NS_IPC] = "ipc",
        [NS_UTS] = "uts", [NS_USER] = "user", [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

static const int ns_clone_flags[_NS_TYPE_MAX] = {
        [NS_PID] = CLONE_NEWPID,       [NS_NET] = CLONE_NEWNET,   [NS_MNT] = CLONE_NEWNS,
        [NS_IPC] = CLONE_NEWIPC,       [NS_UTS] = CLONE_NEWUTS,   [NS_USER] = CLONE_NEWUSER,
        [NS_CGROUP] = CLONE_NEWCGROUP, [NS_TIME] = CLONE_NEWTIME,
};

static int lookup(const char *const *names, size_t n, const char *s)
{
        for (size_t i = 0; s && i < n; i++)
                if (names[i] && streq(names[i], s))
                        return (int)i;
        return -EINVAL;
}

const char *ns_type_to_string(enum ns_type t)
{
        return t >= 0 && t < _NS_TYPE_MAX ? ns_type_names[t] : NULL;
}

enum ns_type ns_type_from_string(const char *s)
{
        return (enum ns_type)lookup(ns_type_names, _NS_TYPE_MAX, s);
}

int ns_type_clone_flag(enum ns_type t)
{
        return t >= 0 && t < _NS_TYPE_MAX ? ns_clone_flags[t] : -EINVAL;
}

const char *ns_type_proc_name(enum ns_type t)
{
        return t >= 0 && t < _NS_TYPE_MAX ? ns_proc_names[t] : NULL;
}

static const char *const hook_kind_names[_HOOK_KIND_MAX] = {
        [HOOK_PRESTART] = "prestart",
        [HOOK_CREATE_RUNTIME] = "createRuntime",
        [HOOK_CREATE_CONTAINER] = "createContainer",
        [HOOK_START_CONTAINER] = "startContainer",
        [HOOK_POSTSTART] = "poststart",
        [HOOK_POSTSTOP] = "poststop",
};

const char *hook_kind_to_string(enum hook_kind k)
{
        return k >= 0 && k < _HOOK_KIND_MAX ? hook_kind_names[k] : NULL;
}

static const char *const seccomp_action_names[_SECCOMP_ACT_MAX] = {
        [SECCOMP_ACT_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [SECCOMP_ACT_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [SECCOMP_ACT_TRAP] = "SCMP_ACT_TRAP",
        [SECCOMP_ACT_ERRNO] = "SCMP_ACT_ERRNO",
        [SECCOMP_ACT_TRACE] = "SCMP_ACT_TRACE",
        [SECCOMP_ACT_ALLOW] = "SCMP_ACT_ALLOW",
        [SECCOMP_ACT_LOG] = "SCMP_ACT_LOG",
        [SECCOMP_ACT_NOTIFY] = "SCMP_ACT_NOTIFY",
};

const char *seccomp_action_to_string(enum seccomp_action_kind a)
{
        return a >= 0 && a < _SECCOMP_ACT_MAX ? seccomp_action_names[a] : NULL;
}

enum seccomp_action_kind seccomp_action_from_string(const char *s)
{
        /* libseccomp's SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD under its older name. */
        if (s && streq(s, "SCMP_ACT_KILL"))
                return SECCOMP_ACT_KILL_THREAD;
        return (enum seccomp_action_kind)lookup(seccomp_action_names, _SECCOMP_ACT_MAX, s);
}

static const char *const seccomp_op_names[_SECCOMP_OP_MAX] = {
        [SECCOMP_OP_NE] = "SCMP_CMP_NE",
        [SECCOMP_OP_LT] = "SCMP_CMP_LT",
        [SECCOMP_OP_LE] = "SCMP_CMP_LE",
        [SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
        [SECCOMP_OP_GE] = "SCMP_CMP_GE",
        [SECCOMP_OP_GT] = "SCMP_CMP_GT",
        [SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *seccomp_op_to_string(enum seccomp_arg_op op)
{
        return op >= 0 && op < _SECCOMP_OP_MAX ? seccomp_op_names[op] : NULL;
}

enum seccomp_arg_op seccomp_op_from_string(const char *s)
{
        return (enum seccomp_arg_op)lookup(seccomp_op_names, _SECCOMP_OP_MAX, s);
}

/* getrlimit(2)'s resources; RLIMIT_RSS is accepted although the kernel ignores it since 2.6. */
static const struct {
        const char *name;
        int resource;
} rlimit_table[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

int rlimit_from_string(const char *s)
{
        for (size_t i = 0; s && i < ELEMENTSOF(rlimit_table); i++)
                if (streq(rlimit_table[i].name, s))
                        return rlimit_table[i].resource;
        return -EINVAL;
}

const char *rlimit_to_string(int resource)
{
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (rlimit_table[i].resource == resource)
                        return rlimit_table[i].name;
        return "RLIMIT_?";
}

/* ---------------------------------------------------------------- field helpers */

int config_need(int r, const char *path)
{
        if (r == -ENOENT)
                return err_set(-EINVAL, "%s: required field is missing", path);
        return r;
}

const char *config_quote(const char *s, char buf[static 80])
{
        size_t i;

        for (i = 0; s[i] && i < 64; i++)
                buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
        if (s[i]) {
                memcpy(buf + i, "...", 3);
                i += 3;
        }
        buf[i] = 0;
        return buf;
}

int config_value_str(struct json_object *v, const char *path, char **ret)
{
        int r = json_expect_type(v, json_type_string, path);
        if (r < 0)
                return r;
        const char *s = json_object_get_string(v);
        if (strlen(s) != (size_t)json_object_get_string_len(v))
                return err_set(-EINVAL, "%s: contains a NUL character", path);
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int config_get_str(struct json_object *o, const char *key, const char *path, char **ret)
{
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || json_object_get_type(v) == json_type_null)
                return -ENOENT;
        return config_value_str(v, path, ret);
}

int config_check_abs_path(const char *s, const char *path)
{
        char q[80];

        if (s[0] != '/')
                return err_set(-EINVAL, "%s: must be an absolute path, got '%s'", path, config_quote(s, q));
        return 0;
}

int config_get_abs_path(struct json_object *o, const char *key, const char *path, char **ret)
{
        _cleanup_free_ char *s = NULL;
        int r = config_get_str(o, key, path, &s);
        if (r < 0)
                return r;
        r = config_check_abs_path(s, path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int config_get_strv(struct json_object *o, const char *key, const char *path, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        struct json_object *a;
        int r;

        r = json_get_strv(o, key, path, &l);
        if (r < 0)
                return r;
        r = json_get_array(o, key, path, &a);
        if (r < 0)
                return r;
        for (size_t i = 0; l[i]; i++)
                if (strlen(l[i]) != (size_t)json_object_get_string_len(json_object_array_get_idx(a, i)))
                        return err_set(-EINVAL, "%s[%zu]: contains a NUL character", path, i);
        *ret = TAKE_PTR(l);
        return 0;
}

int config_get_int64(struct json_object *o, const char *key, const char *path, int64_t *ret)
{
        int64_t v;
        int r = json_get_int64(o, key, path, &v);
        if (r < 0)
                return r;
        /* json-c keeps 2^63 and above as uint64 and reads them as INT64_MAX without setting ERANGE. */
        if (v == INT64_MAX && json_object_get_uint64(json_object_object_get(o, key)) > (uint64_t)INT64_MAX)
                return err_set(-ERANGE, "%s: integer out of range", path);
        *ret = v;
        return 0;
}

int config_get_int64_range(struct json_object *o, const char *key, const char *path, int64_t min,
                           int64_t max, int64_t *ret)
{
        int64_t v;
        int r = config_get_int64(o, key, path, &v);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return err_set(-ERANGE, "%s: %" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")", path,
                               v, min, max);
        *ret = v;
        return 0;
}

int config_get_uint64_range(struct json_object *o, const char *key, const char *path, uint64_t min,
                            uint64_t max, uint64_t *ret)
{
        uint64_t v;
        int r = json_get_uint64(o, key, path, &v);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return err_set(-ERANGE, "%s: %" PRIu64 " is out of range (%" PRIu64 " to %" PRIu64 ")", path,
                               v, min, max);
        *ret = v;
        return 0;
}

void config_key_values_free(struct oci_key_value *kv, size_t n)
{
        for (size_t i = 0; kv && i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

int config_get_string_map(struct json_object *o, const char *key, const char *path,
                          struct oci_key_value **ret, size_t *ret_n)
{
        struct oci_key_value *kv = NULL;
        struct json_object *m;
        size_t n = 0;
        char p[CONFIG_PATH_MAX];
        int r;

        r = json_get_object(o, key, path, &m);
        if (r < 0)
                return r;
        if (json_object_object_length(m) > 0) {
                kv = calloc((size_t)json_object_object_length(m), sizeof(*kv));
                if (!kv)
                        return -ENOMEM;
        }
        json_object_object_foreach (m, k, v) {
                snprintf(p, sizeof(p), "%s.%s", path, k);
                if (!*k) {
                        r = err_set(-EINVAL, "%s: keys must not be empty", path);
                        goto fail;
                }
                kv[n].key = strdup(k);
                if (!kv[n].key) {
                        r = -ENOMEM;
                        goto fail;
                }
                n++;
                r = config_value_str(v, p, &kv[n - 1].value);
                if (r < 0)
                        goto fail;
        }
        *ret = kv;
        *ret_n = n;
        return 0;
fail:
        config_key_values_free(kv, n);
        return r;
}

int config_check_cpu_list(const char *s, const char *path)
{
        const char *p = s;
        char q[80];

        while (*p) {
                unsigned long lo, hi;
                char *end;

                if (!isdigit((unsigned char)*p))
                        goto bad;
                lo = hi = strtoul(p, &end, 10);
                p = end;
                if (*p == '-') {
                        p++;
                        if (!isdigit((unsigned char)*p))
                                goto bad;
                        hi = strtoul(p, &end, 10);
                        p = end;
                }
                if (lo > hi || hi >= 1U << 22) /* the kernel's CONFIG_NR_CPUS is at most 8192 today */
                        goto bad;
                if (*p == ',' && p[1])
                        p++;
                else if (*p)
                        goto bad;
        }
        return 0;
bad:
        return err_set(-EINVAL, "%s: invalid CPU list '%s', expected a list like '0-3,7'", path,
                       config_quote(s, q));
}

int config_get_object_array(struct json_object *o, const char *key, const char *path, size_t size,
                            int (*parse)(struct json_object *e, const char *path, void *elem),
                            void (*done)(void *elem), void **ret, size_t *ret_n)
{
        _cleanup_free_ char *arr = NULL;
        struct json_object *a;
        char p[CONFIG_PATH_MAX];
        size_t n;
        int r;

        r = json_get_array(o, key, path, &a);
        if (r < 0)
                return r;
        n = json_object_array_length(a);
        if (n > 0) {
                arr = calloc(n, size);
                if (!arr)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);

                snprintf(p, sizeof(p), "%s[%zu]", path, i);
                r = json_expect_type(e, json_type_object, p);
                if (r >= 0)
                        r = parse(e, p, arr + i * size);
                if (r < 0) {
                        /* Element i may be half filled; the ones after it are still zero. */
                        for (size_t j = 0; j <= i; j++)
                                done(arr + j * size);
                        return r;
                }
        }
        *ret = TAKE_PTR(arr);
        *ret_n = n;
        return 0;
}

/* The kernel accepts at most 340 lines in uid_map/gid_map (Linux 4.15; 5 before). */
#define ID_MAPPINGS_MAX 340

static int parse_id_mapping(struct json_object *e, const char *path, void *elem)
{
        struct oci_id_mapping *m = elem;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.containerID", path);
        r = config_need(json_get_uint32(e, "containerID", p, &m->container_id), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.hostID", path);
        r = config_need(json_get_uint32(e, "hostID", p, &m->host_id), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.size", path);
        r = config_need(json_get_uint32(e, "size", p, &m->size), p);
        if (r < 0)
                return r;
        if (m->size == 0)
                return err_set(-EINVAL, "%s: must be greater than 0", p);
        /* Both ranges end at id + size - 1, which must still be a uint32 (the kernel's EINVAL). */
        if ((uint64_t)m->container_id + m->size - 1 > UINT32_MAX ||
            (uint64_t)m->host_id + m->size - 1 > UINT32_MAX)
                return err_set(-ERANGE, "%s: id + size - 1 overflows 32 bits", path);
        return 0;
}

static void id_mapping_done(void *elem)
{
}

static bool ranges_overlap(uint32_t a, uint32_t b, uint32_t size_a, uint32_t size_b)
{
        return (uint64_t)a < (uint64_t)b + size_b && (uint64_t)b < (uint64_t)a + size_a;
}

int config_get_id_mappings(struct json_object *o, const char *key, const char *path,
                           struct oci_id_mapping **ret, size_t *ret_n)
{
        _cleanup_free_ struct oci_id_mapping *m = NULL;
        void *arr = NULL;
        size_t n = 0;
        int r;

        r = config_get_object_array(o, key, path, sizeof(*m), parse_id_mapping, id_mapping_done, &arr, &n);
        if (r < 0)
                return r;
        m = arr;
        if (n > ID_MAPPINGS_MAX)
                return err_set(-E2BIG, "%s: %zu entries, the kernel accepts at most %d", path, n,
                               ID_MAPPINGS_MAX);
        /* user_namespaces(7): overlapping ranges on either side make the whole write fail. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (ranges_overlap(m[i].container_id, m[j].container_id, m[i].size, m[j].size) ||
                            ranges_overlap(m[i].host_id, m[j].host_id, m[i].size, m[j].size))
                                return err_set(-EINVAL, "%s[%zu]: overlaps %s[%zu]", path, i, path, j);
        *ret = TAKE_PTR(m);
        *ret_n = n;
        return 0;
}

/* ---------------------------------------------------------------- mounts, hooks */

static void mount_done(void *elem)
{
        struct oci_mount *m = elem;

        free(m->destination);
        free(m->type);
        free(m->source);
        strv_free(m->options);
        free(m->uid_mappings);
        free(m->gid_mappings);
}

static int parse_mount(struct json_object *e, const char *path, void *elem)
{
        struct oci_mount *m = elem;
        char p[CONFIG_PATH_MAX];
        int r;

        /* config.md: destination "MUST be an absolute path"; runc's relative-path leniency is not copied. */
        snprintf(p, sizeof(p), "%s.destination", path);
        r = config_need(config_get_abs_path(e, "destination", p, &m->destination), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.type", path);
        r = config_opt(config_get_str(e, "type", p, &m->type));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.source", path);
        r = config_opt(config_get_str(e, "source", p, &m->source));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.options", path);
        r = config_opt(config_get_strv(e, "options", p, &m->options));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.uidMappings", path);
        r = config_opt(config_get_id_mappings(e, "uidMappings", p, &m->uid_mappings, &m->n_uid_mappings));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.gidMappings", path);
        r = config_opt(config_get_id_mappings(e, "gidMappings", p, &m->gid_mappings, &m->n_gid_mappings));
        if (r < 0)
                return r;
        /* An idmapped mount takes one mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace holding both
         * maps. */
        if ((m->n_uid_mappings > 0) != (m->n_gid_mappings > 0))
                return err_set(-EINVAL, "%s: uidMappings and gidMappings must be given together", path);
        return 0;
}

static void hook_done(void *elem)
{
        struct oci_hook *h = elem;

        free(h->path);
        strv_free(h->args);
        strv_free(h->env);
}

static int parse_hook(struct json_object *e, const char *path, void *elem)
{
        struct oci_hook *h = elem;
        char p[CONFIG_PATH_MAX];
        int64_t timeout;
        int r;

        snprintf(p, sizeof(p), "%s.path", path);
        r = config_need(config_get_abs_path(e, "path", p, &h->path), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.args", path);
        r = config_opt(config_get_strv(e, "args", p, &h->args));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.env", path);
        r = config_opt(config_get_strv(e, "env", p, &h->env));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.timeout", path);
        r = config_get_int64(e, "timeout", p, &timeout);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (timeout <= 0)
                return err_set(-EINVAL, "%s: must be greater than 0 when given, got %" PRId64, p, timeout);
        if (timeout > INT_MAX)
                return err_set(-ERANGE, "%s: %" PRId64 " is too large", p, timeout);
        h->timeout = (int)timeout;
        return 0;
}

static int parse_hooks(struct json_object *doc, struct oci_config *c)
{
        struct json_object *hooks;
        char p[CONFIG_PATH_MAX];
        int r;

        r = config_opt(json_get_object(doc, "hooks", "hooks", &hooks));
        if (r <= 0)
                return r;
        for (enum hook_kind k = 0; k < _HOOK_KIND_MAX; k++) {
                void *arr = NULL;
                size_t n = 0;

                snprintf(p, sizeof(p), "hooks.%s", hook_kind_names[k]);
                r = config_opt(config_get_object_array(hooks, hook_kind_names[k], p, sizeof(struct oci_hook),
                                                       parse_hook, hook_done, &arr, &n));
                if (r < 0)
                        return r;
                c->hooks[k] = arr;
                c->n_hooks[k] = n;
        }
        return 0;
}

/* ---------------------------------------------------------------- top level */

/* config.md: SemVer, and a runtime of 1.x reads every 1.y document ("1.0.2-dev", "1.1.0+dev", ...). */
static int check_oci_version(const char *v)
{
        const char *p = startswith(v, "1.");
        char q[80];

        if (!p || !isdigit((unsigned char)*p))
                goto bad;
        while (isdigit((unsigned char)*p))
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        goto bad;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if (*p && *p != '-' && *p != '+')
                goto bad;
        return 0;
bad:
        return err_set(-EINVAL, "ociVersion: unsupported version '%s', expected 1.x", config_quote(v, q));
}

static int parse_root(struct json_object *doc, struct oci_config *c)
{
        struct json_object *root;
        int r;

        /* Optional on Windows (Hyper-V) only; config.md: "On all other platforms, this field is REQUIRED".
         */
        r = config_need(json_get_object(doc, "root", "root", &root), "root");
        if (r < 0)
                return r;
        r = config_need(config_get_str(root, "path", "root.path", &c->root_path), "root.path");
        if (r < 0)
                return r;
        if (!c->root_path[0])
                return err_set(-EINVAL, "root.path: must not be empty");
        r = json_get_bool(root, "readonly", "root.readonly", &c->root_readonly);
        return r == -ENOENT ? 0 : r;
}

static int config_from_json(struct json_object *doc, struct oci_config **ret)
{
        _cleanup_config_ struct oci_config *c = NULL;
        struct json_object *o;
        void *arr = NULL;
        size_t n = 0;
        int r;

        r = json_expect_type(doc, json_type_object, "config");
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        r = config_need(config_get_str(doc, "ociVersion", "ociVersion", &c->oci_version), "ociVersion");
        if (r < 0)
                return r;
        r = check_oci_version(c->oci_version);
        if (r < 0)
                return r;
        r = parse_root(doc, c);
        if (r < 0)
                return r;
        r = config_opt(json_get_object(doc, "process", "process", &o));
        if (r > 0)
                r = config_process_parse(o, "process", &c->process);
        if (r < 0)
                return r;
        r = config_opt(config_get_str(doc, "hostname", "hostname", &c->hostname));
        if (r < 0)
                return r;
        r = config_opt(config_get_str(doc, "domainname", "domainname", &c->domainname));
        if (r < 0)
                return r;
        r = config_opt(config_get_object_array(doc, "mounts", "mounts", sizeof(struct oci_mount),
                                               parse_mount, mount_done, &arr, &n));
        if (r < 0)
                return r;
        c->mounts = arr;
        c->n_mounts = n;
        r = parse_hooks(doc, c);
        if (r < 0)
                return r;
        r = config_opt(config_get_string_map(doc, "annotations", "annotations", &c->annotations,
                                             &c->n_annotations));
        if (r < 0)
                return r;
        r = config_opt(json_get_object(doc, "linux", "linux", &o));
        if (r > 0)
                r = config_linux_parse(o, "linux", &c->linux_cfg);
        if (r < 0)
                return r;
        r = config_linux_check(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_parse(const char *buf, size_t len, struct oci_config **ret)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        r = json_parse_buffer(buf, len, "config.json", &doc);
        if (r < 0)
                return r;
        return config_from_json(doc, ret);
}

int config_load(const char *path, struct oci_config **ret)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        r = json_parse_file(path, CONFIG_FILE_MAX, &doc);
        if (r < 0)
                return r;
        return config_from_json(doc, ret);
}

int process_parse(const char *buf, size_t len, const char *what, struct oci_process **ret)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        r = json_parse_buffer(buf, len, what, &doc);
        if (r < 0)
                return r;
        r = json_expect_type(doc, json_type_object, "process");
        if (r < 0)
                return r;
        return config_process_parse(doc, "process", ret);
}

void config_free(struct oci_config *c)
{
        if (!c)
                return;
        free(c->oci_version);
        process_free(c->process);
        free(c->root_path);
        free(c->hostname);
        free(c->domainname);
        for (size_t i = 0; i < c->n_mounts; i++)
                mount_done(&c->mounts[i]);
        free(c->mounts);
        for (enum hook_kind k = 0; k < _HOOK_KIND_MAX; k++) {
                for (size_t i = 0; i < c->n_hooks[k]; i++)
                        hook_done(&c->hooks[k][i]);
                free(c->hooks[k]);
        }
        config_key_values_free(c->annotations, c->n_annotations);
        config_linux_free(c->linux_cfg);
        free(c);
}

const struct oci_namespace *config_find_namespace(const struct oci_config *c, enum ns_type t)
{
        if (!c || !c->linux_cfg)
                return NULL;
        for (size_t i = 0; i < c->linux_cfg->n_namespaces; i++)
                if (c->linux_cfg->namespaces[i].type == t)
                        return &c->linux_cfg->namespaces[i];
        return NULL;
}

const char *config_annotation(const struct oci_config *c, const char *key)
{
        for (size_t i = 0; c && i < c->n_annotations; i++)
                if (streq(c->annotations[i].key, key))
                        return c->annotations[i].value;
        return NULL;
}
