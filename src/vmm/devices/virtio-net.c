/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net.c - virtio network device on a tap (virtio 1.2 §5.1).
 *
 * Queues: 0 receive, 1 transmit. No offloads are offered, so every frame is a plain
 * Ethernet frame of at most 1514 bytes behind the 12-byte virtio_net_hdr_v1 (§5.1.6),
 * which this device writes itself (all zero, num_buffers = 1) on receive and skips on
 * transmit; the tap has no vnet header (IFF_NO_PI only).
 *
 * Receive runs on the event loop when the tap is readable: one frame per chain, read
 * with readv straight into the guest's buffers. When the guest has no receive buffer
 * left the tap is taken off the loop until the driver adds some (queue 0 notify), so
 * the loop never spins on a readable tap. Transmit writes each chain with writev; a
 * full tap queue drops the frame, as a congested wire would.
 */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "error.h"
#include "iovec.h"
#include "log.h"
#include "virtio-net.h"

#define NET_QUEUE_SIZE 256
#define NET_HDR_LEN    sizeof(struct virtio_net_hdr_v1)
#define RXQ            0
#define TXQ            1

struct virtio_net {
        struct virtio_dev *vd;
        int tap_fd;
        bool rx_polling;
        struct virtio_net_config config;
        struct virtqueue_chain chain;
        struct iovec frame[VIRTQUEUE_MAX_IOV];
        uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};

int virtio_net_open_tap(const char *name)
{
        struct ifreq ifr = {};
        int fd, r;

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return err_set(negative_errno(), "tap '%s': cannot open /dev/net/tun: %m", name);
        strcpy(ifr.ifr_name, name);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                r = negative_errno();
                safe_close(fd);
                return err_set(r, "tap '%s': cannot attach: %s", name, strerror(-r));
        }
        return fd;
}

/*
 * A tap the caller opened (--net fd=N): it must be a tap without packet information or vnet
 * header, as virtio_net_open_tap() makes them. The device takes the fd: close-on-exec from here,
 * non-blocking like an opened one.
 */
static int adopt_tap_fd(int fd)
{
        struct ifreq ifr = {};
        int fl;

        if (ioctl(fd, TUNGETIFF, &ifr) < 0)
                return err_set(negative_errno(), "--net fd=%d: not a tap device: %m", fd);
        if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN | IFF_NO_PI | IFF_VNET_HDR)) != (IFF_TAP | IFF_NO_PI))
                return err_set(-EINVAL,
                               "--net fd=%d: '%s' must be a tap without packet information or vnet header",
                               fd, ifr.ifr_name);
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return err_set(negative_errno(), "--net fd=%d: %m", fd);
        return fd;
}

static void set_rx_polling(struct virtio_net *n, bool on)
{
        if (n->rx_polling == on)
                return;
        if (event_loop_modify(n->vd->vm->loop, n->tap_fd, on ? EPOLLIN : 0) >= 0)
                n->rx_polling = on;
}

static void net_config_read(struct virtio_dev *vd, uint32_t offset, void *data, uint32_t len)
{
        struct virtio_net *n = vd->priv;
        if (offset < sizeof(n->config))
                memcpy(data, (uint8_t *)&n->config + offset, MIN((size_t)len, sizeof(n->config) - offset));
}

/* Move frames from the tap to the guest while both have some. vd->lock held. */
static void net_receive(struct virtio_net *n)
{
        struct virtio_dev *vd = n->vd;
        struct virtqueue *q = virtio_dev_queue(vd, RXQ);
        struct virtqueue_chain *c = &n->chain;
        bool pushed = false;

        for (;;) {
                int r = virtqueue_pop(q, c);
                if (r < 0) {
                        virtio_dev_fail(vd, "malformed receive queue");
                        return;
                }
                if (r == 0) {
                        set_rx_polling(n, false); /* back on when the driver adds buffers */
                        break;
                }
                if (c->n_out > 0 || c->in_len < NET_HDR_LEN + 60) {
                        virtio_dev_fail(vd, "receive buffer too small or not writable");
                        return;
                }
                int cnt = iovec_slice(c->iov, c->n_in, NET_HDR_LEN, c->in_len - NET_HDR_LEN, n->frame,
                                      VIRTQUEUE_MAX_IOV);
                ssize_t got = readv(n->tap_fd, n->frame, cnt);
                if (got <= 0) {
                        virtqueue_unpop(q);
                        set_rx_polling(n, true);
                        break;
                }
                struct virtio_net_hdr_v1 h = {.num_buffers = 1};
                iovec_from_buf(c->iov, c->n_in, 0, &h, sizeof(h));
                virtqueue_push(q, c->head, (uint32_t)(NET_HDR_LEN + (size_t)got));
                n->rx_packets++;
                pushed = true;
        }
        if (pushed)
                virtio_dev_notify_queue(vd, RXQ);
}

static int net_transmit_chain(struct virtio_dev *vd, struct virtqueue_chain *c)
{
        struct virtio_net *n = vd->priv;

        if (c->out_len < NET_HDR_LEN) {
                virtio_dev_fail(vd, "transmit chain without a header");
                return -EINVAL;
        }
        size_t len = c->out_len - NET_HDR_LEN;
        int cnt = iovec_slice(c->iov, c->n_out, NET_HDR_LEN, len, n->frame, VIRTQUEUE_MAX_IOV);
        if (len > 0 && writev(n->tap_fd, n->frame, cnt) < 0)
                n->tx_dropped++;
        else
                n->tx_packets++;
        return 0;
}

static void net_queue_notify(struct virtio_dev *vd, unsigned qi)
{
        struct virtio_net *n = vd->priv;
        if (qi == TXQ)
                virtio_dev_serve_queue(vd, TXQ, &n->chain, net_transmit_chain);
        else if (qi == RXQ) {
                set_rx_polling(n, true);
                net_receive(n);
        }
}

static int on_tap(void *opaque, int fd, uint32_t events)
{
        struct virtio_net *n = opaque;

        virtio_dev_lock(n->vd);
        if (virtio_dev_running(n->vd))
                net_receive(n);
        else
                set_rx_polling(n, false);
        virtio_dev_unlock(n->vd);
        return 0;
}

static int net_activate(struct virtio_dev *vd)
{
        set_rx_polling(vd->priv, true);
        return 0;
}

static void net_reset(struct virtio_dev *vd)
{
        set_rx_polling(vd->priv, false);
}

static void net_free(struct virtio_dev *vd)
{
        struct virtio_net *n = vd->priv;
        if (!n)
                return;
        if (n->tap_fd >= 0) {
                if (vd->vm->loop)
                        (void)event_loop_remove(vd->vm->loop, n->tap_fd);
                safe_close(n->tap_fd);
        }
        free(n);
        vd->priv = NULL;
}

static const struct virtio_dev_ops net_ops = {
        .name = "virtio-net",
        .type = 1,
        .pci_class = 0x020000, /* network, Ethernet */
        .num_queues = 2,
        .queue_size = NET_QUEUE_SIZE,
        .config_size = sizeof(struct virtio_net_config),
        .config_read = net_config_read,
        .queue_notify = net_queue_notify,
        .activate = net_activate,
        .reset = net_reset,
        .free = net_free,
};

int virtio_net_new(struct vm *vm, const struct vm_net_config *c, struct virtio_dev **ret)
{
        uint64_t features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS);
        struct virtio_dev *vd;
        int r;

        struct virtio_net *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->tap_fd = c->tap ? virtio_net_open_tap(c->tap) : adopt_tap_fd(c->tap_fd);
        if (n->tap_fd < 0) {
                r = n->tap_fd;
                free(n);
                return r;
        }
        if (c->has_mac)
                memcpy(n->config.mac, c->mac, 6);
        else {
                /* A random, locally administered, unicast address. */
                if (getrandom(n->config.mac, 6, 0) != 6)
                        memset(n->config.mac, 0x5a, 6);
                n->config.mac[0] = (uint8_t)((n->config.mac[0] & 0xfe) | 0x02);
        }
        n->config.status = VIRTIO_NET_S_LINK_UP;
        r = virtio_dev_new(vm, &net_ops, features, n, &vd);
        if (r < 0)
                return r;
        n->vd = vd;
        if (vm->loop) {
                r = event_loop_add(vm->loop, n->tap_fd, 0, on_tap, n);
                if (r < 0) {
                        virtio_dev_free(vd);
                        return r;
                }
        }
        *ret = vd;
        return 0;
}
