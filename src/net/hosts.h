/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hosts.h - the /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets.
 *
 * The engine bind-mounts the generated files over the image's; their content depends on the
 * network mode:
 *   - a network with a DNS responder: "nameserver <gateway>" and "options ndots:0", so that a
 *     bare container name is asked as is, first, instead of after every host search domain
 *     (docker's embedded DNS does the same); the host's search domains are kept;
 *   - a network without one (the default network, host and none modes): the host's resolvers,
 *     without loopback addresses, which mean nothing inside another network namespace; when
 *     only loopback resolvers are left (systemd-resolved's 127.0.0.53), the upstream servers
 *     that resolved lists in /run/systemd/resolve/resolv.conf;
 *   - --dns / --dns-search / --dns-option replace the respective lines.
 *
 * --add-host NAME:IP (or NAME=IP; IP "host-gateway" means the network's gateway) lines are
 * checked here: NAME is a host name (RFC 1123 labels), IP an address.
 */
#pragma once

#include "cidr.h"
#include "macro.h"

#define HOSTS_GATEWAY_NAME "host.hull.internal"

struct resolv_conf {
        char **nameservers;
        char **search;
        char **options;
};

void resolv_conf_done(struct resolv_conf *rc);
/* Parse resolv.conf text (nameserver, search, domain, options lines; others are ignored). */
int resolv_conf_parse(const char *text, struct resolv_conf *ret);
/* The host's resolvers as seen from another network namespace (see above). */
int resolv_conf_host(struct resolv_conf *ret);
/* Text of a resolv.conf. */
char *resolv_conf_format(const struct resolv_conf *rc);

/* A host name / DNS label sequence: 1-253 characters, labels of [A-Za-z0-9-] (and '_'), not
 * starting or ending with '-'. */
bool hostname_valid(const char *s);

struct hosts_config {
        const char *hostname;           /* the container's host name (NULL: none) */
        const char *name;               /* its name, listed next to the host name */
        const struct ipaddr *ip4, *ip6; /* its addresses (NULL: loopback-only modes) */
        const struct ipaddr *gateway;   /* for host.hull.internal and "host-gateway" (NULL: none) */
        char *const *add_hosts;         /* --add-host entries */
};

/* Check one --add-host entry; host-gateway is accepted when gateway is given. */
int hosts_add_host_check(const char *entry, const struct ipaddr *gateway);
int hosts_format(const struct hosts_config *c, char **ret);
