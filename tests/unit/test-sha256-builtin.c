/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-sha256-builtin.c - sha256-builtin.c (linked into this test in place of the OpenSSL
 * context, as `hull` links it) against FIPS 180-4's examples and against OpenSSL itself.
 */
#include <openssl/evp.h>

#include "sha256.h"
#include "test.h"

static void check(const void *data, size_t len)
{
        unsigned char md[32];
        char want[65], got[65];

        EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
        sha256_to_hex(md, want);
        sha256_hex(data, len, got);
        if (strcmp(want, got) != 0)
                TEST_FAIL("length %zu: %s != %s", len, got, want);
}

TEST(fips_examples)
{
        char hex[65];
        struct sha256_ctx *c;

        sha256_hex("abc", 3, hex);
        ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        sha256_hex("", 0, hex);
        ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
        ASSERT_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        /* One million 'a', fed in uneven pieces. */
        c = sha256_new();
        ASSERT_TRUE(c != NULL);
        for (size_t done = 0, step = 1; done < 1000000; step = step % 997 + 1) {
                char a[1000];
                size_t n = done + step > 1000000 ? 1000000 - done : step;
                memset(a, 'a', n);
                sha256_update(c, a, n);
                done += n;
        }
        sha256_final_hex(c, hex);
        ASSERT_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(same_as_openssl)
{
        unsigned char buf[300];
        unsigned x = 12345;

        for (size_t i = 0; i < sizeof(buf); i++) {
                x = x * 1103515245 + 12345;
                buf[i] = (unsigned char)(x >> 16);
        }
        /* Every length around the block and padding boundaries (55, 56, 63, 64, 119, 120...). */
        for (size_t len = 0; len <= sizeof(buf); len++)
                check(buf, len);
}
