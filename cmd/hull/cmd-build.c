/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-build.c - `hull build`: options, the progress view, and the process
 * set-up a build needs (see build.h for the build itself).
 *
 * Set-up: the build runs in a private mount namespace whose mounts do not
 * propagate back (MS_SLAVE), so that its overlay mounts vanish with the
 * process however it ends; SIGINT, SIGTERM and SIGHUP cancel the build (the
 * running step is killed, the store is left as it was). hull-runtime is found
 * as the engine finds it (engine_find_binary()).
 *
 * Output: steps, RUN output and cache hits go to stderr; the image id alone
 * to stdout, so that `id=$(hull build .)` works. With -q only the id, or, when
 * the build fails, the end of the failing step's output and the error. On a terminal step headers are
 * bold, cache hits and timings dim, and a spinner with the elapsed time sits
 * below a step that is still running; otherwise plain lines as podman prints
 * them ("STEP 2/5: RUN make", "--> Using cache 0123456789ab").
 */
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#include "build.h"
#include "cmd.h"
#include "hull-build.h"
#include "output.h"
#include "reference.h"
#include "util.h"

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
        cancelled = 1;
}

/* With -q, the tail of the running step's output, shown when the build fails. */
#define QUIET_TAIL 16384

struct view {
        bool tty, quiet;
        bool status; /* a status line is on screen */
        bool at_bol; /* the output so far ends a line */
        unsigned spin;
        char tail[QUIET_TAIL];
        size_t tail_len;
};

static void tail_add(struct view *v, const char *data, size_t len)
{
        if (len >= QUIET_TAIL) {
                data += len - QUIET_TAIL;
                len = QUIET_TAIL;
        }
        if (v->tail_len + len > QUIET_TAIL) {
                size_t drop = v->tail_len + len - QUIET_TAIL;
                memmove(v->tail, v->tail + drop, v->tail_len - drop);
                v->tail_len -= drop;
        }
        memcpy(v->tail + v->tail_len, data, len);
        v->tail_len += len;
}

static void status_clear(struct view *v)
{
        if (v->status) {
                fputs("\r\033[K", stderr);
                v->status = false;
        }
}

static void line_start(struct view *v)
{
        status_clear(v);
        if (!v->at_bol)
                fputc('\n', stderr);
        v->at_bol = true;
}

static void view_fn(void *userdata, const struct build_event *e)
{
        static const char *const spinner[] = {"|", "/", "-", "\\"};
        struct view *v = userdata;
        char id[16];

        if (v->quiet) {
                if (e->type == BUILD_EVENT_WARNING)
                        fprintf(stderr, "hull: warning: %s\n", e->text);
                else if (e->type == BUILD_EVENT_STEP)
                        v->tail_len = 0;
                else if (e->type == BUILD_EVENT_OUTPUT)
                        tail_add(v, e->data, e->len);
                return;
        }
        switch (e->type) {
        case BUILD_EVENT_STEP:
                line_start(v);
                fprintf(stderr, "%s", v->tty ? "\033[1m" : "");
                if (e->n_stages > 1)
                        fprintf(stderr, "[%u/%u] ", e->stage, e->n_stages);
                fprintf(stderr, "STEP %u/%u: %s%s\n", e->step, e->n_steps, e->text, v->tty ? "\033[0m" : "");
                break;
        case BUILD_EVENT_OUTPUT:
                status_clear(v);
                fwrite(e->data, 1, e->len, stderr);
                v->at_bol = e->len > 0 && e->data[e->len - 1] == '\n';
                break;
        case BUILD_EVENT_TICK:
                if (!v->tty || !v->at_bol)
                        break;
                fprintf(stderr, "\r\033[K\033[2m%s %.1fs\033[0m", spinner[v->spin++ % 4],
                        (double)e->elapsed_ns / 1e9);
                v->status = true;
                break;
        case BUILD_EVENT_CACHED:
                line_start(v);
                fprintf(stderr, "%s--> Using cache %s%s\n", v->tty ? "\033[2m" : "",
                        e->id ? short_id(e->id, id) : "", v->tty ? "\033[0m" : "");
                break;
        case BUILD_EVENT_DONE:
                line_start(v);
                if (e->step == 1)
                        break; /* FROM: the base is named in the step line */
                /* A layer names its image; a terminal also shows how long each step took. */
                if (v->tty)
                        fprintf(stderr, "\033[2m--> %s%s%.1fs\033[0m\n", e->id ? short_id(e->id, id) : "",
                                e->id ? " " : "", (double)e->elapsed_ns / 1e9);
                else if (e->id)
                        fprintf(stderr, "--> %s\n", short_id(e->id, id));
                break;
        case BUILD_EVENT_WARNING:
                line_start(v);
                fprintf(stderr, "hull: warning: %s\n", e->text);
                break;
        case BUILD_EVENT_COMMIT:
                line_start(v);
                fprintf(stderr, "COMMIT %s\n--> %s\n", e->text ? e->text : "", short_id(e->id, id));
                break;
        default:
                break;
        }
        fflush(stderr);
}

/* Mounts of this process stay in it: a SIGKILL cannot leave one in the host's namespace. */
static int private_mounts(void)
{
        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return negative_errno();
        return 0;
}

int cmd_build(struct cmd_context *c)
{
        struct view v = {.tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet"), .at_bol = true};
        struct progress_view pv = {.tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet")};
        struct image_progress pp = {progress_view_fn, &pv};
        struct build_progress bp = {view_fn, &v};
        struct sigaction sa = {.sa_handler = on_signal}, old[3];
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        _cleanup_free_ char *runtime = NULL, *id = NULL;
        int r;

        if (engine_find_binary(ENGINE_BIN_RUNTIME, &runtime) < 0)
                return cmd_fail(-ENOENT, "build: hull-runtime not found (set $HULL_RUNTIME)");
        r = private_mounts();
        if (r < 0)
                return cmd_fail(r, "build: cannot make a private mount namespace");
        struct build_options o = {
                .context = c->argv[0],
                .dockerfile = cmd_opt(c, "file"),
                .tags = cmd_opt_all(c, "tag"),
                .build_args = cmd_opt_all(c, "build-arg"),
                .target = cmd_opt(c, "target"),
                .no_cache = cmd_flag(c, "no-cache"),
                .runtime = runtime,
                .progress = &bp,
                .pull_progress = &pp,
                .cancel = &cancelled,
        };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaction(sigs[i], &sa, &old[i]);
        r = build_image(c->store, &o, &id);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaction(sigs[i], &old[i], NULL);
        if (!v.quiet)
                line_start(&v);
        else if (r < 0 && v.tail_len > 0) {
                /* Quiet, but a failing step's own words are what explains the failure. */
                fwrite(v.tail, 1, v.tail_len, stderr);
                if (v.tail[v.tail_len - 1] != '\n')
                        fputc('\n', stderr);
        }
        if (r < 0)
                return cmd_fail(r, "build");
        STRV_FOREACH (t, v.quiet ? NULL : o.tags) {
                _cleanup_image_ref_ struct image_ref *ref = NULL;
                _cleanup_free_ char *name = image_ref_parse(*t, &ref) >= 0 ? image_ref_string(ref) : NULL;
                fprintf(stderr, "Successfully tagged %s\n", name ?: *t);
        }
        printf("%s\n", id + strlen("sha256:"));
        return 0;
}
