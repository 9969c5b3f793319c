/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config-seccomp.c - linux.seccomp of config.json.
 *
 * Implements runtime-spec v1.2 config-linux.md "Seccomp": defaultAction,
 * defaultErrnoRet, architectures, flags, listenerPath, listenerMetadata and
 * syscalls[] (names, action, errnoRet, args[] with index, value, valueTwo, op).
 * Names are checked here against the spec's lists, so that seccomp.c can map
 * them without failing; syscall names stay unchecked strings, because one
 * profile serves kernels that know different syscalls (seccomp.c skips the
 * unknown ones, as runc and crun do).
 *
 * Rules the spec states and this file enforces:
 *   - errnoRet and defaultErrnoRet only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE
 *     ("When the action doesn't support an errno, the runtime MUST print and
 *     error and fail"), at most 65535 (the 16-bit SECCOMP_RET_DATA);
 *   - listenerMetadata "MUST NOT be set if listenerPath is not set";
 *   - names "MUST contain at least one entry";
 *   - args[].index is 0-5, the six syscall argument registers.
 * And two that libseccomp and the kernel impose: SCMP_ACT_NOTIFY cannot be the
 * default action (seccomp_init() refuses it), and a filter that notifies needs
 * listenerPath, or the notify fd would have no receiver and every notified
 * syscall would block forever.
 */
#include "config-internal.h"
#include "error.h"
#include "util.h"

/* config-linux.md "architectures" (libseccomp 2.5 names plus the later loongarch64, m68k, sh). */
static const char *const seccomp_arches[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

static const char *const seccomp_flags[] = {
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

static void rule_done(void *elem)
{
        struct oci_seccomp_rule *rule = elem;

        strv_free(rule->names);
        free(rule->args);
}

void config_seccomp_free(struct oci_seccomp *s)
{
        if (!s)
                return;
        strv_free(s->architectures);
        strv_free(s->flags);
        free(s->listener_path);
        free(s->listener_metadata);
        for (size_t i = 0; i < s->n_syscalls; i++)
                rule_done(&s->syscalls[i]);
        free(s->syscalls);
        free(s);
}

static void seccomp_freep(struct oci_seccomp **s)
{
        config_seccomp_free(*s);
}

static int get_action(struct json_object *o, const char *key, const char *path,
                      enum seccomp_action_kind *ret)
{
        _cleanup_free_ char *s = NULL;
        char q[80];
        int r;

        r = config_need(config_get_str(o, key, path, &s), path);
        if (r < 0)
                return r;
        r = seccomp_action_from_string(s);
        if (r < 0)
                return err_set(-EINVAL, "%s: unknown action '%s'", path, config_quote(s, q));
        *ret = r;
        return 0;
}

/* errnoRet / defaultErrnoRet: returns 1 when set. */
static int get_errno_ret(struct json_object *o, const char *key, const char *path,
                         enum seccomp_action_kind action, uint32_t *ret)
{
        uint64_t v;
        int r;

        r = config_opt(config_get_uint64_range(o, key, path, 0, 65535, &v));
        if (r <= 0)
                return r;
        if (action != SECCOMP_ACT_ERRNO && action != SECCOMP_ACT_TRACE)
                return err_set(-EINVAL, "%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s",
                               path, seccomp_action_to_string(action));
        *ret = (uint32_t)v;
        return 1;
}

static int parse_arg(struct json_object *e, const char *path, void *elem)
{
        struct oci_seccomp_arg *a = elem;
        _cleanup_free_ char *op = NULL;
        char p[CONFIG_PATH_MAX], q[80];
        uint64_t index;
        int r;

        snprintf(p, sizeof(p), "%s.index", path);
        r = config_need(config_get_uint64_range(e, "index", p, 0, 5, &index), p);
        if (r < 0)
                return r;
        a->index = (uint32_t)index;
        snprintf(p, sizeof(p), "%s.value", path);
        r = config_need(json_get_uint64(e, "value", p, &a->value), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.valueTwo", path);
        r = config_opt(json_get_uint64(e, "valueTwo", p, &a->value_two));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.op", path);
        r = config_need(config_get_str(e, "op", p, &op), p);
        if (r < 0)
                return r;
        a->op = seccomp_op_from_string(op);
        if (a->op < 0)
                return err_set(-EINVAL, "%s: unknown operator '%s'", p, config_quote(op, q));
        return 0;
}

static void arg_done(void *elem)
{
}

static int parse_rule(struct json_object *e, const char *path, void *elem)
{
        struct oci_seccomp_rule *rule = elem;
        char p[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        snprintf(p, sizeof(p), "%s.names", path);
        r = config_need(config_get_strv(e, "names", p, &rule->names), p);
        if (r < 0)
                return r;
        if (!rule->names[0])
                return err_set(-EINVAL, "%s: must contain at least one syscall name", p);
        for (size_t i = 0; rule->names[i]; i++)
                if (!rule->names[i][0])
                        return err_set(-EINVAL, "%s[%zu]: must not be empty", p, i);
        snprintf(p, sizeof(p), "%s.action", path);
        r = get_action(e, "action", p, &rule->action);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.errnoRet", path);
        r = get_errno_ret(e, "errnoRet", p, rule->action, &rule->errno_ret);
        if (r < 0)
                return r;
        rule->has_errno_ret = r > 0;
        snprintf(p, sizeof(p), "%s.args", path);
        r = config_opt(config_get_object_array(e, "args", p, sizeof(struct oci_seccomp_arg), parse_arg,
                                               arg_done, &arr, &n));
        if (r < 0)
                return r;
        rule->args = arr;
        rule->n_args = n;
        return 0;
}

static int check_names(char **l, const char *const *known, size_t n_known, const char *path,
                       const char *what)
{
        char q[80];

        for (size_t i = 0; l && l[i]; i++) {
                size_t k = 0;
                while (k < n_known && !streq(l[i], known[k]))
                        k++;
                if (k == n_known)
                        return err_set(-EINVAL, "%s[%zu]: unknown %s '%s'", path, i, what,
                                       config_quote(l[i], q));
        }
        return 0;
}

int config_seccomp_parse(struct json_object *o, const char *path, struct oci_seccomp **ret)
{
        _cleanup_(seccomp_freep) struct oci_seccomp *s = NULL;
        char p[CONFIG_PATH_MAX];
        bool notify;
        void *arr = NULL;
        size_t n = 0;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        snprintf(p, sizeof(p), "%s.defaultAction", path);
        r = get_action(o, "defaultAction", p, &s->default_action);
        if (r < 0)
                return r;
        if (s->default_action == SECCOMP_ACT_NOTIFY)
                return err_set(-EINVAL, "%s: SCMP_ACT_NOTIFY cannot be the default action", p);
        snprintf(p, sizeof(p), "%s.defaultErrnoRet", path);
        r = get_errno_ret(o, "defaultErrnoRet", p, s->default_action, &s->default_errno_ret);
        if (r < 0)
                return r;
        s->has_default_errno_ret = r > 0;

        snprintf(p, sizeof(p), "%s.architectures", path);
        r = config_opt(config_get_strv(o, "architectures", p, &s->architectures));
        if (r > 0)
                r = check_names(s->architectures, seccomp_arches, ELEMENTSOF(seccomp_arches), p,
                                "architecture");
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.flags", path);
        r = config_opt(config_get_strv(o, "flags", p, &s->flags));
        if (r > 0)
                r = check_names(s->flags, seccomp_flags, ELEMENTSOF(seccomp_flags), p, "flag");
        if (r < 0)
                return r;

        snprintf(p, sizeof(p), "%s.listenerPath", path);
        r = config_opt(config_get_str(o, "listenerPath", p, &s->listener_path));
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.listenerMetadata", path);
        r = config_opt(config_get_str(o, "listenerMetadata", p, &s->listener_metadata));
        if (r < 0)
                return r;
        if (s->listener_metadata && !s->listener_path)
                return err_set(-EINVAL, "%s: must not be set without listenerPath", p);

        snprintf(p, sizeof(p), "%s.syscalls", path);
        r = config_opt(config_get_object_array(o, "syscalls", p, sizeof(struct oci_seccomp_rule), parse_rule,
                                               rule_done, &arr, &n));
        if (r < 0)
                return r;
        s->syscalls = arr;
        s->n_syscalls = n;

        notify = false;
        for (size_t i = 0; i < s->n_syscalls; i++)
                notify = notify || s->syscalls[i].action == SECCOMP_ACT_NOTIFY;
        if (notify && (!s->listener_path || !s->listener_path[0]))
                return err_set(-EINVAL, "%s.listenerPath: required when a rule uses SCMP_ACT_NOTIFY", path);
        *ret = TAKE_PTR(s);
        return 0;
}
