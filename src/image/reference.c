/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reference.c - image reference parsing and normalisation; see reference.h.
 *
 * The parser splits from the right: "@digest" first, then ":tag" only when the
 * colon comes after the last slash (so that "localhost:5000/x" keeps its
 * port), then the domain when the first component looks like a host.
 */
#include <ctype.h>

#include "error.h"
#include "reference.h"
#include "sha256.h"
#include "util.h"

#define NAME_MAX_TOTAL 255
#define TAG_MAX        128

void image_ref_free(struct image_ref *r)
{
        if (!r)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r);
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )* */
static bool component_is_valid(const char *s, size_t n)
{
        size_t i = 0;

        if (n == 0 || !is_lower_alnum(s[0]))
                return false;
        while (i < n) {
                if (is_lower_alnum(s[i])) {
                        i++;
                        continue;
                }
                /* A separator: ".", "_", "__" or a run of "-", followed by an alnum. */
                if (s[i] == '.' || s[i] == '_') {
                        if (s[i] == '_' && i + 1 < n && s[i + 1] == '_')
                                i++;
                        i++;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else
                        return false;
                if (i >= n || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

static bool domain_is_valid(const char *s)
{
        const char *colon = strrchr(s, ':');
        size_t hostlen = colon ? (size_t)(colon - s) : strlen(s);

        if (hostlen == 0)
                return false;
        if (s[0] == '[') { /* an IPv6 literal: "[::1]:5000" */
                const char *end = strchr(s, ']');
                if (!end)
                        return false;
                colon = end[1] == ':' ? end + 1 : NULL;
                if (end[1] && !colon)
                        return false;
        } else {
                for (size_t i = 0; i < hostlen; i++)
                        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
                                return false;
        }
        if (colon) {
                uint32_t port;
                if (parse_u32(colon + 1, &port) < 0 || port == 0 || port > 65535)
                        return false;
        }
        return true;
}

bool image_ref_tag_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > TAG_MAX)
                return false;
        if (!isalnum((unsigned char)s[0]) && s[0] != '_')
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

bool image_ref_is_id_prefix(const char *s)
{
        const char *h = startswith(s, "sha256:") ?: s;
        size_t n = strlen(h);

        if (n < 3 || n > SHA256_HEX_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return false;
        return true;
}

int image_ref_parse(const char *s, struct image_ref **ret)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ char *domain = NULL, *path = NULL, *tag = NULL, *digest = NULL;
        char *at, *colon, *slash, *name;
        struct image_ref *r;

        if (!s || !*s)
                return err_set(-EINVAL, "invalid reference '': empty");
        buf = strdup(s);
        if (!buf)
                return -ENOMEM;
        at = strchr(buf, '@');
        if (at) {
                *at = 0;
                if (!digest_is_valid(at + 1))
                        return err_set(-EINVAL, "invalid reference '%s': digest must be sha256:<64 hex digits>", s);
                digest = strdup(at + 1);
                if (!digest)
                        return -ENOMEM;
        }
        slash = strrchr(buf, '/');
        colon = strrchr(buf, ':');
        if (colon && (!slash || colon > slash)) {
                *colon = 0;
                if (!image_ref_tag_is_valid(colon + 1))
                        return err_set(-EINVAL, "invalid reference '%s': invalid tag '%s'", s, colon + 1);
                tag = strdup(colon + 1);
                if (!tag)
                        return -ENOMEM;
        }
        name = buf;
        slash = strchr(name, '/');
        if (slash) {
                *slash = 0;
                if (strchr(name, '.') || strchr(name, ':') || streq(name, "localhost") || name[0] == '[') {
                        if (!domain_is_valid(name))
                                return err_set(-EINVAL, "invalid reference '%s': invalid registry '%s'", s, name);
                        domain = strdup(name);
                        name = slash + 1;
                } else
                        *slash = '/';
        }
        if (!domain) {
                domain = strdup("docker.io");
                if (!domain)
                        return -ENOMEM;
        }
        if (streq(domain, "index.docker.io")) {
                free(domain);
                domain = strdup("docker.io");
                if (!domain)
                        return -ENOMEM;
        }
        if (!*name)
                return err_set(-EINVAL, "invalid reference '%s': missing repository name", s);
        for (const char *p = name;;) {
                size_t n = strcspn(p, "/");
                if (!component_is_valid(p, n)) {
                        for (size_t i = 0; i < n; i++)
                                if (isupper((unsigned char)p[i]))
                                        return err_set(-EINVAL, "invalid reference '%s': repository name must be lowercase", s);
                        return err_set(-EINVAL, "invalid reference '%s': invalid repository name component '%.*s'", s,
                                       (int)n, p);
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        if (streq(domain, "docker.io") && !strchr(name, '/'))
                path = strdup_printf("library/%s", name);
        else
                path = strdup(name);
        if (!path)
                return -ENOMEM;
        if (strlen(domain) + 1 + strlen(path) > NAME_MAX_TOTAL)
                return err_set(-EINVAL, "invalid reference '%s': name longer than %d characters", s, NAME_MAX_TOTAL);
        if (!tag && !digest) {
                tag = strdup("latest");
                if (!tag)
                        return -ENOMEM;
        }
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->domain = TAKE_PTR(domain);
        r->path = TAKE_PTR(path);
        r->tag = TAKE_PTR(tag);
        r->digest = TAKE_PTR(digest);
        *ret = r;
        return 0;
}

char *image_ref_name(const struct image_ref *r)
{
        return strdup_printf("%s/%s", r->domain, r->path);
}

char *image_ref_string(const struct image_ref *r)
{
        return strdup_printf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", strempty(r->tag),
                             r->digest ? "@" : "", strempty(r->digest));
}

const char *image_ref_registry_host(const struct image_ref *r)
{
        return streq(r->domain, "docker.io") ? "registry-1.docker.io" : r->domain;
}
