/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iovec.c - copying between iovec arrays (guest buffers of a descriptor chain) and flat
 * buffers, and slicing an iovec array (see iovec.h).
 */
#include <stdint.h>

#include "iovec.h"

size_t iovec_length(const struct iovec *iov, int iovcnt)
{
        size_t n = 0;
        for (int i = 0; i < iovcnt; i++)
                n += iov[i].iov_len;
        return n;
}

static size_t iovec_copy(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len,
                         bool to_buf)
{
        size_t done = 0;
        for (int i = 0; i < iovcnt && done < len; i++) {
                if (skip >= iov[i].iov_len) {
                        skip -= iov[i].iov_len;
                        continue;
                }
                size_t n = MIN(iov[i].iov_len - skip, len - done);
                uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
                if (to_buf)
                        memcpy((uint8_t *)buf + done, p, n);
                else
                        memcpy(p, (uint8_t *)buf + done, n);
                done += n;
                skip = 0;
        }
        return done;
}

size_t iovec_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len)
{
        return iovec_copy(iov, iovcnt, skip, buf, len, true);
}

size_t iovec_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf, size_t len)
{
        return iovec_copy(iov, iovcnt, skip, (void *)buf, len, false);
}

size_t iovec_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len)
{
        size_t done = 0;
        for (int i = 0; i < iovcnt && done < len; i++) {
                if (skip >= iov[i].iov_len) {
                        skip -= iov[i].iov_len;
                        continue;
                }
                size_t n = MIN(iov[i].iov_len - skip, len - done);
                memset((uint8_t *)iov[i].iov_base + skip, c, n);
                done += n;
                skip = 0;
        }
        return done;
}

int iovec_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len, struct iovec *out, int max_out)
{
        int n = 0;
        for (int i = 0; i < iovcnt && len > 0 && n < max_out; i++) {
                if (skip >= iov[i].iov_len) {
                        skip -= iov[i].iov_len;
                        continue;
                }
                size_t l = MIN(iov[i].iov_len - skip, len);
                out[n++] = (struct iovec){(uint8_t *)iov[i].iov_base + skip, l};
                len -= l;
                skip = 0;
        }
        return n;
}
