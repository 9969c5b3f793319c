/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c - the state file of a hull-vmm snapshot (see snapshot.h): writer, reader,
 * parser, and the directory that holds it next to the memory file.
 *
 * The parser treats the file as outside input (snapshots will move between hosts for
 * migration): every length is checked before a byte is copied, sums are written so that
 * they cannot wrap, and a record that is not exactly what its kind says is refused with
 * one line. The machine record must come first, since it says how many vCPUs and devices
 * the indices of later records may name.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "error.h"
#include "snapshot.h"
#include "util.h"

#define HEADER_SIZE 16
#define RECORD_HEAD 12

static const char *const kind_names[_SNAP_KIND_MAX] = {
        [SNAP_MACHINE] = "machine",
        [SNAP_VCPU_REGS] = "vcpu registers",
        [SNAP_VCPU_SREGS] = "vcpu special registers",
        [SNAP_VCPU_XSAVE] = "vcpu xsave area",
        [SNAP_VCPU_FPU] = "vcpu fpu",
        [SNAP_VCPU_XCRS] = "vcpu xcrs",
        [SNAP_VCPU_MSRS] = "vcpu msrs",
        [SNAP_VCPU_LAPIC] = "vcpu lapic",
        [SNAP_VCPU_EVENTS] = "vcpu events",
        [SNAP_VCPU_DEBUGREGS] = "vcpu debug registers",
        [SNAP_VCPU_MP_STATE] = "vcpu mp state",
        [SNAP_VCPU_TSC_KHZ] = "vcpu tsc frequency",
        [SNAP_IRQCHIP] = "irqchip",
        [SNAP_PIT2] = "pit",
        [SNAP_CLOCK] = "clock",
        [SNAP_SERIAL] = "serial",
        [SNAP_I8042] = "i8042",
        [SNAP_ACPI_PM] = "acpi pm",
        [SNAP_PCI_HOST] = "pci host bridge",
        [SNAP_DEVICE] = "device",
};

const char *snapshot_device_name(uint16_t type)
{
        switch (type) {
        case 1:
                return "virtio-net";
        case 2:
                return "virtio-blk";
        case 4:
                return "virtio-rng";
        case 19:
                return "virtio-vsock";
        case 26:
                return "virtio-fs";
        default:
                return "unknown device";
        }
}

/* ---- writer ------------------------------------------------------------------------- */

void snap_put(struct snap_buf *b, const void *p, size_t n)
{
        if (b->error || n == 0)
                return;
        if (n > b->cap - b->len) {
                size_t cap = MAX(b->cap * 2, b->len + n + 4096);
                uint8_t *d = realloc(b->data, cap);
                if (!d) {
                        b->error = -ENOMEM;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

void snap_put_u8(struct snap_buf *b, uint8_t v)
{
        snap_put(b, &v, 1);
}

void snap_put_u16(struct snap_buf *b, uint16_t v)
{
        snap_put(b, &v, 2);
}

void snap_put_u32(struct snap_buf *b, uint32_t v)
{
        snap_put(b, &v, 4);
}

void snap_put_u64(struct snap_buf *b, uint64_t v)
{
        snap_put(b, &v, 8);
}

void snap_put_record(struct snap_buf *b, enum snapshot_kind kind, uint32_t index, const void *p, size_t n)
{
        if (n > UINT32_MAX) {
                b->error = -E2BIG;
                return;
        }
        snap_put_u32(b, (uint32_t)kind);
        snap_put_u32(b, index);
        snap_put_u32(b, (uint32_t)n);
        snap_put(b, p, n);
}

void snap_put_record_buf(struct snap_buf *b, enum snapshot_kind kind, uint32_t index, struct snap_buf *inner)
{
        if (inner->error && !b->error)
                b->error = inner->error;
        else
                snap_put_record(b, kind, index, inner->data, inner->len);
        snap_buf_done(inner);
}

void snap_buf_done(struct snap_buf *b)
{
        free(b->data);
        *b = (struct snap_buf){};
}

void snapshot_put_header(struct snap_buf *b, uint32_t cpus, uint64_t memory, const uint16_t *types,
                         uint32_t n_types)
{
        struct snap_buf m = {};

        snap_put(b, SNAPSHOT_MAGIC, 8);
        snap_put_u32(b, SNAPSHOT_VERSION);
        snap_put_u32(b, 0);
        snap_put_u32(&m, cpus);
        snap_put_u64(&m, memory);
        snap_put_u32(&m, n_types);
        for (uint32_t i = 0; i < n_types; i++)
                snap_put_u16(&m, types[i]);
        snap_put_record_buf(b, SNAP_MACHINE, 0, &m);
}

/* ---- reader ------------------------------------------------------------------------- */

void snap_get(struct snap_reader *r, void *p, size_t n)
{
        if (r->bad || n > r->left) {
                r->bad = true;
                memset(p, 0, n);
                return;
        }
        memcpy(p, r->p, n);
        r->p += n;
        r->left -= n;
}

uint8_t snap_get_u8(struct snap_reader *r)
{
        uint8_t v;
        snap_get(r, &v, 1);
        return v;
}

uint16_t snap_get_u16(struct snap_reader *r)
{
        uint16_t v;
        snap_get(r, &v, 2);
        return v;
}

uint32_t snap_get_u32(struct snap_reader *r)
{
        uint32_t v;
        snap_get(r, &v, 4);
        return v;
}

uint64_t snap_get_u64(struct snap_reader *r)
{
        uint64_t v;
        snap_get(r, &v, 8);
        return v;
}

bool snap_get_bool(struct snap_reader *r)
{
        uint8_t v = snap_get_u8(r);
        if (v > 1)
                r->bad = true;
        return v == 1;
}

int snap_reader_finish(struct snap_reader *r, const char *what)
{
        if (r->bad)
                return err_set(-EINVAL, "%s: the record is truncated or holds an invalid value", what);
        if (r->left)
                return err_set(-EINVAL, "%s: %zu unexpected bytes at the end of the record", what, r->left);
        return 0;
}

/* ---- parser ------------------------------------------------------------------------- */

void snapshot_done(struct snapshot *s)
{
        if (s->vcpus)
                for (uint32_t i = 0; i < s->cpus; i++) {
                        free(s->vcpus[i].xsave);
                        free(s->vcpus[i].msrs);
                }
        free(s->vcpus);
        free(s->serial.data);
        free(s->i8042.data);
        free(s->acpi_pm.data);
        free(s->pci_host.data);
        for (uint32_t i = 0; i < SNAPSHOT_MAX_DEVICES; i++)
                free(s->devices[i].data);
        *s = (struct snapshot){};
}

static int parse_machine(struct snapshot *s, const uint8_t *p, uint32_t len)
{
        struct snap_reader r = {.p = p, .left = len};

        s->cpus = snap_get_u32(&r);
        s->memory = snap_get_u64(&r);
        s->n_devices = snap_get_u32(&r);
        if (!r.bad && s->n_devices > SNAPSHOT_MAX_DEVICES)
                return err_set(-EINVAL, "machine: %" PRIu32 " devices, at most %d", s->n_devices,
                               SNAPSHOT_MAX_DEVICES);
        for (uint32_t i = 0; i < s->n_devices && !r.bad; i++)
                s->device_types[i] = snap_get_u16(&r);
        int e = snap_reader_finish(&r, "machine");
        if (e < 0)
                return e;
        if (s->cpus == 0 || s->cpus > SNAPSHOT_MAX_VCPUS)
                return err_set(-EINVAL, "machine: %" PRIu32 " vCPUs is out of range", s->cpus);
        if (s->memory < (16ULL << 20) || s->memory % (1ULL << 20) || s->memory > (1ULL << 40))
                return err_set(-EINVAL, "machine: memory size %" PRIu64 " is invalid", s->memory);
        s->vcpus = calloc(s->cpus, sizeof(*s->vcpus));
        return s->vcpus ? 0 : -ENOMEM;
}

static int blob_take(struct snapshot_blob *b, const uint8_t *p, uint32_t len, const char *what)
{
        if (b->data)
                return err_set(-EINVAL, "%s: the record is there twice", what);
        if (len > SNAPSHOT_MAX_BLOB)
                return err_set(-EINVAL, "%s: record of %" PRIu32 " bytes is too large", what, len);
        b->data = malloc(MAX(len, 1u));
        if (!b->data)
                return -ENOMEM;
        memcpy(b->data, p, len);
        b->len = len;
        return 0;
}

/* A fixed-size record: exactly size bytes, seen once. */
static int take_fixed(void *dst, size_t size, const uint8_t *p, uint32_t len, uint32_t *seen, unsigned bit,
                      const char *what, uint32_t index)
{
        if (len != size)
                return err_set(-EINVAL, "%s %" PRIu32 ": record of %" PRIu32 " bytes, expected %zu", what,
                               index, len, size);
        if (*seen & (1u << bit))
                return err_set(-EINVAL, "%s %" PRIu32 ": the record is there twice", what, index);
        *seen |= 1u << bit;
        memcpy(dst, p, size);
        return 0;
}

static int parse_vcpu(struct snapshot *s, uint32_t kind, uint32_t index, const uint8_t *p, uint32_t len)
{
        const char *what = kind_names[kind];
        if (index >= s->cpus)
                return err_set(-EINVAL, "%s %" PRIu32 ": the machine has %" PRIu32 " vCPUs", what, index,
                               s->cpus);
        struct snapshot_vcpu *v = &s->vcpus[index];

        switch (kind) {
        case SNAP_VCPU_REGS:
                return take_fixed(&v->regs, sizeof(v->regs), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_SREGS:
                return take_fixed(&v->sregs, sizeof(v->sregs), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_FPU:
                v->has_fpu = true;
                return take_fixed(&v->fpu, sizeof(v->fpu), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_XCRS:
                v->has_xcrs = true;
                return take_fixed(&v->xcrs, sizeof(v->xcrs), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_LAPIC:
                return take_fixed(&v->lapic, sizeof(v->lapic), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_EVENTS:
                return take_fixed(&v->events, sizeof(v->events), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_DEBUGREGS:
                return take_fixed(&v->debugregs, sizeof(v->debugregs), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_MP_STATE:
                return take_fixed(&v->mp_state, sizeof(v->mp_state), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_TSC_KHZ:
                return take_fixed(&v->tsc_khz, sizeof(v->tsc_khz), p, len, &v->seen, kind, what, index);
        case SNAP_VCPU_XSAVE:
                /* KVM's legacy area is 4 KiB; XSAVE2 areas are larger, never smaller. */
                if (len < sizeof(struct kvm_xsave) || len > SNAPSHOT_MAX_XSAVE || len % 4)
                        return err_set(-EINVAL, "%s %" PRIu32 ": invalid size %" PRIu32, what, index, len);
                if (v->seen & (1u << kind))
                        return err_set(-EINVAL, "%s %" PRIu32 ": the record is there twice", what, index);
                v->xsave = malloc(len);
                if (!v->xsave)
                        return -ENOMEM;
                memcpy(v->xsave, p, len);
                v->xsave_len = len;
                v->seen |= 1u << kind;
                return 0;
        case SNAP_VCPU_MSRS:
                if (len % sizeof(struct kvm_msr_entry) ||
                    len / sizeof(struct kvm_msr_entry) > SNAPSHOT_MAX_MSRS)
                        return err_set(-EINVAL, "%s %" PRIu32 ": invalid size %" PRIu32, what, index, len);
                if (v->seen & (1u << kind))
                        return err_set(-EINVAL, "%s %" PRIu32 ": the record is there twice", what, index);
                v->msrs = malloc(MAX(len, 1u));
                if (!v->msrs)
                        return -ENOMEM;
                memcpy(v->msrs, p, len);
                v->n_msrs = len / (uint32_t)sizeof(struct kvm_msr_entry);
                v->seen |= 1u << kind;
                return 0;
        default:
                return -EINVAL;
        }
}

static int parse_record(struct snapshot *s, uint32_t kind, uint32_t index, const uint8_t *p, uint32_t len)
{
        switch (kind) {
        case SNAP_MACHINE:
                return err_set(-EINVAL, "machine: the record is there twice");
        case SNAP_VCPU_REGS ... SNAP_VCPU_TSC_KHZ:
                return parse_vcpu(s, kind, index, p, len);
        case SNAP_IRQCHIP:
                if (index >= 3)
                        return err_set(-EINVAL,
                                       "irqchip %" PRIu32 ": there are 3 (PIC master, slave, IOAPIC)",
                                       index);
                return take_fixed(&s->irqchip[index], sizeof(s->irqchip[index]), p, len, &s->irqchip_seen,
                                  index, "irqchip", index);
        case SNAP_PIT2:
                return take_fixed(&s->pit, sizeof(s->pit), p, len, &s->seen, kind, "pit", index);
        case SNAP_CLOCK:
                return take_fixed(&s->clock, sizeof(s->clock), p, len, &s->seen, kind, "clock", index);
        case SNAP_SERIAL:
                return blob_take(&s->serial, p, len, "serial");
        case SNAP_I8042:
                return blob_take(&s->i8042, p, len, "i8042");
        case SNAP_ACPI_PM:
                return blob_take(&s->acpi_pm, p, len, "acpi pm");
        case SNAP_PCI_HOST:
                return blob_take(&s->pci_host, p, len, "pci host bridge");
        case SNAP_DEVICE:
                if (index >= s->n_devices)
                        return err_set(-EINVAL, "device %" PRIu32 ": the machine has %" PRIu32 " devices",
                                       index, s->n_devices);
                return blob_take(&s->devices[index], p, len, "device");
        default:
                return err_set(-EINVAL, "unknown record kind %" PRIu32, kind);
        }
}

static int check_complete(const struct snapshot *s)
{
        /* XSAVE or FPU, XCRS where the host has them; everything else always. */
        const uint32_t vcpu_required = (1u << SNAP_VCPU_REGS) | (1u << SNAP_VCPU_SREGS) |
                                       (1u << SNAP_VCPU_MSRS) | (1u << SNAP_VCPU_LAPIC) |
                                       (1u << SNAP_VCPU_EVENTS) | (1u << SNAP_VCPU_MP_STATE) |
                                       (1u << SNAP_VCPU_TSC_KHZ);

        for (uint32_t i = 0; i < s->cpus; i++) {
                const struct snapshot_vcpu *v = &s->vcpus[i];
                uint32_t missing = vcpu_required & ~v->seen;
                if (missing)
                        return err_set(-EINVAL, "vcpu %" PRIu32 ": the %s record is missing", i,
                                       kind_names[__builtin_ctz(missing)]);
                if (!v->xsave == !v->has_fpu)
                        return err_set(-EINVAL, "vcpu %" PRIu32 ": needs one xsave or fpu record", i);
        }
        if (s->irqchip_seen != 7)
                return err_set(-EINVAL, "irqchip: a record is missing");
        if (!(s->seen & (1u << SNAP_PIT2)) || !(s->seen & (1u << SNAP_CLOCK)))
                return err_set(-EINVAL, "the %s record is missing",
                               s->seen & (1u << SNAP_PIT2) ? "clock" : "pit");
        if (!s->serial.data || !s->i8042.data || !s->acpi_pm.data || !s->pci_host.data)
                return err_set(-EINVAL,
                               "a legacy device record (serial, i8042, acpi pm, pci host) is missing");
        for (uint32_t i = 0; i < s->n_devices; i++)
                if (!s->devices[i].data)
                        return err_set(-EINVAL, "device %" PRIu32 ": the record is missing", i);
        return 0;
}

static int parse(const uint8_t *data, size_t len, struct snapshot *s)
{
        uint32_t version, kind, index, rlen;
        int r;

        if (len < HEADER_SIZE || memcmp(data, SNAPSHOT_MAGIC, 8) != 0)
                return err_set(-EINVAL, "not a hull-vmm snapshot (no HULLSNAP header)");
        memcpy(&version, data + 8, 4);
        if (version != SNAPSHOT_VERSION)
                return err_set(-EINVAL,
                               "snapshot format version %" PRIu32 ", this hull-vmm reads version %d",
                               version, SNAPSHOT_VERSION);
        size_t off = HEADER_SIZE;
        bool first = true;
        while (off < len) {
                if (len - off < RECORD_HEAD)
                        return err_set(-EINVAL, "truncated record header at offset %zu", off);
                memcpy(&kind, data + off, 4);
                memcpy(&index, data + off + 4, 4);
                memcpy(&rlen, data + off + 8, 4);
                off += RECORD_HEAD;
                if (rlen > len - off)
                        return err_set(-EINVAL,
                                       "record at offset %zu: %" PRIu32 " bytes, the file ends first",
                                       off - RECORD_HEAD, rlen);
                if (first) {
                        if (kind != SNAP_MACHINE)
                                return err_set(-EINVAL, "the machine record must come first");
                        r = parse_machine(s, data + off, rlen);
                        first = false;
                } else
                        r = parse_record(s, kind, index, data + off, rlen);
                if (r < 0)
                        return r;
                off += rlen;
        }
        if (first)
                return err_set(-EINVAL, "the machine record is missing");
        return check_complete(s);
}

int snapshot_parse(const uint8_t *data, size_t len, struct snapshot *ret)
{
        struct snapshot s = {};
        int r = parse(data, len, &s);
        if (r < 0) {
                snapshot_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int snapshot_load(const char *dir, struct snapshot *ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&path, "%s/state", dir) < 0)
                return -ENOMEM;
        r = read_full_file(path, SNAPSHOT_MAX_FILE, &data, &n);
        if (r < 0)
                return err_set(r, "cannot read '%s': %s", path, strerror(-r));
        return snapshot_parse((const uint8_t *)data, n, ret);
}

/* ---- the directory ------------------------------------------------------------------ */

static void remove_tmp(const char *tmp)
{
        _cleanup_close_ int dfd = open(tmp, O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                (void)unlinkat(dfd, "state", 0);
                (void)unlinkat(dfd, "memory", 0);
        }
        (void)rmdir(tmp);
}

static int write_files(int dfd, const struct snap_buf *state, const struct guest_memory *mem)
{
        _cleanup_close_ int mfd = openat(dfd, "memory", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (mfd < 0)
                return err_set(negative_errno(), "cannot create the memory file: %m");
        int r = guest_memory_save(mem, mfd);
        if (r < 0)
                return err_set(r, "cannot write the memory file: %s", strerror(-r));
        _cleanup_close_ int sfd = openat(dfd, "state", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (sfd < 0)
                return err_set(negative_errno(), "cannot create the state file: %m");
        r = write_all(sfd, state->data, state->len);
        if (r < 0)
                return err_set(r, "cannot write the state file: %s", strerror(-r));
        /* A template is used long after it is made: have it on disk before its name appears. */
        if (fsync(mfd) < 0 || fsync(sfd) < 0 || fsync(dfd) < 0)
                return err_set(negative_errno(), "cannot sync the snapshot: %m");
        return 0;
}

int snapshot_write_dir(const char *dir, const struct snap_buf *state, const struct guest_memory *mem)
{
        _cleanup_free_ char *tmp = NULL;
        int r;

        if (state->error)
                return state->error;
        if (asprintf(&tmp, "%s.tmp-%d", dir, (int)getpid()) < 0)
                return -ENOMEM;
        if (mkdir(tmp, 0700) < 0)
                return err_set(negative_errno(), "cannot create '%s': %m", tmp);
        _cleanup_close_ int dfd = open(tmp, O_DIRECTORY | O_CLOEXEC);
        r = dfd < 0 ? err_set(negative_errno(), "cannot open '%s': %m", tmp) : write_files(dfd, state, mem);
        if (r >= 0 && rename(tmp, dir) < 0) {
                r = negative_errno();
                /* rename(2) onto a directory that has entries: another maker was first. */
                if (r == -EEXIST || r == -ENOTEMPTY)
                        r = 1;
                else
                        r = err_set(r, "cannot rename '%s' to '%s': %s", tmp, dir, strerror(-r));
        }
        if (r != 0)
                remove_tmp(tmp);
        return r;
}
