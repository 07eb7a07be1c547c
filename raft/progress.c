/*  =========================================================================
    progress - what the leader knows of one follower's log (see progress.h)
    =========================================================================
*/
#include "raft.h"

static void
s_probe_from (zr_progress_t *self, zr_index_t next)
{
    zr_assert (next > self->match);                         /* (1) */
    self->state = ZR_PROGRESS_PROBE;
    self->next = next;
    self->snap_index = 0;
    self->probe_sent = false;
    self->read_pending = false;
    self->head = 0;
    self->count = 0;
    self->bytes = 0;
}

void
zr_progress_reset (zr_progress_t *self, zr_index_t last_index,
                   uint32_t inflight_max, uint64_t inflight_bytes_max)
{
    zr_assert (self);
    zr_assert (inflight_max >= 1 && inflight_max <= ZR_INFLIGHT_MAX);
    memset (self, 0, sizeof *self);
    self->inflight_max = inflight_max;
    self->inflight_bytes_max = inflight_bytes_max;
    s_probe_from (self, last_index + 1);
}

bool
zr_progress_can_send (const zr_progress_t *self)
{
    zr_assert (self);
    if (self->state == ZR_PROGRESS_SNAPSHOT)
        return false;                   /* chunks, not entries */
    if (self->read_pending)
        return false;                   /* next moves on its report (5) */
    if (self->state == ZR_PROGRESS_PROBE)
        return !self->probe_sent;
    zr_assert (self->count <= self->inflight_max);
    return self->count < self->inflight_max
        && self->bytes < self->inflight_bytes_max;
}

void
zr_progress_sent (zr_progress_t *self, zr_index_t last, uint64_t bytes,
                  uint64_t now_ms)
{
    zr_assert (self);
    zr_assert (last + 1 >= self->next);
    self->last_send_ms = now_ms;
    if (self->state == ZR_PROGRESS_PROBE) {
        self->probe_sent = true;
        self->probe_sent_ms = now_ms;
        return;
    }
    zr_assert (self->count < self->inflight_max);
    uint32_t slot = (self->head + self->count) % ZR_INFLIGHT_MAX;
    self->ring [slot] = (zr_inflight_t) {last, bytes, now_ms};
    self->count++;
    self->bytes += bytes;
    self->next = last + 1;
}

void
zr_progress_read_start (zr_progress_t *self, uint64_t now_ms)
{
    zr_assert (self);
    zr_assert (zr_progress_can_send (self));
    self->read_pending = true;
    self->read_from = self->next;
    self->read_sent_ms = now_ms;
    self->last_send_ms = now_ms;
    if (self->state == ZR_PROGRESS_PROBE) {
        self->probe_sent = true;        /* the probe; its timeout covers both */
        self->probe_sent_ms = now_ms;
    }
}

bool
zr_progress_read_done (zr_progress_t *self, zr_index_t from, zr_index_t last,
                       uint64_t bytes, uint64_t now_ms)
{
    zr_assert (self);
    zr_assert (last >= from);
    if (!self->read_pending || from != self->read_from)
        return false;                   /* abandoned: a late report */
    zr_assert (self->state != ZR_PROGRESS_SNAPSHOT);
    zr_assert (self->next == from);                         /* (5) */
    self->read_pending = false;
    if (self->state == ZR_PROGRESS_PROBE) {
        self->probe_sent = true;        /* it left just now */
        self->probe_sent_ms = now_ms;
        self->last_send_ms = now_ms;
        return true;
    }
    zr_progress_sent (self, last, bytes, now_ms);
    return true;
}

void
zr_progress_probe_again (zr_progress_t *self, uint64_t now_ms, uint64_t after_ms)
{
    zr_assert (self);
    zr_assert (self->state == ZR_PROGRESS_PROBE);
    self->probe_sent = false;
    if (self->read_pending && now_ms >= self->read_sent_ms + after_ms)
        self->read_pending = false;
}

bool
zr_progress_read_failed (zr_progress_t *self, zr_index_t from)
{
    zr_assert (self);
    if (!self->read_pending || from != self->read_from)
        return false;
    zr_assert (self->state != ZR_PROGRESS_SNAPSHOT);
    s_probe_from (self, self->match + 1);
    return true;
}

void
zr_progress_heartbeat_sent (zr_progress_t *self, uint64_t now_ms)
{
    zr_assert (self);
    self->last_send_ms = now_ms;
}

bool
zr_progress_acked (zr_progress_t *self, zr_index_t match_index)
{
    zr_assert (self);
    if (self->state == ZR_PROGRESS_SNAPSHOT)
        return false;                   /* a late reply to an older append */
    /* A probe answered at the known match still proves the link works:
       start replicating (etcd does the same). Otherwise an ack at or
       below match is late or duplicated: (2). */
    bool probe_answered = self->state == ZR_PROGRESS_PROBE
                       && match_index == self->match && self->probe_sent;
    if (match_index <= self->match && !probe_answered)
        return false;
    self->match = match_index;
    if (self->next <= match_index) {
        self->next = match_index + 1;
        self->read_pending = false;     /* (5): its report will be late */
    }
    if (self->state == ZR_PROGRESS_PROBE) {
        s_probe_from (self, match_index + 1);
        self->state = ZR_PROGRESS_REPLICATE;
        return true;
    }
    while (self->count > 0 && self->ring [self->head].last <= match_index) {
        self->bytes -= self->ring [self->head].bytes;
        self->head = (self->head + 1) % ZR_INFLIGHT_MAX;
        self->count--;
    }
    zr_assert (self->match < self->next);                   /* (1) */
    return true;
}

bool
zr_progress_rejected (zr_progress_t *self, zr_index_t rejected_prev,
                      zr_index_t hint_next)
{
    zr_assert (self);
    if (self->state == ZR_PROGRESS_SNAPSHOT)
        return false;                   /* a late reply to an older append */
    if (rejected_prev <= self->match)
        return false;                   /* stale: that prefix matched */
    if (self->state == ZR_PROGRESS_PROBE && rejected_prev + 1 != self->next)
        return false;                   /* answers an older probe */
    zr_index_t next = hint_next;
    if (next > rejected_prev)
        next = rejected_prev;           /* it did not match there */
    if (next <= self->match)
        next = self->match + 1;
    s_probe_from (self, next);
    return true;
}

bool
zr_progress_timeout (zr_progress_t *self, uint64_t now_ms, uint64_t retry_ms)
{
    zr_assert (self);
    if (self->state == ZR_PROGRESS_SNAPSHOT) {
        /* Chunks sent and unanswered for the wait are lost: resume, and
           wait longer next time (progress.h, SNAPSHOT). */
        zr_assert (self->snap_backoff <= ZR_PROGRESS_SNAP_BACKOFF_MAX);
        if (self->snap_sent > self->snap_acked
            && now_ms >= self->snap_acked_ms + (retry_ms << self->snap_backoff)) {
            self->snap_sent = self->snap_acked;
            self->snap_rewound = false;
            self->snap_acked_ms = now_ms;
            if (self->snap_backoff < ZR_PROGRESS_SNAP_BACKOFF_MAX)
                self->snap_backoff++;
            return true;
        }
        return false;
    }
    bool read_lost = self->read_pending
                  && now_ms >= self->read_sent_ms + retry_ms;
    if (self->state == ZR_PROGRESS_PROBE) {
        if (read_lost
            || (self->probe_sent && now_ms >= self->probe_sent_ms + retry_ms)) {
            self->probe_sent = false;
            self->read_pending = false;
            return true;
        }
        return false;
    }
    if (read_lost
        || (self->count > 0 && now_ms >= self->ring [self->head].sent_ms + retry_ms)) {
        s_probe_from (self, self->match + 1);
        return true;
    }
    return false;
}

void
zr_progress_unreachable (zr_progress_t *self)
{
    zr_assert (self);
    if (self->state == ZR_PROGRESS_SNAPSHOT) {
        self->snap_sent = self->snap_acked;
        return;
    }
    s_probe_from (self, self->match + 1);
}

void
zr_progress_snapshot_start (zr_progress_t *self, zr_index_t index,
                            zr_term_t term, uint64_t size, uint64_t now_ms)
{
    zr_assert (self);
    zr_assert (index > self->match);                        /* (4) */
    self->state = ZR_PROGRESS_SNAPSHOT;
    self->snap_index = index;
    self->snap_term = term;
    self->snap_size = size;
    self->snap_sent = 0;
    self->snap_acked = 0;
    self->snap_rewound = false;
    self->snap_backoff = 0;
    self->snap_acked_ms = now_ms;
    self->probe_sent = false;
    self->read_pending = false;
    self->head = 0;
    self->count = 0;
    self->bytes = 0;
}

uint64_t
zr_progress_snapshot_next (const zr_progress_t *self, uint64_t chunk_bytes,
                           uint64_t window_bytes)
{
    zr_assert (self && self->state == ZR_PROGRESS_SNAPSHOT);
    zr_assert (self->snap_acked <= self->snap_sent
               && self->snap_sent <= self->snap_size);      /* (4) */
    if (self->snap_sent - self->snap_acked >= window_bytes)
        return 0;
    uint64_t left = self->snap_size - self->snap_sent;
    return left < chunk_bytes ? left : chunk_bytes;
}

void
zr_progress_snapshot_sent (zr_progress_t *self, uint64_t size, uint64_t now_ms)
{
    zr_assert (self && self->state == ZR_PROGRESS_SNAPSHOT);
    zr_assert (self->snap_sent + size <= self->snap_size);
    if (self->snap_sent == self->snap_acked)
        self->snap_acked_ms = now_ms;   /* the retry clock starts now */
    self->snap_sent += size;
    self->last_send_ms = now_ms;
}

bool
zr_progress_snapshot_reply (zr_progress_t *self, zr_index_t index,
                            uint64_t offset, bool accepted, bool installed,
                            uint64_t now_ms)
{
    zr_assert (self);
    if (self->state != ZR_PROGRESS_SNAPSHOT || index != self->snap_index)
        return false;                   /* stale */
    if (installed) {
        self->match = index;            /* (2): index > match (4) */
        s_probe_from (self, index + 1);
        return true;
    }
    if (offset > self->snap_size)
        return false;                   /* claims bytes we never sent */
    bool progressed = offset > self->snap_acked;
    if (progressed) {
        self->snap_acked = offset;
        self->snap_acked_ms = now_ms;
        self->snap_rewound = false;
    }
    if (!accepted && self->snap_rewound && offset >= self->snap_acked)
        return false;                   /* one rewind per round trip */
    /* A chunk refused while the follower is stuck where it was means one
       was lost: resend from there. A refusal that comes with progress is
       a duplicate or a reordered chunk: rewinding for it would resend
       the whole window for every copy, a storm on a lossy link. */
    if (!accepted && offset < self->snap_acked) {
        self->snap_acked = offset;      /* it lost what it had: restarted */
        self->snap_acked_ms = now_ms;
    }
    if (!accepted && !progressed) {
        self->snap_sent = self->snap_acked;
        self->snap_rewound = true;
    }
    if (self->snap_sent < self->snap_acked)
        self->snap_sent = self->snap_acked;
    return true;
}
