/*  =========================================================================
    client - zr_kvclient_t, the client side of zraft-node's client
    protocol: finds the leader, retries, and says what a request did

    Used by zraft-ctl, zraft-bench's kv mode and the process tests. It
    speaks transport/client.h's protocol over one DEALER per server
    endpoint and turns "send a request to a cluster" into one of three
    outcomes a caller can act on:

    | outcome  | meaning                                | zraft-ctl exit |
    |----------|----------------------------------------|----------------|
    | DONE     | it took effect (a reply said OK)       | 0              |
    | FAILED   | it certainly did not take effect       | 1              |
    | UNKNOWN  | it may have: a request left and no     | 2              |
    |          | later reply settled it                 |                |

    A call is one request, carried by one or more tries. Every try of a
    call sends the SAME client_id and seq (PUT, DEL, CAS), so the server's
    session (Raft thesis §6.3) applies it at most once however many tries
    reach it; each try has its own request_id, so a late reply to an
    earlier try is still recognised and can settle the call.

    Retry rules (zr_kvclient_on_reply holds the table for replies):
    - NOT_LEADER: go to leader_endpoint when the reply names one (it is
      added to the endpoints if new, and remembered as the leader), else
      to the next endpoint.
    - BUSY: back off (doubling, from backoff_ms_min to backoff_ms_max),
      then the same endpoint again.
    - UNAVAILABLE: the next endpoint. UNKNOWN: the leader changed under
      the request; the same request again, to the new leader.
    - No reply within try_timeout_ms, or the connection to the server
      dropped while a try waited (a zmonitor DISCONNECTED event): the
      try stays in doubt and the request goes to the next endpoint.
    - A server the DEALER cannot reach (ZMQ_IMMEDIATE: nothing is queued
      for a connection that is not up) within connect_timeout_ms: the
      request never left; the next endpoint.
    - After moving across as many endpoints as are known without an
      answer that makes progress, the call backs off before going on.
    - INVALID, MALFORMED, SESSION_EXPIRED: the call ends.
    The call ends at its deadline (timeout_ms after it started) with
    whatever its tries established, classified by zr_kvclient_classify:
    DONE if any try got OK; else UNKNOWN if any try was sent and never
    answered, or was answered UNKNOWN or SESSION_EXPIRED; else FAILED.

    A call may also be pinned to one endpoint (zr_kvclient_send_at): no
    redirect, no other endpoint, one try unless the server says BUSY.
    zraft-ctl uses that to fan STATUS and FAULT out to every server.

    Pipelining: zr_kvclient_send starts a call and returns at once;
    zr_kvclient_recv drives every call in flight (sends, retries, back-
    off) and returns the first that completes, with the caller's token.
    At most config.window calls are in flight. Each call slot has its own
    client session (a random client_id with its own seq numbers), so one
    client_id never has two writes outstanding: the server's session
    keeps only the last seq, and a second write overtaking a retried
    first one would otherwise get SESSION_EXPIRED. zr_kvclient_call is
    send + recv for one call at a time.

    Not thread-safe: one zr_kvclient_t belongs to one thread. It owns
    its sockets (and one zmonitor actor per endpoint); a child forked
    while it exists must exec before it uses ZeroMQ. The leader it found
    is remembered across calls. SIGINT or SIGTERM (czmq's
    zsys_interrupted) ends every call in flight with what it has.
    =========================================================================
*/
#ifndef ZR_TOOLS_CLIENT_H_INCLUDED
#define ZR_TOOLS_CLIENT_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../transport/client.h"

/* Limits. */
#define ZR_KVCLIENT_ENDPOINTS_MAX 16    /* given plus learned from redirects */
#define ZR_KVCLIENT_WINDOW_MAX 4096     /* calls in flight */
#define ZR_KVCLIENT_TRIES_MAX 128       /* tries of one call */
#define ZR_KVCLIENT_ERROR_MAX 512       /* result.error, with its NUL */
#define ZR_KVCLIENT_TIMEOUT_MS_MAX 86400000     /* one day */

/* A request_id is (serial << 20) | (slot << 8) | try: these must fit. */
_Static_assert (ZR_KVCLIENT_WINDOW_MAX <= (1 << 12), "slot in 12 bits");
_Static_assert (ZR_KVCLIENT_TRIES_MAX <= (1 << 8), "try in 8 bits");

typedef enum {
    ZR_KVCLIENT_DONE = 0,               /* it took effect */
    ZR_KVCLIENT_FAILED = 1,             /* it certainly did not */
    ZR_KVCLIENT_UNKNOWN = 2             /* it may have */
} zr_kvclient_outcome_t;

/* What one try of a call is known to have done. */
typedef enum {
    ZR_KVCLIENT_TRY_SENT = 1,           /* left, no reply yet: in doubt */
    ZR_KVCLIENT_TRY_NO = 2,             /* a reply said: not applied */
    ZR_KVCLIENT_TRY_MAYBE = 3,          /* a reply said: maybe applied */
    ZR_KVCLIENT_TRY_OK = 4              /* a reply said OK */
} zr_kvclient_try_t;

/* What a call does after a reply to its current try. */
typedef enum {
    ZR_KVCLIENT_FINISH = 1,             /* the call ends, classified */
    ZR_KVCLIENT_BACKOFF = 2,            /* back off, then the same endpoint */
    ZR_KVCLIENT_REDIRECT = 3,           /* leader_endpoint if any, else next */
    ZR_KVCLIENT_NEXT = 4                /* the next endpoint */
} zr_kvclient_step_t;

typedef struct {
    int timeout_ms;                     /* a call's deadline; default 5,000 */
    int try_timeout_ms;                 /* wait for one reply; default
                                           timeout_ms / 4 within [200, 2000] */
    int connect_timeout_ms;             /* wait for a connection; default 250 */
    int backoff_ms_min;                 /* first back-off; default 10 */
    int backoff_ms_max;                 /* back-off cap; default 320 */
    uint32_t window;                    /* calls in flight; default 1 */
} zr_kvclient_config_t;

/* The end of a call. Release it with zr_kvclient_result_release. */
typedef struct {
    uint64_t token;                     /* the caller's, from send */
    zr_kvclient_outcome_t outcome;
    int code;                           /* the last reply's code, -1 if
                                           no reply arrived */
    zr_client_reply_t reply;            /* that reply (code >= 0), its
                                           bytes point into frame */
    char endpoint [ZR_CLIENT_ENDPOINT_MAX + 1];     /* who sent it */
    uint32_t tries;                     /* requests that left */
    uint64_t client_id, seq;            /* the session the call used (writes) */
    char error [ZR_KVCLIENT_ERROR_MAX]; /* FAILED, UNKNOWN: why, for people */
    bool refused;                       /* it ended because endpoint (the
                                           last one tried) answered in
                                           another protocol: it is no
                                           client endpoint */
    zframe_t *frame;                    /* owns the reply's bytes */
} zr_kvclient_result_t;

typedef struct _zr_kvclient_t zr_kvclient_t;

/* Fills *config with the defaults above. */
void zr_kvclient_config_defaults (zr_kvclient_config_t *config);

/* Fills the zero fields of *config with the defaults (try_timeout_ms
   from timeout_ms); returns 0, or -1 with a line on stderr starting
   with who if a field is out of range. */
int zr_kvclient_config_complete (zr_kvclient_config_t *config,
                                 const char *who);

/* Creates a client for endpoints [0..n) (n >= 1, at most
   ZR_KVCLIENT_ENDPOINTS_MAX, each a ZeroMQ endpoint of at most
   ZR_CLIENT_ENDPOINT_MAX bytes) and starts connecting to them; config
   may be NULL for the defaults (zero fields take their default too).
   Returns NULL if an argument is out of range (with a line on stderr
   naming it) or a socket cannot be created. Caller owns the result and
   must destroy it. */
zr_kvclient_t *zr_kvclient_new (const char *const *endpoints, size_t n,
                                const zr_kvclient_config_t *config);
void zr_kvclient_destroy (zr_kvclient_t **self_p);

/* Starts a call for request (copied: its bytes need not outlive the
   call) and returns at once. request->request_id is ignored. For PUT,
   DEL and CAS, a request->client_id of 0 means "the slot's session"
   (client_id and seq filled in); a non-zero one is sent as given, seq
   included (for tests of retries across calls). Returns 0; ZR_EBUSY if
   window calls are in flight already; ZR_EINVAL if the request breaks
   transport/client.h's limits (the encoder's verdict). */
int zr_kvclient_send (zr_kvclient_t *self, const zr_client_request_t *request,
                      uint64_t token);

/* As zr_kvclient_send, with its own timeout_ms (0: the config's), and
   pinned to endpoint (added to the client's endpoints if new; ZR_EINVAL
   if the table is full or the string is not a usable endpoint); with
   endpoint NULL, not pinned. */
int zr_kvclient_send_at (zr_kvclient_t *self, const char *endpoint,
                         const zr_client_request_t *request, int timeout_ms,
                         uint64_t token);

/* Drives every call in flight for up to timeout_ms (0: do not wait,
   -1: until one completes) and returns 0 with *result filled by the
   first call that completed (the caller releases it); ZR_EBUSY if none
   completed in time; ZR_EINVAL if no call is in flight. */
int zr_kvclient_recv (zr_kvclient_t *self, zr_kvclient_result_t *result,
                      int timeout_ms);

/* One call, blocking until it completes: send + recv. Returns 0 with
   *result filled (the caller releases it), or send's error. Asserts that
   no other call is in flight. */
int zr_kvclient_call (zr_kvclient_t *self, const zr_client_request_t *request,
                      zr_kvclient_result_t *result);
int zr_kvclient_call_at (zr_kvclient_t *self, const char *endpoint,
                         const zr_client_request_t *request, int timeout_ms,
                         zr_kvclient_result_t *result);

/* Frees what *result owns and zeroes it; safe to call twice. */
void zr_kvclient_result_release (zr_kvclient_result_t *result);

/* Calls in flight. */
uint32_t zr_kvclient_pending (zr_kvclient_t *self);

/* The endpoint believed to lead (a static string owned by the client,
   valid until it is destroyed), or NULL if none is known. */
const char *zr_kvclient_leader (zr_kvclient_t *self);

/* Pure rules, exposed for tests. */

/* For a reply with code (a zr_client_code_t) to a call's current try:
   sets *try_state to what the reply says about that try and returns
   what the call does next. pinned: the call may not change endpoint
   (NOT_LEADER, UNAVAILABLE and UNKNOWN then end it). */
zr_kvclient_step_t zr_kvclient_on_reply (int code, bool pinned,
                                         zr_kvclient_try_t *try_state);

/* The outcome of a call whose tries are in states [0..n). */
zr_kvclient_outcome_t zr_kvclient_classify (const uint8_t *tries, uint32_t n);

/* "done", "failed", "unknown". */
const char *zr_kvclient_outcome_name (zr_kvclient_outcome_t outcome);

#endif
