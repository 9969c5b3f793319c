/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oci-defaults.h - the security defaults every OCI config that hull writes shares:
 * containers of the engine, RUN steps of a build, and `hull-runtime spec`.
 *
 * The lists are Docker's, so that a container behaves as users know it from Docker and
 * podman: the default capability set (moby oci/caps/defaults.go), the masked paths (files
 * and directories that leak host information or control hardware: /proc/kcore, /proc/keys,
 * /sys/firmware, and /sys/devices/virtual/powercap since CVE-2020-8694's power side
 * channel), and the read-only paths under /proc. NULL-terminated.
 */
#pragma once

struct oci_mount_def {
        const char *destination, *type, *source;
        const char *const *options; /* NULL-terminated, or NULL */
};

/* The kernel file systems of a container (runc's `spec`): /proc, /dev, /dev/pts, /dev/shm,
 * /dev/mqueue, /sys, /sys/fs/cgroup; oci_n_default_mounts entries. */
extern const struct oci_mount_def oci_default_mounts[];
extern const size_t oci_n_default_mounts;

extern const char *const oci_default_caps[];
extern const char *const oci_masked_paths[];
extern const char *const oci_readonly_paths[];
