/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-bpf.c - linux.resources.devices on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program.
 *
 * cgroup v2 has no devices controller; the kernel asks an eBPF program attached to the cgroup
 * (BPF_CGROUP_DEVICE, Linux 4.15) whether an open/mknod of a device is allowed. hull generates
 * that program itself, as raw instructions, without libbpf.
 *
 * Semantics: the config's rules, followed by the runtime-spec default devices, are replayed on a
 * model of the v1 devices controller (security/device_cgroup.c; see cgroup_dev_emulate() in
 * cgroup-internal.h), so that one config allows exactly the same devices on v1 and v2. The final
 * state is a default (allow or deny) plus exceptions, and the program is a straight list of
 * checks, one block per exception:
 *
 *   deny by default:  allowed when some exception matches type, major, minor and its access
 *                     covers every requested bit (the kernel's match_exception());
 *   allow by default: denied when some exception matches and shares any requested bit
 *                     (match_exception_partial()).
 *
 * Program context (struct bpf_cgroup_dev_ctx): access_type = (access << 16) | type, major, minor;
 * the program returns 1 to allow and 0 to deny.
 *
 * Lifetime: the program is loaded with the name "hull_devices" and attached with
 * BPF_F_ALLOW_MULTI (so that a parent's programs keep applying as well); the attachment holds the
 * only reference, the fd is closed at once. An update attaches the new program first and then
 * detaches the old ones, found by BPF_PROG_QUERY and their name, so that there is never a moment
 * without a program (both apply together for that moment: the stricter answer wins). Destroy
 * detaches them before rmdir.
 */
#include <inttypes.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "cgroup-internal.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define PROG_NAME "hull_devices"

const struct oci_device_rule cgroup_default_device_rules[] = {
        { true, 'c', 1, 3, "rwm" },   /* /dev/null */
        { true, 'c', 1, 5, "rwm" },   /* /dev/zero */
        { true, 'c', 1, 7, "rwm" },   /* /dev/full */
        { true, 'c', 1, 8, "rwm" },   /* /dev/random */
        { true, 'c', 1, 9, "rwm" },   /* /dev/urandom */
        { true, 'c', 5, 0, "rwm" },   /* /dev/tty */
        { true, 'c', 5, 1, "rwm" },   /* /dev/console */
        { true, 'c', 5, 2, "rwm" },   /* /dev/ptmx */
        { true, 'c', 136, -1, "rwm" }, /* /dev/pts/N */
};
const size_t cgroup_n_default_device_rules = ELEMENTSOF(cgroup_default_device_rules);

static uint8_t access_bits(const char *a)
{
        uint8_t bits = 0;
        if (!a || !*a)
                return CGROUP_DEV_ACC_READ | CGROUP_DEV_ACC_WRITE | CGROUP_DEV_ACC_MKNOD;
        for (; *a; a++)
                bits |= *a == 'r' ? CGROUP_DEV_ACC_READ : *a == 'w' ? CGROUP_DEV_ACC_WRITE : CGROUP_DEV_ACC_MKNOD;
        return bits;
}

int cgroup_dev_rule_check(const struct oci_device_rule *r, size_t i)
{
        if (r->type != 'a' && r->type != 'c' && r->type != 'b')
                return err_set(-EINVAL, "linux.resources.devices[%zu].type: unknown device type '%c'", i,
                               r->type ? r->type : '?');
        for (const char *a = r->access; *a; a++)
                if (!strchr("rwm", *a))
                        return err_set(-EINVAL, "linux.resources.devices[%zu].access: '%s' is not a subset of 'rwm'",
                                       i, r->access);
        if (r->major < -1 || r->major >= UINT32_MAX)
                return err_set(-EINVAL, "linux.resources.devices[%zu].major: %" PRIi64 " is out of range", i,
                               r->major);
        if (r->minor < -1 || r->minor >= UINT32_MAX)
                return err_set(-EINVAL, "linux.resources.devices[%zu].minor: %" PRIi64 " is out of range", i,
                               r->minor);
        return 0;
}

void cgroup_dev_rule_format(const struct oci_device_rule *r, char buf[static 64])
{
        char maj[16] = "*", min[16] = "*";

        if (r->type == 'a') {
                /* The kernel reads "a" alone: all devices, all access. */
                snprintf(buf, 64, "a *:* rwm");
                return;
        }
        if (r->major >= 0)
                snprintf(maj, sizeof(maj), "%" PRIi64, r->major);
        if (r->minor >= 0)
                snprintf(min, sizeof(min), "%" PRIi64, r->minor);
        snprintf(buf, 64, "%c %s:%s %s", r->type, maj, min, r->access[0] ? r->access : "rwm");
}

void cgroup_dev_state_done(struct cgroup_dev_state *s)
{
        free(s->ex);
        s->ex = NULL;
        s->n_ex = 0;
}

static void ex_remove(struct cgroup_dev_state *s, const struct cgroup_dev_exception *e)
{
        for (size_t i = 0; i < s->n_ex; i++) {
                struct cgroup_dev_exception *w = &s->ex[i];
                if (w->type != e->type || w->major != e->major || w->minor != e->minor)
                        continue;
                w->access &= (uint8_t)~e->access;
                if (!w->access) {
                        memmove(w, w + 1, sizeof(*w) * (s->n_ex - i - 1));
                        s->n_ex--;
                        i--;
                }
        }
}

static int ex_add(struct cgroup_dev_state *s, const struct cgroup_dev_exception *e)
{
        for (size_t i = 0; i < s->n_ex; i++) {
                struct cgroup_dev_exception *w = &s->ex[i];
                if (w->type == e->type && w->major == e->major && w->minor == e->minor) {
                        w->access |= e->access;
                        return 0;
                }
        }
        struct cgroup_dev_exception *a = realloc(s->ex, sizeof(*a) * (s->n_ex + 1));
        if (!a)
                return -ENOMEM;
        s->ex = a;
        s->ex[s->n_ex++] = *e;
        return 0;
}

int cgroup_dev_emulate(const struct oci_device_rule *rules, size_t n, bool with_defaults,
                       struct cgroup_dev_state *ret)
{
        struct cgroup_dev_state s = { .default_allow = false }; /* v1 starts from "a" written to devices.deny */
        size_t total = n + (with_defaults ? cgroup_n_default_device_rules : 0);
        int r;

        for (size_t i = 0; i < n; i++) {
                r = cgroup_dev_rule_check(&rules[i], i);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < total; i++) {
                const struct oci_device_rule *d = i < n ? &rules[i] : &cgroup_default_device_rules[i - n];
                if (d->type == 'a') {
                        s.default_allow = d->allow;
                        s.n_ex = 0;
                        continue;
                }
                struct cgroup_dev_exception e = {
                        .type = d->type,
                        .major = d->major < 0 ? UINT32_MAX : (uint32_t)d->major,
                        .minor = d->minor < 0 ? UINT32_MAX : (uint32_t)d->minor,
                        .access = access_bits(d->access),
                };
                /* An exception is what differs from the default: the same verb removes one. */
                if (d->allow == s.default_allow)
                        ex_remove(&s, &e);
                else if ((r = ex_add(&s, &e)) < 0) {
                        cgroup_dev_state_done(&s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

/* ------------------------------------------------------------------ code generation */

static struct bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

#define LDX_W(dst, src, off) ins(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV32_REG(dst, src)  ins(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define AND32_IMM(dst, imm)  ins(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH32_IMM(dst, imm)  ins(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define MOV64_IMM(dst, imm)  ins(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
/* 32-bit compares (Linux 5.1): the context fields are u32, so the whole u32 range compares right. */
#define JNE32_IMM(dst, imm, off) ins(BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JEQ32_IMM(dst, imm, off) ins(BPF_JMP32 | BPF_JEQ | BPF_K, dst, 0, off, imm)
#define EXIT()                   ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5, R6 };

int cgroup_bpf_generate(const struct cgroup_dev_state *s, struct bpf_insn **ret, size_t *ret_n)
{
        /* 6 prologue + at most 8 per exception + 2 epilogue */
        _cleanup_free_ struct bpf_insn *p = calloc(8 + 8 * s->n_ex, sizeof(*p));
        size_t n = 0;

        if (!p)
                return -ENOMEM;
        p[n++] = LDX_W(R2, R1, 0);      /* access_type */
        p[n++] = MOV32_REG(R3, R2);     /* type = access_type & 0xffff */
        p[n++] = AND32_IMM(R3, 0xffff);
        p[n++] = RSH32_IMM(R2, 16);     /* access = access_type >> 16 */
        p[n++] = LDX_W(R4, R1, 4);      /* major */
        p[n++] = LDX_W(R5, R1, 8);      /* minor */

        for (size_t i = 0; i < s->n_ex; i++) {
                const struct cgroup_dev_exception *e = &s->ex[i];
                struct { uint8_t reg; uint32_t v; } cmp[3];
                size_t nc = 0;

                cmp[nc++] = (typeof(cmp[0])){ R3, e->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR };
                if (e->major != UINT32_MAX)
                        cmp[nc++] = (typeof(cmp[0])){ R4, e->major };
                if (e->minor != UINT32_MAX)
                        cmp[nc++] = (typeof(cmp[0])){ R5, e->minor };
                /* Each compare skips the rest of the block: later compares + 5 access/return insns. */
                for (size_t c = 0; c < nc; c++)
                        p[n++] = JNE32_IMM(cmp[c].reg, (int32_t)cmp[c].v, (int16_t)(nc - c - 1 + 5));
                p[n++] = MOV32_REG(R6, R2);
                if (s->default_allow) {
                        p[n++] = AND32_IMM(R6, e->access);       /* any requested bit denied? */
                        p[n++] = JEQ32_IMM(R6, 0, 2);
                        p[n++] = MOV64_IMM(R0, 0);
                } else {
                        p[n++] = AND32_IMM(R6, ~e->access & 7); /* a requested bit not covered? */
                        p[n++] = JNE32_IMM(R6, 0, 2);
                        p[n++] = MOV64_IMM(R0, 1);
                }
                p[n++] = EXIT();
        }
        p[n++] = MOV64_IMM(R0, s->default_allow ? 1 : 0);
        p[n++] = EXIT();
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

/* ------------------------------------------------------------------ kernel side */

static int bpf(int cmd, union bpf_attr *a)
{
        long r = syscall(SYS_bpf, cmd, a, sizeof(*a));
        return r < 0 ? negative_errno() : (int)r;
}

int cgroup_bpf_load(const struct bpf_insn *insns, size_t n, int *ret)
{
        union bpf_attr a;
        char *log = NULL;
        int fd;

        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (uint64_t)(uintptr_t)insns;
        a.insn_cnt = (uint32_t)n;
        /* No helper is called, so no GPL-only check applies. */
        a.license = (uint64_t)(uintptr_t) "Apache-2.0";
        memcpy(a.prog_name, PROG_NAME, sizeof(PROG_NAME));
        fd = bpf(BPF_PROG_LOAD, &a);
        if (fd >= 0) {
                *ret = fd;
                return 0;
        }
        if (fd == -EPERM)
                return err_set(fd, "linux.resources.devices: loading the device eBPF program needs CAP_SYS_ADMIN");
        /* Load again with the verifier's log, for the debug log and the message. */
        log = calloc(1, 65536);
        if (log) {
                a.log_level = 1;
                a.log_buf = (uint64_t)(uintptr_t)log;
                a.log_size = 65536;
                int k = bpf(BPF_PROG_LOAD, &a);
                if (k >= 0)
                        close(k);
                log_debug("cgroup: device program refused (%zu insns): %s", n, log);
                char *last = log + strlen(log);
                while (last > log && last[-1] == '\n')
                        *--last = 0;
                char *nl = strrchr(log, '\n');
                err_set(fd, "linux.resources.devices: the kernel refused the device eBPF program: %s",
                        nl ? nl + 1 : log);
                free(log);
                return fd;
        }
        return err_set(fd, "linux.resources.devices: the kernel refused the device eBPF program: %s",
                       strerror(-fd));
}

/* The fds of the programs named PROG_NAME attached to dfd (at most max). */
static int query_ours(int dfd, int *fds, size_t max, size_t *ret_n)
{
        uint32_t ids[64];
        union bpf_attr a;
        size_t n = 0;
        int r;

        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t)dfd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (uint64_t)(uintptr_t)ids;
        a.query.prog_cnt = ELEMENTSOF(ids);
        r = bpf(BPF_PROG_QUERY, &a);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < MIN(a.query.prog_cnt, (uint32_t)ELEMENTSOF(ids)) && n < max; i++) {
                struct bpf_prog_info info;
                union bpf_attr g;
                int fd;

                memset(&g, 0, sizeof(g));
                g.prog_id = ids[i];
                fd = bpf(BPF_PROG_GET_FD_BY_ID, &g);
                if (fd < 0)
                        continue; /* detached meanwhile */
                memset(&info, 0, sizeof(info));
                memset(&g, 0, sizeof(g));
                g.info.bpf_fd = (uint32_t)fd;
                g.info.info_len = sizeof(info);
                g.info.info = (uint64_t)(uintptr_t)&info;
                if (bpf(BPF_OBJ_GET_INFO_BY_FD, &g) < 0 || strncmp(info.name, PROG_NAME, sizeof(info.name)) != 0) {
                        close(fd);
                        continue;
                }
                fds[n++] = fd;
        }
        *ret_n = n;
        return 0;
}

static int prog_detach(int dfd, int prog_fd)
{
        union bpf_attr a;

        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)dfd;
        a.attach_bpf_fd = (uint32_t)prog_fd;
        a.attach_type = BPF_CGROUP_DEVICE;
        return bpf(BPF_PROG_DETACH, &a);
}

int cgroup_bpf_apply_devices(int dfd, const struct oci_resources *res, bool update)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        _cleanup_close_ int prog = -EBADF;
        struct cgroup_dev_state st;
        int old[64];
        size_t n_insns, n_old = 0;
        union bpf_attr a;
        int r;

        r = cgroup_dev_emulate(res->devices, res->n_devices, true, &st);
        if (r < 0)
                return r;
        r = cgroup_bpf_generate(&st, &insns, &n_insns);
        cgroup_dev_state_done(&st);
        if (r < 0)
                return r;
        r = cgroup_bpf_load(insns, n_insns, &prog);
        if (r < 0)
                return r;
        /* A cgroup this runtime just created has no program of ours yet: query only on update. */
        if (update) {
                r = query_ours(dfd, old, ELEMENTSOF(old), &n_old);
                if (r < 0)
                        log_debug("cgroup: BPF_PROG_QUERY failed: %s", strerror(-r));
        }

        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)dfd;
        a.attach_bpf_fd = (uint32_t)prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        r = bpf(BPF_PROG_ATTACH, &a);
        if (r < 0)
                err_set(r, "linux.resources.devices: cannot attach the device eBPF program: %s", strerror(-r));
        for (size_t i = 0; i < n_old; i++) {
                if (r >= 0) {
                        int k = prog_detach(dfd, old[i]);
                        if (k < 0)
                                r = err_set(k, "linux.resources.devices: cannot detach the previous device program: %s",
                                            strerror(-k));
                }
                close(old[i]);
        }
        return r < 0 ? r : 0;
}

int cgroup_bpf_detach_devices(int dfd)
{
        int fds[64], r;
        size_t n = 0;

        r = query_ours(dfd, fds, ELEMENTSOF(fds), &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                int k = prog_detach(dfd, fds[i]);
                if (k < 0 && r >= 0)
                        r = k;
                close(fds[i]);
        }
        return r;
}
