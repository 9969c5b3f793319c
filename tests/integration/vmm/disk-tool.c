/* SPDX-License-Identifier: Apache-2.0 */
/*
 * disk-tool.c - drives hull's block backends (src/vmm/disk) from tests and benchmarks.
 *
 *   disk-tool create FORMAT PATH SIZE [--backing B] [--backing-format F] [--version 2|3]
 *                                     [--cluster-bits N] [--fixed]
 *   disk-tool info PATH                          format, size, serial
 *   disk-tool read PATH OFFSET LENGTH            bytes to stdout
 *   disk-tool write PATH OFFSET                  stdin (a multiple of 512 bytes) to the disk
 *   disk-tool discard PATH OFFSET LENGTH
 *   disk-tool dump PATH OUT                      the whole virtual disk to a raw file
 *   disk-tool bench PATH read|write [--bs N] [--total N] [--no-flush]
 *                                                sequential throughput, one line of JSON
 *                                                (writes end with a flush unless --no-flush)
 *
 * Options for every command that opens: --format F (default: detect), --direct,
 * --readonly. Exit status 0, or 1 with "disk-tool: ..." on stderr.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "disk.h"
#include "error.h"
#include "util.h"

struct args {
        const char *pos[4];
        int npos;
        struct disk_open_options open;
        struct disk_create_options create;
        uint64_t bs, total;
        bool no_flush;
};

static int fail(int r, const char *what)
{
        fprintf(stderr, "disk-tool: %s: %s\n", what, err_msg(r));
        return 1;
}

static int usage(void)
{
        fprintf(stderr,
                "usage: disk-tool create|info|read|write|discard|dump|bench ... (see disk-tool.c)\n");
        return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
        *a = (struct args){
                .open = {.format = _DISK_FORMAT_INVALID},
                .create = {.backing_format = _DISK_FORMAT_INVALID},
                .bs = 1 << 20,
                .total = 256 << 20,
        };
        for (int i = 2; i < argc; i++) {
                const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                uint64_t n;
                if (streq(s, "--direct"))
                        a->open.direct = true;
                else if (streq(s, "--readonly"))
                        a->open.readonly = true;
                else if (streq(s, "--fixed"))
                        a->create.vhd_fixed = true;
                else if (streq(s, "--no-flush"))
                        a->no_flush = true;
                else if (v && streq(s, "--format")) {
                        a->open.format = disk_format_from_string(v);
                        if (a->open.format < 0)
                                return -EINVAL;
                        i++;
                } else if (v && streq(s, "--backing")) {
                        a->create.backing = v;
                        i++;
                } else if (v && streq(s, "--backing-format")) {
                        a->create.backing_format = disk_format_from_string(v);
                        i++;
                } else if (v && (streq(s, "--version") || streq(s, "--cluster-bits") || streq(s, "--bs") ||
                                 streq(s, "--total"))) {
                        if (parse_size(v, &n) < 0)
                                return -EINVAL;
                        if (streq(s, "--version"))
                                a->create.qcow2_version = (unsigned)n;
                        else if (streq(s, "--cluster-bits"))
                                a->create.qcow2_cluster_bits = (unsigned)n;
                        else if (streq(s, "--bs"))
                                a->bs = n;
                        else
                                a->total = n;
                        i++;
                } else if (s[0] == '-' && s[1] == '-')
                        return -EINVAL;
                else if (a->npos < 4)
                        a->pos[a->npos++] = s;
                else
                        return -EINVAL;
        }
        return 0;
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_read(struct disk *d, uint64_t off, uint64_t len)
{
        _cleanup_free_ uint8_t *buf = malloc(1 << 20);
        if (!buf)
                return fail(-ENOMEM, "read");
        while (len > 0) {
                size_t n = (size_t)MIN(len, (uint64_t)(1 << 20));
                struct iovec v = {buf, n};
                int r = disk_read(d, off, &v, 1);
                if (r < 0)
                        return fail(r, "read");
                if (write_all(STDOUT_FILENO, buf, n) < 0)
                        return fail(-errno, "write to stdout");
                off += n;
                len -= n;
        }
        return 0;
}

static int cmd_write(struct disk *d, uint64_t off)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_full_fd(STDIN_FILENO, SIZE_MAX / 2, &data, &len);
        if (r < 0)
                return fail(r, "read stdin");
        /* Two iovecs, split off the 512 grid, to exercise the scatter-gather paths. */
        size_t half = len / 2 + (len > 2 ? 1 : 0);
        struct iovec v[2] = {{data, half}, {data + half, len - half}};
        r = disk_write(d, off, v, len ? 2 : 0);
        if (r < 0)
                return fail(r, "write");
        r = disk_flush(d);
        if (r < 0)
                return fail(r, "flush");
        return 0;
}

static int cmd_dump(struct disk *d, const char *out)
{
        _cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return fail(-errno, out);
        _cleanup_free_ uint8_t *buf = malloc(1 << 20);
        if (!buf)
                return fail(-ENOMEM, "dump");
        for (uint64_t off = 0; off < disk_size(d);) {
                size_t n = (size_t)MIN(disk_size(d) - off, (uint64_t)(1 << 20));
                struct iovec v = {buf, n};
                int r = disk_read(d, off, &v, 1);
                if (r < 0)
                        return fail(r, "read");
                if (write_all(fd, buf, n) < 0)
                        return fail(-errno, out);
                off += n;
        }
        return 0;
}

static int cmd_bench(struct disk *d, const char *mode, const struct args *a)
{
        bool wr = streq(mode, "write");
        if (!wr && !streq(mode, "read"))
                return usage();
        if (a->bs == 0 || a->bs % 512 || a->bs > (64u << 20))
                return fail(-EINVAL, "--bs");
        void *buf;
        if (posix_memalign(&buf, 4096, a->bs) != 0)
                return fail(-ENOMEM, "bench");
        memset(buf, 0xa5, a->bs);
        uint64_t total = MIN(a->total, disk_size(d) - disk_size(d) % a->bs);
        double t0 = now();
        int r = 0;
        for (uint64_t off = 0; off < total && r >= 0; off += a->bs) {
                struct iovec v = {buf, a->bs};
                r = wr ? disk_write(d, off, &v, 1) : disk_read(d, off, &v, 1);
        }
        if (r >= 0 && wr && !a->no_flush)
                r = disk_flush(d);
        double t = now() - t0;
        free(buf);
        if (r < 0)
                return fail(r, mode);
        printf("{\"mode\":\"%s\",\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"mib_per_s\":%.1f}\n", mode, total,
               t, (double)total / (1 << 20) / t);
        return 0;
}

int main(int argc, char **argv)
{
        struct args a;
        if (argc < 2 || parse(argc, argv, &a) < 0)
                return usage();
        const char *cmd = argv[1];
        uint64_t x = 0, y = 0;
        int r;

        if (streq(cmd, "create")) {
                if (a.npos != 3)
                        return usage();
                a.create.format = disk_format_from_string(a.pos[0]);
                if (a.create.format < 0 || parse_size(a.pos[2], &a.create.size) < 0)
                        return usage();
                r = disk_create_ext(a.pos[1], &a.create);
                return r < 0 ? fail(r, "create") : 0;
        }
        if (a.npos < 1)
                return usage();
        if ((a.npos >= 2 && streq(cmd, "read")) || streq(cmd, "write") || streq(cmd, "discard")) {
                if (a.npos < 2 || parse_u64(a.pos[1], &x) < 0)
                        return usage();
        }
        if (streq(cmd, "read") || streq(cmd, "discard")) {
                if (a.npos != 3 || parse_u64(a.pos[2], &y) < 0)
                        return usage();
        }
        if (streq(cmd, "info") || streq(cmd, "read") || streq(cmd, "dump"))
                a.open.readonly = true;
        _cleanup_disk_ struct disk *d = NULL;
        r = disk_open(a.pos[0], &a.open, &d);
        if (r < 0)
                return fail(r, a.pos[0]);
        if (streq(cmd, "info")) {
                printf("{\"format\":\"%s\",\"size\":%" PRIu64 ",\"serial\":\"%.20s\"}\n",
                       disk_format_to_string(disk_get_format(d)), disk_size(d), disk_serial(d));
                return 0;
        }
        if (streq(cmd, "read"))
                return cmd_read(d, x, y);
        if (streq(cmd, "write"))
                return cmd_write(d, x);
        if (streq(cmd, "discard")) {
                r = disk_discard(d, x, y);
                if (r >= 0)
                        r = disk_flush(d);
                return r < 0 ? fail(r, "discard") : 0;
        }
        if (streq(cmd, "dump") && a.npos == 2)
                return cmd_dump(d, a.pos[1]);
        if (streq(cmd, "bench") && a.npos == 2)
                return cmd_bench(d, a.pos[1], &a);
        return usage();
}
