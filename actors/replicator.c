/*  =========================================================================
    replicator - one server's link to one peer (see replicator.h)
    =========================================================================
*/
#include "actors.h"
#include "replicator.h"

typedef struct {
    zsock_t *pipe;                      /* to the node */
    zsock_t *dealer;                    /* to the peer's ROUTER */
    zr_replicator_args_t conf;          /* copied arguments */
    msgpack_sbuffer sbuf;               /* encode buffer, reused */
    bool unreachable;                   /* a full link was reported */
    bool stopped;                       /* STOP received: hand nothing more */
    zr_codec_stats_t codec;             /* reply frames by decode result */
    zr_peer_warn_t warn;                /* rate limit of bad-frame warnings */
    bool terminated;                    /* $TERM received */
} self_t;

static void
s_self_send (self_t *self, zr_message_t *msg)
{
    zr_assert (msg->to == self->conf.peer_id);
    if (self->stopped)
        return;
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
        zsock_send (self->pipe, "s4", "UNREACHABLE", self->conf.peer_id);
    }
}

static void
s_self_handle_pipe (self_t *self)
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
    if (streq (verb, "STOP")) {
        self->stopped = true;
        zstr_send (self->pipe, "STOPPED");
    }
    else {
        zr_assert (streq (verb, "SEND") && ptr);
        zr_message_t *msg = (zr_message_t *) ptr;
        s_self_send (self, msg);
        zr_message_destroy (&msg);
    }
    zstr_free (&verb);
}

/* A frame from the peer: must decode, be a reply, come from the peer. */
static void
s_self_handle_dealer (self_t *self)
{
    zframe_t *frame = zframe_recv (self->dealer);
    if (!frame)
        return;
    while (zsock_rcvmore (self->dealer)) {  /* one frame per RPC, no more */
        zframe_t *extra = zframe_recv (self->dealer);
        zframe_destroy (&extra);
    }
    zr_message_t *msg = NULL;
    int rc = zr_codec_decode (zframe_data (frame), zframe_size (frame), &msg);
    if (rc == 0 && (msg->from != self->conf.peer_id || msg->to != self->conf.self_id
                    || (msg->type != ZR_MSG_VOTE_REPLY
                        && msg->type != ZR_MSG_APPEND_REPLY)))
        rc = ZR_EMALFORMED;
    zr_codec_stats_add (&self->codec, rc);
    if (rc != 0) {
        atomic_fetch_add (self->conf.rejected, 1);
        char who [32];
        snprintf (who, sizeof who, "replicator/n%u", self->conf.peer_id);
        zr_peer_warn (&self->warn, self->conf.self_id, who, zframe_data (frame),
                      zframe_size (frame), zr_strerror (rc));
        zr_message_destroy (&msg);
    }
    else
    if (self->stopped || zsock_send (self->pipe, "sp", "RECEIVED", msg) != 0)
        zr_message_destroy (&msg);
    zframe_destroy (&frame);
}

void
zr_replicator_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->conf = *(zr_replicator_args_t *) args;
    msgpack_sbuffer_init (&self->sbuf);
    self->dealer = zr_peer_dealer_new (self->conf.self_id, self->conf.endpoint);
    if (!self->dealer) {
        zsock_signal (pipe, 1);
        msgpack_sbuffer_destroy (&self->sbuf);
        free (self);
        return;
    }
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, self->dealer, NULL);
    zr_assert (poller);
    while (!self->terminated) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe)
            s_self_handle_pipe (self);
        else
        if (which == self->dealer)
            s_self_handle_dealer (self);
        else
            break;                      /* interrupted */
    }
    zpoller_destroy (&poller);
    zsock_destroy (&self->dealer);
    msgpack_sbuffer_destroy (&self->sbuf);
    free (self);
}
