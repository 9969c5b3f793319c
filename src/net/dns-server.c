/* SPDX-License-Identifier: Apache-2.0 */
/* dns-server.c - the responder's loop: local answers, UDP/TCP forwarding; see dns-server.h. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "dns-packet.h"
#include "dns-server.h"
#include "dns.h"
#include "error.h"
#include "hosts.h"
#include "log.h"
#include "util.h"

#define UP_UDP_TIMEOUT_MS 2000
#define UP_TCP_TIMEOUT_MS 4000
#define TCP_IDLE_MS       10000
#define IDLE_CHECK_MS     1000
#define MAX_UPSTREAMS     4
#define NOBODY            65534

union sa {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_storage ss;
};

enum job_state {
        JOB_FREE,
        JOB_TCP_READ,   /* reading a question from a TCP client */
        JOB_TCP_WRITE,  /* writing an answer to a TCP client */
        JOB_UP_UDP,     /* waiting for an upstream's UDP answer */
        JOB_UP_CONNECT, /* TCP connect to an upstream in progress */
        JOB_UP_WRITE,   /* writing the question to the upstream */
        JOB_UP_READ,    /* reading the upstream's answer */
};

struct job {
        enum job_state state;
        bool tcp;
        int client_fd;
        int listen_idx;
        union sa peer;
        socklen_t peer_len;
        struct ipaddr peer_ip;
        uint8_t *msg; /* the question (TCP: after its length bytes) */
        size_t msg_len;
        size_t got; /* TCP read progress, length bytes included */
        uint8_t lenbuf[2];
        uint16_t client_id, up_id;
        int up_fd;
        struct ipaddr servers[MAX_UPSTREAMS];
        size_t n_servers, server;
        uint8_t *out; /* bytes to write, on client_fd (TCP_WRITE) or up_fd (UP_WRITE) */
        size_t out_len, out_off;
        uint64_t deadline;
};

struct server {
        const struct dns_server_config *c;
        int udp[2], tcp[2];
        struct job jobs[DNS_SERVER_JOBS];
        struct dns_table table;
        struct stat table_st;
        struct resolv_conf host;
        struct stat host_st;
        uint64_t idle_since, next_idle_check;
        uint8_t rbuf[DNS_MSG_MAX];
        uint8_t wbuf[DNS_MSG_MAX + 2];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
        stop_requested = 1;
}


static socklen_t sa_from_ip(const struct ipaddr *a, uint16_t port, union sa *ret)
{
        *ret = (union sa){};
        if (a->family == AF_INET) {
                ret->in.sin_family = AF_INET;
                ret->in.sin_port = htons(port);
                ret->in.sin_addr = a->in;
                return sizeof(ret->in);
        }
        ret->in6.sin6_family = AF_INET6;
        ret->in6.sin6_port = htons(port);
        ret->in6.sin6_addr = a->in6;
        return sizeof(ret->in6);
}

static struct ipaddr ip_from_sa(const union sa *s)
{
        struct ipaddr a = {};

        if (s->sa.sa_family == AF_INET) {
                a.family = AF_INET;
                a.in = s->in.sin_addr;
        } else if (s->sa.sa_family == AF_INET6) {
                a.family = AF_INET6;
                a.in6 = s->in6.sin6_addr;
                /* A v4-mapped client (dual-stack socket) is its IPv4 address. */
                if (IN6_IS_ADDR_V4MAPPED(&a.in6)) {
                        struct in_addr v4;
                        memcpy(&v4, a.bytes + 12, 4);
                        a = (struct ipaddr){.family = AF_INET, .in = v4};
                }
        }
        return a;
}

/* ------------------------------------------------------------------ table and resolvers */

static bool stat_changed(const struct stat *a, const struct stat *b)
{
        return a->st_ino != b->st_ino || a->st_size != b->st_size ||
               a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

static void table_refresh(struct server *srv)
{
        _cleanup_free_ char *text = NULL;
        struct dns_table t;
        struct stat st;

        if (fstatat(srv->c->dir_fd, "names", &st, 0) < 0) {
                dns_table_done(&srv->table);
                srv->table_st = (struct stat){};
                return;
        }
        if (!stat_changed(&st, &srv->table_st))
                return;
        if (read_full_file_at(srv->c->dir_fd, "names", DNS_TABLE_MAX, &text, NULL) < 0 ||
            dns_table_parse(text, &t) < 0)
                return;
        dns_table_done(&srv->table);
        srv->table = t;
        srv->table_st = st;
}

static void host_refresh(struct server *srv)
{
        _cleanup_free_ char *text = NULL;
        struct resolv_conf rc;
        struct stat st;

        if (stat(srv->c->resolv_conf, &st) < 0 || !stat_changed(&st, &srv->host_st))
                return;
        if (read_full_file(srv->c->resolv_conf, 64 * 1024, &text, NULL) < 0 ||
            resolv_conf_parse(text, &rc) < 0)
                return;
        resolv_conf_done(&srv->host);
        srv->host = rc;
        srv->host_st = st;
}

static bool is_listen_addr(struct server *srv, const struct ipaddr *a)
{
        for (size_t i = 0; i < srv->c->n_listen; i++)
                if (ipaddr_equal(&srv->c->listen[i], a))
                        return true;
        return false;
}

/* The client's own --dns servers, or the host's; never ourselves (that would loop). */
static void pick_upstreams(struct server *srv, struct job *j)
{
        const struct dns_record *rec = dns_table_by_addr(&srv->table, &j->peer_ip);
        char **list;

        host_refresh(srv);
        list = rec && strv_length(rec->upstreams) > 0 ? rec->upstreams : srv->host.nameservers;
        j->n_servers = 0;
        STRV_FOREACH (s, list) {
                struct ipaddr a;
                if (j->n_servers == MAX_UPSTREAMS)
                        break;
                if (ipaddr_parse(*s, &a) < 0 || is_listen_addr(srv, &a))
                        continue;
                j->servers[j->n_servers++] = a;
        }
}

/* ------------------------------------------------------------------ jobs */

static struct job *job_new(struct server *srv)
{
        for (size_t i = 0; i < DNS_SERVER_JOBS; i++)
                if (srv->jobs[i].state == JOB_FREE) {
                        struct job *j = &srv->jobs[i];
                        *j = (struct job){.client_fd = -EBADF, .up_fd = -EBADF, .state = JOB_TCP_READ};
                        return j;
                }
        return NULL;
}

static void job_set_peer(struct job *j, bool tcp, int listen_idx, const union sa *peer, socklen_t len)
{
        j->tcp = tcp;
        j->listen_idx = listen_idx;
        j->peer = *peer;
        j->peer_len = len;
        j->peer_ip = ip_from_sa(peer);
}

static void job_free(struct job *j)
{
        safe_close(j->client_fd);
        safe_close(j->up_fd);
        free(j->msg);
        free(j->out);
        *j = (struct job){.state = JOB_FREE, .client_fd = -EBADF, .up_fd = -EBADF};
}

static void tcp_next_question(struct job *j)
{
        j->up_fd = safe_close(j->up_fd);
        free(j->msg);
        free(j->out);
        j->msg = j->out = NULL;
        j->msg_len = j->got = j->out_len = j->out_off = 0;
        j->state = JOB_TCP_READ;
        j->deadline = now_ms() + TCP_IDLE_MS;
}

/* Hand an answer to the client: at once over UDP, queued over TCP. Consumes the job over UDP. */
static void deliver(struct server *srv, struct job *j, const uint8_t *msg, size_t len)
{
        if (!j->tcp) {
                (void)sendto(srv->udp[j->listen_idx], msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, &j->peer.sa,
                             j->peer_len);
                job_free(j);
                return;
        }
        free(j->out);
        j->out = malloc(len + 2);
        if (!j->out) {
                job_free(j);
                return;
        }
        j->out[0] = (uint8_t)(len >> 8);
        j->out[1] = (uint8_t)len;
        memcpy(j->out + 2, msg, len);
        j->out_len = len + 2;
        j->out_off = 0;
        j->up_fd = safe_close(j->up_fd);
        j->state = JOB_TCP_WRITE;
        j->deadline = now_ms() + TCP_IDLE_MS;
}

static void reply_error(struct server *srv, struct job *j, const struct dns_query *q, int rcode)
{
        int n = dns_error_build(j->msg, j->msg_len, q, rcode, srv->wbuf, sizeof(srv->wbuf));
        if (n > 0)
                deliver(srv, j, srv->wbuf, (size_t)n);
        else
                job_free(j);
}

/* Try the upstream servers from j->server on; SERVFAIL when none is left. */
static void start_attempt(struct server *srv, struct job *j)
{
        struct dns_query q = {.id = j->client_id};

        for (; j->server < j->n_servers; j->server++) {
                const struct ipaddr *a = &j->servers[j->server];
                union sa sa;
                socklen_t len = sa_from_ip(a, 53, &sa);
                int fd;

                j->up_fd = safe_close(j->up_fd);
                fd = socket(a->family, (j->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            0);
                if (fd < 0)
                        continue;
                j->up_fd = fd;
                if (connect(fd, &sa.sa, len) < 0 && errno != EINPROGRESS)
                        continue;
                if (getrandom(&j->up_id, sizeof(j->up_id), 0) != sizeof(j->up_id))
                        j->up_id = (uint16_t)random();
                j->msg[0] = (uint8_t)(j->up_id >> 8);
                j->msg[1] = (uint8_t)j->up_id;
                if (!j->tcp) {
                        if (send(fd, j->msg, j->msg_len, MSG_NOSIGNAL) < 0)
                                continue;
                        j->state = JOB_UP_UDP;
                        j->deadline = now_ms() + UP_UDP_TIMEOUT_MS;
                } else {
                        j->state = JOB_UP_CONNECT;
                        j->deadline = now_ms() + UP_TCP_TIMEOUT_MS;
                }
                return;
        }
        j->up_fd = safe_close(j->up_fd);
        j->msg[0] = (uint8_t)(j->client_id >> 8);
        j->msg[1] = (uint8_t)j->client_id;
        (void)dns_query_parse(j->msg, j->msg_len, &q);
        reply_error(srv, j, &q, DNS_RCODE_SERVFAIL);
}

/* The answer from the name table, or 0 when the name is not ours. */
static int answer_local(struct server *srv, const uint8_t *msg, size_t len, const struct dns_query *q,
                        size_t max)
{
        struct dns_answer ans[64];
        struct ipaddr addrs[64];
        size_t n = 0, found = 0, got;

        if (!q->plain || q->qclass != DNS_CLASS_IN)
                return 0;
        if (q->qtype == DNS_TYPE_PTR) {
                struct ipaddr a;
                const struct dns_record *r;
                if (dns_ptr_name_to_addr(q->name, &a) < 0 || !(r = dns_table_by_addr(&srv->table, &a)) ||
                    strv_length(r->names) == 0)
                        return 0;
                ans[0] = (struct dns_answer){.type = DNS_TYPE_PTR, .ptr = r->names[0]};
                return dns_response_build(msg, len, q, DNS_RCODE_NOERROR, true, ans, 1, DNS_SERVER_TTL,
                                          srv->wbuf, max);
        }
        for (int fam = 0; fam < 2; fam++) {
                int family = fam == 0 ? AF_INET : AF_INET6;
                uint16_t type = family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
                bool wanted = q->qtype == type || q->qtype == DNS_TYPE_ANY;

                found += dns_table_lookup(&srv->table, q->name, family, addrs + n, ELEMENTSOF(addrs) - n,
                                          &got);
                if (!wanted)
                        continue;
                for (size_t i = n; i < n + got; i++)
                        ans[i] = (struct dns_answer){.type = type, .addr = addrs[i]};
                n += got;
        }
        if (found == 0)
                return 0;
        /* Our name, maybe without an address of the asked type: NOERROR with no answer (NODATA). */
        return dns_response_build(msg, len, q, DNS_RCODE_NOERROR, true, ans, n, DNS_SERVER_TTL, srv->wbuf,
                                  max);
}

/* A complete question in j->msg: answer it, forward it, or refuse it. */
static void question(struct server *srv, struct job *j)
{
        struct dns_query q;
        size_t max;
        int r;

        r = dns_query_parse(j->msg, j->msg_len, &q);
        if (r == -EBADMSG) {
                if (j->tcp)
                        tcp_next_question(j);
                else
                        job_free(j);
                return;
        }
        if (r < 0) {
                reply_error(srv, j, &q, r == -EOPNOTSUPP ? DNS_RCODE_NOTIMP : DNS_RCODE_FORMERR);
                return;
        }
        table_refresh(srv);
        max = j->tcp ? DNS_MSG_MAX : q.udp_size;
        r = answer_local(srv, j->msg, j->msg_len, &q, max);
        if (r > 0) {
                deliver(srv, j, srv->wbuf, (size_t)r);
                return;
        }
        if (!srv->c->forward) {
                reply_error(srv, j, &q, DNS_RCODE_NXDOMAIN);
                return;
        }
        j->client_id = q.id;
        pick_upstreams(srv, j);
        j->server = 0;
        start_attempt(srv, j);
}

static void on_udp(struct server *srv, int idx)
{
        for (int burst = 0; burst < 64; burst++) {
                union sa peer;
                socklen_t plen = sizeof(peer);
                ssize_t n =
                        recvfrom(srv->udp[idx], srv->rbuf, sizeof(srv->rbuf), MSG_DONTWAIT, &peer.sa, &plen);
                struct job *j;

                if (n < 0)
                        return;
                j = job_new(srv);
                if (!j) {
                        /* Too many questions in flight: refuse this one at once. */
                        struct dns_query q;
                        int m;
                        (void)dns_query_parse(srv->rbuf, (size_t)n, &q);
                        m = dns_error_build(srv->rbuf, (size_t)n, &q, DNS_RCODE_REFUSED, srv->wbuf,
                                            sizeof(srv->wbuf));
                        if (m > 0)
                                (void)sendto(srv->udp[idx], srv->wbuf, (size_t)m, MSG_DONTWAIT, &peer.sa,
                                             plen);
                        continue;
                }
                job_set_peer(j, false, idx, &peer, plen);
                j->msg = malloc((size_t)n ? (size_t)n : 1);
                if (!j->msg) {
                        job_free(j);
                        return;
                }
                memcpy(j->msg, srv->rbuf, (size_t)n);
                j->msg_len = (size_t)n;
                question(srv, j);
        }
}

static void on_accept(struct server *srv, int idx)
{
        union sa peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(srv->tcp[idx], &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct job *j;

        if (fd < 0)
                return;
        j = job_new(srv);
        if (!j) {
                close(fd);
                return;
        }
        job_set_peer(j, true, idx, &peer, plen);
        j->client_fd = fd;
        j->deadline = now_ms() + TCP_IDLE_MS;
}

/* Read what is there of the TCP question: > 0 bytes read, 0 nothing yet, < 0 the client left. */
static ssize_t tcp_read(struct job *j, void *buf, size_t len)
{
        ssize_t n = read(j->client_fd, buf, len);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return -1;
        return n < 0 ? 0 : n;
}

static void on_tcp_read(struct server *srv, struct job *j)
{
        for (;;) {
                bool length = j->got < 2;
                ssize_t n = length ? tcp_read(j, j->lenbuf + j->got, 2 - j->got)
                                   : tcp_read(j, j->msg + (j->got - 2), j->msg_len - (j->got - 2));

                if (n < 0) {
                        job_free(j);
                        return;
                }
                if (n == 0)
                        return;
                j->got += (size_t)n;
                if (length && j->got == 2) {
                        j->msg_len = (size_t)(j->lenbuf[0] << 8 | j->lenbuf[1]);
                        j->msg = malloc(j->msg_len ? j->msg_len : 1);
                        if (!j->msg || j->msg_len < DNS_HEADER_SIZE) {
                                job_free(j);
                                return;
                        }
                } else if (!length && j->got - 2 == j->msg_len) {
                        question(srv, j);
                        return;
                }
        }
}

/* Write j->out to fd; true when all of it is written. Closes the job on errors. */
static bool flush_out(struct job *j, int fd, bool *failed)
{
        while (j->out_off < j->out_len) {
                ssize_t n =
                        send(fd, j->out + j->out_off, j->out_len - j->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return false;
                if (n <= 0) {
                        *failed = true;
                        return false;
                }
                j->out_off += (size_t)n;
        }
        return true;
}

static void on_tcp_write(struct job *j)
{
        bool failed = false;

        if (flush_out(j, j->client_fd, &failed))
                tcp_next_question(j);
        else if (failed)
                job_free(j);
}

static void next_server(struct server *srv, struct job *j)
{
        j->up_fd = safe_close(j->up_fd);
        free(j->out);
        j->out = NULL;
        j->out_len = j->out_off = 0;
        j->server++;
        start_attempt(srv, j);
}

static void on_upstream(struct server *srv, struct job *j)
{
        bool failed = false;
        ssize_t n;

        switch (j->state) {
        case JOB_UP_UDP:
                n = recv(j->up_fd, srv->rbuf, sizeof(srv->rbuf), MSG_DONTWAIT);
                if (n < 0) {
                        /* ICMP port unreachable shows as ECONNREFUSED on a connected socket. */
                        if (errno != EAGAIN && errno != EINTR)
                                next_server(srv, j);
                        return;
                }
                if (dns_response_check(srv->rbuf, (size_t)n, j->up_id) < 0)
                        return;
                srv->rbuf[0] = (uint8_t)(j->client_id >> 8);
                srv->rbuf[1] = (uint8_t)j->client_id;
                deliver(srv, j, srv->rbuf, (size_t)n);
                return;
        case JOB_UP_CONNECT: {
                int err = 0;
                socklen_t l = sizeof(err);
                if (getsockopt(j->up_fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err != 0) {
                        next_server(srv, j);
                        return;
                }
                j->out = malloc(j->msg_len + 2);
                if (!j->out) {
                        job_free(j);
                        return;
                }
                j->out[0] = (uint8_t)(j->msg_len >> 8);
                j->out[1] = (uint8_t)j->msg_len;
                memcpy(j->out + 2, j->msg, j->msg_len);
                j->out_len = j->msg_len + 2;
                j->out_off = 0;
                j->state = JOB_UP_WRITE;
        }
                __attribute__((fallthrough));
        case JOB_UP_WRITE:
                if (!flush_out(j, j->up_fd, &failed)) {
                        if (failed)
                                next_server(srv, j);
                        return;
                }
                free(j->out);
                j->out = NULL;
                j->out_len = j->out_off = 0;
                j->state = JOB_UP_READ;
                return;
        case JOB_UP_READ: {
                /* The answer is read into out[] (length bytes included) until complete. */
                size_t want;
                if (!j->out) {
                        j->out = malloc(DNS_MSG_MAX + 2);
                        if (!j->out) {
                                job_free(j);
                                return;
                        }
                        j->out_len = 0;
                }
                want = j->out_len < 2 ? 2 : 2 + (size_t)(j->out[0] << 8 | j->out[1]);
                n = read(j->up_fd, j->out + j->out_len, want - j->out_len);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        next_server(srv, j);
                        return;
                }
                if (n < 0)
                        return;
                j->out_len += (size_t)n;
                if (j->out_len < 2 || j->out_len < 2 + (size_t)(j->out[0] << 8 | j->out[1]))
                        return;
                if (dns_response_check(j->out + 2, j->out_len - 2, j->up_id) < 0) {
                        next_server(srv, j);
                        return;
                }
                j->out[2] = (uint8_t)(j->client_id >> 8);
                j->out[3] = (uint8_t)j->client_id;
                memcpy(srv->rbuf, j->out + 2, j->out_len - 2);
                deliver(srv, j, srv->rbuf, j->out_len - 2);
                return;
        }
        default:
                return;
        }
}

static void on_timeout(struct server *srv, struct job *j)
{
        if (j->state == JOB_TCP_READ || j->state == JOB_TCP_WRITE)
                job_free(j);
        else
                next_server(srv, j);
}

/* ------------------------------------------------------------------ setup and loop */

static int bind_sockets(struct server *srv, char *why, size_t why_size)
{
        const struct dns_server_config *c = srv->c;

        for (size_t i = 0; i < c->n_listen; i++) {
                const struct ipaddr *a = &c->listen[i];
                int one = 1, level = a->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
                int freebind = a->family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND;
                char s[IPADDR_STRLEN];
                union sa sa;
                socklen_t len = sa_from_ip(a, c->port, &sa);

                for (int t = 0; t < 2; t++) {
                        int fd = socket(a->family,
                                        (t == 0 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                        0);
                        if (fd < 0)
                                return negative_errno();
                        (t == 0 ? srv->udp : srv->tcp)[i] = fd;
                        /* TCP only: a restart must not wait for TIME_WAIT; on UDP the option
                         * would let a second responder share the port and split the questions. */
                        if (t == 1)
                                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                        /* The gateway address may still be on its way to the bridge after a reboot. */
                        (void)setsockopt(fd, level, freebind, &one, sizeof(one));
                        if (a->family == AF_INET6)
                                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                        if (bind(fd, &sa.sa, len) < 0 || (t == 1 && listen(fd, 64) < 0)) {
                                int r = negative_errno();
                                snprintf(why, why_size, "cannot listen on %s port %u/%s: %s",
                                         ipaddr_to_string(a, s), c->port, t == 0 ? "udp" : "tcp",
                                         strerror(-r));
                                return r;
                        }
                }
        }
        return 0;
}

static int drop_privileges(char *why, size_t why_size)
{
        if (geteuid() != 0)
                return 0;
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                int r = negative_errno();
                snprintf(why, why_size, "cannot drop privileges: %s", strerror(-r));
                return r;
        }
        return 0;
}

/* After an empty table for idle_sec: leave, but only while holding the store lock, so that no
 * attach can be registering a name (and counting on us) at that moment. */
static bool idle_exit(struct server *srv, uint64_t now)
{
        if (srv->c->idle_sec == 0 || srv->c->lock_fd < 0 || now < srv->next_idle_check)
                return false;
        srv->next_idle_check = now + IDLE_CHECK_MS;
        table_refresh(srv);
        if (srv->table.n > 0) {
                srv->idle_since = 0;
                return false;
        }
        if (srv->idle_since == 0)
                srv->idle_since = now;
        if (now - srv->idle_since < (uint64_t)srv->c->idle_sec * 1000)
                return false;
        for (size_t i = 0; i < DNS_SERVER_JOBS; i++)
                if (srv->jobs[i].state != JOB_FREE)
                        return false;
        if (flock(srv->c->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return false;
        table_refresh(srv);
        if (srv->table.n == 0)
                return true; /* the lock is released by our exit */
        (void)flock(srv->c->lock_fd, LOCK_UN);
        srv->idle_since = 0;
        return false;
}

static void report(int fd, const char *msg)
{
        if (fd >= 0) {
                (void)write_all(fd, msg, strlen(msg));
                (void)write_all(fd, "\n", 1);
                close(fd);
        }
}

static int serve(struct server *srv)
{
        struct pollfd pfd[4 + 2 * DNS_SERVER_JOBS];
        struct job *owner[4 + 2 * DNS_SERVER_JOBS];
        sigset_t empty;

        sigemptyset(&empty);
        while (!stop_requested) {
                uint64_t now = now_ms(), next = now + IDLE_CHECK_MS;
                struct timespec ts;
                size_t n = 0;
                int k;

                for (size_t i = 0; i < srv->c->n_listen; i++) {
                        pfd[n] = (struct pollfd){.fd = srv->udp[i], .events = POLLIN};
                        owner[n++] = NULL;
                        pfd[n] = (struct pollfd){.fd = srv->tcp[i], .events = POLLIN};
                        owner[n++] = NULL;
                }
                for (size_t i = 0; i < DNS_SERVER_JOBS; i++) {
                        struct job *j = &srv->jobs[i];
                        if (j->state == JOB_FREE)
                                continue;
                        if (j->deadline <= now) {
                                on_timeout(srv, j);
                                if (j->state == JOB_FREE)
                                        continue;
                        }
                        next = MIN(next, j->deadline);
                        if (j->state == JOB_TCP_READ || j->state == JOB_TCP_WRITE)
                                pfd[n] = (struct pollfd){.fd = j->client_fd,
                                                         .events = j->state == JOB_TCP_READ ? POLLIN
                                                                                            : POLLOUT};
                        else
                                pfd[n] = (struct pollfd){.fd = j->up_fd,
                                                         .events = j->state == JOB_UP_UDP ||
                                                                                   j->state == JOB_UP_READ
                                                                           ? POLLIN
                                                                           : POLLOUT};
                        owner[n++] = j;
                }
                ts.tv_sec = (time_t)((next - now) / 1000);
                ts.tv_nsec = (long)((next - now) % 1000) * 1000000;
                k = ppoll(pfd, n, &ts, &empty);
                if (k < 0 && errno != EINTR)
                        return negative_errno();
                for (size_t i = 0; k > 0 && i < n; i++) {
                        struct job *j = owner[i];
                        if (!pfd[i].revents)
                                continue;
                        if (!j) {
                                int idx = (int)(i / 2);
                                if (i % 2 == 0)
                                        on_udp(srv, idx);
                                else
                                        on_accept(srv, idx);
                        } else if (j->state == JOB_TCP_READ && pfd[i].fd == j->client_fd)
                                on_tcp_read(srv, j);
                        else if (j->state == JOB_TCP_WRITE && pfd[i].fd == j->client_fd)
                                on_tcp_write(j);
                        else if (j->state >= JOB_UP_UDP && pfd[i].fd == j->up_fd)
                                on_upstream(srv, j);
                }
                if (idle_exit(srv, now_ms()))
                        break;
        }
        return 0;
}

int dns_server_run(const struct dns_server_config *c)
{
        _cleanup_close_ int pid_fd = -EBADF;
        struct server *srv;
        struct sigaction sa = {.sa_handler = on_signal};
        sigset_t block;
        char why[256] = "", pid[32];
        int r;

        if (c->n_listen == 0 || c->n_listen > 2) {
                report(c->ready_fd, "no listen address");
                return -EINVAL;
        }
        /* Liveness is this lock (dns.h); a second responder for the network just steps back. */
        pid_fd = openat(c->dir_fd, "pid", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (pid_fd < 0) {
                r = negative_errno();
                snprintf(why, sizeof(why), "cannot open its pid file: %s", strerror(-r));
                report(c->ready_fd, why);
                return r;
        }
        if (flock(pid_fd, LOCK_EX | LOCK_NB) < 0) {
                report(c->ready_fd, "ok");
                return 0;
        }
        snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(pid_fd, 0) < 0 || pwrite(pid_fd, pid, strlen(pid), 0) < 0) {
                report(c->ready_fd, "cannot write its pid file");
                return -EIO;
        }

        srv = calloc(1, sizeof(*srv));
        if (!srv) {
                report(c->ready_fd, "out of memory");
                return -ENOMEM;
        }
        srv->c = c;
        srv->udp[0] = srv->udp[1] = srv->tcp[0] = srv->tcp[1] = -EBADF;
        for (size_t i = 0; i < DNS_SERVER_JOBS; i++)
                srv->jobs[i] = (struct job){.client_fd = -EBADF, .up_fd = -EBADF};

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = bind_sockets(srv, why, sizeof(why));
        if (r >= 0 && c->drop_privileges)
                r = drop_privileges(why, sizeof(why));
        if (r < 0) {
                report(c->ready_fd, why[0] ? why : strerror(-r));
        } else {
                table_refresh(srv);
                host_refresh(srv);
                report(c->ready_fd, "ok");
                r = serve(srv);
        }
        for (size_t i = 0; i < DNS_SERVER_JOBS; i++)
                if (srv->jobs[i].state != JOB_FREE)
                        job_free(&srv->jobs[i]);
        for (int i = 0; i < 2; i++) {
                safe_close(srv->udp[i]);
                safe_close(srv->tcp[i]);
        }
        dns_table_done(&srv->table);
        resolv_conf_done(&srv->host);
        free(srv);
        return r;
}
