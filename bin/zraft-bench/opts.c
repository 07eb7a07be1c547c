/*  =========================================================================
    opts - the flags of zraft-bench: usage, parsing, checks

    Every flag is parsed and checked here, before anything starts: a bad
    one gets a one-line message naming it and its accepted range, and the
    caller exits 64 (EX_USAGE). A flag the --procs mode cannot honour
    (zraft-node has no such setting) is refused with it, naming why.
    =========================================================================
*/
#include "bench.h"
#include "opts.h"
#include "../../transport/client.h"

#define S_INFLIGHT_MAX 65536u           /* --inflight upper bound */
#define S_RATE_MAX 10000000u            /* --rate upper bound, per second */
#define S_DELAY_MAX 10000u              /* --delay MS and JITTER bound */
#define S_SAMPLE_INTERVAL_MAX 3600u     /* --sample-interval upper bound, s */
#define S_RSS_MAX_MIB (1u << 20)        /* --rss-max upper bound: 1 TiB */
#define S_DISK_MAX_MIB (1u << 30)       /* --disk-max upper bound: 1 PiB */
#define S_STATE_BYTES_MAX (1ull << 36)  /* --state-bytes upper bound: 64 GiB */
#define S_SNAPSHOT_BYTES_MAX (1ull << 40)   /* --snapshot-bytes upper bound */
#define S_DRILL_ENTRIES_MAX (1ull << 32)    /* --drill-entries upper bound */
#define S_DRILL_ENTRIES 1000000u        /* --drill-entries default */
#define S_CLIENTS_MAX 256u              /* --clients upper bound (kv's) */

_Static_assert (ZB_OUTSTANDING_MAX >= S_INFLIGHT_MAX, "caps ordered");

/* True if --drop or --delay asks for faults on the links. */
bool
zb_opts_faults_on (const zb_opts_t *opts)
{
    return opts->drop_ppm || opts->delay_ms || opts->jitter_ms;
}

typedef struct {
    const char *name;                   /* the flag, e.g. "--nodes" */
    size_t offset;                      /* its field in zb_opts_t */
    size_t width;                       /* 4 (uint32_t) or 8 (uint64_t) */
    uint64_t min;                       /* accepted range, inclusive */
    uint64_t max;                       /* accepted range, inclusive */
    const char *accepted;               /* range in words, if not min..max */
} s_flag_t;

static const s_flag_t s_flags [] = {
    {"--nodes", offsetof (zb_opts_t, nodes), 4, 1, 7, "1, 3, 5 or 7"},
    {"--heartbeat-ms", offsetof (zb_opts_t, heartbeat_ms), 4, 1, 60000, NULL},
    {"--election-ms", offsetof (zb_opts_t, election_ms), 4, 2, 600000, NULL},
    {"--window", offsetof (zb_opts_t, window), 4, 1, 256, NULL},
    {"--batch-bytes", offsetof (zb_opts_t, batch_bytes), 8, 1, 8u << 20, NULL},
    {"--entry-size", offsetof (zb_opts_t, entry_size), 4, 1,
     ZRAFT_ENTRY_BYTES_MAX, NULL},
    {"--inflight", offsetof (zb_opts_t, inflight), 4, 1, S_INFLIGHT_MAX, NULL},
    {"--propose-batch", offsetof (zb_opts_t, propose_batch), 4, 1,
     ZRAFT_SUBMIT_MANY_MAX, NULL},
    {"--rate", offsetof (zb_opts_t, rate), 8, 1, S_RATE_MAX, NULL},
    {"--duration", offsetof (zb_opts_t, duration_s), 4, 1, 3600, NULL},
    {"--warmup", offsetof (zb_opts_t, warmup_s), 4, 0, 600, NULL},
    {"--seed", offsetof (zb_opts_t, seed), 8, 0, UINT64_MAX, NULL},
    {"--sample-interval", offsetof (zb_opts_t, sample_interval_s), 4, 0,
     S_SAMPLE_INTERVAL_MAX, NULL},
    {"--rss-max", offsetof (zb_opts_t, rss_max_mib), 4, 0, S_RSS_MAX_MIB,
     NULL},
    {"--disk-max", offsetof (zb_opts_t, disk_max_mib), 4, 0, S_DISK_MAX_MIB,
     NULL},
    {"--snapshot-entries", offsetof (zb_opts_t, snapshot_entries), 8, 1,
     UINT32_MAX, NULL},
    {"--snapshot-bytes", offsetof (zb_opts_t, snapshot_bytes), 8, 0,
     S_SNAPSHOT_BYTES_MAX, NULL},
    {"--snapshot-chunk-bytes", offsetof (zb_opts_t, snapshot_chunk_bytes), 4,
     4096, 4u << 20, NULL},
    {"--state-bytes", offsetof (zb_opts_t, state_bytes), 8, 0,
     S_STATE_BYTES_MAX, NULL},
    {"--drill-entries", offsetof (zb_opts_t, drill_entries), 8, 1,
     S_DRILL_ENTRIES_MAX, NULL},
    {"--clients", offsetof (zb_opts_t, clients), 4, 1, S_CLIENTS_MAX, NULL},
};
#define S_FLAGS (sizeof s_flags / sizeof s_flags [0])
_Static_assert (S_FLAGS <= 64, "zb_opts_t.given has a bit per flag");

/* The flags --procs refuses, and why: zraft-node has no such setting,
   or the client load has no such mode. */
static const struct {
    const char *name;
    const char *why;
} s_not_procs [] = {
    {"--window", "zraft-node has no setting for inflight_max; it"
                 " applies in-process, without --procs"},
    {"--batch-bytes", "zraft-node has no setting for batch_bytes; it"
                      " applies in-process, without --procs"},
    {"--propose-batch", "zraft-node batches the requests it reads itself"},
    {"--rate", "the client load is closed-loop only: use --inflight"},
    {"--seed", "zraft-node seeds its elections itself"},
    {"--snapshot-bytes", "zraft-node has no setting for snapshot_bytes"},
    {"--snapshot-chunk-bytes", "zraft-node has no setting for"
                               " snapshot_chunk_bytes"},
    {"--state-bytes", "zraft-node's state machine is its key/value map"},
};

/* True if flag name (one of s_flags) was given. */
static bool
s_given (const zb_opts_t *opts, const char *name)
{
    for (size_t f = 0; f < S_FLAGS; f++)
        if (streq (s_flags [f].name, name))
            return (opts->given >> f) & 1;
    assert (false);
    return false;
}

void
zb_opts_usage (FILE *out)
{
    fprintf (out,
        "usage: zraft-bench [flags]\n"
        "Runs a zraft cluster on tcp://127.0.0.1 (fsync on), loads its leader"
        " and\nreports committed entries per second and their latency"
        " (etcd-benchmark style).\n"
        "  --nodes N          servers, 1|3|5|7 (default 3)\n"
        "  --procs            one zraft-node process per server (default:"
        " threads of\n"
        "                     this process), loaded through the client"
        " protocol: W PUTs\n"
        "                     of --entry-size B values to 10000 keys in"
        " flight over\n"
        "                     --clients connections to the leader (the --kv"
        " load), so\n"
        "                     the figures include the key/value state"
        " machine and the\n"
        "                     client hop. --heartbeat-ms, --election-ms and"
        "\n"
        "                     --snapshot-entries go to zraft-node's"
        " --heartbeat-interval,\n"
        "                     --election-timeout and --snapshot-entries"
        " (ZRAFT_*\n"
        "                     variables are not passed on).\n"
        "                     Refused with it (exit 64): --window"
        " --batch-bytes\n"
        "                     --propose-batch --rate --seed --snapshot-bytes\n"
        "                     --snapshot-chunk-bytes --state-bytes --drill,"
        " --delay's\n"
        "                     jitter, --entry-size above 262144. Each node's"
        " stderr goes\n"
        "                     to DIR/n<id>.log (tail shown on a failure)\n"
        "  --node-bin PATH    --procs: the zraft-node to start (default:"
        " zraft-node in\n"
        "                     this program's directory)\n"
        "  --clients N        --procs: client connections, 1..min(W, 256)"
        " (default\n"
        "                     min(W, 16))\n"
        "  --inflight W       closed loop: proposals kept pending, refilled"
        " in one\n"
        "                     zraft_submit_many call, 1..%u (default 64)\n"
        "  --propose-batch N  at most N proposals per zraft_submit_many call,"
        " 1..4096\n"
        "                     (default: as many as are due; 1 = one message"
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
        "                     on what each server receives from each peer"
        " (--procs:\n"
        "                     zraft-node's FAULT request, sent to each node"
        " for each\n"
        "                     peer; a leader change then fails the run)\n"
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
        " thresholds);\n"
        "                     --procs: zraft-node --snapshot-entries 0, which"
        " stops\n"
        "                     automatic snapshots (the JSON's per_node"
        " snapshot_index\n"
        "                     shows that none was taken)\n"
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
        "                     rss_peak_mib snapshot_index}] leader_changes"
        " lost drop_pct\n"
        "                     delay_ms server (\"zraft-node\" or"
        " \"in-process\") ops clients\n"
        "                     verified errors busy\n"
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
        "                     60 s; inflight 0 with --rate; --procs:"
        " per_node's\n"
        "                     fsyncs_per_s entries_per_fsync appends_out\n"
        "                     entries_per_append bytes_per_append null"
        " (zraft-node does\n"
        "                     not report them)\n"
        "                     and lost 0 (a failed request fails the run);\n"
        "                     latencies null without samples; in-process,"
        " cpu_s and\n"
        "                     rss_peak_mib are the whole process's, in every"
        " node)\n"
        "  --help             print this and exit\n"
        "  --kv               instead: load a running zraft-node cluster"
        " through its\n"
        "                     client endpoint (zraft-bench --kv --help)\n"
        "  --bus              instead: producers and consumers on the message"
        " bus, of a\n"
        "                     running cluster or an in-process one"
        " (zraft-bench --bus --help)\n"
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
        "Sweep: bench/sweep.sh OUTDIR runs in-process over W x --window and"
        " plots it;\n"
        "bench/memplot.sh (make bench-memory) plots RSS and disk over"
        " time.\n"

        "Exit: 0 ok, 1 cluster failure or a --*-max passed, 64 bad flag,"
        " 130 interrupted.\n",
        S_INFLIGHT_MAX, S_RATE_MAX, ZB_OUTSTANDING_MAX, ZRAFT_ENTRY_BYTES_MAX,
        S_DELAY_MAX, S_SAMPLE_INTERVAL_MAX, S_RSS_MAX_MIB, S_DISK_MAX_MIB,
        S_DRILL_ENTRIES);
}

/* Sets flag's field from text. Returns 0, or -1 after printing a
   one-line message naming the flag and its accepted range. */
static int
s_flag_set (zb_opts_t *opts, const s_flag_t *flag, const char *text)
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

/* Checks what --procs cannot do, or what only it does. Returns 0 or
   -1 after a message. */
static int
s_opts_check_procs (const zb_opts_t *opts)
{
    if (!opts->procs && (opts->node_bin || s_given (opts, "--clients"))) {
        fprintf (stderr, "zraft-bench: %s goes with --procs\n",
                 opts->node_bin ? "--node-bin" : "--clients");
        return -1;
    }
    if (!opts->procs)
        return 0;
    for (size_t i = 0; i < sizeof s_not_procs / sizeof s_not_procs [0]; i++)
        if (s_given (opts, s_not_procs [i].name)) {
            fprintf (stderr, "zraft-bench: %s does not apply with --procs"
                     " (%s)\n", s_not_procs [i].name, s_not_procs [i].why);
            return -1;
        }
    const char *bad = NULL;
    if (opts->jitter_ms)
        bad = "--delay MS:JITTER: with --procs, jitter does not apply"
              " (zraft-node's FAULT request has none): use --delay MS";
    else
    if (opts->no_snapshots && s_given (opts, "--snapshot-entries"))
        bad = "--no-snapshots and --snapshot-entries exclude each other";
    else
    if (opts->entry_size > ZR_CLIENT_VALUE_MAX)
        bad = "--entry-size with --procs is the value of each PUT: at most"
              " 262144 (the client protocol's value limit)";
    else
    if (s_given (opts, "--clients") && opts->clients > opts->inflight)
        bad = "--clients must be at most --inflight";
    else
    if (opts->node_bin && (*opts->node_bin == 0
                           || access (opts->node_bin, X_OK) != 0))
        bad = "--node-bin must name an executable zraft-node";
    if (bad)
        fprintf (stderr, "zraft-bench: %s\n", bad);
    return bad ? -1 : 0;
}

/* Checks the snapshot and drill flags together. Returns 0 or -1 after
   a message. */
static int
s_opts_check_snapshots (const zb_opts_t *opts)
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
s_opts_check (zb_opts_t *opts)
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
    if (opts->dir && (*opts->dir == 0 || strlen (opts->dir) >= ZB_DIR_MAX)) {
        fprintf (stderr, "zraft-bench: --dir must be 1..%d characters\n",
                 ZB_DIR_MAX - 1);
        return -1;
    }
    for (uint32_t id = 1; opts->dir && id <= opts->nodes; id++) {
        char path [ZB_DIR_MAX + 16];
        snprintf (path, sizeof path, "%s/n%u", opts->dir, id);
        if (access (path, F_OK) == 0) {
            fprintf (stderr, "zraft-bench: --dir must not hold n1..n%u yet"
                     " (%s exists)\n", opts->nodes, path);
            return -1;
        }
    }
    return s_opts_check_procs (opts);
}

/* Sets a flag that takes no value. Returns 1 for --help, 0 if name was
   such a flag, -1 if it takes a value. */
static int
s_opts_switch (zb_opts_t *opts, const char *name)
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
s_opts_string (zb_opts_t *opts, const char *name, const char *value)
{
    const char **field = streq (name, "--dir") ? &opts->dir
                         : streq (name, "--drill") ? &opts->drill
                         : streq (name, "--node-bin") ? &opts->node_bin
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
s_opts_drop (zb_opts_t *opts, const char *text)
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
    opts->drop_ppm = (uint32_t) llround (percent * (ZB_PPM / 100));
    return 0;
}

/* Parses --delay MS[:JITTER]. Returns 0 or -1 after a message. */
static int
s_opts_delay (zb_opts_t *opts, const char *text)
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
s_opts_fault (zb_opts_t *opts, const char *name, const char *value)
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
int
zb_opts_parse (zb_opts_t *opts, int argc, char *argv [])
{
    *opts = (zb_opts_t) {.nodes = 3, .heartbeat_ms = 50, .election_ms = 500,
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
        opts->given |= UINT64_C (1) << f;
        opts->inflight_set |= streq (name, "--inflight");
        opts->snapshot_bytes_set |= streq (name, "--snapshot-bytes");
    }
    return s_opts_check (opts);
}

