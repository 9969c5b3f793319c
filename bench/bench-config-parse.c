/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-config-parse.c - cost of reading a config.json: hull's config_parse() (JSON + validation +
 * C structures) against json-c's parse alone (the floor any JSON-based runtime pays).
 *
 * Usage: bench-config-parse [ROUNDS] FILE...
 * Per file, ROUNDS rounds alternate A (json-c only) and B (config_parse), each round timing a batch
 * of parses; prints the median microseconds per parse of A and B and the ratio B/A.
 */
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "util.h"

#define BATCH 200

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
        qsort(v, n, sizeof(double), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double time_jsonc(const char *buf, size_t len)
{
        double t = now_us();
        for (int i = 0; i < BATCH; i++) {
                struct json_object *o = NULL;
                if (json_parse_buffer(buf, len, "bench", &o) >= 0)
                        json_object_put(o);
        }
        return (now_us() - t) / BATCH;
}

static double time_config(const char *buf, size_t len, int *ret)
{
        double t = now_us();
        for (int i = 0; i < BATCH; i++) {
                struct oci_config *c = NULL;
                *ret = config_parse(buf, len, &c);
                config_free(c);
        }
        return (now_us() - t) / BATCH;
}

int main(int argc, char **argv)
{
        int rounds = 31, first = 1;

        if (argc > 1 && parse_int(argv[1], &rounds) == 0)
                first = 2;
        if (first >= argc || rounds < 1) {
                fprintf(stderr, "usage: %s [ROUNDS] FILE...\n", argv[0]);
                return 2;
        }
        printf("%-32s %8s %12s %12s %7s\n", "file", "bytes", "json-c us", "hull us", "ratio");
        for (int f = first; f < argc; f++) {
                _cleanup_free_ char *buf = NULL;
                _cleanup_free_ double *a = calloc(rounds, sizeof(double)),
                                      *b = calloc(rounds, sizeof(double));
                size_t len;
                int r = read_full_file(argv[f], 1 << 24, &buf, &len);

                if (r < 0 || !a || !b) {
                        fprintf(stderr, "%s: %s\n", argv[f], strerror(-r));
                        return 1;
                }
                for (int i = 0; i < rounds; i++) {
                        a[i] = time_jsonc(buf, len);
                        b[i] = time_config(buf, len, &r);
                        if (r < 0) {
                                fprintf(stderr, "%s: %s\n", argv[f], err_msg(r));
                                return 1;
                        }
                }
                double ma = median(a, rounds), mb = median(b, rounds);
                const char *name = strrchr(argv[f], '/');
                printf("%-32s %8zu %12.1f %12.1f %7.2f\n", name ? name + 1 : argv[f], len, ma, mb, mb / ma);
        }
        return 0;
}
