/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.h - a client of the OCI distribution spec (v1.0/1.1) over libcurl.
 *
 * One struct registry talks to one registry host and keeps its connection,
 * scheme and tokens. Implemented:
 *   - "Determining support" GET /v2/; HTTPS first, plain HTTP only when
 *     tls_verify is off (podman's --tls-verify=false);
 *   - authentication on 401 from the WWW-Authenticate challenge: Basic with
 *     the given credentials, or Bearer through the token server named by
 *     realm/service/scope (Docker's token authentication specification),
 *     tokens cached per scope;
 *   - pulling manifests (Accept: the four manifest/index types) and blobs
 *     (redirects followed; the body is streamed to a sink and its sha256 and
 *     size are checked by the caller's blob writer);
 *   - pushing: HEAD for existing blobs, cross-repository mount, monolithic
 *     PUT or chunked PATCH uploads, manifest PUT;
 *   - retries with backoff on 5xx and connection failures for idempotent
 *     requests; 4xx answers become one line from the registry's error JSON
 *     ("registry: MANIFEST_UNKNOWN: manifest unknown").
 */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "store.h"

struct registry;

struct registry_options {
        bool tls_verify;       /* default true */
        const char *cert_dir;  /* extra CA certificates (*.crt), or NULL */
        const char *username;  /* or NULL for anonymous */
        const char *password;
};

/* Sink for blob bodies. Returns 0 or -errno. */
typedef int (*registry_sink_fn)(void *userdata, const void *data, size_t len);

int registry_new(const char *host, const struct registry_options *o, struct registry **ret);
void registry_free(struct registry *r);
static inline void registry_freep(struct registry **r)
{
        registry_free(*r);
}
#define _cleanup_registry_ _cleanup_(registry_freep)

/*
 * GET a manifest by tag or digest. The body is returned with its media type
 * (Content-Type) and its sha256 digest; a digest reference and the
 * Docker-Content-Digest header are both checked against the body.
 */
int registry_get_manifest(struct registry *r, const char *repo, const char *reference, char **ret_body,
                          size_t *ret_len, char **ret_type, char ret_digest[80]);
/* GET a blob, streaming the body to sink. */
int registry_get_blob(struct registry *r, const char *repo, const char *digest, registry_sink_fn sink,
                      void *userdata, const struct image_progress *p, uint64_t total);
/* 1 when the registry has the blob in repo, 0 when not. */
int registry_blob_exists(struct registry *r, const char *repo, const char *digest);
/*
 * Upload the blob read from fd (size bytes, digest known). from_repo, when not
 * NULL, is tried first as a cross-repository mount source. Returns 1 when
 * mounted, 0 when uploaded.
 */
int registry_upload_blob(struct registry *r, const char *repo, const char *digest, int fd, uint64_t size,
                         const char *from_repo, const struct image_progress *p);
/* PUT a manifest under reference (tag or digest). */
int registry_put_manifest(struct registry *r, const char *repo, const char *reference, const char *body,
                          size_t len, const char *media_type);

/* Parse a WWW-Authenticate challenge: scheme ("Bearer"/"Basic") and its parameters (exposed for tests). */
struct auth_challenge {
        char scheme[16];
        char *realm, *service, *scope;
};
int registry_parse_challenge(const char *header, struct auth_challenge *ret);
void auth_challenge_done(struct auth_challenge *c);
