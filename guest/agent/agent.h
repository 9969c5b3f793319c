/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.h - the pieces of hull-agent: agent.c (the loop and the process table),
 * system.c (pid 1 duties, the host transport), spawn.c (CREATE and EXEC), net.c (the NICs),
 * fs.c (virtio-fs shares), ps.c (PS), fresh.c (clock, randomness and disks of a restored guest).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One line on the console, "hull-agent: ..." */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* With hull.debug=1, "hull-agent: T+<guest uptime> step" on the console (bench/isolation-nested). */
void agent_stamp(const char *step);

/* Mount proc, sys, dev, cgroup2, /run; load /lib/modules/order; bring lo up. Best effort, logged. */
void agent_init_system(void);
/* True when the kernel command line holds NAME=1 (or NAME alone). */
bool agent_cmdline_flag(const char *name);
/* True when the kernel command line holds NAME=VALUE. */
bool agent_cmdline_is(const char *name, const char *value);
/* A connected stream to the host, from `spec` or hull.agent= (docs/agent.md); -errno on failure. */
int agent_connect_host(const char *spec);

/* Load the modules listed, one a line in dependency order, in the file order (best effort, logged). */
void agent_load_modules(const char *order);

/* net.c, CREATE's NET, ADDR, ROUTE: 0, or -errno after an ERROR frame was sent. */
int agent_net_link(const char *name, const char *mac, const char *mtu);
int agent_net_addr(const char *name, const char *cidr);
int agent_net_route(const char *name, const char *dst, const char *gw);

/* fs.c: mount the virtio-fs share tag on target, its modules loaded first. 0 or -errno. */
int agent_fs_mount(const char *tag, const char *target, unsigned long flags, const char *data);

/* Wait up to 10 s for a device node that a driver is still probing; -ENOENT after that. */
int agent_wait_path(const char *path);

/*
 * fresh.c, CREATE's CLOCK and SEED: set the wall clock; feed the kernel's pool and reseed its
 * CRNG. 0, or -errno after an ERROR frame was sent.
 */
int agent_set_clock(const uint8_t *val, uint32_t len);
int agent_reseed(const uint8_t *val, uint32_t len);
/*
 * fresh.c: wait (10 s at most) until the disk dev has a capacity above 0, then drop its cached
 * blocks. 0, -ENOSPC when it stayed empty, or -errno.
 */
int agent_disk_ready(const char *dev);

/* Sync and remount read-only every disk CREATE mounted, volumes first (best effort). */
void agent_quiesce_disks(void);

/* CREATE: set up the container under root. 0, or -errno after an ERROR frame was sent. */
int agent_create(const uint8_t *payload, size_t len, const char *root);

struct agent_spawned {
        pid_t pid;
        int in_fd, out_fd, err_fd; /* non-blocking, close-on-exec; a terminal: in_fd == out_fd, err_fd -1 */
};
/* EXEC: start the process, chrooted into root. 0, or -errno after an ERROR frame for id was sent. */
int agent_spawn_process(uint32_t id, const uint8_t *payload, size_t len, const char *root,
                        struct agent_spawned *ret);
/* Send ERROR(id, err, text) to the host (agent.c). */
int agent_send_error(uint32_t id, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct agent_buf;
/* PS: the PROCS payload (AGENT_P_PROC fields) of the container's processes in *ret (caller frees). */
int agent_ps(struct agent_buf *ret);
