/*  =========================================================================
    test_node - zraft-node as a user runs it: real processes on 127.0.0.1
    (tests/lib/procs.h), reached only through the client protocol

    1. Puts, gets, deletes and compare-and-swaps through the leader, a
       retried command applied once, a stale read on a follower.
    2. A follower answers NOT_LEADER naming the leader and its client
       endpoint (learnt through the log: the leader's ANNOUNCE).
    3. SIGTERM on the leader: it hands leadership over (to a live
       follower, never a dead one) and exits 0; the others go on with
       the data; writes in flight are each answered
       once, and those acknowledged survive; a second signal exits 1 at
       once.
    4. kill -9 and SIGSTOP of the leader: another is elected; the old one,
       restarted or continued, catches up.
    5. A second process on the same data directory exits 1 with a clear
       message, and so do a client endpoint in use, a data directory
       that is a file and a corrupt log; bad flags, variables and config
       files exit 64.
    6. A malformed frame gets MALFORMED and the server keeps serving.
    7. --sched: every thread in SCHED_BATCH by default, none with
       --sched normal.

    Every wait is bounded by procs.h's PROCS_*_MS (derived from its
    heartbeat and election timeout); on a failure the nodes' logs are
    printed.
    =========================================================================
*/
#include <check.h>
#include <czmq.h>
#include <inttypes.h>
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "../lib/check_run.h"
#include "../lib/procs.h"
#include "../lib/sched_probe.h"

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

/* Starts n nodes and waits for a leader; returns its id. */
static uint32_t
s_cluster (uint32_t n)
{
    s_procs = procs_new (n, NULL);
    uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader within %d ms", PROCS_LEADER_WAIT_MS);
    return leader;
}

/* Sends request to id; fails the test if no reply comes. */
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

/* A write from client 1 with sequence number seq. */
static zr_client_request_t
s_write (zr_client_type_t type, uint64_t seq, const char *key,
         const char *value)
{
    zr_client_request_t request = procs_req (type, key, value);
    request.client_id = 1;
    request.seq = seq;
    return request;
}

/* True if reply is an OK GET of value (NULL: not found). */
static bool
s_holds (const zr_client_reply_t *reply, const char *value)
{
    if (reply->code != ZR_CLIENT_OK)
        return false;
    if (!value)
        return !reply->found;
    return reply->found && reply->value.size == strlen (value)
           && memcmp (reply->value.data, value, reply->value.size) == 0;
}

/* Waits until a stale GET of key on id returns value. */
static bool
s_wait_stale (uint32_t id, const char *key, const char *value)
{
    int64_t deadline = zclock_mono () + PROCS_REPLY_MS;
    while (zclock_mono () < deadline) {
        zr_client_request_t request = procs_req (ZR_CLIENT_GET, key, NULL);
        request.stale = true;
        zr_client_reply_t reply;
        if (procs_request (s_procs, id, &request, &reply, PROCS_REPLY_MS) == 0
            && s_holds (&reply, value))
            return true;
        poll (NULL, 0, PROCS_HEARTBEAT_MS);     /* asked again a beat later */
    }
    return false;
}

/* Some follower of leader. */
static uint32_t
s_follower (uint32_t leader)
{
    return leader % 3 + 1;
}

/* ------------------------------------------------------------ key/value */

START_TEST (node_put_get_del_cas)
{
    /* The key/value guarantees at the client protocol: each write OK with
       its index, reads see it, CAS compares, a retry applies once. */
    uint32_t leader = s_cluster (3);
    zr_client_reply_t reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "a", "1"));
    S_ASSERT (reply.code == ZR_CLIENT_OK && reply.index > 0, "PUT: %s",
              zr_client_code_name (reply.code));
    uint64_t index = reply.index;
    reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "a", "1"));
    S_ASSERT (reply.code == ZR_CLIENT_OK && reply.index == index,
              "retried PUT: %s at %" PRIu64 ", first at %" PRIu64,
              zr_client_code_name (reply.code), reply.index, index);
    reply = s_ask (leader, procs_req (ZR_CLIENT_GET, "a", NULL));
    S_ASSERT (s_holds (&reply, "1"), "GET after PUT");
    zr_client_request_t cas = s_write (ZR_CLIENT_CAS, 2, "a", "2");
    cas.old = (zr_client_bytes_t) {(const uint8_t *) "1", 1};
    reply = s_ask (leader, cas);
    S_ASSERT (reply.code == ZR_CLIENT_OK && reply.swapped, "CAS 1->2");
    cas.seq = 3;
    reply = s_ask (leader, cas);
    S_ASSERT (reply.code == ZR_CLIENT_OK && !reply.swapped, "CAS 1->2 again");
    reply = s_ask (leader, procs_req (ZR_CLIENT_GET, "a", NULL));
    S_ASSERT (s_holds (&reply, "2"), "GET after CAS");
    S_ASSERT (s_wait_stale (s_follower (leader), "a", "2"),
              "a follower's stale read never saw a=2");
    reply = s_ask (leader, s_write (ZR_CLIENT_DEL, 4, "a", NULL));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "DEL: %s",
              zr_client_code_name (reply.code));
    reply = s_ask (leader, procs_req (ZR_CLIENT_GET, "a", NULL));
    S_ASSERT (s_holds (&reply, NULL), "GET after DEL");
    reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 2, "b", "old seq"));
    S_ASSERT (reply.code == ZR_CLIENT_SESSION_EXPIRED, "an old seq: %s",
              zr_client_code_name (reply.code));
}
END_TEST

START_TEST (node_not_leader_redirect)
{
    /* A follower refuses writes and linearizable reads with NOT_LEADER
       naming the leader's id and client endpoint, once the leader's
       ANNOUNCE reached it; STATUS lists every member's endpoints. */
    uint32_t leader = s_cluster (3);
    uint32_t follower = s_follower (leader);
    const char *endpoint = procs_client_endpoint (s_procs, leader);
    int64_t deadline = zclock_mono () + PROCS_REPLY_MS;
    zr_client_reply_t reply;
    bool announced = false;
    while (!announced && zclock_mono () < deadline) {
        reply = s_ask (follower, procs_req (ZR_CLIENT_STATUS, NULL, NULL));
        S_ASSERT (reply.code == ZR_CLIENT_OK && reply.n_members == 3, "STATUS");
        const zr_client_bytes_t *known = &reply.members [leader - 1].client_endpoint;
        announced = known->size == strlen (endpoint)
                    && memcmp (known->data, endpoint, known->size) == 0;
        if (!announced)
            poll (NULL, 0, PROCS_HEARTBEAT_MS);
    }
    S_ASSERT (announced, "n%u never learnt n%u's client endpoint", follower,
              leader);
    S_ASSERT (reply.id == follower && reply.role == 0, "follower's STATUS");
    for (int i = 0; i < 2; i++) {
        zr_client_request_t request = i == 0
            ? s_write (ZR_CLIENT_PUT, 1, "k", "v")
            : procs_req (ZR_CLIENT_GET, "k", NULL);
        reply = s_ask (follower, request);
        S_ASSERT (reply.code == ZR_CLIENT_NOT_LEADER, "%s on a follower: %s",
                  zr_client_type_name (request.type),
                  zr_client_code_name (reply.code));
        S_ASSERT (reply.leader == leader, "hint n%u, leader n%u", reply.leader,
                  leader);
        S_ASSERT (reply.leader_endpoint.size == strlen (endpoint)
                  && !memcmp (reply.leader_endpoint.data, endpoint,
                              reply.leader_endpoint.size),
                  "leader_endpoint '%.*s', expected %s",
                  (int) reply.leader_endpoint.size,
                  (const char *) reply.leader_endpoint.data, endpoint);
    }
}
END_TEST

/* ------------------------------------------------------------- signals */

START_TEST (node_sigterm_leader_hands_over)
{
    /* SIGTERM on the leader: it hands leadership to a follower, exits 0
       within its stop's bound (two election timeouts), and the others
       serve what it had acknowledged. */
    uint32_t leader = s_cluster (3);
    zr_client_reply_t reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "x", "1"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT");
    procs_signal (s_procs, leader, SIGTERM);
    int status = procs_wait_exit (s_procs, leader, PROCS_EXIT_MS);
    S_ASSERT (status != -1, "n%u still runs %d ms after SIGTERM", leader,
              PROCS_EXIT_MS);
    S_ASSERT (WIFEXITED (status) && WEXITSTATUS (status) == 0,
              "n%u: exit status %d", leader, status);
    char *log = procs_log (s_procs, leader);
    bool handed = strstr (log, "leadership handed over") != NULL;
    free (log);
    S_ASSERT (handed, "n%u did not log the handover", leader);
    uint32_t next = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (next && next != leader, "no new leader (got n%u)", next);
    reply = s_ask (next, procs_req (ZR_CLIENT_GET, "x", NULL));
    S_ASSERT (s_holds (&reply, "1"), "x lost after the handover");
    reply = s_ask (next, s_write (ZR_CLIENT_PUT, 2, "y", "2"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT on n%u", next);
}
END_TEST

START_TEST (node_sigterm_leader_skips_a_dead_follower)
{
    /* SIGTERM on the leader with a follower killed: the library picks
       the live, up-to-date one (zraft_transfer peer 0), so leadership
       moves at once instead of after a transfer to the dead one times
       out; with the dead one back, nothing acknowledged is lost. */
    uint32_t leader = s_cluster (3);
    uint32_t dead = leader % 3 + 1, live = dead % 3 + 1;
    procs_kill (s_procs, dead);
    zr_client_reply_t reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "d", "1"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT");
    procs_signal (s_procs, leader, SIGTERM);
    int status = procs_wait_exit (s_procs, leader, PROCS_EXIT_MS);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
              "n%u: exit status %d", leader, status);
    char *log = procs_log (s_procs, leader);
    char wanted [64];
    snprintf (wanted, sizeof wanted, "handing leadership to n%u", live);
    bool picked = strstr (log, wanted) != NULL;
    bool handed = strstr (log, "leadership handed over") != NULL;
    free (log);
    S_ASSERT (picked, "n%u did not hand over to n%u", leader, live);
    S_ASSERT (handed, "n%u did not log the handover", leader);
    /* One of three runs now: the dead one back makes a majority. */
    procs_start (s_procs, dead);
    uint32_t next = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (next == live || next == dead, "no new leader (got n%u)", next);
    reply = s_ask (next, procs_req (ZR_CLIENT_GET, "d", NULL));
    S_ASSERT (s_holds (&reply, "1"), "d lost after the handover");
}
END_TEST

START_TEST (node_kill9_and_sigstop_leader)
{
    /* kill -9 the leader: another is elected, and the old one, restarted
       on its data, catches up; SIGSTOP the new leader: yet another is
       elected, and after SIGCONT the stopped one follows it. */
    uint32_t leader = s_cluster (3);
    zr_client_reply_t reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "k", "1"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT");
    procs_kill (s_procs, leader);
    uint32_t second = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (second && second != leader, "no leader after kill -9");
    reply = s_ask (second, s_write (ZR_CLIENT_PUT, 2, "k", "2"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT on n%u", second);
    procs_start (s_procs, leader);
    S_ASSERT (s_wait_stale (leader, "k", "2"), "restarted n%u never caught up",
              leader);
    procs_signal (s_procs, second, SIGSTOP);
    uint32_t third = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (third && third != second, "no leader with n%u stopped", second);
    reply = s_ask (third, s_write (ZR_CLIENT_PUT, 3, "k", "3"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT on n%u", third);
    procs_signal (s_procs, second, SIGCONT);
    S_ASSERT (s_wait_stale (second, "k", "3"), "continued n%u never caught up",
              second);
    reply = s_ask (second, procs_req (ZR_CLIENT_STATUS, NULL, NULL));
    S_ASSERT (reply.role != 2 || reply.leader == second,
              "two leaders after SIGCONT");
}
END_TEST

/* Sends S_FLIGHT PUTs of k1..k<n> to dealer, one session each (so their
   order does not matter), request ids 1..n. */
#define S_FLIGHT 200
static void
s_flight_send (zsock_t *dealer)
{
    for (uint64_t i = 1; i <= S_FLIGHT; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%" PRIu64, i);
        zr_client_request_t request = procs_req (ZR_CLIENT_PUT, key, "v");
        request.request_id = i;
        request.client_id = i;
        request.seq = 1;
        procs_send (dealer, &request);
    }
}

/* Waits until leader's log holds at least n entries past its commit
   index: that many writes are in flight. */
static bool
s_flight_wait (uint32_t leader, uint64_t n)
{
    int64_t deadline = zclock_mono () + PROCS_REPLY_MS;
    while (zclock_mono () < deadline) {
        zr_client_reply_t reply = s_ask (leader, procs_req (ZR_CLIENT_STATUS,
                                                            NULL, NULL));
        if (reply.last_index >= reply.commit + n)
            return true;
        poll (NULL, 0, PROCS_HEARTBEAT_MS / 5);
    }
    return false;
}

START_TEST (node_sigterm_answers_in_flight)
{
    /* Writes in flight when the leader gets SIGTERM (the followers hear it
       100 ms late, so they are in its log, not committed): each gets
       exactly one reply (server.c's invariant 1) with a code a client can
       act on, and every one acknowledged OK is readable on the next
       leader. */
    uint32_t leader = s_cluster (3);
    for (uint32_t id = 1; id <= 3; id++) {
        zr_client_request_t fault = {.type = ZR_CLIENT_FAULT, .peer = leader,
                                     .delay_ms = 100};
        if (id != leader)
            S_ASSERT (s_ask (id, fault).code == ZR_CLIENT_OK, "FAULT on n%u", id);
    }
    zsock_t *dealer = zsock_new_dealer (procs_client_endpoint (s_procs, leader));
    ck_assert_ptr_nonnull (dealer);
    zsock_set_rcvtimeo (dealer, PROCS_REPLY_MS);
    s_flight_send (dealer);
    S_ASSERT (s_flight_wait (leader, S_FLIGHT / 2), "writes never in flight");
    procs_signal (s_procs, leader, SIGTERM);
    bool replied [S_FLIGHT + 1] = {false}, ok [S_FLIGHT + 1] = {false};
    uint32_t codes [ZR_CLIENT_CODE_MAX + 1] = {0};
    for (int n = 0; n < S_FLIGHT; n++) {
        zframe_t *frame = zframe_recv (dealer);
        S_ASSERT (frame, "%d of %d writes answered", n, S_FLIGHT);
        zr_client_reply_t reply;
        ck_assert_int_eq (zr_client_reply_decode (zframe_data (frame),
                                                  zframe_size (frame), &reply), 0);
        uint64_t id = reply.request_id;
        S_ASSERT (id >= 1 && id <= S_FLIGHT && !replied [id], "reply %" PRIu64,
                  id);
        S_ASSERT (reply.code == ZR_CLIENT_OK || reply.code == ZR_CLIENT_UNKNOWN
                  || reply.code == ZR_CLIENT_NOT_LEADER
                  || reply.code == ZR_CLIENT_BUSY
                  || reply.code == ZR_CLIENT_UNAVAILABLE,
                  "write %" PRIu64 ": %s", id, zr_client_code_name (reply.code));
        replied [id] = true;
        ok [id] = reply.code == ZR_CLIENT_OK;
        codes [reply.code]++;
        zframe_destroy (&frame);
    }
    zsock_destroy (&dealer);
    fprintf (stderr, "node_sigterm_answers_in_flight: %u OK, %u NOT_LEADER,"
             " %u BUSY, %u UNAVAILABLE, %u UNKNOWN\n", codes [ZR_CLIENT_OK],
             codes [ZR_CLIENT_NOT_LEADER], codes [ZR_CLIENT_BUSY],
             codes [ZR_CLIENT_UNAVAILABLE], codes [ZR_CLIENT_UNKNOWN]);
    int status = procs_wait_exit (s_procs, leader, PROCS_EXIT_MS);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
              "n%u: status %d", leader, status);
    uint32_t next = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (next && next != leader, "no new leader");
    for (uint64_t i = 1; i <= S_FLIGHT; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%" PRIu64, i);
        zr_client_reply_t reply = s_ask (next, procs_req (ZR_CLIENT_GET, key, NULL));
        S_ASSERT (!ok [i] || s_holds (&reply, "v"), "acknowledged %s lost", key);
    }
}
END_TEST

/* Sends S_FLIGHT PUTs of "b<round>-<i>" = "v<i>" at once on dealer, one
   session each, and waits for every reply: each must be OK. */
static void
s_burst (zsock_t *dealer, uint32_t round)
{
    for (uint64_t i = 1; i <= S_FLIGHT; i++) {
        char key [32], value [16];
        snprintf (key, sizeof key, "b%u-%" PRIu64, round, i);
        snprintf (value, sizeof value, "v%" PRIu64, i);
        zr_client_request_t request = procs_req (ZR_CLIENT_PUT, key, value);
        request.request_id = i;
        request.client_id = (uint64_t) round * S_FLIGHT + i;
        request.seq = 1;
        procs_send (dealer, &request);
    }
    for (int n = 0; n < S_FLIGHT; n++) {
        zframe_t *frame = zframe_recv (dealer);
        S_ASSERT (frame, "burst %u: %d of %d writes answered", round, n, S_FLIGHT);
        zr_client_reply_t reply;
        ck_assert_int_eq (zr_client_reply_decode (zframe_data (frame),
                                                  zframe_size (frame), &reply), 0);
        S_ASSERT (reply.code == ZR_CLIENT_OK, "burst %u: write %" PRIu64 ": %s",
                  round, reply.request_id, zr_client_code_name (reply.code));
        zframe_destroy (&frame);
    }
}

/* True if id's log has said line. */
static bool
s_logged (uint32_t id, const char *line)
{
    char *log = procs_log (s_procs, id);
    bool said = log && strstr (log, line);
    free (log);
    return said;
}

#define S_MOVE_OWN "loop: moves to its own thread"
#define S_MOVE_HOST "loop: moves to the node's thread"
#define S_MOVE_BURSTS 50                /* 10,000 writes */
#define S_MOVE_SINGLES 2000

START_TEST (node_loop_moves_with_the_load)
{
    /* server.h, "Where the loop runs": the leader's loop starts on the
       node's thread, moves to its own under bursts of pipelined writes,
       and back under writes one at a time; every write is answered OK
       and readable after, whichever thread served it. */
    uint32_t leader = s_cluster (3);   /* logs at info: the moves too */
    zsock_t *dealer = zsock_new_dealer (procs_client_endpoint (s_procs, leader));
    ck_assert_ptr_nonnull (dealer);
    zsock_set_rcvtimeo (dealer, PROCS_REPLY_MS);
    uint32_t bursts = 0;
    while (!s_logged (leader, S_MOVE_OWN) && bursts < S_MOVE_BURSTS)
        s_burst (dealer, ++bursts);
    zsock_destroy (&dealer);
    S_ASSERT (s_logged (leader, S_MOVE_OWN), "still hosted after %u bursts",
              bursts);
    uint32_t singles = 0;
    while (!s_logged (leader, S_MOVE_HOST) && singles < S_MOVE_SINGLES) {
        char key [32];
        snprintf (key, sizeof key, "s%u", ++singles);
        S_ASSERT (s_ask (leader, s_write (ZR_CLIENT_PUT, singles, key, "w")).code
                  == ZR_CLIENT_OK, "single write %u", singles);
    }
    S_ASSERT (s_logged (leader, S_MOVE_HOST), "not hosted again after %u"
              " writes one at a time", singles);
    fprintf (stderr, "node_loop_moves_with_the_load: own after %u bursts of"
             " %d, hosted again after %u single writes\n", bursts, S_FLIGHT,
             singles);
    for (uint32_t round = 1; round <= bursts; round++)
        for (uint64_t i = 1; i <= S_FLIGHT; i += 37) {
            char key [32], value [16];
            snprintf (key, sizeof key, "b%u-%" PRIu64, round, i);
            snprintf (value, sizeof value, "v%" PRIu64, i);
            zr_client_reply_t reply = s_ask (leader, procs_req (ZR_CLIENT_GET,
                                                                key, NULL));
            S_ASSERT (s_holds (&reply, value), "%s lost", key);
        }
    for (uint32_t i = 1; i <= singles; i++) {
        char key [32];
        snprintf (key, sizeof key, "s%u", i);
        zr_client_reply_t reply = s_ask (leader, procs_req (ZR_CLIENT_GET, key,
                                                            NULL));
        S_ASSERT (s_holds (&reply, "w"), "%s lost", key);
    }
}
END_TEST

START_TEST (node_second_signal_exits_at_once)
{
    /* Two signals pending together (SIGSTOP holds the process while both
       are sent): the first starts the stop, the second ends the process
       at once with status 1 and a line saying so. */
    s_cluster (1);
    procs_signal (s_procs, 1, SIGSTOP);
    procs_signal (s_procs, 1, SIGTERM);
    procs_signal (s_procs, 1, SIGINT);
    procs_signal (s_procs, 1, SIGCONT);
    int status = procs_wait_exit (s_procs, 1, PROCS_EXIT_MS);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 1,
              "status %d", status);
    char *log = procs_log (s_procs, 1);
    bool said = strstr (log, "second signal") != NULL;
    free (log);
    S_ASSERT (said, "no line about the second signal");
    /* What was acknowledged is on disk: the node restarts on it. */
    procs_start (s_procs, 1);
    S_ASSERT (procs_leader (s_procs, PROCS_LEADER_WAIT_MS) == 1,
              "no restart after the second signal");
}
END_TEST

/* --------------------------------------------------- refusals to start */

/* How many of pid's threads are in scheduling class policy, and how
   many it has (*all), from /proc. */
static uint32_t
s_threads_in (pid_t pid, int policy, uint32_t *all)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *dir = opendir (path);
    ck_assert_ptr_nonnull (dir);
    uint32_t in = 0;
    *all = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name [0] != '.') {
            int got = sched_getscheduler ((pid_t) atoi (entry->d_name));
            if (got < 0)
                continue;               /* the thread ended meanwhile */
            (*all)++;
            in += got == policy;
        }
    closedir (dir);
    return in;
}

START_TEST (node_sched_batch_every_thread)
{
    /* --sched batch (the default) puts every thread of the server in
       SCHED_BATCH: set before the first one starts, inherited by all;
       --sched normal leaves them in the class the server was started
       in (no bus here: a feed thread would still put itself in
       SCHED_BATCH, config.feed_background). Where the switch is
       refused (sched_probe.h), both expect the test's class. A write
       goes through either way. */
    const char *normal [] = {"--sched", "normal", NULL};
    for (int round = 0; round < 2; round++) {
        s_procs = procs_new (1, round ? normal : NULL);
        uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
        S_ASSERT (leader, "no leader within %d ms", PROCS_LEADER_WAIT_MS);
        S_ASSERT (s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "k", "v")).code
                  == ZR_CLIENT_OK, "a write refused");
        int policy = round || !sched_probe_batch_allowed ()
                     ? sched_getscheduler (0) : SCHED_BATCH;
        uint32_t all = 0;
        uint32_t in = s_threads_in (procs_pid (s_procs, leader), policy, &all);
        /* The main thread, node, persister, applier, timer, zmq's... */
        S_ASSERT (all >= 6, "only %u threads", all);
        S_ASSERT (in == all, "%s: %u of %u threads in class %d",
                  round ? "normal" : "batch", in, all, policy);
        procs_destroy (&s_procs);
    }
}
END_TEST

START_TEST (node_data_dir_held_exits_1)
{
    /* A second zraft-node on a data directory in use refuses to start,
       says why, and exits 1; the first keeps serving. */
    uint32_t leader = s_cluster (1);
    const char *const *argv = procs_argv (s_procs, 1);
    const char *copy [64];
    size_t n = 0;
    for (; argv [n]; n++)
        copy [n] = argv [n];
    copy [n] = NULL;
    /* Another client port, so that the data directory is what fails. */
    char client [64];
    snprintf (client, sizeof client, "tcp://127.0.0.1:%u", procs_port ());
    for (size_t i = 0; i + 1 < n; i++)
        if (streq (copy [i], "--listen-client"))
            copy [i + 1] = client;
    (void) leader;
    char *output = NULL;
    int status = procs_run (copy, NULL, PROCS_EXIT_MS, &output);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 1,
              "second process: status %d, output:\n%s", status, output);
    S_ASSERT (strstr (output, "in use by another process"),
              "no clear message:\n%s", output);
    free (output);
    zr_client_reply_t reply = s_ask (1, s_write (ZR_CLIENT_PUT, 1, "k", "v"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "the first stopped serving");
}
END_TEST

/* Copies node id's command line into argv (size entries), replacing the
   value of flag with value; returns argv. */
static const char **
s_argv_with (uint32_t id, const char *flag, const char *value,
             const char **argv, size_t size)
{
    const char *const *original = procs_argv (s_procs, id);
    size_t n = 0;
    for (; original [n]; n++) {
        ck_assert_uint_lt (n + 1, size);
        argv [n] = n > 0 && streq (original [n - 1], flag) ? value
                                                          : original [n];
    }
    argv [n] = NULL;
    return argv;
}

/* Runs argv; expects exit 1 and output holding fragment. */
static void
s_refused_start (const char **argv, const char *fragment)
{
    char *output = NULL;
    int status = procs_run (argv, NULL, PROCS_EXIT_MS, &output);
    S_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 1,
              "status %d, output:\n%s", status, output);
    S_ASSERT (strstr (output, fragment), "'%s' not in:\n%s", fragment, output);
    S_ASSERT (!strstr (output, "start: id"), "it started:\n%s", output);
    free (output);
}

START_TEST (node_cannot_start_exits_1)
{
    /* A client endpoint in use, a data directory that is a file, a log
       that is corrupt: each refused with exit 1 and the reason, before
       the server starts. */
    s_cluster (1);
    const char *argv [64];
    char other [512];
    snprintf (other, sizeof other, "%s-other", procs_data_dir (s_procs, 1));
    s_refused_start (s_argv_with (1, "--data-dir", other, argv, 64),
                     "Address already in use");
    /* Its peer endpoint in use (the client endpoint free): the new data
       directory, made and preallocated before the bind, is removed. */
    char client [64];
    snprintf (client, sizeof client, "tcp://127.0.0.1:%u", procs_port ());
    s_argv_with (1, "--data-dir", other, argv, 64);
    for (size_t i = 1; argv [i]; i++)
        if (streq (argv [i - 1], "--listen-client"))
            argv [i] = client;
    s_refused_start (argv, "cannot bind");
    S_ASSERT (access (other, F_OK) == -1, "%s is left behind", other);
    procs_kill (s_procs, 1);
    FILE *file = fopen (other, "w");
    ck_assert_ptr_nonnull (file);
    fclose (file);
    s_refused_start (s_argv_with (1, "--data-dir", other, argv, 64),
                     "not a writable directory");
    /* A peer host that does not resolve is named (the start goes on: a
       name service may come later; here the directory stops it). */
    char members [600];
    snprintf (members, sizeof members, "n1=%s,n2=tcp://nosuchhost.invalid.:7002",
              procs_peer_endpoint (s_procs, 1));
    for (size_t i = 1; argv [i]; i++)
        if (streq (argv [i - 1], "--initial-cluster"))
            argv [i] = members;
    s_refused_start (argv, "member n2 at tcp://nosuchhost.invalid.:7002: host "
                     "nosuchhost.invalid. does not resolve");
    /* A client endpoint on a host that is not this machine's. */
    s_refused_start (s_argv_with (1, "--listen-client",
                                  "tcp://nosuchhost.invalid.:7999", argv, 64),
                     "--listen-client tcp://nosuchhost.invalid.:7999: not an "
                     "address of this machine");
    unlink (other);
    char segment [600];
    snprintf (segment, sizeof segment, "%s/wal-0000000000000001.seg",
              procs_data_dir (s_procs, 1));
    file = fopen (segment, "r+");
    ck_assert_ptr_nonnull (file);
    ck_assert_int_eq (fwrite ("XX", 1, 2, file), 2);   /* its magic */
    fclose (file);
    s_refused_start (s_argv_with (1, "--data-dir", procs_data_dir (s_procs, 1),
                                  argv, 64), "bad magic");
}
END_TEST

START_TEST (node_data_dir_of_another_member_exits_1)
{
    /* A data directory records the member and the cluster it belongs to
       (bin/zraft-node/identity.h): another member's directory, or its
       own under a reordered --initial-cluster (other ids: the error
       says to restore the order, not to remove the record), is refused
       before the node starts; the original command line still starts,
       and the cluster serves. */
    s_cluster (3);
    procs_kill (s_procs, 3);
    const char *argv [64];
    s_refused_start (s_argv_with (3, "--data-dir", procs_data_dir (s_procs, 1),
                                  argv, 64), "belongs to member n1 of the cluster");
    char reordered [1024];
    snprintf (reordered, sizeof reordered, "n3=%s,n1=%s,n2=%s",
              procs_peer_endpoint (s_procs, 3), procs_peer_endpoint (s_procs, 1),
              procs_peer_endpoint (s_procs, 2));
    s_refused_start (s_argv_with (3, "--initial-cluster", reordered, argv, 64),
                     "lists the members of this data directory's cluster in"
                     " another order");
    s_refused_start (s_argv_with (3, "--initial-cluster", reordered, argv, 64),
                     "give every member the list in its first order; do not"
                     " remove that file");
    char recorded [700];
    snprintf (recorded, sizeof recorded, "(recorded in %s/member)",
              procs_data_dir (s_procs, 1));
    s_refused_start (s_argv_with (3, "--data-dir", procs_data_dir (s_procs, 1),
                                  argv, 64), recorded);
    procs_start (s_procs, 3);
    uint32_t leader = procs_leader (s_procs, PROCS_LEADER_WAIT_MS);
    S_ASSERT (leader, "no leader after the restart");
    zr_client_reply_t reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "k", "v"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "put after the restart: code %d",
              reply.code);
    S_ASSERT (procs_running (s_procs, 3), "n3 did not start on its own data");
}
END_TEST

/* The term ("term=N") on the line of log that holds the last
   occurrence of after, or -1. */
static long long
s_line_term (const char *log, const char *after)
{
    const char *at = NULL;
    for (const char *next = strstr (log, after); next; next = strstr (next + 1, after))
        at = next;
    if (!at)
        return -1;
    const char *line = at;
    while (line > log && line [-1] != '\n')
        line--;
    const char *term = strstr (line, " term=");
    return term && term < at ? strtoll (term + 6, NULL, 10) : -1;
}

START_TEST (node_restart_logs_its_recovered_term)
{
    /* A restarted member's lines carry the term its log holds from the
       start line on, not 0 until the node reports a role. A leader's
       log holds its term (its vote for itself was synced first). */
    uint32_t leader = s_cluster (1);
    zr_client_reply_t reply = s_ask (leader, s_write (ZR_CLIENT_PUT, 1, "k", "v"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "put: code %d", reply.code);
    procs_kill (s_procs, 1);
    procs_start (s_procs, 1);
    S_ASSERT (procs_leader (s_procs, PROCS_LEADER_WAIT_MS), "no leader after the restart");
    char *log = procs_log (s_procs, 1);
    ck_assert_ptr_nonnull (log);
    const char *recovered = NULL;
    for (const char *next = strstr (log, "node: recovered term="); next;
         next = strstr (next + 1, "node: recovered term="))
        recovered = next;
    S_ASSERT (recovered, "no recovery line:\n%s", log);
    long long term = strtoll (recovered + strlen ("node: recovered term="), NULL, 10);
    S_ASSERT (term >= 1, "recovered term %lld:\n%s", term, log);
    S_ASSERT (s_line_term (log, "start: id 1 of 1") == term,
              "the start line does not carry term %lld:\n%s", term, log);
    S_ASSERT (strstr (log, "role=starting: n1 node: recovered"),
              "the recovery line is not marked starting:\n%s", log);
    free (log);
}
END_TEST

/* Runs zraft-node with args (and env); expects exit status and output
   holding fragment. */
static void
s_run_expect (const char *const *args, char *const *env, int expected,
              const char *fragment)
{
    const char *argv [32] = {procs_binary ()};
    size_t n = 1;
    for (; args [n - 1]; n++)
        argv [n] = args [n - 1];
    argv [n] = NULL;
    char *output = NULL;
    int status = procs_run (argv, env, PROCS_EXIT_MS, &output);
    ck_assert_msg (status != -1 && WIFEXITED (status)
                   && WEXITSTATUS (status) == expected,
                   "%s ...: status %d (expected exit %d), output:\n%s",
                   args [0] ? args [0] : "", status, expected, output);
    ck_assert_msg (strstr (output, fragment), "'%s' not in:\n%s", fragment,
                   output);
    if (expected == 64)
        ck_assert_msg (strchr (output, '\n') == output + strlen (output) - 1,
                       "not one line:\n%s", output);
    free (output);
}

START_TEST (node_bad_flags_exit_64)
{
    /* Usage errors: one line naming the problem, exit 64, nothing
       started; --help and --version exit 0. */
    const char *cluster = "n1=tcp://127.0.0.1:1";
    const char *bogus [] = {"--bogus", NULL};
    s_run_expect (bogus, NULL, 64, "unknown flag '--bogus'");
    const char *missing [] = {"--name", "n1", NULL};
    s_run_expect (missing, NULL, 64, "--data-dir, --listen-client and"
                  " --initial-cluster are required");
    const char *heartbeat [] = {"--name", "n1", "--data-dir", "/tmp/none",
        "--initial-cluster", cluster, "--listen-client", "tcp://127.0.0.1:2",
        "--heartbeat-interval", "0", NULL};
    s_run_expect (heartbeat, NULL, 64, "--heartbeat-interval must be");
    const char *stranger [] = {"--name", "n2", "--data-dir", "/tmp/none",
        "--initial-cluster", cluster, "--listen-client", "tcp://127.0.0.1:2",
        NULL};
    s_run_expect (stranger, NULL, 64, "not a member of --initial-cluster");
    const char *valid [] = {"--name", "n1", "--data-dir", "/tmp/none",
        "--initial-cluster", cluster, "--listen-client", "tcp://127.0.0.1:2",
        NULL};
    char *env [] = {"ZRAFT_LOG_FORMAT=xml", NULL};
    s_run_expect (valid, env, 64, "from ZRAFT_LOG_FORMAT");
    const char *file [] = {"--config-file", "/nonexistent.conf", NULL};
    s_run_expect (file, NULL, 64, "/nonexistent.conf");
    const char *help [] = {"--help", NULL};
    s_run_expect (help, NULL, 0, "ZRAFT_INITIAL_CLUSTER");
    const char *version [] = {"--version", NULL};
    s_run_expect (version, NULL, 0, "zraft-node ");
}
END_TEST

/* ------------------------------------------------------------ hostile */

START_TEST (node_malformed_frame_answered)
{
    /* Bytes that are no request, a request in two frames and a frame over
       the protocol's size limit each get MALFORMED (request id 0); the
       server counts, logs and carries on. */
    s_cluster (1);
    static const uint8_t garbage [] = {0xc1, 0xff, 0x00, 0x93};
    const void *frames [2] = {garbage, garbage};
    size_t sizes [2] = {sizeof garbage, sizeof garbage};
    for (size_t n = 1; n <= 2; n++) {
        zr_client_reply_t reply;
        int rc = procs_request_raw (s_procs, 1, frames, sizes, n, &reply,
                                    PROCS_REPLY_MS);
        S_ASSERT (rc == 0, "no reply to %zu malformed frame(s)", n);
        S_ASSERT (reply.code == ZR_CLIENT_MALFORMED && reply.request_id == 0
                  && reply.type == 0, "reply %s to a malformed frame",
                  zr_client_code_name (reply.code));
    }
    /* A frame one byte over the protocol's maximum: too big, answered. */
    size_t big_size = ZR_CLIENT_FRAME_MAX + 1;
    uint8_t *big = calloc (1, big_size);
    ck_assert_ptr_nonnull (big);
    const void *big_frames [1] = {big};
    zr_client_reply_t reply;
    int rc = procs_request_raw (s_procs, 1, big_frames, &big_size, 1, &reply,
                                PROCS_REPLY_MS);
    free (big);
    S_ASSERT (rc == 0 && reply.code == ZR_CLIENT_MALFORMED
              && reply.message.size > 0
              && memmem (reply.message.data, reply.message.size, "too big", 7),
              "an oversized frame: rc %d, %s", rc, zr_client_code_name (reply.code));
    reply = s_ask (1, s_write (ZR_CLIENT_PUT, 1, "k", "v"));
    S_ASSERT (reply.code == ZR_CLIENT_OK, "PUT after malformed frames");
    char *log = procs_log (s_procs, 1);
    bool logged = strstr (log, "malformed request") != NULL;
    free (log);
    S_ASSERT (logged, "malformed frame not logged");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("node");
    TCase *tc = tcase_create ("node");
    tcase_set_timeout (tc, PROCS_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, node_put_get_del_cas);
    tcase_add_test (tc, node_not_leader_redirect);
    tcase_add_test (tc, node_sigterm_leader_hands_over);
    tcase_add_test (tc, node_sigterm_leader_skips_a_dead_follower);
    tcase_add_test (tc, node_kill9_and_sigstop_leader);
    tcase_add_test (tc, node_sigterm_answers_in_flight);
    tcase_add_test (tc, node_second_signal_exits_at_once);
    tcase_add_test (tc, node_loop_moves_with_the_load);
    tcase_add_test (tc, node_sched_batch_every_thread);
    tcase_add_test (tc, node_data_dir_held_exits_1);
    tcase_add_test (tc, node_cannot_start_exits_1);
    tcase_add_test (tc, node_data_dir_of_another_member_exits_1);
    tcase_add_test (tc, node_bad_flags_exit_64);
    tcase_add_test (tc, node_restart_logs_its_recovered_term);
    tcase_add_test (tc, node_malformed_frame_answered);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
