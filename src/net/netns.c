/* SPDX-License-Identifier: Apache-2.0 */
/* netns.c - namespace handles, sysctls, process identities; see netns.h. */
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "error.h"
#include "netlink.h"
#include "netns.h"
#include "util.h"

int netns_open(const char *spec, int *ret_fd)
{
        _cleanup_free_ char *path = NULL;
        uint32_t pid;
        int fd;

        if (!spec || !*spec)
                return err_set(-EINVAL, "network namespace: empty name");
        if (parse_u32(spec, &pid) == 0) {
                path = strdup_printf("/proc/%u/ns/net", pid);
                if (!path)
                        return -ENOMEM;
        }
        fd = open(path ? path : spec, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_set(negative_errno(), "cannot open network namespace '%s': %m", spec);
        *ret_fd = fd;
        return 0;
}

int netns_enter(int netns_fd, int *ret_saved)
{
        int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

        if (saved < 0)
                return negative_errno();
        if (setns(netns_fd, CLONE_NEWNET) < 0) {
                int r = negative_errno();
                safe_close(saved);
                return err_set(r, "cannot enter the network namespace: %s", strerror(-r));
        }
        *ret_saved = saved;
        return 0;
}

int netns_leave(int saved)
{
        int r = 0;

        if (saved < 0)
                return 0;
        if (setns(saved, CLONE_NEWNET) < 0)
                r = err_set(-EIO, "cannot return to the original network namespace: %m");
        safe_close(saved);
        return r;
}

int netns_inode(int netns_fd, uint64_t *ret)
{
        struct stat st;

        if (fstat(netns_fd, &st) < 0)
                return negative_errno();
        *ret = (uint64_t)st.st_ino;
        return 0;
}

int netns_loopback_up(int netns_fd)
{
        _cleanup_nl_ struct nl *nl = NULL;
        int r, lo;

        r = nl_open_in_netns(netns_fd, &nl);
        if (r < 0)
                return r;
        lo = nl_link_index(nl, "lo");
        if (lo < 0)
                return lo;
        return nl_link_set_up(nl, lo);
}

static int sysctl_path(const char *key, char *buf, size_t size)
{
        /* Keys are ours (never user input), but a '..' would still escape /proc/sys. */
        if (strstr(key, "..") || key[0] == '/')
                return -EINVAL;
        if ((size_t)snprintf(buf, size, "/proc/sys/%s", key) >= size)
                return -ENAMETOOLONG;
        return 0;
}

int sysctl_read(const char *key, char **ret)
{
        char path[256];
        int r;

        r = sysctl_path(key, path, sizeof(path));
        if (r < 0)
                return r;
        return read_one_line_file(path, ret);
}

int sysctl_write(const char *key, const char *value)
{
        char path[256];
        int r;

        r = sysctl_path(key, path, sizeof(path));
        if (r < 0)
                return r;
        r = write_string_file(path, value);
        if (r < 0)
                return err_set(r, "cannot set sysctl %s to %s: %s", key, value, strerror(-r));
        return 0;
}

int proc_id_get(pid_t pid, struct proc_id *ret)
{
        uint64_t start;
        int r;

        if (pid == 0)
                pid = getpid();
        r = proc_start_time(pid, &start);
        if (r < 0)
                return r;
        *ret = (struct proc_id){.pid = pid, .start = start};
        return 0;
}

bool proc_id_alive(const struct proc_id *id)
{
        return proc_alive(id->pid, id->start);
}
