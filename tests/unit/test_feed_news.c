/*  =========================================================================
    test_feed_news - unit tests of the node's news for the feed
    (actors/feed.h, "Where the log stands"): zr_feed_post on the node's
    thread, zr_feed_news_read on the feed's; and the recent entries the
    applier keeps for the feed (zr_feed_recent_add, zr_feed_recent_read)

    The news must never be lost: whenever the poster has posted something
    the reader has not read, a wake-up is on its way, so a reader that
    sleeps until a wake-up always ends up reading the newest post. And
    wake-ups stay bounded: at most one is queued however often the node
    posts while the feed is not reading. The recent ring gives back
    exactly the entries added, in order, bounded in count and bytes,
    and holds nothing nobody wants.
    =========================================================================
*/
#include "../../actors/actors.h"
#include "../../actors/feed.h"
#include <check.h>
#include "../lib/check_run.h"

#define S_WAIT_MS 10000                 /* a wake-up takes microseconds */

/* The shared news and both ends of the wake-up pair. */
typedef struct {
    zr_feed_news_t news;
    zsock_t *wake;                      /* the feed's PULL */
    zsock_t *push;                      /* the node's PUSH */
} s_pair_t;

static void
s_pair_init (s_pair_t *self, const char *name)
{
    memset (self, 0, sizeof *self);
    zr_feed_news_init (&self->news);
    zr_feed_wake_want (&self->news, true);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://feed-news-%s", name);
    self->wake = zsock_new (ZMQ_PULL);
    ck_assert_ptr_nonnull (self->wake);
    zsock_set_rcvhwm (self->wake, 0);
    ck_assert_int_eq (zsock_bind (self->wake, "%s", endpoint), 0);
    self->push = zr_feed_wake_connect (endpoint, 1);
    ck_assert_ptr_nonnull (self->push);
}

static void
s_pair_fini (s_pair_t *self)
{
    zsock_destroy (&self->push);
    zsock_destroy (&self->wake);
    zr_feed_news_fini (&self->news);
}

/* The wake-ups queued on the feed's end, taken. */
static int
s_wakeups (s_pair_t *self)
{
    int n = 0;
    char byte;
    while (zmq_recv (zsock_resolve (self->wake), &byte, 1, ZMQ_DONTWAIT) >= 0)
        n++;
    return n;
}

/* Nothing posted: the reader knows nothing. One post: one wake-up, and
   the reader reads exactly what was posted. A post equal to the last
   one is not a change: no wake-up. */
START_TEST (news_read_gives_the_post)
{
    s_pair_t p;
    s_pair_init (&p, "post");
    zr_feed_position_t sent = {0}, at;
    ck_assert (!zr_feed_news_read (&p.news, p.wake, &at));
    zr_feed_position_t now = {.deliverable = 5, .first = 2, .commit = 7};
    zr_feed_post (&p.news, p.push, &sent, &now);
    ck_assert_int_eq (memcmp (&sent, &now, sizeof now), 0);
    zsock_set_rcvtimeo (p.wake, S_WAIT_MS);
    char byte;
    ck_assert_int_eq (zmq_recv (zsock_resolve (p.wake), &byte, 1, 0), 0);
    ck_assert (zr_feed_news_read (&p.news, p.wake, &at));
    ck_assert_uint_eq (at.deliverable, 5);
    ck_assert_uint_eq (at.first, 2);
    ck_assert_uint_eq (at.commit, 7);
    zr_feed_post (&p.news, p.push, &sent, &now);        /* no change */
    ck_assert_int_eq (s_wakeups (&p), 0);
    s_pair_fini (&p);
}
END_TEST

/* Many posts while the feed is not reading: one wake-up is queued, not
   one per post, and the read gives the newest; after the read, the
   next post queues one again. */
START_TEST (news_queues_one_wakeup)
{
    s_pair_t p;
    s_pair_init (&p, "one");
    zr_feed_position_t sent = {0}, at;
    for (uint64_t i = 1; i <= 1000; i++) {
        zr_feed_position_t now = {.deliverable = i, .first = 1, .commit = i + 1};
        zr_feed_post (&p.news, p.push, &sent, &now);
    }
    zsock_set_rcvtimeo (p.wake, S_WAIT_MS);
    char byte;
    ck_assert_int_eq (zmq_recv (zsock_resolve (p.wake), &byte, 1, 0), 0);
    ck_assert_int_eq (s_wakeups (&p), 0);               /* only that one */
    ck_assert (zr_feed_news_read (&p.news, p.wake, &at));
    ck_assert_uint_eq (at.deliverable, 1000);
    ck_assert_uint_eq (at.commit, 1001);
    zr_feed_position_t now = {.deliverable = 1001, .first = 1, .commit = 1001};
    zr_feed_post (&p.news, p.push, &sent, &now);
    ck_assert_int_eq (zmq_recv (zsock_resolve (p.wake), &byte, 1, 0), 0);
    ck_assert (zr_feed_news_read (&p.news, p.wake, &at));
    ck_assert_uint_eq (at.deliverable, 1001);
    s_pair_fini (&p);
}
END_TEST

/* A feed that wants no wake-ups (no subscription with credit) gets
   none, however often the node posts, yet reads the newest post when
   something else wakes it; wanting them again, the next post wakes it. */
START_TEST (news_wakes_only_a_feed_that_wants_it)
{
    s_pair_t p;
    s_pair_init (&p, "want");
    zr_feed_wake_want (&p.news, false);
    zr_feed_position_t sent = {0}, at;
    for (uint64_t i = 1; i <= 100; i++) {
        zr_feed_position_t now = {.deliverable = i, .first = 1, .commit = i};
        zr_feed_post (&p.news, p.push, &sent, &now);
    }
    ck_assert_int_eq (s_wakeups (&p), 0);
    ck_assert (zr_feed_news_read (&p.news, p.wake, &at));
    ck_assert_uint_eq (at.deliverable, 100);
    zr_feed_wake_want (&p.news, true);
    zr_feed_position_t now = {.deliverable = 101, .first = 1, .commit = 101};
    zr_feed_post (&p.news, p.push, &sent, &now);
    zsock_set_rcvtimeo (p.wake, S_WAIT_MS);
    char byte;
    ck_assert_int_eq (zmq_recv (zsock_resolve (p.wake), &byte, 1, 0), 0);
    ck_assert (zr_feed_news_read (&p.news, p.wake, &at));
    ck_assert_uint_eq (at.deliverable, 101);
    s_pair_fini (&p);
}
END_TEST

/* The race the news exists for: a poster on one thread posts bursts of
   positions, pausing a random while between them so that posts land
   anywhere in the reader's work, and after every fourth it waits until
   the reader has read its last post; the reader sleeps until a wake-up
   and reads. That last post is what a quiet cluster's last publication
   is: a lost wake-up leaves
   the reader asleep (its poll times out) and the poster waiting. The
   reader never sees deliverable past commit or going back. */
#define S_BURSTS 80000

typedef struct {
    s_pair_t *pair;
    atomic_uint_fast64_t posted;        /* the poster's last post */
    atomic_uint_fast64_t seen;          /* the reader's deliverable */
    atomic_bool done;                   /* the poster ended */
    atomic_bool failed;                 /* the reader gave up */
} s_race_t;

static void *
s_poster (void *arg)
{
    s_race_t *self = (s_race_t *) arg;
    zr_feed_position_t sent = {0};
    uint64_t x = 0x9e3779b97f4a7c15ull, i = 0;
    for (int burst = 0; burst < S_BURSTS && !atomic_load (&self->failed); burst++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;        /* xorshift64 */
        for (uint64_t k = 1 + x % 8; k > 0; k--) {
            i++;
            zr_feed_position_t now = {.deliverable = i, .first = 1 + i / 2,
                                      .commit = i + (i & 3)};
            atomic_store (&self->posted, i);
            zr_feed_post (&self->pair->news, self->pair->push, &sent, &now);
        }
        if (burst % 4 == 3) {           /* the last post must be seen */
            while (atomic_load (&self->seen) < i && !atomic_load (&self->failed))
                sched_yield ();
        }
        else                            /* land anywhere in the reader's work */
            for (volatile uint64_t spin = x % 4096; spin > 0; spin--)
                ;
    }
    atomic_store (&self->done, true);
    return NULL;
}

START_TEST (news_reader_always_reaches_the_last_post)
{
    enum { TICK_MS = 50 };
    s_pair_t p;
    s_pair_init (&p, "race");
    s_race_t race;
    atomic_init (&race.posted, 0);
    atomic_init (&race.seen, 0);
    atomic_init (&race.done, false);
    atomic_init (&race.failed, false);
    race.pair = &p;
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_poster, &race), 0);
    zmq_pollitem_t item = {.socket = zsock_resolve (p.wake), .events = ZMQ_POLLIN};
    zr_feed_position_t at = {0};
    uint64_t wakes = 0, last = 0;
    int asleep_ms = 0;                  /* asleep with a post unread */
    while (!atomic_load (&race.done) && asleep_ms < S_WAIT_MS) {
        if (zmq_poll (&item, 1, TICK_MS) != 1) {
            if (atomic_load (&race.posted) > last)
                asleep_ms += TICK_MS;
            continue;
        }
        asleep_ms = 0;
        wakes++;
        if (zr_feed_news_read (&p.news, p.wake, &at)) {
            ck_assert_uint_ge (at.deliverable, last);
            ck_assert_uint_le (at.deliverable, at.commit);
            last = at.deliverable;
            atomic_store (&race.seen, last);
        }
    }
    atomic_store (&race.failed, asleep_ms >= S_WAIT_MS);
    pthread_join (thread, NULL);
    ck_assert_msg (asleep_ms < S_WAIT_MS, "no wake-up for %d ms with post %"
                   PRIu64 " unread at %" PRIu64 ": a wake-up was lost",
                   S_WAIT_MS, (uint64_t) atomic_load (&race.posted), last);
    ck_assert_uint_eq (last, atomic_load (&race.posted));
    ck_assert_uint_ge (wakes, S_BURSTS / 4);
    s_pair_fini (&p);
}
END_TEST

/* ------------------------------------------------------------- recent */

/* A run of n entries from index first, each of size bytes in one blob
   of its own (payload byte: the index), as the applier holds them. */
static zr_entry_t *
s_run (zr_index_t first, uint32_t n, uint32_t size)
{
    zr_entry_t *entries = (zr_entry_t *) calloc (n, sizeof *entries);
    ck_assert_ptr_nonnull (entries);
    zr_blob_t *blob = zr_blob_new ((size_t) n * size + 1);
    ck_assert_ptr_nonnull (blob);
    for (uint32_t i = 0; i < n; i++) {
        memset (blob->data + (size_t) i * size, (int) ((first + i) & 0xff), size);
        entries [i] = (zr_entry_t) {.term = 1, .index = first + i,
                                    .type = ZR_ENTRY_BUS, .size = size,
                                    .data = size ? blob->data + (size_t) i * size : NULL,
                                    .blob = size ? zr_blob_ref (blob) : NULL};
    }
    zr_blob_unref (&blob);
    return entries;
}

/* Adds the run [first, first + n) of entries of size bytes. */
static void
s_add (zr_feed_news_t *news, zr_index_t first, uint32_t n, uint32_t size)
{
    zr_entry_t *entries = s_run (first, n, size);
    zr_feed_recent_add (news, entries, n);
    zr_entries_destroy (&entries, n);
}

/* Reads from..to; checks what came is from.. in order with its bytes;
   returns how many came, -1 for a miss. */
static int
s_read (zr_feed_news_t *news, zr_index_t from, zr_index_t to, size_t bytes_max)
{
    zr_entry_t *entries = NULL;
    uint32_t n = 0;
    if (!zr_feed_recent_read (news, from, to, bytes_max, &entries, &n))
        return -1;
    ck_assert_uint_ge (n, 1);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq (entries [i].index, from + i);
        if (entries [i].size)
            ck_assert_uint_eq (entries [i].data [entries [i].size - 1],
                               (from + i) & 0xff);
    }
    zr_entries_destroy (&entries, n);
    return (int) n;
}

/* The ring keeps what was applied while the feed wants it, in order, and
   gives back any stretch of it; an index it does not hold is a miss. */
START_TEST (recent_gives_back_what_was_added)
{
    zr_feed_news_t news;
    memset (&news, 0, sizeof news);
    zr_feed_news_init (&news);
    s_add (&news, 1, 10, 8);            /* not wanted: kept nowhere */
    ck_assert_int_eq (s_read (&news, 1, 10, 1 << 20), -1);
    zr_feed_recent_want (&news, true);
    s_add (&news, 11, 10, 8);
    s_add (&news, 21, 5, 0);            /* empty payloads too */
    ck_assert_int_eq (s_read (&news, 10, 25, 1 << 20), -1);
    ck_assert_int_eq (s_read (&news, 11, 25, 1 << 20), 15);
    ck_assert_int_eq (s_read (&news, 14, 16, 1 << 20), 3);     /* up to to */
    ck_assert_int_eq (s_read (&news, 25, 100, 1 << 20), 1);
    ck_assert_int_eq (s_read (&news, 26, 100, 1 << 20), -1);
    ck_assert_int_eq (s_read (&news, 11, 25, 20), 2);          /* bytes_max */
    ck_assert_int_eq (s_read (&news, 11, 25, 1), 1);           /* at least one */
    /* A run that does not follow (a restore): only it is held. */
    s_add (&news, 100, 3, 8);
    ck_assert_int_eq (s_read (&news, 11, 25, 1 << 20), -1);
    ck_assert_int_eq (s_read (&news, 100, 200, 1 << 20), 3);
    /* Nobody wants them: the next add empties the ring. */
    zr_feed_recent_want (&news, false);
    s_add (&news, 103, 1, 8);
    ck_assert_int_eq (s_read (&news, 100, 200, 1 << 20), -1);
    zr_feed_news_fini (&news);
}
END_TEST

/* The ring holds at most ZR_FEED_RECENT_ENTRIES entries and
   ZR_FEED_RECENT_BYTES of payload: the oldest go first; an entry read
   out stays valid after the ring dropped it. */
START_TEST (recent_is_bounded)
{
    zr_feed_news_t news;
    memset (&news, 0, sizeof news);
    zr_feed_news_init (&news);
    zr_feed_recent_want (&news, true);
    uint32_t n = ZR_FEED_RECENT_ENTRIES + 100;
    for (zr_index_t i = 1; i <= n; i += 50)
        s_add (&news, i, 50, 1);
    zr_index_t last = ((n + 49) / 50) * 50;
    zr_index_t oldest = last - ZR_FEED_RECENT_ENTRIES + 1;
    ck_assert_int_eq (s_read (&news, oldest - 1, last, 1 << 30), -1);
    zr_entry_t *held = NULL;
    uint32_t got = 0;
    ck_assert (zr_feed_recent_read (&news, oldest, oldest, 1 << 20, &held, &got));
    ck_assert_int_eq (s_read (&news, oldest, last, 1 << 30),
                      (int) ZR_FEED_RECENT_ENTRIES);
    /* Big entries: the byte bound drops all but what fits. */
    uint32_t size = 1u << 20;
    uint32_t fit = ZR_FEED_RECENT_BYTES / size;
    s_add (&news, last + 1, fit + 3, size);
    ck_assert_int_eq (s_read (&news, last + 4, last + fit + 3, 1 << 30), (int) fit);
    ck_assert_int_eq (s_read (&news, last + 3, last + fit + 3, 1 << 30), -1);
    ck_assert_uint_eq (held [0].index, oldest);     /* its own reference */
    ck_assert_uint_eq (held [0].data [0], oldest & 0xff);
    zr_entries_destroy (&held, got);
    zr_feed_news_fini (&news);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("feed_news");
    TCase *tc = tcase_create ("news");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, news_read_gives_the_post);
    tcase_add_test (tc, news_queues_one_wakeup);
    tcase_add_test (tc, news_wakes_only_a_feed_that_wants_it);
    tcase_add_test (tc, news_reader_always_reaches_the_last_post);
    suite_add_tcase (s, tc);
    tc = tcase_create ("recent");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, recent_gives_back_what_was_added);
    tcase_add_test (tc, recent_is_bounded);
    suite_add_tcase (s, tc);
    return check_run (s);
}
