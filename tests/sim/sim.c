/*  =========================================================================
    sim - deterministic simulation of N raft/ cores (see sim.h)

    Event ordering tie-break: events are popped by time, then by the order
    in which they were scheduled (a global sequence number), so the run is
    a pure function of the seed.
    =========================================================================
*/
#include "sim.h"

#define SIM_NODES_MAX 7
#define SIM_TICK_MS 5                   /* each node's core ticks this often */
#define SIM_HEARTBEAT_MS 20
#define SIM_ELECTION_MS 150
#define SIM_LOG_MAX 65536               /* indexes tracked by the checkers */
#define SIM_REGISTRY (1u << 17)         /* (index, term) slots, power of 2 */
#define SIM_TERMS_MAX 65536             /* terms tracked for Election Safety */
#define SIM_EVENTS_MAX (1u << 22)       /* a run that needs more is a bug */
#define SIM_READS_MAX (1u << 20)        /* reads issued in one run */
/* The Figure 8 profile (s_figure8_round): one seed in SIM_FIG8_ONE_IN
   runs it, on 3 nodes unless the config says otherwise. */
#define SIM_FIG8_ONE_IN 4
#define SIM_FIG8_HEARTBEAT_MS 10        /* faster terms: more leaders per run */
#define SIM_FIG8_ELECTION_MS 50
#define SIM_FIG8_DELAY_MS 10            /* network delay, 1..this */
#define SIM_FIG8_PAUSE_MS 10            /* a leader's usual life, 1..this */

typedef enum {
    EV_DELIVER, EV_TICK, EV_PERSISTED, EV_CRASH, EV_RESTART, EV_FAULTS,
    EV_PROPOSE, EV_HEAL, EV_TRANSFER, EV_FIGURE8, EV_READ, EV_FILL
} ev_type_t;

/* What became of a read a client issued (ReadIndex, core.h 14). */
typedef enum {
    READ_PENDING,                       /* recorded by a leader's core */
    READ_CONFIRMED,                     /* a Ready handed it out: waits to apply */
    READ_SERVED,                        /* answered from the state machine */
    READ_FAILED,                        /* the leader stepped down first */
    READ_LOST                           /* its server crashed */
} read_state_t;

typedef struct {
    zr_index_t required;                /* highest index any server knew
                                           committed when the read was issued */
    uint64_t issued_at;                 /* global time of the request */
    uint32_t node;                      /* the server it was sent to */
    uint32_t incarnation;               /* of that server */
    uint8_t state;                      /* read_state_t */
} read_rec_t;

typedef struct {
    uint64_t at;                        /* simulated global time, ms */
    uint64_t seq;                       /* tie-break: scheduling order */
    uint8_t type;                       /* ev_type_t */
    uint32_t node;                      /* target node */
    uint32_t incarnation;               /* EV_PERSISTED: of the node */
    zr_message_t *msg;                  /* EV_DELIVER, EV_FILL: owned */
} event_t;

typedef struct preq {
    zr_ready_t ready;                   /* hs, entries and msgs_synced kept */
    struct preq *next;                  /* FIFO */
} preq_t;

typedef struct snap_old {
    zr_index_t index;                   /* a snapshot replaced by a newer one */
    uint8_t *bytes;                     /* kept while transfers may read it */
    uint64_t size;
    struct snap_old *next;
} snap_old_t;

typedef struct {
    zr_core_t *core;                    /* NULL while crashed */
    uint32_t incarnation;               /* restarts so far */
    int64_t drift_ppm;                  /* clock rate error */
    zr_term_t d_term;                   /* durable: term */
    zr_id_t d_vote;                     /* durable: vote */
    zr_log_t d_log;                     /* durable: log */
    preq_t *q_head, *q_tail;            /* writes not yet synced */
    preq_t *q_sync;                     /* last write the running sync covers */
    bool disk_busy;                     /* a sync is scheduled */
    uint64_t applied;                   /* last index applied, this incarnation */
    uint64_t sm_hash;                   /* state machine: hash chain to applied */
    zr_index_t snap_index;              /* durable snapshot, 0 if none */
    zr_term_t snap_term;
    uint8_t *snap;                      /* its bytes (owned) */
    uint64_t snap_size;
    struct snap_old *old;               /* older snapshots, newest first (owned) */
    uint8_t *rx;                        /* snapshot being received (owned) */
    uint64_t rx_size;                   /* bytes written to rx */
    uint64_t commit_seen;               /* commits already recorded */
    bool live;                          /* applied a post-heal value */
    zr_read_t *serve;                   /* confirmed reads waiting for apply,
                                           in order (owned) */
    uint32_t n_serve;                   /* reads queued */
    uint32_t serve_cap;                 /* reads allocated */
} node_t;

typedef struct {
    uint64_t key_index;                 /* 0 = empty slot */
    zr_term_t key_term;
    uint64_t hash;                      /* identity of the entry */
    zr_term_t prev_term;                /* term of the entry before it */
} reg_slot_t;

typedef struct {
    sim_config_t config;
    sim_result_t *result;
    zr_rng_t rng;                       /* THE generator */
    uint64_t now;                       /* global simulated time */
    uint64_t seq;                       /* events scheduled so far */
    event_t *heap;                      /* min-heap on (at, seq) */
    uint32_t heap_len, heap_cap;
    node_t nodes [SIM_NODES_MAX + 1];   /* by id */
    uint32_t n;
    bool cut [SIM_NODES_MAX + 1][SIM_NODES_MAX + 1];  /* a -> b dropped */
    bool faults_on;                     /* fault phase running */
    uint32_t drop_pct, dup_pct, delay_max_ms, crash_every_ms, part_every_ms;
    uint32_t disk_max_ms;               /* sync latency, 1..disk_max_ms */
    bool pre_vote;                      /* cores run pre-vote (9) */
    bool check_quorum;                  /* cores run check-quorum (10) */
    uint32_t transfer_every_ms;         /* leadership transfers, 0 = none */
    bool figure8;                       /* the Figure 8 profile runs */
    uint32_t heartbeat_ms;              /* cores' timing */
    uint32_t election_ms;
    uint64_t batch_bytes;               /* cores' AppendEntries budget */
    uint32_t inflight_max;              /* cores' window per follower */
    uint32_t snap_every;                /* entries between snapshots, 0 = off */
    uint32_t snap_pad;                  /* filler bytes in a snapshot */
    uint32_t chunk_bytes;               /* InstallSnapshot chunk size */
    uint64_t trailing;                  /* entries kept behind a snapshot */
    bool storage_catchup;               /* followers behind memory are sent
                                           entries from storage (core.h 15) */
    uint32_t segment;                   /* storage compacts by whole segments
                                           of this many indexes (the WAL's) */
    uint64_t *chain;                    /* hash chain of applied entries by index */
    zr_id_t leader_of_term [SIM_TERMS_MAX];
    reg_slot_t *registry;               /* Log Matching */
    uint64_t *c_hash;                   /* committed entry by index */
    zr_term_t *c_term;
    uint64_t *a_hash;                   /* applied entry by index */
    uint64_t next_value;                /* workload values, increasing */
    uint64_t heal_value;                /* first value proposed after healing */
    uint64_t heal_at;                   /* when faults stopped */
    zr_index_t heal_index;              /* an index applied with a post-heal value */
    bool done;                          /* liveness reached or a failure */
    zr_index_t commit_max;              /* highest index any server knew
                                           committed: what a client may have
                                           been acknowledged */
    read_rec_t *reads;                  /* every read issued, by ctx */
    uint64_t n_reads;                   /* reads issued */
    uint64_t reads_cap;                 /* reads allocated */
    bool read_live;                     /* a read issued after healing was answered */
} sim_t;

static void
s_fail (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_fail (sim_t *self, const char *fmt, ...)
{
    if (!self->result->ok)
        return;
    self->result->ok = false;
    int len = snprintf (self->result->error, sizeof self->result->error,
                        "t=%llu ms: ", (unsigned long long) self->now);
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->result->error + len, sizeof self->result->error - (size_t) len,
               fmt, args);
    va_end (args);
    self->done = true;
}

static uint64_t
s_rand (sim_t *self, uint64_t n)
{
    return n ? zr_rng_next (&self->rng) % n : 0;
}

static void
s_digest (sim_t *self, uint64_t value)
{
    self->result->digest = (self->result->digest ^ value) * 0x100000001B3ull;
}

/* ---------------------------------------------------------------- events */

static bool
s_before (const event_t *a, const event_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
s_schedule (sim_t *self, uint64_t at, ev_type_t type, uint32_t node,
            zr_message_t *msg)
{
    if (self->heap_len == self->heap_cap) {
        self->heap_cap = self->heap_cap ? self->heap_cap * 2 : 1024;
        zr_assert (self->heap_cap <= SIM_EVENTS_MAX);
        self->heap = (event_t *) realloc (self->heap, self->heap_cap * sizeof (event_t));
        zr_assert (self->heap);
    }
    event_t ev = {.at = at, .seq = self->seq++, .type = (uint8_t) type,
                  .node = node, .incarnation = node ? self->nodes [node].incarnation : 0,
                  .msg = msg};
    uint32_t i = self->heap_len++;
    while (i > 0 && s_before (&ev, &self->heap [(i - 1) / 2])) {
        self->heap [i] = self->heap [(i - 1) / 2];
        i = (i - 1) / 2;
    }
    self->heap [i] = ev;
}

static event_t
s_pop (sim_t *self)
{
    zr_assert (self->heap_len > 0);
    event_t top = self->heap [0];
    event_t last = self->heap [--self->heap_len];
    uint32_t i = 0;
    while (true) {
        uint32_t child = 2 * i + 1;
        if (child >= self->heap_len)
            break;
        if (child + 1 < self->heap_len && s_before (&self->heap [child + 1], &self->heap [child]))
            child++;
        if (!s_before (&self->heap [child], &last))
            break;
        self->heap [i] = self->heap [child];
        i = child;
    }
    if (self->heap_len > 0)
        self->heap [i] = last;
    return top;
}

/* ---------------------------------------------------------------- checkers */

static uint64_t
s_entry_hash (const zr_entry_t *entry)
{
    if (entry->type == ZR_ENTRY_NOOP)
        return 1;
    uint64_t value = 0;
    if (entry->size == sizeof value)
        memcpy (&value, entry->data, sizeof value);
    return value + 2;
}

/* Log Matching (§5.3): an (index, term) pair names one entry with one
   predecessor term, in every log that holds it. Called for every entry
   a core hands to its disk. */
static void
s_check_log_matching (sim_t *self, uint32_t id, const zr_entry_t *entry,
                      zr_term_t prev_term)
{
    uint64_t slot = (entry->index * 0x9E3779B97F4A7C15ull ^ entry->term) & (SIM_REGISTRY - 1);
    for (uint32_t probes = 0; probes < SIM_REGISTRY; probes++) {
        reg_slot_t *r = &self->registry [slot];
        if (r->key_index == 0) {
            *r = (reg_slot_t) {entry->index, entry->term, s_entry_hash (entry), prev_term};
            return;
        }
        if (r->key_index == entry->index && r->key_term == entry->term) {
            if (r->hash != s_entry_hash (entry) || r->prev_term != prev_term)
                s_fail (self, "Log Matching: n%u holds a different entry at index %llu term %llu",
                        id, (unsigned long long) entry->index, (unsigned long long) entry->term);
            return;
        }
        slot = (slot + 1) & (SIM_REGISTRY - 1);
    }
    s_fail (self, "registry full");
}

/* Records entries up to the node's commit index as committed; a second
   node committing a different entry at the same index is a violation. */
static void
s_record_commits (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    zr_index_t commit = zr_core_commit (node->core);
    const zr_log_t *log = zr_core_log (node->core);
    zr_index_t from = node->commit_seen + 1;
    if (from < zr_log_first_index (log))
        from = zr_log_first_index (log);    /* older ones are in its snapshot */
    for (zr_index_t i = from; i <= commit && i < SIM_LOG_MAX; i++) {
        const zr_entry_t *entry = zr_log_get (log, i);
        uint64_t hash = s_entry_hash (entry);
        if (self->c_term [i] == 0) {
            self->c_term [i] = entry->term;
            self->c_hash [i] = hash;
            if (i > self->result->committed)
                self->result->committed = i;
        }
        else
        if (self->c_term [i] != entry->term || self->c_hash [i] != hash)
            s_fail (self, "State Machine Safety: n%u committed a different entry at %llu",
                    id, (unsigned long long) i);
    }
    if (commit > node->commit_seen)
        node->commit_seen = commit;
    if (commit > self->commit_max)
        self->commit_max = commit;
}

/* ---------------------------------------------------------------- reads */

/* Takes the reads a Ready confirmed or failed on node id: each ctx comes
   back once, to the incarnation it was sent to, and confirmed indexes
   never decrease and never pass the commit index. */
static void
s_reads_take (sim_t *self, uint32_t id, zr_ready_t *rd)
{
    node_t *node = &self->nodes [id];
    for (uint32_t i = 0; i < rd->n_reads_failed; i++) {
        uint64_t ctx = rd->reads_failed [i];
        read_rec_t *read = ctx < self->n_reads ? &self->reads [ctx] : NULL;
        if (!read || read->state != READ_PENDING || read->node != id
            || read->incarnation != node->incarnation) {
            s_fail (self, "n%u failed read %llu it did not hold", id,
                    (unsigned long long) ctx);
            continue;
        }
        read->state = READ_FAILED;
        self->result->reads_failed++;
    }
    for (uint32_t i = 0; i < rd->n_reads; i++) {
        zr_read_t *confirmed = &rd->reads [i];
        read_rec_t *read = confirmed->ctx < self->n_reads
                         ? &self->reads [confirmed->ctx] : NULL;
        if (!read || read->state != READ_PENDING || read->node != id
            || read->incarnation != node->incarnation) {
            s_fail (self, "n%u confirmed read %llu it did not hold", id,
                    (unsigned long long) confirmed->ctx);
            continue;
        }
        if (confirmed->index > zr_core_commit (node->core)
            || (node->n_serve
                && confirmed->index < node->serve [node->n_serve - 1].index))
            s_fail (self, "n%u read %llu: index %llu out of order or past commit",
                    id, (unsigned long long) confirmed->ctx,
                    (unsigned long long) confirmed->index);
        read->state = READ_CONFIRMED;
        if (node->n_serve == node->serve_cap) {
            node->serve_cap = node->serve_cap ? 2 * node->serve_cap : 64;
            node->serve = (zr_read_t *) realloc (node->serve,
                                                 node->serve_cap * sizeof (zr_read_t));
            zr_assert (node->serve);
        }
        node->serve [node->n_serve++] = *confirmed;
    }
    free (rd->reads);
    free (rd->reads_failed);
    rd->reads = NULL;
    rd->reads_failed = NULL;
    rd->n_reads = rd->n_reads_failed = 0;
}

/* Serves the confirmed reads node id has applied far enough for: the
   result is the state machine as it is now (applied, sm_hash). The
   linearizable-read checker: that state holds every write acknowledged
   before the read was issued, i.e. every index any server knew
   committed then (Raft thesis §6.4). */
static void
s_reads_serve (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    uint32_t served = 0;
    while (served < node->n_serve && node->serve [served].index <= node->applied) {
        read_rec_t *read = &self->reads [node->serve [served].ctx];
        zr_assert (read->state == READ_CONFIRMED);
        read->state = READ_SERVED;
        self->result->reads++;
        if (self->heal_at && read->issued_at >= self->heal_at)
            self->read_live = true;
        if (node->applied < read->required)
            s_fail (self, "linearizable read: n%u answered read %llu (issued at "
                    "t=%llu ms) with the state at %llu, but %llu was committed "
                    "before it was issued", id,
                    (unsigned long long) node->serve [served].ctx,
                    (unsigned long long) read->issued_at,
                    (unsigned long long) node->applied,
                    (unsigned long long) read->required);
        if (node->applied < SIM_LOG_MAX && node->applied > 0
            && self->chain [node->applied] != node->sm_hash)
            s_fail (self, "n%u answered a read from a wrong state at %llu", id,
                    (unsigned long long) node->applied);
        served++;
    }
    if (served == 0)
        return;
    memmove (node->serve, node->serve + served,
             (node->n_serve - served) * sizeof (zr_read_t));
    node->n_serve -= served;
}

/* A crash loses the reads a server confirmed but had not answered. */
static void
s_reads_lose (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    for (uint32_t i = 0; i < node->n_serve; i++)
        self->reads [node->serve [i].ctx].state = READ_LOST;
    node->n_serve = 0;
}

/* Election Safety (one leader per term) and Leader Completeness (a
   leader holds every committed entry), checked when a leader appears. */
static void
s_check_leader (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    if (zr_core_role (node->core) != ZR_ROLE_LEADER)
        return;
    zr_term_t term = zr_core_term (node->core);
    if (term >= SIM_TERMS_MAX) {
        s_fail (self, "term %llu beyond the checker's range", (unsigned long long) term);
        return;
    }
    if (self->leader_of_term [term] == id)
        return;
    if (self->leader_of_term [term] != 0) {
        s_fail (self, "Election Safety: n%u and n%u both lead term %llu",
                self->leader_of_term [term], id, (unsigned long long) term);
        return;
    }
    self->leader_of_term [term] = id;
    self->result->elections++;
    const zr_log_t *log = zr_core_log (node->core);
    zr_index_t from = log->offset > 0 ? log->offset : 1;
    for (zr_index_t i = from; i <= self->result->committed; i++)
        if (zr_log_term (log, i) != self->c_term [i]
            || (i > log->offset && i <= zr_log_last_index (log)
                && s_entry_hash (zr_log_get (log, i)) != self->c_hash [i])) {
            s_fail (self, "Leader Completeness: n%u leads term %llu without committed entry %llu",
                    id, (unsigned long long) term, (unsigned long long) i);
            return;
        }
}

/* State Machine Safety: every node applies the same entry at an index,
   in order. */
static void
s_apply (sim_t *self, uint32_t id, const zr_entry_t *entry)
{
    node_t *node = &self->nodes [id];
    if (entry->index != node->applied + 1)
        s_fail (self, "n%u applied %llu after %llu", id,
                (unsigned long long) entry->index, (unsigned long long) node->applied);
    node->applied = entry->index;
    uint64_t hash = s_entry_hash (entry);
    node->sm_hash = (node->sm_hash ^ hash) * 0x100000001B3ull + entry->index;
    if (entry->index >= SIM_LOG_MAX)
        return;
    if (self->chain [entry->index] == 0)
        self->chain [entry->index] = node->sm_hash;
    else
    if (self->chain [entry->index] != node->sm_hash)
        s_fail (self, "State Machine Safety: n%u state differs after %llu",
                id, (unsigned long long) entry->index);
    if (self->a_hash [entry->index] == 0)
        self->a_hash [entry->index] = hash;
    else
    if (self->a_hash [entry->index] != hash)
        s_fail (self, "State Machine Safety: n%u applied a different entry at %llu",
                id, (unsigned long long) entry->index);
    if (self->heal_value && hash >= self->heal_value + 2) {
        node->live = true;
        if (!self->heal_index || entry->index < self->heal_index)
            self->heal_index = entry->index;
    }
}

/* ---------------------------------------------------------------- network */

static uint64_t
s_local_now (sim_t *self, uint32_t id)
{
    int64_t drift = self->nodes [id].drift_ppm;
    return (uint64_t) ((int64_t) self->now + (int64_t) self->now * drift / 1000000);
}

/* Sends msg (taken) through the faulty network. */
static void
s_send (sim_t *self, zr_message_t *msg)
{
    if (self->faults_on
        && (self->cut [msg->from][msg->to] || s_rand (self, 100) < self->drop_pct)) {
        zr_message_destroy (&msg);
        return;
    }
    if (self->faults_on && s_rand (self, 100) < self->dup_pct)
        s_schedule (self, self->now + 1 + s_rand (self, self->delay_max_ms),
                    EV_DELIVER, msg->to, zr_message_dup (msg));
    uint64_t delay = 1 + (self->faults_on ? s_rand (self, self->delay_max_ms) : s_rand (self, 2));
    s_schedule (self, self->now + delay, EV_DELIVER, msg->to, msg);
}

/* ---------------------------------------------------------------- nodes */

/* Starts a sync of every write queued so far. Writes queued while it
   runs wait for the next sync, as in actors/persister.c, which takes
   what is queued, writes it and syncs once (group commit). */
static void
s_sync_start (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    zr_assert (!node->disk_busy && node->q_tail);
    node->disk_busy = true;
    node->q_sync = node->q_tail;
    s_schedule (self, self->now + 1 + s_rand (self, self->disk_max_ms), EV_PERSISTED, id, NULL);
}

/* ---------------------------------------------------------------- snapshots */

/* A snapshot's bytes: [applied index, state hash], then filler. */
static uint8_t *
s_snapshot_encode (const sim_t *self, const node_t *node, uint64_t *size_p)
{
    uint64_t size = 16 + self->snap_pad;
    uint8_t *bytes = (uint8_t *) malloc (size);
    zr_assert (bytes);
    memcpy (bytes, &node->applied, 8);
    memcpy (bytes + 8, &node->sm_hash, 8);
    for (uint64_t i = 16; i < size; i++)
        bytes [i] = (uint8_t) (node->applied + i);
    *size_p = size;
    return bytes;
}

/* Keeps the current snapshot's bytes for transfers that still send it
   (actors keep the older file the same way). */
static void
s_snapshot_retire (node_t *node)
{
    if (!node->snap)
        return;
    snap_old_t *old = (snap_old_t *) malloc (sizeof *old);
    zr_assert (old);
    *old = (snap_old_t) {node->snap_index, node->snap, node->snap_size, node->old};
    node->old = old;
    node->snap = NULL;
}

/* Returns the bytes of the node's snapshot at index, or NULL. */
static const uint8_t *
s_snapshot_find (const node_t *node, zr_index_t index, uint64_t *size_p)
{
    if (node->snap && node->snap_index == index) {
        *size_p = node->snap_size;
        return node->snap;
    }
    for (const snap_old_t *old = node->old; old; old = old->next)
        if (old->index == index) {
            *size_p = old->size;
            return old->bytes;
        }
    return NULL;
}

/* The application takes a snapshot every snap_every applied entries;
   it is durable at once (the crash windows are the WAL's). */
static void
s_snapshot_maybe (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    if (!self->snap_every || zr_core_installing (node->core)
        || node->applied < node->snap_index + self->snap_every)
        return;
    s_snapshot_retire (node);
    node->snap = s_snapshot_encode (self, node, &node->snap_size);
    node->snap_index = node->applied;
    node->snap_term = zr_log_term (zr_core_log (node->core), node->applied);
    zr_core_snapshot_taken (node->core, node->applied, node->snap_size);
}

/* Fills the bytes of the InstallSnapshot chunks a leader's core asked
   for, from its durable snapshot (what the replicator does). */
static void
s_snapshot_fill (node_t *node, zr_message_t **msgs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        zr_message_t *msg = msgs [i];
        if (msg->type != ZR_MSG_SNAPSHOT || msg->chunk_size == 0)
            continue;
        uint64_t size = 0;
        const uint8_t *bytes = s_snapshot_find (node, msg->last_index, &size);
        zr_assert (bytes);
        zr_assert (msg->snap_offset + msg->chunk_size <= size);
        msg->chunk_blob = zr_blob_new (msg->chunk_size);
        zr_assert (msg->chunk_blob);
        memcpy (msg->chunk_blob->data, bytes + msg->snap_offset, msg->chunk_size);
        msg->chunk = msg->chunk_blob->data;
    }
}

/* The last chunk's file is complete and renamed: it is the node's
   durable snapshot (what survives a crash from here on). */
static void
s_snapshot_commit (node_t *node, const zr_chunk_t *chunk)
{
    zr_assert (node->rx_size == chunk->size && chunk->size >= 16);
    s_snapshot_retire (node);
    node->snap = node->rx;
    node->snap_size = node->rx_size;
    node->snap_index = chunk->index;
    node->snap_term = chunk->term;
    node->rx = NULL;
    node->rx_size = 0;
}

/* The storage's log follows an installed snapshot (the WAL's LOGSTART). */
static void
s_snapshot_log (node_t *node, const zr_chunk_t *chunk)
{
    if (chunk->reset)
        zr_log_reset (&node->d_log, chunk->index, chunk->term);
    else
    if (chunk->index > node->d_log.offset
        && chunk->index <= zr_log_last_index (&node->d_log))
        zr_log_compact (&node->d_log, chunk->index);
}

/* The installed snapshot replaces the state machine, which must never
   go back (the fourth checker), then the core may apply again. */
static void
s_snapshot_restore (sim_t *self, uint32_t id, const zr_chunk_t *chunk)
{
    node_t *node = &self->nodes [id];
    uint64_t index, hash;
    memcpy (&index, node->snap, 8);
    memcpy (&hash, node->snap + 8, 8);
    if (index != chunk->index)
        s_fail (self, "n%u installed a snapshot of %llu named %llu", id,
                (unsigned long long) index, (unsigned long long) chunk->index);
    if (index < SIM_LOG_MAX && self->chain [index] && self->chain [index] != hash)
        s_fail (self, "State Machine Safety: n%u installed a wrong state at %llu",
                id, (unsigned long long) index);
    if (index < node->applied)
        s_fail (self, "state machine went backwards: n%u restored %llu after applying %llu",
                id, (unsigned long long) index, (unsigned long long) node->applied);
    node->applied = index;
    node->sm_hash = hash;
    self->result->installs++;
    if (self->heal_index && index >= self->heal_index)
        node->live = true;              /* it holds a post-heal value */
    zr_core_installed (node->core, chunk->index);
}

/* Writes a received chunk to the node's disk. */
static void
s_snapshot_write (node_t *node, const zr_chunk_t *chunk)
{
    if (chunk->offset == 0) {
        free (node->rx);
        node->rx = (uint8_t *) malloc (chunk->size ? chunk->size : 1);
        zr_assert (node->rx);
        node->rx_size = 0;
    }
    zr_assert (node->rx && chunk->offset == node->rx_size);
    if (chunk->n)
        memcpy (node->rx + chunk->offset, chunk->data, chunk->n);
    node->rx_size = chunk->offset + chunk->n;
}

/* The durable log forgets what the core forgot (ready->compact), as the
   WAL does: whole segments of `segment` indexes, so it may keep more
   than the core's memory. */
static void
s_compact (node_t *node, zr_index_t upto, uint32_t segment)
{
    zr_assert (segment >= 1);
    upto = upto / segment * segment;
    zr_index_t last = zr_log_last_index (&node->d_log);
    if (upto > last)
        upto = last;
    if (upto > node->d_log.offset)
        zr_log_compact (&node->d_log, upto);
}

/* The sender's storage read (core.h Invariant 15), as the replicator
   does it on its own thread, some time after the Ready that named it:
   entries prev_index + 1 .. read_last from the node's durable log, at
   most read_bytes of payload but at least one, and the term of
   prev_index if the core left it 0. Storage may have dropped them
   meanwhile (compaction, or a log restarted after an installed
   snapshot): the core is then told they are lost. */
static void
s_fill (sim_t *self, uint32_t id, zr_message_t *msg)
{
    node_t *node = &self->nodes [id];
    const zr_log_t *d = &node->d_log;
    zr_index_t from = msg->prev_index + 1;
    zr_index_t first = zr_log_first_index (d), last = zr_log_last_index (d);
    zr_index_t to = msg->read_last < last ? msg->read_last : last;
    zr_index_t missing = 0;
    if (msg->prev_term == 0 && msg->prev_index > 0 && msg->prev_index < first)
        missing = msg->prev_index;
    else
    if (from < first || from > to)
        missing = from;
    uint64_t now = s_local_now (self, id);
    s_digest (self, missing * 7 + from);
    if (missing) {
        self->result->storage_lost++;
        zr_core_storage_lost (node->core, msg->to, msg->term, from, missing, now);
        zr_message_destroy (&msg);
        return;
    }
    if (msg->prev_term == 0 && msg->prev_index > 0)
        msg->prev_term = zr_log_term (d, msg->prev_index);
    uint64_t bytes = 0;
    zr_index_t end = from;
    while (end <= to
           && (end == from || bytes + zr_log_get (d, end)->size <= msg->read_bytes))
        bytes += zr_log_get (d, end++)->size;
    msg->n_entries = (uint32_t) (end - from);
    msg->entries = (zr_entry_t *) calloc (msg->n_entries, sizeof (zr_entry_t));
    zr_assert (msg->entries);
    for (uint32_t i = 0; i < msg->n_entries; i++)
        zr_entry_copy (&msg->entries [i], zr_log_get (d, from + i));
    zr_core_storage_sent (node->core, msg->to, msg->term, from, end - 1, bytes, now);
    self->result->storage_reads++;
    msg->read_last = 0;
    msg->read_bytes = 0;
    s_send (self, msg);
}

/* How much of one write request reaches the disk: everything after a
   sync; a prefix, in the persister's order, when the node crashes while
   the sync runs (a torn batch that recovery cuts at a record). */
typedef struct {
    bool hs;                            /* the hard state */
    uint32_t chunks;                    /* snapshot chunks written */
    bool commit;                        /* the last chunk's file renamed */
    bool log;                           /* the log restarted after it */
    uint32_t entries;                   /* entries written */
} s_durable_t;

/* Makes the durable part of rd (as limit says) the node's disk state.
   Returns the last chunk made durable with its log step, or NULL. */
static const zr_chunk_t *
s_disk_write (node_t *node, const zr_ready_t *rd, const s_durable_t *limit,
              uint32_t segment)
{
    const zr_chunk_t *installed = NULL;
    if (rd->hs_changed && limit->hs) {
        node->d_term = rd->term;
        node->d_vote = rd->vote;
    }
    for (uint32_t i = 0; i < rd->n_chunks && i < limit->chunks; i++) {
        const zr_chunk_t *chunk = &rd->chunks [i];
        s_snapshot_write (node, chunk);
        if (!chunk->last || !limit->commit)
            continue;
        s_snapshot_commit (node, chunk);
        if (!limit->log)
            return NULL;                /* crash between rename and LOGSTART */
        s_snapshot_log (node, chunk);
        installed = chunk;
    }
    uint32_t n = rd->n_entries < limit->entries ? rd->n_entries : limit->entries;
    uint32_t skip = 0;                  /* already in the snapshot */
    while (skip < n && rd->entries [skip].index <= node->d_log.offset)
        skip++;
    if (skip < n)
        zr_log_truncate (&node->d_log, rd->entries [skip].index);
    for (uint32_t i = skip; i < n; i++)
        zr_assert (zr_log_append (&node->d_log, &rd->entries [i]) == 0);
    /* Compaction runs after what was queued before it is on disk: it
       must never freeze an entry a queued write is about to replace. */
    if (rd->compact && n == rd->n_entries)
        s_compact (node, rd->compact, segment);
    return installed;
}

/* Collects the core's Ready and plays it: disk, network, apply. */
static void
s_ready (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    zr_ready_t rd;
    memset (&rd, 0, sizeof rd);
    zr_core_ready (node->core, &rd, s_local_now (self, id));
    zr_core_check (node->core);
    const zr_log_t *log = zr_core_log (node->core);
    for (uint32_t i = 0; i < rd.n_entries; i++)
        s_check_log_matching (self, id, &rd.entries [i],
                              zr_log_term (log, rd.entries [i].index - 1));
    for (uint32_t i = 0; i < rd.n_committed; i++)
        s_apply (self, id, &rd.committed [i]);
    zr_entries_destroy (&rd.committed, rd.n_committed);
    s_reads_take (self, id, &rd);
    s_snapshot_fill (node, rd.msgs, rd.n_msgs);
    s_snapshot_fill (node, rd.msgs_synced, rd.n_msgs_synced);
    for (uint32_t i = 0; i < rd.n_msgs; i++) {
        zr_message_t *msg = rd.msgs [i];
        if (msg->read_last == 0)
            s_send (self, msg);
        else
        if (self->faults_on && self->cut [id][msg->to])
            zr_message_destroy (&msg);      /* cut before the sender, as the
                                               node's partition filter does:
                                               never read, never reported */
        else                                /* the sender's thread reads it */
            s_schedule (self, self->now + s_rand (self, 3), EV_FILL, id, msg);
    }
    for (uint32_t i = 0; i < rd.n_msgs_synced; i++)
        zr_assert (rd.msgs_synced [i]->read_last == 0);     /* core.c Ready */
    free (rd.msgs);
    rd.msgs = NULL;
    rd.n_msgs = 0;
    if (rd.hs_changed || rd.n_entries || rd.n_chunks || rd.compact
        || (rd.n_msgs_synced && node->q_head)) {
        preq_t *req = (preq_t *) calloc (1, sizeof *req);
        zr_assert (req);
        req->ready = rd;                /* keeps hs, entries, msgs_synced */
        if (node->q_tail)
            node->q_tail->next = req;
        else
            node->q_head = req;
        node->q_tail = req;
        if (!node->disk_busy)
            s_sync_start (self, id);
    }
    else {
        for (uint32_t i = 0; i < rd.n_msgs_synced; i++)
            s_send (self, rd.msgs_synced [i]);
        free (rd.msgs_synced);
        rd.msgs_synced = NULL;
        rd.n_msgs_synced = 0;
        zr_ready_release (&rd);
    }
    s_record_commits (self, id);
    s_check_leader (self, id);
    s_snapshot_maybe (self, id);
    s_reads_serve (self, id);
}

/* The sync finished: every write queued before it started is durable;
   those queued since go to the next sync. */
static void
s_persisted (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    zr_assert (node->disk_busy && node->q_sync);
    node->disk_busy = false;
    bool covered = true;
    while (covered) {
        preq_t *req = node->q_head;
        zr_assert (req);
        node->q_head = req->next;
        covered = req != node->q_sync;
        zr_ready_t *rd = &req->ready;
        const s_durable_t all = {true, UINT32_MAX, true, true, UINT32_MAX};
        const zr_chunk_t *installed = s_disk_write (node, rd, &all, self->segment);
        if (installed)
            s_snapshot_restore (self, id, installed);
        if (rd->n_entries) {
            const zr_entry_t *last = &rd->entries [rd->n_entries - 1];
            zr_core_persisted (node->core, last->index, last->term);
        }
        for (uint32_t i = 0; i < rd->n_msgs_synced; i++)
            s_send (self, rd->msgs_synced [i]);
        free (rd->msgs_synced);
        rd->msgs_synced = NULL;
        rd->n_msgs_synced = 0;
        zr_ready_release (rd);
        free (req);
    }
    node->q_sync = NULL;
    if (node->q_head)
        s_sync_start (self, id);
    else
        node->q_tail = NULL;
    s_ready (self, id);
}

static void
s_start (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    zr_core_config_t cc = {.id = id, .n_servers = self->n,
                           .heartbeat_ms = self->heartbeat_ms,
                           .election_timeout_ms = self->election_ms,
                           .inflight_max = self->inflight_max,
                           .inflight_bytes_max = 1u << 20,
                           .batch_bytes = self->batch_bytes,
                           .seed = self->config.seed * 31 + node->incarnation,
                           .pre_vote = self->pre_vote,
                           .check_quorum = self->check_quorum,
                           .snapshot_trailing = self->trailing,
                           .snapshot_chunk_bytes = self->chunk_bytes,
                           .snapshot_window_bytes = 2 * (uint64_t) self->chunk_bytes,
                           .storage_catchup = self->storage_catchup};
    for (uint32_t i = 0; i < self->n; i++)
        cc.servers [i] = i + 1;
    node->core = zr_core_new (&cc, s_local_now (self, id));
    zr_assert (node->core);
    /* A follower applies (and snapshots) committed entries its own disk
       may not hold yet, and a crash between an installed snapshot's
       rename and its LOGSTART leaves the old log: either way the log
       does not hold the snapshot's last entry, and storage restarts it
       after the snapshot (the WAL's LOGSTART), as zr_core_restore does. */
    if (node->snap_index > zr_log_last_index (&node->d_log)
        || (node->snap_index > 0
            && zr_log_term (&node->d_log, node->snap_index) != node->snap_term))
        zr_log_reset (&node->d_log, node->snap_index, node->snap_term);
    zr_core_restore_t restore = {.term = node->d_term, .vote = node->d_vote,
                                 .snap_index = node->snap_index,
                                 .snap_term = node->snap_term,
                                 .snap_size = node->snap_size,
                                 .entries = node->d_log.entries,
                                 .n_entries = (uint32_t) node->d_log.count};
    zr_assert (zr_core_restore (node->core, &restore) == 0);
    node->applied = 0;
    node->sm_hash = 0;
    if (node->snap_index) {             /* restore once, then apply after it */
        memcpy (&node->applied, node->snap, 8);
        memcpy (&node->sm_hash, node->snap + 8, 8);
        zr_assert (node->applied == node->snap_index);
    }
    node->commit_seen = node->snap_index;
}

/* Crash: the core and every unsynced write are lost. */
/* A crash while a sync runs: the disk may hold any prefix of what the
   sync covers, cut at a record (recovery truncates a torn tail). Nothing
   was acknowledged for it, so safety must hold whatever the cut. */
static void
s_crash_torn (sim_t *self, node_t *node)
{
    if (!node->disk_busy || s_rand (self, 2) == 0)
        return;                         /* nothing of it reached the disk */
    const s_durable_t all = {true, UINT32_MAX, true, true, UINT32_MAX};
    for (preq_t *req = node->q_head; req; req = req->next) {
        const zr_ready_t *rd = &req->ready;
        bool whole = req != node->q_sync && s_rand (self, 2);
        if (whole) {
            s_disk_write (node, rd, &all, self->segment);
            continue;
        }
        s_durable_t cut = {s_rand (self, 2), (uint32_t) s_rand (self, rd->n_chunks + 1),
                           s_rand (self, 2), s_rand (self, 2),
                           (uint32_t) s_rand (self, rd->n_entries + 1)};
        if (rd->hs_changed && !cut.hs)
            cut.chunks = cut.entries = 0;       /* records are in order */
        if (cut.chunks < rd->n_chunks || !cut.commit || !cut.log)
            cut.entries = 0;
        s_disk_write (node, rd, &cut, self->segment);
        break;
    }
}

static void
s_crash (sim_t *self, uint32_t id)
{
    node_t *node = &self->nodes [id];
    if (self->faults_on)
        s_crash_torn (self, node);
    zr_core_destroy (&node->core);
    s_reads_lose (self, id);
    while (node->q_head) {
        preq_t *req = node->q_head;
        node->q_head = req->next;
        zr_ready_release (&req->ready);
        free (req);
    }
    node->q_tail = NULL;
    node->q_sync = NULL;
    node->disk_busy = false;
    free (node->rx);                    /* an unfinished snapshot is a temp file */
    node->rx = NULL;
    node->rx_size = 0;
    node->incarnation++;
    self->result->crashes++;
}

/* ---------------------------------------------------------------- faults */

/* Cuts links into one of the shapes a real network produces. */
static void
s_partition (sim_t *self)
{
    memset (self->cut, 0, sizeof self->cut);
    uint32_t shape = (uint32_t) s_rand (self, 5), n = self->n;
    uint32_t a = 1 + (uint32_t) s_rand (self, n), b = 1 + (uint32_t) s_rand (self, n);
    bool side [SIM_NODES_MAX + 1] = {false};
    for (uint32_t i = 1; i <= n; i++)
        side [i] = s_rand (self, 2);
    for (uint32_t i = 1; i <= n; i++)
        for (uint32_t j = 1; j <= n; j++) {
            if (i == j)
                continue;
            if (shape == 1)             /* one node isolated */
                self->cut [i][j] = i == a || j == a;
            else
            if (shape == 2)             /* two random sides */
                self->cut [i][j] = side [i] != side [j];
            else
            if (shape == 3)             /* one-way link */
                self->cut [i][j] = i == a && j == b;
            else
            if (shape == 4)             /* bridge: a sees both sides */
                self->cut [i][j] = side [i] != side [j] && i != a && j != a;
        }
    s_digest (self, shape);
}

/* Proposes the next workload value to the leader of the highest term.
   Returns the id of the leader that accepted it, or 0. */
static uint32_t
s_propose (sim_t *self)
{
    uint32_t leader = 0;
    zr_term_t top = 0;
    for (uint32_t id = 1; id <= self->n; id++) {
        node_t *node = &self->nodes [id];
        if (node->core && zr_core_role (node->core) == ZR_ROLE_LEADER
            && zr_core_term (node->core) > top) {
            top = zr_core_term (node->core);
            leader = id;
        }
    }
    if (!leader)
        return 0;
    uint64_t value = self->next_value++;
    zr_blob_t *blob = zr_blob_new (sizeof value);
    zr_assert (blob);
    memcpy (blob->data, &value, sizeof value);
    zr_index_t index;
    zr_term_t term;
    int rc = zr_core_propose (self->nodes [leader].core, blob, blob->data,
                              sizeof value, &index, &term);
    zr_assert (rc == 0 || rc == ZR_EBUSY);      /* busy: transferring */
    zr_blob_unref (&blob);
    s_ready (self, leader);
    return rc == 0 ? leader : 0;
}

/* A client issues a read to the server some server names as leader (a
   stale or unknown hint included: clients follow redirects, which can
   be out of date), as a read that must be linearizable. */
static void
s_read (sim_t *self)
{
    uint32_t asked = 1 + (uint32_t) s_rand (self, self->n);
    if (!self->nodes [asked].core)
        return;                         /* the client cannot reach it */
    uint32_t to = zr_core_leader (self->nodes [asked].core);
    if (to == 0 || !self->nodes [to].core)
        to = asked;
    if (self->n_reads == self->reads_cap) {
        self->reads_cap = self->reads_cap ? 2 * self->reads_cap : 1024;
        zr_assert (self->reads_cap <= SIM_READS_MAX);
        self->reads = (read_rec_t *) realloc (self->reads,
                                              self->reads_cap * sizeof (read_rec_t));
        zr_assert (self->reads);
    }
    node_t *node = &self->nodes [to];
    uint64_t ctx = self->n_reads;
    int rc = zr_core_read_index (node->core, ctx, s_local_now (self, to));
    s_digest (self, (uint64_t) -rc);
    if (rc == ZR_ENOTLEADER)
        return;
    zr_assert (rc == 0);
    self->reads [self->n_reads++] = (read_rec_t) {
        .required = self->commit_max, .issued_at = self->now, .node = to,
        .incarnation = node->incarnation, .state = READ_PENDING};
    s_ready (self, to);
}

/* One round of the lab's Figure 8 test (LAB-TESTS.md, TestFigure8):
   crash the node that accepted the previous round's proposal, restart
   a random node if fewer than a quorum live, propose, pause briefly.
   Leaders so die a few milliseconds into their term: entries they
   wrote to their own disk survive on no other server, and a server
   with an older log may lead next, which is how the logs of Figure 8
   (§5.4.2) come about; the next leader may then die after a follower
   acknowledged its old entries but before its no-op of the new term
   is on a majority. ev->node is the previous proposer, or 0. */
static void
s_figure8_round (sim_t *self, const event_t *ev)
{
    zr_assert (self->figure8);
    node_t *proposer = ev->node ? &self->nodes [ev->node] : NULL;
    if (proposer && proposer->core && ev->incarnation == proposer->incarnation)
        s_crash (self, ev->node);
    uint32_t live = 0;
    for (uint32_t id = 1; id <= self->n; id++)
        live += self->nodes [id].core != NULL;
    if (live < self->n / 2 + 1) {
        uint32_t id = 1 + (uint32_t) s_rand (self, self->n);
        if (!self->nodes [id].core) {
            s_start (self, id);
            s_ready (self, id);
        }
    }
    uint32_t leader = s_propose (self);
    /* The lab's pause: up to a few election timeouts one time in ten. */
    uint64_t pause = s_rand (self, 10) == 0 ? s_rand (self, 3 * self->election_ms)
                                            : s_rand (self, SIM_FIG8_PAUSE_MS);
    s_schedule (self, self->now + 1 + pause, EV_FIGURE8, leader, NULL);
}

static void
s_heal (sim_t *self)
{
    self->faults_on = false;
    memset (self->cut, 0, sizeof self->cut);
    for (uint32_t id = 1; id <= self->n; id++)
        if (!self->nodes [id].core)
            s_start (self, id);
    self->heal_value = self->next_value;
    self->heal_at = self->now;
}

/* The Figure 8 profile replaces random crashes, partitions and
   transfers with the lab's loop (s_figure8_round), and sets what makes
   an old-term entry reach a majority apart from the new leader's no-op:
   one entry per AppendEntries and one AppendEntries in flight (real
   settings: batch_bytes below an entry's size, inflight_max 1), so a
   lagging follower acknowledges old entries one by one; short timeouts
   and delays, so a run holds many more leaders. */
static void
s_choose_figure8 (sim_t *self)
{
    zr_assert (self->figure8);
    self->crash_every_ms = 0;
    self->part_every_ms = 0;
    self->transfer_every_ms = 0;
    self->delay_max_ms = SIM_FIG8_DELAY_MS;
    self->heartbeat_ms = SIM_FIG8_HEARTBEAT_MS;
    self->election_ms = SIM_FIG8_ELECTION_MS;
    self->batch_bytes = 1;
    self->inflight_max = 1;
}

/* Picks the fault mix from the seed (swarm testing). */
static void
s_choose_faults (sim_t *self)
{
    static const uint32_t drops [] = {0, 1, 5, 20};
    static const uint32_t dups [] = {0, 2, 10};
    static const uint32_t delays [] = {2, 20, 100};
    static const uint32_t crashes [] = {0, 2000, 500, 150};
    static const uint32_t disks [] = {2, 10, 60};
    static const uint32_t parts [] = {0, 1000, 300};
    static const int64_t drifts [] = {0, 20000, 100000};
    self->drop_pct = drops [s_rand (self, 4)];
    self->dup_pct = dups [s_rand (self, 3)];
    self->delay_max_ms = delays [s_rand (self, 3)];
    self->crash_every_ms = crashes [s_rand (self, 4)];
    self->disk_max_ms = disks [s_rand (self, 3)];
    self->pre_vote = s_rand (self, 2);
    self->check_quorum = s_rand (self, 2);
    self->transfer_every_ms = s_rand (self, 2) ? 400 : 0;
    self->part_every_ms = parts [s_rand (self, 3)];
    int64_t drift = drifts [s_rand (self, 3)];
    for (uint32_t id = 1; id <= self->n; id++)
        self->nodes [id].drift_ppm = drift ? (int64_t) s_rand (self, (uint64_t) (2 * drift)) - drift : 0;
    self->heartbeat_ms = SIM_HEARTBEAT_MS;
    self->election_ms = SIM_ELECTION_MS;
    self->batch_bytes = 64u << 10;
    self->inflight_max = 8;
    static const uint32_t snap_everys [] = {0, 4, 20, 100};
    static const uint32_t pads [] = {0, 40, 300};
    static const uint32_t chunks [] = {8, 64, 4096};
    static const uint64_t trailings [] = {0, 3, 50};
    self->snap_every = snap_everys [s_rand (self, 4)];
    self->snap_pad = pads [s_rand (self, 3)];
    self->chunk_bytes = chunks [s_rand (self, 3)];
    self->trailing = trailings [s_rand (self, 3)];
    static const uint32_t segments [] = {1, 8, 64};
    self->storage_catchup = s_rand (self, 4) == 0;
    self->segment = segments [s_rand (self, 3)];
    if (self->figure8)
        s_choose_figure8 (self);
    snprintf (self->result->faults, sizeof self->result->faults,
              "%snodes=%u drop=%u%% dup=%u%% delay<=%ums disk<=%ums crash/%ums partition/%ums "
              "drift<=%lld ppm%s%s transfer/%ums election=%ums batch=%lluB inflight=%u "
              "snapshot/%u pad=%u chunk=%u trailing=%llu%s segment=%u",
              self->figure8 ? "figure8 " : "",
              self->n, self->drop_pct, self->dup_pct, self->delay_max_ms, self->disk_max_ms,
              self->crash_every_ms, self->part_every_ms, (long long) drift,
              self->pre_vote ? " prevote" : "", self->check_quorum ? " checkquorum" : "",
              self->transfer_every_ms, self->election_ms,
              (unsigned long long) self->batch_bytes, self->inflight_max,
              self->snap_every, self->snap_pad, self->chunk_bytes,
              (unsigned long long) self->trailing,
              self->storage_catchup ? " catchup" : "", self->segment);
}

/* ---------------------------------------------------------------- loop */

static void
s_handle (sim_t *self, event_t *ev)
{
    node_t *node = ev->node ? &self->nodes [ev->node] : NULL;
    s_digest (self, ev->at * 16 + ev->type);
    switch ((ev_type_t) ev->type) {
    case EV_DELIVER:
        s_digest (self, ev->msg->type * 1000003ull + ev->msg->term);
        if (node->core) {
            zr_core_step (node->core, ev->msg, s_local_now (self, ev->node));
            s_ready (self, ev->node);
        }
        zr_message_destroy (&ev->msg);
        break;
    case EV_TICK:
        if (node->core) {
            zr_core_tick (node->core, s_local_now (self, ev->node));
            s_ready (self, ev->node);
        }
        s_schedule (self, self->now + SIM_TICK_MS, EV_TICK, ev->node, NULL);
        break;
    case EV_PERSISTED:
        if (node->core && ev->incarnation == node->incarnation)
            s_persisted (self, ev->node);
        break;
    case EV_CRASH:
        if (!self->faults_on)
            break;
        {
            /* Half the crashes hit a leader: Figure 8 is made of those. */
            uint32_t id = 1 + (uint32_t) s_rand (self, self->n);
            if (s_rand (self, 2))
                for (uint32_t k = 1; k <= self->n; k++)
                    if (self->nodes [k].core
                        && zr_core_role (self->nodes [k].core) == ZR_ROLE_LEADER)
                        id = k;
            if (self->nodes [id].core) {
                s_crash (self, id);
                s_schedule (self, self->now + 50 + s_rand (self, 1000), EV_RESTART, id, NULL);
            }
            s_schedule (self, self->now + 1 + s_rand (self, 2 * self->crash_every_ms),
                        EV_CRASH, 0, NULL);
        }
        break;
    case EV_RESTART:
        if (!node->core) {
            s_start (self, ev->node);
            s_ready (self, ev->node);
        }
        break;
    case EV_FAULTS:
        if (!self->faults_on)
            break;
        s_partition (self);
        s_schedule (self, self->now + 1 + s_rand (self, 2 * self->part_every_ms),
                    EV_FAULTS, 0, NULL);
        break;
    case EV_PROPOSE:
        s_propose (self);
        s_schedule (self, self->now + 5 + s_rand (self, 40), EV_PROPOSE, 0, NULL);
        break;
    case EV_READ:
        for (uint64_t k = 1 + s_rand (self, 3); k > 0; k--)
            s_read (self);
        s_schedule (self, self->now + 3 + s_rand (self, 30), EV_READ, 0, NULL);
        break;
    case EV_HEAL:
        s_heal (self);
        break;
    case EV_FILL:
        if (node->core && ev->incarnation == node->incarnation) {
            s_fill (self, ev->node, ev->msg);
            s_ready (self, ev->node);
        }
        else
            zr_message_destroy (&ev->msg);
        break;
    case EV_FIGURE8:
        if (self->faults_on)
            s_figure8_round (self, ev);
        break;
    case EV_TRANSFER:
        if (!self->faults_on)
            break;
        for (uint32_t id = 1; id <= self->n; id++) {
            node_t *leader = &self->nodes [id];
            if (leader->core && zr_core_role (leader->core) == ZR_ROLE_LEADER) {
                zr_id_t to = 1 + (zr_id_t) s_rand (self, self->n);
                zr_core_transfer (leader->core, to, s_local_now (self, id));
                s_ready (self, id);
            }
        }
        s_schedule (self, self->now + 1 + s_rand (self, 2 * self->transfer_every_ms),
                    EV_TRANSFER, 0, NULL);
        break;
    }
}

static bool
s_all_live (sim_t *self)
{
    for (uint32_t id = 1; id <= self->n; id++)
        if (!self->nodes [id].live)
            return false;
    return true;
}

static void
s_setup (sim_t *self)
{
    for (uint32_t id = 1; id <= self->n; id++) {
        zr_log_init (&self->nodes [id].d_log);
        s_start (self, id);
        s_schedule (self, 1 + s_rand (self, SIM_TICK_MS), EV_TICK, id, NULL);
    }
    self->faults_on = true;
    s_schedule (self, 10, EV_PROPOSE, 0, NULL);
    s_schedule (self, 10, EV_READ, 0, NULL);
    if (self->crash_every_ms)
        s_schedule (self, s_rand (self, 2 * self->crash_every_ms), EV_CRASH, 0, NULL);
    if (self->part_every_ms)
        s_schedule (self, s_rand (self, 2 * self->part_every_ms), EV_FAULTS, 0, NULL);
    if (self->transfer_every_ms)
        s_schedule (self, s_rand (self, 2 * self->transfer_every_ms), EV_TRANSFER, 0, NULL);
    if (self->figure8)
        s_schedule (self, 10, EV_FIGURE8, 0, NULL);
    s_schedule (self, self->config.fault_ms, EV_HEAL, 0, NULL);
}

static void
s_teardown (sim_t *self)
{
    while (self->heap_len > 0) {
        event_t ev = s_pop (self);
        zr_message_destroy (&ev.msg);
    }
    free (self->heap);
    for (uint32_t id = 1; id <= self->n; id++) {
        if (self->nodes [id].core)
            s_crash (self, id);
        zr_log_clear (&self->nodes [id].d_log);
        free (self->nodes [id].snap);
        free (self->nodes [id].serve);
        while (self->nodes [id].old) {
            snap_old_t *old = self->nodes [id].old;
            self->nodes [id].old = old->next;
            free (old->bytes);
            free (old);
        }
    }
    free (self->chain);
    free (self->registry);
    free (self->c_hash);
    free (self->c_term);
    free (self->a_hash);
    free (self->reads);
}

bool
sim_run (const sim_config_t *config, sim_result_t *result)
{
    sim_t *self = (sim_t *) calloc (1, sizeof (sim_t));
    zr_assert (self);
    memset (result, 0, sizeof *result);
    result->ok = true;
    self->config = *config;
    self->result = result;
    zr_rng_seed (&self->rng, config->seed);
    static const uint32_t sizes [] = {3, 5, 7};
    self->figure8 = s_rand (self, SIM_FIG8_ONE_IN) == 0;
    self->n = config->nodes ? config->nodes
            : self->figure8 ? 3 : sizes [s_rand (self, 3)];
    zr_assert (self->n >= 1 && self->n <= SIM_NODES_MAX);
    result->nodes = self->n;
    self->registry = (reg_slot_t *) calloc (SIM_REGISTRY, sizeof (reg_slot_t));
    self->c_hash = (uint64_t *) calloc (SIM_LOG_MAX, sizeof (uint64_t));
    self->c_term = (zr_term_t *) calloc (SIM_LOG_MAX, sizeof (zr_term_t));
    self->a_hash = (uint64_t *) calloc (SIM_LOG_MAX, sizeof (uint64_t));
    self->chain = (uint64_t *) calloc (SIM_LOG_MAX, sizeof (uint64_t));
    zr_assert (self->registry && self->c_hash && self->c_term && self->a_hash
               && self->chain);
    self->next_value = 1;
    s_choose_faults (self);
    s_setup (self);
    uint64_t deadline = config->fault_ms + config->liveness_ms;
    while (!self->done && self->heap_len > 0) {
        event_t ev = s_pop (self);
        if (ev.at > deadline) {
            zr_message_destroy (&ev.msg);
            break;
        }
        self->now = ev.at;
        result->events++;
        if (config->trace)
            fprintf (stderr, "t=%llu ev=%u node=%u\n", (unsigned long long) ev.at,
                     ev.type, ev.node);
        s_handle (self, &ev);
        if (self->heal_at && s_all_live (self) && self->read_live)
            self->done = true;
    }
    if (result->ok && !s_all_live (self))
        s_fail (self, "liveness: not every node applied a new entry within %llu ms of healing",
                (unsigned long long) config->liveness_ms);
    if (result->ok && !self->read_live)
        s_fail (self, "liveness: no read issued after healing was answered within %llu ms",
                (unsigned long long) config->liveness_ms);
    s_teardown (self);
    free (self);
    return result->ok;
}
