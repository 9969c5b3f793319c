/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach-io.c - proxying between the terminal and a container's monitor; see attach-io.h.
 *
 * With a terminal the local one goes to raw mode (the container's line discipline does
 * the editing and signals: ctrl-c reaches it as a byte) and is restored on every way out.
 * Without one, signals hull receives are passed on as ATTACH_SIGNAL messages, as podman's
 * --sig-proxy does. Output is written as it arrives; a closed stdout (`| head`) stops
 * the copying, not the wait for the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>

#include "attach-io.h"
#include "attach-proto.h"
#include "error.h"
#include "util.h"

#define DETACH_1 0x10 /* ctrl-p */
#define DETACH_2 0x11 /* ctrl-q */

static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void)
{
        if (tio_saved) {
                tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
                tio_saved = false;
        }
}

static void raw_terminal(void)
{
        struct termios t;

        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
                return;
        t = saved_tio;
        cfmakeraw(&t);
        /* Keep output processing: the container's terminal already turned \n into \r\n. */
        t.c_oflag = saved_tio.c_oflag;
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0) {
                tio_saved = true;
                atexit(restore_terminal);
        }
}

static int send_msg(int fd, char type, const void *data, size_t len)
{
        char buf[ATTACH_MSG_MAX];

        if (len > sizeof(buf) - 1)
                len = sizeof(buf) - 1;
        buf[0] = type;
        if (len > 0)
                memcpy(buf + 1, data, len);
        for (;;) {
                ssize_t k = send(fd, buf, len + 1, MSG_NOSIGNAL);
                if (k >= 0)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

static void send_size(int fd)
{
        struct winsize ws;
        uint16_t rc[2];

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        rc[0] = ws.ws_row;
        rc[1] = ws.ws_col;
        send_msg(fd, ATTACH_RESIZE, rc, sizeof(rc));
}

/* Write all of it; false once the reader is gone (the rest of the output is dropped). */
static bool write_out(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd w = {.fd = fd, .events = POLLOUT};
                                poll(&w, 1, -1);
                                continue;
                        }
                        return false;
                }
                p += k;
                n -= (size_t)k;
        }
        return true;
}

int attach_run(int fd, const struct attach_options *o, int *ret_code)
{
        static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask, old;
        bool stdin_open = o->stdin_on, out_ok = true, err_ok = true, saw_p = false;
        char buf[ATTACH_MSG_MAX + 1], pending[ATTACH_MSG_MAX];
        size_t n_pending = 0; /* a stdin message the socket did not take yet (its first byte is the type) */
        int r = 0;

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        if (o->sig_proxy && !o->tty)
                for (size_t i = 0; i < ELEMENTSOF(proxied); i++)
                        sigaddset(&mask, proxied[i]);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        signal(SIGPIPE, SIG_IGN);
        if (o->tty) {
                raw_terminal();
                send_size(fd);
        }

        for (;;) {
                struct pollfd p[3] = {
                        {.fd = fd, .events = (short)(POLLIN | (n_pending ? POLLOUT : 0))},
                        {.fd = sfd, .events = POLLIN},
                        /* No more stdin while a message waits: the monitor is applying backpressure. */
                        {.fd = stdin_open && !n_pending ? STDIN_FILENO : -1, .events = POLLIN},
                };
                ssize_t n;

                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (n_pending && (p[0].revents & POLLOUT)) {
                        n = send(fd, pending, n_pending, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n >= 0)
                                n_pending = 0;
                        else if (errno == EPIPE || errno == ECONNRESET) {
                                /* The monitor is gone: no more stdin, but its last messages are still to
                                 * read. */
                                n_pending = 0;
                                stdin_open = false;
                        } else if (errno != EAGAIN && errno != EINTR) {
                                r = negative_errno();
                                break;
                        }
                }
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                int32_t sig = (int32_t)si.ssi_signo;
                                if (sig == SIGWINCH) {
                                        if (o->tty)
                                                send_size(fd);
                                } else
                                        send_msg(fd, ATTACH_SIGNAL, &sig, sizeof(sig));
                        }
                }
                if (p[2].revents) {
                        n = read(STDIN_FILENO, buf, ATTACH_MSG_MAX - 1);
                        if (n <= 0) {
                                if (n < 0 && errno == EINTR)
                                        continue;
                                stdin_open = false;
                                send_msg(fd, ATTACH_STDIN_CLOSE, NULL, 0);
                        } else {
                                if (o->tty) {
                                        /* ctrl-p ctrl-q: leave the container running. */
                                        for (ssize_t i = 0; i < n; i++) {
                                                if (saw_p && buf[i] == DETACH_2) {
                                                        r = ATTACH_DETACHED;
                                                        goto out;
                                                }
                                                saw_p = buf[i] == DETACH_1;
                                        }
                                }
                                pending[0] = ATTACH_STDIN;
                                memcpy(pending + 1, buf, (size_t)n);
                                if (send(fd, pending, (size_t)n + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                                        if (errno == EPIPE || errno == ECONNRESET)
                                                stdin_open = false; /* as above */
                                        else if (errno != EAGAIN && errno != EINTR) {
                                                r = negative_errno();
                                                break;
                                        } else
                                                n_pending = (size_t)n + 1;
                                }
                        }
                }
                if (p[0].revents) {
                        n = recv(fd, buf, ATTACH_MSG_MAX, MSG_DONTWAIT);
                        if (n < 0) {
                                /*
                                 * ECONNRESET: the monitor closed while something we sent was unread. The
                                 * kernel reports it once, before the messages still queued for us (the
                                 * exit status among them): read on.
                                 */
                                if (errno == EAGAIN || errno == EINTR || errno == ECONNRESET)
                                        continue;
                                r = negative_errno();
                                break;
                        }
                        if (n == 0) {
                                r = err_set(-ECONNRESET, "lost the connection to the container's monitor");
                                break;
                        }
                        switch (buf[0]) {
                        case ATTACH_STDOUT:
                                if (out_ok)
                                        out_ok = write_out(STDOUT_FILENO, buf + 1, (size_t)n - 1);
                                break;
                        case ATTACH_STDERR:
                                if (err_ok)
                                        err_ok = write_out(STDERR_FILENO, buf + 1, (size_t)n - 1);
                                break;
                        case ATTACH_EXIT:
                                if (n >= 5) {
                                        int32_t code;
                                        memcpy(&code, buf + 1, 4);
                                        *ret_code = code;
                                        if (o->ack_exit)
                                                send_msg(fd, ATTACH_ACK_EXIT, NULL, 0);
                                        r = ATTACH_EXITED;
                                        goto out;
                                }
                                break;
                        case ATTACH_ERROR:
                                if (n >= 5) {
                                        int32_t code;
                                        memcpy(&code, buf + 1, 4);
                                        buf[n] = 0;
                                        *ret_code = code;
                                        r = err_set(-ENOEXEC, "%s", buf + 5);
                                        goto out;
                                }
                                break;
                        default:
                                break; /* ATTACH_STARTED of a late attach, or something newer */
                        }
                }
        }
out:
        restore_terminal();
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
