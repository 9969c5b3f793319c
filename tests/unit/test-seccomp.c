/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-seccomp.c - seccomp_prepare() profiles, the disk cache, loading, the listener hand-over.
 *
 * The compiled programs are checked by running them here in a classic BPF interpreter
 * (bpf_run) on hand-made struct seccomp_data, so that every action, errno, argument
 * comparison and architecture is checked exactly without loading anything. A few tests
 * then load real filters in a forked child (no_new_privs, so no root needed).
 */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "error.h"
#include "json.h"
#include "seccomp.h"
#include "test.h"
#include "util.h"

#define RET_ACTION(r) ((r)&SECCOMP_RET_ACTION_FULL)
#define RET_DATA(r)   ((r)&SECCOMP_RET_DATA)

/* ------------------------------------------------------- BPF interpreter */

/* Run a classic BPF program on d; returns the RET value. Fails the test on anything odd. */
static uint32_t bpf_run(const struct seccomp_prog *p, const struct seccomp_data *d)
{
        uint32_t A = 0, X = 0, mem[BPF_MEMWORDS] = {0};
        const uint8_t *data = (const uint8_t *)d;

        for (size_t pc = 0; pc < p->n_insns; pc++) {
                const struct sock_filter *f = &p->insns[pc];
                uint32_t src = BPF_SRC(f->code) == BPF_X ? X : f->k;
                bool jump;

                switch (BPF_CLASS(f->code)) {
                case BPF_LD:
                        if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
                                if (f->k % 4 || f->k + 4 > sizeof(*d))
                                        TEST_FAIL("load outside seccomp_data at %u", f->k);
                                memcpy(&A, data + f->k, 4);
                        } else if (f->code == (BPF_LD | BPF_IMM))
                                A = f->k;
                        else if (f->code == (BPF_LD | BPF_MEM) && f->k < BPF_MEMWORDS)
                                A = mem[f->k];
                        else
                                TEST_FAIL("unexpected ld 0x%x", f->code);
                        break;
                case BPF_LDX:
                        if (f->code == (BPF_LDX | BPF_IMM))
                                X = f->k;
                        else if (f->code == (BPF_LDX | BPF_MEM) && f->k < BPF_MEMWORDS)
                                X = mem[f->k];
                        else
                                TEST_FAIL("unexpected ldx 0x%x", f->code);
                        break;
                case BPF_ST:
                case BPF_STX:
                        if (f->k >= BPF_MEMWORDS)
                                TEST_FAIL("store outside scratch memory");
                        mem[f->k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
                        break;
                case BPF_ALU:
                        switch (BPF_OP(f->code)) {
                        case BPF_ADD:
                                A += src;
                                break;
                        case BPF_SUB:
                                A -= src;
                                break;
                        case BPF_AND:
                                A &= src;
                                break;
                        case BPF_OR:
                                A |= src;
                                break;
                        case BPF_XOR:
                                A ^= src;
                                break;
                        case BPF_LSH:
                                A <<= src;
                                break;
                        case BPF_RSH:
                                A >>= src;
                                break;
                        case BPF_NEG:
                                A = -A;
                                break;
                        default:
                                TEST_FAIL("unexpected alu 0x%x", f->code);
                        }
                        break;
                case BPF_JMP:
                        if (BPF_OP(f->code) == BPF_JA) {
                                pc += f->k;
                                break;
                        }
                        switch (BPF_OP(f->code)) {
                        case BPF_JEQ:
                                jump = A == src;
                                break;
                        case BPF_JGT:
                                jump = A > src;
                                break;
                        case BPF_JGE:
                                jump = A >= src;
                                break;
                        case BPF_JSET:
                                jump = (A & src) != 0;
                                break;
                        default:
                                TEST_FAIL("unexpected jmp 0x%x", f->code);
                        }
                        pc += jump ? f->jt : f->jf;
                        break;
                case BPF_RET:
                        return BPF_RVAL(f->code) == BPF_A ? A : f->k;
                case BPF_MISC:
                        if (BPF_MISCOP(f->code) == BPF_TAX)
                                X = A;
                        else
                                A = X;
                        break;
                }
        }
        TEST_FAIL("program ran off its end");
}

static struct seccomp_data sysc(int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
        return (struct seccomp_data){.nr = nr, .arch = AUDIT_ARCH_X86_64, .args = {a0, a1, a2}};
}

static uint32_t verdict(const struct seccomp_prog *p, int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
        struct seccomp_data d = sysc(nr, a0, a1, a2);
        return bpf_run(p, &d);
}

/* --------------------------------------------------------------- helpers */

static struct seccomp_prog *compile_ok(const struct oci_seccomp *s)
{
        struct seccomp_prog *p = NULL;
        int r;

        err_clear();
        r = seccomp_prepare(s, NULL, &p);
        if (r < 0)
                TEST_FAIL("seccomp_prepare: %s", err_msg(r));
        ASSERT_TRUE(p && p->n_insns > 0);
        return p;
}

static void compile_fails(const struct oci_seccomp *s, int err, const char *msg)
{
        struct seccomp_prog *p = NULL;

        err_clear();
        ASSERT_ERR(seccomp_prepare(s, NULL, &p), err);
        ASSERT_TRUE(p == NULL);
        ASSERT_STREQ(err_msg(err), msg);
}

#define RULE(act, ...)                                                  \
        {                                                               \
                .names = (char *[]){__VA_ARGS__, NULL}, .action = (act) \
        }
#define RULE_ERRNO(e, ...)                                                                                  \
        {                                                                                                   \
                .names = (char *[]){__VA_ARGS__, NULL}, .action = SECCOMP_ACT_ERRNO, .has_errno_ret = true, \
                .errno_ret = (e)                                                                            \
        }

/* ------------------------------------------------------------- profiles */

TEST(errno_defaults_to_eperm)
{
        struct oci_seccomp_rule rules[] = {RULE(SECCOMP_ACT_ERRNO, "mkdir", "mkdirat")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_mkdir, 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
        ASSERT_EQ(verdict(p, __NR_mkdirat, 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
        ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
        ASSERT_EQ(p->flags, 0);
        ASSERT_FALSE(p->needs_listener);
}

TEST(errno_ret_and_default_errno)
{
        struct oci_seccomp_rule rules[] = {RULE_ERRNO(ENOSPC, "mkdir"), RULE(SECCOMP_ACT_ALLOW, "getpid")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ERRNO,
                                .has_default_errno_ret = true,
                                .default_errno_ret = ENOSYS,
                                .syscalls = rules,
                                .n_syscalls = 2};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_mkdir, 0, 0, 0), SECCOMP_RET_ERRNO | ENOSPC);
        ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
        ASSERT_EQ(verdict(p, __NR_chdir, 0, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
}

TEST(every_action)
{
        static const struct {
                enum seccomp_action_kind kind;
                uint32_t ret;
        } cases[] = {
                {SECCOMP_ACT_KILL_THREAD, SECCOMP_RET_KILL_THREAD},
                {SECCOMP_ACT_KILL_PROCESS, SECCOMP_RET_KILL_PROCESS},
                {SECCOMP_ACT_TRAP, SECCOMP_RET_TRAP},
                {SECCOMP_ACT_ERRNO, SECCOMP_RET_ERRNO | EPERM},
                {SECCOMP_ACT_TRACE, SECCOMP_RET_TRACE | EPERM},
                {SECCOMP_ACT_LOG, SECCOMP_RET_LOG},
                {SECCOMP_ACT_NOTIFY, SECCOMP_RET_USER_NOTIF},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct oci_seccomp_rule rules[] = {RULE(cases[i].kind, "getppid")};
                struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW,
                                        .listener_path = "/run/agent.sock",
                                        .syscalls = rules,
                                        .n_syscalls = 1};
                _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

                ASSERT_EQ(verdict(p, __NR_getppid, 0, 0, 0), cases[i].ret);
                ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
                ASSERT_EQ(p->needs_listener, cases[i].kind == SECCOMP_ACT_NOTIFY);
        }

        /* ALLOW as a rule under a non-allow default. */
        struct oci_seccomp_rule allow[] = {RULE(SECCOMP_ACT_ALLOW, "getppid")};
        struct oci_seccomp s = {
                .default_action = SECCOMP_ACT_KILL_PROCESS, .syscalls = allow, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
        ASSERT_EQ(verdict(p, __NR_getppid, 0, 0, 0), SECCOMP_RET_ALLOW);
        ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
}

TEST(trace_errno)
{
        struct oci_seccomp_rule rules[] = {
                {.names = (char *[]){"getppid", NULL},
                 .action = SECCOMP_ACT_TRACE,
                 .has_errno_ret = true,
                 .errno_ret = 77},
        };
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_getppid, 0, 0, 0), SECCOMP_RET_TRACE | 77);
}

TEST(argument_operators)
{
        struct oci_seccomp_arg ne[] = {{.index = 0, .value = 5, .op = SECCOMP_OP_NE}};
        struct oci_seccomp_arg lt[] = {{.index = 1, .value = 10, .op = SECCOMP_OP_LT}};
        struct oci_seccomp_arg le[] = {{.index = 1, .value = 10, .op = SECCOMP_OP_LE}};
        struct oci_seccomp_arg ge[] = {{.index = 2, .value = UINT64_C(0x100000000), .op = SECCOMP_OP_GE}};
        struct oci_seccomp_arg gt[] = {{.index = 2, .value = 7, .op = SECCOMP_OP_GT}};
        struct {
                struct oci_seccomp_arg *arg;
                uint64_t hit, miss;
        } cases[] = {
                {ne, 4, 5}, {lt, 9, 10}, {le, 10, 11}, {ge, UINT64_C(0x100000000), UINT64_C(0xffffffff)},
                {gt, 8, 7},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct oci_seccomp_rule rules[] = {
                        {.names = (char *[]){"ioctl", NULL},
                         .action = SECCOMP_ACT_ERRNO,
                         .args = cases[i].arg,
                         .n_args = 1},
                };
                struct oci_seccomp s = {
                        .default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
                _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
                uint64_t a[3] = {0};

                a[cases[i].arg->index] = cases[i].hit;
                ASSERT_EQ(verdict(p, __NR_ioctl, a[0], a[1], a[2]), SECCOMP_RET_ERRNO | EPERM);
                a[cases[i].arg->index] = cases[i].miss;
                ASSERT_EQ(verdict(p, __NR_ioctl, a[0], a[1], a[2]), SECCOMP_RET_ALLOW);
        }
}

TEST(masked_eq_uses_value_as_mask)
{
        /* Deny clone() with CLONE_NEWUSER in its flags, whatever else is set. */
        struct oci_seccomp_arg args[] = {
                {.index = 0, .value = CLONE_NEWUSER, .value_two = CLONE_NEWUSER, .op = SECCOMP_OP_MASKED_EQ},
        };
        struct oci_seccomp_rule rules[] = {
                {.names = (char *[]){"clone", NULL},
                 .action = SECCOMP_ACT_ERRNO,
                 .has_errno_ret = true,
                 .errno_ret = EACCES,
                 .args = args,
                 .n_args = 1},
        };
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0),
                  SECCOMP_RET_ERRNO | EACCES);
        ASSERT_EQ(verdict(p, __NR_clone, CLONE_NEWNS | SIGCHLD, 0, 0), SECCOMP_RET_ALLOW);
}

TEST(same_argument_twice_is_or)
{
        struct oci_seccomp_arg args[] = {
                {.index = 0, .value = 1, .op = SECCOMP_OP_EQ},
                {.index = 0, .value = 2, .op = SECCOMP_OP_EQ},
        };
        struct oci_seccomp_rule rules[] = {
                {.names = (char *[]){"personality", NULL},
                 .action = SECCOMP_ACT_ERRNO,
                 .args = args,
                 .n_args = 2},
        };
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_personality, 1, 0, 0), SECCOMP_RET_ERRNO | EPERM);
        ASSERT_EQ(verdict(p, __NR_personality, 2, 0, 0), SECCOMP_RET_ERRNO | EPERM);
        ASSERT_EQ(verdict(p, __NR_personality, 3, 0, 0), SECCOMP_RET_ALLOW);
}

TEST(different_arguments_are_and)
{
        /* Docker's profile: socket(AF_NETLINK, *, NETLINK_AUDIT) is refused. */
        struct oci_seccomp_arg args[] = {
                {.index = 0, .value = 16, .op = SECCOMP_OP_EQ},
                {.index = 2, .value = 9, .op = SECCOMP_OP_EQ},
        };
        struct oci_seccomp_rule rules[] = {
                {.names = (char *[]){"socket", NULL},
                 .action = SECCOMP_ACT_ERRNO,
                 .args = args,
                 .n_args = 2},
        };
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_socket, 16, 3, 9), SECCOMP_RET_ERRNO | EPERM);
        ASSERT_EQ(verdict(p, __NR_socket, 16, 3, 0), SECCOMP_RET_ALLOW);
        ASSERT_EQ(verdict(p, __NR_socket, 2, 1, 9), SECCOMP_RET_ALLOW);
}

TEST(architectures)
{
        struct oci_seccomp_rule rules[] = {RULE_ERRNO(EROFS, "mkdir")};
        struct oci_seccomp only_native = {
                .default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        struct oci_seccomp multi = {.default_action = SECCOMP_ACT_ALLOW,
                                    .architectures = (char *[]){"SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL},
                                    .syscalls = rules,
                                    .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p1 = compile_ok(&only_native);
        _cleanup_seccomp_prog_ struct seccomp_prog *p2 = compile_ok(&multi);
        /* mkdir is 39 on i386; x32 numbers are x86_64's with bit 30 set. */
        struct seccomp_data i386 = {.nr = 39, .arch = AUDIT_ARCH_I386};
        struct seccomp_data x32 = {.nr = __NR_mkdir | 0x40000000, .arch = AUDIT_ARCH_X86_64};

        /* An architecture that is not in the filter gets libseccomp's bad-arch action, kill. */
        ASSERT_EQ(bpf_run(p1, &i386), SECCOMP_RET_KILL_THREAD);
        ASSERT_EQ(bpf_run(p2, &i386), SECCOMP_RET_ERRNO | EROFS);
        ASSERT_EQ(bpf_run(p2, &x32), SECCOMP_RET_ERRNO | EROFS);
        ASSERT_EQ(verdict(p2, __NR_mkdir, 0, 0, 0), SECCOMP_RET_ERRNO | EROFS);
        /* Listing the native architecture is accepted (libseccomp says EEXIST). */
        multi.architectures = (char *[]){"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", NULL};
        _cleanup_seccomp_prog_ struct seccomp_prog *p3 = compile_ok(&multi);
        ASSERT_EQ(bpf_run(p3, &i386), SECCOMP_RET_ERRNO | EROFS);
}

TEST(flags)
{
        struct oci_seccomp_rule rules[] = {RULE(SECCOMP_ACT_ERRNO, "mkdir")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW,
                                .flags = (char *[]){"SECCOMP_FILTER_FLAG_LOG",
                                                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                                    "SECCOMP_FILTER_FLAG_TSYNC", NULL},
                                .syscalls = rules,
                                .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
        ASSERT_EQ(p->flags,
                  SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC);

        /* WAIT_KILLABLE_RECV only means something with a listener. */
        s.flags = (char *[]){"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
        _cleanup_seccomp_prog_ struct seccomp_prog *p2 = compile_ok(&s);
        ASSERT_EQ(p2->flags, 0);
        rules[0].action = SECCOMP_ACT_NOTIFY;
        s.listener_path = "/run/agent.sock";
        _cleanup_seccomp_prog_ struct seccomp_prog *p3 = compile_ok(&s);
        ASSERT_EQ(p3->flags, 1u << 5);
        ASSERT_TRUE(p3->needs_listener);

        s.flags = (char *[]){"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS", NULL};
        compile_fails(&s, -EINVAL, "linux.seccomp.flags[1]: unknown flag 'SECCOMP_FILTER_FLAG_BOGUS'");
}

TEST(unknown_syscall_is_skipped)
{
        struct oci_seccomp_rule rules[] = {RULE_ERRNO(EXDEV, "no_such_syscall", "rename"),
                                           RULE(SECCOMP_ACT_KILL_PROCESS, "also_not_a_syscall")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 2};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_rename, 0, 0, 0), SECCOMP_RET_ERRNO | EXDEV);
        ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
}

TEST(rule_with_default_action_is_skipped)
{
        struct oci_seccomp_rule rules[] = {RULE(SECCOMP_ACT_ALLOW, "getpid"),
                                           RULE(SECCOMP_ACT_ERRNO, "rmdir")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 2};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);

        ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
        ASSERT_EQ(verdict(p, __NR_rmdir, 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);

        /* ERRNO(EPERM) under a default ERRNO(ENOSYS) is a different action and stays. */
        struct oci_seccomp_rule r2[] = {RULE(SECCOMP_ACT_ERRNO, "rmdir"), RULE(SECCOMP_ACT_ALLOW, "getpid")};
        struct oci_seccomp s2 = {.default_action = SECCOMP_ACT_ERRNO,
                                 .has_default_errno_ret = true,
                                 .default_errno_ret = ENOSYS,
                                 .syscalls = r2,
                                 .n_syscalls = 2};
        _cleanup_seccomp_prog_ struct seccomp_prog *p2 = compile_ok(&s2);
        ASSERT_EQ(verdict(p2, __NR_rmdir, 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
        ASSERT_EQ(verdict(p2, __NR_chdir, 0, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
}

TEST(errors_name_the_field)
{
        struct oci_seccomp_rule rules[] = {RULE(SECCOMP_ACT_ALLOW, "getpid"),
                                           RULE(SECCOMP_ACT_ERRNO, "mkdir")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ERRNO, .syscalls = rules, .n_syscalls = 2};

        rules[0].has_errno_ret = true;
        rules[0].errno_ret = 5;
        compile_fails(&s, -EINVAL,
                      "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW takes no errno, got '5'");
        rules[0].has_errno_ret = false;

        rules[1].has_errno_ret = true;
        rules[1].errno_ret = 70000;
        compile_fails(&s, -EINVAL, "linux.seccomp.syscalls[1].errnoRet: must be at most 65535, got '70000'");
        rules[1].has_errno_ret = false;

        s.default_action = SECCOMP_ACT_KILL_PROCESS;
        s.has_default_errno_ret = true;
        s.default_errno_ret = 1;
        compile_fails(&s, -EINVAL,
                      "linux.seccomp.defaultErrnoRet: SCMP_ACT_KILL_PROCESS takes no errno, got '1'");
        s.has_default_errno_ret = false;

        s.architectures = (char *[]){"SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11", NULL};
        compile_fails(&s, -EINVAL, "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_PDP11'");
        s.architectures = (char *[]){"x86_64", NULL};
        compile_fails(&s, -EINVAL, "linux.seccomp.architectures[0]: unknown architecture 'x86_64'");
        s.architectures = NULL;

        struct oci_seccomp_arg bad_index[] = {{.index = 6, .value = 1, .op = SECCOMP_OP_EQ}};
        rules[1].args = bad_index;
        rules[1].n_args = 1;
        compile_fails(&s, -EINVAL, "linux.seccomp.syscalls[1].args[0].index: must be below 6, got '6'");
        rules[1].n_args = 0;
}

/* Four rules of three overlapping conditions under different actions: libseccomp 2.5 loops. */
TEST(libseccomp_loop_is_bounded)
{
        struct oci_seccomp_arg a0[] = {{.index = 0, .value = 1, .op = SECCOMP_OP_LE},
                                       {.index = 1, .value = 0, .op = SECCOMP_OP_LT},
                                       {.index = 2, .value = 0, .op = SECCOMP_OP_GT}};
        struct oci_seccomp_arg a1[] = {{.index = 0, .value = 3, .op = SECCOMP_OP_GE},
                                       {.index = 1, .value = 3, .op = SECCOMP_OP_NE},
                                       {.index = 2, .value = 0, .op = SECCOMP_OP_GT}};
        struct oci_seccomp_arg a2[] = {{.index = 0, .value = 3, .op = SECCOMP_OP_GT},
                                       {.index = 1, .value = 0, .op = SECCOMP_OP_GE},
                                       {.index = 2, .value = 3, .op = SECCOMP_OP_LT}};
        struct oci_seccomp_arg a3[] = {{.index = 0, .value = 1, .op = SECCOMP_OP_LE},
                                       {.index = 1, .value = 0, .op = SECCOMP_OP_LT},
                                       {.index = 2, .value = 0, .op = SECCOMP_OP_EQ}};
        struct oci_seccomp_rule rules[] = {
                {.names = (char *[]){"ioctl", NULL}, .action = SECCOMP_ACT_KILL_THREAD, .args = a0, .n_args = 3},
                {.names = (char *[]){"ioctl", NULL}, .action = SECCOMP_ACT_ALLOW, .args = a1, .n_args = 3},
                {.names = (char *[]){"ioctl", NULL}, .action = SECCOMP_ACT_LOG, .args = a2, .n_args = 3},
                {.names = (char *[]){"ioctl", NULL}, .action = SECCOMP_ACT_ALLOW, .args = a3, .n_args = 3},
        };
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ERRNO, .syscalls = rules, .n_syscalls = 4};
        int64_t t0 = now_ms();

        seccomp_set_compile_timeout(300);
        compile_fails(&s, -ETIMEDOUT,
                      "linux.seccomp: libseccomp did not compile the filter within 300 ms; the rules' "
                      "argument conditions are too intricate (fewer rules with conditions on one syscall, "
                      "or fewer conditions per rule, compile)");
        ASSERT_TRUE(now_ms() - t0 < 5000);
        ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* the compiler was reaped */

        /* The same profile without the rule that makes the overlap compiles within the bound. */
        s.n_syscalls = 3;
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
        ASSERT_EQ(verdict(p, __NR_ioctl, 5, 5, 5), SECCOMP_RET_ALLOW);
        ASSERT_EQ(verdict(p, __NR_getpid, 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
        seccomp_set_compile_timeout(10000);
}

TEST(notify_rules)
{
        struct oci_seccomp_rule rules[] = {RULE(SECCOMP_ACT_NOTIFY, "mkdir", "write")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};

        compile_fails(
                &s, -EINVAL,
                "linux.seccomp.syscalls[0].names: SCMP_ACT_NOTIFY cannot be used for 'write' (the runtime "
                "hands the listener over with it)");
        rules[0].names = (char *[]){"sendmsg", "mkdir", NULL};
        compile_fails(&s, -EINVAL,
                      "linux.seccomp.syscalls[0].names: SCMP_ACT_NOTIFY cannot be used for 'sendmsg' (the "
                      "runtime hands the listener over with it)");
        rules[0].names = (char *[]){"mkdir", NULL};
        compile_fails(&s, -EINVAL, "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
        s.listener_path = "/run/agent.sock";
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
        ASSERT_TRUE(p->needs_listener);
        ASSERT_EQ(verdict(p, __NR_mkdir, 0, 0, 0), SECCOMP_RET_USER_NOTIF);

        s.default_action = SECCOMP_ACT_NOTIFY;
        rules[0].action = SECCOMP_ACT_ALLOW;
        compile_fails(
                &s, -EINVAL,
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the runtime "
                "hands the listener over after loading the filter)");

        struct oci_seccomp plain = {.default_action = SECCOMP_ACT_ALLOW, .listener_metadata = "x"};
        compile_fails(&plain, -EINVAL,
                      "linux.seccomp.listenerMetadata: must not be set without listenerPath");
}

/* ------------------------------------------------------------------ cache */

static char *make_tmpdir(void)
{
        char *d = strdup("/tmp/hull-test-seccomp-XXXXXX");
        if (!d || !mkdtemp(d))
                TEST_FAIL("mkdtemp: %m");
        return d;
}

static int prepare_cached(const struct oci_seccomp *s, const char *dir, struct seccomp_prog **p)
{
        err_clear();
        return seccomp_prepare(s, dir, p);
}

static char *cache_path(const char *dir, const struct oci_seccomp *s)
{
        char key[SHA256_HEX_LEN + 1];
        ASSERT_OK(seccomp_cache_key(s, key));
        return strdup_printf("%s/%s.bpf", dir, key);
}

/* Cache file layout (seccomp.c): 24-byte header {magic[8], key_len, n_insns, checksum}, key, insns. */
#define CACHE_HDR 24

static size_t file_key_len(const char *buf)
{
        uint32_t k;
        memcpy(&k, buf + 8, sizeof(k));
        return k;
}

static uint64_t test_fnv1a(const void *data, size_t len)
{
        const uint8_t *p = data;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static bool same_prog(const struct seccomp_prog *a, const struct seccomp_prog *b)
{
        return a->n_insns == b->n_insns && memcmp(a->insns, b->insns, a->n_insns * sizeof(*a->insns)) == 0;
}

static struct oci_seccomp_rule cache_rules[] = {RULE_ERRNO(ENOSPC, "mkdir"),
                                                RULE(SECCOMP_ACT_LOG, "getppid")};
static struct oci_seccomp cache_profile = {.default_action = SECCOMP_ACT_ALLOW,
                                           .architectures = (char *[]){"SCMP_ARCH_X86", NULL},
                                           .syscalls = cache_rules,
                                           .n_syscalls = 2};

TEST(cache_miss_then_hit)
{
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *sub = strdup_printf("%s/new/cache", dir);
        _cleanup_free_ char *path = cache_path(sub, &cache_profile);
        _cleanup_seccomp_prog_ struct seccomp_prog *plain = compile_ok(&cache_profile);
        _cleanup_seccomp_prog_ struct seccomp_prog *miss = NULL, *hit = NULL, *planted = NULL;
        struct stat st;

        /* The missing directory is created, 0700. */
        ASSERT_OK(prepare_cached(&cache_profile, sub, &miss));
        ASSERT_TRUE(same_prog(plain, miss));
        ASSERT_OK(stat(sub, &st));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        {
                _cleanup_free_ char *f = NULL;
                size_t fsize;
                ASSERT_OK(read_full_file(path, 1 << 20, &f, &fsize));
                ASSERT_EQ(fsize, CACHE_HDR + file_key_len(f) + plain->n_insns * sizeof(struct sock_filter));
        }

        ASSERT_OK(prepare_cached(&cache_profile, sub, &hit));
        ASSERT_TRUE(same_prog(plain, hit));

        /*
         * A valid entry with a different program must be what a hit returns: proof that the
         * second call read the file instead of compiling. Build one from our own file (our key)
         * with another profile's instructions and a fresh checksum.
         */
        struct oci_seccomp_rule other_rules[] = {RULE(SECCOMP_ACT_ERRNO, "chdir")};
        struct oci_seccomp other = {
                .default_action = SECCOMP_ACT_ALLOW, .syscalls = other_rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *other_prog = compile_ok(&other);
        _cleanup_free_ char *buf = NULL, *planted_buf = NULL;
        size_t size, klen, plen;
        uint32_t n32 = (uint32_t)other_prog->n_insns;
        uint64_t sum;

        ASSERT_OK(read_full_file(path, 1 << 20, &buf, &size));
        klen = file_key_len(buf);
        plen = CACHE_HDR + klen + other_prog->n_insns * sizeof(struct sock_filter);
        planted_buf = malloc(plen);
        ASSERT_TRUE(planted_buf);
        memcpy(planted_buf, buf, CACHE_HDR + klen);
        memcpy(planted_buf + 12, &n32, sizeof(n32));
        memcpy(planted_buf + CACHE_HDR + klen, other_prog->insns,
               other_prog->n_insns * sizeof(struct sock_filter));
        sum = test_fnv1a(planted_buf + CACHE_HDR, plen - CACHE_HDR);
        memcpy(planted_buf + 16, &sum, sizeof(sum));
        ASSERT_OK(write_file_atomic(path, planted_buf, plen, 0600));
        ASSERT_OK(prepare_cached(&cache_profile, sub, &planted));
        ASSERT_TRUE(same_prog(other_prog, planted));
        ASSERT_FALSE(same_prog(plain, planted));

        /* The other profile's own file under our name (a name collision) is a miss, not a hit. */
        {
                _cleanup_free_ char *opath = cache_path(sub, &other);
                _cleanup_free_ char *obuf = NULL;
                _cleanup_seccomp_prog_ struct seccomp_prog *dummy = NULL, *again = NULL;
                size_t osize;
                ASSERT_OK(prepare_cached(&other, sub, &dummy));
                ASSERT_OK(read_full_file(opath, 1 << 20, &obuf, &osize));
                ASSERT_OK(write_file_atomic(path, obuf, osize, 0600));
                ASSERT_OK(prepare_cached(&cache_profile, sub, &again));
                ASSERT_TRUE(same_prog(plain, again));
        }

        ASSERT_OK(rm_rf(dir));
}

static void check_rewritten(const char *dir, const char *path, const struct seccomp_prog *plain)
{
        _cleanup_seccomp_prog_ struct seccomp_prog *p = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size;

        ASSERT_OK(prepare_cached(&cache_profile, dir, &p));
        ASSERT_TRUE(same_prog(plain, p));
        ASSERT_OK(read_full_file(path, 1 << 20, &buf, &size));
        ASSERT_EQ(size, CACHE_HDR + file_key_len(buf) + plain->n_insns * sizeof(struct sock_filter));
        ASSERT_TRUE(memcmp(buf + CACHE_HDR + file_key_len(buf), plain->insns,
                           plain->n_insns * sizeof(struct sock_filter)) == 0);
}

TEST(cache_corrupt_files_are_rewritten)
{
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = cache_path(dir, &cache_profile);
        _cleanup_seccomp_prog_ struct seccomp_prog *plain = compile_ok(&cache_profile);
        _cleanup_seccomp_prog_ struct seccomp_prog *first = NULL;
        _cleanup_free_ char *good = NULL;
        size_t size;

        ASSERT_OK(prepare_cached(&cache_profile, dir, &first));
        ASSERT_OK(read_full_file(path, 1 << 20, &good, &size));

        /* Short: a crash between write and rename cannot leave this, a full disk can. */
        ASSERT_OK(write_file_atomic(path, good, 100, 0600));
        check_rewritten(dir, path, plain);
        /* Empty. */
        ASSERT_OK(write_file_atomic(path, "", 0, 0600));
        check_rewritten(dir, path, plain);
        /* One flipped bit in an instruction: the checksum catches it. */
        good[size - 3] ^= 0x10;
        ASSERT_OK(write_file_atomic(path, good, size, 0600));
        check_rewritten(dir, path, plain);
        good[size - 3] ^= 0x10;
        /* Wrong magic. */
        good[0] = 'X';
        ASSERT_OK(write_file_atomic(path, good, size, 0600));
        check_rewritten(dir, path, plain);
        good[0] = 'H';
        /* Trailing garbage. */
        _cleanup_free_ char *longer = calloc(1, size + 8);
        ASSERT_TRUE(longer);
        memcpy(longer, good, size);
        ASSERT_OK(write_file_atomic(path, longer, size + 8, 0600));
        check_rewritten(dir, path, plain);
        /* A symlink in place of the file is not followed. */
        ASSERT_OK(unlink(path));
        ASSERT_OK(symlink("/etc/hostname", path));
        check_rewritten(dir, path, plain);

        ASSERT_OK(rm_rf(dir));
}

TEST(cache_dir_writable_by_others_is_not_used)
{
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = cache_path(dir, &cache_profile);
        _cleanup_seccomp_prog_ struct seccomp_prog *p = NULL;

        ASSERT_OK(chmod(dir, 0777));
        ASSERT_OK(prepare_cached(&cache_profile, dir, &p));
        ASSERT_TRUE(access(path, F_OK) < 0);
        ASSERT_OK(rm_rf(dir));
}

TEST(cache_key_covers_every_field)
{
        struct oci_seccomp_arg args[] = {{.index = 1, .value = 2, .value_two = 3, .op = SECCOMP_OP_EQ}};
        struct oci_seccomp_rule rules[] = {
                {.names = (char *[]){"ioctl", NULL}, .action = SECCOMP_ACT_ERRNO, .args = args, .n_args = 1},
        };
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        char base[SHA256_HEX_LEN + 1], k[SHA256_HEX_LEN + 1];
        char *x86[] = {"SCMP_ARCH_X86", NULL}, *one[] = {"ioctl", NULL}, *two[] = {"ioctl", "open", NULL};

        ASSERT_OK(seccomp_cache_key(&s, base));
        ASSERT_OK(seccomp_cache_key(&s, k));
        ASSERT_STREQ(base, k);
#define CHANGED(mutate, restore)                                   \
        do {                                                       \
                mutate;                                            \
                ASSERT_OK(seccomp_cache_key(&s, k));               \
                if (streq(base, k))                                \
                        TEST_FAIL("key unchanged by %s", #mutate); \
                restore;                                           \
        } while (0)
        CHANGED(s.default_action = SECCOMP_ACT_LOG, s.default_action = SECCOMP_ACT_ALLOW);
        CHANGED(s.has_default_errno_ret = true, s.has_default_errno_ret = false);
        CHANGED(s.architectures = x86, s.architectures = NULL);
        CHANGED(rules[0].names = two, rules[0].names = one);
        CHANGED(rules[0].errno_ret = 1, rules[0].errno_ret = 0);
        CHANGED(rules[0].action = SECCOMP_ACT_TRAP, rules[0].action = SECCOMP_ACT_ERRNO);
        CHANGED(args[0].index = 2, args[0].index = 1);
        CHANGED(args[0].value = 3, args[0].value = 2);
        CHANGED(args[0].value_two = 4, args[0].value_two = 3);
        CHANGED(args[0].op = SECCOMP_OP_NE, args[0].op = SECCOMP_OP_EQ);
        CHANGED(rules[0].n_args = 0, rules[0].n_args = 1);
#undef CHANGED
        /* What does not shape the program does not change the key. */
        s.flags = (char *[]){"SECCOMP_FILTER_FLAG_LOG", NULL};
        s.listener_path = "/x";
        ASSERT_OK(seccomp_cache_key(&s, k));
        ASSERT_STREQ(base, k);
        /* Strings are length-prefixed: ("ab","c") differs from ("a","bc"). */
        rules[0].names = (char *[]){"ab", "c", NULL};
        ASSERT_OK(seccomp_cache_key(&s, base));
        rules[0].names = (char *[]){"a", "bc", NULL};
        ASSERT_OK(seccomp_cache_key(&s, k));
        ASSERT_FALSE(streq(base, k));
}

/* ------------------------------------------------------------------- load */

/* Fork; the child sets no_new_privs, loads p and runs fn; returns the child's exit status. */
static int in_filtered_child(const struct seccomp_prog *p, int (*fn)(int listener))
{
        int status;
        pid_t pid = fork();

        if (pid < 0)
                TEST_FAIL("fork: %m");
        if (pid == 0) {
                int listener;
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_prog_load(p, &listener) < 0)
                        _exit(100);
                _exit(fn(listener));
        }
        if (waitpid(pid, &status, 0) != pid)
                TEST_FAIL("waitpid: %m");
        return status;
}

static int try_mkdir(int listener)
{
        if (listener != -EBADF)
                return 101;
        if (mkdir("/proc/hull-test-never", 0700) == 0)
                return 102;
        return errno;
}

static int check_listener(int listener)
{
        /* A seccomp notify fd answers SECCOMP_IOCTL_NOTIF_ID_VALID with ENOENT for a bogus id. */
        uint64_t id = 12345;
        if (listener < 0)
                return 103;
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 || errno != ENOENT)
                return 104;
        return 0;
}

TEST(load_enforces_errno)
{
        struct oci_seccomp_rule rules[] = {RULE_ERRNO(ENOSPC, "mkdir", "mkdirat")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW, .syscalls = rules, .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
        int status = in_filtered_child(p, try_mkdir);

        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), ENOSPC);
}

TEST(load_returns_listener)
{
        struct oci_seccomp_rule rules[] = {RULE(SECCOMP_ACT_NOTIFY, "mkdir")};
        struct oci_seccomp s = {.default_action = SECCOMP_ACT_ALLOW,
                                .listener_path = "/run/agent.sock",
                                .flags = (char *[]){"SECCOMP_FILTER_FLAG_TSYNC", NULL},
                                .syscalls = rules,
                                .n_syscalls = 1};
        _cleanup_seccomp_prog_ struct seccomp_prog *p = compile_ok(&s);
        int status = in_filtered_child(p, check_listener);

        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* --------------------------------------------------------------- listener */

TEST(listener_state_document)
{
        _cleanup_json_ struct json_object *state = NULL, *doc = NULL;
        _cleanup_free_ char *s = NULL;
        struct json_object *v;
        const char *str;

        const char *st = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,"
                         "\"bundle\":\"/b\"}";

        ASSERT_OK(json_parse_buffer(st, strlen(st), "state", &state));
        ASSERT_OK(seccomp_listener_state("1.2.0", 42, "k=v", state, &s));
        ASSERT_OK(json_parse_buffer(s, strlen(s), "doc", &doc));
        ASSERT_OK(json_get_string(doc, "ociVersion", "ociVersion", &str));
        ASSERT_STREQ(str, "1.2.0");
        ASSERT_OK(json_get_string(doc, "metadata", "metadata", &str));
        ASSERT_STREQ(str, "k=v");
        ASSERT_OK(json_get_array(doc, "fds", "fds", &v));
        ASSERT_EQ(json_object_array_length(v), 1);
        ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(v, 0)), "seccompFd");
        ASSERT_OK(json_get_object(doc, "state", "state", &v));
        ASSERT_OK(json_get_string(v, "id", "state.id", &str));
        ASSERT_STREQ(str, "c1");
        ASSERT_TRUE(json_object_object_get_ex(doc, "pid", &v) && json_object_get_int(v) == 42);

        free(TAKE_PTR(s));
        ASSERT_OK(seccomp_listener_state("1.2.0", 42, NULL, state, &s));
        ASSERT_TRUE(strstr(s, "metadata") == NULL);
}

TEST(send_listener_passes_fd_and_state)
{
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *sock = strdup_printf("%s/agent.sock", dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), conn = -EBADF,
                            got = -EBADF;
        _cleanup_close_ int rd = -EBADF, wr = -EBADF;
        int pipefd[2];
        const char *doc = "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":1,\"state\":{}}";
        char buf[256] = {0}, ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {buf, sizeof(buf) - 1};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
        struct cmsghdr *c;
        struct stat a, b;
        ssize_t n;

        ASSERT_TRUE(srv >= 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        ASSERT_OK(bind(srv, (struct sockaddr *)&sa, sizeof(sa)));
        ASSERT_OK(listen(srv, 1));
        ASSERT_OK(pipe2(pipefd, O_CLOEXEC));
        rd = pipefd[0];
        wr = pipefd[1];

        ASSERT_OK(seccomp_send_listener(sock, doc, rd));
        conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
        ASSERT_TRUE(conn >= 0);
        n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
        ASSERT_EQ(n, (ssize_t)strlen(doc));
        ASSERT_STREQ(buf, doc);
        c = CMSG_FIRSTHDR(&mh);
        ASSERT_TRUE(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
        memcpy(&got, CMSG_DATA(c), sizeof(int));
        ASSERT_OK(fstat(got, &a));
        ASSERT_OK(fstat(rd, &b));
        ASSERT_TRUE(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        /* The runtime closes the connection after one document. */
        ASSERT_EQ(recv(conn, buf, sizeof(buf), 0), 0);

        err_clear();
        ASSERT_OK(unlink(sock));
        ASSERT_ERR(seccomp_send_listener(sock, doc, rd), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "linux.seccomp.listenerPath: cannot connect to '");
        ASSERT_OK(rm_rf(dir));

        _cleanup_free_ char *longpath = calloc(1, 200);
        ASSERT_TRUE(longpath);
        memset(longpath, 'a', 150);
        longpath[0] = '/';
        ASSERT_ERR(seccomp_send_listener(longpath, doc, rd), -ENAMETOOLONG);
        ASSERT_CONTAINS(err_msg(-ENAMETOOLONG), "linux.seccomp.listenerPath: longer than 107 bytes");
}

/* --------------------------------------------------------------- features */

static bool array_has(struct json_object *o, const char *key, const char *s)
{
        struct json_object *a;

        if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(a); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i)), s))
                        return true;
        return false;
}

TEST(features)
{
        _cleanup_json_ struct json_object *f = NULL;
        struct json_object *v;

        ASSERT_OK(seccomp_features(&f));
        ASSERT_TRUE(json_object_object_get_ex(f, "enabled", &v) && json_object_get_boolean(v));
        ASSERT_TRUE(array_has(f, "actions", "SCMP_ACT_KILL"));
        ASSERT_TRUE(array_has(f, "actions", "SCMP_ACT_NOTIFY"));
        ASSERT_TRUE(json_object_object_get_ex(f, "actions", &v) && json_object_array_length(v) == 9);
        ASSERT_TRUE(array_has(f, "operators", "SCMP_CMP_MASKED_EQ"));
        ASSERT_TRUE(json_object_object_get_ex(f, "operators", &v) && json_object_array_length(v) == 7);
        ASSERT_TRUE(array_has(f, "archs", "SCMP_ARCH_X86_64"));
        ASSERT_TRUE(array_has(f, "archs", "SCMP_ARCH_AARCH64"));
        ASSERT_TRUE(array_has(f, "knownFlags", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
        /* LOG and TSYNC are in every kernel since 4.14. */
        ASSERT_TRUE(array_has(f, "supportedFlags", "SECCOMP_FILTER_FLAG_LOG"));
        ASSERT_TRUE(array_has(f, "supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC"));
}
