/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lsm.c - AppArmor profile and SELinux label of the container process; SELinux mount label.
 *
 * Detection: /sys/kernel/security/lsm (Linux 4.15) lists the active LSMs. securityfs
 * is not always mounted (it is not on hosts that never ran AppArmor tools), so each
 * check also needs the LSM's own mark: AppArmor's module parameter "enabled" = Y
 * (what apparmor_parser and runc read), SELinux's selinuxfs at /sys/fs/selinux (what
 * libselinux's is_selinux_enabled() reads; without it no policy is loaded and no
 * label can be set). A kernel built with an LSM but booted without it has neither.
 *
 * Applying: proc(5) attr/exec takes the label for the next execve(). Since Linux 5.8
 * AppArmor has its own attr/apparmor/ directory, so that it works when stacked after
 * another LSM that owns attr/exec; older kernels only have attr/exec. We write to
 * /proc/thread-self because the attr belongs to the thread that will call execve().
 *
 * Every function here except lsm_*mount_label*() allocates nothing: they run in the
 * container process after clone().
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "error.h"
#include "lsm.h"
#include "util.h"

#define LSM_LABEL_MAX 4096

/* Read a small file into buf (NUL-terminated); returns the length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                n = negative_errno();
        else
                buf[n] = 0;
        safe_close(fd);
        return n;
}

/* 1 listed, 0 not listed, -errno when the list cannot be read. */
static int lsm_listed(const char *name)
{
        char buf[512];
        size_t l = strlen(name);
        ssize_t n = read_small("/sys/kernel/security/lsm", buf, sizeof(buf));

        if (n < 0)
                return (int)n;
        for (const char *p = buf; *p;) {
                size_t k = strcspn(p, ",\n");
                if (k == l && strncmp(p, name, l) == 0)
                        return 1;
                p += k;
                p += strspn(p, ",\n");
        }
        return 0;
}

bool lsm_apparmor_enabled(void)
{
        char buf[8];

        if (lsm_listed("apparmor") == 0)
                return false;
        return read_small("/sys/module/apparmor/parameters/enabled", buf, sizeof(buf)) > 0 && buf[0] == 'Y';
}

bool lsm_selinux_enabled(void)
{
        struct statfs sfs;

        if (lsm_listed("selinux") == 0)
                return false;
        return statfs("/sys/fs/selinux", &sfs) == 0 && (unsigned long)sfs.f_type == SELINUX_MAGIC;
}

static bool isempty(const char *s)
{
        return !s || !*s;
}

int lsm_check_labels(const char *apparmor_profile, const char *selinux_label)
{
        if (!isempty(apparmor_profile) && !lsm_apparmor_enabled())
                return err_set(
                        -EOPNOTSUPP,
                        "process.apparmorProfile: AppArmor is not enabled on this host, cannot apply '%s'",
                        apparmor_profile);
        if (!isempty(selinux_label) && !lsm_selinux_enabled())
                return err_set(
                        -EOPNOTSUPP,
                        "process.selinuxLabel: SELinux is not enabled on this host, cannot apply '%s'",
                        selinux_label);
        return 0;
}

/* One write(2): the LSMs parse the attr per write call. */
static int write_attr(const char *path, const char *value)
{
        size_t l = strlen(value);
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;
        int r = 0;

        if (fd < 0)
                return negative_errno();
        do
                n = write(fd, value, l);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                r = negative_errno();
        else if ((size_t)n != l)
                r = -EIO;
        safe_close(fd);
        return r;
}

static int set_apparmor(const char *profile)
{
        char buf[LSM_LABEL_MAX];
        int r;

        if ((size_t)snprintf(buf, sizeof(buf), "exec %s", profile) >= sizeof(buf))
                return err_set(-ENAMETOOLONG, "process.apparmorProfile: longer than %d bytes",
                               LSM_LABEL_MAX);
        r = write_attr("/proc/thread-self/attr/apparmor/exec", buf);
        if (r == -ENOENT)
                r = write_attr("/proc/thread-self/attr/exec", buf);
        if (r < 0)
                return err_set(r, "process.apparmorProfile: cannot apply '%s': %s", profile, strerror(-r));
        return 0;
}

static int set_selinux(const char *label)
{
        int r = write_attr("/proc/thread-self/attr/exec", label);
        if (r < 0)
                return err_set(r, "process.selinuxLabel: cannot apply '%s': %s", label, strerror(-r));
        return 0;
}

int lsm_set_exec_label(const char *apparmor_profile, const char *selinux_label)
{
        int r = lsm_check_labels(apparmor_profile, selinux_label);
        if (r < 0)
                return r;
        if (!isempty(apparmor_profile)) {
                r = set_apparmor(apparmor_profile);
                if (r < 0)
                        return r;
        }
        if (!isempty(selinux_label)) {
                r = set_selinux(selinux_label);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* True when the comma-separated mount options in data already carry an SELinux context. */
static bool has_context_option(const char *data)
{
        static const char *const keys[] = {"context=", "fscontext=", "defcontext=", "rootcontext="};
        const char *p = data;

        while (*p) {
                size_t k;
                bool quoted = false;

                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (startswith(p, keys[i]))
                                return true;
                /* Skip one option; a quoted value may itself hold commas ("s0:c1,c2"). */
                for (k = 0; p[k] && (quoted || p[k] != ','); k++)
                        if (p[k] == '"')
                                quoted = !quoted;
                p += k;
                if (*p == ',')
                        p++;
        }
        return false;
}

int lsm_format_mount_label(const char *mount_label, const char *data, bool selinux, char **ret)
{
        char *s;

        if (isempty(mount_label) || !selinux || (data && has_context_option(data)))
                s = strdup(strempty(data));
        else {
                /* The quotes let the label's MCS categories keep their commas (selinux_parse_opt()). */
                if (strchr(mount_label, '"'))
                        return err_set(-EINVAL, "linux.mountLabel: must not contain '\"', got '%s'",
                                       mount_label);
                if (isempty(data))
                        s = strdup_printf("context=\"%s\"", mount_label);
                else
                        s = strdup_printf("%s,context=\"%s\"", data, mount_label);
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int lsm_mount_label_option(const char *mount_label, const char *data, char **ret)
{
        return lsm_format_mount_label(mount_label, data, !isempty(mount_label) && lsm_selinux_enabled(),
                                      ret);
}
