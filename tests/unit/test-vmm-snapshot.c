/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-snapshot.c - hull-vmm's snapshot state file without KVM: a complete file parses
 * back to what was written; every truncation, a wrong magic or version, a record of the wrong
 * size, twice, out of range, unknown or missing is refused with one line; the legacy devices'
 * records round-trip and refuse short or invalid ones; the memory file is sparse, mapped
 * privately or copied into shared RAM; a restore onto another machine (vCPUs,
 * memory, device kinds) is refused before anything is built.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "devices/acpi-pm.h"
#include "devices/i8042.h"
#include "error.h"
#include "snapshot.h"
#include "util.h"
#include "vm.h"
#include "test.h"

#define MEM (256ULL << 20)

static void put_vcpu(struct snap_buf *b, uint32_t i)
{
        struct kvm_regs regs = {.rip = 0x1000 + i, .rax = 42};
        struct kvm_sregs sregs = {.cr0 = 0x80000011};
        struct kvm_fpu fpu = {.fcw = 0x37f};
        struct kvm_msr_entry msrs[2] = {{.index = 0x10, .data = 12345},
                                        {.index = 0x4b564d01, .data = 0x9000}};
        struct kvm_lapic_state lapic = {};
        struct kvm_vcpu_events events = {};
        struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
        uint32_t khz = 2000000;

        snap_put_record(b, SNAP_VCPU_REGS, i, &regs, sizeof(regs));
        snap_put_record(b, SNAP_VCPU_SREGS, i, &sregs, sizeof(sregs));
        snap_put_record(b, SNAP_VCPU_FPU, i, &fpu, sizeof(fpu));
        snap_put_record(b, SNAP_VCPU_MSRS, i, msrs, sizeof(msrs));
        snap_put_record(b, SNAP_VCPU_LAPIC, i, &lapic, sizeof(lapic));
        snap_put_record(b, SNAP_VCPU_EVENTS, i, &events, sizeof(events));
        snap_put_record(b, SNAP_VCPU_MP_STATE, i, &mp, sizeof(mp));
        snap_put_record(b, SNAP_VCPU_TSC_KHZ, i, &khz, sizeof(khz));
}

/* A complete state file: 2 vCPUs, 256 MiB, a disk and a vsock device. */
static void make_state(struct snap_buf *b)
{
        static const uint16_t types[] = {2, 19};
        struct kvm_pit_state2 pit = {};
        struct kvm_clock_data clock = {.clock = 777};
        uint8_t legacy[8] = {};

        *b = (struct snap_buf){};
        snapshot_put_header(b, 2, MEM, types, 2);
        for (uint32_t i = 0; i < 2; i++)
                put_vcpu(b, i);
        for (uint32_t c = 0; c < 3; c++) {
                struct kvm_irqchip chip = {.chip_id = c};
                snap_put_record(b, SNAP_IRQCHIP, c, &chip, sizeof(chip));
        }
        snap_put_record(b, SNAP_PIT2, 0, &pit, sizeof(pit));
        snap_put_record(b, SNAP_CLOCK, 0, &clock, sizeof(clock));
        snap_put_record(b, SNAP_SERIAL, 0, legacy, 8);
        snap_put_record(b, SNAP_I8042, 0, legacy, 2);
        snap_put_record(b, SNAP_ACPI_PM, 0, legacy, 6);
        snap_put_record(b, SNAP_PCI_HOST, 0, legacy, 4);
        snap_put_record(b, SNAP_DEVICE, 0, "disk", 4);
        snap_put_record(b, SNAP_DEVICE, 1, "vsock", 5);
        ASSERT_EQ(b->error, 0);
}

static int parse_fails(const void *data, size_t len, const char *needle)
{
        struct snapshot s;
        int r = snapshot_parse(data, len, &s);
        if (r >= 0) {
                snapshot_done(&s);
                return 0;
        }
        const char *m = err_msg(r);
        if (strchr(m, '\n') || (needle && !strstr(m, needle))) {
                fprintf(stderr, "unexpected message: %s\n", m);
                return 0;
        }
        return 1;
}

TEST(round_trip)
{
        struct snap_buf b;
        struct snapshot s;

        make_state(&b);
        ASSERT_OK(snapshot_parse(b.data, b.len, &s));
        ASSERT_EQ(s.cpus, 2u);
        ASSERT_EQ(s.memory, MEM);
        ASSERT_EQ(s.n_devices, 2u);
        ASSERT_EQ(s.device_types[1], 19);
        ASSERT_EQ(s.vcpus[1].regs.rip, 0x1001ull);
        ASSERT_EQ(s.vcpus[0].regs.rax, 42ull);
        ASSERT_TRUE(s.vcpus[0].has_fpu);
        ASSERT_TRUE(s.vcpus[0].xsave == NULL);
        ASSERT_EQ(s.vcpus[1].n_msrs, 2u);
        ASSERT_EQ(s.vcpus[1].msrs[0].data, 12345ull);
        ASSERT_EQ(s.vcpus[0].tsc_khz, 2000000u);
        ASSERT_EQ(s.irqchip[2].chip_id, 2u);
        ASSERT_EQ(s.clock.clock, 777ull);
        ASSERT_EQ(s.devices[1].len, 5u);
        ASSERT_TRUE(memcmp(s.devices[1].data, "vsock", 5) == 0);
        snapshot_done(&s);
        snap_buf_done(&b);
}

TEST(every_truncation_refused)
{
        struct snap_buf b;

        make_state(&b);
        for (size_t n = 0; n < b.len; n++)
                ASSERT_TRUE(parse_fails(b.data, n, NULL));
        snap_buf_done(&b);
}

TEST(header_refused)
{
        struct snap_buf b;

        make_state(&b);
        b.data[0] = 'X';
        ASSERT_TRUE(parse_fails(b.data, b.len, "not a hull-vmm snapshot"));
        b.data[0] = 'H';
        b.data[8] = 2;
        ASSERT_TRUE(parse_fails(b.data, b.len, "format version 2, this hull-vmm reads version 1"));
        snap_buf_done(&b);
}

/* The offset of the nth record (0: the machine). */
static size_t record_at(const struct snap_buf *b, unsigned nth)
{
        size_t off = 16;
        for (unsigned i = 0; i < nth; i++) {
                uint32_t len;
                memcpy(&len, b->data + off + 8, 4);
                off += 12 + len;
        }
        return off;
}

TEST(records_refused)
{
        struct snap_buf b, c;
        uint32_t v;

        make_state(&b);
        /* The second record (vcpu 0 regs): a wrong size. */
        size_t r1 = record_at(&b, 1);
        c = (struct snap_buf){};
        snap_put(&c, b.data, r1);
        struct kvm_regs regs = {};
        snap_put_record(&c, SNAP_VCPU_REGS, 0, &regs, sizeof(regs) - 8);
        snap_put(&c, b.data + record_at(&b, 2), b.len - record_at(&b, 2));
        ASSERT_TRUE(parse_fails(c.data, c.len, "vcpu registers 0: record of"));
        snap_buf_done(&c);

        /* A record twice, an unknown kind, a vCPU or device out of range. */
        c = (struct snap_buf){};
        snap_put(&c, b.data, b.len);
        snap_put(&c, b.data + r1, record_at(&b, 2) - r1);
        ASSERT_TRUE(parse_fails(c.data, c.len, "there twice"));
        snap_buf_done(&c);
        struct {
                uint32_t kind, index;
                const char *needle;
        } bad[] = {
                {99, 0, "unknown record kind 99"},
                {SNAP_VCPU_TSC_KHZ, 2, "the machine has 2 vCPUs"},
                {SNAP_DEVICE, 2, "the machine has 2 devices"},
                {SNAP_IRQCHIP, 3, "there are 3"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                c = (struct snap_buf){};
                snap_put(&c, b.data, b.len);
                v = 0;
                snap_put_record(&c, bad[i].kind, bad[i].index, &v, 4);
                ASSERT_TRUE(parse_fails(c.data, c.len, bad[i].needle));
                snap_buf_done(&c);
        }

        /* A record's length past the end of the file. */
        c = (struct snap_buf){};
        snap_put(&c, b.data, b.len);
        v = 1000;
        memcpy(c.data + record_at(&b, 1) + 8, &v, 4);
        ASSERT_TRUE(parse_fails(c.data, c.len, NULL));
        snap_buf_done(&c);

        /* The machine record not first, or claiming too much. */
        ASSERT_TRUE(parse_fails(b.data + 0, 16, "machine record is missing"));
        c = (struct snap_buf){};
        snap_put(&c, b.data, 16);
        snap_put(&c, b.data + r1, b.len - r1);
        ASSERT_TRUE(parse_fails(c.data, c.len, "must come first"));
        snap_buf_done(&c);
        c = (struct snap_buf){};
        snapshot_put_header(&c, 0, MEM, NULL, 0);
        ASSERT_TRUE(parse_fails(c.data, c.len, "0 vCPUs is out of range"));
        snap_buf_done(&c);
        c = (struct snap_buf){};
        snapshot_put_header(&c, 1, MEM + 4096, NULL, 0);
        ASSERT_TRUE(parse_fails(c.data, c.len, "memory size"));
        snap_buf_done(&c);
        snap_buf_done(&b);
}

TEST(missing_record_refused)
{
        struct snap_buf b, c;

        make_state(&b);
        /* Drop each record after the machine in turn: every one is required. */
        for (unsigned nth = 1;; nth++) {
                size_t at = record_at(&b, nth);
                if (at >= b.len)
                        break;
                size_t next = record_at(&b, nth + 1);
                c = (struct snap_buf){};
                snap_put(&c, b.data, at);
                snap_put(&c, b.data + next, b.len - next);
                ASSERT_TRUE(parse_fails(c.data, c.len, NULL));
                snap_buf_done(&c);
        }
        snap_buf_done(&b);
}

TEST(legacy_devices)
{
        struct snap_buf b = {};
        struct snapshot s;
        struct i8042 k = {.command_byte = 0x47, .pending_cmd = 0x60}, k2 = {};

        i8042_save(&k, &b);
        ASSERT_EQ(b.len, 12u + 2u);
        struct snapshot_blob blob = {.data = b.data + 12, .len = 2};
        ASSERT_OK(i8042_restore(&k2, &blob));
        ASSERT_EQ(k2.command_byte, 0x47);
        ASSERT_EQ(k2.pending_cmd, 0x60);
        blob.len = 1;
        ASSERT_ERR(i8042_restore(&k2, &blob), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "i8042: the record is truncated");
        snap_buf_done(&b);

        /* The reader refuses a bool that is neither 0 nor 1, and bytes left over. */
        uint8_t raw[3] = {2, 0, 0};
        struct snapshot_blob rb = {.data = raw, .len = 3};
        struct snap_reader r = snap_reader_init(&rb);
        (void)snap_get_bool(&r);
        ASSERT_ERR(snap_reader_finish(&r, "x"), -EINVAL);
        r = snap_reader_init(&rb);
        (void)snap_get_u8(&r);
        ASSERT_ERR(snap_reader_finish(&r, "x"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "2 unexpected bytes");
        (void)s;
}

static char dir[] = "/tmp/test-vmm-snapshot.XXXXXX";

static void write_state(const struct snap_buf *b)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/state", dir);
        ASSERT_OK(write_file_atomic(path, b->data, b->len, 0600));
}

TEST(machine_mismatch_refused)
{
        struct snap_buf b;
        struct vm *vm = NULL;
        struct vm_config c = {.cpus = 2, .memory = MEM, .restore_dir = dir, .rng = false};
        struct vm_disk_config disk = {.path = (char *)"/nonexistent", .format = -EINVAL};

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        make_state(&b);
        write_state(&b);

        c.cpus = 1;
        ASSERT_ERR(vm_create(&c, &vm), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--cpus is 1, the snapshot has 2");
        ASSERT_CONTAINS(err_msg(-EINVAL), "snapshot '/tmp/test-vmm-snapshot.");
        c.cpus = 2;
        c.memory = 512ULL << 20;
        ASSERT_ERR(vm_create(&c, &vm), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--memory is 512M, the snapshot has 256M");
        c.memory = MEM;
        /* No disk, a vsock: the first device differs. */
        c.has_vsock = true;
        ASSERT_ERR(vm_create(&c, &vm), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "device 0 is a virtio-vsock, the snapshot's is a virtio-blk");
        c.disks = &disk;
        c.n_disks = 1;
        c.rng = true;
        ASSERT_ERR(vm_create(&c, &vm), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "3 devices on the command line, the snapshot has 2");
        ASSERT_TRUE(vm == NULL);

        /* A state file of another version, a missing one. */
        b.data[8] = 9;
        write_state(&b);
        c.rng = false;
        ASSERT_ERR(vm_create(&c, &vm), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "format version 9");
        snap_buf_done(&b);
        char path[256];
        snprintf(path, sizeof(path), "%s/state", dir);
        ASSERT_OK(unlink(path) < 0 ? -errno : 0);
        ASSERT_ERR(vm_create(&c, &vm), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "cannot read");
        ASSERT_OK(rmdir(dir) < 0 ? -errno : 0);
}

TEST(memory_sparse_round_trip)
{
        struct guest_memory m, r;
        char path[] = "/tmp/test-vmm-snapshot-mem.XXXXXX";
        struct stat st;

        ASSERT_OK(guest_memory_init(&m, 16ULL << 20));
        ASSERT_OK(guest_memory_write(&m, 0x1000, "first", 5));
        ASSERT_OK(guest_memory_write(&m, (15ULL << 20) + 8, "last", 4));
        /* Touched but zero: resident, not saved. */
        ASSERT_OK(guest_memory_write(&m, 8ULL << 20, "\0\0\0\0", 4));
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(guest_memory_save(&m, fd));
        ASSERT_OK(fstat(fd, &st) < 0 ? -errno : 0);
        ASSERT_EQ((uint64_t)st.st_size, 16ULL << 20);
        /* Only what was touched was written (a huge page at most each, with THP). */
        ASSERT_TRUE((uint64_t)st.st_blocks * 512 <= 4ULL << 20);
        /* Nor were zero pages, even those in a huge page with data (THP). */
        ASSERT_EQ(lseek(fd, 0, SEEK_DATA), (off_t)0x1000);
        ASSERT_EQ(lseek(fd, 0x2000, SEEK_DATA), (off_t)(15ULL << 20));
        ASSERT_OK(guest_memory_init_file(&r, 16ULL << 20, fd));
        char buf[8] = {};
        ASSERT_OK(guest_memory_read(&r, 0x1000, buf, 5));
        ASSERT_STREQ(buf, "first");
        ASSERT_OK(guest_memory_read(&r, (15ULL << 20) + 8, buf, 4));
        ASSERT_TRUE(memcmp(buf, "last", 4) == 0);
        ASSERT_OK(guest_memory_read(&r, 8ULL << 20, buf, 8));
        ASSERT_TRUE(memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
        /* Writes are the mapping's own: the file keeps the snapshot. */
        ASSERT_OK(guest_memory_write(&r, 0x1000, "FIRST", 5));
        ASSERT_EQ(pread(fd, buf, 5, 0x1000), 5);
        ASSERT_TRUE(memcmp(buf, "first", 5) == 0);
        guest_memory_done(&r);
        /* Shared RAM (--fs) gets a copy of the data extents. */
        ASSERT_OK(guest_memory_init_shared(&r, 16ULL << 20));
        ASSERT_OK(guest_memory_load(&r, fd));
        ASSERT_OK(guest_memory_read(&r, (15ULL << 20) + 8, buf, 4));
        ASSERT_TRUE(memcmp(buf, "last", 4) == 0);
        ASSERT_OK(guest_memory_read(&r, 0x1000, buf, 5));
        ASSERT_TRUE(memcmp(buf, "first", 5) == 0);
        guest_memory_done(&r);
        /* A file of another size is refused. */
        ASSERT_ERR(guest_memory_init_file(&r, 32ULL << 20, fd), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "memory file of 16777216 bytes, the machine has 33554432");
        guest_memory_done(&m);
        close(fd);
        unlink(path);
}

TEST(write_dir_another_maker_wins)
{
        char base[] = "/tmp/test-vmm-snapshot-dir.XXXXXX", d[128], tmp[160];
        struct guest_memory m;
        struct snap_buf b;
        struct stat st;

        ASSERT_TRUE(mkdtemp(base) != NULL);
        snprintf(d, sizeof(d), "%s/tmpl", base);
        snprintf(tmp, sizeof(tmp), "%s.tmp-%d", d, (int)getpid());
        ASSERT_OK(guest_memory_init(&m, 16ULL << 20));
        make_state(&b);
        ASSERT_EQ(snapshot_write_dir(d, &b, &m), 0);
        ASSERT_OK(stat(tmp, &st) == 0 ? -EEXIST : 0);
        struct snapshot s;
        ASSERT_OK(snapshot_load(d, &s));
        ASSERT_EQ(s.cpus, 2u);
        snapshot_done(&s);
        /* A second maker finds the directory there: it keeps it and removes its own copy. */
        ASSERT_EQ(snapshot_write_dir(d, &b, &m), 1);
        ASSERT_OK(stat(tmp, &st) == 0 ? -EEXIST : 0);
        /* A directory that cannot be made is an error with a message, and nothing left. */
        char bad[160];
        snprintf(bad, sizeof(bad), "%s/no/such", base);
        ASSERT_ERR(snapshot_write_dir(bad, &b, &m), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "cannot create");
        snap_buf_done(&b);
        guest_memory_done(&m);
        ASSERT_OK(rm_rf(base));
}
