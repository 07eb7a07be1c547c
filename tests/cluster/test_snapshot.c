/*  =========================================================================
    test_snapshot - the MIT 6.824 Raft lab's tests, part D (2D / 3D), on
    real zraft servers over tcp on 127.0.0.1 with the fault filter, and a
    large snapshot sent in chunks

    One test per lab test, named after it (TestSnapshotInstallUnCrash is
    lab_snapshot_install_uncrash), each keeping the lab's scenario and
    bounds (../shared/LAB-TESTS.md, part D and section 2.7). The
    adaptations, beyond those of test_lab.c (no-ops, crash and restart,
    the unreliable network):
    - Snapshot mode (cluster_new_snapshots): the apply checker's state
      machine snapshots the lab's way (last applied index and the record
      of every command up to it) and restores by replacing that record.
      The lab's applier calls Snapshot() at every tenth index; zraft asks
      for a snapshot when SNAP_INTERVAL entries were applied since the
      last one, and takes it on the applier thread as the lab does, but
      writes it to disk on another: the log is trimmed once it is durable.
    - The lab sends a snapshot whole; zraft sends it in chunks (Figure
      13). Every snapshot here is padded past three chunks, so an install
      always takes several.
    - The lab's size bound ("the largest persisted Raft state across all
      servers is < 2000 bytes", the state without the snapshot) does not
      translate byte for byte: our WAL preallocates segment files. What it
      bounds is the log a server keeps beside its snapshot, so we bound
      that, in entries, on every running server (s_check_size): the log
      window (last_index - first_index + 1) and the files of the data
      directory. 2000 bytes of the lab's gob-encoded log hold about 80 of
      its entries; our bound, SNAP_WINDOW_MAX, is 42.
    - The lab's restarted server is fed its own snapshot by the tester;
      zraft restores it itself at start (the checker sees the restore).
    - Stronger than the lab: in the disconnect and crash variants, when
      the log every other server keeps starts past the victim's last
      entry, the victim must come back through InstallSnapshot
      (status.snapshots_installed grows), and over the test at least one
      install happens.
    Every server runs the apply checker (tests/lib/cluster.h) throughout.
    Randomised tests print their seed; ZR_SEED=N replays the test's own
    choices (the servers' election timers still draw from the clock).
    =========================================================================
*/
#include <check.h>
#include <sys/mount.h>
#include <unistd.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"
#include "../lib/lab.h"

/* The lab's SnapShotInterval: a snapshot every 10 applied entries. */
#define SNAP_INTERVAL 10
/* Entries kept behind a snapshot (small: followers fall past it soon). */
#define SNAP_TRAILING 4
/* The smallest InstallSnapshot chunk zraft accepts. */
#define SNAP_CHUNK_BYTES 4096
/* Padding that makes every snapshot need at least four chunks. */
#define SNAP_PAD_BYTES (3 * SNAP_CHUNK_BYTES)
/* snapcommon's iterations and its burst of unawaited starts (5..14). */
#define SNAP_ITERS 30
#define SNAP_NN_MIN 5
#define SNAP_NN_SPAN 10
/* The most entries one iteration appends between two size checks: its
   starts, its two one()s, and the no-ops of two elections. */
#define SNAP_BURST (SNAP_NN_MIN + SNAP_NN_SPAN - 1 + 2 + 2)
/* The lab's size bound, in entries. A server keeps SNAP_TRAILING entries
   behind its newest durable snapshot and what came after it: fewer than
   SNAP_INTERVAL not yet due for a snapshot, SNAP_INTERVAL more while a
   due one is being written (it is asked for at the interval and covers
   what was applied by then), and a burst that arrived meanwhile. */
#define SNAP_WINDOW_MAX (SNAP_TRAILING + 2 * SNAP_INTERVAL + SNAP_BURST)
/* WAL files: the segment being written, the spare prepared after it,
   and one closed segment (every entry here is 8 bytes: the window never
   spans more), plus a segment started when an install restarts the log
   after the snapshot, until the next sync drops the old one. */
#define SNAP_WAL_FILES_MAX 4
/* Snapshot files: the two newest (the one before may still be sent to
   a follower), and for each of the two writers (the applier's, of this
   server's snapshots, and the persister, of a leader's) one file being
   written (.tmp) or just committed, before its prune of the oldest. */
#define SNAP_FILES_MAX 4

/* The large snapshot: 64 MiB of padding, sent in 1 MiB chunks. */
#define SNAP_LARGE_PAD_BYTES (64ull << 20)
#define SNAP_LARGE_CHUNK_BYTES (1u << 20)
/* What the leader commits while the follower is away: 24 commands of
   256 KiB, 6 MiB, so its WAL spans three segments that the snapshot
   lets it drop. */
#define SNAP_LARGE_ENTRIES 24
#define SNAP_LARGE_ENTRY_BYTES (256u << 10)
/* Writing, sending, syncing and reading back 64 MiB on a loaded
   machine's shared disk: three of one()'s bounds. */
#define SNAP_LARGE_WAIT_MS (3 * CLUSTER_COMMIT_WAIT_MS)
/* Attempts of snapshot_large_install: an election makes one
   inconclusive (the lab's ConcurrentStarts tries 5 times). */
#define SNAP_LARGE_ATTEMPTS 5
/* Memory the install may add to the test process (all three servers):
   the leader's capture (freed once written), the follower's restore
   buffer, and the chunks in flight (8 MiB per follower) make about 2x
   the snapshot; 3x leaves room for the allocator. */
#define SNAP_LARGE_GROWTH_MAX (3 * SNAP_LARGE_PAD_BYTES)
/* A snapshot that cannot fit on a 5 MiB disk holding two WAL segments. */
#define SNAP_FULL_PAD_BYTES (8ull << 20)

/* Lab part D's snapshot mode. */
static const cluster_snapshots_t s_snap = {
    .entries = SNAP_INTERVAL,
    .trailing = SNAP_TRAILING,
    .chunk_bytes = SNAP_CHUNK_BYTES,
    .pad_bytes = SNAP_PAD_BYTES,
};

/* ------------------------------------------------------------- helpers */

/* Server id's data directory holds a bounded number of WAL and
   snapshot files. */
static void
s_check_files (cluster_t *c, uint32_t id)
{
    uint32_t wal = cluster_files (c, id, "wal-");
    uint32_t snaps = cluster_files (c, id, "snap-");
    ck_assert_msg (wal <= SNAP_WAL_FILES_MAX, "n%u has %u WAL files", id, wal);
    ck_assert_msg (snaps <= SNAP_FILES_MAX, "n%u has %u snapshot files", id, snaps);
}

/* The lab's LogSize() < MAXLOGSIZE, translated (see the header): on
   every server, the log window and the files of its data directory stay
   bounded. Returns the largest window seen. */
static uint64_t
s_check_size (cluster_t *c, uint32_t n)
{
    uint64_t largest = 0;
    for (uint32_t id = 1; id <= n; id++) {
        s_check_files (c, id);
        if (!cluster_is_running (c, id))
            continue;
        zraft_status_t st;
        cluster_status (c, id, &st);
        uint64_t window = st.last_index >= st.first_index
                        ? st.last_index - st.first_index + 1 : 0;
        ck_assert_msg (window <= SNAP_WINDOW_MAX, "n%u keeps %llu entries "
                       "(%llu..%llu, snapshot %llu): over %d", id,
                       (unsigned long long) window, (unsigned long long) st.first_index,
                       (unsigned long long) st.last_index,
                       (unsigned long long) st.snapshot_index, SNAP_WINDOW_MAX);
        if (window > largest)
            largest = window;
    }
    return largest;
}

/* The lowest first index of the logs the running servers other than
   victim keep: past victim's last entry + 1, no leader can bring it up
   to date without a snapshot. */
static uint64_t
s_first_index_min (cluster_t *c, uint32_t n, uint32_t victim)
{
    uint64_t lowest = UINT64_MAX;
    for (uint32_t id = 1; id <= n; id++) {
        if (id == victim || !cluster_is_running (c, id))
            continue;
        zraft_status_t st;
        cluster_status (c, id, &st);
        if (st.first_index < lowest)
            lowest = st.first_index;
    }
    return lowest;
}

/* Brings victim (running, cut off) back and has it catch up with
   one(rand, 3); fails if it needed a snapshot and got none. Returns
   1 if it installed one. */
static uint64_t
s_rejoin (cluster_t *c, lab_rng_t *rng, uint32_t victim, uint64_t *needed)
{
    zraft_status_t st;
    cluster_status (c, victim, &st);
    uint64_t before = st.snapshots_installed;
    uint64_t last = st.last_index;
    bool must = s_first_index_min (c, 3, victim) > last + 1;
    cluster_connect (c, victim);
    cluster_one (c, lab_value (rng), 3, true);
    cluster_status (c, victim, &st);
    ck_assert_msg (!must || st.snapshots_installed > before,
                   "n%u (last %llu) caught up without a snapshot", victim,
                   (unsigned long long) last);
    *needed += must;
    return st.snapshots_installed > before;
}

/* The lab's snapcommon(disconnect, reliable, crash): 30 iterations of
   cutting off (or crashing) a follower, or the leader every third, while
   the others commit a burst of starts; the size bound holds throughout
   and the victim catches up. */
static void
s_snapcommon (const char *tcase, bool disconnect, bool reliable, bool crash)
{
    lab_rng_t rng = lab_seeded ("test_snapshot", tcase);
    cluster_t *c = cluster_new_snapshots (3, &s_snap);
    cluster_unreliable (c, !reliable);
    cluster_one (c, lab_value (&rng), 3, true);
    uint32_t leader = cluster_leader (c);
    uint64_t largest = 0, installs = 0, needed = 0;
    for (int i = 0; i < SNAP_ITERS; i++) {
        uint32_t victim = lab_plus (3, leader, 1), sender = leader;
        if (i % 3 == 1) {
            victim = leader;
            sender = lab_plus (3, leader, 1);
        }
        if (disconnect || crash)
            cluster_disconnect (c, victim);
        if (crash)
            cluster_stop (c, victim);
        cluster_one (c, lab_value (&rng), 2, true);
        uint64_t nn = SNAP_NN_MIN + lab_below (&rng, SNAP_NN_SPAN);
        for (uint64_t k = 0; k < nn; k++)
            cluster_propose (c, sender, lab_value (&rng), NULL);
        cluster_one (c, lab_value (&rng), disconnect || crash ? 2 : 3, true);
        uint64_t window = s_check_size (c, 3);
        largest = window > largest ? window : largest;
        if (crash)
            cluster_start (c, victim);  /* comes back cut off */
        if (disconnect || crash) {
            installs += s_rejoin (c, &rng, victim, &needed);
            leader = cluster_leader (c);
        }
    }
    fprintf (stderr, "%s: largest log window %llu (bound %d); %llu installs, "
             "%llu certainly needed\n", tcase, (unsigned long long) largest,
             SNAP_WINDOW_MAX, (unsigned long long) installs,
             (unsigned long long) needed);
    if (disconnect || crash)
        ck_assert_uint_gt (installs, 0);
    cluster_destroy (&c);
}

/* Crashes and restarts every server; checks each came back with its
   newest snapshot (the point of the lab's SnapshotInit), and fills
   snapshot [id] with the one it had before. */
static void
s_crash_all (cluster_t *c, uint32_t n, uint64_t *snapshot)
{
    for (uint32_t id = 1; id <= n; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        snapshot [id] = st.snapshot_index;
        cluster_stop (c, id);
    }
    for (uint32_t id = 1; id <= n; id++)
        cluster_start (c, id);
    for (uint32_t id = 1; id <= n; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        ck_assert_msg (st.snapshot_index >= snapshot [id], "n%u restarted with "
                       "snapshot %llu, had %llu", id,
                       (unsigned long long) st.snapshot_index,
                       (unsigned long long) snapshot [id]);
    }
}

/* After every server applied a command since s_crash_all: each that had
   a snapshot restored one before it (the applier restores at start, on
   its own thread, before any entry). */
static void
s_check_restored (cluster_t *c, uint32_t n, const uint64_t *snapshot)
{
    for (uint32_t id = 1; id <= n; id++)
        ck_assert_msg (snapshot [id] == 0 || cluster_restores (c, id) > 0,
                       "n%u did not restore its snapshot at start", id);
}

/* The lab's SnapshotAllCrash: 5 rounds of a burst of one()s, then every
   server crashed and restarted: nothing committed is lost ("index
   decreased"). */
static void
s_all_crash (const char *tcase, bool reliable)
{
    lab_rng_t rng = lab_seeded ("test_snapshot", tcase);
    cluster_t *c = cluster_new_snapshots (3, &s_snap);
    cluster_unreliable (c, !reliable);
    cluster_one (c, lab_value (&rng), 3, true);
    for (int round = 0; round < 5; round++) {
        uint64_t nn = SNAP_NN_MIN + lab_below (&rng, SNAP_NN_SPAN);
        for (uint64_t k = 0; k < nn; k++)
            cluster_one (c, lab_value (&rng), 3, true);
        uint64_t index1 = cluster_one (c, lab_value (&rng), 3, true);
        uint64_t snapshot [ZRAFT_NODES_MAX + 1];
        s_crash_all (c, 3, snapshot);
        uint64_t index2 = cluster_one (c, lab_value (&rng), 3, true);
        s_check_restored (c, 3, snapshot);
        ck_assert_msg (index2 >= index1 + 1, "index decreased from %llu to %llu",
                       (unsigned long long) index1, (unsigned long long) index2);
    }
    cluster_destroy (&c);
}

/* The lab's SnapshotInit: a snapshot certainly exists (12 commands), all
   crash and restart, one() forces a persist, all crash and restart
   again: a server that did not load its snapshot at start would have
   written a trimmed log without it. */
static void
s_init (const char *tcase, bool reliable)
{
    lab_rng_t rng = lab_seeded ("test_snapshot", tcase);
    cluster_t *c = cluster_new_snapshots (3, &s_snap);
    cluster_unreliable (c, !reliable);
    cluster_one (c, lab_value (&rng), 3, true);
    for (int k = 0; k < SNAP_INTERVAL + 1; k++)
        cluster_one (c, lab_value (&rng), 3, true);
    uint64_t snapshot [ZRAFT_NODES_MAX + 1];
    s_crash_all (c, 3, snapshot);
    cluster_one (c, lab_value (&rng), 3, true);
    s_check_restored (c, 3, snapshot);
    s_crash_all (c, 3, snapshot);
    cluster_one (c, lab_value (&rng), 3, true);
    s_check_restored (c, 3, snapshot);
    cluster_destroy (&c);
}

/* A field of /proc/self/status ("VmRSS:", "VmHWM:") in bytes. */
static uint64_t
s_proc_bytes (const char *field)
{
    FILE *file = fopen ("/proc/self/status", "r");
    ck_assert_ptr_nonnull (file);
    char line [256];
    uint64_t kib = 0;
    while (fgets (line, sizeof line, file))
        if (!strncmp (line, field, strlen (field)))
            kib = strtoull (line + strlen (field), NULL, 10);
    fclose (file);
    ck_assert_uint_gt (kib, 0);
    return kib << 10;
}

/* Writes what server id was doing, from its status, into buf: the
   line a failure prints for each side. Returns buf. */
static const char *
s_describe (char *buf, size_t size, uint32_t id, const zraft_status_t *st)
{
    snprintf (buf, size, "n%u role %d term %llu leader %u commit %llu "
              "last %llu persisted %llu first %llu snapshot %llu "
              "installed %llu disk_failed %d wal_bytes %llu rpcs_in %llu "
              "bytes_out %llu elections %llu", id, (int) st->role,
              (unsigned long long) st->term, st->leader,
              (unsigned long long) st->commit,
              (unsigned long long) st->last_index,
              (unsigned long long) st->persisted,
              (unsigned long long) st->first_index,
              (unsigned long long) st->snapshot_index,
              (unsigned long long) st->snapshots_installed,
              (int) st->disk_failed, (unsigned long long) st->wal_bytes,
              (unsigned long long) st->rpcs_in,
              (unsigned long long) st->bytes_out,
              (unsigned long long) st->elections);
    return buf;
}

/* Waits (bounded) until the log server id keeps starts past index. */
static void
s_wait_first_index (cluster_t *c, uint32_t id, uint64_t index)
{
    int64_t deadline = zclock_mono () + SNAP_LARGE_WAIT_MS;
    zraft_status_t st;
    cluster_status (c, id, &st);
    while (st.first_index <= index) {
        ck_assert_msg (zclock_mono () < deadline, "n%u kept its log from %llu, "
                       "snapshot %llu", id, (unsigned long long) st.first_index,
                       (unsigned long long) st.snapshot_index);
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
        cluster_status (c, id, &st);
    }
}

/* ------------------------------------------------------------ part D */

/* Raft §7 (lab SnapshotBasic): with every follower current, servers
   snapshot every 10 entries and keep their logs within the size bound. */
START_TEST (lab_snapshot_basic)
{
    s_snapcommon ("lab_snapshot_basic", false, true, false);
}
END_TEST

/* Raft §7, Figure 13 (lab SnapshotInstall): a follower or leader cut off
   while the others move past its log comes back through InstallSnapshot. */
START_TEST (lab_snapshot_install)
{
    s_snapcommon ("lab_snapshot_install", true, true, false);
}
END_TEST

/* Raft §7, Figure 13 (lab SnapshotInstallUnreliable): the same over lossy,
   reordering links, where chunks and their replies go missing. */
START_TEST (lab_snapshot_install_unreliable)
{
    s_snapcommon ("lab_snapshot_install_unreliable", true, false, false);
}
END_TEST

/* Raft §7 (lab SnapshotInstallCrash): a crashed server restarts from its
   own snapshot and catches up, through InstallSnapshot when it must. */
START_TEST (lab_snapshot_install_crash)
{
    s_snapcommon ("lab_snapshot_install_crash", false, true, true);
}
END_TEST

/* Raft §7 (lab SnapshotInstallUnCrash): the same over lossy links. */
START_TEST (lab_snapshot_install_uncrash)
{
    s_snapcommon ("lab_snapshot_install_uncrash", false, false, true);
}
END_TEST

/* Raft §7, Figure 2 persistent state (lab SnapshotAllCrash, 2025: lossy
   links): snapshot and log tail both survive crashing every server. */
START_TEST (lab_snapshot_all_crash)
{
    s_all_crash ("lab_snapshot_all_crash", false);
}
END_TEST

/* Raft §7 (lab SnapshotAllCrash, 2023/24: reliable links). */
START_TEST (lab_snapshot_all_crash_reliable)
{
    s_all_crash ("lab_snapshot_all_crash_reliable", true);
}
END_TEST

/* Raft §7 (lab SnapshotInit, 2025: lossy links): a restarted server
   loads its snapshot before it persists again. */
START_TEST (lab_snapshot_init)
{
    s_init ("lab_snapshot_init", false);
}
END_TEST

/* Raft §7 (lab SnapshotInit, 2023/24: reliable links). */
START_TEST (lab_snapshot_init_reliable)
{
    s_init ("lab_snapshot_init_reliable", true);
}
END_TEST

/* Returns true if server leader still leads in term and no server moved
   past it; otherwise describes the first server that did into why (an
   election). */
static bool
s_kept_term (cluster_t *c, uint32_t leader, uint64_t term, char *why,
             size_t size)
{
    for (uint32_t id = 1; id <= 3; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        if (st.term != term || (id == leader && st.role != ZRAFT_LEADER)) {
            char line [384];
            snprintf (why, size, "%s (n%u led in term %llu)",
                      s_describe (line, sizeof line, id, &st), leader,
                      (unsigned long long) term);
            return false;
        }
    }
    return true;
}

/* One attempt of snapshot_large_install (below), on a new cluster.
   Returns false, the election in why, if the leader it starts with did
   not lead in one term to the end: the attempt is inconclusive. */
static bool
s_large_install (lab_rng_t *rng, char *why, size_t size)
{
    cluster_snapshots_t large = {.entries = 0, .trailing = SNAP_TRAILING,
                                 .chunk_bytes = SNAP_LARGE_CHUNK_BYTES,
                                 .pad_bytes = SNAP_LARGE_PAD_BYTES};
    cluster_t *c = cluster_new_snapshots (3, &large);
    cluster_one (c, lab_value (rng), 3, true);
    uint32_t leader = cluster_leader (c);
    uint32_t victim = lab_plus (3, leader, 1);
    zraft_status_t st, vst;
    cluster_status (c, leader, &st);
    uint64_t term = st.term;
    cluster_disconnect (c, victim);
    cluster_status (c, victim, &vst);
    for (int k = 0; k < SNAP_LARGE_ENTRIES; k++)
        cluster_one_bytes (c, lab_value (rng), SNAP_LARGE_ENTRY_BYTES, 2, true);
    uint64_t rss_before = s_proc_bytes ("VmRSS:");
    FILE *clear = fopen ("/proc/self/clear_refs", "w");
    if (clear) {                        /* "5": VmHWM starts again from VmRSS */
        fputs ("5", clear);
        fclose (clear);
    }
    bool kept = s_kept_term (c, leader, term, why, size);
    if (kept) {
        ck_assert_int_eq (zraft_snapshot (cluster_node (c, leader)), 0);
        s_wait_first_index (c, leader, vst.last_index + 1);
        kept = s_kept_term (c, leader, term, why, size);
    }
    if (!kept) {
        cluster_destroy (&c);
        return false;
    }
    cluster_connect (c, victim);
    int64_t started = zclock_mono ();
    int64_t deadline = started + SNAP_LARGE_WAIT_MS;
    uint32_t during = 0;                /* commits while the victim installs */
    do {
        cluster_one (c, lab_value (rng), 2, true);
        cluster_status (c, victim, &vst);
        during += vst.snapshots_installed == 0;
        /* After an election the other follower, which holds the whole
           log, may lead and catch the victim up with entries: no install
           would ever come. The attempt ends at once. */
        if (!s_kept_term (c, leader, term, why, size)) {
            cluster_destroy (&c);
            return false;
        }
        if (zclock_mono () >= deadline) {
            /* Which side stalled: the victim's log and what reached it,
               the leader's snapshot and what it sent. */
            cluster_status (c, leader, &st);
            char vline [384], lline [384];
            ck_abort_msg ("no install in %d ms: victim %s rejected %llu; "
                          "leader %s", SNAP_LARGE_WAIT_MS,
                          s_describe (vline, sizeof vline, victim, &vst),
                          (unsigned long long) vst.frames_rejected,
                          s_describe (lline, sizeof lline, leader, &st));
        }
    } while (vst.snapshots_installed == 0);
    int64_t install_ms = zclock_mono () - started;
    cluster_one (c, lab_value (rng), 3, true);
    uint64_t growth = s_proc_bytes ("VmHWM:") - rss_before;
    fprintf (stderr, "snapshot_large_install: installed in %lld ms (bound %d ms), "
             "%u commits meanwhile; memory grew %llu MiB (bound %llu MiB)\n",
             (long long) install_ms, SNAP_LARGE_WAIT_MS, during,
             (unsigned long long) (growth >> 20),
             (unsigned long long) (SNAP_LARGE_GROWTH_MAX >> 20));
    ck_assert_uint_gt (during, 0);
    ck_assert_uint_eq (vst.snapshots_installed, 1);
    s_check_files (c, leader);          /* the other follower took none */
    s_check_files (c, victim);
#if !defined (__SANITIZE_ADDRESS__) && !defined (__SANITIZE_THREAD__)
    ck_assert_uint_lt (growth, SNAP_LARGE_GROWTH_MAX);
#endif
    kept = s_kept_term (c, leader, term, why, size);
    if (kept)
        ck_assert_uint_eq (cluster_leader (c), leader);
    cluster_destroy (&c);
    return kept;
}

/* Raft §7, Figure 13: a follower cut off while the leader moved on
   comes back through a 64 MiB snapshot sent in 1 MiB chunks, while the
   leader keeps committing with the other follower and its heartbeats
   keep their term (no election); the leader's WAL drops the segments
   the snapshot covers, and the process grows by less than three times
   the snapshot (checked without sanitizers, whose allocators keep freed
   memory). The scenario needs one leader, in one term, from the cut to
   the end. An election makes an attempt inconclusive: on a loaded
   machine the process can lose the CPU for longer than an election
   timeout (cluster.h), and the leader steps down (check quorum) with
   nothing wrong in the code. The test then starts again on a new
   cluster, up to SNAP_LARGE_ATTEMPTS times, as the lab retries
   ConcurrentStarts when the term moves: an install that causes an
   election fails every attempt. */
START_TEST (snapshot_large_install)
{
    lab_rng_t rng = lab_seeded ("test_snapshot", "snapshot_large_install");
    char why [512] = "";
    bool done = false;
    for (int attempt = 1; attempt <= SNAP_LARGE_ATTEMPTS && !done; attempt++) {
        done = s_large_install (&rng, why, sizeof why);
        if (!done)
            fprintf (stderr, "snapshot_large_install: attempt %d saw an "
                     "election: %s\n", attempt, why);
    }
    ck_assert_msg (done, "an election in each of %d attempts, the last: %s",
                   SNAP_LARGE_ATTEMPTS, why);
}
END_TEST

/* A full disk while installing a snapshot (issue: "a full disk ...
   while snapshotting: the node stops acknowledging, reports the error
   in status and the log, and loses nothing; it never spins or
   crashes"): a follower on a 5 MiB tmpfs misses entries the two others
   then compact into an 8 MiB snapshot; the install cannot fit, so the
   follower's persister fails, the follower reports disk_failed and
   installs nothing, while the two others keep committing. Moved back to
   a disk with room, it installs the snapshot and catches up. Both others
   compact, not only the leader: under load leadership may move between
   them (a check-quorum step-down), and one that still held the victim's
   missing entries would send those, which fit. */
START_TEST (snapshot_install_full_disk)
{
    lab_rng_t rng = lab_seeded ("test_snapshot", "snapshot_install_full_disk");
    cluster_snapshots_t big = {.entries = 0, .trailing = SNAP_TRAILING,
                               .chunk_bytes = SNAP_LARGE_CHUNK_BYTES,
                               .pad_bytes = SNAP_FULL_PAD_BYTES};
    cluster_t *c = cluster_new_snapshots (3, &big);
    cluster_one (c, lab_value (&rng), 3, true);
    uint32_t leader = cluster_leader (c);
    uint32_t victim = lab_plus (3, leader, 1);
    char home [256], small [64];
    cluster_small_disk (c, victim, home, sizeof home, small, sizeof small);
    cluster_one (c, lab_value (&rng), 3, true);
    zraft_status_t vst;
    cluster_disconnect (c, victim);
    for (int k = 0; k < 2 * SNAP_INTERVAL; k++)
        cluster_one (c, lab_value (&rng), 2, true);
    /* Cut off, the victim appends nothing more: whoever leads once it is
       back needs a snapshot past its last entry. */
    cluster_status (c, victim, &vst);
    for (uint32_t id = 1; id <= 3; id++)
        if (id != victim) {
            ck_assert_int_eq (zraft_snapshot (cluster_node (c, id)), 0);
            s_wait_first_index (c, id, vst.last_index + 1);
        }
    cluster_connect (c, victim);
    int64_t deadline = zclock_mono () + SNAP_LARGE_WAIT_MS;
    do {                                /* the others commit meanwhile */
        cluster_one (c, lab_value (&rng), 2, true);
        cluster_status (c, victim, &vst);
        if (zclock_mono () >= deadline) {
            uint32_t a = lab_plus (3, victim, 1), b = lab_plus (3, victim, 2);
            zraft_status_t ast, bst;
            cluster_status (c, a, &ast);
            cluster_status (c, b, &bst);
            char vline [384], aline [384], bline [384];
            ck_abort_msg ("the victim never reported its full disk in %d ms: "
                          "victim %s; others %s; %s", SNAP_LARGE_WAIT_MS,
                          s_describe (vline, sizeof vline, victim, &vst),
                          s_describe (aline, sizeof aline, a, &ast),
                          s_describe (bline, sizeof bline, b, &bst));
        }
    } while (!vst.disk_failed);
    ck_assert_uint_eq (vst.snapshots_installed, 0);
    uint64_t last = cluster_one (c, lab_value (&rng), 2, true);
    /* Moved to a disk with room, it installs and catches up. */
    cluster_stop (c, victim);
    cluster_copy_files (small, home);
    ck_assert_int_eq (umount (small), 0);
    ck_assert_int_eq (rmdir (small), 0);
    cluster_set_dir (c, victim, home);
    cluster_start (c, victim);
    cluster_status (c, victim, &vst);
    ck_assert (!vst.disk_failed);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, SNAP_LARGE_WAIT_MS), 3);
    cluster_status (c, victim, &vst);
    ck_assert_uint_eq (vst.snapshots_installed, 1);
    cluster_one (c, lab_value (&rng), 3, true);
    cluster_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("snapshot");
    /* snapcommon: per iteration up to four one()s and an election. */
    int snapcommon_s = LAB_TIMEOUT_S (4 * SNAP_ITERS + 1, SNAP_ITERS + 1, 0);
    lab_add (s, "lab_snapshot_basic", lab_snapshot_basic, snapcommon_s);
    lab_add (s, "lab_snapshot_install", lab_snapshot_install, snapcommon_s);
    lab_add (s, "lab_snapshot_install_unreliable", lab_snapshot_install_unreliable,
             snapcommon_s);
    lab_add (s, "lab_snapshot_install_crash", lab_snapshot_install_crash, snapcommon_s);
    lab_add (s, "lab_snapshot_install_uncrash", lab_snapshot_install_uncrash,
             snapcommon_s);
    /* AllCrash: 5 rounds of up to 16 one()s; Init: 14 one()s. */
    int all_crash_s = LAB_TIMEOUT_S (1 + 5 * (SNAP_NN_MIN + SNAP_NN_SPAN + 1), 0, 0);
    lab_add (s, "lab_snapshot_all_crash", lab_snapshot_all_crash, all_crash_s);
    lab_add (s, "lab_snapshot_all_crash_reliable", lab_snapshot_all_crash_reliable,
             all_crash_s);
    int init_s = LAB_TIMEOUT_S (SNAP_INTERVAL + 4, 0, 0);
    lab_add (s, "lab_snapshot_init", lab_snapshot_init, init_s);
    lab_add (s, "lab_snapshot_init_reliable", lab_snapshot_init_reliable, init_s);
    /* Each attempt: 28 one()s, 2 elections, 3 waits for the disk. */
    lab_add (s, "snapshot_large_install", snapshot_large_install,
             LAB_TIMEOUT_S (SNAP_LARGE_ATTEMPTS * (SNAP_LARGE_ENTRIES + 4),
                            SNAP_LARGE_ATTEMPTS * 2,
                            SNAP_LARGE_ATTEMPTS * 3 * SNAP_LARGE_WAIT_MS / 1000));
    lab_add (s, "snapshot_install_full_disk", snapshot_install_full_disk,
             LAB_TIMEOUT_S (2 * SNAP_INTERVAL + 8, 2, 3 * SNAP_LARGE_WAIT_MS / 1000));
    return check_run (s);
}
