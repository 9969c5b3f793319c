/* SPDX-License-Identifier: Apache-2.0 */
/* test-vmm-memory.c - guest memory layout and checked translation, iovec helpers. */
#include <sys/uio.h>

#include "layout.h"
#include "iovec.h"
#include "memory.h"
#include "test.h"

TEST(layout_with_high_memory)
{
        struct guest_memory m;
        ASSERT_OK(guest_memory_init(&m, 4ULL << 30));
        ASSERT_EQ(m.n_regions, 2);
        ASSERT_EQ(m.regions[0].size, LAYOUT_LOWMEM_MAX);
        ASSERT_EQ(m.regions[1].gpa, LAYOUT_HIGHMEM);
        ASSERT_EQ(m.regions[1].size, (4ULL << 30) - LAYOUT_LOWMEM_MAX);
        ASSERT_TRUE(guest_memory_ptr(&m, LAYOUT_LOWMEM_MAX - 1, 1) != NULL);
        ASSERT_TRUE(guest_memory_ptr(&m, LAYOUT_LOWMEM_MAX, 1) == NULL);     /* the PCI hole */
        ASSERT_TRUE(guest_memory_ptr(&m, LAYOUT_LOWMEM_MAX - 1, 2) == NULL); /* straddles the hole */
        ASSERT_TRUE(guest_memory_ptr(&m, LAYOUT_HIGHMEM, 4096) != NULL);
        guest_memory_done(&m);
}

TEST(sizes_are_checked)
{
        struct guest_memory m;
        ASSERT_ERR(guest_memory_init(&m, 1 << 20), -EINVAL);
        ASSERT_ERR(guest_memory_init(&m, (64ULL << 20) + 1), -EINVAL);
}

TEST(translation_never_wraps)
{
        struct guest_memory m;
        ASSERT_OK(guest_memory_init_flat(&m, 1 << 20));
        ASSERT_TRUE(guest_memory_ptr(&m, 0, 1 << 20) != NULL);
        ASSERT_TRUE(guest_memory_ptr(&m, 0, (1 << 20) + 1) == NULL);
        ASSERT_TRUE(guest_memory_ptr(&m, 1, UINT64_MAX) == NULL);
        ASSERT_TRUE(guest_memory_ptr(&m, UINT64_MAX, 2) == NULL);
        ASSERT_TRUE(guest_memory_ptr(&m, (1 << 20) - 1, 1) != NULL);
        uint8_t b[4] = {1, 2, 3, 4}, c[4];
        ASSERT_ERR(guest_memory_write(&m, (1 << 20) - 2, b, 4), -EFAULT);
        ASSERT_OK(guest_memory_write(&m, 100, b, 4));
        ASSERT_OK(guest_memory_read(&m, 100, c, 4));
        ASSERT_EQ(memcmp(b, c, 4), 0);
        guest_memory_done(&m);
}

TEST(iov_helpers)
{
        char a[4], b[6], out[10];
        struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}}, s[4];

        ASSERT_EQ(iovec_length(iov, 2), 10);
        ASSERT_EQ(iovec_from_buf(iov, 2, 2, "hello!!", 7), 7);
        ASSERT_EQ(memcmp(a + 2, "he", 2), 0);
        ASSERT_EQ(memcmp(b, "llo!!", 5), 0);
        ASSERT_EQ(iovec_to_buf(iov, 2, 3, out, 100), 7);
        ASSERT_EQ(memcmp(out, "ello!!", 6), 0);
        int n = iovec_slice(iov, 2, 3, 4, s, 4);
        ASSERT_EQ(n, 2);
        ASSERT_TRUE(s[0].iov_base == a + 3 && s[0].iov_len == 1);
        ASSERT_TRUE(s[1].iov_base == b && s[1].iov_len == 3);
        ASSERT_EQ(iovec_slice(iov, 2, 10, 5, s, 4), 0);
}
