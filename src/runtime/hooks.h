/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks.h - runtime-spec config.md "POSIX-platform Hooks".
 *
 * Each hook runs as path with args and env, gets the container's state JSON on
 * stdin, and is killed (SIGKILL) when its timeout expires. A failing prestart,
 * createRuntime, createContainer or startContainer hook fails the operation;
 * a failing poststart or poststop hook is logged as a warning (the spec says the
 * runtime must continue).
 */
#pragma once

#include "config.h"

/* Run every hook of kind k in order, with state_json on stdin. */
int hooks_run(const struct oci_config *cfg, enum hook_kind k, const char *state_json);
bool hooks_any(const struct oci_config *cfg, enum hook_kind k);
