/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - image signatures and the pull policy that demands them.
 *
 * Signing scheme (docs/image-signing.md):
 *   payload   = {"critical": {"type": "hull container image signature",
 *                             "image": {"docker-manifest-digest": "sha256:..."},
 *                             "identity": {"docker-reference": "host/repo"}},
 *                "optional": {"creator": "hull", "timestamp": <unix seconds>}}
 *   signature = Ed25519 over the payload bytes, or ECDSA P-256 over their SHA-256
 *   artifact  = {"payload": base64, "signature": base64, "keyid": "<sha256 of the public key DER>"}
 * The artifact is stored in the image's repository as the only layer (media
 * type application/vnd.hull.signature.v1+json) of an OCI manifest tagged
 * "sha256-<hex of the signed digest>.sig", next to the image (cosign's layout).
 *
 * Policy file (/etc/hull/policy.json, or --policy):
 *   {"default": "accept" | "reject" | "signed",
 *    "keys": ["/etc/hull/keys/release.pub"],
 *    "repositories": {"localhost:5000/secure": {"require": "signed", "keys": [...]},
 *                     "docker.io": {"require": "accept"}}}
 * The longest "repositories" key that is the image's "domain/path" or a
 * "/"-bounded prefix of it decides; otherwise "default" (accept when absent).
 * A missing policy file accepts everything; a malformed one refuses every pull.
 */
#pragma once

#include "reference.h"
#include "registry.h"

#define POLICY_DEFAULT_PATH "/etc/hull/policy.json"
#define SIGNATURE_MEDIA_TYPE "application/vnd.hull.signature.v1+json"

/* 0 when the policy allows pulling ref whose top-level manifest digest is digest; -EPERM with a message if not. */
int policy_check(const char *path, const struct image_ref *ref, struct registry *reg, const char *digest);
/* Sign the manifest the registry serves for name with the PEM private key at key_path, and upload it. */
int policy_sign(const char *name, const char *key_path, const struct registry_options *o, char ret_digest[80]);
/* Verify an artifact (exposed for tests): 0 when a key in key_paths signed digest for repo. */
int policy_verify_artifact(const char *artifact, size_t len, const char *digest, const char *repo, char **key_paths);
/* Build an artifact for digest/repo with the key (exposed for tests). Returns malloc'd JSON. */
int policy_make_artifact(const char *digest, const char *repo, const char *key_path, char **ret);
