/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-tool.c - test helper: apply capabilities and a seccomp filter the way hull-runtime's
 * container process does, then exec a command. Built by meson, not installed.
 *
 *   seccomp-tool [OPTIONS] [--] COMMAND [ARG...]
 *     -d ACTION     default action: allow, log, kill, kill_thread, kill_process, trap,
 *                   errno[=N], trace[=N], notify
 *     -r RULE       ACTION:NAME[,NAME...][:INDEX,OP,VALUE[,VALUE2]]...
 *                   OP: ne lt le eq ge gt masked_eq (VALUE = mask, VALUE2 = datum)
 *     -a ARCH       add an architecture (SCMP_ARCH_X86, ...)
 *     -f FLAG       add a filter flag (SECCOMP_FILTER_FLAG_LOG, ...)
 *     -P FILE       read the profile from FILE: an OCI linux.seccomp object, or a
 *                   containers-common/Docker seccomp.json (archMap, includes/excludes,
 *                   evaluated for this machine and podman's default capabilities)
 *     -l PATH       listenerPath; -m TEXT listenerMetadata
 *     -C DIR        seccomp cache directory
 *     -B CAPS       bounding set: comma-separated CAP_ names ("" = empty)
 *     -c CAPS       effective = permitted = inheritable = CAPS
 *     -A CAPS       ambient set
 *     -u UID:GID    switch to UID:GID (keeping capabilities) before setting them
 *     -N            unshare the network namespace first
 *     -S            no seccomp filter (capabilities only)
 *   seccomp-tool bench FILE ROUNDS CACHE_DIR
 *     time seccomp_prepare() of FILE without cache, with a cold and with a warm cache,
 *     alternating, and print the medians.
 *
 * Order in the child, as in the runtime: drop the bounding set, setresgid/setresuid with
 * PR_SET_KEEPCAPS, caps_set(), no_new_privs, seccomp_prog_load(), hand the listener over
 * with write(2) (the parent takes it with pidfd_getfd(2) and sends it to listenerPath),
 * execvp(). Exit status: the command's, 128+N when killed by signal N, 125 on a tool error.
 */
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "error.h"
#include "json.h"
#include "seccomp.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static _noreturn_ void die(int r, const char *what)
{
        fprintf(stderr, "seccomp-tool: %s: %s\n", what, err_msg(r));
        exit(125);
}

/* ------------------------------------------------------ profile building */

struct profile {
        struct oci_seccomp s;
        size_t alloc;
};

static struct oci_seccomp_rule *new_rule(struct profile *p)
{
        if (p->s.n_syscalls == p->alloc) {
                size_t n = p->alloc ? p->alloc * 2 : 16;
                struct oci_seccomp_rule *r = realloc(p->s.syscalls, n * sizeof(*r));
                if (!r)
                        die(-ENOMEM, "profile");
                p->s.syscalls = r;
                p->alloc = n;
        }
        memset(&p->s.syscalls[p->s.n_syscalls], 0, sizeof(struct oci_seccomp_rule));
        return &p->s.syscalls[p->s.n_syscalls++];
}

static const struct {
        const char *spec, *short_name;
        enum seccomp_action_kind kind;
} action_table[] = {
        {"SCMP_ACT_KILL", "kill", SECCOMP_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_THREAD", "kill_thread", SECCOMP_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_PROCESS", "kill_process", SECCOMP_ACT_KILL_PROCESS},
        {"SCMP_ACT_TRAP", "trap", SECCOMP_ACT_TRAP},
        {"SCMP_ACT_ERRNO", "errno", SECCOMP_ACT_ERRNO},
        {"SCMP_ACT_TRACE", "trace", SECCOMP_ACT_TRACE},
        {"SCMP_ACT_ALLOW", "allow", SECCOMP_ACT_ALLOW},
        {"SCMP_ACT_LOG", "log", SECCOMP_ACT_LOG},
        {"SCMP_ACT_NOTIFY", "notify", SECCOMP_ACT_NOTIFY},
};

static const struct {
        const char *spec, *short_name;
        enum seccomp_arg_op op;
} op_table[] = {
        {"SCMP_CMP_NE", "ne", SECCOMP_OP_NE},
        {"SCMP_CMP_LT", "lt", SECCOMP_OP_LT},
        {"SCMP_CMP_LE", "le", SECCOMP_OP_LE},
        {"SCMP_CMP_EQ", "eq", SECCOMP_OP_EQ},
        {"SCMP_CMP_GE", "ge", SECCOMP_OP_GE},
        {"SCMP_CMP_GT", "gt", SECCOMP_OP_GT},
        {"SCMP_CMP_MASKED_EQ", "masked_eq", SECCOMP_OP_MASKED_EQ},
};

static enum seccomp_action_kind action_lookup(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(action_table); i++)
                if (streq(s, action_table[i].spec) || streq(s, action_table[i].short_name))
                        return action_table[i].kind;
        return _SECCOMP_ACT_INVALID;
}

static enum seccomp_arg_op op_lookup(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(op_table); i++)
                if (streq(s, op_table[i].spec) || streq(s, op_table[i].short_name))
                        return op_table[i].op;
        return _SECCOMP_OP_INVALID;
}

/* "errno=13" -> ERRNO with errnoRet 13. */
static void parse_action(const char *s, enum seccomp_action_kind *kind, bool *has_errno, uint32_t *errno_ret)
{
        _cleanup_free_ char *name = strndup(s, strcspn(s, "="));
        const char *eq = strchr(s, '=');

        if (!name)
                die(-ENOMEM, "action");
        *kind = action_lookup(name);
        if (*kind < 0)
                die(err_set(-EINVAL, "unknown action '%s'", s), "-d/-r");
        *has_errno = eq != NULL;
        if (eq && parse_u32(eq + 1, errno_ret) < 0)
                die(err_set(-EINVAL, "bad errno in '%s'", s), "-d/-r");
}

static char **split(const char *s, const char *sep)
{
        _cleanup_free_ char *copy = strdup(s);
        char **l = calloc(1, sizeof(char *)), *save = NULL;

        if (!copy || !l)
                die(-ENOMEM, "split");
        for (char *t = strtok_r(copy, sep, &save); t; t = strtok_r(NULL, sep, &save))
                if (strv_extend(&l, t) < 0)
                        die(-ENOMEM, "split");
        return l;
}

/* ACTION:NAME[,NAME...][:INDEX,OP,VALUE[,VALUE2]]... */
static void parse_rule(struct profile *p, const char *arg)
{
        _cleanup_strv_free_ char **parts = split(arg, ":");
        struct oci_seccomp_rule *r;
        size_t n = strv_length(parts);

        if (n < 2)
                die(err_set(-EINVAL, "rule '%s': expected ACTION:NAMES[:COND]...", arg), "-r");
        r = new_rule(p);
        parse_action(parts[0], &r->action, &r->has_errno_ret, &r->errno_ret);
        r->names = split(parts[1], ",");
        r->n_args = n - 2;
        r->args = calloc(r->n_args + 1, sizeof(*r->args));
        if (!r->args)
                die(-ENOMEM, "rule");
        for (size_t i = 2; i < n; i++) {
                _cleanup_strv_free_ char **c = split(parts[i], ",");
                struct oci_seccomp_arg *a = &r->args[i - 2];

                if (strv_length(c) < 3 || strv_length(c) > 4 || parse_u32(c[0], &a->index) < 0 ||
                    (a->op = op_lookup(c[1])) < 0 || parse_u64(c[2], &a->value) < 0 ||
                    (c[3] && parse_u64(c[3], &a->value_two) < 0))
                        die(err_set(-EINVAL, "rule '%s': bad condition '%s'", arg, parts[i]), "-r");
        }
}

/* ------------------------------------------------------- profile files */

static bool have_cap(const char *name)
{
        /* podman's default_capabilities (containers.conf). */
        static const char *const defaults[] = {
                "CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
                "CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
                "CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT",
        };
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                if (streq(defaults[i], name))
                        return true;
        return false;
}

static bool kernel_at_least(const char *version)
{
        struct utsname u;
        unsigned a = 0, b = 0, x = 0, y = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) < 1 || sscanf(version, "%u.%u", &x, &y) < 1)
                return false;
        return a > x || (a == x && b >= y);
}

/* Docker-format "includes"/"excludes" for this machine (Go's arch name "amd64"). */
static bool rule_applies(struct json_object *rule)
{
        struct json_object *inc, *exc, *v;

        if (json_object_object_get_ex(rule, "includes", &inc)) {
                if (json_object_object_get_ex(inc, "caps", &v))
                        for (size_t i = 0; i < json_object_array_length(v); i++)
                                if (!have_cap(json_object_get_string(json_object_array_get_idx(v, i))))
                                        return false;
                if (json_object_object_get_ex(inc, "arches", &v) && json_object_array_length(v) > 0) {
                        bool found = false;
                        for (size_t i = 0; i < json_object_array_length(v); i++)
                                found = found ||
                                        streq(json_object_get_string(json_object_array_get_idx(v, i)),
                                              "amd64");
                        if (!found)
                                return false;
                }
                if (json_object_object_get_ex(inc, "minKernel", &v) &&
                    !kernel_at_least(json_object_get_string(v)))
                        return false;
        }
        if (json_object_object_get_ex(rule, "excludes", &exc)) {
                if (json_object_object_get_ex(exc, "caps", &v))
                        for (size_t i = 0; i < json_object_array_length(v); i++)
                                if (have_cap(json_object_get_string(json_object_array_get_idx(v, i))))
                                        return false;
                if (json_object_object_get_ex(exc, "arches", &v))
                        for (size_t i = 0; i < json_object_array_length(v); i++)
                                if (streq(json_object_get_string(json_object_array_get_idx(v, i)), "amd64"))
                                        return false;
        }
        return true;
}

static void load_rule(struct profile *p, struct json_object *jr)
{
        struct oci_seccomp_rule *r;
        struct json_object *args;
        const char *s;

        if (!rule_applies(jr))
                return;
        r = new_rule(p);
        if (json_get_strv(jr, "names", "names", &r->names) < 0) {
                if (json_get_string(jr, "name", "name", &s) < 0)
                        die(-EINVAL, "profile rule without names");
                r->names = split(s, ",");
        }
        if (json_get_string(jr, "action", "action", &s) < 0 || (r->action = action_lookup(s)) < 0)
                die(-EINVAL, "profile rule action");
        r->has_errno_ret = json_get_uint32(jr, "errnoRet", "errnoRet", &r->errno_ret) >= 0;
        if (json_get_array(jr, "args", "args", &args) < 0 || json_object_array_length(args) == 0)
                return;
        r->n_args = json_object_array_length(args);
        r->args = calloc(r->n_args, sizeof(*r->args));
        if (!r->args)
                die(-ENOMEM, "profile");
        for (size_t i = 0; i < r->n_args; i++) {
                struct json_object *a = json_object_array_get_idx(args, i);
                struct oci_seccomp_arg *c = &r->args[i];

                if (json_get_uint32(a, "index", "index", &c->index) < 0 ||
                    json_get_uint64(a, "value", "value", &c->value) < 0 ||
                    json_get_string(a, "op", "op", &s) < 0 || (c->op = op_lookup(s)) < 0)
                        die(-EINVAL, "profile rule args");
                if (json_get_uint64(a, "valueTwo", "valueTwo", &c->value_two) == -EINVAL)
                        die(-EINVAL, "profile rule args");
        }
}

static void load_profile(struct profile *p, const char *path)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *v;
        const char *s;
        int r = json_parse_file(path, 1 << 24, &o);

        if (r < 0)
                die(r, path);
        if (json_get_string(o, "defaultAction", "defaultAction", &s) < 0 ||
            (p->s.default_action = action_lookup(s)) < 0)
                die(-EINVAL, "profile defaultAction");
        p->s.has_default_errno_ret =
                json_get_uint32(o, "defaultErrnoRet", "defaultErrnoRet", &p->s.default_errno_ret) >= 0;
        if (json_get_array(o, "archMap", "archMap", &v) >= 0) {
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        struct json_object *m = json_object_array_get_idx(v, i);
                        if (json_get_string(m, "architecture", "architecture", &s) < 0 ||
                            !streq(s, "SCMP_ARCH_X86_64"))
                                continue;
                        if (strv_extend(&p->s.architectures, s) < 0)
                                die(-ENOMEM, "profile");
                        _cleanup_strv_free_ char **sub = NULL;
                        (void)json_get_strv(m, "subArchitectures", "subArchitectures", &sub);
                        STRV_FOREACH (a, sub)
                                if (strv_extend(&p->s.architectures, *a) < 0)
                                        die(-ENOMEM, "profile");
                }
        } else
                (void)json_get_strv(o, "architectures", "architectures", &p->s.architectures);
        (void)json_get_strv(o, "flags", "flags", &p->s.flags);
        if (json_get_array(o, "syscalls", "syscalls", &v) >= 0)
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        load_rule(p, json_object_array_get_idx(v, i));
}

static void profile_done(struct profile *p)
{
        for (size_t i = 0; i < p->s.n_syscalls; i++) {
                strv_free(p->s.syscalls[i].names);
                free(p->s.syscalls[i].args);
        }
        free(p->s.syscalls);
        strv_free(p->s.architectures);
        strv_free(p->s.flags);
}

/* ---------------------------------------------------------------- bench */

static double now_msf(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
        qsort(v, n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double timed_prepare(const struct oci_seccomp *s, const char *cache_dir, size_t *n_insns)
{
        struct seccomp_prog *prog = NULL;
        double t0 = now_msf(), t;
        int r = seccomp_prepare(s, cache_dir, &prog);

        t = now_msf() - t0;
        if (r < 0)
                die(r, "seccomp_prepare");
        *n_insns = prog->n_insns;
        seccomp_prog_free(prog);
        return t;
}

#define SYSCALL_LOOPS 200000

/*
 * Nanoseconds per syscall(nr, a0, a1, a2) in a fresh child that first loads prog (NULL: no
 * filter); a filter cannot be removed, hence one child per measurement.
 */
static double syscall_ns(const struct seccomp_prog *prog, long nr, long a0, long a1, long a2)
{
        int fds[2], listener;
        double ns = -1;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                die(negative_errno(), "pipe2");
        pid = fork();
        if (pid < 0)
                die(negative_errno(), "fork");
        if (pid == 0) {
                double t0;

                if (prog &&
                    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_prog_load(prog, &listener) < 0))
                        _exit(1);
                for (int i = 0; i < SYSCALL_LOOPS / 10; i++)
                        syscall(nr, a0, a1, a2);
                t0 = now_msf();
                for (int i = 0; i < SYSCALL_LOOPS; i++)
                        syscall(nr, a0, a1, a2);
                ns = (now_msf() - t0) * 1e6 / SYSCALL_LOOPS;
                _exit(write(fds[1], &ns, sizeof(ns)) == sizeof(ns) ? 0 : 1);
        }
        safe_close(fds[1]);
        if (read(fds[0], &ns, sizeof(ns)) != sizeof(ns))
                die(-EIO, "syscall timing child");
        safe_close(fds[0]);
        (void)waitpid(pid, NULL, 0);
        return ns;
}

static int bench(const char *file, const char *rounds_s, const char *cache_dir)
{
        struct profile p = {};
        char key[SHA256_HEX_LEN + 1];
        _cleanup_free_ char *cache_file = NULL;
        _cleanup_free_ double *none = NULL, *cold = NULL, *warm = NULL;
        size_t names = 0, n_insns = 0;
        unsigned rounds;
        int r;

        if (parse_u32(rounds_s, &rounds) < 0 || rounds == 0)
                die(-EINVAL, "rounds");
        load_profile(&p, file);
        for (size_t i = 0; i < p.s.n_syscalls; i++)
                names += strv_length(p.s.syscalls[i].names);
        r = seccomp_cache_key(&p.s, key);
        if (r < 0)
                die(r, "cache key");
        cache_file = strdup_printf("%s/%s.bpf", cache_dir, key);
        none = calloc(rounds, sizeof(double));
        cold = calloc(rounds, sizeof(double));
        warm = calloc(rounds, sizeof(double));
        if (!cache_file || !none || !cold || !warm)
                die(-ENOMEM, "bench");
        /* Warm-up (libseccomp's API level probe, page cache), then A/B/C alternated. */
        timed_prepare(&p.s, NULL, &n_insns);
        for (unsigned i = 0; i < rounds; i++) {
                none[i] = timed_prepare(&p.s, NULL, &n_insns);
                (void)unlink(cache_file);
                cold[i] = timed_prepare(&p.s, cache_dir, &n_insns);
                warm[i] = timed_prepare(&p.s, cache_dir, &n_insns);
        }
        (void)unlink(cache_file);
        printf("{\"rules\": %zu, \"names\": %zu, \"insns\": %zu, \"rounds\": %u, \"no_cache_ms\": %.3f, "
               "\"cold_cache_ms\": %.3f, \"warm_cache_ms\": %.3f",
               p.s.n_syscalls, names, n_insns, rounds, median(none, rounds), median(cold, rounds),
               median(warm, rounds));

        /*
         * What the filter costs each syscall, no filter and filter alternated: getppid() is allowed
         * whatever its arguments, socket(-1, 0, 0) goes through argument checks in Docker-format
         * profiles (AF_NETLINK/NETLINK_AUDIT) and fails with EAFNOSUPPORT.
         */
        static const struct {
                const char *name;
                long nr, a0, a1, a2;
        } calls[] = {{"getppid", SYS_getppid, 0, 0, 0}, {"socket", SYS_socket, -1, 0, 0}};
        _cleanup_seccomp_prog_ struct seccomp_prog *prog = NULL;
        unsigned reps = rounds < 21 ? rounds : 21;

        r = seccomp_prepare(&p.s, NULL, &prog);
        if (r < 0)
                die(r, "seccomp_prepare");
        for (size_t c = 0; c < ELEMENTSOF(calls); c++) {
                for (unsigned i = 0; i < reps; i++) {
                        none[i] = syscall_ns(NULL, calls[c].nr, calls[c].a0, calls[c].a1, calls[c].a2);
                        warm[i] = syscall_ns(prog, calls[c].nr, calls[c].a0, calls[c].a1, calls[c].a2);
                }
                printf(", \"%s_ns_no_filter\": %.0f, \"%s_ns_filter\": %.0f", calls[c].name,
                       median(none, reps), calls[c].name, median(warm, reps));
        }
        printf("}\n");
        profile_done(&p);
        return 0;
}

/* ------------------------------------------------------------------ run */

struct options {
        struct profile p;
        bool seccomp, unshare_net, set_caps, set_bounding;
        struct oci_capabilities caps;
        uint64_t bounding;
        bool switch_user;
        uid_t uid;
        gid_t gid;
        const char *cache_dir;
};

static uint64_t parse_caps(const char *s)
{
        _cleanup_strv_free_ char **l = split(s, ",");
        uint64_t m = 0;

        STRV_FOREACH (n, l) {
                int c = cap_from_name_strict(*n);
                if (c < 0)
                        die(err_set(-EINVAL, "unknown capability '%s'", *n), "caps");
                m |= UINT64_C(1) << c;
        }
        return m;
}

/* The container process: everything after fork, in the runtime's order. */
static _noreturn_ void child(struct options *o, const struct seccomp_prog *prog, int fd_out, int ack_in,
                             char **argv)
{
        int listener = -EBADF, r;
        char c;

        if (o->set_bounding && (r = caps_drop_bounding(o->bounding)) < 0)
                die(r, "caps_drop_bounding");
        if (o->switch_user) {
                if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
                    setresgid(o->gid, o->gid, o->gid) < 0 || setresuid(o->uid, o->uid, o->uid) < 0)
                        die(negative_errno(), "switching user");
                if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                        die(negative_errno(), "PR_SET_KEEPCAPS");
        }
        if (o->set_caps && (r = caps_set(&o->caps)) < 0)
                die(r, "caps_set");
        if (prog) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        die(negative_errno(), "PR_SET_NO_NEW_PRIVS");
                r = seccomp_prog_load(prog, &listener);
                if (r < 0)
                        _exit(125); /* stdio may be filtered now: no message */
                if (listener >= 0) {
                        /* The hand-over: only write(2) here, then wait for the parent's ack. */
                        if (write(fd_out, &listener, sizeof(listener)) != sizeof(listener) ||
                            read(ack_in, &c, 1) != 1)
                                _exit(125);
                }
        }
        execvp(argv[0], argv);
        _exit(errno == ENOENT ? 127 : 126);
}

/* Take the listener from the child and send it to listenerPath; -errno on failure. */
static int send_listener(struct options *o, pid_t pid, int fd_in)
{
        _cleanup_close_ int pidfd = -EBADF, fd = -EBADF;
        _cleanup_json_ struct json_object *state = json_object_new_object();
        _cleanup_free_ char *doc = NULL;
        int remote, r;

        if (read(fd_in, &remote, sizeof(remote)) != sizeof(remote))
                return err_set(-EIO, "reading the listener fd number");
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return err_set(negative_errno(), "pidfd_open: %m");
        fd = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
        if (fd < 0)
                return err_set(negative_errno(), "pidfd_getfd: %m");
        if (!state || json_object_object_add(state, "ociVersion", json_object_new_string("1.2.0")) < 0 ||
            json_object_object_add(state, "id", json_object_new_string("seccomp-tool")) < 0 ||
            json_object_object_add(state, "status", json_object_new_string("creating")) < 0 ||
            json_object_object_add(state, "pid", json_object_new_int(pid)) < 0 ||
            json_object_object_add(state, "bundle", json_object_new_string("/")) < 0)
                return -ENOMEM;
        r = seccomp_listener_state("1.2.0", pid, o->p.s.listener_metadata, state, &doc);
        if (r < 0)
                return r;
        return seccomp_send_listener(o->p.s.listener_path, doc, fd);
}

static int run(struct options *o, char **argv)
{
        _cleanup_seccomp_prog_ struct seccomp_prog *prog = NULL;
        int to_parent[2], to_child[2], status, r;
        pid_t pid;

        if (o->seccomp) {
                r = seccomp_prepare(&o->p.s, o->cache_dir, &prog);
                if (r < 0)
                        die(r, "seccomp_prepare");
        }
        if (o->unshare_net && unshare(CLONE_NEWNET) < 0)
                die(negative_errno(), "unshare(CLONE_NEWNET)");
        if (pipe2(to_parent, O_CLOEXEC) < 0 || pipe2(to_child, O_CLOEXEC) < 0)
                die(negative_errno(), "pipe2");
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                die(negative_errno(), "fork");
        if (pid == 0) {
                /* Our ends only: the child must see EOF on the ack pipe if the parent dies. */
                safe_close(to_parent[0]);
                safe_close(to_child[1]);
                child(o, prog, to_parent[1], to_child[0], argv);
        }
        safe_close(to_parent[1]);
        safe_close(to_child[0]);
        if (prog && prog->needs_listener) {
                r = send_listener(o, pid, to_parent[0]);
                if (r >= 0 && write(to_child[1], "", 1) != 1)
                        r = negative_errno();
                if (r < 0) {
                        /* Spec: "If sending to this socket fails, the runtime MUST generate an error." */
                        (void)kill(pid, SIGKILL);
                        (void)waitpid(pid, NULL, 0);
                        die(r, "seccomp_send_listener");
                }
        }
        safe_close(to_parent[0]);
        safe_close(to_child[1]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        die(negative_errno(), "waitpid");
        profile_done(&o->p);
        if (WIFSIGNALED(status)) {
                fprintf(stderr, "seccomp-tool: killed by signal %d\n", WTERMSIG(status));
                return 128 + WTERMSIG(status);
        }
        return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
        struct options o = {.seccomp = true};
        int c;

        if (argc == 5 && streq(argv[1], "bench"))
                return bench(argv[2], argv[3], argv[4]);

        o.p.s.default_action = SECCOMP_ACT_ALLOW;
        while ((c = getopt(argc, argv, "+d:r:a:f:P:l:m:C:B:c:A:u:NS")) >= 0) {
                switch (c) {
                case 'd':
                        parse_action(optarg, &o.p.s.default_action, &o.p.s.has_default_errno_ret,
                                     &o.p.s.default_errno_ret);
                        break;
                case 'r':
                        parse_rule(&o.p, optarg);
                        break;
                case 'a':
                case 'f':
                        if (strv_extend(c == 'a' ? &o.p.s.architectures : &o.p.s.flags, optarg) < 0)
                                die(-ENOMEM, "options");
                        break;
                case 'P':
                        load_profile(&o.p, optarg);
                        break;
                case 'l':
                        o.p.s.listener_path = optarg;
                        break;
                case 'm':
                        o.p.s.listener_metadata = optarg;
                        break;
                case 'C':
                        o.cache_dir = optarg;
                        break;
                case 'B':
                        o.set_bounding = true;
                        o.bounding = parse_caps(optarg);
                        break;
                case 'c':
                        o.set_caps = true;
                        o.caps.effective = o.caps.permitted = o.caps.inheritable = parse_caps(optarg);
                        break;
                case 'A':
                        o.set_caps = true;
                        o.caps.ambient = parse_caps(optarg);
                        break;
                case 'u':
                        if (sscanf(optarg, "%u:%u", &o.uid, &o.gid) != 2)
                                die(-EINVAL, "-u UID:GID");
                        o.switch_user = true;
                        break;
                case 'N':
                        o.unshare_net = true;
                        break;
                case 'S':
                        o.seccomp = false;
                        break;
                default:
                        return 125;
                }
        }
        if (optind >= argc) {
                fprintf(stderr,
                        "usage: seccomp-tool [OPTIONS] [--] COMMAND [ARG...] | bench FILE ROUNDS DIR\n");
                return 125;
        }
        if (o.set_caps) {
                int r;
                o.caps.bounding = o.set_bounding ? o.bounding : UINT64_MAX;
                r = caps_validate(&o.caps);
                if (r < 0)
                        die(r, "capabilities");
        }
        return run(&o, argv + optind);
}
