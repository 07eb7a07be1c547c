/*  =========================================================================
    busclient - zr_busclient_t: publishing, cursors and one resilient
    subscription over zraft-node's bus protocol (see busclient.h)

    Design notes

    A request lives in one slot of calls.h's table (states, timers, tries
    and back-off are there); this file adds the bus protocol: each
    slot's message, how a try is sent, what an answer says
    (zr_busclient_code_map onto zr_kvclient_on_reply's table).

    The subscription (sub) moves through:

        NONE --subscribe--> READY --sent--> ASKED --OK--> OPEN
                              ^  \--no connection--> CONNECT --+
                              |                                |
                              +---- WAIT <-- (BUSY, a round) --+
        ASKED/OPEN --silence, drop, ERROR--> READY (next endpoint)
        ASKED --NOT_LEADER--> READY (the leader's endpoint)
        ASKED/OPEN --OUT_OF_RANGE, INVALID--> NONE (an ENDED event)

    Invariants:
    1. A request's tries all carry the same producer and seq (set once
       in s_start); s_try_send only changes the id.
    2. A request id is calls.h's try id, below 2^63; the subscription's
       id is 2^63 | its serial, a new one for every SUBSCRIBE: an answer
       or DELIVER names exactly one try or one SUBSCRIBE, and anything
       for an older one is dropped.
    3. sub.last is the index of the last DELIVERY returned; every
       SUBSCRIBE after one starts at sub.last + 1, so deliveries returned
       are strictly increasing and none is skipped (the server never
       skips: docs/PROTOCOL.md B7).
    4. sub.consumed < the threshold (credit / 2, at least 1) after
       every return of a DELIVERY: CREDIT gives back what was used.
    5. Runs. The SUBSCRIBE asks for runs of up to ZR_BUSMSG_RUN_MAX
       deliveries per DELIVER. sub.delivery is the DELIVER being handed
       out (records: the walk over its records not returned yet); it is
       set exactly while records are left, and no frame is read
       meanwhile. Each DELIVERY event holds its record's bytes: the
       frame itself for the run's last record, else a reference to a
       zr_busclient_run_t (a reference count over the frame, created
       for the second record handed out of one DELIVER), so events may
       be released in any order, even after the client is gone. A move
       drops what is left of the run (its SUBSCRIBE asks from sub.last
       + 1 again); records at or below sub.last are skipped.
    =========================================================================
*/
#include "busclient.h"
#include "calls.h"
#include "link.h"
#include <errno.h>
#include <string.h>
#include "../../raft/raft.h"
#include "../../transport/peer.h"

#define S_SUB_BIT (1ULL << 63)
#define S_HWM_MIN 1000                  /* per-socket queue, in messages */
#define S_CREDIT_DEFAULT 256

_Static_assert (ZR_BUSCLIENT_WINDOW_MAX == ZR_CALLS_WINDOW_MAX
                && ZR_BUSCLIENT_TRIES_MAX == ZR_CALLS_TRIES_MAX
                && ZR_BUSCLIENT_ERROR_MAX == ZR_CALLS_ERROR_MAX,
                "the calls' limits are the client's");

/* One request slot: the call (calls.h) and its message. */
typedef struct {
    zr_call_t call;                     /* first: calls.h's item */
    zr_busmsg_t request;                /* subject, payload, name point into data */
    uint8_t *data;                      /* owns their copies */
    zframe_t *frame;                    /* the last answer, owned */
    zr_busmsg_t answer;                 /* decoded from frame */
} s_call_t;

typedef enum {
    S_SUB_NONE = 0,
    S_SUB_READY,                        /* SUBSCRIBE to target now */
    S_SUB_WAIT,                         /* backing off until wake_at */
    S_SUB_CONNECT,                      /* target not connected; until wake_at */
    S_SUB_ASKED,                        /* SUBSCRIBE sent, until wake_at */
    S_SUB_OPEN                          /* OK came: deliveries flow */
} s_sub_state_t;

typedef struct {
    s_sub_state_t state;
    uint64_t serial;                    /* SUBSCRIBEs tried (ids used) */
    uint64_t sent_total;                /* SUBSCRIBEs that left */
    uint64_t id;                        /* the current one's, Invariant (2) */
    zr_busmsg_from_t mode;                 /* what the next SUBSCRIBE asks */
    uint64_t from;                      /* ... with mode INDEX */
    char prefix [ZR_BUSMSG_SUBJECT_MAX + 1];
    char cursor [ZR_BUSMSG_NAME_MAX + 1];  /* "" once something was delivered */
    int target;                         /* its endpoint */
    int64_t wake_at;                    /* WAIT, CONNECT, ASKED: next timer */
    int64_t heard;                      /* OPEN: the target's last frame */
    int64_t sent;                       /* OPEN: the last frame to it */
    int heartbeat_ms;                   /* OPEN: the OK's */
    int timeout_ms;                     /* OPEN: the OK's */
    int backoff_ms;                     /* the next back-off */
    uint32_t hops;                      /* moves since the last back-off */
    bool delivered;                     /* a DELIVERY was returned */
    uint64_t last;                      /* Invariant (3) */
    uint32_t consumed;                  /* returned since the last CREDIT */
    bool ended;                         /* an ENDED event waits */
    bool subscribed;                    /* a SUBSCRIBED event waits */
    zframe_t *frame;                    /* what the waiting event says */
    zr_busmsg_t msg;                   /* decoded from frame */
    int from_endpoint;                  /* who sent it */
    char why [ZR_BUSCLIENT_ERROR_MAX];  /* ENDED: why */
    zframe_t *delivery;                 /* a DELIVER read, not all returned:
                                           Invariant (5); owned unless
                                           run holds it */
    zr_busmsg_t delivery_msg;          /* decoded from delivery */
    zr_busmsg_records_iter_t records;   /* its records not returned yet */
    zr_busclient_run_t *run;            /* a reference, or NULL */
} s_sub_t;

/* A DELIVER frame shared by the DELIVERY events of its records. */
struct _zr_busclient_run_t {
    zframe_t *frame;                    /* owned */
    uint32_t refs;
};

struct _zr_busclient_t {
    zr_busclient_config_t config;       /* defaults filled in */
    zr_link_t endpoints [ZR_BUSCLIENT_ENDPOINTS_MAX];
    const char *names [ZR_BUSCLIENT_ENDPOINTS_MAX];     /* their names */
    size_t n_endpoints;                 /* 1..ZR_BUSCLIENT_ENDPOINTS_MAX */
    int leader;                         /* endpoint believed to lead, or -1 */
    zr_calls_t *calls;                  /* the requests in flight */
    uint64_t seq;                       /* the last publication's seq */
    s_sub_t sub;                        /* the subscription */
    char sub_problem [ZR_BUSCLIENT_ERROR_MAX];  /* why a server did not take
                                           it, the last time; "" if none */
    uint64_t dropped;                   /* frames undecodable, late or stray */
};

/* ----------------------------------------------------------------------
   Pure rules and small helpers
   ---------------------------------------------------------------------- */

int
zr_busclient_code_map (int type, uint32_t code)
{
    if (type == ZR_BUSMSG_ACK || type == ZR_BUSMSG_CURSORS_REPLY)
        return ZR_CLIENT_OK;
    if (type == ZR_BUSMSG_NOT_LEADER)
        return ZR_CLIENT_NOT_LEADER;
    switch (type == ZR_BUSMSG_ERROR ? code : 0) {
    case ZR_BUSMSG_CODE_BUSY: return ZR_CLIENT_BUSY;
    case ZR_BUSMSG_CODE_INVALID: return ZR_CLIENT_INVALID;
    case ZR_BUSMSG_CODE_UNAVAILABLE: return ZR_CLIENT_UNAVAILABLE;
    case ZR_BUSMSG_CODE_UNKNOWN: return ZR_CLIENT_UNKNOWN;
    case ZR_BUSMSG_CODE_STALE: return ZR_CLIENT_SESSION_EXPIRED;
    default: return ZR_CLIENT_MALFORMED;
    }
}

static int64_t
s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static const char *
s_name (zr_busclient_t *self, int endpoint)
{
    zr_assert (endpoint >= 0 && (size_t) endpoint < self->n_endpoints);
    return self->endpoints [endpoint].name;
}

static int
s_next (zr_busclient_t *self, int endpoint)
{
    return (int) (((size_t) endpoint + 1) % self->n_endpoints);
}

/* What calls.h needs of the endpoints. */
static zr_calls_endpoints_t
s_eps (zr_busclient_t *self)
{
    return (zr_calls_endpoints_t) {self->names, self->n_endpoints,
                                   &self->leader, self->endpoints};
}

/* A str field as a C string in buffer (ZR_BUSMSG_ENDPOINT_MAX + 1
   bytes); false if empty (the decoder checked length and NUL bytes). */
static bool
s_endpoint_string (zr_busmsg_bytes_t bytes, char *buffer)
{
    if (bytes.size == 0 || bytes.size > ZR_BUSMSG_ENDPOINT_MAX)
        return false;
    memcpy (buffer, bytes.data, bytes.size);
    buffer [bytes.size] = 0;
    return true;
}

/* Sends msg to endpoint without waiting: 0, or the errno (EAGAIN: not
   connected). */
static int
s_send (zr_busclient_t *self, int endpoint, const zr_busmsg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_busmsg_encode (msg, &data, &size);
    zr_assert (rc == 0);                /* checked when the call started */
    int sent = zmq_send (zsock_resolve (self->endpoints [endpoint].dealer),
                         data, size, ZMQ_DONTWAIT);
    int err = sent < 0 ? errno : 0;
    free (data);
    return err;
}

/* ----------------------------------------------------------------------
   Constructor, destructor
   ---------------------------------------------------------------------- */

void
zr_busclient_config_defaults (zr_busclient_config_t *config)
{
    zr_assert (config);
    memset (config, 0, sizeof *config);
    zr_kvclient_config_defaults (&config->calls);
    config->credit = S_CREDIT_DEFAULT;
}

/* The index of endpoint name, opened if new; -1 if the table is full or
   name is not usable. */
static int
s_endpoint_find_or_add (zr_busclient_t *self, const char *name)
{
    zr_assert (self && name);
    for (size_t i = 0; i < self->n_endpoints; i++)
        if (streq (self->endpoints [i].name, name))
            return (int) i;
    if (self->n_endpoints == ZR_BUSCLIENT_ENDPOINTS_MAX)
        return -1;
    /* Queues hold the requests in flight and the credit's deliveries. */
    uint64_t want = 2 * (uint64_t) self->config.calls.window
                    + self->config.credit;
    int hwm = want > S_HWM_MIN ? (int) want : S_HWM_MIN;
    zr_link_t *link = &self->endpoints [self->n_endpoints];
    if (zr_link_open (link, name, ZR_BUSMSG_ENDPOINT_MAX, hwm,
                      ZR_BUSMSG_FRAME_MAX) != 0)
        return -1;
    self->names [self->n_endpoints] = link->name;
    return (int) self->n_endpoints++;
}

zr_busclient_t *
zr_busclient_new (const char *const *endpoints, size_t n,
                  const zr_busclient_config_t *config)
{
    if (!endpoints || n == 0 || n > ZR_BUSCLIENT_ENDPOINTS_MAX) {
        fprintf (stderr, "zr_busclient: between 1 and %d endpoints\n",
                 ZR_BUSCLIENT_ENDPOINTS_MAX);
        return NULL;
    }
    zr_busclient_t *self = (zr_busclient_t *) calloc (1, sizeof *self);
    zr_assert (self);
    zr_busclient_config_defaults (&self->config);
    if (config)
        self->config = *config;
    self->config.credit = self->config.credit ? self->config.credit
                                              : S_CREDIT_DEFAULT;
    self->config.producer = self->config.producer ? self->config.producer
                                                  : zr_random_id ();
    if (zr_kvclient_config_complete (&self->config.calls, "zr_busclient")
        || self->config.credit > ZR_BUSMSG_CREDIT_MAX) {
        fprintf (stderr, "zr_busclient: credit must be 1..%u\n",
                 ZR_BUSMSG_CREDIT_MAX);
        free (self);
        return NULL;
    }
    self->leader = -1;
    self->calls = zr_calls_new (&self->config.calls, sizeof (s_call_t));
    for (size_t i = 0; i < n; i++)
        if (!endpoints [i] || s_endpoint_find_or_add (self, endpoints [i]) < 0) {
            fprintf (stderr, "zr_busclient: cannot connect to endpoint '%s'\n",
                     endpoints [i] ? endpoints [i] : "(null)");
            zr_busclient_destroy (&self);
            return NULL;
        }
    return self;
}

static void
s_run_unref (zr_busclient_run_t **run_p)
{
    zr_busclient_run_t *run = *run_p;
    if (run && --run->refs == 0) {
        zframe_destroy (&run->frame);
        free (run);
    }
    *run_p = NULL;
}

/* Drops what is left of the run being handed out (Invariant (5)). */
static void
s_sub_drop_delivery (s_sub_t *sub)
{
    if (sub->run)
        s_run_unref (&sub->run);        /* it owns the frame */
    else
        zframe_destroy (&sub->delivery);
    sub->delivery = NULL;
    memset (&sub->records, 0, sizeof sub->records);
}

static void
s_sub_clear (s_sub_t *sub)
{
    zframe_destroy (&sub->frame);
    s_sub_drop_delivery (sub);
    uint64_t serial = sub->serial, sent_total = sub->sent_total;
    memset (sub, 0, sizeof *sub);
    sub->serial = serial;               /* ids stay unique: Invariant (2) */
    sub->sent_total = sent_total;
}

void
zr_busclient_destroy (zr_busclient_t **self_p)
{
    zr_assert (self_p);
    zr_busclient_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; self->calls && i < self->config.calls.window; i++) {
        s_call_t *call = (s_call_t *) zr_calls_item (self->calls, i);
        free (call->data);
        zframe_destroy (&call->frame);
    }
    s_sub_clear (&self->sub);
    for (size_t i = 0; i < self->n_endpoints; i++)
        zr_link_close (&self->endpoints [i]);
    zr_calls_destroy (&self->calls);
    free (self);
    *self_p = NULL;
}

/* ----------------------------------------------------------------------
   Requests
   ---------------------------------------------------------------------- */

/* Sends the call's next try (calls.h's send callback; arg: the client). */
static void
s_try_send (void *arg, void *item, int64_t now)
{
    zr_busclient_t *self = (zr_busclient_t *) arg;
    s_call_t *call = (s_call_t *) item;
    if (!zr_calls_may_send (self->calls, &call->call, now))
        return;
    zr_busmsg_t request = call->request;           /* Invariant (1) */
    request.id = zr_calls_try_id (self->calls, &call->call);
    int err = s_send (self, call->call.target, &request);
    zr_calls_endpoints_t eps = s_eps (self);
    if (err == 0)
        zr_calls_sent (self->calls, &call->call, now);
    else
        zr_calls_unsent (self->calls, &call->call, err, &eps, now);
}

/* Takes a free slot for request (checked here by the encoder), copying
   its bytes; returns 0, ZR_EBUSY or ZR_EINVAL. */
static int
s_start (zr_busclient_t *self, const zr_busmsg_t *request, uint64_t token)
{
    if (zr_calls_pending (self->calls) == self->config.calls.window)
        return ZR_EBUSY;
    zr_busmsg_t probe = *request;
    probe.id = 1;
    uint8_t *data = NULL;
    size_t size = 0;
    if (zr_busmsg_encode (&probe, &data, &size) != 0)
        return ZR_EINVAL;
    free (data);
    int64_t now = zclock_mono ();
    s_call_t *call = (s_call_t *) zr_calls_start (
        self->calls, token, self->leader >= 0 ? self->leader : 0, -1,
        self->config.calls.timeout_ms, now);
    zr_assert (call);                   /* the window had room */
    call->request = *request;
    const uint8_t **fields [3] = {&call->request.subject.data,
                                  &call->request.payload.data,
                                  &call->request.name.data};
    size_t sizes [3] = {request->subject.size, request->payload.size,
                        request->name.size};
    call->data = zr_link_copy_bytes (fields, sizes, 3);
    s_try_send (self, call, now);
    return 0;
}

static zr_busmsg_bytes_t
s_cstr (const char *text)
{
    return (zr_busmsg_bytes_t) {(const uint8_t *) text, text ? strlen (text) : 0};
}

int
zr_busclient_publish (zr_busclient_t *self, const char *subject,
                      const void *data, size_t size, uint64_t token)
{
    zr_assert (self && subject && (data || size == 0));
    zr_busmsg_t request = {
        .type = ZR_BUSMSG_PUBLISH, .subject = s_cstr (subject),
        .payload = {(const uint8_t *) data, size},
        .producer = self->config.producer, .seq = self->seq + 1};
    int rc = s_start (self, &request, token);
    if (rc == 0)
        self->seq++;                    /* the next publication's seq */
    return rc;
}

int
zr_busclient_commit (zr_busclient_t *self, const char *name, uint64_t index,
                     uint64_t token)
{
    zr_assert (self && name);
    zr_busmsg_t request = {.type = ZR_BUSMSG_COMMIT_CURSOR,
                           .name = s_cstr (name), .index = index};
    return s_start (self, &request, token);
}

int
zr_busclient_cursors (zr_busclient_t *self, uint64_t token)
{
    zr_assert (self);
    zr_busmsg_t request = {.type = ZR_BUSMSG_CURSORS};
    return s_start (self, &request, token);
}

/* An answer to a request (id below 2^63): finds its try (Invariant
   (2)) and applies zr_kvclient_on_reply's rules, or drops it. Takes
   the frame. */
static void
s_on_answer (zr_busclient_t *self, int from, zframe_t **frame_p,
             const zr_busmsg_t *msg, int64_t now)
{
    uint32_t try_index = 0;
    s_call_t *call = (s_call_t *) zr_calls_find (self->calls, msg->id,
                                                 &try_index);
    bool cursors = call && call->request.type == ZR_BUSMSG_CURSORS;
    bool answers = msg->type == ZR_BUSMSG_NOT_LEADER
                   || msg->type == ZR_BUSMSG_ERROR
                   || (msg->type == ZR_BUSMSG_ACK && !cursors)
                   || (msg->type == ZR_BUSMSG_CURSORS_REPLY && cursors);
    if (!call || !answers) {
        self->dropped++;                /* late, or not ours */
        zframe_destroy (frame_p);
        return;
    }
    zframe_destroy (&call->frame);
    call->frame = *frame_p;
    *frame_p = NULL;
    call->answer = *msg;
    bool error = msg->type == ZR_BUSMSG_ERROR;
    char note [ZR_BUSCLIENT_ERROR_MAX];
    zr_calls_note (note, "%s: %s%s%.*s", s_name (self, from),
                   error ? zr_busmsg_code_name ((int) msg->code) : "NOT_LEADER",
                   error ? ": " : "", error ? (int) msg->text.size : 0,
                   error && msg->text.size ? (const char *) msg->text.data : "");
    int code = zr_busclient_code_map (msg->type, msg->code);
    zr_kvclient_step_t step = zr_calls_answer (self->calls, &call->call,
                                               try_index, code, from, note,
                                               now);
    if (code == ZR_CLIENT_OK)
        self->leader = from;
    if (step != ZR_KVCLIENT_REDIRECT && step != ZR_KVCLIENT_NEXT)
        return;
    if (self->leader == from)
        self->leader = -1;
    char name [ZR_BUSMSG_ENDPOINT_MAX + 1];
    int hint = msg->type == ZR_BUSMSG_NOT_LEADER
               && s_endpoint_string (msg->endpoint, name)
               ? s_endpoint_find_or_add (self, name) : -1;
    if (hint == from)
        hint = -1;
    if (hint >= 0)
        self->leader = hint;
    zr_calls_move (self->calls, &call->call, hint >= 0 ? hint
                   : zr_calls_next (&call->call, self->n_endpoints),
                   self->n_endpoints, now);
}

/* ----------------------------------------------------------------------
   The subscription
   ---------------------------------------------------------------------- */

/* The subscription waits before it asks again (doubling). */
static void
s_sub_backoff (zr_busclient_t *self, int64_t now)
{
    s_sub_t *sub = &self->sub;
    zr_assert (sub->backoff_ms >= 1);
    sub->state = S_SUB_WAIT;
    sub->wake_at = now + sub->backoff_ms;
    sub->backoff_ms = sub->backoff_ms * 2 > self->config.calls.backoff_ms_max
                      ? self->config.calls.backoff_ms_max : sub->backoff_ms * 2;
}

/* Moves the subscription to target (a new SUBSCRIBE soon); after a
   round of moves without an OK, it backs off first. */
static void
s_sub_move (zr_busclient_t *self, int target, int64_t now)
{
    s_sub_t *sub = &self->sub;
    zr_assert (sub->state != S_SUB_NONE);
    s_sub_drop_delivery (sub);          /* Invariant (5) */
    if (sub->state == S_SUB_OPEN || sub->state == S_SUB_ASKED) {
        /* Best effort: a live server frees the old one at once. */
        zr_busmsg_t bye = {.type = ZR_BUSMSG_UNSUBSCRIBE, .id = sub->id};
        s_send (self, sub->target, &bye);
    }
    sub->target = target;
    sub->state = S_SUB_READY;
    if (++sub->hops >= self->n_endpoints) {
        sub->hops = 0;
        s_sub_backoff (self, now);
    }
}

/* The subscription is over: an ENDED event (with frame, if any). */
static void
s_sub_end (zr_busclient_t *self, int from, zframe_t **frame_p,
           const zr_busmsg_t *msg, const char *why)
{
    s_sub_t *sub = &self->sub;
    s_sub_clear (sub);
    sub->ended = true;
    sub->from_endpoint = from;
    if (frame_p && *frame_p) {
        sub->frame = *frame_p;
        *frame_p = NULL;
        sub->msg = *msg;
    }
    zr_calls_note (sub->why, "%s", why);
}

/* Sends the next SUBSCRIBE to the target (Invariant (3)). */
static void
s_sub_send (zr_busclient_t *self, int64_t now)
{
    s_sub_t *sub = &self->sub;
    zr_assert (sub->state == S_SUB_READY);
    sub->id = S_SUB_BIT | ++sub->serial;
    zr_busmsg_t msg = {
        .type = ZR_BUSMSG_SUBSCRIBE, .id = sub->id, .from_mode = sub->mode,
        .from = sub->mode == ZR_BUSMSG_FROM_INDEX ? sub->from : 0,
        .prefix = s_cstr (sub->prefix), .credit = self->config.credit,
        .name = s_cstr (sub->cursor), .run_max = ZR_BUSMSG_RUN_MAX};
    int err = s_send (self, sub->target, &msg);
    sub->consumed = 0;
    if (err == 0) {
        sub->sent_total++;
        sub->state = S_SUB_ASKED;
        sub->wake_at = now + self->config.calls.try_timeout_ms;
        return;
    }
    sub->state = S_SUB_CONNECT;
    sub->wake_at = now + self->config.calls.connect_timeout_ms;
}

/* The OK, OUT_OF_RANGE, NOT_LEADER or ERROR that answers SUBSCRIBE. */
static void
s_sub_answer (zr_busclient_t *self, int from, zframe_t **frame_p,
              const zr_busmsg_t *msg, int64_t now)
{
    s_sub_t *sub = &self->sub;
    char why [ZR_BUSCLIENT_ERROR_MAX];
    if (msg->type == ZR_BUSMSG_OK) {
        self->sub_problem [0] = 0;
        sub->state = S_SUB_OPEN;
        sub->hops = 0;
        sub->backoff_ms = self->config.calls.backoff_ms_min;
        sub->heartbeat_ms = (int) msg->heartbeat_ms;
        sub->timeout_ms = (int) msg->timeout_ms;
        sub->heard = sub->sent = now;
        if (!sub->delivered && sub->mode == ZR_BUSMSG_FROM_NEXT) {
            sub->mode = ZR_BUSMSG_FROM_INDEX;  /* again: what follows this */
            sub->from = msg->last + 1;
        }
        zframe_destroy (&sub->frame);
        sub->frame = *frame_p;
        *frame_p = NULL;
        sub->msg = *msg;
        sub->from_endpoint = from;
        sub->subscribed = true;
        return;
    }
    if (msg->type == ZR_BUSMSG_OUT_OF_RANGE) {
        snprintf (why, sizeof why, "%s: the log no longer holds the index"
                  " asked (its first is %" PRIu64 ")", s_name (self, from),
                  msg->first);
        s_sub_end (self, from, frame_p, msg, why);
        return;
    }
    int code = zr_busclient_code_map (msg->type, msg->code);
    if (code == ZR_CLIENT_INVALID || code == ZR_CLIENT_MALFORMED) {
        snprintf (why, sizeof why, "%s: %s: %.*s", s_name (self, from),
                  zr_busmsg_code_name ((int) msg->code), (int) msg->text.size,
                  msg->text.size ? (const char *) msg->text.data : "");
        s_sub_end (self, from, frame_p, msg, why);
        return;
    }
    zframe_destroy (frame_p);
    char name [ZR_BUSMSG_ENDPOINT_MAX + 1];
    int hint = msg->type == ZR_BUSMSG_NOT_LEADER
               && s_endpoint_string (msg->endpoint, name)
               ? s_endpoint_find_or_add (self, name) : -1;
    if (code == ZR_CLIENT_BUSY && sub->state == S_SUB_ASKED) {
        s_sub_backoff (self, now);      /* the same server, later */
        return;
    }
    s_sub_move (self, hint >= 0 && hint != from ? hint
                      : s_next (self, sub->target), now);
}

/* A DELIVER of the current subscription: kept for recv to return its
   records, those that do not follow the last one skipped (Invariant
   (3)), or dropped if none does. */
static void
s_sub_deliver (zr_busclient_t *self, zframe_t **frame_p,
               const zr_busmsg_t *msg)
{
    s_sub_t *sub = &self->sub;
    zr_busmsg_records_iter_t records;
    zr_busmsg_records_iter (msg, &records);
    if (sub->delivered) {
        zr_busmsg_records_iter_t skip = records;
        zr_busmsg_record_t record;
        while (zr_busmsg_records_next (&skip, &record)
               && record.index <= sub->last)
            records = skip;             /* past a record already given */
    }
    if (sub->state != S_SUB_OPEN || sub->delivery || records.left == 0) {
        self->dropped++;
        zframe_destroy (frame_p);
        return;
    }
    sub->delivery = *frame_p;
    *frame_p = NULL;
    sub->delivery_msg = *msg;
    sub->records = records;
}

/* A frame for the subscription (OK, DELIVER, ...), or a HEARTBEAT. */
static void
s_on_sub_frame (zr_busclient_t *self, int from, zframe_t **frame_p,
                const zr_busmsg_t *msg, int64_t now)
{
    s_sub_t *sub = &self->sub;
    if (msg->type == ZR_BUSMSG_HEARTBEAT || msg->id != sub->id
        || from != sub->target
        || (sub->state != S_SUB_ASKED && sub->state != S_SUB_OPEN)) {
        zframe_destroy (frame_p);       /* heard, nothing more */
        return;
    }
    if (msg->type == ZR_BUSMSG_DELIVER)
        s_sub_deliver (self, frame_p, msg);
    else
    if (sub->state == S_SUB_ASKED)
        s_sub_answer (self, from, frame_p, msg, now);
    else
    if (msg->type == ZR_BUSMSG_OUT_OF_RANGE || msg->type == ZR_BUSMSG_ERROR)
        s_sub_answer (self, from, frame_p, msg, now);   /* the server ended it */
    else {
        self->dropped++;
        zframe_destroy (frame_p);
    }
}

/* The subscription's timers: send what is ready, heartbeat, and move
   on from a silent server. */
static void
s_sub_advance (zr_busclient_t *self, int64_t now)
{
    s_sub_t *sub = &self->sub;
    bool due = now >= sub->wake_at;
    if (sub->state == S_SUB_WAIT && due)
        sub->state = S_SUB_READY;
    else
    if ((sub->state == S_SUB_CONNECT || sub->state == S_SUB_ASKED) && due)
        s_sub_move (self, s_next (self, sub->target), now);
    else
    if (sub->state == S_SUB_OPEN && now - sub->heard >= sub->timeout_ms)
        s_sub_move (self, s_next (self, sub->target), now);
    if (sub->state == S_SUB_OPEN && now - sub->sent >= sub->heartbeat_ms) {
        zr_busmsg_t beat = {.type = ZR_BUSMSG_HEARTBEAT, .index = sub->last};
        s_send (self, sub->target, &beat);
        sub->sent = now;
    }
    if (sub->state == S_SUB_READY)
        s_sub_send (self, now);
}

/* When the subscription's timers next need attention. */
static int64_t
s_sub_wake (const s_sub_t *sub)
{
    switch (sub->state) {
    case S_SUB_READY: return 0;
    case S_SUB_WAIT:
    case S_SUB_CONNECT:
    case S_SUB_ASKED: return sub->wake_at;
    case S_SUB_OPEN: return s_min (sub->heard + sub->timeout_ms,
                                     sub->sent + sub->heartbeat_ms);
    default: return INT64_MAX;
    }
}

/* Returns credit once what was consumed reaches half of it (Invariant
   (4)); a CREDIT that cannot leave is tried again at the next one. */
static void
s_sub_consumed (zr_busclient_t *self, int64_t now)
{
    s_sub_t *sub = &self->sub;
    uint32_t threshold = self->config.credit / 2 ? self->config.credit / 2 : 1;
    if (++sub->consumed < threshold || sub->state != S_SUB_OPEN)
        return;
    zr_busmsg_t credit = {.type = ZR_BUSMSG_CREDIT, .id = sub->id,
                           .credit = sub->consumed};
    if (s_send (self, sub->target, &credit) == 0) {
        sub->consumed = 0;
        sub->sent = now;
    }
}

int
zr_busclient_subscribe (zr_busclient_t *self, const zr_busclient_sub_t *options)
{
    zr_assert (self && options);
    s_sub_t *sub = &self->sub;
    const char *prefix = options->prefix ? options->prefix : "";
    const char *cursor = options->cursor ? options->cursor : "";
    if (sub->state != S_SUB_NONE || strlen (prefix) > ZR_BUSMSG_SUBJECT_MAX
        || strlen (cursor) > ZR_BUSMSG_NAME_MAX
        || (unsigned) options->from_mode > ZR_BUSMSG_FROM_MAX
        || (options->from_mode == ZR_BUSMSG_FROM_INDEX) != (options->from > 0))
        return ZR_EINVAL;
    int target = options->endpoint
                 ? s_endpoint_find_or_add (self, options->endpoint) : 0;
    if (target < 0)
        return ZR_EINVAL;
    s_sub_clear (sub);
    sub->mode = options->from_mode;
    sub->from = options->from;
    snprintf (sub->prefix, sizeof sub->prefix, "%s", prefix);
    snprintf (sub->cursor, sizeof sub->cursor, "%s", cursor);
    sub->target = target;
    sub->backoff_ms = self->config.calls.backoff_ms_min;
    sub->state = S_SUB_READY;
    s_sub_send (self, zclock_mono ());
    return 0;
}

void
zr_busclient_unsubscribe (zr_busclient_t *self)
{
    zr_assert (self);
    s_sub_t *sub = &self->sub;
    if (sub->state == S_SUB_OPEN || sub->state == S_SUB_ASKED) {
        zr_busmsg_t bye = {.type = ZR_BUSMSG_UNSUBSCRIBE, .id = sub->id};
        s_send (self, sub->target, &bye);
    }
    s_sub_clear (sub);
}

/* ----------------------------------------------------------------------
   Frames, connections, timers
   ---------------------------------------------------------------------- */

/* from cannot read what this client sends: it answered in the client
   protocol (MALFORMED: a client endpoint given as a bus endpoint), or,
   before any answer, with an ERROR MALFORMED of id 0 (a peer endpoint).
   What waits on it moves to another endpoint, or, if there is none, is
   refused (a subscription ends) with the reason, note. */
static void
s_on_unreadable (zr_busclient_t *self, int from, const char *note, int64_t now)
{
    zr_calls_endpoints_t eps = s_eps (self);
    zr_calls_refused (self->calls, from, note, &eps, now);
    if (from != self->sub.target || (self->sub.state != S_SUB_ASKED
                                     && self->sub.state != S_SUB_OPEN))
        return;
    if (self->n_endpoints > 1) {
        snprintf (self->sub_problem, sizeof self->sub_problem, "%s", note);
        self->sub.state = S_SUB_READY;  /* no UNSUBSCRIBE: it cannot read one */
        s_sub_move (self, s_next (self, from), now);
    }
    else
        s_sub_end (self, from, NULL, NULL, note);
}

/* One frame from endpoint `from`: to the subscription or to a call. */
static void
s_on_frame (zr_busclient_t *self, int from, zframe_t **frame_p, int64_t now)
{
    zr_busmsg_t msg;
    bool ours = zr_busmsg_decode (zframe_data (*frame_p), zframe_size (*frame_p),
                                  &msg) == 0
                && zr_busmsg_from_server (msg.type);
    /* A client endpoint's answer; or, from an endpoint that never
       answered this client, an ERROR MALFORMED of id 0: it cannot read
       the bus protocol at all. */
    char why [ZR_BUSCLIENT_ERROR_MAX];
    if ((!ours || (msg.type == ZR_BUSMSG_ERROR && msg.id == 0))
        && zr_link_unreadable (zframe_data (*frame_p), zframe_size (*frame_p),
                               true, self->endpoints [from].answered, why,
                               sizeof why)) {
        self->dropped++;
        char note [ZR_BUSCLIENT_ERROR_MAX];
        zr_calls_note (note, "%s %s", s_name (self, from), why);
        s_on_unreadable (self, from, note, now);
        zframe_destroy (frame_p);
        return;
    }
    if (!ours) {
        self->dropped++;
        zframe_destroy (frame_p);
        return;
    }
    if (msg.id != 0 || msg.type == ZR_BUSMSG_HEARTBEAT)
        self->endpoints [from].answered = true;
    if (from == self->sub.target && (self->sub.state == S_SUB_ASKED
                                     || self->sub.state == S_SUB_OPEN))
        self->sub.heard = now;
    if ((msg.id & S_SUB_BIT) || msg.type == ZR_BUSMSG_HEARTBEAT)
        s_on_sub_frame (self, from, frame_p, &msg, now);
    else
        s_on_answer (self, from, frame_p, &msg, now);
}

/* Waits up to timeout_ms for frames, connections and drops, and handles
   what arrived, stopping at a delivery (recv returns it first). */
static void
s_poll (zr_busclient_t *self, int64_t timeout_ms)
{
    size_t n = self->n_endpoints;
    bool want_out [ZR_BUSCLIENT_ENDPOINTS_MAX] = {false};
    bool dropped [ZR_BUSCLIENT_ENDPOINTS_MAX] = {false};
    short revents [ZR_BUSCLIENT_ENDPOINTS_MAX] = {0};
    for (size_t e = 0; e < n; e++)
        want_out [e] = zr_calls_waiting_for (self->calls, (int) e)
                       || (self->sub.state == S_SUB_CONNECT
                           && self->sub.target == (int) e);
    if (!zr_link_poll (self->endpoints, n, want_out, timeout_ms, revents,
                       dropped))
        return;
    int64_t now = zclock_mono ();
    zr_calls_endpoints_t eps = s_eps (self);
    s_sub_t *sub = &self->sub;
    for (size_t e = 0; e < n; e++) {
        zframe_t *frame;
        if (revents [e] & ZMQ_POLLIN)
            while (!sub->delivery
                   && (frame = zr_link_recv (&self->endpoints [e],
                                             &self->dropped)))
                s_on_frame (self, (int) e, &frame, now);
        if (revents [e] & ZMQ_POLLOUT) {
            zr_calls_connected (self->calls, (int) e);
            if (sub->state == S_SUB_CONNECT && sub->target == (int) e)
                sub->state = S_SUB_READY;
        }
        if (!dropped [e])
            continue;
        /* The tries waiting on it are in doubt; a subscription moves. */
        zr_calls_dropped (self->calls, (int) e, &eps, now);
        if (sub->target == (int) e
            && (sub->state == S_SUB_ASKED || sub->state == S_SUB_OPEN))
            s_sub_move (self, s_next (self, (int) e), now);
    }
}

/* ----------------------------------------------------------------------
   Events
   ---------------------------------------------------------------------- */

/* Moves a DONE call into *event and frees its slot. */
static void
s_result_take (zr_busclient_t *self, s_call_t *call,
               zr_busclient_event_t *event)
{
    event->type = ZR_BUSCLIENT_RESULT;
    event->token = call->call.token;
    event->request = call->request.type;
    event->outcome = call->call.outcome;
    event->tries = call->call.n_tries;
    event->producer = call->request.producer;
    event->seq = call->request.seq;
    event->frame = call->frame;
    call->frame = NULL;
    if (event->frame)
        event->msg = call->answer;
    if (call->call.replier >= 0)
        snprintf (event->endpoint, sizeof event->endpoint, "%s",
                  s_name (self, call->call.replier));
    zr_calls_error (&call->call, event->error);
    free (call->data);
    zr_calls_release (self->calls, call);
}

/* Moves what the subscription has for the caller into *event, if
   anything: an ENDED or SUBSCRIBED event, else a delivery. */
static bool
s_sub_take (zr_busclient_t *self, zr_busclient_event_t *event, int64_t now)
{
    s_sub_t *sub = &self->sub;
    if (sub->ended || sub->subscribed) {
        event->type = sub->ended ? ZR_BUSCLIENT_ENDED : ZR_BUSCLIENT_SUBSCRIBED;
        event->frame = sub->frame;
        sub->frame = NULL;
        if (event->frame)
            event->msg = sub->msg;
        snprintf (event->endpoint, sizeof event->endpoint, "%s",
                  s_name (self, sub->from_endpoint));
        snprintf (event->error, sizeof event->error, "%s", sub->why);
        sub->ended = sub->subscribed = false;
        return true;
    }
    if (!sub->delivery)
        return false;
    /* The next record, as a DELIVER of its own (Invariant (5)). */
    size_t start = sub->records.pos;
    zr_busmsg_record_t record;
    bool next = zr_busmsg_records_next (&sub->records, &record);
    zr_assert (next);                   /* decoded: it walks */
    event->type = ZR_BUSCLIENT_DELIVERY;
    event->msg = sub->delivery_msg;
    event->msg.index = record.index;
    event->msg.term = record.term;
    event->msg.subject = record.subject;
    event->msg.payload = record.payload;
    event->msg.n_records = 1;
    event->msg.records = (zr_busmsg_bytes_t) {
        sub->records.data + start, sub->records.pos - start};
    if (sub->records.left == 0) {       /* the last: the frame goes */
        event->frame = sub->run ? NULL : sub->delivery;
        event->run = sub->run;
        sub->run = NULL;
        sub->delivery = NULL;
    }
    else {
        if (!sub->run) {
            sub->run = (zr_busclient_run_t *) calloc (1, sizeof *sub->run);
            zr_assert (sub->run);
            sub->run->frame = sub->delivery;
            sub->run->refs = 1;         /* the subscription's */
        }
        sub->run->refs++;
        event->run = sub->run;
    }
    snprintf (event->endpoint, sizeof event->endpoint, "%s",
              s_name (self, sub->target));
    sub->delivered = true;
    sub->last = event->msg.index;       /* Invariant (3) */
    sub->mode = ZR_BUSMSG_FROM_INDEX;
    sub->from = sub->last + 1;
    sub->cursor [0] = 0;
    s_sub_consumed (self, now);
    return true;
}

int
zr_busclient_recv (zr_busclient_t *self, zr_busclient_event_t *event,
                   int timeout_ms)
{
    zr_assert (self && event);
    memset (event, 0, sizeof *event);
    if (zr_calls_pending (self->calls) == 0 && self->sub.state == S_SUB_NONE
        && !self->sub.ended)
        return ZR_EINVAL;
    int64_t end = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    bool polled = false;                /* even with timeout 0, read once */
    while (true) {
        if (zsys_interrupted)
            zr_calls_interrupt (self->calls);
        else {
            /* What arrived first: a server whose frames wait unread is
               not silent, an answer waiting is no timeout. */
            if (!self->sub.delivery)
                s_poll (self, 0);
            zr_calls_endpoints_t eps = s_eps (self);
            zr_calls_advance (self->calls, &eps, zclock_mono (), s_try_send,
                              self);
            s_sub_advance (self, zclock_mono ());
        }
        int64_t now = zclock_mono ();
        s_call_t *done = (s_call_t *) zr_calls_done (self->calls);
        if (done) {
            s_result_take (self, done, event);
            return 0;
        }
        if (s_sub_take (self, event, now))
            return 0;
        if ((now >= end && polled) || zsys_interrupted)
            return ZR_EBUSY;
        int64_t wake = s_min (zr_calls_next_wake (self->calls),
                              s_sub_wake (&self->sub));
        int64_t wait = s_min (wake, end) - now;
        s_poll (self, wait < 0 ? 0 : wait);
        polled = true;
    }
}

void
zr_busclient_event_release (zr_busclient_event_t *event)
{
    zr_assert (event);
    zframe_destroy (&event->frame);
    s_run_unref (&event->run);
    memset (event, 0, sizeof *event);
}

uint32_t
zr_busclient_pending (zr_busclient_t *self)
{
    zr_assert (self);
    return zr_calls_pending (self->calls);
}

uint64_t
zr_busclient_producer (zr_busclient_t *self)
{
    zr_assert (self);
    return self->config.producer;
}

const char *
zr_busclient_leader (zr_busclient_t *self)
{
    zr_assert (self);
    return self->leader >= 0 ? s_name (self, self->leader) : NULL;
}

const char *
zr_busclient_sub_endpoint (zr_busclient_t *self)
{
    zr_assert (self);
    return self->sub.state != S_SUB_NONE ? s_name (self, self->sub.target)
                                         : NULL;
}

const char *
zr_busclient_sub_problem (zr_busclient_t *self)
{
    zr_assert (self);
    return self->sub_problem;
}

uint64_t
zr_busclient_subscribes (zr_busclient_t *self)
{
    zr_assert (self);
    return self->sub.sent_total;
}
