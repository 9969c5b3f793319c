/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot.h - loading a Linux kernel into guest memory without firmware.
 *
 * Three kernel forms are accepted:
 *   - bzImage: the protected-mode part goes to 1 MiB and the vCPU enters it at +0x200
 *     in 64-bit mode (Documentation/arch/x86/boot.rst, "64-bit boot protocol",
 *     protocol >= 2.12 with XLF_KERNEL_64);
 *   - ELF vmlinux with a XEN_ELFNOTE_PHYS32_ENTRY note: PVH entry in 32-bit protected mode
 *     with %ebx pointing at an hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h);
 *   - ELF vmlinux without that note: 64-bit entry at e_entry with a zero page.
 * boot_load() also places the initrd, the command line, the e820 map, the GDT and the
 * identity page tables; the vCPU code then only sets registers from struct boot_entry.
 */
#pragma once

#include <asm/bootparam.h>
#include <stdint.h>

#include "memory.h"

#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2

enum boot_mode {
        BOOT_MODE_LINUX64, /* 64-bit mode, paging on, %rsi = boot_params */
        BOOT_MODE_PVH,     /* 32-bit protected mode, paging off, %ebx = hvm_start_info */
        _BOOT_MODE_MAX,
        _BOOT_MODE_INVALID = -EINVAL,
};

struct boot_config {
        const char *kernel;
        const char *initrd;  /* may be NULL */
        const char *cmdline; /* may be NULL */
        uint64_t rsdp;       /* guest address of the ACPI RSDP, 0 when there is none */
};

struct boot_entry {
        enum boot_mode mode;
        uint64_t entry; /* guest-physical entry point */
        uint64_t info;  /* guest address of boot_params or hvm_start_info */
};

/* What the format loaders tell boot_load(). */
struct boot_kernel {
        enum boot_mode mode;
        uint64_t entry;
        uint64_t end;            /* first byte above the kernel (its init_size included) */
        struct setup_header hdr; /* bzImage: the file's setup header; ELF: zero */
        bool has_hdr;
};

/* Load the kernel, initrd and command line and build the boot information. */
int boot_load(const struct guest_memory *m, const struct boot_config *c, struct boot_entry *ret);

/* The e820 map of m: fills out (at most max entries) and returns the count. */
int boot_e820(const struct guest_memory *m, struct boot_e820_entry *out, unsigned max);

/* Format loaders. head holds the first bytes of the file (at least 4096 or the whole file). */
int bzimage_probe(const uint8_t *head, size_t len);
int bzimage_load(const struct guest_memory *m, int fd, uint64_t file_size, const uint8_t *head, size_t len,
                 struct boot_kernel *ret);
int elf_probe(const uint8_t *head, size_t len);
int elf_load(const struct guest_memory *m, int fd, uint64_t file_size, struct boot_kernel *ret);

/* Write an hvm_start_info (and its memory map) at LAYOUT_PVH_INFO. */
int pvh_write_start_info(const struct guest_memory *m, uint64_t cmdline, uint64_t initrd,
                         uint64_t initrd_size, uint64_t rsdp);
