/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user.c - vhost-user frontend messages (see vhost-user.h; QEMU's
 * docs/interop/vhost-user.rst).
 *
 * Replies are read in two steps, the header then exactly its size, never more than
 * VHOST_USER_MAX_PAYLOAD: a size beyond that is a protocol error, not an allocation. A
 * timeout (SO_RCVTIMEO/SO_SNDTIMEO) bounds each step, so a backend that stops answering
 * fails the call with -ETIMEDOUT instead of holding the vCPU that wrote DRIVER_OK.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "vhost-user.h"

#define TIMEOUT_SEC 2

const char *vhost_user_request_to_string(uint32_t request)
{
        static const char *const names[_VHOST_USER_REQUEST_MAX] = {
                [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
                [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
                [VHOST_USER_SET_OWNER] = "SET_OWNER",
                [VHOST_USER_RESET_OWNER] = "RESET_OWNER",
                [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
                [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
                [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
                [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
                [VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
                [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
                [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
                [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
                [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
                [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        };
        return request < _VHOST_USER_REQUEST_MAX && names[request] ? names[request] : "unknown";
}

int vhost_user_check_reply(const struct vhost_user_msg *m, size_t len, uint32_t request, size_t size)
{
        const char *name = vhost_user_request_to_string(request);

        if (len < VHOST_USER_HDR_SIZE)
                return err_set(-EPROTO, "vhost-user: reply to %s is %zu bytes, shorter than a header", name,
                               len);
        if ((m->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION || !(m->flags & VHOST_USER_REPLY))
                return err_set(
                        -EPROTO,
                        "vhost-user: reply to %s has flags 0x%x, expected version 1 and the reply bit", name,
                        m->flags);
        if (m->request != request)
                return err_set(-EPROTO, "vhost-user: expected a reply to %s, got one to %s (%u)", name,
                               vhost_user_request_to_string(m->request), m->request);
        if (m->size != size || len - VHOST_USER_HDR_SIZE != size)
                return err_set(-EPROTO, "vhost-user: reply to %s has %u bytes, expected %zu", name, m->size,
                               size);
        return 0;
}

/* Read exactly len bytes; descriptors that come along are closed (a reply carries none). */
static int read_exact(int fd, void *buf, size_t len, bool *got_fds)
{
        uint8_t *p = buf;

        while (len) {
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(VHOST_USER_MAX_REGIONS * sizeof(int))];
                } ctl;
                struct iovec iov = {p, len};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = ctl.b,
                                    .msg_controllen = sizeof(ctl.b)};
                ssize_t k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                if (k == 0)
                        return -ECONNRESET;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < n; i++) {
                                int x;
                                memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                close(x);
                        }
                        *got_fds = true;
                }
                p += k;
                len -= (size_t)k;
        }
        return 0;
}

/* One reply to request of exactly size bytes into *m. */
static int recv_reply(struct vhost_user *u, uint32_t request, size_t size, struct vhost_user_msg *m)
{
        bool fds = false;
        int r;

        if (u->fd < 0)
                return -ENOTCONN;
        r = read_exact(u->fd, m, VHOST_USER_HDR_SIZE, &fds);
        if (r < 0)
                return err_set(r, "vhost-user: no reply to %s from '%s': %s",
                               vhost_user_request_to_string(request), u->path, strerror(-r));
        if (m->size > VHOST_USER_MAX_PAYLOAD)
                return err_set(-EPROTO, "vhost-user: reply to %s announces %u bytes, more than %d",
                               vhost_user_request_to_string(request), m->size, VHOST_USER_MAX_PAYLOAD);
        r = read_exact(u->fd, &m->payload, m->size, &fds);
        if (r < 0)
                return err_set(r, "vhost-user: truncated reply to %s: %s",
                               vhost_user_request_to_string(request), strerror(-r));
        if (fds)
                return err_set(-EPROTO, "vhost-user: reply to %s carries file descriptors",
                               vhost_user_request_to_string(request));
        return vhost_user_check_reply(m, VHOST_USER_HDR_SIZE + m->size, request, size);
}

static int send_msg(struct vhost_user *u, uint32_t request, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, size_t n_fds)
{
        struct vhost_user_msg m = {.request = request, .flags = VHOST_USER_VERSION | flags, .size = size};
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(VHOST_USER_MAX_REGIONS * sizeof(int))];
        } ctl = {};
        struct iovec iov = {&m, VHOST_USER_HDR_SIZE + size};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t k;

        if (u->fd < 0)
                return -ENOTCONN;
        if (size > VHOST_USER_MAX_PAYLOAD || n_fds > VHOST_USER_MAX_REGIONS)
                return -EINVAL;
        if (size)
                memcpy(&m.payload, payload, size);
        if (n_fds) {
                mh.msg_control = ctl.b;
                mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
        }
        do
                k = sendmsg(u->fd, &mh, MSG_NOSIGNAL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return err_set(errno == EAGAIN ? -ETIMEDOUT : negative_errno(),
                               "vhost-user: cannot send %s to '%s': %m",
                               vhost_user_request_to_string(request), u->path);
        /* A stream socket takes a small message whole or not at all, unless it is shutting down. */
        if ((size_t)k != iov.iov_len)
                return err_set(-EIO, "vhost-user: %s to '%s' was cut short",
                               vhost_user_request_to_string(request), u->path);
        return 0;
}

int vhost_user_send(struct vhost_user *u, uint32_t request, const void *payload, uint32_t size,
                    const int *fds, size_t n_fds)
{
        struct vhost_user_msg m;
        int r;

        r = send_msg(u, request, u->reply_ack ? VHOST_USER_NEED_REPLY : 0, payload, size, fds, n_fds);
        if (r < 0 || !u->reply_ack)
                return r;
        r = recv_reply(u, request, sizeof(uint64_t), &m);
        if (r < 0)
                return r;
        if (m.payload.u64 != 0)
                return err_set(-EIO, "vhost-user: '%s' refused %s (status %llu)", u->path,
                               vhost_user_request_to_string(request), (unsigned long long)m.payload.u64);
        return 0;
}

int vhost_user_get_u64(struct vhost_user *u, uint32_t request, uint64_t *ret)
{
        struct vhost_user_msg m;
        int r = send_msg(u, request, 0, NULL, 0, NULL, 0);

        if (r >= 0)
                r = recv_reply(u, request, sizeof(uint64_t), &m);
        if (r < 0)
                return r;
        *ret = m.payload.u64;
        return 0;
}

int vhost_user_get_vring_base(struct vhost_user *u, uint32_t index, uint32_t *ret)
{
        struct vhost_user_vring_state st = {.index = index};
        struct vhost_user_msg m;
        int r = send_msg(u, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);

        if (r >= 0)
                r = recv_reply(u, VHOST_USER_GET_VRING_BASE, sizeof(st), &m);
        if (r < 0)
                return r;
        if (m.payload.state.index != index)
                return err_set(-EPROTO, "vhost-user: GET_VRING_BASE of ring %u answered for ring %u", index,
                               m.payload.state.index);
        *ret = m.payload.state.num;
        return 0;
}

int vhost_user_connect(struct vhost_user *u, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct timeval tv = {.tv_sec = TIMEOUT_SEC};
        uint64_t protocol = 0;
        int r;

        *u = (struct vhost_user){.fd = -EBADF};
        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(-ENAMETOOLONG, "--fs: socket path '%s' is too long", path);
        snprintf(u->path, sizeof(u->path), "%s", path);
        strcpy(sa.sun_path, path);
        u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (u->fd < 0)
                return negative_errno();
        if (connect(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = negative_errno();
                vhost_user_close(u);
                return err_set(r, "--fs: cannot connect to the vhost-user socket '%s': %s", path,
                               strerror(-r));
        }
        if (setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(u->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
                r = negative_errno();
                vhost_user_close(u);
                return r;
        }
        r = vhost_user_send(u, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
        if (r >= 0)
                r = vhost_user_get_u64(u, VHOST_USER_GET_FEATURES, &u->features);
        if (r >= 0 && (u->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
                r = vhost_user_get_u64(u, VHOST_USER_GET_PROTOCOL_FEATURES, &protocol);
                protocol &= 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;
                if (r >= 0)
                        r = vhost_user_send(u, VHOST_USER_SET_PROTOCOL_FEATURES, &protocol, sizeof(protocol),
                                            NULL, 0);
                u->protocol = protocol;
                u->reply_ack = protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
        }
        if (r < 0) {
                vhost_user_close(u);
                return r;
        }
        return 0;
}

void vhost_user_close(struct vhost_user *u)
{
        u->fd = safe_close(u->fd);
        u->reply_ack = false;
}
