/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-blk.c - virtio-blk requests without KVM, on a raw image in a temporary
 * directory: reads and writes reach the file, flush and GET_ID answer, a write to a
 * read-only disk and an unaligned or out-of-range request get VIRTIO_BLK_S_IOERR,
 * an unknown type VIRTIO_BLK_S_UNSUPP, and a request without a status byte puts the
 * device in DEVICE_NEEDS_RESET.
 */
#include <fcntl.h>
#include <linux/virtio_blk.h>

#include "disk/disk.h"
#include "pci.h"
#include "virtio-blk.h"
#include "vm.h"
#include "test.h"

#define QS 16

static struct vm *vm;
static char dir[] = "/tmp/test-vmm-blk.XXXXXX";
static char image[256];
static uint16_t avail;

static struct vm *fake_vm(void)
{
        struct vm *v = calloc(1, sizeof(*v));
        ASSERT_TRUE(v != NULL);
        v->kvm.vm_fd = v->kvm.sys_fd = -EBADF;
        ASSERT_OK(guest_memory_init_flat(&v->mem, 1 << 20));
        ASSERT_OK(pci_bus_new(&v->pio, &v->mmio, NULL, NULL, &v->pci));
        return v;
}

static struct virtio_dev *open_blk(bool ro)
{
        struct vm_disk_config c = {.path = image, .readonly = ro, .format = DISK_FORMAT_RAW};
        struct virtio_dev *vd;
        ASSERT_OK(virtio_blk_new(vm, &c, &vd));
        struct virtqueue *q = &vd->queues[0];
        q->s.size = QS;
        q->s.desc_addr = 0x1000;
        q->s.avail_addr = 0x2000;
        q->s.used_addr = 0x3000;
        ASSERT_OK(virtqueue_activate(q, &vm->mem, false));
        vd->s.driver_features = 1ULL << 32;
        vd->s.status = 0xf & ~0x80;
        avail = 0;
        return vd;
}

/* Submit header + data (+ status) as a 3-descriptor chain; returns the status byte. */
static int request(struct virtio_dev *vd, uint32_t type, uint64_t sector, uint32_t data_len, bool data_in,
                   bool with_status, uint32_t *ret_used_len)
{
        struct virtio_blk_outhdr h = {.type = type, .sector = sector};
        struct virtq_desc d[3] = {
                {0x10000, sizeof(h), 1, 1},
                {0x20000, data_len, (uint16_t)(1 | (data_in ? 2 : 0)), 2},
                {0x30000, 1, 2, 0},
        };
        if (data_len == 0)
                d[0].next = 2;
        if (!with_status)
                d[1].flags &= (uint16_t)~1;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x10000, &h, sizeof(h)));
        ASSERT_OK(guest_memory_write(&vm->mem, 0x1000, d, sizeof(d)));
        uint8_t marker = 0xee;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x30000, &marker, 1));
        uint16_t head = 0;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2004 + 2 * (avail % QS), &head, 2));
        avail++;
        ASSERT_OK(guest_memory_write(&vm->mem, 0x2002, &avail, 2));
        virtio_dev_lock(vd);
        vd->ops->queue_notify(vd, 0);
        virtio_dev_unlock(vd);
        uint32_t elem[2] = {};
        ASSERT_OK(guest_memory_read(&vm->mem, 0x3004 + 8 * ((avail - 1) % QS), elem, 8));
        if (ret_used_len)
                *ret_used_len = elem[1];
        uint8_t status;
        ASSERT_OK(guest_memory_read(&vm->mem, 0x30000, &status, 1));
        return status;
}

TEST(setup)
{
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(image, sizeof(image), "%s/disk.raw", dir);
        int fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(ftruncate(fd, 1 << 20));
        ASSERT_EQ(pwrite(fd, "sector-two", 10, 2 * 512), 10);
        close(fd);
        vm = fake_vm();
}

TEST(read_write_flush_id)
{
        struct virtio_dev *vd = open_blk(false);
        uint32_t used;
        char buf[16] = {};

        /* Capacity in the config space, in 512-byte sectors. */
        struct virtio_blk_config cfg;
        vd->ops->config_read(vd, 0, &cfg, sizeof(cfg));
        ASSERT_EQ(cfg.capacity, 2048);
        ASSERT_FALSE(vd->s.device_features & (1ULL << VIRTIO_BLK_F_RO));

        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, 2, 512, true, true, &used), VIRTIO_BLK_S_OK);
        ASSERT_EQ(used, 513);
        ASSERT_OK(guest_memory_read(&vm->mem, 0x20000, buf, 10));
        ASSERT_STREQ(buf, "sector-two");

        ASSERT_OK(guest_memory_write(&vm->mem, 0x20000, "written!", 9));
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_OUT, 5, 512, false, true, &used), VIRTIO_BLK_S_OK);
        ASSERT_EQ(used, 1);
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_FLUSH, 0, 0, false, true, NULL), VIRTIO_BLK_S_OK);
        int fd = open(image, O_RDONLY | O_CLOEXEC);
        ASSERT_EQ(pread(fd, buf, 9, 5 * 512), 9);
        close(fd);
        ASSERT_STREQ(buf, "written!");

        ASSERT_EQ(request(vd, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, true, &used),
                  VIRTIO_BLK_S_OK);
        ASSERT_EQ(used, VIRTIO_BLK_ID_BYTES + 1);

        /* Errors the driver gets answered, not a broken device. */
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, 2048, 512, true, true, NULL),
                  VIRTIO_BLK_S_IOERR); /* past the end */
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, 0, 100, true, true, NULL),
                  VIRTIO_BLK_S_IOERR); /* not sectors */
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, UINT64_MAX / 2, 512, true, true, NULL), VIRTIO_BLK_S_IOERR);
        ASSERT_EQ(request(vd, 42, 0, 512, true, true, NULL), VIRTIO_BLK_S_UNSUPP);
        ASSERT_TRUE(virtio_dev_running(vd));

        /* No writable status byte: a broken driver, the device needs a reset. */
        request(vd, VIRTIO_BLK_T_IN, 0, 512, false, false, NULL);
        ASSERT_FALSE(virtio_dev_running(vd));
        ASSERT_TRUE(vd->s.status & 0x40);
        virtio_dev_free(vd);
}

TEST(read_only)
{
        struct virtio_dev *vd = open_blk(true);
        ASSERT_TRUE(vd->s.device_features & (1ULL << VIRTIO_BLK_F_RO));
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_OUT, 0, 512, false, true, NULL), VIRTIO_BLK_S_IOERR);
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, 2, 512, true, true, NULL), VIRTIO_BLK_S_OK);
        virtio_dev_free(vd);
}

TEST(missing_image)
{
        struct vm_disk_config c = {.path = (char *)"/nonexistent/disk.img", .format = DISK_FORMAT_RAW};
        struct virtio_dev *vd;
        ASSERT_TRUE(virtio_blk_new(vm, &c, &vd) < 0);
}

TEST(teardown)
{
        pci_bus_free(vm->pci);
        bus_done(&vm->pio);
        bus_done(&vm->mmio);
        guest_memory_done(&vm->mem);
        free(vm);
        ASSERT_OK(unlink(image));
        ASSERT_OK(rmdir(dir));
}
