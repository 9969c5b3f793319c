/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-exec-proto.h - the stream protocol of `hull vm exec` between the host and hull's guest
 * init (guest/init/exec.c), over the VM's second serial port (QEMU) or vsock port 1024
 * (hull-vmm). docs/vm.md describes it for other implementations.
 *
 * Frames: one type byte, the payload length as 4 bytes little-endian (at most
 * VMX_PAYLOAD_MAX), the payload. A session starts with HELLO both ways (the host repeats
 * its HELLO until the guest answers: on a serial line the guest may not be listening yet,
 * and bytes of an abandoned session may still be in flight; the guest skips everything up
 * to a HELLO). The host then sends the request (ARG..., ENV..., WORKDIR, USER, TERMINAL, RUN), then
 * STDIN / STDIN_CLOSE / SIGNAL while the process runs; the guest sends STDOUT / STDERR
 * and ends the session with STATUS (decimal: the exit code, 128+N after signal N), after
 * FAIL (a message) when the process could not be started (STATUS 126 or 127).
 *
 * Instead of a process, a session may carry one NIC request (`hull network connect|disconnect`
 * of a running VM, docs/vm.md): NIC_UP, whose payload is a vmconf document (vmconf.h) with the
 * new NIC's `nic` line and, for the VM's first network, its gateway, gateway6, resolv_conf and
 * hosts; the guest waits for a NIC with that MAC to appear (the VMM plugged it in just before)
 * and configures it as at boot. NIC_DOWN, payload a MAC: that NIC goes down before the VMM
 * unplugs it. The guest answers STATUS 0, or FAIL (a message) and STATUS 1.
 *
 * Dependencies: libc and src/lib/util.c (the guest init links it statically).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMX_HELLO       'h' /* payload VMX_MAGIC */
#define VMX_ARG         'a'
#define VMX_ENV         'e'
#define VMX_WORKDIR     'w'
#define VMX_USER        'u'
#define VMX_TERMINAL    't' /* "ROWS COLS": a pty as the process's stdio */
#define VMX_RUN         'r'
#define VMX_STDIN       'i'
#define VMX_STDIN_CLOSE 'c'
#define VMX_SIGNAL      'k' /* decimal signal number */
#define VMX_RESIZE      'z' /* "ROWS COLS": the terminal's new size (an older guest ignores it) */
#define VMX_STDOUT      'o'
#define VMX_STDERR      'x'
#define VMX_STATUS      's'
#define VMX_FAIL        'f'
#define VMX_NIC_UP      'N'
#define VMX_NIC_DOWN    'D'

#define VMX_MAGIC       "HULLX1"
#define VMX_HEADER      5
#define VMX_PAYLOAD_MAX (64u * 1024)

static inline void vmx_header(uint8_t h[VMX_HEADER], char type, uint32_t len)
{
        h[0] = (uint8_t)type;
        h[1] = (uint8_t)len;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)(len >> 16);
        h[4] = (uint8_t)(len >> 24);
}

static inline uint32_t vmx_length(const uint8_t h[VMX_HEADER])
{
        return (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
}

/* Frames as they arrive on a stream. */
struct vmx_reader {
        size_t len, consumed;
        uint8_t buf[VMX_HEADER + VMX_PAYLOAD_MAX];
};

/* Read what fd has (one read()): >0 bytes, 0 at the end of the stream, -errno. */
int vmx_fill(struct vmx_reader *r, int fd);
/*
 * The next complete frame: 1 and its type and payload (valid until the next vmx_fill or
 * vmx_next), 0 when more bytes are needed, -EBADMSG for a length over VMX_PAYLOAD_MAX.
 */
int vmx_next(struct vmx_reader *r, char *ret_type, const uint8_t **ret_payload, uint32_t *ret_len);
/* Drop every byte before the first HELLO frame; true when the buffer now starts with one. */
bool vmx_skip_to_hello(struct vmx_reader *r);
/* "02:42:0a:59:00:05" into mac; -EINVAL unless six hex bytes separated by ':' and nothing else. */
int vmx_parse_mac(const char *s, uint8_t mac[6]);
/* Write one frame (blocking). */
int vmx_send(int fd, char type, const void *payload, uint32_t len);
int vmx_send_str(int fd, char type, const char *s);
