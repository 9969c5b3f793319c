/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-boot.c - kernel loading: ELF with and without the PVH note, a synthetic
 * bzImage, the zero page and e820 map, initrd placement, and refusal of files whose
 * headers point outside themselves or outside guest memory.
 */
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "boot/boot.h"
#include "error.h"
#include "layout.h"
#include "test.h"

static char dir[] = "/tmp/test-vmm-boot.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
        static char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, data, len), (ssize_t)len);
        close(fd);
        return path;
}

/* An ELF64 with one PT_LOAD of code at 0x200000 and optionally a PVH note. */
static size_t make_elf(uint8_t *buf, bool pvh, uint64_t load_addr)
{
        memset(buf, 0, 8192);
        Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
        memcpy(eh->e_ident, ELFMAG, SELFMAG);
        eh->e_ident[EI_CLASS] = ELFCLASS64;
        eh->e_ident[EI_DATA] = ELFDATA2LSB;
        eh->e_machine = EM_X86_64;
        eh->e_entry = load_addr;
        eh->e_phoff = sizeof(*eh);
        eh->e_phentsize = sizeof(Elf64_Phdr);
        eh->e_phnum = pvh ? 2 : 1;
        Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
        ph[0] = (Elf64_Phdr){
                .p_type = PT_LOAD, .p_offset = 4096, .p_paddr = load_addr, .p_filesz = 16, .p_memsz = 8192};
        memset(buf + 4096, 0xf4, 16); /* hlt */
        if (pvh) {
                uint8_t *n = buf + 1024;
                Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 4, .n_type = 18};
                uint32_t entry = (uint32_t)load_addr + 8;
                memcpy(n, &nh, sizeof(nh));
                memcpy(n + sizeof(nh), "Xen", 4);
                memcpy(n + sizeof(nh) + 4, &entry, 4);
                ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 1024, .p_filesz = sizeof(nh) + 8};
        }
        return 4096 + 16;
}

TEST(setup)
{
        ASSERT_TRUE(mkdtemp(dir) != NULL);
}

TEST(elf_64bit_entry)
{
        struct guest_memory m;
        struct boot_entry e;
        uint8_t buf[8192];
        size_t len = make_elf(buf, false, 0x200000);
        const char *k = write_file("vmlinux", buf, len);
        char kernel[256];
        strcpy(kernel, k);
        const char *initrd = write_file("initrd", "0123456789", 10);
        struct boot_config c = {
                .kernel = kernel, .initrd = initrd, .cmdline = "console=ttyS0", .rsdp = 0xe0000};

        ASSERT_OK(guest_memory_init(&m, 64ULL << 20));
        ASSERT_OK(boot_load(&m, &c, &e));
        ASSERT_EQ(e.mode, BOOT_MODE_LINUX64);
        ASSERT_EQ(e.entry, 0x200000);
        ASSERT_EQ(e.info, LAYOUT_BOOT_PARAMS);
        uint8_t code[16];
        ASSERT_OK(guest_memory_read(&m, 0x200000, code, 16));
        ASSERT_EQ(code[0], 0xf4);
        struct boot_params bp;
        ASSERT_OK(guest_memory_read(&m, LAYOUT_BOOT_PARAMS, &bp, sizeof(bp)));
        ASSERT_EQ(bp.hdr.boot_flag, 0xaa55);
        ASSERT_EQ(bp.acpi_rsdp_addr, 0xe0000);
        ASSERT_EQ(bp.hdr.ramdisk_size, 10);
        ASSERT_EQ(bp.hdr.ramdisk_image % 4096, 0);
        ASSERT_TRUE(bp.hdr.ramdisk_image + 10 <= (64u << 20));
        ASSERT_EQ(bp.e820_entries, 3);
        ASSERT_EQ(bp.e820_table[2].addr, LAYOUT_HIMEM);
        ASSERT_EQ(bp.e820_table[2].size, (64u << 20) - LAYOUT_HIMEM);
        char cmd[32];
        ASSERT_OK(guest_memory_read(&m, bp.hdr.cmd_line_ptr, cmd, 14));
        ASSERT_STREQ(cmd, "console=ttyS0");
        guest_memory_done(&m);
}

TEST(elf_pvh_note)
{
        struct guest_memory m;
        struct boot_entry e;
        uint8_t buf[8192];
        size_t len = make_elf(buf, true, 0x200000);
        char kernel[256];
        strcpy(kernel, write_file("vmlinux-pvh", buf, len));
        struct boot_config c = {.kernel = kernel, .cmdline = "x"};

        ASSERT_OK(guest_memory_init(&m, 64ULL << 20));
        ASSERT_OK(boot_load(&m, &c, &e));
        ASSERT_EQ(e.mode, BOOT_MODE_PVH);
        ASSERT_EQ(e.entry, 0x200008);
        uint32_t magic;
        ASSERT_OK(guest_memory_read(&m, e.info, &magic, 4));
        ASSERT_EQ(magic, 0x336ec578);
        guest_memory_done(&m);
}

TEST(elf_outside_memory_or_file)
{
        struct guest_memory m;
        struct boot_entry e;
        uint8_t buf[8192];
        size_t len = make_elf(buf, false, 62ULL << 20); /* 8 KiB memsz crosses the end of 62M+... */
        char kernel[256];

        ASSERT_OK(guest_memory_init(&m, 16ULL << 20));
        strcpy(kernel, write_file("far", buf, len));
        struct boot_config c = {.kernel = kernel};
        ASSERT_ERR(boot_load(&m, &c, &e), -ENOMEM);
        ASSERT_CONTAINS(err_msg(-ENOMEM), "outside guest memory");

        len = make_elf(buf, false, 0x200000);
        ((Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr)))->p_filesz = 1 << 20; /* past the end of the file */
        ((Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr)))->p_memsz = 1 << 20;
        strcpy(kernel, write_file("short", buf, len));
        ASSERT_ERR(boot_load(&m, &c, &e), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "outside the file");

        strcpy(kernel, write_file("junk", "not a kernel at all", 19));
        ASSERT_ERR(boot_load(&m, &c, &e), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "neither a bzImage nor an ELF");
        guest_memory_done(&m);
}

TEST(bzimage)
{
        static uint8_t img[16384];
        struct guest_memory m;
        struct boot_entry e;
        struct setup_header h = {};

        memset(img, 0, sizeof(img));
        h.setup_sects = 4;
        h.boot_flag = 0xaa55;
        h.header = 0x53726448;
        h.version = 0x020f;
        h.xloadflags = XLF_KERNEL_64;
        h.cmdline_size = 255;
        h.initrd_addr_max = 0x7fffffff;
        h.init_size = 1 << 20;
        memcpy(img + 0x1f1, &h, sizeof(h));
        img[5 * 512] = 0xf4;
        char kernel[256];
        strcpy(kernel, write_file("bzImage", img, sizeof(img)));
        struct boot_config c = {.kernel = kernel, .cmdline = "root=/dev/vda"};

        ASSERT_OK(guest_memory_init(&m, 32ULL << 20));
        ASSERT_OK(boot_load(&m, &c, &e));
        ASSERT_EQ(e.mode, BOOT_MODE_LINUX64);
        ASSERT_EQ(e.entry, LAYOUT_HIMEM + 0x200);
        uint8_t b;
        ASSERT_OK(guest_memory_read(&m, LAYOUT_HIMEM, &b, 1));
        ASSERT_EQ(b, 0xf4);
        struct boot_params bp;
        ASSERT_OK(guest_memory_read(&m, LAYOUT_BOOT_PARAMS, &bp, sizeof(bp)));
        ASSERT_EQ(bp.hdr.type_of_loader, 0xff);
        ASSERT_EQ(bp.hdr.setup_sects, 4);

        /* A command line longer than the kernel's cmdline_size. */
        char longline[400];
        memset(longline, 'x', sizeof(longline) - 1);
        longline[sizeof(longline) - 1] = 0;
        c.cmdline = longline;
        ASSERT_ERR(boot_load(&m, &c, &e), -E2BIG);

        /* An old protocol without the 64-bit entry. */
        h.version = 0x0206;
        memcpy(img + 0x1f1, &h, sizeof(h));
        strcpy(kernel, write_file("old", img, sizeof(img)));
        c.cmdline = NULL;
        ASSERT_ERR(boot_load(&m, &c, &e), -ENOTSUP);
        guest_memory_done(&m);
}

TEST(initrd_too_big)
{
        struct guest_memory m;
        struct boot_entry e;
        uint8_t buf[8192];
        size_t len = make_elf(buf, false, 0x200000);
        char kernel[256], initrd[256];
        strcpy(kernel, write_file("vmlinux2", buf, len));
        snprintf(initrd, sizeof(initrd), "%s/big", dir);
        int fd = open(initrd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(ftruncate(fd, 20 << 20));
        close(fd);
        struct boot_config c = {.kernel = kernel, .initrd = initrd};
        ASSERT_OK(guest_memory_init(&m, 16ULL << 20));
        ASSERT_ERR(boot_load(&m, &c, &e), -ENOMEM);
        guest_memory_done(&m);
}

TEST(cleanup)
{
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
}
