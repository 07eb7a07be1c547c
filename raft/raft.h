/*  =========================================================================
    raft.h - umbrella header of the pure protocol layer

    Every file in raft/ includes this header and nothing outside libc. The
    layer holds the Raft protocol as single-threaded, deterministic logic:
    time, randomness and messages come in as arguments, effects go out as
    data (see core.h). It must never include a ZeroMQ, czmq, msgpack or
    pthread header; `make check-pure` enforces that rule.
    =========================================================================
*/
#ifndef ZR_RAFT_H_INCLUDED
#define ZR_RAFT_H_INCLUDED

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Terms and indexes are kept apart by name in every signature. Index 0 and
   term 0 mean "none": the first log entry has index 1 (Raft Figure 2). */
typedef uint64_t zr_term_t;
typedef uint64_t zr_index_t;
/* Server ids are small positive integers, 1..ZR_NODES_MAX. */
typedef uint32_t zr_id_t;

/* Limits (TigerStyle: a limit on everything). */
#define ZR_NODES_MAX 9                      /* servers in one cluster */
#define ZR_ENTRY_BYTES_MAX (1u << 20)       /* payload of one entry */
#define ZR_FRAME_BYTES_MAX (16u << 20)      /* one encoded RPC frame */
#define ZR_BATCH_ENTRIES_MAX 4096           /* entries in one AppendEntries */
#define ZR_INFLIGHT_MAX 256                 /* AppendEntries in flight */
#define ZR_CHUNK_BYTES_MAX (4u << 20)       /* one InstallSnapshot chunk */

/* One error table: every fallible function returns 0 or a negative code. */
#define ZR_ERRORS(X)                                                         \
    X (ZR_ENOMEM, -1, "out of memory")                                       \
    X (ZR_EINVAL, -2, "invalid argument")                                    \
    X (ZR_EMALFORMED, -3, "malformed frame")                                 \
    X (ZR_ETOOBIG, -4, "frame or field too big")                             \
    X (ZR_EVERSION, -5, "unsupported frame version")                         \
    X (ZR_ETRUNCATED, -6, "truncated frame")                                 \
    X (ZR_ETRAILING, -7, "trailing bytes after frame")                       \
    X (ZR_ENOTLEADER, -8, "not the leader")                                  \
    X (ZR_ECORRUPT, -9, "corrupt data on disk")                              \
    X (ZR_EIO, -10, "i/o error")                                             \
    X (ZR_ESHUTDOWN, -11, "node is shutting down")                           \
    X (ZR_EBUSY, -12, "busy, try again")                                     \
    X (ZR_ECOUNT, -13, "element count exceeds the bytes present")           \
    X (ZR_ELOCKED, -14, "data directory in use by another process")       \
    X (ZR_ECOMPACTED, -15, "index compacted")                               \
    X (ZR_EAGAIN, -16, "try again later: at a limit, or nothing yet")     \
    X (ZR_ELOST, -17, "lost: another leader's entry took its index")      \
    X (ZR_ETIMEDOUT, -18, "timed out")                                     \
    X (ZR_EUNKNOWN, -19, "outcome unknown: a snapshot covered it")         \
    X (ZR_ESTALE, -20, "sequence number below the producer's dedup window") \
    X (ZR_ERANGE, -21, "index no longer held: compacted into a snapshot")

enum {
#define ZR_ERR_ENUM(name, value, text) name = value,
    ZR_ERRORS (ZR_ERR_ENUM)
#undef ZR_ERR_ENUM
};

/* Returns a static message for an error code (never NULL). */
const char *zr_strerror (int rc);

/* Always-on assertion for internal contracts (never for external input):
   prints the expression, file and line, then aborts, NDEBUG or not. */
#define zr_assert(expr)                                                      \
    do {                                                                     \
        if (!(expr)) {                                                       \
            fprintf (stderr, "zraft: assertion failed: %s (%s:%d)\n",        \
                     #expr, __FILE__, __LINE__);                             \
            abort ();                                                        \
        }                                                                    \
    } while (0)

#include "blob.h"
#include "message.h"
#include "rng.h"
#include "log.h"
#include "progress.h"
#include "core.h"

#endif
