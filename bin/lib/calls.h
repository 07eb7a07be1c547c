/*  =========================================================================
    calls - the calls in flight of a client: a window of slots, each a
    request carried by tries to a set of endpoints, with its timers,
    back-off, doubt, and the ring of calls finished

    What zr_kvclient_t (client.h) and zr_busclient_t (busclient.h) share:
    neither the protocol (how a try is encoded and sent, what an answer
    says: the client maps it onto a zr_client_code_t and calls
    zr_calls_answer) nor the sockets (link.h) live here. A client keeps
    its own struct per slot, whose first member is a zr_call_t; this
    module allocates the slots (item_size bytes each) and hands them out.

    A call's state moves as (zr_call_state_t):

        start --> READY --(sent)--------------> SENT --(OK)----------> DONE
                   ^  `--(not connected)-----> CONNECT                  ^
                   |                            |  (lost: timeout,      |
                   +--(connected, or moved)-----+   drop; an answer     |
                   +--(back-off over)-- WAIT <---   that moves it)      |
                   +----------------------------------------------------+
                                   deadline, a final answer: finish
        DONE -> FREE       zr_calls_release (the caller took the result)

    Invariants:
    1. A try id is (serial << 20) | (slot << 8) | try, serial >= 1,
       below 2^63: never 0, and names exactly one try of one call; an id
       whose serial is not the slot's current call's is late.
    2. tries [i] leaves ZR_KVCLIENT_TRY_SENT only through an answer to
       try i: a try that timed out or lost its connection stays in doubt.
    3. A DONE call's outcome is zr_kvclient_classify of its tries.
    4. pending == slots not FREE <= window; done_count <= window.

    Not thread-safe: it belongs to its client's thread.
    =========================================================================
*/
#ifndef ZR_TOOLS_CALLS_H_INCLUDED
#define ZR_TOOLS_CALLS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client.h"
#include "link.h"

#define ZR_CALLS_WINDOW_MAX 4096        /* calls in flight */
#define ZR_CALLS_TRIES_MAX 128          /* tries of one call */
#define ZR_CALLS_ERROR_MAX 512          /* a note, with its NUL */

_Static_assert (ZR_CALLS_WINDOW_MAX <= (1 << 12), "slot in 12 bits");
_Static_assert (ZR_CALLS_TRIES_MAX <= (1 << 8), "try in 8 bits");

typedef enum {
    ZR_CALL_FREE = 0,
    ZR_CALL_READY,                      /* to be sent to target now */
    ZR_CALL_WAIT,                       /* backing off until wake_at */
    ZR_CALL_CONNECT,                    /* target not connected; until wake_at */
    ZR_CALL_SENT,                       /* try n_tries-1 awaits an answer */
    ZR_CALL_DONE                        /* finished, result not taken yet */
} zr_call_state_t;

/* One call: the first member of a client's slot struct. */
typedef struct {
    zr_call_state_t state;
    uint64_t token;                     /* the caller's */
    uint64_t serial;                    /* this call's number, >= 1 */
    int pinned;                         /* endpoint index, or -1 */
    int target;                         /* endpoint of the current/next try */
    int64_t deadline;                   /* zclock_mono: the call ends here */
    int64_t wake_at;                    /* WAIT, CONNECT, SENT: next timer */
    int backoff_ms;                     /* the next back-off */
    uint32_t hops;                      /* moves since the last back-off */
    uint32_t n_tries;                   /* tries that left */
    uint8_t tries [ZR_CALLS_TRIES_MAX]; /* zr_kvclient_try_t each */
    int replier;                        /* endpoint of the last answer, or -1 */
    char note [ZR_CALLS_ERROR_MAX];     /* the latest thing that went wrong */
    char doubt [ZR_CALLS_ERROR_MAX];    /* why a try is in doubt ("" none) */
    zr_kvclient_outcome_t outcome;      /* DONE */
    bool refused;                       /* DONE: it ended because its
                                           endpoint answered in another
                                           protocol (zr_calls_refused) */
} zr_call_t;

/* What the calls know of the client's endpoints, for moves and notes. */
typedef struct {
    const char *const *names;           /* [n] endpoint names */
    size_t n;                           /* endpoints, >= 1 */
    int *leader;                        /* the endpoint believed to lead
                                           (forgotten when a try is lost
                                           there), or NULL */
    const zr_link_t *links;             /* [n] their links (link.h), for
                                           what a note says, or NULL */
} zr_calls_endpoints_t;

typedef struct _zr_calls_t zr_calls_t;

/* Creates config->window slots of item_size bytes (>= sizeof
   (zr_call_t)), all FREE; config (completed: zr_kvclient_config_complete)
   gives the try and connect timeouts and the back-off. config is
   copied. Caller owns the result and must destroy it. */
zr_calls_t *zr_calls_new (const zr_kvclient_config_t *config,
                          size_t item_size);
void zr_calls_destroy (zr_calls_t **self_p);

/* The item of slot (< window), whatever its state; the slot of an item. */
void *zr_calls_item (zr_calls_t *self, uint32_t slot);
uint32_t zr_calls_slot (zr_calls_t *self, const void *item);

/* Takes a FREE slot, zeroes its item and starts its call (READY, the
   next serial, target, pinned or -1, deadline now + timeout_ms). Returns
   the item, or NULL if window calls are in flight. */
void *zr_calls_start (zr_calls_t *self, uint64_t token, int target,
                      int pinned, int timeout_ms, int64_t now);

/* The id of call's next try (Invariant (1)). */
uint64_t zr_calls_try_id (zr_calls_t *self, const zr_call_t *call);

/* The item of the call in flight that id names, and which try: NULL if
   none (late, or not ours). */
void *zr_calls_find (zr_calls_t *self, uint64_t id, uint32_t *try_index);

/* Before a try of a READY call is sent: false after finishing it when
   its deadline passed or it made ZR_CALLS_TRIES_MAX tries. */
bool zr_calls_may_send (zr_calls_t *self, zr_call_t *call, int64_t now);

/* The try left (SENT, awaiting an answer until the try timeout), or did
   not (err: the errno; CONNECT: a pinned call waits a try timeout, a
   free one a connect timeout). */
void zr_calls_sent (zr_calls_t *self, zr_call_t *call, int64_t now);
void zr_calls_unsent (zr_calls_t *self, zr_call_t *call, int err,
                      const zr_calls_endpoints_t *eps, int64_t now);

/* An answer of client code `code` (a zr_client_code_t) to try
   try_index, from endpoint `from`; note says it for people. Applies
   zr_kvclient_on_reply: settles the try (Invariant (2)); OK and final
   answers finish the call; BUSY backs off; a redirect or a move of the
   current try is the caller's (it knows the hint). Returns FINISH (it
   finished), REDIRECT or NEXT (the caller moves it: zr_calls_move), or
   BACKOFF (nothing more to do: it backs off, or the answer was to an
   earlier try and the current one goes on). */
zr_kvclient_step_t zr_calls_answer (zr_calls_t *self, zr_call_t *call,
                                    uint32_t try_index, int code, int from,
                                    const char *note, int64_t now);

/* The next try goes to target; a round of moves without progress
   backs off first. The call must not be pinned. */
void zr_calls_move (zr_calls_t *self, zr_call_t *call, int target,
                    size_t n_endpoints, int64_t now);

/* The endpoint after call's target. */
int zr_calls_next (const zr_call_t *call, size_t n_endpoints);

/* The try waiting on call's target will get no answer we can count on
   (why: "sent no answer in time", "dropped the connection"): it stays
   in doubt; the call finishes (pinned, deadline) or moves on. */
void zr_calls_lost (zr_calls_t *self, zr_call_t *call, const char *why,
                    const zr_calls_endpoints_t *eps, int64_t now);

/* Finishes call: DONE, its outcome classified, in the ring. */
void zr_calls_finish (zr_calls_t *self, zr_call_t *call);

/* Timers of every call: SENT past its timer is lost, WAIT becomes
   READY, CONNECT moves on; then send (arg, item, now) for every READY
   call (send calls zr_calls_may_send, then sent or unsent). */
void zr_calls_advance (zr_calls_t *self, const zr_calls_endpoints_t *eps,
                       int64_t now,
                       void (*send) (void *arg, void *item, int64_t now),
                       void *arg);

/* endpoint answered in another protocol (the client tells which): it
   is not a server of the client's kind, and did nothing with what it
   was sent. Every call whose try waits on it is answered "not done"
   with note: it moves to the next endpoint, or finishes if it has no
   other (one endpoint, or pinned to this one). */
void zr_calls_refused (zr_calls_t *self, int endpoint, const char *note,
                       const zr_calls_endpoints_t *eps, int64_t now);

/* endpoint's connection dropped: its SENT calls are lost; it came up:
   its CONNECT calls are READY. Whether a call waits for it to come up. */
void zr_calls_dropped (zr_calls_t *self, int endpoint,
                       const zr_calls_endpoints_t *eps, int64_t now);
void zr_calls_connected (zr_calls_t *self, int endpoint);
bool zr_calls_waiting_for (zr_calls_t *self, int endpoint);

/* Finishes every call in flight ("interrupted"): a signal. */
void zr_calls_interrupt (zr_calls_t *self);

/* The earliest timer of the calls in flight (INT64_MAX: none). */
int64_t zr_calls_next_wake (zr_calls_t *self);

/* The oldest DONE call's item (still DONE), or NULL; the caller takes
   what it needs, then zr_calls_release frees the slot. */
void *zr_calls_done (zr_calls_t *self);
void zr_calls_release (zr_calls_t *self, void *item);

/* For a DONE call not DONE-outcome: why, for people, into error
   (ZR_CALLS_ERROR_MAX bytes): "outcome unknown, it may have taken
   effect: ..." or the last note. "" for DONE. */
void zr_calls_error (const zr_call_t *call, char *error);

/* Calls not FREE. */
uint32_t zr_calls_pending (zr_calls_t *self);

/* Writes printf-style into note (ZR_CALLS_ERROR_MAX bytes). */
void zr_calls_note (char *note, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
