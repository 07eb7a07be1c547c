/*  =========================================================================
    load - the load generator and completion tracker

    Keeps W proposals pending (closed loop, --inflight) or sends proposal
    k at t0 + k / R (open loop, --rate, latency from the intended time),
    on one leader at a time, and completes them from the applied runs of
    any server: committed if the applied term matches, lost if another
    leader overwrote the index. Latencies of the measured window go into
    a histogram; memory is allocated once, sized by the flags.
    =========================================================================
*/
#include "bench.h"
#include "load.h"

#define S_DRAIN_MAX 1024                /* runs taken per socket per pass */

void
zb_load_destroy (zb_load_t **self_p)
{
    assert (self_p);
    zb_load_t *self = *self_p;
    if (!self)
        return;
    zr_histogram_destroy (&self->hist);
    free (self->ring);
    free (self->payload);
    free (self->datas);
    free (self->sizes);
    free (self);
    *self_p = NULL;
}

/* Returns a load for opts (borrowed), or NULL if out of memory. */
zb_load_t *
zb_load_new (const zb_opts_t *opts)
{
    zb_load_t *self = (zb_load_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = opts;
    uint64_t seconds = (uint64_t) opts->warmup_s + opts->duration_s + 1;
    self->outstanding_max = opts->rate ? opts->rate * seconds + 64
                                       : opts->inflight;
    if (self->outstanding_max > ZB_OUTSTANDING_MAX)
        self->outstanding_max = ZB_OUTSTANDING_MAX;
    uint64_t size = 1;
    while (size < 2 * self->outstanding_max + 64)
        size <<= 1;
    self->ring_mask = size - 1;
    self->batch_max = ZRAFT_PROPOSE_BYTES_MAX / opts->entry_size;
    if (self->batch_max > ZRAFT_PROPOSE_MAX)
        self->batch_max = ZRAFT_PROPOSE_MAX;
    if (opts->propose_batch && self->batch_max > opts->propose_batch)
        self->batch_max = opts->propose_batch;
    self->ring = (zb_pending_t *) calloc (size, sizeof (zb_pending_t));
    self->payload = (byte *) malloc (opts->entry_size);
    self->datas = (const void **) calloc (self->batch_max, sizeof (void *));
    self->sizes = (size_t *) calloc (self->batch_max, sizeof (size_t));
    self->hist = zr_histogram_new ();
    self->stop_us = INT64_MAX;
    if (!self->ring || !self->payload || !self->datas || !self->sizes
        || !self->hist) {
        zb_load_destroy (&self);
        return NULL;
    }
    uint64_t x = opts->seed ? opts->seed : 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < opts->entry_size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        self->payload [i] = (byte) x;
    }
    for (size_t i = 0; i < self->batch_max; i++) {
        self->datas [i] = self->payload;
        self->sizes [i] = opts->entry_size;
    }
    return self;
}

/* Counts the pending proposals of the current term. */
static void
s_load_recount (zb_load_t *self)
{
    self->pending = 0;
    for (uint64_t i = 0; i <= self->ring_mask; i++)
        if (self->ring [i].index && self->ring [i].term == self->term)
            self->pending++;
    assert (self->pending <= self->outstanding_max);
}

/* Points the load at leader (NULL stops proposing) in term; a new term
   counts as a leader change, and only its proposals count as pending. */
void
zb_load_set_leader (zb_load_t *self, zraft_t *leader, uint64_t term)
{
    if (leader && term != self->term) {
        if (self->term)
            self->term_changes++;
        self->term = term;
        s_load_recount (self);
    }
    self->leader = leader;
    self->progress_us = zb_now_us ();
}

/* Records a proposal the leader accepted at (index, term), whose latency
   runs from sent_us. Returns 0, or -1 after a message. */
static int
s_load_track (zb_load_t *self, uint64_t index, uint64_t term, int64_t sent_us)
{
    if (index <= self->applied_seen) {
        fprintf (stderr, "zraft-bench: propose returned index %" PRIu64
                 " already applied (through %" PRIu64 ")\n", index,
                 self->applied_seen);
        return -1;
    }
    if (term != self->term) {           /* re-elected itself in a new term */
        self->term_changes++;
        self->term = term;
        s_load_recount (self);
    }
    zb_pending_t *slot = &self->ring [index & self->ring_mask];
    if (slot->index) {                  /* an old term's entry, overwritten */
        self->lost++;
        if (slot->term == self->term)
            self->pending--;
    }
    *slot = (zb_pending_t) {index, term, sent_us};
    self->pending++;
    assert (self->pending <= self->outstanding_max);
    if (self->pending > self->outstanding_peak)
        self->outstanding_peak = self->pending;
    self->last_index = index;           /* the newest term's, so it stays */
    return 0;
}

/* Completes the pending proposals that run covers, past what any node
   reported before (every node applies the same sequence). */
static void
s_load_complete (zb_load_t *self, const zraft_applied_t *run, int64_t now)
{
    assert (run->last >= run->first);
    uint64_t from = run->first > self->applied_seen ? run->first
                                                    : self->applied_seen + 1;
    for (uint64_t index = from; index <= run->last; index++) {
        zb_pending_t *slot = &self->ring [index & self->ring_mask];
        if (slot->index != index)
            continue;                   /* a no-op or not ours */
        bool ok = run->terms [index - run->first] == slot->term;
        if (!ok)
            self->lost++;
        else
            self->done++;
        if (ok && self->measuring) {
            self->committed++;
            int64_t latency = now - slot->sent_us;
            zr_histogram_record (self->hist,
                                 latency < 0 ? 0 : (uint64_t) latency);
        }
        if (slot->term == self->term) {
            assert (self->pending > 0);
            self->pending--;
        }
        slot->index = 0;
        self->progress_us = now;
    }
    if (run->last > self->applied_seen)
        self->applied_seen = run->last;
}

/* Takes every applied run waiting on node's events socket (a node's
   events must be drained whether it is loaded or not). Returns 0, or -1
   if the node is gone. */
int
zb_load_drain (zb_load_t *self, zraft_t *node)
{
    zsock_t *events = zraft_events (node);
    for (int taken = 0; taken < S_DRAIN_MAX
                        && (zsock_events (events) & ZMQ_POLLIN); taken++) {
        zraft_applied_t run;
        if (zraft_applied_recv (node, &run) != 0)
            return -1;
        s_load_complete (self, &run, zb_now_us ());
        zraft_applied_release (&run);
    }
    return 0;
}

/* Proposes n payloads in one call; proposal i's latency runs from
   sent_us, or in the open loop from proposal next_k + i's intended time.
   Returns 0, 1 if the node is not the leader (nothing proposed), or -1
   after a message. */
static int
s_load_propose (zb_load_t *self, size_t n, int64_t sent_us)
{
    assert (self->leader && n >= 1 && n <= self->batch_max);
    uint64_t first = 0, term = 0;
    int rc = zraft_propose_many (self->leader, self->datas, self->sizes, n,
                                 &first, &term, NULL);
    if (rc == ZRAFT_ENOTLEADER)
        return 1;
    if (rc != 0 && !zb_interrupted)
        fprintf (stderr, "zraft-bench: propose of %zu entries: %s\n", n,
                 zraft_strerror (rc));
    if (rc != 0)
        return -1;
    uint64_t rate = self->opts->rate;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = self->next_k + i;
        int64_t at = rate ? self->t0_us
                            + (int64_t) ((k * 1000000 + rate - 1) / rate)
                          : sent_us;
        if (s_load_track (self, first + i, term, at))
            return -1;
    }
    if (rate)
        self->next_k += n;
    return 0;
}

/* Returns how many open-loop proposals are due at now and not sent:
   proposal k is due at t0 + ceil (k * 1e6 / rate) us, before stop_us. */
static uint64_t
s_load_due (const zb_load_t *self, int64_t now)
{
    assert (self->opts->rate);
    int64_t until = now < self->stop_us ? now : self->stop_us - 1;
    if (until < self->t0_us)
        return 0;
    uint64_t end = (uint64_t) (until - self->t0_us) * self->opts->rate
                   / 1000000 + 1;
    return end > self->next_k ? end - self->next_k : 0;
}

/* Proposes what the loop calls for now: every free slot (closed loop),
   or every due proposal the cap allows (open loop), in as few calls as
   --propose-batch allows.
   Returns as s_load_propose; 0 if nothing was to be sent. */
int
zb_load_fill (zb_load_t *self, int64_t now)
{
    assert (self->leader);
    uint64_t room = self->outstanding_max > self->pending
                    ? self->outstanding_max - self->pending : 0;
    uint64_t want = room;
    if (self->opts->rate) {
        want = s_load_due (self, now);
        if (want && !room && !self->capped)
            self->cap_hits++;
        self->capped = want && !room;
        want = want < room ? want : room;
    }
    /* In calls of at most batch_max (--propose-batch), all sent now. */
    while (want > 0) {
        size_t n = want < self->batch_max ? (size_t) want : self->batch_max;
        int rc = s_load_propose (self, n, zb_now_us ());
        if (rc != 0)
            return rc;
        want -= n;
    }
    return 0;
}

/* Returns how long the loop may wait for completions, ms: the open loop
   wakes for its next due proposal (1 ms granularity: a late send is
   still timed from its intended time). */
int
zb_load_wait_ms (const zb_load_t *self, int64_t now)
{
    if (!self->leader || !self->opts->rate)
        return ZB_LOOP_MS;
    if (s_load_due (self, now) && !self->capped)
        return 0;
    uint64_t rate = self->opts->rate, k = self->next_k;
    int64_t due = self->t0_us + (int64_t) ((k * 1000000 + rate - 1) / rate);
    int64_t ms = (due - now + 999) / 1000;
    return ms < 1 ? 1 : ms > ZB_LOOP_MS ? ZB_LOOP_MS : (int) ms;
}

