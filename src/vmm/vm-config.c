/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-config.c - hull-vmm option strings (see vm-config.h). Options are comma-separated
 * key[=value] items; a path is the first item of --disk, so a path with a comma cannot
 * be given (the error then names the part after the comma).
 */
#include <inttypes.h>

#include "disk/disk.h"
#include "error.h"
#include "util.h"
#include "vm-config.h"

#define VSOCK_CID_MIN 3
#define UNIX_PATH_MAX 108

void vm_disk_config_done(struct vm_disk_config *d)
{
        free(d->path);
        *d = (struct vm_disk_config){};
}

void vm_net_config_done(struct vm_net_config *n)
{
        free(n->tap);
        *n = (struct vm_net_config){};
}

void vm_fs_config_done(struct vm_fs_config *f)
{
        free(f->socket);
        free(f->tag);
        *f = (struct vm_fs_config){};
}

void vm_config_done(struct vm_config *c)
{
        free(c->kernel);
        free(c->initrd);
        free(c->cmdline);
        for (size_t i = 0; i < c->n_disks; i++)
                vm_disk_config_done(&c->disks[i]);
        free(c->disks);
        for (size_t i = 0; i < c->n_nets; i++)
                vm_net_config_done(&c->nets[i]);
        free(c->nets);
        for (size_t i = 0; i < c->n_fs; i++)
                vm_fs_config_done(&c->fs[i]);
        free(c->fs);
        free(c->vsock_uds);
        free(c->serial_path);
        free(c->api_sock);
        free(c->kvm_path);
        free(c->snapshot_dir);
        free(c->restore_dir);
        *c = (struct vm_config){};
}

/* Split "a,b,c" into a strv. */
static int split(const char *s, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;

        for (;;) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);
                char *item = strndup(p, n);
                if (!item)
                        return -ENOMEM;
                int r = strv_push(&l, item);
                if (r < 0)
                        return r;
                if (!comma)
                        break;
                p = comma + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* "io=MODE" of --disk and --vsock: where the device's queues are served (docs/vmm.md). */
static int parse_io(const char *opt, const char *v, bool *ret_vcpu)
{
        if (!streq(v, "vcpu") && !streq(v, "thread"))
                return err_set(-EINVAL, "%s: unknown io mode '%s' (thread, vcpu)", opt, v);
        *ret_vcpu = streq(v, "vcpu");
        return 0;
}

int vm_config_parse_disk(const char *spec, struct vm_disk_config *ret)
{
        _cleanup_strv_free_ char **items = NULL;
        struct vm_disk_config d = {.format = _DISK_FORMAT_INVALID};
        int r;

        r = split(spec, &items);
        if (r < 0)
                return r;
        if (!items[0] || !*items[0])
                return err_set(-EINVAL, "--disk: missing the image path in '%s'", spec);
        for (char **i = items + 1; *i; i++) {
                const char *v;
                if (streq(*i, "ro"))
                        d.readonly = true;
                else if (streq(*i, "direct"))
                        d.direct = true;
                else if (streq(*i, "late"))
                        d.late = true;
                else if ((v = startswith(*i, "io="))) {
                        if ((r = parse_io("--disk", v, &d.io_vcpu)) < 0)
                                return r;
                } else if ((v = startswith(*i, "format="))) {
                        if (streq(v, "raw"))
                                d.format = DISK_FORMAT_RAW;
                        else if (streq(v, "qcow2"))
                                d.format = DISK_FORMAT_QCOW2;
                        else if (streq(v, "vhd"))
                                d.format = DISK_FORMAT_VHD;
                        else
                                return err_set(-EINVAL, "--disk: unknown format '%s' (raw, qcow2, vhd)", v);
                } else
                        return err_set(-EINVAL, "--disk: unknown option '%s'", *i);
        }
        d.path = strdup(items[0]);
        if (!d.path)
                return -ENOMEM;
        *ret = d;
        return 0;
}

int vm_config_parse_api_sock(const char *spec, int *ret_fd)
{
        const char *v = startswith(spec, "fd=");

        *ret_fd = -EBADF;
        if (v && (parse_int(v, ret_fd) < 0 || *ret_fd < 3))
                return err_set(-EINVAL, "--api-sock: invalid file descriptor '%s' (3 or more)", v);
        return 0;
}

int vm_config_parse_mac(const char *s, uint8_t mac[6])
{
        unsigned v[6];
        char tail;

        if (strlen(s) != 17 ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)v[i];
        /* A multicast address cannot be a station address. */
        if (mac[0] & 1)
                return -EINVAL;
        return 0;
}

int vm_config_parse_net(const char *spec, struct vm_net_config *ret)
{
        _cleanup_strv_free_ char **items = NULL;
        struct vm_net_config n = {.tap_fd = -EBADF};
        const char *tap = NULL;
        int r, fd = -EBADF;

        r = split(spec, &items);
        if (r < 0)
                return r;
        STRV_FOREACH (i, items) {
                const char *v;
                if ((v = startswith(*i, "tap="))) {
                        if (!*v || strlen(v) >= 16 || strchr(v, '/'))
                                return err_set(-EINVAL, "--net: invalid tap name '%s'", v);
                        tap = v;
                } else if ((v = startswith(*i, "fd="))) {
                        if (parse_int(v, &fd) < 0 || fd < 3)
                                return err_set(-EINVAL, "--net: invalid file descriptor '%s' (3 or more)",
                                               v);
                } else if ((v = startswith(*i, "mac="))) {
                        if (vm_config_parse_mac(v, n.mac) < 0)
                                return err_set(-EINVAL, "--net: invalid MAC address '%s'", v);
                        n.has_mac = true;
                } else
                        return err_set(-EINVAL, "--net: unknown option '%s'", *i);
        }
        if (!tap == (fd < 0))
                return err_set(-EINVAL, "--net: needs one of tap=NAME or fd=N in '%s'", spec);
        if (fd >= 0) {
                n.tap_fd = fd;
                *ret = n;
                return 0;
        }
        n.tap = strdup(tap);
        if (!n.tap)
                return -ENOMEM;
        *ret = n;
        return 0;
}

int vm_config_parse_fs(const char *spec, struct vm_fs_config *ret)
{
        _cleanup_strv_free_ char **items = NULL;
        _cleanup_free_ char *socket = NULL, *tag = NULL;
        int r;

        r = split(spec, &items);
        if (r < 0)
                return r;
        STRV_FOREACH (i, items) {
                const char *v;
                char **dst;
                if ((v = startswith(*i, "socket=")))
                        dst = &socket;
                else if ((v = startswith(*i, "tag=")))
                        dst = &tag;
                else
                        return err_set(-EINVAL, "--fs: unknown option '%s'", *i);
                free(*dst);
                *dst = strdup(v);
                if (!*dst)
                        return -ENOMEM;
        }
        if (!socket || !*socket || !tag)
                return err_set(-EINVAL, "--fs: needs both socket=PATH and tag=TAG, got '%s'", spec);
        if (strlen(socket) >= UNIX_PATH_MAX)
                return err_set(-EINVAL, "--fs: socket path '%s' is too long for a Unix socket", socket);
        /* virtio 1.2 §5.11.4: the tag fills at most 36 bytes of the configuration. */
        if (!*tag || strlen(tag) > 36)
                return err_set(-EINVAL, "--fs: tag '%s' must have 1 to 36 bytes", tag);
        *ret = (struct vm_fs_config){.socket = TAKE_PTR(socket), .tag = TAKE_PTR(tag)};
        return 0;
}

int vm_config_parse_vsock(const char *spec, uint64_t *ret_cid, char **ret_uds, bool *ret_io_vcpu)
{
        _cleanup_strv_free_ char **items = NULL;
        const char *uds = NULL;
        uint64_t cid = 0;
        bool has_cid = false, io_vcpu = false;
        int r;

        r = split(spec, &items);
        if (r < 0)
                return r;
        STRV_FOREACH (i, items) {
                const char *v;
                if ((v = startswith(*i, "cid="))) {
                        /* 0-2 are reserved (hypervisor, local, host); 0xffffffff is VMADDR_CID_ANY. */
                        if (parse_u64(v, &cid) < 0 || cid < VSOCK_CID_MIN || cid >= 0xffffffffULL)
                                return err_set(-EINVAL, "--vsock: invalid cid '%s' (3 to 4294967294)", v);
                        has_cid = true;
                } else if ((v = startswith(*i, "uds="))) {
                        /* Room for "_<port>" so that guest-initiated connections have a path too. */
                        if (!*v || strlen(v) + 11 >= UNIX_PATH_MAX)
                                return err_set(-EINVAL, "--vsock: uds path '%s' is empty or too long", v);
                        uds = v;
                } else if ((v = startswith(*i, "io="))) {
                        if ((r = parse_io("--vsock", v, &io_vcpu)) < 0)
                                return r;
                } else
                        return err_set(-EINVAL, "--vsock: unknown option '%s'", *i);
        }
        if (!has_cid || !uds)
                return err_set(-EINVAL, "--vsock: needs both cid=N and uds=PATH, got '%s'", spec);
        char *u = strdup(uds);
        if (!u)
                return -ENOMEM;
        *ret_cid = cid;
        *ret_uds = u;
        *ret_io_vcpu = io_vcpu;
        return 0;
}

int vm_config_parse_serial(const char *spec, enum serial_mode *ret_mode, char **ret_path)
{
        const char *v;

        if (streq(spec, "stdio")) {
                *ret_mode = SERIAL_MODE_STDIO;
                *ret_path = NULL;
        } else if (streq(spec, "none")) {
                *ret_mode = SERIAL_MODE_NONE;
                *ret_path = NULL;
        } else if ((v = startswith(spec, "file=")) && *v) {
                char *p = strdup(v);
                if (!p)
                        return -ENOMEM;
                *ret_mode = SERIAL_MODE_FILE;
                *ret_path = p;
        } else
                return err_set(-EINVAL, "--serial: expected stdio, none or file=PATH, got '%s'", spec);
        return 0;
}

int vm_config_parse_snapshot(const char *spec, uint32_t *ret_port, char **ret_dir)
{
        _cleanup_strv_free_ char **items = NULL;
        const char *dir = NULL;
        uint32_t port = 0;
        bool has_port = false;
        int r;

        r = split(spec, &items);
        if (r < 0)
                return r;
        STRV_FOREACH (i, items) {
                const char *v;
                if ((v = startswith(*i, "dir="))) {
                        if (!*v)
                                return err_set(-EINVAL, "--snapshot-at-connect: dir= is empty");
                        dir = v;
                } else if (!has_port && i == items) {
                        /* VMADDR_PORT_ANY (-1U) is never a port a guest connects to. */
                        if (parse_u32(*i, &port) < 0 || port == UINT32_MAX)
                                return err_set(-EINVAL, "--snapshot-at-connect: invalid port '%s'", *i);
                        has_port = true;
                } else
                        return err_set(-EINVAL, "--snapshot-at-connect: unknown option '%s'", *i);
        }
        if (!has_port || !dir)
                return err_set(-EINVAL, "--snapshot-at-connect: expected PORT,dir=DIR, got '%s'", spec);
        char *d = strdup(dir);
        if (!d)
                return -ENOMEM;
        *ret_port = port;
        *ret_dir = d;
        return 0;
}

static int check_snapshot_options(const struct vm_config *c)
{
        if (c->restore_dir) {
                if (c->kernel || c->initrd || c->cmdline)
                        return err_set(-EINVAL,
                                       "--restore: the snapshot holds the booted kernel: drop --kernel, "
                                       "--initrd and --cmdline");
                if (c->snapshot_dir)
                        return err_set(-EINVAL, "--restore and --snapshot-at-connect cannot be combined");
                return 0;
        }
        if (c->snapshot_dir && !c->has_vsock)
                return err_set(-EINVAL, "--snapshot-at-connect: needs a --vsock device");
        return 0;
}

int vm_config_check(const struct vm_config *c)
{
        int r = check_snapshot_options(c);
        if (r < 0)
                return r;
        if (!c->kernel && !c->restore_dir)
                return err_set(-EINVAL, "--kernel is required");
        if (c->cpus == 0 || c->cpus > 254)
                return err_set(-EINVAL, "--cpus: %u is out of range (1-254)", c->cpus);
        if (c->memory < (16ULL << 20) || c->memory % (1ULL << 20) || c->memory > (1ULL << 40))
                return err_set(-EINVAL,
                               "--memory: %" PRIu64 " bytes is not a whole number of MiB from 16M to 1T",
                               c->memory);
        for (size_t i = 0; i < c->n_fs; i++)
                for (size_t j = 0; j < i; j++)
                        if (streq(c->fs[i].tag, c->fs[j].tag))
                                return err_set(-EINVAL, "--fs: tag '%s' is given twice", c->fs[i].tag);
        if (c->n_disks + c->n_nets + c->n_fs + (c->has_vsock ? 1 : 0) + (c->rng ? 1 : 0) > 30)
                return err_set(-EINVAL,
                               "too many devices: at most 30 disks, network and other devices in all");
        for (size_t i = 0; i < c->n_disks; i++)
                if (c->disks[i].late && !c->api_sock)
                        return err_set(
                                -EINVAL,
                                "--disk %s,late: needs --api-sock (the image is opened by attach-disks)",
                                c->disks[i].path);
        if (c->api_sock && !startswith(c->api_sock, "fd=") && strlen(c->api_sock) >= UNIX_PATH_MAX)
                return err_set(-EINVAL, "--api-sock: path '%s' is too long for a Unix socket", c->api_sock);
        return 0;
}
