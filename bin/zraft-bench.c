/*  =========================================================================
    zraft-bench - throughput and latency of a zraft cluster under load

    Starts N zraft servers on tcp://127.0.0.1, with their write-ahead logs
    (fsync on) under <dir>/n<id>: as threads of this process (default), or
    as zraft-node processes (--procs, the fair comparison with systems
    that run one process per node, see below). Waits until exactly one
    leader is agreed by all, then loads it for warm-up + duration seconds.
    In-process, the load goes through the library's API:

    - closed loop (--inflight W): W proposals are kept pending; whenever
      some complete, every free slot is refilled in one zraft_submit_many
      call (one message to the node, not waited for; one batch to disk and
      followers);
    - open loop (--rate R): proposal k is due at t0 + k / R. Due proposals
      are sent in one batch as soon as the loop can, and each one's latency
      runs from its intended time, not from when it was sent, so a stalled
      cluster shows as latency (no coordinated omission). At most
      ZB_OUTSTANDING_MAX are outstanding: due proposals wait (their latency
      running) while the cap is hit, and the report says how often.

    A proposal is done when its RESULT event comes back, with its token,
    from the server it was submitted to (the leader): committed once that
    server applied it, lost if another leader's entry took its index.
    Latencies of the proposals completed in the measured window go into a
    log-linear histogram (bench/histogram.h: fixed memory, <= 0.4% error),
    so memory is bounded whatever the duration. The report, in the style of
    etcd's benchmark, ends with what explains the figure: per server,
    fdatasyncs/s, entries per fdatasync, entries and bytes per
    AppendEntries, CPU seconds and peak RSS. Finally every server must have
    applied through the last proposed index (verify).

    --procs (since 2026-12-06; before, it re-executed this program as a
    private child server per node): starts N zraft-node processes, the
    one server program, and loads the leader as a client does, through
    the client protocol with the --kv load (kv.h): W PUTs of --entry-size
    B values in flight over --clients connections. Its figures therefore
    include the key/value state machine and the client hop. zraft-node
    does not report its WAL and AppendEntries counters, so the per-node
    figures are CPU and peak RSS of each process; flags zraft-node has no
    setting for are refused with --procs (exit 64, see --help). See
    procs.h.

    --drop and --delay shape every link (each server's view of what each
    peer sends it) through the library's fault filter, zraft_fault, set
    once every server has started: in-process by this process, with
    --procs by a FAULT request to each node for each peer. In-process,
    the report then counts the messages the filters dropped and held back
    in the window. Exit codes:
    0 on success, 1 if the cluster failed (no leader, stall, verify) or a
    node's RSS or disk use passed --rss-max or --disk-max, 64 on a bad
    flag (EX_USAGE), 130 if interrupted (data still removed).

    Every --sample-interval seconds from the start of the load, and at
    its nominal end, each node is sampled: its RSS (VmRSS of its own
    process with --procs; in-process, the whole process's), the disk use
    of its data dir and its commit index. With --procs this process reads
    the nodes' /proc/<pid>/status, walks their dirs and asks their STATUS,
    so the nodes pay next to nothing for it. Samples live in one array sized for the
    run at start, so their memory is bounded too.

    --drill restart|install replaces the load with a timed snapshot drill
    (in-process, so the bench can stop, restart and cut one server): a
    follower's restart from its snapshot and log, or the installation of
    the leader's snapshot on a follower that was cut off while the leader
    compacted past it. --state-bytes makes the state machine, and so each
    snapshot, as big as the drill wants.

    Modules, in bin/zraft-bench/ (bench.h includes them all):
    sys       signals, the monotonic clock, CPU and RSS of this process
    opts      the flags: usage, parsing, checks (exit 64 on a bad one)
    load      the load generator and completion tracker
    samples   RSS and disk use per node over a run
    report    the progress line and the report (text or --json)
    dirs      the data dirs and free ports of a run
    server    one server: the bench's state machine, start, faults
    harness   the in-process cluster (default mode)
    drill     --drill restart|install, on the in-process cluster
    procs     --procs: starts, watches, samples and stops zraft-node
              processes, and loads them with kv's load
    kv        --kv: load a running zraft-node cluster through its client
              endpoint (its own flags: zraft-bench --kv --help); also
              the load of --procs
    bus       --bus: P producers and C consumers on the message bus (its
              own flags: zraft-bench --bus --help), over buslocal
              (--inproc: an in-process cluster, the library's API) or
              busremote (--endpoints: zraft-node bus endpoints)
    =========================================================================
*/
#include "zraft-bench/bench.h"
#include "zraft-bench/kv.h"
#include "zraft-bench/bus.h"

#define S_EX_USAGE 64                   /* sysexits.h EX_USAGE */

/* Runs the in-process cluster. Returns the exit code. */
static int
s_inprocess_main (const zb_opts_t *opts)
{
    zb_signals_block (true);
    zsys_init ();
    zsys_handler_set (zb_signal_cb);
    zsys_set_logident ("zraft-bench");
    zsys_set_logstream (stderr);        /* stdout carries the report only */
    zb_harness_t *bench = zb_harness_new (opts);
    if (!bench) {
        fprintf (stderr, "zraft-bench: out of memory\n");
        return 1;
    }
    int rc = opts->drill ? zb_drill_main (bench) : zb_harness_main (bench);
    zb_harness_destroy (&bench);
    return rc;
}

int
main (int argc, char *argv [])
{
    if (zb_kv_wanted (argc, argv))
        return zb_kv_main (argc, argv);
    if (zb_bus_wanted (argc, argv))
        return zb_bus_main (argc, argv);
    zb_opts_t opts;
    int rc = zb_opts_parse (&opts, argc, argv);
    if (rc == 1) {
        zb_opts_usage (stdout);
        return 0;
    }
    if (rc != 0)
        return S_EX_USAGE;
    if (!opts.procs)
        rc = s_inprocess_main (&opts);
    else {
        zb_procs_t *procs = zb_procs_new (&opts);
        if (!procs) {
            fprintf (stderr, "zraft-bench: out of memory\n");
            return 1;
        }
        rc = zb_procs_main (procs);
        zb_procs_destroy (&procs);
    }
    zb_server_fsms_free ();
    if (rc == ZB_EX_INTERRUPTED)
        fprintf (stderr, "zraft-bench: interrupted\n");
    return rc;
}

