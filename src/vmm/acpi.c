/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi.c - ACPI table generation (see acpi.h).
 *
 * Tables are laid out one after another from the RSDP, each 16-byte aligned (the FACS
 * 64-byte aligned, §5.2.10), in a host buffer that is then copied into the reserved
 * 0xe0000 area. The FADT is revision 6 and not hardware-reduced: Linux then uses the
 * PM1a event/control blocks and the SCI, which is how the power button reaches it.
 * IAPC_BOOT_ARCH says there is no i8042, VGA or CMOS RTC, so the guest spends no boot
 * time probing them (the reset through port 0x64 still works, Linux writes it directly).
 */
#include "acpi.h"
#include "aml.h"
#include "error.h"
#include "layout.h"

struct __attribute__((packed)) acpi_header {
        char signature[4];
        uint32_t length;
        uint8_t revision;
        uint8_t checksum;
        char oem_id[6];
        char oem_table_id[8];
        uint32_t oem_revision;
        char creator_id[4];
        uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_rsdp {
        char signature[8];
        uint8_t checksum;
        char oem_id[6];
        uint8_t revision;
        uint32_t rsdt_address;
        uint32_t length;
        uint64_t xsdt_address;
        uint8_t extended_checksum;
        uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_gas {
        uint8_t space_id; /* 0 memory, 1 system I/O */
        uint8_t bit_width;
        uint8_t bit_offset;
        uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
        uint64_t address;
};

struct __attribute__((packed)) acpi_fadt {
        struct acpi_header h;
        uint32_t firmware_ctrl;
        uint32_t dsdt;
        uint8_t reserved0;
        uint8_t preferred_pm_profile;
        uint16_t sci_int;
        uint32_t smi_cmd;
        uint8_t acpi_enable;
        uint8_t acpi_disable;
        uint8_t s4bios_req;
        uint8_t pstate_cnt;
        uint32_t pm1a_evt_blk;
        uint32_t pm1b_evt_blk;
        uint32_t pm1a_cnt_blk;
        uint32_t pm1b_cnt_blk;
        uint32_t pm2_cnt_blk;
        uint32_t pm_tmr_blk;
        uint32_t gpe0_blk;
        uint32_t gpe1_blk;
        uint8_t pm1_evt_len;
        uint8_t pm1_cnt_len;
        uint8_t pm2_cnt_len;
        uint8_t pm_tmr_len;
        uint8_t gpe0_blk_len;
        uint8_t gpe1_blk_len;
        uint8_t gpe1_base;
        uint8_t cst_cnt;
        uint16_t p_lvl2_lat;
        uint16_t p_lvl3_lat;
        uint16_t flush_size;
        uint16_t flush_stride;
        uint8_t duty_offset;
        uint8_t duty_width;
        uint8_t day_alrm;
        uint8_t mon_alrm;
        uint8_t century;
        uint16_t iapc_boot_arch;
        uint8_t reserved1;
        uint32_t flags;
        struct acpi_gas reset_reg;
        uint8_t reset_value;
        uint16_t arm_boot_arch;
        uint8_t fadt_minor_version;
        uint64_t x_firmware_ctrl;
        uint64_t x_dsdt;
        struct acpi_gas x_pm1a_evt_blk;
        struct acpi_gas x_pm1b_evt_blk;
        struct acpi_gas x_pm1a_cnt_blk;
        struct acpi_gas x_pm1b_cnt_blk;
        struct acpi_gas x_pm2_cnt_blk;
        struct acpi_gas x_pm_tmr_blk;
        struct acpi_gas x_gpe0_blk;
        struct acpi_gas x_gpe1_blk;
        struct acpi_gas sleep_control_reg;
        struct acpi_gas sleep_status_reg;
        uint64_t hypervisor_vendor_id;
};

struct __attribute__((packed)) acpi_facs {
        char signature[4];
        uint32_t length;
        uint32_t hardware_signature;
        uint32_t firmware_waking_vector;
        uint32_t global_lock;
        uint32_t flags;
        uint64_t x_firmware_waking_vector;
        uint8_t version;
        uint8_t reserved[31];
};

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header is 36 bytes");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP 2.0 is 36 bytes");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");

#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_SLP_BUTTON    (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_VGA_ABSENT (1u << 2)
#define BOOT_ARCH_RTC_ABSENT (1u << 5)

#define MADT_LOCAL_APIC     0
#define MADT_IO_APIC        1
#define MADT_INT_OVERRIDE   2
#define MADT_LOCAL_APIC_NMI 4

uint8_t acpi_checksum(const void *p, size_t len)
{
        uint8_t sum = 0;
        for (size_t i = 0; i < len; i++)
                sum += ((const uint8_t *)p)[i];
        return (uint8_t)(0 - sum);
}

struct table_writer {
        uint8_t *buf;
        size_t size;
        size_t pos;
        uint64_t base;
        bool overflow;
};

/* Reserve len bytes aligned to align; returns the offset in buf (or SIZE_MAX). */
static size_t tw_alloc(struct table_writer *w, size_t len, size_t align)
{
        size_t at = ALIGN_UP(w->pos, align);
        if (at > w->size || len > w->size - at) {
                w->overflow = true;
                return SIZE_MAX;
        }
        w->pos = at + len;
        return at;
}

static void header_init(struct acpi_header *h, const char *sig, uint32_t length, uint8_t revision)
{
        memcpy(h->signature, sig, 4);
        h->length = length;
        h->revision = revision;
        memcpy(h->oem_id, "HULL  ", 6);
        memcpy(h->oem_table_id, "HULLVMM ", 8);
        memcpy(h->oem_table_id + 4, sig, 4);
        h->oem_revision = 1;
        memcpy(h->creator_id, "HULL", 4);
        h->creator_revision = 1;
}

/* Emit a finished table of len bytes at a fresh offset; returns its guest address or 0. */
static uint64_t tw_table(struct table_writer *w, const void *table, size_t len, size_t align)
{
        size_t at = tw_alloc(w, len, align);
        if (at == SIZE_MAX)
                return 0;
        memcpy(w->buf + at, table, len);
        struct acpi_header *h = (struct acpi_header *)(w->buf + at);
        h->checksum = 0;
        h->checksum = acpi_checksum(h, len);
        return w->base + at;
}

static int build_dsdt(struct aml *a)
{
        struct acpi_header h = {};
        struct aml res = {};

        aml_bytes(a, &h, sizeof(h));

        size_t sb = aml_scope_begin(a, "\\_SB_");
        size_t pci = aml_device_begin(a, "PCI0");
        aml_name(a, "_HID");
        aml_eisaid(a, "PNP0A03");
        aml_name(a, "_SEG");
        aml_integer(a, 0);
        aml_name(a, "_UID");
        aml_integer(a, 0);
        aml_name(a, "_BBN");
        aml_integer(a, 0);
        aml_name(a, "_CRS");
        aml_res_word_bus(&res, 0, 0);
        aml_res_io(&res, LAYOUT_PORT_PCI_ADDR, LAYOUT_PORT_PCI_ADDR, 1, 8);
        aml_res_word_io(&res, 0x0000, 0x0cf7);
        aml_res_word_io(&res, 0x0d00, 0xffff);
        aml_res_dword_memory(&res, (uint32_t)LAYOUT_MMIO32_START, (uint32_t)(LAYOUT_MMIO32_END - 1));
        aml_resource_template(a, &res);
        aml_pkg_end(a, pci);

        /* COM1, so that the guest's serial driver binds it through ACPI like on a PC. */
        size_t com = aml_device_begin(a, "COM1");
        aml_name(a, "_HID");
        aml_eisaid(a, "PNP0501");
        aml_name(a, "_UID");
        aml_integer(a, 1);
        aml_name(a, "_CRS");
        aml_res_io(&res, LAYOUT_PORT_COM1, LAYOUT_PORT_COM1, 1, 8);
        aml_res_irq(&res, LAYOUT_IRQ_COM1);
        aml_resource_template(a, &res);
        aml_pkg_end(a, com);
        aml_pkg_end(a, sb);

        /* \_S5: SLP_TYPa = SLP_TYPb = 5, what the PM1 control block takes for soft-off. */
        aml_name(a, "\\_S5_");
        size_t s5 = aml_package_begin(a, 4);
        aml_integer(a, 5);
        aml_integer(a, 5);
        aml_integer(a, 0);
        aml_integer(a, 0);
        aml_pkg_end(a, s5);

        if (a->oom)
                return -ENOMEM;
        struct acpi_header *hp = (struct acpi_header *)a->data;
        header_init(hp, "DSDT", (uint32_t)a->len, 2);
        return 0;
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bytes)
{
        return (struct acpi_gas){
                .space_id = 1,
                .bit_width = (uint8_t)(bytes * 8),
                .access_size = bytes == 1   ? 1
                               : bytes == 2 ? 2
                                            : 3,
                .address = port,
        };
}

int acpi_build_tables(uint8_t *buf, size_t size, uint64_t base, unsigned n_cpus)
{
        struct table_writer w = {.buf = buf, .size = size, .base = base};
        struct aml dsdt = {};
        int r;

        if (n_cpus == 0 || n_cpus > ACPI_MAX_CPUS)
                return -EINVAL;
        memset(buf, 0, size);
        size_t rsdp_at = tw_alloc(&w, sizeof(struct acpi_rsdp), 16);
        if (rsdp_at == SIZE_MAX)
                return -ENOSPC;

        r = build_dsdt(&dsdt);
        if (r < 0) {
                aml_free(&dsdt);
                return r;
        }
        uint64_t dsdt_addr = tw_table(&w, dsdt.data, dsdt.len, 16);
        aml_free(&dsdt);

        struct acpi_facs facs = {.signature = "FACS", .length = sizeof(facs), .version = 2};
        size_t facs_at = tw_alloc(&w, sizeof(facs), 64);
        if (facs_at == SIZE_MAX)
                return -ENOSPC;
        memcpy(buf + facs_at, &facs, sizeof(facs));
        uint64_t facs_addr = base + facs_at;

        struct acpi_fadt fadt = {
                .firmware_ctrl = (uint32_t)facs_addr,
                .dsdt = (uint32_t)dsdt_addr,
                .sci_int = LAYOUT_IRQ_SCI,
                .pm1a_evt_blk = LAYOUT_PORT_PM_EVT,
                .pm1a_cnt_blk = LAYOUT_PORT_PM_CNT,
                .pm_tmr_blk = LAYOUT_PORT_PM_TMR,
                .pm1_evt_len = 4,
                .pm1_cnt_len = 2,
                .pm_tmr_len = 4,
                .p_lvl2_lat = 101,  /* > 100: no C2 */
                .p_lvl3_lat = 1001, /* > 1000: no C3 */
                .iapc_boot_arch = BOOT_ARCH_VGA_ABSENT | BOOT_ARCH_RTC_ABSENT,
                .flags = FADT_F_WBINVD | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP,
                .reset_reg = gas_io(LAYOUT_PORT_RESET, 1),
                .reset_value = 0x06,
                .fadt_minor_version = 4,
                .x_firmware_ctrl = facs_addr,
                .x_dsdt = dsdt_addr,
                .x_pm1a_evt_blk = gas_io(LAYOUT_PORT_PM_EVT, 4),
                .x_pm1a_cnt_blk = gas_io(LAYOUT_PORT_PM_CNT, 2),
                .x_pm_tmr_blk = gas_io(LAYOUT_PORT_PM_TMR, 4),
        };
        memcpy(&fadt.hypervisor_vendor_id, "HULLVMM ", 8);
        header_init(&fadt.h, "FACP", sizeof(fadt), 6);
        uint64_t fadt_addr = tw_table(&w, &fadt, sizeof(fadt), 16);

        /* MADT: one local APIC per vCPU (APIC id = index), the IOAPIC, the SCI as level/high. */
        size_t madt_len = sizeof(struct acpi_header) + 8 + n_cpus * 8 + 12 + 10 + 6;
        _cleanup_free_ uint8_t *madt = calloc(1, madt_len);
        if (!madt)
                return -ENOMEM;
        header_init((struct acpi_header *)madt, "APIC", (uint32_t)madt_len, 5);
        uint8_t *p = madt + sizeof(struct acpi_header);
        uint32_t lapic = (uint32_t)LAYOUT_LAPIC, pcat = 1, ioapic = (uint32_t)LAYOUT_IOAPIC;
        memcpy(p, &lapic, 4);
        memcpy(p + 4, &pcat, 4);
        p += 8;
        for (unsigned i = 0; i < n_cpus; i++, p += 8) {
                uint32_t enabled = 1;
                p[0] = MADT_LOCAL_APIC;
                p[1] = 8;
                p[2] = (uint8_t)i; /* ACPI processor UID */
                p[3] = (uint8_t)i; /* APIC id, as CPUID reports it */
                memcpy(p + 4, &enabled, 4);
        }
        p[0] = MADT_IO_APIC;
        p[1] = 12;
        p[2] = (uint8_t)n_cpus; /* IOAPIC id after the CPUs' */
        memcpy(p + 4, &ioapic, 4);
        p += 12;
        uint32_t gsi = LAYOUT_IRQ_SCI;
        uint16_t flags = 0x000d; /* active high, level triggered */
        p[0] = MADT_INT_OVERRIDE;
        p[1] = 10;
        p[2] = 0;
        p[3] = LAYOUT_IRQ_SCI;
        memcpy(p + 4, &gsi, 4);
        memcpy(p + 8, &flags, 2);
        p += 10;
        p[0] = MADT_LOCAL_APIC_NMI;
        p[1] = 6;
        p[2] = 0xff; /* all processors */
        p[5] = 1;    /* LINT1 */
        uint64_t madt_addr = tw_table(&w, madt, madt_len, 16);

        uint8_t xsdt[sizeof(struct acpi_header) + 2 * 8];
        memset(xsdt, 0, sizeof(xsdt));
        header_init((struct acpi_header *)xsdt, "XSDT", sizeof(xsdt), 1);
        memcpy(xsdt + sizeof(struct acpi_header), &fadt_addr, 8);
        memcpy(xsdt + sizeof(struct acpi_header) + 8, &madt_addr, 8);
        uint64_t xsdt_addr = tw_table(&w, xsdt, sizeof(xsdt), 16);
        if (w.overflow)
                return -ENOSPC;

        struct acpi_rsdp rsdp = {
                .signature = "RSD PTR ",
                .oem_id = "HULL  ",
                .revision = 2,
                .length = sizeof(rsdp),
                .xsdt_address = xsdt_addr,
        };
        rsdp.checksum = acpi_checksum(&rsdp, 20);
        rsdp.extended_checksum = acpi_checksum(&rsdp, sizeof(rsdp));
        memcpy(buf + rsdp_at, &rsdp, sizeof(rsdp));
        return (int)w.pos;
}

int acpi_build(const struct guest_memory *m, unsigned n_cpus, uint64_t *ret_rsdp)
{
        size_t size = LAYOUT_ACPI_END - LAYOUT_ACPI;
        uint8_t *dst = guest_memory_ptr(m, LAYOUT_ACPI, size);
        if (!dst)
                return -EFAULT;
        _cleanup_free_ uint8_t *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        int n = acpi_build_tables(buf, size, LAYOUT_ACPI, n_cpus);
        if (n < 0)
                return n == -EINVAL ? err_set(n, "cpus: %u is out of range (1-%d)", n_cpus, ACPI_MAX_CPUS)
                                    : n;
        memcpy(dst, buf, (size_t)n);
        *ret_rsdp = LAYOUT_ACPI;
        return 0;
}
