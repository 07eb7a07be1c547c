/*  =========================================================================
    timer - the election/heartbeat timer of one server (see timer.h)
    =========================================================================
*/
#include "actors.h"
#include "timer.h"

typedef struct {
    zsock_t *pipe;                      /* to the node */
    zpoller_t *poller;                  /* over the pipe */
    int64_t deadline;                   /* armed deadline, -1 if none */
    bool terminated;                    /* $TERM received */
} self_t;

static self_t *
s_self_new (zsock_t *pipe)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->deadline = -1;
    self->poller = zpoller_new (pipe, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    zpoller_destroy (&self->poller);
    free (self);
    *self_p = NULL;
}

static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_timer_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* $TERM, or the pipe ended */
    else {
        zr_assert (verb == ZR_TIMER_ARM);
        self->deadline = (int64_t) msg.args [0].u;
    }
    zr_verb_msg_reset (&msg);
}

/* Milliseconds until the deadline, for zpoller_wait (-1: none). */
static int
s_self_timeout (self_t *self)
{
    if (self->deadline < 0)
        return -1;
    int64_t left = self->deadline - zclock_mono ();
    return left > 0 ? (int) left : 0;
}

void
zr_timer_actor (zsock_t *pipe, void *args)
{
    zr_actor_name ("timer", 0);
    self_t *self = s_self_new (pipe);
    zr_actor_ready (pipe, args, 0);
    while (!self->terminated) {
        void *which = zr_actor_wait (self->poller, s_self_timeout (self),
                                     &self->terminated);
        if (which == pipe)
            s_self_handle_pipe (self);
        else
        if (!self->terminated && self->deadline >= 0 && zclock_mono () >= self->deadline) {
            self->deadline = -1;
            zr_verb_send (pipe, zr_timer_verbs, ZR_TIMER_TICK);
        }
    }
    s_self_destroy (&self);
}
