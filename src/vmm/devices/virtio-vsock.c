/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock.c - virtio socket device with Unix-socket host endpoints (see
 * virtio-vsock.h; virtio 1.2 §5.10, stream sockets only).
 *
 * Queues: 0 rx (to the guest), 1 tx (from the guest), 2 events (unused: no migration).
 * Every packet starts with the 44-byte struct virtio_vsock_hdr. Each connection is a
 * struct vsock_conn with its Unix socket; everything runs under the device lock, on the
 * event loop thread and, with io=vcpu, the guest's packets on the vCPU thread that notified.
 * A connection may thus be closed on one thread while the loop holds an event for its socket:
 * the loop's handler is given the device, not the connection, and finds the connection by
 * its descriptor under the lock (on_conn()).
 *
 * Flow control (§5.10.6.3): we advertise buf_alloc = VSOCK_BUF_ALLOC and fwd_cnt = the
 * guest bytes written to the Unix socket so far. Bytes the socket does not take at once
 * wait in the connection's pending buffer, which can never need more than buf_alloc
 * because the guest may not have more than that in flight; a guest that overruns it
 * gets a reset. In the other direction we send at most the guest's credit,
 * peer_buf_alloc - (tx_cnt - peer_fwd_cnt), read straight from the socket into the
 * guest's receive buffers. A connection whose data cannot move (no receive buffer, no
 * credit) stops polling its socket until a notify or credit update arrives, so the
 * loop never spins on it.
 *
 * Control packets (RESPONSE, RST, CREDIT_UPDATE, REQUEST, SHUTDOWN) wait in a small
 * queue until the guest has a receive buffer for them.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_vsock.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "error.h"
#include "iovec.h"
#include "log.h"
#include "util.h"
#include "virtio-vsock.h"

#define VSOCK_QUEUE_SIZE  256
#define VSOCK_HOST_CID    2
#define VSOCK_BUF_ALLOC   (256 * 1024)
#define VSOCK_MAX_CONNS   256
#define VSOCK_CTRL_MAX    512
#define VSOCK_MAX_PAYLOAD (64 * 1024)
#define VSOCK_LINE_MAX    64
#define RXQ               0
#define TXQ               1

enum conn_state {
        CONN_HOST_HANDSHAKE, /* host client connected, "CONNECT <port>\n" not read yet */
        CONN_CONNECTING,     /* REQUEST sent to the guest, waiting for RESPONSE */
        CONN_ESTABLISHED,
        _CONN_STATE_MAX,
        _CONN_STATE_INVALID = -EINVAL,
};

struct vsock_conn {
        struct virtio_vsock *v;
        int fd;
        enum conn_state state;
        uint32_t host_port;
        uint32_t guest_port;
        uint32_t peer_buf_alloc;
        uint32_t peer_fwd_cnt;
        uint32_t tx_cnt;  /* bytes sent to the guest */
        uint32_t fwd_cnt; /* guest bytes written to the socket */
        uint32_t fwd_cnt_sent;
        bool registered; /* the socket is on the event loop */
        bool polling;    /* ... for EPOLLIN */
        bool want_rx;    /* socket may have data that could not move yet */
        bool guest_shut_send;
        bool host_shut_send; /* the Unix socket reached EOF */
        uint8_t *pending;    /* guest bytes the socket has not taken yet */
        size_t pending_len;
        struct vsock_conn *next;
};

struct virtio_vsock {
        struct virtio_dev *vd;
        uint64_t guest_cid;
        char *uds;
        int listen_fd;
        uint32_t next_port;
        struct vsock_conn *conns;
        unsigned n_conns;
        struct virtio_vsock_hdr ctrl[VSOCK_CTRL_MAX];
        unsigned ctrl_head, ctrl_len;
        struct virtio_vsock_config config;
        struct virtqueue_chain chain;
        struct iovec slice[VIRTQUEUE_MAX_IOV];
        /* virtio_vsock_hold_port(): the port whose first request waits, and that request. */
        bool hold_armed;
        uint32_t hold_port;
        void (*hold_fn)(void *opaque);
        void *hold_opaque;
        bool has_held;
        struct virtio_vsock_hdr held;
};

static void conn_close(struct vsock_conn *c);

static int on_conn(void *opaque, int fd, uint32_t events);

/*
 * Watch the connection's socket for events, or for nothing: a socket that must not be
 * looked at is taken off the loop, since epoll reports EPOLLHUP and EPOLLERR whatever
 * the event mask says, and a closed peer would otherwise wake the loop forever.
 */
static void conn_set_polling(struct vsock_conn *c, uint32_t events)
{
        struct event_loop *l = c->v->vd->vm->loop;

        if (events == 0) {
                if (c->registered)
                        (void)event_loop_remove(l, c->fd);
                c->registered = false;
        } else if (c->registered)
                (void)event_loop_modify(l, c->fd, events);
        else
                c->registered = event_loop_add(l, c->fd, events, on_conn, c->v) >= 0;
        c->polling = events & EPOLLIN;
}

static uint32_t peer_credit(const struct vsock_conn *c)
{
        uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
        return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static struct virtio_vsock_hdr make_hdr(const struct virtio_vsock *v, uint32_t host_port,
                                        uint32_t guest_port, uint16_t op, uint32_t fwd_cnt)
{
        return (struct virtio_vsock_hdr){
                .src_cid = VSOCK_HOST_CID,
                .dst_cid = v->guest_cid,
                .src_port = host_port,
                .dst_port = guest_port,
                .type = VIRTIO_VSOCK_TYPE_STREAM,
                .op = op,
                .buf_alloc = VSOCK_BUF_ALLOC,
                .fwd_cnt = fwd_cnt,
        };
}

static void queue_ctrl(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
        if (v->ctrl_len == VSOCK_CTRL_MAX) {
                log_debug("virtio-vsock: control queue full, dropping op %u", h->op);
                return;
        }
        v->ctrl[(v->ctrl_head + v->ctrl_len) % VSOCK_CTRL_MAX] = *h;
        v->ctrl_len++;
}

static void send_conn_ctrl(struct vsock_conn *c, uint16_t op, uint32_t flags)
{
        struct virtio_vsock_hdr h = make_hdr(c->v, c->host_port, c->guest_port, op, c->fwd_cnt);
        h.flags = flags;
        c->fwd_cnt_sent = c->fwd_cnt;
        queue_ctrl(c->v, &h);
}

static void send_rst(struct virtio_vsock *v, const struct virtio_vsock_hdr *to)
{
        struct virtio_vsock_hdr h = make_hdr(v, to->dst_port, to->src_port, VIRTIO_VSOCK_OP_RST, 0);
        queue_ctrl(v, &h);
}

static struct vsock_conn *find_conn(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port)
{
        for (struct vsock_conn *c = v->conns; c; c = c->next)
                if (c->host_port == host_port && c->guest_port == guest_port &&
                    c->state != CONN_HOST_HANDSHAKE)
                        return c;
        return NULL;
}

static bool host_port_used(struct virtio_vsock *v, const struct vsock_conn *self, uint32_t port)
{
        for (struct vsock_conn *c = v->conns; c; c = c->next)
                if (c != self && c->host_port == port)
                        return true;
        return false;
}

/* ---- guest-bound data ---------------------------------------------------------------- */

/* Pop a receive chain able to hold a header; 1, 0 when none, -1 when the queue is broken. */
static int pop_rx(struct virtio_vsock *v, struct virtqueue *q)
{
        struct virtqueue_chain *c = &v->chain;
        int r = virtqueue_pop(q, c);
        if (r < 0 || (r > 0 && (c->n_out > 0 || c->in_len < sizeof(struct virtio_vsock_hdr)))) {
                virtio_dev_fail(v->vd, "malformed receive queue");
                return -1;
        }
        return r;
}

/* Move socket data of c into one receive chain. Returns true when a packet was sent. */
static bool conn_forward(struct virtio_vsock *v, struct vsock_conn *c, struct virtqueue *q, bool *broken)
{
        uint32_t credit = peer_credit(c);
        if (credit == 0)
                return false;
        int r = pop_rx(v, q);
        if (r < 0)
                *broken = true;
        if (r <= 0)
                return false;
        struct virtqueue_chain *ch = &v->chain;
        size_t room =
                MIN(MIN(ch->in_len - sizeof(struct virtio_vsock_hdr), (size_t)credit), VSOCK_MAX_PAYLOAD);
        int n = iovec_slice(ch->iov, ch->n_in, sizeof(struct virtio_vsock_hdr), room, v->slice,
                            VIRTQUEUE_MAX_IOV);
        ssize_t got = readv(c->fd, v->slice, n);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                virtqueue_unpop(q);
                c->want_rx = false;
                return false;
        }
        struct virtio_vsock_hdr h;
        if (got <= 0) {
                /*
                 * EOF from the host side: it will send no more (it may have closed only its
                 * writing half, as a client waiting for a reply does), so the guest hears
                 * SHUTDOWN with SEND alone and may still send; a full close shows up as
                 * EPIPE on the next write, which resets the connection.
                 */
                h = make_hdr(v, c->host_port, c->guest_port, VIRTIO_VSOCK_OP_SHUTDOWN, c->fwd_cnt);
                h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
                got = 0;
                c->host_shut_send = true;
                c->want_rx = false;
                conn_set_polling(c, c->pending_len ? EPOLLOUT : 0);
        } else {
                h = make_hdr(v, c->host_port, c->guest_port, VIRTIO_VSOCK_OP_RW, c->fwd_cnt);
                h.len = (uint32_t)got;
                c->tx_cnt += (uint32_t)got;
        }
        c->fwd_cnt_sent = c->fwd_cnt;
        iovec_from_buf(ch->iov, ch->n_in, 0, &h, sizeof(h));
        virtqueue_push(q, ch->head, (uint32_t)(sizeof(h) + (size_t)got));
        return true;
}

/* Send whatever can go to the guest now: control packets first, then data. */
static void rx_flush(struct virtio_vsock *v)
{
        struct virtio_dev *vd = v->vd;
        struct virtqueue *q = virtio_dev_queue(vd, RXQ);
        bool pushed = false, broken = false;

        if (!virtio_dev_running(vd))
                return;
        while (v->ctrl_len > 0) {
                int r = pop_rx(v, q);
                if (r <= 0) {
                        if (r < 0)
                                return;
                        break;
                }
                struct virtqueue_chain *c = &v->chain;
                iovec_from_buf(c->iov, c->n_in, 0, &v->ctrl[v->ctrl_head], sizeof(struct virtio_vsock_hdr));
                virtqueue_push(q, c->head, sizeof(struct virtio_vsock_hdr));
                v->ctrl_head = (v->ctrl_head + 1) % VSOCK_CTRL_MAX;
                v->ctrl_len--;
                pushed = true;
        }
        for (struct vsock_conn *c = v->conns; c && !broken; c = c->next) {
                if (c->state != CONN_ESTABLISHED || !c->want_rx)
                        continue;
                while (c->want_rx && conn_forward(v, c, q, &broken))
                        pushed = true;
                /*
                 * Still data but no buffer or credit: stop reading the socket until something
                 * changes, but keep waiting to write what the guest sent, if anything waits.
                 */
                if (c->want_rx && c->polling)
                        conn_set_polling(c, c->pending_len ? EPOLLOUT : 0);
        }
        if (pushed)
                virtio_dev_notify_queue(vd, RXQ);
}

/* Re-arm the sockets parked for lack of buffers or credit. */
static void unpark(struct virtio_vsock *v)
{
        for (struct vsock_conn *c = v->conns; c; c = c->next)
                if (c->state == CONN_ESTABLISHED && !c->polling && !c->host_shut_send && peer_credit(c) > 0)
                        conn_set_polling(c, EPOLLIN | (c->pending_len ? EPOLLOUT : 0));
}

/* ---- host-side sockets ------------------------------------------------------------------ */

static int conn_flush_pending(struct vsock_conn *c)
{
        while (c->pending_len > 0) {
                ssize_t n = send(c->fd, c->pending, c->pending_len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
                c->pending_len -= (size_t)n;
                c->fwd_cnt += (uint32_t)n;
        }
        return 1;
}

static int host_handshake(struct vsock_conn *c)
{
        char line[VSOCK_LINE_MAX + 1];
        uint32_t port;

        /* Peek first so that bytes after the newline stay in the socket for the guest. */
        ssize_t n = recv(c->fd, line, VSOCK_LINE_MAX, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0)
                return -ECONNRESET;
        char *nl = memchr(line, '\n', (size_t)n);
        if (!nl)
                return n == VSOCK_LINE_MAX ? -EPROTO : 0;
        size_t len = (size_t)(nl - line) + 1;
        if (recv(c->fd, line, len, MSG_DONTWAIT) != (ssize_t)len)
                return -EPROTO;
        line[len - 1] = 0;
        const char *arg = startswith(line, "CONNECT ");
        if (!arg || parse_u32(arg, &port) < 0)
                return -EPROTO;
        struct virtio_vsock *v = c->v;
        do
                c->host_port = v->next_port++;
        while (host_port_used(v, c, c->host_port) || c->host_port < 1024);
        c->guest_port = port;
        c->state = CONN_CONNECTING;
        conn_set_polling(c, 0);
        send_conn_ctrl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
        return 1;
}

static int on_conn(void *opaque, int fd, uint32_t events)
{
        struct virtio_vsock *v = opaque;
        struct vsock_conn *c;

        virtio_dev_lock(v->vd);
        for (c = v->conns; c && c->fd != fd; c = c->next)
                ;
        if (!c)
                goto out; /* closed since the loop read the event (by a vCPU, or a reset) */
        if (c->state != CONN_ESTABLISHED && (events & (EPOLLHUP | EPOLLERR))) {
                /* The host side went away before the guest answered: tell the guest. */
                if (c->state == CONN_CONNECTING)
                        send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                conn_close(c);
        } else if (c->state == CONN_HOST_HANDSHAKE) {
                int r = host_handshake(c);
                if (r < 0)
                        conn_close(c);
        } else if (c->state == CONN_ESTABLISHED) {
                if (events & EPOLLOUT) {
                        int r = conn_flush_pending(c);
                        if (r < 0) {
                                send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                                conn_close(c);
                                goto out;
                        }
                        if (r > 0) {
                                conn_set_polling(c, c->polling ? EPOLLIN : 0);
                                send_conn_ctrl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
                                if (c->guest_shut_send)
                                        (void)shutdown(c->fd, SHUT_WR);
                        }
                }
                if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                        c->want_rx = true;
        }
        rx_flush(v);
out:
        virtio_dev_unlock(v->vd);
        return 0;
}

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd, enum conn_state state)
{
        if (v->n_conns >= VSOCK_MAX_CONNS)
                return NULL;
        struct vsock_conn *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->pending = malloc(VSOCK_BUF_ALLOC);
        if (!c->pending) {
                free(c);
                return NULL;
        }
        c->v = v;
        c->fd = fd;
        c->state = state;
        if (state == CONN_HOST_HANDSHAKE) {
                conn_set_polling(c, EPOLLIN);
                if (!c->registered) {
                        free(c->pending);
                        free(c);
                        return NULL;
                }
        }
        c->next = v->conns;
        v->conns = c;
        v->n_conns++;
        return c;
}

static void conn_close(struct vsock_conn *c)
{
        struct virtio_vsock *v = c->v;
        for (struct vsock_conn **p = &v->conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        v->n_conns--;
        if (c->registered)
                (void)event_loop_remove(v->vd->vm->loop, c->fd);
        safe_close(c->fd);
        free(c->pending);
        free(c);
}

static int on_listen(void *opaque, int fd, uint32_t events)
{
        struct virtio_vsock *v = opaque;

        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        virtio_dev_lock(v->vd);
        /* A guest without a running driver cannot take connections: refuse at once. */
        if (!virtio_dev_running(v->vd) || !conn_new(v, cfd, CONN_HOST_HANDSHAKE))
                safe_close(cfd);
        virtio_dev_unlock(v->vd);
        return 0;
}

/* ---- guest packets ----------------------------------------------------------------------- */

static void guest_connect(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds, h->dst_port) >=
            (int)sizeof(sa.sun_path)) {
                send_rst(v, h);
                return;
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                safe_close(fd);
                send_rst(v, h);
                return;
        }
        struct vsock_conn *c = conn_new(v, fd, CONN_ESTABLISHED);
        if (!c) {
                safe_close(fd);
                send_rst(v, h);
                return;
        }
        c->host_port = h->dst_port;
        c->guest_port = h->src_port;
        c->peer_buf_alloc = h->buf_alloc;
        c->peer_fwd_cnt = h->fwd_cnt;
        conn_set_polling(c, EPOLLIN);
        send_conn_ctrl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
}

static void guest_data(struct vsock_conn *c, const struct iovec *iov, int n_iov, size_t skip, size_t len)
{
        if (len > VSOCK_BUF_ALLOC - c->pending_len) {
                /* More than the credit we gave: the guest broke flow control. */
                send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                conn_close(c);
                return;
        }
        iovec_to_buf(iov, n_iov, skip, c->pending + c->pending_len, len);
        c->pending_len += len;
        int r = conn_flush_pending(c);
        if (r < 0) {
                send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                conn_close(c);
                return;
        }
        if (r == 0)
                conn_set_polling(c, EPOLLOUT | (c->polling ? EPOLLIN : 0));
        if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 2)
                send_conn_ctrl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
}

static void handle_packet(struct virtio_vsock *v, const struct virtio_vsock_hdr *h, const struct iovec *iov,
                          int n_iov, size_t payload)
{
        if (h->dst_cid != VSOCK_HOST_CID || h->src_cid != v->guest_cid ||
            h->type != VIRTIO_VSOCK_TYPE_STREAM) {
                if (h->op != VIRTIO_VSOCK_OP_RST)
                        send_rst(v, h);
                return;
        }
        struct vsock_conn *c = find_conn(v, h->dst_port, h->src_port);
        if (!c) {
                if (h->op == VIRTIO_VSOCK_OP_REQUEST && v->hold_armed && h->dst_port == v->hold_port) {
                        v->hold_armed = false;
                        v->held = *h;
                        v->has_held = true;
                        v->hold_fn(v->hold_opaque);
                } else if (h->op == VIRTIO_VSOCK_OP_REQUEST)
                        guest_connect(v, h);
                else if (h->op != VIRTIO_VSOCK_OP_RST)
                        send_rst(v, h);
                return;
        }
        c->peer_buf_alloc = h->buf_alloc;
        c->peer_fwd_cnt = h->fwd_cnt;
        switch (h->op) {
        case VIRTIO_VSOCK_OP_RESPONSE:
                if (c->state != CONN_CONNECTING) {
                        send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                        conn_close(c);
                        return;
                }
                c->state = CONN_ESTABLISHED;
                char ok[32];
                int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
                if (send(c->fd, ok, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
                        send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                        conn_close(c);
                        return;
                }
                conn_set_polling(c, EPOLLIN);
                break;
        case VIRTIO_VSOCK_OP_RW:
                if (c->state != CONN_ESTABLISHED || c->guest_shut_send)
                        break;
                guest_data(c, iov, n_iov, sizeof(*h), payload);
                break;
        case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
                send_conn_ctrl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
                break;
        case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
                break;
        case VIRTIO_VSOCK_OP_SHUTDOWN:
                if ((h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->guest_shut_send) {
                        c->guest_shut_send = true;
                        if (c->pending_len == 0)
                                (void)shutdown(c->fd, SHUT_WR);
                }
                /* Both directions closed: the guest waits for our RST to finish its close. */
                if ((h->flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)) ==
                    (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)) {
                        send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                        conn_close(c);
                }
                break;
        case VIRTIO_VSOCK_OP_RST:
                conn_close(c);
                break;
        default:
                send_conn_ctrl(c, VIRTIO_VSOCK_OP_RST, 0);
                conn_close(c);
                break;
        }
}

static int tx_chain(struct virtio_dev *vd, struct virtqueue_chain *c)
{
        struct virtio_vsock_hdr h;

        if (c->out_len < sizeof(h)) {
                virtio_dev_fail(vd, "transmit packet without a header");
                return -EINVAL;
        }
        iovec_to_buf(c->iov, c->n_out, 0, &h, sizeof(h));
        size_t payload = c->out_len - sizeof(h);
        if (h.op == VIRTIO_VSOCK_OP_RW && h.len > payload) {
                virtio_dev_fail(vd, "packet length larger than its buffers");
                return -EINVAL;
        }
        /* Handled before it is used: the guest may reuse the buffers as soon as it is. */
        handle_packet(vd->priv, &h, c->iov, c->n_out, h.op == VIRTIO_VSOCK_OP_RW ? h.len : 0);
        return 0;
}

static void vsock_queue_notify(struct virtio_dev *vd, unsigned qi)
{
        struct virtio_vsock *v = vd->priv;
        if (qi == TXQ) {
                virtio_dev_serve_queue(vd, TXQ, &v->chain, tx_chain);
                unpark(v); /* the guest's packets may have brought credit */
        } else if (qi == RXQ)
                unpark(v);
        if (!vd->broken)
                rx_flush(v);
}

static void vsock_config_read(struct virtio_dev *vd, uint32_t offset, void *data, uint32_t len)
{
        struct virtio_vsock *v = vd->priv;
        if (offset < sizeof(v->config))
                memcpy(data, (uint8_t *)&v->config + offset, MIN((size_t)len, sizeof(v->config) - offset));
}

static void vsock_reset(struct virtio_dev *vd)
{
        struct virtio_vsock *v = vd->priv;
        while (v->conns)
                conn_close(v->conns);
        v->ctrl_head = v->ctrl_len = 0;
        v->has_held = false;
}

static void vsock_free(struct virtio_dev *vd)
{
        struct virtio_vsock *v = vd->priv;
        if (!v)
                return;
        if (v->vd)
                vsock_reset(vd);
        if (v->listen_fd >= 0) {
                if (vd->vm->loop)
                        (void)event_loop_remove(vd->vm->loop, v->listen_fd);
                safe_close(v->listen_fd);
                (void)unlink(v->uds);
        }
        free(v->uds);
        free(v);
        vd->priv = NULL;
}

/*
 * The snapshot state beyond the transport: the guest's CID (its driver read it once, at probe)
 * and the held request. Connections cannot be saved (their host ends are sockets of this
 * process), so a snapshot with any is refused, as with control packets still queued.
 */
static int vsock_save(struct virtio_dev *vd, struct snap_buf *b)
{
        struct virtio_vsock *v = vd->priv;

        if (v->n_conns > 0 || v->ctrl_len > 0)
                return err_set(-EBUSY, "virtio-vsock: %u connections and %u control packets are in flight",
                               v->n_conns, v->ctrl_len);
        snap_put_u64(b, v->guest_cid);
        snap_put_u8(b, v->has_held);
        snap_put(b, &v->held, sizeof(v->held));
        return 0;
}

static int vsock_restore(struct virtio_dev *vd, struct snap_reader *r)
{
        struct virtio_vsock *v = vd->priv;
        struct virtio_vsock_hdr h;

        uint64_t cid = snap_get_u64(r);
        bool held = snap_get_bool(r);
        snap_get(r, &h, sizeof(h));
        if (r->bad)
                return err_set(-EINVAL, "the record is truncated or holds an invalid value");
        if (cid != v->guest_cid)
                return err_set(-EINVAL, "--vsock cid=%" PRIu64 ", the snapshot's guest has cid %" PRIu64,
                               v->guest_cid, cid);
        if (held && (h.op != VIRTIO_VSOCK_OP_REQUEST || h.src_cid != cid || h.dst_cid != VSOCK_HOST_CID ||
                     h.type != VIRTIO_VSOCK_TYPE_STREAM))
                return err_set(-EINVAL,
                               "the held connection request is not a stream request from the guest");
        v->has_held = held;
        v->held = h;
        return 0;
}

void virtio_vsock_hold_port(struct virtio_dev *vd, uint32_t port, void (*fn)(void *opaque), void *opaque)
{
        struct virtio_vsock *v = vd->priv;

        virtio_dev_lock(vd);
        v->hold_armed = true;
        v->hold_port = port;
        v->hold_fn = fn;
        v->hold_opaque = opaque;
        virtio_dev_unlock(vd);
}

void virtio_vsock_release(struct virtio_dev *vd)
{
        struct virtio_vsock *v = vd->priv;

        virtio_dev_lock(vd);
        if (v->has_held && virtio_dev_running(vd)) {
                v->has_held = false;
                guest_connect(v, &v->held);
                rx_flush(v);
        }
        virtio_dev_unlock(vd);
}

static const struct virtio_dev_ops vsock_ops = {
        .name = "virtio-vsock",
        .type = 19,
        .pci_class = 0xff0000,
        .num_queues = 3,
        .queue_size = VSOCK_QUEUE_SIZE,
        .config_size = sizeof(struct virtio_vsock_config),
        .config_read = vsock_config_read,
        .queue_notify = vsock_queue_notify,
        .reset = vsock_reset,
        .save = vsock_save,
        .restore = vsock_restore,
        .free = vsock_free,
};

int virtio_vsock_new(struct vm *vm, uint64_t cid, const char *uds, bool io_vcpu, struct virtio_dev **ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct virtio_dev *vd;
        int r;

        if (strlen(uds) >= sizeof(sa.sun_path))
                return err_set(-ENAMETOOLONG, "vsock: uds path '%s' is too long", uds);
        struct virtio_vsock *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->guest_cid = cid;
        v->config.guest_cid = cid;
        v->next_port = 1U << 30;
        v->listen_fd = -EBADF;
        v->uds = strdup(uds);
        if (!v->uds) {
                free(v);
                return -ENOMEM;
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = negative_errno();
                free(v->uds);
                free(v);
                return r;
        }
        strcpy(sa.sun_path, uds);
        mode_t old = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? negative_errno() : 0;
        umask(old);
        if (r < 0 || listen(fd, 16) < 0) {
                if (r == 0) {
                        r = negative_errno();
                        (void)unlink(uds);
                }
                safe_close(fd);
                free(v->uds);
                free(v);
                return err_set(r, "vsock: cannot listen on '%s': %s", uds, strerror(-r));
        }
        v->listen_fd = fd;
        r = virtio_dev_new(vm, &vsock_ops, 0, v, &vd);
        if (r < 0)
                return r;
        v->vd = vd;
        vd->notify_on_vcpu = io_vcpu;
        if (vm->loop) {
                r = event_loop_add(vm->loop, v->listen_fd, EPOLLIN, on_listen, v);
                if (r < 0) {
                        virtio_dev_free(vd);
                        return r;
                }
        }
        *ret = vd;
        return 0;
}
