/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec.h - the default config.json of "hull-runtime spec" (runc's "spec").
 *
 * The document is runc's default with hull's names: runtime-spec 1.2.0, the
 * hostname "hull", a cgroup namespace, and no ambient capabilities (runc 1.1
 * put the three default capabilities in the ambient set too, where they would
 * survive a change of process.user to a non-root uid). --rootless makes the
 * same changes as runc's: no network namespace and no device cgroup rules, a
 * user namespace mapping the caller's euid/egid to 0, /sys bind-mounted from
 * the host instead of a new sysfs (which needs a network namespace owned by the
 * user namespace), and devpts without gid=5 (a group the mapping lacks).
 */
#pragma once

#include "macro.h"

struct json_object;

/* Build the default document; *ret is a new json-c object owned by the caller. */
int spec_default(bool rootless, struct json_object **ret);
