/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine-net-tool - the engine's VM network calls (engine-net.h) on the command line, for the
 * tests of tests/integration/engine-net until `hull vm` calls them:
 *
 *   engine-net-tool --root ROOT attach-tap ID NAME DIR [NETWORK [IP]]   print the tap as JSON
 *   engine-net-tool --root ROOT detach-tap ID DIR
 */
#include <json-c/json.h>
#include <stdio.h>

#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "util.h"

static void add(struct json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static int attach(struct engine *e, int argc, char **argv)
{
        _cleanup_runspec_ struct runspec *s = runspec_new();
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct engine_net_tap *taps = NULL, t;
        size_t n = 0;
        int r;

        if (!s || !o)
                return -ENOMEM;
        if (argc > 3 &&
            (r = runspec_network_add(s, argv[3], argc > 4 ? argv[4] : NULL, NULL, NULL, NULL)) < 0)
                return r;
        r = engine_net_attach_taps(e, argv[0], argv[1], s, NULL, argv[2], (uid_t)-1, (gid_t)-1, &taps, &n);
        if (r < 0)
                return r;
        t = taps[0];
        add(o, "network", t.network);
        add(o, "tap", t.tap);
        add(o, "mac", t.mac);
        add(o, "ipv4", t.ipv4);
        add(o, "gateway4", t.gateway4);
        add(o, "kernel_ip_arg", t.kernel_ip_arg);
        add(o, "hosts", t.hosts);
        json_object_object_add(o, "mtu", json_object_new_int64(t.mtu));
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        engine_net_taps_free(taps, n);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_engine_ struct engine *e = NULL;
        int r;

        if (argc < 5 || !streq(argv[1], "--root")) {
                fprintf(stderr, "usage: engine-net-tool --root ROOT attach-tap|detach-tap ...\n");
                return 2;
        }
        r = engine_open(argv[2], &e);
        if (r >= 0 && streq(argv[3], "attach-tap") && argc >= 7)
                r = attach(e, argc - 4, argv + 4);
        else if (r >= 0 && streq(argv[3], "detach-tap") && argc == 6)
                r = engine_net_detach_tap(e, argv[4], argv[5]);
        else if (r >= 0)
                r = err_set(-EINVAL, "unknown command or wrong arguments");
        if (r < 0) {
                fprintf(stderr, "engine-net-tool: %s\n", err_msg(r));
                return 1;
        }
        return 0;
}
