/*  =========================================================================
    opts - the flags of zraft-bench: usage, parsing, checks

    Every flag is parsed and checked here, before anything starts: a bad
    one gets a one-line message naming it and its accepted range, and the
    caller exits 64 (EX_USAGE). A flag the --procs mode cannot honour
    (zraft-node has no such setting) is refused with it, naming why.
    =========================================================================
*/
#ifndef ZB_OPTS_H_INCLUDED
#define ZB_OPTS_H_INCLUDED

/* The parsed flags: zb_opts_parse sets every field. */
typedef struct {
    uint32_t nodes;                     /* servers: 1, 3, 5 or 7 */
    const char *dir;                    /* --dir, NULL for a fresh mkdtemp */
    bool keep;                          /* keep the data dirs at the end */
    bool json;                          /* one JSON object instead of text */
    bool procs;                         /* one process per server */
    uint32_t heartbeat_ms;              /* config heartbeat_ms */
    uint32_t election_ms;               /* config election_timeout_ms */
    uint32_t window;                    /* config inflight_max */
    uint64_t batch_bytes;               /* config batch_bytes */
    uint32_t entry_size;                /* payload bytes per proposal */
    uint32_t propose_batch;             /* proposals per propose call; 0 = max */
    uint32_t inflight;                  /* closed loop: proposals pending */
    bool inflight_set;                  /* --inflight was given */
    uint64_t rate;                      /* open loop: proposals/s; 0 = closed */
    uint32_t duration_s;                /* measured seconds */
    uint32_t warmup_s;                  /* unmeasured seconds first */
    uint64_t seed;                      /* election seed; 0 = clock */
    uint32_t drop_ppm;                  /* --drop, every link, ppm */
    uint32_t delay_ms;                  /* --delay MS, every link */
    uint32_t jitter_ms;                 /* --delay :JITTER, every link */
    uint32_t sample_interval_s;         /* RSS and disk period, s; 0 = off */
    uint32_t rss_max_mib;               /* a sample above it fails; 0 = none */
    uint32_t disk_max_mib;              /* the same for disk use; 0 = none */
    bool no_snapshots;                  /* --no-snapshots: the log only grows */
    uint64_t snapshot_entries;          /* config snapshot_entries; 0 = default */
    uint64_t snapshot_bytes;            /* config snapshot_bytes, if set */
    bool snapshot_bytes_set;            /* --snapshot-bytes was given */
    uint32_t snapshot_chunk_bytes;      /* config snapshot_chunk_bytes; 0 = default */
    uint64_t state_bytes;               /* padding in each state machine */
    const char *drill;                  /* "restart", "install" or NULL */
    uint64_t drill_entries;             /* entries a drill commits */
    bool drop_caches;                   /* drop the page cache before restart */
    /* --procs only: the zraft-node processes and their client load. */
    const char *node_bin;               /* --node-bin; NULL: next to us */
    uint32_t clients;                   /* --clients; 0 = min (W, 16) */
    uint64_t given;                     /* bit f: s_flags [f] was given */
} zb_opts_t;

/* True if --drop or --delay asks for faults on the links. */
bool zb_opts_faults_on (const zb_opts_t *opts);

/* Prints the usage (--help) on out. */
void zb_opts_usage (FILE *out);

/* Parses argv ("--flag value" or "--flag=value") into opts. Returns 0
   to run, 1 after --help, or -1 after a one-line message on stderr (the
   caller exits 64). */
int zb_opts_parse (zb_opts_t *opts, int argc, char *argv []);

#endif
