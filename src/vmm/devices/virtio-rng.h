/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng.h - entropy device (virtio 1.2 §5.4): fills the guest's buffers from getrandom(). */
#pragma once

#include "virtio-pci.h"

int virtio_rng_new(struct vm *vm, struct virtio_dev **ret);
