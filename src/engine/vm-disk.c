/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-disk.c - `hull disk`: convert, inspect and resize disk images through hull's block
 * backends (src/vmm/disk/disk.h: raw, qcow2, VHD), so that what hull makes is what
 * hull-vmm reads, and checked against qemu-img in the tests.
 *
 * Convert copies the virtual disk in 64 KiB chunks into a new image and skips chunks that
 * are all zeros: the new image starts as zeros (a sparse raw file, unallocated qcow2
 * clusters, unallocated VHD blocks, a zero-filled fixed VHD), so the copy stays as sparse as
 * its data. Resize changes a raw file's length in place (ftruncate); a qcow2 or VHD is
 * converted into a new image of the new size that then replaces it (rename: an interrupted
 * resize leaves the old image whole). Shrinking needs --shrink, as with qemu-img, since it
 * drops data. Inspect reports qemu-img info's fields (docs/disk-formats.md), read from the
 * headers (QCOW2: docs/interop/qcow2.txt "Header"; VHD: the footer at the end).
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "util.h"
#include "vm-disk.h"

#define CHUNK (64u * 1024)

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static int copy_data(struct disk *src, struct disk *dst, uint64_t size)
{
        _cleanup_free_ uint8_t *buf = malloc(CHUNK);
        int r;

        if (!buf)
                return -ENOMEM;
        for (uint64_t off = 0; off < size; off += CHUNK) {
                struct iovec iov = {.iov_base = buf, .iov_len = (size_t)MIN((uint64_t)CHUNK, size - off)};
                if ((r = disk_read(src, off, &iov, 1)) < 0)
                        return err_prefix(r, "reading at offset %" PRIu64, off);
                if (all_zero(buf, iov.iov_len))
                        continue;
                if ((r = disk_write(dst, off, &iov, 1)) < 0)
                        return err_prefix(r, "writing at offset %" PRIu64, off);
        }
        return disk_flush(dst);
}

int vm_disk_convert(const char *src_path, enum disk_format src_fmt, const char *dst_path,
                    const struct disk_create_options *dst_opts)
{
        struct disk_open_options so = {.format = src_fmt, .readonly = true};
        struct disk_open_options dop = {.format = dst_opts->format};
        _cleanup_disk_ struct disk *src = NULL, *dst = NULL;
        struct disk_create_options o = *dst_opts;
        uint64_t copy;
        int r;

        if ((r = disk_open(src_path, &so, &src)) < 0)
                return err_prefix(r, "'%s'", src_path);
        if (!o.size)
                o.size = disk_size(src);
        if ((r = disk_create_ext(dst_path, &o)) < 0)
                return err_prefix(r, "creating '%s'", dst_path);
        if ((r = disk_open(dst_path, &dop, &dst)) < 0)
                goto fail;
        copy = MIN(disk_size(src), disk_size(dst));
        if ((r = copy_data(src, dst, copy)) < 0)
                goto fail;
        return 0;
fail:
        if (dst)
                disk_close(TAKE_PTR(dst));
        unlink(dst_path);
        return r;
}

int vm_disk_resize(const char *path, uint64_t size, bool shrink)
{
        struct disk_open_options oo = {.format = _DISK_FORMAT_INVALID, .readonly = true};
        _cleanup_disk_ struct disk *d = NULL;
        _cleanup_free_ char *tmp = NULL;
        struct vm_disk_info info = {};
        enum disk_format f;
        uint64_t old;
        int r;

        if (size == 0 || size % 512)
                return err_set(-EINVAL, "size: %" PRIu64 " is not a positive multiple of 512 bytes", size);
        if ((r = disk_open(path, &oo, &d)) < 0)
                return err_prefix(r, "'%s'", path);
        f = disk_get_format(d);
        old = disk_size(d);
        d = NULL;
        if (size < old && !shrink)
                return err_set(-EINVAL,
                               "shrinking '%s' from %" PRIu64 " to %" PRIu64
                               " bytes drops data: add --shrink",
                               path, old, size);
        if (size == old)
                return 0;
        if (f == DISK_FORMAT_RAW) {
                if (truncate(path, (off_t)size) < 0)
                        return err_set(-errno, "cannot resize '%s': %s", path, strerror(errno));
                return 0;
        }
        if ((r = vm_disk_info(path, &info)) < 0)
                return r;
        if (info.backing_file) {
                vm_disk_info_done(&info);
                return err_set(-EOPNOTSUPP,
                               "'%s' has a backing file: resize of such a qcow2 is not supported", path);
        }
        struct disk_create_options o = {.format = f,
                                        .size = size,
                                        .vhd_fixed = info.vhd_fixed,
                                        .qcow2_cluster_bits = info.cluster_bits};
        vm_disk_info_done(&info);
        tmp = strdup_printf("%s.resize-%d", path, getpid());
        if (!tmp)
                return -ENOMEM;
        if ((r = vm_disk_convert(path, f, tmp, &o)) < 0)
                return r;
        if (rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return err_set(r, "cannot replace '%s': %s", path, strerror(-r));
        }
        return 0;
}

void vm_disk_info_done(struct vm_disk_info *i)
{
        free(i->backing_file);
        i->backing_file = NULL;
}

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
        return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* The qcow2 header's version, cluster bits and backing file name (docs/interop/qcow2.txt). */
static int qcow2_header(int fd, struct vm_disk_info *i)
{
        uint8_t h[32];
        uint64_t boff;
        uint32_t blen;

        if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
                return -EIO;
        i->qcow2_version = be32(h + 4);
        boff = be64(h + 8);
        blen = be32(h + 16);
        i->cluster_bits = be32(h + 20);
        if (boff && blen) {
                if (blen > 1023)
                        return err_set(-EINVAL, "qcow2 header: backing file name of %u bytes", blen);
                i->backing_file = calloc(1, blen + 1);
                if (!i->backing_file)
                        return -ENOMEM;
                if (pread(fd, i->backing_file, blen, (off_t)boff) != (ssize_t)blen)
                        return err_set(-EIO, "qcow2 header: the backing file name is outside the file");
        }
        return 0;
}

int vm_disk_info(const char *path, struct vm_disk_info *ret)
{
        struct disk_open_options oo = {.format = _DISK_FORMAT_INVALID, .readonly = true};
        _cleanup_disk_ struct disk *d = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct vm_disk_info i = {};
        struct stat st;
        int r;

        if ((r = disk_open(path, &oo, &d)) < 0)
                return err_prefix(r, "'%s'", path);
        i.format = disk_get_format(d);
        i.virtual_size = disk_size(d);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        i.actual_size = (uint64_t)st.st_blocks * 512;
        i.file_size = (uint64_t)st.st_size;
        if (i.format == DISK_FORMAT_QCOW2 && (r = qcow2_header(fd, &i)) < 0) {
                vm_disk_info_done(&i);
                return r;
        }
        if (i.format == DISK_FORMAT_VHD) {
                uint8_t footer[512];
                /* Disk type at byte 60 of the footer: 2 fixed, 3 dynamic, 4 differencing. */
                if (pread(fd, footer, sizeof(footer), (off_t)st.st_size - 512) == (ssize_t)sizeof(footer))
                        i.vhd_fixed = be32(footer + 60) == 2;
        }
        *ret = i;
        return 0;
}

int vm_disk_info_json(const char *path, struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct vm_disk_info i;
        int r;

        if (!o)
                return -ENOMEM;
        if ((r = vm_disk_info(path, &i)) < 0)
                return r;
        /* qemu-img info's names: "vpc" is QEMU's name for VHD. */
        json_object_object_add(o, "filename", json_object_new_string(path));
        json_object_object_add(o, "format",
                               json_object_new_string(i.format == DISK_FORMAT_VHD
                                                              ? "vpc"
                                                              : disk_format_to_string(i.format)));
        json_object_object_add(o, "virtual-size", json_object_new_int64((int64_t)i.virtual_size));
        json_object_object_add(o, "actual-size", json_object_new_int64((int64_t)i.actual_size));
        if (i.format == DISK_FORMAT_QCOW2) {
                json_object_object_add(o, "cluster-size", json_object_new_int64(1LL << i.cluster_bits));
                json_object_object_add(o, "compat",
                                       json_object_new_string(i.qcow2_version >= 3 ? "1.1" : "0.10"));
                if (i.backing_file)
                        json_object_object_add(o, "backing-filename",
                                               json_object_new_string(i.backing_file));
        }
        if (i.format == DISK_FORMAT_VHD)
                json_object_object_add(o, "subformat",
                                       json_object_new_string(i.vhd_fixed ? "fixed" : "dynamic"));
        vm_disk_info_done(&i);
        *ret = TAKE_PTR(o);
        return 0;
}
