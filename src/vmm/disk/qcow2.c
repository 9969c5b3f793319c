/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2.c - QEMU copy-on-write images, versions 2 and 3 (QEMU docs/interop/qcow2.txt).
 *
 * Structures (all big-endian on disk):
 *   header        cluster 0: magic, version, cluster_bits, size, L1 and refcount table
 *                 locations, v3 feature bits, refcount_order, header_length; then header
 *                 extensions (type, length, data padded to 8) and the backing file name.
 *   L1 table      l1_size entries; each points to an L2 table (one cluster) or is 0.
 *   L2 table      cluster_size / 8 entries; each maps one guest cluster to a host cluster
 *                 (bits 9-55), is 0 (unallocated: read the backing file or zeros), has the
 *                 v3 zero flag (bit 0) or describes compressed data (bit 62).
 *   refcount      a table of refcount block offsets; a block holds one counter of
 *                 2^refcount_order bits per host cluster.
 *
 * In memory: the L1 table and the refcount table, host-endian; small caches of L2 tables
 * and refcount blocks, as on disk. Every change is written through at once, in the order
 * refcount -> data -> L2 entry -> L1 entry, so a crash can leak clusters (which
 * `qemu-img check -r leaks` reclaims) but never make an entry point at a cluster that is
 * not counted or not yet written. New clusters are taken at the end of the file; clusters
 * freed by a discard or by the overwrite of a compressed cluster are counted 0 and
 * their space punched out.
 *
 * Every offset read from the image is checked before use: cluster alignment, inside the
 * file, within the format's limits (QEMU's: L1 at most 32 MiB, refcount table at most
 * 8 MiB, cluster_bits 9..21). Errors name the field.
 *
 * Supported: read and write of v2 and v3, backing files (chains of at most
 * DISK_MAX_CHAIN), zero clusters, compressed clusters (zlib, read; a write decompresses
 * the cluster into a new one), every refcount_order. Refused with a clear message:
 * encryption, external data files, extended L2 entries (subclusters), zstd
 * compression; and for writing: internal snapshots, the dirty bit of lazy refcounts,
 * the corrupt bit. Autoclear feature bits (bitmaps) are cleared when the image is
 * opened for writing, as the spec asks of writers that do not maintain them.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <zlib.h>

#include "disk-internal.h"
#include "error.h"

#define QCOW2_MAGIC            0x514649fbu /* "QFI\xfb" */
#define QCOW2_V2_HEADER        72u
#define QCOW2_V3_HEADER        104u
#define QCOW2_V3_HEADER_CREATE 112u /* with the compression type byte, padded to 8 */
#define QCOW2_MAX_L1_BYTES     (32u << 20)
#define QCOW2_MAX_RT_BYTES     (8u << 20)
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_MAX_SIZE         (UINT64_C(1) << 55) /* offsets are 56 bits wide */

#define INCOMPAT_DIRTY       (UINT64_C(1) << 0)
#define INCOMPAT_CORRUPT     (UINT64_C(1) << 1)
#define INCOMPAT_DATA_FILE   (UINT64_C(1) << 2)
#define INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define INCOMPAT_EXTL2       (UINT64_C(1) << 4)
#define INCOMPAT_KNOWN \
        (INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2)

#define EXT_END            0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_FEATURE_NAMES  0x6803f857u
#define EXT_BITMAPS        0x23852875u
#define EXT_CRYPTO         0x0537be77u
#define EXT_DATA_FILE      0x44415441u

#define OFLAG_COPIED      (UINT64_C(1) << 63)
#define OFLAG_COMPRESSED  (UINT64_C(1) << 62)
#define OFLAG_ZERO        UINT64_C(1)
#define ENTRY_OFFSET_MASK UINT64_C(0x00fffffffffffe00)

#define CACHE_SLOTS 16

enum cluster_kind {
        CLUSTER_UNALLOCATED,
        CLUSTER_ZERO,       /* reads as zeros; no host cluster */
        CLUSTER_ZERO_ALLOC, /* reads as zeros; host cluster preallocated */
        CLUSTER_NORMAL,
        CLUSTER_COMPRESSED,
        _CLUSTER_KIND_MAX,
        _CLUSTER_KIND_INVALID = -EINVAL,
};

struct cache {
        const char *what; /* "l2 table", "refcount block": for messages */
        uint64_t offset[CACHE_SLOTS];
        uint64_t used[CACHE_SLOTS];
        uint8_t *data[CACHE_SLOTS];
};

struct qcow2 {
        struct disk *d;
        unsigned version;
        unsigned cluster_bits;
        uint64_t cluster_size;
        uint64_t l2_entries;
        uint32_t l1_size;
        uint64_t l1_offset;
        uint64_t *l1;
        uint64_t rt_offset;
        uint32_t rt_clusters;
        uint64_t rt_size; /* entries */
        uint64_t *rt;
        unsigned refcount_order;
        uint64_t rb_entries;
        uint64_t refcount_max;
        uint64_t incompat;
        uint32_t nb_snapshots;
        unsigned csize_shift; /* compressed descriptors: offset below, sector count above */
        uint64_t csize_mask;
        uint64_t end; /* cluster-aligned end of the image: new clusters go here */
        struct disk *backing;
        struct cache l2_cache, rb_cache;
        uint64_t tick;
        uint8_t *cbuf;       /* one cluster: copy-on-write and decompression */
        uint64_t cbuf_entry; /* compressed L2 entry whose data cbuf holds, or 0 */
};

/* A corrupt image: -EIO with a message that names the field. */
#define CORRUPT(...) err_set(-EIO, "qcow2: " __VA_ARGS__)

/* ---------------------------------------------------------------- caches */

static void cache_free(struct cache *c)
{
        for (unsigned i = 0; i < CACHE_SLOTS; i++)
                free(c->data[i]);
}

static void cache_drop(struct cache *c, uint64_t offset)
{
        for (unsigned i = 0; i < CACHE_SLOTS; i++)
                if (c->data[i] && c->offset[i] == offset)
                        c->offset[i] = 0;
}

/* The cluster at offset, read through the cache; the pointer stays valid until the next call. */
static int cache_get(struct qcow2 *q, struct cache *c, uint64_t offset, bool fresh, uint8_t **ret)
{
        if (offset == 0 || offset & (q->cluster_size - 1))
                return CORRUPT("%s offset 0x%" PRIx64 " is not cluster aligned", c->what, offset);
        if (!range_ok(offset, q->cluster_size, q->end))
                return CORRUPT("%s offset 0x%" PRIx64 " beyond end of file", c->what, offset);
        unsigned victim = 0;
        for (unsigned i = 0; i < CACHE_SLOTS; i++) {
                if (c->data[i] && c->offset[i] == offset) {
                        c->used[i] = ++q->tick;
                        *ret = c->data[i];
                        return 0;
                }
                if (!c->data[victim])
                        continue;
                if (!c->data[i] || c->used[i] < c->used[victim])
                        victim = i;
        }
        if (!c->data[victim]) {
                c->data[victim] = malloc(q->cluster_size);
                if (!c->data[victim])
                        return -ENOMEM;
        }
        c->offset[victim] = 0;
        int r = fresh ? (memset(c->data[victim], 0, q->cluster_size), 0)
                      : disk_file_pread(&q->d->file, c->data[victim], q->cluster_size, offset);
        if (r < 0)
                return r;
        c->offset[victim] = offset;
        c->used[victim] = ++q->tick;
        *ret = c->data[victim];
        return 0;
}

/* ---------------------------------------------------------------- refcounts */

static uint64_t rb_get(const struct qcow2 *q, const uint8_t *b, uint64_t i)
{
        switch (q->refcount_order) {
        case 0:
        case 1:
        case 2: {
                /* Sub-byte counters are packed from the least significant bit (QEMU's layout). */
                unsigned bits = 1u << q->refcount_order;
                uint64_t bit = i * bits;
                return (b[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
        }
        case 3:
                return b[i];
        case 4:
                return get_be16(b + i * 2);
        case 5:
                return get_be32(b + i * 4);
        default:
                return get_be64(b + i * 8);
        }
}

/* Sets counter i and returns the byte range of the block that changed. */
static void rb_set(const struct qcow2 *q, uint8_t *b, uint64_t i, uint64_t v, size_t *ret_off,
                   size_t *ret_len)
{
        unsigned bits = 1u << q->refcount_order;
        switch (q->refcount_order) {
        case 0:
        case 1:
        case 2: {
                uint64_t bit = i * bits;
                uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
                b[bit / 8] = (uint8_t)((b[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
                *ret_off = bit / 8;
                *ret_len = 1;
                return;
        }
        case 3:
                b[i] = (uint8_t)v;
                break;
        case 4:
                put_be16(b + i * 2, (uint16_t)v);
                break;
        case 5:
                put_be32(b + i * 4, (uint32_t)v);
                break;
        default:
                put_be64(b + i * 8, v);
                break;
        }
        *ret_off = i * (bits / 8);
        *ret_len = bits / 8;
}

static int refcount_get(struct qcow2 *q, uint64_t host, uint64_t *ret)
{
        uint64_t cluster = host >> q->cluster_bits;
        uint64_t ti = cluster / q->rb_entries;
        if (ti >= q->rt_size || q->rt[ti] == 0) {
                *ret = 0;
                return 0;
        }
        uint8_t *b;
        int r = cache_get(q, &q->rb_cache, q->rt[ti], false, &b);
        if (r < 0)
                return err_prefix(r, "refcount table entry %" PRIu64, ti);
        *ret = rb_get(q, b, cluster % q->rb_entries);
        return 0;
}

static int refcount_set(struct qcow2 *q, uint64_t host, uint64_t value);

/* Reserve n contiguous clusters at the end of the image without counting them. */
static uint64_t reserve(struct qcow2 *q, uint64_t n)
{
        uint64_t off = q->end;
        q->end += n * q->cluster_size;
        return off;
}

/* Replace the refcount table by one of at least `need` entries, placed at the end. */
static int refcount_table_grow(struct qcow2 *q, uint64_t need)
{
        uint64_t entries = MAX(need + 8, q->rt_size * 2);
        uint64_t per_cluster = q->cluster_size / 8;
        uint64_t clusters = (entries + per_cluster - 1) / per_cluster;
        if (clusters * q->cluster_size > QCOW2_MAX_RT_BYTES)
                return err_set(-EFBIG, "qcow2: the refcount table would exceed %u bytes",
                               QCOW2_MAX_RT_BYTES);
        entries = clusters * per_cluster;
        uint64_t *nrt = calloc(entries, sizeof(uint64_t));
        if (!nrt)
                return -ENOMEM;
        memcpy(nrt, q->rt, q->rt_size * sizeof(uint64_t));
        uint64_t old_off = q->rt_offset, old_clusters = q->rt_clusters;
        uint64_t noff = reserve(q, clusters);
        free(q->rt);
        q->rt = nrt;
        q->rt_size = entries;
        /* From here, entries written by refcount_set() land in the new table's place. */
        q->rt_offset = noff;
        q->rt_clusters = (uint32_t)clusters;
        for (uint64_t i = 0; i < clusters; i++) {
                int r = refcount_set(q, noff + i * q->cluster_size, 1);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ uint8_t *raw = malloc(clusters * q->cluster_size);
        if (!raw)
                return -ENOMEM;
        for (uint64_t i = 0; i < q->rt_size; i++)
                put_be64(raw + i * 8, q->rt[i]);
        int r = disk_file_pwrite(&q->d->file, raw, clusters * q->cluster_size, noff);
        if (r < 0)
                return r;
        uint8_t hdr[12];
        put_be64(hdr, noff);
        put_be32(hdr + 8, (uint32_t)clusters);
        r = disk_file_pwrite(&q->d->file, hdr, sizeof(hdr), 48);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < old_clusters; i++) {
                r = refcount_set(q, old_off + i * q->cluster_size, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int refcount_set(struct qcow2 *q, uint64_t host, uint64_t value)
{
        if (value > q->refcount_max)
                return CORRUPT("refcount of cluster 0x%" PRIx64 " would overflow %" PRIu64, host,
                               q->refcount_max);
        uint64_t cluster = host >> q->cluster_bits;
        uint64_t ti = cluster / q->rb_entries;
        int r;
        if (ti >= q->rt_size) {
                r = refcount_table_grow(q, ti);
                if (r < 0)
                        return r;
        }
        if (q->rt[ti] == 0) {
                if (value == 0)
                        return 0;
                uint64_t blk = reserve(q, 1);
                uint8_t *b;
                r = cache_get(q, &q->rb_cache, blk, true, &b);
                if (r < 0)
                        return r;
                r = disk_file_pwrite(&q->d->file, b, q->cluster_size, blk);
                if (r < 0)
                        return r;
                q->rt[ti] = blk;
                uint8_t e[8];
                put_be64(e, blk);
                r = disk_file_pwrite(&q->d->file, e, 8, q->rt_offset + ti * 8);
                if (r < 0)
                        return r;
                /* The new block counts itself when it lies in its own range, else another one. */
                r = refcount_set(q, blk, 1);
                if (r < 0)
                        return r;
        }
        uint8_t *b;
        r = cache_get(q, &q->rb_cache, q->rt[ti], false, &b);
        if (r < 0)
                return err_prefix(r, "refcount table entry %" PRIu64, ti);
        size_t off, len;
        rb_set(q, b, cluster % q->rb_entries, value, &off, &len);
        return disk_file_pwrite(&q->d->file, b + off, len, q->rt[ti] + off);
}

static int refcount_add(struct qcow2 *q, uint64_t host, int delta)
{
        uint64_t v = 0;
        int r = refcount_get(q, host, &v);
        if (r < 0)
                return r;
        if (delta < 0 && v == 0)
                return CORRUPT("cluster 0x%" PRIx64 " is in use but its refcount is 0", host);
        r = refcount_set(q, host, v + (uint64_t)(int64_t)delta);
        if (r < 0)
                return r;
        if (v + (uint64_t)(int64_t)delta == 0) {
                cache_drop(&q->l2_cache, host);
                /* Give the space back; a file system without hole punching keeps it. */
                (void)fallocate(q->d->file.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)host,
                                (off_t)q->cluster_size);
        }
        return 0;
}

/* Count n clusters from host with value: one write per refcount block, not per cluster. */
static int refcount_set_range(struct qcow2 *q, uint64_t host, uint64_t n, uint64_t value)
{
        unsigned bits = 1u << q->refcount_order;
        uint64_t c = host >> q->cluster_bits, end = c + n;
        while (c < end) {
                /* The first one through refcount_set(), which creates the block if needed. */
                int r = refcount_set(q, c << q->cluster_bits, value);
                if (r < 0)
                        return r;
                uint64_t ti = c / q->rb_entries;
                uint64_t last = MIN(end, (ti + 1) * q->rb_entries);
                if (last - c > 1) {
                        uint8_t *b;
                        r = cache_get(q, &q->rb_cache, q->rt[ti], false, &b);
                        if (r < 0)
                                return r;
                        uint64_t i0 = (c + 1) % q->rb_entries, i1 = i0 + (last - c - 1);
                        for (uint64_t i = i0; i < i1; i++) {
                                size_t o, l;
                                rb_set(q, b, i, value, &o, &l);
                        }
                        uint64_t from = i0 * bits / 8, to = (i1 * bits + 7) / 8;
                        r = disk_file_pwrite(&q->d->file, b + from, to - from, q->rt[ti] + from);
                        if (r < 0)
                                return r;
                }
                c = last;
        }
        return 0;
}

static int alloc_cluster(struct qcow2 *q, uint64_t *ret)
{
        uint64_t off = reserve(q, 1);
        int r = refcount_set(q, off, 1);
        if (r < 0)
                return r;
        *ret = off;
        return 0;
}

/* ---------------------------------------------------------------- L1/L2 */

struct mapping {
        enum cluster_kind kind;
        uint64_t entry;
        uint64_t host;   /* NORMAL, ZERO_ALLOC: host cluster; COMPRESSED: byte offset */
        uint64_t csize;  /* COMPRESSED: bytes of compressed data */
        uint64_t l2_off; /* 0 when the L1 entry is empty */
        uint64_t l2_index;
};

static int decode_entry(struct qcow2 *q, uint64_t guest, uint64_t e, struct mapping *m)
{
        m->entry = e;
        if (e & OFLAG_COMPRESSED) {
                uint64_t off = e & ((1ULL << q->csize_shift) - 1);
                uint64_t sectors = ((e >> q->csize_shift) & q->csize_mask) + 1;
                if (off == 0 || off >= q->end)
                        return CORRUPT("compressed cluster at 0x%" PRIx64 " for guest offset 0x%" PRIx64
                                       " beyond end of file",
                                       off, guest);
                m->kind = CLUSTER_COMPRESSED;
                m->host = off;
                /* The last sector may be cut by the end of the file. */
                m->csize = MIN(sectors * 512 - (off & 511), q->end - off);
                return 0;
        }
        uint64_t host = e & ENTRY_OFFSET_MASK;
        if (e & OFLAG_ZERO) {
                if (q->version < 3)
                        return CORRUPT("l2 entry 0x%" PRIx64 " for guest offset 0x%" PRIx64
                                       " has the zero flag in a version 2 image",
                                       e, guest);
                m->kind = host ? CLUSTER_ZERO_ALLOC : CLUSTER_ZERO;
        } else
                m->kind = host ? CLUSTER_NORMAL : CLUSTER_UNALLOCATED;
        if (host) {
                if (host & (q->cluster_size - 1))
                        return CORRUPT("cluster offset 0x%" PRIx64 " for guest offset 0x%" PRIx64
                                       " is not cluster aligned",
                                       host, guest);
                if (!range_ok(host, q->cluster_size, q->end))
                        return CORRUPT("cluster offset 0x%" PRIx64 " for guest offset 0x%" PRIx64
                                       " beyond end of file",
                                       host, guest);
        }
        m->host = host;
        return 0;
}

static int l1_entry(struct qcow2 *q, uint64_t guest, uint64_t *ret_l2, uint64_t *ret_index)
{
        uint64_t cl = guest >> q->cluster_bits;
        uint64_t i = cl / q->l2_entries;
        if (i >= q->l1_size)
                return CORRUPT("guest offset 0x%" PRIx64 " is past the l1 table (l1_size %" PRIu64 ")",
                               guest, (uint64_t)q->l1_size);
        uint64_t l2 = q->l1[i] & ENTRY_OFFSET_MASK;
        if (l2 && (l2 & (q->cluster_size - 1)))
                return CORRUPT("l1 entry %" PRIu64 ": l2 table offset 0x%" PRIx64 " is not cluster aligned",
                               i, l2);
        if (l2 && !range_ok(l2, q->cluster_size, q->end))
                return CORRUPT("l1 entry %" PRIu64 ": l2 table offset 0x%" PRIx64 " beyond end of file", i,
                               l2);
        *ret_l2 = l2;
        *ret_index = cl % q->l2_entries;
        return 0;
}

static int lookup(struct qcow2 *q, uint64_t guest, struct mapping *m)
{
        *m = (struct mapping){.kind = CLUSTER_UNALLOCATED};
        int r = l1_entry(q, guest, &m->l2_off, &m->l2_index);
        if (r < 0 || m->l2_off == 0)
                return r;
        uint8_t *t;
        r = cache_get(q, &q->l2_cache, m->l2_off, false, &t);
        if (r < 0)
                return r;
        return decode_entry(q, guest, get_be64(t + m->l2_index * 8), m);
}

static int l2_set(struct qcow2 *q, uint64_t l2_off, uint64_t index, uint64_t e)
{
        uint8_t *t;
        int r = cache_get(q, &q->l2_cache, l2_off, false, &t);
        if (r < 0)
                return r;
        put_be64(t + index * 8, e);
        return disk_file_pwrite(&q->d->file, t + index * 8, 8, l2_off + index * 8);
}

/* Make sure the L1 entry of guest has an L2 table; fills m->l2_off. */
static int ensure_l2(struct qcow2 *q, uint64_t guest, struct mapping *m)
{
        if (m->l2_off)
                return 0;
        uint64_t off;
        int r = alloc_cluster(q, &off);
        if (r < 0)
                return r;
        uint8_t *t;
        r = cache_get(q, &q->l2_cache, off, true, &t);
        if (r < 0)
                return r;
        r = disk_file_pwrite(&q->d->file, t, q->cluster_size, off);
        if (r < 0)
                return r;
        uint64_t i = (guest >> q->cluster_bits) / q->l2_entries;
        uint8_t e[8];
        put_be64(e, off | OFLAG_COPIED);
        r = disk_file_pwrite(&q->d->file, e, 8, q->l1_offset + i * 8);
        if (r < 0)
                return r;
        q->l1[i] = off | OFLAG_COPIED;
        m->l2_off = off;
        return 0;
}

/* ---------------------------------------------------------------- data */

static int decompress(struct qcow2 *q, const struct mapping *m)
{
        if (q->cbuf_entry == m->entry)
                return 0;
        q->cbuf_entry = 0;
        _cleanup_free_ uint8_t *in = malloc(m->csize);
        if (!in)
                return -ENOMEM;
        int r = disk_file_pread(&q->d->file, in, m->csize, m->host);
        if (r < 0)
                return r;
        /* Raw deflate (no zlib header), as QEMU writes it; window bits 12 fit in 15. */
        z_stream z = {.next_in = in,
                      .avail_in = (uInt)m->csize,
                      .next_out = q->cbuf,
                      .avail_out = (uInt)q->cluster_size};
        if (inflateInit2(&z, -15) != Z_OK)
                return -ENOMEM;
        int zr = inflate(&z, Z_FINISH);
        uint64_t out = q->cluster_size - z.avail_out;
        inflateEnd(&z);
        if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR && zr != Z_OK) || out != q->cluster_size)
                return CORRUPT("compressed cluster at 0x%" PRIx64
                               " does not inflate to a full cluster (%" PRIu64 " bytes)",
                               m->host, out);
        q->cbuf_entry = m->entry;
        return 0;
}

/* Read [guest, guest + len) of the backing file (zeros past its end) into iov at skip. */
static int read_backing(struct qcow2 *q, uint64_t guest, const struct iovec *iov, int iovcnt, size_t skip,
                        size_t len, struct iovec *scratch)
{
        uint64_t have = 0;
        if (q->backing && guest < disk_size(q->backing))
                have = MIN((uint64_t)len, disk_size(q->backing) - guest);
        if (have) {
                int k = iovec_slice(iov, iovcnt, skip, have, scratch, iovcnt);
                int r = disk_read(q->backing, guest, scratch, k);
                if (r < 0)
                        return r;
        }
        if (have < len)
                iovec_memset(iov, iovcnt, skip + have, 0, len - have);
        return 0;
}

static int read_piece(struct disk *d, const struct disk_piece *p, size_t *ret_done)
{
        struct qcow2 *q = d->priv;
        size_t n = p->len;
        struct mapping m;
        int r = lookup(q, p->offset, &m);
        if (r < 0)
                return r;
        switch (m.kind) {
        case CLUSTER_UNALLOCATED:
                r = read_backing(q, p->offset, p->iov, p->iovcnt, p->skip, n, p->scratch);
                break;
        case CLUSTER_ZERO:
        case CLUSTER_ZERO_ALLOC:
                iovec_memset(p->iov, p->iovcnt, p->skip, 0, n);
                break;
        case CLUSTER_COMPRESSED:
                r = decompress(q, &m);
                if (r >= 0)
                        iovec_from_buf(p->iov, p->iovcnt, p->skip, q->cbuf + p->in_unit, n);
                break;
        default: {
                /* Merge the following clusters while they follow on the host. */
                uint64_t host = m.host + p->in_unit;
                while (n < p->left) {
                        struct mapping next;
                        r = lookup(q, p->offset + n, &next);
                        if (r < 0)
                                return r;
                        if (next.kind != CLUSTER_NORMAL || next.host != host + n)
                                break;
                        n += (size_t)MIN(q->cluster_size, (uint64_t)(p->left - n));
                }
                int k = iovec_slice(p->iov, p->iovcnt, p->skip, n, p->scratch, p->iovcnt);
                r = disk_file_preadv(&d->file, p->scratch, k, host);
                break;
        }
        }
        if (r < 0)
                return r;
        *ret_done = n;
        return 0;
}

static int qcow2_read(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        struct qcow2 *q = d->priv;
        return disk_split_request(d, offset, iov, iovcnt, q->cluster_size, read_piece);
}

/* Refuse a data write that would land on the header, the L1 table or the refcount table. */
static int check_overlap(struct qcow2 *q, uint64_t host)
{
        uint64_t cs = q->cluster_size;
        uint64_t l1_end = q->l1_offset + ALIGN_UP((uint64_t)q->l1_size * 8, cs);
        uint64_t rt_end = q->rt_offset + (uint64_t)q->rt_clusters * cs;
        if (host < cs || (host >= q->l1_offset && host < l1_end) || (host >= q->rt_offset && host < rt_end))
                return CORRUPT("data cluster 0x%" PRIx64 " overlaps the image's metadata", host);
        return 0;
}

static int write_cluster(struct qcow2 *q, uint64_t g, const struct iovec *iov, int iovcnt, size_t skip,
                         size_t n, struct iovec *scratch)
{
        uint64_t in = g & (q->cluster_size - 1);
        struct mapping m;
        int r = lookup(q, g, &m);
        if (r < 0)
                return r;
        if (m.kind == CLUSTER_NORMAL) {
                r = check_overlap(q, m.host);
                if (r < 0)
                        return r;
                int k = iovec_slice(iov, iovcnt, skip, n, scratch, iovcnt);
                return disk_file_pwritev(&q->d->file, scratch, k, m.host + in);
        }

        /* Copy on write: build the whole cluster unless the write covers it. */
        bool whole = n == q->cluster_size;
        if (!whole) {
                struct iovec cv = {q->cbuf, q->cluster_size};
                switch (m.kind) {
                case CLUSTER_UNALLOCATED:
                        q->cbuf_entry = 0;
                        r = read_backing(q, g - in, &cv, 1, 0, q->cluster_size, scratch);
                        break;
                case CLUSTER_COMPRESSED:
                        r = decompress(q, &m);
                        break;
                default:
                        q->cbuf_entry = 0;
                        memset(q->cbuf, 0, q->cluster_size);
                        break;
                }
                if (r < 0)
                        return r;
                q->cbuf_entry = 0;
                iovec_to_buf(iov, iovcnt, skip, q->cbuf + in, n);
        }
        uint64_t host = m.host;
        if (m.kind != CLUSTER_ZERO_ALLOC) {
                r = ensure_l2(q, g, &m);
                if (r < 0)
                        return r;
                r = alloc_cluster(q, &host);
                if (r < 0)
                        return r;
        } else {
                r = check_overlap(q, host);
                if (r < 0)
                        return r;
        }
        if (whole) {
                int k = iovec_slice(iov, iovcnt, skip, n, scratch, iovcnt);
                r = disk_file_pwritev(&q->d->file, scratch, k, host);
        } else
                r = disk_file_pwrite(&q->d->file, q->cbuf, q->cluster_size, host);
        if (r < 0)
                return r;
        r = l2_set(q, m.l2_off, m.l2_index, host | OFLAG_COPIED);
        if (r < 0)
                return r;
        if (m.kind == CLUSTER_COMPRESSED) {
                /* Every host cluster the compressed data touched counted this entry once. */
                uint64_t first = m.host & ~(q->cluster_size - 1);
                uint64_t last = (m.host + m.csize - 1) & ~(q->cluster_size - 1);
                for (uint64_t c = first; c <= last; c += q->cluster_size) {
                        r = refcount_add(q, c, -1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/*
 * Whole clusters from g (cluster aligned, len >= one cluster) in one go: a run of allocated
 * clusters that follow each other on the host is written in place with one pwritev; a run
 * of clusters without a host cluster, inside one L2 table, gets contiguous new clusters,
 * one refcount write per block, one data write and one L2 write. Returns the bytes done,
 * 0 when the first cluster needs the cluster-by-cluster path (compressed, preallocated zero).
 */
static int write_run(struct qcow2 *q, uint64_t g, const struct iovec *iov, int iovcnt, size_t skip,
                     size_t len, struct iovec *scratch, size_t *ret)
{
        uint64_t cs = q->cluster_size;
        struct mapping m;
        int r = lookup(q, g, &m);
        if (r < 0)
                return r;
        bool fresh = m.kind == CLUSTER_UNALLOCATED || m.kind == CLUSTER_ZERO;
        if (!fresh && m.kind != CLUSTER_NORMAL) {
                *ret = 0;
                return 0;
        }
        uint64_t n = 1, max = len / cs;
        uint64_t table_left = q->l2_entries - m.l2_index;
        while (n < max && (!fresh || n < table_left)) {
                struct mapping next;
                r = lookup(q, g + n * cs, &next);
                if (r < 0)
                        return r;
                if (fresh ? (next.kind != CLUSTER_UNALLOCATED && next.kind != CLUSTER_ZERO)
                          : (next.kind != CLUSTER_NORMAL || next.host != m.host + n * cs))
                        break;
                n++;
        }
        uint64_t host = m.host;
        if (fresh) {
                r = ensure_l2(q, g, &m);
                if (r < 0)
                        return r;
                host = reserve(q, n);
                r = refcount_set_range(q, host, n, 1);
        } else
                for (uint64_t i = 0; i < n && r >= 0; i++)
                        r = check_overlap(q, host + i * cs);
        if (r < 0)
                return r;
        int k = iovec_slice(iov, iovcnt, skip, n * cs, scratch, iovcnt);
        r = disk_file_pwritev(&q->d->file, scratch, k, host);
        if (r < 0)
                return r;
        if (fresh) {
                uint8_t *t;
                r = cache_get(q, &q->l2_cache, m.l2_off, false, &t);
                if (r < 0)
                        return r;
                for (uint64_t i = 0; i < n; i++)
                        put_be64(t + (m.l2_index + i) * 8, (host + i * cs) | OFLAG_COPIED);
                r = disk_file_pwrite(&q->d->file, t + m.l2_index * 8, n * 8, m.l2_off + m.l2_index * 8);
                if (r < 0)
                        return r;
        }
        *ret = n * cs;
        return 0;
}

static int write_piece(struct disk *d, const struct disk_piece *p, size_t *ret_done)
{
        struct qcow2 *q = d->priv;
        int r;
        if (p->in_unit == 0 && p->left >= q->cluster_size) {
                r = write_run(q, p->offset, p->iov, p->iovcnt, p->skip, p->left, p->scratch, ret_done);
                if (r < 0 || *ret_done > 0)
                        return r;
        }
        r = write_cluster(q, p->offset, p->iov, p->iovcnt, p->skip, p->len, p->scratch);
        if (r < 0)
                return r;
        *ret_done = p->len;
        return 0;
}

static int qcow2_write(struct disk *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
        struct qcow2 *q = d->priv;
        return disk_split_request(d, offset, iov, iovcnt, q->cluster_size, write_piece);
}

static int qcow2_discard(struct disk *d, uint64_t offset, uint64_t length)
{
        struct qcow2 *q = d->priv;
        uint64_t cs = q->cluster_size;
        for (uint64_t g = ALIGN_UP(offset, cs); g + cs <= offset + length; g += cs) {
                struct mapping m;
                int r = lookup(q, g, &m);
                if (r < 0)
                        return r;
                if (m.kind == CLUSTER_UNALLOCATED || m.kind == CLUSTER_ZERO)
                        continue;
                /* Version 2 has no zero flag: with a backing file, 0 would show its data again. */
                if (q->version < 3 && q->backing)
                        continue;
                r = l2_set(q, m.l2_off, m.l2_index, q->version >= 3 ? OFLAG_ZERO : 0);
                if (r < 0)
                        return r;
                if (m.kind == CLUSTER_COMPRESSED) {
                        uint64_t first = m.host & ~(cs - 1), last = (m.host + m.csize - 1) & ~(cs - 1);
                        for (uint64_t c = first; c <= last && r >= 0; c += cs)
                                r = refcount_add(q, c, -1);
                        q->cbuf_entry = 0;
                } else
                        r = refcount_add(q, m.host, -1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void qcow2_close(struct disk *d)
{
        struct qcow2 *q = d->priv;
        if (!q)
                return;
        disk_close(q->backing);
        cache_free(&q->l2_cache);
        cache_free(&q->rb_cache);
        free(q->l1);
        free(q->rt);
        free(q->cbuf);
        free(q);
        d->priv = NULL;
}

static const struct disk_ops qcow2_ops = {
        .read = qcow2_read,
        .write = qcow2_write,
        .discard = qcow2_discard,
        .close = qcow2_close,
};

/* ---------------------------------------------------------------- open */

bool qcow2_probe(const uint8_t *buf, size_t len)
{
        return len >= 8 && get_be32(buf) == QCOW2_MAGIC;
}

static int read_table(struct qcow2 *q, uint64_t offset, uint64_t entries, uint64_t **ret)
{
        _cleanup_free_ uint64_t *t = malloc(MAX(entries, 1) * sizeof(uint64_t));
        if (!t)
                return -ENOMEM;
        int r = disk_file_pread(&q->d->file, t, entries * 8, offset);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < entries; i++)
                t[i] = be64toh(t[i]);
        *ret = TAKE_PTR(t);
        return 0;
}

/* Header extensions: [start, limit) of the first cluster. Returns the backing format, if named. */
static int parse_extensions(struct qcow2 *q, const uint8_t *h, size_t start, size_t limit, char *ret_fmt,
                            size_t fmt_size)
{
        size_t p = start;
        while (p + 8 <= limit) {
                uint32_t type = get_be32(h + p), len = get_be32(h + p + 4);
                p += 8;
                if (type == EXT_END)
                        return 0;
                if (len > limit - p)
                        return CORRUPT("header extension 0x%" PRIx64 " of %" PRIu64
                                       " bytes runs past the header cluster",
                                       (uint64_t)type, (uint64_t)len);
                switch (type) {
                case EXT_BACKING_FORMAT:
                        if (len >= fmt_size)
                                return CORRUPT("backing format extension of %" PRIu64 " bytes is too long",
                                               (uint64_t)len);
                        memcpy(ret_fmt, h + p, len);
                        ret_fmt[len] = 0;
                        break;
                case EXT_CRYPTO:
                        return err_set(-EOPNOTSUPP, "qcow2: encrypted images are not supported");
                case EXT_DATA_FILE:
                        return err_set(-EOPNOTSUPP, "qcow2: external data files are not supported");
                default:
                        /* Feature names, bitmaps and unknown extensions: nothing to do for I/O. */
                        break;
                }
                p += ALIGN_UP((size_t)len, (size_t)8);
        }
        return 0;
}

static int parse_header(struct qcow2 *q, const uint8_t *h, size_t hlen, char *backing, char *backing_fmt)
{
        struct disk *d = q->d;
        if (hlen < QCOW2_V2_HEADER || get_be32(h) != QCOW2_MAGIC)
                return err_set(-EINVAL, "qcow2: no qcow2 header (file of %" PRIu64 " bytes)", d->file.size);
        q->version = get_be32(h + 4);
        if (q->version != 2 && q->version != 3)
                return err_set(-EOPNOTSUPP, "qcow2: version %u is not supported (2 and 3 are)", q->version);
        q->cluster_bits = get_be32(h + 20);
        if (q->cluster_bits < 9 || q->cluster_bits > 21)
                return err_set(-EINVAL, "qcow2: cluster_bits %u out of range 9..21", q->cluster_bits);
        q->cluster_size = 1ULL << q->cluster_bits;
        q->l2_entries = q->cluster_size / 8;
        q->end = ALIGN_UP(d->file.size, q->cluster_size);
        uint64_t size = get_be64(h + 24);
        if (size > QCOW2_MAX_SIZE)
                return err_set(-EINVAL, "qcow2: size %" PRIu64 " exceeds %" PRIu64, size, QCOW2_MAX_SIZE);
        d->size = size & ~(uint64_t)(DISK_SECTOR - 1);
        uint32_t crypt = get_be32(h + 32);
        if (crypt != 0)
                return err_set(-EOPNOTSUPP, "qcow2: encrypted images are not supported (crypt_method %u)",
                               crypt);

        size_t hdr_len = QCOW2_V2_HEADER;
        q->refcount_order = 4;
        if (q->version == 3) {
                if (hlen < QCOW2_V3_HEADER)
                        return err_set(-EINVAL, "qcow2: file too short for a version 3 header");
                q->incompat = get_be64(h + 72);
                uint64_t autoclear = get_be64(h + 88);
                q->refcount_order = get_be32(h + 96);
                hdr_len = get_be32(h + 100);
                if (hdr_len < QCOW2_V3_HEADER || hdr_len % 8 || hdr_len > hlen)
                        return err_set(-EINVAL, "qcow2: header_length %zu invalid", hdr_len);
                if (q->refcount_order > 6)
                        return err_set(-EINVAL, "qcow2: refcount_order %u out of range 0..6",
                                       q->refcount_order);
                if (q->incompat & INCOMPAT_DATA_FILE)
                        return err_set(-EOPNOTSUPP, "qcow2: external data files are not supported");
                if (q->incompat & INCOMPAT_EXTL2)
                        return err_set(-EOPNOTSUPP,
                                       "qcow2: extended L2 entries (subclusters) are not supported");
                if (q->incompat & INCOMPAT_COMPRESSION) {
                        uint8_t type = hdr_len > 104 ? h[104] : 0;
                        if (type != 0)
                                return err_set(
                                        -EOPNOTSUPP,
                                        "qcow2: compression type %u (zstd) is not supported, only zlib",
                                        type);
                }
                if (q->incompat & ~INCOMPAT_KNOWN)
                        return err_set(-EOPNOTSUPP, "qcow2: unknown incompatible features 0x%" PRIx64,
                                       q->incompat & ~INCOMPAT_KNOWN);
                if (!d->readonly && (q->incompat & INCOMPAT_DIRTY))
                        return err_set(-EROFS,
                                       "qcow2: image is dirty (lazy refcounts not written back); "
                                       "repair it with 'qemu-img check -r all' or open it read-only");
                if (!d->readonly && (q->incompat & INCOMPAT_CORRUPT))
                        return err_set(-EROFS,
                                       "qcow2: image is marked corrupt; open it read-only or repair it "
                                       "with 'qemu-img check -r all'");
                if (!d->readonly && autoclear) {
                        /* We do not keep bitmaps up to date: clearing the bits tells readers so. */
                        uint8_t zero[8] = {};
                        int r = disk_file_pwrite(&d->file, zero, 8, 88);
                        if (r < 0)
                                return r;
                }
        }
        q->refcount_max = q->refcount_order == 6 ? UINT64_MAX : (1ULL << (1u << q->refcount_order)) - 1;
        q->rb_entries = q->cluster_size * 8 / (1u << q->refcount_order);
        q->csize_shift = 62 - (q->cluster_bits - 8);
        q->csize_mask = (1ULL << (q->cluster_bits - 8)) - 1;

        q->l1_size = get_be32(h + 36);
        q->l1_offset = get_be64(h + 40);
        uint64_t l2_span = q->cluster_size * q->l2_entries;
        uint64_t need = (size + l2_span - 1) / l2_span;
        if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
                return err_set(-EINVAL, "qcow2: l1_size %u exceeds %u entries", q->l1_size,
                               QCOW2_MAX_L1_BYTES / 8);
        if (q->l1_size < need)
                return err_set(-EINVAL,
                               "qcow2: l1_size %u too small for size %" PRIu64 " (needs %" PRIu64 ")",
                               q->l1_size, size, need);
        if (q->l1_offset & (q->cluster_size - 1))
                return err_set(-EINVAL, "qcow2: l1_table_offset 0x%" PRIx64 " is not cluster aligned",
                               q->l1_offset);
        if (q->l1_size &&
            (q->l1_offset == 0 || !range_ok(q->l1_offset, (uint64_t)q->l1_size * 8, d->file.size)))
                return err_set(-EINVAL, "qcow2: l1_table_offset 0x%" PRIx64 " beyond end of file",
                               q->l1_offset);

        q->rt_offset = get_be64(h + 48);
        q->rt_clusters = get_be32(h + 56);
        if (q->rt_offset == 0 || q->rt_offset & (q->cluster_size - 1))
                return err_set(-EINVAL, "qcow2: refcount_table_offset 0x%" PRIx64 " is not cluster aligned",
                               q->rt_offset);
        if (q->rt_clusters == 0 || (uint64_t)q->rt_clusters * q->cluster_size > QCOW2_MAX_RT_BYTES)
                return err_set(-EINVAL, "qcow2: refcount_table_clusters %u out of range", q->rt_clusters);
        q->rt_size = (uint64_t)q->rt_clusters * q->cluster_size / 8;
        if (!range_ok(q->rt_offset, q->rt_size * 8, q->end))
                return err_set(-EINVAL, "qcow2: refcount_table_offset 0x%" PRIx64 " beyond end of file",
                               q->rt_offset);
        q->nb_snapshots = get_be32(h + 60);
        if (!d->readonly && q->nb_snapshots)
                return err_set(-EROFS,
                               "qcow2: writing images with internal snapshots (%u) is not supported; "
                               "open it read-only",
                               q->nb_snapshots);

        uint64_t bf_off = get_be64(h + 8);
        uint32_t bf_len = get_be32(h + 16);
        uint64_t hdr_limit = MIN((uint64_t)hlen, q->cluster_size);
        if (bf_off) {
                if (bf_len == 0 || bf_len > QCOW2_MAX_BACKING_NAME)
                        return err_set(-EINVAL, "qcow2: backing_file_size %u out of range 1..%u", bf_len,
                                       QCOW2_MAX_BACKING_NAME);
                if (bf_off < hdr_len || !range_ok(bf_off, bf_len, hdr_limit))
                        return err_set(-EINVAL,
                                       "qcow2: backing_file_offset 0x%" PRIx64 " outside the header cluster",
                                       bf_off);
                memcpy(backing, h + bf_off, bf_len);
                backing[bf_len] = 0;
                if (strlen(backing) != bf_len)
                        return err_set(-EINVAL, "qcow2: backing file name contains a NUL byte");
                hdr_limit = bf_off;
        }
        return parse_extensions(q, h, hdr_len, (size_t)hdr_limit, backing_fmt, 32);
}

int qcow2_open(struct disk *d)
{
        struct qcow2 *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        d->priv = q;
        d->ops = &qcow2_ops;
        q->d = d;
        q->l2_cache.what = "l2 table";
        q->rb_cache.what = "refcount block";

        /* The header with its extensions and backing name lies in the first cluster (at most 2 MiB). */
        size_t hlen = (size_t)MIN(d->file.size, (uint64_t)1 << 21);
        _cleanup_free_ uint8_t *h = malloc(MAX(hlen, (size_t)1));
        if (!h)
                return -ENOMEM;
        int r = disk_file_pread(&d->file, h, hlen, 0);
        if (r < 0)
                return r;
        char backing[QCOW2_MAX_BACKING_NAME + 1] = "", backing_fmt[32] = "";
        r = parse_header(q, h, hlen, backing, backing_fmt);
        if (r < 0)
                return r;
        r = read_table(q, q->l1_offset, q->l1_size, &q->l1);
        if (r < 0)
                return r;
        r = read_table(q, q->rt_offset, q->rt_size, &q->rt);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < q->rt_size; i++) {
                if (q->rt[i] & (q->cluster_size - 1) || !range_ok(q->rt[i], q->cluster_size, q->end))
                        return err_set(-EINVAL,
                                       "qcow2: refcount table entry %" PRIu64 ": block offset 0x%" PRIx64
                                       " beyond end of file or unaligned",
                                       i, q->rt[i]);
        }
        q->cbuf = malloc(q->cluster_size);
        if (!q->cbuf)
                return -ENOMEM;
        if (backing[0]) {
                enum disk_format bf = _DISK_FORMAT_INVALID;
                if (backing_fmt[0]) {
                        bf = disk_format_from_string(backing_fmt);
                        if (bf < 0)
                                return err_set(-EOPNOTSUPP, "qcow2: backing format '%s' is not supported",
                                               backing_fmt);
                }
                r = disk_open_backing(d, backing, bf, &q->backing);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------- create */

int qcow2_create(const char *path, const struct disk_create_options *o)
{
        unsigned version = o->qcow2_version ? o->qcow2_version : 3;
        unsigned cb = o->qcow2_cluster_bits ? o->qcow2_cluster_bits : 16;
        if (version != 2 && version != 3)
                return err_set(-EINVAL, "qcow2: version %u is not supported (2 and 3 are)", version);
        if (cb < 9 || cb > 21)
                return err_set(-EINVAL, "qcow2: cluster_bits %u out of range 9..21", cb);
        uint64_t cs = 1ULL << cb, size = o->size;
        const char *bfmt = NULL;
        if (o->backing) {
                size_t bl = strlen(o->backing);
                if (bl == 0 || bl > QCOW2_MAX_BACKING_NAME)
                        return err_set(-EINVAL, "qcow2: backing file name must be 1..%u bytes",
                                       QCOW2_MAX_BACKING_NAME);
                /* Open the backing file as a reader would, to learn its format and size. */
                struct disk tmp = {.path = (char *)path};
                struct disk *b;
                int r = disk_open_backing(&tmp, o->backing, o->backing_format, &b);
                if (r < 0)
                        return r;
                bfmt = disk_format_to_string(disk_get_format(b));
                if (disk_get_format(b) == DISK_FORMAT_VHD)
                        bfmt = "vpc"; /* QEMU's name, so that qemu-img reads the chain too */
                if (size == 0)
                        size = disk_size(b);
                disk_close(b);
        }
        if (size == 0 || size > QCOW2_MAX_SIZE)
                return err_set(-EINVAL, "qcow2: size %" PRIu64 " out of range", size);
        uint64_t l2_span = cs * (cs / 8);
        uint64_t l1_size = (size + l2_span - 1) / l2_span;
        if (l1_size * 8 > QCOW2_MAX_L1_BYTES)
                return err_set(-EFBIG,
                               "qcow2: size %" PRIu64
                               " needs an l1 table above %u bytes; use larger clusters",
                               size, QCOW2_MAX_L1_BYTES);
        uint64_t l1_clusters = ALIGN_UP(l1_size * 8, cs) / cs;
        uint64_t used = 3 + l1_clusters; /* header, refcount table, refcount block, L1 */
        uint64_t rb_entries = cs * 8 / 16;
        if (used > rb_entries)
                return err_set(-EFBIG, "qcow2: size %" PRIu64 " too large for %" PRIu64 "-byte clusters",
                               size, cs);

        _cleanup_free_ uint8_t *buf = calloc(3, cs);
        if (!buf)
                return -ENOMEM;
        uint8_t *h = buf, *rt = buf + cs, *rb = buf + 2 * cs;
        put_be32(h, QCOW2_MAGIC);
        put_be32(h + 4, version);
        put_be32(h + 20, cb);
        put_be64(h + 24, size);
        put_be32(h + 36, (uint32_t)l1_size);
        put_be64(h + 40, 3 * cs);
        put_be64(h + 48, cs);
        put_be32(h + 56, 1);
        size_t p = QCOW2_V2_HEADER;
        if (version == 3) {
                put_be32(h + 96, 4);
                put_be32(h + 100, QCOW2_V3_HEADER_CREATE);
                p = QCOW2_V3_HEADER_CREATE;
        }
        if (o->backing) {
                size_t fl = strlen(bfmt);
                put_be32(h + p, EXT_BACKING_FORMAT);
                put_be32(h + p + 4, (uint32_t)fl);
                memcpy(h + p + 8, bfmt, fl);
                p += 8 + ALIGN_UP(fl, (size_t)8);
        }
        p += 8; /* end of extensions: type 0, length 0 */
        if (o->backing) {
                size_t bl = strlen(o->backing);
                if (p + bl > cs)
                        return err_set(-EINVAL,
                                       "qcow2: backing file name does not fit the %" PRIu64 "-byte header",
                                       cs);
                put_be64(h + 8, p);
                put_be32(h + 16, (uint32_t)bl);
                memcpy(h + p, o->backing, bl);
        }
        put_be64(rt, 2 * cs);
        for (uint64_t i = 0; i < used; i++)
                put_be16(rb + i * 2, 1);

        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                int r = -errno;
                return err_set(r, "cannot create '%s': %s", path, strerror(-r));
        }
        struct disk_file f = {.fd = fd};
        int r = disk_file_pwrite(&f, buf, 3 * cs, 0);
        if (r >= 0)
                r = disk_file_truncate(&f, used * cs);
        if (r < 0) {
                unlink(path);
                return err_set(r, "cannot write '%s': %s", path, strerror(-r));
        }
        return 0;
}
