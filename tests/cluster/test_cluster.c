/*  =========================================================================
    test_cluster - real actors over tcp on 127.0.0.1: elections,
    replication, restarts and hostile frames (the foundation's scenarios;
    the lab's whole suite follows in tests/cluster/ with the fault filter)

    Every test runs an apply checker on every server (tests/lib/cluster.h)
    and derives its bounds from CLUSTER_* timing constants.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
#include "../lib/cluster.h"
#include "../../transport/transport.h"

/* Raft §5.2: exactly one leader emerges; all servers agree on its term. */
START_TEST (election_initial_one_leader)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    ck_assert_uint_ge (leader, 1);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    uint64_t term = st.term;
    ck_assert_uint_ge (term, 1);
    /* Followers learn the leader from its first heartbeats. */
    for (uint32_t id = 1; id <= 3; id++) {
        int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
        do
            cluster_status (c, id, &st);
        while ((st.leader != leader || st.term != term) && zclock_mono () < deadline
               && (cluster_idle (c, CLUSTER_HEARTBEAT_MS), true));
        ck_assert_uint_eq (st.term, term);
        ck_assert_uint_eq (st.leader, leader);
    }
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.2: while nothing fails, heartbeats hold the term steady, and
   the leader sends them at the configured rate: one AppendEntries per
   follower per heartbeat interval (counted over 40 intervals). */
START_TEST (election_heartbeats_keep_term)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 42, 3, false);      /* settled: every follower replicating */
    zraft_status_t before, after, follower_before, follower_after;
    uint32_t follower = leader % 3 + 1;
    cluster_status (c, leader, &before);
    cluster_status (c, follower, &follower_before);
    int64_t start = zclock_mono ();
    cluster_idle (c, 40 * CLUSTER_HEARTBEAT_MS);
    int64_t elapsed = zclock_mono () - start;
    cluster_status (c, leader, &after);
    cluster_status (c, follower, &follower_after);
    ck_assert_uint_eq (after.term, before.term);
    ck_assert_int_eq (after.role, ZRAFT_LEADER);
    uint64_t sent = after.appends_out - before.appends_out;
    uint64_t intervals = (uint64_t) elapsed / CLUSTER_HEARTBEAT_MS;
    /* Never more than one per interval per follower (+1 for the edges)... */
    ck_assert_uint_le (sent, 2 * (intervals + 1));
    /* ...and not starved: at least half the intervals, even under load. */
    ck_assert_uint_ge (sent, 2 * intervals / 2);
    uint64_t received = follower_after.rpcs_in - follower_before.rpcs_in;
    ck_assert_uint_le (received, intervals + 1);
    ck_assert_uint_ge (received, intervals / 2);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.2 (the lab's ReElection): a disconnected leader is replaced;
   back, it steps down; a lone server never believes it leads; a quorum
   elects again. */
START_TEST (election_after_leader_disconnect)
{
    cluster_t *c = cluster_new (3);
    uint32_t l1 = cluster_leader (c);
    cluster_disconnect (c, l1);
    uint32_t l2 = cluster_leader (c);
    ck_assert_uint_ne (l2, l1);
    cluster_connect (c, l1);
    /* Back, the old leader hears the higher term and steps down. */
    zraft_status_t st;
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    do
        cluster_status (c, l1, &st);
    while (st.role == ZRAFT_LEADER && zclock_mono () < deadline
           && (cluster_idle (c, CLUSTER_HEARTBEAT_MS), true));
    ck_assert_int_ne (st.role, ZRAFT_LEADER);
    uint32_t l3 = cluster_leader (c);
    /* Only one server left connected: no leader among connected ones. */
    uint32_t a = l3, b = l3 % 3 + 1, lone = b % 3 + 1;
    cluster_disconnect (c, a);
    cluster_disconnect (c, b);
    cluster_idle (c, 4 * CLUSTER_ELECTION_MS);
    cluster_status (c, lone, &st);
    ck_assert_int_ne (st.role, ZRAFT_LEADER);
    cluster_connect (c, b);
    cluster_leader (c);
    cluster_connect (c, a);
    cluster_leader (c);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3, §5.4: every proposal is applied on every server, in order,
   exactly once; indexes follow the leader's no-op (thesis §6.4). */
START_TEST (agree_basic_three)
{
    cluster_t *c = cluster_new (3);
    cluster_leader (c);
    uint64_t first = cluster_one (c, 100, 3, false);
    ck_assert_uint_ge (first, 2);       /* index 1 is the leader's no-op */
    for (uint64_t i = 1; i <= 20; i++)
        ck_assert_uint_eq (cluster_one (c, 100 + i, 3, false), first + i);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3: the same with five servers. */
START_TEST (agree_basic_five)
{
    cluster_t *c = cluster_new (5);
    cluster_leader (c);
    uint64_t first = cluster_one (c, 500, 5, false);
    for (uint64_t i = 1; i <= 10; i++)
        ck_assert_uint_eq (cluster_one (c, 500 + i, 5, false), first + i);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.2 (the lab's FailNoAgree): a leader cut off from both
   followers accepts a proposal but never commits or applies it; after
   healing, the cluster agrees again. */
START_TEST (agree_minority_cannot_commit)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint64_t base = cluster_one (c, 10, 3, false);
    uint32_t f1 = leader % 3 + 1, f2 = f1 % 3 + 1;
    cluster_disconnect (c, f1);
    cluster_disconnect (c, f2);
    uint64_t index = 0;
    ck_assert_int_eq (cluster_propose (c, leader, 20, &index), 0);
    ck_assert_uint_eq (index, base + 1);
    cluster_idle (c, 4 * CLUSTER_ELECTION_MS);
    ck_assert_uint_eq (cluster_n_committed (c, index, NULL), 0);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    ck_assert_uint_lt (st.commit, index);
    cluster_connect (c, f1);
    cluster_connect (c, f2);
    cluster_leader (c);
    cluster_one (c, 30, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.4.1, §5.3: a leader stopped with uncommitted entries comes back
   from its data directory, steps down, and its entries are replaced by
   the new leader's. */
START_TEST (election_stopped_leader_rejoins)
{
    cluster_t *c = cluster_new (3);
    uint32_t l1 = cluster_leader (c);
    uint64_t base = cluster_one (c, 101, 3, false);
    cluster_disconnect (c, l1);
    uint64_t index = 0;
    for (uint64_t v = 102; v <= 104; v++)
        ck_assert_int_eq (cluster_propose (c, l1, v, &index), 0);
    cluster_stop (c, l1);
    cluster_connect (c, l1);            /* it is down: links heal for later */
    uint32_t l2 = cluster_leader (c);
    ck_assert_uint_ne (l2, l1);
    uint64_t replaced = cluster_one (c, 201, 2, true);
    ck_assert_uint_gt (replaced, base);
    cluster_start (c, l1);
    cluster_one (c, 202, 3, true);
    /* The old leader applied the new leader's entry where its own was. */
    ck_assert_uint_eq (cluster_wait_committed (c, replaced, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    uint64_t value = 0;
    cluster_n_committed (c, replaced, &value);
    ck_assert_uint_eq (value, 201);
    cluster_destroy (&c);
}
END_TEST

/* Stops all 3 servers, then starts each from its data directory and
   checks it recovered at least `last` entries, all durable, and a term no
   lower than before[id]'s. */
static void
s_restart_all (cluster_t *c, uint64_t last, const zraft_status_t *before)
{
    for (uint32_t id = 1; id <= 3; id++)
        cluster_stop (c, id);
    for (uint32_t id = 1; id <= 3; id++) {
        cluster_start (c, id);
        zraft_status_t st;
        cluster_status (c, id, &st);
        ck_assert_uint_ge (st.term, before [id].term);
        ck_assert_uint_ge (st.last_index, last);
        ck_assert_uint_eq (st.persisted, st.last_index);
    }
}

/* Raft Figure 2 "persistent state": stop every server and start them from
   their data directories: term, vote and log come back, and committed
   entries are applied again in the same order (the checker compares each
   incarnation with what was applied before). */
START_TEST (restart_all_recovers_state)
{
    cluster_t *c = cluster_new (3);
    cluster_leader (c);
    uint64_t last = 0;
    for (uint64_t v = 1; v <= 10; v++)
        last = cluster_one (c, 1000 + v, 3, false);
    zraft_status_t before [4];
    for (uint32_t id = 1; id <= 3; id++)
        cluster_status (c, id, &before [id]);
    s_restart_all (c, last, before);
    cluster_leader (c);
    uint64_t next = cluster_one (c, 2000, 3, true);
    ck_assert_uint_gt (next, last);
    /* Every server applied every old entry again, same values, in order. */
    for (uint64_t i = 2; i <= last; i++) {
        uint64_t value = 0;
        ck_assert_uint_eq (cluster_wait_committed (c, i, 3, CLUSTER_COMMIT_WAIT_MS), 3);
        cluster_n_committed (c, i, &value);
        ck_assert_uint_gt (value, 1000);
    }
    cluster_destroy (&c);
}
END_TEST

/* Raft §5.3: a follower restarted in the middle of a run catches up on
   everything committed while it was down. */
START_TEST (restart_follower_catches_up)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 1, 3, false);
    uint32_t follower = leader % 3 + 1;
    cluster_stop (c, follower);
    uint64_t last = 0;
    for (uint64_t v = 2; v <= 30; v++)
        last = cluster_one (c, v, 2, true);
    cluster_start (c, follower);
    cluster_one (c, 31, 3, true);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_destroy (&c);
}
END_TEST

/* The WAL moves through several segments while a follower is down: the
   spares are prepared beside the persister (wal.h, zr_wal_spare_*), the
   follower catches up across segment boundaries, and a full restart
   replays every segment in order. */
START_TEST (restart_after_segments_roll_over)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t follower = leader % 3 + 1;
    size_t size = 128u << 10;
    uint64_t entries = 3 * CLUSTER_SEGMENT_BYTES / size;    /* ~3 segments */
    uint64_t last = cluster_one_bytes (c, 1, size, 3, true);
    cluster_stop (c, follower);
    for (uint64_t v = 2; v <= entries; v++)
        last = cluster_one_bytes (c, v, size, 2, true);
    cluster_start (c, follower);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    zraft_status_t before [4];
    for (uint32_t id = 1; id <= 3; id++)
        cluster_status (c, id, &before [id]);
    s_restart_all (c, last, before);
    cluster_leader (c);
    cluster_one (c, entries + 1, 3, true);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_destroy (&c);
}
END_TEST

/* Who speaks for id in this 3-server cluster: its identity (peer.h)
   with an instance of its own: a stranger, or a twin of a member. */
static zr_peer_who_t
s_who (cluster_t *c, zr_id_t id)
{
    zr_id_t ids [3] = {1, 2, 3};
    const char *endpoints [3] = {cluster_endpoint (c, 1), cluster_endpoint (c, 2),
                                 cluster_endpoint (c, 3)};
    return (zr_peer_who_t) {.id = id, .cluster = zr_peer_cluster (ids, endpoints, 3),
                            .instance = zr_random_id ()};
}

/* A DEALER that speaks as who, connected to server to. */
static zsock_t *
s_dealer_as (cluster_t *c, const zr_peer_who_t *who, uint32_t to)
{
    char identity [ZR_PEER_IDENTITY_MAX + 1];
    size_t identity_size = zr_peer_identity ('n', who, identity);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (dealer);
    ck_assert_int_eq (zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID,
                                      identity, identity_size), 0);
    ck_assert_int_eq (zsock_connect (dealer, "%s", cluster_endpoint (c, to)), 0);
    return dealer;
}

/* Hostile input: garbage, truncated, oversized and spoofed frames sent to
   a server's ROUTER are counted and dropped; it keeps serving. */
START_TEST (bad_input_does_not_stall)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    cluster_one (c, 7, 3, false);
    /* A well-formed identity of this cluster (peer.h) for id 7, not a
       member: its frames reach the decoder, which must refuse them. */
    zr_peer_who_t stranger = s_who (c, 7);
    zsock_t *evil = s_dealer_as (c, &stranger, leader);
    uint8_t garbage [512];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage [i] = (uint8_t) (i * 37 + 11);
    uint8_t truncated [] = {0x9f, 0x01, 0x03};       /* array claims 15 */
    uint8_t huge [] = {0xdd, 0xff, 0xff, 0xff, 0xff}; /* array32 of 4G */
    zsock_set_sndtimeo (evil, 1000);
    for (int round = 0; round < 50; round++) {
        ck_assert_int_eq (zmq_send (zsock_resolve (evil), garbage, sizeof garbage, 0), (int) sizeof garbage);
        ck_assert_int_eq (zmq_send (zsock_resolve (evil), truncated, sizeof truncated, 0), (int) sizeof truncated);
        ck_assert_int_eq (zmq_send (zsock_resolve (evil), huge, sizeof huge, 0), (int) sizeof huge);
        ck_assert_int_eq (zmq_send (zsock_resolve (evil), "", 0, 0), 0);
    }
    /* Oversized: more than ZMQ_MAXMSGSIZE; the connection is dropped. */
    size_t big = (17u << 20);
    uint8_t *blob = (uint8_t *) calloc (1, big);
    ck_assert_ptr_nonnull (blob);
    zmq_send (zsock_resolve (evil), blob, big, 0);
    free (blob);
    for (uint64_t v = 8; v <= 20; v++)
        cluster_one (c, v, 3, true);
    zraft_status_t st;
    int64_t deadline = zclock_mono () + CLUSTER_COMMIT_WAIT_MS;
    do
        cluster_status (c, leader, &st);
    while (st.frames_rejected < 200 && zclock_mono () < deadline
           && (cluster_idle (c, CLUSTER_HEARTBEAT_MS), true));
    ck_assert_uint_ge (st.frames_rejected, 200);
    zsock_destroy (&evil);
    cluster_destroy (&c);
}
END_TEST

static void
s_rogue_apply (void *arg, uint64_t index, uint64_t term, const void *data,
               size_t size, void **result, size_t *result_size)
{
    (void) arg, (void) index, (void) term, (void) data, (void) size;
    (void) result, (void) result_size;
}

/* A process that claims a follower's id but was given other servers (a
   member of another cluster, or one started with a wrong list). While
   routing identities were "<kind><id>", its links took over the
   follower's route at the leader (ROUTER hand-over) and left the
   follower's own connections open and unread: with the third server
   stopped, nothing committed, even after the rogue stopped. Now the
   leader refuses its frames, and the follower stays in the quorum while
   the rogue runs and after it stops. */
START_TEST (rogue_member_id_does_not_cut_off_the_member)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    uint32_t f = leader % 3 + 1;        /* a follower, whose id it claims */
    uint32_t g = 6 - leader - f;        /* the other follower */
    cluster_one (c, 1, 3, false);
    zraft_status_t st;
    cluster_status (c, leader, &st);
    uint64_t rejected = st.frames_rejected;

    /* The rogue: id f, f's endpoint somewhere else, an empty directory. */
    zsock_t *probe = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (probe);
    int port = zsock_bind (probe, "tcp://127.0.0.1:!");
    ck_assert_int_gt (port, 0);
    zsock_destroy (&probe);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    char dir [] = "/tmp/zraft-rogue-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    zraft_config_t config;
    zraft_config_defaults (&config);
    config.id = f;
    config.n_servers = 3;
    for (uint32_t i = 0; i < 3; i++) {
        config.servers [i].id = i + 1;
        config.servers [i].endpoint = i + 1 == f ? endpoint : cluster_endpoint (c, i + 1);
    }
    config.data_dir = dir;
    config.heartbeat_ms = CLUSTER_HEARTBEAT_MS;
    config.election_timeout_ms = CLUSTER_ELECTION_MS;
    zraft_fsm_t fsm = {.apply = s_rogue_apply};
    zraft_t *rogue = zraft_new (&config, &fsm);
    ck_assert_ptr_nonnull (rogue);

    /* It campaigns after an election timeout; the leader refuses it. */
    int64_t deadline = zclock_mono () + CLUSTER_LEADER_WAIT_MS;
    do
        cluster_status (c, leader, &st);
    while (st.frames_rejected == rejected && zclock_mono () < deadline
           && (cluster_idle (c, CLUSTER_HEARTBEAT_MS), true));
    ck_assert_uint_gt (st.frames_rejected, rejected);
    char why [1024], expect [96];
    cluster_log_errors (why, sizeof why);
    snprintf (expect, sizeof expect, "refused frames from a process at"
              " 127.0.0.1 that says it is n%u of cluster", f);
    ck_assert_msg (strstr (why, expect), "no '%s' in: %s", expect, why);

    /* With g stopped, a leader needs f: f is still heard. */
    cluster_stop (c, g);
    cluster_one (c, 2, 2, true);
    zraft_destroy (&rogue);
    cluster_remove_dir (dir);
    cluster_one (c, 3, 2, true);
    cluster_start (c, g);
    cluster_one (c, 4, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Twins: a second process speaking as member f, with the same servers
   (a copied configuration): here two DEALERs of f's identity with an
   instance of their own, one to each other member, asking for
   pre-votes at each heartbeat. Whichever member hears f (its leader
   while f follows, both others if f leads) hears both processes, and
   names them once both have been heard for longer than a restart can
   explain; the cluster goes on committing. */
START_TEST (twin_member_is_named)
{
    cluster_t *c = cluster_new (3);
    uint32_t f = cluster_leader (c) % 3 + 1;
    cluster_one (c, 1, 3, false);
    zr_peer_who_t twin = s_who (c, f);
    uint32_t others [2] = {f % 3 + 1, (f + 1) % 3 + 1};
    zsock_t *dealers [2];
    for (int i = 0; i < 2; i++) {
        dealers [i] = s_dealer_as (c, &twin, others [i]);
        zsock_set_sndtimeo (dealers [i], 1000);
    }
    char expect [64];
    snprintf (expect, sizeof expect, "two processes speak as n%u", f);
    char why [2048] = "";
    int64_t span = ZR_PEER_TWINS_ELECTIONS * (int64_t) CLUSTER_ELECTION_MS;
    int64_t deadline = zclock_mono () + (span > ZR_PEER_TWINS_MIN_MS
                                         ? span : ZR_PEER_TWINS_MIN_MS)
                       + CLUSTER_LEADER_WAIT_MS;
    uint64_t v = 2;
    while (!strstr (why, expect) && zclock_mono () < deadline) {
        for (int i = 0; i < 2; i++) {
            zraft_status_t st;
            cluster_status (c, others [i], &st);
            zr_message_t ask = {.type = ZR_MSG_PREVOTE, .from = f,
                                .to = others [i], .term = st.term + 1};
            msgpack_sbuffer sbuf;
            msgpack_sbuffer_init (&sbuf);
            ck_assert_int_eq (zr_codec_encode (&ask, &sbuf), 0);
            ck_assert_int_eq (zmq_send (zsock_resolve (dealers [i]), sbuf.data,
                                        sbuf.size, 0), (int) sbuf.size);
            msgpack_sbuffer_destroy (&sbuf);
        }
        cluster_one (c, v++, 3, true);
        cluster_idle (c, CLUSTER_HEARTBEAT_MS);
        cluster_log_errors (why, sizeof why);
    }
    ck_assert_msg (strstr (why, expect), "no '%s' in: %s", expect, why);
    for (int i = 0; i < 2; i++)
        zsock_destroy (&dealers [i]);
    cluster_one (c, v, 3, true);
    cluster_destroy (&c);
}
END_TEST

/* Signals: the application's thread catches a signal (no SA_RESTART)
   hundreds of times while it proposes and asks for status, and czmq's
   own Ctrl-C flag is raised: every call still gets its own answer, and
   no node stops (zraft's threads take no signal, its pollers ignore the
   flag; only zraft_destroy ends a node). */
static atomic_uint s_signals_caught;

static void
s_on_signal (int sig)
{
    (void) sig;
    atomic_fetch_add (&s_signals_caught, 1);
}

typedef struct {
    pthread_t target;                   /* the thread to interrupt */
    atomic_bool stop;
} s_pester_t;

static void *
s_pester (void *arg)
{
    s_pester_t *p = (s_pester_t *) arg;
    while (!atomic_load (&p->stop)) {
        pthread_kill (p->target, SIGUSR1);
        struct timespec pause = {0, 200 * 1000};       /* 0.2 ms */
        nanosleep (&pause, NULL);
    }
    return NULL;
}

START_TEST (api_survives_signals)
{
    cluster_t *c = cluster_new (3);
    uint32_t leader = cluster_leader (c);
    struct sigaction action, old;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;    /* no SA_RESTART: calls see EINTR */
    sigemptyset (&action.sa_mask);
    ck_assert_int_eq (sigaction (SIGUSR1, &action, &old), 0);
    s_pester_t pester = {.target = pthread_self ()};
    atomic_init (&pester.stop, false);
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_pester, &pester), 0);
    zsys_interrupted = 1;               /* as czmq's SIGINT handler does */
    uint64_t last = 0;
    for (uint64_t v = 1; v <= 40; v++) {
        last = cluster_one (c, 500 + v, 3, false);
        for (uint32_t id = 1; id <= 3; id++) {
            zraft_status_t st;
            ck_assert_int_eq (zraft_status (cluster_node (c, id), &st), 0);
            ck_assert_uint_ge (st.term, 1);
        }
    }
    atomic_store (&pester.stop, true);
    ck_assert_int_eq (pthread_join (thread, NULL), 0);
    zsys_interrupted = 0;
    ck_assert_int_eq (sigaction (SIGUSR1, &old, NULL), 0);
    ck_assert_uint_gt (atomic_load (&s_signals_caught), 100);
    ck_assert_uint_eq (cluster_leader (c), leader);
    ck_assert_uint_eq (cluster_wait_committed (c, last, 3, CLUSTER_COMMIT_WAIT_MS), 3);
    cluster_destroy (&c);
}
END_TEST

/* ----------------------------------------------------------------- logs */

typedef struct {
    pthread_mutex_t lock;
    uint32_t lines;                     /* lines received */
    uint32_t with_id;                   /* lines starting "n<id> " */
    uint32_t above;                     /* lines above the level set */
    int level;                          /* the level set */
} s_logs_t;

static void
s_log_cb (void *arg, int level, const char *line)
{
    s_logs_t *logs = (s_logs_t *) arg;
    pthread_mutex_lock (&logs->lock);
    logs->lines++;
    if (line [0] == 'n' && line [1] >= '1' && line [1] <= '9' && line [2] == ' ')
        logs->with_id++;
    if (level > logs->level)
        logs->above++;
    pthread_mutex_unlock (&logs->lock);
}

/* zraft_log_set: the library's lines go to the callback, at or above its
   level, each naming its server; none goes to stdout. */
START_TEST (api_log_lines_go_to_the_callback_not_stdout)
{
    fflush (stdout);
    FILE *capture = tmpfile ();
    ck_assert_ptr_nonnull (capture);
    int saved = dup (STDOUT_FILENO);
    ck_assert_int_ge (saved, 0);
    ck_assert_int_ge (dup2 (fileno (capture), STDOUT_FILENO), 0);
    s_logs_t logs = {.lock = PTHREAD_MUTEX_INITIALIZER, .level = ZRAFT_LOG_NOTICE};
    zraft_log_set (ZRAFT_LOG_NOTICE, s_log_cb, &logs);
    cluster_t *c = cluster_new (3);
    cluster_one (c, 1, 3, false);
    cluster_stop (c, cluster_leader (c));
    cluster_one (c, 2, 2, true);
    cluster_destroy (&c);
    zraft_log_set (ZRAFT_LOG_ERROR, s_log_cb, &logs);
    pthread_mutex_lock (&logs.lock);
    uint32_t lines = logs.lines;
    logs.level = ZRAFT_LOG_ERROR;
    pthread_mutex_unlock (&logs.lock);
    ck_assert_uint_gt (lines, 6);        /* starts, elections, stops */
    ck_assert_uint_eq (logs.with_id, lines);
    ck_assert_uint_eq (logs.above, 0);
    /* At ERROR, a cluster's life logs nothing. */
    c = cluster_new (3);
    cluster_one (c, 3, 3, false);
    cluster_destroy (&c);
    zraft_log_set (ZRAFT_LOG_NOTICE, NULL, NULL);
    ck_assert_uint_eq (logs.lines, lines);
    fflush (stdout);
    ck_assert_int_ge (dup2 (saved, STDOUT_FILENO), 0);
    close (saved);
    ck_assert_int_eq (fseek (capture, 0, SEEK_END), 0);
    ck_assert_int_eq (ftell (capture), 0);
    fclose (capture);
}
END_TEST

/* The lab's UnreliableAgree: with every link losing 10% of messages and
   delaying (so reordering) the rest by up to 27 ms, concurrent proposals
   still commit everywhere, in one order, exactly once. */
START_TEST (agree_unreliable_network)
{
    cluster_t *c = cluster_new (5);
    cluster_unreliable (c, true);
    cluster_leader (c);
    for (uint64_t v = 1; v <= 30; v++)
        cluster_one (c, 9000 + v, 1, true);
    cluster_unreliable (c, false);
    cluster_one (c, 9999, 5, true);
    zraft_status_t st;
    uint64_t dropped = 0, delayed = 0;
    for (uint32_t id = 1; id <= 5; id++) {
        cluster_status (c, id, &st);
        dropped += st.fault_dropped;
        delayed += st.fault_delayed;
    }
    ck_assert_uint_gt (dropped, 0);     /* the filter really was in the way */
    ck_assert_uint_gt (delayed, 0);
    cluster_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("cluster");
    TCase *tc = tcase_create ("election");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, election_initial_one_leader);
    tcase_add_test (tc, election_heartbeats_keep_term);
    tcase_add_test (tc, election_after_leader_disconnect);
    tcase_add_test (tc, election_stopped_leader_rejoins);
    suite_add_tcase (s, tc);
    tc = tcase_create ("agree");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, agree_basic_three);
    tcase_add_test (tc, agree_basic_five);
    tcase_add_test (tc, agree_minority_cannot_commit);
    tcase_add_test (tc, api_survives_signals);
    tcase_add_test (tc, api_log_lines_go_to_the_callback_not_stdout);
    tcase_add_test (tc, agree_unreliable_network);
    suite_add_tcase (s, tc);
    tc = tcase_create ("restart");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, restart_all_recovers_state);
    tcase_add_test (tc, restart_follower_catches_up);
    tcase_add_test (tc, restart_after_segments_roll_over);
    suite_add_tcase (s, tc);
    tc = tcase_create ("bad_input");
    tcase_set_timeout (tc, CLUSTER_TEST_TIMEOUT_S);
    tcase_add_checked_fixture (tc, cluster_test_setup, cluster_test_teardown);
    tcase_add_test (tc, bad_input_does_not_stall);
    tcase_add_test (tc, rogue_member_id_does_not_cut_off_the_member);
    tcase_add_test (tc, twin_member_is_named);
    suite_add_tcase (s, tc);
    return check_run (s);
}
