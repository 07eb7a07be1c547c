/*  =========================================================================
    persister - makes one server's Raft state durable (see persister.h)
    =========================================================================
*/
#include "actors.h"
#include "persister.h"

typedef struct {
    zsock_t *pipe;                      /* to the node */
    zr_wal_t *wal;                      /* owned write-ahead log */
    zr_id_t self_id;                    /* this server */
    zsock_t *dealers [ZR_NODES_MAX + 1];    /* replies out, by peer id */
    atomic_uint_fast64_t *bytes_out;    /* shared counter */
    msgpack_sbuffer sbuf;               /* encode buffer, reused */
    bool failed;                        /* sticky: the disk failed */
    bool terminated;                    /* $TERM received */
    bool stop_asked;                    /* STOP received: answer once drained */
    zr_persist_req_t *queue [ZR_PERSIST_BATCH_MAX];  /* this batch */
    uint32_t queued;                    /* requests in queue */
    zactor_t *preparer;                 /* creates spare WAL segments */
    zpoller_t *poller;                  /* pipe and preparer */
    zr_wal_spare_t *spare;              /* the job with the preparer, or NULL */
    char data_dir [1024];               /* installed snapshots */
    zr_snapshot_meta_t config;          /* servers, for snapshot files */
    zr_snapshot_writer_t *rx;           /* the snapshot being received */
} self_t;

/* The preparer: creates the spare WAL segments the persister asks for,
   one at a time, so a segment's zero fill and fdatasync (tens of ms)
   never sit between a sync and the acknowledgements behind it. A job is
   on the heap with its own directory descriptor: if the persister can no
   longer take it back (the context ended), the preparer releases it.
   | verb     | direction             | frames                | reply |
   |----------|-----------------------|-----------------------|-------|
   | PREPARE  | persister -> preparer | "sp": zr_wal_spare_t* | PREPARED with the same job |
   | PREPARED | preparer -> persister | "sp": zr_wal_spare_t* | the persister owns the job again |
   | $TERM    | persister -> preparer | "s"                   | actor ends |
   Between PREPARE and PREPARED the preparer owns the job. */
#define ZR_PREPARER_PROTOCOL(X)                                              \
    X (PREPARER, PREPARE, "sp", NULL)                                        \
    X (PREPARER, PREPARED, "sp", NULL)
ZR_PROTOCOL_DECLARE (preparer, ZR_PREPARER_PROTOCOL);

typedef struct {
    zsock_t *pipe;                      /* to the persister */
    zpoller_t *poller;                  /* over the pipe */
    bool terminated;                    /* $TERM received */
} preparer_t;

static void
s_preparer_handle_pipe (preparer_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_preparer_verbs, &msg);
    if (verb < 0) {
        self->terminated = true;        /* $TERM, or the pipe ended */
        return;
    }
    zr_assert (verb == ZR_PREPARER_PREPARE && msg.args [0].p);
    zr_wal_spare_t *job = (zr_wal_spare_t *) msg.args [0].p;
    zr_wal_spare_prepare (job);
    zr_handoff_send (job);
    if (zr_verb_send (self->pipe, zr_preparer_verbs, ZR_PREPARER_PREPARED, job) != 0) {
        zr_wal_spare_discard (job);
        free (job);
    }
}

static void
s_preparer_actor (zsock_t *pipe, void *args)
{
    zr_actor_name ("prepare", 0);
    preparer_t self = {.pipe = pipe, .poller = zpoller_new (pipe, NULL)};
    zr_assert (self.poller);
    zpoller_set_nonstop (self.poller, true);    /* ended by $TERM only */
    zr_actor_ready (pipe, args, 0);
    while (!self.terminated)
        if (zr_actor_wait (self.poller, -1, &self.terminated) == pipe)
            s_preparer_handle_pipe (&self);
    zpoller_destroy (&self.poller);
}

static void s_self_fail (self_t *self, const char *reason);

/* Takes the preparer's job back (blocks until it is done): the handler
   of the preparer's pipe, also called where the WAL needs the spare. If the pipe
   fails (the context ended), the job is the preparer's to release and the
   persister stops writing: the WAL still counts the spare as pending. */
static void
s_spare_collect (self_t *self)
{
    zr_assert (self->spare);
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (zactor_sock (self->preparer), zr_preparer_verbs, &msg);
    if (verb != ZR_PREPARER_PREPARED || msg.args [0].p != self->spare) {
        self->spare = NULL;
        s_self_fail (self, "lost the spare segment job");
        return;
    }
    if (zr_wal_spare_done (self->wal, self->spare) != 0)
        zr_warning ("n%u persister: spare segment: %s (retried at the switch)",
                    self->self_id, self->spare->error);
    free (self->spare);
    self->spare = NULL;
}

/* Hands the preparer the next spare segment, if the WAL wants one. */
static void
s_spare_request (self_t *self)
{
    if (self->spare || self->failed)
        return;
    zr_wal_spare_t *job = (zr_wal_spare_t *) calloc (1, sizeof *job);
    zr_assert (job);
    if (!zr_wal_spare_wanted (self->wal, job)) {
        free (job);
        return;
    }
    zr_handoff_send (job);
    if (zr_verb_send (self->preparer, zr_preparer_verbs, ZR_PREPARER_PREPARE, job) == 0)
        self->spare = job;
    else {                              /* as if it failed: the switch retries */
        job->rc = ZR_EIO;
        zr_wal_spare_done (self->wal, job);
        free (job);
    }
}

void
zr_persist_req_destroy (zr_persist_req_t **self_p)
{
    zr_assert (self_p);
    zr_persist_req_t *self = *self_p;
    if (!self)
        return;
    zr_entries_destroy (&self->entries, self->n_entries);
    for (uint32_t i = 0; self->msgs && i < self->n_msgs; i++)
        zr_message_destroy (&self->msgs [i]);
    free (self->msgs);
    for (uint32_t i = 0; i < self->n_chunks; i++)
        zr_blob_unref (&self->chunks [i].blob);
    free (self->chunks);
    free (self);
    *self_p = NULL;
}

void
zr_persist_batch_destroy (zr_persist_batch_t **self_p)
{
    zr_assert (self_p);
    zr_persist_batch_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; i < self->n_reqs; i++)
        zr_persist_req_destroy (&self->reqs [i]);
    free (self->reqs);
    free (self);
    *self_p = NULL;
}

/* Enters the sticky failed state: says so once, writes nothing more. */
static void
s_self_fail (self_t *self, const char *reason)
{
    if (self->failed)
        return;                         /* FAILED is sent once */
    self->failed = true;
    zr_error ("n%u persister: %s; no further writes will be acknowledged",
              self->self_id, reason);
    zr_verb_send (self->pipe, zr_persister_verbs, ZR_PERSISTER_FAILED, reason);
}

/* Takes one WRITE, STOP or $TERM off the pipe (WRITE into the queue). */
static void
s_self_receive (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_persister_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* $TERM, or the pipe ended */
    else
    if (verb == ZR_PERSISTER_STOP)
        self->stop_asked = true;
    else {
        zr_assert (verb == ZR_PERSISTER_WRITE && msg.args [0].p);
        zr_assert (self->queued < ZR_PERSIST_BATCH_MAX);
        self->queue [self->queued++] = (zr_persist_req_t *) msg.args [0].p;
    }
    zr_verb_msg_reset (&msg);
}

/* Completes the snapshot received: fsync, rename, directory fsync;
   then the log restarts after it if the core emptied its own (reset),
   and older snapshots go. Returns 0, or fails the persister. */
static int
s_self_install (self_t *self, const zr_chunk_t *chunk)
{
    char errmsg [512] = "";
    int rc = zr_snapshot_writer_commit (&self->rx, NULL, errmsg, sizeof errmsg);
    if (rc == 0 && chunk->reset)
        rc = zr_wal_set_start (self->wal, chunk->index, chunk->term);
    if (rc == 0)
        rc = zr_snapshot_prune_older (self->data_dir, errmsg, sizeof errmsg);
    if (rc != 0) {
        char reason [640];
        snprintf (reason, sizeof reason, "installing snapshot %llu: %s %s",
                  (unsigned long long) chunk->index, zr_strerror (rc), errmsg);
        s_self_fail (self, reason);
        return rc;
    }
    zr_notice ("n%u persister: snapshot index=%llu term=%llu size=%llu installed",
               self->self_id, (unsigned long long) chunk->index,
               (unsigned long long) chunk->term, (unsigned long long) chunk->size);
    return 0;
}

/* Writes one chunk of a snapshot a leader sends; the first starts its
   file (dropping an unfinished one), the last completes it. The core
   hands chunks in order from offset 0 (raft/core.h). */
static void
s_self_chunk (self_t *self, const zr_chunk_t *chunk)
{
    char errmsg [512] = "";
    if (chunk->offset == 0) {
        zr_snapshot_writer_abort (&self->rx);
        zr_snapshot_meta_t meta = self->config;
        meta.index = chunk->index;
        meta.term = chunk->term;
        self->rx = zr_snapshot_writer_new (self->data_dir, &meta, errmsg, sizeof errmsg);
        if (!self->rx) {
            s_self_fail (self, errmsg);
            return;
        }
    }
    zr_assert (self->rx);               /* the core starts at offset 0 */
    int rc = zr_snapshot_writer_write (self->rx, chunk->offset, chunk->data, chunk->n);
    if (rc != 0) {
        snprintf (errmsg, sizeof errmsg, "snapshot %llu chunk at %llu: %s",
                  (unsigned long long) chunk->index,
                  (unsigned long long) chunk->offset,
                  self->rx ? zr_snapshot_writer_error (self->rx) : "");
        s_self_fail (self, errmsg);
        return;
    }
    if (chunk->last)
        s_self_install (self, chunk);
}

/* Drops the WAL segments the core compacted, after the sync. */
static void
s_self_compact (self_t *self)
{
    zr_index_t upto = 0;
    for (uint32_t i = 0; i < self->queued; i++)
        if (self->queue [i]->compact > upto)
            upto = self->queue [i]->compact;
    if (upto == 0 || self->failed)
        return;
    if (zr_wal_compact (self->wal, upto) != 0)
        s_self_fail (self, "cannot delete compacted WAL segments");
}

/* Writes the whole queue with one fdatasync (group commit). */
static void
s_self_write (self_t *self)
{
    bool dirty = false;
    for (uint32_t i = 0; i < self->queued && !self->failed; i++) {
        zr_persist_req_t *req = self->queue [i];
        if (req->hs_changed) {
            zr_wal_set_hard_state (self->wal, req->term, req->vote);
            dirty = true;
        }
        for (uint32_t c = 0; c < req->n_chunks && !self->failed; c++) {
            s_self_chunk (self, &req->chunks [c]);
            dirty = true;
        }
        if (req->n_entries > 0) {
            if (zr_wal_append (self->wal, req->entries, req->n_entries) != 0)
                s_self_fail (self, "entry larger than a WAL segment");
            dirty = true;
        }
    }
    if (dirty && !self->failed) {
        if (self->spare && zr_wal_spare_awaited (self->wal))
            s_spare_collect (self);     /* the sync writes into it */
    }
    if (dirty && !self->failed) {
        char errmsg [256] = "";
        if (zr_wal_sync (self->wal, errmsg, sizeof errmsg) != 0)
            s_self_fail (self, errmsg);
    }
    s_self_compact (self);
}

/* Sends the messages of every queued request (after the sync). A full
   link drops the reply: the leader retries, replies are idempotent. */
static void
s_self_send (self_t *self)
{
    for (uint32_t i = 0; i < self->queued; i++) {
        zr_persist_req_t *req = self->queue [i];
        for (uint32_t m = 0; m < req->n_msgs; m++) {
            zr_message_t *msg = req->msgs [m];
            zsock_t *dealer = msg->to <= ZR_NODES_MAX ? self->dealers [msg->to] : NULL;
            zr_assert (dealer);
            self->sbuf.size = 0;
            int rc = zr_codec_encode (msg, &self->sbuf);
            zr_assert (rc == 0);
            if (!self->failed
                && zr_peer_send (dealer, self->sbuf.data, self->sbuf.size) == 0)
                atomic_fetch_add (self->bytes_out, self->sbuf.size);
            zr_message_destroy (&req->msgs [m]);
        }
        req->n_msgs = 0;
    }
}

/* Hands the queue back to the node as one batch. */
static void
s_self_complete (self_t *self)
{
    zr_persist_batch_t *batch = (zr_persist_batch_t *) calloc (1, sizeof *batch);
    zr_assert (batch);
    batch->reqs = (zr_persist_req_t **) malloc (self->queued * sizeof (void *));
    zr_assert (batch->reqs);
    memcpy (batch->reqs, self->queue, self->queued * sizeof (void *));
    batch->n_reqs = self->queued;
    batch->failed = self->failed;
    zr_wal_stats (self->wal, &batch->wal);
    self->queued = 0;
    zr_handoff_send (batch);
    if (zr_verb_send (self->pipe, zr_persister_verbs, ZR_PERSISTER_PERSISTED, batch) != 0)
        zr_persist_batch_destroy (&batch);
}

static void s_self_destroy (self_t **self_p);

/* Returns NULL (having logged why, and destroyed the WAL it was given)
   if a peer endpoint cannot be connected. */
static self_t *
s_self_new (zsock_t *pipe, const zr_persister_args_t *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->wal = args->wal;
    self->self_id = args->self_id;
    self->bytes_out = args->bytes_out;
    zr_assert (self->wal && self->bytes_out);
    snprintf (self->data_dir, sizeof self->data_dir, "%s", args->data_dir);
    self->config = args->config;
    msgpack_sbuffer_init (&self->sbuf);
    self->preparer = zr_actor_new (s_preparer_actor, NULL);
    zr_assert (self->preparer);
    self->poller = zpoller_new (pipe, self->preparer, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    for (uint32_t i = 0; i < args->n_peers; i++) {
        zr_id_t peer = args->peer_ids [i];
        zr_assert (peer >= 1 && peer <= ZR_NODES_MAX);
        self->dealers [peer] = zr_peer_dealer_new ('r', &args->who, args->endpoints [i]);
        if (!self->dealers [peer]) {
            zr_error ("n%u persister: cannot connect to n%u at %s", self->self_id,
                      peer, args->endpoints [i]);
            zr_wal_discard (&self->wal);    /* a fresh directory's failed start */
            s_self_destroy (&self);
            break;
        }
    }
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    for (uint32_t i = 0; i < self->queued; i++)
        zr_persist_req_destroy (&self->queue [i]);
    if (self->spare)
        s_spare_collect (self);         /* the WAL closes what it made */
    zpoller_destroy (&self->poller);
    zr_actor_destroy (&self->preparer);
    for (zr_id_t id = 1; id <= ZR_NODES_MAX; id++)
        zsock_destroy (&self->dealers [id]);
    zr_wal_destroy (&self->wal);
    zr_snapshot_writer_abort (&self->rx);
    msgpack_sbuffer_destroy (&self->sbuf);
    free (self);
    *self_p = NULL;
}

/* Takes every request already queued on the pipe (group commit), writes
   them with one fdatasync, sends their replies and hands them back. */
static void
s_self_handle_pipe (self_t *self)
{
    s_self_receive (self);
    while (!self->terminated && self->queued < ZR_PERSIST_BATCH_MAX
           && (zsock_events (self->pipe) & ZMQ_POLLIN))
        s_self_receive (self);
    if (self->queued > 0) {
        s_self_write (self);
        s_self_send (self);
        s_self_complete (self);
        s_spare_request (self);         /* after the replies are out */
    }
    if (self->stop_asked) {             /* nothing follows STOPPED */
        self->stop_asked = false;
        zr_verb_send (self->pipe, zr_persister_verbs, ZR_PERSISTER_STOPPED);
    }
}

void
zr_persister_actor (zsock_t *pipe, void *args)
{
    zr_actor_name ("persist", ((zr_persister_args_t *) args)->self_id);
    self_t *self = s_self_new (pipe, (zr_persister_args_t *) args);
    if (zr_actor_ready (pipe, args, self ? 0 : ZR_EINVAL) != 0)
        return;
    s_spare_request (self);
    while (!self->terminated) {
        void *which = zr_actor_wait (self->poller, -1, &self->terminated);
        if (which == self->preparer)
            s_spare_collect (self);
        else
        if (which == pipe)
            s_self_handle_pipe (self);
    }
    s_self_destroy (&self);
}
