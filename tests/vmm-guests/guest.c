/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest.c - a freestanding test guest for hull-vmm's device model, small enough to run
 * on hosts whose KVM cannot run a Linux kernel (PVM). The kernel command line picks
 * what it does; it reports on COM1 with lines "HULL-PVM <check> ok|fail ..." and ends
 * the way the check wants:
 *   serial     echo one line read from COM1, then ACPI poweroff (exit 0)
 *   pci        enumerate bus 0 through 0xcf8/0xcfc, size BAR 0 of the first virtio device
 *   virtqueue  drive virtio-rng: reset, features, queue setup, one request, used ring
 *   msi        the same request with MSI-X vector 0x40 delivered to the local APIC
 *   broken     give virtio-rng a descriptor outside RAM: the device must ask for a reset
 *   reboot     i8042 reset (exit 1)          triple    fault with no IDT (exit 2)
 *   button     wait for the ACPI power button, then power off (SIGTERM test, exit 0)
 *   spin       print a counter forever (pause/resume, grace-time tests)
 *   vsock      compute a value, connect to host vsock port 5000 (where hull-vmm may take a
 *              snapshot), send "before=V", read a number N, send "after=V+N" (snapshot tests)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1    0x3f8
#define PM1_EVT 0x600
#define PM1_CNT 0x604

void guest_main(uint64_t boot_params);
void guest_irq(uint64_t vector);
extern char irq_stub_0x40[];

static inline void outb(uint16_t p, uint8_t v)
{
        __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p));
}
static inline void outw(uint16_t p, uint16_t v)
{
        __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p));
}
static inline void outl(uint16_t p, uint32_t v)
{
        __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p));
}
static inline uint8_t inb(uint16_t p)
{
        uint8_t v;
        __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
        return v;
}
static inline uint16_t inw(uint16_t p)
{
        uint16_t v;
        __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p));
        return v;
}
static inline uint32_t inl(uint16_t p)
{
        uint32_t v;
        __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
        return v;
}
#define MMIO8(a)  (*(volatile uint8_t *)(uintptr_t)(a))
#define MMIO16(a) (*(volatile uint16_t *)(uintptr_t)(a))
#define MMIO32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define MMIO64(a) (*(volatile uint64_t *)(uintptr_t)(a))

static void putc_(char c)
{
        while (!(inb(COM1 + 5) & 0x20))
                ;
        outb(COM1, (uint8_t)c);
}

static void puts_(const char *s)
{
        while (*s)
                putc_(*s++);
}

static void puthex(uint64_t v)
{
        puts_("0x");
        for (int i = 60; i >= 0; i -= 4)
                putc_("0123456789abcdef"[(v >> i) & 0xf]);
}

static void report(const char *check, bool ok)
{
        puts_("HULL-PVM ");
        puts_(check);
        puts_(ok ? " ok\n" : " fail\n");
}

static void poweroff(void)
{
        outw(PM1_CNT, (5 << 10) | (1 << 13));
        for (;;)
                __asm__ volatile("hlt");
}

static bool streq_(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

/* ---- PCI ------------------------------------------------------------------------ */

static uint32_t pci_read(unsigned slot, unsigned off)
{
        outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
        return inl(0xcfc);
}

static void pci_write(unsigned slot, unsigned off, uint32_t v)
{
        outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
        outl(0xcfc, v);
}

static int find_virtio(uint16_t device)
{
        for (unsigned s = 0; s < 32; s++)
                if (pci_read(s, 0) == (0x1af4u | (uint32_t)device << 16))
                        return (int)s;
        return -1;
}

static bool check_pci(void)
{
        bool ok = (pci_read(0, 8) >> 16) == 0x0600; /* host bridge class */
        int s = find_virtio(0x1044);
        if (s < 0)
                return false;
        uint32_t bar = pci_read((unsigned)s, 0x10);
        pci_write((unsigned)s, 4, 0);
        pci_write((unsigned)s, 0x10, 0xffffffff);
        uint32_t mask = pci_read((unsigned)s, 0x10);
        pci_write((unsigned)s, 0x10, bar);
        pci_write((unsigned)s, 4, 6);
        puts_("bar0 ");
        puthex(bar);
        puts_(" mask ");
        puthex(mask);
        putc_('\n');
        ok = ok && (mask & ~0xfu) == 0xffff8000u && (bar & 0x4) && pci_read(31, 0) == 0xffffffffu;
        return ok;
}

/* ---- virtio-rng through virtio-pci ------------------------------------------------- */

struct desc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
};

static struct desc ring_desc[8] __attribute__((aligned(16)));
static uint16_t ring_avail[3 + 8] __attribute__((aligned(2)));
static uint32_t ring_used[1 + 2 * 8 + 1] __attribute__((aligned(4)));
static uint8_t buffer[64];
static volatile int irq_count;

static uint64_t common_cfg(int slot)
{
        /* Walk the capabilities to the common configuration (virtio cfg_type 1). */
        unsigned cap = pci_read((unsigned)slot, 0x34) & 0xff;
        uint64_t bar = pci_read((unsigned)slot, 0x10) & ~0xfull;
        while (cap) {
                uint32_t h = pci_read((unsigned)slot, cap);
                if ((h & 0xff) == 0x09 && ((h >> 24) & 0xff) == 1)
                        return bar + pci_read((unsigned)slot, cap + 8);
                cap = (h >> 8) & 0xff;
        }
        return 0;
}

static int rng_setup(int slot, uint16_t vector)
{
        uint64_t c = common_cfg(slot);
        if (!c)
                return -1;
        MMIO8(c + 0x14) = 0;
        MMIO8(c + 0x14) = 1 | 2;
        MMIO32(c + 0x08) = 1;
        MMIO32(c + 0x0c) = 1; /* VIRTIO_F_VERSION_1 */
        MMIO8(c + 0x14) = 1 | 2 | 8;
        if (!(MMIO8(c + 0x14) & 8))
                return -2;
        MMIO16(c + 0x16) = 0;
        MMIO16(c + 0x18) = 8;
        MMIO16(c + 0x1a) = vector;
        MMIO64(c + 0x20) = (uintptr_t)ring_desc;
        MMIO64(c + 0x28) = (uintptr_t)ring_avail;
        MMIO64(c + 0x30) = (uintptr_t)ring_used;
        MMIO16(c + 0x1c) = 1;
        MMIO8(c + 0x14) = 1 | 2 | 4 | 8;
        return 0;
}

static void rng_request(int slot, uint64_t addr)
{
        uint64_t bar = pci_read((unsigned)slot, 0x10) & ~0xfull;
        ring_desc[0] = (struct desc){addr, sizeof(buffer), 2, 0};
        ring_avail[2] = 0;
        __atomic_store_n(&ring_avail[1], (uint16_t)(ring_avail[1] + 1), __ATOMIC_RELEASE);
        MMIO16(bar + 0x3000) = 0; /* notify queue 0 */
}

static uint16_t used_idx(void)
{
        return __atomic_load_n((volatile uint16_t *)ring_used + 1, __ATOMIC_ACQUIRE);
}

static bool wait_used(uint16_t idx)
{
        for (unsigned long i = 0; i < 100000000UL; i++)
                if (used_idx() == idx)
                        return true;
        return false;
}

static bool check_virtqueue(void)
{
        int s = find_virtio(0x1044);
        if (s < 0 || rng_setup(s, 0xffff) < 0)
                return false;
        rng_request(s, (uintptr_t)buffer);
        bool ok = wait_used(1) && ring_used[1] == 0 && ring_used[2] == sizeof(buffer);
        int nonzero = 0;
        for (unsigned i = 0; i < sizeof(buffer); i++)
                nonzero += buffer[i] != 0;
        return ok && nonzero > 0;
}

static bool check_broken(void)
{
        int s = find_virtio(0x1044);
        if (s < 0 || rng_setup(s, 0xffff) < 0)
                return false;
        rng_request(s, 0xfff00000000ULL); /* far outside guest RAM */
        uint64_t c = common_cfg(s);
        for (unsigned long i = 0; i < 100000000UL; i++)
                if (MMIO8(c + 0x14) & 0x40)
                        return used_idx() == 0; /* DEVICE_NEEDS_RESET, nothing used */
        return false;
}

/* ---- interrupts --------------------------------------------------------------------- */

struct idt_entry {
        uint16_t off0, sel;
        uint8_t ist, type;
        uint16_t off1;
        uint32_t off2, zero;
};

static struct idt_entry idt[256] __attribute__((aligned(16)));

void guest_irq(uint64_t vector)
{
        if (vector == 0x40)
                irq_count++;
        MMIO32(0xfee000b0) = 0; /* LAPIC EOI */
}

static void setup_idt(void)
{
        uint64_t h = (uintptr_t)irq_stub_0x40;
        idt[0x40] =
                (struct idt_entry){(uint16_t)h, 0x10, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0};
        struct __attribute__((packed)) {
                uint16_t limit;
                uint64_t base;
        } d = {sizeof(idt) - 1, (uintptr_t)idt};
        __asm__ volatile("lidt %0" ::"m"(d));
        MMIO32(0xfee000f0) = 0x1ff; /* LAPIC software enable, spurious vector 0xff */
}

static bool check_msi(void)
{
        int s = find_virtio(0x1044);
        if (s < 0)
                return false;
        setup_idt();
        /* MSI-X: the table sits at BAR 0 + 0x4000; vector 1 is queue 0's. */
        uint64_t bar = pci_read((unsigned)s, 0x10) & ~0xfull;
        unsigned cap = pci_read((unsigned)s, 0x34) & 0xff;
        while (cap && (pci_read((unsigned)s, cap) & 0xff) != 0x11)
                cap = (pci_read((unsigned)s, cap) >> 8) & 0xff;
        if (!cap)
                return false;
        pci_write((unsigned)s, cap, pci_read((unsigned)s, cap) | (0x8000u << 16));
        MMIO32(bar + 0x4000 + 16) = 0xfee00000; /* to APIC id 0 */
        MMIO32(bar + 0x4000 + 20) = 0;
        MMIO32(bar + 0x4000 + 24) = 0x40; /* fixed, vector 0x40 */
        MMIO32(bar + 0x4000 + 28) = 0;    /* unmask */
        if (rng_setup(s, 1) < 0)
                return false;
        __asm__ volatile("sti");
        rng_request(s, (uintptr_t)buffer);
        for (unsigned long i = 0; i < 100000000UL && !irq_count; i++)
                __asm__ volatile("pause");
        __asm__ volatile("cli");
        return irq_count == 1 && used_idx() == 1;
}

/* ---- virtio-vsock: one connection to the host, polled ------------------------------- */

struct vsock_hdr {
        uint64_t src_cid, dst_cid;
        uint32_t src_port, dst_port, len;
        uint16_t type, op;
        uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define VQ          4
#define VSOCK_PORT  5000
#define OP_REQUEST  1
#define OP_RESPONSE 2
#define OP_RW       5

static struct desc rx_desc[VQ] __attribute__((aligned(16))), tx_desc[VQ] __attribute__((aligned(16)));
static uint16_t rx_avail[3 + VQ] __attribute__((aligned(2))), tx_avail[3 + VQ] __attribute__((aligned(2)));
static uint32_t rx_used[1 + 2 * VQ + 1] __attribute__((aligned(4))),
        tx_used[1 + 2 * VQ + 1] __attribute__((aligned(4)));
static uint8_t rx_buf[VQ][128], tx_buf[128];
static uint16_t rx_seen;
static uint32_t rx_bytes;
static uint64_t vsock_bar;

static void queue_setup(uint64_t c, uint16_t q, void *desc, void *avail, void *used)
{
        MMIO16(c + 0x16) = q;
        MMIO16(c + 0x18) = VQ;
        MMIO16(c + 0x1a) = 0xffff;
        MMIO64(c + 0x20) = (uintptr_t)desc;
        MMIO64(c + 0x28) = (uintptr_t)avail;
        MMIO64(c + 0x30) = (uintptr_t)used;
        MMIO16(c + 0x1c) = 1;
}

static void rx_post(uint16_t i)
{
        rx_desc[i] = (struct desc){(uintptr_t)rx_buf[i], sizeof(rx_buf[i]), 2, 0};
        rx_avail[2 + rx_avail[1] % VQ] = i;
        __atomic_store_n(&rx_avail[1], (uint16_t)(rx_avail[1] + 1), __ATOMIC_RELEASE);
        MMIO16(vsock_bar + 0x3000) = 0;
}

static bool vsock_setup(void)
{
        int s = find_virtio(0x1040 + 19);
        uint64_t c = s < 0 ? 0 : common_cfg(s);
        if (!c)
                return false;
        vsock_bar = pci_read((unsigned)s, 0x10) & ~0xfull;
        MMIO8(c + 0x14) = 0;
        MMIO8(c + 0x14) = 1 | 2;
        MMIO32(c + 0x08) = 1;
        MMIO32(c + 0x0c) = 1; /* VIRTIO_F_VERSION_1 */
        MMIO8(c + 0x14) = 1 | 2 | 8;
        queue_setup(c, 0, rx_desc, rx_avail, rx_used);
        queue_setup(c, 1, tx_desc, tx_avail, tx_used);
        MMIO8(c + 0x14) = 1 | 2 | 4 | 8;
        for (uint16_t i = 0; i < VQ; i++)
                rx_post(i);
        return true;
}

static void vsock_send(uint16_t op, const char *data, uint32_t len)
{
        struct vsock_hdr h = {3, 2, 1025, VSOCK_PORT, len, 1, op, 0, 4096, rx_bytes};
        uint16_t idx = tx_avail[1];
        __builtin_memcpy(tx_buf, &h, sizeof(h));
        for (uint32_t i = 0; i < len; i++)
                tx_buf[sizeof(h) + i] = (uint8_t)data[i];
        tx_desc[0] = (struct desc){(uintptr_t)tx_buf, (uint32_t)sizeof(h) + len, 0, 0};
        tx_avail[2 + idx % VQ] = 0;
        __atomic_store_n(&tx_avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
        MMIO16(vsock_bar + 0x3004) = 1;
        while (__atomic_load_n((volatile uint16_t *)tx_used + 1, __ATOMIC_ACQUIRE) != (uint16_t)(idx + 1))
                __asm__ volatile("pause");
}

/* The next packet with op from the host (others, such as credit updates, are skipped). */
static struct vsock_hdr *vsock_wait(uint16_t op, char *payload, uint32_t size)
{
        static struct vsock_hdr h;
        for (;;) {
                while (__atomic_load_n((volatile uint16_t *)rx_used + 1, __ATOMIC_ACQUIRE) == rx_seen)
                        __asm__ volatile("pause");
                uint16_t id = (uint16_t)rx_used[1 + 2 * (rx_seen % VQ)];
                rx_seen++;
                __builtin_memcpy(&h, rx_buf[id % VQ], sizeof(h));
                for (uint32_t i = 0; i < h.len && i < size; i++)
                        payload[i] = (char)rx_buf[id % VQ][sizeof(h) + i];
                rx_bytes += h.op == OP_RW ? h.len : 0;
                rx_post(id % VQ);
                if (h.op == op)
                        return &h;
        }
}

static uint32_t format_hex(char *out, const char *prefix, uint64_t v)
{
        uint32_t n = 0;
        while (*prefix)
                out[n++] = *prefix++;
        for (int i = 60; i >= 0; i -= 4)
                out[n++] = "0123456789abcdef"[(v >> i) & 0xf];
        out[n++] = '\n';
        return n;
}

static bool check_vsock(void)
{
        char line[64] = {0};
        uint64_t value = 0, n = 0;

        /* State the guest has before the snapshot: in RAM and in registers. */
        for (uint64_t i = 1; i <= 1000; i++)
                value += i * i;
        if (!vsock_setup())
                return false;
        vsock_send(OP_REQUEST, "", 0);
        vsock_wait(OP_RESPONSE, line, 0);
        vsock_send(OP_RW, line, format_hex(line, "before=", value));
        struct vsock_hdr *h = vsock_wait(OP_RW, line, sizeof(line) - 1);
        for (uint32_t i = 0; i < h->len && line[i] >= '0' && line[i] <= '9'; i++)
                n = n * 10 + (uint64_t)(line[i] - '0');
        vsock_send(OP_RW, line, format_hex(line, "after=", value + n));
        return true;
}

/* ---- entry --------------------------------------------------------------------------- */

void guest_main(uint64_t boot_params)
{
        const char *cmdline =
                (const char *)(uintptr_t) * (volatile uint32_t *)(uintptr_t)(boot_params + 0x228);

        puts_("HULL-PVM start ");
        puts_(cmdline);
        putc_('\n');
        if (streq_(cmdline, "serial")) {
                char line[64];
                unsigned n = 0;
                while (n < sizeof(line) - 1) {
                        while (!(inb(COM1 + 5) & 1))
                                ;
                        char c = (char)inb(COM1);
                        if (c == '\n')
                                break;
                        line[n++] = c;
                }
                line[n] = 0;
                puts_("echo: ");
                puts_(line);
                putc_('\n');
                report("serial", true);
        } else if (streq_(cmdline, "pci"))
                report("pci", check_pci());
        else if (streq_(cmdline, "virtqueue"))
                report("virtqueue", check_virtqueue());
        else if (streq_(cmdline, "msi"))
                report("msi", check_msi());
        else if (streq_(cmdline, "vsock"))
                report("vsock", check_vsock());
        else if (streq_(cmdline, "broken"))
                report("broken", check_broken());
        else if (streq_(cmdline, "reboot"))
                outb(0x64, 0xfe);
        else if (streq_(cmdline, "triple")) {
                struct __attribute__((packed)) {
                        uint16_t limit;
                        uint64_t base;
                } d = {0, 0};
                __asm__ volatile("lidt %0; ud2" ::"m"(d));
        } else if (streq_(cmdline, "button")) {
                outw(PM1_EVT + 2, 1 << 8); /* PWRBTN_EN */
                puts_("HULL-PVM waiting for the power button\n");
                while (!(inw(PM1_EVT) & (1 << 8)))
                        __asm__ volatile("pause");
                outw(PM1_EVT, 1 << 8);
                report("button", true);
        } else if (streq_(cmdline, "spin")) {
                for (uint64_t i = 0;; i++) {
                        if (i % 50000000 == 0) {
                                puts_("tick\n");
                        }
                        __asm__ volatile("pause");
                }
        } else
                puts_("HULL-PVM unknown mode\n");
        poweroff();
}
