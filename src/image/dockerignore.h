/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockerignore.h - .dockerignore files: which build context paths to leave out.
 *
 * Semantics of Docker's builder (moby/patternmatcher): one pattern per line,
 * lines starting with '#' and blank lines ignored, surrounding whitespace
 * trimmed; a pattern is cleaned like Go's filepath.Clean and its leading "/"
 * dropped; "!" makes it an exception. Matching is Go's filepath.Match per
 * path component ('*' and '?' never match '/', "[a-z]" classes with '^'
 * negation, '\' escapes) plus "**", which matches any number of directories.
 * The last pattern that matches a path decides, and a path is also matched
 * by a pattern that matches one of its parent directories.
 */
#pragma once

#include "macro.h"

struct dockerignore;

/* Parse; a malformed pattern is an error naming its line: ".dockerignore:3: bad pattern '['". */
int dockerignore_parse(const char *buf, size_t len, struct dockerignore **ret);
void dockerignore_free(struct dockerignore *d);
static inline void dockerignore_freep(struct dockerignore **d)
{
        dockerignore_free(*d);
}
#define _cleanup_dockerignore_ _cleanup_(dockerignore_freep)

/* True when path (relative to the context, "/"-separated) is excluded. */
bool dockerignore_excludes(const struct dockerignore *d, const char *path);
/* Go filepath.Match of one pattern against one name, extended with "**": 1 match, 0 no, -EINVAL bad pattern. */
int dockerignore_match(const char *pattern, const char *name);
