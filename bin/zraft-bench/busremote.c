/*  =========================================================================
    busremote - zraft-bench --bus --endpoints (see busremote.h)
    =========================================================================
*/
#include "bench.h"
#include "kv.h"
#include "bus.h"
#include "busremote.h"
#include "../../transport/bus.h"

#define S_LEADER_WAIT_MS 30000          /* find the leader within this */
#define S_PROBE_WAIT_MS 1000            /* one CURSORS round */
#define S_SUBSCRIBE_WAIT_MS 10000       /* every OK, at most */
#define S_SUB_ID 1                      /* each consumer's subscription */

typedef struct {
    const zb_bus_params_t *p;
    char leader [ZB_KV_TEXT_MAX];       /* the producers' endpoint */
    zsock_t *producers [ZB_BUS_ROLES_MAX];
    zsock_t *consumers [ZB_BUS_ROLES_MAX];
    zmq_pollitem_t items [2 * ZB_BUS_ROLES_MAX];
    uint64_t last [ZB_BUS_ROLES_MAX];   /* each consumer's last index */
    uint32_t subscribed;                /* OKs received */
    bool failed;
} s_remote_t;

/* Encodes msg and sends it on sock. Returns 0 or -1. */
static int
s_send (zsock_t *sock, const zr_busmsg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (zr_busmsg_encode (msg, &data, &size))
        return -1;
    int rc = zmq_send (zsock_resolve (sock), data, size, ZMQ_DONTWAIT);
    free (data);
    return rc < 0 ? -1 : 0;
}

static zsock_t *
s_dealer (const char *endpoint, int hwm)
{
    zsock_t *d = zsock_new (ZMQ_DEALER);
    if (!d)
        return NULL;
    zsock_set_linger (d, 0);
    zsock_set_sndhwm (d, hwm);
    zsock_set_rcvhwm (d, hwm);
    zsock_set_maxmsgsize (d, (int) ZR_BUSMSG_FRAME_MAX);
    if (zsock_connect (d, "%s", endpoint))
        zsock_destroy (&d);
    return d;
}

/* Asks every endpoint CURSORS; true with self->leader set if one
   answered CURSORS_REPLY within S_PROBE_WAIT_MS. */
static bool
s_probe (s_remote_t *self)
{
    const zb_bus_params_t *p = self->p;
    zsock_t *probes [ZB_KV_ENDPOINTS_MAX] = {NULL};
    zpoller_t *poller = zpoller_new (NULL);
    for (uint32_t e = 0; poller && e < p->n_endpoints; e++) {
        probes [e] = s_dealer (p->endpoints [e], 16);
        zr_busmsg_t msg = {.type = ZR_BUSMSG_CURSORS, .id = e + 1};
        if (probes [e] && s_send (probes [e], &msg) == 0)
            zpoller_add (poller, probes [e]);
    }
    bool found = false;
    int64_t deadline = zclock_mono () + S_PROBE_WAIT_MS;
    while (poller && !found && !zb_interrupted) {
        int64_t left = deadline - zclock_mono ();
        zsock_t *which = left > 0 ? zpoller_wait (poller, (int) left) : NULL;
        if (!which)
            break;
        zframe_t *frame = zframe_recv (which);
        zr_busmsg_t msg;
        if (frame && zr_busmsg_decode (zframe_data (frame), zframe_size (frame),
                                        &msg) == 0
            && msg.type == ZR_BUSMSG_CURSORS_REPLY && msg.id >= 1
            && msg.id <= p->n_endpoints) {
            snprintf (self->leader, sizeof self->leader, "%s",
                      p->endpoints [msg.id - 1]);
            found = true;
        }
        zframe_destroy (&frame);
    }
    zpoller_destroy (&poller);
    for (uint32_t e = 0; e < p->n_endpoints; e++)
        zsock_destroy (&probes [e]);
    return found;
}

static int
s_publish (void *arg, uint32_t producer, uint64_t token, const char *subject,
           const void *payload, size_t size, uint64_t producer_id,
           uint64_t seq)
{
    s_remote_t *self = (s_remote_t *) arg;
    zr_busmsg_t msg = {.type = ZR_BUSMSG_PUBLISH, .id = token,
                        .subject = {(const uint8_t *) subject, strlen (subject)},
                        .payload = {(const uint8_t *) payload, size},
                        .producer = producer_id, .seq = seq};
    if (s_send (self->producers [producer], &msg) == 0)
        return 0;
    return errno == EAGAIN ? 1 : -1;
}

static int
s_credit (void *arg, uint32_t consumer, uint32_t credit)
{
    s_remote_t *self = (s_remote_t *) arg;
    zr_busmsg_t msg = {.type = ZR_BUSMSG_CREDIT, .id = S_SUB_ID,
                        .credit = credit};
    return s_send (self->consumers [consumer], &msg);
}

/* A producer's frame: ACK, NOT_LEADER or ERROR for an attempt. */
static void
s_on_producer (s_remote_t *self, zb_bus_t *load, const zr_busmsg_t *m)
{
    if (m->type == ZR_BUSMSG_ACK)
        zb_bus_acked (load, m->id, ZB_BUS_OK, m->index, m->duplicate, NULL);
    else
    if (m->type == ZR_BUSMSG_NOT_LEADER)
        zb_bus_acked (load, m->id, ZB_BUS_RETRY, 0, false, "not the leader");
    else
    if (m->type == ZR_BUSMSG_ERROR) {
        bool again = m->code == ZR_BUSMSG_CODE_BUSY || m->code == ZR_BUSMSG_CODE_UNKNOWN;
        zb_bus_acked (load, m->id, again ? ZB_BUS_RETRY : ZB_BUS_FAILED, 0,
                      false, zr_busmsg_code_name ((int) m->code));
    }
    (void) self;
}

/* A consumer's frame: OK, DELIVER, HEARTBEAT, or its end. */
static void
s_on_consumer (s_remote_t *self, zb_bus_t *load, uint32_t c,
               const zr_busmsg_t *m)
{
    if (m->type == ZR_BUSMSG_DELIVER && load) {
        zr_busmsg_records_iter_t iter;  /* a run (PROTOCOL.md, B7) */
        zr_busmsg_record_t r;
        zr_busmsg_records_iter (m, &iter);
        while (zr_busmsg_records_next (&iter, &r)) {
            if (r.index > self->last [c])
                self->last [c] = r.index;
            zb_bus_delivered (load, c, r.index, r.payload.data, r.payload.size);
        }
    }
    else
    if (m->type == ZR_BUSMSG_OK)
        self->subscribed++;
    else
    if (m->type == ZR_BUSMSG_HEARTBEAT) {
        zr_busmsg_t beat = {.type = ZR_BUSMSG_HEARTBEAT, .index = self->last [c]};
        s_send (self->consumers [c], &beat);
    }
    else {
        fprintf (stderr, "zraft-bench: consumer %u: %s\n", c + 1,
                 zr_busmsg_type_name ((int) m->type));
        self->failed = true;
    }
}

/* Takes every frame waiting on item i (producers first, then consumers). */
static void
s_drain (s_remote_t *self, zb_bus_t *load, uint32_t i)
{
    void *handle = self->items [i].socket;
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    while (zmq_msg_recv (&frame, handle, ZMQ_DONTWAIT) >= 0) {
        zr_busmsg_t m;
        if (zr_busmsg_decode (zmq_msg_data (&frame), zmq_msg_size (&frame), &m)) {
            fprintf (stderr, "zraft-bench: a frame did not decode\n");
            self->failed = true;
        }
        else
        if (i < self->p->producers && load)
            s_on_producer (self, load, &m);
        else
        if (i >= self->p->producers)
            s_on_consumer (self, load, i - self->p->producers, &m);
    }
    zmq_msg_close (&frame);
}

static int
s_wait (void *arg, zb_bus_t *load, int ms)
{
    s_remote_t *self = (s_remote_t *) arg;
    uint32_t n = self->p->producers + self->p->consumers;
    int rc = zmq_poll (self->items, (int) n, ms);
    if (rc < 0 && errno != EINTR)
        return -1;
    for (uint32_t i = 0; rc > 0 && i < n; i++)
        if (self->items [i].revents & ZMQ_POLLIN)
            s_drain (self, load, i);
    return self->failed ? -1 : 0;
}

/* Connects the producers to the leader and the consumers over the
   endpoints, and subscribes them. Returns 0 or -1 after a message. */
static int
s_connect (s_remote_t *self)
{
    const zb_bus_params_t *p = self->p;
    int hwm = (int) (p->inflight / p->producers + 16);
    for (uint32_t i = 0; i < p->producers; i++) {
        self->producers [i] = s_dealer (self->leader, hwm);
        if (!self->producers [i])
            return -1;
        self->items [i] = (zmq_pollitem_t) {zsock_resolve (self->producers [i]),
                                            0, ZMQ_POLLIN, 0};
    }
    zr_busmsg_t sub = {.type = ZR_BUSMSG_SUBSCRIBE, .id = S_SUB_ID,
                        .from_mode = ZR_BUSMSG_FROM_NEXT, .credit = p->credit,
                        .run_max = ZR_BUSMSG_RUN_MAX};
    for (uint32_t c = 0; c < p->consumers; c++) {
        zsock_t *d = s_dealer (p->endpoints [c % p->n_endpoints],
                               (int) p->credit + 16);
        self->consumers [c] = d;
        if (!d || s_send (d, &sub))
            return -1;
        self->items [p->producers + c] = (zmq_pollitem_t) {zsock_resolve (d), 0,
                                                           ZMQ_POLLIN, 0};
    }
    int64_t deadline = zclock_mono () + S_SUBSCRIBE_WAIT_MS;
    while (!zb_interrupted && !self->failed && zclock_mono () < deadline
           && self->subscribed < p->consumers)
        s_wait (self, NULL, ZB_POLL_MS);
    if (self->subscribed < p->consumers)
        fprintf (stderr, "zraft-bench: %u of %u consumers subscribed\n",
                 self->subscribed, p->consumers);
    return self->subscribed == p->consumers ? 0 : -1;
}

int
zb_busremote_main (const zb_bus_params_t *params)
{
    s_remote_t *self = (s_remote_t *) calloc (1, sizeof *self);
    if (!self)
        return 1;
    self->p = params;
    int64_t deadline = zclock_mono () + S_LEADER_WAIT_MS;
    bool found = false;
    while (!found && !zb_interrupted && zclock_mono () < deadline)
        found = s_probe (self);
    int rc = 1;
    if (!found && !zb_interrupted)
        fprintf (stderr, "zraft-bench: no bus endpoint of --endpoints leads"
                 " within %d s\n", S_LEADER_WAIT_MS / 1000);
    else
    if (found && s_connect (self) == 0) {
        zb_bus_way_t way = {s_publish, s_credit, s_wait, self};
        rc = zb_bus_run (params, &way, self->leader);
    }
    if (zb_interrupted)
        rc = ZB_EX_INTERRUPTED;
    for (uint32_t i = 0; i < ZB_BUS_ROLES_MAX; i++) {
        zsock_destroy (&self->producers [i]);
        zsock_destroy (&self->consumers [i]);
    }
    free (self);
    return rc;
}
