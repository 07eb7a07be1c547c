/*  =========================================================================
    peer - the sockets that carry RPCs between servers

    Each server binds one ROUTER for everything it receives from peers, and
    keeps three DEALERs per peer: its replicator's, kind 'n', which
    carries requests (AppendEntries, RequestVote); its persister's,
    kind 'r', which carries replies (and anything else that had to
    wait for the disk) once they are durable; and its node's, kind 'd',
    which carries what needs neither (heartbeats, and replies
    when nothing is being written: actors/node.h, "Direct sends"). So a
    message is sent by the thread that knows it may be sent, and arrives
    on the thread that acts on it, without a forwarding hop on either
    side. The three links are not ordered with each other; Raft does not
    need them to be. Every socket that reads from the
    network has ZMQ_MAXMSGSIZE set; every send is non-blocking with a
    bounded high-water mark: a full link is unreachable, never waited on.

    Identities. A DEALER's routing identity names its kind, the server's
    id, its cluster and its instance: "n2-<cluster>-<instance>", the last
    two as 16 lowercase hex digits each. The cluster is a hash of every
    server's id and endpoint (zr_peer_cluster), so the receiver refuses a
    process that claims a member's id but was given other servers: a
    member of another cluster, or one started with the wrong list. The
    instance is drawn at random when a node starts, so two processes
    never share a routing id: the ROUTER's hand-over (a reconnection
    with a known identity takes the route, which a DEALER reconnecting
    before this side saw its old connection die needs) happens only
    between connections of one process, and a second process can never
    take a member's route and leave that member's connection dead. A
    restarted server has a new identity; its old connections close with
    its process, or, if its host vanished, by TCP keepalive. Replies go to the endpoint the
    configuration names, never back along the route a request came by,
    so a process elsewhere that claims a member's id hears nothing.

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
#define ZR_PEER_KEEPALIVE_IDLE_S 10     /* TCP keepalive on inbound links: */
#define ZR_PEER_KEEPALIVE_INTVL_S 2     /* a host silent 10 s is probed every */
#define ZR_PEER_KEEPALIVE_CNT 5         /* 2 s, and cut after 5 unanswered */

/* Creates the ROUTER that receives RPCs, bound to endpoint. A port still
   held is retried for ZR_PEER_BIND_RETRY_MS: a server restarted in the
   same process races its previous incarnation, whose listener ZeroMQ
   closes asynchronously on its I/O thread after zsock_destroy. Returns
   NULL (and logs) if the bind fails. Caller owns the result. */
zsock_t *zr_peer_router_new (const char *endpoint);

/* Who a link speaks for (see Identities above). */
typedef struct {
    zr_id_t id;                         /* the server, 1..ZR_NODES_MAX */
    uint64_t cluster;                   /* zr_peer_cluster of its servers */
    uint64_t instance;                  /* drawn when the server started */
} zr_peer_who_t;

/* Bytes of the longest routing identity: kind, id, and two 16-digit
   hex numbers with their dashes. */
#define ZR_PEER_IDENTITY_MAX (1 + 1 + 1 + 16 + 1 + 16)

/* The cluster's identity: a 64-bit FNV-1a hash of "<id>=<endpoint>\n"
   for each of the n servers, in increasing order of id, so the order
   they are listed in does not matter and their endpoints do. */
uint64_t zr_peer_cluster (const zr_id_t *ids, const char *const *endpoints,
                          uint32_t n);

/* 64 random bits (czmq's zuuid reads the system's random source), never
   0: a server's instance, and the clients' session and producer ids. */
uint64_t zr_random_id (void);

/* Writes the routing identity of a link of kind ('n' for requests, 'r'
   for durable replies, 'd' for the node's direct sends) speaking for
   who into text (ZR_PEER_IDENTITY_MAX + 1 bytes); returns its length. */
size_t zr_peer_identity (char kind, const zr_peer_who_t *who, char *text);

/* Why a bind failed with libzmq's errno err, in an operator's words:
   libzmq answers ENODEV ("No such device") for a host that does not
   resolve to an address of this machine's interfaces, and the kernel
   EADDRNOTAVAIL for an address none has. Static text. Used for
   zraft-node's client and bus endpoints too. */
const char *zr_bind_strerror (int err);

/* Creates a DEALER with that identity, connected to endpoint. Returns
   NULL if the endpoint is invalid. Caller owns the result. */
zsock_t *zr_peer_dealer_new (char kind, const zr_peer_who_t *who,
                             const char *endpoint);

/* Sends one frame of size bytes on a DEALER without blocking. Returns
   0, or ZR_EBUSY when the link is full or not connected (the frame is
   dropped). */
int zr_peer_send (zsock_t *dealer, const void *data, size_t size);

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

/* Parses a routing identity (exactly the form zr_peer_identity writes)
   into *who and *kind ('n', 'r' or 'd'); returns the id, or 0 if it is
   not one (then *who and *kind are unspecified). */
zr_id_t zr_peer_id_parse (const void *data, size_t size, char *kind,
                          zr_peer_who_t *who);

/* True if data is the routing identity of a zraft before identities
   named the cluster ("<kind><digit>"): a member left on an older build. */
bool zr_peer_id_legacy (const void *data, size_t size);

/* The answer to a frame that reached a peer endpoint from a process
   that is not a member (no zraft peer identity: a client given a peer
   endpoint by mistake), in the protocol the frame speaks, so the
   client says what is wrong at once instead of timing out: a bus
   ERROR MALFORMED with id 0 to a bus message, else a client reply
   MALFORMED with request_id and type 0; either carries text (cut to
   the protocol's limit). Returns 0 and a frame malloc'd for the
   caller (*data, *size), or ZR_ENOMEM. */
int zr_peer_stranger_answer (const uint8_t *frame, size_t frame_size,
                             const char *text, uint8_t **data, size_t *size);

/* Strangers answered a second at most, per server: past it, their
   frames are dropped unanswered (one encode and send each otherwise). */
#define ZR_PEER_STRANGER_ANSWERS 100

/* How long two instances of one id must both be heard before they are
   called twins (zr_peer_heard): ten election timeouts, and
   ZR_PEER_TWINS_MIN_MS at least, longer than a restarted member's old
   queued frames take to be read unless its peer is very far behind
   (the error says "if this goes on"). */
#define ZR_PEER_TWINS_ELECTIONS 10
#define ZR_PEER_TWINS_MIN_MS 5000

/* Twins: two processes that speak as one member (started with the
   same id and servers: a copied configuration, a duplicated container).
   Each draws its own instance, so a member hears both. A restarted
   member's old instance falls silent once its queued frames are read;
   twins go on being heard side by side. zr_peer_heard records a frame
   of instance heard at now, and returns true when the two instances
   last heard of this id have both been heard for span_ms or more since
   the later of them was first heard: a restart never looks like that
   when span_ms is longer than a queue takes to drain. One per peer id,
   owned by one thread; zero-initialised. */
typedef struct {
    uint32_t n;                         /* instances held: 0..2 */
    uint64_t instance [2];
    int64_t first_ms [2];               /* when each was first heard */
    int64_t last_ms [2];                /* and last */
} zr_peer_heard_t;

bool zr_peer_heard (zr_peer_heard_t *self, uint64_t instance, int64_t now,
                    int64_t span_ms);

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
/* The same for frames from another cluster's process: it retries every
   election timeout for as long as it runs, so once in this long. */
#define ZR_PEER_FOREIGN_WARN_MS 30000

typedef struct {
    int64_t next_ms;                    /* earliest time of the next warning */
    uint64_t suppressed;                /* warnings skipped since the last */
} zr_peer_warn_t;

/* Logs "n<self> <who>: dropped frame (<reason>) size=N hex=..." unless a
   warning was logged less than ZR_PEER_WARN_INTERVAL_MS ago. */
void zr_peer_warn (zr_peer_warn_t *limiter, zr_id_t self, const char *who,
                   const void *data, size_t size, const char *reason);

#endif
