/*  =========================================================================
    test_faults - beyond the lab: pre-vote, check-quorum, asymmetric
    networks, leadership transfer and process pauses, on real actors over
    tcp on 127.0.0.1 (models: canonical/raft's fuzzy liveness tests and
    Jepsen's bridge nemesis)

    Bounds derive from CLUSTER_* in tests/lib/cluster.h; an apply checker
    runs on every server.
    =========================================================================
*/
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"

/* Cuts (or heals) the one-way link from -> to, at to's receiving end. */
static void
s_cut_one_way (cluster_t *c, uint32_t from, uint32_t to, bool cut)
{
    zraft_link_fault_t fault = {.cut = cut};
    ck_assert_int_eq (zraft_fault (cluster_node (c, to), from, &fault), 0);
}

static zraft_status_t
s_status (cluster_t *c, uint32_t id)
{
    zraft_status_t st;
    cluster_status (c, id, &st);
    return st;
}

/* Waits until server id's role is (or, if want is false, is not) role,
   within CLUSTER_LEADER_WAIT_MS; returns whether it happened. */
static bool
s_wait_role (cluster_t *c, uint32_t id, zraft_role_t role, bool want)
{
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    while (zclock_mono () < deadline) {
        if ((s_status (c, id).role == role) == want)
            return true;
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
    return false;
}

/* Thesis §9.6: a follower cut off for many election timeouts does not
   raise its term (its pre-votes fail), and rejoining neither raises the
   cluster's term nor unseats the leader. */
START_TEST (prevote_rejoin_keeps_term_and_leader)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint64_t term = s_status (c, leader).term;
    uint32_t lone = leader % 3 + 1;
    cluster_disconnect (c, lone);
    cluster_idle (c, 6 * CLUSTER_ELECTION_MS);
    ck_assert_uint_eq (s_status (c, lone).term, term);
    cluster_connect (c, lone);
    cluster_one (c, 2, 3, false);
    ck_assert_uint_eq (s_status (c, leader).term, term);
    ck_assert_int_eq (s_status (c, leader).role, ZRAFT_LEADER);
    cluster_destroy (&c);
}
END_TEST

/* Check-quorum: a leader that cannot reach a majority steps down within
   an election timeout (plus one for the check's period), so it stops
   accepting proposals it could never commit. */
START_TEST (check_quorum_isolated_leader_steps_down)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_disconnect (c, leader);
    ck_assert (s_wait_role (c, leader, ZRAFT_LEADER, false));
    /* Cut off, it heard no higher term: the step-down is check-quorum's. */
    ck_assert_uint_eq (s_status (c, leader).leader, 0);
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, leader, 5, &index), ZRAFT_ENOTLEADER);
    cluster_connect (c, leader);
    cluster_leader (c);
    cluster_one (c, 6, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* A one-way link (the leader's messages to one follower are lost, its
   replies still arrive): the cluster keeps a leader and commits. */
START_TEST (one_way_link_cluster_commits)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t deaf = leader % 3 + 1;
    s_cut_one_way (c, leader, deaf, true);
    for (uint64_t v = 1; v <= 10; v++)
        cluster_one (c, 100 + v, 2, true);
    cluster_leader (c);
    s_cut_one_way (c, leader, deaf, false);
    cluster_one (c, 200, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Jepsen's bridge: two sides of two servers that cannot see each other,
   and a fifth that sees both. The cluster elects a leader and commits. */
START_TEST (bridge_partition_cluster_commits)
{
    cluster_t *c = cluster_new (5);
    cluster_leader (c);
    uint32_t a [2] = {1, 2}, b [2] = {4, 5};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            s_cut_one_way (c, a [i], b [j], true);
            s_cut_one_way (c, b [j], a [i], true);
        }
    for (uint64_t v = 1; v <= 10; v++)
        cluster_one (c, 300 + v, 3, true);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            s_cut_one_way (c, a [i], b [j], false);
            s_cut_one_way (c, b [j], a [i], false);
        }
    cluster_one (c, 400, 5, true);
    cluster_destroy (&c);
}
END_TEST

/* Thesis §3.10: the leader hands over to a chosen follower, which leads
   in a higher term; proposals meanwhile get ZRAFT_EBUSY. */
START_TEST (transfer_hands_over_leadership)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint64_t term = s_status (c, leader).term;
    uint32_t target = leader % 3 + 1;
    ck_assert_int_eq (zraft_transfer (cluster_node (c, leader), target), 0);
    int rc = zraft_transfer (cluster_node (c, leader), target);
    ck_assert (rc == ZRAFT_EBUSY || rc == ZRAFT_ENOTLEADER);
    uint64_t index = 0;
    rc = cluster_propose (c, leader, 2, &index);
    ck_assert (rc == ZRAFT_EBUSY || rc == ZRAFT_ENOTLEADER);
    ck_assert (s_wait_role (c, target, ZRAFT_LEADER, true));
    ck_assert_uint_gt (s_status (c, target).term, term);
    cluster_one (c, 3, 3, true);
    ck_assert_int_eq (zraft_transfer (cluster_node (c, target), 99), ZRAFT_EINVAL);
    cluster_destroy (&c);
}
END_TEST

/* Thesis §3.10, target left to the leader (zraft_transfer peer 0): with
   both followers as up to date (nothing written since one was cut off),
   the lower id would win a tie, but a follower not heard from within an
   election timeout is never picked: the live one is, and leads. With
   no follower reachable there is no target at all. */
START_TEST (transfer_zero_picks_a_live_follower)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint32_t a = leader % 3 + 1, b = a % 3 + 1;
    uint32_t silent = a < b ? a : b, live = a < b ? b : a;
    cluster_disconnect (c, silent);
    cluster_idle (c, 2 * CLUSTER_ELECTION_MS);  /* silent past a timeout */
    ck_assert_int_eq (s_status (c, leader).role, ZRAFT_LEADER);
    uint32_t target = 0;
    ck_assert_int_eq (zraft_transfer_to (cluster_node (c, leader), 0, &target), 0);
    ck_assert_uint_eq (target, live);
    ck_assert (s_wait_role (c, live, ZRAFT_LEADER, true));
    /* The new leader alone with the silent one cut: no target. */
    cluster_disconnect (c, leader);
    cluster_idle (c, CLUSTER_ELECTION_MS);      /* no follower heard since */
    int rc = zraft_transfer_to (cluster_node (c, live), 0, &target);
    ck_assert (rc == ZRAFT_EINVAL || rc == ZRAFT_ENOTLEADER);  /* check-quorum */
    ck_assert_uint_eq (target, 0);
    cluster_connect (c, leader);
    cluster_connect (c, silent);
    cluster_one (c, 2, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Thesis §3.10: a transfer to an unreachable server times out within an
   election timeout and the old leader carries on. */
START_TEST (transfer_to_unreachable_times_out)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint32_t target = leader % 3 + 1;
    cluster_disconnect (c, target);
    ck_assert_int_eq (zraft_transfer (cluster_node (c, leader), target), 0);
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, leader, 2, &index), ZRAFT_EBUSY);
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    int rc = ZRAFT_EBUSY;
    while (rc == ZRAFT_EBUSY && zclock_mono () < deadline) {
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
        rc = cluster_propose (c, leader, 3, &index);
    }
    ck_assert_int_eq (rc, 0);
    ck_assert_int_eq (s_status (c, leader).role, ZRAFT_LEADER);
    ck_assert_uint_eq (cluster_wait_committed (c, index, 2, CLUSTER_COMMIT_WAIT_MS), 2);
    cluster_connect (c, target);
    cluster_destroy (&c);
}
END_TEST

/* Every node stalls at once for many election timeouts (a frozen
   machine, a process starved of CPU): the cluster wakes with the same
   leader in the same term, for no node counts the stall as its peers'
   silence (actors/node.h, "The node's clock"); each counts it as
   stalled instead. */
START_TEST (pause_all_keeps_leader_and_term)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint64_t term = s_status (c, leader).term;
    uint64_t elections [4] = {0};
    for (uint32_t id = 1; id <= 3; id++)
        elections [id] = s_status (c, id).elections;
    /* The leader last: the followers wake first, and their timers
       (drawn from [election, 2 election)) leave more room than the
       leader's check-quorum for the moments between the pauses. */
    const uint32_t pause_ms = 5 * CLUSTER_ELECTION_MS;
    for (uint32_t id = 1; id <= 3; id++)
        if (id != leader)
            ck_assert_int_eq (zraft_pause (cluster_node (c, id), pause_ms), 0);
    ck_assert_int_eq (zraft_pause (cluster_node (c, leader), pause_ms), 0);
    /* Through the leader, which replicates to both followers once all
       three run again; no retry, so a change of leader fails here. */
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, leader, 2, &index), 0);
    ck_assert_uint_eq (cluster_wait_committed (c, index, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    for (uint32_t id = 1; id <= 3; id++) {
        zraft_status_t st = s_status (c, id);
        ck_assert_uint_eq (st.term, term);
        ck_assert_uint_eq (st.leader, leader);
        ck_assert_uint_eq (st.elections, elections [id]);
        ck_assert_uint_ge (st.stalls, 1);
        ck_assert_uint_ge (st.stalled_ms, pause_ms - 2 * CLUSTER_HEARTBEAT_MS);
    }
    cluster_destroy (&c);
}
END_TEST

/* A leader frozen for longer than the election timeout (as by SIGSTOP)
   resumes, learns it is stale, and what it accepted as a stale leader is
   never applied; the new leader's entries are. */
START_TEST (pause_stale_leader_never_commits)
{
    cluster_t *c = cluster_new (3);
    uint32_t old = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint64_t old_term = s_status (c, old).term;
    ck_assert_int_eq (zraft_pause (cluster_node (c, old), 5 * CLUSTER_ELECTION_MS), 0);
    /* The others elect a new leader while the old one sleeps. */
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    uint32_t fresh = 0;
    while (!fresh && zclock_mono () < deadline) {
        for (uint32_t id = 1; id <= 3; id++)
            if (id != old && s_status (c, id).role == ZRAFT_LEADER)
                fresh = id;
        if (!fresh)
            cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    }
    ck_assert_uint_ne (fresh, 0);
    uint64_t committed = cluster_one (c, 2, 2, true);
    /* Blocks until the old leader's thread wakes, then it may still
       believe it leads: whatever it accepts in its old term must never
       commit. (On a slow machine the pause may be over by now and the
       old leader elected again, in a later term: what it accepts then
       commits, rightly.) */
    uint64_t stale = 0, term = 0;
    int rc = cluster_propose_shared (c, old, 666, &stale, &term);
    cluster_one (c, 3, 3, true);
    if (rc == 0 && term == old_term) {
        uint64_t value = 0;
        cluster_n_committed (c, stale, &value);
        ck_assert_uint_ne (value, 666);
    }
    ck_assert_uint_eq (cluster_wait_committed (c, committed, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_destroy (&c);
}
END_TEST


/* A full disk (brief: bad input "gets a clear error and loses nothing"):
   a follower whose WAL cannot grow reports disk_failed and acknowledges
   nothing more, while the other two keep committing; moved to a disk
   with room, it recovers everything it had made durable and catches up.
   The small disk is a 5 MiB tmpfs: the WAL's two first segments fit, the
   third (prepared once the second is half full) does not. Mounting needs
   root, as the suite's set-up does. */

/* Commits 128 KiB commands until server f reports its full disk (about
   4 MiB of them), failing the test if it never does; returns its
   status then. */
static zraft_status_t
s_fill_disk (cluster_t *c, uint32_t f)
{
    size_t size = 128u << 10;
    uint64_t value = 2, bound = 2 + 2 * (5u << 20) / size;
    zraft_status_t st = s_status (c, f);
    while (!st.disk_failed && value < bound) {
        cluster_one_bytes (c, value++, size, 2, true);
        st = s_status (c, f);
    }
    ck_assert_msg (st.disk_failed, "n%u never reported its full disk", f);
    return st;
}

START_TEST (full_disk_stops_acks_loses_nothing)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t f = leader % 3 + 1;
    cluster_one (c, 1, 3, false);
    char home [256], small [64];
    cluster_small_disk (c, f, home, sizeof home, small, sizeof small);
    zraft_status_t st = s_fill_disk (c, f);
    uint64_t durable = st.persisted;
    /* Two servers still make a majority; the full one acknowledges
       nothing more (its durable index stays put). */
    uint64_t last = 0;
    for (uint64_t v = 0; v < 5; v++)
        last = cluster_one (c, 9000 + v, 2, true);
    st = s_status (c, f);
    ck_assert (st.disk_failed);
    ck_assert_uint_eq (st.persisted, durable);
    ck_assert_uint_lt (st.persisted, last);
    /* Moved to a disk with room, it keeps every durable entry. */
    cluster_stop (c, f);
    cluster_copy_files (small, home);
    ck_assert_int_eq (umount (small), 0);
    ck_assert_int_eq (rmdir (small), 0);
    cluster_set_dir (c, f, home);
    cluster_start (c, f);
    st = s_status (c, f);
    ck_assert (!st.disk_failed);
    ck_assert_uint_ge (st.last_index, durable);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_one (c, 9999, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* A full disk on the leader (issue: "steps down if leader"): a leader
   whose WAL fails sends nothing more, so its followers elect another
   leader within a few election timeouts instead of waiting on one that
   refuses every proposal; commits go on with the two. */
START_TEST (full_disk_leader_steps_down)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t f = leader % 3 + 1;
    cluster_one (c, 1, 3, false);
    char home [256], small [64];
    cluster_small_disk (c, f, home, sizeof home, small, sizeof small);
    cluster_one (c, 2, 3, true);        /* f is caught up */
    /* A transfer is abandoned if f does not catch up within an election
       timeout (a loaded machine, a sanitizer build): ask again. */
    bool led = false;
    for (int attempt = 0; attempt < 5 && !led; attempt++) {
        leader = cluster_leader (c);
        if (leader != f)
            zraft_transfer (cluster_node (c, leader), f);
        led = s_wait_role (c, f, ZRAFT_LEADER, true);
    }
    ck_assert_msg (led, "n%u never took over the leadership", f);
    s_fill_disk (c, f);
    /* A leader other than f, and commits without it. */
    ck_assert (s_wait_role (c, f, ZRAFT_LEADER, false));
    ck_assert_uint_ne (cluster_leader (c), f);
    cluster_one (c, 9000, 2, true);
    ck_assert (s_status (c, f).disk_failed);
    cluster_stop (c, f);
    ck_assert_int_eq (umount (small), 0);
    ck_assert_int_eq (rmdir (small), 0);
    cluster_set_dir (c, f, home);
    cluster_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("faults");
    TCase *tc = tcase_create ("faults");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, prevote_rejoin_keeps_term_and_leader);
    tcase_add_test (tc, check_quorum_isolated_leader_steps_down);
    tcase_add_test (tc, one_way_link_cluster_commits);
    tcase_add_test (tc, bridge_partition_cluster_commits);
    tcase_add_test (tc, transfer_hands_over_leadership);
    tcase_add_test (tc, transfer_to_unreachable_times_out);
    tcase_add_test (tc, transfer_zero_picks_a_live_follower);
    tcase_add_test (tc, pause_all_keeps_leader_and_term);
    tcase_add_test (tc, pause_stale_leader_never_commits);
    tcase_add_test (tc, full_disk_stops_acks_loses_nothing);
    tcase_add_test (tc, full_disk_leader_steps_down);
    suite_add_tcase (s, tc);
    return check_run (s);
}
