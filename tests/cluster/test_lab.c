/*  =========================================================================
    test_lab - the MIT 6.824 Raft lab's tests, parts A to C (2A-2C / 3A-3C),
    on real zraft servers over tcp on 127.0.0.1 with the fault filter

    One test per lab test, named after it (TestFigure8Unreliable is
    lab_figure8_unreliable), each keeping the lab's scenario and bounds
    (../shared/LAB-TESTS.md section 1). The adaptations:
    - A new zraft leader appends a no-op entry (thesis §6.4), so indexes
      shift by one after each election: where the lab checks an exact
      index, we check the index after the previous one (or the range the
      lab's reasoning allows, shifted).
    - "crash" is cluster_stop and "restart" cluster_start; a restarted
      server comes back connected unless the test disconnected it.
    - The lab's unreliable network is cluster_unreliable (10% loss, 0-27
      ms jitter). Its long reordering holds 2 in 3 replies 200 ms +
      U(0, U(0, 2000)) ms; our filter shapes links, not message kinds, so
      a thread redraws that hold every 25 ms on the links that carry the
      replies, those into the leader and candidates (cluster_fault_link).
    - Start is cluster_propose (zraft_submit, then a STATUS that sees
      it handled); a zraft_t is used by one thread at a time,
      so threads share the cluster through cluster_lock.
    - The lab's RaftElectionTimeout (1 s), the unit of its sleeps, is
      LAB_ET_MS, derived from CLUSTER_ELECTION_MS; one() has 10 s.
    Every server runs the apply checker (tests/lib/cluster.h) throughout.
    Randomised tests print their seed; ZR_SEED=N replays the test's own
    choices (the servers' election timers still draw from the clock).
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "../lib/cluster.h"
#include "../lib/lab.h"

/* Figure 8's short pause, U[0, 13) ms: a quarter of a heartbeat. */
#define LAB_SHORT_PAUSE_MS (CLUSTER_HEARTBEAT_MS / 4)
/* The lab's unreliable links: 10% loss, each message delayed U[0, 27) ms. */
#define LAB_LOSS_PPM 100000u
#define LAB_SHORT_DELAY_MS 27u
/* Long reordering: 2/3 of replies held 200 ms + U(0, U(0, 2000)) ms. */
#define LAB_REORDER_MS ((uint32_t) LAB_ET_MS / 5)
#define LAB_REORDER_SPREAD_MS ((uint32_t) LAB_ET_MS * 2)

/* Figure 8 iterations: the lab's expected pause (10% of U[0, ET/2),
   else U[0, 13) ms) plus a server start and stop, bounded generously. */
#define LAB_FIG8_ITERS 1000
#define LAB_FIG8_ITER_MS (LAB_ET_MS / 20 + LAB_SHORT_PAUSE_MS + 4 * CLUSTER_HEARTBEAT_MS)
#define LAB_FIG8_S (LAB_FIG8_ITERS * LAB_FIG8_ITER_MS / 1000)

/* ------------------------------------------------------------- helpers */

/* Sum of rpcs_in (requests received) over running servers. */
static uint64_t
s_rpcs_in (cluster_t *c, uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t id = 1; id <= n; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        sum += st.rpcs_in;
    }
    return sum;
}

/* Sum of bytes_out (requests and replies sent) over running servers. */
static uint64_t
s_bytes_out (cluster_t *c, uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t id = 1; id <= n; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        sum += st.bytes_out;
    }
    return sum;
}

/* The lab's checkTerms: waits (bounded) until every running, connected
   server reports the same term, which it returns. A follower learns the
   term from the leader's first heartbeat, so this settles quickly. */
static uint64_t
s_check_terms (cluster_t *c, uint32_t n)
{
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    while (true) {
        uint64_t term = 0;
        bool agree = true;
        for (uint32_t id = 1; id <= n; id++) {
            if (!cluster_is_running (c, id) || !cluster_is_connected (c, id))
                continue;
            zraft_status_t st;
            cluster_status (c, id, &st);
            agree = agree && (term == 0 || st.term == term);
            term = st.term;
        }
        if (agree)
            return term;
        ck_assert_msg (zclock_mono () < deadline, "servers disagree on the term");
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
}

/* The lab's checkNoLeader: no running, connected server claims to lead. */
static void
s_check_no_leader (cluster_t *c, uint32_t n)
{
    for (uint32_t id = 1; id <= n; id++) {
        if (!cluster_is_running (c, id) || !cluster_is_connected (c, id))
            continue;
        zraft_status_t st;
        cluster_status (c, id, &st);
        ck_assert_msg (st.role != ZRAFT_LEADER, "n%u leads while cut off", id);
    }
}

/* True if a running server moved past term. */
static bool
s_term_moved (cluster_t *c, uint32_t n, uint64_t term)
{
    for (uint32_t id = 1; id <= n; id++) {
        if (!cluster_is_running (c, id))
            continue;
        zraft_status_t st;
        cluster_status (c, id, &st);
        if (st.term > term)
            return true;
    }
    return false;
}

/* The lab's wait(index, n, term): waits until n servers applied index
   and returns its value, or returns 0 as soon as a server moved past
   term (the caller retries); fails after one()'s bound. */
static uint64_t
s_wait_in_term (cluster_t *c, uint32_t n_servers, uint64_t index, uint32_t n,
                uint64_t term)
{
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    while (cluster_wait_committed (c, index, n, CLUSTER_HEARTBEAT_MS) < n) {
        if (s_term_moved (c, n_servers, term))
            return 0;
        ck_assert_msg (zclock_mono () < deadline, "index %llu not applied by %u",
                       (unsigned long long) index, n);
    }
    uint64_t value = 0;
    cluster_n_committed (c, index, &value);
    return value;
}

/* ------------------------------------------------------------ part A */

/* Raft §5.2 (lab InitialElection): one leader emerges, every server
   agrees on its term, and with nothing failing heartbeats hold that term
   for two lab election timeouts (the lab only warns; we fail). */
START_TEST (lab_initial_election)
{
    cluster_t *c = cluster_new (3);
    cluster_leader (c);
    cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    uint64_t term1 = s_check_terms (c, 3);
    ck_assert_uint_ge (term1, 1);
    cluster_idle (c, 2 * LAB_ET_MS);
    ck_assert_uint_eq (s_check_terms (c, 3), term1);
    cluster_leader (c);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.2 (lab ReElection): a cut-off leader is replaced and, back, does
   not disturb its successor; a lone server never believes it leads; a
   quorum elects again. */
START_TEST (lab_re_election)
{
    cluster_t *c = cluster_new (3);
    uint32_t l1 = cluster_leader (c);
    cluster_disconnect (c, l1);
    cluster_leader (c);
    cluster_connect (c, l1);
    uint32_t l2 = cluster_leader (c);
    cluster_disconnect (c, l2);
    cluster_disconnect (c, lab_plus (3, l2, 1));
    cluster_idle (c, 2 * LAB_ET_MS);
    s_check_no_leader (c, 3);
    cluster_connect (c, lab_plus (3, l2, 1));
    cluster_leader (c);
    cluster_connect (c, l2);
    cluster_leader (c);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.2 (lab ManyElections): seven servers, nine rounds of cutting
   off three random ones (repeats allowed): the other four or more always
   have one leader. */
START_TEST (lab_many_elections)
{
    lab_rng_t rng = lab_seeded ("test_lab", "lab_many_elections");
    cluster_t *c = cluster_new (7);
    cluster_leader (c);
    for (int round = 0; round < 9; round++) {
        uint32_t cut [3];
        for (int k = 0; k < 3; k++) {
            cut [k] = 1 + (uint32_t) lab_below (&rng, 7);
            cluster_disconnect (c, cut [k]);
        }
        cluster_leader (c);
        for (int k = 0; k < 3; k++)
            cluster_connect (c, cut [k]);
    }
    cluster_leader (c);
    cluster_destroy (&c);
}
END_TEST

/* ------------------------------------------------------------ part B */

/* Raft §5.3 (lab BasicAgree): nothing is applied before it is proposed,
   and each command lands at the index after the previous one (the first
   after the leader's no-op). */
START_TEST (lab_basic_agree)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    uint64_t prev = st.last_index;      /* the leader's no-op */
    for (uint64_t k = 1; k <= 3; k++) {
        ck_assert_uint_eq (cluster_n_committed (c, prev + 1, NULL), 0);
        uint64_t index = cluster_one (c, 100 * k, 3, false);
        ck_assert_uint_eq (index, prev + 1);
        prev = index;
    }
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3 (lab RPCBytes): ten 5,000-byte commands cost at most
   servers x payload + 50,000 bytes on the wire: each entry reaches each
   follower about once, heartbeats never carry the log again. */
START_TEST (lab_rpc_bytes)
{
    cluster_t *c = cluster_new (3);
    cluster_leader (c);
    uint64_t prev = cluster_one (c, 99, 3, false);
    uint64_t before = s_bytes_out (c, 3);
    const size_t size = 5000;
    for (uint64_t k = 1; k <= 10; k++) {
        uint64_t index = cluster_one_bytes (c, 1000 + k, size, 3, false);
        ck_assert_uint_eq (index, prev + 1);
        prev = index;
    }
    uint64_t got = s_bytes_out (c, 3) - before;
    uint64_t sent = 10 * size;
    fprintf (stderr, "lab_rpc_bytes: %llu bytes for %llu of commands (bound %llu)\n",
             (unsigned long long) got, (unsigned long long) sent,
             (unsigned long long) (3 * sent + 50000));
    ck_assert_uint_le (got, 3 * sent + 50000);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3, §5.4.2 (lab FollowerFailure): the leader commits with one
   follower left, then, with none, accepts a command at the next index
   but never commits it. */
START_TEST (lab_follower_failure)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 101, 3, false);
    uint32_t l1 = cluster_leader (c);
    zraft_status_t st;
    cluster_status (c, l1, &st);
    uint64_t term1 = st.term;
    cluster_disconnect (c, lab_plus (3, l1, 1));
    cluster_one (c, 102, 2, false);
    cluster_idle (c, LAB_ET_MS);
    uint64_t last = cluster_one (c, 103, 2, false);
    uint32_t l2 = cluster_leader (c);
    cluster_status (c, l2, &st);
    cluster_disconnect (c, lab_plus (3, l2, 1));
    cluster_disconnect (c, lab_plus (3, l2, 2));
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, l2, 104, &index), 0);
    /* The lab's index 4: right after 103, or after the no-op of a
       leader elected since 101 (none is expected on a quiet network). */
    ck_assert (index == last + 1 || (st.term > term1 && index == last + 2));
    cluster_idle (c, 2 * LAB_ET_MS);
    ck_assert_uint_eq (cluster_n_committed (c, index, NULL), 0);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.2 (lab LeaderFailure): after two leaders are cut off in turn,
   the lone connected server and both ex-leaders accept nothing that
   commits. */
START_TEST (lab_leader_failure)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 101, 3, false);
    uint32_t l1 = cluster_leader (c);
    cluster_disconnect (c, l1);
    cluster_one (c, 102, 2, false);
    cluster_idle (c, LAB_ET_MS);
    uint64_t last = cluster_one (c, 103, 2, false);
    uint32_t l2 = cluster_leader (c);
    cluster_disconnect (c, l2);
    uint64_t accepted [3] = {0};
    for (uint32_t id = 1; id <= 3; id++)
        if (cluster_propose (c, id, 104, &accepted [id - 1]) != 0)
            accepted [id - 1] = 0;
    cluster_idle (c, 2 * LAB_ET_MS);
    ck_assert_uint_eq (cluster_n_committed (c, last + 1, NULL), 0);
    for (uint32_t k = 0; k < 3; k++)
        if (accepted [k])
            ck_assert_uint_eq (cluster_n_committed (c, accepted [k], NULL), 0);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3 (lab FailAgree): the majority commits without a cut-off
   follower, which catches up on everything once reconnected. */
START_TEST (lab_fail_agree)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 101, 3, false);
    uint32_t leader = cluster_leader (c);
    cluster_disconnect (c, lab_plus (3, leader, 1));
    cluster_one (c, 102, 2, false);
    cluster_one (c, 103, 2, false);
    cluster_idle (c, LAB_ET_MS);
    cluster_one (c, 104, 2, false);
    cluster_one (c, 105, 2, false);
    cluster_connect (c, lab_plus (3, leader, 1));
    cluster_one (c, 106, 3, true);
    cluster_idle (c, LAB_ET_MS);
    cluster_one (c, 107, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.2 (lab FailNoAgree): five servers, three cut off: the leader
   accepts at the next index but cannot commit; healed, the next leader
   accepts at the lab's "2 or 3" (shifted by its no-op) and all agree. */
START_TEST (lab_fail_no_agree)
{
    cluster_t *c = cluster_new (5);
    uint64_t base = cluster_one (c, 10, 5, false);
    uint32_t leader = cluster_leader (c);
    for (uint32_t k = 1; k <= 3; k++)
        cluster_disconnect (c, lab_plus (5, leader, k));
    /* The lab's "index 2" is the index after the leader's last: a slow
       machine may have re-elected it after one() (a no-op at base + 1);
       cut off from the majority now, nothing else can append there. */
    zraft_status_t st;
    cluster_status (c, leader, &st);
    ck_assert_msg (st.last_index == base || st.last_index == base + 1,
                   "leader's last %llu, base %llu",
                   (unsigned long long) st.last_index, (unsigned long long) base);
    base = st.last_index;
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, leader, 20, &index), 0);
    ck_assert_uint_eq (index, base + 1);
    cluster_idle (c, 2 * LAB_ET_MS);
    ck_assert_uint_eq (cluster_n_committed (c, index, NULL), 0);
    for (uint32_t k = 1; k <= 3; k++)
        cluster_connect (c, lab_plus (5, leader, k));
    uint32_t l2 = cluster_leader (c);
    /* 30 follows 20 (old leader kept, index base + 2, or re-elected
       with its no-op first, base + 3), or follows the no-op of a leader
       that never had 20 (base + 2). */
    ck_assert_int_eq (cluster_propose (c, l2, 30, &index), 0);
    ck_assert_msg (index == base + 2 || index == base + 3, "30 at %llu, base %llu",
                   (unsigned long long) index, (unsigned long long) base);
    cluster_one (c, 1000, 5, true);
    cluster_destroy (&c);
}
END_TEST

typedef struct {
    cluster_t *c;                       /* the cluster */
    uint32_t leader;                    /* where to propose */
    uint64_t value;                     /* what */
    int rc;                             /* cluster_propose's code */
    uint64_t index;                     /* where it landed */
    uint64_t term;                      /* in which term */
} lab_start_t;

static void *
s_start_thread (void *arg)
{
    lab_start_t *start = (lab_start_t *) arg;
    start->rc = cluster_propose_shared (start->c, start->leader, start->value,
                                        &start->index, &start->term);
    return NULL;
}

/* One attempt of ConcurrentStarts: returns false if the term moved. */
static bool
s_concurrent_starts (cluster_t *c)
{
    uint32_t leader = cluster_leader (c);
    uint64_t first = 0, term = 0;
    if (cluster_propose_shared (c, leader, 1, &first, &term) != 0)
        return false;
    lab_start_t starts [5];
    pthread_t threads [5];
    for (int i = 0; i < 5; i++) {
        starts [i] = (lab_start_t) {.c = c, .leader = leader, .value = 100 + (uint64_t) i};
        ck_assert_int_eq (pthread_create (&threads [i], NULL, s_start_thread, &starts [i]), 0);
    }
    for (int i = 0; i < 5; i++)
        pthread_join (threads [i], NULL);
    uint32_t slots = 0;                 /* bit k: index first + k taken */
    for (int i = 0; i < 5; i++) {
        if (starts [i].rc != 0 || starts [i].term != term)
            return false;
        ck_assert_uint_ge (starts [i].index, first + 1);
        ck_assert_uint_le (starts [i].index, first + 5);
        uint32_t bit = 1u << (starts [i].index - first);
        ck_assert_msg (!(slots & bit), "index %llu given twice",
                       (unsigned long long) starts [i].index);
        slots |= bit;
    }
    if (s_term_moved (c, 3, term))
        return false;
    for (int i = 0; i < 5; i++) {
        uint64_t value = s_wait_in_term (c, 3, starts [i].index, 3, term);
        if (value == 0)
            return false;
        ck_assert_uint_eq (value, starts [i].value);
    }
    return true;
}

/* Raft §5.3 (lab ConcurrentStarts): five commands proposed at once from
   five threads take distinct, consecutive indexes in one term and all
   commit (retried if the term moves, as the lab does). */
START_TEST (lab_concurrent_starts)
{
    cluster_t *c = cluster_new (3);
    bool success = false;
    for (int attempt = 0; attempt < 5 && !success; attempt++) {
        if (attempt > 0)
            cluster_idle (c, 3 * LAB_ET_MS);
        success = s_concurrent_starts (c);
    }
    ck_assert_msg (success, "term changed too often");
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.1, §5.3 (lab Rejoin): a cut-off leader takes three commands
   that never commit; back while its successor is cut off, it cannot win
   with its stale log, and its entries are overwritten. */
START_TEST (lab_rejoin)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 101, 3, true);
    uint32_t l1 = cluster_leader (c);
    cluster_disconnect (c, l1);
    for (uint64_t v = 102; v <= 104; v++)
        cluster_propose (c, l1, v, NULL);
    cluster_one (c, 103, 2, true);
    uint32_t l2 = cluster_leader (c);
    cluster_disconnect (c, l2);
    cluster_connect (c, l1);
    cluster_one (c, 104, 2, true);
    cluster_connect (c, l2);
    cluster_one (c, 105, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3 (lab Backup): five servers; two minority leaders in turn take
   50 commands each that never commit, while majorities commit 50 each;
   the leader backs up over 50 conflicting entries per follower fast
   enough that each one() finishes within its 10 s. */
START_TEST (lab_backup)
{
    lab_rng_t rng = lab_seeded ("test_lab", "lab_backup");
    cluster_t *c = cluster_new (5);
    cluster_one (c, lab_value (&rng), 5, true);
    /* A minority leader (with l1 + 1) piles up 50 uncommitted entries. */
    uint32_t l1 = cluster_leader (c);
    for (uint32_t k = 2; k <= 4; k++)
        cluster_disconnect (c, lab_plus (5, l1, k));
    for (int i = 0; i < 50; i++)
        cluster_propose (c, l1, lab_value (&rng), NULL);
    cluster_idle (c, LAB_ET_MS / 2);
    cluster_disconnect (c, l1);
    cluster_disconnect (c, lab_plus (5, l1, 1));
    for (uint32_t k = 2; k <= 4; k++)
        cluster_connect (c, lab_plus (5, l1, k));
    for (int i = 0; i < 50; i++)
        cluster_one (c, lab_value (&rng), 3, true);
    /* Now l2, with one partner, piles up 50 of its own. */
    uint32_t l2 = cluster_leader (c);
    uint32_t other = lab_plus (5, l1, 2);
    if (other == l2)
        other = lab_plus (5, l2, 1);
    cluster_disconnect (c, other);
    for (int i = 0; i < 50; i++)
        cluster_propose (c, l2, lab_value (&rng), NULL);
    cluster_idle (c, LAB_ET_MS / 2);
    /* The first minority plus other: other must win and overwrite 51. */
    for (uint32_t id = 1; id <= 5; id++)
        cluster_disconnect (c, id);
    cluster_connect (c, l1);
    cluster_connect (c, lab_plus (5, l1, 1));
    cluster_connect (c, other);
    for (int i = 0; i < 50; i++)
        cluster_one (c, lab_value (&rng), 3, true);
    for (uint32_t id = 1; id <= 5; id++)
        cluster_connect (c, id);
    cluster_one (c, lab_value (&rng), 5, true);
    cluster_destroy (&c);
}
END_TEST

/* One attempt of Count's agreement: 12 commands in one term at
   consecutive indexes, all applied, for at most (10 + 1 + 3) x 3
   incoming RPCs. Returns false if the term moved; *total gets the RPC
   count after. */
static bool
s_count_agreement (cluster_t *c, lab_rng_t *rng, uint64_t *total)
{
    uint32_t leader = cluster_leader (c);
    uint64_t total1 = s_rpcs_in (c, 3);
    uint64_t start = 0, term = 0;
    if (cluster_propose_shared (c, leader, 1, &start, &term) != 0)
        return false;
    uint64_t values [12] = {1};
    for (uint64_t i = 1; i < 12; i++) {
        values [i] = lab_value (rng);
        uint64_t index = 0, t = 0;
        if (cluster_propose_shared (c, leader, values [i], &index, &t) != 0 || t != term)
            return false;
        ck_assert_msg (index == start + i, "Start() failed: index %llu, expected %llu",
                       (unsigned long long) index, (unsigned long long) (start + i));
    }
    for (uint64_t i = 1; i < 12; i++) {
        uint64_t value = s_wait_in_term (c, 3, start + i, 3, term);
        if (value == 0)
            return false;
        ck_assert_uint_eq (value, values [i]);
    }
    if (s_term_moved (c, 3, term))
        return false;
    *total = s_rpcs_in (c, 3);
    fprintf (stderr, "lab_count: %llu RPCs to agree on 12 entries (budget 42)\n",
             (unsigned long long) (*total - total1));
    ck_assert_uint_le (*total - total1, (10 + 1 + 3) * 3);
    return true;
}

/* Raft §5.2, §5.3 (lab Count): the RPC budgets of three servers: at most
   30 incoming RPCs for the first election, 42 to agree on 12 entries,
   60 per second of idleness (20 heartbeats per second per follower at
   CLUSTER_HEARTBEAT_MS = 50 is 40: within it). */
START_TEST (lab_count)
{
    lab_rng_t rng = lab_seeded ("test_lab", "lab_count");
    int64_t born = zclock_mono ();
    cluster_t *c = cluster_new (3);
    cluster_leader (c);
    /* The lab samples no earlier than checkOneLeader's first look. */
    int64_t first_look = born + LAB_ET_MS * 45 / 100;
    if (zclock_mono () < first_look)
        cluster_idle (c, first_look - zclock_mono ());
    uint64_t total = s_rpcs_in (c, 3);
    fprintf (stderr, "lab_count: %llu RPCs for the election (budget 30)\n",
             (unsigned long long) total);
    ck_assert_uint_ge (total, 1);
    ck_assert_uint_le (total, 30);
    bool success = false;
    for (int attempt = 0; attempt < 5 && !success; attempt++) {
        if (attempt > 0)
            cluster_idle (c, 3 * LAB_ET_MS);
        success = s_count_agreement (c, &rng, &total);
    }
    ck_assert_msg (success, "term changed too often");
    int64_t idle_start = zclock_mono ();
    cluster_idle (c, LAB_ET_MS);
    uint64_t idle = s_rpcs_in (c, 3) - total;
    int64_t idle_ms = zclock_mono () - idle_start;
    fprintf (stderr, "lab_count: %llu RPCs in %lld ms idle (budget 60/s)\n",
             (unsigned long long) idle, (long long) idle_ms);
    ck_assert_uint_le (idle, (uint64_t) (3 * 20 * idle_ms / 1000));
    cluster_destroy (&c);
}
END_TEST

/* ------------------------------------------------------------ part C */

/* Crash and restart of server id (the lab's crash1 + start1). */
static void
s_restart (cluster_t *c, uint32_t id)
{
    cluster_stop (c, id);
    cluster_start (c, id);
}

/* Raft Figure 2, persistent state (lab Persist1): term, vote and log
   survive restarts of all servers, of the leader, and of followers, and
   a restarted server applies what was committed while it was away. */
START_TEST (lab_persist1)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 11, 3, true);
    for (uint32_t id = 1; id <= 3; id++)
        cluster_stop (c, id);
    for (uint32_t id = 1; id <= 3; id++)
        cluster_start (c, id);
    cluster_one (c, 12, 3, true);
    uint32_t l1 = cluster_leader (c);
    cluster_disconnect (c, l1);
    s_restart (c, l1);
    cluster_connect (c, l1);
    cluster_one (c, 13, 3, true);
    uint32_t l2 = cluster_leader (c);
    cluster_disconnect (c, l2);
    uint64_t index = cluster_one (c, 14, 2, true);
    s_restart (c, l2);
    cluster_connect (c, l2);
    ck_assert_uint_eq (cluster_wait_committed (c, index, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    uint32_t i3 = lab_plus (3, cluster_leader (c), 1);
    cluster_disconnect (c, i3);
    cluster_one (c, 15, 2, true);
    s_restart (c, i3);
    cluster_connect (c, i3);
    cluster_one (c, 16, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.1 with persistence (lab Persist2): five rounds in which only
   the one restarted server holding the last commit may win (two stale
   servers cannot elect, and must not win against it). */
START_TEST (lab_persist2)
{
    cluster_t *c = cluster_new (5);
    uint64_t value = 10;
    for (int round = 0; round < 5; round++) {
        cluster_one (c, ++value, 5, true);
        uint32_t l = cluster_leader (c);
        cluster_disconnect (c, lab_plus (5, l, 1));
        cluster_disconnect (c, lab_plus (5, l, 2));
        cluster_one (c, ++value, 3, true);
        cluster_disconnect (c, l);
        cluster_disconnect (c, lab_plus (5, l, 3));
        cluster_disconnect (c, lab_plus (5, l, 4));
        for (uint32_t k = 1; k <= 2; k++) {
            s_restart (c, lab_plus (5, l, k));
            cluster_connect (c, lab_plus (5, l, k));
        }
        cluster_idle (c, LAB_ET_MS);
        s_restart (c, lab_plus (5, l, 3));
        cluster_connect (c, lab_plus (5, l, 3));
        cluster_one (c, ++value, 3, true);
        cluster_connect (c, lab_plus (5, l, 4));
        cluster_connect (c, l);
    }
    cluster_one (c, 1000, 5, true);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.1 with persistence (lab Persist3): with the follower that
   missed 102 back and the others crashed, the restarted leader wins on
   its persisted log and the cluster goes on. */
START_TEST (lab_persist3)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 101, 3, true);
    uint32_t l = cluster_leader (c);
    cluster_disconnect (c, lab_plus (3, l, 2));
    cluster_one (c, 102, 2, true);
    cluster_stop (c, l);
    cluster_stop (c, lab_plus (3, l, 1));
    cluster_connect (c, lab_plus (3, l, 2));
    cluster_start (c, l);
    cluster_one (c, 103, 2, true);
    cluster_start (c, lab_plus (3, l, 1));
    cluster_one (c, 104, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Figure 8's pause: U[0, ET/2) one time in ten, else U[0, 13) ms. */
static void
s_fig8_pause (cluster_t *c, lab_rng_t *rng)
{
    uint64_t ms = lab_below (rng, 1000) < 100 ? lab_below (rng, LAB_ET_MS / 2)
                                              : lab_below (rng, LAB_SHORT_PAUSE_MS + 1);
    cluster_idle (c, (int64_t) ms);
}

/* Raft Figure 8, §5.4.2 (lab Figure8): 1000 rounds of proposing on every
   live server and crashing the leader (restarting one when fewer than
   three live): only current-term entries commit by counting, so nothing
   committed is ever lost; then everyone agrees within one(). */
START_TEST (lab_figure8)
{
    lab_rng_t rng = lab_seeded ("test_lab", "lab_figure8");
    cluster_t *c = cluster_new (5);
    cluster_one (c, lab_value (&rng), 1, true);
    uint32_t nup = 5, crashes = 0;
    for (int iter = 0; iter < LAB_FIG8_ITERS; iter++) {
        uint32_t leader = 0;
        for (uint32_t id = 1; id <= 5; id++)
            if (cluster_is_running (c, id)
                && cluster_propose (c, id, lab_value (&rng), NULL) == 0)
                leader = id;
        s_fig8_pause (c, &rng);
        if (leader) {
            cluster_stop (c, leader);
            nup--;
            crashes++;
        }
        if (nup < 3) {
            uint32_t id = 1 + (uint32_t) lab_below (&rng, 5);
            if (!cluster_is_running (c, id)) {
                cluster_start (c, id);
                nup++;
            }
        }
    }
    for (uint32_t id = 1; id <= 5; id++)
        if (!cluster_is_running (c, id))
            cluster_start (c, id);
    uint64_t last = cluster_one (c, lab_value (&rng), 5, true);
    fprintf (stderr, "lab_figure8: %u leaders crashed, last index %llu\n", crashes,
             (unsigned long long) last);
    cluster_destroy (&c);
}
END_TEST

typedef struct {
    cluster_t *c;                       /* the cluster */
    uint64_t value;                     /* what to agree on */
} lab_one_t;

static void *
s_one_thread (void *arg)
{
    lab_one_t *one = (lab_one_t *) arg;
    cluster_one_shared (one->c, one->value, 1, true);
    return NULL;
}

/* Raft §5.3 on a lossy, reordering network (lab UnreliableAgree): 49
   rounds of four concurrent and one sequential one(); then, reliable
   again, all five agree. */
START_TEST (lab_unreliable_agree)
{
    cluster_t *c = cluster_new (5);
    cluster_unreliable (c, true);
    lab_one_t *ones = (lab_one_t *) calloc (49 * 4, sizeof (lab_one_t));
    pthread_t threads [49 * 4];
    ck_assert_ptr_nonnull (ones);
    int n_threads = 0;
    for (uint64_t iter = 1; iter < 50; iter++) {
        for (uint64_t j = 0; j < 4; j++) {
            ones [n_threads] = (lab_one_t) {.c = c, .value = 100 * iter + j};
            ck_assert_int_eq (pthread_create (&threads [n_threads], NULL, s_one_thread,
                                              &ones [n_threads]), 0);
            n_threads++;
        }
        cluster_one_shared (c, iter, 1, true);
    }
    cluster_lock (c);
    cluster_unreliable (c, false);
    cluster_unlock (c);
    for (int i = 0; i < n_threads; i++)
        pthread_join (threads [i], NULL);
    free (ones);
    cluster_one (c, 100, 5, true);
    cluster_destroy (&c);
}
END_TEST

/* The lab's long reordering holds 2 in 3 *replies* (its requests only
   see the short delay). Our filter shapes links, not message kinds, so
   it is redrawn often on the links that carry replies: those into the
   leader (AppendEntries replies) and candidates (votes). Each of them
   holds messages 200 ms + U(0, spread), spread U(0, 2000), 2 times in
   3, else is the plain unreliable link; every other link is plain. A
   message keeps the hold it got, so it arrives long after newer ones,
   maybe after its sender or receiver changed term or role. */
static void
s_reorder_links (cluster_t *c, lab_rng_t *rng)
{
    for (uint32_t to = 1; to <= 5; to++) {
        if (!cluster_is_running (c, to))
            continue;
        zraft_status_t st;
        cluster_status (c, to, &st);
        bool replies = st.role != ZRAFT_FOLLOWER;
        for (uint32_t from = 1; from <= 5; from++) {
            if (from == to)
                continue;
            if (replies && lab_below (rng, 3) < 2)
                cluster_fault_link (c, from, to, LAB_LOSS_PPM, LAB_REORDER_MS,
                                    1 + (uint32_t) lab_below (rng, LAB_REORDER_SPREAD_MS));
            else
                cluster_fault_link (c, from, to, LAB_LOSS_PPM, 0, LAB_SHORT_DELAY_MS);
        }
    }
}

typedef struct {
    cluster_t *c;                       /* the cluster */
    lab_rng_t rng;                      /* the reordering's own choices */
    atomic_bool stop;                   /* set to end the reordering */
} lab_reorder_t;

/* Long reordering, on until stopped: redraws the links every
   LAB_REORDER_REDRAW_MS, about as often as Figure 8 iterates. */
#define LAB_REORDER_REDRAW_MS (CLUSTER_HEARTBEAT_MS / 2)

static void *
s_reorder_thread (void *arg)
{
    lab_reorder_t *reorder = (lab_reorder_t *) arg;
    while (!atomic_load (&reorder->stop)) {
        cluster_lock (reorder->c);
        s_reorder_links (reorder->c, &reorder->rng);
        cluster_unlock (reorder->c);
        cluster_idle (reorder->c, LAB_REORDER_REDRAW_MS);
    }
    return NULL;
}

/* One Figure8Unreliable round: proposes on every server, then maybe cuts
   the leader off, and reconnects one when fewer than three are left.
   Returns true if a leader was cut off. */
static bool
s_fig8_unreliable_round (cluster_t *c, lab_rng_t *rng, uint32_t *nup)
{
    uint32_t leader = 0;
    cluster_lock (c);
    for (uint32_t id = 1; id <= 5; id++)
        if (cluster_propose (c, id, 1 + lab_below (rng, 10000), NULL) == 0
            && cluster_is_connected (c, id))
            leader = id;
    cluster_unlock (c);
    s_fig8_pause (c, rng);
    bool cut = leader && lab_below (rng, 1000) < 500;
    cluster_lock (c);
    if (cut) {
        cluster_disconnect (c, leader);
        (*nup)--;
    }
    if (*nup < 3) {
        uint32_t id = 1 + (uint32_t) lab_below (rng, 5);
        if (!cluster_is_connected (c, id)) {
            cluster_connect (c, id);
            (*nup)++;
        }
    }
    cluster_unlock (c);
    return cut;
}

/* Raft Figure 8, §5.4.2, lossy and reordering (lab Figure8Unreliable):
   1000 rounds of proposing on every server, cutting off the leader half
   the time, with long reordering from round 200; then, still lossy and
   reordering, everyone agrees within one(). */
START_TEST (lab_figure8_unreliable)
{
    lab_rng_t rng = lab_seeded ("test_lab", "lab_figure8_unreliable");
    cluster_t *c = cluster_new (5);
    cluster_unreliable (c, true);
    cluster_one (c, 1 + lab_below (&rng, 10000), 1, true);
    lab_reorder_t reorder = {.c = c, .rng = {.state = lab_rand (&rng)}};
    atomic_init (&reorder.stop, false);
    pthread_t thread;
    uint32_t nup = 5, cuts = 0;
    for (int iter = 0; iter < LAB_FIG8_ITERS; iter++) {
        if (iter == 200)
            ck_assert_int_eq (pthread_create (&thread, NULL, s_reorder_thread, &reorder), 0);
        cuts += s_fig8_unreliable_round (c, &rng, &nup);
    }
    cluster_lock (c);
    for (uint32_t id = 1; id <= 5; id++)
        if (!cluster_is_connected (c, id))
            cluster_connect (c, id);
    cluster_unlock (c);
    uint64_t last = cluster_one_shared (c, 1 + lab_below (&rng, 10000), 5, true);
    atomic_store (&reorder.stop, true);
    pthread_join (thread, NULL);
    fprintf (stderr, "lab_figure8_unreliable: %u leaders cut off, last index %llu\n",
             cuts, (unsigned long long) last);
    cluster_destroy (&c);
}
END_TEST

#define LAB_CHURN_VALUES_MAX 100000     /* committed values a client records */

typedef struct {
    cluster_t *c;                       /* the cluster */
    uint32_t me;                        /* client number, 0..2 */
    lab_rng_t rng;                      /* its own choices */
    atomic_bool *stop;                  /* set when the churn is over */
    uint64_t *values;                   /* values it saw committed */
    size_t n_values;
} lab_client_t;

/* Proposes x on every running server (connected or not); returns true
   with the index of the last that accepted. */
static bool
s_churn_start (lab_client_t *client, uint64_t x, uint64_t *index)
{
    bool ok = false;
    for (uint32_t id = 1; id <= 5; id++) {
        uint64_t i = 0;
        if (cluster_propose_shared (client->c, id, x, &i, NULL) == 0) {
            ok = true;
            *index = i;
        }
    }
    return ok;
}

/* A churn client: proposes, polls for the commit after 10, 20, 50, 100
   and 200 ms, and records the values it saw committed at their index. */
static void *
s_churn_client (void *arg)
{
    lab_client_t *client = (lab_client_t *) arg;
    static const int64_t polls [] = {10, 20, 50, 100, 200};
    while (!atomic_load (client->stop)) {
        uint64_t x = lab_value (&client->rng), index = 0;
        if (!s_churn_start (client, x, &index)) {
            cluster_idle (client->c, 79 + 17 * (int64_t) client->me);
            continue;
        }
        for (size_t k = 0; k < sizeof polls / sizeof polls [0]; k++) {
            uint64_t value = 0;
            if (cluster_n_committed (client->c, index, &value) > 0) {
                if (value == x && client->n_values < LAB_CHURN_VALUES_MAX)
                    client->values [client->n_values++] = x;
                break;
            }
            cluster_wait_committed (client->c, index, 1, polls [k]);
        }
    }
    return NULL;
}

/* One chaos step: maybe cut a server off, maybe (re)start and connect
   one, maybe crash one. */
static void
s_churn_step (cluster_t *c, lab_rng_t *rng)
{
    cluster_lock (c);
    if (lab_below (rng, 1000) < 200)
        cluster_disconnect (c, 1 + (uint32_t) lab_below (rng, 5));
    if (lab_below (rng, 1000) < 500) {
        uint32_t id = 1 + (uint32_t) lab_below (rng, 5);
        if (!cluster_is_running (c, id))
            cluster_start (c, id);
        cluster_connect (c, id);
    }
    if (lab_below (rng, 1000) < 200) {
        uint32_t id = 1 + (uint32_t) lab_below (rng, 5);
        if (cluster_is_running (c, id))
            cluster_stop (c, id);
    }
    cluster_unlock (c);
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/* The end of churn: every index up to last holds a command all five
   servers applied, or a no-op nobody applies; every value a client saw
   committed is in that log. Frees the clients' records; returns how
   many values they saw. */
static size_t
s_churn_verify (cluster_t *c, lab_client_t *clients, uint64_t last)
{
    uint64_t *log = (uint64_t *) calloc (last + 1, sizeof (uint64_t));
    ck_assert_ptr_nonnull (log);
    for (uint64_t index = 1; index <= last; index++) {
        uint32_t count = cluster_n_committed (c, index, &log [index]);
        ck_assert_msg (count == 0 || count == 5, "index %llu applied by %u of 5",
                       (unsigned long long) index, count);
    }
    qsort (log, last + 1, sizeof (uint64_t), s_compare_u64);
    size_t seen = 0;
    for (uint32_t i = 0; i < 3; i++) {
        for (size_t k = 0; k < clients [i].n_values; k++)
            ck_assert_msg (bsearch (&clients [i].values [k], log, last + 1,
                                    sizeof (uint64_t), s_compare_u64),
                           "didn't find a value: %llu",
                           (unsigned long long) clients [i].values [k]);
        seen += clients [i].n_values;
        free (clients [i].values);
    }
    free (log);
    return seen;
}

/* The lab's churn: three clients propose while servers are cut off,
   crashed and restarted for 20 steps; healed, every server applied every
   command up to the last, and every value a client saw committed is in
   the log. */
static void
s_churn (bool unreliable, const char *tcase)
{
    lab_rng_t rng = lab_seeded ("test_lab", tcase);
    cluster_t *c = cluster_new (5);
    if (unreliable)
        cluster_unreliable (c, true);
    atomic_bool stop;
    atomic_init (&stop, false);
    lab_client_t clients [3];
    pthread_t threads [3];
    for (uint32_t i = 0; i < 3; i++) {
        clients [i] = (lab_client_t) {.c = c, .me = i, .stop = &stop,
                                      .rng = {.state = lab_rand (&rng)}};
        clients [i].values = (uint64_t *) calloc (LAB_CHURN_VALUES_MAX, sizeof (uint64_t));
        ck_assert_ptr_nonnull (clients [i].values);
        ck_assert_int_eq (pthread_create (&threads [i], NULL, s_churn_client, &clients [i]), 0);
    }
    for (int step = 0; step < 20; step++) {
        s_churn_step (c, &rng);
        cluster_idle (c, LAB_ET_MS * 7 / 10);
    }
    cluster_idle (c, LAB_ET_MS);
    cluster_lock (c);
    cluster_unreliable (c, false);
    for (uint32_t id = 1; id <= 5; id++) {
        if (!cluster_is_running (c, id))
            cluster_start (c, id);
        cluster_connect (c, id);
    }
    cluster_unlock (c);
    atomic_store (&stop, true);
    for (uint32_t i = 0; i < 3; i++)
        pthread_join (threads [i], NULL);
    cluster_idle (c, LAB_ET_MS);
    uint64_t last = cluster_one (c, lab_value (&rng), 5, true);
    size_t seen = s_churn_verify (c, clients, last);
    fprintf (stderr, "%s: %llu indexes, %zu values seen committed by clients\n", tcase,
             (unsigned long long) last, seen);
    cluster_destroy (&c);
}

/* Raft §5.3-§5.4 under crash churn (lab ReliableChurn). */
START_TEST (lab_reliable_churn)
{
    s_churn (false, "lab_reliable_churn");
}
END_TEST

/* Raft §5.3-§5.4 under crash churn on a lossy network (lab
   UnreliableChurn). */
START_TEST (lab_unreliable_churn)
{
    s_churn (true, "lab_unreliable_churn");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("lab");
    /* Part A */
    lab_add (s, "lab_initial_election", lab_initial_election, LAB_TIMEOUT_S (0, 3, 3));
    lab_add (s, "lab_re_election", lab_re_election, LAB_TIMEOUT_S (0, 5, 3));
    lab_add (s, "lab_many_elections", lab_many_elections, LAB_TIMEOUT_S (0, 11, 0));
    /* Part B */
    lab_add (s, "lab_basic_agree", lab_basic_agree, LAB_TIMEOUT_S (3, 1, 0));
    lab_add (s, "lab_rpc_bytes", lab_rpc_bytes, LAB_TIMEOUT_S (11, 1, 0));
    lab_add (s, "lab_follower_failure", lab_follower_failure, LAB_TIMEOUT_S (3, 2, 3));
    lab_add (s, "lab_leader_failure", lab_leader_failure, LAB_TIMEOUT_S (3, 2, 3));
    lab_add (s, "lab_fail_agree", lab_fail_agree, LAB_TIMEOUT_S (7, 1, 2));
    lab_add (s, "lab_fail_no_agree", lab_fail_no_agree, LAB_TIMEOUT_S (2, 2, 2));
    lab_add (s, "lab_concurrent_starts", lab_concurrent_starts, LAB_TIMEOUT_S (5 * 6, 5, 5 * 3));
    lab_add (s, "lab_rejoin", lab_rejoin, LAB_TIMEOUT_S (4, 2, 0));
    lab_add (s, "lab_backup", lab_backup, LAB_TIMEOUT_S (102, 2, 1));
    lab_add (s, "lab_count", lab_count, LAB_TIMEOUT_S (5 * 11, 6, 5 * 3 + 1));
    /* Part C */
    lab_add (s, "lab_persist1", lab_persist1, LAB_TIMEOUT_S (7, 3, 0));
    lab_add (s, "lab_persist2", lab_persist2, LAB_TIMEOUT_S (16, 5, 5));
    lab_add (s, "lab_persist3", lab_persist3, LAB_TIMEOUT_S (4, 1, 0));
    lab_add (s, "lab_figure8", lab_figure8, LAB_TIMEOUT_S (2, 0, LAB_FIG8_S));
    lab_add (s, "lab_unreliable_agree", lab_unreliable_agree, LAB_TIMEOUT_S (49 + 1, 0, 0));
    lab_add (s, "lab_figure8_unreliable", lab_figure8_unreliable,
           LAB_TIMEOUT_S (2, 0, LAB_FIG8_S));
    lab_add (s, "lab_reliable_churn", lab_reliable_churn, LAB_TIMEOUT_S (1, 0, 20));
    lab_add (s, "lab_unreliable_churn", lab_unreliable_churn, LAB_TIMEOUT_S (1, 0, 20));
    return check_run (s);
}
