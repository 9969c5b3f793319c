/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-run-options.c - libFuzzer target for the parsers of what users and images hand the
 * engine (runspec.h, user.h, seccomp-profile.h): the first byte picks the parser, the rest is
 * its input. --env-file content, -v, --mount, --tmpfs, --ulimit, -l, --restart, --cpus,
 * durations, memory sizes, --security-opt, --log-opt; an image's /etc/passwd and /etc/group
 * with a --user; a seccomp profile in Docker's schema. Whatever parses is stored and read back
 * as JSON, and must come back the same. Seeds: tests/fuzz/corpus/run-options/.
 */
#include <json-c/json.h>
#include <stdint.h>

#include "json.h"
#include "runspec.h"
#include "seccomp-profile.h"
#include "user.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct runspec *s)
{
        struct json_object *a = NULL, *b = NULL;
        struct runspec *back = NULL;

        if (runspec_to_json(s, &a) < 0)
                return;
        if (runspec_from_json(a, &back) < 0 || runspec_to_json(back, &b) < 0 ||
            !streq(json_to_string(a), json_to_string(b)))
                __builtin_trap();
        json_object_put(a);
        json_object_put(b);
        runspec_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct runspec *s;
        char *in, *raw;
        int64_t v;

        if (size < 1 || size > 65536)
                return 0;
        in = strndup((const char *)data + 1, size - 1);
        /* The whole input with a NUL after it (it may hold NULs: the passwd/group/spec case). */
        raw = calloc(1, size + 1);
        if (raw)
                memcpy(raw, data + 1, size - 1);
        s = runspec_new();
        if (!in || !s || !raw)
                goto out;
        switch (data[0] % 16) {
        case 0:
                (void)runspec_add_env_file(s, (const char *)data + 1, size - 1, "fuzz.env");
                break;
        case 1:
                (void)runspec_add_volume(s, in);
                break;
        case 2:
                (void)runspec_add_mount(s, in);
                break;
        case 3:
                (void)runspec_add_tmpfs(s, in);
                break;
        case 4:
                (void)runspec_add_ulimit(s, in);
                break;
        case 5:
                (void)runspec_add_label(s, in);
                break;
        case 6:
                (void)runspec_parse_restart(in, &s->restart, &s->restart_max);
                break;
        case 7:
                (void)runspec_set_cpus(s, in);
                break;
        case 8:
                (void)runspec_parse_duration("--fuzz", in, &v);
                break;
        case 9:
                (void)runspec_parse_memory("--fuzz", in, true, &v);
                break;
        case 10:
                /* Not FILE: a path would be read from the fuzzing machine. */
                if (!strstr(in, "seccomp"))
                        (void)runspec_set_security_opt(s, in);
                break;
        case 11:
                (void)runspec_set_log_opt(s, in);
                break;
        case 12:
                (void)runspec_check_name(in);
                (void)runspec_add_env(s, in);
                break;
        case 13: {
                /* passwd \0 group \0 spec (raw has size bytes: the last NUL is always there) */
                const char *passwd = raw, *group = passwd + strlen(passwd) + 1, *spec;
                struct user_ids u = {};
                if ((size_t)(group - raw) >= size)
                        break;
                spec = group + strlen(group) + 1;
                if ((size_t)(spec - raw) >= size)
                        spec = "";
                if (user_resolve_text(passwd, group, spec, &u) >= 0)
                        user_ids_done(&u);
                break;
        }
        default: {
                char *caps[] = {(char *)"CAP_SYS_ADMIN", NULL};
                struct json_object *o = NULL;
                if (seccomp_profile_resolve((const char *)data + 1, size - 1, caps, &o) >= 0)
                        json_object_put(o);
                break;
        }
        }
        (void)runspec_validate(s);
        round_trip(s);
out:
        runspec_free(s);
        free(in);
        free(raw);
        return 0;
}
