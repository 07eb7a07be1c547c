/*  =========================================================================
    replicator - one server's link to one peer (see replicator.h)
    =========================================================================
*/
#include "actors.h"
#include "replicator.h"

typedef struct {
    zsock_t *pipe;                      /* to the node */
    zsock_t *dealer;                    /* to the peer's ROUTER, send only */
    zpoller_t *poller;                  /* over the pipe */
    zr_replicator_args_t conf;          /* copied arguments */
    msgpack_sbuffer sbuf;               /* encode buffer, reused */
    bool unreachable;                   /* a full link was reported */
    zr_snapshot_reader_t *snapshot;     /* the snapshot being sent, or NULL */
    zr_index_t lost_index;              /* a snapshot reported LOST, not again */
    bool stopped;                       /* STOP received: send nothing more */
    bool terminated;                    /* $TERM received */
} self_t;

static void s_self_destroy (self_t **self_p);

/* Returns NULL (having logged why) if the peer endpoint cannot be
   connected. The DEALER only sends: replies come back to the node's
   ROUTER from the peer's persister (transport/peer.h). */
static self_t *
s_self_new (zsock_t *pipe, const zr_replicator_args_t *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->conf = *args;
    msgpack_sbuffer_init (&self->sbuf);
    self->poller = zpoller_new (pipe, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    self->dealer = zr_peer_dealer_new ('n', self->conf.self_id, self->conf.endpoint);
    if (!self->dealer) {
        zr_error ("n%u replicator/n%u: cannot connect %s", self->conf.self_id,
                  self->conf.peer_id, self->conf.endpoint);
        s_self_destroy (&self);
    }
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->dealer);
    zr_snapshot_reader_destroy (&self->snapshot);
    msgpack_sbuffer_destroy (&self->sbuf);
    free (self);
    *self_p = NULL;
}

/* Reads the bytes of an InstallSnapshot chunk from its file. Returns 0,
   or -1 (logged) if the snapshot cannot be read. */
static int
s_self_fill (self_t *self, zr_message_t *msg)
{
    zr_assert (msg->type == ZR_MSG_SNAPSHOT && !msg->chunk);
    const zr_snapshot_meta_t *meta = self->snapshot
        ? zr_snapshot_reader_meta (self->snapshot) : NULL;
    char path [1200], errmsg [512] = "";
    if (!meta || meta->index != msg->last_index || meta->term != msg->last_term) {
        zr_snapshot_reader_destroy (&self->snapshot);
        int rc = zr_snapshot_path (self->conf.data_dir, msg->last_index,
                                   msg->last_term, path, sizeof path);
        if (rc == 0)
            self->snapshot = zr_snapshot_reader_new (path, &rc, errmsg, sizeof errmsg);
        if (!self->snapshot) {
            if (self->lost_index != msg->last_index)
                zr_warning ("n%u replicator/n%u: snapshot %llu: %s",
                            self->conf.self_id, self->conf.peer_id,
                            (unsigned long long) msg->last_index, errmsg);
            return -1;
        }
    }
    msg->chunk_blob = zr_blob_new (msg->chunk_size);
    zr_assert (msg->chunk_blob);
    size_t got = 0;
    int rc = zr_snapshot_reader_read (self->snapshot, msg->snap_offset,
                                      msg->chunk_blob->data, msg->chunk_size, &got);
    if (rc != 0 || got != msg->chunk_size
        || zr_snapshot_reader_meta (self->snapshot)->size != msg->snap_size) {
        zr_snapshot_reader_destroy (&self->snapshot);
        return -1;
    }
    msg->chunk = msg->chunk_blob->data;
    return 0;
}

/* Encodes and writes one message to the peer, never blocking. */
static void
s_self_send (self_t *self, zr_message_t *msg)
{
    zr_assert (msg->to == self->conf.peer_id);
    if (self->stopped)
        return;
    if (msg->type == ZR_MSG_SNAPSHOT && msg->chunk_size > 0 && !msg->chunk
        && s_self_fill (self, msg) != 0) {
        /* Once per snapshot: the core restarts the transfer with its
           newest, and if that one cannot be read either, the chunks are
           dropped (the link looks lossy) instead of looping. */
        if (self->lost_index != msg->last_index)
            zr_verb_send (self->pipe, zr_replicator_verbs, ZR_REPLICATOR_LOST,
                          self->conf.peer_id);
        self->lost_index = msg->last_index;
        return;
    }
    self->sbuf.size = 0;
    int rc = zr_codec_encode (msg, &self->sbuf);
    zr_assert (rc == 0);                /* the core respects the limits */
    rc = zr_peer_send (self->dealer, 0, self->sbuf.data, self->sbuf.size);
    if (rc == 0) {
        atomic_fetch_add (self->conf.bytes_out, self->sbuf.size);
        self->unreachable = false;
    }
    else
    if (!self->unreachable) {
        self->unreachable = true;
        zr_verb_send (self->pipe, zr_replicator_verbs, ZR_REPLICATOR_UNREACHABLE,
                      self->conf.peer_id);
    }
}

static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_replicator_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* $TERM, or the pipe ended */
    else
    if (verb == ZR_REPLICATOR_STOP) {
        self->stopped = true;
        zr_verb_send (self->pipe, zr_replicator_verbs, ZR_REPLICATOR_STOPPED);
    }
    else {
        zr_assert (verb == ZR_REPLICATOR_SEND && msg.args [0].p);
        zr_message_t *message = (zr_message_t *) msg.args [0].p;
        s_self_send (self, message);
        zr_message_destroy (&message);
    }
    zr_verb_msg_reset (&msg);
}

void
zr_replicator_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (zr_replicator_args_t *) args);
    if (zr_actor_ready (pipe, args, self ? 0 : ZR_EINVAL) != 0)
        return;
    while (!self->terminated)
        if (zr_actor_wait (self->poller, -1, &self->terminated) == pipe)
            s_self_handle_pipe (self);
    s_self_destroy (&self);
}
