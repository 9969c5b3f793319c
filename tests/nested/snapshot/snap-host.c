/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap-host - the host side of one hull-agent conversation, for the snapshot tests inside the
 * nested test host (tests/nested/snapshot/run), where there is no hull and no python.
 *
 *   snap-host SOCK 'SHELL COMMAND' -- VMM ARGS...
 *
 * Listens on SOCK (the <uds>_<port> of the VMM's vsock device), starts the VMM, and measures
 * the times until the guest's agent is connected (connect: the VMM connected the guest's
 * request; hello: the agent's first frame arrived, so it runs) and until it is READY.
 * Then it talks the agent protocol (docs/agent.md): HELLO, CREATE with the root disk vda
 * (ext4) and, with SNAP_SHARE=TAG:DEST in the environment, a virtio-fs share mounted at DEST,
 * EXEC of `sh -c COMMAND` whose output it prints, EXIT; the agent then powers off. It
 * prints one summary line:
 *   HULL-SNAP connect_ms=N hello_ms=N ready_ms=N exit=STATUS vmm=VMM_EXIT
 * and exits 0 when the command exited 0 and the VMM 0.
 *
 * Written against the frame format only (12-byte header, fields), as a static binary.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
        CREATE = 1,
        EXEC = 2,
        HELLO = 64,
        READY = 65,
        STARTED = 66,
        STDOUT_ = 67,
        STDERR_ = 68,
        EXIT_ = 69,
        ERROR_ = 70
};

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int read_full(int fd, void *p, size_t n)
{
        uint8_t *b = p;
        while (n > 0) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (poll(&pfd, 1, 120000) <= 0)
                        return -ETIMEDOUT;
                ssize_t r = read(fd, b, n);
                if (r <= 0)
                        return r == 0 ? -EPIPE : -errno;
                b += r;
                n -= (size_t)r;
        }
        return 0;
}

static uint8_t frame[70000];

/* One frame from the agent into frame; returns its type, or a negative errno. */
static int read_frame(int fd, uint32_t *ret_len, uint32_t *ret_id)
{
        uint8_t h[12];
        uint32_t len, id;
        uint16_t type;

        int r = read_full(fd, h, sizeof(h));
        if (r < 0)
                return r;
        memcpy(&len, h, 4);
        memcpy(&type, h + 4, 2);
        memcpy(&id, h + 8, 4);
        if (len > 65536)
                return -EPROTO;
        r = read_full(fd, frame, len);
        if (r < 0)
                return r;
        *ret_len = len;
        *ret_id = id;
        return type;
}

static size_t put_field(uint8_t *b, uint16_t tag, const void *v, uint32_t len)
{
        uint16_t zero = 0;
        memcpy(b, &tag, 2);
        memcpy(b + 2, &zero, 2);
        memcpy(b + 4, &len, 4);
        memcpy(b + 8, v, len);
        return 8 + len;
}

static int send_frame(int fd, uint16_t type, uint32_t id, const uint8_t *p, uint32_t len)
{
        uint8_t h[12];
        uint16_t flags = 0;
        memcpy(h, &len, 4);
        memcpy(h + 4, &type, 2);
        memcpy(h + 6, &flags, 2);
        memcpy(h + 8, &id, 4);
        if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h) || write(fd, p, len) != (ssize_t)len)
                return -errno;
        return 0;
}

static int talk(int fd, const char *command, double t0, double *hello_ms, double *ready_ms)
{
        static uint8_t out[8192];
        uint32_t len, id;
        size_t n;
        int type;

        type = read_frame(fd, &len, &id);
        if (type != HELLO) {
                fprintf(stderr, "snap-host: expected HELLO, got %d\n", type);
                return -1;
        }
        *hello_ms = now_ms() - t0;
        /*
         * A restored guest learns its disks' sizes from a configuration-change interrupt that
         * its driver handles in a work item; an agent without the wait for it (before protocol
         * 3) could mount vda while it still reads as empty: give the work item its moment.
         */
        usleep(100000);
        n = put_field(out, 1, "vda\0ext4\0", 9);
        /* SNAP_SHARE=TAG:DEST: a MOUNT of the virtio-fs device TAG at DEST (docs/agent.md). */
        const char *share = getenv("SNAP_SHARE");
        if (share && strchr(share, ':') && strlen(share) < 200) {
                char m[256];
                int k = snprintf(m, sizeof(m), "%s", share);
                char *colon = strchr(m, ':');
                *colon = 0;
                memcpy(m + k + 1, "virtiofs\0", 10); /* source\0dest\0virtiofs\0(no options) */
                n += put_field(out + n, 3, m, (uint32_t)k + 10);
        }
        if (send_frame(fd, CREATE, 0, out, (uint32_t)n) < 0)
                return -1;
        type = read_frame(fd, &len, &id);
        if (type != READY) {
                fprintf(stderr, "snap-host: CREATE answered %d: %.*s\n", type,
                        type == ERROR_ ? (int)len - 4 : 0, frame + 4);
                return -1;
        }
        *ready_ms = now_ms() - t0;
        n = put_field(out, 1, "sh", 2);
        n += put_field(out + n, 1, "-c", 2);
        n += put_field(out + n, 1, command, (uint32_t)strlen(command));
        n += put_field(out + n, 2, "PATH=/bin:/sbin:/usr/bin", 24);
        if (send_frame(fd, EXEC, 1, out, (uint32_t)n) < 0)
                return -1;
        for (;;) {
                type = read_frame(fd, &len, &id);
                if (type < 0) {
                        fprintf(stderr, "snap-host: connection lost: %s\n", strerror(-type));
                        return -1;
                }
                if (type == STDOUT_ || type == STDERR_)
                        fwrite(frame, 1, len, stdout);
                else if (type == ERROR_) {
                        fprintf(stderr, "snap-host: EXEC failed: %.*s\n", (int)len - 4, frame + 4);
                        return -1;
                } else if (type == EXIT_ && len == 4) {
                        uint32_t status;
                        memcpy(&status, frame, 4);
                        fflush(stdout);
                        return (int)status;
                }
        }
}

int main(int argc, char **argv)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        double hello_ms = -1, ready_ms = -1;

        if (argc < 5 || strcmp(argv[3], "--") != 0) {
                fprintf(stderr, "usage: snap-host SOCK 'COMMAND' -- VMM ARGS...\n");
                return 2;
        }
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
        unlink(argv[1]);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
                perror("snap-host: listen");
                return 2;
        }
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
                execv(argv[4], argv + 4);
                perror("snap-host: exec");
                _exit(127);
        }
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        int status = -1, fd = -1, ws = 0, n = 0;
        double connect_ms = -1;
        bool ended = false;
        /* Up to 120 s, but not past the VMM's end (it failed to start, or the guest did). */
        while ((n = poll(&pfd, 1, 100)) == 0 && now_ms() - t0 < 120000)
                if (waitpid(pid, &ws, WNOHANG) == pid) {
                        ended = true;
                        break;
                }
        if (n == 1 && (fd = accept(lfd, NULL, NULL)) >= 0) {
                connect_ms = now_ms() - t0;
                status = talk(fd, argv[2], t0, &hello_ms, &ready_ms);
                close(fd);
        } else
                fprintf(stderr, "snap-host: the agent did not connect\n");
        unlink(argv[1]);
        /* The agent powers the VM off after EXIT; a VMM that lingers is killed after 60 s. */
        for (int i = 0; !ended && i < 600; i++) {
                if (waitpid(pid, &ws, WNOHANG) == pid)
                        ended = true;
                else
                        usleep(100000);
        }
        if (!ended) {
                kill(pid, SIGKILL);
                waitpid(pid, &ws, 0);
        }
        int vmm = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        printf("HULL-SNAP connect_ms=%.0f hello_ms=%.0f ready_ms=%.0f exit=%d vmm=%d\n", connect_ms,
               hello_ms, ready_ms, status, vmm);
        return status == 0 && vmm == 0 ? 0 : 1;
}
