/*  =========================================================================
    sim - deterministic simulation of N raft/ cores

    N cores from raft/ wired by a simulated network, disk and clock, all
    driven by ONE seeded generator: messages are dropped, delayed (so
    reordered) and duplicated; links are cut in every shape (one node
    isolated, majority/minority, one-way links, a bridge node that sees
    both halves); nodes crash, losing whatever their disk had not synced,
    and restart from what it had (a crash while a sync runs leaves any
    prefix of it on disk, cut at a record, as a torn write does: between
    a snapshot's rename and the log's restart after it too); nodes take
    snapshots, send them to followers in chunks and restart from them;
    storage drops whole segments, so it keeps more of the log than
    memory, and on one seed in four a follower behind memory is sent
    entries read from storage a little later (as a replicator thread
    does: raft/core.h Invariant 15), which compaction may have dropped
    meanwhile; each node's clock drifts. A workload
    proposes entries throughout, and clients issue linearizable reads
    (ReadIndex, raft/core.h Invariant 14) to whichever server some
    server names as leader; a read is answered with the state machine of
    the server that confirmed it once it has applied the read index. One seed in four runs the Figure 8
    profile instead of random crashes: the lab's loop that crashes each
    leader a few milliseconds after it accepts a proposal, with one
    entry per AppendEntries, so that logs diverge as in Raft Figure 8.

    After every event the checkers verify Election Safety, Log Matching,
    Leader Completeness and State Machine Safety (Raft Figure 3), and
    that no state machine ever goes backwards (a restored snapshot is
    never older than what the node applied), and that every read is
    linearizable: its answer holds every write acknowledged before the
    read was issued (every index any server knew committed then), and
    each read comes back once, confirmed or failed. After
    the fault phase everything heals and liveness is checked: a leader,
    a new commit on every node and an answered read within a bound.

    Events are ordered by (time, sequence number), so a seed replays bit
    for bit; sim_result_t.digest hashes the whole event trace to prove it.
    The simulation uses libc and raft/ only.
    =========================================================================
*/
#ifndef ZR_SIM_H_INCLUDED
#define ZR_SIM_H_INCLUDED

#include "../../raft/raft.h"

typedef struct {
    uint64_t seed;                      /* everything derives from it */
    uint32_t nodes;                     /* 3, 5 or 7; 0 = chosen by the seed */
    uint64_t fault_ms;                  /* simulated time with faults */
    uint64_t liveness_ms;               /* bound for recovery after healing */
    bool trace;                         /* print every event to stderr */
} sim_config_t;

typedef struct {
    bool ok;                            /* no checker failed */
    char error [512];                   /* the first violation, if any */
    uint32_t nodes;                     /* cluster size used */
    uint64_t events;                    /* events processed */
    uint64_t committed;                 /* highest index committed */
    uint64_t elections;                 /* leaders elected */
    uint64_t crashes;                   /* crashes injected */
    uint64_t reads;                     /* linearizable reads answered */
    uint64_t reads_failed;              /* reads failed: leader stepped down */
    uint64_t installs;                  /* snapshots installed from a leader */
    uint64_t storage_reads;             /* AppendEntries filled from storage */
    uint64_t storage_lost;              /* storage reads that found it gone */
    uint64_t digest;                    /* hash of the event trace */
    char faults [256];                  /* the fault mix the seed chose */
} sim_result_t;

/* Runs one simulation. Returns true if every check passed. */
bool sim_run (const sim_config_t *config, sim_result_t *result);

#endif
