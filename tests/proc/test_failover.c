/*  =========================================================================
    test_failover - kill -9 the leader of three zraft-node processes
    under client load; nothing acknowledged is lost, nothing retried is
    applied twice

    Real zraft-node processes on 127.0.0.1 (tests/lib/procs.h), reached
    only as users reach them: through the client library (bin/lib/
    client.h), which finds the leader, retries a write with the same
    client_id and seq, and says whether a call took effect (DONE), did
    not (FAILED) or may have (UNKNOWN).

    1. Fail-over under load: writer threads put distinct keys, one call
       at a time each, while the leader is killed with SIGKILL and later
       restarted on its data. Afterwards a linearizable get of every key
       finds what an acknowledged put wrote, never what a failed put
       would have, and an unknown put's value or nothing; the restarted
       node, once caught up, serves the same through stale reads. The
       time from the kill to the first write the new leader acknowledged
       is printed (measured, not asserted: the machine is shared).
    2. A retry after the leader died does not apply twice (Raft thesis
       §6.3): a put acknowledged by a leader that is then killed, retried
       with the same client_id and seq as if its reply had been lost,
       after another client overwrote the key, answers with the index of
       the first application and leaves the overwrite in place; again
       through the restarted node, which rebuilt its sessions from its
       snapshot and log.
    3. A compare-and-swap in flight when the leader is killed: a single
       writer's chain ctr = r - 1 -> r. Whether the dead leader applied
       it or not, the client library's retry (same seq) must report
       swapped and leave ctr = r; a second application would answer not
       swapped (the value is r already).

    Every wait is bounded by procs.h's PROCS_*_MS, derived from the
    cluster's heartbeat and election timeout; nothing waits on a bare
    sleep. On a failure the nodes' logs are printed.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "../lib/check_run.h"
#include "../lib/procs.h"
#include "../../bin/lib/client.h"
#include "../../raft/raft.h"

#define S_NODES 3                       /* servers per test */
#define S_WRITERS 4                     /* writer threads of the load */
#define S_WRITES_MAX (1u << 16)         /* writes one writer records */
/* Acknowledged writes per writer that make the load "steady", and that
   prove the cluster serves again after the kill and after the restart. */
#define S_ACKS_STEP 20
/* A write's deadline: it rides out a fail-over on a loaded machine. */
#define S_CALL_MS (PROCS_LEADER_WAIT_MS + PROCS_REPLY_MS)
/* A wait for S_ACKS_STEP more acknowledgements, a fail-over included. */
#define S_PROGRESS_MS (S_CALL_MS + PROCS_REPLY_MS)
/* Reads in flight while checking. */
#define S_CHECK_WINDOW 128
/* Writes before the kill in the retry test: the snapshot taken every
   S_SNAPSHOT_ENTRIES entries holds the retried write's session. */
#define S_SNAPSHOT_ENTRIES 16
#define S_FILL (3 * S_SNAPSHOT_ENTRIES)
/* Rounds of the CAS chain, each with a kill. */
#define S_CAS_ROUNDS 4
_Static_assert (S_CAS_ROUNDS >= 2, "delays spread over the rounds");

_Static_assert (S_WRITERS * S_WRITES_MAX < (1ull << 32), "tokens");
_Static_assert (S_CHECK_WINDOW <= ZR_KVCLIENT_WINDOW_MAX, "window");

static procs_t *s_procs;                /* the test's cluster */

/* Fails the test after printing the nodes' logs. */
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

/* ============================================================ helpers */

/* Sends request to node id; fails the test if no reply comes. */
static zr_client_reply_t
s_ask (uint32_t id, zr_client_request_t request)
{
    zr_client_reply_t reply;
    int rc = procs_request (s_procs, id, &request, &reply, PROCS_REPLY_MS);
    S_ASSERT (rc == 0, "n%u: no reply to %s within %d ms", id,
              zr_client_type_name (request.type), PROCS_REPLY_MS);
    S_ASSERT (reply.type == request.type, "reply type %d", reply.type);
    return reply;
}

/* The leader, waiting for one; fails the test if none is elected. */
static uint32_t
s_leader (void)
{
    uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader within %d ms", PROCS_LEADER_WAIT_MS);
    return leader;
}

/* Waits until node id applied everything the leader had committed when
   this was called (STATUS asked every heartbeat). */
static void
s_wait_caught_up (uint32_t id)
{
    zr_client_reply_t st = s_ask (s_leader (), procs_req (ZR_CLIENT_STATUS,
                                                          NULL, NULL));
    uint64_t commit = st.commit;
    int64_t deadline = zclock_mono () + PROCS_LEADER_WAIT_MS + PROCS_REPLY_MS;
    uint64_t applied = 0;
    while (zclock_mono () < deadline) {
        zr_client_request_t request = procs_req (ZR_CLIENT_STATUS, NULL, NULL);
        zr_client_reply_t reply;
        if (procs_request (s_procs, id, &request, &reply, PROCS_REPLY_MS) == 0
            && reply.code == ZR_CLIENT_OK)
            applied = reply.applied;
        if (applied >= commit)
            return;
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
    }
    S_ASSERT (false, "n%u applied %" PRIu64 ", not the %" PRIu64 " committed",
              id, applied, commit);
}

/* Waits until node id took a snapshot past index (STATUS asked every
   heartbeat: snapshots are taken in the background). */
static void
s_wait_snapshot (uint32_t id, uint64_t index)
{
    int64_t deadline = zclock_mono () + PROCS_REPLY_MS;
    zr_client_reply_t st = s_ask (id, procs_req (ZR_CLIENT_STATUS, NULL, NULL));
    while (st.snapshot_index <= index && zclock_mono () < deadline) {
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
        st = s_ask (id, procs_req (ZR_CLIENT_STATUS, NULL, NULL));
    }
    S_ASSERT (st.snapshot_index > index, "n%u: snapshot at %" PRIu64 ", not"
              " past %" PRIu64 " after %d ms", id, st.snapshot_index, index,
              PROCS_REPLY_MS);
}

/* Makes node id the leader (TRANSFER from the current one if need be). */
static void
s_make_leader (uint32_t id)
{
    uint32_t leader = s_leader ();
    if (leader == id)
        return;
    zr_client_request_t transfer = {.type = ZR_CLIENT_TRANSFER, .to = id};
    zr_client_reply_t reply = s_ask (leader, transfer);
    S_ASSERT (reply.code == ZR_CLIENT_OK, "TRANSFER to n%u: %s", id,
              zr_client_code_name (reply.code));
    int64_t deadline = zclock_mono () + PROCS_LEADER_WAIT_MS;
    while ((leader = s_leader ()) != id && zclock_mono () < deadline)
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
    S_ASSERT (leader == id, "n%u did not take over from n%u", id, leader);
}

/* A client of every node, with a deadline per call of timeout_ms. */
static zr_kvclient_t *
s_client (int timeout_ms, uint32_t window)
{
    const char *endpoints [S_NODES];
    for (uint32_t id = 1; id <= S_NODES; id++)
        endpoints [id - 1] = procs_client_endpoint (s_procs, id);
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = timeout_ms;
    config.window = window;
    zr_kvclient_t *client = zr_kvclient_new (endpoints, S_NODES, &config);
    ck_assert_ptr_nonnull (client);
    return client;
}

/* One call through client; fails the test unless it took effect. */
static zr_kvclient_result_t
s_call (zr_kvclient_t *client, zr_client_request_t request)
{
    zr_kvclient_result_t result;
    int rc = zr_kvclient_call (client, &request, &result);
    S_ASSERT (rc == 0, "call: %d", rc);
    S_ASSERT (result.outcome == ZR_KVCLIENT_DONE
              && result.code == ZR_CLIENT_OK, "%s: %s, %s (%s)",
              zr_client_type_name (request.type),
              zr_kvclient_outcome_name (result.outcome),
              zr_client_code_name (result.code), result.error);
    return result;
}

/* True if a GET reply holds value (NULL: not found). */
static bool
s_holds (const zr_client_reply_t *reply, const char *value)
{
    if (!value)
        return !reply->found;
    return reply->found && reply->value.size == strlen (value)
           && memcmp (reply->value.data, value, reply->value.size) == 0;
}

/* The value of key, read through client (linearizable): fails the test
   unless it is value (NULL: not found). */
static void
s_expect (zr_kvclient_t *client, const char *key, const char *value)
{
    zr_kvclient_result_t result = s_call (client, procs_req (ZR_CLIENT_GET,
                                                             key, NULL));
    S_ASSERT (s_holds (&result.reply, value), "%s = '%.*s' (found %d),"
              " expected %s", key, (int) result.reply.value.size,
              (const char *) result.reply.value.data, result.reply.found,
              value ? value : "not found");
    zr_kvclient_result_release (&result);
}

/* A write of client_id's session, with seq. */
static zr_client_request_t
s_write (zr_client_type_t type, uint64_t client_id, uint64_t seq,
         const char *key, const char *value)
{
    zr_client_request_t request = procs_req (type, key, value);
    request.client_id = client_id;
    request.seq = seq;
    return request;
}

/* ========================================================= the load */

/* One write of the load, as its writer learnt it. */
typedef struct {
    uint8_t outcome;                    /* zr_kvclient_outcome_t */
    uint8_t replier;                    /* the node whose reply settled it */
    int64_t done_us;                    /* when the call ended (zclock_usecs) */
} s_write_t;

typedef struct _s_load_t s_load_t;

typedef struct {
    s_load_t *load;                     /* the load it belongs to */
    uint32_t id;                        /* 0..S_WRITERS-1 */
    pthread_t thread;                   /* runs s_writer_run */
    s_write_t *writes;                  /* [S_WRITES_MAX], by number */
    uint32_t n_writes;                  /* writes ended (under lock) */
    uint32_t acks;                      /* of those, DONE (under lock) */
    char error [256];                   /* what went wrong, "" if nothing */
} s_writer_t;

struct _s_load_t {
    char endpoints [S_NODES][ZR_CLIENT_ENDPOINT_MAX + 1];   /* by id - 1 */
    pthread_mutex_t lock;               /* guards stop, n_writes, acks */
    pthread_cond_t progress;            /* a write ended, on CLOCK_MONOTONIC */
    bool stop;                          /* the writers stop (under lock) */
    s_writer_t writers [S_WRITERS];     /* the threads */
};

/* Key and value of writer's write number i. */
static void
s_kv (uint32_t writer, uint32_t i, char *key, char *value, size_t size)
{
    snprintf (key, size, "f%u-%u", writer, i);
    snprintf (value, size, "v%u-%u", writer, i);
}

/* The node id whose client endpoint is endpoint, 0 if none. */
static uint8_t
s_node_of (s_load_t *load, const char *endpoint)
{
    for (uint8_t id = 1; id <= S_NODES; id++)
        if (streq (load->endpoints [id - 1], endpoint))
            return id;
    return 0;
}

/* A writer thread: puts f<id>-<i> = v<id>-<i>, i = 0, 1, ..., one call
   at a time, until told to stop. Never fails the test itself (Check's
   assertions belong to the test's thread): it records what it saw. */
static void *
s_writer_run (void *arg)
{
    s_writer_t *self = (s_writer_t *) arg;
    s_load_t *load = self->load;
    const char *endpoints [S_NODES];
    for (uint32_t i = 0; i < S_NODES; i++)
        endpoints [i] = load->endpoints [i];
    zr_kvclient_config_t config;
    zr_kvclient_config_defaults (&config);
    config.timeout_ms = S_CALL_MS;
    zr_kvclient_t *client = zr_kvclient_new (endpoints, S_NODES, &config);
    bool stop = client == NULL;
    if (!client)
        snprintf (self->error, sizeof self->error, "no client");
    for (uint32_t i = 0; !stop && i < S_WRITES_MAX; i++) {
        char key [32], value [32];
        s_kv (self->id, i, key, value, sizeof key);
        zr_client_request_t request = procs_req (ZR_CLIENT_PUT, key, value);
        zr_kvclient_result_t result;
        if (zr_kvclient_call (client, &request, &result) != 0) {
            snprintf (self->error, sizeof self->error, "call %u refused", i);
            break;
        }
        s_write_t *write = &self->writes [i];
        write->outcome = (uint8_t) result.outcome;
        write->replier = result.code >= 0 ? s_node_of (load, result.endpoint)
                                          : 0;
        write->done_us = zclock_usecs ();
        zr_kvclient_result_release (&result);
        pthread_mutex_lock (&load->lock);
        self->n_writes = i + 1;
        self->acks += write->outcome == ZR_KVCLIENT_DONE;
        stop = load->stop;
        pthread_cond_broadcast (&load->progress);
        pthread_mutex_unlock (&load->lock);
    }
    zr_kvclient_destroy (&client);
    return NULL;
}

/* Starts the writers against the test's cluster. Caller owns the result
   and must stop it (s_load_stop). */
static s_load_t *
s_load_start (void)
{
    s_load_t *load = (s_load_t *) calloc (1, sizeof *load);
    ck_assert_ptr_nonnull (load);
    for (uint32_t id = 1; id <= S_NODES; id++)
        snprintf (load->endpoints [id - 1], sizeof load->endpoints [id - 1],
                  "%s", procs_client_endpoint (s_procs, id));
    pthread_mutex_init (&load->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&load->progress, &attr);
    pthread_condattr_destroy (&attr);
    for (uint32_t w = 0; w < S_WRITERS; w++) {
        s_writer_t *writer = &load->writers [w];
        writer->load = load;
        writer->id = w;
        writer->writes = (s_write_t *) calloc (S_WRITES_MAX, sizeof (s_write_t));
        ck_assert_ptr_nonnull (writer->writes);
        ck_assert_int_eq (pthread_create (&writer->thread, NULL, s_writer_run,
                                          writer), 0);
    }
    return load;
}

/* Tells the writers to stop, joins them, and checks they saw nothing
   wrong. The load's records stay readable. */
static void
s_load_stop (s_load_t *load)
{
    pthread_mutex_lock (&load->lock);
    load->stop = true;
    pthread_mutex_unlock (&load->lock);
    for (uint32_t w = 0; w < S_WRITERS; w++) {
        pthread_join (load->writers [w].thread, NULL);
        S_ASSERT (load->writers [w].error [0] == 0, "writer %u: %s", w,
                  load->writers [w].error);
    }
}

static void
s_load_destroy (s_load_t **load_p)
{
    s_load_t *load = *load_p;
    for (uint32_t w = 0; w < S_WRITERS; w++)
        free (load->writers [w].writes);
    pthread_cond_destroy (&load->progress);
    pthread_mutex_destroy (&load->lock);
    free (load);
    *load_p = NULL;
}

/* Every writer's acknowledged writes, now (counts into acks). */
static void
s_load_acks (s_load_t *load, uint32_t *acks)
{
    pthread_mutex_lock (&load->lock);
    for (uint32_t w = 0; w < S_WRITERS; w++)
        acks [w] = load->writers [w].acks;
    pthread_mutex_unlock (&load->lock);
}

/* Waits until every writer has more acknowledged writes than base by
   at least step: the cluster serves every client. */
static void
s_load_wait (s_load_t *load, const uint32_t *base, uint32_t step,
             const char *when)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += S_PROGRESS_MS / 1000;
    pthread_mutex_lock (&load->lock);
    uint32_t w = 0;
    int rc = 0;
    while (w < S_WRITERS && rc == 0) {
        if (load->writers [w].acks >= base [w] + step)
            w++;
        else
            rc = pthread_cond_timedwait (&load->progress, &load->lock,
                                         &deadline);
    }
    uint32_t acks = w < S_WRITERS ? load->writers [w].acks : 0;
    pthread_mutex_unlock (&load->lock);
    S_ASSERT (w == S_WRITERS, "%s: writer %u has %u acknowledged writes,"
              " not %u, after %d ms", when, w, acks, base [w] + step,
              S_PROGRESS_MS);
}

/* =================================================== checking reads */

/* What a read of a load's key must show, by the write's outcome. */
static bool
s_read_agrees (const s_write_t *write, const zr_client_reply_t *reply,
               const char *value)
{
    switch (write->outcome) {
    case ZR_KVCLIENT_DONE: return s_holds (reply, value);
    case ZR_KVCLIENT_FAILED: return s_holds (reply, NULL);
    default: return s_holds (reply, NULL) || s_holds (reply, value);
    }
}

/* Checks one read's result against the write it reads (token). */
static void
s_check_read (s_load_t *load, const zr_kvclient_result_t *result,
              const char *where)
{
    uint32_t w = (uint32_t) (result->token >> 32), i = (uint32_t) result->token;
    S_ASSERT (w < S_WRITERS && i < load->writers [w].n_writes, "token");
    char key [32], value [32];
    s_kv (w, i, key, value, sizeof key);
    S_ASSERT (result->outcome == ZR_KVCLIENT_DONE
              && result->code == ZR_CLIENT_OK, "%s: GET %s: %s, %s (%s)",
              where, key, zr_kvclient_outcome_name (result->outcome),
              zr_client_code_name (result->code), result->error);
    const s_write_t *write = &load->writers [w].writes [i];
    S_ASSERT (s_read_agrees (write, &result->reply, value),
              "%s: %s = '%.*s' (found %d) after a put of %s whose outcome"
              " was %s", where, key, (int) result->reply.value.size,
              (const char *) result->reply.value.data, result->reply.found,
              value, zr_kvclient_outcome_name (
                         (zr_kvclient_outcome_t) write->outcome));
}

/* Reads every key the load wrote, S_CHECK_WINDOW at a time: through the
   leader (linearizable) if at is 0, else on node at (stale, pinned), and
   checks each against its write's outcome. */
static void
s_check_reads (s_load_t *load, uint32_t at)
{
    zr_kvclient_t *client = s_client (PROCS_REPLY_MS, S_CHECK_WINDOW);
    char where [32];
    snprintf (where, sizeof where, at ? "stale read on n%u" : "read", at);
    const char *endpoint = at ? procs_client_endpoint (s_procs, at) : NULL;
    for (uint32_t w = 0; w < S_WRITERS; w++)
        for (uint32_t i = 0; i < load->writers [w].n_writes; i++) {
            char key [32], value [32];
            s_kv (w, i, key, value, sizeof key);
            zr_client_request_t request = procs_req (ZR_CLIENT_GET, key, NULL);
            request.stale = at != 0;
            uint64_t token = (uint64_t) w << 32 | i;
            while (zr_kvclient_send_at (client, endpoint, &request, 0, token)
                   == ZR_EBUSY) {
                zr_kvclient_result_t result;
                ck_assert_int_eq (zr_kvclient_recv (client, &result, -1), 0);
                s_check_read (load, &result, where);
                zr_kvclient_result_release (&result);
            }
        }
    while (zr_kvclient_pending (client) > 0) {
        zr_kvclient_result_t result;
        ck_assert_int_eq (zr_kvclient_recv (client, &result, -1), 0);
        s_check_read (load, &result, where);
        zr_kvclient_result_release (&result);
    }
    zr_kvclient_destroy (&client);
}

/* Prints the fail-over time: from killed_us to the first write that a
   node other than old acknowledged, and the load's outcomes. */
static void
s_report (s_load_t *load, uint32_t old, int64_t killed_us)
{
    int64_t first_us = INT64_MAX;
    uint32_t by = 0, counts [3] = {0};
    for (uint32_t w = 0; w < S_WRITERS; w++)
        for (uint32_t i = 0; i < load->writers [w].n_writes; i++) {
            const s_write_t *write = &load->writers [w].writes [i];
            counts [write->outcome]++;
            if (write->outcome == ZR_KVCLIENT_DONE && write->replier != old
                && write->done_us > killed_us && write->done_us < first_us) {
                first_us = write->done_us;
                by = write->replier;
            }
        }
    S_ASSERT (by, "no write acknowledged after the kill");
    fprintf (stderr, "test_failover: leader n%u killed; n%u acknowledged the"
             " first write %.1f ms later (%u writes: %u done, %u failed,"
             " %u unknown)\n", old, by, (double) (first_us - killed_us) / 1000,
             counts [0] + counts [1] + counts [2], counts [ZR_KVCLIENT_DONE],
             counts [ZR_KVCLIENT_FAILED], counts [ZR_KVCLIENT_UNKNOWN]);
}

/* ============================================================= tests */

START_TEST (failover_kill9_leader_under_load_loses_nothing)
{
    /* Raft §5.4 (Leader Completeness) at the client: what the cluster
       acknowledged survives the leader's crash and its restart. */
    s_procs = procs_new (S_NODES, NULL);
    uint32_t old = s_leader ();
    s_load_t *load = s_load_start ();
    uint32_t base [S_WRITERS] = {0};
    s_load_wait (load, base, S_ACKS_STEP, "before the kill");
    s_load_acks (load, base);
    int64_t killed_us = zclock_usecs ();
    procs_kill (s_procs, old);
    s_load_wait (load, base, S_ACKS_STEP, "after the kill");
    uint32_t fresh = s_leader ();
    S_ASSERT (fresh != old, "n%u leads again while dead", old);
    procs_start (s_procs, old);
    s_wait_caught_up (old);
    s_load_acks (load, base);
    s_load_wait (load, base, S_ACKS_STEP, "after the restart");
    s_load_stop (load);
    s_report (load, old, killed_us);
    s_check_reads (load, 0);
    s_wait_caught_up (old);
    s_check_reads (load, old);
    s_load_destroy (&load);
}
END_TEST

START_TEST (failover_retry_after_kill9_applies_once)
{
    /* Thesis §6.3: a command retried with its client_id and seq after
       the leader that applied it died is answered from the session (the
       first application's index) and not applied again: another
       client's later write to the key stays. */
    char snapshot [16];
    snprintf (snapshot, sizeof snapshot, "%d", S_SNAPSHOT_ENTRIES);
    const char *extra [] = {"--snapshot-entries", snapshot, NULL};
    s_procs = procs_new (S_NODES, extra);
    uint32_t old = s_leader ();
    uint64_t session = ((uint64_t) getpid () << 32 ^ (uint64_t) zclock_usecs ())
                       | 1;
    zr_client_request_t first = s_write (ZR_CLIENT_PUT, session, 1, "dup",
                                         "first");
    zr_client_reply_t reply = s_ask (old, first);
    S_ASSERT (reply.code == ZR_CLIENT_OK && reply.index > 0, "PUT: %s",
              zr_client_code_name (reply.code));
    uint64_t index = reply.index;
    zr_kvclient_t *client = s_client (S_CALL_MS, 1);
    for (int i = 0; i < S_FILL; i++) {
        zr_kvclient_result_t result = s_call (client, procs_req (
            ZR_CLIENT_PUT, "fill", "x"));
        zr_kvclient_result_release (&result);
    }
    /* The session is in the old leader's snapshot: its restart restores
       it from there, not only from the log. */
    s_wait_snapshot (old, index);
    procs_kill (s_procs, old);
    zr_client_request_t cas = procs_req (ZR_CLIENT_CAS, "dup", "second");
    cas.old = (zr_client_bytes_t) {(const uint8_t *) "first", 5};
    zr_kvclient_result_t result = s_call (client, cas);
    S_ASSERT (result.reply.swapped, "CAS first -> second did not swap");
    zr_kvclient_result_release (&result);
    /* The reply to `first` was lost, say: the client retries it. */
    result = s_call (client, first);
    S_ASSERT (result.reply.index == index, "retry applied at %" PRIu64
              ", the first time at %" PRIu64, result.reply.index, index);
    zr_kvclient_result_release (&result);
    s_expect (client, "dup", "second");
    /* Once more with the restarted node leading. */
    procs_start (s_procs, old);
    s_wait_caught_up (old);
    uint32_t leader = s_leader ();
    procs_kill (s_procs, leader);
    s_make_leader (old);
    result = s_call (client, first);
    S_ASSERT (result.reply.index == index, "retry on the restarted n%u"
              " applied at %" PRIu64 ", the first time at %" PRIu64, old,
              result.reply.index, index);
    zr_kvclient_result_release (&result);
    s_expect (client, "dup", "second");
    zr_kvclient_destroy (&client);
}
END_TEST

/* One round of the CAS chain: ctr = round - 1 -> round, the leader
   killed wait_us after the call started (the client driven meanwhile).
   Returns true if the kill came before the reply. Restarts the killed
   node and waits for it. */
static bool
s_cas_round (zr_kvclient_t *client, uint32_t round, int64_t wait_us)
{
    char old [16], new_value [16];
    snprintf (old, sizeof old, "%u", round - 1);
    snprintf (new_value, sizeof new_value, "%u", round);
    uint32_t leader = s_leader ();
    zr_client_request_t cas = procs_req (ZR_CLIENT_CAS, "ctr", new_value);
    cas.old = (zr_client_bytes_t) {(const uint8_t *) old, strlen (old)};
    ck_assert_int_eq (zr_kvclient_send (client, &cas, round), 0);
    zr_kvclient_result_t result;
    int64_t until = zclock_usecs () + wait_us, left_us = wait_us;
    int rc;
    do {                                /* polls in whole ms: no busy loop */
        rc = zr_kvclient_recv (client, &result, (int) ((left_us + 999) / 1000));
        left_us = until - zclock_usecs ();
    } while (rc != 0 && left_us > 0);
    bool in_flight = rc != 0;
    procs_kill (s_procs, leader);
    if (in_flight)
        ck_assert_int_eq (zr_kvclient_recv (client, &result, -1), 0);
    S_ASSERT (result.outcome == ZR_KVCLIENT_DONE
              && result.code == ZR_CLIENT_OK, "CAS %s -> %s: %s, %s (%s)",
              old, new_value, zr_kvclient_outcome_name (result.outcome),
              zr_client_code_name (result.code), result.error);
    S_ASSERT (result.reply.swapped, "CAS %s -> %s (%s the kill) answered"
              " not swapped: applied twice?", old, new_value,
              in_flight ? "across" : "before");
    zr_kvclient_result_release (&result);
    s_expect (client, "ctr", new_value);
    procs_start (s_procs, leader);
    s_wait_caught_up (leader);
    return in_flight;
}

START_TEST (failover_cas_in_flight_at_kill9_applies_once)
{
    /* Thesis §6.3, with the reply really lost: the leader dies while a
       CAS is in flight (after a delay from none to two commits' time,
       so that the dead leader has applied it in some rounds and not in
       others, and some complete before the kill); the retry with the
       same seq reports swapped either way. */
    s_procs = procs_new (S_NODES, NULL);
    s_leader ();
    zr_kvclient_t *client = s_client (S_CALL_MS, 1);
    zr_kvclient_result_t result = s_call (client, procs_req (ZR_CLIENT_PUT,
                                                             "warm", "0"));
    zr_kvclient_result_release (&result);
    result = s_call (client, procs_req (ZR_CLIENT_PUT, "ctr", "0"));
    zr_kvclient_result_release (&result);
    /* Connected: a CAS takes one commit's time (a round of STATUS, as
       each round starts with, first). */
    s_leader ();
    zr_client_request_t cas = procs_req (ZR_CLIENT_CAS, "warm", "0");
    cas.old = (zr_client_bytes_t) {(const uint8_t *) "0", 1};
    int64_t started = zclock_usecs ();
    result = s_call (client, cas);
    zr_kvclient_result_release (&result);
    int64_t commit_us = zclock_usecs () - started;
    uint32_t across = 0;
    for (uint32_t round = 1; round <= S_CAS_ROUNDS; round++)
        across += s_cas_round (client, round, (int64_t) (round - 1) * 2
                                              * commit_us / (S_CAS_ROUNDS - 1));
    fprintf (stderr, "test_failover: CAS chain, %u of %u kills with the CAS"
             " in flight (one commit: %.1f ms)\n", across, S_CAS_ROUNDS,
             (double) commit_us / 1000);
    zr_kvclient_destroy (&client);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("failover");
    TCase *tc = tcase_create ("failover");
    tcase_set_timeout (tc, PROCS_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, failover_kill9_leader_under_load_loses_nothing);
    tcase_add_test (tc, failover_retry_after_kill9_applies_once);
    tcase_add_test (tc, failover_cas_in_flight_at_kill9_applies_once);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
