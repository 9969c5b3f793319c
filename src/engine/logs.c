/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logs.c - reading json-file logs; see logs.h.
 *
 * --tail keeps a ring of the last N records while reading the files oldest first, so its
 * memory is bounded by N, its time by the log's size. Following watches the container
 * directory with inotify (writes to ctr.log, and the rename of a rotation), and stops
 * once the monitor has recorded the container's end and everything is read.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "error.h"
#include "logs.h"
#include "util.h"

#define CHUNK (256 * 1024)

int64_t logs_parse_buffer(const char *buf, size_t len, logs_fn fn, void *userdata)
{
        const char *p = buf, *end = buf + len;

        for (;;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                struct log_record rec;
                int r;

                if (!nl)
                        break;
                if (logfile_decode(p, (size_t)(nl - p), &rec) >= 0) {
                        r = fn(userdata, &rec);
                        log_record_done(&rec);
                        if (r < 0)
                                return r;
                }
                p = nl + 1;
        }
        return p - buf;
}

struct ring {
        struct log_record *r;
        size_t cap, n, head;
        const struct logs_options *o;
        logs_fn fn;
        void *userdata;
};

static int ring_add(void *userdata, const struct log_record *rec)
{
        struct ring *g = userdata;
        struct log_record *slot;

        if (g->o->since_ns && rec->time_ns < g->o->since_ns)
                return 0;
        if (g->o->until_ns && rec->time_ns >= g->o->until_ns)
                return 0;
        if (g->cap == 0)
                return g->fn(g->userdata, rec);
        slot = &g->r[(g->head + g->n) % g->cap];
        if (g->n == g->cap) {
                log_record_done(&g->r[g->head]);
                slot = &g->r[g->head];
                g->head = (g->head + 1) % g->cap;
        } else
                g->n++;
        *slot = *rec;
        slot->data = malloc(rec->len + 1);
        if (!slot->data)
                return -ENOMEM;
        memcpy(slot->data, rec->data, rec->len);
        return 0;
}

/* Read fd from its offset to EOF through fn; *carry holds an incomplete last line between calls. */
static int read_records(int fd, char **carry, size_t *n_carry, logs_fn fn, void *userdata)
{
        char *buf = malloc(CHUNK + *n_carry);
        int64_t used;
        ssize_t k;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (*n_carry)
                        memcpy(buf, *carry, *n_carry);
                k = read(fd, buf + *n_carry, CHUNK);
                if (k < 0) {
                        free(buf);
                        return negative_errno();
                }
                if (k == 0)
                        break;
                used = logs_parse_buffer(buf, *n_carry + (size_t)k, fn, userdata);
                if (used < 0) {
                        free(buf);
                        return (int)used;
                }
                {
                        size_t rest = *n_carry + (size_t)k - (size_t)used;
                        char *c;
                        /* One record is bounded (LOGFILE_RECORD_MAX); more without a newline is garbage. */
                        if (rest > LOGFILE_RECORD_MAX)
                                rest = 0;
                        c = realloc(*carry, rest + 1);
                        if (!c) {
                                free(buf);
                                return -ENOMEM;
                        }
                        if (rest)
                                memcpy(c, buf + used, rest);
                        *carry = c;
                        *n_carry = rest;
                }
                {
                        char *nb = realloc(buf, CHUNK + *n_carry);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
        }
        free(buf);
        return 0;
}

static bool container_done(struct engine *e, struct workload *w)
{
        struct monitor_status st;
        if (ctr_status(e, w, &st) < 0)
                return !proc_alive((pid_t)w->monitor_pid, (uint64_t)w->monitor_start);
        return st.final || !proc_alive((pid_t)st.monitor_pid, (uint64_t)st.monitor_start);
}

static int follow(struct engine *e, struct workload *w, const char *path, const char *dir, int fd,
                  char **carry, size_t *n_carry, logs_fn fn, void *userdata)
{
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        _cleanup_close_ int cur = fd;
        int r;

        if (in < 0)
                return negative_errno();
        if (inotify_add_watch(in, dir,
                              IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0)
                return negative_errno();
        for (;;) {
                struct pollfd p = {.fd = in, .events = POLLIN};
                char ev[4096];
                bool done;

                r = read_records(cur, carry, n_carry, fn, userdata);
                if (r < 0)
                        return r;
                /* Rotated under us: what we hold is now ctr.log.1, read to its end, then the new file. */
                {
                        struct stat a, b;
                        if (fstat(cur, &a) >= 0 && stat(path, &b) >= 0 &&
                            (a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
                                int nfd = open(path, O_RDONLY | O_CLOEXEC);
                                if (nfd >= 0) {
                                        r = read_records(cur, carry, n_carry, fn, userdata);
                                        safe_close(cur);
                                        cur = nfd;
                                        *n_carry = 0;
                                        if (r < 0)
                                                return r;
                                        continue;
                                }
                        }
                }
                done = container_done(e, w);
                if (done) {
                        /* A last read: the monitor flushed before it recorded the end. */
                        return read_records(cur, carry, n_carry, fn, userdata);
                }
                r = poll(&p, 1, 250);
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                while (read(in, ev, sizeof(ev)) > 0)
                        ;
        }
}

int ctr_logs(struct engine *e, struct workload *w, const struct logs_options *o, logs_fn fn, void *userdata)
{
        _cleanup_free_ char *dir = engine_container_dir(e, w->id), *path = NULL, *carry = NULL;
        _cleanup_close_ int cur = -EBADF;
        struct ring g = {.o = o, .fn = fn, .userdata = userdata};
        size_t n_carry = 0;
        unsigned last = 0;
        int r = 0;

        if (!dir || !(path = strdup_printf("%s/" LOGFILE_NAME, dir)))
                return -ENOMEM;
        if (o->tail == 0) {
                /* Only what comes from now on. */
                if (!o->follow)
                        return 0;
                cur = open(path, O_RDONLY | O_CLOEXEC);
                if (cur >= 0 && lseek(cur, 0, SEEK_END) < 0)
                        return negative_errno();
                if (cur < 0)
                        return 0;
                return follow(e, w, path, dir, TAKE_FD(cur), &carry, &n_carry, fn, userdata);
        }
        if (o->tail > 0) {
                g.cap = (size_t)o->tail;
                if (!(g.r = calloc(g.cap, sizeof(*g.r))))
                        return -ENOMEM;
        }
        /* Rotated files, oldest first: the highest number that exists. */
        for (unsigned i = 1; i < 1000; i++) {
                _cleanup_free_ char *p = logfile_rotated_path(path, i);
                if (!p)
                        return -ENOMEM;
                if (access(p, F_OK) < 0)
                        break;
                last = i;
        }
        for (unsigned i = last; i >= 1 && r >= 0; i--) {
                _cleanup_free_ char *p = logfile_rotated_path(path, i);
                _cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -EBADF;
                if (fd >= 0) {
                        n_carry = 0;
                        r = read_records(fd, &carry, &n_carry, ring_add, &g);
                }
        }
        n_carry = 0;
        cur = open(path, O_RDONLY | O_CLOEXEC);
        if (r >= 0 && cur >= 0)
                r = read_records(cur, &carry, &n_carry, ring_add, &g);
        /* The kept tail, then the rest as it comes. */
        for (size_t i = 0; i < g.n; i++) {
                struct log_record *rec = &g.r[(g.head + i) % g.cap];
                if (r >= 0)
                        r = fn(userdata, rec);
                log_record_done(rec);
        }
        free(g.r);
        if (r < 0 || !o->follow)
                return r;
        if (cur < 0) {
                /* Not written yet (a container that has not started): wait for the file. */
                for (int i = 0;
                     i < 200 && (cur = open(path, O_RDONLY | O_CLOEXEC)) < 0 && !container_done(e, w); i++)
                        usleep(50000);
                if (cur < 0)
                        return 0;
        }
        return follow(e, w, path, dir, TAKE_FD(cur), &carry, &n_carry, fn, userdata);
}
