/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockerfile.h - the Dockerfile parser: text to a list of instructions with
 * their line numbers, ready for a builder. Nothing is executed or expanded
 * here; variable substitution is a separate function (dockerfile_expand) that
 * the builder calls with the ARG/ENV values in scope at each instruction.
 *
 * Syntax (Docker's Dockerfile reference):
 *   - parser directives at the very top: "# escape=`" (or \), "# syntax=..."
 *     (accepted and ignored); any other comment, blank line or instruction ends them;
 *   - comments (# at the start of a line), also inside continued instructions;
 *   - line continuation with the escape character at the end of a line;
 *   - instructions, case-insensitive: FROM (multi-stage, AS name, --platform),
 *     RUN (shell and exec form, flags such as --mount kept), CMD, ENTRYPOINT,
 *     LABEL, MAINTAINER, EXPOSE, ENV (both "K V" and "K=V ..."), ADD and COPY
 *     (--from, --chown, --chmod, --link; JSON form), VOLUME, USER, WORKDIR,
 *     ARG, STOPSIGNAL, HEALTHCHECK (NONE, or options then CMD), SHELL (JSON only);
 *   - refused with a clear message: ONBUILD, heredocs (<<EOF).
 * Errors name the line: "Dockerfile:7: unknown instruction 'RUNN'".
 */
#pragma once

#include <stdint.h>

#include "macro.h"

enum dockerfile_kind {
        DF_FROM,
        DF_RUN,
        DF_CMD,
        DF_ENTRYPOINT,
        DF_LABEL,
        DF_MAINTAINER,
        DF_EXPOSE,
        DF_ENV,
        DF_ADD,
        DF_COPY,
        DF_VOLUME,
        DF_USER,
        DF_WORKDIR,
        DF_ARG,
        DF_STOPSIGNAL,
        DF_HEALTHCHECK,
        DF_SHELL,
        _DF_KIND_MAX,
        _DF_KIND_INVALID = -EINVAL,
};

struct dockerfile_instruction {
        enum dockerfile_kind kind;
        unsigned line;   /* line of the instruction keyword (1-based) */
        char *original;  /* the instruction as written, continuations joined */
        char **flags;    /* "name=value" for --name=value; "name" for a bare --name */
        bool exec_form;  /* args came from a JSON array */
        /*
         * FROM: [image]; RUN/CMD/ENTRYPOINT/SHELL: the exec array, or [command] in shell form;
         * ADD/COPY: sources..., destination; EXPOSE/VOLUME: the words; USER/WORKDIR/STOPSIGNAL/
         * MAINTAINER: [value]; HEALTHCHECK: ["NONE"] or the CMD's arguments (exec_form as for CMD).
         */
        char **args;
        /* ENV, LABEL: key, value, key, value...; ARG: name, default ("" when none, has_default false). */
        char **kv;
        bool has_default;
        char *stage_name; /* FROM ... AS name (lowercased), or NULL */
};

struct dockerfile {
        struct dockerfile_instruction *v;
        size_t n;
        char escape;
};

int dockerfile_parse(const char *buf, size_t len, struct dockerfile **ret);
void dockerfile_free(struct dockerfile *d);
static inline void dockerfile_freep(struct dockerfile **d)
{
        dockerfile_free(*d);
}
#define _cleanup_dockerfile_ _cleanup_(dockerfile_freep)

const char *dockerfile_kind_to_string(enum dockerfile_kind k);
/* The value of flag name of an instruction, "" for a bare flag, NULL when absent. */
const char *dockerfile_flag(const struct dockerfile_instruction *i, const char *name);

/*
 * Expand one word as the builder's shell lexer does: $VAR, ${VAR}, ${VAR:-word},
 * ${VAR-word}, ${VAR:+word}, ${VAR+word}; single quotes are literal, double quotes
 * group and allow expansion, the escape character quotes the next one; quotes
 * are removed. env is a strv of "KEY=VALUE". Unsupported forms are -EINVAL.
 */
int dockerfile_expand(const char *word, char escape, char *const *env, char **ret);
/* A Go duration as HEALTHCHECK takes it ("30s", "1m30s", "500ms") in nanoseconds. */
int dockerfile_parse_duration(const char *s, int64_t *ret);
