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
    zr_wal_reader_t *wal;               /* reads storage ranges, or NULL while
                                           entries come from memory */
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
    self->dealer = zr_peer_dealer_new ('n', &self->conf.who, self->conf.endpoint);
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
    zr_wal_reader_destroy (&self->wal);
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

/* Reads n_p entries from..to (at most bytes_max of payload, at least
   one) from the WAL into *entries_p. Returns 0, or the ZR_E* code,
   logged unless it is ZR_ECOMPACTED (compaction won a race: expected). */
static int
s_self_wal_read (self_t *self, zr_index_t from, zr_index_t to, size_t bytes_max,
                 zr_entry_t **entries_p, uint32_t *n_p)
{
    zr_assert (from >= 1 && from <= to);
    if (!self->wal)
        self->wal = zr_wal_reader_new (self->conf.data_dir);
    int rc = self->wal ? zr_wal_read (self->wal, from, to, bytes_max, to,
                                      entries_p, n_p)
                       : ZR_EIO;
    if (rc == 0 && *n_p == 0)
        rc = ZR_ECORRUPT;               /* durable entries gone missing */
    if (rc != 0 && rc != ZR_ECOMPACTED)
        zsys_warning ("n%u replicator/n%u: cannot read entries %llu..%llu of "
                      "the log in %s: %s", self->conf.self_id, self->conf.peer_id,
                      (unsigned long long) from, (unsigned long long) to,
                      self->conf.data_dir, zr_strerror (rc));
    return rc;
}

/* Fills an AppendEntries that names a storage range (read_last, raft/
   core.h Invariant 15) from the WAL: the term of prev_index if the core
   left it 0, then entries from prev_index + 1, within read_bytes.
   Returns 0 with *bytes_p set, or the index the WAL no longer holds
   (nothing filled). */
static zr_index_t
s_self_fill_entries (self_t *self, zr_message_t *msg, uint64_t *bytes_p)
{
    zr_assert (msg->type == ZR_MSG_APPEND && msg->read_last > msg->prev_index);
    zr_assert (msg->n_entries == 0 && !msg->entries);
    zr_entry_t *entries = NULL;
    uint32_t n = 0;
    if (msg->prev_term == 0 && msg->prev_index > 0) {
        if (s_self_wal_read (self, msg->prev_index, msg->prev_index, 0,
                             &entries, &n) != 0)
            return msg->prev_index;
        msg->prev_term = entries [0].term;
        zr_entries_destroy (&entries, n);
    }
    zr_index_t from = msg->prev_index + 1;
    if (s_self_wal_read (self, from, msg->read_last, msg->read_bytes,
                         &entries, &n) != 0)
        return from;
    zr_assert (entries [0].index == from && n <= msg->read_last - msg->prev_index);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += entries [i].size;
    msg->entries = entries;
    msg->n_entries = n;
    msg->read_last = 0;
    msg->read_bytes = 0;
    *bytes_p = bytes;
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
    zr_index_t from = msg->prev_index + 1;
    uint64_t bytes = 0;
    bool filled = msg->type == ZR_MSG_APPEND && msg->read_last > 0;
    if (filled) {
        zr_index_t lost = s_self_fill_entries (self, msg, &bytes);
        if (lost) {
            zr_verb_send (self->pipe, zr_replicator_verbs, ZR_REPLICATOR_UNFILLED,
                          self->conf.peer_id, (uint64_t) msg->term,
                          (uint64_t) from, (uint64_t) lost);
            return;
        }
    }
    else
    if (msg->type == ZR_MSG_APPEND && msg->n_entries > 0)
        zr_wal_reader_destroy (&self->wal);     /* caught up: from memory */
    self->sbuf.size = 0;
    int rc = zr_codec_encode (msg, &self->sbuf);
    zr_assert (rc == 0);                /* the core respects the limits */
    rc = zr_peer_send (self->dealer, self->sbuf.data, self->sbuf.size);
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
    /* Sent or lost on a full link (UNREACHABLE, before, resets the
       follower's progress, so the core then ignores this report). */
    if (filled)
        zr_verb_send (self->pipe, zr_replicator_verbs, ZR_REPLICATOR_FILLED,
                      self->conf.peer_id, (uint64_t) msg->term, (uint64_t) from,
                      (uint64_t) (from + msg->n_entries - 1), bytes);
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
        atomic_fetch_add (self->conf.handled, 1);       /* the node's idle check */
    }
    zr_verb_msg_reset (&msg);
}

void
zr_replicator_actor (zsock_t *pipe, void *args)
{
    char role [8];
    snprintf (role, sizeof role, "to%u",
              (unsigned) ((zr_replicator_args_t *) args)->peer_id);
    zr_actor_name (role, ((zr_replicator_args_t *) args)->self_id);
    self_t *self = s_self_new (pipe, (zr_replicator_args_t *) args);
    if (zr_actor_ready (pipe, args, self ? 0 : ZR_EINVAL) != 0)
        return;
    while (!self->terminated)
        if (zr_actor_wait (self->poller, -1, &self->terminated) == pipe)
            s_self_handle_pipe (self);
    s_self_destroy (&self);
}
