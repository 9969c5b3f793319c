/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bzimage.c - the bzImage format (Linux boot protocol, Documentation/arch/x86/boot.rst).
 *
 * Only what the 64-bit entry needs is read: the setup header at 0x1f1, the number of
 * setup sectors (the protected-mode kernel follows them in the file) and init_size, the
 * memory the kernel needs from its load address while it decompresses itself. Every
 * header field comes from an untrusted file and is checked before it sizes anything.
 */
#include <inttypes.h>

#include "boot.h"
#include "error.h"
#include "layout.h"

#define SETUP_HEADER_OFFSET 0x1f1
#define HDRS_MAGIC          0x53726448 /* "HdrS" */
#define MIN_PROTOCOL        0x020c     /* 2.12: xloadflags, XLF_KERNEL_64 */

int bzimage_probe(const uint8_t *head, size_t len)
{
        uint32_t magic;

        if (len < SETUP_HEADER_OFFSET + sizeof(struct setup_header))
                return 0;
        memcpy(&magic, head + 0x202, sizeof(magic));
        return magic == HDRS_MAGIC;
}

int bzimage_load(const struct guest_memory *m, int fd, uint64_t file_size, const uint8_t *head, size_t len,
                 struct boot_kernel *ret)
{
        struct setup_header hdr;
        int r;

        if (!bzimage_probe(head, len))
                return err_set(-EINVAL, "kernel: no 'HdrS' boot header");
        memcpy(&hdr, head + SETUP_HEADER_OFFSET, sizeof(hdr));
        if (hdr.version < MIN_PROTOCOL)
                return err_set(-ENOTSUP, "kernel: boot protocol %u.%02u is too old, 2.12 or later is needed",
                               hdr.version >> 8, hdr.version & 0xff);
        if (!(hdr.xloadflags & XLF_KERNEL_64))
                return err_set(-ENOTSUP, "kernel: bzImage has no 64-bit entry point (XLF_KERNEL_64)");
        uint64_t setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
        uint64_t offset = (setup_sects + 1) * 512;
        if (offset >= file_size)
                return err_set(-EINVAL, "kernel: setup_sects %" PRIu64 " reaches past the end of the file",
                               setup_sects);
        uint64_t size = file_size - offset;
        uint64_t need = MAX(size, (uint64_t)hdr.init_size);
        if (!guest_memory_ptr(m, LAYOUT_HIMEM, need))
                return err_set(-ENOMEM,
                               "kernel: needs %" PRIu64 " MiB above 1 MiB, more than the guest memory",
                               need >> 20);
        r = guest_memory_pread(m, fd, LAYOUT_HIMEM, size, offset);
        if (r < 0)
                return err_set(r, "kernel: cannot read the protected-mode kernel: %s", strerror(-r));
        *ret = (struct boot_kernel){
                .mode = BOOT_MODE_LINUX64,
                .entry = LAYOUT_HIMEM + 0x200,
                .end = LAYOUT_HIMEM + need,
                .hdr = hdr,
                .has_hdr = true,
        };
        return 0;
}
