/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhd.c - Virtual Hard Disk images, fixed and dynamic (Microsoft "Virtual Hard Disk Image
 * Format Specification" 1.0, October 2006; QEMU calls the format "vpc").
 *
 * Structures (big-endian):
 *   footer          512 bytes at the end of the file ("conectix", disk type, sizes,
 *                   CHS geometry, checksum, unique id); a dynamic disk keeps a copy at
 *                   offset 0, used when the trailing one is damaged.
 *   dynamic header  1024 bytes at footer.data_offset ("cxsparse", BAT offset, number of
 *                   BAT entries, block size).
 *   BAT             one 32-bit sector number per block, 0xffffffff when not allocated.
 *   block           a sector bitmap (one bit per sector, most significant bit first,
 *                   padded to 512 bytes) followed by block_size bytes of data.
 *
 * A fixed disk is raw data followed by the footer. In a dynamic disk, a read of an
 * unallocated block or of a sector whose bitmap bit is clear returns zeros (differencing
 * disks, which would read a parent there, are refused). A write to an unallocated block
 * appends the block where the footer was (bitmap all set, data zeroed, as QEMU does),
 * writes the footer after it and then the BAT entry: a crash in between leaves the
 * block unreferenced and the copy of the footer at offset 0 intact.
 *
 * The virtual size follows QEMU's reading rule so that both agree on images from either:
 * images whose creator is "vpc " or "qemu" have the size of their CHS geometry unless it
 * is the maximum geometry; every other creator (Hyper-V "win ", "qem2", "tap", hull's
 * "hull") has current_size. hull writes creator "hull", and the maximum geometry when the
 * size has no exact CHS form, so that QEMU takes current_size as well.
 * Every BAT entry is checked against the file before use.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/random.h>
#include <time.h>

#include "disk-internal.h"
#include "error.h"

#define VHD_FOOTER_SIZE     512u
#define VHD_DYN_HEADER_SIZE 1024u
#define VHD_TYPE_FIXED      2u
#define VHD_TYPE_DYNAMIC    3u
#define VHD_TYPE_DIFF       4u
#define VHD_BAT_UNUSED      0xffffffffu
#define VHD_BLOCK_SIZE      (2u << 20)
#define VHD_MAX_BLOCK_SIZE  (256u << 20)
#define VHD_MAX_SIZE        (UINT64_C(2040) << 30) /* the spec's limit for dynamic disks */
#define VHD_MAX_CHS         (UINT64_C(65535) * 16 * 255)
#define VHD_EPOCH           946684800 /* 2000-01-01T00:00:00Z, the timestamps' origin */

#define INVALID(...) err_set(-EINVAL, "vhd: " __VA_ARGS__)
#define CORRUPT(...) err_set(-EIO, "vhd: " __VA_ARGS__)

struct vhd {
        uint32_t type;
        uint8_t footer[VHD_FOOTER_SIZE];
        uint64_t footer_offset; /* where the trailing footer is; new blocks go here */
        uint64_t bat_offset;
        uint32_t bat_entries;
        uint32_t *bat; /* host-endian */
        uint32_t block_size;
        uint32_t bitmap_size; /* bytes, a multiple of 512 */
        uint8_t *bitmap;      /* the bitmap of block bitmap_block, or NULL */
        uint32_t bitmap_block;
};

static uint32_t vhd_checksum(const uint8_t *b, size_t len, size_t skip_at)
{
        uint32_t sum = 0;
        for (size_t i = 0; i < len; i++)
                if (i < skip_at || i >= skip_at + 4)
                        sum += b[i];
        return ~sum;
}

static bool footer_valid(const uint8_t *f)
{
        return memcmp(f, "conectix", 8) == 0 && get_be32(f + 64) == vhd_checksum(f, VHD_FOOTER_SIZE, 64);
}

bool vhd_probe(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len)
{
        if (tail_len >= 8 && memcmp(tail, "conectix", 8) == 0)
                return true;
        /* A dynamic disk whose trailing footer is lost still has its copy at offset 0. */
        return head_len >= VHD_FOOTER_SIZE && memcmp(head, "conectix", 8) == 0 &&
               get_be32(head + 60) != VHD_TYPE_FIXED;
}

/* CHS geometry from the spec's appendix; returns cylinders * heads * sectors per track. */
static uint64_t vhd_geometry(uint64_t sectors, uint16_t *ret_c, uint8_t *ret_h, uint8_t *ret_s)
{
        uint64_t spt, heads, cth;
        sectors = MIN(sectors, VHD_MAX_CHS);
        if (sectors >= 65535ULL * 16 * 63) {
                spt = 255;
                heads = 16;
                cth = sectors / spt;
        } else {
                spt = 17;
                cth = sectors / spt;
                heads = MAX((cth + 1023) / 1024, 4ULL);
                if (cth >= heads * 1024 || heads > 16) {
                        spt = 31;
                        heads = 16;
                        cth = sectors / spt;
                }
                if (cth >= heads * 1024) {
                        spt = 63;
                        heads = 16;
                        cth = sectors / spt;
                }
        }
        uint64_t cyl = cth / heads;
        *ret_c = (uint16_t)cyl;
        *ret_h = (uint8_t)heads;
        *ret_s = (uint8_t)spt;
        return cyl * heads * spt;
}

static bool creator_uses_chs(const uint8_t *f)
{
        return memcmp(f + 28, "vpc ", 4) == 0 || memcmp(f + 28, "qemu", 4) == 0;
}

/* ---------------------------------------------------------------- I/O */

static int vhd_fixed_read(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        return disk_file_preadv(&d->file, iov, iovcnt, offset);
}

static int vhd_fixed_write(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        return disk_file_pwritev(&d->file, iov, iovcnt, offset);
}

/* Host offset of block b's bitmap, checked against the file; 0 when not allocated. */
static int block_offset(struct disk *d, uint32_t b, uint64_t *ret)
{
        struct vhd *v = d->priv;
        uint32_t e = v->bat[b];
        if (e == VHD_BAT_UNUSED) {
                *ret = 0;
                return 0;
        }
        uint64_t off = (uint64_t)e * 512;
        if (!range_ok(off, (uint64_t)v->bitmap_size + v->block_size, v->footer_offset) ||
            off < VHD_FOOTER_SIZE)
                return CORRUPT("bat entry %" PRIu32 ": block at 0x%" PRIx64 " beyond end of file", b, off);
        *ret = off;
        return 0;
}

static int load_bitmap(struct disk *d, uint32_t b, uint64_t off)
{
        struct vhd *v = d->priv;
        if (v->bitmap_block == b)
                return 0;
        v->bitmap_block = UINT32_MAX;
        int r = disk_file_pread(&d->file, v->bitmap, v->bitmap_size, off);
        if (r < 0)
                return r;
        v->bitmap_block = b;
        return 0;
}

static bool bit_set(const uint8_t *bm, uint64_t i)
{
        return bm[i / 8] & (0x80 >> (i % 8));
}

static int read_piece(struct disk *d, const struct disk_piece *p, size_t *ret_done)
{
        struct vhd *v = d->priv;
        uint32_t b = (uint32_t)(p->offset / v->block_size);
        uint64_t off;
        int r = block_offset(d, b, &off);
        if (r < 0)
                return r;
        *ret_done = p->len;
        if (off == 0) {
                iovec_memset(p->iov, p->iovcnt, p->skip, 0, p->len);
                return 0;
        }
        r = load_bitmap(d, b, off);
        if (r < 0)
                return r;
        /* Runs of sectors that are all present or all absent. */
        for (size_t k = 0; k < p->len;) {
                uint64_t s = (p->in_unit + k) / 512;
                bool present = bit_set(v->bitmap, s);
                size_t run = 512;
                while (k + run < p->len && bit_set(v->bitmap, s + run / 512) == present)
                        run += 512;
                if (present) {
                        int cnt = iovec_slice(p->iov, p->iovcnt, p->skip + k, run, p->scratch, p->iovcnt);
                        r = disk_file_preadv(&d->file, p->scratch, cnt,
                                             off + v->bitmap_size + p->in_unit + k);
                        if (r < 0)
                                return r;
                } else
                        iovec_memset(p->iov, p->iovcnt, p->skip + k, 0, run);
                k += run;
        }
        return 0;
}

static int vhd_dyn_read(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        struct vhd *v = d->priv;
        return disk_split_request(d, offset, iov, iovcnt, v->block_size, read_piece);
}

static int write_footer(struct disk *d, uint64_t at)
{
        struct vhd *v = d->priv;
        return disk_file_pwrite(&d->file, v->footer, VHD_FOOTER_SIZE, at);
}

static int alloc_block(struct disk *d, uint32_t b, uint64_t *ret)
{
        struct vhd *v = d->priv;
        uint64_t off = v->footer_offset;
        uint64_t len = (uint64_t)v->bitmap_size + v->block_size;
        if (off / 512 >= VHD_BAT_UNUSED)
                return err_set(-EFBIG, "vhd: no room for block %" PRIu32 " (32-bit sector offsets)", b);
        /* Bitmap all set (every sector of the block is ours), data zero. */
        memset(v->bitmap, 0xff, v->bitmap_size);
        v->bitmap_block = UINT32_MAX;
        int r = disk_file_pwrite(&d->file, v->bitmap, v->bitmap_size, off);
        if (r < 0)
                return r;
        /* The data must read as zeros: past the end of the file it already does (a hole). */
        if (off + v->bitmap_size < d->file.size) {
                r = disk_file_write_zeroes(
                        &d->file, off + v->bitmap_size,
                        MIN((uint64_t)v->block_size, d->file.size - off - v->bitmap_size));
                if (r < 0)
                        return r;
        }
        r = write_footer(d, off + len);
        if (r < 0)
                return r;
        v->footer_offset = off + len;
        uint8_t e[4];
        put_be32(e, (uint32_t)(off / 512));
        r = disk_file_pwrite(&d->file, e, 4, v->bat_offset + (uint64_t)b * 4);
        if (r < 0)
                return r;
        v->bat[b] = (uint32_t)(off / 512);
        v->bitmap_block = b;
        *ret = off;
        return 0;
}

static int write_piece(struct disk *d, const struct disk_piece *p, size_t *ret_done)
{
        struct vhd *v = d->priv;
        uint32_t b = (uint32_t)(p->offset / v->block_size);
        uint64_t off;
        int r = block_offset(d, b, &off);
        if (r < 0)
                return r;
        if (off == 0) {
                r = alloc_block(d, b, &off);
                if (r < 0)
                        return r;
        }
        int cnt = iovec_slice(p->iov, p->iovcnt, p->skip, p->len, p->scratch, p->iovcnt);
        r = disk_file_pwritev(&d->file, p->scratch, cnt, off + v->bitmap_size + p->in_unit);
        if (r < 0)
                return r;
        /* Mark the sectors present once their data is on disk. */
        r = load_bitmap(d, b, off);
        if (r < 0)
                return r;
        uint64_t first = p->in_unit / 512, last = (p->in_unit + p->len) / 512 - 1;
        bool changed = false;
        for (uint64_t s = first; s <= last; s++)
                if (!bit_set(v->bitmap, s)) {
                        v->bitmap[s / 8] |= (uint8_t)(0x80 >> (s % 8));
                        changed = true;
                }
        if (changed) {
                uint64_t a = first / 8, z = last / 8 + 1;
                r = disk_file_pwrite(&d->file, v->bitmap + a, z - a, off + a);
                if (r < 0)
                        return r;
        }
        *ret_done = p->len;
        return 0;
}

static int vhd_dyn_write(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        struct vhd *v = d->priv;
        return disk_split_request(d, offset, iov, iovcnt, v->block_size, write_piece);
}

static void vhd_close(struct disk *d)
{
        struct vhd *v = d->priv;
        if (!v)
                return;
        free(v->bat);
        free(v->bitmap);
        free(v);
        d->priv = NULL;
}

static const struct disk_ops vhd_fixed_ops = {
        .read = vhd_fixed_read,
        .write = vhd_fixed_write,
        .close = vhd_close,
};

static const struct disk_ops vhd_dyn_ops = {
        .read = vhd_dyn_read,
        .write = vhd_dyn_write,
        .close = vhd_close,
};

/* ---------------------------------------------------------------- open */

static int open_dynamic(struct disk *d, struct vhd *v)
{
        uint64_t hoff = get_be64(v->footer + 16);
        if (!range_ok(hoff, VHD_DYN_HEADER_SIZE, v->footer_offset) || hoff % 512)
                return INVALID("data_offset 0x%" PRIx64 " beyond end of file", hoff);
        uint8_t h[VHD_DYN_HEADER_SIZE];
        int r = disk_file_pread(&d->file, h, sizeof(h), hoff);
        if (r < 0)
                return r;
        if (memcmp(h, "cxsparse", 8) != 0)
                return INVALID("no dynamic disk header ('cxsparse') at 0x%" PRIx64, hoff);
        uint32_t sum = vhd_checksum(h, sizeof(h), 36);
        if (get_be32(h + 36) != sum)
                return INVALID("dynamic header checksum 0x%08" PRIx32 " does not match 0x%08" PRIx32,
                               get_be32(h + 36), sum);
        v->bat_offset = get_be64(h + 16);
        v->bat_entries = get_be32(h + 28);
        v->block_size = get_be32(h + 32);
        if (v->block_size < 512 || v->block_size > VHD_MAX_BLOCK_SIZE ||
            (v->block_size & (v->block_size - 1)))
                return INVALID("block_size %" PRIu32 " is not a power of two in 512..%u", v->block_size,
                               VHD_MAX_BLOCK_SIZE);
        if ((uint64_t)v->bat_entries * v->block_size < d->size)
                return INVALID("max_table_entries %" PRIu32 " too small for size %" PRIu64, v->bat_entries,
                               d->size);
        /* Entries past the virtual size are never used; do not read or trust them. */
        v->bat_entries = (uint32_t)((d->size + v->block_size - 1) / v->block_size);
        if (v->bat_offset % 512 || !range_ok(v->bat_offset, (uint64_t)v->bat_entries * 4, v->footer_offset))
                return INVALID("table_offset 0x%" PRIx64 " beyond end of file", v->bat_offset);
        v->bitmap_size = (uint32_t)ALIGN_UP((uint64_t)v->block_size / 512 / 8, (uint64_t)512);
        v->bat = malloc(MAX((size_t)v->bat_entries, (size_t)1) * 4);
        v->bitmap = malloc(v->bitmap_size);
        if (!v->bat || !v->bitmap)
                return -ENOMEM;
        r = disk_file_pread(&d->file, v->bat, (size_t)v->bat_entries * 4, v->bat_offset);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < v->bat_entries; i++)
                v->bat[i] = be32toh(v->bat[i]);
        v->bitmap_block = UINT32_MAX;
        return 0;
}

int vhd_open(struct disk *d)
{
        struct vhd *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        d->priv = v;
        d->ops = &vhd_fixed_ops;
        if (d->file.size < VHD_FOOTER_SIZE)
                return INVALID("file of %" PRIu64 " bytes is too short for a footer", d->file.size);
        v->footer_offset = (d->file.size - VHD_FOOTER_SIZE) & ~(uint64_t)511;
        int r = disk_file_pread(&d->file, v->footer, VHD_FOOTER_SIZE, v->footer_offset);
        if (r < 0)
                return r;
        if (!footer_valid(v->footer)) {
                uint8_t copy[VHD_FOOTER_SIZE];
                r = disk_file_pread(&d->file, copy, sizeof(copy), 0);
                if (r < 0)
                        return r;
                if (!footer_valid(copy) || get_be32(copy + 60) == VHD_TYPE_FIXED) {
                        if (memcmp(v->footer, "conectix", 8) == 0)
                                return INVALID("footer checksum 0x%08" PRIx32 " does not match 0x%08" PRIx32,
                                               get_be32(v->footer + 64),
                                               vhd_checksum(v->footer, VHD_FOOTER_SIZE, 64));
                        return INVALID("no footer ('conectix') at the end of the file");
                }
                memcpy(v->footer, copy, sizeof(copy));
                /* The trailing footer is lost (a crash while appending a block): the end of the
                 * file, rounded down to a sector, is where the next block goes. */
                v->footer_offset = d->file.size & ~(uint64_t)511;
        }
        v->type = get_be32(v->footer + 60);
        uint64_t current = get_be64(v->footer + 48);
        uint16_t cyl = get_be16(v->footer + 56);
        uint8_t heads = v->footer[58], spt = v->footer[59];
        uint64_t chs = (uint64_t)cyl * heads * spt;
        uint64_t size = current;
        if (creator_uses_chs(v->footer) && chs != VHD_MAX_CHS)
                size = chs * 512;
        if (size > VHD_MAX_SIZE && v->type != VHD_TYPE_FIXED)
                return INVALID("current_size %" PRIu64 " exceeds %" PRIu64, size, VHD_MAX_SIZE);
        d->size = size & ~(uint64_t)511;
        memcpy(d->serial, "", 1);
        for (unsigned i = 0; i < 10; i++)
                snprintf(d->serial + i * 2, 3, "%02x", v->footer[68 + i]);

        switch (v->type) {
        case VHD_TYPE_FIXED:
                if (!range_ok(0, d->size, v->footer_offset))
                        return INVALID("current_size %" PRIu64 " larger than the %" PRIu64 " bytes of data",
                                       d->size, v->footer_offset);
                return 0;
        case VHD_TYPE_DYNAMIC:
                d->ops = &vhd_dyn_ops;
                return open_dynamic(d, v);
        case VHD_TYPE_DIFF:
                return err_set(-EOPNOTSUPP, "vhd: differencing disks are not supported");
        default:
                return INVALID("disk type %" PRIu32 " unknown", v->type);
        }
}

/* ---------------------------------------------------------------- create */

static void make_footer(uint8_t *f, uint64_t size, uint32_t type, uint64_t data_offset)
{
        memset(f, 0, VHD_FOOTER_SIZE);
        memcpy(f, "conectix", 8);
        put_be32(f + 8, 2); /* features: "reserved", always set */
        put_be32(f + 12, 0x00010000);
        put_be64(f + 16, data_offset);
        put_be32(f + 24, (uint32_t)(time(NULL) - VHD_EPOCH));
        memcpy(f + 28, "hull", 4);
        put_be32(f + 32, 0x00010000);
        memcpy(f + 36, "Wi2k", 4);
        put_be64(f + 40, size);
        put_be64(f + 48, size);
        uint16_t c;
        uint8_t h, s;
        if (vhd_geometry(size / 512, &c, &h, &s) * 512 != size) {
                /* No exact CHS form: the maximum tells readers to use current_size. */
                c = 65535;
                h = 16;
                s = 255;
        }
        put_be16(f + 56, c);
        f[58] = h;
        f[59] = s;
        put_be32(f + 60, type);
        if (getrandom(f + 68, 16, 0) != 16)
                for (unsigned i = 0; i < 16; i++)
                        f[68 + i] = (uint8_t)rand();
        put_be32(f + 64, vhd_checksum(f, VHD_FOOTER_SIZE, 64));
}

int vhd_create(const char *path, const struct disk_create_options *o)
{
        uint64_t size = o->size;
        if (size > VHD_MAX_SIZE && !o->vhd_fixed)
                return err_set(-EFBIG, "vhd: size %" PRIu64 " exceeds %" PRIu64, size, VHD_MAX_SIZE);
        uint8_t footer[VHD_FOOTER_SIZE];
        uint64_t bat_entries = (size + VHD_BLOCK_SIZE - 1) / VHD_BLOCK_SIZE;
        uint64_t bat_bytes = ALIGN_UP(bat_entries * 4, (uint64_t)512);
        _cleanup_free_ uint8_t *meta = NULL;
        uint64_t meta_len = 0;
        if (o->vhd_fixed)
                make_footer(footer, size, VHD_TYPE_FIXED, UINT64_MAX);
        else {
                make_footer(footer, size, VHD_TYPE_DYNAMIC, VHD_FOOTER_SIZE);
                meta_len = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE + bat_bytes;
                meta = malloc(meta_len);
                if (!meta)
                        return -ENOMEM;
                memcpy(meta, footer, VHD_FOOTER_SIZE);
                uint8_t *h = meta + VHD_FOOTER_SIZE;
                memset(h, 0, VHD_DYN_HEADER_SIZE);
                memcpy(h, "cxsparse", 8);
                put_be64(h + 8, UINT64_MAX);
                put_be64(h + 16, VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE);
                put_be32(h + 24, 0x00010000);
                put_be32(h + 28, (uint32_t)bat_entries);
                put_be32(h + 32, VHD_BLOCK_SIZE);
                put_be32(h + 36, vhd_checksum(h, VHD_DYN_HEADER_SIZE, 36));
                memset(h + VHD_DYN_HEADER_SIZE, 0xff, bat_bytes);
        }

        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                int r = -errno;
                return err_set(r, "cannot create '%s': %s", path, strerror(-r));
        }
        struct disk_file f = {.fd = fd};
        int r = 0;
        uint64_t footer_at = size;
        if (o->vhd_fixed)
                r = disk_file_truncate(&f, size);
        else {
                r = disk_file_pwrite(&f, meta, meta_len, 0);
                footer_at = meta_len;
        }
        if (r >= 0)
                r = disk_file_pwrite(&f, footer, sizeof(footer), footer_at);
        if (r < 0) {
                unlink(path);
                return err_set(r, "cannot write '%s': %s", path, strerror(-r));
        }
        return 0;
}
