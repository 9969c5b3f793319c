/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-disk.c - hull-vmm's block backends (src/vmm/disk): every format created, written,
 * reopened and read back; qcow2 backing chains and loops; refcount growth; corrupt
 * headers and tables rejected with a message naming the field; bounds; O_DIRECT with
 * unaligned buffers; random corruption of a small image never crashes (ASan).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "disk.h"
#include "error.h"
#include "test.h"
#include "util.h"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
        static char buf[4][256];
        static unsigned k;
        if (!tmpdir[0]) {
                strcpy(tmpdir, "/tmp/hull-test-disk.XXXXXX");
                if (!mkdtemp(tmpdir))
                        abort();
        }
        char *p = buf[k++ % 4];
        snprintf(p, 256, "%s/%s", tmpdir, name);
        return p;
}

__attribute__((destructor)) static void cleanup_tmp(void)
{
        if (tmpdir[0])
                rm_rf(tmpdir);
}

/* The byte every test expects at guest offset o after write_pattern(seed). */
static uint8_t pattern(uint64_t o, unsigned seed)
{
        uint64_t x = (o / 8) * 0x9e3779b97f4a7c15ULL + seed;
        return (uint8_t)(x >> (8 * (o % 8)));
}

static int write_pattern(struct disk *d, uint64_t off, size_t len, unsigned seed)
{
        _cleanup_free_ uint8_t *buf = malloc(len + 3);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                buf[i + 3] = pattern(off + i, seed);
        /* Unaligned buffers, split off the sector grid. */
        size_t a = len / 3 + 1;
        struct iovec v[2] = {{buf + 3, a}, {buf + 3 + a, len - a}};
        return disk_write(d, off, v, 2);
}

/* 1 when [off, off + len) reads as pattern(seed) (or zeros for seed 0), 0 when not, <0 on error. */
static int check_pattern(struct disk *d, uint64_t off, size_t len, unsigned seed)
{
        _cleanup_free_ uint8_t *buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        memset(buf, 0xee, len);
        struct iovec v[3] = {{buf, 512}, {buf + 512, len / 2 - 512}, {buf + len / 2, len - len / 2}};
        if (len < 2048)
                v[0].iov_len = len;
        int r = disk_read(d, off, v, len < 2048 ? 1 : 3);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++) {
                uint8_t want = seed ? pattern(off + i, seed) : 0;
                if (buf[i] != want) {
                        fprintf(stderr, "# offset 0x%" PRIx64 ": 0x%02x != 0x%02x\n", off + i, buf[i], want);
                        return 0;
                }
        }
        return 1;
}

static struct disk *open_disk(const char *path, bool readonly)
{
        struct disk_open_options o = {.format = _DISK_FORMAT_INVALID, .readonly = readonly};
        struct disk *d = NULL;
        int r = disk_open(path, &o, &d);
        if (r < 0)
                fprintf(stderr, "# open %s: %s\n", path, err_msg(r));
        return d;
}

/* Create, write at interesting places, reopen, check, for one format variant. */
static void roundtrip(const struct disk_create_options *co, const char *name)
{
        const char *p = tmp_path(name);
        ASSERT_OK(disk_create_ext(p, co));
        struct disk *d = open_disk(p, false);
        ASSERT_TRUE(d);
        ASSERT_EQ(disk_get_format(d), co->format);
        ASSERT_EQ(disk_size(d), co->size);
        ASSERT_EQ(check_pattern(d, 0, 65536, 0), 1);
        /* A partial cluster, a cross-cluster/cross-block write, the last sector. */
        ASSERT_OK(write_pattern(d, 1024, 3072, 1));
        ASSERT_OK(write_pattern(d, 2 * 1024 * 1024 - 4096, 200 * 1024, 2));
        ASSERT_OK(write_pattern(d, co->size - 512, 512, 3));
        ASSERT_OK(disk_flush(d));
        ASSERT_EQ(check_pattern(d, 1024, 3072, 1), 1);
        disk_close(d);

        d = open_disk(p, true);
        ASSERT_TRUE(d);
        ASSERT_EQ(check_pattern(d, 0, 1024, 0), 1);
        ASSERT_EQ(check_pattern(d, 1024, 3072, 1), 1);
        ASSERT_EQ(check_pattern(d, 4096, 61440, 0), 1);
        ASSERT_EQ(check_pattern(d, 2 * 1024 * 1024 - 4096, 200 * 1024, 2), 1);
        ASSERT_EQ(check_pattern(d, co->size - 512, 512, 3), 1);
        ASSERT_EQ(check_pattern(d, co->size - 64 * 1024, 63 * 1024, 0), 1);
        /* Overwrite in place after reopen. */
        disk_close(d);
        d = open_disk(p, false);
        ASSERT_TRUE(d);
        ASSERT_OK(write_pattern(d, 1536, 1024, 4));
        ASSERT_EQ(check_pattern(d, 1024, 512, 1), 1);
        ASSERT_EQ(check_pattern(d, 1536, 1024, 4), 1);
        ASSERT_EQ(check_pattern(d, 2560, 1536, 1), 1);
        disk_close(d);
}

TEST(format_names)
{
        ASSERT_STREQ(disk_format_to_string(DISK_FORMAT_QCOW2), "qcow2");
        ASSERT_EQ(disk_format_from_string("raw"), DISK_FORMAT_RAW);
        ASSERT_EQ(disk_format_from_string("vpc"), DISK_FORMAT_VHD);
        ASSERT_EQ(disk_format_from_string("vmdk"), _DISK_FORMAT_INVALID);
        ASSERT_TRUE(disk_format_to_string(_DISK_FORMAT_MAX) == NULL);
}

TEST(raw_roundtrip)
{
        roundtrip(&(struct disk_create_options){.format = DISK_FORMAT_RAW, .size = 8 << 20}, "r.raw");
}

TEST(qcow2_v3_roundtrip)
{
        roundtrip(&(struct disk_create_options){.format = DISK_FORMAT_QCOW2, .size = 8 << 20}, "v3.qcow2");
}

TEST(qcow2_v2_small_clusters_roundtrip)
{
        roundtrip(&(struct disk_create_options){.format = DISK_FORMAT_QCOW2,
                                                .size = 8 << 20,
                                                .qcow2_version = 2,
                                                .qcow2_cluster_bits = 12},
                  "v2.qcow2");
}

TEST(vhd_dynamic_roundtrip)
{
        roundtrip(&(struct disk_create_options){.format = DISK_FORMAT_VHD, .size = 8 << 20}, "d.vhd");
}

TEST(vhd_fixed_roundtrip)
{
        roundtrip(
                &(struct disk_create_options){.format = DISK_FORMAT_VHD, .size = 8 << 20, .vhd_fixed = true},
                "f.vhd");
}

TEST(bounds_and_readonly)
{
        const char *p = tmp_path("b.qcow2");
        ASSERT_OK(disk_create(p, DISK_FORMAT_QCOW2, 1 << 20, NULL));
        _cleanup_disk_ struct disk *d = open_disk(p, false);
        ASSERT_TRUE(d);
        uint8_t buf[1024] = {};
        struct iovec v = {buf, 512};
        ASSERT_ERR(disk_read(d, 1 << 20, &v, 1), -EINVAL);
        ASSERT_ERR(disk_read(d, 100, &v, 1), -EINVAL);
        ASSERT_ERR(disk_write(d, (1 << 20) - 512, &(struct iovec){buf, 1024}, 1), -EINVAL);
        ASSERT_ERR(disk_read(d, UINT64_MAX - 511, &v, 1), -EINVAL);
        v.iov_len = 100;
        ASSERT_ERR(disk_write(d, 0, &v, 1), -EINVAL);
        ASSERT_ERR(disk_discard(d, 512, UINT64_MAX - 511), -EINVAL);
        disk_close(TAKE_PTR(d));
        d = open_disk(p, true);
        ASSERT_TRUE(d);
        v.iov_len = 512;
        ASSERT_ERR(disk_write(d, 0, &v, 1), -EROFS);
        ASSERT_TRUE(disk_is_readonly(d));
        ASSERT_EQ(strlen(disk_serial(d)), 20);
        ASSERT_ERR(disk_create(p, DISK_FORMAT_QCOW2, 1 << 20, NULL), -EEXIST);
        ASSERT_ERR(disk_create(tmp_path("x.raw"), DISK_FORMAT_RAW, 1000, NULL), -EINVAL);
        ASSERT_ERR(disk_create(tmp_path("x.vhd"), DISK_FORMAT_VHD, 1 << 20, p), -EOPNOTSUPP);
}

TEST(qcow2_backing_chain)
{
        const char *base = tmp_path("base.raw");
        ASSERT_OK(disk_create(base, DISK_FORMAT_RAW, 4 << 20, NULL));
        struct disk *d = open_disk(base, false);
        ASSERT_TRUE(d);
        ASSERT_OK(write_pattern(d, 0, 4 << 20, 7));
        disk_close(d);

        /* Relative names are resolved next to the image, as QEMU does. */
        ASSERT_OK(disk_create(tmp_path("mid.qcow2"), DISK_FORMAT_QCOW2, 0, "base.raw"));
        d = open_disk(tmp_path("mid.qcow2"), false);
        ASSERT_TRUE(d);
        ASSERT_EQ(disk_size(d), 4 << 20);
        ASSERT_OK(write_pattern(d, 65536 + 512, 1024, 8));
        disk_close(d);

        const char *top = tmp_path("top.qcow2");
        struct disk_create_options co = {.format = DISK_FORMAT_QCOW2,
                                         .size = 6 << 20,
                                         .backing = "mid.qcow2",
                                         .backing_format = DISK_FORMAT_QCOW2};
        ASSERT_OK(disk_create_ext(top, &co));
        d = open_disk(top, false);
        ASSERT_TRUE(d);
        ASSERT_EQ(check_pattern(d, 0, 65536 + 512, 7), 1);
        ASSERT_EQ(check_pattern(d, 65536 + 512, 1024, 8), 1);
        ASSERT_EQ(check_pattern(d, 65536 + 1536, (4 << 20) - 65536 - 1536, 7), 1);
        /* Past the backing file's end: zeros. */
        ASSERT_EQ(check_pattern(d, 4 << 20, 2 << 20, 0), 1);
        /* A partial write copies the rest of the cluster up from the chain. */
        ASSERT_OK(write_pattern(d, 65536, 512, 9));
        ASSERT_EQ(check_pattern(d, 65536, 512, 9), 1);
        ASSERT_EQ(check_pattern(d, 65536 + 512, 1024, 8), 1);
        ASSERT_EQ(check_pattern(d, 65536 + 1536, 65536 - 1536, 7), 1);
        disk_close(d);
        /* The backing files were not touched. */
        d = open_disk(tmp_path("mid.qcow2"), true);
        ASSERT_TRUE(d);
        ASSERT_EQ(check_pattern(d, 65536, 512, 7), 1);
        disk_close(d);
}

static int patch(const char *path, uint64_t off, const void *data, size_t len)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || pwrite(fd, data, len, (off_t)off) != (ssize_t)len)
                return -errno;
        return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
        put32(p, (uint32_t)(v >> 32));
        put32(p + 4, (uint32_t)v);
}

TEST(qcow2_backing_loop)
{
        ASSERT_OK(disk_create(tmp_path("lx.qcow2"), DISK_FORMAT_QCOW2, 1 << 20, NULL));
        ASSERT_OK(disk_create(tmp_path("lb.qcow2"), DISK_FORMAT_QCOW2, 0, "lx.qcow2"));
        ASSERT_OK(disk_create(tmp_path("lc.qcow2"), DISK_FORMAT_QCOW2, 0, "lb.qcow2"));
        /* Point lb at lc: lc -> lb -> lc -> ... */
        _cleanup_free_ char *h = NULL;
        size_t n;
        ASSERT_OK(read_full_file(tmp_path("lb.qcow2"), 1 << 20, &h, &n));
        char *name = memmem(h, 4096, "lx.qcow2", 8);
        ASSERT_TRUE(name);
        ASSERT_OK(patch(tmp_path("lb.qcow2"), (uint64_t)(name - h) + 1, "c", 1));
        struct disk *d = NULL;
        struct disk_open_options o = {.format = _DISK_FORMAT_INVALID, .readonly = true};
        ASSERT_ERR(disk_open(tmp_path("lc.qcow2"), &o, &d), -ELOOP);
        ASSERT_CONTAINS(err_msg(-ELOOP), "backing chain");
}

/* Open path after writing data at off; expect error r and a message containing what. */
static void expect_open_error(const char *path, uint64_t off, const void *data, size_t len, bool readonly,
                              int r, const char *what)
{
        ASSERT_OK(patch(path, off, data, len));
        struct disk *d = NULL;
        struct disk_open_options o = {.format = _DISK_FORMAT_INVALID, .readonly = readonly};
        err_clear();
        int got = disk_open(path, &o, &d);
        if (got >= 0)
                disk_close(d);
        ASSERT_EQ(got, r);
        ASSERT_CONTAINS(err_msg(got), what);
}

static const char *fresh_qcow2(void)
{
        const char *p = tmp_path("h.qcow2");
        unlink(p);
        if (disk_create(p, DISK_FORMAT_QCOW2, 4 << 20, NULL) < 0)
                return NULL;
        return p;
}

TEST(qcow2_corrupt_headers)
{
        uint8_t b[8];
        put32(b, 4);
        expect_open_error(fresh_qcow2(), 4, b, 4, true, -EOPNOTSUPP, "version 4");
        put32(b, 30);
        expect_open_error(fresh_qcow2(), 20, b, 4, true, -EINVAL, "cluster_bits 30");
        put64(b, 0x7fff0000);
        expect_open_error(fresh_qcow2(), 40, b, 8, true, -EINVAL,
                          "l1_table_offset 0x7fff0000 beyond end of file");
        put64(b, 12345);
        expect_open_error(fresh_qcow2(), 40, b, 8, true, -EINVAL,
                          "l1_table_offset 0x3039 is not cluster aligned");
        put64(b, 0x10000000);
        expect_open_error(fresh_qcow2(), 48, b, 8, true, -EINVAL, "refcount_table_offset");
        put32(b, 0);
        expect_open_error(fresh_qcow2(), 36, b, 4, true, -EINVAL, "l1_size 0 too small");
        put32(b, 1);
        expect_open_error(fresh_qcow2(), 32, b, 4, true, -EOPNOTSUPP, "encrypted");
        put64(b, 1ULL << 4);
        expect_open_error(fresh_qcow2(), 72, b, 8, true, -EOPNOTSUPP, "subclusters");
        put64(b, 1ULL << 2);
        expect_open_error(fresh_qcow2(), 72, b, 8, true, -EOPNOTSUPP, "external data file");
        put64(b, 1ULL << 40);
        expect_open_error(fresh_qcow2(), 72, b, 8, true, -EOPNOTSUPP, "unknown incompatible features");
        put64(b, 1);
        expect_open_error(fresh_qcow2(), 72, b, 8, false, -EROFS, "dirty");
        put32(b, 7);
        expect_open_error(fresh_qcow2(), 96, b, 4, true, -EINVAL, "refcount_order 7");
        uint8_t bf[12];
        put64(bf, 0x200);
        put32(bf + 8, 2000);
        expect_open_error(fresh_qcow2(), 8, bf, 12, true, -EINVAL, "backing_file_size 2000");
        /* The dirty bit does not stop a reader. */
        const char *p = fresh_qcow2();
        put64(b, 1);
        ASSERT_OK(patch(p, 72, b, 8));
        struct disk *d = open_disk(p, true);
        ASSERT_TRUE(d);
        disk_close(d);
}

TEST(qcow2_corrupt_tables)
{
        const char *p = fresh_qcow2();
        struct disk *d = open_disk(p, false);
        ASSERT_TRUE(d);
        ASSERT_OK(write_pattern(d, 0, 4096, 1));
        disk_close(d);
        /* L1 is at cluster 3 (0x30000); its first entry now points at the L2 table. */
        uint8_t b[8];
        put64(b, (1ULL << 63) | 0x40000000);
        ASSERT_OK(patch(p, 0x30000, b, 8));
        d = open_disk(p, false);
        ASSERT_TRUE(d);
        uint8_t buf[512];
        struct iovec v = {buf, 512};
        err_clear();
        ASSERT_ERR(disk_read(d, 0, &v, 1), -EIO);
        ASSERT_CONTAINS(err_msg(-EIO), "l2 table offset 0x40000000 beyond end of file");
        ASSERT_ERR(disk_write(d, 0, &v, 1), -EIO);
        disk_close(d);
        /* An L2 entry pointing past the end. */
        put64(b, (1ULL << 63) | 0x40000);
        ASSERT_OK(patch(p, 0x30000, b, 8));
        put64(b, (1ULL << 63) | 0x7770000);
        ASSERT_OK(patch(p, 0x40000, b, 8));
        d = open_disk(p, false);
        ASSERT_TRUE(d);
        err_clear();
        ASSERT_ERR(disk_read(d, 0, &v, 1), -EIO);
        ASSERT_CONTAINS(err_msg(-EIO), "cluster offset 0x7770000 for guest offset 0x0 beyond end of file");
        /* An L2 entry pointing at the header: writes must not land on metadata. */
        put64(b, (1ULL << 63) | 0x30000);
        ASSERT_OK(patch(p, 0x40000, b, 8));
        disk_close(d);
        d = open_disk(p, false);
        ASSERT_TRUE(d);
        err_clear();
        ASSERT_ERR(disk_write(d, 0, &v, 1), -EIO);
        ASSERT_CONTAINS(err_msg(-EIO), "overlaps the image's metadata");
        disk_close(d);
}

TEST(qcow2_refcount_growth)
{
        /* 512-byte clusters: one refcount block covers 256 clusters and the first refcount
         * table 64 blocks (8 MiB of file), so 10 MiB of data forces new blocks and a new table. */
        const char *p = tmp_path("g.qcow2");
        struct disk_create_options co = {
                .format = DISK_FORMAT_QCOW2, .size = 16 << 20, .qcow2_cluster_bits = 9};
        ASSERT_OK(disk_create_ext(p, &co));
        struct disk *d = open_disk(p, false);
        ASSERT_TRUE(d);
        for (uint64_t off = 0; off < (10 << 20); off += 1 << 20)
                ASSERT_OK(write_pattern(d, off, 1 << 20, 5));
        disk_close(d);
        d = open_disk(p, false);
        ASSERT_TRUE(d);
        ASSERT_EQ(check_pattern(d, 0, 10 << 20, 5), 1);
        ASSERT_EQ(check_pattern(d, 10 << 20, 6 << 20, 0), 1);
        ASSERT_OK(write_pattern(d, 12 << 20, 1 << 20, 6));
        ASSERT_EQ(check_pattern(d, 12 << 20, 1 << 20, 6), 1);
        disk_close(d);
}

TEST(discard)
{
        const char *names[] = {"dr.raw", "dq.qcow2", "dv.vhd"};
        enum disk_format fmts[] = {DISK_FORMAT_RAW, DISK_FORMAT_QCOW2, DISK_FORMAT_VHD};
        for (unsigned i = 0; i < 3; i++) {
                const char *p = tmp_path(names[i]);
                ASSERT_OK(disk_create(p, fmts[i], 4 << 20, NULL));
                _cleanup_disk_ struct disk *d = open_disk(p, false);
                ASSERT_TRUE(d);
                ASSERT_OK(write_pattern(d, 0, 1 << 20, 3));
                ASSERT_OK(disk_discard(d, 0, 1 << 20));
                /* raw and qcow2 deallocate (reads give zeros); VHD keeps the data. */
                if (fmts[i] != DISK_FORMAT_VHD)
                        ASSERT_EQ(check_pattern(d, 0, 1 << 20, 0), 1);
                ASSERT_OK(write_pattern(d, 512, 4096, 4));
                ASSERT_EQ(check_pattern(d, 512, 4096, 4), 1);
        }
}

TEST(direct_io_unaligned_buffers)
{
        const char *fmts[] = {"o.raw", "o.qcow2", "o.vhd"};
        enum disk_format f[] = {DISK_FORMAT_RAW, DISK_FORMAT_QCOW2, DISK_FORMAT_VHD};
        for (unsigned i = 0; i < 3; i++) {
                const char *p = tmp_path(fmts[i]);
                ASSERT_OK(disk_create(p, f[i], 4 << 20, NULL));
                struct disk_open_options o = {.format = _DISK_FORMAT_INVALID, .direct = true};
                _cleanup_disk_ struct disk *d = NULL;
                int r = disk_open(p, &o, &d);
                if (r == -EINVAL)
                        SKIP("the file system of /tmp does not support O_DIRECT");
                ASSERT_OK(r);
                ASSERT_OK(write_pattern(d, 512, 70000 - 70000 % 512, 2));
                ASSERT_EQ(check_pattern(d, 512, 70000 - 70000 % 512, 2), 1);
                ASSERT_EQ(check_pattern(d, 0, 512, 0), 1);
        }
}

TEST(vhd_corrupt)
{
        const char *p = tmp_path("c.vhd");
        ASSERT_OK(disk_create(p, DISK_FORMAT_VHD, 4 << 20, NULL));
        struct stat st;
        ASSERT_OK(stat(p, &st));
        uint64_t footer = (uint64_t)st.st_size - 512;
        uint8_t b[8];
        /* A bad checksum in the trailing footer: the copy at offset 0 is used. */
        put32(b, 0x12345678);
        ASSERT_OK(patch(p, footer + 64, b, 4));
        struct disk *d = open_disk(p, false);
        ASSERT_TRUE(d);
        ASSERT_OK(write_pattern(d, 0, 4096, 1));
        ASSERT_EQ(check_pattern(d, 0, 4096, 1), 1);
        disk_close(d);
        /* Both footers bad. */
        ASSERT_OK(stat(p, &st));
        footer = (uint64_t)st.st_size - 512;
        ASSERT_OK(patch(p, footer + 64, b, 4));
        expect_open_error(p, 64, b, 4, true, -EINVAL, "footer checksum 0x12345678");

        /* A BAT entry past the end of the file. */
        p = tmp_path("c2.vhd");
        ASSERT_OK(disk_create(p, DISK_FORMAT_VHD, 4 << 20, NULL));
        put32(b, 0x00100000);
        ASSERT_OK(patch(p, 1536, b, 4));
        d = open_disk(p, false);
        ASSERT_TRUE(d);
        uint8_t buf[512];
        err_clear();
        ASSERT_ERR(disk_read(d, 0, &(struct iovec){buf, 512}, 1), -EIO);
        ASSERT_CONTAINS(err_msg(-EIO), "bat entry 0: block at 0x20000000 beyond end of file");
        disk_close(d);
        /* A block size that is not a power of two (the dynamic header checksum is checked first). */
        p = tmp_path("c3.vhd");
        ASSERT_OK(disk_create(p, DISK_FORMAT_VHD, 4 << 20, NULL));
        put32(b, 3000);
        expect_open_error(p, 512 + 32, b, 4, true, -EINVAL, "dynamic header checksum");
}

/* A tiny deterministic generator, so that a failure is reproducible. */
static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rng(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

TEST(random_corruption_never_crashes)
{
        const char *names[] = {"m.qcow2", "m.vhd"};
        enum disk_format f[] = {DISK_FORMAT_QCOW2, DISK_FORMAT_VHD};
        for (unsigned k = 0; k < 2; k++) {
                const char *orig = tmp_path(names[k]);
                struct disk_create_options co = {.format = f[k], .size = 1 << 20, .qcow2_cluster_bits = 9};
                ASSERT_OK(disk_create_ext(orig, &co));
                struct disk *d = open_disk(orig, false);
                ASSERT_TRUE(d);
                ASSERT_OK(write_pattern(d, 0, 64 * 1024, 1));
                ASSERT_OK(write_pattern(d, 512 * 1024, 8192, 2));
                disk_close(d);
                _cleanup_free_ char *img = NULL;
                size_t n;
                ASSERT_OK(read_full_file(orig, 64 << 20, &img, &n));
                const char *m = tmp_path("mutant");
                for (unsigned it = 0; it < 300; it++) {
                        _cleanup_free_ char *copy = malloc(n);
                        ASSERT_TRUE(copy);
                        memcpy(copy, img, n);
                        unsigned flips = 1 + rng() % 8;
                        for (unsigned j = 0; j < flips; j++) {
                                /* Mostly metadata: the first 16 KiB and the VHD footer. */
                                size_t at = rng() % 2 ? rng() % MIN(n, (size_t)16384)
                                                      : n - 1 - rng() % MIN(n, 4096);
                                copy[at] = (char)rng();
                        }
                        unlink(m);
                        ASSERT_OK(write_file_atomic(m, copy, n, 0644));
                        struct disk_open_options o = {.format = _DISK_FORMAT_INVALID};
                        struct disk *x = NULL;
                        if (disk_open(m, &o, &x) < 0)
                                continue;
                        uint8_t buf[4096];
                        struct iovec v = {buf, sizeof(buf)};
                        for (uint64_t off = 0; off + sizeof(buf) <= disk_size(x) && off < (1 << 20);
                             off += 60 * 1024)
                                (void)disk_read(x, off, &v, 1);
                        if (disk_size(x) >= 8192)
                                (void)disk_write(x, 4096, &v, 1);
                        (void)disk_discard(x, 0, MIN(disk_size(x), (uint64_t)65536) & ~511ULL);
                        disk_close(x);
                }
        }
}
