/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm.c - the KVM VM (see kvm.h).
 *
 * Capabilities are checked up front so that a host without them fails with one line
 * naming the capability, not with an ioctl error in the middle of device setup.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/ioctl.h>

#include "error.h"
#include "kvm.h"
#include "log.h"

static const struct {
        int cap;
        const char *name;
} required_caps[] = {
        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},         {KVM_CAP_HLT, "KVM_CAP_HLT"},
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"}, {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},     {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
        {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"}, {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
        {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
};

static int get_supported_cpuid(struct kvm *k)
{
        for (unsigned n = 128; n <= 4096; n *= 2) {
                struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
                if (!c)
                        return -ENOMEM;
                c->nent = n;
                if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
                        k->cpuid = c;
                        return 0;
                }
                int r = negative_errno();
                free(c);
                if (r != -E2BIG)
                        return err_set(r, "kvm: KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-r));
        }
        return -E2BIG;
}

static int get_msr_list(struct kvm *k)
{
        struct kvm_msr_list probe = {.nmsrs = 0};

        /* The first call fails with E2BIG and tells how many indices there are. */
        if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
                return err_set(negative_errno(), "kvm: KVM_GET_MSR_INDEX_LIST failed: %m");
        struct kvm_msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
        if (!l)
                return -ENOMEM;
        l->nmsrs = probe.nmsrs;
        if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
                int r = negative_errno();
                free(l);
                return err_set(r, "kvm: KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-r));
        }
        k->msr_list = l;
        return 0;
}

/* KVM's own default table after KVM_CREATE_IRQCHIP (arch/x86/kvm/irq_comm.c, default_routing). */
static int routes_init(struct kvm *k)
{
        k->routes = calloc(1, sizeof(*k->routes) + KVM_MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
        if (!k->routes)
                return -ENOMEM;
        struct kvm_irq_routing_entry *e = k->routes->entries;
        unsigned n = 0;
        for (uint32_t gsi = 0; gsi < KVM_IRQCHIP_PINS; gsi++) {
                e[n++] = (struct kvm_irq_routing_entry){
                        .gsi = gsi,
                        .type = KVM_IRQ_ROUTING_IRQCHIP,
                        .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
                };
                if (gsi < 16)
                        e[n++] = (struct kvm_irq_routing_entry){
                                .gsi = gsi,
                                .type = KVM_IRQ_ROUTING_IRQCHIP,
                                .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
                                                                 : KVM_IRQCHIP_PIC_SLAVE,
                                              .pin = gsi % 8},
                        };
        }
        k->routes->nr = n;
        k->next_gsi = KVM_IRQCHIP_PINS;
        return 0;
}

int kvm_open(struct kvm *k, const char *path)
{
        struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
        int r;

        *k = (struct kvm){.sys_fd = -EBADF, .vm_fd = -EBADF};
        pthread_mutex_init(&k->routes_lock, NULL);

        k->sys_fd = open(path ?: "/dev/kvm", O_RDWR | O_CLOEXEC);
        if (k->sys_fd < 0) {
                r = negative_errno();
                return err_set(r, "cannot open '%s': %s", path ?: "/dev/kvm", strerror(-r));
        }
        r = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
        if (r != KVM_API_VERSION)
                return err_set(-ENOTSUP, "kvm: API version %d, hull-vmm needs %d", r, KVM_API_VERSION);
        for (size_t i = 0; i < ELEMENTSOF(required_caps); i++)
                if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
                        return err_set(-ENOTSUP, "kvm: the host lacks %s", required_caps[i].name);
        k->has_immediate_exit = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
        k->has_xcrs = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
        k->has_tsc_control = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0;
        {
                int s = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
                unsigned want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
                k->has_sync_regs = s > 0 && ((unsigned)s & want) == want;
        }
        if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
                /* KVM_CAP_XSAVE2 answers the size of the whole area, features past 4 KiB included. */
                int n = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
                k->xsave_size = n > (int)sizeof(struct kvm_xsave) && n <= SNAPSHOT_MAX_XSAVE
                                        ? (uint32_t)n
                                        : (uint32_t)sizeof(struct kvm_xsave);
        }
        k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (k->run_size <= 0)
                return err_set(-ENOTSUP, "kvm: KVM_GET_VCPU_MMAP_SIZE failed");
        r = get_supported_cpuid(k);
        if (r < 0)
                return r;
        r = get_msr_list(k);
        if (r < 0)
                return r;

        do
                k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
        while (k->vm_fd < 0 && errno == EINTR);
        if (k->vm_fd < 0) {
                r = negative_errno();
                return err_set(r, "kvm: KVM_CREATE_VM failed: %s", strerror(-r));
        }
        /* Three pages that VMX needs below 4 GiB outside RAM; harmless elsewhere. */
        if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
                return err_set(negative_errno(), "kvm: KVM_SET_TSS_ADDR failed: %m");
        uint64_t identity = 0xfffbc000ULL;
        if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 && errno != ENOTTY && errno != EINVAL)
                return err_set(negative_errno(), "kvm: KVM_SET_IDENTITY_MAP_ADDR failed: %m");
        if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
                return err_set(negative_errno(), "kvm: KVM_CREATE_IRQCHIP failed: %m");
        if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
                return err_set(negative_errno(), "kvm: KVM_CREATE_PIT2 failed: %m");
        return routes_init(k);
}

void kvm_close(struct kvm *k)
{
        k->vm_fd = safe_close(k->vm_fd);
        k->sys_fd = safe_close(k->sys_fd);
        free(k->cpuid);
        free(k->msr_list);
        free(k->routes);
        k->cpuid = NULL;
        k->msr_list = NULL;
        k->routes = NULL;
        pthread_mutex_destroy(&k->routes_lock);
}

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
        struct kvm_userspace_memory_region m = {
                .slot = slot,
                .guest_phys_addr = gpa,
                .memory_size = size,
                .userspace_addr = (uint64_t)(uintptr_t)hva,
        };
        if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
                return err_set(negative_errno(), "kvm: cannot map guest memory at 0x%" PRIx64 ": %m", gpa);
        return 0;
}

int kvm_irq_line(struct kvm *k, uint32_t gsi, int level)
{
        struct kvm_irq_level l = {.irq = gsi, .level = (uint32_t)level};
        if (ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0)
                return negative_errno();
        return 0;
}

int kvm_msi_route_alloc(struct kvm *k, uint32_t *ret_gsi)
{
        pthread_mutex_lock(&k->routes_lock);
        if (k->routes->nr >= KVM_MAX_ROUTES) {
                pthread_mutex_unlock(&k->routes_lock);
                return -ENOSPC;
        }
        uint32_t gsi = k->next_gsi++;
        /* A masked-off MSI (address 0) until the guest programs the vector. */
        k->routes->entries[k->routes->nr++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_MSI,
                .u.msi = {.address_lo = 0xfee00000, .address_hi = 0, .data = 0},
        };
        pthread_mutex_unlock(&k->routes_lock);
        *ret_gsi = gsi;
        return 0;
}

int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data)
{
        int r = -ENOENT;

        pthread_mutex_lock(&k->routes_lock);
        for (uint32_t i = 0; i < k->routes->nr; i++) {
                struct kvm_irq_routing_entry *e = &k->routes->entries[i];
                if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
                        continue;
                e->u.msi.address_lo = (uint32_t)addr;
                e->u.msi.address_hi = (uint32_t)(addr >> 32);
                e->u.msi.data = data;
                r = ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, k->routes) < 0 ? negative_errno() : 0;
                break;
        }
        pthread_mutex_unlock(&k->routes_lock);
        return r;
}

int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, bool assign)
{
        struct kvm_irqfd f = {.fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN};
        if (ioctl(k->vm_fd, KVM_IRQFD, &f) < 0)
                return negative_errno();
        return 0;
}

int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
        struct kvm_ioeventfd e = {
                .addr = addr,
                .len = len,
                .fd = fd,
                .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
        };
        if (ioctl(k->vm_fd, KVM_IOEVENTFD, &e) < 0)
                return negative_errno();
        return 0;
}

int kvm_save(struct kvm *k, struct snap_buf *b)
{
        for (uint32_t chip = 0; chip < 3; chip++) {
                struct kvm_irqchip c = {.chip_id = chip};
                if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &c) < 0)
                        return err_set(negative_errno(), "kvm: KVM_GET_IRQCHIP failed: %m");
                snap_put_record(b, SNAP_IRQCHIP, chip, &c, sizeof(c));
        }
        struct kvm_pit_state2 pit = {};
        if (ioctl(k->vm_fd, KVM_GET_PIT2, &pit) < 0)
                return err_set(negative_errno(), "kvm: KVM_GET_PIT2 failed: %m");
        snap_put_record(b, SNAP_PIT2, 0, &pit, sizeof(pit));
        struct kvm_clock_data clock = {};
        if (ioctl(k->vm_fd, KVM_GET_CLOCK, &clock) < 0)
                return err_set(negative_errno(), "kvm: KVM_GET_CLOCK failed: %m");
        snap_put_record(b, SNAP_CLOCK, 0, &clock, sizeof(clock));
        return 0;
}

int kvm_restore(struct kvm *k, const struct snapshot *s)
{
        for (uint32_t chip = 0; chip < 3; chip++) {
                struct kvm_irqchip c = s->irqchip[chip];
                if (c.chip_id != chip)
                        return err_set(-EINVAL, "irqchip %u: the record names chip %u", chip, c.chip_id);
                if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &c) < 0)
                        return err_set(negative_errno(),
                                       "this host's KVM refuses the saved state "
                                       "(KVM_SET_IRQCHIP %u: %m)",
                                       chip);
        }
        if (ioctl(k->vm_fd, KVM_SET_PIT2, &s->pit) < 0)
                return err_set(negative_errno(),
                               "this host's KVM refuses the saved state (KVM_SET_PIT2: %m)");
        /* Only the clock value: the guest's time goes on from the snapshot, not the host's. */
        struct kvm_clock_data clock = {.clock = s->clock.clock};
        if (ioctl(k->vm_fd, KVM_SET_CLOCK, &clock) < 0)
                return err_set(negative_errno(),
                               "this host's KVM refuses the saved state (KVM_SET_CLOCK: %m)");
        return 0;
}
