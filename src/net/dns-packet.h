/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns-packet.h - the DNS wire format, as much as a stub responder needs (RFC 1035 §4).
 *
 * Queries come from containers, so this is outside input: every length is checked against the
 * buffer, a name is at most 255 bytes and 127 labels, compression pointers (§4.1.4) must point
 * strictly backwards (no loops), and anything that is not a standard query with one question is
 * refused. A name with bytes that cannot appear in a host name (a '.' inside a label, control
 * characters) is marked not "plain": it is never answered from the name table, only forwarded
 * byte for byte.
 *
 * Responses to local names copy the question verbatim and point to it (0xc00c) from each
 * answer; when the answers do not fit the client's limit (512 bytes, or its EDNS0 payload size,
 * RFC 6891 §6.2.5) the message is cut at a whole record and TC is set, so that the client asks
 * again over TCP.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define DNS_HEADER_SIZE 12
#define DNS_NAME_MAX    255
#define DNS_UDP_MIN     512
#define DNS_MSG_MAX     65535

#define DNS_TYPE_A    1
#define DNS_TYPE_PTR  12
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT  41
#define DNS_TYPE_ANY  255
#define DNS_CLASS_IN  1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

struct dns_query {
        uint16_t id;
        uint16_t flags;
        char name[DNS_NAME_MAX + 1]; /* dotted, lower case, without the root's trailing dot */
        bool plain;                  /* name is a host name we may answer */
        uint16_t qtype, qclass;
        size_t question_end; /* offset just after the question */
        uint16_t udp_size;   /* what the client accepts over UDP (>= 512) */
};

/* Parse a query. -EBADMSG: not even a header (drop it); -EINVAL: malformed (FORMERR);
 * -EOPNOTSUPP: not a standard query with one question (NOTIMP). *ret is filled as far as known,
 * so that an error response can carry the id. */
int dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *ret);

struct dns_answer {
        uint16_t type;      /* DNS_TYPE_A, _AAAA or _PTR */
        struct ipaddr addr; /* A / AAAA */
        const char *ptr;    /* PTR target name */
};

/* Build a response to query q (raw bytes buf/len) with rcode and answers, at most max bytes.
 * aa: authoritative (the name is ours). Returns the size written, or -ENOBUFS when even the
 * header and question do not fit. */
int dns_response_build(const uint8_t *buf, size_t len, const struct dns_query *q, int rcode, bool aa,
                       const struct dns_answer *answers, size_t n, uint32_t ttl, uint8_t *out, size_t max);

/* A minimal response (header, question if parsed) with rcode; for errors. */
int dns_error_build(const uint8_t *buf, size_t len, const struct dns_query *q, int rcode, uint8_t *out,
                    size_t max);

/* Check a forwarded response: a header, QR set, the expected id. */
int dns_response_check(const uint8_t *buf, size_t len, uint16_t id);

/* For a PTR name ("4.3.2.1.in-addr.arpa", nibbles ".ip6.arpa"): the address it asks about. */
int dns_ptr_name_to_addr(const char *name, struct ipaddr *ret);
