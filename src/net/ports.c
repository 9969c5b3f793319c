/* SPDX-License-Identifier: Apache-2.0 */
/* ports.c - -p / EXPOSE parsing and node-wide host port reservations; see ports.h. */
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "error.h"
#include "netns.h"
#include "ports.h"
#include "util.h"

static const char *const proto_names[_PORT_PROTO_MAX] = {
        [PORT_PROTO_TCP] = "tcp",
        [PORT_PROTO_UDP] = "udp",
        [PORT_PROTO_SCTP] = "sctp",
};

const char *port_proto_to_string(enum port_proto p)
{
        return p >= 0 && p < _PORT_PROTO_MAX ? proto_names[p] : "?";
}

enum port_proto port_proto_from_string(const char *s)
{
        for (int i = 0; i < _PORT_PROTO_MAX; i++)
                if (s && streq(s, proto_names[i]))
                        return (enum port_proto)i;
        return _PORT_PROTO_INVALID;
}

/* "N" or "N-M" with 1 <= N <= M <= 65535 (allow_zero: a lone "0" or "" means "choose"). */
static int parse_range(const char *s, bool allow_zero, uint16_t *lo, uint16_t *hi)
{
        const char *dash = strchr(s, '-');
        char a[8], b[8];
        uint32_t x, y;

        if (allow_zero && (!*s || streq(s, "0"))) {
                *lo = *hi = 0;
                return 0;
        }
        if (dash) {
                size_t n = (size_t)(dash - s);
                if (n == 0 || n >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
                        return -EINVAL;
                memcpy(a, s, n);
                a[n] = 0;
                snprintf(b, sizeof(b), "%s", dash + 1);
        } else {
                if (strlen(s) >= sizeof(a))
                        return -EINVAL;
                snprintf(a, sizeof(a), "%s", s);
                snprintf(b, sizeof(b), "%s", s);
        }
        if (a[0] == '0' || b[0] == '0' || parse_u32(a, &x) < 0 || parse_u32(b, &y) < 0 || x < 1 ||
            y > 65535 || x > y)
                return -EINVAL;
        *lo = (uint16_t)x;
        *hi = (uint16_t)y;
        return 0;
}

static int append(struct port_map **list, size_t *n, const struct port_map *p)
{
        struct port_map *v;

        if (*n >= PORTS_MAX)
                return err_set(-E2BIG, "too many published ports (at most %d)", PORTS_MAX);
        v = reallocarray(*list, *n + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v[(*n)++] = *p;
        *list = v;
        return 0;
}

/* Split "/proto" off a spec; the default is tcp. */
static int split_proto(const char *spec, char *body, size_t size, enum port_proto *ret)
{
        const char *slash = strrchr(spec, '/');
        size_t n = slash ? (size_t)(slash - spec) : strlen(spec);

        if (n >= size)
                return -EINVAL;
        memcpy(body, spec, n);
        body[n] = 0;
        *ret = slash ? port_proto_from_string(slash + 1) : PORT_PROTO_TCP;
        if ((int)*ret < 0)
                return err_set(-EINVAL, "published port '%s': unknown protocol '%s' (tcp, udp or sctp)",
                               spec, slash + 1);
        return 0;
}

static int expand(const char *spec, const struct ipaddr *ip, uint16_t hlo, uint16_t hhi, uint16_t clo,
                  uint16_t chi, enum port_proto proto, struct port_map **list, size_t *n)
{
        unsigned count = (unsigned)chi - clo + 1;

        if (hlo != 0 && (unsigned)hhi - hlo + 1 != count)
                return err_set(-EINVAL,
                               "published port '%s': host ports %u-%u and container ports %u-%u differ in "
                               "length",
                               spec, hlo, hhi, clo, chi);
        for (unsigned i = 0; i < count; i++) {
                struct port_map p = {
                        .host_ip = *ip,
                        .host_port = (uint16_t)(hlo ? hlo + i : 0),
                        .container_port = (uint16_t)(clo + i),
                        .proto = proto,
                };
                int r = append(list, n, &p);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ports_parse(const char *spec, struct port_map **list, size_t *n)
{
        char body[128], ipbuf[IPADDR_STRLEN + 2];
        const char *hostport = NULL, *cport, *rest;
        struct ipaddr ip = {};
        enum port_proto proto;
        uint16_t hlo = 0, hhi = 0, clo, chi;
        char *colon;
        int r;

        if (!spec || !*spec)
                return err_set(-EINVAL, "published port: empty specification");
        r = split_proto(spec, body, sizeof(body), &proto);
        if (r == -EINVAL && !err_has_msg())
                return err_set(r, "published port '%s': too long", spec);
        if (r < 0)
                return r;
        rest = body;
        if (body[0] == '[') {
                const char *end = strchr(body, ']');
                size_t len = end ? (size_t)(end - body - 1) : 0;
                if (!end || end[1] != ':' || len == 0 || len >= sizeof(ipbuf))
                        return err_set(-EINVAL,
                                       "published port '%s': expected [IPV6]:HOSTPORT:CONTAINERPORT", spec);
                memcpy(ipbuf, body + 1, len);
                ipbuf[len] = 0;
                if (ipaddr_parse(ipbuf, &ip) < 0 || ip.family != AF_INET6)
                        return err_set(-EINVAL, "published port '%s': invalid IPv6 address '%s'", spec,
                                       ipbuf);
                rest = end + 2;
                colon = strchr(rest, ':');
                if (!colon)
                        return err_set(-EINVAL,
                                       "published port '%s': expected [IPV6]:HOSTPORT:CONTAINERPORT", spec);
                *colon = 0;
                hostport = rest;
                cport = colon + 1;
        } else {
                char *c1 = strchr(body, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 && strchr(c2 + 1, ':'))
                        return err_set(-EINVAL,
                                       "published port '%s': write an IPv6 host address in brackets "
                                       "([::1]:8080:80)",
                                       spec);
                if (c2) {
                        *c1 = *c2 = 0;
                        if (ipaddr_parse(body, &ip) < 0 || ip.family != AF_INET)
                                return err_set(-EINVAL, "published port '%s': invalid host address '%s'",
                                               spec, body);
                        hostport = c1 + 1;
                        cport = c2 + 1;
                } else if (c1) {
                        *c1 = 0;
                        hostport = body;
                        cport = c1 + 1;
                } else
                        cport = body;
        }
        if (parse_range(cport, false, &clo, &chi) < 0)
                return err_set(-EINVAL, "published port '%s': invalid container port '%s'", spec, cport);
        if (hostport && parse_range(hostport, true, &hlo, &hhi) < 0)
                return err_set(-EINVAL, "published port '%s': invalid host port '%s'", spec, hostport);
        return expand(spec, &ip, hlo, hhi, clo, chi, proto, list, n);
}

int ports_parse_expose(const char *spec, struct port_map **list, size_t *n)
{
        struct ipaddr any = {};
        enum port_proto proto;
        char body[32];
        uint16_t lo, hi;
        int r;

        if (!spec || !*spec)
                return err_set(-EINVAL, "exposed port: empty specification");
        r = split_proto(spec, body, sizeof(body), &proto);
        if (r == -EINVAL && !err_has_msg())
                return err_set(r, "exposed port '%s': too long", spec);
        if (r < 0)
                return r;
        if (parse_range(body, false, &lo, &hi) < 0)
                return err_set(-EINVAL, "exposed port '%s': invalid port", spec);
        return expand(spec, &any, 0, 0, lo, hi, proto, list, n);
}

void port_map_format(const struct port_map *p, FILE *f)
{
        char a[IPADDR_STRLEN];

        if (p->host_ip.family == AF_INET6)
                fprintf(f, "[%s]:", ipaddr_to_string(&p->host_ip, a));
        else if (p->host_ip.family == AF_INET)
                fprintf(f, "%s:", ipaddr_to_string(&p->host_ip, a));
        else
                fputs("0.0.0.0:", f);
        fprintf(f, "%u->%u/%s", p->host_port, p->container_port, port_proto_to_string(p->proto));
}

/* ------------------------------------------------------------------ reservations */

/* The binding as written in a row: "*" (every address), "*4"/"*6" (0.0.0.0 / ::) or an address. */
static void binding_key(const struct ipaddr *ip, char buf[static IPADDR_STRLEN])
{
        if (!ipaddr_is_set(ip))
                snprintf(buf, IPADDR_STRLEN, "*");
        else if (ipaddr_is_any(ip))
                snprintf(buf, IPADDR_STRLEN, "*%c", ip->family == AF_INET ? '4' : '6');
        else
                ipaddr_to_string(ip, buf);
}

static int binding_family(const char *b)
{
        if (streq(b, "*"))
                return AF_UNSPEC;
        if (streq(b, "*4"))
                return AF_INET;
        if (streq(b, "*6"))
                return AF_INET6;
        return strchr(b, ':') ? AF_INET6 : AF_INET;
}

static bool bindings_overlap(const char *a, const char *b)
{
        int fa = binding_family(a), fb = binding_family(b);

        if (fa == AF_UNSPEC || fb == AF_UNSPEC)
                return true;
        if (fa != fb)
                return false;
        return a[0] == '*' || b[0] == '*' || streq(a, b);
}

static void row_key(enum port_proto proto, uint16_t port, char buf[static 32])
{
        snprintf(buf, 32, "%s-%u", port_proto_to_string(proto), port);
}

/* The owner of a binding overlapping b in row text, or NULL. Returns a pointer into a copy. */
static char *row_conflict(const char *row, const char *b)
{
        _cleanup_free_ char *copy = strdup(row);
        char *save = NULL;

        if (!copy)
                return NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');
                if (!sp)
                        continue;
                *sp = 0;
                if (bindings_overlap(line, b))
                        return strdup(sp + 1);
        }
        return NULL;
}

/* bind(2) test: -EADDRINUSE when a host socket holds the port, -EADDRNOTAVAIL for a foreign address. */
static int host_port_free(const struct ipaddr *ip, enum port_proto proto, uint16_t port)
{
        int family = ip->family == AF_INET6 ? AF_INET6 : AF_INET;
        int type = proto == PORT_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
        int protocol = proto == PORT_PROTO_SCTP ? IPPROTO_SCTP : 0;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        _cleanup_close_ int fd = -EBADF;
        int one = 1;
        socklen_t len;

        fd = socket(family, type | SOCK_CLOEXEC, protocol);
        if (fd < 0)
                return errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT ? 0 : negative_errno();
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (family == AF_INET) {
                sa.in.sin_family = AF_INET;
                sa.in.sin_port = htons(port);
                if (ip->family == AF_INET)
                        sa.in.sin_addr = ip->in;
                len = sizeof(sa.in);
        } else {
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons(port);
                sa.in6.sin6_addr = ip->in6;
                len = sizeof(sa.in6);
        }
        if (bind(fd, &sa.sa, len) < 0)
                return negative_errno();
        return 0;
}

static int reserve_one(struct store *s, struct port_map *p, const char *owner)
{
        _cleanup_free_ char *row = NULL, *holder = NULL, *text = NULL;
        char key[32], b[IPADDR_STRLEN], a[IPADDR_STRLEN];
        int r;

        binding_key(&p->host_ip, b);
        row_key(p->proto, p->host_port, key);
        r = store_read(s, "ports", key, &row);
        if (r < 0 && r != -ENOENT)
                return r;
        if (row && (holder = row_conflict(row, b)))
                return err_set(-EADDRINUSE, "host port %u/%s is already published by '%s'", p->host_port,
                               port_proto_to_string(p->proto), holder);
        r = host_port_free(&p->host_ip, p->proto, p->host_port);
        if (r == -EADDRINUSE)
                return err_set(r, "host port %u/%s is already in use on the host", p->host_port,
                               port_proto_to_string(p->proto));
        if (r == -EADDRNOTAVAIL)
                return err_set(r, "host address %s is not an address of this host",
                               ipaddr_to_string(&p->host_ip, a));
        if (r < 0)
                return err_set(r, "cannot check host port %u/%s: %s", p->host_port,
                               port_proto_to_string(p->proto), strerror(-r));
        text = strdup_printf("%s%s %s\n", strempty(row), b, owner);
        if (!text)
                return -ENOMEM;
        return store_write(s, "ports", key, text);
}

static int pick_free_port(struct store *s, struct port_map *p)
{
        _cleanup_free_ char *range = NULL;
        unsigned lo = 32768, hi = 60999, n;
        uint32_t rnd = 0;

        if (sysctl_read("net/ipv4/ip_local_port_range", &range) == 0)
                (void)sscanf(range, "%u %u", &lo, &hi);
        if (lo < 1 || hi > 65535 || lo > hi)
                lo = 32768, hi = 60999;
        n = hi - lo + 1;
        (void)getrandom(&rnd, sizeof(rnd), 0);
        for (unsigned i = 0; i < n; i++) {
                uint16_t port = (uint16_t)(lo + (rnd + i) % n);
                _cleanup_free_ char *row = NULL;
                char key[32];

                row_key(p->proto, port, key);
                if (store_read(s, "ports", key, &row) == 0)
                        continue;
                if (host_port_free(&p->host_ip, p->proto, port) < 0)
                        continue;
                p->host_port = port;
                return 0;
        }
        return err_set(-EADDRINUSE, "no free host port for container port %u/%s", p->container_port,
                       port_proto_to_string(p->proto));
}

/* Remove owner's line for binding b from a row; the row goes when it is empty. */
static void release_one(struct store *s, const struct port_map *p, const char *owner)
{
        _cleanup_free_ char *row = NULL, *out = NULL;
        char key[32], b[IPADDR_STRLEN];
        size_t size = 0;
        FILE *f;
        char *save = NULL;

        binding_key(&p->host_ip, b);
        row_key(p->proto, p->host_port, key);
        if (store_read(s, "ports", key, &row) < 0)
                return;
        f = open_memstream(&out, &size);
        if (!f)
                return;
        for (char *line = strtok_r(row, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');
                if (sp && (size_t)(sp - line) == strlen(b) && strncmp(line, b, strlen(b)) == 0 &&
                    streq(sp + 1, owner))
                        continue;
                fprintf(f, "%s\n", line);
        }
        if (fclose(f) != 0)
                return;
        if (size == 0)
                (void)store_remove(s, "ports", key);
        else
                (void)store_write(s, "ports", key, out);
}

/* Reserve one binding, picking its host port first when it has none; unchanged on failure. */
static int reserve_slot(struct store *s, struct port_map *p, const char *owner)
{
        bool picked = false;
        int r;

        if (p->host_port == 0) {
                r = pick_free_port(s, p);
                if (r < 0)
                        return r;
                picked = true;
        }
        r = reserve_one(s, p, owner);
        if (r < 0 && picked)
                p->host_port = 0;
        return r;
}

int ports_reserve(struct store *s, struct port_map *list, size_t n, const char *owner)
{
        for (size_t i = 0; i < n; i++) {
                int r = reserve_slot(s, &list[i], owner);
                if (r < 0) {
                        ports_release(s, list, i, owner);
                        return r;
                }
        }
        return 0;
}

void ports_release(struct store *s, const struct port_map *list, size_t n, const char *owner)
{
        for (size_t i = 0; i < n; i++)
                if (list[i].host_port != 0)
                        release_one(s, &list[i], owner);
}

int ports_release_owner_all(struct store *s, const char *owner)
{
        _cleanup_strv_free_ char **keys = NULL;
        int r;

        r = store_keys(s, "ports", &keys);
        if (r < 0)
                return r;
        STRV_FOREACH (k, keys) {
                _cleanup_free_ char *row = NULL, *out = NULL;
                size_t size = 0;
                char *save = NULL;
                bool changed = false;
                FILE *f;

                if (store_read(s, "ports", *k, &row) < 0)
                        continue;
                f = open_memstream(&out, &size);
                if (!f)
                        return -ENOMEM;
                for (char *line = strtok_r(row, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        char *sp = strchr(line, ' ');
                        if (sp && streq(sp + 1, owner)) {
                                changed = true;
                                continue;
                        }
                        fprintf(f, "%s\n", line);
                }
                if (fclose(f) != 0)
                        return -ENOMEM;
                if (!changed)
                        continue;
                if (size == 0)
                        (void)store_remove(s, "ports", *k);
                else
                        (void)store_write(s, "ports", *k, out);
        }
        return 0;
}
