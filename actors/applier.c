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

void
zr_applier_actor (zsock_t *pipe, void *args)
{
    zr_applier_args_t *conf = (zr_applier_args_t *) args;
    zraft_fsm_t fsm = conf->fsm;
    zsock_t *events = zsock_new (ZMQ_PAIR);
    zr_assert (events);
    zsock_set_sndhwm (events, 0);       /* runs are never dropped */
    zsock_set_sndtimeo (events, 0);
    if (zsock_connect (events, "%s", conf->events_endpoint) != 0) {
        zsock_destroy (&events);
        zr_actor_ready (pipe, args, 1);
        return;
    }
    zr_actor_ready (pipe, args, 0);
    bool terminated = false;
    while (!terminated) {
        char *verb = NULL;
        void *ptr = NULL;
        int rc = zsock_recv (pipe, "sp", &verb, &ptr);
        zr_handoff_recv (ptr);
        if (rc < 0)
            break;
        zr_assert (verb);
        if (streq (verb, "$TERM"))
            terminated = true;
        else {
            zr_assert (streq (verb, "APPLY") && ptr);
            zr_apply_req_t *req = (zr_apply_req_t *) ptr;
            zr_index_t last = s_apply_run (&fsm, events, req);
            zr_apply_req_destroy (&req);
            zsock_send (pipe, "s8", "APPLIED", (uint64_t) last);
        }
        zstr_free (&verb);
    }
    zsock_destroy (&events);
}
