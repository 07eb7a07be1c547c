/*  =========================================================================
    poller - a thread's wait on its sockets, a few system calls per wake

    zpoller_wait (czmq) calls zmq_poll, which asks every socket for
    ZMQ_EVENTS before it sleeps and again after it wakes. In libzmq 4.3
    each of those asks is a poll() and a getpid() on the socket's mailbox
    when the socket holds nothing, so one wait over the node's eight
    sockets makes ~34 system calls (~15 us of CPU on the project's VM)
    and the burst after it nine more; the node waits two or three times
    per linearizable read, its followers once. This poller keeps what the
    actors rely on from zpoller (the first ready reader in the order they
    were added; NULL on a timeout or when the context ends) and asks
    ZMQ_EVENTS only of the readers that may hold input. It sits in the
    transport layer so that zraft-node's server loop uses it too.

    Design notes. A reader is a czmq socket or actor; its ZMQ_FD is the
    read end of its mailbox's signaler, which libzmq makes readable when
    a command reaches the socket: a message written to a pipe the socket
    had seen empty (activate_read), and any other command. Definitions:
    a reader is "dirty" when the poller must ask it before sleeping.
    Invariants:
    1. A reader that is not dirty and whose fd is not readable holds no
       input. libzmq signals a pipe's reader only after a read found the
       pipe empty, and the poller clears a reader's dirty bit only when
       ZMQ_EVENTS said it holds nothing (which reads every pipe).
    2. A reader the wait returns stays dirty: its handler takes one
       message, more may wait behind it, and nothing signals them.
    3. A send may take a reader's signal: libzmq processes a socket's
       commands while sending on it (at most once a millisecond or so),
       and an activate_read it takes then leaves input behind an fd that
       is no longer readable. So a thread that sends on a reader it
       waits on calls zr_poller_sent with the send (before or after it:
       the mark must be there at the next wait). The same holds for a
       receive, or a ZMQ_EVENTS, on a reader the wait did not return;
       the one it returned is covered by (2). Without the call,
       Invariant 1 does not hold and the input waits until something
       else wakes the thread (test_poller shows both).
    Each wait: one poll(timeout 0) over every fd, which marks the readable
    ones dirty; ZMQ_EVENTS of the dirty readers in order (the first with
    input is returned, the others' bits are cleared); if none, one
    blocking poll() and again. The order of readers is their priority,
    as with zpoller: a ready reader is never passed over for a later one.

    Readers per poller: at most ZR_POLLER_READERS_MAX. Not thread-safe:
    the thread that owns the sockets owns the poller.
    =========================================================================
*/
#ifndef ZR_POLLER_H_INCLUDED
#define ZR_POLLER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define ZR_POLLER_READERS_MAX 32        /* readers per poller (bits of a mask) */
#define ZR_POLLER_ALL UINT32_MAX        /* mask: every reader */

typedef struct _zr_poller_t zr_poller_t;

/* Creates a poller over the readers given, a NULL-terminated list of
   czmq sockets or actors, or pointers to a raw file descriptor (int *,
   as zpoller takes them; readable is input), all borrowed: they must
   outlive the poller. Their order is their priority. Never returns NULL
   (asserts on memory). Caller owns the result and must destroy it. */
zr_poller_t *zr_poller_new (void *reader, ...);

/* Destroys the poller (not its readers) and NULLs *self_p. Idempotent. */
void zr_poller_destroy (zr_poller_t **self_p);

/* Adds a reader (borrowed) after the others: the lowest priority. At
   most ZR_POLLER_READERS_MAX in all (asserted). */
void zr_poller_add (zr_poller_t *self, void *reader);

/* Removes reader, which must be the last one added (readers leave in
   the reverse order they came, so the others keep their bits). */
void zr_poller_remove (zr_poller_t *self, void *reader);

/* Returns the mask bit of reader, which must have been added. */
uint32_t zr_poller_bit (zr_poller_t *self, void *reader);

/* Waits up to timeout ms (-1: no limit, 0: only what is ready now) for
   input on a reader of mask (bits from zr_poller_bit; ZR_POLLER_ALL for
   all), and returns the first such reader in priority order; readers
   outside the mask are not reported, but what they received is kept for
   a later wait. Returns NULL on a timeout (zr_poller_expired) or if the
   context ended or poll() failed (zr_poller_terminated). Signals do not
   end it: actors block them (node.h), as zpoller_set_nonstop assumes. */
void *zr_poller_wait (zr_poller_t *self, uint32_t mask, int timeout);

/* Marks reader (added) as to be asked before the next sleep: Invariant
   3. Call it with every send on a reader of this poller (and any other
   use of one the last wait did not return). */
void zr_poller_sent (zr_poller_t *self, void *reader);

/* True if the last wait ended on its timeout. */
bool zr_poller_expired (zr_poller_t *self);

/* True if the last wait ended because the context ended (or poll()
   failed): the actor should stop. */
bool zr_poller_terminated (zr_poller_t *self);

#endif
