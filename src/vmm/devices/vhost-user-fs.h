/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user-fs.h - the virtio file system device (virtio 1.2 §5.11, device id 26) whose
 * queues a vhost-user backend serves (virtiofsd): --fs socket=PATH,tag=TAG.
 */
#pragma once

#include "virtio-pci.h"
#include "vm.h"

/*
 * Connect to the backend listening at socket and make the device that shows tag to the
 * guest. Guest RAM must be shared (guest_memory_init_shared()). Main thread, before the vCPUs run.
 */
int vhost_user_fs_new(struct vm *vm, const struct vm_fs_config *c, struct virtio_dev **ret);
