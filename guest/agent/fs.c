/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs.c - the container's shared directories: virtio-fs mounts by tag (virtio 1.2 §5.11;
 * docs/agent.md, "Shared directories"). The host serves each one with virtiofsd.
 *
 * fuse and virtiofs are modules of Debian's cloud kernel (CONFIG_VIRTIO_FS=m): they are
 * listed in /lib/modules/fs.order and loaded the first time CREATE mounts a share, so that a
 * container without one does not pay for them at boot.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "agent.h"

int agent_fs_mount(const char *tag, const char *target, unsigned long flags, const char *data)
{
        static bool loaded;
        struct timespec t0, now;

        if (!loaded) {
                agent_load_modules("/lib/modules/fs.order");
                loaded = true;
        }
        /*
         * virtiofs registers a tag when its driver has probed the device; until then mount fails
         * with EINVAL ("tag not found"): wait, bounded like the disks.
         */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                if (mount(tag, target, "virtiofs", flags, data) == 0)
                        return 0;
                if (errno != EINVAL && errno != ENODEV)
                        return -errno;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - t0.tv_sec > 10)
                        return -errno;
                nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
        }
}
