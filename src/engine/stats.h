/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.h - resource usage of running containers (`hull stats`) from their cgroups, through
 * hull-runtime's cgroup library (v1 and v2), and their processes (`hull top`) from /proc.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "container.h"

struct ctr_stats {
        uint64_t cpu_ns;               /* CPU time used since the container started */
        uint64_t mem_usage, mem_limit; /* bytes; usage without inactive page cache, as Docker counts it */
        uint64_t pids, pids_limit;     /* pids_limit 0: none */
        uint64_t blk_read, blk_write;  /* bytes */
        uint64_t net_rx, net_tx;       /* bytes, all interfaces but lo */
        int64_t at;                    /* CLOCK_MONOTONIC ns of the sample */
};

int ctr_stats_read(struct engine *e, struct workload *w, struct ctr_stats *ret);
/* CPU percentage between two samples (100% = one CPU busy), Docker's formula. */
double ctr_stats_cpu_percent(const struct ctr_stats *prev, const struct ctr_stats *cur);

struct top_entry {
        pid_t pid, ppid;   /* in the container's pid namespace; ppid 0: its parent is outside */
        pid_t hpid, hppid; /* on the host */
        char user[64], group[64]; /* names from the container's /etc/passwd and /etc/group */
        char huser[64], hgroup[64]; /* the same ids' names on the host */
        char tty[16];
        char comm[32];
        char state;
        int nice;
        char *args; /* command line, or [comm] */
        double cpu_percent;
        uint64_t elapsed_s, cpu_s, vsz_kib;
};

int ctr_top(struct engine *e, struct workload *w, struct top_entry **ret, size_t *ret_n);
void top_entries_free(struct top_entry *l, size_t n);
