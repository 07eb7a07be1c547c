/*  =========================================================================
    harness - the in-process cluster: every server a thread of this process

    Starts the servers as threads of this process, waits until exactly
    one leader is agreed by all, loads it for warm-up + duration
    seconds (following the leader if it changes, failing on a stall),
    samples memory and disk, then reports and verifies that every
    server applied through the last proposed index. The drills borrow
    its start, leader search and event draining.
    =========================================================================
*/
#ifndef ZB_HARNESS_H_INCLUDED
#define ZB_HARNESS_H_INCLUDED

/* The in-process cluster and its load. */
typedef struct {
    zb_opts_t opts;                     /* parsed flags */
    zb_dirs_t dirs;                     /* data dirs */
    uint16_t ports [ZRAFT_NODES_MAX];   /* by id - 1 */
    zraft_t *nodes [ZRAFT_NODES_MAX];   /* by id - 1, owned */
    zpoller_t *poller;                  /* every node's events socket */
    uint32_t leader;                    /* current leader id, 0 if none */
    zb_load_t *load;                    /* generator and tracker */
    zb_samples_t *samples;              /* RSS and disk over time */
    zb_progress_t progress;             /* stderr progress line */
    int64_t measure_us;                 /* when measuring began */
    int64_t end_us;                     /* when measuring ended */
    int64_t cpu_us [2];                 /* process CPU then */
    zraft_status_t before [ZRAFT_NODES_MAX];    /* counters at measure_us */
    zraft_status_t after [ZRAFT_NODES_MAX];     /* counters at end_us */
} zb_harness_t;

/* Returns a harness for opts (copied), nothing started yet, or NULL if
   out of memory. */
zb_harness_t *zb_harness_new (const zb_opts_t *opts);

/* Stops every node, then removes the data unless --keep. */
void zb_harness_destroy (zb_harness_t **self_p);

/* Starts the cluster and the poller over its events sockets. */
int zb_harness_start (zb_harness_t *self);

/* Takes the events waiting on every running node into the load.
   Returns 0, or -1 if a node is gone. */
int zb_harness_drain (zb_harness_t *self);

/* Prints every node's status on stderr, for failure reports. */
void zb_harness_dump (zb_harness_t *self);

/* Waits (20 election timeouts at most) for an agreed leader, draining
   events meanwhile, and points the load at it. Returns 0, or -1 after a
   message. */
int zb_harness_leader_find (zb_harness_t *self);

/* Checks progress: after an election timeout without completions the
   leader may have stepped down; after 20 the cluster is stalled. */
int zb_harness_watch (zb_harness_t *self, int64_t now);

/* Measures, reports and verifies in one process. Returns the exit code. */
int zb_harness_main (zb_harness_t *self);

#endif
