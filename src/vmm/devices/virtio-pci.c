/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-pci.c - virtio 1.x over PCI, modern only (see virtio-pci.h; virtio 1.2 §4.1).
 *
 * MSI-X (PCI 3.0 §6.8.2): each vector owns a GSI whose KVM route is the vector's
 * address/data, and an eventfd bound to that GSI with KVM_IRQFD; raising the vector is
 * one eventfd write. Routes are committed when a vector is unmasked with a message that
 * differs from the one KVM already has, not on each dword the guest writes, since
 * KVM_SET_GSI_ROUTING is expensive. A vector that is masked (per entry or by the
 * function mask) or whose MSI-X is disabled records the event in the pending bit array
 * and fires when it is unmasked. INTx is not offered (interrupt pin 0): every driver of
 * a virtio 1.x device on x86 uses MSI-X.
 */
#include <inttypes.h>
#include <sys/eventfd.h>

#include "error.h"
#include "log.h"
#include "virtio-pci.h"
#include "vm.h"

#define PCI_VENDOR_VIRTIO      0x1af4
#define PCI_DEVICE_VIRTIO_BASE 0x1040
#define PCI_CAP_VENDOR         0x09
#define PCI_CAP_MSIX           0x11
#define MSIX_CTRL_ENABLE       0x8000
#define MSIX_CTRL_MASKALL      0x4000

#define STATUS_NEEDS_RESET 0x40

static bool have_kvm(const struct virtio_dev *vd)
{
        return vd->vm->kvm.vm_fd >= 0;
}

bool virtio_dev_has_feature(const struct virtio_dev *vd, unsigned bit)
{
        return bit < 64 && (vd->s.driver_features & (1ULL << bit));
}

struct virtqueue *virtio_dev_queue(struct virtio_dev *vd, unsigned q)
{
        return q < vd->ops->num_queues ? &vd->queues[q] : NULL;
}

bool virtio_dev_running(const struct virtio_dev *vd)
{
        return (vd->s.status & VIRTIO_CONFIG_S_DRIVER_OK) && !vd->broken;
}

/* ---- MSI-X ---------------------------------------------------------------------- */

static uint16_t msix_control(const struct virtio_dev *vd)
{
        uint16_t c;
        memcpy(&c, vd->pci.cfg + vd->msix_cap + 2, 2);
        return c;
}

static bool vector_masked(const struct virtio_dev *vd, unsigned v)
{
        uint16_t c = msix_control(vd);
        return !(c & MSIX_CTRL_ENABLE) || (c & MSIX_CTRL_MASKALL) || (vd->msix[v].ctrl & 1);
}

static void commit_route(struct virtio_dev *vd, unsigned v)
{
        uint64_t addr = ((uint64_t)vd->msix[v].addr_hi << 32) | vd->msix[v].addr_lo;
        uint32_t data = vd->msix[v].data;

        if (!have_kvm(vd) || (vd->route_set[v] && vd->route_addr[v] == addr && vd->route_data[v] == data))
                return;
        int r = kvm_msi_route_set(&vd->vm->kvm, vd->gsi[v], addr, data);
        if (r < 0) {
                log_debug("%s: cannot route MSI-X vector %u: %s", vd->ops->name, v, strerror(-r));
                return;
        }
        vd->route_set[v] = true;
        vd->route_addr[v] = addr;
        vd->route_data[v] = data;
}

static void fire(struct virtio_dev *vd, unsigned v)
{
        uint64_t one = 1;
        (void)!write(vd->irq_fd[v], &one, sizeof(one));
}

static void raise_vector(struct virtio_dev *vd, uint16_t v)
{
        if (v >= vd->n_vectors)
                return;
        if (vector_masked(vd, v)) {
                vd->msix_pba |= 1ULL << v;
                return;
        }
        commit_route(vd, v);
        fire(vd, v);
}

/* After an unmask: routes for live vectors, then whatever was pending. */
static void msix_update(struct virtio_dev *vd)
{
        for (unsigned v = 0; v < vd->n_vectors; v++) {
                if (vector_masked(vd, v))
                        continue;
                commit_route(vd, v);
                if (vd->msix_pba & (1ULL << v)) {
                        vd->msix_pba &= ~(1ULL << v);
                        fire(vd, v);
                }
        }
}

void virtio_dev_notify_queue(struct virtio_dev *vd, unsigned q)
{
        struct virtqueue *vq = &vd->queues[q];
        if (!virtqueue_should_notify(vq))
                return;
        vd->s.isr |= 1;
        raise_vector(vd, vq->s.msix_vector);
}

void virtio_dev_serve_queue(struct virtio_dev *vd, unsigned qi, struct virtqueue_chain *c,
                            virtio_chain_fn fn)
{
        struct virtqueue *q = &vd->queues[qi];
        bool pushed = false;

        for (;;) {
                int r = virtqueue_pop(q, c);
                if (r < 0) {
                        virtio_dev_fail(vd, "malformed virtqueue");
                        return;
                }
                if (r == 0)
                        break;
                int n = fn(vd, c);
                if (n < 0)
                        return;
                virtqueue_push(q, c->head, (uint32_t)n);
                pushed = true;
        }
        if (pushed)
                virtio_dev_notify_queue(vd, qi);
}

void virtio_dev_config_changed(struct virtio_dev *vd)
{
        vd->s.config_generation++;
        vd->s.isr |= 2;
        raise_vector(vd, vd->s.msix_config);
}

void virtio_dev_fail(struct virtio_dev *vd, const char *why)
{
        if (vd->broken)
                return;
        log_debug("%s: %s: device needs reset", vd->ops->name, why);
        vd->broken = true;
        vd->s.status |= STATUS_NEEDS_RESET;
        if (vd->ops->reset)
                vd->ops->reset(vd);
        virtio_dev_config_changed(vd);
}

/* ---- common configuration -------------------------------------------------------- */

/* The driver notified queue q: serve it, under the device lock, if the device and queue are live. */
static void serve_notify(struct virtio_dev *vd, unsigned q)
{
        pthread_mutex_lock(&vd->lock);
        if (virtio_dev_running(vd) && vd->queues[q].s.ready && vd->ops->queue_notify)
                vd->ops->queue_notify(vd, q);
        pthread_mutex_unlock(&vd->lock);
}

static void kick_queue(struct virtio_dev *vd, uint64_t q)
{
        uint64_t one = 1;
        if (q < vd->ops->num_queues)
                (void)!write(vd->notify[q].fd, &one, sizeof(one));
}

static void device_reset(struct virtio_dev *vd)
{
        if (vd->ops->reset)
                vd->ops->reset(vd);
        for (unsigned q = 0; q < vd->ops->num_queues; q++)
                virtqueue_reset(&vd->queues[q], vd->ops->queue_size);
        uint64_t features = vd->s.device_features;
        vd->s = (struct virtio_pci_state){.device_features = features, .msix_config = VIRTIO_NO_VECTOR};
        vd->broken = false;
}

static void set_status(struct virtio_dev *vd, uint8_t status)
{
        if (status == 0) {
                device_reset(vd);
                return;
        }
        uint8_t old = vd->s.status;
        if ((status & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
                /* §3.1.1: refuse features we did not offer and a driver that is not 1.x. */
                if ((vd->s.driver_features & ~vd->s.device_features) ||
                    !virtio_dev_has_feature(vd, VIRTIO_F_VERSION_1))
                        status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
        }
        vd->s.status = (uint8_t)(status | (old & STATUS_NEEDS_RESET));
        if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK) && !vd->broken) {
                int r = vd->ops->activate ? vd->ops->activate(vd) : 0;
                if (r < 0)
                        virtio_dev_fail(vd, "activation failed");
                else
                        /* Buffers made available before DRIVER_OK: serve them on the I/O thread. */
                        for (unsigned q = 0; q < vd->ops->num_queues; q++)
                                if (vd->queues[q].s.ready)
                                        kick_queue(vd, q);
        }
}

static void common_read(struct virtio_dev *vd, uint64_t off, void *data, uint32_t len)
{
        uint8_t regs[0x40] = {};
        struct virtqueue *q =
                vd->s.queue_select < vd->ops->num_queues ? &vd->queues[vd->s.queue_select] : NULL;
        uint32_t dfsel = vd->s.device_feature_select, gfsel = vd->s.driver_feature_select;
        uint32_t df = dfsel < 2 ? (uint32_t)(vd->s.device_features >> (32 * dfsel)) : 0;
        uint32_t gf = gfsel < 2 ? (uint32_t)(vd->s.driver_features >> (32 * gfsel)) : 0;
        uint16_t nq = vd->ops->num_queues;

        memcpy(regs + 0x00, &dfsel, 4);
        memcpy(regs + 0x04, &df, 4);
        memcpy(regs + 0x08, &gfsel, 4);
        memcpy(regs + 0x0c, &gf, 4);
        memcpy(regs + 0x10, &vd->s.msix_config, 2);
        memcpy(regs + 0x12, &nq, 2);
        regs[0x14] = vd->s.status;
        regs[0x15] = vd->s.config_generation;
        memcpy(regs + 0x16, &vd->s.queue_select, 2);
        if (q) {
                uint16_t enable = q->s.ready, notify_off = vd->s.queue_select;
                memcpy(regs + 0x18, &q->s.size, 2);
                memcpy(regs + 0x1a, &q->s.msix_vector, 2);
                memcpy(regs + 0x1c, &enable, 2);
                memcpy(regs + 0x1e, &notify_off, 2);
                memcpy(regs + 0x20, &q->s.desc_addr, 8);
                memcpy(regs + 0x28, &q->s.avail_addr, 8);
                memcpy(regs + 0x30, &q->s.used_addr, 8);
        }
        if (off < sizeof(regs))
                memcpy(data, regs + off, MIN((size_t)len, sizeof(regs) - off));
}

static void set_u64_part(uint64_t *field, uint64_t off_in_field, uint64_t v, uint32_t len)
{
        uint8_t b[8];
        memcpy(b, field, 8);
        memcpy(b + off_in_field, &v, MIN((size_t)len, 8 - off_in_field));
        memcpy(field, b, 8);
}

static void common_write(struct virtio_dev *vd, uint64_t off, const void *data, uint32_t len)
{
        uint64_t v = 0;
        struct virtqueue *q =
                vd->s.queue_select < vd->ops->num_queues ? &vd->queues[vd->s.queue_select] : NULL;

        memcpy(&v, data, MIN(len, 8u));
        switch (off) {
        case 0x00:
                vd->s.device_feature_select = (uint32_t)v;
                return;
        case 0x08:
                vd->s.driver_feature_select = (uint32_t)v;
                return;
        case 0x0c:
                /* Features are frozen once FEATURES_OK is set (§3.1.1). */
                if (vd->s.driver_feature_select < 2 && !(vd->s.status & VIRTIO_CONFIG_S_FEATURES_OK)) {
                        unsigned sh = 32 * vd->s.driver_feature_select;
                        vd->s.driver_features = (vd->s.driver_features & ~(0xffffffffULL << sh)) |
                                                ((v & 0xffffffffULL) << sh);
                }
                return;
        case 0x10:
                vd->s.msix_config = (uint16_t)v < vd->n_vectors ? (uint16_t)v : VIRTIO_NO_VECTOR;
                return;
        case 0x14:
                set_status(vd, (uint8_t)v);
                return;
        case 0x16:
                vd->s.queue_select = (uint16_t)v;
                return;
        default:
                break;
        }
        if (!q || q->s.ready)
                return; /* queue registers are read-only once the queue is enabled (§4.1.4.3.2) */
        switch (off) {
        case 0x18: {
                uint16_t n = (uint16_t)v;
                if (n != 0 && n <= q->s.max_size && !(n & (n - 1)))
                        q->s.size = n;
                return;
        }
        case 0x1a:
                q->s.msix_vector = (uint16_t)v < vd->n_vectors ? (uint16_t)v : VIRTIO_NO_VECTOR;
                return;
        case 0x1c:
                if ((uint16_t)v != 1)
                        return;
                if (virtqueue_activate(q, &vd->vm->mem,
                                       virtio_dev_has_feature(vd, VIRTIO_RING_F_EVENT_IDX)) < 0)
                        virtio_dev_fail(vd, "queue rings outside guest memory");
                return;
        default:
                break;
        }
        if (off >= 0x20 && off < 0x28)
                set_u64_part(&q->s.desc_addr, off - 0x20, v, len);
        else if (off >= 0x28 && off < 0x30)
                set_u64_part(&q->s.avail_addr, off - 0x28, v, len);
        else if (off >= 0x30 && off < 0x38)
                set_u64_part(&q->s.used_addr, off - 0x30, v, len);
}

/* ---- BAR 0 ----------------------------------------------------------------------- */

static void msix_table_access(struct virtio_dev *vd, uint64_t off, void *data, uint32_t len, bool write)
{
        unsigned v = (unsigned)(off / 16), field = (unsigned)(off % 16);
        if (v >= vd->n_vectors || (len != 4 && len != 8) || field % 4) {
                if (!write)
                        memset(data, 0xff, len);
                return;
        }
        uint8_t *entry = (uint8_t *)&vd->msix[v];
        if (!write) {
                memcpy(data, entry + field, MIN((size_t)len, 16 - (size_t)field));
                return;
        }
        bool was_masked = vector_masked(vd, v);
        memcpy(entry + field, data, MIN((size_t)len, 16 - (size_t)field));
        vd->msix[v].ctrl &= 1;
        if (was_masked && !vector_masked(vd, v))
                msix_update(vd);
        else if (!vector_masked(vd, v))
                commit_route(vd, v); /* message changed while live (§6.8.2.9 says software should not) */
}

static void bar_read(struct pci_device *d, unsigned bar, uint64_t off, void *data, uint32_t len)
{
        struct virtio_dev *vd = (struct virtio_dev *)d;

        memset(data, 0, len);
        pthread_mutex_lock(&vd->lock);
        if (off < VIRTIO_BAR_COMMON + 0x40)
                common_read(vd, off, data, len);
        else if (off >= VIRTIO_BAR_ISR && off < VIRTIO_BAR_ISR + 4) {
                /* Reading ISR clears it (§4.1.4.5.1). */
                *(uint8_t *)data = vd->s.isr;
                vd->s.isr = 0;
        } else if (off >= VIRTIO_BAR_DEVICE && off < VIRTIO_BAR_DEVICE + vd->ops->config_size) {
                uint64_t o = off - VIRTIO_BAR_DEVICE;
                if (len <= vd->ops->config_size - o && vd->ops->config_read)
                        vd->ops->config_read(vd, (uint32_t)o, data, len);
        } else if (off >= VIRTIO_BAR_MSIX && off < VIRTIO_BAR_MSIX + 16 * vd->n_vectors)
                msix_table_access(vd, off - VIRTIO_BAR_MSIX, data, len, false);
        else if (off >= VIRTIO_BAR_PBA && off < VIRTIO_BAR_PBA + 8)
                memcpy(data, (uint8_t *)&vd->msix_pba + (off - VIRTIO_BAR_PBA),
                       MIN((size_t)len, 8 - (size_t)(off - VIRTIO_BAR_PBA)));
        pthread_mutex_unlock(&vd->lock);
}

static void bar_write(struct pci_device *d, unsigned bar, uint64_t off, const void *data, uint32_t len)
{
        struct virtio_dev *vd = (struct virtio_dev *)d;

        if (off >= VIRTIO_BAR_NOTIFY && off < VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULT * VIRTIO_MAX_QUEUES) {
                uint64_t q = (off - VIRTIO_BAR_NOTIFY) / VIRTIO_NOTIFY_MULT;
                /*
                 * notify_on_vcpu: served here, on the vCPU thread that wrote, which re-enters
                 * the guest with the completion's interrupt pending (no ioeventfd, no wake-up
                 * of the I/O thread and no second exit to deliver the interrupt).
                 */
                if (vd->notify_on_vcpu && q < vd->ops->num_queues) {
                        serve_notify(vd, (unsigned)q);
                        return;
                }
                /* Reached only when no ioeventfd caught the write (other widths, no KVM). */
                kick_queue(vd, q);
                return;
        }
        pthread_mutex_lock(&vd->lock);
        if (off < VIRTIO_BAR_COMMON + 0x40)
                common_write(vd, off, data, len);
        else if (off >= VIRTIO_BAR_DEVICE && off < VIRTIO_BAR_DEVICE + vd->ops->config_size) {
                uint64_t o = off - VIRTIO_BAR_DEVICE;
                if (len <= vd->ops->config_size - o && vd->ops->config_write)
                        vd->ops->config_write(vd, (uint32_t)o, data, len);
        } else if (off >= VIRTIO_BAR_MSIX && off < VIRTIO_BAR_MSIX + 16 * vd->n_vectors)
                msix_table_access(vd, off - VIRTIO_BAR_MSIX, (void *)data, len, true);
        pthread_mutex_unlock(&vd->lock);
}

static void bar_remap(struct pci_device *d, unsigned bar, uint64_t addr)
{
        struct virtio_dev *vd = (struct virtio_dev *)d;

        if (bar != 0 || !have_kvm(vd))
                return;
        pthread_mutex_lock(&vd->lock);
        for (unsigned q = 0; q < vd->ops->num_queues && !vd->notify_on_vcpu; q++) {
                if (vd->notify_base)
                        (void)kvm_ioeventfd(&vd->vm->kvm, vd->notify[q].fd,
                                            vd->notify_base + VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULT * q, 2,
                                            false, false);
                if (addr) {
                        int r = kvm_ioeventfd(&vd->vm->kvm, vd->notify[q].fd,
                                              addr + VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULT * q, 2, false,
                                              true);
                        if (r < 0)
                                log_debug("%s: no ioeventfd for queue %u: %s", vd->ops->name, q,
                                          strerror(-r));
                }
        }
        vd->notify_base = addr;
        pthread_mutex_unlock(&vd->lock);
}

/* ---- configuration space hooks ---------------------------------------------------- */

/* The PCI configuration access capability: a window onto BAR 0 through config space. */
static void cfg_cap_access(struct virtio_dev *vd, bool write)
{
        struct virtio_pci_cfg_cap *c = (struct virtio_pci_cfg_cap *)(vd->pci.cfg + vd->cfg_cap);
        uint32_t off, len;

        memcpy(&off, &c->cap.offset, 4);
        memcpy(&len, &c->cap.length, 4);
        if (c->cap.bar != 0 || (len != 1 && len != 2 && len != 4) || off >= VIRTIO_BAR_SIZE || off % len)
                return;
        if (write)
                bar_write(&vd->pci, 0, off, c->pci_cfg_data, len);
        else
                bar_read(&vd->pci, 0, off, c->pci_cfg_data, len);
}

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t size)
{
        return off < start + size && start < off + len;
}

static void config_read_hook(struct pci_device *d, uint32_t off, uint32_t len)
{
        struct virtio_dev *vd = (struct virtio_dev *)d;
        if (overlaps(off, len, vd->cfg_cap + 16, 4))
                cfg_cap_access(vd, false);
}

static void config_write_hook(struct pci_device *d, uint32_t off, uint32_t len)
{
        struct virtio_dev *vd = (struct virtio_dev *)d;
        if (overlaps(off, len, vd->cfg_cap + 16, 4))
                cfg_cap_access(vd, true);
        if (overlaps(off, len, vd->msix_cap + 2, 2)) {
                pthread_mutex_lock(&vd->lock);
                msix_update(vd);
                pthread_mutex_unlock(&vd->lock);
        }
}

static const struct pci_device_ops virtio_pci_ops = {
        .bar_read = bar_read,
        .bar_write = bar_write,
        .bar_remap = bar_remap,
        .config_read = config_read_hook,
        .config_write = config_write_hook,
};

/* ---- creation -------------------------------------------------------------------- */

static int add_virtio_cap(struct virtio_dev *vd, uint8_t type, uint32_t offset, uint32_t length,
                          const void *extra, size_t extra_len, const uint8_t *wmask)
{
        uint8_t cap[20] = {};
        struct virtio_pci_cap c = {
                .cap_vndr = PCI_CAP_VENDOR,
                .cap_len = (uint8_t)(sizeof(c) + extra_len),
                .cfg_type = type,
                .bar = 0,
                .offset = offset,
                .length = length,
        };
        memcpy(cap, &c, sizeof(c));
        if (extra_len)
                memcpy(cap + sizeof(c), extra, extra_len);
        return pci_device_add_cap(&vd->pci, cap, sizeof(c) + extra_len, wmask);
}

static int on_notify(void *opaque, int fd, uint32_t events)
{
        struct virtio_notify_src *n = opaque;
        struct virtio_dev *vd = n->vd;
        uint64_t v;

        (void)!read(fd, &v, sizeof(v));
        serve_notify(vd, n->queue);
        return 0;
}

static int setup_caps(struct virtio_dev *vd)
{
        uint8_t cfg_wmask[20] = {};
        uint32_t mult = VIRTIO_NOTIFY_MULT;
        int r;

        r = add_virtio_cap(vd, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_BAR_COMMON, 0x40, NULL, 0, NULL);
        if (r >= 0)
                r = add_virtio_cap(vd, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_BAR_ISR, 4, NULL, 0, NULL);
        if (r >= 0 && vd->ops->config_size)
                r = add_virtio_cap(vd, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_BAR_DEVICE, vd->ops->config_size,
                                   NULL, 0, NULL);
        if (r >= 0)
                r = add_virtio_cap(vd, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_BAR_NOTIFY,
                                   VIRTIO_NOTIFY_MULT * vd->ops->num_queues, &mult, 4, NULL);
        if (r < 0)
                return r;
        /* bar, offset, length and data of the access window are the driver's to write. */
        cfg_wmask[4] = 0xff;
        memset(cfg_wmask + 8, 0xff, 12);
        uint8_t zero[4] = {};
        r = add_virtio_cap(vd, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, zero, 4, cfg_wmask);
        if (r < 0)
                return r;
        vd->cfg_cap = (uint8_t)r;

        uint8_t msix[12] = {PCI_CAP_MSIX, 0}, msix_wmask[12] = {};
        uint16_t ctrl = (uint16_t)(vd->n_vectors - 1);
        uint32_t table = VIRTIO_BAR_MSIX, pba = VIRTIO_BAR_PBA; /* BIR 0 */
        memcpy(msix + 2, &ctrl, 2);
        memcpy(msix + 4, &table, 4);
        memcpy(msix + 8, &pba, 4);
        msix_wmask[3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
        r = pci_device_add_cap(&vd->pci, msix, sizeof(msix), msix_wmask);
        if (r < 0)
                return r;
        vd->msix_cap = (uint8_t)r;
        return 0;
}

int virtio_dev_new(struct vm *vm, const struct virtio_dev_ops *ops, uint64_t features, void *priv,
                   struct virtio_dev **ret)
{
        int r;

        if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES || ops->config_size > 0x1000)
                return -EINVAL;
        struct virtio_dev *vd = calloc(1, sizeof(*vd));
        if (!vd) {
                struct virtio_dev tmp = {.ops = ops, .priv = priv};
                if (ops->free)
                        ops->free(&tmp);
                return -ENOMEM;
        }
        vd->vm = vm;
        vd->ops = ops;
        vd->priv = priv;
        pthread_mutex_init(&vd->lock, NULL);
        vd->n_vectors = ops->num_queues + 1u;
        for (unsigned i = 0; i < VIRTIO_MAX_VECTORS; i++) {
                vd->irq_fd[i] = -EBADF;
                vd->msix[i].ctrl = 1; /* vectors start masked (PCI 3.0 §6.8.2.9) */
        }
        for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
                vd->notify[q] = (struct virtio_notify_src){vd, q, -EBADF};
        vd->s.device_features = features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
                                (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
        vd->s.msix_config = VIRTIO_NO_VECTOR;
        for (unsigned q = 0; q < ops->num_queues; q++)
                virtqueue_reset(&vd->queues[q], ops->queue_size);

        pci_device_init(&vd->pci, PCI_VENDOR_VIRTIO, (uint16_t)(PCI_DEVICE_VIRTIO_BASE + ops->type),
                        ops->pci_class, 1, PCI_VENDOR_VIRTIO, 0x40, &virtio_pci_ops);
        r = pci_device_add_bar(&vd->pci, 0, VIRTIO_BAR_SIZE, true);
        if (r >= 0)
                r = setup_caps(vd);
        for (unsigned v = 0; r >= 0 && v < vd->n_vectors; v++) {
                vd->irq_fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (vd->irq_fd[v] < 0)
                        r = negative_errno();
                else if (have_kvm(vd)) {
                        r = kvm_msi_route_alloc(&vm->kvm, &vd->gsi[v]);
                        if (r >= 0)
                                r = kvm_irqfd(&vm->kvm, vd->irq_fd[v], vd->gsi[v], true);
                }
        }
        for (unsigned q = 0; r >= 0 && q < ops->num_queues; q++) {
                vd->notify[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (vd->notify[q].fd < 0)
                        r = negative_errno();
                else if (vm->loop && !ops->external_queues)
                        r = event_loop_add(vm->loop, vd->notify[q].fd, EPOLLIN, on_notify, &vd->notify[q]);
        }
        if (r < 0) {
                virtio_dev_free(vd);
                return r;
        }
        *ret = vd;
        return 0;
}

int virtio_dev_attach(struct virtio_dev *vd, struct pci_bus *bus)
{
        return pci_bus_add_device(bus, &vd->pci);
}

void virtio_dev_free(struct virtio_dev *vd)
{
        if (!vd)
                return;
        if (vd->ops->free)
                vd->ops->free(vd);
        for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
                if (vd->notify[q].fd < 0)
                        continue;
                if (vd->vm->loop && !vd->ops->external_queues)
                        (void)event_loop_remove(vd->vm->loop, vd->notify[q].fd);
                if (vd->notify_base && have_kvm(vd) && !vd->notify_on_vcpu)
                        (void)kvm_ioeventfd(&vd->vm->kvm, vd->notify[q].fd,
                                            vd->notify_base + VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULT * q, 2,
                                            false, false);
                safe_close(vd->notify[q].fd);
        }
        for (unsigned v = 0; v < VIRTIO_MAX_VECTORS; v++) {
                if (vd->irq_fd[v] < 0)
                        continue;
                if (have_kvm(vd))
                        (void)kvm_irqfd(&vd->vm->kvm, vd->irq_fd[v], vd->gsi[v], false);
                safe_close(vd->irq_fd[v]);
        }
        pthread_mutex_destroy(&vd->lock);
        free(vd);
}

/* ---- snapshots ------------------------------------------------------------------- */

static void save_queue(struct snap_buf *b, const struct virtqueue_state *s)
{
        snap_put_u16(b, s->size);
        snap_put_u8(b, s->ready);
        snap_put_u16(b, s->msix_vector);
        snap_put_u64(b, s->desc_addr);
        snap_put_u64(b, s->avail_addr);
        snap_put_u64(b, s->used_addr);
        snap_put_u16(b, s->last_avail);
        snap_put_u16(b, s->used_idx);
        snap_put_u16(b, s->signalled_used);
        snap_put_u8(b, s->signalled_used_valid);
}

int virtio_dev_save(struct virtio_dev *vd, uint32_t index, struct snap_buf *b)
{
        struct snap_buf d = {};
        int r = 0;

        pci_device_save(vd->vm->pci, &vd->pci, &d);
        pthread_mutex_lock(&vd->lock);
        /*
         * Another process serves these queues once DRIVER_OK started it: what it has in flight is
         * not ours to save. Before that (Linux leaves a device without its driver at ACKNOWLEDGE)
         * there is nothing to lose.
         */
        if (vd->ops->external_queues && (vd->s.status & VIRTIO_CONFIG_S_DRIVER_OK))
                r = err_set(-EBUSY, "%s: its driver is running on an external backend", vd->ops->name);
        snap_put_u64(&d, vd->s.driver_features);
        snap_put_u32(&d, vd->s.device_feature_select);
        snap_put_u32(&d, vd->s.driver_feature_select);
        snap_put_u16(&d, vd->s.msix_config);
        snap_put_u16(&d, vd->s.queue_select);
        snap_put_u8(&d, vd->s.status);
        snap_put_u8(&d, vd->s.config_generation);
        snap_put_u8(&d, vd->s.isr);
        snap_put_u8(&d, vd->broken);
        snap_put_u16(&d, vd->ops->num_queues);
        for (unsigned q = 0; q < vd->ops->num_queues; q++)
                save_queue(&d, &vd->queues[q].s);
        snap_put_u16(&d, (uint16_t)vd->n_vectors);
        for (unsigned v = 0; v < vd->n_vectors; v++) {
                snap_put_u32(&d, vd->msix[v].addr_lo);
                snap_put_u32(&d, vd->msix[v].addr_hi);
                snap_put_u32(&d, vd->msix[v].data);
                snap_put_u32(&d, vd->msix[v].ctrl);
        }
        snap_put_u64(&d, vd->msix_pba);
        if (r >= 0 && vd->ops->save)
                r = vd->ops->save(vd, &d);
        pthread_mutex_unlock(&vd->lock);
        if (r < 0) {
                snap_buf_done(&d);
                return r;
        }
        snap_put_record_buf(b, SNAP_DEVICE, index, &d);
        return b->error;
}

static bool restore_queue(struct snap_reader *r, struct virtqueue *q)
{
        struct virtqueue_state s = q->s;

        s.size = snap_get_u16(r);
        s.ready = snap_get_bool(r);
        s.msix_vector = snap_get_u16(r);
        s.desc_addr = snap_get_u64(r);
        s.avail_addr = snap_get_u64(r);
        s.used_addr = snap_get_u64(r);
        s.last_avail = snap_get_u16(r);
        s.used_idx = snap_get_u16(r);
        s.signalled_used = snap_get_u16(r);
        s.signalled_used_valid = snap_get_bool(r);
        if (s.size == 0 || s.size > s.max_size || (s.size & (s.size - 1)))
                return false;
        q->s = s;
        return true;
}

static int restore_locked(struct virtio_dev *vd, uint32_t index, struct snap_reader *r)
{
        char what[64];
        snprintf(what, sizeof(what), "device %" PRIu32 " (%s)", index, vd->ops->name);

        pci_device_restore(vd->vm->pci, &vd->pci, r);
        vd->s.driver_features = snap_get_u64(r);
        vd->s.device_feature_select = snap_get_u32(r);
        vd->s.driver_feature_select = snap_get_u32(r);
        vd->s.msix_config = snap_get_u16(r);
        vd->s.queue_select = snap_get_u16(r);
        vd->s.status = snap_get_u8(r);
        vd->s.config_generation = snap_get_u8(r);
        vd->s.isr = snap_get_u8(r);
        vd->broken = snap_get_bool(r);
        if (snap_get_u16(r) != vd->ops->num_queues)
                r->bad = true;
        for (unsigned q = 0; q < vd->ops->num_queues && !r->bad; q++)
                if (!restore_queue(r, &vd->queues[q]))
                        r->bad = true;
        if (snap_get_u16(r) != vd->n_vectors)
                r->bad = true;
        for (unsigned v = 0; v < vd->n_vectors && !r->bad; v++) {
                vd->msix[v].addr_lo = snap_get_u32(r);
                vd->msix[v].addr_hi = snap_get_u32(r);
                vd->msix[v].data = snap_get_u32(r);
                vd->msix[v].ctrl = snap_get_u32(r) & 1;
        }
        vd->msix_pba = snap_get_u64(r) & ((1ULL << vd->n_vectors) - 1);
        if (!r->bad && vd->ops->restore) {
                int e = vd->ops->restore(vd, r);
                if (e < 0)
                        return err_prefix(e, "%s", what);
        }
        int e = snap_reader_finish(r, what);
        if (e < 0)
                return e;
        /* The driver accepted features of the snapshot's device: this one must offer them all. */
        if (vd->s.driver_features & ~vd->s.device_features)
                return err_set(-EINVAL,
                               "%s: the driver uses features 0x%" PRIx64 " this device does not offer", what,
                               vd->s.driver_features & ~vd->s.device_features);
        if (!virtio_dev_running(vd)) {
                /* Queues the driver set up but did not start yet are mapped at DRIVER_OK. */
                for (unsigned q = 0; q < vd->ops->num_queues; q++)
                        vd->queues[q].s.ready = false;
                return 0;
        }
        bool event_idx = virtio_dev_has_feature(vd, VIRTIO_RING_F_EVENT_IDX);
        for (unsigned q = 0; q < vd->ops->num_queues; q++)
                if (vd->queues[q].s.ready && virtqueue_activate(&vd->queues[q], &vd->vm->mem, event_idx) < 0)
                        return err_set(-EINVAL, "%s: queue %u is not in guest RAM", what, q);
        if (vd->ops->activate) {
                e = vd->ops->activate(vd);
                if (e < 0)
                        return err_prefix(e, "%s: cannot start it", what);
        }
        msix_update(vd);
        for (unsigned q = 0; q < vd->ops->num_queues; q++)
                if (vd->queues[q].s.ready)
                        kick_queue(vd, q);
        return 0;
}

int virtio_dev_restore(struct virtio_dev *vd, uint32_t index, const struct snapshot_blob *blob)
{
        struct snap_reader r = snap_reader_init(blob);

        pthread_mutex_lock(&vd->lock);
        int e = restore_locked(vd, index, &r);
        pthread_mutex_unlock(&vd->lock);
        return e;
}
