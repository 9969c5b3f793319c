/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-oci-config.c - libFuzzer target for the OCI config parser.
 *
 * Every input is read three ways, as a whole config.json (config_parse), as the
 * process document of "exec --process" (process_parse) and as the resources
 * document of "update --resources" (resources_parse). A parsed result is walked
 * through the lookup helpers and freed, so that ASan sees use-after-free and
 * leaks on success and error paths alike. Seeds: tests/fuzz/corpus/oci-config/.
 */
#include <stdint.h>

#include "config.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        struct oci_config *c = NULL;
        struct oci_process *p = NULL;
        struct oci_resources *r = NULL;

        if (config_parse(buf, size, &c) >= 0) {
                for (enum ns_type t = 0; t < _NS_TYPE_MAX; t++)
                        (void)config_find_namespace(c, t);
                (void)config_annotation(c, "org.opencontainers.image.ref.name");
                config_free(c);
        }
        if (process_parse(buf, size, "process.json", &p) >= 0)
                process_free(p);
        if (resources_parse(buf, size, "resources.json", &r) >= 0)
                resources_free(r);
        err_clear();
        return 0;
}
