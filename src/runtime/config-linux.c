/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config-linux.c - the "linux" object of config.json, outside its resources
 * (config-resources.c) and seccomp (config-seccomp.c) members.
 *
 * Implements runtime-spec v1.2 config-linux.md "Namespaces", "User namespace
 * mappings", "Offset for Time Namespace", "Devices", "Cgroups path", "Sysctl",
 * "Rootfs Mount Propagation", "Masked Paths", "Readonly Paths", "Mount Label",
 * "Personality" and "IntelRdt" (recorded as present; the runtime refuses it),
 * and the checks that need several sections at once (config_linux_check):
 *
 *   - a namespace type appears once ("MUST generate an error" on duplicates);
 *   - uid/gid mappings only with a user namespace that this container creates,
 *     and such a namespace needs both (runc's rule: a joined namespace already
 *     has its maps, and a new one without maps leaves every id unmapped);
 *   - timeOffsets only with a time namespace that this container creates
 *     (time_namespaces(7): offsets can be written only before the first process
 *     enters it);
 *   - hostname/domainname only with a uts namespace of the container's own;
 *   - sysctls only from a namespace the container does not share with the host
 *     (net.* with network, IPC ones with ipc, kernel.hostname/domainname with
 *     uts): any other key would change the whole machine.
 *
 * struct oci_linux owns everything it points to; config_linux_free() accepts a
 * partly filled structure.
 */
#include <ctype.h>
#include <sys/personality.h>

#include "config-internal.h"
#include "error.h"
#include "util.h"

void config_linux_free(struct oci_linux *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        free(l->cgroups_path);
        resources_free(l->resources);
        config_key_values_free(l->sysctl, l->n_sysctl);
        config_seccomp_free(l->seccomp);
        free(l->rootfs_propagation);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        free(l->mount_label);
        free(l);
}

static void linux_freep(struct oci_linux **l)
{
        config_linux_free(*l);
}

static void namespace_done(void *elem)
{
        struct oci_namespace *ns = elem;
        free(ns->path);
}

static int parse_namespace(struct json_object *e, const char *path, void *elem)
{
        struct oci_namespace *ns = elem;
        _cleanup_free_ char *type = NULL;
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.type", path);
        r = config_need(config_get_str(e, "type", p, &type), p);
        if (r < 0)
                return r;
        ns->type = ns_type_from_string(type);
        if (ns->type < 0)
                return err_set(-EINVAL, "%s: unknown namespace type '%s'", p, config_quote(type, q));
        snprintf(p, sizeof(p), "%s.path", path);
        r = config_opt(config_get_abs_path(e, "path", p, &ns->path));
        return r < 0 ? r : 0;
}

static int parse_namespaces(struct json_object *o, const char *path, struct oci_linux *l)
{
        char p[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        snprintf(p, sizeof(p), "%s.namespaces", path);
        r = config_opt(config_get_object_array(o, "namespaces", p, sizeof(struct oci_namespace),
                                               parse_namespace, namespace_done, &arr, &n));
        if (r <= 0)
                return r;
        l->namespaces = arr;
        l->n_namespaces = n;
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (l->namespaces[i].type == l->namespaces[j].type)
                                return err_set(-EINVAL, "%s[%zu].type: duplicate namespace type '%s'", p, i,
                                               ns_type_to_string(l->namespaces[i].type));
        return 0;
}

static int parse_time_offsets(struct json_object *o, const char *path, struct oci_linux *l)
{
        struct json_object *offsets;
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.timeOffsets", path);
        r = config_opt(json_get_object(o, "timeOffsets", p, &offsets));
        if (r <= 0)
                return r;
        json_object_object_foreach (offsets, clock, v) {
                int64_t *secs;
                uint32_t *nsecs;
                char pe[CONFIG_PATH_MAX];

                /* time_namespaces(7): only these two clocks have offsets. */
                if (streq(clock, "monotonic")) {
                        secs = &l->time_monotonic_secs;
                        nsecs = &l->time_monotonic_nsecs;
                } else if (streq(clock, "boottime")) {
                        secs = &l->time_boottime_secs;
                        nsecs = &l->time_boottime_nsecs;
                } else
                        return err_set(-EINVAL, "%s: unknown clock '%s', expected 'monotonic' or 'boottime'",
                                       p, config_quote(clock, q));
                snprintf(pe, sizeof(pe), "%s.%s", p, clock);
                r = json_expect_type(v, json_type_object, pe);
                if (r < 0)
                        return r;
                snprintf(pe, sizeof(pe), "%s.%s.secs", p, clock);
                r = config_opt(config_get_int64(v, "secs", pe, secs));
                if (r < 0)
                        return r;
                snprintf(pe, sizeof(pe), "%s.%s.nanosecs", p, clock);
                r = config_opt(json_get_uint32(v, "nanosecs", pe, nsecs));
                if (r < 0)
                        return r;
                if (*nsecs >= 1000000000)
                        return err_set(-ERANGE, "%s: %u is not below 1000000000", pe, *nsecs);
        }
        l->has_time_offsets = true;
        return 0;
}

static void device_done(void *elem)
{
        struct oci_device *d = elem;
        free(d->path);
}

static int parse_device(struct json_object *e, const char *path, void *elem)
{
        struct oci_device *d = elem;
        _cleanup_free_ char *type = NULL;
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.type", path);
        r = config_need(config_get_str(e, "type", p, &type), p);
        if (r < 0)
                return r;
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                return err_set(-EINVAL, "%s: unknown device type '%s', expected c, b, u or p", p,
                               config_quote(type, q));
        /* mknod(1): 'u' is an unbuffered character device, which the kernel makes as S_IFCHR. */
        d->type = type[0] == 'u' ? 'c' : type[0];
        snprintf(p, sizeof(p), "%s.path", path);
        r = config_need(config_get_abs_path(e, "path", p, &d->path), p);
        if (r < 0)
                return r;
        /*
         * "major, minor (int64, REQUIRED unless type is p)". The kernel's dev_t has 12 major and 20 minor
         * bits (MINORBITS); mknod(2) fails with EOVERFLOW beyond them.
         */
        snprintf(p, sizeof(p), "%s.major", path);
        r = config_get_int64_range(e, "major", p, 0, (1 << 12) - 1, &d->major);
        if (r < 0 && (r != -ENOENT || d->type != 'p'))
                return config_need(r, p);
        snprintf(p, sizeof(p), "%s.minor", path);
        r = config_get_int64_range(e, "minor", p, 0, (1 << 20) - 1, &d->minor);
        if (r < 0 && (r != -ENOENT || d->type != 'p'))
                return config_need(r, p);
        /* Only the permission bits (07777) are used; podman also writes the S_IFCHR/S_IFBLK bits here. */
        snprintf(p, sizeof(p), "%s.fileMode", path);
        r = config_opt(json_get_uint32(e, "fileMode", p, &d->file_mode));
        if (r < 0)
                return r;
        d->has_file_mode = r > 0;
        snprintf(p, sizeof(p), "%s.uid", path);
        r = config_opt(json_get_uint32(e, "uid", p, &d->uid));
        if (r < 0)
                return r;
        d->has_uid = r > 0;
        snprintf(p, sizeof(p), "%s.gid", path);
        r = config_opt(json_get_uint32(e, "gid", p, &d->gid));
        if (r < 0)
                return r;
        d->has_gid = r > 0;
        return 0;
}

/*
 * Sysctl keys are written below /proc/sys: "net.ipv4.ip_forward" or, when a component has a dot of its
 * own (a VLAN interface "eth0.100"), "net/ipv4/conf/eth0.100/rp_filter". No component may be empty,
 * "." or "..", so that a key cannot leave /proc/sys.
 */
static int check_sysctl_key(const char *key, const char *path)
{
        char sep = strchr(key, '/') ? '/' : '.';
        const char *c = key;
        char q[80];

        for (const char *s = key; *s; s++)
                if (!isgraph((unsigned char)*s))
                        goto bad;
        for (;;) {
                size_t n = strcspn(c, (char[]){sep, 0});
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        goto bad;
                if (!c[n])
                        return 0;
                c += n + 1;
        }
bad:
        return err_set(-EINVAL, "%s: invalid key '%s'", path, config_quote(key, q));
}

static int parse_sysctl(struct json_object *o, const char *path, struct oci_linux *l)
{
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.sysctl", path);
        r = config_opt(config_get_string_map(o, "sysctl", p, &l->sysctl, &l->n_sysctl));
        if (r <= 0)
                return r;
        for (size_t i = 0; i < l->n_sysctl; i++) {
                r = check_sysctl_key(l->sysctl[i].key, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_paths(struct json_object *o, const char *key, const char *path, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        char p[CONFIG_PATH_MAX];
        int r;

        snprintf(p, sizeof(p), "%s.%s", path, key);
        r = config_get_strv(o, key, p, &l);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; l[i]; i++) {
                char pe[CONFIG_PATH_MAX];
                snprintf(pe, sizeof(pe), "%s[%zu]", p, i);
                r = config_check_abs_path(l[i], pe);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_personality(struct json_object *o, const char *path, struct oci_linux *l)
{
        _cleanup_strv_free_ char **flags = NULL;
        _cleanup_free_ char *domain = NULL;
        struct json_object *pers;
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.personality", path);
        r = config_opt(json_get_object(o, "personality", p, &pers));
        if (r <= 0)
                return r;
        snprintf(p, sizeof(p), "%s.personality.domain", path);
        r = config_need(config_get_str(pers, "domain", p, &domain), p);
        if (r < 0)
                return r;
        if (streq(domain, "LINUX"))
                l->personality_domain = PER_LINUX;
        else if (streq(domain, "LINUX32"))
                l->personality_domain = PER_LINUX32;
        else
                return err_set(-EINVAL, "%s: unknown domain '%s', expected 'LINUX' or 'LINUX32'", p,
                               config_quote(domain, q));
        /* config-linux.md defines no flag values yet: checked for type, otherwise ignored. */
        snprintf(p, sizeof(p), "%s.personality.flags", path);
        r = config_opt(config_get_strv(pers, "flags", p, &flags));
        if (r < 0)
                return r;
        l->has_personality = true;
        return 0;
}

static int parse_propagation(struct json_object *o, const char *path, struct oci_linux *l)
{
        static const char *const modes[] = {"shared",  "slave",  "private",  "unbindable",
                                            "rshared", "rslave", "rprivate", "runbindable"};
        char p[CONFIG_PATH_MAX], q[80];
        int r;

        snprintf(p, sizeof(p), "%s.rootfsPropagation", path);
        r = config_opt(config_get_str(o, "rootfsPropagation", p, &l->rootfs_propagation));
        if (r <= 0)
                return r;
        /* The spec names the four modes; the recursive spellings are runc's and mean the same for "/". */
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (streq(l->rootfs_propagation, modes[i]))
                        return 0;
        return err_set(-EINVAL,
                       "%s: unknown propagation '%s', expected shared, slave, private or unbindable", p,
                       config_quote(l->rootfs_propagation, q));
}

int config_linux_parse(struct json_object *o, const char *path, struct oci_linux **ret)
{
        _cleanup_(linux_freep) struct oci_linux *l = NULL;
        struct json_object *v;
        char p[CONFIG_PATH_MAX];
        void *arr = NULL;
        size_t n = 0;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        if ((r = parse_namespaces(o, path, l)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.uidMappings", path);
        if ((r = config_opt(
                     config_get_id_mappings(o, "uidMappings", p, &l->uid_mappings, &l->n_uid_mappings))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.gidMappings", path);
        if ((r = config_opt(
                     config_get_id_mappings(o, "gidMappings", p, &l->gid_mappings, &l->n_gid_mappings))) < 0)
                return r;
        if ((r = parse_time_offsets(o, path, l)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.devices", path);
        r = config_opt(config_get_object_array(o, "devices", p, sizeof(struct oci_device), parse_device,
                                               device_done, &arr, &n));
        if (r < 0)
                return r;
        l->devices = arr;
        l->n_devices = n;
        snprintf(p, sizeof(p), "%s.cgroupsPath", path);
        if ((r = config_opt(config_get_str(o, "cgroupsPath", p, &l->cgroups_path))) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.resources", path);
        r = config_opt(json_get_object(o, "resources", p, &v));
        if (r > 0)
                r = config_resources_parse(v, p, &l->resources);
        if (r < 0)
                return r;
        if ((r = parse_sysctl(o, path, l)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.seccomp", path);
        r = config_opt(json_get_object(o, "seccomp", p, &v));
        if (r > 0)
                r = config_seccomp_parse(v, p, &l->seccomp);
        if (r < 0)
                return r;
        if ((r = parse_propagation(o, path, l)) < 0)
                return r;
        if ((r = parse_paths(o, "maskedPaths", path, &l->masked_paths)) < 0)
                return r;
        if ((r = parse_paths(o, "readonlyPaths", path, &l->readonly_paths)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.mountLabel", path);
        if ((r = config_opt(config_get_str(o, "mountLabel", p, &l->mount_label))) < 0)
                return r;
        if ((r = parse_personality(o, path, l)) < 0)
                return r;
        snprintf(p, sizeof(p), "%s.intelRdt", path);
        if ((r = config_opt(json_get_object(o, "intelRdt", p, &v))) < 0)
                return r;
        l->has_intel_rdt = r > 0;
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---------------------------------------------------------------- checks across sections */

static int check_user_namespace(const struct oci_config *c)
{
        const struct oci_namespace *ns = config_find_namespace(c, NS_USER);
        const struct oci_linux *l = c->linux_cfg;
        bool any = l && (l->n_uid_mappings > 0 || l->n_gid_mappings > 0);

        if (!ns && any)
                return err_set(-EINVAL, "linux.%s: needs a user namespace in linux.namespaces",
                               l->n_uid_mappings > 0 ? "uidMappings" : "gidMappings");
        if (ns && ns->path && any)
                return err_set(-EINVAL, "linux.%s: not allowed when joining the user namespace '%s'",
                               l->n_uid_mappings > 0 ? "uidMappings" : "gidMappings", ns->path);
        if (ns && !ns->path && (l->n_uid_mappings == 0 || l->n_gid_mappings == 0))
                return err_set(-EINVAL, "linux.%s: required when linux.namespaces creates a user namespace",
                               l->n_uid_mappings == 0 ? "uidMappings" : "gidMappings");
        return 0;
}

/* The namespace (new or joined) that makes a sysctl the container's own, or _NS_TYPE_INVALID. */
static enum ns_type sysctl_namespace(const char *key)
{
        static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                               "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                               "kernel.shmmni", "kernel.shm_rmid_forced"};
        char k[128];

        /* Classify the dotted spelling; a slash form only differs in separators. */
        snprintf(k, sizeof(k), "%s", key);
        if (strchr(k, '/'))
                for (char *s = k; *s; s++)
                        if (*s == '/')
                                *s = '.';
        if (startswith(k, "net."))
                return NS_NET;
        if (startswith(k, "fs.mqueue."))
                return NS_IPC;
        for (size_t i = 0; i < ELEMENTSOF(ipc_keys); i++)
                if (streq(k, ipc_keys[i]))
                        return NS_IPC;
        if (streq(k, "kernel.hostname") || streq(k, "kernel.domainname"))
                return NS_UTS;
        return _NS_TYPE_INVALID;
}

static int check_sysctls(const struct oci_config *c)
{
        const struct oci_linux *l = c->linux_cfg;
        char q[80];

        for (size_t i = 0; l && i < l->n_sysctl; i++) {
                enum ns_type t = sysctl_namespace(l->sysctl[i].key);

                if (t < 0)
                        return err_set(
                                -EINVAL,
                                "linux.sysctl: '%s' is not namespaced, setting it would change the host",
                                config_quote(l->sysctl[i].key, q));
                if (!config_find_namespace(c, t))
                        return err_set(
                                -EINVAL,
                                "linux.sysctl: '%s' needs a namespace of type '%s' in linux.namespaces",
                                config_quote(l->sysctl[i].key, q), ns_type_to_string(t));
        }
        return 0;
}

int config_linux_check(const struct oci_config *c)
{
        const struct oci_namespace *ns;
        int r;

        r = check_user_namespace(c);
        if (r < 0)
                return r;
        if (c->linux_cfg && c->linux_cfg->has_time_offsets) {
                ns = config_find_namespace(c, NS_TIME);
                if (!ns || ns->path)
                        return err_set(-EINVAL,
                                       "linux.timeOffsets: needs a new time namespace in linux.namespaces");
        }
        /* sethostname(2) in a shared uts namespace would rename the host. */
        if (c->hostname && c->hostname[0] && !config_find_namespace(c, NS_UTS))
                return err_set(-EINVAL, "hostname: needs a uts namespace in linux.namespaces");
        if (c->domainname && c->domainname[0] && !config_find_namespace(c, NS_UTS))
                return err_set(-EINVAL, "domainname: needs a uts namespace in linux.namespaces");
        return check_sysctls(c);
}
