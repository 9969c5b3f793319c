/* SPDX-License-Identifier: Apache-2.0 */
/* state.c - <root>/<id>/ state directory of a container; see state.h. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "error.h"
#include "json.h"
#include "state.h"
#include "util.h"

#define OCI_VERSION "1.2.0"

static const char *const status_names[_STATUS_MAX] = {
        [STATUS_CREATING] = "creating", [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running",
        [STATUS_PAUSED] = "paused",     [STATUS_STOPPED] = "stopped",
};

const char *container_status_to_string(enum container_status s)
{
        return s >= 0 && s < _STATUS_MAX ? status_names[s] : "unknown";
}

int state_check_id(const char *id)
{
        size_t n = strlen(id);

        if (n == 0 || n > 1024 || id[0] == '.')
                return err_set(-EINVAL, "invalid container id '%s'", id);
        for (const char *p = id; *p; p++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.' || c == '+'))
                        return err_set(-EINVAL, "invalid container id '%s': only [A-Za-z0-9_.+-] allowed", id);
        }
        return 0;
}

static struct container_state *state_new(const char *root, const char *id)
{
        struct container_state *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->dir_fd = -EBADF;
        s->id = strdup(id);
        s->dir = strdup_printf("%s/%s", root, id);
        if (!s->id || !s->dir) {
                state_free(s);
                return NULL;
        }
        return s;
}

void state_free(struct container_state *s)
{
        if (!s)
                return;
        safe_close(s->dir_fd);
        free(s->id);
        free(s->dir);
        free(s->bundle);
        free(s->rootfs);
        free(s->created);
        cgroup_free(s->cgroup);
        if (s->annotations)
                json_object_put(s->annotations);
        if (s->extra)
                json_object_put(s->extra);
        free(s);
}

int state_claim(const char *root, const char *id, struct container_state **ret)
{
        struct container_state *s;
        int r;

        r = state_check_id(id);
        if (r < 0)
                return r;
        if (mkdir(root, 0700) < 0 && errno != EEXIST) {
                r = mkdir_p(root, 0700);
                if (r < 0)
                        return err_set(r, "cannot create state root '%s': %s", root, strerror(-r));
        }
        s = state_new(root, id);
        if (!s)
                return -ENOMEM;
        if (mkdir(s->dir, 0700) < 0) {
                r = negative_errno();
                state_free(s);
                if (r == -EEXIST)
                        return err_set(r, "container '%s' already exists", id);
                return err_set(r, "cannot create '%s/%s': %s", root, id, strerror(-r));
        }
        s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0 || flock(s->dir_fd, LOCK_EX) < 0) {
                r = negative_errno();
                rmdir(s->dir);
                state_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static int dup_string(struct json_object *o, const char *key, char **ret)
{
        const char *v;
        int r = json_get_string(o, key, key, &v);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int state_open(const char *root, const char *id, bool lock, struct container_state **ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct container_state *s = NULL;
        struct json_object *v;
        int64_t pid;
        uint64_t start;
        int r;

        r = state_check_id(id);
        if (r < 0)
                return r;
        s = state_new(root, id);
        if (!s)
                return -ENOMEM;
        s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0) {
                r = negative_errno();
                state_free(s);
                if (r == -ENOENT)
                        return err_set(r, "container '%s' does not exist", id);
                return err_set(r, "cannot open '%s/%s': %s", root, id, strerror(-r));
        }
        if (lock && flock(s->dir_fd, LOCK_EX) < 0) {
                r = negative_errno();
                goto fail;
        }
        {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = read_full_file_at(s->dir_fd, "state.json", 1 << 20, &buf, &len);
                if (r == -ENOENT) {
                        /* A create that died between mkdir and its first save, or is still running. */
                        r = err_set(-ENOENT, "container '%s' does not exist", id);
                        goto fail;
                }
                if (r < 0)
                        goto fail;
                r = json_parse_buffer(buf, len, "state.json", &o);
                if (r < 0)
                        goto fail;
        }
        if ((r = json_get_int64(o, "pid", "pid", &pid)) < 0 || (r = json_get_uint64(o, "pid_start", "pid_start", &start)) < 0 ||
            (r = dup_string(o, "bundle", &s->bundle)) < 0 || (r = dup_string(o, "rootfs", &s->rootfs)) < 0 ||
            (r = dup_string(o, "created", &s->created)) < 0)
                goto fail;
        s->pid = (pid_t)pid;
        s->pid_start = start;
        json_get_bool(o, "external_pidns", "external_pidns", &s->external_pidns);
        json_get_bool(o, "cgroupns", "cgroupns", &s->has_cgroupns);
        if (json_object_object_get_ex(o, "cgroup", &v) && json_object_get_type(v) == json_type_object) {
                r = cgroup_from_json(v, &s->cgroup);
                if (r < 0)
                        goto fail;
        }
        if (json_object_object_get_ex(o, "annotations", &v) && json_object_get_type(v) == json_type_object)
                s->annotations = json_object_get(v);
        *ret = s;
        return 0;
fail:
        state_free(s);
        return r;
}

int state_save(struct container_state *s)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        _cleanup_free_ char *path = NULL;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "id", json_object_new_string(s->id));
        json_object_object_add(o, "pid", json_object_new_int64(s->pid));
        json_object_object_add(o, "pid_start", json_object_new_uint64(s->pid_start));
        if (s->bundle)
                json_object_object_add(o, "bundle", json_object_new_string(s->bundle));
        if (s->rootfs)
                json_object_object_add(o, "rootfs", json_object_new_string(s->rootfs));
        if (s->created)
                json_object_object_add(o, "created", json_object_new_string(s->created));
        json_object_object_add(o, "external_pidns", json_object_new_boolean(s->external_pidns));
        json_object_object_add(o, "cgroupns", json_object_new_boolean(s->has_cgroupns));
        if (s->cgroup) {
                struct json_object *cg;
                int r = cgroup_to_json(s->cgroup, &cg);
                if (r < 0)
                        return r;
                json_object_object_add(o, "cgroup", cg);
        }
        if (s->annotations)
                json_object_object_add(o, "annotations", json_object_get(s->annotations));
        path = strdup_printf("%s/state.json", s->dir);
        if (!path)
                return -ENOMEM;
        return json_write_file_atomic(path, o, 0600);
}

int state_save_config(const struct container_state *s, const char *buf, size_t len)
{
        _cleanup_free_ char *path = strdup_printf("%s/config.json", s->dir);
        if (!path)
                return -ENOMEM;
        return write_file_atomic(path, buf, len, 0600);
}

int state_load_config(const struct container_state *s, struct oci_config **ret)
{
        _cleanup_free_ char *path = strdup_printf("%s/config.json", s->dir);
        if (!path)
                return -ENOMEM;
        return config_load(path, ret);
}

int state_remove(struct container_state *s)
{
        return rm_rf(s->dir);
}

enum container_status state_status(const struct container_state *s)
{
        bool frozen = false;

        if (!proc_alive(s->pid, s->pid_start))
                return STATUS_STOPPED;
        if (faccessat(s->dir_fd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return STATUS_CREATED;
        if (s->cgroup && cgroup_is_frozen(s->cgroup, &frozen) >= 0 && frozen)
                return STATUS_PAUSED;
        return STATUS_RUNNING;
}

int state_to_oci_json(const struct container_state *s, struct json_object **ret)
{
        struct json_object *o = json_object_new_object();
        enum container_status st = state_status(s);

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
        json_object_object_add(o, "id", json_object_new_string(s->id));
        json_object_object_add(o, "pid", json_object_new_int(st == STATUS_STOPPED ? 0 : s->pid));
        json_object_object_add(o, "status", json_object_new_string(container_status_to_string(st)));
        json_object_object_add(o, "bundle", json_object_new_string(strempty(s->bundle)));
        json_object_object_add(o, "rootfs", json_object_new_string(strempty(s->rootfs)));
        json_object_object_add(o, "created", json_object_new_string(strempty(s->created)));
        json_object_object_add(o, "owner", json_object_new_string(""));
        if (s->annotations)
                json_object_object_add(o, "annotations", json_object_get(s->annotations));
        *ret = o;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list(const char *root, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir(root);
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (errno == ENOENT) {
                        *ret = calloc(1, sizeof(char *));
                        return *ret ? 0 : -ENOMEM;
                }
                return negative_errno();
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || state_check_id(de->d_name) < 0)
                        continue;
                if (faccessat(dirfd(d), de->d_name, F_OK, 0) < 0)
                        continue;
                r = strv_extend(&l, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(d);
        err_clear();
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

char *rfc3339_now(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];
        size_t n;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
        return strdup(buf);
}
