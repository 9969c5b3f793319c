/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.h - what the engine (containers, build) uses from libhull_image, in one place.
 *
 * Open the store once per process; every call below takes it. All functions
 * return 0 or -errno and record one message with err_set() (error.h).
 *
 *   struct image_store *s;
 *   image_store_open(root, &s);                        <root>/state.db + <root>/image/ (store.h)
 *
 * Resolve what a user typed to an image id ("sha256:<config digest>"):
 *   store_resolve(s, "busybox", &id);                  tag, name@digest, full or short id
 *   image_pull(s, "busybox", &opts, &id);              when missing (pull.h)
 *
 * The image's configuration, as a container needs it (struct image_config in manifest.h:
 * env, cmd, entrypoint, working_dir, user, exposed_ports, volumes, stop_signal,
 * healthcheck, labels as key/value pairs, and the whole JSON for inspect):
 *   store_image_config(s, id, &cfg);
 *
 * The unpacked layers, bottom first, as absolute directory paths (overlay lower dirs):
 *   store_image_layer_paths(s, id, &paths);
 *
 * A container's root file system: overlay of the layers with the container's own upper
 * and work directories (copied instead where overlay cannot be mounted), and back:
 *   rootfs_mount(s, id, target, upper, work, 0, &mode);   (rootfs.h)
 *   rootfs_umount(target, mode);
 *
 * Build: commit what a RUN step changed (the overlay upper directory, whiteouts and
 * opaque directories converted to .wh. entries) as a new image on top of the parent:
 *   rootfs_commit(s, parent_id, upper, "RUN make", "app:dev", &new_id);
 * and read the Dockerfile / .dockerignore of a build context:
 *   dockerfile_parse(), dockerfile_expand(), dockerignore_parse(), dockerignore_excludes()
 *
 * Removal: the engine must refuse store_remove_image() for an image a container uses; the
 * store keeps layers until no image references them (store_gc()).
 */
#pragma once

#include "dockerfile.h"
#include "dockerignore.h"
#include "image-archive.h"
#include "manifest.h"
#include "policy.h"
#include "pull.h"
#include "reference.h"
#include "rootfs.h"
#include "store.h"
