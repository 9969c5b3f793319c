/* SPDX-License-Identifier: Apache-2.0 */
/* test-vmm-config.c - hull-vmm option strings, the control API's replies, the CPUID patch. */
#include "api.h"
#include "disk/disk.h"
#include "error.h"
#include "vcpu.h"
#include "vm-config.h"
#include "test.h"

TEST(disk_specs)
{
        struct vm_disk_config d;

        ASSERT_OK(vm_config_parse_disk("/img/a.qcow2,ro,format=qcow2", &d));
        ASSERT_STREQ(d.path, "/img/a.qcow2");
        ASSERT_TRUE(d.readonly);
        ASSERT_FALSE(d.direct);
        ASSERT_EQ(d.format, DISK_FORMAT_QCOW2);
        vm_disk_config_done(&d);
        ASSERT_OK(vm_config_parse_disk("b.img", &d));
        ASSERT_EQ(d.format, _DISK_FORMAT_INVALID);
        ASSERT_FALSE(d.io_vcpu);
        vm_disk_config_done(&d);
        ASSERT_OK(vm_config_parse_disk("b.img,io=vcpu,format=raw", &d));
        ASSERT_TRUE(d.io_vcpu);
        vm_disk_config_done(&d);
        ASSERT_OK(vm_config_parse_disk("b.img,io=thread", &d));
        ASSERT_FALSE(d.io_vcpu);
        vm_disk_config_done(&d);
        ASSERT_OK(vm_config_parse_disk("b.img,late,io=vcpu", &d));
        ASSERT_TRUE(d.late);
        ASSERT_TRUE(d.io_vcpu);
        vm_disk_config_done(&d);
        ASSERT_ERR(vm_config_parse_disk("b.img,io=uring", &d), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "unknown io mode 'uring'");
        ASSERT_ERR(vm_config_parse_disk("b.img,rw", &d), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "unknown option 'rw'");
        ASSERT_ERR(vm_config_parse_disk("b.img,format=vmdk", &d), -EINVAL);
        ASSERT_ERR(vm_config_parse_disk(",ro", &d), -EINVAL);
}

TEST(net_specs)
{
        struct vm_net_config n;

        ASSERT_OK(vm_config_parse_net("tap=tap0,mac=02:00:00:aa:bb:cc", &n));
        ASSERT_STREQ(n.tap, "tap0");
        ASSERT_TRUE(n.has_mac);
        ASSERT_EQ(n.mac[5], 0xcc);
        vm_net_config_done(&n);
        ASSERT_ERR(vm_config_parse_net("mac=02:00:00:aa:bb:cc", &n), -EINVAL);
        ASSERT_ERR(vm_config_parse_net("tap=tap0,mac=01:00:00:aa:bb:cc", &n), -EINVAL); /* multicast */
        ASSERT_ERR(vm_config_parse_net("tap=tap0,mac=02:00:00:aa:bb", &n), -EINVAL);
        ASSERT_ERR(vm_config_parse_net("tap=a-name-longer-than-15", &n), -EINVAL);
        /* an inherited tap: by number, never stdio, and not together with a name */
        ASSERT_OK(vm_config_parse_net("fd=7,mac=02:00:00:aa:bb:cd", &n));
        ASSERT_TRUE(n.tap == NULL);
        ASSERT_EQ(n.tap_fd, 7);
        ASSERT_EQ(n.mac[5], 0xcd);
        vm_net_config_done(&n);
        ASSERT_OK(vm_config_parse_net("tap=tap0", &n));
        ASSERT_EQ(n.tap_fd, -EBADF);
        vm_net_config_done(&n);
        ASSERT_ERR(vm_config_parse_net("fd=2", &n), -EINVAL);
        ASSERT_ERR(vm_config_parse_net("fd=x", &n), -EINVAL);
        ASSERT_ERR(vm_config_parse_net("tap=tap0,fd=7", &n), -EINVAL);
}

TEST(vsock_and_serial_specs)
{
        uint64_t cid;
        char *uds;
        bool io_vcpu;
        enum serial_mode mode;
        char *path;

        ASSERT_OK(vm_config_parse_vsock("cid=3,uds=/run/v.sock", &cid, &uds, &io_vcpu));
        ASSERT_EQ(cid, 3);
        ASSERT_STREQ(uds, "/run/v.sock");
        ASSERT_FALSE(io_vcpu);
        free(uds);
        ASSERT_OK(vm_config_parse_vsock("cid=3,uds=/run/v.sock,io=vcpu", &cid, &uds, &io_vcpu));
        ASSERT_TRUE(io_vcpu);
        free(uds);
        ASSERT_ERR(vm_config_parse_vsock("cid=3,uds=/x,io=irq", &cid, &uds, &io_vcpu), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "unknown io mode 'irq'");
        ASSERT_ERR(vm_config_parse_vsock("cid=2,uds=/x", &cid, &uds, &io_vcpu), -EINVAL);
        ASSERT_ERR(vm_config_parse_vsock("cid=3", &cid, &uds, &io_vcpu), -EINVAL);
        ASSERT_OK(vm_config_parse_serial("file=/tmp/console", &mode, &path));
        ASSERT_EQ(mode, SERIAL_MODE_FILE);
        ASSERT_STREQ(path, "/tmp/console");
        free(path);
        ASSERT_OK(vm_config_parse_serial("none", &mode, &path));
        ASSERT_EQ(mode, SERIAL_MODE_NONE);
        ASSERT_ERR(vm_config_parse_serial("file=", &mode, &path), -EINVAL);
        ASSERT_ERR(vm_config_parse_serial("tty", &mode, &path), -EINVAL);
}

TEST(fs_specs)
{
        struct vm_fs_config f;
        struct vm_config c = {.cpus = 1, .memory = 256ULL << 20, .kernel = (char *)"k"};
        struct vm_fs_config two[2] = {{.socket = (char *)"a", .tag = (char *)"t"},
                                      {.socket = (char *)"b", .tag = (char *)"t"}};

        ASSERT_OK(vm_config_parse_fs("socket=fs-0.sock,tag=hullfs0", &f));
        ASSERT_STREQ(f.socket, "fs-0.sock");
        ASSERT_STREQ(f.tag, "hullfs0");
        vm_fs_config_done(&f);
        ASSERT_ERR(vm_config_parse_fs("socket=x", &f), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "needs both socket=PATH and tag=TAG");
        ASSERT_ERR(vm_config_parse_fs("socket=x,tag=0123456789012345678901234567890123456", &f), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "must have 1 to 36 bytes");
        ASSERT_ERR(vm_config_parse_fs("socket=x,tag=t,cache=auto", &f), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "unknown option 'cache=auto'");
        c.fs = two;
        c.n_fs = 2;
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "tag 't' is given twice");
}

TEST(config_check)
{
        struct vm_config c = {.cpus = 1, .memory = 256ULL << 20};
        ASSERT_ERR(vm_config_check(&c), -EINVAL); /* no kernel */
        c.kernel = (char *)"k";
        ASSERT_OK(vm_config_check(&c));
        c.memory = (256ULL << 20) + 4096;
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        c.memory = 256ULL << 20;
        c.cpus = 255;
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        c.cpus = 1;
        /* A late disk is opened through the API only: without one it could never be. */
        struct vm_disk_config late = {.path = (char *)"root.qcow2", .late = true};
        c.disks = &late;
        c.n_disks = 1;
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "--disk root.qcow2,late: needs --api-sock");
        c.api_sock = (char *)"api.sock";
        ASSERT_OK(vm_config_check(&c));
}

TEST(snapshot_options)
{
        struct vm_config c = {.cpus = 1, .memory = 256ULL << 20, .kernel = (char *)"k"};
        uint32_t port;
        char *dir = NULL;

        ASSERT_OK(vm_config_parse_snapshot("1024,dir=/tmp/t", &port, &dir));
        ASSERT_EQ(port, 1024u);
        ASSERT_STREQ(dir, "/tmp/t");
        free(dir);
        ASSERT_ERR(vm_config_parse_snapshot("dir=/tmp/t", &port, &dir), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "expected PORT,dir=DIR");
        ASSERT_ERR(vm_config_parse_snapshot("x,dir=/tmp/t", &port, &dir), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "invalid port 'x'");
        ASSERT_ERR(vm_config_parse_snapshot("1,dir=", &port, &dir), -EINVAL);
        ASSERT_ERR(vm_config_parse_snapshot("1,dir=a,keep", &port, &dir), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "unknown option 'keep'");

        c.snapshot_dir = (char *)"/tmp/t";
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "needs a --vsock device");
        c.has_vsock = true;
        ASSERT_OK(vm_config_check(&c));
        c.restore_dir = (char *)"/tmp/t";
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "drop --kernel");
        c.kernel = NULL;
        ASSERT_ERR(vm_config_check(&c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "cannot be combined");
        c.snapshot_dir = NULL;
        ASSERT_OK(vm_config_check(&c));
}

TEST(api_replies)
{
        struct vm vm = {.n_vcpus = 2, .state = VM_STATE_CREATED, .exit_code = -1};
        pthread_mutex_init(&vm.lock, NULL);
        pthread_cond_init(&vm.cond, NULL);
        vm.mem.size = 256ULL << 20;
        char *r;

        r = api_handle_request(&vm, "{\"command\":\"status\"}");
        ASSERT_CONTAINS(r, "\"ok\":true");
        ASSERT_CONTAINS(r, "\"state\":\"created\"");
        ASSERT_CONTAINS(r, "\"vcpus\":2");
        free(r);
        r = api_handle_request(&vm, "{\"command\":\"resume\"}");
        ASSERT_CONTAINS(r, "\"ok\":false");
        free(r);
        r = api_handle_request(&vm, "{\"command\":\"reboot\"}");
        ASSERT_CONTAINS(r, "unknown command 'reboot'");
        free(r);
        r = api_handle_request(&vm, "{\"command\":42}");
        ASSERT_CONTAINS(r, "\"ok\":false");
        free(r);
        r = api_handle_request(&vm, "not json");
        ASSERT_CONTAINS(r, "invalid JSON");
        free(r);
        r = api_handle_request(&vm, "[1]");
        ASSERT_CONTAINS(r, "expected a JSON object");
        free(r);
        pthread_cond_destroy(&vm.cond);
        pthread_mutex_destroy(&vm.lock);
}

TEST(cpuid_topology)
{
        struct {
                struct kvm_cpuid2 h;
                struct kvm_cpuid_entry2 e[5];
        } c = {.h.nent = 5};
        c.e[0] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0xff00ffff, .edx = 0};
        c.e[1] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 0};
        c.e[2] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 1};
        c.e[3] = (struct kvm_cpuid_entry2){.function = 0xd, .index = 0, .ebx = 576, .ecx = 832};
        c.e[4] = (struct kvm_cpuid_entry2){.function = 0x80000008, .ecx = 0xffff};
        vcpu_cpuid_patch(&c.h, 3, 4);
        ASSERT_EQ(c.e[0].ebx >> 24, 3);
        ASSERT_EQ((c.e[0].ebx >> 16) & 0xff, 4);
        ASSERT_EQ(c.e[0].ebx & 0xffff, 0xffff);
        ASSERT_TRUE(c.e[0].ecx & (1u << 31));
        ASSERT_TRUE(c.e[0].edx & (1u << 28));
        ASSERT_EQ(c.e[1].edx, 3);
        ASSERT_EQ(c.e[1].ebx, 1);
        ASSERT_EQ(c.e[2].eax, 2);
        ASSERT_EQ(c.e[2].ebx, 4);
        ASSERT_EQ(c.e[3].ebx, 832);
        ASSERT_EQ(c.e[4].ecx & 0xff, 3);
}
