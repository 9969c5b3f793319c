/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi-pm.c - ACPI PM1a event/control blocks, PM timer and reset register (see acpi-pm.h).
 *
 * PM1 status bits are write-one-to-clear (§4.8.3.1.1). SCI_EN in PM1_CNT reads as set:
 * the FADT has no SMI command port, which tells the OS the machine is always in ACPI
 * mode (§5.2.9). The PM timer counts at 3.579545 MHz in 24 bits (TMR_VAL_EXT clear in
 * the FADT); guests prefer kvm-clock, so it is read only while they calibrate.
 */
#include <time.h>

#include "acpi-pm.h"
#include "layout.h"

#define PM1_TMR_STS    (1u << 0)
#define PM1_PWRBTN_STS (1u << 8)
#define PM1_WAK_STS    (1u << 15)
#define PM1_PWRBTN_EN  (1u << 8)
#define PM1_CNT_SCI_EN (1u << 0)
#define PM1_CNT_SLP_EN (1u << 13)
#define SLP_TYP_S5     5
#define PM_TIMER_HZ    3579545ULL

static void update_sci(struct acpi_pm *pm)
{
        int level = (pm->regs.pm1_sts & pm->regs.pm1_en & PM1_PWRBTN_STS) ? 1 : 0;
        if (level != pm->sci_level) {
                pm->sci_level = level;
                if (pm->ops->set_sci)
                        pm->ops->set_sci(pm->opaque, level);
        }
}

static uint32_t pm_timer(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned __int128 ns = (unsigned __int128)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        return (uint32_t)((ns * PM_TIMER_HZ / 1000000000ULL) & 0xffffff);
}

static void pm_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
        struct acpi_pm *pm = opaque;
        uint8_t regs[12];
        uint32_t t = pm_timer();
        uint16_t cnt;

        pthread_mutex_lock(&pm->lock);
        cnt = pm->regs.pm1_cnt | PM1_CNT_SCI_EN;
        memcpy(regs + 0, &pm->regs.pm1_sts, 2);
        memcpy(regs + 2, &pm->regs.pm1_en, 2);
        memcpy(regs + 4, &cnt, 2);
        memset(regs + 6, 0, 2);
        memcpy(regs + 8, &t, 4);
        pthread_mutex_unlock(&pm->lock);
        memset(data, 0, len);
        if (offset < sizeof(regs))
                memcpy(data, regs + offset, MIN((size_t)len, sizeof(regs) - offset));
}

static void pm_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
        struct acpi_pm *pm = opaque;
        uint8_t bytes[4] = {};
        bool off = false;

        memcpy(bytes, data, MIN(len, 4u));
        pthread_mutex_lock(&pm->lock);
        for (uint32_t i = 0; i < len && offset + i < 6; i++) {
                uint64_t o = offset + i;
                uint8_t v = bytes[i];
                if (o < 2) /* PM1_STS: write 1 to clear */
                        pm->regs.pm1_sts &= (uint16_t) ~((uint16_t)v << (8 * o));
                else if (o < 4) {
                        unsigned sh = 8 * (unsigned)(o - 2);
                        pm->regs.pm1_en =
                                (uint16_t)((pm->regs.pm1_en & ~(0xffu << sh)) | ((unsigned)v << sh));
                } else {
                        unsigned sh = 8 * (unsigned)(o - 4);
                        pm->regs.pm1_cnt =
                                (uint16_t)((pm->regs.pm1_cnt & ~(0xffu << sh)) | ((unsigned)v << sh));
                }
        }
        if (pm->regs.pm1_cnt & PM1_CNT_SLP_EN) {
                unsigned typ = (pm->regs.pm1_cnt >> 10) & 7;
                pm->regs.pm1_cnt &= (uint16_t)~PM1_CNT_SLP_EN; /* SLP_EN always reads 0 */
                off = typ == SLP_TYP_S5;
        }
        update_sci(pm);
        pthread_mutex_unlock(&pm->lock);
        if (off && pm->ops->poweroff)
                pm->ops->poweroff(pm->opaque);
}

void acpi_pm_reset_write(struct acpi_pm *pm, uint8_t value)
{
        /* Reset control register: bit 2 starts the reset (the FADT's RESET_VALUE is 6). */
        if ((value & 0x04) && pm->ops->reset)
                pm->ops->reset(pm->opaque);
}

static const struct bus_ops pm_ops = {.read = pm_read, .write = pm_write};

int acpi_pm_new(struct bus *pio, const struct acpi_pm_ops *ops, void *opaque, struct acpi_pm **ret)
{
        struct acpi_pm *pm = calloc(1, sizeof(*pm));
        int r;

        if (!pm)
                return -ENOMEM;
        pthread_mutex_init(&pm->lock, NULL);
        pm->ops = ops;
        pm->opaque = opaque;
        r = bus_add(pio, LAYOUT_PORT_PM_EVT, 12, &pm_ops, pm);
        if (r < 0) {
                acpi_pm_free(pm);
                return r;
        }
        *ret = pm;
        return 0;
}

void acpi_pm_free(struct acpi_pm *pm)
{
        if (!pm)
                return;
        pthread_mutex_destroy(&pm->lock);
        free(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
        pthread_mutex_lock(&pm->lock);
        pm->regs.pm1_sts |= PM1_PWRBTN_STS;
        update_sci(pm);
        pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_save(struct acpi_pm *pm, struct snap_buf *b)
{
        struct snap_buf r = {};

        pthread_mutex_lock(&pm->lock);
        snap_put_u16(&r, pm->regs.pm1_sts);
        snap_put_u16(&r, pm->regs.pm1_en);
        snap_put_u16(&r, pm->regs.pm1_cnt);
        pthread_mutex_unlock(&pm->lock);
        snap_put_record_buf(b, SNAP_ACPI_PM, 0, &r);
}

int acpi_pm_restore(struct acpi_pm *pm, const struct snapshot_blob *blob)
{
        struct snap_reader r = snap_reader_init(blob);
        struct acpi_pm_regs g;

        g.pm1_sts = snap_get_u16(&r);
        g.pm1_en = snap_get_u16(&r);
        g.pm1_cnt = snap_get_u16(&r);
        int e = snap_reader_finish(&r, "acpi pm");
        if (e < 0)
                return e;
        pthread_mutex_lock(&pm->lock);
        pm->regs = g;
        update_sci(pm);
        pthread_mutex_unlock(&pm->lock);
        return 0;
}
