/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runspec-net.c - the network part of a runspec (runspec.h): --network, and the list of
 * networks a bridged container is on, which `hull network connect/disconnect` edit.
 *
 * Modes (podman's and Docker's): no --network (or "bridge") puts the container on the
 * default network "hull"; one or more --network NAME on those networks; "none" gives it a
 * namespace with loopback only; "host" the host's namespace; "container:ID" another
 * container's. Only the bridged mode may be given more than once, and only it takes --ip,
 * --mac-address, --network-alias, -p, -P, --egress and --ingress (they describe an endpoint
 * on a network). --ip, --ip6 and --mac-address apply to the first network, as in podman.
 *
 * The syntax of each value (addresses, port specs, rules) is checked by the network library
 * when the container is created (engine-net.h), so that its messages are the only ones.
 */
#include "error.h"
#include "network.h"
#include "runspec.h"
#include "util.h"

static void network_done(struct runspec_network *n)
{
        free(n->name);
        free(n->ip);
        free(n->ip6);
        free(n->mac);
        strv_free(n->aliases);
}

void runspec_networks_done(struct runspec *s)
{
        for (size_t i = 0; i < s->n_networks; i++)
                network_done(&s->networks[i]);
        free(s->networks);
        s->networks = NULL;
        s->n_networks = 0;
        strv_free(s->dns);
        strv_free(s->dns_search);
        strv_free(s->dns_options);
        strv_free(s->publish);
        strv_free(s->egress);
        strv_free(s->ingress);
}

bool runspec_is_bridged(const struct runspec *s)
{
        return !s->network || streq(s->network, "bridge");
}

static ssize_t network_index(const struct runspec *s, const char *name)
{
        for (size_t i = 0; i < s->n_networks; i++)
                if (streq(s->networks[i].name, name))
                        return (ssize_t)i;
        return -1;
}

int runspec_network_add(struct runspec *s, const char *name, const char *ip, const char *ip6,
                        const char *mac, char *const *aliases)
{
        struct runspec_network *l, n = {};

        if (network_index(s, name) >= 0)
                return -EEXIST;
        n.name = strdup(name);
        n.ip = ip ? strdup(ip) : NULL;
        n.ip6 = ip6 ? strdup(ip6) : NULL;
        n.mac = mac ? strdup(mac) : NULL;
        n.aliases = aliases ? strv_copy((char **)aliases) : NULL;
        l = reallocarray(s->networks, s->n_networks + 1, sizeof(*l));
        if (!n.name || (ip && !n.ip) || (ip6 && !n.ip6) || (mac && !n.mac) || (aliases && !n.aliases) ||
            !l) {
                network_done(&n);
                if (l)
                        s->networks = l;
                return -ENOMEM;
        }
        s->networks = l;
        s->networks[s->n_networks++] = n;
        return 0;
}

int runspec_network_remove(struct runspec *s, const char *name)
{
        ssize_t i = network_index(s, name);

        if (i < 0)
                return -ENOENT;
        network_done(&s->networks[i]);
        memmove(&s->networks[i], &s->networks[i + 1],
                (s->n_networks - (size_t)i - 1) * sizeof(*s->networks));
        s->n_networks--;
        return 0;
}

int runspec_add_network(struct runspec *s, const char *arg)
{
        _cleanup_free_ char *name = NULL;
        enum net_mode mode;
        int r;

        r = net_mode_parse(arg, &mode, &name);
        if (r < 0)
                return r;
        if (mode == NET_MODE_BRIDGE) {
                if (s->network && !streq(s->network, "bridge"))
                        return err_set(-EINVAL, "--network: '%s' cannot be combined with '%s'", arg,
                                       s->network);
                if (!name) /* "bridge": the default network */
                        name = strdup(NET_DEFAULT_NETWORK);
                if (!name)
                        return -ENOMEM;
                r = runspec_network_add(s, name, NULL, NULL, NULL, NULL);
                if (r == -EEXIST)
                        return err_set(-EINVAL, "--network: '%s' is given twice", arg);
                return r;
        }
        if (s->network || s->n_networks)
                return err_set(-EINVAL, "--network: '%s' cannot be combined with another --network", arg);
        s->network = strdup(arg);
        return s->network ? 0 : -ENOMEM;
}

int runspec_validate_network(const struct runspec *s)
{
        static const char *const endpoint_only[] = {"--publish",     "--publish-all",  "--egress",
                                                    "--ingress",     "--ip",           "--ip6",
                                                    "--mac-address", "--network-alias"};
        bool used[ELEMENTSOF(endpoint_only)] = {
                s->publish != NULL,
                s->publish_all,
                s->egress != NULL,
                s->ingress != NULL,
        };
        enum net_mode mode;
        _cleanup_free_ char *arg = NULL;
        int r;

        for (size_t i = 0; i < s->n_networks; i++) {
                used[4] = used[4] || s->networks[i].ip;
                used[5] = used[5] || s->networks[i].ip6;
                used[6] = used[6] || s->networks[i].mac;
                used[7] = used[7] || s->networks[i].aliases;
        }
        if (runspec_is_bridged(s))
                return 0;
        r = net_mode_parse(s->network, &mode, &arg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(endpoint_only); i++)
                if (used[i])
                        return err_set(-EINVAL, "%s: needs a bridged network, not --network %s",
                                       endpoint_only[i], s->network);
        if (mode == NET_MODE_CONTAINER && (s->dns || s->dns_search || s->dns_options || s->add_hosts))
                return err_set(-EINVAL,
                               "--network %s: the container shares the other one's /etc files "
                               "(--dns, --dns-search, --dns-option and --add-host do not apply)",
                               s->network);
        return 0;
}
