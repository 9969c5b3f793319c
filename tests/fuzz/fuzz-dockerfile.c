/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-dockerfile.c - libFuzzer target for the Dockerfile parser, word
 * expansion and .dockerignore patterns: the input is parsed as a Dockerfile
 * (every argument of every instruction is then expanded with a small
 * environment) and as a .dockerignore file matched against a few paths.
 * Seeds: tests/fuzz/corpus/dockerfile/.
 */
#include <stdint.h>

#include "dockerfile.h"
#include "dockerignore.h"
#include "error.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char *env[] = { (char *)"A=1", (char *)"PATH=/usr/bin", (char *)"EMPTY=", NULL };
        static const char *const paths[] = { "a", "a/b/c.txt", "node_modules/x", ".git/HEAD", "docs/README.md" };
        struct dockerfile *d = NULL;
        struct dockerignore *ig = NULL;

        if (dockerfile_parse((const char *)data, size, &d) >= 0) {
                for (size_t i = 0; i < d->n; i++) {
                        STRV_FOREACH(a, d->v[i].args)
                        {
                                char *s = NULL;
                                if (dockerfile_expand(*a, d->escape, env, &s) >= 0)
                                        free(s);
                        }
                        (void)dockerfile_flag(&d->v[i], "from");
                }
                dockerfile_free(d);
        }
        if (dockerignore_parse((const char *)data, size, &ig) >= 0) {
                for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                        (void)dockerignore_excludes(ig, paths[i]);
                dockerignore_free(ig);
        }
        {
                char *w = strndup((const char *)data, MIN(size, (size_t)512)), *s = NULL;
                if (w && dockerfile_expand(w, '\\', env, &s) >= 0)
                        free(s);
                free(w);
        }
        err_clear();
        return 0;
}
