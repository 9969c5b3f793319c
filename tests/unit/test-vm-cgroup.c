/* SPDX-License-Identifier: Apache-2.0 */
/* test-vm-cgroup.c - the size of a VM-isolated container's guest from its limits and annotations
 * (vm-cgroup.c). */
#include "config.h"
#include "error.h"
#include "test.h"
#include "vm-isolation.h"

static struct oci_config *parse(const char *res, const char *ann)
{
        char json[2048];
        struct oci_config *c = NULL;

        snprintf(json, sizeof(json),
                 "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
                 "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]},"
                 "\"annotations\":{\"io.hull.isolation\":\"vm\"%s},"
                 "\"linux\":{\"resources\":{%s}}}",
                 ann, res);
        if (config_parse(json, strlen(json), &c) < 0)
                return NULL;
        return c;
}

#define MIB "*1048576"

static int size_of(const char *res, const char *ann, struct vmiso_overhead overhead, struct vmiso_size *sz)
{
        struct oci_config *c = parse(res, ann);
        int r;

        if (!c)
                return -EBADMSG;
        r = vmiso_size(c, &overhead, sz);
        config_free(c);
        return r;
}

TEST(defaults_without_limits)
{
        struct vmiso_size sz;

        ASSERT_OK(size_of("", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, VMISO_DEFAULT_MEMORY_MIB);
        ASSERT_EQ(sz.cpus, 1);
        ASSERT_STREQ(sz.memory_why, "default");
        ASSERT_STREQ(sz.cpus_why, "default");
        /* shares, a reservation and pids do not size the guest */
        ASSERT_OK(size_of(
                "\"cpu\":{\"shares\":512},\"memory\":{\"reservation\":104857600},\"pids\":{\"limit\":9}", "",
                VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, VMISO_DEFAULT_MEMORY_MIB);
        ASSERT_EQ(sz.cpus, 1);
}

TEST(memory_from_the_limit)
{
        struct vmiso_size sz;

        /* -m 300m under QEMU TCG: 300 - 128 */
        ASSERT_OK(size_of("\"memory\":{\"limit\":314572800}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, 172);
        ASSERT_STREQ(sz.memory_why, "linux.resources.memory.limit 300 MiB minus 128 MiB for the VMM");
        /* the same with hull-vmm's smaller overhead */
        ASSERT_OK(size_of("\"memory\":{\"limit\":314572800}", "", VMISO_OVERHEAD_HULL, &sz));
        ASSERT_EQ(sz.memory_mib, 268);
        /* a limit that is not a whole number of MiB rounds down */
        ASSERT_OK(size_of("\"memory\":{\"limit\":314572801}", "", VMISO_OVERHEAD_HULL, &sz));
        ASSERT_EQ(sz.memory_mib, 268);
        /* exactly the floor */
        ASSERT_OK(size_of("\"memory\":{\"limit\":201326592}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, VMISO_MIN_MEMORY_MIB);
        /* unlimited (-1) is no limit */
        ASSERT_OK(size_of("\"memory\":{\"limit\":-1}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, VMISO_DEFAULT_MEMORY_MIB);
        /* a huge limit stops at the largest guest */
        ASSERT_OK(size_of("\"memory\":{\"limit\":1099511627776}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, VMISO_MAX_MEMORY_MIB);
}

TEST(overhead_grows_with_vcpus)
{
        struct vmiso_size sz;

        /* -m 300m --cpus 2 under QEMU TCG: 300 - (112 + 2 x 16) */
        ASSERT_OK(size_of("\"memory\":{\"limit\":314572800},\"cpu\":{\"quota\":200000,\"period\":100000}",
                          "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 2);
        ASSERT_EQ(sz.memory_mib, 156);
        ASSERT_STREQ(sz.memory_why, "linux.resources.memory.limit 300 MiB minus 144 MiB for the VMM");
        /* hull-vmm, 256 MiB and 2 vCPUs (tests/nested/isolation): 256 - (24 + 2 x 8) */
        ASSERT_OK(size_of("\"memory\":{\"limit\":268435456},\"cpu\":{\"quota\":200000,\"period\":100000}",
                          "", VMISO_OVERHEAD_HULL, &sz));
        ASSERT_EQ(sz.memory_mib, 216);
        /* the vCPUs of the annotation count too */
        ASSERT_OK(size_of("\"memory\":{\"limit\":314572800}", ",\"io.hull.isolation.cpus\":\"4\"",
                          VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, 300 - 112 - 4 * 16);
}

TEST(memory_limit_below_the_floor)
{
        struct vmiso_size sz;

        ASSERT_EQ(size_of("\"memory\":{\"limit\":201326591}", "", VMISO_OVERHEAD_QEMU_TCG, &sz), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "linux.resources.memory.limit: 191 MiB is too small for a VM: at least "
                     "192 MiB (64 MiB for the guest, 128 MiB for the VMM)");
}

TEST(memory_annotation_wins_but_must_fit)
{
        struct vmiso_size sz;

        ASSERT_OK(size_of("\"memory\":{\"limit\":1073741824}", ",\"io.hull.isolation.memory\":\"512\"",
                          VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.memory_mib, 512);
        ASSERT_STREQ(sz.memory_why, "annotation io.hull.isolation.memory");
        ASSERT_EQ(size_of("\"memory\":{\"limit\":314572800}", ",\"io.hull.isolation.memory\":\"256\"",
                          VMISO_OVERHEAD_QEMU_TCG, &sz),
                  -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "io.hull.isolation.memory: 256 MiB for the guest and 128 MiB for the VMM "
                     "exceed linux.resources.memory.limit (300 MiB)");
        ASSERT_EQ(size_of("", ",\"io.hull.isolation.memory\":\"32\"", VMISO_OVERHEAD_QEMU_TCG, &sz),
                  -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "io.hull.isolation.memory: invalid size in MiB '32' (64 to 65536)");
}

TEST(cpus_from_quota_and_period)
{
        struct vmiso_size sz;

        /* --cpus 2 */
        ASSERT_OK(size_of("\"cpu\":{\"quota\":200000,\"period\":100000}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 2);
        ASSERT_STREQ(sz.cpus_why, "linux.resources.cpu quota 200000 / period 100000, rounded up");
        /* --cpus 1.5 rounds up; --cpus 0.1 is at least one */
        ASSERT_OK(size_of("\"cpu\":{\"quota\":150000,\"period\":100000}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 2);
        ASSERT_OK(size_of("\"cpu\":{\"quota\":10000,\"period\":100000}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 1);
        /* no period: the kernel's 100 ms */
        ASSERT_OK(size_of("\"cpu\":{\"quota\":300000}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 3);
        /* unlimited quota: the default */
        ASSERT_OK(size_of("\"cpu\":{\"quota\":-1,\"period\":100000}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 1);
        /* at most VMISO_MAX_CPUS */
        ASSERT_OK(
                size_of("\"cpu\":{\"quota\":100000000,\"period\":1000}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, VMISO_MAX_CPUS);
        /* the annotation wins */
        ASSERT_OK(size_of("\"cpu\":{\"quota\":200000,\"period\":100000}",
                          ",\"io.hull.isolation.cpus\":\"3\"", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.cpus, 3);
        ASSERT_STREQ(sz.cpus_why, "annotation io.hull.isolation.cpus");
        ASSERT_EQ(size_of("", ",\"io.hull.isolation.cpus\":\"0\"", VMISO_OVERHEAD_QEMU_TCG, &sz), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "io.hull.isolation.cpus: invalid number '0' (1 to 64)");
}

TEST(pids_limit_bounds_the_io_workers)
{
        struct vmiso_size sz;

        /* no limit: QEMU's own pool */
        ASSERT_OK(size_of("", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.io_workers, 0);
        ASSERT_OK(size_of("\"pids\":{\"limit\":-1}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.io_workers, 0);
        /* --pids-limit 12, 1 vCPU: 12 - 5 - 1 */
        ASSERT_OK(size_of("\"pids\":{\"limit\":12}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.io_workers, 6);
        /* a large limit: QEMU's default bound */
        ASSERT_OK(size_of("\"pids\":{\"limit\":4096}", "", VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.io_workers, VMISO_IO_WORKERS_MAX);
        /* the smallest, with 2 vCPUs: 5 + 2 + 1 */
        ASSERT_OK(size_of("\"pids\":{\"limit\":8},\"cpu\":{\"quota\":200000,\"period\":100000}", "",
                          VMISO_OVERHEAD_QEMU_TCG, &sz));
        ASSERT_EQ(sz.io_workers, 1);
        ASSERT_EQ(size_of("\"pids\":{\"limit\":7},\"cpu\":{\"quota\":200000,\"period\":100000}", "",
                          VMISO_OVERHEAD_QEMU_TCG, &sz),
                  -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "linux.resources.pids.limit: 7 is too small for a VM with 2 vCPUs: "
                                       "at least 8 (the shim, the "
                                       "VMM's threads, one per vCPU, one I/O worker)");
}
