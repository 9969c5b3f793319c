/* SPDX-License-Identifier: Apache-2.0 */
/*
 * build.h - `hull build`: a Dockerfile and a build context become an image.
 *
 * The executor reads the Dockerfile (dockerfile.h) and .dockerignore, builds
 * the stages the target needs in order, and commits the target stage as an
 * image with the given tags. Each stage starts from a stored image (pulled
 * when missing), a previous stage, or scratch; then:
 *   RUN          runs in a container of hull-runtime on an overlay of the
 *                current layers with a fresh upper directory, which becomes
 *                the step's layer (nothing when the step changed nothing);
 *   COPY, ADD    write files of the context (after .dockerignore), of another
 *                stage or image (--from) into that overlay; ADD also unpacks
 *                local tar archives;
 *   the rest     change the image config (ENV, LABEL, USER, WORKDIR, ...).
 * A layer step commits an untagged image that holds its layers: those are
 * the build cache. The cache maps a key per step (the previous key, the
 * instruction after expansion, the build args it sees, and for COPY/ADD the
 * content of the sources) to the resulting image and config, so an unchanged
 * rebuild runs nothing and yields the same image id. `hull image prune`
 * removes the cached images with the other unnamed ones.
 *
 * Mounts and temporary files of a build live under <root>/build/<id>/ and are
 * removed on every path; the lock file <root>/build/<id>.lock is held while
 * the build runs, and a build directory whose lock is free (its hull was
 * killed) is collected by build_cleanup_stale(), which every build calls
 * first. A failed build leaves no image but the cached steps before the one
 * that failed. The CLI runs builds in a private mount namespace, so that a
 * SIGKILL cannot leave a mount behind in the host's.
 *
 * Not thread-safe (rootfs.h changes the working directory while mounting);
 * parallel builds run as separate processes.
 */
#pragma once

#include <signal.h>
#include <stdint.h>

#include "store.h"

enum build_event_type {
        BUILD_EVENT_STEP,    /* a step starts: text is the instruction as written */
        BUILD_EVENT_CACHED,  /* the step's result came from the cache; id: its layer image or NULL */
        BUILD_EVENT_OUTPUT,  /* output of a RUN step (stdout and stderr, interleaved): data, len */
        BUILD_EVENT_TICK,    /* a long step is still working (about 10 per second); elapsed_ns */
        BUILD_EVENT_DONE,    /* the step finished; id: its new layer image or NULL; elapsed_ns */
        BUILD_EVENT_WARNING, /* text */
        BUILD_EVENT_COMMIT,  /* the image is stored: id; text: its first tag or NULL */
        _BUILD_EVENT_TYPE_MAX,
        _BUILD_EVENT_TYPE_INVALID = -EINVAL,
};

struct build_event {
        enum build_event_type type;
        unsigned stage, n_stages; /* 1-based, among the stages built */
        unsigned step, n_steps;   /* 1-based, within the stage */
        unsigned line;            /* Dockerfile line of the step */
        const char *text;
        const char *id;
        const char *data;
        size_t len;
        uint64_t elapsed_ns;
};

struct build_progress {
        void (*fn)(void *userdata, const struct build_event *e);
        void *userdata;
};

struct build_options {
        const char *context;    /* directory */
        const char *dockerfile; /* NULL: <context>/Dockerfile */
        char **tags;            /* names as typed ("app", "localhost:5000/app:1"); may be NULL */
        char **build_args;      /* "K=V", or "K" to take K from the environment */
        const char *target;     /* stage name, or NULL for the last stage */
        bool no_cache;          /* run every step (results still go to the cache) */
        const char *runtime;    /* path of hull-runtime */
        const struct build_progress *progress;
        const struct image_progress *pull_progress; /* base images pulled on the way */
        /* Set (by a signal handler) to stop the build: the running step is killed, -ECANCELED. */
        const volatile sig_atomic_t *cancel;
};

/*
 * Build; the image id ("sha256:...", malloc'd) through ret_id. On failure nothing but
 * cache entries of the steps that succeeded is left, and err_msg() says what failed,
 * naming the Dockerfile line: "Dockerfile:5: RUN make: exit status 2".
 */
int build_image(struct image_store *s, const struct build_options *o, char **ret_id);

/*
 * Remove what killed builds left under <root>/build: their containers (through
 * `runtime delete --force`), mounts and files. Builds that still run are left alone.
 * Returns the number of build directories collected.
 */
int build_cleanup_stale(struct image_store *s, const char *runtime);

/*
 * 1 when image_id holds the layers of a cached build step (an intermediate image,
 * which `hull images` lists only with --all), 0 when not, or a negative errno.
 */
int build_cache_holds(struct image_store *s, const char *image_id);
