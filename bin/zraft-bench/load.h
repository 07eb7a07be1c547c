/*  =========================================================================
    load - the load generator and completion tracker

    Keeps W submissions outstanding (closed loop, --inflight) or sends
    submission k at t0 + k / R (open loop, --rate, latency from the
    intended time), on one leader at a time, each under its own token,
    in zraft_submit_many calls; completes them from the RESULT events of
    the server it went to: committed (status 0: applied there), lost
    (another leader's entry took its index, or its outcome is unknown),
    or refused (not the leader: the harness looks for the new one; busy:
    sent again). Latencies of the measured window go into a histogram;
    memory is allocated once, sized by the flags.
    =========================================================================
*/
#ifndef ZB_LOAD_H_INCLUDED
#define ZB_LOAD_H_INCLUDED

/* An outstanding submission: a slot of the load's ring, by token. */
typedef struct {
    uint64_t token;                     /* 0 when the slot is free */
    uint64_t epoch;                     /* the leader it went to (the load's
                                           epoch then) */
    int64_t sent_us;                    /* latency origin: send time (closed
                                           loop) or intended time (open) */
} zb_pending_t;

/* The load generator and completion tracker, over one leader at a time.
   Invariant: pending <= outstanding_max < ring size / 2. */
typedef struct {
    const zb_opts_t *opts;              /* borrowed; outlives the load */
    zraft_t *leader;                    /* submissions go here; NULL = idle */
    uint64_t term;                      /* the leader's term, as last seen */
    uint64_t epoch;                     /* bumped at each new leader or term */
    bool refused;                       /* the leader answered ENOTLEADER */
    zb_pending_t *ring;                 /* outstanding submissions by token */
    uint64_t ring_mask;                 /* ring size - 1 */
    uint64_t outstanding_max;           /* W, or the open loop's cap */
    uint64_t pending;                   /* ring entries of this epoch */
    uint64_t next_token;                /* the last token given */
    uint64_t last_index;                /* highest index applied for us */
    byte *payload;                      /* entry_size bytes, every submission */
    const void **datas;                 /* batch_max pointers to payload */
    size_t *sizes;                      /* batch_max times entry_size */
    uint64_t *tokens;                   /* batch_max tokens of one call */
    size_t batch_max;                   /* submissions per submit_many */
    zr_histogram_t *hist;               /* latencies (us) while measuring */
    bool measuring;                     /* inside the measured window */
    int64_t progress_us;                /* last completion or (re)start */
    uint64_t done;                      /* committed, ever (progress line) */
    uint64_t committed;                 /* committed while measuring */
    uint64_t lost;                      /* lost to another leader, or unknown */
    uint64_t busy;                      /* refused busy, sent again */
    uint32_t term_changes;              /* leader or term changes seen */
    int64_t t0_us;                      /* open loop: submission 0's due time */
    uint64_t next_k;                    /* open loop: next submission number */
    int64_t stop_us;                    /* open loop: none due from here */
    bool capped;                        /* open loop: due ones wait on cap */
    uint64_t cap_hits;                  /* times capped became true */
    uint64_t outstanding_peak;          /* highest `pending` seen */
} zb_load_t;

/* The most submissions a load for opts keeps outstanding: what the
   servers' config.submit_max must allow. */
uint64_t zb_load_outstanding_max (const zb_opts_t *opts);

/* Returns a load for opts (borrowed), or NULL if out of memory. */
zb_load_t *zb_load_new (const zb_opts_t *opts);

/* Frees the load and NULLs *self_p; nothing if it is NULL already. */
void zb_load_destroy (zb_load_t **self_p);

/* Points the load at leader (NULL stops submitting) in term; a new
   leader or term counts as a leader change, and only the submissions
   made to it count as pending. */
void zb_load_set_leader (zb_load_t *self, zraft_t *leader, uint64_t term);

/* Takes every event waiting on node's events socket (a node's events
   must be drained whether it is loaded or not: its results make room
   for more). Returns 0, or -1 if the node is gone. */
int zb_load_drain (zb_load_t *self, zraft_t *node);

/* Submits what the loop calls for now: every free slot (closed loop),
   or every due submission the cap allows (open loop), in as few calls
   as --propose-batch allows. Returns 0 (also when nothing was due), 1 if
   the node answered that it is not the leader (nothing submitted), or
   -1 after a message. */
int zb_load_fill (zb_load_t *self, int64_t now);

/* Returns how long the loop may wait for completions, ms: the open loop
   wakes for its next due submission (1 ms granularity: a late send is
   still timed from its intended time). */
int zb_load_wait_ms (const zb_load_t *self, int64_t now);

#endif
