/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the OCI runtime configuration (config.json) as C structures.
 *
 * Implements runtime-spec v1.2 config.md and config-linux.md (Linux fields only;
 * windows/solaris/vm/zos sections are accepted and ignored). config_parse()
 * turns the JSON into a struct oci_config that owns every string and array in
 * it; config_free() releases all of it. Every validation error is reported once
 * with err_set() naming the field as the user wrote it, e.g.
 * "linux.namespaces[2].type: unknown namespace type 'foo'".
 *
 * The parser checks types, ranges and names (namespace types, capability
 * names, rlimit names, seccomp actions/operators/architectures, mount options
 * stay strings here and are decoded by mount.c). It does not look at the host:
 * whether a path exists or a namespace is available is decided at run time.
 *
 * Optional scalar fields carry a has_ flag. Counted arrays are (pointer, n_).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

struct json_object;

enum ns_type {
        NS_PID,
        NS_NET,
        NS_MNT,
        NS_IPC,
        NS_UTS,
        NS_USER,
        NS_CGROUP,
        NS_TIME,
        _NS_TYPE_MAX,
        _NS_TYPE_INVALID = -EINVAL,
};

/* "pid", "network", "mount", ... as in the spec; CLONE_NEW* flag; /proc/PID/ns/<name>. */
const char *ns_type_to_string(enum ns_type t);
enum ns_type ns_type_from_string(const char *s);
int ns_type_clone_flag(enum ns_type t);
const char *ns_type_proc_name(enum ns_type t);

struct oci_id_mapping {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

struct oci_user {
        uint32_t uid;
        uint32_t gid;
        bool has_umask;
        uint32_t umask;
        gid_t *additional_gids;
        size_t n_additional_gids;
};

struct oci_rlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft;
        uint64_t hard;
};

/* Capability sets as bit masks indexed by CAP_* number (libcap's names). */
struct oci_capabilities {
        uint64_t bounding;
        uint64_t effective;
        uint64_t inheritable;
        uint64_t permitted;
        uint64_t ambient;
};

struct oci_io_priority {
        int ioprio_class; /* IOPRIO_CLASS_RT/BE/IDLE */
        int priority;
};

struct oci_scheduler {
        int policy; /* SCHED_* */
        int nice;
        int priority;
        uint64_t flags; /* SCHED_FLAG_* */
        uint64_t runtime, deadline, period;
};

struct oci_process {
        bool terminal;
        bool has_console_size;
        uint32_t console_height, console_width;
        struct oci_user user;
        char **args;
        char **env;
        char *cwd;
        bool has_capabilities;
        struct oci_capabilities capabilities;
        struct oci_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        char *apparmor_profile;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *selinux_label;
        bool has_io_priority;
        struct oci_io_priority io_priority;
        bool has_scheduler;
        struct oci_scheduler scheduler;
        char *exec_cpu_affinity_initial;
        char *exec_cpu_affinity_final;
};

struct oci_mount {
        char *destination;
        char *type;
        char *source;
        char **options;
        struct oci_id_mapping *uid_mappings;
        size_t n_uid_mappings;
        struct oci_id_mapping *gid_mappings;
        size_t n_gid_mappings;
};

struct oci_hook {
        char *path;
        char **args;
        char **env;
        int timeout; /* seconds; 0 = none */
};

enum hook_kind {
        HOOK_PRESTART,
        HOOK_CREATE_RUNTIME,
        HOOK_CREATE_CONTAINER,
        HOOK_START_CONTAINER,
        HOOK_POSTSTART,
        HOOK_POSTSTOP,
        _HOOK_KIND_MAX,
        _HOOK_KIND_INVALID = -EINVAL,
};
const char *hook_kind_to_string(enum hook_kind k); /* "createRuntime", ... */

struct oci_namespace {
        enum ns_type type;
        char *path; /* NULL: create a new one */
};

struct oci_device {
        char type; /* 'c', 'b', 'u' (= 'c'), 'p' */
        char *path;
        int64_t major, minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid, has_gid;
        uint32_t uid, gid;
};

struct oci_device_rule {
        bool allow;
        char type; /* 'a', 'c', 'b' */
        int64_t major, minor; /* -1: any */
        char access[4]; /* subset of "rwm" */
};

struct oci_weight_device {
        int64_t major, minor;
        bool has_weight, has_leaf_weight;
        uint16_t weight, leaf_weight;
};

struct oci_throttle_device {
        int64_t major, minor;
        uint64_t rate;
};

struct oci_hugepage_limit {
        char *page_size; /* "2MB", "1GB" */
        uint64_t limit;
};

struct oci_key_value {
        char *key;
        char *value;
};

struct oci_net_priority {
        char *name;
        uint32_t priority;
};

struct oci_resources {
        struct oci_device_rule *devices;
        size_t n_devices;

        bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_kernel,
                has_memory_kernel_tcp, has_memory_swappiness, has_disable_oom_killer, has_use_hierarchy;
        int64_t memory_limit, memory_reservation, memory_swap, memory_kernel, memory_kernel_tcp;
        uint64_t memory_swappiness;
        bool disable_oom_killer, use_hierarchy, memory_check_before_update;

        bool has_cpu_shares, has_cpu_quota, has_cpu_burst, has_cpu_period, has_cpu_rt_runtime, has_cpu_rt_period,
                has_cpu_idle;
        uint64_t cpu_shares, cpu_period, cpu_rt_period, cpu_burst;
        int64_t cpu_quota, cpu_rt_runtime, cpu_idle;
        char *cpu_cpus, *cpu_mems;

        bool has_pids_limit;
        int64_t pids_limit;

        bool has_blkio_weight, has_blkio_leaf_weight;
        uint16_t blkio_weight, blkio_leaf_weight;
        struct oci_weight_device *blkio_weight_devices;
        size_t n_blkio_weight_devices;
        struct oci_throttle_device *blkio_throttle_read_bps, *blkio_throttle_write_bps,
                *blkio_throttle_read_iops, *blkio_throttle_write_iops;
        size_t n_blkio_throttle_read_bps, n_blkio_throttle_write_bps, n_blkio_throttle_read_iops,
                n_blkio_throttle_write_iops;

        struct oci_hugepage_limit *hugepage_limits;
        size_t n_hugepage_limits;

        bool has_net_class_id;
        uint32_t net_class_id;
        struct oci_net_priority *net_priorities;
        size_t n_net_priorities;

        bool has_rdma; /* present: rejected at run time (no rdma controller support) */

        struct oci_key_value *unified; /* cgroup v2 file -> value */
        size_t n_unified;
};

enum seccomp_arg_op {
        SECCOMP_OP_NE,
        SECCOMP_OP_LT,
        SECCOMP_OP_LE,
        SECCOMP_OP_EQ,
        SECCOMP_OP_GE,
        SECCOMP_OP_GT,
        SECCOMP_OP_MASKED_EQ,
        _SECCOMP_OP_MAX,
        _SECCOMP_OP_INVALID = -EINVAL,
};

enum seccomp_action_kind {
        SECCOMP_ACT_KILL_THREAD, /* SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD */
        SECCOMP_ACT_KILL_PROCESS,
        SECCOMP_ACT_TRAP,
        SECCOMP_ACT_ERRNO,
        SECCOMP_ACT_TRACE,
        SECCOMP_ACT_ALLOW,
        SECCOMP_ACT_LOG,
        SECCOMP_ACT_NOTIFY,
        _SECCOMP_ACT_MAX,
        _SECCOMP_ACT_INVALID = -EINVAL,
};

struct oci_seccomp_arg {
        uint32_t index;
        uint64_t value, value_two;
        enum seccomp_arg_op op;
};

struct oci_seccomp_rule {
        char **names;
        enum seccomp_action_kind action;
        bool has_errno_ret;
        uint32_t errno_ret; /* for ERRNO (default EPERM) and TRACE */
        struct oci_seccomp_arg *args;
        size_t n_args;
};

struct oci_seccomp {
        enum seccomp_action_kind default_action;
        bool has_default_errno_ret;
        uint32_t default_errno_ret;
        char **architectures; /* "SCMP_ARCH_X86_64", ... */
        char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ... */
        char *listener_path;
        char *listener_metadata;
        struct oci_seccomp_rule *syscalls;
        size_t n_syscalls;
};

struct oci_linux {
        struct oci_namespace *namespaces;
        size_t n_namespaces;
        struct oci_id_mapping *uid_mappings;
        size_t n_uid_mappings;
        struct oci_id_mapping *gid_mappings;
        size_t n_gid_mappings;
        bool has_time_offsets;
        int64_t time_monotonic_secs, time_boottime_secs;
        uint32_t time_monotonic_nsecs, time_boottime_nsecs;
        struct oci_device *devices;
        size_t n_devices;
        char *cgroups_path;
        struct oci_resources *resources; /* NULL when absent */
        struct oci_key_value *sysctl;
        size_t n_sysctl;
        struct oci_seccomp *seccomp; /* NULL when absent */
        char *rootfs_propagation;
        char **masked_paths;
        char **readonly_paths;
        char *mount_label;
        bool has_personality;
        unsigned long personality_domain; /* PER_LINUX or PER_LINUX32 */
        bool has_intel_rdt; /* present: rejected at run time */
};

struct oci_config {
        char *oci_version;
        struct oci_process *process; /* NULL when absent (allowed for create-only bundles) */
        char *root_path;
        bool root_readonly;
        char *hostname;
        char *domainname;
        struct oci_mount *mounts;
        size_t n_mounts;
        struct oci_hook *hooks[_HOOK_KIND_MAX];
        size_t n_hooks[_HOOK_KIND_MAX];
        struct oci_key_value *annotations;
        size_t n_annotations;
        struct oci_linux *linux_cfg; /* NULL when absent */
};

/* Parse a config.json document. Takes nothing; *ret owns everything. */
int config_parse(const char *buf, size_t len, struct oci_config **ret);
int config_load(const char *path, struct oci_config **ret);
/* Parse a single "process" object (for exec --process FILE). */
int process_parse(const char *buf, size_t len, const char *what, struct oci_process **ret);
/* Parse a "linux.resources" object (for update --resources). */
int resources_parse(const char *buf, size_t len, const char *what, struct oci_resources **ret);
void config_free(struct oci_config *c);
void process_free(struct oci_process *p);
void resources_free(struct oci_resources *r);

static inline void config_freep(struct oci_config **c)
{
        config_free(*c);
}
#define _cleanup_config_ _cleanup_(config_freep)
static inline void process_freep(struct oci_process **p)
{
        process_free(*p);
}
#define _cleanup_process_ _cleanup_(process_freep)
static inline void resources_freep(struct oci_resources **r)
{
        resources_free(*r);
}
#define _cleanup_resources_ _cleanup_(resources_freep)

/* Namespace entry of a type, or NULL when the config does not list it. */
const struct oci_namespace *config_find_namespace(const struct oci_config *c, enum ns_type t);
/* Annotation value or NULL. */
const char *config_annotation(const struct oci_config *c, const char *key);

/* Spec names for the enums (used by features and error messages). */
const char *seccomp_action_to_string(enum seccomp_action_kind a);
enum seccomp_action_kind seccomp_action_from_string(const char *s);
const char *seccomp_op_to_string(enum seccomp_arg_op op);
enum seccomp_arg_op seccomp_op_from_string(const char *s);
/* RLIMIT_* for "RLIMIT_NOFILE", or -EINVAL. */
int rlimit_from_string(const char *s);
/* "RLIMIT_NOFILE" for RLIMIT_NOFILE, "RLIMIT_?" for a resource the spec does not name. */
const char *rlimit_to_string(int resource);
