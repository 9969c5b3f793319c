/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-qcow2.c - a qcow2 image from the fuzzer, opened, read, written (fuzz-disk-common.h). */
#include "fuzz-disk-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        return fuzz_disk(data, size, DISK_FORMAT_QCOW2);
}
