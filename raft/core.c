/*  =========================================================================
    core - the Raft protocol of one server, pure and single-threaded

    See core.h for the design notes; invariants are cited by number.
    =========================================================================
*/
#include "raft.h"

#define ZR_OUTBOX_MAX 65536             /* messages queued between Readies */
#define ZR_APPLY_BATCH_MAX 256          /* entries handed to apply per Ready */

typedef struct {
    zr_message_t **items;               /* owned messages */
    uint32_t count;                     /* items used */
    uint32_t capacity;                  /* items allocated */
} s_outbox_t;

struct _zr_core_t {
    zr_core_config_t config;            /* copied at creation */
    zr_rng_t rng;                       /* election timeout draws */
    zr_role_t role;                     /* follower, candidate or leader */
    zr_term_t term;                     /* current term, never decreases */
    zr_id_t vote;                       /* voted for in term, 0 if none (1) */
    zr_id_t leader;                     /* known leader of term, 0 if none */
    zr_log_t log;                       /* the log */
    zr_index_t commit;                  /* highest index known committed */
    zr_index_t applied;                 /* highest index handed to apply */
    zr_index_t persisted;               /* log durable up to here */
    zr_index_t unstable_from;           /* first index not yet handed to persist */
    bool hs_dirty;                      /* term/vote changed since last Ready */
    uint64_t election_deadline_ms;      /* follower/candidate: timeout at */
    uint32_t votes;                     /* (pre-)candidate: bit i = id i granted */
    bool prevoting;                     /* follower polling for pre-votes (9) */
    uint64_t leader_contact_ms;         /* last AppendEntries from the leader (9) */
    uint64_t heard_ms [ZR_NODES_MAX + 1];   /* leader: last reply by peer (10) */
    uint64_t quorum_check_ms;           /* leader: next check-quorum (10) */
    zr_id_t transfer_to;                /* leader: transfer target, 0 if none (11) */
    uint64_t transfer_deadline_ms;      /* leader: give up the transfer then */
    zr_progress_t progress [ZR_NODES_MAX + 1];  /* leader: by follower id */
    s_outbox_t out;                     /* messages to send now */
    s_outbox_t out_synced;              /* messages to send after sync (7) */
};

/* ---------------------------------------------------------------- helpers */

static void
s_trace (zr_core_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_trace (zr_core_t *self, const char *fmt, ...)
{
    if (!self->config.trace)
        return;
    char line [256];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    self->config.trace (self->config.trace_arg, line);
}

static uint32_t
s_quorum (const zr_core_t *self)
{
    return self->config.n_servers / 2 + 1;
}

static bool
s_is_peer (const zr_core_t *self, zr_id_t id)
{
    if (id == self->config.id)
        return false;
    for (uint32_t i = 0; i < self->config.n_servers; i++)
        if (self->config.servers [i] == id)
            return true;
    return false;
}

static void
s_outbox_push (zr_core_t *self, s_outbox_t *box, zr_message_t *msg)
{
    zr_assert (msg);
    if (box->count == box->capacity) {
        uint32_t capacity = box->capacity ? box->capacity * 2 : 64;
        zr_assert (capacity <= ZR_OUTBOX_MAX);
        zr_message_t **grown = (zr_message_t **) realloc (
            box->items, capacity * sizeof (zr_message_t *));
        zr_assert (grown);              /* small; see zr_core_new */
        box->items = grown;
        box->capacity = capacity;
    }
    box->items [box->count++] = msg;
    (void) self;
}

static zr_message_t *
s_message (zr_core_t *self, zr_msg_type_t type, zr_id_t to)
{
    zr_message_t *msg = zr_message_new (type);
    zr_assert (msg);
    msg->from = self->config.id;
    msg->to = to;
    msg->term = self->term;
    return msg;
}

static void
s_reset_election_timer (zr_core_t *self, uint64_t now_ms)
{
    uint64_t et = self->config.election_timeout_ms;
    self->election_deadline_ms = now_ms + zr_rng_range (&self->rng, et, 2 * et);
}

static void
s_set_term (zr_core_t *self, zr_term_t term)
{
    zr_assert (term >= self->term);
    if (term > self->term) {
        self->term = term;
        self->vote = 0;
        self->hs_dirty = true;
    }
}

/* ------------------------------------------------------------ role changes */

static void
s_become_follower (zr_core_t *self, zr_term_t term, zr_id_t leader,
                   uint64_t now_ms)
{
    zr_assert (term >= self->term);
    bool changed = self->role != ZR_ROLE_FOLLOWER || term != self->term
                || leader != self->leader;
    if (self->role != ZR_ROLE_FOLLOWER)
        s_reset_election_timer (self, now_ms);
    s_set_term (self, term);
    self->role = ZR_ROLE_FOLLOWER;
    self->leader = leader;
    self->votes = 0;
    self->prevoting = false;
    self->transfer_to = 0;
    if (changed)
        s_trace (self, "follower term=%llu leader=%u",
                 (unsigned long long) term, leader);
}

static void s_replicate_all (zr_core_t *self, uint64_t now_ms, bool force);

static void
s_become_leader (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_CANDIDATE);
    self->role = ZR_ROLE_LEADER;
    self->leader = self->config.id;
    self->transfer_to = 0;
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
    s_trace (self, "leader term=%llu last=%llu", (unsigned long long) self->term,
             (unsigned long long) (last + 1));
    s_replicate_all (self, now_ms, true);
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
        zr_message_t *msg = s_message (self, type, id);
        msg->term = term;
        msg->last_index = last;
        msg->last_term = zr_log_term (&self->log, last);
        s_outbox_push (self, &self->out, msg);
    }
}

static void
s_become_candidate (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role != ZR_ROLE_LEADER);
    s_set_term (self, self->term + 1);
    self->role = ZR_ROLE_CANDIDATE;
    self->vote = self->config.id;       /* (1): persisted before sending */
    self->leader = 0;
    self->hs_dirty = true;
    self->prevoting = false;
    self->votes = 1u << self->config.id;
    s_reset_election_timer (self, now_ms);
    s_trace (self, "candidate term=%llu", (unsigned long long) self->term);
    if (s_quorum (self) == 1) {
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
    s_reset_election_timer (self, now_ms);
    if (s_quorum (self) == 1) {
        s_become_candidate (self, now_ms);
        return;
    }
    s_ask_votes (self, ZR_MSG_PREVOTE, self->term + 1);
}

/* Invariant (11): the target is up to date; tell it to campaign now. */
static void
s_transfer_maybe_send (zr_core_t *self)
{
    zr_id_t to = self->transfer_to;
    if (!to || self->progress [to].match != zr_log_last_index (&self->log))
        return;
    s_outbox_push (self, &self->out, s_message (self, ZR_MSG_TIMEOUT_NOW, to));
    s_trace (self, "transfer term=%llu to=%u sent", (unsigned long long) self->term, to);
}

/* ------------------------------------------------------------ replication */

/* Builds an AppendEntries to peer with prev = next - 1 and entries from
   next up to the batch budget (at least one entry if any is left). */
static zr_message_t *
s_append_message (zr_core_t *self, zr_id_t peer, zr_index_t next,
                  uint64_t *bytes_p)
{
    zr_index_t last = zr_log_last_index (&self->log);
    zr_assert (next >= 1 && next <= last + 1);
    zr_message_t *msg = s_message (self, ZR_MSG_APPEND, peer);
    msg->prev_index = next - 1;
    msg->prev_term = zr_log_term (&self->log, next - 1);
    msg->commit = self->commit;
    uint64_t bytes = 0;
    zr_index_t end = next;
    while (end <= last && end - next < ZR_BATCH_ENTRIES_MAX) {
        uint32_t size = zr_log_get (&self->log, end)->size;
        if (end > next && bytes + size > self->config.batch_bytes)
            break;
        bytes += size;
        end++;
    }
    msg->n_entries = (uint32_t) (end - next);
    if (msg->n_entries > 0) {
        msg->entries = (zr_entry_t *) malloc (msg->n_entries * sizeof (zr_entry_t));
        zr_assert (msg->entries);
        for (uint32_t i = 0; i < msg->n_entries; i++)
            zr_entry_copy (&msg->entries [i], zr_log_get (&self->log, next + i));
    }
    *bytes_p = bytes;
    return msg;
}

/* Sends what the window allows to one follower, and a heartbeat if the
   link has been idle for heartbeat_ms (or force). In PROBE the heartbeat
   is the probe itself; in REPLICATE it checks prev = match, which the
   follower is known to hold, so it never causes a spurious rejection. */
static void
s_replicate (zr_core_t *self, zr_id_t peer, uint64_t now_ms, bool force)
{
    zr_progress_t *pr = &self->progress [peer];
    zr_index_t last = zr_log_last_index (&self->log);
    bool due = force || now_ms >= pr->last_send_ms + self->config.heartbeat_ms;
    bool sent = false;
    if (pr->state == ZR_PROGRESS_PROBE && due)
        pr->probe_sent = false;         /* resend the probe */
    while (zr_progress_can_send (pr)
           && (pr->next <= last || pr->state == ZR_PROGRESS_PROBE)) {
        uint64_t bytes = 0;
        zr_message_t *msg = s_append_message (self, peer, pr->next, &bytes);
        zr_progress_sent (pr, msg->prev_index + msg->n_entries, bytes, now_ms);
        s_outbox_push (self, &self->out, msg);
        sent = true;
    }
    if (!sent && due) {
        zr_message_t *msg = s_message (self, ZR_MSG_APPEND, peer);
        msg->prev_index = pr->state == ZR_PROGRESS_REPLICATE ? pr->match : pr->next - 1;
        msg->prev_term = zr_log_term (&self->log, msg->prev_index);
        msg->commit = self->commit;
        zr_progress_heartbeat_sent (pr, now_ms);
        s_outbox_push (self, &self->out, msg);
    }
}

static void
s_replicate_all (zr_core_t *self, uint64_t now_ms, bool force)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id != self->config.id)
            s_replicate (self, id, now_ms, force);
    }
}

/* Invariant (6): commit the highest index replicated on a quorum, if it
   belongs to the current term; the leader's own copy counts once durable. */
static void
s_maybe_commit (zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    zr_index_t matches [ZR_NODES_MAX];
    uint32_t n = self->config.n_servers;
    for (uint32_t i = 0; i < n; i++) {
        zr_id_t id = self->config.servers [i];
        matches [i] = id == self->config.id ? self->persisted
                                            : self->progress [id].match;
    }
    /* Sort descending (n <= 9): the quorum-th value is on a majority. */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && matches [j] > matches [j - 1]; j--) {
            zr_index_t t = matches [j];
            matches [j] = matches [j - 1];
            matches [j - 1] = t;
        }
    zr_index_t candidate = matches [s_quorum (self) - 1];
#ifdef ZR_PLANT_BUG_COMMIT_OLD_TERM
    /* Planted bug for the simulation's self-test: Figure 8 ignored. */
    if (candidate > self->commit) {
#else
    if (candidate > self->commit
        && zr_log_term (&self->log, candidate) == self->term) {
#endif
        zr_assert (candidate <= zr_log_last_index (&self->log));
        self->commit = candidate;
    }
}

/* ------------------------------------------------------------ handlers */

static void
s_handle_vote (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    zr_term_t our_last_term = zr_log_term (&self->log, zr_log_last_index (&self->log));
    zr_index_t our_last = zr_log_last_index (&self->log);
    bool up_to_date = msg->last_term > our_last_term                  /* (2) */
                   || (msg->last_term == our_last_term && msg->last_index >= our_last);
    bool granted = msg->term == self->term
                && self->role == ZR_ROLE_FOLLOWER
#ifdef ZR_PLANT_BUG_DOUBLE_VOTE
                /* Planted bug for the simulation's self-test: (1) ignored. */
#else
                && (self->vote == 0 || self->vote == msg->from)       /* (1) */
#endif
                && up_to_date;
    if (granted) {
        if (self->vote != msg->from)
            self->hs_dirty = true;
        self->vote = msg->from;
        s_reset_election_timer (self, now_ms);
    }
    zr_message_t *reply = s_message (self, ZR_MSG_VOTE_REPLY, msg->from);
    reply->granted = granted;
    s_outbox_push (self, &self->out_synced, reply);                   /* (7) */
}

static void
s_handle_vote_reply (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    if (self->role != ZR_ROLE_CANDIDATE || msg->term != self->term || !msg->granted)
        return;
    self->votes |= 1u << msg->from;
    uint32_t granted = (uint32_t) __builtin_popcount (self->votes);
    if (granted >= s_quorum (self))
        s_become_leader (self, now_ms);
}

/* Invariant (9): grant a pre-vote for a higher term to an up-to-date log,
   unless a leader was heard from within the minimum election timeout.
   Nothing here changes this server's term or vote. */
static void
s_handle_prevote (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    zr_index_t our_last = zr_log_last_index (&self->log);
    zr_term_t our_last_term = zr_log_term (&self->log, our_last);
    bool up_to_date = msg->last_term > our_last_term
                   || (msg->last_term == our_last_term && msg->last_index >= our_last);
    bool leased = self->role == ZR_ROLE_LEADER
               || (self->leader != 0
                   && now_ms < self->leader_contact_ms + self->config.election_timeout_ms);
    bool granted = msg->term > self->term && up_to_date && !leased;
    zr_message_t *reply = s_message (self, ZR_MSG_PREVOTE_REPLY, msg->from);
    reply->granted = granted;
    if (granted)
        reply->term = msg->term;        /* so it is not mistaken for stale */
    s_outbox_push (self, &self->out_synced, reply);
}

static void
s_handle_prevote_reply (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    if (!self->prevoting || !msg->granted || msg->term != self->term + 1)
        return;
    self->votes |= 1u << msg->from;
    if ((uint32_t) __builtin_popcount (self->votes) >= s_quorum (self))
        s_become_candidate (self, now_ms);
}

/* Invariant (11): the current leader hands over; campaign now. */
static void
s_handle_timeout_now (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    if (msg->term == self->term && msg->from == self->leader
        && self->role == ZR_ROLE_FOLLOWER) {
        s_trace (self, "transfer term=%llu from=%u received",
                 (unsigned long long) self->term, msg->from);
        s_become_candidate (self, now_ms);
    }
}

static zr_message_t *
s_append_reply (zr_core_t *self, const zr_message_t *msg)
{
    zr_message_t *reply = s_message (self, ZR_MSG_APPEND_REPLY, msg->from);
    reply->last_index = zr_log_last_index (&self->log);
    reply->match_index = msg->prev_index;
    return reply;
}

/* Appends msg's entries after prev_index, truncating only a conflicting
   suffix (4). Returns false if a conflict would cut a committed entry,
   which a correct leader never asks for: the message is then refused. */
static bool
s_append_entries (zr_core_t *self, const zr_message_t *msg)
{
    for (uint32_t i = 0; i < msg->n_entries; i++) {
        const zr_entry_t *entry = &msg->entries [i];
        zr_assert (entry->index == msg->prev_index + 1 + i);
        zr_index_t last = zr_log_last_index (&self->log);
        if (entry->index <= last) {
#ifndef ZR_PLANT_BUG_TRUNCATE_MATCHING  /* simulation self-test: (4) ignored */
            if (zr_log_term (&self->log, entry->index) == entry->term)
                continue;               /* matches: never cut (4) */
#endif
            if (entry->index <= self->commit)
                return false;
            zr_log_truncate (&self->log, entry->index);
            if (self->persisted >= entry->index)
                self->persisted = entry->index - 1;
        }
        if (self->unstable_from > entry->index)
            self->unstable_from = entry->index;
        int rc = zr_log_append (&self->log, entry);
        zr_assert (rc == 0);
    }
    return true;
}

static int
s_handle_append (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    zr_message_t *reply = s_append_reply (self, msg);
    if (msg->term < self->term) {       /* stale leader: tell it our term */
        s_outbox_push (self, &self->out_synced, reply);
        return 0;
    }
    if (self->role == ZR_ROLE_LEADER) { /* two leaders in one term */
        zr_message_destroy (&reply);
        return ZR_EMALFORMED;
    }
    s_become_follower (self, msg->term, msg->from, now_ms);
    s_reset_election_timer (self, now_ms);
    self->leader_contact_ms = now_ms;
    zr_index_t last = zr_log_last_index (&self->log);
    if (msg->prev_index > last) {
        reply->conflict_term = 0;       /* hint: our log is too short */
    }
    else
    if (zr_log_term (&self->log, msg->prev_index) != msg->prev_term) {
        reply->conflict_term = zr_log_term (&self->log, msg->prev_index);
        reply->conflict_index = zr_log_term_start (&self->log, msg->prev_index);
    }
    else
    if (!s_append_entries (self, msg)) {
        zr_message_destroy (&reply);
        return ZR_EMALFORMED;
    }
    else {
        zr_index_t verified = msg->prev_index + msg->n_entries;
        zr_index_t commit = msg->commit < verified ? msg->commit : verified;
        if (commit > self->commit)
            self->commit = commit;      /* (5) */
        reply->success = true;
        reply->match_index = verified;
    }
    reply->last_index = zr_log_last_index (&self->log);
    s_outbox_push (self, &self->out_synced, reply);                   /* (7) */
    return 0;
}

static int
s_handle_append_reply (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    if (self->role != ZR_ROLE_LEADER || msg->term != self->term)
        return 0;                       /* stale */
    zr_progress_t *pr = &self->progress [msg->from];
    if (msg->match_index > zr_log_last_index (&self->log))
        return ZR_EMALFORMED;           /* claims entries we never sent */
    self->heard_ms [msg->from] = now_ms;                              /* (10) */
    if (msg->success) {
        if (zr_progress_acked (pr, msg->match_index)) {
            s_maybe_commit (self);
            if (msg->from == self->transfer_to)
                s_transfer_maybe_send (self);
        }
    }
    else {
        zr_index_t hint = msg->last_index + 1;
        if (msg->conflict_term != 0) {
            zr_index_t ours = zr_log_term_last (&self->log, msg->conflict_term);
            hint = ours ? ours + 1 : msg->conflict_index;
        }
        if (hint == 0)
            hint = 1;
        zr_progress_rejected (pr, msg->match_index, hint);
    }
    /* What to send next is decided in zr_core_ready, so that every reply
       and proposal handled meanwhile shares one batch. */
    return 0;
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
    return heard >= s_quorum (self);
}

/* ------------------------------------------------------------ public API */

zr_core_t *
zr_core_new (const zr_core_config_t *config, uint64_t now_ms)
{
    zr_assert (config);
    zr_assert (config->n_servers >= 1 && config->n_servers <= ZR_NODES_MAX);
    zr_assert (config->heartbeat_ms > 0);
    zr_assert (config->heartbeat_ms < config->election_timeout_ms);
    zr_assert (config->inflight_max >= 1 && config->inflight_max <= ZR_INFLIGHT_MAX);
    zr_assert (config->inflight_bytes_max > 0);
    zr_assert (config->batch_bytes > 0 && config->batch_bytes <= ZR_FRAME_BYTES_MAX / 2);
    bool found = false;
    for (uint32_t i = 0; i < config->n_servers; i++) {
        zr_id_t id = config->servers [i];
        zr_assert (id >= 1 && id <= ZR_NODES_MAX);
        found = found || id == config->id;
    }
    zr_assert (found);
    zr_core_t *self = (zr_core_t *) calloc (1, sizeof (zr_core_t));
    if (!self)
        return NULL;
    self->config = *config;
    zr_rng_seed (&self->rng, config->seed ^ ((uint64_t) config->id << 32));
    zr_log_init (&self->log);
    self->role = ZR_ROLE_FOLLOWER;
    self->unstable_from = 1;
    s_reset_election_timer (self, now_ms);
    return self;
}

void
zr_core_destroy (zr_core_t **self_p)
{
    zr_assert (self_p);
    zr_core_t *self = *self_p;
    if (!self)
        return;
    zr_log_clear (&self->log);
    s_outbox_t *boxes [2] = {&self->out, &self->out_synced};
    for (int b = 0; b < 2; b++) {
        for (uint32_t i = 0; i < boxes [b]->count; i++)
            zr_message_destroy (&boxes [b]->items [i]);
        free (boxes [b]->items);
    }
    free (self);
    *self_p = NULL;
}

int
zr_core_restore (zr_core_t *self, zr_term_t term, zr_id_t vote,
                 const zr_entry_t *entries, uint32_t n)
{
    zr_assert (self);
    zr_assert (self->term == 0 && zr_log_last_index (&self->log) == 0);
    zr_assert (vote == 0 || vote <= ZR_NODES_MAX);
    self->term = term;
    self->vote = vote;
    for (uint32_t i = 0; i < n; i++) {
        zr_assert (entries [i].index == (zr_index_t) i + 1);
        if (zr_log_append (&self->log, &entries [i]) != 0) {
            zr_log_clear (&self->log);
            return ZR_ENOMEM;
        }
    }
    self->persisted = n;
    self->unstable_from = (zr_index_t) n + 1;
    return 0;
}

void
zr_core_tick (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER) {
        if (now_ms < self->election_deadline_ms)
            return;
        if (self->config.pre_vote)
            s_become_precandidate (self, now_ms);
        else
            s_become_candidate (self, now_ms);
        return;
    }
    if (self->transfer_to && now_ms >= self->transfer_deadline_ms) {
        s_trace (self, "transfer term=%llu to=%u timed out",
                 (unsigned long long) self->term, self->transfer_to);
        self->transfer_to = 0;                                        /* (11) */
    }
    if (self->config.check_quorum && now_ms >= self->quorum_check_ms) {
        if (!s_quorum_heard (self, now_ms)) {                         /* (10) */
            s_trace (self, "no quorum heard, stepping down term=%llu",
                     (unsigned long long) self->term);
            s_become_follower (self, self->term, 0, now_ms);
            return;
        }
        self->quorum_check_ms = now_ms + self->config.election_timeout_ms;
    }
    uint64_t retry_ms = self->config.election_timeout_ms / 2;
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id == self->config.id)
            continue;
        zr_progress_timeout (&self->progress [id], now_ms, retry_ms);
        s_replicate (self, id, now_ms, false);
    }
}

uint64_t
zr_core_deadline (const zr_core_t *self)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER)
        return self->election_deadline_ms;
    uint64_t deadline = UINT64_MAX;
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id == self->config.id)
            continue;
        const zr_progress_t *pr = &self->progress [id];
        uint64_t at = pr->last_send_ms + self->config.heartbeat_ms;
        if (at < deadline)
            deadline = at;
    }
    return deadline;
}

int
zr_core_step (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    zr_assert (self && msg);
    if (msg->to != self->config.id || !s_is_peer (self, msg->from))
        return ZR_EMALFORMED;
    /* The codec rejects these already; the core does not rely on it. */
    if (msg->type == ZR_MSG_APPEND && msg->prev_index == 0 && msg->prev_term != 0)
        return ZR_EMALFORMED;
    /* (3), except for pre-votes, which change no term (9). */
    bool prevote = msg->type == ZR_MSG_PREVOTE
                || (msg->type == ZR_MSG_PREVOTE_REPLY && msg->granted);
    if (msg->term > self->term && !prevote) {
        zr_id_t leader = msg->type == ZR_MSG_APPEND ? msg->from : 0;
        s_become_follower (self, msg->term, leader, now_ms);
    }
    switch (msg->type) {
    case ZR_MSG_VOTE:
        s_handle_vote (self, msg, now_ms);
        return 0;
    case ZR_MSG_VOTE_REPLY:
        s_handle_vote_reply (self, msg, now_ms);
        return 0;
    case ZR_MSG_APPEND:
        return s_handle_append (self, msg, now_ms);
    case ZR_MSG_APPEND_REPLY:
        return s_handle_append_reply (self, msg, now_ms);
    case ZR_MSG_PREVOTE:
        s_handle_prevote (self, msg, now_ms);
        return 0;
    case ZR_MSG_PREVOTE_REPLY:
        s_handle_prevote_reply (self, msg, now_ms);
        return 0;
    case ZR_MSG_TIMEOUT_NOW:
        s_handle_timeout_now (self, msg, now_ms);
        return 0;
    default:
        return ZR_EMALFORMED;
    }
}

int
zr_core_propose (zr_core_t *self, zr_blob_t *blob, const uint8_t *data,
                 uint32_t size, zr_index_t *index, zr_term_t *term)
{
    zr_assert (self && index && term);
    zr_assert (size == 0 || (blob && data >= blob->data
                             && data + size <= blob->data + blob->size));
    if (self->role != ZR_ROLE_LEADER)
        return ZR_ENOTLEADER;
    if (self->transfer_to)
        return ZR_EBUSY;                                              /* (11) */
    if (size > ZR_ENTRY_BYTES_MAX)
        return ZR_ETOOBIG;
    zr_entry_t entry = {.term = self->term,
                        .index = zr_log_last_index (&self->log) + 1,
                        .type = ZR_ENTRY_COMMAND, .size = size,
                        .data = size ? data : NULL, .blob = size ? blob : NULL};
    int rc = zr_log_append (&self->log, &entry);
    if (rc != 0)
        return rc;
    *index = entry.index;
    *term = entry.term;
    return 0;
}

void
zr_core_persisted (zr_core_t *self, zr_index_t index, zr_term_t term)
{
    zr_assert (self);
    if (index <= self->persisted || index > zr_log_last_index (&self->log)
        || zr_log_term (&self->log, index) != term)
        return;                         /* truncated meanwhile, or old news */
    zr_assert (index < self->unstable_from);
    self->persisted = index;
    if (self->role == ZR_ROLE_LEADER)
        s_maybe_commit (self);
}

int
zr_core_transfer (zr_core_t *self, zr_id_t peer, uint64_t now_ms)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER)
        return ZR_ENOTLEADER;
    if (!s_is_peer (self, peer))
        return ZR_EINVAL;
    if (self->transfer_to)
        return ZR_EBUSY;
    self->transfer_to = peer;
    self->transfer_deadline_ms = now_ms + self->config.election_timeout_ms;
    s_trace (self, "transfer term=%llu to=%u started", (unsigned long long) self->term, peer);
    s_transfer_maybe_send (self);
    return 0;
}

zr_id_t
zr_core_transferring (const zr_core_t *self)
{
    zr_assert (self);
    return self->transfer_to;
}

void
zr_core_unreachable (zr_core_t *self, zr_id_t peer)
{
    zr_assert (self);
    if (self->role == ZR_ROLE_LEADER && s_is_peer (self, peer))
        zr_progress_unreachable (&self->progress [peer]);
}

/* Moves the committed entries not yet handed out into ready. */
static void
s_ready_committed (zr_core_t *self, zr_ready_t *ready)
{
    zr_index_t upto = self->commit;
    if (upto > self->applied + ZR_APPLY_BATCH_MAX)
        upto = self->applied + ZR_APPLY_BATCH_MAX;
    if (upto <= self->applied)
        return;
    uint32_t n = (uint32_t) (upto - self->applied);
    ready->committed = (zr_entry_t *) malloc (n * sizeof (zr_entry_t));
    zr_assert (ready->committed);
    for (uint32_t i = 0; i < n; i++)
        zr_entry_copy (&ready->committed [i],
                       zr_log_get (&self->log, self->applied + 1 + i));
    ready->n_committed = n;
    self->applied = upto;
}

static void
s_ready_entries (zr_core_t *self, zr_ready_t *ready)
{
    zr_index_t last = zr_log_last_index (&self->log);
    if (self->unstable_from > last)
        return;
    uint32_t n = (uint32_t) (last - self->unstable_from + 1);
    ready->entries = (zr_entry_t *) malloc (n * sizeof (zr_entry_t));
    zr_assert (ready->entries);
    for (uint32_t i = 0; i < n; i++)
        zr_entry_copy (&ready->entries [i],
                       zr_log_get (&self->log, self->unstable_from + i));
    ready->n_entries = n;
    self->unstable_from = last + 1;
}

void
zr_core_ready (zr_core_t *self, zr_ready_t *ready, uint64_t now_ms)
{
    zr_assert (self && ready);
    zr_assert (!ready->msgs && !ready->msgs_synced && !ready->entries
               && !ready->committed);
    if (self->role == ZR_ROLE_LEADER)
        s_replicate_all (self, now_ms, false);
    ready->hs_changed = self->hs_dirty;
    ready->term = self->term;
    ready->vote = self->vote;
    self->hs_dirty = false;
    s_ready_entries (self, ready);
    s_ready_committed (self, ready);
    /* (1): after a hard-state change nothing leaves before it is durable. */
    if (ready->hs_changed) {
        for (uint32_t i = 0; i < self->out.count; i++)
            s_outbox_push (self, &self->out_synced, self->out.items [i]);
        self->out.count = 0;
    }
    ready->msgs = self->out.items;
    ready->n_msgs = self->out.count;
    ready->msgs_synced = self->out_synced.items;
    ready->n_msgs_synced = self->out_synced.count;
    memset (&self->out, 0, sizeof self->out);
    memset (&self->out_synced, 0, sizeof self->out_synced);
}

void
zr_ready_release (zr_ready_t *ready)
{
    zr_assert (ready);
    for (uint32_t i = 0; ready->msgs && i < ready->n_msgs; i++)
        zr_message_destroy (&ready->msgs [i]);
    for (uint32_t i = 0; ready->msgs_synced && i < ready->n_msgs_synced; i++)
        zr_message_destroy (&ready->msgs_synced [i]);
    free (ready->msgs);
    free (ready->msgs_synced);
    zr_entries_destroy (&ready->entries, ready->n_entries);
    zr_entries_destroy (&ready->committed, ready->n_committed);
    memset (ready, 0, sizeof *ready);
}

zr_role_t
zr_core_role (const zr_core_t *self)
{
    zr_assert (self);
    return self->role;
}

zr_term_t
zr_core_term (const zr_core_t *self)
{
    zr_assert (self);
    return self->term;
}

zr_id_t
zr_core_vote (const zr_core_t *self)
{
    zr_assert (self);
    return self->vote;
}

zr_id_t
zr_core_leader (const zr_core_t *self)
{
    zr_assert (self);
    return self->leader;
}

zr_index_t
zr_core_commit (const zr_core_t *self)
{
    zr_assert (self);
    return self->commit;
}

zr_index_t
zr_core_last_index (const zr_core_t *self)
{
    zr_assert (self);
    return zr_log_last_index (&self->log);
}

zr_index_t
zr_core_persisted_index (const zr_core_t *self)
{
    zr_assert (self);
    return self->persisted;
}

const zr_log_t *
zr_core_log (const zr_core_t *self)
{
    zr_assert (self);
    return &self->log;
}

const zr_progress_t *
zr_core_progress (const zr_core_t *self, zr_id_t peer)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER || !s_is_peer (self, peer))
        return NULL;
    return &self->progress [peer];
}

void
zr_core_check (const zr_core_t *self)
{
    zr_assert (self);
    zr_index_t last = zr_log_last_index (&self->log);
    zr_assert (self->applied <= self->commit);
    zr_assert (self->commit <= last);
    zr_assert (self->persisted <= last);
    zr_assert (self->unstable_from <= last + 1);
    zr_assert (self->role != ZR_ROLE_LEADER || self->leader == self->config.id);
    zr_assert (self->role != ZR_ROLE_CANDIDATE || self->vote == self->config.id);
    for (zr_index_t i = 2; i <= last; i++)
        zr_assert (zr_log_term (&self->log, i - 1) <= zr_log_term (&self->log, i));
    if (self->role == ZR_ROLE_LEADER)
        for (uint32_t i = 0; i < self->config.n_servers; i++) {
            const zr_progress_t *pr = &self->progress [self->config.servers [i]];
            zr_assert (pr->match < pr->next);
            zr_assert (pr->next <= last + 1);
        }
}
