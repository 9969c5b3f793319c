/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-vm.c - the parts of hull's VM support that need no VM: the config disk's document
 * (vmconf), the exec protocol's framing (vmx), the VM spec's JSON and option parsing, the
 * VMM backends' command lines and exit mapping, restart policies, NIC hot-plug against a QMP
 * server played by a child process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "util.h"
#include "vm-exec-proto.h"
#include "vm-internal.h"
#include "vmconf.h"
#include "vmm-backend.h"

#include "test.h"

TEST(vmconf_roundtrip)
{
        char *keys[] = {(char *)"ssh-ed25519 AAAA a@b", (char *)"ssh-rsa BBBB c\\d", NULL};
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo 'a b'\nexit 3", NULL};
        char *env[] = {(char *)"A=1", (char *)"B=x y", NULL};
        char *mounts[] = {(char *)"/dev/vdc /data", NULL};
        char *nics[] = {(char *)"02:42:0a:00:00:02 10.0.0.2/24", (char *)"02:42:0a:01:00:07 10.1.0.7/16",
                        NULL};
        struct vmconf c = {.hostname = (char *)"h1",
                           .ssh_keys = keys,
                           .argv = argv,
                           .env = env,
                           .workdir = (char *)"/w",
                           .user = (char *)"1000:1000",
                           .ip = (char *)"10.0.0.2/24",
                           .gateway = (char *)"10.0.0.1",
                           .nics = nics,
                           .resolv_conf = (char *)"search dns.hull\nnameserver 10.0.0.1\n",
                           .hosts = (char *)"127.0.0.1\tlocalhost\n10.0.0.2\th1\n",
                           .user_data = (char *)"#!/bin/sh\necho \\ hi\n",
                           .mounts = mounts,
                           .root_fstype = (char *)"ext4"};
        struct vmconf d = {};
        _cleanup_free_ char *buf = NULL;
        size_t n;

        ASSERT_OK(vmconf_format(&c, &buf, &n));
        ASSERT_EQ(n % 4096, 0);
        ASSERT_TRUE(memcmp(buf, VMCONF_MAGIC, strlen(VMCONF_MAGIC)) == 0);
        ASSERT_OK(vmconf_parse(buf, n, &d));
        ASSERT_STREQ(d.hostname, "h1");
        ASSERT_EQ(strv_length(d.ssh_keys), 2);
        ASSERT_STREQ(d.ssh_keys[1], "ssh-rsa BBBB c\\d");
        ASSERT_EQ(strv_length(d.argv), 3);
        ASSERT_STREQ(d.argv[2], "echo 'a b'\nexit 3");
        ASSERT_STREQ(d.env[1], "B=x y");
        ASSERT_STREQ(d.workdir, "/w");
        ASSERT_STREQ(d.user, "1000:1000");
        ASSERT_STREQ(d.ip, "10.0.0.2/24");
        ASSERT_STREQ(d.gateway, "10.0.0.1");
        ASSERT_EQ(strv_length(d.nics), 2);
        ASSERT_STREQ(d.nics[1], "02:42:0a:01:00:07 10.1.0.7/16");
        ASSERT_STREQ(d.resolv_conf, "search dns.hull\nnameserver 10.0.0.1\n");
        ASSERT_STREQ(d.hosts, "127.0.0.1\tlocalhost\n10.0.0.2\th1\n");
        ASSERT_STREQ(d.user_data, "#!/bin/sh\necho \\ hi\n");
        ASSERT_STREQ(d.mounts[0], "/dev/vdc /data");
        ASSERT_STREQ(d.root_fstype, "ext4");
        ASSERT_TRUE(d.dns == NULL);
        vmconf_done(&d);
}

TEST(vmconf_rejects)
{
        static const char *const bad[] = {
                "HULLCFG2\nhostname a\n\n",  /* wrong magic */
                "HULLCFG1\nhostname\n\n",    /* no value */
                "HULLCFG1\nhostname a\\x\n", /* unknown escape */
                "HULLCFG1\nhostname a\\",    /* dangling escape, no newline */
                "HULLCFG1\nhostname a",      /* truncated */
        };
        struct vmconf c = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_TRUE(vmconf_parse(bad[i], strlen(bad[i]), &c) < 0);
        ASSERT_ERR(vmconf_parse("HULL", 4, &c), -EBADMSG);
        /* Unknown keys are skipped: a newer host's document still boots. */
        static const char fine[] = "HULLCFG1\nfuture_key x\nhostname b\n\nignored after the end";
        ASSERT_OK(vmconf_parse(fine, sizeof(fine) - 1, &c));
        ASSERT_STREQ(c.hostname, "b");
        vmconf_done(&c);
}

TEST(vmx_frames_across_reads)
{
        static struct vmx_reader rd;
        const uint8_t *p;
        uint32_t len;
        char type;
        int sp[2];

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
        ASSERT_OK(vmx_send_str(sp[0], VMX_ARG, "echo"));
        ASSERT_OK(vmx_send(sp[0], VMX_RUN, NULL, 0));
        /* One frame split over two reads. */
        ASSERT_OK(write_all(sp[0], "o\x03\x00", 3));
        ASSERT_TRUE(vmx_fill(&rd, sp[1]) > 0);
        ASSERT_EQ(vmx_next(&rd, &type, &p, &len), 1);
        ASSERT_EQ(type, VMX_ARG);
        ASSERT_EQ(len, 4);
        ASSERT_TRUE(memcmp(p, "echo", 4) == 0);
        ASSERT_EQ(vmx_next(&rd, &type, &p, &len), 1);
        ASSERT_EQ(type, VMX_RUN);
        ASSERT_EQ(len, 0);
        ASSERT_EQ(vmx_next(&rd, &type, &p, &len), 0);
        ASSERT_OK(write_all(sp[0], "\x00\x00hi!", 5));
        ASSERT_TRUE(vmx_fill(&rd, sp[1]) > 0);
        ASSERT_EQ(vmx_next(&rd, &type, &p, &len), 1);
        ASSERT_EQ(type, VMX_STDOUT);
        ASSERT_TRUE(len == 3 && memcmp(p, "hi!", 3) == 0);
        /* A length over the limit is refused, not allocated. */
        ASSERT_OK(write_all(sp[0], "o\xff\xff\xff\x7f", 5));
        ASSERT_TRUE(vmx_fill(&rd, sp[1]) > 0);
        ASSERT_ERR(vmx_next(&rd, &type, &p, &len), -EBADMSG);
        close(sp[0]);
        close(sp[1]);
}

TEST(vmx_skip_to_hello)
{
        static struct vmx_reader rd;
        uint8_t h[VMX_HEADER];
        const uint8_t *p;
        uint32_t len;
        char type;
        int sp[2];

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
        /* Bytes of an abandoned session, then half a HELLO. */
        ASSERT_OK(write_all(sp[0], "garbage\xffo\x01", 10));
        vmx_header(h, VMX_HELLO, 6);
        ASSERT_OK(write_all(sp[0], h, sizeof(h)));
        ASSERT_OK(write_all(sp[0], "HUL", 3));
        ASSERT_TRUE(vmx_fill(&rd, sp[1]) > 0);
        ASSERT_FALSE(vmx_skip_to_hello(&rd));
        ASSERT_EQ(rd.len, VMX_HEADER + 3); /* the partial HELLO is kept */
        ASSERT_OK(write_all(sp[0], "LX1", 3));
        ASSERT_OK(vmx_send_str(sp[0], VMX_ARG, "x"));
        ASSERT_TRUE(vmx_fill(&rd, sp[1]) > 0);
        ASSERT_TRUE(vmx_skip_to_hello(&rd));
        ASSERT_EQ(vmx_next(&rd, &type, &p, &len), 1);
        ASSERT_EQ(type, VMX_HELLO);
        ASSERT_EQ(vmx_next(&rd, &type, &p, &len), 1);
        ASSERT_EQ(type, VMX_ARG);
        close(sp[0]);
        close(sp[1]);
}

TEST(vmx_parse_mac)
{
        uint8_t m[6];

        ASSERT_OK(vmx_parse_mac("02:42:0a:61:00:Fe", m));
        ASSERT_TRUE(m[0] == 0x02 && m[2] == 0x0a && m[5] == 0xfe);
        static const char *const bad[] = {"",
                                          "02:42:0a:61:00",
                                          "02:42:0a:61:00:fe:",
                                          "02:42:0a:61:00:fe ",
                                          "02-42-0a-61-00-fe",
                                          "2:42:0a:61:00:fe0",
                                          "02:42:0a:61:00:g0"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERR(vmx_parse_mac(bad[i], m), -EINVAL);
}

TEST(nic_hotplug_refused_by_hull_vmm)
{
        _cleanup_strv_free_ char **argv = NULL;

        ASSERT_OK(strv_extend(&argv, "hull-vmm"));
        ASSERT_OK(vmm_backend_nic_hotplug(VMM_QEMU));
        ASSERT_ERR(vmm_backend_nic_hotplug(VMM_HULL), -EOPNOTSUPP);
        err_clear();
        ASSERT_ERR(vmm_backend_nic_plug(VMM_HULL, "/nonexistent", &argv, "ht0", "02:42:0a:61:00:05"),
                   -EOPNOTSUPP);
        ASSERT_CONTAINS(err_msg(-EOPNOTSUPP), "hull-vmm");
        ASSERT_CONTAINS(err_msg(-EOPNOTSUPP), "next start");
        err_clear();
        ASSERT_ERR(vmm_backend_nic_unplug(VMM_HULL, "/nonexistent", &argv, "ht0", 10), -EOPNOTSUPP);
        err_clear();
        ASSERT_TRUE(strv_length(argv) == 1);
}

TEST(vm_spec_json_roundtrip)
{
        _cleanup_(vm_spec_done) struct vm_spec s = {}, t = {};
        _cleanup_free_ char *json = NULL, *again = NULL;

        s.image = strdup("busybox");
        s.cpus = 2;
        s.memory = 256ULL << 20;
        s.restart = strdup("on-failure:3");
        ASSERT_OK(strv_extend(&s.conf.argv, "sleep"));
        ASSERT_OK(strv_extend(&s.conf.ssh_keys, "ssh-ed25519 K"));
        ASSERT_OK(vm_spec_add_volume(&s, "data:/data,size=64M"));
        ASSERT_OK(vm_spec_add_disk(&s, "/dev/null:/mnt,ro,format=raw"));
        ASSERT_TRUE((s.net = runspec_new()) != NULL);
        ASSERT_OK(runspec_add_network(s.net, "web"));
        ASSERT_TRUE((s.net->networks[0].ip = strdup("10.89.0.7")) != NULL);
        ASSERT_OK(strv_extend(&s.net->publish, "8080:80"));
        ASSERT_OK(vm_spec_to_json(&s, &json));
        ASSERT_OK(vm_spec_from_json(json, &t));
        ASSERT_OK(vm_spec_to_json(&t, &again));
        ASSERT_STREQ(json, again);
        ASSERT_EQ(t.cpus, 2);
        ASSERT_EQ(t.n_volumes, 1);
        ASSERT_EQ(t.volumes[0].size, 64ULL << 20);
        ASSERT_STREQ(t.volumes[0].mount, "/data");
        ASSERT_EQ(t.n_disks, 1);
        ASSERT_TRUE(t.disks[0].readonly);
        ASSERT_STREQ(t.disks[0].mount, "/mnt");
        ASSERT_STREQ(t.conf.argv[0], "sleep");
        ASSERT_TRUE(runspec_is_bridged(t.net));
        ASSERT_EQ(t.net->n_networks, 1);
        ASSERT_STREQ(t.net->networks[0].name, "web");
        ASSERT_STREQ(t.net->networks[0].ip, "10.89.0.7");
        ASSERT_STREQ(t.net->publish[0], "8080:80");
}

TEST(vm_spec_before_networks)
{
        /* Rows of a hull whose VMs took --network none only (or said nothing) stay on none. */
        const char *const old[] = {"{\"image\":\"bb\",\"network\":\"none\"}", "{\"image\":\"bb\"}"};

        for (size_t i = 0; i < ELEMENTSOF(old); i++) {
                _cleanup_(vm_spec_done) struct vm_spec t = {};
                ASSERT_OK(vm_spec_from_json(old[i], &t));
                ASSERT_TRUE(t.net != NULL && !runspec_is_bridged(t.net));
                ASSERT_STREQ(t.net->network, "none");
        }
}

TEST(vm_spec_option_errors)
{
        _cleanup_(vm_spec_done) struct vm_spec s = {};

        ASSERT_ERR(vm_spec_add_volume(&s, "data"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "NAME:/MOUNT");
        ASSERT_ERR(vm_spec_add_volume(&s, "a/b:/x"), -EINVAL);
        ASSERT_ERR(vm_spec_add_volume(&s, "d:relative"), -EINVAL);
        ASSERT_ERR(vm_spec_add_volume(&s, "d:/x,size=1k"), -EINVAL);
        ASSERT_ERR(vm_spec_add_disk(&s, "/dev/null,format=vmdk"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "vmdk");
        ASSERT_ERR(vm_spec_add_disk(&s, "/dev/null,bogus"), -EINVAL);
        ASSERT_ERR(vm_spec_add_disk(&s, "/dev/null:../x"), -EINVAL);
        ASSERT_ERR(vm_spec_add_disk(&s, "/no/such/disk"), -ENOENT);
        ASSERT_EQ(s.n_disks + s.n_volumes, 0);
}

TEST(restart_policies)
{
        bool always;
        unsigned max;

        ASSERT_OK(vm_restart_parse("no", &always, &max));
        ASSERT_TRUE(!always && max == 0);
        ASSERT_OK(vm_restart_parse("always", &always, &max));
        ASSERT_TRUE(always);
        ASSERT_OK(vm_restart_parse("unless-stopped", &always, &max));
        ASSERT_TRUE(always);
        ASSERT_OK(vm_restart_parse("on-failure:5", &always, &max));
        ASSERT_TRUE(!always && max == 5);
        ASSERT_OK(vm_restart_parse("on-failure", &always, &max));
        ASSERT_TRUE(max == UINT32_MAX);
        ASSERT_ERR(vm_restart_parse("on-failure:0", NULL, NULL), -EINVAL);
        ASSERT_ERR(vm_restart_parse("sometimes", NULL, NULL), -EINVAL);
}

static bool has_arg(char **argv, const char *a)
{
        return strv_contains(argv, a);
}

TEST(qemu_command_line)
{
        struct vmm_spec s = {.dir = "/r/vms/x",
                             .kernel = "/k",
                             .initrd = "/i",
                             .cmdline = "console=ttyS0",
                             .cpus = 2,
                             .memory = 512ULL << 20,
                             .exec_channel = true,
                             .n_disks = 2,
                             .taps = {"ht0123456789ab", "ht0123456789-1"},
                             .macs = {"02:42:0a:59:00:05", NULL},
                             .n_nics = 2};
        struct vmm_choice tcg = {.kind = VMM_QEMU, .kvm = false};
        _cleanup_strv_free_ char **a = NULL;

        s.disks[0] = (struct vmm_disk){.path = "/r/root.qcow2", .format = DISK_FORMAT_QCOW2};
        s.disks[1] = (struct vmm_disk){.path = "/r/c.vhd", .format = DISK_FORMAT_VHD, .readonly = true};
        ASSERT_OK(vmm_backend_argv(&tcg, &s, NULL, &a));
        ASSERT_STREQ(a[0], "qemu-system-x86_64");
        /* q35 and tcg: never microvm under TCG (MACHINE.md). */
        ASSERT_TRUE(has_arg(a, "q35") && has_arg(a, "tcg") && !has_arg(a, "host") &&
                    has_arg(a, "-no-reboot"));
        ASSERT_TRUE(has_arg(a, "512M") && has_arg(a, "2"));
        ASSERT_TRUE(has_arg(a, "file=/r/root.qcow2,if=none,id=disk0,format=qcow2,cache=writeback"));
        ASSERT_TRUE(has_arg(a, "file=/r/c.vhd,if=none,id=disk1,format=vpc,cache=writeback,readonly=on"));
        ASSERT_TRUE(has_arg(a, "virtio-blk-pci,drive=disk1,addr=0x11"));
        ASSERT_TRUE(has_arg(a, "unix:" VMM_SOCK ",server=on,wait=off"));
        ASSERT_TRUE(has_arg(a, "socket,id=exec,path=" VMM_EXEC_SOCK ",server=on,wait=off"));
        /* A VM on a hull network: the engine's persistent tap, no helper scripts (vm-net.c). */
        ASSERT_TRUE(has_arg(a, "tap,id=nd-ht0123456789ab,ifname=ht0123456789ab,script=no,downscript=no"));
        /* Each NIC behind a root port of its own (unpluggable), ports in slots 0x08 up. */
        ASSERT_TRUE(has_arg(a, "pcie-root-port,id=np0,bus=pcie.0,addr=0x8,chassis=1"));
        ASSERT_TRUE(has_arg(a, "virtio-net-pci,id=nic-ht0123456789ab,netdev=nd-ht0123456789ab,bus=np0,mac="
                               "02:42:0a:59:00:05"));
        /* A second network: its own tap, the next port (the guest's eth1). */
        ASSERT_TRUE(has_arg(a, "tap,id=nd-ht0123456789-1,ifname=ht0123456789-1,script=no,downscript=no"));
        ASSERT_TRUE(has_arg(a, "pcie-root-port,id=np1,bus=pcie.0,addr=0x9,chassis=2"));
        ASSERT_TRUE(has_arg(a, "virtio-net-pci,id=nic-ht0123456789-1,netdev=nd-ht0123456789-1,bus=np1"));
        /* The spare root ports of NIC hot-plug, slots 0x04 to 0x07. */
        for (int i = 0; i < VMM_HOTPLUG_PORTS; i++) {
                char port[64];
                snprintf(port, sizeof(port), "pcie-root-port,id=hp%d,bus=pcie.0,addr=0x%x,chassis=%d", i,
                         4 + i, 16 + i);
                ASSERT_TRUE(has_arg(a, port));
        }
        strv_free(TAKE_PTR(a));

        /* A firmware boot: no -kernel, the first disk boots. */
        s.kernel = NULL;
        s.disks[0].path = "/a,b";
        ASSERT_ERR(vmm_backend_argv(&tcg, &s, NULL, &a), -EINVAL);
        s.disks[0].path = "/boot.img";
        ASSERT_OK(vmm_backend_argv(&tcg, &s, NULL, &a));
        ASSERT_FALSE(has_arg(a, "-kernel"));
        ASSERT_TRUE(has_arg(a, "virtio-blk-pci,drive=disk0,addr=0x10,bootindex=0"));
}

/*
 * QEMU's side of QMP, as far as NIC hot-plug uses it: the greeting, a return for each command, the
 * DEVICE_DELETED event after device_del (unless release is false: a guest that ignores the unplug),
 * DeviceNotFound for device_del of "nic-gone".
 */
static _noreturn_ void fake_qmp(int listen_fd, bool release)
{
        for (;;) {
                int c = accept(listen_fd, NULL, NULL);
                FILE *f = c >= 0 ? fdopen(c, "r+") : NULL;
                char line[4096];

                if (!f)
                        _exit(1);
                setvbuf(f, NULL, _IONBF, 0);
                fprintf(f, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
                while (fgets(line, sizeof(line), f)) {
                        if (strstr(line, "device_del") && strstr(line, "nic-gone"))
                                fprintf(f, "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
                                           "\"no\"}}\r\n");
                        else
                                fprintf(f, "{\"return\": {}}\r\n");
                        const char *id = strstr(line, "nic-");
                        if (strstr(line, "device_del") && release && id)
                                fprintf(f,
                                        "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": "
                                        "\"%.*s\"}}\r\n",
                                        (int)strcspn(id, "\""), id);
                }
                fclose(f);
        }
}

static pid_t fake_qmp_start(const char *dir, bool release)
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        pid_t pid;

        snprintf(a.sun_path, sizeof(a.sun_path), "%s/" VMM_SOCK, dir);
        unlink(a.sun_path);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
                return -1;
        pid = fork();
        if (pid == 0)
                fake_qmp(s, release);
        close(s);
        return pid;
}

static void fake_qmp_stop(pid_t pid)
{
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

TEST(qemu_nic_hotplug)
{
        char dir[] = "/tmp/hull-test-qmp-XXXXXX";
        struct vmm_spec s = {
                .kernel = "/k", .memory = 256ULL << 20, .taps = {"htaaaaaaaaaaaa"}, .n_nics = 1};
        struct vmm_choice tcg = {.kind = VMM_QEMU};
        _cleanup_strv_free_ char **a = NULL;
        size_t n0;
        pid_t pid;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        ASSERT_OK(vmm_backend_argv(&tcg, &s, NULL, &a));
        n0 = strv_length(a);
        ASSERT_TRUE((pid = fake_qmp_start(dir, true)) > 0);
        /* Each plug takes the next spare port, and the command line gains the NIC. */
        for (int i = 0; i < VMM_HOTPLUG_PORTS; i++) {
                char tap[16], dev[128];
                snprintf(tap, sizeof(tap), "htaaaaaaaaaa-%d", i + 1);
                ASSERT_OK(vmm_backend_nic_plug(VMM_QEMU, dir, &a, tap, "02:42:0a:61:00:09"));
                snprintf(dev, sizeof(dev),
                         "virtio-net-pci,id=nic-%s,netdev=nd-%s,bus=hp%d,mac=02:42:0a:61:00:09", tap, tap,
                         i);
                ASSERT_TRUE(has_arg(a, dev));
        }
        ASSERT_EQ(strv_length(a), n0 + 4 * VMM_HOTPLUG_PORTS);
        /* No spare port left: refused, saying why. */
        ASSERT_ERR(vmm_backend_nic_plug(VMM_QEMU, dir, &a, "htaaaaaaaaaa-9", "02:42:0a:61:00:0a"), -ENOSPC);
        ASSERT_CONTAINS(err_msg(-ENOSPC), "spare PCIe root ports");
        err_clear();
        /* An unplug frees its port for the next plug; a cold-plugged NIC can go too. */
        ASSERT_OK(vmm_backend_nic_unplug(VMM_QEMU, dir, &a, "htaaaaaaaaaa-2", 5000));
        ASSERT_FALSE(has_arg(a, "tap,id=nd-htaaaaaaaaaa-2,ifname=htaaaaaaaaaa-2,script=no,downscript=no"));
        ASSERT_OK(vmm_backend_nic_plug(VMM_QEMU, dir, &a, "htaaaaaaaaaa-5", "02:42:0a:61:00:0b"));
        ASSERT_TRUE(has_arg(a, "virtio-net-pci,id=nic-htaaaaaaaaaa-5,netdev=nd-htaaaaaaaaaa-5,bus=hp1,"
                               "mac=02:42:0a:61:00:0b"));
        ASSERT_OK(vmm_backend_nic_unplug(VMM_QEMU, dir, &a, "htaaaaaaaaaaaa", 5000));
        ASSERT_FALSE(has_arg(a, "tap,id=nd-htaaaaaaaaaaaa,ifname=htaaaaaaaaaaaa,script=no,downscript=no"));
        ASSERT_TRUE(has_arg(a, "pcie-root-port,id=np0,bus=pcie.0,addr=0x8,chassis=1"));
        /* A VMM started without spare ports (an older hull): refused before QEMU is asked. */
        {
                char *old[] = {(char *)"qemu-system-x86_64", NULL};
                char **o = strv_copy(old);
                ASSERT_ERR(vmm_backend_nic_plug(VMM_QEMU, dir, &o, "htaaaaaaaaaa-9", "02:42:0a:61:00:0a"),
                           -EOPNOTSUPP);
                ASSERT_CONTAINS(err_msg(-EOPNOTSUPP), "without spare PCIe root ports");
                err_clear();
                strv_free(o);
        }
        /* A NIC that QEMU does not know (an interrupted plug): nothing to unplug. */
        ASSERT_OK(vmm_backend_nic_unplug(VMM_QEMU, dir, &a, "gone", 5000));
        fake_qmp_stop(pid);

        /* A guest that does not release the NIC: a bounded wait and one clear line. */
        ASSERT_TRUE((pid = fake_qmp_start(dir, false)) > 0);
        ASSERT_ERR(vmm_backend_nic_unplug(VMM_QEMU, dir, &a, "htaaaaaaaaaa-1", 300), -ETIMEDOUT);
        ASSERT_CONTAINS(err_msg(-ETIMEDOUT), "did not release");
        err_clear();
        ASSERT_TRUE(has_arg(a, "tap,id=nd-htaaaaaaaaaa-1,ifname=htaaaaaaaaaa-1,script=no,downscript=no"));
        fake_qmp_stop(pid);
        char sock[128];
        snprintf(sock, sizeof(sock), "%s/" VMM_SOCK, dir);
        unlink(sock);
        ASSERT_OK(rmdir(dir));
}

TEST(hull_vmm_command_line)
{
        struct vmm_spec s = {.dir = "/r",
                             .kernel = "/k",
                             .cmdline = "console=ttyS0",
                             .memory = 256ULL << 20,
                             .exec_channel = true,
                             .n_disks = 1,
                             .taps = {"ht0123456789ab", "ht0123456789-1"},
                             .macs = {"02:42:0a:59:00:05", NULL},
                             .n_nics = 2};
        struct vmm_choice c = {.kind = VMM_HULL};
        _cleanup_strv_free_ char **a = NULL;

        s.disks[0] = (struct vmm_disk){.path = "/d.raw", .format = DISK_FORMAT_RAW, .readonly = true};
        ASSERT_OK(vmm_backend_argv(&c, &s, "/bin/hull-vmm", &a));
        ASSERT_STREQ(a[0], "/bin/hull-vmm");
        ASSERT_TRUE(has_arg(a, "/d.raw,format=raw,ro") && has_arg(a, "256M") &&
                    has_arg(a, "cid=3,uds=exec.sock"));
        ASSERT_TRUE(has_arg(a, "--api-sock") && has_arg(a, "stdio"));
        /* A VM on a hull network: the engine's tap and MAC (vm-net.c). */
        ASSERT_TRUE(has_arg(a, "--net") && has_arg(a, "tap=ht0123456789ab,mac=02:42:0a:59:00:05"));
        ASSERT_TRUE(has_arg(a, "tap=ht0123456789-1"));
        strv_free(TAKE_PTR(a));
        s.kernel = NULL;
        ASSERT_ERR(vmm_backend_argv(&c, &s, "/bin/hull-vmm", &a), -EOPNOTSUPP);
}

TEST(backend_pick)
{
        struct vmm_choice c;
        struct vmm_spec kernel = {.kernel = "/k"}, disk = {};

        ASSERT_ERR(vmm_backend_pick(VMM_HULL, &disk, &c), -EOPNOTSUPP);
        ASSERT_CONTAINS(err_msg(-EOPNOTSUPP), "no firmware");
        ASSERT_OK(vmm_backend_pick(VMM_QEMU, &kernel, &c));
        ASSERT_EQ(c.kind, VMM_QEMU);
        ASSERT_CONTAINS(c.reason, "--vmm qemu");
        ASSERT_OK(vmm_backend_pick(_VMM_KIND_INVALID, &disk, &c));
        ASSERT_EQ(c.kind, VMM_QEMU);
        ASSERT_CONTAINS(c.reason, "firmware");
        ASSERT_OK(vmm_backend_pick(_VMM_KIND_INVALID, &kernel, &c));
        /* hull-vmm only where the CPU has hardware virtualization and /dev/kvm opens. */
        ASSERT_EQ(c.kind == VMM_HULL, vmm_host_has_hw_virt() && vmm_host_has_kvm());
        ASSERT_TRUE(c.reason[0] != 0);
}

TEST(exit_mapping)
{
        ASSERT_EQ(vmm_backend_exit(VMM_HULL, 0 << 8, _VMM_EXIT_INVALID), VMM_EXIT_POWEROFF);
        ASSERT_EQ(vmm_backend_exit(VMM_HULL, 1 << 8, _VMM_EXIT_INVALID), VMM_EXIT_REBOOT);
        ASSERT_EQ(vmm_backend_exit(VMM_HULL, 2 << 8, _VMM_EXIT_INVALID), VMM_EXIT_CRASH);
        ASSERT_EQ(vmm_backend_exit(VMM_HULL, 3 << 8, _VMM_EXIT_INVALID), VMM_EXIT_STOPPED);
        ASSERT_EQ(vmm_backend_exit(VMM_HULL, 125 << 8, _VMM_EXIT_INVALID), VMM_EXIT_FAILED);
        ASSERT_EQ(vmm_backend_exit(VMM_QEMU, 0, VMM_EXIT_REBOOT), VMM_EXIT_REBOOT);
        ASSERT_EQ(vmm_backend_exit(VMM_QEMU, 0, _VMM_EXIT_INVALID), VMM_EXIT_POWEROFF);
        ASSERT_EQ(vmm_backend_exit(VMM_QEMU, 1 << 8, VMM_EXIT_POWEROFF), VMM_EXIT_FAILED);
        ASSERT_EQ(vmm_backend_exit(VMM_QEMU, SIGKILL, _VMM_EXIT_INVALID), VMM_EXIT_FAILED);
        ASSERT_EQ(vmm_backend_exit(VMM_QEMU, SIGTERM, _VMM_EXIT_INVALID), VMM_EXIT_STOPPED);
}
