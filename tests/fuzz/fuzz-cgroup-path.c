/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-cgroup-path - linux.cgroupsPath (outside input) through the cgroup path rules, and the
 * mountinfo / /proc/self/cgroup parsers the rules are joined with.
 *
 * Input: the first line is the cgroupsPath, the rest is used both as mountinfo text and as
 * /proc/self/cgroup text. Invariants checked: a normalized path starts with "/", has no "//",
 * no "." or ".." component and no trailing "/"; every own path found is absolute.
 */
#include <stdint.h>

#include "cgroup-internal.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
        size_t l = strlen(p);
        if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") || (l > 1 && p[l - 1] == '/') ||
            (l >= 2 && streq(p + l - 2, "/.")) || (l >= 3 && streq(p + l - 3, "/..")))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text, *nl, *norm = NULL;
        struct cgroup_layout *l = NULL;
        bool rel;

        if (size > 65536)
                return 0;
        text = strndup((const char *)data, size);
        if (!text)
                return 0;
        nl = strchr(text, '\n');
        if (nl)
                *nl = 0;
        if (cgroup_path_normalize(text, "fuzz", &norm, &rel) >= 0) {
                check_path(norm);
                char *j = cgroup_path_join("/base", norm);
                if (j)
                        check_path(j);
                free(j);
        }
        if (nl && cgroup_layout_parse("/sys/fs/cgroup", false, nl + 1, &l) >= 0) {
                for (size_t i = 0; i < l->n_mounts; i++) {
                        char *own = NULL;
                        if (cgroup_own_path(nl + 1, &l->mounts[i], &own) >= 0 && own[0] != '/')
                                abort();
                        free(own);
                }
                cgroup_layout_free(l);
        }
        err_clear();
        free(norm);
        free(text);
        return 0;
}
