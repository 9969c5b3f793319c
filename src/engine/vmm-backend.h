/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-backend.h - the two virtual machine monitors a hull VM can run under, behind one
 * interface: hull's own hull-vmm (vmm-hull.c) and QEMU (vmm-qemu.c), each a struct
 * vmm_backend_ops (vmm-backend-internal.h) that the functions below dispatch to by kind.
 *
 * A backend turns a struct vmm_spec (what to boot, with which disks, where its sockets go)
 * into the command line of a VMM process that the VM's monitor (vm-monitor.c) starts and
 * waits for, with the guest's first serial port on the process's stdin/stdout; and it
 * talks to that process through its control socket for a graceful stop (the ACPI power
 * button), pause, resume and status. The monitor reads the process's end through
 * vmm_backend_exit(): every backend maps its own exit (hull-vmm's exit codes, QEMU's QMP
 * SHUTDOWN event) onto enum vmm_exit.
 *
 * Choosing a backend (vmm_backend_pick): hull-vmm runs a stock Linux guest only where
 * /dev/kvm is hardware virtualization (the CPU has vmx or svm); PVM's /dev/kvm, as on
 * hull's build machines, runs small guests but not Linux (MACHINE.md). QEMU runs anywhere:
 * with KVM where hull-vmm could run, else TCG; and it is the only one with firmware (SeaBIOS,
 * OVMF) for disks that boot by themselves. The choice and its reason are kept with the VM.
 *
 * Files of a running VM (in its directory, spec->dir): "vmm.sock" the control socket
 * (hull-vmm's JSON API or QEMU's QMP), "exec.sock" the exec channel (QEMU: its second
 * serial port as a Unix socket; hull-vmm: the vsock device's Unix socket). The VMM runs in
 * that directory and is given the names relative to it: a socket path is limited to 107
 * bytes, which <root>/vms/<64-digit id>/ alone nearly fills; clients connect through
 * /proc/self/fd/N/NAME (vmm_unix_connect) for the same reason.
 */
#pragma once

#include <stdint.h>

#include "disk.h"
#include "macro.h"

enum vmm_kind {
        VMM_HULL,
        VMM_QEMU,
        _VMM_KIND_MAX,
        _VMM_KIND_INVALID = -EINVAL,
};

const char *vmm_kind_to_string(enum vmm_kind k);
enum vmm_kind vmm_kind_from_string(const char *s);

/* How a VMM process ended, whatever the backend. */
enum vmm_exit {
        VMM_EXIT_POWEROFF, /* the guest powered off */
        VMM_EXIT_REBOOT,   /* the guest asked for a reboot: the monitor starts it again */
        VMM_EXIT_CRASH,    /* triple fault, panic, KVM refusing the guest */
        VMM_EXIT_STOPPED,  /* stopped from outside (a signal, an unanswered power button) */
        VMM_EXIT_FAILED,   /* the VMM itself failed (bad arguments, no KVM, killed) */
        _VMM_EXIT_MAX,
        _VMM_EXIT_INVALID = -EINVAL,
};

const char *vmm_exit_to_string(enum vmm_exit e);

#define VMM_DISKS_MAX 16
#define VMM_NICS_MAX  8
/* QEMU: spare PCIe root ports each VM gets at start, one per NIC plugged in while it runs. */
#define VMM_HOTPLUG_PORTS 4
#define VMM_SOCK          "vmm.sock"
#define VMM_EXEC_SOCK     "exec.sock"

struct vmm_disk {
        const char *path;
        enum disk_format format;
        bool readonly;
};

struct vmm_spec {
        const char *dir;                       /* the VM's directory: sockets go there */
        const char *kernel, *initrd, *cmdline; /* kernel NULL: boot disks[0] through firmware */
        const char *firmware;                  /* with kernel NULL: "bios" (default) or "uefi" */
        unsigned cpus;
        uint64_t memory; /* bytes */
        struct vmm_disk disks[VMM_DISKS_MAX];
        size_t n_disks;
        /* Network devices, on taps (eth0, eth1... in the guest, in this order). */
        const char *taps[VMM_NICS_MAX];
        const char *macs[VMM_NICS_MAX];
        size_t n_nics;
        bool exec_channel;
};

/* What the probe found: one backend's usability and why. */
struct vmm_choice {
        enum vmm_kind kind;
        bool kvm; /* QEMU: -accel kvm (else tcg) */
        char reason[256];
};

/*
 * Pick the backend for spec: want is the user's --vmm or _VMM_KIND_INVALID. Fills ret with
 * the choice and one line saying why. -EOPNOTSUPP (with a message) when want cannot boot
 * spec (hull-vmm and firmware boot).
 */
int vmm_backend_pick(enum vmm_kind want, const struct vmm_spec *spec, struct vmm_choice *ret);

/*
 * The VMM's command line (malloc'd strv) for spec under choice. binary is hull-vmm's path
 * for VMM_HULL (QEMU is found in PATH as qemu-system-x86_64).
 */
int vmm_backend_argv(const struct vmm_choice *choice, const struct vmm_spec *spec, const char *binary,
                     char ***ret);

/*
 * Connect to the control socket of the VMM running in dir (the monitor keeps this
 * connection for the VMM's whole life: QEMU reports its SHUTDOWN reason there). Retries
 * for up to timeout_ms while the VMM creates it. Returns the fd.
 */
int vmm_backend_connect(enum vmm_kind kind, const char *dir, int timeout_ms);
/*
 * Read what the VMM sent on the control connection (events); remembers the last SHUTDOWN
 * reason in *reason (QEMU). 0 at the end of the stream.
 */
int vmm_backend_read_events(enum vmm_kind kind, int fd, enum vmm_exit *reason);

enum vmm_request {
        VMM_REQ_POWERDOWN, /* ACPI power button */
        VMM_REQ_PAUSE,
        VMM_REQ_RESUME,
        VMM_REQ_STATUS,
        _VMM_REQ_MAX,
        _VMM_REQ_INVALID = -EINVAL,
};

/*
 * Send one request on a new connection to the VMM in dir and wait for its answer; for
 * STATUS the state ("running", "paused") through ret_state (malloc'd, may be NULL).
 */
int vmm_backend_request(enum vmm_kind kind, const char *dir, enum vmm_request req, char **ret_state);

/*
 * How the VMM process ended: its wait status, and the reason the control connection
 * reported (_VMM_EXIT_INVALID when none).
 */
enum vmm_exit vmm_backend_exit(enum vmm_kind kind, int wait_status, enum vmm_exit reported);

/*
 * NIC hot-plug into the VMM running in dir (QEMU only; -EOPNOTSUPP with a message for hull-vmm):
 * plug a virtio-net on tap with mac, or unplug tap's NIC once the guest released it (-ETIMEDOUT
 * after timeout_ms). argv is the VMM's command line as the launch file keeps it: it gains or loses
 * the NIC, so that a VMM the monitor restarts has the same NICs; the caller writes it back.
 */
int vmm_backend_nic_hotplug(enum vmm_kind kind); /* 0 when kind can, else -EOPNOTSUPP and why */
int vmm_backend_nic_plug(enum vmm_kind kind, const char *dir, char ***argv, const char *tap,
                         const char *mac);
int vmm_backend_nic_unplug(enum vmm_kind kind, const char *dir, char ***argv, const char *tap,
                           int timeout_ms);

/* Probes, separated for tests and for `hull vm inspect`: true when the CPU offers vmx or svm. */
bool vmm_host_has_hw_virt(void);
bool vmm_host_has_kvm(void);
