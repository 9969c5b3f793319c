/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus.h - dispatch of the guest's port I/O and MMIO exits to device models.
 *
 * A bus is a sorted array of non-overlapping ranges, each with the device's ops and
 * opaque pointer. Ranges are added while the machine is built, before any vCPU runs,
 * and never removed, so lookups from vCPU threads need no lock. Devices serialize
 * their own state (each holds a mutex); a bus only finds the device.
 */
#pragma once

#include <stdint.h>

#include "macro.h"

struct bus_ops {
        /* offset is relative to the range's base; len is 1, 2, 4 or 8. */
        void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
        void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

struct bus_range {
        uint64_t base;
        uint64_t len;
        const struct bus_ops *ops;
        void *opaque;
};

struct bus {
        struct bus_range *ranges;
        size_t n;
};

/* -EEXIST when the range overlaps one already on the bus. */
int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque);
/*
 * Perform an access; returns false when no device claims addr, in which case reads
 * have filled data with all-ones (what a read of an empty ISA/PCI address returns).
 */
bool bus_access(const struct bus *b, uint64_t addr, void *data, uint32_t len, bool write);
void bus_done(struct bus *b);
