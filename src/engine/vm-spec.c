/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-spec.c - a VM's options (struct vm_spec, vm.h) as JSON, the "spec" column of its
 * workload row, and the parsing of --disk and --volume.
 *
 * The JSON is hull's own and versionless: unknown fields are ignored and missing ones take
 * their defaults, so that a VM created by an older hull still starts.
 */
#include <json-c/json.h>
#include <stdio.h>

#include "error.h"
#include "json.h"
#include "util.h"
#include "vm.h"

#define VM_VOLUME_DEFAULT_SIZE (1ULL << 30)

void vm_spec_done(struct vm_spec *s)
{
        free(s->vmm);
        free(s->kernel);
        free(s->initrd);
        free(s->cmdline);
        free(s->boot_disk);
        free(s->firmware);
        free(s->image);
        free(s->root_fstype);
        for (size_t i = 0; i < s->n_disks; i++) {
                free(s->disks[i].path);
                free(s->disks[i].mount);
        }
        free(s->disks);
        for (size_t i = 0; i < s->n_volumes; i++) {
                free(s->volumes[i].name);
                free(s->volumes[i].mount);
        }
        free(s->volumes);
        vmconf_done(&s->conf);
        free(s->restart);
        runspec_free(s->net);
        *s = (struct vm_spec){};
}

static void put_str(struct json_object *o, const char *key, const char *v)
{
        if (v)
                json_object_object_add(o, key, json_object_new_string(v));
}

static void put_strv(struct json_object *o, const char *key, char **l)
{
        struct json_object *a;
        if (!l)
                return;
        a = json_object_new_array();
        STRV_FOREACH (s, l)
                json_object_array_add(a, json_object_new_string(*s));
        json_object_object_add(o, key, a);
}

int vm_spec_to_json(const struct vm_spec *s, char **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *disks = json_object_new_array(), *vols = json_object_new_array();
        struct json_object *conf = json_object_new_object();

        if (!o || !disks || !vols || !conf) {
                json_object_put(disks);
                json_object_put(vols);
                json_object_put(conf);
                return -ENOMEM;
        }
        put_str(o, "vmm", s->vmm);
        put_str(o, "kernel", s->kernel);
        put_str(o, "initrd", s->initrd);
        put_str(o, "cmdline", s->cmdline);
        put_str(o, "boot_disk", s->boot_disk);
        put_str(o, "firmware", s->firmware);
        put_str(o, "image", s->image);
        put_str(o, "root_fstype", s->root_fstype);
        json_object_object_add(o, "cpus", json_object_new_int64(s->cpus));
        json_object_object_add(o, "memory", json_object_new_int64((int64_t)s->memory));
        for (size_t i = 0; i < s->n_disks; i++) {
                struct json_object *d = json_object_new_object();
                put_str(d, "path", s->disks[i].path);
                put_str(d, "mount", s->disks[i].mount);
                put_str(d, "format", disk_format_to_string(s->disks[i].format));
                json_object_object_add(d, "readonly", json_object_new_boolean(s->disks[i].readonly));
                json_object_array_add(disks, d);
        }
        json_object_object_add(o, "disks", disks);
        for (size_t i = 0; i < s->n_volumes; i++) {
                struct json_object *v = json_object_new_object();
                put_str(v, "name", s->volumes[i].name);
                put_str(v, "mount", s->volumes[i].mount);
                json_object_object_add(v, "size", json_object_new_int64((int64_t)s->volumes[i].size));
                json_object_array_add(vols, v);
        }
        json_object_object_add(o, "volumes", vols);
        put_str(conf, "hostname", s->conf.hostname);
        put_strv(conf, "ssh_keys", s->conf.ssh_keys);
        put_strv(conf, "argv", s->conf.argv);
        put_strv(conf, "env", s->conf.env);
        put_str(conf, "workdir", s->conf.workdir);
        put_str(conf, "user", s->conf.user);
        put_str(conf, "ip", s->conf.ip);
        put_str(conf, "gateway", s->conf.gateway);
        put_strv(conf, "dns", s->conf.dns);
        put_str(conf, "user_data", s->conf.user_data);
        json_object_object_add(o, "config", conf);
        put_str(o, "restart", s->restart);
        json_object_object_add(o, "auto_remove", json_object_new_boolean(s->auto_remove));
        if (s->net) {
                struct json_object *net = NULL;
                int r = runspec_to_json(s->net, &net);
                if (r < 0)
                        return r;
                json_object_object_add(o, "net", net);
        }
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        return *ret ? 0 : -ENOMEM;
}

/* An optional string member: absent is NULL, a wrong type is an error naming the field. */
static int get_str(struct json_object *o, const char *key, const char *path, char **ret)
{
        const char *v = NULL;
        int r;

        if (!json_object_object_get_ex(o, key, NULL))
                return 0;
        r = json_get_string(o, key, path, &v);
        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int get_strv(struct json_object *o, const char *key, const char *path, char ***ret)
{
        if (!json_object_object_get_ex(o, key, NULL))
                return 0;
        strv_free(*ret);
        *ret = NULL;
        return json_get_strv(o, key, path, ret);
}

static int conf_from_json(struct json_object *c, struct vmconf *conf)
{
        int r = 0;
        if (!c)
                return 0;
        if ((r = get_str(c, "hostname", "config.hostname", &conf->hostname)) < 0 ||
            (r = get_strv(c, "ssh_keys", "config.ssh_keys", &conf->ssh_keys)) < 0 ||
            (r = get_strv(c, "argv", "config.argv", &conf->argv)) < 0 ||
            (r = get_strv(c, "env", "config.env", &conf->env)) < 0 ||
            (r = get_str(c, "workdir", "config.workdir", &conf->workdir)) < 0 ||
            (r = get_str(c, "user", "config.user", &conf->user)) < 0 ||
            (r = get_str(c, "ip", "config.ip", &conf->ip)) < 0 ||
            (r = get_str(c, "gateway", "config.gateway", &conf->gateway)) < 0 ||
            (r = get_strv(c, "dns", "config.dns", &conf->dns)) < 0 ||
            (r = get_str(c, "user_data", "config.user_data", &conf->user_data)) < 0)
                return r;
        return 0;
}

int vm_spec_from_json(const char *json, struct vm_spec *ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *disks = NULL, *vols = NULL, *conf = NULL, *net = NULL;
        struct vm_spec s = {};
        int64_t v;
        int r;

        r = json_parse_buffer(json, strlen(json), "vm spec", &o);
        if (r < 0)
                return r;
        if ((r = get_str(o, "vmm", "vmm", &s.vmm)) < 0 ||
            (r = get_str(o, "kernel", "kernel", &s.kernel)) < 0 ||
            (r = get_str(o, "initrd", "initrd", &s.initrd)) < 0 ||
            (r = get_str(o, "cmdline", "cmdline", &s.cmdline)) < 0 ||
            (r = get_str(o, "boot_disk", "boot_disk", &s.boot_disk)) < 0 ||
            (r = get_str(o, "firmware", "firmware", &s.firmware)) < 0 ||
            (r = get_str(o, "image", "image", &s.image)) < 0 ||
            (r = get_str(o, "root_fstype", "root_fstype", &s.root_fstype)) < 0 ||
            (r = get_str(o, "restart", "restart", &s.restart)) < 0)
                goto fail;
        if (json_object_object_get_ex(o, "net", &net)) {
                if ((r = runspec_from_json(net, &s.net)) < 0)
                        goto fail;
        } else {
                /* A VM made before hull's networks reached VMs ("network": "none" or nothing): it
                 * stays on none. vm_create() always stores "net". */
                if (!(s.net = runspec_new()) || !(s.net->network = strdup("none"))) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (json_get_bool(o, "auto_remove", "auto_remove", &s.auto_remove) < 0)
                s.auto_remove = false;
        if (json_get_int64(o, "cpus", "cpus", &v) >= 0)
                s.cpus = (unsigned)v;
        if (json_get_int64(o, "memory", "memory", &v) >= 0)
                s.memory = (uint64_t)v;
        err_clear();
        json_object_object_get_ex(o, "disks", &disks);
        json_object_object_get_ex(o, "volumes", &vols);
        json_object_object_get_ex(o, "config", &conf);
        if (disks && json_object_is_type(disks, json_type_array)) {
                size_t n = json_object_array_length(disks);
                s.disks = calloc(n ?: 1, sizeof(*s.disks));
                if (!s.disks) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t i = 0; i < n; i++) {
                        struct json_object *d = json_object_array_get_idx(disks, i);
                        struct vm_disk_spec *x = &s.disks[s.n_disks++];
                        _cleanup_free_ char *fmt = NULL;
                        bool ro = false;
                        if ((r = get_str(d, "path", "disks[].path", &x->path)) < 0 ||
                            (r = get_str(d, "mount", "disks[].mount", &x->mount)) < 0 ||
                            (r = get_str(d, "format", "disks[].format", &fmt)) < 0)
                                goto fail;
                        x->format = disk_format_from_string(fmt);
                        if (json_get_bool(d, "readonly", "disks[].readonly", &ro) >= 0)
                                x->readonly = ro;
                        err_clear();
                }
        }
        if (vols && json_object_is_type(vols, json_type_array)) {
                size_t n = json_object_array_length(vols);
                s.volumes = calloc(n ?: 1, sizeof(*s.volumes));
                if (!s.volumes) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t i = 0; i < n; i++) {
                        struct json_object *d = json_object_array_get_idx(vols, i);
                        struct vm_volume_spec *x = &s.volumes[s.n_volumes++];
                        if ((r = get_str(d, "name", "volumes[].name", &x->name)) < 0 ||
                            (r = get_str(d, "mount", "volumes[].mount", &x->mount)) < 0)
                                goto fail;
                        if (json_get_int64(d, "size", "volumes[].size", &v) >= 0)
                                x->size = (uint64_t)v;
                        err_clear();
                }
        }
        if ((r = conf_from_json(conf, &s.conf)) < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        vm_spec_done(&s);
        return r;
}

static bool valid_mount(const char *m)
{
        return m && m[0] == '/' && !strstr(m, "..") && !strchr(m, ' ') && !strchr(m, '\n');
}

/* "MAIN[:AFTER][,OPTS]": a copy of arg cut in place into its three parts (AFTER, OPTS may be NULL). */
static int split_spec(const char *arg, char **ret_copy, char **ret_after, char **ret_opts)
{
        char *copy = strdup(arg), *opts, *colon;

        if (!copy)
                return -ENOMEM;
        opts = strchr(copy, ',');
        if (opts)
                *opts++ = 0;
        colon = strchr(copy, ':');
        if (colon)
                *colon++ = 0;
        *ret_copy = copy;
        *ret_after = colon;
        *ret_opts = opts;
        return 0;
}

int vm_spec_add_disk(struct vm_spec *s, const char *arg)
{
        _cleanup_free_ char *copy = NULL;
        struct vm_disk_spec d = {.format = _DISK_FORMAT_INVALID};
        char *opts, *colon;

        if (split_spec(arg, &copy, &colon, &opts) < 0)
                return -ENOMEM;
        if (colon) {
                if (!valid_mount(colon))
                        return err_set(-EINVAL, "--disk: invalid mount point '%s' (an absolute path)",
                                       colon);
        }
        for (char *o = opts, *next; o && *o; o = next) {
                next = strchr(o, ',');
                if (next)
                        *next++ = 0;
                if (streq(o, "ro"))
                        d.readonly = true;
                else if (startswith(o, "format=")) {
                        d.format = disk_format_from_string(o + 7);
                        if (d.format < 0)
                                return err_set(-EINVAL, "--disk: unknown format '%s' (raw, qcow2, vhd)",
                                               o + 7);
                } else
                        return err_set(-EINVAL, "--disk: unknown option '%s' (ro, format=F)", o);
        }
        if (!*copy)
                return err_set(-EINVAL, "--disk: missing path in '%s'", arg);
        d.path = realpath(copy, NULL);
        if (!d.path)
                return err_set(-errno, "--disk: cannot find '%s': %s", copy, strerror(errno));
        if (d.format < 0) {
                struct disk_open_options oo = {.format = _DISK_FORMAT_INVALID, .readonly = true};
                _cleanup_disk_ struct disk *dk = NULL;
                int r = disk_open(d.path, &oo, &dk);
                if (r < 0) {
                        free(d.path);
                        return err_prefix(r, "--disk '%s'", copy);
                }
                d.format = disk_get_format(dk);
        }
        if (colon && !(d.mount = strdup(colon))) {
                free(d.path);
                return -ENOMEM;
        }
        struct vm_disk_spec *n = realloc(s->disks, (s->n_disks + 1) * sizeof(*n));
        if (!n) {
                free(d.path);
                free(d.mount);
                return -ENOMEM;
        }
        s->disks = n;
        s->disks[s->n_disks++] = d;
        return 0;
}

int vm_spec_add_volume(struct vm_spec *s, const char *arg)
{
        _cleanup_free_ char *copy = NULL;
        struct vm_volume_spec v = {.size = VM_VOLUME_DEFAULT_SIZE};
        char *opts, *colon;

        if (split_spec(arg, &copy, &colon, &opts) < 0)
                return -ENOMEM;
        if (!colon || !*copy || !valid_mount(colon) || strchr(copy, '/') || copy[0] == '.')
                return err_set(-EINVAL, "--volume: expected NAME:/MOUNT[,size=S], not '%s'", arg);
        for (char *o = opts, *next; o && *o; o = next) {
                next = strchr(o, ',');
                if (next)
                        *next++ = 0;
                if (!startswith(o, "size=") || parse_size(o + 5, &v.size) < 0 || v.size < (16ULL << 20))
                        return err_set(-EINVAL, "--volume: invalid option '%s' (size=S, at least 16M)", o);
        }
        v.name = strdup(copy);
        v.mount = strdup(colon);
        struct vm_volume_spec *n =
                v.name && v.mount ? realloc(s->volumes, (s->n_volumes + 1) * sizeof(*n)) : NULL;
        if (!n) {
                free(v.name);
                free(v.mount);
                return -ENOMEM;
        }
        s->volumes = n;
        s->volumes[s->n_volumes++] = v;
        return 0;
}
