/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net.h - network device (virtio 1.2 §5.1) on a host tap device. */
#pragma once

#include "virtio-pci.h"
#include "vm.h"

/* Attach to tap c->tap (created, non-persistent, if it does not exist) and create the device. */
int virtio_net_new(struct vm *vm, const struct vm_net_config *c, struct virtio_dev **ret);
/* Open /dev/net/tun for the tap named name (IFF_TAP | IFF_NO_PI, non-blocking). Returns the fd. */
int virtio_net_open_tap(const char *name);
