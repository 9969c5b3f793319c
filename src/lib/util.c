/* SPDX-License-Identifier: Apache-2.0 */
/* util.c - strings, number parsing, whole-file I/O; see util.h. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "hull-build.h"
#include "util.h"

void strv_free(char **l)
{
        if (!l)
                return;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
}

size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *s)
{
        size_t n = strv_length(*l);
        char **m = realloc(*l, sizeof(char *) * (n + 2));
        if (!m) {
                free(s);
                return -ENOMEM;
        }
        m[n] = s;
        m[n + 1] = NULL;
        *l = m;
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        return strv_push(l, c);
}

char **strv_copy(char *const *l)
{
        size_t n = strv_length(l);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

bool strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

char *path_clean_rooted(const char *in)
{
        char *out = malloc(strlen(in) + 2);
        size_t len = 0;

        if (!out)
                return NULL;
        for (const char *s = in; *s;) {
                size_t n;
                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                n = strcspn(s, "/");
                if (n == 1 && s[0] == '.') {
                } else if (n == 2 && s[0] == '.' && s[1] == '.') {
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                } else {
                        out[len++] = '/';
                        memcpy(out + len, s, n);
                        len += n;
                }
                s += n;
        }
        if (len == 0)
                out[len++] = '/';
        out[len] = 0;
        return out;
}

char *strdup_printf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

static int parse_ull(const char *s, int base, unsigned long long *ret)
{
        unsigned long long v;
        char *end;

        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
        unsigned long long v;
        int r = parse_ull(s, 0, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
        unsigned long long v;
        int r = parse_ull(s, 10, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
        long long v;
        char *end;

        if (!s || !*s || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_int(const char *s, int *ret)
{
        int64_t v;
        int r = parse_i64(s, &v);
        if (r < 0)
                return r;
        if (v < INT_MIN || v > INT_MAX)
                return -ERANGE;
        *ret = (int)v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
        unsigned long long v;
        unsigned shift = 0;
        char *end;

        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -errno;
        if (end == s)
                return -EINVAL;
        switch (*end) {
        case 0:
                break;
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default:
                return -EINVAL;
        }
        if (*end && end[1] && !((end[1] == 'i' || end[1] == 'B' || end[1] == 'b') &&
                                (end[2] == 0 || (end[1] == 'i' && (end[2] == 'B' || end[2] == 'b') && !end[3]))))
                return -EINVAL;
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t)v << shift;
        return 0;
}

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        for (;;) {
                ssize_t k;

                if (alloc - size < 4096) {
                        size_t n = alloc ? alloc * 2 : 16384;
                        char *b;
                        if (n > max + 1)
                                n = max + 1;
                        if (n <= size)
                                return -EFBIG;
                        b = realloc(buf, n);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        alloc = n;
                }
                k = read(fd, buf + size, alloc - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                size += (size_t)k;
                if (size > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_full_fd(fd, max, ret, ret_size);
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size)
{
        return read_full_file_at(AT_FDCWD, path, max, ret, ret_size);
}

int read_one_line_file(const char *path, char **ret)
{
        char *s;
        int r = read_full_file(path, 1 << 20, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = s;
        return 0;
}

int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                len -= (size_t)k;
        }
        return 0;
}

int write_string_file_at(int dirfd, const char *path, const char *s)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* sysfs and cgroupfs take one write(); a short write is an error there. */
        ssize_t k = write(fd, s, strlen(s));
        if (k < 0)
                return negative_errno();
        if ((size_t)k != strlen(s))
                return -EIO;
        return 0;
}

int write_string_file(const char *path, const char *s)
{
        return write_string_file_at(AT_FDCWD, path, s);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = strdup_printf("%s.tmp.%d", path, (int)getpid());
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!tmp)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, data, len);
        if (r < 0)
                goto fail;
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        return 0;
fail:
        unlink(tmp);
        return r;
}

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static int rm_rf_children(int dfd, dev_t dev)
{
        DIR *d = fdopendir(dfd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                safe_close(dfd);
                return negative_errno();
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                r = negative_errno();
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int cfd;
                        if (st.st_dev != dev) {
                                r = -EXDEV; /* a mount point: never descend */
                                continue;
                        }
                        cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd >= 0) {
                                int k = rm_rf_children(cfd, dev);
                                if (k < 0)
                                        r = k;
                        }
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                                r = negative_errno();
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        r = negative_errno();
        }
        closedir(d);
        return r;
}

int rm_rf(const char *path)
{
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? negative_errno() : 0;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = rm_rf_children(fd, st.st_dev);
        if (rmdir(path) < 0 && errno != ENOENT && r >= 0)
                r = negative_errno();
        return r;
}

static int entry_use_cmp(const void *a, const void *b)
{
        const struct dir_entry_use *x = a, *y = b;
        if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
                return x->st.st_mtim.tv_sec < y->st.st_mtim.tv_sec ? -1 : 1;
        if (x->st.st_mtim.tv_nsec != y->st.st_mtim.tv_nsec)
                return x->st.st_mtim.tv_nsec < y->st.st_mtim.tv_nsec ? -1 : 1;
        return strcmp(x->name, y->name);
}

void dir_entries_free(struct dir_entry_use *e, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(e[i].name);
        free(e);
}

int dir_list_by_use(DIR *d, bool (*want)(DIR *d, const char *name, const struct stat *st, void *userdata),
                    void *userdata, struct dir_entry_use **ret, size_t *ret_n)
{
        struct dir_entry_use *e = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !want(d, de->d_name, &st, userdata))
                        continue;
                if (n == cap) {
                        struct dir_entry_use *m = reallocarray(e, cap = cap ? cap * 2 : 16, sizeof(*e));
                        if (!m)
                                goto nomem;
                        e = m;
                }
                e[n] = (struct dir_entry_use){.name = strdup(de->d_name), .st = st};
                if (!e[n].name)
                        goto nomem;
                n++;
        }
        if (n)
                qsort(e, n, sizeof(*e), entry_use_cmp);
        *ret = e;
        *ret_n = n;
        return 0;
nomem:
        dir_entries_free(e, n);
        return -ENOMEM;
}

int fd_cloexec(int fd, bool on)
{
        int f = fcntl(fd, F_GETFD);
        if (f < 0)
                return negative_errno();
        f = on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
        return fcntl(fd, F_SETFD, f) < 0 ? negative_errno() : 0;
}

int fd_nonblock(int fd, bool on)
{
        int f = fcntl(fd, F_GETFL);
        if (f < 0)
                return negative_errno();
        f = on ? (f | O_NONBLOCK) : (f & ~O_NONBLOCK);
        return fcntl(fd, F_SETFL, f) < 0 ? negative_errno() : 0;
}

static int cmp_int(const void *a, const void *b)
{
        return *(const int *)a - *(const int *)b;
}

int close_all_fds(int from, const int *keep, size_t n_keep)
{
        int sorted[64];
        size_t n = MIN(n_keep, ELEMENTSOF(sorted));
        int lo = from;

        memcpy(sorted, keep, n * sizeof(int));
        qsort(sorted, n, sizeof(int), cmp_int);
        /* close_range(2) (Linux 5.9) closes the gaps between kept fds in one call each. */
        for (size_t i = 0; i <= n; i++) {
                int hi = i < n ? sorted[i] - 1 : INT_MAX;
                if (i < n && sorted[i] < from)
                        continue;
                if (hi >= lo && syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0) < 0)
                        return negative_errno();
                if (i < n)
                        lo = sorted[i] + 1;
        }
        return 0;
}

static const char *const signal_names[] = {
        [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT",     [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",       [SIGFPE] = "FPE",
        [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",     [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",     [SIGSTKFLT] = "STKFLT",
        [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP",     [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",       [SIGXCPU] = "XCPU",
        [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",     [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

int signal_from_string(const char *s)
{
        const char *p;
        int n;

        if (!s || !*s)
                return -EINVAL;
        if (parse_int(s, &n) >= 0)
                return n > 0 && n < _NSIG ? n : -EINVAL;
        p = s;
        if (strncasecmp(p, "SIG", 3) == 0)
                p += 3;
        for (size_t i = 1; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i] && strcasecmp(p, signal_names[i]) == 0)
                        return (int)i;
        if (strcasecmp(p, "IOT") == 0)
                return SIGABRT;
        if (strcasecmp(p, "CLD") == 0)
                return SIGCHLD;
        if (strcasecmp(p, "POLL") == 0)
                return SIGIO;
        if (strncasecmp(p, "RTMIN", 5) == 0 || strncasecmp(p, "RTMAX", 5) == 0) {
                bool min = strncasecmp(p, "RTMIN", 5) == 0;
                int off = 0;
                if (p[5]) {
                        if ((min && p[5] != '+') || (!min && p[5] != '-') || parse_int(p + 6, &off) < 0 || off < 0)
                                return -EINVAL;
                }
                n = min ? SIGRTMIN + off : SIGRTMAX - off;
                return n >= SIGRTMIN && n <= SIGRTMAX ? n : -EINVAL;
        }
        return -EINVAL;
}

const char *signal_to_string(int sig, char *buf, size_t size)
{
        if (sig > 0 && (size_t)sig < ELEMENTSOF(signal_names) && signal_names[sig]) {
                snprintf(buf, size, "SIG%s", signal_names[sig]);
                return buf;
        }
        if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
                snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
                return buf;
        }
        return NULL;
}

int proc_start_time(pid_t pid, uint64_t *ret)
{
        char path[64], buf[1024];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? negative_errno() : -EIO;
        buf[n] = 0;
        /* comm may contain spaces and parentheses: fields start after the last ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p += 2;
        if (*p == 'Z' || *p == 'X')
                return -ESRCH;
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EIO;
                p++;
        }
        *ret = strtoull(p, NULL, 10);
        return 0;
}

bool proc_alive(pid_t pid, uint64_t start_time)
{
        uint64_t t;

        if (pid <= 0)
                return false;
        if (proc_start_time(pid, &t) < 0)
                return false;
        return t == start_time;
}

static bool is_executable(const char *p)
{
        return access(p, X_OK) == 0;
}

int find_hull_binary(const char *name, const char *env, char **ret)
{
        const char *v = env ? getenv(env) : NULL;
        char self[PATH_MAX];
        ssize_t n;

        if (v && *v) {
                *ret = strdup(v);
                return *ret ? 0 : -ENOMEM;
        }
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                char *slash;
                self[n] = 0;
                slash = strrchr(self, '/');
                if (slash) {
                        /* Installed side by side, or a build tree (build/cmd/<a>/<a> -> build/cmd/<name>/<name>). */
                        _cleanup_free_ char *a = NULL, *b = NULL;
                        *slash = 0;
                        a = strdup_printf("%s/%s", self, name);
                        b = strdup_printf("%s/../%s/%s", self, name, name);
                        if (!a || !b)
                                return -ENOMEM;
                        if (is_executable(a)) {
                                *ret = TAKE_PTR(a);
                                return 0;
                        }
                        if (is_executable(b)) {
                                *ret = realpath(b, NULL);
                                return *ret ? 0 : -ENOMEM;
                        }
                }
        }
        {
                _cleanup_free_ char *p = strdup_printf("%s/%s", HULL_LIBEXECDIR, name);
                if (!p)
                        return -ENOMEM;
                if (is_executable(p)) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        for (const char *s = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin"; *s;) {
                size_t l = strcspn(s, ":");
                _cleanup_free_ char *p = strdup_printf("%.*s/%s", (int)l, s, name);
                if (!p)
                        return -ENOMEM;
                if (l > 0 && is_executable(p)) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                s += l;
                if (*s == ':')
                        s++;
        }
        return -ENOENT;
}
