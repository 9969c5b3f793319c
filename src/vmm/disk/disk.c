/* SPDX-License-Identifier: Apache-2.0 */
/*
 * disk.c - open, probe, dispatch and create for hull-vmm's block backends.
 *
 * disk_open() opens the image file, detects its format from the header when asked
 * (qcow2 magic "QFI\xfb" at offset 0; a VHD footer "conectix" in the last 512 bytes,
 * or in the first 512 for a dynamic disk whose trailing footer is damaged; raw
 * otherwise), and hands the file to the driver. A raw image is never detected from
 * a backing file name inside another image unless its header says raw: a qcow2 file
 * that names a backing file is probed like the top image, at a bounded depth.
 *
 * Every request is checked here (512-byte granularity, inside the virtual size,
 * read-only) so that drivers never see one outside the disk. Also here: the
 * disk_file layer that all drivers use for image I/O, with O_DIRECT bounce
 * buffering, and the iovec helpers.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk-internal.h"
#include "error.h"
#include "util.h"

static const char *const format_names[_DISK_FORMAT_MAX] = {
        [DISK_FORMAT_RAW] = "raw",
        [DISK_FORMAT_QCOW2] = "qcow2",
        [DISK_FORMAT_VHD] = "vhd",
};

const char *disk_format_to_string(enum disk_format f)
{
        if (f < 0 || f >= _DISK_FORMAT_MAX)
                return NULL;
        return format_names[f];
}

enum disk_format disk_format_from_string(const char *s)
{
        if (!s)
                return _DISK_FORMAT_INVALID;
        for (int f = 0; f < _DISK_FORMAT_MAX; f++)
                if (streq(s, format_names[f]))
                        return f;
        /* QEMU calls VHD "vpc" (Virtual PC); accept its name so qemu-img users are not surprised. */
        if (streq(s, "vpc"))
                return DISK_FORMAT_VHD;
        return _DISK_FORMAT_INVALID;
}

int disk_split_request(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt, uint64_t unit,
                       disk_piece_fn fn)
{
        size_t total = iovec_length(iov, iovcnt);
        _cleanup_free_ struct iovec *scratch = malloc(sizeof(*scratch) * MAX(iovcnt, 1));
        if (!scratch)
                return -ENOMEM;
        for (size_t done = 0; done < total;) {
                uint64_t g = offset + done;
                struct disk_piece p = {
                        .offset = g,
                        .in_unit = g % unit,
                        .skip = done,
                        .len = (size_t)MIN(unit - g % unit, (uint64_t)(total - done)),
                        .left = total - done,
                        .iov = iov,
                        .iovcnt = iovcnt,
                        .scratch = scratch,
                };
                size_t n = 0;
                int r = fn(d, &p, &n);
                if (r < 0)
                        return r;
                if (n == 0 || n > p.left)
                        return -EIO; /* a handler bug; never loop forever */
                done += n;
        }
        return 0;
}

/* ---------------------------------------------------------------- image file I/O */

static bool direct_aligned(const struct disk_file *f, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        if (offset % f->align)
                return false;
        for (int i = 0; i < iovcnt; i++)
                if ((uintptr_t)iov[i].iov_base % f->align || iov[i].iov_len % f->align)
                        return false;
        return true;
}

/*
 * The O_DIRECT alignment of an open file: 512 when a 512-byte read at a 512- (not 4096-)
 * aligned address works, else 4096. Probing needs no statx(STATX_DIOALIGN) (Linux 6.1,
 * not in Debian 12's glibc headers) and no knowledge of the device under the file system.
 */
static unsigned direct_align_probe(int fd, uint64_t size)
{
        void *buf = NULL;
        unsigned align = DISK_DIRECT_ALIGN;
        if (size >= DISK_SECTOR && posix_memalign(&buf, DISK_DIRECT_ALIGN, 2 * DISK_DIRECT_ALIGN) == 0) {
                if (pread(fd, (uint8_t *)buf + DISK_SECTOR, DISK_SECTOR, 0) == DISK_SECTOR)
                        align = DISK_SECTOR;
                free(buf);
        }
        return align;
}

/* preadv/pwritev until done; a read that meets the end of the file fills the rest with zeros. */
static int file_rw(int fd, bool write, const struct iovec *iov_in, int iovcnt, uint64_t offset)
{
        if (iovcnt <= 0)
                return 0;
        _cleanup_free_ struct iovec *iov = malloc(sizeof(*iov) * iovcnt);
        if (!iov)
                return -ENOMEM;
        memcpy(iov, iov_in, sizeof(*iov) * iovcnt);
        int i = 0;
        while (i < iovcnt) {
                if (iov[i].iov_len == 0) {
                        i++;
                        continue;
                }
                if (offset > (uint64_t)INT64_MAX)
                        return -EFBIG;
                int cnt = MIN(iovcnt - i, IOV_MAX);
                ssize_t n = write ? pwritev(fd, iov + i, cnt, (off_t)offset)
                                  : preadv(fd, iov + i, cnt, (off_t)offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        if (write)
                                return -EIO;
                        for (; i < iovcnt; i++)
                                memset(iov[i].iov_base, 0, iov[i].iov_len);
                        return 0;
                }
                offset += (uint64_t)n;
                for (size_t left = (size_t)n; left > 0;) {
                        size_t step = MIN(left, iov[i].iov_len);
                        iov[i].iov_base = (uint8_t *)iov[i].iov_base + step;
                        iov[i].iov_len -= step;
                        left -= step;
                        if (iov[i].iov_len == 0)
                                i++;
                }
        }
        return 0;
}

static void free_aligned(void *p)
{
        free(*(void **)p);
}

/* O_DIRECT with an unaligned request: go through an aligned copy of the covering blocks. */
static int file_rw_bounce(struct disk_file *f, bool write, const struct iovec *iov, int iovcnt,
                          uint64_t offset)
{
        size_t len = iovec_length(iov, iovcnt);
        uint64_t start = offset & ~(uint64_t)(f->align - 1);
        uint64_t end = ALIGN_UP(offset + len, (uint64_t)f->align);
        size_t blen = (size_t)(end - start);
        __attribute__((cleanup(free_aligned))) void *buf = NULL;

        if (posix_memalign(&buf, DISK_DIRECT_ALIGN, blen) != 0)
                return -ENOMEM;
        struct iovec b = {buf, blen};
        bool partial = start != offset || end != offset + len;
        if (!write || partial) {
                /* Read what the write does not cover (or everything, for a read). For a write
                 * past the end of the file, the part beyond it reads as zeros. */
                int r = file_rw(f->fd, false, &b, 1, start);
                if (r < 0)
                        return r;
        }
        if (!write) {
                iovec_from_buf(iov, iovcnt, 0, (uint8_t *)buf + (offset - start), len);
                return 0;
        }
        iovec_to_buf(iov, iovcnt, 0, (uint8_t *)buf + (offset - start), len);
        /* Do not grow the file by the alignment padding: O_DIRECT writes must stay aligned,
         * so write the block and cut the file back to where the caller's data ends. */
        int r = file_rw(f->fd, true, &b, 1, start);
        if (r < 0)
                return r;
        if (end > f->size && offset + len < end) {
                uint64_t want = MAX(f->size, offset + len);
                if (ftruncate(f->fd, (off_t)want) < 0)
                        return -errno;
        }
        return 0;
}

static int file_io(struct disk_file *f, bool write, const struct iovec *iov, int iovcnt, uint64_t offset)
{
        int r;
        if (f->direct && !direct_aligned(f, offset, iov, iovcnt))
                r = file_rw_bounce(f, write, iov, iovcnt, offset);
        else
                r = file_rw(f->fd, write, iov, iovcnt, offset);
        if (r >= 0 && write) {
                uint64_t end = offset + iovec_length(iov, iovcnt);
                if (end > f->size)
                        f->size = end;
        }
        return r;
}

int disk_file_preadv(struct disk_file *f, const struct iovec *iov, int iovcnt, uint64_t offset)
{
        return file_io(f, false, iov, iovcnt, offset);
}

int disk_file_pwritev(struct disk_file *f, const struct iovec *iov, int iovcnt, uint64_t offset)
{
        return file_io(f, true, iov, iovcnt, offset);
}

int disk_file_pread(struct disk_file *f, void *buf, size_t len, uint64_t offset)
{
        struct iovec v = {buf, len};
        return file_io(f, false, &v, 1, offset);
}

int disk_file_pwrite(struct disk_file *f, const void *buf, size_t len, uint64_t offset)
{
        struct iovec v = {(void *)buf, len};
        return file_io(f, true, &v, 1, offset);
}

int disk_file_write_zeroes(struct disk_file *f, uint64_t offset, uint64_t len)
{
        const size_t chunk = 1u << 20;
        __attribute__((cleanup(free_aligned))) void *z = NULL;
        if (posix_memalign(&z, DISK_DIRECT_ALIGN, chunk) != 0)
                return -ENOMEM;
        memset(z, 0, chunk);
        while (len > 0) {
                size_t n = (size_t)MIN(len, (uint64_t)chunk);
                int r = disk_file_pwrite(f, z, n, offset);
                if (r < 0)
                        return r;
                offset += n;
                len -= n;
        }
        return 0;
}

int disk_file_truncate(struct disk_file *f, uint64_t size)
{
        if (size > (uint64_t)INT64_MAX)
                return -EFBIG;
        if (ftruncate(f->fd, (off_t)size) < 0)
                return -errno;
        f->size = size;
        return 0;
}

/* ---------------------------------------------------------------- open */

static int probe(struct disk_file *f, enum disk_format *ret)
{
        uint8_t head[512] = {}, tail[512] = {};
        int r = disk_file_pread(f, head, sizeof(head), 0);
        if (r < 0)
                return r;
        if (qcow2_probe(head, MIN(f->size, sizeof(head)))) {
                *ret = DISK_FORMAT_QCOW2;
                return 0;
        }
        size_t tail_len = 0;
        if (f->size >= 512) {
                r = disk_file_pread(f, tail, sizeof(tail), f->size - 512);
                if (r < 0)
                        return r;
                tail_len = 512;
        }
        if (vhd_probe(head, MIN(f->size, sizeof(head)), tail, tail_len)) {
                *ret = DISK_FORMAT_VHD;
                return 0;
        }
        *ret = DISK_FORMAT_RAW;
        return 0;
}

/*
 * virtio-blk's GET_ID: 20 characters that stay the same for the same image path. Not a security
 * boundary, so a 64-bit FNV-1a of the real path (16 hex digits, "hull" in front) does, and hull-vmm
 * does not load libcrypto for it (about 1.3 MiB of RSS and part of its start time).
 */
static void serial_from_path(struct disk *d)
{
        _cleanup_free_ char *real = realpath(d->path, NULL);
        const char *p = real ? real : d->path;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *p; p++) {
                h ^= (uint8_t)*p;
                h *= UINT64_C(0x100000001b3);
        }
        snprintf(d->serial, sizeof(d->serial), "hull%016" PRIx64, h);
}

static int open_at_depth(const char *path, const struct disk_open_options *o, unsigned depth,
                         struct disk **ret)
{
        struct disk_open_options defaults = {.format = _DISK_FORMAT_INVALID};
        if (!o)
                o = &defaults;
        if (!path || !ret)
                return -EINVAL;
        if (o->format != _DISK_FORMAT_INVALID && (o->format < 0 || o->format >= _DISK_FORMAT_MAX))
                return -EINVAL;

        struct disk *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        _cleanup_disk_ struct disk *owned = d;
        d->file.fd = -EBADF;
        d->readonly = o->readonly;
        d->depth = depth;
        d->path = strdup(path);
        if (!d->path)
                return -ENOMEM;

        int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);
        d->file.fd = open(path, flags);
        if (d->file.fd < 0) {
                int r = -errno;
                if (r == -EINVAL && o->direct)
                        return err_set(r, "'%s': the file system does not support O_DIRECT", path);
                return err_set(r, "cannot open '%s': %s", path, strerror(-r));
        }
        d->file.direct = o->direct;
        struct stat st;
        if (fstat(d->file.fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode))
                d->file.size = (uint64_t)st.st_size;
        else if (S_ISBLK(st.st_mode)) {
                off_t end = lseek(d->file.fd, 0, SEEK_END);
                if (end < 0)
                        return -errno;
                d->file.size = (uint64_t)end;
        } else
                return err_set(-EINVAL, "'%s' is not a regular file or block device", path);
        d->file.align = o->direct ? direct_align_probe(d->file.fd, d->file.size) : DISK_SECTOR;

        enum disk_format f = o->format;
        if (f == _DISK_FORMAT_INVALID) {
                int r = probe(&d->file, &f);
                if (r < 0)
                        return r;
        }
        d->format = f;
        serial_from_path(d);
        int r;
        switch (f) {
        case DISK_FORMAT_QCOW2:
                r = qcow2_open(d);
                break;
        case DISK_FORMAT_VHD:
                r = vhd_open(d);
                break;
        default:
                r = raw_open(d);
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(owned);
        return 0;
}

int disk_open(const char *path, const struct disk_open_options *o, struct disk **ret)
{
        return open_at_depth(path, o, 0, ret);
}

int disk_open_backing(struct disk *d, const char *name, enum disk_format f, struct disk **ret)
{
        if (d->depth + 1 >= DISK_MAX_CHAIN)
                return err_set(-ELOOP, "backing chain of '%s' is longer than %u images (a loop?)", d->path,
                               DISK_MAX_CHAIN);
        _cleanup_free_ char *full = NULL;
        if (name[0] != '/') {
                const char *slash = strrchr(d->path, '/');
                if (slash)
                        full = strdup_printf("%.*s/%s", (int)(slash - d->path), d->path, name);
                else
                        full = strdup(name);
                if (!full)
                        return -ENOMEM;
                name = full;
        }
        /* Backing files are only read: a write to the top image never reaches them. */
        struct disk_open_options o = {.format = f, .readonly = true, .direct = d->file.direct};
        int r = open_at_depth(name, &o, d->depth + 1, ret);
        if (r < 0)
                return err_prefix(r, "backing file '%s'", name);
        return 0;
}

void disk_close(struct disk *d)
{
        if (!d)
                return;
        if (d->ops && d->ops->close)
                d->ops->close(d);
        safe_close(d->file.fd);
        free(d->path);
        free(d);
}

uint64_t disk_size(const struct disk *d)
{
        return d->size;
}

enum disk_format disk_get_format(const struct disk *d)
{
        return d->format;
}

bool disk_is_readonly(const struct disk *d)
{
        return d->readonly;
}

const char *disk_serial(const struct disk *d)
{
        return d->serial;
}

/* ---------------------------------------------------------------- requests */

static int check_request(const struct disk *d, uint64_t offset, uint64_t len)
{
        if (offset % DISK_SECTOR || len % DISK_SECTOR)
                return -EINVAL;
        if (!range_ok(offset, len, d->size))
                return -EINVAL;
        return 0;
}

int disk_read(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        if (iovcnt < 0 || (iovcnt > 0 && !iov))
                return -EINVAL;
        size_t len = iovec_length(iov, iovcnt);
        int r = check_request(d, offset, len);
        if (r < 0 || len == 0)
                return r;
        return d->ops->read(d, offset, iov, iovcnt);
}

int disk_write(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        if (iovcnt < 0 || (iovcnt > 0 && !iov))
                return -EINVAL;
        if (d->readonly)
                return -EROFS;
        size_t len = iovec_length(iov, iovcnt);
        int r = check_request(d, offset, len);
        if (r < 0 || len == 0)
                return r;
        return d->ops->write(d, offset, iov, iovcnt);
}

int disk_flush(struct disk *d)
{
        if (d->readonly)
                return 0;
        if (d->ops->flush)
                return d->ops->flush(d);
        if (fdatasync(d->file.fd) < 0)
                return -errno;
        return 0;
}

int disk_discard(struct disk *d, uint64_t offset, uint64_t length)
{
        if (d->readonly)
                return -EROFS;
        int r = check_request(d, offset, length);
        if (r < 0 || length == 0 || !d->ops->discard)
                return r;
        return d->ops->discard(d, offset, length);
}

/* ---------------------------------------------------------------- create */

int disk_create_ext(const char *path, const struct disk_create_options *o)
{
        if (!path || !o)
                return -EINVAL;
        if (o->size % DISK_SECTOR)
                return err_set(-EINVAL, "size %" PRIu64 " is not a multiple of 512", o->size);
        if (o->backing && o->format != DISK_FORMAT_QCOW2)
                return err_set(-EOPNOTSUPP, "%s images cannot have a backing file (qcow2 only)",
                               strempty(disk_format_to_string(o->format)));
        if (o->size == 0 && !o->backing)
                return err_set(-EINVAL, "size must be given (and non-zero) without a backing file");
        switch (o->format) {
        case DISK_FORMAT_RAW:
                return raw_create(path, o->size);
        case DISK_FORMAT_QCOW2:
                return qcow2_create(path, o);
        case DISK_FORMAT_VHD:
                return vhd_create(path, o);
        default:
                return -EINVAL;
        }
}

int disk_create(const char *path, enum disk_format f, uint64_t size, const char *backing)
{
        struct disk_create_options o = {
                .format = f,
                .size = size,
                .backing = backing,
                .backing_format = _DISK_FORMAT_INVALID,
        };
        return disk_create_ext(path, &o);
}
