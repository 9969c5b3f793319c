/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-manifest.c - libFuzzer target for everything a registry or an archive
 * hands hull as JSON or headers: manifests and indexes (under each served
 * media type), image configs, and WWW-Authenticate challenges. A parsed index
 * is asked for a platform, so that the selection code sees hostile entries too.
 * Seeds: tests/fuzz/corpus/manifest/.
 */
#include <stdint.h>

#include "error.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const types[] = { NULL, MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST,
                                             MT_DOCKER_SCHEMA1 };
        const char *buf = (const char *)data;
        struct image_config *c = NULL;

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                struct manifest *m = NULL;
                if (manifest_parse(buf, size, types[i], &m) >= 0) {
                        if (manifest_is_index(m))
                                (void)manifest_select_platform(m, "linux", "amd64", NULL);
                        else
                                for (size_t l = 0; l < m->n_layers; l++)
                                        (void)manifest_layer_type_supported(m->layers[l].media_type);
                        manifest_free(m);
                }
        }
        if (image_config_parse(buf, size, &c) >= 0)
                image_config_free(c);
        if (size < 4096) {
                char *s = strndup(buf, size);
                struct auth_challenge ch;
                if (s && registry_parse_challenge(s, &ch) >= 0)
                        auth_challenge_done(&ch);
                free(s);
        }
        err_clear();
        return 0;
}
