/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk.h - block device (virtio 1.2 §5.2) on a struct disk (src/vmm/disk/disk.h):
 * raw, qcow2 or VHD, read-only or read-write, flush, optional O_DIRECT.
 */
#pragma once

#include "virtio-pci.h"
#include "vm.h"

/* Open the image of c and create the device. */
int virtio_blk_new(struct vm *vm, const struct vm_disk_config *c, struct virtio_dev **ret);
