/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event-loop.c - epoll dispatch (see event-loop.h).
 *
 * Registrations live in a list so that removal during dispatch can be deferred: the
 * epoll_event data of an event already returned by epoll_wait may point at an entry
 * that a handler removed a moment earlier, so entries are only marked dead and freed
 * once the batch is over.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>

#include "event-loop.h"

struct event_reg {
        int fd;
        atomic_bool dead;
        event_handler_t fn;
        void *opaque;
        struct event_reg *next;
};

struct event_loop {
        int epoll_fd;
        int quit_fd;
        atomic_bool quit;
        pthread_mutex_t lock; /* protects the regs list */
        struct event_reg *regs;
};

int event_loop_new(struct event_loop **ret)
{
        struct event_loop *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        pthread_mutex_init(&l->lock, NULL);
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        l->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->epoll_fd < 0 || l->quit_fd < 0) {
                int r = negative_errno();
                event_loop_free(l);
                return r;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->quit_fd, &ev) < 0) {
                int r = negative_errno();
                event_loop_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void reap(struct event_loop *l)
{
        pthread_mutex_lock(&l->lock);
        for (struct event_reg **p = &l->regs; *p;) {
                struct event_reg *e = *p;
                if (e->dead) {
                        *p = e->next;
                        free(e);
                } else
                        p = &e->next;
        }
        pthread_mutex_unlock(&l->lock);
}

void event_loop_free(struct event_loop *l)
{
        if (!l)
                return;
        for (struct event_reg *e = l->regs; e; e = e->next)
                e->dead = true;
        reap(l);
        safe_close(l->epoll_fd);
        safe_close(l->quit_fd);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static struct event_reg *find(struct event_loop *l, int fd)
{
        for (struct event_reg *e = l->regs; e; e = e->next)
                if (e->fd == fd && !e->dead)
                        return e;
        return NULL;
}

int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_handler_t fn, void *opaque)
{
        int r = 0;

        pthread_mutex_lock(&l->lock);
        if (find(l, fd)) {
                pthread_mutex_unlock(&l->lock);
                return -EEXIST;
        }
        struct event_reg *e = calloc(1, sizeof(*e));
        if (!e) {
                pthread_mutex_unlock(&l->lock);
                return -ENOMEM;
        }
        *e = (struct event_reg){.fd = fd, .fn = fn, .opaque = opaque, .next = l->regs};
        struct epoll_event ev = {.events = events, .data.ptr = e};
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                r = negative_errno();
                free(e);
        } else
                l->regs = e;
        pthread_mutex_unlock(&l->lock);
        return r;
}

int event_loop_modify(struct event_loop *l, int fd, uint32_t events)
{
        int r = 0;

        pthread_mutex_lock(&l->lock);
        struct event_reg *e = find(l, fd);
        if (!e)
                r = -ENOENT;
        else {
                struct epoll_event ev = {.events = events, .data.ptr = e};
                if (epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
                        r = negative_errno();
        }
        pthread_mutex_unlock(&l->lock);
        return r;
}

int event_loop_remove(struct event_loop *l, int fd)
{
        int r = 0;

        pthread_mutex_lock(&l->lock);
        struct event_reg *e = find(l, fd);
        if (!e)
                r = -ENOENT;
        else {
                (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                e->dead = true;
        }
        pthread_mutex_unlock(&l->lock);
        return r;
}

int event_loop_dispatch(struct event_loop *l, int timeout_ms)
{
        struct epoll_event evs[32];

        int n = epoll_wait(l->epoll_fd, evs, ELEMENTSOF(evs), timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();
        for (int i = 0; i < n; i++) {
                struct event_reg *e = evs[i].data.ptr;
                if (!e) {
                        uint64_t v;
                        (void)!read(l->quit_fd, &v, sizeof(v));
                        continue;
                }
                if (e->dead)
                        continue;
                int r = e->fn(e->opaque, e->fd, evs[i].events);
                if (r < 0) {
                        reap(l);
                        return r;
                }
        }
        reap(l);
        return n;
}

int event_loop_run(struct event_loop *l)
{
        while (!atomic_load(&l->quit)) {
                int r = event_loop_dispatch(l, -1);
                if (r < 0)
                        return r;
        }
        return 0;
}

void event_loop_quit(struct event_loop *l)
{
        uint64_t one = 1;
        atomic_store(&l->quit, true);
        (void)!write(l->quit_fd, &one, sizeof(one));
}
