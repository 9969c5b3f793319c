/* SPDX-License-Identifier: Apache-2.0 */
/* sha256.c - SHA-256 via OpenSSL EVP; see sha256.h. */
#include <openssl/evp.h>

#include "sha256.h"

struct sha256_ctx {
        EVP_MD_CTX *md;
};

struct sha256_ctx *sha256_new(void)
{
        struct sha256_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->md = EVP_MD_CTX_new();
        if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
                sha256_free(c);
                return NULL;
        }
        return c;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
        EVP_DigestUpdate(c->md, data, len);
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
        static const char hexd[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hexd[b[i] >> 4];
                out[2 * i + 1] = hexd[b[i] & 15];
        }
        out[2 * n] = 0;
}

void sha256_final_hex(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char md[32];
        unsigned int n = 0;

        EVP_DigestFinal_ex(c->md, md, &n);
        to_hex(md, 32, hex);
        sha256_free(c);
}

void sha256_free(struct sha256_ctx *c)
{
        if (!c)
                return;
        EVP_MD_CTX_free(c->md);
        free(c);
}

void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char md[32];

        EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
        to_hex(md, 32, hex);
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
