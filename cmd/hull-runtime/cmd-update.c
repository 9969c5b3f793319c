/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-update.c - `update`: new resource limits from --resources FILE|- and single-value options. */
#include "cgroup.h"
#include "cmd.h"
#include "error.h"
#include "state.h"
#include "util.h"
#include "vm-isolation.h"

const struct opt_def update_opts[] = {
        { "resources", 'r', OPT_VALUE, "FILE", "linux.resources JSON from FILE, or - for stdin" },
        { "memory", 'm', OPT_VALUE, "BYTES", "memory limit (suffixes k, m, g; -1 unlimited)" },
        { "memory-reservation", 0, OPT_VALUE, "BYTES", "memory soft limit" },
        { "memory-swap", 0, OPT_VALUE, "BYTES", "memory plus swap limit" },
        { "kernel-memory", 0, OPT_VALUE, "BYTES", "kernel memory limit (cgroup v1)" },
        { "cpu-shares", 0, OPT_VALUE, "N", "relative CPU weight" },
        { "cpu-quota", 0, OPT_VALUE, "USEC", "CPU time per period" },
        { "cpu-period", 0, OPT_VALUE, "USEC", "CPU period" },
        { "cpu-rt-runtime", 0, OPT_VALUE, "USEC", "real-time CPU time per period" },
        { "cpu-rt-period", 0, OPT_VALUE, "USEC", "real-time CPU period" },
        { "cpuset-cpus", 0, OPT_VALUE, "LIST", "CPUs the container may use" },
        { "cpuset-mems", 0, OPT_VALUE, "LIST", "memory nodes the container may use" },
        { "pids-limit", 0, OPT_VALUE, "N", "maximum number of processes (-1 unlimited)" },
        { "blkio-weight", 0, OPT_VALUE, "N", "block I/O weight (10-1000)" },
        {},
};

static int get_i64(struct cmd_args *a, const char *name, bool size, bool *has, int64_t *v)
{
        const char *s = arg_value(a, name);
        uint64_t u;

        if (!s)
                return 0;
        if (streq(s, "-1")) {
                *v = -1;
        } else if ((size ? parse_size(s, &u) : parse_u64(s, &u)) < 0 || u > INT64_MAX) {
                return err_set(-EINVAL, "--%s: invalid value '%s'", name, s);
        } else
                *v = (int64_t)u;
        *has = true;
        return 0;
}

static int get_u64(struct cmd_args *a, const char *name, bool *has, uint64_t *v)
{
        const char *s = arg_value(a, name);

        if (!s)
                return 0;
        if (parse_u64(s, v) < 0)
                return err_set(-EINVAL, "--%s: invalid value '%s'", name, s);
        *has = true;
        return 0;
}

int cmd_update(struct cmd_args *a)
{
        _cleanup_state_ struct container_state *s = NULL;
        struct oci_resources *res = NULL;
        const char *file = arg_value(a, "resources");
        int r;

        r = state_open(a->g->root, a->pos[0], true, &s);
        if (r < 0)
                return cmd_fail(r, "update container '%s'", a->pos[0]);
        if (state_status(s) == STATUS_STOPPED)
                return cmd_fail(-EINVAL, "update container '%s': it is stopped", a->pos[0]);
        if (!s->cgroup)
                return cmd_fail(-EOPNOTSUPP, "update container '%s': it has no cgroup", a->pos[0]);
        if (file) {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = streq(file, "-") ? read_full_fd(STDIN_FILENO, 4 << 20, &buf, &len)
                                     : read_full_file(file, 4 << 20, &buf, &len);
                if (r < 0)
                        return cmd_fail(r, "update: cannot read --resources '%s'", file);
                r = resources_parse(buf, len, streq(file, "-") ? "stdin" : file, &res);
                if (r < 0)
                        return cmd_fail(r, "update container '%s'", a->pos[0]);
        } else {
                res = calloc(1, sizeof(*res));
                if (!res)
                        return cmd_fail(-ENOMEM, "update");
        }
        uint64_t w = 0;
        bool has_w = false;
        if ((r = get_i64(a, "memory", true, &res->has_memory_limit, &res->memory_limit)) < 0 ||
            (r = get_i64(a, "memory-reservation", true, &res->has_memory_reservation, &res->memory_reservation)) < 0 ||
            (r = get_i64(a, "memory-swap", true, &res->has_memory_swap, &res->memory_swap)) < 0 ||
            (r = get_i64(a, "kernel-memory", true, &res->has_memory_kernel, &res->memory_kernel)) < 0 ||
            (r = get_u64(a, "cpu-shares", &res->has_cpu_shares, &res->cpu_shares)) < 0 ||
            (r = get_i64(a, "cpu-quota", false, &res->has_cpu_quota, &res->cpu_quota)) < 0 ||
            (r = get_u64(a, "cpu-period", &res->has_cpu_period, &res->cpu_period)) < 0 ||
            (r = get_i64(a, "cpu-rt-runtime", false, &res->has_cpu_rt_runtime, &res->cpu_rt_runtime)) < 0 ||
            (r = get_u64(a, "cpu-rt-period", &res->has_cpu_rt_period, &res->cpu_rt_period)) < 0 ||
            (r = get_i64(a, "pids-limit", false, &res->has_pids_limit, &res->pids_limit)) < 0 ||
            (r = get_u64(a, "blkio-weight", &has_w, &w)) < 0) {
                resources_free(res);
                return cmd_fail(r, "update container '%s'", a->pos[0]);
        }
        if (has_w) {
                if (w < 10 || w > 1000) {
                        resources_free(res);
                        return cmd_fail(-EINVAL, "--blkio-weight: must be 10-1000, got %llu", (unsigned long long)w);
                }
                res->has_blkio_weight = true;
                res->blkio_weight = (uint16_t)w;
        }
        if (arg_value(a, "cpuset-cpus")) {
                free(res->cpu_cpus);
                res->cpu_cpus = strdup(arg_value(a, "cpuset-cpus"));
        }
        if (arg_value(a, "cpuset-mems")) {
                free(res->cpu_mems);
                res->cpu_mems = strdup(arg_value(a, "cpuset-mems"));
        }
        /* A VM-isolated container's cgroup holds its VMM: the guest keeps its size (docs/agent.md). */
        r = vmiso_state(s) ? vmiso_cgroup_update(s->cgroup, res) : cgroup_apply(s->cgroup, res, true);
        resources_free(res);
        if (r < 0)
                return cmd_fail(r, "update container '%s'", a->pos[0]);
        return 0;
}
