/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iovec.h - helpers for iovec arrays, which is how a virtqueue chain's buffers reach the
 * device models and the disk backends: copy a header out of them, a status in, zero a part of
 * them, or hand a slice of them to readv/writev. Lengths are bounded by the iovecs themselves; the
 * functions return how much they copied or how many entries they wrote.
 */
#pragma once

#include <stdint.h>
#include <sys/uio.h>

#include "macro.h"

size_t iovec_length(const struct iovec *iov, int iovcnt);
/* Copy up to len bytes starting at byte skip of the iovec array into buf, or from buf into it. */
size_t iovec_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len);
size_t iovec_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf, size_t len);
/* Set len bytes starting at byte skip to c. Returns how many were set. */
size_t iovec_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len);
/*
 * Fill out[] with the part of iov starting at byte skip and at most len bytes long.
 * Returns the number of entries written (at most max_out).
 */
int iovec_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len, struct iovec *out,
                int max_out);
