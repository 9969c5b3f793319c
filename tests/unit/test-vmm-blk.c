/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vmm-blk.c - virtio-blk requests without KVM, on a raw image in a temporary
 * directory: reads and writes reach the file, flush and GET_ID answer, a write to a
 * read-only disk and an unaligned or out-of-range request get VIRTIO_BLK_S_IOERR,
 * an unknown type VIRTIO_BLK_S_UNSUPP, and a request without a status byte puts the
 * device in DEVICE_NEEDS_RESET; a `late` disk is empty until attached.
 */
#include <fcntl.h>
#include <linux/virtio_blk.h>

#include "disk/disk.h"
#include "error.h"
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

/* c must outlive the device (a late disk's attach reads it). */
static struct virtio_dev *open_blk_config(const struct vm_disk_config *c)
{
        struct virtio_dev *vd;
        ASSERT_OK(virtio_blk_new(vm, c, &vd));
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

static struct virtio_dev *open_blk(bool ro)
{
        static struct vm_disk_config c;
        c = (struct vm_disk_config){.path = image, .readonly = ro, .format = DISK_FORMAT_RAW};
        return open_blk_config(&c);
}

static uint64_t capacity(struct virtio_dev *vd)
{
        struct virtio_blk_config cfg;
        vd->ops->config_read(vd, 0, &cfg, sizeof(cfg));
        return cfg.capacity;
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

/*
 * --disk PATH,late: the device is there with capacity 0 and answers every request with an
 * error until attach opens the image; the size then comes with a configuration change.
 */
TEST(late_disk)
{
        struct vm_disk_config c = {.path = image, .format = DISK_FORMAT_RAW, .late = true};
        struct virtio_dev *vd = open_blk_config(&c);
        char buf[16] = {};

        ASSERT_EQ(capacity(vd), 0);
        ASSERT_TRUE(virtio_blk_pending(vd));
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, 2, 512, true, true, NULL), VIRTIO_BLK_S_IOERR);
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, true, NULL),
                  VIRTIO_BLK_S_IOERR);
        uint8_t gen = vd->s.config_generation;
        ASSERT_OK(virtio_blk_attach(vd));
        ASSERT_FALSE(virtio_blk_pending(vd));
        ASSERT_EQ(capacity(vd), 2048);
        ASSERT_EQ(vd->s.config_generation, (uint8_t)(gen + 1));
        ASSERT_EQ(request(vd, VIRTIO_BLK_T_IN, 2, 512, true, true, NULL), VIRTIO_BLK_S_OK);
        ASSERT_OK(guest_memory_read(&vm->mem, 0x20000, buf, 10));
        ASSERT_STREQ(buf, "sector-two");
        /* Once is enough: a second attach changes nothing. */
        ASSERT_OK(virtio_blk_attach(vd));
        ASSERT_EQ(vd->s.config_generation, (uint8_t)(gen + 1));
        virtio_dev_free(vd);

        /* Hidden for a template and late: the size shows once both are over, in either order. */
        vd = open_blk_config(&c);
        virtio_blk_hide(vd);
        ASSERT_OK(virtio_blk_attach(vd));
        ASSERT_EQ(capacity(vd), 0);
        virtio_blk_reveal(vd);
        ASSERT_EQ(capacity(vd), 2048);
        virtio_dev_free(vd);

        /* Read-only is offered before the image is open: by the option. */
        struct vm_disk_config ro = {
                .path = image, .format = DISK_FORMAT_RAW, .late = true, .readonly = true};
        vd = open_blk_config(&ro);
        ASSERT_TRUE(vd->s.device_features & (1ULL << VIRTIO_BLK_F_RO));
        virtio_dev_free(vd);

        /* An image that is not there: the attach fails naming it, the device stays empty. */
        struct vm_disk_config gone = {.path = (char *)"/nonexistent/late.img", .late = true};
        vd = open_blk_config(&gone);
        ASSERT_TRUE(virtio_blk_attach(vd) < 0);
        ASSERT_CONTAINS(err_msg(-ENOENT), "/nonexistent/late.img");
        ASSERT_TRUE(virtio_blk_pending(vd));
        ASSERT_EQ(capacity(vd), 0);
        virtio_dev_free(vd);
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
