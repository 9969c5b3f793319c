/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io.c - hull-monitor's streams: container output to the log and to attached clients,
 * client input to the container's stdin or terminal (src/engine/attach-proto.h).
 *
 * Output is never held back for a client: each client has a queue, sent as its socket
 * accepts more; a client whose queue passes CLIENT_QUEUE_MAX is disconnected rather than
 * letting it grow without bound (the log still has everything). Container stdin is a
 * non-blocking pipe with a queue; above STDIN_HIGH the clients are not read until the
 * container has taken some, so a fast writer waits instead of losing input.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "monitor.h"
#include "util.h"

int io_listen(struct monitor *m)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        unlinkat(AT_FDCWD, ATTACH_SOCKET, 0);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* Relative to the container directory (our cwd): the store path may be longer than sun_path. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ATTACH_SOCKET);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        m->listen_fd = fd;
        return 0;
}

void io_accept(struct monitor *m)
{
        for (;;) {
                int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return;
                if (m->n_clients >= MAX_CLIENTS) {
                        safe_close(fd);
                        continue;
                }
                m->clients[m->n_clients++] = (struct client){.fd = fd};
                /* A late client learns that the container runs (and its pid) like the first one did. */
                if (m->pid > 0) {
                        int32_t pid = m->pid;
                        char msg[5] = {ATTACH_STARTED};
                        memcpy(msg + 1, &pid, 4);
                        (void)!send(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
                }
        }
}

void io_drop_client(struct monitor *m, size_t i)
{
        struct client *c = &m->clients[i];

        safe_close(c->fd);
        while (c->head) {
                struct msg *n = c->head->next;
                free(c->head);
                c->head = n;
        }
        m->clients[i] = m->clients[--m->n_clients];
}

bool io_any_ack(struct monitor *m)
{
        return m->acked;
}

void io_drain_clients(struct monitor *m)
{
        char buf[ATTACH_MSG_MAX];

        /* A socket closed with unread messages makes the client's next read fail with ECONNRESET. */
        for (size_t i = 0; i < m->n_clients; i++)
                while (recv(m->clients[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                        ;
}

static int client_flush(struct client *c)
{
        while (c->head) {
                ssize_t k = send(c->fd, c->head->data, c->head->len, MSG_DONTWAIT | MSG_NOSIGNAL);
                struct msg *n;
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                c->queued -= c->head->len;
                n = c->head->next;
                free(c->head);
                c->head = n;
        }
        c->tail = NULL;
        return 0;
}

static int client_queue(struct client *c, char type, const void *data, size_t len)
{
        struct msg *q = malloc(sizeof(*q) + len + 1);
        if (!q)
                return -ENOMEM;
        q->next = NULL;
        q->len = len + 1;
        q->data[0] = type;
        memcpy(q->data + 1, data, len);
        if (c->tail)
                c->tail->next = q;
        else
                c->head = q;
        c->tail = q;
        c->queued += q->len;
        return c->queued > CLIENT_QUEUE_MAX ? -ENOBUFS : 0;
}

void io_broadcast(struct monitor *m, char type, const void *data, size_t len)
{
        for (size_t i = m->n_clients; i-- > 0;) {
                struct client *c = &m->clients[i];
                const char *p = data;
                size_t left = len;
                int r = 0;

                /* Split output so that each message stays within the client's read size. */
                do {
                        size_t n = MIN(left, (size_t)ATTACH_MSG_MAX - 1);
                        r = client_queue(c, type, p, n);
                        p += n;
                        left -= n;
                } while (r >= 0 && left > 0);
                if (r >= 0)
                        r = client_flush(c);
                if (r < 0)
                        io_drop_client(m, i);
        }
}

bool io_read_output(struct monitor *m, int fd, enum log_stream s)
{
        char buf[ATTACH_MSG_MAX - 1];

        for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k == 0)
                        return false;
                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return true;
                        /* EIO on a pty master once the last slave fd is closed. */
                        return false;
                }
                if (log_writer_feed(&m->log, s, buf, (size_t)k) < 0)
                        monitor_note(m, "cannot write the log: %m");
                io_broadcast(m, s == LOG_STREAM_STDERR ? ATTACH_STDERR : ATTACH_STDOUT, buf, (size_t)k);
        }
        return true;
}

void io_flush_stdin(struct monitor *m)
{
        int fd = m->o.tty ? m->pty_fd : m->stdin_fd;

        while (m->stdin_len > 0 && fd >= 0) {
                ssize_t k = write(fd, m->stdin_buf, m->stdin_len);
                if (k < 0) {
                        if (errno == EAGAIN)
                                return;
                        m->stdin_len = 0;
                        break;
                }
                memmove(m->stdin_buf, m->stdin_buf + k, m->stdin_len - (size_t)k);
                m->stdin_len -= (size_t)k;
        }
        if (m->stdin_len == 0 && m->stdin_close_pending) {
                m->stdin_close_pending = false;
                if (!m->o.tty)
                        m->stdin_fd = safe_close(m->stdin_fd);
                else if (m->pty_fd >= 0) {
                        /* A terminal has no close: send its EOF character, as typing ^D would. */
                        char eof = 4;
                        (void)!write(m->pty_fd, &eof, 1);
                }
        }
}

static void stdin_add(struct monitor *m, const char *data, size_t len)
{
        char *b;

        if ((!m->o.tty && m->stdin_fd < 0) || (m->o.tty && m->pty_fd < 0) || len == 0)
                return;
        /* Clients are not read above STDIN_HIGH, so this bound is only reached by a message in flight. */
        if (m->stdin_len + len > STDIN_HIGH + ATTACH_MSG_MAX)
                return;
        b = realloc(m->stdin_buf, m->stdin_len + len);
        if (!b)
                return;
        m->stdin_buf = b;
        memcpy(b + m->stdin_len, data, len);
        m->stdin_len += len;
        io_flush_stdin(m);
}

void io_client_event(struct monitor *m, size_t i, short revents)
{
        struct client *c = &m->clients[i];
        char buf[ATTACH_MSG_MAX];

        if (revents & POLLOUT && client_flush(c) < 0) {
                io_drop_client(m, i);
                return;
        }
        if (!(revents & (POLLIN | POLLHUP | POLLERR)))
                return;
        /* Stop at the high mark: what stays in the socket is read once the container took its stdin. */
        while (m->stdin_len < STDIN_HIGH) {
                ssize_t k = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k <= 0) {
                        io_drop_client(m, i);
                        return;
                }
                switch (buf[0]) {
                case ATTACH_STDIN:
                        stdin_add(m, buf + 1, (size_t)k - 1);
                        break;
                case ATTACH_STDIN_CLOSE:
                        m->stdin_close_pending = true;
                        io_flush_stdin(m);
                        break;
                case ATTACH_RESIZE:
                        if (k >= 5 && m->pty_fd >= 0) {
                                uint16_t rc[2];
                                struct winsize ws = {};
                                memcpy(rc, buf + 1, 4);
                                ws.ws_row = rc[0];
                                ws.ws_col = rc[1];
                                ioctl(m->pty_fd, TIOCSWINSZ, &ws);
                        }
                        break;
                case ATTACH_SIGNAL:
                        if (k >= 5 && m->pid > 0) {
                                int32_t sig;
                                memcpy(&sig, buf + 1, 4);
                                if (sig > 0 && sig < 65)
                                        kill(m->pid, sig);
                        }
                        break;
                case ATTACH_EXEC_DETACHED: {
                        char name[256], err[512] = "", reply[4 + sizeof(err)];
                        int32_t code;
                        size_t l = (size_t)k - 1;
                        /* A file of the container directory, named by a client of our 0700 directory. */
                        if (l == 0 || l >= sizeof(name) || memchr(buf + 1, '/', l) ||
                            memchr(buf + 1, 0, l) || buf[1] == '.' || m->pid <= 0) {
                                code = EXIT_ENGINE_ERROR;
                                snprintf(err, sizeof(err),
                                         m->pid <= 0 ? "the container is not running"
                                                     : "invalid exec request");
                        } else {
                                memcpy(name, buf + 1, l);
                                name[l] = 0;
                                code = runtime_exec_detached(m, name, err, sizeof(err));
                                if (code < 0) {
                                        snprintf(err, sizeof(err), "cannot run hull-runtime: %s",
                                                 strerror(-code));
                                        code = EXIT_ENGINE_ERROR;
                                }
                        }
                        memcpy(reply, &code, 4);
                        memcpy(reply + 4, err, strlen(err));
                        if (client_queue(c, ATTACH_EXEC_RESULT, reply, 4 + strlen(err)) < 0 ||
                            client_flush(c) < 0) {
                                io_drop_client(m, i);
                                return;
                        }
                        break;
                }
                case ATTACH_ACK_EXIT:
                        /* Kept on the monitor: the client usually closes right after. */
                        m->acked = true;
                        break;
                default:
                        break;
                }
        }
}
