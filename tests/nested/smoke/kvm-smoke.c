/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm-smoke.c - proves that /dev/kvm works inside the nested test host (L1).
 *
 * Runs a 16-bit real-mode guest of a few bytes that writes a byte to an I/O
 * port and halts, and checks that KVM reports exactly those two exits. It uses
 * nothing but the KVM API (Documentation/virt/kvm/api.rst: KVM_CREATE_VM,
 * KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU, KVM_RUN), is linked statically
 * (the L1 initramfs has no C library of its own) and prints one line per step
 * so that a failure shows where it stopped. Exit status 0 when the guest ran
 * as expected, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_BASE 0x1000
#define SMOKE_PORT 0x10
#define SMOKE_BYTE 0x42

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The step in progress, printed if the watchdog fires: a hang must say where it hung. */
static const char *volatile step = "start";

static void watchdog(int sig)
{
        (void)sig;
        char msg[128];
        int n = snprintf(msg, sizeof(msg), "kvm-smoke: timed out in %s\n", step);
        if (n > 0)
                (void)!write(STDOUT_FILENO, msg, (size_t)n);
        _exit(3);
}

static int fail(const char *what)
{
        printf("kvm-smoke: %s: %s\n", what, strerror(errno));
        return 1;
}

int main(void)
{
        /* mov al, 0x42; out 0x10, al; hlt */
        static const uint8_t code[] = {0xb0, SMOKE_BYTE, 0xe6, SMOKE_PORT, 0xf4};
        double t0 = now_ms();
        signal(SIGALRM, watchdog);
        alarm(60);
        step = "open /dev/kvm";
        int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (kvm < 0)
                return fail("open /dev/kvm");
        int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
        if (api != KVM_API_VERSION) {
                printf("kvm-smoke: KVM_GET_API_VERSION is %d, expected %d\n", api, KVM_API_VERSION);
                return 1;
        }
        printf("kvm-smoke: api %d, max vcpus %d, irqchip %d\n", api,
               ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS),
               ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP));
        step = "KVM_CREATE_VM";
        int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0)
                return fail("KVM_CREATE_VM");
        uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
                return fail("mmap guest memory");
        memcpy(mem, code, sizeof(code));
        struct kvm_userspace_memory_region region = {
                .slot = 0,
                .guest_phys_addr = GUEST_BASE,
                .memory_size = 0x1000,
                .userspace_addr = (uintptr_t)mem,
        };
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
                return fail("KVM_SET_USER_MEMORY_REGION");
        step = "KVM_CREATE_VCPU";
        int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
        if (vcpu < 0)
                return fail("KVM_CREATE_VCPU");
        int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (run_size < (int)sizeof(struct kvm_run))
                return fail("KVM_GET_VCPU_MMAP_SIZE");
        struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        if (run == MAP_FAILED)
                return fail("mmap kvm_run");

        struct kvm_sregs sregs;
        if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
                return fail("KVM_GET_SREGS");
        /* Real mode: CS base 0, so that IP is the guest physical address. */
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
                return fail("KVM_SET_SREGS");
        struct kvm_regs regs = {.rip = GUEST_BASE, .rflags = 0x2};
        if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
                return fail("KVM_SET_REGS");

        step = "KVM_RUN";
        int saw_out = 0;
        for (int i = 0; i < 16; i++) {
                if (ioctl(vcpu, KVM_RUN, 0) < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail("KVM_RUN");
                }
                switch (run->exit_reason) {
                case KVM_EXIT_IO: {
                        uint8_t v = *((uint8_t *)run + run->io.data_offset);
                        printf("kvm-smoke: exit io dir %s port 0x%x size %u value 0x%x\n",
                               run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port,
                               run->io.size, v);
                        if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != SMOKE_PORT ||
                            run->io.size != 1 || v != SMOKE_BYTE) {
                                printf("kvm-smoke: unexpected port I/O\n");
                                return 1;
                        }
                        saw_out = 1;
                        break;
                }
                case KVM_EXIT_HLT:
                        printf("kvm-smoke: exit hlt after %.1f ms\n", now_ms() - t0);
                        if (!saw_out) {
                                printf("kvm-smoke: halted before the port write\n");
                                return 1;
                        }
                        printf("kvm-smoke: ok\n");
                        return 0;
                default:
                        printf("kvm-smoke: unexpected exit reason %u\n", run->exit_reason);
                        return 1;
                }
        }
        printf("kvm-smoke: the guest did not halt\n");
        return 1;
}
