/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvh.c - the PVH boot information (xen/include/public/arch-x86/hvm/start_info.h,
 * version 1): hvm_start_info, one module for the initrd, and the memory map in e820
 * terms. Linux's pvh_start_xen reads it with paging off, so everything lives in low RAM
 * at LAYOUT_PVH_INFO.
 */
#include "boot.h"
#include "layout.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
        uint32_t magic;
        uint32_t version;
        uint32_t flags;
        uint32_t nr_modules;
        uint64_t modlist_paddr;
        uint64_t cmdline_paddr;
        uint64_t rsdp_paddr;
        uint64_t memmap_paddr;
        uint32_t memmap_entries;
        uint32_t reserved;
};

struct hvm_modlist_entry {
        uint64_t paddr;
        uint64_t size;
        uint64_t cmdline_paddr;
        uint64_t reserved;
};

struct hvm_memmap_table_entry {
        uint64_t addr;
        uint64_t size;
        uint32_t type;
        uint32_t reserved;
};

#define PVH_MODLIST (LAYOUT_PVH_INFO + 0x40)
#define PVH_MEMMAP  (LAYOUT_PVH_INFO + 0x80)
#define PVH_MAX_MAP 16

int pvh_write_start_info(const struct guest_memory *m, uint64_t cmdline, uint64_t initrd,
                         uint64_t initrd_size, uint64_t rsdp)
{
        struct boot_e820_entry e820[PVH_MAX_MAP];
        struct hvm_memmap_table_entry map[PVH_MAX_MAP];
        int n, r;

        n = boot_e820(m, e820, PVH_MAX_MAP);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++)
                map[i] = (struct hvm_memmap_table_entry){e820[i].addr, e820[i].size, e820[i].type, 0};
        struct hvm_start_info si = {
                .magic = HVM_START_MAGIC,
                .version = 1,
                .cmdline_paddr = cmdline,
                .rsdp_paddr = rsdp,
                .memmap_paddr = PVH_MEMMAP,
                .memmap_entries = (uint32_t)n,
        };
        if (initrd_size > 0) {
                struct hvm_modlist_entry mod = {.paddr = initrd, .size = initrd_size};
                r = guest_memory_write(m, PVH_MODLIST, &mod, sizeof(mod));
                if (r < 0)
                        return r;
                si.nr_modules = 1;
                si.modlist_paddr = PVH_MODLIST;
        }
        r = guest_memory_write(m, PVH_MEMMAP, map, (size_t)n * sizeof(map[0]));
        if (r < 0)
                return r;
        return guest_memory_write(m, LAYOUT_PVH_INFO, &si, sizeof(si));
}
