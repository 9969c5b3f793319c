/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reference.h - image references: parsing and normalisation.
 *
 * Grammar of distribution's reference package (docker/distribution
 * reference/reference.go, as the OCI distribution spec uses it):
 *
 *     reference  := name [ ":" tag ] [ "@" digest ]
 *     name       := [ domain "/" ] component ( "/" component )*
 *     domain     := host [ ":" port ]   (first part, when it has a "." or ":" or is "localhost")
 *     component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *     tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *
 * Normalisation is Docker's: no domain means docker.io, and a one-component
 * name on docker.io lives under "library/". A reference with neither tag nor
 * digest gets the tag "latest". The normalised string is the canonical name
 * stored in the tag table: "docker.io/library/busybox:latest".
 */
#pragma once

#include "macro.h"

struct image_ref {
        char *domain; /* "docker.io", "localhost:5000" */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL when only a digest was given */
        char *digest; /* "sha256:<hex>" or NULL */
};

/* Parse and normalise s; errors name the input: "invalid reference 'Foo': ...". */
int image_ref_parse(const char *s, struct image_ref **ret);
void image_ref_free(struct image_ref *r);
static inline void image_ref_freep(struct image_ref **r)
{
        image_ref_free(*r);
}
#define _cleanup_image_ref_ _cleanup_(image_ref_freep)

/* "domain/path" (malloc'd). */
char *image_ref_name(const struct image_ref *r);
/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest" (malloc'd). */
char *image_ref_string(const struct image_ref *r);
/* The host to talk to for the domain: docker.io is served by registry-1.docker.io. */
const char *image_ref_registry_host(const struct image_ref *r);
/* True when s looks like an image id or a prefix of one ("sha256:ab12..", or 3 to 64 hex digits). */
bool image_ref_is_id_prefix(const char *s);
/* True when s is a valid tag. */
bool image_ref_tag_is_valid(const char *s);
