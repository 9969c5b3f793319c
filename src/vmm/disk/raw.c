/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw.c - the raw format: guest offset n is byte n of the file.
 *
 * The virtual size is the file size rounded down to 512 bytes (a trailing partial
 * sector cannot be addressed by virtio-blk). Reads and writes go straight to
 * preadv/pwritev through disk_file, which adds the O_DIRECT bounce buffer when the
 * guest's buffers are not aligned. Discard punches a hole (fallocate(2)
 * FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), so a sparse image stays sparse; a
 * file system without hole punching makes discard a no-op, which virtio-blk allows.
 * Flush is fdatasync(2): the file's size never changes through the guest, so the
 * metadata that fsync would add is not needed.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include "disk-internal.h"
#include "error.h"

static int raw_read(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        return disk_file_preadv(&d->file, iov, iovcnt, offset);
}

static int raw_write(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        return disk_file_pwritev(&d->file, iov, iovcnt, offset);
}

static int raw_discard(struct disk *d, uint64_t offset, uint64_t length)
{
        if (fallocate(d->file.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) <
            0) {
                if (errno == EOPNOTSUPP || errno == ENOSYS)
                        return 0;
                return -errno;
        }
        return 0;
}

static const struct disk_ops raw_ops = {
        .read = raw_read,
        .write = raw_write,
        .discard = raw_discard,
};

int raw_open(struct disk *d)
{
        d->ops = &raw_ops;
        d->size = d->file.size & ~(uint64_t)(DISK_SECTOR - 1);
        return 0;
}

int raw_create(const char *path, uint64_t size)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                int r = -errno;
                return err_set(r, "cannot create '%s': %s", path, strerror(-r));
        }
        if (ftruncate(fd, (off_t)size) < 0) {
                int r = -errno;
                unlink(path);
                return err_set(r, "cannot set the size of '%s': %s", path, strerror(-r));
        }
        return 0;
}
