/* SPDX-License-Identifier: Apache-2.0 */
/*
 * disk-internal.h - what the format drivers (raw.c, qcow2.c, vhd.c) share with disk.c.
 *
 * struct disk is the open image: disk.c checks every request against the virtual size
 * and the 512-byte granularity before calling a driver, so drivers see only requests
 * that lie inside [0, size). A driver keeps its own state in d->priv and frees it in
 * ops->close; disk.c closes d->file.
 *
 * struct disk_file is one image file. All driver I/O on it goes through disk_file_*,
 * which handle short reads and writes, EINTR, reads past the end of the file (zeros)
 * and O_DIRECT: when the caller's offset, length or buffers are not aligned to
 * the file's O_DIRECT alignment, the request goes through an aligned bounce buffer (a write that
 * covers part of an aligned block reads the block first).
 */
#pragma once

#include <endian.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "disk.h"
#include "iovec.h"

#define DISK_SECTOR 512u
/* O_DIRECT needs the logical block size of the device: 512 or 4096 (probed at open). */
#define DISK_DIRECT_ALIGN 4096u
/* A backing chain longer than this is taken for a loop (qcow2 images naming each other). */
#define DISK_MAX_CHAIN 16u

struct disk_file {
        int fd;
        bool direct;
        unsigned align; /* O_DIRECT alignment of offsets, lengths and buffers */
        uint64_t size;  /* bytes; drivers that extend the file update it */
};

struct disk_ops {
        int (*read)(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt);
        int (*write)(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt);
        int (*flush)(struct disk *d);                                     /* NULL: fdatasync */
        int (*discard)(struct disk *d, uint64_t offset, uint64_t length); /* NULL: no-op */
        void (*close)(struct disk *d);
};

struct disk {
        enum disk_format format;
        const struct disk_ops *ops;
        struct disk_file file;
        char *path;
        uint64_t size;
        bool readonly;
        unsigned depth; /* 0 for the image opened by the user, n for its n-th backing file */
        char serial[21];
        void *priv;
};

/* Format drivers: set d->ops, d->priv, d->size (and d->serial if the format has an id). */
int raw_open(struct disk *d);
int qcow2_open(struct disk *d);
int vhd_open(struct disk *d);
bool qcow2_probe(const uint8_t *buf, size_t len);
bool vhd_probe(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len);
int raw_create(const char *path, uint64_t size);
int qcow2_create(const char *path, const struct disk_create_options *o);
int vhd_create(const char *path, const struct disk_create_options *o);

/* Open a backing file of d (a path relative to d's directory is resolved there). */
int disk_open_backing(struct disk *d, const char *name, enum disk_format f, struct disk **ret);

int disk_file_pread(struct disk_file *f, void *buf, size_t len, uint64_t offset);
int disk_file_pwrite(struct disk_file *f, const void *buf, size_t len, uint64_t offset);
int disk_file_preadv(struct disk_file *f, const struct iovec *iov, int iovcnt, uint64_t offset);
int disk_file_pwritev(struct disk_file *f, const struct iovec *iov, int iovcnt, uint64_t offset);
/* Write len zero bytes at offset (in chunks; extends the file when needed). */
int disk_file_write_zeroes(struct disk_file *f, uint64_t offset, uint64_t len);
/* Set the file's size (and f->size). */
int disk_file_truncate(struct disk_file *f, uint64_t size);

/*
 * One piece of a request, cut at a multiple of the format's unit (qcow2 cluster, VHD block):
 * guest offset, the piece's place in the caller's vector (skip, len), the bytes left in the
 * request from there (left >= len), and a scratch vector with room for iovcnt entries.
 * A handler may take more than its piece (merging what follows); it stores what it did in
 * *ret_done (at least 1 byte, at most left).
 */
struct disk_piece {
        uint64_t offset;
        uint64_t in_unit; /* offset % unit */
        size_t skip, len, left;
        const struct iovec *iov;
        int iovcnt;
        struct iovec *scratch;
};
typedef int (*disk_piece_fn)(struct disk *d, const struct disk_piece *p, size_t *ret_done);
/* Split [offset, offset + iovec_length) at multiples of unit and hand each piece to fn. */
int disk_split_request(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt, uint64_t unit,
                       disk_piece_fn fn);

static inline uint16_t get_be16(const void *p)
{
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return be16toh(v);
}

static inline uint32_t get_be32(const void *p)
{
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return be32toh(v);
}

static inline uint64_t get_be64(const void *p)
{
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return be64toh(v);
}

static inline void put_be16(void *p, uint16_t v)
{
        v = htobe16(v);
        memcpy(p, &v, sizeof(v));
}

static inline void put_be32(void *p, uint32_t v)
{
        v = htobe32(v);
        memcpy(p, &v, sizeof(v));
}

static inline void put_be64(void *p, uint64_t v)
{
        v = htobe64(v);
        memcpy(p, &v, sizeof(v));
}

/* True when [offset, offset + len) lies inside [0, limit) without overflowing. */
static inline bool range_ok(uint64_t offset, uint64_t len, uint64_t limit)
{
        return offset <= limit && len <= limit - offset;
}
