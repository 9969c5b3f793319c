/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.c - layout detection, path rules and the container cgroup handle (v1 and v2).
 *
 * Detection reads /proc/self/mountinfo once per process (or its cgroup lines from a cache, see
 * below): the cgroup and cgroup2 mounts directly below the root (/sys/fs/cgroup, or $HULL_CGROUP_ROOT for tests) make a struct cgroup_layout
 * that is cached and never freed. The root itself being cgroup2 means v2; otherwise every v1
 * hierarchy that carries a controller or is name=systemd is used (runc does the same, so that
 * tools reading /proc/PID/cgroup see the container in name=systemd), and a hybrid cgroup2 mount
 * is added only when it offers a controller no v1 hierarchy has.
 *
 * The kernel formats every mount of the namespace for a read of mountinfo: 1.2 ms with the 230
 * mounts of this development host, far more on a node with hundreds of containers, and twice per
 * container (create and delete). The runtime therefore keeps the cgroup lines of mountinfo in a
 * file under its state directory (cgroup_layout_set_cache()), valid while a fingerprint of the
 * place matches: the mount namespace, and the device, inode and type of the root and of every
 * entry directly below it. Mounting, unmounting or bind-mounting a hierarchy there changes the
 * device or inode of that entry (or adds one), so a stale cache is never used; computing the
 * fingerprint costs one directory read and a stat per entry.
 *
 * Create is on the critical path of every container start, so it does the least it can: one
 * mkdirat() per hierarchy in the common case (parents only on ENOENT), one open of the result,
 * on v1 the cpuset copy that a new cpuset cgroup needs before a task may join it (cpuset.cpus and
 * cpuset.mems start empty; see cgroup-v1.c), on v2 two reads that show whether the new cgroup
 * already offers every controller of the root (else cgroup-v2.c enables them from the root down,
 * through parents made by others too). Which levels of a nested path were created is remembered
 * per hierarchy, so that destroy removes exactly those, deepest first.
 *
 * Ownership: struct cgroup owns its strings and directory fds; cgroup_free() closes them and
 * never touches the cgroups themselves.
 *
 * Implements runtime-spec config-linux.md "Control groups" and "Cgroups path"; the resource
 * sections live in cgroup-v1.c, cgroup-v2.c and cgroup-bpf.c (hugepageLimits, shared, is here),
 * processes and OOM in cgroup-procs.c, statistics in cgroup-stats.c, the container's view of
 * /sys/fs/cgroup in cgroup-mount.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <linux/magic.h>

#include "cgroup-internal.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

static const char *const controller_names[_CGROUP_CONTROLLER_MAX] = {
        [CGROUP_CPU] = "cpu",         [CGROUP_CPUACCT] = "cpuacct",       [CGROUP_CPUSET] = "cpuset",
        [CGROUP_MEMORY] = "memory",   [CGROUP_DEVICES] = "devices",       [CGROUP_FREEZER] = "freezer",
        [CGROUP_BLKIO] = "blkio",     [CGROUP_PIDS] = "pids",             [CGROUP_HUGETLB] = "hugetlb",
        [CGROUP_NET_CLS] = "net_cls", [CGROUP_NET_PRIO] = "net_prio",     [CGROUP_PERF_EVENT] = "perf_event",
        [CGROUP_RDMA] = "rdma",       [CGROUP_MISC] = "misc",             [CGROUP_NAME_SYSTEMD] = "name=systemd",
};

const char *cgroup_controller_to_string(enum cgroup_controller c)
{
        if (c < 0 || c >= _CGROUP_CONTROLLER_MAX)
                return NULL;
        return controller_names[c];
}

enum cgroup_controller cgroup_controller_from_string(const char *s)
{
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if (streq(s, controller_names[c]))
                        return c;
        if (streq(s, "io")) /* cgroup2's name for blkio */
                return CGROUP_BLKIO;
        return _CGROUP_CONTROLLER_INVALID;
}

unsigned cgroup_controller_mask(const char *list, char sep)
{
        unsigned mask = 0;
        const char *p = list;

        while (p && *p) {
                const char *e = strchrnul(p, sep);
                char tok[64];
                size_t l = (size_t)(e - p);

                if (l > 0 && l < sizeof(tok)) {
                        memcpy(tok, p, l);
                        tok[l] = 0;
                        if (tok[l - 1] == '\n')
                                tok[l - 1] = 0;
                        enum cgroup_controller c = cgroup_controller_from_string(tok);
                        if (c >= 0)
                                mask |= CGROUP_MASK(c);
                }
                p = *e ? e + 1 : e;
        }
        return mask;
}

/* ------------------------------------------------------------------ file helpers */

int cg_write(int dfd, const char *file, const char *value)
{
        return write_string_file_at(dfd, file, value);
}

int cg_write_u64(int dfd, const char *file, uint64_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cg_write(dfd, file, buf);
}

int cg_write_i64(int dfd, const char *file, int64_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIi64, v);
        return cg_write(dfd, file, buf);
}

int cg_read(int dfd, const char *file, char **ret)
{
        return read_full_file_at(dfd, file, 4 << 20, ret, NULL);
}

int cg_read_u64(int dfd, const char *file, uint64_t *ret)
{
        _cleanup_free_ char *s = NULL;
        int r = cg_read(dfd, file, &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        if (streq(s, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_u64(s, ret);
}

int cg_keyed_u64(const char *text, const char *key, uint64_t *ret)
{
        size_t kl = strlen(key);

        for (const char *p = text; p && *p;) {
                const char *nl = strchrnul(p, '\n');
                if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
                        char num[32];
                        size_t l = (size_t)(nl - (p + kl + 1));
                        if (l == 0 || l >= sizeof(num))
                                return -EINVAL;
                        memcpy(num, p + kl + 1, l);
                        num[l] = 0;
                        if (streq(num, "max")) {
                                *ret = UINT64_MAX;
                                return 0;
                        }
                        return parse_u64(num, ret);
                }
                p = *nl ? nl + 1 : nl;
        }
        return -ENOENT;
}

int cg_write_field(int dfd, const char *file, const char *value, const char *field, const char *what_missing)
{
        int r = cg_write(dfd, file, value);
        if (r == -ENOENT)
                return err_set(-EOPNOTSUPP, "%s: %s", field,
                               what_missing ? what_missing : "not supported by this kernel");
        if (r < 0)
                return err_set(r, "%s: cannot write '%s' to %s: %s", field, value, file, strerror(-r));
        return 0;
}

int cg_err_no_controller(const char *field, enum cgroup_controller c)
{
        return err_set(-EOPNOTSUPP, "%s: %s controller is not available", field, cgroup_controller_to_string(c));
}

/* ------------------------------------------------------------------ layout */

static void unescape_octal(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *w++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 3;
                } else
                        *w++ = *p;
        }
        *w = 0;
}

void cgroup_layout_free(struct cgroup_layout *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n_mounts; i++) {
                free(l->mounts[i].mount);
                free(l->mounts[i].mnt_root);
                free(l->mounts[i].name);
        }
        free(l->mounts);
        free(l->root);
        free(l);
}

static void cgroup_layout_freep(struct cgroup_layout **l)
{
        cgroup_layout_free(*l);
}

/*
 * The hierarchy's name as /proc/self/cgroup spells it: its controllers in the kernel's order
 * (mountinfo lists them in that order too), then "name=X".
 */
static int v1_name_from_options(const char *super, char **ret, unsigned *ret_mask)
{
        _cleanup_free_ char *copy = strdup(super), *name = NULL, *named = NULL;
        unsigned mask = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                enum cgroup_controller c;
                if (startswith(t, "name=")) {
                        free(named);
                        named = strdup(t);
                        if (!named)
                                return -ENOMEM;
                        continue;
                }
                c = cgroup_controller_from_string(t);
                if (c < 0 || c == CGROUP_NAME_SYSTEMD || streq(t, "io"))
                        continue; /* rw, xattr, clone_children, release_agent=... */
                mask |= CGROUP_MASK(c);
                char *n = name ? strdup_printf("%s,%s", name, t) : strdup(t);
                if (!n)
                        return -ENOMEM;
                free(name);
                name = n;
        }
        if (named) {
                if (streq(named, "name=systemd"))
                        mask |= CGROUP_MASK(CGROUP_NAME_SYSTEMD);
                char *n = name ? strdup_printf("%s,%s", name, named) : strdup(named);
                if (!n)
                        return -ENOMEM;
                free(name);
                name = n;
        }
        *ret = name ? TAKE_PTR(name) : strdup("");
        *ret_mask = mask;
        return *ret ? 0 : -ENOMEM;
}

int cgroup_layout_parse(const char *root, bool root_is_v2, const char *mountinfo, struct cgroup_layout **ret)
{
        _cleanup_(cgroup_layout_freep) struct cgroup_layout *l = calloc(1, sizeof(*l));
        _cleanup_free_ char *text = strdup(mountinfo);
        size_t rl;
        char *save = NULL;

        if (!l || !text)
                return -ENOMEM;
        l->root = strdup(root);
        if (!l->root)
                return -ENOMEM;
        rl = strlen(root);
        while (rl > 1 && l->root[rl - 1] == '/')
                l->root[--rl] = 0;
        l->mode = root_is_v2 ? CGROUP_MODE_V2 : CGROUP_MODE_V1;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[64];
                size_t n = 0, sep = 0;
                char *save2 = NULL;

                for (char *t = strtok_r(line, " ", &save2); t && n < ELEMENTSOF(f); t = strtok_r(NULL, " ", &save2))
                        f[n++] = t;
                for (size_t i = 6; i < n; i++)
                        if (streq(f[i], "-")) {
                                sep = i;
                                break;
                        }
                if (sep == 0 || sep + 3 >= n)
                        continue;
                const char *fstype = f[sep + 1], *super = f[sep + 3];
                bool v2 = streq(fstype, "cgroup2");
                if (!v2 && !streq(fstype, "cgroup"))
                        continue;
                unescape_octal(f[3]);
                unescape_octal(f[4]);
                const char *mnt = f[4], *rest = startswith(mnt, l->root);
                if (!rest)
                        continue;
                if (root_is_v2) {
                        if (*rest || !v2)
                                continue;
                } else {
                        /* Only the hierarchies directly below the root: /sys/fs/cgroup/<name>. */
                        if (rest[0] != '/' || !rest[1] || strchr(rest + 1, '/'))
                                continue;
                }

                struct cgroup_layout_mount m = { 0 };
                int r;
                if (v2) {
                        m.name = strdup("");
                        m.mask = root_is_v2 ? ~0u : 0;
                        r = m.name ? 0 : -ENOMEM;
                } else
                        r = v1_name_from_options(super, &m.name, &m.mask);
                if (r < 0)
                        return r;
                bool dup = false;
                for (size_t i = 0; i < l->n_mounts; i++)
                        if (streq(l->mounts[i].name, m.name) && l->mounts[i].v2 == v2)
                                dup = true; /* the same hierarchy mounted twice: keep the first */
                if (dup || (!v2 && m.mask == 0)) {
                        free(m.name);
                        continue;
                }
                m.v2 = v2;
                m.mount = strdup(mnt);
                m.mnt_root = strdup(f[3]);
                struct cgroup_layout_mount *a = realloc(l->mounts, sizeof(*a) * (l->n_mounts + 1));
                if (!m.mount || !m.mnt_root || !a) {
                        free(m.mount);
                        free(m.mnt_root);
                        free(m.name);
                        if (a)
                                l->mounts = a;
                        return -ENOMEM;
                }
                l->mounts = a;
                l->mounts[l->n_mounts++] = m;
        }

        bool any_v1 = false;
        for (size_t i = 0; i < l->n_mounts; i++)
                any_v1 |= !l->mounts[i].v2;
        if (l->n_mounts == 0 || (!root_is_v2 && !any_v1))
                return err_set(-ENOMEDIUM, "no cgroup hierarchy is mounted at '%s'", l->root);
        *ret = TAKE_PTR(l);
        return 0;
}

static struct cgroup_layout *cached_layout;
static char *layout_cache_path;

void cgroup_layout_set_cache(const char *path)
{
        free(layout_cache_path);
        layout_cache_path = path ? strdup(path) : NULL; /* no cache when out of memory: only slower */
}

/* See the header comment: what must not change for cached mountinfo lines to stay true. */
static int layout_fingerprint(const char *root, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        struct dirent *de;
        struct stat st, ns;
        size_t size = 0;
        FILE *f;
        DIR *d;

        if (stat("/proc/self/ns/mnt", &ns) < 0 || stat(root, &st) < 0)
                return negative_errno();
        d = opendir(root);
        if (!d)
                return negative_errno();
        f = open_memstream(&buf, &size);
        if (!f) {
                closedir(d);
                return -ENOMEM;
        }
        fprintf(f, "mntns %" PRIu64 "\n. %" PRIu64 " %" PRIu64 " %o\n", (uint64_t)ns.st_ino, (uint64_t)st.st_dev,
                (uint64_t)st.st_ino, st.st_mode);
        /* readdir order is stable for an unchanged tmpfs or cgroup2 directory; a change only misses the cache. */
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                fprintf(f, "%s %" PRIu64 " %" PRIu64 " %o\n", de->d_name, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                        st.st_mode);
        }
        closedir(d);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The cgroup lines of mountinfo: from the cache when its fingerprint matches, else read (and cached). */
static int layout_mountinfo(const char *root, char **ret)
{
        _cleanup_free_ char *print = NULL, *cached = NULL, *all = NULL, *lines = NULL;
        size_t n = 0;
        FILE *f;
        int r;

        if (layout_cache_path && layout_fingerprint(root, &print) >= 0 &&
            read_full_file(layout_cache_path, 1 << 20, &cached, NULL) >= 0) {
                const char *rest = startswith(cached, print);
                if (rest && startswith(rest, "--\n")) {
                        *ret = strdup(rest + 3);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        r = read_full_file("/proc/self/mountinfo", 16 << 20, &all, NULL);
        if (r < 0)
                return err_set(r, "cannot read /proc/self/mountinfo: %s", strerror(-r));
        if (!print) {
                *ret = TAKE_PTR(all);
                return 0;
        }
        f = open_memstream(&lines, &n);
        if (!f)
                return -ENOMEM;
        fputs(print, f);
        fputs("--\n", f);
        for (char *l = all, *e; *l; l = e) {
                bool nl;
                e = strchrnul(l, '\n');
                nl = *e != 0;
                *e = 0;
                if (strstr(l, " - cgroup ") || strstr(l, " - cgroup2 "))
                        fprintf(f, "%s\n", l);
                e += nl;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        (void)write_file_atomic(layout_cache_path, lines, n, 0600); /* no cache: only slower */
        *ret = strdup(lines + strlen(print) + 3);
        return *ret ? 0 : -ENOMEM;
}


int cgroup_layout_get(const struct cgroup_layout **ret)
{
        _cleanup_(cgroup_layout_freep) struct cgroup_layout *l = NULL;
        _cleanup_free_ char *mountinfo = NULL;
        const char *root;
        struct statfs sfs;
        int r;

        if (cached_layout) {
                *ret = cached_layout;
                return 0;
        }
        root = getenv("HULL_CGROUP_ROOT");
        if (!root || !*root)
                root = "/sys/fs/cgroup";
        if (statfs(root, &sfs) < 0) {
                r = negative_errno();
                return err_set(r, "cannot look at cgroup root '%s': %s", root, strerror(-r));
        }
        r = layout_mountinfo(root, &mountinfo);
        if (r < 0)
                return r;
        r = cgroup_layout_parse(root, sfs.f_type == CGROUP2_SUPER_MAGIC, mountinfo, &l);
        if (r < 0)
                return r;

        if (l->mode == CGROUP_MODE_V1) {
                unsigned v1_mask = 0;
                for (size_t i = 0; i < l->n_mounts; i++)
                        if (!l->mounts[i].v2)
                                v1_mask |= l->mounts[i].mask;
                for (size_t i = 0; i < l->n_mounts; i++) {
                        struct cgroup_layout_mount *m = &l->mounts[i];
                        _cleanup_free_ char *p = NULL, *ctrl = NULL;
                        if (!m->v2)
                                continue;
                        p = strdup_printf("%s/cgroup.controllers", m->mount);
                        if (!p)
                                return -ENOMEM;
                        if (read_one_line_file(p, &ctrl) < 0)
                                continue;
                        m->mask = cgroup_controller_mask(ctrl, ' ');
                        /* Hybrid: cgroup2 is worth joining only for what no v1 hierarchy offers. */
                        if (m->mask & ~v1_mask)
                                l->use_unified = true;
                }
        }
        log_debug("cgroup: %s layout at %s, %zu hierarchies%s", l->mode == CGROUP_MODE_V2 ? "v2" : "v1", l->root,
                  l->n_mounts, l->use_unified ? ", hybrid cgroup2 joined" : "");
        cached_layout = TAKE_PTR(l);
        *ret = cached_layout;
        return 0;
}

int cgroup_detect(enum cgroup_mode *ret)
{
        const struct cgroup_layout *l;
        int r = cgroup_layout_get(&l);
        if (r < 0)
                return r;
        *ret = l->mode;
        return 0;
}

/* ------------------------------------------------------------------ path rules */

int cgroup_path_normalize(const char *cgroups_path, const char *id, char **ret, bool *ret_relative)
{
        _cleanup_free_ char *out = NULL;
        size_t len = 0, colons = 0;
        bool relative;

        if (!cgroups_path || !*cgroups_path) {
                if (!id || !*id || strchr(id, '/') || streq(id, ".") || streq(id, ".."))
                        return err_set(-EINVAL, "container id '%s' cannot name a cgroup", strempty(id));
                out = strdup_printf("/%s", id);
                if (!out)
                        return -ENOMEM;
                *ret = TAKE_PTR(out);
                *ret_relative = false;
                return 0;
        }
        if (strlen(cgroups_path) > 4096)
                return err_set(-ENAMETOOLONG, "linux.cgroupsPath: longer than 4096 bytes");
        relative = cgroups_path[0] != '/';
        for (const char *p = cgroups_path; *p; p++)
                colons += *p == ':';
        if (relative && colons == 2)
                return err_set(-EOPNOTSUPP,
                               "linux.cgroupsPath: systemd cgroup path '%s' is not supported "
                               "(hull manages cgroupfs directly; use a path like '/hull/<id>')",
                               cgroups_path);
        out = malloc(strlen(cgroups_path) + 2);
        if (!out)
                return -ENOMEM;
        for (const char *p = cgroups_path; *p;) {
                const char *e;
                size_t l;
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                e = strchrnul(p, '/');
                l = (size_t)(e - p);
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return err_set(-EINVAL, "linux.cgroupsPath: '.' and '..' are not allowed in '%s'",
                                       cgroups_path);
                out[len++] = '/';
                memcpy(out + len, p, l);
                len += l;
                p = e;
        }
        out[len] = 0;
        if (len == 0)
                return err_set(-EINVAL, "linux.cgroupsPath: '%s' names the hierarchy root, not a container cgroup",
                               cgroups_path);
        *ret = TAKE_PTR(out);
        *ret_relative = relative;
        return 0;
}

char *cgroup_path_join(const char *base, const char *rel)
{
        if (streq(base, "/") || !*base)
                return strdup(rel);
        return strdup_printf("%s%s", base, rel);
}

int cgroup_own_path(const char *proc_self_cgroup, const struct cgroup_layout_mount *m, char **ret)
{
        for (const char *p = proc_self_cgroup; p && *p;) {
                const char *nl = strchrnul(p, '\n');
                _cleanup_free_ char *line = strndup(p, (size_t)(nl - p));
                char *c1, *c2;

                p = *nl ? nl + 1 : nl;
                if (!line)
                        return -ENOMEM;
                c1 = strchr(line, ':');
                c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c1 = *c2 = 0;
                const char *list = c1 + 1, *path = c2 + 1;
                if (m->v2 ? !streq(line, "0") || *list : !streq(list, m->name))
                        continue;
                /* The mount may show a subtree of the hierarchy (a bind mount without cgroupns). */
                const char *rest = streq(m->mnt_root, "/") ? path : startswith(path, m->mnt_root);
                if (!rest || (*rest && *rest != '/'))
                        return err_set(-ENOENT, "this process's cgroup '%s' is outside the mount %s", path,
                                       m->mount);
                *ret = strdup(*rest ? rest : "/");
                return *ret ? 0 : -ENOMEM;
        }
        return err_set(-ENOENT, "this process has no cgroup in the hierarchy at %s", m->mount);
}

/* ------------------------------------------------------------------ handle */

struct cgroup_hier *cgroup_hier_for(const struct cgroup *cg, enum cgroup_controller c)
{
        struct cgroup_hier *v2 = NULL;

        for (size_t i = 0; i < cg->n_hier; i++) {
                struct cgroup_hier *h = &cg->hier[i];
                if (h->dfd < 0)
                        continue;
                if (cg->mode == CGROUP_MODE_V2)
                        return h;
                if (!h->v2 && (h->mask & CGROUP_MASK(c)))
                        return h;
                if (h->v2 && (h->mask & CGROUP_MASK(c)))
                        v2 = h;
        }
        return v2;
}

struct cgroup_hier *cgroup_hier_procs(const struct cgroup *cg)
{
        struct cgroup_hier *h = cgroup_hier_for(cg, CGROUP_FREEZER);
        if (h && !h->v2)
                return h;
        for (size_t i = 0; i < cg->n_hier; i++)
                if (cg->hier[i].dfd >= 0 && (cg->mode == CGROUP_MODE_V2 || !cg->hier[i].v2))
                        return &cg->hier[i];
        return NULL;
}

static struct cgroup *cgroup_new(enum cgroup_mode mode, size_t n)
{
        struct cgroup *cg = calloc(1, sizeof(*cg));
        if (!cg)
                return NULL;
        cg->mode = mode;
        cg->hier = calloc(n ? n : 1, sizeof(*cg->hier));
        cg->oom_seen = calloc(1, sizeof(*cg->oom_seen));
        if (!cg->hier || !cg->oom_seen) {
                free(cg->hier);
                free(cg->oom_seen);
                free(cg);
                return NULL;
        }
        return cg;
}

void cgroup_free(struct cgroup *cg)
{
        if (!cg)
                return;
        for (size_t i = 0; i < cg->n_hier; i++) {
                safe_close(cg->hier[i].dfd);
                free(cg->hier[i].mount);
                free(cg->hier[i].name);
                free(cg->hier[i].path);
        }
        free(cg->hier);
        free(cg->oom_seen);
        free(cg);
}

int cgroup_clone_fd(const struct cgroup *cg)
{
        const char *off = getenv("HULL_CGROUP_NO_CLONE_INTO");

        /* The switch is for benchmarks (bench/runtime-v2-clone.sh) and for telling a bug apart. */
        if (off && streq(off, "1"))
                return -EOPNOTSUPP;
        for (size_t i = 0; i < cg->n_hier; i++)
                if (cg->hier[i].v2 && cg->hier[i].dfd >= 0)
                        return cg->hier[i].dfd;
        return -EOPNOTSUPP;
}

enum cgroup_mode cgroup_get_mode(const struct cgroup *cg)
{
        return cg->mode;
}

const char *cgroup_get_path(const struct cgroup *cg)
{
        return cg->n_hier > 0 ? cg->hier[0].path : "/";
}

/* rmdir the leaf of h, then the parents this runtime created, deepest first. */
static int hier_remove(struct cgroup_hier *h, bool bpf);

/*
 * mkdir full (an absolute path below the mount point, which is its first mount_len bytes),
 * creating parents only when the first mkdir says ENOENT, and never above the mount point.
 * Returns the number of trailing components created (0: the leaf existed).
 */
static int mkdir_levels(const char *full, size_t mount_len)
{
        _cleanup_free_ char *parent = NULL;
        char *slash;
        int r;

        if (mkdir(full, 0755) >= 0)
                return 1;
        if (errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return negative_errno();
        parent = strdup(full);
        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash || (size_t)(slash - parent) <= mount_len)
                return -ENOENT; /* the hierarchy itself is gone */
        *slash = 0;
        r = mkdir_levels(parent, mount_len);
        if (r < 0)
                return r;
        if (mkdir(full, 0755) < 0)
                return errno == EEXIST ? 0 : negative_errno();
        return r + 1;
}

static int hier_create(struct cgroup *cg, const struct cgroup_layout_mount *m, char *path)
{
        struct cgroup_hier *h = &cg->hier[cg->n_hier];
        _cleanup_free_ char *full = NULL;
        _cleanup_close_ int mfd = -EBADF;
        bool cpuset = !m->v2 && (m->mask & CGROUP_MASK(CGROUP_CPUSET)), enable = m->v2 && cg->mode == CGROUP_MODE_V2;
        int r;

        *h = (struct cgroup_hier){ .path = path, .dfd = -EBADF, .v2 = m->v2, .mask = m->mask };
        h->mount = strdup(m->mount);
        h->name = strdup(m->name);
        cg->n_hier++; /* from here on cgroup_free() owns path */
        full = strdup_printf("%s%s", m->mount, path);
        if (!h->mount || !h->name || !full)
                return -ENOMEM;
        /* Absolute paths below the mount point (from mountinfo, not from the container): two syscalls. */
        r = mkdir_levels(full, strlen(m->mount));
        if (r < 0)
                return err_set(r, "cannot create cgroup %s: %s", full, strerror(-r));
        h->created = (unsigned)r;
        h->dfd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (h->dfd < 0)
                return err_set(negative_errno(), "cannot open cgroup %s: %m", full);
        if (!cpuset && !enable)
                return 0;
        mfd = open(m->mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0)
                return err_set(negative_errno(), "cannot open cgroup hierarchy %s: %m", m->mount);
        if (cpuset) {
                r = cgroup_v1_cpuset_init(mfd, path, h->created);
                if (r < 0)
                        return err_prefix(r, "cannot initialize cpuset of %s", full);
        }
        if (enable)
                (void)cgroup_v2_enable_controllers(mfd, path, ~0u, false);
        return 0;
}

int cgroup_create(const char *path, const char *id, struct cgroup **ret)
{
        _cleanup_free_ char *norm = NULL, *self = NULL;
        const struct cgroup_layout *l;
        struct cgroup *cg;
        bool relative;
        int r;

        r = cgroup_layout_get(&l);
        if (r < 0)
                return r;
        r = cgroup_path_normalize(path, id, &norm, &relative);
        if (r < 0)
                return r;
        if (relative) {
                r = read_full_file("/proc/self/cgroup", 1 << 20, &self, NULL);
                if (r < 0)
                        return err_set(r, "cannot read /proc/self/cgroup: %s", strerror(-r));
        }
        cg = cgroup_new(l->mode, l->n_mounts);
        if (!cg)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_mounts; i++) {
                const struct cgroup_layout_mount *m = &l->mounts[i];
                char *p;

                if (l->mode == CGROUP_MODE_V1 && m->v2 && !l->use_unified)
                        continue;
                if (relative) {
                        _cleanup_free_ char *own = NULL;
                        r = cgroup_own_path(self, m, &own);
                        if (r < 0)
                                goto fail;
                        p = cgroup_path_join(own, norm);
                } else
                        p = strdup(norm);
                if (!p) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = hier_create(cg, m, p);
                if (r < 0)
                        goto fail;
        }
        log_debug("cgroup: created %s in %zu hierarchies", cgroup_get_path(cg), cg->n_hier);
        *ret = cg;
        return 0;
fail:
        for (size_t i = 0; i < cg->n_hier; i++)
                (void)hier_remove(&cg->hier[i], false);
        cgroup_free(cg);
        return r;
}

int cgroup_to_json(const struct cgroup *cg, struct json_object **ret)
{
        _cleanup_json_ struct json_object *o = json_object_new_object(), *a = json_object_new_array();

        if (!o || !a)
                return -ENOMEM;
        json_object_object_add(o, "mode", json_object_new_string(cg->mode == CGROUP_MODE_V2 ? "v2" : "v1"));
        for (size_t i = 0; i < cg->n_hier; i++) {
                const struct cgroup_hier *h = &cg->hier[i];
                struct json_object *e = json_object_new_object();
                if (!e)
                        return -ENOMEM;
                json_object_array_add(a, e);
                json_object_object_add(e, "mount", json_object_new_string(h->mount));
                json_object_object_add(e, "name", json_object_new_string(h->name));
                json_object_object_add(e, "path", json_object_new_string(h->path));
                json_object_object_add(e, "v2", json_object_new_boolean(h->v2));
                json_object_object_add(e, "created", json_object_new_int64(h->created));
        }
        json_object_object_add(o, "hierarchies", TAKE_PTR(a));
        *ret = TAKE_PTR(o);
        return 0;
}

static int hier_from_json(struct cgroup *cg, struct json_object *e, size_t i)
{
        struct cgroup_hier *h = &cg->hier[cg->n_hier];
        const char *mount, *name, *path;
        char field[64];
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int mfd = -EBADF;
        struct statfs sfs;
        bool rel, v2;
        uint32_t created;
        int r;

        snprintf(field, sizeof(field), "cgroup.hierarchies[%zu]", i);
        if ((r = json_get_string(e, "mount", field, &mount)) < 0 || (r = json_get_string(e, "name", field, &name)) < 0 ||
            (r = json_get_string(e, "path", field, &path)) < 0 || (r = json_get_bool(e, "v2", field, &v2)) < 0 ||
            (r = json_get_uint32(e, "created", field, &created)) < 0)
                return r == -ENOENT ? err_set(-EINVAL, "%s: incomplete cgroup state", field) : r;
        r = cgroup_path_normalize(path, NULL, &norm, &rel);
        if (r < 0 || rel || !streq(norm, path) || mount[0] != '/')
                return err_set(-EINVAL, "%s: invalid cgroup path '%s' or mount '%s'", field, path, mount);
        mfd = open(mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0 || fstatfs(mfd, &sfs) < 0)
                return err_set(negative_errno(), "%s: cannot open cgroup hierarchy '%s': %m", field, mount);
        /* A state file must not be able to point cgroup writes at another file system. */
        if (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC)
                return err_set(-EINVAL, "%s: '%s' is not a cgroup file system", field, mount);
        *h = (struct cgroup_hier){ .dfd = -EBADF, .v2 = v2, .created = created };
        h->mount = strdup(mount);
        h->name = strdup(name);
        h->path = strdup(path);
        cg->n_hier++;
        if (!h->mount || !h->name || !h->path)
                return -ENOMEM;
        if (v2) {
                const struct cgroup_layout *l;
                h->mask = cg->mode == CGROUP_MODE_V2 ? ~0u : 0;
                if (cg->mode == CGROUP_MODE_V1 && cgroup_layout_get(&l) >= 0)
                        for (size_t k = 0; k < l->n_mounts; k++)
                                if (l->mounts[k].v2 && streq(l->mounts[k].mount, mount))
                                        h->mask = l->mounts[k].mask;
        } else {
                _cleanup_free_ char *n = NULL;
                r = v1_name_from_options(name, &n, &h->mask);
                if (r < 0)
                        return r;
        }
        h->dfd = openat(mfd, path + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (h->dfd < 0 && errno != ENOENT)
                return err_set(negative_errno(), "cannot open cgroup %s%s: %m", mount, path);
        return 0;
}

int cgroup_from_json(struct json_object *o, struct cgroup **ret)
{
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        struct json_object *a;
        const char *mode;
        size_t n;
        int r;

        r = json_get_string(o, "mode", "cgroup.mode", &mode);
        if (r < 0)
                return r == -ENOENT ? err_set(-EINVAL, "cgroup.mode: missing") : r;
        if (!streq(mode, "v1") && !streq(mode, "v2"))
                return err_set(-EINVAL, "cgroup.mode: unknown mode '%s'", mode);
        r = json_get_array(o, "hierarchies", "cgroup.hierarchies", &a);
        if (r < 0)
                return r == -ENOENT ? err_set(-EINVAL, "cgroup.hierarchies: missing") : r;
        n = json_object_array_length(a);
        cg = cgroup_new(streq(mode, "v2") ? CGROUP_MODE_V2 : CGROUP_MODE_V1, n);
        if (!cg)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = hier_from_json(cg, json_object_array_get_idx(a, i), i);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

/* ------------------------------------------------------------------ destroy */

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

/* Remove the child cgroups below dir (made by the container itself), deepest first. */
static int remove_children(int dfd, unsigned depth)
{
        int d2, r = 0;
        DIR *d;
        struct dirent *de;

        if (depth > 64)
                return -ELOOP;
        d2 = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d2 < 0)
                return negative_errno();
        d = fdopendir(d2);
        if (!d) {
                safe_close(d2);
                return negative_errno();
        }
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (cfd >= 0)
                        (void)remove_children(cfd, depth + 1);
                if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        r = negative_errno();
        }
        closedir(d);
        return r;
}

static int hier_remove(struct cgroup_hier *h, bool bpf)
{
        _cleanup_free_ char *p = strdup_printf("%s%s", h->mount, h->path);
        size_t mount_len = strlen(h->mount);
        unsigned delay = 1;
        int r = 0;

        if (!p)
                return -ENOMEM;
        /* Only v2 mode attaches device programs; a hybrid cgroup2 hierarchy has none of ours. */
        if (bpf && h->dfd >= 0)
                (void)cgroup_bpf_detach_devices(h->dfd);
        /*
         * EBUSY: the kernel still holds exiting tasks (v1 counts them until they are reaped) or the
         * container made cgroups of its own; both go away shortly, so retry for about half a second.
         */
        for (unsigned attempt = 0;; attempt++) {
                if (rmdir(p) >= 0 || errno == ENOENT)
                        break;
                r = negative_errno();
                if (r != -EBUSY && r != -ENOTEMPTY)
                        return r;
                if (attempt >= 9)
                        return r;
                if (h->dfd >= 0)
                        (void)remove_children(h->dfd, 0);
                sleep_ms(delay);
                delay = MIN(delay * 2, 100u);
        }
        h->dfd = safe_close(h->dfd);
        for (unsigned level = 1; level < h->created; level++) {
                char *slash = strrchr(p, '/');
                if (!slash || (size_t)(slash - p) <= mount_len)
                        break;
                *slash = 0;
                /* A parent that another container now uses stays. */
                if (rmdir(p) < 0 && errno != ENOENT)
                        break;
        }
        return 0;
}

int cgroup_destroy(struct cgroup *cg)
{
        int r = 0;

        for (size_t i = 0; i < cg->n_hier; i++) {
                struct cgroup_hier *h = &cg->hier[i];
                int k = hier_remove(h, cg->mode == CGROUP_MODE_V2);
                if (k < 0 && r >= 0)
                        r = err_set(k, "cannot remove cgroup %s%s: %s", h->mount, h->path, strerror(-k));
        }
        return r;
}

/* ------------------------------------------------------------------ features */

int cgroup_controllers(char ***ret)
{
        const struct cgroup_layout *l;
        _cleanup_strv_free_ char **list = NULL;
        unsigned mask = 0;
        int r;

        r = cgroup_layout_get(&l);
        if (r < 0)
                return r;
        if (l->mode == CGROUP_MODE_V2) {
                _cleanup_free_ char *p = strdup_printf("%s/cgroup.controllers", l->root), *s = NULL;
                if (!p)
                        return -ENOMEM;
                r = read_one_line_file(p, &s);
                if (r < 0)
                        return r;
                /* Device access and freezing are part of cgroup2 itself (eBPF, cgroup.freeze). */
                mask = cgroup_controller_mask(s, ' ') | CGROUP_MASK(CGROUP_DEVICES) | CGROUP_MASK(CGROUP_FREEZER);
        } else
                for (size_t i = 0; i < l->n_mounts; i++)
                        if (!l->mounts[i].v2 || l->use_unified)
                                mask |= l->mounts[i].mask;
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
                if (c == CGROUP_NAME_SYSTEMD || !(mask & CGROUP_MASK(c)))
                        continue;
                r = strv_extend(&list, c == CGROUP_BLKIO && l->mode == CGROUP_MODE_V2 ? "io" : controller_names[c]);
                if (r < 0)
                        return r;
        }
        if (!list && !(list = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(list);
        return 0;
}

/* ------------------------------------------------------------------ apply */

static int apply_hugetlb(struct cgroup *cg, const struct oci_resources *r)
{
        const struct cgroup_hier *h;
        int k;

        if (r->n_hugepage_limits == 0)
                return 0;
        h = cgroup_hier_for(cg, CGROUP_HUGETLB);
        if (!h)
                return err_set(-EOPNOTSUPP,
                               "linux.resources.hugepageLimits: hugetlb controller is not available "
                               "(not mounted as a v1 hierarchy, and no cgroup2 mount offers it)");
        if (h->v2 && cg->mode == CGROUP_MODE_V1) {
                /* Hybrid: hugetlb lives on the cgroup2 mount; every ancestor there must hand it down. */
                _cleanup_close_ int mfd = open(h->mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (mfd < 0)
                        return negative_errno();
                k = cgroup_v2_enable_controllers(mfd, h->path, CGROUP_MASK(CGROUP_HUGETLB), true);
                if (k < 0)
                        return err_set(k, "linux.resources.hugepageLimits: cannot enable hugetlb on %s: %s", h->mount,
                                       strerror(-k));
        }
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                const struct oci_hugepage_limit *l = &r->hugepage_limits[i];
                char file[96], v[32];
                if (!l->page_size || !*l->page_size || strchr(l->page_size, '/') || strlen(l->page_size) > 32)
                        return err_set(-EINVAL, "linux.resources.hugepageLimits[%zu].pageSize: invalid '%s'", i,
                                       strempty(l->page_size));
                snprintf(file, sizeof(file), h->v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", l->page_size);
                snprintf(v, sizeof(v), "%" PRIu64, l->limit);
                k = cg_write(h->dfd, file, v);
                if (k == -ENOENT) {
                        _cleanup_free_ char *ctrl = NULL;
                        if (h->v2 && (cg_read(h->dfd, "cgroup.controllers", &ctrl) < 0 ||
                                      !(cgroup_controller_mask(ctrl, ' ') & CGROUP_MASK(CGROUP_HUGETLB))))
                                return cg_err_no_controller("linux.resources.hugepageLimits", CGROUP_HUGETLB);
                        return err_set(-EINVAL,
                                       "linux.resources.hugepageLimits[%zu].pageSize: this host has no '%s' huge "
                                       "pages (see /sys/kernel/mm/hugepages)",
                                       i, l->page_size);
                }
                if (k < 0)
                        return err_set(k, "linux.resources.hugepageLimits[%zu].limit: cannot write '%s' to %s: %s", i,
                                       v, file, strerror(-k));
        }
        return 0;
}

int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, bool update)
{
        static const struct oci_resources none;
        int r;

        /* No linux.resources still means the default device rules on create. */
        if (!res)
                res = &none;
        if (res->has_rdma)
                return err_set(-EOPNOTSUPP, "linux.resources.rdma: not supported by hull");
        r = cg->mode == CGROUP_MODE_V2 ? cgroup_v2_apply(cg, res, update) : cgroup_v1_apply(cg, res, update);
        if (r < 0)
                return r;
        return apply_hugetlb(cg, res);
}
