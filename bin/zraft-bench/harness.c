/*  =========================================================================
    harness - the in-process cluster: every server a thread of this process

    Starts the servers as threads of this process, waits until exactly
    one leader is agreed by all, loads it for warm-up + duration
    seconds (following the leader if it changes, failing on a stall),
    samples memory and disk, then reports and verifies that every
    server applied through the last proposed index. The drills borrow
    its start, leader search and event draining.
    =========================================================================
*/
#include "bench.h"
#include "harness.h"

zb_harness_t *
zb_harness_new (const zb_opts_t *opts)
{
    zb_harness_t *self = (zb_harness_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    self->load = zb_load_new (&self->opts);
    self->samples = zb_samples_new (&self->opts, false);
    if (!self->load || !self->samples) {
        zb_load_destroy (&self->load);
        zb_samples_destroy (&self->samples);
        free (self);
        return NULL;
    }
    zb_progress_init (&self->progress);
    return self;
}

/* Stops every node, then removes the data unless --keep. */
void
zb_harness_destroy (zb_harness_t **self_p)
{
    assert (self_p);
    zb_harness_t *self = *self_p;
    if (!self)
        return;
    zb_progress_clear (&self->progress);
    zpoller_destroy (&self->poller);
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++)
        zraft_destroy (&self->nodes [i]);
    zb_dirs_remove (&self->dirs, &self->opts);
    zb_load_destroy (&self->load);
    zb_samples_destroy (&self->samples);
    free (self);
    *self_p = NULL;
}

/* Starts the cluster and the poller over its events sockets. */
int
zb_harness_start (zb_harness_t *self)
{
    if (zb_dirs_make (&self->dirs, &self->opts)
        || zb_ports_pick (self->ports, self->opts.nodes))
        return -1;
    for (uint32_t id = 1; id <= self->opts.nodes; id++) {
        self->nodes [id - 1] = zb_server_start (&self->opts, id, self->ports,
                                             self->dirs.data [id - 1]);
        if (!self->nodes [id - 1])
            return -1;
    }
    for (uint32_t id = 1; id <= self->opts.nodes; id++)
        if (zb_server_faults (&self->opts, self->nodes [id - 1], id))
            return -1;
    self->poller = zpoller_new (zraft_events (self->nodes [0]), NULL);
    assert (self->poller);
    for (uint32_t i = 1; i < self->opts.nodes; i++)
        zpoller_add (self->poller, zraft_events (self->nodes [i]));
    return 0;
}

int
zb_harness_drain (zb_harness_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (self->nodes [i] && zb_load_drain (self->load, self->nodes [i]))
            return -1;
    return 0;
}

/* Returns the agreed leader id and sets *term, or 0 if there is none:
   exactly one node must be leader, and all must agree on it and term. */
static uint32_t
s_harness_leader_agreed (zb_harness_t *self, uint64_t *term)
{
    zraft_status_t status [ZRAFT_NODES_MAX];
    uint32_t leaders = 0, leader = 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        if (zraft_status (self->nodes [i], &status [i]) != 0)
            return 0;
        if (status [i].role == ZRAFT_LEADER) {
            leaders++;
            leader = i + 1;
        }
    }
    if (leaders != 1)
        return 0;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (status [i].leader != leader
            || status [i].term != status [leader - 1].term)
            return 0;
    *term = status [leader - 1].term;
    return leader;
}

void
zb_harness_dump (zb_harness_t *self)
{
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        zb_server_dump (self->nodes [i], i + 1);
}

/* Waits (20 election timeouts at most) for an agreed leader, draining
   events meanwhile, and points the load at it. Returns 0, or -1 after a
   message. */
int
zb_harness_leader_find (zb_harness_t *self)
{
    int64_t deadline = zclock_mono () + 20 * (int64_t) self->opts.election_ms;
    uint64_t term = 0;
    uint32_t leader = 0;
    while (!zb_interrupted) {
        if (zb_harness_drain (self))
            break;
        leader = s_harness_leader_agreed (self, &term);
        if (leader || zclock_mono () >= deadline)
            break;
        zpoller_wait (self->poller, ZB_POLL_MS);
    }
    if (!leader && zb_interrupted)
        return -1;
    if (!leader) {
        zb_progress_clear (&self->progress);
        fprintf (stderr, "zraft-bench: no agreed leader within %u ms\n",
                 20 * self->opts.election_ms);
        zb_harness_dump (self);
        return -1;
    }
    self->leader = leader;
    zb_load_set_leader (self->load, self->nodes [leader - 1], term);
    return 0;
}

/* Checks progress: after an election timeout without completions the
   leader may have stepped down; after 20 the cluster is stalled. */
int
zb_harness_watch (zb_harness_t *self, int64_t now)
{
    int64_t quiet_us = now - self->load->progress_us;
    int64_t election_us = 1000 * (int64_t) self->opts.election_ms;
    if (self->load->pending == 0 || quiet_us < election_us)
        return 0;
    zraft_status_t status;
    if (zraft_status (self->nodes [self->leader - 1], &status) != 0)
        return -1;
    if (status.role != ZRAFT_LEADER || status.term != self->load->term)
        return zb_harness_leader_find (self);
    if (quiet_us < 20 * election_us)
        return 0;
    zb_progress_clear (&self->progress);
    fprintf (stderr, "zraft-bench: stalled: %" PRIu64 " pending on leader"
             " n%u, nothing applied for %" PRId64 " ms\n",
             self->load->pending, self->leader, quiet_us / 1000);
    zb_harness_dump (self);
    return -1;
}

/* Snapshots every node's counters and the process's CPU into slot 0
   (before) or 1 (after). */
static int
s_harness_counters (zb_harness_t *self, int slot)
{
    zraft_status_t *status = slot ? self->after : self->before;
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        if (zraft_status (self->nodes [i], &status [i]) != 0)
            return -1;
    self->cpu_us [slot] = zb_cpu_us ();
    return 0;
}

/* Starts the measured window if warm-up is over. Returns 0 or -1. */
static int
s_harness_window (zb_harness_t *self, int64_t now, int64_t measure_at)
{
    if (self->load->measuring || now < measure_at)
        return 0;
    if (s_harness_counters (self, 0))
        return -1;
    self->load->measuring = true;
    self->measure_us = zb_now_us ();
    self->end_us = self->measure_us
                   + 1000000 * (int64_t) self->opts.duration_s;
    self->load->stop_us = self->end_us;
    return 0;
}

/* Samples every node when due: the process's RSS (the nodes are its
   threads), its data dir's disk use and its commit index. This thread
   also runs the load, which waits the few ms the walk of a dir takes.
   Returns 0, or -1 if a node is gone or above --rss-max or --disk-max. */
static int
s_harness_sample (zb_harness_t *self, int64_t now)
{
    if (!zb_samples_due (self->samples, now))
        return 0;
    if (self->samples->print)
        zb_progress_clear (&self->progress);
    uint64_t rss = zb_rss_bytes (0);
    for (uint32_t i = 0; i < self->opts.nodes; i++) {
        zraft_status_t status;
        if (zraft_status (self->nodes [i], &status) != 0)
            return -1;
        zb_samples_add (self->samples, now, i + 1, rss,
                       zb_disk_usage (self->dirs.data [i]), status.commit);
    }
    zb_samples_tick (self->samples, now);
    return self->samples->over ? -1 : 0;
}

/* Runs the load for warm-up + duration. Returns 0 or -1. */
static int
s_harness_run (zb_harness_t *self)
{
    zb_load_t *load = self->load;
    load->t0_us = zb_now_us ();
    int64_t measure_at = load->t0_us
                         + 1000000 * (int64_t) self->opts.warmup_s;
    zb_samples_start (self->samples, load->t0_us,
                     self->opts.warmup_s + self->opts.duration_s);
    self->end_us = INT64_MAX;           /* set once measuring begins */
    while (!zb_interrupted) {
        int64_t now = zb_now_us ();
        if (s_harness_window (self, now, measure_at)
            || s_harness_sample (self, now))
            return -1;
        if (now >= self->end_us)
            break;
        int rc = zb_load_fill (load, now);
        if (rc == 1)
            rc = zb_harness_leader_find (self);
        if (rc || zb_harness_watch (self, now))
            return -1;
        zb_progress_tick (&self->progress, now, load->done, self->measure_us,
                         self->opts.duration_s);
        zpoller_wait (self->poller, zb_load_wait_ms (load, zb_now_us ()));
        if (zb_harness_drain (self))
            return -1;
    }
    load->measuring = false;
    self->end_us = zb_now_us ();
    zb_progress_clear (&self->progress);
    if (zb_interrupted)
        return -1;
    return s_harness_counters (self, 1);
}

/* Waits up to ZB_VERIFY_MS for every node to commit and apply through
   the last proposed index. Returns 0, or -1 after a message. */
static int
s_harness_verify (zb_harness_t *self)
{
    int64_t deadline = zclock_mono () + ZB_VERIFY_MS;
    uint64_t last = self->load->last_index;
    while (!zb_interrupted) {
        if (zb_harness_drain (self))
            break;
        uint32_t through = 0;
        for (uint32_t i = 0; i < self->opts.nodes; i++) {
            zraft_status_t s;
            if (zraft_status (self->nodes [i], &s) == 0 && s.commit >= last
                && s.applied >= last)
                through++;
        }
        if (through == self->opts.nodes)
            return 0;
        if (zclock_mono () >= deadline)
            break;
        zpoller_wait (self->poller, ZB_POLL_MS);
    }
    if (zb_interrupted)
        return -1;
    fprintf (stderr, "zraft-bench: verify failed: not all %u nodes applied"
             " through index %" PRIu64 " within %d ms\n", self->opts.nodes,
             last, ZB_VERIFY_MS);
    zb_harness_dump (self);
    return -1;
}

static void
s_harness_result (zb_harness_t *self, zb_result_t *r)
{
    memset (r, 0, sizeof *r);
    zb_load_t *load = self->load;
    r->counters = true;
    r->seconds = (double) (self->end_us - self->measure_us) / 1e6;
    r->committed = load->committed;
    r->lost = load->lost;
    r->leader_changes = load->term_changes;
    r->leader = self->leader;
    r->term = load->term;
    r->cap_hits = load->cap_hits;
    r->outstanding_peak = load->outstanding_peak;
    r->last_index = load->last_index;
    r->hist = load->hist;
    r->samples = self->samples;
    int64_t cpu = self->cpu_us [1] - self->cpu_us [0], rss = zb_rss_kib ();
    for (uint32_t i = 0; i < self->opts.nodes; i++)
        zb_node_fig_set (&r->nodes [i], &self->before [i], &self->after [i],
                        cpu, rss);
}

/* Measures, reports and verifies in one process. Returns the exit code. */
int
zb_harness_main (zb_harness_t *self)
{
    int rc = zb_harness_start (self);
    zb_signals_block (false);           /* from here on, to us alone */
    if (rc || zb_harness_leader_find (self) || s_harness_run (self)) {
        if (self->samples->over && !zb_interrupted)
            zb_print_stopped (&self->opts, self->samples);
        return zb_interrupted ? ZB_EX_INTERRUPTED : 1;
    }
    zb_result_t result;
    s_harness_result (self, &result);
    bool verified = s_harness_verify (self) == 0;
    result.verified = verified;
    zb_print (&self->opts, &result);
    if (verified && !self->opts.json)
        printf ("\nverified: all %u nodes applied through index %" PRIu64
                "\n", self->opts.nodes, result.last_index);
    fflush (stdout);
    if (zb_interrupted)
        return ZB_EX_INTERRUPTED;
    return verified ? 0 : 1;
}

