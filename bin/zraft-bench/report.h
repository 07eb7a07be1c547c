/*  =========================================================================
    report - what a run shows: the progress line and the report

    The progress line on stderr (when it is a terminal) and the report on
    stdout, in the style of etcd's benchmark: summary, latency histogram
    and percentiles, then what explains the figure per server, and the
    memory and disk samples; or one JSON object (--json) with exactly the
    keys the bench/ scripts parse. Both run modes fill the same zb_result_t.
    =========================================================================
*/
#ifndef ZB_REPORT_H_INCLUDED
#define ZB_REPORT_H_INCLUDED

/* The progress line on stderr, redrawn about every second. */
typedef struct {
    bool on;                            /* stderr is a terminal */
    bool shown;                         /* a line is on the screen */
    int64_t next_us;                    /* when to redraw */
    int64_t last_us;                    /* when last drawn */
    uint64_t last_done;                 /* completions then */
} zb_progress_t;

/* One server's counters over the measured window. */
typedef struct {
    uint64_t syncs;                     /* fdatasyncs */
    uint64_t wal_entries;               /* entries written to its WAL */
    uint64_t appends;                   /* AppendEntries sent, heartbeats too */
    uint64_t entries_out;               /* entries they carried */
    uint64_t bytes_out;                 /* bytes sent to peers, all frames */
    int64_t cpu_us;                     /* CPU of its process in the window */
    int64_t rss_kib;                    /* peak RSS of its process */
    uint64_t fault_dropped;             /* messages its fault filter dropped */
    uint64_t fault_delayed;             /* ... and held back */
    uint64_t fault_duplicated;          /* ... and duplicated */
    uint64_t snapshot_index;            /* its last snapshot's, at the end */
} zb_node_fig_t;

/* What a run measured, in either mode. */
typedef struct {
    bool procs;                         /* zraft-node processes, loaded
                                           through the client protocol */
    bool counters;                      /* nodes' WAL, AppendEntries and
                                           fault counters known (in-process;
                                           zraft-node does not report them) */
    bool verified;                      /* every server applied through
                                           last_index */
    uint32_t clients;                   /* --procs: client connections */
    uint64_t errors;                    /* --procs: requests that failed */
    uint64_t busy;                      /* --procs: BUSY answers, retried */
    double seconds;                     /* measured window */
    uint64_t committed;                 /* proposals committed in it */
    uint64_t lost;                      /* proposals another leader overwrote */
    uint32_t leader_changes;            /* after the first agreed leader */
    uint32_t leader;                    /* last agreed leader */
    uint64_t term;                      /* its term */
    uint64_t cap_hits;                  /* open loop: cap reached, times */
    uint64_t outstanding_peak;          /* most proposals pending at once */
    uint64_t last_index;                /* last proposed index (verify) */
    const zr_histogram_t *hist;         /* latencies, us; borrowed */
    const zb_samples_t *samples;        /* RSS and disk over time; borrowed */
    zb_node_fig_t nodes [ZRAFT_NODES_MAX];   /* by id - 1 */
} zb_result_t;

/* Starts the line: it is drawn only if stderr is a terminal. */
void zb_progress_init (zb_progress_t *self);

/* Redraws, about every second, the entries/s of the last second from
   done (completions so far), and where the run stands. */
void zb_progress_tick (zb_progress_t *self, int64_t now, uint64_t done,
                       int64_t measure_us, uint32_t duration_s);

/* Erases the line if one is shown, so that a message can follow. */
void zb_progress_clear (zb_progress_t *self);

/* Sets fig to the deltas of the counters from a to b, with the CPU its
   process used in the window and its peak RSS; b's snapshot index. */
void zb_node_fig_set (zb_node_fig_t *fig, const zraft_status_t *a,
                      const zraft_status_t *b, int64_t cpu_us,
                      int64_t rss_kib);

/* Reports the samples of a run that --rss-max or --disk-max stopped:
   the memory table, or a JSON object with "error" and the memory keys. */
void zb_print_stopped (const zb_opts_t *o, const zb_samples_t *samples);

/* Prints a run's report on stdout: text, or one JSON object (--json). */
void zb_print (const zb_opts_t *o, const zb_result_t *r);

#endif
