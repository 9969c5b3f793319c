/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pci.h - a PCI host bridge with one bus (bus 0), configuration mechanism #1 at
 * 0xcf8/0xcfc (PCI Local Bus 3.0 §3.2.2.3.2), and memory BARs in the 32-bit window
 * [LAYOUT_MMIO32_START, LAYOUT_MMIO32_END) that the DSDT gives the root bridge.
 *
 * A struct pci_device is embedded in its device model: 256 bytes of configuration
 * space with a write mask (bits the guest may change), and its BARs. The bus assigns
 * BAR addresses when a device is added and enables memory decoding, as firmware would;
 * when the guest later moves a BAR or turns decoding off and on, the device hears of
 * it through ops->bar_remap (to move its ioeventfds). Config space and BAR mappings
 * are protected by the bus lock; BAR accesses are passed to the device without it,
 * and the device locks its own state.
 */
#pragma once

#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "snapshot.h"

#define PCI_MAX_DEVICES 32
#define PCI_NUM_BARS    6
#define PCI_CFG_SIZE    256

struct pci_device;

struct pci_device_ops {
        void (*bar_read)(struct pci_device *d, unsigned bar, uint64_t offset, void *data, uint32_t len);
        void (*bar_write)(struct pci_device *d, unsigned bar, uint64_t offset, const void *data,
                          uint32_t len);
        /* The BAR is now decoded at addr (0: not decoded). Bus lock held. */
        void (*bar_remap)(struct pci_device *d, unsigned bar, uint64_t addr);
        /* Hooks around accesses to device-specific config space (offset >= 0x40). Bus lock held. */
        void (*config_read)(struct pci_device *d, uint32_t offset, uint32_t len);
        void (*config_write)(struct pci_device *d, uint32_t offset, uint32_t len);
};

struct pci_device {
        uint8_t cfg[PCI_CFG_SIZE];
        uint8_t wmask[PCI_CFG_SIZE];
        uint8_t next_cap; /* offset where the next capability goes */
        uint8_t last_cap; /* offset of the last capability, 0 when none */
        uint64_t bar_size[PCI_NUM_BARS];
        bool bar_is64[PCI_NUM_BARS];
        uint64_t bar_mapped[PCI_NUM_BARS];
        unsigned slot;
        const struct pci_device_ops *ops;
};

typedef void (*pci_cf9_fn)(void *opaque, uint8_t value);

struct pci_bus {
        pthread_mutex_t lock;
        struct pci_device host;
        struct pci_device *devices[PCI_MAX_DEVICES];
        uint32_t config_address;
        uint64_t mmio_next;
        pci_cf9_fn cf9;
        void *cf9_opaque;
};

/* Create bus 0 with its host bridge at 00:00.0. A byte write to port 0xcf9 goes to cf9. */
int pci_bus_new(struct bus *pio, struct bus *mmio, pci_cf9_fn cf9, void *opaque, struct pci_bus **ret);
void pci_bus_free(struct pci_bus *b);

void pci_device_init(struct pci_device *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id,
                     const struct pci_device_ops *ops);
/* A memory BAR of size bytes (a power of two, at least 4 KiB); is64 takes bar and bar + 1. */
int pci_device_add_bar(struct pci_device *d, unsigned bar, uint64_t size, bool is64);
/*
 * Append a capability (cap[0] is its id; cap[1], the next pointer, is filled in) with
 * the given write mask (NULL: read-only). Returns its config space offset or -ENOSPC.
 */
int pci_device_add_cap(struct pci_device *d, const void *cap, size_t len, const uint8_t *wmask);
/* Put d in the first free slot, assign its BARs and enable decoding. */
int pci_bus_add_device(struct pci_bus *b, struct pci_device *d);

/* Configuration space access as through 0xcf8/0xcfc (also used by tests). */
uint32_t pci_bus_config_read(struct pci_bus *b, unsigned slot, uint32_t offset, uint32_t len);
void pci_bus_config_write(struct pci_bus *b, unsigned slot, uint32_t offset, uint32_t len, uint32_t value);

/*
 * Snapshots: a device's configuration space (the bytes of its record), and the bus's own
 * record (the 0xcf8 address latch and the host bridge). A restore takes only the bits the
 * guest could have written (the write mask), so ids, capabilities and BAR sizes stay those
 * of this machine, then maps the BARs where the guest had put them.
 */
void pci_device_save(struct pci_bus *b, struct pci_device *d, struct snap_buf *out);
void pci_device_restore(struct pci_bus *b, struct pci_device *d, struct snap_reader *r);
void pci_bus_save(struct pci_bus *b, struct snap_buf *out);
int pci_bus_restore(struct pci_bus *b, const struct snapshot_blob *blob);
