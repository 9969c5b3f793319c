/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config-process.c - the "process" object of config.json, also the whole
 * document of "exec --process FILE".
 *
 * Implements runtime-spec v1.2 config.md "Process", "POSIX process" (rlimits),
 * "Linux Process" (capabilities, noNewPrivileges, oomScoreAdj, scheduler,
 * ioPriority, execCPUAffinity, apparmorProfile, selinuxLabel) and "User".
 *
 * Capabilities are read by name with libcap's cap_from_name(), but only in the
 * spec's "CAP_XXX" spelling (libcap also takes "12" and "cap_chown"), and they
 * are not checked against the running kernel: a profile that names CAP_BPF is
 * valid on a kernel that predates it, and caps.c skips what the kernel lacks.
 *
 * The struct oci_process owns its strings and arrays; process_free() accepts a
 * partly filled one.
 */
#include <ctype.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/capability.h>

#include "config-internal.h"
#include "error.h"
#include "util.h"

/* <linux/sched.h> flags of sched_setattr(2); glibc's <sched.h> does not carry them. */
#define HULL_SCHED_FLAG_RESET_ON_FORK  0x01
#define HULL_SCHED_FLAG_RECLAIM        0x02
#define HULL_SCHED_FLAG_DL_OVERRUN     0x04
#define HULL_SCHED_FLAG_KEEP_POLICY    0x08
#define HULL_SCHED_FLAG_KEEP_PARAMS    0x10
#define HULL_SCHED_FLAG_UTIL_CLAMP_MIN 0x20
#define HULL_SCHED_FLAG_UTIL_CLAMP_MAX 0x40

struct name_value {
        const char *name;
        int value;
};

static int name_lookup(const struct name_value *t, size_t n, const char *s, int *ret)
{
        for (size_t i = 0; i < n; i++)
                if (streq(t[i].name, s)) {
                        *ret = t[i].value;
                        return 0;
                }
        return -EINVAL;
}

static const struct name_value sched_policies[] = {
        {"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
        {"SCHED_BATCH", SCHED_BATCH}, {"SCHED_IDLE", SCHED_IDLE}, {"SCHED_DEADLINE", SCHED_DEADLINE},
};

static const struct name_value sched_flags[] = {
        {"SCHED_FLAG_RESET_ON_FORK", HULL_SCHED_FLAG_RESET_ON_FORK},
        {"SCHED_FLAG_RECLAIM", HULL_SCHED_FLAG_RECLAIM},
        {"SCHED_FLAG_DL_OVERRUN", HULL_SCHED_FLAG_DL_OVERRUN},
        {"SCHED_FLAG_KEEP_POLICY", HULL_SCHED_FLAG_KEEP_POLICY},
        {"SCHED_FLAG_KEEP_PARAMS", HULL_SCHED_FLAG_KEEP_PARAMS},
        {"SCHED_FLAG_UTIL_CLAMP_MIN", HULL_SCHED_FLAG_UTIL_CLAMP_MIN},
        {"SCHED_FLAG_UTIL_CLAMP_MAX", HULL_SCHED_FLAG_UTIL_CLAMP_MAX},
};

static const struct name_value ioprio_classes[] = {
        {"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT},
        {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
        {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
};

void process_free(struct oci_process *p)
{
        if (!p)
                return;
        free(p->user.additional_gids);
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        free(p->exec_cpu_affinity_initial);
        free(p->exec_cpu_affinity_final);
        free(p);
}

static int parse_user(struct json_object *o, const char *path, struct oci_user *u)
{
        struct json_object *user, *a;
        char p[CONFIG_PATH_MAX];
        uint64_t umask;
        size_t n;
        int r;

        /* Go's encoding/json reads a missing "user" as uid 0, gid 0; runc and crun do the same. */
        snprintf(p, sizeof(p), "%s.user", path);
        r = config_opt(json_get_object(o, "user", p, &user));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.user.uid", path);
        r = config_need(json_get_uint32(user, "uid", p, &u->uid), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.user.gid", path);
        r = config_need(json_get_uint32(user, "gid", p, &u->gid), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.user.umask", path);
        r = config_opt(config_get_uint64_range(user, "umask", p, 0, 0777, &umask));
        if (r < 0)
                return r;
        u->has_umask = r > 0;
        u->umask = (uint32_t)umask;

        snprintf(p, sizeof(p), "%s.user.additionalGids", path);
        r = config_opt(json_get_array(user, "additionalGids", p, &a));
        if (r <= 0)
                return r;
        n = json_object_array_length(a);
        if (n > 65536) /* NGROUPS_MAX */
                return err_set(-E2BIG, "%s: %zu groups, the kernel accepts at most 65536", p, n);
        if (n == 0)
                return 0;
        u->additional_gids = calloc(n, sizeof(gid_t));
        if (!u->additional_gids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char pe[CONFIG_PATH_MAX];
                uint64_t v;

                snprintf(pe, sizeof(pe), "%s[%zu]", p, i);
                r = json_value_uint64(json_object_array_get_idx(a, i), pe, &v);
                if (r < 0)
                        return r;
                if (v > UINT32_MAX)
                        return err_set(-ERANGE, "%s: %" PRIu64 " is larger than %u", pe, v, UINT32_MAX);
                u->additional_gids[i] = (gid_t)v;
                u->n_additional_gids = i + 1;
        }
        return 0;
}

/* "CAP_CHOWN" -> 0. Only the spec's upper-case spelling; libcap alone would take "0" and "cap_chown". */
static int cap_parse(const char *s, const char *path)
{
        const char *rest = startswith(s, "CAP_");
        cap_value_t v;
        char q[80];

        if (!rest || !*rest)
                goto bad;
        for (const char *c = rest; *c; c++)
                if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
                        goto bad;
        if (cap_from_name(s, &v) < 0 || v < 0 || v > 63)
                goto bad;
        return v;
bad:
        return err_set(-EINVAL, "%s: unknown capability '%s'", path, config_quote(s, q));
}

static int parse_cap_set(struct json_object *caps, const char *key, const char *path, uint64_t *ret)
{
        _cleanup_strv_free_ char **l = NULL;
        char p[CONFIG_PATH_MAX];
        uint64_t mask = 0;
        int r;

        snprintf(p, sizeof(p), "%s.%s", path, key);
        r = config_get_strv(caps, key, p, &l);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; l[i]; i++) {
                char pe[CONFIG_PATH_MAX];

                snprintf(pe, sizeof(pe), "%s[%zu]", p, i);
                r = cap_parse(l[i], pe);
                if (r < 0)
                        return r;
                mask |= UINT64_C(1) << r;
        }
        *ret = mask;
        return 0;
}

static int parse_capabilities(struct json_object *o, const char *path, struct oci_process *proc)
{
        struct oci_capabilities *c = &proc->capabilities;
        struct json_object *caps;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.capabilities", path);
        r = config_opt(json_get_object(o, "capabilities", p, &caps));
        if (r <= 0)
                return r;
        proc->has_capabilities = true;
        if ((r = parse_cap_set(caps, "bounding", p, &c->bounding)) < 0 ||
            (r = parse_cap_set(caps, "effective", p, &c->effective)) < 0 ||
            (r = parse_cap_set(caps, "inheritable", p, &c->inheritable)) < 0 ||
            (r = parse_cap_set(caps, "permitted", p, &c->permitted)) < 0 ||
            (r = parse_cap_set(caps, "ambient", p, &c->ambient)) < 0)
                return r;
        return 0;
}

static int parse_rlimit(struct json_object *e, const char *path, void *elem)
{
        struct oci_rlimit *rl = elem;
        _cleanup_free_ char *type = NULL;
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.type", path);
        r = config_need(config_get_str(e, "type", p, &type), p);
        if (r < 0)
                return r;
        rl->resource = rlimit_from_string(type);
        if (rl->resource < 0)
                return err_set(-EINVAL, "%s: unknown rlimit '%s'", p, config_quote(type, q));
        snprintf(p, sizeof(p), "%s.soft", path);
        r = config_need(json_get_uint64(e, "soft", p, &rl->soft), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.hard", path);
        r = config_need(json_get_uint64(e, "hard", p, &rl->hard), p);
        if (r < 0)
                return r;
        /* setrlimit(2) fails with EINVAL for soft > hard; say so before the container is half built. */
        if (rl->soft > rl->hard)
                return err_set(-EINVAL, "%s: soft limit %" PRIu64 " is above hard limit %" PRIu64, path,
                               rl->soft, rl->hard);
        return 0;
}

static void rlimit_done(void *elem)
{
}

static int parse_rlimits(struct json_object *o, const char *path, struct oci_process *proc)
{
        char p[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        snprintf(p, sizeof(p), "%s.rlimits", path);
        r = config_opt(config_get_object_array(o, "rlimits", p, sizeof(struct oci_rlimit), parse_rlimit,
                                               rlimit_done, &arr, &n));
        if (r <= 0)
                return r;
        proc->rlimits = arr;
        proc->n_rlimits = n;
        /* config.md: "If rlimits contains duplicated entries with same type, the runtime MUST generate an
         * error". */
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (proc->rlimits[i].resource == proc->rlimits[j].resource)
                                return err_set(-EINVAL, "%s[%zu].type: duplicate of %s[%zu].type", p, i, p,
                                               j);
        return 0;
}

static int parse_io_priority(struct json_object *o, const char *path, struct oci_process *proc)
{
        _cleanup_free_ char *class = NULL;
        struct json_object *io;
        char p[CONFIG_PATH_MAX], q[80];
        int64_t prio;
        int r;

        snprintf(p, sizeof(p), "%s.ioPriority", path);
        r = config_opt(json_get_object(o, "ioPriority", p, &io));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.ioPriority.class", path);
        r = config_need(config_get_str(io, "class", p, &class), p);
        if (r < 0)
                return r;
        if (name_lookup(ioprio_classes, ELEMENTSOF(ioprio_classes), class, &proc->io_priority.ioprio_class) <
            0)
                return err_set(-EINVAL, "%s: unknown class '%s'", p, config_quote(class, q));
        /* ioprio_set(2): levels 0 (highest) to 7 within the RT and BE classes. */
        snprintf(p, sizeof(p), "%s.ioPriority.priority", path);
        r = config_need(config_get_int64_range(io, "priority", p, 0, 7, &prio), p);
        if (r < 0)
                return r;
        proc->io_priority.priority = (int)prio;
        proc->has_io_priority = true;
        return 0;
}

static int parse_scheduler(struct json_object *o, const char *path, struct oci_process *proc)
{
        struct oci_scheduler *s = &proc->scheduler;
        _cleanup_strv_free_ char **flags = NULL;
        _cleanup_free_ char *policy = NULL;
        struct json_object *sched;
        char p[CONFIG_PATH_MAX], q[80];
        int64_t v;
        int r;

        snprintf(p, sizeof(p), "%s.scheduler", path);
        r = config_opt(json_get_object(o, "scheduler", p, &sched));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.scheduler.policy", path);
        r = config_need(config_get_str(sched, "policy", p, &policy), p);
        if (r < 0)
                return r;
        /* The spec lists SCHED_ISO, which Linux reserved but never implemented. */
        if (name_lookup(sched_policies, ELEMENTSOF(sched_policies), policy, &s->policy) < 0)
                return err_set(-EINVAL, "%s: unknown or unsupported policy '%s'", p,
                               config_quote(policy, q));
        snprintf(p, sizeof(p), "%s.scheduler.nice", path);
        r = config_opt(config_get_int64_range(sched, "nice", p, -20, 19, &v));
        if (r < 0)
                return r;
        s->nice = r > 0 ? (int)v : 0;
        /* sched(7): 1-99 for SCHED_FIFO/SCHED_RR, 0 for the others; the kernel checks the pairing. */
        snprintf(p, sizeof(p), "%s.scheduler.priority", path);
        r = config_opt(config_get_int64_range(sched, "priority", p, 0, 99, &v));
        if (r < 0)
                return r;
        s->priority = r > 0 ? (int)v : 0;
        snprintf(p, sizeof(p), "%s.scheduler.flags", path);
        r = config_opt(config_get_strv(sched, "flags", p, &flags));
        if (r < 0)
                return r;
        for (size_t i = 0; flags && flags[i]; i++) {
                int f;
                if (name_lookup(sched_flags, ELEMENTSOF(sched_flags), flags[i], &f) < 0)
                        return err_set(-EINVAL, "%s[%zu]: unknown flag '%s'", p, i,
                                       config_quote(flags[i], q));
                s->flags |= (uint64_t)f;
        }
        snprintf(p, sizeof(p), "%s.scheduler.runtime", path);
        if ((r = config_opt(json_get_uint64(sched, "runtime", p, &s->runtime))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.scheduler.deadline", path);
        if ((r = config_opt(json_get_uint64(sched, "deadline", p, &s->deadline))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.scheduler.period", path);
        if ((r = config_opt(json_get_uint64(sched, "period", p, &s->period))) < 0)
                return r;
        proc->has_scheduler = true;
        return 0;
}

static int parse_cpu_affinity(struct json_object *o, const char *path, struct oci_process *proc)
{
        struct json_object *aff;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.execCPUAffinity", path);
        r = config_opt(json_get_object(o, "execCPUAffinity", p, &aff));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.execCPUAffinity.initial", path);
        r = config_opt(config_get_str(aff, "initial", p, &proc->exec_cpu_affinity_initial));
        if (r > 0)
                r = config_check_cpu_list(proc->exec_cpu_affinity_initial, p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.execCPUAffinity.final", path);
        r = config_opt(config_get_str(aff, "final", p, &proc->exec_cpu_affinity_final));
        if (r > 0)
                r = config_check_cpu_list(proc->exec_cpu_affinity_final, p);
        return r < 0 ? r : 0;
}

static int parse_console_size(struct json_object *o, const char *path, struct oci_process *proc)
{
        struct json_object *box;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.consoleSize", path);
        r = config_opt(json_get_object(o, "consoleSize", p, &box));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.consoleSize.height", path);
        r = config_need(json_get_uint32(box, "height", p, &proc->console_height), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.consoleSize.width", path);
        r = config_need(json_get_uint32(box, "width", p, &proc->console_width), p);
        if (r < 0)
                return r;
        proc->has_console_size = true;
        return 0;
}

static int parse_args_env(struct json_object *o, const char *path, struct oci_process *proc)
{
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        /* config.md: args is OPTIONAL only on Windows; elsewhere at least one entry is REQUIRED. */
        snprintf(p, sizeof(p), "%s.args", path);
        r = config_need(config_get_strv(o, "args", p, &proc->args), p);
        if (r < 0)
                return r;
        if (!proc->args[0])
                return err_set(-EINVAL, "%s: must contain at least one element", p);
        if (!proc->args[0][0])
                return err_set(-EINVAL, "%s[0]: must not be empty", p);

        snprintf(p, sizeof(p), "%s.env", path);
        r = config_opt(config_get_strv(o, "env", p, &proc->env));
        if (r < 0)
                return r;
        for (size_t i = 0; proc->env && proc->env[i]; i++) {
                const char *e = proc->env[i];
                if (e[0] == '=' || !strchr(e, '='))
                        return err_set(-EINVAL, "%s[%zu]: expected KEY=value, got '%s'", p, i,
                                       config_quote(e, q));
        }
        return 0;
}

int config_process_parse(struct json_object *o, const char *path, struct oci_process **ret)
{
        _cleanup_process_ struct oci_process *proc = NULL;
        char p[CONFIG_PATH_MAX];
        int64_t oom;
        int r;

        proc = calloc(1, sizeof(*proc));
        if (!proc)
                return -ENOMEM;

        snprintf(p, sizeof(p), "%s.terminal", path);
        if ((r = config_opt(json_get_bool(o, "terminal", p, &proc->terminal))) < 0)
                return r;
        if ((r = parse_console_size(o, path, proc)) < 0)
                return r;
        if ((r = parse_user(o, path, &proc->user)) < 0)
                return r;
        if ((r = parse_args_env(o, path, proc)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.cwd", path);
        if ((r = config_need(config_get_abs_path(o, "cwd", p, &proc->cwd), p)) < 0)
                return r;
        if ((r = parse_capabilities(o, path, proc)) < 0)
                return r;
        if ((r = parse_rlimits(o, path, proc)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.noNewPrivileges", path);
        if ((r = config_opt(json_get_bool(o, "noNewPrivileges", p, &proc->no_new_privileges))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.apparmorProfile", path);
        if ((r = config_opt(config_get_str(o, "apparmorProfile", p, &proc->apparmor_profile))) < 0)
                return r;
        /* proc(5): oom_score_adj takes -1000 to 1000. */
        snprintf(p, sizeof(p), "%s.oomScoreAdj", path);
        if ((r = config_opt(config_get_int64_range(o, "oomScoreAdj", p, -1000, 1000, &oom))) < 0)
                return r;
        proc->has_oom_score_adj = r > 0;
        proc->oom_score_adj = r > 0 ? (int)oom : 0;
        snprintf(p, sizeof(p), "%s.selinuxLabel", path);
        if ((r = config_opt(config_get_str(o, "selinuxLabel", p, &proc->selinux_label))) < 0)
                return r;
        if ((r = parse_io_priority(o, path, proc)) < 0)
                return r;
        if ((r = parse_scheduler(o, path, proc)) < 0)
                return r;
        if ((r = parse_cpu_affinity(o, path, proc)) < 0)
                return r;
        *ret = TAKE_PTR(proc);
        return 0;
}
