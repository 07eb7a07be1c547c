/*  =========================================================================
    persister - makes one server's Raft state durable (see persister.h)
    =========================================================================
*/
#include "actors.h"
#include "persister.h"

typedef struct {
    zsock_t *pipe;                      /* to the node */
    zr_wal_t *wal;                      /* owned write-ahead log */
    bool failed;                        /* sticky: the disk failed */
    bool terminated;                    /* $TERM received */
    bool stop_asked;                    /* STOP received: answer once drained */
    zr_persist_req_t *queue [ZR_PERSIST_BATCH_MAX];  /* this batch */
    uint32_t queued;                    /* requests in queue */
} self_t;

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
    if (zsock_recv (self->pipe, "sp", &verb, &ptr) < 0) {
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
        char errmsg [256] = "";
        if (zr_wal_sync (self->wal, errmsg, sizeof errmsg) != 0) {
            self->failed = true;
            zsys_error ("persister: %s; no further writes will be acknowledged",
                        errmsg);
            zsock_send (self->pipe, "ss", "FAILED", errmsg);
        }
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
    if (zsock_send (self->pipe, "sp", "PERSISTED", batch) != 0)
        zr_persist_batch_destroy (&batch);
}

void
zr_persister_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->wal = (zr_wal_t *) args;
    zr_assert (self->wal);
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        s_self_receive (self);          /* blocks for the first request */
        while (!self->terminated && self->queued < ZR_PERSIST_BATCH_MAX
               && (zsock_events (pipe) & ZMQ_POLLIN))
            s_self_receive (self);      /* group commit: take what is queued */
        if (self->queued > 0) {
            s_self_write (self);
            s_self_complete (self);
        }
        if (self->stop_asked) {         /* nothing follows STOPPED */
            self->stop_asked = false;
            zstr_send (pipe, "STOPPED");
        }
    }
    for (uint32_t i = 0; i < self->queued; i++)
        zr_persist_req_destroy (&self->queue [i]);
    zr_wal_destroy (&self->wal);
    free (self);
}
