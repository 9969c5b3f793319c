/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-net.c - a VM on hull's networks: the same networks, IPAM, DNS, published ports and
 * policies as the containers (engine-net.h), with a tap on the network's bridge instead of a
 * veth. The options are a container's (the network part of a runspec, parsed by the same code,
 * kept in struct vm_spec's net); the attach is engine_net_attach_taps(): one tap per network.
 *
 * Lifetime of an attachment: vm_start() attaches before it spawns the monitor (network.json in
 * the VM's directory is written before the tap exists, as for containers); the tap is
 * persistent, so a VMM restarted by the monitor (restart policy, guest reboot) opens the same
 * tap with the same address. Once the run is over for good (the monitor's final status, or a
 * dead monitor that a command repaired) the monitor's `hull vm cleanup`, vm_stop(), vm_kill() or
 * the first command that looks at the VM detaches it (vm_net_release()); vm_remove() detaches
 * whatever is left, and the next start detaches a record an interrupted start left. Every detach
 * holds the VM's lock, and a detach is keyed on the VM's id in the network library: a second one
 * finds nothing to do.
 *
 * The guest learns its addresses from the config disk (hull-init: each NIC's address by its MAC,
 * the default route through the first network, /etc/resolv.conf and /etc/hosts as the library
 * writes them for a container's first network) or, for a kernel boot, from the kernel's `ip=`
 * argument (Documentation/admin-guide/nfs/nfsroot.rst), which a guest kernel with CONFIG_IP_PNP
 * applies before init: the first network's only.
 *
 * A running VM's networks change with `network connect|disconnect` through NIC hot-plug
 * (vm-hotplug.c): one tap more or less, with the same record.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "engine-net.h"
#include "error.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "vm-internal.h"
#include "vmm-backend.h"

bool vm_net_bridged(const struct vm_spec *s)
{
        return !s->net || runspec_is_bridged(s->net);
}

int vm_net_check(struct engine *e, const struct vm_spec *s)
{
        _cleanup_runspec_ struct runspec *def = NULL;
        const struct runspec *net = s->net;
        int r;

        if (!net) {
                if (!(def = runspec_new()))
                        return -ENOMEM;
                net = def;
        }
        if ((r = runspec_validate_network(net)) < 0)
                return r;
        if (!runspec_is_bridged(net)) {
                if (!streq(net->network, "none"))
                        return err_set(-EINVAL, "--network: '%s' is not for VMs (a network's name, or none)",
                                       net->network);
                return 0;
        }
        if (net->n_networks > VMM_NICS_MAX)
                return err_set(-EOPNOTSUPP, "--network: a VM is on at most %d networks (%zu given)",
                               VMM_NICS_MAX, net->n_networks);
        if (net->publish_all && !s->image)
                return err_set(-EINVAL, "%s",
                               "--publish-all: only a VM made from an image has EXPOSEd ports to publish");
        return engine_net_check(e, net);
}

int vm_set_str(char **field, const char *v)
{
        char *c = v ? strdup(v) : NULL;
        if (v && !c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

int vm_net_attach(struct engine *e, const struct workload *w, const char *dir, struct vm_spec *s,
                  struct engine_net_tap **ret, size_t *ret_n)
{
        _cleanup_image_config_ struct image_config *img = NULL;
        struct engine_net_tap *t = NULL;
        size_t n = 0;
        int r;

        if (!s->net && !(s->net = runspec_new()))
                return -ENOMEM;
        /* The network's DNS answers the VM's name, and the guest's resolv.conf lists its host name. */
        if (!s->net->hostname && s->conf.hostname && !(s->net->hostname = strdup(s->conf.hostname)))
                return -ENOMEM;
        /* -P: the image's EXPOSE, as for a container of that image. */
        if (s->net->publish_all && w->image_id && *w->image_id) {
                struct image_store *st;
                if ((r = engine_store(e, &st)) < 0 || (r = store_image_config(st, w->image_id, &img)) < 0)
                        return r;
        }
        r = engine_net_attach_taps(e, w->id, w->name, s->net, img, dir, (uid_t)-1, (gid_t)-1, &t, &n);
        if (r < 0)
                return r;
        /* The first network gives eth0's address (for an older hull-init), the default route and
         * the /etc files; every NIC is named by its MAC. */
        if ((r = vm_set_str(&s->conf.ip, t[0].ipv4)) < 0 ||
            (r = vm_set_str(&s->conf.gateway, t[0].gateway4)) < 0 ||
            (r = vm_set_str(&s->conf.gateway6, t[0].gateway6)) < 0 ||
            (r = vm_set_str(&s->conf.resolv_conf, t[0].resolv_conf)) < 0 ||
            (r = vm_set_str(&s->conf.hosts, t[0].hosts)) < 0)
                goto fail;
        strv_free(s->conf.nics);
        s->conf.nics = NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *nic = strdup_printf("%s %s%s%s", t[i].mac, t[i].ipv4,
                                                         t[i].ipv6 ? " " : "", t[i].ipv6 ?: "");
                if (!nic || strv_extend(&s->conf.nics, nic) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = t;
        *ret_n = n;
        return 0;
fail:
        engine_net_taps_free(t, n);
        return vm_net_undo(e, w->id, dir, r);
}

int vm_net_undo(struct engine *e, const char *id, const char *dir, int r)
{
        /* The caller reports r: its message stays, whatever the detach says. */
        char msg[1024];
        bool had = err_has_msg();

        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        if (engine_net_detach_tap(e, id, dir) < 0)
                log_debug("vm %s: detaching its network: %s", id, err_msg(-EIO));
        err_clear();
        return had ? err_set(r, "%s", msg) : r;
}

int vm_net_release(struct engine *e, const char *id, const char *dir, bool wait)
{
        _cleanup_free_ char *rec = strdup_printf("%s/" ENGINE_NET_RECORD, dir),
                            *lockp = strdup_printf("%s/lock", dir);
        _cleanup_close_ int fd = -EBADF;

        if (!rec || !lockp)
                return -ENOMEM;
        if (access(rec, F_OK) < 0)
                return 0;
        /* Without wait: a command that holds the lock is starting the VM (its attach begins with a
         * detach of what is left), removing it (which detaches) or detaching it now; that may be this
         * very process (vm_start() refreshes the row under the lock). With wait: the caller holds no
         * lock and returns once the VM is off its network, whoever detached it. */
        fd = open(lockp, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0)
                return 0;
        /* Under the lock, the run must still be over: a start that held it while we waited removed
         * the final status and attached again. */
        struct monitor_status st;
        if (monitor_status_read(dir, &st) < 0 || !st.final) {
                err_clear();
                return 0;
        }
        return engine_net_detach_tap(e, id, dir);
}
