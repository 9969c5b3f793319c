/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nft-elem.c - an endpoint's set elements (port guard, published ports) through libnftnl.
 *
 * libnftables turns every transaction into a listing of the ruleset first (its cache of tables
 * and sets, so that it can type the text it parses): 1.3 ms of an attach and as much of a
 * detach here, for three set elements. hull made these sets (nft_gen_base), so it knows their
 * key and data layouts and sends NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM directly, in one
 * nfnetlink batch (one transaction, as nft_run() would make).
 *
 * Layouts (the kernel's registers are 32 bits: each part of a concatenation takes a multiple of
 * 4 bytes, zero-padded): ifname 16 bytes (IFNAMSIZ, NUL-padded), ether_addr 6 (+2), ipv4_addr 4,
 * ipv6_addr 16, inet_proto 1 (+3), inet_service 2 in network order (+2). Each set's type is the
 * one nft_gen_base() declares; docs/networking.md lists them.
 *
 * An endpoint with egress/ingress policies has chains and rules of its own, and one with more
 * elements than a batch here holds (a wide port range): those go through libnftables text
 * (nft_gen_endpoint_add/del) as a whole, this path returns -EOPNOTSUPP.
 */
#include <netinet/in.h> /* before the kernel headers: glibc then keeps linux/in.h out */
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <time.h>

#include "error.h"
#include "nft.h"
#include "util.h"

#define KEY_MAX 64

struct elem_msg {
        int family; /* NFPROTO_* of the table */
        const char *table;
        const char *set;
        uint8_t key[KEY_MAX];
        size_t key_len;
        uint8_t data[KEY_MAX];
        size_t data_len;
};

struct elem_batch {
        struct elem_msg msg[48]; /* more (a wide port range): libnftables' text path */
        size_t n;
};

static struct elem_msg *batch_add(struct elem_batch *b, int family, const char *table, const char *set)
{
        struct elem_msg *m;

        if (b->n >= ELEMENTSOF(b->msg))
                return NULL;
        m = &b->msg[b->n++];
        *m = (struct elem_msg){.family = family, .table = table, .set = set};
        return m;
}

/* Append one part of a concatenation, padded to the register size. */
static void put(uint8_t *buf, size_t *len, const void *v, size_t n)
{
        memcpy(buf + *len, v, n);
        memset(buf + *len + n, 0, ALIGN_UP(n, (size_t)4) - n);
        *len += ALIGN_UP(n, (size_t)4);
}

static void put_ifname(uint8_t *buf, size_t *len, const char *name)
{
        char ifname[IFNAMSIZ] = {0};

        strncpy(ifname, name, IFNAMSIZ - 1);
        put(buf, len, ifname, IFNAMSIZ);
}

static void put_addr(uint8_t *buf, size_t *len, const struct ipaddr *a)
{
        put(buf, len, a->bytes, a->family == AF_INET ? 4 : 16);
}

static void put_port(uint8_t *buf, size_t *len, uint16_t port)
{
        uint16_t be = htobe16(port);
        put(buf, len, &be, 2);
}

static void put_proto(uint8_t *buf, size_t *len, enum port_proto p)
{
        static const uint8_t numbers[] = {[PORT_PROTO_TCP] = IPPROTO_TCP,
                                          [PORT_PROTO_UDP] = IPPROTO_UDP,
                                          [PORT_PROTO_SCTP] = IPPROTO_SCTP};
        put(buf, len, &numbers[p], 1);
}

/* The same elements as guard_gen() and ports_gen() in nft.c, in binary. */
static int endpoint_elems(const struct nft_endpoint *ep, bool add, struct elem_batch *b)
{
        struct elem_msg *m;

        if (ep->host_ifname && ep->mac) {
                const struct ipaddr *ips[] = {ep->ip4, ep->ip6};
                static const char *const sets[] = {"ok4", "ok6"};

                if (!(m = batch_add(b, NFPROTO_BRIDGE, "hull", "guard")))
                        return -E2BIG;
                put_ifname(m->key, &m->key_len, ep->host_ifname);
                if (!(m = batch_add(b, NFPROTO_BRIDGE, "hull", "mac")))
                        return -E2BIG;
                put_ifname(m->key, &m->key_len, ep->host_ifname);
                put(m->key, &m->key_len, ep->mac, 6);
                for (size_t i = 0; i < ELEMENTSOF(ips); i++) {
                        if (!ips[i] || !ipaddr_is_set(ips[i]))
                                continue;
                        if (!(m = batch_add(b, NFPROTO_BRIDGE, "hull", sets[i])))
                                return -E2BIG;
                        put_ifname(m->key, &m->key_len, ep->host_ifname);
                        put(m->key, &m->key_len, ep->mac, 6);
                        put_addr(m->key, &m->key_len, ips[i]);
                }
        }
        for (int fam = 0; fam < 2; fam++) {
                int family = fam == 0 ? AF_INET : AF_INET6;
                const struct ipaddr *target = family == AF_INET ? ep->ip4 : ep->ip6;

                for (size_t i = 0; i < ep->n_ports; i++) {
                        const struct port_map *p = &ep->ports[i];
                        bool any = !ipaddr_is_set(&p->host_ip) || ipaddr_is_any(&p->host_ip);
                        const char *set =
                                family == AF_INET ? (any ? "pub4any" : "pub4") : (any ? "pub6any" : "pub6");

                        if (!nft_port_in_family(p, family, ep))
                                continue;
                        if (!(m = batch_add(b, NFPROTO_INET, "hull", set)))
                                return -E2BIG;
                        if (!any)
                                put_addr(m->key, &m->key_len, &p->host_ip);
                        put_proto(m->key, &m->key_len, p->proto);
                        put_port(m->key, &m->key_len, p->host_port);
                        if (add) {
                                put_addr(m->data, &m->data_len, target);
                                put_port(m->data, &m->data_len, p->container_port);
                        }
                }
        }
        return 0;
}

static int build_msg(char *at, const struct elem_msg *m, bool add, uint32_t seq)
{
        struct nftnl_set *s = nftnl_set_alloc();
        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
        struct nlmsghdr *nlh;

        if (!s || !e) {
                nftnl_set_free(s);
                nftnl_set_elem_free(e);
                return -ENOMEM;
        }
        nftnl_set_set_str(s, NFTNL_SET_TABLE, m->table);
        nftnl_set_set_str(s, NFTNL_SET_NAME, m->set);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, m->key, m->key_len);
        if (m->data_len)
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, m->data, m->data_len);
        nftnl_set_elem_add(s, e); /* s owns e now */
        nlh = nftnl_nlmsg_build_hdr(at, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, m->family,
                                    (add ? NLM_F_CREATE : 0) | NLM_F_ACK, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        return 0;
}

/*
 * Send msgs [from, to) as one batch and collect one answer per message: 0, or the first
 * error's -errno with its set in *ret_set. A batch that fails is aborted whole by the kernel.
 */
static int send_batch(struct mnl_socket *nl, const struct elem_batch *b, size_t from, size_t to, bool add,
                      const char **ret_set)
{
        char buf[24576], rbuf[8192];
        struct mnl_nlmsg_batch *mb = mnl_nlmsg_batch_start(buf, sizeof(buf));
        uint32_t seq = (uint32_t)time(NULL), first;
        unsigned portid = mnl_socket_get_portid(nl);
        size_t answers = 0, want = to - from;
        int r = 0;

        if (!mb)
                return -ENOMEM;
        nftnl_batch_begin(mnl_nlmsg_batch_current(mb), seq++);
        mnl_nlmsg_batch_next(mb);
        first = seq;
        for (size_t i = from; i < to; i++) {
                int k = build_msg(mnl_nlmsg_batch_current(mb), &b->msg[i], add, seq++);
                if (k < 0) {
                        mnl_nlmsg_batch_stop(mb);
                        return k;
                }
                mnl_nlmsg_batch_next(mb);
        }
        nftnl_batch_end(mnl_nlmsg_batch_current(mb), seq++);
        mnl_nlmsg_batch_next(mb);
        if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(mb), mnl_nlmsg_batch_size(mb)) < 0) {
                mnl_nlmsg_batch_stop(mb);
                return negative_errno();
        }
        mnl_nlmsg_batch_stop(mb);
        /* One NLMSG_ERROR per message (error 0: done); an aborted batch answers each message too. */
        while (answers < want) {
                struct pollfd pfd = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
                ssize_t n;

                if (poll(&pfd, 1, 5000) <= 0)
                        return r < 0 ? r : -ETIMEDOUT;
                n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
                if (n < 0)
                        return negative_errno();
                for (const struct nlmsghdr *h = (void *)rbuf; mnl_nlmsg_ok(h, (int)n);
                     h = mnl_nlmsg_next(h, (int *)&n)) {
                        const struct nlmsgerr *e;

                        if (h->nlmsg_pid != portid || h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        e = mnl_nlmsg_get_payload(h);
                        answers++;
                        if (e->error < 0 && r == 0) {
                                r = e->error;
                                if (h->nlmsg_seq >= first && h->nlmsg_seq - first < want)
                                        *ret_set = b->msg[from + h->nlmsg_seq - first].set;
                        }
                }
        }
        return r;
}

int nft_endpoint_elems(struct nft *n, const struct nft_endpoint *ep, bool add)
{
        struct elem_batch b = {0};
        struct mnl_socket *nl;
        const char *set = "";
        int r;

        if ((ep->egress && ep->egress->n > 0) || (ep->ingress && ep->ingress->n > 0))
                return -EOPNOTSUPP;
        r = endpoint_elems(ep, add, &b);
        if (r == -E2BIG)
                return -EOPNOTSUPP;
        if (r < 0)
                return r;
        if (b.n == 0)
                return 0;
        r = nft_elem_socket(n, &nl);
        if (r < 0)
                return r;
        r = send_batch(nl, &b, 0, b.n, add, &set);
        if (r >= 0 || add) {
                if (r < 0)
                        return err_set(r, "nftables: cannot add the elements of endpoint %s to set %s: %s",
                                       ep->id, set, strerror(-r));
                return r;
        }
        /* A deletion that failed on an element that is gone already (a device that left with its
         * namespace, a reboot): each element on its own, the missing ones ignored. */
        for (size_t i = 0; i < b.n; i++) {
                r = send_batch(nl, &b, i, i + 1, false, &set);
                if (r < 0 && r != -ENOENT)
                        return err_set(r,
                                       "nftables: cannot delete an element of endpoint %s from set %s: %s",
                                       ep->id, set, strerror(-r));
        }
        return 0;
}
