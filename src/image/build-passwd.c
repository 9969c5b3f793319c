/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-passwd.c - users and groups of the image being built, for USER and
 * COPY/ADD --chown.
 *
 * The files are read from the image's own tree (the build's overlay mount)
 * through chase.h, because their path and every symlink on it belong to the
 * image: a /etc/passwd symlink to /etc/shadow of the host must resolve inside
 * the image. They are parsed here, in one place (and fuzzed), as passwd(5) and
 * group(5) say, leniently as glibc's files backend: a malformed line is
 * skipped, the first matching line wins.
 *
 * Names resolve as Docker resolves them: a name is looked up first, a number is
 * taken as an id (and may be absent from the files). USER with a uid only takes
 * the user's primary group from /etc/passwd (gid 0 when it has no entry) plus
 * the groups that list the user; --chown without a group uses the uid as gid.
 */
#include <fcntl.h>

#include "build-internal.h"
#include "chase.h"
#include "error.h"
#include "util.h"

#define ACCOUNT_FILE_MAX (16u << 20)

/* The fields of the next line of buf into f (at most max); returns the count, advancing *pos. */
static size_t next_line(const char *buf, size_t len, size_t *pos, char *line, size_t line_size, char **f,
                        size_t max)
{
        const char *s = buf + *pos, *nl = memchr(s, '\n', len - *pos);
        size_t n = nl ? (size_t)(nl - s) : len - *pos, k = 0;

        *pos += n + (nl ? 1 : 0);
        if (n >= line_size)
                return 0; /* longer than any sane entry: skipped */
        memcpy(line, s, n);
        line[n] = 0;
        if (n > 0 && line[n - 1] == '\r')
                line[n - 1] = 0;
        if (line[0] == '#' || line[0] == '+' || line[0] == '-')
                return 0; /* comments and NIS compat entries */
        for (char *p = line; k < max;) {
                f[k++] = p;
                p = strchr(p, ':');
                if (!p)
                        break;
                *p++ = 0;
        }
        return k;
}

static int parse_id(const char *s, uint32_t *ret)
{
        uint32_t v;
        /* (uid_t)-1 is "no change" to chown(2): never an id. */
        if (!*s || parse_u32(s, &v) < 0 || v == UINT32_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

int passwd_find(const char *buf, size_t len, const char *name, uid_t *uid, gid_t *ret_gid, char **ret_name)
{
        _cleanup_free_ char *line = malloc(4096);
        size_t pos = 0;

        if (!line)
                return -ENOMEM;
        while (pos < len) {
                char *f[7];
                uint32_t u, g;
                if (next_line(buf, len, &pos, line, 4096, f, 7) < 4)
                        continue;
                if (parse_id(f[2], &u) < 0 || parse_id(f[3], &g) < 0)
                        continue;
                if (name ? !streq(f[0], name) : u != *uid)
                        continue;
                if (ret_name && !(*ret_name = strdup(f[0])))
                        return -ENOMEM;
                *uid = u;
                *ret_gid = g;
                return 1;
        }
        return 0;
}

int group_find(const char *buf, size_t len, const char *name, gid_t *ret_gid)
{
        _cleanup_free_ char *line = malloc(65536);
        size_t pos = 0;

        if (!line)
                return -ENOMEM;
        while (pos < len) {
                char *f[4];
                uint32_t g;
                if (next_line(buf, len, &pos, line, 65536, f, 4) < 3)
                        continue;
                if (!streq(f[0], name) || parse_id(f[2], &g) < 0)
                        continue;
                *ret_gid = g;
                return 1;
        }
        return 0;
}

int group_members(const char *buf, size_t len, const char *user, gid_t **ret, size_t *ret_n)
{
        _cleanup_free_ char *line = malloc(65536);
        _cleanup_free_ gid_t *l = NULL;
        size_t pos = 0, n = 0;

        if (!line)
                return -ENOMEM;
        while (pos < len) {
                char *f[4];
                uint32_t g;
                bool member = false;
                if (next_line(buf, len, &pos, line, 65536, f, 4) < 4 || parse_id(f[2], &g) < 0)
                        continue;
                for (char *m = f[3]; *m && !member;) {
                        size_t k = strcspn(m, ",");
                        member = k == strlen(user) && strncmp(m, user, k) == 0;
                        m += k + (m[k] == ',');
                }
                if (!member)
                        continue;
                /* The kernel takes at most NGROUPS_MAX (65536) groups; more is a broken file. */
                if (n >= 65536)
                        break;
                gid_t *nl = realloc(l, (n + 1) * sizeof(*l));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n++] = g;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

void build_user_done(struct build_user *u)
{
        free(u->groups);
        u->groups = NULL;
        u->n_groups = 0;
}

/* The whole file from the image, or an empty buffer when it has none. */
static int read_image_file(int root_fd, const char *path, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = chase_open(root_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
        int r;

        if (fd == -ENOENT || fd == -ENOTDIR) {
                *ret = strdup("");
                *ret_len = 0;
                return *ret ? 0 : -ENOMEM;
        }
        if (fd < 0)
                return err_set(fd, "cannot open %s in the image: %s", path, strerror(-fd));
        r = read_full_fd(fd, ACCOUNT_FILE_MAX, ret, ret_len);
        if (r < 0)
                return err_set(r, "cannot read %s in the image: %s", path, strerror(-r));
        return 0;
}

int build_user_lookup(int root_fd, const char *spec, bool groups, bool gid_from_uid, struct build_user *ret)
{
        _cleanup_free_ char *user = NULL, *pw = NULL, *gr = NULL, *name = NULL;
        const char *colon = strchr(spec, ':'), *group = colon ? colon + 1 : NULL;
        size_t pw_len = 0, gr_len = 0;
        struct build_user u = {};
        uint32_t id;
        int r;

        user = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
        if (!user)
                return -ENOMEM;
        if (!*user || (group && !*group))
                return err_set(-EINVAL, "invalid user '%s' (user, uid, user:group or uid:gid)", spec);
        r = read_image_file(root_fd, "/etc/passwd", &pw, &pw_len);
        if (r < 0)
                return r;
        r = passwd_find(pw, pw_len, user, &u.uid, &u.gid, &name);
        if (r < 0)
                return r;
        if (r == 0) {
                if (parse_id(user, &id) < 0)
                        return err_set(-ENOENT, "no user '%s' in the image's /etc/passwd", user);
                u.uid = id;
                u.gid = gid_from_uid ? id : 0;
                if (!gid_from_uid) {
                        /* A uid the image knows under a name: its primary group and its groups apply. */
                        r = passwd_find(pw, pw_len, NULL, &u.uid, &u.gid, &name);
                        if (r < 0)
                                return r;
                }
        } else if (gid_from_uid)
                u.gid = u.uid;
        if (group || (groups && name)) {
                r = read_image_file(root_fd, "/etc/group", &gr, &gr_len);
                if (r < 0)
                        return r;
        }
        if (group) {
                r = group_find(gr, gr_len, group, &u.gid);
                if (r < 0)
                        return r;
                if (r == 0) {
                        if (parse_id(group, &id) < 0)
                                return err_set(-ENOENT, "no group '%s' in the image's /etc/group", group);
                        u.gid = id;
                }
        }
        if (groups && name) {
                r = group_members(gr, gr_len, name, &u.groups, &u.n_groups);
                if (r < 0)
                        return r;
        }
        *ret = u;
        return 0;
}
