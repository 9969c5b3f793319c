/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-init.h - what the parts of hull's guest init share (hull-init.c: boot and the main
 * process; exec.c: `hull vm exec` sessions; setup.c: console and network).
 */
#pragma once

#include <dirent.h>
#include <sys/ioctl.h>

#include "macro.h"
#include "vmconf.h"

#define EXEC_VSOCK_PORT 1024
#define EXEC_SERIAL     "/dev/ttyS1"

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

void init_log(const char *fmt, ...) _printf_(1, 2);

/* stdio on /dev/console. */
void console_setup(void);
/* Make fd the controlling terminal when it is one. */
static inline int ioctl_ctty(int fd)
{
        return ioctl(fd, TIOCSCTTY, 0);
}
/* lo up; eth0's address, default route and resolv.conf from c. */
void net_setup(const struct vmconf *c);

/*
 * NIC hot-plug requests of the exec channel (vm-exec-proto.h): configure the NICs that doc (a
 * vmconf document) names once they appear (up to NIC_WAIT_MS), or take the NIC with the MAC
 * down. -errno with a message in err.
 */
#define NIC_WAIT_MS 15000
int net_nic_up(const char *doc, size_t len, char *err, size_t size);
int net_nic_down(const char *mac, char *err, size_t size);

/*
 * In a forked child: drop to user ("UID[:GID]" or "root"), enter workdir, exec argv with env
 * (PATH searched). On failure, write errno (4 bytes) to err_fd when valid; returns (the caller
 * exits with 126 or 127).
 */
void init_exec_process(char **argv, char **env, const char *workdir, const char *user, int err_fd);

/* Fork the servers of `hull vm exec`: the serial port (one session at a time) and vsock. */
void exec_servers_start(void);
