/*  =========================================================================
    journal - zraft-node's log: one line per event on stderr, text or json,
    each carrying the node's name, term and role

    Text:  2026-01-02T03:04:05.678Z notice n1 term=3 role=leader: <message>
    JSON:  {"time":"2026-01-02T03:04:05.678Z","level":"notice","node":"n1",
            "term":3,"role":"leader","msg":"<message>"}

    The server's own events and the library's lines (zraft_log_set, whose
    callback is zr_journal_line) go through the same writer, so an
    operator reads one stream in one format. Lines below the configured
    level are dropped before formatting.

    Process-wide (STYLE.md allows log setup in bin/): zr_journal_setup runs
    once in main before any thread exists; after it every function is
    safe on any thread. The term and role are atomics the server updates
    on ROLE events. Each line is formatted into a bounded buffer (a longer
    message is cut, ending in "...") and written with one write(2), so
    lines from several threads never interleave.
    =========================================================================
*/
#ifndef ZR_JOURNAL_H_INCLUDED
#define ZR_JOURNAL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZR_JOURNAL_LINE_MAX 2048        /* bytes of one line, newline included */

/* Roles a line can carry: the three of zraft_role_t (same values),
   "starting" before the node runs, "stopped" after it is destroyed. */
enum {
    ZR_JOURNAL_FOLLOWER = 0,
    ZR_JOURNAL_CANDIDATE = 1,
    ZR_JOURNAL_LEADER = 2,
    ZR_JOURNAL_STOPPED = 3,
    ZR_JOURNAL_STARTING = 4
};

/* Sets the node name (copied, at most 64 bytes kept), the lowest level
   written (ZR_OPTIONS_LOG_*), json or text, and the file descriptor
   lines go to (2 in zraft-node; tests pass a pipe). The role starts as
   starting, the term as 0. */
void zr_journal_setup (const char *name, int level, bool json, int fd);

/* Records the term and role later lines carry. */
void zr_journal_set_state (uint64_t term, int role);

/* True if a line at level would be written. */
bool zr_journal_enabled (int level);

/* Writes one line at level (ZR_OPTIONS_LOG_*), printf-style. */
void zr_journal_log (int level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Writes line (the library's, without newline) at level: the signature
   of zraft_log_fn; arg is unused. */
void zr_journal_line (void *arg, int level, const char *line);

/* Malformed input from clients, counted and logged at most once per
   ZR_JOURNAL_MALFORMED_MS. */
#define ZR_JOURNAL_MALFORMED_MS 1000
#define ZR_JOURNAL_SAMPLE_BYTES 16      /* hex sample of a malformed frame */
typedef struct {
    uint64_t count;                     /* malformed inputs so far */
    uint64_t quiet;                     /* ... not logged since the last line */
    int64_t logged;                     /* when the last line went out (ms) */
    bool any;                           /* a line went out */
} zr_journal_limit_t;

/* Counts one malformed input at now_ms (a monotonic clock) and, unless
   a line went out less than ZR_JOURNAL_MALFORMED_MS ago, writes a
   warning: "<what>: malformed <noun> (<why>): N bytes, starting <hex
   of the first ZR_JOURNAL_SAMPLE_BYTES>; C malformed so far, Q not
   logged". data may be NULL (size 0): no sample. */
void zr_journal_malformed (zr_journal_limit_t *limit, int64_t now_ms,
                           const char *what, const char *noun,
                           const void *data, size_t size, const char *why);

#endif
