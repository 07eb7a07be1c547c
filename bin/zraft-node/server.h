/*  =========================================================================
    server - zraft-node's server: the client endpoint in front of one
    zraft node running the key/value state machine (bin/lib/kv.h)

    A ROUTER bound at --listen-client takes one frame per request in the
    client protocol (transport/client.h, docs/PROTOCOL.md) and answers
    each with one frame. PUT, DEL and CAS become kv commands submitted to
    the log (zraft_submit), GET a query (zraft_query: linearizable, or
    stale on request), and the RESULT event that follows, matched by
    token (pending.h), becomes the reply. STATUS, TRANSFER, SNAPSHOT and
    FAULT map to zraft_status, zraft_transfer, zraft_snapshot and
    zraft_fault. A frame that does not decode gets MALFORMED, is counted
    and logged (rate-limited), and the server carries on.

    When the node becomes leader it submits an ANNOUNCE of its
    --advertise-client endpoint (and --advertise-bus), so every member's
    directory learns it through the log; a NOT_LEADER reply carries the
    leader's endpoint from that directory.

    Where the loop runs. While it is light it runs on the node's thread
    (zraft_host), which polls the client ROUTER, the events socket and
    the signalfd after its own sockets: a request then reaches the node,
    and its RESULT the loop, without waking another thread (two hand-offs
    less per request; ~16 us each on a VM). While it is busy it runs on
    the main thread, in parallel with the node. The measure is the mean
    number of requests and events a turn of the loop takes with input,
    over windows of 64 turns: 4 or more moves it to its own thread (many
    clients in flight: the hand-offs are shared by batches, and the two
    threads' work overlaps), 2 or less moves it back (one request at a
    time: the hand-offs are its latency). A move is two messages between
    the threads; nothing is read or answered twice (the same handler
    runs in both places, over the same sockets). It moves only while
    RUNNING.

    With --listen-bus, the bus endpoint (bus.h) shares the loop: its
    ROUTER is polled beside the client ROUTER, the node's events it owns
    (RESULTs of bus tokens, SUBSCRIBED, DELIVER, UNSUBSCRIBED) go to it,
    it is ticked for heartbeats, and it stops and drains with the server.

    Stopping (the first SIGTERM or SIGINT, read from the signalfd):

        RUNNING --signal--> HANDING_OVER --ROLE not leader / deadline-->
             \                                                     |
              `--signal, not leader-----> DRAINING <---------------'
                                             |  nothing in flight / deadline
                                             v
                                           DONE: zraft_destroy, answer
                                           what is left, close, exit 0

    | state        | entered by              | leaves when               |
    |--------------|-------------------------|---------------------------|
    | RUNNING      | zr_server_new           | s_stop_begin (a signal)   |
    | HANDING_OVER | s_stop_begin (leader)   | s_on_role or s_stop_tick  |
    | DRAINING     | s_stop_begin, s_on_role,| s_stop_tick: pending      |
    |              | s_stop_tick             | empty or deadline         |
    | DONE         | s_stop_tick             | zr_server_run returns     |
    Each timed state lasts at most one election timeout. From
    HANDING_OVER on, requests other than STATUS get UNAVAILABLE.
    =========================================================================
*/
#ifndef ZR_SERVER_H_INCLUDED
#define ZR_SERVER_H_INCLUDED

#include "options.h"

typedef struct _zr_server_t zr_server_t;

/* Starts the server: binds the client endpoint, then creates the node
   (which locks and recovers the data directory and binds the peer
   endpoint). Returns NULL, after logging why, if any step fails; what
   was started is stopped again, so nothing runs half-way. options is
   copied. Caller owns the result and must destroy it. */
zr_server_t *zr_server_new (const zr_options_t *options);

/* Stops the node if it still runs, answers what is in flight, closes
   the endpoint; NULLs *self_p; idempotent. */
void zr_server_destroy (zr_server_t **self_p);

/* Serves until a signal arrives on signal_fd (zr_sigterm_block's) and
   the stop above completes, the loop on the node's thread or on the
   calling one ("Where the loop runs"). Returns 0 after an orderly stop,
   1 if the node failed under it. */
int zr_server_run (zr_server_t *self, int signal_fd);

#endif
