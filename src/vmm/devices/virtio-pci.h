/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-pci.h - the virtio 1.x PCI transport (virtio 1.2 §4.1), modern only, with
 * MSI-X interrupts delivered through irqfds and queue notifications through ioeventfds.
 *
 * A struct virtio_dev is one PCI function (vendor 0x1af4, device 0x1040 + type) with a
 * single 64-bit memory BAR 0:
 *   0x0000 common configuration (§4.1.4.3)      0x1000 ISR status (§4.1.4.5)
 *   0x2000 device-specific configuration        0x3000 notifications, 4 bytes per queue
 *   0x4000 MSI-X table                           0x6000 MSI-X pending bits
 * and the capabilities that point at them, plus the PCI configuration access
 * capability (§4.1.4.8). A device model (virtio-blk.c, ...) fills a struct
 * virtio_dev_ops and keeps its own state in priv.
 *
 * Threads and locking: vCPU threads access the BAR and config space; the event loop
 * thread runs queue notifications (ops->queue_notify) and the device's own I/O. Both
 * hold vd->lock while they touch the transport or the device state, so device ops are
 * always called with vd->lock held. Interrupts are raised with that lock held too.
 *
 * A guest that breaks a queue (see virtqueue.h) gets DEVICE_NEEDS_RESET in the status
 * register and a configuration-change interrupt (§2.1.2); the device does nothing more
 * until the driver resets it.
 */
#pragma once

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdint.h>

#include "pci.h"
#include "snapshot.h"
#include "virtqueue.h"

#define VIRTIO_MAX_QUEUES  8
#define VIRTIO_MAX_VECTORS (VIRTIO_MAX_QUEUES + 1)
#define VIRTIO_NO_VECTOR   0xffff

#define VIRTIO_BAR_SIZE    0x8000
#define VIRTIO_BAR_COMMON  0x0000
#define VIRTIO_BAR_ISR     0x1000
#define VIRTIO_BAR_DEVICE  0x2000
#define VIRTIO_BAR_NOTIFY  0x3000
#define VIRTIO_BAR_MSIX    0x4000
#define VIRTIO_BAR_PBA     0x6000
#define VIRTIO_NOTIFY_MULT 4

struct vm;
struct virtio_dev;

struct virtio_dev_ops {
        const char *name;
        uint16_t type; /* virtio device id (§5): 1 net, 2 block, 4 rng, 19 vsock */
        uint32_t pci_class;
        uint16_t num_queues;
        uint16_t queue_size;
        uint32_t config_size; /* bytes of device-specific configuration */
        /*
         * Another process serves the queues (vhost-user): their notify eventfds are not
         * watched by the event loop but handed to it, and queue_notify is never called.
         */
        bool external_queues;
        void (*config_read)(struct virtio_dev *vd, uint32_t offset, void *data, uint32_t len);
        void (*config_write)(struct virtio_dev *vd, uint32_t offset, const void *data, uint32_t len);
        /* The driver made buffers available on queue q (event loop thread; with notify_on_vcpu, the
         * vCPU thread that wrote the notification). Called with vd->lock held. */
        void (*queue_notify)(struct virtio_dev *vd, unsigned q);
        /* DRIVER_OK: queues are set up; start I/O. A negative return marks the device broken. */
        int (*activate)(struct virtio_dev *vd);
        /* The driver reset the device (or it failed): stop I/O and forget queue state. */
        void (*reset)(struct virtio_dev *vd);
        /*
         * Snapshots (optional: a device without them keeps no state of its own). save appends
         * the model's state, or refuses with a message when it has work that cannot be saved;
         * restore reads it back from r (bounds-checked) before the transport is started again.
         * Both with vd->lock held.
         */
        int (*save)(struct virtio_dev *vd, struct snap_buf *b);
        int (*restore)(struct virtio_dev *vd, struct snap_reader *r);
        /* Free priv and everything the device model owns (no lock held). */
        void (*free)(struct virtio_dev *vd);
};

/* Driver-visible transport registers: plain data for snapshots. */
struct virtio_pci_state {
        uint64_t device_features;
        uint64_t driver_features;
        uint32_t device_feature_select;
        uint32_t driver_feature_select;
        uint16_t msix_config;
        uint16_t queue_select;
        uint8_t status;
        uint8_t config_generation;
        uint8_t isr;
};

struct msix_entry {
        uint32_t addr_lo;
        uint32_t addr_hi;
        uint32_t data;
        uint32_t ctrl; /* bit 0: masked */
};

struct virtio_notify_src {
        struct virtio_dev *vd;
        unsigned queue;
        int fd;
};

struct virtio_dev {
        struct pci_device pci; /* first: the bus hands this pointer back */
        struct vm *vm;
        const struct virtio_dev_ops *ops;
        void *priv;
        pthread_mutex_t lock;
        struct virtio_pci_state s;
        struct virtqueue queues[VIRTIO_MAX_QUEUES];
        struct virtio_notify_src notify[VIRTIO_MAX_QUEUES];
        uint64_t notify_base; /* guest address the notify ioeventfds sit at, 0: none */
        unsigned n_vectors;
        struct msix_entry msix[VIRTIO_MAX_VECTORS];
        uint64_t msix_pba;
        int irq_fd[VIRTIO_MAX_VECTORS];
        uint32_t gsi[VIRTIO_MAX_VECTORS];
        bool route_set[VIRTIO_MAX_VECTORS];
        uint64_t route_addr[VIRTIO_MAX_VECTORS];
        uint32_t route_data[VIRTIO_MAX_VECTORS];
        uint8_t msix_cap;
        uint8_t cfg_cap;
        bool broken;
        /* Queue notifications are served on the vCPU thread that wrote them (no ioeventfd). */
        bool notify_on_vcpu;
};

/*
 * Create the transport for a device model with the device feature bits it offers
 * (VERSION_1, EVENT_IDX and INDIRECT_DESC are added). Takes ownership of priv, which
 * ops->free releases, also when creation fails. The device is not on the PCI bus until virtio_dev_attach().
 */
int virtio_dev_new(struct vm *vm, const struct virtio_dev_ops *ops, uint64_t features, void *priv,
                   struct virtio_dev **ret);
int virtio_dev_attach(struct virtio_dev *vd, struct pci_bus *bus);
void virtio_dev_free(struct virtio_dev *vd);

/* The calls below are made with vd->lock held (from device ops or event loop handlers). */
bool virtio_dev_has_feature(const struct virtio_dev *vd, unsigned bit);
struct virtqueue *virtio_dev_queue(struct virtio_dev *vd, unsigned q);
/*
 * Handle one popped chain: return the bytes written into its writable buffers, or a
 * negative errno after virtio_dev_fail() (the driver broke the device).
 */
typedef int (*virtio_chain_fn)(struct virtio_dev *vd, struct virtqueue_chain *c);
/*
 * Pop every available chain of queue q into c, hand each to fn, put it on the used ring
 * and interrupt the driver once at the end if it wants it. A malformed ring fails the device.
 */
void virtio_dev_serve_queue(struct virtio_dev *vd, unsigned q, struct virtqueue_chain *c,
                            virtio_chain_fn fn);
/* Interrupt the driver for queue q if it wants one (event index, NO_INTERRUPT flag). */
void virtio_dev_notify_queue(struct virtio_dev *vd, unsigned q);
void virtio_dev_config_changed(struct virtio_dev *vd);
/* The guest broke the device: set DEVICE_NEEDS_RESET and stop serving it. */
void virtio_dev_fail(struct virtio_dev *vd, const char *why);
/* Whether the driver has set DRIVER_OK and the device is not broken. */
bool virtio_dev_running(const struct virtio_dev *vd);

/* Lock helpers for device-model event handlers. */
static inline void virtio_dev_lock(struct virtio_dev *vd)
{
        pthread_mutex_lock(&vd->lock);
}
static inline void virtio_dev_unlock(struct virtio_dev *vd)
{
        pthread_mutex_unlock(&vd->lock);
}

/*
 * Snapshots: the device's record (configuration space, transport registers, queues, MSI-X
 * table and pending bits, then the model's own state), for the vCPUs parked. The restore
 * puts it back into a device of the same kind that the guest has not seen, re-activates the
 * queues of a running driver, re-routes the unmasked MSI-X vectors, and kicks the ready
 * queues so that buffers made available before the snapshot are served. I/O thread.
 */
int virtio_dev_save(struct virtio_dev *vd, uint32_t index, struct snap_buf *b);
int virtio_dev_restore(struct virtio_dev *vd, uint32_t index, const struct snapshot_blob *blob);
