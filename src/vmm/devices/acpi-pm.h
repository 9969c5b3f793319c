/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi-pm.h - ACPI fixed hardware (ACPI 6.4 §4.8): the PM1a event and control blocks,
 * the PM timer, and the reset register at port 0xcf9 that the FADT points at.
 *
 * The guest powers off by writing SLP_TYP=5 (the DSDT's \_S5) with SLP_EN to PM1a_CNT;
 * the host presses the power button with acpi_pm_power_button(), which sets
 * PWRBTN_STS and, while the guest has enabled it, holds the SCI (GSI 9, level) high
 * until the guest writes the status bit back to clear it. State is struct acpi_pm_regs.
 */
#pragma once

#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "snapshot.h"

struct acpi_pm_regs {
        uint16_t pm1_sts;
        uint16_t pm1_en;
        uint16_t pm1_cnt;
};

struct acpi_pm_ops {
        void (*set_sci)(void *opaque, int level);
        void (*poweroff)(void *opaque);
        void (*reset)(void *opaque);
};

struct acpi_pm {
        pthread_mutex_t lock;
        struct acpi_pm_regs regs;
        const struct acpi_pm_ops *ops;
        void *opaque;
        int sci_level;
};

int acpi_pm_new(struct bus *pio, const struct acpi_pm_ops *ops, void *opaque, struct acpi_pm **ret);
void acpi_pm_free(struct acpi_pm *pm);
/* Any thread. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* A byte written to the reset register (port 0xcf9, which shares the PCI address dword). */
void acpi_pm_reset_write(struct acpi_pm *pm, uint8_t value);

void acpi_pm_save(struct acpi_pm *pm, struct snap_buf *b);
int acpi_pm_restore(struct acpi_pm *pm, const struct snapshot_blob *blob);
