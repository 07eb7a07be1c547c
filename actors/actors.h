/*  =========================================================================
    actors.h - umbrella header of the actor layer

    actors/ files include this header (plus their own). It pulls in the
    layers below: transport/ (and through it raft/, czmq, msgpack).
    =========================================================================
*/
#ifndef ZR_ACTORS_H_INCLUDED
#define ZR_ACTORS_H_INCLUDED

#include "../transport/transport.h"
#include "../include/zraft.h"
#include "wal.h"
#include "snapshot.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

/* Ownership hand-offs. Actors pass pointers to what they hand over
   ("p" frames): the receiver owns the object from then on. The happens-
   before that makes this safe goes through libzmq's lock-free queues,
   which ThreadSanitizer cannot see (libzmq is not instrumented), so under
   TSan the sender publishes its view on the object's address just before
   the send and the receiver acquires it right after the receive. Both
   are no-ops in other builds. */
#if defined (__SANITIZE_THREAD__)
void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
#   define zr_handoff_send(p) __tsan_release ((void *) (p))
#   define zr_handoff_recv(p) do { if (p) __tsan_acquire ((void *) (p)); } while (0)
#else
#   define zr_handoff_send(p) ((void) (p))
#   define zr_handoff_recv(p) ((void) (p))
#endif

#include "actor.h"
#include "results.h"
#include "tokens.h"

#endif
