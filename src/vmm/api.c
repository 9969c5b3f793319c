/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - the control socket (see api.h). Every client has a small line buffer; the
 * loop reads what is there, answers each complete line, and keeps the connection for
 * the next request. Responses are short and written with a blocking-free send; a
 * client that does not read them loses the connection rather than stalling the VMM.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "api.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "vm-config.h"

#define API_LINE_MAX    4096
#define API_MAX_CLIENTS 16

struct api_client {
        struct api *api;
        int fd;
        size_t len;
        char buf[API_LINE_MAX];
};

struct api {
        struct vm *vm;
        char *path;
        int fd;
        struct api_client *clients[API_MAX_CLIENTS];
};


static char *reply(bool ok, const char *state, const char *error)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        if (state)
                json_object_object_add(o, "state", json_object_new_string(state));
        if (error)
                json_object_object_add(o, "error", json_object_new_string(error));
        return strdup(json_to_string(o));
}

static char *status_reply(struct vm *vm)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "state", json_object_new_string(vm_state_to_string(vm_get_state(vm))));
        json_object_object_add(o, "vcpus", json_object_new_int64(vm->n_vcpus));
        json_object_object_add(o, "memory", json_object_new_int64((int64_t)vm->mem.size));
        uint64_t up = vm->start_usec ? (now_usec() - vm->start_usec) / 1000 : 0;
        json_object_object_add(o, "uptime_ms", json_object_new_int64((int64_t)up));
        return strdup(json_to_string(o));
}

char *api_handle_request(struct vm *vm, const char *line)
{
        _cleanup_json_ struct json_object *req = NULL;
        const char *cmd;
        int r;

        err_clear();
        r = json_parse_buffer(line, strlen(line), "request", &req);
        if (r < 0)
                return reply(false, NULL, err_msg(r));
        if (!json_object_is_type(req, json_type_object))
                return reply(false, NULL, "request: expected a JSON object");
        r = json_get_string(req, "command", "command", &cmd);
        if (r == -ENOENT)
                return reply(false, NULL, "command: missing");
        if (r < 0)
                return reply(false, NULL, err_msg(r));

        if (streq(cmd, "status"))
                return status_reply(vm);
        if (streq(cmd, "pause")) {
                r = vm_pause(vm);
                return r < 0 ? reply(false, vm_state_to_string(vm_get_state(vm)), "the VM is not running")
                             : reply(true, "paused", NULL);
        }
        if (streq(cmd, "resume")) {
                r = vm_resume(vm);
                return r < 0 ? reply(false, vm_state_to_string(vm_get_state(vm)), "the VM is not paused")
                             : reply(true, "running", NULL);
        }
        if (streq(cmd, "attach-disks")) {
                r = vm_attach_disks(vm);
                return reply(r >= 0, vm_state_to_string(vm_get_state(vm)), r < 0 ? err_msg(r) : NULL);
        }
        if (streq(cmd, "shutdown")) {
                vm_request_shutdown(vm);
                return reply(true, vm_state_to_string(vm_get_state(vm)), NULL);
        }
        _cleanup_free_ char *msg = strdup_printf(
                "command: unknown command '%s' (status, pause, resume, attach-disks, shutdown)", cmd);
        return reply(false, NULL, msg ?: "command: unknown");
}

static void client_close(struct api_client *c)
{
        struct api *a = c->api;
        for (size_t i = 0; i < API_MAX_CLIENTS; i++)
                if (a->clients[i] == c)
                        a->clients[i] = NULL;
        (void)event_loop_remove(a->vm->loop, c->fd);
        safe_close(c->fd);
        free(c);
}

static int on_client(void *opaque, int fd, uint32_t events)
{
        struct api_client *c = opaque;

        ssize_t n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                client_close(c);
                return 0;
        }
        c->len += (size_t)n;
        for (;;) {
                char *nl = memchr(c->buf, '\n', c->len);
                if (!nl)
                        break;
                *nl = 0;
                _cleanup_free_ char *resp = api_handle_request(c->api->vm, c->buf);
                size_t used = (size_t)(nl - c->buf) + 1;
                memmove(c->buf, nl + 1, c->len - used);
                c->len -= used;
                if (!resp) {
                        client_close(c);
                        return 0;
                }
                size_t rl = strlen(resp);
                resp[rl] = '\n';
                if (send(fd, resp, rl + 1, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(rl + 1)) {
                        client_close(c);
                        return 0;
                }
        }
        if (c->len == sizeof(c->buf))
                client_close(c); /* a line longer than API_LINE_MAX */
        return 0;
}

static int on_accept(void *opaque, int fd, uint32_t events)
{
        struct api *a = opaque;
        size_t slot;

        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        for (slot = 0; slot < API_MAX_CLIENTS && a->clients[slot]; slot++)
                ;
        struct api_client *c = slot < API_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
                safe_close(cfd);
                return 0;
        }
        c->api = a;
        c->fd = cfd;
        if (event_loop_add(a->vm->loop, cfd, EPOLLIN, on_client, c) < 0) {
                safe_close(cfd);
                free(c);
                return 0;
        }
        a->clients[slot] = c;
        return 0;
}

/* fd=N: the caller's listening socket (checked in main); its path is the caller's, never unlinked. */
static int api_new_inherited(struct vm *vm, int fd, struct api **ret)
{
        struct api *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->vm = vm;
        a->fd = fd;
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                r = negative_errno();
        else
                r = event_loop_add(vm->loop, fd, EPOLLIN, on_accept, a);
        if (r < 0) {
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

int api_new(struct vm *vm, const char *path, struct api **ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r, fd;

        if ((r = vm_config_parse_api_sock(path, &fd)) < 0)
                return r;
        if (fd >= 0)
                return api_new_inherited(vm, fd, ret);
        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(-ENAMETOOLONG, "api-sock: path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        struct api *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->vm = vm;
        a->fd = -EBADF;
        a->path = strdup(path);
        if (!a->path) {
                free(a);
                return -ENOMEM;
        }
        a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (a->fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* The socket file is created 0600: the API controls the VM. */
        mode_t old = umask(0177);
        r = bind(a->fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0) {
                r = negative_errno();
                free(a->path);
                a->path = NULL; /* not ours: never unlink it */
                err_set(r, "api-sock: cannot bind '%s': %s", path, strerror(-r));
                goto fail;
        }
        if (listen(a->fd, 8) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = event_loop_add(vm->loop, a->fd, EPOLLIN, on_accept, a);
        if (r < 0)
                goto fail;
        *ret = a;
        return 0;
fail:
        api_free(a);
        return r;
}

void api_free(struct api *a)
{
        if (!a)
                return;
        for (size_t i = 0; i < API_MAX_CLIENTS; i++)
                if (a->clients[i])
                        client_close(a->clients[i]);
        if (a->fd >= 0) {
                (void)event_loop_remove(a->vm->loop, a->fd);
                safe_close(a->fd);
        }
        if (a->path)
                (void)unlink(a->path);
        free(a->path);
        free(a);
}
