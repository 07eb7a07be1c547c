/*  =========================================================================
    results - outcomes for the application, and the events socket
    (see results.h)
    =========================================================================
*/
#include "actors.h"

/* How long a send on the events socket may wait for the reader's news
   of what it consumed. The bound (results.h) means it never waits for
   room; the limit only turns a broken bound into a logged error instead
   of a hung thread. */
#define S_SEND_TIMEOUT_MS 10000

void
zr_results_init (zr_results_t *self)
{
    zr_assert (self);
    memset (self, 0, sizeof *self);
}

zr_result_t *
zr_results_add (zr_results_t *self, uint64_t token, int status,
                uint32_t leader, zr_index_t index, zr_term_t term, void *data,
                uint64_t size)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    zr_assert (size <= ZRAFT_RESULT_BYTES_MAX);
    if (self->n == self->capacity) {
        uint32_t capacity = self->capacity ? 2 * self->capacity : 16;
        zr_result_t *items = (zr_result_t *) realloc (self->items,
                                                      capacity * sizeof *items);
        zr_assert (items);              /* actors treat OOM as fatal */
        self->items = items;
        self->capacity = capacity;
    }
    self->items [self->n] = (zr_result_t) {
        .token = token, .status = status, .leader = leader, .index = index,
        .term = term, .data = data, .size = (uint32_t) size};
    return &self->items [self->n++];
}

void
zr_results_clear (zr_results_t *self)
{
    zr_assert (self);
    for (uint32_t i = 0; i < self->n; i++)
        free (self->items [i].data);
    free (self->items);
    zr_results_init (self);
}

int
zr_results_send (zr_results_t *self, zsock_t *events, zr_id_t id)
{
    zr_assert (self && events);
    if (self->n == 0)
        return 0;
    for (uint32_t i = 0; i < self->n; i++)
        if (self->items [i].data)
            zr_handoff_send (self->items [i].data);
    zmsg_t *msg = zmsg_new ();
    zr_assert (msg);
    zmsg_addstr (msg, zr_events_verbs [ZR_EVENTS_RESULTS].verb);
    zmsg_addmem (msg, self->items, self->n * sizeof (zr_result_t));
    if (zmsg_send (&msg, events) != 0) {
        zmsg_destroy (&msg);
        zr_error ("n%u events: cannot deliver %u results (%s)", id, self->n,
                  zmq_strerror (zmq_errno ()));
        zr_results_clear (self);
        return -1;
    }
    self->n = 0;                        /* the data went with the message */
    return 0;
}

void
zr_results_take (zr_results_t *self, zr_results_t *from)
{
    zr_assert (self && from && self != from);
    for (uint32_t i = 0; i < from->n; i++) {
        zr_result_t item = from->items [i];
        zr_results_add (self, item.token, item.status, item.leader,
                        item.index, item.term, item.data, item.size);
        self->items [self->n - 1] = item;       /* every field as it was */
    }
    from->n = 0;                        /* the data went with them */
}

int
zr_events_hwm (uint32_t bound)
{
    /* Each end h: the pipe's mark is 2h and the sender may count up to h
       already consumed messages as queued, so bound < h + 2 fits. */
    zr_assert (bound >= 1 && bound <= ZRAFT_SUBMIT_MAX_MAX + 16);
    return (int) bound + 8;
}

zsock_t *
zr_events_connect (const char *endpoint, uint32_t submit_max, zr_id_t id)
{
    zr_assert (endpoint);
    zsock_t *sock = zsock_new (ZMQ_PUSH);
    zr_assert (sock);
    zsock_set_sndhwm (sock, zr_events_hwm (submit_max + 1));
    zsock_set_sndtimeo (sock, S_SEND_TIMEOUT_MS);
    if (zsock_connect (sock, "%s", endpoint) != 0) {
        zr_error ("n%u events: cannot connect %s", id, endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

int
zr_events_send_role (zsock_t *events, int role, zr_term_t term, zr_id_t leader)
{
    zr_assert (events);
    zr_assert (role >= ZR_ROLE_FOLLOWER && role <= ZR_ROLE_LEADER);
    return zr_verb_send (events, zr_events_verbs, ZR_EVENTS_ROLE,
                         (uint32_t) role, (uint64_t) term, (uint32_t) leader);
}
