/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocispec.c - runtime-spec config.json for a container; see ocispec.h for the defaults.
 *
 * Written against runtime-spec 1.2: config.md (process, root, hostname, mounts,
 * annotations), config-linux.md (namespaces, resources, devices, maskedPaths,
 * readonlyPaths, seccomp, cgroupsPath). hull-runtime validates the result again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "caps.h"
#include "error.h"
#include "json.h"
#include "ocispec.h"
#include "seccomp-profile.h"
#include "oci-defaults.h"
#include "util.h"

#define OCI_VERSION  "1.2.0"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* json-c builder that keeps the first allocation failure. */
struct jb {
        bool oom;
};

static struct json_object *jnew(struct jb *b, struct json_object *o)
{
        if (!o)
                b->oom = true;
        return o;
}

static void put(struct jb *b, struct json_object *o, const char *k, struct json_object *v)
{
        if (!o || !v || json_object_object_add(o, k, v) < 0) {
                json_object_put(v);
                b->oom = true;
        }
}

static void push(struct jb *b, struct json_object *a, struct json_object *v)
{
        if (!a || !v || json_object_array_add(a, v) < 0) {
                json_object_put(v);
                b->oom = true;
        }
}

static struct json_object *strv_json(struct jb *b, char *const *l)
{
        struct json_object *a = jnew(b, json_object_new_array());
        for (size_t i = 0; a && l && l[i]; i++)
                push(b, a, json_object_new_string(l[i]));
        return a;
}

static int normalize_cap(const char *name, char **ret)
{
        _cleanup_free_ char *u = startswith(name, "CAP_") || startswith(name, "cap_")
                                         ? strdup(name)
                                         : strdup_printf("CAP_%s", name);
        if (!u)
                return -ENOMEM;
        for (char *p = u; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
        if (cap_from_name_strict(u) < 0)
                return err_set(-EINVAL, "unknown capability '%s'", name);
        *ret = TAKE_PTR(u);
        return 0;
}

/*
 * "ALL": every capability this process may hand on (its bounding set), as podman gives
 * --privileged; asking for one outside it would make capset(2) fail in the container.
 */
static int all_caps(char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *status = NULL;
        const char *b;
        uint64_t bnd = UINT64_MAX;
        int last = cap_last_cap();

        if (read_full_file("/proc/self/status", 1 << 16, &status, NULL) >= 0 &&
            (b = strstr(status, "\nCapBnd:")))
                bnd = strtoull(b + strlen("\nCapBnd:"), NULL, 16);
        for (int c = 0; c <= last && c < 64; c++) {
                const char *n = cap_to_spec_name(c);
                if (n && (bnd & (UINT64_C(1) << c)) && strv_extend(&l, n) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static void strv_remove(char **l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s)) {
                        free(l[i]);
                        memmove(l + i, l + i + 1, (strv_length(l + i + 1) + 1) * sizeof(char *));
                        i--;
                }
}

int ocispec_capabilities(const struct runspec *spec, char ***ret)
{
        _cleanup_strv_free_ char **caps = NULL;
        bool drop_all = false, add_all = spec->privileged;
        int r;

        STRV_FOREACH (d, spec->cap_drop)
                drop_all = drop_all || strcasecmp(*d, "ALL") == 0;
        STRV_FOREACH (a, spec->cap_add)
                add_all = add_all || strcasecmp(*a, "ALL") == 0;

        if (add_all)
                r = all_caps(&caps);
        else if (drop_all)
                r = (caps = calloc(1, sizeof(char *))) ? 0 : -ENOMEM;
        else
                r = (caps = strv_copy((char *const *)oci_default_caps)) ? 0 : -ENOMEM;
        if (r < 0)
                return r;
        if (!add_all) {
                STRV_FOREACH (a, spec->cap_add) {
                        _cleanup_free_ char *n = NULL;
                        if ((r = normalize_cap(*a, &n)) < 0)
                                return err_prefix(r, "--cap-add");
                        if (!strv_contains(caps, n) && strv_push(&caps, TAKE_PTR(n)) < 0)
                                return -ENOMEM;
                }
        }
        if (!spec->privileged)
                STRV_FOREACH (d, spec->cap_drop) {
                        _cleanup_free_ char *n = NULL;
                        if (strcasecmp(*d, "ALL") == 0)
                                continue;
                        if ((r = normalize_cap(*d, &n)) < 0)
                                return err_prefix(r, "--cap-drop");
                        /* After --cap-add, ALL included: "--cap-add ALL --cap-drop NET_RAW" keeps all but
                         * one. */
                        strv_remove(caps, n);
                }
        *ret = TAKE_PTR(caps);
        return 0;
}

int ocispec_args(const struct runspec *spec, const struct image_config *image, char ***ret)
{
        _cleanup_strv_free_ char **args = NULL;

        if (spec->entrypoint_set) {
                STRV_FOREACH (e, spec->entrypoint)
                        if (strv_extend(&args, *e) < 0)
                                return -ENOMEM;
                /* A new entrypoint drops the image's Cmd (Docker: "--entrypoint clears any default
                 * command"). */
                STRV_FOREACH (c, spec->command)
                        if (strv_extend(&args, *c) < 0)
                                return -ENOMEM;
        } else {
                STRV_FOREACH (e, image ? image->entrypoint : NULL)
                        if (strv_extend(&args, *e) < 0)
                                return -ENOMEM;
                STRV_FOREACH (c, spec->command ? spec->command : image ? image->cmd : NULL)
                        if (strv_extend(&args, *c) < 0)
                                return -ENOMEM;
        }
        if (strv_length(args) == 0 || !args[0][0])
                return err_set(
                        -EINVAL,
                        "no command specified: the image has no ENTRYPOINT or CMD, give one after the "
                        "image name");
        *ret = TAKE_PTR(args);
        return 0;
}

const char *ocispec_hostname(const struct runspec *spec, const char *id, char buf[static 65])
{
        snprintf(buf, 65, "%s", spec->hostname ? spec->hostname : id);
        if (!spec->hostname)
                buf[12] = 0;
        return buf;
}

static bool env_has(char **env, const char *name)
{
        size_t n = strlen(name);
        STRV_FOREACH (e, env)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                        return true;
        return false;
}

static int build_env(const struct ocispec_input *in, char ***ret)
{
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *host = NULL, *home = NULL;
        const struct image_config *img = in->image;
        int r;

        if (!env_has(img ? img->env : NULL, "PATH") && strv_extend(&env, DEFAULT_PATH) < 0)
                return -ENOMEM;
        STRV_FOREACH (e, img ? img->env : NULL)
                if ((r = runspec_env_set(&env, *e)) < 0)
                        return r;
        host = strdup_printf("HOSTNAME=%s", in->hostname);
        if (!host || runspec_env_set(&env, host) < 0)
                return -ENOMEM;
        STRV_FOREACH (e, in->spec->env)
                if ((r = runspec_env_set(&env, *e)) < 0)
                        return r;
        if (in->spec->tty && !env_has(env, "TERM") && strv_extend(&env, "TERM=xterm") < 0)
                return -ENOMEM;
        if (!env_has(env, "HOME")) {
                home = strdup_printf("HOME=%s", in->user && in->user->home ? in->user->home : "/");
                if (!home || strv_extend(&env, home) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

static int rlimit_name(const char *n, char buf[static 32])
{
        snprintf(buf, 32, "RLIMIT_%s", n);
        for (char *p = buf; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
        return 0;
}

static struct json_object *process_json(struct jb *b, const struct ocispec_input *in, char **args,
                                        char **env, char **caps)
{
        const struct runspec *s = in->spec;
        struct json_object *p = jnew(b, json_object_new_object()), *user, *c;
        const char *cwd = s->workdir ? s->workdir
                          : in->image && in->image->working_dir && in->image->working_dir[0]
                                  ? in->image->working_dir
                                  : "/";

        put(b, p, "terminal", json_object_new_boolean(s->tty));
        user = jnew(b, json_object_new_object());
        put(b, p, "user", user);
        put(b, user, "uid", json_object_new_int64(in->user ? in->user->uid : 0));
        put(b, user, "gid", json_object_new_int64(in->user ? in->user->gid : 0));
        put(b, user, "umask", json_object_new_int(022));
        if (in->user && in->user->n_gids) {
                struct json_object *g = jnew(b, json_object_new_array());
                put(b, user, "additionalGids", g);
                for (size_t i = 0; i < in->user->n_gids; i++)
                        push(b, g, json_object_new_int64(in->user->gids[i]));
        }
        put(b, p, "args", strv_json(b, args));
        put(b, p, "env", strv_json(b, env));
        put(b, p, "cwd", json_object_new_string(cwd));
        c = jnew(b, json_object_new_object());
        put(b, p, "capabilities", c);
        put(b, c, "bounding", strv_json(b, caps));
        put(b, c, "effective", strv_json(b, caps));
        put(b, c, "permitted", strv_json(b, caps));
        if (s->n_ulimits) {
                struct json_object *rl = jnew(b, json_object_new_array());
                put(b, p, "rlimits", rl);
                for (size_t i = 0; i < s->n_ulimits; i++) {
                        struct json_object *e = jnew(b, json_object_new_object());
                        char name[32];
                        rlimit_name(s->ulimits[i].name, name);
                        push(b, rl, e);
                        put(b, e, "type", json_object_new_string(name));
                        put(b, e, "soft", json_object_new_int64((int64_t)s->ulimits[i].soft));
                        put(b, e, "hard", json_object_new_int64((int64_t)s->ulimits[i].hard));
                }
        }
        put(b, p, "noNewPrivileges", json_object_new_boolean(s->no_new_privileges));
        return p;
}

static struct json_object *mount_json(struct jb *b, const char *dest, const char *type, const char *source,
                                      const char *const *opts, const char *extra_opts)
{
        struct json_object *m = jnew(b, json_object_new_object()), *o;

        put(b, m, "destination", json_object_new_string(dest));
        put(b, m, "type", json_object_new_string(type));
        put(b, m, "source", json_object_new_string(source));
        o = jnew(b, json_object_new_array());
        put(b, m, "options", o);
        for (size_t i = 0; opts && opts[i]; i++)
                push(b, o, json_object_new_string(opts[i]));
        for (const char *p = extra_opts; p && *p;) {
                size_t l = strcspn(p, ",");
                if (l > 0)
                        push(b, o, json_object_new_string_len(p, (int)l));
                p += l;
                if (*p == ',')
                        p++;
        }
        return m;
}

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool user_mounts(const struct runspec *s, const char *dest)
{
        for (size_t i = 0; i < s->n_mounts; i++)
                if (streq(s->mounts[i].destination, dest))
                        return true;
        return false;
}

static struct json_object *mounts_json(struct jb *b, const struct ocispec_input *in)
{
        const struct runspec *s = in->spec;
        struct json_object *a = jnew(b, json_object_new_array());
        char shm[64];
        static const char *const etc_files[] = {"hostname", "hosts", "resolv.conf"};

        snprintf(shm, sizeof(shm), "size=%lldk",
                 (long long)(s->shm_size > 0 ? (s->shm_size + 1023) / 1024 : 65536));
        push(b, a, mount_json(b, "/proc", "proc", "proc", OPTS("nosuid", "noexec", "nodev"), NULL));
        push(b, a,
             mount_json(b, "/dev", "tmpfs", "tmpfs",
                        OPTS("nosuid", "strictatime", "mode=755", "size=65536k"), NULL));
        push(b, a,
             mount_json(b, "/dev/pts", "devpts", "devpts",
                        OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
                        NULL));
        push(b, a,
             mount_json(b, "/sys", "sysfs", "sysfs",
                        OPTS("nosuid", "noexec", "nodev", s->privileged ? "rw" : "ro"), NULL));
        push(b, a,
             mount_json(b, "/sys/fs/cgroup", "cgroup", "cgroup",
                        OPTS("nosuid", "noexec", "nodev", "relatime", s->privileged ? "rw" : "ro"), NULL));
        push(b, a,
             mount_json(b, "/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev"), NULL));
        if (!user_mounts(s, "/dev/shm"))
                push(b, a,
                     mount_json(b, "/dev/shm", "tmpfs", "shm",
                                OPTS("nosuid", "noexec", "nodev", "mode=1777", shm), NULL));
        for (size_t i = 0; i < ELEMENTSOF(etc_files); i++) {
                _cleanup_free_ char *dest = strdup_printf("/etc/%s", etc_files[i]);
                _cleanup_free_ char *src = strdup_printf("%s/%s", in->dir, etc_files[i]);
                if (!dest || !src) {
                        b->oom = true;
                        continue;
                }
                if (!user_mounts(s, dest))
                        push(b, a,
                             mount_json(b, dest, "bind", src,
                                        OPTS("rbind", "rprivate", s->read_only ? "ro" : "rw"), NULL));
        }
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct runspec_mount *m = &s->mounts[i];
                if (m->kind == MOUNT_TMPFS)
                        push(b, a,
                             mount_json(b, m->destination, "tmpfs", "tmpfs",
                                        OPTS("nosuid", "nodev", m->readonly ? "ro" : "rw"), m->options));
                else
                        push(b, a,
                             mount_json(b, m->destination, "bind", in->mount_sources[i],
                                        OPTS("rbind", m->propagation ? m->propagation : "rprivate",
                                             m->readonly ? "ro" : "rw"),
                                        NULL));
        }
        return a;
}

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* Every device node of the host's /dev (--privileged), as linux.devices entries. */
static void host_devices(struct jb *b, struct json_object *devs, const char *dir)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;
                struct json_object *e;

                if (de->d_name[0] == '.')
                        continue;
                p = strdup_printf("%s/%s", dir, de->d_name);
                if (!p || lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        /* pts and shm are the container's own; mqueue is a file system. */
                        if (!streq(p, "/dev/pts") && !streq(p, "/dev/shm") && !streq(p, "/dev/mqueue"))
                                host_devices(b, devs, p);
                        continue;
                }
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        continue;
                /* /dev/console and the tty of the caller would tie the container to this session. */
                if (streq(p, "/dev/console") || streq(p, "/dev/tty") || streq(p, "/dev/ptmx"))
                        continue;
                e = jnew(b, json_object_new_object());
                push(b, devs, e);
                put(b, e, "path", json_object_new_string(p));
                put(b, e, "type", json_object_new_string(S_ISCHR(st.st_mode) ? "c" : "b"));
                put(b, e, "major", json_object_new_int64(major(st.st_rdev)));
                put(b, e, "minor", json_object_new_int64(minor(st.st_rdev)));
                put(b, e, "fileMode", json_object_new_int(st.st_mode & 07777));
                put(b, e, "uid", json_object_new_int64(st.st_uid));
                put(b, e, "gid", json_object_new_int64(st.st_gid));
        }
}

static struct json_object *resources_json(struct jb *b, const struct ocispec_input *in)
{
        const struct runspec *s = in->spec;
        struct json_object *res = jnew(b, json_object_new_object()), *devs, *rule;

        devs = jnew(b, json_object_new_array());
        put(b, res, "devices", devs);
        rule = jnew(b, json_object_new_object());
        push(b, devs, rule);
        put(b, rule, "allow", json_object_new_boolean(s->privileged));
        put(b, rule, "access", json_object_new_string("rwm"));
        if (s->memory || s->memory_reservation || s->memory_swap) {
                struct json_object *m = jnew(b, json_object_new_object());
                put(b, res, "memory", m);
                if (s->memory)
                        put(b, m, "limit", json_object_new_int64(s->memory));
                if (s->memory_reservation)
                        put(b, m, "reservation", json_object_new_int64(s->memory_reservation));
                /* runtime-spec's swap is memory + swap, like --memory-swap; Docker defaults to twice -m. */
                if (s->memory_swap)
                        put(b, m, "swap", json_object_new_int64(s->memory_swap));
                else if (s->memory && in->have_swap_accounting)
                        put(b, m, "swap", json_object_new_int64(s->memory * 2));
        }
        if (s->cpu_quota || s->cpu_shares || s->cpuset_cpus) {
                struct json_object *c = jnew(b, json_object_new_object());
                put(b, res, "cpu", c);
                if (s->cpu_quota) {
                        put(b, c, "quota", json_object_new_int64(s->cpu_quota));
                        put(b, c, "period", json_object_new_int64(s->cpu_period));
                }
                if (s->cpu_shares)
                        put(b, c, "shares", json_object_new_int64((int64_t)s->cpu_shares));
                if (s->cpuset_cpus)
                        put(b, c, "cpus", json_object_new_string(s->cpuset_cpus));
        }
        if (s->pids_limit) {
                struct json_object *p = jnew(b, json_object_new_object());
                put(b, res, "pids", p);
                put(b, p, "limit", json_object_new_int64(s->pids_limit));
        }
        return res;
}

int ocispec_build(const struct ocispec_input *in, struct json_object **ret)
{
        const struct runspec *s = in->spec;
        _cleanup_json_ struct json_object *doc = json_object_new_object();
        _cleanup_strv_free_ char **args = NULL, **env = NULL, **caps = NULL;
        struct json_object *root, *linux_o, *ns;
        struct jb b = {};
        int r;

        if (!doc)
                return -ENOMEM;
        if ((r = ocispec_args(s, in->image, &args)) < 0 || (r = build_env(in, &env)) < 0 ||
            (r = ocispec_capabilities(s, &caps)) < 0)
                return r;

        put(&b, doc, "ociVersion", json_object_new_string(OCI_VERSION));
        put(&b, doc, "process", process_json(&b, in, args, env, caps));
        root = jnew(&b, json_object_new_object());
        put(&b, doc, "root", root);
        put(&b, root, "path", json_object_new_string(in->rootfs));
        put(&b, root, "readonly", json_object_new_boolean(s->read_only));
        put(&b, doc, "hostname", json_object_new_string(in->hostname));
        put(&b, doc, "mounts", mounts_json(&b, in));
        if (s->labels || runspec_vm_isolated(s)) {
                struct json_object *ann = jnew(&b, json_object_new_object());
                put(&b, doc, "annotations", ann);
                for (size_t i = 0; s->labels && s->labels[i] && s->labels[i + 1]; i += 2)
                        put(&b, ann, s->labels[i], json_object_new_string(s->labels[i + 1]));
                /* hull-runtime runs the container in a microVM (docs/agent.md), on a root disk kept
                 * with the container so that what it writes survives a restart. */
                if (runspec_vm_isolated(s)) {
                        _cleanup_free_ char *disk = strdup_printf("%s/rootfs.ext4", in->dir);
                        put(&b, ann, "io.hull.isolation", json_object_new_string("vm"));
                        put(&b, ann, "io.hull.isolation.rootfs-disk",
                            disk ? json_object_new_string(disk) : NULL);
                        if (in->vm_base_disk)
                                put(&b, ann, "io.hull.isolation.rootfs-base",
                                    json_object_new_string(in->vm_base_disk));
                }
        }

        linux_o = jnew(&b, json_object_new_object());
        put(&b, doc, "linux", linux_o);
        ns = jnew(&b, json_object_new_array());
        put(&b, linux_o, "namespaces", ns);
        {
                const char *kinds[] = {"pid", "ipc", "uts", "mount", "cgroup", "network"};
                bool host_net = s->network && streq(s->network, "host");
                for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                        struct json_object *e;
                        if (host_net && streq(kinds[i], "network"))
                                continue;
                        e = jnew(&b, json_object_new_object());
                        push(&b, ns, e);
                        put(&b, e, "type", json_object_new_string(kinds[i]));
                        /* Made (and attached to a network) by hull-monitor, handed to the runtime as fd 3.
                         */
                        if (streq(kinds[i], "network") && in->netns_path)
                                put(&b, e, "path", json_object_new_string(in->netns_path));
                }
        }
        put(&b, linux_o, "resources", resources_json(&b, in));
        if (in->cgroups_path)
                put(&b, linux_o, "cgroupsPath", json_object_new_string(in->cgroups_path));
        if (s->privileged) {
                struct json_object *devs = jnew(&b, json_object_new_array());
                put(&b, linux_o, "devices", devs);
                host_devices(&b, devs, "/dev");
        } else {
                put(&b, linux_o, "maskedPaths", strv_json(&b, (char *const *)oci_masked_paths));
                put(&b, linux_o, "readonlyPaths", strv_json(&b, (char *const *)oci_readonly_paths));
        }
        if (!s->privileged && !s->seccomp_unconfined) {
                struct json_object *sc = NULL;
                if (s->seccomp_profile)
                        r = seccomp_profile_resolve(s->seccomp_profile, strlen(s->seccomp_profile), caps,
                                                    &sc);
                else
                        r = seccomp_profile_default(caps, &sc);
                if (r < 0)
                        return err_prefix(r, "--security-opt seccomp");
                put(&b, linux_o, "seccomp", sc);
        }
        if (b.oom)
                return -ENOMEM;
        *ret = TAKE_PTR(doc);
        return 0;
}

int ocispec_exec_process(struct json_object *config, char **args, const struct user_ids *user,
                         const char *cwd, char **env, bool tty, struct json_object **ret)
{
        _cleanup_json_ struct json_object *p = NULL;
        struct json_object *src, *u, *e;
        struct jb b = {};

        if (!json_object_object_get_ex(config, "process", &src) ||
            !json_object_is_type(src, json_type_object))
                return err_set(-EINVAL, "config.json: no process");
        /* A deep copy: the container's settings, then what this process changes. */
        if (json_object_deep_copy(src, &p, NULL) < 0)
                return -ENOMEM;
        json_object_object_del(p, "rlimits");
        json_object_object_del(p, "oomScoreAdj");
        put(&b, p, "args", strv_json(&b, args));
        put(&b, p, "terminal", json_object_new_boolean(tty));
        if (cwd)
                put(&b, p, "cwd", json_object_new_string(cwd));
        if (user) {
                u = jnew(&b, json_object_new_object());
                put(&b, p, "user", u);
                put(&b, u, "uid", json_object_new_int64(user->uid));
                put(&b, u, "gid", json_object_new_int64(user->gid));
                if (user->n_gids) {
                        struct json_object *g = jnew(&b, json_object_new_array());
                        put(&b, u, "additionalGids", g);
                        for (size_t i = 0; i < user->n_gids; i++)
                                push(&b, g, json_object_new_int64(user->gids[i]));
                }
        }
        if (env && json_object_object_get_ex(p, "env", &e) && json_object_is_type(e, json_type_array)) {
                _cleanup_strv_free_ char **merged = NULL;
                for (size_t i = 0; i < json_object_array_length(e); i++)
                        if (strv_extend(&merged, json_object_get_string(json_object_array_get_idx(e, i))) <
                            0)
                                return -ENOMEM;
                STRV_FOREACH (x, env)
                        if (runspec_env_set(&merged, *x) < 0)
                                return -ENOMEM;
                if (tty && !env_has(merged, "TERM") && strv_extend(&merged, "TERM=xterm") < 0)
                        return -ENOMEM;
                put(&b, p, "env", strv_json(&b, merged));
        }
        if (b.oom)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}
