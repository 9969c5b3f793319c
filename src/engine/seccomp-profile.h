/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-profile.h - a container's runtime-spec linux.seccomp object from a profile in
 * Docker's schema: hull's default (seccomp-default.json, embedded at build time) or the
 * user's --security-opt seccomp=FILE. Conditions on capabilities are resolved against
 * the container's bounding set, the architecture list against the machine's.
 */
#pragma once

#include "macro.h"

struct json_object;

/* Resolve a profile (JSON text) for a container holding caps ("CAP_..." strv). New object in *ret. */
int seccomp_profile_resolve(const char *text, size_t len, char **caps, struct json_object **ret);
/* The same with hull's default profile. */
int seccomp_profile_default(char **caps, struct json_object **ret);
/* The embedded default profile's text (static storage). */
int seccomp_profile_default_text(const char **ret, size_t *ret_len);
