/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-net-spec - what users type for networks (outside input): published ports (-p, EXPOSE),
 * policy rules (--egress/--ingress), CIDRs and addresses, MAC addresses, --add-host entries,
 * and the host's resolv.conf.
 *
 * Input: text; every line is tried as each kind. Invariants checked: an accepted port map has
 * a container port and a known protocol; an accepted rule prints in a canonical form that
 * parses again to the same text; an accepted subnet has no host bits and prints back to
 * something that parses to the same prefix; nothing accepted crashes the printers.
 */
#include <stdint.h>

#include "cidr.h"
#include "error.h"
#include "hosts.h"
#include "policy.h"
#include "ports.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *rule_text(const struct policy_rule *r)
{
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);
        if (!f)
                return NULL;
        policy_rule_format(r, f);
        fclose(f);
        return out;
}

static void one_line(const char *line)
{
        struct port_map *ports = NULL;
        size_t n = 0;
        struct policy_rule rule, again;
        struct cidr c, c2;
        char buf[CIDR_STRLEN];
        uint8_t mac[6];
        struct ipaddr gw;

        if (ports_parse(line, &ports, &n) == 0 || ports_parse_expose(line, &ports, &n) == 0)
                for (size_t i = 0; i < n; i++)
                        if (ports[i].container_port == 0 || (int)ports[i].proto < 0 ||
                            ports[i].proto >= _PORT_PROTO_MAX)
                                abort();
        free(ports);
        if (policy_rule_parse(line, "fuzz", &rule) == 0) {
                char *t = rule_text(&rule), *t2;
                if (!t || policy_rule_parse(t, "fuzz", &again) < 0)
                        abort();
                t2 = rule_text(&again);
                if (!t2 || strcmp(t, t2) != 0)
                        abort();
                free(t);
                free(t2);
        }
        if (cidr_parse(line, "fuzz", &c) == 0) {
                struct cidr net = cidr_network(&c.addr, c.len);
                if (!ipaddr_equal(&net.addr, &c.addr) ||
                    cidr_parse(cidr_to_string(&c, buf), "fuzz", &c2) < 0 ||
                    !ipaddr_equal(&c2.addr, &c.addr) || c2.len != c.len)
                        abort();
        }
        (void)mac_parse(line, mac);
        (void)ipaddr_parse("10.0.0.1", &gw);
        (void)hosts_add_host_check(line, &gw);
        (void)hostname_valid(line);
        err_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text, *save = NULL;
        struct resolv_conf rc;

        if (size > 16384)
                return 0;
        text = strndup((const char *)data, size);
        if (!text)
                return 0;
        if (resolv_conf_parse(text, &rc) == 0) {
                free(resolv_conf_format(&rc));
                resolv_conf_done(&rc);
        }
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                one_line(l);
        free(text);
        return 0;
}
