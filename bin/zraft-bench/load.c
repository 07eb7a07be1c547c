/*  =========================================================================
    load - the load generator and completion tracker (see load.h)
    =========================================================================
*/
#include "bench.h"
#include "load.h"

#define S_DRAIN_MAX 65536               /* events taken per socket per pass */

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
    free (self->tokens);
    free (self);
    *self_p = NULL;
}

uint64_t
zb_load_outstanding_max (const zb_opts_t *opts)
{
    uint64_t seconds = (uint64_t) opts->warmup_s + opts->duration_s + 1;
    uint64_t max = opts->rate ? opts->rate * seconds + 64 : opts->inflight;
    return max > ZB_OUTSTANDING_MAX ? ZB_OUTSTANDING_MAX : max;
}

/* Returns a load for opts (borrowed), or NULL if out of memory. */
zb_load_t *
zb_load_new (const zb_opts_t *opts)
{
    zb_load_t *self = (zb_load_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = opts;
    self->outstanding_max = zb_load_outstanding_max (opts);
    uint64_t size = 1;
    while (size < 2 * self->outstanding_max + 64)
        size <<= 1;
    self->ring_mask = size - 1;
    self->batch_max = ZRAFT_SUBMIT_BYTES_MAX / opts->entry_size;
    if (self->batch_max > ZRAFT_SUBMIT_MANY_MAX)
        self->batch_max = ZRAFT_SUBMIT_MANY_MAX;
    if (opts->propose_batch && self->batch_max > opts->propose_batch)
        self->batch_max = opts->propose_batch;
    self->ring = (zb_pending_t *) calloc (size, sizeof (zb_pending_t));
    self->payload = (byte *) malloc (opts->entry_size);
    self->datas = (const void **) calloc (self->batch_max, sizeof (void *));
    self->sizes = (size_t *) calloc (self->batch_max, sizeof (size_t));
    self->tokens = (uint64_t *) calloc (self->batch_max, sizeof (uint64_t));
    self->hist = zr_histogram_new ();
    self->stop_us = INT64_MAX;
    if (!self->ring || !self->payload || !self->datas || !self->sizes
        || !self->tokens || !self->hist) {
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

/* Points the load at leader (NULL stops submitting) in term; a new
   leader or term counts as a leader change, and only the submissions
   made to it count as pending. */
void
zb_load_set_leader (zb_load_t *self, zraft_t *leader, uint64_t term)
{
    if (leader && (leader != self->leader || term != self->term)) {
        if (self->term && term != self->term)
            self->term_changes++;
        self->term = term;
        self->epoch++;
        self->pending = 0;              /* the others' answers come later */
    }
    self->leader = leader;
    self->refused = false;
    self->progress_us = zb_now_us ();
}

/* Takes the slot of a submission made now under a fresh token, whose
   latency runs from sent_us. Returns the token. */
static uint64_t
s_load_track (zb_load_t *self, int64_t sent_us)
{
    uint64_t token = ++self->next_token;
    zb_pending_t *slot = &self->ring [token & self->ring_mask];
    if (slot->token) {                  /* an old leader's, never answered */
        self->lost++;
        if (slot->epoch == self->epoch)
            self->pending--;
    }
    *slot = (zb_pending_t) {token, self->epoch, sent_us};
    self->pending++;
    assert (self->pending <= self->outstanding_max);
    if (self->pending > self->outstanding_peak)
        self->outstanding_peak = self->pending;
    return token;
}

/* Counts a committed submission: applied at index in term, sent at
   sent_us. */
static void
s_load_committed (zb_load_t *self, const zraft_event_t *event, int64_t sent_us,
                  int64_t now)
{
    self->done++;
    if (event->index > self->last_index)
        self->last_index = event->index;
    if (event->term > self->term) {     /* re-elected itself in a new term */
        self->term_changes++;
        self->term = event->term;
    }
    if (self->measuring) {
        self->committed++;
        int64_t latency = now - sent_us;
        zr_histogram_record (self->hist, latency < 0 ? 0 : (uint64_t) latency);
    }
    self->progress_us = now;
}

/* Completes the submission a RESULT answers (a token whose slot was
   taken over by a newer one is only counted lost then). */
static void
s_load_complete (zb_load_t *self, const zraft_event_t *event, int64_t now)
{
    zb_pending_t *slot = &self->ring [event->token & self->ring_mask];
    if (slot->token != event->token)
        return;
    if (event->status == 0)
        s_load_committed (self, event, slot->sent_us, now);
    else
    if (event->status == ZRAFT_ENOTLEADER) {
        if (slot->epoch == self->epoch)
            self->refused = true;       /* zb_load_fill says so */
    }
    else
    if (event->status == ZRAFT_EBUSY)
        self->busy++;                   /* its slot is filled again */
    else
        self->lost++;                   /* ELOST, EUNKNOWN, ESHUTDOWN, EIO */
    if (slot->epoch == self->epoch) {
        assert (self->pending > 0);
        self->pending--;
    }
    slot->token = 0;
}

/* Takes every event waiting on node's events socket (a node's events
   must be drained whether it is loaded or not: its results make room
   for more). Returns 0, or -1 if the node is gone. */
int
zb_load_drain (zb_load_t *self, zraft_t *node)
{
    zraft_event_t event;
    int rc = 0;
    for (int taken = 0; taken < S_DRAIN_MAX
                        && (rc = zraft_recv (node, &event, 0)) == 0; taken++) {
        if (event.type == ZRAFT_EVENT_RESULT)
            s_load_complete (self, &event, zb_now_us ());
        zraft_event_release (&event);
    }
    return rc == 0 || rc == ZRAFT_EAGAIN ? 0 : -1;
}

/* Submits n payloads in one call; submission i's latency runs from
   sent_us, or in the open loop from submission next_k + i's intended
   time. Returns 0 (also if the handle has no room: ZRAFT_EAGAIN, the
   results of an earlier leadership still to come), or -1 after a
   message. */
static int
s_load_submit (zb_load_t *self, size_t n, int64_t sent_us)
{
    assert (self->leader && n >= 1 && n <= self->batch_max);
    uint64_t rate = self->opts->rate;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = self->next_k + i;
        int64_t at = rate ? self->t0_us
                            + (int64_t) ((k * 1000000 + rate - 1) / rate)
                          : sent_us;
        self->tokens [i] = s_load_track (self, at);
    }
    int rc = zraft_submit_many (self->leader, self->tokens, self->datas,
                                self->sizes, n);
    if (rc != 0) {                      /* nothing was queued: free the slots */
        for (size_t i = 0; i < n; i++)
            self->ring [self->tokens [i] & self->ring_mask].token = 0;
        self->pending -= n;
    }
    if (rc == ZRAFT_EAGAIN)
        return 0;
    if (rc != 0 && !zb_interrupted)
        fprintf (stderr, "zraft-bench: submit of %zu entries: %s\n", n,
                 zraft_strerror (rc));
    if (rc != 0)
        return -1;
    if (rate)
        self->next_k += n;
    return 0;
}

/* Returns how many open-loop submissions are due at now and not sent:
   submission k is due at t0 + ceil (k * 1e6 / rate) us, before stop_us. */
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

/* Submits what the loop calls for now: every free slot (closed loop),
   or every due submission the cap allows (open loop), in as few calls
   as --propose-batch allows. Returns as s_load_submit; 1 if the leader
   refused (not the leader); 0 if nothing was to be sent. */
int
zb_load_fill (zb_load_t *self, int64_t now)
{
    assert (self->leader);
    if (self->refused)
        return 1;
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
        uint64_t before = self->pending;
        int rc = s_load_submit (self, n, zb_now_us ());
        if (rc != 0 || self->pending == before)
            return rc;                  /* an error, or no room in the handle */
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

