/*  =========================================================================
    pending - the requests zraft-node has handed to the library and not
    answered yet, by token

    zraft_submit and zraft_query take a token and later deliver exactly
    one RESULT event carrying it; this table maps the token back to the
    client (its ROUTER routing id), the request's id and type. It holds at
    most capacity entries (the library's submit_max), in a fixed array
    with a free list: adding, finding and taking are O(1) and nothing is
    allocated after new.

    A token is (sequence << 16) | slot: never 0, and a slot reused later
    carries another token, so a stale token is never mistaken for a live
    one.

    Invariant: an entry's token is 0 exactly when its slot is on the free
    list; size counts the others.
    =========================================================================
*/
#ifndef ZR_PENDING_H_INCLUDED
#define ZR_PENDING_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define ZR_PENDING_CAPACITY_MAX 65536u  /* slots fit in a token's low 16 bits */

typedef struct {
    uint64_t token;                     /* 0: free */
    zframe_t *routing_id;               /* the client; NULL: the server's own */
    uint64_t request_id;                /* the client's request id */
    int type;                           /* zr_client_type_t; 0: the server's own */
    int64_t started_ms;                 /* zclock_mono () when added */
} zr_pending_entry_t;

typedef struct _zr_pending_t zr_pending_t;

/* Creates an empty table of capacity slots (1..ZR_PENDING_CAPACITY_MAX).
   Caller owns the result and must destroy it. */
zr_pending_t *zr_pending_new (uint32_t capacity);

/* Destroys the table and every routing id it holds; NULLs *self_p. */
void zr_pending_destroy (zr_pending_t **self_p);

/* Adds an entry, taking *routing_id_p (which may hold NULL) and NULLing
   it. Returns its token, or 0 when the table is full (then *routing_id_p
   is left to the caller). */
uint64_t zr_pending_add (zr_pending_t *self, zframe_t **routing_id_p,
                         uint64_t request_id, int type, int64_t started_ms);

/* Moves the entry of token into *entry (the caller then owns
   entry->routing_id) and frees its slot. Returns false, leaving *entry
   alone, if no entry has this token. */
bool zr_pending_take (zr_pending_t *self, uint64_t token,
                      zr_pending_entry_t *entry);

/* Moves any one entry out, as zr_pending_take; false when empty. */
bool zr_pending_take_any (zr_pending_t *self, zr_pending_entry_t *entry);

/* Entries held. */
uint32_t zr_pending_size (zr_pending_t *self);

#endif
