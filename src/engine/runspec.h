/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runspec.h - what a user asked for when creating a container (`hull run`/`create`
 * options, later the same document from hulld's API), its parsers, and its JSON form.
 *
 * The runspec is stored whole in the workload row (workload.h) and turned into a
 * runtime-spec config.json at every start (ocispec.h), so that a container restarted
 * after an upgrade of hull gets the defaults of the hull that starts it, as podman does.
 *
 * Parsers take what a user typed (or read from a file) and fill one field; they record
 * "--flag: what is wrong with 'value'" with err_set() and return -EINVAL. They are the
 * only place where the syntax of -v, --mount, --tmpfs, --env-file, --label, --restart,
 * --cpus, --security-opt, --ulimit and durations is known.
 *
 * Everything is owned by the struct; runspec_free() releases it.
 */
#pragma once

#include <stdint.h>

#include "macro.h"

struct json_object;

enum mount_kind {
        MOUNT_BIND,
        MOUNT_VOLUME,
        MOUNT_TMPFS,
        _MOUNT_KIND_MAX,
        _MOUNT_KIND_INVALID = -EINVAL,
};

struct runspec_mount {
        enum mount_kind kind;
        char *source;      /* bind: host path; volume: name (NULL before an anonymous one is named) */
        char *destination; /* absolute path in the container */
        bool readonly;
        bool nocopy;       /* volume: do not copy the image's content into an empty volume */
        bool anonymous;    /* volume made for this container (-v /path, image VOLUME), removed with it */
        char *propagation; /* bind: rprivate (default), private, rshared, shared, rslave, slave */
        char *options;     /* tmpfs: mount options, e.g. "size=65536k,mode=1777" (may be NULL) */
};

enum restart_policy {
        RESTART_POLICY_NO,
        RESTART_POLICY_ALWAYS,
        RESTART_POLICY_UNLESS_STOPPED,
        RESTART_POLICY_ON_FAILURE,
        _RESTART_POLICY_MAX,
        _RESTART_POLICY_INVALID = -EINVAL,
};

struct runspec_ulimit {
        char *name; /* "nofile" */
        uint64_t soft, hard;
};

struct runspec_health {
        char **test; /* ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]; NULL: the image's */
        int64_t interval, timeout, start_period; /* ns, 0: the image's or Docker's default */
        int retries;                             /* 0: the image's or 3 */
};

/* One network of a bridged container: --network NAME with the options that apply to it
 * (--ip, --ip6, --mac-address go to the first; --network-alias to every one), or what
 * `hull network connect` added. */
struct runspec_network {
        char *name;
        char *ip, *ip6, *mac;
        char **aliases;
};

struct runspec {
        char *image;       /* as typed */
        char **command;    /* after IMAGE; NULL: the image's Cmd */
        char **entrypoint; /* --entrypoint; meaningful when entrypoint_set ([] clears the image's) */
        bool entrypoint_set;
        char **env; /* -e and --env-file, K=V, in the order given */
        char *workdir, *user, *hostname;
        bool interactive, tty, auto_remove;
        bool privileged, read_only, no_new_privileges, seccomp_unconfined;
        char *seccomp_profile; /* the text of --security-opt seccomp=FILE, read at create */
        char **cap_add, **cap_drop;
        struct runspec_mount *mounts;
        size_t n_mounts;
        enum restart_policy restart;
        unsigned restart_max;
        int64_t memory, memory_swap, memory_reservation; /* bytes; 0 unset; swap -1 unlimited */
        int64_t cpu_quota, cpu_period;                   /* --cpus; 0 unset */
        uint64_t cpu_shares;
        char *cpuset_cpus;
        int64_t pids_limit; /* 0 unset, -1 unlimited */
        int64_t shm_size;   /* bytes of /dev/shm, 0 default (64 MiB) */
        char **labels;      /* key, value, key, value... */
        struct runspec_health health;
        bool no_healthcheck;
        /* --network: NULL (bridged: the networks below, or the default network when there are none),
         * "none", "host" or "container:ID". */
        char *network;
        struct runspec_network *networks;
        size_t n_networks;
        char **dns, **dns_search, **dns_options;
        char **publish;    /* -p specs, as typed */
        bool publish_all;  /* -P: the image's EXPOSE */
        char **egress, **ingress; /* policy rules (src/net/policy.h) */
        char *isolation; /* "container" (default) or "vm": a microVM of its own (docs/agent.md) */
        char *stop_signal;
        int stop_timeout; /* seconds, -1: default (10) */
        struct runspec_ulimit *ulimits;
        size_t n_ulimits;
        char **add_hosts; /* "name:ip" */
        uint64_t log_max_size;
        unsigned log_max_files;
};

void runspec_free(struct runspec *s);
static inline void runspec_freep(struct runspec **s)
{
        runspec_free(*s);
}
#define _cleanup_runspec_ _cleanup_(runspec_freep)
struct runspec *runspec_new(void);

int runspec_to_json(const struct runspec *s, struct json_object **ret);
int runspec_from_json(struct json_object *o, struct runspec **ret);

const char *restart_policy_to_string(enum restart_policy p);
/* "no", "always", "unless-stopped", "on-failure", "on-failure:N". */
int runspec_parse_restart(const char *s, enum restart_policy *ret, unsigned *ret_max);
/* "on-failure:3" etc. for the monitor (malloc'd). */
char *runspec_restart_string(const struct runspec *s);

/* -e K=V, or -e K (the value of K in this process's environment; skipped when unset). */
int runspec_add_env(struct runspec *s, const char *arg);
/* The content of an --env-file: K=V lines, K lines (from the environment), # comments, blank lines. */
int runspec_add_env_file(struct runspec *s, const char *content, size_t len, const char *path);
/* Set K=V in an environment strv, replacing an earlier K (the last -e wins, as in Docker). */
int runspec_env_set(char ***env, const char *kv);
/* Labels (key, value, ...) as a JSON object text (malloc'd). */
int runspec_labels_json(char **labels, char **ret);
/* -l K=V or -l K (empty value); a later K replaces an earlier one. */
int runspec_add_label(struct runspec *s, const char *arg);
/* -v [SRC:]DST[:OPTIONS]; SRC absolute = bind, a name = named volume, none = anonymous volume. */
int runspec_add_volume(struct runspec *s, const char *arg);
/* --mount type=bind|volume|tmpfs,source=..,target=..,readonly,bind-propagation=..,tmpfs-size=.. */
int runspec_add_mount(struct runspec *s, const char *arg);
/* --tmpfs DST[:OPTIONS] */
int runspec_add_tmpfs(struct runspec *s, const char *arg);
/* --ulimit name=soft[:hard] */
int runspec_add_ulimit(struct runspec *s, const char *arg);
/* --cpus 1.5 -> quota 150000, period 100000 */
int runspec_set_cpus(struct runspec *s, const char *arg);
/* --security-opt seccomp=unconfined|FILE, no-new-privileges[=BOOL], label=..., apparmor=... */
int runspec_set_security_opt(struct runspec *s, const char *arg);
/* --log-opt max-size=10m, max-file=3 */
int runspec_set_log_opt(struct runspec *s, const char *arg);
/* Memory sizes: "512m", "1g", "1048576", "-1" when allow_unlimited. */
int runspec_parse_memory(const char *flag, const char *arg, bool allow_unlimited, int64_t *ret);
/* Go durations: "30s", "1m30s", "1.5s", "250ms", "1h". */
int runspec_parse_duration(const char *flag, const char *arg, int64_t *ret_ns);
/* --network MODE|NAME (repeatable for names): sets the mode or appends a network. */
int runspec_add_network(struct runspec *s, const char *arg);
/* Append a network (network connect); -EEXIST when the container is on it already. */
int runspec_network_add(struct runspec *s, const char *name, const char *ip, const char *ip6, const char *mac,
                        char *const *aliases);
/* Remove a network; -ENOENT when the container is not on it. */
int runspec_network_remove(struct runspec *s, const char *name);
/* Free the network fields (runspec_free() calls it). */
void runspec_networks_done(struct runspec *s);
/* The network options on the whole: one mode, options that need a bridged network. */
int runspec_validate_network(const struct runspec *s);
/* True when the container gets a bridged network (the default or named ones). */
bool runspec_is_bridged(const struct runspec *s);
/* Check what can only be checked on the whole: destinations unique and absolute, etc. */
/* --isolation vm: the container runs in a microVM of its own (hull-runtime's io.hull.isolation=vm). */
bool runspec_vm_isolated(const struct runspec *s);
int runspec_validate(const struct runspec *s);
/* Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]* (Docker's rule), at most 128 bytes. */
int runspec_check_name(const char *name);
