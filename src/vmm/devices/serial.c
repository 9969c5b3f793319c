/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial.c - 16550A UART model (see serial.h). Registers per the PC16550D data sheet:
 *   0 RBR/THR (DLL when LCR.DLAB), 1 IER (DLM when DLAB), 2 IIR/FCR, 3 LCR, 4 MCR, 5 LSR,
 *   6 MSR, 7 SCR.
 * Transmission is instant, so THR is always empty (LSR.THRE|TEMT) and a THR-empty
 * interrupt is pending after each write until IIR reports it. Loopback mode (MCR bit 4)
 * is implemented because Linux's 8250 driver uses it to identify the UART.
 */
#include <sys/timerfd.h>

#include "serial.h"

#define UART_IER_RDI      0x01
#define UART_IER_THRI     0x02
#define UART_IIR_NONE     0x01
#define UART_IIR_THRI     0x02
#define UART_IIR_RDI      0x04
#define UART_IIR_FIFO     0xc0
#define UART_LCR_DLAB     0x80
#define UART_LSR_DR       0x01
#define UART_LSR_THRE     0x20
#define UART_LSR_TEMT     0x40
#define UART_MCR_DTR      0x01
#define UART_MCR_RTS      0x02
#define UART_MCR_OUT1     0x04
#define UART_MCR_OUT2     0x08
#define UART_MCR_LOOP     0x10
#define UART_MSR_CTS      0x10
#define UART_MSR_DSR      0x20
#define UART_MSR_RI       0x40
#define UART_MSR_DCD      0x80
#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02

#define FLUSH_DELAY_NS (10 * 1000 * 1000)

static uint8_t iir(const struct serial_regs *r)
{
        uint8_t fifo = (r->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;
        if ((r->ier & UART_IER_RDI) && r->rx_count > 0)
                return fifo | UART_IIR_RDI;
        if ((r->ier & UART_IER_THRI) && r->thr_ipending)
                return fifo | UART_IIR_THRI;
        return fifo | UART_IIR_NONE;
}

static void update_irq(struct serial *s)
{
        int level = (iir(&s->regs) & UART_IIR_NONE) ? 0 : 1;
        if (level != s->irq_level) {
                s->irq_level = level;
                if (s->set_irq)
                        s->set_irq(s->irq_opaque, level);
        }
}

static void flush_locked(struct serial *s)
{
        size_t off = 0;
        while (off < s->out_len && s->out_fd >= 0) {
                ssize_t n = write(s->out_fd, s->out + off, s->out_len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* a console that went away does not stop the guest */
                }
                off += (size_t)n;
        }
        s->out_len = 0;
}

static void rx_push(struct serial_regs *r, uint8_t c)
{
        if (r->rx_count >= SERIAL_RX_SIZE)
                return; /* overrun: the byte is lost, as on the wire */
        r->rx[(r->rx_head + r->rx_count) % SERIAL_RX_SIZE] = c;
        r->rx_count++;
}

static void transmit(struct serial *s, uint8_t c)
{
        if (s->regs.mcr & UART_MCR_LOOP) {
                rx_push(&s->regs, c);
                return;
        }
        if (s->out_fd < 0)
                return;
        s->out[s->out_len++] = c;
        if (c == '\n' || s->out_len == SERIAL_OUT_SIZE || s->timer_fd < 0)
                flush_locked(s);
        else {
                struct itimerspec its = {.it_value.tv_nsec = FLUSH_DELAY_NS};
                (void)timerfd_settime(s->timer_fd, 0, &its, NULL);
        }
}

static uint8_t modem_status(const struct serial_regs *r)
{
        if (!(r->mcr & UART_MCR_LOOP))
                return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
        /* Loopback wires the modem control outputs back to the status inputs. */
        uint8_t msr = 0;
        if (r->mcr & UART_MCR_RTS)
                msr |= UART_MSR_CTS;
        if (r->mcr & UART_MCR_DTR)
                msr |= UART_MSR_DSR;
        if (r->mcr & UART_MCR_OUT1)
                msr |= UART_MSR_RI;
        if (r->mcr & UART_MCR_OUT2)
                msr |= UART_MSR_DCD;
        return msr;
}

static void serial_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
        struct serial *s = opaque;
        struct serial_regs *r = &s->regs;
        uint8_t v = 0;

        pthread_mutex_lock(&s->lock);
        switch (offset) {
        case 0:
                if (r->lcr & UART_LCR_DLAB)
                        v = r->dll;
                else if (r->rx_count > 0) {
                        v = r->rx[r->rx_head];
                        r->rx_head = (r->rx_head + 1) % SERIAL_RX_SIZE;
                        r->rx_count--;
                }
                break;
        case 1:
                v = (r->lcr & UART_LCR_DLAB) ? r->dlm : r->ier;
                break;
        case 2:
                v = iir(r);
                /* Reading IIR acknowledges a THR-empty interrupt (16550 data sheet, table 4). */
                if ((v & 0x0f) == UART_IIR_THRI)
                        r->thr_ipending = false;
                break;
        case 3:
                v = r->lcr;
                break;
        case 4:
                v = r->mcr;
                break;
        case 5:
                v = UART_LSR_THRE | UART_LSR_TEMT | (r->rx_count > 0 ? UART_LSR_DR : 0);
                break;
        case 6:
                v = modem_status(r);
                break;
        case 7:
                v = r->scr;
                break;
        }
        update_irq(s);
        pthread_mutex_unlock(&s->lock);
        memset(data, 0, len);
        *(uint8_t *)data = v;
}

static void serial_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
        struct serial *s = opaque;
        struct serial_regs *r = &s->regs;
        uint8_t v = *(const uint8_t *)data;

        pthread_mutex_lock(&s->lock);
        switch (offset) {
        case 0:
                if (r->lcr & UART_LCR_DLAB)
                        r->dll = v;
                else {
                        transmit(s, v);
                        r->thr_ipending = true;
                }
                break;
        case 1:
                if (r->lcr & UART_LCR_DLAB)
                        r->dlm = v;
                else {
                        /* Enabling THRI while THR is empty raises the interrupt at once. */
                        if (!(r->ier & UART_IER_THRI) && (v & UART_IER_THRI))
                                r->thr_ipending = true;
                        r->ier = v & 0x0f;
                }
                break;
        case 2:
                r->fcr = v & 0xc9;
                if (v & UART_FCR_CLEAR_RX)
                        r->rx_head = r->rx_count = 0;
                break;
        case 3:
                r->lcr = v;
                break;
        case 4:
                r->mcr = v & 0x1f;
                break;
        case 7:
                r->scr = v;
                break;
        default:
                break;
        }
        update_irq(s);
        pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = {
        .read = serial_read,
        .write = serial_write,
};

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
        size_t n;

        pthread_mutex_lock(&s->lock);
        n = MIN(len, (size_t)(SERIAL_RX_SIZE - s->regs.rx_count));
        for (size_t i = 0; i < n; i++)
                rx_push(&s->regs, buf[i]);
        update_irq(s);
        pthread_mutex_unlock(&s->lock);
        return n;
}

static void pause_input(struct serial *s, int fd)
{
        struct itimerspec its = {.it_value.tv_nsec = FLUSH_DELAY_NS};
        s->in_paused = true;
        (void)event_loop_modify(s->loop, fd, 0);
        (void)timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static int on_input(void *opaque, int fd, uint32_t events)
{
        struct serial *s = opaque;
        uint8_t buf[256];

        /* Busy (a vCPU may be blocked writing to a slow console) or full: poll again from the timer. */
        if (pthread_mutex_trylock(&s->lock) != 0) {
                pause_input(s, fd);
                return 0;
        }
        size_t room = SERIAL_RX_SIZE - s->regs.rx_count;
        if (room == 0) {
                pthread_mutex_unlock(&s->lock);
                pause_input(s, fd);
                return 0;
        }
        /* The fd is readable, so this read does not block even on a blocking terminal. */
        ssize_t n = read(fd, buf, MIN(room, sizeof(buf)));
        if (n > 0) {
                for (ssize_t i = 0; i < n; i++)
                        rx_push(&s->regs, buf[i]);
                update_irq(s);
        }
        pthread_mutex_unlock(&s->lock);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                /* End of input (or an error): the console keeps working for output. */
                (void)event_loop_remove(s->loop, fd);
                s->in_fd = -EBADF;
        }
        return 0;
}

static int on_timer(void *opaque, int fd, uint32_t events)
{
        struct serial *s = opaque;
        uint64_t ticks;

        (void)!read(fd, &ticks, sizeof(ticks));
        /*
         * A vCPU writing to a console that is slow to read (a full pipe) holds the lock while
         * it waits; the I/O thread must not wait with it. Try again on the next tick.
         */
        if (pthread_mutex_trylock(&s->lock) != 0) {
                struct itimerspec its = {.it_value.tv_nsec = FLUSH_DELAY_NS};
                (void)timerfd_settime(s->timer_fd, 0, &its, NULL);
                return 0;
        }
        flush_locked(s);
        bool room = s->regs.rx_count < SERIAL_RX_SIZE;
        pthread_mutex_unlock(&s->lock);
        if (s->in_paused && s->in_fd >= 0) {
                if (room) {
                        s->in_paused = false;
                        (void)event_loop_modify(s->loop, s->in_fd, EPOLLIN);
                } else {
                        struct itimerspec its = {.it_value.tv_nsec = FLUSH_DELAY_NS};
                        (void)timerfd_settime(s->timer_fd, 0, &its, NULL);
                }
        }
        return 0;
}

int serial_new(struct bus *pio, uint16_t base, struct event_loop *loop, int in_fd, int out_fd,
               serial_irq_fn set_irq, void *opaque, struct serial **ret)
{
        struct serial *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        s->in_fd = in_fd;
        s->out_fd = out_fd;
        s->set_irq = set_irq;
        s->irq_opaque = opaque;
        s->loop = loop;
        s->timer_fd = -EBADF;
        s->regs.lsr = UART_LSR_THRE | UART_LSR_TEMT;
        if (loop) {
                s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (s->timer_fd < 0) {
                        r = negative_errno();
                        serial_free(s);
                        return r;
                }
                r = event_loop_add(loop, s->timer_fd, EPOLLIN, on_timer, s);
                if (r >= 0 && in_fd >= 0) {
                        r = event_loop_add(loop, in_fd, EPOLLIN, on_input, s);
                        /* A regular file or /dev/null cannot be polled (EPERM): no console input. */
                        if (r == -EPERM) {
                                s->in_fd = -EBADF;
                                r = 0;
                        }
                }
                if (r < 0) {
                        serial_free(s);
                        return r;
                }
        }
        r = bus_add(pio, base, 8, &serial_ops, s);
        if (r < 0) {
                serial_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void serial_flush(struct serial *s)
{
        pthread_mutex_lock(&s->lock);
        flush_locked(s);
        pthread_mutex_unlock(&s->lock);
}

void serial_free(struct serial *s)
{
        if (!s)
                return;
        serial_flush(s);
        if (s->loop) {
                if (s->timer_fd >= 0)
                        (void)event_loop_remove(s->loop, s->timer_fd);
                if (s->in_fd >= 0)
                        (void)event_loop_remove(s->loop, s->in_fd);
        }
        safe_close(s->timer_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

void serial_save(struct serial *s, struct snap_buf *b)
{
        struct snap_buf r = {};
        const struct serial_regs *g = &s->regs;

        pthread_mutex_lock(&s->lock);
        const uint8_t regs[] = {g->ier, g->lcr, g->mcr, g->lsr, g->msr, g->scr, g->dll, g->dlm, g->fcr};
        snap_put(&r, regs, sizeof(regs));
        snap_put_u8(&r, g->thr_ipending);
        snap_put_u32(&r, g->rx_count);
        /* The bytes waiting for the guest, oldest first. */
        for (uint32_t i = 0; i < g->rx_count; i++)
                snap_put_u8(&r, g->rx[(g->rx_head + i) % SERIAL_RX_SIZE]);
        pthread_mutex_unlock(&s->lock);
        snap_put_record_buf(b, SNAP_SERIAL, 0, &r);
}

int serial_restore(struct serial *s, const struct snapshot_blob *blob)
{
        struct snap_reader r = snap_reader_init(blob);
        struct serial_regs g = {};
        uint8_t regs[9];

        snap_get(&r, regs, sizeof(regs));
        g.ier = regs[0], g.lcr = regs[1], g.mcr = regs[2], g.lsr = regs[3], g.msr = regs[4];
        g.scr = regs[5], g.dll = regs[6], g.dlm = regs[7], g.fcr = regs[8];
        g.thr_ipending = snap_get_bool(&r);
        g.rx_count = snap_get_u32(&r);
        if (g.rx_count > SERIAL_RX_SIZE)
                r.bad = true;
        else
                snap_get(&r, g.rx, g.rx_count);
        int e = snap_reader_finish(&r, "serial");
        if (e < 0)
                return e;
        pthread_mutex_lock(&s->lock);
        s->regs = g;
        update_irq(s);
        pthread_mutex_unlock(&s->lock);
        return 0;
}
