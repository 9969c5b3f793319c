/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-archive.h - images to and from files: docker-archive and oci-archive
 * tarballs, OCI image layout directories (image-spec image-layout.md), and
 * `import` of a plain root file system tarball as a one-layer image.
 *
 * Formats:
 *   docker-archive  manifest.json [{"Config": "<file>", "RepoTags": [...], "Layers": ["<file>", ...]}],
 *                   the config file and one tar per layer (docker save's format, "Image
 *                   specification v1.2"); layers may be compressed.
 *   oci-archive     a tar of an OCI image layout: oci-layout, index.json, blobs/sha256/<hex>.
 *   oci-dir         the same layout as a directory.
 * Loading stages every member of the tarball as a blob (each hashed as it is
 * copied; OCI blob names are checked against their content), then imports each
 * image through import.h. Nothing is committed unless every image is whole.
 */
#pragma once

#include "store.h"

enum image_archive_format {
        IMAGE_ARCHIVE_DOCKER,
        IMAGE_ARCHIVE_OCI,
        IMAGE_ARCHIVE_OCI_DIR,
        _IMAGE_ARCHIVE_FORMAT_MAX,
        _IMAGE_ARCHIVE_FORMAT_INVALID = -EINVAL,
};

enum image_archive_format image_archive_format_from_string(const char *s);
const char *image_archive_format_to_string(enum image_archive_format f);

/* Load every image of a tarball ("-": stdin) or OCI layout directory. Names of loaded images via ret (strv). */
int image_archive_load(struct image_store *s, const char *path, const struct image_progress *p, char ***ret);
/* Import a root file system tarball (plain or compressed; "-": stdin) as a one-layer image named name (or NULL). */
int image_archive_import(struct image_store *s, const char *path, const char *name, char **changes,
                   const struct image_progress *p, char **ret_id);
/* Write the images (ids) with their names (tags, may be NULL) to path ("-": stdout) in format f. */
int image_archive_save(struct image_store *s, char **ids, char **names, enum image_archive_format f, const char *path,
                 const struct image_progress *p);
