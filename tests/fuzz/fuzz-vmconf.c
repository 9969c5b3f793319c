/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-vmconf.c - libFuzzer target for the VM config disk's document (vmconf.h) and the exec
 * protocol's framing (vm-exec-proto.h): hull's guest init parses both from the host, and the
 * host parses frames from the guest. A document that parses is formatted again and must parse
 * to the same document; arbitrary bytes as a frame stream never read outside the buffer, and the
 * payloads of NIC requests go where hull-init sends them (NIC_UP: vmconf_parse; NIC_DOWN: the
 * MAC parser). Seeds: tests/fuzz/corpus/vmconf/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "vm-exec-proto.h"
#include "vmconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What hull-init does with a NIC request's payload before it touches an interface. */
static void nic_request(char type, const uint8_t *p, uint32_t len)
{
        char *s = type == VMX_NIC_UP || type == VMX_NIC_DOWN ? strndup((const char *)p, len) : NULL;
        struct vmconf c = {};
        uint8_t mac[6];

        if (!s)
                return;
        if (type == VMX_NIC_UP && vmconf_parse(s, strlen(s), &c) >= 0) {
                STRV_FOREACH (nic, c.nics)
                        if (strlen(*nic) >= 17 && (*nic)[17] == ' ') {
                                char m[18];
                                memcpy(m, *nic, 17);
                                m[17] = 0;
                                (void)vmx_parse_mac(m, mac);
                        }
                vmconf_done(&c);
        } else if (type == VMX_NIC_DOWN)
                (void)vmx_parse_mac(s, mac);
        free(s);
}

static void frames(const uint8_t *data, size_t size)
{
        static struct vmx_reader rd;
        const uint8_t *p;
        uint32_t len;
        char type;
        int fds[2];

        if (size > 65536 || pipe(fds) < 0)
                return;
        rd.len = rd.consumed = 0;
        if (write_all(fds[1], data, size) == 0) {
                close(fds[1]);
                while (vmx_fill(&rd, fds[0]) > 0) {
                        (void)vmx_skip_to_hello(&rd);
                        while (vmx_next(&rd, &type, &p, &len) > 0) {
                                if (len && p[len - 1] == 0xff && p[0] == 0xff)
                                        rd.len = rd.len; /* touch both ends of the payload */
                                nic_request(type, p, len);
                        }
                }
        } else
                close(fds[1]);
        close(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vmconf c = {}, d = {};
        char *buf = NULL, *again = NULL;
        size_t n, m;

        frames(data, size);
        if (vmconf_parse((const char *)data, size, &c) < 0)
                return 0;
        if (vmconf_format(&c, &buf, &n) < 0)
                goto out;
        if (vmconf_parse(buf, n, &d) < 0)
                __builtin_trap();
        if (vmconf_format(&d, &again, &m) < 0 || m != n || memcmp(buf, again, n) != 0)
                __builtin_trap();
out:
        free(buf);
        free(again);
        vmconf_done(&c);
        vmconf_done(&d);
        return 0;
}
