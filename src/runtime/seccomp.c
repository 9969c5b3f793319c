/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.c - linux.seccomp compiled by libseccomp, cached on disk, loaded with seccomp(2).
 *
 * Implements runtime-spec config-linux.md "Seccomp" (and its "The Container Process
 * State" for listenerPath) and features-linux.md "seccomp".
 *
 * Compile (runtime process, before clone): seccomp_init(defaultAction), the listed
 * architectures added to the native one (as runc does: the native one always stays),
 * one libseccomp rule per (syscall name, rule) with seccomp_rule_add_array(), then
 * seccomp_export_bpf() into a memfd that we read back as struct sock_filter[]. libseccomp
 * 2.5 (Debian 12) has no in-memory export; seccomp_export_bpf_mem() came in 2.6.
 * Deviations from libseccomp's own defaults, all forced by the spec or by peers:
 *   - An unknown syscall name is skipped (debug log): one profile serves many kernels
 *     and libseccomp versions, as with runc and crun.
 *   - A rule whose action equals the default action is skipped: libseccomp refuses it
 *     with EACCES, and it would not change the filter.
 *   - Several conditions on the same argument are split into one rule per condition
 *     (OR), which is what runc does and what Docker-format profiles rely on; libseccomp
 *     rejects two comparisons of one argument in a rule with EINVAL.
 *   - SCMP_CMP_MASKED_EQ: "value" is the mask and "valueTwo" the datum, which is
 *     libseccomp's (datum_a, datum_b) order.
 *   - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE; on any other
 *     action it is an error (spec: "the runtime MUST print and error and fail").
 *   - SCMP_ACT_NOTIFY is refused as the default action and on the syscalls that hand the
 *     listener over (runc refuses write(2); hull-runtime's sync socket uses sendmsg(2)):
 *     the container process passes the fd to its parent after the filter is loaded, and
 *     a notifying hand-over would wait for an agent that has no fd yet.
 *   - SCMP_FLTATR_CTL_NNP is 0: the runtime sets no_new_privs itself, when
 *     process.noNewPrivileges asks for it, and libseccomp's loader is not used anyway.
 *   - SCMP_FLTATR_CTL_OPTIMIZE 2 (binary tree of syscall numbers): since Linux 5.11 the
 *     kernel skips the filter for syscalls it allows whatever the arguments, but every
 *     other one (argument checks such as Docker's socket rules, refused calls) runs it;
 *     with Docker's ~400-name list the linear layout costs up to ~400 compares there, the
 *     tree about 10. The tree compiles ~40% slower, paid once with the cache.
 *
 * Cache: the key is a canonical serialization of every field that shapes the BPF
 * (default action and errno, architectures, rules in order) plus the libseccomp version,
 * the native architecture and libseccomp's kernel API level. flags, listenerPath and
 * listenerMetadata do not change the program and are left out. The file
 * <cache_dir>/<name>.bpf is named by a 64-bit FNV-1a hash of the key, and holds a header
 * (magic, key length, instruction count, checksum), the whole key, then the instructions.
 * A hit needs the stored key to equal ours byte for byte, so a hash collision, whether by
 * chance or crafted by whoever writes configs, only costs a miss: no cryptographic hash is
 * needed, and hull-runtime does not load libcrypto at start-up (about a millisecond and
 * half a MiB of RSS). Files are written atomically (temp + rename); a short, corrupt or
 * foreign file is ignored and rewritten. The directory must belong to our euid and not be
 * group/other-writable, else the cache is not used: whoever can write it chooses the
 * filter of every container.
 *
 * Ownership: struct seccomp_prog owns its insns; seccomp_prog_free() frees both.
 * seccomp_prog_load() runs in the container process and only makes syscalls.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h> /* libseccomp: our own seccomp.h is included with quotes below */
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "seccomp.h"
#include "sha256.h"
#include "util.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define ARG_MAX_INDEX     6 /* struct seccomp_data has args[6] */
#define CACHE_MAGIC       "HULLBPF2"
#define CACHE_KEY_VERSION "hull seccomp cache 1"

/* ------------------------------------------------------------------ names */

static const char *const action_names[_SECCOMP_ACT_MAX] = {
        [SECCOMP_ACT_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [SECCOMP_ACT_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [SECCOMP_ACT_TRAP] = "SCMP_ACT_TRAP",
        [SECCOMP_ACT_ERRNO] = "SCMP_ACT_ERRNO",
        [SECCOMP_ACT_TRACE] = "SCMP_ACT_TRACE",
        [SECCOMP_ACT_ALLOW] = "SCMP_ACT_ALLOW",
        [SECCOMP_ACT_LOG] = "SCMP_ACT_LOG",
        [SECCOMP_ACT_NOTIFY] = "SCMP_ACT_NOTIFY",
};

/* The spec's list for features: SCMP_ACT_KILL is libseccomp's old name of KILL_THREAD. */
static const char *const feature_actions[] = {
        "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};

static const struct {
        const char *name;
        enum scmp_compare scmp;
} operators[_SECCOMP_OP_MAX] = {
        [SECCOMP_OP_NE] = {"SCMP_CMP_NE", SCMP_CMP_NE},
        [SECCOMP_OP_LT] = {"SCMP_CMP_LT", SCMP_CMP_LT},
        [SECCOMP_OP_LE] = {"SCMP_CMP_LE", SCMP_CMP_LE},
        [SECCOMP_OP_EQ] = {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        [SECCOMP_OP_GE] = {"SCMP_CMP_GE", SCMP_CMP_GE},
        [SECCOMP_OP_GT] = {"SCMP_CMP_GT", SCMP_CMP_GT},
        [SECCOMP_OP_MASKED_EQ] = {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* runtime-spec config-linux.md "architectures" (libseccomp 2.5.0's list). */
static const char *const arch_names[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

static const struct {
        const char *name;
        unsigned flag;
} filter_flags[] = {
        {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
        {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
        {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static const char *action_name(enum seccomp_action_kind a)
{
        return a >= 0 && a < _SECCOMP_ACT_MAX ? action_names[a] : "(invalid action)";
}

/* libseccomp's token for a spec name ("SCMP_ARCH_X86_64" -> "x86_64"), 0 when unknown. */
static uint32_t arch_token(const char *name)
{
        char lower[32];
        const char *rest = startswith(name, "SCMP_ARCH_");
        bool listed = false;
        size_t l;

        for (size_t i = 0; i < ELEMENTSOF(arch_names); i++)
                listed = listed || streq(arch_names[i], name);
        if (!listed || !rest || (l = strlen(rest)) >= sizeof(lower))
                return 0;
        for (size_t i = 0; i <= l; i++)
                lower[i] = (rest[i] >= 'A' && rest[i] <= 'Z') ? (char)(rest[i] - 'A' + 'a') : rest[i];
        return seccomp_arch_resolve_name(lower);
}

/* ------------------------------------------------------------- validation */

/*
 * libseccomp action for (kind, errnoRet). path is "linux.seccomp" for the default action or
 * "linux.seccomp.syscalls[N]" for a rule; the keys differ between the two.
 */
static int scmp_action(enum seccomp_action_kind kind, bool has_errno, uint32_t errno_ret, const char *path,
                       bool is_default, uint32_t *ret)
{
        const char *errno_key = is_default ? "defaultErrnoRet" : "errnoRet";
        uint32_t e = has_errno ? errno_ret : EPERM;

        if (has_errno && kind != SECCOMP_ACT_ERRNO && kind != SECCOMP_ACT_TRACE)
                return err_set(-EINVAL, "%s.%s: %s takes no errno, got '%" PRIu32 "'", path, errno_key,
                               action_name(kind), errno_ret);
        /* The errno travels in SECCOMP_RET_DATA, 16 bits. */
        if (e > SECCOMP_RET_DATA)
                return err_set(-EINVAL, "%s.%s: must be at most %u, got '%" PRIu32 "'", path, errno_key,
                               SECCOMP_RET_DATA, e);
        switch (kind) {
        case SECCOMP_ACT_KILL_THREAD:
                *ret = SCMP_ACT_KILL_THREAD;
                return 0;
        case SECCOMP_ACT_KILL_PROCESS:
                *ret = SCMP_ACT_KILL_PROCESS;
                return 0;
        case SECCOMP_ACT_TRAP:
                *ret = SCMP_ACT_TRAP;
                return 0;
        case SECCOMP_ACT_ERRNO:
                *ret = SCMP_ACT_ERRNO(e);
                return 0;
        case SECCOMP_ACT_TRACE:
                *ret = SCMP_ACT_TRACE(e);
                return 0;
        case SECCOMP_ACT_ALLOW:
                *ret = SCMP_ACT_ALLOW;
                return 0;
        case SECCOMP_ACT_LOG:
                *ret = SCMP_ACT_LOG;
                return 0;
        case SECCOMP_ACT_NOTIFY:
                *ret = SCMP_ACT_NOTIFY;
                return 0;
        default:
                return err_set(-EINVAL, "%s.%s: unknown action %d", path,
                               is_default ? "defaultAction" : "action", (int)kind);
        }
}

static bool uses_notify(const struct oci_seccomp *s)
{
        if (s->default_action == SECCOMP_ACT_NOTIFY)
                return true;
        for (size_t i = 0; i < s->n_syscalls; i++)
                if (s->syscalls[i].action == SECCOMP_ACT_NOTIFY)
                        return true;
        return false;
}

/* What the container process calls to pass the listener to its parent (see seccomp.h). */
static const char *const handover_syscalls[] = {"write", "sendmsg"};

/* Checks that do not need libseccomp; they run on a cache hit too. */
static int validate(const struct oci_seccomp *s, bool notify)
{
        if (s->default_action == SECCOMP_ACT_NOTIFY)
                return err_set(-EINVAL,
                               "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
                               "action (the runtime hands the listener over after loading the filter)");
        for (size_t i = 0; i < s->n_syscalls; i++) {
                if (s->syscalls[i].action != SECCOMP_ACT_NOTIFY)
                        continue;
                STRV_FOREACH (n, s->syscalls[i].names)
                        for (size_t k = 0; k < ELEMENTSOF(handover_syscalls); k++)
                                if (streq(*n, handover_syscalls[k]))
                                        return err_set(
                                                -EINVAL,
                                                "linux.seccomp.syscalls[%zu].names: SCMP_ACT_NOTIFY cannot "
                                                "be used for '%s' (the runtime hands the listener over "
                                                "with it)",
                                                i, *n);
        }
        if (notify && (!s->listener_path || !*s->listener_path))
                return err_set(-EINVAL, "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
        if (s->listener_metadata && (!s->listener_path || !*s->listener_path))
                return err_set(-EINVAL,
                               "linux.seccomp.listenerMetadata: must not be set without listenerPath");
        return 0;
}

static int parse_flags(const struct oci_seccomp *s, bool notify, unsigned *ret)
{
        unsigned flags = 0;
        size_t i = 0;

        STRV_FOREACH (f, s->flags) {
                bool found = false;

                for (size_t k = 0; k < ELEMENTSOF(filter_flags); k++)
                        if (streq(*f, filter_flags[k].name)) {
                                flags |= filter_flags[k].flag;
                                found = true;
                        }
                if (!found)
                        return err_set(-EINVAL, "linux.seccomp.flags[%zu]: unknown flag '%s'", i, *f);
                i++;
        }
        /* The kernel refuses WAIT_KILLABLE_RECV without a listener; it means nothing there. */
        if ((flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !notify) {
                log_debug(
                        "seccomp: ignoring SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, no SCMP_ACT_NOTIFY rule");
                flags &= ~(unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        }
        *ret = flags;
        return 0;
}

/* ---------------------------------------------------------------- compile */

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

static int add_architectures(scmp_filter_ctx ctx, const struct oci_seccomp *s)
{
        size_t i = 0;

        STRV_FOREACH (a, s->architectures) {
                uint32_t token = arch_token(*a);
                int r;

                if (token == 0)
                        return err_set(-EINVAL,
                                       "linux.seccomp.architectures[%zu]: unknown architecture '%s'", i, *a);
                r = seccomp_arch_add(ctx, token);
                if (r < 0 && r != -EEXIST)
                        return err_set(r, "linux.seccomp.architectures[%zu]: cannot add '%s': %s", i, *a,
                                       strerror(-r));
                i++;
        }
        return 0;
}

/* Translate rule->args into cmps[]; *ret_split when one argument is compared twice. */
static int rule_conditions(const struct oci_seccomp_rule *rule, size_t idx, struct scmp_arg_cmp *cmps,
                           bool *ret_split)
{
        unsigned seen = 0;
        bool split = false;

        for (size_t j = 0; j < rule->n_args; j++) {
                const struct oci_seccomp_arg *a = &rule->args[j];

                if (a->index >= ARG_MAX_INDEX)
                        return err_set(-EINVAL,
                                       "linux.seccomp.syscalls[%zu].args[%zu].index: must be below %d, got "
                                       "'%" PRIu32 "'",
                                       idx, j, ARG_MAX_INDEX, a->index);
                if (a->op < 0 || a->op >= _SECCOMP_OP_MAX)
                        return err_set(-EINVAL,
                                       "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator %d", idx,
                                       j, (int)a->op);
                cmps[j] = (struct scmp_arg_cmp){
                        .arg = a->index,
                        .op = operators[a->op].scmp,
                        .datum_a = a->value,
                        .datum_b = a->value_two,
                };
                split = split || (seen & (1u << a->index));
                seen |= 1u << a->index;
        }
        *ret_split = split;
        return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct oci_seccomp_rule *rule, size_t idx,
                    uint32_t default_action)
{
        _cleanup_free_ struct scmp_arg_cmp *cmps = NULL;
        uint32_t action;
        bool split = false;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu]", idx);
        r = scmp_action(rule->action, rule->has_errno_ret, rule->errno_ret, path, false, &action);
        if (r < 0)
                return r;
        if (rule->n_args > 0) {
                cmps = calloc(rule->n_args, sizeof(*cmps));
                if (!cmps)
                        return -ENOMEM;
        }
        r = rule_conditions(rule, idx, cmps, &split);
        if (r < 0)
                return r;
        if (action == default_action) {
                log_debug("seccomp: skipping %s: its action is the default action", path);
                return 0;
        }
        STRV_FOREACH (n, rule->names) {
                int nr = seccomp_syscall_resolve_name(*n);

                if (nr == __NR_SCMP_ERROR) {
                        log_debug("seccomp: skipping unknown syscall '%s' in %s", *n, path);
                        continue;
                }
                if (split)
                        for (size_t j = 0; j < rule->n_args && r >= 0; j++)
                                r = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[j]);
                else
                        r = seccomp_rule_add_array(ctx, action, nr, (unsigned)rule->n_args, cmps);
                if (r < 0)
                        return err_set(r, "%s: cannot add a rule for '%s': %s", path, *n, strerror(-r));
        }
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_n)
{
        _cleanup_close_ int fd = memfd_create("hull-seccomp-bpf", MFD_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        if (fd < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return err_set(r, "linux.seccomp: cannot generate the BPF program: %s", strerror(-r));
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        r = read_full_fd(fd, (BPF_MAXINSNS + 1) * sizeof(struct sock_filter), &buf, &size);
        if (r == -EFBIG)
                size = SIZE_MAX;
        else if (r < 0)
                return r;
        if (size == 0 || size % sizeof(struct sock_filter) != 0)
                return err_set(-EIO, "linux.seccomp: libseccomp produced a BPF program of %zu bytes", size);
        /* The kernel takes at most BPF_MAXINSNS (4096) instructions per filter. */
        if (size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return err_set(-E2BIG, "linux.seccomp: the filter needs more than %d BPF instructions",
                               BPF_MAXINSNS);
        *ret_n = size / sizeof(struct sock_filter);
        *ret = (struct sock_filter *)TAKE_PTR(buf);
        return 0;
}

static int compile(const struct oci_seccomp *s, struct sock_filter **ret, size_t *ret_n)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        uint32_t def;
        int r;

        r = scmp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, "linux.seccomp",
                        true, &def);
        if (r < 0)
                return r;
        ctx = seccomp_init(def);
        if (!ctx)
                return err_set(-EOPNOTSUPP,
                               "linux.seccomp.defaultAction: %s is not supported by this kernel",
                               action_name(s->default_action));
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0)
                return err_set(r, "linux.seccomp: cannot set libseccomp attributes: %s", strerror(-r));
        r = add_architectures(ctx, s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_syscalls; i++) {
                r = add_rule(ctx, &s->syscalls[i], i, def);
                if (r < 0)
                        return r;
        }
        return export_bpf(ctx, ret, ret_n);
}

/*
 * compile() in a child process, waited for at most compile_timeout_ms. libseccomp 2.5's rule
 * database can loop for minutes, or for ever, on a handful of rules with two or three argument
 * conditions each whose ranges overlap under different actions (four rules of three conditions
 * are enough), and leaks on some of those paths: no bound on the profile's size avoids it. The
 * child sends back one struct compile_reply and then the program or the error message; a
 * child that is killed, crashes or runs out of time is an error naming linux.seccomp, and
 * nothing of it stays behind. Compiled programs are cached, so the fork (about a millisecond)
 * is paid on a cache miss only.
 */
struct compile_reply {
        int32_t r;
        uint32_t len; /* bytes that follow: instructions, or the message when r < 0 */
};

static unsigned compile_timeout_ms = 10000;

void seccomp_set_compile_timeout(unsigned ms)
{
        compile_timeout_ms = ms;
}

_noreturn_ static void compile_child(int fd, const struct oci_seccomp *s)
{
        struct sock_filter *insns = NULL;
        struct compile_reply rep = {};
        const char *msg = "";
        size_t n = 0;
        int r;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        err_clear();
        r = compile(s, &insns, &n);
        rep.r = r;
        if (r < 0) {
                msg = err_msg(r);
                rep.len = (uint32_t)strlen(msg);
        } else
                rep.len = (uint32_t)(n * sizeof(*insns));
        if (write_all(fd, &rep, sizeof(rep)) < 0 || write_all(fd, r < 0 ? (const void *)msg : insns, rep.len) < 0)
                _exit(1);
        _exit(0);
}

/* Read exactly len bytes from fd before the monotonic deadline; -ETIMEDOUT after it, -EPIPE at EOF. */
static int read_by(int fd, void *buf, size_t len, uint64_t deadline)
{
        size_t done = 0;

        while (done < len) {
                uint64_t now = now_usec();
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                ssize_t k;
                int p;

                if (now >= deadline)
                        return -ETIMEDOUT;
                p = poll(&pfd, 1, (int)((deadline - now + 999) / 1000));
                if (p < 0 && errno != EINTR)
                        return negative_errno();
                if (p <= 0)
                        continue;
                k = read(fd, (char *)buf + done, len - done);
                if (k < 0 && errno != EINTR && errno != EAGAIN)
                        return negative_errno();
                if (k == 0)
                        return -EPIPE;
                if (k > 0)
                        done += (size_t)k;
        }
        return 0;
}

static int compile_bounded(const struct oci_seccomp *s, struct sock_filter **ret, size_t *ret_n)
{
        uint64_t deadline = now_usec() + (uint64_t)compile_timeout_ms * 1000;
        _cleanup_free_ char *buf = NULL;
        struct compile_reply rep;
        int fds[2], status = 0, r;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                close(fds[0]);
                compile_child(fds[1], s);
        }
        close(fds[1]);
        r = read_by(fds[0], &rep, sizeof(rep), deadline);
        if (r >= 0 && rep.len > (rep.r < 0 ? 4096u : BPF_MAXINSNS * sizeof(struct sock_filter)))
                r = -EPROTO;
        if (r >= 0 && !(buf = malloc(rep.len + 1)))
                r = -ENOMEM;
        if (r >= 0)
                r = read_by(fds[0], buf, rep.len, deadline);
        close(fds[0]);
        if (r < 0)
                (void)kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r == -ETIMEDOUT)
                return err_set(-ETIMEDOUT,
                               "linux.seccomp: libseccomp did not compile the filter within %u ms; the rules' "
                               "argument conditions are too intricate (fewer rules with conditions on one "
                               "syscall, or fewer conditions per rule, compile)",
                               compile_timeout_ms);
        if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (WIFSIGNALED(status))
                        return err_set(-EIO, "linux.seccomp: compiling the filter failed: the compiler "
                                             "process died of signal %d", WTERMSIG(status));
                return err_set(r < 0 ? r : -EIO, "linux.seccomp: compiling the filter failed: %s",
                               strerror(r < 0 ? -r : EIO));
        }
        if (rep.r < 0) {
                buf[rep.len] = '\0';
                return rep.len ? err_set(rep.r, "%s", buf) : rep.r;
        }
        if (rep.len == 0 || rep.len % sizeof(struct sock_filter) != 0)
                return err_set(-EIO, "linux.seccomp: the compiler process sent %u bytes", rep.len);
        *ret_n = rep.len / sizeof(struct sock_filter);
        *ret = (struct sock_filter *)TAKE_PTR(buf);
        return 0;
}

/* ------------------------------------------------------------------ cache */

struct cache_header {
        char magic[8];
        uint32_t key_len;
        uint32_t n_insns;
        uint64_t checksum; /* FNV-1a over the key and the instructions: catches torn or stray files */
};
_Static_assert(sizeof(struct cache_header) == 24, "cache header layout");

#define CACHE_KEY_MAX (1U << 20)

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
        const uint8_t *p = data;

        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

/* The key is a canonical serialization, built in memory. */
struct keybuf {
        uint8_t *p;
        size_t n, cap;
        bool oom;
};

static void key_add(struct keybuf *k, const void *data, size_t len)
{
        if (k->oom)
                return;
        if (k->n + len > k->cap) {
                size_t cap = MAX(k->cap * 2, k->n + len + 4096);
                uint8_t *p = realloc(k->p, cap);
                if (!p) {
                        k->oom = true;
                        return;
                }
                k->p = p;
                k->cap = cap;
        }
        memcpy(k->p + k->n, data, len);
        k->n += len;
}

static void key_u64(struct keybuf *h, uint64_t v)
{
        uint8_t b[8];

        for (int i = 0; i < 8; i++)
                b[i] = (uint8_t)(v >> (8 * i));
        key_add(h, b, sizeof(b));
}

/* Length-prefixed, so that ("ab","c") and ("a","bc") differ; NULL differs from "". */
static void key_str(struct keybuf *h, const char *s)
{
        if (!s) {
                key_u64(h, UINT64_MAX);
                return;
        }
        key_u64(h, strlen(s));
        key_add(h, s, strlen(s));
}

static void key_strv(struct keybuf *h, char **l)
{
        key_u64(h, strv_length(l));
        STRV_FOREACH (s, l)
                key_str(h, *s);
}

static void keybuf_done(struct keybuf *k)
{
        free(k->p);
}

static int cache_key_bytes(const struct oci_seccomp *s, struct keybuf *h)
{
        const struct scmp_version *v = seccomp_version();

        key_str(h, CACHE_KEY_VERSION);
        key_u64(h, v->major);
        key_u64(h, v->minor);
        key_u64(h, v->micro);
        key_u64(h, seccomp_arch_native());
        key_u64(h, seccomp_api_get());
        key_u64(h, (uint64_t)s->default_action);
        key_u64(h, s->has_default_errno_ret);
        key_u64(h, s->default_errno_ret);
        key_strv(h, s->architectures);
        key_u64(h, s->n_syscalls);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const struct oci_seccomp_rule *rule = &s->syscalls[i];

                key_strv(h, rule->names);
                key_u64(h, (uint64_t)rule->action);
                key_u64(h, rule->has_errno_ret);
                key_u64(h, rule->errno_ret);
                key_u64(h, rule->n_args);
                for (size_t j = 0; j < rule->n_args; j++) {
                        key_u64(h, rule->args[j].index);
                        key_u64(h, (uint64_t)rule->args[j].op);
                        key_u64(h, rule->args[j].value);
                        key_u64(h, rule->args[j].value_two);
                }
        }
        if (h->oom) {
                free(h->p);
                h->p = NULL;
                return -ENOMEM;
        }
        if (h->n > CACHE_KEY_MAX) {
                free(h->p);
                h->p = NULL;
                return -E2BIG;
        }
        return 0;
}

int seccomp_cache_key(const struct oci_seccomp *s, char key[SHA256_HEX_LEN + 1])
{
        struct keybuf b = {};
        int r = cache_key_bytes(s, &b);

        if (r < 0)
                return r;
        snprintf(key, SHA256_HEX_LEN + 1, "%016" PRIx64, fnv1a(FNV_OFFSET, b.p, b.n));
        free(b.p);
        return 0;
}

/* The cache directory exists (created 0700 if missing), is ours and only ours to write. */
static bool cache_dir_usable(const char *dir)
{
        struct stat st;
        int r = mkdir_p(dir, 0700);

        if (r < 0) {
                log_debug("seccomp: not caching, cannot create '%s': %s", dir, strerror(-r));
                return false;
        }
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_debug("seccomp: not caching, '%s' is not a directory", dir);
                return false;
        }
        if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                log_debug("seccomp: not caching, '%s' is writable by others than uid %u", dir,
                          (unsigned)geteuid());
                return false;
        }
        return true;
}

/* -ENOENT on a miss, -EBADMSG on a file that is not a valid entry for key. */
static int cache_read(const char *path, const struct keybuf *key, struct sock_filter **ret, size_t *ret_n)
{
        const size_t max =
                sizeof(struct cache_header) + CACHE_KEY_MAX + BPF_MAXINSNS * sizeof(struct sock_filter);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        struct sock_filter *insns;
        struct cache_header hdr;
        struct stat st;
        size_t size, n;
        int r;

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (size_t)st.st_size > max)
                return -EBADMSG;
        r = read_full_fd(fd, max, &buf, &size);
        if (r < 0)
                return r == -EFBIG ? -EBADMSG : r;
        if (size < sizeof(hdr))
                return -EBADMSG;
        memcpy(&hdr, buf, sizeof(hdr));
        n = hdr.n_insns;
        if (memcmp(hdr.magic, CACHE_MAGIC, sizeof(hdr.magic)) != 0 || hdr.key_len != key->n || n == 0 ||
            n > BPF_MAXINSNS || size != sizeof(hdr) + key->n + n * sizeof(struct sock_filter))
                return -EBADMSG;
        if (memcmp(buf + sizeof(hdr), key->p, key->n) != 0)
                return -ENOENT; /* another profile with the same file name */
        if (fnv1a(FNV_OFFSET, buf + sizeof(hdr), size - sizeof(hdr)) != hdr.checksum)
                return -EBADMSG;
        insns = malloc(n * sizeof(struct sock_filter));
        if (!insns)
                return -ENOMEM;
        memcpy(insns, buf + sizeof(hdr) + key->n, n * sizeof(struct sock_filter));
        *ret = insns;
        *ret_n = n;
        return 0;
}

static int cache_write(const char *path, const struct keybuf *key, const struct sock_filter *insns, size_t n)
{
        size_t len = sizeof(struct cache_header) + key->n + n * sizeof(struct sock_filter);
        _cleanup_free_ char *buf = malloc(len);
        struct cache_header hdr = {.key_len = (uint32_t)key->n, .n_insns = (uint32_t)n};

        if (!buf)
                return -ENOMEM;
        memcpy(hdr.magic, CACHE_MAGIC, sizeof(hdr.magic));
        memcpy(buf + sizeof(hdr), key->p, key->n);
        memcpy(buf + sizeof(hdr) + key->n, insns, n * sizeof(struct sock_filter));
        hdr.checksum = fnv1a(FNV_OFFSET, buf + sizeof(hdr), len - sizeof(hdr));
        memcpy(buf, &hdr, sizeof(hdr));
        return write_file_atomic(path, buf, len, 0600);
}

/* ---------------------------------------------------------------- prepare */

void seccomp_prog_free(struct seccomp_prog *p)
{
        if (!p)
                return;
        free(p->insns);
        free(p);
}

int seccomp_prepare(const struct oci_seccomp *s, const char *cache_dir, struct seccomp_prog **ret)
{
        _cleanup_(seccomp_prog_freep) struct seccomp_prog *p = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_(keybuf_done) struct keybuf key = {};
        bool notify = uses_notify(s);
        unsigned flags = 0;
        int r;

        r = validate(s, notify);
        if (r < 0)
                return r;
        r = parse_flags(s, notify, &flags);
        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->flags = flags;
        p->needs_listener = notify;

        if (cache_dir && cache_dir_usable(cache_dir)) {
                r = cache_key_bytes(s, &key);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        log_debug("seccomp: not caching a profile this large");
                else if (!(path = strdup_printf("%s/%016" PRIx64 ".bpf", cache_dir,
                                                fnv1a(FNV_OFFSET, key.p, key.n))))
                        return -ENOMEM;
        }
        if (path) {
                r = cache_read(path, &key, &p->insns, &p->n_insns);
                if (r >= 0) {
                        log_debug("seccomp: %zu instructions from cache '%s'", p->n_insns, path);
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                if (r != -ENOENT)
                        log_debug("seccomp: ignoring cache file '%s': %s", path, strerror(-r));
        }

        r = compile_bounded(s, &p->insns, &p->n_insns);
        if (r < 0)
                return r;
        if (path) {
                /* A cache that cannot be written costs time, not correctness. */
                r = cache_write(path, &key, p->insns, p->n_insns);
                if (r < 0)
                        log_debug("seccomp: cannot write cache file '%s': %s", path, strerror(-r));
        }
        *ret = TAKE_PTR(p);
        return 0;
}

/* ------------------------------------------------------------------- load */

int seccomp_prog_load(const struct seccomp_prog *p, int *ret_listener)
{
        struct sock_fprog prog;
        unsigned flags = p->flags;
        long r;

        if (p->n_insns == 0 || p->n_insns > BPF_MAXINSNS)
                return -EINVAL;
        prog.len = (unsigned short)p->n_insns;
        prog.filter = p->insns;
        if (p->needs_listener) {
                flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
                /*
                 * TSYNC reports a failing thread id through the return value, which NEW_LISTENER
                 * needs for the fd: since Linux 5.7 TSYNC_ESRCH makes TSYNC fail with ESRCH instead,
                 * and the kernel refuses the pair without it.
                 */
                if (flags & SECCOMP_FILTER_FLAG_TSYNC)
                        flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (r < 0)
                return negative_errno();
        if (!p->needs_listener) {
                /* seccomp(2): with TSYNC, a positive value is the thread that could not sync. */
                if (r > 0)
                        return -EAGAIN;
                *ret_listener = -EBADF;
                return 0;
        }
        *ret_listener = (int)r;
        return 0;
}

/* --------------------------------------------------------------- listener */

int seccomp_listener_state(const char *oci_version, pid_t pid, const char *metadata,
                           struct json_object *state, char **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *fds = json_object_new_array();
        char *s;

        if (!o || !fds) {
                json_object_put(fds);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "ociVersion", json_object_new_string(oci_version)) < 0 ||
            json_object_object_add(o, "fds", fds) < 0)
                return -ENOMEM;
        if (json_object_array_add(fds, json_object_new_string("seccompFd")) < 0 ||
            json_object_object_add(o, "pid", json_object_new_int64(pid)) < 0)
                return -ENOMEM;
        if (metadata && json_object_object_add(o, "metadata", json_object_new_string(metadata)) < 0)
                return -ENOMEM;
        if (json_object_object_add(o, "state", json_object_get(state)) < 0)
                return -ENOMEM;
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int seccomp_send_listener(const char *listener_path, const char *state_json, int listener_fd)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(state_json), off = 0;
        struct msghdr mh = {};
        struct cmsghdr *cmsg;
        int r;

        if (strlen(listener_path) >= sizeof(sa.sun_path))
                return err_set(-ENAMETOOLONG, "linux.seccomp.listenerPath: longer than %zu bytes: '%s'",
                               sizeof(sa.sun_path) - 1, listener_path);
        if (len == 0 || listener_fd < 0)
                return -EINVAL;
        memcpy(sa.sun_path, listener_path, strlen(listener_path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = negative_errno();
                return err_set(r, "linux.seccomp.listenerPath: cannot connect to '%s': %s", listener_path,
                               strerror(-r));
        }

        /* Spec "The Container Process State": the fds go with the first sendmsg() only. */
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &listener_fd, sizeof(int));
        while (off < len) {
                struct iovec iov = {.iov_base = (char *)state_json + off, .iov_len = len - off};
                ssize_t n;

                mh.msg_iov = &iov;
                mh.msg_iovlen = 1;
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        return err_set(r, "linux.seccomp.listenerPath: cannot send to '%s': %s",
                                       listener_path, strerror(-r));
                }
                off += (size_t)n;
                mh.msg_control = NULL;
                mh.msg_controllen = 0;
        }
        /* "The connection MUST NOT be reused and it MUST be closed": the cleanup closes it. */
        return 0;
}

/* --------------------------------------------------------------- features */

static int add_string_array(struct json_object *o, const char *key, const char *const *names, size_t n)
{
        struct json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        if (json_object_object_add(o, key, a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_new_string(names[i]);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        return -ENOMEM;
                }
        }
        return 0;
}

/*
 * seccomp(2) checks the flags before it reads the program: with a NULL program a known
 * flag fails with EFAULT, an unknown one with EINVAL (the probe runc and crun use too).
 */
static bool flag_supported(unsigned flag)
{
        return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

int seccomp_features(struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        const char *ops[_SECCOMP_OP_MAX], *archs[ELEMENTSOF(arch_names)], *known[ELEMENTSOF(filter_flags)],
                *supported[ELEMENTSOF(filter_flags)];
        size_t n_archs = 0, n_supported = 0;
        int r;

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < _SECCOMP_OP_MAX; i++)
                ops[i] = operators[i].name;
        for (size_t i = 0; i < ELEMENTSOF(arch_names); i++)
                if (arch_token(arch_names[i]) != 0)
                        archs[n_archs++] = arch_names[i];
        for (size_t i = 0; i < ELEMENTSOF(filter_flags); i++) {
                known[i] = filter_flags[i].name;
                if (flag_supported(filter_flags[i].flag))
                        supported[n_supported++] = filter_flags[i].name;
        }
        if (json_object_object_add(o, "enabled", json_object_new_boolean(true)) < 0)
                return -ENOMEM;
        r = add_string_array(o, "actions", feature_actions, ELEMENTSOF(feature_actions));
        if (r >= 0)
                r = add_string_array(o, "operators", ops, ELEMENTSOF(ops));
        if (r >= 0)
                r = add_string_array(o, "archs", archs, n_archs);
        if (r >= 0)
                r = add_string_array(o, "knownFlags", known, ELEMENTSOF(known));
        if (r >= 0)
                r = add_string_array(o, "supportedFlags", supported, n_supported);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}
