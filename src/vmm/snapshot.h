/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h - hull-vmm's snapshot format: the `state` file of a snapshot directory, and the
 * byte-level writer and reader that devices use for their own records (docs/vmm.md,
 * "Snapshots for microVM templates").
 *
 * The state file is little-endian (hull-vmm runs on x86-64 only): a 16-byte header (magic
 * "HULLSNAP", u32 format version, u32 reserved, zero), then records of u32 kind, u32 index,
 * u32 length and length bytes. KVM's own structures are stored as the kernel's ABI lays them
 * out (fixed sizes, every bit pattern valid); hull's device structs are written field by
 * field, so that a value the code treats as bool or as an index is checked on the way in.
 *
 * struct snapshot is the parsed file: snapshot_parse() checks every length against the kind's
 * exact size (or its maximum for XSAVE, MSRs and device records), refuses duplicates, unknown
 * kinds, indices out of range and missing records, and records one line that names what is
 * wrong. It owns its buffers (snapshot_done() frees them); device records stay opaque bytes
 * here and are checked by the device that reads them back (struct snap_reader).
 *
 * Ownership: a struct snap_buf owns its data; a struct snap_reader borrows its bytes.
 */
#pragma once

#include <linux/kvm.h>
#include <stdint.h>

#include "macro.h"
#include "memory.h"

#define SNAPSHOT_MAGIC       "HULLSNAP"
#define SNAPSHOT_VERSION     1
#define SNAPSHOT_MAX_VCPUS   254
#define SNAPSHOT_MAX_DEVICES 32
#define SNAPSHOT_MAX_MSRS    1024
#define SNAPSHOT_MAX_XSAVE   (64 * 1024)
#define SNAPSHOT_MAX_BLOB    (64 * 1024)
#define SNAPSHOT_MAX_FILE    (16 * 1024 * 1024)

enum snapshot_kind {
        SNAP_MACHINE = 1,
        SNAP_VCPU_REGS,
        SNAP_VCPU_SREGS,
        SNAP_VCPU_XSAVE, /* KVM_GET_XSAVE(2) area */
        SNAP_VCPU_FPU,   /* instead of XSAVE, on a host without KVM_CAP_XSAVE */
        SNAP_VCPU_XCRS,
        SNAP_VCPU_MSRS, /* struct kvm_msr_entry[] */
        SNAP_VCPU_LAPIC,
        SNAP_VCPU_EVENTS,
        SNAP_VCPU_DEBUGREGS,
        SNAP_VCPU_MP_STATE,
        SNAP_VCPU_TSC_KHZ, /* u32, 0: unknown */
        SNAP_IRQCHIP,      /* index: KVM_IRQCHIP_PIC_MASTER, PIC_SLAVE, IOAPIC */
        SNAP_PIT2,
        SNAP_CLOCK,
        SNAP_SERIAL,
        SNAP_I8042,
        SNAP_ACPI_PM,
        SNAP_PCI_HOST,
        SNAP_DEVICE, /* index: the virtio device's position */
        _SNAP_KIND_MAX,
        _SNAP_KIND_INVALID = -EINVAL,
};

struct snapshot_vcpu {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        uint8_t *xsave; /* NULL with has_fpu */
        uint32_t xsave_len;
        struct kvm_fpu fpu;
        bool has_fpu;
        struct kvm_xcrs xcrs;
        bool has_xcrs;
        struct kvm_msr_entry *msrs;
        uint32_t n_msrs;
        struct kvm_lapic_state lapic;
        struct kvm_vcpu_events events;
        struct kvm_debugregs debugregs;
        struct kvm_mp_state mp_state;
        uint32_t tsc_khz;
        uint32_t seen; /* bit per kind: which records were read */
};

struct snapshot_blob {
        uint8_t *data;
        uint32_t len;
};

struct snapshot {
        uint32_t cpus;
        uint64_t memory;
        uint32_t n_devices;
        uint16_t device_types[SNAPSHOT_MAX_DEVICES]; /* virtio device ids, in PCI order */
        struct snapshot_vcpu *vcpus;                 /* cpus of them */
        struct kvm_irqchip irqchip[3];
        struct kvm_pit_state2 pit;
        struct kvm_clock_data clock;
        struct snapshot_blob serial, i8042, acpi_pm, pci_host;
        struct snapshot_blob devices[SNAPSHOT_MAX_DEVICES];
        uint32_t seen; /* bit per VM-wide kind */
        uint32_t irqchip_seen;
};

/* A growing buffer; the first failed allocation sticks in error and later puts do nothing. */
struct snap_buf {
        uint8_t *data;
        size_t len;
        size_t cap;
        int error;
};

void snap_put(struct snap_buf *b, const void *p, size_t n);
void snap_put_u8(struct snap_buf *b, uint8_t v);
void snap_put_u16(struct snap_buf *b, uint16_t v);
void snap_put_u32(struct snap_buf *b, uint32_t v);
void snap_put_u64(struct snap_buf *b, uint64_t v);
/* Append one record (kind, index, the n bytes at p). */
void snap_put_record(struct snap_buf *b, enum snapshot_kind kind, uint32_t index, const void *p, size_t n);
/* Append inner as one record (or its allocation error), and free inner. */
void snap_put_record_buf(struct snap_buf *b, enum snapshot_kind kind, uint32_t index,
                         struct snap_buf *inner);
void snap_buf_done(struct snap_buf *b);

/*
 * Reads that never go past the end: a read beyond it, or a bool that is not 0 or 1, sets bad
 * and returns zeros. Check snap_reader_finish() once at the end.
 */
struct snap_reader {
        const uint8_t *p;
        size_t left;
        bool bad;
};

static inline struct snap_reader snap_reader_init(const struct snapshot_blob *b)
{
        return (struct snap_reader){.p = b->data, .left = b->len};
}
void snap_get(struct snap_reader *r, void *p, size_t n);
uint8_t snap_get_u8(struct snap_reader *r);
uint16_t snap_get_u16(struct snap_reader *r);
uint32_t snap_get_u32(struct snap_reader *r);
uint64_t snap_get_u64(struct snap_reader *r);
bool snap_get_bool(struct snap_reader *r);
/* 0, or -EINVAL with a message naming what when the record was short, long or had a bad value. */
int snap_reader_finish(struct snap_reader *r, const char *what);

/* Start a state file: the header and the machine record. */
void snapshot_put_header(struct snap_buf *b, uint32_t cpus, uint64_t memory, const uint16_t *types,
                         uint32_t n_types);
/*
 * Parse a whole state file. On failure records "what is wrong" (without the file name, which
 * the caller adds) and returns -EINVAL; ret is written only on success.
 */
int snapshot_parse(const uint8_t *data, size_t len, struct snapshot *ret);
/* Read DIR/state and parse it. */
int snapshot_load(const char *dir, struct snapshot *ret);
void snapshot_done(struct snapshot *s);

/* The device kind a virtio device id stands for in messages ("virtio-blk"). */
const char *snapshot_device_name(uint16_t type);

/*
 * Write a snapshot directory: DIR.tmp-<pid> with the memory file (guest_memory_save()) and
 * the state, synced, then renamed to DIR. Returns 0, 1 when DIR already existed (another
 * maker won: this copy is removed), or -errno with a message and nothing left behind.
 */
int snapshot_write_dir(const char *dir, const struct snap_buf *state, const struct guest_memory *mem);
