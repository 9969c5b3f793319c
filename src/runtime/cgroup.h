/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.h - container cgroups on cgroup v1 (legacy and hybrid layouts) and v2 (unified).
 *
 * The layout is detected at run time from /sys/fs/cgroup: a cgroup2 mount there
 * means v2; a tmpfs with per-controller cgroup mounts means v1, where a
 * cgroup2 mount at /sys/fs/cgroup/unified (hybrid) is used only for what v1
 * cannot express and is otherwise left alone. A struct cgroup names one
 * container's cgroup: its path relative to each hierarchy's root and an open
 * directory fd per hierarchy, so that later operations cannot be redirected.
 *
 * cgroupsPath (runtime-spec config-linux.md "Cgroups path"): an absolute path is
 * taken from the hierarchy root; a relative one from the runtime's own cgroup;
 * empty means "/<container id>". The systemd "slice:prefix:name" form is refused
 * with a clear error, as there is no systemd here.
 *
 * Thread/process rules: create/apply/destroy run in the runtime (parent)
 * process. cgroup_enter_fds() hands out fds of cgroup.procs files, which a
 * freshly cloned child writes "0" to, so that it joins before it unshares its
 * cgroup namespace without another round trip to the parent.
 */
#pragma once

#include <sys/types.h>

#include "config.h"

struct json_object;

/*
 * Keep the cgroup lines of /proc/self/mountinfo in the file path (the runtime's state
 * directory), valid while the cgroup root looks the same (cgroup.c says how that is checked).
 * Called before the first cgroup operation; NULL: no cache.
 */
void cgroup_layout_set_cache(const char *path);

enum cgroup_mode {
        CGROUP_MODE_V1,
        CGROUP_MODE_V2,
        _CGROUP_MODE_MAX,
        _CGROUP_MODE_INVALID = -EINVAL,
};

struct cgroup;

/* Detect the host's layout (cached after the first call). */
int cgroup_detect(enum cgroup_mode *ret);

/*
 * Create (mkdir -p) the container's cgroup in every hierarchy and return a handle.
 * path: linux.cgroupsPath or NULL; id: the container id for the default path.
 * On failure nothing that this call created is left behind.
 */
int cgroup_create(const char *path, const char *id, struct cgroup **ret);
/* Open an existing cgroup from what cgroup_to_json() stored. */
int cgroup_from_json(struct json_object *o, struct cgroup **ret);
/* Serialize (mode + paths) for the container's state file. */
int cgroup_to_json(const struct cgroup *cg, struct json_object **ret);
void cgroup_free(struct cgroup *cg);
static inline void cgroup_freep(struct cgroup **cg)
{
        cgroup_free(*cg);
}
#define _cleanup_cgroup_ _cleanup_(cgroup_freep)

enum cgroup_mode cgroup_get_mode(const struct cgroup *cg);
/*
 * The cgroup's path relative to the hierarchy roots, e.g. "/hull/abc". With a relative
 * cgroupsPath on v1 each hierarchy may differ (each is below the runtime's own cgroup there);
 * this is the first hierarchy's, and cgroup_to_json() keeps them all.
 */
const char *cgroup_get_path(const struct cgroup *cg);

/*
 * Open fds (O_WRONLY|O_CLOEXEC) through which the new container process joins its cgroup by
 * writing "0" itself: `tasks` on v1 hierarchies, cgroup.procs on cgroup2 ones (left out when
 * skip_v2: the process was created in them with cgroup_clone_fd()). A process that moves itself
 * (its own single thread, "0" in `tasks`) does not take the cgroup threadgroup lock, whose writer
 * waits for an RCU grace period (milliseconds) on every other kind of move. Caller owns *ret
 * (array and fds).
 */
int cgroup_enter_fds(const struct cgroup *cg, bool skip_v2, int **ret, size_t *ret_n);
/*
 * Create a child process (clone flags plus SIGCHLD; returns like fork(), or a negative errno)
 * that is in cg from its first instruction where the kernel allows: with into, clone3 with
 * CLONE_INTO_CGROUP puts it in the cgroup2 hierarchy (see cgroup_clone_fd()), and *ret_fds are
 * cgroup_enter_fds()'s for the hierarchies left, which the child joins by writing "0" to each.
 * Without into, or without clone3, every hierarchy is an fd. Caller owns *ret_fds.
 */
pid_t cgroup_clone(const struct cgroup *cg, bool into, uint64_t flags, int **ret_fds, size_t *ret_n);
/*
 * The same for a process that joins a running container (exec). On cgroup2, a container cgroup
 * that hands controllers down to cgroups of its own (systemd or a nested runtime inside) can hold
 * no process itself (EBUSY, "no internal processes"): the fd is then that of the cgroup of
 * init_pid, the container's process, wherever below the container's cgroup it is (runc does the
 * same).
 */
int cgroup_enter_fds_exec(const struct cgroup *cg, pid_t init_pid, int **ret, size_t *ret_n);
/*
 * The directory fd of the container's cgroup for clone3(CLONE_INTO_CGROUP) (Linux 5.7), which
 * creates the child directly in its cgroup instead of moving it there afterwards: a move takes
 * the cgroup threadgroup lock, whose writer waits for an RCU grace period (milliseconds).
 * The cgroup2 hierarchy is the kernel's default one, also on a hybrid host where it sits beside
 * the v1 hierarchies (which then still need cgroup_enter_fds(cg, true)). -EOPNOTSUPP when the
 * container has no cgroup2 hierarchy, or with HULL_CGROUP_NO_CLONE_INTO=1 in the environment
 * (benchmarks). The fd stays owned by cg: do not close it.
 */
int cgroup_clone_fd(const struct cgroup *cg);
/* Move pid into the cgroup in every hierarchy (exec of a new process into a running container). */
int cgroup_enter(const struct cgroup *cg, pid_t pid);

/*
 * Apply linux.resources: memory, cpu, cpuset, pids, blkio/io, hugetlb, devices
 * (v1 devices.allow/deny; v2 an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program), net_cls/net_prio
 * where mounted, unified (v2 only). The default device rules of runtime-spec (null, zero,
 * full, random, urandom, tty, console, ptmx, pts) are always allowed in addition to the
 * config's rules. A resource the host cannot enforce fails with a message naming the field
 * ("linux.resources.hugepageLimits: hugetlb controller is not available"). Used by create and
 * by update (update = true: only the fields that are set change).
 * res may be NULL (a config without linux.resources): create must call it all the same, since
 * the device rules (deny everything but the default devices) are written here.
 */
int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, bool update);

/* Freeze or thaw every process; returns once the kernel reports the new state. */
int cgroup_freeze(const struct cgroup *cg, bool frozen);
int cgroup_is_frozen(const struct cgroup *cg, bool *ret);
/* Every pid in the cgroup and its descendants. *ret is malloc'd. */
int cgroup_pids(const struct cgroup *cg, pid_t **ret, size_t *ret_n);
/* Send sig to every process (freezing first so that none can fork away; cgroup.kill on v2 for SIGKILL). */
int cgroup_kill_all(const struct cgroup *cg, int sig);
/* Remove the cgroup in every hierarchy (retries briefly while the kernel still drains it). */
int cgroup_destroy(struct cgroup *cg);

/*
 * Statistics in runc's "events --stats" shape (the "data" object of a stats event):
 * {"cpu":{"usage":{"total","percpu","kernel","user"},"throttling":{...}},
 *  "memory":{"usage":{"limit","usage","max","failcnt"},"swap":{...},"kernel":{...},"raw":{...}},
 *  "pids":{"current","limit"},"blkio":{...},"hugetlb":{...}}
 */
int cgroup_stats(const struct cgroup *cg, struct json_object **ret);
/* An fd that becomes readable when the cgroup has an OOM kill (eventfd on v1, inotify on memory.events on v2). */
int cgroup_oom_fd(const struct cgroup *cg);
/* Read and consume the OOM counter behind cgroup_oom_fd(); returns the number of new OOM events. */
int cgroup_oom_read(const struct cgroup *cg, int fd);

/*
 * Mount the container's view of cgroups at target (a "/proc/self/fd/N" path of a directory inside
 * the rootfs), for a config mount of type "cgroup": v2 mounts cgroup2; v1 mounts a tmpfs with one
 * subdirectory per hierarchy holding the container's own cgroup (a cgroup mount when the container
 * has a cgroup namespace, else a bind of its directory) and the cpu,cpuacct-style symlinks.
 * flags are the MS_* flags of the config mount (ro, nosuid, nodev, noexec are honoured).
 */
int cgroup_mount(const struct cgroup *cg, const char *target, unsigned long flags, bool in_cgroupns);

/* Controllers available to a container on this host (for "features"). */
int cgroup_controllers(char ***ret);
