/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.c - building, running and tearing down a machine (see vm.h).
 *
 * Build order: KVM VM, guest RAM and its memory slots, the event loop, legacy devices
 * (ACPI PM, i8042, COM1), the PCI bus and the virtio devices, the vCPUs, then ACPI
 * tables and the kernel (last, because nothing before needs guest RAM touched). The
 * signals that end the VM (SIGTERM, SIGINT, SIGHUP) are blocked in every thread and
 * read through a signalfd on the event loop, so a vCPU thread is never interrupted
 * by them; vCPU threads only take VCPU_KICK_SIGNAL.
 *
 * Stopping: vm_request_exit() records the exit code, sets STOPPING, kicks every vCPU
 * and ends the event loop; vm_run() then joins the vCPU threads. vm_free() releases
 * everything in reverse order and removes the control socket.
 *
 * Snapshots (docs/vmm.md, "Snapshots for microVM templates"; the format is snapshot.c's):
 * --snapshot-at-connect arms the vsock device to hold the guest's first request to the port;
 * the device rings an eventfd, and on_snapshot() runs on the I/O thread with no device lock
 * held (vm_pause() waits for vCPUs that may be waiting for a device lock). --restore parses
 * and checks the state file before anything is built, maps RAM from the memory file instead
 * of loading a kernel, and puts the state back once the devices and vCPUs exist; vm_run()
 * then reveals the disks and releases the held request before the vCPUs start.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>

#include "acpi.h"
#include "api.h"
#include "boot/boot.h"
#include "devices/acpi-pm.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/virtio-pci.h"
#include "devices/virtio-net.h"
#include "devices/virtio-rng.h"
#include "devices/virtio-vsock.h"
#include "devices/virtio-blk.h"
#include "devices/vhost-user-fs.h"
#include "error.h"
#include "layout.h"
#include "log.h"
#include "pci.h"
#include "snapshot.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmm-seccomp.h"

static const char *const state_names[_VM_STATE_MAX] = {
        [VM_STATE_CREATED] = "created",
        [VM_STATE_RUNNING] = "running",
        [VM_STATE_PAUSED] = "paused",
        [VM_STATE_STOPPING] = "stopping",
};

const char *vm_state_to_string(enum vm_state s)
{
        return s >= 0 && s < _VM_STATE_MAX ? state_names[s] : NULL;
}

static struct termios saved_termios;
static bool termios_saved;


enum vm_state vm_get_state(struct vm *vm)
{
        return __atomic_load_n(&vm->state, __ATOMIC_SEQ_CST);
}

static void set_state(struct vm *vm, enum vm_state s)
{
        __atomic_store_n(&vm->state, s, __ATOMIC_SEQ_CST);
}

static void kick_all(struct vm *vm)
{
        for (unsigned i = 0; i < vm->n_vcpus; i++)
                if (vm->vcpus[i])
                        vcpu_kick(vm->vcpus[i]);
}

void vm_request_exit(struct vm *vm, enum vm_exit code)
{
        pthread_mutex_lock(&vm->lock);
        if (vm->exit_code < 0)
                vm->exit_code = code;
        set_state(vm, VM_STATE_STOPPING);
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        kick_all(vm);
        if (vm->loop)
                event_loop_quit(vm->loop);
}

void vm_request_shutdown(struct vm *vm)
{
        unsigned ms = vm->cfg->shutdown_grace_ms;

        if (vm_get_state(vm) == VM_STATE_PAUSED)
                (void)vm_resume(vm); /* a parked guest cannot see the button */
        if (vm->pm)
                acpi_pm_power_button(vm->pm);
        if (ms == 0 || vm->grace_fd < 0) {
                vm_request_exit(vm, VM_EXIT_STOPPED);
                return;
        }
        struct itimerspec its = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L}};
        (void)timerfd_settime(vm->grace_fd, 0, &its, NULL);
}

int vm_pause(struct vm *vm)
{
        pthread_mutex_lock(&vm->lock);
        if (vm->state != VM_STATE_RUNNING) {
                pthread_mutex_unlock(&vm->lock);
                return -EBUSY;
        }
        set_state(vm, VM_STATE_PAUSED);
        pthread_mutex_unlock(&vm->lock);
        kick_all(vm);
        pthread_mutex_lock(&vm->lock);
        while (vm->state == VM_STATE_PAUSED && vm->n_paused < vm->n_vcpus)
                pthread_cond_wait(&vm->cond, &vm->lock);
        pthread_mutex_unlock(&vm->lock);
        return 0;
}

int vm_resume(struct vm *vm)
{
        pthread_mutex_lock(&vm->lock);
        if (vm->state != VM_STATE_PAUSED) {
                pthread_mutex_unlock(&vm->lock);
                return -EBUSY;
        }
        set_state(vm, VM_STATE_RUNNING);
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        return 0;
}

/* ---- device callbacks --------------------------------------------------------------- */

static void irq_com1(void *opaque, int level)
{
        struct vm *vm = opaque;
        (void)kvm_irq_line(&vm->kvm, LAYOUT_IRQ_COM1, level);
}

static void pm_set_sci(void *opaque, int level)
{
        struct vm *vm = opaque;
        (void)kvm_irq_line(&vm->kvm, LAYOUT_IRQ_SCI, level);
}

static void guest_poweroff(void *opaque)
{
        vm_request_exit(opaque, VM_EXIT_POWEROFF);
}

static void guest_reset(void *opaque)
{
        vm_request_exit(opaque, VM_EXIT_REBOOT);
}

static void cf9_write(void *opaque, uint8_t v)
{
        struct vm *vm = opaque;
        acpi_pm_reset_write(vm->pm, v);
}

static const struct acpi_pm_ops pm_ops = {
        .set_sci = pm_set_sci,
        .poweroff = guest_poweroff,
        .reset = guest_reset,
};

static int on_signal(void *opaque, int fd, uint32_t events)
{
        struct vm *vm = opaque;
        struct signalfd_siginfo si;

        if (read(fd, &si, sizeof(si)) != sizeof(si))
                return 0;
        if (vm->exit_code < 0 && vm_get_state(vm) != VM_STATE_STOPPING) {
                log_debug("signal %u: asking the guest to shut down", si.ssi_signo);
                vm_request_shutdown(vm);
        }
        return 0;
}

static int on_grace(void *opaque, int fd, uint32_t events)
{
        struct vm *vm = opaque;
        uint64_t ticks;

        (void)!read(fd, &ticks, sizeof(ticks));
        log_debug("the guest did not shut down within the grace time");
        vm_request_exit(vm, VM_EXIT_STOPPED);
        return 0;
}

/* ---- snapshots ---------------------------------------------------------------------- */

static void for_each_virtio(struct vm *vm, uint16_t type, void (*fn)(struct virtio_dev *vd))
{
        for (size_t i = 0; i < vm->n_virtio; i++)
                if (vm->virtio[i]->ops->type == type)
                        fn(vm->virtio[i]);
}

#define VIRTIO_TYPE_NET   1
#define VIRTIO_TYPE_BLK   2
#define VIRTIO_TYPE_RNG   4
#define VIRTIO_TYPE_VSOCK 19
#define VIRTIO_TYPE_FS    26

/* Every record of the machine into b; the vCPUs are parked. */
static int save_state(struct vm *vm, struct snap_buf *b)
{
        uint16_t types[SNAPSHOT_MAX_DEVICES];
        int r;

        if (vm->n_virtio > SNAPSHOT_MAX_DEVICES)
                return -E2BIG;
        for (size_t i = 0; i < vm->n_virtio; i++)
                types[i] = vm->virtio[i]->ops->type;
        snapshot_put_header(b, vm->n_vcpus, vm->mem.size, types, (uint32_t)vm->n_virtio);
        r = kvm_save(&vm->kvm, b);
        for (unsigned i = 0; r >= 0 && i < vm->n_vcpus; i++)
                r = vcpu_save(vm->vcpus[i], b);
        if (r < 0)
                return r;
        serial_save(vm->serial, b);
        i8042_save(vm->i8042, b);
        acpi_pm_save(vm->pm, b);
        pci_bus_save(vm->pci, b);
        for (size_t i = 0; r >= 0 && i < vm->n_virtio; i++)
                r = virtio_dev_save(vm->virtio[i], (uint32_t)i, b);
        return r < 0 ? r : b->error;
}

/*
 * The held vsock request rang (I/O thread, no device lock): stop the vCPUs, write the
 * snapshot, then go on as a normal VM. Failing to save costs the template only.
 */
static int on_snapshot(void *opaque, int fd, uint32_t events)
{
        struct vm *vm = opaque;
        struct snap_buf b = {};
        struct kvm_clock_data clock = {};
        uint64_t ticks;
        int r;

        (void)!read(fd, &ticks, sizeof(ticks));
        if (vm_pause(vm) < 0) {
                /* Paused through the API, or stopping: no template, but the guest's request goes on. */
                log_warning("cannot write the snapshot '%s': the VM is %s", vm->cfg->snapshot_dir,
                            vm_state_to_string(vm_get_state(vm)));
                for_each_virtio(vm, VIRTIO_TYPE_BLK, virtio_blk_reveal);
                for_each_virtio(vm, VIRTIO_TYPE_VSOCK, virtio_vsock_release);
                return 0;
        }
        uint64_t start = now_usec();
        /* The guest must not see the pause: its clock goes on from where it stopped (as after a restore). */
        bool have_clock = ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &clock) == 0;
        serial_flush(vm->serial);
        r = save_state(vm, &b);
        if (r >= 0)
                r = snapshot_write_dir(vm->cfg->snapshot_dir, &b, &vm->mem);
        if (r < 0)
                log_warning("cannot write the snapshot '%s': %s", vm->cfg->snapshot_dir, err_msg(r));
        else if (r > 0)
                log_debug("snapshot '%s' exists already: kept it", vm->cfg->snapshot_dir);
        else
                log_debug("snapshot '%s' written in %" PRIu64 " ms", vm->cfg->snapshot_dir,
                          (now_usec() - start) / 1000);
        snap_buf_done(&b);
        if (have_clock) {
                struct kvm_clock_data c = {.clock = clock.clock};
                (void)ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &c);
        }
        for_each_virtio(vm, VIRTIO_TYPE_BLK, virtio_blk_reveal);
        (void)vm_resume(vm);
        for_each_virtio(vm, VIRTIO_TYPE_VSOCK, virtio_vsock_release);
        return 0;
}

static void ring_snapshot(void *opaque)
{
        struct vm *vm = opaque;
        uint64_t one = 1;
        (void)!write(vm->snapshot_fd, &one, sizeof(one));
}

static int setup_snapshot(struct vm *vm)
{
        int r;

        vm->snapshot_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (vm->snapshot_fd < 0)
                return negative_errno();
        r = event_loop_add(vm->loop, vm->snapshot_fd, EPOLLIN, on_snapshot, vm);
        if (r < 0)
                return r;
        for (size_t i = 0; i < vm->n_virtio; i++)
                if (vm->virtio[i]->ops->type == VIRTIO_TYPE_VSOCK)
                        virtio_vsock_hold_port(vm->virtio[i], vm->cfg->snapshot_port, ring_snapshot, vm);
        return 0;
}

static const char *size_str(uint64_t v, char buf[static 32])
{
        if (v % (1ULL << 30) == 0)
                snprintf(buf, 32, "%" PRIu64 "G", v >> 30);
        else
                snprintf(buf, 32, "%" PRIu64 "M", v >> 20);
        return buf;
}

/* The machine of the command line against the snapshot's, before anything is built. */
static int check_machine(const struct vm_config *c, const struct snapshot *s)
{
        uint16_t types[SNAPSHOT_MAX_DEVICES];
        size_t n = 0;
        char a[32], b[32];

        if (c->cpus != s->cpus)
                return err_set(-EINVAL, "--cpus is %u, the snapshot has %" PRIu32, c->cpus, s->cpus);
        if (c->memory != s->memory)
                return err_set(-EINVAL, "--memory is %s, the snapshot has %s", size_str(c->memory, a),
                               size_str(s->memory, b));
        /* The order of setup_devices(). */
        for (size_t i = 0; i < c->n_disks && n < SNAPSHOT_MAX_DEVICES; i++)
                types[n++] = VIRTIO_TYPE_BLK;
        for (size_t i = 0; i < c->n_nets && n < SNAPSHOT_MAX_DEVICES; i++)
                types[n++] = VIRTIO_TYPE_NET;
        for (size_t i = 0; i < c->n_fs && n < SNAPSHOT_MAX_DEVICES; i++)
                types[n++] = VIRTIO_TYPE_FS;
        if (c->has_vsock && n < SNAPSHOT_MAX_DEVICES)
                types[n++] = VIRTIO_TYPE_VSOCK;
        if (c->rng && n < SNAPSHOT_MAX_DEVICES)
                types[n++] = VIRTIO_TYPE_RNG;
        for (size_t i = 0; i < MIN(n, (size_t)s->n_devices); i++)
                if (types[i] != s->device_types[i])
                        return err_set(-EINVAL, "device %zu is a %s, the snapshot's is a %s", i,
                                       snapshot_device_name(types[i]),
                                       snapshot_device_name(s->device_types[i]));
        if (n != s->n_devices)
                return err_set(-EINVAL,
                               "%zu devices on the command line, the snapshot has %" PRIu32
                               " (disks, nets, fs, vsock, rng in that order)",
                               n, s->n_devices);
        return 0;
}

static int restore_memory(struct vm *vm, const char *dir)
{
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/memory", dir) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", path);
        /* The mapping keeps the file; the descriptor is not needed after it. */
        if (!vm->cfg->n_fs)
                return guest_memory_init_file(&vm->mem, vm->cfg->memory, fd);
        /*
         * A vhost-user backend maps guest RAM from the memfds it is sent: a private mapping of
         * the snapshot cannot be shared with it, so the saved pages are copied into shared RAM.
         */
        uint64_t t0 = now_usec();
        int r = guest_memory_init_shared(&vm->mem, vm->cfg->memory);
        if (r >= 0)
                r = guest_memory_load(&vm->mem, fd);
        if (r >= 0)
                log_debug("restore: saved RAM copied into shared memory in %" PRIu64 " ms",
                          (now_usec() - t0) / 1000);
        return r;
}

static int restore_state(struct vm *vm, const struct snapshot *s)
{
        int r = kvm_restore(&vm->kvm, s);
        for (unsigned i = 0; r >= 0 && i < vm->n_vcpus; i++)
                r = vcpu_restore(vm->vcpus[i], &s->vcpus[i]);
        if (r >= 0)
                r = serial_restore(vm->serial, &s->serial);
        if (r >= 0)
                r = i8042_restore(vm->i8042, &s->i8042);
        if (r >= 0)
                r = acpi_pm_restore(vm->pm, &s->acpi_pm);
        if (r >= 0)
                r = pci_bus_restore(vm->pci, &s->pci_host);
        for (size_t i = 0; r >= 0 && i < vm->n_virtio; i++)
                r = virtio_dev_restore(vm->virtio[i], (uint32_t)i, &s->devices[i]);
        return r;
}

/* ---- building ----------------------------------------------------------------------- */

static int add_virtio(struct vm *vm, struct virtio_dev *vd)
{
        struct virtio_dev **n = realloc(vm->virtio, (vm->n_virtio + 1) * sizeof(*n));
        if (!n) {
                virtio_dev_free(vd);
                return -ENOMEM;
        }
        vm->virtio = n;
        vm->virtio[vm->n_virtio++] = vd;
        return virtio_dev_attach(vd, vm->pci);
}

static int setup_console(struct vm *vm)
{
        const struct vm_config *c = vm->cfg;
        int in = -EBADF, out = -EBADF;

        switch (c->serial) {
        case SERIAL_MODE_STDIO:
                in = STDIN_FILENO;
                out = STDOUT_FILENO;
                if (isatty(in) && tcgetattr(in, &saved_termios) == 0) {
                        struct termios raw = saved_termios;
                        /* Raw input to the guest, but keep ^C/^\ for the host, as a monitor should. */
                        cfmakeraw(&raw);
                        raw.c_lflag |= ISIG;
                        raw.c_oflag |= OPOST | ONLCR;
                        termios_saved = tcsetattr(in, TCSANOW, &raw) == 0;
                }
                if (fcntl(in, F_GETFL) < 0)
                        in = -EBADF;
                break;
        case SERIAL_MODE_FILE:
                out = open(c->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
                if (out < 0) {
                        int r = negative_errno();
                        return err_set(r, "serial: cannot open '%s': %s", c->serial_path, strerror(-r));
                }
                vm->serial_fd = out;
                break;
        default:
                break;
        }
        return serial_new(&vm->pio, LAYOUT_PORT_COM1, vm->loop, in, out, irq_com1, vm, &vm->serial);
}

static int setup_signals(struct vm *vm)
{
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
                return -EINVAL;
        signal(SIGPIPE, SIG_IGN);
        vm->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        vm->grace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (vm->signal_fd < 0 || vm->grace_fd < 0)
                return negative_errno();
        r = event_loop_add(vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm);
        if (r >= 0)
                r = event_loop_add(vm->loop, vm->grace_fd, EPOLLIN, on_grace, vm);
        if (r >= 0)
                r = vcpu_signal_setup();
        return r;
}

static int setup_devices(struct vm *vm)
{
        struct virtio_dev *vd;
        int r;

        r = acpi_pm_new(&vm->pio, &pm_ops, vm, &vm->pm);
        if (r < 0)
                return r;
        r = i8042_new(&vm->pio, guest_reset, vm, &vm->i8042);
        if (r < 0)
                return r;
        r = setup_console(vm);
        if (r < 0)
                return r;
        r = pci_bus_new(&vm->pio, &vm->mmio, cf9_write, vm, &vm->pci);
        if (r < 0)
                return r;
        for (size_t i = 0; i < vm->cfg->n_disks; i++) {
                r = virtio_blk_new(vm, &vm->cfg->disks[i], &vd);
                if (r < 0)
                        return r;
                r = add_virtio(vm, vd);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < vm->cfg->n_nets; i++) {
                r = virtio_net_new(vm, &vm->cfg->nets[i], &vd);
                if (r < 0)
                        return r;
                r = add_virtio(vm, vd);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < vm->cfg->n_fs; i++) {
                r = vhost_user_fs_new(vm, &vm->cfg->fs[i], &vd);
                if (r < 0)
                        return r;
                r = add_virtio(vm, vd);
                if (r < 0)
                        return r;
        }
        if (vm->cfg->has_vsock) {
                r = virtio_vsock_new(vm, vm->cfg->vsock_cid, vm->cfg->vsock_uds, vm->cfg->vsock_io_vcpu, &vd);
                if (r < 0)
                        return r;
                r = add_virtio(vm, vd);
                if (r < 0)
                        return r;
        }
        if (vm->cfg->rng) {
                r = virtio_rng_new(vm, &vd);
                if (r < 0)
                        return err_prefix(r, "virtio-rng");
                r = add_virtio(vm, vd);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * Shared memory ignores MADV_HUGEPAGE unless shmem_enabled allows it: then KVM maps guest RAM
 * with 4 KiB pages, which nested paging makes much slower (docs/vmm.md, "virtio-fs").
 */
static void log_shmem_hugepages(void)
{
        if (!guest_memory_shmem_huge())
                log_debug("guest RAM is shared memory without huge pages (shmem_enabled is never): "
                          "'advise' in /sys/kernel/mm/transparent_hugepage/shmem_enabled makes it faster");
}

static int load_kernel(struct vm *vm)
{
        const struct vm_config *c = vm->cfg;
        struct boot_entry entry;
        uint64_t rsdp;
        int r;

        r = acpi_build(&vm->mem, c->cpus, &rsdp);
        if (r < 0)
                return r;
        struct boot_config bc = {
                .kernel = c->kernel, .initrd = c->initrd, .cmdline = c->cmdline, .rsdp = rsdp};
        r = boot_load(&vm->mem, &bc, &entry);
        if (r < 0)
                return r;
        return vcpu_set_boot_regs(vm->vcpus[0], &entry);
}

int vm_create(const struct vm_config *c, struct vm **ret)
{
        struct snapshot snap = {};
        int r;

        struct vm *vm = calloc(1, sizeof(*vm));
        if (!vm)
                return -ENOMEM;
        vm->cfg = c;
        vm->exit_code = -1;
        vm->signal_fd = vm->grace_fd = vm->serial_fd = vm->snapshot_fd = -EBADF;
        vm->kvm.vm_fd = vm->kvm.sys_fd = -EBADF;
        pthread_mutex_init(&vm->lock, NULL);
        pthread_cond_init(&vm->cond, NULL);
        set_state(vm, VM_STATE_CREATED);

        if (c->restore_dir) {
                r = snapshot_load(c->restore_dir, &snap);
                if (r >= 0)
                        r = check_machine(c, &snap);
                if (r < 0)
                        goto fail;
        }
        r = kvm_open(&vm->kvm, c->kvm_path);
        if (r < 0)
                goto fail;
        /* A vhost-user backend maps guest RAM itself: it must be shared memory. */
        if (c->restore_dir)
                r = restore_memory(vm, c->restore_dir);
        else if (c->n_fs)
                r = guest_memory_init_shared(&vm->mem, c->memory);
        else
                r = guest_memory_init(&vm->mem, c->memory);
        if (r >= 0 && c->n_fs)
                log_shmem_hugepages();
        if (r < 0)
                goto fail;
        for (unsigned i = 0; i < vm->mem.n_regions; i++) {
                r = kvm_set_memory(&vm->kvm, i, vm->mem.regions[i].gpa, vm->mem.regions[i].size,
                                   vm->mem.regions[i].hva);
                if (r < 0)
                        goto fail;
        }
        r = event_loop_new(&vm->loop);
        if (r < 0)
                goto fail;
        r = setup_signals(vm);
        if (r < 0)
                goto fail;
        r = setup_devices(vm);
        if (r < 0)
                goto fail;
        if (c->snapshot_dir || c->restore_dir)
                for_each_virtio(vm, VIRTIO_TYPE_BLK, virtio_blk_hide);

        vm->n_vcpus = c->cpus;
        vm->vcpus = calloc(c->cpus, sizeof(*vm->vcpus));
        if (!vm->vcpus) {
                r = -ENOMEM;
                goto fail;
        }
        for (unsigned i = 0; i < c->cpus; i++) {
                r = vcpu_create(vm, i, &vm->vcpus[i]);
                if (r < 0)
                        goto fail;
        }

        if (c->restore_dir) {
                r = restore_state(vm, &snap);
                vm->restored = r >= 0;
        } else
                r = load_kernel(vm);
        if (r >= 0 && c->snapshot_dir)
                r = setup_snapshot(vm);
        if (r < 0)
                goto fail;

        if (c->api_sock) {
                r = api_new(vm, c->api_sock, &vm->api);
                if (r < 0)
                        goto fail;
        }
        snapshot_done(&snap);
        *ret = vm;
        return 0;
fail:
        if (c->restore_dir)
                r = err_prefix(r, "snapshot '%s'", c->restore_dir);
        snapshot_done(&snap);
        vm_free(vm);
        return r;
}

bool vm_disks_pending(struct vm *vm)
{
        for (size_t i = 0; i < vm->n_virtio; i++)
                if (vm->virtio[i]->ops->type == VIRTIO_TYPE_BLK && virtio_blk_pending(vm->virtio[i]))
                        return true;
        return false;
}

int vm_attach_disks(struct vm *vm)
{
        for (size_t i = 0; i < vm->n_virtio; i++)
                if (vm->virtio[i]->ops->type == VIRTIO_TYPE_BLK) {
                        int r = virtio_blk_attach(vm->virtio[i]);
                        if (r < 0)
                                return r;
                }
        /* Every image is open: this thread opens nothing any more (vmm-seccomp.h). */
        if (vm->io_opens_disks) {
                int r = vmm_seccomp_forbid_open();
                if (r < 0)
                        return err_set(r, "cannot narrow the I/O thread's seccomp filter: %s", strerror(-r));
                vm->io_opens_disks = false;
        }
        return 0;
}

int vm_run(struct vm *vm)
{
        int r;

        vm->start_usec = now_usec();
        set_state(vm, VM_STATE_RUNNING);
        if (vm->restored) {
                /* The interrupt and the connection's packets wait in the LAPIC and the rings. */
                for_each_virtio(vm, VIRTIO_TYPE_BLK, virtio_blk_reveal);
                for_each_virtio(vm, VIRTIO_TYPE_VSOCK, virtio_vsock_release);
        }
        for (unsigned i = 0; i < vm->n_vcpus; i++) {
                r = vcpu_start(vm->vcpus[i]);
                if (r < 0) {
                        log_error("cannot start vcpu %u: %s", i, strerror(-r));
                        vm_request_exit(vm, VM_EXIT_ERROR);
                        break;
                }
        }
        if (vm->cfg->seccomp) {
                enum vmm_thread t = VMM_THREAD_IO;
                if (vm->cfg->snapshot_dir)
                        t = VMM_THREAD_IO_SNAPSHOT;
                else if (vm_disks_pending(vm)) {
                        t = VMM_THREAD_IO_LATE_DISKS;
                        vm->io_opens_disks = true;
                }
                r = vmm_seccomp_install(t);
                if (r < 0) {
                        log_error("cannot install the I/O thread's seccomp filter: %s", strerror(-r));
                        vm_request_exit(vm, VM_EXIT_ERROR);
                }
        }
        r = event_loop_run(vm->loop);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                vm_request_exit(vm, VM_EXIT_ERROR);
        }
        vm_request_exit(vm, VM_EXIT_ERROR); /* no-op when an exit was already requested */
        for (unsigned i = 0; i < vm->n_vcpus; i++)
                vcpu_join(vm->vcpus[i]);
        if (vm->serial)
                serial_flush(vm->serial);
        return vm->exit_code;
}

void vm_free(struct vm *vm)
{
        if (!vm)
                return;
        api_free(vm->api);
        if (vm->vcpus)
                for (unsigned i = 0; i < vm->n_vcpus; i++)
                        vcpu_free(vm->vcpus[i]);
        free(vm->vcpus);
        for (size_t i = 0; i < vm->n_virtio; i++)
                virtio_dev_free(vm->virtio[i]);
        free(vm->virtio);
        pci_bus_free(vm->pci);
        serial_free(vm->serial);
        i8042_free(vm->i8042);
        acpi_pm_free(vm->pm);
        if (vm->loop) {
                if (vm->signal_fd >= 0)
                        (void)event_loop_remove(vm->loop, vm->signal_fd);
                if (vm->grace_fd >= 0)
                        (void)event_loop_remove(vm->loop, vm->grace_fd);
                if (vm->snapshot_fd >= 0)
                        (void)event_loop_remove(vm->loop, vm->snapshot_fd);
        }
        event_loop_free(vm->loop);
        safe_close(vm->signal_fd);
        safe_close(vm->grace_fd);
        safe_close(vm->serial_fd);
        safe_close(vm->snapshot_fd);
        bus_done(&vm->pio);
        bus_done(&vm->mmio);
        guest_memory_done(&vm->mem);
        kvm_close(&vm->kvm);
        if (termios_saved) {
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
                termios_saved = false;
        }
        pthread_cond_destroy(&vm->cond);
        pthread_mutex_destroy(&vm->lock);
        free(vm);
}
