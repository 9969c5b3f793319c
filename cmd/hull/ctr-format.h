/* SPDX-License-Identifier: Apache-2.0 */
/* ctr-format.h - how containers read for people: status lines, durations, commands (ps, stats, top). */
#pragma once

#include <stdint.h>

#include "cmd.h"
#include "workload.h"

/* Docker's human durations: "Less than a second", "5 seconds", "About a minute", "3 hours"... */
const char *format_duration(int64_t ns, char buf[static 64]);
/* "Up 5 minutes (healthy)", "Exited (0) 3 seconds ago", "Created", "Paused"... */
const char *ctr_status_line(const struct workload *w, char buf[static 128]);
/* Look a container up for a command; prints the failure. */
int ctr_lookup_or_fail(struct cmd_context *c, const char *name, struct workload **ret);
/*
 * fn for each container named by the arguments; a failure is reported ("hull: <doing> container
 * x: why") and the others go on. With print_names each argument done is printed, as podman does.
 */
int ctr_for_each_arg(struct cmd_context *c, const char *doing, bool print_names,
                     int (*fn)(struct cmd_context *c, struct workload *w, void *userdata), void *userdata);
/* "1.5MB / 2GB"-style pairs with decimal units. */
const char *format_pair(uint64_t a, uint64_t b, char buf[static 80]);
