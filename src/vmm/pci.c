/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pci.c - PCI bus 0, host bridge and config mechanism #1 (see pci.h).
 *
 * Linux accepts mechanism #1 only after pci_sanity_check() finds a host bridge or a
 * VGA device on bus 0, so 00:00.0 is a host bridge (class 06.00). Functions other than
 * 0 and buses other than 0 read as all-ones, "no device". Only bytes the write mask
 * allows change, which makes the read-only and reserved fields, the BAR size bits and
 * the capability list safe against any guest write.
 */
#include "layout.h"
#include "pci.h"

#define PCI_VENDOR_ID      0x00
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION       0x08
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP     0x10
#define PCI_BAR_MEM64      0x4

static void put16(uint8_t *p, uint16_t v)
{
        memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
        memcpy(p, &v, 4);
}

void pci_device_init(struct pci_device *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id,
                     const struct pci_device_ops *ops)
{
        memset(d->cfg, 0, sizeof(d->cfg));
        memset(d->wmask, 0, sizeof(d->wmask));
        put16(d->cfg + PCI_VENDOR_ID, vendor);
        put16(d->cfg + PCI_VENDOR_ID + 2, device);
        d->cfg[PCI_REVISION] = revision;
        d->cfg[PCI_REVISION + 1] = (uint8_t)class_code;
        d->cfg[PCI_REVISION + 2] = (uint8_t)(class_code >> 8);
        d->cfg[PCI_REVISION + 3] = (uint8_t)(class_code >> 16);
        put16(d->cfg + PCI_SUBSYS_VENDOR, subsys_vendor);
        put16(d->cfg + PCI_SUBSYS_VENDOR + 2, subsys_id);
        /* Memory space, bus master, INTx disable (bit 10) are the guest's to set. */
        put16(d->wmask + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x400);
        d->wmask[PCI_INTERRUPT_LINE] = 0xff;
        d->next_cap = 0x40;
        d->last_cap = 0;
        memset(d->bar_size, 0, sizeof(d->bar_size));
        memset(d->bar_is64, 0, sizeof(d->bar_is64));
        memset(d->bar_mapped, 0, sizeof(d->bar_mapped));
        d->ops = ops;
}

int pci_device_add_bar(struct pci_device *d, unsigned bar, uint64_t size, bool is64)
{
        if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS) || size < 4096 || (size & (size - 1)))
                return -EINVAL;
        d->bar_size[bar] = size;
        d->bar_is64[bar] = is64;
        put32(d->cfg + PCI_BAR0 + 4 * bar, is64 ? PCI_BAR_MEM64 : 0);
        put32(d->wmask + PCI_BAR0 + 4 * bar, (uint32_t) ~(size - 1) & 0xfffffff0u);
        if (is64)
                put32(d->wmask + PCI_BAR0 + 4 * (bar + 1), (uint32_t)(~(size - 1) >> 32));
        return 0;
}

int pci_device_add_cap(struct pci_device *d, const void *cap, size_t len, const uint8_t *wmask)
{
        unsigned at = ALIGN_UP((unsigned)d->next_cap, 4u);
        if (len < 2 || at + len > PCI_CFG_SIZE)
                return -ENOSPC;
        memcpy(d->cfg + at, cap, len);
        d->cfg[at + 1] = 0;
        if (wmask)
                memcpy(d->wmask + at, wmask, len);
        d->wmask[at] = d->wmask[at + 1] = 0;
        if (d->last_cap)
                d->cfg[d->last_cap + 1] = (uint8_t)at;
        else
                d->cfg[PCI_CAP_PTR] = (uint8_t)at;
        d->cfg[PCI_STATUS] |= PCI_STATUS_CAP;
        d->last_cap = (uint8_t)at;
        d->next_cap = (uint8_t)MIN(at + len, 0xffu);
        return (int)at;
}

static uint64_t bar_address(const struct pci_device *d, unsigned bar)
{
        uint32_t lo, hi = 0;
        memcpy(&lo, d->cfg + PCI_BAR0 + 4 * bar, 4);
        if (d->bar_is64[bar])
                memcpy(&hi, d->cfg + PCI_BAR0 + 4 * (bar + 1), 4);
        return ((uint64_t)hi << 32) | (lo & 0xfffffff0u);
}

/* Bring the BAR mappings in line with the command register and BAR values. Bus lock held. */
static void update_mappings(struct pci_device *d)
{
        uint16_t cmd;
        memcpy(&cmd, d->cfg + PCI_COMMAND, 2);
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
                if (d->bar_size[i] == 0)
                        continue;
                uint64_t addr = bar_address(d, i);
                /* Decoded only when enabled and wholly inside the window the root bridge decodes. */
                uint64_t want = 0;
                if ((cmd & PCI_COMMAND_MEMORY) && addr >= LAYOUT_MMIO32_START && addr < LAYOUT_MMIO32_END &&
                    d->bar_size[i] <= LAYOUT_MMIO32_END - addr)
                        want = addr;
                if (want != d->bar_mapped[i]) {
                        d->bar_mapped[i] = want;
                        if (d->ops && d->ops->bar_remap)
                                d->ops->bar_remap(d, i, want);
                }
        }
}

static struct pci_device *slot_device(struct pci_bus *b, unsigned slot)
{
        if (slot == 0)
                return &b->host;
        return slot < PCI_MAX_DEVICES ? b->devices[slot] : NULL;
}

uint32_t pci_bus_config_read(struct pci_bus *b, unsigned slot, uint32_t offset, uint32_t len)
{
        uint32_t v = 0;

        if (offset >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - offset)
                return 0xffffffffu;
        pthread_mutex_lock(&b->lock);
        struct pci_device *d = slot_device(b, slot);
        if (!d) {
                pthread_mutex_unlock(&b->lock);
                return 0xffffffffu;
        }
        if (offset >= 0x40 && d->ops && d->ops->config_read)
                d->ops->config_read(d, offset, len);
        memcpy(&v, d->cfg + offset, len);
        pthread_mutex_unlock(&b->lock);
        return v;
}

void pci_bus_config_write(struct pci_bus *b, unsigned slot, uint32_t offset, uint32_t len, uint32_t value)
{
        if (offset >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - offset)
                return;
        pthread_mutex_lock(&b->lock);
        struct pci_device *d = slot_device(b, slot);
        if (!d) {
                pthread_mutex_unlock(&b->lock);
                return;
        }
        for (uint32_t i = 0; i < len; i++) {
                uint8_t m = d->wmask[offset + i], v = (uint8_t)(value >> (8 * i));
                d->cfg[offset + i] = (uint8_t)((d->cfg[offset + i] & ~m) | (v & m));
        }
        if (offset < PCI_BAR0 + 4 * PCI_NUM_BARS && offset + len > PCI_COMMAND)
                update_mappings(d);
        if (offset + len > 0x40 && d->ops && d->ops->config_write)
                d->ops->config_write(d, offset, len);
        pthread_mutex_unlock(&b->lock);
}

static void conf1_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
        struct pci_bus *b = opaque;
        uint32_t v = 0xffffffffu;

        if (offset < 4) {
                pthread_mutex_lock(&b->lock);
                uint32_t a = b->config_address;
                pthread_mutex_unlock(&b->lock);
                v = offset == 0 && len == 4 ? a
                                            : (offset == 1 && len == 1 ? 0 : (uint32_t)(a >> (8 * offset)));
        } else {
                pthread_mutex_lock(&b->lock);
                uint32_t a = b->config_address;
                pthread_mutex_unlock(&b->lock);
                unsigned bus = (a >> 16) & 0xff, slot = (a >> 11) & 0x1f, fn = (a >> 8) & 7;
                uint32_t reg = (a & 0xfc) + (uint32_t)(offset - 4);
                if ((a & 0x80000000u) && bus == 0 && fn == 0 && reg + len <= PCI_CFG_SIZE)
                        v = pci_bus_config_read(b, slot, reg, len);
        }
        memcpy(data, &v, MIN(len, 4u));
}

static void conf1_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
        struct pci_bus *b = opaque;
        uint32_t v = 0;

        memcpy(&v, data, MIN(len, 4u));
        if (offset == 0 && len == 4) {
                pthread_mutex_lock(&b->lock);
                b->config_address = v & 0x80fffffcu;
                pthread_mutex_unlock(&b->lock);
        } else if (offset == 1 && len == 1) {
                /* 0xcf9: the reset control register of PC chipsets, inside the address dword. */
                if (b->cf9)
                        b->cf9(b->cf9_opaque, (uint8_t)v);
        } else if (offset >= 4) {
                pthread_mutex_lock(&b->lock);
                uint32_t a = b->config_address;
                pthread_mutex_unlock(&b->lock);
                unsigned bus = (a >> 16) & 0xff, slot = (a >> 11) & 0x1f, fn = (a >> 8) & 7;
                uint32_t reg = (a & 0xfc) + (uint32_t)(offset - 4);
                if ((a & 0x80000000u) && bus == 0 && fn == 0 && reg + len <= PCI_CFG_SIZE)
                        pci_bus_config_write(b, slot, reg, len, v);
        }
}

static const struct bus_ops conf1_ops = {.read = conf1_read, .write = conf1_write};

static void window_access(struct pci_bus *b, uint64_t addr, void *data, uint32_t len, bool write)
{
        struct pci_device *hit = NULL;
        unsigned bar = 0;
        uint64_t off = 0;

        pthread_mutex_lock(&b->lock);
        for (unsigned s = 1; s < PCI_MAX_DEVICES && !hit; s++) {
                struct pci_device *d = b->devices[s];
                if (!d)
                        continue;
                for (unsigned i = 0; i < PCI_NUM_BARS; i++)
                        if (d->bar_mapped[i] && addr >= d->bar_mapped[i] &&
                            addr - d->bar_mapped[i] < d->bar_size[i] &&
                            len <= d->bar_size[i] - (addr - d->bar_mapped[i])) {
                                hit = d;
                                bar = i;
                                off = addr - d->bar_mapped[i];
                                break;
                        }
        }
        pthread_mutex_unlock(&b->lock);
        if (!hit) {
                if (!write)
                        memset(data, 0xff, len);
                return;
        }
        if (write) {
                if (hit->ops->bar_write)
                        hit->ops->bar_write(hit, bar, off, data, len);
        } else if (hit->ops->bar_read)
                hit->ops->bar_read(hit, bar, off, data, len);
        else
                memset(data, 0xff, len);
}

static void window_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
        window_access(opaque, LAYOUT_MMIO32_START + offset, data, len, false);
}

static void window_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
        window_access(opaque, LAYOUT_MMIO32_START + offset, (void *)data, len, true);
}

static const struct bus_ops window_ops = {.read = window_read, .write = window_write};

int pci_bus_new(struct bus *pio, struct bus *mmio, pci_cf9_fn cf9, void *opaque, struct pci_bus **ret)
{
        struct pci_bus *b = calloc(1, sizeof(*b));
        int r;

        if (!b)
                return -ENOMEM;
        pthread_mutex_init(&b->lock, NULL);
        b->cf9 = cf9;
        b->cf9_opaque = opaque;
        b->mmio_next = LAYOUT_MMIO32_START;
        /* 8086:0d57 is the id other KVM monitors give a virtual host bridge; class 06.00 is what Linux
         * checks. */
        pci_device_init(&b->host, 0x8086, 0x0d57, 0x060000, 0, 0, 0, NULL);
        r = bus_add(pio, LAYOUT_PORT_PCI_ADDR, 8, &conf1_ops, b);
        if (r >= 0 && mmio)
                r = bus_add(mmio, LAYOUT_MMIO32_START, LAYOUT_MMIO32_END - LAYOUT_MMIO32_START, &window_ops,
                            b);
        if (r < 0) {
                pci_bus_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

void pci_bus_free(struct pci_bus *b)
{
        if (!b)
                return;
        pthread_mutex_destroy(&b->lock);
        free(b);
}

int pci_bus_add_device(struct pci_bus *b, struct pci_device *d)
{
        unsigned slot;

        pthread_mutex_lock(&b->lock);
        for (slot = 1; slot < PCI_MAX_DEVICES && b->devices[slot]; slot++)
                ;
        if (slot == PCI_MAX_DEVICES) {
                pthread_mutex_unlock(&b->lock);
                return -ENOSPC;
        }
        uint64_t next = b->mmio_next;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
                if (d->bar_size[i] == 0)
                        continue;
                uint64_t addr = ALIGN_UP(next, d->bar_size[i]);
                if (addr + d->bar_size[i] > LAYOUT_MMIO32_END) {
                        pthread_mutex_unlock(&b->lock);
                        return -ENOSPC;
                }
                put32(d->cfg + PCI_BAR0 + 4 * i, (uint32_t)addr | (d->bar_is64[i] ? PCI_BAR_MEM64 : 0));
                if (d->bar_is64[i])
                        put32(d->cfg + PCI_BAR0 + 4 * (i + 1), (uint32_t)(addr >> 32));
                next = addr + d->bar_size[i];
        }
        b->mmio_next = next;
        d->slot = slot;
        b->devices[slot] = d;
        uint16_t cmd;
        memcpy(&cmd, d->cfg + PCI_COMMAND, 2);
        cmd |= PCI_COMMAND_MEMORY;
        put16(d->cfg + PCI_COMMAND, cmd);
        update_mappings(d);
        pthread_mutex_unlock(&b->lock);
        return 0;
}

void pci_device_save(struct pci_bus *b, struct pci_device *d, struct snap_buf *out)
{
        pthread_mutex_lock(&b->lock);
        snap_put(out, d->cfg, PCI_CFG_SIZE);
        pthread_mutex_unlock(&b->lock);
}

void pci_device_restore(struct pci_bus *b, struct pci_device *d, struct snap_reader *r)
{
        uint8_t cfg[PCI_CFG_SIZE];

        snap_get(r, cfg, sizeof(cfg));
        if (r->bad)
                return;
        pthread_mutex_lock(&b->lock);
        for (unsigned i = 0; i < PCI_CFG_SIZE; i++)
                d->cfg[i] = (uint8_t)((d->cfg[i] & ~d->wmask[i]) | (cfg[i] & d->wmask[i]));
        update_mappings(d);
        pthread_mutex_unlock(&b->lock);
}

void pci_bus_save(struct pci_bus *b, struct snap_buf *out)
{
        struct snap_buf r = {};

        pthread_mutex_lock(&b->lock);
        snap_put_u32(&r, b->config_address);
        pthread_mutex_unlock(&b->lock);
        pci_device_save(b, &b->host, &r);
        snap_put_record_buf(out, SNAP_PCI_HOST, 0, &r);
}

int pci_bus_restore(struct pci_bus *b, const struct snapshot_blob *blob)
{
        struct snap_reader r = snap_reader_init(blob);
        uint32_t addr = snap_get_u32(&r);

        pci_device_restore(b, &b->host, &r);
        int e = snap_reader_finish(&r, "pci host bridge");
        if (e < 0)
                return e;
        pthread_mutex_lock(&b->lock);
        b->config_address = addr;
        pthread_mutex_unlock(&b->lock);
        return 0;
}
