/*  =========================================================================
    test_bus_order - producers and consumers of the message bus of three
    zraft-node processes, under kills, pauses and partitions, see one
    total order: nothing acknowledged is lost, nothing is repeated

    Producer threads publish through the bus client library
    (bin/lib/busclient.h), S_WINDOW publications in flight each, on two
    subjects; every publication carries the client's producer id and its
    own seq, and the library sends it again with the same pair when a
    server dies under it or says it does not lead, so the bus must
    deduplicate. Half the producers give a publication less than an
    election to complete, so that faults leave publications of unknown
    outcome. Each attempt goes into a history (tests/lib/totalorder.h)
    with its outcome: ok (index, term, duplicate), failed or unknown.

    Consumer threads each hold one subscription, through the same
    library, on a server of their own: one reads every subject from the
    first index, one the subject "order.a" only, and one every subject
    under a durable cursor it commits every S_CURSOR_EVERY messages.
    When a subscription's server dies or stalls, the library subscribes
    again elsewhere from the index after the last it delivered; the test
    records each such move as a resume. Once, half way, the cursor's
    consumer commits its cursor at the last index it took, closes its
    client and starts a new one from the cursor: a resume from the
    cursor, which must repeat nothing.

    Meanwhile the nemesis (tests/lib/nemesis.h) kills -9, SIGSTOPs and
    partitions nodes, the leader half of the time. After the last fault
    the producers must make progress, then stop; a fence publication on
    each subject, acknowledged, gives an index every consumer must reach;
    then the checker must find that every acknowledged publication was
    delivered exactly once to every consumer whose subjects it matches,
    all consumers saw the same message at each index, none skipped or
    repeated one across a move or the cursor's resume, and no retry
    published a message twice. Otherwise the test fails with the
    checker's report and leaves the history as JSON lines (the path is
    printed).

    The run lasts ZR_BUS_SECONDS seconds of faults (default 15); ZR_SEED
    replays the test's own choices. Waits derive from procs.h's
    PROCS_*_MS and the bus timing below.
    =========================================================================
*/
#include <assert.h>
#include <check.h>
#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../lib/check_run.h"
#include "../lib/nemesis.h"
#include "../lib/procs.h"
#include "../lib/totalorder.h"
#include "../../bin/lib/busclient.h"

#define S_NODES 3                       /* servers */
#define S_PRODUCERS 3                   /* producer threads */
#define S_CONSUMERS 3                   /* consumer threads */
#define S_WINDOW 4                      /* publications in flight, each */
#define S_SECONDS_DEFAULT 15            /* of faults, without ZR_BUS_SECONDS */
#define S_SECONDS_MAX 3600
#define S_BUS_HEARTBEAT_MS (2 * PROCS_HEARTBEAT_MS)
#define S_BUS_TIMEOUT_MS (2 * PROCS_ELECTION_MS)
/* A publication's deadline: odd producers' ride out an election on a
   loaded machine; even producers' give up within one election timeout. */
#define S_PUB_MS (2 * PROCS_ELECTION_MAX_MS + PROCS_ELECTION_MS)
#define S_PUB_SHORT_MS PROCS_ELECTION_MS
#define S_CREDIT 64                     /* each consumer's */
#define S_CURSOR_EVERY 20               /* the cursor's commit period */
#define S_RESTART_AT 200                /* the cursor's consumer restarts
                                           after this many messages */
/* Acknowledgements per producer that prove the cluster serves. */
#define S_PROGRESS_ACKS 5
#define S_PROGRESS_MS (S_PUB_MS + PROCS_LEADER_WAIT_MS)
/* The consumers reach the fences within: a move or two, and the
   backlog a stalled subscription piled up. */
#define S_DRAIN_MS (4 * PROCS_LEADER_WAIT_MS)
#define S_MARGIN_S (PROCS_TEST_TIMEOUT_S + S_DRAIN_MS / 1000)
#define S_ID_MAX 32                     /* "p3-123456" and its NUL */

_Static_assert (S_BUS_TIMEOUT_MS >= 2 * S_BUS_HEARTBEAT_MS, "zraft-node's rule");
_Static_assert (S_PUB_MS > PROCS_ELECTION_MAX_MS, "a publish rides out one");

static procs_t *s_procs;                /* the test's cluster */

/* Fails the test with what, after the nodes' logs. */
static void
s_require (bool ok, const char *format, ...)
{
    if (ok)
        return;
    char what [512];
    va_list args;
    va_start (args, format);
    vsnprintf (what, sizeof what, format, args);
    va_end (args);
    if (s_procs)
        procs_dump (s_procs);
    ck_abort_msg ("%s", what);
}

static void
s_teardown (void)
{
    procs_destroy (&s_procs);
}

/* ============================================================= the run */

typedef struct _s_run_t s_run_t;

typedef struct {
    s_run_t *run;
    uint32_t id;                        /* 1..: the history's client/consumer */
    pthread_t thread;
    atomic_uint acks;                   /* producer: acknowledged */
    uint32_t counts [3];                /* producer: ok, failed, unknown */
    uint64_t received;                  /* consumer: deliveries */
    uint64_t last;                      /* consumer: last index delivered */
    uint32_t moves;                     /* consumer: subscriptions moved */
    bool restarted;                     /* consumer: resumed from its cursor */
    bool recorded;                      /* consumer: the next SUBSCRIBED is
                                           recorded already */
    char error [256];                   /* what went wrong, "" if nothing */
} s_role_t;

struct _s_run_t {
    const char *endpoints [S_NODES];    /* the bus endpoints */
    totalorder_t *history;
    atomic_bool stop;                   /* producers stop */
    atomic_uint_fast64_t fence [2];     /* consumers run until these
                                           ("order.a", every subject) */
    s_role_t producers [S_PRODUCERS];
    s_role_t consumers [S_CONSUMERS];
};

static zr_busclient_t *
s_client (s_run_t *run, int timeout_ms)
{
    zr_busclient_config_t config;
    zr_busclient_config_defaults (&config);
    config.calls.timeout_ms = timeout_ms;
    config.calls.window = S_WINDOW;
    config.credit = S_CREDIT;
    return zr_busclient_new (run->endpoints, S_NODES, &config);
}

/* ========================================================== producers */

/* The publications of a producer in flight: attempt number and seq. */
typedef struct {
    uint64_t n [S_WINDOW];              /* attempt + 1; 0: the slot is free */
    uint64_t seq [S_WINDOW];
} s_flight_t;

/* Records a publication's RESULT in the history; frees its slot. */
static void
s_producer_result (s_role_t *self, const zr_busclient_event_t *event,
                   uint64_t producer, s_flight_t *flight)
{
    totalorder_t *h = self->run->history;
    uint64_t n = event->token;
    int slot = 0;
    while (slot < S_WINDOW && flight->n [slot] != n + 1)
        slot++;
    if (slot == S_WINDOW || event->producer != producer
        || event->seq != flight->seq [slot]) {
        snprintf (self->error, sizeof self->error, "a RESULT for (%" PRIu64
                  ", %" PRIu64 "), not a publication in flight",
                  event->producer, event->seq);
        return;
    }
    flight->n [slot] = 0;
    if (event->outcome == ZR_KVCLIENT_DONE) {
        totalorder_ok (h, n, event->msg.index, event->msg.term,
                       event->msg.duplicate);
        self->counts [0]++;
        atomic_fetch_add (&self->acks, 1);
    }
    else
    if (event->outcome == ZR_KVCLIENT_FAILED) {
        totalorder_failed (h, n);
        self->counts [1]++;
    }
    else {
        totalorder_unknown (h, n);
        self->counts [2]++;
    }
}

/* Sends the next publication into a free slot. Returns 0 or -1. */
static int
s_producer_send (s_role_t *self, zr_busclient_t *client, uint64_t producer,
                 uint64_t seq, s_flight_t *flight)
{
    char id [S_ID_MAX];
    snprintf (id, sizeof id, "p%u-%" PRIu64, self->id, seq);
    const char *subject = seq % 2 ? "order.a" : "order.b";
    uint64_t n = totalorder_publish (self->run->history, self->id, producer,
                                     seq, subject, id);
    int slot = 0;
    while (flight->n [slot])
        slot++;
    assert (slot < S_WINDOW);
    flight->n [slot] = n + 1;
    flight->seq [slot] = seq;
    if (zr_busclient_publish (client, subject, id, strlen (id), n) == 0)
        return 0;
    snprintf (self->error, sizeof self->error, "publish refused");
    return -1;
}

/* Publishes S_WINDOW at a time until told to stop, then takes every
   RESULT still due. */
static void *
s_producer_run (void *arg)
{
    s_role_t *self = (s_role_t *) arg;
    zr_busclient_t *client = s_client (self->run, self->id % 2 ? S_PUB_MS
                                                               : S_PUB_SHORT_MS);
    uint64_t producer = client ? zr_busclient_producer (client) : 0;
    uint64_t seq = 0;
    s_flight_t flight;
    memset (&flight, 0, sizeof flight);
    uint32_t inflight = 0;
    while (client && !self->error [0]
           && (inflight || !atomic_load (&self->run->stop))) {
        while (inflight < S_WINDOW && !atomic_load (&self->run->stop)
               && s_producer_send (self, client, producer, ++seq, &flight) == 0)
            inflight++;
        zr_busclient_event_t event;
        if (zr_busclient_recv (client, &event, 100) != 0)
            continue;
        if (event.type == ZR_BUSCLIENT_RESULT) {
            s_producer_result (self, &event, producer, &flight);
            inflight--;
        }
        zr_busclient_event_release (&event);
    }
    if (!client)
        snprintf (self->error, sizeof self->error, "no client");
    zr_busclient_destroy (&client);
    return NULL;
}

/* ========================================================== consumers */

static const char *
s_prefix (uint32_t id)
{
    return id == 2 ? "order.a" : "";
}

/* Consumer 3's cursor, committed at index (its subscription closed);
   waits for the RESULT. Returns true if it is done. */
static bool
s_commit_wait (zr_busclient_t *client, uint64_t index)
{
    if (zr_busclient_commit (client, "c3", index, index))
        return false;
    int64_t deadline = zclock_mono () + S_PUB_MS;
    while (zclock_mono () < deadline) {
        zr_busclient_event_t event;
        if (zr_busclient_recv (client, &event, 100) != 0)
            continue;
        bool mine = event.type == ZR_BUSCLIENT_RESULT && event.token == index;
        bool done = mine && event.outcome == ZR_KVCLIENT_DONE;
        zr_busclient_event_release (&event);    /* a delivery: dropped */
        if (mine)
            return done;
    }
    return false;
}

/* Opens client's subscription: at from, or (from 0) from the first
   index, after the cursor for consumer 3. */
static void
s_subscribe (s_role_t *self, zr_busclient_t *client, uint64_t from)
{
    zr_busclient_sub_t sub = {
        .from_mode = from ? ZR_BUSMSG_FROM_INDEX : ZR_BUSMSG_FROM_FIRST,
        .from = from, .prefix = s_prefix (self->id),
        .cursor = self->id == 3 && !from ? "c3" : NULL,
        .endpoint = self->run->endpoints [(self->id - 1) % S_NODES]};
    if (zr_busclient_subscribe (client, &sub))
        snprintf (self->error, sizeof self->error, "subscribe refused");
}

/* Consumer 3, half way: closes its subscription, commits its cursor at
   the last index it took and, once that is done, starts a new client
   from the cursor; if the commit did not complete, it goes on from the
   next index as a move would. Either is a resume at last + 1. */
static zr_busclient_t *
s_restart (s_role_t *self, zr_busclient_t *client)
{
    zr_busclient_unsubscribe (client);
    bool committed = s_commit_wait (client, self->last);
    if (committed) {
        zr_busclient_destroy (&client);
        client = s_client (self->run, S_PUB_MS);
        self->restarted = true;
    }
    if (client)
        s_subscribe (self, client, committed ? 0 : self->last + 1);
    totalorder_subscribe (self->run->history, self->id, self->last + 1,
                          s_prefix (self->id), TOTALORDER_RESUME);
    self->recorded = true;
    return client;
}

/* One event of a consumer's client. Returns the client (consumer 3's
   may be a new one). */
static zr_busclient_t *
s_consumer_event (s_role_t *self, zr_busclient_t *client,
                  const zr_busclient_event_t *event, uint32_t *subscribed)
{
    totalorder_t *h = self->run->history;
    if (event->type == ZR_BUSCLIENT_SUBSCRIBED && (*subscribed)++ == 0)
        totalorder_subscribe (h, self->id, 1, s_prefix (self->id),
                              TOTALORDER_FRESH);
    else
    if (event->type == ZR_BUSCLIENT_SUBSCRIBED && self->recorded)
        self->recorded = false;
    else
    if (event->type == ZR_BUSCLIENT_SUBSCRIBED) {
        self->moves++;
        totalorder_subscribe (h, self->id, self->last + 1, s_prefix (self->id),
                              TOTALORDER_RESUME);
    }
    else
    if (event->type == ZR_BUSCLIENT_DELIVERY) {
        char subject [ZR_BUSMSG_SUBJECT_MAX + 1], id [S_ID_MAX];
        const zr_busmsg_t *m = &event->msg;
        snprintf (subject, sizeof subject, "%.*s", (int) m->subject.size,
                  (const char *) m->subject.data);
        snprintf (id, sizeof id, "%.*s", (int) m->payload.size,
                  (const char *) m->payload.data);
        totalorder_deliver (h, self->id, m->index, m->term, subject, id);
        self->last = m->index > self->last ? m->index : self->last;
        self->received++;
        if (self->id == 3 && self->received % S_CURSOR_EVERY == 0)
            zr_busclient_commit (client, "c3", self->last, 0);
        if (self->id == 3 && !self->restarted
            && self->received % S_RESTART_AT == 0)
            return s_restart (self, client);
    }
    else
    if (event->type == ZR_BUSCLIENT_ENDED)
        snprintf (self->error, sizeof self->error, "subscription ended: %.200s",
                  event->error);
    return client;
}

/* The fence this consumer must reach: its subjects' last. */
static uint64_t
s_fence (s_role_t *self)
{
    return atomic_load (&self->run->fence [self->id == 2 ? 0 : 1]);
}

/* Reads until the fences are set and reached, or S_DRAIN_MS after they
   are set. */
static void *
s_consumer_run (void *arg)
{
    s_role_t *self = (s_role_t *) arg;
    zr_busclient_t *client = s_client (self->run, S_PUB_MS);
    if (client)
        s_subscribe (self, client, 0);
    uint32_t subscribed = 0;
    int64_t deadline = 0;
    while (client && !self->error [0]) {
        uint64_t fence = s_fence (self);
        if (fence && self->last >= fence)
            break;
        if (fence && !deadline)
            deadline = zclock_mono () + S_DRAIN_MS;
        if (deadline && zclock_mono () >= deadline) {
            snprintf (self->error, sizeof self->error, "at index %" PRIu64
                      " of %" PRIu64 " after %d ms", self->last, fence,
                      S_DRAIN_MS);
            break;
        }
        zr_busclient_event_t event;
        if (zr_busclient_recv (client, &event, 100) != 0)
            continue;
        client = s_consumer_event (self, client, &event, &subscribed);
        zr_busclient_event_release (&event);
    }
    if (!client)
        snprintf (self->error, sizeof self->error, "no client");
    if (!self->error [0])
        totalorder_covered (self->run->history, self->id, s_fence (self));
    zr_busclient_destroy (&client);
    return NULL;
}

/* ============================================================== phases */

static s_run_t *
s_run_start (void)
{
    s_run_t *run = (s_run_t *) calloc (1, sizeof *run);
    ck_assert_ptr_nonnull (run);
    run->history = totalorder_new ();
    for (uint32_t i = 0; i < S_NODES; i++)
        run->endpoints [i] = procs_bus_endpoint (s_procs, i + 1);
    for (uint32_t i = 0; i < S_CONSUMERS; i++) {
        s_role_t *c = &run->consumers [i];
        *c = (s_role_t) {.run = run, .id = i + 1};
        ck_assert_int_eq (pthread_create (&c->thread, NULL, s_consumer_run, c), 0);
    }
    for (uint32_t i = 0; i < S_PRODUCERS; i++) {
        s_role_t *p = &run->producers [i];
        *p = (s_role_t) {.run = run, .id = i + 1};
        ck_assert_int_eq (pthread_create (&p->thread, NULL, s_producer_run, p), 0);
    }
    return run;
}

/* Every producer gets S_PROGRESS_ACKS more acknowledgements within
   S_PROGRESS_MS. */
static void
s_run_progress (s_run_t *run)
{
    uint32_t from [S_PRODUCERS];
    for (uint32_t i = 0; i < S_PRODUCERS; i++)
        from [i] = atomic_load (&run->producers [i].acks);
    int64_t deadline = zclock_mono () + S_PROGRESS_MS;
    uint32_t i = 0;
    while (i < S_PRODUCERS && zclock_mono () < deadline) {
        if (atomic_load (&run->producers [i].acks) >= from [i] + S_PROGRESS_ACKS)
            i++;
        else
            nemesis_hold (PROCS_HEARTBEAT_MS);
    }
    s_require (i == S_PRODUCERS, "producer %u made no progress in %d ms"
               " (%u ok, %u failed, %u unknown; %s)", i + 1, S_PROGRESS_MS,
               i < S_PRODUCERS ? run->producers [i].counts [0] : 0,
               i < S_PRODUCERS ? run->producers [i].counts [1] : 0,
               i < S_PRODUCERS ? run->producers [i].counts [2] : 0,
               i < S_PRODUCERS ? run->producers [i].error : "");
}

/* Stops the producers; publishes a fence on each subject (acknowledged
   within S_PUB_MS, tries included); sets the consumers' goals. */
static void
s_run_fences (s_run_t *run)
{
    atomic_store (&run->stop, true);
    for (uint32_t i = 0; i < S_PRODUCERS; i++) {
        s_role_t *p = &run->producers [i];
        pthread_join (p->thread, NULL);
        s_require (!p->error [0], "producer %u: %s", p->id, p->error);
    }
    zr_busclient_t *client = s_client (run, S_PUB_MS);
    s_require (client != NULL, "no client for the fences");
    uint64_t at [2] = {0};
    const char *subjects [2] = {"order.a", "order.b"};
    for (int f = 0; f < 2; f++) {
        char id [S_ID_MAX];
        snprintf (id, sizeof id, "fence-%d", f);
        uint64_t n = totalorder_publish (run->history, 0,
                                         zr_busclient_producer (client),
                                         (uint64_t) f + 1, subjects [f], id);
        s_require (zr_busclient_publish (client, subjects [f], id, strlen (id),
                                         n) == 0, "fence refused");
        zr_busclient_event_t event = {0};
        while (zr_busclient_recv (client, &event, -1) == 0
               && event.type != ZR_BUSCLIENT_RESULT)
            zr_busclient_event_release (&event);
        bool done = event.type == ZR_BUSCLIENT_RESULT
                    && event.outcome == ZR_KVCLIENT_DONE;
        if (done)
            totalorder_ok (run->history, n, event.msg.index, event.msg.term,
                           event.msg.duplicate);
        at [f] = event.msg.index;
        zr_busclient_event_release (&event);
        s_require (done, "fence %d not acknowledged", f);
    }
    zr_busclient_destroy (&client);
    atomic_store (&run->fence [0], at [0]);
    atomic_store (&run->fence [1], at [0] > at [1] ? at [0] : at [1]);
}

/* Joins the consumers, then checks the history. */
static void
s_check (s_run_t *run)
{
    uint32_t moves = 0;
    for (uint32_t i = 0; i < S_CONSUMERS; i++) {
        s_role_t *c = &run->consumers [i];
        pthread_join (c->thread, NULL);
        s_require (!c->error [0], "consumer %u: %s", c->id, c->error);
        moves += c->moves;
    }
    uint32_t counts [3] = {0};
    for (uint32_t i = 0; i < S_PRODUCERS; i++)
        for (int k = 0; k < 3; k++)
            counts [k] += run->producers [i].counts [k];
    fprintf (stderr, "test_bus_order: %u acknowledged, %u failed, %u unknown;"
             " consumers moved %u times, the cursor's resumed from it: %s\n",
             counts [0], counts [1], counts [2], moves,
             run->consumers [2].restarted ? "yes" : "no");
    totalorder_stats_t stats;
    char *report = NULL;
    uint64_t bad = totalorder_check (run->history, TOTALORDER_COMPLETE, &stats,
                                     &report);
    fprintf (stderr, "%s", report);
    if (bad) {
        char path [] = "/tmp/zraft-bus-order-XXXXXX";
        int fd = mkstemp (path);
        if (fd >= 0)
            close (fd);
        s_require (false, "%" PRIu64 " violations (history in %s)", bad,
                   fd >= 0 && totalorder_dump (run->history, path) == 0
                       ? path : "nowhere: it could not be written");
    }
    free (report);
    s_require (stats.acked > 2 * S_PRODUCERS && stats.deliveries >= stats.acked
               && stats.consumers == S_CONSUMERS, "too little happened");
}

/* =============================================================== tests */

START_TEST (bus_total_order_under_kill_pause_partition)
{
    uint64_t seed = nemesis_seed ("tests/proc/test_bus_order",
                                  "bus_total_order_under_kill_pause_partition");
    nemesis_rng_t rng = {seed};
    int seconds = nemesis_seconds ("ZR_BUS_SECONDS", S_SECONDS_DEFAULT,
                                   S_SECONDS_MAX);
    char beat [16], timeout [16];
    snprintf (beat, sizeof beat, "%d", S_BUS_HEARTBEAT_MS);
    snprintf (timeout, sizeof timeout, "%d", S_BUS_TIMEOUT_MS);
    const char *extra [] = {PROCS_BUS, "--bus-heartbeat", beat, "--bus-timeout",
                            timeout, NULL};
    s_procs = procs_new (S_NODES, extra);
    s_require (procs_leader (s_procs, PROCS_LEADER_WAIT_MS), "no leader");
    s_run_t *run = s_run_start ();
    s_run_progress (run);
    uint32_t counts [NEMESIS_FAULTS] = {0};
    int64_t end = zclock_mono () + (int64_t) seconds * 1000;
    while (zclock_mono () < end)
        nemesis_fault (s_procs, S_NODES, &rng, counts, "test_bus_order");
    s_require (procs_leader (s_procs, PROCS_LEADER_WAIT_MS),
               "no leader after the faults");
    s_run_progress (run);
    fprintf (stderr, "test_bus_order: %d s of faults: %u kill -9, %u SIGSTOP,"
             " %u partitions\n", seconds, counts [NEMESIS_KILL],
             counts [NEMESIS_PAUSE], counts [NEMESIS_CUT]);
    s_run_fences (run);
    s_check (run);
    totalorder_destroy (&run->history);
    free (run);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("bus_order");
    TCase *tc = tcase_create ("bus_order");
    tcase_set_timeout (tc, nemesis_seconds ("ZR_BUS_SECONDS", S_SECONDS_DEFAULT,
                                            S_SECONDS_MAX) + S_MARGIN_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, bus_total_order_under_kill_pause_partition);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
