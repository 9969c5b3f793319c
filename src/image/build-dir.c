/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build-dir.c - the directory of one build and the collection of those that
 * killed builds left.
 *
 * Layout under <root>/build/:
 *     <id>.lock        flock()ed exclusively for as long as build <id> runs
 *     <id>/            its mounts (rootfs, upper and work directories of the
 *                      step), bundle, scratch files, and runtime/, the state
 *                      root of the hull-runtime containers of its RUN steps
 *
 * The lock is taken on a file named .new-<id> and only then renamed to
 * <id>.lock, and the directory is made after that: a collector that finds a
 * <id>.lock it can lock, or a <id>/ without a lock file, is looking at the
 * remains of a build whose process is gone (a flock dies with its process), never
 * at one being set up. Removal goes the other way: directory first, lock last.
 *
 * A killed build can leave a container running (hull-runtime dies with the
 * build, see build-run.c, but the container's init lives on in its pid
 * namespace): the collector deletes every container of the dead build's state
 * root with `hull-runtime delete --force` before removing the files.
 */
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "build-internal.h"
#include "error.h"
#include "log.h"
#include "util.h"

extern char **environ;

static char *base_dir(struct image_store *s)
{
        return strdup_printf("%s/build", image_store_root(s));
}

int build_runtime_call(const char *runtime, const char *state_root, char *const *args)
{
        _cleanup_strv_free_ char **argv = NULL;
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status, r;

        if ((r = strv_extend(&argv, runtime)) < 0 || (r = strv_extend(&argv, "--root")) < 0 ||
            (r = strv_extend(&argv, state_root)) < 0)
                return r;
        for (size_t i = 0; args && args[i]; i++)
                if ((r = strv_extend(&argv, args[i])) < 0)
                        return r;
        if ((r = posix_spawn_file_actions_init(&fa)) != 0)
                return -r;
        for (int fd = 0; fd < 3 && r == 0; fd++)
                r = posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn(&pid, runtime, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return err_set(-r, "cannot run '%s': %s", runtime, strerror(r));
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Mount points below dir in this mount namespace, deepest first, detached. */
static void detach_mounts_under(const char *dir)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_strv_free_ char **found = NULL;
        size_t dl = strlen(dir);
        char line[8192];

        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char mp[4096];
                size_t o = 0;
                const char *p = line;
                /* Field 5 is the mount point, with space, tab, newline and backslash as \ooo. */
                for (int i = 0; i < 4 && p; i++)
                        p = strchr(p, ' '), p = p ? p + 1 : NULL;
                if (!p)
                        continue;
                for (; *p && *p != ' ' && o + 1 < sizeof(mp); p++) {
                        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
                                mp[o++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                                p += 3;
                        } else
                                mp[o++] = *p;
                }
                mp[o] = 0;
                if (strncmp(mp, dir, dl) == 0 && mp[dl] == '/' && strv_extend(&found, mp) < 0)
                        return;
        }
        for (size_t n = strv_length(found); n > 0; n--)
                if (umount2(found[n - 1], MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        log_debug("build: cannot detach '%s': %m", found[n - 1]);
}

/* Delete the containers, mounts and files of one build directory. */
static int collect(const char *dir, const char *runtime)
{
        _cleanup_free_ char *state = strdup_printf("%s/runtime", dir);
        DIR *d;

        if (!state)
                return -ENOMEM;
        d = runtime ? opendir(state) : NULL;
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        char *args[] = {(char *)"delete", (char *)"--force", de->d_name, NULL};
                        if (de->d_name[0] == '.')
                                continue;
                        log_debug("build: deleting container '%s' of a killed build", de->d_name);
                        (void)build_runtime_call(runtime, state, args);
                }
                closedir(d);
        }
        detach_mounts_under(dir);
        return rm_rf(dir);
}

int build_cleanup_stale(struct image_store *s, const char *runtime)
{
        _cleanup_free_ char *base = base_dir(s);
        DIR *d;
        struct dirent *de;
        int n = 0, r = 0;

        if (!base)
                return -ENOMEM;
        d = opendir(base);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", base, de->d_name), *dir = NULL;
                _cleanup_close_ int fd = -EBADF;
                size_t l = strlen(de->d_name);
                bool lock = l > 5 && streq(de->d_name + l - 5, ".lock");
                bool fresh = startswith(de->d_name, ".new-") != NULL;
                struct stat st;

                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!lock && !fresh) {
                        /* A directory whose lock file is gone: its collector was interrupted. */
                        _cleanup_free_ char *lp = strdup_printf("%s.lock", path);
                        if (!lp) {
                                r = -ENOMEM;
                                break;
                        }
                        if (access(lp, F_OK) == 0 || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                                continue;
                        if (collect(path, runtime) >= 0)
                                n++;
                        continue;
                }
                fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue; /* a build that runs, or gone meanwhile */
                if (lock) {
                        dir = strndup(path, strlen(path) - 5);
                        if (!dir) {
                                r = -ENOMEM;
                                break;
                        }
                        log_debug("build: collecting '%s' (its build is gone)", dir);
                        int k = collect(dir, runtime);
                        if (k < 0) {
                                log_debug("build: cannot remove '%s': %s", dir, strerror(-k));
                                continue;
                        }
                        n++;
                }
                (void)unlink(path);
        }
        closedir(d);
        return r < 0 ? r : n;
}

int build_dir_create(struct build *b)
{
        _cleanup_free_ char *base = base_dir(b->store);
        int r;

        if (!base)
                return -ENOMEM;
        r = mkdir_p(base, 0700);
        if (r < 0)
                return err_set(r, "cannot create '%s': %s", base, strerror(-r));
        for (int attempt = 0; attempt < 8; attempt++) {
                _cleanup_free_ char *fresh = NULL, *lock = NULL, *dir = NULL, *id = NULL;
                _cleanup_close_ int fd = -EBADF;
                uint8_t rnd[8];

                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -EIO;
                id = strdup_printf("%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                                   rnd[4], rnd[5], rnd[6], rnd[7]);
                if (!id)
                        return -ENOMEM;
                fresh = strdup_printf("%s/.new-%s", base, id);
                lock = strdup_printf("%s/%s.lock", base, id);
                dir = strdup_printf("%s/%s", base, id);
                if (!fresh || !lock || !dir)
                        return -ENOMEM;
                fd = open(fresh, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return err_set(negative_errno(), "cannot create '%s': %m", fresh);
                if (flock(fd, LOCK_EX) < 0)
                        return negative_errno();
                /* A collector may have taken the file between open and flock: then it is gone, start over.
                 */
                if (rename(fresh, lock) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return err_set(negative_errno(), "cannot create '%s': %m", lock);
                }
                if (mkdir(dir, 0700) < 0) {
                        r = err_set(negative_errno(), "cannot create '%s': %m", dir);
                        (void)unlink(lock);
                        return r;
                }
                b->lock_fd = TAKE_FD(fd);
                b->dir = TAKE_PTR(dir);
                b->id = TAKE_PTR(id);
                return 0;
        }
        return err_set(-EBUSY, "cannot create a build directory in '%s'", base);
}

void build_dir_remove(struct build *b)
{
        _cleanup_free_ char *lock = NULL;
        int r;

        if (!b->dir)
                return;
        lock = strdup_printf("%s.lock", b->dir);
        detach_mounts_under(b->dir);
        r = rm_rf(b->dir);
        if (r < 0)
                log_debug("build: cannot remove '%s': %s", b->dir, strerror(-r));
        else if (lock)
                (void)unlink(lock);
        b->lock_fd = safe_close(b->lock_fd);
        free(b->dir);
        b->dir = NULL;
}
