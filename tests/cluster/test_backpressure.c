/*  =========================================================================
    test_backpressure - a slow disk or a slow state machine slows
    proposals with a clear answer, never heartbeats, and loses nothing

    The node bounds what it hands its persister and its applier
    (actors/node.h, "Back-pressure"). A slow disk is made here by
    interposing fdatasync: this binary's definition wins over libc's for
    the statically linked library, and stalls the syncs of one server's
    data directory while the test asks it to. A slow state machine is an
    apply callback that waits on a gate.
    =========================================================================
*/
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../lib/check_run.h"
#include "../lib/cluster.h"

/* The data directory whose syncs stall, or "" (guarded by s_stall_lock). */
static char s_stall_dir [256];
static pthread_mutex_t s_stall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_stall_changed = PTHREAD_COND_INITIALIZER;
static atomic_uint s_stalled;           /* syncs that were held back */

/* Holds the caller while fd's file lies under the stalled directory
   (until s_stall changes it); returns true if it was held. */
static bool
s_fd_stalled (int fd)
{
    char link [64], path [512];
    snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink (link, path, sizeof path - 1);
    if (n <= 0)
        return false;
    path [n] = '\0';
    pthread_mutex_lock (&s_stall_lock);
    size_t len = strlen (s_stall_dir);
    bool stalled = len > 0 && strncmp (path, s_stall_dir, len) == 0;
    if (stalled)
        atomic_fetch_add (&s_stalled, 1);
    while (len > 0 && strncmp (path, s_stall_dir, len) == 0) {
        pthread_cond_wait (&s_stall_changed, &s_stall_lock);
        len = strlen (s_stall_dir);     /* s_stall (NULL) wakes it */
    }
    pthread_mutex_unlock (&s_stall_lock);
    return stalled;
}

int fdatasync (int fd);

/* The WAL's sync: held while its directory is stalled, then done. */
int
fdatasync (int fd)
{
    s_fd_stalled (fd);
    return (int) syscall (SYS_fdatasync, fd);
}

static void
s_stall (const char *dir)
{
    pthread_mutex_lock (&s_stall_lock);
    snprintf (s_stall_dir, sizeof s_stall_dir, "%s", dir ? dir : "");
    pthread_cond_broadcast (&s_stall_changed);
    pthread_mutex_unlock (&s_stall_lock);
}

/* A stalled disk on the leader: it accepts submissions until its WRITEs
   reach the bound, then refuses them with ZRAFT_EBUSY; meanwhile its heartbeats
   keep flowing (no follower starts an election, the term holds, check-
   quorum keeps it leader), and the two followers commit what it
   accepted. Once the disk is back, proposals succeed again and every
   accepted one is committed on all three. */
START_TEST (slow_disk_busy_proposals_not_heartbeats)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    zraft_status_t before;
    cluster_status (c, leader, &before);
    s_stall (cluster_dir (c, leader));
    int rc = 0;
    uint64_t value = 2, index = 0, last = 0;
    for (; value < 100000 && rc == 0; value++) {
        rc = cluster_propose (c, leader, value, &index);
        if (rc == 0)
            last = index;
    }
    ck_assert_msg (rc == ZRAFT_EBUSY, "proposals never refused: %s",
                   zraft_strerror (rc));
    ck_assert_uint_gt (atomic_load (&s_stalled), 0);
    /* The stalled disk: accepted proposals commit on the followers. */
    ck_assert_uint_ge (cluster_wait_committed (c, last, 2, CLUSTER_COMMIT_WAIT_MS), 2);
    cluster_idle (c, 3 * CLUSTER_ELECTION_MS);
    for (uint32_t id = 1; id <= 3; id++) {
        zraft_status_t st;
        cluster_status (c, id, &st);
        ck_assert_uint_eq (st.term, before.term);
        ck_assert_uint_eq (st.leader, leader);
    }
    ck_assert_int_eq (cluster_propose (c, leader, value, &index), ZRAFT_EBUSY);
    s_stall (NULL);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_one (c, value + 1, 3, false);
    cluster_destroy (&c);
}
END_TEST

static zraft_status_t
s_status (cluster_t *c, uint32_t id)
{
    zraft_status_t st;
    cluster_status (c, id, &st);
    return st;
}

/* Waits until server id has handled n more requests from peers than
   rpcs_in (within CLUSTER_LEADER_WAIT_MS); returns whether it did. */
static bool
s_wait_rpcs (cluster_t *c, uint32_t id, uint64_t rpcs_in, uint64_t n)
{
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    while (s_status (c, id).rpcs_in < rpcs_in + n)
        if (zclock_mono () >= deadline)
            return false;
        else
            cluster_idle (c, CLUSTER_HEARTBEAT_MS / 10);
    return true;
}

/* raft/core.h Invariant 7 with the node's direct replies (actors/node.h,
   "Direct sends"): an idle follower answers heartbeats itself, at once;
   once it has a write with its disk, every reply waits behind that
   write, so a reply never acknowledges what is not durable. Here the
   leader's only reachable follower has its sync stalled under an entry:
   it answers no heartbeat directly any more, and a linearizable read,
   whose round needs its answer, is not confirmed until the disk moves. */
START_TEST (slow_disk_follower_replies_wait_for_the_write)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint32_t slow = leader % 3 + 1, cut = slow % 3 + 1;
    /* Idle: heartbeats are answered directly. */
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    while (s_status (c, slow).replies_direct == 0 && zclock_mono () < deadline)
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
    ck_assert_uint_gt (s_status (c, slow).replies_direct, 0);
    cluster_disconnect (c, cut);
    unsigned stalled = atomic_load (&s_stalled);
    s_stall (cluster_dir (c, slow));
    uint64_t write = 0;
    ck_assert_int_eq (cluster_submit (c, leader, 2, &write), 0);
    uint64_t index = s_status (c, leader).last_index;
    deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    while ((atomic_load (&s_stalled) == stalled
            || s_status (c, slow).last_index < index) && zclock_mono () < deadline)
        cluster_idle (c, 1);
    ck_assert_uint_gt (atomic_load (&s_stalled), stalled);
    ck_assert_uint_ge (s_status (c, slow).last_index, index);
    /* The write is with the stalled disk: nothing is answered directly,
       not the read round's heartbeat nor the next one. */
    zraft_status_t before = s_status (c, slow);
    uint64_t read = cluster_token (c), asked = 0;
    ck_assert_int_eq (zraft_query (cluster_node (c, leader), read, &asked,
                                   sizeof asked, 0), 0);
    ck_assert (s_wait_rpcs (c, slow, before.rpcs_in, 2));
    ck_assert_uint_eq (s_status (c, slow).replies_direct, before.replies_direct);
    zraft_event_t event;
    if (cluster_result (c, leader, read, 0, &event)) {
        /* Only a leader that stepped down (check-quorum) answers now. */
        ck_assert_int_eq (event.status, ZRAFT_ENOTLEADER);
        zraft_event_release (&event);
    }
    ck_assert_uint_lt (s_status (c, leader).commit, index);
    s_stall (NULL);
    cluster_connect (c, cut);
    cluster_one (c, 3, 3, true);
    ck_assert_uint_eq (cluster_wait_committed (c, index, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_destroy (&c);
}
END_TEST

#define S_BATCHES 16                    /* submit_many calls */
#define S_BATCH 1024                    /* commands in each */

/* The gate of the slow state machine below. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool open;                          /* applies may proceed */
    uint64_t applied;                   /* last index applied */
    uint64_t count;                     /* commands applied */
    bool out_of_order;                  /* an index went back or repeated */
} gate_t;

static void
s_gated_apply (void *arg, uint64_t index, uint64_t term, const void *data,
               size_t size, void **result, size_t *result_size)
{
    (void) term, (void) data, (void) size, (void) result, (void) result_size;
    gate_t *gate = (gate_t *) arg;
    pthread_mutex_lock (&gate->lock);
    while (!gate->open)
        pthread_cond_wait (&gate->changed, &gate->lock);
    gate->out_of_order = gate->out_of_order || index <= gate->applied;
    gate->applied = index;
    gate->count++;
    pthread_cond_broadcast (&gate->changed);
    pthread_mutex_unlock (&gate->lock);
}

/* A state machine that stops applying: the node keeps committing and
   answering (status, submissions) while it holds the committed runs the
   applier has no room for, and hands them all, in order, once it
   resumes; every submission's RESULT then follows, in order. */
START_TEST (slow_applier_runs_wait_in_node)
{
    char dir [] = "/tmp/zraft-bp-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = 1;
    config.n_servers = 1;
    config.servers [0] = (zraft_server_t) {1, "tcp://127.0.0.1:32121"};
    config.data_dir = dir;
    config.heartbeat_ms = CLUSTER_HEARTBEAT_MS;
    config.election_timeout_ms = CLUSTER_ELECTION_MS;
    config.submit_max = S_BATCHES * S_BATCH;    /* all outstanding at once */
    gate_t gate = {.lock = PTHREAD_MUTEX_INITIALIZER,
                   .changed = PTHREAD_COND_INITIALIZER};
    zraft_fsm_t fsm = {.apply = s_gated_apply, .arg = &gate};
    zraft_t *node = zraft_new (&config, &fsm);
    ck_assert_ptr_nonnull (node);
    zraft_status_t st;
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    do
        ck_assert_int_eq (zraft_status (node, &st), 0);
    while (st.role != ZRAFT_LEADER && zclock_mono () < deadline
           && (zclock_sleep (10), true));
    ck_assert_int_eq (st.role, ZRAFT_LEADER);
    /* Far more committed runs than the applier may hold (256 entries a
       run at most): 16 batches of 1024 commands. */
    static uint64_t values [S_BATCH];
    const void *datas [S_BATCH];
    size_t sizes [S_BATCH];
    uint64_t tokens [S_BATCH];
    for (size_t i = 0; i < S_BATCH; i++) {
        datas [i] = &values [i];
        sizes [i] = sizeof values [i];
    }
    for (uint64_t batch = 0; batch < S_BATCHES; batch++) {
        for (uint64_t i = 0; i < S_BATCH; i++)
            tokens [i] = batch * S_BATCH + i;
        ck_assert_int_eq (zraft_submit_many (node, tokens, datas, sizes, S_BATCH), 0);
    }
    ck_assert_int_eq (zraft_status (node, &st), 0);   /* after the submissions */
    uint64_t last = st.last_index;
    deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    do
        ck_assert_int_eq (zraft_status (node, &st), 0);
    while (st.commit < last && zclock_mono () < deadline && (zclock_sleep (10), true));
    ck_assert_uint_ge (st.commit, last);
    ck_assert_uint_lt (st.applied, last);
    pthread_mutex_lock (&gate.lock);
    gate.open = true;
    pthread_cond_broadcast (&gate.changed);
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += CLUSTER_COMMIT_WAIT_MS / 1000;
    while (gate.applied < last
           && pthread_cond_timedwait (&gate.changed, &gate.lock, &until) == 0)
        ;                               /* each apply broadcasts */
    ck_assert_uint_eq (gate.applied, last);
    ck_assert_uint_eq (gate.count, S_BATCHES * S_BATCH);
    ck_assert (!gate.out_of_order);
    pthread_mutex_unlock (&gate.lock);
    /* Every token is answered once, in order, applied at consecutive
       indexes. */
    for (uint64_t k = 0; k < S_BATCHES * S_BATCH; k++) {
        zraft_event_t event;
        do                              /* skip the ROLE of its election */
            ck_assert_int_eq (zraft_recv (node, &event, CLUSTER_COMMIT_WAIT_MS), 0);
        while (event.type == ZRAFT_EVENT_ROLE);
        ck_assert_int_eq (event.type, ZRAFT_EVENT_RESULT);
        ck_assert_int_eq (event.status, 0);
        ck_assert_uint_eq (event.token, k);
        ck_assert_uint_eq (event.index, last - S_BATCHES * S_BATCH + 1 + k);
        zraft_event_release (&event);
    }
    zraft_destroy (&node);
    cluster_remove_dir (dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("backpressure");
    TCase *tc = tcase_create ("backpressure");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, slow_disk_busy_proposals_not_heartbeats);
    tcase_add_test (tc, slow_disk_follower_replies_wait_for_the_write);
    tcase_add_test (tc, slow_applier_runs_wait_in_node);
    suite_add_tcase (s, tc);
    return check_run (s);
}
