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
        VMM_THREAD_IO_SNAPSHOT, /* the I/O thread of --snapshot-at-connect: it also writes the snapshot */
        _VMM_THREAD_MAX,
        _VMM_THREAD_INVALID = -EINVAL,
};

/* Install the filter for the calling thread. Returns 0 or -errno. */
int vmm_seccomp_install(enum vmm_thread t);
