/* SPDX-License-Identifier: Apache-2.0 */
/* vm-exec-proto.c - framing of the `hull vm exec` protocol; see vm-exec-proto.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "vm-exec-proto.h"

static void compact(struct vmx_reader *r)
{
        if (r->consumed == 0)
                return;
        memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
        r->len -= r->consumed;
        r->consumed = 0;
}

int vmx_fill(struct vmx_reader *r, int fd)
{
        ssize_t n;

        compact(r);
        if (r->len == sizeof(r->buf))
                return -ENOBUFS;
        n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
        if (n < 0)
                return -errno;
        r->len += (size_t)n;
        return (int)MIN(n, (ssize_t)1 << 30);
}

int vmx_next(struct vmx_reader *r, char *ret_type, const uint8_t **ret_payload, uint32_t *ret_len)
{
        const uint8_t *h = r->buf + r->consumed;
        size_t avail = r->len - r->consumed;
        uint32_t len;

        if (avail < VMX_HEADER)
                return 0;
        len = vmx_length(h);
        if (len > VMX_PAYLOAD_MAX)
                return -EBADMSG;
        if (avail < VMX_HEADER + (size_t)len)
                return 0;
        *ret_type = (char)h[0];
        *ret_payload = h + VMX_HEADER;
        *ret_len = len;
        r->consumed += VMX_HEADER + len;
        return 1;
}

bool vmx_skip_to_hello(struct vmx_reader *r)
{
        uint8_t hello[VMX_HEADER + sizeof(VMX_MAGIC) - 1];
        size_t n = sizeof(hello);

        vmx_header(hello, VMX_HELLO, (uint32_t)(sizeof(VMX_MAGIC) - 1));
        memcpy(hello + VMX_HEADER, VMX_MAGIC, sizeof(VMX_MAGIC) - 1);
        compact(r);
        for (size_t i = 0; i < r->len; i++) {
                size_t m = MIN(n, r->len - i);
                if (memcmp(r->buf + i, hello, m) != 0)
                        continue;
                r->consumed = i;
                compact(r);
                return m == n;
        }
        r->len = 0;
        return false;
}

static int hex_digit(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

int vmx_parse_mac(const char *s, uint8_t mac[6])
{
        for (int i = 0; i < 6; i++, s += 3) {
                int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
                if (lo < 0 || s[2] != (i == 5 ? 0 : ':'))
                        return -EINVAL;
                mac[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

int vmx_send(int fd, char type, const void *payload, uint32_t len)
{
        uint8_t h[VMX_HEADER];
        int r;

        if (len > VMX_PAYLOAD_MAX)
                return -EMSGSIZE;
        vmx_header(h, type, len);
        r = write_all(fd, h, sizeof(h));
        if (r < 0 || len == 0)
                return r;
        return write_all(fd, payload, len);
}

int vmx_send_str(int fd, char type, const char *s)
{
        return vmx_send(fd, type, s, (uint32_t)strlen(s));
}
