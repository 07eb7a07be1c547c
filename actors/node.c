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

_Static_assert (ZR_NODE_WRITES_MAX <= ZR_PERSIST_BATCH_MAX,
                "one group commit can take every WRITE out");

typedef struct {
    zsock_t *pipe;                      /* to the application */
    zr_node_args_t args;                /* copied configuration */
    zr_id_t id;                         /* this server */
    zr_core_t *core;                    /* the protocol state, owned */
    zsock_t *router;                    /* peer RPCs in, replies out */
    zactor_t *timer;                    /* election/heartbeat alarm */
    zactor_t *persister;                /* WAL writer */
    zactor_t *applier;                  /* state machine driver */
    zactor_t *replicators [ZR_NODES_MAX + 1];   /* by peer id */
    zpoller_t *poller;                  /* over every socket above */
    zr_peer_filter_t filter;            /* partitions, both ways (peer.h) */
    zr_filter_t *faults;                /* incoming link faults (filter.h) */
    uint64_t armed_ms;                  /* timer deadline, UINT64_MAX if none */
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
} self_t;

static void
s_trace (void *arg, const char *line)
{
    self_t *self = (self_t *) arg;
    if (strncmp (line, "candidate", 9) == 0)
        self->stats.elections++;
    zsys_notice ("n%u node: %s", self->id, line);
}

static void s_self_restore (self_t *self, zr_index_t index, zr_term_t term);

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
                               .config = self->snap_config};
    snprintf (aargs.data_dir, sizeof aargs.data_dir, "%s", self->args.data_dir);
    snprintf (aargs.events_endpoint, sizeof aargs.events_endpoint, "%s",
              self->args.events_endpoint);
    self->applier = s_child_start (zr_applier_actor, &aargs);
    self->timer = s_child_start (zr_timer_actor, NULL);
    if (!self->persister || !self->applier || !self->timer)
        return ZR_EINVAL;               /* the actor logged why */
    self->poller = zpoller_new (self->pipe, self->router,
                                zactor_sock (self->persister),
                                zactor_sock (self->applier),
                                zactor_sock (self->timer), NULL);
    if (!self->poller)
        return ZR_ENOMEM;
    /* Only zraft_destroy ends a node, not the application's SIGINT. */
    zpoller_set_nonstop (self->poller, true);
    for (uint32_t i = 0; i < c->n_servers; i++) {
        zr_id_t peer = c->servers [i].id;
        if (peer == self->id)
            continue;
        zr_replicator_args_t rargs = {.self_id = self->id, .peer_id = peer,
                                      .bytes_out = &self->bytes_out};
        snprintf (rargs.data_dir, sizeof rargs.data_dir, "%s", self->args.data_dir);
        snprintf (rargs.endpoint, sizeof rargs.endpoint, "%s",
                  c->servers [i].endpoint);
        self->replicators [peer] = s_child_start (zr_replicator_actor, &rargs);
        if (!self->replicators [peer])
            return ZR_EINVAL;
        zpoller_add (self->poller, zactor_sock (self->replicators [peer]));
    }
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
        zsys_error ("n%u node: cannot use the snapshot in %s: %s", self->id,
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
        zsys_error ("n%u node: cannot open log in %s: %s", self->id,
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
    self->core = zr_core_new (&cc, (uint64_t) zclock_mono ());
    zr_core_restore_t restore = {.term = state.term, .vote = state.vote,
                                 .snap_index = snap.index, .snap_term = snap.term,
                                 .snap_size = snap.size,
                                 .entries = state.entries,
                                 .n_entries = state.n_entries};
    rc = self->core ? zr_core_restore (self->core, &restore) : ZR_ENOMEM;
    zsys_notice ("n%u node: recovered term=%llu vote=%u snapshot=%llu entries=%u",
                 self->id, (unsigned long long) state.term, state.vote,
                 (unsigned long long) snap.index, state.n_entries);
    zr_entries_destroy (&state.entries, state.n_entries);
    self->router = rc == 0 ? zr_peer_router_new (endpoint) : NULL;
    if (rc == 0 && !self->router)
        rc = ZR_EINVAL;
    if (rc == 0)
        rc = s_self_start_children (self, &wal);
    zr_wal_destroy (&wal);
    if (rc == 0 && snap.index > 0)
        s_self_restore (self, snap.index, snap.term);   /* before any run */
    return rc;
}

/* ---------------------------------------------------------------- output */

/* Sends one request (taking it) through the peer's replicator. Replies
   never come here: the persister sends them once durable. */
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
    zactor_t *replicator = self->replicators [msg->to];
    zr_assert (replicator);
    zr_id_t to = msg->to;
    if (zr_replicator_send_send (zactor_sock (replicator), &msg) != 0)
        zr_core_unreachable (self->core, to);   /* as a full link (node.h) */
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
    zsys_error ("n%u node: the %s actor ended; stopping", self->id, child);
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
        zsys_warning ("n%u node: disk behind, %u writes waiting; dropped %u replies",
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
        if (zr_persister_send_write (zactor_sock (self->persister), &req) != 0) {
            s_self_child_ended (self, "persister");
            break;
        }
        self->persist_outstanding++;
    }
}

/* Returns true while the disk is behind: proposals get ZR_EBUSY. */
static bool
s_self_disk_behind (self_t *self)
{
    return self->persist_outstanding >= ZR_NODE_WRITES_MAX
           || self->persist_bytes >= ZR_NODE_WRITE_BYTES_MAX;
}

/* Queues a committed run (taken; may be NULL), then hands the applier
   what waits, oldest first, while it has room (back-pressure, node.h). */
static void
s_self_apply (self_t *self, zr_apply_req_t *req)
{
    if (req) {
        int rc = zlist_append (self->applies_held, req);
        zr_assert (rc == 0);
    }
    while (self->apply_outstanding < ZR_NODE_APPLY_RUNS_MAX
           && (req = (zr_apply_req_t *) zlist_pop (self->applies_held))) {
        if (zr_applier_send_apply (zactor_sock (self->applier), &req) != 0) {
            s_self_child_ended (self, "applier");
            break;
        }
        self->apply_outstanding++;
    }
}

/* Dispatches the core's effects (see node.h). */
static void
s_self_ready (self_t *self)
{
    uint64_t now = (uint64_t) zclock_mono ();
    zr_ready_t rd;
    memset (&rd, 0, sizeof rd);
    zr_core_ready (self->core, &rd, now);
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
       persister, in order, even when there is nothing new to write. */
    if (self->disk_failed)
        ;                               /* no acks, no votes: release drops them */
    else
    if (rd.hs_changed || rd.n_entries > 0 || rd.n_msgs_synced > 0
        || rd.n_chunks > 0 || rd.compact > 0) {
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
    if (rd.n_committed > 0) {
        zr_apply_req_t *req = (zr_apply_req_t *) calloc (1, sizeof *req);
        zr_assert (req);
        req->entries = rd.committed;
        req->n_entries = rd.n_committed;
        rd.committed = NULL;
        s_self_apply (self, req);
    }
    zr_ready_release (&rd);
    /* Re-arm only when the deadline moved earlier; a late TICK is harmless. */
    uint64_t deadline = zr_core_deadline (self->core);
    if (deadline < self->armed_ms
        && zr_timer_send_arm (zactor_sock (self->timer), deadline) == 0)
        self->armed_ms = deadline;
}

/* ---------------------------------------------------------------- input */

/* Hands one message to the core (taking it). */
static void
s_self_act (self_t *self, zr_message_t *msg)
{
    int rc = zr_core_step (self->core, msg, (uint64_t) zclock_mono ());
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

static void
s_self_handle_router (self_t *self)
{
    zmsg_t *frames = zmsg_recv (self->router);
    if (!frames)
        return;
    zframe_t *identity = zmsg_first (frames);
    zframe_t *payload = zmsg_next (frames);
    char kind = 0;
    zr_id_t from = zr_peer_id_parse (zframe_data (identity), zframe_size (identity), &kind);
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
        zr_peer_warn (&self->warn, self->id, "node/router",
                      payload ? zframe_data (payload) : NULL,
                      payload ? zframe_size (payload) : 0, zr_strerror (rc));
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

/* Appends the n commands packed in blob (sizes in the frame) to the log,
   all or none, and answers with the first index. */
static void
s_self_propose (self_t *self, zr_blob_t *blob, zframe_t *size_frame)
{
    zr_assert (size_frame && zframe_size (size_frame) % sizeof (uint32_t) == 0);
    size_t n = zframe_size (size_frame) / sizeof (uint32_t);
    const uint32_t *sizes = (const uint32_t *) zframe_data (size_frame);
    zr_assert (n >= 1 && n <= ZRAFT_PROPOSE_MAX);
    zr_index_t first = 0, index = 0;
    zr_term_t term = 0;
    int rc = self->disk_failed ? ZR_EIO : 0;
    if (rc == 0 && zr_core_role (self->core) != ZR_ROLE_LEADER)
        rc = ZR_ENOTLEADER;
    if (rc == 0 && zr_core_transferring (self->core))
        rc = ZR_EBUSY;                  /* all or nothing: checked up front */
    if (rc == 0 && s_self_disk_behind (self))
        rc = ZR_EBUSY;                  /* back-pressure (node.h) */
    size_t offset = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        zr_assert (offset + sizes [i] <= blob->size);
        rc = zr_core_propose (self->core, blob, blob->data + offset, sizes [i],
                              &index, &term);
        zr_assert (rc == 0);            /* leader, no transfer, sizes checked */
        offset += sizes [i];
        if (i == 0)
            first = index;
    }
    zr_blob_unref (&blob);
    zr_verb_reply (self->pipe, zr_node_verbs, ZR_NODE_PROPOSE, rc, first, term,
                   zr_core_leader (self->core));
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
    zr_verb_reply (self->pipe, zr_node_verbs, ZR_NODE_STATUS, &st, sizeof st);
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
    zsock_signal (self->pipe, rc == 0 ? 0 : 1);
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
    zsock_signal (self->pipe, known ? 0 : 1);
}

static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_node_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* $TERM, or the pipe ended */
    else
    if (verb == ZR_NODE_PROPOSE) {
        zr_assert (msg.args [0].p);
        s_self_propose (self, (zr_blob_t *) msg.args [0].p, msg.args [1].f);
    }
    else
    if (verb == ZR_NODE_STATUS)
        s_self_status (self);
    else
    if (verb == ZR_NODE_PAUSE) {
        /* Chaos drill: the node thread stops, as a process would under
           SIGSTOP or a long GC pause; its peers see nothing from it. */
        zsock_signal (self->pipe, 0);
        zclock_sleep ((int) msg.args [0].u);
    }
    else
    if (verb == ZR_NODE_TRANSFER) {
        int rc = zr_core_transfer (self->core, (zr_id_t) msg.args [0].u,
                                   (uint64_t) zclock_mono ());
        zr_verb_reply (self->pipe, zr_node_verbs, ZR_NODE_TRANSFER, rc);
    }
    else
    if (verb == ZR_NODE_SNAPSHOT) {
        int rc = !self->args.fsm.snapshot ? ZR_EINVAL
               : self->snapshotting ? ZR_EBUSY : 0;
        if (rc == 0 && zr_verb_send (zactor_sock (self->applier), zr_applier_verbs,
                                     ZR_APPLIER_SNAPSHOT) != 0)
            rc = ZR_EBUSY;
        if (rc == 0)
            self->snapshotting = true;
        zr_verb_reply (self->pipe, zr_node_verbs, ZR_NODE_SNAPSHOT, rc);
    }
    else
    if (verb == ZR_NODE_FAULT)
        s_self_fault (self, msg.args);
    else {
        zr_assert (verb == ZR_NODE_PARTITION);
        s_self_partition (self, msg.args);
    }
    zr_verb_msg_reset (&msg);
}

static void
s_self_handle_timer (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (zactor_sock (self->timer), zr_timer_verbs, &msg);
    if (verb < 0)
        s_self_child_ended (self, "timer");
    else {
        zr_assert (verb == ZR_TIMER_TICK);
        self->armed_ms = UINT64_MAX;
        zr_core_tick (self->core, (uint64_t) zclock_mono ());
    }
    zr_verb_msg_reset (&msg);
}

/* Asks the applier for a snapshot when the log has grown past the
   thresholds (node.h). */
static void
s_self_snapshot_maybe (self_t *self)
{
    const zraft_config_t *c = &self->args.config;
    if (self->snapshotting || !self->args.fsm.snapshot || self->disk_failed)
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
    uint64_t bytes = zr_log_bytes (zr_core_log (self->core));
    if ((c->snapshot_entries && since >= c->snapshot_entries)
        || (c->snapshot_bytes && bytes >= c->snapshot_bytes && since > 0)) {
        if (zr_verb_send (zactor_sock (self->applier), zr_applier_verbs,
                          ZR_APPLIER_SNAPSHOT) == 0)
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

/* Queues a restore of snapshot (index, term) for the applier, in order
   with the runs (back-pressure, node.h). */
static void
s_self_restore (self_t *self, zr_index_t index, zr_term_t term)
{
    zr_apply_req_t *req = (zr_apply_req_t *) calloc (1, sizeof *req);
    zr_assert (req);
    req->restore_index = index;
    req->restore_term = term;
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
            zsys_error ("n%u node: cannot restore the state machine; "
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
                               (uint64_t) zclock_mono ());
    else
    if (verb == ZR_REPLICATOR_FILLED) {         /* from storage: core.h (15) */
        zr_core_storage_sent (self->core, (zr_id_t) msg.args [0].u, msg.args [1].u,
                              msg.args [2].u, msg.args [3].u, msg.args [4].u,
                              (uint64_t) zclock_mono ());
        self->stats.entries_out += msg.args [3].u - msg.args [2].u + 1;
    }
    else
    if (verb == ZR_REPLICATOR_UNFILLED)
        zr_core_storage_lost (self->core, (zr_id_t) msg.args [0].u, msg.args [1].u,
                              msg.args [2].u, msg.args [3].u,
                              (uint64_t) zclock_mono ());
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
    zactor_destroy (child_p);
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

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    zpoller_destroy (&self->poller);
    for (zr_id_t id = 1; id <= ZR_NODES_MAX; id++)
        s_child_stop (&self->replicators [id], zr_replicator_verbs,
                      ZR_VERBS_COUNT (zr_replicator_verbs), ZR_REPLICATOR_STOP,
                      ZR_REPLICATOR_STOPPED, NULL);
    s_child_stop (&self->timer, NULL, 0, 0, 0, NULL);
    s_child_stop (&self->persister, zr_persister_verbs,
                  ZR_VERBS_COUNT (zr_persister_verbs), ZR_PERSISTER_STOP,
                  ZR_PERSISTER_STOPPED, s_persister_drop);
    s_child_stop (&self->applier, NULL, 0, 0, 0, NULL);
    zsock_destroy (&self->router);
    s_held_destroy (&self->writes_held, &self->applies_held);
    zr_core_destroy (&self->core);
    zr_filter_destroy (&self->faults);
    free (self);
    *self_p = NULL;
}

static void
s_self_handle (self_t *self, void *which)
{
    if (which == self->pipe)
        s_self_handle_pipe (self);
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
    self->armed_ms = UINT64_MAX;
    atomic_init (&self->bytes_out, 0);
    self->faults = zr_filter_new (self->args.config.seed ^ 0xFA17u ^ self->id);
    zr_assert (self->faults);
    self->writes_held = zlist_new ();
    self->applies_held = zlist_new ();
    zr_assert (self->writes_held && self->applies_held);
    *rc_p = s_self_start (self);
    if (*rc_p != 0)
        s_self_destroy (&self);
    return self;
}

/* Milliseconds until the fault filter releases a held message, for
   zpoller_wait (-1: none held). */
static int
s_self_timeout (self_t *self)
{
    uint64_t due = zr_filter_next_ms (self->faults);
    if (due == UINT64_MAX)
        return -1;
    int64_t left = (int64_t) due - zclock_mono ();
    return left > 0 ? (int) left : 0;
}

void
zr_node_actor (zsock_t *pipe, void *args)
{
    zr_signals_block (NULL);            /* before any child is started */
    int rc = 0;
    self_t *self = s_self_new (pipe, (zr_node_args_t *) args, &rc);
    if (zr_actor_ready (pipe, NULL, rc) != 0)
        return;
    zsys_notice ("n%u node: started", self->id);
    s_self_ready (self);
    while (!self->terminated) {
        void *which = zr_actor_wait (self->poller, s_self_timeout (self),
                                     &self->terminated);
        s_self_release (self);
        /* Take a burst of input before asking the core for a Ready, so
           proposals and replies that arrive together share one batch. */
        for (int burst = 0; which && !self->terminated && burst < ZR_NODE_BURST_MAX;
             burst++) {
            s_self_handle (self, which);
            which = zr_actor_wait (self->poller, 0, &self->terminated);
        }
        if (!self->terminated)
            s_self_ready (self);
    }
    zsys_notice ("n%u node: stopping", self->id);
    s_self_destroy (&self);
}
