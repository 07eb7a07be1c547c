/*  =========================================================================
    buslocal - zraft-bench --bus --inproc (see buslocal.h)
    =========================================================================
*/
#include "bench.h"
#include "kv.h"
#include "bus.h"
#include "buslocal.h"

#define S_LEADER_WAIT_MS 30000          /* an election, at most */
#define S_SUBSCRIBE_WAIT_MS 10000       /* every SUBSCRIBED, at most */

typedef struct {
    const zb_bus_params_t *p;
    zb_opts_t opts;                     /* the servers' flags (server.h) */
    zb_dirs_t dirs;
    uint16_t ports [ZRAFT_NODES_MAX];
    zraft_t *nodes [ZRAFT_NODES_MAX];   /* by id - 1, owned */
    uint32_t leader;                    /* publishes go here */
    uint32_t subscribed;                /* SUBSCRIBED status 0 received */
    uint32_t owed [ZB_BUS_ROLES_MAX];   /* credit not given yet (EAGAIN) */
    bool failed;                        /* an event failed the run */
} s_local_t;

/* The server consumer c reads from. */
static zraft_t *
s_consumer_node (s_local_t *self, uint32_t c)
{
    return self->nodes [c % self->p->nodes];
}

static int
s_publish (void *arg, uint32_t producer, uint64_t token, const char *subject,
           const void *payload, size_t size, uint64_t producer_id,
           uint64_t seq)
{
    s_local_t *self = (s_local_t *) arg;
    (void) producer;
    int rc = zraft_publish (self->nodes [self->leader - 1], token, subject,
                            payload, size, producer_id, seq);
    if (rc == ZRAFT_EAGAIN)
        return 1;
    if (rc)
        fprintf (stderr, "zraft-bench: zraft_publish: %s\n", zraft_strerror (rc));
    return rc ? -1 : 0;
}

static int
s_credit (void *arg, uint32_t consumer, uint32_t credit)
{
    s_local_t *self = (s_local_t *) arg;
    self->owed [consumer] += credit;
    int rc = zraft_credit (s_consumer_node (self, consumer), consumer + 1u,
                           self->owed [consumer]);
    if (rc == 0)
        self->owed [consumer] = 0;
    else
    if (rc != ZRAFT_EAGAIN)
        fprintf (stderr, "zraft-bench: zraft_credit: %s\n", zraft_strerror (rc));
    return rc == 0 || rc == ZRAFT_EAGAIN ? 0 : -1;
}

/* A publish's RESULT, for the load. */
static void
s_result (s_local_t *self, zb_bus_t *load, const zraft_event_t *e)
{
    int s = e->status;
    if (s == ZRAFT_ENOTLEADER && e->leader >= 1 && e->leader <= self->p->nodes)
        self->leader = e->leader;
    zb_bus_outcome_t outcome = s == 0 ? ZB_BUS_OK
        : s == ZRAFT_ENOTLEADER || s == ZRAFT_EBUSY || s == ZRAFT_ELOST
          || s == ZRAFT_EUNKNOWN ? ZB_BUS_RETRY : ZB_BUS_FAILED;
    zb_bus_acked (load, e->token, outcome, e->index, e->duplicate,
                  zraft_strerror (s));
}

/* Server id's event. */
static void
s_event (s_local_t *self, zb_bus_t *load, uint32_t id, const zraft_event_t *e)
{
    if (e->type == ZRAFT_EVENT_ROLE && e->role == ZRAFT_LEADER)
        self->leader = id;
    else
    if (e->type == ZRAFT_EVENT_RESULT && load)
        s_result (self, load, e);
    else
    if (e->type == ZRAFT_EVENT_DELIVER && load && e->token >= 1
        && e->token <= self->p->consumers)
        zb_bus_delivered (load, (uint32_t) e->token - 1, e->index, e->data,
                          e->size, zb_now_us ());
    else
    if (e->type == ZRAFT_EVENT_SUBSCRIBED && e->status == 0)
        self->subscribed++;
    else
    if (e->type == ZRAFT_EVENT_SUBSCRIBED || e->type == ZRAFT_EVENT_UNSUBSCRIBED) {
        fprintf (stderr, "zraft-bench: n%u: subscription %" PRIu64 " %s: %s\n",
                 id, e->token, e->type == ZRAFT_EVENT_SUBSCRIBED ? "refused"
                 : "ended", zraft_strerror (e->status));
        self->failed = true;
    }
}

/* Waits up to ms for any server's events, then takes them all. */
static int
s_wait (void *arg, zb_bus_t *load, int ms)
{
    s_local_t *self = (s_local_t *) arg;
    zmq_pollitem_t items [ZRAFT_NODES_MAX];
    for (uint32_t i = 0; i < self->p->nodes; i++)
        items [i] = (zmq_pollitem_t) {
            zsock_resolve (zraft_events (self->nodes [i])), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (items, (int) self->p->nodes, ms) < 0 && errno != EINTR)
        return -1;
    for (uint32_t i = 0; i < self->p->nodes; i++) {
        zraft_event_t e;
        int rc;
        while ((rc = zraft_recv (self->nodes [i], &e, 0)) == 0) {
            s_event (self, load, i + 1, &e);
            zraft_event_release (&e);
        }
        if (rc != ZRAFT_EAGAIN)
            return -1;
    }
    for (uint32_t c = 0; c < self->p->consumers; c++)
        if (self->owed [c] && s_credit (self, c, 0))
            return -1;
    return self->failed ? -1 : 0;
}

/* Starts the servers. Returns 0 or -1 after a message. */
static int
s_start (s_local_t *self)
{
    char *argv [] = {"zraft-bench", NULL};
    int rc = zb_opts_parse (&self->opts, 1, argv);
    assert (rc == 0);
    self->opts.nodes = self->p->nodes;
    self->opts.dir = self->p->dir;
    self->opts.inflight = self->p->inflight;    /* config.submit_max */
    if (zb_dirs_make (&self->dirs, &self->opts)
        || zb_ports_pick (self->ports, self->p->nodes))
        return -1;
    for (uint32_t id = 1; id <= self->p->nodes; id++) {
        self->nodes [id - 1] = zb_server_start (&self->opts, id, self->ports,
                                                self->dirs.data [id - 1]);
        if (!self->nodes [id - 1])
            return -1;
    }
    return 0;
}

/* Waits for a leader, then subscribes every consumer. Returns 0 or -1
   after a message. */
static int
s_ready (s_local_t *self)
{
    int64_t deadline = zclock_mono () + S_LEADER_WAIT_MS;
    zraft_status_t status = {0};
    while (!zb_interrupted && zclock_mono () < deadline
           && !(self->leader && zraft_status (self->nodes [self->leader - 1],
                                              &status) == 0
                && status.role == ZRAFT_LEADER))
        s_wait (self, NULL, ZB_POLL_MS);
    if (status.role != ZRAFT_LEADER) {
        fprintf (stderr, "zraft-bench: no leader within %d s\n",
                 S_LEADER_WAIT_MS / 1000);
        return -1;
    }
    zraft_sub_options_t options = {.from_mode = ZRAFT_FROM_NEXT,
                                   .credit = self->p->credit};
    for (uint32_t c = 0; c < self->p->consumers; c++)
        if (zraft_subscribe (s_consumer_node (self, c), c + 1u, &options)) {
            fprintf (stderr, "zraft-bench: consumer %u: subscribe refused\n",
                     c + 1);
            return -1;
        }
    deadline = zclock_mono () + S_SUBSCRIBE_WAIT_MS;
    while (!zb_interrupted && !self->failed && zclock_mono () < deadline
           && self->subscribed < self->p->consumers)
        s_wait (self, NULL, ZB_POLL_MS);
    if (self->subscribed < self->p->consumers)
        fprintf (stderr, "zraft-bench: %u of %u consumers subscribed\n",
                 self->subscribed, self->p->consumers);
    return self->subscribed == self->p->consumers ? 0 : -1;
}

int
zb_buslocal_main (const zb_bus_params_t *params)
{
    s_local_t *self = (s_local_t *) calloc (1, sizeof *self);
    if (!self)
        return 1;
    self->p = params;
    int rc = s_start (self);
    zb_signals_block (false);           /* from here on, to this thread */
    if (rc == 0)
        rc = s_ready (self);
    if (rc == 0) {
        zb_bus_way_t way = {.publish = s_publish, .credit = s_credit,
                            .wait = s_wait, .arg = self};
        char leader [16];
        snprintf (leader, sizeof leader, "n%u", self->leader);
        rc = zb_bus_run (params, &way, leader);
    }
    else
        rc = zb_interrupted ? ZB_EX_INTERRUPTED : 1;
    for (uint32_t i = 0; i < ZRAFT_NODES_MAX; i++)
        zraft_destroy (&self->nodes [i]);
    zb_dirs_remove (&self->dirs, &self->opts);
    zb_server_fsms_free ();
    free (self);
    return rc;
}
