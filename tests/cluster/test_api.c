/*  =========================================================================
    test_api - the application's API (include/zraft.h) on real servers

    Submissions with tokens and their RESULT events (apply's result, the
    leader's hint, back-pressure at submit_max, entries lost to another
    leader's, a snapshot that leaves the outcome unknown), ROLE events,
    zraft_wait_leader, stale and linearizable queries, applies on the
    node's thread (config.apply_on_node), an application loop hosted on
    the node's thread (zraft_host), zraft_destroy with results
    outstanding, and the actors' thread names. (Where the library's log lines go is in
    test_cluster.) Every test opens with the rule it checks;
    waits derive from the cluster's timing (tests/lib/cluster.h).
    =========================================================================
*/
#include <check.h>
#include <dirent.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"

/* The value and index apply's result carries (cluster.h). */
static void
s_answer (const zraft_event_t *event, uint64_t *value, uint64_t *index)
{
    ck_assert_ptr_nonnull (event->data);
    ck_assert_uint_eq (event->size, CLUSTER_RESULT_BYTES);
    uint64_t answer [2];
    memcpy (answer, event->data, sizeof answer);
    *value = answer [0];
    *index = answer [1];
}

/* Submits value on server id and returns its token. */
static uint64_t
s_submit (cluster_t *c, uint32_t id, uint64_t value)
{
    uint64_t token = 0;
    ck_assert_int_eq (cluster_submit (c, id, value, &token), 0);
    return token;
}

/* --------------------------------------------------------------- submit */

/* A submission's RESULT carries its token, the entry's index and term,
   and apply's result; a follower refuses with ZRAFT_ENOTLEADER and names
   the leader. */
START_TEST (submit_result_carries_token_and_apply_result)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    uint64_t token = s_submit (c, leader, 77);
    zraft_event_t event;
    cluster_result_wait (c, leader, token, &event);
    ck_assert_int_eq (event.status, 0);
    ck_assert_uint_eq (event.term, st.term);
    uint64_t value = 0, index = 0;
    s_answer (&event, &value, &index);
    ck_assert_uint_eq (value, 77);
    ck_assert_uint_eq (index, event.index);
    uint64_t applied = 0;
    ck_assert_uint_ge (cluster_wait_committed (c, event.index, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    ck_assert_uint_eq (cluster_n_committed (c, event.index, &applied), 3);
    ck_assert_uint_eq (applied, 77);
    zraft_event_release (&event);
    ck_assert_ptr_null (event.data);
    uint32_t follower = leader % 3 + 1;
    token = s_submit (c, follower, 78);
    cluster_result_wait (c, follower, token, &event);
    ck_assert_int_eq (event.status, ZRAFT_ENOTLEADER);
    ck_assert_uint_eq (event.leader, leader);
    ck_assert_ptr_null (event.data);
    zraft_event_release (&event);
    cluster_destroy (&c);
}
END_TEST

/* zraft_submit_many appends a batch at consecutive indexes in one term,
   one message to the node, and answers every token; n out of range is
   refused at once. */
START_TEST (submit_many_answers_every_token)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    zraft_t *node = cluster_node (c, leader);
    uint64_t values [64], tokens [64];
    const void *datas [64];
    size_t sizes [64];
    for (int i = 0; i < 64; i++) {
        values [i] = 5000 + (uint64_t) i;
        tokens [i] = cluster_token (c);
        datas [i] = &values [i];
        sizes [i] = sizeof values [i];
    }
    ck_assert_int_eq (zraft_submit_many (node, tokens, datas, sizes, 64), 0);
    uint64_t first = 0, term = 0;
    for (int i = 0; i < 64; i++) {
        zraft_event_t event;
        cluster_result_wait (c, leader, tokens [i], &event);
        ck_assert_int_eq (event.status, 0);
        if (i == 0) {
            first = event.index;
            term = event.term;
        }
        ck_assert_uint_eq (event.index, first + (uint64_t) i);
        ck_assert_uint_eq (event.term, term);
        uint64_t value = 0, index = 0;
        s_answer (&event, &value, &index);
        ck_assert_uint_eq (value, values [i]);
        zraft_event_release (&event);
    }
    ck_assert_uint_eq (cluster_wait_committed (c, first + 63, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    ck_assert_int_eq (zraft_submit_many (node, tokens, datas, sizes, 0), ZRAFT_EINVAL);
    ck_assert_int_eq (zraft_submit_many (node, tokens, datas, sizes,
                                         ZRAFT_SUBMIT_MANY_MAX + 1), ZRAFT_EINVAL);
    uint8_t big [16] = {0};
    ck_assert_int_eq (zraft_submit (node, 1, big, ZRAFT_ENTRY_BYTES_MAX + 1),
                      ZRAFT_ETOOBIG);
    cluster_destroy (&c);
}
END_TEST

/* Receives the next RESULT from node, skipping ROLE events. */
static void
s_recv_result (zraft_t *node, zraft_event_t *event)
{
    do {
        ck_assert_int_eq (zraft_recv (node, event, CLUSTER_COMMIT_WAIT_MS), 0);
    } while (event->type == ZRAFT_EVENT_ROLE);
    ck_assert_int_eq (event->type, ZRAFT_EVENT_RESULT);
}

/* Back-pressure: with submit_max submissions and queries outstanding
   (their RESULT not received), the next is refused with ZRAFT_EAGAIN at
   once, all or nothing; each RESULT received makes room for one. */
START_TEST (submit_eagain_at_submit_max)
{
    cluster_t *c = cluster_new (1);
    cluster_stop (c, 1);
    cluster_set_submit_max (c, 4);
    cluster_start (c, 1);
    ck_assert_uint_eq (cluster_leader (c), 1);
    zraft_t *node = cluster_node (c, 1);
    uint64_t value = 9;
    for (uint64_t token = 1; token <= 3; token++)
        ck_assert_int_eq (zraft_submit (node, token, &value, sizeof value), 0);
    ck_assert_int_eq (zraft_query (node, 4, &value, sizeof value, ZRAFT_QUERY_STALE), 0);
    ck_assert_int_eq (zraft_submit (node, 5, &value, sizeof value), ZRAFT_EAGAIN);
    ck_assert_int_eq (zraft_query (node, 5, &value, sizeof value, 0), ZRAFT_EAGAIN);
    zraft_event_t event;
    s_recv_result (node, &event);
    zraft_event_release (&event);
    /* One free: a batch of two does not fit, a single one does. */
    uint64_t two [2] = {6, 7};
    const void *datas [2] = {&value, &value};
    size_t sizes [2] = {sizeof value, sizeof value};
    ck_assert_int_eq (zraft_submit_many (node, two, datas, sizes, 2), ZRAFT_EAGAIN);
    ck_assert_int_eq (zraft_submit (node, 6, &value, sizeof value), 0);
    ck_assert_int_eq (zraft_submit (node, 7, &value, sizeof value), ZRAFT_EAGAIN);
    /* Every one accepted is answered exactly once. */
    bool seen [8] = {false};
    for (int k = 0; k < 4; k++) {
        s_recv_result (node, &event);
        ck_assert_int_eq (event.status, 0);
        ck_assert (event.token >= 1 && event.token <= 6 && !seen [event.token]);
        seen [event.token] = true;
        zraft_event_release (&event);
    }
    int rc;
    while ((rc = zraft_recv (node, &event, 0)) == 0)
        ck_assert_int_eq (event.type, ZRAFT_EVENT_ROLE);
    ck_assert_int_eq (rc, ZRAFT_EAGAIN);
    ck_assert_int_eq (zraft_submit (node, 8, &value, sizeof value), 0);
    cluster_destroy (&c);
}
END_TEST

/* Figure 7/8: a leader cut off from the others appends a submission that
   never commits; the others elect a leader that commits its own entries
   at that index. Back, the old leader answers the token ZRAFT_ELOST,
   with the index and term it was appended at, and nobody applied it. */
START_TEST (submit_lost_to_another_leaders_entry)
{
    cluster_t *c = cluster_new (3);
    cluster_one (c, 10, 3, false);
    uint32_t old = cluster_leader (c);
    zraft_status_t st;
    cluster_status (c, old, &st);
    cluster_disconnect (c, old);
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, old, 666, &index), 0);
    uint64_t token = 0;
    ck_assert_int_eq (cluster_submit (c, old, 667, &token), 0);
    for (uint64_t v = 11; v <= 13; v++)
        cluster_one (c, v, 2, true);
    cluster_connect (c, old);
    zraft_event_t event;
    cluster_result_wait (c, old, token, &event);
    ck_assert_int_eq (event.status, ZRAFT_ELOST);
    ck_assert_uint_eq (event.index, index + 1);
    ck_assert_uint_eq (event.term, st.term);
    ck_assert_ptr_null (event.data);
    zraft_event_release (&event);
    cluster_one (c, 14, 3, true);
    /* The new leader's no-op and its first command took both indexes. */
    uint64_t applied = 0;
    for (uint64_t k = index; k <= index + 1; k++) {
        cluster_n_committed (c, k, &applied);
        ck_assert (applied != 666 && applied != 667);
    }
    cluster_destroy (&c);
}
END_TEST

/* A cut-off leader's submission whose index a snapshot from the new
   leader covers: the snapshot's last entry is of a later term, so the
   old leader cannot tell whether it holds the entry: ZRAFT_EUNKNOWN. */
START_TEST (submit_unknown_under_a_snapshot)
{
    cluster_snapshots_t snap = {.entries = 8, .trailing = 2,
                                .chunk_bytes = 4096};
    cluster_t *c = cluster_new_snapshots (3, &snap);
    cluster_one (c, 10, 3, false);
    uint32_t old = cluster_leader (c);
    cluster_disconnect (c, old);
    uint64_t token = 0;
    ck_assert_int_eq (cluster_submit (c, old, 666, &token), 0);
    for (uint64_t v = 11; v <= 40; v++)
        cluster_one (c, v, 2, true);
    cluster_connect (c, old);
    zraft_event_t event;
    cluster_result_wait (c, old, token, &event);
    ck_assert_int_eq (event.status, ZRAFT_EUNKNOWN);
    zraft_event_release (&event);
    cluster_one (c, 41, 3, true);
    ck_assert_uint_ge (cluster_restores (c, old), 1);
    cluster_destroy (&c);
}
END_TEST

/* ----------------------------------------------------------------- role */

/* Waits for a ROLE event on server id with the role wanted (earlier ones
   may say where the server stood on the way); returns it. */
static zraft_event_t
s_role (cluster_t *c, uint32_t id, zraft_role_t role)
{
    zraft_event_t event;
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    do {
        ck_assert_msg (cluster_role_event (c, id, deadline - zclock_mono (), &event),
                       "n%u: no ROLE event with role %d", id, role);
        ck_assert_int_eq (event.type, ZRAFT_EVENT_ROLE);
    } while (event.role != role);
    return event;
}

/* ROLE events: the leader learns it leads (with its term and itself as
   leader), a follower learns who leads; after a leadership transfer the
   old leader reports following the new one and the new one leading. */
START_TEST (role_events_follow_leadership)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    zraft_event_t event = s_role (c, leader, ZRAFT_LEADER);
    ck_assert_uint_eq (event.leader, leader);
    ck_assert_uint_eq (event.term, st.term);
    uint32_t follower = leader % 3 + 1;
    do
        event = s_role (c, follower, ZRAFT_FOLLOWER);
    while (event.leader != leader);
    ck_assert_uint_eq (event.term, st.term);
    ck_assert_int_eq (zraft_transfer (cluster_node (c, leader), follower), 0);
    event = s_role (c, follower, ZRAFT_LEADER);
    ck_assert_uint_eq (event.leader, follower);
    ck_assert_uint_gt (event.term, st.term);
    do
        event = s_role (c, leader, ZRAFT_FOLLOWER);
    while (event.leader != follower);
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------- threads */

/* True if a thread of this process is named name (/proc's comm). */
static bool
s_thread_named (const char *name)
{
    DIR *dir = opendir ("/proc/self/task");
    ck_assert_ptr_nonnull (dir);
    bool found = false;
    struct dirent *d;
    while (!found && (d = readdir (dir))) {
        if (d->d_name [0] == '.')
            continue;
        char path [300], comm [64] = "";
        snprintf (path, sizeof path, "/proc/self/task/%s/comm", d->d_name);
        FILE *f = fopen (path, "r");
        if (!f)
            continue;                   /* the thread ended meanwhile */
        if (fgets (comm, sizeof comm, f))
            comm [strcspn (comm, "\n")] = 0;
        fclose (f);
        found = streq (comm, name);
    }
    closedir (dir);
    return found;
}

/* Every server's actor threads carry its id and their role, so that
   top -H, perf and gdb tell them apart. */
START_TEST (threads_are_named_by_server_and_role)
{
    cluster_t *c = cluster_new (3);
    cluster_leader (c);
    const char *roles [] = {"node", "persist", "apply"};
    char name [16];
    for (uint32_t id = 1; id <= 3; id++) {
        for (size_t r = 0; r < sizeof roles / sizeof roles [0]; r++) {
            snprintf (name, sizeof name, "zr%u-%s", id, roles [r]);
            ck_assert_msg (s_thread_named (name), "no thread %s", name);
        }
        for (uint32_t peer = 1; peer <= 3; peer++) {
            if (peer == id)
                continue;
            snprintf (name, sizeof name, "zr%u-to%u", id, peer);
            ck_assert_msg (s_thread_named (name), "no thread %s", name);
        }
    }
    ck_assert (s_thread_named ("zr-timer"));
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------- wait leader */

/* zraft_wait_leader answers once a leader is known; without a majority
   none is, and it times out no sooner than asked. */
START_TEST (wait_leader_answers_or_times_out)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = 0;
    ck_assert_int_eq (zraft_wait_leader (cluster_node (c, 1), CLUSTER_LEADER_WAIT_MS,
                                         &leader), 0);
    ck_assert_uint_eq (leader, cluster_leader (c));
    uint32_t alone = leader;
    for (uint32_t id = 1; id <= 3; id++)
        if (id != alone)
            cluster_stop (c, id);
    /* Check-quorum: the leader steps down within an election timeout
       or two, and with pre-vote nobody is elected. */
    zraft_status_t st;
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    do {
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
        cluster_status (c, alone, &st);
    } while (st.leader != 0 && zclock_mono () < deadline);
    ck_assert_uint_eq (st.leader, 0);
    int64_t start = zclock_mono ();
    ck_assert_int_eq (zraft_wait_leader (cluster_node (c, alone), 2 * CLUSTER_ELECTION_MS,
                                         &leader), ZRAFT_ETIMEDOUT);
    ck_assert_int_ge (zclock_mono () - start, 2 * CLUSTER_ELECTION_MS);
    ck_assert_uint_eq (leader, 0);
    cluster_start (c, alone % 3 + 1);
    ck_assert_int_eq (zraft_wait_leader (cluster_node (c, alone), CLUSTER_LEADER_WAIT_MS,
                                         &leader), 0);
    ck_assert_uint_ne (leader, 0);
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------------- query */

/* Runs a query on server id and returns its RESULT. */
static zraft_event_t
s_query (cluster_t *c, uint32_t id, uint64_t asked, int flags)
{
    uint64_t token = cluster_token (c);
    ck_assert_int_eq (zraft_query (cluster_node (c, id), token, &asked, sizeof asked,
                                   flags), 0);
    zraft_event_t event;
    cluster_result_wait (c, id, token, &event);
    return event;
}

/* Thesis §6.4: a linearizable query on the leader sees every write
   acknowledged before it (its read index is at least their index); on a
   follower it is refused with the leader's id; a query the state
   machine refuses comes back ZRAFT_EINVAL; unknown flags are refused
   at once. */
START_TEST (query_linearizable_sees_acknowledged_writes)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    for (uint64_t v = 1; v <= 5; v++) {
        uint64_t token = s_submit (c, leader, 100 + v);
        zraft_event_t write;
        cluster_result_wait (c, leader, token, &write);
        ck_assert_int_eq (write.status, 0);
        zraft_event_t read = s_query (c, leader, 0, 0);
        ck_assert_int_eq (read.status, 0);
        ck_assert_uint_ge (read.index, write.index);
        ck_assert_uint_eq (read.term, write.term);
        uint64_t value = 0, applied = 0;
        s_answer (&read, &value, &applied);
        ck_assert_uint_ge (applied, write.index);
        ck_assert_uint_eq (value, 100 + v);
        zraft_event_release (&write);
        zraft_event_release (&read);
    }
    uint32_t follower = leader % 3 + 1;
    zraft_event_t event = s_query (c, follower, 0, 0);
    ck_assert_int_eq (event.status, ZRAFT_ENOTLEADER);
    ck_assert_uint_eq (event.leader, leader);
    event = s_query (c, leader, CLUSTER_QUERY_REFUSED, 0);
    ck_assert_int_eq (event.status, ZRAFT_EINVAL);
    ck_assert_ptr_null (event.data);
    uint64_t asked = 0;
    ck_assert_int_eq (zraft_query (cluster_node (c, leader), 1, &asked, sizeof asked, 2),
                      ZRAFT_EINVAL);
    cluster_destroy (&c);
}
END_TEST

/* A stale query runs on any server as it is: a follower cut off from
   the leader answers from what it applied, missing the writes committed
   since; a linearizable query on a cut-off leader is never answered
   from its state: it fails once the leader steps down. */
START_TEST (query_stale_answers_cut_off_linearizable_does_not)
{
    cluster_t *c = cluster_new (3);
    uint64_t before = cluster_one (c, 50, 3, false);
    uint32_t leader = cluster_leader (c);
    uint32_t follower = leader % 3 + 1;
    cluster_disconnect (c, follower);
    uint64_t after = cluster_one (c, 51, 2, false);
    zraft_event_t event = s_query (c, follower, 0, ZRAFT_QUERY_STALE);
    ck_assert_int_eq (event.status, 0);
    uint64_t value = 0, applied = 0;
    s_answer (&event, &value, &applied);
    ck_assert_uint_ge (applied, before);
    ck_assert_uint_lt (applied, after);
    ck_assert_uint_eq (value, 50);
    ck_assert_uint_eq (event.index, applied);
    zraft_event_release (&event);
    cluster_connect (c, follower);
    ck_assert_uint_eq (cluster_wait_committed (c, after, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    leader = cluster_leader (c);
    cluster_disconnect (c, leader);
    uint64_t token = cluster_token (c);
    uint64_t asked = 0;
    ck_assert_int_eq (zraft_query (cluster_node (c, leader), token, &asked, sizeof asked,
                                   0), 0);
    ck_assert (cluster_result (c, leader, token, CLUSTER_LEADER_WAIT_MS, &event));
    ck_assert_int_eq (event.status, ZRAFT_ENOTLEADER);
    cluster_connect (c, leader);
    cluster_destroy (&c);
}
END_TEST

/* Waits until server id has applied index (its status), failing the
   test after CLUSTER_COMMIT_WAIT_MS. */
static void
s_wait_applied (cluster_t *c, uint32_t id, uint64_t index)
{
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    zraft_status_t st;
    cluster_status (c, id, &st);
    while (st.applied < index && zclock_mono () < deadline) {
        cluster_idle (c, 1);
        cluster_status (c, id, &st);
    }
    ck_assert_uint_ge (st.applied, index);
}

/* Submits n writes (values first..) and n queries on server id,
   interleaved and none awaited before the next; every other query is
   stale if mix_stale, the rest linearizable. Then every RESULT must be
   a success, and a linearizable read's answer must come from a state
   that applied its read index. n <= 64. */
static void
s_interleaved (cluster_t *c, uint32_t id, int n, uint64_t first, bool mix_stale)
{
    ck_assert_int_le (n, 64);
    uint64_t writes [64], reads [64];
    for (int i = 0; i < n; i++) {
        writes [i] = s_submit (c, id, first + (uint64_t) i);
        reads [i] = cluster_token (c);
        uint64_t asked = 0;
        ck_assert_int_eq (zraft_query (cluster_node (c, id), reads [i], &asked,
                                       sizeof asked, mix_stale ? i % 2 : 0), 0);
    }
    for (int i = 0; i < n; i++) {
        zraft_event_t write, read;
        cluster_result_wait (c, id, writes [i], &write);
        cluster_result_wait (c, id, reads [i], &read);
        ck_assert_int_eq (write.status, 0);
        ck_assert_int_eq (read.status, 0);
        uint64_t value = 0, applied = 0;
        s_answer (&read, &value, &applied);
        if (!mix_stale || i % 2 == 0)
            ck_assert_uint_ge (applied, read.index);
        zraft_event_release (&write);
        zraft_event_release (&read);
    }
}

/* config.query_on_node (zraft.h): a linearizable query whose read index
   is applied, with the applier idle, runs on the node's thread, and sees
   what one through the applier sees: every write acknowledged before
   it. Queries among writes still being applied go through the applier
   (or run on the node when it caught up), and each runs after its read
   index was applied; the checker fails if two callbacks ever overlap. */
START_TEST (query_on_node_sees_acknowledged_writes)
{
    cluster_t *c = cluster_new (3);
    cluster_set_query_on_node (c, true);
    cluster_restart_all (c);
    uint32_t leader = cluster_leader (c);
    for (uint64_t v = 1; v <= 5; v++) {
        uint64_t token = s_submit (c, leader, 200 + v);
        zraft_event_t write;
        cluster_result_wait (c, leader, token, &write);
        ck_assert_int_eq (write.status, 0);
        s_wait_applied (c, leader, write.index);        /* the applier is idle */
        zraft_status_t before;
        cluster_status (c, leader, &before);
        zraft_event_t read = s_query (c, leader, 0, 0);
        ck_assert_int_eq (read.status, 0);
        ck_assert_uint_ge (read.index, write.index);
        uint64_t value = 0, applied = 0;
        s_answer (&read, &value, &applied);
        ck_assert_uint_ge (applied, write.index);
        ck_assert_uint_eq (value, 200 + v);
        zraft_status_t after;
        cluster_status (c, leader, &after);
        ck_assert_uint_eq (after.queries_on_node, before.queries_on_node + 1);
        zraft_event_release (&write);
        zraft_event_release (&read);
    }
    s_interleaved (c, leader, 32, 300, false);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* --------------------------------------------------------------- apply */

/* Restarts every server of c with config.apply_on_node on, and no feed
   (config.subs_max 0), which it needs (zraft.h). */
static void
s_apply_on_node (cluster_t *c)
{
    cluster_set_apply_on_node (c, true);
    cluster_set_subs_max (c, 0);
    cluster_restart_all (c);
}

/* config.apply_on_node (zraft.h): a small committed run, with the
   applier idle, is applied on the node's thread, on every server, and
   its RESULT carries apply's result as the applier's would; a burst of
   writes and queries, none awaited before the next, is answered in
   full; the checker fails if two callbacks ever overlap or an index is
   applied out of order. */
START_TEST (apply_on_node_answers_as_the_applier)
{
    cluster_t *c = cluster_new (3);
    s_apply_on_node (c);
    uint32_t leader = cluster_leader (c);
    zraft_status_t before;
    cluster_status (c, leader, &before);
    for (uint64_t v = 1; v <= 5; v++) {
        uint64_t token = s_submit (c, leader, 500 + v);
        zraft_event_t write;
        cluster_result_wait (c, leader, token, &write);
        ck_assert_int_eq (write.status, 0);
        uint64_t value = 0, index = 0;
        s_answer (&write, &value, &index);
        ck_assert_uint_eq (value, 500 + v);
        ck_assert_uint_eq (index, write.index);
        zraft_event_release (&write);
    }
    zraft_status_t after;
    cluster_status (c, leader, &after);
    ck_assert_uint_ge (after.applies_on_node, before.applies_on_node + 5);
    ck_assert_uint_ge (after.applied, before.applied + 5);
    uint64_t last = cluster_one (c, 600, 3, false);     /* on every server */
    for (uint32_t id = 1; id <= 3; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        ck_assert_uint_ge (st.applied, last);
        ck_assert_uint_gt (st.applies_on_node, 0);
    }
    s_interleaved (c, leader, 64, 700, true);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* Snapshots with config.apply_on_node: the node stops applying while
   one is taken (the applier holds the state machine) and resumes after;
   every snapshot covers what was applied before it (the checker's
   rule), and a follower that fell behind installs one and catches up. */
START_TEST (apply_on_node_with_snapshots)
{
    cluster_snapshots_t snap = {.entries = 8, .trailing = 2,
                                .chunk_bytes = 4096};
    cluster_t *c = cluster_new_snapshots (3, &snap);
    s_apply_on_node (c);
    uint32_t leader = cluster_leader (c);
    for (uint64_t v = 1; v <= 40; v++)
        cluster_one (c, v, 3, true);
    uint32_t behind = leader % 3 + 1;
    cluster_stop (c, behind);
    for (uint64_t v = 41; v <= 80; v++)
        cluster_one (c, v, 2, true);
    cluster_start (c, behind);
    cluster_one (c, 81, 3, true);
    ck_assert_uint_ge (cluster_restores (c, behind), 1);
    zraft_status_t st;
    cluster_status (c, cluster_leader (c), &st);
    ck_assert_uint_gt (st.snapshots, 0);
    ck_assert_uint_gt (st.applies_on_node, 0);
    cluster_check (c);
    cluster_destroy (&c);
}
END_TEST

/* ---------------------------------------------------------------- host */

/* A guest loop for zraft_host: "put V" submits V and answers "ok
   STATUS" with its RESULT, "status" answers "term T" from zraft_status
   (a synchronous call from the node's thread), "quit" ends the hosting
   on the next call without input (the timeout path). */
typedef struct {
    zraft_t *node;
    zsock_t *sock;                      /* the guest's end of the pipe */
    pthread_t test_thread;
    bool on_test_thread;                /* handle ever ran on the test's */
    bool quitting;
    int null_calls;                     /* handle (NULL) calls */
    int wait_rc, nested_rc, recv_rc;    /* inside handle, at the first put */
    uint64_t token;
} s_guest_t;

static int
s_guest_timeout (void *arg)
{
    s_guest_t *g = (s_guest_t *) arg;
    return g->quitting ? 1 : -1;
}

static bool
s_guest_handle (void *arg, void *which)
{
    s_guest_t *g = (s_guest_t *) arg;
    if (pthread_equal (pthread_self (), g->test_thread))
        g->on_test_thread = true;
    if (!which) {
        g->null_calls++;
        return !g->quitting;
    }
    if (which == g->sock) {
        char *request = zstr_recv (g->sock);
        ck_assert_ptr_nonnull (request);
        if (strncmp (request, "put ", 4) == 0) {
            if (g->token == 0) {
                zraft_host_t nested = {.readers = {g->sock}, .n_readers = 1,
                                       .handle = s_guest_handle, .arg = g};
                g->nested_rc = zraft_host (g->node, &nested);
                g->wait_rc = zraft_wait_leader (g->node, -1, NULL);
                zraft_event_t event;        /* -1: would wait forever */
                while ((g->recv_rc = zraft_recv (g->node, &event, -1)) == 0)
                    zraft_event_release (&event);
            }
            uint64_t value = strtoull (request + 4, NULL, 10);
            g->token++;
            ck_assert_int_eq (zraft_submit (g->node, g->token, &value,
                                            sizeof value), 0);
        }
        else
        if (streq (request, "status")) {
            zraft_status_t st;
            ck_assert_int_eq (zraft_status (g->node, &st), 0);
            zstr_sendf (g->sock, "term %" PRIu64, st.term);
        }
        else {
            ck_assert_str_eq (request, "quit");
            g->quitting = true;
        }
        zstr_free (&request);
    }
    else {
        ck_assert_ptr_eq (which, zraft_events (g->node));
        zraft_event_t event;
        while (zraft_recv (g->node, &event, 0) == 0) {
            if (event.type == ZRAFT_EVENT_RESULT) {
                ck_assert_uint_eq (event.token, g->token);
                zstr_sendf (g->sock, "ok %d", event.status);
            }
            zraft_event_release (&event);
        }
    }
    return true;
}

/* The client of the guest, on its own thread: 10 puts, a status, quit.
   Reports the puts answered "ok 0" and the status line. */
static void
s_guest_client (zsock_t *pipe, void *args)
{
    zsock_t *front = (zsock_t *) args;
    zsock_signal (pipe, 0);
    int ok = 0;
    for (int i = 1; i <= 10; i++) {
        zstr_sendf (front, "put %d", 700 + i);
        char *reply = zstr_recv (front);
        ok += reply && streq (reply, "ok 0");
        zstr_free (&reply);
    }
    zstr_send (front, "status");
    char *status = zstr_recv (front);
    zstr_send (front, "quit");
    zsock_send (pipe, "is", ok, status ? status : "");
    zstr_free (&status);
    char *term = zstr_recv (pipe);      /* $TERM */
    zstr_free (&term);
}

/* zraft_host: the guest's loop runs on the node's thread, not the
   caller's; its submissions are answered through the events it reads
   there; a synchronous call (zraft_status) is answered from there;
   zraft_wait_leader and a nested zraft_host are refused, zraft_recv
   does not wait; the hosting ends through the timeout path, after which
   the handle is the caller's again. Bad hosts are refused. */
START_TEST (host_runs_the_loop_on_the_node_thread)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    zraft_t *node = cluster_node (c, leader);
    zraft_host_t bad = {.n_readers = 0, .handle = s_guest_handle};
    ck_assert_int_eq (zraft_host (node, &bad), ZRAFT_EINVAL);
    zsock_t *back = NULL;
    zsock_t *front = zsys_create_pipe (&back);
    ck_assert_ptr_nonnull (front);
    bad = (zraft_host_t) {.readers = {back}, .n_readers = 1};
    ck_assert_int_eq (zraft_host (node, &bad), ZRAFT_EINVAL);   /* no handle */
    s_guest_t g = {.node = node, .sock = back, .test_thread = pthread_self ()};
    zraft_host_t host = {.readers = {back, zraft_events (node)}, .n_readers = 2,
                         .handle = s_guest_handle, .timeout = s_guest_timeout,
                         .arg = &g};
    zactor_t *client = zactor_new (s_guest_client, front);
    ck_assert_int_eq (zraft_host (node, &host), 0);
    int ok = 0;
    char *status = NULL;
    ck_assert_int_eq (zsock_recv (client, "is", &ok, &status), 0);
    zactor_destroy (&client);
    ck_assert_int_eq (ok, 10);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    char expected [64];
    snprintf (expected, sizeof expected, "term %" PRIu64, st.term);
    ck_assert_str_eq (status, expected);
    zstr_free (&status);
    ck_assert (!g.on_test_thread);
    ck_assert_int_eq (g.nested_rc, ZRAFT_EINVAL);
    ck_assert_int_eq (g.wait_rc, ZRAFT_EINVAL);
    ck_assert_int_eq (g.recv_rc, ZRAFT_EAGAIN);
    ck_assert_int_eq (g.null_calls, 1);
    ck_assert (g.quitting);
    /* The handle is the caller's again. */
    uint64_t token = s_submit (c, leader, 99);
    zraft_event_t event;
    cluster_result_wait (c, leader, token, &event);
    ck_assert_int_eq (event.status, 0);
    zraft_event_release (&event);
    zsock_destroy (&front);
    zsock_destroy (&back);
    cluster_destroy (&c);
}
END_TEST

/* ------------------------------------------------------------- shutdown */

/* zraft_destroy with submissions and queries outstanding and results
   queued frees everything (the ASan build's leak check) and returns. */
START_TEST (destroy_with_outstanding_results)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    zraft_t *node = cluster_node (c, leader);
    uint64_t value = 5;
    for (int k = 1; k <= 200; k++) {
        ck_assert_int_eq (zraft_submit (node, cluster_token (c), &value,
                                        sizeof value), 0);
        ck_assert_int_eq (zraft_query (node, cluster_token (c), &value,
                                       sizeof value, k % 2), 0);
    }
    uint64_t last = cluster_one (c, 6, 3, false);
    ck_assert_uint_ge (last, 201);
    cluster_stop (c, leader);
    cluster_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("api");
    TCase *tc = tcase_create ("submit");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, submit_result_carries_token_and_apply_result);
    tcase_add_test (tc, submit_many_answers_every_token);
    tcase_add_test (tc, submit_eagain_at_submit_max);
    tcase_add_test (tc, submit_lost_to_another_leaders_entry);
    tcase_add_test (tc, submit_unknown_under_a_snapshot);
    suite_add_tcase (s, tc);
    tc = tcase_create ("role");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, role_events_follow_leadership);
    tcase_add_test (tc, wait_leader_answers_or_times_out);
    suite_add_tcase (s, tc);
    tc = tcase_create ("query");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, query_linearizable_sees_acknowledged_writes);
    tcase_add_test (tc, query_stale_answers_cut_off_linearizable_does_not);
    tcase_add_test (tc, query_on_node_sees_acknowledged_writes);
    suite_add_tcase (s, tc);
    tc = tcase_create ("apply");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, apply_on_node_answers_as_the_applier);
    tcase_add_test (tc, apply_on_node_with_snapshots);
    suite_add_tcase (s, tc);
    tc = tcase_create ("host");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, host_runs_the_loop_on_the_node_thread);
    suite_add_tcase (s, tc);
    tc = tcase_create ("lifecycle");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, destroy_with_outstanding_results);
    tcase_add_test (tc, threads_are_named_by_server_and_role);
    suite_add_tcase (s, tc);
    return check_run (s);
}
