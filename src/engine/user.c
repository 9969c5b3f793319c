/* SPDX-License-Identifier: Apache-2.0 */
/* user.c - users and groups from a container's /etc/passwd and /etc/group; see user.h. */
#include <fcntl.h>

#include "chase.h"
#include "error.h"
#include "user.h"
#include "util.h"

#define ETC_FILE_MAX (4 << 20)

void user_ids_done(struct user_ids *u)
{
        free(u->gids);
        free(u->home);
        *u = (struct user_ids){};
}

/* Field i (0-based) of a ':'-separated line, as [start, end). */
static bool field(const char *line, const char *end, unsigned i, const char **fs, const char **fe)
{
        const char *p = line;
        for (unsigned k = 0; k < i; k++) {
                p = memchr(p, ':', (size_t)(end - p));
                if (!p)
                        return false;
                p++;
        }
        *fs = p;
        *fe = memchr(p, ':', (size_t)(end - p)) ?: end;
        return true;
}

static bool field_eq(const char *s, const char *e, const char *v)
{
        return (size_t)(e - s) == strlen(v) && memcmp(s, v, (size_t)(e - s)) == 0;
}

static bool field_u32(const char *s, const char *e, uint32_t *ret)
{
        char buf[16];
        if (e - s <= 0 || e - s >= (ptrdiff_t)sizeof(buf))
                return false;
        memcpy(buf, s, (size_t)(e - s));
        buf[e - s] = 0;
        return parse_u32(buf, ret) >= 0;
}

/*
 * Find the line of a passwd/group file whose field key_field is key (by name), or whose
 * field id_field is id (when key is NULL). Calls back with the line bounds.
 */
static bool find_line(const char *text, unsigned key_field, const char *key, unsigned id_field, uint32_t id,
                      const char **ls, const char **le)
{
        for (const char *p = text; p && *p;) {
                const char *e = strchr(p, '\n') ?: p + strlen(p);
                const char *fs, *fe;
                uint32_t v;

                if (*p != '#' && e > p) {
                        if (key && field(p, e, key_field, &fs, &fe) && field_eq(fs, fe, key)) {
                                *ls = p;
                                *le = e;
                                return true;
                        }
                        if (!key && field(p, e, id_field, &fs, &fe) && field_u32(fs, fe, &v) && v == id) {
                                *ls = p;
                                *le = e;
                                return true;
                        }
                }
                p = *e ? e + 1 : NULL;
        }
        return false;
}

static bool is_number(const char *s)
{
        uint32_t v;
        return parse_u32(s, &v) >= 0;
}

static int add_gid(struct user_ids *u, uint32_t g)
{
        uint32_t *n;
        for (size_t i = 0; i < u->n_gids; i++)
                if (u->gids[i] == g)
                        return 0;
        n = realloc(u->gids, (u->n_gids + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        u->gids = n;
        u->gids[u->n_gids++] = g;
        return 0;
}

/* Every group whose member list (field 3) names user. */
static int supplementary(const char *group, const char *user, struct user_ids *u)
{
        for (const char *p = group; p && *p;) {
                const char *e = strchr(p, '\n') ?: p + strlen(p);
                const char *fs, *fe, *gs, *ge;
                uint32_t gid;

                if (*p != '#' && field(p, e, 3, &fs, &fe) && field(p, e, 2, &gs, &ge) &&
                    field_u32(gs, ge, &gid)) {
                        for (const char *m = fs; m < fe;) {
                                const char *me = memchr(m, ',', (size_t)(fe - m)) ?: fe;
                                if (field_eq(m, me, user)) {
                                        int r = add_gid(u, gid);
                                        if (r < 0)
                                                return r;
                                        break;
                                }
                                m = me + 1;
                        }
                }
                p = *e ? e + 1 : NULL;
        }
        return 0;
}

int user_resolve_text(const char *passwd, const char *group, const char *spec, struct user_ids *ret)
{
        _cleanup_free_ char *user = NULL, *grp = NULL, *name = NULL;
        struct user_ids u = {};
        const char *colon, *ls, *le, *fs, *fe;
        int r;

        if (!spec || !*spec)
                spec = "0";
        colon = strchr(spec, ':');
        user = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
        grp = colon ? strdup(colon + 1) : NULL;
        if (!user || (colon && !grp))
                return -ENOMEM;
        if (!*user)
                return err_set(-EINVAL, "--user: no user in '%s'", spec);

        if (is_number(user)) {
                parse_u32(user, &u.uid);
                if (passwd && find_line(passwd, 0, NULL, 2, u.uid, &ls, &le)) {
                        if (field(ls, le, 3, &fs, &fe))
                                field_u32(fs, fe, &u.gid);
                        if (field(ls, le, 0, &fs, &fe))
                                name = strndup(fs, (size_t)(fe - fs));
                        if (field(ls, le, 5, &fs, &fe) && fe > fs)
                                u.home = strndup(fs, (size_t)(fe - fs));
                }
        } else {
                if (!passwd || !find_line(passwd, 0, user, 0, 0, &ls, &le))
                        return err_set(-ENOENT,
                                       "--user: unable to find user %s: no matching entries in passwd file",
                                       user);
                if (!field(ls, le, 2, &fs, &fe) || !field_u32(fs, fe, &u.uid) ||
                    !field(ls, le, 3, &fs, &fe) || !field_u32(fs, fe, &u.gid))
                        return err_set(-EINVAL, "--user: the passwd entry of %s is malformed", user);
                if (field(ls, le, 5, &fs, &fe) && fe > fs)
                        u.home = strndup(fs, (size_t)(fe - fs));
                name = strdup(user);
        }
        if (grp) {
                if (!*grp) {
                        user_ids_done(&u);
                        return err_set(-EINVAL, "--user: no group after ':' in '%s'", spec);
                }
                if (is_number(grp))
                        parse_u32(grp, &u.gid);
                else if (!group || !find_line(group, 0, grp, 0, 0, &ls, &le) ||
                         !field(ls, le, 2, &fs, &fe) || !field_u32(fs, fe, &u.gid)) {
                        user_ids_done(&u);
                        return err_set(-ENOENT,
                                       "--user: unable to find group %s: no matching entries in group file",
                                       grp);
                }
        }
        if (name && group && (r = supplementary(group, name, &u)) < 0) {
                user_ids_done(&u);
                return r;
        }
        if (!u.home)
                u.home = strdup("/");
        if (!u.home) {
                user_ids_done(&u);
                return -ENOMEM;
        }
        *ret = u;
        return 0;
}

static int read_etc(int root_fd, const char *path, char **ret)
{
        _cleanup_close_ int fd = chase_open(root_fd, path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
                *ret = NULL;
                return fd == -ENOENT ? 0 : fd;
        }
        return read_full_fd(fd, ETC_FILE_MAX, ret, NULL);
}

int user_resolve(int root_fd, const char *spec, struct user_ids *ret)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        int r;

        if ((r = read_etc(root_fd, "/etc/passwd", &passwd)) < 0 ||
            (r = read_etc(root_fd, "/etc/group", &group)) < 0)
                return err_set(r, "reading the container's /etc/passwd and /etc/group: %s", strerror(-r));
        return user_resolve_text(passwd, group, spec, ret);
}
