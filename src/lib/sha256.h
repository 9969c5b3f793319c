/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256.h - SHA-256 with hex and "sha256:<hex>" digest helpers. The digest context comes from
 * OpenSSL's libcrypto (sha256-openssl.c) in libhull-base; a program may link sha256-builtin.c
 * instead (its symbols take precedence over the library's), as `hull` does to start faster.
 */
#pragma once

#include <stdint.h>

#include "macro.h"

#define SHA256_HEX_LEN 64

struct sha256_ctx;

struct sha256_ctx *sha256_new(void);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finish and write 64 lowercase hex digits plus NUL to hex; frees c. */
void sha256_final_hex(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1]);
void sha256_free(struct sha256_ctx *c);
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);
/* 64 lowercase hex digits of a 32-byte digest, and a NUL. */
void sha256_to_hex(const unsigned char md[32], char hex[SHA256_HEX_LEN + 1]);
/* Hash a whole fd from its current offset. */
int sha256_fd(int fd, char hex[SHA256_HEX_LEN + 1]);
/* True when s is "sha256:" followed by exactly 64 lowercase hex digits. */
bool digest_is_valid(const char *s);
