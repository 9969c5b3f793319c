/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-spec.c - `spec`: write a default config.json (like runc spec) into the bundle directory. */
#include <fcntl.h>

#include "cmd.h"
#include "error.h"
#include "json.h"
#include "spec.h"
#include "util.h"

const struct opt_def spec_opts[] = {
        { "bundle", 'b', OPT_VALUE, "DIR", "where to write config.json (default: the current directory)" },
        { "rootless", 0, OPT_FLAG, NULL, "a config for a container started by an unprivileged user" },
        {},
};

int cmd_spec(struct cmd_args *a)
{
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *dir = arg_value(a, "bundle") ? arg_value(a, "bundle") : ".";
        const char *s;
        int r;

        r = spec_default(arg_flag(a, "rootless"), &o);
        if (r < 0)
                return cmd_fail(r, "spec");
        path = strdup_printf("%s/config.json", dir);
        if (!path)
                return cmd_fail(-ENOMEM, "spec");
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                r = negative_errno();
                if (r == -EEXIST)
                        return cmd_fail(r, "spec: '%s' exists; remove it first", path);
                return cmd_fail(r, "spec: cannot create '%s'", path);
        }
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = write_all(fd, s, strlen(s));
        if (r >= 0)
                r = write_all(fd, "\n", 1);
        if (r < 0)
                return cmd_fail(r, "spec: cannot write '%s'", path);
        return 0;
}
