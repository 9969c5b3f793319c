/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-hotplug.c - `hull network connect|disconnect NETWORK VM` of a running VM: a NIC plugged in
 * or out at once, as `network connect` does for a running container (docs/vm.md "Networks").
 *
 * Connect: the VM goes on the network (engine_net_attach_tap_one(): a tap on the bridge, the
 * lease, DNS names, the record network.json), the VMM plugs a virtio-net on that tap into a spare
 * PCIe root port (vmm_backend_nic_plug(); QEMU only: hull-vmm has no hot-plug and refuses), the
 * launch file's command line gains the NIC (a VMM that the monitor restarts has it cold-plugged),
 * the spec names the network, and hull's guest init configures the NIC found by its MAC (a NIC
 * request on the exec channel, vm-exec-proto.h). Disconnect: the spec first, then the guest takes
 * the NIC down, the VMM unplugs it (the guest must release it: bounded), the tap and lease go.
 *
 * Interruptions (kill -9 of hull at any moment): before its first step, the command writes the
 * network's name into the intent file VM_HOTPLUG_FILE and removes it after its last; the spec is
 * written after the plug (connect) or before the unplug (disconnect), so the spec tells what the
 * user was last told succeeded. vm_hotplug_repair(), run by the next network command on the VM,
 * undoes whatever of that network the spec does not name (NIC, netdev, launch arguments, tap,
 * lease, record). When the VM stops instead, its end detaches every network of its id, the
 * library's and the record's (engine_net_detach_tap()), and its next start cold-plugs the spec's.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine-net.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "vm-exec-proto.h"
#include "vm-internal.h"

#define UNPLUG_TIMEOUT_MS 20000
#define GUEST_TIMEOUT_MS  30000

/* The integration tests' way to die at a chosen step ($HULL_TEST_KILL_AT), as kill -9 would. */
static void kill_point(const char *step)
{
        if (streq_ptr(getenv("HULL_TEST_KILL_AT"), step))
                raise(SIGKILL);
}

static char *intent_path(const char *dir)
{
        return strdup_printf("%s/" VM_HOTPLUG_FILE, dir);
}

static int intent_write(const char *dir, const char *network)
{
        _cleanup_free_ char *p = intent_path(dir), *text = strdup_printf("%s\n", network);
        return p && text ? write_file_atomic(p, text, strlen(text), 0600) : -ENOMEM;
}

static void intent_clear(const char *dir)
{
        _cleanup_free_ char *p = intent_path(dir);
        if (p)
                (void)unlink(p);
}

/* The launch file's JSON and its argv (the VMM's command line). */
static int launch_read(const char *dir, struct json_object **ret, char ***ret_argv)
{
        _cleanup_free_ char *p = strdup_printf("%s/" VM_LAUNCH_FILE, dir);
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        if ((r = json_parse_file(p, 1 << 20, &o)) < 0 ||
            (r = json_get_strv(o, "argv", "argv", ret_argv)) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int launch_write(const char *dir, struct json_object *o, char **argv)
{
        _cleanup_free_ char *p = strdup_printf("%s/" VM_LAUNCH_FILE, dir);
        struct json_object *a = json_object_new_array();

        if (!p || !a) {
                json_object_put(a);
                return -ENOMEM;
        }
        STRV_FOREACH (s, argv)
                json_object_array_add(a, json_object_new_string(*s));
        json_object_object_add(o, "argv", a);
        return json_write_file_atomic(p, o, 0600);
}

/* Plug (mac given) or unplug tap's NIC, and keep the launch file's command line in step. */
static int nic_change(const char *dir, enum vmm_kind kind, const char *tap, const char *mac)
{
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if ((r = launch_read(dir, &o, &argv)) < 0)
                return r;
        r = mac ? vmm_backend_nic_plug(kind, dir, &argv, tap, mac)
                : vmm_backend_nic_unplug(kind, dir, &argv, tap, UNPLUG_TIMEOUT_MS);
        return r < 0 ? r : launch_write(dir, o, argv);
}

/* The recorded attachment of id to network: its tap and MAC (NULL when it has none). */
static int recorded(struct engine *e, const char *id, const char *network, char **ret_tap, char **ret_mac)
{
        _cleanup_json_ struct json_object *l = NULL;
        int r;

        *ret_tap = *ret_mac = NULL;
        if ((r = engine_net_attachments(e, id, &l)) < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(l); i++) {
                struct json_object *a = json_object_array_get_idx(l, i), *v;
                if (!json_object_object_get_ex(a, "network", &v) ||
                    !streq(json_object_get_string(v), network))
                        continue;
                if (json_object_object_get_ex(a, "host_ifname", &v) &&
                    !(*ret_tap = strdup(json_object_get_string(v))))
                        return -ENOMEM;
                if (json_object_object_get_ex(a, "mac", &v) &&
                    !(*ret_mac = strdup(json_object_get_string(v))))
                        return -ENOMEM;
                break;
        }
        return 0;
}

/* Take network off the running VM: its NIC (when the record names its tap), then tap, lease, record. */
static int take_off(struct engine *e, const struct workload *w, const char *dir, enum vmm_kind kind,
                    const char *network)
{
        _cleanup_free_ char *tap = NULL, *mac = NULL;
        int r;

        if ((r = recorded(e, w->id, network, &tap, &mac)) < 0)
                return r;
        if (tap && (r = nic_change(dir, kind, tap, NULL)) < 0)
                return r;
        return engine_net_detach_one(e, w->id, network);
}

static bool spec_has(const struct vm_spec *s, const char *network)
{
        for (size_t i = 0; s->net && runspec_is_bridged(s->net) && i < s->net->n_networks; i++)
                if (streq(s->net->networks[i].name, network))
                        return true;
        return false;
}

int vm_hotplug_repair(struct engine *e, struct workload *w, const char *dir, enum vmm_kind kind,
                      bool running)
{
        _cleanup_free_ char *p = intent_path(dir), *text = NULL;
        _cleanup_(vm_spec_done) struct vm_spec s = {};
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 4096, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        if (running && *text) {
                if ((r = vm_spec_from_json(w->spec, &s)) < 0)
                        return r;
                if (!spec_has(&s, text)) {
                        log_debug("vm %s: undoing an interrupted change of network %s", w->name, text);
                        if ((r = take_off(e, w, dir, kind, text)) < 0)
                                return err_prefix(r, "repairing an interrupted change of network '%s'",
                                                  text);
                }
        }
        intent_clear(dir);
        return 0;
}

/*
 * The config disk of a running image VM gains (nic given) or loses the NIC with mac, so that a guest
 * reboot (a new VMM, the same disk) configures what the guest has. Written in place: the VMM keeps
 * the file open, and the device keeps its size (a document that outgrew it stays as it was).
 */
static int config_disk_nic(const struct workload *w, const char *dir, const char *mac, const char *nic,
                           const struct engine_net_tap *first)
{
        _cleanup_free_ char *p = strdup_printf("%s/" VM_CONFIG_DISK, dir), *buf = NULL, *doc = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct vmconf c = {};
        size_t size, len, j = 0;
        int r;

        if (!p)
                return -ENOMEM;
        if (!w->image_id[0] || (r = read_full_file(p, VMCONF_MAX, &buf, &size)) == -ENOENT)
                return 0;
        if (r < 0 || (r = vmconf_parse(buf, size, &c)) < 0)
                return r;
        for (size_t i = 0; c.nics && c.nics[i]; i++) {
                if (startswith(c.nics[i], mac))
                        free(c.nics[i]);
                else
                        c.nics[j++] = c.nics[i];
        }
        if (c.nics)
                c.nics[j] = NULL;
        if (nic && (r = strv_extend(&c.nics, nic)) < 0)
                goto out;
        if (first && ((r = vm_set_str(&c.gateway, first->gateway4)) < 0 ||
                      (r = vm_set_str(&c.gateway6, first->gateway6)) < 0 ||
                      (r = vm_set_str(&c.resolv_conf, first->resolv_conf)) < 0 ||
                      (r = vm_set_str(&c.hosts, first->hosts)) < 0))
                goto out;
        if (!c.nics || !c.nics[0]) {
                /* No network left: no default route through a NIC that is gone. */
                (void)vm_set_str(&c.gateway, NULL);
                (void)vm_set_str(&c.gateway6, NULL);
        }
        if ((r = vmconf_format(&c, &doc, &len)) < 0)
                goto out;
        if (len > size) {
                log_debug("vm %s: the config disk has no room for the NIC %s", w->name, mac);
                goto out;
        }
        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || pwrite(fd, doc, len, 0) != (ssize_t)len)
                r = -errno;
out:
        vmconf_done(&c);
        return r < 0 ? r : 0;
}

/* The guest init's part of a connect: the NIC's addresses; the first network's routes and files too. */
static int guest_up(const char *dir, enum vmm_kind kind, const struct engine_net_tap *t, char *nic,
                    bool first)
{
        _cleanup_free_ char *doc = NULL;
        char *nics[] = {nic, NULL};
        struct vmconf c = {.nics = nics};
        size_t len;
        int r;

        if (first) {
                c.gateway = t->gateway4;
                c.gateway6 = t->gateway6;
                c.resolv_conf = t->resolv_conf;
                c.hosts = t->hosts;
        }
        if ((r = vmconf_format(&c, &doc, &len)) < 0)
                return r;
        /* The document's zero padding is the config disk's, not the request's. */
        return vm_exec_nic(dir, kind, VMX_NIC_UP, doc, strlen(doc), GUEST_TIMEOUT_MS);
}

/* "10.97.0.5/24" -> "10.97.0.5" into *field, unless the user chose it. */
static int pin_one(char **field, const char *cidr)
{
        if (*field || !cidr)
                return 0;
        *field = strndup(cidr, strcspn(cidr, "/"));
        return *field ? 0 : -ENOMEM;
}

/*
 * The addresses and MAC the network gave, kept in the spec as if chosen with --ip, --ip6 and
 * --mac-address: the guest has them now, and its next start cold-plugs the same NIC (the guest's
 * view of a restart, as for the networks it started with, whose restarts keep their tap).
 */
static int pin(struct runspec_network *n, const struct engine_net_tap *t)
{
        int r;

        if ((r = pin_one(&n->ip, t->ipv4)) < 0 || (r = pin_one(&n->ip6, t->ipv6)) < 0)
                return r;
        return pin_one(&n->mac, t->mac);
}

int vm_hotplug_connect(struct engine *e, struct workload *w, const char *dir, enum vmm_kind kind,
                       struct vm_spec *s, const char *network, char **ret_note)
{
        _cleanup_free_ char *nic = NULL;
        struct engine_net_tap t = {};
        size_t i = 0;
        int r;

        while (i < s->net->n_networks && !streq(s->net->networks[i].name, network))
                i++;
        if (i == s->net->n_networks)
                return -EINVAL;
        if ((r = intent_write(dir, network)) < 0)
                return r;
        if ((r = engine_net_attach_tap_one(e, w->id, w->name, s->net, i, dir, &t)) < 0)
                goto undo;
        kill_point("connect-attached");
        if ((r = pin(&s->net->networks[i], &t)) < 0 || (r = nic_change(dir, kind, t.tap, t.mac)) < 0)
                goto undo;
        kill_point("connect-plugged");
        if ((r = vm_spec_save(e, w, s)) < 0)
                goto undo;
        intent_clear(dir);
        nic = strdup_printf("%s %s%s%s", t.mac, t.ipv4, t.ipv6 ? " " : "", t.ipv6 ?: "");
        if (nic && config_disk_nic(w, dir, t.mac, nic, s->net->n_networks == 1 ? &t : NULL) < 0) {
                log_debug("vm %s: the config disk does not name the NIC %s: %s", w->name, t.mac,
                          err_msg(-EIO));
                err_clear();
        }
        if (!nic) {
                engine_net_tap_done(&t);
                return -ENOMEM;
        }
        if (!w->image_id[0]) {
                *ret_note = strdup_printf(
                        "vm '%s': a NIC with the MAC %s is plugged in for network '%s' (address "
                        "%s): the guest configures it itself (it does not run hull's guest init)",
                        w->name, t.mac, network, t.ipv4);
                engine_net_tap_done(&t);
                return *ret_note ? 0 : -ENOMEM;
        }
        r = guest_up(dir, kind, &t, nic, s->net->n_networks == 1);
        engine_net_tap_done(&t);
        if (r < 0)
                return err_prefix(
                        r,
                        "the NIC is plugged in and the VM is on network '%s', but its guest did not "
                        "configure it",
                        network);
        return 0;
undo : {
        /* The message of the step that failed stays; the VM is left as it was. */
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", err_msg(r));
        if (take_off(e, w, dir, kind, network) < 0)
                log_debug("vm %s: undoing the connect to %s: %s", w->name, network, err_msg(-EIO));
        else
                intent_clear(dir);
        err_clear();
        engine_net_tap_done(&t);
        return err_set(r, "%s", msg);
}
}

int vm_hotplug_disconnect(struct engine *e, struct workload *w, const char *dir, enum vmm_kind kind,
                          struct vm_spec *s, const char *network)
{
        _cleanup_free_ char *tap = NULL, *mac = NULL;
        int r;

        if ((r = recorded(e, w->id, network, &tap, &mac)) < 0 || (r = intent_write(dir, network)) < 0 ||
            (r = vm_spec_save(e, w, s)) < 0)
                return r;
        kill_point("disconnect-saved");
        /* Down before it goes: the guest stops using it while the unplug waits for its answer. */
        if (mac && w->image_id[0] &&
            vm_exec_nic(dir, kind, VMX_NIC_DOWN, mac, strlen(mac), GUEST_TIMEOUT_MS) < 0) {
                log_debug("vm %s: taking the NIC %s down: %s", w->name, mac, err_msg(-EIO));
                err_clear();
        }
        if (mac && config_disk_nic(w, dir, mac, NULL, NULL) < 0) {
                log_debug("vm %s: the config disk still names the NIC %s: %s", w->name, mac, err_msg(-EIO));
                err_clear();
        }
        kill_point("disconnect-down");
        if ((r = take_off(e, w, dir, kind, network)) < 0)
                return err_prefix(
                        r,
                        "vm '%s' is off network '%s' as of its next start, but its NIC stays until "
                        "the guest releases it (the next network command on it tries again)",
                        w->name, network);
        intent_clear(dir);
        return 0;
}
