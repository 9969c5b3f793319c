/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk.h - block device (virtio 1.2 §5.2) on a struct disk (src/vmm/disk/disk.h):
 * raw, qcow2 or VHD, read-only or read-write, flush, optional O_DIRECT.
 */
#pragma once

#include "virtio-pci.h"
#include "vm.h"

/* Open the image of c (unless c->late) and create the device; c must outlive it (attach reads it). */
int virtio_blk_new(struct vm *vm, const struct vm_disk_config *c, struct virtio_dev **ret);

/*
 * Snapshot templates: show the guest a capacity of 0 and refuse every request until
 * virtio_blk_reveal() gives the disk's real size with a configuration-change interrupt
 * (virtio 1.2 §4.1.4.3, §5.2.6), which Linux handles by re-reading the capacity.
 */
void virtio_blk_hide(struct virtio_dev *vd);
void virtio_blk_reveal(struct virtio_dev *vd);

/*
 * A disk given with `late` (docs/vmm.md, "Disks attached late"): the device is there from
 * the start, with capacity 0 and no image, so that the VM can boot while its image is still
 * being made; virtio_blk_attach() (the API's attach-disks, on the I/O thread) opens the image
 * and gives its size with a configuration-change interrupt, as a reveal does. 0 (also when
 * attached already) or an error naming the image. virtio_blk_pending(): late and not yet open.
 */
int virtio_blk_attach(struct virtio_dev *vd);
bool virtio_blk_pending(struct virtio_dev *vd);
