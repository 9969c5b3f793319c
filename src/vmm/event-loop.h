/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event-loop.h - the VMM's I/O thread: one epoll set for ioeventfds, the tap, vsock
 * sockets, the console, timers, signals and the control socket.
 *
 * Handlers run on the loop's thread only. Registrations are owned by the loop and may
 * be added, modified and removed from any thread (a vCPU thread starts a device's I/O
 * when the driver sets DRIVER_OK); a lock protects the list. A removed registration is
 * freed by the loop thread after its current batch, so a later event of that batch
 * that still points at it is skipped. event_loop_quit() may be called from any thread.
 */
#pragma once

#include <stdint.h>
#include <sys/epoll.h>

#include "macro.h"

struct event_loop;

/* Return a negative errno to stop the loop with that error. */
typedef int (*event_handler_t)(void *opaque, int fd, uint32_t events);

int event_loop_new(struct event_loop **ret);
void event_loop_free(struct event_loop *l);

/* Watch fd (not owned) for events (EPOLLIN, EPOLLOUT...). One registration per fd. */
int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_handler_t fn, void *opaque);
int event_loop_modify(struct event_loop *l, int fd, uint32_t events);
int event_loop_remove(struct event_loop *l, int fd);

/* Wait up to timeout_ms (-1: forever) and run the handlers of one batch. Returns the events seen. */
int event_loop_dispatch(struct event_loop *l, int timeout_ms);
/* Run until event_loop_quit() or a handler fails. Returns 0 or the handler's error. */
int event_loop_run(struct event_loop *l);
void event_loop_quit(struct event_loop *l);
