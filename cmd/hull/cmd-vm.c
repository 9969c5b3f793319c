/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-vm.c - `hull vm create|run|start|stop|kill|rm|ls|inspect|pause|unpause` and the
 * hidden `hull vm monitor` (the VM's monitor process, src/engine/vm-monitor.c). The VM's
 * console, logs and exec are in cmd-vm-console.c. The engine side is src/engine/vm.h.
 */
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd-vm.h"
#include "ctr-format.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "util.h"
#include "vm.h"

/* One option per line reads better than what the formatter makes of a macro. */
/* clang-format off */
#define VM_CREATE_OPTS \
        {"name", 0, OPT_VALUE, "NAME", "name the VM (default: a generated adjective_noun)"}, \
        {"vmm", 0, OPT_VALUE, "hull|qemu", "the VMM (default: hull-vmm where /dev/kvm runs Linux, else qemu)"}, \
        {"kernel", 0, OPT_VALUE, "FILE", "boot this kernel (bzImage or ELF) instead of an image"}, \
        {"initrd", 0, OPT_VALUE, "FILE", "the initramfs of --kernel"}, \
        {"cmdline", 0, OPT_VALUE, "STRING", "kernel command line (--kernel: all of it; image VMs: appended)"}, \
        {"boot-disk", 0, OPT_VALUE, "FILE", "boot this disk image through firmware (qemu only)"}, \
        {"firmware", 0, OPT_VALUE, "bios|uefi", "the firmware of --boot-disk (default bios: SeaBIOS)"}, \
        {"cpus", 0, OPT_VALUE, "N", "virtual CPUs (default 1)"}, \
        {"memory", 'm', OPT_VALUE, "SIZE", "memory (default 512M)"}, \
        {"disk", 0, OPT_MULTI, "PATH[:MOUNT][,ro][,format=F]", "attach a disk image (mounted at MOUNT in image VMs)"}, \
        {"volume", 'v', OPT_MULTI, "NAME:MOUNT[,size=S]", "a named volume as an ext4 disk at MOUNT (default 1G)"}, \
        {"hostname", 'h', OPT_VALUE, "NAME", "the guest's host name (default: the VM's name)"}, \
        {"ssh-key", 0, OPT_MULTI, "KEY|FILE", "an authorized key for root (a key line, or a file of them)"}, \
        {"user-data", 0, OPT_VALUE, "FILE", "a script run once at the first boot"}, \
        {"env", 'e', OPT_MULTI, "KEY=VALUE", "an environment variable of the main process"}, \
        {"workdir", 'w', OPT_VALUE, "DIR", "the main process's working directory"}, \
        {"user", 'u', OPT_VALUE, "UID[:GID]", "run the main process as this user"}, \
        {"restart", 0, OPT_VALUE, "POLICY", "no (default), on-failure[:N], always, unless-stopped"}, \
        {"network", 0, OPT_MULTI, "NETWORK", "a network NAME (default: the network 'hull'), or none"}, \
        {"ip", 0, OPT_VALUE, "IPV4", "the VM's IPv4 address on its network"}, \
        {"ip6", 0, OPT_VALUE, "IPV6", "(not for VMs yet)"}, \
        {"mac-address", 0, OPT_VALUE, "MAC", "the MAC address of the VM's NIC"}, \
        {"network-alias", 0, OPT_MULTI, "NAME", "another DNS name of the VM on its network"}, \
        {"publish", 'p', OPT_MULTI, "[IP:][HOSTPORT:]PORT[/PROTO]", "publish a port of the guest"}, \
        {"publish-all", 'P', OPT_FLAG, NULL, "(not for VMs)"}, \
        {"dns", 0, OPT_MULTI, "IP", "a DNS server for the guest (replaces the network's)"}, \
        {"dns-search", 0, OPT_MULTI, "DOMAIN", "a DNS search domain"}, \
        {"dns-option", 0, OPT_MULTI, "OPT", "a resolv.conf option"}, \
        {"egress", 0, OPT_MULTI, "RULE", "outbound policy: allow|deny=all|tcp|udp|icmp[:PORT[-PORT]][@CIDR]"}, \
        {"ingress", 0, OPT_MULTI, "RULE", "inbound policy, same rules (ports are the guest's)"}, \
        {"add-host", 0, OPT_MULTI, "HOST:IP", "a line of the guest's /etc/hosts (IP host-gateway: the gateway)"}
/* clang-format on */

const struct cmd_option vm_create_opts[] = {VM_CREATE_OPTS, {}};
const struct cmd_option vm_run_opts[] = {
        VM_CREATE_OPTS,
        {"detach", 'd', OPT_FLAG, NULL, "start it and print its id"},
        {"interactive", 'i', OPT_FLAG, NULL, "send this terminal's input to the console"},
        {"rm", 0, OPT_FLAG, NULL, "remove the VM when it ends (its disks and volumes stay)"},
        {},
};
const struct cmd_option vm_start_opts[] = {
        {"attach", 'a', OPT_FLAG, NULL, "print the console until the VM ends, and exit with its code"},
        {},
};
const struct cmd_option vm_stop_opts[] = {
        {"time", 't', OPT_VALUE, "SECONDS",
         "wait this long after the power button before killing the VMM (default 10)"},
        {},
};
const struct cmd_option vm_kill_opts[] = {
        {"signal", 's', OPT_VALUE, "SIGNAL", "the signal for the VMM process (default KILL)"},
        {},
};
const struct cmd_option vm_rm_opts[] = {
        {"force", 'f', OPT_FLAG, NULL, "kill a running VM first"},
        {},
};
const struct cmd_option vm_ls_opts[] = {
        {"all", 'a', OPT_FLAG, NULL, "show every VM (default: running ones)"},
        {"quiet", 'q', OPT_FLAG, NULL, "print ids only"},
        {"format", 0, OPT_VALUE, "FORMAT", "table (default) or json"},
        {},
};
const struct cmd_option vm_monitor_opts[] = {
        {"console-fd", 0, OPT_VALUE, "FD", "a console client connected before the VMM starts"},
        {},
};

/* A file of keys, or one key given on the command line. */
static int add_ssh_keys(struct vmconf *conf, const char *arg)
{
        _cleanup_free_ char *buf = NULL;

        if (access(arg, R_OK) < 0)
                return strv_extend(&conf->ssh_keys, arg);
        int r = read_full_file(arg, 1 << 20, &buf, NULL);
        if (r < 0)
                return cmd_fail(r, "--ssh-key: cannot read '%s'", arg);
        for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
                if (*l && *l != '#' && strv_extend(&conf->ssh_keys, l) < 0)
                        return -ENOMEM;
        return 0;
}

static int dup_opt(struct cmd_context *c, const char *name, char **ret)
{
        const char *v = cmd_opt(c, name);
        if (!v)
                return 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

/* Options into a spec; the positional arguments are IMAGE [CMD...] unless --kernel/--boot-disk. */
static int spec_from_options(struct cmd_context *c, struct vm_spec *s)
{
        const char *v;
        int r;

        if ((r = dup_opt(c, "vmm", &s->vmm)) < 0 || (r = dup_opt(c, "kernel", &s->kernel)) < 0 ||
            (r = dup_opt(c, "initrd", &s->initrd)) < 0 || (r = dup_opt(c, "cmdline", &s->cmdline)) < 0 ||
            (r = dup_opt(c, "boot-disk", &s->boot_disk)) < 0 ||
            (r = dup_opt(c, "firmware", &s->firmware)) < 0 ||
            (r = dup_opt(c, "hostname", &s->conf.hostname)) < 0 ||
            (r = dup_opt(c, "workdir", &s->conf.workdir)) < 0 ||
            (r = dup_opt(c, "user", &s->conf.user)) < 0 || (r = dup_opt(c, "restart", &s->restart)) < 0)
                return r;
        /* The containers' parser: the same options mean the same on both kinds of workload. */
        if (!(s->net = runspec_new()))
                return -ENOMEM;
        if ((r = cmd_network_options(c, s->net)) < 0)
                return cmd_fail(r, "%s", "invalid network option");
        STRV_FOREACH (h, cmd_opt_all(c, "add-host"))
                if (strv_extend(&s->net->add_hosts, *h) < 0)
                        return -ENOMEM;
        /* Absolute paths: the monitor runs the VMM from the VM's directory. */
        char **paths[] = {&s->kernel, &s->initrd, &s->boot_disk};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                if (!*paths[i])
                        continue;
                char *abs = realpath(*paths[i], NULL);
                if (!abs)
                        return cmd_fail(-errno, "cannot find '%s'", *paths[i]);
                free(*paths[i]);
                *paths[i] = abs;
        }
        if (s->firmware && !streq(s->firmware, "bios") && !streq(s->firmware, "uefi"))
                return cmd_fail(-EINVAL, "--firmware: unknown firmware '%s' (bios, uefi)", s->firmware);
        if ((v = cmd_opt(c, "cpus"))) {
                uint32_t n;
                if (parse_u32(v, &n) < 0 || n == 0 || n > 64)
                        return cmd_fail(-EINVAL, "--cpus: invalid number '%s' (1 to 64)", v);
                s->cpus = n;
        }
        if ((v = cmd_opt(c, "memory")) && parse_size(v, &s->memory) < 0)
                return cmd_fail(-EINVAL, "--memory: invalid size '%s'", v);
        STRV_FOREACH (d, cmd_opt_all(c, "disk"))
                if ((r = vm_spec_add_disk(s, *d)) < 0)
                        return cmd_fail(r, "%s", "invalid disk");
        STRV_FOREACH (d, cmd_opt_all(c, "volume"))
                if ((r = vm_spec_add_volume(s, *d)) < 0)
                        return cmd_fail(r, "%s", "invalid volume");
        STRV_FOREACH (k, cmd_opt_all(c, "ssh-key"))
                if ((r = add_ssh_keys(&s->conf, *k)) < 0)
                        return r;
        STRV_FOREACH (e, cmd_opt_all(c, "env")) {
                const char *val = strchr(*e, '=') ? NULL : getenv(*e);
                _cleanup_free_ char *kv = val ? strdup_printf("%s=%s", *e, val) : strdup(*e);
                if (!kv || strv_extend(&s->conf.env, kv) < 0)
                        return -ENOMEM;
        }
        if ((v = cmd_opt(c, "user-data"))) {
                r = read_full_file(v, 512 * 1024, &s->conf.user_data, NULL);
                if (r < 0)
                        return cmd_fail(r, "--user-data: cannot read '%s'", v);
        }
        if (!s->kernel && !s->boot_disk) {
                if (c->argc < 1)
                        return cmd_fail(-EINVAL, "%s", "an IMAGE, --kernel or --boot-disk is needed");
                if (!(s->image = strdup(c->argv[0])))
                        return -ENOMEM;
                for (int i = 1; i < c->argc; i++)
                        if (strv_extend(&s->conf.argv, c->argv[i]) < 0)
                                return -ENOMEM;
        } else if (c->argc > 0)
                return cmd_fail(-EINVAL, "unexpected argument '%s' (a command needs an image VM)",
                                c->argv[0]);
        return 0;
}

static int create(struct cmd_context *c, struct workload **ret)
{
        _cleanup_(vm_spec_done) struct vm_spec s = {};
        int r;

        if ((r = spec_from_options(c, &s)) < 0)
                return r;
        s.auto_remove = c->cmd->run == cmd_vm_run && cmd_flag(c, "rm");
        r = vm_create(c->engine, cmd_opt(c, "name"), &s, ret);
        if (r < 0)
                return cmd_fail(r, "creating the VM");
        return 0;
}

int cmd_vm_create(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r = create(c, &w);
        if (r < 0)
                return r;
        printf("%s\n", w->id);
        return 0;
}

/*
 * Relay the console to stdout (and stdin to it with interactive) until the monitor closes
 * it, which it does once the VM is over; SIGINT/SIGTERM stop the VM (the power button).
 */
static int relay_console(struct cmd_context *c, struct workload *w, int fd, bool interactive)
{
        sigset_t mask;
        _cleanup_close_ int sfd = -EBADF;
        bool stopping = false;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        for (;;) {
                struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
                                      {.fd = interactive ? 0 : -1, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN}};
                char buf[16384];
                ssize_t n;

                if (poll(p, 3, -1) < 0 && errno != EINTR)
                        return -errno;
                if (p[0].revents) {
                        n = read(fd, buf, sizeof(buf));
                        if (n <= 0)
                                return 0;
                        (void)!write_all(1, buf, (size_t)n);
                }
                if (p[1].revents) {
                        n = read(0, buf, sizeof(buf));
                        if (n <= 0)
                                interactive = false;
                        else
                                (void)!write_all(fd, buf, (size_t)n);
                }
                if (p[2].revents) {
                        struct signalfd_siginfo si;
                        (void)!read(sfd, &si, sizeof(si));
                        /* A second signal kills it. */
                        if (stopping)
                                (void)vm_kill(c->engine, w, SIGKILL);
                        else if (vm_stop(c->engine, w, 10) < 0)
                                err_clear();
                        stopping = true;
                }
        }
}

/* Start and, unless detached, stay on the console; the exit status is the VM's. */
static int start_one(struct cmd_context *c, struct workload *w, bool attach, bool interactive, bool rm)
{
        struct vm_start_result res = {.console_fd = -EBADF};
        int r, code;

        r = vm_start(c->engine, w, attach, &res);
        if (r < 0) {
                vm_start_result_done(&res);
                if (rm)
                        (void)vm_remove(c->engine, w, true);
                return cmd_fail(r, "starting vm '%s'", w->name);
        }
        fprintf(stderr, "hull: vm '%s': %s\n", w->name, res.reason);
        if (!attach) {
                vm_start_result_done(&res);
                return 0;
        }
        r = relay_console(c, w, res.console_fd, interactive);
        vm_start_result_done(&res);
        if (r < 0)
                return cmd_fail(r, "relaying the console of '%s'", w->name);
        if ((r = vm_wait(c->engine, w, &code)) < 0)
                return cmd_fail(r, "waiting for vm '%s'", w->name);
        if (w->error && w->error[0])
                fprintf(stderr, "hull: vm '%s': %s\n", w->name, w->error);
        c->exit_status = code < 0 ? EXIT_ENGINE_ERROR : code;
        if (rm && (r = vm_remove(c->engine, w, true)) < 0)
                return cmd_fail(r, "removing vm '%s'", w->name);
        return 0;
}

int cmd_vm_run(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        bool detach = cmd_flag(c, "detach");
        int r;

        if (detach && cmd_flag(c, "rm"))
                return cmd_fail(-EINVAL, "%s",
                                "--rm and --detach together: the VM would have nobody to remove it");
        if ((r = create(c, &w)) < 0)
                return r;
        r = start_one(c, w, !detach, cmd_flag(c, "interactive"), cmd_flag(c, "rm"));
        if (r >= 0 && detach)
                printf("%s\n", w->id);
        return r;
}

/* Run fn on each named VM; report each failure and go on, as podman does. */
static int each_vm(struct cmd_context *c, int (*fn)(struct cmd_context *c, struct workload *w),
                   const char *verb)
{
        int ret = 0;
        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                int r = vm_lookup(c->engine, c->argv[i], &w);
                if (r >= 0)
                        r = fn(c, w);
                if (r < 0)
                        ret = cmd_fail(r, "%s '%s'", verb, c->argv[i]);
                else if (r == 0)
                        printf("%s\n", c->argv[i]);
        }
        return ret;
}

static int start_fn(struct cmd_context *c, struct workload *w)
{
        int r = start_one(c, w, cmd_flag(c, "attach"), false, false);
        /* start_one reported its failure already. */
        return r < 0 ? -ECANCELED : cmd_flag(c, "attach") ? 1 : 0;
}

int cmd_vm_start(struct cmd_context *c)
{
        int r = 0;
        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                int k = vm_lookup(c->engine, c->argv[i], &w);
                if (k < 0) {
                        r = cmd_fail(k, "starting '%s'", c->argv[i]);
                        continue;
                }
                k = start_fn(c, w);
                if (k < 0)
                        r = k;
                else if (k == 0)
                        printf("%s\n", c->argv[i]);
        }
        return r;
}

static int stop_fn(struct cmd_context *c, struct workload *w)
{
        const char *t = cmd_opt(c, "time");
        int timeout = 10;
        if (t && (parse_int(t, &timeout) < 0 || timeout < 0))
                return err_set(-EINVAL, "--time: invalid number of seconds '%s'", t);
        return vm_stop(c->engine, w, timeout);
}

int cmd_vm_stop(struct cmd_context *c)
{
        return each_vm(c, stop_fn, "stopping");
}

static int kill_fn(struct cmd_context *c, struct workload *w)
{
        const char *s = cmd_opt(c, "signal");
        int sig = s ? signal_from_string(s) : SIGKILL;
        if (sig <= 0)
                return err_set(-EINVAL, "--signal: unknown signal '%s'", s);
        return vm_kill(c->engine, w, sig);
}

int cmd_vm_kill(struct cmd_context *c)
{
        return each_vm(c, kill_fn, "killing");
}

static int rm_fn(struct cmd_context *c, struct workload *w)
{
        return vm_remove(c->engine, w, cmd_flag(c, "force"));
}

int cmd_vm_rm(struct cmd_context *c)
{
        return each_vm(c, rm_fn, "removing");
}

static int pause_fn(struct cmd_context *c, struct workload *w)
{
        return vm_pause(c->engine, w, true);
}

static int unpause_fn(struct cmd_context *c, struct workload *w)
{
        return vm_pause(c->engine, w, false);
}

int cmd_vm_pause(struct cmd_context *c)
{
        return each_vm(c, pause_fn, "pausing");
}

int cmd_vm_unpause(struct cmd_context *c)
{
        return each_vm(c, unpause_fn, "resuming");
}

int cmd_vm_ls(struct cmd_context *c)
{
        static const char *const headers[] = {"VM ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"};
        static const char *const fields[] = {"ID", "Image", "Command", "Created", "Status", "Names"};
        _cleanup_table_ struct table *t = table_new(headers, fields, ELEMENTSOF(fields));
        _cleanup_json_ struct json_object *arr = json_object_new_array();
        const char *format = cmd_opt(c, "format");
        bool json = streq_ptr(format, "json");
        struct workload **l = NULL;
        size_t n = 0;
        int r;

        if (!t || !arr)
                return -ENOMEM;
        if ((r = vm_list(c->engine, &l, &n)) < 0)
                return cmd_fail(r, "%s", "listing VMs");
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct workload *w = l[i];
                char id[16], st[128], ago[64];
                if (!cmd_flag(c, "all") && w->state != WORKLOAD_RUNNING && w->state != WORKLOAD_PAUSED &&
                    w->state != WORKLOAD_RESTARTING)
                        continue;
                if (cmd_flag(c, "quiet")) {
                        printf("%.12s\n", w->id);
                        continue;
                }
                if (json) {
                        struct json_object *o = NULL;
                        if ((r = vm_inspect_json(c->engine, w, &o)) >= 0)
                                json_object_array_add(arr, o);
                        continue;
                }
                snprintf(id, sizeof(id), "%.12s", w->id);
                r = table_add_row(t,
                                  (const char *const[]){id, w->image_ref[0] ? w->image_ref : "-", w->command,
                                                        format_ago(w->created / 1000000000, ago),
                                                        ctr_status_line(w, st), w->name});
        }
        workload_list_free(l, n);
        if (r < 0)
                return cmd_fail(r, "%s", "listing VMs");
        if (cmd_flag(c, "quiet"))
                return 0;
        if (json) {
                puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        return table_print(t, NULL, false, stdout);
}

int cmd_vm_inspect(struct cmd_context *c)
{
        _cleanup_json_ struct json_object *arr = json_object_new_array();
        int ret = 0;

        if (!arr)
                return -ENOMEM;
        for (int i = 0; i < c->argc; i++) {
                _cleanup_workload_ struct workload *w = NULL;
                struct json_object *o = NULL;
                int r = vm_lookup(c->engine, c->argv[i], &w);
                if (r >= 0)
                        r = vm_inspect_json(c->engine, w, &o);
                if (r < 0) {
                        ret = cmd_fail(r, "inspecting '%s'", c->argv[i]);
                        continue;
                }
                json_object_array_add(arr, o);
        }
        puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return ret;
}

int cmd_vm_monitor(struct cmd_context *c)
{
        const char *v = cmd_opt(c, "console-fd");
        int fd = -EBADF;

        if (v && (parse_int(v, &fd) < 0 || fd < 3))
                return cmd_fail(-EINVAL, "--console-fd: invalid descriptor '%s'", v);
        c->exit_status = vm_monitor_main(c->argv[0], fd);
        return 0;
}

/* Looking the VM up brings its row up to date, which detaches it once its run is over (vm-net.c). */
int cmd_vm_cleanup(struct cmd_context *c)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r = vm_lookup(c->engine, c->argv[0], &w);
        return r == -ENOENT ? 0 : r < 0 ? cmd_fail(r, "cleaning up vm '%s'", c->argv[0]) : 0;
}
