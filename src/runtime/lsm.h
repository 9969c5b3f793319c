/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lsm.h - AppArmor and SELinux labels for the container process and its mounts
 * (runtime-spec config.md process.apparmorProfile / process.selinuxLabel,
 * config-linux.md linux.mountLabel).
 *
 * The exec label is set by writing to the process's /proc attr files right
 * before execve(): the kernel applies it at the next execve. Detection, checks
 * and writes use only syscalls and stack buffers on the success path, so they
 * may run in the container process between clone() and execve(); on failure
 * they record one message with err_set() naming the config field. The runtime
 * calls lsm_check_labels() first, in its own process, where that message can
 * reach the user.
 */
#pragma once

#include "macro.h"

/* The LSM is active on this host (listed in /sys/kernel/security/lsm, or its own marks). */
bool lsm_apparmor_enabled(void);
bool lsm_selinux_enabled(void);

/*
 * Fail with -EOPNOTSUPP and "process.apparmorProfile: ..." / "process.selinuxLabel: ..." when a
 * label is asked for (non-NULL, non-empty) and this host does not run that LSM; 0 otherwise.
 */
int lsm_check_labels(const char *apparmor_profile, const char *selinux_label);

/*
 * lsm_check_labels(), then make the next execve() of the calling thread run under the given
 * labels: AppArmor "exec <profile>" to /proc/thread-self/attr/apparmor/exec (or attr/exec on
 * kernels before 5.8), SELinux the label to /proc/thread-self/attr/exec. NULL or "" = none.
 */
int lsm_set_exec_label(const char *apparmor_profile, const char *selinux_label);

/*
 * Mount data with context="<mount_label>" appended when SELinux is enabled and a label is given;
 * an unchanged copy of data otherwise, or when data already names an SELinux context option
 * (an explicit mount option wins). *ret is always a malloc'd string ("" for no data).
 */
int lsm_mount_label_option(const char *mount_label, const char *data, char **ret);
/* The same with the SELinux state given: the formatting half, for tests. */
int lsm_format_mount_label(const char *mount_label, const char *data, bool selinux, char **ret);
