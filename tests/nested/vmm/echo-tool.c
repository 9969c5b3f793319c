/* SPDX-License-Identifier: Apache-2.0 */
/*
 * echo-tool - the two ends of the nested tests' stream checks, on TCP, AF_VSOCK and
 * Unix sockets, built static so that the same binary runs in the L1 test host and in
 * the guest.
 *
 *   echo-tool serve tcp PORT | vsock PORT | unix PATH
 *       accept one connection, echo everything back until EOF, exit 0
 *   echo-tool send tcp ADDR PORT MSG | vsock CID PORT MSG | hull-vsock UDS PORT MSG
 *       connect (retrying for up to 20 s), send MSG, half-close, read the echo, exit 0
 *       when it equals MSG; hull-vsock speaks hull-vmm's "CONNECT <port>\n" handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
        fprintf(stderr, "echo-tool: %s: %s\n", what, strerror(errno));
        return 1;
}

static int serve(int fd)
{
        int c = accept(fd, NULL, NULL);
        char buf[4096];
        ssize_t n;

        if (c < 0)
                return die("accept");
        while ((n = read(c, buf, sizeof(buf))) > 0)
                if (write(c, buf, (size_t)n) != n)
                        return die("write");
        close(c);
        return n < 0 ? die("read") : 0;
}

static int read_line(int fd, char *buf, size_t size)
{
        size_t i = 0;
        while (i + 1 < size) {
                ssize_t n = read(fd, buf + i, 1);
                if (n <= 0)
                        return -1;
                if (buf[i++] == '\n')
                        break;
        }
        buf[i] = 0;
        return 0;
}

/* One connection attempt; 0 connected (fd in *ret), -1 retry. */
static int try_connect(char **argv, int *ret)
{
        const char *kind = argv[2];
        int fd = -1;

        if (!strcmp(kind, "tcp")) {
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[4]))};
                inet_pton(AF_INET, argv[3], &sa.sin_addr);
                fd = socket(AF_INET, SOCK_STREAM, 0);
                if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        goto ok;
        } else if (!strcmp(kind, "vsock")) {
                struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
                                         .svm_cid = (unsigned)atoi(argv[3]),
                                         .svm_port = (unsigned)atoi(argv[4])};
                fd = socket(AF_VSOCK, SOCK_STREAM, 0);
                if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        goto ok;
        } else if (!strcmp(kind, "hull-vsock")) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                char line[64];
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[3]);
                fd = socket(AF_UNIX, SOCK_STREAM, 0);
                if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                        dprintf(fd, "CONNECT %s\n", argv[4]);
                        if (read_line(fd, line, sizeof(line)) == 0 && !strncmp(line, "OK ", 3))
                                goto ok;
                }
        }
        if (fd >= 0)
                close(fd);
        return -1;
ok:
        *ret = fd;
        return 0;
}

static int send_and_check(char **argv)
{
        const char *msg = argv[5];
        size_t len = strlen(msg), got = 0;
        char buf[4096];
        int fd = -1;

        for (int i = 0; i < 200 && try_connect(argv, &fd) < 0; i++)
                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        if (fd < 0)
                return die("connect");
        if (write(fd, msg, len) != (ssize_t)len)
                return die("write");
        shutdown(fd, SHUT_WR);
        while (got < sizeof(buf) - 1) {
                ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        buf[got] = 0;
        close(fd);
        if (got != len || memcmp(buf, msg, len)) {
                fprintf(stderr, "echo-tool: sent '%s', got back '%s'\n", msg, buf);
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        int fd;

        alarm(60); /* a test that hangs fails, it does not stall the suite */

        if (argc >= 4 && !strcmp(argv[1], "serve")) {
                if (!strcmp(argv[2], "tcp")) {
                        struct sockaddr_in sa = {.sin_family = AF_INET,
                                                 .sin_port = htons((uint16_t)atoi(argv[3]))};
                        int one = 1;
                        fd = socket(AF_INET, SOCK_STREAM, 0);
                        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                                return die("bind");
                } else if (!strcmp(argv[2], "vsock")) {
                        struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
                                                 .svm_cid = VMADDR_CID_ANY,
                                                 .svm_port = (unsigned)atoi(argv[3])};
                        fd = socket(AF_VSOCK, SOCK_STREAM, 0);
                        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                                return die("bind");
                } else {
                        struct sockaddr_un sa = {.sun_family = AF_UNIX};
                        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[3]);
                        fd = socket(AF_UNIX, SOCK_STREAM, 0);
                        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                                return die("bind");
                }
                if (listen(fd, 1) < 0)
                        return die("listen");
                return serve(fd);
        }
        if (argc >= 6 && !strcmp(argv[1], "send"))
                return send_and_check(argv);
        fprintf(stderr, "usage: echo-tool serve tcp|vsock|unix ADDR | send tcp|vsock|hull-vsock A B MSG\n");
        return 2;
}
