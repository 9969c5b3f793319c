/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial.h - a 16550A UART (COM1) for the guest console.
 *
 * The register file lives in struct serial_regs, a plain struct that a snapshot can
 * copy as is. Output is buffered and written to out_fd at each newline, when the buffer
 * fills, or 10 ms after the last byte (a timer on the event loop), so that the guest's
 * boot log costs a write per line, not per byte. Input comes from in_fd on the event
 * loop thread. Register accesses come from vCPU threads; lock covers everything.
 */
#pragma once

#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "event-loop.h"
#include "snapshot.h"

#define SERIAL_RX_SIZE  4096
#define SERIAL_OUT_SIZE 4096

struct serial_regs {
        uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
        bool thr_ipending;
        uint8_t rx[SERIAL_RX_SIZE];
        uint32_t rx_head, rx_count;
};

typedef void (*serial_irq_fn)(void *opaque, int level);

struct serial {
        pthread_mutex_t lock;
        struct serial_regs regs;
        int irq_level;
        serial_irq_fn set_irq;
        void *irq_opaque;
        int in_fd;  /* not owned; -EBADF for none */
        int out_fd; /* not owned; -EBADF for none */
        bool in_paused;
        struct event_loop *loop;
        int timer_fd;
        uint8_t out[SERIAL_OUT_SIZE];
        size_t out_len;
};

/*
 * Register the UART at port base on pio, with in_fd/out_fd (either may be -EBADF) and
 * loop for input and delayed flushes (NULL: every write is flushed at once).
 */
int serial_new(struct bus *pio, uint16_t base, struct event_loop *loop, int in_fd, int out_fd,
               serial_irq_fn set_irq, void *opaque, struct serial **ret);
void serial_free(struct serial *s);
/* Write buffered output now (at exit). */
void serial_flush(struct serial *s);
/* Feed bytes as if received on the line (event loop thread, tests). Returns bytes taken. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/* The register file as a snapshot record, and back (the interrupt line follows it). */
void serial_save(struct serial *s, struct snap_buf *b);
int serial_restore(struct serial *s, const struct snapshot_blob *blob);
