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
    bool stopped;                       /* STOP received: send nothing more */
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

void
zr_replicator_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->conf = *(zr_replicator_args_t *) args;
    msgpack_sbuffer_init (&self->sbuf);
    self->dealer = zr_peer_dealer_new ('n', self->conf.self_id, self->conf.endpoint);
    if (!self->dealer) {
        zr_actor_ready (pipe, args, 1);
        msgpack_sbuffer_destroy (&self->sbuf);
        free (self);
        return;
    }
    zr_actor_ready (pipe, args, 0);
    /* The DEALER only sends: replies come back to the node's ROUTER from
       the peer's persister (transport/peer.h). */
    while (!self->terminated)
        s_self_handle_pipe (self);
    zsock_destroy (&self->dealer);
    msgpack_sbuffer_destroy (&self->sbuf);
    free (self);
}
