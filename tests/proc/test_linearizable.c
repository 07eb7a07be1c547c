/*  =========================================================================
    test_linearizable - concurrent clients of three zraft-node processes,
    under kills, pauses and partitions, see a linearizable key/value store

    Client threads run put, get (linearizable), cas and an occasional del
    over a few keys through the client library (bin/lib/client.h), one
    call at a time each, with values unique over the whole run; half of
    them give a call less than an election to complete. Each call
    goes into a history (tests/lib/linearize.h) with its invocation and
    completion and its outcome as the library classified it: ok (with
    what it returned), failed (certainly not applied) or unknown (it may
    have been: a timeout, a lost connection, a leader lost under it).

    Meanwhile the test's thread, the nemesis (tests/lib/nemesis.h),
    applies one fault at a time, each chosen by the seed: kill -9 a node
    and restart it on its data; SIGSTOP it and SIGCONT it; partition it
    from the others both ways (FAULT requests on every link into and out
    of it, as zraft-ctl partition does) and heal. The target is the
    leader half of the time.
    Each fault lasts between half an election timeout and three of the
    longest, then the cluster gets a quiet spell of up to the longest
    election timeout; the next fault waits for a leader.

    After the last fault every node runs, healed; the clients must make
    progress again, then stop; a final linearizable get of each key joins
    the history. The checker must find the history linearizable (Wing &
    Gong with Lowe's memoisation, unknown operations possibly applied);
    otherwise the test fails with its explanation and leaves the history
    as JSON lines in its own temporary directory (the path is printed),
    which tests/unit's linearize_load replays.

    The run lasts ZR_LIN_SECONDS seconds of faults (default 15; make soak
    may ask for more); ZR_SEED=N replays the test's own choices (the
    servers' timers and the scheduler still vary). Every wait is bounded
    by procs.h's PROCS_*_MS, derived from the cluster's heartbeat and
    election timeout; the faults' durations are the schedule, not waits
    for anything.
    =========================================================================
*/
#include <assert.h>
#include <check.h>
#include <czmq.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "../lib/check_run.h"
#include "../lib/linearize.h"
#include "../lib/nemesis.h"
#include "../lib/procs.h"
#include "../../bin/lib/client.h"

#define S_NODES 3                       /* servers */
#define S_CLIENTS 4                     /* client threads */
#define S_KEYS 4                        /* keys they share */
#define S_SECONDS_DEFAULT 15            /* of faults, without ZR_LIN_SECONDS */
#define S_SECONDS_MAX 3600              /* ZR_LIN_SECONDS at most */
#define S_OPS_MAX (1u << 18)            /* operations one client runs */
/* A call's deadline: odd clients' ride out most faults (an election on
   a loaded machine); even clients' give up within one election timeout,
   so that faults leave operations of unknown outcome in the history. */
#define S_CALL_MS (2 * PROCS_ELECTION_MAX_MS + PROCS_ELECTION_MS)
#define S_CALL_SHORT_MS PROCS_ELECTION_MS
/* Successful operations per client that prove the healed cluster serves. */
#define S_PROGRESS_OPS 5
#define S_PROGRESS_MS (S_CALL_MS + PROCS_LEADER_WAIT_MS)
/* Margin of the Check timeout over the faults' seconds: the last fault,
   recovery, the final reads and the check. */
#define S_MARGIN_S PROCS_TEST_TIMEOUT_S

_Static_assert (S_CALL_MS > PROCS_ELECTION_MAX_MS, "a call rides out one");

static procs_t *s_procs;                /* the test's cluster */

#define S_ASSERT(expr, ...)                                                  \
    do {                                                                     \
        if (!(expr)) {                                                       \
            if (s_procs)                                                     \
                procs_dump (s_procs);                                        \
            ck_abort_msg (__VA_ARGS__);                                      \
        }                                                                    \
    } while (0)

static void
s_teardown (void)
{
    procs_destroy (&s_procs);
}

/* Seconds of faults: ZR_LIN_SECONDS or the default. */
static int
s_seconds (void)
{
    return nemesis_seconds ("ZR_LIN_SECONDS", S_SECONDS_DEFAULT, S_SECONDS_MAX);
}

/* ========================================================== clients */

typedef struct _s_run_t s_run_t;

typedef struct {
    s_run_t *run;                       /* the run it belongs to */
    uint32_t id;                        /* 1..S_CLIENTS, the history's client */
    pthread_t thread;                   /* runs s_client_run */
    nemesis_rng_t rng;                  /* its choices */
    uint32_t n_values;                  /* values it wrote so far */
    char seen [S_KEYS][32];             /* the last value it saw per key,
                                           "" if none */
    atomic_uint oks;                    /* operations that completed ok */
    uint32_t counts [4];                /* by lin_outcome_t */
    uint32_t cas_ok, cas_swapped;       /* ok cas, and of those swapped */
    char error [256];                   /* what went wrong, "" if nothing */
} s_client_t;

struct _s_run_t {
    char endpoints [S_NODES][ZR_CLIENT_ENDPOINT_MAX + 1];   /* by id - 1 */
    linearize_t *history;               /* every client's operations */
    atomic_bool stop;                   /* the clients stop */
    s_client_t clients [S_CLIENTS];     /* the threads */
};

/* Key k's name. */
static void
s_key (uint32_t k, char *key, size_t size)
{
    snprintf (key, size, "k%u", k);
}

/* Records what result says about operation id (of type) in the history,
   and what the client saw of key k. Returns true if it completed ok. */
static bool
s_client_record (s_client_t *self, uint64_t id, zr_client_type_t type,
                 uint32_t k, const char *written,
                 const zr_kvclient_result_t *result)
{
    linearize_t *history = self->run->history;
    if (result->outcome == ZR_KVCLIENT_FAILED) {
        linearize_failed (history, id);
        self->counts [LIN_FAILED]++;
        return false;
    }
    if (result->outcome != ZR_KVCLIENT_DONE) {
        linearize_unknown (history, id);
        self->counts [LIN_UNKNOWN]++;
        return false;
    }
    self->counts [LIN_OK]++;
    const zr_client_reply_t *reply = &result->reply;
    if (type == ZR_CLIENT_GET) {
        char value [32] = "";
        snprintf (value, sizeof value, "%.*s", (int) reply->value.size,
                  reply->value.data ? (const char *) reply->value.data : "");
        linearize_ok_get (history, id, reply->found ? value : NULL);
        snprintf (self->seen [k], sizeof self->seen [k], "%s", value);
    }
    else
    if (type == ZR_CLIENT_CAS) {
        linearize_ok_cas (history, id, reply->swapped);
        self->cas_ok++;
        self->cas_swapped += reply->swapped;
        if (reply->swapped)
            snprintf (self->seen [k], sizeof self->seen [k], "%s", written);
    }
    else {
        linearize_ok (history, id);
        snprintf (self->seen [k], sizeof self->seen [k], "%s",
                  type == ZR_CLIENT_PUT ? written : "");
    }
    return true;
}

/* One operation, chosen by the client's seed: 40% get, 30% put, 25% cas
   (expecting the value it saw last, or one it wrote), 5% del. */
static void
s_client_op (s_client_t *self, zr_kvclient_t *client)
{
    uint32_t k = (uint32_t) nemesis_between (&self->rng, 0, S_KEYS - 1);
    int64_t dice = nemesis_between (&self->rng, 0, 99);
    char key [16], value [32], old [32];
    s_key (k, key, sizeof key);
    snprintf (value, sizeof value, "c%u-%u", self->id, ++self->n_values);
    snprintf (old, sizeof old, "%s", self->seen [k]);
    if (!old [0] || nemesis_between (&self->rng, 0, 3) == 0)
        snprintf (old, sizeof old, "c%u-%u", self->id,
                  (uint32_t) nemesis_between (&self->rng, 1, self->n_values));
    zr_client_type_t type = dice < 40 ? ZR_CLIENT_GET
                          : dice < 70 ? ZR_CLIENT_PUT
                          : dice < 95 ? ZR_CLIENT_CAS : ZR_CLIENT_DEL;
    linearize_t *history = self->run->history;
    zr_client_request_t request = procs_req (type, key,
                                             type == ZR_CLIENT_PUT
                                             || type == ZR_CLIENT_CAS ? value
                                                                      : NULL);
    uint64_t id;
    if (type == ZR_CLIENT_GET)
        id = linearize_get (history, self->id, key);
    else
    if (type == ZR_CLIENT_PUT)
        id = linearize_put (history, self->id, key, value);
    else
    if (type == ZR_CLIENT_DEL)
        id = linearize_del (history, self->id, key);
    else {
        id = linearize_cas (history, self->id, key, old, value);
        request.old = (zr_client_bytes_t) {(const uint8_t *) old, strlen (old)};
    }
    zr_kvclient_result_t result;
    if (zr_kvclient_call (client, &request, &result) != 0) {
        snprintf (self->error, sizeof self->error, "%s refused",
                  zr_client_type_name (type));
        return;
    }
    if (s_client_record (self, id, type, k, value, &result))
        atomic_fetch_add (&self->oks, 1);
    zr_kvclient_result_release (&result);
}

/* A client thread: operations back to back until told to stop. Never
   fails the test itself (Check's assertions belong to the test's
   thread): it records what went wrong. */
static void *
s_client_run (void *arg)
{
    s_client_t *self = (s_client_t *) arg;
    const char *endpoints [S_NODES];
    for (uint32_t i = 0; i < S_NODES; i++)
        endpoints [i] = self->run->endpoints [i];
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = self->id % 2 ? S_CALL_MS : S_CALL_SHORT_MS;
    zr_kvclient_t *client = zr_kvclient_new (endpoints, S_NODES, &config);
    if (!client)
        snprintf (self->error, sizeof self->error, "no client");
    for (uint32_t n = 0; client && !self->error [0] && n < S_OPS_MAX
                         && !atomic_load (&self->run->stop); n++)
        s_client_op (self, client);
    zr_kvclient_destroy (&client);
    return NULL;
}

/* Starts the clients, each seeded from seed. */
static s_run_t *
s_run_start (uint64_t seed)
{
    s_run_t *run = (s_run_t *) calloc (1, sizeof *run);
    ck_assert_ptr_nonnull (run);
    for (uint32_t id = 1; id <= S_NODES; id++)
        snprintf (run->endpoints [id - 1], sizeof run->endpoints [id - 1],
                  "%s", procs_client_endpoint (s_procs, id));
    run->history = linearize_new ();
    atomic_init (&run->stop, false);
    for (uint32_t i = 0; i < S_CLIENTS; i++) {
        s_client_t *client = &run->clients [i];
        client->run = run;
        client->id = i + 1;
        client->rng.state = seed ^ (0xC1u + i) * 0x9E3779B97F4A7C15ull;
        atomic_init (&client->oks, 0);
        ck_assert_int_eq (pthread_create (&client->thread, NULL, s_client_run,
                                          client), 0);
    }
    return run;
}

/* Waits until every client completed S_PROGRESS_OPS more operations ok
   (polled every heartbeat: the clients run on, nothing to wake on). */
static void
s_run_progress (s_run_t *run)
{
    unsigned base [S_CLIENTS];
    for (uint32_t i = 0; i < S_CLIENTS; i++)
        base [i] = atomic_load (&run->clients [i].oks);
    int64_t deadline = zclock_mono () + S_PROGRESS_MS;
    uint32_t i = 0;
    while (i < S_CLIENTS && zclock_mono () < deadline) {
        if (atomic_load (&run->clients [i].oks) >= base [i] + S_PROGRESS_OPS)
            i++;
        else
            poll (NULL, 0, PROCS_HEARTBEAT_MS);
    }
    S_ASSERT (i == S_CLIENTS, "client %u made no progress in %d ms after"
              " the faults ended", i + 1, S_PROGRESS_MS);
}

/* Stops and joins the clients; checks they saw nothing wrong and
   prints what their operations did. */
static void
s_run_stop (s_run_t *run)
{
    atomic_store (&run->stop, true);
    uint32_t counts [4] = {0}, cas_ok = 0, cas_swapped = 0;
    for (uint32_t i = 0; i < S_CLIENTS; i++) {
        s_client_t *client = &run->clients [i];
        pthread_join (client->thread, NULL);
        S_ASSERT (client->error [0] == 0, "client %u: %s", i + 1,
                  client->error);
        for (int outcome = 0; outcome < 4; outcome++)
            counts [outcome] += client->counts [outcome];
        cas_ok += client->cas_ok;
        cas_swapped += client->cas_swapped;
    }
    fprintf (stderr, "test_linearizable: %u ok (%u of %u cas swapped), %u"
             " failed, %u unknown\n", counts [LIN_OK], cas_swapped, cas_ok,
             counts [LIN_FAILED], counts [LIN_UNKNOWN]);
}

/* ========================================================== checking */

/* A final linearizable get of every key, by client S_CLIENTS + 1. */
static void
s_final_reads (s_run_t *run)
{
    const char *endpoints [S_NODES];
    for (uint32_t i = 0; i < S_NODES; i++)
        endpoints [i] = run->endpoints [i];
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = S_PROGRESS_MS;
    zr_kvclient_t *client = zr_kvclient_new (endpoints, S_NODES, &config);
    ck_assert_ptr_nonnull (client);
    for (uint32_t k = 0; k < S_KEYS; k++) {
        char key [16];
        s_key (k, key, sizeof key);
        uint64_t id = linearize_get (run->history, S_CLIENTS + 1, key);
        zr_client_request_t request = procs_req (ZR_CLIENT_GET, key, NULL);
        zr_kvclient_result_t result;
        ck_assert_int_eq (zr_kvclient_call (client, &request, &result), 0);
        S_ASSERT (result.outcome == ZR_KVCLIENT_DONE, "final GET %s: %s (%s)",
                  key, zr_kvclient_outcome_name (result.outcome), result.error);
        char value [32];
        snprintf (value, sizeof value, "%.*s", (int) result.reply.value.size,
                  result.reply.value.data
                      ? (const char *) result.reply.value.data : "");
        linearize_ok_get (run->history, id, result.reply.found ? value : NULL);
        zr_kvclient_result_release (&result);
    }
    zr_kvclient_destroy (&client);
}

/* Checks the history; on a violation (or a search over budget) dumps it
   into a directory of its own, kept, and fails with the explanation. */
static void
s_check (s_run_t *run)
{
    char *report = NULL;
    int64_t started = zclock_mono ();
    lin_verdict_t verdict = linearize_check (run->history, &report);
    fprintf (stderr, "test_linearizable: %zu operations, %s (%" PRIu64
             " states, %" PRId64 " ms)\n", linearize_size (run->history),
             linearize_verdict_str (verdict), linearize_states (run->history),
             zclock_mono () - started);
    if (verdict != LIN_LINEARIZABLE) {
        char dir [] = "/tmp/zraft-lin-XXXXXX", path [64];
        ck_assert_ptr_nonnull (mkdtemp (dir));
        snprintf (path, sizeof path, "%s/history.jsonl", dir);
        int rc = linearize_dump (run->history, path);
        fprintf (stderr, "%s\nhistory: %s%s\n", report, path,
                 rc ? " (could not be written)" : "");
        S_ASSERT (false, "%s: %s (history in %s)",
                  linearize_verdict_str (verdict), report, path);
    }
    free (report);
}

/* ============================================================= tests */

START_TEST (linearizable_under_kill_pause_partition)
{
    /* Linearizability (Herlihy & Wing) of put, get, cas and del, per key,
       with Raft's guarantees end to end: Leader Completeness (§5.4),
       ReadIndex reads (thesis §6.4) and sessions (thesis §6.3). */
    uint64_t seed = nemesis_seed ("tests/proc/test_linearizable",
                                  "linearizable_under_kill_pause_partition");
    nemesis_rng_t rng = {seed};
    int seconds = s_seconds ();
    s_procs = procs_new (S_NODES, NULL);
    S_ASSERT (procs_leader (s_procs, PROCS_LEADER_WAIT_MS), "no leader");
    s_run_t *run = s_run_start (seed);
    s_run_progress (run);
    uint32_t counts [3] = {0};
    int64_t end = zclock_mono () + (int64_t) seconds * 1000;
    while (zclock_mono () < end)
        nemesis_fault (s_procs, S_NODES, &rng, counts, "test_linearizable");
    S_ASSERT (procs_leader (s_procs, PROCS_LEADER_WAIT_MS),
              "no leader after the faults");
    s_run_progress (run);
    s_run_stop (run);
    s_final_reads (run);
    fprintf (stderr, "test_linearizable: %d s of faults: %u kill -9, %u"
             " SIGSTOP, %u partitions\n", seconds, counts [NEMESIS_KILL],
             counts [NEMESIS_PAUSE], counts [NEMESIS_CUT]);
    s_check (run);
    linearize_destroy (&run->history);
    free (run);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("linearizable");
    TCase *tc = tcase_create ("linearizable");
    tcase_set_timeout (tc, s_seconds () + S_MARGIN_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, linearizable_under_kill_pause_partition);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
