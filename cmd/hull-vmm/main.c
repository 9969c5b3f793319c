/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-vmm - boot a Linux kernel in a KVM microVM.
 *
 * Thin by design: parse the options into a struct vm_config, build the machine with
 * vm_create(), run it with vm_run(), and turn its end into the exit code documented
 * in --help (vm.h, enum vm_exit). Errors are reported here, once, with what was being
 * done and the library's detail message.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <sys/socket.h>

#include "hull-build.h"
#include "error.h"
#include "log.h"
#include "util.h"
#include "vm-config.h"
#include "vm.h"

#define DEFAULT_MEMORY   (256ULL << 20)
#define DEFAULT_GRACE_MS 5000

static const char help_text[] =
        "Usage: hull-vmm --kernel PATH [OPTIONS]\n"
        "       hull-vmm --restore DIR [OPTIONS]\n"
        "\n"
        "Boot a Linux kernel (bzImage, or ELF vmlinux with or without a PVH note) in a KVM\n"
        "virtual machine with virtio devices on PCI.\n"
        "\n"
        "Options:\n"
        "  --kernel PATH              kernel image (required unless --restore)\n"
        "  --initrd PATH              initial ramdisk\n"
        "  --cmdline STR              kernel command line (default \"console=ttyS0\")\n"
        "  --cpus N                   vCPUs, 1-254 (default 1)\n"
        "  --memory SIZE              guest RAM, e.g. 256M, 1G (default 256M)\n"
        "  --disk PATH[,ro][,direct][,format=raw|qcow2|vhd][,io=thread|vcpu][,late]\n"
        "                             a virtio-blk disk (repeatable; format detected if not given;\n"
        "                             io=vcpu: requests served on the vCPU thread that notified;\n"
        "                             late: empty until the API's attach-disks opens PATH)\n"
        "  --net tap=NAME[,mac=MAC]   a virtio-net device on an existing tap device (repeatable)\n"
        "  --net fd=N[,mac=MAC]       the same on a tap opened by the caller and inherited as fd N\n"
        "  --vsock cid=N,uds=PATH[,io=thread|vcpu]\n"
        "                             a virtio-vsock device; the host connects to PATH and sends\n"
        "                             \"CONNECT <port>\\n\"; guest connections to port P reach PATH_P\n"
        "  --fs socket=PATH,tag=TAG   a virtio-fs device served by the vhost-user backend listening\n"
        "                             at PATH (virtiofsd); the guest mounts it by TAG (repeatable)\n"
        "  --serial stdio|file=PATH|none\n"
        "                             where the COM1 console goes (default stdio)\n"
        "  --api-sock PATH|fd=N       JSON control socket (status, pause, resume, attach-disks,\n"
        "                             shutdown); fd=N: a listening Unix socket inherited as fd N\n"
        "  --snapshot-at-connect PORT,dir=DIR\n"
        "                             make a template: disks show capacity 0 until, when the guest\n"
        "                             first connects to host vsock port PORT, the VM is snapshotted\n"
        "                             into DIR (kept if DIR already exists); then disks get their\n"
        "                             size and the connection goes on to PATH_PORT\n"
        "  --restore DIR              start from a snapshot instead of --kernel/--initrd/--cmdline:\n"
        "                             same --cpus, --memory and devices in the same order, with\n"
        "                             this command line's disks, taps and sockets; the guest's\n"
        "                             pending connection goes on to PATH_PORT\n"
        "  --no-rng                   no virtio-rng device\n"
        "  --shutdown-grace MS        after SIGTERM or an API shutdown, how long the guest has to\n"
        "                             power off after the ACPI power button (default 5000)\n"
        "  --no-seccomp               do not install the per-thread seccomp filters\n"
        "  --kvm PATH                 KVM device (default /dev/kvm)\n"
        "  --debug                    log debug messages to stderr\n"
        "  -h, --help                 show this help\n"
        "  --version                  show the version\n"
        "\n"
        "Exit status:\n"
        "  0    the guest powered off\n"
        "  1    the guest asked for a reboot\n"
        "  2    the guest crashed (triple fault, or KVM could not run it)\n"
        "  3    stopped from outside: the grace time after SIGTERM/shutdown ran out\n"
        "  125  hull-vmm failed (bad arguments, no KVM, unreadable kernel...)\n";

enum {
        OPT_KERNEL = 0x100,
        OPT_INITRD,
        OPT_CMDLINE,
        OPT_CPUS,
        OPT_MEMORY,
        OPT_DISK,
        OPT_NET,
        OPT_VSOCK,
        OPT_FS,
        OPT_SERIAL,
        OPT_API_SOCK,
        OPT_NO_RNG,
        OPT_GRACE,
        OPT_NO_SECCOMP,
        OPT_KVM,
        OPT_DEBUG,
        OPT_VERSION,
        OPT_SNAPSHOT_AT_CONNECT,
        OPT_RESTORE,
};

static const struct option options[] = {
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"initrd", required_argument, NULL, OPT_INITRD},
        {"cmdline", required_argument, NULL, OPT_CMDLINE},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"disk", required_argument, NULL, OPT_DISK},
        {"net", required_argument, NULL, OPT_NET},
        {"vsock", required_argument, NULL, OPT_VSOCK},
        {"fs", required_argument, NULL, OPT_FS},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"api-sock", required_argument, NULL, OPT_API_SOCK},
        {"no-rng", no_argument, NULL, OPT_NO_RNG},
        {"shutdown-grace", required_argument, NULL, OPT_GRACE},
        {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
        {"kvm", required_argument, NULL, OPT_KVM},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"snapshot-at-connect", required_argument, NULL, OPT_SNAPSHOT_AT_CONNECT},
        {"restore", required_argument, NULL, OPT_RESTORE},
        {},
};

static int set_string(char **dst, const char *v)
{
        char *s = strdup(v);
        if (!s)
                return -ENOMEM;
        free(*dst);
        *dst = s;
        return 0;
}

static int parse_args(int argc, char **argv, struct vm_config *c)
{
        int opt, r = 0;

        *c = (struct vm_config){
                .cpus = 1,
                .memory = DEFAULT_MEMORY,
                .serial = SERIAL_MODE_STDIO,
                .rng = true,
                .seccomp = true,
                .shutdown_grace_ms = DEFAULT_GRACE_MS,
        };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (opt) {
                case OPT_KERNEL:
                        r = set_string(&c->kernel, optarg);
                        break;
                case OPT_INITRD:
                        r = set_string(&c->initrd, optarg);
                        break;
                case OPT_CMDLINE:
                        r = set_string(&c->cmdline, optarg);
                        break;
                case OPT_CPUS: {
                        uint32_t n;
                        if (parse_u32(optarg, &n) < 0 || n == 0 || n > 254)
                                return err_set(-EINVAL, "--cpus: expected a number from 1 to 254, got '%s'",
                                               optarg);
                        c->cpus = n;
                        break;
                }
                case OPT_MEMORY:
                        if (parse_size(optarg, &c->memory) < 0)
                                return err_set(-EINVAL,
                                               "--memory: expected a size such as 256M or 1G, got '%s'",
                                               optarg);
                        break;
                case OPT_DISK: {
                        struct vm_disk_config d;
                        r = vm_config_parse_disk(optarg, &d);
                        if (r < 0)
                                return r;
                        struct vm_disk_config *n = realloc(c->disks, (c->n_disks + 1) * sizeof(*n));
                        if (!n) {
                                vm_disk_config_done(&d);
                                return -ENOMEM;
                        }
                        c->disks = n;
                        c->disks[c->n_disks++] = d;
                        break;
                }
                case OPT_NET: {
                        struct vm_net_config nc;
                        r = vm_config_parse_net(optarg, &nc);
                        if (r < 0)
                                return r;
                        /* Checked before hull-vmm opens anything that could take the number. */
                        if (nc.tap_fd >= 0 && fcntl(nc.tap_fd, F_SETFD, FD_CLOEXEC) < 0)
                                return err_set(-EBADF, "--net: fd %d is not open (it must be inherited)",
                                               nc.tap_fd);
                        struct vm_net_config *n = realloc(c->nets, (c->n_nets + 1) * sizeof(*n));
                        if (!n) {
                                vm_net_config_done(&nc);
                                return -ENOMEM;
                        }
                        c->nets = n;
                        c->nets[c->n_nets++] = nc;
                        break;
                }
                case OPT_VSOCK:
                        if (c->has_vsock)
                                return err_set(-EINVAL, "--vsock: only one vsock device is supported");
                        r = vm_config_parse_vsock(optarg, &c->vsock_cid, &c->vsock_uds, &c->vsock_io_vcpu);
                        if (r < 0)
                                return r;
                        c->has_vsock = true;
                        break;
                case OPT_FS: {
                        struct vm_fs_config fc;
                        r = vm_config_parse_fs(optarg, &fc);
                        if (r < 0)
                                return r;
                        struct vm_fs_config *n = realloc(c->fs, (c->n_fs + 1) * sizeof(*n));
                        if (!n) {
                                vm_fs_config_done(&fc);
                                return -ENOMEM;
                        }
                        c->fs = n;
                        c->fs[c->n_fs++] = fc;
                        break;
                }
                case OPT_SERIAL:
                        free(c->serial_path);
                        c->serial_path = NULL;
                        r = vm_config_parse_serial(optarg, &c->serial, &c->serial_path);
                        break;
                case OPT_API_SOCK: {
                        int fd, v = 0, dom = 0, type = 0;
                        socklen_t l = sizeof(v);
                        if ((r = vm_config_parse_api_sock(optarg, &fd)) < 0)
                                return r;
                        /* Checked before hull-vmm opens anything that could take the number. */
                        if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                                return err_set(-EBADF,
                                               "--api-sock: fd %d is not open (it must be inherited)", fd);
                        if (fd >= 0 &&
                            (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v ||
                             getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_UNIX ||
                             getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM))
                                return err_set(-EINVAL,
                                               "--api-sock fd=%d: not a listening Unix stream socket", fd);
                        r = set_string(&c->api_sock, optarg);
                        break;
                }
                case OPT_NO_RNG:
                        c->rng = false;
                        break;
                case OPT_GRACE:
                        if (parse_u32(optarg, &c->shutdown_grace_ms) < 0)
                                return err_set(-EINVAL, "--shutdown-grace: expected milliseconds, got '%s'",
                                               optarg);
                        break;
                case OPT_NO_SECCOMP:
                        c->seccomp = false;
                        break;
                case OPT_KVM:
                        r = set_string(&c->kvm_path, optarg);
                        break;
                case OPT_SNAPSHOT_AT_CONNECT:
                        free(c->snapshot_dir);
                        c->snapshot_dir = NULL;
                        r = vm_config_parse_snapshot(optarg, &c->snapshot_port, &c->snapshot_dir);
                        break;
                case OPT_RESTORE:
                        r = set_string(&c->restore_dir, optarg);
                        break;
                case OPT_DEBUG:
                        log_set_level(LOG_LEVEL_DEBUG);
                        break;
                case 'h':
                        fputs(help_text, stdout);
                        return 1;
                case OPT_VERSION:
                        printf("hull-vmm %s\n", HULL_VERSION);
                        return 1;
                default:
                        return err_set(-EINVAL, "invalid arguments (see hull-vmm --help)");
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return err_set(-EINVAL, "unexpected argument '%s' (see hull-vmm --help)", argv[optind]);
        if (!c->cmdline && !c->restore_dir) {
                r = set_string(&c->cmdline, "console=ttyS0");
                if (r < 0)
                        return r;
        }
        return vm_config_check(c);
}

int main(int argc, char **argv)
{
        struct vm_config c = {};
        struct vm *vm = NULL;
        int r;

        log_set_program("hull-vmm");
        /*
         * One malloc arena: the vCPU threads allocate next to nothing, and a per-thread
         * arena is a 64 MiB reservation that a host with transparent huge pages "always"
         * backs with 2 MiB pages at its first use (VMM memory overhead, docs/benchmarks.md).
         */
        mallopt(M_ARENA_MAX, 1);
        r = parse_args(argc, argv, &c);
        if (r != 0) {
                vm_config_done(&c);
                if (r > 0)
                        return 0;
                log_error("%s", err_msg(r));
                return VM_EXIT_ERROR;
        }
        r = vm_create(&c, &vm);
        if (r < 0) {
                log_error("cannot create the VM: %s", err_msg(r));
                vm_config_done(&c);
                return VM_EXIT_ERROR;
        }
        r = vm_run(vm);
        vm_free(vm);
        vm_config_done(&c);
        return r;
}
