/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h - OCI and Docker image manifests, indexes and image configs.
 *
 * Parsing validates everything later code relies on, so that no caller checks
 * a digest's shape or a size's sign again:
 *   - OCI image-spec v1.1 manifest.md, image-index.md, descriptor.md, config.md;
 *   - Docker image manifest v2 schema 2 and manifest lists (media types
 *     application/vnd.docker.distribution.manifest.{v2,list.v2}+json);
 *   - schema 1 manifests are refused with a clear message (deprecated, unsigned
 *     content addressing).
 * A parsed document owns all its strings. Sizes are limited: a manifest or
 * index larger than MANIFEST_MAX_SIZE, more than MANIFEST_MAX_ENTRIES layers or
 * manifests, are rejected before use.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "macro.h"

#define MANIFEST_MAX_SIZE    (4u << 20)
#define CONFIG_MAX_SIZE      (8u << 20)
#define MANIFEST_MAX_ENTRIES 1000

#define MT_OCI_MANIFEST     "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX        "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG       "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER        "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP   "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD   "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST  "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST      "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG    "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER     "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_SCHEMA1   "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1S  "application/vnd.docker.distribution.manifest.v1+prettyjws"

enum manifest_kind {
        MANIFEST_OCI,
        MANIFEST_DOCKER,
        MANIFEST_INDEX_OCI,
        MANIFEST_INDEX_DOCKER,
        _MANIFEST_KIND_MAX,
        _MANIFEST_KIND_INVALID = -EINVAL,
};

struct descriptor {
        char *media_type;
        char *digest;
        int64_t size;
        /* Index entries only (may be NULL). */
        char *os, *architecture, *variant;
        /* annotations["org.opencontainers.image.ref.name"] (OCI layouts), or NULL. */
        char *ref_name;
};

struct manifest {
        enum manifest_kind kind;
        const char *media_type; /* static string for kind */
        /* Image manifests. */
        struct descriptor config;
        struct descriptor *layers;
        size_t n_layers;
        /* Indexes. */
        struct descriptor *manifests;
        size_t n_manifests;
};

struct image_history {
        char *created, *created_by, *comment;
        bool empty_layer;
};

struct image_healthcheck {
        char **test; /* NULL: not set; ["NONE"]: disabled */
        int64_t interval, timeout, start_period, start_interval; /* nanoseconds, 0 = default */
        int64_t retries;
};

struct image_config {
        char *architecture, *os, *variant, *created, *author;
        /* config.* of the image, as the engine needs them to create a container. */
        char **env, **cmd, **entrypoint;
        char *working_dir, *user, *stop_signal;
        char **exposed_ports, **volumes; /* keys of the JSON objects: "80/tcp", "/data" */
        char **labels;                   /* key, value, key, value, ... */
        struct image_healthcheck healthcheck;
        char **diff_ids;
        struct image_history *history;
        size_t n_history;
        struct json_object *json; /* the whole document, for inspect */
};

static inline bool manifest_is_index(const struct manifest *m)
{
        return m->kind == MANIFEST_INDEX_OCI || m->kind == MANIFEST_INDEX_DOCKER;
}
/* The media types a pull accepts, for the HTTP Accept header (comma separated). */
const char *manifest_accept_header(void);
/* True for a layer media type hull can unpack. */
bool manifest_layer_type_supported(const char *media_type);

/*
 * Parse a manifest or an index. content_type is the registry's Content-Type (or
 * the descriptor's mediaType) and may be NULL: the document's own mediaType and
 * shape then decide. Errors are recorded as "manifest: <field>: <problem>".
 */
int manifest_parse(const char *buf, size_t len, const char *content_type, struct manifest **ret);
void manifest_free(struct manifest *m);
static inline void manifest_freep(struct manifest **m)
{
        manifest_free(*m);
}
#define _cleanup_manifest_ _cleanup_(manifest_freep)

/*
 * Pick the entry for os/architecture/variant (variant NULL: any) from an index.
 * Returns the index of the entry, or -ENOENT with "no linux/amd64 image in the
 * index (available: ...)".
 */
int manifest_select_platform(const struct manifest *index, const char *os, const char *arch, const char *variant);

/* Serialize an OCI image manifest with the given config and layers (malloc'd JSON). */
char *manifest_oci_to_json(const struct descriptor *config, const struct descriptor *layers, size_t n_layers);

int image_config_parse(const char *buf, size_t len, struct image_config **ret);
void image_config_free(struct image_config *c);
static inline void image_config_freep(struct image_config **c)
{
        image_config_free(*c);
}
#define _cleanup_image_config_ _cleanup_(image_config_freep)

/* "amd64" for "x86_64" etc.: Go's GOARCH names, which image configs use. */
const char *manifest_normalize_arch(const char *arch);
/* The architecture this hull runs on, as GOARCH. */
const char *manifest_host_arch(void);
