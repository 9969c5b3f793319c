/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volume.h - named volumes on local disk: <root>/volumes/<name>/_data, rows in the
 * "volumes" table, and which containers use them ("workload_volumes").
 *
 * A volume outlives the containers that use it. Anonymous volumes (-v /path, an image's
 * VOLUME) get a 64-hex name and go with their container when it is removed with --rm or
 * `rm -v`. A volume in use cannot be removed (the foreign key of workload_volumes, and
 * volume_remove() says by whom). When a container first mounts an empty volume, the
 * image's content at the mount point is copied into it (Docker's behaviour; nocopy
 * turns it off).
 *
 * Crash consistency: the row is written before the directory is made, and the directory
 * is removed before the row; `volume prune` and `volume rm` finish what a killed process
 * left half done (a directory without a row is never reused for a new volume: create
 * clears it).
 */
#pragma once

#include <stdint.h>

#include "engine.h"

struct volume_info {
        char *name, *driver, *mountpoint;
        char *labels; /* JSON object */
        int64_t created;
        bool anonymous;
        char **users; /* names of the containers using it */
};

void volume_info_free(struct volume_info *v);
static inline void volume_info_freep(struct volume_info **v)
{
        volume_info_free(*v);
}
#define _cleanup_volume_info_ _cleanup_(volume_info_freep)
void volume_info_list_free(struct volume_info **l, size_t n);

/* <root>/volumes/<name>/_data (malloc'd). */
char *volume_data_path(struct engine *e, const char *name);
/* Create a volume; -EEXIST "volume 'x' already exists". labels: key, value, ... (may be NULL). */
int volume_create(struct engine *e, const char *name, char **labels, bool anonymous);
/* Record the volume when missing (a container being created names it; inside its transaction). */
int volume_claim(struct engine *e, const char *name, bool anonymous);
/* Make sure the data directory of a claimed volume exists (a container starts using it). */
int volume_prepare(struct engine *e, const char *name);
int volume_inspect(struct engine *e, const char *name, struct volume_info **ret);
int volume_list(struct engine *e, struct volume_info ***ret, size_t *ret_n);
/* Remove a volume nobody uses; -EBUSY "volume 'x' is in use by container y". */
int volume_remove(struct engine *e, const char *name);
/* Remove every volume no container uses; names through ret (strv, may be empty). */
int volume_prune(struct engine *e, char ***ret);
/* Record that the workload mounts the volume at destination (inside the caller's transaction). */
int volume_attach(struct engine *e, const char *workload_id, const char *name, const char *destination);
/* The anonymous volumes of a workload (strv). */
int volume_anonymous_of(struct engine *e, const char *workload_id, char ***ret);
/* True when the volume's data directory is empty (nothing to hide: copy the image's content in). */
bool volume_is_empty(struct engine *e, const char *name);
