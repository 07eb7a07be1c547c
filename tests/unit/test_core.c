/*  =========================================================================
    test_core - unit tests of raft/core: the Raft protocol of one server

    The scenarios follow the paper and etcd's raft_paper_test: elections
    (§5.2), the up-to-date rule (§5.4.1), replication and the consistency
    check (§5.3), the Figure 7 repairs, the Figure 8 commit rule (§5.4.2),
    plus zraft's pipelining, heartbeats, persistence reports and Ready,
    and snapshots (Raft §7, Figure 13): compaction, InstallSnapshot on
    both sides, AppendEntries at the log window's edge and restore.
    The invariants of core.h are cited by number.

    Fixture: servers {1, 2, 3} (or 1..5), heartbeat 10 ms, election
    timeout 100 ms, 8 AppendEntries in flight, 1 MiB batches, a fixed
    seed. Time is passed explicitly; nothing is delivered unless a test
    steps it, in the order written. A new leader appends a no-op of its
    term (Invariant 8), so leader indexes are one past the paper's.
    After every step and Ready the fixture runs zr_core_check.
    =========================================================================
*/
#include <check.h>
#include <signal.h>

#include "../../raft/raft.h"

#define S_HB 10                         /* heartbeat_ms */
#define S_ET 100                        /* election_timeout_ms */
#define S_SEED 0x5eed2a9fULL            /* fixed seed */
#define S_PAYLOAD 16                    /* bytes of a test entry's payload */

//  --------------------------------------------------------------------------
//  Fixture: cores

/* Returns the fixture config of server id in a cluster of ids 1..n. */
static zr_core_config_t
s_config (zr_id_t id, uint32_t n)
{
    zr_core_config_t config;
    memset (&config, 0, sizeof config);
    config.id = id;
    for (uint32_t i = 0; i < n; i++)
        config.servers [i] = (zr_id_t) i + 1;
    config.n_servers = n;
    config.heartbeat_ms = S_HB;
    config.election_timeout_ms = S_ET;
    config.inflight_max = 8;
    config.inflight_bytes_max = 64u << 20;
    config.batch_bytes = 1u << 20;
    config.seed = S_SEED;
    return config;
}

/* Returns a new follower, server id of 1..n, created at time 0. */
static zr_core_t *
s_core_new (zr_id_t id, uint32_t n)
{
    zr_core_config_t config = s_config (id, n);
    zr_core_t *core = zr_core_new (&config, 0);
    ck_assert_ptr_nonnull (core);
    return core;
}

/* Returns a new array of n entries from index first with the given terms.
   Each is a command whose 16-byte payload encodes its index and term; all
   share one blob, each entry holding one reference. NULL if n is 0. */
static zr_entry_t *
s_entries_new (zr_index_t first, const zr_term_t *terms, uint32_t n)
{
    if (n == 0)
        return NULL;
    zr_blob_t *blob = zr_blob_new ((size_t) n * S_PAYLOAD);
    ck_assert_ptr_nonnull (blob);
    zr_entry_t *entries = (zr_entry_t *) calloc (n, sizeof (zr_entry_t));
    ck_assert_ptr_nonnull (entries);
    for (uint32_t i = 0; i < n; i++) {
        zr_index_t index = first + i;
        uint8_t *data = blob->data + (size_t) i * S_PAYLOAD;
        memcpy (data, &index, 8);
        memcpy (data + 8, &terms [i], 8);
        entries [i] = (zr_entry_t) {.term = terms [i], .index = index,
                                    .type = ZR_ENTRY_COMMAND,
                                    .size = S_PAYLOAD, .data = data,
                                    .blob = zr_blob_ref (blob)};
    }
    zr_blob_unref (&blob);
    return entries;
}

/* Loads term, vote and a log with the given terms (from index 1). */
static void
s_restore (zr_core_t *core, zr_term_t term, zr_id_t vote,
           const zr_term_t *terms, uint32_t n)
{
    zr_entry_t *entries = s_entries_new (1, terms, n);
    zr_core_restore_t restore = {.term = term, .vote = vote,
                                 .entries = entries, .n_entries = n};
    ck_assert_int_eq (zr_core_restore (core, &restore), 0);
    zr_entries_destroy (&entries, n);
}

/* Collects a Ready into *ready (to be released by the caller). */
static void
s_ready (zr_core_t *core, uint64_t now, zr_ready_t *ready)
{
    memset (ready, 0, sizeof *ready);
    zr_core_ready (core, ready, now);
    zr_core_check (core);
}

/* Reports the whole log durable, as the persister would. */
static void
s_persist_all (zr_core_t *core)
{
    zr_index_t last = zr_core_last_index (core);
    zr_core_persisted (core, last, zr_log_term (zr_core_log (core), last));
    zr_core_check (core);
}

/* Takes a Ready, drops its messages and persists everything. */
static void
s_drain (zr_core_t *core, uint64_t now)
{
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_ready_release (&ready);
    s_persist_all (core);
}

/* Steps msg into core at now, destroys msg, returns the step's result. */
static int
s_step (zr_core_t *core, zr_message_t *msg, uint64_t now)
{
    int rc = zr_core_step (core, msg, now);
    zr_message_destroy (&msg);
    zr_core_check (core);
    return rc;
}

/* Steps msg and asserts it was accepted (reports the caller's line). */
#define S_STEP_OK(core, msg, now) ck_assert_int_eq (s_step (core, msg, now), 0)

//  --------------------------------------------------------------------------
//  Fixture: messages

static zr_message_t *
s_message (zr_msg_type_t type, zr_id_t from, zr_id_t to, zr_term_t term)
{
    zr_message_t *msg = zr_message_new (type);
    ck_assert_ptr_nonnull (msg);
    msg->from = from;
    msg->to = to;
    msg->term = term;
    return msg;
}

static zr_message_t *
s_vote (zr_id_t from, zr_id_t to, zr_term_t term, zr_index_t last_index,
        zr_term_t last_term)
{
    zr_message_t *msg = s_message (ZR_MSG_VOTE, from, to, term);
    msg->last_index = last_index;
    msg->last_term = last_term;
    return msg;
}

static zr_message_t *
s_vote_reply (zr_id_t from, zr_id_t to, zr_term_t term, bool granted)
{
    zr_message_t *msg = s_message (ZR_MSG_VOTE_REPLY, from, to, term);
    msg->granted = granted;
    return msg;
}

/* An AppendEntries after (prev_index, prev_term) carrying n entries of the
   given terms (a heartbeat if n is 0). */
static zr_message_t *
s_append (zr_id_t from, zr_id_t to, zr_term_t term, zr_index_t prev_index,
          zr_term_t prev_term, zr_index_t commit, const zr_term_t *terms,
          uint32_t n)
{
    zr_message_t *msg = s_message (ZR_MSG_APPEND, from, to, term);
    msg->prev_index = prev_index;
    msg->prev_term = prev_term;
    msg->commit = commit;
    msg->entries = s_entries_new (prev_index + 1, terms, n);
    msg->n_entries = n;
    return msg;
}

/* A successful AppendEntries reply verifying the log up to match. */
static zr_message_t *
s_append_ok (zr_id_t from, zr_id_t to, zr_term_t term, zr_index_t match)
{
    zr_message_t *msg = s_message (ZR_MSG_APPEND_REPLY, from, to, term);
    msg->success = true;
    msg->match_index = match;
    msg->last_index = match;
    return msg;
}

/* A rejection of the AppendEntries whose prev_index was prev. */
static zr_message_t *
s_append_reject (zr_id_t from, zr_id_t to, zr_term_t term, zr_index_t prev,
                 zr_term_t conflict_term, zr_index_t conflict_index,
                 zr_index_t last_index)
{
    zr_message_t *msg = s_message (ZR_MSG_APPEND_REPLY, from, to, term);
    msg->match_index = prev;
    msg->conflict_term = conflict_term;
    msg->conflict_index = conflict_index;
    msg->last_index = last_index;
    return msg;
}

/* Returns how many of the n messages go to `to`. */
static uint32_t
s_count_to (zr_message_t **msgs, uint32_t n, zr_id_t to)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; i++)
        count += msgs [i]->to == to;
    return count;
}

/* Returns the one message of the n that goes to `to` (asserted unique). */
static zr_message_t *
s_only_to (zr_message_t **msgs, uint32_t n, zr_id_t to)
{
    ck_assert_uint_eq (s_count_to (msgs, n, to), 1);
    for (uint32_t i = 0; i < n; i++)
        if (msgs [i]->to == to)
            return msgs [i];
    return NULL;
}

//  --------------------------------------------------------------------------
//  Fixture: scenarios

/* Times core out, persists the candidate's hard state and grants it votes
   from peers 2, 3, ... until it leads. Its probes and no-op are left in
   the next Ready. Returns the time of the election. */
static uint64_t
s_elect (zr_core_t *core)
{
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    s_drain (core, now);
    for (zr_id_t peer = 2; zr_core_role (core) != ZR_ROLE_LEADER; peer++) {
        ck_assert_uint_le (peer, ZR_NODES_MAX);
        zr_message_t *reply = s_vote_reply (peer, 1, zr_core_term (core), true);
        S_STEP_OK (core, reply, now);
    }
    return now;
}

/* Returns leader 1 of a fresh cluster of n with config, in term 1, whose
   followers all acknowledged its no-op (index 1, committed and handed
   out): every follower is in REPLICATE with match 1. Sets *now. */
static zr_core_t *
s_steady_leader (const zr_core_config_t *config, uint64_t *now)
{
    zr_core_t *core = zr_core_new (config, 0);
    ck_assert_ptr_nonnull (core);
    *now = s_elect (core);
    s_drain (core, *now);
    for (zr_id_t peer = 2; peer <= config->n_servers; peer++)
        S_STEP_OK (core, s_append_ok (peer, 1, 1, 1), *now);
    ck_assert_uint_eq (zr_core_commit (core), 1);
    s_drain (core, *now);
    for (zr_id_t peer = 2; peer <= config->n_servers; peer++) {
        const zr_progress_t *pr = zr_core_progress (core, peer);
        ck_assert_int_eq (pr->state, ZR_PROGRESS_REPLICATE);
        ck_assert_uint_eq (pr->match, 1);
    }
    return core;
}

/* Proposes a command of size bytes to a leader; returns its index. */
static zr_index_t
s_propose (zr_core_t *core, uint32_t size)
{
    zr_blob_t *blob = zr_blob_new (size);
    ck_assert_ptr_nonnull (blob);
    memset (blob->data, 0x5a, size);
    zr_index_t index = 0;
    zr_term_t term = 0;
    int rc = zr_core_propose (core, blob, blob->data, size, &index, &term);
    ck_assert_int_eq (rc, 0);
    ck_assert_uint_eq (term, zr_core_term (core));
    zr_blob_unref (&blob);
    return index;
}

/* Checks that core just stepped down to follower in term 5 with no vote
   and the given known leader, and that the next Ready persists that. */
static void
s_check_stepped_down (zr_core_t *core, zr_id_t leader)
{
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    ck_assert_uint_eq (zr_core_term (core), 5);
    ck_assert_uint_eq (zr_core_vote (core), 0);
    ck_assert_uint_eq (zr_core_leader (core), leader);
    ck_assert_ptr_null (zr_core_progress (core, 2));
    zr_ready_t ready;
    s_ready (core, 500, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.term, 5);
    ck_assert_uint_eq (ready.vote, 0);
    ck_assert_uint_eq (ready.n_msgs, 0);
    zr_ready_release (&ready);
}

//  --------------------------------------------------------------------------
//  Election (§5.2)

/* Raft §5.2: a follower that hears nothing times out at a time drawn in
   [ET, 2 * ET) after it started, and not a millisecond earlier. */
START_TEST (core_tick_follower_times_out_within_election_timeout)
{
    for (uint64_t seed = 1; seed <= 50; seed++) {
        zr_core_config_t config = s_config (1, 3);
        config.seed = seed;
        zr_core_t *core = zr_core_new (&config, 1000);
        uint64_t deadline = zr_core_deadline (core);
        ck_assert_uint_ge (deadline, 1000 + S_ET);
        ck_assert_uint_lt (deadline, 1000 + 2 * S_ET);
        zr_core_tick (core, deadline - 1);
        ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
        ck_assert_uint_eq (zr_core_term (core), 0);
        zr_core_tick (core, deadline);
        ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
        zr_core_destroy (&core);
    }
}
END_TEST

/* Raft §5.2: on timeout a follower increments its term, votes for itself
   and sends RequestVote with its last entry to every peer; Invariant 1:
   the requests leave only once the new term and vote are durable. */
START_TEST (core_tick_follower_becomes_candidate)
{
    static const zr_term_t log [] = {1, 3};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 3, 2, log, 2);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 4);
    ck_assert_uint_eq (zr_core_vote (core), 1);
    ck_assert_uint_eq (zr_core_leader (core), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.term, 4);
    ck_assert_uint_eq (ready.vote, 1);
    ck_assert_uint_eq (ready.n_entries, 0);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 2);
    for (zr_id_t peer = 2; peer <= 3; peer++) {
        zr_message_t *m = s_only_to (ready.msgs_synced, 2, peer);
        ck_assert_uint_eq (m->type, ZR_MSG_VOTE);
        ck_assert_uint_eq (m->from, 1);
        ck_assert_uint_eq (m->term, 4);
        ck_assert_uint_eq (m->last_index, 2);
        ck_assert_uint_eq (m->last_term, 3);
    }
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: timeouts are randomized: over 50 seeds the first deadline
   takes many different values in [ET, 2 * ET). */
START_TEST (core_new_election_timeout_randomized)
{
    bool seen [S_ET] = {false};
    int distinct = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        zr_core_config_t config = s_config (1, 3);
        config.seed = seed;
        zr_core_t *core = zr_core_new (&config, 0);
        uint64_t offset = zr_core_deadline (core) - S_ET;
        ck_assert_uint_lt (offset, S_ET);
        distinct += !seen [offset];
        seen [offset] = true;
        zr_core_destroy (&core);
    }
    ck_assert_int_ge (distinct, 20);
}
END_TEST

/* Raft §5.2 (replay from a seed): the same seed and id give the same
   timeout, while servers sharing a seed draw different ones. */
START_TEST (core_new_election_timeout_deterministic_per_server)
{
    uint64_t deadline [4];
    for (zr_id_t id = 1; id <= 3; id++) {
        zr_core_t *core = s_core_new (id, 3);
        deadline [id] = zr_core_deadline (core);
        zr_core_destroy (&core);
        core = s_core_new (id, 3);
        ck_assert_uint_eq (zr_core_deadline (core), deadline [id]);
        zr_core_destroy (&core);
    }
    ck_assert_uint_ne (deadline [1], deadline [2]);
    ck_assert_uint_ne (deadline [1], deadline [3]);
    ck_assert_uint_ne (deadline [2], deadline [3]);
}
END_TEST

/* Steps msg from leader 2 into follower core just before its election
   deadline and checks that the timer restarted then: the old deadline
   passes without an election. Destroys core. */
static void
s_check_resets_election_timer (zr_core_t *core, zr_message_t *msg)
{
    uint64_t first = zr_core_deadline (core);
    uint64_t now = first - 1;
    S_STEP_OK (core, msg, now);
    uint64_t deadline = zr_core_deadline (core);
    ck_assert_uint_ge (deadline, now + S_ET);
    ck_assert_uint_lt (deadline, now + 2 * S_ET);
    zr_core_tick (core, first);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    ck_assert_uint_eq (zr_core_leader (core), 2);
    zr_core_destroy (&core);
}

/* Raft §5.2: a follower that receives AppendEntries from the leader
   restarts its election timer from that moment. */
START_TEST (core_step_append_resets_election_timer)
{
    zr_core_t *core = s_core_new (1, 3);
    s_check_resets_election_timer (core, s_append (2, 1, 1, 0, 0, 0, NULL, 0));
}
END_TEST

/* Raft §5.2 and thesis §6.4 (Invariant 8): a candidate granted votes by a
   majority becomes leader, appends a no-op of its term at last + 1 and
   sends it to both peers after (last, last term). */
START_TEST (core_step_vote_reply_majority_elects_leader)
{
    static const zr_term_t log [] = {1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 2);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    s_drain (core, now);
    S_STEP_OK (core, s_vote_reply (2, 1, 2, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    ck_assert_uint_eq (zr_core_leader (core), 1);
    ck_assert_uint_eq (zr_core_term (core), 2);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    const zr_entry_t *noop = zr_log_get (zr_core_log (core), 3);
    ck_assert_uint_eq (noop->term, 2);
    ck_assert_uint_eq (noop->type, ZR_ENTRY_NOOP);
    ck_assert_uint_eq (noop->size, 0);

    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.entries [0].index, 3);
    ck_assert_uint_eq (ready.entries [0].term, 2);
    ck_assert_uint_eq (ready.n_msgs_synced, 0);
    ck_assert_uint_eq (ready.n_msgs, 2);
    for (zr_id_t peer = 2; peer <= 3; peer++) {
        zr_message_t *m = s_only_to (ready.msgs, 2, peer);
        ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
        ck_assert_uint_eq (m->term, 2);
        ck_assert_uint_eq (m->prev_index, 2);
        ck_assert_uint_eq (m->prev_term, 1);
        ck_assert_uint_eq (m->commit, 0);
        ck_assert_uint_eq (m->n_entries, 1);
        ck_assert_uint_eq (m->entries [0].index, 3);
        ck_assert_uint_eq (m->entries [0].term, 2);
        ck_assert_uint_eq (m->entries [0].type, ZR_ENTRY_NOOP);
    }
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a candidate denied by every peer stays candidate in its
   term. */
START_TEST (core_step_vote_reply_denied_keeps_candidate)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    S_STEP_OK (core, s_vote_reply (2, 1, 1, false), now);
    S_STEP_OK (core, s_vote_reply (3, 1, 1, false), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 1);
    ck_assert_uint_eq (zr_core_last_index (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 (split vote): with 5 servers, its own vote and one grant (2
   of 5) leave the candidate without a majority. */
START_TEST (core_step_vote_reply_split_keeps_candidate)
{
    zr_core_t *core = s_core_new (1, 5);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    S_STEP_OK (core, s_vote_reply (2, 1, 1, true), now);
    S_STEP_OK (core, s_vote_reply (3, 1, 1, false), now);
    S_STEP_OK (core, s_vote_reply (4, 1, 1, false), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 1);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a grant counts once per voter; a duplicated reply does not
   make a majority (5 servers: self + 2 twice is 2 votes). */
START_TEST (core_step_vote_reply_duplicate_counted_once)
{
    zr_core_t *core = s_core_new (1, 5);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    S_STEP_OK (core, s_vote_reply (2, 1, 1, true), now);
    S_STEP_OK (core, s_vote_reply (2, 1, 1, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    S_STEP_OK (core, s_vote_reply (3, 1, 1, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a grant from an earlier term (an earlier election) is not a
   vote for the current one. */
START_TEST (core_step_vote_reply_stale_term_ignored)
{
    zr_core_t *core = s_core_new (1, 3);
    zr_core_tick (core, zr_core_deadline (core));
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_uint_eq (zr_core_term (core), 2);
    S_STEP_OK (core, s_vote_reply (2, 1, 1, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 2);
    S_STEP_OK (core, s_vote_reply (2, 1, 2, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a candidate whose election times out starts a new one in
   term + 1, votes for itself again, redraws its timeout and asks again. */
START_TEST (core_tick_candidate_timeout_starts_new_term)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t first = zr_core_deadline (core);
    zr_core_tick (core, first);
    s_drain (core, first);
    S_STEP_OK (core, s_vote_reply (2, 1, 1, false), first);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now - 1);
    ck_assert_uint_eq (zr_core_term (core), 1);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 2);
    ck_assert_uint_eq (zr_core_vote (core), 1);
    ck_assert_uint_ge (zr_core_deadline (core), now + S_ET);
    ck_assert_uint_lt (zr_core_deadline (core), now + 2 * S_ET);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.term, 2);
    ck_assert_uint_eq (ready.vote, 1);
    ck_assert_uint_eq (ready.n_msgs_synced, 2);
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_uint_eq (ready.msgs_synced [i]->type, ZR_MSG_VOTE);
        ck_assert_uint_eq (ready.msgs_synced [i]->term, 2);
    }
    zr_ready_release (&ready);
    /* The old denial does not count against the new election. */
    S_STEP_OK (core, s_vote_reply (3, 1, 2, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 (Invariant 1): a follower grants its vote to the first
   candidate of a term; vote and reply wait for the disk (Invariant 7). */
START_TEST (core_step_vote_grants_first_candidate)
{
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_vote (2, 1, 1, 0, 0), 50);
    ck_assert_uint_eq (zr_core_term (core), 1);
    ck_assert_uint_eq (zr_core_vote (core), 2);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.term, 1);
    ck_assert_uint_eq (ready.vote, 2);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    zr_message_t *m = ready.msgs_synced [0];
    ck_assert_uint_eq (m->type, ZR_MSG_VOTE_REPLY);
    ck_assert_uint_eq (m->from, 1);
    ck_assert_uint_eq (m->to, 2);
    ck_assert_uint_eq (m->term, 1);
    ck_assert (m->granted);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 1 (Figure 2, votedFor is persistent): a vote granted in the
   current term is a hard-state change: the Ready persists it and holds
   the reply until then, even though the term did not change. */
START_TEST (core_step_vote_grant_same_term_persists_vote)
{
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 4, 0, NULL, 0);
    S_STEP_OK (core, s_vote (3, 1, 4, 0, 0), 50);
    ck_assert_uint_eq (zr_core_vote (core), 3);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.term, 4);
    ck_assert_uint_eq (ready.vote, 3);
    ck_assert_uint_eq (ready.n_msgs, 0);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 3);
    ck_assert (m->granted);
    ck_assert_uint_eq (m->term, 4);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 (Election Safety, Invariant 1): at most one vote per term: a
   second candidate of the same term is denied. */
START_TEST (core_step_vote_second_candidate_same_term_denied)
{
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_vote (2, 1, 1, 0, 0), 50);
    s_drain (core, 50);
    S_STEP_OK (core, s_vote (3, 1, 1, 0, 0), 51);
    ck_assert_uint_eq (zr_core_vote (core), 2);
    zr_ready_t ready;
    s_ready (core, 51, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    zr_message_t *m = ready.msgs_synced [0];
    ck_assert_uint_eq (m->type, ZR_MSG_VOTE_REPLY);
    ck_assert_uint_eq (m->to, 3);
    ck_assert_uint_eq (m->term, 1);
    ck_assert (!m->granted);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a candidate that asks again in the same term (its first
   reply was lost) is granted again: the vote is already its own. */
START_TEST (core_step_vote_same_candidate_granted_again)
{
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_vote (2, 1, 1, 0, 0), 50);
    s_drain (core, 50);
    S_STEP_OK (core, s_vote (2, 1, 1, 0, 0), 60);
    zr_ready_t ready;
    s_ready (core, 60, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert_uint_eq (ready.msgs_synced [0]->to, 2);
    ck_assert (ready.msgs_synced [0]->granted);
    ck_assert_uint_eq (zr_core_vote (core), 2);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.1: a RequestVote of an older term is denied, with our term in
   the reply, and changes nothing. */
START_TEST (core_step_vote_stale_term_denied)
{
    static const zr_term_t log [] = {1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 3, 0, log, 1);
    S_STEP_OK (core, s_vote (2, 1, 2, 5, 2), 50);
    ck_assert_uint_eq (zr_core_term (core), 3);
    ck_assert_uint_eq (zr_core_vote (core), 0);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert_uint_eq (ready.msgs_synced [0]->term, 3);
    ck_assert (!ready.msgs_synced [0]->granted);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.4.1 (Invariant 2): a candidate whose last term is higher is
   more up to date even with a shorter log: granted. */
START_TEST (core_step_vote_higher_last_term_granted_if_shorter)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 3);
    S_STEP_OK (core, s_vote (2, 1, 2, 2, 2), 50);
    ck_assert_uint_eq (zr_core_term (core), 2);
    ck_assert_uint_eq (zr_core_vote (core), 2);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.4.1 (Invariant 2): a candidate whose last term is lower is
   denied even with a longer log; the voter still adopts the term. */
START_TEST (core_step_vote_lower_last_term_denied_even_if_longer)
{
    static const zr_term_t log [] = {1, 2};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 2, 0, log, 2);
    S_STEP_OK (core, s_vote (2, 1, 3, 5, 1), 50);
    ck_assert_uint_eq (zr_core_term (core), 3);
    ck_assert_uint_eq (zr_core_vote (core), 0);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.vote, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert (!ready.msgs_synced [0]->granted);
    ck_assert_uint_eq (ready.msgs_synced [0]->term, 3);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.4.1 (Invariant 2): with the same last term, a shorter log is
   less up to date: denied. */
START_TEST (core_step_vote_same_last_term_shorter_denied)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 3);
    S_STEP_OK (core, s_vote (2, 1, 2, 2, 1), 50);
    ck_assert_uint_eq (zr_core_term (core), 2);
    ck_assert_uint_eq (zr_core_vote (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.4.1 (Invariant 2): with the same last term, a log at least as
   long is up to date: granted. */
START_TEST (core_step_vote_same_last_term_equal_granted)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 3);
    S_STEP_OK (core, s_vote (2, 1, 2, 3, 1), 50);
    ck_assert_uint_eq (zr_core_vote (core), 2);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a candidate votes only for itself in its term, so it denies
   another candidate of the same term. */
START_TEST (core_step_vote_candidate_denies_same_term)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    s_drain (core, now);
    S_STEP_OK (core, s_vote (2, 1, 1, 0, 0), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_vote (core), 1);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert (!ready.msgs_synced [0]->granted);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 (single server): a one-server cluster elects itself at its
   first timeout without messages, with its no-op (thesis §6.4). */
START_TEST (core_tick_single_node_elects_itself)
{
    zr_core_t *core = s_core_new (1, 1);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    ck_assert_uint_eq (zr_core_term (core), 1);
    ck_assert_uint_eq (zr_core_vote (core), 1);
    ck_assert_uint_eq (zr_core_last_index (core), 1);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.entries [0].type, ZR_ENTRY_NOOP);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 0);
    ck_assert_uint_eq (ready.n_committed, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 6 (thesis §10.2.1): a single server's majority is itself, so
   its no-op commits exactly when the persister confirms it. */
START_TEST (core_persisted_single_node_commits_noop)
{
    zr_core_t *core = s_core_new (1, 1);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_ready_release (&ready);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_core_persisted (core, 1, 1);
    ck_assert_uint_eq (zr_core_commit (core), 1);
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_committed, 1);
    ck_assert_uint_eq (ready.committed [0].index, 1);
    ck_assert_uint_eq (ready.committed [0].type, ZR_ENTRY_NOOP);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Higher and lower terms (§5.1, Invariant 3)

/* Returns a leader of term 2 (log: 1 in term 1, its no-op 2 in term 2). */
static zr_core_t *
s_leader_term2 (void)
{
    static const zr_term_t log [] = {1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 1);
    s_drain (core, s_elect (core));
    ck_assert_uint_eq (zr_core_term (core), 2);
    return core;
}

/* Returns a candidate of term 2 (log: 1 in term 1), its Ready drained. */
static zr_core_t *
s_candidate_term2 (void)
{
    static const zr_term_t log [] = {1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 1);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    s_drain (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 2);
    return core;
}

/* Figure 2 "Rules for Servers" (Invariant 3): a RequestVote of a higher
   term makes a leader adopt it and step down, with no vote (its log is
   more up to date than the candidate's). */
START_TEST (core_step_higher_term_vote_demotes_leader)
{
    zr_core_t *core = s_leader_term2 ();
    S_STEP_OK (core, s_vote (2, 1, 5, 0, 0), 400);
    s_check_stepped_down (core, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): a vote reply of a higher
   term makes a leader step down. */
START_TEST (core_step_higher_term_vote_reply_demotes_leader)
{
    zr_core_t *core = s_leader_term2 ();
    S_STEP_OK (core, s_vote_reply (2, 1, 5, false), 400);
    s_check_stepped_down (core, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): an AppendEntries of a
   higher term makes a leader step down and follow its sender. */
START_TEST (core_step_higher_term_append_demotes_leader)
{
    zr_core_t *core = s_leader_term2 ();
    S_STEP_OK (core, s_append (2, 1, 5, 0, 0, 0, NULL, 0), 400);
    s_check_stepped_down (core, 2);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): an AppendEntries reply of a
   higher term (a follower that moved on) makes a leader step down. */
START_TEST (core_step_higher_term_append_reply_demotes_leader)
{
    zr_core_t *core = s_leader_term2 ();
    S_STEP_OK (core, s_append_reject (2, 1, 5, 0, 0, 0, 0), 400);
    s_check_stepped_down (core, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): a RequestVote of a higher
   term makes a candidate step down (vote denied: its log is longer). */
START_TEST (core_step_higher_term_vote_demotes_candidate)
{
    zr_core_t *core = s_candidate_term2 ();
    S_STEP_OK (core, s_vote (2, 1, 5, 0, 0), 400);
    s_check_stepped_down (core, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): a vote reply of a higher
   term makes a candidate step down. */
START_TEST (core_step_higher_term_vote_reply_demotes_candidate)
{
    zr_core_t *core = s_candidate_term2 ();
    S_STEP_OK (core, s_vote_reply (3, 1, 5, false), 400);
    s_check_stepped_down (core, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): an AppendEntries of a
   higher term makes a candidate step down and follow its sender. */
START_TEST (core_step_higher_term_append_demotes_candidate)
{
    zr_core_t *core = s_candidate_term2 ();
    S_STEP_OK (core, s_append (2, 1, 5, 0, 0, 0, NULL, 0), 400);
    s_check_stepped_down (core, 2);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 "Rules for Servers" (Invariant 3): an AppendEntries reply of a
   higher term makes a candidate step down. */
START_TEST (core_step_higher_term_append_reply_demotes_candidate)
{
    zr_core_t *core = s_candidate_term2 ();
    S_STEP_OK (core, s_append_reject (3, 1, 5, 0, 0, 0, 0), 400);
    s_check_stepped_down (core, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2: a candidate that receives AppendEntries from a leader of its
   own term recognises it and returns to follower, keeping its vote. */
START_TEST (core_step_append_same_term_demotes_candidate)
{
    zr_core_t *core = s_candidate_term2 ();
    S_STEP_OK (core, s_append (2, 1, 2, 1, 1, 0, NULL, 0), 400);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    ck_assert_uint_eq (zr_core_term (core), 2);
    ck_assert_uint_eq (zr_core_vote (core), 1);
    ck_assert_uint_eq (zr_core_leader (core), 2);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.1: an AppendEntries of an older term is rejected with our term
   in the reply, so the stale leader steps down; nothing else changes. */
START_TEST (core_step_append_stale_term_rejected)
{
    static const zr_term_t log [] = {1};
    static const zr_term_t two [] = {2};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 3, 0, log, 1);
    S_STEP_OK (core, s_append (2, 1, 2, 1, 1, 1, two, 1), 50);
    ck_assert_uint_eq (zr_core_term (core), 3);
    ck_assert_uint_eq (zr_core_leader (core), 0);
    ck_assert_uint_eq (zr_core_last_index (core), 1);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_entries, 0);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    zr_message_t *m = ready.msgs_synced [0];
    ck_assert_uint_eq (m->type, ZR_MSG_APPEND_REPLY);
    ck_assert_uint_eq (m->to, 2);
    ck_assert_uint_eq (m->term, 3);
    ck_assert (!m->success);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Election Safety (Figure 3): two leaders in one term cannot exist, so an
   AppendEntries of the leader's own term is refused as malformed. */
START_TEST (core_step_append_same_term_to_leader_malformed)
{
    zr_core_t *core = s_leader_term2 ();
    ck_assert_int_eq (s_step (core, s_append (2, 1, 2, 0, 0, 0, NULL, 0), 400),
                      ZR_EMALFORMED);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    ck_assert_uint_eq (zr_core_term (core), 2);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2: a message not addressed to this server, or from a server
   outside the cluster, is refused and changes nothing. */
START_TEST (core_step_misaddressed_message_refused)
{
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_step (core, s_vote (2, 3, 4, 0, 0), 50), ZR_EMALFORMED);
    ck_assert_int_eq (s_step (core, s_vote (7, 1, 4, 0, 0), 50), ZR_EMALFORMED);
    ck_assert_int_eq (s_step (core, s_vote (1, 1, 4, 0, 0), 50), ZR_EMALFORMED);
    ck_assert_uint_eq (zr_core_term (core), 0);
    ck_assert_uint_eq (zr_core_vote (core), 0);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_msgs_synced, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Replication on the follower (§5.3)

/* Figure 2, AppendEntries step 2: prevLogIndex beyond our log is rejected
   with conflict_term 0 and our last index as the hint. */
START_TEST (core_step_append_rejects_missing_prev)
{
    static const zr_term_t log [] = {1, 1};
    static const zr_term_t two [] = {2};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 2);
    S_STEP_OK (core, s_append (2, 1, 2, 5, 2, 0, two, 1), 50);
    ck_assert_uint_eq (zr_core_last_index (core), 2);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    zr_message_t *m = ready.msgs_synced [0];
    ck_assert_uint_eq (m->type, ZR_MSG_APPEND_REPLY);
    ck_assert_uint_eq (m->term, 2);
    ck_assert (!m->success);
    ck_assert_uint_eq (m->match_index, 5);
    ck_assert_uint_eq (m->conflict_term, 0);
    ck_assert_uint_eq (m->conflict_index, 0);
    ck_assert_uint_eq (m->last_index, 2);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries step 2 and §5.3 (conflict hints): a prevLogTerm
   that differs is rejected with the term we hold there and the first
   index we hold of that term. */
START_TEST (core_step_append_rejects_prev_term_mismatch)
{
    static const zr_term_t log [] = {1, 2, 2, 2};
    static const zr_term_t three [] = {3};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 2, 0, log, 4);
    S_STEP_OK (core, s_append (2, 1, 3, 4, 3, 0, three, 1), 50);
    ck_assert_uint_eq (zr_core_last_index (core), 4);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 4), 2);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 0);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert (!m->success);
    ck_assert_uint_eq (m->term, 3);
    ck_assert_uint_eq (m->match_index, 4);
    ck_assert_uint_eq (m->conflict_term, 2);
    ck_assert_uint_eq (m->conflict_index, 2);
    ck_assert_uint_eq (m->last_index, 4);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries steps 3-4: a conflicting suffix is truncated
   and replaced; the Ready hands the new entry from the truncation point
   and the durable index drops below it. */
START_TEST (core_step_append_truncates_conflicting_suffix)
{
    static const zr_term_t log [] = {1, 1, 2, 2};
    static const zr_term_t three [] = {3};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 2, 0, log, 4);
    ck_assert_uint_eq (zr_core_persisted_index (core), 4);
    S_STEP_OK (core, s_append (2, 1, 3, 2, 1, 0, three, 1), 50);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 1), 1);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 2), 1);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 3), 3);
    ck_assert_uint_eq (zr_core_persisted_index (core), 2);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.entries [0].index, 3);
    ck_assert_uint_eq (ready.entries [0].term, 3);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert (m->success);
    ck_assert_uint_eq (m->match_index, 3);
    ck_assert_uint_eq (m->last_index, 3);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 4 (§5.3, reordered RPCs): an older, shorter AppendEntries
   that arrives after a longer one matches a prefix and never truncates:
   the log keeps the longer suffix and the reply verifies only the prefix. */
START_TEST (core_step_append_stale_shorter_never_truncates)
{
    static const zr_term_t three [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 0, three, 3), 50);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 3);
    zr_ready_release (&ready);
    const zr_log_t *log = zr_core_log (core);
    zr_blob_t *blob = zr_log_get (log, 3)->blob;

    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 0, three, 1), 51);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    for (zr_index_t i = 1; i <= 3; i++) {
        ck_assert_uint_eq (zr_log_term (log, i), 1);
        ck_assert_ptr_eq (zr_log_get (log, i)->blob, blob);
    }
    s_ready (core, 51, &ready);
    ck_assert_uint_eq (ready.n_entries, 0);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert (m->success);
    ck_assert_uint_eq (m->match_index, 1);
    ck_assert_uint_eq (m->last_index, 3);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 4 (§5.3, duplicated RPCs): the same AppendEntries twice is
   idempotent: nothing is rewritten or handed to persist again. */
START_TEST (core_step_append_duplicate_idempotent)
{
    static const zr_term_t three [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    zr_message_t *msg = s_append (2, 1, 1, 0, 0, 0, three, 3);
    ck_assert_int_eq (zr_core_step (core, msg, 50), 0);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 3);
    zr_ready_release (&ready);
    zr_blob_t *blob = zr_log_get (zr_core_log (core), 1)->blob;
    unsigned refs = atomic_load (&blob->refs);

    S_STEP_OK (core, msg, 51);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    ck_assert_uint_eq (atomic_load (&blob->refs), refs - 3);
    for (zr_index_t i = 1; i <= 3; i++)
        ck_assert_ptr_eq (zr_log_get (zr_core_log (core), i)->blob, blob);
    s_ready (core, 51, &ready);
    ck_assert_uint_eq (ready.n_entries, 0);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert (m->success);
    ck_assert_uint_eq (m->match_index, 3);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Leader Completeness (§5.4): a committed entry is never truncated; an
   AppendEntries that would cut one is refused and the log is unchanged. */
START_TEST (core_step_append_conflict_below_commit_refused)
{
    static const zr_term_t log [] = {1, 1, 1};
    static const zr_term_t two [] = {2};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 3, 1, 3, NULL, 0), 50);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    ck_assert_int_eq (s_step (core, s_append (3, 1, 2, 1, 1, 3, two, 1), 60),
                      ZR_EMALFORMED);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 2), 1);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    ck_assert_uint_eq (zr_core_persisted_index (core), 3);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries step 5 (Invariant 5): commit follows
   leaderCommit when it is below the last new entry. */
START_TEST (core_step_append_commit_follows_leader_commit)
{
    static const zr_term_t three [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 2, three, 3), 50);
    ck_assert_uint_eq (zr_core_commit (core), 2);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries step 5 (Invariant 5): commit stops at the last
   entry this AppendEntries verified when leaderCommit is beyond it. */
START_TEST (core_step_append_commit_capped_by_last_new)
{
    static const zr_term_t three [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 5, three, 3), 50);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries step 5 (Invariant 5): a heartbeat that matches
   advances commit too, up to its prevLogIndex (the last index it
   verified), not to our last. */
START_TEST (core_step_heartbeat_advances_commit_to_prev)
{
    static const zr_term_t log [] = {1, 1, 1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 5);
    S_STEP_OK (core, s_append (2, 1, 1, 3, 1, 5, NULL, 0), 50);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert (m->success);
    ck_assert_uint_eq (m->match_index, 3);
    ck_assert_uint_eq (m->last_index, 5);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries step 2 (Invariant 5): a heartbeat whose
   prevLogIndex is beyond our log is rejected and does not advance commit. */
START_TEST (core_step_heartbeat_beyond_log_keeps_commit)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 7, 1, 7, NULL, 0), 50);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2, AppendEntries step 2 (Invariant 5): a heartbeat whose
   prevLogTerm differs is rejected and does not advance commit. */
START_TEST (core_step_heartbeat_mismatch_keeps_commit)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 0, log, 3);
    S_STEP_OK (core, s_append (2, 1, 2, 3, 2, 3, NULL, 0), 50);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 (commitIndex increases monotonically): a late AppendEntries
   with a lower leaderCommit never moves commit back. */
START_TEST (core_step_append_commit_never_decreases)
{
    static const zr_term_t three [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 3, three, 3), 50);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 1, three, 2), 51);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §10.2.1 (Invariant 7): an AppendEntries reply always waits for
   the disk, even when the hard state did not change. */
START_TEST (core_ready_append_reply_in_msgs_synced)
{
    static const zr_term_t one [] = {1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 1, 2, NULL, 0);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 0, one, 1), 50);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (!ready.hs_changed);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert_uint_eq (ready.msgs_synced [0]->type, ZR_MSG_APPEND_REPLY);
    ck_assert (ready.msgs_synced [0]->success);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 2 (lastApplied): committed entries are handed out once each, in
   index order, as commit advances. */
START_TEST (core_ready_committed_handed_out_once_in_order)
{
    static const zr_term_t three [] = {1, 1, 2};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 2, 0, 0, 2, three, 3), 50);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_committed, 2);
    ck_assert_uint_eq (ready.committed [0].index, 1);
    ck_assert_uint_eq (ready.committed [1].index, 2);
    ck_assert_uint_eq (ready.committed [1].term, 1);
    zr_index_t index;
    memcpy (&index, ready.committed [1].data, 8);
    ck_assert_uint_eq (index, 2);
    zr_ready_release (&ready);

    s_ready (core, 51, &ready);
    ck_assert_uint_eq (ready.n_committed, 0);
    zr_ready_release (&ready);

    S_STEP_OK (core, s_append (2, 1, 2, 3, 2, 3, NULL, 0), 52);
    s_ready (core, 52, &ready);
    ck_assert_uint_eq (ready.n_committed, 1);
    ck_assert_uint_eq (ready.committed [0].index, 3);
    ck_assert_uint_eq (ready.committed [0].term, 2);
    zr_ready_release (&ready);

    s_ready (core, 53, &ready);
    ck_assert_uint_eq (ready.n_committed, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Persistence reports (Invariant 6, thesis §10.2.1)

/* Raft §5.3 and core.h (zr_core_persisted): a durability report for an
   entry that was truncated meanwhile (its term no longer matches) is
   ignored; the report for the replacement counts. */
START_TEST (core_persisted_ignores_truncated_entry)
{
    static const zr_term_t two [] = {1, 1};
    static const zr_term_t new2 [] = {2};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 0, two, 2), 50);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 2);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append (3, 1, 2, 1, 1, 0, new2, 1), 60);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 2), 2);

    zr_core_persisted (core, 2, 1);     /* the first batch, now stale */
    ck_assert_uint_eq (zr_core_persisted_index (core), 0);
    s_ready (core, 60, &ready);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.entries [0].index, 2);
    ck_assert_uint_eq (ready.entries [0].term, 2);
    zr_ready_release (&ready);
    zr_core_persisted (core, 2, 1);
    ck_assert_uint_eq (zr_core_persisted_index (core), 0);
    zr_core_persisted (core, 2, 2);
    ck_assert_uint_eq (zr_core_persisted_index (core), 2);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §10.2.1 (zr_core_persisted): reports never move the durable
   index back; an older report after a newer one is ignored. */
START_TEST (core_persisted_old_report_ignored)
{
    static const zr_term_t three [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 0, three, 3), 50);
    s_drain (core, 50);
    ck_assert_uint_eq (zr_core_persisted_index (core), 3);
    zr_core_persisted (core, 2, 1);
    ck_assert_uint_eq (zr_core_persisted_index (core), 3);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Commit rule on the leader (§5.4.2, Figure 8, Invariant 6)

/* Returns leader 1 of 5 in term 4 whose log is 1 (term 1), 2 (term 2) and
   its no-op 3 (term 4), all durable on the leader (Figure 8 (c)). */
static zr_core_t *
s_figure8_leader (uint64_t *now)
{
    static const zr_term_t log [] = {1, 2};
    zr_core_t *core = s_core_new (1, 5);
    s_restore (core, 3, 0, log, 2);
    *now = s_elect (core);
    s_drain (core, *now);
    ck_assert_uint_eq (zr_core_term (core), 4);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    ck_assert_uint_eq (zr_core_persisted_index (core), 3);
    return core;
}

/* Figure 8 (§5.4.2): a leader of term 4 does not commit the term-2 entry
   by counting replicas, although it is on a majority (1, 2, 3 of 5). */
START_TEST (core_maybe_commit_old_term_not_committed_by_counting)
{
    uint64_t now;
    zr_core_t *core = s_figure8_leader (&now);
    S_STEP_OK (core, s_append_ok (2, 1, 4, 2), now);
    S_STEP_OK (core, s_append_ok (3, 1, 4, 2), now);
    ck_assert_uint_eq (zr_core_progress (core, 2)->match, 2);
    ck_assert_uint_eq (zr_core_progress (core, 3)->match, 2);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_committed, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 8 (e) (§5.4.2): once the leader's term-4 entry is on a majority
   it commits, and the term-2 entry before it commits with it. */
START_TEST (core_maybe_commit_current_term_commits_preceding)
{
    uint64_t now;
    zr_core_t *core = s_figure8_leader (&now);
    S_STEP_OK (core, s_append_ok (2, 1, 4, 2), now);
    S_STEP_OK (core, s_append_ok (3, 1, 4, 2), now);
    S_STEP_OK (core, s_append_ok (2, 1, 4, 3), now);
    ck_assert_uint_eq (zr_core_commit (core), 0);     /* 2 of 5 hold 3 */
    S_STEP_OK (core, s_append_ok (3, 1, 4, 3), now);
    ck_assert_uint_eq (zr_core_commit (core), 3);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_committed, 3);
    ck_assert_uint_eq (ready.committed [0].term, 1);
    ck_assert_uint_eq (ready.committed [1].term, 2);
    ck_assert_uint_eq (ready.committed [2].term, 4);
    ck_assert_uint_eq (ready.committed [2].type, ZR_ENTRY_NOOP);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 6 (thesis §10.2.1): the leader counts itself only once its
   own copy is durable: in 3 servers, one follower's ack alone commits
   nothing. */
START_TEST (core_maybe_commit_follower_ack_alone_not_enough)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t now = s_elect (core);
    zr_ready_t ready;
    s_ready (core, now, &ready);        /* the no-op goes to the persister */
    zr_ready_release (&ready);
    ck_assert_uint_eq (zr_core_persisted_index (core), 0);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 1), now);
    ck_assert_uint_eq (zr_core_progress (core, 2)->match, 1);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 6 (thesis §10.2.1): the persister's report completes the
   majority (leader + one follower of 3) and commits the no-op. */
START_TEST (core_maybe_commit_leader_persisted_completes_majority)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t now = s_elect (core);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_ready_release (&ready);
    zr_core_persisted (core, 1, 1);
    ck_assert_uint_eq (zr_core_commit (core), 0);     /* 1 of 3 */
    S_STEP_OK (core, s_append_ok (2, 1, 1, 1), now);
    ck_assert_uint_eq (zr_core_commit (core), 1);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §10.2.1 (Invariant 6): the same majority reached in the other
   order (follower first, then the leader's own write) commits on the
   persister's report. */
START_TEST (core_persisted_commits_when_follower_acked_first)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t now = s_elect (core);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 1), now);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    zr_core_persisted (core, 1, 1);
    ck_assert_uint_eq (zr_core_commit (core), 1);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Leader replication: proposals, pipelining, heartbeats (§5.3)

/* Raft §5.3: a proposal is appended at last + 1 in the leader's term and
   sent to each follower after (last, last term), with the commit index. */
START_TEST (core_propose_appends_and_replicates)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_uint_eq (s_propose (core, 5), 2);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.entries [0].index, 2);
    ck_assert_uint_eq (ready.entries [0].term, 1);
    ck_assert_uint_eq (ready.entries [0].type, ZR_ENTRY_COMMAND);
    ck_assert_uint_eq (ready.entries [0].size, 5);
    ck_assert_uint_eq (ready.n_msgs, 2);
    for (zr_id_t peer = 2; peer <= 3; peer++) {
        zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, peer);
        ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
        ck_assert_uint_eq (m->term, 1);
        ck_assert_uint_eq (m->prev_index, 1);
        ck_assert_uint_eq (m->prev_term, 1);
        ck_assert_uint_eq (m->commit, 1);
        ck_assert_uint_eq (m->n_entries, 1);
        ck_assert_uint_eq (m->entries [0].index, 2);
        ck_assert_uint_eq (m->entries [0].size, 5);
    }
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.1: only the leader accepts proposals; others say who leads. */
START_TEST (core_propose_follower_not_leader)
{
    zr_core_t *core = s_core_new (1, 3);
    S_STEP_OK (core, s_append (2, 1, 1, 0, 0, 0, NULL, 0), 50);
    zr_blob_t *blob = zr_blob_new (1);
    blob->data [0] = 1;
    zr_index_t index = 0;
    zr_term_t term = 0;
    int rc = zr_core_propose (core, blob, blob->data, 1, &index, &term);
    ck_assert_int_eq (rc, ZR_ENOTLEADER);
    ck_assert_uint_eq (zr_core_leader (core), 2);
    ck_assert_uint_eq (zr_core_last_index (core), 0);
    zr_blob_unref (&blob);
    zr_core_destroy (&core);
}
END_TEST

/* Returns a steady leader of 3 (window 4 messages, 250-byte batches) with
   ten 100-byte proposals (indexes 2..11) packed by one Ready into *ready. */
static zr_core_t *
s_pipelined_leader (uint64_t *now, zr_ready_t *ready)
{
    zr_core_config_t config = s_config (1, 3);
    config.inflight_max = 4;
    config.batch_bytes = 250;
    zr_core_t *core = s_steady_leader (&config, now);
    for (int i = 0; i < 10; i++)
        s_propose (core, 100);
    ck_assert_uint_eq (zr_core_last_index (core), 11);
    s_ready (core, *now, ready);
    return core;
}

/* Raft §5.3 (pipelining, thesis §10.2.2): a REPLICATE follower gets up to
   inflight_max AppendEntries at once, each continuing the previous one,
   without waiting for replies. */
START_TEST (core_ready_pipelines_up_to_inflight_max)
{
    uint64_t now;
    zr_ready_t ready;
    zr_core_t *core = s_pipelined_leader (&now, &ready);
    ck_assert_uint_eq (ready.n_msgs_synced, 0);
    ck_assert_uint_eq (ready.n_msgs, 8);
    zr_index_t prev = 1;
    for (uint32_t i = 0; i < ready.n_msgs; i++) {
        zr_message_t *m = ready.msgs [i];
        if (m->to != 2)
            continue;
        ck_assert_uint_eq (m->prev_index, prev);
        ck_assert_uint_eq (m->prev_term, 1);
        ck_assert_uint_eq (m->n_entries, 2);
        ck_assert_uint_eq (m->entries [0].index, prev + 1);
        prev += 2;
    }
    ck_assert_uint_eq (prev, 9);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_uint_eq (pr->count, 4);
    ck_assert_uint_eq (pr->next, 10);
    ck_assert_uint_eq (pr->bytes, 800);
    ck_assert_uint_eq (pr->match, 1);
    zr_ready_release (&ready);
    s_ready (core, now, &ready);        /* window full: nothing more */
    ck_assert_uint_eq (ready.n_msgs, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §10.2.2 (batching): batch_bytes bounds the payload of one
   AppendEntries: 100-byte entries in 250-byte batches go two by two. */
START_TEST (core_ready_batch_bytes_bounds_entries)
{
    zr_core_config_t config = s_config (1, 3);
    config.batch_bytes = 250;
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    for (int i = 0; i < 5; i++)
        s_propose (core, 100);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 3), 3);
    static const uint32_t sizes [] = {2, 2, 1};
    uint32_t k = 0;
    for (uint32_t i = 0; i < ready.n_msgs; i++) {
        zr_message_t *m = ready.msgs [i];
        if (m->to != 3)
            continue;
        ck_assert_uint_eq (m->n_entries, sizes [k]);
        uint64_t bytes = 0;
        for (uint32_t e = 0; e < m->n_entries; e++)
            bytes += m->entries [e].size;
        ck_assert_uint_le (bytes, 250);
        k++;
    }
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §10.2.2: an ack frees the window slots it covers and the next
   Ready sends the rest at once (one message: entries 10 and 11). */
START_TEST (core_step_append_reply_ack_frees_window)
{
    uint64_t now;
    zr_ready_t ready;
    zr_core_t *core = s_pipelined_leader (&now, &ready);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 5), now);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_uint_eq (pr->match, 5);
    ck_assert_uint_eq (pr->count, 2);
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 1);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->prev_index, 9);
    ck_assert_uint_eq (m->n_entries, 2);
    ck_assert_uint_eq (m->entries [1].index, 11);
    ck_assert_uint_eq (pr->count, 3);
    ck_assert_uint_eq (pr->next, 12);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.3: a rejection in REPLICATE (the follower lost the first
   message) drops the window and probes once from the hint. */
START_TEST (core_step_append_reply_rejection_resets_to_probe)
{
    uint64_t now;
    zr_ready_t ready;
    zr_core_t *core = s_pipelined_leader (&now, &ready);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_reject (2, 1, 1, 3, 0, 0, 1), now);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr->next, 2);
    ck_assert_uint_eq (pr->match, 1);
    ck_assert_uint_eq (pr->count, 0);
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 1);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->prev_index, 1);
    ck_assert_uint_eq (m->prev_term, 1);
    ck_assert_uint_eq (m->n_entries, 2);
    ck_assert (pr->probe_sent);
    zr_ready_release (&ready);
    /* The rejections of the later messages answer older sends: ignored. */
    S_STEP_OK (core, s_append_reject (2, 1, 1, 5, 0, 0, 1), now);
    ck_assert_uint_eq (pr->next, 2);
    ck_assert (pr->probe_sent);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 2 (progress.h; §5.3, reordered replies): a late duplicate
   success reply does not move match back. */
START_TEST (core_step_append_reply_late_success_keeps_match)
{
    uint64_t now;
    zr_ready_t ready;
    zr_core_t *core = s_pipelined_leader (&now, &ready);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 9), now);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 5), now);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 9), now);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_uint_eq (pr->match, 9);
    ck_assert_uint_eq (pr->count, 0);
    ck_assert_uint_eq (pr->next, 10);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_REPLICATE);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.3: a reply claiming entries the leader never had is refused. */
START_TEST (core_step_append_reply_beyond_log_malformed)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    int rc = s_step (core, s_append_ok (2, 1, 1, 9), now);
    ck_assert_int_eq (rc, ZR_EMALFORMED);
    ck_assert_uint_eq (zr_core_progress (core, 2)->match, 1);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 (heartbeats): an idle leader sends exactly one empty
   AppendEntries per follower each heartbeat interval, none in between. */
START_TEST (core_tick_idle_leader_heartbeats_once_per_interval)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_uint_eq (zr_core_deadline (core), now + S_HB);
    zr_ready_t ready;
    zr_core_tick (core, now + S_HB - 1);
    s_ready (core, now + S_HB - 1, &ready);
    ck_assert_uint_eq (ready.n_msgs + ready.n_msgs_synced, 0);
    zr_ready_release (&ready);

    for (uint64_t beat = 1; beat <= 3; beat++) {
        uint64_t at = now + beat * S_HB;
        zr_core_tick (core, at);
        s_ready (core, at, &ready);
        ck_assert_uint_eq (ready.n_msgs_synced, 0);
        ck_assert_uint_eq (ready.n_msgs, 2);
        for (zr_id_t peer = 2; peer <= 3; peer++) {
            zr_message_t *m = s_only_to (ready.msgs, 2, peer);
            ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
            ck_assert_uint_eq (m->term, 1);
            ck_assert_uint_eq (m->n_entries, 0);
            ck_assert_uint_eq (m->prev_index, 1);
            ck_assert_uint_eq (m->prev_term, 1);
            ck_assert_uint_eq (m->commit, 1);
        }
        zr_ready_release (&ready);
        zr_core_tick (core, at + S_HB - 1);
        s_ready (core, at + S_HB - 1, &ready);
        ck_assert_uint_eq (ready.n_msgs, 0);
        zr_ready_release (&ready);
        ck_assert_uint_eq (zr_core_deadline (core), at + S_HB);
    }
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.3: in REPLICATE the heartbeat checks prev = match (which the
   follower is known to hold), not next - 1, while entries are in flight. */
START_TEST (core_tick_heartbeat_prev_is_match_in_replicate)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    s_propose (core, 8);
    s_propose (core, 8);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    zr_ready_release (&ready);
    ck_assert_uint_eq (zr_core_progress (core, 2)->next, 4);

    zr_core_tick (core, now + S_HB);
    s_ready (core, now + S_HB, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
    ck_assert_uint_eq (m->n_entries, 0);
    ck_assert_uint_eq (m->prev_index, 1);
    ck_assert_uint_eq (m->prev_term, 1);
    ck_assert_uint_eq (m->commit, 1);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.3 ("the leader retries AppendEntries indefinitely"): messages
   unanswered for election_timeout / 2 are presumed lost and the follower
   is probed again from match + 1 with the entries. */
START_TEST (core_tick_retransmits_lost_window)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    s_propose (core, 8);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok (3, 1, 1, 2), now);
    uint64_t at = now + S_ET / 2;
    zr_core_tick (core, at);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_PROBE);
    ck_assert (pr->probe_sent);
    ck_assert_int_eq (zr_core_progress (core, 3)->state, ZR_PROGRESS_REPLICATE);
    s_ready (core, at, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->prev_index, 1);
    ck_assert_uint_eq (m->n_entries, 1);
    ck_assert_uint_eq (m->entries [0].index, 2);
    m = s_only_to (ready.msgs, ready.n_msgs, 3);
    ck_assert_uint_eq (m->prev_index, 2);
    ck_assert_uint_eq (m->n_entries, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.3: an unreachable follower is probed again from match + 1. */
START_TEST (core_unreachable_returns_follower_to_probe)
{
    uint64_t now;
    zr_ready_t ready;
    zr_core_t *core = s_pipelined_leader (&now, &ready);
    zr_ready_release (&ready);
    zr_core_unreachable (core, 2);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr->next, 2);
    ck_assert_uint_eq (pr->count, 0);
    s_ready (core, now, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->prev_index, 1);
    ck_assert_uint_eq (m->n_entries, 2);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 3), 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Figure 7: the leader brings every follower's log to match its own

/* The leader's log in Figure 7 (term 8 starts after index 10). */
static const zr_term_t s_fig7_leader [] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};

/* Restores leader 1 (term 7, Figure 7's log) and follower 2 (its log,
   term = its last term), elects the leader in term 8 (no-op at 11), then
   exchanges AppendEntries and replies between the two, one round trip at
   a time, until the logs are equal. Checks it took exactly `trips` round
   trips, that the follower rewrote nothing before first_new (same entries
   by blob), and that the leader then commits everything. */
static void
s_figure7 (const zr_term_t *terms, uint32_t n, int trips, zr_index_t first_new)
{
    zr_core_t *leader = s_core_new (1, 3);
    s_restore (leader, 7, 0, s_fig7_leader, 10);
    zr_core_t *follower = s_core_new (2, 3);
    s_restore (follower, n ? terms [n - 1] : 0, 0, terms, n);
    zr_blob_t *kept [16] = {NULL};
    for (zr_index_t i = 1; i <= n; i++)
        kept [i] = zr_log_get (zr_core_log (follower), i)->blob;
    uint64_t now = s_elect (leader);
    ck_assert_uint_eq (zr_core_term (leader), 8);

    const zr_log_t *llog = zr_core_log (leader);
    const zr_log_t *flog = zr_core_log (follower);
    zr_index_t first_written = UINT64_MAX;
    int trip = 0;
    for (;;) {
        bool equal = zr_log_last_index (flog) == zr_log_last_index (llog);
        for (zr_index_t i = 1; equal && i <= zr_log_last_index (llog); i++)
            equal = zr_log_term (flog, i) == zr_log_term (llog, i);
        if (equal)
            break;
        ck_assert_int_lt (trip, 10);
        trip++;
        zr_ready_t ready;
        s_ready (leader, now, &ready);
        ck_assert_uint_eq (ready.n_msgs_synced, 0);
        for (uint32_t i = 0; i < ready.n_msgs; i++) {
            if (ready.msgs [i]->to != 2)
                continue;
            int rc = zr_core_step (follower, ready.msgs [i], now);
            ck_assert_int_eq (rc, 0);
        }
        zr_ready_release (&ready);
        s_persist_all (leader);
        zr_core_check (follower);

        s_ready (follower, now, &ready);
        for (uint32_t i = 0; i < ready.n_entries; i++)
            if (ready.entries [i].index < first_written)
                first_written = ready.entries [i].index;
        ck_assert_uint_eq (ready.n_msgs, 0);
        for (uint32_t i = 0; i < ready.n_msgs_synced; i++) {
            int rc = zr_core_step (leader, ready.msgs_synced [i], now);
            ck_assert_int_eq (rc, 0);
        }
        zr_ready_release (&ready);
        s_persist_all (follower);
        zr_core_check (leader);
    }
    ck_assert_int_eq (trip, trips);
    ck_assert_uint_eq (first_written, first_new);
    ck_assert_uint_eq (zr_log_last_index (flog), 11);
    for (zr_index_t i = 1; i < first_new; i++)
        ck_assert_ptr_eq (zr_log_get (flog, i)->blob, kept [i]);
    for (zr_index_t i = first_new; i <= 11; i++)
        ck_assert_ptr_eq (zr_log_get (flog, i)->blob,
                          zr_log_get (llog, i)->blob);
    ck_assert_uint_eq (zr_log_get (flog, 11)->type, ZR_ENTRY_NOOP);
    ck_assert_uint_eq (zr_core_progress (leader, 2)->match, 11);
    ck_assert_uint_eq (zr_core_commit (leader), 11);
    ck_assert_uint_eq (zr_core_term (follower), 8);
    zr_core_destroy (&leader);
    zr_core_destroy (&follower);
}

/* Figure 7 (a): a follower missing the last entry is found short by the
   first probe and completed by the second (2 round trips). */
START_TEST (core_step_figure7_a_missing_one_entry)
{
    static const zr_term_t a [] = {1, 1, 1, 4, 4, 5, 5, 6, 6};
    s_figure7 (a, 9, 2, 10);
}
END_TEST

/* Figure 7 (b): a follower missing many entries is told our last index
   and repaired from its end in one more round trip. */
START_TEST (core_step_figure7_b_missing_many_entries)
{
    static const zr_term_t b [] = {1, 1, 1, 4};
    s_figure7 (b, 4, 2, 5);
}
END_TEST

/* Figure 7 (c): an extra uncommitted term-6 entry is overwritten by the
   leader's no-op in the first round trip. */
START_TEST (core_step_figure7_c_extra_entry)
{
    static const zr_term_t c [] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6};
    s_figure7 (c, 11, 1, 11);
}
END_TEST

/* Figure 7 (d): two extra term-7 entries are truncated and replaced by
   the no-op in the first round trip. */
START_TEST (core_step_figure7_d_extra_term7_entries)
{
    static const zr_term_t d [] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7};
    s_figure7 (d, 12, 1, 11);
}
END_TEST

/* Figure 7 (e): a term-4 tail: short, then a term-4 conflict at 7 whose
   hint sends the leader past its own last term-4 entry (3 round trips). */
START_TEST (core_step_figure7_e_term4_tail)
{
    static const zr_term_t e [] = {1, 1, 1, 4, 4, 4, 4};
    s_figure7 (e, 7, 3, 6);
}
END_TEST

/* Figure 7 (f): a divergent term 2-3 tail is skipped one term per round
   trip (terms the leader never had) down to index 3 (3 round trips). */
START_TEST (core_step_figure7_f_divergent_terms)
{
    static const zr_term_t f [] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};
    s_figure7 (f, 11, 3, 4);
}
END_TEST

//  --------------------------------------------------------------------------

//  --------------------------------------------------------------------------
//  Pre-vote, check-quorum, leadership transfer (Invariants 9-11)

/* Returns follower id of n with pre-vote and check-quorum on. */
static zr_core_t *
s_core_new_prevote (zr_id_t id, uint32_t n)
{
    zr_core_config_t config = s_config (id, n);
    config.pre_vote = true;
    config.check_quorum = true;
    zr_core_t *core = zr_core_new (&config, 0);
    ck_assert_ptr_nonnull (core);
    return core;
}

/* Thesis §9.6: a timed-out follower asks for pre-votes for term + 1
   without changing its term or vote, and campaigns only with a majority
   of pre-votes. */
START_TEST (core_tick_prevote_polls_before_campaigning)
{
    zr_core_t *core = s_core_new_prevote (1, 3);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    ck_assert_uint_eq (zr_core_term (core), 0);
    ck_assert_uint_eq (zr_core_vote (core), 0);
    zr_ready_t rd;
    s_ready (core, now, &rd);
    ck_assert (!rd.hs_changed);
    ck_assert_uint_eq (rd.n_msgs, 2);
    ck_assert_int_eq (rd.msgs [0]->type, ZR_MSG_PREVOTE);
    ck_assert_uint_eq (rd.msgs [0]->term, 1);
    zr_ready_release (&rd);
    zr_message_t *reply = s_message (ZR_MSG_PREVOTE_REPLY, 2, 1, 1);
    reply->granted = true;
    S_STEP_OK (core, reply, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (core), 1);
    s_drain (core, now);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §9.6: a server that heard from its leader within the election
   timeout refuses a pre-vote, and a pre-vote never changes its term. */
START_TEST (core_step_prevote_refused_under_leader_lease)
{
    zr_core_t *core = s_core_new_prevote (2, 3);
    S_STEP_OK (core, s_append (1, 2, 1, 0, 0, 0, NULL, 0), 10);
    s_drain (core, 10);
    zr_message_t *pv = s_vote (3, 2, 2, 5, 1);
    pv->type = ZR_MSG_PREVOTE;
    S_STEP_OK (core, pv, 20);
    ck_assert_uint_eq (zr_core_term (core), 1);
    zr_ready_t rd;
    s_ready (core, 20, &rd);
    ck_assert_uint_eq (rd.n_msgs_synced, 1);
    ck_assert_int_eq (rd.msgs_synced [0]->type, ZR_MSG_PREVOTE_REPLY);
    ck_assert (!rd.msgs_synced [0]->granted);
    ck_assert_uint_eq (rd.msgs_synced [0]->term, 1);
    zr_ready_release (&rd);
    /* Once the lease has run out, the same up-to-date request is granted. */
    pv = s_vote (3, 2, 2, 5, 1);
    pv->type = ZR_MSG_PREVOTE;
    S_STEP_OK (core, pv, 10 + S_ET);
    s_ready (core, 10 + S_ET, &rd);
    ck_assert_uint_eq (rd.n_msgs_synced, 1);
    ck_assert (rd.msgs_synced [0]->granted);
    ck_assert_uint_eq (rd.msgs_synced [0]->term, 2);
    zr_ready_release (&rd);
    ck_assert_uint_eq (zr_core_term (core), 1);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §9.6: the up-to-date rule applies to pre-votes too. */
START_TEST (core_step_prevote_refuses_stale_log)
{
    zr_core_t *core = s_core_new_prevote (2, 3);
    static const zr_term_t terms [] = {1, 1, 1};
    s_restore (core, 1, 0, terms, 3);
    zr_message_t *pv = s_vote (3, 2, 2, 2, 1);
    pv->type = ZR_MSG_PREVOTE;
    S_STEP_OK (core, pv, 500);
    zr_ready_t rd;
    s_ready (core, 500, &rd);
    ck_assert_uint_eq (rd.n_msgs_synced, 1);
    ck_assert (!rd.msgs_synced [0]->granted);
    zr_ready_release (&rd);
    zr_core_destroy (&core);
}
END_TEST

/* Check-quorum: a leader that hears from no follower for an election
   timeout steps down, keeping its term. */
START_TEST (core_tick_check_quorum_steps_down)
{
    zr_core_config_t config = s_config (1, 3);
    config.check_quorum = true;
    uint64_t now = 0;
    zr_core_t *core = s_steady_leader (&config, &now);
    zr_term_t term = zr_core_term (core);
    zr_core_tick (core, now + S_ET / 2);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    /* One follower keeps answering: a quorum (with self) is heard. */
    S_STEP_OK (core, s_append_ok (2, 1, term, 1), now + S_ET - 1);
    zr_core_tick (core, now + S_ET);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    zr_core_tick (core, now + 3 * S_ET);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    ck_assert_uint_eq (zr_core_term (core), term);
    ck_assert_uint_eq (zr_core_leader (core), 0);
    s_drain (core, now + 3 * S_ET);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §3.10: a transfer refuses proposals, sends TIMEOUT_NOW once the
   target is up to date, and the target campaigns at once. */
START_TEST (core_transfer_sends_timeout_now_when_caught_up)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now = 0;
    zr_core_t *core = s_steady_leader (&config, &now);
    zr_index_t index = s_propose (core, S_PAYLOAD);
    s_drain (core, now);
    ck_assert_int_eq (zr_core_transfer (core, 2, now), 0);
    ck_assert_uint_eq (zr_core_transferring (core), 2);
    ck_assert_int_eq (zr_core_transfer (core, 3, now), ZR_EBUSY);
    zr_blob_t *blob = zr_blob_new (1);
    zr_index_t i;
    zr_term_t t;
    ck_assert_int_eq (zr_core_propose (core, blob, blob->data, 1, &i, &t), ZR_EBUSY);
    zr_blob_unref (&blob);
    zr_ready_t rd;
    s_ready (core, now, &rd);
    ck_assert_uint_eq (s_count_to (rd.msgs, rd.n_msgs, 2), 0);  /* not caught up */
    zr_ready_release (&rd);
    S_STEP_OK (core, s_append_ok (2, 1, 1, index), now);
    s_ready (core, now, &rd);
    zr_message_t *tn = s_only_to (rd.msgs, rd.n_msgs, 2);
    ck_assert_int_eq (tn->type, ZR_MSG_TIMEOUT_NOW);
    /* The target campaigns at once, skipping pre-vote. */
    zr_core_t *target = s_core_new_prevote (2, 3);
    S_STEP_OK (target, s_append (1, 2, 1, 0, 0, 0, NULL, 0), now);
    s_drain (target, now);
    S_STEP_OK (target, zr_message_dup (tn), now);
    ck_assert_int_eq (zr_core_role (target), ZR_ROLE_CANDIDATE);
    ck_assert_uint_eq (zr_core_term (target), 2);
    zr_ready_release (&rd);
    s_drain (target, now);
    zr_core_destroy (&target);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §3.10, target left to the leader (peer 0): the follower most up
   to date, the lowest id among equals; TIMEOUT_NOW goes to it at once
   when it holds the whole log. */
START_TEST (core_transfer_zero_picks_most_up_to_date)
{
    zr_core_config_t config = s_config (1, 5);
    uint64_t now = 0;
    zr_core_t *core = s_steady_leader (&config, &now);
    s_propose (core, S_PAYLOAD);
    zr_index_t last = s_propose (core, S_PAYLOAD);
    s_drain (core, now);
    S_STEP_OK (core, s_append_ok (2, 1, 1, last - 1), now);
    S_STEP_OK (core, s_append_ok (4, 1, 1, last), now);
    S_STEP_OK (core, s_append_ok (3, 1, 1, last), now);
    s_drain (core, now);
    ck_assert_int_eq (zr_core_transfer (core, 0, now), 0);
    ck_assert_uint_eq (zr_core_transferring (core), 3);
    ck_assert_int_eq (zr_core_transfer (core, 0, now), ZR_EBUSY);
    zr_ready_t rd;
    s_ready (core, now, &rd);
    zr_message_t *tn = s_only_to (rd.msgs, rd.n_msgs, 3);
    ck_assert_int_eq (tn->type, ZR_MSG_TIMEOUT_NOW);
    zr_ready_release (&rd);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §3.10 with Invariant 10's clock: peer 0 never picks a follower
   not heard from within an election timeout, however up to date it
   was; with none heard from, there is no target (ZR_EINVAL). */
START_TEST (core_transfer_zero_skips_a_silent_follower)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now = 0;
    zr_core_t *core = s_steady_leader (&config, &now);
    zr_index_t index = s_propose (core, S_PAYLOAD);
    s_drain (core, now);
    S_STEP_OK (core, s_append_ok (3, 1, 1, index), now);
    now += S_ET;                        /* 3 falls silent; 2 answers */
    S_STEP_OK (core, s_append_ok (2, 1, 1, 1), now);
    s_drain (core, now);
    ck_assert_int_eq (zr_core_transfer (core, 0, now), 0);
    ck_assert_uint_eq (zr_core_transferring (core), 2);
    now += S_ET;                        /* the transfer times out; all silent */
    zr_core_tick (core, now);
    s_drain (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);     /* no check-quorum */
    ck_assert_uint_eq (zr_core_transferring (core), 0);
    ck_assert_int_eq (zr_core_transfer (core, 0, now), ZR_EINVAL);
    ck_assert_uint_eq (zr_core_transferring (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §3.10: a transfer that does not complete within an election
   timeout is abandoned and the leader accepts proposals again. */
START_TEST (core_transfer_times_out)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now = 0;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_transfer (core, 3, now), 0);
    ck_assert_int_eq (zr_core_transfer (core, 2, now), ZR_EBUSY);
    zr_core_tick (core, now + S_ET);
    ck_assert_uint_eq (zr_core_transferring (core), 0);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    s_propose (core, S_PAYLOAD);
    ck_assert_int_eq (zr_core_transfer (core, 9, now), ZR_EINVAL);
    s_drain (core, now + S_ET);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Snapshots, leader side (Raft §7, Figure 13; Invariants 12 and 13)

#define S_CHUNK 100                     /* snapshot_chunk_bytes */
#define S_WINDOW 300                    /* snapshot_window_bytes */
#define S_TRAILING 2                    /* snapshot_trailing */
#define S_SNAP_SIZE 1000                /* bytes of the leader's snapshot */

/* Returns the fixture config with 100-byte chunks, a 300-byte window and
   2 entries kept behind a snapshot. */
static zr_core_config_t
s_snapshot_config (zr_id_t id)
{
    zr_core_config_t config = s_config (id, 3);
    config.snapshot_chunk_bytes = S_CHUNK;
    config.snapshot_window_bytes = S_WINDOW;
    config.snapshot_trailing = S_TRAILING;
    return config;
}

/* Proposes n commands to leader core, has them committed by follower 3
   and applied, then reports a snapshot of size bytes up to the last one.
   Follower 2 hears nothing. */
static void
s_commit_and_snapshot (zr_core_t *core, uint64_t now, int n, uint64_t size)
{
    for (int i = 0; i < n; i++)
        s_propose (core, 8);
    zr_index_t last = zr_core_last_index (core);
    s_drain (core, now);
    S_STEP_OK (core, s_append_ok (3, 1, 1, last), now);
    ck_assert_uint_eq (zr_core_commit (core), last);
    s_drain (core, now);
    ck_assert_uint_eq (zr_core_applied (core), last);
    zr_core_snapshot_taken (core, last, size);
    zr_core_check (core);
}

/* Returns steady leader 1 of {1, 2, 3} in term 1 whose entries 1..11 are
   committed (by 3) and applied, with a snapshot of them (S_SNAP_SIZE
   bytes): its log forgot up to 9. Follower 2 matched only 1. */
static zr_core_t *
s_snapshot_leader (uint64_t *now)
{
    zr_core_config_t config = s_snapshot_config (1);
    zr_core_t *core = s_steady_leader (&config, now);
    s_commit_and_snapshot (core, *now, 10, S_SNAP_SIZE);
    ck_assert_uint_eq (zr_core_snapshot_index (core), 11);
    return core;
}

/* Returns the leader of s_snapshot_leader after follower 2 went back to
   PROBE from index 2 (compacted) and one Ready at *now sent it the
   first window of the snapshot. */
static zr_core_t *
s_snapshot_sending (uint64_t *now)
{
    zr_core_t *core = s_snapshot_leader (now);
    zr_core_unreachable (core, 2);
    s_drain (core, *now);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_SNAPSHOT);
    ck_assert_uint_eq (pr->snap_sent, S_WINDOW);
    return core;
}

/* A SNAPSHOT_REPLY from 2 to leader 1 in term 1 about snapshot index:
   2 holds offset bytes; success if it took the chunk. */
static zr_message_t *
s_snapshot_reply (zr_index_t index, uint64_t offset, bool success,
                  bool installed)
{
    zr_message_t *msg = s_message (ZR_MSG_SNAPSHOT_REPLY, 2, 1, 1);
    msg->last_index = index;
    msg->snap_offset = offset;
    msg->success = success;
    msg->installed = installed;
    return msg;
}

/* Checks that m is a chunk from leader 1 in term 1 of snapshot index
   (term 1, size bytes) carrying n bytes at offset, to be read by the
   sender (chunk NULL). */
static void
s_check_chunk (const zr_message_t *m, zr_index_t index, uint64_t size,
               uint64_t offset, uint32_t n)
{
    ck_assert_uint_eq (m->type, ZR_MSG_SNAPSHOT);
    ck_assert_uint_eq (m->from, 1);
    ck_assert_uint_eq (m->to, 2);
    ck_assert_uint_eq (m->term, 1);
    ck_assert_uint_eq (m->last_index, index);
    ck_assert_uint_eq (m->last_term, 1);
    ck_assert_uint_eq (m->snap_size, size);
    ck_assert_uint_eq (m->snap_offset, offset);
    ck_assert_uint_eq (m->chunk_size, n);
    ck_assert_ptr_null (m->chunk);
    ck_assert_ptr_null (m->chunk_blob);
}

/* Invariant 12: after the application took a snapshot up to 11, the log
   keeps snapshot_trailing (2) entries behind it and forgets the rest
   (up to 9); the next Ready tells storage so, once. */
START_TEST (core_snapshot_taken_compacts_behind_trailing)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_leader (&now);
    const zr_log_t *log = zr_core_log (core);
    ck_assert_uint_eq (zr_log_first_index (log), 10);
    ck_assert_uint_eq (zr_log_term (log, 9), 1);
    ck_assert_uint_eq (zr_core_last_index (core), 11);
    ck_assert_uint_eq (zr_core_snapshot_term (core), 1);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.compact, 9);
    zr_ready_release (&ready);
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.compact, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 12 with snapshot_trailing_bytes: the log keeps fewer
   entries behind a snapshot when their payload would pass the bound;
   a size trigger counts only the payload applied after the snapshot
   (an 8 KiB workload once snapshotted on every apply: the trailing
   entries were counted), neither what is kept behind it nor what is
   not yet committed. */
START_TEST (core_snapshot_taken_trailing_bytes)
{
    uint64_t now;
    zr_core_config_t config = s_snapshot_config (1);
    config.snapshot_trailing = 5;
    config.snapshot_trailing_bytes = 20;        /* two 8-byte entries */
    zr_core_t *core = s_steady_leader (&config, &now);
    s_commit_and_snapshot (core, now, 10, S_SNAP_SIZE);     /* 2..11 */
    ck_assert_uint_eq (zr_core_snapshot_index (core), 11);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 10);
    ck_assert_uint_eq (zr_log_bytes (zr_core_log (core)), 16);
    ck_assert_uint_eq (zr_core_bytes_since_snapshot (core), 0);
    for (int i = 0; i < 3; i++)
        s_propose (core, 8);
    s_drain (core, now);
    ck_assert_uint_eq (zr_core_bytes_since_snapshot (core), 0);    /* proposed */
    S_STEP_OK (core, s_append_ok (3, 1, 1, 14), now);
    s_drain (core, now);
    ck_assert_uint_eq (zr_core_applied (core), 14);
    ck_assert_uint_eq (zr_core_bytes_since_snapshot (core), 24);   /* applied */
    zr_core_snapshot_taken (core, 12, S_SNAP_SIZE);
    ck_assert_uint_eq (zr_core_bytes_since_snapshot (core), 16);   /* 13, 14 */
    zr_core_destroy (&core);
    /* Without the bound: snapshot_trailing entries (7..11). */
    config.snapshot_trailing_bytes = 0;
    core = s_steady_leader (&config, &now);
    s_commit_and_snapshot (core, now, 10, S_SNAP_SIZE);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 7);
    ck_assert_uint_eq (zr_core_bytes_since_snapshot (core), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 12 (core.h): a snapshot no newer than the newest known is
   ignored: the log and the snapshot stay as they were. */
START_TEST (core_snapshot_taken_older_ignored)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_leader (&now);
    s_drain (core, now);
    zr_core_snapshot_taken (core, 10, 5);
    zr_core_snapshot_taken (core, 11, 5);
    ck_assert_uint_eq (zr_core_snapshot_index (core), 11);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 10);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.compact, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §7 ("the leader uses InstallSnapshot to send snapshots to
   followers that are too far behind"): a follower whose next entry was
   compacted gets the snapshot in chunk_bytes chunks, in order, up to
   the window, each read by the sender (chunk NULL). */
START_TEST (core_ready_snapshot_to_compacted_follower)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_leader (&now);
    zr_core_unreachable (core, 2);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 3);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 3), 0);
    uint64_t offset = 0;
    for (uint32_t i = 0; i < ready.n_msgs; i++) {
        s_check_chunk (ready.msgs [i], 11, S_SNAP_SIZE, offset, S_CHUNK);
        ck_assert_uint_eq (ready.msgs [i]->commit, 11);
        offset += S_CHUNK;
    }
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_SNAPSHOT);
    ck_assert_uint_eq (pr->snap_index, 11);
    ck_assert_uint_eq (pr->snap_sent, S_WINDOW);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 (heartbeats) during a transfer: with the window full and
   nothing confirmed, the idle link carries a zero-byte chunk at the
   send offset each heartbeat (it finds where the follower is). */
START_TEST (core_tick_snapshot_idle_sends_zero_byte_chunk)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_sending (&now);
    zr_core_tick (core, now + S_HB - 1);
    zr_ready_t ready;
    s_ready (core, now + S_HB - 1, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 0);
    zr_ready_release (&ready);
    zr_core_tick (core, now + S_HB);
    s_ready (core, now + S_HB, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    s_check_chunk (m, 11, S_SNAP_SIZE, S_WINDOW, 0);
    ck_assert_uint_eq (zr_core_progress (core, 2)->snap_sent, S_WINDOW);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 13: a confirmed chunk slides the window: the next Ready sends
   one more chunk, after the last one sent. */
START_TEST (core_step_snapshot_reply_accepted_sends_next_chunk)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_sending (&now);
    S_STEP_OK (core, s_snapshot_reply (11, S_CHUNK, true, false), now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    s_check_chunk (m, 11, S_SNAP_SIZE, S_WINDOW, S_CHUNK);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 13 then Figure 2: once 2 installed snapshot 11 it matches up to
   11 and AppendEntries resume from 12 (prev 11, whose term the leader
   still holds). */
START_TEST (core_step_snapshot_reply_installed_resumes_append)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_sending (&now);
    S_STEP_OK (core, s_snapshot_reply (11, S_SNAP_SIZE, true, true), now);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_PROBE);
    ck_assert_uint_eq (pr->match, 11);
    ck_assert_uint_eq (pr->next, 12);
    zr_index_t index = s_propose (core, 8);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
    ck_assert_uint_eq (m->prev_index, 11);
    ck_assert_uint_eq (m->prev_term, 1);
    ck_assert_uint_eq (m->n_entries, 1);
    ck_assert_uint_eq (m->entries [0].index, index);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §7 (core.h, zr_snapshot_needed): a transfer under way finishes
   with its snapshot even if a newer one is taken meanwhile, or a slow
   link would never get to the end. */
START_TEST (core_snapshot_taken_transfer_under_way_not_restarted)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_sending (&now);
    s_commit_and_snapshot (core, now, 2, 2000);
    ck_assert_uint_eq (zr_core_snapshot_index (core), 13);
    S_STEP_OK (core, s_snapshot_reply (11, S_CHUNK, true, false), now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    s_check_chunk (m, 11, S_SNAP_SIZE, S_WINDOW, S_CHUNK);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_uint_eq (pr->snap_index, 11);
    ck_assert_uint_eq (pr->snap_acked, S_CHUNK);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §7 (core.h, zr_core_snapshot_lost): when the sender can no
   longer read the snapshot being sent, the transfer restarts from 0
   with the newest snapshot. */
START_TEST (core_snapshot_lost_restarts_with_newest)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_sending (&now);
    s_commit_and_snapshot (core, now, 2, 2000);
    zr_core_snapshot_lost (core, 2, now);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_SNAPSHOT);
    ck_assert_uint_eq (pr->snap_index, 13);
    ck_assert_uint_eq (pr->snap_size, 2000);
    ck_assert_uint_eq (pr->snap_acked, 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 3);
    for (uint32_t i = 0; i < 3; i++)
        s_check_chunk (ready.msgs [i], 13, 2000, S_CHUNK * i, S_CHUNK);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Snapshots, follower side (Figure 13; Invariant 13)

/* A SNAPSHOT from leader 2 to follower 1 in term: n bytes (0xc5, in a
   blob of their own held by the message) at offset of snapshot index
   (of term last_term, size bytes). */
static zr_message_t *
s_chunk (zr_term_t term, zr_index_t index, zr_term_t last_term,
         uint64_t size, uint64_t offset, uint32_t n)
{
    zr_message_t *msg = s_message (ZR_MSG_SNAPSHOT, 2, 1, term);
    msg->last_index = index;
    msg->last_term = last_term;
    msg->snap_size = size;
    msg->snap_offset = offset;
    msg->chunk_size = n;
    msg->commit = index;
    if (n > 0) {
        msg->chunk_blob = zr_blob_new (n);
        ck_assert_ptr_nonnull (msg->chunk_blob);
        memset (msg->chunk_blob->data, 0xc5, n);
        msg->chunk = msg->chunk_blob->data;
    }
    return msg;
}

/* Returns follower 1 of {1, 2, 3} restored in term 2 with a durable log
   of the given terms. */
static zr_core_t *
s_follower (const zr_term_t *terms, uint32_t n)
{
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 2, 0, terms, n);
    return core;
}

/* Checks that m is the reply of 1 to leader 2 in term 2 about snapshot
   index: it holds offset bytes, took the chunk (success), installed. */
static void
s_check_snapshot_reply (const zr_message_t *m, zr_index_t index,
                        uint64_t offset, bool success, bool installed)
{
    ck_assert_uint_eq (m->type, ZR_MSG_SNAPSHOT_REPLY);
    ck_assert_uint_eq (m->from, 1);
    ck_assert_uint_eq (m->to, 2);
    ck_assert_uint_eq (m->term, 2);
    ck_assert_uint_eq (m->last_index, index);
    ck_assert_uint_eq (m->snap_offset, offset);
    ck_assert_int_eq (m->success, success);
    ck_assert_int_eq (m->installed, installed);
}

/* Checks that core just installed snapshot index of term (13): its log
   window starts after index and ends at last, commit and applied are
   index, the log is durable up to persisted, and applying waits for
   zr_core_installed. */
static void
s_check_installed (zr_core_t *core, zr_index_t index, zr_term_t term,
                   zr_index_t last, zr_index_t persisted)
{
    const zr_log_t *log = zr_core_log (core);
    ck_assert_uint_eq (zr_log_first_index (log), index + 1);
    ck_assert_uint_eq (zr_log_term (log, index), term);
    ck_assert_uint_eq (zr_core_last_index (core), last);
    ck_assert_uint_eq (zr_core_commit (core), index);
    ck_assert_uint_eq (zr_core_applied (core), index);
    ck_assert_uint_eq (zr_core_persisted_index (core), persisted);
    ck_assert_uint_eq (zr_core_snapshot_index (core), index);
    ck_assert_uint_eq (zr_core_snapshot_term (core), term);
    ck_assert (zr_core_installing (core));
}

/* Figure 13 (steps 2-4): chunks taken in order go to the Ready for the
   caller to write, each holding a reference on its bytes; their replies
   leave only once written (Invariant 7: msgs_synced). */
START_TEST (core_step_snapshot_chunks_in_order_to_ready)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_follower (log, 3);
    zr_message_t *first = s_chunk (2, 10, 2, 300, 0, 100);
    zr_blob_t *blob = zr_blob_ref (first->chunk_blob);
    S_STEP_OK (core, first, 50);
    ck_assert_uint_eq (atomic_load (&blob->refs), 2);
    S_STEP_OK (core, s_chunk (2, 10, 2, 300, 100, 100), 51);
    zr_ready_t ready;
    s_ready (core, 51, &ready);
    ck_assert_uint_eq (ready.n_chunks, 2);
    for (uint32_t i = 0; i < 2; i++) {
        const zr_chunk_t *c = &ready.chunks [i];
        ck_assert_uint_eq (c->index, 10);
        ck_assert_uint_eq (c->term, 2);
        ck_assert_uint_eq (c->size, 300);
        ck_assert_uint_eq (c->offset, 100 * i);
        ck_assert_uint_eq (c->n, 100);
        ck_assert_ptr_nonnull (c->blob);
        ck_assert_ptr_eq (c->data, c->blob->data);
        ck_assert (!c->last);
    }
    ck_assert_ptr_eq (ready.chunks [0].blob, blob);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_eq (ready.n_msgs_synced, 2);
    s_check_snapshot_reply (ready.msgs_synced [0], 10, 100, true, false);
    s_check_snapshot_reply (ready.msgs_synced [1], 10, 200, true, false);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    ck_assert (!zr_core_installing (core));
    zr_ready_release (&ready);
    ck_assert_uint_eq (atomic_load (&blob->refs), 1);
    zr_blob_unref (&blob);
    zr_core_destroy (&core);
}
END_TEST

/* Steps chunks of 100 bytes of snapshot 10 (300 bytes) at offsets [0..n)
   into a fresh follower, then checks its Ready: taken chunks for storage,
   a reply to each, the last saying the follower holds `holds` bytes and
   whether it took that chunk (success). */
static void
s_check_chunks_answered (const uint64_t *offsets, uint32_t n, uint32_t taken,
                         uint64_t holds, bool success)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_follower (log, 3);
    for (uint32_t i = 0; i < n; i++)
        S_STEP_OK (core, s_chunk (2, 10, 2, 300, offsets [i], 100), 50 + i);
    zr_ready_t ready;
    s_ready (core, 50 + n, &ready);
    ck_assert_uint_eq (ready.n_chunks, taken);
    ck_assert_uint_eq (ready.n_msgs_synced, n);
    s_check_snapshot_reply (ready.msgs_synced [n - 1], 10, holds, success, false);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}

/* Figure 13 (chunks in order): a chunk past the expected offset (one was
   lost) is refused with the offset the follower expects, and written
   nowhere. */
START_TEST (core_step_snapshot_out_of_order_refused)
{
    static const uint64_t offsets [] = {0, 200};
    s_check_chunks_answered (offsets, 2, 1, 100, false);
}
END_TEST

/* Figure 13 (chunks in order): a copy of a chunk the follower took (a
   resend that crossed the original) is acknowledged with the offset it
   holds, so the leader goes on from there instead of resending its
   window, and written nowhere. */
START_TEST (core_step_snapshot_repeated_acknowledged)
{
    static const uint64_t offsets [] = {0, 100, 0};
    s_check_chunks_answered (offsets, 3, 2, 200, true);
}
END_TEST

/* Figure 13 (steps 5-8) and Invariant 13: the last chunk of a snapshot
   whose last entry the log does not hold installs it: the log is
   emptied and restarts after 10, storage restarts its log there
   (reset), commit and applied jump to 10, and the reply says installed. */
START_TEST (core_step_snapshot_last_chunk_resets_log)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_follower (log, 3);
    S_STEP_OK (core, s_chunk (2, 10, 2, 300, 0, 300), 50);
    s_check_installed (core, 10, 2, 10, 10);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_chunks, 1);
    ck_assert (ready.chunks [0].last);
    ck_assert (ready.chunks [0].reset);
    ck_assert_uint_eq (ready.n_entries, 0);
    ck_assert_uint_eq (ready.n_committed, 0);
    s_check_snapshot_reply (ready.msgs_synced [0], 10, 300, true, true);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 13 (step 6, "if existing log entry has same index and term as
   snapshot's last included entry, retain log entries following it"):
   the durable entries after the snapshot stay, storage keeps its log. */
START_TEST (core_step_snapshot_last_chunk_keeps_matching_log)
{
    static const zr_term_t log [] = {1, 1, 2, 2, 2, 2};
    zr_core_t *core = s_follower (log, 6);
    S_STEP_OK (core, s_chunk (2, 4, 2, 300, 0, 300), 50);
    s_check_installed (core, 4, 2, 6, 6);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (ready.chunks [0].last);
    ck_assert (!ready.chunks [0].reset);
    ck_assert_uint_eq (ready.n_entries, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 13 (step 6) and Invariant 13: when the matching entries after
   the snapshot never reached storage, the log keeps them but storage
   restarts after the snapshot (reset) and gets them afresh. */
START_TEST (core_step_snapshot_keeps_unstable_log_restarts_storage)
{
    static const zr_term_t six [] = {1, 1, 2, 2, 2, 2};
    zr_core_t *core = s_follower (NULL, 0);
    S_STEP_OK (core, s_append (2, 1, 2, 0, 0, 0, six, 6), 50);
    S_STEP_OK (core, s_chunk (2, 4, 2, 300, 0, 300), 50);
    s_check_installed (core, 4, 2, 6, 4);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert (ready.chunks [0].last);
    ck_assert (ready.chunks [0].reset);
    ck_assert_uint_eq (ready.n_entries, 2);
    ck_assert_uint_eq (ready.entries [0].index, 5);
    ck_assert_uint_eq (ready.entries [1].index, 6);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 13: after installing, nothing is handed to apply (not even
   newly committed entries) until the caller reports the snapshot
   restored; then applying resumes right after it. */
START_TEST (core_installed_resumes_applying_after_snapshot)
{
    static const zr_term_t log [] = {1, 1, 1};
    static const zr_term_t two [] = {2, 2};
    zr_core_t *core = s_follower (log, 3);
    S_STEP_OK (core, s_chunk (2, 10, 2, 300, 0, 300), 50);
    S_STEP_OK (core, s_append (2, 1, 2, 10, 2, 12, two, 2), 51);
    ck_assert_uint_eq (zr_core_commit (core), 12);
    zr_ready_t ready;
    s_ready (core, 51, &ready);
    ck_assert_uint_eq (ready.n_committed, 0);
    ck_assert_uint_eq (ready.n_entries, 2);
    zr_ready_release (&ready);
    ck_assert_uint_eq (zr_core_applied (core), 10);
    zr_core_installed (core, 10);
    ck_assert (!zr_core_installing (core));
    s_ready (core, 52, &ready);
    ck_assert_uint_eq (ready.n_committed, 2);
    ck_assert_uint_eq (ready.committed [0].index, 11);
    ck_assert_uint_eq (ready.committed [1].index, 12);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 13: a snapshot that ends at or before the commit index is
   stale: nothing changes and the reply says installed (the follower
   holds all of it), so the leader moves on. */
START_TEST (core_step_snapshot_stale_answers_installed)
{
    static const zr_term_t five [] = {1, 1, 2, 2, 2};
    zr_core_t *core = s_follower (NULL, 0);
    S_STEP_OK (core, s_append (2, 1, 2, 0, 0, 5, five, 5), 50);
    s_drain (core, 50);
    S_STEP_OK (core, s_chunk (2, 4, 2, 300, 0, 100), 51);
    ck_assert_uint_eq (zr_core_commit (core), 5);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 1);
    ck_assert_uint_eq (zr_core_snapshot_index (core), 0);
    ck_assert (!zr_core_installing (core));
    zr_ready_t ready;
    s_ready (core, 51, &ready);
    ck_assert_uint_eq (ready.n_chunks, 0);
    s_check_snapshot_reply (ready.msgs_synced [0], 4, 300, true, true);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Figure 13 (step 1, "reply immediately if term < currentTerm"): a chunk
   from a stale leader is not taken; the reply carries our term. */
START_TEST (core_step_snapshot_stale_term_gets_our_term)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_core_new (1, 3);
    s_restore (core, 3, 0, log, 3);
    S_STEP_OK (core, s_chunk (2, 10, 2, 300, 0, 300), 50);
    ck_assert_uint_eq (zr_core_term (core), 3);
    ck_assert_uint_eq (zr_core_leader (core), 0);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_chunks, 0);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert_uint_eq (m->type, ZR_MSG_SNAPSHOT_REPLY);
    ck_assert_uint_eq (m->term, 3);
    ck_assert (!m->success);
    ck_assert (!m->installed);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §5.2 and Figure 13: a chunk is a message from the leader: it
   restarts the election timer, so a follower receiving a snapshot does
   not start an election meanwhile. */
START_TEST (core_step_snapshot_resets_election_timer)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_follower (log, 3);
    s_check_resets_election_timer (core, s_chunk (2, 10, 2, 300, 0, 100));
}
END_TEST

/* Checks that core's next Ready at now holds nothing to write or send:
   what it was stepped was refused without an answer. */
static void
s_check_ready_empty (zr_core_t *core, uint64_t now)
{
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_chunks, 0);
    ck_assert_uint_eq (ready.n_entries, 0);
    ck_assert_uint_eq (ready.n_msgs + ready.n_msgs_synced, 0);
    zr_ready_release (&ready);
}

/* Steps chunk msg (malformed) into a follower holding 3 entries of term
   1 and checks it is refused, changing nothing and answering nothing. */
static void
s_check_chunk_malformed (zr_message_t *msg)
{
    static const zr_term_t log [] = {1, 1, 1};
    zr_core_t *core = s_follower (log, 3);
    ck_assert_int_eq (s_step (core, msg, 50), ZR_EMALFORMED);
    ck_assert_uint_eq (zr_core_last_index (core), 3);
    s_check_ready_empty (core, 50);
    zr_core_destroy (&core);
}

/* Redis rule (bad input never crashes): a chunk whose offset is past the
   snapshot's size is refused as malformed, with no reply. */
START_TEST (core_step_snapshot_offset_past_size_malformed)
{
    s_check_chunk_malformed (s_chunk (2, 10, 2, 300, 301, 0));
}
END_TEST

/* Redis rule (bad input never crashes): a chunk running past the
   snapshot's end is refused as malformed, with no reply. */
START_TEST (core_step_snapshot_chunk_overrunning_malformed)
{
    s_check_chunk_malformed (s_chunk (2, 10, 2, 300, 200, 200));
}
END_TEST

//  --------------------------------------------------------------------------
//  AppendEntries at the window's edge and restoring a snapshot (Raft §7)

/* Restores snapshot (snap_index, snap_term) and entries from first with
   the given terms into core in term term; returns zr_core_restore's. */
static int
s_restore_snapshot (zr_core_t *core, zr_term_t term, zr_index_t snap_index,
                    zr_term_t snap_term, zr_index_t first,
                    const zr_term_t *terms, uint32_t n)
{
    zr_entry_t *entries = s_entries_new (first, terms, n);
    zr_core_restore_t restore = {.term = term, .snap_index = snap_index,
                                 .snap_term = snap_term, .snap_size = 700,
                                 .entries = entries, .n_entries = n};
    int rc = zr_core_restore (core, &restore);
    zr_entries_destroy (&entries, n);
    return rc;
}

/* Returns follower 1 in term 3 restored from snapshot 10 (term 2) with
   entries 11 and 12 of term 2. */
static zr_core_t *
s_follower_window (void)
{
    static const zr_term_t two [] = {2, 2};
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 10, 2, 11, two, 2), 0);
    return core;
}

/* Leader Completeness (§5.4) with Raft §7: entries at or below the
   window's start are committed and match any leader's, so an
   AppendEntries whose prev is below the window is accepted; the entries
   it carries up to the offset are skipped, the rest appended. */
START_TEST (core_step_append_prev_below_window_matches)
{
    static const zr_term_t five [] = {2, 2, 2, 2, 3};
    zr_core_t *core = s_follower_window ();
    S_STEP_OK (core, s_append (2, 1, 3, 8, 2, 10, five, 5), 50);
    ck_assert_uint_eq (zr_core_last_index (core), 13);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 13), 3);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 11);
    ck_assert_uint_eq (zr_core_persisted_index (core), 12);
    zr_ready_t ready;
    s_ready (core, 50, &ready);
    ck_assert_uint_eq (ready.n_entries, 1);
    ck_assert_uint_eq (ready.entries [0].index, 13);
    zr_message_t *m = s_only_to (ready.msgs_synced, ready.n_msgs_synced, 2);
    ck_assert (m->success);
    ck_assert_uint_eq (m->match_index, 13);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Log Matching (§5.3) at the window's edge: a prev at the offset whose
   term differs from the snapshot's goes against a committed entry:
   malformed, nothing changes and nothing is answered. */
START_TEST (core_step_append_prev_at_offset_wrong_term_malformed)
{
    static const zr_term_t one [] = {3};
    zr_core_t *core = s_follower_window ();
    int rc = s_step (core, s_append (2, 1, 3, 10, 1, 10, one, 1), 50);
    ck_assert_int_eq (rc, ZR_EMALFORMED);
    ck_assert_uint_eq (zr_core_last_index (core), 12);
    s_check_ready_empty (core, 50);
    zr_core_destroy (&core);
}
END_TEST

/* Log Matching (§5.3) at the window's edge: an AppendEntries from below
   the window carrying the offset's entry with another term goes against
   the snapshot: malformed. */
START_TEST (core_step_append_edge_entry_wrong_term_malformed)
{
    static const zr_term_t four [] = {1, 1, 3, 3};
    zr_core_t *core = s_follower_window ();
    int rc = s_step (core, s_append (2, 1, 3, 8, 1, 10, four, 4), 50);
    ck_assert_int_eq (rc, ZR_EMALFORMED);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 11), 2);
    s_check_ready_empty (core, 50);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §7 (restart): a server restores its snapshot and the log window
   after it: entries the snapshot holds are dropped, commit and applied
   start at the snapshot, the rest of the log is durable. */
START_TEST (core_restore_snapshot_drops_entries_before)
{
    static const zr_term_t six [] = {1, 2, 2, 2, 3, 3};
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 3, six, 6), 0);
    const zr_log_t *log = zr_core_log (core);
    ck_assert_uint_eq (zr_log_first_index (log), 6);
    ck_assert_uint_eq (zr_core_last_index (core), 8);
    ck_assert_uint_eq (zr_log_term (log, 5), 2);
    ck_assert_uint_eq (zr_log_term (log, 6), 2);
    ck_assert_uint_eq (zr_log_term (log, 8), 3);
    ck_assert_uint_eq (zr_core_commit (core), 5);
    ck_assert_uint_eq (zr_core_applied (core), 5);
    ck_assert_uint_eq (zr_core_persisted_index (core), 8);
    ck_assert_uint_eq (zr_core_snapshot_index (core), 5);
    ck_assert_uint_eq (zr_core_snapshot_term (core), 2);
    zr_ready_t ready;
    s_ready (core, 0, &ready);
    ck_assert_uint_eq (ready.n_entries, 0);
    ck_assert_uint_eq (ready.n_committed, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §7 (restart): a snapshot with no log after it leaves an empty
   window whose last entry is the snapshot's (for the up-to-date rule). */
START_TEST (core_restore_snapshot_without_entries)
{
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 6, NULL, 0), 0);
    ck_assert_uint_eq (zr_core_last_index (core), 5);
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 5), 2);
    ck_assert_uint_eq (zr_core_commit (core), 5);
    ck_assert_uint_eq (zr_core_persisted_index (core), 5);
    zr_core_check (core);
    zr_core_destroy (&core);
}
END_TEST

/* Raft §7 (restart, disk is input): entries that start after the
   snapshot's index + 1 leave a gap: ZR_ECORRUPT. */
START_TEST (core_restore_gap_after_snapshot_corrupt)
{
    static const zr_term_t two [] = {3, 3};
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 7, two, 2),
                      ZR_ECORRUPT);
    zr_core_destroy (&core);
}
END_TEST

/* §5.4 across a restart: an entry at the snapshot's index with another
   term is what a crash between an installed snapshot's rename and the
   log's restart after it leaves; nothing after it can be committed, so
   the log restarts after the snapshot (core.h, zr_core_restore). */
START_TEST (core_restore_entry_at_snapshot_other_term_dropped)
{
    static const zr_term_t six [] = {1, 1, 1, 2, 3, 3};
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 3, six, 6), 0);
    ck_assert_uint_eq (zr_core_last_index (core), 5);      /* the snapshot's */
    ck_assert_uint_eq (zr_log_term (zr_core_log (core), 5), 2);
    ck_assert_uint_eq (zr_core_persisted_index (core), 5);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  Catching up from storage (Invariant 15)

/* Returns the leader of s_snapshot_leader with storage_catchup on and
   batch_bytes and inflight_max as given (storage holds its whole log:
   it never restarted), after follower 2 went back to PROBE from 2. */
static zr_core_t *
s_storage_leader (uint64_t batch_bytes, uint32_t inflight_max, uint64_t *now)
{
    zr_core_config_t config = s_snapshot_config (1);
    config.storage_catchup = true;
    config.batch_bytes = batch_bytes;
    config.inflight_max = inflight_max;
    zr_core_t *core = s_steady_leader (&config, now);
    s_commit_and_snapshot (core, *now, 10, S_SNAP_SIZE);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 10);
    ck_assert_uint_eq (zr_core_storage_first (core), 1);
    zr_core_unreachable (core, 2);
    return core;
}

/* Checks that m is a storage read from leader 1 in term 1 to 2: an
   AppendEntries after prev_index whose entries up to read_last the
   sender reads (none carried), the term of prev_index too (0). */
static void
s_check_read (const zr_message_t *m, zr_index_t prev_index, zr_index_t read_last,
              uint64_t read_bytes)
{
    ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
    ck_assert_uint_eq (m->to, 2);
    ck_assert_uint_eq (m->term, 1);
    ck_assert_uint_eq (m->prev_index, prev_index);
    ck_assert_uint_eq (m->prev_term, 0);
    ck_assert_uint_eq (m->read_last, read_last);
    ck_assert_uint_eq (m->read_bytes, read_bytes);
    ck_assert_uint_eq (m->n_entries, 0);
    ck_assert_ptr_null (m->entries);
    ck_assert_uint_eq (m->commit, 11);
}

/* Invariant 15: a follower whose next entry memory forgot, but storage
   holds, is sent an AppendEntries the sender fills from storage (up to
   the window's edge), not the snapshot; one read at a time. */
START_TEST (core_ready_storage_read_for_follower_behind_memory)
{
    uint64_t now;
    zr_core_t *core = s_storage_leader (1u << 20, 8, &now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    s_check_read (s_only_to (ready.msgs, ready.n_msgs, 2), 1, 9, 1u << 20);
    zr_ready_release (&ready);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_PROBE);
    ck_assert (pr->read_pending);
    ck_assert_uint_eq (pr->read_from, 2);
    s_ready (core, now + S_HB - 1, &ready);     /* the read is out */
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 0);
    zr_ready_release (&ready);
    /* Unreported for a heartbeat (the node dropped it on a cut link):
       asked again, as a probe is resent. */
    s_ready (core, now + S_HB, &ready);
    s_check_read (s_only_to (ready.msgs, ready.n_msgs, 2), 1, 9, 1u << 20);
    zr_ready_release (&ready);
    ck_assert_uint_eq (pr->read_sent_ms, now + S_HB);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 15: once the sender reports the read sent and the follower
   acknowledges it, the rest comes from memory as usual. */
START_TEST (core_storage_sent_then_memory)
{
    uint64_t now;
    zr_core_t *core = s_storage_leader (1u << 20, 8, &now);
    s_drain (core, now);
    zr_core_storage_sent (core, 2, 1, 2, 9, 64, now);
    zr_core_check (core);
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert (!pr->read_pending);
    ck_assert (pr->probe_sent);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 0);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 9), now);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_REPLICATE);
    s_ready (core, now, &ready);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 2);
    ck_assert_uint_eq (m->read_last, 0);
    ck_assert_uint_eq (m->prev_index, 9);
    ck_assert_uint_eq (m->prev_term, 1);
    ck_assert_uint_eq (m->n_entries, 2);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 15 and progress.h invariant 3: in REPLICATE, storage reads
   pipeline within the window; each counts in it as what its report
   says it carried, and the window closes at inflight_max. */
START_TEST (core_storage_reads_pipeline_within_window)
{
    uint64_t now;
    zr_core_t *core = s_storage_leader (16, 2, &now);
    s_drain (core, now);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 1), now);   /* answers the probe */
    const zr_progress_t *pr = zr_core_progress (core, 2);
    ck_assert_int_eq (pr->state, ZR_PROGRESS_REPLICATE);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    s_check_read (s_only_to (ready.msgs, ready.n_msgs, 2), 1, 9, 16);
    zr_ready_release (&ready);
    zr_core_storage_sent (core, 2, 1, 2, 3, 16, now);
    ck_assert_uint_eq (pr->next, 4);
    ck_assert_uint_eq (pr->bytes, 16);
    s_ready (core, now, &ready);
    s_check_read (s_only_to (ready.msgs, ready.n_msgs, 2), 3, 9, 16);
    zr_ready_release (&ready);
    zr_core_storage_sent (core, 2, 1, 4, 5, 16, now);
    ck_assert_uint_eq (pr->count, 2);
    ck_assert_uint_eq (pr->bytes, 32);
    s_ready (core, now, &ready);            /* the window is full */
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 0);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok (2, 1, 1, 3), now);
    ck_assert_uint_eq (pr->bytes, 16);
    s_ready (core, now, &ready);
    s_check_read (s_only_to (ready.msgs, ready.n_msgs, 2), 5, 9, 16);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 15: storage lost the entries on the read's way (compacted
   meanwhile): the core no longer counts on them, and the follower gets
   the snapshot instead. */
START_TEST (core_storage_lost_falls_back_to_snapshot)
{
    uint64_t now;
    zr_core_t *core = s_storage_leader (1u << 20, 8, &now);
    s_drain (core, now);
    zr_core_storage_lost (core, 2, 1, 2, 1, now);
    zr_core_check (core);
    ck_assert_uint_eq (zr_core_storage_first (core), 2);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 3);
    for (uint32_t i = 0; i < ready.n_msgs; i++)
        s_check_chunk (ready.msgs [i], 11, S_SNAP_SIZE, S_CHUNK * i, S_CHUNK);
    ck_assert_int_eq (zr_core_progress (core, 2)->state, ZR_PROGRESS_SNAPSHOT);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* A report from another term, for a read not pending, or after the
   leader stepped down changes nothing; storage_first never goes back. */
START_TEST (core_storage_reports_stale_ignored)
{
    uint64_t now;
    zr_core_t *core = s_storage_leader (1u << 20, 8, &now);
    s_drain (core, now);
    zr_progress_t before;
    memcpy (&before, zr_core_progress (core, 2), sizeof before);
    zr_core_storage_sent (core, 2, 7, 2, 9, 64, now);       /* other term */
    zr_core_storage_sent (core, 2, 1, 3, 9, 64, now);       /* other read */
    zr_core_storage_lost (core, 2, 1, 3, 3, now);           /* other read */
    ck_assert_uint_eq (zr_core_storage_first (core), 4);
    ck_assert_mem_eq (zr_core_progress (core, 2), &before, sizeof before);
    zr_core_storage_lost (core, 2, 1, 2, 1, now);           /* older: kept */
    ck_assert_uint_eq (zr_core_storage_first (core), 4);
    zr_core_check (core);
    zr_core_destroy (&core);
}
END_TEST

/* Invariants 1 and 15: a read named while leading, by a leader that
   steps down before the Ready, leaves in neither list (only the sender
   could fill it, and its leadership is over). */
START_TEST (core_ready_hard_state_change_drops_storage_read)
{
    uint64_t now;
    zr_core_t *core = s_storage_leader (1u << 20, 8, &now);
    zr_core_tick (core, now);               /* names the read */
    ck_assert (zr_core_progress (core, 2)->read_pending);
    S_STEP_OK (core, s_vote (3, 1, 5, 11, 1), now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert (ready.hs_changed);
    ck_assert_uint_eq (ready.n_msgs, 0);
    ck_assert_uint_gt (ready.n_msgs_synced, 0);
    for (uint32_t i = 0; i < ready.n_msgs_synced; i++)
        ck_assert_uint_eq (ready.msgs_synced [i]->read_last, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 15 after a restart: memory holds only what follows the
   snapshot, storage what it kept before it (here 5..12, snapshot 8).
   A follower whose next is in storage, with the entry before it there
   too, gets a read; one behind storage gets the snapshot. */
START_TEST (core_ready_restarted_leader_storage_or_snapshot)
{
    static const zr_term_t eight [] = {1, 1, 1, 1, 1, 1, 1, 1};
    zr_core_config_t config = s_snapshot_config (1);
    config.storage_catchup = true;
    zr_core_t *core = zr_core_new (&config, 0);
    ck_assert_ptr_nonnull (core);
    ck_assert_int_eq (s_restore_snapshot (core, 1, 8, 1, 5, eight, 8), 0);
    ck_assert_uint_eq (zr_core_storage_first (core), 5);
    ck_assert_uint_eq (zr_log_first_index (zr_core_log (core)), 9);
    uint64_t now = s_elect (core);          /* term 2, no-op at 13 */
    s_drain (core, now);
    S_STEP_OK (core, s_append_reject (2, 1, 2, 12, 0, 0, 3), now);
    S_STEP_OK (core, s_append_reject (3, 1, 2, 12, 0, 0, 6), now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 3);
    for (uint32_t i = 0; i < ready.n_msgs; i++)
        if (ready.msgs [i]->to == 2) {
            ck_assert_uint_eq (ready.msgs [i]->type, ZR_MSG_SNAPSHOT);
            ck_assert_uint_eq (ready.msgs [i]->last_index, 8);
        }
    zr_message_t *to3 = s_only_to (ready.msgs, ready.n_msgs, 3);
    ck_assert_uint_eq (to3->type, ZR_MSG_APPEND);
    ck_assert_uint_eq (to3->prev_index, 6);
    ck_assert_uint_eq (to3->prev_term, 0);
    ck_assert_uint_eq (to3->read_last, 8);
    ck_assert_uint_eq (to3->n_entries, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 15 is off unless configured: the same follower gets the
   snapshot (Raft §7 as before). */
START_TEST (core_ready_storage_off_sends_snapshot)
{
    static const zr_term_t eight [] = {1, 1, 1, 1, 1, 1, 1, 1};
    zr_core_config_t config = s_snapshot_config (1);
    zr_core_t *core = zr_core_new (&config, 0);
    ck_assert_ptr_nonnull (core);
    ck_assert_int_eq (s_restore_snapshot (core, 1, 8, 1, 5, eight, 8), 0);
    uint64_t now = s_elect (core);
    s_drain (core, now);
    S_STEP_OK (core, s_append_reject (3, 1, 2, 12, 0, 0, 6), now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 3), 3);
    for (uint32_t i = 0; i < ready.n_msgs; i++)
        ck_assert_uint_eq (ready.msgs [i]->type, ZR_MSG_SNAPSHOT);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 15: storage holds what restore was given if that log goes
   through the snapshot's last entry; else (another term there, or no
   entries) only what follows the snapshot. */
START_TEST (core_restore_storage_first)
{
    static const zr_term_t six [] = {1, 2, 2, 2, 3, 3};
    static const zr_term_t other [] = {1, 1, 1, 2, 3, 3};
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 3, six, 6), 0);
    ck_assert_uint_eq (zr_core_storage_first (core), 3);
    zr_core_destroy (&core);
    core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 3, other, 6), 0);
    ck_assert_uint_eq (zr_core_storage_first (core), 6);
    zr_core_destroy (&core);
    core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 5, 2, 6, NULL, 0), 0);
    ck_assert_uint_eq (zr_core_storage_first (core), 6);
    zr_core_destroy (&core);
    core = s_core_new (1, 3);
    ck_assert_int_eq (s_restore_snapshot (core, 3, 0, 0, 1, six, 6), 0);
    ck_assert_uint_eq (zr_core_storage_first (core), 1);
    zr_core_check (core);
    zr_core_destroy (&core);
}
END_TEST

/* Invariants 13 and 15: a snapshot installed over a log that does not
   hold its last entry restarts storage after it; one that keeps the
   log keeps storage's first index too. */
START_TEST (core_step_snapshot_reset_moves_storage_first)
{
    static const zr_term_t log [] = {1, 1, 1};
    static const zr_term_t kept [] = {1, 1, 2, 2, 2, 2};
    zr_core_t *core = s_follower (log, 3);
    S_STEP_OK (core, s_chunk (2, 10, 2, 300, 0, 300), 50);
    ck_assert_uint_eq (zr_core_storage_first (core), 11);
    zr_core_destroy (&core);
    core = s_follower (kept, 6);
    S_STEP_OK (core, s_chunk (2, 4, 2, 300, 0, 300), 50);
    ck_assert_uint_eq (zr_core_storage_first (core), 1);
    zr_core_destroy (&core);
}
END_TEST

//  --------------------------------------------------------------------------
//  ReadIndex (thesis §6.4, Invariant 14)

/* A successful AppendEntries reply up to match echoing round. */
static zr_message_t *
s_append_ok_round (zr_id_t from, zr_id_t to, zr_term_t term, zr_index_t match,
                   uint64_t round)
{
    zr_message_t *msg = s_append_ok (from, to, term, match);
    msg->round = round;
    return msg;
}

/* Takes a Ready that must hold an AppendEntries to every follower of
   1..n, all with the same round; returns that round. Drains the rest. */
static uint64_t
s_round_sent (zr_core_t *core, uint32_t n, uint64_t now)
{
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads, 0);
    uint64_t round = 0;
    for (zr_id_t peer = 2; peer <= n; peer++) {
        ck_assert_uint_ge (s_count_to (ready.msgs, ready.n_msgs, peer), 1);
        for (uint32_t i = 0; i < ready.n_msgs; i++) {
            zr_message_t *m = ready.msgs [i];
            if (m->to != peer)
                continue;
            ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
            if (round == 0)
                round = m->round;
            ck_assert_uint_eq (m->round, round);
        }
    }
    ck_assert_uint_gt (round, 0);
    zr_ready_release (&ready);
    s_persist_all (core);
    return round;
}

/* Takes a Ready that must hold an AppendEntries with a new round to
   exactly the followers marked in to [id] of 2..3 (a narrow round,
   read.h), and nothing else; returns that round. */
static uint64_t
s_round_sent_to (zr_core_t *core, uint64_t now, const bool *to)
{
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads, 0);
    uint64_t round = 0;
    uint32_t expected = 0;
    for (zr_id_t peer = 2; peer <= 3; peer++) {
        ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, peer),
                           to [peer] ? 1 : 0);
        expected += to [peer] ? 1 : 0;
    }
    ck_assert_uint_eq (ready.n_msgs, expected);
    for (uint32_t i = 0; i < ready.n_msgs; i++) {
        ck_assert_uint_eq (ready.msgs [i]->type, ZR_MSG_APPEND);
        ck_assert_uint_eq (ready.msgs [i]->n_entries, 0);  /* a heartbeat */
        if (round == 0)
            round = ready.msgs [i]->round;
        ck_assert_uint_eq (ready.msgs [i]->round, round);
    }
    ck_assert_uint_gt (round, 0);
    zr_ready_release (&ready);
    s_persist_all (core);
    return round;
}

/* Takes a Ready and asserts it hands out exactly the n reads (ctx,
   index) given, in order, and no failed read. */
static void
s_expect_reads (zr_core_t *core, uint64_t now, const zr_read_t *reads,
                uint32_t n)
{
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads, n);
    ck_assert_uint_eq (ready.n_reads_failed, 0);
    ck_assert (n > 0 || ready.reads == NULL);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq (ready.reads [i].ctx, reads [i].ctx);
        ck_assert_uint_eq (ready.reads [i].index, reads [i].index);
    }
    zr_ready_release (&ready);
    s_persist_all (core);
}

/* Thesis §6.4: only the leader serves linearizable reads; a follower or
   a candidate refuses and does not forward. */
START_TEST (core_read_index_not_leader_refused)
{
    zr_core_t *core = s_core_new (1, 3);
    ck_assert_int_eq (zr_core_read_index (core, 1, 0), ZR_ENOTLEADER);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_CANDIDATE);
    ck_assert_int_eq (zr_core_read_index (core, 2, now), ZR_ENOTLEADER);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads, 0);
    ck_assert_uint_eq (ready.n_reads_failed, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §6.4 (Invariant 14): the read waits until a majority, leader
   included, acknowledged the round sent after it: in 5 servers one
   follower is not enough, two are; the read index is the commit index. */
START_TEST (core_read_index_confirmation_needs_majority)
{
    zr_core_config_t config = s_config (1, 5);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 77, now), 0);
    uint64_t round = s_round_sent (core, 5, now);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, round), now);
    s_expect_reads (core, now, NULL, 0);            /* 2 of 5 */
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, round), now);
    s_expect_reads (core, now, NULL, 0);            /* a duplicate: still 2 */
    S_STEP_OK (core, s_append_ok_round (4, 1, 1, 1, round), now);
    s_expect_reads (core, now, (const zr_read_t []) {{77, 1}}, 1);
    s_expect_reads (core, now, NULL, 0);            /* handed out once */
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: the reads recorded between two Readies share one round
   (one AppendEntries per follower) and come back with their ctxs, in
   arrival order; a later read waits for a later round. */
START_TEST (core_read_index_batches_one_round)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    for (uint64_t ctx = 10; ctx < 15; ctx++)
        ck_assert_int_eq (zr_core_read_index (core, ctx, now), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);            /* one per follower */
    uint64_t round = ready.msgs [0]->round;
    ck_assert_uint_eq (ready.msgs [1]->round, round);
    zr_ready_release (&ready);
    ck_assert_int_eq (zr_core_read_index (core, 15, now), 0);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, round), now);
    s_expect_reads (core, now, (const zr_read_t []) {
        {10, 1}, {11, 1}, {12, 1}, {13, 1}, {14, 1}}, 5);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, round + 1), now);
    s_expect_reads (core, now, (const zr_read_t []) {{15, 1}}, 1);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: replies that answer AppendEntries sent before the read
   arrived (round 0 of plain heartbeats, or the previous read's round,
   late or duplicated) do not confirm it. */
START_TEST (core_read_index_stale_replies_do_not_confirm)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    uint64_t first = s_round_sent (core, 3, now);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, first), now);
    s_expect_reads (core, now, (const zr_read_t []) {{1, 1}}, 1);
    ck_assert_int_eq (zr_core_read_index (core, 2, now), 0);
    /* Replies already on their way: before the new round is even sent. */
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, first), now);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, 0), now);
    /* Both echoed `first`: the narrow round goes to the first of them. */
    uint64_t second = s_round_sent_to (core, now, (const bool []) {
        [2] = true, [3] = false});
    ck_assert_uint_eq (second, first + 1);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, first), now);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, first), now);
    s_expect_reads (core, now, NULL, 0);
    /* A rejection of this term echoing the new round confirms too: the
       follower took the AppendEntries as from its leader. */
    S_STEP_OK (core, s_append_reject (2, 1, 1, 1, 0, 0, 0), now);
    s_expect_reads (core, now, NULL, 0);
    zr_message_t *reject = s_append_reject (2, 1, 1, 1, 0, 0, 1);
    reject->round = second;
    S_STEP_OK (core, reject, now);
    s_expect_reads (core, now, (const zr_read_t []) {{2, 1}}, 1);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14, narrow rounds (read.h): once a follower of 3 echoed a
   round, the next round goes to it alone (one heartbeat and one reply
   per read, not two); its echo confirms the read, and no round goes
   to the other follower, even when the widening time comes. */
START_TEST (core_read_index_narrow_round)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    uint64_t first = s_round_sent (core, 3, now);       /* none echoed: all */
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, first), now);
    s_expect_reads (core, now, (const zr_read_t []) {{1, 1}}, 1);
    ck_assert_int_eq (zr_core_read_index (core, 2, now), 0);
    uint64_t second = s_round_sent_to (core, now, (const bool []) {
        [2] = false, [3] = true});
    ck_assert_uint_eq (second, first + 1);
    ck_assert_uint_eq (zr_core_deadline (core), now + config.heartbeat_ms / 10);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, second), now);
    s_expect_reads (core, now, (const zr_read_t []) {{2, 1}}, 1);
    now = zr_core_deadline (core);          /* the widening time: no read waits */
    zr_core_tick (core, now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14, narrow rounds: a chosen follower that does not answer
   (dead, stalled) holds a read up only until the widening time, when
   the round goes to every follower; the other's echo confirms it. A
   later narrow round meanwhile does not push that time back. */
START_TEST (core_read_index_narrow_round_widens)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    uint64_t first = s_round_sent (core, 3, now);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, first), now);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, first - 1), now);
    s_expect_reads (core, now, (const zr_read_t []) {{1, 1}}, 1);
    /* Follower 3 goes silent. */
    ck_assert_int_eq (zr_core_read_index (core, 2, now), 0);
    s_round_sent_to (core, now, (const bool []) {[2] = false, [3] = true});
    uint64_t widen = now + config.heartbeat_ms / 10;
    ck_assert_uint_eq (zr_core_deadline (core), widen);
    ck_assert_int_eq (zr_core_read_index (core, 3, widen - 1), 0);
    uint64_t third = s_round_sent_to (core, widen - 1, (const bool []) {
        [2] = false, [3] = true});
    ck_assert_uint_eq (zr_core_deadline (core), widen);  /* not pushed back */
    zr_core_tick (core, widen - 1);
    s_expect_reads (core, widen - 1, NULL, 0);           /* nothing to 2 yet */
    zr_core_tick (core, widen);
    zr_ready_t ready;
    s_ready (core, widen, &ready);
    ck_assert_uint_eq (ready.n_msgs, 1);
    ck_assert_uint_eq (ready.msgs [0]->to, 2);
    ck_assert_uint_eq (ready.msgs [0]->round, third);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, third), widen);
    s_expect_reads (core, widen, (const zr_read_t []) {{2, 1}, {3, 1}}, 2);
    /* Now 2 has echoed the highest round: the next one goes to it. */
    ck_assert_int_eq (zr_core_read_index (core, 4, widen), 0);
    s_round_sent_to (core, widen, (const bool []) {[2] = true, [3] = false});
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14, narrow rounds: of 5 servers a round goes to the 2
   followers that echoed the highest rounds (the leader makes the
   third of the majority), and only once 2 have echoed one. */
START_TEST (core_read_index_narrow_round_five)
{
    zr_core_config_t config = s_config (1, 5);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    uint64_t first = s_round_sent (core, 5, now);
    S_STEP_OK (core, s_append_ok_round (4, 1, 1, 1, first), now);
    s_expect_reads (core, now, NULL, 0);            /* 2 of 5 */
    ck_assert_int_eq (zr_core_read_index (core, 2, now), 0);
    uint64_t second = s_round_sent (core, 5, now);  /* 1 echoed: all again */
    S_STEP_OK (core, s_append_ok_round (5, 1, 1, 1, second), now);
    s_expect_reads (core, now, (const zr_read_t []) {{1, 1}}, 1);
    ck_assert_int_eq (zr_core_read_index (core, 3, now), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 4), 1);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 5), 1);
    uint64_t third = ready.msgs [0]->round;
    ck_assert_uint_eq (third, second + 1);
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok_round (5, 1, 1, 1, third), now);
    s_expect_reads (core, now, NULL, 0);            /* 2 of 5 */
    S_STEP_OK (core, s_append_ok_round (4, 1, 1, 1, third), now);
    s_expect_reads (core, now, (const zr_read_t []) {{2, 1}, {3, 1}}, 2);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §6.4 (Invariant 14): a leader that has not committed an entry
   of its term does not know the commit index of the cluster: a read
   waits, even confirmed, until its no-op commits, and then takes the
   commit index of that moment. */
START_TEST (core_read_index_waits_for_commit_in_term)
{
    zr_core_t *core = s_leader_term2 ();    /* log 1 (term 1), no-op 2 */
    uint64_t now = 500;
    ck_assert_uint_eq (zr_core_commit (core), 0);
    ck_assert_int_eq (zr_core_read_index (core, 9, now), 0);
    uint64_t round = s_round_sent (core, 3, now);
    /* A majority holds entry 1 and confirms the round: 1 is of term 1,
       not committed by counting (Figure 8), so the read still waits. */
    S_STEP_OK (core, s_append_ok_round (2, 1, 2, 1, round), now);
    ck_assert_uint_eq (zr_core_commit (core), 0);
    s_expect_reads (core, now, NULL, 0);
    ck_assert_int_eq (zr_core_read_index (core, 10, now), 0);
    S_STEP_OK (core, s_append_ok_round (2, 1, 2, 2, round), now);
    ck_assert_uint_eq (zr_core_commit (core), 2);
    /* That Ready also started read 10's round. */
    s_expect_reads (core, now, (const zr_read_t []) {{9, 2}}, 1);
    S_STEP_OK (core, s_append_ok_round (3, 1, 2, 2, round + 1), now);
    s_expect_reads (core, now, (const zr_read_t []) {{10, 2}}, 1);
    zr_core_destroy (&core);
}
END_TEST

/* Thesis §6.4 (Invariant 14): the read index is the commit index when the
   read arrives, not when it is confirmed: a write committed meanwhile
   is not waited for. */
START_TEST (core_read_index_is_commit_at_arrival)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 4, now), 0);
    uint64_t round = s_round_sent (core, 3, now);
    ck_assert_uint_eq (s_propose (core, S_PAYLOAD), 2);
    s_drain (core, now);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 2, round), now);
    ck_assert_uint_eq (zr_core_commit (core), 2);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_committed, 1);
    ck_assert_uint_eq (ready.n_reads, 1);
    ck_assert_uint_eq (ready.reads [0].ctx, 4);
    ck_assert_uint_eq (ready.reads [0].index, 1);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: a leader that steps down (a higher term) fails every read
   it has not handed out, confirmed or not, exactly once; it refuses new
   ones, and a late confirmation changes nothing. */
START_TEST (core_read_index_deposed_leader_fails_reads)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    uint64_t round = s_round_sent (core, 3, now);
    ck_assert_int_eq (zr_core_read_index (core, 2, now), 0);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 1, round), now);
    S_STEP_OK (core, s_vote (3, 1, 5, 9, 4), now);      /* deposed */
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    ck_assert_int_eq (zr_core_read_index (core, 3, now), ZR_ENOTLEADER);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, round), now);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads, 0);
    ck_assert_uint_eq (ready.n_reads_failed, 2);
    ck_assert_uint_eq (ready.reads_failed [0], 1);
    ck_assert_uint_eq (ready.reads_failed [1], 2);
    zr_ready_release (&ready);
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads_failed, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14 and check-quorum (10): a leader that steps down because
   it lost its majority fails its reads; elected again before a Ready,
   it hands out the old reads as failed and serves new ones normally. */
START_TEST (core_read_index_fails_before_new_leadership)
{
    zr_core_config_t config = s_config (1, 3);
    config.check_quorum = true;
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    zr_core_tick (core, now + S_ET);                    /* nobody heard */
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_FOLLOWER);
    now = zr_core_deadline (core);
    zr_core_tick (core, now);                           /* term 2 */
    S_STEP_OK (core, s_vote_reply (3, 1, 2, true), now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    ck_assert_int_eq (zr_core_read_index (core, 2, now), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads_failed, 1);
    ck_assert_uint_eq (ready.reads_failed [0], 1);
    ck_assert_uint_eq (ready.n_reads, 0);
    ck_assert (ready.hs_changed);                       /* all synced (1) */
    /* Votes, probes, then the probes that carry the read's round. */
    ck_assert_uint_eq (ready.n_msgs_synced, 6);
    uint64_t round = ready.msgs_synced [5]->round;
    ck_assert_uint_eq (ready.msgs_synced [5]->type, ZR_MSG_APPEND);
    ck_assert_uint_gt (round, ready.msgs_synced [3]->round);
    zr_ready_release (&ready);
    s_persist_all (core);
    S_STEP_OK (core, s_append_ok_round (2, 1, 2, 2, round), now);
    s_expect_reads (core, now, (const zr_read_t []) {{2, 2}}, 1);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: a one-server cluster is its own majority: the read is
   handed out by the next Ready, and nothing is sent. */
START_TEST (core_read_index_single_server_confirms_at_once)
{
    zr_core_t *core = s_core_new (1, 1);
    uint64_t now = zr_core_deadline (core);
    zr_core_tick (core, now);
    ck_assert_int_eq (zr_core_role (core), ZR_ROLE_LEADER);
    s_drain (core, now);
    ck_assert_uint_eq (zr_core_commit (core), 1);
    ck_assert_int_eq (zr_core_read_index (core, 42, now), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs + ready.n_msgs_synced, 0);
    ck_assert_uint_eq (ready.n_reads, 1);
    ck_assert_uint_eq (ready.reads [0].ctx, 42);
    ck_assert_uint_eq (ready.reads [0].index, 1);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: without reads the leader sends nothing beyond its usual
   traffic, and its heartbeats keep the last round; a read adds exactly
   one AppendEntries per follower, at once, and resets the heartbeat. */
START_TEST (core_read_index_costs_nothing_without_reads)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    zr_ready_t ready;
    s_ready (core, now + 1, &ready);
    ck_assert_uint_eq (ready.n_msgs, 0);
    zr_ready_release (&ready);
    zr_core_tick (core, now + S_HB);
    s_ready (core, now + S_HB, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    ck_assert_uint_eq (ready.msgs [0]->round, 0);
    ck_assert_uint_eq (ready.msgs [1]->round, 0);
    zr_ready_release (&ready);
    ck_assert_int_eq (zr_core_read_index (core, 1, now + S_HB + 1), 0);
    ck_assert_int_eq (zr_core_read_index (core, 2, now + S_HB + 1), 0);
    s_ready (core, now + S_HB + 1, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    ck_assert_uint_eq (ready.msgs [0]->round, 1);
    zr_ready_release (&ready);
    zr_core_tick (core, now + 2 * S_HB);      /* the round was the heartbeat */
    s_ready (core, now + 2 * S_HB, &ready);
    ck_assert_uint_eq (ready.n_msgs, 0);
    zr_ready_release (&ready);
    zr_core_tick (core, now + 2 * S_HB + 1);
    s_ready (core, now + 2 * S_HB + 1, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    ck_assert_uint_eq (ready.msgs [0]->round, 1);    /* no new round */
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: a follower echoes the round of an AppendEntries of its
   term, and 0 to a stale leader's, which could otherwise confirm reads
   of a later leadership of the same server. */
START_TEST (core_read_index_follower_echoes_round)
{
    zr_core_t *core = s_core_new (2, 3);
    zr_message_t *msg = s_append (1, 2, 3, 0, 0, 0, NULL, 0);
    msg->round = 9;
    S_STEP_OK (core, msg, 10);
    zr_ready_t ready;
    s_ready (core, 10, &ready);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert_uint_eq (ready.msgs_synced [0]->type, ZR_MSG_APPEND_REPLY);
    ck_assert_uint_eq (ready.msgs_synced [0]->round, 9);
    zr_ready_release (&ready);
    msg = s_append (3, 2, 2, 0, 0, 0, NULL, 0);
    msg->round = 12;
    S_STEP_OK (core, msg, 11);
    s_ready (core, 11, &ready);
    ck_assert_uint_eq (ready.n_msgs_synced, 1);
    ck_assert_uint_eq (ready.msgs_synced [0]->term, 3);
    ck_assert_uint_eq (ready.msgs_synced [0]->round, 0);
    zr_ready_release (&ready);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: a reply echoing a round the leader never sent is
   refused (ZR_EMALFORMED) and confirms nothing. */
START_TEST (core_read_index_unsent_round_malformed)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    ck_assert_int_eq (s_step (core, s_append_ok_round (2, 1, 1, 1, 1), now),
                      ZR_EMALFORMED);
    uint64_t round = s_round_sent (core, 3, now);
    ck_assert_int_eq (s_step (core, s_append_ok_round (2, 1, 1, 1, round + 1),
                              now), ZR_EMALFORMED);
    s_expect_reads (core, now, NULL, 0);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: at most ZR_READS_MAX reads wait; then ZR_EBUSY, until a
   Ready hands some out. A transfer under way does not refuse reads. */
START_TEST (core_read_index_bounded)
{
    zr_core_config_t config = s_config (1, 3);
    uint64_t now;
    zr_core_t *core = s_steady_leader (&config, &now);
    ck_assert_int_eq (zr_core_transfer (core, 2, now), 0);
    for (uint64_t ctx = 0; ctx < ZR_READS_MAX; ctx++)
        ck_assert_int_eq (zr_core_read_index (core, ctx, now), 0);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), ZR_EBUSY);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    uint64_t round = 0;
    for (uint32_t i = 0; i < ready.n_msgs; i++)
        if (ready.msgs [i]->type == ZR_MSG_APPEND)
            round = ready.msgs [i]->round;
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, round), now);
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_reads, ZR_READS_MAX);
    ck_assert_uint_eq (ready.reads [ZR_READS_MAX - 1].ctx, ZR_READS_MAX - 1);
    zr_ready_release (&ready);
    ck_assert_int_eq (zr_core_read_index (core, 1, now), 0);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: a round costs a follower in PROBE an empty heartbeat
   after the entry its probe checks, not a second copy of the probe and
   its entries. */
START_TEST (core_read_index_probe_follower_gets_heartbeat)
{
    zr_core_t *core = s_core_new (1, 3);
    uint64_t now = s_elect (core);
    s_drain (core, now);                    /* the probes carry the no-op */
    ck_assert_int_eq (zr_core_read_index (core, 5, now), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (ready.n_msgs, 2);
    for (uint32_t i = 0; i < ready.n_msgs; i++) {
        ck_assert_uint_eq (ready.msgs [i]->type, ZR_MSG_APPEND);
        ck_assert_uint_eq (ready.msgs [i]->n_entries, 0);
        ck_assert_uint_eq (ready.msgs [i]->prev_index, 0);
        ck_assert_uint_eq (ready.msgs [i]->round, 1);
    }
    zr_ready_release (&ready);
    ck_assert (zr_core_progress (core, 2)->probe_sent);
    S_STEP_OK (core, s_append_ok_round (2, 1, 1, 0, 1), now);
    s_expect_reads (core, now, NULL, 0);    /* confirmed, no-op not committed */
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 1, 0), now);
    s_expect_reads (core, now, (const zr_read_t []) {{5, 1}}, 1);
    zr_core_destroy (&core);
}
END_TEST

/* Invariant 14: a follower receiving a snapshot gets nothing more for a
   round (its replies carry none); the others confirm the read. */
START_TEST (core_read_index_round_skips_snapshot_follower)
{
    uint64_t now;
    zr_core_t *core = s_snapshot_sending (&now);
    ck_assert_int_eq (zr_core_read_index (core, 8, now), 0);
    zr_ready_t ready;
    s_ready (core, now, &ready);
    ck_assert_uint_eq (s_count_to (ready.msgs, ready.n_msgs, 2), 0);
    zr_message_t *m = s_only_to (ready.msgs, ready.n_msgs, 3);
    ck_assert_uint_eq (m->type, ZR_MSG_APPEND);
    ck_assert_uint_eq (m->n_entries, 0);
    uint64_t round = m->round;
    zr_ready_release (&ready);
    S_STEP_OK (core, s_append_ok_round (3, 1, 1, 11, round), now);
    s_expect_reads (core, now, (const zr_read_t []) {{8, 11}}, 1);
    zr_core_destroy (&core);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("core");
    TCase *tc;
    tc = tcase_create ("election");
    tcase_add_test (tc, core_tick_follower_times_out_within_election_timeout);
    tcase_add_test (tc, core_new_election_timeout_randomized);
    tcase_add_test (tc, core_new_election_timeout_deterministic_per_server);
    tcase_add_test (tc, core_tick_follower_becomes_candidate);
    tcase_add_test (tc, core_step_append_resets_election_timer);
    tcase_add_test (tc, core_step_vote_reply_majority_elects_leader);
    tcase_add_test (tc, core_step_vote_reply_denied_keeps_candidate);
    tcase_add_test (tc, core_step_vote_reply_split_keeps_candidate);
    tcase_add_test (tc, core_step_vote_reply_duplicate_counted_once);
    tcase_add_test (tc, core_step_vote_reply_stale_term_ignored);
    tcase_add_test (tc, core_tick_candidate_timeout_starts_new_term);
    tcase_add_test (tc, core_tick_single_node_elects_itself);
    tcase_add_test (tc, core_persisted_single_node_commits_noop);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("vote");
    tcase_add_test (tc, core_step_vote_grants_first_candidate);
    tcase_add_test (tc, core_step_vote_grant_same_term_persists_vote);
    tcase_add_test (tc, core_step_vote_second_candidate_same_term_denied);
    tcase_add_test (tc, core_step_vote_same_candidate_granted_again);
    tcase_add_test (tc, core_step_vote_stale_term_denied);
    tcase_add_test (tc, core_step_vote_higher_last_term_granted_if_shorter);
    tcase_add_test (tc, core_step_vote_lower_last_term_denied_even_if_longer);
    tcase_add_test (tc, core_step_vote_same_last_term_shorter_denied);
    tcase_add_test (tc, core_step_vote_same_last_term_equal_granted);
    tcase_add_test (tc, core_step_vote_candidate_denies_same_term);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("terms");
    tcase_add_test (tc, core_step_higher_term_vote_demotes_leader);
    tcase_add_test (tc, core_step_higher_term_vote_reply_demotes_leader);
    tcase_add_test (tc, core_step_higher_term_append_demotes_leader);
    tcase_add_test (tc, core_step_higher_term_append_reply_demotes_leader);
    tcase_add_test (tc, core_step_higher_term_vote_demotes_candidate);
    tcase_add_test (tc, core_step_higher_term_vote_reply_demotes_candidate);
    tcase_add_test (tc, core_step_higher_term_append_demotes_candidate);
    tcase_add_test (tc, core_step_higher_term_append_reply_demotes_candidate);
    tcase_add_test (tc, core_step_append_same_term_demotes_candidate);
    tcase_add_test (tc, core_step_append_stale_term_rejected);
    tcase_add_test (tc, core_step_append_same_term_to_leader_malformed);
    tcase_add_test (tc, core_step_misaddressed_message_refused);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("append");
    tcase_add_test (tc, core_step_append_rejects_missing_prev);
    tcase_add_test (tc, core_step_append_rejects_prev_term_mismatch);
    tcase_add_test (tc, core_step_append_truncates_conflicting_suffix);
    tcase_add_test (tc, core_step_append_stale_shorter_never_truncates);
    tcase_add_test (tc, core_step_append_duplicate_idempotent);
    tcase_add_test (tc, core_step_append_conflict_below_commit_refused);
    tcase_add_test (tc, core_step_append_commit_follows_leader_commit);
    tcase_add_test (tc, core_step_append_commit_capped_by_last_new);
    tcase_add_test (tc, core_step_heartbeat_advances_commit_to_prev);
    tcase_add_test (tc, core_step_heartbeat_beyond_log_keeps_commit);
    tcase_add_test (tc, core_step_heartbeat_mismatch_keeps_commit);
    tcase_add_test (tc, core_step_append_commit_never_decreases);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("ready");
    tcase_add_test (tc, core_ready_append_reply_in_msgs_synced);
    tcase_add_test (tc, core_ready_committed_handed_out_once_in_order);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("persisted");
    tcase_add_test (tc, core_persisted_ignores_truncated_entry);
    tcase_add_test (tc, core_persisted_old_report_ignored);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("commit");
    tcase_add_test (tc, core_maybe_commit_old_term_not_committed_by_counting);
    tcase_add_test (tc, core_maybe_commit_current_term_commits_preceding);
    tcase_add_test (tc, core_maybe_commit_follower_ack_alone_not_enough);
    tcase_add_test (tc, core_maybe_commit_leader_persisted_completes_majority);
    tcase_add_test (tc, core_persisted_commits_when_follower_acked_first);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("replicate");
    tcase_add_test (tc, core_propose_appends_and_replicates);
    tcase_add_test (tc, core_propose_follower_not_leader);
    tcase_add_test (tc, core_ready_pipelines_up_to_inflight_max);
    tcase_add_test (tc, core_ready_batch_bytes_bounds_entries);
    tcase_add_test (tc, core_step_append_reply_ack_frees_window);
    tcase_add_test (tc, core_step_append_reply_rejection_resets_to_probe);
    tcase_add_test (tc, core_step_append_reply_late_success_keeps_match);
    tcase_add_test (tc, core_step_append_reply_beyond_log_malformed);
    tcase_add_test (tc, core_tick_idle_leader_heartbeats_once_per_interval);
    tcase_add_test (tc, core_tick_heartbeat_prev_is_match_in_replicate);
    tcase_add_test (tc, core_tick_retransmits_lost_window);
    tcase_add_test (tc, core_unreachable_returns_follower_to_probe);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("figure7");
    tcase_add_test (tc, core_step_figure7_a_missing_one_entry);
    tcase_add_test (tc, core_step_figure7_b_missing_many_entries);
    tcase_add_test (tc, core_step_figure7_c_extra_entry);
    tcase_add_test (tc, core_step_figure7_d_extra_term7_entries);
    tcase_add_test (tc, core_step_figure7_e_term4_tail);
    tcase_add_test (tc, core_step_figure7_f_divergent_terms);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("prevote_quorum_transfer");
    tcase_add_test (tc, core_tick_prevote_polls_before_campaigning);
    tcase_add_test (tc, core_step_prevote_refused_under_leader_lease);
    tcase_add_test (tc, core_step_prevote_refuses_stale_log);
    tcase_add_test (tc, core_tick_check_quorum_steps_down);
    tcase_add_test (tc, core_transfer_sends_timeout_now_when_caught_up);
    tcase_add_test (tc, core_transfer_times_out);
    tcase_add_test (tc, core_transfer_zero_picks_most_up_to_date);
    tcase_add_test (tc, core_transfer_zero_skips_a_silent_follower);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("snapshot_send");
    tcase_add_test (tc, core_snapshot_taken_compacts_behind_trailing);
    tcase_add_test (tc, core_snapshot_taken_older_ignored);
    tcase_add_test (tc, core_snapshot_taken_trailing_bytes);
    tcase_add_test (tc, core_ready_snapshot_to_compacted_follower);
    tcase_add_test (tc, core_tick_snapshot_idle_sends_zero_byte_chunk);
    tcase_add_test (tc, core_step_snapshot_reply_accepted_sends_next_chunk);
    tcase_add_test (tc, core_step_snapshot_reply_installed_resumes_append);
    tcase_add_test (tc, core_snapshot_taken_transfer_under_way_not_restarted);
    tcase_add_test (tc, core_snapshot_lost_restarts_with_newest);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("storage");
    tcase_add_test (tc, core_ready_storage_read_for_follower_behind_memory);
    tcase_add_test (tc, core_storage_sent_then_memory);
    tcase_add_test (tc, core_storage_reads_pipeline_within_window);
    tcase_add_test (tc, core_storage_lost_falls_back_to_snapshot);
    tcase_add_test (tc, core_storage_reports_stale_ignored);
    tcase_add_test (tc, core_ready_hard_state_change_drops_storage_read);
    tcase_add_test (tc, core_ready_restarted_leader_storage_or_snapshot);
    tcase_add_test (tc, core_ready_storage_off_sends_snapshot);
    tcase_add_test (tc, core_restore_storage_first);
    tcase_add_test (tc, core_step_snapshot_reset_moves_storage_first);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("snapshot_install");
    tcase_add_test (tc, core_step_snapshot_chunks_in_order_to_ready);
    tcase_add_test (tc, core_step_snapshot_out_of_order_refused);
    tcase_add_test (tc, core_step_snapshot_repeated_acknowledged);
    tcase_add_test (tc, core_step_snapshot_last_chunk_resets_log);
    tcase_add_test (tc, core_step_snapshot_last_chunk_keeps_matching_log);
    tcase_add_test (tc, core_step_snapshot_keeps_unstable_log_restarts_storage);
    tcase_add_test (tc, core_installed_resumes_applying_after_snapshot);
    tcase_add_test (tc, core_step_snapshot_stale_answers_installed);
    tcase_add_test (tc, core_step_snapshot_stale_term_gets_our_term);
    tcase_add_test (tc, core_step_snapshot_resets_election_timer);
    tcase_add_test (tc, core_step_snapshot_offset_past_size_malformed);
    tcase_add_test (tc, core_step_snapshot_chunk_overrunning_malformed);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_window");
    tcase_add_test (tc, core_step_append_prev_below_window_matches);
    tcase_add_test (tc, core_step_append_prev_at_offset_wrong_term_malformed);
    tcase_add_test (tc, core_step_append_edge_entry_wrong_term_malformed);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("restore");
    tcase_add_test (tc, core_restore_snapshot_drops_entries_before);
    tcase_add_test (tc, core_restore_snapshot_without_entries);
    tcase_add_test (tc, core_restore_gap_after_snapshot_corrupt);
    tcase_add_test (tc, core_restore_entry_at_snapshot_other_term_dropped);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("read_index");
    tcase_add_test (tc, core_read_index_not_leader_refused);
    tcase_add_test (tc, core_read_index_confirmation_needs_majority);
    tcase_add_test (tc, core_read_index_batches_one_round);
    tcase_add_test (tc, core_read_index_stale_replies_do_not_confirm);
    tcase_add_test (tc, core_read_index_narrow_round);
    tcase_add_test (tc, core_read_index_narrow_round_widens);
    tcase_add_test (tc, core_read_index_narrow_round_five);
    tcase_add_test (tc, core_read_index_waits_for_commit_in_term);
    tcase_add_test (tc, core_read_index_is_commit_at_arrival);
    tcase_add_test (tc, core_read_index_deposed_leader_fails_reads);
    tcase_add_test (tc, core_read_index_fails_before_new_leadership);
    tcase_add_test (tc, core_read_index_single_server_confirms_at_once);
    tcase_add_test (tc, core_read_index_costs_nothing_without_reads);
    tcase_add_test (tc, core_read_index_follower_echoes_round);
    tcase_add_test (tc, core_read_index_unsent_round_malformed);
    tcase_add_test (tc, core_read_index_bounded);
    tcase_add_test (tc, core_read_index_probe_follower_gets_heartbeat);
    tcase_add_test (tc, core_read_index_round_skips_snapshot_follower);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
