/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.c - vCPU setup and run loop (see vcpu.h).
 *
 * CPUID starts from KVM_GET_SUPPORTED_CPUID (never the host's raw CPUID: a nested or
 * PVM host supports less than its CPU advertises) and gets per-vCPU APIC ids and a
 * topology of n cores, one thread each, in one package. Only MSRs that
 * KVM_GET_MSR_INDEX_LIST names are written: writing others fails the whole
 * KVM_SET_MSRS (QEMU's -cpu host aborts on 0x10a on this project's hosts for that
 * reason). MTRRdefType is set to write-back: with MTRRs off, a guest maps all of RAM
 * uncached under some KVM configurations.
 */
#include <inttypes.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "error.h"
#include "layout.h"
#include "log.h"
#include "vmm-seccomp.h"
#include "vcpu.h"

#define CPUID_HYPERVISOR   (1u << 31)
#define CPUID_TSC_DEADLINE (1u << 24)
#define CPUID_HTT          (1u << 28)

#define MSR_IA32_TSC          0x10
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

#define X86_CR0_PE  0x1
#define X86_CR0_ET  0x10
#define X86_CR0_PG  0x80000000
#define X86_CR4_PAE 0x20
#define EFER_LME    0x100
#define EFER_LMA    0x400

#define APIC_LVT0        0x350
#define APIC_LVT1        0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static unsigned bits_for(unsigned n)
{
        unsigned b = 0;
        while ((1u << b) < n)
                b++;
        return b;
}

void vcpu_cpuid_patch(struct kvm_cpuid2 *c, unsigned index, unsigned n)
{
        unsigned shift = bits_for(n);

        for (uint32_t i = 0; i < c->nent; i++) {
                struct kvm_cpuid_entry2 *e = &c->entries[i];
                switch (e->function) {
                case 0x1:
                        e->ebx = (e->ebx & 0xffff) | (index << 24) | ((n > 255 ? 255 : n) << 16);
                        e->ecx |= CPUID_HYPERVISOR;
                        if (n > 1)
                                e->edx |= CPUID_HTT;
                        else
                                e->edx &= ~CPUID_HTT;
                        break;
                case 0x4:
                        /* Cores per package - 1 in EAX[31:26]; caches shared by one thread. */
                        e->eax = (e->eax & 0x3fff) | ((n - 1) << 26);
                        break;
                case 0xd:
                        /*
                         * Leaf 0xd.0 EBX is the XSAVE size for the features in XCR0. KVM updates
                         * it when it intercepts XSETBV, which an emulated (TCG) SVM host does not
                         * do; Linux enables every supported feature, so report that size (ECX)
                         * up front, or Linux finds the sizes inconsistent and turns XSAVE off.
                         */
                        if (e->index == 0)
                                e->ebx = e->ecx;
                        break;
                case 0xb:
                case 0x1f:
                        /* x2APIC topology: level 0 SMT (1 thread), level 1 core (n), then none. */
                        if (e->index == 0) {
                                e->eax = 0;
                                e->ebx = 1;
                                e->ecx = (1u << 8);
                        } else if (e->index == 1) {
                                e->eax = shift;
                                e->ebx = n;
                                e->ecx = (2u << 8) | 1;
                        } else {
                                e->eax = 0;
                                e->ebx = 0;
                                e->ecx = e->index;
                        }
                        e->edx = index;
                        break;
                case 0x80000008:
                        e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | (n - 1);
                        break;
                case 0x8000001e:
                        e->eax = index;
                        e->ebx = index & 0xff;
                        e->ecx = 0;
                        break;
                default:
                        break;
                }
        }
}

static int setup_cpuid(struct vcpu *v)
{
        struct kvm *k = &v->vm->kvm;
        size_t size = sizeof(struct kvm_cpuid2) + k->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
        _cleanup_free_ struct kvm_cpuid2 *c = malloc(size);
        if (!c)
                return -ENOMEM;
        memcpy(c, k->cpuid, size);
        vcpu_cpuid_patch(c, v->index, v->vm->n_vcpus);
        /* KVM leaves TSC-deadline out of the supported set; it emulates it whenever the cap says so. */
        if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
                for (uint32_t i = 0; i < c->nent; i++)
                        if (c->entries[i].function == 1)
                                c->entries[i].ecx |= CPUID_TSC_DEADLINE;
        if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_SET_CPUID2 failed: %m", v->index);
        return 0;
}

static bool msr_supported(const struct kvm_msr_list *l, uint32_t index)
{
        for (uint32_t i = 0; i < l->nmsrs; i++)
                if (l->indices[i] == index)
                        return true;
        return false;
}

static int setup_msrs(struct vcpu *v)
{
        static const struct {
                uint32_t index;
                uint64_t value;
        } boot_msrs[] = {
                {MSR_IA32_SYSENTER_CS, 0},
                {MSR_IA32_SYSENTER_ESP, 0},
                {MSR_IA32_SYSENTER_EIP, 0},
                {MSR_STAR, 0},
                {MSR_LSTAR, 0},
                {MSR_CSTAR, 0},
                {MSR_SYSCALL_MASK, 0},
                {MSR_KERNEL_GS_BASE, 0},
                {MSR_IA32_TSC, 0},
                {MSR_IA32_MISC_ENABLE, 1},
                {MSR_MTRR_DEF_TYPE, (1u << 11) | 6},
        };
        _cleanup_free_ struct kvm_msrs *msrs =
                calloc(1, sizeof(struct kvm_msrs) + ELEMENTSOF(boot_msrs) * sizeof(struct kvm_msr_entry));
        if (!msrs)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(boot_msrs); i++)
                if (msr_supported(v->vm->kvm.msr_list, boot_msrs[i].index))
                        msrs->entries[msrs->nmsrs++] = (struct kvm_msr_entry){.index = boot_msrs[i].index,
                                                                              .data = boot_msrs[i].value};
        int r = ioctl(v->fd, KVM_SET_MSRS, msrs);
        if (r < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_SET_MSRS failed: %m", v->index);
        if ((uint32_t)r != msrs->nmsrs)
                return err_set(-EIO, "vcpu %u: KVM_SET_MSRS refused MSR 0x%x", v->index,
                               msrs->entries[r].index);
        return 0;
}

static int setup_fpu_lapic(struct vcpu *v)
{
        struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
        struct kvm_lapic_state lapic;
        uint32_t lvt;

        if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_SET_FPU failed: %m", v->index);
        if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_GET_LAPIC failed: %m", v->index);
        /* LINT0 as ExtINT (the PIC) and LINT1 as NMI, as a PC BIOS leaves them. */
        memcpy(&lvt, lapic.regs + APIC_LVT0, 4);
        lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
        memcpy(lapic.regs + APIC_LVT0, &lvt, 4);
        memcpy(&lvt, lapic.regs + APIC_LVT1, 4);
        lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
        memcpy(lapic.regs + APIC_LVT1, &lvt, 4);
        if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_SET_LAPIC failed: %m", v->index);
        return 0;
}

int vcpu_create(struct vm *vm, unsigned index, struct vcpu **ret)
{
        struct vcpu *v = calloc(1, sizeof(*v));
        int r;

        if (!v)
                return -ENOMEM;
        v->vm = vm;
        v->index = index;
        v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
        if (v->fd < 0) {
                r = err_set(negative_errno(), "vcpu %u: KVM_CREATE_VCPU failed: %m", index);
                free(v);
                return r;
        }
        v->run = mmap(NULL, (size_t)vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
        if (v->run == MAP_FAILED) {
                r = negative_errno();
                v->run = NULL;
                vcpu_free(v);
                return r;
        }
        r = setup_cpuid(v);
        if (r >= 0)
                r = setup_msrs(v);
        if (r >= 0)
                r = setup_fpu_lapic(v);
        if (r < 0) {
                vcpu_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

void vcpu_free(struct vcpu *v)
{
        if (!v)
                return;
        if (v->run)
                munmap(v->run, (size_t)v->vm->kvm.run_size);
        safe_close(v->fd);
        free(v);
}

static struct kvm_segment segment_from_gdt(uint64_t d, uint16_t selector)
{
        struct kvm_segment s = {
                .base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000)),
                .limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000)),
                .selector = selector,
                .type = (uint8_t)((d >> 40) & 0xf),
                .s = (uint8_t)((d >> 44) & 1),
                .dpl = (uint8_t)((d >> 45) & 3),
                .present = (uint8_t)((d >> 47) & 1),
                .avl = (uint8_t)((d >> 52) & 1),
                .l = (uint8_t)((d >> 53) & 1),
                .db = (uint8_t)((d >> 54) & 1),
                .g = (uint8_t)((d >> 55) & 1),
        };
        /* KVM wants the limit in bytes. */
        if (s.g)
                s.limit = (s.limit << 12) | 0xfff;
        return s;
}

int vcpu_set_boot_regs(struct vcpu *v, const struct boot_entry *e)
{
        static const uint64_t gdt[] = {
                0,
                0x00cf9b000000ffffULL,
                0x00af9b000000ffffULL,
                0x00cf93000000ffffULL,
                0x008f8b000000ffffULL,
        };
        struct kvm_sregs sregs;
        struct kvm_regs regs = {.rflags = 0x2};

        if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
                return negative_errno();
        bool pvh = e->mode == BOOT_MODE_PVH;
        sregs.gdt.base = LAYOUT_GDT;
        sregs.gdt.limit = sizeof(gdt) - 1;
        sregs.idt.base = 0;
        sregs.idt.limit = 0;
        sregs.cs = pvh ? segment_from_gdt(gdt[1], 0x08) : segment_from_gdt(gdt[2], 0x10);
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = segment_from_gdt(gdt[3], 0x18);
        sregs.tr = segment_from_gdt(gdt[4], 0x20);
        if (pvh) {
                sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
                sregs.cr4 = 0;
                sregs.efer = 0;
                regs.rbx = e->info;
        } else {
                sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
                sregs.cr3 = LAYOUT_PML4;
                sregs.cr4 = X86_CR4_PAE;
                sregs.efer = EFER_LME | EFER_LMA;
                regs.rsi = e->info;
        }
        regs.rip = e->entry;
        regs.rsp = regs.rbp = 0x8ff0;
        if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_SET_SREGS failed: %m", v->index);
        if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
                return err_set(negative_errno(), "vcpu %u: KVM_SET_REGS failed: %m", v->index);
        return 0;
}

static void kick_handler(int sig)
{
}

int vcpu_signal_setup(void)
{
        struct sigaction sa = {.sa_handler = kick_handler};
        sigemptyset(&sa.sa_mask);
        if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
                return negative_errno();
        return 0;
}

void vcpu_kick(struct vcpu *v)
{
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (v->started)
                pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

static void handle_io(struct vcpu *v)
{
        struct kvm_run *run = v->run;
        uint8_t *data = (uint8_t *)run + run->io.data_offset;
        bool write = run->io.direction == KVM_EXIT_IO_OUT;

        /* String I/O (rep outsb...) arrives as count items of size bytes. */
        for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
                if (!bus_access(&v->vm->pio, run->io.port, data, run->io.size, write))
                        log_debug("vcpu %u: unhandled %s port 0x%x", v->index,
                                  write ? "write to" : "read of", run->io.port);
}

/* Block here while the VM is paused; returns false when the vCPU must stop. */
static bool wait_runnable(struct vcpu *v)
{
        struct vm *vm = v->vm;
        bool ok;

        if (__atomic_load_n(&vm->state, __ATOMIC_SEQ_CST) == VM_STATE_RUNNING)
                return true;
        /*
         * An I/O or MMIO exit is complete (a read's data in the registers, RIP past the
         * instruction) only once KVM_RUN is entered again (KVM api.rst, "kvm_run"): do that
         * with immediate_exit before parking, so that the state a snapshot reads is whole.
         */
        if (__atomic_load_n(&vm->state, __ATOMIC_SEQ_CST) == VM_STATE_PAUSED) {
                __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
                (void)ioctl(v->fd, KVM_RUN, 0);
                __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        }
        pthread_mutex_lock(&vm->lock);
        while (vm->state == VM_STATE_PAUSED) {
                vm->n_paused++;
                pthread_cond_broadcast(&vm->cond);
                pthread_cond_wait(&vm->cond, &vm->lock);
                vm->n_paused--;
        }
        ok = vm->state == VM_STATE_RUNNING;
        pthread_mutex_unlock(&vm->lock);
        return ok;
}

/*
 * The registers KVM synced into the run page at a triple fault (--debug). On AMD, KVM resets
 * the vCPU before it reports the shutdown, so the registers are the reset state there and only
 * the numbers of the last exception and interrupt (which the reset leaves) tell something.
 */
static void log_shutdown_state(const struct vcpu *v)
{
        const struct kvm_sync_regs *s = &v->run->s.regs;

        log_debug("vcpu %u: rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx "
                  "efer 0x%llx cs 0x%x idt 0x%llx/%u",
                  v->index, s->regs.rip, s->regs.rsp, s->regs.rflags, s->sregs.cr0, s->sregs.cr2, s->sregs.cr3,
                  s->sregs.cr4, s->sregs.efer, s->sregs.cs.selector, s->sregs.idt.base, s->sregs.idt.limit);
        log_debug("vcpu %u: exception injected %u pending %u nr %u error 0x%x; interrupt injected %u nr %u; "
                  "nmi injected %u pending %u masked %u; shadow %u",
                  v->index, s->events.exception.injected, s->events.exception.pending, s->events.exception.nr,
                  s->events.exception.error_code, s->events.interrupt.injected, s->events.interrupt.nr,
                  s->events.nmi.injected, s->events.nmi.pending, s->events.nmi.masked,
                  s->events.interrupt.shadow);
}

static void *vcpu_thread(void *arg)
{
        struct vcpu *v = arg;
        struct vm *vm = v->vm;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, VCPU_KICK_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
        if (vm->cfg->seccomp) {
                enum vmm_thread t = vm->cfg->vsock_io_vcpu ? VMM_THREAD_VCPU_IO : VMM_THREAD_VCPU;
                for (size_t i = 0; i < vm->cfg->n_disks; i++)
                        if (vm->cfg->disks[i].io_vcpu)
                                t = VMM_THREAD_VCPU_IO;
                r = vmm_seccomp_install(t);
                if (r < 0) {
                        log_error("vcpu %u: cannot install its seccomp filter: %s", v->index, strerror(-r));
                        vm_request_exit(vm, VM_EXIT_ERROR);
                        return NULL;
                }
        }

        /*
         * With --debug, KVM copies the registers into the run page at every exit (KVM_CAP_SYNC_REGS),
         * so that a triple fault can say where the guest was without an ioctl the filter refuses.
         */
        if (log_get_level() >= LOG_LEVEL_DEBUG && vm->kvm.has_sync_regs)
                v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
        while (wait_runnable(v)) {
                r = ioctl(v->fd, KVM_RUN, 0);
                if (r < 0) {
                        if (errno == EINTR || errno == EAGAIN) {
                                __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                                continue;
                        }
                        log_error("vcpu %u: KVM_RUN failed: %m", v->index);
                        vm_request_exit(vm, VM_EXIT_ERROR);
                        break;
                }
                struct kvm_run *run = v->run;
                switch (run->exit_reason) {
                case KVM_EXIT_IO:
                        handle_io(v);
                        break;
                case KVM_EXIT_MMIO:
                        if (!bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                                        run->mmio.is_write))
                                log_debug("vcpu %u: unhandled MMIO %s 0x%llx", v->index,
                                          run->mmio.is_write ? "write" : "read", run->mmio.phys_addr);
                        break;
                case KVM_EXIT_HLT:
                case KVM_EXIT_INTR:
                        break;
                case KVM_EXIT_SHUTDOWN:
                        log_debug("vcpu %u: triple fault", v->index);
                        if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
                                log_shutdown_state(v);
                        vm_request_exit(vm, VM_EXIT_CRASH);
                        break;
                case KVM_EXIT_SYSTEM_EVENT:
                        switch (run->system_event.type) {
                        case KVM_SYSTEM_EVENT_SHUTDOWN:
                                vm_request_exit(vm, VM_EXIT_POWEROFF);
                                break;
                        case KVM_SYSTEM_EVENT_RESET:
                                vm_request_exit(vm, VM_EXIT_REBOOT);
                                break;
                        default:
                                vm_request_exit(vm, VM_EXIT_CRASH);
                                break;
                        }
                        break;
                case KVM_EXIT_FAIL_ENTRY:
                        log_error("vcpu %u: KVM could not enter the guest (reason 0x%llx)", v->index,
                                  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
                        vm_request_exit(vm, VM_EXIT_CRASH);
                        break;
                case KVM_EXIT_INTERNAL_ERROR:
                        log_error("vcpu %u: KVM internal error, suberror %u", v->index,
                                  run->internal.suberror);
                        vm_request_exit(vm, VM_EXIT_CRASH);
                        break;
                default:
                        log_error("vcpu %u: unexpected KVM exit %u", v->index, run->exit_reason);
                        vm_request_exit(vm, VM_EXIT_CRASH);
                        break;
                }
        }
        return NULL;
}

/*
 * A vCPU thread only runs KVM_RUN and register handlers. A small stack also keeps a
 * host with transparent huge pages "always" from backing it with a 2 MiB page.
 */
#define VCPU_STACK_SIZE (256 * 1024)

int vcpu_start(struct vcpu *v)
{
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
        int r = pthread_create(&v->thread, &attr, vcpu_thread, v);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        v->started = true;
        char name[16];
        snprintf(name, sizeof(name), "vcpu%u", v->index);
        pthread_setname_np(v->thread, name);
        return 0;
}

void vcpu_join(struct vcpu *v)
{
        if (v->started) {
                pthread_join(v->thread, NULL);
                v->started = false;
        }
}

/* ---- snapshots ---------------------------------------------------------------------- */

/*
 * Read every MSR of KVM_GET_MSR_INDEX_LIST that this vCPU lets us read. KVM_GET_MSRS stops
 * at the first index it refuses (one that needs a CPUID feature the guest lacks, say) and
 * returns how many it read: drop that one and go on from there.
 */
static int save_msrs(struct vcpu *v, struct snap_buf *b)
{
        const struct kvm_msr_list *l = v->vm->kvm.msr_list;
        uint32_t n = MIN(l->nmsrs, (uint32_t)SNAPSHOT_MAX_MSRS);
        _cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
        _cleanup_free_ struct kvm_msr_entry *out = calloc(MAX(n, 1u), sizeof(*out));
        uint32_t n_out = 0;

        if (!m || !out)
                return -ENOMEM;
        for (uint32_t next = 0; next < n;) {
                m->nmsrs = n - next;
                for (uint32_t i = 0; i < m->nmsrs; i++)
                        m->entries[i] = (struct kvm_msr_entry){.index = l->indices[next + i]};
                int r = ioctl(v->fd, KVM_GET_MSRS, m);
                if (r < 0)
                        return err_set(negative_errno(), "vcpu %u: KVM_GET_MSRS failed: %m", v->index);
                memcpy(out + n_out, m->entries, (size_t)r * sizeof(*out));
                n_out += (uint32_t)r;
                if ((uint32_t)r < m->nmsrs)
                        log_debug("vcpu %u: MSR 0x%x cannot be read, not saved", v->index,
                                  m->entries[r].index);
                next += (uint32_t)r + 1;
        }
        snap_put_record(b, SNAP_VCPU_MSRS, v->index, out, n_out * sizeof(*out));
        return 0;
}

#define GET_RECORD(v, b, req, kind, type)                                                                \
        ({                                                                                               \
                type _s;                                                                                 \
                memset(&_s, 0, sizeof(_s));                                                              \
                int _r = ioctl((v)->fd, req, &_s) < 0                                                    \
                                 ? err_set(negative_errno(), "vcpu %u: " #req " failed: %m", (v)->index) \
                                 : 0;                                                                    \
                if (_r >= 0)                                                                             \
                        snap_put_record(b, kind, (v)->index, &_s, sizeof(_s));                           \
                _r;                                                                                      \
        })

int vcpu_save(struct vcpu *v, struct snap_buf *b)
{
        struct kvm *k = &v->vm->kvm;
        int r;

        /* KVM_GET_MP_STATE first: it also flushes a pending INIT/SIPI into the state. */
        r = GET_RECORD(v, b, KVM_GET_MP_STATE, SNAP_VCPU_MP_STATE, struct kvm_mp_state);
        if (r >= 0)
                r = GET_RECORD(v, b, KVM_GET_REGS, SNAP_VCPU_REGS, struct kvm_regs);
        if (r >= 0)
                r = GET_RECORD(v, b, KVM_GET_SREGS, SNAP_VCPU_SREGS, struct kvm_sregs);
        if (r >= 0 && k->xsave_size > 0) {
                _cleanup_free_ void *x = calloc(1, k->xsave_size);
                if (!x)
                        return -ENOMEM;
                unsigned long req =
                        k->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
                if (ioctl(v->fd, req, x) < 0)
                        return err_set(negative_errno(), "vcpu %u: KVM_GET_XSAVE failed: %m", v->index);
                snap_put_record(b, SNAP_VCPU_XSAVE, v->index, x, k->xsave_size);
        } else if (r >= 0)
                r = GET_RECORD(v, b, KVM_GET_FPU, SNAP_VCPU_FPU, struct kvm_fpu);
        if (r >= 0 && k->has_xcrs)
                r = GET_RECORD(v, b, KVM_GET_XCRS, SNAP_VCPU_XCRS, struct kvm_xcrs);
        if (r >= 0)
                r = GET_RECORD(v, b, KVM_GET_LAPIC, SNAP_VCPU_LAPIC, struct kvm_lapic_state);
        if (r >= 0)
                r = GET_RECORD(v, b, KVM_GET_VCPU_EVENTS, SNAP_VCPU_EVENTS, struct kvm_vcpu_events);
        if (r >= 0)
                r = GET_RECORD(v, b, KVM_GET_DEBUGREGS, SNAP_VCPU_DEBUGREGS, struct kvm_debugregs);
        if (r >= 0)
                r = save_msrs(v, b);
        if (r >= 0) {
                int khz = k->has_tsc_control ? ioctl(v->fd, KVM_GET_TSC_KHZ, 0) : 0;
                uint32_t u = khz > 0 ? (uint32_t)khz : 0;
                snap_put_record(b, SNAP_VCPU_TSC_KHZ, v->index, &u, sizeof(u));
        }
        return r;
}

static int set_one(struct vcpu *v, unsigned long req, const char *name, const void *p)
{
        if (ioctl(v->fd, req, p) < 0) {
                int r = negative_errno();
                return err_set(r, "vcpu %u: this host's KVM refuses the saved state (%s: %s)", v->index,
                               name, strerror(-r));
        }
        return 0;
}

int vcpu_restore(struct vcpu *v, const struct snapshot_vcpu *s)
{
        struct kvm *k = &v->vm->kvm;
        int r = 0;

        if (s->tsc_khz && k->has_tsc_control)
                r = set_one(v, KVM_SET_TSC_KHZ, "KVM_SET_TSC_KHZ", (void *)(uintptr_t)s->tsc_khz);
        if (r >= 0)
                r = set_one(v, KVM_SET_REGS, "KVM_SET_REGS", &s->regs);
        if (r >= 0)
                r = set_one(v, KVM_SET_SREGS, "KVM_SET_SREGS", &s->sregs);
        if (r >= 0 && s->xsave) {
                /* KVM_SET_XSAVE copies as much as KVM_CAP_XSAVE2 says: hand it a buffer that large. */
                if (s->xsave_len > MAX(k->xsave_size, (uint32_t)sizeof(struct kvm_xsave)))
                        return err_set(-EINVAL,
                                       "vcpu %u: this host's KVM refuses the saved state "
                                       "(an XSAVE area of %u bytes, the host's has %u)",
                                       v->index, s->xsave_len, k->xsave_size);
                _cleanup_free_ uint8_t *x =
                        calloc(1, MAX(k->xsave_size, (uint32_t)sizeof(struct kvm_xsave)));
                if (!x)
                        return -ENOMEM;
                memcpy(x, s->xsave, s->xsave_len);
                r = set_one(v, KVM_SET_XSAVE, "KVM_SET_XSAVE", x);
        } else if (r >= 0)
                r = set_one(v, KVM_SET_FPU, "KVM_SET_FPU", &s->fpu);
        if (r >= 0 && s->has_xcrs)
                r = set_one(v, KVM_SET_XCRS, "KVM_SET_XCRS", &s->xcrs);
        if (r >= 0)
                r = set_one(v, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", &s->debugregs);
        /* The LAPIC before the MSRs: MSR_IA32_TSC_DEADLINE only takes in TSC-deadline mode. */
        if (r >= 0)
                r = set_one(v, KVM_SET_LAPIC, "KVM_SET_LAPIC", &s->lapic);
        if (r >= 0 && s->n_msrs) {
                _cleanup_free_ struct kvm_msrs *m =
                        calloc(1, sizeof(*m) + s->n_msrs * sizeof(struct kvm_msr_entry));
                if (!m)
                        return -ENOMEM;
                m->nmsrs = s->n_msrs;
                memcpy(m->entries, s->msrs, s->n_msrs * sizeof(struct kvm_msr_entry));
                int n = ioctl(v->fd, KVM_SET_MSRS, m);
                if (n < 0)
                        return err_set(negative_errno(), "vcpu %u: KVM_SET_MSRS failed: %m", v->index);
                if ((uint32_t)n != s->n_msrs)
                        return err_set(-EINVAL,
                                       "vcpu %u: this host's KVM refuses the saved state (MSR 0x%x)",
                                       v->index, s->msrs[n].index);
        }
        /* Pending exceptions and interrupts, then whether the vCPU runs or waits: last. */
        if (r >= 0)
                r = set_one(v, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", &s->events);
        if (r >= 0)
                r = set_one(v, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", &s->mp_state);
        return r;
}
