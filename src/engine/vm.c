/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.c - the VM lifecycle of the engine: create, start, stop, kill, pause, remove, wait,
 * refresh, list. See vm.h for the layout and the three ways to boot.
 *
 * Crash consistency follows the containers' rules (container.h): the directory exists before
 * the row, the row before anything boots, and the monitor's status file is the truth about a
 * running VM. A command that finds the monitor dead while the status says it runs kills the
 * VMM (which the monitor's death has normally already taken down: PR_SET_PDEATHSIG) and
 * records the VM as exited with the reason.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "network.h"
#include "store.h"
#include "util.h"
#include "vm-internal.h"
#include "vmm-backend-internal.h"
#include "volume.h"

#define START_TIMEOUT_MS 10000
#define KILL_WAIT_MS     10000

extern char **environ;

char *vm_dir(struct engine *e, const char *id)
{
        return strdup_printf("%s/vms/%s", e->root, id);
}

static int vm_lock(const char *dir, int *ret_fd)
{
        _cleanup_free_ char *p = strdup_printf("%s/lock", dir);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void sleep_ms(int ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

/* "a b c" for ps: the command of an image VM, the kernel of a kernel VM, the boot disk. */
static char *command_line(const struct vm_spec *s)
{
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        if (!f)
                return NULL;
        if (s->conf.argv)
                STRV_FOREACH (a, s->conf.argv)
                        fprintf(f, "%s%s", a == s->conf.argv ? "" : " ", *a);
        else if (s->image)
                fputs("/sbin/init", f);
        else
                fputs(s->kernel ?: s->boot_disk ?: "", f);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(buf);
}

/* Fill the command, environment, working directory and user from the image's config. */
static int apply_image_config(struct engine *e, const char *image_id, struct vm_spec *s)
{
        _cleanup_(image_config_freep) struct image_config *ic = NULL;
        struct image_store *st;
        int r;

        if ((r = engine_store(e, &st)) < 0 || (r = store_image_config(st, image_id, &ic)) < 0)
                return r;
        if (!s->conf.argv) {
                STRV_FOREACH (a, ic->entrypoint)
                        if (strv_extend(&s->conf.argv, *a) < 0)
                                return -ENOMEM;
                STRV_FOREACH (a, ic->cmd)
                        if (strv_extend(&s->conf.argv, *a) < 0)
                                return -ENOMEM;
        } else if (ic->entrypoint) {
                _cleanup_strv_free_ char **argv = strv_copy(ic->entrypoint);
                STRV_FOREACH (a, s->conf.argv)
                        if (!argv || strv_extend(&argv, *a) < 0)
                                return -ENOMEM;
                strv_free(s->conf.argv);
                s->conf.argv = TAKE_PTR(argv);
        }
        STRV_FOREACH (kv, ic->env) {
                size_t k = strcspn(*kv, "=");
                bool set = false;
                STRV_FOREACH (u, s->conf.env)
                        set = set || (strncmp(*u, *kv, k) == 0 && (*u)[k] == '=');
                if (!set && strv_extend(&s->conf.env, *kv) < 0)
                        return -ENOMEM;
        }
        if (!s->conf.workdir && ic->working_dir && *ic->working_dir &&
            !(s->conf.workdir = strdup(ic->working_dir)))
                return -ENOMEM;
        if (!s->conf.user && ic->user && *ic->user && !(s->conf.user = strdup(ic->user)))
                return -ENOMEM;
        return 0;
}

int vm_create(struct engine *e, const char *name, const struct vm_spec *spec_in, struct workload **ret)
{
        _cleanup_free_ char *json = NULL, *gen_name = NULL, *dir = NULL, *image_id = NULL, *cmd = NULL;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_(vm_spec_done) struct vm_spec s = {};
        _cleanup_workload_ struct workload *w = NULL;
        char id[65];
        int r, sources;

        /* Work on a copy: the image fills in what the user left out. */
        if ((r = vm_spec_to_json(spec_in, &json)) < 0 || (r = vm_spec_from_json(json, &s)) < 0)
                return r;
        sources = !!s.image + !!s.kernel + !!s.boot_disk;
        if (sources != 1)
                return err_set(-EINVAL, "a VM boots from one of: an image, --kernel, --boot-disk (%s)",
                               sources ? "more than one given" : "none given");
        if (s.vmm && vmm_kind_from_string(s.vmm) < 0)
                return err_set(-EINVAL, "--vmm: unknown monitor '%s' (hull, qemu)", s.vmm);
        /* What the backend cannot boot fails now rather than at every start. */
        struct vmm_choice choice;
        if ((r = vmm_backend_pick(vmm_kind_from_string(s.vmm),
                                  &(struct vmm_spec){.kernel = s.boot_disk ? NULL : "-"}, &choice)) < 0)
                return r;
        if (s.restart && vm_restart_parse(s.restart, NULL, NULL) < 0)
                return err_set(-EINVAL,
                               "--restart: invalid policy '%s' (no, always, on-failure[:N], unless-stopped)",
                               s.restart);
        /* No network options: the default network, as for a container. */
        if (!s.net && !(s.net = runspec_new()))
                return -ENOMEM;
        if ((r = vm_net_check(e, &s)) < 0)
                return r;
        if (!s.image &&
            (s.conf.argv || s.n_volumes || s.conf.hostname || s.conf.ssh_keys || s.conf.user_data))
                return err_set(-EINVAL, "a command, --volume and first-boot options need an image VM "
                                        "(hull's guest init applies them)");
        const char *const files[] = {s.kernel, s.initrd, s.boot_disk};
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (files[i] && access(files[i], R_OK) < 0)
                        return err_set(-errno, "cannot read '%s': %s", files[i], strerror(errno));
        if (s.image) {
                struct image_store *st;
                if ((r = engine_store(e, &st)) < 0)
                        return r;
                r = store_resolve(st, s.image, &image_id);
                if (r == -ENOENT)
                        return err_set(-ENOENT, "no such image '%s' (hull pull it first)", s.image);
                if (r < 0)
                        return r;
                if ((r = apply_image_config(e, image_id, &s)) < 0)
                        return r;
        }
        engine_store_release(e);
        if (!s.cpus)
                s.cpus = 1;
        if (!s.memory)
                s.memory = 512ULL << 20;
        if (s.memory % (1ULL << 20) || s.memory < (64ULL << 20))
                return err_set(-EINVAL, "--memory: a whole number of MiB, at least 64M");
        if (!name) {
                if ((r = workload_new_name(e->db, &gen_name)) < 0)
                        return r;
                name = gen_name;
        }
        free(json);
        json = NULL;
        if ((r = vm_spec_to_json(&s, &json)) < 0 || !(cmd = command_line(&s)))
                return r < 0 ? r : -ENOMEM;
        if ((r = workload_new_id(id)) < 0 || !(dir = vm_dir(e, id)))
                return r < 0 ? r : -ENOMEM;
        if ((r = mkdir_p(dir, 0700)) < 0 || (r = vm_lock(dir, &lock)) < 0)
                return r;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (struct workload){.kind = strdup(VM_KIND),
                               .id = strdup(id),
                               .name = strdup(name),
                               .image_id = strdup(image_id ?: ""),
                               .image_ref = strdup(s.image ?: ""),
                               .spec = TAKE_PTR(json),
                               .command = TAKE_PTR(cmd),
                               .labels = strdup("{}"),
                               .state = WORKLOAD_CREATED,
                               .exit_code = -1,
                               .created = now_ns(),
                               .error = strdup(""),
                               .health = strdup("")};
        if (!w->kind || !w->id || !w->name || !w->image_id || !w->image_ref || !w->labels || !w->error ||
            !w->health)
                return -ENOMEM;
        if ((r = db_begin(e->db)) < 0)
                goto fail;
        r = workload_insert(e->db, w);
        for (size_t i = 0; r >= 0 && i < s.n_volumes; i++)
                if ((r = volume_claim(e, s.volumes[i].name, false)) >= 0)
                        r = volume_attach(e, id, s.volumes[i].name, s.volumes[i].mount);
        if (r < 0) {
                db_rollback(e->db);
                goto fail;
        }
        if ((r = db_commit(e->db)) < 0)
                goto fail;
        *ret = TAKE_PTR(w);
        return 0;
fail:
        rm_rf(dir);
        return r;
}

void vm_start_result_done(struct vm_start_result *r)
{
        if (r->console_fd >= 0)
                close(r->console_fd);
        r->console_fd = -EBADF;
        free(r->reason);
        r->reason = NULL;
}

static int add_disk(struct vmm_spec *v, const char *path, enum disk_format f, bool ro)
{
        if (v->n_disks >= VMM_DISKS_MAX)
                return err_set(-E2BIG, "a VM takes at most %d disks", VMM_DISKS_MAX);
        v->disks[v->n_disks++] = (struct vmm_disk){.path = path, .format = f, .readonly = ro};
        return 0;
}

/* Everything the VMM needs on disk for an image VM; paths kept in keep (freed by the caller). */
static int prepare_image_vm(struct engine *e, const struct workload *w, const char *dir,
                            const struct vm_spec *s, struct vmm_spec *v, char ***keep)
{
        _cleanup_free_ char *guest = NULL, *initrd = NULL, *base = NULL;
        char *root = strdup_printf("%s/" VM_ROOT_DISK, dir),
             *config = strdup_printf("%s/" VM_CONFIG_DISK, dir);
        char *kernel = NULL, *cmdline = NULL;
        struct vmconf c = s->conf;
        _cleanup_strv_free_ char **mounts = NULL;
        char dev = 'c';
        int r;

        /* keep owns each string from here (strv_push frees it when it fails). */
        if (!root || strv_push(keep, root) < 0) {
                free(config);
                return -ENOMEM;
        }
        if (!config || strv_push(keep, config) < 0)
                return -ENOMEM;
        if ((r = vm_image_disk(e, w->image_id, &base)) < 0)
                return r;
        /* The image's own kernel (vm-boot.c made <id>.guest next to its disk), else the guest assets'. */
        guest = strdup_printf("%.*s.guest", (int)(strlen(base) - strlen(".ext4")), base);
        if (!guest)
                return -ENOMEM;
        if (access(guest, F_OK) < 0) {
                free(guest);
                guest = NULL;
                if ((r = vm_guest_dir(&guest)) < 0)
                        return r;
        }
        if ((r = vm_boot_initrd(e, guest, &initrd)) < 0)
                return r;
        if (access(root, F_OK) < 0) {
                struct disk_create_options o = {
                        .format = DISK_FORMAT_QCOW2, .backing = base, .backing_format = DISK_FORMAT_RAW};
                if ((r = disk_create_ext(root, &o)) < 0)
                        return err_prefix(r, "making the root disk '%s'", root);
        }
        kernel = strdup_printf("%s/vmlinuz", guest);
        if (!kernel || strv_push(keep, kernel) < 0)
                return -ENOMEM;
        cmdline = strdup_printf("console=ttyS0 panic=-1 reboot=k%s%s", s->cmdline ? " " : "",
                                s->cmdline ?: "");
        if (!cmdline || strv_push(keep, cmdline) < 0 || strv_push(keep, TAKE_PTR(initrd)) < 0)
                return -ENOMEM;
        v->kernel = kernel;
        v->initrd = (*keep)[strv_length(*keep) - 1];
        v->cmdline = cmdline;
        v->exec_channel = true;
        if ((r = add_disk(v, root, DISK_FORMAT_QCOW2, false)) < 0 ||
            (r = add_disk(v, config, DISK_FORMAT_RAW, true)) < 0)
                return r;
        /* Data disks and volumes follow as vdc, vdd...: the guest mounts them where asked. */
        for (size_t i = 0; i < s->n_disks; i++, dev++) {
                if ((r = add_disk(v, s->disks[i].path, s->disks[i].format, s->disks[i].readonly)) < 0)
                        return r;
                if (s->disks[i].mount) {
                        char *m = strdup_printf("/dev/vd%c %s", dev, s->disks[i].mount);
                        if (!m || strv_push(&mounts, m) < 0)
                                return -ENOMEM;
                }
        }
        for (size_t i = 0; i < s->n_volumes; i++, dev++) {
                char *p = NULL, *m;
                if ((r = volume_prepare(e, s->volumes[i].name)) < 0 ||
                    (r = vm_volume_disk(e, &s->volumes[i], &p)) < 0)
                        return r;
                if (strv_push(keep, p) < 0 || (r = add_disk(v, p, DISK_FORMAT_RAW, false)) < 0)
                        return r < 0 ? r : -ENOMEM;
                m = strdup_printf("/dev/vd%c %s", dev, s->volumes[i].mount);
                if (!m || strv_push(&mounts, m) < 0)
                        return -ENOMEM;
        }
        c.mounts = mounts;
        if (!c.hostname)
                c.hostname = w->name;
        c.root_fstype = (char *)"ext4";
        return vm_config_disk(config, &c);
}

static int write_launch(const char *dir, const struct vmm_choice *choice, char **argv,
                        const struct vm_spec *spec, int restarts)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        _cleanup_free_ char *path = strdup_printf("%s/" VM_LAUNCH_FILE, dir);
        struct json_object *a = json_object_new_array();

        if (!o || !a || !path) {
                json_object_put(a);
                return -ENOMEM;
        }
        json_object_object_add(o, "vmm", json_object_new_string(vmm_kind_to_string(choice->kind)));
        json_object_object_add(o, "reason", json_object_new_string(choice->reason));
        STRV_FOREACH (s, argv)
                json_object_array_add(a, json_object_new_string(*s));
        json_object_object_add(o, "argv", a);
        json_object_object_add(o, "restart", json_object_new_string(spec->restart ?: "no"));
        json_object_object_add(o, "auto_remove", json_object_new_boolean(spec->auto_remove));
        json_object_object_add(o, "restarts", json_object_new_int(restarts));
        return json_write_file_atomic(path, o, 0600);
}

/* The monitor: `hull vm-monitor DIR`, its own session, /dev/null as stdio, the console client as fd 3. */
static int spawn_monitor(struct engine *e, const char *dir, int console_fd, pid_t *ret_pid)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        const char *hull;
        pid_t pid;
        int r;

        if ((r = engine_binary(e, ENGINE_BIN_HULL, &hull)) < 0)
                return r;
        char *const argv[] = {(char *)hull,
                              (char *)"vm",
                              (char *)"monitor",
                              (char *)dir,
                              console_fd >= 0 ? (char *)"--console-fd=3" : NULL,
                              NULL};
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
        posix_spawn_file_actions_adddup2(&fa, 0, 1);
        posix_spawn_file_actions_adddup2(&fa, 0, 2);
        if (console_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, console_fd, 3);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
        r = posix_spawn(&pid, hull, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return err_set(-r, "cannot start the VM's monitor: %s", strerror(r));
        *ret_pid = pid;
        return 0;
}

/* vm_start() once the VM is on its network (tap: NULL without one). */
static int start_locked(struct engine *e, struct workload *w, const char *dir, const struct vm_spec *sp,
                        const struct vmm_spec *vp, const struct engine_net_tap *tap, bool attach,
                        struct vm_start_result *ret)
{
        _cleanup_free_ char *vmm_bin = NULL, *cmdline = NULL;
        _cleanup_strv_free_ char **keep = NULL, **argv = NULL;
        _cleanup_close_ int mine = -EBADF, theirs = -EBADF;
        const struct vm_spec s = *sp; /* borrowed */
        struct vmm_spec v = *vp;
        struct vmm_choice choice;
        struct monitor_status st;
        pid_t pid = 0;
        int r, sp2[2];

        v.dir = dir;
        v.cpus = s.cpus;
        v.memory = s.memory;
        if (s.image) {
                if ((r = prepare_image_vm(e, w, dir, &s, &v, &keep)) < 0)
                        return r;
        } else {
                v.kernel = s.kernel;
                v.initrd = s.initrd;
                v.cmdline = s.cmdline ?: "console=ttyS0 panic=-1";
                /* The user's kernel has no hull-init to read a config disk: the kernel's own IP
                 * autoconfiguration (CONFIG_IP_PNP) takes the address from the command line. */
                if (tap && tap->kernel_ip_arg) {
                        if (!(cmdline = strdup_printf("%s %s", v.cmdline, tap->kernel_ip_arg)))
                                return -ENOMEM;
                        v.cmdline = cmdline;
                }
                v.firmware = s.firmware;
                if (s.boot_disk) {
                        struct disk_open_options oo = {.format = _DISK_FORMAT_INVALID, .readonly = true};
                        _cleanup_disk_ struct disk *d = NULL;
                        if ((r = disk_open(s.boot_disk, &oo, &d)) < 0)
                                return err_prefix(r, "--boot-disk '%s'", s.boot_disk);
                        if ((r = add_disk(&v, s.boot_disk, disk_get_format(d), false)) < 0)
                                return r;
                }
                for (size_t i = 0; i < s.n_disks; i++)
                        if ((r = add_disk(&v, s.disks[i].path, s.disks[i].format, s.disks[i].readonly)) < 0)
                                return r;
        }
        /* No store lock while the VM runs: a foreground vm run would keep GC waiting. */
        engine_store_release(e);
        if ((r = vmm_backend_pick(vmm_kind_from_string(s.vmm), &v, &choice)) < 0)
                return r;
        if (choice.kind == VMM_HULL && (r = vm_find_helper("hull-vmm", "HULL_VMM", &vmm_bin)) < 0)
                return r;
        if ((r = vmm_backend_argv(&choice, &v, vmm_bin, &argv)) < 0)
                return r;
        if ((r = write_launch(dir, &choice, argv, &s, w->restart_count)) < 0)
                return r;
        if (attach) {
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp2) < 0)
                        return -errno;
                mine = sp2[0];
                theirs = sp2[1];
        }
        if ((r = spawn_monitor(e, dir, theirs, &pid)) < 0)
                return r;
        if (theirs >= 0) {
                close(theirs);
                theirs = -EBADF;
        }
        /* The monitor's first word is its status file: running, or exited with the reason. */
        for (int waited = 0;; waited += 10) {
                r = monitor_status_read(dir, &st);
                if (r >= 0 && !streq(st.state, "starting"))
                        break;
                if (waited > START_TIMEOUT_MS || waitpid(pid, NULL, WNOHANG) == pid)
                        return err_set(-ETIMEDOUT,
                                       "the VM's monitor did not start the VMM (see %s/monitor.log)", dir);
                sleep_ms(10);
        }
        if ((r = vm_refresh(e, w)) < 0)
                return r;
        if (w->state == WORKLOAD_EXITED && st.final && !streq(st.error, ""))
                return err_set(-EIO, "the VM did not start: %s", st.error);
        ret->reason = strdup(choice.reason);
        if (!ret->reason)
                return -ENOMEM;
        ret->console_fd = TAKE_FD(mine);
        return 0;
}

/* Take the VM's lock and refresh it; -EBUSY (saying what) while it runs. */
static int lock_stopped(struct engine *e, struct workload *w, const char *dir, const char *busy,
                        int *ret_lock)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        if ((r = vm_lock(dir, &lock)) < 0 || (r = vm_refresh(e, w)) < 0)
                return r;
        if (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED || w->state == WORKLOAD_RESTARTING)
                return err_set(-EBUSY, "vm '%s' %s", w->name, busy);
        *ret_lock = TAKE_FD(lock);
        return 0;
}

int vm_start(struct engine *e, struct workload *w, bool attach, struct vm_start_result *ret)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id);
        _cleanup_(vm_spec_done) struct vm_spec s = {};
        struct engine_net_tap *taps = NULL;
        size_t n_taps = 0;
        _cleanup_close_ int lock = -EBADF;
        struct vmm_spec v = {};
        bool attached = false;
        int r;

        *ret = (struct vm_start_result){.console_fd = -EBADF};
        if (!dir)
                return -ENOMEM;
        if ((r = lock_stopped(e, w, dir, "is already running", &lock)) < 0)
                return r;
        if ((r = vm_spec_from_json(w->spec, &s)) < 0)
                return r;
        /* What a previous run left: its stop request, its status, sockets of a killed VMM. The status
         * goes before the attach: a command waiting to detach the old run checks it under the lock. */
        static const char *const stale[] = {VM_STOP_FILE,   STATUS_FILE,     VMM_SOCK,
                                            VMM_EXEC_SOCK,  VM_CONSOLE_SOCK, "qmp-events.sock",
                                            VM_HOTPLUG_FILE};
        for (size_t i = 0; i < ELEMENTSOF(stale); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", dir, stale[i]);
                if (p)
                        unlink(p);
        }
        if (vm_net_bridged(&s)) {
                if ((r = vm_net_attach(e, w, dir, &s, &taps, &n_taps)) < 0)
                        return r;
                attached = true;
                for (size_t i = 0; i < n_taps && i < VMM_NICS_MAX; i++) {
                        v.taps[i] = taps[i].tap;
                        v.macs[i] = taps[i].mac;
                        v.n_nics++;
                }
        }
        r = start_locked(e, w, dir, &s, &v, attached ? &taps[0] : NULL, attach, ret);
        engine_net_taps_free(taps, n_taps);
        if (r < 0 && attached)
                return vm_net_undo(e, w->id, dir, r);
        return r;
}

int vm_refresh(struct engine *e, struct workload *w)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id);
        struct monitor_status st;
        bool monitor_alive;
        int r;

        if (!streq(w->kind, VM_KIND))
                return err_set(-EINVAL, "'%s' is a %s, not a vm", w->name, w->kind);
        if (!dir)
                return -ENOMEM;
        r = monitor_status_read(dir, &st);
        if (r == -ENOENT)
                return access(dir, F_OK) < 0 ? -ENOENT : 0;
        if (r < 0)
                return r;
        monitor_alive = st.monitor_pid > 0 && proc_alive((pid_t)st.monitor_pid, (uint64_t)st.monitor_start);
        if (!monitor_alive && !st.final) {
                /* The monitor died: its VMM must not run on without anyone holding its console. */
                if (st.pid > 0 && proc_alive((pid_t)st.pid, (uint64_t)st.pid_start))
                        kill((pid_t)st.pid, SIGKILL);
                if (!streq(st.state, "exited"))
                        st.exit_code = 137;
                snprintf(st.state, sizeof(st.state), "exited");
                if (!st.error[0])
                        snprintf(st.error, sizeof(st.error), "the VM's monitor died");
                st.finished = st.finished ?: now_ns();
                st.final = st.cleaned = true;
                static const char *const socks[] = {VMM_SOCK, VMM_EXEC_SOCK, VM_CONSOLE_SOCK,
                                                    "qmp-events.sock"};
                for (size_t i = 0; i < ELEMENTSOF(socks); i++) {
                        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, socks[i]);
                        if (p)
                                unlink(p);
                }
                (void)monitor_status_write(dir, &st);
        }
        if (streq(st.state, "running"))
                w->state = w->state == WORKLOAD_PAUSED ? WORKLOAD_PAUSED : WORKLOAD_RUNNING;
        else if (streq(st.state, "restarting") || (streq(st.state, "exited") && !st.final))
                w->state = WORKLOAD_RESTARTING;
        else if (streq(st.state, "exited"))
                w->state = WORKLOAD_EXITED;
        else
                w->state = WORKLOAD_CREATED;
        w->pid = st.pid;
        w->pid_start = st.pid_start;
        w->monitor_pid = st.monitor_pid;
        w->monitor_start = st.monitor_start;
        w->started = st.started ?: w->started;
        w->finished = st.finished;
        w->exit_code = st.exit_code;
        w->restart_count = (int)st.restarts;
        free(w->error);
        w->error = strdup(st.error);
        if (!w->error)
                return -ENOMEM;
        /* Over for good (no restart follows a final status): the tap, lease and rules go back. */
        if (st.final && (r = vm_net_release(e, w->id, dir, false)) < 0)
                return r;
        return workload_update_status(e->db, w);
}

int vm_list(struct engine *e, struct workload ***ret, size_t *ret_n)
{
        return engine_list_kind(e, VM_KIND, vm_refresh, ret, ret_n);
}

int vm_spec_save(struct engine *e, struct workload *w, const struct vm_spec *s)
{
        _cleanup_free_ char *json = NULL;
        int r;

        if ((r = vm_spec_to_json(s, &json)) < 0 || (r = workload_set_spec(e->db, w->id, json)) < 0)
                return r;
        free(w->spec);
        w->spec = TAKE_PTR(json);
        return 0;
}

/*
 * `network connect|disconnect NETWORK VM`, under the VM's lock as a start: the VM's networks as of
 * its next start, and at once for a running VM under QEMU (NIC hot-plug, vm-hotplug.c).
 */
int vm_net_change(struct engine *e, struct workload *w, const char *network, bool connect, const char *ip,
                  const char *ip6, const char *mac, char *const *aliases, char **ret_note)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id);
        _cleanup_(vm_spec_done) struct vm_spec s = {};
        _cleanup_close_ int lock = -EBADF;
        enum vmm_kind kind = _VMM_KIND_INVALID;
        bool running;
        int r;

        *ret_note = NULL;
        if (!dir)
                return -ENOMEM;
        if ((r = vm_lock(dir, &lock)) < 0 || (r = vm_refresh(e, w)) < 0)
                return r;
        running = w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED ||
                  w->state == WORKLOAD_RESTARTING;
        if (running) {
                if (w->state != WORKLOAD_RUNNING)
                        return err_set(-EBUSY,
                                       "vm '%s' is %s: NICs are plugged in or out while it runs (%s) or "
                                       "while it is stopped",
                                       w->name, w->state == WORKLOAD_PAUSED ? "paused" : "restarting",
                                       w->state == WORKLOAD_PAUSED ? "unpause it" : "wait for its restart");
                if ((r = vm_launch_kind(dir, &kind)) < 0)
                        return r;
                if ((r = vmm_backend_nic_hotplug(kind)) < 0)
                        return r;
        }
        if ((r = vm_hotplug_repair(e, w, dir, kind, running)) < 0)
                return r;
        if ((r = vm_spec_from_json(w->spec, &s)) < 0)
                return r;
        if (!s.net && !(s.net = runspec_new()))
                return -ENOMEM;
        /* The default network is implicit while a VM names none: make it explicit first. */
        if (runspec_is_bridged(s.net) && s.net->n_networks == 0 &&
            (r = runspec_network_add(s.net, NET_DEFAULT_NETWORK, NULL, NULL, NULL, NULL)) < 0)
                return r;
        if (connect) {
                if (!runspec_is_bridged(s.net)) {
                        /* --network none: the first network turns it into a bridged VM. */
                        free(s.net->network);
                        s.net->network = NULL;
                }
                r = runspec_network_add(s.net, network, ip, ip6, mac, aliases);
                if (r == -EEXIST)
                        return err_set(-EEXIST, "vm %s is already on network '%s'", w->name, network);
                if (r < 0 || (r = vm_net_check(e, &s)) < 0)
                        return r;
        } else {
                r = runspec_network_remove(s.net, network);
                if (r == -ENOENT)
                        return err_set(-ENOENT, "vm %s is not on network '%s'", w->name, network);
                if (r < 0)
                        return r;
                if (s.net->n_networks == 0) {
                        free(s.net->network);
                        if (!(s.net->network = strdup("none")))
                                return -ENOMEM;
                }
        }
        if (!running)
                return vm_spec_save(e, w, &s);
        if (connect)
                return vm_hotplug_connect(e, w, dir, kind, &s, network, ret_note);
        return vm_hotplug_disconnect(e, w, dir, kind, &s, network);
}

int vm_lookup(struct engine *e, const char *name_or_id, struct workload **ret)
{
        _cleanup_workload_ struct workload *w = NULL;
        int r;

        r = workload_find(e->db, name_or_id, &w);
        if (r == -ENOENT || (r >= 0 && !streq(w->kind, VM_KIND))) {
                err_clear();
                return err_set(-ENOENT, "no such vm '%s'%s", name_or_id,
                               r >= 0 ? " (it is a container)" : "");
        }
        if (r < 0)
                return r;
        r = vm_refresh(e, w);
        if (r == -ENOENT)
                return err_set(-ENOENT, "no such vm '%s'", name_or_id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

static bool vm_running(const struct workload *w)
{
        return w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED ||
               w->state == WORKLOAD_RESTARTING;
}

/* Wait for the monitor to finish (final status) for up to ms; true when it did. */
static bool wait_final(struct engine *e, struct workload *w, int ms)
{
        for (int waited = 0; waited <= ms; waited += 20) {
                if (vm_refresh(e, w) < 0 || !vm_running(w))
                        return true;
                sleep_ms(20);
        }
        return false;
}

int vm_launch_kind(const char *dir, enum vmm_kind *ret)
{
        _cleanup_free_ char *p = strdup_printf("%s/" VM_LAUNCH_FILE, dir);
        _cleanup_json_ struct json_object *o = NULL;
        const char *kind;
        int r;

        if (!p)
                return -ENOMEM;
        if ((r = json_parse_file(p, 1 << 20, &o)) < 0 || (r = json_get_string(o, "vmm", "vmm", &kind)) < 0)
                return r;
        *ret = vmm_kind_from_string(kind);
        return *ret < 0 ? err_set(-EINVAL, "%s: unknown VMM '%s'", p, kind) : 0;
}

static int write_stop_file(const char *dir)
{
        _cleanup_free_ char *p = strdup_printf("%s/" VM_STOP_FILE, dir);
        return p ? write_file_atomic(p, "stop\n", 5, 0600) : -ENOMEM;
}

/* The VM's directory (malloc'd) with its row brought up to date: how every operation on it starts. */
static int dir_refreshed(struct engine *e, struct workload *w, char **ret_dir)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id);
        int r;

        if (!dir)
                return -ENOMEM;
        if ((r = vm_refresh(e, w)) < 0)
                return r;
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

int vm_kill(struct engine *e, struct workload *w, int sig)
{
        _cleanup_free_ char *dir = NULL;
        int r;

        if ((r = dir_refreshed(e, w, &dir)) < 0)
                return r;
        if (!vm_running(w))
                return err_set(-ESRCH, "vm '%s' is not running", w->name);
        if ((r = write_stop_file(dir)) < 0)
                return r;
        if (w->pid > 0 && proc_alive((pid_t)w->pid, (uint64_t)w->pid_start) && kill((pid_t)w->pid, sig) < 0)
                return -errno;
        if (sig == SIGKILL && wait_final(e, w, KILL_WAIT_MS))
                return vm_net_release(e, w->id, dir, true);
        return 0;
}

int vm_stop(struct engine *e, struct workload *w, int timeout)
{
        _cleanup_free_ char *dir = NULL;
        struct monitor_status st;
        int r;

        if ((r = dir_refreshed(e, w, &dir)) < 0)
                return r;
        if (!vm_running(w))
                return 0;
        if ((r = write_stop_file(dir)) < 0)
                return r;
        if (monitor_status_read(dir, &st) >= 0 && streq(st.state, "running")) {
                enum vmm_kind kind;
                if (vm_launch_kind(dir, &kind) >= 0 &&
                    vmm_backend_request(kind, dir, VMM_REQ_POWERDOWN, NULL) >= 0 &&
                    wait_final(e, w, timeout * 1000))
                        return vm_net_release(e, w->id, dir, true);
                err_clear();
        }
        if (vm_running(w) && w->pid > 0 && proc_alive((pid_t)w->pid, (uint64_t)w->pid_start))
                kill((pid_t)w->pid, SIGKILL);
        if (!wait_final(e, w, KILL_WAIT_MS))
                return err_set(-ETIMEDOUT, "vm '%s' did not stop", w->name);
        return vm_net_release(e, w->id, dir, true);
}

int vm_pause(struct engine *e, struct workload *w, bool pause)
{
        _cleanup_free_ char *dir = NULL;
        enum vmm_kind kind;
        int r;

        if ((r = dir_refreshed(e, w, &dir)) < 0)
                return r;
        if (w->state != (pause ? WORKLOAD_RUNNING : WORKLOAD_PAUSED))
                return err_set(-EINVAL, "vm '%s' is not %s", w->name, pause ? "running" : "paused");
        if ((r = vm_launch_kind(dir, &kind)) < 0)
                return r;
        r = vmm_backend_request(kind, dir, pause ? VMM_REQ_PAUSE : VMM_REQ_RESUME, NULL);
        if (r < 0)
                return r;
        return workload_set_state(e->db, w->id, pause ? WORKLOAD_PAUSED : WORKLOAD_RUNNING);
}

int vm_remove(struct engine *e, struct workload *w, bool force)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id);
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (!dir)
                return -ENOMEM;
        if ((r = vm_refresh(e, w)) < 0)
                return r;
        if (vm_running(w)) {
                if (!force)
                        return err_set(-EBUSY, "vm '%s' is running: stop it first, or rm -f", w->name);
                if ((r = vm_kill(e, w, SIGKILL)) < 0 && r != -ESRCH)
                        return r;
                err_clear();
        }
        if ((r = vm_lock(dir, &lock)) < 0)
                return r;
        /* An interrupted start, or a run whose end nobody looked at since, may have left it on a network. */
        if ((r = engine_net_detach_tap(e, w->id, dir)) < 0)
                return r;
        if ((r = workload_delete(e->db, w->id)) < 0)
                return r;
        return rm_rf(dir);
}

int vm_wait(struct engine *e, struct workload *w, int *ret_code)
{
        int r;
        for (;;) {
                if ((r = vm_refresh(e, w)) < 0)
                        return r;
                if (!vm_running(w))
                        break;
                sleep_ms(50);
        }
        *ret_code = w->exit_code;
        return 0;
}

int vm_console_connect(struct engine *e, const struct workload *w, int *ret_fd)
{
        _cleanup_free_ char *dir = vm_dir(e, w->id), *path = NULL;
        int fd;

        if (!dir || !(path = strdup_printf("%s/" VM_CONSOLE_SOCK, dir)))
                return -ENOMEM;
        fd = vmm_unix_connect(path, 0);
        if (fd < 0) {
                err_clear();
                return err_set(fd, "vm '%s' has no console (is it running?)", w->name);
        }
        *ret_fd = fd;
        return 0;
}
