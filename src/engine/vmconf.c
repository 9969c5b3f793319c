/* SPDX-License-Identifier: Apache-2.0 */
/* vmconf.c - the first-boot configuration document of a VM's config disk; see vmconf.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vmconf.h"

void vmconf_done(struct vmconf *c)
{
        if (!c)
                return;
        free(c->hostname);
        strv_free(c->ssh_keys);
        strv_free(c->argv);
        strv_free(c->env);
        free(c->workdir);
        free(c->user);
        free(c->ip);
        free(c->gateway);
        free(c->gateway6);
        strv_free(c->dns);
        strv_free(c->nics);
        free(c->resolv_conf);
        free(c->hosts);
        free(c->user_data);
        strv_free(c->mounts);
        free(c->root_fstype);
        *c = (struct vmconf){};
}

static void put(FILE *f, const char *key, const char *value)
{
        if (!value)
                return;
        fputs(key, f);
        fputc(' ', f);
        for (const char *p = value; *p; p++) {
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        }
        fputc('\n', f);
}

static void put_all(FILE *f, const char *key, char *const *values)
{
        STRV_FOREACH (v, (char **)values)
                put(f, key, *v);
}

int vmconf_format(const struct vmconf *c, char **ret, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0, padded;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fputs(VMCONF_MAGIC, f);
        put(f, "hostname", c->hostname);
        put_all(f, "ssh_key", c->ssh_keys);
        put_all(f, "arg", c->argv);
        put_all(f, "env", c->env);
        put(f, "workdir", c->workdir);
        put(f, "user", c->user);
        put(f, "ip", c->ip);
        put(f, "gateway", c->gateway);
        put(f, "gateway6", c->gateway6);
        put_all(f, "dns", c->dns);
        put_all(f, "nic", c->nics);
        put(f, "resolv_conf", c->resolv_conf);
        put(f, "hosts", c->hosts);
        put(f, "user_data", c->user_data);
        put_all(f, "mount", c->mounts);
        put(f, "root_fstype", c->root_fstype);
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        if (len > VMCONF_MAX) {
                free(buf);
                return -E2BIG;
        }
        padded = ALIGN_UP(len, (size_t)4096);
        char *p = realloc(buf, padded);
        if (!p) {
                free(buf);
                return -ENOMEM;
        }
        memset(p + len, 0, padded - len);
        *ret = p;
        *ret_len = padded;
        return 0;
}

/* Undo put()'s escapes in place; -EINVAL on a dangling or unknown escape. */
static int unescape(char *s)
{
        char *w = s;
        for (char *r = s; *r; r++) {
                if (*r != '\\') {
                        *w++ = *r;
                        continue;
                }
                r++;
                if (*r == '\\')
                        *w++ = '\\';
                else if (*r == 'n')
                        *w++ = '\n';
                else
                        return -EINVAL;
        }
        *w = 0;
        return 0;
}

static int set_one(char **field, const char *value)
{
        char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

int vmconf_parse(const char *buf, size_t len, struct vmconf *ret)
{
        struct vmconf c = {};
        const char *end;
        char *doc;
        int r = 0;

        if (len < strlen(VMCONF_MAGIC) || memcmp(buf, VMCONF_MAGIC, strlen(VMCONF_MAGIC)) != 0)
                return -EBADMSG;
        len = MIN(len, (size_t)VMCONF_MAX);
        end = memchr(buf, 0, len);
        doc = strndup(buf + strlen(VMCONF_MAGIC), (size_t)((end ?: buf + len) - buf) - strlen(VMCONF_MAGIC));
        if (!doc)
                return -ENOMEM;
        for (char *line = doc, *next; line && *line && r >= 0; line = next) {
                char *nl = strchr(line, '\n'), *value;
                if (!nl) {
                        r = -EINVAL; /* the last line lacks its newline: a truncated document */
                        break;
                }
                *nl = 0;
                next = nl + 1;
                if (!*line)
                        break;
                value = strchr(line, ' ');
                if (!value) {
                        r = -EINVAL;
                        break;
                }
                *value++ = 0;
                if ((r = unescape(value)) < 0)
                        break;
                if (streq(line, "hostname"))
                        r = set_one(&c.hostname, value);
                else if (streq(line, "ssh_key"))
                        r = strv_extend(&c.ssh_keys, value);
                else if (streq(line, "arg"))
                        r = strv_extend(&c.argv, value);
                else if (streq(line, "env"))
                        r = strv_extend(&c.env, value);
                else if (streq(line, "workdir"))
                        r = set_one(&c.workdir, value);
                else if (streq(line, "user"))
                        r = set_one(&c.user, value);
                else if (streq(line, "ip"))
                        r = set_one(&c.ip, value);
                else if (streq(line, "gateway"))
                        r = set_one(&c.gateway, value);
                else if (streq(line, "gateway6"))
                        r = set_one(&c.gateway6, value);
                else if (streq(line, "dns"))
                        r = strv_extend(&c.dns, value);
                else if (streq(line, "nic"))
                        r = strv_extend(&c.nics, value);
                else if (streq(line, "resolv_conf"))
                        r = set_one(&c.resolv_conf, value);
                else if (streq(line, "hosts"))
                        r = set_one(&c.hosts, value);
                else if (streq(line, "user_data"))
                        r = set_one(&c.user_data, value);
                else if (streq(line, "mount"))
                        r = strv_extend(&c.mounts, value);
                else if (streq(line, "root_fstype"))
                        r = set_one(&c.root_fstype, value);
        }
        free(doc);
        if (r < 0) {
                vmconf_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}
