/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-v1.c - linux.resources on cgroup v1 hierarchies (legacy and hybrid hosts), the v1
 * freezer and the cpuset initialisation that v1 needs before a task can join.
 *
 * Every resource section of runtime-spec config-linux.md is mapped onto the files of its v1
 * controller; only fields that are set are written (no reads on create, so that create stays a
 * handful of syscalls per controller). When a hierarchy is missing and the config asks for it,
 * the error names the field ("linux.resources.network.classID: net_cls controller is not
 * available"). Fields of cgroup v2 only (unified) and rdma are refused naming the field.
 *
 * Pairs of files whose values the kernel checks against each other (memory limit vs memsw,
 * cfs period vs quota, rt period vs runtime, quota vs burst) are written in the order that works
 * from the current values: the natural order first and, when the kernel says EINVAL, the other
 * way round. This needs no read of the current values.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>

#include "cgroup-internal.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define F_MEM "linux.resources.memory."
#define F_CPU "linux.resources.cpu."
#define F_BLKIO "linux.resources.blockIO."

/* The dir fd of the hierarchy holding c, or an error naming field. */
static int need(struct cgroup *cg, enum cgroup_controller c, const char *field)
{
        const struct cgroup_hier *h = cgroup_hier_for(cg, c);
        if (!h || h->v2)
                return cg_err_no_controller(field, c);
        return h->dfd;
}

/*
 * Write f1 then f2; when f1 is refused with EINVAL (the kernel compares it to f2's current
 * value), write f2 first and then f1 again.
 */
static int write_pair(int dfd, const char *f1, const char *v1, const char *field1, const char *f2, const char *v2,
                      const char *field2)
{
        int r = v1 ? cg_write(dfd, f1, v1) : 0;
        if (r == -EINVAL && v2) {
                int k = cg_write_field(dfd, f2, v2, field2, NULL);
                if (k < 0)
                        return k;
                return cg_write_field(dfd, f1, v1, field1, NULL);
        }
        if (r < 0)
                return cg_write_field(dfd, f1, v1, field1, NULL);
        return v2 ? cg_write_field(dfd, f2, v2, field2, NULL) : 0;
}

static const char *fmt_i64(char buf[static 32], int64_t v)
{
        snprintf(buf, 32, "%" PRIi64, v);
        return buf;
}

static const char *fmt_u64(char buf[static 32], uint64_t v)
{
        snprintf(buf, 32, "%" PRIu64, v);
        return buf;
}

static int apply_memory(struct cgroup *cg, const struct oci_resources *r, bool update)
{
        char b1[32], b2[32];
        const char *limit = NULL, *memsw = NULL;
        bool any = r->has_memory_limit || r->has_memory_reservation || (r->has_memory_swap && r->memory_swap) ||
                   r->has_memory_kernel || r->has_memory_kernel_tcp || r->has_memory_swappiness ||
                   r->has_disable_oom_killer || r->has_use_hierarchy;
        int dfd, k;

        if (!any)
                return 0;
        dfd = need(cg, CGROUP_MEMORY, r->has_memory_limit ? F_MEM "limit" : "linux.resources.memory");
        if (dfd < 0)
                return dfd;

        if (r->has_memory_limit) {
                if (r->memory_limit < -1 || r->memory_limit == 0)
                        return err_set(-EINVAL, F_MEM "limit: invalid value %" PRIi64, r->memory_limit);
                if (update && r->memory_check_before_update && r->memory_limit > 0) {
                        uint64_t usage;
                        if (cg_read_u64(dfd, "memory.usage_in_bytes", &usage) >= 0 &&
                            (uint64_t)r->memory_limit < usage)
                                return err_set(-EBUSY,
                                               F_MEM "limit: %" PRIi64 " is below the current usage %" PRIu64,
                                               r->memory_limit, usage);
                }
                limit = fmt_i64(b1, r->memory_limit);
        }
        /* runtime-spec memory.swap is v1's memsw: memory + swap; 0 means unset, as runc reads it. */
        if (r->has_memory_swap && r->memory_swap != 0) {
                if (r->memory_swap < -1)
                        return err_set(-EINVAL, F_MEM "swap: invalid value %" PRIi64, r->memory_swap);
                if (r->memory_swap > 0 && r->has_memory_limit && r->memory_limit > 0 &&
                    r->memory_swap < r->memory_limit)
                        return err_set(-EINVAL,
                                       F_MEM "swap: %" PRIi64 " is below memory.limit %" PRIi64
                                             " (swap counts memory plus swap)",
                                       r->memory_swap, r->memory_limit);
                memsw = fmt_i64(b2, r->memory_swap);
        } else if (r->has_memory_limit && r->memory_limit == -1)
                memsw = "-1"; /* an unlimited memory limit lifts memsw too, else the write would fail */
        if (memsw && faccessat(dfd, "memory.memsw.limit_in_bytes", F_OK, 0) < 0) {
                if (r->has_memory_swap && r->memory_swap > 0)
                        return err_set(-EOPNOTSUPP, F_MEM "swap: swap accounting is not enabled in this kernel");
                memsw = NULL;
        }
        if (limit || memsw) {
                /* Raising: memsw first (memsw >= limit always holds); lowering: limit first. */
                k = write_pair(dfd, "memory.limit_in_bytes", limit, F_MEM "limit", "memory.memsw.limit_in_bytes",
                               memsw, F_MEM "swap");
                if (k < 0)
                        return k;
        }
        if (r->has_memory_reservation) {
                k = cg_write_field(dfd, "memory.soft_limit_in_bytes", fmt_i64(b1, r->memory_reservation),
                                   F_MEM "reservation", NULL);
                if (k < 0)
                        return k;
        }
        if (r->has_memory_kernel) {
                /* Linux 5.16 deprecated kmem.limit_in_bytes; later kernels accept and ignore it or drop the file. */
                k = cg_write(dfd, "memory.kmem.limit_in_bytes", fmt_i64(b1, r->memory_kernel));
                if (k == -ENOENT || k == -EOPNOTSUPP || k == -ENOTSUP)
                        log_debug(F_MEM "kernel: ignored, this kernel has no kernel memory limit");
                else if (k < 0)
                        return cg_write_field(dfd, "memory.kmem.limit_in_bytes", b1, F_MEM "kernel", NULL);
        }
        if (r->has_memory_kernel_tcp) {
                k = cg_write(dfd, "memory.kmem.tcp.limit_in_bytes", fmt_i64(b1, r->memory_kernel_tcp));
                if (k == -ENOENT || k == -EOPNOTSUPP || k == -ENOTSUP)
                        log_debug(F_MEM "kernelTCP: ignored, this kernel has no kernel TCP memory limit");
                else if (k < 0)
                        return cg_write_field(dfd, "memory.kmem.tcp.limit_in_bytes", b1, F_MEM "kernelTCP", NULL);
        }
        if (r->has_memory_swappiness) {
                if (r->memory_swappiness > 100)
                        return err_set(-EINVAL, F_MEM "swappiness: %" PRIu64 " is out of range 0-100",
                                       r->memory_swappiness);
                k = cg_write_field(dfd, "memory.swappiness", fmt_u64(b1, r->memory_swappiness), F_MEM "swappiness",
                                   NULL);
                if (k < 0)
                        return k;
        }
        if (r->has_disable_oom_killer) {
                k = cg_write_field(dfd, "memory.oom_control", r->disable_oom_killer ? "1" : "0",
                                   F_MEM "disableOOMKiller", NULL);
                if (k < 0)
                        return k;
        }
        if (r->has_use_hierarchy) {
                k = cg_write(dfd, "memory.use_hierarchy", r->use_hierarchy ? "1" : "0");
                /* Linux 5.x made memcg always hierarchical: "0" is refused, "1" is a no-op. */
                if (k == -EINVAL && !r->use_hierarchy)
                        log_debug(F_MEM "useHierarchy: ignored, this kernel is always hierarchical");
                else if (k < 0)
                        return cg_write_field(dfd, "memory.use_hierarchy", r->use_hierarchy ? "1" : "0",
                                              F_MEM "useHierarchy", NULL);
        }
        return 0;
}

static int apply_cpu(struct cgroup *cg, const struct oci_resources *r)
{
        char b1[32], b2[32];
        int dfd, k;

        if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period || r->has_cpu_burst || r->has_cpu_rt_runtime ||
            r->has_cpu_rt_period || r->has_cpu_idle) {
                const char *field = r->has_cpu_shares ? F_CPU "shares"
                                    : r->has_cpu_quota ? F_CPU "quota"
                                                       : F_CPU "period";
                dfd = need(cg, CGROUP_CPU, field);
                if (dfd < 0)
                        return dfd;
                if (r->has_cpu_shares) {
                        k = cg_write_field(dfd, "cpu.shares", fmt_u64(b1, r->cpu_shares), F_CPU "shares", NULL);
                        if (k < 0)
                                return k;
                }
                if (r->has_cpu_period || r->has_cpu_quota) {
                        k = write_pair(dfd, "cpu.cfs_period_us",
                                       r->has_cpu_period ? fmt_u64(b1, r->cpu_period) : NULL, F_CPU "period",
                                       "cpu.cfs_quota_us", r->has_cpu_quota ? fmt_i64(b2, r->cpu_quota) : NULL,
                                       F_CPU "quota");
                        if (k < 0)
                                return k;
                }
                if (r->has_cpu_burst) {
                        k = cg_write_field(dfd, "cpu.cfs_burst_us", fmt_u64(b1, r->cpu_burst), F_CPU "burst",
                                           "not supported by this kernel (no cpu.cfs_burst_us, Linux 5.14)");
                        if (k < 0)
                                return k;
                }
                if (r->has_cpu_rt_period || r->has_cpu_rt_runtime) {
                        const char *missing = "not supported by this kernel (CONFIG_RT_GROUP_SCHED is off)";
                        if (faccessat(dfd, "cpu.rt_period_us", F_OK, 0) < 0)
                                return err_set(-EOPNOTSUPP, "%s: %s",
                                               r->has_cpu_rt_period ? F_CPU "realtimePeriod" : F_CPU "realtimeRuntime",
                                               missing);
                        k = write_pair(dfd, "cpu.rt_period_us",
                                       r->has_cpu_rt_period ? fmt_u64(b1, r->cpu_rt_period) : NULL,
                                       F_CPU "realtimePeriod", "cpu.rt_runtime_us",
                                       r->has_cpu_rt_runtime ? fmt_i64(b2, r->cpu_rt_runtime) : NULL,
                                       F_CPU "realtimeRuntime");
                        if (k < 0)
                                return k;
                }
                if (r->has_cpu_idle) {
                        k = cg_write_field(dfd, "cpu.idle", fmt_i64(b1, r->cpu_idle), F_CPU "idle",
                                           "not supported by this kernel (no cpu.idle, Linux 5.15)");
                        if (k < 0)
                                return k;
                }
        }
        if (r->cpu_cpus || r->cpu_mems) {
                dfd = need(cg, CGROUP_CPUSET, r->cpu_cpus ? F_CPU "cpus" : F_CPU "mems");
                if (dfd < 0)
                        return dfd;
                if (r->cpu_cpus && (k = cg_write_field(dfd, "cpuset.cpus", r->cpu_cpus, F_CPU "cpus", NULL)) < 0)
                        return k;
                if (r->cpu_mems && (k = cg_write_field(dfd, "cpuset.mems", r->cpu_mems, F_CPU "mems", NULL)) < 0)
                        return k;
        }
        return 0;
}

static int write_device_lines(int dfd, const char *file, const char *field, const char *fallback,
                              const struct oci_weight_device *wd, const struct oci_throttle_device *td, size_t n,
                              bool leaf)
{
        _cleanup_close_ int fd = -EBADF;
        const char *used = file;

        if (n == 0)
                return 0;
        fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && fallback) {
                used = fallback;
                fd = openat(dfd, fallback, O_WRONLY | O_CLOEXEC);
        }
        if (fd < 0) {
                if (errno == ENOENT)
                        return err_set(-EOPNOTSUPP, "%s: not supported by this kernel (no %s)", field, file);
                return err_set(negative_errno(), "%s: cannot open %s: %m", field, used);
        }
        /* One write per entry: cgroupfs parses each write as one line. */
        for (size_t i = 0; i < n; i++) {
                char line[96];
                int64_t major = wd ? wd[i].major : td[i].major, minor = wd ? wd[i].minor : td[i].minor;
                if (wd && !(leaf ? wd[i].has_leaf_weight : wd[i].has_weight))
                        continue;
                uint64_t v = wd ? (leaf ? wd[i].leaf_weight : wd[i].weight) : td[i].rate;
                int l = snprintf(line, sizeof(line), "%" PRIi64 ":%" PRIi64 " %" PRIu64, major, minor, v);
                if (write(fd, line, (size_t)l) != l)
                        return err_set(negative_errno(), "%s[%zu]: cannot write '%s' to %s: %m", field, i, line, used);
        }
        return 0;
}

static int apply_blkio(struct cgroup *cg, const struct oci_resources *r)
{
        char b[32];
        int dfd, k;
        bool any = r->has_blkio_weight || r->has_blkio_leaf_weight || r->n_blkio_weight_devices ||
                   r->n_blkio_throttle_read_bps || r->n_blkio_throttle_write_bps || r->n_blkio_throttle_read_iops ||
                   r->n_blkio_throttle_write_iops;
        bool leaf_dev = false;

        if (!any)
                return 0;
        dfd = need(cg, CGROUP_BLKIO, r->has_blkio_weight ? F_BLKIO "weight" : "linux.resources.blockIO");
        if (dfd < 0)
                return dfd;
        if (r->has_blkio_weight) {
                /* CFQ's blkio.weight went with CFQ (Linux 5.0); BFQ offers blkio.bfq.weight, same range. */
                k = cg_write(dfd, "blkio.weight", fmt_u64(b, r->blkio_weight));
                if (k == -ENOENT)
                        k = cg_write_field(dfd, "blkio.bfq.weight", b, F_BLKIO "weight",
                                           "not supported by this kernel (no blkio.weight or blkio.bfq.weight)");
                else if (k < 0)
                        k = cg_write_field(dfd, "blkio.weight", b, F_BLKIO "weight", NULL);
                if (k < 0)
                        return k;
        }
        if (r->has_blkio_leaf_weight) {
                k = cg_write_field(dfd, "blkio.leaf_weight", fmt_u64(b, r->blkio_leaf_weight), F_BLKIO "leafWeight",
                                   "not supported by this kernel (no blkio.leaf_weight: CFQ is gone, BFQ has none)");
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < r->n_blkio_weight_devices; i++)
                leaf_dev |= r->blkio_weight_devices[i].has_leaf_weight;
        k = write_device_lines(dfd, "blkio.weight_device", F_BLKIO "weightDevice", "blkio.bfq.weight_device",
                               r->blkio_weight_devices, NULL, r->n_blkio_weight_devices, false);
        if (k >= 0 && leaf_dev)
                k = write_device_lines(dfd, "blkio.leaf_weight_device", F_BLKIO "weightDevice", NULL,
                                       r->blkio_weight_devices, NULL, r->n_blkio_weight_devices, true);
        if (k >= 0)
                k = write_device_lines(dfd, "blkio.throttle.read_bps_device", F_BLKIO "throttleReadBpsDevice", NULL,
                                       NULL, r->blkio_throttle_read_bps, r->n_blkio_throttle_read_bps, false);
        if (k >= 0)
                k = write_device_lines(dfd, "blkio.throttle.write_bps_device", F_BLKIO "throttleWriteBpsDevice",
                                       NULL, NULL, r->blkio_throttle_write_bps, r->n_blkio_throttle_write_bps, false);
        if (k >= 0)
                k = write_device_lines(dfd, "blkio.throttle.read_iops_device", F_BLKIO "throttleReadIOPSDevice",
                                       NULL, NULL, r->blkio_throttle_read_iops, r->n_blkio_throttle_read_iops, false);
        if (k >= 0)
                k = write_device_lines(dfd, "blkio.throttle.write_iops_device", F_BLKIO "throttleWriteIOPSDevice",
                                       NULL, NULL, r->blkio_throttle_write_iops, r->n_blkio_throttle_write_iops,
                                       false);
        return k;
}

static int apply_network(struct cgroup *cg, const struct oci_resources *r)
{
        int dfd, k;

        if (r->has_net_class_id) {
                char b[32];
                dfd = need(cg, CGROUP_NET_CLS, "linux.resources.network.classID");
                if (dfd < 0)
                        return dfd;
                k = cg_write_field(dfd, "net_cls.classid", fmt_u64(b, r->net_class_id),
                                   "linux.resources.network.classID", NULL);
                if (k < 0)
                        return k;
        }
        if (r->n_net_priorities > 0) {
                dfd = need(cg, CGROUP_NET_PRIO, "linux.resources.network.priorities");
                if (dfd < 0)
                        return dfd;
                for (size_t i = 0; i < r->n_net_priorities; i++) {
                        char line[96], field[64];
                        const struct oci_net_priority *p = &r->net_priorities[i];
                        if (!p->name || !*p->name || strpbrk(p->name, " \n/") || strlen(p->name) > 32)
                                return err_set(-EINVAL, "linux.resources.network.priorities[%zu].name: invalid '%s'",
                                               i, strempty(p->name));
                        snprintf(line, sizeof(line), "%s %" PRIu32, p->name, p->priority);
                        snprintf(field, sizeof(field), "linux.resources.network.priorities[%zu]", i);
                        k = cg_write_field(dfd, "net_prio.ifpriomap", line, field, NULL);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

static int apply_devices(struct cgroup *cg, const struct oci_resources *r, bool update)
{
        _cleanup_close_ int allow = -EBADF, deny = -EBADF;
        int dfd, k;

        /* On update, an empty list leaves the rules alone; on create the defaults always apply. */
        if (update && r->n_devices == 0)
                return 0;
        for (size_t i = 0; i < r->n_devices; i++) {
                k = cgroup_dev_rule_check(&r->devices[i], i);
                if (k < 0)
                        return k;
        }
        if (r->n_devices == 0 && !cgroup_hier_for(cg, CGROUP_DEVICES)) {
                /* Nothing asked for and nothing to enforce with: only a config with rules fails. */
                log_debug("cgroup: no devices hierarchy, default device rules not enforced");
                return 0;
        }
        dfd = need(cg, CGROUP_DEVICES, "linux.resources.devices");
        if (dfd < 0)
                return dfd;
        allow = openat(dfd, "devices.allow", O_WRONLY | O_CLOEXEC);
        deny = openat(dfd, "devices.deny", O_WRONLY | O_CLOEXEC);
        if (allow < 0 || deny < 0)
                return err_set(negative_errno(), "linux.resources.devices: cannot open devices.allow/deny: %m");
        /*
         * Start from "deny everything" (a new cgroup inherits its parent's rules), then replay the
         * config's rules and the default devices in order: the kernel keeps the exception list.
         */
        if (write(deny, "a", 1) != 1)
                return err_set(negative_errno(), "linux.resources.devices: cannot write 'a' to devices.deny: %m");
        for (size_t i = 0; i < r->n_devices + cgroup_n_default_device_rules; i++) {
                const struct oci_device_rule *d = i < r->n_devices ? &r->devices[i]
                                                                   : &cgroup_default_device_rules[i - r->n_devices];
                char line[64];
                cgroup_dev_rule_format(d, line);
                if (write(d->allow ? allow : deny, line, strlen(line)) < 0) {
                        k = negative_errno();
                        if (i >= r->n_devices)
                                return err_set(k, "cannot allow default device '%s': %s", line, strerror(-k));
                        return err_set(k, "linux.resources.devices[%zu]: cannot write '%s' to devices.%s: %s", i, line,
                                       d->allow ? "allow" : "deny", strerror(-k));
                }
        }
        return 0;
}

int cgroup_v1_apply(struct cgroup *cg, const struct oci_resources *res, bool update)
{
        int r;

        if (res->n_unified > 0)
                return err_set(-EOPNOTSUPP, "linux.resources.unified: only supported on cgroup v2 hosts "
                                            "(this host uses cgroup v1)");
        if (res->has_pids_limit) {
                int dfd = need(cg, CGROUP_PIDS, "linux.resources.pids.limit");
                if (dfd < 0)
                        return dfd;
                char b[32];
                r = cg_write_field(dfd, "pids.max", res->pids_limit > 0 ? fmt_i64(b, res->pids_limit) : "max",
                                   "linux.resources.pids.limit", NULL);
                if (r < 0)
                        return r;
        }
        if ((r = apply_devices(cg, res, update)) < 0 || (r = apply_memory(cg, res, update)) < 0 ||
            (r = apply_cpu(cg, res)) < 0 || (r = apply_blkio(cg, res)) < 0 || (r = apply_network(cg, res)) < 0)
                return r;
        return 0;
}

/* ------------------------------------------------------------------ cpuset */

static int read_trimmed(int mfd, const char *path, const char *file, char **ret)
{
        _cleanup_free_ char *p = strdup_printf("%s%s%s", path, *path ? "/" : "", file), *s = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = cg_read(mfd, *p == '/' ? p + 1 : p, &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

/*
 * A new v1 cpuset cgroup has empty cpuset.cpus and cpuset.mems, and the kernel refuses to move a
 * task into it (ENOSPC) until both are set. Copy them down from the nearest ancestor that has
 * them, into every level this runtime created (and into a pre-existing empty leaf).
 */
int cgroup_v1_cpuset_init(int mfd, const char *path, unsigned created)
{
        _cleanup_free_ char *p = strdup(path + 1), *cpus = NULL, *mems = NULL;
        char *levels[256];
        size_t n = 0;
        int r;

        if (!p)
                return -ENOMEM;
        for (char *s = p;; s++) {
                if (*s == '/' || !*s) {
                        if (n == ELEMENTSOF(levels))
                                return -ENAMETOOLONG;
                        levels[n++] = strndup(p, (size_t)(s - p));
                        if (!levels[n - 1]) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                if (!*s)
                        break;
        }
        size_t first = created > 0 ? n - MIN((size_t)created, n) : n - 1;
        if (created == 0) {
                /* A pre-existing leaf: usable as it is when someone filled it. */
                r = read_trimmed(mfd, levels[n - 1], "cpuset.cpus", &cpus);
                if (r < 0 || *cpus)
                        goto out;
        }
        /* Nearest ancestor above the first level to fill that has values (the root always does). */
        for (ssize_t a = (ssize_t)first - 1;; a--) {
                const char *ap = a >= 0 ? levels[a] : "";
                free(cpus);
                free(mems);
                cpus = mems = NULL;
                if ((r = read_trimmed(mfd, ap, "cpuset.cpus", &cpus)) < 0 ||
                    (r = read_trimmed(mfd, ap, "cpuset.mems", &mems)) < 0)
                        goto out;
                if ((*cpus && *mems) || a < 0)
                        break;
        }
        for (size_t i = first; i < n; i++) {
                _cleanup_free_ char *fc = strdup_printf("%s/cpuset.cpus", levels[i]),
                                    *fm = strdup_printf("%s/cpuset.mems", levels[i]);
                if (!fc || !fm) {
                        r = -ENOMEM;
                        goto out;
                }
                if ((r = cg_write(mfd, fc, cpus)) < 0 || (r = cg_write(mfd, fm, mems)) < 0)
                        goto out;
        }
        r = 0;
out:
        for (size_t i = 0; i < n; i++)
                free(levels[i]);
        return r;
}

/* ------------------------------------------------------------------ freezer */

int cgroup_v1_freeze(const struct cgroup_hier *h, bool frozen)
{
        const char *want = frozen ? "FROZEN" : "THAWED";
        unsigned waited_us = 0, step_us = 100;
        int r;

        r = cg_write(h->dfd, "freezer.state", want);
        if (r < 0)
                return err_set(r, "cannot write %s to %s%s/freezer.state: %s", want, h->mount, h->path, strerror(-r));
        /*
         * v1 reports FREEZING until every task has stopped; a task in an uninterruptible sleep can
         * keep it there, so rewrite the request while waiting, and give up after 2 s (thawed).
         */
        for (;;) {
                _cleanup_free_ char *s = NULL;
                r = cg_read(h->dfd, "freezer.state", &s);
                if (r < 0)
                        return err_set(r, "cannot read %s%s/freezer.state: %s", h->mount, h->path, strerror(-r));
                s[strcspn(s, "\n")] = 0;
                if (streq(s, want))
                        return 0;
                if (waited_us >= 2000000) {
                        (void)cg_write(h->dfd, "freezer.state", "THAWED");
                        return err_set(-EBUSY, "the cgroup %s%s did not reach %s within 2 s (state %s)", h->mount,
                                       h->path, want, s);
                }
                struct timespec ts = { 0, (long)step_us * 1000 };
                nanosleep(&ts, NULL);
                waited_us += step_us;
                step_us = MIN(step_us * 2, 10000u);
                if (frozen)
                        (void)cg_write(h->dfd, "freezer.state", want);
        }
}
