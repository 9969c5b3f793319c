/* SPDX-License-Identifier: Apache-2.0 */
/* leftovers.c - cgroups and mounts left behind by killed processes; see leftovers.h. */
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "leftovers.h"
#include "util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Kill what is in the cgroup dir (kill) or remove it once its killed tasks are gone (!kill). */
static void sweep_one(const char *dir, bool kill_tasks)
{
        _cleanup_free_ char *procs = NULL, *pids = NULL;

        if (!kill_tasks) {
                /* rmdir fails with EBUSY until the killed tasks have exited; a loaded host may take seconds. */
                for (int k = 0; k < 500 && rmdir(dir) < 0 && errno == EBUSY; k++)
                        usleep(10000);
                return;
        }
        procs = strdup_printf("%s/cgroup.procs", dir);
        if (procs && read_full_file(procs, 1 << 20, &pids, NULL) >= 0)
                for (char *s = pids, *e; s && *s; s = e) {
                        e = strchr(s, '\n');
                        if (e)
                                *e++ = 0;
                        kill((pid_t)atoi(s), SIGKILL);
                }
}

static void sweep_pass(const char *cgroup_path, bool kill_tasks)
{
        DIR *d;
        struct dirent *de;
        struct stat st;

        {
                /* cgroup v2 mounted at /sys/fs/cgroup itself. */
                _cleanup_free_ char *p = strdup_printf(CGROUP_ROOT "%s", cgroup_path);
                if (p && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        sweep_one(p, kill_tasks);
        }
        d = opendir(CGROUP_ROOT);
        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (de->d_name[0] == '.' || de->d_type == DT_LNK)
                        continue;
                p = strdup_printf(CGROUP_ROOT "/%s%s", de->d_name, cgroup_path);
                if (p && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        sweep_one(p, kill_tasks);
        }
        closedir(d);
}

void leftover_cgroup_sweep(const char *cgroup_path)
{
        if (!cgroup_path || !*cgroup_path)
                return;
        /* Every hierarchy's tasks first (on v1 a task is in all of them), then the directories. */
        sweep_pass(cgroup_path, true);
        sweep_pass(cgroup_path, false);
}

bool is_mount_point(const char *path)
{
        _cleanup_free_ char *parent = strdup_printf("%s/..", path);
        struct stat a, b;

        if (!parent || lstat(path, &a) < 0 || stat(parent, &b) < 0)
                return false;
        return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

int leftover_umount(const char *path)
{
        int n = 0;

        /* Mounts stacked by starts that were killed one after another: take them all off. */
        while (path && n < 16 && is_mount_point(path)) {
                if (umount2(path, UMOUNT_NOFOLLOW) < 0) {
                        if (errno != EBUSY)
                                return negative_errno();
                        /* Still pinned (a process holds a file in it): detach, the kernel frees it later. */
                        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                                return negative_errno();
                }
                n++;
        }
        return n > 0;
}
