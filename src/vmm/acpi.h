/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi.h - the ACPI tables hull-vmm gives its guest (ACPI 6.4): RSDP, XSDT, FADT, FACS,
 * MADT and a DSDT that describes the PCI root bridge and the S5 (soft-off) state.
 *
 * Debian's cloud kernel has no MP-table parser, so the MADT is what lets it bring up
 * more than one vCPU; the FADT's fixed-hardware PM1 blocks give it poweroff (SLP_EN
 * with S5), the power button (PWRBTN_STS, on SCI) and the reset register (0xcf9).
 */
#pragma once

#include <stdint.h>

#include "memory.h"

#define ACPI_MAX_CPUS 254

/*
 * Build the tables into buf, which the guest sees at guest address base; returns the
 * number of bytes used or -ENOSPC. The RSDP is at base (16-byte aligned).
 */
int acpi_build_tables(uint8_t *buf, size_t size, uint64_t base, unsigned n_cpus);
/* Build at LAYOUT_ACPI in guest memory; *ret_rsdp is its guest address. */
int acpi_build(const struct guest_memory *m, unsigned n_cpus, uint64_t *ret_rsdp);
/* 8-bit checksum: the value that makes the bytes sum to zero. */
uint8_t acpi_checksum(const void *p, size_t len);
