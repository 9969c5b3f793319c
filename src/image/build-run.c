/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-run.c - RUN: one container of hull-runtime on the stage's layers.
 *
 * The step's root is an overlay of the stage's layers with a fresh upper
 * directory (build-layer.c), the bundle beside it gets a config.json written
 * here, and `hull-runtime --root <build dir>/runtime run` runs it in the
 * foreground with stdout and stderr on one pipe, which is read here and handed
 * to the progress callback (so the CLI can render it on a terminal). The
 * container gets what Docker's builder gives a RUN step:
 *   - pid, ipc, uts, mount and cgroup namespaces; the host's network namespace
 *     (Docker's default bridge comes with hull's networking; --network=none
 *     gives an empty one), with the host's /etc/resolv.conf and /etc/hosts
 *     bind-mounted read-only;
 *   - Docker's default capability set, no seccomp filter, the usual masked
 *     and read-only /proc paths, /proc, /dev, /sys, /dev/pts, /dev/shm, mqueue;
 *   - the stage's ENV plus the build args in scope, USER resolved in the
 *     image's /etc/passwd and /etc/group, WORKDIR (created when missing).
 *
 * Mount targets the image lacks (/proc, /dev, /sys, /etc/hosts, and
 * /etc/resolv.conf, wherever its symlink points) are created before the run
 * and removed from the upper directory after it, with the directories that
 * only held them, so that RUN true makes no layer on an image without them.
 *
 * hull-runtime is started with PR_SET_PDEATHSIG=SIGKILL: a build killed with
 * SIGKILL takes the runtime with it, and the container that may live on is
 * deleted by the next build's build_cleanup_stale(). A cancelled build (SIGINT
 * to the CLI) kills the container with `hull-runtime kill ID KILL`.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "build-internal.h"
#include "chase.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "oci-defaults.h"
#include "util.h"

#define OUTPUT_CHUNK  65536
#define KILL_GRACE_NS (5ull * 1000000000ull)

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

struct target {
        const char *path;
        bool dir;
        bool from_host; /* bind-mounted from the host's file of the same name, when it has one */
};

/* Mount targets in the rootfs itself (the /dev and /sys sub-mounts go on tmpfs and sysfs). */
static const struct target targets[] = {
        {"/proc", true, false},      {"/dev", true, false},
        {"/sys", true, false},       {"/etc/resolv.conf", false, true},
        {"/etc/hosts", false, true},
};

static struct json_object *strv_json(const char *const *l)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; a && l && l[i]; i++)
                if (build_json_push(a, json_object_new_string(l[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static int add_mount(struct json_object *mounts, const char *dest, const char *type, const char *source,
                     const char *const *options)
{
        struct json_object *m = json_object_new_object();
        int r;

        if ((r = build_json_push(mounts, m)) < 0)
                return r;
        if ((r = build_json_add(m, "destination", json_object_new_string(dest))) < 0 ||
            (r = build_json_add(m, "type", json_object_new_string(type))) < 0 ||
            (r = build_json_add(m, "source", json_object_new_string(source))) < 0)
                return r;
        return options ? build_json_add(m, "options", strv_json(options)) : 0;
}

static int oci_config(const struct build_run_spec *r, const struct build_user *u, struct json_object **ret)
{
        _cleanup_json_ struct json_object *c = json_object_new_object();
        struct json_object *p, *user, *caps, *root, *mounts, *linux_o, *ns, *res;
        int k;

        if (!c)
                return -ENOMEM;
        if ((k = build_json_add(c, "ociVersion", json_object_new_string("1.2.0"))) < 0 ||
            (k = build_json_add(c, "process", p = json_object_new_object())) < 0 ||
            (k = build_json_add(p, "terminal", json_object_new_boolean(false))) < 0 ||
            (k = build_json_add(p, "user", user = json_object_new_object())) < 0 ||
            (k = build_json_add(user, "uid", json_object_new_int64(u->uid))) < 0 ||
            (k = build_json_add(user, "gid", json_object_new_int64(u->gid))) < 0 ||
            (k = build_json_add(p, "args", strv_json((const char *const *)r->args))) < 0 ||
            (k = build_json_add(p, "env", strv_json((const char *const *)r->env))) < 0 ||
            (k = build_json_add(p, "cwd", json_object_new_string(r->cwd))) < 0 ||
            (k = build_json_add(p, "capabilities", caps = json_object_new_object())) < 0 ||
            (k = build_json_add(caps, "bounding", strv_json(oci_default_caps))) < 0 ||
            (k = build_json_add(caps, "effective", strv_json(oci_default_caps))) < 0 ||
            (k = build_json_add(caps, "permitted", strv_json(oci_default_caps))) < 0 ||
            (k = build_json_add(c, "root", root = json_object_new_object())) < 0 ||
            (k = build_json_add(root, "path", json_object_new_string("rootfs"))) < 0 ||
            (k = build_json_add(root, "readonly", json_object_new_boolean(false))) < 0 ||
            (k = build_json_add(c, "hostname", json_object_new_string("hull-build"))) < 0 ||
            (k = build_json_add(c, "mounts", mounts = json_object_new_array())) < 0)
                return k;
        if (u->n_groups > 0) {
                struct json_object *g = json_object_new_array();
                if ((k = build_json_add(user, "additionalGids", g)) < 0)
                        return k;
                for (size_t i = 0; i < u->n_groups; i++)
                        if ((k = build_json_push(g, json_object_new_int64(u->groups[i]))) < 0)
                                return k;
        }
        for (size_t i = 0; i < oci_n_default_mounts; i++) {
                const struct oci_mount_def *d = &oci_default_mounts[i];
                if ((k = add_mount(mounts, d->destination, d->type, d->source, d->options)) < 0)
                        return k;
        }
        /* The host's resolver and hosts, as Docker's builder gives them on the host network. */
        for (size_t i = 0; i < ELEMENTSOF(targets); i++)
                if (targets[i].from_host && access(targets[i].path, R_OK) == 0 &&
                    (k = add_mount(mounts, targets[i].path, "bind", targets[i].path,
                                   OPTS("rbind", "ro", "nosuid", "nodev", "noexec"))) < 0)
                        return k;
        if ((k = build_json_add(c, "linux", linux_o = json_object_new_object())) < 0 ||
            (k = build_json_add(linux_o, "namespaces", ns = json_object_new_array())) < 0 ||
            (k = build_json_add(linux_o, "maskedPaths", strv_json(oci_masked_paths))) < 0 ||
            (k = build_json_add(linux_o, "readonlyPaths", strv_json(oci_readonly_paths))) < 0 ||
            (k = build_json_add(linux_o, "resources", res = json_object_new_object())) < 0)
                return k;
        {
                struct json_object *devs = json_object_new_array(), *deny;
                if ((k = build_json_add(res, "devices", devs)) < 0 ||
                    (k = build_json_push(devs, deny = json_object_new_object())) < 0 ||
                    (k = build_json_add(deny, "allow", json_object_new_boolean(false))) < 0 ||
                    (k = build_json_add(deny, "access", json_object_new_string("rwm"))) < 0)
                        return k;
        }
        for (const char *const *t =
                     OPTS("pid", "ipc", "uts", "mount", "cgroup", r->network_none ? "network" : NULL);
             *t; t++) {
                struct json_object *n = json_object_new_object();
                if ((k = build_json_push(ns, n)) < 0 ||
                    (k = build_json_add(n, "type", json_object_new_string(*t))) < 0)
                        return k;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* Create the mount targets the image lacks; their paths inside the root go to created. */
static int make_targets(int root_fd, const char *rootfs, char ***created)
{
        size_t plen = strlen(rootfs);

        for (size_t i = 0; i < ELEMENTSOF(targets); i++) {
                _cleanup_close_ int fd = chase_open(root_fd, targets[i].path, O_PATH | O_CLOEXEC, 0);
                char buf[32], real[4096];
                ssize_t n;
                int r;

                if (fd >= 0 || (targets[i].from_host && access(targets[i].path, R_OK) < 0))
                        continue;
                fd = chase_mount_target(root_fd, targets[i].path, targets[i].dir,
                                        targets[i].dir ? 0755 : 0644, 0);
                if (fd < 0)
                        return err_set(fd, "cannot create the mount point %s in the image: %s",
                                       targets[i].path, strerror(-fd));
                /* Where a symlink sent it (/etc/resolv.conf -> ../run/...), seen in the mount. */
                n = readlink(fd_path(fd, buf), real, sizeof(real) - 1);
                if (n < 0)
                        return negative_errno();
                real[n] = 0;
                if (strncmp(real, rootfs, plen) != 0 || real[plen] != '/')
                        continue;
                r = strv_extend(created, real + plen + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Remove the mount points made by make_targets() from upper, and the directories left empty by that. */
static void prune_targets(const char *upper, char *const *created)
{
        _cleanup_close_ int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (ufd < 0)
                return;
        for (size_t i = 0; created && created[i]; i++) {
                _cleanup_free_ char *p = strdup(created[i]);
                struct stat st;
                char *slash;

                if (!p)
                        return;
                if (fstatat(ufd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
                        (void)unlinkat(ufd, p, 0);
                else
                        (void)unlinkat(ufd, p, AT_REMOVEDIR); /* only when empty */
                /*
                 * Parents: made for the mount point, or copied up by creating it. Empty and not opaque,
                 * an upper directory changes nothing but its mtime: gone, the lower one shows again.
                 */
                while ((slash = strrchr(p, '/'))) {
                        char v[4] = {};
                        _cleanup_close_ int dfd = -EBADF;
                        *slash = 0;
                        dfd = openat(ufd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0 || fgetxattr(dfd, "trusted.overlay.opaque", v, sizeof(v)) > 0)
                                break;
                        if (unlinkat(ufd, p, AT_REMOVEDIR) < 0)
                                break;
                }
        }
}

static int spawn_runtime(struct build *b, const char *bundle, const char *state, const char *id, int out_fd,
                         pid_t *ret_pid)
{
        const char *argv[] = {b->o->runtime, "--root", state, "run", "--bundle", bundle, id, NULL};
        pid_t parent = getpid(), pid;

        pid = fork();
        if (pid < 0)
                return err_set(negative_errno(), "cannot fork: %m");
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                /* Die with the build: a SIGKILLed hull must not leave a runtime waiting on a RUN. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                        _exit(127);
                execv(argv[0], (char *const *)argv);
                dprintf(2, "hull: cannot run '%s': %m\n", argv[0]);
                _exit(127);
        }
        *ret_pid = pid;
        return 0;
}

/* Stream the step's output until the runtime exits; kill the container when the build is cancelled. */
static int pump(struct build *b, int fd, const char *state, const char *id, pid_t pid, int *ret_status)
{
        _cleanup_free_ char *buf = malloc(OUTPUT_CHUNK);
        uint64_t killed_at = 0;
        bool cancelled = false;
        int status;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int k = poll(&pfd, 1, 100);

                if (!cancelled && build_tick(b) == -ECANCELED) {
                        char *args[] = {(char *)"kill", (char *)id, (char *)"KILL", NULL};
                        cancelled = true;
                        killed_at = build_now_ns();
                        (void)build_runtime_call(b->o->runtime, state, args);
                }
                if (cancelled && build_now_ns() - killed_at > KILL_GRACE_NS) {
                        /* The container was not there yet, or the runtime hangs: stop it, delete below. */
                        kill(pid, SIGKILL);
                        killed_at = UINT64_MAX / 2;
                }
                if (k < 0 && errno != EINTR)
                        return negative_errno();
                if (k <= 0)
                        continue;
                ssize_t n = read(fd, buf, OUTPUT_CHUNK);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0)
                        break; /* every writer is gone: the runtime and the whole container exited */
                build_emit(b, BUILD_EVENT_OUTPUT, NULL, NULL, buf, (size_t)n);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (cancelled) {
                char *args[] = {(char *)"delete", (char *)"--force", (char *)id, NULL};
                (void)build_runtime_call(b->o->runtime, state, args);
                return err_set(-ECANCELED, "interrupted");
        }
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

int build_run(struct build *b, struct build_state *st, const struct build_run_spec *r)
{
        _cleanup_build_mount_ struct build_mount m = {};
        _cleanup_json_ struct json_object *cfg = NULL;
        _cleanup_free_ char *state = NULL, *config_path = NULL, *id = NULL;
        _cleanup_strv_free_ char **created = NULL;
        struct build_user u = {};
        int p[2] = {-EBADF, -EBADF}, status = 0, k;
        pid_t pid = 0;

        k = build_mount(b, st, "run", false, &m);
        if (k < 0)
                return k;
        if (r->user && *r->user) {
                k = build_user_lookup(m.root_fd, r->user, true, false, &u);
                if (k < 0)
                        return err_prefix(k, "USER '%s'", r->user);
        }
        {
                bool made;
                _cleanup_close_ int cwd = copy_mkdir(m.root_fd, r->cwd, u.uid, u.gid, &made);
                if (cwd < 0) {
                        build_user_done(&u);
                        return err_prefix(cwd, "WORKDIR '%s'", r->cwd);
                }
        }
        k = make_targets(m.root_fd, m.rootfs, &created);
        if (k >= 0)
                k = oci_config(r, &u, &cfg);
        build_user_done(&u);
        if (k < 0)
                return k;
        config_path = strdup_printf("%s/config.json", m.dir);
        state = strdup_printf("%s/runtime", b->dir);
        id = strdup_printf("hull-build-%s-%u", b->id, ++b->n_containers);
        if (!config_path || !state || !id)
                return -ENOMEM;
        if ((k = json_write_file_atomic(config_path, cfg, 0600)) < 0)
                return err_set(k, "cannot write '%s': %s", config_path, strerror(-k));
        if ((k = mkdir_p(state, 0700)) < 0)
                return err_set(k, "cannot create '%s': %s", state, strerror(-k));
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        k = spawn_runtime(b, m.dir, state, id, p[1], &pid);
        safe_close(p[1]);
        if (k >= 0)
                k = pump(b, p[0], state, id, pid, &status);
        safe_close(p[0]);
        if (k < 0)
                return k;
        if (status != 0)
                return err_set(-EIO, "%s: exit status %d", r->display, status);
        k = build_mount_detach(&m);
        if (k < 0)
                return k;
        prune_targets(m.upper, created);
        return build_commit(b, st, m.upper, r->created_by);
}
