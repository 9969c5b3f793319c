/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach-io.h - the terminal side of an attached container (`run` in the foreground,
 * `start -a`, `attach`): the monitor's conversation (src/engine/attach-proto.h) on one
 * side, this process's stdin, stdout, stderr and signals on the other.
 */
#pragma once

#include "macro.h"

struct attach_options {
        bool tty;       /* the container has a terminal: raw mode here, sizes forwarded, ^P^Q detaches */
        bool stdin_on;  /* forward stdin (the container was started with -i) */
        bool sig_proxy; /* forward SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 to the container */
        bool ack_exit;  /* tell the monitor we take the removal over (run --rm) */
};

enum {
        ATTACH_EXITED = 0,   /* the container exited: *ret_code holds its status */
        ATTACH_DETACHED = 1, /* the user detached (ctrl-p ctrl-q) */
};

/*
 * Run the conversation until the container exits or the user detaches. Returns
 * ATTACH_EXITED/ATTACH_DETACHED or -errno (the monitor went away without an exit).
 */
int attach_run(int fd, const struct attach_options *o, int *ret_code);
