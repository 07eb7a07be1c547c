/*  =========================================================================
    load - the load generator and completion tracker

    Keeps W proposals pending (closed loop, --inflight) or sends proposal
    k at t0 + k / R (open loop, --rate, latency from the intended time),
    on one leader at a time, and completes them from the applied runs of
    any server: committed if the applied term matches, lost if another
    leader overwrote the index. Latencies of the measured window go into
    a histogram; memory is allocated once, sized by the flags.
    =========================================================================
*/
#ifndef ZB_LOAD_H_INCLUDED
#define ZB_LOAD_H_INCLUDED

/* A pending proposal: a slot of the load's ring, by index. */
typedef struct {
    uint64_t index;                     /* 0 when the slot is free */
    uint64_t term;                      /* the term the leader gave it */
    int64_t sent_us;                    /* latency origin: send time (closed
                                           loop) or intended time (open) */
} zb_pending_t;

/* The load generator and completion tracker, over one leader at a time.
   Invariant: pending <= outstanding_max < ring size / 2. */
typedef struct {
    const zb_opts_t *opts;              /* borrowed; outlives the load */
    zraft_t *leader;                    /* proposals go here; NULL = idle */
    uint64_t term;                      /* the term pending proposals have */
    zb_pending_t *ring;                 /* pending proposals by index */
    uint64_t ring_mask;                 /* ring size - 1 */
    uint64_t outstanding_max;           /* W, or the open loop's cap */
    uint64_t pending;                   /* ring entries of `term` */
    uint64_t applied_seen;              /* highest index applied anywhere */
    uint64_t last_index;                /* index the last propose returned */
    byte *payload;                      /* entry_size bytes, every proposal */
    const void **datas;                 /* batch_max pointers to payload */
    size_t *sizes;                      /* batch_max times entry_size */
    size_t batch_max;                   /* proposals per propose_many */
    zr_histogram_t *hist;               /* latencies (us) while measuring */
    bool measuring;                     /* inside the measured window */
    int64_t progress_us;                /* last completion or (re)start */
    uint64_t done;                      /* committed, ever (progress line) */
    uint64_t committed;                 /* committed while measuring */
    uint64_t lost;                      /* overwritten by another leader */
    uint32_t term_changes;              /* leader or term changes seen */
    int64_t t0_us;                      /* open loop: proposal 0's due time */
    uint64_t next_k;                    /* open loop: next proposal number */
    int64_t stop_us;                    /* open loop: none due from here */
    bool capped;                        /* open loop: due ones wait on cap */
    uint64_t cap_hits;                  /* times capped became true */
    uint64_t outstanding_peak;          /* highest `pending` seen */
} zb_load_t;

/* Returns a load for opts (borrowed), or NULL if out of memory. */
zb_load_t *zb_load_new (const zb_opts_t *opts);

/* Frees the load and NULLs *self_p; nothing if it is NULL already. */
void zb_load_destroy (zb_load_t **self_p);

/* Points the load at leader (NULL stops proposing) in term; a new term
   counts as a leader change, and only its proposals count as pending. */
void zb_load_set_leader (zb_load_t *self, zraft_t *leader, uint64_t term);

/* Takes every applied run waiting on node's events socket (a node's
   events must be drained whether it is loaded or not). Returns 0, or -1
   if the node is gone. */
int zb_load_drain (zb_load_t *self, zraft_t *node);

/* Proposes what the loop calls for now: every free slot (closed loop),
   or every due proposal the cap allows (open loop), in as few calls as
   --propose-batch allows. Returns 0 (also when nothing was due), 1 if
   the node is not the leader (nothing proposed), or -1 after a message. */
int zb_load_fill (zb_load_t *self, int64_t now);

/* Returns how long the loop may wait for completions, ms: the open loop
   wakes for its next due proposal (1 ms granularity: a late send is
   still timed from its intended time). */
int zb_load_wait_ms (const zb_load_t *self, int64_t now);

#endif
