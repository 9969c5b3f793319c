/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtqueue.c - split virtqueue, device side (see virtqueue.h; virtio 1.2 §2.7).
 *
 * Memory ordering follows §2.7.13: the device reads avail->idx with acquire semantics
 * before the ring entries it covers, writes used entries before a release store of
 * used->idx, and issues a full fence between publishing used->idx and reading the
 * driver's used_event (or flags), so that a notification is never lost.
 */
#include "virtqueue.h"

#define VRING_DESC_F_NEXT          1
#define VRING_DESC_F_WRITE         2
#define VRING_DESC_F_INDIRECT      4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

static size_t desc_size(uint16_t n)
{
        return 16u * n;
}

static size_t avail_size(uint16_t n)
{
        return 6 + 2u * n; /* flags, idx, ring[n], used_event */
}

static size_t used_size(uint16_t n)
{
        return 6 + 8u * n; /* flags, idx, ring[n], avail_event */
}

void virtqueue_reset(struct virtqueue *q, uint16_t max_size)
{
        *q = (struct virtqueue){};
        q->s.max_size = max_size;
        q->s.size = max_size;
        q->s.msix_vector = 0xffff;
}

int virtqueue_activate(struct virtqueue *q, const struct guest_memory *m, bool event_idx)
{
        uint16_t n = q->s.size;

        if (n == 0 || n > q->s.max_size || (n & (n - 1)))
                return -EINVAL;
        /* §2.7: descriptor table 16-byte, avail ring 2-byte, used ring 4-byte aligned. */
        if (q->s.desc_addr % 16 || q->s.avail_addr % 2 || q->s.used_addr % 4)
                return -EINVAL;
        struct virtq_desc *desc = guest_memory_ptr(m, q->s.desc_addr, desc_size(n));
        uint16_t *avail = guest_memory_ptr(m, q->s.avail_addr, avail_size(n));
        uint8_t *used = guest_memory_ptr(m, q->s.used_addr, used_size(n));
        if (!desc || !avail || !used)
                return -EINVAL;
        q->mem = m;
        q->desc = desc;
        q->avail = avail;
        q->used = used;
        q->event_idx = event_idx;
        q->s.ready = true;
        return 0;
}

static uint16_t avail_idx(const struct virtqueue *q)
{
        return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
}

bool virtqueue_has_buffers(struct virtqueue *q)
{
        return q->s.ready && avail_idx(q) != q->s.last_avail;
}

/* Append one buffer to the chain; -EINVAL on a bad address or ordering. */
static int add_buffer(struct virtqueue *q, struct virtqueue_chain *c, const struct virtq_desc *d)
{
        uint64_t addr = d->addr;
        uint32_t len = d->len;
        bool writable = d->flags & VRING_DESC_F_WRITE;

        /* §2.7.4.2: the driver puts all device-writable buffers after the readable ones. */
        if (!writable && c->n_in > 0)
                return -EINVAL;
        if (c->n_out + c->n_in >= VIRTQUEUE_MAX_IOV)
                return -EINVAL;
        void *p = guest_memory_ptr(q->mem, addr, len);
        if (!p && len > 0)
                return -EINVAL;
        c->iov[c->n_out + c->n_in] = (struct iovec){p, len};
        if (writable) {
                c->n_in++;
                c->in_len += len;
        } else {
                c->n_out++;
                c->out_len += len;
        }
        return 0;
}

static int walk_indirect(struct virtqueue *q, struct virtqueue_chain *c, const struct virtq_desc *d)
{
        /* §2.7.5.3.1: a whole number of descriptors, no nesting, no NEXT on the table itself. */
        if (d->len == 0 || d->len % sizeof(struct virtq_desc) || (d->flags & VRING_DESC_F_NEXT))
                return -EINVAL;
        uint32_t n = d->len / sizeof(struct virtq_desc);
        if (n > VIRTQUEUE_MAX_IOV)
                return -EINVAL;
        const struct virtq_desc *table = guest_memory_ptr(q->mem, d->addr, d->len);
        if (!table || d->addr % 16)
                return -EINVAL;
        uint32_t i = 0;
        for (uint32_t count = 0;; count++) {
                if (count >= n || i >= n)
                        return -EINVAL; /* loop or out of the table */
                struct virtq_desc e;
                memcpy(&e, &table[i], sizeof(e)); /* one snapshot: the guest may be rewriting it */
                if (e.flags & VRING_DESC_F_INDIRECT)
                        return -EINVAL;
                int r = add_buffer(q, c, &e);
                if (r < 0)
                        return r;
                if (!(e.flags & VRING_DESC_F_NEXT))
                        return 0;
                i = e.next;
        }
}

/*
 * With VIRTIO_F_EVENT_IDX the driver notifies only when it moves avail->idx past
 * avail_event (§2.7.10.2), so keep avail_event at what the device has taken: every
 * pop re-arms the notification, and no device model can forget to.
 */
static void set_avail_event(struct virtqueue *q)
{
        __atomic_store_n((uint16_t *)(q->used + 4 + 8 * q->s.size), q->s.last_avail, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int virtqueue_pop(struct virtqueue *q, struct virtqueue_chain *c)
{
        uint16_t n = q->s.size;

        if (!q->s.ready)
                return 0;
        if (q->event_idx)
                set_avail_event(q);
        uint16_t idx = avail_idx(q);
        if (idx == q->s.last_avail)
                return 0;
        /* More entries than the ring holds means the driver's idx is garbage (§2.7.13.3). */
        if ((uint16_t)(idx - q->s.last_avail) > n)
                return -EINVAL;
        uint16_t head = __atomic_load_n(&q->avail[2 + q->s.last_avail % n], __ATOMIC_RELAXED);
        if (head >= n)
                return -EINVAL;
        c->head = head;
        c->n_out = c->n_in = 0;
        c->out_len = c->in_len = 0;

        uint16_t i = head;
        for (unsigned count = 0;; count++) {
                if (count >= n)
                        return -EINVAL; /* a chain longer than the ring is a loop */
                struct virtq_desc d;
                memcpy(&d, &q->desc[i], sizeof(d));
                int r;
                if (d.flags & VRING_DESC_F_INDIRECT) {
                        r = walk_indirect(q, c, &d);
                        if (r < 0)
                                return r;
                        /* §2.7.5.3.1: an indirect descriptor ends the chain in the main table. */
                        break;
                }
                r = add_buffer(q, c, &d);
                if (r < 0)
                        return r;
                if (!(d.flags & VRING_DESC_F_NEXT))
                        break;
                if (d.next >= n)
                        return -EINVAL;
                i = d.next;
        }
        q->s.last_avail++;
        return 1;
}

void virtqueue_unpop(struct virtqueue *q)
{
        q->s.last_avail--;
}

void virtqueue_push(struct virtqueue *q, uint16_t head, uint32_t len)
{
        uint16_t n = q->s.size;
        uint8_t *elem = q->used + 4 + 8 * (q->s.used_idx % n);
        uint32_t id = head;

        memcpy(elem, &id, 4);
        memcpy(elem + 4, &len, 4);
        q->s.used_idx++;
        __atomic_store_n((uint16_t *)(q->used + 2), q->s.used_idx, __ATOMIC_RELEASE);
}

bool virtqueue_should_notify(struct virtqueue *q)
{
        uint16_t n = q->s.size;

        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!q->event_idx) {
                uint16_t flags = __atomic_load_n(&q->avail[0], __ATOMIC_RELAXED);
                return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
        }
        uint16_t used_event = __atomic_load_n(&q->avail[2 + n], __ATOMIC_RELAXED);
        uint16_t new = q->s.used_idx, old = q->s.signalled_used;
        bool valid = q->s.signalled_used_valid;
        q->s.signalled_used = new;
        q->s.signalled_used_valid = true;
        if (!valid)
                return true;
        /* vring_need_event(): notify when used_event lies in (old, new]. */
        return (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
}

void virtqueue_enable_notify(struct virtqueue *q, bool on)
{
        uint16_t n = q->s.size;

        if (!q->s.ready)
                return;
        if (q->event_idx) {
                /* avail_event: wake me when the driver goes past what I have taken. */
                if (on)
                        __atomic_store_n((uint16_t *)(q->used + 4 + 8 * n), q->s.last_avail,
                                         __ATOMIC_RELAXED);
        } else {
                uint16_t *flags = (uint16_t *)q->used;
                __atomic_store_n(flags, on ? 0 : VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
