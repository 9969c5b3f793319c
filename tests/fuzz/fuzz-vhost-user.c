/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-vhost-user - hull-vmm's vhost-user frontend against a backend that lies. The input's
 * first byte picks the call (GET_FEATURES, GET_VRING_BASE, or a SET_FEATURES that waits for a
 * REPLY_ACK) and the rest is what the backend answers, written whole into the other end of
 * a socket pair that is then shut: headers with any flags, request and size, truncated
 * payloads, sizes beyond the largest message. Each call must end (EOF, never a hang), read
 * nothing past its buffers (ASan), and accept only a reply of the exact shape it asked for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost-user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vhost_user u = {.fd = -1};
        struct vhost_user_msg m = {};
        int sv[2];
        uint64_t v = 0;
        uint32_t base = 0;

        if (size < 1 || size > 8192)
                return 0;
        /* The pure check on the same bytes, as a whole message. */
        memcpy(&m, data + 1, size - 1 < sizeof(m) ? size - 1 : sizeof(m));
        (void)vhost_user_check_reply(&m, size - 1, VHOST_USER_GET_FEATURES, 8);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return 0;
        if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
                close(sv[0]);
                close(sv[1]);
                return 0;
        }
        shutdown(sv[1], SHUT_WR);
        u.fd = sv[0];
        snprintf(u.path, sizeof(u.path), "fuzz");
        switch (data[0] % 3) {
        case 0:
                (void)vhost_user_get_u64(&u, VHOST_USER_GET_FEATURES, &v);
                break;
        case 1:
                (void)vhost_user_get_vring_base(&u, data[0] >> 4, &base);
                break;
        default:
                u.reply_ack = true;
                (void)vhost_user_send(&u, VHOST_USER_SET_FEATURES, &v, sizeof(v), NULL, 0);
                break;
        }
        vhost_user_close(&u);
        close(sv[1]);
        return 0;
}
