/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent-proto.h - the frames that hull and hull-agent exchange (docs/agent.md).
 *
 * A frame is a 12-byte little-endian header (u32 len, u16 type, u16 flags, u32 id)
 * and len bytes of payload. Structured payloads are lists of fields (u16 tag, u16 0,
 * u32 length, bytes).
 *
 * Trust: the host trusts the agent with nothing. struct agent_reader, created with
 * from_agent = true, bounds every frame (65536 bytes of payload), accepts only the
 * agent's message types with the payload size each one has, and says what was wrong
 * in reader->error (one line, lowercase). The agent uses the same reader for the
 * host's frames (from_agent = false, 1 MiB).
 *
 * This file depends on libc only: the static guest agent compiles it as it is.
 * Ownership: a struct agent_msg points into its reader's buffer and is valid until
 * the next agent_reader_next() or agent_reader_free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 2 added PS/PROCS; 3 the CLOCK and SEED fields of CREATE (a guest restored from a template
 * takes its wall clock and its randomness from the host). The host accepts agents from
 * AGENT_PROTO_VERSION_MIN on and sends an older agent nothing it does not know (an unknown type
 * or CREATE field ends the conversation or fails the set-up).
 */
#define AGENT_PROTO_VERSION     3
#define AGENT_PROTO_VERSION_MIN 1
#define AGENT_HDR_SIZE          12
#define AGENT_MAX_FROM_AGENT    65536u
#define AGENT_MAX_FROM_HOST     (1u << 20)
#define AGENT_MAX_ERROR_TEXT    1024u
/* Output is sent in chunks of at most this size, well under AGENT_MAX_FROM_AGENT. */
#define AGENT_CHUNK 32768u

enum agent_msg_type {
        /* host to agent */
        AGENT_CREATE = 1,
        AGENT_EXEC = 2,
        AGENT_STDIN = 3,
        AGENT_SIGNAL = 4,
        AGENT_RESIZE = 5,
        AGENT_SHUTDOWN = 6,
        AGENT_PS = 7, /* version 2 */
        /* agent to host */
        AGENT_HELLO = 64,
        AGENT_READY = 65,
        AGENT_STARTED = 66,
        AGENT_STDOUT = 67,
        AGENT_STDERR = 68,
        AGENT_EXIT = 69,
        AGENT_ERROR = 70,
        AGENT_PROCS = 71, /* version 2 */
        _AGENT_MSG_MAX,
        _AGENT_MSG_INVALID = -1,
};

/* Fields of CREATE. */
enum agent_create_field {
        AGENT_C_ROOT = 1,     /* device\0fstype\0options */
        AGENT_C_HOSTNAME = 2, /* name */
        AGENT_C_MOUNT = 3,    /* source\0destination\0fstype\0options */
        AGENT_C_FILE = 4,     /* path\0mode-octal\0content */
        AGENT_C_NET = 5,      /* name\0mac\0mtu: the NIC with that MAC becomes name, up */
        AGENT_C_ADDR = 6,     /* name\0address/prefix-length */
        AGENT_C_ROUTE = 7,    /* name\0destination/prefix-length\0gateway (empty: on-link) */
        AGENT_C_CLOCK = 8,    /* version 3: u64 seconds, u32 nanoseconds of the host's CLOCK_REALTIME */
        AGENT_C_SEED = 9, /* version 3: AGENT_SEED_MIN to AGENT_SEED_MAX bytes of the host's getrandom() */
        _AGENT_C_MAX,
        _AGENT_C_INVALID = -1,
};

#define AGENT_CLOCK_SIZE 12u
#define AGENT_SEED_SIZE  64u /* what the host sends */
#define AGENT_SEED_MIN   32u
#define AGENT_SEED_MAX   512u

/* Fields of EXEC. */
enum agent_exec_field {
        AGENT_E_ARG = 1,
        AGENT_E_ENV = 2,
        AGENT_E_CWD = 3,
        AGENT_E_USER = 4,     /* uid:gid */
        AGENT_E_GROUP = 5,    /* decimal gid */
        AGENT_E_TERMINAL = 6, /* empty */
        AGENT_E_RLIMIT = 7,   /* resource:soft:hard */
        AGENT_E_ROWS_COLS = 8,
        _AGENT_E_MAX,
        _AGENT_E_INVALID = -1,
};

/*
 * Fields of PROCS: one PROC per process of the guest,
 * pid\0ppid\0uid\0gid\0state\0nice\0tty\0vsz-KiB\0cpu-ms\0elapsed-ms\0comm\0args.
 */
enum agent_procs_field {
        AGENT_P_PROC = 1,
        _AGENT_P_MAX,
        _AGENT_P_INVALID = -1,
};

/* A PROC field is at most this long (the agent cuts the arguments to fit). */
#define AGENT_PROC_MAX 4096u

/* One process of the guest, as PROCS describes it. */
struct agent_proc {
        uint32_t pid, ppid, uid, gid;
        char state; /* R, S, D, Z, T... */
        int32_t nice;
        uint32_t tty; /* tty_nr of /proc/PID/stat: 0 for none */
        uint64_t vsz_kib, cpu_ms, elapsed_ms;
        char comm[64];   /* printable ASCII only (see agent_proc_parse) */
        char args[1024]; /* NUL bytes between arguments turned into spaces; printable only */
};

const char *agent_msg_type_to_string(int type);

/* A growing byte buffer that frames are appended to. */
struct agent_buf {
        uint8_t *data;
        size_t len, cap;
        size_t frame_start; /* offset of the open frame's header */
};

void agent_buf_free(struct agent_buf *b);
/* Drop the first n bytes (sent ones). */
void agent_buf_consume(struct agent_buf *b, size_t n);
/* Open a frame; agent_buf_end() writes its length. All return 0 or -ENOMEM. */
int agent_buf_begin(struct agent_buf *b, uint16_t type, uint32_t id);
int agent_buf_put(struct agent_buf *b, const void *p, size_t n);
int agent_buf_put_u32(struct agent_buf *b, uint32_t v);
int agent_buf_field(struct agent_buf *b, uint16_t tag, const void *p, size_t n);
int agent_buf_field_str(struct agent_buf *b, uint16_t tag, const char *s);
/* A field of n NUL-separated parts (no NUL after the last). */
int agent_buf_field_parts(struct agent_buf *b, uint16_t tag, const char *const *parts, size_t n);
void agent_buf_end(struct agent_buf *b);
/* A whole frame with a raw payload. */
int agent_buf_frame(struct agent_buf *b, uint16_t type, uint32_t id, const void *p, size_t n);

struct agent_msg {
        uint16_t type;
        uint32_t id;
        const uint8_t *data; /* the payload */
        size_t len;
        /* Decoded for fixed-size messages. */
        uint32_t value;   /* HELLO version, STARTED pid, EXIT status, SIGNAL number */
        int32_t err;      /* ERROR: a positive errno */
        const char *text; /* ERROR: message, not NUL-terminated */
        size_t text_len;
        uint16_t rows, cols; /* RESIZE */
};

struct agent_reader {
        uint8_t *buf;
        size_t len, cap;
        size_t consumed; /* bytes of the frame last returned, dropped at the next call */
        bool from_agent; /* which side's frames this reader accepts */
        char error[192];
};

void agent_reader_init(struct agent_reader *r, bool from_agent);
void agent_reader_free(struct agent_reader *r);
/* Append received bytes. -ENOMEM, or -EMSGSIZE when more than a frame and a header are pending. */
int agent_reader_feed(struct agent_reader *r, const void *p, size_t n);
/*
 * The next complete frame: 1 and *m filled, 0 when more bytes are needed, -EBADMSG (or
 * -EMSGSIZE) with r->error set when the peer sent something the protocol does not allow.
 * After an error the reader stays failed.
 */
int agent_reader_next(struct agent_reader *r, struct agent_msg *m);

/* Append p as an AGENT_P_PROC field (the agent's side); args may hold NULs up to args_len. */
int agent_proc_put(struct agent_buf *b, const struct agent_proc *p, const char *args, size_t args_len);
/*
 * Decode an AGENT_P_PROC field (the host's side: the guest is not trusted): 0, or -EBADMSG when
 * a number does not parse, a part is missing or the field exceeds AGENT_PROC_MAX. Longer comm
 * and args are cut; every byte that is not printable ASCII becomes '?', so that a guest cannot
 * write terminal escapes through `hull top`.
 */
int agent_proc_parse(const uint8_t *val, uint32_t len, struct agent_proc *ret);

struct timespec;
/* Append a CLOCK field of t (the host's side). 0 or -ENOMEM. */
int agent_clock_put(struct agent_buf *b, const struct timespec *t);
/*
 * Decode a CLOCK field: 0, or -EBADMSG when it is not AGENT_CLOCK_SIZE bytes, the nanoseconds are
 * not below 10^9 or the seconds do not fit a time_t.
 */
int agent_clock_parse(const uint8_t *val, uint32_t len, struct timespec *ret);

/* Iterate over the fields of a CREATE or EXEC payload. */
struct agent_field_iter {
        const uint8_t *p;
        size_t left;
};
/* 1 with the field, 0 at the end, -EBADMSG when a field runs past the payload. */
int agent_field_next(struct agent_field_iter *it, uint16_t *ret_tag, const uint8_t **ret_val,
                     uint32_t *ret_len);
/*
 * Split a value into at most max NUL-separated parts (the last one keeps any further NUL),
 * copied NUL-terminated into out (size out_size); returns the number of parts or -E2BIG.
 */
int agent_field_split(const uint8_t *val, uint32_t len, char *out, size_t out_size, char **parts,
                      size_t max);
