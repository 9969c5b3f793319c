/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-disk-common.h - the body shared by fuzz-qcow2.c and fuzz-vhd.c.
 *
 * The input is a whole image file: it is written to a memfd, opened through
 * /proc/self/fd/N with disk_open() (format forced, so that every input exercises the
 * parser under test), then read at its start, middle and end, written once,
 * discarded once and flushed. A backing file name in the image may name anything;
 * backing files are opened read-only and the chain is bounded, which is part of
 * what is tested.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk.h"
#include "error.h"

static int fuzz_disk(const uint8_t *data, size_t size, enum disk_format format)
{
        if (size > (4u << 20))
                return 0;
        int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t)size) {
                close(fd);
                return 0;
        }
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        struct disk_open_options o = {.format = format};
        struct disk *d = NULL;
        if (disk_open(path, &o, &d) >= 0) {
                static uint8_t buf[65536];
                struct iovec v[2] = {{buf, 4096}, {buf + 4096, 8192}};
                uint64_t sz = disk_size(d), len = 12288;
                uint64_t offs[3] = {0, (sz / 2) & ~(uint64_t)511,
                                    sz > len ? (sz - len) & ~(uint64_t)511 : 0};
                for (unsigned i = 0; i < 3; i++)
                        (void)disk_read(d, offs[i], v, 2);
                (void)disk_write(d, offs[1], v, 2);
                (void)disk_read(d, offs[1], v, 2);
                (void)disk_discard(d, 0, MIN(sz, (uint64_t)1 << 20) & ~(uint64_t)511);
                (void)disk_flush(d);
                disk_close(d);
        }
        err_clear();
        close(fd);
        return 0;
}
