/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm-seccomp.c - the syscall allow-lists of hull-vmm's threads (see vmm-seccomp.h).
 *
 * The lists are what glibc, the device models and the disk backends call on these
 * threads, found by running guests under strace -f with the filters in log mode. ioctl
 * is limited to the request numbers each thread uses: KVM_RUN is only needed on vCPU
 * threads, and neither thread may create VMs, vCPUs or memory slots once running.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm-seccomp.h"

#define A(name) SCMP_SYS(name)

static const int common_syscalls[] = {
        A(read),
        A(write),
        A(readv),
        A(writev),
        A(close),
        A(futex),
        A(rt_sigreturn),
        A(rt_sigprocmask),
        A(exit),
        A(exit_group),
        A(madvise),
        A(mmap),
        A(munmap),
        A(mremap),
        A(brk),
        A(mprotect),
        A(clock_gettime),
        A(clock_nanosleep),
        A(nanosleep),
        A(getpid),
        A(gettid),
        A(tgkill),
        A(sched_yield),
        A(getrandom),
        A(restart_syscall),
        A(fstat),
        A(newfstatat),
        A(lseek),
        A(timerfd_settime),
        A(sched_getaffinity),
        A(rseq),
        A(set_robust_list),
};

static const int io_syscalls[] = {
        A(epoll_wait),     A(epoll_pwait), A(epoll_ctl),   A(pread64), A(pwrite64),  A(preadv),
        A(pwritev),        A(preadv2),     A(pwritev2),    A(fsync),   A(fdatasync), A(fallocate),
        A(ftruncate),      A(accept4),     A(connect),     A(sendmsg), A(recvmsg),   A(sendto),
        A(recvfrom),       A(shutdown),    A(getsockopt),  A(fcntl),   A(unlink),    A(unlinkat),
        A(timerfd_create), A(eventfd2),    A(sigaltstack), A(munlock), A(poll),      A(ppoll),
        A(rt_sigaction),   A(wait4),       A(getsockname),
};

/*
 * A driver's DRIVER_OK or reset, written by a vCPU, starts or stops the device's I/O sources;
 * for a vhost-user device (vhost-user-fs.c) that is messages on its connected socket.
 */
static const int vcpu_syscalls[] = {
        A(epoll_ctl),
        A(sendmsg),
        A(recvmsg),
};

/*
 * Queues served on the vCPU thread (io=vcpu): a disk's requests go through the disk backends
 * (disk/), the guest's vsock packets to their Unix sockets (and socket() for Unix stream
 * sockets, below).
 */
static const int vcpu_io_syscalls[] = {
        A(pread64), A(pwrite64), A(preadv),  A(pwritev),   A(fdatasync), A(fsync),
        A(fallocate), A(ftruncate), A(connect), A(sendto), A(recvfrom), A(shutdown),
};

static const unsigned long vcpu_ioctls[] = {
        KVM_RUN,
        KVM_IRQ_LINE,
        KVM_SET_GSI_ROUTING,
        KVM_IOEVENTFD,
};

/* Writing a snapshot directory (snapshot.c) and reading the state of parked vCPUs and the VM. */
static const int snapshot_syscalls[] = {
        A(mkdir), A(openat), A(rename), A(rmdir), A(mincore),
};

static const unsigned long snapshot_ioctls[] = {
        KVM_GET_REGS,        KVM_GET_SREGS,     KVM_GET_XSAVE,    KVM_GET_XSAVE2,
        KVM_GET_FPU,         KVM_GET_XCRS,      KVM_GET_MSRS,     KVM_GET_LAPIC,
        KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_GET_MP_STATE, KVM_GET_TSC_KHZ,
        KVM_GET_IRQCHIP,     KVM_GET_PIT2,      KVM_GET_CLOCK,    KVM_SET_CLOCK,
};

/*
 * Opening a `late` disk's images (disk/: open, realpath() for the disk's serial), and the
 * seccomp() of vmm_seccomp_forbid_open() afterwards.
 */
static const int late_disk_syscalls[] = {
        A(openat),
        A(readlink),
        A(getcwd),
        A(seccomp),
};

static const unsigned long io_ioctls[] = {
        KVM_IRQ_LINE, KVM_SET_GSI_ROUTING, KVM_IOEVENTFD, KVM_IRQFD, TCSETS, TCGETS, FIONBIO, FIONREAD,
};

static int allow_list(scmp_filter_ctx ctx, const int *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, l[i], 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                /* The request is an unsigned int in the kernel: compare the low 32 bits only. */
                int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, (uint32_t)l[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

int vmm_seccomp_install(enum vmm_thread t)
{
        scmp_filter_ctx ctx;
        int r;

        if (t < 0 || t >= _VMM_THREAD_MAX)
                return -EINVAL;
        ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        if (!ctx)
                return -ENOMEM;
        r = allow_list(ctx, common_syscalls, ELEMENTSOF(common_syscalls));
        if (r >= 0 && (t == VMM_THREAD_VCPU || t == VMM_THREAD_VCPU_IO)) {
                r = allow_list(ctx, vcpu_syscalls, ELEMENTSOF(vcpu_syscalls));
                if (r >= 0)
                        r = allow_ioctls(ctx, vcpu_ioctls, ELEMENTSOF(vcpu_ioctls));
        }
        if (r >= 0 && t == VMM_THREAD_VCPU_IO)
                r = allow_list(ctx, vcpu_io_syscalls, ELEMENTSOF(vcpu_io_syscalls));
        if (r >= 0 && t == VMM_THREAD_IO_SNAPSHOT) {
                r = allow_list(ctx, snapshot_syscalls, ELEMENTSOF(snapshot_syscalls));
                if (r >= 0)
                        r = allow_ioctls(ctx, snapshot_ioctls, ELEMENTSOF(snapshot_ioctls));
        }
        /* The snapshot writer opens files anyway: it may open a late disk's images too. */
        if (r >= 0 && (t == VMM_THREAD_IO_LATE_DISKS || t == VMM_THREAD_IO_SNAPSHOT))
                r = allow_list(ctx, late_disk_syscalls, ELEMENTSOF(late_disk_syscalls));
        if (r >= 0 && (t == VMM_THREAD_IO || t == VMM_THREAD_IO_SNAPSHOT || t == VMM_THREAD_IO_LATE_DISKS)) {
                r = allow_list(ctx, io_syscalls, ELEMENTSOF(io_syscalls));
                if (r >= 0)
                        r = allow_ioctls(ctx, io_ioctls, ELEMENTSOF(io_ioctls));
        }
        /* vsock's guest-initiated connections: Unix stream sockets only. */
        if (r >= 0 && (t == VMM_THREAD_IO || t == VMM_THREAD_IO_SNAPSHOT || t == VMM_THREAD_IO_LATE_DISKS ||
                       t == VMM_THREAD_VCPU_IO))
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

int vmm_seccomp_forbid_open(void)
{
        /* Four syscall numbers to refuse, everything else to the filter below: no libseccomp needed. */
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 3, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_readlink, 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getcwd, 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = ELEMENTSOF(f), .filter = f};

        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return -errno;
        return 0;
}
