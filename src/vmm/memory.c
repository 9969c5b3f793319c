/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memory.c - guest RAM mapping and checked translation (see memory.h).
 *
 * RAM is mapped MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE: starting a VM touches no guest
 * page until the kernel is loaded, which keeps both start time and the RSS that a
 * small guest costs low. MADV_DONTFORK keeps guest RAM out of any child process;
 * MADV_HUGEPAGE on 2 MiB-aligned RAM lets KVM use 2 MiB mappings.
 *
 * Shared RAM (a vhost-user device is configured, vhost-user.h): a memfd per region,
 * MAP_SHARED, sized with ftruncate (sparse: still only touched pages are allocated) and
 * kept open for SET_MEM_TABLE. The same 2 MiB alignment and MADV_HUGEPAGE apply: shmem
 * honours it where /sys/kernel/mm/transparent_hugepage/shmem_enabled says advise.
 */
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "layout.h"
#include "memory.h"
#include "util.h"

#define HUGE_PAGE (2ULL << 20)

/* shared: a memfd of its own; file >= 0: a private mapping of file at offset. */
static int region_map(struct guest_region *r, uint64_t gpa, uint64_t size, bool shared, int file,
                      uint64_t offset)
{
        _cleanup_close_ int fd = -EBADF;

        /*
         * Align the mapping to 2 MiB, like the guest addresses it backs, and ask for
         * transparent huge pages: KVM can then map guest RAM with 2 MiB pages, which
         * makes every guest memory access cheaper (and nested paging much cheaper).
         * Only the pages the guest touches are allocated either way.
         */
        size_t len = size + HUGE_PAGE;
        uint8_t *p =
                mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
                return negative_errno();
        uint8_t *a = (uint8_t *)ALIGN_UP((uintptr_t)p, (uintptr_t)HUGE_PAGE);
        if (a > p)
                munmap(p, (size_t)(a - p));
        if (a + size < p + len)
                munmap(a + size, (size_t)(p + len - (a + size)));
        if (shared) {
                /* The reservation above gave the alignment; the memfd replaces it in place. */
                fd = memfd_create("hull-vmm-ram", MFD_CLOEXEC);
                if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
                    mmap(a, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0) ==
                            MAP_FAILED) {
                        int e = negative_errno();
                        munmap(a, size);
                        return e;
                }
        } else if (file >= 0 &&
                   mmap(a, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, file,
                        (off_t)offset) == MAP_FAILED) {
                int e = negative_errno();
                munmap(a, size);
                return e;
        }
        (void)madvise(a, size, MADV_DONTFORK);
        if (size % HUGE_PAGE == 0)
                (void)madvise(a, size, MADV_HUGEPAGE);
        r->gpa = gpa;
        r->size = size;
        r->hva = a;
        r->fd = TAKE_FD(fd);
        return 0;
}

static int memory_init(struct guest_memory *m, uint64_t size, bool shared, int file)
{
        int r;

        if (size < (16ULL << 20) || size % (1ULL << 20) != 0)
                return err_set(-EINVAL,
                               "memory: must be a multiple of 1 MiB and at least 16 MiB, not %" PRIu64
                               " bytes",
                               size);
        *m = (struct guest_memory){};
        uint64_t low = MIN(size, LAYOUT_LOWMEM_MAX);
        r = region_map(&m->regions[0], 0, low, shared, file, 0);
        if (r < 0)
                return r;
        m->n_regions = 1;
        if (size > low) {
                r = region_map(&m->regions[1], LAYOUT_HIGHMEM, size - low, shared, file, low);
                if (r < 0) {
                        guest_memory_done(m);
                        return r;
                }
                m->n_regions = 2;
        }
        m->size = size;
        return 0;
}

int guest_memory_init(struct guest_memory *m, uint64_t size)
{
        return memory_init(m, size, false, -EBADF);
}

int guest_memory_init_shared(struct guest_memory *m, uint64_t size)
{
        return memory_init(m, size, true, -EBADF);
}

/* A snapshot's memory file must be a regular file of exactly the machine's RAM size. */
static int check_file(int fd, uint64_t size)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
                return err_set(-EINVAL, "memory file of %" PRIu64 " bytes, the machine has %" PRIu64,
                               (uint64_t)st.st_size, size);
        return 0;
}

int guest_memory_init_file(struct guest_memory *m, uint64_t size, int fd)
{
        /* A shorter file would turn guest accesses past its end into SIGBUS. */
        int r = check_file(fd, size);
        return r < 0 ? r : memory_init(m, size, false, fd);
}

bool guest_memory_shmem_huge(void)
{
        _cleanup_free_ char *v = NULL;
        size_t n = 0;

        /* [always], [within_size], [advise] (our MADV_HUGEPAGE) and [force] give memfds huge pages. */
        return read_full_file("/sys/kernel/mm/transparent_hugepage/shmem_enabled", 4096, &v, &n) >= 0 &&
               !strstr(v, "[never]") && !strstr(v, "[deny]");
}

/*
 * One data extent of the file into a region's memfd through the page cache (sendfile(2) into
 * the memfd: shmem's write path allocates the pages without faulting them into our mapping;
 * KVM and the vhost-user backend map them when they touch them).
 */
static int send_extent(const struct guest_region *g, int fd, uint64_t region_off, uint64_t file_off,
                       size_t len)
{
        off_t in = (off_t)file_off;

        if (lseek(g->fd, (off_t)region_off, SEEK_SET) < 0)
                return negative_errno();
        while (len > 0) {
                ssize_t n = sendfile(g->fd, fd, &in, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return -EIO;
                len -= (size_t)n;
        }
        return 0;
}

int guest_memory_load(const struct guest_memory *m, int fd)
{
        uint64_t base = 0;
        int r = check_file(fd, m->size);

        if (r < 0)
                return r;
        /*
         * Measured in the nested test host (docs/benchmarks.md, "Restores with shared
         * directories"): with shmem huge pages, read(2) into the MADV_HUGEPAGE mapping faults 2 MiB
         * pages and is the fastest; without them it faults every 4 KiB page, and sendfile(2) into
         * the memfd, which allocates the pages without mapping them, takes a third less.
         */
        bool by_mapping = guest_memory_shmem_huge();
        for (unsigned i = 0; i < m->n_regions; i++) {
                const struct guest_region *g = &m->regions[i];
                uint64_t end = base + g->size;
                for (uint64_t off = base; off < end;) {
                        off_t d = lseek(fd, (off_t)off, SEEK_DATA);
                        if (d < 0 && errno == ENXIO)
                                break; /* only a hole up to the end of the file */
                        if (d < 0)
                                return negative_errno();
                        if ((uint64_t)d >= end)
                                break;
                        off_t h = lseek(fd, d, SEEK_HOLE);
                        if (h < 0)
                                return negative_errno();
                        uint64_t stop = MIN((uint64_t)h, end);
                        size_t len = (size_t)(stop - (uint64_t)d);
                        if (by_mapping || g->fd < 0)
                                r = guest_memory_pread(m, fd, g->gpa + ((uint64_t)d - base), len,
                                                       (uint64_t)d);
                        else
                                r = send_extent(g, fd, (uint64_t)d - base, (uint64_t)d, len);
                        if (r < 0)
                                return r;
                        off = stop;
                }
                base = end;
        }
        return 0;
}

#define SAVE_CHUNK (64ULL << 20)

static int save_range(int fd, const uint8_t *p, size_t len, uint64_t off)
{
        if (lseek(fd, (off_t)off, SEEK_SET) < 0)
                return negative_errno();
        return write_all(fd, p, len);
}

static bool page_is_zero(const uint8_t *p, size_t page)
{
        const uint64_t *w = (const uint64_t *)p;

        for (size_t i = 0; i < page / sizeof(*w); i++)
                if (w[i])
                        return false;
        return true;
}

int guest_memory_save(const struct guest_memory *m, int fd)
{
        long page = sysconf(_SC_PAGESIZE);
        _cleanup_free_ unsigned char *vec = malloc(SAVE_CHUNK / (uint64_t)page);
        uint64_t base = 0;
        int r;

        if (!vec)
                return -ENOMEM;
        for (unsigned i = 0; i < m->n_regions; i++) {
                const struct guest_region *g = &m->regions[i];
                for (uint64_t c = 0; c < g->size; c += SAVE_CHUNK) {
                        size_t len = (size_t)MIN(SAVE_CHUNK, g->size - c), pages = len / (size_t)page;
                        const uint8_t *p = g->hva + c;
                        if (mincore(g->hva + c, len, vec) < 0)
                                return negative_errno();
                        /*
                         * Resident pages that hold only zeros stay holes too: a page the guest only
                         * read maps the zero page (anonymous RAM) or a zeroed page (shmem), and a
                         * hole reads the same while costing a restore nothing to copy.
                         */
                        for (size_t s = 0; s < pages; s++)
                                if ((vec[s] & 1) && page_is_zero(p + s * (size_t)page, (size_t)page))
                                        vec[s] = 0;
                        /* One write per run of pages to save. */
                        for (size_t s = 0; s < pages;) {
                                if (!(vec[s] & 1)) {
                                        s++;
                                        continue;
                                }
                                size_t e = s;
                                while (e < pages && (vec[e] & 1))
                                        e++;
                                r = save_range(fd, p + s * (size_t)page, (e - s) * (size_t)page,
                                               base + c + s * (uint64_t)page);
                                if (r < 0)
                                        return r;
                                s = e;
                        }
                }
                base += g->size;
        }
        if (ftruncate(fd, (off_t)base) < 0)
                return negative_errno();
        return 0;
}

int guest_memory_init_flat(struct guest_memory *m, uint64_t size)
{
        int r;

        if (size == 0 || size % 4096 != 0)
                return -EINVAL;
        *m = (struct guest_memory){};
        r = region_map(&m->regions[0], 0, size, false, -EBADF, 0);
        if (r < 0)
                return r;
        m->n_regions = 1;
        m->size = size;
        return 0;
}

void guest_memory_done(struct guest_memory *m)
{
        for (unsigned i = 0; i < m->n_regions; i++) {
                munmap(m->regions[i].hva, m->regions[i].size);
                safe_close(m->regions[i].fd);
        }
        *m = (struct guest_memory){};
}

void *guest_memory_ptr(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
        for (unsigned i = 0; i < m->n_regions; i++) {
                const struct guest_region *r = &m->regions[i];
                /* Written so that no sum can wrap: gpa and len are guest-controlled. */
                if (gpa < r->gpa || gpa - r->gpa >= r->size)
                        continue;
                if (len > r->size - (gpa - r->gpa))
                        return NULL;
                return r->hva + (gpa - r->gpa);
        }
        return NULL;
}

int guest_memory_read(const struct guest_memory *m, uint64_t gpa, void *buf, size_t len)
{
        const void *p = guest_memory_ptr(m, gpa, len);
        if (!p)
                return -EFAULT;
        memcpy(buf, p, len);
        return 0;
}

int guest_memory_write(const struct guest_memory *m, uint64_t gpa, const void *buf, size_t len)
{
        void *p = guest_memory_ptr(m, gpa, len);
        if (!p)
                return -EFAULT;
        memcpy(p, buf, len);
        return 0;
}

int guest_memory_pread(const struct guest_memory *m, int fd, uint64_t gpa, size_t len, uint64_t offset)
{
        uint8_t *p = guest_memory_ptr(m, gpa, len);
        if (!p)
                return -EFAULT;
        while (len > 0) {
                ssize_t n = pread(fd, p, len, (off_t)offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO; /* the file is shorter than its header said */
                p += n;
                len -= (size_t)n;
                offset += (uint64_t)n;
        }
        return 0;
}

uint64_t guest_memory_lowmem_end(const struct guest_memory *m)
{
        return m->n_regions > 0 ? m->regions[0].size : 0;
}
