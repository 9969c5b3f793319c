/* SPDX-License-Identifier: Apache-2.0 */
/* cmd-ps.c - `ps`: the container's processes, as ps(1) lines filtered by pid, or a JSON array of pids. */
#include <sys/wait.h>

#include "cgroup.h"
#include "cmd.h"
#include "json.h"
#include "state.h"
#include "util.h"
#include "vm-isolation.h"

const struct opt_def ps_opts[] = {
        { "format", 'f', OPT_VALUE, "FORMAT", "table (default) or json" },
        {},
};

static bool has_pid(const pid_t *pids, size_t n, long p)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == p)
                        return true;
        return false;
}

/*
 * A VM-isolated container's processes are those of its guest, which the host's ps(1) cannot see:
 * the agent lists them (vm-ps.c), in ps -f's columns. ps(1) arguments do not apply.
 */
static int ps_guest(const struct container_state *s)
{
        _cleanup_free_ struct agent_proc *l = NULL;
        size_t n = 0;
        int r = vmiso_ps(s, &l, &n);

        if (r < 0)
                return cmd_fail(r, "ps of container '%s'", s->id);
        printf("%-8s %7s %7s %s %10s %s\n", "UID", "PID", "PPID", "S", "TIME", "CMD");
        for (size_t i = 0; i < n; i++) {
                uint64_t t = l[i].cpu_ms / 1000;
                printf("%-8u %7u %7u %c %02u:%02u:%02u %s\n", l[i].uid, l[i].pid, l[i].ppid, l[i].state,
                       (unsigned)(t / 3600), (unsigned)(t / 60 % 60), (unsigned)(t % 60), l[i].args);
        }
        return 0;
}

int cmd_ps(struct cmd_args *a)
{
        _cleanup_state_ struct container_state *s = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        const char *fmt = arg_value(a, "format");
        size_t n = 0;
        int r;

        if (fmt && !streq(fmt, "json") && !streq(fmt, "table"))
                return cmd_fail(-EINVAL, "--format: unknown format '%s' (table or json)", fmt);
        r = state_open(a->g->root, a->pos[0], false, &s);
        if (r < 0)
                return cmd_fail(r, "ps of container '%s'", a->pos[0]);
        if (s->cgroup && (r = cgroup_pids(s->cgroup, &pids, &n)) < 0)
                return cmd_fail(r, "ps of container '%s'", a->pos[0]);
        if (fmt && streq(fmt, "json")) {
                _cleanup_json_ struct json_object *arr = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(arr, json_object_new_int(pids[i]));
                printf("%s\n", json_to_string(arr));
                return 0;
        }

        if (vmiso_state(s))
                return ps_guest(s);

        /* Like runc: run ps with the given arguments (default -ef) and keep the header and our pids. */
        _cleanup_strv_free_ char **argv = NULL;
        if (strv_extend(&argv, "ps") < 0)
                return 1;
        if (a->n_pos > 1) {
                for (int i = 1; i < a->n_pos; i++)
                        if (strv_extend(&argv, a->pos[i]) < 0)
                                return 1;
        } else if (strv_extend(&argv, "-ef") < 0)
                return 1;
        int fds[2];
        if (pipe(fds) < 0)
                return cmd_fail(negative_errno(), "ps");
        pid_t child = fork();
        if (child == 0) {
                dup2(fds[1], STDOUT_FILENO);
                close(fds[0]);
                close(fds[1]);
                execvp("ps", argv);
                _exit(127);
        }
        close(fds[1]);
        _cleanup_free_ char *out = NULL;
        r = read_full_fd(fds[0], 64 << 20, &out, NULL);
        close(fds[0]);
        int status;
        waitpid(child, &status, 0);
        if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return cmd_fail(r < 0 ? r : -EIO, "ps: running ps(1) failed");
        int pid_col = -1, line_no = 0;
        for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), line_no++) {
                if (line_no == 0) {
                        _cleanup_free_ char *h = strdup(line);
                        int col = 0;
                        for (char *s2 = NULL, *w = strtok_r(h, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2), col++)
                                if (streq(w, "PID"))
                                        pid_col = col;
                        if (pid_col < 0)
                                return cmd_fail(-EINVAL, "ps: no PID column in the output of ps(1)");
                        printf("%s\n", line);
                        continue;
                }
                _cleanup_free_ char *l = strdup(line);
                int col = 0;
                for (char *s2 = NULL, *w = strtok_r(l, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2), col++)
                        if (col == pid_col) {
                                if (has_pid(pids, n, strtol(w, NULL, 10)))
                                        printf("%s\n", line);
                                break;
                        }
        }
        return 0;
}
