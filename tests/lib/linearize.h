/*  =========================================================================
    linearize - a linearizability checker for key/value histories

    Client threads of a test record what they asked of the service and
    what they learned: put(k, v), get(k) -> v or not found, del(k),
    cas(k, old, new) -> swapped or not, each with the time it was invoked
    and the time it completed (monotonic microseconds, stamped here), and
    an outcome:
      ok       it took effect, with the result recorded;
      failed   it certainly did not take effect: the checker drops it;
      unknown  a timeout or a lost connection: it may have taken effect
               at any point after its invocation, or never. Its
               completion is +infinity and its result is not known (an
               unknown get is dropped: it changes nothing and says
               nothing). An operation never completed counts as unknown.
    Then linearize_check decides whether the history is linearizable:
    whether every key can be given a sequence of its operations that
    respects real time (an operation that completed before another was
    invoked comes first) and in which every ok result is what a single
    register would have answered. Keys are independent (Herlihy & Wing's
    locality), so each key is checked on its own.

    Design notes
    The search is Wing & Gong's, with Lowe's memoisation ("Testing for
    linearizability", 2017), the algorithm of Knossos and Porcupine: the
    operations' invocations and completions form one list in time order;
    the search linearizes a pending invocation whose model step is legal,
    lifts it (and its completion) out of the list, and backtracks when it
    meets the completion of an operation it has not linearized. A cache of
    configurations already explored prunes the search (see 6).
      1. A history is linearizable iff every key's is.
      2. An unknown operation left over when every known one is
         linearized can go last, after everything observed: the search
         succeeds once every operation with a known result is placed.
      3. Linearizability is prefix-closed: if a history is linearizable,
         so is every prefix of it cut at a time t, where an operation
         still running at t becomes unknown. So the shortest prefix that
         fails is found by bisection over completion times.
      4. A window: drop the operations that completed by a time s, make
         those running at s unknown, and let the register start at s
         with any value. If that window cannot be linearized, neither can
         the history (what happened before s only fixed the starting
         value). The explanation reports the latest such s it finds.
      5. An unknown write that nothing could have observed can be
         dropped: a put or cas writing v when no known get read v, no cas
         expects v, and no known cas on the key failed to swap (a del
         likewise, when no known get read "not found"). Any
         linearization that applies it stays one without it: until the
         next write, only such operations could tell. This keeps the
         timeouts of a faulty run from costing 2^unknowns states.
      6. Unknown operations applied do not add to what a configuration
         can do: (K, state, U) -- known operations linearized, register,
         unknown ones applied -- can do no more than (K, state, U') for
         U' a subset of U, since the rest of U could be left unapplied.
         The cache keeps, per (K, state), the sets U it was reached with,
         and a configuration whose U contains one of them is pruned. The
         search tries known operations before unknown ones, so each
         (K, state) tends to be reached first with the smallest U.
    The work is bounded: each search may add at most `budget` states to
    its cache; a key that needs more is "unknown: budget exceeded",
    reported apart from "not linearizable".

    The model: a missing key reads as not found; del of a missing key is
    allowed; cas swaps only if the key holds exactly old (a missing key
    never swaps). Keys and values are text (NUL-terminated, at most
    LINEARIZE_TEXT_MAX bytes). Equal timestamps are read as overlapping
    (invocations before completions), the lenient choice; the recorder
    never stamps two events alike.

    The history dump is JSON lines, one operation per line:
      {"id":3,"client":1,"op":"cas","key":"k","old":"a","new":"b",
       "invoke":120,"complete":250,"outcome":"ok","swapped":true}
    op is put (value), get, del or cas (old, new); outcome is ok, failed,
    unknown or pending; an ok get has "found" and, when found, "value"; an
    ok cas has "swapped". '"' and '\' are escaped with a backslash, bytes
    outside printable ASCII written \u00XX, one byte each. linearize_load
    reads it back: a failing history from a process test, copied to
    tests/unit/linearize/bad-<name>.jsonl, is replayed by test_linearize.

    In a process test, each client thread does, per request:
        uint64_t id = linearize_put (history, client, key, value);
        ... send it, wait for the answer ...
        linearize_ok (history, id);        (or _failed, or _unknown on a
                                            timeout or a lost connection)
    and at the end:
        char *report;
        if (linearize_check (history, &report) != LIN_LINEARIZABLE) {
            linearize_dump (history, path);   print report and path; fail
        }
    =========================================================================
*/
#ifndef ZR_TEST_LINEARIZE_H_INCLUDED
#define ZR_TEST_LINEARIZE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINEARIZE_TEXT_MAX 4096u        /* bytes of a key or a value */
#define LINEARIZE_OPS_MAX (1u << 20)    /* operations in one history */
/* States one search may add to its cache: a few hundred operations of a
   handful of clients need hundreds to thousands; each state costs about
   64 bytes plus one bit per operation of the key. */
#define LINEARIZE_BUDGET_DEFAULT 1000000u

typedef enum {
    LIN_PUT = 1,
    LIN_GET = 2,
    LIN_DEL = 3,
    LIN_CAS = 4
} lin_type_t;

typedef enum {
    LIN_PENDING = 0,                    /* invoked, not completed yet */
    LIN_OK = 1,
    LIN_FAILED = 2,
    LIN_UNKNOWN = 3
} lin_outcome_t;

typedef enum {
    LIN_LINEARIZABLE = 0,
    LIN_VIOLATION = 1,                  /* some key cannot be linearized */
    LIN_BUDGET = 2                      /* no violation found, but some key
                                           exceeded the budget */
} lin_verdict_t;

/* One operation, complete: what linearize_add takes. */
typedef struct {
    uint64_t id;                        /* shown in reports (the recorder
                                           numbers 0, 1, ...) */
    lin_type_t type;
    lin_outcome_t outcome;
    uint32_t client;                    /* who ran it, for reports */
    int64_t invoke_us;                  /* monotonic microseconds */
    int64_t complete_us;                /* >= invoke_us; read as +infinity
                                           unless outcome is LIN_OK */
    const char *key;
    const char *value;                  /* PUT; CAS: new; ok GET: the value
                                           read (NULL: not found) */
    const char *old;                    /* CAS: expected value */
    bool swapped;                       /* ok CAS */
} lin_op_t;

typedef struct _linearize_t linearize_t;

/* Creates an empty history. Never NULL (allocation failure aborts). */
linearize_t *linearize_new (void);

/* Destroys the history; idempotent, NULLs *self_p. */
void linearize_destroy (linearize_t **self_p);

/* States each key's search may add (> 0); LINEARIZE_BUDGET_DEFAULT. */
void linearize_set_budget (linearize_t *self, uint64_t states);

/* Recording, from any thread. An invocation stamps the time and returns
   the operation's id; exactly one completion follows for that id (or
   none: the operation stays pending, read as unknown). Strings are
   copied. Stamps are strictly increasing across threads, so an event
   recorded after another (in any thread) has a later time. Misuse (an
   unknown id, a second completion, a result for the wrong type, text
   over LINEARIZE_TEXT_MAX) aborts the test. */
uint64_t linearize_put (linearize_t *self, uint32_t client, const char *key,
                        const char *value);
uint64_t linearize_get (linearize_t *self, uint32_t client, const char *key);
uint64_t linearize_del (linearize_t *self, uint32_t client, const char *key);
uint64_t linearize_cas (linearize_t *self, uint32_t client, const char *key,
                        const char *old, const char *new_value);
/* ok put or del. */
void linearize_ok (linearize_t *self, uint64_t id);
/* ok get: value read, or NULL for not found. */
void linearize_ok_get (linearize_t *self, uint64_t id, const char *value);
/* ok cas: whether it swapped. */
void linearize_ok_cas (linearize_t *self, uint64_t id, bool swapped);
/* It certainly did not take effect. */
void linearize_failed (linearize_t *self, uint64_t id);
/* It may or may not have taken effect. */
void linearize_unknown (linearize_t *self, uint64_t id);

/* Adds a whole operation with its own times and id (hand-written
   histories, the loader). Returns 0, or -1 with a message in errbuf
   (size bytes) when op is not well formed: a type or outcome out of
   range, complete before invoke, a missing key or value, text too long,
   a result on an operation that is not ok. */
int linearize_add (linearize_t *self, const lin_op_t *op, char *errbuf,
                   size_t size);

/* Operations recorded. */
size_t linearize_size (linearize_t *self);

/* Checks the history as it is (pending operations read as unknown).
   Returns the verdict; if report is not NULL, sets *report to a text for
   people (caller frees it): for each key that is not linearizable, the
   shortest failing prefix, the smallest failing window found and its
   operations; for each key over budget, a line saying so; and a summary
   line. Thread-safe, but blocks the recorders while it runs. */
lin_verdict_t linearize_check (linearize_t *self, char **report);

/* States the last linearize_check added to its caches, all searches of
   every key together (a measure of its work). */
uint64_t linearize_states (linearize_t *self);

/* "linearizable", "not linearizable", "unknown: budget exceeded". */
const char *linearize_verdict_str (lin_verdict_t verdict);

/* Writes the history to path as JSON lines (see above). Returns 0, or -1
   with errno set if the file cannot be written. */
int linearize_dump (linearize_t *self, const char *path);

/* Reads a history written by linearize_dump. Returns it (caller destroys
   it), or NULL and, if error is not NULL, *error set to a message naming
   the file, the line and what is wrong (caller frees it). Any input is
   safe: a malformed file gets an error, never a crash. */
linearize_t *linearize_load (const char *path, char **error);

#endif
