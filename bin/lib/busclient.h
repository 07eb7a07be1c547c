/*  =========================================================================
    busclient - zr_busclient_t, the client side of zraft-node's bus
    protocol: publishes (finding the leader, retrying with the same
    producer and seq), commits and reads durable cursors, and holds one
    subscription that outlives the server it is on

    Used by zraft-ctl (pub, sub, cursors) and the process tests. It
    speaks transport/bus.h's protocol over one link (link.h) per bus
    endpoint given or learned from NOT_LEADER; its requests are calls of
    calls.h, as zr_kvclient_t's are.

    Requests (PUBLISH, COMMIT_CURSOR, CURSORS) go to the leader and end
    as zr_kvclient_t's calls do (client.h), with the same outcomes:
    DONE (an ACK or CURSORS_REPLY came), FAILED (certainly not applied),
    UNKNOWN (it may have been). Every try of a PUBLISH carries the same
    producer id (one per client, random unless configured) and seq (one
    per publish call, from 1), so the bus's deduplication applies it
    once however many tries reach it; each try has its own id. The rules
    per answer are zr_kvclient_on_reply's, with the bus codes mapped onto
    the client codes (zr_busclient_code_map): NOT_LEADER follows the
    leader's endpoint, BUSY backs off, UNAVAILABLE and no answer move on,
    UNKNOWN moves on in doubt, STALE ends in doubt, INVALID and
    MALFORMED end. Pipelining: up to config.window requests in flight.

    The subscription (at most one open): zr_busclient_subscribe sends
    SUBSCRIBE to the endpoint asked for (or the first), with
    config.credit, asking for runs of up to ZR_BUSMSG_RUN_MAX deliveries
    per DELIVER; zr_busclient_recv then returns its DELIVERIES one at a
    time in index order, and gives the server back the credit they used
    once it reaches half the total. The client sends a HEARTBEAT when it has sent
    that server nothing for the heartbeat interval the server's OK named.
    The server is dead when nothing came from it for the OK's timeout,
    or its connection dropped: the client subscribes again, on the next
    endpoint, with a new subscription id, from the last index it
    delivered + 1, dropping whatever still arrives for the old id (so
    deliveries are never repeated nor skipped: the server never skips
    one, see docs/PROTOCOL.md B7). Before the first delivery it asks
    again what it asked first (a cursor, FIRST, LAST, an index; NEXT
    becomes the index after the first OK's last). A SUBSCRIBE naming a
    cursor follows NOT_LEADER (only the leader reads cursors). The
    subscription ends (an ENDED event) on OUT_OF_RANGE, or an ERROR
    INVALID or MALFORMED; otherwise the client keeps trying, backing off
    after each round of the endpoints, until unsubscribed.

    Not thread-safe: one zr_busclient_t belongs to one thread; a child
    forked while it exists must exec before it uses ZeroMQ. SIGINT or
    SIGTERM (czmq's zsys_interrupted) ends every request in flight with
    what it has, and recv returns at once.
    =========================================================================
*/
#ifndef ZR_TOOLS_BUSCLIENT_H_INCLUDED
#define ZR_TOOLS_BUSCLIENT_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../transport/bus.h"
#include "client.h"

#define ZR_BUSCLIENT_ENDPOINTS_MAX 16   /* given plus learned from redirects */
#define ZR_BUSCLIENT_WINDOW_MAX ZR_KVCLIENT_WINDOW_MAX  /* requests in flight */
#define ZR_BUSCLIENT_TRIES_MAX ZR_KVCLIENT_TRIES_MAX    /* of one request */
#define ZR_BUSCLIENT_ERROR_MAX ZR_KVCLIENT_ERROR_MAX    /* event.error */

typedef struct {
    zr_kvclient_config_t calls;         /* requests: deadline, try and
                                           connect timeouts, back-off,
                                           window (client.h's defaults) */
    uint32_t credit;                    /* subscription credit, 1..
                                           ZR_BUSMSG_CREDIT_MAX; default 256 */
    uint64_t producer;                  /* publications' producer id; 0:
                                           a random one */
} zr_busclient_config_t;

/* Where and what to subscribe. Strings are copied. */
typedef struct {
    zr_busmsg_from_t from_mode;            /* INDEX, FIRST, LAST, NEXT */
    uint64_t from;                      /* INDEX: the first index wanted */
    const char *prefix;                 /* NULL or "": every subject */
    const char *cursor;                 /* NULL or "": none; else resume it
                                           (from_mode applies if it does
                                           not exist yet) */
    const char *endpoint;               /* NULL: the first endpoint given */
} zr_busclient_sub_t;

typedef enum {
    ZR_BUSCLIENT_RESULT = 1,            /* a request ended */
    ZR_BUSCLIENT_DELIVERY = 2,          /* a publication of the subscription */
    ZR_BUSCLIENT_SUBSCRIBED = 3,        /* a server took the subscription (at
                                           the start, and after each move) */
    ZR_BUSCLIENT_ENDED = 4              /* the subscription is over */
} zr_busclient_event_type_t;

/* A DELIVER whose records several DELIVERY events hold (a reference
   count; busclient.c). */
typedef struct _zr_busclient_run_t zr_busclient_run_t;

/* What zr_busclient_recv returns. Release it with
   zr_busclient_event_release. */
typedef struct {
    zr_busclient_event_type_t type;
    uint64_t token;                     /* RESULT: the caller's */
    int request;                        /* RESULT: ZR_BUSMSG_PUBLISH,
                                           _COMMIT_CURSOR or _CURSORS */
    zr_kvclient_outcome_t outcome;      /* RESULT */
    uint64_t producer, seq;             /* RESULT of a PUBLISH: its pair */
    uint32_t tries;                     /* RESULT: tries that left */
    zr_busmsg_t msg;                   /* the message behind the event:
                                           RESULT: the last answer (ACK,
                                           CURSORS_REPLY, NOT_LEADER, ERROR;
                                           type 0 if none came); DELIVERY:
                                           one record of a DELIVER (as a
                                           DELIVER of one record);
                                           SUBSCRIBED: the OK; ENDED:
                                           OUT_OF_RANGE or ERROR. Its
                                           bytes point into frame, or
                                           into run's frame */
    char endpoint [ZR_BUSMSG_ENDPOINT_MAX + 1];    /* who sent msg */
    char error [ZR_BUSCLIENT_ERROR_MAX];        /* RESULT not DONE, ENDED:
                                           why, for people */
    zframe_t *frame;                    /* owns msg's bytes, or NULL */
    zr_busclient_run_t *run;            /* DELIVERY: a reference to the
                                           run holding msg's bytes, when
                                           frame is NULL */
} zr_busclient_event_t;

typedef struct _zr_busclient_t zr_busclient_t;

/* Fills *config with the defaults above. */
void zr_busclient_config_defaults (zr_busclient_config_t *config);

/* Creates a client for bus endpoints [0..n) (1..ZR_BUSCLIENT_ENDPOINTS_MAX,
   each at most ZR_BUSMSG_ENDPOINT_MAX bytes) and starts connecting; config
   may be NULL (zero fields take their default). Returns NULL if an
   argument is out of range (a line on stderr names it) or a socket
   cannot be made. Caller owns the result and must destroy it. */
zr_busclient_t *zr_busclient_new (const char *const *endpoints, size_t n,
                                  const zr_busclient_config_t *config);
/* Closes everything (an open subscription is dropped without a word:
   its server expires it); NULLs *self_p; idempotent. */
void zr_busclient_destroy (zr_busclient_t **self_p);

/* Start a request and return at once: publish size bytes at data (copied)
   under subject (the next seq of the client's producer); commit cursor
   name at index; read every cursor. Returns 0; ZR_EBUSY if window
   requests are in flight; ZR_EINVAL if the request breaks bus.h's
   limits. The RESULT event carries token. */
int zr_busclient_publish (zr_busclient_t *self, const char *subject,
                          const void *data, size_t size, uint64_t token);
int zr_busclient_commit (zr_busclient_t *self, const char *name,
                         uint64_t index, uint64_t token);
int zr_busclient_cursors (zr_busclient_t *self, uint64_t token);

/* Opens the subscription (see above). Returns 0; ZR_EINVAL if one is
   open, the options break bus.h's limits or the endpoint is not usable
   (ZR_BUSCLIENT_ENDPOINTS_MAX reached). */
int zr_busclient_subscribe (zr_busclient_t *self,
                            const zr_busclient_sub_t *sub);

/* Closes the subscription, if any (UNSUBSCRIBE to its server, best
   effort); its remaining DELIVERs are dropped. */
void zr_busclient_unsubscribe (zr_busclient_t *self);

/* Drives the requests in flight and the subscription for up to
   timeout_ms (0: do not wait; -1: until an event) and returns 0 with
   *event filled (the caller releases it); ZR_EBUSY if none came in time
   or a signal arrived; ZR_EINVAL if nothing is in flight and no
   subscription is open. Returning a DELIVERY counts it as consumed
   (credit goes back to the server). */
int zr_busclient_recv (zr_busclient_t *self, zr_busclient_event_t *event,
                       int timeout_ms);

/* Frees what *event owns and zeroes it; safe to call twice. */
void zr_busclient_event_release (zr_busclient_event_t *event);

/* Requests in flight. */
uint32_t zr_busclient_pending (zr_busclient_t *self);

/* The producer id of this client's publications. */
uint64_t zr_busclient_producer (zr_busclient_t *self);

/* The endpoint believed to lead, or NULL; the endpoint the subscription
   is on (or being asked), or NULL. Static strings owned by the client. */
const char *zr_busclient_leader (zr_busclient_t *self);
const char *zr_busclient_sub_endpoint (zr_busclient_t *self);

/* Why a server last refused to take the subscription, so that it moved
   on (it speaks the client protocol, say), or "" (none, or one took
   it since). A static string owned by the client. */
const char *zr_busclient_sub_problem (zr_busclient_t *self);

/* SUBSCRIBEs that left since the client was created (for tests: more
   than one means the subscription moved or was asked again). */
uint64_t zr_busclient_subscribes (zr_busclient_t *self);

/* The client protocol code (zr_client_code_t) a bus answer stands for,
   so zr_kvclient_on_reply's rules apply: ACK and CURSORS_REPLY -> OK,
   NOT_LEADER -> NOT_LEADER, ERROR: BUSY -> BUSY, INVALID -> INVALID,
   UNAVAILABLE -> UNAVAILABLE, UNKNOWN -> UNKNOWN, STALE ->
   SESSION_EXPIRED (ends, in doubt), MALFORMED (and anything else) ->
   MALFORMED. type is a zr_busmsg_type_t, code the ERROR's. */
int zr_busclient_code_map (int type, uint32_t code);

#endif
