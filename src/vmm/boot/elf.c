/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elf.c - ELF64 vmlinux loading (PT_LOAD at p_paddr) and the PVH entry note.
 *
 * Linux links vmlinux with e_entry = the physical address of startup_64, and with
 * CONFIG_PVH a note XEN_ELFNOTE_PHYS32_ENTRY (type 18, owner "Xen") that holds the
 * 32-bit PVH entry point. Every header field is checked against the file size and
 * every segment against guest RAM before anything is read.
 */
#include <elf.h>
#include <inttypes.h>

#include "boot.h"
#include "error.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ELF_MAX_PHDRS            64
#define ELF_MAX_NOTES            (64 * 1024)

int elf_probe(const uint8_t *head, size_t len)
{
        return len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0;
}

static int read_exact(int fd, void *buf, size_t len, uint64_t offset)
{
        ssize_t n = pread(fd, buf, len, (off_t)offset);
        if (n < 0)
                return negative_errno();
        return (size_t)n == len ? 0 : -EIO;
}

/* Look for the PVH entry in one PT_NOTE segment. Returns 1 and the entry when found. */
static int find_pvh_note(int fd, const Elf64_Phdr *ph, uint64_t file_size, uint64_t *ret)
{
        if (ph->p_filesz > ELF_MAX_NOTES || ph->p_offset > file_size ||
            ph->p_filesz > file_size - ph->p_offset)
                return err_set(-EINVAL, "kernel: ELF note segment outside the file");
        _cleanup_free_ uint8_t *buf = malloc(ph->p_filesz ?: 1);
        if (!buf)
                return -ENOMEM;
        int r = read_exact(fd, buf, ph->p_filesz, ph->p_offset);
        if (r < 0)
                return r;
        size_t pos = 0;
        while (ph->p_filesz - pos >= sizeof(Elf64_Nhdr)) {
                Elf64_Nhdr nh;
                memcpy(&nh, buf + pos, sizeof(nh));
                pos += sizeof(nh);
                size_t namesz = ALIGN_UP((size_t)nh.n_namesz, 4), descsz = ALIGN_UP((size_t)nh.n_descsz, 4);
                if (namesz > ph->p_filesz - pos || descsz > ph->p_filesz - pos - namesz)
                        return err_set(-EINVAL, "kernel: ELF note larger than its segment");
                if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
                    memcmp(buf + pos, "Xen", 4) == 0 && nh.n_descsz >= 4) {
                        uint64_t entry = 0;
                        memcpy(&entry, buf + pos + namesz, MIN((size_t)nh.n_descsz, sizeof(entry)));
                        if (nh.n_descsz == 4)
                                entry &= 0xffffffffULL;
                        *ret = entry;
                        return 1;
                }
                pos += namesz + descsz;
        }
        return 0;
}

int elf_load(const struct guest_memory *m, int fd, uint64_t file_size, struct boot_kernel *ret)
{
        Elf64_Ehdr eh;
        Elf64_Phdr ph[ELF_MAX_PHDRS];
        uint64_t end = 0, pvh_entry = 0;
        bool pvh = false;
        int r;

        r = read_exact(fd, &eh, sizeof(eh), 0);
        if (r < 0)
                return err_set(-EINVAL, "kernel: ELF header truncated");
        if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_ident[EI_DATA] != ELFDATA2LSB)
                return err_set(-EINVAL, "kernel: not a little-endian ELF64 file");
        if (eh.e_machine != EM_X86_64)
                return err_set(-EINVAL, "kernel: ELF e_machine %u is not x86-64", eh.e_machine);
        if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHDRS)
                return err_set(-EINVAL, "kernel: ELF program header table has %u entries of %u bytes",
                               eh.e_phnum, eh.e_phentsize);
        if (eh.e_phoff > file_size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > file_size - eh.e_phoff)
                return err_set(-EINVAL, "kernel: ELF e_phoff 0x%" PRIx64 " outside the file",
                               (uint64_t)eh.e_phoff);
        r = read_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
        if (r < 0)
                return err_set(-EINVAL, "kernel: ELF program headers truncated");

        unsigned loaded = 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                const Elf64_Phdr *p = &ph[i];
                if (p->p_type == PT_NOTE && !pvh) {
                        r = find_pvh_note(fd, p, file_size, &pvh_entry);
                        if (r < 0)
                                return r;
                        pvh = r > 0;
                        continue;
                }
                if (p->p_type != PT_LOAD || p->p_memsz == 0)
                        continue;
                if (p->p_filesz > p->p_memsz)
                        return err_set(-EINVAL, "kernel: ELF segment %u has p_filesz > p_memsz", i);
                if (p->p_offset > file_size || p->p_filesz > file_size - p->p_offset)
                        return err_set(-EINVAL, "kernel: ELF segment %u lies outside the file", i);
                /* The guest memory is fresh and zero: the .bss part needs no clearing, only room. */
                if (!guest_memory_ptr(m, p->p_paddr, p->p_memsz))
                        return err_set(-ENOMEM,
                                       "kernel: ELF segment %u at 0x%" PRIx64 " (+0x%" PRIx64
                                       ") is outside guest memory",
                                       i, (uint64_t)p->p_paddr, (uint64_t)p->p_memsz);
                if (p->p_filesz > 0) {
                        r = guest_memory_pread(m, fd, p->p_paddr, p->p_filesz, p->p_offset);
                        if (r < 0)
                                return err_set(r, "kernel: cannot read ELF segment %u: %s", i, strerror(-r));
                }
                end = MAX(end, p->p_paddr + p->p_memsz);
                loaded++;
        }
        if (loaded == 0)
                return err_set(-EINVAL, "kernel: ELF file has no loadable segment");
        uint64_t entry = pvh ? pvh_entry : eh.e_entry;
        if (!guest_memory_ptr(m, entry, 1))
                return err_set(-EINVAL, "kernel: entry point 0x%" PRIx64 " is outside guest memory", entry);
        *ret = (struct boot_kernel){
                .mode = pvh ? BOOT_MODE_PVH : BOOT_MODE_LINUX64,
                .entry = entry,
                .end = end,
        };
        return 0;
}
