/*  =========================================================================
    transfer - leadership transfer, thesis §3.10 (see transfer.h)
    =========================================================================
*/
#include "state.h"

/* Invariant (11): the target is up to date; tell it to campaign now. */
void
zr_transfer_maybe_send (zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    zr_id_t to = self->transfer_to;
    if (!to || self->progress [to].match != zr_log_last_index (&self->log))
        return;
    zr_assert (zr_core_is_peer (self, to));
    zr_core_push (self, &self->out, zr_core_message (self, ZR_MSG_TIMEOUT_NOW, to));
    zr_core_trace (self, "transfer term=%llu to=%u sent",
                   (unsigned long long) self->term, to);
}

void
zr_transfer_tick (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    if (self->transfer_to && now_ms >= self->transfer_deadline_ms) {
        zr_core_trace (self, "transfer term=%llu to=%u timed out",
                       (unsigned long long) self->term, self->transfer_to);
        self->transfer_to = 0;                                        /* (11) */
    }
}

/* Invariant (11): the current leader hands over; campaign now. */
void
zr_transfer_handle_timeout_now (zr_core_t *self, const zr_message_t *msg,
                                uint64_t now_ms)
{
    zr_assert (msg->type == ZR_MSG_TIMEOUT_NOW);
    if (msg->term == self->term && msg->from == self->leader
        && self->role == ZR_ROLE_FOLLOWER) {
        zr_core_trace (self, "transfer term=%llu from=%u received",
                       (unsigned long long) self->term, msg->from);
        zr_election_start (self, now_ms);
    }
}

/* Invariant (11), the target left to the leader: the follower most up
   to date (the highest match) among those heard from within the last
   election timeout (10), so neither a lagging nor a silent one; the
   lowest id among equals. Returns 0 if no follower qualifies. */
static zr_id_t
s_transfer_pick (const zr_core_t *self, uint64_t now_ms)
{
    zr_id_t best = 0;
    zr_index_t best_match = 0;
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (id == self->config.id
            || now_ms >= self->heard_ms [id] + self->config.election_timeout_ms)
            continue;
        zr_index_t match = self->progress [id].match;
        if (!best || match > best_match || (match == best_match && id < best)) {
            best = id;
            best_match = match;
        }
    }
    zr_assert (!best || zr_core_is_peer (self, best));
    return best;
}

int
zr_core_transfer (zr_core_t *self, zr_id_t peer, uint64_t now_ms)
{
    zr_assert (self);
    if (self->role != ZR_ROLE_LEADER)
        return ZR_ENOTLEADER;
    if (peer == 0 && !self->transfer_to)
        peer = s_transfer_pick (self, now_ms);
    else
    if (peer == 0)
        return ZR_EBUSY;
    if (!zr_core_is_peer (self, peer))
        return ZR_EINVAL;
    if (self->transfer_to)
        return ZR_EBUSY;
    self->transfer_to = peer;
    self->transfer_deadline_ms = now_ms + self->config.election_timeout_ms;
    zr_core_trace (self, "transfer term=%llu to=%u started",
                   (unsigned long long) self->term, peer);
    zr_transfer_maybe_send (self);
    return 0;
}

zr_id_t
zr_core_transferring (const zr_core_t *self)
{
    zr_assert (self);
    return self->transfer_to;
}
