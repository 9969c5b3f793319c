/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ports.h - published ports: the -p and EXPOSE syntaxes, and host port reservations.
 *
 * -p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp|sctp], as docker and podman read it:
 *     80              container port 80 on a free host port, every host address
 *     8080:80         host 8080 -> container 80
 *     127.0.0.1:8080:80/udp, 127.0.0.1::80 (free host port), [::1]:8080:80
 *     8000-8010:9000-9010  ranges of equal length map port by port; 8000-8010 alone takes free
 *                          host ports for each container port
 * A spec expands to one struct port_map per port (at most PORTS_MAX per endpoint).
 *
 * Host ports are a node-wide resource: the rows of store table "ports" (key "<proto>-<port>",
 * one line "<host ip|*4|*6> <owner>" per binding) say which endpoint holds which binding, and
 * ports_reserve() refuses a binding that overlaps another one (same address, or either side
 * bound to every address of the family) or that a host process holds already (a test bind(2)
 * with SO_REUSEADDR, which fails only against a bound listener, not against TIME_WAIT).
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "cidr.h"
#include "store.h"

#define PORTS_MAX 4096

enum port_proto {
        PORT_PROTO_TCP,
        PORT_PROTO_UDP,
        PORT_PROTO_SCTP,
        _PORT_PROTO_MAX,
        _PORT_PROTO_INVALID = -EINVAL,
};

const char *port_proto_to_string(enum port_proto p);
enum port_proto port_proto_from_string(const char *s);

struct port_map {
        struct ipaddr host_ip; /* AF_UNSPEC: every host address (IPv4 and, for IPv6 endpoints, IPv6) */
        uint16_t host_port;    /* 0: a free port is chosen by ports_reserve() */
        uint16_t container_port;
        enum port_proto proto;
};

/* Parse one -p spec and append its ports to *list. */
int ports_parse(const char *spec, struct port_map **list, size_t *n);
/* Parse one exposed port ("80", "80/tcp", "8000-8010/udp"), published on free host ports (-P). */
int ports_parse_expose(const char *spec, struct port_map **list, size_t *n);
/* "0.0.0.0:8080->80/tcp" */
void port_map_format(const struct port_map *p, FILE *f);

/* Reserve every binding of list for owner, choosing free host ports for host_port 0 (written
 * back into list). All or nothing: on failure no reservation of this call remains. */
int ports_reserve(struct store *s, struct port_map *list, size_t n, const char *owner);
/* Drop owner's reservations of the listed bindings (missing ones are ignored). */
void ports_release(struct store *s, const struct port_map *list, size_t n, const char *owner);
/* Drop every reservation of owner (stale cleanup when the endpoint record is gone). */
int ports_release_owner_all(struct store *s, const char *owner);
