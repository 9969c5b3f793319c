/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pull.h - pull and push of images between the store and a registry.
 *
 * Pull: resolve the reference's manifest (picking this machine's linux
 * platform from an index), check the signature policy against the top-level
 * digest, then fetch and verify config and layers into a staging transaction
 * and commit them (import.h). Push: upload missing layers and the config
 * (verified against their digests first, mounted across repositories of the
 * same registry when the image came from there) and PUT the stored manifest
 * bytes unchanged, so that the digest is preserved.
 */
#pragma once

#include "registry.h"
#include "store.h"

struct image_pull_options {
        struct registry_options registry;
        const char *policy_path; /* NULL: /etc/hull/policy.json (a missing file accepts everything) */
        const struct image_progress *progress;
};

/* Pull name into the store; the image id through ret_id (malloc'd). */
int image_pull(struct image_store *s, const char *name, const struct image_pull_options *o, char **ret_id);
/* Push the local image name to dest (NULL: the same name); the pushed manifest digest via ret_digest. */
int image_push(struct image_store *s, const char *name, const char *dest, const struct registry_options *o,
               const struct image_progress *p, char ret_digest[80]);
