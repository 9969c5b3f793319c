/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aml.c - ACPI Machine Language encoding (see aml.h; ACPI 6.4 §20.2 for the grammar,
 * §6.4 for resource descriptors). Multi-byte values are little-endian as the spec wants.
 */
#include "aml.h"

#define AML_ZERO_OP       0x00
#define AML_ONE_OP        0x01
#define AML_NAME_OP       0x08
#define AML_BYTE_PREFIX   0x0a
#define AML_WORD_PREFIX   0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX  0x0e
#define AML_SCOPE_OP      0x10
#define AML_BUFFER_OP     0x11
#define AML_PACKAGE_OP    0x12
#define AML_EXT_OP        0x5b
#define AML_DEVICE_OP     0x82
#define AML_DUAL_NAME     0x2e
#define AML_MULTI_NAME    0x2f
#define AML_ROOT_CHAR     0x5c
#define AML_ONES_OP       0xff

static bool reserve(struct aml *a, size_t n)
{
        if (a->oom)
                return false;
        if (a->len + n <= a->cap)
                return true;
        size_t cap = MAX(a->cap * 2, a->len + n + 256);
        uint8_t *p = realloc(a->data, cap);
        if (!p) {
                a->oom = true;
                return false;
        }
        a->data = p;
        a->cap = cap;
        return true;
}

void aml_free(struct aml *a)
{
        free(a->data);
        *a = (struct aml){};
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
        if (!reserve(a, n))
                return;
        memcpy(a->data + a->len, p, n);
        a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
        aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void name_seg(struct aml *a, const char *s, size_t n)
{
        char seg[4] = {'_', '_', '_', '_'};
        memcpy(seg, s, MIN(n, sizeof(seg)));
        aml_bytes(a, seg, 4);
}

void aml_name_string(struct aml *a, const char *path)
{
        const char *segs[8];
        size_t lens[8], n = 0;

        if (*path == '\\') {
                aml_byte(a, AML_ROOT_CHAR);
                path++;
        }
        while (*path && n < ELEMENTSOF(segs)) {
                const char *dot = strchr(path, '.');
                size_t l = dot ? (size_t)(dot - path) : strlen(path);
                segs[n] = path;
                lens[n++] = l;
                path += l + (dot ? 1 : 0);
                if (!dot)
                        break;
        }
        if (n == 0) {
                aml_byte(a, 0x00); /* NullName */
                return;
        }
        if (n == 2)
                aml_byte(a, AML_DUAL_NAME);
        else if (n > 2) {
                aml_byte(a, AML_MULTI_NAME);
                aml_byte(a, (uint8_t)n);
        }
        for (size_t i = 0; i < n; i++)
                name_seg(a, segs[i], lens[i]);
}

void aml_integer(struct aml *a, uint64_t v)
{
        if (v == 0)
                aml_byte(a, AML_ZERO_OP);
        else if (v == 1)
                aml_byte(a, AML_ONE_OP);
        else if (v <= 0xff) {
                aml_byte(a, AML_BYTE_PREFIX);
                le(a, v, 1);
        } else if (v <= 0xffff) {
                aml_byte(a, AML_WORD_PREFIX);
                le(a, v, 2);
        } else if (v <= 0xffffffff) {
                aml_byte(a, AML_DWORD_PREFIX);
                le(a, v, 4);
        } else {
                aml_byte(a, AML_QWORD_PREFIX);
                le(a, v, 8);
        }
}

void aml_string(struct aml *a, const char *s)
{
        aml_byte(a, AML_STRING_PREFIX);
        aml_bytes(a, s, strlen(s) + 1);
}

uint32_t aml_eisaid_value(const char *id)
{
        /* Three letters in 5 bits each, then four hex digits; stored big-endian (§19.6.35). */
        uint32_t v = 0;
        if (strlen(id) != 7)
                return 0;
        v |= (uint32_t)((id[0] - 0x40) & 0x1f) << 26;
        v |= (uint32_t)((id[1] - 0x40) & 0x1f) << 21;
        v |= (uint32_t)((id[2] - 0x40) & 0x1f) << 16;
        v |= (uint32_t)strtoul(id + 3, NULL, 16) & 0xffff;
        return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
        aml_byte(a, AML_DWORD_PREFIX);
        le(a, aml_eisaid_value(id), 4);
}

size_t aml_pkg_begin(struct aml *a)
{
        return a->len;
}

void aml_pkg_end(struct aml *a, size_t start)
{
        uint8_t enc[4];
        size_t body = a->len - start, n;

        if (a->oom)
                return;
        /* PkgLength counts its own bytes (§20.2.4): pick the smallest encoding that fits. */
        if (body + 1 < 0x40) {
                enc[0] = (uint8_t)(body + 1);
                n = 1;
        } else {
                size_t total;
                for (n = 2; n <= 4; n++) {
                        total = body + n;
                        if (total < (1UL << (4 + 8 * (n - 1))))
                                break;
                }
                if (n > 4) {
                        a->oom = true;
                        return;
                }
                total = body + n;
                enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
                for (size_t i = 1; i < n; i++)
                        enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
        }
        if (!reserve(a, n))
                return;
        memmove(a->data + start + n, a->data + start, body);
        memcpy(a->data + start, enc, n);
        a->len += n;
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
        aml_byte(a, AML_SCOPE_OP);
        size_t mark = aml_pkg_begin(a);
        aml_name_string(a, path);
        return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
        aml_byte(a, AML_EXT_OP);
        aml_byte(a, AML_DEVICE_OP);
        size_t mark = aml_pkg_begin(a);
        aml_name_string(a, name);
        return mark;
}

void aml_name(struct aml *a, const char *name)
{
        aml_byte(a, AML_NAME_OP);
        aml_name_string(a, name);
}

size_t aml_package_begin(struct aml *a, uint8_t n_elements)
{
        aml_byte(a, AML_PACKAGE_OP);
        size_t mark = aml_pkg_begin(a);
        aml_byte(a, n_elements);
        return mark;
}

void aml_resource_template(struct aml *a, struct aml *body)
{
        /* End tag with a zero checksum, which §6.4.2.9 says means "treat as correct". */
        aml_byte(body, 0x79);
        aml_byte(body, 0x00);
        if (body->oom) {
                a->oom = true;
                aml_free(body);
                return;
        }
        aml_byte(a, AML_BUFFER_OP);
        size_t pkg = aml_pkg_begin(a);
        aml_integer(a, body->len);
        aml_bytes(a, body->data, body->len);
        aml_pkg_end(a, pkg);
        aml_free(body);
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
        aml_byte(a, 0x47); /* small item, I/O port descriptor, 7 bytes */
        aml_byte(a, 0x01); /* 16-bit decode */
        le(a, min, 2);
        le(a, max, 2);
        aml_byte(a, align);
        aml_byte(a, len);
}

/* Address space descriptors: type 0 memory, 1 I/O, 2 bus number; MinFixed|MaxFixed. */
static void address_header(struct aml *a, uint8_t tag, uint16_t len, uint8_t type, uint8_t type_flags)
{
        aml_byte(a, tag);
        le(a, len, 2);
        aml_byte(a, type);
        aml_byte(a, 0x0c);
        aml_byte(a, type_flags);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
        address_header(a, 0x88, 13, 2, 0);
        le(a, 0, 2);
        le(a, min, 2);
        le(a, max, 2);
        le(a, 0, 2);
        le(a, (uint32_t)max - min + 1, 2);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
        address_header(a, 0x88, 13, 1, 0x03); /* EntireRange */
        le(a, 0, 2);
        le(a, min, 2);
        le(a, max, 2);
        le(a, 0, 2);
        le(a, (uint32_t)max - min + 1, 2);
}

void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t max)
{
        address_header(a, 0x87, 23, 0, 0x01); /* read-write, non-cacheable */
        le(a, 0, 4);
        le(a, min, 4);
        le(a, max, 4);
        le(a, 0, 4);
        le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t max)
{
        address_header(a, 0x8a, 43, 0, 0x01);
        le(a, 0, 8);
        le(a, min, 8);
        le(a, max, 8);
        le(a, 0, 8);
        le(a, max - min + 1, 8);
}

void aml_res_irq(struct aml *a, uint8_t irq)
{
        aml_byte(a, 0x22); /* IRQ descriptor without information byte: edge, active high */
        le(a, 1u << irq, 2);
}
