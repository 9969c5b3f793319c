/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-build-passwd.c - libFuzzer target for what `hull build` parses from the
 * image and the Dockerfile beyond the parser itself: the image's /etc/passwd
 * and /etc/group (USER, --chown), EXPOSE port specs, --chmod modes and WORKDIR
 * paths. The input is taken as an account file for the first three and, cut
 * at 256 bytes, as the argument of the others.
 * Seeds: tests/fuzz/corpus/build-passwd/.
 */
#include <stdint.h>
#include <sys/types.h>

#include "build-internal.h"
#include "error.h"
#include "json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        uid_t uid = 0;
        gid_t gid = 0, *gids = NULL;
        size_t n = 0;
        char *name = NULL, *arg = strndup(buf, MIN(size, (size_t)256));

        (void)passwd_find(buf, size, "root", &uid, &gid, NULL);
        (void)passwd_find(buf, size, NULL, &uid, &gid, &name);
        free(name);
        (void)group_find(buf, size, "staff", &gid);
        if (group_members(buf, size, "app", &gids, &n) >= 0)
                free(gids);
        if (arg) {
                struct json_object *cfg = json_object_new_object();
                mode_t mode;
                char *p = build_path_join("/srv", arg);
                free(p);
                (void)copy_parse_chmod(arg, &mode);
                if (cfg) {
                        (void)build_config_expose(cfg, arg);
                        json_object_put(cfg);
                }
                free(arg);
        }
        err_clear();
        return 0;
}
