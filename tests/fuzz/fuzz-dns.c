/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-dns - DNS queries from containers (outside input) through the responder's parser and
 * answer builder, and the name table parser it reads.
 *
 * Input: a DNS message as a container would send it over UDP or TCP. Invariants checked: a
 * parsed question ends inside the message; its name is at most 255 bytes; a plain name only
 * has host-name characters; every response built from it is at most the buffer given, at least
 * a header, carries the query's id and passes dns_response_check(); a PTR name gives an
 * address of the family its suffix names. The same bytes are also fed to the name table
 * parser, whose names are never empty and never hold a separator.
 */
#include <stdint.h>

#include "dns-packet.h"
#include "dns.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const uint8_t *out, int n, size_t max, uint16_t id)
{
        if (n < 0)
                return;
        if ((size_t)n > max || n < DNS_HEADER_SIZE || dns_response_check(out, (size_t)n, id) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t out[DNS_MSG_MAX];
        struct dns_answer ans[3] = {{.type = DNS_TYPE_A}, {.type = DNS_TYPE_AAAA}, {.type = DNS_TYPE_PTR}};
        struct dns_query q;
        struct dns_table t;
        struct ipaddr a;
        char *text;
        int r;

        if (size > DNS_MSG_MAX)
                return 0;
        r = dns_query_parse(data, size, &q);
        if (r == 0) {
                if (q.question_end > size || strlen(q.name) > DNS_NAME_MAX || q.udp_size < DNS_UDP_MIN)
                        abort();
                for (const char *p = q.name; q.plain && *p; p++)
                        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                              *p == '_' || *p == '.'))
                                abort();
                (void)ipaddr_parse("10.89.0.2", &ans[0].addr);
                (void)ipaddr_parse("fd00::2", &ans[1].addr);
                ans[2].ptr = q.plain && *q.name ? q.name : "web";
                for (size_t max = DNS_HEADER_SIZE; max <= sizeof(out); max = max * 2 + 1) {
                        check_response(out,
                                       dns_response_build(data, size, &q, 0, true, ans, 3, 10, out, max),
                                       max, q.id);
                        check_response(out, dns_error_build(data, size, &q, DNS_RCODE_SERVFAIL, out, max),
                                       max, q.id);
                }
                if (dns_ptr_name_to_addr(q.name, &a) == 0 &&
                    a.family != (strstr(q.name, "in-addr.arpa") ? AF_INET : AF_INET6))
                        abort();
        } else {
                /* Error answers carry whatever id the header had. */
                check_response(out, dns_error_build(data, size, &q, DNS_RCODE_FORMERR, out, sizeof(out)),
                               sizeof(out), q.id);
        }

        text = strndup((const char *)data, size);
        if (text && dns_table_parse(text, &t) == 0) {
                for (size_t i = 0; i < t.n; i++)
                        STRV_FOREACH (n, t.records[i].names)
                                if (!**n || strpbrk(*n, ", \t\n"))
                                        abort();
                dns_table_done(&t);
        }
        free(text);
        return 0;
}
