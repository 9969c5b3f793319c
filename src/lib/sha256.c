/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256.c - what sha256.h builds on the digest context: hex output, whole buffers and fds,
 * digest strings. The context itself is sha256-openssl.c (or sha256-builtin.c).
 */
#include "sha256.h"

void sha256_to_hex(const unsigned char md[32], char hex[SHA256_HEX_LEN + 1])
{
        static const char hexd[] = "0123456789abcdef";
        for (size_t i = 0; i < 32; i++) {
                hex[2 * i] = hexd[md[i] >> 4];
                hex[2 * i + 1] = hexd[md[i] & 15];
        }
        hex[SHA256_HEX_LEN] = 0;
}

void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
        struct sha256_ctx *c = sha256_new();

        /* Out of memory: an impossible digest, which matches nothing. */
        if (!c) {
                memset(hex, 'x', SHA256_HEX_LEN);
                hex[SHA256_HEX_LEN] = 0;
                return;
        }
        sha256_update(c, data, len);
        sha256_final_hex(c, hex);
}

int sha256_fd(int fd, char hex[SHA256_HEX_LEN + 1])
{
        struct sha256_ctx *c = sha256_new();
        char buf[65536];

        if (!c)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = negative_errno();
                        sha256_free(c);
                        return r;
                }
                if (k == 0)
                        break;
                sha256_update(c, buf, (size_t)k);
        }
        sha256_final_hex(c, hex);
        return 0;
}

bool digest_is_valid(const char *s)
{
        const char *h = startswith(s, "sha256:");
        if (!h || strlen(h) != SHA256_HEX_LEN)
                return false;
        for (; *h; h++)
                if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
                        return false;
        return true;
}
