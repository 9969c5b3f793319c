/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-stats.c - container statistics in the shape of runc's "events --stats" data object.
 *
 *   {"cpu":{"usage":{"total","percpu","percpu_kernel","percpu_user","kernel","user"},
 *           "throttling":{"periods","throttledPeriods","throttledTime"}},
 *    "memory":{"cache","usage":{"limit","usage","max","failcnt"},"swap":{...},"kernel":{...},
 *              "kernelTCP":{...},"raw":{memory.stat}},
 *    "pids":{"current","limit"},
 *    "blkio":{"ioServiceBytesRecursive":[{"major","minor","op","value"}],"ioServicedRecursive":[...]},
 *    "hugetlb":{"2MB":{"usage","max","failcnt"}}}
 *
 * Units follow runc: CPU times in nanoseconds, memory in bytes, "max"/unlimited as the kernel's
 * value on v1 and UINT64_MAX on v2, a pids limit of 0 for "max". On v2, as in runc, "swap" is
 * memory plus swap (memory.current + memory.swap.current), so that it means what memsw means on
 * v1. A section whose controller is missing is left out; a file missing inside a present
 * controller reads as 0. Nothing here writes to the cgroup.
 */
#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>

#include "cgroup-internal.h"
#include "error.h"
#include "util.h"

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
        json_object_object_add(o, k, json_object_new_uint64(v));
}

static uint64_t rd(int dfd, const char *file)
{
        uint64_t v = 0;
        (void)cg_read_u64(dfd, file, &v);
        return v;
}

static uint64_t keyed(const char *text, const char *key)
{
        uint64_t v = 0;
        if (text)
                (void)cg_keyed_u64(text, key, &v);
        return v;
}

static struct json_object *u64_array(const char *text)
{
        struct json_object *a = json_object_new_array();
        char *end;

        for (const char *p = text; a && p && *p;) {
                while (*p == ' ' || *p == '\n')
                        p++;
                if (!*p)
                        break;
                unsigned long long v = strtoull(p, &end, 10);
                if (end == p)
                        break;
                json_object_array_add(a, json_object_new_uint64(v));
                p = end;
        }
        return a;
}

/* memory.stat and friends: "key value" lines into an object. */
static struct json_object *flat_map(const char *text)
{
        struct json_object *o = json_object_new_object();

        for (const char *p = text; o && p && *p;) {
                const char *nl = strchrnul(p, '\n'), *sp = memchr(p, ' ', (size_t)(nl - p));
                if (sp && sp > p) {
                        char key[128];
                        size_t kl = MIN((size_t)(sp - p), sizeof(key) - 1);
                        memcpy(key, p, kl);
                        key[kl] = 0;
                        add_u64(o, key, strtoull(sp + 1, NULL, 10));
                }
                p = *nl ? nl + 1 : nl;
        }
        return o;
}

static struct json_object *blk_entry(unsigned long maj, unsigned long min, const char *op, uint64_t v)
{
        struct json_object *e = json_object_new_object();
        if (!e)
                return NULL;
        add_u64(e, "major", maj);
        add_u64(e, "minor", min);
        json_object_object_add(e, "op", json_object_new_string(op));
        add_u64(e, "value", v);
        return e;
}

/* "8:0 Read 4096" lines (v1 blkio); the "Total" line is dropped, as runc does. */
static struct json_object *blkio_v1_entries(const char *text)
{
        struct json_object *a = json_object_new_array();

        for (const char *p = text; a && p && *p;) {
                const char *nl = strchrnul(p, '\n');
                unsigned long maj, min;
                unsigned long long v;
                char op[16];
                _cleanup_free_ char *line = strndup(p, (size_t)(nl - p));
                if (line && sscanf(line, "%lu:%lu %15s %llu", &maj, &min, op, &v) == 4)
                        json_object_array_add(a, blk_entry(maj, min, op, v));
                p = *nl ? nl + 1 : nl;
        }
        return a;
}

/* The sizes the host offers, as cgroup file names spell them: "2MB", "1GB". */
static int hugepage_sizes(char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir("/sys/kernel/mm/hugepages");
        struct dirent *de;
        int r = 0;

        if (!d) {
                *ret = NULL;
                return 0;
        }
        while ((de = readdir(d))) {
                unsigned long kb;
                char buf[32];
                if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
                        continue;
                if (kb >= (1UL << 20) && kb % (1UL << 20) == 0)
                        snprintf(buf, sizeof(buf), "%luGB", kb >> 20);
                else if (kb >= 1024 && kb % 1024 == 0)
                        snprintf(buf, sizeof(buf), "%luMB", kb >> 10);
                else
                        snprintf(buf, sizeof(buf), "%luKB", kb);
                r = strv_extend(&l, buf);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static void stats_hugetlb(const struct cgroup_hier *h, struct json_object *data)
{
        _cleanup_strv_free_ char **sizes = NULL;
        struct json_object *o;

        if (hugepage_sizes(&sizes) < 0 || !sizes || !(o = json_object_new_object()))
                return;
        STRV_FOREACH(s, sizes) {
                struct json_object *e = json_object_new_object();
                char f[96];
                if (!e)
                        break;
                if (h->v2) {
                        _cleanup_free_ char *ev = NULL;
                        snprintf(f, sizeof(f), "hugetlb.%s.current", *s);
                        add_u64(e, "usage", rd(h->dfd, f));
                        snprintf(f, sizeof(f), "hugetlb.%s.max", *s);
                        add_u64(e, "max", rd(h->dfd, f));
                        snprintf(f, sizeof(f), "hugetlb.%s.events", *s);
                        (void)cg_read(h->dfd, f, &ev);
                        add_u64(e, "failcnt", keyed(ev, "max"));
                } else {
                        snprintf(f, sizeof(f), "hugetlb.%s.usage_in_bytes", *s);
                        add_u64(e, "usage", rd(h->dfd, f));
                        snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", *s);
                        add_u64(e, "max", rd(h->dfd, f));
                        snprintf(f, sizeof(f), "hugetlb.%s.failcnt", *s);
                        add_u64(e, "failcnt", rd(h->dfd, f));
                }
                json_object_object_add(o, *s, e);
        }
        json_object_object_add(data, "hugetlb", o);
}

static struct json_object *pids_obj(int dfd)
{
        struct json_object *o = json_object_new_object();
        uint64_t max = rd(dfd, "pids.max");
        if (!o)
                return NULL;
        add_u64(o, "current", rd(dfd, "pids.current"));
        add_u64(o, "limit", max == UINT64_MAX ? 0 : max);
        return o;
}

/* ------------------------------------------------------------------ v1 */

static struct json_object *mem_entry_v1(int dfd, const char *prefix)
{
        struct json_object *e = json_object_new_object();
        char f[96];

        if (!e)
                return NULL;
        snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
        add_u64(e, "limit", rd(dfd, f));
        snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
        add_u64(e, "usage", rd(dfd, f));
        snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
        add_u64(e, "max", rd(dfd, f));
        snprintf(f, sizeof(f), "%s.failcnt", prefix);
        add_u64(e, "failcnt", rd(dfd, f));
        return e;
}

int cgroup_stats_v1(const struct cgroup *cg, struct json_object *data)
{
        const struct cgroup_hier *h;

        if ((h = cgroup_hier_for(cg, CGROUP_CPUACCT)) || (h = cgroup_hier_for(cg, CGROUP_CPU))) {
                struct json_object *cpu = json_object_new_object(), *usage = json_object_new_object(),
                                   *thr = json_object_new_object();
                const struct cgroup_hier *hc = cgroup_hier_for(cg, CGROUP_CPU);
                if (!cpu || !usage || !thr)
                        return -ENOMEM;
                json_object_object_add(cpu, "usage", usage);
                json_object_object_add(cpu, "throttling", thr);
                json_object_object_add(data, "cpu", cpu);
                if (h->mask & CGROUP_MASK(CGROUP_CPUACCT)) {
                        _cleanup_free_ char *pc = NULL, *pk = NULL, *pu = NULL, *st = NULL;
                        /* cpuacct.stat counts USER_HZ ticks. */
                        uint64_t ns_per_tick = 1000000000ULL / (uint64_t)MAX(sysconf(_SC_CLK_TCK), 1L);
                        add_u64(usage, "total", rd(h->dfd, "cpuacct.usage"));
                        if (cg_read(h->dfd, "cpuacct.usage_percpu", &pc) >= 0)
                                json_object_object_add(usage, "percpu", u64_array(pc));
                        if (cg_read(h->dfd, "cpuacct.usage_percpu_sys", &pk) >= 0)
                                json_object_object_add(usage, "percpu_kernel", u64_array(pk));
                        if (cg_read(h->dfd, "cpuacct.usage_percpu_user", &pu) >= 0)
                                json_object_object_add(usage, "percpu_user", u64_array(pu));
                        (void)cg_read(h->dfd, "cpuacct.stat", &st);
                        add_u64(usage, "kernel", keyed(st, "system") * ns_per_tick);
                        add_u64(usage, "user", keyed(st, "user") * ns_per_tick);
                }
                if (hc) {
                        _cleanup_free_ char *st = NULL;
                        (void)cg_read(hc->dfd, "cpu.stat", &st);
                        add_u64(thr, "periods", keyed(st, "nr_periods"));
                        add_u64(thr, "throttledPeriods", keyed(st, "nr_throttled"));
                        add_u64(thr, "throttledTime", keyed(st, "throttled_time"));
                }
        }
        if ((h = cgroup_hier_for(cg, CGROUP_MEMORY)) && !h->v2) {
                _cleanup_free_ char *st = NULL;
                struct json_object *mem = json_object_new_object();
                if (!mem)
                        return -ENOMEM;
                (void)cg_read(h->dfd, "memory.stat", &st);
                add_u64(mem, "cache", keyed(st, "cache"));
                json_object_object_add(mem, "usage", mem_entry_v1(h->dfd, "memory"));
                json_object_object_add(mem, "swap", mem_entry_v1(h->dfd, "memory.memsw"));
                json_object_object_add(mem, "kernel", mem_entry_v1(h->dfd, "memory.kmem"));
                json_object_object_add(mem, "kernelTCP", mem_entry_v1(h->dfd, "memory.kmem.tcp"));
                json_object_object_add(mem, "raw", flat_map(st));
                json_object_object_add(data, "memory", mem);
        }
        if ((h = cgroup_hier_for(cg, CGROUP_PIDS)) && !h->v2)
                json_object_object_add(data, "pids", pids_obj(h->dfd));
        if ((h = cgroup_hier_for(cg, CGROUP_BLKIO)) && !h->v2) {
                /* CFQ's files (gone with Linux 5.0), then BFQ's, then the throttle layer's, which always counts. */
                static const char *const prefixes[] = { "blkio", "blkio.bfq", "blkio.throttle" };
                struct json_object *b = json_object_new_object();
                if (!b)
                        return -ENOMEM;
                for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                        _cleanup_free_ char *bytes = NULL, *ios = NULL;
                        char f[96];
                        snprintf(f, sizeof(f), "%s.io_service_bytes_recursive", prefixes[i]);
                        if (cg_read(h->dfd, f, &bytes) < 0 || !strchr(bytes, ':'))
                                continue;
                        snprintf(f, sizeof(f), "%s.io_serviced_recursive", prefixes[i]);
                        (void)cg_read(h->dfd, f, &ios);
                        json_object_object_add(b, "ioServiceBytesRecursive", blkio_v1_entries(bytes));
                        json_object_object_add(b, "ioServicedRecursive", blkio_v1_entries(ios));
                        break;
                }
                json_object_object_add(data, "blkio", b);
        }
        if ((h = cgroup_hier_for(cg, CGROUP_HUGETLB)))
                stats_hugetlb(h, data);
        return 0;
}

/* ------------------------------------------------------------------ v2 */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int cgroup_stats_v2(const struct cgroup *cg, struct json_object *data)
{
        const struct cgroup_hier *h = cgroup_hier_procs(cg);
        _cleanup_free_ char *cpu_stat = NULL, *mem_stat = NULL, *mem_events = NULL, *io = NULL;

        if (!h)
                return err_set(-ENOENT, "the container's cgroup no longer exists");
        if (cg_read(h->dfd, "cpu.stat", &cpu_stat) >= 0) {
                struct json_object *cpu = json_object_new_object(), *usage = json_object_new_object(),
                                   *thr = json_object_new_object();
                if (!cpu || !usage || !thr)
                        return -ENOMEM;
                add_u64(usage, "total", keyed(cpu_stat, "usage_usec") * 1000);
                add_u64(usage, "kernel", keyed(cpu_stat, "system_usec") * 1000);
                add_u64(usage, "user", keyed(cpu_stat, "user_usec") * 1000);
                add_u64(thr, "periods", keyed(cpu_stat, "nr_periods"));
                add_u64(thr, "throttledPeriods", keyed(cpu_stat, "nr_throttled"));
                add_u64(thr, "throttledTime", keyed(cpu_stat, "throttled_usec") * 1000);
                json_object_object_add(cpu, "usage", usage);
                json_object_object_add(cpu, "throttling", thr);
                json_object_object_add(data, "cpu", cpu);
        }
        if (cg_read(h->dfd, "memory.stat", &mem_stat) >= 0) {
                struct json_object *mem = json_object_new_object(), *u = json_object_new_object(),
                                   *s = json_object_new_object();
                uint64_t cur = rd(h->dfd, "memory.current"), max = rd(h->dfd, "memory.max");
                if (!mem || !u || !s)
                        return -ENOMEM;
                (void)cg_read(h->dfd, "memory.events", &mem_events);
                add_u64(mem, "cache", keyed(mem_stat, "file"));
                add_u64(u, "limit", max);
                add_u64(u, "usage", cur);
                add_u64(u, "max", rd(h->dfd, "memory.peak")); /* Linux 5.19 */
                add_u64(u, "failcnt", keyed(mem_events, "max"));
                add_u64(s, "limit", sat_add(rd(h->dfd, "memory.swap.max"), max));
                add_u64(s, "usage", sat_add(rd(h->dfd, "memory.swap.current"), cur));
                add_u64(s, "max", 0);
                add_u64(s, "failcnt", 0);
                json_object_object_add(mem, "usage", u);
                json_object_object_add(mem, "swap", s);
                json_object_object_add(mem, "raw", flat_map(mem_stat));
                json_object_object_add(data, "memory", mem);
        }
        if (faccessat(h->dfd, "pids.current", F_OK, 0) >= 0)
                json_object_object_add(data, "pids", pids_obj(h->dfd));
        if (cg_read(h->dfd, "io.stat", &io) >= 0) {
                struct json_object *b = json_object_new_object(), *bytes = json_object_new_array(),
                                   *ios = json_object_new_array();
                if (!b || !bytes || !ios)
                        return -ENOMEM;
                /* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device */
                for (char *p = io, *nl; *p; p = nl + (*nl != 0)) {
                        unsigned long maj, min;
                        nl = strchrnul(p, '\n');
                        char c = *nl;
                        *nl = 0;
                        if (sscanf(p, "%lu:%lu", &maj, &min) == 2) {
                                uint64_t v[4] = { 0 };
                                static const char *const keys[] = { "rbytes=", "wbytes=", "rios=", "wios=" };
                                for (size_t k = 0; k < 4; k++) {
                                        const char *f = strstr(p, keys[k]);
                                        if (f)
                                                v[k] = strtoull(f + strlen(keys[k]), NULL, 10);
                                }
                                json_object_array_add(bytes, blk_entry(maj, min, "Read", v[0]));
                                json_object_array_add(bytes, blk_entry(maj, min, "Write", v[1]));
                                json_object_array_add(ios, blk_entry(maj, min, "Read", v[2]));
                                json_object_array_add(ios, blk_entry(maj, min, "Write", v[3]));
                        }
                        *nl = c;
                }
                json_object_object_add(b, "ioServiceBytesRecursive", bytes);
                json_object_object_add(b, "ioServicedRecursive", ios);
                json_object_object_add(data, "blkio", b);
        }
        if (faccessat(h->dfd, "hugetlb.2MB.current", F_OK, 0) >= 0 ||
            faccessat(h->dfd, "hugetlb.1GB.current", F_OK, 0) >= 0)
                stats_hugetlb(h, data);
        return 0;
}

int cgroup_stats(const struct cgroup *cg, struct json_object **ret)
{
        struct json_object *data = json_object_new_object();
        int r;

        if (!data)
                return -ENOMEM;
        r = cg->mode == CGROUP_MODE_V2 ? cgroup_stats_v2(cg, data) : cgroup_stats_v1(cg, data);
        if (r < 0) {
                json_object_put(data);
                return r;
        }
        *ret = data;
        return 0;
}
