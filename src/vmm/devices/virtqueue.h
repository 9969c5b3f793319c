/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtqueue.h - the split virtqueue (virtio 1.2 §2.7) seen from the device side.
 *
 * The guest owns the rings and writes them concurrently; nothing it writes is trusted.
 * virtqueue_activate() checks that the three ring areas lie in guest RAM with the
 * alignment §2.7 requires and keeps host pointers to them (RAM never moves).
 * virtqueue_pop() walks one descriptor chain: every buffer address and length is
 * translated through guest_memory_ptr(), a chain longer than the queue (a loop), a
 * nested or misaligned indirect table, a write-only buffer followed by a read-only one,
 * or a head index out of range makes it return -EINVAL, after which the device must
 * be marked DEVICE_NEEDS_RESET and the queue left alone.
 *
 * struct virtqueue_state is the plain, serializable part (the driver-visible
 * registers and the device's ring indices). A queue is used by one thread at a time.
 */
#pragma once

#include <stdint.h>
#include <sys/uio.h>

#include "memory.h"

#define VIRTQUEUE_MAX_SIZE 1024
/* Buffers in one chain (direct + indirect); larger chains are refused as malformed. */
#define VIRTQUEUE_MAX_IOV 1024

struct virtqueue_state {
        uint16_t size; /* queue_size: a power of two <= max_size */
        uint16_t max_size;
        bool ready;
        uint16_t msix_vector;
        uint64_t desc_addr;
        uint64_t avail_addr;
        uint64_t used_addr;
        uint16_t last_avail; /* next avail ring slot to take */
        uint16_t used_idx;   /* next used ring slot to fill */
        uint16_t signalled_used;
        bool signalled_used_valid;
};

struct virtq_desc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        uint16_t next;
};

struct virtqueue {
        struct virtqueue_state s;
        bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
        const struct guest_memory *mem;
        struct virtq_desc *desc;
        uint16_t *avail; /* flags, idx, ring[size], used_event */
        uint8_t *used;   /* flags, idx, ring[size] of {id, len}, avail_event */
};

/* One popped chain: readable (out) buffers first, then writable (in) ones. */
struct virtqueue_chain {
        uint16_t head;
        int n_out;
        int n_in;
        size_t out_len;
        size_t in_len;
        struct iovec iov[VIRTQUEUE_MAX_IOV]; /* out buffers at [0, n_out), in at [n_out, n_out + n_in) */
};

/* Check the ring addresses and map them. -EINVAL when they are not valid guest RAM. */
int virtqueue_activate(struct virtqueue *q, const struct guest_memory *m, bool event_idx);
void virtqueue_reset(struct virtqueue *q, uint16_t max_size);
/*
 * 1 and a chain, 0 when the ring is empty, -EINVAL when the guest broke the ring. With
 * event indices it also moves avail_event to what has been taken, before it looks at
 * the ring, so a device that pops until 0 never misses a notification.
 */
int virtqueue_pop(struct virtqueue *q, struct virtqueue_chain *c);
/* Give back the last popped chain (no used entry is written): the device will retry it. */
void virtqueue_unpop(struct virtqueue *q);
/* Put head on the used ring with len bytes written into its in buffers. */
void virtqueue_push(struct virtqueue *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last one (§2.7.10). */
bool virtqueue_should_notify(struct virtqueue *q);
/* Ask for (or stop asking for) notifications of new buffers (§2.7.7, §2.7.10). */
void virtqueue_enable_notify(struct virtqueue *q, bool on);
bool virtqueue_has_buffers(struct virtqueue *q);
