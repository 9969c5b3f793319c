/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runspec-json.c - the JSON form of a runspec (runspec.h), stored in the workload row
 * and shown by inspect. Field names are camelCase like runtime-spec's; absent fields
 * take their defaults, so that rows written by an older hull still load.
 */
#include <json-c/json.h>

#include "error.h"
#include "json.h"
#include "runspec.h"
#include "util.h"

/* A builder that remembers the first allocation failure, so that callers check once. */
struct jb {
        bool oom;
};

static void put(struct jb *b, struct json_object *o, const char *k, struct json_object *v)
{
        if (!v || json_object_object_add(o, k, v) < 0) {
                json_object_put(v);
                b->oom = true;
        }
}

static struct json_object *strv_json(struct jb *b, char **l)
{
        struct json_object *a = json_object_new_array();
        if (!a) {
                b->oom = true;
                return NULL;
        }
        STRV_FOREACH (s, l) {
                struct json_object *v = json_object_new_string(*s);
                if (!v || json_object_array_add(a, v) < 0) {
                        json_object_put(v);
                        b->oom = true;
                }
        }
        return a;
}

static void put_str(struct jb *b, struct json_object *o, const char *k, const char *v)
{
        if (v)
                put(b, o, k, json_object_new_string(v));
}

static void put_int(struct jb *b, struct json_object *o, const char *k, int64_t v)
{
        if (v)
                put(b, o, k, json_object_new_int64(v));
}

static void put_bool(struct jb *b, struct json_object *o, const char *k, bool v)
{
        if (v)
                put(b, o, k, json_object_new_boolean(true));
}

static const char *const mount_kinds[_MOUNT_KIND_MAX] = {"bind", "volume", "tmpfs"};

int runspec_to_json(const struct runspec *s, struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *a, *h;
        struct jb b = {};

        if (!o)
                return -ENOMEM;
        put_str(&b, o, "image", s->image);
        if (s->command)
                put(&b, o, "command", strv_json(&b, s->command));
        if (s->entrypoint_set)
                put(&b, o, "entrypoint", strv_json(&b, s->entrypoint));
        if (s->env)
                put(&b, o, "env", strv_json(&b, s->env));
        put_str(&b, o, "workdir", s->workdir);
        put_str(&b, o, "user", s->user);
        put_str(&b, o, "hostname", s->hostname);
        put_bool(&b, o, "interactive", s->interactive);
        put_bool(&b, o, "tty", s->tty);
        put_bool(&b, o, "autoRemove", s->auto_remove);
        put_bool(&b, o, "privileged", s->privileged);
        put_bool(&b, o, "readOnly", s->read_only);
        put_bool(&b, o, "noNewPrivileges", s->no_new_privileges);
        put_bool(&b, o, "seccompUnconfined", s->seccomp_unconfined);
        put_str(&b, o, "seccompProfile", s->seccomp_profile);
        if (s->cap_add)
                put(&b, o, "capAdd", strv_json(&b, s->cap_add));
        if (s->cap_drop)
                put(&b, o, "capDrop", strv_json(&b, s->cap_drop));
        if (s->n_mounts) {
                a = json_object_new_array();
                put(&b, o, "mounts", a);
                for (size_t i = 0; a && i < s->n_mounts; i++) {
                        const struct runspec_mount *m = &s->mounts[i];
                        struct json_object *e = json_object_new_object();
                        if (!e || json_object_array_add(a, e) < 0) {
                                json_object_put(e);
                                b.oom = true;
                                break;
                        }
                        put_str(&b, e, "type", mount_kinds[m->kind]);
                        put_str(&b, e, "source", m->source);
                        put_str(&b, e, "destination", m->destination);
                        put_bool(&b, e, "readonly", m->readonly);
                        put_bool(&b, e, "nocopy", m->nocopy);
                        put_bool(&b, e, "anonymous", m->anonymous);
                        put_str(&b, e, "propagation", m->propagation);
                        put_str(&b, e, "options", m->options);
                }
        }
        if (s->restart != RESTART_POLICY_NO)
                put_str(&b, o, "restart", restart_policy_to_string(s->restart));
        put_int(&b, o, "restartMax", s->restart_max);
        put_int(&b, o, "memory", s->memory);
        put_int(&b, o, "memorySwap", s->memory_swap);
        put_int(&b, o, "memoryReservation", s->memory_reservation);
        put_int(&b, o, "cpuQuota", s->cpu_quota);
        put_int(&b, o, "cpuPeriod", s->cpu_period);
        put_int(&b, o, "cpuShares", (int64_t)s->cpu_shares);
        put_str(&b, o, "cpusetCpus", s->cpuset_cpus);
        put_int(&b, o, "pidsLimit", s->pids_limit);
        put_int(&b, o, "shmSize", s->shm_size);
        if (s->labels) {
                struct json_object *l = json_object_new_object();
                put(&b, o, "labels", l);
                for (size_t i = 0; l && s->labels[i] && s->labels[i + 1]; i += 2)
                        put_str(&b, l, s->labels[i], s->labels[i + 1]);
        }
        if (s->health.test || s->health.interval || s->health.timeout || s->health.start_period ||
            s->health.retries) {
                h = json_object_new_object();
                put(&b, o, "health", h);
                if (h) {
                        if (s->health.test)
                                put(&b, h, "test", strv_json(&b, s->health.test));
                        put_int(&b, h, "interval", s->health.interval);
                        put_int(&b, h, "timeout", s->health.timeout);
                        put_int(&b, h, "startPeriod", s->health.start_period);
                        put_int(&b, h, "retries", s->health.retries);
                }
        }
        put_bool(&b, o, "noHealthcheck", s->no_healthcheck);
        put_str(&b, o, "network", s->network);
        put_str(&b, o, "isolation", s->isolation);
        if (s->n_networks) {
                a = json_object_new_array();
                put(&b, o, "networks", a);
                for (size_t i = 0; a && i < s->n_networks; i++) {
                        struct json_object *e = json_object_new_object();
                        if (!e || json_object_array_add(a, e) < 0) {
                                json_object_put(e);
                                b.oom = true;
                                break;
                        }
                        put_str(&b, e, "name", s->networks[i].name);
                        put_str(&b, e, "ip", s->networks[i].ip);
                        put_str(&b, e, "ip6", s->networks[i].ip6);
                        put_str(&b, e, "mac", s->networks[i].mac);
                        if (s->networks[i].aliases)
                                put(&b, e, "aliases", strv_json(&b, s->networks[i].aliases));
                }
        }
        if (s->dns)
                put(&b, o, "dns", strv_json(&b, s->dns));
        if (s->dns_search)
                put(&b, o, "dnsSearch", strv_json(&b, s->dns_search));
        if (s->dns_options)
                put(&b, o, "dnsOptions", strv_json(&b, s->dns_options));
        if (s->publish)
                put(&b, o, "publish", strv_json(&b, s->publish));
        put_bool(&b, o, "publishAll", s->publish_all);
        if (s->egress)
                put(&b, o, "egress", strv_json(&b, s->egress));
        if (s->ingress)
                put(&b, o, "ingress", strv_json(&b, s->ingress));
        put_str(&b, o, "stopSignal", s->stop_signal);
        if (s->stop_timeout >= 0)
                put(&b, o, "stopTimeout", json_object_new_int(s->stop_timeout));
        if (s->n_ulimits) {
                a = json_object_new_array();
                put(&b, o, "ulimits", a);
                for (size_t i = 0; a && i < s->n_ulimits; i++) {
                        struct json_object *e = json_object_new_object();
                        if (!e || json_object_array_add(a, e) < 0) {
                                json_object_put(e);
                                b.oom = true;
                                break;
                        }
                        put_str(&b, e, "name", s->ulimits[i].name);
                        put(&b, e, "soft", json_object_new_int64((int64_t)s->ulimits[i].soft));
                        put(&b, e, "hard", json_object_new_int64((int64_t)s->ulimits[i].hard));
                }
        }
        if (s->add_hosts)
                put(&b, o, "addHosts", strv_json(&b, s->add_hosts));
        put_int(&b, o, "logMaxSize", (int64_t)s->log_max_size);
        put_int(&b, o, "logMaxFiles", s->log_max_files);
        if (b.oom)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* Optional members: a missing one leaves the default, a wrong type is an error. */
static int get_str(struct json_object *o, const char *k, char **ret)
{
        const char *v;
        int r = json_get_string(o, k, k, &v);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int get_strv(struct json_object *o, const char *k, char ***ret, bool *ret_set)
{
        int r = json_get_strv(o, k, k, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!*ret) {
                /* An empty array is meaningful (an --entrypoint "" clears the image's). */
                *ret = calloc(1, sizeof(char *));
                if (!*ret)
                        return -ENOMEM;
        }
        if (ret_set)
                *ret_set = true;
        return 0;
}

static int get_bool(struct json_object *o, const char *k, bool *ret)
{
        int r = json_get_bool(o, k, k, ret);
        return r == -ENOENT ? 0 : r;
}

static int get_i64(struct json_object *o, const char *k, int64_t *ret)
{
        int r = json_get_int64(o, k, k, ret);
        return r == -ENOENT ? 0 : r;
}

static int mounts_from_json(struct json_object *o, struct runspec *s)
{
        struct json_object *a;
        size_t n;
        int r = json_get_array(o, "mounts", "mounts", &a);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        n = json_object_array_length(a);
        s->mounts = calloc(n ? n : 1, sizeof(*s->mounts));
        if (!s->mounts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                struct runspec_mount *m = &s->mounts[i];
                _cleanup_free_ char *type = NULL;

                s->n_mounts++;
                if ((r = json_expect_type(e, json_type_object, "mounts[]")) < 0 ||
                    (r = get_str(e, "type", &type)) < 0 || (r = get_str(e, "source", &m->source)) < 0 ||
                    (r = get_str(e, "destination", &m->destination)) < 0 ||
                    (r = get_bool(e, "readonly", &m->readonly)) < 0 ||
                    (r = get_bool(e, "nocopy", &m->nocopy)) < 0 ||
                    (r = get_bool(e, "anonymous", &m->anonymous)) < 0 ||
                    (r = get_str(e, "propagation", &m->propagation)) < 0 ||
                    (r = get_str(e, "options", &m->options)) < 0)
                        return r;
                m->kind = _MOUNT_KIND_INVALID;
                for (int k = 0; k < _MOUNT_KIND_MAX; k++)
                        if (streq_ptr(type, mount_kinds[k]))
                                m->kind = (enum mount_kind)k;
                if (m->kind < 0 || !m->destination)
                        return err_set(-EINVAL, "mounts[%zu]: invalid type or no destination", i);
        }
        return 0;
}

static int networks_from_json(struct json_object *o, struct runspec *s)
{
        struct json_object *a;
        size_t n;
        int r = json_get_array(o, "networks", "networks", &a);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        n = json_object_array_length(a);
        s->networks = calloc(n ? n : 1, sizeof(*s->networks));
        if (!s->networks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                struct runspec_network *net = &s->networks[i];

                s->n_networks++;
                if ((r = json_expect_type(e, json_type_object, "networks[]")) < 0 ||
                    (r = get_str(e, "name", &net->name)) < 0 || (r = get_str(e, "ip", &net->ip)) < 0 ||
                    (r = get_str(e, "ip6", &net->ip6)) < 0 || (r = get_str(e, "mac", &net->mac)) < 0 ||
                    (r = get_strv(e, "aliases", &net->aliases, NULL)) < 0)
                        return r;
                if (!net->name)
                        return err_set(-EINVAL, "networks[%zu]: no name", i);
        }
        return 0;
}

int runspec_from_json(struct json_object *o, struct runspec **ret)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_free_ char *restart = NULL;
        struct json_object *labels, *h, *a;
        int64_t v = 0, stop_timeout = -1;
        int r;

        if (!s)
                return -ENOMEM;
        if ((r = get_str(o, "image", &s->image)) < 0 ||
            (r = get_strv(o, "command", &s->command, NULL)) < 0 ||
            (r = get_strv(o, "entrypoint", &s->entrypoint, &s->entrypoint_set)) < 0 ||
            (r = get_strv(o, "env", &s->env, NULL)) < 0 || (r = get_str(o, "workdir", &s->workdir)) < 0 ||
            (r = get_str(o, "user", &s->user)) < 0 || (r = get_str(o, "hostname", &s->hostname)) < 0 ||
            (r = get_bool(o, "interactive", &s->interactive)) < 0 || (r = get_bool(o, "tty", &s->tty)) < 0 ||
            (r = get_bool(o, "autoRemove", &s->auto_remove)) < 0 ||
            (r = get_bool(o, "privileged", &s->privileged)) < 0 ||
            (r = get_bool(o, "readOnly", &s->read_only)) < 0 ||
            (r = get_bool(o, "noNewPrivileges", &s->no_new_privileges)) < 0 ||
            (r = get_bool(o, "seccompUnconfined", &s->seccomp_unconfined)) < 0 ||
            (r = get_str(o, "seccompProfile", &s->seccomp_profile)) < 0 ||
            (r = get_strv(o, "capAdd", &s->cap_add, NULL)) < 0 ||
            (r = get_strv(o, "capDrop", &s->cap_drop, NULL)) < 0 || (r = mounts_from_json(o, s)) < 0 ||
            (r = get_str(o, "restart", &restart)) < 0 || (r = get_i64(o, "memory", &s->memory)) < 0 ||
            (r = get_i64(o, "memorySwap", &s->memory_swap)) < 0 ||
            (r = get_i64(o, "memoryReservation", &s->memory_reservation)) < 0 ||
            (r = get_i64(o, "cpuQuota", &s->cpu_quota)) < 0 ||
            (r = get_i64(o, "cpuPeriod", &s->cpu_period)) < 0 ||
            (r = get_str(o, "cpusetCpus", &s->cpuset_cpus)) < 0 ||
            (r = get_i64(o, "pidsLimit", &s->pids_limit)) < 0 ||
            (r = get_i64(o, "shmSize", &s->shm_size)) < 0 ||
            (r = get_bool(o, "noHealthcheck", &s->no_healthcheck)) < 0 ||
            (r = get_str(o, "isolation", &s->isolation)) < 0 ||
            (r = get_str(o, "network", &s->network)) < 0 || (r = networks_from_json(o, s)) < 0 ||
            (r = get_strv(o, "dns", &s->dns, NULL)) < 0 ||
            (r = get_strv(o, "dnsSearch", &s->dns_search, NULL)) < 0 ||
            (r = get_strv(o, "dnsOptions", &s->dns_options, NULL)) < 0 ||
            (r = get_strv(o, "publish", &s->publish, NULL)) < 0 ||
            (r = get_bool(o, "publishAll", &s->publish_all)) < 0 ||
            (r = get_strv(o, "egress", &s->egress, NULL)) < 0 ||
            (r = get_strv(o, "ingress", &s->ingress, NULL)) < 0 ||
            (r = get_str(o, "stopSignal", &s->stop_signal)) < 0 ||
            (r = get_i64(o, "stopTimeout", &stop_timeout)) < 0 ||
            (r = get_strv(o, "addHosts", &s->add_hosts, NULL)) < 0)
                return r;
        s->stop_timeout = (int)stop_timeout;
        if ((r = get_i64(o, "cpuShares", &v)) < 0)
                return r;
        s->cpu_shares = (uint64_t)v;
        v = 0;
        if ((r = get_i64(o, "restartMax", &v)) < 0)
                return r;
        s->restart_max = (unsigned)v;
        v = 0;
        if ((r = get_i64(o, "logMaxSize", &v)) < 0)
                return r;
        s->log_max_size = (uint64_t)v;
        v = 0;
        if ((r = get_i64(o, "logMaxFiles", &v)) < 0)
                return r;
        s->log_max_files = (unsigned)v;
        if (restart) {
                unsigned dummy;
                if ((r = runspec_parse_restart(restart, &s->restart, &dummy)) < 0)
                        return r;
        }
        r = json_get_object(o, "labels", "labels", &labels);
        if (r >= 0) {
                json_object_object_foreach (labels, k, lv) {
                        if (!json_object_is_type(lv, json_type_string))
                                return err_set(-EINVAL, "labels.%s: expected a string", k);
                        if (strv_extend(&s->labels, k) < 0 ||
                            strv_extend(&s->labels, json_object_get_string(lv)) < 0)
                                return -ENOMEM;
                }
        } else if (r != -ENOENT)
                return r;
        r = json_get_object(o, "health", "health", &h);
        if (r >= 0) {
                v = 0;
                if ((r = get_strv(h, "test", &s->health.test, NULL)) < 0 ||
                    (r = get_i64(h, "interval", &s->health.interval)) < 0 ||
                    (r = get_i64(h, "timeout", &s->health.timeout)) < 0 ||
                    (r = get_i64(h, "startPeriod", &s->health.start_period)) < 0 ||
                    (r = get_i64(h, "retries", &v)) < 0)
                        return r;
                s->health.retries = (int)v;
        } else if (r != -ENOENT)
                return r;
        r = json_get_array(o, "ulimits", "ulimits", &a);
        if (r >= 0) {
                size_t n = json_object_array_length(a);
                s->ulimits = calloc(n ? n : 1, sizeof(*s->ulimits));
                if (!s->ulimits)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        struct json_object *e = json_object_array_get_idx(a, i);
                        int64_t soft = 0, hard = 0;
                        s->n_ulimits++;
                        if ((r = json_expect_type(e, json_type_object, "ulimits[]")) < 0 ||
                            (r = get_str(e, "name", &s->ulimits[i].name)) < 0 ||
                            (r = get_i64(e, "soft", &soft)) < 0 || (r = get_i64(e, "hard", &hard)) < 0)
                                return r;
                        if (!s->ulimits[i].name)
                                return err_set(-EINVAL, "ulimits[%zu]: no name", i);
                        s->ulimits[i].soft = (uint64_t)soft;
                        s->ulimits[i].hard = (uint64_t)hard;
                }
        } else if (r != -ENOENT)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}
