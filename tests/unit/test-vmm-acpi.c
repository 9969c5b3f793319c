/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-acpi.c - ACPI tables: signatures, lengths and checksums of every table,
 * the MADT's one local APIC per vCPU, the DSDT's objects, and AML encodings.
 */
#include "acpi.h"
#include "aml.h"
#include "test.h"

#define BASE 0xe0000

static uint8_t buf[64 * 1024];

static const uint8_t *table_at(uint64_t addr)
{
        ASSERT_TRUE(addr >= BASE && addr < BASE + sizeof(buf));
        return buf + (addr - BASE);
}

static uint32_t u32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static uint64_t u64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}

static const uint8_t *checked_table(uint64_t addr, const char *sig)
{
        const uint8_t *t = table_at(addr);
        ASSERT_EQ(memcmp(t, sig, 4), 0);
        ASSERT_EQ(acpi_checksum(t, u32(t + 4)), 0);
        return t;
}

static bool contains(const uint8_t *p, size_t len, const char *needle, size_t n)
{
        for (size_t i = 0; i + n <= len; i++)
                if (memcmp(p + i, needle, n) == 0)
                        return true;
        return false;
}

TEST(tables_are_consistent)
{
        int n = acpi_build_tables(buf, sizeof(buf), BASE, 2);
        ASSERT_TRUE(n > 0);
        ASSERT_EQ(memcmp(buf, "RSD PTR ", 8), 0);
        ASSERT_EQ(acpi_checksum(buf, 20), 0);
        ASSERT_EQ(acpi_checksum(buf, 36), 0);
        const uint8_t *xsdt = checked_table(u64(buf + 24), "XSDT");
        ASSERT_EQ(u32(xsdt + 4), 36 + 16);
        const uint8_t *fadt = checked_table(u64(xsdt + 36), "FACP");
        const uint8_t *madt = checked_table(u64(xsdt + 44), "APIC");
        ASSERT_EQ(u32(fadt + 4), 276);
        ASSERT_EQ(fadt[8], 6);
        const uint8_t *dsdt = checked_table(u64(fadt + 140), "DSDT");
        ASSERT_EQ(memcmp(table_at(u64(fadt + 132)), "FACS", 4), 0);
        ASSERT_EQ(u64(fadt + 132) % 64, 0);
        /* SCI on 9, PM1a blocks where acpi-pm.c serves them. */
        ASSERT_EQ(fadt[46] | fadt[47] << 8, 9);
        ASSERT_EQ(u32(fadt + 56), 0x600);
        ASSERT_EQ(u32(fadt + 64), 0x604);

        /* MADT: two local APICs with ids 0 and 1, then an IOAPIC. */
        const uint8_t *e = madt + 44, *end = madt + u32(madt + 4);
        unsigned lapics = 0, ioapics = 0;
        while (e < end) {
                ASSERT_TRUE(e[1] >= 2 && e + e[1] <= end);
                if (e[0] == 0) {
                        ASSERT_EQ(e[3], lapics);
                        ASSERT_EQ(u32(e + 4) & 1, 1);
                        lapics++;
                } else if (e[0] == 1)
                        ioapics++;
                e += e[1];
        }
        ASSERT_EQ(lapics, 2);
        ASSERT_EQ(ioapics, 1);

        size_t dlen = u32(dsdt + 4);
        ASSERT_TRUE(contains(dsdt, dlen, "PCI0", 4));
        ASSERT_TRUE(contains(dsdt, dlen, "_S5_", 4));
        ASSERT_TRUE(contains(dsdt, dlen, "_CRS", 4));
}

TEST(cpu_count_is_checked)
{
        ASSERT_ERR(acpi_build_tables(buf, sizeof(buf), BASE, 0), -EINVAL);
        ASSERT_ERR(acpi_build_tables(buf, sizeof(buf), BASE, ACPI_MAX_CPUS + 1), -EINVAL);
        ASSERT_ERR(acpi_build_tables(buf, 64, BASE, 1), -ENOSPC);
        ASSERT_TRUE(acpi_build_tables(buf, sizeof(buf), BASE, ACPI_MAX_CPUS) > 0);
}

TEST(aml_encodings)
{
        struct aml a = {};

        ASSERT_EQ(aml_eisaid_value("PNP0A03"), 0x030ad041);
        aml_integer(&a, 0);
        aml_integer(&a, 1);
        aml_integer(&a, 0x12);
        aml_integer(&a, 0x1234);
        aml_integer(&a, 0x12345678);
        static const uint8_t want[] = {0x00, 0x01, 0x0a, 0x12, 0x0b, 0x34,
                                       0x12, 0x0c, 0x78, 0x56, 0x34, 0x12};
        ASSERT_EQ(a.len, sizeof(want));
        ASSERT_EQ(memcmp(a.data, want, sizeof(want)), 0);
        aml_free(&a);

        /* A one-byte PkgLength up to 63 bytes, two bytes beyond. */
        size_t m = aml_pkg_begin(&a);
        for (int i = 0; i < 10; i++)
                aml_byte(&a, 0xaa);
        aml_pkg_end(&a, m);
        ASSERT_EQ(a.data[0], 11);
        aml_free(&a);
        m = aml_pkg_begin(&a);
        for (int i = 0; i < 100; i++)
                aml_byte(&a, 0xaa);
        aml_pkg_end(&a, m);
        ASSERT_EQ(a.len, 102);
        ASSERT_EQ(a.data[0], 0x40 | (102 & 0xf));
        ASSERT_EQ(a.data[1], 102 >> 4);
        aml_free(&a);

        aml_name_string(&a, "\\_SB_.PCI0");
        static const uint8_t path[] = {'\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'};
        ASSERT_EQ(a.len, sizeof(path));
        ASSERT_EQ(memcmp(a.data, path, sizeof(path)), 0);
        aml_free(&a);
}
