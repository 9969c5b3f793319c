/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng.c - entropy device (virtio 1.2 §5.4). One request queue; each chain's
 * device-writable buffers are filled with bytes from getrandom() (the host kernel's
 * CSPRNG, which never blocks once the host has booted). Readable buffers are not
 * expected and are ignored. The device has no configuration and no state of its own.
 */
#include <sys/random.h>

#include "virtio-rng.h"

/* Bound on one chain's bytes, so that one request cannot keep the I/O thread busy. */
#define RNG_MAX_REQUEST (64 * 1024)

static int rng_chain(struct virtio_dev *vd, struct virtqueue_chain *c)
{
        size_t done = 0;
        for (int i = c->n_out; i < c->n_out + c->n_in && done < RNG_MAX_REQUEST; i++) {
                size_t want = MIN(c->iov[i].iov_len, RNG_MAX_REQUEST - done);
                ssize_t n = getrandom(c->iov[i].iov_base, want, 0);
                if (n <= 0)
                        break;
                done += (size_t)n;
                if ((size_t)n < want)
                        break;
        }
        return (int)done;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned qi)
{
        virtio_dev_serve_queue(vd, qi, vd->priv, rng_chain);
}

static void rng_free(struct virtio_dev *vd)
{
        free(vd->priv);
        vd->priv = NULL;
}

static const struct virtio_dev_ops rng_ops = {
        .name = "virtio-rng",
        .type = 4,
        .pci_class = 0xff0000,
        .num_queues = 1,
        .queue_size = 256,
        .config_size = 0,
        .queue_notify = rng_queue_notify,
        .free = rng_free,
};

int virtio_rng_new(struct vm *vm, struct virtio_dev **ret)
{
        struct virtqueue_chain *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        return virtio_dev_new(vm, &rng_ops, 0, c, ret);
}
