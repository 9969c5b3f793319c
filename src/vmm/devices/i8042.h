/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.h - the PS/2 controller's reset line only: a guest write of 0xfe (pulse output
 * port bit 0) to port 0x64 is how Linux reboots with reboot=k and the fallback it
 * tries after the ACPI reset register. The status port reads "input buffer empty" so
 * the guest's kb_wait() loop ends at once. No keyboard, no mouse.
 */
#pragma once

#include "snapshot.h"

#include "bus.h"

typedef void (*i8042_reset_fn)(void *opaque);

struct i8042 {
        i8042_reset_fn reset;
        void *opaque;
        uint8_t command_byte; /* serializable state: the controller configuration byte */
        uint8_t pending_cmd;  /* a command that waits for its data byte on port 0x60 */
};

int i8042_new(struct bus *pio, i8042_reset_fn reset, void *opaque, struct i8042 **ret);
void i8042_free(struct i8042 *k);

void i8042_save(struct i8042 *k, struct snap_buf *b);
int i8042_restore(struct i8042 *k, const struct snapshot_blob *blob);
