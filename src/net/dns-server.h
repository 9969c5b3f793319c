/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns-server.h - the per-network DNS responder's event loop (run by cmd/hull-dns).
 *
 * One thread, one ppoll(2) loop over: a UDP and a TCP socket per listen address, and the jobs in
 * flight. A job is one question: from a UDP client or a TCP connection (RFC 1035 §4.2.2: two
 * length bytes, then the message), answered from the name table (dns.h) or forwarded to an
 * upstream server, over UDP for UDP clients (a truncated upstream answer is relayed as is, and
 * the client asks again over TCP) and over TCP for TCP clients. Forwarded questions get a fresh
 * random id and a fresh socket connected to the upstream (random source port, RFC 5452 §9), so
 * only that server's answer to that id is accepted; a silent server is replaced by the next
 * one after 2 s, and the client gets SERVFAIL when none answers.
 *
 * Bounds: DNS_SERVER_JOBS questions in flight (beyond: REFUSED over UDP, close over TCP), TCP
 * clients must send their question within 10 s.
 *
 * Security: the responder binds port 53, then drops to nobody (uid/gid 65534, no supplementary
 * groups, no_new_privs); what it needs later was opened before (the table directory, the
 * store lock) or is world-readable (/etc/resolv.conf).
 */
#pragma once

#include <stdint.h>

#include "cidr.h"

#define DNS_SERVER_JOBS 256
#define DNS_SERVER_TTL  10

struct dns_server_config {
        const char *network;
        int dir_fd;  /* dns/<netid>: "names" and "pid" */
        int lock_fd; /* the store lock (idle exit), -1: never exit when idle */
        struct ipaddr listen[2];
        size_t n_listen;
        uint16_t port;           /* 53 */
        bool forward;            /* forward names that are not ours */
        unsigned idle_sec;       /* exit after an empty table for this long (0: never) */
        int ready_fd;            /* receives "ok\n" or the reason it cannot start; -1: none */
        const char *resolv_conf; /* the host's resolvers ("/etc/resolv.conf") */
        bool drop_privileges;
};

/* Run until SIGTERM/SIGINT or the idle exit. Returns 0, or -errno when it cannot start (the
 * reason is also written to ready_fd). */
int dns_server_run(const struct dns_server_config *c);
