/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user-fs.c - virtio-fs (virtio 1.2 §5.11) as a vhost-user frontend: hull-vmm owns
 * the PCI transport and the configuration (tag[36], num_request_queues), a backend such
 * as virtiofsd owns the data path (vhost-user.h; QEMU's docs/interop/vhost-user.rst).
 *
 * Queues: 0 is the high-priority queue, 1 the one request queue (num_request_queues = 1).
 * Their notify eventfds (the KVM ioeventfds of the notify area) go to the backend with
 * SET_VRING_KICK and their MSI-X vectors' irqfds with SET_VRING_CALL, so a request travels
 * guest -> KVM -> backend -> KVM -> guest without a VMM thread: virtio-pci.c does not
 * watch these eventfds (ops.external_queues).
 *
 * Lifecycle, all on the vCPU thread that writes the status register, with vd->lock held:
 *   DRIVER_OK (activate): SET_FEATURES, SET_MEM_TABLE (the memfds of guest RAM), then per
 *     ready queue SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR (host addresses, which the
 *     backend maps back through the table), SET_VRING_KICK, SET_VRING_CALL and, when
 *     protocol features were agreed, SET_VRING_ENABLE;
 *   reset (driver reset, or the device failed): SET_VRING_ENABLE 0 and GET_VRING_BASE per
 *     started queue, which stops the backend using rings the driver is about to free.
 *
 * A backend that hangs up (the event loop watches the socket for EPOLLRDHUP), times out
 * or answers what it was not asked costs the device only: one line in the VMM's log, the
 * socket closed, DEVICE_NEEDS_RESET (§2.1.2) and every later activation refused.
 */
#include <inttypes.h>
#include <sys/epoll.h>

#include "error.h"
#include "log.h"
#include "vhost-user-fs.h"
#include "vhost-user.h"

#define FS_QUEUES     2
#define FS_QUEUE_SIZE 1024
#define FS_TAG_MAX    36
#define FS_CONFIG     (FS_TAG_MAX + 4)

/* The transport features the backend must serve: the rings are its to walk. */
#define FS_NEEDED                                                           \
        ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) | \
         (1ull << VIRTIO_RING_F_INDIRECT_DESC))

struct fs {
        struct vhost_user u;
        uint8_t config[FS_CONFIG];
        bool started[FS_QUEUES];
        bool dead; /* the backend is gone or broke the protocol: nothing more is sent */
        struct vm *vm;
};

static void fs_config_read(struct virtio_dev *vd, uint32_t offset, void *data, uint32_t len)
{
        struct fs *f = vd->priv;
        memcpy(data, f->config + offset, len);
}

/* The backend is no longer usable: say so once, and let go of it. Called with vd->lock held. */
static void backend_lost(struct virtio_dev *vd, const char *why)
{
        struct fs *f = vd->priv;

        if (f->dead)
                return;
        f->dead = true;
        log_error("virtio-fs '%.36s': %s: the device needs a reset", (const char *)f->config, why);
        if (f->u.fd >= 0 && f->vm->loop)
                (void)event_loop_remove(f->vm->loop, f->u.fd);
        vhost_user_close(&f->u);
        memset(f->started, 0, sizeof(f->started));
}

static int on_hangup(void *opaque, int fd, uint32_t events)
{
        struct virtio_dev *vd = opaque;

        virtio_dev_lock(vd);
        backend_lost(vd, "the vhost-user backend hung up");
        virtio_dev_fail(vd, "vhost-user backend gone");
        virtio_dev_unlock(vd);
        return 0;
}

static int send_mem_table(struct fs *f)
{
        const struct guest_memory *m = &f->vm->mem;
        struct {
                uint32_t n_regions;
                uint32_t padding;
                struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
        } __attribute__((packed)) t = {.n_regions = m->n_regions};
        int fds[VHOST_USER_MAX_REGIONS];

        for (unsigned i = 0; i < m->n_regions; i++) {
                if (m->regions[i].fd < 0)
                        return err_set(-EINVAL, "guest memory is not shared: vhost-user needs a memfd");
                t.regions[i] = (struct vhost_user_region){.guest_addr = m->regions[i].gpa,
                                                          .size = m->regions[i].size,
                                                          .user_addr = (uintptr_t)m->regions[i].hva};
                fds[i] = m->regions[i].fd;
        }
        return vhost_user_send(&f->u, VHOST_USER_SET_MEM_TABLE, &t, 8 + 32 * m->n_regions, fds,
                               m->n_regions);
}

static int start_queue(struct virtio_dev *vd, unsigned q)
{
        struct fs *f = vd->priv;
        struct virtqueue *vq = &vd->queues[q];
        struct vhost_user_vring_state num = {q, vq->s.size}, base = {q, vq->s.last_avail}, on = {q, 1};
        struct vhost_user_vring_addr addr = {.index = q,
                                             .desc = (uintptr_t)vq->desc,
                                             .used = (uintptr_t)vq->used,
                                             .avail = (uintptr_t)vq->avail};
        uint64_t kick = q, call = q;
        int call_fd = vq->s.msix_vector < vd->n_vectors ? vd->irq_fd[vq->s.msix_vector] : -EBADF;
        int r;

        if (call_fd < 0)
                call |= VHOST_USER_VRING_NOFD;
        r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_NUM, &num, sizeof(num), NULL, 0);
        if (r >= 0)
                r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_BASE, &base, sizeof(base), NULL, 0);
        if (r >= 0)
                r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
        if (r >= 0)
                r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_KICK, &kick, sizeof(kick), &vd->notify[q].fd,
                                    1);
        if (r >= 0)
                r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_CALL, &call, sizeof(call), &call_fd,
                                    call_fd >= 0 ? 1 : 0);
        /* With protocol features a ring starts disabled (vhost-user.rst, "Ring states"). */
        if (r >= 0 && (f->u.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
                r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_ENABLE, &on, sizeof(on), NULL, 0);
        if (r >= 0)
                f->started[q] = true;
        return r;
}

static int fs_activate(struct virtio_dev *vd)
{
        struct fs *f = vd->priv;
        uint64_t features = vd->s.driver_features;
        int r;

        if (f->dead)
                return -ENOTCONN;
        features |= f->u.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
        r = vhost_user_send(&f->u, VHOST_USER_SET_FEATURES, &features, sizeof(features), NULL, 0);
        if (r >= 0)
                r = send_mem_table(f);
        for (unsigned q = 0; r >= 0 && q < FS_QUEUES; q++)
                if (vd->queues[q].s.ready)
                        r = start_queue(vd, q);
        if (r < 0)
                backend_lost(vd, err_msg(r));
        return r;
}

static void fs_reset(struct virtio_dev *vd)
{
        struct fs *f = vd->priv;

        for (unsigned q = 0; !f->dead && q < FS_QUEUES; q++) {
                struct vhost_user_vring_state off = {q, 0};
                uint32_t last;
                int r;

                if (!f->started[q])
                        continue;
                r = 0;
                if (f->u.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
                        r = vhost_user_send(&f->u, VHOST_USER_SET_VRING_ENABLE, &off, sizeof(off), NULL, 0);
                if (r >= 0)
                        r = vhost_user_get_vring_base(&f->u, q, &last);
                if (r < 0)
                        backend_lost(vd, err_msg(r));
                f->started[q] = false;
        }
}

static void fs_free(struct virtio_dev *vd)
{
        struct fs *f = vd->priv;

        if (!f)
                return;
        if (f->u.fd >= 0 && f->vm->loop)
                (void)event_loop_remove(f->vm->loop, f->u.fd);
        vhost_user_close(&f->u);
        free(f);
        vd->priv = NULL;
}

static const struct virtio_dev_ops fs_ops = {
        .name = "vhost-user-fs",
        .type = 26,
        .pci_class = 0x018000, /* mass storage, other */
        .num_queues = FS_QUEUES,
        .queue_size = FS_QUEUE_SIZE,
        .config_size = FS_CONFIG,
        .external_queues = true,
        .config_read = fs_config_read,
        .activate = fs_activate,
        .reset = fs_reset,
        .free = fs_free,
};

int vhost_user_fs_new(struct vm *vm, const struct vm_fs_config *c, struct virtio_dev **ret)
{
        struct fs *f = calloc(1, sizeof(*f));
        struct virtio_dev *vd;
        uint32_t nq = FS_QUEUES - 1;
        int r;

        if (!f)
                return -ENOMEM;
        f->vm = vm;
        /* §5.11.4: tag is UTF-8, NUL-padded, not NUL-terminated when it fills all 36 bytes. */
        memcpy(f->config, c->tag, strnlen(c->tag, FS_TAG_MAX));
        memcpy(f->config + FS_TAG_MAX, &nq, 4);
        r = vhost_user_connect(&f->u, c->socket);
        if (r < 0) {
                free(f);
                return r;
        }
        if ((f->u.features & FS_NEEDED) != FS_NEEDED) {
                r = err_set(
                        -EPROTO,
                        "--fs: the backend at '%s' lacks virtio 1.x, event index or indirect descriptors "
                        "(features 0x%" PRIx64 ")",
                        c->socket, f->u.features);
                vhost_user_close(&f->u);
                free(f);
                return r;
        }
        r = virtio_dev_new(vm, &fs_ops, 0, f, &vd);
        if (r < 0)
                return r;
        /* Only the hang-up: replies are read by the thread that asked (no EPOLLIN). */
        if (vm->loop) {
                r = event_loop_add(vm->loop, f->u.fd, EPOLLRDHUP, on_hangup, vd);
                if (r < 0) {
                        virtio_dev_free(vd);
                        return r;
                }
        }
        *ret = vd;
        return 0;
}
