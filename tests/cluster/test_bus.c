/*  =========================================================================
    test_bus - the message bus's publications and cursors (include/zraft.h,
    "The message bus") on real servers

    Publications take their place in the total order of the log (index
    order is publish order) and never reach fsm.apply; deduplication
    answers a retry with the first publication's index, across a leader
    change, after a snapshot and a restart, and on a follower that
    caught up by InstallSnapshot; stale seqs are refused; cursors only
    move forward and are read linearizably on the leader or stale
    anywhere; a bus-only application (no fsm) is snapshotted too. The
    apply checker (tests/lib/cluster.h) runs on every server: an index
    it never sees applied, while later ones are, was not handed to
    fsm.apply. Waits derive from the cluster's timing.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"

/* Snapshot mode for the tests that need one: every 10 applies, 4
   entries kept behind, small chunks; a follower behind the log is sent
   the snapshot (no WAL catch-up), so it must restore the bus section. */
static const cluster_snapshots_t s_snap = {
    .entries = 10, .trailing = 4, .chunk_bytes = 4096, .pad_bytes = 0,
    .wal_catchup = false,
};

/* Publishes on server id and returns the token (zraft_publish must
   accept it). */
static uint64_t
s_publish (cluster_t *c, uint32_t id, const char *subject, uint64_t producer,
           uint64_t seq)
{
    uint64_t token = cluster_token (c);
    char payload [32];
    int size = snprintf (payload, sizeof payload, "p%llu-%llu",
                         (unsigned long long) producer, (unsigned long long) seq);
    ck_assert_int_eq (zraft_publish (cluster_node (c, id), token, subject,
                                     payload, (size_t) size, producer, seq), 0);
    return token;
}

/* Publishes (producer, seq) on the leader until a RESULT other than
   ZRAFT_EBUSY or ZRAFT_ENOTLEADER comes (a new leader answers EBUSY until
   its first entry is committed), within CLUSTER_COMMIT_WAIT_MS. Fills
   *event; returns the server that answered. */
static uint32_t
s_publish_settled (cluster_t *c, uint64_t producer, uint64_t seq,
                   zraft_event_t *event)
{
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    while (true) {
        uint32_t leader = cluster_leader (c);
        cluster_result_wait (c, leader, s_publish (c, leader, "t", producer, seq), event);
        if (event->status != ZRAFT_EBUSY && event->status != ZRAFT_ENOTLEADER)
            return leader;
        ck_assert_msg (zclock_mono () < deadline, "publish (%llu, %llu) still "
                       "answered %s", (unsigned long long) producer,
                       (unsigned long long) seq, zraft_strerror (event->status));
        zraft_event_release (event);
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
}

/* Commits cursor name at index on the leader (retrying as above). */
static void
s_cursor_commit (cluster_t *c, const char *name, uint64_t index)
{
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    while (true) {
        uint32_t leader = cluster_leader (c);
        uint64_t token = cluster_token (c);
        ck_assert_int_eq (zraft_cursor_commit (cluster_node (c, leader), token,
                                               name, index), 0);
        zraft_event_t event;
        cluster_result_wait (c, leader, token, &event);
        int status = event.status;
        zraft_event_release (&event);
        if (status == 0)
            return;
        ck_assert_msg ((status == ZRAFT_EBUSY || status == ZRAFT_ENOTLEADER)
                       && zclock_mono () < deadline, "cursor commit: %s",
                       zraft_strerror (status));
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
}

/* Reads the cursors on server id (flags as zraft_cursors) and finds
   name: returns 0 and *index, -1 if absent, or the RESULT's status. */
static int
s_cursor_read (cluster_t *c, uint32_t id, int flags, const char *name,
               uint64_t *index)
{
    uint64_t token = cluster_token (c);
    ck_assert_int_eq (zraft_cursors (cluster_node (c, id), token, flags), 0);
    zraft_event_t event;
    cluster_result_wait (c, id, token, &event);
    int rc = event.status;
    if (rc == 0)
        rc = zraft_cursor_find (event.data, event.size, name, index);
    zraft_event_release (&event);
    return rc;
}

/* Waits until server id's stale read of cursor name says want. */
static void
s_cursor_wait_stale (cluster_t *c, uint32_t id, const char *name, uint64_t want)
{
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    uint64_t index = 0;
    while (s_cursor_read (c, id, ZRAFT_QUERY_STALE, name, &index) != 0
           || index != want) {
        ck_assert_msg (zclock_mono () < deadline, "n%u: cursor %s is %llu, "
                       "not %llu", id, name, (unsigned long long) index,
                       (unsigned long long) want);
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
}

/* Asserts that a retry of (producer, seq) is answered as a duplicate of
   (index, term), wherever the leader now is, by the leader's gate: a
   second retry appends nothing (bus.h, Invariant 1). */
static void
s_check_duplicate (cluster_t *c, uint64_t producer, uint64_t seq,
                   uint64_t index, uint64_t term)
{
    zraft_event_t event;
    uint32_t leader = s_publish_settled (c, producer, seq, &event);
    for (int retry = 0; retry < 2; retry++) {
        ck_assert_msg (event.status == 0 && event.duplicate,
                       "n%u: retry of (%llu, %llu): status %d duplicate %d index "
                       "%llu", leader, (unsigned long long) producer,
                       (unsigned long long) seq, event.status, event.duplicate,
                       (unsigned long long) event.index);
        ck_assert_uint_eq (event.index, index);
        ck_assert_uint_eq (event.term, term);
        zraft_event_release (&event);
        if (retry == 1)
            break;
        zraft_status_t before, after;
        cluster_status (c, leader, &before);
        cluster_result_wait (c, leader, s_publish (c, leader, "t", producer, seq), &event);
        cluster_status (c, leader, &after);
        if (after.term == before.term)
            ck_assert_uint_eq (after.last_index, before.last_index);
    }
}

/* ---------------------------------------------------------------- order */

/* Publications submitted together from one handle take increasing
   indexes in submission order; none of them is handed to fsm.apply (the
   apply checker sees no command there, while a command after them is
   applied everywhere); a repeat in the same batch, while the first is
   still in flight, is answered ZRAFT_EBUSY, never appended twice. */
START_TEST (bus_publish_order_is_index_order)
{
    cluster_t *c = cluster_new (3);
    zraft_event_t event;
    s_publish_settled (c, 1, 1, &event);    /* the leader's term is ready */
    zraft_event_release (&event);
    uint32_t leader = cluster_leader (c);
    enum { N = 64 };
    uint64_t tokens [N];
    for (int i = 0; i < N; i++)
        tokens [i] = s_publish (c, leader, i % 2 ? "odd" : "even",
                                i % 3 ? 2 : 0, (uint64_t) i + 1);
    uint64_t again = s_publish (c, leader, "odd", 2, N - 1);
    uint64_t previous = 0, indexes [N];
    for (int i = 0; i < N; i++) {
        cluster_result_wait (c, leader, tokens [i], &event);
        ck_assert_int_eq (event.status, 0);
        ck_assert (!event.duplicate);
        ck_assert_ptr_null (event.data);
        ck_assert_uint_gt (event.index, previous);
        indexes [i] = previous = event.index;
        zraft_event_release (&event);
    }
    cluster_result_wait (c, leader, again, &event);
    ck_assert (event.status == ZRAFT_EBUSY
               || (event.status == 0 && event.duplicate
                   && event.index == indexes [N - 2]));
    zraft_event_release (&event);
    uint64_t after = cluster_one (c, 4242, 3, true);
    ck_assert_uint_gt (after, previous);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq (cluster_n_committed (c, indexes [i], NULL), 0);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* A follower refuses a publication (ZRAFT_ENOTLEADER, naming the
   leader); a bad subject or name is refused at once. */
START_TEST (bus_publish_refusals)
{
    cluster_t *c = cluster_new (3);
    /* The follower names the leader it knows, which it learns from the
       leader's heartbeats: on a loaded start it may not know one yet,
       or still know an earlier one. Asked again, a heartbeat later,
       until it names the one elected, within the leader wait. */
    uint32_t leader;
    int64_t end = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    for (;;) {
        leader = cluster_leader (c);
        uint32_t follower = leader % 3 + 1;
        zraft_event_t event;
        cluster_result_wait (c, follower, s_publish (c, follower, "s", 0, 0),
                             &event);
        /* 0: it was elected meanwhile, and took it (ask again) */
        ck_assert (event.status == ZRAFT_ENOTLEADER || event.status == 0);
        uint32_t named = event.status == 0 ? 0 : event.leader;
        zraft_event_release (&event);
        if (named == leader)
            break;
        ck_assert_msg (zclock_mono () < end, "n%u names n%u as leader, not n%u",
                       follower, named, leader);
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
    zraft_t *node = cluster_node (c, leader);
    char subject [ZRAFT_SUBJECT_MAX + 2];
    memset (subject, 's', sizeof subject);
    subject [ZRAFT_SUBJECT_MAX + 1] = '\0';
    ck_assert_int_eq (zraft_publish (node, 1, subject, "x", 1, 0, 0), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_publish (node, 1, "", "x", 1, 0, 0), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_publish (node, 1, NULL, "x", 1, 0, 0), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_cursor_commit (node, 1, "", 1), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_cursor_commit (node, 1, "c", 0), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_subscribe (node, 1, NULL), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_cursors (node, 1, 2), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_publish (node, 1, "s", "x", ZRAFT_ENTRY_BYTES_MAX + 1,
                                     0, 0), ZRAFT_ETOOBIG);
    /* The largest payload with the longest subject does not fit an
       entry once encoded. */
    subject [ZRAFT_SUBJECT_MAX] = '\0';
    void *big = calloc (1, ZRAFT_ENTRY_BYTES_MAX);
    ck_assert_int_eq (zraft_publish (node, 1, subject, big, ZRAFT_ENTRY_BYTES_MAX,
                                     0, 0), ZRAFT_ETOOBIG);
    free (big);
    cluster_destroy (&c);
}
END_TEST

/* ----------------------------------------------------------- publish_many */

/* Fills pub as s_publish would publish (producer, seq) under subject;
   payload holds its bytes (at least 32). */
static void
s_publication (zraft_publication_t *pub, uint64_t token, const char *subject,
               uint64_t producer, uint64_t seq, char *payload)
{
    int size = snprintf (payload, 32, "p%llu-%llu",
                         (unsigned long long) producer, (unsigned long long) seq);
    *pub = (zraft_publication_t) {.token = token, .subject = subject,
                                  .data = payload, .size = (size_t) size,
                                  .producer = producer, .seq = seq};
}

/* zraft_publish_many: the publications the gate admits take consecutive
   indexes in the order given, none reaches fsm.apply; in the same call,
   a repeat of a committed (producer, seq) is answered as its duplicate,
   a repeat of one earlier in the batch ZRAFT_EBUSY, a seq below the
   window ZRAFT_ESTALE, each with its own RESULT and without taking an
   index. A follower refuses every one (ZRAFT_ENOTLEADER). */
START_TEST (bus_publish_many_batch)
{
    cluster_t *c = cluster_new (3);
    zraft_event_t event;
    s_publish_settled (c, 1, 5000, &event); /* the leader's term is ready */
    uint64_t dup_index = event.index, dup_term = event.term;
    zraft_event_release (&event);
    uint32_t leader = cluster_leader (c);
    enum { N = 40 };
    zraft_publication_t pubs [N + 3];
    char payloads [N + 3][32];
    for (int i = 0; i < N; i++)
        s_publication (&pubs [i], cluster_token (c), i % 2 ? "odd" : "even",
                       i % 3 ? 2 : 0, (uint64_t) i + 1, payloads [i]);
    s_publication (&pubs [N], cluster_token (c), "t", 1, 5000, payloads [N]);
    s_publication (&pubs [N + 1], cluster_token (c), "t", 2, N - 1,
                   payloads [N + 1]);
    s_publication (&pubs [N + 2], cluster_token (c), "t", 1, 1,
                   payloads [N + 2]);   /* 5000 - window (1024) and below */
    ck_assert_int_eq (zraft_publish_many (cluster_node (c, leader), pubs, N + 3), 0);
    uint64_t first = 0, indexes [N];
    for (int i = 0; i < N; i++) {
        cluster_result_wait (c, leader, pubs [i].token, &event);
        ck_assert_int_eq (event.status, 0);
        ck_assert (!event.duplicate);
        if (i == 0)
            first = event.index;
        ck_assert_uint_eq (event.index, first + (uint64_t) i);
        indexes [i] = event.index;
        zraft_event_release (&event);
    }
    cluster_result_wait (c, leader, pubs [N].token, &event);
    ck_assert (event.status == 0 && event.duplicate);
    ck_assert_uint_eq (event.index, dup_index);
    ck_assert_uint_eq (event.term, dup_term);
    zraft_event_release (&event);
    cluster_result_wait (c, leader, pubs [N + 1].token, &event);
    ck_assert_int_eq (event.status, ZRAFT_EBUSY);
    zraft_event_release (&event);
    cluster_result_wait (c, leader, pubs [N + 2].token, &event);
    ck_assert_int_eq (event.status, ZRAFT_ESTALE);
    zraft_event_release (&event);
    zraft_status_t status;
    cluster_status (c, leader, &status);
    ck_assert_uint_ge (status.last_index, indexes [N - 1]);
    uint64_t after = cluster_one (c, 4242, 3, true);
    ck_assert_uint_gt (after, indexes [N - 1]);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq (cluster_n_committed (c, indexes [i], NULL), 0);
    uint32_t follower = leader % 3 + 1;
    for (int i = 0; i < 3; i++)
        pubs [i].token = cluster_token (c);
    ck_assert_int_eq (zraft_publish_many (cluster_node (c, follower), pubs, 3), 0);
    for (int i = 0; i < 3; i++) {
        cluster_result_wait (c, follower, pubs [i].token, &event);
        ck_assert_int_eq (event.status, ZRAFT_ENOTLEADER);
        ck_assert_uint_eq (event.leader, leader);
        zraft_event_release (&event);
    }
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* zraft_publish_many is all or nothing: a bad count, one bad subject,
   one payload too big, too many bytes in all, or more than submit_max
   allows is refused at once with no RESULT for any of them and nothing
   appended. */
START_TEST (bus_publish_many_all_or_nothing)
{
    cluster_t *c = cluster_new (3);
    zraft_event_t event;
    s_publish_settled (c, 1, 1, &event);
    zraft_event_release (&event);
    uint32_t leader = cluster_leader (c);
    zraft_t *node = cluster_node (c, leader);
    enum { N = ZRAFT_SUBMIT_MANY_MAX };
    zraft_publication_t *pubs = (zraft_publication_t *) calloc (N, sizeof *pubs);
    char *big = (char *) calloc (1, ZRAFT_ENTRY_BYTES_MAX + 1);
    ck_assert (pubs && big);
    for (int i = 0; i < N; i++)
        pubs [i] = (zraft_publication_t) {.token = cluster_token (c),
                                          .subject = "s", .data = big,
                                          .size = 4096};
    zraft_status_t before, after;
    cluster_status (c, leader, &before);
    ck_assert_int_eq (zraft_publish_many (node, pubs, 0), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_publish_many (node, pubs, N + 1), ZRAFT_EINVAL);
    /* 4096 x 4 KiB: over ZRAFT_SUBMIT_BYTES_MAX */
    ck_assert_int_eq (zraft_publish_many (node, pubs, N), ZRAFT_EINVAL);
    pubs [5].subject = "";
    ck_assert_int_eq (zraft_publish_many (node, pubs, 10), ZRAFT_EINVAL);
    pubs [5].subject = "s";
    pubs [7].size = ZRAFT_ENTRY_BYTES_MAX + 1;
    ck_assert_int_eq (zraft_publish_many (node, pubs, 10), ZRAFT_ETOOBIG);
    pubs [7].size = 4096;
    uint64_t one = s_publish (c, leader, "t", 0, 0);    /* outstanding: 1 */
    ck_assert_int_eq (zraft_publish_many (node, pubs, N), ZRAFT_EAGAIN);
    cluster_result_wait (c, leader, one, &event);
    ck_assert_int_eq (event.status, 0);
    ck_assert_uint_eq (event.index, before.last_index + 1);
    zraft_event_release (&event);
    for (int i = 0; i < 10; i++)
        ck_assert (!cluster_result (c, leader, pubs [i].token, 0, &event));
    cluster_status (c, leader, &after);
    ck_assert_uint_eq (after.last_index, before.last_index + 1);
    free (big);
    free (pubs);
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------------- dedup */

/* A retry of (producer, seq) on the leader of a later term is answered
   as a duplicate of the first publication (its index and term); a new
   seq takes a new index. */
START_TEST (bus_dedup_across_leader_change)
{
    cluster_t *c = cluster_new (3);
    zraft_event_t event;
    uint32_t first = s_publish_settled (c, 7, 1, &event);
    ck_assert_int_eq (event.status, 0);
    ck_assert (!event.duplicate);
    uint64_t index = event.index, term = event.term;
    zraft_event_release (&event);
    s_check_duplicate (c, 7, 1, index, term);       /* same leader */
    cluster_stop (c, first);
    uint32_t second = cluster_leader (c);
    ck_assert_uint_ne (second, first);
    s_check_duplicate (c, 7, 1, index, term);
    s_publish_settled (c, 7, 2, &event);
    ck_assert (event.status == 0 && !event.duplicate && event.index > index);
    zraft_event_release (&event);
    cluster_start (c, first);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* A publication whose first copy's RESULT was lost with its leader (the
   leader stopped right after appending it) is retried on the next
   leader: whether the first copy survived or not, the retry and every
   later one answer the same index, so the log holds one copy. */
START_TEST (bus_dedup_retry_after_leader_crash)
{
    cluster_t *c = cluster_new (3);
    zraft_event_t event;
    s_publish_settled (c, 9, 1, &event);
    zraft_event_release (&event);
    uint32_t first = cluster_leader (c);
    s_publish (c, first, "t", 9, 2);
    cluster_stop (c, first);            /* its RESULT is gone with it */
    s_publish_settled (c, 9, 2, &event);
    ck_assert_int_eq (event.status, 0);
    uint64_t index = event.index, term = event.term;
    zraft_event_release (&event);
    cluster_start (c, first);
    s_check_duplicate (c, 9, 2, index, term);
    cluster_stop (c, cluster_leader (c));
    s_check_duplicate (c, 9, 2, index, term);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* A seq at or below the producer's highest less the window (1024 by
   default) is refused with ZRAFT_ESTALE; an out-of-order seq inside the
   window is accepted, once. */
START_TEST (bus_stale_seq_is_refused)
{
    cluster_t *c = cluster_new (3);
    zraft_event_t event;
    s_publish_settled (c, 5, 5000, &event);
    ck_assert (event.status == 0 && !event.duplicate);
    zraft_event_release (&event);
    s_publish_settled (c, 5, 5000 - 1024, &event);
    ck_assert_int_eq (event.status, ZRAFT_ESTALE);
    zraft_event_release (&event);
    s_publish_settled (c, 5, 1, &event);
    ck_assert_int_eq (event.status, ZRAFT_ESTALE);
    zraft_event_release (&event);
    s_publish_settled (c, 5, 5000 - 1023, &event);
    ck_assert (event.status == 0 && !event.duplicate);
    uint64_t index = event.index;
    zraft_event_release (&event);
    s_publish_settled (c, 5, 5000 - 1023, &event);
    ck_assert (event.status == 0 && event.duplicate && event.index == index);
    zraft_event_release (&event);
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------------- cursors */

/* A cursor commit goes through the log; reads see it linearizably on the
   leader (a follower answers ZRAFT_ENOTLEADER) and, stale, on every
   server once applied there; it never moves back. */
START_TEST (bus_cursors_commit_and_read)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint64_t index = 0;
    ck_assert_int_eq (s_cursor_read (c, leader, 0, "orders", &index), -1);
    s_cursor_commit (c, "orders", 10);
    leader = cluster_leader (c);
    ck_assert_int_eq (s_cursor_read (c, leader, 0, "orders", &index), 0);
    ck_assert_uint_eq (index, 10);
    s_cursor_commit (c, "orders", 5);
    s_cursor_commit (c, "billing", 3);
    leader = cluster_leader (c);
    ck_assert_int_eq (s_cursor_read (c, leader, 0, "orders", &index), 0);
    ck_assert_uint_eq (index, 10);
    for (uint32_t id = 1; id <= 3; id++) {
        s_cursor_wait_stale (c, id, "orders", 10);
        s_cursor_wait_stale (c, id, "billing", 3);
    }
    uint32_t follower = leader % 3 + 1;
    ck_assert_int_eq (s_cursor_read (c, follower, 0, "orders", &index),
                      ZRAFT_ENOTLEADER);
    ck_assert_int_eq (zraft_cursor_find ("\x81", 1, "orders", &index), -1);
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------------- snapshots */

/* Publishes and a cursor, then enough commands for snapshots that
   compact the log past them; returns the first publication's index and
   term in *index, *term. */
static void
s_fill_and_compact (cluster_t *c, uint64_t producer, uint64_t *index,
                    uint64_t *term)
{
    zraft_event_t event;
    s_publish_settled (c, producer, 1, &event);
    ck_assert (event.status == 0 && !event.duplicate);
    *index = event.index;
    *term = event.term;
    zraft_event_release (&event);
    for (uint64_t seq = 2; seq <= 20; seq++) {
        s_publish_settled (c, producer, seq, &event);
        ck_assert_int_eq (event.status, 0);
        zraft_event_release (&event);
    }
    s_cursor_commit (c, "c", 77);
    for (uint64_t value = 1; value <= 30; value++)
        cluster_one (c, 1000 + value, 2, true);
}

/* The bus state (dedup windows, cursors) is in every snapshot: after
   the log is compacted past the publications and every server restarts
   from its snapshot, a retry is still a duplicate of the first, and the
   cursor reads as committed. */
START_TEST (bus_state_survives_snapshot_and_restart)
{
    cluster_t *c = cluster_new_snapshots (3, &s_snap);
    uint64_t index = 0, term = 0;
    s_fill_and_compact (c, 11, &index, &term);
    for (uint32_t id = 1; id <= 3; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        ck_assert_uint_gt (st.snapshots, 0);
        ck_assert_uint_gt (st.first_index, index);
    }
    for (uint32_t id = 1; id <= 3; id++)
        cluster_stop (c, id);
    for (uint32_t id = 1; id <= 3; id++)
        cluster_start (c, id);
    s_check_duplicate (c, 11, 1, index, term);
    uint32_t leader = cluster_leader (c);
    uint64_t at = 0;
    ck_assert_int_eq (s_cursor_read (c, leader, 0, "c", &at), 0);
    ck_assert_uint_eq (at, 77);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* A follower cut off while the log moved past its end comes back by
   InstallSnapshot, which carries the bus section: once it leads, it
   answers a retry as a duplicate of the first, and its cursor matches. */
START_TEST (bus_state_travels_by_install_snapshot)
{
    cluster_t *c = cluster_new_snapshots (3, &s_snap);
    uint32_t leader = cluster_leader (c);
    uint32_t lagging = leader % 3 + 1;
    cluster_disconnect (c, lagging);
    uint64_t index = 0, term = 0;
    s_fill_and_compact (c, 12, &index, &term);
    cluster_connect (c, lagging);
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    zraft_status_t st;
    do {
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
        cluster_status (c, lagging, &st);
        ck_assert_msg (zclock_mono () < deadline, "n%u installed no snapshot",
                       lagging);
    } while (st.snapshots_installed == 0);
    s_cursor_wait_stale (c, lagging, "c", 77);
    /* Leadership goes to the follower that was lagging. */
    deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    uint32_t now;
    while ((now = cluster_leader (c)) != lagging) {
        zraft_transfer (cluster_node (c, now), lagging);    /* EBUSY: under way */
        ck_assert_msg (zclock_mono () < deadline, "n%u does not lead", lagging);
        cluster_idle (c, CLUSTER_ELECTION_MS);
    }
    s_check_duplicate (c, 12, 1, index, term);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* Receives node's next RESULT (skipping ROLE events) into *event. */
static void
s_recv_result (zraft_t *node, zraft_event_t *event)
{
    do
        ck_assert_int_eq (zraft_recv (node, event, CLUSTER_COMMIT_WAIT_MS), 0);
    while (event->type == ZRAFT_EVENT_ROLE);
    ck_assert_int_eq (event->type, ZRAFT_EVENT_RESULT);
}

/* A bus-only application (no fsm at all) is snapshotted: its log is
   compacted, and after a restart its dedup window and cursors are back
   from the snapshot. */
START_TEST (bus_only_application_snapshots)
{
    cluster_t *c = cluster_new (1);
    cluster_stop (c, 1);
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = 1;
    config.n_servers = 1;
    config.servers [0].id = 1;
    config.servers [0].endpoint = cluster_endpoint (c, 1);
    config.data_dir = cluster_dir (c, 1);
    config.heartbeat_ms = CLUSTER_HEARTBEAT_MS;
    config.election_timeout_ms = CLUSTER_ELECTION_MS;
    config.segment_bytes = CLUSTER_SEGMENT_BYTES;
    config.snapshot_entries = 8;
    config.snapshot_trailing = 2;
    uint64_t first_index = 0, first_term = 0;
    for (int life = 0; life < 2; life++) {
        zraft_t *node = zraft_new (&config, NULL);
        ck_assert_ptr_nonnull (node);
        ck_assert_int_eq (zraft_wait_leader (node, CLUSTER_LEADER_WAIT_MS, NULL), 0);
        for (uint64_t seq = 1; seq <= (life ? 1 : 40); seq++) {
            int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
            zraft_event_t event;
            do {
                ck_assert_int_eq (zraft_publish (node, seq, "s", "x", 1, 3, seq), 0);
                s_recv_result (node, &event);
                ck_assert_uint_eq (event.token, seq);
                ck_assert (event.status != ZRAFT_EBUSY || zclock_mono () < deadline);
            } while (event.status == ZRAFT_EBUSY && (zraft_event_release (&event), 1));
            ck_assert_int_eq (event.status, 0);
            ck_assert (event.duplicate == (life == 1));
            if (seq == 1 && life == 0) {
                first_index = event.index;
                first_term = event.term;
            }
            if (life == 1) {
                ck_assert_uint_eq (event.index, first_index);
                ck_assert_uint_eq (event.term, first_term);
            }
            zraft_event_release (&event);
        }
        if (life == 0) {
            ck_assert_int_eq (zraft_cursor_commit (node, 99, "bus-only", 40), 0);
            zraft_event_t event;
            s_recv_result (node, &event);
            ck_assert_int_eq (event.status, 0);
            zraft_event_release (&event);
            zraft_status_t st;
            int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
            do {
                ck_assert_int_eq (zraft_status (node, &st), 0);
                ck_assert (zclock_mono () < deadline);
            } while (st.snapshots == 0 || st.first_index <= first_index);
        }
        else {
            ck_assert_int_eq (zraft_cursors (node, 100, 0), 0);
            zraft_event_t event;
            s_recv_result (node, &event);
            ck_assert_int_eq (event.status, 0);
            uint64_t index = 0;
            ck_assert_int_eq (zraft_cursor_find (event.data, event.size,
                                                 "bus-only", &index), 0);
            ck_assert_uint_eq (index, 40);
            zraft_event_release (&event);
        }
        zraft_destroy (&node);
    }
    cluster_destroy (&c);
}
END_TEST

/* Adds a tcase named name to s, with the cluster fixture and timeout. */
static TCase *
s_tcase (Suite *s, const char *name)
{
    TCase *tc = tcase_create (name);
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    suite_add_tcase (s, tc);
    return tc;
}

int
main (void)
{
    Suite *s = suite_create ("bus");
    TCase *tc = s_tcase (s, "publish");
    tcase_add_test (tc, bus_publish_order_is_index_order);
    tcase_add_test (tc, bus_publish_refusals);
    tcase_add_test (tc, bus_publish_many_batch);
    tcase_add_test (tc, bus_publish_many_all_or_nothing);
    tc = s_tcase (s, "dedup");
    tcase_add_test (tc, bus_dedup_across_leader_change);
    tcase_add_test (tc, bus_dedup_retry_after_leader_crash);
    tcase_add_test (tc, bus_stale_seq_is_refused);
    tc = s_tcase (s, "cursors");
    tcase_add_test (tc, bus_cursors_commit_and_read);
    tc = s_tcase (s, "snapshots");
    tcase_add_test (tc, bus_state_survives_snapshot_and_restart);
    tcase_add_test (tc, bus_state_travels_by_install_snapshot);
    tcase_add_test (tc, bus_only_application_snapshots);
    return check_run (s);
}
