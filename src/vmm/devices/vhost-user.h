/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user.h - the frontend side of the vhost-user protocol (QEMU's
 * docs/interop/vhost-user.rst, "Vhost-user Protocol Specification"): messages on a Unix
 * stream socket to a backend process (virtiofsd) that serves a device's virtqueues
 * directly from guest memory, which it maps from the file descriptors of SET_MEM_TABLE.
 *
 * Every message is a 12-byte header (u32 request, u32 flags, u32 size; little-endian as
 * on x86) and size bytes of payload; file descriptors travel as SCM_RIGHTS. Only the
 * messages hull-vmm sends are implemented, and only three ask for a reply
 * (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_VRING_BASE), plus the u64 ack of REPLY_ACK.
 *
 * Trust: the backend is a host process, but it may crash or be the wrong program. Every
 * reply is checked by vhost_user_check_reply() (version, reply bit, the request it
 * answers, its exact size) before a byte of it is used; descriptors sent along with a
 * reply are closed, and the socket has send and receive timeouts, so a backend that dies,
 * hangs or lies costs the device (DEVICE_NEEDS_RESET), never the VMM.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vhost_user_request {
        VHOST_USER_GET_FEATURES = 1,
        VHOST_USER_SET_FEATURES = 2,
        VHOST_USER_SET_OWNER = 3,
        VHOST_USER_RESET_OWNER = 4,
        VHOST_USER_SET_MEM_TABLE = 5,
        VHOST_USER_SET_VRING_NUM = 8,
        VHOST_USER_SET_VRING_ADDR = 9,
        VHOST_USER_SET_VRING_BASE = 10,
        VHOST_USER_GET_VRING_BASE = 11,
        VHOST_USER_SET_VRING_KICK = 12,
        VHOST_USER_SET_VRING_CALL = 13,
        VHOST_USER_GET_PROTOCOL_FEATURES = 15,
        VHOST_USER_SET_PROTOCOL_FEATURES = 16,
        VHOST_USER_SET_VRING_ENABLE = 18,
        _VHOST_USER_REQUEST_MAX,
        _VHOST_USER_REQUEST_INVALID = -1,
};

#define VHOST_USER_VERSION      0x1
#define VHOST_USER_VERSION_MASK 0x3
#define VHOST_USER_REPLY        (1u << 2)
#define VHOST_USER_NEED_REPLY   (1u << 3)
#define VHOST_USER_HDR_SIZE     12
#define VHOST_USER_MAX_REGIONS  8
/* The largest payload hull-vmm sends or accepts: SET_MEM_TABLE with 8 regions. */
#define VHOST_USER_MAX_PAYLOAD (8 + VHOST_USER_MAX_REGIONS * 32)
#define VHOST_USER_VRING_NOFD  (1ull << 8) /* SET_VRING_KICK/CALL: no descriptor follows */

/* Feature bit 30 of GET_FEATURES: the backend speaks the protocol feature negotiation. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3

struct vhost_user_region {
        uint64_t guest_addr;
        uint64_t size;
        uint64_t user_addr; /* the frontend's address of the region: SET_VRING_ADDR uses these */
        uint64_t mmap_offset;
};

struct vhost_user_vring_state {
        uint32_t index;
        uint32_t num;
};

struct vhost_user_vring_addr {
        uint32_t index;
        uint32_t flags;
        uint64_t desc;
        uint64_t used;
        uint64_t avail;
        uint64_t log;
};

struct vhost_user_msg {
        uint32_t request;
        uint32_t flags;
        uint32_t size;
        union {
                uint64_t u64;
                struct vhost_user_vring_state state;
                struct vhost_user_vring_addr addr;
                struct {
                        uint32_t n_regions;
                        uint32_t padding;
                        struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
                } mem;
                uint8_t bytes[VHOST_USER_MAX_PAYLOAD];
        } payload;
} __attribute__((packed));

/* The name of a request ("SET_MEM_TABLE"), or "unknown" for messages. */
const char *vhost_user_request_to_string(uint32_t request);

/*
 * Check a received message as the reply to request with a payload of exactly size bytes.
 * 0, or -EPROTO with err_set() naming what is wrong ("vhost-user: reply to GET_FEATURES
 * has 4 bytes, expected 8"). Pure: no I/O (unit tests, fuzz-vhost-user).
 */
int vhost_user_check_reply(const struct vhost_user_msg *m, size_t len, uint32_t request, size_t size);

struct vhost_user {
        int fd;            /* connected socket, -EBADF when the backend is gone */
        bool reply_ack;    /* REPLY_ACK negotiated: SET_* messages are acknowledged */
        uint64_t features; /* GET_FEATURES of the backend */
        uint64_t protocol; /* protocol features agreed */
        char path[108];
};

/*
 * Connect to the backend at path (with send/receive timeouts), SET_OWNER, GET_FEATURES
 * and, when offered, agree on protocol features (REPLY_ACK only). Blocking; main thread.
 */
int vhost_user_connect(struct vhost_user *u, const char *path);
void vhost_user_close(struct vhost_user *u);

/*
 * Send request with payload (size bytes) and n_fds descriptors (not taken). With
 * REPLY_ACK agreed the backend's ack is awaited and its non-zero status is -EIO.
 */
int vhost_user_send(struct vhost_user *u, uint32_t request, const void *payload, uint32_t size,
                    const int *fds, size_t n_fds);
/* Send request (no payload) and read its u64 reply into *ret. */
int vhost_user_get_u64(struct vhost_user *u, uint32_t request, uint64_t *ret);
/* GET_VRING_BASE: stops ring index in the backend; its last available index in *ret. */
int vhost_user_get_vring_base(struct vhost_user *u, uint32_t index, uint32_t *ret);
