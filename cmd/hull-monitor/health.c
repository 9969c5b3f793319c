/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health.c - health checks (Docker's HEALTHCHECK semantics), run by hull-monitor.
 *
 * Every interval the check (a runtime-spec process the engine wrote, e.g.
 * ["/bin/sh","-c","<cmd>"] for CMD-SHELL) runs in the container through
 * `hull-runtime exec`. Exit 0 is healthy; any other status, or running past the
 * timeout (then the process is killed, status -1), is a failure. After `retries`
 * failures in a row the container is unhealthy. During the start period failures do
 * not count, but a success ends the start period. The last HEALTH_LOG_KEEP results
 * (start, end, status, first 4 KiB of output) are kept in the status file for inspect.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "monitor.h"
#include "util.h"

void health_schedule(struct monitor *m)
{
        if (!m->o.health_process || m->pid <= 0)
                return;
        m->health_next = mono_ns() + m->o.health_interval;
}

static void record(struct monitor *m, int64_t start, int code, const char *out, size_t len)
{
        struct health_result *h;

        if (m->st.n_health_log == HEALTH_LOG_KEEP) {
                memmove(&m->st.health_log[0], &m->st.health_log[1],
                        sizeof(m->st.health_log[0]) * (HEALTH_LOG_KEEP - 1));
                m->st.n_health_log--;
        }
        h = &m->st.health_log[m->st.n_health_log++];
        h->start = start;
        h->end = now_ns();
        h->exit_code = code;
        len = MIN(len, sizeof(h->output) - 1);
        memcpy(h->output, out, len);
        h->output[len] = 0;

        if (code == 0) {
                snprintf(m->st.health, sizeof(m->st.health), "healthy");
                m->st.health_failures = 0;
                /* A success ends the start period. */
                m->o.health_start_period = 0;
        } else if (mono_ns() - m->started_mono >= m->o.health_start_period) {
                m->st.health_failures++;
                if (m->st.health_failures >= m->o.health_retries)
                        snprintf(m->st.health, sizeof(m->st.health), "unhealthy");
        }
        monitor_write_status(m);
}

static int64_t health_started_wall;

void health_start(struct monitor *m)
{
        int fd = -EBADF;
        int p;

        m->health_next = 0;
        health_started_wall = now_ns();
        p = runtime_exec_health(m, &fd);
        if (p < 0) {
                char msg[128];
                snprintf(msg, sizeof(msg), "cannot run the health check: %s", strerror(-p));
                record(m, health_started_wall, -1, msg, strlen(msg));
                health_schedule(m);
                return;
        }
        m->health_pid = p;
        m->health_fd = fd;
        m->health_len = 0;
        m->health_killed = false;
        m->health_started = mono_ns();
        m->health_deadline = m->health_started + m->o.health_timeout;
}

void health_timeout(struct monitor *m)
{
        _cleanup_free_ char *buf = NULL;
        int pid;

        /* The checked process runs inside the container: kill it there, the runtime then returns. */
        if (read_full_file("exec.pid", 64, &buf, NULL) >= 0 && parse_int(buf, &pid) >= 0 && pid > 0)
                kill(pid, SIGKILL);
        kill(m->health_pid, SIGKILL);
        m->health_killed = true;
}

void health_collect(struct monitor *m, int status)
{
        bool timed_out = m->health_killed;
        int code;

        if (m->health_fd >= 0) {
                for (;;) {
                        size_t room = sizeof(m->health_out) - 1 - m->health_len;
                        ssize_t k = read(m->health_fd, m->health_out + m->health_len, room);
                        if (k <= 0 || room == 0)
                                break;
                        m->health_len += (size_t)k;
                }
                m->health_fd = safe_close(m->health_fd);
        }
        m->health_pid = 0;
        m->health_killed = false;
        unlinkat(AT_FDCWD, "exec.pid", 0);
        unlinkat(AT_FDCWD, "health.log", 0);
        if (m->pid <= 0)
                return; /* the container ended meanwhile: the result means nothing */
        if (timed_out) {
                char msg[96];
                snprintf(msg, sizeof(msg), "health check exceeded its timeout (%llds)",
                         (long long)(m->o.health_timeout / 1000000000));
                record(m, health_started_wall, -1, msg, strlen(msg));
        } else {
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                record(m, health_started_wall, code, m->health_out, m->health_len);
        }
        health_schedule(m);
}
