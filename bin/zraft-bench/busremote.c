/*  =========================================================================
    busremote - zraft-bench --bus --endpoints (see busremote.h)
    =========================================================================
*/
#include "bench.h"
#include "kv.h"
#include "bus.h"
#include "busremote.h"
#include "../../transport/bus.h"
#include "../lib/endpoint.h"
#include "raft.h"

#define S_LEADER_WAIT_MS 30000          /* find the leader within this */
#define S_PROBE_WAIT_MS 1000            /* one CURSORS round */
#define S_SUBSCRIBE_WAIT_MS 10000       /* every OK, at most */
#define S_SUB_ID 1                      /* each consumer's subscription */
#define S_CHURN_MS 2                    /* the dropping churn is looked at
                                           this often */
#define S_IDLE_MS 50                    /* ...and the idle churn */
#define S_SILENT_BEATS 3                /* an idle session heard nothing for
                                           this many heartbeats: gone */

/* A churn subscriber (bus.h): idle, dropping or reading. */
typedef struct {
    zsock_t *sock;                      /* NULL: dropped, not back yet */
    uint32_t endpoint;                  /* of params' endpoints */
    bool open;                          /* its OK came */
    bool ended;                         /* a server ended it */
    int64_t heard_us;                   /* the server's last frame */
    uint32_t heartbeat_ms;              /* the OK's */
    int64_t drop_us;                    /* dropping: when; 0 not yet known */
    uint64_t last;                      /* the last index delivered */
    uint32_t taken;                     /* deliveries since the last CREDIT */
} s_churner_t;

/* A producer's publications not sent yet: one PUBLISH run, ids (the
   load's tokens) first..first + n - 1. */
typedef struct {
    zr_busmsg_run_t run;                /* type PUBLISH */
    uint64_t first;
} s_outbox_t;

typedef struct {
    const zb_bus_params_t *p;
    char leader [ZB_KV_TEXT_MAX];       /* the producers' endpoint */
    zb_kv_probed_t probed;              /* endpoints that cannot read us */
    bool heard [ZB_KV_ENDPOINTS_MAX];   /* endpoints that answered a probe
                                           in the bus protocol */
    uint32_t good [ZB_KV_ENDPOINTS_MAX];    /* those, params' indexes */
    char hint [ZB_KV_TEXT_MAX];         /* the leader's bus endpoint a
                                           follower named, not among
                                           --endpoints; "" none */
    uint32_t n_good;
    s_outbox_t outbox [ZB_BUS_ROLES_MAX];   /* per producer */
    zsock_t *producers [ZB_BUS_ROLES_MAX];
    zsock_t *consumers [ZB_BUS_ROLES_MAX];
    zmq_pollitem_t items [2 * ZB_BUS_ROLES_MAX];
    uint64_t last [ZB_BUS_ROLES_MAX];   /* each consumer's last index */
    uint32_t subscribed;                /* OKs received */
    bool failed;
    s_churner_t *churners;              /* idle ones, then dropping ones,
                                           then reading ones */
    zmq_pollitem_t *churn_items;        /* theirs, in the same order */
    uint32_t n_churners;                /* idle + dropping + reading */
    int64_t churn_at, idle_at;          /* the churn's last looks */
    int64_t from_us, until_us;          /* the measured window; 0: not yet */
    zb_bus_churn_t churn;               /* its figures */
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

/* Notes the leader's bus endpoint that a follower's NOT_LEADER names,
   if it is none of --endpoints: the next round asks it too. */
static void
s_leader_hint (s_remote_t *self, zr_busmsg_bytes_t endpoint)
{
    char name [ZB_KV_TEXT_MAX];
    if (endpoint.size == 0 || endpoint.size >= sizeof name)
        return;
    memcpy (name, endpoint.data, endpoint.size);
    name [endpoint.size] = 0;
    for (uint32_t e = 0; e < self->p->n_endpoints; e++)
        if (streq (self->p->endpoints [e], name))
            return;
    if (zr_endpoint_tcp_valid (name, sizeof name - 1, NULL))
        memcpy (self->hint, name, sizeof name);
}

/* Asks every endpoint CURSORS (and the leader a follower named last
   round, if none of them); true with self->leader set if one
   answered CURSORS_REPLY within S_PROBE_WAIT_MS. Reads on after it
   until every endpoint answered (or the time is up), so that each one
   that answers in the bus protocol is marked heard (consumers go to
   those only) and each that cannot read it is named. A round without a
   leader lasts S_PROBE_WAIT_MS all the same (an election: every member
   answers NOT_LEADER at once), so that rounds do not follow each other
   without pause. */
static bool
s_probe (s_remote_t *self)
{
    const zb_bus_params_t *p = self->p;
    const char *names [ZB_KV_ENDPOINTS_MAX + 1];
    uint32_t n = p->n_endpoints;
    for (uint32_t e = 0; e < n; e++)
        names [e] = p->endpoints [e];
    if (self->hint [0])
        names [n++] = self->hint;       /* last round's NOT_LEADER named it */
    zsock_t *probes [ZB_KV_ENDPOINTS_MAX + 1] = {NULL};
    zpoller_t *poller = zpoller_new (NULL);
    uint32_t n_asked = 0;
    for (uint32_t e = 0; poller && e < n; e++) {
        probes [e] = s_dealer (names [e], 16);
        zr_busmsg_t msg = {.type = ZR_BUSMSG_CURSORS, .id = e + 1};
        if (probes [e] && s_send (probes [e], &msg) == 0) {
            zpoller_add (poller, probes [e]);
            n_asked++;
        }
    }
    bool found = false;
    bool answered [ZB_KV_ENDPOINTS_MAX + 1] = {false};
    uint32_t n_answered = 0;
    int64_t deadline = zclock_mono () + S_PROBE_WAIT_MS;
    while (poller && n_answered < n_asked && !zb_interrupted) {
        int64_t left = deadline - zclock_mono ();
        zsock_t *which = left > 0 ? zpoller_wait (poller, (int) left) : NULL;
        if (!which)
            break;
        zframe_t *frame = zframe_recv (which);
        uint32_t e = 0;
        while (e < n && probes [e] != which)
            e++;
        assert (e < n);                 /* the poller holds probes only */
        n_answered += !answered [e];
        answered [e] = true;
        bool listed = e < p->n_endpoints;   /* else the hint */
        zr_busmsg_t msg;
        if (frame && listed
            && zb_kv_probe_note (&self->probed, p->endpoints, p->n_endpoints,
                                 e, zframe_data (frame), zframe_size (frame),
                                 true)) {
            zframe_destroy (&frame);
            break;                      /* every one cannot read us */
        }
        bool bus = frame && !(listed && self->probed.wrong [e])
                   && zr_busmsg_decode (zframe_data (frame), zframe_size (frame),
                                        &msg) == 0
                   && zr_busmsg_from_server (msg.type);
        if (listed)
            self->heard [e] |= bus;
        if (bus && msg.type == ZR_BUSMSG_CURSORS_REPLY && msg.id == e + 1) {
            snprintf (self->leader, sizeof self->leader, "%s", names [e]);
            found = true;
        }
        else
        if (bus && msg.type == ZR_BUSMSG_NOT_LEADER)
            s_leader_hint (self, msg.endpoint);
        zframe_destroy (&frame);
    }
    zpoller_destroy (&poller);
    for (uint32_t e = 0; e < n; e++)
        zsock_destroy (&probes [e]);
    int64_t left = deadline - zclock_mono ();
    if (!found && left > 0 && !zb_interrupted
        && self->probed.n_wrong < p->n_endpoints)
        zclock_sleep ((int) left);      /* the rest of the round */
    return found;
}

/* Sends producer's gathered publications as one PUBLISH. A producer
   has at most its window in flight, under its socket's high-water
   mark, so a send that fails fails the run. Returns 0 or -1. */
static int
s_outbox_send (s_remote_t *self, uint32_t producer)
{
    s_outbox_t *out = &self->outbox [producer];
    if (out->run.n == 0)
        return 0;
    zr_busmsg_t msg = {.type = ZR_BUSMSG_PUBLISH, .id = out->first,
                        .n_records = out->run.n,
                        .records = {out->run.data, out->run.size}};
    int rc = s_send (self->producers [producer], &msg);
    if (rc)
        fprintf (stderr, "zraft-bench: producer %u: a PUBLISH of %u did not"
                 " go: %s\n", producer + 1, out->run.n, zmq_strerror (errno));
    zr_busmsg_run_reset (&out->run, 64u << 10);
    return rc;
}

/* Adds a publication to producer's run (PROTOCOL.md, B3), sent by
   s_flush after the load's round of publishes, or before when the run
   is full or the token does not follow its last. */
static int
s_publish (void *arg, uint32_t producer, uint64_t token, const char *subject,
           const void *payload, size_t size, uint64_t producer_id,
           uint64_t seq)
{
    s_remote_t *self = (s_remote_t *) arg;
    s_outbox_t *out = &self->outbox [producer];
    out->run.type = ZR_BUSMSG_PUBLISH;
    zr_busmsg_record_t record = {
        .subject = {(const uint8_t *) subject, strlen (subject)},
        .payload = {(const uint8_t *) payload, size},
        .producer = producer_id, .seq = seq};
    if (out->run.n && token != out->first + out->run.n
        && s_outbox_send (self, producer))
        return -1;
    int rc = zr_busmsg_run_add (&out->run, &record, ZR_BUSMSG_RUN_MAX);
    if (rc == ZR_EBUSY) {
        if (s_outbox_send (self, producer))
            return -1;
        rc = zr_busmsg_run_add (&out->run, &record, ZR_BUSMSG_RUN_MAX);
    }
    if (rc)
        return -1;
    if (out->run.n == 1)
        out->first = token;
    return 0;
}

static int
s_flush (void *arg)
{
    s_remote_t *self = (s_remote_t *) arg;
    for (uint32_t i = 0; i < self->p->producers; i++)
        if (s_outbox_send (self, i))
            return -1;
    return 0;
}

static int
s_credit (void *arg, uint32_t consumer, uint32_t credit)
{
    s_remote_t *self = (s_remote_t *) arg;
    zr_busmsg_t msg = {.type = ZR_BUSMSG_CREDIT, .id = S_SUB_ID,
                        .credit = credit};
    return s_send (self->consumers [consumer], &msg);
}

/* A producer's frame: ACK (a run: ids m->id..), NOT_LEADER or ERROR
   for an attempt. */
static void
s_on_producer (s_remote_t *self, zb_bus_t *load, const zr_busmsg_t *m)
{
    if (m->type == ZR_BUSMSG_ACK) {
        zr_busmsg_records_iter_t iter;
        zr_busmsg_record_t ack;
        zr_busmsg_records_iter (m, &iter);
        for (uint64_t id = m->id; zr_busmsg_records_next (&iter, &ack); id++)
            zb_bus_acked (load, id, ZB_BUS_OK, ack.index, ack.duplicate, NULL);
    }
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
        int64_t now = zb_now_us ();     /* the run arrived at once */
        while (zr_busmsg_records_next (&iter, &r)) {
            if (r.index > self->last [c])
                self->last [c] = r.index;
            zb_bus_delivered (load, c, r.index, r.payload.data, r.payload.size,
                              now);
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

/* --------------------------------------------------------------------------
 * The churn (bus.h): idle and dropping subscribers, looked at every
 * S_CHURN_MS between the load's waits, not in them, so that their
 * sockets cost the producers' loop nothing. */

/* True if churner k reads (dropping or reading), false if idle. */
static bool
s_reads (const s_remote_t *self, uint32_t k)
{
    return k >= self->p->idle;
}

/* True if churner k is a dropping one. */
static bool
s_is_dropping (const s_remote_t *self, uint32_t k)
{
    return k >= self->p->idle && k < self->p->idle + self->p->dropping;
}

/* Opens churner k's session on its endpoint and subscribes it (credit
   0 if idle, --credit if dropping). Returns 0 or -1. */
static int
s_churn_subscribe (s_remote_t *self, uint32_t k)
{
    const zb_bus_params_t *p = self->p;
    s_churner_t *ch = &self->churners [k];
    bool dropping = s_is_dropping (self, k);
    uint32_t credit = s_reads (self, k) ? p->credit : 0;
    ch->sock = s_dealer (p->endpoints [ch->endpoint], (int) credit + 16);
    ch->open = ch->ended = false;
    ch->last = 0;
    ch->taken = 0;
    self->churn_items [k] = (zmq_pollitem_t) {ch->sock ? zsock_resolve (ch->sock)
                                                       : NULL, 0, ZMQ_POLLIN, 0};
    zr_busmsg_t sub = {.type = ZR_BUSMSG_SUBSCRIBE, .id = S_SUB_ID,
                        .from_mode = ZR_BUSMSG_FROM_NEXT, .credit = credit,
                        .run_max = ZR_BUSMSG_RUN_MAX};
    if (!ch->sock || s_send (ch->sock, &sub))
        return -1;
    self->churn.subscribes += dropping;
    return 0;
}

/* Churner k's frame m. */
static void
s_churn_on (s_remote_t *self, uint32_t k, const zr_busmsg_t *m)
{
    s_churner_t *ch = &self->churners [k];
    bool dropping = s_is_dropping (self, k);
    ch->heard_us = zb_now_us ();
    if (m->type == ZR_BUSMSG_OK) {
        ch->open = true;
        ch->heartbeat_ms = m->heartbeat_ms;
        self->churn.subscribed += dropping;
    }
    else
    if (m->type == ZR_BUSMSG_DELIVER && !s_reads (self, k))
        self->churn.idle_deliveries++;
    else
    if (m->type == ZR_BUSMSG_DELIVER) {
        zr_busmsg_records_iter_t iter;  /* a run (PROTOCOL.md, B7) */
        zr_busmsg_record_t r;
        zr_busmsg_records_iter (m, &iter);
        while (zr_busmsg_records_next (&iter, &r)) {
            self->churn.deliveries += dropping;
            self->churn.reading_deliveries += !dropping;
            ch->last = r.index > ch->last ? r.index : ch->last;
            ch->taken++;
        }
        if (ch->taken >= self->p->credit / 2) {
            zr_busmsg_t credit = {.type = ZR_BUSMSG_CREDIT, .id = S_SUB_ID,
                                   .credit = ch->taken};
            s_send (ch->sock, &credit);
            ch->taken = 0;
        }
    }
    else
    if (m->type == ZR_BUSMSG_HEARTBEAT) {
        zr_busmsg_t beat = {.type = ZR_BUSMSG_HEARTBEAT, .index = ch->last};
        s_send (ch->sock, &beat);
    }
    else {
        if (!ch->ended)
            fprintf (stderr, "zraft-bench: %s subscriber %u: %s\n",
                     dropping ? "dropping" : s_reads (self, k) ? "reading"
                     : "idle", k + 1,
                     zr_busmsg_type_name ((int) m->type));
        ch->ended = true;
        self->churn.ended++;
    }
}

/* When dropping churner k (j-th of N dropping ones) next drops, from
   its session's start at now (bus.h). */
static int64_t
s_drop_at (const s_remote_t *self, uint32_t k, int64_t now)
{
    const zb_bus_params_t *p = self->p;
    uint32_t j = k - p->idle, n = p->dropping;
    int64_t window = self->until_us - self->from_us;
    if (p->drop_every_ms == 0)
        return self->from_us + window * (j + 1) / (n + 1);
    int64_t every = (int64_t) p->drop_every_ms * 1000;
    if (now < self->from_us)
        return self->from_us + every * (j + 1) / n;
    return now + every;
}

/* Drops the dropping churners whose time came (and with --drop-every
   subscribes them again at once). Returns 0 or -1. */
static int
s_churn_drop (s_remote_t *self, int64_t now)
{
    uint32_t end = self->p->idle + self->p->dropping;
    for (uint32_t k = self->p->idle; self->from_us && k < end; k++) {
        s_churner_t *ch = &self->churners [k];
        if (!ch->drop_us && ch->sock)
            ch->drop_us = s_drop_at (self, k, now);
        if (!ch->sock || !ch->drop_us || now < ch->drop_us
            || ch->drop_us >= self->until_us)
            continue;
        zsock_destroy (&ch->sock);      /* linger 0: gone, no UNSUBSCRIBE */
        self->churn_items [k].socket = NULL;
        self->churn.disconnections++;
        self->churn.mid_stream += ch->open && !ch->ended && ch->last > 0;
        ch->drop_us = 0;
        if (self->p->drop_every_ms && s_churn_subscribe (self, k))
            return -1;
    }
    return 0;
}

/* Takes what the churners received (the idle ones every S_IDLE_MS,
   the dropping ones every S_CHURN_MS; all if force), then drops who is
   due. Returns 0 or -1. */
static int
s_churn_look (s_remote_t *self, bool force)
{
    int64_t now = zb_now_us ();
    if (!self->n_churners || (!force && now - self->churn_at < S_CHURN_MS * 1000))
        return 0;
    self->churn_at = now;
    bool idle = force || now - self->idle_at >= S_IDLE_MS * 1000;
    if (idle)
        self->idle_at = now;
    /* A dropped socket's item is NULL: zmq_poll wants none such. */
    zmq_pollitem_t items [ZB_BUS_IDLE_MAX + ZB_BUS_ROLES_MAX];
    uint32_t which [ZB_BUS_IDLE_MAX + ZB_BUS_ROLES_MAX], n = 0;
    for (uint32_t k = idle ? 0 : self->p->idle; k < self->n_churners; k++)
        if (self->churn_items [k].socket) {
            items [n] = self->churn_items [k];
            which [n++] = k;
        }
    int rc = n ? zmq_poll (items, (int) n, 0) : 0;
    if (rc < 0 && errno != EINTR)
        return -1;
    for (uint32_t i = 0; rc > 0 && i < n; i++) {
        if (!(items [i].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        while (zmq_msg_recv (&frame, items [i].socket, ZMQ_DONTWAIT) >= 0) {
            zr_busmsg_t m;
            if (zr_busmsg_decode (zmq_msg_data (&frame), zmq_msg_size (&frame),
                                  &m) == 0)
                s_churn_on (self, which [i], &m);
            else {
                fprintf (stderr, "zraft-bench: a frame did not decode\n");
                self->failed = true;
            }
        }
        zmq_msg_close (&frame);
    }
    return s_churn_drop (self, zb_now_us ());
}

static void
s_window (void *arg, int64_t from_us, int64_t until_us)
{
    s_remote_t *self = (s_remote_t *) arg;
    self->from_us = from_us;
    self->until_us = until_us;
}

/* The churn's figures: an idle churner is open if its OK came, no
   server ended it and a server spoke to it within S_SILENT_BEATS of
   its heartbeats (a session it closed gets none). */
static void
s_churn (void *arg, zb_bus_churn_t *out)
{
    s_remote_t *self = (s_remote_t *) arg;
    s_churn_look (self, true);
    int64_t now = zb_now_us ();
    self->churn.idle_open = 0;
    for (uint32_t k = 0; k < self->p->idle; k++) {
        const s_churner_t *ch = &self->churners [k];
        self->churn.idle_open += ch->open && !ch->ended
            && now - ch->heard_us < (int64_t) S_SILENT_BEATS * ch->heartbeat_ms * 1000;
    }
    *out = self->churn;
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
    if (s_churn_look (self, false))
        return -1;
    return self->failed ? -1 : 0;
}

/* Connects the producers to the leader and the consumers over the
   endpoints, and subscribes them. Returns 0 or -1 after a message. */
static int
s_connect (s_remote_t *self)
{
    const zb_bus_params_t *p = self->p;
    int hwm = (int) (p->inflight / p->producers + 16);
    for (uint32_t e = 0; e < p->n_endpoints; e++)
        if (self->heard [e])            /* consumers spread over these */
            self->good [self->n_good++] = e;
    assert (self->n_good >= 1);         /* the leader answered */
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
        zsock_t *d = s_dealer (p->endpoints [self->good [c % self->n_good]],
                               (int) p->credit + 16);
        self->consumers [c] = d;
        if (!d || s_send (d, &sub))
            return -1;
        self->items [p->producers + c] = (zmq_pollitem_t) {zsock_resolve (d), 0,
                                                           ZMQ_POLLIN, 0};
    }
    for (uint32_t k = 0; k < self->n_churners; k++) {
        uint32_t at = (s_reads (self, k) ? k - p->idle : k) % self->n_good;
        self->churners [k].endpoint = self->good [at];
        if (s_churn_subscribe (self, k))
            return -1;
    }
    int64_t deadline = zclock_mono () + S_SUBSCRIBE_WAIT_MS;
    uint32_t churned = 0;
    while (!zb_interrupted && !self->failed && zclock_mono () < deadline
           && (self->subscribed < p->consumers || churned < self->n_churners)) {
        s_wait (self, NULL, ZB_POLL_MS);
        churned = 0;
        for (uint32_t k = 0; k < self->n_churners; k++)
            churned += self->churners [k].open;
    }
    if (self->subscribed < p->consumers || churned < self->n_churners)
        fprintf (stderr, "zraft-bench: %u of %u consumers and %u of %u"
                 " churn subscribers subscribed\n", self->subscribed,
                 p->consumers, churned, self->n_churners);
    return self->subscribed == p->consumers && churned == self->n_churners
           ? 0 : -1;
}

int
zb_busremote_main (const zb_bus_params_t *params)
{
    s_remote_t *self = (s_remote_t *) calloc (1, sizeof *self);
    if (!self)
        return 1;
    self->p = params;
    self->n_churners = params->idle + params->dropping + params->reading;
    self->churners = (s_churner_t *) calloc (self->n_churners + 1u,
                                             sizeof *self->churners);
    self->churn_items = (zmq_pollitem_t *) calloc (self->n_churners + 1u,
                                                   sizeof *self->churn_items);
    if (!self->churners || !self->churn_items) {
        free (self->churners);
        free (self->churn_items);
        free (self);
        return 1;
    }
    int64_t deadline = zclock_mono () + S_LEADER_WAIT_MS;
    bool found = false;
    while (!found && !zb_interrupted && zclock_mono () < deadline
           && self->probed.n_wrong < params->n_endpoints)
        found = s_probe (self);
    int rc = 1;
    if (!found && self->probed.n_wrong == params->n_endpoints)
        fprintf (stderr, "zraft-bench: no endpoint of --endpoints is a bus"
                 " endpoint (above)\n");
    else
    if (!found && !zb_interrupted)
        fprintf (stderr, "zraft-bench: no bus endpoint of --endpoints leads"
                 " within %d s\n", S_LEADER_WAIT_MS / 1000);
    else
    if (found && s_connect (self) == 0) {
        zb_bus_way_t way = {s_publish, s_credit, s_wait, self, s_window,
                            s_churn, s_flush};
        rc = zb_bus_run (params, &way, self->leader);
    }
    if (zb_interrupted)
        rc = ZB_EX_INTERRUPTED;
    for (uint32_t i = 0; i < ZB_BUS_ROLES_MAX; i++) {
        zr_busmsg_run_free (&self->outbox [i].run);
        zsock_destroy (&self->producers [i]);
        zsock_destroy (&self->consumers [i]);
    }
    for (uint32_t k = 0; k < self->n_churners; k++)
        zsock_destroy (&self->churners [k].sock);
    free (self->churners);
    free (self->churn_items);
    free (self);
    return rc;
}
