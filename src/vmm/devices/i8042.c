/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.c - PS/2 controller reset line (see i8042.h). Ports: 0x60 data, 0x64
 * status (read) / command (write). Besides 0xfe, the controller-configuration-byte
 * commands 0x20/0x60 are answered so that a guest that probes anyway sees a consistent
 * controller with no devices. Accesses come only from vCPU threads and the state is two
 * bytes written by whole-byte stores; the worst a race can do is answer a probe oddly.
 */
#include "i8042.h"

#define I8042_CMD_READ_CTR  0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_RESET     0xfe
#define I8042_STATUS_OBF    0x01

static void i8042_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
        struct i8042 *k = opaque;
        uint8_t v = 0;

        if (offset == 0 && k->pending_cmd == I8042_CMD_READ_CTR) {
                v = k->command_byte;
                k->pending_cmd = 0;
        } else if (offset == 4)
                v = k->pending_cmd == I8042_CMD_READ_CTR ? I8042_STATUS_OBF : 0;
        memset(data, 0, len);
        *(uint8_t *)data = v;
}

static void i8042_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
        struct i8042 *k = opaque;
        uint8_t v = *(const uint8_t *)data;

        if (offset == 4) {
                if (v == I8042_CMD_RESET) {
                        if (k->reset)
                                k->reset(k->opaque);
                        return;
                }
                k->pending_cmd = (v == I8042_CMD_READ_CTR || v == I8042_CMD_WRITE_CTR) ? v : 0;
        } else if (offset == 0 && k->pending_cmd == I8042_CMD_WRITE_CTR) {
                k->command_byte = v;
                k->pending_cmd = 0;
        }
}

static const struct bus_ops i8042_ops = {
        .read = i8042_read,
        .write = i8042_write,
};

int i8042_new(struct bus *pio, i8042_reset_fn reset, void *opaque, struct i8042 **ret)
{
        struct i8042 *k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->reset = reset;
        k->opaque = opaque;
        /* Ports 0x60..0x64: one range; 0x61-0x63 (the PC speaker port among them) read as zero. */
        int r = bus_add(pio, 0x60, 5, &i8042_ops, k);
        if (r < 0) {
                free(k);
                return r;
        }
        *ret = k;
        return 0;
}

void i8042_free(struct i8042 *k)
{
        free(k);
}

void i8042_save(struct i8042 *k, struct snap_buf *b)
{
        const uint8_t r[2] = {k->command_byte, k->pending_cmd};
        snap_put_record(b, SNAP_I8042, 0, r, sizeof(r));
}

int i8042_restore(struct i8042 *k, const struct snapshot_blob *blob)
{
        struct snap_reader r = snap_reader_init(blob);
        uint8_t cmd = snap_get_u8(&r), pending = snap_get_u8(&r);
        int e = snap_reader_finish(&r, "i8042");
        if (e < 0)
                return e;
        k->command_byte = cmd;
        /* Only the commands this model knows may be waiting for their data byte. */
        k->pending_cmd = (pending == I8042_CMD_READ_CTR || pending == I8042_CMD_WRITE_CTR) ? pending : 0;
        return 0;
}
