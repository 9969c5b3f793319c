/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-virtqueue - the split virtqueue against a hostile guest. The input is a guest
 * memory image: its first bytes choose the queue size, the ring addresses and whether
 * event indices are in use, and the rest fills guest RAM, so descriptor tables,
 * indirect tables, avail rings and buffer addresses are all attacker-chosen. Every
 * chain that virtqueue_pop() returns must lie inside guest memory (ASan catches any
 * access outside the mapping), and popping ends in a bounded number of steps.
 */
#include <stdint.h>
#include <string.h>

#include "iovec.h"
#include "memory.h"
#include "virtqueue.h"

#define MEM_SIZE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_memory mem;
static struct virtqueue_chain chain;

static uint16_t rd16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct virtqueue q;

        if (size < 8)
                return 0;
        if (!mem.n_regions && guest_memory_init_flat(&mem, MEM_SIZE) < 0)
                return 0;
        uint16_t qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
        bool event_idx = data[1] & 1;
        virtqueue_reset(&q, 256);
        q.s.size = qsize;
        q.s.desc_addr = rd16(data + 2) & ~0xfULL;
        q.s.avail_addr = rd16(data + 4) & ~0x1ULL;
        q.s.used_addr = rd16(data + 6) & ~0x3ULL;
        memset(mem.regions[0].hva, 0, MEM_SIZE);
        memcpy(mem.regions[0].hva, data + 8, size - 8 < MEM_SIZE ? size - 8 : MEM_SIZE);
        if (virtqueue_activate(&q, &mem, event_idx) < 0)
                return 0;
        for (unsigned i = 0; i < 2u * qsize + 2; i++) {
                int r = virtqueue_pop(&q, &chain);
                if (r <= 0)
                        break;
                /* Touch every byte the device would: each buffer must be guest RAM. */
                for (int j = 0; j < chain.n_out + chain.n_in; j++) {
                        volatile uint8_t *p = chain.iov[j].iov_base;
                        if (chain.iov[j].iov_len) {
                                (void)p[0];
                                (void)p[chain.iov[j].iov_len - 1];
                        }
                }
                if (chain.n_in > 0)
                        iovec_from_buf(chain.iov + chain.n_out, chain.n_in, 0, "x", 1);
                virtqueue_push(&q, chain.head, (uint32_t)chain.in_len);
                (void)virtqueue_should_notify(&q);
                virtqueue_enable_notify(&q, true);
        }
        return 0;
}
