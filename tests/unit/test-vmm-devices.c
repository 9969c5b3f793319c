/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-devices.c - device models without KVM: the 16550 UART's registers and
 * interrupt line, PCI configuration space (BAR sizing, read-only fields), the i8042
 * reset line, the ACPI PM blocks (S5, power button SCI), and a virtio-rng request
 * through the virtio-pci transport (common config, queue setup, MSI-X delivery to the
 * vector's eventfd) and a broken queue setting DEVICE_NEEDS_RESET.
 */
#include <fcntl.h>
#include <sys/eventfd.h>

#include "acpi-pm.h"
#include "i8042.h"
#include "layout.h"
#include "pci.h"
#include "serial.h"
#include "virtio-pci.h"
#include "virtio-rng.h"
#include "vm.h"
#include "test.h"

static uint8_t in8(struct bus *b, uint64_t port)
{
        uint8_t v;
        bus_access(b, port, &v, 1, false);
        return v;
}

static void out8(struct bus *b, uint64_t port, uint8_t v)
{
        bus_access(b, port, &v, 1, true);
}

static int irq_level;
static void set_irq(void *opaque, int level)
{
        irq_level = level;
}

TEST(serial_registers)
{
        struct bus pio = {};
        struct serial *s;
        int p[2];

        ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
        ASSERT_OK(serial_new(&pio, 0x3f8, NULL, -EBADF, p[1], set_irq, NULL, &s));
        /* Transmit goes out; LSR says THR empty. */
        out8(&pio, 0x3f8, 'h');
        out8(&pio, 0x3f8, 'i');
        char buf[8] = {};
        ASSERT_EQ(read(p[0], buf, sizeof(buf)), 2);
        ASSERT_STREQ(buf, "hi");
        ASSERT_EQ(in8(&pio, 0x3fd) & 0x60, 0x60);
        /* THRI: enabling it raises the line, reading IIR acknowledges it. */
        irq_level = 0;
        out8(&pio, 0x3f9, 0x02);
        ASSERT_EQ(irq_level, 1);
        ASSERT_EQ(in8(&pio, 0x3fa) & 0x0f, 0x02);
        ASSERT_EQ(irq_level, 0);
        ASSERT_EQ(in8(&pio, 0x3fa) & 0x0f, 0x01);
        /* Received bytes: DR in LSR, RDI when enabled, read in order. */
        out8(&pio, 0x3f9, 0x01);
        ASSERT_EQ(serial_receive(s, (const uint8_t *)"ab", 2), 2);
        ASSERT_EQ(irq_level, 1);
        ASSERT_EQ(in8(&pio, 0x3fd) & 1, 1);
        ASSERT_EQ(in8(&pio, 0x3f8), 'a');
        ASSERT_EQ(in8(&pio, 0x3f8), 'b');
        ASSERT_EQ(in8(&pio, 0x3fd) & 1, 0);
        ASSERT_EQ(irq_level, 0);
        /* Loopback as Linux's autoconfig probes it: MCR = LOOP|OUT2|RTS gives MSR DCD|CTS. */
        out8(&pio, 0x3fc, 0x1a);
        ASSERT_EQ(in8(&pio, 0x3fe) & 0xf0, 0x90);
        out8(&pio, 0x3f8, 'z');
        ASSERT_EQ(in8(&pio, 0x3f8), 'z');
        ASSERT_EQ(read(p[0], buf, sizeof(buf)), -1); /* nothing went out */
        /* DLAB hides THR/IER behind the divisor latch. */
        out8(&pio, 0x3fb, 0x80);
        out8(&pio, 0x3f8, 0x01);
        ASSERT_EQ(in8(&pio, 0x3f8), 0x01);
        out8(&pio, 0x3fb, 0x03);
        /* FIFO enabled shows in IIR's top bits (16550A). */
        out8(&pio, 0x3fa, 0x01);
        ASSERT_EQ(in8(&pio, 0x3fa) & 0xc0, 0xc0);
        serial_free(s);
        bus_done(&pio);
        close(p[0]);
        close(p[1]);
}

static int resets;
static void on_reset(void *opaque)
{
        resets++;
}

TEST(i8042_reset)
{
        struct bus pio = {};
        struct i8042 *k;

        ASSERT_OK(i8042_new(&pio, on_reset, NULL, &k));
        ASSERT_EQ(in8(&pio, 0x64) & 0x02, 0); /* input buffer empty */
        out8(&pio, 0x64, 0x60);
        out8(&pio, 0x60, 0x47);
        out8(&pio, 0x64, 0x20);
        ASSERT_EQ(in8(&pio, 0x60), 0x47);
        resets = 0;
        out8(&pio, 0x64, 0xfe);
        ASSERT_EQ(resets, 1);
        i8042_free(k);
        bus_done(&pio);
}

static int poweroffs, sci;
static void pm_sci(void *o, int level)
{
        sci = level;
}
static void pm_off(void *o)
{
        poweroffs++;
}

TEST(acpi_pm)
{
        static const struct acpi_pm_ops ops = {.set_sci = pm_sci, .poweroff = pm_off, .reset = on_reset};
        struct bus pio = {};
        struct acpi_pm *pm;
        uint16_t v;

        ASSERT_OK(acpi_pm_new(&pio, &ops, NULL, &pm));
        bus_access(&pio, LAYOUT_PORT_PM_CNT, &v, 2, false);
        ASSERT_EQ(v & 1, 1); /* SCI_EN: always in ACPI mode */
        /* Power button: no SCI until enabled, then until the status is cleared. */
        sci = 0;
        acpi_pm_power_button(pm);
        ASSERT_EQ(sci, 0);
        v = 1 << 8;
        bus_access(&pio, LAYOUT_PORT_PM_EVT + 2, &v, 2, true);
        ASSERT_EQ(sci, 1);
        bus_access(&pio, LAYOUT_PORT_PM_EVT, &v, 2, true);
        ASSERT_EQ(sci, 0);
        /* S1 does nothing, S5 powers off. */
        poweroffs = 0;
        v = (1 << 10) | (1 << 13);
        bus_access(&pio, LAYOUT_PORT_PM_CNT, &v, 2, true);
        ASSERT_EQ(poweroffs, 0);
        v = (5 << 10) | (1 << 13);
        bus_access(&pio, LAYOUT_PORT_PM_CNT, &v, 2, true);
        ASSERT_EQ(poweroffs, 1);
        resets = 0;
        acpi_pm_reset_write(pm, 0x06);
        ASSERT_EQ(resets, 1);
        acpi_pm_free(pm);
        bus_done(&pio);
}

static uint32_t cfg_read(struct bus *pio, unsigned slot, unsigned off, unsigned len)
{
        uint32_t addr = 0x80000000u | (slot << 11) | (off & 0xfc), v = 0;
        bus_access(pio, 0xcf8, &addr, 4, true);
        bus_access(pio, 0xcfc + (off & 3), &v, len, false);
        return v;
}

static void cfg_write(struct bus *pio, unsigned slot, unsigned off, unsigned len, uint32_t v)
{
        uint32_t addr = 0x80000000u | (slot << 11) | (off & 0xfc);
        bus_access(pio, 0xcf8, &addr, 4, true);
        bus_access(pio, 0xcfc + (off & 3), &v, len, true);
}

/* A machine with memory, buses and a PCI bus but no KVM and no event loop. */
static struct vm *fake_vm(void)
{
        struct vm *vm = calloc(1, sizeof(*vm));
        ASSERT_TRUE(vm != NULL);
        vm->kvm.vm_fd = vm->kvm.sys_fd = -EBADF;
        ASSERT_OK(guest_memory_init_flat(&vm->mem, 1 << 20));
        ASSERT_OK(pci_bus_new(&vm->pio, &vm->mmio, NULL, NULL, &vm->pci));
        return vm;
}

static void fake_vm_free(struct vm *vm)
{
        pci_bus_free(vm->pci);
        bus_done(&vm->pio);
        bus_done(&vm->mmio);
        guest_memory_done(&vm->mem);
        free(vm);
}

TEST(pci_config_space)
{
        struct vm *vm = fake_vm();
        struct virtio_dev *vd;

        /* Host bridge at 00:00.0; empty slots read all-ones. */
        ASSERT_EQ(cfg_read(&vm->pio, 0, 0x0a, 2), 0x0600);
        ASSERT_EQ(cfg_read(&vm->pio, 5, 0, 4), 0xffffffffu);
        uint32_t a = 0x80000000u;
        bus_access(&vm->pio, 0xcf8, &a, 4, true);
        a = 0;
        bus_access(&vm->pio, 0xcf8, &a, 4, false);
        ASSERT_EQ(a, 0x80000000u);

        ASSERT_OK(virtio_rng_new(vm, &vd));
        ASSERT_OK(virtio_dev_attach(vd, vm->pci));
        ASSERT_EQ(cfg_read(&vm->pio, 1, 0, 4), 0x10441af4u);
        /* BAR sizing: all-ones in, size mask out, address back. */
        uint32_t bar = cfg_read(&vm->pio, 1, 0x10, 4);
        ASSERT_EQ(bar & ~0xfu, (uint32_t)LAYOUT_MMIO32_START);
        ASSERT_EQ(bar & 0x6, 0x4);          /* 64-bit */
        cfg_write(&vm->pio, 1, 0x04, 2, 0); /* decode off, as Linux does while sizing */
        cfg_write(&vm->pio, 1, 0x10, 4, 0xffffffffu);
        ASSERT_EQ(cfg_read(&vm->pio, 1, 0x10, 4), (uint32_t) ~(VIRTIO_BAR_SIZE - 1) | 0x4);
        ASSERT_EQ(vd->pci.bar_mapped[0], 0);
        cfg_write(&vm->pio, 1, 0x10, 4, bar);
        cfg_write(&vm->pio, 1, 0x04, 2, 0x6);
        ASSERT_EQ(vd->pci.bar_mapped[0], LAYOUT_MMIO32_START);
        /* Vendor id and capability pointer are read-only. */
        cfg_write(&vm->pio, 1, 0, 4, 0);
        cfg_write(&vm->pio, 1, 0x34, 1, 0);
        ASSERT_EQ(cfg_read(&vm->pio, 1, 0, 2), 0x1af4);
        ASSERT_TRUE(cfg_read(&vm->pio, 1, 0x34, 1) >= 0x40);
        /* The capability list reaches the MSI-X capability. */
        unsigned cap = cfg_read(&vm->pio, 1, 0x34, 1), seen = 0;
        while (cap && seen++ < 16) {
                if (cfg_read(&vm->pio, 1, cap, 1) == 0x11)
                        break;
                cap = cfg_read(&vm->pio, 1, cap + 1, 1);
        }
        ASSERT_EQ(cfg_read(&vm->pio, 1, cap, 1), 0x11);
        ASSERT_EQ(cfg_read(&vm->pio, 1, cap + 2, 2) & 0x7ff, 1); /* two vectors */
        virtio_dev_free(vd);
        fake_vm_free(vm);
}

static uint32_t mmio_read(struct vm *vm, uint64_t off, unsigned len)
{
        uint64_t v = 0;
        bus_access(&vm->mmio, LAYOUT_MMIO32_START + off, &v, len, false);
        return (uint32_t)v;
}

static void mmio_write(struct vm *vm, uint64_t off, unsigned len, uint64_t v)
{
        bus_access(&vm->mmio, LAYOUT_MMIO32_START + off, &v, len, true);
}

static void rng_queue_setup(struct vm *vm, struct virtio_dev *vd)
{
        mmio_write(vm, 0x14, 1, 0); /* reset */
        mmio_write(vm, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        mmio_write(vm, 0x08, 4, 1);
        mmio_write(vm, 0x0c, 4, 1); /* VERSION_1 */
        mmio_write(vm, 0x14, 1,
                   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
        ASSERT_TRUE(mmio_read(vm, 0x14, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
        mmio_write(vm, 0x16, 2, 0);
        mmio_write(vm, 0x18, 2, 8);
        mmio_write(vm, 0x1a, 2, 1); /* queue 0 -> MSI-X vector 1 */
        mmio_write(vm, 0x20, 4, 0x1000);
        mmio_write(vm, 0x28, 4, 0x2000);
        mmio_write(vm, 0x30, 4, 0x3000);
        mmio_write(vm, 0x1c, 2, 1);
        ASSERT_EQ(mmio_read(vm, 0x1a, 2), 1);
}

TEST(virtio_rng_round_trip)
{
        struct vm *vm = fake_vm();
        struct virtio_dev *vd;
        uint64_t v;

        ASSERT_OK(virtio_rng_new(vm, &vd));
        ASSERT_OK(virtio_dev_attach(vd, vm->pci));
        /* Only VERSION_1 is required; features beyond the offer are refused. */
        mmio_write(vm, 0x00, 4, 1);
        ASSERT_EQ(mmio_read(vm, 0x04, 4) & 1, 1);
        ASSERT_EQ(mmio_read(vm, 0x12, 2), 1); /* num_queues */
        mmio_write(vm, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        mmio_write(vm, 0x08, 4, 0);
        mmio_write(vm, 0x0c, 4, 1u << 5); /* a bit not offered */
        mmio_write(vm, 0x14, 1,
                   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
        ASSERT_FALSE(mmio_read(vm, 0x14, 1) & VIRTIO_CONFIG_S_FEATURES_OK);

        rng_queue_setup(vm, vd);
        /* MSI-X: enable the function, program and unmask vector 1. */
        uint16_t ctrl = 0x8000;
        pci_bus_config_write(vm->pci, vd->pci.slot, vd->msix_cap + 2, 2, ctrl);
        mmio_write(vm, VIRTIO_BAR_MSIX + 16, 4, 0xfee00000);
        mmio_write(vm, VIRTIO_BAR_MSIX + 24, 4, 0x41);
        mmio_write(vm, VIRTIO_BAR_MSIX + 28, 4, 0);
        mmio_write(vm, 0x14, 1, 0xf & ~VIRTIO_CONFIG_S_FAILED);

        /* One 64-byte writable buffer. */
        struct virtq_desc d = {0x8000, 64, 2, 0};
        uint16_t head = 0, idx = 1;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x1000, &d, sizeof(d)));
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2004, &head, 2));
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2002, &idx, 2));
        virtio_dev_lock(vd);
        vd->ops->queue_notify(vd, 0);
        virtio_dev_unlock(vd);
        uint16_t used_idx;
        uint32_t len;
        ASSERT_OK(guest_memory_read(&vm->mem, 0x3002, &used_idx, 2));
        ASSERT_OK(guest_memory_read(&vm->mem, 0x3008, &len, 4));
        ASSERT_EQ(used_idx, 1);
        ASSERT_EQ(len, 64);
        ASSERT_EQ(read(vd->irq_fd[1], &v, sizeof(v)), 8); /* the vector fired */
        ASSERT_EQ(mmio_read(vm, VIRTIO_BAR_ISR, 1), 1);
        ASSERT_EQ(mmio_read(vm, VIRTIO_BAR_ISR, 1), 0); /* read clears */

        /* A masked vector only sets its pending bit, and fires when unmasked. */
        mmio_write(vm, VIRTIO_BAR_MSIX + 28, 4, 1);
        head = 0;
        idx = 2;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2006, &head, 2));
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2002, &idx, 2));
        virtio_dev_lock(vd);
        vd->ops->queue_notify(vd, 0);
        virtio_dev_unlock(vd);
        ASSERT_EQ(read(vd->irq_fd[1], &v, sizeof(v)), -1);
        ASSERT_EQ(mmio_read(vm, VIRTIO_BAR_PBA, 4), 2);
        mmio_write(vm, VIRTIO_BAR_MSIX + 28, 4, 0);
        ASSERT_EQ(read(vd->irq_fd[1], &v, sizeof(v)), 8);
        ASSERT_EQ(mmio_read(vm, VIRTIO_BAR_PBA, 4), 0);
        virtio_dev_free(vd);
        fake_vm_free(vm);
}

TEST(broken_queue_needs_reset)
{
        struct vm *vm = fake_vm();
        struct virtio_dev *vd;

        ASSERT_OK(virtio_rng_new(vm, &vd));
        ASSERT_OK(virtio_dev_attach(vd, vm->pci));
        rng_queue_setup(vm, vd);
        mmio_write(vm, 0x14, 1, 0xf & ~VIRTIO_CONFIG_S_FAILED);
        /* A descriptor pointing outside guest memory. */
        struct virtq_desc d = {0xfffff000, 64, 2, 0};
        uint16_t head = 0, idx = 1;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x1000, &d, sizeof(d)));
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2004, &head, 2));
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2002, &idx, 2));
        virtio_dev_lock(vd);
        vd->ops->queue_notify(vd, 0);
        virtio_dev_unlock(vd);
        ASSERT_TRUE(mmio_read(vm, 0x14, 1) & 0x40);
        ASSERT_FALSE(virtio_dev_running(vd));
        /* A reset by the driver makes it usable again. */
        mmio_write(vm, 0x14, 1, 0);
        ASSERT_EQ(mmio_read(vm, 0x14, 1), 0);
        ASSERT_FALSE(vd->broken);
        /* Ring addresses outside memory at queue_enable: needs reset too. */
        mmio_write(vm, 0x14, 1, 3);
        mmio_write(vm, 0x16, 2, 0);
        mmio_write(vm, 0x20, 4, 0xffff0000);
        mmio_write(vm, 0x1c, 2, 1);
        ASSERT_TRUE(mmio_read(vm, 0x14, 1) & 0x40);
        virtio_dev_free(vd);
        fake_vm_free(vm);
}
