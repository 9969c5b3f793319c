/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-vm-console.c - `hull vm console` (the serial console, live, through the monitor's
 * console socket; Ctrl-] detaches), `hull vm logs` (console.log, with -f following it until
 * the VM ends) and `hull vm exec` (a process in an image VM, through hull's guest init).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "cmd-vm.h"
#include "error.h"
#include "util.h"
#include "vm.h"

#define DETACH_KEY 0x1d /* Ctrl-] */

const struct cmd_option vm_logs_opts[] = {
        {"follow", 'f', OPT_FLAG, NULL, "keep printing new output until the VM ends"},
        {},
};
const struct cmd_option vm_exec_opts[] = {
        {"interactive", 'i', OPT_FLAG, NULL, "send this process's stdin to the command"},
        {"env", 'e', OPT_MULTI, "KEY=VALUE", "set an environment variable"},
        {"workdir", 'w', OPT_VALUE, "DIR", "working directory in the guest"},
        {"user", 'u', OPT_VALUE, "UID[:GID]", "run as this user"},
        {"tty", 't', OPT_FLAG, NULL, "give the process a pseudo-terminal in the guest"},
        {},
};

int cmd_vm_console(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct termios saved, raw;
        bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
        int r;

        if ((r = vm_lookup(c->engine, c->argv[0], &w)) < 0 ||
            (r = vm_console_connect(c->engine, w, &fd)) < 0)
                return cmd_fail(r, "attaching to the console of '%s'", c->argv[0]);
        if (tty) {
                raw = saved;
                cfmakeraw(&raw);
                tcsetattr(0, TCSANOW, &raw);
                fprintf(stderr, "hull: connected to the console of '%s' (Ctrl-] detaches)\r\n", w->name);
        }
        for (bool in_open = true;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                                      {.fd = in_open ? 0 : -1, .events = POLLIN}};
                char buf[4096];
                ssize_t n;

                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[0].revents) {
                        n = read(fd, buf, sizeof(buf));
                        if (n <= 0)
                                break;
                        (void)!write_all(1, buf, (size_t)n);
                }
                if (p[1].revents) {
                        n = read(0, buf, sizeof(buf));
                        if (n <= 0) {
                                in_open = false;
                                continue;
                        }
                        if (tty && memchr(buf, DETACH_KEY, (size_t)n))
                                break;
                        (void)!write_all(fd, buf, (size_t)n);
                }
        }
        if (tty)
                tcsetattr(0, TCSANOW, &saved);
        return 0;
}

int cmd_vm_logs(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if ((r = vm_lookup(c->engine, c->argv[0], &w)) < 0)
                return cmd_fail(r, "reading the logs of '%s'", c->argv[0]);
        if (!(dir = vm_dir(c->engine, w->id)) || !(path = strdup_printf("%s/console.log", dir)))
                return -ENOMEM;
        /* The older file first, when the log was rotated (16 MiB). */
        _cleanup_free_ char *old = strdup_printf("%s.1", path), *prev = NULL;
        size_t prev_len = 0;
        if (old && read_full_file(old, 32u << 20, &prev, &prev_len) >= 0)
                (void)!write_all(1, prev, prev_len);
        fflush(stdout);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return cmd_fail(-errno, "reading '%s'", path);
        for (;;) {
                char buf[65536];
                ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : 0;
                if (n > 0) {
                        (void)!write_all(1, buf, (size_t)n);
                        continue;
                }
                if (!cmd_flag(c, "follow"))
                        break;
                if (vm_refresh(c->engine, w) < 0 ||
                    (w->state != WORKLOAD_RUNNING && w->state != WORKLOAD_PAUSED &&
                     w->state != WORKLOAD_RESTARTING)) {
                        /* What the monitor wrote before it finished. */
                        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                                (void)!write_all(1, buf, (size_t)n);
                        break;
                }
                /* Rotated (the monitor renamed it): what is left of this file was read, go on with the new
                 * one. */
                struct stat a, b;
                if (fd >= 0 && stat(path, &a) == 0 && fstat(fd, &b) == 0 && a.st_ino != b.st_ino)
                        fd = safe_close(fd);
                if (fd < 0)
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                usleep(100000);
        }
        return 0;
}

int cmd_vm_exec(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r, code = -1;

        if ((r = vm_lookup(c->engine, c->argv[0], &w)) < 0)
                return cmd_fail(r, "running a process in '%s'", c->argv[0]);
        /* SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the process in the guest, as with podman exec. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        /* A resize of this terminal resizes the guest's (vm_exec() sends it, not the signal). */
        if (cmd_flag(c, "tty"))
                sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        struct vm_exec_options o = {.argv = c->argv + 1,
                                    .env = cmd_opt_all(c, "env"),
                                    .workdir = cmd_opt(c, "workdir"),
                                    .user = cmd_opt(c, "user"),
                                    .interactive = cmd_flag(c, "interactive"),
                                    .tty = cmd_flag(c, "tty"),
                                    .signal_fd = sfd};
        struct winsize ws;
        struct termios saved, raw;
        bool raw_mode = o.tty && o.interactive && isatty(0) && tcgetattr(0, &saved) == 0;
        if (o.tty && ioctl(1, TIOCGWINSZ, &ws) == 0) {
                o.rows = ws.ws_row;
                o.cols = ws.ws_col;
        }
        /* With a terminal in the guest, this one passes keys through as they are. */
        if (raw_mode) {
                raw = saved;
                cfmakeraw(&raw);
                tcsetattr(0, TCSANOW, &raw);
        }
        r = vm_exec(c->engine, w, &o, &code);
        if (raw_mode)
                tcsetattr(0, TCSANOW, &saved);
        if (r == -ENOEXEC)
                fprintf(stderr, "hull: %s\n", err_msg(r));
        if (r < 0 && r != -ENOEXEC)
                return cmd_fail(r, "running a process in '%s'", c->argv[0]);
        c->exit_status = code < 0 ? EXIT_ENGINE_ERROR : code;
        return 0;
}
