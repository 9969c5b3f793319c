/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memory.h - guest RAM: its regions, and checked guest-physical to host translation.
 *
 * struct guest_memory owns one anonymous mapping per region (MAP_NORESERVE: pages are
 * only faulted in when the guest or a loader touches them), or with
 * guest_memory_init_shared() one memfd per region mapped MAP_SHARED, whose descriptor a
 * vhost-user backend maps too (vhost-user.h, SET_MEM_TABLE). Regions never overlap and
 * are fixed for the life of the machine, so translations need no lock.
 *
 * Every access the VMM makes on the guest's behalf goes through guest_memory_ptr(),
 * which returns a host pointer only when the whole range [gpa, gpa + len) lies in one
 * region; the guest controls gpa and len (descriptor tables, buffers), so overflow of
 * gpa + len is checked too. Nothing else in the VMM adds offsets to a host pointer
 * that came from a guest-chosen value.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "macro.h"

#define GUEST_MEMORY_MAX_REGIONS 4

struct guest_region {
        uint64_t gpa;
        uint64_t size;
        uint8_t *hva;
        int fd; /* the region's memfd (shared memory), else -EBADF */
};

struct guest_memory {
        struct guest_region regions[GUEST_MEMORY_MAX_REGIONS];
        unsigned n_regions;
        uint64_t size; /* total bytes of RAM */
};

/*
 * Map size bytes of RAM with hull-vmm's layout: below LAYOUT_LOWMEM_MAX, the rest
 * from 4 GiB. size must be a multiple of 1 MiB and at least 16 MiB.
 */
int guest_memory_init(struct guest_memory *m, uint64_t size);
/* The same layout, each region a memfd mapped shared, for vhost-user backends (memory.c). */
int guest_memory_init_shared(struct guest_memory *m, uint64_t size);
/*
 * The same layout mapped MAP_PRIVATE from fd, a snapshot's memory file of exactly size bytes
 * (the regions one after the other): pages come from the page cache when the guest touches
 * them, shared with every other mapping of the file; the guest's writes stay private.
 */
int guest_memory_init_file(struct guest_memory *m, uint64_t size, int fd);
/*
 * Copy a snapshot's memory file (as for guest_memory_init_file()) into RAM that is already
 * mapped (shared memory for vhost-user): only its data extents are read (SEEK_DATA), the holes
 * stay the zeros that new RAM reads as. Into the mapping when memfds get huge pages
 * (guest_memory_shmem_huge()), else into the memfds with sendfile(2).
 */
int guest_memory_load(const struct guest_memory *m, int fd);
/* Do MADV_HUGEPAGE memfd mappings get transparent huge pages (shmem_enabled)? */
bool guest_memory_shmem_huge(void);
/*
 * Write the pages of RAM that were ever touched (resident, mincore()) and hold anything but
 * zeros into fd at their offset in the regions-one-after-the-other layout, and size the file to
 * the RAM's size: the other pages stay holes, which read as zeros. The caller keeps the guest
 * stopped.
 */
int guest_memory_save(const struct guest_memory *m, int fd);
/* One region at gpa 0 of size bytes (unit tests, fuzzers: any size that is a page multiple). */
int guest_memory_init_flat(struct guest_memory *m, uint64_t size);
void guest_memory_done(struct guest_memory *m);

/* Host address of [gpa, gpa + len) when it lies in one region, NULL otherwise. Any thread. */
void *guest_memory_ptr(const struct guest_memory *m, uint64_t gpa, uint64_t len);
/* Copy to/from guest memory; -EFAULT when the range is not RAM. */
int guest_memory_read(const struct guest_memory *m, uint64_t gpa, void *buf, size_t len);
int guest_memory_write(const struct guest_memory *m, uint64_t gpa, const void *buf, size_t len);
/* Read len bytes of a file at offset into guest memory without a bounce buffer. */
int guest_memory_pread(const struct guest_memory *m, int fd, uint64_t gpa, size_t len, uint64_t offset);
/* The end of RAM below 4 GiB (exclusive). */
uint64_t guest_memory_lowmem_end(const struct guest_memory *m);
