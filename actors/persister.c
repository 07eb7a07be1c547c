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
} self_t;

/* The preparer: creates the spare WAL segments the persister asks for,
   one at a time, so a segment's zero fill and fdatasync (tens of ms)
   never sit between a sync and the acknowledgements behind it. A job is
   on the heap with its own directory descriptor: if the persister can no
   longer take it back (the context ended), the preparer releases it.
   | PREPARE  | persister -> preparer | "sp": zr_wal_spare_t* | PREPARED with the same job |
   | PREPARED | preparer -> persister | "sp": zr_wal_spare_t* | the persister owns the job again | */
static void
s_preparer_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal (pipe, 0);
    while (true) {
        char *verb = NULL;
        void *job = NULL;
        if (zsock_recv (pipe, "sp", &verb, &job) < 0)
            break;
        zr_handoff_recv (job);
        bool prepare = verb && streq (verb, "PREPARE") && job;
        zstr_free (&verb);
        if (!prepare)
            break;                      /* $TERM */
        zr_wal_spare_prepare ((zr_wal_spare_t *) job);
        zr_handoff_send (job);
        if (zsock_send (pipe, "sp", "PREPARED", job) != 0) {
            zr_wal_spare_discard ((zr_wal_spare_t *) job);
            free (job);
        }
    }
}

/* Takes the preparer's job back (blocks until it is done). If the pipe
   fails (the context ended), the job is the preparer's to release and the
   persister stops writing: the WAL still counts the spare as pending. */
static void
s_spare_collect (self_t *self)
{
    zr_assert (self->spare);
    char *verb = NULL;
    void *job = NULL;
    int rc;
    while ((rc = zsock_recv (zactor_sock (self->preparer), "sp", &verb, &job)) < 0
           && zmq_errno () == EINTR)
        ;
    zstr_free (&verb);
    if (rc < 0 || job != self->spare) {
        zsys_error ("persister: lost the spare segment job; no further writes");
        self->spare = NULL;
        self->failed = true;
        zsock_send (self->pipe, "ss", "FAILED", "lost the spare segment job");
        return;
    }
    zr_handoff_recv (job);
    if (zr_wal_spare_done (self->wal, self->spare) != 0)
        zsys_warning ("persister: spare segment: %s (retried at the switch)",
                      self->spare->error);
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
    if (zsock_send (self->preparer, "sp", "PREPARE", job) == 0)
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

/* Takes one WRITE (or $TERM) off the pipe into the queue. */
static void
s_self_receive (self_t *self)
{
    char *verb = NULL;
    void *ptr = NULL;
    int rc = zsock_recv (self->pipe, "sp", &verb, &ptr);
    zr_handoff_recv (ptr);
    if (rc < 0) {
        self->terminated = true;
        return;
    }
    zr_assert (verb);
    if (streq (verb, "$TERM"))
        self->terminated = true;
    else
    if (streq (verb, "STOP"))
        self->stop_asked = true;
    else {
        zr_assert (streq (verb, "WRITE") && ptr);
        zr_assert (self->queued < ZR_PERSIST_BATCH_MAX);
        self->queue [self->queued++] = (zr_persist_req_t *) ptr;
    }
    zstr_free (&verb);
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
        if (req->n_entries > 0) {
            if (zr_wal_append (self->wal, req->entries, req->n_entries) != 0) {
                self->failed = true;
                zsys_error ("persister: entry larger than a WAL segment");
            }
            dirty = true;
        }
    }
    if (dirty && !self->failed) {
        if (self->spare && zr_wal_spare_awaited (self->wal))
            s_spare_collect (self);     /* the sync writes into it */
    }
    if (dirty && !self->failed) {
        char errmsg [256] = "";
        if (zr_wal_sync (self->wal, errmsg, sizeof errmsg) != 0) {
            self->failed = true;
            zsys_error ("persister: %s; no further writes will be acknowledged",
                        errmsg);
            zsock_send (self->pipe, "ss", "FAILED", errmsg);
        }
    }
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
                && zr_peer_send (dealer, 0, self->sbuf.data, self->sbuf.size) == 0)
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
    if (zsock_send (self->pipe, "sp", "PERSISTED", batch) != 0)
        zr_persist_batch_destroy (&batch);
}

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
    msgpack_sbuffer_init (&self->sbuf);
    self->preparer = zactor_new (s_preparer_actor, NULL);
    zr_assert (self->preparer);
    self->poller = zpoller_new (pipe, self->preparer, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    for (uint32_t i = 0; i < args->n_peers; i++) {
        zr_id_t peer = args->peer_ids [i];
        zr_assert (peer >= 1 && peer <= ZR_NODES_MAX);
        self->dealers [peer] = zr_peer_dealer_new ('r', self->self_id, args->endpoints [i]);
        zr_assert (self->dealers [peer]);    /* endpoints were checked */
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
    zactor_destroy (&self->preparer);
    for (zr_id_t id = 1; id <= ZR_NODES_MAX; id++)
        zsock_destroy (&self->dealers [id]);
    zr_wal_destroy (&self->wal);
    msgpack_sbuffer_destroy (&self->sbuf);
    free (self);
    *self_p = NULL;
}

void
zr_persister_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (zr_persister_args_t *) args);
    zr_actor_ready (pipe, args, 0);
    s_spare_request (self);
    while (!self->terminated) {
        void *which = zpoller_wait (self->poller, -1);
        if (which == self->preparer) {
            s_spare_collect (self);
            continue;
        }
        if (!which) {
            self->terminated = true;    /* interrupted or context ended */
            break;
        }
        s_self_receive (self);
        while (!self->terminated && self->queued < ZR_PERSIST_BATCH_MAX
               && (zsock_events (pipe) & ZMQ_POLLIN))
            s_self_receive (self);      /* group commit: take what is queued */
        if (self->queued > 0) {
            s_self_write (self);
            s_self_send (self);
            s_self_complete (self);
            s_spare_request (self);     /* after the replies are out */
        }
        if (self->stop_asked) {         /* nothing follows STOPPED */
            self->stop_asked = false;
            zstr_send (pipe, "STOPPED");
        }
    }
    s_self_destroy (&self);
}
