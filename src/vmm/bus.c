/* SPDX-License-Identifier: Apache-2.0 */
/* bus.c - port I/O and MMIO dispatch by address range (see bus.h). */
#include "bus.h"

int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque)
{
        size_t i;

        if (len == 0 || base + len < base)
                return -EINVAL;
        for (i = 0; i < b->n; i++) {
                const struct bus_range *r = &b->ranges[i];
                if (base < r->base + r->len && r->base < base + len)
                        return -EEXIST;
                if (r->base > base)
                        break;
        }
        struct bus_range *n = realloc(b->ranges, (b->n + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        b->ranges = n;
        memmove(&n[i + 1], &n[i], (b->n - i) * sizeof(*n));
        n[i] = (struct bus_range){base, len, ops, opaque};
        b->n++;
        return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint32_t len)
{
        size_t lo = 0, hi = b->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct bus_range *r = &b->ranges[mid];
                if (addr < r->base)
                        hi = mid;
                else if (addr - r->base >= r->len)
                        lo = mid + 1;
                else
                        /* An access that straddles the end of a range is nobody's. */
                        return len <= r->len - (addr - r->base) ? r : NULL;
        }
        return NULL;
}

bool bus_access(const struct bus *b, uint64_t addr, void *data, uint32_t len, bool write)
{
        const struct bus_range *r = bus_find(b, addr, len);
        if (!r) {
                if (!write)
                        memset(data, 0xff, len);
                return false;
        }
        if (write) {
                if (r->ops->write)
                        r->ops->write(r->opaque, addr - r->base, data, len);
        } else {
                if (r->ops->read)
                        r->ops->read(r->opaque, addr - r->base, data, len);
                else
                        memset(data, 0xff, len);
        }
        return true;
}

void bus_done(struct bus *b)
{
        free(b->ranges);
        b->ranges = NULL;
        b->n = 0;
}
