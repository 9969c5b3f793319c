/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256-kernel.c - SHA-256 computed by the kernel's crypto API (AF_ALG, "hash"/"sha256").
 *
 * For hull-runtime, which hashes a few kilobytes per container start (the seccomp cache key)
 * and must not pay for loading and relocating libcrypto (about a millisecond and half a MiB
 * of RSS on every start). Everything else uses sha256.c (OpenSSL). Returns -EAFNOSUPPORT
 * or -ENOENT where the kernel lacks CONFIG_CRYPTO_USER_API_HASH or sha256; callers treat
 * that as "no hash available", never as a reason to fail.
 */
#include <linux/if_alg.h>
#include <sys/socket.h>

#include "sha256.h"

int sha256_kernel_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
        static const char hexd[] = "0123456789abcdef";
        struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "hash", .salg_name = "sha256" };
        _cleanup_close_ int tfm = -EBADF, op = -EBADF;
        unsigned char md[32];
        const char *p = data;

        tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (tfm < 0)
                return negative_errno();
        if (bind(tfm, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        op = accept4(tfm, NULL, NULL, SOCK_CLOEXEC);
        if (op < 0)
                return negative_errno();
        do {
                size_t chunk = MIN(len, (size_t)1 << 16);
                ssize_t k = send(op, p, chunk, len > chunk ? MSG_MORE : 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                len -= (size_t)k;
        } while (len > 0);
        if (read(op, md, sizeof(md)) != (ssize_t)sizeof(md))
                return -EIO;
        for (size_t i = 0; i < sizeof(md); i++) {
                hex[2 * i] = hexd[md[i] >> 4];
                hex[2 * i + 1] = hexd[md[i] & 15];
        }
        hex[SHA256_HEX_LEN] = 0;
        return 0;
}
