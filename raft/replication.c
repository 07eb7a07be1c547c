/*  =========================================================================
    replication - AppendEntries and its conflict hints (see replication.h)
    =========================================================================
*/
#include "state.h"

/* ------------------------------------------------------------ leader */

/* Builds an AppendEntries to peer with prev = next - 1 and entries from
   next up to the batch budget (at least one entry if any is left). */
static zr_message_t *
s_append_message (zr_core_t *self, zr_id_t peer, zr_index_t next,
                  uint64_t *bytes_p)
{
    zr_index_t last = zr_log_last_index (&self->log);
    zr_assert (next >= 1 && next <= last + 1);
    zr_message_t *msg = zr_core_message (self, ZR_MSG_APPEND, peer);
    msg->prev_index = next - 1;
    msg->prev_term = zr_log_term (&self->log, next - 1);
    msg->commit = self->commit;
    msg->round = self->round;                                         /* (14) */
    self->round_sent [peer] = self->round;
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

/* ------------------------------------------------------------ storage */

/* Returns true and sets *term if the core knows the term of entry index,
   which is at or below the window's edge: only index 0 and the edge
   itself (the snapshot's last entry is at or after the edge, (12)). */
static bool
s_term_known (const zr_core_t *self, zr_index_t index, zr_term_t *term)
{
    zr_assert (index <= self->log.offset);
    zr_assert (self->snap_index >= self->log.offset);                 /* (12) */
    *term = zr_log_term (&self->log, index);
    return index == 0 || index == self->log.offset;
}

bool
zr_replication_from_storage (const zr_core_t *self, zr_index_t next)
{
    zr_assert (next >= 1);
    zr_assert (self->storage_first <= self->log.offset + 1);         /* (15) */
    if (!self->config.storage_catchup || next > self->log.offset
        || next < self->storage_first)
        return false;
    /* The AppendEntries checks the entry before next: storage reads it
       too if the core does not know its term. */
    zr_term_t term;
    return next - 1 >= self->storage_first || s_term_known (self, next - 1, &term);
}

/* Asks the sender for an AppendEntries to peer whose entries, from next
   on, storage holds and memory does not (15). next is durable, so is
   every entry read (to <= persisted): committed, they never change. */
static void
s_storage_request (zr_core_t *self, zr_id_t peer, uint64_t now_ms)
{
    zr_progress_t *pr = &self->progress [peer];
    zr_index_t next = pr->next;
    zr_assert (zr_replication_from_storage (self, next));
    zr_assert (next <= self->persisted && next <= self->commit);
    zr_message_t *msg = zr_core_message (self, ZR_MSG_APPEND, peer);
    msg->prev_index = next - 1;
    if (!s_term_known (self, next - 1, &msg->prev_term))
        msg->prev_term = 0;             /* the sender reads it */
    msg->commit = self->commit;
    msg->round = self->round;                                         /* (14) */
    self->round_sent [peer] = self->round;
    zr_index_t to = self->log.offset < self->persisted ? self->log.offset
                                                       : self->persisted;
    if (to - next >= ZR_BATCH_ENTRIES_MAX)
        to = next + ZR_BATCH_ENTRIES_MAX - 1;
    msg->read_last = to;
    msg->read_bytes = self->config.batch_bytes;
    zr_progress_read_start (pr, now_ms);
    zr_core_push (self, &self->out, msg);
}

void
zr_core_storage_sent (zr_core_t *self, zr_id_t peer, zr_term_t term,
                      zr_index_t from, zr_index_t last, uint64_t bytes,
                      uint64_t now_ms)
{
    zr_assert (self);
    zr_assert (from >= 1 && last >= from);
    if (self->role != ZR_ROLE_LEADER || term != self->term
        || !zr_core_is_peer (self, peer))
        return;                         /* from an earlier leadership */
    zr_assert (last <= zr_log_last_index (&self->log));
    zr_progress_read_done (&self->progress [peer], from, last, bytes, now_ms);
}

void
zr_core_storage_lost (zr_core_t *self, zr_id_t peer, zr_term_t term,
                      zr_index_t from, zr_index_t index, uint64_t now_ms)
{
    zr_assert (self);
    zr_assert (index >= 1 && (index == from || index + 1 == from));
    /* The read asked for entries at or below the window's edge then, and
       the edge never moves back. */
    zr_assert (index <= self->log.offset);
    if (index + 1 > self->storage_first)
        self->storage_first = index + 1;                              /* (15) */
    zr_core_trace (self, "storage lost term=%llu to=%u index=%llu first=%llu",
                   (unsigned long long) term, peer, (unsigned long long) index,
                   (unsigned long long) self->storage_first);
    if (self->role != ZR_ROLE_LEADER || term != self->term
        || !zr_core_is_peer (self, peer))
        return;
    zr_progress_read_failed (&self->progress [peer], from);
    (void) now_ms;                      /* the snapshot starts at the next Ready */
}

/* Sends what the window allows to one follower, and a heartbeat if the
   link has been idle for heartbeat_ms (or force). In PROBE the heartbeat
   is the probe itself; in REPLICATE it checks prev = match, which the
   follower is known to hold, so it never causes a spurious rejection.
   Entries below the window come from storage, one read at a time (15);
   entries not yet durable there wait. */
static void
s_replicate (zr_core_t *self, zr_id_t peer, uint64_t now_ms, bool force)
{
    zr_progress_t *pr = &self->progress [peer];
    zr_index_t last = zr_log_last_index (&self->log);
    bool due = force || now_ms >= pr->last_send_ms + self->config.heartbeat_ms;
    bool sent = false;
    if (zr_snapshot_needed (self, peer, now_ms)) {
        zr_snapshot_send (self, peer, now_ms, due);
        return;
    }
    if (pr->state == ZR_PROGRESS_PROBE && due)       /* resend the probe */
        zr_progress_probe_again (pr, now_ms, self->config.heartbeat_ms);
    while (zr_progress_can_send (pr)
           && (pr->next <= last || pr->state == ZR_PROGRESS_PROBE)) {
        if (pr->next <= self->log.offset) {
            if (pr->next <= self->persisted) {
                s_storage_request (self, peer, now_ms);
                sent = true;
            }
            break;                      /* one read at a time */
        }
        uint64_t bytes = 0;
        zr_message_t *msg = s_append_message (self, peer, pr->next, &bytes);
        zr_progress_sent (pr, msg->prev_index + msg->n_entries, bytes, now_ms);
        zr_core_push (self, &self->out, msg);
        sent = true;
    }
    if (!sent && due)
        zr_replication_heartbeat (self, peer, now_ms);
}

void
zr_replication_heartbeat (zr_core_t *self, zr_id_t peer, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER && zr_core_is_peer (self, peer));
    zr_progress_t *pr = &self->progress [peer];
    zr_assert (pr->state != ZR_PROGRESS_SNAPSHOT);
    zr_message_t *msg = zr_core_message (self, ZR_MSG_APPEND, peer);
    msg->prev_index = pr->state == ZR_PROGRESS_REPLICATE ? pr->match : pr->next - 1;
    if (msg->prev_index < self->log.offset)
        msg->prev_index = self->log.offset;         /* the oldest we know */
    msg->prev_term = zr_log_term (&self->log, msg->prev_index);
    msg->commit = self->commit;
    msg->round = self->round;                                         /* (14) */
    self->round_sent [peer] = self->round;
    zr_progress_heartbeat_sent (pr, now_ms);
    zr_core_push (self, &self->out, msg);
}

void
zr_replication_all (zr_core_t *self, uint64_t now_ms, bool force)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id != self->config.id)
            s_replicate (self, id, now_ms, force);
    }
}

void
zr_replication_tick (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    uint64_t retry_ms = self->config.election_timeout_ms / 2;
    zr_assert (retry_ms > 0);
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id == self->config.id)
            continue;
        zr_progress_timeout (&self->progress [id], now_ms, retry_ms);
        s_replicate (self, id, now_ms, false);
    }
}

int
zr_replication_handle_append_reply (zr_core_t *self, const zr_message_t *msg,
                                    uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_APPEND_REPLY);
    if (self->role != ZR_ROLE_LEADER || msg->term != self->term)
        return 0;                       /* stale */
    zr_progress_t *pr = &self->progress [msg->from];
    if (msg->match_index > zr_log_last_index (&self->log))
        return ZR_EMALFORMED;           /* claims entries we never sent */
    if (zr_read_acked (self, msg->from, msg->round) != 0)
        return ZR_EMALFORMED;           /* a round we never sent (14) */
    self->heard_ms [msg->from] = now_ms;                              /* (10) */
    if (msg->success) {
        if (zr_progress_acked (pr, msg->match_index)) {
            zr_commit_maybe_advance (self);
            if (msg->from == self->transfer_to)
                zr_transfer_maybe_send (self);
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

/* ------------------------------------------------------------ follower */

static zr_message_t *
s_append_reply (zr_core_t *self, const zr_message_t *msg)
{
    zr_message_t *reply = zr_core_message (self, ZR_MSG_APPEND_REPLY, msg->from);
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
        if (entry->index <= self->log.offset)
            continue;                   /* in our snapshot: committed (12) */
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

/* Below the window's start every entry is committed and matches any
   leader's (Leader Completeness, §5.4): the entry at the window's edge
   (offset), if the message carries or names it, must have its term. */
static bool
s_prev_matches (const zr_core_t *self, const zr_message_t *msg)
{
    zr_index_t offset = self->log.offset;
    if (offset == 0 || msg->prev_index > offset)
        return true;                    /* checked against the log itself */
    if (msg->prev_index == offset)
        return msg->prev_term == self->log.offset_term;
    if (msg->prev_index + msg->n_entries < offset)
        return true;
    const zr_entry_t *edge = &msg->entries [offset - msg->prev_index - 1];
    zr_assert (edge->index == offset);
    return edge->term == self->log.offset_term;
}

int
zr_replication_handle_append (zr_core_t *self, const zr_message_t *msg,
                              uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_APPEND);
    zr_message_t *reply = s_append_reply (self, msg);
    int heard = zr_core_heard_leader (self, msg, &reply, now_ms);
    if (heard <= 0)
        return heard;
    reply->round = msg->round;          /* an APPEND of our term (14) */
    zr_index_t last = zr_log_last_index (&self->log);
    if (msg->prev_index > last) {
        reply->conflict_term = 0;       /* hint: our log is too short */
    }
    else
    if (!s_prev_matches (self, msg)) {
        zr_message_destroy (&reply);
        return ZR_EMALFORMED;           /* goes against a committed entry */
    }
    else
    if (msg->prev_index > self->log.offset
        && zr_log_term (&self->log, msg->prev_index) != msg->prev_term) {
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
        zr_commit_follow (self, msg->commit, verified);               /* (5) */
        reply->success = true;
        reply->match_index = verified;
    }
    reply->last_index = zr_log_last_index (&self->log);
    zr_core_push (self, &self->out_synced, reply);                    /* (7) */
    return 0;
}
