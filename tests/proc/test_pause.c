/*  =========================================================================
    test_pause - process faults on zraft-node: a leader SIGSTOPped for
    longer than the election timeout, and servers killed with SIGKILL and
    restarted

    Three real zraft-node processes on 127.0.0.1 (tests/lib/procs.h),
    driven only through the client protocol. The test checks, across
    processes:

    1. Agreement: once the cluster has converged (every node in the same
       term, with the same last index, all of it committed and applied),
       every node's state machine holds the same value for every key the
       test wrote (a stale GET on each node, compared).
    2. Election safety: no two nodes ever report leading the same term
       (checked on every STATUS reply the test reads).
    3. A stale leader never commits: the leader is SIGSTOPped in the
       middle of a flood of puts (so that some wait in it), more puts are
       sent to it while it is stopped, and it stays stopped for three of
       the longest election timeouts while the other two elect a leader
       of a higher term and commit. After SIGCONT it answers every put
       exactly once; a put it acknowledged (OK) is on every node, one it
       refused (NOT_LEADER, BUSY, UNAVAILABLE) on none, and one sent
       while it was stopped, which it could only take as a stale leader,
       is neither acknowledged nor applied anywhere. It steps down, follows
       the new term and converges on the new leader's log.
    4. Durability: no acknowledged put is lost when a follower or the
       leader is killed with SIGKILL and restarted on its data: every
       node serves every one of them.
    5. Clean shutdown: at the end SIGTERM stops every node with exit
       status 0, and none logs a socket left open (czmq's report at
       zsys_shutdown: the leak gate); under ASan the exit status also
       carries LeakSanitizer's verdict.

    Every wait derives from procs.h's PROCS_HEARTBEAT_MS and
    PROCS_ELECTION_MS and polls with a deadline; the pause's length is
    the fault, not a wait for anything. Nodes are never orphaned (procs.h)
    and their logs are printed on a failure.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "../lib/check_run.h"
#include "../lib/procs.h"

#define S_NODES 3                       /* servers per test */
#define S_TERMS_MAX 4096                /* terms the election checker tracks */
#define S_FLOOD 400                     /* the flood; SIGSTOP when half is answered */
#define S_STOPPED 100                   /* more puts, sent while it is stopped */
#define S_PUTS (S_FLOOD + S_STOPPED)
#define S_WINDOW 64                     /* puts of the flood in flight */
#define S_ACKED_MAX 64                  /* puts test B acknowledges */
#define S_TEXT_MAX 16                   /* a key or a value */
/* A leader stays stopped at least this long: three of the longest
   election timeouts, so the others certainly time out and elect. */
#define S_PAUSE_MS (3 * PROCS_ELECTION_MAX_MS)
/* A cluster converges, or a restarted node catches up, within this. */
#define S_CATCHUP_MS (PROCS_LEADER_WAIT_MS + PROCS_REPLY_MS)
/* Client ids of the flood: one session per put, so order is free. */
#define S_FLOOD_CLIENT 1000

_Static_assert (S_PAUSE_MS > PROCS_ELECTION_MAX_MS, "pause outlasts elections");
_Static_assert (S_FLOOD / 2 + S_WINDOW <= S_FLOOD, "the stop finds puts in flight");

static procs_t *s_procs;                /* the test's cluster */
/* Who reported leading each term (the election checker); 0: nobody yet.
   Check forks each test, so this starts zero in every one. */
static uint32_t s_leader_of [S_TERMS_MAX];

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

/* STATUS of node id, through the election checker: no two nodes lead
   the same term (Raft §5.2, Election Safety). */
static zr_client_reply_t
s_status (uint32_t id)
{
    zr_client_reply_t reply = s_ask (id, procs_req (ZR_CLIENT_STATUS, NULL,
                                                    NULL));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "n%u STATUS: %s", id,
              zr_client_code_name (reply.code));
    S_ASSERT (reply.term < S_TERMS_MAX, "term %" PRIu64, reply.term);
    if (reply.role == 2) {
        uint32_t *leader = &s_leader_of [reply.term];
        S_ASSERT (*leader == 0 || *leader == id, "n%u and n%u both lead term"
                  " %" PRIu64, *leader, id, reply.term);
        *leader = id;
    }
    return reply;
}

/* Waits for a leader of a term >= min_term that a majority follows;
   returns it and its term. */
static uint32_t
s_leader (uint64_t min_term, uint64_t *term)
{
    int64_t deadline = zclock_mono () + PROCS_LEADER_WAIT_MS;
    while (zclock_mono () < deadline) {
        uint32_t leader = procs_leader (s_procs, (int) (deadline
                                                        - zclock_mono ()));
        if (leader) {
            zr_client_reply_t st = s_status (leader);
            if (st.role == 2 && st.term >= min_term) {
                *term = st.term;
                return leader;
            }
        }
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
    }
    S_ASSERT (false, "no leader of a term >= %" PRIu64 " within %d ms",
              min_term, PROCS_LEADER_WAIT_MS);
    return 0;
}

/* Key and value of put i ("p<i>", "v<i>"), or of another name. */
static void
s_text (const char *prefix, uint32_t i, char *text)
{
    snprintf (text, S_TEXT_MAX, "%s%u", prefix, i);
}

/* A put of key = value by client_id with seq. */
static zr_client_request_t
s_put (uint64_t client_id, uint64_t seq, const char *key, const char *value)
{
    zr_client_request_t request = procs_req (ZR_CLIENT_PUT, key, value);
    request.client_id = client_id;
    request.seq = seq;
    return request;
}

/* A stale GET of key on node id: *found and value (S_TEXT_MAX bytes). */
static void
s_read (uint32_t id, const char *key, bool *found, char *value)
{
    zr_client_request_t request = procs_req (ZR_CLIENT_GET, key, NULL);
    request.stale = true;
    zr_client_reply_t reply = s_ask (id, request);
    S_ASSERT (reply.code == ZR_CLIENT_OK, "n%u GET %s: %s", id, key,
              zr_client_code_name (reply.code));
    *found = reply.found;
    snprintf (value, S_TEXT_MAX, "%.*s", (int) reply.value.size,
              reply.value.data ? (const char *) reply.value.data : "");
}

/* Agreement: key reads the same on every node; returns what it reads. */
static bool
s_agreed (const char *key, char *value)
{
    bool found = false;
    s_read (1, key, &found, value);
    for (uint32_t id = 2; id <= S_NODES; id++) {
        bool other_found = false;
        char other [S_TEXT_MAX];
        s_read (id, key, &other_found, other);
        S_ASSERT (other_found == found && streq (other, value),
                  "%s: n1 has %s%s, n%u has %s%s", key, found ? "" : "nothing",
                  value, id, other_found ? "" : "nothing", other);
    }
    return found;
}

/* Waits until every node reports the same term and last index, all of
   it committed and applied. */
static void
s_wait_converged (void)
{
    int64_t deadline = zclock_mono () + S_CATCHUP_MS;
    while (zclock_mono () < deadline) {
        zr_client_reply_t first = s_status (1);
        bool same = first.commit == first.last_index
                    && first.applied == first.last_index;
        for (uint32_t id = 2; id <= S_NODES && same; id++) {
            zr_client_reply_t st = s_status (id);
            same = st.term == first.term && st.last_index == first.last_index
                   && st.commit == st.last_index
                   && st.applied == st.last_index;
        }
        if (same)
            return;
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
    }
    S_ASSERT (false, "logs did not converge in %d ms", S_CATCHUP_MS);
}

/* Clean shutdown: SIGTERM to every node, each exits 0 and its log
   reports no socket left open. */
static void
s_stop_all (void)
{
    for (uint32_t id = 1; id <= S_NODES; id++)
        procs_signal (s_procs, id, SIGTERM);
    for (uint32_t id = 1; id <= S_NODES; id++) {
        int status = procs_wait_exit (s_procs, id, PROCS_EXIT_MS);
        S_ASSERT (status != -1 && WIFEXITED (status)
                  && WEXITSTATUS (status) == 0, "n%u: exit status %d after"
                  " SIGTERM", id, status);
        char *log = procs_log (s_procs, id);
        char *dangling = strstr (log, "dangling");
        char line [256] = "";
        if (dangling)
            snprintf (line, sizeof line, "%.*s", (int) strcspn (dangling, "\n"),
                      dangling);
        free (log);
        S_ASSERT (!line [0], "n%u: leak gate: %s", id, line);
    }
}

/* ===================================================== test A: pause */

/* A put of the flood: what its reply said. */
typedef struct {
    int code;                           /* zr_client_code_t, -1 before */
    bool stopped;                       /* sent while the leader was stopped */
} s_flood_t;

/* Sends put i of the flood on dealer (request_id i + 1). */
static void
s_flood_send (zsock_t *dealer, uint32_t i)
{
    char key [S_TEXT_MAX], value [S_TEXT_MAX];
    s_text ("p", i, key);
    s_text ("v", i, value);
    zr_client_request_t request = s_put (S_FLOOD_CLIENT + i, 1, key, value);
    request.request_id = i + 1;
    procs_send (dealer, &request);
}

/* Receives replies on dealer until n more arrived; each put is answered
   exactly once, with a code a client can act on. */
static void
s_flood_replies (zsock_t *dealer, s_flood_t *puts, uint32_t n, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    for (uint32_t got = 0; got < n; got++) {
        int64_t left = deadline - zclock_mono ();
        zsock_set_rcvtimeo (dealer, (int) (left > 0 ? left : 0));
        zframe_t *frame = zframe_recv (dealer);
        S_ASSERT (frame, "%u of %u replies in %d ms", got, n, timeout_ms);
        zr_client_reply_t reply;
        int rc = zr_client_reply_decode (zframe_data (frame),
                                         zframe_size (frame), &reply);
        uint64_t i = reply.request_id - 1;
        S_ASSERT (rc == 0 && reply.request_id >= 1 && i < S_PUTS
                  && puts [i].code == -1, "bad or second reply (%d, id %"
                  PRIu64 ")", rc, reply.request_id);
        S_ASSERT (reply.code != ZR_CLIENT_INVALID
                  && reply.code != ZR_CLIENT_MALFORMED
                  && reply.code != ZR_CLIENT_SESSION_EXPIRED,
                  "put %" PRIu64 ": %s", i, zr_client_code_name (reply.code));
        puts [i].code = (int) reply.code;
        zframe_destroy (&frame);
    }
}

/* Streams the flood to dealer, S_WINDOW puts in flight, until half of
   it was answered: the leader is then busy with the next S_WINDOW (some
   applied, some in its log, some not read yet). Returns the puts sent. */
static uint32_t
s_flood_stream (zsock_t *dealer, s_flood_t *puts)
{
    uint32_t sent = 0;
    while (sent < S_WINDOW)
        s_flood_send (dealer, sent++);
    for (uint32_t answered = 0; answered < S_FLOOD / 2; answered++) {
        s_flood_replies (dealer, puts, 1, PROCS_REPLY_MS);
        if (sent < S_FLOOD)
            s_flood_send (dealer, sent++);
    }
    return sent;
}

/* SIGSTOP node id and wait until the kernel reports it stopped (every
   thread), so that what is sent next finds it stopped. */
static void
s_freeze (uint32_t id)
{
    procs_signal (s_procs, id, SIGSTOP);     /* returns once it stopped */
}

/* Checks each put's outcome against every node's state machine, which
   agree; returns counts by code in counts. */
static void
s_flood_check (const s_flood_t *puts, uint32_t *counts)
{
    for (uint32_t i = 0; i < S_PUTS; i++) {
        char key [S_TEXT_MAX], value [S_TEXT_MAX], read [S_TEXT_MAX];
        s_text ("p", i, key);
        s_text ("v", i, value);
        bool found = s_agreed (key, read);
        int code = puts [i].code;
        S_ASSERT (!found || streq (read, value), "%s = %s", key, read);
        S_ASSERT (!puts [i].stopped || (code != ZR_CLIENT_OK && !found),
                  "put %u, sent while the leader was stopped: %s, %s", i,
                  zr_client_code_name (code), found ? "applied" : "lost");
        S_ASSERT (code != ZR_CLIENT_OK || found, "put %u acknowledged, lost",
                  i);
        S_ASSERT (code == ZR_CLIENT_OK || code == ZR_CLIENT_UNKNOWN || !found,
                  "put %u refused (%s), applied", i, zr_client_code_name (code));
        counts [code]++;
    }
}

/* Waits until node id follows a term >= term. */
static void
s_wait_follows (uint32_t id, uint64_t term)
{
    int64_t deadline = zclock_mono () + PROCS_LEADER_WAIT_MS;
    zr_client_reply_t st = s_status (id);
    while ((st.role != 0 || st.term < term) && zclock_mono () < deadline) {
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
        st = s_status (id);
    }
    S_ASSERT (st.role == 0 && st.term >= term, "n%u: role %u term %" PRIu64
              ", not a follower of term %" PRIu64, id, st.role, st.term, term);
}

/* Five puts "<prefix>1".."<prefix>5" through leader, each acknowledged. */
static void
s_puts_ok (uint32_t leader, const char *prefix, uint64_t *seq)
{
    for (uint32_t i = 1; i <= 5; i++) {
        char key [S_TEXT_MAX];
        s_text (prefix, i, key);
        zr_client_reply_t reply = s_ask (leader, s_put (1, ++*seq, key, key));
        S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT %s on n%u: %s", key, leader,
                  zr_client_code_name (reply.code));
    }
}

START_TEST (sigstop_leader_resumes_stale_never_commits)
{
    /* Raft §5.3, §5.4.2 and §6.4's stale leader: a leader cut off by a
       process pause resumes in an old term; it cannot commit there. */
    s_procs = procs_new (S_NODES, NULL);
    uint64_t old_term = 0, new_term = 0, seq = 0;
    uint32_t old = s_leader (1, &old_term);
    s_puts_ok (old, "a", &seq);
    zr_client_reply_t st = s_status (old);
    S_ASSERT (st.role == 2, "n%u stepped down", old);
    old_term = st.term;
    s_flood_t puts [S_PUTS];
    for (uint32_t i = 0; i < S_PUTS; i++)
        puts [i] = (s_flood_t) {.code = -1};
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (dealer);
    zsock_set_sndhwm (dealer, 4 * S_PUTS);
    zsock_set_rcvhwm (dealer, 4 * S_PUTS);
    zsock_set_linger (dealer, 0);
    ck_assert_int_eq (zsock_connect (dealer, "%s",
                                     procs_client_endpoint (s_procs, old)), 0);
    uint32_t sent = s_flood_stream (dealer, puts);
    s_freeze (old);
    int64_t stopped_at = zclock_mono ();
    for (uint32_t i = sent; i < S_PUTS; i++) {
        puts [i].stopped = true;
        s_flood_send (dealer, i);
    }
    uint32_t fresh = s_leader (old_term + 1, &new_term);
    S_ASSERT (fresh != old, "n%u leads while stopped", old);
    s_puts_ok (fresh, "b", &seq);
    int64_t left = stopped_at + S_PAUSE_MS - zclock_mono ();
    if (left > 0)
        poll (NULL, 0, (int) left);     /* the pause's length: the fault */
    procs_signal (s_procs, old, SIGCONT);
    s_flood_replies (dealer, puts, S_PUTS - S_FLOOD / 2, S_CATCHUP_MS);
    zsock_destroy (&dealer);
    s_wait_follows (old, new_term);
    s_wait_converged ();
    uint32_t counts [ZR_CLIENT_CODE_MAX + 1] = {0};
    s_flood_check (puts, counts);
    for (uint32_t i = 1; i <= 5; i++) {
        char key [S_TEXT_MAX], value [S_TEXT_MAX];
        s_text ("a", i, key);
        S_ASSERT (s_agreed (key, value) && streq (value, key), "%s lost", key);
        s_text ("b", i, key);
        S_ASSERT (s_agreed (key, value) && streq (value, key), "%s lost", key);
    }
    fprintf (stderr, "test_pause: n%u term %" PRIu64 " -> n%u term %" PRIu64
             ": of %u puts %u OK, %u NOT_LEADER, %u BUSY, %u UNAVAILABLE,"
             " %u UNKNOWN\n", old, old_term, fresh, new_term, S_PUTS,
             counts [ZR_CLIENT_OK], counts [ZR_CLIENT_NOT_LEADER],
             counts [ZR_CLIENT_BUSY], counts [ZR_CLIENT_UNAVAILABLE],
             counts [ZR_CLIENT_UNKNOWN]);
    s_stop_all ();
}
END_TEST

/* ====================================================== test B: kill */

/* Waits until node id serves every put of keys [0..n) (stale reads:
   it caught up on its own). */
static void
s_wait_has (uint32_t id, char keys [][S_TEXT_MAX], uint32_t n)
{
    int64_t deadline = zclock_mono () + S_CATCHUP_MS;
    for (uint32_t i = 0; i < n; i++) {
        bool found = false;
        char value [S_TEXT_MAX] = "";
        s_read (id, keys [i], &found, value);
        while (!(found && streq (value, keys [i]))
               && zclock_mono () < deadline) {
            poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* read again a beat later */
            s_read (id, keys [i], &found, value);
        }
        S_ASSERT (found && streq (value, keys [i]), "n%u lost acknowledged"
                  " %s (reads %s)", id, keys [i], found ? value : "nothing");
    }
}

/* Five acknowledged puts through leader, appended to keys. */
static void
s_acked (uint32_t leader, const char *prefix, uint64_t *seq,
         char keys [][S_TEXT_MAX], uint32_t *n)
{
    s_puts_ok (leader, prefix, seq);
    for (uint32_t i = 1; i <= 5; i++) {
        ck_assert_uint_lt (*n, S_ACKED_MAX);
        s_text (prefix, i, keys [(*n)++]);
    }
}

START_TEST (sigkill_restart_keeps_committed)
{
    /* Raft §5.4 (Leader Completeness) and §5.1's durable state: SIGKILL
       a follower, then the leader, restarting each on its data; nothing
       acknowledged is lost and the cluster keeps committing. */
    s_procs = procs_new (S_NODES, NULL);
    char keys [S_ACKED_MAX][S_TEXT_MAX];
    uint32_t n = 0;
    uint64_t term = 0, seq = 0;
    uint32_t leader = s_leader (1, &term);
    s_acked (leader, "a", &seq, keys, &n);
    uint32_t follower = leader % S_NODES + 1;
    procs_kill (s_procs, follower);
    s_acked (leader, "b", &seq, keys, &n);
    procs_start (s_procs, follower);
    s_wait_has (follower, keys, n);
    leader = s_leader (term, &term);
    procs_kill (s_procs, leader);
    uint32_t fresh = s_leader (term + 1, &term);
    S_ASSERT (fresh != leader, "n%u still leads", leader);
    s_acked (fresh, "c", &seq, keys, &n);
    procs_start (s_procs, leader);
    for (uint32_t id = 1; id <= S_NODES; id++)
        s_wait_has (id, keys, n);
    s_acked (s_leader (term, &term), "d", &seq, keys, &n);
    s_wait_converged ();
    for (uint32_t i = 0; i < n; i++) {
        char value [S_TEXT_MAX];
        S_ASSERT (s_agreed (keys [i], value) && streq (value, keys [i]),
                  "%s lost", keys [i]);
    }
    s_stop_all ();
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("pause");
    TCase *tc = tcase_create ("pause");
    tcase_set_timeout (tc, PROCS_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, sigstop_leader_resumes_stale_never_commits);
    tcase_add_test (tc, sigkill_restart_keeps_committed);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
