/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container.c - creating and starting containers; see container.h for the directory
 * layout and the crash-consistency rules, container-ops.c for the rest of the lifecycle.
 *
 * Start sequence (each step undone when a later one fails, up to the monitor's birth;
 * from then on the monitor owns the container and releases everything itself):
 *   1. lock the container, refresh it, refuse a running one;
 *   2. mount the rootfs (overlay of the image's layers with the container's upper dir);
 *   3. resolve the user in the image's /etc/passwd, prepare volumes (copying the image's
 *      content into an empty one), write /etc/hostname, hosts, resolv.conf;
 *   4. write config.json (ocispec.h) and the health check's process;
 *   5. spawn hull-monitor detached (its own session, so that the CLI can exit and a kill of
 *      the CLI never reaches it) with one end of a socketpair, and wait for its first word:
 *      'r' (running) or 'e' (could not start, with the exit status).
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "attach-proto.h"
#include "chase.h"
#include "container-internal.h"
#include "engine-net.h"
#include "error.h"
#include "fscopy.h"
#include "json.h"
#include "leftovers.h"
#include "logfile.h"
#include "ocispec.h"
#include "rootfs.h"
#include "seccomp-profile.h"
#include "store.h"
#include "user.h"
#include "util.h"
#include "volume.h"

#define MONITOR_START_TIMEOUT_MS (120 * 1000)

char *ctr_cgroup_path(const char *id)
{
        return strdup_printf("/hull-%s", id);
}

int ctr_lock(struct engine *e, const char *id, bool wait, int *ret_fd)
{
        _cleanup_free_ char *p = strdup_printf("%s/%s/" LOCK_FILE, e->containers_dir, id);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        /* Never O_CREAT: a lock file made in a directory being removed would keep rmdir from finishing. */
        fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Fetch a missing image with `hull-image pull` (the transfer code lives outside the run path). */
static int pull_image(struct engine *e, const char *image, char *const *opts)
{
        _cleanup_strv_free_ char **argv = NULL;
        const char *helper;
        char err[512];
        int r;

        r = engine_binary(e, ENGINE_BIN_IMAGE, &helper);
        if (r < 0)
                return r;
        if (strv_extend(&argv, helper) < 0 || strv_extend(&argv, "--root") < 0 ||
            strv_extend(&argv, e->root) < 0 || strv_extend(&argv, "pull") < 0 ||
            strv_extend(&argv, "-q") < 0)
                return -ENOMEM;
        for (size_t i = 0; opts && opts[i]; i++)
                if (strv_extend(&argv, opts[i]) < 0)
                        return -ENOMEM;
        if (strv_extend(&argv, image) < 0)
                return -ENOMEM;
        r = ctr_spawn_capture(argv, err, sizeof(err));
        if (r == 0)
                return 0;
        /* The helper's last line is its one-line error. */
        return err_set(-ENOENT, "image '%s' is not in the store and pulling it failed: %s", image,
                       err[0] ? (startswith(err, "hull: ") ? err + 6 : err) : "hull-image pull failed");
}

/* Anonymous volumes for the image's VOLUME entries that no -v/--mount covers (Docker's behaviour). */
static int add_image_volumes(struct runspec *spec, const struct image_config *img)
{
        STRV_FOREACH (v, img ? img->volumes : NULL) {
                bool covered = false;
                for (size_t i = 0; i < spec->n_mounts; i++)
                        covered = covered || streq(spec->mounts[i].destination, *v);
                if (!covered && (*v)[0] == '/') {
                        _cleanup_free_ char *arg = strdup(*v);
                        int r;
                        if (!arg)
                                return -ENOMEM;
                        r = runspec_add_volume(spec, arg);
                        if (r < 0) {
                                err_clear();
                                continue; /* a VOLUME that -v cannot express (":" in it): skip it */
                        }
                }
        }
        return 0;
}

/* Give anonymous volumes their names (before the runspec is stored: the names are part of it). */
static int name_anonymous_volumes(struct runspec *spec)
{
        for (size_t i = 0; i < spec->n_mounts; i++) {
                struct runspec_mount *m = &spec->mounts[i];
                char vid[65];
                int r;

                if (m->kind != MOUNT_VOLUME || !m->anonymous)
                        continue;
                if ((r = workload_new_id(vid)) < 0)
                        return r;
                free(m->source);
                if (!(m->source = strdup(vid)))
                        return -ENOMEM;
        }
        return 0;
}

/* Inside the creation transaction, after the row: record every volume and that this container uses it. */
static int claim_volumes(struct engine *e, const char *id, const struct runspec *spec)
{
        for (size_t i = 0; i < spec->n_mounts; i++) {
                const struct runspec_mount *m = &spec->mounts[i];
                int r;

                if (m->kind != MOUNT_VOLUME)
                        continue;
                if ((r = volume_claim(e, m->source, m->anonymous)) < 0 ||
                    (r = volume_attach(e, id, m->source, m->destination)) < 0)
                        return r;
        }
        return 0;
}

/* Words joined with spaces, those holding a space quoted: how ps shows a command. */
static char *command_line(char **args)
{
        char *out = strdup("");
        STRV_FOREACH (a, args) {
                char *n = strdup_printf(strpbrk(*a, " \t") ? "%s%s\"%s\"" : "%s%s%s", out ?: "",
                                        out && *out ? " " : "", *a);
                free(out);
                if (!(out = n))
                        return NULL;
        }
        return out;
}

int ctr_create(struct engine *e, const char *name, const struct runspec *spec_in, char *const *pull,
               struct workload **ret)
{
        _cleanup_runspec_ struct runspec *spec = NULL;
        _cleanup_json_ struct json_object *sj = NULL, *sj2 = NULL;
        _cleanup_image_config_ struct image_config *img = NULL;
        _cleanup_free_ char *image_id = NULL, *dir = NULL, *gen_name = NULL, *labels = NULL,
                            *spec_text = NULL, *command = NULL;
        _cleanup_close_ int lock = -EBADF;
        struct image_store *s;
        struct workload w = {.kind = (char *)"container", .state = WORKLOAD_CREATED};
        char id[65];
        int r;

        /* Work on a copy: anonymous volumes get their names here. */
        if ((r = runspec_to_json(spec_in, &sj)) < 0 || (r = runspec_from_json(sj, &spec)) < 0)
                return r;
        if ((r = runspec_validate(spec)) < 0 || (name && (r = runspec_check_name(name)) < 0) ||
            (r = engine_net_check(e, spec)) < 0)
                return r;
        if (!spec->image)
                return err_set(-EINVAL, "no image given");
        r = engine_store(e, &s);
        if (r < 0)
                return r;
        r = store_resolve(s, spec->image, &image_id);
        if (r == -ENOENT && pull) {
                err_clear();
                r = pull_image(e, spec->image, pull);
                if (r >= 0)
                        r = store_resolve(s, spec->image, &image_id);
        }
        if (r == -ENOENT && !err_has_msg())
                r = err_set(-ENOENT, "image '%s' not found", spec->image);
        if (r < 0)
                return r;
        r = store_image_config(s, image_id, &img);
        if (r < 0)
                return r;
        if ((r = add_image_volumes(spec, img)) < 0)
                return r;
        /* Bad input fails before anything is recorded: capabilities, a seccomp profile, a bind mount of
         * nothing, no command. */
        {
                _cleanup_strv_free_ char **caps = NULL;
                _cleanup_json_ struct json_object *sc = NULL;
                if ((r = ocispec_capabilities(spec, &caps)) < 0)
                        return r;
                if (spec->seccomp_profile && !spec->privileged &&
                    (r = seccomp_profile_resolve(spec->seccomp_profile, strlen(spec->seccomp_profile), caps,
                                                 &sc)) < 0)
                        return err_prefix(r, "--security-opt seccomp");
        }
        for (size_t i = 0; i < spec->n_mounts; i++) {
                struct stat st;
                if (spec->mounts[i].kind == MOUNT_BIND && stat(spec->mounts[i].source, &st) < 0)
                        return err_set(negative_errno(), "bind mount source '%s': %m",
                                       spec->mounts[i].source);
        }
        {
                _cleanup_strv_free_ char **args = NULL;
                if ((r = ocispec_args(spec, img, &args)) < 0)
                        return r;
                if (!(command = command_line(args)))
                        return -ENOMEM;
        }

        if ((r = workload_new_id(id)) < 0)
                return r;
        dir = engine_container_dir(e, id);
        if (!dir)
                return -ENOMEM;
        /* The directory and its lock first: whoever finds the row can then tell whether we still live. */
        if (mkdir(dir, 0700) < 0)
                return err_set(negative_errno(), "cannot create '%s': %m", dir);
        {
                /*
                 * Made under another name, locked, then renamed: "lock" never exists unlocked, so
                 * that a concurrent sweep of orphaned directories cannot take it from us.
                 */
                _cleanup_free_ char *tmp = strdup_printf("%s/" LOCK_FILE ".new", dir),
                                    *lp = strdup_printf("%s/" LOCK_FILE, dir);
                if (!tmp || !lp) {
                        r = -ENOMEM;
                        goto undo_dir;
                }
                lock = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (lock < 0 || flock(lock, LOCK_EX) < 0 || rename(tmp, lp) < 0) {
                        r = negative_errno();
                        goto undo_dir;
                }
        }
        if ((r = runspec_labels_json(spec->labels, &labels)) < 0)
                goto undo_dir;

        if ((r = name_anonymous_volumes(spec)) < 0 || (r = runspec_to_json(spec, &sj2)) < 0)
                goto undo_dir;
        if (!(spec_text = strdup(json_object_to_json_string_ext(sj2, JSON_C_TO_STRING_PLAIN)))) {
                r = -ENOMEM;
                goto undo_dir;
        }
        for (int attempt = 0;; attempt++) {
                free(gen_name);
                gen_name = NULL;
                if (!name && (r = workload_new_name(e->db, &gen_name)) < 0)
                        goto undo_dir;
                r = db_begin(e->db);
                if (r < 0)
                        goto undo_dir;
                w.id = id;
                w.name = (char *)(name ?: gen_name);
                w.image_id = image_id;
                w.image_ref = spec->image;
                w.spec = spec_text;
                w.labels = labels;
                w.command = command;
                w.created = now_ns();
                /* Inserted in its final state: "creating" would only add a window to repair. */
                r = workload_insert(e->db, &w);
                if (r >= 0)
                        r = claim_volumes(e, id, spec);
                if (r >= 0)
                        r = db_commit(e->db);
                else
                        db_rollback(e->db);
                /* Two generated names can collide between concurrent creates: draw again. */
                if (r == -EEXIST && !name && attempt < 8) {
                        err_clear();
                        continue;
                }
                break;
        }
        if (r < 0)
                goto undo_dir;
        return workload_get(e->db, id, ret);

undo_dir : {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        rm_rf(dir);
        err_set(r, "%s", msg);
}
        return r;
}

/* ------------------------------------------------------------------ start */

struct bundle {
        struct runspec *spec;
        struct image_config *img;
        char *dir, *rootfs, *upper, *work;
        char **mount_sources;
        enum rootfs_mode mode;
        bool mounted;
        char hostname[65];
        struct engine_net_start net; /* the namespace for the monitor (engine-net.h) */
        bool net_made;               /* attachments to undo if the start fails before the monitor */
};

static void bundle_done(struct bundle *b)
{
        if (b->mounted)
                rootfs_umount(b->rootfs, b->mode);
        engine_net_start_done(&b->net);
        runspec_free(b->spec);
        image_config_free(b->img);
        free(b->dir);
        free(b->rootfs);
        free(b->upper);
        free(b->work);
        strv_free(b->mount_sources);
}

/*
 * Files of the bundle are written in place, not through a temporary file and rename(2): the
 * container lock keeps anyone from starting it meanwhile, a write cut short by a kill is
 * redone by the next start, and each rename costs an inode and (with ext4's discard) a
 * discard on this path that every start takes.
 */
static int write_file(const char *dir, const char *name, const char *data, mode_t mode)
{
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, name);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        return write_all(fd, data, strlen(data));
}

/* Copy what the image has at dest into an empty volume (Docker's first-mount rule). */
static int volume_copy_up(struct engine *e, int root_fd, const struct runspec_mount *m)
{
        _cleanup_free_ char *data = volume_data_path(e, m->source);
        _cleanup_close_ int src = -EBADF, dst = -EBADF;

        if (!data)
                return -ENOMEM;
        src = chase_open(root_fd, m->destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (src < 0)
                return 0; /* nothing there in the image */
        dst = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dst < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", data);
        return fscopy_dir_contents(src, dst, FSCOPY_KEEP_OWNER);
}

static int prepare_mounts(struct engine *e, struct bundle *b, int root_fd)
{
        size_t n = b->spec->n_mounts;
        int r;

        b->mount_sources = calloc(n + 1, sizeof(char *));
        if (!b->mount_sources)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct runspec_mount *m = &b->spec->mounts[i];
                struct stat st;

                if (m->kind == MOUNT_TMPFS)
                        continue;
                if (m->kind == MOUNT_BIND) {
                        if (stat(m->source, &st) < 0)
                                return err_set(negative_errno(), "bind mount source '%s': %m", m->source);
                        b->mount_sources[i] = strdup(m->source);
                } else {
                        bool empty;
                        if ((r = volume_prepare(e, m->source)) < 0)
                                return r;
                        empty = volume_is_empty(e, m->source);
                        if (empty && !m->nocopy && (r = volume_copy_up(e, root_fd, m)) < 0)
                                return err_prefix(r, "copying the image's '%s' into volume '%s'",
                                                  m->destination, m->source);
                        b->mount_sources[i] = volume_data_path(e, m->source);
                }
                if (!b->mount_sources[i])
                        return -ENOMEM;
        }
        return 0;
}

static bool have_swap_accounting(void)
{
        return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
               access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

/* The health check's process, or NULL when the container has none. */
static int health_args(const struct bundle *b, char ***ret, int64_t *interval, int64_t *timeout,
                       int64_t *start, int *retries)
{
        const struct runspec_health *h = &b->spec->health;
        const struct image_healthcheck *ih = b->img ? &b->img->healthcheck : NULL;
        char **test = h->test ? h->test : ih ? ih->test : NULL;

        *ret = NULL;
        if (b->spec->no_healthcheck || !test || !test[0] || streq(test[0], "NONE"))
                return 0;
        *interval = h->interval ?: ih && ih->interval ? ih->interval : 30000000000LL;
        *timeout = h->timeout ?: ih && ih->timeout ? ih->timeout : 30000000000LL;
        *start = h->start_period ?: ih ? ih->start_period : 0;
        *retries = h->retries ?: ih && ih->retries ? (int)ih->retries : 3;
        if (streq(test[0], "CMD-SHELL")) {
                if (!test[1])
                        return err_set(-EINVAL, "health check: CMD-SHELL needs a command");
                *ret = strv_copy((char *const[]){(char *)"/bin/sh", (char *)"-c", test[1], NULL});
        } else if (streq(test[0], "CMD"))
                *ret = strv_copy(test + 1);
        else
                /* Docker takes a bare list as a CMD. */
                *ret = strv_copy(test);
        return *ret ? 0 : -ENOMEM;
}

/*
 * --isolation vm: the image's root disk, made once per image id by hull-runtime and copied for
 * each container (docs/agent.md), as long as the container's root is still the image's (an empty
 * upper directory). NULL otherwise.
 */
static char *vm_base_disk(struct engine *e, const struct workload *w, const struct bundle *b)
{
        const char *id = w->image_id; /* "sha256:<hex>", as vm-boot.c names its files */
        struct dirent *de;
        bool empty = true;
        DIR *d;

        if (!runspec_vm_isolated(b->spec) || !*id)
                return NULL;
        d = opendir(b->upper);
        while (d && empty && (de = readdir(d)))
                empty = streq(de->d_name, ".") || streq(de->d_name, "..");
        if (d)
                closedir(d);
        /* Beside the image's VM boot disk, so that rmi and image prune drop it too (vm-boot.c). */
        return empty ? strdup_printf("%s/vm-cache/images/%s.isolation.ext4", e->root, id) : NULL;
}

static int write_config(struct engine *e, struct workload *w, struct bundle *b, const struct user_ids *user,
                        struct json_object **ret_config)
{
        _cleanup_json_ struct json_object *config = NULL;
        _cleanup_free_ char *cg = ctr_cgroup_path(w->id), *path = strdup_printf("%s/config.json", b->dir);
        _cleanup_free_ char *vm_base = vm_base_disk(e, w, b);
        struct ocispec_input in = {
                .spec = b->spec,
                .image = b->img,
                .id = w->id,
                .rootfs = b->rootfs,
                .dir = b->dir,
                .user = user,
                .mount_sources = b->mount_sources,
                .cgroups_path = cg,
                .hostname = b->hostname,
                .have_swap_accounting = have_swap_accounting(),
                /* The namespace the engine made (engine-net.h; the monitor passes it to hull-runtime as
                 * fd 3), another container's, or none (host). */
                .netns_path = b->net.netns_path,
                .vm_base_disk = vm_base,
        };
        int r;

        if (!cg || !path)
                return -ENOMEM;
        r = ocispec_build(&in, &config);
        if (r < 0)
                return r;
        r = write_file(b->dir, "config.json", json_to_string(config), 0600);
        if (r < 0)
                return err_set(r, "cannot write '%s': %s", path, strerror(-r));
        *ret_config = TAKE_PTR(config);
        return 0;
}

static int prepare_bundle(struct engine *e, struct workload *w, struct bundle *b,
                          struct json_object **ret_config)
{
        _cleanup_json_ struct json_object *sj = NULL;
        _cleanup_strv_free_ char **layers = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        _cleanup_(user_ids_done) struct user_ids user = {};
        struct image_store *s;
        int r;

        r = json_parse_buffer(w->spec, strlen(w->spec), "container spec", &sj);
        if (r < 0 || (r = runspec_from_json(sj, &b->spec)) < 0)
                return r;
        b->dir = engine_container_dir(e, w->id);
        b->rootfs = strdup_printf("%s/rootfs", b->dir);
        b->upper = strdup_printf("%s/upper", b->dir);
        b->work = strdup_printf("%s/work", b->dir);
        if (!b->dir || !b->rootfs || !b->upper || !b->work)
                return -ENOMEM;
        if ((r = engine_store(e, &s)) < 0 || (r = store_image_config(s, w->image_id, &b->img)) < 0 ||
            (r = store_image_layer_paths(s, w->image_id, &layers)) < 0)
                return r;
        /* Left mounted by a start that was killed: never stack a second overlay on it. */
        leftover_umount(b->rootfs);
        if (mkdir(b->rootfs, 0755) < 0 && errno != EEXIST)
                return err_set(negative_errno(), "cannot create '%s': %m", b->rootfs);
        /* A container removed at its exit needs no durable upper directory (rootfs.h). */
        r = rootfs_mount_layers(layers, b->rootfs, b->upper, b->work,
                                b->spec->auto_remove ? ROOTFS_VOLATILE : 0, &b->mode);
        if (r < 0)
                return err_prefix(r, "mounting the root file system");
        b->mounted = true;
        /* The layers are mounted: let garbage collection and prunes go on. */
        engine_store_release(e);

        root_fd = open(b->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return err_set(negative_errno(), "cannot open '%s': %m", b->rootfs);
        r = user_resolve(root_fd, b->spec->user ? b->spec->user : b->img ? b->img->user : NULL, &user);
        if (r < 0)
                return r;
        if ((r = prepare_mounts(e, b, root_fd)) < 0)
                return r;

        if (b->spec->network && streq(b->spec->network, "host")) {
                if (gethostname(b->hostname, sizeof(b->hostname) - 1) < 0)
                        snprintf(b->hostname, sizeof(b->hostname), "localhost");
        } else
                ocispec_hostname(b->spec, w->id, b->hostname);
        /* The namespace, and the /etc files of the modes without a network (engine-net.h). */
        r = engine_net_setup(e, w, b->spec, b->img, b->dir, b->hostname, &b->net);
        if (r < 0)
                return r;
        b->net_made = b->net.bridged;
        return write_config(e, w, b, &user, ret_config);
}

static int write_health_process(struct bundle *b, struct json_object *config, char **args)
{
        _cleanup_json_ struct json_object *p = NULL;
        _cleanup_free_ char *path = strdup_printf("%s/health-process.json", b->dir);
        int r;

        if (!path)
                return -ENOMEM;
        r = ocispec_exec_process(config, args, NULL, NULL, NULL, false, &p);
        if (r < 0)
                return r;
        return write_file(b->dir, "health-process.json", json_to_string(p), 0600);
}

static int add_arg(char ***argv, const char *fmt, ...) _printf_(2, 3);
static int add_arg(char ***argv, const char *fmt, ...)
{
        char buf[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return strv_extend(argv, buf);
}

static int monitor_argv(struct engine *e, struct workload *w, struct bundle *b, struct json_object *config,
                        char ***ret)
{
        _cleanup_strv_free_ char **argv = NULL, **hargs = NULL;
        _cleanup_free_ char *restart = runspec_restart_string(b->spec), *cg = ctr_cgroup_path(w->id);
        const char *monitor, *runtime, *hull;
        int64_t interval = 0, timeout = 0, start = 0;
        int retries = 0, r;
        bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;

        if (!restart || !cg)
                return -ENOMEM;
        if ((r = engine_binary(e, ENGINE_BIN_MONITOR, &monitor)) < 0 ||
            (r = engine_binary(e, ENGINE_BIN_RUNTIME, &runtime)) < 0)
                return r;
        r = 0;
        r |= add_arg(&argv, "%s", monitor);
        r |= add_arg(&argv, "--id=%s", w->id);
        r |= add_arg(&argv, "--dir=%s", b->dir);
        r |= add_arg(&argv, "--runtime=%s", runtime);
        r |= add_arg(&argv, "--runtime-root=%s", e->runtime_root);
        r |= add_arg(&argv, "--rootfs=%s", b->rootfs);
        r |= add_arg(&argv, "--cgroup-path=%s", cg);
        r |= add_arg(&argv, "--oom-file=%s%s/%s", v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", cg,
                     v2 ? "memory.events" : "memory.oom_control");
        r |= add_arg(&argv, "--restart=%s", restart);
        r |= add_arg(&argv, "--restarts=%d", w->restart_count);
        r |= add_arg(&argv, "--attach-fd=3");
        if (b->spec->log_max_size) {
                r |= add_arg(&argv, "--log-max-size=%llu", (unsigned long long)b->spec->log_max_size);
                r |= add_arg(&argv, "--log-max-files=%u", b->spec->log_max_files ?: 1);
        }
        if (b->spec->tty)
                r |= add_arg(&argv, "--tty");
        if (b->spec->interactive)
                r |= add_arg(&argv, "--stdin");
        if (b->net.netns_fd >= 0)
                r |= add_arg(&argv, "--netns-fd=4");
        if (b->net.bridged)
                r |= add_arg(&argv, "--wait-network");
        if (r < 0)
                return -ENOMEM;
        r = health_args(b, &hargs, &interval, &timeout, &start, &retries);
        if (r < 0)
                return r;
        if (hargs) {
                if ((r = write_health_process(b, config, hargs)) < 0)
                        return r;
                r = 0;
                r |= add_arg(&argv, "--health-process=%s/health-process.json", b->dir);
                r |= add_arg(&argv, "--health-interval=%lld", (long long)interval);
                r |= add_arg(&argv, "--health-timeout=%lld", (long long)timeout);
                r |= add_arg(&argv, "--health-start-period=%lld", (long long)start);
                r |= add_arg(&argv, "--health-retries=%d", retries);
                if (r < 0)
                        return -ENOMEM;
        }
        if (b->spec->auto_remove || b->net_made) {
                /* When nobody attached takes the removal over, the monitor becomes `hull container cleanup`,
                 * which also detaches the container from its networks (engine-net.h). */
                if ((r = engine_binary(e, ENGINE_BIN_HULL, &hull)) < 0)
                        return r;
                if ((!b->spec->auto_remove && add_arg(&argv, "--exit-command-unless-stopped") < 0) ||
                    add_arg(&argv, "--exit-command=%s", hull) < 0 ||
                    add_arg(&argv, "--exit-command=--root") < 0 ||
                    add_arg(&argv, "--exit-command=%s", e->root) < 0 ||
                    add_arg(&argv, "--exit-command=container") < 0 ||
                    add_arg(&argv, "--exit-command=cleanup") < 0 ||
                    add_arg(&argv, "--exit-command=%s", w->id) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

/*
 * The monitor in its own session (setsid: neither a signal to our process group nor the end
 * of our terminal reaches it), with /dev/null as stdio, its end of the socketpair as fd 3 and the
 * container's network namespace (when the engine made one) as fd 4,
 * through posix_spawn (vfork-style: no copy of our page tables). When we exit it is reparented
 * to the nearest subreaper or init, so the container never depends on this process.
 */
static int spawn_monitor(char **argv, int netns_fd, int *ret_fd, pid_t *ret_pid)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int sp[2], r;
        pid_t mon;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return negative_errno();
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
        posix_spawn_file_actions_adddup2(&fa, 0, 1);
        posix_spawn_file_actions_adddup2(&fa, 0, 2);
        posix_spawn_file_actions_adddup2(&fa, sp[1], 3);
        /* The container's network namespace: the monitor holds it for the container's whole life. */
        if (netns_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, netns_fd, 4);
        posix_spawn_file_actions_addclosefrom_np(&fa, netns_fd >= 0 ? 5 : 4);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        r = -posix_spawn(&mon, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        safe_close(sp[1]);
        if (r < 0) {
                safe_close(sp[0]);
                return err_set(r, "cannot start hull-monitor: %s", strerror(-r));
        }
        *ret_fd = sp[0];
        *ret_pid = mon;
        return 0;
}

/* The monitor's first word: 'r' pid, or 'e' status + reason. */
static int await_start(int fd, struct workload *w)
{
        char buf[ATTACH_MSG_MAX];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        int32_t v;

        for (;;) {
                int k = poll(&p, 1, MONITOR_START_TIMEOUT_MS);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return err_set(-ETIMEDOUT, "the container did not start within %d s",
                                       MONITOR_START_TIMEOUT_MS / 1000);
                n = recv(fd, buf, sizeof(buf) - 1, 0);
                /* ECONNRESET comes once, before what is still queued for us (attach-io.c). */
                if (n < 0 && (errno == EINTR || errno == ECONNRESET))
                        continue;
                if (n <= 0)
                        return err_set(-EIO, "hull-monitor exited before the container started");
                if (buf[0] == ATTACH_STARTED && n >= 5) {
                        memcpy(&v, buf + 1, 4);
                        w->pid = v;
                        return 0;
                }
                if (buf[0] == ATTACH_ERROR && n >= 5) {
                        memcpy(&v, buf + 1, 4);
                        buf[n] = 0;
                        w->exit_code = v;
                        return err_set(-ENOEXEC, "%s", buf + 5);
                }
        }
}

/* A start that failed before the container ran: detach what prepare_bundle() attached, keep r's message. */
static int undo_net(struct engine *e, struct workload *w, struct bundle *b, int r)
{
        char msg[1024];

        if (!b->net_made)
                return r;
        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        b->net.netns_fd = safe_close(b->net.netns_fd);
        if (engine_net_teardown(e, w->id) < 0)
                err_clear();
        b->net_made = false;
        return err_set(r, "%s", msg);
}

int ctr_start(struct engine *e, struct workload *w, bool attach, struct ctr_start_result *ret)
{
        _cleanup_close_ int lock = -EBADF, fd = -EBADF;
        _cleanup_(bundle_done) struct bundle b = {.net.netns_fd = -EBADF};
        _cleanup_json_ struct json_object *config = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *status_path = NULL, *stop_path = NULL;
        struct monitor_status st;
        uint64_t mon_start = 0;
        pid_t mon = 0;
        int r;

        r = ctr_lock(e, w->id, true, &lock);
        if (r < 0)
                return err_set(r, "cannot lock container %s: %s", w->name, strerror(-r));
        r = ctr_refresh_locked(e, w, true);
        if (r < 0)
                return r;
        /* Ended a moment ago, its monitor still releasing it: let it finish. */
        if (w->state == WORKLOAD_STOPPING && ctr_wait_end(e, w, 10000) >= 0 &&
            (r = ctr_refresh_locked(e, w, true)) < 0)
                return r;
        if (w->state == WORKLOAD_RUNNING || w->state == WORKLOAD_PAUSED || w->state == WORKLOAD_RESTARTING ||
            w->state == WORKLOAD_STOPPING)
                return err_set(-EALREADY, "container %s is already running", w->name);
        r = prepare_bundle(e, w, &b, &config);
        if (r < 0)
                return undo_net(e, w, &b, r);
        r = monitor_argv(e, w, &b, config, &argv);
        if (r < 0)
                return undo_net(e, w, &b, r);
        status_path = strdup_printf("%s/" STATUS_FILE, b.dir);
        stop_path = strdup_printf("%s/" STOP_FILE, b.dir);
        if (!status_path || !stop_path)
                return undo_net(e, w, &b, -ENOMEM);
        unlink(status_path);
        unlink(stop_path);

        r = spawn_monitor(argv, b.net.netns_fd, &fd, &mon);
        if (r < 0)
                return undo_net(e, w, &b, r);
        if (proc_start_time(mon, &mon_start) < 0)
                mon_start = 0; /* gone already: await_start() says so */
        /* From here the monitor owns the mount: it unmounts it when the container ends. */
        b.mounted = false;
        if (b.net.bridged) {
                /* The monitor waits for this before it runs anything; it owns the endpoints. */
                r = engine_net_attach(e, w, b.spec, b.img, b.dir, b.hostname, b.net.netns_fd, mon);
                if (r >= 0 && send(fd, (char[]){ATTACH_NETWORK_READY}, 1, MSG_NOSIGNAL) != 1)
                        r = err_set(-EIO, "hull-monitor exited before the container started");
                if (r < 0) {
                        /* Without the word, the monitor releases the rootfs and exits. */
                        fd = safe_close(fd);
                        while (waitpid(mon, NULL, 0) < 0 && errno == EINTR)
                                ;
                        r = undo_net(e, w, &b, r);
                        if (ctr_refresh_locked(e, w, true) < 0)
                                err_clear();
                        return r;
                }
        }
        /* The monitor holds the namespace now: ours must not keep it alive after the container. */
        b.net.netns_fd = safe_close(b.net.netns_fd);
        r = await_start(fd, w);
        if (monitor_status_read(b.dir, &st) >= 0) {
                w->monitor_pid = st.monitor_pid;
                w->monitor_start = st.monitor_start;
                w->pid_start = st.pid_start;
                w->started = st.started;
                w->restart_count = (int)st.restarts;
                free(w->health);
                w->health = strdup(st.health);
        }
        if (r == -ENOEXEC) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                /* Podman's rule: a container that could not start stays "created", with the reason. */
                undo_net(e, w, &b, r);
                w->state = WORKLOAD_CREATED;
                w->pid = 0;
                free(w->error);
                w->error = strdup(msg);
                workload_update_status(e->db, w);
                return err_set(r, "%s", msg);
        }
        if (r < 0) {
                /* The monitor died or hung: release what it or we made, then let refresh record it. */
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s", err_msg(r));
                if (!proc_alive(mon, mon_start))
                        ctr_release(e, w);
                ctr_refresh_locked(e, w, true);
                return err_set(r, "%s", msg);
        }
        w->state = WORKLOAD_RUNNING;
        w->exit_code = -1;
        w->finished = 0;
        free(w->error);
        w->error = strdup("");
        r = workload_update_status(e->db, w);
        if (r < 0)
                return r;
        ret->pid = (pid_t)w->pid;
        ret->attach_fd = attach ? TAKE_FD(fd) : -EBADF;
        return 0;
}
