/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-vmm-snapshot - hull-vmm's snapshot state file (src/vmm/snapshot.c) as arbitrary bytes:
 * the header, every record's kind, index and length, the machine record that bounds the
 * others. A parse either fails with a message or yields a snapshot whose every buffer is as
 * long as it says (ASan checks the reads below); the legacy device records that parse are
 * then read back by their devices' restore functions, which must refuse short or invalid ones.
 */
#include <stdint.h>
#include <string.h>

#include "devices/i8042.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct snapshot s;
        volatile uint64_t sink = 0;

        if (snapshot_parse(data, size, &s) < 0)
                return 0;
        for (uint32_t i = 0; i < s.cpus; i++) {
                const struct snapshot_vcpu *v = &s.vcpus[i];
                for (uint32_t m = 0; m < v->n_msrs; m++)
                        sink += v->msrs[m].data;
                if (v->xsave)
                        sink += v->xsave[v->xsave_len - 1];
        }
        for (uint32_t d = 0; d < s.n_devices; d++)
                if (s.devices[d].len)
                        sink += s.devices[d].data[s.devices[d].len - 1];
        struct i8042 k = {};
        (void)i8042_restore(&k, &s.i8042);
        struct snap_reader r = snap_reader_init(&s.serial);
        while (!r.bad && r.left)
                sink += snap_get_bool(&r);
        snapshot_done(&s);
        (void)sink;
        return 0;
}
