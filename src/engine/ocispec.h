/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocispec.h - a container's runtime-spec config.json from its image configuration and
 * its run options (runspec.h), with the defaults users expect from Docker and podman:
 *
 *   - capabilities: Docker's default set (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD,
 *     NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL,
 *     AUDIT_WRITE) changed by --cap-add/--cap-drop (ALL allowed), every capability with
 *     --privileged;
 *   - seccomp: hull's own allow-list profile (seccomp-default.json), or the user's, or
 *     none (--privileged, seccomp=unconfined);
 *   - masked and read-only paths of Docker (none with --privileged); /dev/shm, /dev/mqueue,
 *     /dev/pts, a cgroup namespace, sysfs and cgroupfs read-only;
 *   - devices: the runtime's default set; every host device with --privileged;
 *   - environment: PATH (when the image sets none), the image's Env, HOSTNAME, then -e and
 *     --env-file in order (later wins), TERM=xterm with -t, HOME from /etc/passwd;
 *   - process: ENTRYPOINT + CMD with Docker's override rules, -w or WorkingDir, -u or User
 *     (resolved by the caller through user.h);
 *   - mounts: /etc/hostname, /etc/hosts, /etc/resolv.conf from the container directory,
 *     then -v/--mount/--tmpfs (bind, named or anonymous volume, tmpfs);
 *   - limits: -m, --memory-swap (Docker's default: twice -m), --memory-reservation, --cpus,
 *     --cpu-shares, --cpuset-cpus, --pids-limit, --ulimit;
 *   - labels as annotations.
 *
 * Pure: everything it needs is passed in (tests build configs without a rootfs).
 */
#pragma once

#include "macro.h"
#include "manifest.h"
#include "runspec.h"
#include "user.h"

struct json_object;

struct ocispec_input {
        const struct runspec *spec;
        const struct image_config *image; /* NULL: an image without configuration */
        const char *id;
        const char *rootfs; /* absolute path of the mounted root file system */
        const char *dir;    /* container directory: hostname, hosts, resolv.conf live here */
        const struct user_ids *user;
        char *const *mount_sources; /* per spec->mounts[i]: host path (bind, volume data), NULL (tmpfs) */
        const char *cgroups_path;
        const char *hostname;      /* the UTS name (from -h, the id, or the host's) */
        bool have_swap_accounting; /* the memory controller can limit swap */
        const char *netns_path;    /* join this network namespace (made by the monitor); NULL: a new one */
        const char *vm_base_disk;  /* --isolation vm: the image's root disk to start from (NULL: none) */
};

int ocispec_build(const struct ocispec_input *in, struct json_object **ret);

/* process.args: Docker's rules for ENTRYPOINT/CMD and their overrides (strv in *ret). */
int ocispec_args(const struct runspec *spec, const struct image_config *image, char ***ret);
/* The capability set of the container ("CAP_..." strv). */
int ocispec_capabilities(const struct runspec *spec, char ***ret);
/* The container's hostname: -h, else the first 12 digits of the id. */
const char *ocispec_hostname(const struct runspec *spec, const char *id, char buf[static 65]);

/*
 * A runtime-spec "process" for `hull-runtime exec`: the container's process from its
 * config.json (user, env, capabilities, cwd...) with new args, and optionally another
 * user, cwd, environment additions and terminal. Used by exec and by health checks.
 */
int ocispec_exec_process(struct json_object *config, char **args, const struct user_ids *user,
                         const char *cwd, char **env, bool tty, struct json_object **ret);
