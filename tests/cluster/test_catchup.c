/*  =========================================================================
    test_catchup - the three ways a leader brings a follower up to date,
    on real zraft servers over tcp on 127.0.0.1

    A follower is cut off while the two others commit a gap of entries
    and take a snapshot that makes the leader's memory forget them
    (snapshot_trailing is small). When it comes back:
    - if the leader's WAL still holds the gap (it drops whole segments
      only), the follower is sent those entries, read from the WAL by
      its replicator (raft/core.h Invariant 15): it installs no snapshot;
    - if the WAL dropped them too (the gap spans whole segments the
      snapshot covers), it gets the snapshot (Invariant 13): the read
      finds them compacted and the leader falls back;
    - with config.wal_catchup off, it gets the snapshot either way.
    The apply checker (tests/lib/cluster.h) runs on every server: the
    follower applies every index of the gap, in order, with the value
    every other server applied. The same gap is timed both ways (one
    run, printed, not asserted).
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"
#include "../lib/lab.h"

/* A snapshot only when a test asks (zraft_snapshot), 4 entries kept
   behind it in memory, small chunks. */
#define CATCHUP_TRAILING 4
#define CATCHUP_CHUNK_BYTES 4096
/* Small commands in the gap: the WAL keeps them all in one segment. */
#define CATCHUP_GAP 400
/* Commands proposed between two one()s, well under the node's
   back-pressure bound (ZR_NODE_WRITES_MAX). */
#define CATCHUP_BURST 64
/* Large commands: 24 of 256 KiB span three WAL segments
   (CLUSTER_SEGMENT_BYTES), so the snapshot lets the WAL drop the first. */
#define CATCHUP_LARGE_ENTRIES 24
#define CATCHUP_LARGE_BYTES (256u << 10)
/* The timed gap: 6000 commands of 200 bytes, about 1.4 MiB of WAL
   records, within the first segment (which the WAL therefore keeps);
   the snapshot is padded to hold as much (a state machine that keeps
   what it applied), and sent in chunks of the default size. */
#define CATCHUP_TIMED_GAP 6000
#define CATCHUP_TIMED_BYTES 200
#define CATCHUP_TIMED_CHUNK_BYTES (1u << 20)
/* The bound on committing a gap, and on sending it. */
#define CATCHUP_WAIT_MS (3 * CLUSTER_COMMIT_WAIT_MS)

static const cluster_snapshots_t s_wal = {
    .entries = 0,
    .trailing = CATCHUP_TRAILING,
    .chunk_bytes = CATCHUP_CHUNK_BYTES,
    .pad_bytes = 3 * CATCHUP_CHUNK_BYTES,
    .wal_catchup = true,
};

/* ------------------------------------------------------------- helpers */

/* Commits n commands of size bytes with the servers other than the one
   cut off: proposed on the leader, a one() after every CATCHUP_BURST
   (and on a refusal: a new leader). Returns the last index committed. */
static uint64_t
s_commit_gap (cluster_t *c, lab_rng_t *rng, uint32_t n, size_t size)
{
    uint32_t leader = cluster_leader (c);
    for (uint32_t k = 1; k < n; k++) {
        int rc = k % CATCHUP_BURST == 0
               ? -1 : cluster_propose_bytes (c, leader, lab_value (rng), size, NULL);
        if (rc != 0) {
            cluster_one_bytes (c, lab_value (rng), size, 2, true);
            leader = cluster_leader (c);
        }
    }
    return cluster_one_bytes (c, lab_value (rng), size, 2, true);
}

/* Waits (bounded) until the log server id keeps in memory starts past
   index. */
static void
s_wait_first_index (cluster_t *c, uint32_t id, uint64_t index)
{
    int64_t deadline = zclock_mono () + CATCHUP_WAIT_MS;
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

/* Cuts off a follower of c, commits a gap of n commands of size bytes
   with the two others, and has both take a snapshot whose compaction
   makes their memory forget the follower's next entry (so whichever
   leads must send the gap from its WAL or a snapshot). Returns the
   follower; *last gets the last index of the gap. */
static uint32_t
s_leave_behind (cluster_t *c, lab_rng_t *rng, uint32_t n, size_t size,
                uint64_t *last)
{
    cluster_one (c, lab_value (rng), 3, true);
    uint32_t victim = lab_plus (3, cluster_leader (c), 1);
    cluster_disconnect (c, victim);
    zraft_status_t vst;
    cluster_status (c, victim, &vst);
    *last = s_commit_gap (c, rng, n, size);
    for (uint32_t id = 1; id <= 3; id++) {
        if (id == victim)
            continue;
        ck_assert_int_eq (zraft_snapshot (cluster_node (c, id)), 0);
        s_wait_first_index (c, id, vst.last_index + 1);
    }
    return victim;
}

/* Reconnects victim and waits until it applied index last; returns
   how long that took, in ms, and sets *first_ms (if not NULL) to when
   its log first grew (the leader found where to resume). */
static int64_t
s_rejoin (cluster_t *c, uint32_t victim, uint64_t last, int64_t *first_ms)
{
    zraft_status_t st;
    cluster_status (c, victim, &st);
    uint64_t was = st.last_index;
    int64_t start = zclock_mono ();
    cluster_connect (c, victim);
    if (first_ms) {
        do {                            /* a probe, then the gap: bounded below */
            cluster_idle (c, 1);
            cluster_status (c, victim, &st);
        } while (st.last_index == was && zclock_mono () < start + CATCHUP_WAIT_MS);
        *first_ms = zclock_mono () - start;
    }
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CATCHUP_WAIT_MS), 3);
    return zclock_mono () - start;
}

/* ------------------------------------------------------------- tests */

/* Invariant 15: a follower behind the leader's memory but not its WAL
   catches up from the WAL, without a snapshot, and applies the gap's
   every command as the others did. */
START_TEST (catchup_from_wal)
{
    lab_rng_t rng = lab_seeded ("test_catchup", "catchup_from_wal");
    cluster_t *c = cluster_new_snapshots (3, &s_wal);
    uint64_t last;
    uint32_t victim = s_leave_behind (c, &rng, CATCHUP_GAP, sizeof (uint64_t), &last);
    s_rejoin (c, victim, last, NULL);
    cluster_one (c, lab_value (&rng), 3, true);
    zraft_status_t vst;
    cluster_status (c, victim, &vst);
    ck_assert_uint_eq (vst.snapshots_installed, 0);
    ck_assert_uint_eq (cluster_restores (c, victim), 0);
    for (uint64_t index = last - CATCHUP_GAP + 1; index <= last; index++) {
        uint32_t n = cluster_n_committed (c, index, NULL);
        ck_assert_msg (n == 3 || n == 0, "index %llu applied by %u servers",
                       (unsigned long long) index, n);     /* 0: a no-op */
    }
    cluster_destroy (&c);
}
END_TEST

/* Invariants 13 and 15: a follower behind the WAL's first segment too
   (the snapshot let the leader drop it) gets the snapshot: the WAL read
   finds the entries compacted, the leader falls back. */
START_TEST (catchup_past_wal_gets_snapshot)
{
    lab_rng_t rng = lab_seeded ("test_catchup", "catchup_past_wal_gets_snapshot");
    cluster_t *c = cluster_new_snapshots (3, &s_wal);
    uint64_t last;
    uint32_t victim = s_leave_behind (c, &rng, CATCHUP_LARGE_ENTRIES,
                                      CATCHUP_LARGE_BYTES, &last);
    s_rejoin (c, victim, last, NULL);
    cluster_one (c, lab_value (&rng), 3, true);
    zraft_status_t vst;
    cluster_status (c, victim, &vst);
    ck_assert_uint_eq (vst.snapshots_installed, 1);
    ck_assert_uint_eq (cluster_restores (c, victim), 1);
    cluster_destroy (&c);
}
END_TEST

/* The same gap, caught up from the WAL and, with wal_catchup off,
   through a snapshot as large as the gap's commands; prints both
   times. */
START_TEST (catchup_wal_and_snapshot_timed)
{
    lab_rng_t rng = lab_seeded ("test_catchup", "catchup_wal_and_snapshot_timed");
    int64_t ms [2], first [2];
    for (int mode = 0; mode < 2; mode++) {
        cluster_snapshots_t snap = s_wal;
        snap.wal_catchup = mode == 0;
        snap.pad_bytes = CATCHUP_TIMED_GAP * CATCHUP_TIMED_BYTES;
        snap.chunk_bytes = CATCHUP_TIMED_CHUNK_BYTES;
        cluster_t *c = cluster_new_snapshots (3, &snap);
        uint64_t last;
        uint32_t victim = s_leave_behind (c, &rng, CATCHUP_TIMED_GAP,
                                          CATCHUP_TIMED_BYTES, &last);
        ms [mode] = s_rejoin (c, victim, last, &first [mode]);
        zraft_status_t vst;
        cluster_status (c, victim, &vst);
        ck_assert_uint_eq (vst.snapshots_installed, mode == 0 ? 0 : 1);
        cluster_destroy (&c);
    }
    int64_t wal_ms = ms [0] - first [0];
    fprintf (stderr, "catchup_wal_and_snapshot_timed: a gap of %d commands of %d "
             "bytes, from reconnection to caught up: from the WAL %lld ms (log "
             "growing after %lld ms, then %.0f entries/s), through the snapshot "
             "%lld ms (log growing after %lld ms)\n", CATCHUP_TIMED_GAP,
             CATCHUP_TIMED_BYTES, (long long) ms [0], (long long) first [0],
             wal_ms > 0 ? CATCHUP_TIMED_GAP * 1000.0 / (double) wal_ms : 0.0,
             (long long) ms [1], (long long) first [1]);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("catchup");
    /* The gap's one()s, the rejoin, and a one() after it. */
    lab_add (s, "catchup_from_wal", catchup_from_wal,
             LAB_TIMEOUT_S (CATCHUP_GAP / CATCHUP_BURST + 4, 1,
                            2 * CATCHUP_WAIT_MS / 1000));
    lab_add (s, "catchup_past_wal_gets_snapshot", catchup_past_wal_gets_snapshot,
             LAB_TIMEOUT_S (CATCHUP_LARGE_ENTRIES + 4, 1, 2 * CATCHUP_WAIT_MS / 1000));
    lab_add (s, "catchup_wal_and_snapshot_timed", catchup_wal_and_snapshot_timed,
             LAB_TIMEOUT_S (2 * (CATCHUP_TIMED_GAP / CATCHUP_BURST + 3), 2,
                            4 * CATCHUP_WAIT_MS / 1000));
    return check_run (s);
}
