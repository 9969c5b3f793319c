/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock.h - socket device (virtio 1.2 §5.10) served by the VMM itself, with the
 * host side on Unix sockets (there is no /dev/vhost-vsock on hull's hosts):
 *   - host to guest: connect to the Unix socket uds, write "CONNECT <port>\n", wait for
 *     "OK <host port>\n"; the stream then carries the connection (EOF when it closes);
 *   - guest to host: a guest connection to CID 2, port P is connected to the Unix socket
 *     "<uds>_<P>", which a host program listens on.
 */
#pragma once

#include "virtio-pci.h"
#include "vm.h"

/*
 * Listen on uds (which must not exist yet; it is removed at free) for guest cid. io_vcpu: the
 * transmit queue is served on the vCPU thread that notified (docs/vmm.md, "io=").
 */
int virtio_vsock_new(struct vm *vm, uint64_t cid, const char *uds, bool io_vcpu, struct virtio_dev **ret);

/*
 * Snapshot templates: the guest's first connection request to host port `port` is not
 * connected but held, and fn(opaque) is called (the thread serving the transmit queue, the
 * device lock held: fn must only schedule work). virtio_vsock_release() later connects the held request to <uds>_<port> as
 * if it had just arrived; a held request is part of the device's snapshot state, so a
 * restored device releases the request its snapshot held. Both on the I/O thread.
 */
void virtio_vsock_hold_port(struct virtio_dev *vd, uint32_t port, void (*fn)(void *opaque), void *opaque);
void virtio_vsock_release(struct virtio_dev *vd);
