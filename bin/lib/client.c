/*  =========================================================================
    client - zr_kvclient_t: leader finding, retries and outcomes for
    zraft-node's client protocol (see client.h for the rules)

    Design notes

    A call lives in one slot of calls.h's table (its states, timers and
    tries are there); this file adds the protocol: each slot's request
    and its client session, how a try is encoded and sent, what a reply
    says (zr_kvclient_on_reply's table) and where the leader is.

        READY -> SENT/CONNECT       s_try_send
        SENT -> READY/WAIT/DONE     s_on_frame, zr_calls_advance, s_poll
        CONNECT -> READY            s_poll (POLLOUT), zr_calls_advance
        DONE -> FREE                zr_kvclient_recv (the caller took it)

    Invariants:
    1. A call's tries all carry the same client_id and seq: they are set
       once, in s_start, and s_try_send only changes request_id.
    2. request_id is calls.h's try id (Invariant (1) there): a reply
       names exactly one try of one call, a late one is dropped.
    3. session_id [slot] and session_seq [slot] are the slot's session:
       one write in flight per client_id (client.h).
    =========================================================================
*/
#include "client.h"
#include "calls.h"
#include "link.h"
#include <errno.h>
#include <string.h>
#include "../../raft/raft.h"
#include "../../transport/peer.h"

#define S_HWM_MIN 1000                  /* per-socket queue, in messages */

_Static_assert (ZR_KVCLIENT_WINDOW_MAX == ZR_CALLS_WINDOW_MAX
                && ZR_KVCLIENT_TRIES_MAX == ZR_CALLS_TRIES_MAX
                && ZR_KVCLIENT_ERROR_MAX == ZR_CALLS_ERROR_MAX,
                "the calls' limits are the client's");

/* One slot: the call (calls.h) and its request. */
typedef struct {
    zr_call_t call;                     /* first: calls.h's item */
    zr_client_request_t request;        /* key, value, old point into data */
    uint8_t *data;                      /* owns copies of key, value, old */
    int code;                           /* the last reply's code, or -1 */
    zframe_t *frame;                    /* the last reply, owned */
    zr_client_reply_t reply;            /* decoded from frame */
} s_call_t;

struct _zr_kvclient_t {
    zr_kvclient_config_t config;        /* defaults filled in */
    zr_link_t endpoints [ZR_KVCLIENT_ENDPOINTS_MAX];
    const char *names [ZR_KVCLIENT_ENDPOINTS_MAX];  /* endpoints' names */
    size_t n_endpoints;                 /* 1..ZR_KVCLIENT_ENDPOINTS_MAX */
    int leader;                         /* endpoint believed to lead, or -1 */
    zr_calls_t *calls;                  /* the calls in flight */
    uint64_t *session_id;               /* [window] a slot's client_id, 0 unset */
    uint64_t *session_seq;              /* [window] its last seq used */
    uint64_t replies_dropped;           /* undecodable, late or unmatched */
};

/* ----------------------------------------------------------------------
   Pure rules
   ---------------------------------------------------------------------- */

zr_kvclient_step_t
zr_kvclient_on_reply (int code, bool pinned, zr_kvclient_try_t *try_state)
{
    zr_assert (try_state);
    switch (code) {
    case ZR_CLIENT_OK:
        *try_state = ZR_KVCLIENT_TRY_OK;
        return ZR_KVCLIENT_FINISH;
    case ZR_CLIENT_NOT_LEADER:
        *try_state = ZR_KVCLIENT_TRY_NO;
        return pinned ? ZR_KVCLIENT_FINISH : ZR_KVCLIENT_REDIRECT;
    case ZR_CLIENT_BUSY:
        *try_state = ZR_KVCLIENT_TRY_NO;
        return ZR_KVCLIENT_BACKOFF;
    case ZR_CLIENT_UNAVAILABLE:
        *try_state = ZR_KVCLIENT_TRY_NO;
        return pinned ? ZR_KVCLIENT_FINISH : ZR_KVCLIENT_NEXT;
    case ZR_CLIENT_UNKNOWN:
        /* The server lost its leadership with the entry in flight: it
           may still commit, so the same client_id and seq go to the new
           leader, whose session answers for the first try too. */
        *try_state = ZR_KVCLIENT_TRY_MAYBE;
        return pinned ? ZR_KVCLIENT_FINISH : ZR_KVCLIENT_REDIRECT;
    case ZR_CLIENT_SESSION_EXPIRED:
        *try_state = ZR_KVCLIENT_TRY_MAYBE;
        return ZR_KVCLIENT_FINISH;
    default:                            /* INVALID, MALFORMED, unknown */
        *try_state = ZR_KVCLIENT_TRY_NO;
        return ZR_KVCLIENT_FINISH;
    }
}

zr_kvclient_outcome_t
zr_kvclient_classify (const uint8_t *tries, uint32_t n)
{
    zr_assert (tries || n == 0);
    bool doubt = false;
    for (uint32_t i = 0; i < n; i++) {
        if (tries [i] == ZR_KVCLIENT_TRY_OK)
            return ZR_KVCLIENT_DONE;
        if (tries [i] == ZR_KVCLIENT_TRY_SENT || tries [i] == ZR_KVCLIENT_TRY_MAYBE)
            doubt = true;
    }
    return doubt ? ZR_KVCLIENT_UNKNOWN : ZR_KVCLIENT_FAILED;
}

const char *
zr_kvclient_outcome_name (zr_kvclient_outcome_t outcome)
{
    switch (outcome) {
    case ZR_KVCLIENT_DONE: return "done";
    case ZR_KVCLIENT_FAILED: return "failed";
    case ZR_KVCLIENT_UNKNOWN: return "unknown";
    }
    return "?";
}

/* ----------------------------------------------------------------------
   Constructor, destructor
   ---------------------------------------------------------------------- */

void
zr_kvclient_config_defaults (zr_kvclient_config_t *config)
{
    zr_assert (config);
    memset (config, 0, sizeof *config);
    config->timeout_ms = 5000;
    config->connect_timeout_ms = 250;
    config->backoff_ms_min = 10;
    config->backoff_ms_max = 320;
    config->window = 1;
}

int
zr_kvclient_config_complete (zr_kvclient_config_t *config, const char *who)
{
    zr_assert (config && who);
    zr_kvclient_config_t def;
    zr_kvclient_config_defaults (&def);
    config->timeout_ms = config->timeout_ms ? config->timeout_ms : def.timeout_ms;
    config->connect_timeout_ms = config->connect_timeout_ms
                                 ? config->connect_timeout_ms
                                 : def.connect_timeout_ms;
    config->backoff_ms_min = config->backoff_ms_min ? config->backoff_ms_min
                                                    : def.backoff_ms_min;
    config->backoff_ms_max = config->backoff_ms_max ? config->backoff_ms_max
                                                    : def.backoff_ms_max;
    config->window = config->window ? config->window : def.window;
    if (config->try_timeout_ms == 0) {
        int quarter = config->timeout_ms / 4;
        config->try_timeout_ms = quarter < 200 ? 200
                                 : quarter > 2000 ? 2000 : quarter;
    }
    if (config->timeout_ms < 1 || config->timeout_ms > ZR_KVCLIENT_TIMEOUT_MS_MAX
        || config->try_timeout_ms < 1 || config->connect_timeout_ms < 1
        || config->backoff_ms_min < 1
        || config->backoff_ms_max < config->backoff_ms_min
        || config->window > ZR_KVCLIENT_WINDOW_MAX) {
        fprintf (stderr, "%s: config out of range (timeouts >= 1 ms, "
                         "timeout <= %d ms, backoff min <= max, window <= %d)\n",
                 who, ZR_KVCLIENT_TIMEOUT_MS_MAX, ZR_KVCLIENT_WINDOW_MAX);
        return -1;
    }
    return 0;
}

/* Returns the index of endpoint name, opening it if new; -1 if the
   table is full or name is not usable. */
static int
s_endpoint_find_or_add (zr_kvclient_t *self, const char *name)
{
    zr_assert (self && name);
    for (size_t i = 0; i < self->n_endpoints; i++)
        if (streq (self->endpoints [i].name, name))
            return (int) i;
    if (self->n_endpoints == ZR_KVCLIENT_ENDPOINTS_MAX)
        return -1;
    zr_link_t *ep = &self->endpoints [self->n_endpoints];
    uint32_t w = self->config.window;
    int hwm = w * 2 > S_HWM_MIN ? (int) w * 2 : S_HWM_MIN;
    if (zr_link_open (ep, name, ZR_CLIENT_ENDPOINT_MAX, hwm,
                      ZR_CLIENT_FRAME_MAX) != 0)
        return -1;
    self->names [self->n_endpoints] = ep->name;
    return (int) self->n_endpoints++;
}

zr_kvclient_t *
zr_kvclient_new (const char *const *endpoints, size_t n,
                 const zr_kvclient_config_t *config)
{
    if (!endpoints || n == 0 || n > ZR_KVCLIENT_ENDPOINTS_MAX) {
        fprintf (stderr, "zr_kvclient: between 1 and %d endpoints\n",
                 ZR_KVCLIENT_ENDPOINTS_MAX);
        return NULL;
    }
    zr_kvclient_t *self = (zr_kvclient_t *) calloc (1, sizeof *self);
    zr_assert (self);
    if (config)
        self->config = *config;
    if (zr_kvclient_config_complete (&self->config, "zr_kvclient") != 0) {
        free (self);
        return NULL;
    }
    self->leader = -1;
    uint32_t w = self->config.window;
    self->calls = zr_calls_new (&self->config, sizeof (s_call_t));
    self->session_id = (uint64_t *) calloc (w, sizeof (uint64_t));
    self->session_seq = (uint64_t *) calloc (w, sizeof (uint64_t));
    zr_assert (self->session_id && self->session_seq);
    for (size_t i = 0; i < n; i++) {
        /* A duplicate maps to its twin. */
        if (!endpoints [i] || s_endpoint_find_or_add (self, endpoints [i]) < 0) {
            fprintf (stderr, "zr_kvclient: cannot connect to endpoint '%s'\n",
                     endpoints [i] ? endpoints [i] : "(null)");
            zr_kvclient_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
zr_kvclient_destroy (zr_kvclient_t **self_p)
{
    zr_assert (self_p);
    zr_kvclient_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; self->calls && i < self->config.window; i++) {
        s_call_t *call = (s_call_t *) zr_calls_item (self->calls, i);
        free (call->data);
        zframe_destroy (&call->frame);
    }
    for (size_t i = 0; i < self->n_endpoints; i++)
        zr_link_close (&self->endpoints [i]);
    zr_calls_destroy (&self->calls);
    free (self->session_id);
    free (self->session_seq);
    free (self);
    *self_p = NULL;
}

/* ----------------------------------------------------------------------
   Calls
   ---------------------------------------------------------------------- */

static bool
s_is_write (zr_client_type_t type)
{
    return type == ZR_CLIENT_PUT || type == ZR_CLIENT_DEL || type == ZR_CLIENT_CAS;
}

/* Requests for the leader: it answers them (SNAPSHOT: any server takes
   one of its own, so the leader is where it starts). */
static bool
s_needs_leader (const zr_client_request_t *request)
{
    switch (request->type) {
    case ZR_CLIENT_GET: return !request->stale;
    case ZR_CLIENT_PUT:
    case ZR_CLIENT_DEL:
    case ZR_CLIENT_CAS:
    case ZR_CLIENT_TRANSFER:
    case ZR_CLIENT_SNAPSHOT: return true;
    default: return false;
    }
}

static const char *
s_name (zr_kvclient_t *self, int endpoint)
{
    zr_assert (endpoint >= 0 && (size_t) endpoint < self->n_endpoints);
    return self->endpoints [endpoint].name;
}

/* What calls.h needs of the endpoints. */
static zr_calls_endpoints_t
s_eps (zr_kvclient_t *self)
{
    return (zr_calls_endpoints_t) {self->names, self->n_endpoints,
                                   &self->leader, self->endpoints};
}

/* Sends the call's next try to its target: SENT if the request left,
   CONNECT if the target has no connection up (nothing was queued). A
   calls.h send callback (arg: the client). */
static void
s_try_send (void *arg, void *item, int64_t now)
{
    zr_kvclient_t *self = (zr_kvclient_t *) arg;
    s_call_t *call = (s_call_t *) item;
    if (!zr_calls_may_send (self->calls, &call->call, now))
        return;
    zr_client_request_t request = call->request;       /* Invariant (1) */
    request.request_id = zr_calls_try_id (self->calls, &call->call);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_client_request_encode (&request, &data, &size);
    if (rc != 0) {                      /* ZR_ENOMEM: s_start encoded it once */
        zr_calls_note (call->call.note, "cannot encode the request: %s",
                       zr_strerror (rc));
        zr_calls_finish (self->calls, &call->call);
        return;
    }
    zr_link_t *ep = &self->endpoints [call->call.target];
    int sent = zmq_send (zsock_resolve (ep->dealer), data, size, ZMQ_DONTWAIT);
    int err = errno;
    free (data);
    zr_calls_endpoints_t eps = s_eps (self);
    if (sent >= 0)
        zr_calls_sent (self->calls, &call->call, now);
    else
        zr_calls_unsent (self->calls, &call->call, err, &eps, now);
}

/* Takes a free slot for request; returns 0, ZR_EBUSY or ZR_EINVAL. */
static int
s_start (zr_kvclient_t *self, int pinned, const zr_client_request_t *request,
         int timeout_ms, uint64_t token)
{
    zr_assert (self && request);
    if (zr_calls_pending (self->calls) == self->config.window)
        return ZR_EBUSY;
    /* The encoder is the judge of the limits: a request it refuses now
       would be refused on every try. */
    zr_client_request_t probe = *request;
    probe.request_id = 1;
    if (s_is_write (probe.type) && probe.client_id == 0)
        probe.client_id = probe.seq = 1;
    uint8_t *data = NULL;
    size_t size = 0;
    if (zr_client_request_encode (&probe, &data, &size) != 0)
        return ZR_EINVAL;
    free (data);
    int target = pinned >= 0 ? pinned
                 : self->leader >= 0 && s_needs_leader (request) ? self->leader
                                                                 : 0;
    int64_t now = zclock_mono ();
    s_call_t *call = (s_call_t *) zr_calls_start (
        self->calls, token, target, pinned,
        timeout_ms > 0 ? timeout_ms : self->config.timeout_ms, now);
    zr_assert (call);                   /* the window had room */
    call->request = *request;
    call->code = -1;
    const uint8_t **fields [3] = {&call->request.key.data,
                                  &call->request.value.data,
                                  &call->request.old.data};
    size_t sizes [3] = {request->key.size, request->value.size,
                        request->old.size};
    call->data = zr_link_copy_bytes (fields, sizes, 3);
    uint32_t slot = zr_calls_slot (self->calls, call);
    if (s_is_write (request->type) && request->client_id == 0) {
        if (self->session_id [slot] == 0)
            self->session_id [slot] = zr_random_id ();
        call->request.client_id = self->session_id [slot];
        call->request.seq = ++self->session_seq [slot];    /* Invariant (3) */
    }
    s_try_send (self, call, now);
    return 0;
}

int
zr_kvclient_send (zr_kvclient_t *self, const zr_client_request_t *request,
                  uint64_t token)
{
    zr_assert (self && request);
    return s_start (self, -1, request, 0, token);
}

int
zr_kvclient_send_at (zr_kvclient_t *self, const char *endpoint,
                     const zr_client_request_t *request, int timeout_ms,
                     uint64_t token)
{
    zr_assert (self && request);
    if (timeout_ms < 0 || timeout_ms > ZR_KVCLIENT_TIMEOUT_MS_MAX)
        return ZR_EINVAL;
    int pinned = endpoint ? s_endpoint_find_or_add (self, endpoint) : -1;
    if (endpoint && pinned < 0)
        return ZR_EINVAL;
    return s_start (self, pinned, request, timeout_ms, token);
}

/* ----------------------------------------------------------------------
   Replies, timers, connections
   ---------------------------------------------------------------------- */

/* Copies a str field into buffer (ZR_CLIENT_ENDPOINT_MAX + 1 bytes);
   returns false if it is empty or too long to be an endpoint. */
static bool
s_endpoint_string (zr_client_bytes_t bytes, char *buffer)
{
    if (bytes.size == 0 || bytes.size > ZR_CLIENT_ENDPOINT_MAX)
        return false;
    memcpy (buffer, bytes.data, bytes.size);
    buffer [bytes.size] = 0;
    return strlen (buffer) == bytes.size;       /* no NUL inside */
}

/* What a STATUS reply says about the leader: remember its endpoint. */
static void
s_learn_leader (zr_kvclient_t *self, int from, const zr_client_reply_t *reply)
{
    if (reply->leader == 0)
        return;
    if (reply->leader == reply->id) {
        self->leader = from;
        return;
    }
    char name [ZR_CLIENT_ENDPOINT_MAX + 1];
    for (uint32_t i = 0; i < reply->n_members; i++)
        if (reply->members [i].id == reply->leader
            && s_endpoint_string (reply->members [i].client_endpoint, name)) {
            int index = s_endpoint_find_or_add (self, name);
            if (index >= 0)
                self->leader = index;
        }
}

/* The endpoint a NOT_LEADER or UNKNOWN reply from `from` points to, or
   -1 (no hint, a hint naming `from` itself, or a full table). */
static int
s_hint (zr_kvclient_t *self, int from, const zr_client_reply_t *reply)
{
    char name [ZR_CLIENT_ENDPOINT_MAX + 1];
    if (!s_endpoint_string (reply->leader_endpoint, name))
        return -1;
    int index = s_endpoint_find_or_add (self, name);
    return index == from ? -1 : index;
}

/* Acts on a reply for a call's try (see client.h for the rules). */
static void
s_call_reply (zr_kvclient_t *self, s_call_t *call, uint32_t try_index,
              int from, int64_t now)
{
    const zr_client_reply_t *reply = &call->reply;
    char note [ZR_KVCLIENT_ERROR_MAX] = "";
    if (reply->code != ZR_CLIENT_OK)
        zr_calls_note (note, "%s: %s: %.*s", s_name (self, from),
                       zr_client_code_name ((int) reply->code),
                       (int) (reply->message.size < 300 ? reply->message.size
                                                        : 300),
                       reply->message.size ? (const char *) reply->message.data
                                           : "");
    zr_kvclient_step_t step = zr_calls_answer (self->calls, &call->call,
                                               try_index, (int) reply->code,
                                               from, note, now);
    if (reply->code == ZR_CLIENT_OK) {
        if (s_needs_leader (&call->request))
            self->leader = from;
        if (reply->type == ZR_CLIENT_STATUS)
            s_learn_leader (self, from, reply);
        return;
    }
    if (step != ZR_KVCLIENT_REDIRECT && step != ZR_KVCLIENT_NEXT)
        return;
    if (self->leader == from)
        self->leader = -1;
    int hint = step == ZR_KVCLIENT_REDIRECT ? s_hint (self, from, reply) : -1;
    if (hint >= 0)
        self->leader = hint;
    zr_calls_move (self->calls, &call->call, hint >= 0 ? hint
                   : zr_calls_next (&call->call, self->n_endpoints),
                   self->n_endpoints, now);
}

/* One frame from endpoint `from`: finds the try it answers (Invariant
   (2)) and hands it over, or drops it. Takes the frame. */
static void
s_on_frame (zr_kvclient_t *self, int from, zframe_t **frame_p, int64_t now)
{
    zframe_t *frame = *frame_p;
    *frame_p = NULL;
    zr_client_reply_t reply;
    uint32_t try_index = 0;
    s_call_t *call = NULL;
    int rc = zr_client_reply_decode (zframe_data (frame), zframe_size (frame),
                                     &reply);
    if (rc == 0)
        call = (s_call_t *) zr_calls_find (self->calls, reply.request_id,
                                           &try_index);
    /* MALFORMED of type 0 on a call's id: a server that could read the
       id but not the type (an older one): the call's answer */
    if (!call || (reply.type != call->request.type
                  && !(reply.type == 0 && reply.code == ZR_CLIENT_MALFORMED))) {
        self->replies_dropped++;        /* undecodable, late, or not ours */
        /* A bus endpoint's answer; or, from an endpoint that never
           answered, a MALFORMED of request 0 (it could not read a
           request's head at all): a peer endpoint, or something else
           that is no client endpoint. Nothing sent there can succeed. */
        char why [ZR_KVCLIENT_ERROR_MAX];
        if (zr_link_unreadable (zframe_data (frame), zframe_size (frame), false,
                                self->endpoints [from].answered, why, sizeof why)) {
            char note [ZR_KVCLIENT_ERROR_MAX];
            zr_calls_note (note, "%s %s", s_name (self, from), why);
            zr_calls_endpoints_t eps = s_eps (self);
            zr_calls_refused (self->calls, from, note, &eps, now);
        }
        zframe_destroy (&frame);
        return;
    }
    self->endpoints [from].answered = true;
    zframe_destroy (&call->frame);
    call->frame = frame;
    call->reply = reply;
    call->code = (int) reply.code;
    s_call_reply (self, call, try_index, from, now);
}

/* Waits up to timeout_ms for replies, connections and disconnections,
   and handles what arrived. */
static void
s_poll (zr_kvclient_t *self, int64_t timeout_ms)
{
    size_t n = self->n_endpoints;
    bool want_out [ZR_KVCLIENT_ENDPOINTS_MAX] = {false};
    bool dropped [ZR_KVCLIENT_ENDPOINTS_MAX] = {false};
    short revents [ZR_KVCLIENT_ENDPOINTS_MAX] = {0};
    for (size_t e = 0; e < n; e++)
        want_out [e] = zr_calls_waiting_for (self->calls, (int) e);
    if (!zr_link_poll (self->endpoints, n, want_out, timeout_ms, revents,
                       dropped))
        return;
    int64_t now = zclock_mono ();
    zr_calls_endpoints_t eps = s_eps (self);
    for (size_t e = 0; e < n; e++) {
        zframe_t *frame;
        if (revents [e] & ZMQ_POLLIN)
            while ((frame = zr_link_recv (&self->endpoints [e],
                                          &self->replies_dropped)))
                s_on_frame (self, (int) e, &frame, now);
        if (revents [e] & ZMQ_POLLOUT)
            zr_calls_connected (self->calls, (int) e);
        if (dropped [e])
            zr_calls_dropped (self->calls, (int) e, &eps, now);
    }
}

/* ----------------------------------------------------------------------
   Results
   ---------------------------------------------------------------------- */

/* Moves the oldest DONE call into *result and frees its slot. */
static void
s_result_take (zr_kvclient_t *self, s_call_t *call,
               zr_kvclient_result_t *result)
{
    memset (result, 0, sizeof *result);
    result->token = call->call.token;
    result->outcome = call->call.outcome;
    result->code = call->code;
    result->frame = call->frame;
    call->frame = NULL;
    if (result->frame)
        result->reply = call->reply;
    if (call->call.replier >= 0)
        snprintf (result->endpoint, sizeof result->endpoint, "%s",
                  s_name (self, call->call.replier));
    result->tries = call->call.n_tries;
    result->refused = call->call.refused;
    if (s_is_write (call->request.type)) {
        result->client_id = call->request.client_id;
        result->seq = call->request.seq;
    }
    zr_calls_error (&call->call, result->error);
    free (call->data);
    zr_calls_release (self->calls, call);
}

int
zr_kvclient_recv (zr_kvclient_t *self, zr_kvclient_result_t *result, int timeout_ms)
{
    zr_assert (self && result);
    if (zr_calls_pending (self->calls) == 0)
        return ZR_EINVAL;
    int64_t end = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    bool polled = false;                /* even with timeout 0, read once */
    while (true) {
        int64_t now = zclock_mono ();
        zr_calls_endpoints_t eps = s_eps (self);
        zr_calls_advance (self->calls, &eps, now, s_try_send, self);
        s_call_t *done = (s_call_t *) zr_calls_done (self->calls);
        if (!done && zsys_interrupted) {
            zr_calls_interrupt (self->calls);
            done = (s_call_t *) zr_calls_done (self->calls);
        }
        if (done) {
            s_result_take (self, done, result);
            return 0;
        }
        if (now >= end && polled)
            return ZR_EBUSY;
        int64_t wake = zr_calls_next_wake (self->calls);
        int64_t wait = (wake < end ? wake : end) - now;
        s_poll (self, wait < 0 ? 0 : wait);
        polled = true;
    }
}

int
zr_kvclient_call (zr_kvclient_t *self, const zr_client_request_t *request,
                  zr_kvclient_result_t *result)
{
    zr_assert (self && request && result);
    zr_assert (zr_calls_pending (self->calls) == 0);
    int rc = zr_kvclient_send (self, request, 0);
    return rc ? rc : zr_kvclient_recv (self, result, -1);
}

int
zr_kvclient_call_at (zr_kvclient_t *self, const char *endpoint,
                     const zr_client_request_t *request, int timeout_ms,
                     zr_kvclient_result_t *result)
{
    zr_assert (self && request && result);
    zr_assert (zr_calls_pending (self->calls) == 0);
    int rc = zr_kvclient_send_at (self, endpoint, request, timeout_ms, 0);
    return rc ? rc : zr_kvclient_recv (self, result, -1);
}

void
zr_kvclient_result_release (zr_kvclient_result_t *result)
{
    zr_assert (result);
    zframe_destroy (&result->frame);
    memset (result, 0, sizeof *result);
}

uint32_t
zr_kvclient_pending (zr_kvclient_t *self)
{
    zr_assert (self);
    return zr_calls_pending (self->calls);
}

const char *
zr_kvclient_leader (zr_kvclient_t *self)
{
    zr_assert (self);
    return self->leader >= 0 ? s_name (self, self->leader) : NULL;
}
