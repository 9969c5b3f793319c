/* SPDX-License-Identifier: Apache-2.0 */
/* vm-internal.h - what the files of the VM part of the engine share (vm*.c). */
#pragma once

#include <dirent.h>

#include "vm.h"

#define VM_LAUNCH_FILE  "launch"
#define VM_CONSOLE_SOCK "console"
#define VM_CONSOLE_LOG  "console.log"
#define VM_VMM_LOG      "vmm.log"
#define VM_STOP_FILE    "stop"
#define VM_ROOT_DISK    "root.qcow2"
#define VM_CONFIG_DISK  "config.img"
#define VM_VOLUME_DISK  "hull-vm-disk.ext4" /* in a volume's _data */
#define VM_EXIT_MARKER  "HULL-VM-EXIT="

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* $env, else the first readable of candidates (relative ones: to this executable's directory). */
int vm_find_file(const char *env, const char *const *candidates, const char *what, char **ret);
/* The guest assets' directory (vmlinuz, modules/, kernel/). */
int vm_guest_dir(char **ret);
/* A helper binary of hull: $env, next to hull, in a build tree, in HULL_LIBEXECDIR. */
int vm_find_helper(const char *name, const char *env, char **ret);
/* Run a tool (PATH searched) and wait; on failure record its last output line under what. */
int vm_run_tool(char *const *argv, const char *what);

/* hull's initramfs for image VMs (cached), its path through ret. */
int vm_boot_initrd(struct engine *e, const char *guest, char **ret);
/* The image's root disk (ext4, cached per image id, read-only). */
int vm_image_disk(struct engine *e, const char *image_id, char **ret);
/* Write the config disk for c at path. */
int vm_config_disk(const char *path, const struct vmconf *c);
/* The ext4 disk of a VM volume (made at first use). */
int vm_volume_disk(struct engine *e, const struct vm_volume_spec *v, char **ret);

/* The backend a VM was last started with (its launch file in dir). */
int vm_launch_kind(const char *dir, enum vmm_kind *ret);

/* Restart policies, as the monitor applies them. */
int vm_restart_parse(const char *s, bool *ret_always, unsigned *ret_max_failures);

/* Networks (vm-net.c). Whether the VM gets a tap (a network of hull's, not none). */
struct engine_net_tap;
bool vm_net_bridged(const struct vm_spec *s);
/* At create: the network options of s make sense for a VM and name networks that exist. */
int vm_net_check(struct engine *e, const struct vm_spec *s);
/*
 * At start, the VM's lock held: attach it to each of its networks (network.json in dir first),
 * and put the addresses, gateway and name servers into s->conf for the config disk. The taps,
 * one per network in order, through ret (engine_net_taps_free()).
 */
int vm_net_attach(struct engine *e, const struct workload *w, const char *dir, struct vm_spec *s,
                  struct engine_net_tap **ret, size_t *ret_n);
/* A start failed after the attach: detach, and return r with its message kept. */
int vm_net_undo(struct engine *e, const char *id, const char *dir, int r);
/* The run is over: detach. Unless wait, not while a command holds the VM's lock (it attaches or
 * detaches itself). */
int vm_net_release(struct engine *e, const char *id, const char *dir, bool wait);

/* *field becomes a copy of v (NULL: none). */
int vm_set_str(char **field, const char *v);

/* The row's spec becomes s (the workloads table and w->spec). */
int vm_spec_save(struct engine *e, struct workload *w, const struct vm_spec *s);

/* A session of the exec channel that carries a NIC request (VMX_NIC_UP, VMX_NIC_DOWN of
 * vm-exec-proto.h) to hull's guest init; its answer within timeout_ms. */
int vm_exec_nic(const char *dir, enum vmm_kind kind, char type, const void *payload, size_t len,
                int timeout_ms);

/*
 * NIC hot-plug (vm-hotplug.c), the VM's lock held and the VM running under kind: s is the spec with
 * network added (connect) or removed (disconnect). A note for the user (malloc'd, one line) through
 * ret_note when the guest has to do something itself.
 */
#define VM_HOTPLUG_FILE "hotplug"
int vm_hotplug_connect(struct engine *e, struct workload *w, const char *dir, enum vmm_kind kind,
                       struct vm_spec *s, const char *network, char **ret_note);
int vm_hotplug_disconnect(struct engine *e, struct workload *w, const char *dir, enum vmm_kind kind,
                          struct vm_spec *s, const char *network);
/* Finish or undo what an interrupted connect or disconnect left (its intent file): what the spec
 * says wins. running: whether the VM runs (else the end of its run undid the rest). */
int vm_hotplug_repair(struct engine *e, struct workload *w, const char *dir, enum vmm_kind kind,
                      bool running);
