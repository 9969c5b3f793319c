/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-exec.c - `exec`: build the process (from --process FILE, or from the container's own
 * process settings changed by COMMAND and the options, as runc does) and run it.
 */
#include "caps.h"
#include "cmd.h"
#include "container.h"
#include "error.h"
#include "util.h"

const struct opt_def exec_opts[] = {
        { "process", 'p', OPT_VALUE, "FILE", "runtime-spec process JSON (overrides COMMAND and the options)" },
        { "detach", 'd', OPT_FLAG, NULL, "do not wait for the process" },
        { "pid-file", 0, OPT_VALUE, "FILE", "write the new process's pid to FILE" },
        { "console-socket", 0, OPT_VALUE, "PATH", "send the pty master to the unix socket PATH" },
        { "tty", 't', OPT_FLAG, NULL, "allocate a pseudo-terminal" },
        { "cwd", 0, OPT_VALUE, "DIR", "working directory inside the container" },
        { "env", 'e', OPT_LIST, "K=V", "set an environment variable (repeatable)" },
        { "user", 'u', OPT_VALUE, "UID[:GID]", "run as this user" },
        { "additional-gids", 'g', OPT_LIST, "GID", "add a supplementary group (repeatable)" },
        { "cap", 'c', OPT_LIST, "CAP", "add a capability to every set (repeatable)" },
        { "no-new-privs", 0, OPT_FLAG, NULL, "set no_new_privs" },
        { "apparmor", 0, OPT_VALUE, "PROFILE", "AppArmor profile" },
        { "process-label", 0, OPT_VALUE, "LABEL", "SELinux label" },
        { "preserve-fds", 0, OPT_VALUE, "N", "pass N extra fds (from fd 3) to the process" },
        { "ignore-paused", 0, OPT_FLAG, NULL, "accepted for compatibility" },
        {},
};

static int set_env(char ***env, const char *kv)
{
        size_t klen = strcspn(kv, "=");

        if (!kv[klen])
                return err_set(-EINVAL, "--env: expected KEY=VALUE, got '%s'", kv);
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, kv, klen + 1) == 0) {
                        char *c = strdup(kv);
                        if (!c)
                                return -ENOMEM;
                        free(*e);
                        *e = c;
                        return 0;
                }
        return strv_extend(env, kv);
}

static int apply_options(struct cmd_args *a, struct oci_process *p)
{
        const char *v;
        int r;

        if (a->n_pos > 1) {
                char **args = strv_copy(a->pos + 1);
                if (!args)
                        return -ENOMEM;
                strv_free(p->args);
                p->args = args;
        }
        if (!p->args || !p->args[0])
                return err_set(-EINVAL, "exec: no command given (pass COMMAND or --process FILE)");
        p->terminal = arg_flag(a, "tty");
        if ((v = arg_value(a, "cwd"))) {
                if (v[0] != '/')
                        return err_set(-EINVAL, "--cwd: must be an absolute path, got '%s'", v);
                free(p->cwd);
                p->cwd = strdup(v);
                if (!p->cwd)
                        return -ENOMEM;
        }
        STRV_FOREACH(e, arg_list(a, "env"))
        {
                r = set_env(&p->env, *e);
                if (r < 0)
                        return r;
        }
        if ((v = arg_value(a, "user"))) {
                _cleanup_free_ char *u = strdup(v);
                char *colon;
                if (!u)
                        return -ENOMEM;
                colon = strchr(u, ':');
                if (colon)
                        *colon++ = 0;
                if (parse_u32(u, &p->user.uid) < 0 || (colon && parse_u32(colon, &p->user.gid) < 0))
                        return err_set(-EINVAL, "--user: expected UID[:GID] as numbers, got '%s'", v);
        }
        STRV_FOREACH(gid, arg_list(a, "additional-gids"))
        {
                uint32_t g;
                gid_t *n;
                if (parse_u32(*gid, &g) < 0)
                        return err_set(-EINVAL, "--additional-gids: invalid group id '%s'", *gid);
                n = realloc(p->user.additional_gids, sizeof(gid_t) * (p->user.n_additional_gids + 1));
                if (!n)
                        return -ENOMEM;
                n[p->user.n_additional_gids++] = g;
                p->user.additional_gids = n;
        }
        STRV_FOREACH(cap, arg_list(a, "cap"))
        {
                int c = cap_from_name_strict(*cap);
                if (c < 0)
                        return err_set(-EINVAL, "--cap: unknown capability '%s'", *cap);
                uint64_t bit = 1ULL << c;
                p->has_capabilities = true;
                p->capabilities.bounding |= bit;
                p->capabilities.effective |= bit;
                p->capabilities.permitted |= bit;
                p->capabilities.inheritable |= bit;
                p->capabilities.ambient |= bit;
        }
        if (arg_flag(a, "no-new-privs"))
                p->no_new_privileges = true;
        if ((v = arg_value(a, "apparmor"))) {
                free(p->apparmor_profile);
                p->apparmor_profile = strdup(v);
        }
        if ((v = arg_value(a, "process-label"))) {
                free(p->selinux_label);
                p->selinux_label = strdup(v);
        }
        return 0;
}

int cmd_exec(struct cmd_args *a)
{
        _cleanup_process_ struct oci_process *p = NULL;
        const char *file = arg_value(a, "process");
        const char *pf = arg_value(a, "preserve-fds");
        struct exec_options o = {
                .root = a->g->root,
                .id = a->pos[0],
                .pid_file = arg_value(a, "pid-file"),
                .console_socket = arg_value(a, "console-socket"),
                .detach = arg_flag(a, "detach"),
        };
        int status = 0, r;

        if (pf && (parse_int(pf, &o.preserve_fds) < 0 || o.preserve_fds < 0))
                return cmd_fail(-EINVAL, "--preserve-fds: invalid number '%s'", pf);
        if (file) {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = read_full_file(file, 4 << 20, &buf, &len);
                if (r < 0)
                        return cmd_fail(r, "exec: cannot read --process '%s'", file);
                r = process_parse(buf, len, file, &p);
                if (r < 0)
                        return cmd_fail(r, "exec in container '%s'", o.id);
                if (arg_flag(a, "tty"))
                        p->terminal = true;
        } else {
                _cleanup_state_ struct container_state *s = NULL;
                _cleanup_config_ struct oci_config *cfg = NULL;
                r = state_open(a->g->root, o.id, false, &s);
                if (r >= 0)
                        r = state_load_config(s, &cfg);
                if (r < 0)
                        return cmd_fail(r, "exec in container '%s'", o.id);
                if (!cfg->process)
                        return cmd_fail(-EINVAL, "exec in container '%s': its config has no process", o.id);
                p = TAKE_PTR(cfg->process);
                r = apply_options(a, p);
                if (r < 0)
                        return cmd_fail(r, "exec in container '%s'", o.id);
        }
        o.process = p;
        r = container_exec(&o, &status);
        if (r < 0) {
                cmd_fail(r, "exec in container '%s'", o.id);
                /* Exit codes as a shell's: 127 not found, 126 cannot execute (podman maps them too). */
                return r == -ENOENT ? 127 : r == -EACCES || r == -EPERM ? 126 : 1;
        }
        return o.detach ? 0 : status;
}
