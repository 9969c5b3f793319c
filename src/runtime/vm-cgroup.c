/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-cgroup.c - the cgroup of a VM-isolated container and the size of its guest
 * (docs/agent.md, "Resources"; docs/cgroups.md).
 *
 * A VM-isolated container gets the cgroup an ordinary one would (linux.cgroupsPath, the
 * same create, state and destroy in cgroup.c); what runs in it is the host side of the
 * container: the shim, the VMM it starts and the helpers either of them starts. So the
 * limits of linux.resources bound what the container costs the host, as Kata Containers
 * does with its sandbox cgroup: the guest's memory plus the VMM's own, the VMM's CPU time,
 * its threads, its disk I/O. pause/resume freeze that cgroup (the vCPU threads stop: the
 * guest is paused), and statistics are read from it.
 *
 * Two things differ from an ordinary container:
 *  - the device rules: linux.resources.devices describe the devices of the container's
 *    processes, which live in the guest and see only the guest's devices. On the host the
 *    cgroup holds the VMM, which needs the runtime-spec default devices and the
 *    virtualization ones (kvm, tun, vhost-net, vhost-vsock) and nothing else; the config's
 *    list is replaced by that one, at create and at update.
 *  - the guest is sized from the limits (vmiso_size()) unless the annotations say how.
 *
 * The chosen size and why are written to isolation.json in the state directory, where
 * hull's engine reads them for `inspect`.
 *
 * KVM attaches a kernel thread of its own to the cgroups of the process that creates a VM
 * (kvm-nx-lpage-recovery, kvm_vm_create_worker_thread()). The cgroup2 freezer skips kernel
 * threads but still counts them (Linux before 6.13, where the thread became a vhost_task), so
 * `cgroup.events` never says "frozen 1": once the VM exists, vmiso_cgroup_release_kthreads()
 * moves such threads to the hierarchy's root (found with hull-vmm inside the nested test host).
 */
#include <fcntl.h>
#include <inttypes.h>

#include "cgroup.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "vm-isolation.h"

#define MIB (1024 * 1024)

/* Device numbers from Documentation/admin-guide/devices.txt (misc, major 10). */
static const struct oci_device_rule vmm_devices[] = {
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 10, .minor = 232, .access = "rw"}, /* /dev/kvm */
        {.allow = true, .type = 'c', .major = 10, .minor = 200, .access = "rw"}, /* /dev/net/tun */
        {.allow = true, .type = 'c', .major = 10, .minor = 238, .access = "rw"}, /* /dev/vhost-net */
        {.allow = true, .type = 'c', .major = 10, .minor = 241, .access = "rw"}, /* /dev/vhost-vsock */
};

static int parse_annotation(const struct oci_config *cfg, const char *key, int min, int max,
                            const char *what, int *ret)
{
        const char *v = config_annotation(cfg, key);
        int n;

        if (!v)
                return 0;
        if (parse_int(v, &n) < 0 || n < min || n > max)
                return err_set(-EINVAL, "%s: invalid %s '%s' (%d to %d)", key, what, v, min, max);
        *ret = n;
        return 1;
}

int vmiso_size(const struct oci_config *cfg, const struct vmiso_overhead *ov, struct vmiso_size *ret)
{
        const struct oci_resources *res = cfg->linux_cfg ? cfg->linux_cfg->resources : NULL;
        bool has_limit = res && res->has_memory_limit && res->memory_limit > 0;
        int64_t limit_mib = has_limit ? res->memory_limit / MIB : 0;
        struct vmiso_size sz = {.memory_mib = VMISO_DEFAULT_MEMORY_MIB, .cpus = VMISO_DEFAULT_CPUS};
        int overhead_mib, r;

        /* vCPUs first: each one adds to what the VMM takes beside the guest. */
        r = parse_annotation(cfg, "io.hull.isolation.cpus", 1, VMISO_MAX_CPUS, "number", &sz.cpus);
        if (r < 0)
                return r;
        if (r > 0)
                snprintf(sz.cpus_why, sizeof(sz.cpus_why), "annotation io.hull.isolation.cpus");
        else if (res && res->has_cpu_quota && res->cpu_quota > 0) {
                /* runtime-spec leaves the period to the kernel when unset: CFS's default is 100 ms. */
                uint64_t period = res->has_cpu_period && res->cpu_period ? res->cpu_period : 100000;
                uint64_t n = ((uint64_t)res->cpu_quota + period - 1) / period;
                sz.cpus = (int)MAX(1, MIN(n, (uint64_t)VMISO_MAX_CPUS));
                snprintf(sz.cpus_why, sizeof(sz.cpus_why),
                         "linux.resources.cpu quota %" PRIi64 " / period %" PRIu64 ", rounded up",
                         res->cpu_quota, period);
        } else
                snprintf(sz.cpus_why, sizeof(sz.cpus_why), "default");
        overhead_mib = ov->base_mib + ov->per_cpu_mib * sz.cpus;
        if (res && res->has_pids_limit && res->pids_limit > 0) {
                int64_t left = res->pids_limit - VMISO_PIDS_BASE - sz.cpus;
                if (left < 1)
                        return err_set(
                                -EINVAL,
                                "linux.resources.pids.limit: %" PRIi64
                                " is too small for a VM with %d vCPU%s: "
                                "at least %d (the shim, the VMM's threads, one per vCPU, one I/O worker)",
                                res->pids_limit, sz.cpus, sz.cpus == 1 ? "" : "s",
                                VMISO_PIDS_BASE + sz.cpus + 1);
                sz.io_workers = (int)MIN(left, (int64_t)VMISO_IO_WORKERS_MAX);
        }

        r = parse_annotation(cfg, "io.hull.isolation.memory", VMISO_MIN_MEMORY_MIB, VMISO_MAX_MEMORY_MIB,
                             "size in MiB", &sz.memory_mib);
        if (r < 0)
                return r;
        if (r > 0) {
                snprintf(sz.memory_why, sizeof(sz.memory_why), "annotation io.hull.isolation.memory");
                /* The VMM would be OOM-killed while the guest boots: say so now, naming both. */
                if (has_limit && sz.memory_mib + overhead_mib > limit_mib)
                        return err_set(
                                -EINVAL,
                                "io.hull.isolation.memory: %d MiB for the guest and %d MiB for the VMM "
                                "exceed linux.resources.memory.limit (%" PRIi64 " MiB)",
                                sz.memory_mib, overhead_mib, limit_mib);
        } else if (has_limit) {
                if (limit_mib - overhead_mib < VMISO_MIN_MEMORY_MIB)
                        return err_set(-EINVAL,
                                       "linux.resources.memory.limit: %" PRIi64
                                       " MiB is too small for a VM: "
                                       "at least %d MiB (%d MiB for the guest, %d MiB for the VMM)",
                                       limit_mib, VMISO_MIN_MEMORY_MIB + overhead_mib, VMISO_MIN_MEMORY_MIB,
                                       overhead_mib);
                sz.memory_mib = (int)MIN(limit_mib - overhead_mib, (int64_t)VMISO_MAX_MEMORY_MIB);
                snprintf(sz.memory_why, sizeof(sz.memory_why),
                         "linux.resources.memory.limit %" PRIi64 " MiB minus %d MiB for the VMM", limit_mib,
                         overhead_mib);
        } else
                snprintf(sz.memory_why, sizeof(sz.memory_why), "default");
        *ret = sz;
        return 0;
}

/* linux.resources with the config's device rules replaced by the VMM's (see the top of the file). */
static struct oci_resources vmm_resources(const struct oci_resources *res)
{
        struct oci_resources r = res ? *res : (struct oci_resources){};

        r.devices = (struct oci_device_rule *)vmm_devices;
        r.n_devices = ELEMENTSOF(vmm_devices);
        return r;
}

int vmiso_cgroup_create(const struct oci_config *cfg, const char *id, struct cgroup **ret)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        struct oci_resources res;
        int r;

        r = cgroup_create(cfg->linux_cfg ? cfg->linux_cfg->cgroups_path : NULL, id, &cg);
        if (r < 0)
                return err_prefix(r, "linux.cgroupsPath");
        res = vmm_resources(cfg->linux_cfg ? cfg->linux_cfg->resources : NULL);
        r = cgroup_apply(cg, &res, false);
        if (r < 0) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                cgroup_destroy(cg);
                return err_set(r, "%s", msg);
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

int vmiso_cgroup_update(struct cgroup *cg, const struct oci_resources *res)
{
        struct oci_resources r = *res;

        /* The VMM's device rules stay (the guest's devices are the guest's). */
        r.devices = NULL;
        r.n_devices = 0;
        return cgroup_apply(cg, &r, true);
}

/* PF_KTHREAD (include/linux/sched.h), the flags of field 9 of /proc/PID/stat. */
#define PF_KTHREAD_FLAG 0x00200000u

static bool is_kthread(const char *pid)
{
        _cleanup_free_ char *p = strdup_printf("/proc/%s/stat", pid), *stat = NULL;
        const char *rp;
        unsigned long flags;

        if (!p || read_full_file(p, 4096, &stat, NULL) < 0 || !(rp = strrchr(stat, ')')))
                return false;
        return sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) == 1 && (flags & PF_KTHREAD_FLAG);
}

int vmiso_cgroup_release_kthreads(const struct cgroup *cg)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *hs;
        int r, moved = 0;

        r = cgroup_to_json(cg, &o);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(o, "hierarchies", &hs) || !json_object_is_type(hs, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(hs); i++) {
                struct json_object *h = json_object_array_get_idx(hs, i), *v2, *mount, *path;
                _cleanup_free_ char *procs = NULL, *root = NULL, *list = NULL;

                if (!json_object_object_get_ex(h, "v2", &v2) || !json_object_get_boolean(v2) ||
                    !json_object_object_get_ex(h, "mount", &mount) ||
                    !json_object_object_get_ex(h, "path", &path))
                        continue;
                procs = strdup_printf("%s%s/cgroup.procs", json_object_get_string(mount),
                                      json_object_get_string(path));
                root = strdup_printf("%s/cgroup.procs", json_object_get_string(mount));
                if (!procs || !root)
                        return -ENOMEM;
                if (read_full_file(procs, 1 << 20, &list, NULL) < 0)
                        continue;
                for (char *save = NULL, *pid = strtok_r(list, "\n", &save); pid;
                     pid = strtok_r(NULL, "\n", &save)) {
                        if (!is_kthread(pid))
                                continue;
                        r = write_string_file(root, pid);
                        log_debug("vm isolation: kernel thread %s moved to %s: %s", pid, root,
                                  r < 0 ? strerror(-r) : "ok");
                        moved += r >= 0;
                }
        }
        return moved;
}

int vmiso_size_save(const char *dir, const char *vmm, const struct vmiso_size *sz)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        _cleanup_free_ char *path = strdup_printf("%s/" VMISO_SIZE_FILE, dir);

        if (!o || !path)
                return -ENOMEM;
        json_object_object_add(o, "vmm", json_object_new_string(vmm));
        json_object_object_add(o, "memoryMiB", json_object_new_int(sz->memory_mib));
        json_object_object_add(o, "memoryFrom", json_object_new_string(sz->memory_why));
        json_object_object_add(o, "cpus", json_object_new_int(sz->cpus));
        json_object_object_add(o, "cpusFrom", json_object_new_string(sz->cpus_why));
        if (sz->io_workers)
                json_object_object_add(o, "ioWorkers", json_object_new_int(sz->io_workers));
        return json_write_file_atomic(path, o, 0600);
}
