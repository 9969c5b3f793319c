/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm.h - the KVM VM: /dev/kvm, the VM fd, memory slots, in-kernel irqchip and PIT,
 * interrupt routing (MSI routes for irqfds) and ioeventfds.
 *
 * struct kvm owns the /dev/kvm and VM fds, the supported CPUID and MSR index list read
 * once at open, and the GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table,
 * so the table kept here always starts with the default irqchip routes that KVM sets up
 * with KVM_CREATE_IRQCHIP (GSI 0-15 to PIC and IOAPIC, 16-23 to IOAPIC), followed by one
 * MSI route per allocated GSI. routes_lock serializes route changes, which come from
 * vCPU threads writing MSI-X tables.
 */
#pragma once

#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>

#include "macro.h"
#include "snapshot.h"

#define KVM_IRQCHIP_PINS 24
#define KVM_MAX_ROUTES   1024

struct kvm {
        int sys_fd;
        int vm_fd;
        int run_size;                  /* size of the per-vCPU kvm_run mapping */
        struct kvm_cpuid2 *cpuid;      /* KVM_GET_SUPPORTED_CPUID */
        struct kvm_msr_list *msr_list; /* KVM_GET_MSR_INDEX_LIST */
        pthread_mutex_t routes_lock;
        struct kvm_irq_routing *routes;
        uint32_t next_gsi;
        bool has_immediate_exit;
        uint32_t xsave_size; /* bytes of KVM_GET_XSAVE(2), 0 without KVM_CAP_XSAVE */
        bool has_xcrs;
        bool has_tsc_control;
        bool has_sync_regs; /* KVM_CAP_SYNC_REGS with regs, sregs and events */
};

/*
 * Open /dev/kvm (or path), check the API version and the capabilities hull-vmm relies
 * on, create the VM with an in-kernel irqchip and PIT. On failure, records a message
 * naming the missing capability.
 */
int kvm_open(struct kvm *k, const char *path);
void kvm_close(struct kvm *k);

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
/* Set a GSI of the in-kernel irqchip to level (edge-triggered sources pulse 1 then 0). Any thread. */
int kvm_irq_line(struct kvm *k, uint32_t gsi, int level);

/* Reserve a GSI for an MSI route; it routes nowhere until kvm_msi_route_set(). */
int kvm_msi_route_alloc(struct kvm *k, uint32_t *ret_gsi);
/* Point gsi at an MSI message and commit the routing table. Any thread. */
int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data);
int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, bool assign);
/* Register fd for writes of len bytes at addr (port I/O when pio) with any value. */
int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool assign);

/* Append the VM-wide records (irqchip, PIT, clock) to a snapshot. The vCPUs must be parked. */
int kvm_save(struct kvm *k, struct snap_buf *b);
/* Put them back, before the vCPUs' state. */
int kvm_restore(struct kvm *k, const struct snapshot *s);
