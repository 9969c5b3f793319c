/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256-openssl.c - the digest context of sha256.h through OpenSSL EVP (SHA-NI and AVX2
 * where the CPU has them): what libhull-base gives every program. sha256-builtin.c is the
 * alternative for programs that must not pay for OpenSSL's start-up.
 */
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

void sha256_final_hex(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char md[32];
        unsigned int n = 0;

        EVP_DigestFinal_ex(c->md, md, &n);
        sha256_to_hex(md, hex);
        sha256_free(c);
}

void sha256_free(struct sha256_ctx *c)
{
        if (!c)
                return;
        EVP_MD_CTX_free(c->md);
        free(c);
}
