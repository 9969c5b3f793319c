/* SPDX-License-Identifier: Apache-2.0 */
/* inspect.h - JSON forms of containers and volumes (podman's field names); see inspect.c. */
#pragma once

#include "container.h"
#include "volume.h"

struct json_object;

int ctr_inspect_json(struct engine *e, struct workload *w, struct json_object **ret);
int volume_inspect_json(struct engine *e, const struct volume_info *v, struct json_object **ret);
