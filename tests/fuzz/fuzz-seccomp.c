/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-seccomp - config.json (outside input) through config_parse() and then seccomp_prepare():
 * every action, errno, operator, architecture, flag and name combination the parser lets through
 * must compile to a program the kernel would take, or fail with a message.
 *
 * libseccomp compiles in a child process bounded in time (seccomp_prepare()); here the bound
 * is 500 ms, so that the rule sets on which libseccomp 2.5 loops cost half a second each and
 * must come back as -ETIMEDOUT with a message, not hang the target.
 *
 * Invariants checked: on success 1..BPF_MAXINSNS instructions ending in a RET, needs_listener
 * set exactly when a rule or the default action is SCMP_ACT_NOTIFY, and no flag outside the
 * spec's four; on failure a negative errno and, for -EINVAL, a message.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KNOWN_FLAGS \
        (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | (1u << 5))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct oci_config *c = NULL;
        struct seccomp_prog *p = NULL;
        const struct oci_seccomp *s;
        size_t notify;
        int r;

        if (size > 1 << 16)
                return 0;
        seccomp_set_compile_timeout(500);
        err_clear();
        if (config_parse((const char *)data, size, &c) < 0)
                return 0;
        s = c->linux_cfg ? c->linux_cfg->seccomp : NULL;
        if (s) {
                notify = s->default_action == SECCOMP_ACT_NOTIFY;
                for (size_t i = 0; i < s->n_syscalls; i++)
                        notify += s->syscalls[i].action == SECCOMP_ACT_NOTIFY;
                err_clear();
                r = seccomp_prepare(s, NULL, &p);
                if (r >= 0) {
                        if (!p || p->n_insns == 0 || p->n_insns > BPF_MAXINSNS ||
                            BPF_CLASS(p->insns[p->n_insns - 1].code) != BPF_RET)
                                abort();
                        if (p->needs_listener != (notify > 0) || (p->flags & ~KNOWN_FLAGS))
                                abort();
                        seccomp_prog_free(p);
                } else if (p || (r == -EINVAL && !err_has_msg()))
                        abort();
        }
        config_free(c);
        return 0;
}
