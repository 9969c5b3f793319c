/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caps.h - capability names and sets (runtime-spec config.md process.capabilities).
 *
 * Sets are 64-bit masks indexed by CAP_* number. Names are libcap's, in the
 * spec's "CAP_SYS_ADMIN" form. caps_apply() runs in the container process, after
 * setresuid/setresgid with PR_SET_KEEPCAPS, and does only syscalls.
 */
#pragma once

#include <stdint.h>

#include "macro.h"

struct oci_capabilities;

/* CAP_* number for "CAP_CHOWN", or -EINVAL. */
int cap_from_name_strict(const char *name);
/* "CAP_CHOWN" for 0; NULL when unknown. */
const char *cap_to_name(int cap);
/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int cap_last_cap(void);

/* Drop from the bounding set every capability not in bounding (needs CAP_SETPCAP). */
int caps_drop_bounding(uint64_t bounding);
/* Set effective, permitted, inheritable with capset(2), then raise ambient ones. */
int caps_set(const struct oci_capabilities *c);
