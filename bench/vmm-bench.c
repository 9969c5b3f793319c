/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-bench - time one VM run and measure its monitor's memory, the same way for any
 * VMM (hull-vmm, QEMU), for bench/vmm-nested.
 *
 *   vmm-bench MARKER GUEST_MIB SAMPLE_MS -- VMM ARGS...
 *
 * Starts the VMM with its console on a pipe and records, from just before fork():
 * the time the console printed a line containing MARKER, and the time the VMM exited.
 * When SAMPLE_MS >= 0, SAMPLE_MS after the marker it reads /proc/PID/smaps: the RSS of
 * the whole process, and the RSS of the guest RAM mapping(s) (mappings of at least
 * GUEST_MIB MiB); the difference is the VMM's own memory. Console lines that start
 * with "BENCH-" are passed through (the guest's dd results). Output: one JSON line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void smaps(pid_t pid, unsigned long guest_kib_min, unsigned long *ret_total, unsigned long *ret_guest)
{
        char path[64], line[512];
        unsigned long total = 0, guest = 0, size = 0, v;
        snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "Size: %lu kB", &v) == 1)
                        size = v;
                else if (sscanf(line, "Rss: %lu kB", &v) == 1) {
                        total += v;
                        if (size >= guest_kib_min)
                                guest += v;
                }
        }
        fclose(f);
        *ret_total = total;
        *ret_guest = guest;
}

int main(int argc, char **argv)
{
        if (argc < 6 || strcmp(argv[4], "--") != 0) {
                fprintf(stderr, "usage: vmm-bench MARKER GUEST_MIB SAMPLE_MS -- VMM ARGS...\n");
                return 2;
        }
        const char *marker = argv[1];
        unsigned long guest_kib_min = strtoul(argv[2], NULL, 10) * 1024;
        long sample_ms = strtol(argv[3], NULL, 10);
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return 1;
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                dup2(p[1], 2);
                execvp(argv[5], argv + 5);
                _exit(127);
        }
        close(p[1]);
        FILE *in = fdopen(p[0], "r");
        char line[4096];
        double t_marker = -1;
        unsigned long total = 0, guest = 0;
        while (fgets(line, sizeof(line), in)) {
                if (t_marker < 0 && strstr(line, marker)) {
                        t_marker = now_ms() - t0;
                        if (sample_ms >= 0) {
                                struct timespec d = {sample_ms / 1000, (sample_ms % 1000) * 1000000L};
                                nanosleep(&d, NULL);
                                smaps(pid, guest_kib_min, &total, &guest);
                        }
                }
                if (!strncmp(line, "BENCH-", 6))
                        fputs(line, stderr);
        }
        int status;
        struct rusage ru;
        wait4(pid, &status, 0, &ru);
        double t_exit = now_ms() - t0;
        printf("{\"marker_ms\":%.1f,\"exit_ms\":%.1f,\"rss_kib\":%lu,\"guest_kib\":%lu,\"overhead_kib\":%ld,"
               "\"maxrss_kib\":%ld,\"status\":%d}\n",
               t_marker, t_exit, total, guest, (long)total - (long)guest, ru.ru_maxrss,
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
}
