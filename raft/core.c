/*  =========================================================================
    core - the Raft protocol of one server, pure and single-threaded

    See core.h for the design notes; invariants are cited by number.
    =========================================================================
*/
#include "state.h"

/* ---------------------------------------------------------------- helpers */

void
zr_core_trace (zr_core_t *self, const char *fmt, ...)
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

uint32_t
zr_core_quorum (const zr_core_t *self)
{
    return self->config.n_servers / 2 + 1;
}

bool
zr_core_is_peer (const zr_core_t *self, zr_id_t id)
{
    if (id == self->config.id)
        return false;
    for (uint32_t i = 0; i < self->config.n_servers; i++)
        if (self->config.servers [i] == id)
            return true;
    return false;
}

void
zr_core_push (zr_core_t *self, zr_outbox_t *box, zr_message_t *msg)
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

zr_message_t *
zr_core_message (zr_core_t *self, zr_msg_type_t type, zr_id_t to)
{
    zr_message_t *msg = zr_message_new (type);
    zr_assert (msg);
    msg->from = self->config.id;
    msg->to = to;
    msg->term = self->term;
    return msg;
}

void
zr_core_reset_election_timer (zr_core_t *self, uint64_t now_ms)
{
    uint64_t et = self->config.election_timeout_ms;
    self->election_deadline_ms = now_ms + zr_rng_range (&self->rng, et, 2 * et);
}

void
zr_core_set_term (zr_core_t *self, zr_term_t term)
{
    zr_assert (term >= self->term);
    if (term > self->term) {
        self->term = term;
        self->vote = 0;
        self->hs_dirty = true;
    }
}

/* ------------------------------------------------------------ role changes */

void
zr_core_become_follower (zr_core_t *self, zr_term_t term, zr_id_t leader,
                         uint64_t now_ms)
{
    zr_assert (term >= self->term);
    bool changed = self->role != ZR_ROLE_FOLLOWER || term != self->term
                || leader != self->leader;
    if (self->role != ZR_ROLE_FOLLOWER)
        zr_core_reset_election_timer (self, now_ms);
    if (self->role == ZR_ROLE_LEADER)
        zr_read_step_down (self);                                     /* (14) */
    zr_core_set_term (self, term);
    self->role = ZR_ROLE_FOLLOWER;
    self->leader = leader;
    self->votes = 0;
    self->prevoting = false;
    self->transfer_to = 0;
    if (changed)
        zr_core_trace (self, "follower term=%llu leader=%u",
                       (unsigned long long) term, leader);
}

int
zr_core_heard_leader (zr_core_t *self, const zr_message_t *msg,
                      zr_message_t **reply_p, uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_APPEND || msg->type == ZR_MSG_SNAPSHOT);
    zr_assert (reply_p && *reply_p);
    if (msg->term < self->term) {       /* stale leader: tell it our term */
        zr_core_push (self, &self->out_synced, *reply_p);
        *reply_p = NULL;
        return 0;
    }
    if (self->role == ZR_ROLE_LEADER) { /* two leaders in one term */
        zr_message_destroy (reply_p);
        return ZR_EMALFORMED;
    }
    zr_core_become_follower (self, msg->term, msg->from, now_ms);
    zr_core_reset_election_timer (self, now_ms);
    self->leader_contact_ms = now_ms;
    return 1;
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
    zr_assert (config->snapshot_chunk_bytes <= ZR_CHUNK_BYTES_MAX);
    zr_core_t *self = (zr_core_t *) calloc (1, sizeof (zr_core_t));
    if (!self)
        return NULL;
    self->config = *config;
    if (self->config.snapshot_chunk_bytes == 0)
        self->config.snapshot_chunk_bytes = ZR_CORE_CHUNK_BYTES;
    if (self->config.snapshot_window_bytes < self->config.snapshot_chunk_bytes)
        self->config.snapshot_window_bytes = 4 * (uint64_t) self->config.snapshot_chunk_bytes;
    zr_rng_seed (&self->rng, config->seed ^ ((uint64_t) config->id << 32));
    zr_log_init (&self->log);
    self->role = ZR_ROLE_FOLLOWER;
    self->unstable_from = 1;
    self->storage_first = 1;            /* an empty log: all of it (15) */
    zr_core_reset_election_timer (self, now_ms);
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
    zr_outbox_t *boxes [2] = {&self->out, &self->out_synced};
    for (int b = 0; b < 2; b++) {
        for (uint32_t i = 0; i < boxes [b]->count; i++)
            zr_message_destroy (&boxes [b]->items [i]);
        free (boxes [b]->items);
    }
    for (uint32_t i = 0; i < self->n_chunks; i++)
        zr_blob_unref (&self->chunks [i].blob);
    free (self->chunks);
    zr_read_clear (self);
    free (self);
    *self_p = NULL;
}

int
zr_core_restore (zr_core_t *self, const zr_core_restore_t *r)
{
    zr_assert (self && r);
    zr_assert (self->term == 0 && zr_log_last_index (&self->log) == 0);
    zr_assert (r->vote == 0 || r->vote <= ZR_NODES_MAX);
    zr_assert (r->n_entries == 0 || r->entries);
    self->term = r->term;
    self->vote = r->vote;
    zr_index_t first = r->n_entries ? r->entries [0].index : r->snap_index + 1;
    if (first > r->snap_index + 1 || (first == 0 && r->n_entries))
        return ZR_ECORRUPT;             /* a gap after the snapshot */
    zr_log_reset (&self->log, r->snap_index, r->snap_term);
    /* Storage holds the entries before the snapshot too, if its log
       goes through the snapshot's last entry (15). */
    bool through = r->snap_index == 0;
    for (uint32_t i = 0; i < r->n_entries; i++) {
        const zr_entry_t *entry = &r->entries [i];
        zr_assert (entry->index == first + i);
        if (entry->index < r->snap_index)
            continue;                   /* the snapshot holds it */
        if (entry->index == r->snap_index) {
            /* A crash after an installed snapshot's file was renamed but
               before storage restarted its log after it leaves the old
               log behind: if it differs at the snapshot, nothing after
               it can be committed (a committed entry is in every later
               leader's log, §5.4), so the log restarts after it. */
            if (entry->term != r->snap_term)
                break;
            through = true;
            continue;
        }
        if (entry->term < zr_log_term (&self->log, entry->index - 1))
            return ZR_ECORRUPT;         /* terms go backwards (log.h 2) */
        if (zr_log_append (&self->log, entry) != 0)
            return ZR_ENOMEM;
    }
    self->snap_index = r->snap_index;
    self->snap_term = r->snap_term;
    self->snap_size = r->snap_size;
    self->applied_bytes = 0;            /* applied == snap_index */
    self->commit = r->snap_index;
    self->applied = r->snap_index;
    self->persisted = zr_log_last_index (&self->log);
    self->unstable_from = self->persisted + 1;
    self->storage_first = through && r->n_entries ? first : r->snap_index + 1;
    return 0;
}

void
zr_core_tick (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER) {
        if (now_ms >= self->election_deadline_ms)
            zr_election_timeout (self, now_ms);
        return;
    }
    zr_transfer_tick (self, now_ms);
    if (zr_election_check_quorum (self, now_ms)) {
        zr_read_tick (self, now_ms);                                  /* (14) */
        zr_replication_tick (self, now_ms);
    }
}

uint64_t
zr_core_deadline (const zr_core_t *self)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER)
        return self->election_deadline_ms;
    uint64_t deadline = self->round_widen_ms ? self->round_widen_ms : UINT64_MAX;
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
    if (msg->to != self->config.id || !zr_core_is_peer (self, msg->from))
        return ZR_EMALFORMED;
    /* The codec rejects these already; the core does not rely on it. */
    if (msg->type == ZR_MSG_APPEND && msg->prev_index == 0 && msg->prev_term != 0)
        return ZR_EMALFORMED;
    /* (3), except for pre-votes, which change no term (9). */
    bool prevote = msg->type == ZR_MSG_PREVOTE
                || (msg->type == ZR_MSG_PREVOTE_REPLY && msg->granted);
    if (msg->term > self->term && !prevote) {
        bool from_leader = msg->type == ZR_MSG_APPEND || msg->type == ZR_MSG_SNAPSHOT;
        zr_id_t leader = from_leader ? msg->from : 0;
        zr_core_become_follower (self, msg->term, leader, now_ms);
    }
    switch (msg->type) {
    case ZR_MSG_VOTE:
        zr_election_handle_vote (self, msg, now_ms);
        return 0;
    case ZR_MSG_VOTE_REPLY:
        zr_election_handle_vote_reply (self, msg, now_ms);
        return 0;
    case ZR_MSG_APPEND:
        return zr_replication_handle_append (self, msg, now_ms);
    case ZR_MSG_APPEND_REPLY:
        return zr_replication_handle_append_reply (self, msg, now_ms);
    case ZR_MSG_PREVOTE:
        zr_election_handle_prevote (self, msg, now_ms);
        return 0;
    case ZR_MSG_PREVOTE_REPLY:
        zr_election_handle_prevote_reply (self, msg, now_ms);
        return 0;
    case ZR_MSG_TIMEOUT_NOW:
        zr_transfer_handle_timeout_now (self, msg, now_ms);
        return 0;
    case ZR_MSG_SNAPSHOT:
        return zr_snapshot_handle (self, msg, now_ms);
    case ZR_MSG_SNAPSHOT_REPLY:
        return zr_snapshot_handle_reply (self, msg, now_ms);
    default:
        return ZR_EMALFORMED;
    }
}

int
zr_core_propose (zr_core_t *self, zr_blob_t *blob, const uint8_t *data,
                 uint32_t size, zr_index_t *index, zr_term_t *term)
{
    return zr_core_propose_type (self, ZR_ENTRY_COMMAND, blob, data, size,
                                 index, term);
}

int
zr_core_propose_type (zr_core_t *self, uint8_t type, zr_blob_t *blob,
                      const uint8_t *data, uint32_t size, zr_index_t *index,
                      zr_term_t *term)
{
    zr_assert (self && index && term);
    zr_assert (type == ZR_ENTRY_COMMAND || type == ZR_ENTRY_BUS);
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
                        .type = type, .size = size,
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
        zr_commit_maybe_advance (self);
}

void
zr_core_unreachable (zr_core_t *self, zr_id_t peer)
{
    zr_assert (self);
    if (self->role == ZR_ROLE_LEADER && zr_core_is_peer (self, peer))
        zr_progress_unreachable (&self->progress [peer]);
}

/* Moves the committed entries not yet handed out into ready. */
static void
s_ready_committed (zr_core_t *self, zr_ready_t *ready)
{
    if (self->installing)
        return;                         /* (13): the restore comes first */
    zr_index_t upto = self->commit;
    if (upto > self->applied + ZR_APPLY_BATCH_MAX)
        upto = self->applied + ZR_APPLY_BATCH_MAX;
    if (upto <= self->applied)
        return;
    uint32_t n = (uint32_t) (upto - self->applied);
    ready->committed = (zr_entry_t *) malloc (n * sizeof (zr_entry_t));
    zr_assert (ready->committed);
    for (uint32_t i = 0; i < n; i++) {
        zr_entry_copy (&ready->committed [i],
                       zr_log_get (&self->log, self->applied + 1 + i));
        self->applied_bytes += ready->committed [i].size;
    }
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
               && !ready->committed && !ready->chunks && !ready->reads
               && !ready->reads_failed);
    /* (14): reads recorded since the last Ready start one round, which
       reaches every follower now, on entries or in a heartbeat. */
    if (self->role == ZR_ROLE_LEADER) {
        bool round = zr_read_round_start (self);
        zr_replication_all (self, now_ms, false);
        if (round)
            zr_read_round_send (self, now_ms);
    }
    ready->hs_changed = self->hs_dirty;
    ready->term = self->term;
    ready->vote = self->vote;
    self->hs_dirty = false;
    ready->chunks = self->chunks;       /* before the entries (core.h) */
    ready->n_chunks = self->n_chunks;
    self->chunks = NULL;
    self->n_chunks = 0;
    self->chunks_capacity = 0;
    ready->compact = self->compacted;
    self->compacted = 0;
    s_ready_entries (self, ready);
    s_ready_committed (self, ready);
    zr_read_ready (self, ready);
    /* (1): after a hard-state change nothing leaves before it is durable.
       A leader's term and vote change only as it steps down, so a
       storage read named before that (15) is for a leadership that is
       over, and goes: only the sender can fill it, not the persister. */
    if (ready->hs_changed) {
        for (uint32_t i = 0; i < self->out.count; i++) {
            if (self->out.items [i]->read_last > 0)
                zr_message_destroy (&self->out.items [i]);
            else
                zr_core_push (self, &self->out_synced, self->out.items [i]);
        }
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
    for (uint32_t i = 0; ready->chunks && i < ready->n_chunks; i++)
        zr_blob_unref (&ready->chunks [i].blob);
    free (ready->chunks);
    free (ready->reads);
    free (ready->reads_failed);
    memset (ready, 0, sizeof *ready);
}

void
zr_core_snapshot_taken (zr_core_t *self, zr_index_t index, uint64_t size)
{
    zr_assert (self);
    if (index <= self->snap_index)
        return;                         /* older than the newest known */
    zr_assert (index <= self->applied);                               /* (12) */
    zr_assert (index >= self->log.offset && index <= zr_log_last_index (&self->log));
    self->snap_index = index;
    self->snap_term = zr_log_term (&self->log, index);
    self->snap_size = size;
    zr_index_t upto = index > self->config.snapshot_trailing
                    ? index - self->config.snapshot_trailing : 0;
    if (self->config.snapshot_trailing_bytes) {
        /* Keep (upto, index] only as far back as their payload fits. */
        uint64_t kept = 0;
        zr_index_t first = zr_log_first_index (&self->log);
        for (zr_index_t i = index; i > upto && i >= first; i--) {
            kept += zr_log_get (&self->log, i)->size;
            if (kept > self->config.snapshot_trailing_bytes) {
                upto = i;
                break;
            }
        }
    }
    if (upto >= self->unstable_from)
        upto = self->unstable_from - 1; /* storage must see them first */
    if (upto > self->log.offset) {
        zr_log_compact (&self->log, upto);
        self->compacted = upto;
    }
    self->applied_bytes = 0;            /* what was handed out after index */
    for (zr_index_t i = index + 1; i <= self->applied; i++)
        self->applied_bytes += zr_log_get (&self->log, i)->size;
    zr_core_trace (self, "snapshot taken index=%llu term=%llu size=%llu first=%llu",
                   (unsigned long long) index,
                   (unsigned long long) self->snap_term,
                   (unsigned long long) size,
                   (unsigned long long) zr_log_first_index (&self->log));
}

void
zr_core_installed (zr_core_t *self, zr_index_t index)
{
    zr_assert (self);
    zr_assert (self->installing);
    zr_assert (index == self->snap_index);
    self->installing = false;
}

zr_index_t
zr_core_applied (const zr_core_t *self)
{
    zr_assert (self);
    return self->applied;
}

zr_index_t
zr_core_snapshot_index (const zr_core_t *self)
{
    zr_assert (self);
    return self->snap_index;
}

zr_term_t
zr_core_snapshot_term (const zr_core_t *self)
{
    zr_assert (self);
    return self->snap_term;
}

bool
zr_core_installing (const zr_core_t *self)
{
    zr_assert (self);
    return self->installing;
}

uint64_t
zr_core_bytes_since_snapshot (const zr_core_t *self)
{
    zr_assert (self);
    return self->applied_bytes;
}

zr_index_t
zr_core_storage_first (const zr_core_t *self)
{
    zr_assert (self);
    return self->storage_first;
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
    if (self->role != ZR_ROLE_LEADER || !zr_core_is_peer (self, peer))
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
    zr_assert (self->log.offset <= self->snap_index);                 /* (12) */
    zr_assert (self->snap_index <= self->applied);
    zr_assert (self->unstable_from > self->log.offset);
    zr_assert (self->storage_first >= 1);                             /* (15) */
    zr_assert (self->storage_first <= self->log.offset + 1);
    zr_assert (self->role != ZR_ROLE_LEADER || self->leader == self->config.id);
    zr_assert (self->role != ZR_ROLE_CANDIDATE || self->vote == self->config.id);
    for (zr_index_t i = zr_log_first_index (&self->log) + 1; i <= last; i++)
        zr_assert (zr_log_term (&self->log, i - 1) <= zr_log_term (&self->log, i));
    if (self->role == ZR_ROLE_LEADER)
        for (uint32_t i = 0; i < self->config.n_servers; i++) {
            zr_id_t id = self->config.servers [i];
            const zr_progress_t *pr = &self->progress [id];
            zr_assert (pr->match < pr->next);
            zr_assert (pr->next <= last + 1);
            zr_assert (!pr->read_pending || pr->read_from == pr->next);
            zr_assert (self->round_acked [id] <= self->round);     /* (14) */
        }
    zr_read_check (self);
}
