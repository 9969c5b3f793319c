/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caps.h - capability names and sets (runtime-spec config.md process.capabilities).
 *
 * Sets are 64-bit masks indexed by CAP_* number. Names are libcap's, in the
 * spec's "CAP_SYS_ADMIN" form. A name that libcap knows but the running
 * kernel does not (a newer capability) is accepted: caps_drop_bounding() and
 * caps_set() leave every number above cap_last_cap() alone, as runc and crun do,
 * so that one config serves several kernels.
 *
 * Order in the container process: caps_drop_bounding() (needs CAP_SETPCAP, so
 * while still root), then setresgid/setresuid with PR_SET_KEEPCAPS, then
 * caps_set(). Those two and cap_last_cap() do only syscalls (no allocation, no
 * stdio): they are async-signal-safe and may run between clone() and execve().
 */
#pragma once

#include <stdint.h>

#include "macro.h"

struct oci_capabilities;

/* CAP_* number for "CAP_CHOWN" (upper case, "CAP_" prefix, no numbers), or -EINVAL. */
int cap_from_name_strict(const char *name);
/*
 * "CAP_CHOWN" for 0; NULL when libcap has no name for cap. The string is static.
 * (Not called cap_to_name(): libcap exports that symbol with another signature.)
 */
const char *cap_to_spec_name(int cap);
/*
 * Highest capability the running kernel knows, as /proc/sys/kernel/cap_last_cap says; probed
 * with PR_CAPBSET_READ so that it works before /proc is mounted. Cached; async-signal-safe.
 */
int cap_last_cap(void);

/*
 * Check in the runtime process, before the container process exists, that caps_set() can
 * apply c: effective within permitted, inheritable within bounding (capset(2) refuses the rest
 * with a bare EPERM). Records a message naming the field, e.g.
 * "process.capabilities.effective: 'CAP_NET_RAW' is not in the permitted set". Ambient ones
 * outside permitted and inheritable are not an error: caps_set() leaves them out, as runc does.
 */
int caps_validate(const struct oci_capabilities *c);

/* Drop from the bounding set every capability not in bounding (needs CAP_SETPCAP). */
int caps_drop_bounding(uint64_t bounding);
/*
 * Set effective, permitted, inheritable with capset(2), then clear the ambient set and raise
 * the ambient ones that are both permitted and inheritable. Returns -errno of the first
 * failing syscall.
 */
int caps_set(const struct oci_capabilities *c);
