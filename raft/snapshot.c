/*  =========================================================================
    snapshot - log compaction and InstallSnapshot (see snapshot.h)

    Invariants (12) and (13) of core.h are cited by number.
    =========================================================================
*/
#include "state.h"

/* ------------------------------------------------------------ leader */

bool
zr_snapshot_needed (zr_core_t *self, zr_id_t peer, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    zr_progress_t *pr = &self->progress [peer];
    /* A transfer under way finishes even if a newer snapshot was taken
       meanwhile: restarting it for every new snapshot would never end on
       a slow link. The sender keeps the older snapshot's file until
       then (zr_core_snapshot_lost restarts the transfer if it cannot). */
    if (pr->state == ZR_PROGRESS_SNAPSHOT)
        return true;
    /* The entry before next must be known to build an AppendEntries,
       in memory or in storage (15). */
    if (pr->next > self->log.offset || zr_replication_from_storage (self, pr->next))
        return false;
    zr_assert (self->snap_index >= self->log.offset && self->snap_index > 0);
    zr_progress_snapshot_start (pr, self->snap_index, self->snap_term,
                                self->snap_size, now_ms);
    zr_core_trace (self, "snapshot term=%llu to=%u index=%llu size=%llu",
                   (unsigned long long) self->term, peer,
                   (unsigned long long) self->snap_index,
                   (unsigned long long) self->snap_size);
    return true;
}

static void
s_send_chunk (zr_core_t *self, zr_id_t peer, uint64_t n, uint64_t now_ms)
{
    zr_progress_t *pr = &self->progress [peer];
    zr_assert (n <= self->config.snapshot_chunk_bytes);
    zr_message_t *msg = zr_core_message (self, ZR_MSG_SNAPSHOT, peer);
    msg->last_index = pr->snap_index;
    msg->last_term = pr->snap_term;
    msg->snap_offset = pr->snap_sent;
    msg->snap_size = pr->snap_size;
    msg->chunk_size = (uint32_t) n;     /* bytes read by the sender (core.h) */
    msg->commit = self->commit;
    zr_progress_snapshot_sent (pr, n, now_ms);
    zr_core_push (self, &self->out, msg);
}

void
zr_snapshot_send (zr_core_t *self, zr_id_t peer, uint64_t now_ms, bool due)
{
    zr_progress_t *pr = &self->progress [peer];
    zr_assert (pr->state == ZR_PROGRESS_SNAPSHOT);
    zr_assert (pr->snap_index <= self->snap_index);
    bool sent = false;
    uint64_t n;
    while ((n = zr_progress_snapshot_next (pr, self->config.snapshot_chunk_bytes,
                                           self->config.snapshot_window_bytes)) > 0) {
        s_send_chunk (self, peer, n, now_ms);
        sent = true;
    }
    if (!sent && due)
        s_send_chunk (self, peer, 0, now_ms);
}

int
zr_snapshot_handle_reply (zr_core_t *self, const zr_message_t *msg,
                          uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_SNAPSHOT_REPLY);
    if (self->role != ZR_ROLE_LEADER || msg->term != self->term)
        return 0;                       /* stale */
    self->heard_ms [msg->from] = now_ms;                              /* (10) */
    zr_progress_t *pr = &self->progress [msg->from];
    if (msg->installed && msg->last_index > zr_log_last_index (&self->log))
        return ZR_EMALFORMED;           /* claims a snapshot we never had */
    bool changed = zr_progress_snapshot_reply (pr, msg->last_index,
                                               msg->snap_offset, msg->success,
                                               msg->installed, now_ms);
    if (changed && msg->installed) {
        zr_core_trace (self, "snapshot term=%llu to=%u index=%llu installed",
                       (unsigned long long) self->term, msg->from,
                       (unsigned long long) msg->last_index);
        zr_commit_maybe_advance (self);
        if (msg->from == self->transfer_to)
            zr_transfer_maybe_send (self);
    }
    return 0;
}

void
zr_core_snapshot_lost (zr_core_t *self, zr_id_t peer, uint64_t now_ms)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER || !zr_core_is_peer (self, peer))
        return;
    zr_progress_t *pr = &self->progress [peer];
    if (pr->state != ZR_PROGRESS_SNAPSHOT)
        return;
    zr_assert (self->snap_index > 0);
    zr_progress_snapshot_start (pr, self->snap_index, self->snap_term,
                                self->snap_size, now_ms);
}

/* ------------------------------------------------------------ follower */

/* Queues a received chunk for the next Ready (taking a blob reference). */
static void
s_chunk_push (zr_core_t *self, const zr_message_t *msg, bool last, bool reset)
{
    if (self->n_chunks == self->chunks_capacity) {
        uint32_t capacity = self->chunks_capacity ? self->chunks_capacity * 2 : 8;
        zr_chunk_t *grown = (zr_chunk_t *) realloc (
            self->chunks, capacity * sizeof (zr_chunk_t));
        zr_assert (grown);              /* actors treat OOM as fatal */
        self->chunks = grown;
        self->chunks_capacity = capacity;
    }
    zr_chunk_t *chunk = &self->chunks [self->n_chunks++];
    *chunk = (zr_chunk_t) {.index = msg->last_index, .term = msg->last_term,
                           .size = msg->snap_size, .offset = msg->snap_offset,
                           .n = msg->chunk_size, .last = last, .reset = reset};
    if (msg->chunk_size > 0) {
        zr_assert (msg->chunk && msg->chunk_blob);
        chunk->data = msg->chunk;
        chunk->blob = zr_blob_ref (msg->chunk_blob);
    }
}

/* Invariant (13): the last chunk arrived; install the snapshot. Returns
   true if storage must restart its log after the snapshot: the log was
   emptied, or entries up to the snapshot never reached storage. */
static bool
s_install (zr_core_t *self, const zr_message_t *msg)
{
    zr_index_t index = msg->last_index;
#ifndef ZR_PLANT_BUG_INSTALL_OLD
    zr_assert (index > self->commit);
    zr_assert (index > self->log.offset);
#endif
    bool keep = index <= zr_log_last_index (&self->log)
             && zr_log_term (&self->log, index) == msg->last_term;
    bool reset = !keep || self->unstable_from <= index;
    if (reset)
        self->storage_first = index + 1;        /* storage restarts (15) */
    if (keep)
        zr_log_compact (&self->log, index);
    else
        zr_log_reset (&self->log, index, msg->last_term);
    if (reset) {
        /* Storage restarts its log after index; what follows in ours (if
           anything) goes to it afresh. */
        self->persisted = index;
        self->unstable_from = index + 1;
    }
    zr_assert (self->unstable_from > index);
    self->commit = index;
    self->applied = index;
    self->snap_index = index;
    self->snap_term = msg->last_term;
    self->snap_size = msg->snap_size;
    self->applied_bytes = 0;            /* applied == index */
    self->installing = true;
    self->rx_index = 0;
    zr_core_trace (self, "snapshot term=%llu index=%llu installed keep=%d",
                   (unsigned long long) self->term,
                   (unsigned long long) index, keep);
    return reset;
}

/* Takes the chunk if it is the next one of the snapshot being received
   (starting a new one at offset 0), and tells the reply so. Another
   chunk is not taken, and the reply says where to resume: a chunk past
   that offset is refused (one was lost: the leader resends from there);
   one before it is a copy of bytes already held (a resend that crossed
   the original) and is acknowledged, for a refusal of a mere copy would
   make the leader resend its window once more, and on a slow follower
   every resend adds copies to its backlog until nothing else gets
   through. */
static void
s_receive (zr_core_t *self, const zr_message_t *msg, zr_message_t *reply)
{
    /* One transfer is one leader's file: another leader's snapshot of
       the same index may hold other bytes (a serialisation need not be
       deterministic), so a new leader term starts over too. */
    bool same = self->rx_index == msg->last_index && self->rx_term == msg->last_term
             && self->rx_size == msg->snap_size && self->rx_from_term == msg->term;
    if (!same) {                        /* a new snapshot starts at 0 */
        self->rx_index = msg->last_index;
        self->rx_term = msg->last_term;
        self->rx_size = msg->snap_size;
        self->rx_from_term = msg->term;
        self->rx_offset = 0;
    }
    if (msg->snap_offset != self->rx_offset) {
        reply->success = msg->snap_offset < self->rx_offset;
        reply->snap_offset = self->rx_offset;
        return;
    }
    self->rx_offset += msg->chunk_size;
    bool last = self->rx_offset == self->rx_size;
    bool reset = last ? s_install (self, msg) : false;
    s_chunk_push (self, msg, last, reset);
    reply->success = true;
    reply->installed = last;
    reply->snap_offset = msg->snap_offset + msg->chunk_size;
}

int
zr_snapshot_handle (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_SNAPSHOT);
    if (msg->snap_offset > msg->snap_size
        || msg->chunk_size > msg->snap_size - msg->snap_offset
        || msg->last_index == 0 || (msg->chunk_size > 0 && !msg->chunk))
        return ZR_EMALFORMED;           /* the codec checks these too */
    zr_message_t *reply = zr_core_message (self, ZR_MSG_SNAPSHOT_REPLY, msg->from);
    reply->last_index = msg->last_index;
    int heard = zr_core_heard_leader (self, msg, &reply, now_ms);
    if (heard <= 0)
        return heard;
#ifdef ZR_PLANT_BUG_INSTALL_OLD
    /* Planted bug for the simulation's self-test: (13) ignored, a stale
       snapshot is installed over newer state. */
    if (msg->last_index <= self->commit && !self->installing
        && msg->last_index >= self->log.offset && msg->snap_offset == 0
        && msg->chunk_size == msg->snap_size) {
        s_receive (self, msg, reply);
        zr_core_push (self, &self->out_synced, reply);
        return 0;
    }
#endif
    if (msg->last_index <= self->commit || self->installing) {
        /* (13): stale or a duplicate; we hold all of it already. */
        reply->installed = msg->last_index <= self->commit;
        reply->success = reply->installed;
        reply->snap_offset = reply->installed ? msg->snap_size : 0;
    }
    else
        s_receive (self, msg, reply);
    zr_core_push (self, &self->out_synced, reply);                    /* (7) */
    return 0;
}
