/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - one hull-vmm machine: configuration, the objects it owns, its lifecycle.
 *
 * struct vm owns the KVM VM, guest memory, the I/O buses, the event loop, the vCPUs
 * and every device. vm_create() builds all of it from a struct vm_config (borrowed;
 * it must outlive the vm), vm_run() starts the vCPU threads, runs the event loop on
 * the calling thread until the machine ends, and returns the process exit code
 * (enum vm_exit). vm_free() undoes everything vm_create() did, in reverse order, and
 * removes the sockets it created.
 *
 * Lifecycle state (state, exit_code, pause bookkeeping) is protected by lock; any
 * thread may call vm_request_exit(), vm_pause(), vm_resume() and
 * vm_request_shutdown(). The first exit request wins: its code is the one returned.
 *
 * Exit codes (documented in hull-vmm --help and docs/vmm.md):
 *   0   the guest powered off (ACPI S5)
 *   1   the guest asked for a reboot (ACPI reset register, i8042, port 0xcf9)
 *   2   the guest crashed: triple fault, or KVM could not run it (internal error)
 *   3   stopped from outside: the grace time after SIGTERM or an API shutdown ran out
 *   125 hull-vmm itself failed (bad arguments, no /dev/kvm, I/O error...)
 */
#pragma once

#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "event-loop.h"
#include "kvm.h"
#include "memory.h"

enum vm_exit {
        VM_EXIT_POWEROFF = 0,
        VM_EXIT_REBOOT = 1,
        VM_EXIT_CRASH = 2,
        VM_EXIT_STOPPED = 3,
        VM_EXIT_ERROR = 125,
};

enum vm_state {
        VM_STATE_CREATED,
        VM_STATE_RUNNING,
        VM_STATE_PAUSED,
        VM_STATE_STOPPING,
        _VM_STATE_MAX,
        _VM_STATE_INVALID = -EINVAL,
};

const char *vm_state_to_string(enum vm_state s);

enum serial_mode {
        SERIAL_MODE_STDIO,
        SERIAL_MODE_FILE,
        SERIAL_MODE_NONE,
        _SERIAL_MODE_MAX,
        _SERIAL_MODE_INVALID = -EINVAL,
};

struct vm_disk_config {
        char *path;
        bool readonly;
        bool direct;
        bool io_vcpu; /* io=vcpu: requests are served on the vCPU thread that notified */
        bool late;    /* opened by the API's attach-disks, not at start (docs/vmm.md) */
        int format; /* enum disk_format; _DISK_FORMAT_INVALID (-EINVAL) to detect */
};

struct vm_net_config {
        char *tap;  /* a tap to open by name, or NULL with tap_fd */
        int tap_fd; /* a tap opened by the caller and inherited (--net fd=N), -EBADF otherwise */
        uint8_t mac[6];
        bool has_mac;
};

struct vm_fs_config {
        char *socket; /* a vhost-user backend's listening socket (virtiofsd) */
        char *tag;    /* what the guest mounts: at most 36 bytes */
};

struct vm_config {
        char *kernel;
        char *initrd;
        char *cmdline;
        unsigned cpus;
        uint64_t memory;
        struct vm_disk_config *disks;
        size_t n_disks;
        struct vm_net_config *nets;
        size_t n_nets;
        struct vm_fs_config *fs;
        size_t n_fs;
        bool has_vsock;
        uint64_t vsock_cid;
        char *vsock_uds;
        bool vsock_io_vcpu; /* io=vcpu: the guest's packets are handled on the vCPU thread that notified */
        enum serial_mode serial;
        char *serial_path;
        char *api_sock;
        bool rng;
        bool seccomp;
        unsigned shutdown_grace_ms;
        char *kvm_path;
        /*
         * --snapshot-at-connect PORT,dir=DIR: write a template snapshot to snapshot_dir when the
         * guest first connects to host vsock port snapshot_port (snapshot.h). --restore DIR:
         * start from that snapshot instead of booting kernel/initrd/cmdline.
         */
        char *snapshot_dir;
        uint32_t snapshot_port;
        char *restore_dir;
};

void vm_config_done(struct vm_config *c);

struct vcpu;
struct pci_bus;
struct serial;
struct i8042;
struct acpi_pm;
struct virtio_dev;
struct api;

struct vm {
        const struct vm_config *cfg;
        struct kvm kvm;
        struct guest_memory mem;
        struct bus pio;
        struct bus mmio;
        struct event_loop *loop;
        struct vcpu **vcpus;
        unsigned n_vcpus;
        struct pci_bus *pci;
        struct serial *serial;
        struct i8042 *i8042;
        struct acpi_pm *pm;
        struct virtio_dev **virtio;
        size_t n_virtio;
        struct api *api;
        int signal_fd;
        int grace_fd;
        int serial_fd;   /* --serial file=PATH */
        int snapshot_fd; /* --snapshot-at-connect: eventfd the held vsock request rings */
        bool restored;   /* built from --restore: disks and the held request wait for vm_run() */
        bool io_opens_disks; /* the I/O thread's filter still lets it open `late` disks' images */

        pthread_mutex_t lock;
        pthread_cond_t cond;
        enum vm_state state;
        unsigned n_paused; /* vCPUs parked while state is PAUSED */
        int exit_code;     /* -1 until the first exit request */
        uint64_t start_usec;
};

int vm_create(const struct vm_config *c, struct vm **ret);
/* Run the machine on the calling thread until it ends; returns an enum vm_exit value. */
int vm_run(struct vm *vm);
void vm_free(struct vm *vm);

/* End the machine with code (the first request wins). Any thread. */
void vm_request_exit(struct vm *vm, enum vm_exit code);
/* Press the ACPI power button and stop the machine after the grace time. Any thread. */
void vm_request_shutdown(struct vm *vm);
/* Park every vCPU / let them run again. Return 0, or -EBUSY in the wrong state. Any thread but a vCPU's. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
enum vm_state vm_get_state(struct vm *vm);
/*
 * `late` disks (--disk PATH,late): open their images and show them to the guest (the API's
 * attach-disks). The I/O thread only. 0, or an error naming the image that could not be
 * opened (the others stay as they are; a later call tries again).
 */
int vm_attach_disks(struct vm *vm);
bool vm_disks_pending(struct vm *vm);
