/*  =========================================================================
    samples - RSS and disk use per node over a run

    Every --sample-interval seconds from the start of the load, and at
    its nominal end, each node is sampled: its RSS (VmRSS of its own
    process with --procs; in-process, the whole process's), the disk use
    of its data dir and its commit index. Samples live in one array sized
    for the run at start, so their memory is bounded; a sample above
    --rss-max or --disk-max is noted, and the caller stops the run.
    =========================================================================
*/
#ifndef ZB_SAMPLES_H_INCLUDED
#define ZB_SAMPLES_H_INCLUDED

/* What a walk of a data dir adds up. */
typedef struct {
    uint64_t allocated;                 /* sum of st_blocks * 512 */
    uint64_t apparent;                  /* sum of st_size */
    uint32_t entries;                   /* entries stat'ed; <= FILES_MAX */
} zb_disk_t;

/* One node at one instant. */
typedef struct {
    int64_t t_us;                       /* since the load began */
    uint32_t node;                      /* server id */
    uint64_t rss_bytes;                 /* VmRSS of its process */
    uint64_t disk_bytes;                /* its data dir, allocated */
    uint64_t disk_apparent_bytes;       /* its data dir, st_size summed */
    uint64_t committed;                 /* its commit index */
} zb_sample_t;

/* The samples of a run: every node at t0, t0 + interval, ... and at the
   nominal end t0 + warmup + duration (the last). Memory is allocated once
   for all of them. Invariant: count <= capacity; count is a multiple of
   nodes between ticks. */
typedef struct {
    uint32_t nodes;                     /* servers sampled per tick */
    bool per_process;                   /* --procs: each node's own RSS */
    bool print;                         /* a line per sample on stdout */
    uint64_t rss_max;                   /* --rss-max, bytes; 0 = none */
    uint64_t disk_max;                  /* --disk-max, bytes; 0 = none */
    uint32_t over;                      /* first node above either; 0 */
    const char *over_what;              /* "rss_max" or "disk_max" */
    int64_t interval_us;                /* sample period; 0 = off */
    int64_t t0_us;                      /* the load began; 0 = not yet */
    int64_t end_us;                     /* the last tick */
    int64_t next_us;                    /* the next tick */
    uint64_t ticks;                     /* ticks taken */
    bool done;                          /* the last tick was taken */
    zb_sample_t *samples;               /* capacity slots, count used */
    size_t count;                       /* samples taken */
    size_t capacity;                    /* nodes * (seconds / interval + 2) */
} zb_samples_t;

/* A node's figures over the samples. The rss_at_60 and growth fields
   hold only if minute: a sample was taken at or after the first minute. */
typedef struct {
    uint64_t rss_peak;                  /* highest sampled RSS, bytes */
    uint64_t rss_last;                  /* the last sample's */
    bool minute;                        /* a sample at >= 60 s exists */
    uint64_t rss_at_60;                 /* the first such sample's RSS */
    int64_t growth;                     /* rss_last - rss_at_60 */
    int64_t growth_per_min;             /* growth per minute after 60 s */
    uint64_t disk_last;                 /* the last sample's, allocated */
    uint64_t disk_apparent_last;        /* the last sample's, apparent */
    uint64_t committed_last;            /* the last sample's commit index */
} zb_node_mem_t;

/* Resident set of process pid (0: this process) from the VmRSS line of
   /proc/<pid>/status, bytes; 0 if it cannot be read (the process is gone,
   or no /proc). */
uint64_t zb_rss_bytes (pid_t pid);

/* Peak resident set of process pid (0: this process), from VmHWM, in
   bytes; 0 if it cannot be read. */
uint64_t zb_hwm_bytes (pid_t pid);

/* Anonymous resident memory of process pid (0: this process), from
   RssAnon (the heap and stacks, not file pages), in bytes; 0 if it
   cannot be read. */
uint64_t zb_anon_bytes (pid_t pid);

/* Returns the disk use of the files under path (zeros if it is gone). */
zb_disk_t zb_disk_usage (const char *path);

/* Returns the samples of a run with opts (sampling off if its interval
   is 0), or NULL if out of memory. */
zb_samples_t *zb_samples_new (const zb_opts_t *opts, bool per_process);

/* Frees the samples and NULLs *self_p; nothing if it is NULL already. */
void zb_samples_destroy (zb_samples_t **self_p);

/* Starts the schedule: the load began at t0_us and runs seconds. */
void zb_samples_start (zb_samples_t *self, int64_t t0_us, uint32_t seconds);

/* True if every node is to be sampled now. */
bool zb_samples_due (const zb_samples_t *self, int64_t now);

/* Records node's figures at now, and prints them unless --json. */
void zb_samples_add (zb_samples_t *self, int64_t now, uint32_t node,
                     uint64_t rss_bytes, zb_disk_t disk, uint64_t committed);

/* Ends the tick taken at now (every node added): the next one is the
   next multiple of the interval after now (a late tick, behind a leader
   election, is not repeated), or the end; after the end, none. */
void zb_samples_tick (zb_samples_t *self, int64_t now);

/* Sums up node's samples (all zero if it has none). */
zb_node_mem_t zb_samples_node (const zb_samples_t *self, uint32_t node);

/* Returns the most any node's RSS grew after the first minute, and its
   id in *node; *node is 0 if no node was sampled that late. */
int64_t zb_samples_growth_max (const zb_samples_t *self, uint32_t *node);

#endif
