/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - hull-dns: the DNS responder of one hull network (libexec, started by the network
 * library on the first attach; see src/net/dns.h and docs/networking.md).
 *
 *   hull-dns --network NAME --dir DIR --listen ADDR [--listen ADDR6] [--lock FILE]
 *            [--ready-fd N] [--no-forward] [--port N] [--idle SECONDS] [--keep-privileges]
 *
 * DIR holds the name table ("names") and the pid file; --lock is the network store's lock,
 * taken before an idle exit. Everything it needs after dropping privileges is opened here.
 * Exit status: 0 after SIGTERM or an idle exit, 1 when it cannot start (the reason is written to
 * the ready fd, or stderr).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>

#include "dns-server.h"
#include "error.h"
#include "util.h"

static void usage(void)
{
        fputs("usage: hull-dns --network NAME --dir DIR --listen ADDR [--listen ADDR6] [--lock FILE]\n"
              "                [--ready-fd N] [--no-forward] [--port N] [--idle SECONDS] "
              "[--keep-privileges]\n",
              stderr);
}

_printf_(2, 3) static int fail(int ready_fd, const char *fmt, ...)
{
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (ready_fd >= 0) {
                dprintf(ready_fd, "%s\n", buf);
                close(ready_fd);
        } else
                fprintf(stderr, "hull-dns: %s\n", buf);
        return 1;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"network", required_argument, NULL, 'n'},   {"dir", required_argument, NULL, 'd'},
                {"listen", required_argument, NULL, 'l'},    {"lock", required_argument, NULL, 'k'},
                {"ready-fd", required_argument, NULL, 'r'},  {"no-forward", no_argument, NULL, 'F'},
                {"port", required_argument, NULL, 'p'},      {"idle", required_argument, NULL, 'i'},
                {"keep-privileges", no_argument, NULL, 'K'}, {},
        };
        struct dns_server_config c = {
                .port = 53,
                .forward = true,
                .idle_sec = 30,
                .ready_fd = -1,
                .lock_fd = -1,
                .resolv_conf = "/etc/resolv.conf",
                .drop_privileges = true,
        };
        const char *dir = NULL, *lock = NULL;
        uint32_t v;
        int o;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (o) {
                case 'n':
                        c.network = optarg;
                        break;
                case 'd':
                        dir = optarg;
                        break;
                case 'l':
                        if (c.n_listen == 2 || ipaddr_parse(optarg, &c.listen[c.n_listen]) < 0)
                                return fail(c.ready_fd, "invalid --listen '%s'", optarg);
                        c.n_listen++;
                        break;
                case 'k':
                        lock = optarg;
                        break;
                case 'r':
                        if (parse_u32(optarg, &v) < 0 || v > 1024)
                                return fail(-1, "invalid --ready-fd '%s'", optarg);
                        c.ready_fd = (int)v;
                        break;
                case 'F':
                        c.forward = false;
                        break;
                case 'p':
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 65535)
                                return fail(c.ready_fd, "invalid --port '%s'", optarg);
                        c.port = (uint16_t)v;
                        break;
                case 'i':
                        if (parse_u32(optarg, &v) < 0)
                                return fail(c.ready_fd, "invalid --idle '%s'", optarg);
                        c.idle_sec = v;
                        break;
                case 'K':
                        c.drop_privileges = false;
                        break;
                default:
                        usage();
                        return 1;
                }
        }
        if (!dir || c.n_listen == 0 || optind != argc) {
                usage();
                return fail(c.ready_fd, "%s", "missing --dir or --listen");
        }
        if (!c.network)
                c.network = "?";
        c.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c.dir_fd < 0)
                return fail(c.ready_fd, "cannot open '%s'", dir);
        if (lock) {
                c.lock_fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (c.lock_fd < 0)
                        return fail(c.ready_fd, "cannot open '%s'", lock);
        }
        return dns_server_run(&c) < 0 ? 1 : 0;
}
