/*  =========================================================================
    peer - the sockets that carry RPCs between servers

    Each server binds one ROUTER for everything it receives from peers, and
    keeps three DEALERs per peer: its replicator's, identity "n<id>", which
    carries requests (AppendEntries, RequestVote); its persister's,
    identity "r<id>", which carries replies (and anything else that had to
    wait for the disk) once they are durable; and its node's, identity
    "d<id>", which carries what needs neither (heartbeats, and replies
    when nothing is being written: actors/node.h, "Direct sends"). So a
    message is sent by the thread that knows it may be sent, and arrives
    on the thread that acts on it, without a forwarding hop on either
    side. The three links are not ordered with each other; Raft does not
    need them to be. Every socket that reads from the
    network has ZMQ_MAXMSGSIZE set; every send is non-blocking with a
    bounded high-water mark: a full link is unreachable, never waited on.

    This is also the seam where the fault-injecting filter sits: every
    outgoing and incoming RPC of a node passes zr_peer_filter_pass(), which
    today implements per-peer partitions (both directions, set at run time)
    and which the fault-tolerance work extends with drops, delays,
    duplication and reordering.
    =========================================================================
*/
#ifndef ZR_PEER_H_INCLUDED
#define ZR_PEER_H_INCLUDED

#define ZR_PEER_HWM 1000                /* messages queued per link */
#define ZR_PEER_LINGER_MS 0             /* drop unsent frames on close */

#define ZR_PEER_BIND_RETRY_MS 2000      /* how long a busy port is retried */

/* Creates the ROUTER that receives RPCs, bound to endpoint. A port still
   held is retried for ZR_PEER_BIND_RETRY_MS: a server restarted in the
   same process races its previous incarnation, whose listener ZeroMQ
   closes asynchronously on its I/O thread after zsock_destroy. Returns
   NULL (and logs) if the bind fails. Caller owns the result. */
zsock_t *zr_peer_router_new (const char *endpoint);

/* Creates a DEALER with identity "<kind><self_id>" (kind 'n' for
   requests, 'r' for durable replies, 'd' for the node's direct sends)
   connected to endpoint. Returns NULL if the
   endpoint is invalid. Caller owns the result. */
zsock_t *zr_peer_dealer_new (char kind, zr_id_t self_id, const char *endpoint);

/* Sends one frame of size bytes without blocking; on a ROUTER, routing
   id "n<to>" is prepended. Returns 0, or ZR_EBUSY when the link is full
   or the peer is unknown (the frame is dropped). */
int zr_peer_send (zsock_t *sock, zr_id_t to, const void *data, size_t size);

/* Sends one frame of size bytes on a ROUTER to the peer whose routing
   id is routing (routing_size bytes), without blocking, straight from
   the caller's buffers (no czmq message to build). Returns 0, or
   ZR_EBUSY when the peer is unknown (ZMQ_ROUTER_MANDATORY) or its
   queue is full: refused at the routing id, so nothing is queued. */
int zr_peer_send_to (zsock_t *router, const void *routing, size_t routing_size,
                     const void *data, size_t size);

/* As zr_peer_send_to, the frame being head (head_size bytes) followed
   by data (size bytes), copied once into the message. */
int zr_peer_send_joined_to (zsock_t *router, const void *routing,
                            size_t routing_size, const void *head,
                            size_t head_size, const void *data, size_t size);

/* Parses a routing identity "<kind><id>" into an id, storing the kind
   ('n', 'r' or 'd') in *kind; returns 0 if invalid. */
zr_id_t zr_peer_id_parse (const void *data, size_t size, char *kind);

/* The filter seam. Which links of this node are cut, per peer and per
   direction. Owned by the node actor (single thread). */
typedef struct {
    bool cut_out [ZR_NODES_MAX + 1];    /* drop what this node sends to id */
    bool cut_in [ZR_NODES_MAX + 1];     /* drop what this node gets from id */
    uint64_t dropped;                   /* frames dropped by the filter */
} zr_peer_filter_t;

/* Returns true if a message from `from` to `to` may pass the filter of
   node `self`; false (and counts it) if the link is cut. */
bool zr_peer_filter_pass (zr_peer_filter_t *filter, zr_id_t self,
                          zr_id_t from, zr_id_t to);

/* Rate-limited warnings about frames a peer got wrong (STYLE: log bad
   input at warning, rate-limited, with a sanitised hex sample). One
   warning per interval; the ones suppressed meanwhile are counted in the
   next. Owned by one thread. */
#define ZR_PEER_WARN_INTERVAL_MS 1000

typedef struct {
    int64_t next_ms;                    /* earliest time of the next warning */
    uint64_t suppressed;                /* warnings skipped since the last */
} zr_peer_warn_t;

/* Logs "n<self> <who>: dropped frame (<reason>) size=N hex=..." unless a
   warning was logged less than ZR_PEER_WARN_INTERVAL_MS ago. */
void zr_peer_warn (zr_peer_warn_t *limiter, zr_id_t self, const char *who,
                   const void *data, size_t size, const char *reason);

#endif
