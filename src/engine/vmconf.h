/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmconf.h - the first-boot configuration of a hull VM, as the host writes it on the VM's
 * config disk and as hull's guest init (guest/init/) reads it back.
 *
 * The config disk is a raw image (no file system: the guest kernel needs no module to read
 * it) holding one text document, zero-padded to a multiple of 4 KiB:
 *
 *     HULLCFG1\n
 *     <key> <value>\n          one line per item; repeatable keys repeat the line
 *     \n                       an empty line ends the document
 *
 * Values are on one line: '\' is written "\\" and a newline "\n". Keys:
 *   hostname NAME        the guest's host name
 *   ssh_key LINE         an authorized_keys line for root (repeatable)
 *   arg ARG              the main process's argv, in order (repeatable; none: /sbin/init)
 *   env K=V              its environment (repeatable)
 *   workdir DIR, user UID[:GID]
 *   ip A.B.C.D/N, gateway A.B.C.D, dns A.B.C.D (repeatable)    eth0's static address
 *   nic MAC A.B.C.D/N [X:Y::Z/N]   the static addresses of the NIC with that MAC (repeatable:
 *                        a VM on several networks); when given, ip names no interface
 *   gateway6 X:Y::Z      the IPv6 default route
 *   resolv_conf TEXT, hosts TEXT   /etc/resolv.conf (replaces dns) and /etc/hosts, whole, as the
 *                        network library writes them for a container (a VM on a hull network)
 *   user_data SCRIPT     run once, with /bin/sh, at the first boot of this root disk
 *   mount DEV PATH       a data disk to mount (ext4) before the main process starts
 *   root_fstype TYPE     ext4 (default) or erofs
 * Unknown keys are ignored (an older init boots a newer host's VM); a document without the
 * magic or longer than VMCONF_MAX is refused.
 *
 * Dependencies: libc and src/lib/util.c only: the guest init links it statically.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

#define VMCONF_MAGIC "HULLCFG1\n"
#define VMCONF_MAX   (1u << 20)

struct vmconf {
        char *hostname;
        char **ssh_keys;
        char **argv, **env;
        char *workdir, *user;
        char *ip, *gateway, *gateway6;
        char **nics; /* "MAC A.B.C.D/N" */
        char **dns;
        char *resolv_conf, *hosts; /* whole files (hull networks); resolv_conf replaces dns */
        char *user_data;
        char **mounts; /* "DEV PATH" */
        char *root_fstype;
};

void vmconf_done(struct vmconf *c);

/* Serialize c (malloc'd, padded with zeros to a multiple of 4096 bytes). */
int vmconf_format(const struct vmconf *c, char **ret, size_t *ret_len);
/* Parse a document (trailing zeros allowed). -EBADMSG without the magic, -EINVAL on a bad line. */
int vmconf_parse(const char *buf, size_t len, struct vmconf *ret);
