/* SPDX-License-Identifier: Apache-2.0 */
/* dns.c - the name table and the life of a network's responder; see dns.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

#include "dns.h"
#include "error.h"
#include "log.h"
#include "util.h"

void dns_table_done(struct dns_table *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free(t->records[i].endpoint);
                strv_free(t->records[i].names);
                strv_free(t->records[i].upstreams);
        }
        free(t->records);
        *t = (struct dns_table){};
}

static int split_list(const char *s, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;

        if (!l || !copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                int r = strv_extend(&l, w);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_addr_field(const char *s, int family, struct ipaddr *ret)
{
        if (streq(s, "-")) {
                *ret = (struct ipaddr){};
                return 0;
        }
        if (ipaddr_parse(s, ret) < 0 || ret->family != family)
                return -EINVAL;
        return 0;
}

static int parse_line(char *line, struct dns_record *ret)
{
        char *f[5] = {}, *save = NULL;
        struct dns_record r = {};
        int n = 0;

        for (char *w = strtok_r(line, " \t", &save); w && n < 5; w = strtok_r(NULL, " \t", &save))
                f[n++] = w;
        if (n < 4)
                return -EINVAL;
        if (parse_addr_field(f[1], AF_INET, &r.ip4) < 0 || parse_addr_field(f[2], AF_INET6, &r.ip6) < 0)
                return -EINVAL;
        r.endpoint = strdup(f[0]);
        if (!r.endpoint || split_list(streq(f[3], "-") ? "" : f[3], &r.names) < 0 ||
            split_list(n == 5 ? f[4] : "", &r.upstreams) < 0) {
                free(r.endpoint);
                strv_free(r.names);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

int dns_table_parse(const char *text, struct dns_table *ret)
{
        _cleanup_free_ char *copy = strdup(text);
        struct dns_table t = {};
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct dns_record r;
                struct dns_record *v;

                if (parse_line(line, &r) < 0)
                        continue;
                v = reallocarray(t.records, t.n + 1, sizeof(*v));
                if (!v) {
                        free(r.endpoint);
                        strv_free(r.names);
                        strv_free(r.upstreams);
                        dns_table_done(&t);
                        return -ENOMEM;
                }
                t.records = v;
                t.records[t.n++] = r;
        }
        *ret = t;
        return 0;
}

void dns_record_format(const struct dns_record *r, FILE *f)
{
        char a[IPADDR_STRLEN], b[IPADDR_STRLEN];

        fprintf(f, "%s %s %s ", r->endpoint, ipaddr_is_set(&r->ip4) ? ipaddr_to_string(&r->ip4, a) : "-",
                ipaddr_is_set(&r->ip6) ? ipaddr_to_string(&r->ip6, b) : "-");
        /* A record may carry only upstreams (--dns without a name): "-" keeps the columns. */
        if (strv_length(r->names) == 0)
                fputc('-', f);
        STRV_FOREACH (n, r->names)
                fprintf(f, "%s%s", n == r->names ? "" : ",", *n);
        STRV_FOREACH (u, r->upstreams)
                fprintf(f, "%s%s", u == r->upstreams ? " " : ",", *u);
        fputc('\n', f);
}

size_t dns_table_lookup(const struct dns_table *t, const char *name, int family, struct ipaddr *out,
                        size_t max, size_t *ret_n)
{
        size_t found = 0, n = 0;

        for (size_t i = 0; i < t->n; i++) {
                const struct dns_record *r = &t->records[i];
                const struct ipaddr *a = family == AF_INET ? &r->ip4 : &r->ip6;
                bool match = false;

                STRV_FOREACH (x, r->names)
                        if (strcasecmp(*x, name) == 0)
                                match = true;
                if (!match)
                        continue;
                found++;
                if (ipaddr_is_set(a) && n < max)
                        out[n++] = *a;
        }
        *ret_n = n;
        return found;
}

const struct dns_record *dns_table_by_addr(const struct dns_table *t, const struct ipaddr *a)
{
        for (size_t i = 0; i < t->n; i++)
                if (ipaddr_equal(&t->records[i].ip4, a) || ipaddr_equal(&t->records[i].ip6, a))
                        return &t->records[i];
        return NULL;
}

/* ------------------------------------------------------------------ the table file */

static int dns_dir(const char *netid, char buf[static 128])
{
        if ((size_t)snprintf(buf, 128, "dns/%s", netid) >= 128)
                return -ENAMETOOLONG;
        return 0;
}

/* Rewrite the table without endpoint's line, plus r's line when given. */
static int names_rewrite(struct store *s, const char *netid, const char *endpoint,
                         const struct dns_record *r)
{
        _cleanup_free_ char *old = NULL, *out = NULL;
        char table[128], *save = NULL;
        size_t size = 0, prefix = strlen(endpoint);
        bool found = false;
        FILE *f;
        int k;

        k = dns_dir(netid, table);
        if (k < 0)
                return k;
        k = store_file_read(s, table, "names", &old);
        if (k < 0 && k != -ENOENT)
                return k;
        f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        if (old)
                for (char *line = strtok_r(old, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        if (strncmp(line, endpoint, prefix) == 0 && line[prefix] == ' ') {
                                found = true;
                                continue;
                        }
                        fprintf(f, "%s\n", line);
                }
        if (r)
                dns_record_format(r, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (!r && !found)
                return -ENOENT;
        return store_file_write(s, table, "names", out ? out : "");
}

int dns_names_set(struct store *s, const char *netid, const struct dns_record *r)
{
        return names_rewrite(s, netid, r->endpoint, r);
}

int dns_names_remove(struct store *s, const char *netid, const char *endpoint)
{
        return names_rewrite(s, netid, endpoint, NULL);
}

int dns_names_drop(struct store *s, const char *netid)
{
        char table[128];
        int r;

        r = dns_dir(netid, table);
        if (r < 0)
                return r;
        (void)store_file_remove(s, table, "names");
        (void)store_file_remove(s, table, "pid");
        return store_dir_remove(s, table);
}

/* ------------------------------------------------------------------ the responder process */

static int pid_file_open(struct store *s, const char *netid, int flags)
{
        char dir[128];

        if (dns_dir(netid, dir) < 0)
                return -ENAMETOOLONG;
        return store_file_open(s, dir, "pid", flags);
}

int dns_responder_pid(struct store *s, const char *netid)
{
        _cleanup_close_ int fd = -EBADF;
        char buf[32] = {};
        uint32_t pid;
        ssize_t n;

        fd = pid_file_open(s, netid, O_RDONLY);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        /* The lock is free: nobody serves this network, whatever the file says. */
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                return 0;
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return 0;
        buf[strcspn(buf, "\n")] = 0;
        if (parse_u32(buf, &pid) < 0 || pid == 0 || pid > INT32_MAX)
                return 0;
        return (int)pid;
}

static int wait_ready(int fd, const char *network)
{
        char buf[512];
        size_t len = 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};

        for (;;) {
                ssize_t n;
                int k = poll(&p, 1, 5000);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return err_set(-ETIMEDOUT, "DNS responder of network '%s' did not start within 5 s",
                                       network);
                n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1)
                        break;
        }
        buf[len] = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (streq(buf, "ok"))
                return 0;
        return err_set(-EIO, "DNS responder of network '%s': %s", network,
                       len ? buf : "exited before it was ready");
}

int dns_responder_ensure(struct store *s, const struct dns_responder_config *c)
{
        char dir[128], l4[IPADDR_STRLEN], l6[IPADDR_STRLEN], readyfd[16];
        _cleanup_free_ char *dirpath = NULL;
        int pipefd[2], r, status;
        pid_t pid;

        if (dns_responder_pid(s, c->netid) > 0)
                return 0;
        r = dns_dir(c->netid, dir);
        if (r < 0)
                return r;
        r = store_dir_make(s, dir, &dirpath);
        if (r < 0)
                return r;
        if (access(c->helper, X_OK) < 0)
                return err_set(negative_errno(), "DNS responder '%s' cannot be run: %m", c->helper);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        /* The responder must outlive this (short-lived) process: fork twice so that it is
         * reparented to init (or the nearest subreaper) and never becomes our zombie. */
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                const char *argv[16];
                int a = 0;

                (void)setsid();
                if (fork() != 0)
                        _exit(0);
                if (dup2(pipefd[1], 3) < 0 || fd_cloexec(3, false) < 0)
                        _exit(127);
                /* Nothing of the caller's: its stdout may be a pipe someone waits on for EOF. */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(127);
                (void)close_all_fds(4, NULL, 0);
                snprintf(readyfd, sizeof(readyfd), "%d", 3);
                argv[a++] = c->helper;
                argv[a++] = "--network";
                argv[a++] = c->network;
                argv[a++] = "--dir";
                argv[a++] = dirpath;
                argv[a++] = "--lock";
                argv[a++] = store_lock_path(s);
                argv[a++] = "--ready-fd";
                argv[a++] = readyfd;
                if (c->listen4 && ipaddr_is_set(c->listen4)) {
                        argv[a++] = "--listen";
                        argv[a++] = ipaddr_to_string(c->listen4, l4);
                }
                if (c->listen6 && ipaddr_is_set(c->listen6)) {
                        argv[a++] = "--listen";
                        argv[a++] = ipaddr_to_string(c->listen6, l6);
                }
                if (!c->forward)
                        argv[a++] = "--no-forward";
                argv[a] = NULL;
                execv(c->helper, (char *const *)argv);
                dprintf(3, "cannot execute %s: %m\n", c->helper);
                _exit(127);
        }
        safe_close(pipefd[1]);
        (void)waitpid(pid, &status, 0);
        r = wait_ready(pipefd[0], c->network);
        safe_close(pipefd[0]);
        return r;
}

int dns_responder_stop(struct store *s, const char *netid)
{
        _cleanup_close_ int fd = -EBADF;
        int pid = dns_responder_pid(s, netid);

        if (pid <= 0)
                return 0;
        fd = pid_file_open(s, netid, O_RDONLY);
        if (fd < 0)
                return 0;
        (void)kill(pid, SIGTERM);
        for (int i = 0; i < 200; i++) {
                struct timespec ts = {0, 5 * 1000 * 1000};
                if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                        return 0;
                if (i == 100)
                        (void)kill(pid, SIGKILL);
                nanosleep(&ts, NULL);
        }
        return err_set(-ETIMEDOUT, "DNS responder %d does not stop", pid);
}
