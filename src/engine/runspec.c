/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runspec.c - run options: parsers for what users type, and the JSON form stored in
 * the workload row; see runspec.h.
 *
 * Syntax follows Docker's CLI reference (docker run, "Volumes", "--mount", "Restart
 * policies", "--ulimit", "--security-opt") so that commands copied from Docker or podman
 * documentation work unchanged. z/Z/U relabelling options are accepted and ignored: this
 * machine runs no SELinux.
 */
#include <json-c/json.h>

#include "error.h"
#include "json.h"
#include "runspec.h"
#include "util.h"

#define DEFAULT_CPU_PERIOD 100000

struct runspec *runspec_new(void)
{
        struct runspec *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->stop_timeout = -1;
        return s;
}

static void mount_done(struct runspec_mount *m)
{
        free(m->source);
        free(m->destination);
        free(m->propagation);
        free(m->options);
}

void runspec_free(struct runspec *s)
{
        if (!s)
                return;
        free(s->image);
        strv_free(s->command);
        strv_free(s->entrypoint);
        strv_free(s->env);
        free(s->workdir);
        free(s->user);
        free(s->hostname);
        free(s->seccomp_profile);
        strv_free(s->cap_add);
        strv_free(s->cap_drop);
        for (size_t i = 0; i < s->n_mounts; i++)
                mount_done(&s->mounts[i]);
        free(s->mounts);
        free(s->cpuset_cpus);
        strv_free(s->labels);
        strv_free(s->health.test);
        free(s->network);
        runspec_networks_done(s);
        free(s->isolation);
        free(s->stop_signal);
        for (size_t i = 0; i < s->n_ulimits; i++)
                free(s->ulimits[i].name);
        free(s->ulimits);
        strv_free(s->add_hosts);
        free(s);
}

static const char *const restart_names[_RESTART_POLICY_MAX] = {
        [RESTART_POLICY_NO] = "no",
        [RESTART_POLICY_ALWAYS] = "always",
        [RESTART_POLICY_UNLESS_STOPPED] = "unless-stopped",
        [RESTART_POLICY_ON_FAILURE] = "on-failure",
};

const char *restart_policy_to_string(enum restart_policy p)
{
        return p >= 0 && p < _RESTART_POLICY_MAX ? restart_names[p] : NULL;
}

int runspec_parse_restart(const char *s, enum restart_policy *ret, unsigned *ret_max)
{
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        unsigned max = 0;

        for (int i = 0; i < _RESTART_POLICY_MAX; i++) {
                if (strlen(restart_names[i]) != n || strncmp(s, restart_names[i], n) != 0)
                        continue;
                if (colon) {
                        if (i != RESTART_POLICY_ON_FAILURE)
                                return err_set(-EINVAL, "--restart: only on-failure takes a count, not '%s'",
                                               s);
                        if (parse_u32(colon + 1, &max) < 0)
                                return err_set(-EINVAL, "--restart: invalid count in '%s'", s);
                }
                *ret = (enum restart_policy)i;
                *ret_max = max;
                return 0;
        }
        return err_set(-EINVAL,
                       "--restart: unknown policy '%s' (no, always, unless-stopped, on-failure[:N])", s);
}

char *runspec_restart_string(const struct runspec *s)
{
        if (s->restart == RESTART_POLICY_ON_FAILURE && s->restart_max > 0)
                return strdup_printf("on-failure:%u", s->restart_max);
        return strdup(restart_policy_to_string(s->restart) ?: "no");
}

static bool env_name_valid(const char *s, size_t n)
{
        /* POSIX leaves names open; Docker only refuses empty names and '=' inside. */
        return n > 0 && !memchr(s, '\0', n);
}

int runspec_env_set(char ***env, const char *kv)
{
        size_t klen = strcspn(kv, "=");

        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, kv, klen) == 0 && (*e)[klen] == '=') {
                        char *c = strdup(kv);
                        if (!c)
                                return -ENOMEM;
                        free(*e);
                        *e = c;
                        return 0;
                }
        return strv_extend(env, kv);
}

int runspec_add_env(struct runspec *s, const char *arg)
{
        const char *eq = strchr(arg, '=');
        const char *v;
        _cleanup_free_ char *kv = NULL;

        if (!env_name_valid(arg, eq ? (size_t)(eq - arg) : strlen(arg)))
                return err_set(-EINVAL, "--env: invalid variable '%s': the name is empty", arg);
        if (eq)
                return runspec_env_set(&s->env, arg);
        v = getenv(arg);
        if (!v)
                return 0;
        kv = strdup_printf("%s=%s", arg, v);
        if (!kv)
                return -ENOMEM;
        return runspec_env_set(&s->env, kv);
}

int runspec_add_env_file(struct runspec *s, const char *content, size_t len, const char *path)
{
        const char *p = content, *end = content + len;
        unsigned lineno = 0;
        int r;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
                _cleanup_free_ char *line = NULL;
                char *l;
                size_t n;

                lineno++;
                if (memchr(p, 0, (size_t)(le - p)))
                        return err_set(-EINVAL, "--env-file: %s:%u: the line holds a NUL byte", path,
                                       lineno);
                line = strndup(p, (size_t)(le - p));
                if (!line)
                        return -ENOMEM;
                p = le + 1;
                /* Docker trims leading whitespace; a CR before the newline comes from DOS editors. */
                l = line;
                while (*l == ' ' || *l == '\t')
                        l++;
                n = strlen(l);
                if (n > 0 && l[n - 1] == '\r')
                        l[--n] = 0;
                if (n == 0 || l[0] == '#')
                        continue;
                if (l[0] == '=')
                        return err_set(-EINVAL, "--env-file: %s:%u: the variable name is empty", path,
                                       lineno);
                if (strchr(l, '=')) {
                        r = runspec_env_set(&s->env, l);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* A bare name takes its value from this environment, like -e NAME; trailing blanks go. */
                while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
                        l[--n] = 0;
                if (strpbrk(l, " \t"))
                        return err_set(-EINVAL, "--env-file: %s:%u: invalid variable name '%s'", path,
                                       lineno, l);
                r = runspec_add_env(s, l);
                if (r < 0)
                        return r;
        }
        return 0;
}

int runspec_labels_json(char **labels, char **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2)
                json_object_object_add(o, labels[i], json_object_new_string(labels[i + 1]));
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        return *ret ? 0 : -ENOMEM;
}

int runspec_add_label(struct runspec *s, const char *arg)
{
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *k = eq ? strndup(arg, (size_t)(eq - arg)) : strdup(arg);
        const char *v = eq ? eq + 1 : "";

        if (!k)
                return -ENOMEM;
        if (!*k)
                return err_set(-EINVAL, "--label: invalid label '%s': the key is empty", arg);
        for (size_t i = 0; s->labels && s->labels[i]; i += 2)
                if (streq(s->labels[i], k)) {
                        char *c = strdup(v);
                        if (!c)
                                return -ENOMEM;
                        free(s->labels[i + 1]);
                        s->labels[i + 1] = c;
                        return 0;
                }
        if (strv_push(&s->labels, TAKE_PTR(k)) < 0 || strv_extend(&s->labels, v) < 0)
                return -ENOMEM;
        return 0;
}

static bool is_propagation(const char *o)
{
        static const char *const l[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};
        for (size_t i = 0; i < ELEMENTSOF(l); i++)
                if (streq(o, l[i]))
                        return true;
        return false;
}

static int push_mount(struct runspec *s, struct runspec_mount *m)
{
        struct runspec_mount *n = realloc(s->mounts, (s->n_mounts + 1) * sizeof(*n));
        if (!n) {
                mount_done(m);
                return -ENOMEM;
        }
        s->mounts = n;
        s->mounts[s->n_mounts++] = *m;
        *m = (struct runspec_mount){};
        return 0;
}

/* Docker's rule for volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static bool volume_name_valid(const char *n)
{
        if (!n[0] ||
            !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= '0' && n[0] <= '9')))
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return strlen(n) <= 255;
}

static int check_destination(const char *flag, const char *d)
{
        if (!d || d[0] != '/')
                return err_set(-EINVAL, "%s: the destination must be an absolute path, not '%s'", flag,
                               strempty(d));
        if (streq(d, "/"))
                return err_set(-EINVAL, "%s: cannot mount over the container's root '/'", flag);
        return 0;
}

static int volume_options(struct runspec_mount *m, const char *opts, const char *arg)
{
        for (const char *o = opts; o && *o;) {
                size_t l = strcspn(o, ",");
                _cleanup_free_ char *w = strndup(o, l);

                if (!w)
                        return -ENOMEM;
                if (streq(w, "ro"))
                        m->readonly = true;
                else if (streq(w, "rw"))
                        m->readonly = false;
                else if (streq(w, "z") || streq(w, "Z") || streq(w, "U") || streq(w, "delegated") ||
                         streq(w, "cached") || streq(w, "consistent"))
                        ; /* SELinux relabelling, ownership and macOS hints: nothing to do here */
                else if (streq(w, "nocopy"))
                        m->nocopy = true;
                else if (is_propagation(w)) {
                        if (m->kind != MOUNT_BIND)
                                return err_set(-EINVAL,
                                               "--volume: '%s' applies to bind mounts only, in '%s'", w,
                                               arg);
                        free(m->propagation);
                        m->propagation = TAKE_PTR(w);
                } else
                        return err_set(-EINVAL, "--volume: unknown option '%s' in '%s'", w, arg);
                o += l;
                if (*o == ',')
                        o++;
        }
        return 0;
}

int runspec_add_volume(struct runspec *s, const char *arg)
{
        _cleanup_strv_free_ char **parts = NULL;
        struct runspec_mount m = {.kind = MOUNT_VOLUME};
        const char *opts = NULL, *p = arg;
        size_t n;
        int r;

        /* Split on ':' (paths with ':' cannot be given with -v; --mount takes them). */
        for (;;) {
                size_t l = strcspn(p, ":");
                if (strv_push(&parts, strndup(p, l)) < 0)
                        return -ENOMEM;
                if (!p[l])
                        break;
                p += l + 1;
        }
        n = strv_length(parts);
        if (n > 3 || !parts[0][0])
                return err_set(-EINVAL, "--volume: expected [SOURCE:]DESTINATION[:OPTIONS], got '%s'", arg);
        if (n == 1 || (n == 2 && parts[0][0] == '/' && parts[1][0] != '/')) {
                /* "/data" or "/data:ro": an anonymous volume. */
                m.anonymous = true;
                m.destination = strdup(parts[0]);
                opts = n == 2 ? parts[1] : NULL;
        } else {
                if (parts[0][0] == '.')
                        return err_set(-EINVAL, "--volume: the source must be an absolute path, not '%s'",
                                       parts[0]);
                if (parts[0][0] == '/')
                        m.kind = MOUNT_BIND;
                else if (!volume_name_valid(parts[0]))
                        return err_set(
                                -EINVAL,
                                "--volume: invalid volume name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-]* or an "
                                "absolute path",
                                parts[0]);
                m.source = strdup(parts[0]);
                m.destination = strdup(parts[1]);
                opts = n == 3 ? parts[2] : NULL;
                if (!m.source) {
                        mount_done(&m);
                        return -ENOMEM;
                }
        }
        if (!m.destination) {
                mount_done(&m);
                return -ENOMEM;
        }
        if ((r = check_destination("--volume", m.destination)) < 0 ||
            (r = volume_options(&m, opts, arg)) < 0) {
                mount_done(&m);
                return r;
        }
        return push_mount(s, &m);
}

static bool bool_word(const char *v, bool *ret)
{
        if (!v || streq(v, "true") || streq(v, "1")) {
                *ret = true;
                return true;
        }
        if (streq(v, "false") || streq(v, "0")) {
                *ret = false;
                return true;
        }
        return false;
}

/* Replace *dst with a copy of v (NULL allowed). */
static int set_str(char **dst, const char *v)
{
        char *c = NULL;
        if (v && !(c = strdup(v)))
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

int runspec_add_mount(struct runspec *s, const char *arg)
{
        struct runspec_mount m = {.kind = _MOUNT_KIND_INVALID};
        _cleanup_free_ char *tmpfs_opts = NULL;
        bool have_type = false;
        int r = 0;

        for (const char *o = arg; *o;) {
                size_t l = strcspn(o, ",");
                _cleanup_free_ char *w = strndup(o, l);
                char *v;

                if (!w) {
                        r = -ENOMEM;
                        goto fail;
                }
                v = strchr(w, '=');
                if (v)
                        *v++ = 0;
                if (streq(w, "type")) {
                        if (streq_ptr(v, "bind"))
                                m.kind = MOUNT_BIND;
                        else if (streq_ptr(v, "volume"))
                                m.kind = MOUNT_VOLUME;
                        else if (streq_ptr(v, "tmpfs"))
                                m.kind = MOUNT_TMPFS;
                        else {
                                r = err_set(-EINVAL, "--mount: unknown type '%s' (bind, volume or tmpfs)",
                                            strempty(v));
                                goto fail;
                        }
                        have_type = true;
                } else if (streq(w, "source") || streq(w, "src")) {
                        if ((r = set_str(&m.source, v)) < 0)
                                goto fail;
                } else if (streq(w, "target") || streq(w, "destination") || streq(w, "dst")) {
                        if ((r = set_str(&m.destination, v)) < 0)
                                goto fail;
                } else if (streq(w, "readonly") || streq(w, "ro")) {
                        if (!bool_word(v, &m.readonly)) {
                                r = err_set(-EINVAL, "--mount: readonly takes true or false, not '%s'", v);
                                goto fail;
                        }
                } else if (streq(w, "bind-propagation")) {
                        if (!v || !is_propagation(v)) {
                                r = err_set(-EINVAL, "--mount: unknown bind-propagation '%s'", strempty(v));
                                goto fail;
                        }
                        if ((r = set_str(&m.propagation, v)) < 0)
                                goto fail;
                } else if (streq(w, "volume-nocopy")) {
                        if (!bool_word(v, &m.nocopy)) {
                                r = err_set(-EINVAL, "--mount: volume-nocopy takes true or false, not '%s'",
                                            v);
                                goto fail;
                        }
                } else if (streq(w, "tmpfs-size") || streq(w, "tmpfs-mode")) {
                        uint64_t x;
                        unsigned mode;
                        char *t;
                        if (!v || (streq(w, "tmpfs-size") ? parse_size(v, &x) : parse_u32(v, &mode)) < 0) {
                                r = err_set(-EINVAL, "--mount: invalid %s '%s'", w, strempty(v));
                                goto fail;
                        }
                        if (streq(w, "tmpfs-mode")) {
                                /* Docker reads the mode as octal digits. */
                                char *end;
                                mode = (unsigned)strtoul(v, &end, 8);
                                if (*end || mode > 07777) {
                                        r = err_set(-EINVAL, "--mount: invalid tmpfs-mode '%s' (octal)", v);
                                        goto fail;
                                }
                        }
                        t = streq(w, "tmpfs-size")
                                    ? strdup_printf("%s%ssize=%llu", strempty(tmpfs_opts),
                                                    tmpfs_opts ? "," : "", (unsigned long long)x)
                                    : strdup_printf("%s%smode=%o", strempty(tmpfs_opts),
                                                    tmpfs_opts ? "," : "", mode);
                        if (!t) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        free(tmpfs_opts);
                        tmpfs_opts = t;
                } else if (streq(w, "consistency") || streq(w, "relabel") || streq(w, "bind-nonrecursive")) {
                        ; /* accepted for compatibility */
                } else {
                        r = err_set(-EINVAL, "--mount: unknown key '%s' in '%s'", w, arg);
                        goto fail;
                }
                o += l;
                if (*o == ',')
                        o++;
        }
        if (!have_type) {
                r = err_set(-EINVAL, "--mount: 'type=' is required in '%s'", arg);
                goto fail;
        }
        if ((r = check_destination("--mount", m.destination)) < 0)
                goto fail;
        switch (m.kind) {
        case MOUNT_BIND:
                if (!m.source || m.source[0] != '/') {
                        r = err_set(-EINVAL, "--mount: a bind mount needs an absolute source, in '%s'", arg);
                        goto fail;
                }
                break;
        case MOUNT_VOLUME:
                if (!m.source)
                        m.anonymous = true;
                else if (!volume_name_valid(m.source)) {
                        r = err_set(-EINVAL, "--mount: invalid volume name '%s'", m.source);
                        goto fail;
                }
                break;
        case MOUNT_TMPFS:
                if (m.source) {
                        r = err_set(-EINVAL, "--mount: a tmpfs has no source, in '%s'", arg);
                        goto fail;
                }
                m.options = TAKE_PTR(tmpfs_opts);
                break;
        default:
                break;
        }
        if (m.propagation && m.kind != MOUNT_BIND) {
                r = err_set(-EINVAL, "--mount: bind-propagation applies to bind mounts only, in '%s'", arg);
                goto fail;
        }
        return push_mount(s, &m);
fail:
        mount_done(&m);
        return r;
}

int runspec_add_tmpfs(struct runspec *s, const char *arg)
{
        const char *colon = strchr(arg, ':');
        struct runspec_mount m = {.kind = MOUNT_TMPFS};
        int r;

        m.destination = colon ? strndup(arg, (size_t)(colon - arg)) : strdup(arg);
        if (!m.destination)
                return -ENOMEM;
        if ((r = check_destination("--tmpfs", m.destination)) < 0) {
                mount_done(&m);
                return r;
        }
        if (colon && colon[1]) {
                /* Options go to the tmpfs mount as given (size=64m,mode=1777,noexec...); ro is ours. */
                for (const char *o = colon + 1; *o;) {
                        size_t l = strcspn(o, ",");
                        if (l == 2 && strncmp(o, "ro", 2) == 0)
                                m.readonly = true;
                        o += l;
                        if (*o == ',')
                                o++;
                }
                m.options = strdup(colon + 1);
                if (!m.options) {
                        mount_done(&m);
                        return -ENOMEM;
                }
        }
        return push_mount(s, &m);
}

static const char *const ulimit_names[] = {"core",     "cpu",        "data",   "fsize", "locks", "memlock",
                                           "msgqueue", "nice",       "nofile", "nproc", "rss",   "rtprio",
                                           "rttime",   "sigpending", "stack",  "as"};

int runspec_add_ulimit(struct runspec *s, const char *arg)
{
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *name = NULL, *soft = NULL;
        const char *hard;
        struct runspec_ulimit u = {}, *n;
        bool known = false;

        if (!eq)
                return err_set(-EINVAL, "--ulimit: expected NAME=SOFT[:HARD], got '%s'", arg);
        name = strndup(arg, (size_t)(eq - arg));
        if (!name)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(ulimit_names); i++)
                known = known || streq(name, ulimit_names[i]);
        if (!known)
                return err_set(-EINVAL, "--ulimit: unknown limit '%s'", name);
        hard = strchr(eq + 1, ':');
        soft = hard ? strndup(eq + 1, (size_t)(hard - eq - 1)) : strdup(eq + 1);
        if (!soft)
                return -ENOMEM;
        if (parse_u64(soft, &u.soft) < 0 || (hard && parse_u64(hard + 1, &u.hard) < 0))
                return err_set(-EINVAL, "--ulimit: invalid value in '%s'", arg);
        if (!hard)
                u.hard = u.soft;
        if (u.soft > u.hard)
                return err_set(-EINVAL, "--ulimit: the soft limit is above the hard limit in '%s'", arg);
        for (size_t i = 0; i < s->n_ulimits; i++)
                if (streq(s->ulimits[i].name, name)) {
                        s->ulimits[i].soft = u.soft;
                        s->ulimits[i].hard = u.hard;
                        return 0;
                }
        n = realloc(s->ulimits, (s->n_ulimits + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->ulimits = n;
        u.name = TAKE_PTR(name);
        s->ulimits[s->n_ulimits++] = u;
        return 0;
}

int runspec_set_cpus(struct runspec *s, const char *arg)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(arg, &end);
        if (errno || end == arg || *end || v <= 0 || v > 4096)
                return err_set(-EINVAL, "--cpus: expected a positive number of CPUs such as 1.5, not '%s'",
                               arg);
        s->cpu_period = DEFAULT_CPU_PERIOD;
        s->cpu_quota = (int64_t)(v * DEFAULT_CPU_PERIOD + 0.5);
        /* The kernel refuses quotas under 1 ms (kernel/sched/core.c, min_cfs_quota_period). */
        if (s->cpu_quota < 1000)
                return err_set(-EINVAL, "--cpus: '%s' is below the kernel's minimum of 0.01", arg);
        return 0;
}

int runspec_set_security_opt(struct runspec *s, const char *arg)
{
        const char *v;

        if ((v = startswith(arg, "seccomp=")) || (v = startswith(arg, "seccomp:"))) {
                if (streq(v, "unconfined")) {
                        s->seccomp_unconfined = true;
                        free(s->seccomp_profile);
                        s->seccomp_profile = NULL;
                        return 0;
                }
                if (!*v)
                        return err_set(-EINVAL,
                                       "--security-opt: seccomp= needs a profile file or 'unconfined'");
                {
                        _cleanup_free_ char *text = NULL;
                        int r = read_full_file(v, 4 << 20, &text, NULL);
                        if (r < 0)
                                return err_set(r, "--security-opt: cannot read the seccomp profile '%s': %s",
                                               v, strerror(-r));
                        free(s->seccomp_profile);
                        s->seccomp_profile = TAKE_PTR(text);
                        s->seccomp_unconfined = false;
                }
                return 0;
        }
        if (streq(arg, "no-new-privileges") || (v = startswith(arg, "no-new-privileges=")) ||
            (v = startswith(arg, "no-new-privileges:"))) {
                bool b = true;
                if (v && !bool_word(v, &b))
                        return err_set(-EINVAL,
                                       "--security-opt: no-new-privileges takes true or false, not '%s'", v);
                s->no_new_privileges = b;
                return 0;
        }
        /* No SELinux or AppArmor here: "disable"/"unconfined" are what the container gets anyway. */
        if (streq(arg, "label=disable") || streq(arg, "label:disable") ||
            streq(arg, "apparmor=unconfined") || streq(arg, "apparmor:unconfined"))
                return 0;
        if (startswith(arg, "label") || startswith(arg, "apparmor"))
                return err_set(-EINVAL,
                               "--security-opt: '%s' is not supported: this host has no SELinux or AppArmor",
                               arg);
        return err_set(-EINVAL,
                       "--security-opt: unknown option '%s' (seccomp=FILE|unconfined, no-new-privileges, "
                       "label=disable, apparmor=unconfined)",
                       arg);
}

int runspec_set_log_opt(struct runspec *s, const char *arg)
{
        const char *v;

        if ((v = startswith(arg, "max-size="))) {
                uint64_t x;
                if (parse_size(v, &x) < 0 || x < 4096)
                        return err_set(-EINVAL,
                                       "--log-opt: max-size must be a size of at least 4k, not '%s'", v);
                s->log_max_size = x;
                return 0;
        }
        if ((v = startswith(arg, "max-file="))) {
                unsigned n;
                if (parse_u32(v, &n) < 0 || n < 1 || n > 100)
                        return err_set(-EINVAL, "--log-opt: max-file must be between 1 and 100, not '%s'",
                                       v);
                s->log_max_files = n;
                return 0;
        }
        return err_set(-EINVAL, "--log-opt: unknown option '%s' (max-size=SIZE, max-file=N)", arg);
}

int runspec_parse_memory(const char *flag, const char *arg, bool allow_unlimited, int64_t *ret)
{
        _cleanup_free_ char *c = strdup(arg);
        uint64_t v;
        size_t n;

        if (!c)
                return -ENOMEM;
        if (allow_unlimited && streq(arg, "-1")) {
                *ret = -1;
                return 0;
        }
        /* Docker also takes a trailing 'b' ("512mb", "100b"). */
        n = strlen(c);
        if (n > 1 && (c[n - 1] == 'b' || c[n - 1] == 'B'))
                c[--n] = 0;
        if (parse_size(c, &v) < 0 || v == 0 || v > INT64_MAX)
                return err_set(-EINVAL, "%s: invalid size '%s' (e.g. 512m, 1g)", flag, arg);
        *ret = (int64_t)v;
        return 0;
}

int runspec_parse_duration(const char *flag, const char *arg, int64_t *ret_ns)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
                     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
        const char *p = arg;
        double total = 0;

        if (streq(arg, "0")) {
                *ret_ns = 0;
                return 0;
        }
        if (!*p)
                goto bad;
        while (*p) {
                char *end;
                double v;
                size_t best = 0;
                double mult = 0;

                errno = 0;
                v = strtod(p, &end);
                if (errno || end == p || v < 0 || *p == '+' || *p == '-')
                        goto bad;
                p = end;
                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t l = strlen(units[i].unit);
                        /* Longest match: "ms" before "m". */
                        if (strncmp(p, units[i].unit, l) == 0 && l > best) {
                                best = l;
                                mult = units[i].ns;
                        }
                }
                if (!best)
                        goto bad;
                p += best;
                total += v * mult;
        }
        if (total > 9e18)
                goto bad;
        *ret_ns = (int64_t)total;
        return 0;
bad:
        return err_set(-EINVAL, "%s: invalid duration '%s' (e.g. 30s, 1m30s, 500ms)", flag, arg);
}

int runspec_check_name(const char *n)
{
        if (!n[0] || strlen(n) > 128)
                return err_set(-EINVAL, "--name: '%s' must have 1 to 128 characters", n);
        if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= '0' && n[0] <= '9')))
                return err_set(-EINVAL, "--name: invalid name '%s': it must start with a letter or a digit",
                               n);
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '.' || *p == '-'))
                        return err_set(-EINVAL, "--name: invalid name '%s': only [a-zA-Z0-9_.-] are allowed",
                                       n);
        return 0;
}

bool runspec_vm_isolated(const struct runspec *s)
{
        return s->isolation && streq(s->isolation, "vm");
}

int runspec_validate(const struct runspec *s)
{
        int r;

        for (size_t i = 0; i < s->n_mounts; i++)
                for (size_t j = i + 1; j < s->n_mounts; j++)
                        if (streq(s->mounts[i].destination, s->mounts[j].destination))
                                return err_set(-EINVAL, "duplicate mount destination '%s'",
                                               s->mounts[i].destination);
        if (s->memory_swap > 0 && s->memory > 0 && s->memory_swap < s->memory)
                return err_set(-EINVAL,
                               "--memory-swap: must be at least --memory (it counts memory plus swap)");
        if (s->memory_swap > 0 && s->memory == 0)
                return err_set(-EINVAL, "--memory-swap: needs --memory");
        if (s->memory_reservation > 0 && s->memory > 0 && s->memory_reservation > s->memory)
                return err_set(-EINVAL, "--memory-reservation: must not be above --memory");
        if ((r = runspec_validate_network(s)) < 0)
                return r;
        if (s->isolation && !streq(s->isolation, "container") && !streq(s->isolation, "vm"))
                return err_set(-EINVAL, "--isolation: unknown isolation '%s' (container, vm)", s->isolation);
        /*
         * A VM-isolated container's guest takes over the interfaces of its network namespace
         * (docs/agent.md, "Networks"): the host's interfaces or another container's cannot be taken.
         */
        if (runspec_vm_isolated(s) && s->network &&
            (streq(s->network, "host") || startswith(s->network, "container:")))
                return err_set(-EINVAL, "--isolation vm: a VM cannot take --network '%s' (a network can)",
                               s->network);
        if (s->hostname && s->network && streq(s->network, "host"))
                return err_set(-EINVAL,
                               "--hostname: cannot be set with --network host (the host's UTS is shared)");
        return 0;
}
