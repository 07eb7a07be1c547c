/*  =========================================================================
    bus - zraft-node's bus endpoint: the bus protocol (transport/bus.h,
    docs/PROTOCOL.md B1-B11) in front of the node's message bus

    A ROUTER bound at --listen-bus takes one frame per message. Requests
    map onto the library and are answered from their RESULT events,
    matched by token (a pending.h table of its own; tokens carry
    ZR_BUSEND_TOKEN_BIT so the server can route them here):
    | client message | library call                 | answer            |
    |----------------|------------------------------|-------------------|
    | PUBLISH (a run | zraft_publish_many, with the | ACK, NOT_LEADER,  |
    | of 1..256)     | wake-up's other publications | ERROR, each id    |
    | COMMIT_CURSOR  | zraft_cursor_commit          | ACK, NOT_LEADER,  |
    |                |                              | ERROR             |
    | CURSORS        | zraft_cursors (linearizable) | CURSORS_REPLY,    |
    |                |                              | NOT_LEADER, ERROR |
    | SUBSCRIBE      | [zraft_cursors, then         | OK, OUT_OF_RANGE, |
    |                | zraft_cursor_find], then     | NOT_LEADER, ERROR |
    |                | zraft_subscribe              | then DELIVERs     |
    | CREDIT         | zraft_credit                 | (none)            |
    | UNSUBSCRIBE    | zraft_unsubscribe            | (none)            |
    | HEARTBEAT      | (the session is alive)       | (none)            |
    The library's SUBSCRIBED, DELIVER and UNSUBSCRIBED events become OK
    or OUT_OF_RANGE, DELIVER, and OUT_OF_RANGE or ERROR; the deliveries
    of one burst of events go out as runs, one DELIVER per subscription
    (up to the run_max its SUBSCRIBE named: zr_busend_flush); the ACKs
    of a client's publications that came in PUBLISH runs go out joined
    in ACK runs, consecutive ids (bus.c, Invariant (7)).

    Sessions. A client (a routing id) with at least one subscription has
    a session: at most ZR_BUSEND_SESSION_SUBS_MAX subscriptions, its
    client ids distinct. A session that sent nothing for --bus-timeout
    (less any time this server did not run: its sweep late by over a
    heartbeat) is closed (its subscriptions unsubscribed); one that was
    sent nothing for --bus-heartbeat gets a HEARTBEAT with the last
    committed index.
    The ROUTER is ZMQ_ROUTER_MANDATORY with a zero send timeout: a frame
    that cannot be queued for a session (the client is gone, or its
    queue is full) closes the session instead of being dropped, so a
    subscription's DELIVERs are always a prefix of what it should get
    (the client resumes from its last index + 1, PROTOCOL.md B7).

    Stopping: zr_busend_stop ends every subscription (ERROR UNAVAILABLE)
    and refuses what comes after; zr_busend_node_gone answers what the
    destroyed node left: UNKNOWN for publications and commits, else
    UNAVAILABLE.

    All on the server's thread (the poller owner): no locks.
    =========================================================================
*/
#ifndef ZR_NODE_BUS_H_INCLUDED
#define ZR_NODE_BUS_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../include/zraft.h"
#include "kv.h"
#include "options.h"

#define ZR_BUSEND_TOKEN_BIT (1ULL << 63)    /* in the tokens of bus requests */
#define ZR_BUSEND_SESSION_SUBS_MAX 64   /* subscriptions per client socket */
#define ZR_BUSEND_PENDING_MAX 4096      /* bus requests in the library */
#define ZR_BUSEND_SUBS_MAX 1024u        /* subscriptions on the node (its
                                           config.subs_max) */

typedef struct _zr_busend_t zr_busend_t;

/* Binds options->listen_bus (which must be set). Returns NULL after
   logging why if it cannot. options and kv (the member directory, for
   the leader's bus endpoint) are borrowed and must outlive the result.
   Caller owns the result and must destroy it. */
zr_busend_t *zr_busend_new (const zr_options_t *options, zr_kv_t *kv);

/* Closes the endpoint (queued frames get S_LINGER_MS to leave) and
   frees everything; NULLs *self_p; idempotent. Call
   zr_busend_node_gone first if a node was started. */
void zr_busend_destroy (zr_busend_t **self_p);

/* The ROUTER, for the server's poller. */
zsock_t *zr_busend_socket (zr_busend_t *self);

/* The node is running: requests go to it (borrowed until
   zr_busend_node_gone). */
void zr_busend_start (zr_busend_t *self, zraft_t *node);

/* Reads and serves what the ROUTER holds, at most a batch; returns the
   requests read. */
size_t zr_busend_handle (zr_busend_t *self);

/* Takes an event of the bus (a RESULT whose token has
   ZR_BUSEND_TOKEN_BIT, SUBSCRIBED, DELIVER, UNSUBSCRIBED): returns
   false for any other. The caller still releases the event. */
bool zr_busend_on_event (zr_busend_t *self, const zraft_event_t *event);

/* The burst of events the server drained ends: sends the deliveries
   gathered from it, one DELIVER per subscription's run, and the open
   ACK run (bus.c, Invariants (6) and (7)). Call it after zraft_recv
   says EAGAIN, and before zr_busend_node_gone. */
void zr_busend_flush (zr_busend_t *self);

/* The node's role and leader, from its ROLE events. */
void zr_busend_on_role (zr_busend_t *self, zraft_role_t role,
                        uint32_t leader);

/* Heartbeats due, silent sessions closed, refused credit retried.
   Returns the milliseconds until it needs calling again, -1 if never
   (no session). Cheap when nothing is due. */
int zr_busend_tick (zr_busend_t *self);

/* Requests in the library, not answered yet. */
uint32_t zr_busend_pending (zr_busend_t *self);

/* The server stops: every subscription ends with ERROR UNAVAILABLE, new
   messages get UNAVAILABLE. */
void zr_busend_stop (zr_busend_t *self);

/* The node was destroyed: answers what it left (above) and forgets it. */
void zr_busend_node_gone (zr_busend_t *self);

#endif
