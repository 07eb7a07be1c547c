/*  =========================================================================
    applier - applies committed entries to the state machine (see applier.h)
    =========================================================================
*/
#include "actors.h"
#include "applier.h"

void
zr_apply_req_destroy (zr_apply_req_t **self_p)
{
    zr_assert (self_p);
    zr_apply_req_t *self = *self_p;
    if (!self)
        return;
    zr_entries_destroy (&self->entries, self->n_entries);
    free (self);
    *self_p = NULL;
}

/* Applies one run and publishes it; returns the run's last index. */
static zr_index_t
s_apply_run (const zraft_fsm_t *fsm, zsock_t *events, zr_apply_req_t *req)
{
    zr_assert (req->n_entries > 0);
    zr_index_t first = req->entries [0].index;
    zframe_t *terms = zframe_new (NULL, req->n_entries * sizeof (uint64_t));
    zr_assert (terms);
    uint64_t *term_of = (uint64_t *) zframe_data (terms);
    for (uint32_t i = 0; i < req->n_entries; i++) {
        const zr_entry_t *entry = &req->entries [i];
        zr_assert (entry->index == first + i);
        term_of [i] = entry->term;
        if (entry->type == ZR_ENTRY_COMMAND && fsm->apply)
            fsm->apply (fsm->arg, entry->index, entry->term, entry->data,
                        entry->size);
    }
    zr_index_t last = first + req->n_entries - 1;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "APPLIED");
    zmsg_addmem (msg, &first, sizeof first);
    zmsg_addmem (msg, &last, sizeof last);
    zmsg_append (msg, &terms);
    zr_handoff_send (term_of);          /* inproc passes the buffer itself */
    if (zmsg_send (&msg, events) != 0)
        zmsg_destroy (&msg);            /* nobody listening: drop the event */
    return last;
}

typedef struct {
    zsock_t *pipe;                      /* to the node */
    zsock_t *events;                    /* applied runs to the application */
    zpoller_t *poller;                  /* over the pipe */
    zraft_fsm_t fsm;                    /* the application's callbacks */
    zr_id_t id;                         /* this server, for logs */
    bool terminated;                    /* $TERM received */
} self_t;

static void s_self_destroy (self_t **self_p);

/* Returns NULL (having logged why) if the events socket cannot connect. */
static self_t *
s_self_new (zsock_t *pipe, const zr_applier_args_t *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->fsm = args->fsm;
    self->id = args->id;
    self->poller = zpoller_new (pipe, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    self->events = zsock_new (ZMQ_PAIR);
    zr_assert (self->events);
    zsock_set_sndhwm (self->events, 0);     /* runs are never dropped */
    zsock_set_sndtimeo (self->events, 0);
    if (zsock_connect (self->events, "%s", args->events_endpoint) != 0) {
        zsys_error ("n%u applier: cannot connect %s", self->id,
                    args->events_endpoint);
        s_self_destroy (&self);
    }
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->events);
    free (self);
    *self_p = NULL;
}

static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    int verb = zr_verb_recv (self->pipe, zr_applier_verbs, &msg);
    if (verb < 0)
        self->terminated = true;        /* $TERM, or the pipe ended */
    else {
        zr_assert (verb == ZR_APPLIER_APPLY && msg.args [0].p);
        zr_apply_req_t *req = (zr_apply_req_t *) msg.args [0].p;
        zr_index_t last = s_apply_run (&self->fsm, self->events, req);
        zr_apply_req_destroy (&req);
        zr_verb_send (self->pipe, zr_applier_verbs, ZR_APPLIER_APPLIED,
                      (uint64_t) last);
    }
    zr_verb_msg_reset (&msg);
}

void
zr_applier_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (zr_applier_args_t *) args);
    if (zr_actor_ready (pipe, args, self ? 0 : ZR_EINVAL) != 0)
        return;
    while (!self->terminated)
        if (zr_actor_wait (self->poller, -1, &self->terminated) == pipe)
            s_self_handle_pipe (self);
    s_self_destroy (&self);
}
