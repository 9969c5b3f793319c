/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot.c - kernel, initrd and command line placement, the zero page, the e820 map,
 * the boot GDT and identity page tables (see boot.h).
 *
 * The initrd goes to the top of RAM below 4 GiB (and below the kernel's
 * initrd_addr_max), page aligned, as bootloaders do, so that it stays clear of the
 * kernel's decompression area [1 MiB, 1 MiB + init_size). Files are read with pread
 * straight into guest memory: no bounce buffer, no page touched twice.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "boot.h"
#include "error.h"
#include "layout.h"

/* GDT: null, 32-bit code (0x08, PVH), 64-bit code (0x10 = __BOOT_CS), data (0x18 = __BOOT_DS), TSS (0x20).
 */
static const uint64_t boot_gdt[] = {
        0x0000000000000000ULL, 0x00cf9b000000ffffULL, 0x00af9b000000ffffULL,
        0x00cf93000000ffffULL, 0x008f8b000000ffffULL,
};

int boot_e820(const struct guest_memory *m, struct boot_e820_entry *out, unsigned max)
{
        unsigned n = 0;

        if (max < 2 + m->n_regions)
                return -ENOSPC;
        uint64_t low = guest_memory_lowmem_end(m);
        out[n++] = (struct boot_e820_entry){0, LAYOUT_EBDA, E820_TYPE_RAM};
        out[n++] = (struct boot_e820_entry){LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA, E820_TYPE_RESERVED};
        if (low > LAYOUT_HIMEM)
                out[n++] = (struct boot_e820_entry){LAYOUT_HIMEM, low - LAYOUT_HIMEM, E820_TYPE_RAM};
        for (unsigned i = 1; i < m->n_regions; i++)
                out[n++] = (struct boot_e820_entry){m->regions[i].gpa, m->regions[i].size, E820_TYPE_RAM};
        return (int)n;
}

static int write_gdt_and_page_tables(const struct guest_memory *m)
{
        uint64_t pml4 = LAYOUT_PDPT | 0x3, pdpt[4], pd[512];
        int r;

        r = guest_memory_write(m, LAYOUT_GDT, boot_gdt, sizeof(boot_gdt));
        if (r < 0)
                return r;
        r = guest_memory_write(m, LAYOUT_PML4, &pml4, sizeof(pml4));
        if (r < 0)
                return r;
        /* 4 GiB identity map in 2 MiB pages: covers the kernel, zero page, cmdline and initrd. */
        for (unsigned i = 0; i < 4; i++) {
                pdpt[i] = (LAYOUT_PD + i * 4096) | 0x3;
                for (unsigned j = 0; j < 512; j++)
                        pd[j] = (((uint64_t)i << 30) | ((uint64_t)j << 21)) | 0x83;
                r = guest_memory_write(m, LAYOUT_PD + i * 4096, pd, sizeof(pd));
                if (r < 0)
                        return r;
        }
        return guest_memory_write(m, LAYOUT_PDPT, pdpt, sizeof(pdpt));
}

static int load_initrd(const struct guest_memory *m, const char *path, uint64_t kernel_end,
                       uint64_t addr_max, uint64_t *ret_addr, uint64_t *ret_size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        int r;

        if (fd < 0) {
                r = negative_errno();
                return err_set(r, "initrd: cannot open '%s': %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
                return err_set(-EINVAL, "initrd: '%s' is not a non-empty regular file", path);
        uint64_t size = (uint64_t)st.st_size;
        uint64_t top = MIN(guest_memory_lowmem_end(m), addr_max + 1);
        if (size > top)
                return err_set(-ENOMEM, "initrd: '%s' (%" PRIu64 " MiB) does not fit in guest memory", path,
                               size >> 20);
        uint64_t addr = (top - size) & ~0xfffULL;
        if (addr < kernel_end)
                return err_set(-ENOMEM,
                               "initrd: '%s' (%" PRIu64
                               " MiB) does not fit in guest memory beside the kernel",
                               path, size >> 20);
        r = guest_memory_pread(m, fd, addr, size, 0);
        if (r < 0)
                return err_set(r, "initrd: cannot read '%s': %s", path, strerror(-r));
        *ret_addr = addr;
        *ret_size = size;
        return 0;
}

static int write_zero_page(const struct guest_memory *m, const struct boot_kernel *k,
                           const struct boot_config *c, uint64_t cmdline, uint64_t initrd,
                           uint64_t initrd_size)
{
        _cleanup_free_ struct boot_params *bp = calloc(1, sizeof(*bp));
        int n;

        if (!bp)
                return -ENOMEM;
        if (k->has_hdr)
                bp->hdr = k->hdr;
        else {
                /* vmlinux has no setup header: give the kernel the fields it reads. */
                bp->hdr.boot_flag = 0xaa55;
                bp->hdr.header = 0x53726448;
                bp->hdr.version = 0x020f;
                bp->hdr.kernel_alignment = 0x1000000;
        }
        bp->hdr.type_of_loader = 0xff;
        bp->hdr.loadflags |= CAN_USE_HEAP;
        bp->hdr.heap_end_ptr = 0xfe00;
        bp->hdr.vid_mode = 0xffff;
        bp->hdr.cmd_line_ptr = (uint32_t)cmdline;
        bp->ext_cmd_line_ptr = (uint32_t)(cmdline >> 32);
        bp->hdr.ramdisk_image = (uint32_t)initrd;
        bp->ext_ramdisk_image = (uint32_t)(initrd >> 32);
        bp->hdr.ramdisk_size = (uint32_t)initrd_size;
        bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
        bp->acpi_rsdp_addr = c->rsdp;
        n = boot_e820(m, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
        if (n < 0)
                return n;
        bp->e820_entries = (uint8_t)n;
        return guest_memory_write(m, LAYOUT_BOOT_PARAMS, bp, sizeof(*bp));
}

int boot_load(const struct guest_memory *m, const struct boot_config *c, struct boot_entry *ret)
{
        _cleanup_close_ int fd = -EBADF;
        struct boot_kernel k = {};
        uint8_t head[4096];
        uint64_t initrd = 0, initrd_size = 0, cmdline_max;
        struct stat st;
        ssize_t n;
        int r;

        fd = open(c->kernel, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                return err_set(r, "kernel: cannot open '%s': %s", c->kernel, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return err_set(-EINVAL, "kernel: '%s' is not a regular file", c->kernel);
        n = pread(fd, head, sizeof(head), 0);
        if (n < 0)
                return negative_errno();

        if (elf_probe(head, (size_t)n))
                r = elf_load(m, fd, (uint64_t)st.st_size, &k);
        else if (bzimage_probe(head, (size_t)n))
                r = bzimage_load(m, fd, (uint64_t)st.st_size, head, (size_t)n, &k);
        else
                return err_set(-EINVAL, "kernel: '%s' is neither a bzImage nor an ELF vmlinux", c->kernel);
        if (r < 0)
                return r;

        if (c->initrd) {
                uint64_t addr_max =
                        k.has_hdr && k.hdr.initrd_addr_max ? k.hdr.initrd_addr_max : 0x7fffffffULL;
                r = load_initrd(m, c->initrd, k.end, addr_max, &initrd, &initrd_size);
                if (r < 0)
                        return r;
        }

        const char *cmdline = c->cmdline ?: "";
        cmdline_max = k.has_hdr && k.hdr.cmdline_size ? k.hdr.cmdline_size : LAYOUT_CMDLINE_MAX - 1;
        cmdline_max = MIN(cmdline_max, LAYOUT_CMDLINE_MAX - 1);
        if (strlen(cmdline) > cmdline_max)
                return err_set(-E2BIG, "cmdline: %zu bytes, the kernel accepts at most %" PRIu64,
                               strlen(cmdline), cmdline_max);
        r = guest_memory_write(m, LAYOUT_CMDLINE, cmdline, strlen(cmdline) + 1);
        if (r < 0)
                return r;

        r = write_gdt_and_page_tables(m);
        if (r < 0)
                return r;
        if (k.mode == BOOT_MODE_PVH) {
                r = pvh_write_start_info(m, LAYOUT_CMDLINE, initrd, initrd_size, c->rsdp);
                if (r < 0)
                        return r;
                *ret = (struct boot_entry){BOOT_MODE_PVH, k.entry, LAYOUT_PVH_INFO};
                return 0;
        }
        r = write_zero_page(m, &k, c, LAYOUT_CMDLINE, initrd, initrd_size);
        if (r < 0)
                return r;
        *ret = (struct boot_entry){BOOT_MODE_LINUX64, k.entry, LAYOUT_BOOT_PARAMS};
        return 0;
}
