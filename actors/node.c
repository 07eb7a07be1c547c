/*  =========================================================================
    node - the actor that owns one server's Raft state (see node.h)
    =========================================================================
*/
#include "actors.h"
#include "node.h"
#include "timer.h"
#include "persister.h"
#include "applier.h"
#include "replicator.h"
#include "feed.h"
#include "bus.h"

_Static_assert (ZR_NODE_WRITES_MAX <= ZR_PERSIST_BATCH_MAX,
                "one group commit can take every WRITE out");
_Static_assert (6 + ZR_NODES_MAX + ZRAFT_HOST_READERS_MAX <= ZR_POLLER_READERS_MAX,
                "the node's readers and a host's fit one poller");
_Static_assert (ZR_APPLIER_HERE_ENTRIES_MAX == 16,
                "zraft.h (apply_on_node) says 16 entries");

typedef struct {
    zsock_t *pipe;                      /* to the application */
    zr_node_args_t args;                /* copied configuration */
    zr_id_t id;                         /* this server */
    zr_core_t *core;                    /* the protocol state, owned */
    zsock_t *router;                    /* peer RPCs in, replies out */
    zactor_t *timer;                    /* election/heartbeat alarm */
    zactor_t *persister;                /* WAL writer */
    zactor_t *applier;                  /* state machine driver */
    zr_applier_state_t *applier_state;  /* its state, for applies on the
                                           node (config.apply_on_node) */
    zactor_t *replicators [ZR_NODES_MAX + 1];   /* by peer id */
    zsock_t *links [ZR_NODES_MAX + 1];  /* "d<id>" DEALERs by peer id, send
                                           only: what the node writes itself
                                           (node.h, "Direct sends") */
    msgpack_sbuffer sbuf;               /* encode buffer for links, reused */
    bool via_replicator [ZR_NODES_MAX + 1];     /* by peer id: a storage read
                                           or a snapshot chunk went through
                                           the replicator since the last
                                           AppendEntries from memory */
    uint64_t handed [ZR_NODES_MAX + 1]; /* by peer id: SENDs handed to its
                                           replicator */
    atomic_uint_fast64_t handled [ZR_NODES_MAX + 1];    /* by peer id: SENDs
                                           its replicator is done with (it
                                           counts); == handed: idle */
    zr_poller_t *poller;                /* over every socket above; a send
                                           on one goes through s_self_out */
    uint32_t burst;                     /* poller mask of the inputs a burst
                                           takes: api, router, persister,
                                           applier */
    zr_peer_filter_t filter;            /* partitions, both ways (peer.h) */
    zr_filter_t *faults;                /* incoming link faults (filter.h) */
    uint64_t armed_ms;                  /* timer deadline on the node's
                                           clock, UINT64_MAX if none */
    uint64_t stalled_ms;                /* the node's clock is behind
                                           zclock_mono by this (s_self_clock) */
    uint64_t clock_ms;                  /* the clock's last reading */
    bool listening;                     /* the loop runs: a stall counts */
    uint32_t persist_outstanding;       /* WRITEs with the persister, not yet
                                           PERSISTED; <= ZR_NODE_WRITES_MAX */
    uint64_t persist_bytes;             /* entry bytes of those and the held */
    zlist_t *writes_held;               /* WRITEs waiting for room, in order */
    uint32_t apply_outstanding;         /* APPLY runs not yet APPLIED;
                                           <= ZR_NODE_APPLY_RUNS_MAX */
    zlist_t *applies_held;              /* committed runs waiting for room */
    bool disk_failed;                   /* the persister failed: no acks */
    bool snapshotting;                  /* a SNAPSHOT is with the applier */
    zr_index_t snapshot_failed_at;      /* applied when the last one failed */
    zr_snapshot_meta_t snap_config;     /* servers, for snapshot files */
    bool terminated;                    /* $TERM received */
    zraft_status_t stats;               /* counters reported by STATUS */
    atomic_uint_fast64_t bytes_out;     /* shared with replicators */
    zr_codec_stats_t codec;             /* ROUTER frames by decode result */
    zr_peer_warn_t warn;                /* rate limit of bad-frame warnings */
    zr_peer_who_t who;                  /* this server's links (peer.h) */
    zr_peer_warn_t warn_foreign;        /* ...of frames from another cluster */
    zr_peer_heard_t heard [ZR_NODES_MAX + 1];   /* each peer's instances */
    zr_peer_warn_t warn_twins;          /* ...of two processes as one peer */
    int64_t strangers_since;            /* this second of answers began */
    uint32_t strangers_answered;        /* answers to strangers in it */
    /* The application (node.h): requests in, results and roles out. */
    zsock_t *api;                       /* requests in, replies out (PAIR) */
    zsock_t *events;                    /* RESULTS and ROLE out (PUSH) */
    zsock_t *feed;                      /* wake-ups to the feed (PUSH,
                                           feed.h), or NULL */
    zr_feed_position_t feed_sent;       /* the last position posted */
    zr_tokens_t *tokens;                /* submissions appended, undecided */
    zr_bus_gate_t *gate;                /* admits publications (bus.h) */
    zr_term_t gate_term;                /* the term its pending ones are of */
    zr_results_t results;               /* decided, sent before any reply
                                           and at the end of each Ready */
    zr_apply_req_t *queries;            /* queries to queue behind what the
                                           applier was handed, or NULL */
    zlist_t *reads_pending;             /* s_read_t: linearizable queries
                                           the core has not confirmed */
    zlist_t *reads_ready;               /* s_read_t: confirmed, waiting for
                                           their read index to be queued */
    uint64_t read_ctx;                  /* the last context given the core */
    zr_index_t wal_floor;               /* the WAL holds the log from here on, as
                                           far as the feed may read (restart:
                                           below the snapshot; raised by each
                                           compaction) */
    zr_index_t apply_queued;            /* last index queued for the applier
                                           (restore or run); reads wait on it */
    bool role_unread;                   /* a ROLE not yet RECEIVED */
    zraft_role_t role_sent;             /* state the last ROLE reported */
    zr_term_t term_sent;
    zr_id_t leader_sent;
    bool waiting;                       /* a WAIT awaits its deferred reply */
    int64_t wait_deadline;              /* when it times out (INT64_MAX: never) */
    zr_node_host_t *host;               /* the application's, while hosted
                                           (node.h, "Hosting"); borrowed */
    uint32_t host_bits;                 /* its readers' poller bits */
    int64_t host_at;                    /* when handle is due with NULL
                                           (zclock_mono; INT64_MAX: never) */
} self_t;

/* The node whose host's handle runs on this thread, else NULL. */
static __thread self_t *s_host_self;

/* A linearizable query between zraft_query and its run (node.h). */
typedef struct {
    uint64_t ctx;                       /* its number with the core */
    zr_query_t query;                   /* token, data, read index */
} s_read_t;

static void
s_trace (void *arg, const char *line)
{
    self_t *self = (self_t *) arg;
    if (strncmp (line, "candidate", 9) == 0)
        self->stats.elections++;
    zr_notice ("n%u node: %s", self->id, line);
}

static void s_self_restore (self_t *self, zr_index_t index, zr_term_t term);

/* The node's clock (node.h, "The node's clock"): zclock_mono, less the
   time a stalled thread, process or machine could not spend hearing its
   peers. The node wakes at least every heartbeat (s_self_timeout), so
   readings further apart than two heartbeats mean it did not run
   meanwhile: the clock moves on by two heartbeats, and the rest is
   counted as stalled. Every time the core is given comes from here. */
static uint64_t
s_self_clock (self_t *self)
{
    uint64_t now = (uint64_t) zclock_mono () - self->stalled_ms;
    uint64_t most = self->clock_ms + 2 * (uint64_t) self->args.config.heartbeat_ms;
    if (now > most) {
        uint64_t late = now - most;
        self->stalled_ms += late;
        now = most;
        /* Before the loop runs (recovering the log) it is no stall. */
        if (self->listening) {
            self->stats.stalled_ms += late;
            self->stats.stalls++;
            if (late >= self->args.config.heartbeat_ms)
                zr_warning ("n%u node: stalled for %" PRIu64 " ms (a starved "
                            "thread, a stopped process or machine); not "
                            "counted as silence", self->id, late);
        }
    }
    self->clock_ms = now;
    return now;
}

/* Returns sock, one the node waits on, for a send: the poller asks it
   again before its next sleep, since libzmq may take its wake-up while
   sending (poller.h, Invariant 3). Every send on the api socket or a
   child's pipe goes through here. */
static zsock_t *
s_self_out (self_t *self, zsock_t *sock)
{
    zr_poller_sent (self->poller, sock);
    return sock;
}

/* ---------------------------------------------------------------- start */

/* Starts a child actor (NULL if it could not start) whose pipe never
   blocks the node: sends to it fail at once when it is full
   (back-pressure, node.h). */
static zactor_t *
s_child_start (zactor_fn *actor, void *args)
{
    zactor_t *child = zr_actor_new (actor, args);
    if (child)
        zsock_set_sndtimeo (zactor_sock (child), 0);
    return child;
}

static int
s_self_start_children (self_t *self, zr_wal_t **wal_p)
{
    const zraft_config_t *c = &self->args.config;
    zr_persister_args_t pargs = {.wal = *wal_p, .self_id = self->id,
                                 .who = self->who,
                                 .bytes_out = &self->bytes_out,
                                 .config = self->snap_config};
    snprintf (pargs.data_dir, sizeof pargs.data_dir, "%s", self->args.data_dir);
    for (uint32_t i = 0; i < c->n_servers; i++)
        if (c->servers [i].id != self->id) {
            pargs.peer_ids [pargs.n_peers] = c->servers [i].id;
            snprintf (pargs.endpoints [pargs.n_peers], sizeof pargs.endpoints [0],
                      "%s", c->servers [i].endpoint);
            pargs.n_peers++;
        }
    self->persister = s_child_start (zr_persister_actor, &pargs);
    *wal_p = NULL;                      /* the persister owns it now */
    zr_applier_args_t aargs = {.fsm = self->args.fsm, .id = self->id,
                               .config = self->snap_config,
                               .submit_max = c->submit_max,
                               .dedup_window = c->dedup_window,
                               .producers_max = c->producers_max,
                               .state = &self->applier_state,
                               .feed_news = self->args.feed_news};
    snprintf (aargs.data_dir, sizeof aargs.data_dir, "%s", self->args.data_dir);
    snprintf (aargs.events_endpoint, sizeof aargs.events_endpoint, "%s",
              self->args.events_endpoint);
    self->applier = s_child_start (zr_applier_actor, &aargs);
    self->timer = s_child_start (zr_timer_actor, NULL);
    if (!self->persister || !self->applier || !self->timer)
        return ZR_EINVAL;               /* the actor logged why */
    /* zpoller reports the first readable socket in this order; the timer
       goes last (after the replicators, below) so a node that ran late
       hears every reply that reached it before it judges a deadline: a
       leader counts the acknowledgements waiting in its replicators'
       pipes before check-quorum, instead of stepping down on them. */
    self->poller = zr_poller_new (self->pipe, self->api, self->router,
                                  zactor_sock (self->persister),
                                  zactor_sock (self->applier), NULL);
    /* A burst takes what batches into one Ready: submissions and
       queries, peers' messages, the disk's and the applier's reports.
       Timer ticks, replicator reports and $TERM wait for the next
       wait, one Ready later. */
    self->burst = zr_poller_bit (self->poller, self->api)
                  | zr_poller_bit (self->poller, self->router)
                  | zr_poller_bit (self->poller, zactor_sock (self->persister))
                  | zr_poller_bit (self->poller, zactor_sock (self->applier));
    for (uint32_t i = 0; i < c->n_servers; i++) {
        zr_id_t peer = c->servers [i].id;
        if (peer == self->id)
            continue;
        zr_replicator_args_t rargs = {.self_id = self->id, .who = self->who,
                                      .peer_id = peer,
                                      .bytes_out = &self->bytes_out,
                                      .handled = &self->handled [peer]};
        snprintf (rargs.data_dir, sizeof rargs.data_dir, "%s", self->args.data_dir);
        snprintf (rargs.endpoint, sizeof rargs.endpoint, "%s",
                  c->servers [i].endpoint);
        self->replicators [peer] = s_child_start (zr_replicator_actor, &rargs);
        if (!self->replicators [peer])
            return ZR_EINVAL;
        self->links [peer] = zr_peer_dealer_new ('d', &self->who, c->servers [i].endpoint);
        if (!self->links [peer]) {
            zr_error ("n%u node: cannot connect to n%u at %s", self->id, peer,
                      c->servers [i].endpoint);
            return ZR_EINVAL;
        }
        zr_poller_add (self->poller, zactor_sock (self->replicators [peer]));
    }
    zr_poller_add (self->poller, zactor_sock (self->timer));
    return 0;
}

/* Finds the newest snapshot (meta->index 0 if none), and fills the
   configuration snapshot files carry. Returns 0 or a ZR_E* code, logged. */
static int
s_self_find_snapshot (self_t *self, zr_snapshot_meta_t *meta)
{
    const zraft_config_t *c = &self->args.config;
    self->snap_config.n_servers = c->n_servers;
    for (uint32_t i = 0; i < c->n_servers; i++) {
        self->snap_config.ids [i] = c->servers [i].id;
        snprintf (self->snap_config.endpoints [i], sizeof self->snap_config.endpoints [i],
                  "%s", c->servers [i].endpoint);
    }
    char path [1200], errmsg [512] = "";
    int rc = zr_snapshot_find (self->args.data_dir, meta, path, sizeof path,
                               errmsg, sizeof errmsg);
    if (rc != 0)
        zr_error ("n%u node: cannot use the snapshot in %s: %s", self->id,
                  self->args.data_dir, errmsg);
    return rc;
}

/* Opens the WAL past the snapshot. A log that does not hold the
   snapshot's last entry (a follower applied entries its disk had not
   synced; or a crash came between an installed snapshot's rename and
   the log's restart after it) restarts after the snapshot, as
   zr_core_restore expects. Returns 0 or a ZR_E* code, logged. */
static int
s_self_open_wal (self_t *self, const zr_snapshot_meta_t *snap, zr_wal_t **wal_p,
                 zr_wal_state_t *state)
{
    char errmsg [512] = "";
    int rc = zr_wal_open (self->args.data_dir, self->args.config.segment_bytes,
                          snap->index, wal_p, state, errmsg, sizeof errmsg);
    if (rc == 0 && snap->index > 0) {
        /* The log continues the snapshot if it holds the snapshot's last
           entry with its term, or starts right after it (compaction at
           run time dropped the segment that ended at it; zr_wal_open
           keeps one holding it, so a log that differs there is seen). */
        zr_index_t first = state->n_entries ? state->entries [0].index : 0;
        bool holds = state->n_entries
                  && (first == snap->index + 1
                      || (first <= snap->index
                          && snap->index < first + state->n_entries
                          && state->entries [snap->index - first].term == snap->term));
        if (!holds && (state->start_index != snap->index
                       || state->start_term != snap->term)) {
            rc = zr_wal_set_start (*wal_p, snap->index, snap->term);
            if (rc == 0)
                rc = zr_wal_sync (*wal_p, errmsg, sizeof errmsg);
        }
    }
    if (rc != 0) {
        zr_error ("n%u node: cannot open log in %s: %s", self->id,
                  self->args.data_dir, errmsg);
        zr_wal_destroy (wal_p);
    }
    return rc;
}

static int
s_self_start (self_t *self)
{
    const zraft_config_t *c = &self->args.config;
    zr_core_config_t cc = {.id = c->id, .n_servers = c->n_servers,
                           .heartbeat_ms = c->heartbeat_ms,
                           .election_timeout_ms = c->election_timeout_ms,
                           .inflight_max = c->inflight_max,
                           .inflight_bytes_max = c->inflight_bytes_max,
                           .batch_bytes = c->batch_bytes,
                           .seed = c->seed ? c->seed : (uint64_t) zclock_usecs (),
                           .pre_vote = c->pre_vote, .check_quorum = c->check_quorum,
                           .snapshot_trailing = c->snapshot_trailing,
                           .snapshot_trailing_bytes = c->snapshot_bytes,
                           .snapshot_chunk_bytes = c->snapshot_chunk_bytes,
                           .storage_catchup = c->wal_catchup,
                           .trace = s_trace, .trace_arg = self};
    const char *endpoint = NULL;
    for (uint32_t i = 0; i < c->n_servers; i++) {
        cc.servers [i] = c->servers [i].id;
        if (c->servers [i].id == c->id)
            endpoint = c->servers [i].endpoint;
    }
    zr_snapshot_meta_t snap;
    memset (&snap, 0, sizeof snap);
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    memset (&state, 0, sizeof state);
    int rc = s_self_find_snapshot (self, &snap);
    if (rc == 0)
        rc = s_self_open_wal (self, &snap, &wal, &state);
    if (rc != 0)
        return rc;
    /* The WAL writes the hard state before the entries of the same sync
       and restates it at the start of every segment (wal.h, invariant
       9), so its term is never below a term its entries hold, whatever
       a crash cut: if it is, its newest records are gone (a segment
       removed), and with them the vote of that term, which must not be
       cast again. (A snapshot's term may be ahead of the WAL's after a
       crash: the applier can snapshot entries the WAL had not synced;
       it is not checked.) */
    zr_term_t held = state.n_entries ? state.entries [state.n_entries - 1].term
                                     : 0;
    if (state.term < held) {
        zr_error ("n%u node: the write-ahead log's term %llu is below term"
                  " %llu of an entry it holds: its newest records are"
                  " missing (a segment removed?), and with them this"
                  " server's vote; refusing to start", self->id,
                  (unsigned long long) state.term, (unsigned long long) held);
        zr_entries_destroy (&state.entries, state.n_entries);
        zr_wal_destroy (&wal);
        return ZR_ECORRUPT;
    }
    self->core = zr_core_new (&cc, s_self_clock (self));
    zr_core_restore_t restore = {.term = state.term, .vote = state.vote,
                                 .snap_index = snap.index, .snap_term = snap.term,
                                 .snap_size = snap.size,
                                 .entries = state.entries,
                                 .n_entries = state.n_entries};
    rc = self->core ? zr_core_restore (self->core, &restore) : ZR_ENOMEM;
    if (rc == 0)
        self->wal_floor = zr_core_storage_first (self->core);
    zr_notice ("n%u node: recovered term=%llu vote=%u snapshot=%llu entries=%u",
               self->id, (unsigned long long) state.term, state.vote,
               (unsigned long long) snap.index, state.n_entries);
    zr_entries_destroy (&state.entries, state.n_entries);
    self->router = rc == 0 ? zr_peer_router_new (endpoint) : NULL;
    if (rc == 0 && !self->router)
        rc = ZR_EINVAL;
    if (rc == 0)
        rc = s_self_start_children (self, &wal);
    zr_wal_discard (&wal);              /* a fresh directory's failed start */
    if (rc == 0 && snap.index > 0)
        s_self_restore (self, snap.index, snap.term);   /* before any run */
    return rc;
}

/* ---------------------------------------------------------------- output */

/* Encodes msg and writes it to its peer on the node's own link, never
   blocking. Returns 0, or ZR_EBUSY if the link is full (or not up yet):
   the frame is dropped, as a lossy network would. */
static int
s_self_write (self_t *self, const zr_message_t *msg)
{
    zr_assert (msg->to >= 1 && msg->to <= ZR_NODES_MAX);
    zsock_t *link = self->links [msg->to];
    zr_assert (link);
    self->sbuf.size = 0;
    int rc = zr_codec_encode (msg, &self->sbuf);
    zr_assert (rc == 0);                /* the core respects the limits */
    rc = zr_peer_send (link, self->sbuf.data, self->sbuf.size);
    if (rc == 0)
        atomic_fetch_add (&self->bytes_out, self->sbuf.size);
    return rc;
}

/* Returns true for a request the node writes itself rather than hand to
   the replicator (node.h, "Direct sends"): a heartbeat; or a small
   AppendEntries from memory (at most ZR_NODE_DIRECT_BYTES_MAX of
   entries the core holds) while the peer's replicator is idle, so it
   follows, not overtakes, what the replicator sent, and only after the
   first one from memory that follows a storage read or a snapshot
   chunk went through the replicator too. */
static bool
s_direct (self_t *self, const zr_message_t *msg)
{
    if (msg->type != ZR_MSG_APPEND || msg->read_last > 0)
        return false;
    if (msg->n_entries == 0)
        return true;                    /* a heartbeat */
    zr_id_t to = msg->to;
    zr_assert (self->handed [to] >= atomic_load (&self->handled [to]));
    if (self->via_replicator [to] || atomic_load (&self->handled [to]) != self->handed [to])
        return false;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < msg->n_entries && bytes <= ZR_NODE_DIRECT_BYTES_MAX; i++)
        bytes += msg->entries [i].size;
    return bytes <= ZR_NODE_DIRECT_BYTES_MAX;
}

/* Sends one request (taking it): an AppendEntries from memory on the
   node's own link (s_direct), anything else through the peer's
   replicator. Replies never come here: they go with the persister
   (s_self_ready) or s_self_replies. */
static void
s_self_send (self_t *self, zr_message_t **msg_p)
{
    zr_message_t *msg = *msg_p;
    *msg_p = NULL;
    zr_assert (msg->type == ZR_MSG_VOTE || msg->type == ZR_MSG_APPEND
               || msg->type == ZR_MSG_PREVOTE || msg->type == ZR_MSG_TIMEOUT_NOW
               || msg->type == ZR_MSG_SNAPSHOT);
    if (!zr_peer_filter_pass (&self->filter, self->id, self->id, msg->to)) {
        zr_message_destroy (&msg);
        return;
    }
    if (msg->type == ZR_MSG_APPEND) {
        self->stats.appends_out++;
        self->stats.entries_out += msg->n_entries;
    }
    zr_id_t to = msg->to;
    if (s_direct (self, msg)) {
        if (s_self_write (self, msg) != 0)
            zr_core_unreachable (self->core, to);   /* as a full link */
        zr_message_destroy (&msg);
        return;
    }
    /* After a storage read or a chunk, the next AppendEntries from
       memory follows them through the replicator (which then drops its
       WAL reader), and those after it go direct again. */
    if (msg->type == ZR_MSG_SNAPSHOT || msg->read_last > 0)
        self->via_replicator [to] = true;
    else
    if (msg->type == ZR_MSG_APPEND)
        self->via_replicator [to] = false;
    zactor_t *replicator = self->replicators [msg->to];
    zr_assert (replicator);
    if (zr_replicator_send_send (s_self_out (self, zactor_sock (replicator)), &msg) != 0)
        zr_core_unreachable (self->core, to);   /* as a full link (node.h) */
    else
        self->handed [to]++;
}

static void
s_self_send_all (self_t *self, zr_message_t **msgs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        s_self_send (self, &msgs [i]);
}

/* Drops (destroys) the messages the fault filter cuts, compacting. */
static void
s_self_filter (self_t *self, zr_message_t **msgs, uint32_t *n_p)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < *n_p; i++) {
        if (zr_peer_filter_pass (&self->filter, self->id, self->id, msgs [i]->to))
            msgs [kept++] = msgs [i];
        else
            zr_message_destroy (&msgs [i]);
    }
    *n_p = kept;
}

/* A child actor ended on its own (the context ended): the node stops. */
static void
s_self_child_ended (self_t *self, const char *child)
{
    zr_error ("n%u node: the %s actor ended; stopping", self->id, child);
    self->terminated = true;
}

/* Returns the entry bytes a WRITE request carries. */
static uint64_t
s_req_bytes (const zr_persist_req_t *req)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < req->n_entries; i++)
        bytes += req->entries [i].size;
    return bytes;
}

/* Queues a WRITE (taken; may be NULL), then hands the persister what
   waits, oldest first, while it has room (back-pressure, node.h). */
static void
s_self_persist (self_t *self, zr_persist_req_t *req)
{
    if (req && !req->hs_changed && req->n_entries == 0 && req->n_chunks == 0
        && req->compact == 0 && zlist_size (self->writes_held) >= ZR_NODE_HELD_MAX) {
        zr_warning ("n%u node: disk behind, %u writes waiting; dropped %u replies",
                    self->id, ZR_NODE_HELD_MAX, req->n_msgs);
        zr_persist_req_destroy (&req);
    }
    if (req) {
        self->persist_bytes += s_req_bytes (req);
        int rc = zlist_append (self->writes_held, req);
        zr_assert (rc == 0);
    }
    while (self->persist_outstanding < ZR_NODE_WRITES_MAX
           && (req = (zr_persist_req_t *) zlist_pop (self->writes_held))) {
        if (zr_persister_send_write (s_self_out (self, zactor_sock (self->persister)), &req) != 0) {
            s_self_child_ended (self, "persister");
            break;
        }
        self->persist_outstanding++;
    }
}

/* Returns true when no WRITE is with the persister or waiting for room:
   everything the node handed it is durable (a PERSISTED comes back only
   after the fdatasync that covers its requests). */
static bool
s_self_disk_idle (self_t *self)
{
    return self->persist_outstanding == 0 && zlist_size (self->writes_held) == 0;
}

/* Returns true while the disk is behind: proposals get ZR_EBUSY. */
static bool
s_self_disk_behind (self_t *self)
{
    return self->persist_outstanding >= ZR_NODE_WRITES_MAX
           || self->persist_bytes >= ZR_NODE_WRITE_BYTES_MAX;
}

static void s_self_snapshot_maybe (self_t *self);
static void s_self_feed (self_t *self);

/* Returns true if the node may apply req itself (config.apply_on_node;
   node.h, "Applies on the node"): a small run or queries, not a
   restore, while the applier holds nothing (no APPLY or SNAPSHOT out,
   nothing waiting to be handed to it), so no callback runs meanwhile
   and nothing queued before req is overtaken. A feed hears of the run
   at once (s_self_apply_run), before its results leave. */
static bool
s_self_apply_here (self_t *self, const zr_apply_req_t *req)
{
    return self->args.config.apply_on_node && !self->disk_failed
           && req->restore_index == 0
           && req->n_entries <= ZR_APPLIER_HERE_ENTRIES_MAX
           && self->apply_outstanding == 0
           && zlist_size (self->applies_held) == 0 && !self->snapshotting;
}

/* Applies req (taken) on this thread (s_self_apply_here); its results
   go out with the Ready's. */
static void
s_self_apply_run (self_t *self, zr_apply_req_t **req_p)
{
    const zraft_fsm_t *fsm = &self->args.fsm;
    zr_assert (self->applier_state && s_self_apply_here (self, *req_p));
    zr_handoff_recv (fsm->arg);         /* from the applier (applier.h) */
    zr_handoff_recv (self->applier_state);
    zr_index_t applied = 0;
    int rc = zr_applier_apply_here (self->applier_state, req_p, &self->results,
                                    &applied);
    zr_assert (rc == 0);                /* no failed restore: !disk_failed */
    if (fsm->arg)
        zr_handoff_send (fsm->arg);     /* back with the next APPLY */
    zr_handoff_send (self->applier_state);
    zr_assert (applied >= self->stats.applied);
    self->stats.applied = applied;
    self->stats.applies_on_node++;
    s_self_feed (self);                 /* before the run's RESULTs leave */
    s_self_snapshot_maybe (self);
}

/* Queues a committed run (taken; may be NULL), then hands the applier
   what waits, oldest first, while it has room (back-pressure, node.h);
   or applies it here when it may (s_self_apply_here). */
static void
s_self_apply (self_t *self, zr_apply_req_t *req)
{
    if (req && s_self_apply_here (self, req)) {
        s_self_apply_run (self, &req);
        return;
    }
    if (req) {
        int rc = zlist_append (self->applies_held, req);
        zr_assert (rc == 0);
    }
    while (self->apply_outstanding < ZR_NODE_APPLY_RUNS_MAX
           && (req = (zr_apply_req_t *) zlist_pop (self->applies_held))) {
        if (zr_applier_send_apply (s_self_out (self, zactor_sock (self->applier)), &req) != 0) {
            s_self_child_ended (self, "applier");
            break;
        }
        self->apply_outstanding++;
    }
}

/* ---------------------------------------------------------------- application */

/* Sends the results decided so far, in one message (results.h). */
static void
s_self_flush (self_t *self)
{
    zr_results_send (&self->results, self->events, self->id);
}

/* Queues query (its data taken) behind everything queued for the
   applier so far; it goes out with the next Ready (s_self_queries). */
static void
s_self_query_queue (self_t *self, zr_query_t *query)
{
    if (!self->queries) {
        self->queries = (zr_apply_req_t *) calloc (1, sizeof *self->queries);
        zr_assert (self->queries);
    }
    zr_apply_req_add_query (self->queries, query);
    query->data = NULL;
}

/* Hands the queued queries to the applier: with the last run still
   waiting for room, or alone (back-pressure, node.h). */
static void
s_self_queries (self_t *self)
{
    zr_apply_req_t *req = self->queries;
    if (!req)
        return;
    self->queries = NULL;
    zr_apply_req_t *last = (zr_apply_req_t *) zlist_last (self->applies_held);
    if (!last) {
        s_self_apply (self, req);
        return;
    }
    for (uint32_t i = 0; i < req->n_queries; i++)
        zr_apply_req_add_query (last, &req->queries [i]);
    req->n_queries = 0;                 /* moved, data included */
    zr_apply_req_destroy (&req);
}

/* Answers a query that will not run (its data freed). */
static void
s_self_query_refuse (self_t *self, zr_query_t *query, int status)
{
    zr_id_t leader = status == ZR_ENOTLEADER ? zr_core_leader (self->core) : 0;
    zr_results_add (&self->results, query->token, status, leader, 0, 0, NULL, 0);
    zframe_destroy (&query->data);
}

/* Returns true if the confirmed query may run on this thread now
   (config.query_on_node; node.h, "Queries on the node"): the applier
   applied its read index and holds nothing (no APPLY or SNAPSHOT out,
   no run or query waiting to go), so no callback runs meanwhile and no
   query queued before it is overtaken. */
static bool
s_self_query_here (self_t *self, const zr_query_t *query)
{
    return self->args.config.query_on_node && !query->stale && !query->cursors
           && !self->disk_failed
           && self->apply_outstanding == 0 && zlist_size (self->applies_held) == 0
           && !self->queries && !self->snapshotting
           && self->stats.applied >= query->read_index;
}

/* Runs a confirmed query on this thread (s_self_query_here), its data
   freed; the RESULT goes out with the Ready's. */
static void
s_self_query_run (self_t *self, zr_query_t *query)
{
    const zraft_fsm_t *fsm = &self->args.fsm;
    zr_assert (s_self_query_here (self, query));
    zr_handoff_recv (fsm->arg);         /* from the applier's APPLIED (applier.h) */
    zr_applier_query_run (fsm, self->id, query, query->read_index,
                          query->read_term, &self->results);
    if (fsm->arg)
        zr_handoff_send (fsm->arg);     /* back with the next APPLY */
    zframe_destroy (&query->data);
    self->stats.queries_on_node++;
}

/* Confirmed reads whose read index is queued for the applier go behind
   it, or run here if they may (node.h). */
static void
s_self_reads_release (self_t *self)
{
    s_read_t *read;
    while ((read = (s_read_t *) zlist_first (self->reads_ready))
           && read->query.read_index <= self->apply_queued) {
        zlist_pop (self->reads_ready);
        if (s_self_query_here (self, &read->query))
            s_self_query_run (self, &read->query);
        else
            s_self_query_queue (self, &read->query);
        free (read);
    }
}

/* Sends a ROLE event if this server's role, term or leader changed
   since the last one and that one was received (coalescing, node.h). */
static void
s_self_role (self_t *self)
{
    zraft_role_t role = (zraft_role_t) zr_core_role (self->core);
    zr_term_t term = zr_core_term (self->core);
    zr_id_t leader = zr_core_leader (self->core);
    if (self->role_unread || (role == self->role_sent && term == self->term_sent
                              && leader == self->leader_sent))
        return;
    if (zr_events_send_role (self->events, (int) role, term, leader) != 0) {
        zr_error ("n%u node: cannot deliver a ROLE event", self->id);
        return;
    }
    self->role_unread = true;
    self->role_sent = role;
    self->term_sent = term;
    self->leader_sent = leader;
}

/* Answers a WAIT once a leader is known or at its deadline. */
static void
s_self_wait_check (self_t *self)
{
    if (!self->waiting)
        return;
    zr_id_t leader = zr_core_leader (self->core);
    if (leader == 0 && zclock_mono () < self->wait_deadline)
        return;
    self->waiting = false;
    s_self_flush (self);
    zr_verb_reply (s_self_out (self, self->api), zr_node_verbs, ZR_NODE_WAIT,
                   leader ? 0 : ZR_ETIMEDOUT, (uint32_t) leader);
}

/* A snapshot installed from a leader (its last chunk in rd) decides
   the tokens it covers (tokens.h). */
static void
s_self_covered (self_t *self, const zr_ready_t *rd)
{
    for (uint32_t i = 0; i < rd->n_chunks; i++)
        if (rd->chunks [i].last)
            zr_tokens_covered (self->tokens, rd->chunks [i].index,
                               rd->chunks [i].term, &self->results);
}

/* Takes the reads the core confirmed or failed in rd (node.h). */
static void
s_self_reads (self_t *self, const zr_ready_t *rd)
{
    for (uint32_t i = 0; i < rd->n_reads + rd->n_reads_failed; i++) {
        bool ok = i < rd->n_reads;
        uint64_t ctx = ok ? rd->reads [i].ctx : rd->reads_failed [i - rd->n_reads];
        s_read_t *read = (s_read_t *) zlist_first (self->reads_pending);
        while (read && read->ctx != ctx)    /* nearly always the first */
            read = (s_read_t *) zlist_next (self->reads_pending);
        zr_assert (read);               /* the core answers each once */
        zlist_remove (self->reads_pending, read);
        if (ok) {
            read->query.read_index = rd->reads [i].index;
            read->query.read_term = zr_core_term (self->core);
            int rc = zlist_append (self->reads_ready, read);
            zr_assert (rc == 0);
        }
        else {
            s_self_query_refuse (self, &read->query, ZR_ENOTLEADER);
            free (read);
        }
    }
}

/* The committed run rd->committed goes to the applier with the tokens
   it decides (tokens.h). */
static void
s_self_decide (self_t *self, zr_ready_t *rd)
{
    if (rd->n_committed == 0)
        return;
    zr_apply_req_t *req = (zr_apply_req_t *) calloc (1, sizeof *req);
    zr_assert (req);
    req->entries = rd->committed;
    req->n_entries = rd->n_committed;
    rd->committed = NULL;
    zr_tokens_commit (self->tokens, req->entries, req->n_entries, &req->tokens,
                      &req->n_tokens, &self->results);
    zr_bus_gate_committed (self->gate, req->entries, req->n_entries);
    zr_assert (req->entries [0].index == self->apply_queued + 1);
    self->apply_queued = req->entries [req->n_entries - 1].index;
    s_self_apply (self, req);
}

/* Writes the replies of a Ready that changes nothing on disk, from the
   node itself, when no WRITE is with the persister (node.h, "Direct
   sends"). Invariant 7 of raft/core.h holds without the persister: a
   reply depends on the term and vote and on the log it was checked
   against; this Ready writes none of them (no hard state, entries,
   chunks), and every earlier WRITE that did is durable (none is
   outstanding or held: s_self_disk_idle). So the reply acknowledges
   only what is on disk, and it overtakes no reply of the persister's,
   which sends its replies before its PERSISTED. A full link drops the
   reply, as the persister does: the leader retries. */
static void
s_self_replies (self_t *self, zr_ready_t *rd)
{
    zr_assert (!rd->hs_changed && rd->n_entries == 0 && rd->n_chunks == 0);
    zr_assert (s_self_disk_idle (self));
    s_self_filter (self, rd->msgs_synced, &rd->n_msgs_synced);
    for (uint32_t i = 0; i < rd->n_msgs_synced; i++) {
        s_self_write (self, rd->msgs_synced [i]);
        zr_message_destroy (&rd->msgs_synced [i]);
    }
    self->stats.replies_direct += rd->n_msgs_synced;
    rd->n_msgs_synced = 0;
}

/* Tells the feed where the log stands, if that changed (feed.h): what
   is applied here and durable in the WAL may be read and delivered.
   Sent before the Ready hands anything on, so a subscription opened
   after any RESULT of it was received sees its commit index. */
static void
s_self_feed (self_t *self)
{
    if (!self->feed)
        return;
    zr_index_t persisted = zr_core_persisted_index (self->core);
    /* After a restart the log in memory starts after the snapshot, but
       the WAL still holds what preceded it (snapshot_trailing): the
       feed reads that from the WAL, as before the restart. */
    zr_index_t first = zr_log_first_index (zr_core_log (self->core));
    zr_index_t floor = zr_core_storage_first (self->core);
    floor = floor > self->wal_floor ? floor : self->wal_floor;
    zr_feed_position_t now = {
        .deliverable = self->stats.applied < persisted ? self->stats.applied : persisted,
        .first = floor < first ? floor : first,
        .commit = zr_core_commit (self->core)};
    zr_feed_post (self->args.feed_news, self->feed, &self->feed_sent, &now);
}

/* The gate's pending publications are this leader's, of this term:
   they are forgotten once it no longer leads in it (bus.h). */
static void
s_self_gate_term (self_t *self)
{
    zr_term_t term = zr_core_term (self->core);
    if ((zr_core_role (self->core) != ZR_ROLE_LEADER || term != self->gate_term)
        && zr_bus_gate_pending (self->gate) > 0)
        zr_bus_gate_step_down (self->gate);
    self->gate_term = term;
}

/* Dispatches the core's effects (see node.h). */
static void
s_self_ready (self_t *self)
{
    uint64_t now = s_self_clock (self);
    zr_ready_t rd;
    memset (&rd, 0, sizeof rd);
    zr_core_ready (self->core, &rd, now);
    if (rd.compact >= self->wal_floor)
        self->wal_floor = rd.compact + 1;   /* segments up to it may go: the
                                               feed hears it before they do */
    s_self_feed (self);                 /* before any RESULT it makes */
    s_self_covered (self, &rd);
    /* The followers' path is the longest of the commit: start it first,
       then the leader's own write, then the applier (thesis §10.2.1).
       A server whose disk failed sends nothing at all: a leader so
       steps down in effect (its followers time out and elect another
       instead of waiting on a leader that refuses every proposal), and
       nothing it says depends on state it could not make durable. */
    if (!self->disk_failed) {
        s_self_send_all (self, rd.msgs, rd.n_msgs);
        rd.n_msgs = 0;
    }
    /* Every message that must wait for the disk goes through the
       persister, in order, even when there is nothing new to write;
       unless there is nothing to wait for (s_self_replies). */
    bool writes = rd.hs_changed || rd.n_entries > 0 || rd.n_chunks > 0
                  || rd.compact > 0;
    if (self->disk_failed)
        ;                               /* no acks, no votes: release drops them */
    else
    if (!writes && rd.n_msgs_synced > 0 && s_self_disk_idle (self))
        s_self_replies (self, &rd);
    else
    if (writes || rd.n_msgs_synced > 0) {
        s_self_filter (self, rd.msgs_synced, &rd.n_msgs_synced);
        zr_persist_req_t *req = (zr_persist_req_t *) calloc (1, sizeof *req);
        zr_assert (req);
        *req = (zr_persist_req_t) {.hs_changed = rd.hs_changed, .term = rd.term,
                                   .vote = rd.vote, .entries = rd.entries,
                                   .n_entries = rd.n_entries,
                                   .msgs = rd.msgs_synced,
                                   .n_msgs = rd.msgs_synced ? rd.n_msgs_synced : 0,
                                   .chunks = rd.chunks, .n_chunks = rd.n_chunks,
                                   .compact = rd.compact};
        rd.entries = NULL;
        rd.msgs_synced = NULL;
        rd.chunks = NULL;
        rd.n_chunks = 0;
        s_self_persist (self, req);
    }
    s_self_decide (self, &rd);
    s_self_reads (self, &rd);
    s_self_reads_release (self);
    s_self_queries (self);
    s_self_flush (self);
    zr_ready_release (&rd);
    /* Re-arm only when the deadline moved earlier; a late TICK is harmless. */
    uint64_t deadline = zr_core_deadline (self->core);
    if (deadline < self->armed_ms
        && zr_timer_send_arm (s_self_out (self, zactor_sock (self->timer)),
                              deadline + self->stalled_ms) == 0)
        self->armed_ms = deadline;
    s_self_gate_term (self);
    s_self_role (self);
    s_self_wait_check (self);
}

/* ---------------------------------------------------------------- input */

/* Hands one message to the core (taking it). */
static void
s_self_act (self_t *self, zr_message_t *msg)
{
    int rc = zr_core_step (self->core, msg, s_self_clock (self));
    if (rc != 0) {
        self->stats.frames_rejected++;
        zr_peer_warn (&self->warn, self->id, "node", NULL, 0, zr_strerror (rc));
    }
    zr_message_destroy (&msg);
}

/* A message from a peer (taken): partitions, then the fault filter. */
static void
s_self_step (self_t *self, zr_message_t *msg)
{
    if (!zr_peer_filter_pass (&self->filter, self->id, msg->from, self->id)) {
        zr_message_destroy (&msg);
        return;
    }
    if (!zr_filter_active (self->faults)) {
        s_self_act (self, msg);
        return;
    }
    zr_message_t *dup = NULL;
    msg = zr_filter_pass (self->faults, msg, (uint64_t) zclock_mono (), &dup);
    if (msg)
        s_self_act (self, msg);
    if (dup)
        s_self_act (self, dup);
}

/* Acts on the messages the fault filter held until now. */
static void
s_self_release (self_t *self)
{
    zr_message_t *msg;
    while ((msg = zr_filter_due (self->faults, (uint64_t) zclock_mono ())))
        s_self_act (self, msg);
}

/* Returns true if a frame from who may be read: who names a server of
   this cluster (peer.h, Identities); else it is refused, with a
   rate-limited error (a misconfiguration that keeps the cluster from
   forming must be seen). */
static bool
s_self_knows (self_t *self, const zr_peer_who_t *who, zframe_t *payload)
{
    if (who->cluster == self->who.cluster)
        return true;
    int64_t now = zclock_mono ();
    if (now < self->warn_foreign.next_ms) {
        self->warn_foreign.suppressed++;
        return false;
    }
    /* Where it connects from (TCP: its address), to find it by. */
    const char *address = payload ? zframe_meta (payload, "Peer-Address") : NULL;
    zr_error ("n%u node: refused frames from a process at %s that says it is"
              " n%u of cluster %016" PRIx64 ", not this one (%016" PRIx64 "):"
              " every member must be given the same servers, ids and"
              " endpoints spelt alike; check that one's list (suppressed=%llu;"
              " said again every %d s while it goes on)", self->id,
              address ? address : "an unknown address", who->id, who->cluster,
              self->who.cluster,
              (unsigned long long) self->warn_foreign.suppressed,
              ZR_PEER_FOREIGN_WARN_MS / 1000);
    self->warn_foreign.next_ms = now + ZR_PEER_FOREIGN_WARN_MS;
    self->warn_foreign.suppressed = 0;
    return false;
}

/* Notes who sent a frame (a member of this cluster, before the fault
   filter, which cuts links, not processes): two processes heard as one
   member for a while are twins (zr_peer_heard), and are named in a
   rate-limited error. */
static void
s_self_heard (self_t *self, const zr_peer_who_t *who)
{
    if (who->id == 0 || who->id > ZR_NODES_MAX)
        return;
    int64_t now = zclock_mono ();
    int64_t span = ZR_PEER_TWINS_ELECTIONS
                   * (int64_t) self->args.config.election_timeout_ms;
    if (span < ZR_PEER_TWINS_MIN_MS)
        span = ZR_PEER_TWINS_MIN_MS;
    zr_peer_heard_t *heard = &self->heard [who->id];
    if (!zr_peer_heard (heard, who->instance, now, span))
        return;
    if (now < self->warn_twins.next_ms) {
        self->warn_twins.suppressed++;
        return;
    }
    zr_error ("n%u node: two processes speak as n%u (instances %016" PRIx64
              " and %016" PRIx64 ", both heard for %.1f s): a member's id must"
              " be given to one process only; if this goes on, find the one"
              " that should not run and stop it (suppressed=%llu)", self->id,
              who->id, heard->instance [0], heard->instance [1],
              (double) span / 1000.0,
              (unsigned long long) self->warn_twins.suppressed);
    self->warn_twins.next_ms = now + ZR_PEER_WARN_INTERVAL_MS;
    self->warn_twins.suppressed = 0;
}

/* A frame from a process with no peer identity: a client given this
   peer endpoint by mistake. It is told so in its own protocol
   (zr_peer_stranger_answer), so it can name the mistake at once
   instead of timing out; one answer per frame, ZR_PEER_STRANGER_ANSWERS
   a second at most, nothing queued if it cannot be sent at once. */
static void
s_self_answer_stranger (self_t *self, zframe_t *identity, zframe_t *payload)
{
    int64_t now = zclock_mono ();
    if (now - self->strangers_since >= 1000) {
        self->strangers_since = now;
        self->strangers_answered = 0;
    }
    if (self->strangers_answered++ >= ZR_PEER_STRANGER_ANSWERS)
        return;
    char text [160];
    snprintf (text, sizeof text, "this is the peer endpoint of server %u,"
              " for the members of its cluster only: give a client or bus"
              " endpoint", (unsigned) self->id);
    uint8_t *data = NULL;
    size_t size = 0;
    if (zr_peer_stranger_answer (payload ? zframe_data (payload) : NULL,
                                 payload ? zframe_size (payload) : 0, text,
                                 &data, &size) == 0) {
        zr_peer_send_to (self->router, zframe_data (identity),
                         zframe_size (identity), data, size);
        free (data);
    }
}

static void
s_self_handle_router (self_t *self)
{
    zmsg_t *frames = zmsg_recv (self->router);
    if (!frames)
        return;
    zframe_t *identity = zmsg_first (frames);
    zframe_t *payload = zmsg_next (frames);
    char kind = 0;
    zr_peer_who_t who;
    zr_id_t from = zr_peer_id_parse (zframe_data (identity), zframe_size (identity),
                                     &kind, &who);
    if (from && !s_self_knows (self, &who, payload)) {
        self->stats.frames_rejected++;
        zmsg_destroy (&frames);
        return;
    }
    if (from)
        s_self_heard (self, &who);
    zr_message_t *msg = NULL;
    int rc = ZR_EMALFORMED;
    if (from && payload && zmsg_size (frames) == 2)
        rc = zr_codec_decode (zframe_data (payload), zframe_size (payload), &msg);
    /* Requests come from a peer's replicator ('n') and replies from its
       persister ('r'), which also sends what had to wait for the disk
       (votes after a term change): the kind is not checked, the sender
       is. */
    bool request = rc == 0 && (msg->type == ZR_MSG_VOTE || msg->type == ZR_MSG_APPEND
                               || msg->type == ZR_MSG_PREVOTE
                               || msg->type == ZR_MSG_TIMEOUT_NOW
                               || msg->type == ZR_MSG_SNAPSHOT);
    if (rc == 0 && (msg->from != from || msg->to != self->id)) {
        zr_message_destroy (&msg);
        rc = ZR_EMALFORMED;
    }
    zr_codec_stats_add (&self->codec, rc);
    if (rc != 0) {
        self->stats.frames_rejected++;
        char legacy [96] = "";
        if (!from && zr_peer_id_legacy (zframe_data (identity), zframe_size (identity)))
            snprintf (legacy, sizeof legacy, "n%c runs an older zraft: upgrade"
                      " every member together", ((char *) zframe_data (identity)) [1]);
        else
        if (!from)
            s_self_answer_stranger (self, identity, payload);
        zr_peer_warn (&self->warn, self->id, "node/router",
                      payload ? zframe_data (payload) : NULL,
                      payload ? zframe_size (payload) : 0,
                      *legacy ? legacy : !from ? "from a process that is not a"
                      " member: a client given a peer endpoint?" : zr_strerror (rc));
    }
    else {
        if (request)
            self->stats.rpcs_in++;
        s_self_step (self, msg);
    }
    zmsg_destroy (&frames);
}

/* Takes a batch of written requests back from the persister. */
static void
s_self_persisted (self_t *self, zr_persist_batch_t *batch)
{
    zr_assert (self->persist_outstanding >= batch->n_reqs);
    self->persist_outstanding -= batch->n_reqs;
    for (uint32_t i = 0; i < batch->n_reqs; i++) {
        zr_persist_req_t *req = batch->reqs [i];
        uint64_t bytes = s_req_bytes (req);
        zr_assert (self->persist_bytes >= bytes);
        self->persist_bytes -= bytes;
        zr_assert (req->n_msgs == 0);   /* the persister sent them */
        const zr_chunk_t *chunk = req->n_chunks ? &req->chunks [req->n_chunks - 1] : NULL;
        if (chunk && chunk->last && !batch->failed) {
            s_self_restore (self, chunk->index, chunk->term);   /* in order */
            zr_core_installed (self->core, chunk->index);
            self->stats.snapshots_installed++;
        }
        if (req->n_entries > 0 && !batch->failed) {
            const zr_entry_t *last = &req->entries [req->n_entries - 1];
            zr_core_persisted (self->core, last->index, last->term);
            self->stats.wal_entries += req->n_entries;
        }
    }
    self->stats.wal_syncs = batch->wal.syncs;
    self->stats.wal_bytes = batch->wal.bytes;
    zr_persist_batch_destroy (&batch);
    s_self_persist (self, NULL);        /* room for what waits */
}

static void
s_self_handle_persister (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (zactor_sock (self->persister), zr_persister_verbs, &msg);
    if (verb < 0)
        s_self_child_ended (self, "persister");
    else
    if (verb == ZR_PERSISTER_FAILED)
        self->disk_failed = true;       /* logged by the persister */
    else {
        zr_assert (verb == ZR_PERSISTER_PERSISTED && msg.args [0].p);
        s_self_persisted (self, (zr_persist_batch_t *) msg.args [0].p);
    }
    zr_verb_msg_reset (&msg);
}

/* Returns 0 if a submission can be appended now, else why not. */
static int
s_self_refusal (self_t *self)
{
    if (self->disk_failed)
        return ZR_EIO;
    if (zr_core_role (self->core) != ZR_ROLE_LEADER)
        return ZR_ENOTLEADER;
    if (zr_core_transferring (self->core))
        return ZR_EBUSY;                /* all or nothing: checked up front */
    if (s_self_disk_behind (self))
        return ZR_EBUSY;                /* back-pressure (node.h) */
    return 0;
}

/* The sizes (u32 each) and tokens (u64 each) of a SUBMIT or BUS run:
   copies the n tokens into tokens, returns the sizes. */
static const uint32_t *
s_run_frames (zframe_t *size_frame, zframe_t *token_frame, uint64_t *tokens,
              size_t *n_p)
{
    zr_assert (size_frame && zframe_size (size_frame) % sizeof (uint32_t) == 0);
    size_t n = zframe_size (size_frame) / sizeof (uint32_t);
    zr_assert (n >= 1 && n <= ZRAFT_SUBMIT_MANY_MAX);
    zr_assert (token_frame && zframe_size (token_frame) == n * sizeof (uint64_t));
    memcpy (tokens, zframe_data (token_frame), n * sizeof (uint64_t));
    *n_p = n;
    return (const uint32_t *) zframe_data (size_frame);
}

/* Answers the n tokens of a refused run with rc (node.h). */
static void
s_self_refuse_run (self_t *self, const uint64_t *tokens, size_t n, int rc)
{
    zr_id_t leader = rc == ZR_ENOTLEADER ? zr_core_leader (self->core) : 0;
    for (size_t i = 0; i < n; i++)
        zr_results_add (&self->results, tokens [i], rc, leader, 0, 0, NULL, 0);
}

/* SUBMIT: appends the n commands packed in blob (sizes and tokens in the
   frames) to the log, all or none, and records their tokens; refused,
   answers each token at once (node.h). */
static void
s_self_submit (self_t *self, zr_blob_t *blob, zframe_t *size_frame,
               zframe_t *token_frame)
{
    uint64_t tokens [ZRAFT_SUBMIT_MANY_MAX];
    size_t n;
    const uint32_t *sizes = s_run_frames (size_frame, token_frame, tokens, &n);
    int rc = s_self_refusal (self);
    zr_index_t first = 0, index = 0;
    zr_term_t term = 0;
    size_t offset = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        zr_assert (offset + sizes [i] <= blob->size);
        int proposed = zr_core_propose (self->core, blob, blob->data + offset,
                                        sizes [i], &index, &term);
        zr_assert (proposed == 0);      /* leader, no transfer, sizes checked */
        offset += sizes [i];
        if (i == 0)
            first = index;
    }
    if (rc == 0)
        zr_tokens_add (self->tokens, first, term, tokens, (uint32_t) n);
    else
        s_self_refuse_run (self, tokens, n, rc);
    zr_blob_unref (&blob);
}

/* Returns true once this leader's first entry of its term is committed
   and handed to the gate (with the run that goes to the applier: the
   core hands committed runs out in batches, so apply_queued, not the
   commit index): every entry of an earlier term is then in the gate's
   copy (bus.h, Invariant 1). */
static bool
s_self_term_ready (self_t *self)
{
    zr_term_t term = zr_core_term (self->core);
    return zr_log_term (zr_core_log (self->core), self->apply_queued) == term;
}

/* Judges the BUS entry of token (decoded) at the gate: 1 if admitted
   (appended at *index, recorded with the gate), else 0 and answered. */
static int
s_self_bus_one (self_t *self, zr_blob_t *blob, const uint8_t *data,
                uint32_t size, uint64_t token, bool term_ready,
                zr_index_t *index, zr_term_t *term)
{
    zr_bus_entry_t entry;
    int rc = zr_bus_entry_decode (data, size, &entry);
    zr_assert (rc == 0);                /* zraft.c encoded it */
    zr_bus_outcome_t out = {0};
    zr_bus_verdict_t verdict = zr_bus_gate_judge (self->gate, &entry,
                                                  term_ready, &out);
    if (verdict == ZR_BUS_ADMIT) {
        rc = zr_core_propose_type (self->core, ZR_ENTRY_BUS, blob, data, size,
                                   index, term);
        zr_assert (rc == 0);            /* leader, no transfer, size checked */
        if (entry.op == ZR_BUS_PUBLISH && entry.producer != 0)
            zr_bus_gate_appended (self->gate, entry.producer, entry.seq, *index);
        return 1;
    }
    if (verdict == ZR_BUS_ANSWERED)
        zr_results_add (&self->results, token, out.status, 0, out.index,
                        out.term, NULL, 0)->flags
            = out.duplicate ? ZR_RESULT_DUPLICATE : 0;
    else                                /* the gate waits: retry */
        zr_results_add (&self->results, token, ZR_EBUSY, 0, 0, 0, NULL, 0);
    return 0;
}

/* BUS: the n BUS entries packed in blob (sizes and tokens in the
   frames), refused all together as a SUBMIT is, or judged one by one at
   the gate: the admitted ones appended at consecutive indexes, the
   others answered at once (node.h). */
static void
s_self_bus (self_t *self, zr_blob_t *blob, zframe_t *size_frame,
            zframe_t *token_frame)
{
    zr_assert (blob);
    uint64_t tokens [ZRAFT_SUBMIT_MANY_MAX];
    size_t n;
    const uint32_t *sizes = s_run_frames (size_frame, token_frame, tokens, &n);
    int rc = s_self_refusal (self);
    if (rc != 0) {
        s_self_refuse_run (self, tokens, n, rc);
        zr_blob_unref (&blob);
        return;
    }
    bool term_ready = s_self_term_ready (self);
    zr_index_t first = 0, index = 0;
    zr_term_t term = 0;
    size_t admitted = 0, offset = 0;
    for (size_t i = 0; i < n; i++) {
        zr_assert (sizes [i] <= ZR_ENTRY_BYTES_MAX
                   && offset + sizes [i] <= blob->size);
        if (s_self_bus_one (self, blob, blob->data + offset, sizes [i],
                            tokens [i], term_ready, &index, &term)) {
            if (admitted == 0)
                first = index;
            zr_assert (index == first + admitted);
            tokens [admitted++] = tokens [i];   /* i >= admitted */
        }
        offset += sizes [i];
    }
    if (admitted > 0)
        zr_tokens_add (self->tokens, first, term, tokens, (uint32_t) admitted);
    zr_blob_unref (&blob);
}

/* QUERY: a stale one is queued for the applier at once; a linearizable
   one goes to the core for its read index (node.h). Takes *data_p. */
static void
s_self_query (self_t *self, uint64_t token, zframe_t **data_p, uint64_t flags)
{
    zr_query_t query = {.token = token, .data = *data_p,
                        .stale = (flags & ZRAFT_QUERY_STALE) != 0,
                        .cursors = (flags & ZR_QUERY_CURSORS) != 0};
    *data_p = NULL;
    zr_assert (query.data);
    if (self->disk_failed) {
        s_self_query_refuse (self, &query, ZR_EIO);
        return;
    }
    if (query.stale) {
        s_self_query_queue (self, &query);
        return;
    }
    s_read_t *read = (s_read_t *) calloc (1, sizeof *read);
    zr_assert (read);
    read->ctx = ++self->read_ctx;
    int rc = zr_core_read_index (self->core, read->ctx, s_self_clock (self));
    if (rc != 0) {
        s_self_query_refuse (self, &query, rc);
        free (read);
        return;
    }
    read->query = query;
    rc = zlist_append (self->reads_pending, read);
    zr_assert (rc == 0);
}

/* WAIT: answered now if a leader is known, else at the next Ready that
   knows one or at the deadline (s_self_wait_check). */
static void
s_self_wait (self_t *self, int64_t timeout_ms)
{
    zr_assert (!self->waiting);         /* the handle waits for the reply */
    self->waiting = true;
    self->wait_deadline = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    s_self_wait_check (self);
}

static void
s_self_status (self_t *self)
{
    zraft_status_t st = self->stats;
    st.role = (zraft_role_t) zr_core_role (self->core);
    st.term = zr_core_term (self->core);
    st.leader = zr_core_leader (self->core);
    st.vote = zr_core_vote (self->core);
    st.commit = zr_core_commit (self->core);
    st.last_index = zr_core_last_index (self->core);
    st.persisted = zr_core_persisted_index (self->core);
    st.first_index = zr_log_first_index (zr_core_log (self->core));
    st.snapshot_index = zr_core_snapshot_index (self->core);
    st.disk_failed = self->disk_failed;
    st.bytes_out = atomic_load (&self->bytes_out);
    zr_filter_stats_t fs;
    zr_filter_stats (self->faults, &fs);
    st.fault_dropped = fs.dropped + self->filter.dropped;
    st.fault_duplicated = fs.duplicated;
    st.fault_delayed = fs.delayed;
    zr_verb_reply (s_self_out (self, self->api), zr_node_verbs, ZR_NODE_STATUS,
                   &st, sizeof st);
}

/* FAULT: sets the faults of the link from a peer. */
static void
s_self_fault (self_t *self, const zr_verb_arg_t *args)
{
    zr_id_t peer = (zr_id_t) args [0].u;
    zr_link_fault_t fault = {.cut = args [1].u != 0,
                             .drop_ppm = (uint32_t) args [2].u,
                             .dup_ppm = (uint32_t) args [3].u,
                             .delay_ms = (uint32_t) args [4].u,
                             .jitter_ms = (uint32_t) args [5].u};
    int rc = (peer >= 1 && peer <= ZR_NODES_MAX && self->replicators [peer])
           ? zr_filter_set (self->faults, peer, &fault) : ZR_EINVAL;
    zsock_signal (s_self_out (self, self->api), rc == 0 ? 0 : 1);
}

/* PARTITION: cuts or heals the links to a peer, both ways. */
static void
s_self_partition (self_t *self, const zr_verb_arg_t *args)
{
    uint64_t peer = args [0].u;
    bool known = peer >= 1 && peer <= ZR_NODES_MAX && self->replicators [peer];
    if (known) {
        self->filter.cut_out [peer] = args [1].u != 0;
        self->filter.cut_in [peer] = args [2].u != 0;
    }
    zsock_signal (s_self_out (self, self->api), known ? 0 : 1);
}

/* The zactor pipe carries $TERM only (node.h). */
static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv_table (self->pipe, zr_node_verbs, 0, &msg);
    zr_assert (verb < 0);
    self->terminated = true;            /* $TERM, or the pipe ended */
    zr_verb_msg_reset (&msg);
}

/* Handles a synchronous command from the application: everything but
   SUBMIT, BUS, QUERY and RECEIVED. Results go out before the reply (node.h). */
static void
s_self_command (self_t *self, int verb, zr_verb_msg_t *msg)
{
    s_self_flush (self);
    if (verb == ZR_NODE_STATUS)
        s_self_status (self);
    else
    if (verb == ZR_NODE_WAIT)
        s_self_wait (self, msg->args [0].i);
    else
    if (verb == ZR_NODE_PAUSE) {
        /* Chaos drill: the node thread stops, as a process would under
           SIGSTOP or a long GC pause; its peers see nothing from it. */
        zsock_signal (s_self_out (self, self->api), 0);
        zclock_sleep ((int) msg->args [0].u);
    }
    else
    if (verb == ZR_NODE_TRANSFER) {
        int rc = zr_core_transfer (self->core, (zr_id_t) msg->args [0].u,
                                   s_self_clock (self));
        uint32_t target = rc == 0 ? zr_core_transferring (self->core) : 0;
        zr_verb_reply (s_self_out (self, self->api), zr_node_verbs,
                       ZR_NODE_TRANSFER, rc, target);
    }
    else
    if (verb == ZR_NODE_SNAPSHOT) {
        int rc = !zr_applier_snapshots (&self->args.fsm) ? ZR_EINVAL
               : self->snapshotting ? ZR_EBUSY : 0;
        if (rc == 0 && zr_verb_send (s_self_out (self, zactor_sock (self->applier)),
                                     zr_applier_verbs, ZR_APPLIER_SNAPSHOT) != 0)
            rc = ZR_EBUSY;
        if (rc == 0)
            self->snapshotting = true;
        zr_verb_reply (s_self_out (self, self->api), zr_node_verbs,
                       ZR_NODE_SNAPSHOT, rc);
    }
    else
    if (verb == ZR_NODE_FAULT)
        s_self_fault (self, msg->args);
    else {
        zr_assert (verb == ZR_NODE_PARTITION);
        s_self_partition (self, msg->args);
    }
}

/* ---------------------------------------------------------------- hosting */

/* Asks the host when its handle is due with NULL (node.h, "Hosting"). */
static void
s_self_host_due (self_t *self, int ms)
{
    self->host_at = ms < 0 ? INT64_MAX : zclock_mono () + ms;
}

/* Signals status on host's done pipe: the application's thread takes
   the host back and frees it (not touched after). */
static void
s_host_signal (zr_node_host_t *host, int status)
{
    zsock_t *done = host->done;
    zr_handoff_send (host->owner);
    zsock_signal (done, (byte) status);
}

/* Ends the hosting: the readers leave the poller, and the application's
   thread, waiting on done, gets the host (and its sockets) back. */
static void
s_self_host_end (self_t *self, int status)
{
    zr_node_host_t *host = self->host;
    if (!host)
        return;
    for (size_t i = host->host.n_readers; i-- > 0; )
        zr_poller_remove (self->poller, host->host.readers [i]);
    self->burst &= ~self->host_bits;
    self->host_bits = 0;
    self->host = NULL;
    self->host_at = INT64_MAX;
    s_host_signal (host, status);
}

/* HOST: the application's loop moves onto this thread. */
static void
s_self_host_begin (self_t *self, zr_node_host_t *host)
{
    zr_assert (host && host->done);
    zr_handoff_recv (host->owner);
    if (self->host) {
        s_host_signal (host, ZR_NODE_HOST_BUSY);
        return;
    }
    self->host = host;
    for (size_t i = 0; i < host->host.n_readers; i++) {
        zr_poller_add (self->poller, host->host.readers [i]);
        self->host_bits |= zr_poller_bit (self->poller, host->host.readers [i]);
    }
    self->burst |= self->host_bits;
    s_host_self = self;
    int ms = host->host.timeout ? host->host.timeout (host->host.arg) : -1;
    s_host_self = NULL;
    s_self_host_due (self, ms);
}

/* True if which is one of the host's readers. */
static bool
s_self_host_reader (self_t *self, void *which)
{
    for (size_t i = 0; self->host && i < self->host->host.n_readers; i++)
        if (self->host->host.readers [i] == which)
            return true;
    return false;
}

/* Runs the host's handle with which (a reader with input, or NULL: its
   timeout passed), then asks its next timeout. */
static void
s_self_host_call (self_t *self, void *which)
{
    zr_node_host_t *host = self->host;
    s_host_self = self;
    bool more = host->host.handle (host->host.arg, which);
    int ms = more && host->host.timeout ? host->host.timeout (host->host.arg) : -1;
    s_host_self = NULL;
    /* The handle sends and receives on its readers (poller.h, Inv. 3). */
    for (size_t i = 0; i < host->host.n_readers; i++)
        zr_poller_sent (self->poller, host->host.readers [i]);
    if (more)
        s_self_host_due (self, ms);
    else
        s_self_host_end (self, ZR_NODE_HOST_ENDED);
}

/* Handles request verb of the application (msg: its arguments, left for
   the caller to reset), from the api socket or from a host's handle. */
static void
s_self_api (self_t *self, int verb, zr_verb_msg_t *msg)
{
    if (verb == ZR_NODE_SUBMIT) {
        zr_assert (msg->args [0].p);
        s_self_submit (self, (zr_blob_t *) msg->args [0].p, msg->args [1].f,
                       msg->args [2].f);
    }
    else
    if (verb == ZR_NODE_BUS) {
        zr_assert (msg->args [0].p);
        s_self_bus (self, (zr_blob_t *) msg->args [0].p, msg->args [1].f,
                    msg->args [2].f);
    }
    else
    if (verb == ZR_NODE_QUERY)
        s_self_query (self, msg->args [0].u, &msg->args [1].f, msg->args [2].u);
    else
    if (verb == ZR_NODE_RECEIVED) {
        zr_assert (self->role_unread);
        self->role_unread = false;
        s_self_role (self);
    }
    else
    if (verb == ZR_NODE_HOST)
        s_self_host_begin (self, (zr_node_host_t *) msg->args [0].p);
    else
        s_self_command (self, verb, msg);
}

static void
s_self_handle_api (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->api, zr_node_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* the context ended */
    else
        s_self_api (self, verb, &msg);
    zr_verb_msg_reset (&msg);
}

bool
zr_node_hosting (const void *owner)
{
    return s_host_self && s_host_self->host && s_host_self->host->owner == owner;
}

bool
zr_node_host_request (const void *owner, int verb, zr_verb_msg_t *msg)
{
    if (!zr_node_hosting (owner))
        return false;
    zr_assert (verb != ZR_NODE_HOST && verb != ZR_NODE_WAIT);  /* zraft.c */
    s_self_api (s_host_self, verb, msg);
    zr_verb_msg_reset (msg);
    return true;
}

/* A TICK only wakes the node: it ticks the core after the burst
   (s_self_tick). */
static void
s_self_handle_timer (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (zactor_sock (self->timer), zr_timer_verbs, &msg);
    if (verb < 0)
        s_self_child_ended (self, "timer");
    else
        zr_assert (verb == ZR_TIMER_TICK);
    zr_verb_msg_reset (&msg);
}

/* Ticks the core if the deadline the timer was armed with has passed
   (node.h, "Bursts"), whether its TICK was read or not; a TICK read
   later then finds the next deadline not due and changes nothing. */
static void
s_self_tick (self_t *self)
{
    uint64_t now = s_self_clock (self);
    if (now < self->armed_ms)
        return;
    self->armed_ms = UINT64_MAX;        /* s_self_ready arms the next */
    zr_core_tick (self->core, now);
}

/* Asks the applier for a snapshot when the log has grown past the
   thresholds (node.h). */
static void
s_self_snapshot_maybe (self_t *self)
{
    const zraft_config_t *c = &self->args.config;
    if (self->snapshotting || !zr_applier_snapshots (&self->args.fsm)
        || self->disk_failed)
        return;
    zr_index_t since = self->stats.applied > zr_core_snapshot_index (self->core)
                     ? self->stats.applied - zr_core_snapshot_index (self->core) : 0;
    /* After a failed or skipped one (a full disk), wait for a quarter of
       the threshold (or ZR_NODE_SNAPSHOT_RETRY entries) more: retrying on
       every APPLIED would rewrite a doomed file all the time. */
    uint64_t retry = c->snapshot_entries ? c->snapshot_entries / 4 : ZR_NODE_SNAPSHOT_RETRY;
    if (self->snapshot_failed_at
        && self->stats.applied < self->snapshot_failed_at + (retry ? retry : 1))
        return;
    uint64_t bytes = zr_core_bytes_since_snapshot (self->core);
    if ((c->snapshot_entries && since >= c->snapshot_entries)
        || (c->snapshot_bytes && bytes >= c->snapshot_bytes && since > 0)) {
        if (zr_verb_send (s_self_out (self, zactor_sock (self->applier)),
                          zr_applier_verbs, ZR_APPLIER_SNAPSHOT) == 0)
            self->snapshotting = true;
    }
}

/* The applier's snapshot is durable (rc 0): the core may forget the log
   behind it. */
static void
s_self_snapshotted (self_t *self, const zr_verb_msg_t *msg)
{
    zr_assert (self->snapshotting);
    self->snapshotting = false;
    int rc = (int) msg->args [3].i;
    if (rc != 0) {                      /* skipped or failed (logged): */
        self->snapshot_failed_at = self->stats.applied;     /* back off */
        return;
    }
    zr_core_snapshot_taken (self->core, msg->args [0].u, msg->args [2].u);
    self->stats.snapshots++;
}

/* The gate's copy takes the bus section of snapshot (index, term),
   which the applier restores too (node.h). A section it cannot read
   stops the acks, as the applier's failed restore would. */
static void
s_self_gate_restore (self_t *self, zr_index_t index, zr_term_t term)
{
    char path [1200], errmsg [512] = "";
    int rc = zr_snapshot_path (self->args.data_dir, index, term, path, sizeof path);
    zr_snapshot_reader_t *reader = rc == 0
        ? zr_snapshot_reader_new (path, &rc, errmsg, sizeof errmsg) : NULL;
    uint8_t *section = NULL;
    uint64_t size = 0;
    if (reader)
        rc = zr_snapshot_reader_bus (reader, &section, &size);
    zr_snapshot_reader_destroy (&reader);
    if (rc == 0 && zr_bus_gate_restore (self->gate, index, section, (size_t) size) != 0)
        rc = ZR_ECORRUPT;
    free (section);
    if (rc != 0 && !self->disk_failed) {
        zr_error ("n%u node: cannot read the bus section of snapshot %llu: %s "
                  "%s; no further writes will be acknowledged", self->id,
                  (unsigned long long) index, zr_strerror (rc), errmsg);
        self->disk_failed = true;
    }
}

/* Queues a restore of snapshot (index, term) for the applier, in order
   with the runs (back-pressure, node.h). */
static void
s_self_restore (self_t *self, zr_index_t index, zr_term_t term)
{
    s_self_gate_restore (self, index, term);
    zr_apply_req_t *req = (zr_apply_req_t *) calloc (1, sizeof *req);
    zr_assert (req);
    req->restore_index = index;
    req->restore_term = term;
    zr_assert (index >= self->apply_queued);
    self->apply_queued = index;
    s_self_apply (self, req);
}

static void
s_self_handle_applier (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (zactor_sock (self->applier), zr_applier_verbs, &msg);
    if (verb < 0)
        s_self_child_ended (self, "applier");
    else
    if (verb == ZR_APPLIER_SNAPSHOTTED)
        s_self_snapshotted (self, &msg);
    else {
        zr_assert (verb == ZR_APPLIER_APPLIED && self->apply_outstanding > 0);
        self->stats.applied = msg.args [0].u;
        self->apply_outstanding--;
        if (msg.args [1].i != 0 && !self->disk_failed) {
            zr_error ("n%u node: cannot restore the state machine; "
                      "no further writes will be acknowledged", self->id);
            self->disk_failed = true;   /* it cannot apply: stop acking */
        }
        s_self_apply (self, NULL);      /* room for what waits */
        s_self_snapshot_maybe (self);
    }
    zr_verb_msg_reset (&msg);
}

static void
s_self_handle_replicator (self_t *self, zsock_t *which)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (which, zr_replicator_verbs, &msg);
    if (verb < 0)
        s_self_child_ended (self, "replicator");
    else
    if (verb == ZR_REPLICATOR_LOST)
        zr_core_snapshot_lost (self->core, (zr_id_t) msg.args [0].u,
                               s_self_clock (self));
    else
    if (verb == ZR_REPLICATOR_FILLED) {         /* from storage: core.h (15) */
        zr_core_storage_sent (self->core, (zr_id_t) msg.args [0].u, msg.args [1].u,
                              msg.args [2].u, msg.args [3].u, msg.args [4].u,
                              s_self_clock (self));
        self->stats.entries_out += msg.args [3].u - msg.args [2].u + 1;
    }
    else
    if (verb == ZR_REPLICATOR_UNFILLED)
        zr_core_storage_lost (self->core, (zr_id_t) msg.args [0].u, msg.args [1].u,
                              msg.args [2].u, msg.args [3].u,
                              s_self_clock (self));
    else {
        zr_assert (verb == ZR_REPLICATOR_UNREACHABLE);
        zr_core_unreachable (self->core, (zr_id_t) msg.args [0].u);
    }
    zr_verb_msg_reset (&msg);
}

/* ---------------------------------------------------------------- stop */

/* Frees what a persister message handed to the node, while stopping. */
static void
s_persister_drop (int verb, zr_verb_msg_t *msg)
{
    if (verb == ZR_PERSISTER_PERSISTED) {
        zr_persist_batch_t *batch = (zr_persist_batch_t *) msg->args [0].p;
        zr_persist_batch_destroy (&batch);
    }
}

/* Ends a child actor. A child that hands pointers to the node (the
   persister, the replicators) is first told to STOP (verb stop of its
   table of n rows): it answers STOPPED (verb stopped) after its last
   pointer message, which drop frees here; zactor_destroy alone would leave those frames unread and
   leak what they point to. Without a table the child is just ended. */
static void
s_child_stop (zactor_t **child_p, const zr_verb_t *table, size_t n, int stop,
              int stopped, void (*drop) (int verb, zr_verb_msg_t *msg))
{
    if (!*child_p)
        return;
    /* A child that already ended (an interrupt) has no peer on its pipe:
       the send fails at once instead of blocking, and zactor_destroy
       (which also sends with a zero timeout) collects nothing. */
    zsock_t *pipe = zactor_sock (*child_p);
    zsock_set_sndtimeo (pipe, 0);
    if (table && zr_verb_send (pipe, table, stop) == 0) {
        int verb;
        do {
            zr_verb_msg_t msg;
            verb = zr_verb_recv_table (pipe, table, n, &msg);
            if (drop)
                drop (verb, &msg);
            zr_verb_msg_reset (&msg);
        } while (verb >= 0 && verb != stopped);
    }
    zr_actor_destroy (child_p);
}

/* Frees the WRITEs and committed runs that were waiting for room. */
static void
s_held_destroy (zlist_t **writes_p, zlist_t **applies_p)
{
    zr_persist_req_t *write;
    while (*writes_p && (write = (zr_persist_req_t *) zlist_pop (*writes_p)))
        zr_persist_req_destroy (&write);
    zr_apply_req_t *apply;
    while (*applies_p && (apply = (zr_apply_req_t *) zlist_pop (*applies_p)))
        zr_apply_req_destroy (&apply);
    zlist_destroy (writes_p);
    zlist_destroy (applies_p);
}

/* Answers with ZR_ESHUTDOWN what the application sent that the node
   will not handle: the requests still on the api socket. */
static void
s_self_api_drain (self_t *self)
{
    zsock_set_rcvtimeo (self->api, 0);
    zr_verb_msg_t msg;
    int verb;
    while ((verb = zr_verb_recv (self->api, zr_node_verbs, &msg)) >= 0) {
        if (verb == ZR_NODE_SUBMIT || verb == ZR_NODE_BUS) {
            zframe_t *tokens = msg.args [2].f;
            size_t n = zframe_size (tokens) / sizeof (uint64_t);
            for (size_t i = 0; i < n; i++) {
                uint64_t token;
                memcpy (&token, zframe_data (tokens) + i * sizeof token, sizeof token);
                zr_results_add (&self->results, token, ZR_ESHUTDOWN, 0, 0, 0,
                                NULL, 0);
            }
            zr_blob_t *blob = (zr_blob_t *) msg.args [0].p;
            zr_blob_unref (&blob);
        }
        else
        if (verb == ZR_NODE_QUERY)
            zr_results_add (&self->results, msg.args [0].u, ZR_ESHUTDOWN, 0, 0,
                            0, NULL, 0);
        else
        if (verb == ZR_NODE_HOST) {
            zr_node_host_t *host = (zr_node_host_t *) msg.args [0].p;
            zr_handoff_recv (host->owner);
            s_host_signal (host, ZR_NODE_HOST_STOPPED);
        }
        zr_verb_msg_reset (&msg);
    }
}

/* Answers with status the tokens and queries of an apply request that
   will not reach the applier. */
static void
s_self_apply_refuse (self_t *self, const zr_apply_req_t *req, int status)
{
    for (uint32_t i = 0; i < req->n_tokens; i++)
        zr_results_add (&self->results, req->tokens [i].token, status, 0,
                        req->tokens [i].index, 0, NULL, 0);
    for (uint32_t i = 0; i < req->n_queries; i++)
        zr_results_add (&self->results, req->queries [i].token, status, 0, 0, 0,
                        NULL, 0);
}

/* The node stops: every submission and query not answered yet is
   answered ZR_ESHUTDOWN (its outcome is unknown), so each token still
   gets exactly one result (node.h). The applier answers what it was
   handed before it ends. */
static void
s_self_answer_all (self_t *self)
{
    if (self->api)
        s_self_api_drain (self);
    zr_apply_req_t *req;
    while (self->applies_held
           && (req = (zr_apply_req_t *) zlist_pop (self->applies_held))) {
        s_self_apply_refuse (self, req, ZR_ESHUTDOWN);
        zr_apply_req_destroy (&req);
    }
    if (self->queries) {
        s_self_apply_refuse (self, self->queries, ZR_ESHUTDOWN);
        zr_apply_req_destroy (&self->queries);
    }
    zlist_t *reads [2] = {self->reads_pending, self->reads_ready};
    for (int k = 0; k < 2; k++) {
        s_read_t *read;
        while (reads [k] && (read = (s_read_t *) zlist_pop (reads [k]))) {
            s_self_query_refuse (self, &read->query, ZR_ESHUTDOWN);
            free (read);
        }
    }
    if (self->tokens)
        zr_tokens_drain (self->tokens, ZR_ESHUTDOWN, 0, &self->results);
    if (self->events)
        s_self_flush (self);
    zr_results_clear (&self->results);
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    s_self_host_end (self, ZR_NODE_HOST_STOPPED);
    zr_poller_destroy (&self->poller);
    s_self_answer_all (self);
    for (zr_id_t id = 1; id <= ZR_NODES_MAX; id++)
        s_child_stop (&self->replicators [id], zr_replicator_verbs,
                      ZR_VERBS_COUNT (zr_replicator_verbs), ZR_REPLICATOR_STOP,
                      ZR_REPLICATOR_STOPPED, NULL);
    s_child_stop (&self->timer, NULL, 0, 0, 0, NULL);
    s_child_stop (&self->persister, zr_persister_verbs,
                  ZR_VERBS_COUNT (zr_persister_verbs), ZR_PERSISTER_STOP,
                  ZR_PERSISTER_STOPPED, s_persister_drop);
    s_child_stop (&self->applier, NULL, 0, 0, 0, NULL);
    for (zr_id_t id = 1; id <= ZR_NODES_MAX; id++)
        zsock_destroy (&self->links [id]);
    msgpack_sbuffer_destroy (&self->sbuf);
    zsock_destroy (&self->router);
    s_held_destroy (&self->writes_held, &self->applies_held);
    zr_core_destroy (&self->core);
    zr_filter_destroy (&self->faults);
    zr_tokens_destroy (&self->tokens);
    zr_bus_gate_destroy (&self->gate);
    zlist_destroy (&self->reads_pending);
    zlist_destroy (&self->reads_ready);
    zsock_destroy (&self->events);
    zsock_destroy (&self->feed);
    zsock_destroy (&self->api);
    free (self);
    *self_p = NULL;
}

static void
s_self_handle (self_t *self, void *which)
{
    if (which == self->pipe)
        s_self_handle_pipe (self);
    else
    if (which == self->api)
        s_self_handle_api (self);
    else
    if (which == self->router)
        s_self_handle_router (self);
    else
    if (which == zactor_sock (self->persister))
        s_self_handle_persister (self);
    else
    if (which == zactor_sock (self->timer))
        s_self_handle_timer (self);
    else
    if (which == zactor_sock (self->applier))
        s_self_handle_applier (self);
    else
    if (s_self_host_reader (self, which))
        s_self_host_call (self, which);
    else
        s_self_handle_replicator (self, (zsock_t *) which);
}

/* Blocks every asynchronous signal on the calling thread (node.h). The
   node does it first thing, and every thread it starts inherits the mask,
   so a signal meant for the application never interrupts an actor's poll
   (which czmq would report as termination). Faults (SIGSEGV, ...) stay
   deliverable, or a crash would go unreported. */
void
zr_signals_block (sigset_t *old)
{
    sigset_t set;
    sigfillset (&set);
    const int faults [] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults [0]; i++)
        sigdelset (&set, faults [i]);
    int rc = pthread_sigmask (SIG_BLOCK, &set, old);
    zr_assert (rc == 0);
}

/* Connects the application's api and events sockets (node.h), bound
   by its handle before the node started. Returns 0 or ZR_EINVAL. */
static int
s_self_connect (self_t *self)
{
    uint32_t bound = self->args.config.submit_max + 4;  /* + command, RECEIVED */
    self->api = zsock_new (ZMQ_PAIR);
    zr_assert (self->api);
    zsock_set_rcvhwm (self->api, zr_events_hwm (bound));
    zsock_set_sndhwm (self->api, zr_events_hwm (bound));
    if (zsock_connect (self->api, "%s", self->args.api_endpoint) != 0) {
        zr_error ("n%u node: cannot connect %s", self->id, self->args.api_endpoint);
        return ZR_EINVAL;
    }
    self->events = zr_events_connect (self->args.events_endpoint,
                                      self->args.config.submit_max, self->id);
    if (self->args.feed_endpoint [0])
        self->feed = zr_feed_wake_connect (self->args.feed_endpoint, self->id);
    return self->events && (self->feed || !self->args.feed_endpoint [0])
           ? 0 : ZR_EINVAL;
}

/* Builds the node from its arguments (taken: freed here) and starts the
   server: recovers the log, binds the ROUTER, starts the children.
   Returns NULL with *rc_p set (the failure was logged), having released
   everything it made. */
static self_t *
s_self_new (zsock_t *pipe, zr_node_args_t *args, int *rc_p)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->args = *args;
    free (args);                        /* ours (node.h) */
    /* The copied config points into the copy, not the freed block. */
    for (uint32_t i = 0; i < self->args.config.n_servers; i++)
        self->args.config.servers [i].endpoint = self->args.endpoints [i];
    self->args.config.data_dir = self->args.data_dir;
    self->id = self->args.config.id;
    zr_id_t ids [ZR_NODES_MAX];
    const char *endpoints [ZR_NODES_MAX];
    for (uint32_t i = 0; i < self->args.config.n_servers; i++) {
        ids [i] = self->args.config.servers [i].id;
        endpoints [i] = self->args.config.servers [i].endpoint;
    }
    self->who = (zr_peer_who_t) {
        .id = self->id, .instance = zr_random_id (),
        .cluster = zr_peer_cluster (ids, endpoints, self->args.config.n_servers)};
    zr_info ("n%u node: cluster %016" PRIx64 ", instance %016" PRIx64, self->id,
             self->who.cluster, self->who.instance);
    self->armed_ms = UINT64_MAX;
    self->host_at = INT64_MAX;
    self->clock_ms = (uint64_t) zclock_mono ();
    atomic_init (&self->bytes_out, 0);
    for (zr_id_t id = 0; id <= ZR_NODES_MAX; id++)
        atomic_init (&self->handled [id], 0);
    msgpack_sbuffer_init (&self->sbuf);
    self->faults = zr_filter_new (self->args.config.seed ^ 0xFA17u ^ self->id);
    zr_assert (self->faults);
    self->writes_held = zlist_new ();
    self->applies_held = zlist_new ();
    zr_assert (self->writes_held && self->applies_held);
    self->tokens = zr_tokens_new ();
    self->gate = zr_bus_gate_new (self->args.config.dedup_window,
                                  self->args.config.producers_max);
    self->reads_pending = zlist_new ();
    self->reads_ready = zlist_new ();
    zr_assert (self->reads_pending && self->reads_ready);
    zr_results_init (&self->results);
    *rc_p = s_self_connect (self);
    if (*rc_p == 0)
        *rc_p = s_self_start (self);
    if (*rc_p == 0)
        self->term_sent = zr_core_term (self->core);    /* no ROLE for it */
    if (*rc_p != 0)
        s_self_destroy (&self);
    return self;
}

/* Milliseconds until the fault filter releases a held message, a WAIT
   times out or the armed deadline comes, at most a heartbeat, for
   zpoller_wait; 0 while a tick is due (a burst cut short may have left
   it, its TICK read). */
static int
s_self_timeout (self_t *self)
{
    if (s_self_clock (self) >= self->armed_ms)
        return 0;
    uint64_t due = zr_filter_next_ms (self->faults);
    int64_t at = due == UINT64_MAX ? INT64_MAX : (int64_t) due;
    /* The timer was armed on zclock_mono; a stall counted since moved the
       deadline later than its TICK: the poll wakes for it instead. */
    if (self->armed_ms != UINT64_MAX
        && (int64_t) (self->armed_ms + self->stalled_ms) < at)
        at = (int64_t) (self->armed_ms + self->stalled_ms);
    if (self->waiting && self->wait_deadline < at)
        at = self->wait_deadline;       /* a WAIT's deadline (node.h) */
    if (self->host && self->host_at < at)
        at = self->host_at;             /* the host's timeout (node.h) */
    /* And at least every heartbeat, so that the clock tells an idle node
       from a stalled one (s_self_clock). */
    int64_t left = at == INT64_MAX ? INT32_MAX : at - zclock_mono ();
    if (left > (int64_t) self->args.config.heartbeat_ms)
        left = (int64_t) self->args.config.heartbeat_ms;
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
}

/* The skeleton's wait (zr_actor_wait) on the node's poller: the first
   reader of mask with input within timeout ms, or NULL; sets terminated
   when the context ended. */
static void *
s_self_poll (self_t *self, uint32_t mask, int timeout)
{
    void *which = zr_poller_wait (self->poller, mask, timeout);
    if (!which && zr_poller_terminated (self->poller))
        self->terminated = true;
    return which;
}

/* Takes a burst of input, which first (NULL: none), before the core is
   asked for a Ready, so proposals and replies that arrive together share
   one batch; bounded in count and in time (node.h, "Bursts"). Returns
   true if it took every input waiting, false if it stopped at a bound. */
static bool
s_self_burst (self_t *self, void *which)
{
    int64_t until = zclock_mono () + ZR_NODE_BURST_MS;
    for (uint32_t taken = 1; which && !self->terminated; taken++) {
        s_self_handle (self, which);
        if (taken == ZR_NODE_BURST_MAX || zclock_mono () >= until)
            return false;
        which = s_self_poll (self, self->burst, 0);
    }
    return true;
}

void
zr_node_actor (zsock_t *pipe, void *args)
{
    zr_signals_block (NULL);            /* before any child is started */
    zr_actor_name ("node", ((zr_node_args_t *) args)->config.id);
    int rc = 0;
    self_t *self = s_self_new (pipe, (zr_node_args_t *) args, &rc);
    if (zr_actor_ready (pipe, NULL, rc) != 0)
        return;
    zr_notice ("n%u node: started", self->id);
    s_self_ready (self);
    self->listening = true;
    while (!self->terminated) {
        void *which = s_self_poll (self, ZR_POLLER_ALL, s_self_timeout (self));
        s_self_release (self);
        bool caught_up = s_self_burst (self, which);
        if (self->host && !self->terminated && zclock_mono () >= self->host_at)
            s_self_host_call (self, NULL);
        if (!self->terminated) {
            if (caught_up)
                s_self_tick (self);
            s_self_ready (self);
        }
    }
    zr_notice ("n%u node: stopping", self->id);
    s_self_destroy (&self);
}
