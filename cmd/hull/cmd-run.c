/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-run.c - `hull run` and `hull create`: options into a runspec (src/engine/runspec.h),
 * then ctr_create() and, for run, ctr_start() and the attached conversation.
 *
 * Foreground run: the monitor is spawned all the same (so that `ps`, `logs`, `stop` from
 * another shell work, and the log is written); this process only relays the terminal.
 * With --rm it removes the container itself once it exited, after telling the monitor so
 * (ATTACH_ACK_EXIT); if this process is killed, the monitor does it.
 */
#include <json-c/json.h>

#include "attach-io.h"
#include "cmd.h"
#include "container.h"
#include "error.h"
#include "json.h"
#include "runspec.h"
#include "util.h"

static int apply_all(struct cmd_context *c, struct runspec *s, const char *opt,
                     int (*fn)(struct runspec *, const char *))
{
        STRV_FOREACH (v, cmd_opt_all(c, opt)) {
                int r = fn(s, *v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_entrypoint(struct runspec *s, const char *v)
{
        s->entrypoint_set = true;
        strv_free(s->entrypoint);
        s->entrypoint = NULL;
        if (v[0] == '[') {
                _cleanup_json_ struct json_object *o = NULL;
                int r = json_parse_buffer(v, strlen(v), "--entrypoint", &o);
                if (r < 0)
                        return r;
                if (!json_object_is_type(o, json_type_array))
                        return err_set(-EINVAL, "--entrypoint: expected a JSON array of strings, got '%s'",
                                       v);
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        struct json_object *e = json_object_array_get_idx(o, i);
                        if (!json_object_is_type(e, json_type_string))
                                return err_set(-EINVAL,
                                               "--entrypoint: expected a JSON array of strings, got '%s'",
                                               v);
                        if (strv_extend(&s->entrypoint, json_object_get_string(e)) < 0)
                                return -ENOMEM;
                }
        } else if (v[0] && strv_extend(&s->entrypoint, v) < 0)
                return -ENOMEM;
        if (!s->entrypoint && !(s->entrypoint = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return 0;
}

static int parse_number(const char *flag, const char *v, int64_t min, int64_t *ret)
{
        int64_t x;
        if (parse_i64(v, &x) < 0 || x < min)
                return err_set(-EINVAL, "%s: invalid number '%s'", flag, v);
        *ret = x;
        return 0;
}

static int env_files(struct cmd_context *c, struct runspec *s)
{
        STRV_FOREACH (f, cmd_opt_all(c, "env-file")) {
                _cleanup_free_ char *text = NULL;
                size_t n;
                int r = read_full_file(*f, 16 << 20, &text, &n);
                if (r < 0)
                        return err_set(r, "--env-file: cannot read '%s': %s", *f, strerror(-r));
                r = runspec_add_env_file(s, text, n, *f);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_all(struct cmd_context *c, const char *opt, char ***dst)
{
        char **l = cmd_opt_all(c, opt);
        if (!l)
                return 0;
        *dst = strv_copy(l);
        return *dst ? 0 : -ENOMEM;
}

/* --network and what describes the container on its networks (checked at create, engine-net.h); `hull vm`
 * parses the same options with it (cmd.h). */
int cmd_network_options(struct cmd_context *c, struct runspec *s)
{
        const char *ip = cmd_opt(c, "ip"), *ip6 = cmd_opt(c, "ip6"), *mac = cmd_opt(c, "mac-address");
        char **aliases = cmd_opt_all(c, "network-alias");
        int r;

        STRV_FOREACH (n, cmd_opt_all(c, "network"))
                if ((r = runspec_add_network(s, *n)) < 0)
                        return r;
        if ((ip || ip6 || mac || aliases) && runspec_is_bridged(s)) {
                /* They describe the container on its first network (the default one without --network). */
                if (s->n_networks == 0 && (r = runspec_add_network(s, "bridge")) < 0)
                        return r;
                struct runspec_network *n = &s->networks[0];
                if ((ip && !(n->ip = strdup(ip))) || (ip6 && !(n->ip6 = strdup(ip6))) ||
                    (mac && !(n->mac = strdup(mac))))
                        return -ENOMEM;
                for (size_t i = 0; aliases && i < s->n_networks; i++)
                        if (!(s->networks[i].aliases = strv_copy(aliases)))
                                return -ENOMEM;
        } else if (ip || ip6 || mac || aliases)
                return err_set(-EINVAL, "--%s: needs a bridged network, not --network %s",
                               ip    ? "ip"
                               : ip6 ? "ip6"
                               : mac ? "mac-address"
                                     : "network-alias",
                               s->network);
        s->publish_all = cmd_flag(c, "publish-all");
        if ((r = copy_all(c, "dns", &s->dns)) < 0 || (r = copy_all(c, "dns-search", &s->dns_search)) < 0 ||
            (r = copy_all(c, "dns-option", &s->dns_options)) < 0 ||
            (r = copy_all(c, "publish", &s->publish)) < 0 || (r = copy_all(c, "egress", &s->egress)) < 0 ||
            (r = copy_all(c, "ingress", &s->ingress)) < 0)
                return r;
        return 0;
}

/* Options shared by run and create into s. */
static int runspec_from_options(struct cmd_context *c, struct runspec *s)
{
        const char *v;
        int64_t x;
        int r;

        if (!(s->image = strdup(c->argv[0])))
                return -ENOMEM;
        if (c->argc > 1 && !(s->command = strv_copy(c->argv + 1)))
                return -ENOMEM;
        s->interactive = cmd_flag(c, "interactive");
        s->tty = cmd_flag(c, "tty");
        s->auto_remove = cmd_flag(c, "rm");
        s->privileged = cmd_flag(c, "privileged");
        s->read_only = cmd_flag(c, "read-only");
        s->no_healthcheck = cmd_flag(c, "no-healthcheck");
        /* -e after --env-file: Docker reads the files first, so that -e overrides them. */
        if ((r = env_files(c, s)) < 0 || (r = apply_all(c, s, "env", runspec_add_env)) < 0 ||
            (r = apply_all(c, s, "volume", runspec_add_volume)) < 0 ||
            (r = apply_all(c, s, "mount", runspec_add_mount)) < 0 ||
            (r = apply_all(c, s, "tmpfs", runspec_add_tmpfs)) < 0 ||
            (r = apply_all(c, s, "ulimit", runspec_add_ulimit)) < 0 ||
            (r = apply_all(c, s, "label", runspec_add_label)) < 0 ||
            (r = apply_all(c, s, "security-opt", runspec_set_security_opt)) < 0 ||
            (r = apply_all(c, s, "log-opt", runspec_set_log_opt)) < 0)
                return r;
        if ((v = cmd_opt(c, "workdir")) && (v[0] != '/' || !(s->workdir = strdup(v))))
                return v[0] != '/' ? err_set(-EINVAL, "--workdir: must be an absolute path, not '%s'", v)
                                   : -ENOMEM;
        if ((v = cmd_opt(c, "user")) && !(s->user = strdup(v)))
                return -ENOMEM;
        if ((v = cmd_opt(c, "hostname")) && !(s->hostname = strdup(v)))
                return -ENOMEM;
        if ((v = cmd_opt(c, "entrypoint")) && (r = parse_entrypoint(s, v)) < 0)
                return r;
        if ((v = cmd_opt(c, "restart")) && (r = runspec_parse_restart(v, &s->restart, &s->restart_max)) < 0)
                return r;
        if ((v = cmd_opt(c, "memory")) && (r = runspec_parse_memory("--memory", v, false, &s->memory)) < 0)
                return r;
        if ((v = cmd_opt(c, "memory-swap")) &&
            (r = runspec_parse_memory("--memory-swap", v, true, &s->memory_swap)) < 0)
                return r;
        if ((v = cmd_opt(c, "memory-reservation")) &&
            (r = runspec_parse_memory("--memory-reservation", v, false, &s->memory_reservation)) < 0)
                return r;
        if ((v = cmd_opt(c, "shm-size")) &&
            (r = runspec_parse_memory("--shm-size", v, false, &s->shm_size)) < 0)
                return r;
        if ((v = cmd_opt(c, "cpus")) && (r = runspec_set_cpus(s, v)) < 0)
                return r;
        if ((v = cmd_opt(c, "cpu-shares"))) {
                if ((r = parse_number("--cpu-shares", v, 2, &x)) < 0)
                        return r;
                s->cpu_shares = (uint64_t)x;
        }
        if ((v = cmd_opt(c, "cpuset-cpus")) && !(s->cpuset_cpus = strdup(v)))
                return -ENOMEM;
        if ((v = cmd_opt(c, "pids-limit")) && (r = parse_number("--pids-limit", v, -1, &s->pids_limit)) < 0)
                return r;
        if (s->pids_limit == 0 && v)
                s->pids_limit = -1; /* podman reads 0 as "unlimited" too */
        STRV_FOREACH (cap, cmd_opt_all(c, "cap-add"))
                if (strv_extend(&s->cap_add, *cap) < 0)
                        return -ENOMEM;
        STRV_FOREACH (cap, cmd_opt_all(c, "cap-drop"))
                if (strv_extend(&s->cap_drop, *cap) < 0)
                        return -ENOMEM;
        if ((v = cmd_opt(c, "health-cmd"))) {
                strv_free(s->health.test);
                s->health.test = strv_copy((char *const[]){(char *)"CMD-SHELL", (char *)v, NULL});
                if (!s->health.test)
                        return -ENOMEM;
        }
        if ((v = cmd_opt(c, "health-interval")) &&
            (r = runspec_parse_duration("--health-interval", v, &s->health.interval)) < 0)
                return r;
        if ((v = cmd_opt(c, "health-timeout")) &&
            (r = runspec_parse_duration("--health-timeout", v, &s->health.timeout)) < 0)
                return r;
        if ((v = cmd_opt(c, "health-start-period")) &&
            (r = runspec_parse_duration("--health-start-period", v, &s->health.start_period)) < 0)
                return r;
        if ((v = cmd_opt(c, "health-retries"))) {
                if ((r = parse_number("--health-retries", v, 1, &x)) < 0)
                        return r;
                s->health.retries = (int)x;
        }
        if ((r = cmd_network_options(c, s)) < 0)
                return r;
        if ((v = cmd_opt(c, "isolation")) && !(s->isolation = strdup(v)))
                return -ENOMEM;
        if ((v = cmd_opt(c, "stop-signal"))) {
                if (signal_from_string(v) < 0)
                        return err_set(-EINVAL, "--stop-signal: unknown signal '%s'", v);
                if (!(s->stop_signal = strdup(v)))
                        return -ENOMEM;
        }
        if ((v = cmd_opt(c, "stop-timeout"))) {
                if ((r = parse_number("--stop-timeout", v, 0, &x)) < 0)
                        return r;
                s->stop_timeout = (int)MIN(x, INT32_MAX);
        }
        STRV_FOREACH (h, cmd_opt_all(c, "add-host"))
                if (strv_extend(&s->add_hosts, *h) < 0)
                        return -ENOMEM;
        if ((v = cmd_opt(c, "pull")) && !streq(v, "missing") && !streq(v, "never"))
                return err_set(-EINVAL, "--pull: expected missing or never, not '%s'", v);
        return 0;
}

/* Options for `hull-image pull` of a missing image (NULL: do not pull): those of hull pull. */
static int pull_options(struct cmd_context *c, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        const char *pull = cmd_opt(c, "pull"), *v;

        if (!l)
                return -ENOMEM;
        if (pull && streq(pull, "never")) {
                *ret = NULL;
                return 0;
        }
        if (cmd_flag(c, "tls-verify") &&
            strv_extend(&l, cmd_bool(c, "tls-verify", true) ? "--tls-verify=true" : "--tls-verify=false") <
                    0)
                return -ENOMEM;
        if ((v = cmd_opt(c, "cert-dir")) && (strv_extend(&l, "--cert-dir") < 0 || strv_extend(&l, v) < 0))
                return -ENOMEM;
        if ((v = cmd_opt(c, "creds")) && (strv_extend(&l, "--creds") < 0 || strv_extend(&l, v) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int create_from_options(struct cmd_context *c, struct workload **ret)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_strv_free_ char **pull = NULL;
        int r;

        if (!s)
                return cmd_fail(-ENOMEM, "creating a container");
        r = runspec_from_options(c, s);
        if (r >= 0)
                r = pull_options(c, &pull);
        if (r < 0)
                return cmd_fail(r, "invalid option");
        r = ctr_create(c->engine, cmd_opt(c, "name"), s, pull, ret);
        if (r < 0)
                return cmd_fail(r, "creating a container from '%s'", c->argv[0]);
        return 0;
}

int cmd_create(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r = create_from_options(c, &w);
        if (r < 0)
                return r;
        printf("%s\n", w->id);
        return 0;
}

/* A container that could not start: its status is the CLI's (125/126/127), the reason one line. */
static int start_failed(struct cmd_context *c, struct workload *w, int r, bool remove)
{
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        if (remove && ctr_remove(c->engine, w, true, true) < 0)
                err_clear();
        fprintf(stderr, "hull: starting container %s: %s\n", w->name, msg);
        if (r == -ENOEXEC && w->exit_code > 0) {
                c->exit_status = w->exit_code;
                return 0;
        }
        return r;
}

int cmd_run(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        struct ctr_start_result res = {.attach_fd = -EBADF};
        _cleanup_runspec_ struct runspec *s = NULL;
        bool detach = cmd_flag(c, "detach");
        struct attach_options ao;
        int code = 0, r;

        r = create_from_options(c, &w);
        if (r < 0)
                return r;
        r = ctr_spec(w, &s);
        if (r < 0)
                return cmd_fail(r, "reading container %s", w->name);
        r = ctr_start(c->engine, w, !detach, &res);
        /* run is one operation: a container that hull could not start (a host port taken, an address in use)
         * is not left behind. One whose command could not be executed stays "created", as in podman. */
        if (r < 0)
                return start_failed(c, w, r, s->auto_remove || r != -ENOEXEC);
        if (detach) {
                printf("%s\n", w->id);
                return 0;
        }
        ao = (struct attach_options){.tty = s->tty,
                                     .stdin_on = s->interactive,
                                     .sig_proxy = cmd_bool(c, "sig-proxy", true),
                                     .ack_exit = s->auto_remove};
        r = attach_run(res.attach_fd, &ao, &code);
        safe_close(res.attach_fd);
        if (r == ATTACH_DETACHED)
                return 0;
        if (r < 0) {
                if (r == -ENOEXEC)
                        return start_failed(c, w, r, s->auto_remove);
                return cmd_fail(r, "running container %s", w->name);
        }
        c->exit_status = code;
        if (s->auto_remove) {
                r = ctr_remove(c->engine, w, true, true);
                if (r < 0 && r != -ENOENT)
                        return cmd_fail(r, "removing container %s", w->name);
                return 0;
        }
        /* Fold the end into the record now (the next command would do it otherwise). */
        if (ctr_refresh(c->engine, w) < 0)
                err_clear();
        return 0;
}
