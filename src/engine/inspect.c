/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.c - the JSON form of containers and volumes for `hull inspect` (and later hulld),
 * shaped like podman's so that scripts written for it find the same fields: Id, Name,
 * State {Status, Running, Paused, Restarting, OOMKilled, Pid, ExitCode, Error, StartedAt,
 * FinishedAt, Health}, Config {Env, Cmd, Entrypoint, WorkingDir, User, Labels, Tty,
 * OpenStdin, StopSignal}, HostConfig {RestartPolicy, Memory, NanoCpus, PidsLimit,
 * Privileged, ReadonlyRootfs, CapAdd, CapDrop, AutoRemove, NetworkMode...}, Mounts,
 * RestartCount, LogPath; plus HullSpec, the stored run options as they are.
 */
#include <json-c/json.h>

#include "engine-net.h"
#include "error.h"
#include "inspect.h"
#include "json.h"
#include "logfile.h"
#include "ocispec.h"
#include "store.h"
#include "util.h"
#include "volume.h"

static struct json_object *jstr(const char *s)
{
        return json_object_new_string(s ? s : "");
}

static struct json_object *jtime(int64_t ns)
{
        char buf[48];
        if (ns <= 0)
                return json_object_new_string("0001-01-01T00:00:00Z");
        return json_object_new_string(logfile_format_time(ns, buf, sizeof(buf)));
}

static struct json_object *jstrv(char **l)
{
        struct json_object *a = json_object_new_array();
        STRV_FOREACH (s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static const char *podman_status(enum workload_state s)
{
        switch (s) {
        case WORKLOAD_CREATING:
        case WORKLOAD_CREATED:
                return "created";
        case WORKLOAD_RUNNING:
                return "running";
        case WORKLOAD_PAUSED:
                return "paused";
        case WORKLOAD_RESTARTING:
                return "restarting";
        case WORKLOAD_STOPPING:
                return "stopping";
        case WORKLOAD_REMOVING:
                return "removing";
        default:
                return "exited";
        }
}

static struct json_object *state_json(struct engine *e, const struct workload *w)
{
        struct json_object *s = json_object_new_object(), *h;
        struct monitor_status st;
        bool have_status = ctr_status(e, w, &st) >= 0;

        err_clear();
        json_object_object_add(s, "Status", jstr(podman_status(w->state)));
        json_object_object_add(
                s, "Running",
                json_object_new_boolean(w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED));
        json_object_object_add(s, "Paused", json_object_new_boolean(w->state == WORKLOAD_PAUSED));
        json_object_object_add(s, "Restarting", json_object_new_boolean(w->state == WORKLOAD_RESTARTING));
        json_object_object_add(s, "OOMKilled", json_object_new_boolean(w->oom));
        json_object_object_add(s, "Dead", json_object_new_boolean(false));
        json_object_object_add(s, "Pid", json_object_new_int64(w->pid));
        json_object_object_add(s, "ExitCode", json_object_new_int(w->exit_code < 0 ? 0 : w->exit_code));
        json_object_object_add(s, "Error", jstr(w->error));
        json_object_object_add(s, "StartedAt", jtime(w->started));
        json_object_object_add(s, "FinishedAt", jtime(w->finished));
        if (w->health && w->health[0]) {
                struct json_object *log = json_object_new_array();
                h = json_object_new_object();
                json_object_object_add(h, "Status", jstr(w->health));
                json_object_object_add(h, "FailingStreak",
                                       json_object_new_int(have_status ? (int)st.health_failures : 0));
                for (unsigned i = 0; have_status && i < st.n_health_log; i++) {
                        struct json_object *r = json_object_new_object();
                        json_object_object_add(r, "Start", jtime(st.health_log[i].start));
                        json_object_object_add(r, "End", jtime(st.health_log[i].end));
                        json_object_object_add(r, "ExitCode",
                                               json_object_new_int(st.health_log[i].exit_code));
                        json_object_object_add(r, "Output", jstr(st.health_log[i].output));
                        json_object_array_add(log, r);
                }
                json_object_object_add(h, "Log", log);
                json_object_object_add(s, "Health", h);
        }
        return s;
}

static struct json_object *mounts_json(struct engine *e, const struct runspec *s)
{
        struct json_object *a = json_object_new_array();
        static const char *const kinds[] = {"bind", "volume", "tmpfs"};

        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct runspec_mount *m = &s->mounts[i];
                struct json_object *o = json_object_new_object();
                _cleanup_free_ char *src = m->kind == MOUNT_VOLUME ? volume_data_path(e, m->source) : NULL;

                json_object_object_add(o, "Type", jstr(kinds[m->kind]));
                if (m->kind == MOUNT_VOLUME)
                        json_object_object_add(o, "Name", jstr(m->source));
                json_object_object_add(o, "Source", jstr(m->kind == MOUNT_VOLUME ? src : m->source));
                json_object_object_add(o, "Destination", jstr(m->destination));
                json_object_object_add(o, "RW", json_object_new_boolean(!m->readonly));
                json_object_object_add(o, "Propagation",
                                       jstr(m->kind == MOUNT_BIND ? (m->propagation ?: "rprivate") : ""));
                if (m->options)
                        json_object_object_add(o, "Options", jstr(m->options));
                json_object_array_add(a, o);
        }
        return a;
}

/* The process as it runs (config.json, written at start), else as the image and options say. */
static void process_fields(struct engine *e, const struct workload *w, const struct runspec *s,
                           struct json_object *root, struct json_object *cfg)
{
        _cleanup_free_ char *path = strdup_printf("%s/%s/config.json", e->containers_dir, w->id);
        _cleanup_json_ struct json_object *config = NULL;
        _cleanup_image_config_ struct image_config *img = NULL;
        _cleanup_strv_free_ char **args = NULL;
        struct image_store *st;
        struct json_object *p, *v;

        if (engine_store(e, &st) >= 0)
                store_image_config(st, w->image_id, &img);
        err_clear();
        if (ocispec_args(s, img, &args) < 0)
                err_clear();
        json_object_object_add(root, "Path", jstr(args ? args[0] : ""));
        json_object_object_add(root, "Args", jstrv(args && args[0] ? args + 1 : NULL));
        json_object_object_add(cfg, "Cmd", jstrv(s->command ? s->command : img ? img->cmd : NULL));
        json_object_object_add(cfg, "Entrypoint",
                               jstrv(s->entrypoint_set ? s->entrypoint
                                     : img             ? img->entrypoint
                                                       : NULL));
        if (path && json_parse_file(path, 16 << 20, &config) >= 0 &&
            json_object_object_get_ex(config, "process", &p)) {
                if (json_object_object_get_ex(p, "env", &v))
                        json_object_object_add(cfg, "Env", json_object_get(v));
                if (json_object_object_get_ex(p, "cwd", &v))
                        json_object_object_add(cfg, "WorkingDir", json_object_get(v));
        } else {
                json_object_object_add(cfg, "Env", jstrv(s->env));
                json_object_object_add(cfg, "WorkingDir",
                                       jstr(s->workdir                ? s->workdir
                                            : img && img->working_dir ? img->working_dir
                                                                      : "/"));
        }
        err_clear();
        json_object_object_add(cfg, "User", jstr(s->user ? s->user : img ? img->user : ""));
        json_object_object_add(cfg, "StopSignal",
                               jstr(s->stop_signal            ? s->stop_signal
                                    : img && img->stop_signal ? img->stop_signal
                                                              : "SIGTERM"));
}

/*
 * The VM of a VM-isolated container as hull-runtime sized it (isolation.json in its state: the
 * VMM, guest memory and vCPUs, and where each came from; docs/agent.md "Resources"), while the
 * container exists in the runtime (created, running, paused); otherwise an empty object.
 */
static struct json_object *vm_isolation_json(struct engine *e, const struct workload *w)
{
        _cleanup_free_ char *p = strdup_printf("%s/%s/isolation.json", e->runtime_root, w->id), *buf = NULL;
        struct json_object *o = NULL;
        size_t len;

        if (p && read_full_file(p, 1 << 16, &buf, &len) >= 0 && json_parse_buffer(buf, len, p, &o) >= 0 &&
            json_object_is_type(o, json_type_object))
                return o;
        json_object_put(o);
        err_clear();
        return json_object_new_object();
}

int ctr_inspect_json(struct engine *e, struct workload *w, struct json_object **ret)
{
        _cleanup_runspec_ struct runspec *s = NULL;
        _cleanup_json_ struct json_object *o = json_object_new_object(), *sj = NULL, *ns = NULL;
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *p = NULL;
        struct json_object *cfg, *host, *labels, *rp, *lc;
        char hostname[65];
        int r;

        if (!o || !dir)
                return -ENOMEM;
        if ((r = ctr_spec(w, &s)) < 0)
                return r;
        json_object_object_add(o, "Id", jstr(w->id));
        json_object_object_add(o, "Created", jtime(w->created));
        json_object_object_add(o, "State", state_json(e, w));
        json_object_object_add(o, "Image", jstr(startswith(w->image_id, "sha256:") ?: w->image_id));
        json_object_object_add(o, "ImageName", jstr(w->image_ref));
        json_object_object_add(o, "Name", jstr(w->name));
        json_object_object_add(o, "RestartCount", json_object_new_int(w->restart_count));
        json_object_object_add(o, "Driver", jstr("overlay"));
        json_object_object_add(o, "Platform", jstr("linux"));
        json_object_object_add(o, "Mounts", mounts_json(e, s));
        p = strdup_printf("%s/" LOGFILE_NAME, dir);
        json_object_object_add(o, "LogPath", jstr(p));
        free(p);
        p = strdup_printf("%s/hosts", dir);
        json_object_object_add(o, "HostsPath", jstr(p));
        free(p);
        p = strdup_printf("%s/resolv.conf", dir);
        json_object_object_add(o, "ResolvConfPath", jstr(p));
        free(p);
        p = NULL;
        json_object_object_add(o, "BundlePath", jstr(dir));
        json_object_object_add(o, "MonitorPid", json_object_new_int64(w->monitor_pid));

        cfg = json_object_new_object();
        json_object_object_add(o, "Config", cfg);
        json_object_object_add(cfg, "Hostname", jstr(ocispec_hostname(s, w->id, hostname)));
        json_object_object_add(cfg, "Image", jstr(w->image_ref));
        json_object_object_add(cfg, "Tty", json_object_new_boolean(s->tty));
        json_object_object_add(cfg, "OpenStdin", json_object_new_boolean(s->interactive));
        labels = json_object_new_object();
        for (size_t i = 0; s->labels && s->labels[i] && s->labels[i + 1]; i += 2)
                json_object_object_add(labels, s->labels[i], jstr(s->labels[i + 1]));
        json_object_object_add(cfg, "Labels", labels);
        json_object_object_add(cfg, "StopTimeout",
                               json_object_new_int(s->stop_timeout >= 0 ? s->stop_timeout : 10));
        process_fields(e, w, s, o, cfg);

        host = json_object_new_object();
        json_object_object_add(o, "HostConfig", host);
        rp = json_object_new_object();
        json_object_object_add(rp, "Name", jstr(restart_policy_to_string(s->restart)));
        json_object_object_add(rp, "MaximumRetryCount", json_object_new_int((int)s->restart_max));
        json_object_object_add(host, "RestartPolicy", rp);
        json_object_object_add(host, "AutoRemove", json_object_new_boolean(s->auto_remove));
        json_object_object_add(host, "Privileged", json_object_new_boolean(s->privileged));
        json_object_object_add(host, "ReadonlyRootfs", json_object_new_boolean(s->read_only));
        json_object_object_add(host, "CapAdd", jstrv(s->cap_add));
        json_object_object_add(host, "CapDrop", jstrv(s->cap_drop));
        json_object_object_add(host, "Memory", json_object_new_int64(s->memory));
        json_object_object_add(host, "MemorySwap", json_object_new_int64(s->memory_swap));
        json_object_object_add(host, "MemoryReservation", json_object_new_int64(s->memory_reservation));
        json_object_object_add(
                host, "NanoCpus",
                json_object_new_int64(s->cpu_period ? s->cpu_quota * 1000000000 / s->cpu_period : 0));
        json_object_object_add(host, "CpuQuota", json_object_new_int64(s->cpu_quota));
        json_object_object_add(host, "CpuPeriod", json_object_new_int64(s->cpu_period));
        json_object_object_add(host, "CpuShares", json_object_new_int64((int64_t)s->cpu_shares));
        json_object_object_add(host, "CpusetCpus", jstr(s->cpuset_cpus));
        json_object_object_add(host, "PidsLimit", json_object_new_int64(s->pids_limit));
        json_object_object_add(host, "ShmSize", json_object_new_int64(s->shm_size ? s->shm_size : 64 << 20));
        json_object_object_add(host, "NetworkMode", jstr(s->network ? s->network : "bridge"));
        json_object_object_add(host, "NoNewPrivileges", json_object_new_boolean(s->no_new_privileges));
        json_object_object_add(host, "SeccompProfile",
                               jstr(s->privileged || s->seccomp_unconfined ? "unconfined"
                                    : s->seccomp_profile                   ? "custom"
                                                                           : "default"));
        lc = json_object_new_object();
        json_object_object_add(lc, "Type", jstr("json-file"));
        if (s->log_max_size) {
                struct json_object *c = json_object_new_object();
                char v[32];
                snprintf(v, sizeof(v), "%llu", (unsigned long long)s->log_max_size);
                json_object_object_add(c, "max-size", jstr(v));
                snprintf(v, sizeof(v), "%u", s->log_max_files ?: 1);
                json_object_object_add(c, "max-file", jstr(v));
                json_object_object_add(lc, "Config", c);
        }
        json_object_object_add(host, "LogConfig", lc);
        if ((r = engine_net_settings_json(e, w, s, &ns)) < 0)
                return r;
        json_object_object_add(o, "NetworkSettings", TAKE_PTR(ns));
        if ((r = runspec_to_json(s, &sj)) < 0)
                return r;
        json_object_object_add(o, "HullSpec", TAKE_PTR(sj));
        if (runspec_vm_isolated(s))
                json_object_object_add(o, "VMIsolation", vm_isolation_json(e, w));
        *ret = TAKE_PTR(o);
        return 0;
}

int volume_inspect_json(struct engine *e, const struct volume_info *v, struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object(), *labels = NULL;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "Name", jstr(v->name));
        json_object_object_add(o, "Driver", jstr(v->driver));
        json_object_object_add(o, "Mountpoint", jstr(v->mountpoint));
        json_object_object_add(o, "CreatedAt", jtime(v->created));
        if (json_parse_buffer(v->labels, strlen(v->labels), "volume labels", &labels) < 0) {
                err_clear();
                labels = json_object_new_object();
        }
        json_object_object_add(o, "Labels", TAKE_PTR(labels));
        json_object_object_add(o, "Scope", jstr("local"));
        json_object_object_add(o, "Anonymous", json_object_new_boolean(v->anonymous));
        json_object_object_add(o, "UsedBy", jstrv(v->users));
        *ret = TAKE_PTR(o);
        return 0;
}
