/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec.c - the default config.json (see spec.h for how it differs from runc's).
 *
 * The document is built from the tables below in the member order runc writes,
 * so that a diff against "runc spec" shows only the intended differences. Every
 * json-c allocation is checked: a failed one frees what was built and returns
 * -ENOMEM.
 */
#include <unistd.h>

#include "json.h"
#include "oci-defaults.h"
#include "spec.h"

#define SPEC_OCI_VERSION "1.2.0"

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

static const char *const default_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
        NULL,
};

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A new sysfs needs a network namespace owned by the caller's user namespace; rootless binds the host's. */
static const struct oci_mount_def rootless_sys = {"/sys", "none", "/sys",
                                                  OPTS("rbind", "nosuid", "noexec", "nodev", "ro")};

static const char *const default_namespaces[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};

/* Add v (which may be NULL after a failed allocation) to object o; v is consumed either way. */
static int add(struct json_object *o, const char *key, struct json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int push(struct json_object *a, struct json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* A JSON array of the strings of l, leaving out skip (may be NULL). NULL on ENOMEM. */
static struct json_object *string_array(const char *const *l, const char *skip)
{
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; l && l[i]; i++) {
                if (skip && streq(l[i], skip))
                        continue;
                if (push(a, json_object_new_string(l[i])) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

static struct json_object *process_object(void)
{
        _cleanup_json_ struct json_object *p = json_object_new_object();
        struct json_object *user, *caps, *rl, *rls;

        if (!p)
                return NULL;
        if (add(p, "terminal", json_object_new_boolean(true)) < 0 ||
            add(p, "user", json_object_new_object()) < 0)
                return NULL;
        user = json_object_object_get(p, "user");
        if (add(user, "uid", json_object_new_int(0)) < 0 || add(user, "gid", json_object_new_int(0)) < 0)
                return NULL;
        if (add(p, "args", string_array((const char *const[]){"sh", NULL}, NULL)) < 0 ||
            add(p, "env", string_array(default_env, NULL)) < 0 ||
            add(p, "cwd", json_object_new_string("/")) < 0 ||
            add(p, "capabilities", json_object_new_object()) < 0)
                return NULL;
        caps = json_object_object_get(p, "capabilities");
        if (add(caps, "bounding", string_array(default_caps, NULL)) < 0 ||
            add(caps, "effective", string_array(default_caps, NULL)) < 0 ||
            add(caps, "permitted", string_array(default_caps, NULL)) < 0)
                return NULL;
        if (add(p, "rlimits", json_object_new_array()) < 0 || !(rl = json_object_new_object()))
                return NULL;
        rls = json_object_object_get(p, "rlimits");
        if (push(rls, rl) < 0 || add(rl, "type", json_object_new_string("RLIMIT_NOFILE")) < 0 ||
            add(rl, "hard", json_object_new_int(1024)) < 0 || add(rl, "soft", json_object_new_int(1024)) < 0)
                return NULL;
        if (add(p, "noNewPrivileges", json_object_new_boolean(true)) < 0)
                return NULL;
        return TAKE_PTR(p);
}

static struct json_object *mount_object(const struct oci_mount_def *m, bool rootless)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (add(o, "destination", json_object_new_string(m->destination)) < 0 ||
            add(o, "type", json_object_new_string(m->type)) < 0 ||
            add(o, "source", json_object_new_string(m->source)) < 0)
                return NULL;
        /* The rootless caller's mapping has no group 5 (tty), so devpts could not be given it. */
        if (m->options && add(o, "options", string_array(m->options, rootless ? "gid=5" : NULL)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static struct json_object *mounts_array(bool rootless)
{
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < oci_n_default_mounts; i++) {
                const struct oci_mount_def *m = &oci_default_mounts[i];
                if (rootless && streq(m->type, "sysfs"))
                        m = &rootless_sys;
                if (push(a, mount_object(m, rootless)) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

/* [{"containerID": 0, "hostID": id, "size": 1}] */
static struct json_object *single_mapping(unsigned id)
{
        _cleanup_json_ struct json_object *a = json_object_new_array();
        struct json_object *m;

        if (!a)
                return NULL;
        m = json_object_new_object();
        if (push(a, m) < 0)
                return NULL;
        if (add(m, "containerID", json_object_new_int(0)) < 0 ||
            add(m, "hostID", json_object_new_int64(id)) < 0 || add(m, "size", json_object_new_int(1)) < 0)
                return NULL;
        return TAKE_PTR(a);
}

static struct json_object *namespaces_array(bool rootless)
{
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; default_namespaces[i]; i++) {
                struct json_object *ns;

                /* Without privileges a network namespace would have no way out; runc leaves it out too. */
                if (rootless && streq(default_namespaces[i], "network"))
                        continue;
                ns = json_object_new_object();
                if (push(a, ns) < 0 || add(ns, "type", json_object_new_string(default_namespaces[i])) < 0)
                        return NULL;
        }
        if (rootless) {
                struct json_object *ns = json_object_new_object();
                if (push(a, ns) < 0 || add(ns, "type", json_object_new_string("user")) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

static struct json_object *linux_object(bool rootless)
{
        _cleanup_json_ struct json_object *l = json_object_new_object();

        if (!l)
                return NULL;
        if (rootless) {
                if (add(l, "uidMappings", single_mapping(geteuid())) < 0 ||
                    add(l, "gidMappings", single_mapping(getegid())) < 0)
                        return NULL;
        } else {
                /* Deny every device; the spec's default devices stay allowed by the runtime itself. */
                struct json_object *res, *devs, *rule;
                if (add(l, "resources", json_object_new_object()) < 0)
                        return NULL;
                res = json_object_object_get(l, "resources");
                if (add(res, "devices", json_object_new_array()) < 0)
                        return NULL;
                devs = json_object_object_get(res, "devices");
                rule = json_object_new_object();
                if (push(devs, rule) < 0 || add(rule, "allow", json_object_new_boolean(false)) < 0 ||
                    add(rule, "access", json_object_new_string("rwm")) < 0)
                        return NULL;
        }
        if (add(l, "namespaces", namespaces_array(rootless)) < 0 ||
            add(l, "maskedPaths", string_array(oci_masked_paths, NULL)) < 0 ||
            add(l, "readonlyPaths", string_array(oci_readonly_paths, NULL)) < 0)
                return NULL;
        return TAKE_PTR(l);
}

int spec_default(bool rootless, struct json_object **ret)
{
        _cleanup_json_ struct json_object *doc = json_object_new_object();
        struct json_object *root;

        if (!doc)
                return -ENOMEM;
        if (add(doc, "ociVersion", json_object_new_string(SPEC_OCI_VERSION)) < 0 ||
            add(doc, "process", process_object()) < 0 || add(doc, "root", json_object_new_object()) < 0)
                return -ENOMEM;
        root = json_object_object_get(doc, "root");
        if (add(root, "path", json_object_new_string("rootfs")) < 0 ||
            add(root, "readonly", json_object_new_boolean(true)) < 0)
                return -ENOMEM;
        if (add(doc, "hostname", json_object_new_string("hull")) < 0 ||
            add(doc, "mounts", mounts_array(rootless)) < 0 || add(doc, "linux", linux_object(rootless)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(doc);
        return 0;
}
