/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - strings, number parsing, whole-file I/O and cache directories listed by last use.
 *
 * Every function returns 0 (or a documented non-negative value) on success and
 * -errno on failure; results go through ret_ parameters, written only on success.
 */
#pragma once

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "macro.h"

/* strv: NULL-terminated arrays of malloc'd strings. */
size_t strv_length(char *const *l);
/* Append a copy of s to *l. */
int strv_extend(char ***l, const char *s);
/* Append s itself (takes ownership even on failure). */
int strv_push(char ***l, char *s);
char **strv_copy(char *const *l);
bool strv_contains(char *const *l, const char *s);

/* path cleaned lexically as if it were below "/" (Go's path.Clean of "/" + path): ".", ".." (which
 * stops at the root) and repeated slashes go; always absolute. malloc'd; NULL on ENOMEM. */
char *path_clean_rooted(const char *path);

/* malloc'd printf; NULL on ENOMEM. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* Strict decimal (or 0x hex for the u64 variants) parsing: the whole string must be a number in range. */
int parse_int(const char *s, int *ret);
int parse_u32(const char *s, uint32_t *ret);
int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
/* "256M", "1G", "4096", "2k": suffixes k/K, m/M, g/G, t/T are powers of 1024. */
int parse_size(const char *s, uint64_t *ret);

/* Whole-file helpers. read_full_* NUL-terminate the buffer; *ret_size excludes the NUL. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size);
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);
/* Read the first line of a small (sysfs/procfs) file without the trailing newline. */
int read_one_line_file(const char *path, char **ret);
int write_all(int fd, const void *buf, size_t len);
/* Write s to an existing file (sysfs, procfs, cgroupfs). No O_CREAT. */
int write_string_file(const char *path, const char *s);
int write_string_file_at(int dirfd, const char *path, const char *s);
/* Write data to path atomically: a temp file in the same directory, then rename(). */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

int mkdir_p(const char *path, mode_t mode);
/* Remove path and everything below it without following symlinks or crossing mounts. */
int rm_rf(const char *path);

/* An entry of a cache directory, as dir_list_by_use() lists it. */
struct dir_entry_use {
        char *name;
        struct stat st; /* lstat; st_mtim is the entry's last use */
};
/*
 * The entries of the open directory d (not "." or "..") that want() accepts, least recently
 * used first: oldest mtime first, ties by name, so that caches evict in a stable order. want()
 * sees each name with its lstat and may remove what it rejects (a dead maker's left-over).
 * *ret is freed with dir_entries_free().
 */
int dir_list_by_use(DIR *d, bool (*want)(DIR *d, const char *name, const struct stat *st, void *userdata),
                    void *userdata, struct dir_entry_use **ret, size_t *ret_n);
void dir_entries_free(struct dir_entry_use *e, size_t n);

int fd_cloexec(int fd, bool on);
int fd_nonblock(int fd, bool on);

/* CLOCK_MONOTONIC in milliseconds and in microseconds. */
int64_t now_ms(void);
uint64_t now_usec(void);
/* Close every fd >= from except those listed in keep (sorted not required). */
int close_all_fds(int from, const int *keep, size_t n_keep);

/* Read a signal name ("TERM", "SIGTERM", "sigkill") or number ("9"). Returns the signal or -EINVAL. */
int signal_from_string(const char *s);
/* "SIGTERM" for 15; "SIGRTMIN+3" for real-time signals; NULL when out of range. */
const char *signal_to_string(int sig, char *buf, size_t size);

/*
 * Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot): with the pid it
 * names one process, as a pid alone may be reused. -ESRCH when it is gone or a zombie (it has
 * exited and left its namespaces).
 */
int proc_start_time(pid_t pid, uint64_t *ret);
/* True when pid is alive and has the recorded start time. */
bool proc_alive(pid_t pid, uint64_t start_time);

/*
 * Path (malloc'd) of one of hull's executables: $env when set, else next to this executable
 * (installed side by side), else build/cmd/<name>/<name> of a build tree this one runs from,
 * else HULL_LIBEXECDIR, else PATH. -ENOENT when none (no message: callers say what needs it).
 */
int find_hull_binary(const char *name, const char *env, char **ret);
