/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-create.c - `create` and `run`. */
#include "cmd.h"
#include "container.h"
#include "util.h"

const struct opt_def create_opts[] = {
        { "bundle", 'b', OPT_VALUE, "DIR", "bundle directory (default: the current directory)" },
        { "pid-file", 0, OPT_VALUE, "FILE", "write the container process's pid to FILE" },
        { "console-socket", 0, OPT_VALUE, "PATH", "send the pty master to the unix socket PATH" },
        { "preserve-fds", 0, OPT_VALUE, "N", "pass N extra fds (from fd 3) to the container" },
        { "no-pivot", 0, OPT_FLAG, NULL, "use MS_MOVE and chroot instead of pivot_root" },
        { "no-new-keyring", 0, OPT_FLAG, NULL, "keep the runtime's session keyring" },
        {},
};

const struct opt_def run_opts[] = {
        { "bundle", 'b', OPT_VALUE, "DIR", "bundle directory (default: the current directory)" },
        { "pid-file", 0, OPT_VALUE, "FILE", "write the container process's pid to FILE" },
        { "console-socket", 0, OPT_VALUE, "PATH", "send the pty master to the unix socket PATH" },
        { "preserve-fds", 0, OPT_VALUE, "N", "pass N extra fds (from fd 3) to the container" },
        { "no-pivot", 0, OPT_FLAG, NULL, "use MS_MOVE and chroot instead of pivot_root" },
        { "no-new-keyring", 0, OPT_FLAG, NULL, "keep the runtime's session keyring" },
        { "detach", 'd', OPT_FLAG, NULL, "return once the container runs" },
        { "keep", 0, OPT_FLAG, NULL, "accepted for compatibility (the state is always removed)" },
        {},
};

static int create_or_run(struct cmd_args *a, enum create_mode mode)
{
        struct create_options o = {
                .root = a->g->root,
                .id = a->pos[0],
                .bundle = arg_value(a, "bundle") ? arg_value(a, "bundle") : ".",
                .pid_file = arg_value(a, "pid-file"),
                .console_socket = arg_value(a, "console-socket"),
                .no_pivot = arg_flag(a, "no-pivot"),
                .no_new_keyring = arg_flag(a, "no-new-keyring"),
                .mode = mode,
        };
        const char *pf = arg_value(a, "preserve-fds");
        int status = 0, r;

        if (pf && (parse_int(pf, &o.preserve_fds) < 0 || o.preserve_fds < 0))
                return cmd_fail(-EINVAL, "--preserve-fds: invalid number '%s'", pf);
        r = container_create(&o, &status);
        if (r < 0)
                return cmd_fail(r, "%s container '%s'", mode == CREATE_ONLY ? "create" : "run", o.id);
        return mode == RUN_FOREGROUND ? status : 0;
}

int cmd_create(struct cmd_args *a)
{
        return create_or_run(a, CREATE_ONLY);
}

int cmd_run(struct cmd_args *a)
{
        return create_or_run(a, arg_flag(a, "detach") ? RUN_DETACHED : RUN_FOREGROUND);
}
