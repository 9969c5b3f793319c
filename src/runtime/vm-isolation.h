/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-isolation.h - containers run in a microVM of their own (docs/agent.md).
 *
 * A config.json with the annotation io.hull.isolation=vm makes create/run/exec take
 * these paths instead of namespaces. The container's process, as the runtime records
 * it, is the shim (vm-shim.c): it owns the VMM (hull-vmm or QEMU) as its child and
 * talks to hull-agent in the guest. start, kill, state and delete need no change:
 * exec.fifo, the pid and its start time, and SIGKILL (PR_SET_PDEATHSIG takes the VMM
 * along) work on the shim as they do on a container's init.
 *
 * State directory additions: rootfs.qcow2 (the root disk, an overlay) and rootfs.qcow2.base
 * (its base, a hard link into the runtime's cache <root>/.vm-disks), vol-N.ext4 (volumes
 * copied), fs-N.sock and fs-N.log (virtiofsd of shared volumes),
 * agent.sock / vsock.sock_1024 (the agent's connection), exec.sock (exec clients),
 * console.log (the guest's serial console), vmm (which VMM and why), isolation.json (the
 * guest's size and where it came from), template (how hull-vmm started: from a template, making
 * one, or cold and why; the cache is <root>/.vm-templates, vm-template.c). The cgroup is the one an ordinary
 * container would get (vm-cgroup.c): the shim and the VMM run in it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-proto.h"
#include "container.h"
#include "disk.h"
#include "sha256.h"

#define VMISO_ANNOTATION "io.hull.isolation"

/* True when the config asks for a VM (annotation io.hull.isolation=vm); -EINVAL for an unknown value. */
int vmiso_requested(const struct oci_config *cfg);
/* True when a created container runs in a VM. */
bool vmiso_state(const struct container_state *s);

/* create / run of a VM-isolated container: same contract as container_create(). */
int vmiso_create(const struct create_options *o, const struct oci_config *cfg, const char *config_buf,
                 size_t config_len, const char *bundle, const char *rootfs, int *ret_exit);
/* exec in a VM-isolated container: same contract as container_exec(). */
int vmiso_exec(const struct exec_options *o, struct container_state *s, int *ret_exit);

/* vm-disk.c: an ext4 image of dir at image (sparse, room to write), through mke2fs -d. */
int vmiso_make_ext4(const char *dir, const char *image);

/* The runtime's cache of root-disk bases (vm-disk.c): <root>/.vm-disks, bounded. */
struct vmiso_disk_cache {
        const char *dir;
        size_t max_entries;
        uint64_t max_bytes; /* allocated bytes of every entry */
};
#define VMISO_DISK_CACHE_DIR         ".vm-disks"
#define VMISO_DISK_CACHE_MAX_ENTRIES 8
#define VMISO_DISK_CACHE_MAX_BYTES   (2ULL << 30)

/*
 * vm-disk.c: the root disk at image, a qcow2 overlay whose backing file (raw ext4) is held
 * by a hard link <image>.base: base when not NULL (made from rootfs when missing), else the
 * cache's entry for rootfs's tree (made on a miss, then the cache is evicted down to its
 * bounds). Returns 1 when a base was made, 0 when an existing one was used.
 */
int vmiso_root_disk(const char *rootfs, const char *base, const struct vmiso_disk_cache *cache,
                    const char *image);
/* vm-disk.c: remove least recently used entries not in use (link count 1) while the cache
 * is above its bounds; keep (a file name) is never removed. */
int vmiso_disk_cache_evict(const struct vmiso_disk_cache *c, const char *keep);
/* vm-disk.c: DISK_FORMAT_QCOW2 when path starts with qcow2's magic, else DISK_FORMAT_RAW. */
enum disk_format vmiso_disk_format(const char *path);

/* ------------------------------------------------------------------ templates (vm-template.c) */

#define VMISO_TEMPLATE_DIR ".vm-templates"
#define VMISO_TEMPLATE_MAX 4

/* What a microVM template depends on: a change of any of it is another template. */
struct vmiso_template_spec {
        const char *vmm, *kernel, *initrd; /* files: identified by dev, inode, size, mtime */
        const char *cmdline;
        int cpus, memory_mib;
        size_t n_disks, n_nics, n_shares; /* the devices, in hull-vmm's order */
};

/* The template's key (64 hex digits); -errno with a message when a file cannot be read. */
int vmiso_template_key(const struct vmiso_template_spec *sp, char ret[SHA256_HEX_LEN + 1]);
/*
 * A hit: 1 and *ret_fd, the template's directory holding a shared flock that marks it in use
 * while the fd is open (give it to the VM's shim); its mtime is refreshed. 0 on a miss (no
 * template, or one being evicted), -errno on another failure.
 */
int vmiso_template_open(const char *cache_dir, const char *key, int *ret_fd);
/* How one create uses the cache (vmiso_template_plan()). */
struct vmiso_template_plan {
        int fd; /* the template in use (a hit), else -EBADF */
        char key[SHA256_HEX_LEN + 1];
        char *cache;
        char **cold_argv;       /* a hit's fallback: the miss's command line */
        char note[256];         /* <state>/template: "restore KEY", "snapshot KEY" or "cold: why" */
        int restore_timeout_ms; /* a hit's bound from hull-vmm's start to the agent's READY */
};
/*
 * hull-vmm's vsock socket in the state directory (its guest's connections come to
 * VMISO_VSOCK_UDS "_<port>"); a VMM killed leaves it behind.
 */
#define VMISO_VSOCK_UDS "vsock.sock"
/* hull-vmm's API socket in the state directory (with a late root disk), made and kept by the shim. */
#define VMISO_API_SOCK "api.sock"
/* A restored guest gets to READY in 0.1-1 s in the nested test host, a cold boot in 3-5 s. */
#define VMISO_RESTORE_TIMEOUT_MS 15000

/*
 * hull-vmm from a template of the cache under root (docs/agent.md, "Templates"). sp: the machine
 * (vmm and cmdline are filled from *argv, hull-vmm's cold command line); port: the agent's vsock
 * port. On a hit *argv becomes a --restore command line and t->cold_argv the miss's; on a miss
 * *argv gets --snapshot-at-connect, so that this container's boot makes the template and runs
 * on. Shares (--fs) are kept on both: hull-vmm copies a hit's saved RAM into shared memory.
 * io.hull.isolation.template=off, HULL_ISOLATION_TEMPLATE=0 or a ',' in the root leave *argv
 * as it is (a cold boot) and say why in t->note. Evicts on the way.
 * t->restore_timeout_ms: io.hull.isolation.template.timeout (seconds, 1 to 600), else
 * VMISO_RESTORE_TIMEOUT_MS.
 */
int vmiso_template_plan(const struct oci_config *cfg, const char *root, const char *port,
                        struct vmiso_template_spec *sp, char ***argv, struct vmiso_template_plan *t);
void vmiso_template_plan_done(struct vmiso_template_plan *t);

/* The protocol of the template's agent (a file in its directory), 0 when not known. */
#define VMISO_TEMPLATE_AGENT_FILE "agent-version"
uint32_t vmiso_template_agent_version(int dir_fd);
/* Record the agent's protocol in the template key, when there is one (HELLO of the VM that made it). */
int vmiso_template_note_agent(const char *cache_dir, const char *key, uint32_t version);
/* Remove the template key (one that failed to restore); 0 when it is not there. */
int vmiso_template_remove(const char *cache_dir, const char *key);
/*
 * Remove the least recently used templates that no VM holds while there are more than max,
 * never keep (a key, or NULL), and the left-overs of makers that died (NAME.tmp-<dead pid>).
 */
int vmiso_template_evict(const char *cache_dir, size_t max, const char *keep);

/* ------------------------------------------------------------------ cgroup and size (vm-cgroup.c) */

#define VMISO_DEFAULT_MEMORY_MIB 256
#define VMISO_MIN_MEMORY_MIB     64 /* the floor: the guest kernel and the agent boot in it */
#define VMISO_MAX_MEMORY_MIB     65536
#define VMISO_DEFAULT_CPUS       1
#define VMISO_MAX_CPUS           64
/*
 * What the VMM takes beside the guest's memory (its code, heap, page tables, device buffers, and
 * per vCPU a thread and its state), counted in the container's memory limit: base + per_cpu ×
 * vCPUs. QEMU under TCG adds its translation cache, bounded by -accel tcg,tb-size=VMISO_TCG_TB_MIB.
 * Measured for QEMU TCG (bench/isolation-vmm-overhead.py, docs/agent.md "Resources"); the others
 * are estimates.
 */
struct vmiso_overhead {
        int base_mib, per_cpu_mib;
};
#define VMISO_OVERHEAD_HULL     ((struct vmiso_overhead){24, 8})
#define VMISO_OVERHEAD_QEMU_KVM ((struct vmiso_overhead){48, 8})
#define VMISO_OVERHEAD_QEMU_TCG ((struct vmiso_overhead){112, 16})
#define VMISO_TCG_TB_MIB        64
#define VMISO_SIZE_FILE         "isolation.json"

/*
 * linux.resources.pids.limit counts the tasks of the container's host side: the shim, the VMM's
 * main and RCU threads, a volume copy-back's sh and debugfs (VMISO_PIDS_BASE), one thread per vCPU
 * and QEMU's block I/O workers, whose pool (64 by default) is bounded to what the limit leaves: QEMU
 * aborts when it cannot start a worker.
 */
#define VMISO_PIDS_BASE      5
#define VMISO_IO_WORKERS_MAX 64

struct vmiso_size {
        int memory_mib; /* guest memory */
        int cpus;       /* vCPUs */
        int io_workers; /* QEMU's I/O thread pool bound from pids.limit; 0: no limit (QEMU's default) */
        char memory_why[160];
        char cpus_why[160];
};

struct cgroup;

/*
 * The guest's size: io.hull.isolation.cpus, else cpu quota / period rounded up (at least 1), else
 * 1; io.hull.isolation.memory, else linux.resources.memory.limit minus the VMM's overhead for that
 * many vCPUs (leaving at least VMISO_MIN_MEMORY_MIB, else -EINVAL naming the field), else the
 * default. A pids.limit that leaves no I/O worker beside VMISO_PIDS_BASE and the vCPUs is refused.
 */
int vmiso_size(const struct oci_config *cfg, const struct vmiso_overhead *ov, struct vmiso_size *ret);
/* The container's cgroup (linux.cgroupsPath), with linux.resources applied and the VMM's device rules. */
int vmiso_cgroup_create(const struct oci_config *cfg, const char *id, struct cgroup **ret);
/* `update`: the set fields of res, the device rules left as they are. */
int vmiso_cgroup_update(struct cgroup *cg, const struct oci_resources *res);
/*
 * Move the kernel threads that KVM attached to the container's cgroup (kvm-nx-lpage-recovery, made
 * in the cgroups of the process that creates the VM) to the root of each cgroup2 hierarchy: Linux
 * before 6.13 never counts them frozen, so a cgroup2 freeze of the container would not complete.
 * Returns how many were moved.
 */
int vmiso_cgroup_release_kthreads(const struct cgroup *cg);
/* Record the VMM and the size in <dir>/isolation.json (read by hull's engine for inspect). */
int vmiso_size_save(const char *dir, const char *vmm, const struct vmiso_size *sz);

/* ------------------------------------------------------------------ networks (vm-net.c) */

#define VMISO_MAX_NICS 8

struct vmiso_nic {
        char name[16]; /* the interface in the container's namespace, and the guest's NIC */
        uint8_t mac[6];
        int tap_fd; /* joined to the interface (tcredirect.h); close-on-exec */
};

struct vmiso_net {
        struct vmiso_nic nics[VMISO_MAX_NICS];
        size_t n;
};

/*
 * For each interface of the config's network namespace (a path: whoever made it filled it), a
 * tap joined to it, and the NET, ADDR and ROUTE fields of CREATE appended to b. No namespace to
 * join: no NIC. On failure nothing is kept open (what was made in the namespace goes with it).
 */
int vmiso_net_setup(const struct oci_config *cfg, struct agent_buf *b, struct vmiso_net *ret);
void vmiso_net_done(struct vmiso_net *n);

/* A connected socket to the Unix socket name in the directory dir_fd (through /proc: state paths can be
 * long; AT_FDCWD: name as it is). */
int vmiso_connect_in(int dir_fd, const char *name, int type);

/* EXEC fields of a process (args, env, cwd, user, groups, rlimits, terminal). */
int vmiso_exec_fields(struct agent_buf *b, const struct oci_process *p);

/* ------------------------------------------------------------------ the shim (vm-shim.c) */

struct vmiso_volume {
        char *image;    /* vol-N.ext4 in the state directory */
        char *host_dir; /* copied back when the VM has ended (rw volumes) */
};

/* ------------------------------------------------------------------ shared directories (vm-fs.c) */

struct vmiso_share {
        char *source;     /* the host directory */
        char tag[16];     /* the virtio-fs tag the guest mounts: hullfsN */
        char socket[24];  /* fs-N.sock, the vhost-user socket in the state directory */
        bool readonly;    /* virtiofsd sees a read-only bind of source */
        pid_t pid;        /* virtiofsd, the shim's child; 0 when not running */
};

/* virtiofsd's path ($HULL_VIRTIOFSD, else Debian's), NULL when there is none: volumes are then copies. */
const char *vmiso_fs_daemon(void);
/* Fill *sh for the index-th share of source at destination and append its MOUNT field to frame. */
int vmiso_fs_plan(struct agent_buf *frame, struct vmiso_share *sh, size_t index, const char *source,
                  const char *destination, bool readonly);
void vmiso_fs_free(struct vmiso_share *shares, size_t n);
/* Append the VMM's arguments for the shares: --fs (hull-vmm), -chardev and -device (QEMU). */
int vmiso_fs_vmm_args(char ***argv, bool hull_vmm, const struct vmiso_share *shares, size_t n);
/* Shim only, in the state directory, before the VMM starts: one virtiofsd per share. */
int vmiso_fs_start(struct vmiso_share *shares, size_t n);
/* Shim only: when a virtiofsd has ended (it is reaped), its last words in buf: why the VMM failed. */
bool vmiso_fs_failure(struct vmiso_share *shares, size_t n, char *buf, size_t size);
/* Shim only, once the VMM is gone: reap each virtiofsd, killed when still there after grace_ms. */
void vmiso_fs_stop(struct vmiso_share *shares, size_t n, int grace_ms);

struct vmiso_shim {
        int agent_listen;          /* listening socket the agent connects to (through the VMM) */
        int exec_listen;           /* exec.sock */
        int ready_fd;              /* write end: "ok" or an error line for the create that waits */
        int fifo_fd;               /* exec.fifo (create without start), else -EBADF */
        int in_fd, out_fd, err_fd; /* the main process's stdio (a pty slave three times with a terminal) */
        bool terminal;
        bool debug; /* io.hull.isolation.debug=1: steps stamped on stderr (bench/isolation-nested) */
        long t0_ms; /* CLOCK_MONOTONIC at the start of create, for those stamps */
        char **vmm_argv;
        const char *console; /* file the VMM's serial console goes to (relative: the state directory) */
        struct agent_buf create_frame; /* CREATE */
        bool create_early;             /* CREATE as soon as the agent connects (vsock), not after HELLO */
        struct agent_buf main_fields;  /* EXEC fields of process 1 */
        struct vmiso_volume *volumes;
        size_t n_volumes;
        struct vmiso_share *shares;
        size_t n_shares;
        int *tap_fds; /* handed to the VMM (not close-on-exec there), then closed by the shim */
        size_t n_taps;
        int boot_timeout_ms;
        /*
         * A root disk that create is still making when the VM starts (hull-vmm's `--disk
         * ...,late`): create writes "ok" to disk_fd once it is whole (or kills the shim); the shim
         * then has the VMM open it through its API (attach-disks), at the latest before it sends
         * CREATE. api_listen is that API's socket, VMISO_API_SOCK, listening before any VMM
         * starts and handed to each (--api-sock fd=N), so the shim connects without waiting for
         * hull-vmm to be up. Both -EBADF when the disk was made before the VM started.
         */
        int disk_fd;
        int api_listen;
        /*
         * A VM restored from a template (vm-template.c): template_fd holds it in use for the VM's
         * life; when the restored guest has not got to READY within restore_timeout_ms, or its
         * VMM or agent failed before, the shim removes the template (template_cache/template_key)
         * and boots once more with vmm_argv_cold (vm-shim.c, restore_fallback()).
         */
        int restore_timeout_ms;
        int template_fd;
        bool template_making;   /* a miss: record the agent's protocol in the template after HELLO */
        uint32_t agent_version; /* known before HELLO (a hit's agent-version), else 0 */
        char **vmm_argv_cold;
        const char *template_cache;
        const char *template_key;
};

/* The shim's life: boot, serve, and exit with the main process's status. Never returns. */
_noreturn_ void vmiso_shim_main(struct vmiso_shim *sh);

/*
 * Exec client messages on exec.sock (SOCK_SEQPACKET): the client's first message carries
 * its stdin, stdout and stderr (SCM_RIGHTS) and the EXEC fields; then 8-byte control
 * messages (kind, value). The shim answers with a struct vmiso_exec_reply when the
 * process ends or could not start.
 */
enum vmiso_exec_ctl {
        VMISO_CTL_SIGNAL = 1, /* value: signal number */
        VMISO_CTL_RESIZE = 2, /* value: rows << 16 | cols */
        _VMISO_CTL_MAX,
        _VMISO_CTL_INVALID = -1,
};

/*
 * A process list (vmiso_ps()): the client sends VMISO_PS_REQUEST alone (no fds) on exec.sock; the
 * shim answers with one packet: int32 errno (0: ok), then the agent's PROCS payload, or a message.
 */
#define VMISO_PS_REQUEST "ps"

/*
 * The processes of the container's guest (vm-ps.c), through the shim and the agent's PS. The
 * entries are checked and printable (agent_proc_parse()). -EOPNOTSUPP for an agent older than
 * protocol 2, -ETIMEDOUT when the VM does not answer within 5 s (a paused container's cannot).
 */
int vmiso_ps(const struct container_state *s, struct agent_proc **ret, size_t *ret_n);

struct vmiso_exec_reply {
        int32_t status;    /* exit status; 126/127 when the process could not run */
        char message[512]; /* why it could not run, else empty */
};
