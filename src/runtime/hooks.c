/* SPDX-License-Identifier: Apache-2.0 */
/* hooks.c - run OCI hooks with state on stdin and a timeout; see hooks.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "error.h"
#include "hooks.h"
#include "log.h"
#include "util.h"

bool hooks_any(const struct oci_config *cfg, enum hook_kind k)
{
        return cfg->n_hooks[k] > 0;
}


static int run_one(const struct oci_hook *h, const char *state_json, int *ret_status)
{
        _cleanup_close_ int pidfd = -EBADF;
        int in[2], status;
        pid_t pid;
        int64_t deadline = h->timeout > 0 ? now_ms() + (int64_t)h->timeout * 1000 : -1;

        if (pipe2(in, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(in[0]);
                close(in[1]);
                return r;
        }
        if (pid == 0) {
                char *const empty[] = { NULL };
                char *argv0[] = { h->path, NULL };
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(127);
                /* The hook's stdout/stderr stay the runtime's: hooks report through them. */
                execve(h->path, h->args ? h->args : argv0, h->env ? h->env : empty);
                _exit(127);
        }
        close(in[0]);
        /* The hook may not read its stdin; ignore EPIPE. */
        {
                struct sigaction sa = { .sa_handler = SIG_IGN }, old;
                sigaction(SIGPIPE, &sa, &old);
                write_all(in[1], state_json, strlen(state_json));
                sigaction(SIGPIPE, &old, NULL);
        }
        close(in[1]);

        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        for (;;) {
                if (pidfd >= 0) {
                        struct pollfd p = { .fd = pidfd, .events = POLLIN };
                        int wait_ms = -1;
                        if (deadline >= 0) {
                                int64_t left = deadline - now_ms();
                                wait_ms = left > 0 ? (int)MIN(left, INT32_MAX) : 0;
                        }
                        int k = poll(&p, 1, wait_ms);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k == 0) {
                                kill(pid, SIGKILL);
                                waitpid(pid, &status, 0);
                                return err_set(-ETIMEDOUT, "hook '%s' did not finish within %d s", h->path,
                                               h->timeout);
                        }
                }
                if (waitpid(pid, &status, 0) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                break;
        }
        *ret_status = status;
        return 0;
}

int hooks_run(const struct oci_config *cfg, enum hook_kind k, const char *state_json)
{
        bool fatal = k != HOOK_POSTSTART && k != HOOK_POSTSTOP;

        for (size_t i = 0; i < cfg->n_hooks[k]; i++) {
                const struct oci_hook *h = &cfg->hooks[k][i];
                int status = 0, r;

                r = run_one(h, state_json, &status);
                if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                        if (WIFEXITED(status))
                                r = err_set(-EIO, "hooks.%s[%zu]: '%s' exited with status %d", hook_kind_to_string(k),
                                            i, h->path, WEXITSTATUS(status));
                        else
                                r = err_set(-EIO, "hooks.%s[%zu]: '%s' was killed by signal %d",
                                            hook_kind_to_string(k), i, h->path, WTERMSIG(status));
                } else if (r < 0)
                        r = err_prefix(r, "hooks.%s[%zu]", hook_kind_to_string(k), i);
                if (r < 0) {
                        if (fatal)
                                return r;
                        log_warning("%s", err_msg(r));
                        err_clear();
                }
        }
        return 0;
}
