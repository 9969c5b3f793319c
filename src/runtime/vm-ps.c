/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-ps.c - the processes inside a VM-isolated container's guest, for `hull top` and
 * `hull-runtime ps` (docs/agent.md, "PS").
 *
 * The host cannot see them in its /proc: they run under the guest's kernel. The shim asks
 * the agent (PS) and passes the PROCS payload back on exec.sock; every entry is decoded by
 * agent_proc_parse(), which bounds and cleans what the untrusted guest sent. A paused
 * container's shim and VMM are frozen: the request then times out instead of hanging.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include "error.h"
#include "util.h"
#include "vm-isolation.h"

#define PS_TIMEOUT_S 5

int vmiso_ps(const struct container_state *s, struct agent_proc **ret, size_t *ret_n)
{
        _cleanup_close_ int sock = vmiso_connect_in(s->dir_fd, "exec.sock", SOCK_SEQPACKET);
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ struct agent_proc *l = NULL;
        struct timeval tv = {.tv_sec = PS_TIMEOUT_S};
        struct agent_field_iter it;
        const uint8_t *v;
        uint32_t vl;
        uint16_t tag;
        size_t n = 0, cap = 0;
        int32_t e;
        ssize_t k;
        int r;

        if (sock < 0)
                return err_set(sock, "the VM of container '%s' does not answer: %s", s->id, strerror(-sock));
        if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            send(sock, VMISO_PS_REQUEST, strlen(VMISO_PS_REQUEST), MSG_NOSIGNAL) < 0)
                return err_set(negative_errno(), "cannot ask the VM of container '%s' for its processes: %m",
                               s->id);
        buf = malloc(4 + AGENT_MAX_FROM_AGENT + 1);
        if (!buf)
                return -ENOMEM;
        do
                k = recv(sock, buf, 4 + AGENT_MAX_FROM_AGENT + 1, 0);
        while (k < 0 && errno == EINTR);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return err_set(-ETIMEDOUT, "the VM of container '%s' did not list its processes within %d s",
                               s->id, PS_TIMEOUT_S);
        if (k < 4)
                return err_set(-EIO, "the VM of container '%s' went away while listing its processes",
                               s->id);
        memcpy(&e, buf, 4);
        if (e != 0) {
                int err = e > 0 && e < 4096 ? e : EIO;
                return err_set(-err, "cannot list the processes of container '%s': %.*s", s->id,
                               (int)(k - 4), (const char *)buf + 4);
        }
        it = (struct agent_field_iter){buf + 4, (size_t)k - 4};
        while ((r = agent_field_next(&it, &tag, &v, &vl)) > 0) {
                if (tag != AGENT_P_PROC)
                        continue;
                if (n == cap) {
                        size_t nc = cap ? 2 * cap : 16;
                        struct agent_proc *nl = reallocarray(l, nc, sizeof(*l));
                        if (!nl)
                                return -ENOMEM;
                        l = nl;
                        cap = nc;
                }
                if (agent_proc_parse(v, vl, &l[n]) < 0)
                        return err_set(-EBADMSG, "agent: a malformed process entry in PROCS");
                n++;
        }
        if (r < 0)
                return err_set(-EBADMSG, "agent: PROCS whose fields run past its end");
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}
