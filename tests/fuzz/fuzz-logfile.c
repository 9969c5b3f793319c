/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-logfile.c - libFuzzer target for the json-file log reader (logfile.h, logs.h): a log
 * file is outside input (anyone with access to the store can edit it, a full disk truncates
 * it). Every line is decoded; each record that decodes is encoded again and must decode to
 * the same bytes, stream and time. Seeds: tests/fuzz/corpus/logfile/.
 */
#include <stdint.h>

#include "logfile.h"
#include "logs.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *userdata, const struct log_record *rec)
{
        static char out[LOGFILE_RECORD_MAX];
        struct log_record back;
        size_t n;

        if (rec->len > LOGFILE_LINE_MAX)
                return 0; /* the writer never makes records this long; the encoder's buffer is sized for it
                           */
        n = logfile_encode(out, rec->data, rec->len, rec->stream, rec->time_ns);
        if (logfile_decode(out, n - 1, &back) < 0)
                __builtin_trap();
        if (back.len != rec->len || memcmp(back.data, rec->data, rec->len) != 0 ||
            back.stream != rec->stream || back.time_ns != rec->time_ns)
                __builtin_trap();
        log_record_done(&back);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char t[48];
        int64_t ns;

        (void)logs_parse_buffer((const char *)data, size, check, NULL);
        if (logfile_parse_time((const char *)data, size, &ns) >= 0)
                (void)logfile_format_time(ns, t, sizeof(t));
        return 0;
}
