/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config-resources.c - linux.resources of config.json, also the whole document
 * of "update --resources FILE".
 *
 * Implements runtime-spec v1.2 config-linux.md "Allowed Device list", "Memory",
 * "CPU", "Block IO", "Huge page limits", "Network", "PIDs", "RDMA" (recorded as
 * present; the runtime refuses it) and "Unified". cgroup.c turns the result into
 * cgroup v1 or v2 writes; this file decides what the values mean, once:
 *
 *   - memory limit, reservation, swap, kernel, kernelTCP: -1 means unlimited
 *     and is kept as -1; other negative values are errors;
 *   - cpu shares, quota and period of 0 mean "not set" (has_ is false), as in
 *     runc and crun, which never write a 0 there; otherwise shares is 2-262144,
 *     period 1000-1000000 us and quota -1 or at least 1000 us (the kernel's
 *     ranges for cpu.shares, cpu.cfs_period_us and cpu.cfs_quota_us);
 *   - pids limit 0 and -1 both mean unlimited and are stored as -1;
 *   - device rules: a missing type is 'a', a missing major/minor is -1 (any),
 *     a missing access is "rwm";
 *   - blkio weights are 10-1000 (cgroup v1 blkio.weight);
 *   - unified keys are file names in the container's cgroup: no '/', no leading
 *     '.', so that a key cannot name a file outside it.
 *
 * struct oci_resources owns its arrays; resources_free() accepts a partly filled
 * structure.
 */
#include <ctype.h>
#include <inttypes.h>

#include "config-internal.h"
#include "error.h"
#include "util.h"

void resources_free(struct oci_resources *r)
{
        if (!r)
                return;
        free(r->devices);
        free(r->cpu_cpus);
        free(r->cpu_mems);
        free(r->blkio_weight_devices);
        free(r->blkio_throttle_read_bps);
        free(r->blkio_throttle_write_bps);
        free(r->blkio_throttle_read_iops);
        free(r->blkio_throttle_write_iops);
        for (size_t i = 0; i < r->n_hugepage_limits; i++)
                free(r->hugepage_limits[i].page_size);
        free(r->hugepage_limits);
        for (size_t i = 0; i < r->n_net_priorities; i++)
                free(r->net_priorities[i].name);
        free(r->net_priorities);
        config_key_values_free(r->unified, r->n_unified);
        free(r);
}

static void nothing_done(void *elem)
{
}

static int parse_device_rule(struct json_object *e, const char *path, void *elem)
{
        struct oci_device_rule *d = elem;
        _cleanup_free_ char *type = NULL, *access = NULL;
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.allow", path);
        r = config_need(json_get_bool(e, "allow", p, &d->allow), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.type", path);
        r = config_opt(config_get_str(e, "type", p, &type));
        if (r < 0)
                return r;
        if (r > 0 && (strlen(type) != 1 || !strchr("acb", type[0])))
                return err_set(-EINVAL, "%s: unknown device type '%s', expected a, c or b", p,
                               config_quote(type, q));
        d->type = r > 0 ? type[0] : 'a';
        d->major = d->minor = -1;
        snprintf(p, sizeof(p), "%s.major", path);
        if ((r = config_opt(config_get_int64_range(e, "major", p, -1, UINT32_MAX, &d->major))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.minor", path);
        if ((r = config_opt(config_get_int64_range(e, "minor", p, -1, UINT32_MAX, &d->minor))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.access", path);
        r = config_opt(config_get_str(e, "access", p, &access));
        if (r < 0)
                return r;
        if (r == 0 || !access[0]) {
                /* A rule without permissions matches nothing in the kernel; every runtime reads it as all.
                 */
                memcpy(d->access, "rwm", 4);
                return 0;
        }
        for (size_t i = 0; access[i]; i++)
                if (i >= 3 || !strchr("rwm", access[i]) || strchr(access + i + 1, access[i]))
                        return err_set(-EINVAL,
                                       "%s: invalid access '%s', expected a combination of r, w and m", p,
                                       config_quote(access, q));
        snprintf(d->access, sizeof(d->access), "%s", access);
        return 0;
}

/* -1 (unlimited) or a byte count. */
static int get_memory_value(struct json_object *o, const char *key, const char *path, bool *has,
                            int64_t *ret)
{
        char p[CONFIG_PATH_MAX];
        int64_t v;
        int r;

        snprintf(p, sizeof(p), "%s.%s", path, key);
        r = config_opt(config_get_int64(o, key, p, &v));
        if (r <= 0)
                return r;
        if (v < -1)
                return err_set(-EINVAL, "%s: must be -1 (unlimited) or a number of bytes, got %" PRId64, p,
                               v);
        *has = true;
        *ret = v;
        return 0;
}

static int parse_memory(struct json_object *o, const char *path, struct oci_resources *res)
{
        struct json_object *mem;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.memory", path);
        r = config_opt(json_get_object(o, "memory", p, &mem));
        if (r <= 0)
                return r;
        if ((r = get_memory_value(mem, "limit", p, &res->has_memory_limit, &res->memory_limit)) < 0 ||
            (r = get_memory_value(mem, "reservation", p, &res->has_memory_reservation,
                                  &res->memory_reservation)) < 0 ||
            (r = get_memory_value(mem, "swap", p, &res->has_memory_swap, &res->memory_swap)) < 0 ||
            (r = get_memory_value(mem, "kernel", p, &res->has_memory_kernel, &res->memory_kernel)) < 0 ||
            (r = get_memory_value(mem, "kernelTCP", p, &res->has_memory_kernel_tcp,
                                  &res->memory_kernel_tcp)) < 0)
                return r;
        /* "swap" is memory+swap (memory.memsw.limit_in_bytes), which the kernel keeps >= the memory limit.
         */
        if (res->has_memory_swap && res->has_memory_limit && res->memory_swap > 0 &&
            (res->memory_limit == -1 || res->memory_swap < res->memory_limit))
                return err_set(-EINVAL,
                               "%s.swap: %" PRId64 " must be -1 or at least memory.limit (%" PRId64
                               "), it counts memory+swap",
                               p, res->memory_swap, res->memory_limit);
        snprintf(p, sizeof(p), "%s.memory.swappiness", path);
        r = config_opt(config_get_uint64_range(mem, "swappiness", p, 0, 100, &res->memory_swappiness));
        if (r < 0)
                return r;
        res->has_memory_swappiness = r > 0;
        snprintf(p, sizeof(p), "%s.memory.disableOOMKiller", path);
        r = config_opt(json_get_bool(mem, "disableOOMKiller", p, &res->disable_oom_killer));
        if (r < 0)
                return r;
        if (r > 0)
                res->has_disable_oom_killer = true;
        snprintf(p, sizeof(p), "%s.memory.useHierarchy", path);
        r = config_opt(json_get_bool(mem, "useHierarchy", p, &res->use_hierarchy));
        if (r < 0)
                return r;
        res->has_use_hierarchy = r > 0;
        snprintf(p, sizeof(p), "%s.memory.checkBeforeUpdate", path);
        r = config_opt(json_get_bool(mem, "checkBeforeUpdate", p, &res->memory_check_before_update));
        return r < 0 ? r : 0;
}

static int parse_cpu(struct json_object *o, const char *path, struct oci_resources *res)
{
        struct json_object *cpu;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.cpu", path);
        r = config_opt(json_get_object(o, "cpu", p, &cpu));
        if (r <= 0)
                return r;

        snprintf(p, sizeof(p), "%s.cpu.shares", path);
        r = config_opt(json_get_uint64(cpu, "shares", p, &res->cpu_shares));
        if (r < 0)
                return r;
        res->has_cpu_shares = r > 0 && res->cpu_shares != 0;
        if (res->has_cpu_shares && (res->cpu_shares < 2 || res->cpu_shares > 262144))
                return err_set(-ERANGE, "%s: %" PRIu64 " is out of range (2 to 262144)", p, res->cpu_shares);

        snprintf(p, sizeof(p), "%s.cpu.quota", path);
        r = config_opt(config_get_int64(cpu, "quota", p, &res->cpu_quota));
        if (r < 0)
                return r;
        res->has_cpu_quota = r > 0 && res->cpu_quota != 0;
        if (res->has_cpu_quota && res->cpu_quota != -1 && res->cpu_quota < 1000)
                return err_set(-ERANGE,
                               "%s: must be -1 (unlimited) or at least 1000 microseconds, got %" PRId64, p,
                               res->cpu_quota);

        snprintf(p, sizeof(p), "%s.cpu.period", path);
        r = config_opt(json_get_uint64(cpu, "period", p, &res->cpu_period));
        if (r < 0)
                return r;
        res->has_cpu_period = r > 0 && res->cpu_period != 0;
        if (res->has_cpu_period && (res->cpu_period < 1000 || res->cpu_period > 1000000))
                return err_set(-ERANGE, "%s: %" PRIu64 " is out of range (1000 to 1000000 microseconds)", p,
                               res->cpu_period);

        /* "burst ... MUST be no larger than any positive quota". */
        snprintf(p, sizeof(p), "%s.cpu.burst", path);
        r = config_opt(json_get_uint64(cpu, "burst", p, &res->cpu_burst));
        if (r < 0)
                return r;
        res->has_cpu_burst = r > 0;
        if (res->has_cpu_burst && res->has_cpu_quota && res->cpu_quota > 0 &&
            res->cpu_burst > (uint64_t)res->cpu_quota)
                return err_set(-EINVAL, "%s: %" PRIu64 " is larger than cpu.quota %" PRId64, p,
                               res->cpu_burst, res->cpu_quota);

        snprintf(p, sizeof(p), "%s.cpu.realtimeRuntime", path);
        r = config_opt(
                config_get_int64_range(cpu, "realtimeRuntime", p, -1, INT64_MAX, &res->cpu_rt_runtime));
        if (r < 0)
                return r;
        res->has_cpu_rt_runtime = r > 0;
        snprintf(p, sizeof(p), "%s.cpu.realtimePeriod", path);
        r = config_opt(json_get_uint64(cpu, "realtimePeriod", p, &res->cpu_rt_period));
        if (r < 0)
                return r;
        res->has_cpu_rt_period = r > 0;
        if (res->has_cpu_rt_runtime && res->has_cpu_rt_period && res->cpu_rt_runtime > 0 &&
            (uint64_t)res->cpu_rt_runtime > res->cpu_rt_period)
                return err_set(-EINVAL,
                               "%s.cpu.realtimeRuntime: %" PRId64 " is larger than realtimePeriod %" PRIu64,
                               path, res->cpu_rt_runtime, res->cpu_rt_period);

        snprintf(p, sizeof(p), "%s.cpu.cpus", path);
        r = config_opt(config_get_str(cpu, "cpus", p, &res->cpu_cpus));
        if (r > 0)
                r = config_check_cpu_list(res->cpu_cpus, p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.cpu.mems", path);
        r = config_opt(config_get_str(cpu, "mems", p, &res->cpu_mems));
        if (r > 0)
                r = config_check_cpu_list(res->cpu_mems, p);
        if (r < 0)
                return r;
        /* "idle ... 0: default behavior, 1: SCHED_IDLE" (cpu.idle, Linux 5.15). */
        snprintf(p, sizeof(p), "%s.cpu.idle", path);
        r = config_opt(config_get_int64_range(cpu, "idle", p, 0, 1, &res->cpu_idle));
        if (r < 0)
                return r;
        res->has_cpu_idle = r > 0;
        return 0;
}

static int parse_pids(struct json_object *o, const char *path, struct oci_resources *res)
{
        struct json_object *pids;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.pids", path);
        r = config_opt(json_get_object(o, "pids", p, &pids));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.pids.limit", path);
        r = config_opt(config_get_int64_range(pids, "limit", p, -1, INT64_MAX, &res->pids_limit));
        if (r < 0)
                return r;
        res->has_pids_limit = r > 0;
        if (res->pids_limit == 0)
                res->pids_limit = -1;
        return 0;
}

/* cgroup v1 blkio.weight and blkio.leaf_weight: 10 to 1000. */
static int get_blkio_weight(struct json_object *o, const char *key, const char *path, bool *has,
                            uint16_t *ret)
{
        char p[CONFIG_PATH_MAX];
        uint64_t v;
        int r;

        snprintf(p, sizeof(p), "%s.%s", path, key);
        r = config_opt(config_get_uint64_range(o, key, p, 10, 1000, &v));
        if (r <= 0)
                return r;
        *has = true;
        *ret = (uint16_t)v;
        return 0;
}

static int get_major_minor(struct json_object *e, const char *path, int64_t *major, int64_t *minor)
{
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.major", path);
        r = config_need(config_get_int64_range(e, "major", p, 0, UINT32_MAX, major), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.minor", path);
        return config_need(config_get_int64_range(e, "minor", p, 0, UINT32_MAX, minor), p);
}

static int parse_weight_device(struct json_object *e, const char *path, void *elem)
{
        struct oci_weight_device *w = elem;
        int r;

        r = get_major_minor(e, path, &w->major, &w->minor);
        if (r < 0)
                return r;
        if ((r = get_blkio_weight(e, "weight", path, &w->has_weight, &w->weight)) < 0 ||
            (r = get_blkio_weight(e, "leafWeight", path, &w->has_leaf_weight, &w->leaf_weight)) < 0)
                return r;
        if (!w->has_weight && !w->has_leaf_weight)
                return err_set(-EINVAL, "%s: needs weight or leafWeight", path);
        return 0;
}

static int parse_throttle_device(struct json_object *e, const char *path, void *elem)
{
        struct oci_throttle_device *t = elem;
        char p[CONFIG_PATH_MAX];
        int r;

        r = get_major_minor(e, path, &t->major, &t->minor);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.rate", path);
        return config_need(json_get_uint64(e, "rate", p, &t->rate), p);
}

static int get_throttle(struct json_object *o, const char *key, const char *path,
                        struct oci_throttle_device **ret, size_t *ret_n)
{
        char p[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        snprintf(p, sizeof(p), "%s.%s", path, key);
        r = config_opt(config_get_object_array(o, key, p, sizeof(struct oci_throttle_device),
                                               parse_throttle_device, nothing_done, &arr, &n));
        if (r <= 0)
                return r;
        *ret = arr;
        *ret_n = n;
        return 0;
}

static int parse_block_io(struct json_object *o, const char *path, struct oci_resources *res)
{
        struct json_object *bio;
        char p[CONFIG_PATH_MAX], pe[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        snprintf(p, sizeof(p), "%s.blockIO", path);
        r = config_opt(json_get_object(o, "blockIO", p, &bio));
        if (r <= 0)
                return r;
        if ((r = get_blkio_weight(bio, "weight", p, &res->has_blkio_weight, &res->blkio_weight)) < 0 ||
            (r = get_blkio_weight(bio, "leafWeight", p, &res->has_blkio_leaf_weight,
                                  &res->blkio_leaf_weight)) < 0)
                return r;
        snprintf(pe, sizeof(pe), "%s.weightDevice", p);
        r = config_opt(config_get_object_array(bio, "weightDevice", pe, sizeof(struct oci_weight_device),
                                               parse_weight_device, nothing_done, &arr, &n));
        if (r < 0)
                return r;
        res->blkio_weight_devices = arr;
        res->n_blkio_weight_devices = n;
        if ((r = get_throttle(bio, "throttleReadBpsDevice", p, &res->blkio_throttle_read_bps,
                              &res->n_blkio_throttle_read_bps)) < 0 ||
            (r = get_throttle(bio, "throttleWriteBpsDevice", p, &res->blkio_throttle_write_bps,
                              &res->n_blkio_throttle_write_bps)) < 0 ||
            (r = get_throttle(bio, "throttleReadIOPSDevice", p, &res->blkio_throttle_read_iops,
                              &res->n_blkio_throttle_read_iops)) < 0 ||
            (r = get_throttle(bio, "throttleWriteIOPSDevice", p, &res->blkio_throttle_write_iops,
                              &res->n_blkio_throttle_write_iops)) < 0)
                return r;
        return 0;
}

static void hugepage_done(void *elem)
{
        struct oci_hugepage_limit *h = elem;
        free(h->page_size);
}

static int parse_hugepage(struct json_object *e, const char *path, void *elem)
{
        struct oci_hugepage_limit *h = elem;
        char p[CONFIG_PATH_MAX], q[80];
        size_t digits;
        int r;

        snprintf(p, sizeof(p), "%s.pageSize", path);
        r = config_need(config_get_str(e, "pageSize", p, &h->page_size), p);
        if (r < 0)
                return r;
        /* "<size><unit-prefix>B" as in the hugetlb.<size>.limit_in_bytes file names: 64KB, 2MB, 1GB. */
        digits = strspn(h->page_size, "0123456789");
        if (digits == 0 || h->page_size[0] == '0' || !h->page_size[digits] ||
            !strchr("KMG", h->page_size[digits]) || !streq(h->page_size + digits + 1, "B"))
                return err_set(-EINVAL, "%s: invalid page size '%s', expected a size like 2MB or 1GB", p,
                               config_quote(h->page_size, q));
        snprintf(p, sizeof(p), "%s.limit", path);
        return config_need(json_get_uint64(e, "limit", p, &h->limit), p);
}

static void net_priority_done(void *elem)
{
        struct oci_net_priority *n = elem;
        free(n->name);
}

static int parse_net_priority(struct json_object *e, const char *path, void *elem)
{
        struct oci_net_priority *np = elem;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.name", path);
        r = config_need(config_get_str(e, "name", p, &np->name), p);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%s.priority", path);
        return config_need(json_get_uint32(e, "priority", p, &np->priority), p);
}

static int parse_network(struct json_object *o, const char *path, struct oci_resources *res)
{
        struct json_object *net;
        char p[CONFIG_PATH_MAX], pe[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        snprintf(p, sizeof(p), "%s.network", path);
        r = config_opt(json_get_object(o, "network", p, &net));
        if (r <= 0)
                return r;
        snprintf(pe, sizeof(pe), "%s.classID", p);
        r = config_opt(json_get_uint32(net, "classID", pe, &res->net_class_id));
        if (r < 0)
                return r;
        res->has_net_class_id = r > 0;
        snprintf(pe, sizeof(pe), "%s.priorities", p);
        r = config_opt(config_get_object_array(net, "priorities", pe, sizeof(struct oci_net_priority),
                                               parse_net_priority, net_priority_done, &arr, &n));
        if (r < 0)
                return r;
        res->net_priorities = arr;
        res->n_net_priorities = n;
        return 0;
}

static int parse_rdma(struct json_object *o, const char *path, struct oci_resources *res)
{
        struct json_object *rdma;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.rdma", path);
        r = config_opt(json_get_object(o, "rdma", p, &rdma));
        if (r <= 0)
                return r;
        json_object_object_foreach (rdma, dev, v) {
                char pe[CONFIG_PATH_MAX], pf[CONFIG_PATH_MAX];
                uint32_t x;
                int a, b;

                snprintf(pe, sizeof(pe), "%s.%s", p, dev);
                if ((r = json_expect_type(v, json_type_object, pe)) < 0)
                        return r;
                snprintf(pf, sizeof(pf), "%s.hcaHandles", pe);
                if ((a = config_opt(json_get_uint32(v, "hcaHandles", pf, &x))) < 0)
                        return a;
                snprintf(pf, sizeof(pf), "%s.hcaObjects", pe);
                if ((b = config_opt(json_get_uint32(v, "hcaObjects", pf, &x))) < 0)
                        return b;
                if (!a && !b)
                        return err_set(-EINVAL, "%s: needs hcaHandles or hcaObjects", pe);
        }
        res->has_rdma = true;
        return 0;
}

static int parse_unified(struct json_object *o, const char *path, struct oci_resources *res)
{
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.unified", path);
        r = config_opt(config_get_string_map(o, "unified", p, &res->unified, &res->n_unified));
        if (r <= 0)
                return r;
        for (size_t i = 0; i < res->n_unified; i++) {
                const char *k = res->unified[i].key;
                bool ok = k[0] != '.' && !strchr(k, '/');

                for (const char *c = k; ok && *c; c++)
                        ok = isgraph((unsigned char)*c);
                if (!ok)
                        return err_set(-EINVAL, "%s: invalid cgroup file name '%s'", p, config_quote(k, q));
        }
        return 0;
}

int config_resources_parse(struct json_object *o, const char *path, struct oci_resources **ret)
{
        _cleanup_resources_ struct oci_resources *res = NULL;
        char p[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        res = calloc(1, sizeof(*res));
        if (!res)
                return -ENOMEM;
        snprintf(p, sizeof(p), "%s.devices", path);
        r = config_opt(config_get_object_array(o, "devices", p, sizeof(struct oci_device_rule),
                                               parse_device_rule, nothing_done, &arr, &n));
        if (r < 0)
                return r;
        res->devices = arr;
        res->n_devices = n;
        if ((r = parse_memory(o, path, res)) < 0)
                return r;
        /* Before runtime-spec 1.0 disableOOMKiller sat here, beside memory; older generators still write it.
         */
        if (!res->has_disable_oom_killer) {
                snprintf(p, sizeof(p), "%s.disableOOMKiller", path);
                r = config_opt(json_get_bool(o, "disableOOMKiller", p, &res->disable_oom_killer));
                if (r < 0)
                        return r;
                res->has_disable_oom_killer = r > 0;
        }
        if ((r = parse_cpu(o, path, res)) < 0 || (r = parse_pids(o, path, res)) < 0 ||
            (r = parse_block_io(o, path, res)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.hugepageLimits", path);
        arr = NULL;
        n = 0;
        r = config_opt(config_get_object_array(o, "hugepageLimits", p, sizeof(struct oci_hugepage_limit),
                                               parse_hugepage, hugepage_done, &arr, &n));
        if (r < 0)
                return r;
        res->hugepage_limits = arr;
        res->n_hugepage_limits = n;
        if ((r = parse_network(o, path, res)) < 0 || (r = parse_rdma(o, path, res)) < 0 ||
            (r = parse_unified(o, path, res)) < 0)
                return r;
        *ret = TAKE_PTR(res);
        return 0;
}

int resources_parse(const char *buf, size_t len, const char *what, struct oci_resources **ret)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        r = json_parse_buffer(buf, len, what, &doc);
        if (r < 0)
                return r;
        r = json_expect_type(doc, json_type_object, "linux.resources");
        if (r < 0)
                return r;
        return config_resources_parse(doc, "linux.resources", ret);
}
