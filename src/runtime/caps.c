/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caps.c - capability names (libcap) and applying process.capabilities (capset(2), prctl(2)).
 *
 * Names: libcap's cap_from_name()/cap_to_name() know every capability of the libcap
 * release we were built with; the spec spells them "CAP_CHOWN". libcap also accepts
 * "cap_chown", "Cap_Chown" and plain numbers: cap_from_name_strict() takes only the
 * spec's form so that a config that works here works with every runtime. The
 * number-to-name table is built once (pthread_once) from libcap and is read-only after.
 *
 * Applying: runtime-spec config.md "capabilities" lists five sets. The bounding set
 * can only shrink (PR_CAPBSET_DROP); effective/permitted/inheritable go in one capset(2)
 * with _LINUX_CAPABILITY_VERSION_3 (two 32-bit words per set); the ambient set is
 * cleared and then raised one by one (PR_CAP_AMBIENT, Linux 4.3), since the kernel
 * has no call that sets it whole. Bits above cap_last_cap() are masked off before any
 * syscall: the kernel answers EINVAL for them.
 *
 * Everything on the apply path is async-signal-safe: raw syscalls, stack memory, and
 * a cached int.
 */
#include <pthread.h>
#include <sys/capability.h> /* libcap; includes <linux/capability.h> in its own way */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "caps.h"
#include "config.h"
#include "error.h"

#define CAP_NAME_MAX 32
#define CAP_SLOTS    64

static char cap_names[CAP_SLOTS][CAP_NAME_MAX];
static pthread_once_t cap_names_once = PTHREAD_ONCE_INIT;
static int cap_last_cached = -1;

static void cap_names_init(void)
{
        for (int i = 0; i < CAP_SLOTS; i++) {
                char *n = cap_to_name((cap_value_t)i);
                size_t l;

                if (!n)
                        continue;
                l = strlen(n);
                /* libcap prints a number for a capability it has no name for. */
                if (l + 1 > CAP_NAME_MAX || (n[0] >= '0' && n[0] <= '9') || !startswith(n, "cap_")) {
                        cap_free(n);
                        continue;
                }
                for (size_t k = 0; k <= l; k++)
                        cap_names[i][k] = (n[k] >= 'a' && n[k] <= 'z') ? (char)(n[k] - 'a' + 'A') : n[k];
                cap_free(n);
        }
}

const char *cap_to_spec_name(int cap)
{
        if (cap < 0 || cap >= CAP_SLOTS)
                return NULL;
        pthread_once(&cap_names_once, cap_names_init);
        return cap_names[cap][0] ? cap_names[cap] : NULL;
}

int cap_from_name_strict(const char *name)
{
        const char *rest;
        cap_value_t v;

        if (!name)
                return -EINVAL;
        rest = startswith(name, "CAP_");
        if (!rest || !*rest)
                return -EINVAL;
        for (const char *p = rest; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return -EINVAL;
        if (cap_from_name(name, &v) < 0 || v < 0 || v >= CAP_SLOTS)
                return -EINVAL;
        return (int)v;
}

int cap_last_cap(void)
{
        int lo = 0, hi = CAP_SLOTS - 1;

        if (cap_last_cached >= 0)
                return cap_last_cached;
        /*
         * PR_CAPBSET_READ fails with EINVAL exactly for numbers above the kernel's
         * CAP_LAST_CAP (kernel/sys.c: !cap_valid()), and capability numbers are dense.
         * Capability 0 always exists: binary search for the last valid one.
         */
        while (lo < hi) {
                int mid = lo + (hi - lo + 1) / 2;
                if (prctl(PR_CAPBSET_READ, (unsigned long)mid, 0, 0, 0) >= 0)
                        lo = mid;
                else
                        hi = mid - 1;
        }
        cap_last_cached = lo;
        return lo;
}

static uint64_t known_mask(void)
{
        int last = cap_last_cap();
        return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

static int first_bit(uint64_t m)
{
        return __builtin_ctzll(m);
}

static int subset_error(const char *set, uint64_t extra, const char *other)
{
        int cap = first_bit(extra);
        const char *n = cap_to_spec_name(cap);

        if (n)
                return err_set(-EINVAL, "process.capabilities.%s: '%s' is not in the %s set", set, n, other);
        return err_set(-EINVAL, "process.capabilities.%s: capability %d is not in the %s set", set, cap,
                       other);
}

int caps_validate(const struct oci_capabilities *c)
{
        uint64_t known = known_mask();
        uint64_t eff = c->effective & known, perm = c->permitted & known, inh = c->inheritable & known,
                 bnd = c->bounding & known;

        /* capset(2): "effective must be a subset of the new permitted set". */
        if (eff & ~perm)
                return subset_error("effective", eff & ~perm, "permitted");
        /* capset(2): the new inheritable set must lie within the bounding set (cap_capset()). */
        if (inh & ~bnd)
                return subset_error("inheritable", inh & ~bnd, "bounding");
        return 0;
}

int caps_drop_bounding(uint64_t bounding)
{
        int last = cap_last_cap();

        for (int cap = 0; cap <= last; cap++) {
                int r;

                if (bounding & (UINT64_C(1) << cap))
                        continue;
                r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (r < 0)
                        return negative_errno();
                /* Already gone: no need for CAP_SETPCAP, so a second call is harmless. */
                if (r == 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0)
                        return negative_errno();
        }
        return 0;
}

int caps_set(const struct oci_capabilities *c)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
        uint64_t known = known_mask();
        uint64_t eff = c->effective & known, perm = c->permitted & known, inh = c->inheritable & known,
                 amb = c->ambient & known;

        data[0].effective = (uint32_t)eff;
        data[1].effective = (uint32_t)(eff >> 32);
        data[0].permitted = (uint32_t)perm;
        data[1].permitted = (uint32_t)(perm >> 32);
        data[0].inheritable = (uint32_t)inh;
        data[1].inheritable = (uint32_t)(inh >> 32);
        /* glibc has no capset() wrapper; libcap's would allocate. */
        if (syscall(SYS_capset, &hdr, data) < 0)
                return negative_errno();

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                /* Before Linux 4.3 there is no ambient set: fine as long as none is asked for. */
                if (errno == EINVAL && amb == 0)
                        return 0;
                return negative_errno();
        }
        /*
         * The kernel raises an ambient capability only when it is both permitted and inheritable.
         * runc's own default config lists ambient ones without inheritable ones and runc starts it,
         * leaving those out: do the same instead of refusing a config the ecosystem relies on.
         */
        amb &= perm & inh;
        while (amb) {
                int cap = first_bit(amb);

                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0)
                        return negative_errno();
                amb &= amb - 1;
        }
        return 0;
}
