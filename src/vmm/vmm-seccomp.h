/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-seccomp.h - per-thread seccomp filters of hull-vmm (the file is not called
 * seccomp.h so that it does not shadow libseccomp's header).
 *
 * Each thread installs its own filter once its setup is done and before it handles
 * anything the guest controls: a vCPU thread may only run KVM_RUN and what its exit
 * handlers need (device register writes: eventfds, irq lines, MSI routes, console
 * output); the I/O thread may only do device I/O on descriptors that were opened
 * before it started (no open(), no execve(), no new sockets except AF_UNIX for vsock).
 * Anything else kills the process (SECCOMP_RET_KILL_PROCESS).
 */
#pragma once

#include "macro.h"

enum vmm_thread {
        VMM_THREAD_VCPU,
        VMM_THREAD_VCPU_IO, /* a vCPU thread that also serves device queues (io=vcpu) */
        VMM_THREAD_IO,
        VMM_THREAD_IO_SNAPSHOT,   /* the I/O thread of --snapshot-at-connect: it also writes the snapshot
                                     (and may open late disks) */
        VMM_THREAD_IO_LATE_DISKS, /* the I/O thread while a `late` disk waits: it also opens images */
        _VMM_THREAD_MAX,
        _VMM_THREAD_INVALID = -EINVAL,
};

/* Install the filter for the calling thread. Returns 0 or -errno. */
int vmm_seccomp_install(enum vmm_thread t);

/*
 * VMM_THREAD_IO_LATE_DISKS once its disks are attached: a second filter on the calling
 * thread takes away what opening images needed (filters stack; the stricter answer wins),
 * so that the thread is VMM_THREAD_IO's again before anything but the guest's own kernel
 * and agent has run. Returns 0 or -errno.
 */
int vmm_seccomp_forbid_open(void);
