/*  =========================================================================
    zraft-bench - throughput and latency of a zraft cluster under load

    Starts N zraft servers on tcp://127.0.0.1, with their write-ahead logs
    (fsync on) under <dir>/n<id>: as threads of this process (default), or
    one process per server (--procs, the fair comparison with systems that
    run one process per node). Waits until exactly one leader is agreed by
    all, then loads it for warm-up + duration seconds:

    - closed loop (--inflight W): W proposals are kept pending; whenever
      some complete, every free slot is refilled in one zraft_propose_many
      call (one round trip to the node, one batch to disk and followers);
    - open loop (--rate R): proposal k is due at t0 + k / R. Due proposals
      are sent in one batch as soon as the loop can, and each one's latency
      runs from its intended time, not from when it was sent, so a stalled
      cluster shows as latency (no coordinated omission). At most
      S_OUTSTANDING_MAX are outstanding: due proposals wait (their latency
      running) while the cap is hit, and the report says how often.

    A proposal is done when a server applies its index: committed if the
    applied term matches, lost if another leader overwrote it. In-process,
    the first server to report the index completes it; with --procs, the
    loading process's own server does (the leader, normally the first).
    Latencies of the proposals completed in the measured window go into a
    log-linear histogram (bench/histogram.h: fixed memory, <= 0.4% error),
    so memory is bounded whatever the duration. The report, in the style of
    etcd's benchmark, ends with what explains the figure: per server,
    fdatasyncs/s, entries per fdatasync, entries and bytes per
    AppendEntries, CPU seconds and peak RSS. Finally every server must have
    applied through the last proposed index (verify).

    --procs: the parent picks the data dir and free ports without ZeroMQ,
    then re-executes itself once per server with hidden --child-* flags,
    so no ZeroMQ state ever crosses a fork. Each child runs one server and
    talks to the parent in text lines over a socketpair (the protocol table
    is above s_child_main). The parent elects the loader (the process whose
    server leads; the load moves with the leader), forwards the measured
    window, gathers every child's figures and histogram, and on any error,
    timeout or interrupt kills and reaps every child. Children also get
    SIGTERM if the parent dies (PR_SET_PDEATHSIG) and quit on EOF.

    --drop and --delay shape every link (each server's view of what each
    peer sends it) through the library's fault filter, zraft_fault, set
    once every server has started: in-process by this process, with
    --procs by each child for its own server. The report then counts the
    messages the filters dropped and held back in the window. Exit codes:
    0 on success, 1 if the cluster failed (no leader, stall, verify) or a
    node's RSS or disk use passed --rss-max or --disk-max, 64 on a bad
    flag (EX_USAGE), 130 if interrupted (data still removed).

    Every --sample-interval seconds from the start of the load, and at
    its nominal end, each node is sampled: its RSS (VmRSS of its own
    process with --procs; in-process, the whole process's), the disk use
    of its data dir and its commit index. The --procs parent reads the
    children's /proc/<pid>/status and walks the dirs itself, so the
    children pay nothing for it. Samples live in one array sized for the
    run at start, so their memory is bounded too.

    --drill restart|install replaces the load with a timed snapshot drill
    (in-process, so the bench can stop, restart and cut one server): a
    follower's restart from its snapshot and log, or the installation of
    the leader's snapshot on a follower that was cut off while the leader
    compacted past it. --state-bytes makes the state machine, and so each
    snapshot, as big as the drill wants.
    =========================================================================
*/
#include "../include/zraft.h"
#include "../bench/histogram.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_EX_USAGE 64                   /* sysexits.h EX_USAGE */
#define S_EX_INTERRUPTED 130            /* 128 + SIGINT, as shells report */
#define S_INFLIGHT_MAX 65536u           /* --inflight upper bound */
#define S_RATE_MAX 10000000u            /* --rate upper bound, per second */
#define S_OUTSTANDING_MAX 1000000u      /* open loop: outstanding at most */
#define S_DIR_MAX 900                   /* --dir length bound */
#define S_POLL_MS 5                     /* leader and verify poll period */
#define S_LOOP_MS 10                    /* longest wait of a load loop */
#define S_VERIFY_MS 5000                /* verify waits this long at most */
#define S_NEW_ATTEMPTS 10               /* zraft_new retries (port release) */
#define S_DRAIN_MAX 1024                /* runs taken per socket per pass */
#define S_PROGRESS_US 1000000           /* progress line period */
#define S_BARS 10                       /* histogram bars, as etcd */
#define S_BAR_WIDTH 40                  /* characters of the longest bar */
#define S_STATUS_MS 100                 /* a child reports this often */
#define S_START_MS 20000                /* children have this long to start */
#define S_EXIT_MS 5000                  /* ... and to exit once told */
#define S_CMD_MAX 256                   /* a parent -> child line */
#define S_LINE_MAX (ZR_HISTOGRAM_ENCODED_MAX + 64)  /* child -> parent */
#define S_DELAY_MAX 10000u              /* --delay MS and JITTER bound */
#define S_PPM 1000000u                  /* --drop 100% in parts per million */
#define S_SAMPLE_INTERVAL_MAX 3600u     /* --sample-interval upper bound, s */
#define S_RSS_MAX_MIB (1u << 20)        /* --rss-max upper bound: 1 TiB */
#define S_DISK_MAX_MIB (1u << 30)       /* --disk-max upper bound: 1 PiB */
#define S_FIRST_MINUTE_S 60             /* RSS growth is counted from here */
#define S_DISK_DEPTH_MAX 4              /* dir levels walked for disk use */
#define S_DISK_FILES_MAX 1000000u       /* entries stat'ed per data dir walk */
#define S_STATE_BYTES_MAX (1ull << 36)  /* --state-bytes upper bound: 64 GiB */
#define S_SNAPSHOT_BYTES_MAX (1ull << 40)   /* --snapshot-bytes upper bound */
#define S_DRILL_ENTRIES_MAX (1ull << 32)    /* --drill-entries upper bound */
#define S_DRILL_ENTRIES 1000000u        /* --drill-entries default */
#define S_DRILL_WAIT_MS 300000          /* a drill step waits this long */
#define S_CHILD_ARGS 24                 /* flags a --procs child gets */

_Static_assert (S_OUTSTANDING_MAX >= S_INFLIGHT_MAX, "caps ordered");
_Static_assert (S_LINE_MAX > S_CMD_MAX, "HIST is the longest line");

/* Set by SIGINT and SIGTERM: the one mutable global (process-wide signal
   setup, which STYLE leaves to bin/). It replaces czmq's handler and
   zsys_interrupted, and the signals are kept off the nodes' threads:
   interrupted actors quit on their own, and then zraft_destroy can hang
   (seen with the library of 2026-11-23); stopping the nodes in our order
   is what ends a run cleanly and removes its data. */
static volatile sig_atomic_t s_interrupted = 0;

/* ------------------------------------------------------------- signals */

static void
s_signal_cb (int signal_value)
{
    (void) signal_value;
    s_interrupted = 1;
}

/* Blocks or unblocks SIGINT and SIGTERM on this thread. Threads started
   while they are blocked (ZeroMQ's and every node's) inherit the block,
   so the signals reach only this, the main thread. */
static void
s_signals_block (bool block)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    int rc = pthread_sigmask (block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
    assert (rc == 0);
    (void) rc;
}

/* The --procs parent, which has no threads and no czmq: SIGINT and
   SIGTERM interrupt its poll (no SA_RESTART); a dead child's socket must
   not kill it with SIGPIPE. */
static void
s_signals_catch (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_signal_cb;
    sigemptyset (&action.sa_mask);
    int rc = sigaction (SIGINT, &action, NULL);
    rc |= sigaction (SIGTERM, &action, NULL);
    action.sa_handler = SIG_IGN;
    rc |= sigaction (SIGPIPE, &action, NULL);
    assert (rc == 0);
    (void) rc;
}

/* ---------------------------------------------------- time and usage */

/* Microseconds on CLOCK_MONOTONIC: one clock for every process of a
   --procs run, so the parent's window means the same in each child. */
static int64_t
s_now_us (void)
{
    struct timespec ts;
    int rc = clock_gettime (CLOCK_MONOTONIC, &ts);
    assert (rc == 0);
    (void) rc;
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU microseconds (user + system) this process used so far. */
static int64_t
s_cpu_us (void)
{
    struct rusage usage;
    int rc = getrusage (RUSAGE_SELF, &usage);
    assert (rc == 0);
    (void) rc;
    return ((int64_t) usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
           * 1000000 + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

/* Peak resident set of this process so far, KiB. */
static int64_t
s_rss_kib (void)
{
    struct rusage usage;
    int rc = getrusage (RUSAGE_SELF, &usage);
    assert (rc == 0);
    (void) rc;
    return usage.ru_maxrss;
}

/* ------------------------------------------------------------- options */

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
    /* Hidden flags: what a --procs parent tells each child. */
    uint32_t child_id;                  /* this child's server; 0 = parent */
    const char *child_ports;            /* every server's port, "p1,p2,.." */
    uint16_t ports [ZRAFT_NODES_MAX];   /* child_ports parsed, by id - 1 */
    const char *child_dir;              /* the run's dir, made by the parent */
    uint32_t child_fd;                  /* the child's end of the socketpair */
} s_opts_t;

/* True if --drop or --delay asks for faults on the links. */
static bool
s_faults_on (const s_opts_t *opts)
{
    return opts->drop_ppm || opts->delay_ms || opts->jitter_ms;
}

typedef struct {
    const char *name;                   /* the flag, e.g. "--nodes" */
    size_t offset;                      /* its field in s_opts_t */
    size_t width;                       /* 4 (uint32_t) or 8 (uint64_t) */
    uint64_t min;                       /* accepted range, inclusive */
    uint64_t max;                       /* accepted range, inclusive */
    const char *accepted;               /* range in words, if not min..max */
} s_flag_t;

static const s_flag_t s_flags [] = {
    {"--nodes", offsetof (s_opts_t, nodes), 4, 1, 7, "1, 3, 5 or 7"},
    {"--heartbeat-ms", offsetof (s_opts_t, heartbeat_ms), 4, 1, 60000, NULL},
    {"--election-ms", offsetof (s_opts_t, election_ms), 4, 2, 600000, NULL},
    {"--window", offsetof (s_opts_t, window), 4, 1, 256, NULL},
    {"--batch-bytes", offsetof (s_opts_t, batch_bytes), 8, 1, 8u << 20, NULL},
    {"--entry-size", offsetof (s_opts_t, entry_size), 4, 1,
     ZRAFT_ENTRY_BYTES_MAX, NULL},
    {"--inflight", offsetof (s_opts_t, inflight), 4, 1, S_INFLIGHT_MAX, NULL},
    {"--propose-batch", offsetof (s_opts_t, propose_batch), 4, 1,
     ZRAFT_PROPOSE_MAX, NULL},
    {"--rate", offsetof (s_opts_t, rate), 8, 1, S_RATE_MAX, NULL},
    {"--duration", offsetof (s_opts_t, duration_s), 4, 1, 3600, NULL},
    {"--warmup", offsetof (s_opts_t, warmup_s), 4, 0, 600, NULL},
    {"--seed", offsetof (s_opts_t, seed), 8, 0, UINT64_MAX, NULL},
    {"--sample-interval", offsetof (s_opts_t, sample_interval_s), 4, 0,
     S_SAMPLE_INTERVAL_MAX, NULL},
    {"--rss-max", offsetof (s_opts_t, rss_max_mib), 4, 0, S_RSS_MAX_MIB,
     NULL},
    {"--disk-max", offsetof (s_opts_t, disk_max_mib), 4, 0, S_DISK_MAX_MIB,
     NULL},
    {"--snapshot-entries", offsetof (s_opts_t, snapshot_entries), 8, 1,
     UINT32_MAX, NULL},
    {"--snapshot-bytes", offsetof (s_opts_t, snapshot_bytes), 8, 0,
     S_SNAPSHOT_BYTES_MAX, NULL},
    {"--snapshot-chunk-bytes", offsetof (s_opts_t, snapshot_chunk_bytes), 4,
     4096, 4u << 20, NULL},
    {"--state-bytes", offsetof (s_opts_t, state_bytes), 8, 0,
     S_STATE_BYTES_MAX, NULL},
    {"--drill-entries", offsetof (s_opts_t, drill_entries), 8, 1,
     S_DRILL_ENTRIES_MAX, NULL},
    {"--child-id", offsetof (s_opts_t, child_id), 4, 1, 7, NULL},
    {"--child-fd", offsetof (s_opts_t, child_fd), 4, 3, 1023, NULL},
};
#define S_FLAGS (sizeof s_flags / sizeof s_flags [0])

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: zraft-bench [flags]\n"
        "Runs a zraft cluster on tcp://127.0.0.1 (fsync on), loads its leader"
        " and\nreports committed entries per second and their latency"
        " (etcd-benchmark style).\n"
        "  --nodes N          servers, 1|3|5|7 (default 3)\n"
        "  --procs            one process per server (default: threads of"
        " this process)\n"
        "  --inflight W       closed loop: proposals kept pending, refilled"
        " in one\n"
        "                     zraft_propose_many call, 1..%u (default 64)\n"
        "  --propose-batch N  at most N proposals per zraft_propose_many call,"
        " 1..4096\n"
        "                     (default: as many as are due; 1 = one round trip"
        " each)\n"
        "  --rate R           open loop instead: R proposals/s, 1..%u, at"
        " fixed\n"
        "                     intended times, latency from the intended time;"
        " at most\n"
        "                     %u outstanding (reported if hit); excludes"
        " --inflight\n"
        "  --duration S       measured seconds, 1..3600 (default 5)\n"
        "  --warmup S         seconds loaded before measuring, 0..600"
        " (default 1)\n"
        "  --entry-size B     bytes per proposal, 1..%u (default 128)\n"
        "  --window N         AppendEntries in flight per follower"
        " (inflight_max),\n"
        "                     1..256; 1 = no pipelining (default 64)\n"
        "  --batch-bytes B    payload per AppendEntries, 1..8388608"
        " (default 262144)\n"
        "  --heartbeat-ms MS  leader heartbeat, 1..60000 (default 50)\n"
        "  --election-ms MS   election timeout, > heartbeat, <= 600000"
        " (default 500)\n"
        "  --seed N           election seed, 0 = from the clock (default 0)\n"
        "  --drop P           drop P%% of the messages on every link, 0..100,"
        " fractional\n"
        "                     allowed (0.5 = 5000 ppm; default 0)\n"
        "  --delay MS[:J]     hold every message on every link MS ms plus"
        " uniform\n"
        "                     [0, J) ms of jitter (reorders), each 0..%u"
        " (default 0);\n"
        "                     both through the library's fault filter"
        " (zraft_fault),\n"
        "                     on what each server receives from each peer\n"
        "  --sample-interval S\n"
        "                     every S s from the start of the load, 0..%u"
        " (0 = off;\n"
        "                     default 10), and at its end, sample per node:"
        " RSS (VmRSS\n"
        "                     of its process with --procs; in-process, the"
        " whole\n"
        "                     process's, the same figure for every node),"
        " disk use of\n"
        "                     its data dir (allocated blocks and apparent"
        " size) and\n"
        "                     its commit index; one line per sample as it is"
        " taken,\n"
        "                     then peak, last and growth after the first"
        " minute\n"
        "  --rss-max MIB      stop the run, exit 1, when a node's sampled RSS"
        " is above\n"
        "                     MIB, 0..%u (0 = no limit, the default);"
        " the samples\n"
        "                     are still reported (--json: impl nodes procs"
        " inflight rate\n"
        "                     error (\"rss_max\" or \"disk_max\")"
        " rss_max_mib disk_max_mib\n"
        "                     and the memory keys below)\n"
        "  --disk-max MIB     the same for the disk use of its data dir,"
        " 0..%u\n"
        "  --no-snapshots     run without snapshots: the log and the WAL"
        " grow without\n"
        "                     bound (default: each server's state machine,"
        " a counter,\n"
        "                     takes snapshots at zraft's default"
        " thresholds)\n"
        "  --snapshot-entries N  snapshot every N applied entries, 1..2^32-1\n"
        "                     (default: zraft's, 65536; 32 MiB of log"
        " payload also\n"
        "                     triggers one)\n"
        "  --snapshot-bytes B snapshot when the log's payload reaches B"
        " bytes,\n"
        "                     0..2^40 (0 = not by size; default: zraft's,"
        " 32 MiB)\n"
        "  --snapshot-chunk-bytes B  InstallSnapshot chunk, 4096..4194304\n"
        "                     (default: zraft's, 1 MiB)\n"
        "  --state-bytes N    N bytes of padding in each server's state"
        " machine, 0..2^36,\n"
        "                     allocated once per server: its snapshot is"
        " the counter,\n"
        "                     a checksum and the padding (24 + N bytes);"
        " restore checks\n"
        "                     the length and the checksum (default 0)\n"
        "  --drill D          instead of the load, in-process only: D ="
        " restart: commit\n"
        "                     a few entries, snapshot every server"
        " (zraft_snapshot),\n"
        "                     commit --drill-entries more, stop a follower,"
        " restart it,\n"
        "                     time zraft_new and until it applied the"
        " leader's commit\n"
        "                     index; D = install: cut a follower off,"
        " commit\n"
        "                     --drill-entries, snapshot, heal it, time until"
        " it\n"
        "                     installed the leader's snapshot (MB/s) and"
        " caught up.\n"
        "                     Pair with --snapshot-entries 4294967295"
        " --snapshot-bytes 0\n"
        "                     so that only the drill's snapshots are taken\n"
        "  --drill-entries N  entries a drill commits, 1..2^32 (default"
        " %u)\n"
        "  --drop-caches      restart drill: sync and drop the page cache"
        " (root) before\n"
        "                     restarting, so the snapshot is read from"
        " disk\n"
        "                     (a drill's --json: impl drill nodes state_bytes"
        " entries\n"
        "                     follower snapshot_index target"
        " snapshot_take_s new_s\n"
        "                     restore_at_s restore_s installed_s serving_s"
        "\n"
        "                     install_mb_per_s chunk_bytes drop_caches"
        " dir_bytes)\n"
        "  --dir DIR          data under DIR/n<id> (default: mkdtemp in"
        " /tmp)\n"
        "  --keep             keep the data dirs at the end\n"
        "  --json             print one JSON object instead of the summary:"
        " impl nodes\n"
        "                     procs inflight rate window entry_size"
        " duration_s entries\n"
        "                     entries_per_s mb_per_s latency_ms{min p50 p90"
        " p99 p999 max\n"
        "                     avg stddev} per_node[{id fsyncs_per_s"
        " entries_per_fsync\n"
        "                     appends_out entries_per_append bytes_per_append"
        " cpu_s\n"
        "                     rss_peak_mib}] leader_changes lost drop_pct"
        " delay_ms\n"
        "                     jitter_ms sample_interval_s memory{rss_of"
        " per_node[{id\n"
        "                     rss_peak_bytes rss_last_bytes rss_at_60s_bytes"
        "\n"
        "                     rss_growth_after_60s_bytes"
        " rss_growth_per_min_bytes\n"
        "                     disk_last_bytes disk_apparent_last_bytes"
        " committed_last}]\n"
        "                     rss_growth_after_60s_max_bytes} samples[{t_s"
        " node\n"
        "                     rss_bytes disk_bytes disk_apparent_bytes"
        " committed}]\n"
        "                     (memory null and samples [] when off; growth"
        " null before\n"
        "                     60 s; inflight 0 with --rate;\n"
        "                     latencies null without samples; in-process,"
        " cpu_s and\n"
        "                     rss_peak_mib are the whole process's, in every"
        " node)\n"
        "  --help             print this and exit\n"
        "Output: summary, latency histogram and percentiles, then per node"
        " fdatasyncs/s,\n"
        "entries per fdatasync, AppendEntries sent (heartbeats included),"
        " entries and\n"
        "bytes per AppendEntries, CPU seconds in the window and peak RSS;"
        " with --drop\n"
        "or --delay, the messages the fault filters dropped and delayed in"
        " the window;\n"
        "with samples (--sample-interval), a line per node per sample as it"
        " is taken\n"
        "(before the summary) and a memory and disk table per node at the"
        " end.\n"
        "A progress line is drawn on stderr when it is a terminal.\n"
        "Sweep: bench/sweep.sh OUTDIR runs --procs over W x --window and"
        " plots it;\n"
        "bench/memplot.sh (make bench-memory) plots RSS and disk over"
        " time.\n"
        "Internal: --child-id, --child-ports, --child-dir, --child-fd are"
        " how --procs\n"
        "starts its children (one server each), not for direct use.\n"
        "Exit: 0 ok, 1 cluster failure or a --*-max passed, 64 bad flag,"
        " 130 interrupted.\n",
        S_INFLIGHT_MAX, S_RATE_MAX, S_OUTSTANDING_MAX, ZRAFT_ENTRY_BYTES_MAX,
        S_DELAY_MAX, S_SAMPLE_INTERVAL_MAX, S_RSS_MAX_MIB, S_DISK_MAX_MIB,
        S_DRILL_ENTRIES);
}

/* Sets flag's field from text. Returns 0, or -1 after printing a
   one-line message naming the flag and its accepted range. */
static int
s_flag_set (s_opts_t *opts, const s_flag_t *flag, const char *text)
{
    assert (opts && flag);
    assert (flag->width == 4 || flag->width == 8);
    bool ok = text && *text >= '0' && *text <= '9';
    unsigned long long value = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        value = strtoull (text, &end, 10);
        ok = errno == 0 && *end == 0 && value >= flag->min
             && value <= flag->max;
    }
    if (!ok && flag->accepted)
        fprintf (stderr, "zraft-bench: %s must be %s (got '%s')\n",
                 flag->name, flag->accepted, text ? text : "nothing");
    else
    if (!ok)
        fprintf (stderr, "zraft-bench: %s must be an integer in %" PRIu64
                 "..%" PRIu64 " (got '%s')\n", flag->name, flag->min,
                 flag->max, text ? text : "nothing");
    if (!ok)
        return -1;
    char *field = (char *) opts + flag->offset;
    if (flag->width == 4) {
        uint32_t v32 = (uint32_t) value;
        memcpy (field, &v32, sizeof v32);
    }
    else {
        uint64_t v64 = (uint64_t) value;
        memcpy (field, &v64, sizeof v64);
    }
    return 0;
}

/* Parses --child-ports: exactly `nodes` ports 1..65535, comma-separated.
   Returns 0 or -1 after a message. */
static int
s_opts_ports (s_opts_t *opts)
{
    const char *at = opts->child_ports;
    uint32_t n = 0;
    while (at && n < opts->nodes && *at >= '0' && *at <= '9') {
        char *end = NULL;
        unsigned long port = strtoul (at, &end, 10);
        if (port < 1 || port > 65535 || (*end != ',' && *end != 0))
            break;
        opts->ports [n++] = (uint16_t) port;
        at = *end ? end + 1 : end;
    }
    if (n == opts->nodes && at && *at == 0)
        return 0;
    fprintf (stderr, "zraft-bench: --child-ports must be %u ports in"
             " 1..65535, comma-separated (got '%s')\n", opts->nodes,
             opts->child_ports ? opts->child_ports : "nothing");
    return -1;
}

/* Checks the hidden --child-* flags: all or none, consistent. */
static int
s_opts_check_child (s_opts_t *opts)
{
    bool any = opts->child_id || opts->child_ports || opts->child_dir
               || opts->child_fd;
    bool all = opts->child_id && opts->child_ports && opts->child_dir
               && opts->child_fd;
    if (any && (!all || opts->procs)) {
        fprintf (stderr, "zraft-bench: --child-id, --child-ports,"
                 " --child-dir and --child-fd are internal to --procs and"
                 " go together\n");
        return -1;
    }
    if (any && opts->child_id > opts->nodes) {
        fprintf (stderr, "zraft-bench: --child-id must be an integer in"
                 " 1..%u (got '%u')\n", opts->nodes, opts->child_id);
        return -1;
    }
    if (any && (*opts->child_dir == 0
                || strlen (opts->child_dir) >= S_DIR_MAX)) {
        fprintf (stderr, "zraft-bench: --child-dir must be 1..%d"
                 " characters\n", S_DIR_MAX - 1);
        return -1;
    }
    return any ? s_opts_ports (opts) : 0;
}

/* Checks the snapshot and drill flags together. Returns 0 or -1 after
   a message. */
static int
s_opts_check_snapshots (const s_opts_t *opts)
{
    const char *bad = NULL;
    if (opts->drill && !streq (opts->drill, "restart")
        && !streq (opts->drill, "install"))
        bad = "--drill must be restart or install";
    else
    if (opts->no_snapshots && (opts->state_bytes || opts->drill))
        bad = "--state-bytes and --drill need snapshots (not"
              " --no-snapshots)";
    else
    if (opts->drill && (opts->procs || opts->rate))
        bad = "--drill runs in-process and closed-loop (not --procs or"
              " --rate)";
    else
    if (opts->drill && opts->nodes < 3)
        bad = "--drill needs --nodes 3, 5 or 7 (a quorum without the"
              " follower)";
    else
    if (opts->drop_caches && !(opts->drill && streq (opts->drill, "restart")))
        bad = "--drop-caches goes with --drill restart";
    if (bad)
        fprintf (stderr, "zraft-bench: %s\n", bad);
    return bad ? -1 : 0;
}

/* Checks what single flags cannot. Returns 0 or -1 after a message. */
static int
s_opts_check (s_opts_t *opts)
{
    if (opts->nodes % 2 == 0) {
        fprintf (stderr, "zraft-bench: --nodes must be 1, 3, 5 or 7"
                 " (got '%u')\n", opts->nodes);
        return -1;
    }
    if (opts->election_ms <= opts->heartbeat_ms) {
        fprintf (stderr, "zraft-bench: --election-ms must be in %u..600000"
                 " (above --heartbeat-ms %u; got %u)\n",
                 opts->heartbeat_ms + 1, opts->heartbeat_ms, opts->election_ms);
        return -1;
    }
    if ((opts->rss_max_mib || opts->disk_max_mib)
        && !opts->sample_interval_s) {
        fprintf (stderr, "zraft-bench: --%s-max needs --sample-interval"
                 " 1..%u (got 0)\n", opts->rss_max_mib ? "rss" : "disk",
                 S_SAMPLE_INTERVAL_MAX);
        return -1;
    }
    if (s_opts_check_snapshots (opts))
        return -1;
    if (opts->rate && opts->inflight_set) {
        fprintf (stderr, "zraft-bench: --rate (open loop) and --inflight"
                 " (closed loop) exclude each other\n");
        return -1;
    }
    if (opts->dir && (*opts->dir == 0 || strlen (opts->dir) >= S_DIR_MAX)) {
        fprintf (stderr, "zraft-bench: --dir must be 1..%d characters\n",
                 S_DIR_MAX - 1);
        return -1;
    }
    for (uint32_t id = 1; opts->dir && id <= opts->nodes; id++) {
        char path [S_DIR_MAX + 16];
        snprintf (path, sizeof path, "%s/n%u", opts->dir, id);
        if (access (path, F_OK) == 0) {
            fprintf (stderr, "zraft-bench: --dir must not hold n1..n%u yet"
                     " (%s exists)\n", opts->nodes, path);
            return -1;
        }
    }
    return s_opts_check_child (opts);
}

/* Sets a flag that takes no value. Returns 1 for --help, 0 if name was
   such a flag, -1 if it takes a value. */
static int
s_opts_switch (s_opts_t *opts, const char *name)
{
    if (streq (name, "--help") || streq (name, "-h"))
        return 1;
    if (streq (name, "--keep"))
        opts->keep = true;
    else
    if (streq (name, "--json"))
        opts->json = true;
    else
    if (streq (name, "--procs"))
        opts->procs = true;
    else
    if (streq (name, "--no-snapshots"))
        opts->no_snapshots = true;
    else
    if (streq (name, "--drop-caches"))
        opts->drop_caches = true;
    else
        return -1;
    return 0;
}

/* Sets a flag that takes a string. Returns 0 if name was such a flag,
   1 if it is not one, -1 after a message if value is missing. */
static int
s_opts_string (s_opts_t *opts, const char *name, const char *value)
{
    const char **field = streq (name, "--dir") ? &opts->dir
                         : streq (name, "--child-ports") ? &opts->child_ports
                         : streq (name, "--child-dir") ? &opts->child_dir
                         : streq (name, "--drill") ? &opts->drill
                         : NULL;
    if (!field)
        return 1;
    if (!value) {
        fprintf (stderr, "zraft-bench: %s needs a value\n", name);
        return -1;
    }
    *field = value;
    return 0;
}

/* Parses text as a decimal number of ms in 0..S_DELAY_MAX into *ms, up
   to a ':' or the end. Returns what follows it, or NULL if malformed. */
static const char *
s_opts_ms (const char *text, uint32_t *ms)
{
    if (!text || *text < '0' || *text > '9')
        return NULL;
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul (text, &end, 10);
    if (errno || value > S_DELAY_MAX || (*end != ':' && *end != 0))
        return NULL;
    *ms = (uint32_t) value;
    return end;
}

/* Parses --drop P: a percent in 0..100, digits with at most one '.'
   (no sign, exponent, inf or nan), kept in ppm. Returns 0 or -1 after a
   message. */
static int
s_opts_drop (s_opts_t *opts, const char *text)
{
    const char *at = text;
    size_t digits = 0;
    for (; at && *at >= '0' && *at <= '9'; at++)
        digits++;
    if (at && *at == '.')
        for (at++; *at >= '0' && *at <= '9'; at++)
            digits++;
    double percent = at && digits && *at == 0 ? strtod (text, NULL) : -1;
    if (percent < 0 || percent > 100) {
        fprintf (stderr, "zraft-bench: --drop must be a percent in 0..100,"
                 " e.g. 5 or 0.5 (got '%s')\n", text ? text : "nothing");
        return -1;
    }
    opts->drop_ppm = (uint32_t) llround (percent * (S_PPM / 100));
    return 0;
}

/* Parses --delay MS[:JITTER]. Returns 0 or -1 after a message. */
static int
s_opts_delay (s_opts_t *opts, const char *text)
{
    uint32_t delay = 0, jitter = 0;
    const char *rest = s_opts_ms (text, &delay);
    if (rest && *rest == ':')
        rest = s_opts_ms (rest + 1, &jitter);
    if (!rest || *rest) {
        fprintf (stderr, "zraft-bench: --delay must be MS or MS:JITTER, each"
                 " an integer in 0..%u (got '%s')\n", S_DELAY_MAX,
                 text ? text : "nothing");
        return -1;
    }
    opts->delay_ms = delay;
    opts->jitter_ms = jitter;
    return 0;
}

/* Sets a fault flag. Returns 0 if name was one, 1 if it is not one, -1
   after a message if its value is malformed. */
static int
s_opts_fault (s_opts_t *opts, const char *name, const char *value)
{
    if (streq (name, "--drop"))
        return s_opts_drop (opts, value);
    if (streq (name, "--delay"))
        return s_opts_delay (opts, value);
    return 1;
}

/* Parses argv ("--flag value" or "--flag=value") into opts. Returns 0
   to run, 1 after --help, or -1 after a one-line message on stderr (the
   caller exits 64). */
static int
s_opts_parse (s_opts_t *opts, int argc, char *argv [])
{
    *opts = (s_opts_t) {.nodes = 3, .heartbeat_ms = 50, .election_ms = 500,
                        .window = 64, .batch_bytes = 256u << 10,
                        .entry_size = 128, .inflight = 64, .duration_s = 5,
                        .warmup_s = 1, .sample_interval_s = 10,
                        .drill_entries = S_DRILL_ENTRIES};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *eq = strchr (arg, '=');
        char name [64];
        snprintf (name, sizeof name, "%.*s",
                  (int) (eq ? (size_t) (eq - arg) : strlen (arg)), arg);
        int rc = s_opts_switch (opts, name);
        if (rc >= 0 && eq) {
            fprintf (stderr, "zraft-bench: %s takes no value (got '%s')\n",
                     name, arg);
            return -1;
        }
        if (rc >= 0) {
            if (rc == 1)
                return 1;
            continue;
        }
        const char *value = eq ? eq + 1 : i + 1 < argc ? argv [++i] : NULL;
        rc = s_opts_string (opts, name, value);
        if (rc > 0)
            rc = s_opts_fault (opts, name, value);
        if (rc <= 0) {
            if (rc < 0)
                return -1;
            continue;
        }
        size_t f = 0;
        while (f < S_FLAGS && !streq (s_flags [f].name, name))
            f++;
        if (f == S_FLAGS) {
            fprintf (stderr, "zraft-bench: unknown flag '%s' (see --help)\n",
                     arg);
            return -1;
        }
        if (s_flag_set (opts, &s_flags [f], value))
            return -1;
        opts->inflight_set |= streq (name, "--inflight");
        opts->snapshot_bytes_set |= streq (name, "--snapshot-bytes");
    }
    return s_opts_check (opts);
}

/* ------------------------------------------------------ progress line */

typedef struct {
    bool on;                            /* stderr is a terminal */
    bool shown;                         /* a line is on the screen */
    int64_t next_us;                    /* when to redraw */
    int64_t last_us;                    /* when last drawn */
    uint64_t last_done;                 /* completions then */
} s_progress_t;

static void
s_progress_init (s_progress_t *self)
{
    memset (self, 0, sizeof *self);
    self->on = isatty (STDERR_FILENO) == 1;
    self->last_us = s_now_us ();
    self->next_us = self->last_us + S_PROGRESS_US;
}

/* Redraws, about every second, the entries/s of the last second from
   done (completions so far), and where the run stands. */
static void
s_progress_tick (s_progress_t *self, int64_t now, uint64_t done,
                 int64_t measure_us, uint32_t duration_s)
{
    if (!self->on || now < self->next_us)
        return;
    double seconds = (double) (now - self->last_us) / 1e6;
    double eps = (double) (done - self->last_done) / seconds;
    if (measure_us && now >= measure_us)
        fprintf (stderr, "\r\033[Kzraft-bench: measuring %.0f/%u s,"
                 " %.0f entries/s", (double) (now - measure_us) / 1e6,
                 duration_s, eps);
    else
        fprintf (stderr, "\r\033[Kzraft-bench: warming up, %.0f entries/s",
                 eps);
    fflush (stderr);
    self->shown = true;
    self->last_us = now;
    self->last_done = done;
    self->next_us = now + S_PROGRESS_US;
}

static void
s_progress_clear (s_progress_t *self)
{
    if (self->shown)
        fputs ("\r\033[K", stderr);
    fflush (stderr);
    self->shown = false;
}

/* ---------------------------------------------------------------- load */

typedef struct {
    uint64_t index;                     /* 0 when the slot is free */
    uint64_t term;                      /* the term the leader gave it */
    int64_t sent_us;                    /* latency origin: send time (closed
                                           loop) or intended time (open) */
} s_pending_t;

/* The load generator and completion tracker, over one leader at a time.
   Invariant: pending <= outstanding_max < ring size / 2. */
typedef struct {
    const s_opts_t *opts;               /* borrowed; outlives the load */
    zraft_t *leader;                    /* proposals go here; NULL = idle */
    uint64_t term;                      /* the term pending proposals have */
    s_pending_t *ring;                  /* pending proposals by index */
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
} s_load_t;

static void
s_load_destroy (s_load_t **self_p)
{
    assert (self_p);
    s_load_t *self = *self_p;
    if (!self)
        return;
    zr_histogram_destroy (&self->hist);
    free (self->ring);
    free (self->payload);
    free (self->datas);
    free (self->sizes);
    free (self);
    *self_p = NULL;
}

/* Returns a load for opts (borrowed), or NULL if out of memory. */
static s_load_t *
s_load_new (const s_opts_t *opts)
{
    s_load_t *self = (s_load_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = opts;
    uint64_t seconds = (uint64_t) opts->warmup_s + opts->duration_s + 1;
    self->outstanding_max = opts->rate ? opts->rate * seconds + 64
                                       : opts->inflight;
    if (self->outstanding_max > S_OUTSTANDING_MAX)
        self->outstanding_max = S_OUTSTANDING_MAX;
    uint64_t size = 1;
    while (size < 2 * self->outstanding_max + 64)
        size <<= 1;
    self->ring_mask = size - 1;
    self->batch_max = ZRAFT_PROPOSE_BYTES_MAX / opts->entry_size;
    if (self->batch_max > ZRAFT_PROPOSE_MAX)
        self->batch_max = ZRAFT_PROPOSE_MAX;
    if (opts->propose_batch && self->batch_max > opts->propose_batch)
        self->batch_max = opts->propose_batch;
    self->ring = (s_pending_t *) calloc (size, sizeof (s_pending_t));
    self->payload = (byte *) malloc (opts->entry_size);
    self->datas = (const void **) calloc (self->batch_max, sizeof (void *));
    self->sizes = (size_t *) calloc (self->batch_max, sizeof (size_t));
    self->hist = zr_histogram_new ();
    self->stop_us = INT64_MAX;
    if (!self->ring || !self->payload || !self->datas || !self->sizes
        || !self->hist) {
        s_load_destroy (&self);
        return NULL;
    }
    uint64_t x = opts->seed ? opts->seed : 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < opts->entry_size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        self->payload [i] = (byte) x;
    }
    for (size_t i = 0; i < self->batch_max; i++) {
        self->datas [i] = self->payload;
        self->sizes [i] = opts->entry_size;
    }
    return self;
}

/* Counts the pending proposals of the current term. */
static void
s_load_recount (s_load_t *self)
{
    self->pending = 0;
    for (uint64_t i = 0; i <= self->ring_mask; i++)
        if (self->ring [i].index && self->ring [i].term == self->term)
            self->pending++;
    assert (self->pending <= self->outstanding_max);
}

/* Points the load at leader (NULL stops proposing) in term; a new term
   counts as a leader change, and only its proposals count as pending. */
static void
s_load_set_leader (s_load_t *self, zraft_t *leader, uint64_t term)
{
    if (leader && term != self->term) {
        if (self->term)
            self->term_changes++;
        self->term = term;
        s_load_recount (self);
    }
    self->leader = leader;
    self->progress_us = s_now_us ();
}

/* Records a proposal the leader accepted at (index, term), whose latency
   runs from sent_us. Returns 0, or -1 after a message. */
static int
s_load_track (s_load_t *self, uint64_t index, uint64_t term, int64_t sent_us)
{
    if (index <= self->applied_seen) {
        fprintf (stderr, "zraft-bench: propose returned index %" PRIu64
                 " already applied (through %" PRIu64 ")\n", index,
                 self->applied_seen);
        return -1;
    }
    if (term != self->term) {           /* re-elected itself in a new term */
        self->term_changes++;
        self->term = term;
        s_load_recount (self);
    }
    s_pending_t *slot = &self->ring [index & self->ring_mask];
    if (slot->index) {                  /* an old term's entry, overwritten */
        self->lost++;
        if (slot->term == self->term)
            self->pending--;
    }
    *slot = (s_pending_t) {index, term, sent_us};
    self->pending++;
    assert (self->pending <= self->outstanding_max);
    if (self->pending > self->outstanding_peak)
        self->outstanding_peak = self->pending;
    self->last_index = index;           /* the newest term's, so it stays */
    return 0;
}

/* Completes the pending proposals that run covers, past what any node
   reported before (every node applies the same sequence). */
static void
s_load_complete (s_load_t *self, const zraft_applied_t *run, int64_t now)
{
    assert (run->last >= run->first);
    uint64_t from = run->first > self->applied_seen ? run->first
                                                    : self->applied_seen + 1;
    for (uint64_t index = from; index <= run->last; index++) {
        s_pending_t *slot = &self->ring [index & self->ring_mask];
        if (slot->index != index)
            continue;                   /* a no-op or not ours */
        bool ok = run->terms [index - run->first] == slot->term;
        if (!ok)
            self->lost++;
        else
            self->done++;
        if (ok && self->measuring) {
            self->committed++;
            int64_t latency = now - slot->sent_us;
            zr_histogram_record (self->hist,
                                 latency < 0 ? 0 : (uint64_t) latency);
        }
        if (slot->term == self->term) {
            assert (self->pending > 0);
            self->pending--;
        }
        slot->index = 0;
        self->progress_us = now;
    }
    if (run->last > self->applied_seen)
        self->applied_seen = run->last;
}

/* Takes every applied run waiting on node's events socket (a node's
   events must be drained whether it is loaded or not). Returns 0, or -1
   if the node is gone. */
static int
s_load_drain (s_load_t *self, zraft_t *node)
{
    zsock_t *events = zraft_events (node);
    for (int taken = 0; taken < S_DRAIN_MAX
                        && (zsock_events (events) & ZMQ_POLLIN); taken++) {
        zraft_applied_t run;
        if (zraft_applied_recv (node, &run) != 0)
            return -1;
        s_load_complete (self, &run, s_now_us ());
        zraft_applied_release (&run);
    }
    return 0;
}

/* Proposes n payloads in one call; proposal i's latency runs from
   sent_us, or in the open loop from proposal next_k + i's intended time.
   Returns 0, 1 if the node is not the leader (nothing proposed), or -1
   after a message. */
static int
s_load_propose (s_load_t *self, size_t n, int64_t sent_us)
{
    assert (self->leader && n >= 1 && n <= self->batch_max);
    uint64_t first = 0, term = 0;
    int rc = zraft_propose_many (self->leader, self->datas, self->sizes, n,
                                 &first, &term, NULL);
    if (rc == ZRAFT_ENOTLEADER)
        return 1;
    if (rc != 0 && !s_interrupted)
        fprintf (stderr, "zraft-bench: propose of %zu entries: %s\n", n,
                 zraft_strerror (rc));
    if (rc != 0)
        return -1;
    uint64_t rate = self->opts->rate;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = self->next_k + i;
        int64_t at = rate ? self->t0_us
                            + (int64_t) ((k * 1000000 + rate - 1) / rate)
                          : sent_us;
        if (s_load_track (self, first + i, term, at))
            return -1;
    }
    if (rate)
        self->next_k += n;
    return 0;
}

/* Returns how many open-loop proposals are due at now and not sent:
   proposal k is due at t0 + ceil (k * 1e6 / rate) us, before stop_us. */
static uint64_t
s_load_due (const s_load_t *self, int64_t now)
{
    assert (self->opts->rate);
    int64_t until = now < self->stop_us ? now : self->stop_us - 1;
    if (until < self->t0_us)
        return 0;
    uint64_t end = (uint64_t) (until - self->t0_us) * self->opts->rate
                   / 1000000 + 1;
    return end > self->next_k ? end - self->next_k : 0;
}

/* Proposes what the loop calls for now: every free slot (closed loop),
   or every due proposal the cap allows (open loop), in as few calls as
   --propose-batch allows.
   Returns as s_load_propose; 0 if nothing was to be sent. */
static int
s_load_fill (s_load_t *self, int64_t now)
{
    assert (self->leader);
    uint64_t room = self->outstanding_max > self->pending
                    ? self->outstanding_max - self->pending : 0;
    uint64_t want = room;
    if (self->opts->rate) {
        want = s_load_due (self, now);
        if (want && !room && !self->capped)
            self->cap_hits++;
        self->capped = want && !room;
        want = want < room ? want : room;
    }
    /* In calls of at most batch_max (--propose-batch), all sent now. */
    while (want > 0) {
        size_t n = want < self->batch_max ? (size_t) want : self->batch_max;
        int rc = s_load_propose (self, n, s_now_us ());
        if (rc != 0)
            return rc;
        want -= n;
    }
    return 0;
}

/* Returns how long the loop may wait for completions, ms: the open loop
   wakes for its next due proposal (1 ms granularity: a late send is
   still timed from its intended time). */
static int
s_load_wait_ms (const s_load_t *self, int64_t now)
{
    if (!self->leader || !self->opts->rate)
        return S_LOOP_MS;
    if (s_load_due (self, now) && !self->capped)
        return 0;
    uint64_t rate = self->opts->rate, k = self->next_k;
    int64_t due = self->t0_us + (int64_t) ((k * 1000000 + rate - 1) / rate);
    int64_t ms = (due - now + 999) / 1000;
    return ms < 1 ? 1 : ms > S_LOOP_MS ? S_LOOP_MS : (int) ms;
}

/* ------------------------------------------------ memory and disk samples */

/* Resident set of process pid (0: this process) from the VmRSS line of
   /proc/<pid>/status, bytes; 0 if it cannot be read (the process is gone,
   or no /proc). */
static uint64_t
s_rss_bytes (pid_t pid)
{
    char path [64];
    if (pid)
        snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    else
        snprintf (path, sizeof path, "/proc/self/status");
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    char line [256];
    unsigned long long kib = 0;
    bool found = false;
    while (!found && fgets (line, sizeof line, file))
        found = sscanf (line, "VmRSS: %llu kB", &kib) == 1;
    fclose (file);
    return found ? (uint64_t) kib * 1024 : 0;
}

/* What a walk of a data dir adds up. */
typedef struct {
    uint64_t allocated;                 /* sum of st_blocks * 512 */
    uint64_t apparent;                  /* sum of st_size */
    uint32_t entries;                   /* entries stat'ed; <= FILES_MAX */
} s_disk_t;

/* Adds the regular files under the directory open as fd (taken: closed
   here), depth levels down at most, to *disk. Entries that vanish while
   we look (a segment deleted by compaction) are skipped. */
static void
s_disk_walk (int fd, int depth, s_disk_t *disk)
{
    assert (fd >= 0 && depth >= 0);
    DIR *dir = fdopendir (fd);
    if (!dir) {
        close (fd);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir (dir)) && disk->entries < S_DISK_FILES_MAX) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        struct stat st;
        disk->entries++;
        if (fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG (st.st_mode)) {
            disk->allocated += (uint64_t) st.st_blocks * 512;
            disk->apparent += (uint64_t) st.st_size;
        }
        else
        if (S_ISDIR (st.st_mode) && depth > 0) {
            int sub = openat (fd, entry->d_name,
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0)
                s_disk_walk (sub, depth - 1, disk);
        }
    }
    closedir (dir);                     /* closes fd too */
}

/* Returns the disk use of the files under path (zeros if it is gone). */
static s_disk_t
s_disk_usage (const char *path)
{
    s_disk_t disk = {0, 0, 0};
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        s_disk_walk (fd, S_DISK_DEPTH_MAX, &disk);
    assert (disk.entries <= S_DISK_FILES_MAX);
    return disk;
}

/* One node at one instant. */
typedef struct {
    int64_t t_us;                       /* since the load began */
    uint32_t node;                      /* server id */
    uint64_t rss_bytes;                 /* VmRSS of its process */
    uint64_t disk_bytes;                /* its data dir, allocated */
    uint64_t disk_apparent_bytes;       /* its data dir, st_size summed */
    uint64_t committed;                 /* its commit index */
} s_sample_t;

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
    s_sample_t *samples;                /* capacity slots, count used */
    size_t count;                       /* samples taken */
    size_t capacity;                    /* nodes * (seconds / interval + 2) */
} s_samples_t;

static void
s_samples_destroy (s_samples_t **self_p)
{
    assert (self_p);
    s_samples_t *self = *self_p;
    if (!self)
        return;
    free (self->samples);
    free (self);
    *self_p = NULL;
}

/* Returns the samples of a run with opts (sampling off if its interval
   is 0), or NULL if out of memory. */
static s_samples_t *
s_samples_new (const s_opts_t *opts, bool per_process)
{
    s_samples_t *self = (s_samples_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->nodes = opts->nodes;
    self->per_process = per_process;
    self->print = !opts->json;
    self->rss_max = (uint64_t) opts->rss_max_mib << 20;
    self->disk_max = (uint64_t) opts->disk_max_mib << 20;
    self->interval_us = 1000000 * (int64_t) opts->sample_interval_s;
    self->done = self->interval_us == 0;
    if (self->done)
        return self;
    uint64_t ticks = ((uint64_t) opts->warmup_s + opts->duration_s)
                     / opts->sample_interval_s + 2;
    self->capacity = (size_t) (ticks * opts->nodes);
    self->samples = (s_sample_t *) calloc (self->capacity,
                                           sizeof (s_sample_t));
    if (!self->samples)
        s_samples_destroy (&self);
    return self;
}

/* Starts the schedule: the load began at t0_us and runs seconds. */
static void
s_samples_start (s_samples_t *self, int64_t t0_us, uint32_t seconds)
{
    assert (t0_us > 0 && self->t0_us == 0);
    self->t0_us = t0_us;
    self->end_us = t0_us + 1000000 * (int64_t) seconds;
    self->next_us = t0_us;
}

/* True if every node is to be sampled now. */
static bool
s_samples_due (const s_samples_t *self, int64_t now)
{
    return !self->done && self->t0_us && now >= self->next_us;
}

/* Notes the first sample above --rss-max or --disk-max, with a message
   on stderr: the caller then stops the run. */
static void
s_samples_check (s_samples_t *self, const s_sample_t *sample)
{
    bool rss = self->rss_max && sample->rss_bytes > self->rss_max;
    bool disk = self->disk_max && sample->disk_bytes > self->disk_max;
    if (self->over || (!rss && !disk))
        return;
    self->over = sample->node;
    self->over_what = rss ? "rss_max" : "disk_max";
    fprintf (stderr, "zraft-bench: the %s of n%u, %.1f MiB at t=%.1f s, is"
             " above --%s-max %" PRIu64 " MiB: run stopped\n",
             rss ? "RSS of the process" : "disk use of the data dir",
             sample->node, (double) (rss ? sample->rss_bytes
                                         : sample->disk_bytes) / 1048576.0,
             (double) sample->t_us / 1e6, rss ? "rss" : "disk",
             (rss ? self->rss_max : self->disk_max) >> 20);
    assert (self->over_what);
}

/* Records node's figures at now, and prints them unless --json. */
static void
s_samples_add (s_samples_t *self, int64_t now, uint32_t node,
               uint64_t rss_bytes, s_disk_t disk, uint64_t committed)
{
    assert (self->count < self->capacity);
    assert (node >= 1 && node <= self->nodes);
    s_sample_t *sample = &self->samples [self->count++];
    *sample = (s_sample_t) {now - self->t0_us, node, rss_bytes,
                            disk.allocated, disk.apparent, committed};
    s_samples_check (self, sample);
    if (!self->print)
        return;
    if (self->count == 1)
        printf ("Memory and disk every %" PRId64 " s (rss: %s):\n",
                self->interval_us / 1000000,
                self->per_process ? "each node's own process"
                : "the whole process, shared by every node's threads");
    printf ("sample t=%7.1f s n%u rss %8.1f MiB disk %9.1f MiB (apparent"
            " %9.1f MiB) committed %" PRIu64 "\n",
            (double) sample->t_us / 1e6, node,
            (double) rss_bytes / 1048576.0,
            (double) disk.allocated / 1048576.0,
            (double) disk.apparent / 1048576.0, committed);
    if (node == self->nodes)
        fflush (stdout);
}

/* Ends the tick taken at now (every node added): the next one is the
   next multiple of the interval after now (a late tick, behind a leader
   election, is not repeated), or the end; after the end, none. */
static void
s_samples_tick (s_samples_t *self, int64_t now)
{
    assert (self->count % self->nodes == 0);
    assert (now >= self->next_us);
    if (self->next_us >= self->end_us) {
        self->done = true;
        return;
    }
    self->ticks = (uint64_t) ((now - self->t0_us) / self->interval_us) + 1;
    self->next_us = self->t0_us + (int64_t) self->ticks * self->interval_us;
    if (self->next_us > self->end_us)
        self->next_us = self->end_us;
}

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
} s_node_mem_t;

/* Sums up node's samples (all zero if it has none). */
static s_node_mem_t
s_samples_node (const s_samples_t *self, uint32_t node)
{
    assert (node >= 1 && node <= self->nodes);
    s_node_mem_t m;
    memset (&m, 0, sizeof m);
    const s_sample_t *at_60 = NULL, *last = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const s_sample_t *s = &self->samples [i];
        if (s->node != node)
            continue;
        m.rss_peak = s->rss_bytes > m.rss_peak ? s->rss_bytes : m.rss_peak;
        if (!at_60 && s->t_us >= 1000000 * (int64_t) S_FIRST_MINUTE_S)
            at_60 = s;
        last = s;
    }
    if (!last)
        return m;
    m.rss_last = last->rss_bytes;
    m.disk_last = last->disk_bytes;
    m.disk_apparent_last = last->disk_apparent_bytes;
    m.committed_last = last->committed;
    m.minute = at_60 != NULL;
    if (!m.minute)
        return m;
    m.rss_at_60 = at_60->rss_bytes;
    m.growth = (int64_t) last->rss_bytes - (int64_t) at_60->rss_bytes;
    int64_t span_us = last->t_us - at_60->t_us;
    m.growth_per_min = span_us > 0 ? (int64_t) ((double) m.growth * 60e6
                                                / (double) span_us) : 0;
    return m;
}

/* Returns the most any node's RSS grew after the first minute, and its
   id in *node; *node is 0 if no node was sampled that late. */
static int64_t
s_samples_growth_max (const s_samples_t *self, uint32_t *node)
{
    int64_t most = 0;
    *node = 0;
    for (uint32_t id = 1; id <= self->nodes; id++) {
        s_node_mem_t m = s_samples_node (self, id);
        if (m.minute && (*node == 0 || m.growth > most)) {
            most = m.growth;
            *node = id;
        }
    }
    return most;
}

/* ------------------------------------------------------------- results */

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
} s_node_fig_t;

static void
s_node_fig_set (s_node_fig_t *fig, const zraft_status_t *a,
                const zraft_status_t *b, int64_t cpu_us, int64_t rss_kib)
{
    fig->syncs = b->wal_syncs - a->wal_syncs;
    fig->wal_entries = b->wal_entries - a->wal_entries;
    fig->appends = b->appends_out - a->appends_out;
    fig->entries_out = b->entries_out - a->entries_out;
    fig->bytes_out = b->bytes_out - a->bytes_out;
    fig->cpu_us = cpu_us;
    fig->rss_kib = rss_kib;
    fig->fault_dropped = b->fault_dropped - a->fault_dropped;
    fig->fault_delayed = b->fault_delayed - a->fault_delayed;
    fig->fault_duplicated = b->fault_duplicated - a->fault_duplicated;
}

/* What a run measured, in either mode. */
typedef struct {
    bool procs;                         /* one process per server */
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
    const s_samples_t *samples;         /* RSS and disk over time; borrowed */
    s_node_fig_t nodes [ZRAFT_NODES_MAX];   /* by id - 1 */
} s_result_t;

/* Writes num / den with two decimals, or "-" (text) / null (JSON). */
static void
s_ratio (char *buf, size_t size, double num, double den, bool json)
{
    if (den <= 0)
        snprintf (buf, size, "%s", json ? "null" : "-");
    else
        snprintf (buf, size, "%.2f", num / den);
}

static double
s_ms (uint64_t us)
{
    return (double) us / 1000.0;
}

/* Prints etcd's "Response time histogram": S_BARS + 1 lines from the
   fastest to the slowest, each counting the latencies above the previous
   line's value and up to its own (to the histogram's resolution). */
static void
s_print_bars (const zr_histogram_t *hist)
{
    uint64_t lo = zr_histogram_min (hist), hi = zr_histogram_max (hist);
    uint64_t counts [S_BARS + 1], peak = 0, below = 0;
    for (int i = 0; i <= S_BARS; i++) {
        uint64_t edge = lo + (hi - lo) * (uint64_t) i / S_BARS;
        uint64_t upto = i == S_BARS ? zr_histogram_count (hist)
                                    : zr_histogram_count_upto (hist, edge);
        counts [i] = upto > below ? upto - below : 0;
        below = upto > below ? upto : below;
        peak = counts [i] > peak ? counts [i] : peak;
    }
    printf ("\nResponse time histogram (ms):\n");
    for (int i = 0; i <= S_BARS; i++) {
        uint64_t edge = lo + (hi - lo) * (uint64_t) i / S_BARS;
        char bar [S_BAR_WIDTH + 1];
        size_t width = peak ? (size_t) (counts [i] * S_BAR_WIDTH / peak) : 0;
        memset (bar, '#', width);
        bar [width] = 0;
        printf ("  %10.4f [%" PRIu64 "]\t|%s\n", s_ms (edge), counts [i], bar);
    }
}

static void
s_print_latency (const zr_histogram_t *hist)
{
    static const double ps [] = {10, 25, 50, 75, 90, 95, 99, 99.9};
    printf ("\nLatency distribution:\n");
    for (size_t i = 0; i < sizeof ps / sizeof ps [0]; i++)
        printf ("  %g%% in %.4f ms.\n", ps [i],
                s_ms (zr_histogram_value_at_percentile (hist, ps [i])));
    printf ("  max in %.4f ms.\n", s_ms (zr_histogram_max (hist)));
}

static void
s_print_summary (const s_opts_t *o, const s_result_t *r)
{
    const zr_histogram_t *h = r->hist;
    double eps = r->seconds > 0 ? (double) r->committed / r->seconds : 0;
    printf ("Summary:\n");
    printf ("  Total:\t%.4f secs.\n", r->seconds);
    if (zr_histogram_count (h)) {
        printf ("  Slowest:\t%.4f ms.\n", s_ms (zr_histogram_max (h)));
        printf ("  Fastest:\t%.4f ms.\n", s_ms (zr_histogram_min (h)));
        printf ("  Average:\t%.4f ms.\n", zr_histogram_mean (h) / 1000);
        printf ("  Stddev:\t%.4f ms.\n", zr_histogram_stddev (h) / 1000);
    }
    printf ("  Requests/sec:\t%.1f (committed entries/s)\n", eps);
    printf ("  MB/s:\t\t%.3f (payload, 1 MB = 10^6 B)\n",
            eps * o->entry_size / 1e6);
    if (zr_histogram_count (h)) {
        s_print_bars (h);
        s_print_latency (h);
    }
    else
        printf ("\nNo latency samples: nothing committed in the window.\n");
}

/* Prints the run's shape and what explains the figure, per server. */
static void
s_print_explain (const s_opts_t *o, const s_result_t *r)
{
    printf ("\nSetup: %u nodes (%s), fsync on, ", o->nodes,
            r->procs ? "one process each" : "threads of one process");
    if (o->rate)
        printf ("open loop %" PRIu64 "/s", o->rate);
    else
        printf ("closed loop, %u in flight", o->inflight);
    printf (", %u B entries, window %u, batch %" PRIu64 " B, ",
            o->entry_size, o->window, o->batch_bytes);
    if (s_faults_on (o))
        printf ("every link: drop %g%%, delay %u ms + [0, %u) ms jitter\n",
                (double) o->drop_ppm / (S_PPM / 100), o->delay_ms,
                o->jitter_ms);
    else
        printf ("no faults\n");
    printf ("Leader: n%u, term %" PRIu64 "; %u leader changes, %" PRIu64
            " proposals lost; %" PRIu64 " committed, peak %" PRIu64
            " pending\n", r->leader, r->term, r->leader_changes, r->lost,
            r->committed, r->outstanding_peak);
    if (s_faults_on (o)) {
        uint64_t dropped = 0, delayed = 0, duplicated = 0;
        for (uint32_t i = 0; i < o->nodes; i++) {
            dropped += r->nodes [i].fault_dropped;
            delayed += r->nodes [i].fault_delayed;
            duplicated += r->nodes [i].fault_duplicated;
        }
        printf ("Faults: the filters dropped %" PRIu64 " and delayed %"
                PRIu64 " messages in the window (%" PRIu64 " duplicated),"
                " all nodes\n", dropped, delayed, duplicated);
    }
    if (o->rate && r->cap_hits)
        printf ("Open loop: the cap of %u outstanding was hit %" PRIu64
                " times (due proposals waited, timed from their intended"
                " times)\n", S_OUTSTANDING_MAX, r->cap_hits);
    printf ("\nPer node, measured window (appends include heartbeats):\n");
    printf ("  node  fsyncs/s  entries/fsync  appends_out  entries/append"
            "  bytes/append   cpu_s  rss_peak_MiB\n");
    for (uint32_t i = 0; i < o->nodes; i++) {
        const s_node_fig_t *f = &r->nodes [i];
        char per_sync [32], per_append [32], bytes [32];
        s_ratio (per_sync, sizeof per_sync, (double) f->wal_entries,
                 (double) f->syncs, false);
        s_ratio (per_append, sizeof per_append, (double) f->entries_out,
                 (double) f->appends, false);
        s_ratio (bytes, sizeof bytes, (double) f->bytes_out,
                 (double) f->appends, false);
        printf ("  n%u%s %9.1f %14s %12" PRIu64 " %15s %13s %7.2f %13.1f\n",
                i + 1, i + 1 == r->leader ? "*" : " ",
                (double) f->syncs / r->seconds, per_sync, f->appends,
                per_append, bytes, (double) f->cpu_us / 1e6,
                (double) f->rss_kib / 1024.0);
    }
    printf ("  (* leader; bytes/append is every byte sent over appends_out;"
            " %s)\n", r->procs ? "the leader's process also runs the load"
                               : "cpu_s and rss are the whole process's:"
                                 " all nodes and the load");
}

static double
s_mib (uint64_t bytes)
{
    return (double) bytes / 1048576.0;
}

/* Prints per node what the RSS and disk samples add up to, and the most
   any node's RSS grew after the first minute. Nothing if none taken. */
static void
s_print_memory (const s_opts_t *o, const s_samples_t *samples)
{
    if (samples->count == 0)
        return;
    printf ("\nMemory and disk per node, sampled every %u s from the start"
            " of the load\n(rss: %s):\n", o->sample_interval_s,
            samples->per_process ? "each node's own process"
            : "the whole process, the same for every node");
    printf ("  node  rss_peak_MiB  rss_60s_MiB  rss_last_MiB  MiB/min_after"
            "_60s  disk_MiB  apparent_MiB   committed\n");
    for (uint32_t id = 1; id <= o->nodes; id++) {
        s_node_mem_t m = s_samples_node (samples, id);
        char at_60 [32] = "-", per_min [32] = "-";
        if (m.minute) {
            snprintf (at_60, sizeof at_60, "%.1f", s_mib (m.rss_at_60));
            snprintf (per_min, sizeof per_min, "%.1f",
                      (double) m.growth_per_min / 1048576.0);
        }
        printf ("  n%-3u %13.1f %12s %13.1f %18s %9.1f %13.1f %11" PRIu64
                "\n", id, s_mib (m.rss_peak), at_60, s_mib (m.rss_last),
                per_min, s_mib (m.disk_last), s_mib (m.disk_apparent_last),
                m.committed_last);
    }
    uint32_t node = 0;
    int64_t most = s_samples_growth_max (samples, &node);
    if (node)
        printf ("  RSS growth after the first minute (last - at 60 s), most"
                " of any node: %.1f MiB (n%u)\n", (double) most / 1048576.0,
                node);
    else
        printf ("  RSS growth after the first minute: - (no sample at or"
                " after %d s)\n", S_FIRST_MINUTE_S);
}

/* Writes a latency in ms for JSON, or null without samples. */
static void
s_json_ms (char *buf, size_t size, const zr_histogram_t *h, double us)
{
    if (zr_histogram_count (h))
        snprintf (buf, size, "%.3f", us / 1000.0);
    else
        snprintf (buf, size, "null");
}

static void
s_print_json_node (const s_result_t *r, uint32_t i)
{
    const s_node_fig_t *f = &r->nodes [i];
    char per_sync [32], per_append [32], bytes [32];
    s_ratio (per_sync, sizeof per_sync, (double) f->wal_entries,
             (double) f->syncs, true);
    s_ratio (per_append, sizeof per_append, (double) f->entries_out,
             (double) f->appends, true);
    s_ratio (bytes, sizeof bytes, (double) f->bytes_out,
             (double) f->appends, true);
    printf ("%s{\"id\":%u,\"fsyncs_per_s\":%.1f,\"entries_per_fsync\":%s,"
            "\"appends_out\":%" PRIu64 ",\"entries_per_append\":%s,"
            "\"bytes_per_append\":%s,\"cpu_s\":%.3f,\"rss_peak_mib\":%.1f}",
            i ? "," : "", i + 1, (double) f->syncs / r->seconds, per_sync,
            f->appends, per_append, bytes, (double) f->cpu_us / 1e6,
            (double) f->rss_kib / 1024.0);
}

/* Writes, for JSON, a number of bytes that holds only if `holds`. */
static void
s_json_bytes (char *buf, size_t size, bool holds, int64_t bytes)
{
    if (holds)
        snprintf (buf, size, "%" PRId64, bytes);
    else
        snprintf (buf, size, "null");
}

static void
s_print_json_mem_node (const s_samples_t *samples, uint32_t id)
{
    s_node_mem_t m = s_samples_node (samples, id);
    char at_60 [32], growth [32], per_min [32];
    s_json_bytes (at_60, sizeof at_60, m.minute, (int64_t) m.rss_at_60);
    s_json_bytes (growth, sizeof growth, m.minute, m.growth);
    s_json_bytes (per_min, sizeof per_min, m.minute, m.growth_per_min);
    printf ("%s{\"id\":%u,\"rss_peak_bytes\":%" PRIu64 ",\"rss_last_bytes\":"
            "%" PRIu64 ",\"rss_at_60s_bytes\":%s,\"rss_growth_after_60s_bytes"
            "\":%s,\"rss_growth_per_min_bytes\":%s,\"disk_last_bytes\":%"
            PRIu64 ",\"disk_apparent_last_bytes\":%" PRIu64 ","
            "\"committed_last\":%" PRIu64 "}", id > 1 ? "," : "", id,
            m.rss_peak, m.rss_last, at_60, growth, per_min, m.disk_last,
            m.disk_apparent_last, m.committed_last);
}

/* Writes the keys sample_interval_s, memory (null if no sample was
   taken) and samples, each after a comma. */
static void
s_print_json_memory (const s_opts_t *o, const s_samples_t *samples)
{
    printf (",\"sample_interval_s\":%u,\"memory\":", o->sample_interval_s);
    if (samples->count == 0)
        printf ("null");
    else {
        printf ("{\"rss_of\":\"%s\",\"per_node\":[", samples->per_process
                ? "node process" : "whole process");
        for (uint32_t id = 1; id <= o->nodes; id++)
            s_print_json_mem_node (samples, id);
        uint32_t node = 0;
        int64_t most = s_samples_growth_max (samples, &node);
        char buf [32];
        s_json_bytes (buf, sizeof buf, node != 0, most);
        printf ("],\"rss_growth_after_60s_max_bytes\":%s}", buf);
    }
    printf (",\"samples\":[");
    for (size_t i = 0; i < samples->count; i++) {
        const s_sample_t *s = &samples->samples [i];
        printf ("%s{\"t_s\":%.3f,\"node\":%u,\"rss_bytes\":%" PRIu64
                ",\"disk_bytes\":%" PRIu64 ",\"disk_apparent_bytes\":%" PRIu64
                ",\"committed\":%" PRIu64 "}", i ? "," : "",
                (double) s->t_us / 1e6, s->node, s->rss_bytes, s->disk_bytes,
                s->disk_apparent_bytes, s->committed);
    }
    printf ("]");
}

/* Prints exactly the keys another engineer's compare script parses. */
static void
s_print_json (const s_opts_t *o, const s_result_t *r)
{
    const zr_histogram_t *h = r->hist;
    double eps = r->seconds > 0 ? (double) r->committed / r->seconds : 0;
    printf ("{\"impl\":\"zraft\",\"nodes\":%u,\"procs\":%s,\"inflight\":%u,"
            "\"rate\":%" PRIu64 ",\"window\":%u,\"entry_size\":%u,"
            "\"duration_s\":%.3f,\"entries\":%" PRIu64 ",\"entries_per_s\":"
            "%.1f,\"mb_per_s\":%.3f,", o->nodes, r->procs ? "true" : "false",
            o->rate ? 0 : o->inflight, o->rate, o->window, o->entry_size,
            r->seconds, r->committed, eps, eps * o->entry_size / 1e6);
    char v [8][32];
    s_json_ms (v [0], 32, h, (double) zr_histogram_min (h));
    s_json_ms (v [1], 32, h, (double) zr_histogram_value_at_percentile (h, 50));
    s_json_ms (v [2], 32, h, (double) zr_histogram_value_at_percentile (h, 90));
    s_json_ms (v [3], 32, h, (double) zr_histogram_value_at_percentile (h, 99));
    s_json_ms (v [4], 32, h,
               (double) zr_histogram_value_at_percentile (h, 99.9));
    s_json_ms (v [5], 32, h, (double) zr_histogram_max (h));
    s_json_ms (v [6], 32, h, zr_histogram_mean (h));
    s_json_ms (v [7], 32, h, zr_histogram_stddev (h));
    printf ("\"latency_ms\":{\"min\":%s,\"p50\":%s,\"p90\":%s,\"p99\":%s,"
            "\"p999\":%s,\"max\":%s,\"avg\":%s,\"stddev\":%s},\"per_node\":[",
            v [0], v [1], v [2], v [3], v [4], v [5], v [6], v [7]);
    for (uint32_t i = 0; i < o->nodes; i++)
        s_print_json_node (r, i);
    printf ("],\"leader_changes\":%u,\"lost\":%" PRIu64 ",\"drop_pct\":%g,"
            "\"delay_ms\":%u,\"jitter_ms\":%u", r->leader_changes, r->lost,
            (double) o->drop_ppm / (S_PPM / 100), o->delay_ms, o->jitter_ms);
    s_print_json_memory (o, r->samples);
    printf ("}\n");
    fflush (stdout);
}

/* Reports the samples of a run that --rss-max or --disk-max stopped:
   the memory table, or a JSON object with "error" and the memory keys. */
static void
s_print_stopped (const s_opts_t *o, const s_samples_t *samples)
{
    assert (samples->over);
    if (o->json) {
        printf ("{\"impl\":\"zraft\",\"nodes\":%u,\"procs\":%s,"
                "\"inflight\":%u,\"rate\":%" PRIu64 ",\"error\":\"%s\","
                "\"rss_max_mib\":%u,\"disk_max_mib\":%u", o->nodes,
                o->procs ? "true" : "false", o->rate ? 0 : o->inflight,
                o->rate, samples->over_what, o->rss_max_mib,
                o->disk_max_mib);
        s_print_json_memory (o, samples);
        printf ("}\n");
    }
    else
        s_print_memory (o, samples);
    fflush (stdout);
}

static void
s_print (const s_opts_t *o, const s_result_t *r)
{
    assert (r->seconds > 0);
    if (o->json)
        s_print_json (o, r);
    else {
        s_print_summary (o, r);
        s_print_explain (o, r);
        s_print_memory (o, r->samples);
        fflush (stdout);
    }
}

/* ------------------------------------------------ data dirs and ports */

typedef struct {
    char dir [S_DIR_MAX];               /* parent of the n<id> dirs */
    bool dir_made;                      /* we made dir: remove it too */
    bool dirs_made;                     /* n<id> dirs are ours to remove */
    char data [ZRAFT_NODES_MAX][S_DIR_MAX + 16];    /* by id - 1 */
} s_dirs_t;

/* Picks the data dirs: DIR/n<id> must not exist yet (we never run on,
   nor remove, data we did not make). Returns 0, or -1 after a message. */
static int
s_dirs_make (s_dirs_t *self, const s_opts_t *opts)
{
    memset (self, 0, sizeof *self);
    if (opts->dir) {
        snprintf (self->dir, sizeof self->dir, "%s", opts->dir);
        self->dir_made = access (self->dir, F_OK) != 0;
    }
    else {
        snprintf (self->dir, sizeof self->dir, "/tmp/zraft-bench-XXXXXX");
        if (!mkdtemp (self->dir)) {
            fprintf (stderr, "zraft-bench: mkdtemp: %s\n", strerror (errno));
            return -1;
        }
        self->dir_made = true;
    }
    size_t length = strlen (self->dir);
    assert (length < S_DIR_MAX);
    for (uint32_t i = 0; i < opts->nodes; i++) {
        memcpy (self->data [i], self->dir, length);  /* GCC -Wrestrict: no snprintf */
        snprintf (self->data [i] + length, 16, "/n%u", i + 1);
        if (access (self->data [i], F_OK) == 0) {
            fprintf (stderr, "zraft-bench: --dir: %s already exists; remove it"
                     " or pick another --dir\n", self->data [i]);
            return -1;
        }
    }
    if (zsys_dir_create ("%s", self->dir) != 0) {
        fprintf (stderr, "zraft-bench: cannot create %s: %s\n", self->dir,
                 strerror (errno));
        return -1;
    }
    self->dirs_made = true;
    return 0;
}

/* Removes one data dir and everything in it; warns if it stays. */
static void
s_dir_remove (const char *path)
{
    zdir_t *dir = zdir_new (path, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    if (access (path, F_OK) == 0)
        fprintf (stderr, "zraft-bench: could not remove %s\n", path);
}

/* Removes the data the run made, unless --keep (then says where). */
static void
s_dirs_remove (s_dirs_t *self, const s_opts_t *opts)
{
    if (!self->dirs_made)
        return;
    if (opts->keep) {
        fprintf (stderr, "zraft-bench: data kept in %s\n", self->dir);
        return;
    }
    for (uint32_t i = 0; i < opts->nodes; i++)
        if (access (self->data [i], F_OK) == 0)
            s_dir_remove (self->data [i]);
    if (self->dir_made && rmdir (self->dir) != 0)
        fprintf (stderr, "zraft-bench: could not remove %s\n", self->dir);
    self->dirs_made = false;
}

/* Picks a free port per node with plain sockets (no ZeroMQ, so that a
   --procs parent forks clean): binds port 0 of 127.0.0.1 for each, all at
   once so they differ, reads the port, closes them. Returns 0 or -1. */
static int
s_ports_pick (uint16_t *ports, uint32_t n)
{
    int fds [ZRAFT_NODES_MAX];
    int rc = 0;
    uint32_t opened = 0;
    for (; opened < n && rc == 0; opened++) {
        fds [opened] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
        socklen_t len = sizeof addr;
        rc = fds [opened] < 0 ? -1
             : bind (fds [opened], (struct sockaddr *) &addr, sizeof addr)
               || getsockname (fds [opened], (struct sockaddr *) &addr, &len)
             ? -1 : 0;
        ports [opened] = ntohs (addr.sin_port);
    }
    for (uint32_t i = 0; i < opened; i++)
        if (fds [i] >= 0)
            close (fds [i]);
    if (rc)
        fprintf (stderr, "zraft-bench: cannot find free ports on 127.0.0.1:"
                 " %s\n", strerror (errno));
    return rc;
}

/* The benchmark's state machine: how many commands a node applied and
   their bytes, plus --state-bytes of padding that stands for a large
   application state. Its snapshot is one malloc'd buffer: the two
   counters, the padding's checksum, then the padding (24 + N bytes), so
   with N = 0 snapshots cost the runtime's work (capture hand-off, file,
   compaction, InstallSnapshot), not an application's serialisation.
   Restore checks the length and the checksum. One per server id; each is
   only touched by that server's applier thread, except by the drills
   while that server is stopped. */
typedef struct {
    uint64_t applied;                   /* last index applied */
    uint64_t bytes;                     /* payload bytes applied */
    uint64_t sum;                       /* checksum of padding */
    byte *padding;                      /* pad_bytes, allocated once; owned */
    size_t pad_bytes;                   /* --state-bytes */
    uint64_t restores;                  /* restore calls that succeeded */
    int64_t restore_at_us;              /* when the last restore began */
    int64_t restore_us;                 /* how long it took (copy + check) */
} s_fsm_t;

#define S_FSM_HEADER (3 * sizeof (uint64_t))    /* applied, bytes, sum */

static s_fsm_t s_fsms [ZRAFT_NODES_MAX];

/* Checksum of size bytes: four 64-bit lanes of multiply-xor, so that a
   GiB takes a fraction of a second; any flipped or moved word changes
   it. */
static uint64_t
s_checksum (const byte *data, size_t size)
{
    uint64_t lane [4] = {1, 2, 3, 4};
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    size_t i = 0;
    for (; i + 32 <= size; i += 32)
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy (&w, data + i + 8 * j, sizeof w);
            lane [j] = (lane [j] ^ w) * k;
        }
    for (; i < size; i++)
        lane [0] = (lane [0] ^ data [i]) * k;
    return lane [0] ^ (lane [1] << 1) ^ (lane [2] << 2) ^ (lane [3] << 3)
           ^ size;
}

/* Gives fsm its padding of bytes (a pseudo-random pattern, so that no
   layer can skip or compress it) once: a restarted server keeps it.
   Returns 0, or -1 if out of memory. */
static int
s_fsm_pad (s_fsm_t *fsm, uint64_t bytes)
{
    if (bytes == 0)
        fsm->sum = s_checksum (NULL, 0);    /* what restore will compute */
    if (fsm->padding || bytes == 0)
        return 0;
    fsm->padding = (byte *) malloc ((size_t) bytes);
    if (!fsm->padding)
        return -1;
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy (fsm->padding + i, &x, sizeof x);
    }
    memset (fsm->padding + (bytes & ~7ull), 0x5a, bytes & 7);
    fsm->pad_bytes = (size_t) bytes;
    fsm->sum = s_checksum (fsm->padding, fsm->pad_bytes);
    return 0;
}

/* Frees every server's padding, at exit. */
static void
s_fsms_free (void)
{
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++) {
        free (s_fsms [i].padding);
        memset (&s_fsms [i], 0, sizeof s_fsms [i]);
    }
}

static void
s_fsm_apply (void *arg, uint64_t index, uint64_t term, const void *data,
             size_t size)
{
    s_fsm_t *fsm = (s_fsm_t *) arg;
    (void) term;
    (void) data;
    fsm->applied = index;
    fsm->bytes += size;
}

static int
s_fsm_snapshot (void *arg, uint64_t index, void **data, size_t *size)
{
    s_fsm_t *fsm = (s_fsm_t *) arg;
    assert (index == fsm->applied || fsm->applied == 0);
    byte *buf = (byte *) malloc (S_FSM_HEADER + fsm->pad_bytes);
    if (!buf)
        return -1;
    uint64_t header [3] = {fsm->applied, fsm->bytes, fsm->sum};
    memcpy (buf, header, S_FSM_HEADER);
    if (fsm->pad_bytes)
        memcpy (buf + S_FSM_HEADER, fsm->padding, fsm->pad_bytes);
    *data = buf;
    *size = S_FSM_HEADER + fsm->pad_bytes;
    return 0;
}

static int
s_fsm_restore (void *arg, uint64_t index, const void *data, size_t size)
{
    s_fsm_t *fsm = (s_fsm_t *) arg;
    int64_t start = s_now_us ();
    if (size != S_FSM_HEADER + fsm->pad_bytes) {
        fprintf (stderr, "zraft-bench: restore: %zu bytes, want %zu"
                 " (--state-bytes differs?)\n", size,
                 S_FSM_HEADER + fsm->pad_bytes);
        return -1;
    }
    uint64_t header [3];
    memcpy (header, data, S_FSM_HEADER);
    if (fsm->pad_bytes)
        memcpy (fsm->padding, (const byte *) data + S_FSM_HEADER,
                fsm->pad_bytes);
    uint64_t sum = s_checksum (fsm->padding, fsm->pad_bytes);
    if (sum != header [2]) {
        fprintf (stderr, "zraft-bench: restore: checksum %016" PRIx64
                 ", the snapshot says %016" PRIx64 "\n", sum, header [2]);
        return -1;
    }
    fsm->applied = index;
    fsm->bytes = header [1];
    fsm->sum = sum;
    fsm->restores++;
    fsm->restore_at_us = start;
    fsm->restore_us = s_now_us () - start;
    return 0;
}

/* Starts server id of opts->nodes on ports, its WAL in data_dir. The
   port may still be held by a socket closing, so a failed start is
   retried a few times. Returns the server, or NULL after a message. */
static zraft_t *
s_node_start (const s_opts_t *opts, uint32_t id, const uint16_t *ports,
              const char *data_dir)
{
    assert (id >= 1 && id <= opts->nodes);
    char endpoints [ZRAFT_NODES_MAX][32];
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = id;
    config.n_servers = opts->nodes;
    for (uint32_t i = 0; i < opts->nodes; i++) {
        snprintf (endpoints [i], sizeof endpoints [i], "tcp://127.0.0.1:%u",
                  ports [i]);
        config.servers [i].id = i + 1;
        config.servers [i].endpoint = endpoints [i];
    }
    config.data_dir = data_dir;
    config.heartbeat_ms = opts->heartbeat_ms;
    config.election_timeout_ms = opts->election_ms;
    config.inflight_max = opts->window;
    config.batch_bytes = opts->batch_bytes;
    config.seed = opts->seed ? opts->seed + id : 0;
    if (opts->snapshot_entries)
        config.snapshot_entries = opts->snapshot_entries;
    if (opts->snapshot_bytes_set)
        config.snapshot_bytes = opts->snapshot_bytes;
    if (opts->snapshot_chunk_bytes)
        config.snapshot_chunk_bytes = opts->snapshot_chunk_bytes;
    zraft_fsm_t fsm = {.apply = s_fsm_apply, .arg = &s_fsms [id - 1]};
    if (s_fsm_pad (&s_fsms [id - 1], opts->state_bytes)) {
        fprintf (stderr, "zraft-bench: n%u: no memory for --state-bytes"
                 " %" PRIu64 "\n", id, opts->state_bytes);
        return NULL;
    }
    if (!opts->no_snapshots) {
        fsm.snapshot = s_fsm_snapshot;
        fsm.restore = s_fsm_restore;
    }
    zraft_t *node = NULL;
    for (int attempt = 0; attempt < S_NEW_ATTEMPTS; attempt++) {
        node = zraft_new (&config, &fsm);
        if (node || s_interrupted)
            break;
        zclock_sleep (50);
    }
    if (!node)
        fprintf (stderr, "zraft-bench: n%u did not start (%s, %s)\n", id,
                 endpoints [id - 1], data_dir);
    return node;
}

/* Applies --drop and --delay to every link into server id: to what it
   receives from each other server. Returns 0, or the first error of
   zraft_fault after a message on stderr. */
static int
s_node_faults (const s_opts_t *opts, zraft_t *node, uint32_t id)
{
    zraft_link_fault_t fault = {.drop_ppm = opts->drop_ppm,
                                .delay_ms = opts->delay_ms,
                                .jitter_ms = opts->jitter_ms};
    for (uint32_t peer = 1; s_faults_on (opts) && peer <= opts->nodes;
         peer++) {
        int rc = peer == id ? 0 : zraft_fault (node, peer, &fault);
        if (rc != 0) {
            fprintf (stderr, "zraft-bench: n%u: cannot set the faults of"
                     " the link from n%u: %s\n", id, peer,
                     zraft_strerror (rc));
            return rc;
        }
    }
    return 0;
}

/* Prints a node's status on stderr, for failure reports. */
static void
s_node_dump (zraft_t *node, uint32_t id)
{
    zraft_status_t s;
    if (zraft_status (node, &s) != 0) {
        fprintf (stderr, "  n%u: shut down\n", id);
        return;
    }
    fprintf (stderr, "  n%u: role=%d term=%" PRIu64 " leader=%u"
             " commit=%" PRIu64 " applied=%" PRIu64 " last=%" PRIu64
             " persisted=%" PRIu64 " disk_failed=%d elections=%" PRIu64
             "\n", id, (int) s.role, s.term, s.leader, s.commit,
             s.applied, s.last_index, s.persisted, (int) s.disk_failed,
             s.elections);
}

/* ------------------------------------------------- in-process cluster */

typedef struct {
    s_opts_t opts;                      /* parsed flags */
    s_dirs_t dirs;                      /* data dirs */
    uint16_t ports [ZRAFT_NODES_MAX];   /* by id - 1 */
    zraft_t *nodes [ZRAFT_NODES_MAX];   /* by id - 1, owned */
    zpoller_t *poller;                  /* every node's events socket */
    uint32_t leader;                    /* current leader id, 0 if none */
    s_load_t *load;                     /* generator and tracker */
    s_samples_t *samples;               /* RSS and disk over time */
    s_progress_t progress;              /* stderr progress line */
    int64_t measure_us;                 /* when measuring began */
    int64_t end_us;                     /* when measuring ended */
    int64_t cpu_us [2];                 /* process CPU then */
    zraft_status_t before [ZRAFT_NODES_MAX];    /* counters at measure_us */
    zraft_status_t after [ZRAFT_NODES_MAX];     /* counters at end_us */
} s_bench_t;

static s_bench_t *
s_bench_new (const s_opts_t *opts)
{
    s_bench_t *self = (s_bench_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    self->load = s_load_new (&self->opts);
    self->samples = s_samples_new (&self->opts, false);
    if (!self->load || !self->samples) {
        s_load_destroy (&self->load);
        s_samples_destroy (&self->samples);
        free (self);
        return NULL;
    }
    s_progress_init (&self->progress);
    return self;
}

/* Stops every node, then removes the data unless --keep. */
static void
s_bench_destroy (s_bench_t **self_p)
{
    assert (self_p);
    s_bench_t *self = *self_p;
    if (!self)
        return;
    s_progress_clear (&self->progress);
    zpoller_destroy (&self->poller);
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++)
        zraft_destroy (&self->nodes [i]);
    s_dirs_remove (&self->dirs, &self->opts);
    s_load_destroy (&self->load);
    s_samples_destroy (&self->samples);
    free (self);
    *self_p = NULL;
}

/* Starts the cluster and the poller over its events sockets. */
static int
s_bench_start (s_bench_t *self)
{
    if (s_dirs_make (&self->dirs, &self->opts)
        || s_ports_pick (self->ports, self->opts.nodes))
        return -1;
    for (uint32_t id = 1; id <= self->opts.nodes; id++) {
        self->nodes [id - 1] = s_node_start (&self->opts, id, self->ports,
                                             self->dirs.data [id - 1]);
        if (!self->nodes [id - 1])
            return -1;
    }
    for (uint32_t id = 1; id <= self->opts.nodes; id++)
        if (s_node_faults (&self->opts, self->nodes [id - 1], id))
            return -1;
    self->poller = zpoller_new (zraft_events (self->nodes [0]), NULL);
    assert (self->poller);
    for (uint32_t i = 1; i < self->opts.nodes; i++)
        zpoller_add (self->poller, zraft_events (self->nodes [i]));
    return 0;
}

static int
s_bench_drain (s_bench_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->nodes [i] && s_load_drain (self->load, self->nodes [i]))
            return -1;
    return 0;
}

/* Returns the agreed leader id and sets *term, or 0 if there is none:
   exactly one node must be leader, and all must agree on it and term. */
static uint32_t
s_bench_leader_agreed (s_bench_t *self, uint64_t *term)
{
    zraft_status_t status [ZRAFT_NODES_MAX];
    uint32_t leaders = 0, leader = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (zraft_status (self->nodes [i], &status [i]) != 0)
            return 0;
        if (status [i].role == ZRAFT_LEADER) {
            leaders++;
            leader = i + 1;
        }
    }
    if (leaders != 1)
        return 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (status [i].leader != leader
            || status [i].term != status [leader - 1].term)
            return 0;
    *term = status [leader - 1].term;
    return leader;
}

static void
s_bench_dump (s_bench_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        s_node_dump (self->nodes [i], i + 1);
}

/* Waits (20 election timeouts at most) for an agreed leader, draining
   events meanwhile, and points the load at it. Returns 0, or -1 after a
   message. */
static int
s_bench_leader_find (s_bench_t *self)
{
    int64_t deadline = zclock_mono () + 20 * (int64_t) self->opts.election_ms;
    uint64_t term = 0;
    uint32_t leader = 0;
    while (!s_interrupted) {
        if (s_bench_drain (self))
            break;
        leader = s_bench_leader_agreed (self, &term);
        if (leader || zclock_mono () >= deadline)
            break;
        zpoller_wait (self->poller, S_POLL_MS);
    }
    if (!leader && s_interrupted)
        return -1;
    if (!leader) {
        s_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: no agreed leader within %u ms\n",
                 20 * self->opts.election_ms);
        s_bench_dump (self);
        return -1;
    }
    self->leader = leader;
    s_load_set_leader (self->load, self->nodes [leader - 1], term);
    return 0;
}

/* Checks progress: after an election timeout without completions the
   leader may have stepped down; after 20 the cluster is stalled. */
static int
s_bench_watch (s_bench_t *self, int64_t now)
{
    int64_t quiet_us = now - self->load->progress_us;
    int64_t election_us = 1000 * (int64_t) self->opts.election_ms;
    if (self->load->pending == 0 || quiet_us < election_us)
        return 0;
    zraft_status_t status;
    if (zraft_status (self->nodes [self->leader - 1], &status) != 0)
        return -1;
    if (status.role != ZRAFT_LEADER || status.term != self->load->term)
        return s_bench_leader_find (self);
    if (quiet_us < 20 * election_us)
        return 0;
    s_progress_clear (&self->progress);
    fprintf (stderr, "zraft-bench: stalled: %" PRIu64 " pending on leader"
             " n%u, nothing applied for %" PRId64 " ms\n",
             self->load->pending, self->leader, quiet_us / 1000);
    s_bench_dump (self);
    return -1;
}

/* Snapshots every node's counters and the process's CPU into slot 0
   (before) or 1 (after). */
static int
s_bench_counters (s_bench_t *self, int slot)
{
    zraft_status_t *status = slot ? self->after : self->before;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (zraft_status (self->nodes [i], &status [i]) != 0)
            return -1;
    self->cpu_us [slot] = s_cpu_us ();
    return 0;
}

/* Starts the measured window if warm-up is over. Returns 0 or -1. */
static int
s_bench_window (s_bench_t *self, int64_t now, int64_t measure_at)
{
    if (self->load->measuring || now < measure_at)
        return 0;
    if (s_bench_counters (self, 0))
        return -1;
    self->load->measuring = true;
    self->measure_us = s_now_us ();
    self->end_us = self->measure_us
                   + 1000000 * (int64_t) self->opts.duration_s;
    self->load->stop_us = self->end_us;
    return 0;
}

/* Samples every node when due: the process's RSS (the nodes are its
   threads), its data dir's disk use and its commit index. This thread
   also runs the load, which waits the few ms the walk of a dir takes.
   Returns 0, or -1 if a node is gone or above --rss-max or --disk-max. */
static int
s_bench_sample (s_bench_t *self, int64_t now)
{
    if (!s_samples_due (self->samples, now))
        return 0;
    if (self->samples->print)
        s_progress_clear (&self->progress);
    uint64_t rss = s_rss_bytes (0);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        zraft_status_t status;
        if (zraft_status (self->nodes [i], &status) != 0)
            return -1;
        s_samples_add (self->samples, now, i + 1, rss,
                       s_disk_usage (self->dirs.data [i]), status.commit);
    }
    s_samples_tick (self->samples, now);
    return self->samples->over ? -1 : 0;
}

/* Runs the load for warm-up + duration. Returns 0 or -1. */
static int
s_bench_run (s_bench_t *self)
{
    s_load_t *load = self->load;
    load->t0_us = s_now_us ();
    int64_t measure_at = load->t0_us
                         + 1000000 * (int64_t) self->opts.warmup_s;
    s_samples_start (self->samples, load->t0_us,
                     self->opts.warmup_s + self->opts.duration_s);
    self->end_us = INT64_MAX;           /* set once measuring begins */
    while (!s_interrupted) {
        int64_t now = s_now_us ();
        if (s_bench_window (self, now, measure_at)
            || s_bench_sample (self, now))
            return -1;
        if (now >= self->end_us)
            break;
        int rc = s_load_fill (load, now);
        if (rc == 1)
            rc = s_bench_leader_find (self);
        if (rc || s_bench_watch (self, now))
            return -1;
        s_progress_tick (&self->progress, now, load->done, self->measure_us,
                         self->opts.duration_s);
        zpoller_wait (self->poller, s_load_wait_ms (load, s_now_us ()));
        if (s_bench_drain (self))
            return -1;
    }
    load->measuring = false;
    self->end_us = s_now_us ();
    s_progress_clear (&self->progress);
    if (s_interrupted)
        return -1;
    return s_bench_counters (self, 1);
}

/* Waits up to S_VERIFY_MS for every node to commit and apply through
   the last proposed index. Returns 0, or -1 after a message. */
static int
s_bench_verify (s_bench_t *self)
{
    int64_t deadline = zclock_mono () + S_VERIFY_MS;
    uint64_t last = self->load->last_index;
    while (!s_interrupted) {
        if (s_bench_drain (self))
            break;
        uint32_t through = 0;
        for (uint32_t i = 0; i < self->opts.nodes; i++) {
            zraft_status_t s;
            if (zraft_status (self->nodes [i], &s) == 0 && s.commit >= last
                && s.applied >= last)
                through++;
        }
        if (through == self->opts.nodes)
            return 0;
        if (zclock_mono () >= deadline)
            break;
        zpoller_wait (self->poller, S_POLL_MS);
    }
    if (s_interrupted)
        return -1;
    fprintf (stderr, "zraft-bench: verify failed: not all %u nodes applied"
             " through index %" PRIu64 " within %d ms\n", self->opts.nodes,
             last, S_VERIFY_MS);
    s_bench_dump (self);
    return -1;
}

static void
s_bench_result (s_bench_t *self, s_result_t *r)
{
    memset (r, 0, sizeof *r);
    s_load_t *load = self->load;
    r->seconds = (double) (self->end_us - self->measure_us) / 1e6;
    r->committed = load->committed;
    r->lost = load->lost;
    r->leader_changes = load->term_changes;
    r->leader = self->leader;
    r->term = load->term;
    r->cap_hits = load->cap_hits;
    r->outstanding_peak = load->outstanding_peak;
    r->last_index = load->last_index;
    r->hist = load->hist;
    r->samples = self->samples;
    int64_t cpu = self->cpu_us [1] - self->cpu_us [0], rss = s_rss_kib ();
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        s_node_fig_set (&r->nodes [i], &self->before [i], &self->after [i],
                        cpu, rss);
}

/* Measures, reports and verifies in one process. Returns the exit code. */
static int
s_bench_main (s_bench_t *self)
{
    int rc = s_bench_start (self);
    s_signals_block (false);            /* from here on, to us alone */
    if (rc || s_bench_leader_find (self) || s_bench_run (self)) {
        if (self->samples->over && !s_interrupted)
            s_print_stopped (&self->opts, self->samples);
        return s_interrupted ? S_EX_INTERRUPTED : 1;
    }
    s_result_t result;
    s_bench_result (self, &result);
    bool verified = s_bench_verify (self) == 0;
    s_print (&self->opts, &result);
    if (verified && !self->opts.json)
        printf ("\nverified: all %u nodes applied through index %" PRIu64
                "\n", self->opts.nodes, result.last_index);
    fflush (stdout);
    if (s_interrupted)
        return S_EX_INTERRUPTED;
    return verified ? 0 : 1;
}

/* ------------------------------------------------------ snapshot drills */

/* What a drill measured; times in us from the drill's step start. */
typedef struct {
    uint32_t follower;                  /* the server stopped or cut off */
    uint64_t snapshot_index;            /* the snapshot it restored */
    uint64_t target;                    /* the leader's commit it must reach */
    uint64_t snapshot_take_us;          /* zraft_snapshot -> all taken */
    int64_t new_us;                     /* restart: zraft_new returned */
    int64_t restore_at_us;              /* restart: restore began */
    int64_t restore_us;                 /* restore's own time (copy, check) */
    int64_t installed_us;               /* install: snapshots_installed++ */
    int64_t serving_us;                 /* applied reached target */
    uint64_t dir_bytes;                 /* follower's data dir, allocated */
} s_drill_fig_t;

/* Status of server id, or -1 if it is stopped or gone. */
static int
s_drill_status (s_bench_t *self, uint32_t id, zraft_status_t *status)
{
    zraft_t *node = self->nodes [id - 1];
    return node && zraft_status (node, status) == 0 ? 0 : -1;
}

/* Rebuilds the poller over the running servers' events sockets. */
static void
s_drill_poller (s_bench_t *self)
{
    zpoller_destroy (&self->poller);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (!self->nodes [i])
            continue;
        if (!self->poller)
            self->poller = zpoller_new (zraft_events (self->nodes [i]), NULL);
        else
            zpoller_add (self->poller, zraft_events (self->nodes [i]));
    }
    assert (self->poller);
}

/* Commits n more entries through the load, then waits until none is
   pending. Returns 0, or -1 after a message (stall, leader lost). */
static int
s_drill_commit (s_bench_t *self, uint64_t n)
{
    s_load_t *load = self->load;
    uint64_t target = load->done + n;
    load->progress_us = s_now_us ();
    while (!s_interrupted && (load->done < target || load->pending)) {
        int64_t now = s_now_us ();
        int rc = load->done < target ? s_load_fill (load, now) : 0;
        if (rc == 1)
            rc = s_bench_leader_find (self);
        if (rc || s_bench_watch (self, now))
            return -1;
        s_progress_tick (&self->progress, now, load->done, 0, 0);
        zpoller_wait (self->poller, S_LOOP_MS);
        if (s_bench_drain (self))
            return -1;
    }
    s_progress_clear (&self->progress);
    return s_interrupted ? -1 : 0;
}

/* Waits until cond (id, status) holds for server id, draining events,
   at most S_DRILL_WAIT_MS. Returns the time it held (s_now_us), or -1
   after a message naming what. */
typedef bool (s_drill_cond_fn) (const zraft_status_t *status, uint64_t arg);

static int64_t
s_drill_until (s_bench_t *self, uint32_t id, s_drill_cond_fn *cond,
               uint64_t arg, const char *what)
{
    int64_t deadline = s_now_us () + 1000 * (int64_t) S_DRILL_WAIT_MS;
    while (!s_interrupted && s_now_us () < deadline) {
        zraft_status_t status;
        if (s_drill_status (self, id, &status) == 0 && cond (&status, arg))
            return s_now_us ();
        if (s_bench_drain (self))
            break;
        zpoller_wait (self->poller, 1);
    }
    if (!s_interrupted) {
        fprintf (stderr, "zraft-bench: drill: n%u never %s\n", id, what);
        s_bench_dump (self);
    }
    return -1;
}

static bool
s_cond_snapshots (const zraft_status_t *status, uint64_t arg)
{
    return status->snapshots > arg;
}

static bool
s_cond_applied (const zraft_status_t *status, uint64_t arg)
{
    return status->applied >= arg && status->commit >= arg;
}

static bool
s_cond_installed (const zraft_status_t *status, uint64_t arg)
{
    return status->snapshots_installed > arg;
}

/* Asks every running server but skip (0: none) for a snapshot and
   waits for all. Sets fig->snapshot_take_us. Returns 0 or -1 after a
   message. */
static int
s_drill_snapshot (s_bench_t *self, uint32_t skip, s_drill_fig_t *fig)
{
    uint64_t before [ZRAFT_NODES_MAX] = {0};
    int64_t start = s_now_us (), done = start;
    for (uint32_t id = 1; id <= self->opts.nodes; id++) {
        zraft_status_t status;
        if (id == skip || s_drill_status (self, id, &status) != 0)
            continue;
        before [id - 1] = status.snapshots;
        int rc = zraft_snapshot (self->nodes [id - 1]);
        if (rc != 0) {
            fprintf (stderr, "zraft-bench: drill: n%u zraft_snapshot: %s\n",
                     id, zraft_strerror (rc));
            return -1;
        }
    }
    for (uint32_t id = 1; id <= self->opts.nodes && done >= 0; id++)
        if (self->nodes [id - 1] && id != skip)
            done = s_drill_until (self, id, s_cond_snapshots,
                                  before [id - 1], "took its snapshot");
    fig->snapshot_take_us = done >= 0 ? (uint64_t) (done - start) : 0;
    return done >= 0 ? 0 : -1;
}

/* The leader's commit index once every running server but skip (0:
   none) applied it. */
static int
s_drill_settle (s_bench_t *self, uint32_t skip, uint64_t *commit)
{
    zraft_status_t leader;
    if (s_drill_status (self, self->leader, &leader) != 0)
        return -1;
    for (uint32_t id = 1; id <= self->opts.nodes; id++)
        if (self->nodes [id - 1] && id != skip
            && s_drill_until (self, id, s_cond_applied, leader.commit,
                              "applied the leader's commit index") < 0)
            return -1;
    *commit = leader.commit;
    return 0;
}

/* Syncs and drops the page cache (root only): the restarted server then
   reads its snapshot and WAL from the disk. Warns if it cannot. */
static void
s_drill_drop_caches (void)
{
    sync ();
    int fd = open ("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write (fd, "3\n", 2) == 2;
    if (fd >= 0)
        close (fd);
    if (!ok)
        fprintf (stderr, "zraft-bench: warning: cannot drop the page cache"
                 " (%s); the restart may read from memory\n",
                 strerror (errno));
}

/* The first server that is not the leader. */
static uint32_t
s_drill_follower (const s_bench_t *self)
{
    uint32_t id = self->leader == 1 ? 2 : 1;
    assert (id != self->leader && id <= self->opts.nodes);
    return id;
}

/* Checks that server id restored a snapshot since its state machine
   had counted restores, and that its disk has not failed: a server that
   could not read its snapshot may still apply the entries after it (on
   a wrong state) and would look "serving". Returns 0 or -1 after a
   message. */
static int
s_drill_restored (s_bench_t *self, uint32_t id, uint64_t restores)
{
    zraft_status_t status;
    if (s_drill_status (self, id, &status) != 0)
        return -1;
    bool ok = s_fsms [id - 1].restores > restores && !status.disk_failed;
    if (!ok)
        fprintf (stderr, "zraft-bench: drill: n%u %s (see its log above)\n",
                 id, status.disk_failed ? "stopped acknowledging: disk"
                                          " failed or restore refused"
                                        : "never restored a snapshot");
    return ok ? 0 : -1;
}

/* Restart drill: snapshot, commit --drill-entries, stop a follower,
   restart it; times zraft_new and until it applied the leader's commit
   index. Returns 0 or -1 after a message. */
static int
s_drill_restart (s_bench_t *self, s_drill_fig_t *fig)
{
    uint64_t commit = 0;
    if (s_drill_commit (self, 1000) || s_drill_snapshot (self, 0, fig)
        || s_drill_commit (self, self->opts.drill_entries)
        || s_drill_settle (self, 0, &commit))
        return -1;
    uint32_t id = s_drill_follower (self);
    zraft_status_t status;
    if (s_drill_status (self, id, &status) != 0)
        return -1;
    fig->follower = id;
    fig->snapshot_index = status.snapshot_index;
    fig->target = commit;
    zpoller_destroy (&self->poller);
    zraft_destroy (&self->nodes [id - 1]);
    s_fsm_t *fsm = &s_fsms [id - 1];    /* its applier is gone: ours now */
    uint64_t restores = fsm->restores;
    fsm->applied = fsm->bytes = fsm->sum = 0;
    if (fsm->pad_bytes)
        memset (fsm->padding, 0, fsm->pad_bytes);   /* restore must refill */
    s_drill_poller (self);
    fig->dir_bytes = s_disk_usage (self->dirs.data [id - 1]).allocated;
    if (self->opts.drop_caches)
        s_drill_drop_caches ();
    int64_t start = s_now_us ();
    self->nodes [id - 1] = s_node_start (&self->opts, id, self->ports,
                                         self->dirs.data [id - 1]);
    fig->new_us = s_now_us () - start;
    if (!self->nodes [id - 1])
        return -1;
    s_drill_poller (self);
    int64_t serving = s_drill_until (self, id, s_cond_applied, commit,
                                     "applied the leader's commit index");
    if (serving < 0 || s_drill_restored (self, id, restores))
        return -1;
    fig->serving_us = serving - start;
    fig->restore_at_us = fsm->restore_at_us - start;
    fig->restore_us = fsm->restore_us;
    return 0;
}

/* Cuts (or heals) every link of server id. Returns 0 or -1. */
static int
s_drill_cut (s_bench_t *self, uint32_t id, bool cut)
{
    for (uint32_t peer = 1; peer <= self->opts.nodes; peer++)
        if (peer != id
            && zraft_partition (self->nodes [id - 1], peer, cut, cut) != 0) {
            fprintf (stderr, "zraft-bench: drill: cannot cut n%u\n", id);
            return -1;
        }
    return 0;
}

/* Install drill: cut a follower off, commit --drill-entries, snapshot
   every server (the leader's log then starts past the follower's), heal;
   times until the follower installed the leader's snapshot and until it
   applied the leader's commit index. Returns 0 or -1 after a message. */
static int
s_drill_install (s_bench_t *self, s_drill_fig_t *fig)
{
    uint32_t id = s_drill_follower (self);
    zraft_status_t before, leader;
    uint64_t commit = 0;
    if (s_drill_cut (self, id, true)
        || s_drill_commit (self, self->opts.drill_entries)
        || s_drill_snapshot (self, id, fig)
        || s_drill_settle (self, id, &commit)
        || s_drill_status (self, id, &before) != 0
        || s_drill_status (self, self->leader, &leader) != 0)
        return -1;
    fig->follower = id;
    fig->snapshot_index = leader.snapshot_index;
    fig->target = commit;
    if (leader.first_index <= before.last_index + 1) {
        fprintf (stderr, "zraft-bench: drill: the leader's log (from %"
                 PRIu64 ") still holds n%u's next entry %" PRIu64 ": raise"
                 " --drill-entries\n", leader.first_index, id,
                 before.last_index + 1);
        return -1;
    }
    uint64_t restores = s_fsms [id - 1].restores;
    int64_t start = s_now_us ();
    if (s_drill_cut (self, id, false))
        return -1;
    int64_t installed = s_drill_until (self, id, s_cond_installed,
                                       before.snapshots_installed,
                                       "installed a snapshot");
    int64_t serving = installed < 0 ? -1
                      : s_drill_until (self, id, s_cond_applied, commit,
                                       "applied the leader's commit index");
    if (serving < 0 || s_drill_restored (self, id, restores))
        return -1;
    fig->installed_us = installed - start;
    fig->serving_us = serving - start;
    fig->dir_bytes = s_disk_usage (self->dirs.data [id - 1]).allocated;
    return 0;
}

/* Prints what a drill measured: text, or one JSON object. */
static void
s_drill_print (const s_opts_t *o, const s_drill_fig_t *fig)
{
    bool restart = streq (o->drill, "restart");
    double state = (double) (S_FSM_HEADER + o->state_bytes);
    double install_s = (double) fig->installed_us / 1e6;
    double mb_s = !restart && fig->installed_us > 0 ? state / 1e6 / install_s
                                                    : 0;
    if (o->json) {
        printf ("{\"impl\":\"zraft\",\"drill\":\"%s\",\"nodes\":%u,"
                "\"state_bytes\":%.0f,\"entries\":%" PRIu64 ",\"follower\":%u,"
                "\"snapshot_index\":%" PRIu64 ",\"target\":%" PRIu64 ","
                "\"snapshot_take_s\":%.3f,\"new_s\":%.3f,\"restore_at_s\":%.3f,"
                "\"restore_s\":%.3f,\"installed_s\":%.3f,\"serving_s\":%.3f,"
                "\"install_mb_per_s\":%.1f,\"chunk_bytes\":%u,"
                "\"drop_caches\":%s,\"dir_bytes\":%" PRIu64 "}\n",
                o->drill, o->nodes, state, o->drill_entries, fig->follower,
                fig->snapshot_index, fig->target,
                (double) fig->snapshot_take_us / 1e6,
                (double) fig->new_us / 1e6, (double) fig->restore_at_us / 1e6,
                (double) fig->restore_us / 1e6, install_s,
                (double) fig->serving_us / 1e6, mb_s,
                o->snapshot_chunk_bytes ? o->snapshot_chunk_bytes : 1u << 20,
                o->drop_caches ? "true" : "false", fig->dir_bytes);
        return;
    }
    printf ("drill %s: %u nodes, state %.0f bytes (%.1f MiB), %" PRIu64
            " entries %s, snapshot at index %" PRIu64 "\n", o->drill,
            o->nodes, state, state / 1048576.0, o->drill_entries,
            restart ? "after the snapshot" : "while a follower was cut off",
            fig->snapshot_index);
    printf ("  snapshot taken by every server in %.3f s\n",
            (double) fig->snapshot_take_us / 1e6);
    if (restart)
        printf ("  n%u restarted%s: zraft_new returned after %.3f s,"
                " restore began at %.3f s and took %.3f s,\n  applied the"
                " leader's commit index %" PRIu64 " (serving) at %.3f s;"
                " data dir %.1f MiB\n", fig->follower,
                o->drop_caches ? " (page cache dropped)" : "",
                (double) fig->new_us / 1e6, (double) fig->restore_at_us / 1e6,
                (double) fig->restore_us / 1e6, fig->target,
                (double) fig->serving_us / 1e6,
                (double) fig->dir_bytes / 1048576.0);
    else
        printf ("  n%u healed: snapshot installed after %.3f s (%.1f MB/s,"
                " %u B chunks), applied the leader's commit index %" PRIu64
                " at %.3f s\n", fig->follower, install_s, mb_s,
                o->snapshot_chunk_bytes ? o->snapshot_chunk_bytes : 1u << 20,
                fig->target, (double) fig->serving_us / 1e6);
}

/* Runs a drill in one process. Returns the exit code. */
static int
s_drill_main (s_bench_t *self)
{
    int rc = s_bench_start (self);
    s_signals_block (false);
    if (rc || s_bench_leader_find (self))
        return s_interrupted ? S_EX_INTERRUPTED : 1;
    s_drill_fig_t fig;
    memset (&fig, 0, sizeof fig);
    rc = streq (self->opts.drill, "restart") ? s_drill_restart (self, &fig)
                                             : s_drill_install (self, &fig);
    if (rc != 0)
        return s_interrupted ? S_EX_INTERRUPTED : 1;
    s_drill_print (&self->opts, &fig);
    fflush (stdout);
    return 0;
}

/* ------------------------------------------------------- --procs child */

typedef struct {
    s_opts_t opts;                      /* parsed flags, --child-* set */
    int fd;                             /* socketpair to the parent */
    char data_dir [S_DIR_MAX + 16];     /* child_dir/n<id> */
    zraft_t *node;                      /* this child's server */
    s_load_t *load;                     /* used while this child loads */
    char in [S_CMD_MAX];                /* partial command line */
    size_t in_used;                     /* bytes in `in` */
    char *out;                          /* S_LINE_MAX, for the HIST line */
    bool windowed;                      /* WINDOW received */
    int64_t start_us, end_us;           /* the measured window */
    bool started, ended;                /* its snapshots were taken */
    zraft_status_t before, after;       /* counters at start and end */
    int64_t cpu_us [2];                 /* process CPU at start and end */
    int64_t status_at_us;               /* next STATUS report */
    uint64_t verify_index;              /* VERIFY target; 0 = none */
    int64_t verify_until_us;            /* and its deadline */
    bool quit;                          /* EXIT, EOF or failure */
    bool failed;                        /* exit 1 */
} s_child_t;

/* Sends len bytes to the parent, whole. Returns 0 or -1 (parent gone). */
static int
s_fd_send (int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t sent = send (fd, data, len, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        data += sent;
        len -= (size_t) sent;
    }
    return 0;
}

/* Sends one printf-formatted line (newline added) to the parent. */
static int s_child_say (s_child_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static int
s_child_say (s_child_t *self, const char *format, ...)
{
    char line [S_CMD_MAX * 2];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    assert (n > 0 && (size_t) n < sizeof line - 1);
    line [n++] = '\n';
    if (s_fd_send (self->fd, line, (size_t) n) == 0)
        return 0;
    self->quit = true;                  /* the parent is gone */
    return -1;
}

static void
s_child_destroy (s_child_t **self_p)
{
    assert (self_p);
    s_child_t *self = *self_p;
    if (!self)
        return;
    zraft_destroy (&self->node);
    s_load_destroy (&self->load);
    if (self->fd >= 0)
        close (self->fd);
    free (self->out);
    free (self);
    *self_p = NULL;
}

static s_child_t *
s_child_new (const s_opts_t *opts)
{
    s_child_t *self = (s_child_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    self->fd = (int) opts->child_fd;
    self->load = s_load_new (&self->opts);
    self->out = (char *) malloc (S_LINE_MAX);
    snprintf (self->data_dir, sizeof self->data_dir, "%s/n%u",
              opts->child_dir, opts->child_id);
    if (!self->load || !self->out)
        s_child_destroy (&self);
    return self;
}

/* Stops loading (the server stepped down, or the window ended) and says
   so at once, so that the parent can hand the load on. */
static void
s_child_unload (s_child_t *self)
{
    if (!self->load->leader)
        return;
    s_load_set_leader (self->load, NULL, self->load->term);
    self->status_at_us = 0;             /* report now */
}

/* Reports role, term, leader, whether loading, completions, the open
   loop's next proposal number and the commit index, every S_STATUS_MS. */
static void
s_child_status (s_child_t *self, int64_t now)
{
    if (now < self->status_at_us)
        return;
    self->status_at_us = now + 1000 * S_STATUS_MS;
    zraft_status_t s;
    if (zraft_status (self->node, &s) != 0)
        return;
    s_child_say (self, "STATUS %d %" PRIu64 " %u %d %" PRIu64 " %" PRIu64
                 " %" PRIu64, (int) s.role, s.term, s.leader,
                 self->load->leader != NULL, self->load->done,
                 self->load->next_k, s.commit);
}

/* Sends the window's figures: NODE, HIST, then FINAL. */
static void
s_child_final (s_child_t *self)
{
    s_node_fig_t f;
    s_node_fig_set (&f, &self->before, &self->after,
                    self->cpu_us [1] - self->cpu_us [0], s_rss_kib ());
    s_child_say (self, "NODE %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64, f.syncs, f.wal_entries, f.appends,
                 f.entries_out, f.bytes_out, f.cpu_us, f.rss_kib,
                 f.fault_dropped, f.fault_delayed, f.fault_duplicated);
    memcpy (self->out, "HIST ", 5);
    int n = zr_histogram_encode (self->load->hist, self->out + 5,
                                 S_LINE_MAX - 6);
    assert (n > 0);
    self->out [5 + n] = '\n';
    if (s_fd_send (self->fd, self->out, (size_t) n + 6))
        self->quit = true;
    s_load_t *l = self->load;
    s_child_say (self, "FINAL %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64, l->committed, l->lost, l->last_index,
                 l->cap_hits, l->outstanding_peak);
}

/* Takes the window's snapshots when its start and end come. */
static int
s_child_window (s_child_t *self, int64_t now)
{
    if (!self->windowed)
        return 0;
    if (!self->started && now >= self->start_us) {
        if (zraft_status (self->node, &self->before) != 0)
            return -1;
        self->cpu_us [0] = s_cpu_us ();
        self->load->measuring = true;
        self->started = true;
    }
    if (self->started && !self->ended && now >= self->end_us) {
        self->load->measuring = false;
        s_child_unload (self);
        if (zraft_status (self->node, &self->after) != 0)
            return -1;
        self->cpu_us [1] = s_cpu_us ();
        self->ended = true;
        s_child_final (self);
    }
    return 0;
}

/* While loading: proposes, and stops when the server is no longer the
   leader; fails after 20 election timeouts without a completion. */
static int
s_child_load (s_child_t *self, int64_t now)
{
    s_load_t *load = self->load;
    if (!load->leader)
        return 0;
    int rc = s_load_fill (load, now);
    if (rc == 1)
        s_child_unload (self);
    if (rc)
        return rc < 0 ? -1 : 0;
    int64_t quiet_us = now - load->progress_us;
    int64_t election_us = 1000 * (int64_t) self->opts.election_ms;
    if (load->pending == 0 || quiet_us < election_us)
        return 0;
    zraft_status_t status;
    if (zraft_status (self->node, &status) != 0)
        return -1;
    if (status.role != ZRAFT_LEADER || status.term != load->term)
        s_child_unload (self);
    else
    if (quiet_us >= 20 * election_us) {
        s_child_say (self, "FAIL stalled: %" PRIu64 " pending, nothing"
                     " applied for %" PRId64 " ms", load->pending,
                     quiet_us / 1000);
        return -1;
    }
    return 0;
}

/* Answers VERIFY once the server applied through the index asked, or
   when S_VERIFY_MS have passed. */
static void
s_child_verify (s_child_t *self, int64_t now)
{
    if (!self->verify_index)
        return;
    zraft_status_t s;
    bool through = zraft_status (self->node, &s) == 0
                   && s.commit >= self->verify_index
                   && s.applied >= self->verify_index;
    if (!through && now < self->verify_until_us)
        return;
    if (!through)
        s_node_dump (self->node, self->opts.child_id);
    s_child_say (self, "VERIFIED %d", through ? 1 : 0);
    self->verify_index = 0;
}

/* LOAD t0 next_k: this child's server leads; load it (unless already,
   or the window is over), continuing the open loop's schedule. */
static void
s_child_on_load (s_child_t *self, int64_t t0_us, uint64_t next_k)
{
    s_load_t *load = self->load;
    if (load->leader || (self->windowed && s_now_us () >= self->end_us))
        return;
    zraft_status_t s;
    if (zraft_status (self->node, &s) != 0 || s.role != ZRAFT_LEADER)
        return;                         /* the parent will see it */
    load->t0_us = t0_us;
    load->next_k = next_k > load->next_k ? next_k : load->next_k;
    s_load_set_leader (load, self->node, s.term);
    self->status_at_us = 0;
}

/* Handles one command line from the parent (trusted: our own parent,
   so a malformed line is a programming error). */
static void
s_child_command (s_child_t *self, const char *line)
{
    int64_t a = 0, b = 0;
    uint64_t u = 0;
    if (sscanf (line, "WINDOW %" SCNd64 " %" SCNd64, &a, &b) == 2) {
        assert (a <= b && !self->windowed);
        self->windowed = true;
        self->start_us = a;
        self->end_us = b;
        self->load->stop_us = b;
    }
    else
    if (sscanf (line, "LOAD %" SCNd64 " %" SCNu64, &a, &u) == 2)
        s_child_on_load (self, a, u);
    else
    if (sscanf (line, "VERIFY %" SCNu64, &u) == 1) {
        self->verify_index = u ? u : 1;
        self->verify_until_us = s_now_us () + 1000 * S_VERIFY_MS;
    }
    else
    if (streq (line, "EXIT"))
        self->quit = true;
    else
        assert (false);
}

/* Reads what the parent sent; EOF means it is gone: quit. */
static void
s_child_read (s_child_t *self)
{
    ssize_t got = recv (self->fd, self->in + self->in_used,
                        sizeof self->in - 1 - self->in_used, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        self->quit = true;
        return;
    }
    if (got < 0)
        return;
    self->in_used += (size_t) got;
    self->in [self->in_used] = 0;
    char *line = self->in, *newline;
    while ((newline = strchr (line, '\n'))) {
        *newline = 0;
        s_child_command (self, line);
        line = newline + 1;
    }
    self->in_used = strlen (line);
    memmove (self->in, line, self->in_used);
    assert (self->in_used < sizeof self->in - 1);
}

/* The child's loop: window, load, reports, then waits on its server's
   events and the parent's socket. */
static int
s_child_run (s_child_t *self)
{
    zmq_pollitem_t items [2] = {
        {zsock_resolve (zraft_events (self->node)), 0, ZMQ_POLLIN, 0},
        {NULL, self->fd, ZMQ_POLLIN, 0}};
    while (!self->quit && !s_interrupted) {
        int64_t now = s_now_us ();
        if (s_child_window (self, now) || s_child_load (self, now))
            return -1;
        s_child_status (self, now);
        s_child_verify (self, now);
        int wait_ms = s_load_wait_ms (self->load, s_now_us ());
        if (zmq_poll (items, 2, wait_ms) < 0 && errno != EINTR)
            return -1;
        if (s_load_drain (self->load, self->node))
            return -1;
        if (items [1].revents & ZMQ_POLLIN)
            s_child_read (self);
    }
    return 0;
}

/*  A --procs child runs server --child-id and talks to its parent over
    --child-fd, one text line per message (numbers in decimal):

    child -> parent                 when
    READY                           its server started
    STATUS role term leader loading done next_k commit
                                    every S_STATUS_MS, and at once when it
                                    starts or stops loading
    NODE syncs wal_entries appends entries_out bytes_out cpu_us rss_kib
         fault_dropped fault_delayed fault_duplicated
                                    after the window: its counters' deltas
    HIST <zr_histogram_encode>      then: the latencies it measured
    FINAL committed lost last_index cap_hits outstanding_peak
                                    then: its load's totals; always last
    VERIFIED 0|1                    answers VERIFY
    FAIL <message>                  it cannot go on; it exits 1

    parent -> child
    WINDOW start_us end_us          measure between these CLOCK_MONOTONIC
                                    times (once)
    LOAD t0_us next_k               its server leads: load it; the open
                                    loop's proposal k is due at t0 + k / R
    VERIFY index                    answer once applied through index
    EXIT                            stop the server, exit 0 (EOF: same)

    Returns the exit code. */
static int
s_child_main (const s_opts_t *opts)
{
    s_signals_block (true);
    zsys_init ();
    zsys_handler_set (s_signal_cb);
    char ident [32];
    snprintf (ident, sizeof ident, "zraft-bench/n%u", opts->child_id);
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
    s_child_t *self = s_child_new (opts);
    if (!self)
        return 1;
    self->node = s_node_start (&self->opts, opts->child_id, opts->ports,
                               self->data_dir);
    s_signals_block (false);
    int rc = self->node ? 0 : -1;
    if (rc != 0)
        s_child_say (self, "FAIL n%u did not start", opts->child_id);
    else
    if (s_node_faults (&self->opts, self->node, opts->child_id)) {
        s_child_say (self, "FAIL n%u: cannot set its links' faults",
                     opts->child_id);
        rc = -1;
    }
    if (rc == 0)
        rc = s_child_say (self, "READY");
    if (rc == 0)
        rc = s_child_run (self);
    s_child_destroy (&self);
    return rc == 0 ? 0 : s_interrupted ? S_EX_INTERRUPTED : 1;
}

/* ------------------------------------------------------ --procs parent */

/* What the parent knows of one child. */
typedef struct {
    pid_t pid;                          /* 0 once reaped */
    int fd;                             /* our end of the socketpair; -1 */
    char *buf;                          /* partial line, S_LINE_MAX */
    size_t used;                        /* bytes in buf */
    bool ready;                         /* READY received */
    bool reported;                      /* a STATUS received */
    int role;                           /* from STATUS */
    uint64_t term;                      /* from STATUS */
    uint32_t leader;                    /* from STATUS */
    bool loading;                       /* from STATUS */
    uint64_t done;                      /* from STATUS: completions */
    uint64_t next_k;                    /* from STATUS: open loop */
    uint64_t commit;                    /* from STATUS: its commit index */
    bool final;                         /* FINAL received */
    s_node_fig_t fig;                   /* from NODE */
    uint64_t committed, lost, last_index, cap_hits, peak;   /* FINAL */
    int verified;                       /* -1 asked, 0 failed, 1 ok */
} s_kid_t;

enum {S_PHASE_START, S_PHASE_ELECT, S_PHASE_RUN, S_PHASE_VERIFY,
      S_PHASE_EXIT};

typedef struct {
    s_opts_t opts;                      /* parsed flags */
    const char *argv0;                  /* our name, for the children */
    s_dirs_t dirs;                      /* data dirs, made here */
    uint16_t ports [ZRAFT_NODES_MAX];   /* by id - 1 */
    s_kid_t kids [ZRAFT_NODES_MAX];     /* by id - 1 */
    int phase;                          /* S_PHASE_* */
    int64_t deadline_us;                /* the phase fails after this */
    uint32_t leader;                    /* agreed leader, 0 before */
    uint64_t term;                      /* its term */
    bool load_sent;                     /* LOAD sent to it for term */
    uint32_t leader_changes;            /* after the first agreed */
    int64_t t0_us;                      /* open loop schedule origin */
    int64_t start_us, end_us;           /* the measured window */
    uint64_t last_index;                /* highest index proposed */
    zr_histogram_t *hist;               /* every child's, merged */
    s_samples_t *samples;               /* RSS and disk over time */
    s_progress_t progress;              /* stderr progress line */
} s_procs_t;

/* Sends a command line to child i; a dead child shows as EOF later. */
static void s_procs_tell (s_procs_t *self, uint32_t i, const char *format,
                          ...) __attribute__ ((format (printf, 3, 4)));
static void
s_procs_tell (s_procs_t *self, uint32_t i, const char *format, ...)
{
    char line [S_CMD_MAX];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    assert (n > 0 && (size_t) n < sizeof line - 1);
    line [n++] = '\n';
    if (self->kids [i].fd >= 0)
        (void) s_fd_send (self->kids [i].fd, line, (size_t) n);
}

/* Builds child id's argv into args (strings in store). */
static void
s_procs_argv (s_procs_t *self, uint32_t id, int fd, char store [][64],
              char *args [], char *ports, size_t ports_size)
{
    const s_opts_t *o = &self->opts;
    size_t n = 0, used = 0;
    for (uint32_t i = 0; i < o->nodes; i++)
        used += (size_t) snprintf (ports + used, ports_size - used, "%s%u",
                                   i ? "," : "", self->ports [i]);
    snprintf (store [n++], 64, "--nodes=%u", o->nodes);
    snprintf (store [n++], 64, "--heartbeat-ms=%u", o->heartbeat_ms);
    snprintf (store [n++], 64, "--election-ms=%u", o->election_ms);
    snprintf (store [n++], 64, "--window=%u", o->window);
    snprintf (store [n++], 64, "--batch-bytes=%" PRIu64, o->batch_bytes);
    snprintf (store [n++], 64, "--entry-size=%u", o->entry_size);
    if (o->propose_batch)
        snprintf (store [n++], 64, "--propose-batch=%u", o->propose_batch);
    if (o->rate)
        snprintf (store [n++], 64, "--rate=%" PRIu64, o->rate);
    else
        snprintf (store [n++], 64, "--inflight=%u", o->inflight);
    snprintf (store [n++], 64, "--duration=%u", o->duration_s);
    snprintf (store [n++], 64, "--warmup=%u", o->warmup_s);
    snprintf (store [n++], 64, "--seed=%" PRIu64, o->seed);
    snprintf (store [n++], 64, "--drop=%u.%04u", o->drop_ppm / 10000,
              o->drop_ppm % 10000);     /* exact: ppm is 1e-4 percent */
    snprintf (store [n++], 64, "--delay=%u:%u", o->delay_ms, o->jitter_ms);
    if (o->no_snapshots)
        snprintf (store [n++], 64, "--no-snapshots");
    if (o->snapshot_entries)
        snprintf (store [n++], 64, "--snapshot-entries=%" PRIu64, o->snapshot_entries);
    if (o->snapshot_bytes_set)
        snprintf (store [n++], 64, "--snapshot-bytes=%" PRIu64,
                  o->snapshot_bytes);
    if (o->snapshot_chunk_bytes)
        snprintf (store [n++], 64, "--snapshot-chunk-bytes=%u",
                  o->snapshot_chunk_bytes);
    if (o->state_bytes)
        snprintf (store [n++], 64, "--state-bytes=%" PRIu64, o->state_bytes);
    snprintf (store [n++], 64, "--child-id=%u", id);
    snprintf (store [n++], 64, "--child-fd=%d", fd);
    assert (n <= S_CHILD_ARGS);
    args [0] = (char *) self->argv0;
    for (size_t i = 0; i < n; i++)
        args [i + 1] = store [i];
    args [n + 1] = (char *) "--child-ports";
    args [n + 2] = ports;
    args [n + 3] = (char *) "--child-dir";
    args [n + 4] = self->dirs.dir;
    args [n + 5] = NULL;
}

/* Forks and re-executes child id (1..nodes) with a socketpair to us.
   Between fork and exec only async-signal-safe calls. Returns 0 or -1. */
static int
s_procs_spawn (s_procs_t *self, uint32_t id)
{
    s_kid_t *kid = &self->kids [id - 1];
    int pair [2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        fprintf (stderr, "zraft-bench: socketpair: %s\n", strerror (errno));
        return -1;
    }
    char store [S_CHILD_ARGS][64], ports [ZRAFT_NODES_MAX * 8];
    char *args [S_CHILD_ARGS + 6];
    s_procs_argv (self, id, pair [1], store, args, ports, sizeof ports);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);                 /* ^C reaches the parent only */
        prctl (PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        if (getppid () != parent)
            _exit (1);                  /* the parent died already */
        fcntl (pair [1], F_SETFD, 0);   /* survives exec; pair [0] not */
        execv ("/proc/self/exe", args);
        _exit (127);
    }
    close (pair [1]);
    if (pid < 0) {
        fprintf (stderr, "zraft-bench: fork: %s\n", strerror (errno));
        close (pair [0]);
        return -1;
    }
    kid->pid = pid;
    kid->fd = pair [0];
    fcntl (kid->fd, F_SETFL, O_NONBLOCK);
    return 0;
}

/* Returns the agreed leader and sets *term from the children's latest
   STATUS, or 0: exactly one leads and all agree on it and its term. */
static uint32_t
s_procs_agreed (s_procs_t *self, uint64_t *term)
{
    uint32_t leaders = 0, leader = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (!self->kids [i].reported)
            return 0;
        if (self->kids [i].role == ZRAFT_LEADER) {
            leaders++;
            leader = i + 1;
        }
    }
    if (leaders != 1)
        return 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->kids [i].leader != leader
            || self->kids [i].term != self->kids [leader - 1].term)
            return 0;
    *term = self->kids [leader - 1].term;
    return leader;
}

/* Keeps the load on the agreed leader: a new leader (or term) gets LOAD
   once no other child is still loading, continuing the open loop's
   numbering where the previous loader stopped. */
static void
s_procs_follow (s_procs_t *self)
{
    uint64_t term = 0, next_k = 0;
    uint32_t agreed = s_procs_agreed (self, &term);
    if (agreed && (agreed != self->leader || term != self->term)) {
        if (self->leader)
            self->leader_changes++;
        self->leader = agreed;
        self->term = term;
        self->load_sent = false;
    }
    if (self->load_sent || !self->leader)
        return;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (i + 1 != self->leader && self->kids [i].loading)
            return;                     /* wait until it stopped */
        if (self->kids [i].next_k > next_k)
            next_k = self->kids [i].next_k;
    }
    s_procs_tell (self, self->leader - 1, "LOAD %" PRId64 " %" PRIu64,
                  self->t0_us, next_k);
    self->load_sent = true;
}

/* Handles STATUS and NODE lines. Returns 0, or -1 if malformed. */
static int
s_procs_on_report (s_kid_t *kid, const char *line)
{
    int loading = 0;
    s_node_fig_t *f = &kid->fig;
    if (strncmp (line, "STATUS ", 7) == 0) {
        if (sscanf (line + 7, "%d %" SCNu64 " %u %d %" SCNu64 " %" SCNu64
                    " %" SCNu64, &kid->role, &kid->term, &kid->leader,
                    &loading, &kid->done, &kid->next_k, &kid->commit) != 7)
            return -1;
        kid->loading = loading != 0;
        kid->reported = true;
        return 0;
    }
    if (sscanf (line, "NODE %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                " %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %" SCNu64
                " %" SCNu64, &f->syncs, &f->wal_entries, &f->appends,
                &f->entries_out, &f->bytes_out, &f->cpu_us, &f->rss_kib,
                &f->fault_dropped, &f->fault_delayed,
                &f->fault_duplicated) != 10)
        return -1;
    return 0;
}

/* Handles one line from child i. Returns 0, or -1 after a message (a
   FAIL, or a line that does not parse). */
static int
s_procs_on_line (s_procs_t *self, uint32_t i, const char *line)
{
    s_kid_t *kid = &self->kids [i];
    int ok = 1;
    if (streq (line, "READY"))
        kid->ready = true;
    else
    if (strncmp (line, "STATUS ", 7) == 0 || strncmp (line, "NODE ", 5) == 0)
        ok = s_procs_on_report (kid, line) == 0;
    else
    if (strncmp (line, "HIST ", 5) == 0) {
        zr_histogram_t *hist = zr_histogram_decode (line + 5);
        ok = hist != NULL;
        if (hist)
            zr_histogram_merge (self->hist, hist);
        zr_histogram_destroy (&hist);
    }
    else
    if (strncmp (line, "FINAL ", 6) == 0) {
        ok = sscanf (line + 6, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                     " %" SCNu64, &kid->committed, &kid->lost,
                     &kid->last_index, &kid->cap_hits, &kid->peak) == 5;
        kid->final = ok;
    }
    else
    if (strncmp (line, "VERIFIED ", 9) == 0)
        kid->verified = streq (line + 9, "1") ? 1 : 0;
    else
    if (strncmp (line, "FAIL ", 5) == 0) {
        s_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: n%u: %s\n", i + 1, line + 5);
        return -1;
    }
    else
        ok = 0;
    if (!ok)
        fprintf (stderr, "zraft-bench: n%u sent a malformed line: %.60s\n",
                 i + 1, line);
    return ok ? 0 : -1;
}

/* Reads what child i sent and handles every whole line. Returns 0, or
   -1 after a message (EOF before EXIT, an over-long line, bad line). */
static int
s_procs_read (s_procs_t *self, uint32_t i)
{
    s_kid_t *kid = &self->kids [i];
    ssize_t got = recv (kid->fd, kid->buf + kid->used,
                        S_LINE_MAX - 1 - kid->used, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (got <= 0) {
        close (kid->fd);
        kid->fd = -1;
        if (self->phase == S_PHASE_EXIT)
            return 0;
        s_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: n%u exited early\n", i + 1);
        return -1;
    }
    kid->used += (size_t) got;
    kid->buf [kid->used] = 0;
    char *line = kid->buf, *newline;
    while ((newline = strchr (line, '\n'))) {
        *newline = 0;
        if (s_procs_on_line (self, i, line))
            return -1;
        line = newline + 1;
    }
    kid->used = strlen (line);
    memmove (kid->buf, line, kid->used);
    if (kid->used < S_LINE_MAX - 1)
        return 0;
    fprintf (stderr, "zraft-bench: n%u sent an over-long line\n", i + 1);
    return -1;
}

/* Counts the children for which `what` holds. */
static uint32_t
s_procs_count (s_procs_t *self, int what)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_kid_t *kid = &self->kids [i];
        n += what == S_PHASE_START ? kid->ready
             : what == S_PHASE_RUN ? kid->final
             : kid->verified >= 0;
    }
    return n;
}

/* Enters phase, failing after ms from now. */
static void
s_procs_phase (s_procs_t *self, int phase, int64_t now, int64_t ms)
{
    self->phase = phase;
    self->deadline_us = now + 1000 * ms;
}

/* Moves the run along once the current phase's condition holds. */
static void
s_procs_step (s_procs_t *self, int64_t now)
{
    const s_opts_t *o = &self->opts;
    int64_t election_ms = (int64_t) o->election_ms;
    uint64_t term = 0;
    if (self->phase == S_PHASE_START
        && s_procs_count (self, S_PHASE_START) == o->nodes)
        s_procs_phase (self, S_PHASE_ELECT, now, 20 * election_ms);
    else
    if (self->phase == S_PHASE_ELECT && s_procs_agreed (self, &term)) {
        self->t0_us = now;
        s_samples_start (self->samples, now, o->warmup_s + o->duration_s);
        self->start_us = now + 1000000 * (int64_t) o->warmup_s;
        self->end_us = self->start_us + 1000000 * (int64_t) o->duration_s;
        for (uint32_t i = 0; i < o->nodes; i++)
            s_procs_tell (self, i, "WINDOW %" PRId64 " %" PRId64,
                          self->start_us, self->end_us);
        s_procs_follow (self);
        s_procs_phase (self, S_PHASE_RUN, now, (self->end_us - now) / 1000
                                               + 20 * election_ms + 5000);
    }
    else
    if (self->phase == S_PHASE_RUN) {
        s_procs_follow (self);
        uint64_t done = 0;
        for (uint32_t i = 0; i < o->nodes; i++) {
            done += self->kids [i].done;
            if (self->kids [i].last_index > self->last_index)
                self->last_index = self->kids [i].last_index;
        }
        s_progress_tick (&self->progress, now, done, self->start_us,
                         o->duration_s);
        if (s_procs_count (self, S_PHASE_RUN) < o->nodes)
            return;
        s_progress_clear (&self->progress);
        for (uint32_t i = 0; i < o->nodes; i++) {
            self->kids [i].verified = -1;
            s_procs_tell (self, i, "VERIFY %" PRIu64, self->last_index);
        }
        s_procs_phase (self, S_PHASE_VERIFY, now, S_VERIFY_MS + 5000);
    }
    else
    if (self->phase == S_PHASE_VERIFY
        && s_procs_count (self, S_PHASE_VERIFY) == o->nodes)
        s_procs_phase (self, S_PHASE_EXIT, now, S_EXIT_MS);
}

/* Samples every child when due: VmRSS of its process, its data dir's
   disk use, and the commit index of its last STATUS (S_STATUS_MS old at
   most). The children run until S_PHASE_EXIT, past the last sample.
   Returns 0, or -1 if a node is above --rss-max or --disk-max. */
static int
s_procs_sample (s_procs_t *self, int64_t now)
{
    if (!s_samples_due (self->samples, now))
        return 0;
    assert (self->phase != S_PHASE_EXIT);
    if (self->samples->print)
        s_progress_clear (&self->progress);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_kid_t *kid = &self->kids [i];
        uint64_t rss = kid->pid > 0 ? s_rss_bytes (kid->pid) : 0;
        s_samples_add (self->samples, now, i + 1, rss,
                       s_disk_usage (self->dirs.data [i]), kid->commit);
    }
    s_samples_tick (self->samples, now);
    return self->samples->over ? -1 : 0;
}

/* Runs the phases up to S_PHASE_EXIT. Returns 0, or -1 after a message
   (or when interrupted). */
static int
s_procs_loop (s_procs_t *self)
{
    static const char *waiting [] = {"every child to start",
        "an agreed leader", "the end of the run", "verify"};
    s_procs_phase (self, S_PHASE_START, s_now_us (), S_START_MS);
    while (self->phase != S_PHASE_EXIT && !s_interrupted) {
        int64_t now = s_now_us ();
        if (now >= self->deadline_us) {
            s_progress_clear (&self->progress);
            fprintf (stderr, "zraft-bench: timed out waiting for %s\n",
                     waiting [self->phase]);
            return -1;
        }
        if (s_procs_sample (self, now))
            return -1;
        s_procs_step (self, now);
        struct pollfd fds [ZRAFT_NODES_MAX];
        for (uint32_t i = 0; i < self->opts.nodes; i++)
            fds [i] = (struct pollfd) {self->kids [i].fd, POLLIN, 0};
        if (poll (fds, self->opts.nodes, S_LOOP_MS) < 0 && errno != EINTR)
            return -1;
        for (uint32_t i = 0; i < self->opts.nodes; i++)
            if ((fds [i].revents & (POLLIN | POLLHUP | POLLERR))
                && s_procs_read (self, i))
                return -1;
    }
    return s_interrupted ? -1 : 0;
}

/* Waits until every child has exited, up to ms; then kills and reaps
   the rest. Returns true if all exited by themselves with status 0. */
static bool
s_procs_reap (s_procs_t *self, int64_t ms)
{
    int64_t until = s_now_us () + 1000 * ms;
    bool clean = true;
    for (uint32_t left = self->opts.nodes; left > 0;) {
        left = 0;
        for (uint32_t i = 0; i < self->opts.nodes; i++) {
            s_kid_t *kid = &self->kids [i];
            int status = 0;
            if (kid->pid > 0 && waitpid (kid->pid, &status, WNOHANG) > 0) {
                clean &= WIFEXITED (status) && WEXITSTATUS (status) == 0;
                kid->pid = 0;
            }
            left += kid->pid > 0;
        }
        if (left && s_now_us () >= until) {
            for (uint32_t i = 0; i < self->opts.nodes; i++)
                if (self->kids [i].pid > 0) {
                    kill (self->kids [i].pid, SIGKILL);
                    waitpid (self->kids [i].pid, NULL, 0);
                    self->kids [i].pid = 0;
                }
            return false;
        }
        if (left)
            poll (NULL, 0, S_POLL_MS);
    }
    return clean;
}

/* Ends every child: EXIT when the run went well, SIGTERM otherwise;
   children still there after S_EXIT_MS are killed. Always reaps all. */
static bool
s_procs_stop (s_procs_t *self, bool graceful)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (graceful)
            s_procs_tell (self, i, "EXIT");
        else
        if (self->kids [i].pid > 0)
            kill (self->kids [i].pid, SIGTERM);
    }
    bool clean = s_procs_reap (self, S_EXIT_MS);
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->kids [i].fd >= 0) {
            close (self->kids [i].fd);
            self->kids [i].fd = -1;
        }
    return clean;
}

static void
s_procs_result (s_procs_t *self, s_result_t *r)
{
    memset (r, 0, sizeof *r);
    r->procs = true;
    r->seconds = (double) (self->end_us - self->start_us) / 1e6;
    r->leader_changes = self->leader_changes;
    r->leader = self->leader;
    r->term = self->term;
    r->last_index = self->last_index;
    r->hist = self->hist;
    r->samples = self->samples;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        const s_kid_t *kid = &self->kids [i];
        r->committed += kid->committed;
        r->lost += kid->lost;
        r->cap_hits += kid->cap_hits;
        if (kid->peak > r->outstanding_peak)
            r->outstanding_peak = kid->peak;
        r->nodes [i] = kid->fig;
    }
}

static void
s_procs_destroy (s_procs_t **self_p)
{
    assert (self_p);
    s_procs_t *self = *self_p;
    if (!self)
        return;
    s_progress_clear (&self->progress);
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++) {
        assert (self->kids [i].pid == 0);   /* reaped by s_procs_stop */
        if (self->kids [i].fd >= 0)
            close (self->kids [i].fd);
        free (self->kids [i].buf);
    }
    s_dirs_remove (&self->dirs, &self->opts);
    zr_histogram_destroy (&self->hist);
    s_samples_destroy (&self->samples);
    free (self);
    *self_p = NULL;
}

static s_procs_t *
s_procs_new (const s_opts_t *opts, const char *argv0)
{
    s_procs_t *self = (s_procs_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    self->argv0 = argv0;
    self->hist = zr_histogram_new ();
    self->samples = s_samples_new (&self->opts, true);
    bool ok = self->hist && self->samples;
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++) {
        self->kids [i].fd = -1;
        self->kids [i].verified = -1;
        self->kids [i].buf = (char *) malloc (S_LINE_MAX);
        ok = ok && self->kids [i].buf;
    }
    s_progress_init (&self->progress);
    if (!ok)
        s_procs_destroy (&self);
    return self;
}

/* Runs the cluster as one process per server. Returns the exit code. */
static int
s_procs_main (s_procs_t *self)
{
    s_signals_catch ();
    int rc = s_dirs_make (&self->dirs, &self->opts)
             || s_ports_pick (self->ports, self->opts.nodes) ? -1 : 0;
    for (uint32_t id = 1; rc == 0 && id <= self->opts.nodes; id++)
        rc = s_procs_spawn (self, id);
    if (rc == 0)
        rc = s_procs_loop (self);
    bool clean = s_procs_stop (self, rc == 0);
    if (rc != 0 && self->samples->over && !s_interrupted)
        s_print_stopped (&self->opts, self->samples);
    if (rc != 0)
        return s_interrupted ? S_EX_INTERRUPTED : 1;
    s_result_t result;
    s_procs_result (self, &result);
    s_print (&self->opts, &result);
    bool verified = s_procs_count (self, S_PHASE_VERIFY) == self->opts.nodes;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        verified &= self->kids [i].verified == 1;
    if (verified && !self->opts.json)
        printf ("\nverified: all %u nodes applied through index %" PRIu64
                "\n", self->opts.nodes, self->last_index);
    fflush (stdout);
    if (!verified)
        fprintf (stderr, "zraft-bench: verify failed: not all %u nodes"
                 " applied through index %" PRIu64 "\n", self->opts.nodes,
                 self->last_index);
    if (!clean)
        fprintf (stderr, "zraft-bench: a child did not exit cleanly\n");
    return verified && clean ? 0 : 1;
}

/* ----------------------------------------------------------------- main */

/* Runs the in-process cluster. Returns the exit code. */
static int
s_inprocess_main (const s_opts_t *opts)
{
    s_signals_block (true);
    zsys_init ();
    zsys_handler_set (s_signal_cb);
    zsys_set_logident ("zraft-bench");
    zsys_set_logstream (stderr);        /* stdout carries the report only */
    s_bench_t *bench = s_bench_new (opts);
    if (!bench) {
        fprintf (stderr, "zraft-bench: out of memory\n");
        return 1;
    }
    int rc = opts->drill ? s_drill_main (bench) : s_bench_main (bench);
    s_bench_destroy (&bench);
    return rc;
}

int
main (int argc, char *argv [])
{
    s_opts_t opts;
    int rc = s_opts_parse (&opts, argc, argv);
    if (rc == 1) {
        s_usage (stdout);
        return 0;
    }
    if (rc != 0)
        return S_EX_USAGE;
    if (opts.child_id)
        return s_child_main (&opts);
    if (!opts.procs)
        rc = s_inprocess_main (&opts);
    else {
        s_procs_t *procs = s_procs_new (&opts, argv [0]);
        if (!procs) {
            fprintf (stderr, "zraft-bench: out of memory\n");
            return 1;
        }
        rc = s_procs_main (procs);
        s_procs_destroy (&procs);
    }
    s_fsms_free ();
    if (rc == S_EX_INTERRUPTED)
        fprintf (stderr, "zraft-bench: interrupted\n");
    return rc;
}
