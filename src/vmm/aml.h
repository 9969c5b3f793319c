/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aml.h - a small ACPI Machine Language encoder (ACPI 6.4 §20.2): just what hull-vmm's
 * DSDT needs (scopes, devices, names, integers, strings, packages, buffers, EISA ids
 * and resource descriptors, §6.4).
 *
 * struct aml is a growable byte buffer. Objects with a PkgLength are written as
 * begin/end pairs: aml_pkg_begin() remembers where the object's contents start, and
 * aml_pkg_end() inserts the encoded length there once the contents are known. A
 * failed allocation sets oom; every later call is a no-op, so callers check once.
 */
#pragma once

#include <stdint.h>

#include "macro.h"

struct aml {
        uint8_t *data;
        size_t len;
        size_t cap;
        bool oom;
};

void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* A name path such as "\\_SB_", "PCI0", "_HID" or "\\_SB_.PCI0" (segments padded with '_'). */
void aml_name_string(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A03") as a DWord constant. */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);

size_t aml_pkg_begin(struct aml *a);
void aml_pkg_end(struct aml *a, size_t start);

/* Scope(path) { ... }, Device(name) { ... }: pass the returned mark to aml_pkg_end(). */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *name);
/* Name(name, ...): the caller writes the value right after. */
void aml_name(struct aml *a, const char *name);
/* Package(n) { ... } */
size_t aml_package_begin(struct aml *a, uint8_t n_elements);
/* Append Buffer() { body's descriptors, end tag } (a ResourceTemplate) and free body. */
void aml_resource_template(struct aml *a, struct aml *body);

/* Resource descriptors (§6.4.2, §6.4.3), appended to a resource template body. */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t max);
void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t max);
void aml_res_irq(struct aml *a, uint8_t irq);
