/*  =========================================================================
    test_feed - subscriptions to the message bus on real servers

    The feed actor (actors/feed.h) delivers the publications committed
    and durable on a server, in index order with none missed, to the
    subscriptions of its handle: credit bounds what is in flight, a
    prefix filters subjects, a subscription starts at an index, the
    first held, the last matching or the next, a follower serves as a
    leader does, a compacted position ends it with ZRAFT_ERANGE, and a
    subscriber that does not read holds up no one. Every test opens with
    the rule it checks. "Nothing more arrives" is checked once another
    subscription of the same feed received a later publication, and the
    handle asserts that no DELIVER ever comes past the credit given.
    =========================================================================
*/
#include <check.h>
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"
#include "../lib/sched_probe.h"
#include "actors.h"
#include "feed.h"
#include "wal.h"

#define S_WAIT_MS CLUSTER_COMMIT_WAIT_MS

/* Publishes n messages of subject on server id, values base..base+n-1
   (8 bytes each), all in flight at once, then waits for every RESULT;
   fills indexes (n of them) if not NULL. */
static void
s_publish_many (cluster_t *c, uint32_t id, const char *subject, uint64_t base,
                uint32_t n, uint64_t *indexes)
{
    zraft_t *node = cluster_node (c, id);
    uint64_t *tokens = (uint64_t *) calloc (n, sizeof *tokens);
    ck_assert_ptr_nonnull (tokens);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t value = base + i;
        tokens [i] = cluster_token (c);
        ck_assert_int_eq (zraft_publish (node, tokens [i], subject, &value,
                                         sizeof value, 0, 0), 0);
    }
    for (uint32_t i = 0; i < n; i++) {
        zraft_event_t event;
        ck_assert_msg (cluster_result (c, id, tokens [i], S_WAIT_MS, &event),
                       "n%u: no RESULT for publication %u", id, i);
        ck_assert_int_eq (event.status, 0);
        ck_assert (!event.duplicate);
        if (indexes)
            indexes [i] = event.index;
        if (i > 0 && indexes)
            ck_assert_uint_gt (indexes [i], indexes [i - 1]);
        zraft_event_release (&event);
    }
    free (tokens);
}

/* Publishes one message; returns its index. */
static uint64_t
s_publish (cluster_t *c, uint32_t id, const char *subject, uint64_t value)
{
    uint64_t index = 0;
    s_publish_many (c, id, subject, value, 1, &index);
    return index;
}

/* Opens subscription sub on server id and returns its SUBSCRIBED. */
static zraft_event_t
s_subscribe (cluster_t *c, uint32_t id, uint64_t sub, zraft_from_t mode,
             uint64_t from, const char *prefix, uint32_t credit)
{
    zraft_sub_options_t options = {.from_mode = mode, .from = from,
                                   .prefix = prefix, .credit = credit};
    ck_assert_int_eq (zraft_subscribe (cluster_node (c, id), sub, &options), 0);
    zraft_event_t event;
    ck_assert_msg (cluster_event (c, id, ZRAFT_EVENT_SUBSCRIBED, sub, S_WAIT_MS,
                                  &event), "n%u: no SUBSCRIBED for %llu", id,
                   (unsigned long long) sub);
    ck_assert_uint_eq (event.token, sub);
    return event;
}

/* Takes the next delivery of sub on server id and checks it is index,
   with subject and the 8-byte value. */
static void
s_expect (cluster_t *c, uint32_t id, uint64_t sub, uint64_t index,
          const char *subject, uint64_t value)
{
    zraft_event_t event;
    ck_assert_msg (cluster_event (c, id, ZRAFT_EVENT_DELIVER, sub, S_WAIT_MS, &event),
                   "n%u sub %llu: index %llu not delivered", id,
                   (unsigned long long) sub, (unsigned long long) index);
    ck_assert_uint_eq (event.index, index);
    ck_assert_uint_ge (event.term, 1);
    ck_assert_ptr_nonnull (event.subject);
    ck_assert_str_eq (event.subject, subject);
    ck_assert_uint_eq (event.size, sizeof value);
    uint64_t got;
    memcpy (&got, event.data, sizeof got);
    ck_assert_uint_eq (got, value);
    zraft_event_release (&event);
}

/* Checks that no delivery of sub waits on server id. */
static void
s_none (cluster_t *c, uint32_t id, uint64_t sub)
{
    ck_assert_uint_eq (cluster_events_count (c, id, ZRAFT_EVENT_DELIVER, sub), 0);
}

/* --------------------------------------------------------------- order */

/* Every publication reaches a subscription in index order with no gap,
   commands between them skipped, on the leader and on a follower; the
   follower's consumer gives one credit back per message it takes, so
   at most 7 are ever in flight to it. */
START_TEST (feed_order_no_gaps_leader_and_follower)
{
    enum { ROUNDS = 3, PER_ROUND = 200, N = ROUNDS * PER_ROUND };
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t follower = leader % 3 + 1;
    s_subscribe (c, leader, 1, ZRAFT_FROM_NEXT, 0, NULL, ZRAFT_CREDIT_MAX);
    s_subscribe (c, follower, 2, ZRAFT_FROM_NEXT, 0, NULL, 7);
    static uint64_t indexes [N];
    const char *subjects [ROUNDS] = {"orders.eu", "orders.us", "audit"};
    for (uint32_t r = 0; r < ROUNDS; r++) {
        cluster_one (c, 1000 + r, 3, false);    /* a command between */
        s_publish_many (c, leader, subjects [r], r * PER_ROUND, PER_ROUND,
                        indexes + r * PER_ROUND);
    }
    for (uint32_t i = 0; i < N; i++) {
        s_expect (c, leader, 1, indexes [i], subjects [i / PER_ROUND], i);
        s_expect (c, follower, 2, indexes [i], subjects [i / PER_ROUND], i);
        ck_assert_int_eq (zraft_credit (cluster_node (c, follower), 2, 1), 0);
    }
    s_none (c, leader, 1);
    s_none (c, follower, 2);
    cluster_destroy (&c);
}
END_TEST

/* config.apply_on_node with a feed (config.subs_max > 0): the node
   applies small runs itself and tells the feed at once (node.h), and
   publications reach subscriptions in index order with no gap, on the
   leader and on a follower, published one at a time (each RESULT
   awaited: the runs the node applies) and in a burst. */
START_TEST (feed_order_with_apply_on_node)
{
    enum { ONES = 20, BURST = 20, N = ONES + BURST };
    cluster_t *c = cluster_new (3);
    cluster_set_apply_on_node (c, true);
    cluster_restart_all (c);
    uint32_t leader = cluster_leader (c);
    uint32_t follower = leader % 3 + 1;
    s_subscribe (c, leader, 1, ZRAFT_FROM_NEXT, 0, NULL, ZRAFT_CREDIT_MAX);
    s_subscribe (c, follower, 2, ZRAFT_FROM_NEXT, 0, NULL, ZRAFT_CREDIT_MAX);
    uint64_t indexes [N];
    for (uint64_t i = 0; i < ONES; i++) {
        indexes [i] = s_publish (c, leader, "one", i);
        s_expect (c, leader, 1, indexes [i], "one", i);
    }
    s_publish_many (c, leader, "burst", ONES, BURST, indexes + ONES);
    for (uint64_t i = 0; i < N; i++) {
        if (i >= ONES)
            s_expect (c, leader, 1, indexes [i], "burst", i);
        s_expect (c, follower, 2, indexes [i], i < ONES ? "one" : "burst", i);
    }
    s_none (c, leader, 1);
    s_none (c, follower, 2);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    ck_assert_uint_gt (st.applies_on_node, 0);
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- credit */

/* With zero credit nothing is delivered; credit lets exactly that many
   through, and more credit resumes exactly where delivery stopped. */
START_TEST (feed_credit_bounds_deliveries)
{
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    zraft_t *node = cluster_node (c, id);
    s_subscribe (c, id, 10, ZRAFT_FROM_NEXT, 0, NULL, 0);
    s_subscribe (c, id, 99, ZRAFT_FROM_NEXT, 0, NULL, ZRAFT_CREDIT_MAX);
    uint64_t indexes [12];
    s_publish_many (c, id, "t", 1, 10, indexes);
    for (int i = 0; i < 10; i++)
        s_expect (c, id, 99, indexes [i], "t", (uint64_t) i + 1);
    s_none (c, id, 10);                 /* zero credit: nothing */
    ck_assert_int_eq (zraft_credit (node, 10, 3), 0);
    for (int i = 0; i < 3; i++)
        s_expect (c, id, 10, indexes [i], "t", (uint64_t) i + 1);
    indexes [10] = s_publish (c, id, "t", 11);
    s_expect (c, id, 99, indexes [10], "t", 11);
    s_none (c, id, 10);                 /* credit used up */
    /* Credit is capped, not refused; the rest resumes at the 4th. */
    ck_assert_int_eq (zraft_credit (node, 10, UINT32_MAX), 0);
    for (int i = 3; i < 11; i++)
        s_expect (c, id, 10, indexes [i], "t", (uint64_t) i + 1);
    indexes [11] = s_publish (c, id, "t", 12);
    s_expect (c, id, 10, indexes [11], "t", 12);
    s_expect (c, id, 99, indexes [11], "t", 12);
    s_none (c, id, 10);
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- filter */

/* A prefix delivers the subjects that start with it, and only those. */
START_TEST (feed_prefix_filters_subjects)
{
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    s_subscribe (c, id, 1, ZRAFT_FROM_NEXT, 0, "orders.", 100);
    s_subscribe (c, id, 2, ZRAFT_FROM_NEXT, 0, "orders", 100);
    s_subscribe (c, id, 3, ZRAFT_FROM_NEXT, 0, "", 100);
    s_subscribe (c, id, 4, ZRAFT_FROM_NEXT, 0, "audit", 100);
    const char *subjects [] = {"orders.eu", "audit", "orders", "orders.us",
                               "ordersx", "audit.log", "a"};
    enum { N = sizeof subjects / sizeof subjects [0] };
    uint64_t indexes [N];
    for (uint32_t i = 0; i < N; i++)
        indexes [i] = s_publish (c, id, subjects [i], i);
    for (uint32_t i = 0; i < N; i++) {
        const char *s = subjects [i];
        if (strncmp (s, "orders.", 7) == 0)
            s_expect (c, id, 1, indexes [i], s, i);
        if (strncmp (s, "orders", 6) == 0)
            s_expect (c, id, 2, indexes [i], s, i);
        s_expect (c, id, 3, indexes [i], s, i);
        if (strncmp (s, "audit", 5) == 0)
            s_expect (c, id, 4, indexes [i], s, i);
    }
    for (uint64_t sub = 1; sub <= 4; sub++)
        s_none (c, id, sub);
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- from */

/* INDEX starts at the index, FIRST at the first held, LAST at the
   newest matching publication (however far back), NEXT after the last
   committed; each then delivers what follows. */
START_TEST (feed_from_modes)
{
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    uint64_t a [3], b [2], far [150];
    s_publish_many (c, id, "a", 1, 3, a);
    s_publish_many (c, id, "b", 4, 2, b);
    uint64_t rare = s_publish (c, id, "rare", 6);
    s_publish_many (c, id, "d", 100, 150, far);         /* > 2 search windows */
    zraft_event_t ev = s_subscribe (c, id, 1, ZRAFT_FROM_INDEX, a [1], NULL, 1000);
    ck_assert_int_eq (ev.status, 0);
    ck_assert_uint_eq (ev.first, 1);
    ck_assert_uint_ge (ev.last, far [149]);
    ev = s_subscribe (c, id, 2, ZRAFT_FROM_FIRST, 0, NULL, 1000);
    ck_assert_int_eq (ev.status, 0);
    s_subscribe (c, id, 3, ZRAFT_FROM_LAST, 0, NULL, 1000);
    s_subscribe (c, id, 4, ZRAFT_FROM_LAST, 0, "a", 1000);
    s_subscribe (c, id, 5, ZRAFT_FROM_LAST, 0, "rare", 1000);
    s_subscribe (c, id, 6, ZRAFT_FROM_LAST, 0, "none", 1000);
    s_subscribe (c, id, 7, ZRAFT_FROM_NEXT, 0, NULL, 1000);
    /* FIRST and INDEX: everything from their start. */
    for (int i = 0; i < 3; i++)
        s_expect (c, id, 2, a [i], "a", (uint64_t) i + 1);
    for (int i = 1; i < 3; i++)
        s_expect (c, id, 1, a [i], "a", (uint64_t) i + 1);
    for (int i = 0; i < 2; i++) {
        s_expect (c, id, 1, b [i], "b", (uint64_t) i + 4);
        s_expect (c, id, 2, b [i], "b", (uint64_t) i + 4);
    }
    s_expect (c, id, 1, rare, "rare", 6);
    s_expect (c, id, 2, rare, "rare", 6);
    for (int i = 0; i < 150; i++) {
        s_expect (c, id, 1, far [i], "d", (uint64_t) i + 100);
        s_expect (c, id, 2, far [i], "d", (uint64_t) i + 100);
    }
    /* LAST: the newest matching first. */
    s_expect (c, id, 3, far [149], "d", 249);
    s_expect (c, id, 4, a [2], "a", 3);
    s_expect (c, id, 5, rare, "rare", 6);
    /* Then what follows, for everyone; NEXT and LAST of "none" start here. */
    uint64_t next = s_publish (c, id, "none", 7);
    uint64_t last = s_publish (c, id, "a", 8);
    for (uint64_t sub = 1; sub <= 7; sub++) {
        if (sub != 4 && sub != 5)
            s_expect (c, id, sub, next, "none", 7);
        if (sub != 5 && sub != 6)
            s_expect (c, id, sub, last, "a", 8);
        s_none (c, id, sub);
    }
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- compaction */

/* True once the WAL in dir no longer holds index (compacted). */
static bool
s_wal_compacted (const char *dir, uint64_t index, uint64_t durable)
{
    zr_wal_reader_t *reader = zr_wal_reader_new (dir);
    ck_assert_ptr_nonnull (reader);
    zr_entry_t *entries = NULL;
    uint32_t n = 0;
    int rc = zr_wal_read (reader, index, index, 1, durable, &entries, &n);
    zr_entries_destroy (&entries, n);
    zr_wal_reader_destroy (&reader);
    return rc == ZR_ECOMPACTED;
}

/* Publishes size bytes at payload under "big" on server id and waits
   until it is committed. */
static void
s_publish_big (cluster_t *c, uint32_t id, const uint8_t *payload, size_t size)
{
    uint64_t token = cluster_token (c);
    ck_assert_int_eq (zraft_publish (cluster_node (c, id), token, "big",
                                     payload, size, 0, 0), 0);
    zraft_event_t result;
    ck_assert (cluster_result (c, id, token, S_WAIT_MS, &result));
    ck_assert_int_eq (result.status, 0);
    zraft_event_release (&result);
}

/* A subscription whose position a snapshot compacted away before it
   read it ends with ZRAFT_ERANGE and the first index held, a FIRST one
   that delivered already too; a FIRST one that has delivered nothing
   moves on to the first index held; one asking for a compacted index is
   refused so at once; FIRST then works. */
START_TEST (feed_erange_after_compaction)
{
    cluster_snapshots_t snap = {.entries = 20, .trailing = 5,
                                .chunk_bytes = 64 << 10, .wal_catchup = true};
    cluster_t *c = cluster_new_snapshots (1, &snap);
    uint32_t id = cluster_leader (c);
    zraft_event_t ev = s_subscribe (c, id, 1, ZRAFT_FROM_INDEX, 1, NULL, 0);
    ck_assert_int_eq (ev.status, 0);
    ev = s_subscribe (c, id, 4, ZRAFT_FROM_FIRST, 0, NULL, 0);
    ck_assert_int_eq (ev.status, 0);
    ck_assert_uint_eq (ev.first, 1);
    ev = s_subscribe (c, id, 5, ZRAFT_FROM_FIRST, 0, "big", 1);
    ck_assert_int_eq (ev.status, 0);
    /* Sub 5 takes its one delivery before anything is compacted. */
    static uint8_t payload [64 << 10];
    s_publish_big (c, id, payload, sizeof payload);
    zraft_event_t got;
    ck_assert (cluster_event (c, id, ZRAFT_EVENT_DELIVER, 5, S_WAIT_MS, &got));
    uint64_t delivered = got.index;
    zraft_event_release (&got);
    /* 64 KiB publications fill WAL segments (CLUSTER_SEGMENT_BYTES) until
       the snapshots let the first one go. */
    int64_t deadline = zclock_mono () + 4 * S_WAIT_MS;
    zraft_status_t st;
    do {
        ck_assert_int_lt (zclock_mono (), deadline);
        for (int i = 0; i < 8; i++)
            s_publish_big (c, id, payload, sizeof payload);
        cluster_status (c, id, &st);
    } while (!s_wal_compacted (cluster_dir (c, id), 1, st.persisted));
    ck_assert_uint_gt (st.first_index, 1);
    ck_assert_int_eq (zraft_credit (cluster_node (c, id), 1, 10), 0);
    ck_assert (cluster_event (c, id, ZRAFT_EVENT_UNSUBSCRIBED, 1, S_WAIT_MS, &ev));
    ck_assert_int_eq (ev.status, ZRAFT_ERANGE);
    ck_assert_uint_gt (ev.first, 1);
    s_none (c, id, 1);
    /* FIRST, one delivery made before the compaction: a gap, ERANGE. */
    ck_assert_int_eq (zraft_credit (cluster_node (c, id), 5, 10), 0);
    ck_assert (cluster_event (c, id, ZRAFT_EVENT_UNSUBSCRIBED, 5, S_WAIT_MS, &ev));
    ck_assert_int_eq (ev.status, ZRAFT_ERANGE);
    ck_assert_uint_gt (ev.first, delivered + 1);
    s_none (c, id, 5);
    /* FIRST, nothing delivered: it starts at what is held now. */
    ck_assert_int_eq (zraft_credit (cluster_node (c, id), 4, 1), 0);
    ck_assert (cluster_event (c, id, ZRAFT_EVENT_DELIVER, 4, S_WAIT_MS, &got));
    ck_assert_uint_ge (got.index, st.first_index);
    ck_assert_uint_eq (got.size, sizeof payload);
    zraft_event_release (&got);
    ck_assert_int_eq (zraft_unsubscribe (cluster_node (c, id), 4), 0);
    ck_assert_int_eq (zraft_credit (cluster_node (c, id), 1, 1), ZRAFT_EINVAL);
    /* Asking for index 1 now: refused at once. */
    ev = s_subscribe (c, id, 2, ZRAFT_FROM_INDEX, 1, NULL, 10);
    ck_assert_int_eq (ev.status, ZRAFT_ERANGE);
    ck_assert_uint_gt (ev.first, 1);
    /* FIRST delivers from what is held. */
    ev = s_subscribe (c, id, 3, ZRAFT_FROM_FIRST, 0, "big", 1);
    ck_assert_int_eq (ev.status, 0);
    ck_assert (cluster_event (c, id, ZRAFT_EVENT_DELIVER, 3, S_WAIT_MS, &got));
    ck_assert_uint_ge (got.index, ev.first);
    ck_assert_uint_eq (got.size, sizeof payload);
    zraft_event_release (&got);
    cluster_destroy (&c);
}
END_TEST

/* After a restart the log in memory starts after the newest snapshot,
   but the WAL still holds the trailing entries before it: a
   subscription from one of them is served from the WAL, as it was
   before the restart (an operator's cursor 1,000 entries behind a
   snapshot was refused after a rolling restart). */
START_TEST (feed_reads_trailing_entries_after_restart)
{
    cluster_snapshots_t snap = {.entries = 20, .trailing = 1000,
                                .chunk_bytes = 64 << 10, .wal_catchup = true};
    cluster_t *c = cluster_new_snapshots (1, &snap);
    uint32_t id = cluster_leader (c);
    uint64_t indexes [100];
    s_publish_many (c, id, "t", 0, 100, indexes);
    zraft_status_t st;
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    for (cluster_status (c, id, &st); st.snapshot_index < indexes [50];
         cluster_status (c, id, &st)) {
        ck_assert_int_lt (zclock_mono (), deadline);    /* snapshots are taken */
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
    cluster_restart_all (c);
    id = cluster_leader (c);
    cluster_status (c, id, &st);
    ck_assert_uint_gt (st.first_index, indexes [10]);   /* memory: after it */
    zraft_event_t ev = s_subscribe (c, id, 1, ZRAFT_FROM_INDEX, indexes [10],
                                    "t", 100);
    ck_assert_int_eq (ev.status, 0);
    ck_assert_uint_le (ev.first, indexes [0]);
    for (int i = 10; i < 100; i++)
        s_expect (c, id, 1, indexes [i], "t", (uint64_t) i);
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- isolation */

/* 100 subscriptions with zero credit beside the leader's consumer, and
   one on a follower whose events the application never reads, hold up
   neither publishing nor the consumers that read (progress: every
   publication is acknowledged and delivered to both). */
START_TEST (feed_stalled_subscribers_hold_up_no_one)
{
    enum { STALLED = 100, N = 500 };
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t reader = leader % 3 + 1;
    uint32_t deaf = reader % 3 + 1;
    for (uint64_t sub = 1; sub <= STALLED; sub++)
        s_subscribe (c, leader, sub, ZRAFT_FROM_NEXT, 0, NULL, 0);
    s_subscribe (c, leader, 1000, ZRAFT_FROM_NEXT, 0, NULL, ZRAFT_CREDIT_MAX);
    s_subscribe (c, reader, 2000, ZRAFT_FROM_NEXT, 0, NULL, ZRAFT_CREDIT_MAX);
    /* Never read after this: its deliveries pile up in its events pipe. */
    s_subscribe (c, deaf, 3000, ZRAFT_FROM_FIRST, 0, NULL, ZRAFT_CREDIT_MAX);
    static uint64_t indexes [N];
    s_publish_many (c, leader, "x", 0, N, indexes);
    for (uint32_t i = 0; i < N; i++) {
        s_expect (c, leader, 1000, indexes [i], "x", i);
        s_expect (c, reader, 2000, indexes [i], "x", i);
    }
    for (uint64_t sub = 1; sub <= STALLED; sub++)
        s_none (c, leader, sub);
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- unsubscribe */

/* zraft_unsubscribe ends deliveries: one UNSUBSCRIBED, no DELIVER after
   it, and the id is free again once that was received. */
START_TEST (feed_unsubscribe_ends_deliveries)
{
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    zraft_t *node = cluster_node (c, id);
    s_subscribe (c, id, 5, ZRAFT_FROM_NEXT, 0, NULL, 100);
    s_subscribe (c, id, 99, ZRAFT_FROM_NEXT, 0, NULL, 100);
    uint64_t first = s_publish (c, id, "u", 1);
    s_expect (c, id, 5, first, "u", 1);
    ck_assert_int_eq (zraft_unsubscribe (node, 5), 0);
    ck_assert_int_eq (zraft_unsubscribe (node, 5), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_credit (node, 5, 1), ZRAFT_EINVAL);
    zraft_event_t ev;
    ck_assert (cluster_event (c, id, ZRAFT_EVENT_UNSUBSCRIBED, 5, S_WAIT_MS, &ev));
    ck_assert_int_eq (ev.status, 0);
    uint64_t later = s_publish (c, id, "u", 2);
    s_expect (c, id, 99, first, "u", 1);
    s_expect (c, id, 99, later, "u", 2);
    s_none (c, id, 5);
    ck_assert_uint_eq (cluster_events_count (c, id, ZRAFT_EVENT_UNSUBSCRIBED, 5), 0);
    /* The id may be used again. */
    s_subscribe (c, id, 5, ZRAFT_FROM_INDEX, later, NULL, 1);
    s_expect (c, id, 5, later, "u", 2);
    cluster_destroy (&c);
}
END_TEST

/* Bad options, an id already open and an unknown id are refused at
   once with ZRAFT_EINVAL, with nothing sent. */
START_TEST (feed_refuses_bad_requests)
{
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    zraft_t *node = cluster_node (c, id);
    zraft_sub_options_t bad = {.from_mode = ZRAFT_FROM_INDEX, .from = 0};
    ck_assert_int_eq (zraft_subscribe (node, 1, &bad), ZRAFT_EINVAL);
    bad = (zraft_sub_options_t) {.from_mode = (zraft_from_t) 9};
    ck_assert_int_eq (zraft_subscribe (node, 1, &bad), ZRAFT_EINVAL);
    bad = (zraft_sub_options_t) {.from_mode = ZRAFT_FROM_NEXT,
                                 .credit = ZRAFT_CREDIT_MAX + 1};
    ck_assert_int_eq (zraft_subscribe (node, 1, &bad), ZRAFT_EINVAL);
    char prefix [ZRAFT_SUBJECT_MAX + 2];
    memset (prefix, 'p', sizeof prefix - 1);
    prefix [sizeof prefix - 1] = '\0';
    bad = (zraft_sub_options_t) {.from_mode = ZRAFT_FROM_NEXT, .prefix = prefix};
    ck_assert_int_eq (zraft_subscribe (node, 1, &bad), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_credit (node, 1, 1), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_unsubscribe (node, 1), ZRAFT_EINVAL);
    s_subscribe (c, id, 1, ZRAFT_FROM_NEXT, 0, NULL, 0);
    zraft_sub_options_t good = {.from_mode = ZRAFT_FROM_NEXT};
    ck_assert_int_eq (zraft_subscribe (node, 1, &good), ZRAFT_EINVAL);
    ck_assert_uint_eq (cluster_events_count (c, id, ZRAFT_EVENT_SUBSCRIBED, 1), 0);
    cluster_destroy (&c);
}
END_TEST

/* At config.subs_max subscriptions open (until their end is received)
   zraft_subscribe answers ZRAFT_EAGAIN; with subs_max 0 there is no
   feed. Deliveries do not count against submit_max. */
START_TEST (feed_limits)
{
    cluster_t *c = cluster_new (1);
    cluster_stop (c, 1);
    cluster_set_subs_max (c, 2);
    cluster_set_submit_max (c, 2);
    cluster_start (c, 1);
    ck_assert_uint_eq (cluster_leader (c), 1);
    zraft_t *node = cluster_node (c, 1);
    s_subscribe (c, 1, 1, ZRAFT_FROM_NEXT, 0, NULL, 100);
    s_subscribe (c, 1, 2, ZRAFT_FROM_NEXT, 0, NULL, 100);
    zraft_sub_options_t next = {.from_mode = ZRAFT_FROM_NEXT, .credit = 1};
    ck_assert_int_eq (zraft_subscribe (node, 3, &next), ZRAFT_EAGAIN);
    /* Ten deliveries each, not taken: publishing is not refused. */
    uint64_t indexes [12];
    for (int i = 0; i < 10; i++)
        indexes [i] = s_publish (c, 1, "lim", (uint64_t) i);
    s_publish_many (c, 1, "lim", 10, 2, indexes + 10);
    for (int i = 0; i < 12; i++)
        s_expect (c, 1, 1, indexes [i], "lim", (uint64_t) i);
    ck_assert_int_eq (zraft_unsubscribe (node, 1), 0);
    ck_assert_int_eq (zraft_subscribe (node, 3, &next), ZRAFT_EAGAIN);
    zraft_event_t ev;
    ck_assert (cluster_event (c, 1, ZRAFT_EVENT_UNSUBSCRIBED, 1, S_WAIT_MS, &ev));
    s_subscribe (c, 1, 3, ZRAFT_FROM_NEXT, 0, NULL, 1);
    /* No feed. */
    cluster_stop (c, 1);
    cluster_set_subs_max (c, 0);
    cluster_start (c, 1);
    node = cluster_node (c, 1);
    ck_assert_int_eq (zraft_subscribe (node, 1, &next), ZRAFT_EAGAIN);
    ck_assert_int_eq (zraft_credit (node, 1, 1), ZRAFT_EINVAL);
    cluster_destroy (&c);
}
END_TEST

/* Deliveries leave the feed with their bytes in one buffer per message
   (feed.h, Memory) and each arrives whole. 150 publications, one in
   ten of 40,000 bytes (past the buffer's first size alone) and the
   rest of 4,000, 1.14 MB in all, are read back from the WAL after a
   restart by 6 subscriptions at once: a round's turns fill messages
   past ZR_FEED_MSG_BYTES, which leave in the middle of a round. */
START_TEST (feed_large_deliveries_whole)
{
    enum { N = 150, SUBS = 6, BIG = 40000, SMALL = 4000 };
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    zraft_t *node = cluster_node (c, id);
    static uint8_t payloads [N][BIG];
    size_t sizes [N];
    uint64_t tokens [N], indexes [N];
    for (int i = 0; i < N; i++) {
        sizes [i] = i % 10 == 0 ? BIG : SMALL;
        memset (payloads [i], 'a' + i % 26, sizes [i]);
        memcpy (payloads [i], &i, sizeof i);
        tokens [i] = cluster_token (c);
        ck_assert_int_eq (zraft_publish (node, tokens [i], "big", payloads [i],
                                         sizes [i], 0, 0), 0);
    }
    for (int i = 0; i < N; i++) {
        zraft_event_t event;
        ck_assert (cluster_result (c, id, tokens [i], S_WAIT_MS, &event));
        ck_assert_int_eq (event.status, 0);
        indexes [i] = event.index;
        zraft_event_release (&event);
    }
    cluster_stop (c, id);
    cluster_start (c, id);
    ck_assert_uint_eq (cluster_leader (c), id);
    node = cluster_node (c, id);
    zraft_sub_options_t first = {.from_mode = ZRAFT_FROM_FIRST, .credit = N};
    for (uint64_t sub = 1; sub <= SUBS; sub++)
        ck_assert_int_eq (zraft_subscribe (node, sub, &first), 0);
    for (uint64_t sub = 1; sub <= SUBS; sub++) {
        zraft_event_t event;
        ck_assert (cluster_event (c, id, ZRAFT_EVENT_SUBSCRIBED, sub, S_WAIT_MS,
                                  &event));
        ck_assert_int_eq (event.status, 0);
        for (int i = 0; i < N; i++) {
            ck_assert_msg (cluster_event (c, id, ZRAFT_EVENT_DELIVER, sub,
                                          S_WAIT_MS, &event),
                           "sub %d: publication %d not delivered", (int) sub, i);
            ck_assert_uint_eq (event.index, indexes [i]);
            ck_assert_str_eq (event.subject, "big");
            ck_assert_uint_eq (event.size, sizes [i]);
            ck_assert_mem_eq (event.data, payloads [i], sizes [i]);
            zraft_event_release (&event);
        }
    }
    cluster_destroy (&c);
}
END_TEST

/* Receives from node directly, past any ROLE event, the next event,
   which must be of type. */
static void
s_recv_type (zraft_t *node, zraft_event_type_t type, zraft_event_t *event)
{
    for (;;) {
        ck_assert_int_eq (zraft_recv (node, event, S_WAIT_MS), 0);
        if (event->type != ZRAFT_EVENT_ROLE)
            break;
        zraft_event_release (event);
    }
    ck_assert_int_eq (event->type, type);
}

/* A handle destroyed between two events of one message frees what was
   not handed out, and only that: an event handed out is its caller's.
   Five deliveries leave the feed in one message (the credit comes after
   the publications); five RESULTs, each with apply's result, are
   applied together and so leave the applier in one message. One of
   each is taken and released, then the server stops. Freeing a
   released event again aborts the test (or, for a RESULT's small
   result, fails the ASan build), and so would freeing a message's
   bytes twice; not freeing them fails the ASan build. */
START_TEST (feed_stop_between_events)
{
    cluster_t *c = cluster_new (1);
    uint32_t id = cluster_leader (c);
    zraft_t *node = cluster_node (c, id);
    s_subscribe (c, id, 7, ZRAFT_FROM_NEXT, 0, NULL, 0);
    uint64_t indexes [5];
    s_publish_many (c, id, "mid", 1, 5, indexes);
    ck_assert_int_eq (zraft_credit (node, 7, 5), 0);
    zraft_event_t event;
    s_recv_type (node, ZRAFT_EVENT_DELIVER, &event);
    ck_assert_uint_eq (event.index, indexes [0]);
    ck_assert_ptr_nonnull (event.data);
    zraft_event_release (&event);
    cluster_stop (c, id);
    cluster_start (c, id);
    ck_assert_uint_eq (cluster_leader (c), id);
    node = cluster_node (c, id);
    uint64_t tokens [5], values [5];
    const void *datas [5];
    size_t sizes [5];
    for (int i = 0; i < 5; i++) {
        tokens [i] = cluster_token (c);
        values [i] = (uint64_t) i + 1;
        datas [i] = &values [i];
        sizes [i] = sizeof values [i];
    }
    ck_assert_int_eq (zraft_submit_many (node, tokens, datas, sizes, 5), 0);
    s_recv_type (node, ZRAFT_EVENT_RESULT, &event);
    ck_assert_uint_eq (event.token, tokens [0]);
    ck_assert_ptr_nonnull (event.data);
    zraft_event_release (&event);
    cluster_stop (c, id);
    cluster_destroy (&c);
}
END_TEST

/* The one thread of this process named name: 0 while there is none or
   more than one (a feed just stopped may still be ending: its thread is
   detached). */
static pid_t
s_thread_once (const char *name)
{
    DIR *dir = opendir ("/proc/self/task");
    ck_assert_ptr_nonnull (dir);
    pid_t found = 0;
    int matches = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        char path [300], comm [32] = "";
        snprintf (path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        FILE *file = entry->d_name [0] != '.' ? fopen (path, "r") : NULL;
        if (file && fgets (comm, sizeof comm, file)) {
            comm [strcspn (comm, "\n")] = 0;
            if (streq (comm, name)) {
                found = (pid_t) atoi (entry->d_name);
                matches++;
            }
        }
        if (file)
            fclose (file);
    }
    closedir (dir);
    return matches == 1 ? found : 0;
}

/* Waits up to S_WAIT_MS for exactly one thread named name. */
static pid_t
s_thread (const char *name)
{
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    pid_t tid;
    while (!(tid = s_thread_once (name)) && zclock_mono () < deadline)
        poll (NULL, 0, 1);
    return tid;
}

/* config.feed_background (feed.h, Scheduling): the feed's thread is
   SCHED_BATCH with its nice value ZR_FEED_NICE above the server's
   other threads (at most 19), and still delivers; off, it stays in
   the class and nice value of the thread that started the server. */
START_TEST (feed_background_thread)
{
    int base_policy = sched_getscheduler (0);
    int batch = sched_probe_batch_allowed () ? SCHED_BATCH : base_policy;
    errno = 0;
    int base_nice = getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
    ck_assert_int_eq (errno, 0);
    int want_nice = base_nice + ZR_FEED_NICE > 19 ? 19
                                                  : base_nice + ZR_FEED_NICE;
    cluster_t *c = cluster_new (1);
    for (int round = 0; round < 2; round++) {
        if (round) {
            cluster_set_feed_background (c, false);
            cluster_restart_all (c);
        }
        uint32_t id = cluster_leader (c);
        s_subscribe (c, id, 1, ZRAFT_FROM_NEXT, 0, NULL, 1);
        s_publish (c, id, "bg", 40 + (uint64_t) round);
        zraft_event_t event;
        ck_assert (cluster_event (c, id, ZRAFT_EVENT_DELIVER, 1, S_WAIT_MS,
                                  &event));
        zraft_event_release (&event);
        char name [16];
        snprintf (name, sizeof name, "zr%u-feed", id);
        pid_t tid = s_thread (name);
        ck_assert_msg (tid > 0, "not one thread %s", name);
        errno = 0;
        int nice_now = getpriority (PRIO_PROCESS, (id_t) tid);
        ck_assert_int_eq (errno, 0);
        ck_assert_int_eq (sched_getscheduler (tid),
                          round ? base_policy : batch);
        ck_assert_int_eq (nice_now, round ? base_nice : want_nice);
        ck_assert_int_eq (zraft_unsubscribe (cluster_node (c, id), 1), 0);
        ck_assert (cluster_event (c, id, ZRAFT_EVENT_UNSUBSCRIBED, 1,
                                  S_WAIT_MS, &event));
        zraft_event_release (&event);
    }
    cluster_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("feed");
    TCase *tc = tcase_create ("feed");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, feed_order_no_gaps_leader_and_follower);
    tcase_add_test (tc, feed_order_with_apply_on_node);
    tcase_add_test (tc, feed_credit_bounds_deliveries);
    tcase_add_test (tc, feed_prefix_filters_subjects);
    tcase_add_test (tc, feed_from_modes);
    tcase_add_test (tc, feed_erange_after_compaction);
    tcase_add_test (tc, feed_reads_trailing_entries_after_restart);
    tcase_add_test (tc, feed_stalled_subscribers_hold_up_no_one);
    tcase_add_test (tc, feed_unsubscribe_ends_deliveries);
    tcase_add_test (tc, feed_refuses_bad_requests);
    tcase_add_test (tc, feed_limits);
    tcase_add_test (tc, feed_stop_between_events);
    tcase_add_test (tc, feed_large_deliveries_whole);
    tcase_add_test (tc, feed_background_thread);
    suite_add_tcase (s, tc);
    return check_run (s);
}
