/* SPDX-License-Identifier: Apache-2.0 */
/* sync.c - parent/child messages over a seqpacket socketpair; see sync.h. */
#include <sys/socket.h>

#include "error.h"
#include "sync.h"

static int send_with_fd(int sock, const void *buf, size_t len, int fd)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                struct cmsghdr *c;
                memset(&u, 0, sizeof(u));
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof(u.buf);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        for (;;) {
                ssize_t k = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (k >= 0)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

static ssize_t recv_with_fd(int sock, void *buf, size_t len, int *ret_fd)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        ssize_t k;

        *ret_fd = -EBADF;
        do
                k = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                    c->cmsg_len >= CMSG_LEN(sizeof(int)))
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return k;
}

int sync_send(int sock, enum sync_type type, int32_t value, const char *text, int fd)
{
        struct sync_msg m; /* 64 KiB: set only what is sent, not the whole buffer */
        size_t len = offsetof(struct sync_msg, text);

        m.type = type;
        m.value = value;

        if (text) {
                size_t n = strnlen(text, SYNC_TEXT_MAX - 1);
                memcpy(m.text, text, n);
                m.text[n] = 0;
                len += n + 1;
        }
        return send_with_fd(sock, &m, len, fd);
}

int sync_recv(int sock, struct sync_msg *m, int *ret_fd)
{
        ssize_t k;

        memset(m, 0, offsetof(struct sync_msg, text) + 1);
        k = recv_with_fd(sock, m, sizeof(*m), ret_fd);
        if (k < 0)
                return (int)k;
        if (k == 0)
                return -EPIPE;
        if ((size_t)k < offsetof(struct sync_msg, text))
                return -EBADMSG;
        if ((size_t)k < sizeof(*m))
                ((char *)m)[k] = 0;
        m->text[SYNC_TEXT_MAX - 1] = 0;
        return 0;
}

int sync_expect(int sock, enum sync_type type, struct sync_msg *m)
{
        int fd, r;

        r = sync_recv(sock, m, &fd);
        safe_close(fd);
        if (r < 0)
                return r;
        if (m->type == SYNC_ERROR)
                return err_set(m->value < 0 ? m->value : -EIO, "%s", m->text);
        if (m->type != type)
                return -EBADMSG;
        return 0;
}

int unix_send_fd(int sock, int fd, const char *text)
{
        return send_with_fd(sock, text, strlen(text), fd);
}

int unix_recv_fd(int sock, int *ret_fd)
{
        char buf[256];
        ssize_t k = recv_with_fd(sock, buf, sizeof(buf), ret_fd);
        if (k < 0)
                return (int)k;
        if (*ret_fd < 0)
                return -EBADMSG;
        return 0;
}
