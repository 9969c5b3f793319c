/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cidr.h - IPv4/IPv6 addresses, prefixes and MAC addresses: parsing, printing, arithmetic.
 *
 * Everything a user types as an address (--subnet, --gateway, --ip-range, --ip, -p HOSTIP:...,
 * policy CIDRs, --dns, --add-host, --mac-address) is parsed here, strictly: a whole-string
 * match, no leading zeros in IPv4 octets (inet_pton(3) rules), prefix lengths in decimal within
 * the family's range. A subnet (cidr_parse) must have its host bits clear, so that "10.1.2.3/24"
 * is reported instead of silently becoming 10.1.2.0/24.
 *
 * struct ipaddr holds either family in network byte order; .family is AF_INET or AF_INET6
 * (AF_UNSPEC for "no address"). Arithmetic (cidr_nth, cidr_offset) works on the low 64 bits of
 * the host part, which covers every IPv4 prefix and an IPv6 /64 (IPAM never needs more).
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define IPADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define CIDR_STRLEN   50
#define MAC_STRLEN    18

struct ipaddr {
        int family;
        union {
                struct in_addr in;
                struct in6_addr in6;
                uint8_t bytes[16];
        };
};

struct cidr {
        struct ipaddr addr;
        unsigned len;
};

/* Number of address bytes of a family (4 or 16), 0 for AF_UNSPEC. */
unsigned ipaddr_size(int family);
unsigned ipaddr_bits(int family);

/* An IPv4 or IPv6 literal (IPv6 without brackets or zone). -EINVAL without a message. */
int ipaddr_parse(const char *s, struct ipaddr *ret);
const char *ipaddr_to_string(const struct ipaddr *a, char buf[static IPADDR_STRLEN]);
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_is_set(const struct ipaddr *a);
/* 127.0.0.0/8, ::1 */
bool ipaddr_is_loopback(const struct ipaddr *a);
/* 0.0.0.0, :: */
bool ipaddr_is_any(const struct ipaddr *a);

/* "ADDR/LEN" with the host bits clear (a network). what names the option in the error. */
int cidr_parse(const char *s, const char *what, struct cidr *ret);
/* "ADDR/LEN" where ADDR may have host bits (an interface address), or a bare ADDR (full length). */
int cidr_parse_host(const char *s, const char *what, struct cidr *ret);
const char *cidr_to_string(const struct cidr *c, char buf[static CIDR_STRLEN]);
/* The network (host bits cleared) of an address/len. */
struct cidr cidr_network(const struct ipaddr *a, unsigned len);
bool cidr_contains(const struct cidr *c, const struct ipaddr *a);
bool cidr_contains_cidr(const struct cidr *outer, const struct cidr *inner);
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);
/* Host addresses in the prefix (saturating at UINT64_MAX). */
uint64_t cidr_size(const struct cidr *c);
/* network + n; -ERANGE when n is outside the prefix. */
int cidr_nth(const struct cidr *c, uint64_t n, struct ipaddr *ret);
/* a - network, for an address inside c (low 64 bits of the difference). */
uint64_t cidr_offset(const struct cidr *c, const struct ipaddr *a);
/* The IPv4 broadcast address of c (the last address); the last address for IPv6. */
struct ipaddr cidr_last(const struct cidr *c);

/* "02:42:ac:11:00:02" (also with '-'); rejects multicast addresses (bit 0 of the first byte). */
int mac_parse(const char *s, uint8_t ret[6]);
const char *mac_to_string(const uint8_t mac[6], char buf[static MAC_STRLEN]);
/* A random locally administered unicast address. */
void mac_random(uint8_t ret[6]);
