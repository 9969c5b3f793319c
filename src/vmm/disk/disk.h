/* SPDX-License-Identifier: Apache-2.0 */
/*
 * disk.h - block backends for hull-vmm's virtio-blk: raw, qcow2, VHD.
 *
 * A struct disk is one open image (and, for qcow2, its chain of backing files).
 * Offsets and lengths are in bytes of the guest-visible (virtual) disk and must
 * be multiples of 512. Reads of unallocated areas return zeros or the backing
 * file's data; writes allocate. A request past the end fails with -EINVAL and
 * does nothing. A corrupt image (a table entry pointing outside the file, a
 * reference loop, an impossible header field) fails the request or the open
 * with -EIO / -EINVAL and a message naming the field, never touches memory
 * outside the caller's buffers and never crashes the VMM.
 *
 * Threads: one disk is used by one thread at a time (virtio-blk's I/O thread);
 * different disks are independent.
 */
#pragma once

#include <stdint.h>
#include <sys/uio.h>

#include "macro.h"

enum disk_format {
        DISK_FORMAT_RAW,
        DISK_FORMAT_QCOW2,
        DISK_FORMAT_VHD,
        _DISK_FORMAT_MAX,
        _DISK_FORMAT_INVALID = -EINVAL,
};

const char *disk_format_to_string(enum disk_format f);
enum disk_format disk_format_from_string(const char *s);

struct disk_open_options {
        enum disk_format format; /* _DISK_FORMAT_INVALID: detect from the header */
        bool readonly;
        bool direct; /* O_DIRECT on the image file(s) */
};

struct disk;

int disk_open(const char *path, const struct disk_open_options *o, struct disk **ret);
void disk_close(struct disk *d);
static inline void disk_closep(struct disk **d)
{
        if (*d)
                disk_close(*d);
}
#define _cleanup_disk_ _cleanup_(disk_closep)

uint64_t disk_size(const struct disk *d);
enum disk_format disk_get_format(const struct disk *d);
bool disk_is_readonly(const struct disk *d);
/* A stable identifier for virtio-blk's GET_ID (at most 20 bytes, not NUL-terminated when 20). */
const char *disk_serial(const struct disk *d);

int disk_read(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt);
int disk_write(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt);
int disk_flush(struct disk *d);
/* Deallocate (qcow2, VHD) or punch a hole (raw) where the format allows; may be a no-op. */
int disk_discard(struct disk *d, uint64_t offset, uint64_t length);

/* Create an image of size bytes; backing (qcow2 only) may be NULL. */
int disk_create(const char *path, enum disk_format f, uint64_t size, const char *backing);

/* disk_create() with every knob. Fails with -EEXIST when path exists. */
struct disk_create_options {
        enum disk_format format;
        uint64_t size;                   /* bytes, a multiple of 512; 0 with a backing file: its size */
        const char *backing;             /* qcow2 only; relative names are relative to path's directory */
        enum disk_format backing_format; /* _DISK_FORMAT_INVALID: detect from the backing file's header */
        unsigned qcow2_version;          /* 2 or 3; 0: 3 */
        unsigned qcow2_cluster_bits;     /* 9..21; 0: 16 (64 KiB clusters) */
        bool vhd_fixed;                  /* VHD: fixed (preallocated) instead of dynamic */
};
int disk_create_ext(const char *path, const struct disk_create_options *o);
