/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layout.h - the guest physical address map of a hull-vmm machine.
 *
 *   0x0000_0000  real-mode IVT/BDA (left zero)
 *   0x0000_0500  GDT used to enter 32-bit (PVH) or 64-bit mode
 *   0x0000_6000  PVH start_info and its memory map
 *   0x0000_7000  Linux boot_params ("zero page")
 *   0x0000_9000  identity page tables for the 64-bit entry (PML4, PDPT, 4 PDs: 4 GiB in 2 MiB pages)
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  EBDA .. 0x10_0000: reserved in the e820 map; ACPI tables at 0xe_0000, where
 *                the ACPI spec (5.2.5.1) lets an OS scan for the RSDP
 *   0x0010_0000  kernel (bzImage protected-mode part; an ELF kernel goes to its own p_paddr)
 *   ...          RAM up to min(memory, 3 GiB); the initrd sits at its top
 *   0xc000_0000  32-bit PCI MMIO window (BARs), up to the IOAPIC
 *   0xfec0_0000  IOAPIC, 0xfee0_0000 local APICs (in-kernel)
 *   0x1_0000_0000 RAM above 3 GiB continues here
 * I/O ports: 0x3f8 COM1, 0x60/0x64 i8042, 0x600.. ACPI PM blocks, 0xcf8/0xcfc PCI conf1,
 * 0xcf9 reset control, 0x40 PIT (in-kernel).
 */
#pragma once

#define LAYOUT_GDT          0x500ULL
#define LAYOUT_PVH_INFO     0x6000ULL
#define LAYOUT_BOOT_PARAMS  0x7000ULL
#define LAYOUT_PML4         0x9000ULL
#define LAYOUT_PDPT         0xa000ULL
#define LAYOUT_PD           0xb000ULL /* 4 pages */
#define LAYOUT_CMDLINE      0x20000ULL
#define LAYOUT_CMDLINE_MAX  0x10000ULL
#define LAYOUT_EBDA         0x9fc00ULL
#define LAYOUT_ACPI         0xe0000ULL
#define LAYOUT_ACPI_END     0x100000ULL
#define LAYOUT_HIMEM        0x100000ULL
#define LAYOUT_LOWMEM_MAX   0xc0000000ULL
#define LAYOUT_MMIO32_START 0xc0000000ULL
#define LAYOUT_MMIO32_END   0xfec00000ULL
#define LAYOUT_IOAPIC       0xfec00000ULL
#define LAYOUT_LAPIC        0xfee00000ULL
#define LAYOUT_HIGHMEM      0x100000000ULL

#define LAYOUT_PORT_COM1     0x3f8
#define LAYOUT_IRQ_COM1      4
#define LAYOUT_PORT_I8042    0x60
#define LAYOUT_PORT_PM_EVT   0x600 /* PM1a_EVT_BLK, 4 bytes */
#define LAYOUT_PORT_PM_CNT   0x604 /* PM1a_CNT_BLK, 2 bytes */
#define LAYOUT_PORT_PM_TMR   0x608 /* PM_TMR_BLK, 4 bytes */
#define LAYOUT_PORT_RESET    0xcf9
#define LAYOUT_IRQ_SCI       9
#define LAYOUT_PORT_PCI_ADDR 0xcf8
#define LAYOUT_PORT_PCI_DATA 0xcfc
