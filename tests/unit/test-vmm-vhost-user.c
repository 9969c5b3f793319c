/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-vhost-user.c - the vhost-user frontend and the virtio-fs device without KVM: the
 * test plays the backend (virtiofsd) on a Unix socket in a thread and records what it is
 * sent. Covers the reply checks (version, reply bit, request, size), the handshake with
 * protocol features and REPLY_ACK, the messages of DRIVER_OK (the memfd of guest RAM, one
 * kick and one call descriptor per queue) and of reset, the virtio-fs configuration (tag,
 * num_request_queues), and a backend that lies or hangs up.
 */
#include <linux/virtio_config.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "error.h"
#include "pci.h"
#include "vhost-user-fs.h"
#include "vhost-user.h"
#include "vm.h"
#include "test.h"

enum backend_mode {
        BACKEND_GOOD,
        BACKEND_SHORT_FEATURES, /* GET_FEATURES answered with 4 bytes */
        BACKEND_WRONG_REPLY,    /* GET_FEATURES answered as GET_PROTOCOL_FEATURES */
        BACKEND_HANG_UP,        /* closes the connection at SET_MEM_TABLE */
};

#define MAX_SEEN 64

static struct {
        enum backend_mode mode;
        int listen_fd;
        uint32_t seen[MAX_SEEN];
        unsigned seen_fds[MAX_SEEN];
        uint64_t seen_u64[MAX_SEEN];
        size_t n_seen;
        uint64_t features;
} B;

static char dir[] = "/tmp/test-vmm-vhost-user.XXXXXX";
static char sock[256];

static int recv_msg(int fd, struct vhost_user_msg *m, unsigned *n_fds)
{
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(8 * sizeof(int))];
        } ctl;
        struct iovec iov = {m, VHOST_USER_HDR_SIZE};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};

        *n_fds = 0;
        if (recvmsg(fd, &mh, MSG_WAITALL) != VHOST_USER_HDR_SIZE)
                return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                unsigned n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (unsigned i = 0; i < n; i++) {
                        int x;
                        memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        close(x);
                }
                *n_fds += n;
        }
        if (m->size > sizeof(m->payload))
                return -1;
        if (m->size && recv(fd, &m->payload, m->size, MSG_WAITALL) != (ssize_t)m->size)
                return -1;
        return 0;
}

static void reply(int fd, uint32_t request, const void *p, uint32_t size)
{
        struct vhost_user_msg m = {
                .request = request, .flags = VHOST_USER_VERSION | VHOST_USER_REPLY, .size = size};
        memcpy(&m.payload, p, size);
        (void)!write(fd, &m, VHOST_USER_HDR_SIZE + size);
}

static void *backend(void *arg)
{
        int fd = accept4(B.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        struct vhost_user_msg m;
        unsigned n_fds;

        while (fd >= 0 && recv_msg(fd, &m, &n_fds) == 0) {
                uint64_t v = 0;
                if (B.n_seen < MAX_SEEN) {
                        B.seen[B.n_seen] = m.request;
                        B.seen_fds[B.n_seen] = n_fds;
                        B.seen_u64[B.n_seen] = m.payload.u64;
                        __atomic_store_n(&B.n_seen, B.n_seen + 1, __ATOMIC_RELEASE);
                }
                if (B.mode == BACKEND_HANG_UP && m.request == VHOST_USER_SET_MEM_TABLE)
                        break;
                switch (m.request) {
                case VHOST_USER_GET_FEATURES:
                        if (B.mode == BACKEND_SHORT_FEATURES)
                                reply(fd, m.request, &B.features, 4);
                        else
                                reply(fd,
                                      B.mode == BACKEND_WRONG_REPLY ? VHOST_USER_GET_PROTOCOL_FEATURES
                                                                    : m.request,
                                      &B.features, 8);
                        continue;
                case VHOST_USER_GET_PROTOCOL_FEATURES:
                        v = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << 0) /* MQ, not taken */;
                        reply(fd, m.request, &v, 8);
                        continue;
                case VHOST_USER_GET_VRING_BASE: {
                        struct vhost_user_vring_state st = {m.payload.state.index, 7};
                        reply(fd, m.request, &st, sizeof(st));
                        continue;
                }
                default:
                        break;
                }
                if (m.flags & VHOST_USER_NEED_REPLY)
                        reply(fd, m.request, &v, 8);
        }
        if (fd >= 0)
                close(fd);
        return NULL;
}

static pthread_t start_backend(enum backend_mode mode)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        pthread_t t;

        if (!sock[0]) {
                ASSERT_TRUE(mkdtemp(dir) != NULL);
                snprintf(sock, sizeof(sock), "%s/fs.sock", dir);
        }
        memset(&B, 0, sizeof(B));
        B.mode = mode;
        B.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << 28 /* INDIRECT_DESC */) |
                     (1ull << 29 /* EVENT_IDX */) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
        unlink(sock);
        strcpy(sa.sun_path, sock);
        B.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(B.listen_fd >= 0);
        ASSERT_OK(bind(B.listen_fd, (struct sockaddr *)&sa, sizeof(sa)));
        ASSERT_OK(listen(B.listen_fd, 1));
        ASSERT_EQ(pthread_create(&t, NULL, backend, NULL), 0);
        return t;
}

static void stop_backend(pthread_t t)
{
        pthread_join(t, NULL);
        close(B.listen_fd);
        unlink(sock);
}

/* A message without a reply may still be on its way to the backend when the call returns. */
static void wait_seen(size_t n)
{
        for (int i = 0; i < 2000 && __atomic_load_n(&B.n_seen, __ATOMIC_ACQUIRE) < n; i++)
                usleep(1000);
        ASSERT_TRUE(__atomic_load_n(&B.n_seen, __ATOMIC_ACQUIRE) >= n);
}

static size_t count(uint32_t request)
{
        size_t n = 0;
        for (size_t i = 0; i < B.n_seen; i++)
                n += B.seen[i] == request;
        return n;
}

/* A machine with shared memory and a PCI bus, but no KVM and no event loop. */
static struct vm *fake_vm(void)
{
        struct vm *vm = calloc(1, sizeof(*vm));
        ASSERT_TRUE(vm != NULL);
        vm->kvm.vm_fd = vm->kvm.sys_fd = -EBADF;
        ASSERT_OK(guest_memory_init_shared(&vm->mem, 16 << 20));
        ASSERT_TRUE(vm->mem.regions[0].fd >= 0);
        ASSERT_OK(pci_bus_new(&vm->pio, &vm->mmio, NULL, NULL, &vm->pci));
        return vm;
}

static void fake_vm_free(struct vm *vm)
{
        pci_bus_free(vm->pci);
        bus_done(&vm->pio);
        bus_done(&vm->mmio);
        guest_memory_done(&vm->mem);
        free(vm);
}

TEST(reply_checks)
{
        struct vhost_user_msg m = {.request = VHOST_USER_GET_FEATURES,
                                   .flags = VHOST_USER_VERSION | VHOST_USER_REPLY,
                                   .size = 8};

        ASSERT_OK(vhost_user_check_reply(&m, 20, VHOST_USER_GET_FEATURES, 8));
        ASSERT_ERR(vhost_user_check_reply(&m, 11, VHOST_USER_GET_FEATURES, 8), -EPROTO);
        ASSERT_ERR(vhost_user_check_reply(&m, 16, VHOST_USER_GET_FEATURES, 8), -EPROTO);
        ASSERT_ERR(vhost_user_check_reply(&m, 20, VHOST_USER_GET_VRING_BASE, 8), -EPROTO);
        ASSERT_CONTAINS(err_msg(-EPROTO), "expected a reply to GET_VRING_BASE, got one to GET_FEATURES");
        ASSERT_ERR(vhost_user_check_reply(&m, 20, VHOST_USER_GET_FEATURES, 4), -EPROTO);
        ASSERT_CONTAINS(err_msg(-EPROTO), "has 8 bytes, expected 4");
        m.flags = VHOST_USER_VERSION;
        ASSERT_ERR(vhost_user_check_reply(&m, 20, VHOST_USER_GET_FEATURES, 8), -EPROTO);
        m.flags = 2 | VHOST_USER_REPLY;
        ASSERT_ERR(vhost_user_check_reply(&m, 20, VHOST_USER_GET_FEATURES, 8), -EPROTO);
        ASSERT_STREQ(vhost_user_request_to_string(VHOST_USER_SET_MEM_TABLE), "SET_MEM_TABLE");
        ASSERT_STREQ(vhost_user_request_to_string(999), "unknown");
}

static void ready_queue(struct virtio_dev *vd, unsigned q, uint64_t base)
{
        struct virtqueue *vq = &vd->queues[q];
        vq->s.size = 16;
        vq->s.desc_addr = base;
        vq->s.avail_addr = base + 0x1000;
        vq->s.used_addr = base + 0x2000;
        vq->s.msix_vector = (uint16_t)(q + 1);
        ASSERT_OK(virtqueue_activate(vq, &vd->vm->mem, true));
}

TEST(fs_device_handshake_activate_reset)
{
        struct vm *vm = fake_vm();
        struct vm_fs_config c = {.socket = sock, .tag = "hullfs0"};
        pthread_t t = start_backend(BACKEND_GOOD);
        struct virtio_dev *vd;
        char tag[37] = {};
        uint32_t nq = 0;

        ASSERT_OK(vhost_user_fs_new(vm, &c, &vd));
        wait_seen(4);
        /* handshake: owner, features, protocol features (REPLY_ACK only) */
        ASSERT_EQ(B.seen[0], VHOST_USER_SET_OWNER);
        ASSERT_EQ(B.seen[1], VHOST_USER_GET_FEATURES);
        ASSERT_EQ(B.seen[2], VHOST_USER_GET_PROTOCOL_FEATURES);
        ASSERT_EQ(B.seen[3], VHOST_USER_SET_PROTOCOL_FEATURES);
        ASSERT_EQ(B.seen_u64[3], 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
        /* §5.11.4: tag, then num_request_queues */
        ASSERT_EQ(vd->ops->type, 26);
        vd->ops->config_read(vd, 0, tag, 36);
        vd->ops->config_read(vd, 36, &nq, 4);
        ASSERT_STREQ(tag, "hullfs0");
        ASSERT_EQ(nq, 1);

        vd->s.driver_features = (1ull << VIRTIO_F_VERSION_1) | (1ull << 29);
        ready_queue(vd, 0, 0x10000);
        ready_queue(vd, 1, 0x20000);
        size_t before = B.n_seen;
        virtio_dev_lock(vd);
        ASSERT_OK(vd->ops->activate(vd));
        virtio_dev_unlock(vd);
        /* SET_FEATURES carries the driver's features and the protocol feature bit */
        ASSERT_EQ(B.seen[before], VHOST_USER_SET_FEATURES);
        ASSERT_EQ(B.seen_u64[before], vd->s.driver_features | (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
        /* guest RAM as one memfd */
        ASSERT_EQ(B.seen[before + 1], VHOST_USER_SET_MEM_TABLE);
        ASSERT_EQ(B.seen_fds[before + 1], 1);
        ASSERT_EQ(count(VHOST_USER_SET_VRING_NUM), 2);
        ASSERT_EQ(count(VHOST_USER_SET_VRING_ADDR), 2);
        ASSERT_EQ(count(VHOST_USER_SET_VRING_ENABLE), 2);
        for (size_t i = before; i < B.n_seen; i++)
                if (B.seen[i] == VHOST_USER_SET_VRING_KICK || B.seen[i] == VHOST_USER_SET_VRING_CALL)
                        ASSERT_EQ(B.seen_fds[i], 1);
        ASSERT_EQ(count(VHOST_USER_SET_VRING_KICK), 2);
        ASSERT_EQ(count(VHOST_USER_SET_VRING_CALL), 2);

        /* reset: each started ring disabled and stopped */
        virtio_dev_lock(vd);
        vd->ops->reset(vd);
        virtio_dev_unlock(vd);
        ASSERT_EQ(count(VHOST_USER_GET_VRING_BASE), 2);
        ASSERT_EQ(count(VHOST_USER_SET_VRING_ENABLE), 4);
        virtio_dev_free(vd);
        stop_backend(t);
        fake_vm_free(vm);
}

TEST(fs_backend_that_lies_is_refused)
{
        struct vm *vm = fake_vm();
        struct vm_fs_config c = {.socket = sock, .tag = "x"};
        struct virtio_dev *vd;
        pthread_t t;

        t = start_backend(BACKEND_SHORT_FEATURES);
        ASSERT_ERR(vhost_user_fs_new(vm, &c, &vd), -EPROTO);
        ASSERT_CONTAINS(err_msg(-EPROTO), "reply to GET_FEATURES has 4 bytes, expected 8");
        stop_backend(t);

        t = start_backend(BACKEND_WRONG_REPLY);
        ASSERT_ERR(vhost_user_fs_new(vm, &c, &vd), -EPROTO);
        ASSERT_CONTAINS(err_msg(-EPROTO), "expected a reply to GET_FEATURES");
        stop_backend(t);

        /* no backend at all */
        ASSERT_ERR(vhost_user_fs_new(vm, &c, &vd), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "cannot connect to the vhost-user socket");
        fake_vm_free(vm);
}

TEST(fs_backend_that_hangs_up_breaks_the_device_only)
{
        struct vm *vm = fake_vm();
        struct vm_fs_config c = {.socket = sock, .tag = "x"};
        pthread_t t = start_backend(BACKEND_HANG_UP);
        struct virtio_dev *vd;

        ASSERT_OK(vhost_user_fs_new(vm, &c, &vd));
        vd->s.driver_features = 1ull << VIRTIO_F_VERSION_1;
        ready_queue(vd, 0, 0x10000);
        virtio_dev_lock(vd);
        /* SET_MEM_TABLE waits for its ack, which never comes: the connection is gone */
        ASSERT_TRUE(vd->ops->activate(vd) < 0);
        /* later activations are refused at once, and a reset sends nothing */
        ASSERT_ERR(vd->ops->activate(vd), -ENOTCONN);
        vd->ops->reset(vd);
        virtio_dev_unlock(vd);
        virtio_dev_free(vd);
        stop_backend(t);
        fake_vm_free(vm);
        rmdir(dir);
}
