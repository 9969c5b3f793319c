/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-pull.c - `hull pull`, `hull push` and `hull image sign`: the registry commands. */
#include "cmd.h"
#include "output.h"
#include "policy.h"
#include "pull.h"
#include "util.h"

/* Registry options shared by the three commands; the credentials are split into buf. */
static int registry_options(struct cmd_context *c, struct registry_options *o, char **buf)
{
        const char *creds = cmd_opt(c, "creds") ?: getenv("HULL_REGISTRY_CREDS");
        char *colon;

        *o = (struct registry_options){ .tls_verify = cmd_bool(c, "tls-verify", true),
                                        .cert_dir = cmd_opt(c, "cert-dir") };
        if (!creds)
                return 0;
        *buf = strdup(creds);
        if (!*buf)
                return -ENOMEM;
        colon = strchr(*buf, ':');
        if (!colon || colon == *buf) {
                fprintf(stderr, "hull %s: --creds must be USER:PASSWORD\n", c->cmd->name);
                return -EINVAL;
        }
        *colon = 0;
        o->username = *buf;
        o->password = colon + 1;
        return 0;
}

int cmd_pull(struct cmd_context *c)
{
        struct progress_view view = { .tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet") };
        struct image_progress p = { progress_view_fn, &view };
        struct image_pull_options o = { .policy_path = cmd_opt(c, "policy"), .progress = &p };
        _cleanup_free_ char *creds = NULL, *id = NULL;
        int r;

        r = registry_options(c, &o.registry, &creds);
        if (r < 0)
                return r;
        r = image_pull(c->store, c->argv[0], &o, &id);
        if (r < 0)
                return cmd_fail(r, "pulling '%s'", c->argv[0]);
        printf("%s\n", id + strlen("sha256:"));
        return 0;
}

int cmd_push(struct cmd_context *c)
{
        struct progress_view view = { .tty = c->stderr_tty, .quiet = cmd_flag(c, "quiet") };
        struct image_progress p = { progress_view_fn, &view };
        struct registry_options o;
        _cleanup_free_ char *creds = NULL;
        char digest[80];
        int r;

        r = registry_options(c, &o, &creds);
        if (r < 0)
                return r;
        r = image_push(c->store, c->argv[0], c->argc > 1 ? c->argv[1] : NULL, &o, &p, digest);
        if (r < 0)
                return cmd_fail(r, "pushing '%s'", c->argv[0]);
        if (!view.quiet)
                fprintf(stderr, "Writing manifest %s done\n", digest);
        return 0;
}

int cmd_image_sign(struct cmd_context *c)
{
        struct registry_options o;
        _cleanup_free_ char *creds = NULL;
        const char *key = cmd_opt(c, "key");
        char digest[80];
        int r;

        if (!key) {
                fprintf(stderr, "hull image sign: --key FILE is required\n");
                return -EINVAL;
        }
        r = registry_options(c, &o, &creds);
        if (r < 0)
                return r;
        r = policy_sign(c->argv[0], key, &o, digest);
        if (r < 0)
                return cmd_fail(r, "signing '%s'", c->argv[0]);
        printf("Signed %s\n", digest);
        return 0;
}
