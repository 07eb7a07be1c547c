/*  =========================================================================
    link - a client's connection to one server: a DEALER with ZMTP
    heartbeats and a monitor that reports when it drops

    What zr_kvclient_t (client.h) and zr_busclient_t (busclient.h) share:
    each keeps one link per server endpoint. The DEALER is ZMQ_IMMEDIATE
    (nothing is queued for a connection that is not up, so a send says
    at once whether the server is reachable), sends ZMTP PINGs and drops
    a connection whose PONGs stop, reconnects quickly, and never blocks
    at close (linger 0). The monitor actor reports CONNECTED (a TCP
    connection is up: a server that accepted it but never answers its
    handshake is stopped or stuck, not absent) and DISCONNECTED on its
    own socket, which the owner polls beside the DEALER.

    Not thread-safe: a link belongs to its owner's thread.
    =========================================================================
*/
#ifndef ZR_TOOLS_LINK_H_INCLUDED
#define ZR_TOOLS_LINK_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZR_LINK_HEARTBEAT_IVL_MS 250    /* ZMTP PING to the server */
#define ZR_LINK_HEARTBEAT_TIMEOUT_MS 1000   /* no PONG this long: drop it */
#define ZR_LINK_RECONNECT_IVL_MS 100    /* to a server that went away */

typedef struct {
    char *name;                         /* the endpoint, owned */
    zsock_t *dealer;                    /* connected to it, ZMQ_IMMEDIATE */
    zactor_t *monitor;                  /* reports dealer's CONNECTED and
                                           DISCONNECTED */
    bool accepted;                      /* a TCP connection is up (the
                                           server's kernel accepted it), its
                                           ZMTP handshake done or not */
    bool answered;                      /* it answered something in this
                                           client's protocol: it reads it,
                                           so a MALFORMED of id 0 from it is
                                           about one frame, not all */
} zr_link_t;

/* Opens *link (all zero) to endpoint name (1..max_name bytes): queues of
   hwm messages each way, frames up to frame_max bytes. Returns 0, or -1
   with *link left closed if name is not an endpoint ZeroMQ can connect
   to or a socket cannot be made. */
int zr_link_open (zr_link_t *link, const char *name, size_t max_name,
                  int hwm, size_t frame_max);

/* Closes what *link holds (the monitor first); idempotent. */
void zr_link_close (zr_link_t *link);

/* Reads the events waiting on the monitor, keeping link->accepted
   (CONNECTED sets it, DISCONNECTED clears it): true if one reported
   DISCONNECTED. */
bool zr_link_disconnected (zr_link_t *link);

/* Takes one message waiting on the DEALER: its frame (the caller owns
   it), or NULL when none is waiting. A message of several frames is not
   a message of the protocols here: it is dropped whole, *dropped counts
   it, and the next one is tried. */
zframe_t *zr_link_recv (zr_link_t *link, uint64_t *dropped);

/* Polls links [0..n) (n <= 64) for input, and for output where
   want_out [i], and their monitors, up to timeout_ms (0: no wait):
   fills revents [i] with the DEALER's events and dropped [i] with
   whether its monitor reported DISCONNECTED (that report read here).
   Returns false if nothing happened (or a signal came). */
bool zr_link_poll (zr_link_t *links, size_t n, const bool *want_out,
                   int64_t timeout_ms, short *revents, bool *dropped);

/* A frame from a server that is no answer of the protocol its client
   speaks (bus: the bus protocol, else the client protocol), or a
   MALFORMED about a request or message of id 0: true, with why set
   (why_size bytes, the endpoint's name not in it), if it says that its
   sender cannot read that protocol at all, so that nothing sent there
   can succeed:
   - an answer in the other protocol: "answered in the bus protocol: it
     is a bus endpoint, not a client endpoint" (or client, not bus);
   - from an endpoint that never answered this client (answered false,
     zr_link_t.answered), a MALFORMED of id 0 in this protocol: a peer
     endpoint's answer to strangers ("could not read the request: TEXT",
     "could not read what was sent: TEXT"). From one that answered
     before, such a MALFORMED is about one frame: false.
   False for anything else (garbage, a late or stray reply). */
bool zr_link_unreadable (const void *data, size_t size, bool bus, bool answered,
                         char *why, size_t why_size);

/* Copies n byte strings (*datas [i], sizes [i] bytes) into one buffer
   (malloc'd, never NULL: the caller frees it) and points each *datas [i]
   at its copy (NULL when empty): a request kept across its tries. */
uint8_t *zr_link_copy_bytes (const uint8_t **datas [], const size_t *sizes,
                             size_t n);

#endif
