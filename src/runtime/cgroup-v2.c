/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-v2.c - linux.resources on the unified hierarchy (cgroup v2), the cgroup2 freezer and
 * the "no internal processes" plumbing (cgroup.subtree_control) that v2 needs.
 *
 * Values the spec expresses in v1 terms are converted as runc and crun 1.8 convert them, so that
 * one config gives the same limits under either runtime: cpu.shares -> cpu.weight,
 * blkio.weight -> io.weight (when BFQ's io.bfq.weight is absent), memory.swap (memory + swap) ->
 * memory.swap.max (swap alone). Device rules become an eBPF program (cgroup-bpf.c).
 *
 * Whether a controller is available in the container's cgroup is not read up front: its files
 * exist only when the parent enables it, so ENOENT on the first file of a section becomes
 * "<field>: <controller> controller is not available". Fields v2 cannot express at all fail
 * naming the field (realtime*, leafWeight, network.*), except those the kernel dropped as
 * meaningless (kernel, kernelTCP, swappiness, disableOOMKiller, useHierarchy), which are ignored
 * with a debug message.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <time.h>

#include "cgroup-internal.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define F_MEM "linux.resources.memory."
#define F_CPU "linux.resources.cpu."
#define F_BLKIO "linux.resources.blockIO."

uint64_t cgroup_cpu_shares_to_weight(uint64_t shares)
{
        /* Linear map of v1's [2, 262144] onto v2's [1, 10000]: runc's formula, used by crun 1.8 too. */
        shares = MAX(MIN(shares, 262144u), 2u);
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
        /* [10, 1000] onto [1, 10000], as runc converts blkio.weight for io.weight. */
        weight = MAX(MIN(weight, 1000u), 10u);
        return 1 + ((weight - 10) * 9999) / 990;
}

int cgroup_swap_to_v2(int64_t limit, int64_t swap, int64_t *ret)
{
        if (swap == -1) {
                *ret = -1;
                return 0;
        }
        if (swap < -1)
                return err_set(-EINVAL, F_MEM "swap: invalid value %" PRIi64, swap);
        if (limit <= 0)
                return err_set(-EINVAL, F_MEM "swap: a swap limit needs a memory limit (memory.limit is %s)",
                               limit == -1 ? "unlimited" : "unset");
        if (swap < limit)
                return err_set(-EINVAL,
                               F_MEM "swap: %" PRIi64 " is below memory.limit %" PRIi64
                                     " (swap counts memory plus swap)",
                               swap, limit);
        *ret = swap - limit;
        return 0;
}

static const char *fmt_max(char buf[static 32], int64_t v)
{
        if (v < 0)
                return "max";
        snprintf(buf, 32, "%" PRIi64, v);
        return buf;
}

/* Write, turning ENOENT into "<field>: <controller> controller is not available". */
static int write_ctrl(int dfd, const char *file, const char *value, const char *field, enum cgroup_controller c)
{
        int r = cg_write(dfd, file, value);
        if (r == -ENOENT)
                return cg_err_no_controller(field, c);
        if (r < 0)
                return err_set(r, "%s: cannot write '%s' to %s: %s", field, value, file, strerror(-r));
        return 0;
}

/* "+cpu +memory" for the controllers in mask, in the kernel's order (cgroup2 names: "io"). */
static char *enable_list(unsigned mask)
{
        char *list = NULL;

        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
                if (!(mask & CGROUP_MASK(c)))
                        continue;
                const char *name = c == CGROUP_BLKIO ? "io" : cgroup_controller_to_string(c);
                char *w = strdup_printf("%s%s+%s", list ? list : "", list ? " " : "", name);
                free(list);
                if (!w)
                        return NULL;
                list = w;
        }
        return list;
}

static int read_mask(int mfd, const char *dir, const char *file, unsigned *ret)
{
        _cleanup_free_ char *p = strdup_printf("%s%s%s", dir, *dir ? "/" : "", file), *s = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = cg_read(mfd, p, &s);
        if (r < 0)
                return r;
        *ret = cgroup_controller_mask(s, ' ');
        return 0;
}

int cgroup_v2_enable_controllers(int mfd, const char *path, unsigned mask, bool strict)
{
        _cleanup_free_ char *p = strdup(path + 1);
        unsigned root_avail, leaf_avail, need;
        size_t n = 1;
        int r;

        if (!p)
                return -ENOMEM;
        /*
         * The leaf offers what every level above it hands down. When it already offers all that
         * the hierarchy root has (the common case: two reads), there is nothing to do.
         */
        if ((r = read_mask(mfd, "", "cgroup.controllers", &root_avail)) < 0 ||
            (r = read_mask(mfd, p, "cgroup.controllers", &leaf_avail)) < 0)
                return r;
        need = mask & root_avail & ~leaf_avail;
        if (!need)
                return 0;
        for (char *s = p; *s; s++)
                n += *s == '/';
        /*
         * Levels 0 (root) .. n - 1 (the parent), top-down, since a level can hand down only what its
         * own parent enabled: a parent this runtime did not create (made by an administrator or a
         * service manager) may hand down nothing. runc and crun enable the same way.
         */
        for (size_t level = 0, len = 0; level < n; level++) {
                _cleanup_free_ char *dir = NULL, *fs = NULL, *want = NULL;
                unsigned avail, on;

                if (level > 1)
                        len++; /* the '/' before the next component */
                if (level > 0)
                        len += strcspn(p + len, "/");
                dir = strndup(p, len);
                if (!dir)
                        return -ENOMEM;
                if ((r = read_mask(mfd, dir, "cgroup.controllers", &avail)) < 0 ||
                    (r = read_mask(mfd, dir, "cgroup.subtree_control", &on)) < 0) {
                        if (strict)
                                return r;
                        continue;
                }
                if (!(need & avail & ~on))
                        continue;
                want = enable_list(need & avail & ~on);
                fs = strdup_printf("%s%scgroup.subtree_control", dir, *dir ? "/" : "");
                if (!want || !fs)
                        return -ENOMEM;
                r = cg_write(mfd, fs, want);
                if (r < 0) {
                        /*
                         * EBUSY: the level has processes of its own (cgroup2 "no internal
                         * processes"), e.g. a relative cgroupsPath below the runtime's own cgroup.
                         * The limits that need the controller then fail naming their field.
                         */
                        log_debug("cgroup: cannot write '%s' to %s: %s", want, fs, strerror(-r));
                        if (strict)
                                return r;
                }
        }
        return 0;
}

static int apply_memory(int dfd, const struct oci_resources *r, bool update)
{
        char b[32];
        int k;

        if (r->has_memory_kernel)
                log_debug(F_MEM "kernel: ignored, cgroup v2 has no kernel memory limit");
        if (r->has_memory_kernel_tcp)
                log_debug(F_MEM "kernelTCP: ignored, cgroup v2 has no kernel TCP memory limit");
        if (r->has_memory_swappiness)
                log_debug(F_MEM "swappiness: ignored, cgroup v2 has no per-cgroup swappiness");
        if (r->has_disable_oom_killer && r->disable_oom_killer)
                log_debug(F_MEM "disableOOMKiller: ignored, cgroup v2 cannot disable the OOM killer");
        if (r->has_use_hierarchy)
                log_debug(F_MEM "useHierarchy: ignored, cgroup v2 is always hierarchical");

        if (r->has_memory_limit) {
                if (r->memory_limit < -1 || r->memory_limit == 0)
                        return err_set(-EINVAL, F_MEM "limit: invalid value %" PRIi64, r->memory_limit);
                if (update && r->memory_check_before_update && r->memory_limit > 0) {
                        uint64_t usage;
                        if (cg_read_u64(dfd, "memory.current", &usage) >= 0 && (uint64_t)r->memory_limit < usage)
                                return err_set(-EBUSY,
                                               F_MEM "limit: %" PRIi64 " is below the current usage %" PRIu64,
                                               r->memory_limit, usage);
                }
                k = write_ctrl(dfd, "memory.max", fmt_max(b, r->memory_limit), F_MEM "limit", CGROUP_MEMORY);
                if (k < 0)
                        return k;
        }
        if (r->has_memory_reservation) {
                k = write_ctrl(dfd, "memory.low", fmt_max(b, r->memory_reservation), F_MEM "reservation",
                               CGROUP_MEMORY);
                if (k < 0)
                        return k;
        }
        /* 0 means unset for swap, as runc reads it; an unlimited memory limit lifts swap too. */
        if ((r->has_memory_swap && r->memory_swap != 0) || (r->has_memory_limit && r->memory_limit == -1)) {
                int64_t limit = r->has_memory_limit ? r->memory_limit : 0, swap = r->has_memory_swap ? r->memory_swap : -1,
                        v;
                if (swap == 0)
                        swap = -1;
                if (!r->has_memory_limit && swap > 0) {
                        uint64_t cur;
                        /* update of swap alone: the limit in force is the base of the conversion */
                        limit = cg_read_u64(dfd, "memory.max", &cur) >= 0 && cur != UINT64_MAX ? (int64_t)cur : -1;
                }
                k = cgroup_swap_to_v2(limit, swap, &v);
                if (k < 0)
                        return k;
                k = cg_write(dfd, "memory.swap.max", fmt_max(b, v));
                if (k == -ENOENT && v >= 0)
                        return err_set(-EOPNOTSUPP, F_MEM "swap: swap accounting is not enabled in this kernel");
                if (k < 0 && k != -ENOENT)
                        return err_set(k, F_MEM "swap: cannot write '%s' to memory.swap.max: %s", b, strerror(-k));
        }
        return 0;
}

static int apply_cpu(int dfd, const struct oci_resources *r, bool update)
{
        char b[64], q[32];
        int k;

        if (r->has_cpu_rt_runtime || r->has_cpu_rt_period)
                return err_set(-EOPNOTSUPP, "%s: real-time group scheduling is not available on cgroup v2",
                               r->has_cpu_rt_runtime ? F_CPU "realtimeRuntime" : F_CPU "realtimePeriod");
        if (r->has_cpu_shares) {
                snprintf(b, sizeof(b), "%" PRIu64, cgroup_cpu_shares_to_weight(r->cpu_shares));
                k = write_ctrl(dfd, "cpu.weight", b, F_CPU "shares", CGROUP_CPU);
                if (k < 0)
                        return k;
        }
        if (r->has_cpu_quota || r->has_cpu_period) {
                /* cpu.max is "QUOTA PERIOD"; a lone QUOTA keeps the period in force. */
                const char *quota = r->has_cpu_quota ? fmt_max(q, r->cpu_quota) : "max";
                _cleanup_free_ char *cur = NULL;
                if (!r->has_cpu_quota && update && cg_read(dfd, "cpu.max", &cur) >= 0) {
                        cur[strcspn(cur, " \n")] = 0;
                        quota = cur;
                }
                if (r->has_cpu_period)
                        snprintf(b, sizeof(b), "%s %" PRIu64, quota, r->cpu_period);
                else
                        snprintf(b, sizeof(b), "%s", quota);
                k = write_ctrl(dfd, "cpu.max", b, r->has_cpu_quota ? F_CPU "quota" : F_CPU "period", CGROUP_CPU);
                if (k < 0)
                        return k;
        }
        if (r->has_cpu_burst) {
                snprintf(b, sizeof(b), "%" PRIu64, r->cpu_burst);
                k = write_ctrl(dfd, "cpu.max.burst", b, F_CPU "burst", CGROUP_CPU);
                if (k < 0)
                        return k;
        }
        if (r->has_cpu_idle) {
                snprintf(b, sizeof(b), "%" PRIi64, r->cpu_idle);
                k = write_ctrl(dfd, "cpu.idle", b, F_CPU "idle", CGROUP_CPU);
                if (k < 0)
                        return k;
        }
        if (r->cpu_cpus && (k = write_ctrl(dfd, "cpuset.cpus", r->cpu_cpus, F_CPU "cpus", CGROUP_CPUSET)) < 0)
                return k;
        if (r->cpu_mems && (k = write_ctrl(dfd, "cpuset.mems", r->cpu_mems, F_CPU "mems", CGROUP_CPUSET)) < 0)
                return k;
        return 0;
}

static int write_io_max(int dfd, const char *key, const struct oci_throttle_device *t, size_t n, const char *field)
{
        for (size_t i = 0; i < n; i++) {
                char line[96], f[96];
                snprintf(line, sizeof(line), "%" PRIi64 ":%" PRIi64 " %s=%" PRIu64, t[i].major, t[i].minor, key,
                         t[i].rate);
                snprintf(f, sizeof(f), "%s[%zu]", field, i);
                int k = write_ctrl(dfd, "io.max", line, f, CGROUP_BLKIO);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int apply_io(int dfd, const struct oci_resources *r)
{
        char b[96];
        int k;
        /* BFQ's io.bfq.weight takes v1's range as it is; io.weight (io.cost) needs the conversion. */
        bool bfq = (r->has_blkio_weight || r->n_blkio_weight_devices) && faccessat(dfd, "io.bfq.weight", F_OK, 0) >= 0;

        if (r->has_blkio_leaf_weight)
                return err_set(-EOPNOTSUPP, F_BLKIO "leafWeight: not available on cgroup v2");
        if (r->has_blkio_weight) {
                if (bfq)
                        snprintf(b, sizeof(b), "%" PRIu16, r->blkio_weight);
                else
                        snprintf(b, sizeof(b), "default %" PRIu64, cgroup_blkio_weight_to_io_weight(r->blkio_weight));
                k = write_ctrl(dfd, bfq ? "io.bfq.weight" : "io.weight", b, F_BLKIO "weight", CGROUP_BLKIO);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
                const struct oci_weight_device *w = &r->blkio_weight_devices[i];
                char f[64];
                snprintf(f, sizeof(f), F_BLKIO "weightDevice[%zu]", i);
                if (w->has_leaf_weight)
                        return err_set(-EOPNOTSUPP, "%s.leafWeight: not available on cgroup v2", f);
                if (!w->has_weight)
                        continue;
                snprintf(b, sizeof(b), "%" PRIi64 ":%" PRIi64 " %" PRIu64, w->major, w->minor,
                         bfq ? w->weight : cgroup_blkio_weight_to_io_weight(w->weight));
                const char *file = bfq ? "io.bfq.weight" : "io.weight";
                k = cg_write(dfd, file, b);
                /*
                 * A per-device weight belongs to the device's weight-based policy, which the kernel
                 * refuses (EOPNOTSUPP) unless the device has one: io.cost, enabled per device in
                 * the root's io.cost.qos, or the BFQ scheduler.
                 */
                if (k == -EOPNOTSUPP)
                        return err_set(k,
                                       "%s: device %" PRIi64 ":%" PRIi64 " has neither io.cost (io.cost.qos) "
                                       "nor the BFQ scheduler enabled, which a per-device weight needs",
                                       f, w->major, w->minor);
                if (k == -ENOENT)
                        return cg_err_no_controller(f, CGROUP_BLKIO);
                if (k < 0)
                        return err_set(k, "%s: cannot write '%s' to %s: %s", f, b, file, strerror(-k));
        }
        if ((k = write_io_max(dfd, "rbps", r->blkio_throttle_read_bps, r->n_blkio_throttle_read_bps,
                              F_BLKIO "throttleReadBpsDevice")) < 0 ||
            (k = write_io_max(dfd, "wbps", r->blkio_throttle_write_bps, r->n_blkio_throttle_write_bps,
                              F_BLKIO "throttleWriteBpsDevice")) < 0 ||
            (k = write_io_max(dfd, "riops", r->blkio_throttle_read_iops, r->n_blkio_throttle_read_iops,
                              F_BLKIO "throttleReadIOPSDevice")) < 0 ||
            (k = write_io_max(dfd, "wiops", r->blkio_throttle_write_iops, r->n_blkio_throttle_write_iops,
                              F_BLKIO "throttleWriteIOPSDevice")) < 0)
                return k;
        return 0;
}

static int apply_unified(int dfd, const struct oci_resources *r)
{
        for (size_t i = 0; i < r->n_unified; i++) {
                const struct oci_key_value *kv = &r->unified[i];
                int k;
                /* Keys name files of the container's own cgroup: no paths, no hidden names. */
                if (!kv->key || !*kv->key || strchr(kv->key, '/') || kv->key[0] == '.' || !strchr(kv->key, '.'))
                        return err_set(-EINVAL, "linux.resources.unified: invalid cgroup file name '%s'",
                                       strempty(kv->key));
                if (streq(kv->key, "cgroup.procs") || streq(kv->key, "cgroup.threads") ||
                    streq(kv->key, "cgroup.subtree_control") || streq(kv->key, "cgroup.kill"))
                        return err_set(-EINVAL, "linux.resources.unified.%s: managed by the runtime, not settable",
                                       kv->key);
                k = cg_write(dfd, kv->key, strempty(kv->value));
                if (k == -ENOENT) {
                        char ctrl[32];
                        snprintf(ctrl, sizeof(ctrl), "%.*s", (int)MIN(strcspn(kv->key, "."), (size_t)31), kv->key);
                        return err_set(-EOPNOTSUPP,
                                       "linux.resources.unified.%s: no such cgroup file (is the %s controller "
                                       "enabled?)",
                                       kv->key, ctrl);
                }
                if (k < 0)
                        return err_set(k, "linux.resources.unified.%s: cannot write '%s': %s", kv->key,
                                       strempty(kv->value), strerror(-k));
        }
        return 0;
}

int cgroup_v2_apply(struct cgroup *cg, const struct oci_resources *res, bool update)
{
        const struct cgroup_hier *h = cgroup_hier_procs(cg);
        int r;

        if (!h)
                return err_set(-ENOENT, "the container's cgroup no longer exists");
        if (res->has_net_class_id)
                return err_set(-EOPNOTSUPP, "linux.resources.network.classID: net_cls is not available on cgroup v2");
        if (res->n_net_priorities)
                return err_set(-EOPNOTSUPP,
                               "linux.resources.network.priorities: net_prio is not available on cgroup v2");
        if (res->has_pids_limit) {
                char b[32];
                r = write_ctrl(h->dfd, "pids.max", fmt_max(b, res->pids_limit > 0 ? res->pids_limit : -1),
                               "linux.resources.pids.limit", CGROUP_PIDS);
                if (r < 0)
                        return r;
        }
        if ((r = apply_memory(h->dfd, res, update)) < 0 || (r = apply_cpu(h->dfd, res, update)) < 0 ||
            (r = apply_io(h->dfd, res)) < 0)
                return r;
        if (!update || res->n_devices > 0) {
                r = cgroup_bpf_apply_devices(h->dfd, res, update);
                if (r < 0)
                        return r;
        }
        /* Last, so that a unified entry overrides what the converted fields wrote (runc does the same). */
        return apply_unified(h->dfd, res);
}

int cgroup_v2_freeze(const struct cgroup_hier *h, bool frozen)
{
        _cleanup_close_ int fd = -EBADF;
        const char *want = frozen ? "frozen 1" : "frozen 0";
        int r, waited_ms = 0;

        r = cg_write(h->dfd, "cgroup.freeze", frozen ? "1" : "0");
        if (r < 0)
                return err_set(r, "cannot write cgroup.freeze of %s%s: %s", h->mount, h->path, strerror(-r));
        fd = openat(h->dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* cgroup.events signals POLLPRI when "frozen" changes (Linux 5.2). */
        for (;;) {
                char buf[256];
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                if (n < 0)
                        return negative_errno();
                buf[n] = 0;
                for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                        if (strncmp(l, want, strlen(want)) == 0 && (l[strlen(want)] == '\n' || !l[strlen(want)]))
                                return 0;
                if (waited_ms >= 2000)
                        break;
                struct pollfd p = { .fd = fd, .events = POLLPRI };
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                (void)poll(&p, 1, 100);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                waited_ms += (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000) + 1;
        }
        if (frozen)
                (void)cg_write(h->dfd, "cgroup.freeze", "0");
        return err_set(-EBUSY, "the cgroup %s%s did not reach '%s' within 2 s", h->mount, h->path, want);
}
