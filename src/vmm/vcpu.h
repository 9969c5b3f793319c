/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.h - one virtual CPU: its KVM fd and run area, its CPUID and MSRs, its boot
 * registers, and the thread that runs it.
 *
 * The vCPU thread loops on KVM_RUN and dispatches port I/O and MMIO exits to the VM's
 * buses. Other threads stop it with vcpu_kick(): it sets kvm_run.immediate_exit and
 * sends VCPU_KICK_SIGNAL to the thread, so a KVM_RUN in progress returns EINTR and a
 * KVM_RUN about to start returns at once (no lost wake-up between the check of the
 * VM state and the ioctl).
 */
#pragma once

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>

#include "boot/boot.h"
#include "snapshot.h"
#include "vm.h"

#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

struct vcpu {
        struct vm *vm;
        unsigned index;
        int fd;
        struct kvm_run *run;
        pthread_t thread;
        bool started;
};

/* Create vCPU index of vm, with CPUID, MSRs, FPU and LAPIC set up. */
int vcpu_create(struct vm *vm, unsigned index, struct vcpu **ret);
void vcpu_free(struct vcpu *v);
/* Registers for the boot CPU's entry into the kernel. */
int vcpu_set_boot_regs(struct vcpu *v, const struct boot_entry *e);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/*
 * Append the vCPU's records to a snapshot; the vCPU must be parked (vm_pause()), having
 * completed its last exit. Any thread but the vCPU's own.
 */
int vcpu_save(struct vcpu *v, struct snap_buf *b);
/* Put back the state of a snapshot into a vCPU that has not run. */
int vcpu_restore(struct vcpu *v, const struct snapshot_vcpu *s);
/* Install the (no-op) handler of VCPU_KICK_SIGNAL; once per process. */
int vcpu_signal_setup(void);

/*
 * Adjust the host's supported CPUID for vCPU index of n: APIC ids, topology leaves,
 * the hypervisor bit. Exposed for unit tests.
 */
void vcpu_cpuid_patch(struct kvm_cpuid2 *c, unsigned index, unsigned n);
