/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk.c - virtio block device (virtio 1.2 §5.2).
 *
 * One request queue, served on the event loop thread. A request is a 16-byte header
 * (type, reserved, sector) in the driver-readable buffers, then the data (readable for
 * writes, writable for reads), then one writable status byte (§5.2.6). Requests are
 * handled synchronously through the disk backend, which checks bounds itself; this
 * file checks the request's shape: a header that is not all there, or no room for the
 * status byte, is a broken driver and puts the device in DEVICE_NEEDS_RESET, while a
 * bad sector number, a length that is not whole sectors, a write to a read-only disk
 * or an I/O error is answered with VIRTIO_BLK_S_IOERR (§5.2.6.1).
 */
#include <inttypes.h>
#include <linux/virtio_blk.h>

#include "disk/disk.h"
#include "error.h"
#include "iovec.h"
#include "log.h"
#include "virtio-blk.h"

#define SECTOR_SIZE    512
#define BLK_SEG_MAX    (BLK_QUEUE_SIZE - 2) /* a 1 MiB request of 4 KiB pages is one request */
#define BLK_QUEUE_SIZE 256

struct virtio_blk {
        struct disk *disk; /* NULL until virtio_blk_attach() for a late disk */
        const struct vm_disk_config *cfg;
        struct virtio_blk_config config;
        struct virtqueue_chain chain;
        struct iovec data[VIRTQUEUE_MAX_IOV];
        uint64_t reads, writes, flushes, errors; /* counters for stats */
        /* virtio_blk_hide(): capacity 0, the backend left alone */
        bool hidden;
};

static void blk_config_read(struct virtio_dev *vd, uint32_t offset, void *data, uint32_t len)
{
        struct virtio_blk *b = vd->priv;
        if (offset < sizeof(b->config))
                memcpy(data, (uint8_t *)&b->config + offset, MIN((size_t)len, sizeof(b->config) - offset));
}

/* One request; returns the status byte. *ret_written is the bytes put in writable buffers. */
static uint8_t handle_request(struct virtio_blk *b, struct virtqueue_chain *c, size_t *ret_written)
{
        struct virtio_blk_outhdr h;
        const struct iovec *out = c->iov, *in = c->iov + c->n_out;
        int n, r;

        iovec_to_buf(out, c->n_out, 0, &h, sizeof(h));
        *ret_written = 0;
        if (b->hidden || !b->disk)
                return VIRTIO_BLK_S_IOERR;
        switch (h.type) {
        case VIRTIO_BLK_T_IN: {
                size_t len = c->in_len - 1;
                if (len % SECTOR_SIZE || h.sector > UINT64_MAX / SECTOR_SIZE)
                        return VIRTIO_BLK_S_IOERR;
                n = iovec_slice(in, c->n_in, 0, len, b->data, VIRTQUEUE_MAX_IOV);
                r = disk_read(b->disk, h.sector * SECTOR_SIZE, b->data, n);
                if (r < 0)
                        return VIRTIO_BLK_S_IOERR;
                b->reads++;
                *ret_written = len;
                return VIRTIO_BLK_S_OK;
        }
        case VIRTIO_BLK_T_OUT: {
                size_t len = c->out_len - sizeof(h);
                if (disk_is_readonly(b->disk) || len % SECTOR_SIZE || h.sector > UINT64_MAX / SECTOR_SIZE)
                        return VIRTIO_BLK_S_IOERR;
                n = iovec_slice(out, c->n_out, sizeof(h), len, b->data, VIRTQUEUE_MAX_IOV);
                r = disk_write(b->disk, h.sector * SECTOR_SIZE, b->data, n);
                if (r < 0)
                        return VIRTIO_BLK_S_IOERR;
                b->writes++;
                return VIRTIO_BLK_S_OK;
        }
        case VIRTIO_BLK_T_FLUSH:
                b->flushes++;
                return disk_flush(b->disk) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        case VIRTIO_BLK_T_GET_ID: {
                /* 20 bytes, NUL-padded, not NUL-terminated when all 20 are used (§5.2.6). */
                char id[VIRTIO_BLK_ID_BYTES] = {};
                const char *serial = disk_serial(b->disk);
                if (serial)
                        memcpy(id, serial, strnlen(serial, sizeof(id)));
                *ret_written = iovec_from_buf(in, c->n_in, 0, id, MIN(sizeof(id), c->in_len - 1));
                return VIRTIO_BLK_S_OK;
        }
        default:
                return VIRTIO_BLK_S_UNSUPP;
        }
}

static int blk_chain(struct virtio_dev *vd, struct virtqueue_chain *c)
{
        struct virtio_blk *b = vd->priv;
        size_t written;

        if (c->out_len < sizeof(struct virtio_blk_outhdr) || c->in_len < 1) {
                virtio_dev_fail(vd, "request without header or status byte");
                return -EINVAL;
        }
        uint8_t status = handle_request(b, c, &written);
        if (status != VIRTIO_BLK_S_OK)
                b->errors++;
        /* The status byte is the last writable byte of the chain. */
        iovec_from_buf(c->iov + c->n_out, c->n_in, c->in_len - 1, &status, 1);
        return (int)(written + 1);
}

static void blk_queue_notify(struct virtio_dev *vd, unsigned qi)
{
        struct virtio_blk *b = vd->priv;
        virtio_dev_serve_queue(vd, qi, &b->chain, blk_chain);
}

static void blk_free(struct virtio_dev *vd)
{
        struct virtio_blk *b = vd->priv;
        if (!b)
                return;
        if (b->disk)
                disk_close(b->disk);
        free(b);
        vd->priv = NULL;
}

static const struct virtio_dev_ops blk_ops = {
        .name = "virtio-blk",
        .type = 2,
        .pci_class = 0x018000, /* mass storage, other */
        .num_queues = 1,
        .queue_size = BLK_QUEUE_SIZE,
        .config_size = sizeof(struct virtio_blk_config),
        .config_read = blk_config_read,
        .queue_notify = blk_queue_notify,
        .free = blk_free,
};

static struct disk_open_options open_options(const struct vm_disk_config *c)
{
        return (struct disk_open_options){.format = c->format, .readonly = c->readonly, .direct = c->direct};
}

/* The size the guest sees: none while hidden or not attached. Under the device lock. */
static void set_capacity(struct virtio_dev *vd, struct virtio_blk *b)
{
        uint64_t c = !b->hidden && b->disk ? disk_size(b->disk) / SECTOR_SIZE : 0;
        if (c == b->config.capacity)
                return;
        b->config.capacity = c;
        if (vd->s.status & VIRTIO_CONFIG_S_DRIVER_OK)
                virtio_dev_config_changed(vd);
}

int virtio_blk_new(struct vm *vm, const struct vm_disk_config *c, struct virtio_dev **ret)
{
        struct disk_open_options o = open_options(c);
        uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
                            (1ULL << VIRTIO_BLK_F_FLUSH);
        int r;

        struct virtio_blk *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->cfg = c;
        /* A late disk is read-only by its option alone: the feature is offered before it is open. */
        if (!c->late) {
                r = disk_open(c->path, &o, &b->disk);
                if (r < 0) {
                        free(b);
                        return err_prefix(r, "disk '%s'", c->path);
                }
                if (disk_is_readonly(b->disk))
                        features |= 1ULL << VIRTIO_BLK_F_RO;
                b->config.capacity = disk_size(b->disk) / SECTOR_SIZE;
        } else if (c->readonly)
                features |= 1ULL << VIRTIO_BLK_F_RO;
        b->config.seg_max = BLK_SEG_MAX;
        b->config.blk_size = SECTOR_SIZE;
        r = virtio_dev_new(vm, &blk_ops, features, b, ret);
        if (r >= 0)
                (*ret)->notify_on_vcpu = c->io_vcpu;
        return r;
}

void virtio_blk_hide(struct virtio_dev *vd)
{
        struct virtio_blk *b = vd->priv;

        virtio_dev_lock(vd);
        b->hidden = true;
        b->config.capacity = 0;
        virtio_dev_unlock(vd);
}

void virtio_blk_reveal(struct virtio_dev *vd)
{
        struct virtio_blk *b = vd->priv;

        virtio_dev_lock(vd);
        b->hidden = false;
        set_capacity(vd, b);
        virtio_dev_unlock(vd);
}

int virtio_blk_attach(struct virtio_dev *vd)
{
        struct virtio_blk *b = vd->priv;
        struct disk_open_options o = open_options(b->cfg);
        struct disk *d = NULL;

        if (b->disk)
                return 0;
        /* Opened outside the lock: the queue sees no disk until it is whole. */
        int r = disk_open(b->cfg->path, &o, &d);
        if (r < 0)
                return err_prefix(r, "disk '%s'", b->cfg->path);
        virtio_dev_lock(vd);
        b->disk = d;
        set_capacity(vd, b);
        virtio_dev_unlock(vd);
        return 0;
}

bool virtio_blk_pending(struct virtio_dev *vd)
{
        struct virtio_blk *b = vd->priv;
        return b->cfg->late && !b->disk;
}
