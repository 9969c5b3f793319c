/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fresh.c - what a guest must not share with the microVM it was restored from (docs/agent.md,
 * "Templates"): the wall clock and the kernel's random state, both from CREATE, and disks that
 * were empty when the template was taken.
 *
 * A template is a snapshot of a microVM taken when its agent first connects to the host, before
 * any CREATE: every guest restored from it resumes with the template's clock (frozen at the
 * snapshot), the template's CRNG state (the same bytes from /dev/urandom in every sibling) and
 * disks that had capacity 0. The host's CREATE carries CLOCK and SEED (protocol 3); the agent
 * applies them before it mounts or runs anything. A cold boot that gets them (the host sends
 * them once it knows the agent's protocol) takes the same path: its clock is then the host's to
 * within the stream's latency (the RTC it booted from has one second's resolution) and its pool
 * gets 64 bytes more.
 *
 * Disks: hull-vmm presents each disk with capacity 0 while it makes a template and gives the
 * real size with a virtio configuration-change interrupt afterwards (virtio 1.2: virtio-pci's
 * notification of a device configuration change, virtio-blk's `capacity` field; Linux's
 * virtio_blk updates the gendisk's capacity in a work item). The agent
 * waits for that before it mounts, and drops any block cached from the empty view.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto.h"
#include "agent.h"

int agent_set_clock(const uint8_t *val, uint32_t len)
{
        struct timespec t;

        if (agent_clock_parse(val, len, &t) < 0)
                return agent_send_error(0, EINVAL, "CREATE: CLOCK of %u bytes is not a time", len), -EINVAL;
        if (clock_settime(CLOCK_REALTIME, &t) < 0) {
                int e = errno;
                return agent_send_error(0, e, "cannot set the clock: %s", strerror(e)), -e;
        }
        return 0;
}

int agent_reseed(const uint8_t *val, uint32_t len)
{
        /* struct rand_pool_info ends in a flexible array: room for it, aligned for its ints. */
        uint32_t raw[(sizeof(struct rand_pool_info) + AGENT_SEED_MAX) / sizeof(uint32_t)];
        struct rand_pool_info *info = (struct rand_pool_info *)raw;
        int fd, e = 0;

        if (len < AGENT_SEED_MIN || len > AGENT_SEED_MAX)
                return agent_send_error(0, EINVAL, "CREATE: SEED of %u bytes (%u to %u)", len,
                                        AGENT_SEED_MIN, AGENT_SEED_MAX),
                       -EINVAL;
        memcpy(info->buf, val, len);
        info->entropy_count = (int)(len * 8);
        info->buf_size = (int)len;
        fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                e = errno;
        /*
         * RNDADDENTROPY mixes the bytes into the input pool and credits them; the CRNG that
         * getrandom() and /dev/urandom read would still run on from the template's key until its
         * next scheduled reseed (up to a minute on 6.1), so RNDRESEEDCRNG makes it draw a new key
         * from the pool now (random(4)). Both need CAP_SYS_ADMIN: the agent is pid 1, root.
         */
        else if (ioctl(fd, RNDADDENTROPY, info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
                e = errno;
        explicit_bzero(raw, sizeof(raw));
        if (fd >= 0)
                close(fd);
        if (e)
                return agent_send_error(0, e, "cannot reseed the kernel's random generator: %s",
                                        strerror(e)),
                       -e;
        return 0;
}

int agent_disk_ready(const char *dev)
{
        struct timespec t0, now;
        uint64_t size = 0;
        int fd = -1, e = 0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                if (fd < 0)
                        fd = open(dev, O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size) == 0 && size > 0)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                /* Bounded like the wait for a device node: a disk that stays empty is the host's fault. */
                if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > 10000) {
                        if (fd >= 0)
                                close(fd);
                        return -ENOSPC;
                }
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        /*
         * Anything read while the disk looked empty (a probe's read of the first sectors) sits in
         * the block device's page cache: drop it, so the file system sees this VM's disk only.
         */
        if (ioctl(fd, BLKFLSBUF, 0) < 0)
                e = errno;
        close(fd);
        return -e;
}
