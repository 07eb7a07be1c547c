/*  =========================================================================
    election - votes, pre-votes, the up-to-date rule, check-quorum

    See election.h; invariants are those of core.h, cited by number.
    =========================================================================
*/
#include "state.h"

/* Invariant (2), written once for votes and pre-votes: a candidate's log
   is at least as up to date as ours if its last term is higher, or equal
   with a last index at least ours (§5.4.1). */
static bool
s_up_to_date (const zr_core_t *self, const zr_message_t *msg)
{
    zr_assert (msg->type == ZR_MSG_VOTE || msg->type == ZR_MSG_PREVOTE);
    zr_index_t our_last = zr_log_last_index (&self->log);
    zr_term_t our_last_term = zr_log_term (&self->log, our_last);
    return msg->last_term > our_last_term
        || (msg->last_term == our_last_term && msg->last_index >= our_last);
}

/* Sends a VOTE or PREVOTE for term, with this server's last entry (the
   up-to-date rule, Invariant 2), to every other server. */
static void
s_ask_votes (zr_core_t *self, zr_msg_type_t type, zr_term_t term)
{
    zr_assert (type == ZR_MSG_VOTE || type == ZR_MSG_PREVOTE);
    zr_assert (term > 0 && term >= self->term);
    zr_index_t last = zr_log_last_index (&self->log);
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id == self->config.id)
            continue;
        zr_message_t *msg = zr_core_message (self, type, id);
        msg->term = term;
        msg->last_index = last;
        msg->last_term = zr_log_term (&self->log, last);
        zr_core_push (self, &self->out, msg);
    }
}

static void
s_become_leader (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_CANDIDATE);
    self->role = ZR_ROLE_LEADER;
    self->leader = self->config.id;
    self->transfer_to = 0;
    zr_read_lead (self);                                              /* (14) */
    for (uint32_t i = 0; i < self->config.n_servers; i++)
        self->heard_ms [self->config.servers [i]] = now_ms;
    self->quorum_check_ms = now_ms + self->config.election_timeout_ms;
    zr_index_t last = zr_log_last_index (&self->log);
    for (uint32_t i = 0; i < self->config.n_servers; i++)
        zr_progress_reset (&self->progress [self->config.servers [i]], last,
                           self->config.inflight_max,
                           self->config.inflight_bytes_max);
    /* Invariant (8): a no-op of this term lets the leader commit. */
    zr_entry_t noop = {.term = self->term, .index = last + 1,
                       .type = ZR_ENTRY_NOOP};
    int rc = zr_log_append (&self->log, &noop);
    zr_assert (rc == 0);
    zr_core_trace (self, "leader term=%llu last=%llu",
                   (unsigned long long) self->term,
                   (unsigned long long) (last + 1));
    zr_replication_all (self, now_ms, true);
}

void
zr_election_start (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role != ZR_ROLE_LEADER);
    zr_core_set_term (self, self->term + 1);
    self->role = ZR_ROLE_CANDIDATE;
    self->vote = self->config.id;       /* (1): persisted before sending */
    self->leader = 0;
    self->hs_dirty = true;
    self->prevoting = false;
    self->votes = 1u << self->config.id;
    zr_core_reset_election_timer (self, now_ms);
    zr_core_trace (self, "candidate term=%llu", (unsigned long long) self->term);
    if (zr_core_quorum (self) == 1) {
        s_become_leader (self, now_ms);
        return;
    }
    s_ask_votes (self, ZR_MSG_VOTE, self->term);
}

/* Invariant (9): poll the cluster for term + 1 without changing term. */
static void
s_become_precandidate (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role != ZR_ROLE_LEADER);
    self->role = ZR_ROLE_FOLLOWER;
    self->leader = 0;
    self->prevoting = true;
    self->votes = 1u << self->config.id;
    zr_core_reset_election_timer (self, now_ms);
    if (zr_core_quorum (self) == 1) {
        zr_election_start (self, now_ms);
        return;
    }
    s_ask_votes (self, ZR_MSG_PREVOTE, self->term + 1);
}

void
zr_election_timeout (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role != ZR_ROLE_LEADER);
    zr_assert (now_ms >= self->election_deadline_ms);
    if (self->config.pre_vote)
        s_become_precandidate (self, now_ms);
    else
        zr_election_start (self, now_ms);
}

void
zr_election_handle_vote (zr_core_t *self, const zr_message_t *msg,
                         uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_VOTE);
    zr_assert (msg->term <= self->term);    /* (3) applied by zr_core_step */
    bool granted = msg->term == self->term
                && self->role == ZR_ROLE_FOLLOWER
#ifdef ZR_PLANT_BUG_DOUBLE_VOTE
                /* Planted bug for the simulation's self-test: (1) ignored. */
#else
                && (self->vote == 0 || self->vote == msg->from)       /* (1) */
#endif
                && s_up_to_date (self, msg);                          /* (2) */
    if (granted) {
        if (self->vote != msg->from)
            self->hs_dirty = true;
        self->vote = msg->from;
        zr_core_reset_election_timer (self, now_ms);
    }
    zr_message_t *reply = zr_core_message (self, ZR_MSG_VOTE_REPLY, msg->from);
    reply->granted = granted;
    zr_core_push (self, &self->out_synced, reply);                    /* (7) */
}

void
zr_election_handle_vote_reply (zr_core_t *self, const zr_message_t *msg,
                               uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_VOTE_REPLY);
    if (self->role != ZR_ROLE_CANDIDATE || msg->term != self->term || !msg->granted)
        return;
    self->votes |= 1u << msg->from;
    uint32_t granted = (uint32_t) __builtin_popcount (self->votes);
    if (granted >= zr_core_quorum (self))
        s_become_leader (self, now_ms);
}

/* Invariant (9): grant a pre-vote for a higher term to an up-to-date log,
   unless a leader was heard from within the minimum election timeout.
   Nothing here changes this server's term or vote. */
void
zr_election_handle_prevote (zr_core_t *self, const zr_message_t *msg,
                            uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_PREVOTE);
    bool leased = self->role == ZR_ROLE_LEADER
               || (self->leader != 0
                   && now_ms < self->leader_contact_ms + self->config.election_timeout_ms);
    bool granted = msg->term > self->term && s_up_to_date (self, msg) && !leased;
    zr_message_t *reply = zr_core_message (self, ZR_MSG_PREVOTE_REPLY, msg->from);
    reply->granted = granted;
    if (granted)
        reply->term = msg->term;        /* so it is not mistaken for stale */
    zr_core_push (self, &self->out_synced, reply);
}

void
zr_election_handle_prevote_reply (zr_core_t *self, const zr_message_t *msg,
                                  uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_PREVOTE_REPLY);
    if (!self->prevoting || !msg->granted || msg->term != self->term + 1)
        return;
    self->votes |= 1u << msg->from;
    if ((uint32_t) __builtin_popcount (self->votes) >= zr_core_quorum (self))
        zr_election_start (self, now_ms);
}

/* Invariant (10): has a majority (self included) been heard from within
   the last election timeout? */
static bool
s_quorum_heard (const zr_core_t *self, uint64_t now_ms)
{
    uint32_t heard = 0;
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id == self->config.id
            || now_ms < self->heard_ms [id] + self->config.election_timeout_ms)
            heard++;
    }
    return heard >= zr_core_quorum (self);
}

bool
zr_election_check_quorum (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    if (!self->config.check_quorum || now_ms < self->quorum_check_ms)
        return true;
    if (!s_quorum_heard (self, now_ms)) {                             /* (10) */
        zr_core_trace (self, "no quorum heard, stepping down term=%llu",
                       (unsigned long long) self->term);
        zr_core_become_follower (self, self->term, 0, now_ms);
        return false;
    }
    self->quorum_check_ms = now_ms + self->config.election_timeout_ms;
    return true;
}
