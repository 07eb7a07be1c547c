/*  =========================================================================
    read - linearizable reads by ReadIndex, thesis §6.4 (see read.h)
    =========================================================================
*/
#include "state.h"

#define S_READS_INITIAL 64              /* first allocation, grows by doubling */
#define S_WIDEN_DIVISOR 10              /* a narrow round reaches every follower
                                           after heartbeat_ms / this */

/* Invariant (14): once the leader holds a committed entry of its own
   term, its commit index covers every entry committed before, in any
   term: an earlier leader's committed entries are in its log (Leader
   Completeness, §5.4) and come before its no-op (8). */
static bool
s_term_committed (const zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    return self->commit > 0
        && zr_log_term (&self->log, self->commit) == self->term;
}

/* Returns the highest round a majority has acknowledged, the leader
   counting its own current round. */
static uint64_t
s_round_confirmed (const zr_core_t *self)
{
    uint64_t rounds [ZR_NODES_MAX];
    uint32_t n = self->config.n_servers;
    zr_assert (n >= 1 && n <= ZR_NODES_MAX);
    for (uint32_t i = 0; i < n; i++) {
        zr_id_t id = self->config.servers [i];
        rounds [i] = id == self->config.id ? self->round : self->round_acked [id];
    }
    /* Sort descending (n <= 9): the quorum-th value is on a majority. */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && rounds [j] > rounds [j - 1]; j--) {
            uint64_t t = rounds [j];
            rounds [j] = rounds [j - 1];
            rounds [j - 1] = t;
        }
    return rounds [zr_core_quorum (self) - 1];
}

/* Returns true if some read still waits for its index. Such reads come
   first among those not failed (they arrived before the leader had
   committed in its term). */
static bool
s_index_awaited (const zr_core_t *self)
{
    for (uint32_t i = 0; i < self->n_reads; i++)
        if (!self->reads [i].failed)
            return self->reads [i].index == 0;
    return false;
}

int
zr_core_read_index (zr_core_t *self, uint64_t ctx, uint64_t now_ms)
{
    zr_assert (self);
    (void) now_ms;
    if (self->role != ZR_ROLE_LEADER)
        return ZR_ENOTLEADER;
    if (self->n_reads >= ZR_READS_MAX)
        return ZR_EBUSY;
    if (self->n_reads == self->reads_capacity) {
        uint32_t capacity = self->reads_capacity ? 2 * self->reads_capacity
                                                 : S_READS_INITIAL;
        zr_assert (capacity <= ZR_READS_MAX);
        zr_read_wait_t *grown = (zr_read_wait_t *) realloc (
            self->reads, capacity * sizeof (zr_read_wait_t));
        if (!grown)
            return ZR_ENOMEM;
        self->reads = grown;
        self->reads_capacity = capacity;
    }
    /* A read behind reads still waiting for their index waits with them,
       so indexes never decrease in arrival order. */
    zr_index_t index = s_term_committed (self) && !s_index_awaited (self)
                     ? self->commit : 0;
    self->reads [self->n_reads++] = (zr_read_wait_t) {
        .ctx = ctx, .index = index, .round = self->round + 1};
    self->round_due = true;
    return 0;
}

void
zr_read_lead (zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    zr_assert (!self->round_due);
    for (uint32_t i = 0; i < self->n_reads; i++)
        zr_assert (self->reads [i].failed);
    memset (self->round_acked, 0, sizeof self->round_acked);
    self->round_widen_ms = 0;
}

void
zr_read_step_down (zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    uint32_t failed = 0;
    for (uint32_t i = 0; i < self->n_reads; i++)
        if (!self->reads [i].failed) {
            self->reads [i].failed = true;
            failed++;
        }
    self->round_due = false;
    self->round_widen_ms = 0;
    if (failed)
        zr_core_trace (self, "reads failed term=%llu count=%u",
                       (unsigned long long) self->term, failed);
}

int
zr_read_acked (zr_core_t *self, zr_id_t from, uint64_t round)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    zr_assert (zr_core_is_peer (self, from));
    if (round > self->round)
        return ZR_EMALFORMED;           /* a round this leader never sent */
    if (round > self->round_acked [from])
        self->round_acked [from] = round;
    return 0;
}

bool
zr_read_round_start (zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    if (!self->round_due)
        return false;
    self->round++;
    self->round_due = false;
    return true;
}

/* True if follower id may be sent a round: not receiving a snapshot
   (its replies carry no round). */
static bool
s_round_reaches (const zr_core_t *self, zr_id_t id)
{
    return id != self->config.id
        && self->progress [id].state != ZR_PROGRESS_SNAPSHOT;
}

/* Picks the followers a new round goes to first (read.h): the quorum - 1
   that echoed the highest rounds, if each of them has echoed one in this
   term. Sets chosen [id] for them and returns true; returns false (every
   follower, chosen untouched) when there are not that many. */
static bool
s_round_narrow (const zr_core_t *self, bool *chosen)
{
    uint32_t need = zr_core_quorum (self) - 1;
    for (uint32_t k = 0; k < need; k++) {
        zr_id_t best = 0;
        for (uint32_t i = 0; i < self->config.n_servers; i++) {
            zr_id_t id = self->config.servers [i];
            if (s_round_reaches (self, id) && !chosen [id]
                && self->round_acked [id] > 0
                && (!best || self->round_acked [id] > self->round_acked [best]))
                best = id;
        }
        if (!best)
            return false;
        chosen [best] = true;
    }
    return true;
}

/* Sends the current round, in a heartbeat, to every follower it may
   reach that has not had it (of those chosen, if chosen is not NULL). */
static void
s_round_heartbeats (zr_core_t *self, const bool *chosen, uint64_t now_ms)
{
    for (uint32_t i = 0; i < self->config.n_servers; i++) {
        zr_id_t id = self->config.servers [i];
        if (!s_round_reaches (self, id) || (chosen && !chosen [id]))
            continue;
        zr_assert (self->round_sent [id] <= self->round);
        if (self->round_sent [id] < self->round)
            zr_replication_heartbeat (self, id, now_ms);
    }
}

/* How long a narrow round waits before it goes to every follower. */
static uint64_t
s_widen_after (const zr_core_t *self)
{
    uint64_t after = self->config.heartbeat_ms / S_WIDEN_DIVISOR;
    return after > 0 ? after : 1;
}

void
zr_read_round_send (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    bool chosen [ZR_NODES_MAX + 1] = {false};
    bool narrow = s_round_narrow (self, chosen);
    s_round_heartbeats (self, narrow ? chosen : NULL, now_ms);
    if (!narrow) {
        self->round_widen_ms = 0;       /* every follower has this round */
        return;
    }
    /* A widening already due stays due: it sends the current round then,
       which covers this one's reads too, so a stream of narrow rounds to
       a dead follower cannot keep pushing it back. */
    for (uint32_t i = 0; i < self->config.n_servers && !self->round_widen_ms; i++) {
        zr_id_t id = self->config.servers [i];
        if (s_round_reaches (self, id) && self->round_sent [id] < self->round)
            self->round_widen_ms = now_ms + s_widen_after (self);
    }
}

/* Returns true if a read not failed waits for a round a majority has
   not echoed yet. Failed reads come first and rounds never decrease in
   arrival order (zr_read_check), so the last read tells. */
static bool
s_round_awaited (const zr_core_t *self)
{
    const zr_read_wait_t *last = self->n_reads ? &self->reads [self->n_reads - 1]
                                               : NULL;
    return last && !last->failed && last->round > s_round_confirmed (self);
}

void
zr_read_tick (zr_core_t *self, uint64_t now_ms)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    if (self->round_widen_ms == 0 || now_ms < self->round_widen_ms)
        return;
    self->round_widen_ms = 0;
    if (s_round_awaited (self))
        s_round_heartbeats (self, NULL, now_ms);
}

/* Leader: gives the reads awaiting an index the commit index, if it now
   covers its term, and returns how many reads from `from` on are
   confirmed (a prefix: rounds and indexes never decrease). */
static uint32_t
s_confirmed (zr_core_t *self, uint32_t from)
{
    if (s_term_committed (self))
        for (uint32_t i = from; i < self->n_reads; i++)
            if (self->reads [i].index == 0)
                self->reads [i].index = self->commit;
    uint64_t round = s_round_confirmed (self);
    uint32_t end = from;
    while (end < self->n_reads && self->reads [end].index > 0
#ifndef ZR_PLANT_BUG_READ_NO_CONFIRM
           /* Planted bug for the simulation's self-test: (14) not confirmed. */
           && self->reads [end].round <= round
#endif
           )
        end++;
    (void) round;
    return end - from;
}

void
zr_read_ready (zr_core_t *self, zr_ready_t *ready)
{
    zr_assert (!ready->reads && !ready->reads_failed);
    uint32_t failed = 0;
    while (failed < self->n_reads && self->reads [failed].failed)
        failed++;
    uint32_t confirmed = 0;
    if (self->role == ZR_ROLE_LEADER)
        confirmed = s_confirmed (self, failed);
    zr_assert (self->role == ZR_ROLE_LEADER || failed == self->n_reads);
    if (failed) {
        ready->reads_failed = (uint64_t *) malloc (failed * sizeof (uint64_t));
        zr_assert (ready->reads_failed);
        for (uint32_t i = 0; i < failed; i++)
            ready->reads_failed [i] = self->reads [i].ctx;
        ready->n_reads_failed = failed;
    }
    if (confirmed) {
        ready->reads = (zr_read_t *) malloc (confirmed * sizeof (zr_read_t));
        zr_assert (ready->reads);
        for (uint32_t i = 0; i < confirmed; i++) {
            const zr_read_wait_t *read = &self->reads [failed + i];
            ready->reads [i] = (zr_read_t) {.ctx = read->ctx, .index = read->index};
        }
        ready->n_reads = confirmed;
    }
    uint32_t gone = failed + confirmed;
    if (gone == 0)
        return;
    memmove (self->reads, self->reads + gone,
             (self->n_reads - gone) * sizeof (zr_read_wait_t));
    self->n_reads -= gone;
    if (self->n_reads == 0 && self->reads_capacity > S_READS_INITIAL)
        zr_read_clear (self);           /* a burst is over: give memory back */
}

void
zr_read_clear (zr_core_t *self)
{
    free (self->reads);
    self->reads = NULL;
    self->n_reads = 0;
    self->reads_capacity = 0;
}

void
zr_read_check (const zr_core_t *self)
{
    zr_assert (self->n_reads <= self->reads_capacity);
    zr_assert (self->n_reads <= ZR_READS_MAX);
    zr_assert (!self->round_due || self->role == ZR_ROLE_LEADER);
    zr_assert (self->round_widen_ms == 0 || self->role == ZR_ROLE_LEADER);
    bool waiting = false;               /* a read not failed was seen */
    zr_index_t index = 0;
    uint64_t round = 0;
    for (uint32_t i = 0; i < self->n_reads; i++) {
        const zr_read_wait_t *read = &self->reads [i];
        if (read->failed) {
            zr_assert (!waiting);       /* failed ones come first */
            continue;
        }
        waiting = true;
        zr_assert (self->role == ZR_ROLE_LEADER);
        zr_assert (read->round >= round && read->index >= index);
        zr_assert (read->round <= self->round + (self->round_due ? 1 : 0));
        zr_assert (read->round > 0 && read->index <= self->commit);
        round = read->round;
        index = read->index;
    }
}
