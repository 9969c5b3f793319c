/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-isolation.c - create and exec of containers that run in a microVM of their own
 * (annotation io.hull.isolation=vm; docs/agent.md, "Host side").
 *
 * create: the bundle's root file system becomes an ext4 image (mke2fs -d, no mount
 * on the host), directory bind mounts become virtio-fs shares served by virtiofsd (vm-fs.c),
 * or where there is no virtiofsd ext4 data disks (copied back to their directory when the VM
 * ends, rw ones only), file bind mounts (hosts, resolv.conf,
 * hostname) travel in the CREATE frame; then the shim (vm-shim.c) is forked, boots the
 * VMM and answers "ok" or one line of error through a pipe before create returns.
 *
 * exec: a proxy process holds the exec's stdio and stands for the guest process on
 * the host (its pid goes to --pid-file, signals to it are forwarded, it exits with the
 * guest process's status), so that conmon and hull's monitor see an ordinary child.
 *
 * The VMM: hull-vmm where /dev/kvm runs stock Linux, else QEMU (KVM when usable, TCG
 * otherwise: this project's build hosts have a PVM /dev/kvm that cannot run Linux, see
 * docs/agent.md). io.hull.isolation.vmm, else $HULL_ISOLATION_VMM, overrides; the choice and
 * its reason are written to the state directory's `vmm` file.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "hull-build.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "sync.h"
#include "util.h"
#include "cgroup.h"
#include "cidr.h"
#include "vm-isolation.h"

#define AGENT_VSOCK_PORT "1024"
#define MAX_VOLUMES      20
#define FILE_MAX         (1u << 20)

/*
 * The guest kernel's boot, measured with initcall_debug inside the nested test host: the
 * crypto self-tests (crypto_algapi_init) took 660 ms of a 3.4 s boot to /init, and RCU grace
 * periods slowed module loading and kprobes' set-up. The self-tests check the guest's own
 * crypto, not the host's (Kata Containers boots its guests with both arguments too). Not
 * tsc=reliable: it keeps a nested guest on a TSC whose calibration failed instead of
 * kvm-clock, and the guest's clock, stamps and timers then run at the wrong rate.
 */
#define GUEST_BOOT_ARGS "cryptomgr.notests rcupdate.rcu_expedited=1"

int vmiso_requested(const struct oci_config *cfg)
{
        const char *v = config_annotation(cfg, VMISO_ANNOTATION);

        if (!v || streq(v, "container") || streq(v, ""))
                return false;
        if (streq(v, "vm"))
                return true;
        return err_set(-EINVAL, "annotations." VMISO_ANNOTATION ": unknown isolation '%s' (container, vm)",
                       v);
}

bool vmiso_state(const struct container_state *s)
{
        struct json_object *v;

        return s->annotations && json_object_object_get_ex(s->annotations, VMISO_ANNOTATION, &v) &&
               json_object_is_type(v, json_type_string) && streq(json_object_get_string(v), "vm");
}

/* ------------------------------------------------------------------ assets and VMM */

static bool is_file(const char *p)
{
        struct stat st;
        return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * A guest asset: the annotation, $ENV, assets/guest/<name> in a source tree above this
 * executable (scripts/build puts build/ in the tree), HULL_LIBEXECDIR/guest/<name>.
 */
static int find_asset(const struct oci_config *cfg, const char *env, const char *annotation,
                      const char *name, char **ret)
{
        const char *v = config_annotation(cfg, annotation);
        char self[PATH_MAX];
        ssize_t n;

        if (!v || !*v)
                v = getenv(env);
        if (v && *v) {
                if (!is_file(v))
                        return err_set(-ENOENT, "%s: no such file '%s'", annotation, v);
                *ret = strdup(v);
                return *ret ? 0 : -ENOMEM;
        }
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = 0;
                for (int up = 0; up < 5; up++) {
                        char *slash = strrchr(self, '/');
                        if (!slash)
                                break;
                        *slash = 0;
                        _cleanup_free_ char *p = strdup_printf("%s/assets/guest/%s", self, name);
                        if (!p)
                                return -ENOMEM;
                        if (is_file(p)) {
                                *ret = TAKE_PTR(p);
                                return 0;
                        }
                }
        }
        _cleanup_free_ char *p = strdup_printf("%s/guest/%s", HULL_LIBEXECDIR, name);
        if (!p)
                return -ENOMEM;
        if (is_file(p)) {
                *ret = TAKE_PTR(p);
                return 0;
        }
        return err_set(-ENOENT,
                       "no guest %s for a VM-isolated container (set $%s or annotation %s; "
                       "scripts/guest-assets and scripts/agent-initramfs make them)",
                       name, env, annotation);
}

static int find_hull_vmm(char **ret)
{
        return find_hull_binary("hull-vmm", "HULL_VMM", ret);
}

enum vmm_kind {
        VMM_HULL,
        VMM_QEMU,
        _VMM_KIND_MAX,
        _VMM_KIND_INVALID = -EINVAL,
};

/* Does /dev/kvm run a stock Linux guest? PVM's KVM (kvm_pvm) does not (MACHINE.md). */
static bool kvm_runs_linux(const char **why)
{
        if (access("/dev/kvm", R_OK | W_OK) < 0) {
                *why = "no usable /dev/kvm";
                return false;
        }
        if (access("/sys/module/kvm_pvm", F_OK) == 0) {
                *why = "/dev/kvm is PVM (kvm_pvm), which cannot run a stock Linux guest";
                return false;
        }
        *why = "/dev/kvm runs stock Linux guests";
        return true;
}

static int choose_vmm(const struct oci_config *cfg, enum vmm_kind *ret, bool *ret_kvm, char **ret_why)
{
        const char *v = config_annotation(cfg, "io.hull.isolation.vmm"), *why = NULL;
        bool kvm = kvm_runs_linux(&why);
        _cleanup_free_ char *hv = NULL;

        if (!v || !*v)
                v = getenv("HULL_ISOLATION_VMM");
        *ret_kvm = kvm;
        if (v && *v) {
                if (streq(v, "hull"))
                        *ret = VMM_HULL;
                else if (streq(v, "qemu"))
                        *ret = VMM_QEMU;
                else
                        return err_set(-EINVAL, "io.hull.isolation.vmm: unknown VMM '%s' (hull, qemu)", v);
                *ret_why = strdup_printf("%s: asked for (%s)", v, why);
                return *ret_why ? 0 : -ENOMEM;
        }
        if (kvm && find_hull_vmm(&hv) >= 0) {
                *ret = VMM_HULL;
                *ret_why = strdup_printf("hull: %s", why);
        } else {
                *ret = VMM_QEMU;
                *ret_why = strdup_printf("qemu (%s): %s", kvm ? "kvm" : "tcg",
                                         kvm ? "hull-vmm is not installed" : why);
        }
        return *ret_why ? 0 : -ENOMEM;
}

static struct vmiso_overhead vmm_overhead(enum vmm_kind kind, bool kvm)
{
        if (kind == VMM_HULL)
                return VMISO_OVERHEAD_HULL;
        return kvm ? VMISO_OVERHEAD_QEMU_KVM : VMISO_OVERHEAD_QEMU_TCG;
}

static int vmm_argv(const struct oci_config *cfg, enum vmm_kind kind, bool kvm, const struct vmiso_size *sz,
                    const char *kernel, const char *initrd, const char *root_disk,
                    enum disk_format root_format, int api_fd, size_t n_disks, const struct vmiso_net *net,
                    const struct vmiso_share *shares, size_t n_shares, char ***ret)
{
        const char *debug = config_annotation(cfg, "io.hull.isolation.debug");
        _cleanup_strv_free_ char **a = NULL;
        int m = sz->memory_mib, c = sz->cpus, r = 0;
#define ADD(s)                                    \
        do {                                      \
                if (r >= 0)                       \
                        r = strv_extend(&a, (s)); \
        } while (0)
#define ADDF(...)                                                 \
        do {                                                      \
                char *s_ = strdup_printf(__VA_ARGS__);            \
                r = r < 0 ? r : s_ ? strv_push(&a, s_) : -ENOMEM; \
        } while (0)
        /*
         * quiet, debugging too: each byte of the guest's console is a trap to the VMM, and the
         * kernel's 20 KiB of boot messages cost seconds in the nested test host. A message goes
         * out inside the syscall that prints it (ext4's mount message: about 15 ms of the root
         * disk's mount there), so the agent's stamps would measure the console, not the step.
         */
        const char *dbg = debug && streq(debug, "1") ? " quiet hull.debug=1" : " quiet";
        if (kind == VMM_HULL) {
                _cleanup_free_ char *bin = NULL;
                if (find_hull_vmm(&bin) < 0)
                        return err_set(-ENOENT, "cannot find hull-vmm (set $HULL_VMM)");
                ADD(bin);
                ADD("--kernel");
                ADD(kernel);
                ADD("--initrd");
                ADD(initrd);
                ADD("--cmdline");
                ADDF("console=ttyS0 panic=-1 " GUEST_BOOT_ARGS " hull.agent=vsock:" AGENT_VSOCK_PORT "%s",
                     dbg);
                ADD("--memory");
                ADDF("%dM", m);
                ADD("--cpus");
                ADDF("%d", c);
                ADD("--serial");
                ADD("stdio");
                /*
                 * io=vcpu: the guest's vsock packets and disk requests are served on the vCPU
                 * thread that notified, which goes back into the guest with the completion; the
                 * guest's synchronous reads (the root mount, exec's page-ins) and the agent's
                 * messages then cost one exit each instead of a hand-over to the I/O thread and
                 * back (docs/vmm.md, docs/benchmarks.md).
                 */
                ADD("--vsock");
                ADD("cid=3,uds=" VMISO_VSOCK_UDS ",io=vcpu");
                ADD("--no-rng");
                /* A root disk still being made (`late`): the shim's API socket asks hull-vmm to open it. */
                if (api_fd >= 0) {
                        ADD("--api-sock");
                        ADDF("fd=%d", api_fd);
                }
                for (size_t i = 0; i < n_disks; i++) {
                        ADD("--disk");
                        if (i == 0)
                                ADDF("%s,format=%s,io=vcpu%s", root_disk, disk_format_to_string(root_format),
                                     api_fd >= 0 ? ",late" : "");
                        else
                                ADDF("vol-%zu.ext4,format=raw,io=vcpu", i - 1);
                }
                for (size_t i = 0; i < net->n; i++) {
                        char mac[MAC_STRLEN];
                        ADD("--net");
                        ADDF("fd=%d,mac=%s", net->nics[i].tap_fd, mac_to_string(net->nics[i].mac, mac));
                }
        } else {
                ADD("qemu-system-x86_64");
                /*
                 * q35, never microvm under TCG: microvm hangs now and then calibrating the TSC
                 * (MACHINE.md). microvm with PCIe under KVM: the guest's virtio drivers are the PCI
                 * ones (the kernel has no virtio-mmio command line devices).
                 */
                ADD("-M");
                ADD(kvm ? "microvm,pcie=on,rtc=on" : "q35");
                /*
                 * TCG's translation cache is 1 GiB by default (QEMU 7.2: an eighth of the host's
                 * memory, at most 1 GiB), filled as code is translated: bounded, so that the VMM's
                 * share of the container's memory limit is known (vm-isolation.h).
                 */
                ADD("-accel");
                if (kvm)
                        ADD("kvm");
                else
                        ADDF("tcg,tb-size=%d", VMISO_TCG_TB_MIB);
                if (kvm) {
                        ADD("-cpu");
                        ADD("host");
                }
                /* Its block I/O workers within the pids limit (vm-isolation.h). */
                if (sz->io_workers) {
                        ADD("-object");
                        ADDF("main-loop,id=main-loop,thread-pool-max=%d", sz->io_workers);
                }
                ADD("-m");
                ADDF("%d", m);
                /* vhost-user: virtiofsd maps the guest's RAM, which must be a shared memfd. */
                if (n_shares) {
                        ADD("-object");
                        ADDF("memory-backend-memfd,id=mem,size=%dM,share=on", m);
                        ADD("-machine");
                        ADD("memory-backend=mem");
                }
                ADD("-smp");
                ADDF("%d", c);
                ADD("-nodefaults");
                ADD("-no-user-config");
                ADD("-nographic");
                ADD("-no-reboot");
                ADD("-serial");
                ADD("stdio");
                ADD("-kernel");
                ADD(kernel);
                ADD("-initrd");
                ADD(initrd);
                ADD("-append");
                ADDF("console=ttyS0 panic=-1 " GUEST_BOOT_ARGS " hull.agent=port:io.hull.agent%s", dbg);
                ADD("-device");
                ADD("virtio-serial-pci");
                ADD("-chardev");
                ADD("socket,id=agent,path=agent.sock");
                ADD("-device");
                ADD("virtserialport,chardev=agent,name=io.hull.agent");
                for (size_t i = 0; i < n_disks; i++) {
                        ADD("-drive");
                        if (i == 0)
                                ADDF("file=%s,format=%s,if=none,id=d0,cache=unsafe", root_disk,
                                     disk_format_to_string(root_format));
                        else
                                ADDF("file=vol-%zu.ext4,format=raw,if=none,id=d%zu", i - 1, i);
                        ADD("-device");
                        ADDF("virtio-blk-pci,drive=d%zu", i);
                }
                /* romfile=: no iPXE option ROM: the kernel is booted directly, and the ROM may be absent. */
                for (size_t i = 0; i < net->n; i++) {
                        char mac[MAC_STRLEN];
                        ADD("-netdev");
                        ADDF("tap,id=n%zu,fd=%d", i, net->nics[i].tap_fd);
                        ADD("-device");
                        ADDF("virtio-net-pci,netdev=n%zu,mac=%s,romfile=", i,
                             mac_to_string(net->nics[i].mac, mac));
                }
        }
#undef ADD
#undef ADDF
        if (r >= 0)
                r = vmiso_fs_vmm_args(&a, kind == VMM_HULL, shares, n_shares);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

/* ------------------------------------------------------------------ CREATE */

static bool path_startswith_dev(const char *p)
{
        return streq(p, "/dev") || strncmp(p, "/dev/", 5) == 0;
}

static bool has_option(char **opts, const char *o)
{
        return strv_contains(opts, o);
}

static int join_options(char **opts, char **ret)
{
        size_t len = 1;
        char *s;

        for (size_t i = 0; opts && opts[i]; i++)
                len += strlen(opts[i]) + 1;
        s = calloc(1, len);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; opts && opts[i]; i++) {
                /* Bind and propagation flags describe the host side; the guest mounts afresh. */
                if (strstr(opts[i], "bind") || strstr(opts[i], "private") || strstr(opts[i], "shared") ||
                    strstr(opts[i], "slave") || streq(opts[i], "tmpcopyup"))
                        continue;
                if (s[0])
                        strcat(s, ",");
                strcat(s, opts[i]);
        }
        *ret = s;
        return 0;
}

/* A FILE field: path, mode and content (which may hold NUL bytes: it is the field's last part). */
static int put_file_field(struct agent_buf *b, const char *path, const char *mode, const char *content,
                          size_t len)
{
        struct agent_buf v = {};
        int r = agent_buf_put(&v, path, strlen(path) + 1);

        if (r >= 0)
                r = agent_buf_put(&v, mode, strlen(mode) + 1);
        if (r >= 0)
                r = agent_buf_put(&v, content, len);
        if (r >= 0)
                r = agent_buf_field(b, AGENT_C_FILE, v.data, v.len);
        agent_buf_free(&v);
        return r;
}

struct create_plan {
        struct agent_buf frame;
        struct vmiso_volume volumes[MAX_VOLUMES];
        size_t n_volumes;
        struct vmiso_share shares[MAX_VOLUMES];
        size_t n_shares;
        struct vmiso_net net;
        int tap_fds[VMISO_MAX_NICS];
};

static void create_plan_done(struct create_plan *p)
{
        agent_buf_free(&p->frame);
        vmiso_net_done(&p->net);
        vmiso_fs_free(p->shares, p->n_shares);
        for (size_t i = 0; i < p->n_volumes; i++) {
                free(p->volumes[i].image);
                free(p->volumes[i].host_dir);
        }
}

/* The CREATE frame and the data disks for the config's mounts; images go to dir_fd's directory. */
static int plan_create(const struct oci_config *cfg, const char *state_dir, struct create_plan *p)
{
        struct agent_buf files = {};
        const char *root[] = {"vda", "ext4", cfg->root_readonly ? "ro" : ""};
        int r;

        r = agent_buf_begin(&p->frame, AGENT_CREATE, 0);
        if (r >= 0)
                r = agent_buf_field_parts(&p->frame, AGENT_C_ROOT, root, 3);
        if (r >= 0 && cfg->hostname)
                r = agent_buf_field_str(&p->frame, AGENT_C_HOSTNAME, cfg->hostname);
        if (r >= 0)
                r = vmiso_net_setup(cfg, &p->frame, &p->net);
        for (size_t i = 0; r >= 0 && i < p->net.n; i++)
                p->tap_fds[i] = p->net.nics[i].tap_fd;
        for (size_t i = 0; r >= 0 && i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                const char *type = m->type ?: "";
                _cleanup_free_ char *opts = NULL;
                bool bind = streq(type, "bind") || has_option(m->options, "bind") ||
                            has_option(m->options, "rbind");
                struct stat st;

                /* /dev is the guest's own (agent: devtmpfs, devpts, shm). */
                if (path_startswith_dev(m->destination))
                        continue;
                r = join_options(m->options, &opts);
                if (r < 0)
                        break;
                if (!bind) {
                        if (streq(type, "cgroup") || streq(type, "cgroup2"))
                                type = "cgroup2";
                        else if (!streq(type, "proc") && !streq(type, "sysfs") && !streq(type, "tmpfs")) {
                                log_debug("vm isolation: mount of type '%s' on '%s' skipped", type,
                                          m->destination);
                                continue;
                        }
                        const char *parts[] = {type, m->destination, type, opts};
                        r = agent_buf_field_parts(&p->frame, AGENT_C_MOUNT, parts, 4);
                        continue;
                }
                if (!m->source || stat(m->source, &st) < 0) {
                        r = err_set(-ENOENT, "mounts: bind source '%s' does not exist", m->source ?: "");
                        break;
                }
                if (S_ISREG(st.st_mode)) {
                        _cleanup_free_ char *content = NULL, *mode = strdup_printf("%o", st.st_mode & 07777);
                        size_t len = 0;
                        if (!mode) {
                                r = -ENOMEM;
                                break;
                        }
                        r = read_full_file(m->source, FILE_MAX, &content, &len);
                        if (r < 0) {
                                r = err_set(r, "mounts: cannot read '%s' for the VM (at most 1 MiB): %s",
                                            m->source, strerror(-r));
                                break;
                        }
                        r = put_file_field(&files, m->destination, mode, content, len);
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        log_debug("vm isolation: bind mount of '%s' (not a file or directory) skipped",
                                  m->source);
                        continue;
                }
                if (p->n_volumes + p->n_shares == MAX_VOLUMES) {
                        r = err_set(-E2BIG, "mounts: at most %d directories can be mounted in a VM",
                                    MAX_VOLUMES);
                        break;
                }
                /*
                 * A live share through virtio-fs (vm-fs.c); without virtiofsd, or for a path that
                 * its -o option list cannot carry (a ','), a copy in and out.
                 */
                if (vmiso_fs_daemon() && !strchr(m->source, ',')) {
                        r = vmiso_fs_plan(&p->frame, &p->shares[p->n_shares], p->n_shares, m->source,
                                          m->destination, has_option(m->options, "ro"));
                        p->n_shares++;
                        continue;
                }
                log_debug("vm isolation: '%s' is copied into the VM and back (%s)", m->source,
                          vmiso_fs_daemon() ? "a ',' in its path" : "no virtiofsd");
                struct vmiso_volume *v = &p->volumes[p->n_volumes];
                char dev[8];
                v->image = strdup_printf("%s/vol-%zu.ext4", state_dir, p->n_volumes);
                if (!v->image) {
                        r = -ENOMEM;
                        break;
                }
                p->n_volumes++;
                if (!has_option(m->options, "ro")) {
                        v->host_dir = strdup(m->source);
                        if (!v->host_dir) {
                                r = -ENOMEM;
                                break;
                        }
                }
                r = vmiso_make_ext4(m->source, v->image);
                if (r < 0) {
                        err_prefix(r, "mounts: volume '%s'", m->source);
                        break;
                }
                snprintf(dev, sizeof(dev), "vd%c", (char)('b' + p->n_volumes - 1));
                const char *parts[] = {dev, m->destination, "ext4",
                                       has_option(m->options, "ro") ? "ro" : ""};
                r = agent_buf_field_parts(&p->frame, AGENT_C_MOUNT, parts, 4);
        }
        if (r >= 0)
                r = agent_buf_put(&p->frame, files.data, files.len);
        agent_buf_free(&files);
        if (r < 0)
                return r;
        agent_buf_end(&p->frame);
        /* Room for the SEED and CLOCK fields that the shim puts in front (vm-shim.c). */
        if (p->frame.len + 16 + AGENT_SEED_SIZE + AGENT_CLOCK_SIZE > AGENT_MAX_FROM_HOST)
                return err_set(-E2BIG, "mounts: the files for the VM exceed %u bytes", AGENT_MAX_FROM_HOST);
        return 0;
}

/* ------------------------------------------------------------------ processes */

int vmiso_exec_fields(struct agent_buf *b, const struct oci_process *p)
{
        char v[96];
        int r = 0;

        for (size_t i = 0; r >= 0 && p->args && p->args[i]; i++)
                r = agent_buf_field_str(b, AGENT_E_ARG, p->args[i]);
        for (size_t i = 0; r >= 0 && p->env && p->env[i]; i++)
                r = agent_buf_field_str(b, AGENT_E_ENV, p->env[i]);
        if (r >= 0 && p->cwd)
                r = agent_buf_field_str(b, AGENT_E_CWD, p->cwd);
        snprintf(v, sizeof(v), "%" PRIu32 ":%" PRIu32, p->user.uid, p->user.gid);
        if (r >= 0)
                r = agent_buf_field_str(b, AGENT_E_USER, v);
        for (size_t i = 0; r >= 0 && i < p->user.n_additional_gids; i++) {
                snprintf(v, sizeof(v), "%u", (unsigned)p->user.additional_gids[i]);
                r = agent_buf_field_str(b, AGENT_E_GROUP, v);
        }
        if (r >= 0 && p->terminal)
                r = agent_buf_field(b, AGENT_E_TERMINAL, NULL, 0);
        for (size_t i = 0; r >= 0 && i < p->n_rlimits; i++) {
                snprintf(v, sizeof(v), "%d:%" PRIu64 ":%" PRIu64, p->rlimits[i].resource, p->rlimits[i].soft,
                         p->rlimits[i].hard);
                r = agent_buf_field_str(b, AGENT_E_RLIMIT, v);
        }
        if (r >= 0 && p->has_console_size) {
                snprintf(v, sizeof(v), "%" PRIu32 ":%" PRIu32, p->console_height, p->console_width);
                r = agent_buf_field_str(b, AGENT_E_ROWS_COLS, v);
        }
        return r;
}

/* A listening socket named name in the directory dir_fd (through /proc: state paths can be long). */
static int listen_in(int dir_fd, const char *name, int type)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir_fd, name);
        unlinkat(dir_fd, name, 0);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return err_set(negative_errno(), "cannot listen on '%s': %m", name);
        return TAKE_FD(fd);
}

int vmiso_connect_in(int dir_fd, const char *name, int type)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        if (dir_fd == AT_FDCWD)
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
        else
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir_fd, name);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

static int console_send(const char *path, int master)
{
        _cleanup_close_ int fd = console_socket_connect(path);
        return fd < 0 ? fd : unix_send_fd(fd, master, "console");
}

/* A pty whose slave is raw: the guest's own terminal does the line discipline. */
static int open_pty(const struct oci_process *p, int *ret_master, int *ret_slave)
{
        _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -EBADF;
        char name[128];
        struct termios t;

        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
            ptsname_r(master, name, sizeof(name)) != 0)
                return err_set(negative_errno(), "cannot create a terminal: %m");
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return err_set(negative_errno(), "cannot open the terminal '%s': %m", name);
        if (tcgetattr(slave, &t) == 0) {
                cfmakeraw(&t);
                tcsetattr(slave, TCSANOW, &t);
        }
        if (p->has_console_size) {
                struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                                     .ws_col = (unsigned short)p->console_width};
                ioctl(master, TIOCSWINSZ, &ws);
        }
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* The calling (child) process takes the pty slave as its controlling terminal, for SIGWINCH. */
static void take_terminal(int slave)
{
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
}

/* The shim's stamps (vm-shim.c), for the steps create does before the shim exists. */
static void stamp_create(const struct vmiso_shim *sh, const char *step)
{
        struct timespec t;

        if (!sh->debug)
                return;
        clock_gettime(CLOCK_MONOTONIC, &t);
        fprintf(stderr, "hull-shim: T+%ld %s\n", t.tv_sec * 1000 + t.tv_nsec / 1000000 - sh->t0_ms, step);
}

/* The container's root disk at image: an overlay on the tree's cached base (vm-disk.c). */
static int make_root_disk(const struct create_options *o, const struct oci_config *cfg, const char *rootfs,
                          const char *image)
{
        _cleanup_free_ char *cache_dir = strdup_printf("%s/" VMISO_DISK_CACHE_DIR, o->root);
        if (!cache_dir)
                return -ENOMEM;
        struct vmiso_disk_cache cache = {.dir = cache_dir,
                                         .max_entries = VMISO_DISK_CACHE_MAX_ENTRIES,
                                         .max_bytes = VMISO_DISK_CACHE_MAX_BYTES};
        int r = vmiso_root_disk(rootfs, config_annotation(cfg, "io.hull.isolation.rootfs-base"), &cache,
                                image);
        if (r < 0)
                return err_prefix(r, "root.path: cannot make the VM's root disk of '%s'", rootfs);
        return 0;
}

int vmiso_create(const struct create_options *o, const struct oci_config *cfg, const char *config_buf,
                 size_t config_len, const char *bundle, const char *rootfs, int *ret_exit)
{
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *why = NULL, *image = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        struct create_plan plan = {};
        struct vmiso_template_plan tmpl = {.fd = -EBADF};
        struct vmiso_shim sh = {.agent_listen = -EBADF,
                                .exec_listen = -EBADF,
                                .ready_fd = -EBADF,
                                .fifo_fd = -EBADF,
                                .in_fd = -EBADF,
                                .out_fd = -EBADF,
                                .err_fd = -EBADF,
                                .template_fd = -EBADF,
                                .disk_fd = -EBADF,
                                .api_listen = -EBADF,
                                .boot_timeout_ms = 120000};
        struct container_state *s = NULL;
        _cleanup_free_ int *cg_fds = NULL;
        size_t n_cg_fds = 0;
        struct vmiso_size size;
        struct vmiso_overhead overhead;
        int ready[2] = {-EBADF, -EBADF};
        enum vmm_kind kind = VMM_QEMU;
        enum disk_format root_format = DISK_FORMAT_RAW;
        const char *keep;
        bool kvm = false;
        int disk_ready[2] = {-EBADF, -EBADF};
        pid_t pid = 0;
        int r;

        {
                struct timespec t;
                clock_gettime(CLOCK_MONOTONIC, &t);
                sh.t0_ms = t.tv_sec * 1000 + t.tv_nsec / 1000000;
                sh.debug = streq(config_annotation(cfg, "io.hull.isolation.debug") ?: "", "1");
        }
        if (!cfg->process || !cfg->process->args || !cfg->process->args[0])
                return err_set(-EINVAL, "process.args: a VM-isolated container needs a process to run");
        if ((r = find_asset(cfg, "HULL_GUEST_KERNEL", "io.hull.isolation.kernel", "vmlinuz", &kernel)) < 0 ||
            (r = find_asset(cfg, "HULL_AGENT_INITRD", "io.hull.isolation.initrd", "agent.cpio", &initrd)) <
                    0 ||
            (r = choose_vmm(cfg, &kind, &kvm, &why)) < 0)
                return r;
        overhead = vmm_overhead(kind, kvm);
        r = vmiso_size(cfg, &overhead, &size);
        if (r < 0)
                return r;
        log_debug("vm isolation: %s; %d MiB (%s), %d vCPUs (%s)", why, size.memory_mib, size.memory_why,
                  size.cpus, size.cpus_why);

        r = state_claim(o->root, o->id, &s);
        if (r < 0)
                return r;
        s->bundle = strdup(bundle);
        s->rootfs = strdup(rootfs);
        s->created = rfc3339_now();
        s->annotations = json_object_new_object();
        if (!s->bundle || !s->rootfs || !s->created || !s->annotations) {
                r = -ENOMEM;
                goto undo;
        }
        for (size_t i = 0; i < cfg->n_annotations; i++)
                json_object_object_add(s->annotations, cfg->annotations[i].key,
                                       json_object_new_string(cfg->annotations[i].value));
        {
                _cleanup_close_ int fd =
                        openat(s->dir_fd, "vmm", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || write_all(fd, why, strlen(why)) < 0 || write_all(fd, "\n", 1) < 0 ||
                    vmiso_size_save(s->dir, why, &size) < 0) {
                        r = err_set(-EIO, "cannot record the VMM in the state directory");
                        goto undo;
                }
        }
        /*
         * Every process of the container's host side is born in its cgroup: the shim is created in
         * the cgroup2 hierarchy (cgroup_clone(): a move there would wait for an RCU grace period,
         * 15 ms here) and joins the v1 ones first thing, before it starts the VMM, by writing "0"
         * to their `tasks` files, which takes no threadgroup lock (cgroup.h).
         */
        if ((r = vmiso_cgroup_create(cfg, o->id, &s->cgroup)) < 0)
                goto undo;
        /*
         * io.hull.isolation.rootfs-disk names a disk that outlives the runtime's container (hull's
         * engine keeps one per container, so that the guest's changes survive a restart): made
         * the first time only. Otherwise the disk is the state's. Either way a qcow2 overlay on
         * a base that is made once (vm-disk.c); a kept disk from before overlays stays raw.
         */
        keep = config_annotation(cfg, "io.hull.isolation.rootfs-disk");
        image = keep ? strdup(keep) : strdup_printf("%s/rootfs.qcow2", s->dir);
        if (!image) {
                r = -ENOMEM;
                goto undo;
        }
        if (strchr(image, ',')) {
                r = err_set(-EINVAL, "io.hull.isolation.rootfs-disk: a ',' in '%s' cannot be given to a VMM",
                            image);
                goto undo;
        }
        /*
         * A disk still to be made is made while hull-vmm boots the VM (`late`: the VMM opens it
         * when the shim says so, before the agent gets CREATE): the walk of the tree for the disk
         * cache's key, and mke2fs on a miss, are then off the container's path. QEMU opens its
         * disks as it starts: made first.
         */
        if (!keep || access(image, F_OK) < 0) {
                if (kind == VMM_HULL) {
                        sh.api_listen = listen_in(s->dir_fd, VMISO_API_SOCK, SOCK_STREAM);
                        if (sh.api_listen < 0) {
                                r = sh.api_listen;
                                goto undo;
                        }
                } else if ((r = make_root_disk(o, cfg, rootfs, image)) < 0)
                        goto undo;
                else
                        stamp_create(&sh, "root disk ready");
        }
        root_format = sh.api_listen >= 0 ? DISK_FORMAT_QCOW2 : vmiso_disk_format(image);
        r = plan_create(cfg, s->dir, &plan);
        if (r >= 0)
                r = vmm_argv(cfg, kind, kvm, &size, kernel, initrd, image, root_format, sh.api_listen,
                             1 + plan.n_volumes, &plan.net, plan.shares, plan.n_shares, &argv);
        if (r >= 0 && kind == VMM_HULL) {
                struct vmiso_template_spec sp = {.kernel = kernel,
                                                 .initrd = initrd,
                                                 .cpus = size.cpus,
                                                 .memory_mib = size.memory_mib,
                                                 .n_disks = 1 + plan.n_volumes,
                                                 .n_nics = plan.net.n,
                                                 .n_shares = plan.n_shares};
                r = vmiso_template_plan(cfg, o->root, AGENT_VSOCK_PORT, &sp, &argv, &tmpl);
        } else
                snprintf(tmpl.note, sizeof(tmpl.note),
                         "cold: templates are hull-vmm's (QEMU boots every VM)");
        if (r < 0 || (r = vmiso_exec_fields(&sh.main_fields, cfg->process)) < 0)
                goto undo;
        if (tmpl.note[0]) {
                _cleanup_close_ int fd =
                        openat(s->dir_fd, "template", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || write_all(fd, tmpl.note, strlen(tmpl.note)) < 0 ||
                    write_all(fd, "\n", 1) < 0) {
                        r = err_set(-EIO, "cannot record the VM template in the state directory");
                        goto undo;
                }
                log_debug("vm isolation: %s", tmpl.note);
        }

        sh.agent_listen =
                listen_in(s->dir_fd, kind == VMM_HULL ? VMISO_VSOCK_UDS "_" AGENT_VSOCK_PORT : "agent.sock",
                          SOCK_STREAM);
        if (sh.agent_listen < 0) {
                r = sh.agent_listen;
                goto undo;
        }
        sh.exec_listen = listen_in(s->dir_fd, "exec.sock", SOCK_SEQPACKET);
        if (sh.exec_listen < 0) {
                r = sh.exec_listen;
                goto undo;
        }
        if (o->mode == CREATE_ONLY) {
                if (mkfifoat(s->dir_fd, "exec.fifo", 0600) < 0) {
                        r = err_set(negative_errno(), "cannot create exec.fifo: %m");
                        goto undo;
                }
                sh.fifo_fd = openat(s->dir_fd, "exec.fifo", O_RDWR | O_CLOEXEC);
                if (sh.fifo_fd < 0) {
                        r = negative_errno();
                        goto undo;
                }
        }
        if (cfg->process->terminal) {
                if ((r = open_pty(cfg->process, &master, &slave)) < 0)
                        goto undo;
                if (o->console_socket && (r = console_send(o->console_socket, master)) < 0)
                        goto undo;
                sh.in_fd = sh.out_fd = sh.err_fd = slave;
                sh.terminal = true;
        } else {
                sh.in_fd = STDIN_FILENO;
                sh.out_fd = STDOUT_FILENO;
                sh.err_fd = STDERR_FILENO;
        }
        if (pipe2(ready, O_CLOEXEC) < 0) {
                r = negative_errno();
                goto undo;
        }
        sh.ready_fd = ready[1];
        if (sh.api_listen >= 0) {
                if (pipe2(disk_ready, O_CLOEXEC) < 0) {
                        r = negative_errno();
                        goto undo;
                }
                sh.disk_fd = disk_ready[0];
        }
        sh.create_frame = plan.frame;
        /*
         * CREATE's CLOCK and SEED must reach a restored guest, and an agent older than protocol 3
         * refuses them: with a template the shim sends CREATE early only when the template says
         * which protocol its agent speaks, else after HELLO (vm-shim.c, send_create()).
         */
        sh.create_early = kind == VMM_HULL && !tmpl.key[0];
        if (tmpl.fd >= 0) {
                /* A hit whose agent is known to speak 3: CREATE as the connection arrives. */
                sh.agent_version = vmiso_template_agent_version(tmpl.fd);
                sh.create_early = sh.agent_version >= 3;
        } else
                sh.template_making = tmpl.key[0] != 0;
        sh.template_fd = tmpl.fd;
        sh.vmm_argv_cold = tmpl.cold_argv;
        sh.restore_timeout_ms = tmpl.restore_timeout_ms;
        sh.template_cache = tmpl.cache;
        sh.template_key = tmpl.key;
        sh.volumes = plan.volumes;
        sh.n_volumes = plan.n_volumes;
        sh.shares = plan.shares;
        sh.n_shares = plan.n_shares;
        sh.tap_fds = plan.tap_fds;
        sh.n_taps = plan.net.n;
        sh.vmm_argv = argv;
        /* The guest's console: in the state directory, or where io.hull.isolation.console says (debugging).
         */
        sh.console = config_annotation(cfg, "io.hull.isolation.console") ?: "console.log";

        fflush(NULL);
        pid = cgroup_clone(s->cgroup, true, 0, &cg_fds, &n_cg_fds);
        if (pid < 0) {
                r = err_prefix(pid, "cannot start the VM's shim");
                pid = 0;
                goto undo;
        }
        if (pid == 0) {
                int keep_fds[8 + VMISO_MAX_NICS] = {sh.agent_listen, sh.exec_listen, sh.ready_fd,
                                                    sh.fifo_fd,      slave,          sh.template_fd,
                                                    sh.disk_fd,      sh.api_listen};
                for (size_t i = 0; i < sh.n_taps; i++)
                        keep_fds[8 + i] = sh.tap_fds[i];
                for (size_t i = 0; i < n_cg_fds; i++)
                        if (write(cg_fds[i], "0", 1) != 1) {
                                dprintf(sh.ready_fd, "cannot join the container's cgroup: %m");
                                _exit(125);
                        }
                /* The state directory's fd holds create's flock: the shim must not keep it. */
                close_all_fds(3, keep_fds, 8 + sh.n_taps);
                if (chdir(s->dir) < 0)
                        _exit(125);
                if (sh.terminal)
                        take_terminal(slave);
                else
                        setsid();
                vmiso_shim_main(&sh);
        }
        ready[1] = safe_close(ready[1]);
        disk_ready[0] = safe_close(disk_ready[0]);
        for (; n_cg_fds > 0; n_cg_fds--)
                safe_close(cg_fds[n_cg_fds - 1]);
        /* The shim has the taps: a foreground run must not keep them past the VMM. */
        vmiso_net_done(&plan.net);
        if (sh.api_listen >= 0) {
                if ((r = make_root_disk(o, cfg, rootfs, image)) < 0)
                        goto undo;
                stamp_create(&sh, "root disk ready");
                if (write(disk_ready[1], "ok", 2) != 2) {
                        r = err_set(-EIO, "cannot tell the VM's shim that the root disk is ready: %m");
                        goto undo;
                }
                disk_ready[1] = safe_close(disk_ready[1]);
        }
        {
                char msg[1024];
                ssize_t k;
                do
                        k = read(ready[0], msg, sizeof(msg) - 1);
                while (k < 0 && errno == EINTR);
                msg[k > 0 ? k : 0] = 0;
                if (!streq(msg, "ok")) {
                        r = err_set(-EIO, "cannot start the container's VM: %s",
                                    msg[0] ? msg : "its shim ended without a word");
                        goto undo;
                }
        }
        /* The VM exists once its agent has answered: KVM's worker threads are in the cgroup by now. */
        vmiso_cgroup_release_kthreads(s->cgroup);
        s->pid = pid;
        r = proc_start_time(pid, &s->pid_start);
        if (r < 0) {
                err_set(r, "the VM's shim vanished during create");
                goto undo;
        }
        if ((r = state_save_config(s, config_buf, config_len)) < 0 || (r = state_save(s)) < 0) {
                err_prefix(r, "cannot save the container state");
                goto undo;
        }
        if (o->pid_file && (r = write_pid_file(o->pid_file, pid)) < 0)
                goto undo;
        if (o->mode == RUN_FOREGROUND) {
                int status = 0;
                char id[1025];
                flock(s->dir_fd, LOCK_UN);
                slave = safe_close(slave);
                r = wait_forwarding(pid, o->console_socket ? -EBADF : master, &status);
                *ret_exit = status;
                snprintf(id, sizeof(id), "%s", o->id);
                state_free(s);
                s = NULL;
                int k = container_delete(o->root, id, true);
                if (k < 0 && r >= 0)
                        r = k;
        }
        goto out;
undo : {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        if (s && s->cgroup) {
                /* The VMM goes with the shim (PR_SET_PDEATHSIG), but may not be gone yet. */
                cgroup_kill_all(s->cgroup, SIGKILL);
                cgroup_destroy(s->cgroup);
        }
        state_remove(s);
        err_set(r, "%s", msg);
}
out:
        for (size_t i = 0; i < n_cg_fds; i++)
                safe_close(cg_fds[i]);
        safe_close(ready[0]);
        safe_close(ready[1]);
        safe_close(disk_ready[0]);
        safe_close(disk_ready[1]);
        safe_close(sh.agent_listen);
        safe_close(sh.exec_listen);
        safe_close(sh.api_listen);
        safe_close(sh.fifo_fd);
        agent_buf_free(&sh.main_fields);
        create_plan_done(&plan);
        vmiso_template_plan_done(&tmpl);
        state_free(s);
        return r;
}

/* ------------------------------------------------------------------ exec */

/* The exec proxy: hands its stdio to the shim, forwards its signals, exits with the guest process's status.
 */
static _noreturn_ void exec_proxy(int sock, const struct agent_buf *fields, int tty)
{
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(3 * sizeof(int))];
        } ctl = {};
        int fds[3] = {tty >= 0 ? tty : 0, tty >= 0 ? tty : 1, tty >= 0 ? tty : 2};
        struct iovec iov = {fields->data, fields->len};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
        struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
        sigset_t mask;
        int sfd;

        sigfillset(&mask);
        sigdelset(&mask, SIGSEGV);
        sigdelset(&mask, SIGBUS);
        sigdelset(&mask, SIGILL);
        sigdelset(&mask, SIGFPE);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(fds));
        memcpy(CMSG_DATA(h), fds, sizeof(fds));
        if (sfd < 0 || sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
                dprintf(2, "hull-runtime: cannot reach the container's VM: %m\n");
                _exit(126);
        }
        for (;;) {
                struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
                if (poll(p, 2, -1) < 0)
                        continue;
                if (p[0].revents) {
                        struct vmiso_exec_reply rep = {};
                        ssize_t k = recv(sock, &rep, sizeof(rep), 0);
                        if (k != sizeof(rep)) {
                                dprintf(2, "hull-runtime: the container's VM went away\n");
                                _exit(255);
                        }
                        rep.message[sizeof(rep.message) - 1] = 0;
                        if (rep.message[0])
                                dprintf(2, "%s\n", rep.message);
                        _exit(rep.status >= 0 && rep.status < 256 ? rep.status : 255);
                }
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        uint32_t msg[2];
                        if (read(sfd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo == SIGCHLD)
                                continue;
                        msg[0] = VMISO_CTL_SIGNAL;
                        msg[1] = si.ssi_signo;
                        if (si.ssi_signo == SIGWINCH) {
                                struct winsize ws;
                                if (tty < 0 || ioctl(tty, TIOCGWINSZ, &ws) < 0)
                                        continue;
                                msg[0] = VMISO_CTL_RESIZE;
                                msg[1] = (uint32_t)ws.ws_row << 16 | ws.ws_col;
                        }
                        (void)!send(sock, msg, sizeof(msg), MSG_NOSIGNAL);
                }
        }
}

int vmiso_exec(const struct exec_options *o, struct container_state *s, int *ret_exit)
{
        _cleanup_close_ int sock = -EBADF, master = -EBADF, slave = -EBADF;
        struct agent_buf fields = {};
        pid_t pid;
        int r;

        if (o->process->terminal && !o->console_socket && o->detach)
                return err_set(-EINVAL, "--tty: a terminal needs --console-socket when detached");
        sock = vmiso_connect_in(s->dir_fd, "exec.sock", SOCK_SEQPACKET);
        if (sock < 0)
                return err_set(sock, "cannot exec in container '%s': its VM does not answer: %s", o->id,
                               strerror(-sock));
        r = vmiso_exec_fields(&fields, o->process);
        if (r < 0)
                goto out;
        if (o->process->terminal) {
                if ((r = open_pty(o->process, &master, &slave)) < 0)
                        goto out;
                if (o->console_socket && (r = console_send(o->console_socket, master)) < 0)
                        goto out;
        }
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                r = err_set(negative_errno(), "cannot create the exec process: %m");
                goto out;
        }
        if (pid == 0) {
                if (slave >= 0)
                        take_terminal(slave);
                exec_proxy(sock, &fields, slave);
        }
        if (o->pid_file && (r = write_pid_file(o->pid_file, pid)) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                goto out;
        }
        if (!o->detach) {
                slave = safe_close(slave);
                sock = safe_close(sock);
                r = wait_forwarding(pid, o->console_socket ? -EBADF : master, ret_exit);
        }
out:
        agent_buf_free(&fields);
        return r;
}
