/*  =========================================================================
    filter - the fault-injecting filter on one server's incoming links

    Every message a server receives from a peer passes this filter before
    the node acts on it. Per peer (that is, per link and direction: the
    filter of server b for peer a shapes the link a -> b), it can cut the
    link, drop messages with a probability, duplicate them, and hold them
    for a fixed delay plus a uniform jitter, which reorders them. It is
    off by default and changed at run time (zraft_fault), so tests, the
    benchmark and operators' chaos drills all use the same code.

    The filter owns no socket and no thread: the node actor asks it what
    to do with each message and when the next held one is due. Its random
    choices come from a seeded generator (raft/rng.h).

    Design notes
    1. A message is dropped, or passed once or twice (duplicate), each
       copy either at once or after delay + jitter.
    2. Held messages are released in order of release time, ties in
       arrival order; nothing is held longer than ZR_FILTER_DELAY_MAX_MS.
    3. At most ZR_FILTER_HELD_MAX messages are held; beyond that a
       message is dropped (a lossy link under overload, counted).
    =========================================================================
*/
#ifndef ZR_FILTER_H_INCLUDED
#define ZR_FILTER_H_INCLUDED

#define ZR_FILTER_HELD_MAX 65536        /* messages held at once */
#define ZR_FILTER_DELAY_MAX_MS 60000    /* delay + jitter cap */
#define ZR_FILTER_PPM 1000000u          /* probabilities are in ppm */

typedef struct {
    bool cut;                           /* drop everything on this link */
    uint32_t drop_ppm;                  /* drop probability, ppm */
    uint32_t dup_ppm;                   /* duplicate probability, ppm */
    uint32_t delay_ms;                  /* fixed delay */
    uint32_t jitter_ms;                 /* plus uniform [0, jitter): reorders */
} zr_link_fault_t;

typedef struct _zr_filter_t zr_filter_t;

/* Creates a filter that lets everything through, seeded with seed.
   Returns NULL when out of memory. Caller owns the result. */
zr_filter_t *zr_filter_new (uint64_t seed);

/* Frees the filter and every message it holds; NULLs *self_p. */
void zr_filter_destroy (zr_filter_t **self_p);

/* Sets the fault of the link from peer (1..ZR_NODES_MAX). Returns 0 or
   ZR_EINVAL for a bad peer, probability or delay. */
int zr_filter_set (zr_filter_t *self, zr_id_t peer, const zr_link_fault_t *fault);

/* Returns true if any link has a fault set (fast path when false). */
bool zr_filter_active (const zr_filter_t *self);

/* Passes msg (taken) from its sender at now_ms. Returns the message to
   act on now (possibly msg), or NULL if it was dropped or held; a
   duplicate to act on now as well is stored in *dup_p (else NULL). */
zr_message_t *zr_filter_pass (zr_filter_t *self, zr_message_t *msg,
                              uint64_t now_ms, zr_message_t **dup_p);

/* Returns the next held message due at or before now_ms (caller owns
   it), or NULL. */
zr_message_t *zr_filter_due (zr_filter_t *self, uint64_t now_ms);

/* Returns when the next held message is due, or UINT64_MAX. */
uint64_t zr_filter_next_ms (const zr_filter_t *self);

/* Counters: messages dropped (by cut, chance or overflow), duplicated,
   delayed. */
typedef struct {
    uint64_t dropped;
    uint64_t duplicated;
    uint64_t delayed;
} zr_filter_stats_t;
void zr_filter_stats (const zr_filter_t *self, zr_filter_stats_t *stats);

#endif
