/*  =========================================================================
    test_progress - unit tests of raft/progress: the leader's view of one
    follower (nextIndex and matchIndex of Figure 2, plus flow control)

    PROBE sends one AppendEntries at a time until the follower answers;
    REPLICATE pipelines within a window of messages and bytes; SNAPSHOT
    sends a snapshot in chunks within a window of bytes (Raft §7,
    Figure 13). The invariants of progress.h are cited by number: (1)
    match < next, (2) match never moves backwards, (3) the in-flight
    ring, (4) the snapshot offsets, (5) a storage read in progress.
    =========================================================================
*/
#include <check.h>
#include <signal.h>

#include "../../raft/raft.h"

#define S_BYTES_MAX (64ull << 20)       /* a byte window that never binds */

//  --------------------------------------------------------------------------
//  Helpers

/* Returns a progress of a leader whose last index is 10, moved to
   REPLICATE by a successful probe that matched up to match. */
static zr_progress_t
s_replicating (uint32_t inflight_max, uint64_t bytes_max, zr_index_t match)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, inflight_max, bytes_max);
    zr_progress_sent (&pr, 10, 0, 1);
    ck_assert (zr_progress_acked (&pr, match));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
    return pr;
}

//  --------------------------------------------------------------------------
//  zr_progress_reset

/* Figure 2 (leader state): nextIndex starts at the leader's last index +
   1 and matchIndex at 0; zraft also starts in PROBE with nothing in
   flight. */
START_TEST (progress_reset_starts_probe_after_last)
{
    zr_progress_t pr;
    memset (&pr, 0xab, sizeof pr);
    zr_progress_reset (&pr, 10, 8, 1000);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 11);
    ck_assert_uint_eq (pr.match, 0);
    ck_assert (!pr.probe_sent);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.head, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert_uint_eq (pr.last_send_ms, 0);
    ck_assert_uint_eq (pr.inflight_max, 8);
    ck_assert_uint_eq (pr.inflight_bytes_max, 1000);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* Figure 2: a leader with an empty log starts probing at index 1. */
START_TEST (progress_reset_empty_log_probes_from_one)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 0, 1, 1);
    ck_assert_uint_eq (pr.next, 1);
    ck_assert_uint_eq (pr.match, 0);
}
END_TEST

/* Raft §5.3 (flow control, TigerStyle limits): a window of zero messages
   is a contract violation: asserted. */
START_TEST (progress_reset_zero_window_aborts)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 0, 0, 1);
}
END_TEST

/* Raft §5.3 (flow control, TigerStyle limits): a window larger than the
   ring is asserted. */
START_TEST (progress_reset_window_over_ring_aborts)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 0, ZR_INFLIGHT_MAX + 1, 1);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_progress_sent, zr_progress_can_send (PROBE)

/* Raft §5.3 (probing for the match point): in PROBE one AppendEntries is
   outstanding at a time and nextIndex does not move until it is answered. */
START_TEST (progress_sent_probe_one_at_a_time)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 8, S_BYTES_MAX);
    zr_progress_sent (&pr, 12, 40, 100);
    ck_assert (pr.probe_sent);
    ck_assert_uint_eq (pr.probe_sent_ms, 100);
    ck_assert_uint_eq (pr.last_send_ms, 100);
    ck_assert_uint_eq (pr.next, 11);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert (!zr_progress_can_send (&pr));
}
END_TEST

/* Raft §5.3: a heartbeat is not part of the window: it only records when
   the link was last used. */
START_TEST (progress_heartbeat_sent_only_stamps_time)
{
    zr_progress_t pr = s_replicating (2, S_BYTES_MAX, 10);
    zr_progress_heartbeat_sent (&pr, 77);
    ck_assert_uint_eq (pr.last_send_ms, 77);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.next, 11);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_progress_acked

/* Raft §5.3: a successful probe found the match point: matchIndex and
   nextIndex move past it and the follower goes to REPLICATE. */
START_TEST (progress_acked_moves_probe_to_replicate)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 8, S_BYTES_MAX);
    zr_progress_sent (&pr, 12, 40, 100);
    ck_assert (zr_progress_acked (&pr, 12));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
    ck_assert_uint_eq (pr.match, 12);
    ck_assert_uint_eq (pr.next, 13);
    ck_assert (!pr.probe_sent);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* Raft §5.3: in REPLICATE, sending moves nextIndex past what was sent
   without waiting, and each message takes a slot of the window (3). */
START_TEST (progress_sent_replicate_advances_next)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 10);
    zr_progress_sent (&pr, 15, 50, 200);
    ck_assert_uint_eq (pr.next, 16);
    ck_assert_uint_eq (pr.count, 1);
    ck_assert_uint_eq (pr.bytes, 50);
    zr_progress_sent (&pr, 20, 30, 210);
    ck_assert_uint_eq (pr.next, 21);
    ck_assert_uint_eq (pr.count, 2);
    ck_assert_uint_eq (pr.bytes, 80);
    ck_assert_uint_eq (pr.last_send_ms, 210);
    ck_assert_uint_eq (pr.match, 10);
}
END_TEST

/* Raft §5.3 (flow control, etcd Inflights): the window holds at most
   inflight_max messages. */
START_TEST (progress_can_send_bounded_by_count)
{
    zr_progress_t pr = s_replicating (3, S_BYTES_MAX, 10);
    for (zr_index_t last = 11; last <= 13; last++) {
        ck_assert (zr_progress_can_send (&pr));
        zr_progress_sent (&pr, last, 1, 200);
    }
    ck_assert_uint_eq (pr.count, 3);
    ck_assert (!zr_progress_can_send (&pr));
}
END_TEST

/* Raft §5.3 (flow control, etcd Inflights): the window closes once the
   bytes in flight reach inflight_bytes_max (the last message may
   overshoot). */
START_TEST (progress_can_send_bounded_by_bytes)
{
    zr_progress_t pr = s_replicating (8, 100, 10);
    zr_progress_sent (&pr, 11, 60, 200);
    ck_assert (zr_progress_can_send (&pr));
    zr_progress_sent (&pr, 12, 40, 200);
    ck_assert_uint_eq (pr.bytes, 100);
    ck_assert_uint_eq (pr.count, 2);
    ck_assert (!zr_progress_can_send (&pr));
}
END_TEST

/* Raft §5.3 (flow control, TigerStyle limits): sending past a full window
   is asserted. */
START_TEST (progress_sent_full_window_aborts)
{
    zr_progress_t pr = s_replicating (1, S_BYTES_MAX, 10);
    zr_progress_sent (&pr, 11, 1, 200);
    zr_progress_sent (&pr, 12, 1, 200);
}
END_TEST

/* Raft §5.3: an ack frees every message it covers, oldest first, and only
   those (3). */
START_TEST (progress_acked_frees_window)
{
    zr_progress_t pr = s_replicating (3, S_BYTES_MAX, 10);
    zr_progress_sent (&pr, 15, 10, 200);
    zr_progress_sent (&pr, 20, 20, 201);
    zr_progress_sent (&pr, 25, 40, 202);
    ck_assert (!zr_progress_can_send (&pr));
    ck_assert (zr_progress_acked (&pr, 17));
    ck_assert_uint_eq (pr.match, 17);
    ck_assert_uint_eq (pr.count, 2);
    ck_assert_uint_eq (pr.bytes, 60);
    ck_assert_uint_eq (pr.next, 26);
    ck_assert (zr_progress_can_send (&pr));
    ck_assert (zr_progress_acked (&pr, 25));
    ck_assert_uint_eq (pr.match, 25);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert_uint_eq (pr.next, 26);
}
END_TEST

/* Raft §5.3: the ring of in-flight messages wraps around many times and
   keeps its count and bytes exact (3). */
START_TEST (progress_acked_ring_wraps)
{
    zr_progress_t pr = s_replicating (ZR_INFLIGHT_MAX, S_BYTES_MAX, 10);
    zr_index_t last = 10;
    for (int round = 0; round < 5 * ZR_INFLIGHT_MAX; round++) {
        zr_progress_sent (&pr, last + 1, 3, 200);
        zr_progress_sent (&pr, last + 2, 4, 200);
        ck_assert_uint_eq (pr.count, 2);
        ck_assert_uint_eq (pr.bytes, 7);
        ck_assert (zr_progress_acked (&pr, last + 1));
        ck_assert_uint_eq (pr.count, 1);
        ck_assert_uint_eq (pr.bytes, 4);
        ck_assert (zr_progress_acked (&pr, last + 2));
        ck_assert_uint_eq (pr.count, 0);
        last += 2;
    }
    ck_assert_uint_eq (pr.match, last);
    ck_assert_uint_eq (pr.next, last + 1);
}
END_TEST

/* Invariant 2 (Raft §5.3, replies reordered by the network): a late or
   duplicated ack never moves matchIndex back nor frees anything. */
START_TEST (progress_acked_late_or_duplicate_ignored)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 10);
    zr_progress_sent (&pr, 15, 10, 200);
    zr_progress_sent (&pr, 20, 10, 201);
    zr_progress_sent (&pr, 25, 10, 202);
    ck_assert (zr_progress_acked (&pr, 20));
    ck_assert (!zr_progress_acked (&pr, 15));     /* late */
    ck_assert (!zr_progress_acked (&pr, 20));     /* duplicate */
    ck_assert (!zr_progress_acked (&pr, 0));
    ck_assert_uint_eq (pr.match, 20);
    ck_assert_uint_eq (pr.next, 26);
    ck_assert_uint_eq (pr.count, 1);
    ck_assert_uint_eq (pr.bytes, 10);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
}
END_TEST

/* Raft §5.3 (Invariant 1): an ack beyond nextIndex (an answer to a
   message sent before a back-off) moves nextIndex past it. */
START_TEST (progress_acked_beyond_next_moves_next)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 10);
    zr_progress_sent (&pr, 30, 10, 200);
    zr_progress_unreachable (&pr);
    ck_assert_uint_eq (pr.next, 11);
    ck_assert (zr_progress_acked (&pr, 30));
    ck_assert_uint_eq (pr.match, 30);
    ck_assert_uint_eq (pr.next, 31);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_progress_rejected

/* Raft §5.3: a rejection whose prevLogIndex is at or below matchIndex is
   stale (that prefix is known to match): ignored. */
START_TEST (progress_rejected_stale_below_match_ignored)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 10);
    zr_progress_sent (&pr, 20, 10, 200);
    ck_assert (!zr_progress_rejected (&pr, 10, 3));
    ck_assert (!zr_progress_rejected (&pr, 4, 3));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
    ck_assert_uint_eq (pr.next, 21);
    ck_assert_uint_eq (pr.match, 10);
    ck_assert_uint_eq (pr.count, 1);
}
END_TEST

/* Raft §5.3: in PROBE only the answer to the current probe (prev = next -
   1) counts; a rejection of an older probe is ignored. */
START_TEST (progress_rejected_older_probe_ignored)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 8, S_BYTES_MAX);
    zr_progress_sent (&pr, 11, 0, 100);
    ck_assert (!zr_progress_rejected (&pr, 15, 3));
    ck_assert_uint_eq (pr.next, 11);
    ck_assert (pr.probe_sent);
}
END_TEST

/* Raft §5.3 (accelerated back-off): a rejection moves nextIndex to the
   hint and allows the next probe at once. */
START_TEST (progress_rejected_backs_off_to_hint)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 8, S_BYTES_MAX);
    zr_progress_sent (&pr, 11, 0, 100);
    ck_assert (zr_progress_rejected (&pr, 10, 6));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 6);
    ck_assert_uint_eq (pr.match, 0);
    ck_assert (!pr.probe_sent);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* Raft §5.3: the follower did not match at rejected_prev, so a hint above
   it is clamped down to rejected_prev. */
START_TEST (progress_rejected_hint_clamped_to_rejected_prev)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 8, S_BYTES_MAX);
    zr_progress_sent (&pr, 11, 0, 100);
    ck_assert (zr_progress_rejected (&pr, 10, 50));
    ck_assert_uint_eq (pr.next, 10);
}
END_TEST

/* Raft §5.3 (Invariant 1): the follower is known to match up to
   matchIndex, so a hint at or below it is clamped up to match + 1. */
START_TEST (progress_rejected_hint_clamped_above_match)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 20);
    zr_progress_sent (&pr, 30, 10, 200);
    zr_progress_sent (&pr, 40, 10, 201);
    ck_assert (zr_progress_rejected (&pr, 30, 5));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 21);
    ck_assert_uint_eq (pr.match, 20);
}
END_TEST

/* Raft §5.3: a rejection in REPLICATE drops the whole window and goes
   back to PROBE at the hint. */
START_TEST (progress_rejected_in_replicate_resets_to_probe)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 20);
    zr_progress_sent (&pr, 30, 10, 200);
    zr_progress_sent (&pr, 40, 10, 201);
    ck_assert (zr_progress_rejected (&pr, 30, 25));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 25);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert (!pr.probe_sent);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_progress_timeout, zr_progress_unreachable

/* Raft §5.3 ("the leader retries AppendEntries indefinitely"): when the
   oldest message in flight is older than retry_ms, the window is presumed
   lost and the follower is probed again from match + 1. */
START_TEST (progress_timeout_oldest_inflight_returns_to_probe)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 12);
    zr_progress_sent (&pr, 20, 10, 100);
    zr_progress_sent (&pr, 30, 10, 120);
    ck_assert (!zr_progress_timeout (&pr, 149, 50));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
    ck_assert_uint_eq (pr.count, 2);
    ck_assert (zr_progress_timeout (&pr, 150, 50));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 13);
    ck_assert_uint_eq (pr.match, 12);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert (!pr.probe_sent);
}
END_TEST

/* Raft §5.3: with nothing in flight in REPLICATE there is nothing to time
   out. */
START_TEST (progress_timeout_nothing_in_flight)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 12);
    ck_assert (!zr_progress_timeout (&pr, 100000, 50));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
    ck_assert_uint_eq (pr.next, 13);
}
END_TEST

/* Raft §5.3: an unanswered probe may be resent after retry_ms, from the
   same nextIndex. */
START_TEST (progress_timeout_probe_allows_resend)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 8, S_BYTES_MAX);
    zr_progress_sent (&pr, 11, 0, 100);
    ck_assert (!zr_progress_timeout (&pr, 149, 50));
    ck_assert (pr.probe_sent);
    ck_assert (zr_progress_timeout (&pr, 150, 50));
    ck_assert (!pr.probe_sent);
    ck_assert_uint_eq (pr.next, 11);
    ck_assert (zr_progress_can_send (&pr));
    ck_assert (!zr_progress_timeout (&pr, 1000, 50));
}
END_TEST

/* Raft §5.3: an unreachable follower goes back to PROBE from match + 1,
   dropping whatever was in flight. */
START_TEST (progress_unreachable_returns_to_probe)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 12);
    zr_progress_sent (&pr, 20, 10, 100);
    zr_progress_sent (&pr, 30, 10, 120);
    zr_progress_unreachable (&pr);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 13);
    ck_assert_uint_eq (pr.match, 12);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert (!pr.probe_sent);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

//  --------------------------------------------------------------------------
//  SNAPSHOT (Raft §7, Figure 13; progress.h invariant 4)

#define S_SNAP_INDEX 50                 /* the snapshot being sent */
#define S_SNAP_SIZE 1000                /* its bytes */
#define S_CHUNK 100                     /* bytes per chunk */
#define S_WINDOW 300                    /* bytes in flight beyond acked */

/* Returns a progress that matched up to 3 and had two AppendEntries in
   flight when, at time 100, the follower turned out to need snapshot
   S_SNAP_INDEX (term 4, S_SNAP_SIZE bytes). */
static zr_progress_t
s_snapshotting (void)
{
    zr_progress_t pr = s_replicating (8, S_BYTES_MAX, 3);
    zr_progress_sent (&pr, 5, 10, 90);
    zr_progress_sent (&pr, 7, 10, 95);
    zr_progress_snapshot_start (&pr, S_SNAP_INDEX, 4, S_SNAP_SIZE, 100);
    return pr;
}

/* Sends at now the chunks the window allows, as the core does; returns
   how many. */
static int
s_send_window (zr_progress_t *pr, uint64_t now)
{
    int chunks = 0;
    uint64_t n;
    while ((n = zr_progress_snapshot_next (pr, S_CHUNK, S_WINDOW)) > 0) {
        zr_progress_snapshot_sent (pr, n, now);
        chunks++;
    }
    return chunks;
}

/* A reply to a chunk of the snapshot being sent, not (yet) installed:
   the follower holds offset bytes; accepted if it took the chunk. */
static bool
s_reply (zr_progress_t *pr, uint64_t offset, bool accepted, uint64_t now)
{
    return zr_progress_snapshot_reply (pr, S_SNAP_INDEX, offset, accepted,
                                       false, now);
}

/* Raft §7: a follower that needs compacted entries gets the snapshot
   from offset 0: SNAPSHOT drops what was in flight, keeps match and
   sends no entries meanwhile. */
START_TEST (progress_snapshot_start_enters_snapshot)
{
    zr_progress_t pr = s_snapshotting ();
    ck_assert_int_eq (pr.state, ZR_PROGRESS_SNAPSHOT);
    ck_assert_uint_eq (pr.snap_index, S_SNAP_INDEX);
    ck_assert_uint_eq (pr.snap_term, 4);
    ck_assert_uint_eq (pr.snap_size, S_SNAP_SIZE);
    ck_assert_uint_eq (pr.snap_sent, 0);
    ck_assert_uint_eq (pr.snap_acked, 0);
    ck_assert_uint_eq (pr.snap_acked_ms, 100);
    ck_assert (!pr.snap_rewound);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert_uint_eq (pr.bytes, 0);
    ck_assert_uint_eq (pr.match, 3);
    ck_assert (!zr_progress_can_send (&pr));
}
END_TEST

/* Figure 13 (chunks) and TigerStyle limits: chunks carry chunk_bytes
   each, and no more than window_bytes go beyond what the follower
   confirmed. */
START_TEST (progress_snapshot_next_within_chunk_and_window)
{
    zr_progress_t pr = s_snapshotting ();
    ck_assert_uint_eq (zr_progress_snapshot_next (&pr, S_CHUNK, S_WINDOW),
                       S_CHUNK);
    ck_assert_int_eq (s_send_window (&pr, 110), 3);
    ck_assert_uint_eq (pr.snap_sent, S_WINDOW);
    ck_assert_uint_eq (zr_progress_snapshot_next (&pr, S_CHUNK, S_WINDOW), 0);
    ck_assert_uint_eq (zr_progress_snapshot_next (&pr, S_CHUNK, 350), 100);
    ck_assert_uint_eq (pr.last_send_ms, 110);
}
END_TEST

/* Figure 13 (done flag): the last chunk carries what is left, then
   nothing more is sent. */
START_TEST (progress_snapshot_next_last_chunk_is_remainder)
{
    zr_progress_t pr = s_snapshotting ();
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq (zr_progress_snapshot_next (&pr, 300, 5000), 300);
        zr_progress_snapshot_sent (&pr, 300, 110);
    }
    ck_assert_uint_eq (zr_progress_snapshot_next (&pr, 300, 5000), 100);
    zr_progress_snapshot_sent (&pr, 100, 110);
    ck_assert_uint_eq (pr.snap_sent, S_SNAP_SIZE);
    ck_assert_uint_eq (zr_progress_snapshot_next (&pr, 300, 5000), 0);
}
END_TEST

/* Raft §5.3 (retries) for chunks: the retry clock starts when a chunk
   leaves with nothing else unconfirmed, not at every chunk. */
START_TEST (progress_snapshot_sent_starts_retry_clock)
{
    zr_progress_t pr = s_snapshotting ();
    zr_progress_snapshot_sent (&pr, S_CHUNK, 200);
    ck_assert_uint_eq (pr.snap_acked_ms, 200);
    zr_progress_snapshot_sent (&pr, S_CHUNK, 250);
    ck_assert_uint_eq (pr.snap_acked_ms, 200);
    ck_assert_uint_eq (pr.last_send_ms, 250);
    ck_assert_uint_eq (pr.snap_sent, 2 * S_CHUNK);
}
END_TEST

/* Figure 13: a chunk the follower took moves the confirmed offset and
   slides the window by as much. */
START_TEST (progress_snapshot_reply_accepted_slides_window)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    ck_assert (s_reply (&pr, 100, true, 120));
    ck_assert_uint_eq (pr.snap_acked, 100);
    ck_assert_uint_eq (pr.snap_acked_ms, 120);
    ck_assert_uint_eq (pr.snap_sent, S_WINDOW);
    ck_assert_int_eq (s_send_window (&pr, 120), 1);
    ck_assert_uint_eq (pr.snap_sent, 400);
}
END_TEST

/* Figure 13 (chunks in order): a chunk refused with the follower stuck
   where it was means one was lost: resend from its offset, once per
   round trip; the refusals of the rest of the old window change
   nothing. */
START_TEST (progress_snapshot_reply_refused_rewinds_once)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);           /* chunk 0 is lost */
    ck_assert (s_reply (&pr, 0, false, 120));
    ck_assert_uint_eq (pr.snap_sent, 0);
    ck_assert (pr.snap_rewound);
    ck_assert_int_eq (s_send_window (&pr, 120), 3);
    zr_progress_t before;
    memcpy (&before, &pr, sizeof pr);
    ck_assert (!s_reply (&pr, 0, false, 121));
    ck_assert_mem_eq (&pr, &before, sizeof pr);
    ck_assert (s_reply (&pr, 100, true, 130));
    ck_assert (!pr.snap_rewound);
    ck_assert_uint_eq (pr.snap_sent, S_WINDOW);
}
END_TEST

/* Raft §5.3 (replies reordered or duplicated): a refusal that comes with
   progress answers a duplicate chunk; it moves the confirmed offset but
   rewinds nothing (else every copy would resend the window). */
START_TEST (progress_snapshot_reply_refusal_with_progress_no_rewind)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    ck_assert (s_reply (&pr, 200, false, 120));
    ck_assert_uint_eq (pr.snap_acked, 200);
    ck_assert_uint_eq (pr.snap_sent, S_WINDOW);
    ck_assert (!pr.snap_rewound);
}
END_TEST

/* Invariant (4): a follower that says it holds less than it confirmed
   restarted and lost its partial snapshot: the transfer starts over. */
START_TEST (progress_snapshot_reply_restarted_follower_restarts)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    ck_assert (s_reply (&pr, 300, true, 120));
    s_send_window (&pr, 120);
    ck_assert_uint_eq (pr.snap_sent, 600);
    ck_assert (s_reply (&pr, 0, false, 130));
    ck_assert_uint_eq (pr.snap_acked, 0);
    ck_assert_uint_eq (pr.snap_sent, 0);
    ck_assert_uint_eq (pr.snap_acked_ms, 130);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_SNAPSHOT);
}
END_TEST

/* Figure 13 then Figure 2: once the follower installed the snapshot it
   matches up to the snapshot's index; AppendEntries resume (PROBE)
   from the next entry. */
START_TEST (progress_snapshot_reply_installed_probes_after_index)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    ck_assert (zr_progress_snapshot_reply (&pr, S_SNAP_INDEX, S_SNAP_SIZE,
                                           true, true, 120));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.match, S_SNAP_INDEX);
    ck_assert_uint_eq (pr.next, S_SNAP_INDEX + 1);
    ck_assert_uint_eq (pr.snap_index, 0);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* Raft §5.3 (stale replies): a reply about another snapshot, or one
   that arrives after the transfer ended, changes nothing. */
START_TEST (progress_snapshot_reply_other_snapshot_ignored)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    zr_progress_t before;
    memcpy (&before, &pr, sizeof pr);
    ck_assert (!zr_progress_snapshot_reply (&pr, 40, 100, true, false, 120));
    ck_assert (!zr_progress_snapshot_reply (&pr, 40, 500, true, true, 120));
    ck_assert_mem_eq (&pr, &before, sizeof pr);
    ck_assert (zr_progress_snapshot_reply (&pr, S_SNAP_INDEX, S_SNAP_SIZE,
                                           true, true, 130));
    memcpy (&before, &pr, sizeof pr);
    ck_assert (!s_reply (&pr, 100, true, 140));
    ck_assert_mem_eq (&pr, &before, sizeof pr);
}
END_TEST

/* Redis rule (bad input never crashes): a reply claiming more bytes
   than the snapshot has is ignored. */
START_TEST (progress_snapshot_reply_beyond_size_ignored)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    zr_progress_t before;
    memcpy (&before, &pr, sizeof pr);
    ck_assert (!s_reply (&pr, S_SNAP_SIZE + 1, true, 120));
    ck_assert_mem_eq (&pr, &before, sizeof pr);
}
END_TEST

/* Raft §5.3 (retries) for chunks: chunks unconfirmed for retry_ms are
   lost; sending resumes from the last confirmed offset. */
START_TEST (progress_timeout_snapshot_resumes_from_acked)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    s_reply (&pr, 100, true, 120);
    ck_assert (!zr_progress_timeout (&pr, 169, 50));
    ck_assert_uint_eq (pr.snap_sent, S_WINDOW);
    ck_assert (zr_progress_timeout (&pr, 170, 50));
    ck_assert_uint_eq (pr.snap_sent, 100);
    ck_assert_uint_eq (pr.snap_acked, 100);
    ck_assert_uint_eq (pr.snap_acked_ms, 170);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_SNAPSHOT);
    ck_assert (!zr_progress_timeout (&pr, 10000, 50));
}
END_TEST

/* Raft §5.3 (retries) for chunks, against congestion: each silence of
   a transfer doubles the wait for the next one, up to retry_ms <<
   ZR_PROGRESS_SNAP_BACKOFF_MAX, so a follower slower than retry_ms a
   chunk is not sent its window over and over; a new transfer waits
   retry_ms again. */
START_TEST (progress_timeout_snapshot_backs_off)
{
    zr_progress_t pr = s_snapshotting ();
    uint64_t now = 100, wait = 50;
    for (uint32_t k = 0; k <= ZR_PROGRESS_SNAP_BACKOFF_MAX + 1; k++) {
        s_send_window (&pr, now);
        ck_assert (!zr_progress_timeout (&pr, now + wait - 1, 50));
        ck_assert (zr_progress_timeout (&pr, now + wait, 50));
        ck_assert_uint_eq (pr.snap_sent, 0);
        now += wait;
        if (k < ZR_PROGRESS_SNAP_BACKOFF_MAX)
            wait *= 2;
    }
    ck_assert_uint_eq (wait, 50u << ZR_PROGRESS_SNAP_BACKOFF_MAX);
    ck_assert_uint_eq (pr.snap_backoff, ZR_PROGRESS_SNAP_BACKOFF_MAX);
    zr_progress_snapshot_start (&pr, S_SNAP_INDEX + 10, 4, S_SNAP_SIZE, now);
    ck_assert_uint_eq (pr.snap_backoff, 0);
    s_send_window (&pr, now);
    ck_assert (zr_progress_timeout (&pr, now + 50, 50));
}
END_TEST

/* Raft §7 with a broken link: an unreachable follower keeps receiving
   the snapshot, from the last confirmed offset (not from PROBE). */
START_TEST (progress_unreachable_snapshot_resumes_from_acked)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    s_reply (&pr, 200, true, 120);
    zr_progress_unreachable (&pr);
    ck_assert_int_eq (pr.state, ZR_PROGRESS_SNAPSHOT);
    ck_assert_uint_eq (pr.snap_sent, 200);
    ck_assert_uint_eq (pr.snap_acked, 200);
    ck_assert_uint_eq (pr.match, 3);
}
END_TEST

/* Raft §5.3 (stale replies): AppendEntries replies that arrive while the
   snapshot is being sent answer older appends and are ignored. */
START_TEST (progress_acked_and_rejected_ignored_in_snapshot)
{
    zr_progress_t pr = s_snapshotting ();
    s_send_window (&pr, 110);
    zr_progress_t before;
    memcpy (&before, &pr, sizeof pr);
    ck_assert (!zr_progress_acked (&pr, 7));
    ck_assert (!zr_progress_rejected (&pr, 7, 4));
    ck_assert_mem_eq (&pr, &before, sizeof pr);
}
END_TEST


//  --------------------------------------------------------------------------
//  Reads from storage (core.h Invariant 15)

/* Invariant (5): in REPLICATE a storage read holds the window shut until
   the sender reports it, then counts as what it really carried: next
   moves past its last index and its bytes fill the window. */
START_TEST (progress_read_done_replicate_records_what_was_sent)
{
    zr_progress_t pr = s_replicating (4, 1000, 3);
    zr_progress_read_start (&pr, 20);
    ck_assert (pr.read_pending);
    ck_assert_uint_eq (pr.read_from, 4);
    ck_assert_uint_eq (pr.next, 4);
    ck_assert_uint_eq (pr.last_send_ms, 20);
    ck_assert (!zr_progress_can_send (&pr));
    ck_assert (zr_progress_read_done (&pr, 4, 9, 600, 21));
    ck_assert (!pr.read_pending);
    ck_assert_uint_eq (pr.next, 10);
    ck_assert_uint_eq (pr.count, 1);
    ck_assert_uint_eq (pr.bytes, 600);
    ck_assert_uint_eq (pr.ring [pr.head].last, 9);
    ck_assert_uint_eq (pr.ring [pr.head].sent_ms, 21);
    ck_assert (zr_progress_can_send (&pr));
    zr_progress_read_start (&pr, 22);
    ck_assert (zr_progress_read_done (&pr, 10, 12, 500, 23));
    ck_assert (!zr_progress_can_send (&pr));        /* 1100 bytes >= 1000 */
    ck_assert (zr_progress_acked (&pr, 9));
    ck_assert_uint_eq (pr.bytes, 500);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* In PROBE a storage read is the probe: once reported it waits for the
   follower's answer, and next stays where the probe checks. */
START_TEST (progress_read_done_probe_awaits_the_answer)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 4, 1000);
    pr.next = 5;
    zr_progress_read_start (&pr, 30);
    ck_assert (pr.probe_sent);
    ck_assert (!zr_progress_can_send (&pr));
    pr.probe_sent = false;              /* a heartbeat would resend it */
    ck_assert (!zr_progress_can_send (&pr));        /* not while read */
    ck_assert (zr_progress_read_done (&pr, 5, 8, 100, 31));
    ck_assert (pr.probe_sent);
    ck_assert_uint_eq (pr.probe_sent_ms, 31);
    ck_assert_uint_eq (pr.next, 5);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert (zr_progress_acked (&pr, 8));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_REPLICATE);
    ck_assert_uint_eq (pr.next, 9);
}
END_TEST

/* A report for a read no longer pending (another from, or abandoned by
   a rejection) changes nothing. */
START_TEST (progress_read_done_stale_ignored)
{
    zr_progress_t pr = s_replicating (4, 1000, 3);
    ck_assert (!zr_progress_read_done (&pr, 4, 6, 10, 5));
    zr_progress_read_start (&pr, 20);
    ck_assert (!zr_progress_read_done (&pr, 5, 6, 10, 21));
    ck_assert (pr.read_pending);
    ck_assert (zr_progress_rejected (&pr, 3 + 1, 4));
    ck_assert (!pr.read_pending);
    zr_progress_t before;
    memcpy (&before, &pr, sizeof pr);
    ck_assert (!zr_progress_read_done (&pr, 4, 6, 10, 22));
    ck_assert_mem_eq (&pr, &before, sizeof pr);
}
END_TEST

/* Storage could not serve the read: it is abandoned and the follower is
   probed again from match + 1 (where the snapshot decision is made). */
START_TEST (progress_read_failed_probes_from_match)
{
    zr_progress_t pr = s_replicating (4, 1000, 3);
    zr_progress_read_start (&pr, 20);
    ck_assert (zr_progress_read_done (&pr, 4, 6, 30, 21));
    zr_progress_read_start (&pr, 22);
    ck_assert (!zr_progress_read_failed (&pr, 4));  /* not the pending one */
    ck_assert (zr_progress_read_failed (&pr, 7));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr.next, 4);
    ck_assert (!pr.read_pending);
    ck_assert_uint_eq (pr.count, 0);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* A read whose report never comes (the node dropped the request: the
   link is cut) is lost after retry_ms, in REPLICATE and in PROBE, even
   when a heartbeat re-armed the probe meanwhile. */
START_TEST (progress_timeout_lost_read)
{
    zr_progress_t pr = s_replicating (4, 1000, 3);
    zr_progress_read_start (&pr, 20);
    ck_assert (!zr_progress_timeout (&pr, 69, 50));
    ck_assert (zr_progress_timeout (&pr, 70, 50));
    ck_assert_int_eq (pr.state, ZR_PROGRESS_PROBE);
    ck_assert (!pr.read_pending);
    zr_progress_read_start (&pr, 80);
    pr.probe_sent = false;              /* re-armed by a heartbeat */
    ck_assert (!zr_progress_timeout (&pr, 129, 50));
    ck_assert (zr_progress_timeout (&pr, 130, 50));
    ck_assert (!pr.read_pending);
    ck_assert (zr_progress_can_send (&pr));
}
END_TEST

/* In PROBE a heartbeat interval re-arms the probe, and abandons a
   storage read only once it went unreported for after_ms. */
START_TEST (progress_probe_again_abandons_old_read)
{
    zr_progress_t pr;
    zr_progress_reset (&pr, 10, 4, 1000);
    pr.next = 5;
    zr_progress_read_start (&pr, 30);
    zr_progress_probe_again (&pr, 39, 10);
    ck_assert (!pr.probe_sent);
    ck_assert (pr.read_pending);
    ck_assert (!zr_progress_can_send (&pr));
    zr_progress_probe_again (&pr, 40, 10);
    ck_assert (!pr.read_pending);
    ck_assert (zr_progress_can_send (&pr));
    zr_progress_read_start (&pr, 41);
    ck_assert (zr_progress_read_done (&pr, 5, 6, 16, 42));  /* a late one */
    ck_assert (!pr.read_pending);
}
END_TEST

/* A read in progress is abandoned by unreachable and by a snapshot. */
START_TEST (progress_read_abandoned_by_unreachable_and_snapshot)
{
    zr_progress_t pr = s_replicating (4, 1000, 3);
    zr_progress_read_start (&pr, 20);
    zr_progress_unreachable (&pr);
    ck_assert (!pr.read_pending);
    zr_progress_read_start (&pr, 21);
    zr_progress_snapshot_start (&pr, 50, 2, 100, 22);
    ck_assert (!pr.read_pending);
    ck_assert (!zr_progress_read_done (&pr, 4, 6, 30, 23));
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("progress");
    TCase *tc = tcase_create ("progress_reset");
    tcase_add_test (tc, progress_reset_starts_probe_after_last);
    tcase_add_test (tc, progress_reset_empty_log_probes_from_one);
    tcase_add_test_raise_signal (tc, progress_reset_zero_window_aborts,
                                 SIGABRT);
    tcase_add_test_raise_signal (tc, progress_reset_window_over_ring_aborts,
                                 SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("progress_sent");
    tcase_add_test (tc, progress_sent_probe_one_at_a_time);
    tcase_add_test (tc, progress_heartbeat_sent_only_stamps_time);
    tcase_add_test (tc, progress_sent_replicate_advances_next);
    tcase_add_test (tc, progress_can_send_bounded_by_count);
    tcase_add_test (tc, progress_can_send_bounded_by_bytes);
    tcase_add_test_raise_signal (tc, progress_sent_full_window_aborts, SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("progress_acked");
    tcase_add_test (tc, progress_acked_moves_probe_to_replicate);
    tcase_add_test (tc, progress_acked_frees_window);
    tcase_add_test (tc, progress_acked_ring_wraps);
    tcase_add_test (tc, progress_acked_late_or_duplicate_ignored);
    tcase_add_test (tc, progress_acked_beyond_next_moves_next);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("progress_rejected");
    tcase_add_test (tc, progress_rejected_stale_below_match_ignored);
    tcase_add_test (tc, progress_rejected_older_probe_ignored);
    tcase_add_test (tc, progress_rejected_backs_off_to_hint);
    tcase_add_test (tc, progress_rejected_hint_clamped_to_rejected_prev);
    tcase_add_test (tc, progress_rejected_hint_clamped_above_match);
    tcase_add_test (tc, progress_rejected_in_replicate_resets_to_probe);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("progress_timeout");
    tcase_add_test (tc, progress_timeout_oldest_inflight_returns_to_probe);
    tcase_add_test (tc, progress_timeout_nothing_in_flight);
    tcase_add_test (tc, progress_timeout_probe_allows_resend);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("progress_unreachable");
    tcase_add_test (tc, progress_unreachable_returns_to_probe);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("snapshot");
    tcase_add_test (tc, progress_snapshot_start_enters_snapshot);
    tcase_add_test (tc, progress_snapshot_next_within_chunk_and_window);
    tcase_add_test (tc, progress_snapshot_next_last_chunk_is_remainder);
    tcase_add_test (tc, progress_snapshot_sent_starts_retry_clock);
    tcase_add_test (tc, progress_snapshot_reply_accepted_slides_window);
    tcase_add_test (tc, progress_snapshot_reply_refused_rewinds_once);
    tcase_add_test (tc, progress_snapshot_reply_refusal_with_progress_no_rewind);
    tcase_add_test (tc, progress_snapshot_reply_restarted_follower_restarts);
    tcase_add_test (tc, progress_snapshot_reply_installed_probes_after_index);
    tcase_add_test (tc, progress_snapshot_reply_other_snapshot_ignored);
    tcase_add_test (tc, progress_snapshot_reply_beyond_size_ignored);
    tcase_add_test (tc, progress_timeout_snapshot_resumes_from_acked);
    tcase_add_test (tc, progress_timeout_snapshot_backs_off);
    tcase_add_test (tc, progress_unreachable_snapshot_resumes_from_acked);
    tcase_add_test (tc, progress_acked_and_rejected_ignored_in_snapshot);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("storage");
    tcase_add_test (tc, progress_read_done_replicate_records_what_was_sent);
    tcase_add_test (tc, progress_read_done_probe_awaits_the_answer);
    tcase_add_test (tc, progress_read_done_stale_ignored);
    tcase_add_test (tc, progress_read_failed_probes_from_match);
    tcase_add_test (tc, progress_timeout_lost_read);
    tcase_add_test (tc, progress_probe_again_abandons_old_read);
    tcase_add_test (tc, progress_read_abandoned_by_unreachable_and_snapshot);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
