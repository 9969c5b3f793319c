/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-virtqueue.c - the split virtqueue against hostile rings: chains are walked
 * only through checked guest addresses, and every malformed shape (loops, heads and
 * next indices out of range, buffers outside RAM, nested or misaligned indirect
 * tables, readable after writable) is refused with -EINVAL.
 */
#include "memory.h"
#include "virtqueue.h"
#include "test.h"

#define QSIZE 8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define DATA  0x10000
#define MEM   (1 << 20)

#define F_NEXT     1
#define F_WRITE    2
#define F_INDIRECT 4

static struct guest_memory mem;
static struct virtqueue q;
static struct virtqueue_chain chain;

static void setup(bool event_idx)
{
        guest_memory_done(&mem);
        ASSERT_OK(guest_memory_init_flat(&mem, MEM));
        virtqueue_reset(&q, QSIZE);
        q.s.desc_addr = DESC;
        q.s.avail_addr = AVAIL;
        q.s.used_addr = USED;
        ASSERT_OK(virtqueue_activate(&q, &mem, event_idx));
}

static void set_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
        struct virtq_desc d = {addr, len, flags, next};
        ASSERT_OK(guest_memory_write(&mem, table + 16 * i, &d, sizeof(d)));
}

/* Make head available as the n-th entry (avail idx becomes n + 1). */
static void make_avail(unsigned n, uint16_t head)
{
        uint16_t idx = (uint16_t)(n + 1);
        ASSERT_OK(guest_memory_write(&mem, AVAIL + 4 + 2 * (n % QSIZE), &head, 2));
        ASSERT_OK(guest_memory_write(&mem, AVAIL + 2, &idx, 2));
}

TEST(empty_ring_pops_nothing)
{
        setup(false);
        ASSERT_EQ(virtqueue_pop(&q, &chain), 0);
        ASSERT_FALSE(virtqueue_has_buffers(&q));
}

TEST(direct_chain_out_then_in)
{
        setup(false);
        set_desc(DESC, 0, DATA, 16, F_NEXT, 1);
        set_desc(DESC, 1, DATA + 0x100, 512, F_NEXT | F_WRITE, 2);
        set_desc(DESC, 2, DATA + 0x400, 1, F_WRITE, 0);
        make_avail(0, 0);
        ASSERT_EQ(virtqueue_pop(&q, &chain), 1);
        ASSERT_EQ(chain.head, 0);
        ASSERT_EQ(chain.n_out, 1);
        ASSERT_EQ(chain.n_in, 2);
        ASSERT_EQ(chain.out_len, 16);
        ASSERT_EQ(chain.in_len, 513);
        ASSERT_TRUE(chain.iov[0].iov_base == guest_memory_ptr(&mem, DATA, 16));
        virtqueue_push(&q, chain.head, 513);
        uint16_t used_idx;
        uint32_t elem[2];
        ASSERT_OK(guest_memory_read(&mem, USED + 2, &used_idx, 2));
        ASSERT_OK(guest_memory_read(&mem, USED + 4, elem, 8));
        ASSERT_EQ(used_idx, 1);
        ASSERT_EQ(elem[0], 0);
        ASSERT_EQ(elem[1], 513);
        ASSERT_EQ(virtqueue_pop(&q, &chain), 0);
}

TEST(loop_in_chain_is_refused)
{
        setup(false);
        set_desc(DESC, 0, DATA, 16, F_NEXT, 1);
        set_desc(DESC, 1, DATA, 16, F_NEXT, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
}

TEST(head_and_next_out_of_range)
{
        setup(false);
        make_avail(0, QSIZE);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
        setup(false);
        set_desc(DESC, 0, DATA, 16, F_NEXT, QSIZE + 3);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
}

TEST(buffer_outside_memory_is_refused)
{
        setup(false);
        set_desc(DESC, 0, MEM - 8, 16, 0, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
        setup(false);
        /* addr + len wraps around 2^64 */
        set_desc(DESC, 0, UINT64_MAX - 4, 16, 0, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
}

TEST(readable_after_writable_is_refused)
{
        setup(false);
        set_desc(DESC, 0, DATA, 16, F_NEXT | F_WRITE, 1);
        set_desc(DESC, 1, DATA, 16, 0, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
}

TEST(avail_idx_too_far_ahead)
{
        setup(false);
        uint16_t idx = QSIZE + 1;
        ASSERT_OK(guest_memory_write(&mem, AVAIL + 2, &idx, 2));
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
}

TEST(indirect_table)
{
        const uint64_t table = 0x5000;
        setup(false);
        set_desc(table, 0, DATA, 16, F_NEXT, 1);
        set_desc(table, 1, DATA + 0x100, 100, F_WRITE, 0);
        set_desc(DESC, 0, table, 32, F_INDIRECT, 0);
        make_avail(0, 0);
        ASSERT_EQ(virtqueue_pop(&q, &chain), 1);
        ASSERT_EQ(chain.n_out, 1);
        ASSERT_EQ(chain.n_in, 1);
        ASSERT_EQ(chain.in_len, 100);
}

TEST(bad_indirect_tables)
{
        const uint64_t table = 0x5000;
        /* nested indirect */
        setup(false);
        set_desc(table, 0, table, 16, F_INDIRECT, 0);
        set_desc(DESC, 0, table, 16, F_INDIRECT, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
        /* length not a multiple of 16 */
        setup(false);
        set_desc(DESC, 0, table, 20, F_INDIRECT, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
        /* loop inside the table */
        setup(false);
        set_desc(table, 0, DATA, 16, F_NEXT, 1);
        set_desc(table, 1, DATA, 16, F_NEXT, 0);
        set_desc(DESC, 0, table, 32, F_INDIRECT, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
        /* table outside memory */
        setup(false);
        set_desc(DESC, 0, MEM - 16, 32, F_INDIRECT, 0);
        make_avail(0, 0);
        ASSERT_ERR(virtqueue_pop(&q, &chain), -EINVAL);
}

TEST(rings_outside_memory_refused_at_activation)
{
        guest_memory_done(&mem);
        ASSERT_OK(guest_memory_init_flat(&mem, MEM));
        virtqueue_reset(&q, QSIZE);
        q.s.desc_addr = MEM - 16;
        q.s.avail_addr = AVAIL;
        q.s.used_addr = USED;
        ASSERT_ERR(virtqueue_activate(&q, &mem, false), -EINVAL);
        q.s.desc_addr = DESC + 8; /* misaligned */
        ASSERT_ERR(virtqueue_activate(&q, &mem, false), -EINVAL);
        q.s.desc_addr = DESC;
        q.s.size = 6; /* not a power of two */
        ASSERT_ERR(virtqueue_activate(&q, &mem, false), -EINVAL);
}

TEST(notification_suppression)
{
        setup(false);
        uint16_t no_interrupt = 1;
        ASSERT_TRUE(virtqueue_should_notify(&q));
        ASSERT_OK(guest_memory_write(&mem, AVAIL, &no_interrupt, 2));
        ASSERT_FALSE(virtqueue_should_notify(&q));

        /* Event index: interrupt only when used_idx passes used_event. */
        setup(true);
        uint16_t used_event = 1;
        ASSERT_OK(guest_memory_write(&mem, AVAIL + 4 + 2 * QSIZE, &used_event, 2));
        virtqueue_push(&q, 0, 0);
        ASSERT_TRUE(virtqueue_should_notify(&q)); /* first one always */
        virtqueue_push(&q, 0, 0);
        ASSERT_TRUE(virtqueue_should_notify(&q)); /* used went 1 -> 2, crossing used_event 1 */
        virtqueue_push(&q, 0, 0);
        ASSERT_FALSE(virtqueue_should_notify(&q)); /* 2 -> 3: driver asked for nothing */
        /* avail_event tells the driver where we are. */
        make_avail(0, 0);
        set_desc(DESC, 0, DATA, 16, 0, 0);
        ASSERT_EQ(virtqueue_pop(&q, &chain), 1);
        virtqueue_enable_notify(&q, true);
        uint16_t avail_event;
        ASSERT_OK(guest_memory_read(&mem, USED + 4 + 8 * QSIZE, &avail_event, 2));
        ASSERT_EQ(avail_event, 1);
}
