/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine-net.h - containers (and VMs) on hull networks: what the engine asks of the network
 * library (src/net/network.h) when a container is created, started, stopped, removed or
 * repaired, and when `hull network connect/disconnect/rm/prune` change its networks.
 *
 * Who does what (docs/engine.md "Networks"):
 *   - ctr_start() makes the container's network namespace itself (loopback up) and hands it to
 *     hull-monitor as an inherited fd; the monitor waits (--wait-network) while the engine
 *     attaches the namespace to every network of the runspec, with the monitor as the
 *     endpoints' owner, and writes /etc/hosts, resolv.conf and hostname (from the library, for
 *     every mode); then the monitor passes it to hull-runtime as fd 3 at each (re)start, so
 *     that a restart policy keeps the container on its networks with the same addresses;
 *   - stop and rm detach the container themselves; when it ends by itself for good, the
 *     monitor's exit command (`hull container cleanup`) does; the repairs of a killed monitor
 *     (ctr_release(), ctr_refresh()), the next start and `network prune` when neither could.
 *
 * <dir>/network.json is the engine's record of a container's attachments: written with
 * {"attaching":true} before the first attach (so that a kill at any later moment leaves a
 * record pointing at what to detach), replaced by the attachments when they are made, and
 * removed only after every endpoint of the container has been detached. inspect, ps and port
 * read it.
 *
 * The library's runtime state lives in /run/hull/net for the default root (a tmpfs: it
 * describes kernel objects that a reboot takes away), in <root>/run/net for any other root,
 * or under $HULL_RUNROOT: one node, one network state, whatever the number of CLI processes.
 */
#pragma once

#include "container.h"
#include "engine.h"
#include "runspec.h"

struct image_config;
struct json_object;
struct net_ctx;

#define ENGINE_NET_RECORD "network.json"

/* The engine's network context (opened on first use, freed with the engine). */
int engine_net_ctx(struct engine *e, struct net_ctx **ret);

/* At create: every network exists and every value parses (ports, addresses, rules, hosts); so that a
 * container that cannot be attached is refused with nothing made. */
int engine_net_check(struct engine *e, const struct runspec *s);

struct engine_net_start {
        int netns_fd;     /* the new namespace (bridged and none modes), for the monitor; else -EBADF */
        char *netns_path; /* what config.json joins: "/proc/self/fd/3", "/proc/PID/ns/net", NULL (host) */
        bool bridged;     /* engine_net_attach() is due once the monitor exists */
};
void engine_net_start_done(struct engine_net_start *s);

/*
 * Before the monitor: the container's namespace and, for the none, host and container modes, its
 * /etc files (hosts, resolv.conf, hostname in dir); for the bridged mode the record and the namespace
 * (ret->bridged: engine_net_attach() follows). hostname: the container's host name.
 */
int engine_net_setup(struct engine *e, const struct workload *w, const struct runspec *s,
                     const struct image_config *img, const char *dir, const char *hostname,
                     struct engine_net_start *ret);
/*
 * Once the monitor (owner) holds the namespace, before it runs anything: attach it to every network
 * of s, write the /etc files and the record. All or nothing.
 */
int engine_net_attach(struct engine *e, const struct workload *w, const struct runspec *s,
                      const struct image_config *img, const char *dir, const char *hostname, int netns_fd,
                      pid_t owner);

/* Detach the container from every network, then drop its record. 0 (nothing to do) or the count. */
int engine_net_teardown(struct engine *e, const char *id);
/* Whether the container has an attachment record (a teardown is due once it stopped). */
bool engine_net_attached(struct engine *e, const char *id);

/* The container's attachments as recorded (an array of net_attachment_to_json() objects; empty when it
 * has none). */
int engine_net_attachments(struct engine *e, const char *id, struct json_object **ret);

/* podman's NetworkSettings of a container (Networks, Ports, IPAddress...; hull's Egress, Ingress). */
int engine_net_settings_json(struct engine *e, const struct workload *w, const struct runspec *s,
                             struct json_object **ret);
/* ps's PORTS column: "0.0.0.0:8080->80/tcp, ..." ("" without published ports). */
int engine_net_ports_string(struct engine *e, const char *id, char **ret);

/* `network connect`: add a network to the runspec, and attach now when the container runs. */
int engine_net_connect(struct engine *e, struct workload *w, const char *network, const char *ip,
                       const char *ip6, const char *mac, char *const *aliases);
/* `network disconnect`: remove a network from the runspec, and detach now when it runs. */
int engine_net_disconnect(struct engine *e, struct workload *w, const char *network, bool force);

/* The container ended for good (the monitor's exit command): detach unless it runs again. */
int engine_net_cleanup(struct engine *e, struct workload *w);

/* Which container names which network, running or not (the default one for bridged containers without a
 * --network): network, container, network, container... */
int engine_net_uses(struct engine *e, char ***ret);

/* ------------------------------------------------------------------ VMs */

/* What a VM needs to use its network: a persistent tap on the network's bridge (opened by hull-vmm
 * with /dev/net/tun and TUNSETIFF of that name) and the guest's configuration. */
struct engine_net_tap {
        char *network;
        char *tap;      /* the tap's name on the host */
        char *mac;      /* the guest NIC's MAC */
        char *ipv4;     /* "10.89.0.5/24" */
        char *gateway4; /* NULL on internal networks */
        char *ipv6;     /* NULL without IPv6 */
        char *gateway6;
        uint32_t mtu;
        char *kernel_ip_arg;                  /* "ip=..." for a Linux guest's command line */
        char *hosts, *resolv_conf, *hostname; /* the guest's /etc files */
};
void engine_net_tap_done(struct engine_net_tap *t);

void engine_net_taps_free(struct engine_net_tap *t, size_t n);

/*
 * Attach a VM (workload_id) to each network of spec (the default network when it has none), one
 * tap per network in spec's order, with its --ip/--mac-address/aliases, --egress/--ingress, as
 * for a container, -p (and -P: img's EXPOSE, img may be NULL) through the first; tap_uid/gid own the taps (-1: root). Records
 * network.json in dir (the VM's directory) as for a container; undo with engine_net_detach_tap()
 * with the same dir.
 */
int engine_net_attach_taps(struct engine *e, const char *workload_id, const char *name,
                           const struct runspec *spec, const struct image_config *img, const char *dir,
                           uid_t tap_uid, gid_t tap_gid, struct engine_net_tap **ret, size_t *ret_n);
int engine_net_detach_tap(struct engine *e, const char *workload_id, const char *dir);
/*
 * NIC hot-plug of a running VM (vm-hotplug.c): attach it to spec's network i only, with a tap whose
 * name no attachment of the VM has, and add it to the record in dir (made when the VM had none).
 * engine_net_detach_one() takes one network off the VM and its record (nothing to detach: 0).
 */
int engine_net_attach_tap_one(struct engine *e, const char *workload_id, const char *name,
                              const struct runspec *spec, size_t i, const char *dir,
                              struct engine_net_tap *ret);
int engine_net_detach_one(struct engine *e, const char *workload_id, const char *network);
