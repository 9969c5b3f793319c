/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-features.c - `features`: runtime-spec features.md / features-linux.md document. */
#include <sys/stat.h>

#include "caps.h"
#include "cgroup.h"
#include "hull-build.h"
#include "cmd.h"
#include "config.h"
#include "json.h"
#include "lsm.h"
#include "seccomp.h"
#include "util.h"

static struct json_object *strings(const char *const *l)
{
        struct json_object *a = json_object_new_array();
        for (; *l; l++)
                json_object_array_add(a, json_object_new_string(*l));
        return a;
}

int cmd_features(struct cmd_args *a)
{
        static const char *const mount_options[] = {
                "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "idmap", "iversion", "lazytime", "loud",
                "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand",
                "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev",
                "rdiratime", "relatime", "remount", "rexec", "ridmap", "rnoatime", "rnodev", "rnodiratime", "rnoexec",
                "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
                "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
                "strictatime", "suid", "symfollow", "sync", "unbindable", NULL,
        };
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *l = json_object_new_object(), *hooks = json_object_new_array(),
                           *ns = json_object_new_array(), *caps = json_object_new_array(),
                           *cg = json_object_new_object(), *sec = NULL, *ann = json_object_new_object();
        enum cgroup_mode mode;

        json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
        json_object_object_add(o, "ociVersionMax", json_object_new_string("1.2.0"));
        for (enum hook_kind k = 0; k < _HOOK_KIND_MAX; k++)
                json_object_array_add(hooks, json_object_new_string(hook_kind_to_string(k)));
        json_object_object_add(o, "hooks", hooks);
        json_object_object_add(o, "mountOptions", strings(mount_options));

        for (enum ns_type t = 0; t < _NS_TYPE_MAX; t++)
                json_object_array_add(ns, json_object_new_string(ns_type_to_string(t)));
        json_object_object_add(l, "namespaces", ns);
        for (int c = 0; c <= cap_last_cap(); c++)
                if (cap_to_spec_name(c))
                        json_object_array_add(caps, json_object_new_string(cap_to_spec_name(c)));
        json_object_object_add(l, "capabilities", caps);
        json_object_object_add(cg, "v1", json_object_new_boolean(true));
        json_object_object_add(cg, "v2", json_object_new_boolean(true));
        json_object_object_add(cg, "systemd", json_object_new_boolean(false));
        json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
        json_object_object_add(cg, "rdma", json_object_new_boolean(false));
        json_object_object_add(l, "cgroup", cg);
        if (seccomp_features(&sec) >= 0)
                json_object_object_add(l, "seccomp", sec);
        {
                struct json_object *aa = json_object_new_object(), *se = json_object_new_object(),
                                   *rdt = json_object_new_object(), *me = json_object_new_object(),
                                   *idm = json_object_new_object();
                json_object_object_add(aa, "enabled", json_object_new_boolean(lsm_apparmor_enabled()));
                json_object_object_add(se, "enabled", json_object_new_boolean(lsm_selinux_enabled()));
                json_object_object_add(rdt, "enabled", json_object_new_boolean(false));
                json_object_object_add(idm, "enabled", json_object_new_boolean(true));
                json_object_object_add(me, "idmap", idm);
                json_object_object_add(l, "apparmor", aa);
                json_object_object_add(l, "selinux", se);
                json_object_object_add(l, "intelRdt", rdt);
                json_object_object_add(l, "mountExtensions", me);
        }
        json_object_object_add(o, "linux", l);
        json_object_object_add(ann, "io.github.hull.runtime.version", json_object_new_string(HULL_VERSION));
        json_object_object_add(ann, "io.github.hull.runtime.cgroup.mode",
                               json_object_new_string(cgroup_detect(&mode) >= 0 && mode == CGROUP_MODE_V2 ? "v2" : "v1"));
        json_object_object_add(o, "annotations", ann);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}
