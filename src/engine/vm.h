/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - virtual machines as hull workloads: rows of kind "vm" in the workloads table
 * (workload.h), each with a directory and, while it runs, one monitor process (the hidden
 * command `hull vm-monitor DIR`, vm-monitor.c) that runs the VMM chosen by vmm-backend.h.
 *
 * Three ways to boot (struct vm_spec):
 *   - from a container image (`hull vm run IMAGE [CMD...]`): the image's layers as a cached
 *     ext4 disk (vm-boot.c), a per-VM qcow2 overlay on it as the root disk, the guest kernel
 *     of the guest assets, and hull's initramfs (guest/init/hull-init plus the virtio
 *     modules), which reads the first-boot config disk (vmconf.h) and runs the image's
 *     command, or /sbin/init, as the VM's main process;
 *   - from a kernel (--kernel, --initrd, --cmdline): the guest is the user's own;
 *   - from a bootable disk (--boot-disk): through firmware, so with QEMU only.
 * Data disks (--disk PATH[:MOUNT]) and VM volumes (--volume NAME:MOUNT: an ext4 image in
 * the named volume) are never removed with the VM: a new VM made from an updated image
 * takes them over.
 *
 * Directory of a VM, <root>/vms/<id>/:
 *     lock            flock()ed by every operation that changes the VM
 *     launch          the monitor's instructions (backend, VMM command line, restart policy)
 *     status          the monitor's status file (status.h), as for containers
 *     console.log     everything the guest wrote on its console
 *     console         the monitor's console socket (`hull vm console`, foreground `vm run`)
 *     vmm.log         the VMM's own stderr
 *     root.qcow2, config.img   the root overlay and the config disk (image VMs)
 *     network.json    the VM's network attachment (engine-net.h, vm-net.c)
 *     vmm.sock, exec.sock ...  the VMM's sockets (vmm-backend.h)
 *     stop            written by stop/kill before they act: no restart follows
 */
#pragma once

#include <stdint.h>

#include "engine.h"
#include "runspec.h"
#include "status.h"
#include "vmconf.h"
#include "vmm-backend.h"
#include "workload.h"

#define VM_KIND "vm"

struct vm_disk_spec {
        char *path, *mount; /* mount may be NULL */
        enum disk_format format;
        bool readonly;
};

struct vm_volume_spec {
        char *name, *mount;
        uint64_t size;
};

struct vm_spec {
        char *vmm;                       /* "hull", "qemu", or NULL: detect */
        char *kernel, *initrd, *cmdline; /* a kernel boot (cmdline replaces hull's) */
        char *boot_disk, *firmware;      /* a firmware boot */
        char *image;                     /* a container image (as typed; the row has its id) */
        char *root_fstype;               /* image VMs: "ext4" (default) */
        unsigned cpus;
        uint64_t memory;
        struct vm_disk_spec *disks;
        size_t n_disks;
        struct vm_volume_spec *volumes;
        size_t n_volumes;
        struct vmconf conf; /* first boot: host name, keys, network, user data, command */
        char *restart;      /* no, always, on-failure[:N], unless-stopped */
        bool auto_remove;   /* vm run --rm: the monitor removes the VM if its foreground hull is gone */
        /* The network part of a container's runspec (runspec.h: network, networks, dns*, publish,
         * egress, ingress, add_hosts, publish_all), parsed by the same code; NULL or bridged: a tap on
         * each network (the default one without --network), attached at every start (engine-net.h). */
        struct runspec *net;
};

void vm_spec_done(struct vm_spec *s);
int vm_spec_to_json(const struct vm_spec *s, char **ret);
int vm_spec_from_json(const char *json, struct vm_spec *ret);
/* Parse "--disk PATH[:MOUNT][,ro][,format=F]" and "--volume NAME:MOUNT[,size=S]". */
int vm_spec_add_disk(struct vm_spec *s, const char *arg);
int vm_spec_add_volume(struct vm_spec *s, const char *arg);

/*
 * Create a VM: check the spec, resolve the image (which must be in the store), claim the
 * name, make the directory and the row. Nothing boots. The row through ret.
 */
int vm_create(struct engine *e, const char *name, const struct vm_spec *spec, struct workload **ret);

struct vm_start_result {
        int console_fd; /* with attach: the console, connected before the VMM started */
        char *reason;   /* why this backend (one line) */
};
void vm_start_result_done(struct vm_start_result *r);

/*
 * Start a created or stopped VM: choose the backend, prepare the disks (the image's ext4
 * disk, the root overlay, the config disk, volumes), write the launch file and spawn the
 * monitor. With attach, the console as it was before the guest wrote anything.
 */
int vm_start(struct engine *e, struct workload *w, bool attach, struct vm_start_result *ret);
/* The power button, then SIGKILL of the VMM after timeout seconds; no restart follows. */
int vm_stop(struct engine *e, struct workload *w, int timeout);
/* A signal to the VMM process (SIGKILL: the VM ends at once); no restart follows. */
int vm_kill(struct engine *e, struct workload *w, int sig);
/* Pause or resume the vCPUs through the VMM. */
int vm_pause(struct engine *e, struct workload *w, bool pause);
/* Remove a stopped VM (force: stop it first). Data disks and volumes stay. */
int vm_remove(struct engine *e, struct workload *w, bool force);
/* Wait for the VM to end (without restart); its exit code through ret_code. */
int vm_wait(struct engine *e, struct workload *w, int *ret_code);

/* Fold the monitor's status into the row (and repair after a dead monitor). -ENOENT: gone. */
int vm_refresh(struct engine *e, struct workload *w);
/* Every VM row, refreshed, newest first. */
int vm_list(struct engine *e, struct workload ***ret, size_t *ret_n);
/* By name, id or id prefix; -ENOENT "no such vm 'x'" (a container's name says so). */
int vm_lookup(struct engine *e, const char *name_or_id, struct workload **ret);
/*
 * `network connect` (connect) or `disconnect`: the VM's networks from its next start, and at once
 * for a running VM under QEMU (NIC hot-plug; hull-vmm refuses). A line for the user through
 * ret_note (malloc'd, NULL: none) when the guest must configure a new NIC itself.
 */
int vm_net_change(struct engine *e, struct workload *w, const char *network, bool connect, const char *ip,
                  const char *ip6, const char *mac, char *const *aliases, char **ret_note);
/* <root>/vms/<id> (malloc'd). */
char *vm_dir(struct engine *e, const char *id);

/* Connect to the console socket of a running VM. */
int vm_console_connect(struct engine *e, const struct workload *w, int *ret_fd);

/* The inspect document (podman-like field names where they exist). */
struct json_object;
int vm_inspect_json(struct engine *e, const struct workload *w, struct json_object **ret);

struct vm_exec_options {
        char **argv, **env;
        const char *workdir, *user;
        bool interactive;          /* relay this process's stdin */
        bool tty;                  /* a pty in the guest as the process's stdio */
        unsigned short rows, cols; /* its size (0: the guest's default) */
        int signal_fd;             /* a signalfd whose signals go to the process, or -1 */
};

/*
 * Run a process in the running image VM through hull's guest init (vm-exec.c) with this
 * process's stdin/stdout/stderr; its exit code through ret_code. -ENOEXEC, with *ret_code
 * 126 or 127 and the guest's message, when the command could not be started.
 */
int vm_exec(struct engine *e, const struct workload *w, const struct vm_exec_options *o, int *ret_code);

/* The VM monitor's main (the hidden command `hull vm-monitor DIR`); the process's exit status. */
int vm_monitor_main(const char *dir, int console_fd);

/* Forget the boot disk made from an image (vm-cache/images/): its image was removed. */
void vm_image_cache_drop(struct engine *e, const char *image_id);
