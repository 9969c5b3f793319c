/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-disk.h - disk image operations behind `hull disk` (vm-disk.c): convert between raw,
 * qcow2 and VHD, resize, and inspect as qemu-img info does.
 */
#pragma once

#include <stdint.h>

#include "disk.h"

struct json_object;

struct vm_disk_info {
        enum disk_format format;
        uint64_t virtual_size, actual_size, file_size;
        unsigned qcow2_version, cluster_bits; /* qcow2 */
        char *backing_file;                   /* qcow2, may be NULL */
        bool vhd_fixed;                       /* VHD */
};

void vm_disk_info_done(struct vm_disk_info *i);
int vm_disk_info(const char *path, struct vm_disk_info *ret);
/* qemu-img info's JSON fields: filename, format, virtual-size, actual-size, cluster-size... */
int vm_disk_info_json(const char *path, struct json_object **ret);

/*
 * Copy the virtual disk of src (format src_fmt, or _DISK_FORMAT_INVALID to detect) into a
 * new image dst made with dst_opts (size 0: the source's). On failure dst is removed.
 */
int vm_disk_convert(const char *src, enum disk_format src_fmt, const char *dst,
                    const struct disk_create_options *dst_opts);
/* Grow (or, with shrink, shrink) the image to size bytes. */
int vm_disk_resize(const char *path, uint64_t size, bool shrink);
