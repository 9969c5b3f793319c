/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-internal.h - what cgroup.c, cgroup-v1.c, cgroup-v2.c, cgroup-bpf.c, cgroup-stats.c and
 * cgroup-mount.c share, and the pure functions (path rules, unit conversions, device rule
 * emulation, eBPF generation) that tests/unit/test-cgroup.c checks without root.
 *
 * The host layout (struct cgroup_layout) is detected once per process and never freed. A
 * struct cgroup owns one struct cgroup_hier per hierarchy the container lives in: on v2 exactly
 * one; on v1 one per mounted v1 hierarchy (controllers and name=systemd) plus, on a hybrid host
 * whose cgroup2 mount offers a controller that no v1 hierarchy has (hugetlb here), that cgroup2
 * hierarchy too. Every hierarchy holds an O_DIRECTORY fd of the container's cgroup, opened once
 * at create/open time, so that later writes cannot be redirected by a rename.
 */
#pragma once

#include <stdint.h>

#include "cgroup.h"

/* Controllers by bit; v1 hierarchies and cgroup2's cgroup.controllers both map onto them. */
enum cgroup_controller {
        CGROUP_CPU,
        CGROUP_CPUACCT,
        CGROUP_CPUSET,
        CGROUP_MEMORY,
        CGROUP_DEVICES,
        CGROUP_FREEZER,
        CGROUP_BLKIO, /* "io" on cgroup2 */
        CGROUP_PIDS,
        CGROUP_HUGETLB,
        CGROUP_NET_CLS,
        CGROUP_NET_PRIO,
        CGROUP_PERF_EVENT,
        CGROUP_RDMA,
        CGROUP_MISC,
        CGROUP_NAME_SYSTEMD, /* the named v1 hierarchy "name=systemd" */
        _CGROUP_CONTROLLER_MAX,
        _CGROUP_CONTROLLER_INVALID = -EINVAL,
};

#define CGROUP_MASK(c) (1u << (c))

/* v1 name ("memory", "name=systemd"); v2 name where it differs ("io" for CGROUP_BLKIO). */
const char *cgroup_controller_to_string(enum cgroup_controller c);
enum cgroup_controller cgroup_controller_from_string(const char *s);
/* Parse a comma (v1 mount options) or space (cgroup.controllers) separated list into a mask. */
unsigned cgroup_controller_mask(const char *list, char sep);

struct cgroup_layout_mount {
        char *mount;    /* mount point, e.g. "/sys/fs/cgroup/memory" */
        char *mnt_root; /* the mount's root inside the hierarchy (mountinfo field 4), usually "/" */
        char *name;     /* v1: controller list as in /proc/self/cgroup ("cpu,cpuacct", "name=systemd"); v2: "" */
        unsigned mask;
        bool v2;
};

struct cgroup_layout {
        enum cgroup_mode mode;
        char *root; /* /sys/fs/cgroup, or $HULL_CGROUP_ROOT */
        struct cgroup_layout_mount *mounts;
        size_t n_mounts;
        bool use_unified; /* v1 only: the hybrid cgroup2 mount joins the container's set */
};

/* The cached layout. $HULL_CGROUP_ROOT (tests only) replaces /sys/fs/cgroup as the place to look. */
int cgroup_layout_get(const struct cgroup_layout **ret);
/* Parse mountinfo text into a layout for root (exposed for unit tests). */
int cgroup_layout_parse(const char *root, bool root_is_v2, const char *mountinfo, struct cgroup_layout **ret);
void cgroup_layout_free(struct cgroup_layout *l);

struct cgroup_hier {
        char *mount;      /* mount point of the hierarchy */
        char *name;       /* as struct cgroup_layout_mount.name */
        char *path;       /* the container's cgroup relative to the hierarchy root, "/a/b" */
        unsigned mask;    /* controllers of this hierarchy */
        bool v2;          /* a cgroup2 hierarchy */
        unsigned created; /* trailing components of path this runtime created (removed by destroy) */
        int dfd;          /* O_DIRECTORY fd of mount + path; -EBADF when the directory is gone */
};

struct cgroup {
        enum cgroup_mode mode;
        struct cgroup_hier *hier;
        size_t n_hier;
        /* cgroup_oom_read() keeps its baseline here; a pointer so that a const handle can update it. */
        uint64_t *oom_seen;
};

/*
 * Path rules (runtime-spec config-linux.md "Cgroups path"). Normalizes cgroups_path: collapses
 * "//" and a trailing "/", refuses "." and ".." components, the hierarchy root itself and the
 * systemd "slice:prefix:name" form; NULL or "" gives "/<id>". *ret_relative tells whether the
 * result is to be taken from the runtime's own cgroup (cgroup_path_join()).
 */
int cgroup_path_normalize(const char *cgroups_path, const char *id, char **ret, bool *ret_relative);
/* base + "/" + rel, with base "/" handled; both already normalized. */
char *cgroup_path_join(const char *base, const char *rel);
/* This process's cgroup in hierarchy m, relative to the mount (from /proc/self/cgroup text). */
int cgroup_own_path(const char *proc_self_cgroup, const struct cgroup_layout_mount *m, char **ret);

/*
 * The cgroup2 path of a process (the "0::" line of /proc/PID/cgroup text) relative to path, the
 * container's cgroup, without a leading "/": "init.scope" for "0::/ctr/init.scope" and "/ctr".
 * -ENOENT when the process is not strictly below path, -EINVAL for a path with "." or "..".
 */
int cgroup_v2_init_path(const char *proc_pid_cgroup, const char *path, char **ret);

/* The hierarchy holding controller c, or NULL. On v2 the single hierarchy for every controller. */
struct cgroup_hier *cgroup_hier_for(const struct cgroup *cg, enum cgroup_controller c);
/* The hierarchy used to list, freeze and signal processes: freezer on v1 (else the first), the only one on v2. */
struct cgroup_hier *cgroup_hier_procs(const struct cgroup *cg);

/* Small cgroupfs file helpers on a directory fd. A cgroupfs value is written with one write(). */
int cg_write(int dfd, const char *file, const char *value);
int cg_write_u64(int dfd, const char *file, uint64_t v);
int cg_write_i64(int dfd, const char *file, int64_t v);
int cg_read(int dfd, const char *file, char **ret);
int cg_read_u64(int dfd, const char *file, uint64_t *ret);
/* Value of "key N" in a flat keyed file (memory.events, cpu.stat...). -ENOENT when absent. */
int cg_keyed_u64(const char *text, const char *key, uint64_t *ret);

/*
 * Write value to file for the config field `field` and turn a failure into a message naming it:
 * ENOENT becomes "<field>: not supported by this kernel (no <file>)" unless what_missing says
 * more; anything else "<field>: cannot write '<value>' to <file>: <strerror>".
 */
int cg_write_field(int dfd, const char *file, const char *value, const char *field, const char *what_missing);
/* "<field>: <controller> controller is not available" (-EOPNOTSUPP). */
int cg_err_no_controller(const char *field, enum cgroup_controller c);

/* Unit conversions (runtime-spec values to cgroup v2 files), as runc and crun 1.8 convert them. */
/* cpu.shares (2..262144, clamped) to cpu.weight (1..10000); 1024 gives 39. */
uint64_t cgroup_cpu_shares_to_weight(uint64_t shares);
/* blkio.weight (10..1000, clamped) to io.weight (1..10000); 500 gives 4950. */
uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight);
/*
 * memory.swap is the v1 memsw limit (memory + swap); v2's memory.swap.max is swap alone:
 * swap - limit. swap -1 gives -1 ("max"). A swap limit with an unlimited (-1) memory limit, or
 * below the memory limit, is -EINVAL with a message naming linux.resources.memory.swap.
 */
int cgroup_swap_to_v2(int64_t limit, int64_t swap, int64_t *ret);

/* The devices that runtime-spec config-linux.md "Default Devices" requires, as allow rules. */
extern const struct oci_device_rule cgroup_default_device_rules[];
extern const size_t cgroup_n_default_device_rules;

/* The kernel's v1 device cgroup state, to which the v2 eBPF program must give the same answers. */
struct cgroup_dev_exception {
        char type;      /* 'c' or 'b' */
        uint32_t major; /* UINT32_MAX: any */
        uint32_t minor; /* UINT32_MAX: any */
        uint8_t access; /* CGROUP_DEV_ACC_* */
};
enum {
        CGROUP_DEV_ACC_MKNOD = 1, /* = BPF_DEVCG_ACC_MKNOD */
        CGROUP_DEV_ACC_READ = 2,
        CGROUP_DEV_ACC_WRITE = 4,
};
struct cgroup_dev_state {
        bool default_allow; /* true: exceptions are denials; false: exceptions are what is allowed */
        struct cgroup_dev_exception *ex;
        size_t n_ex;
};
/*
 * Replay rules (then, when with_defaults, the default devices) on a fresh cgroup with the
 * semantics of the v1 devices controller (security/device_cgroup.c): "a" switches the default
 * and drops every exception; an allow rule adds or widens an exception in deny-by-default mode
 * and removes the same exception in allow-by-default mode; a deny rule the other way round.
 * Rules are checked first, with messages naming linux.resources.devices[i].
 */
int cgroup_dev_emulate(const struct oci_device_rule *rules, size_t n, bool with_defaults,
                       struct cgroup_dev_state *ret);
void cgroup_dev_state_done(struct cgroup_dev_state *s);
/* Validate one rule (type, access, numbers) for error messages naming linux.resources.devices[i]. */
int cgroup_dev_rule_check(const struct oci_device_rule *r, size_t i);
/* "c 1:3 rwm" / "a *:* rwm" for devices.allow and devices.deny. */
void cgroup_dev_rule_format(const struct oci_device_rule *r, char buf[static 64]);

struct bpf_insn;
/* Generate the BPF_PROG_TYPE_CGROUP_DEVICE program for state s. *ret is malloc'd. */
int cgroup_bpf_generate(const struct cgroup_dev_state *s, struct bpf_insn **ret, size_t *ret_n);
/* BPF_PROG_LOAD as BPF_PROG_TYPE_CGROUP_DEVICE; on refusal the verifier's last line is in err_msg(). */
int cgroup_bpf_load(const struct bpf_insn *insns, size_t n, int *ret);
/*
 * Load the program for res->devices (plus the default devices), attach it to the cgroup dfd with
 * BPF_F_ALLOW_MULTI, then, on update, detach the programs this runtime attached before.
 */
int cgroup_bpf_apply_devices(int dfd, const struct oci_resources *res, bool update);
/* Detach every program this runtime attached to dfd (by program name). */
int cgroup_bpf_detach_devices(int dfd);

/* Version specific parts. */
int cgroup_v1_apply(struct cgroup *cg, const struct oci_resources *res, bool update);
int cgroup_v1_freeze(const struct cgroup_hier *h, bool frozen);
int cgroup_v1_cpuset_init(int mount_fd, const char *path, unsigned created);
int cgroup_v2_apply(struct cgroup *cg, const struct oci_resources *res, bool update);
int cgroup_v2_freeze(const struct cgroup_hier *h, bool frozen);
/*
 * Make the controllers of mask (and of the hierarchy root) available in the cgroup path below the
 * cgroup2 mount mount_fd, by enabling them in cgroup.subtree_control of every level above it,
 * top-down, the levels this runtime did not create included. Does nothing when path's
 * cgroup.controllers already lists them. strict: a level that refuses is an error (otherwise the
 * limits that need the controller fail later, naming their field).
 */
int cgroup_v2_enable_controllers(int mount_fd, const char *path, unsigned mask, bool strict);
int cgroup_stats_v1(const struct cgroup *cg, struct json_object *data);
int cgroup_stats_v2(const struct cgroup *cg, struct json_object *data);
