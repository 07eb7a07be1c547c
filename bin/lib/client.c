/*  =========================================================================
    client - zr_kvclient_t: leader finding, retries and outcomes for
    zraft-node's client protocol (see client.h for the rules)

    Design notes

    A call lives in one slot of calls [window]; its state moves as:

        send ──> READY ──(zmq_send ok)──────────> SENT ──(OK)──> DONE
                  ^  │                            │  │
                  │  └─(EAGAIN: not connected)─> CONNECT
                  │                               │  │ (try timeout,
                  ├──(POLLOUT, or move on)───────-┘  │  disconnect,
                  ├──────────────────────────────────┘  NOT_LEADER...)
                  └──(backoff over)── WAIT <──(BUSY, a full round)

        READY -> SENT/CONNECT       s_try_send
        SENT -> READY/WAIT/DONE     s_handle_reply, s_advance, s_handle_monitor
        CONNECT -> READY            s_handle_writable, s_advance
        WAIT -> READY               s_advance
        any -> DONE                 s_finish (deadline, a final reply)
        DONE -> FREE                zr_kvclient_recv (the caller took it)

    Invariants:
    1. A call's tries all carry the same client_id and seq: they are set
       once, in s_call_start, and s_try_send only changes request_id.
    2. request_id = (serial << 20) | (slot << 8) | try, serial >= 1, so it
       is never 0 and a reply names exactly one try of one call; a reply
       whose serial is not the slot's current call's is late and dropped.
    3. tries [i] only leaves ZR_KVCLIENT_TRY_SENT through a reply to try
       i: a try that timed out or lost its connection stays in doubt.
    4. A DONE call's outcome is zr_kvclient_classify of its tries.
    5. pending == number of slots not FREE <= window.
    =========================================================================
*/
#include "client.h"
#include "link.h"
#include <errno.h>
#include <string.h>
#include "../../raft/raft.h"

#define S_SLOT_SHIFT 8
#define S_SERIAL_SHIFT 20
#define S_HWM_MIN 1000                  /* per-socket queue, in messages */

typedef enum {
    S_FREE = 0,
    S_READY,                            /* to be sent to target now */
    S_WAIT,                             /* backing off until wake_at */
    S_CONNECT,                          /* target not connected; until wake_at */
    S_SENT,                             /* try n_tries-1 awaits a reply until wake_at */
    S_DONE                              /* completed, result not yet taken */
} s_state_t;

typedef struct {
    s_state_t state;
    uint64_t token;                     /* the caller's */
    uint64_t serial;                    /* this call's number, >= 1 */
    zr_client_request_t request;        /* key, value, old point into data */
    uint8_t *data;                      /* owns copies of key, value, old */
    int pinned;                         /* endpoint index, or -1 */
    int target;                         /* endpoint of the current/next try */
    int64_t deadline;                   /* zclock_mono: the call ends here */
    int64_t wake_at;                    /* WAIT, CONNECT, SENT: next timer */
    int backoff_ms;                     /* the next back-off */
    uint32_t hops;                      /* moves since the last back-off */
    uint32_t n_tries;                   /* tries that left */
    uint8_t tries [ZR_KVCLIENT_TRIES_MAX];  /* zr_kvclient_try_t each */
    int code;                           /* the last reply's code, or -1 */
    zframe_t *frame;                    /* the last reply, owned */
    zr_client_reply_t reply;            /* decoded from frame */
    int replier;                        /* endpoint that sent it, or -1 */
    char note [ZR_KVCLIENT_ERROR_MAX];  /* the latest thing that went wrong */
    char doubt [ZR_KVCLIENT_ERROR_MAX]; /* why a try is in doubt ("" none) */
    zr_kvclient_outcome_t outcome;      /* DONE state */
} s_call_t;

struct _zr_kvclient_t {
    zr_kvclient_config_t config;        /* defaults filled in */
    zr_link_t endpoints [ZR_KVCLIENT_ENDPOINTS_MAX];
    size_t n_endpoints;                 /* 1..ZR_KVCLIENT_ENDPOINTS_MAX */
    int leader;                         /* endpoint believed to lead, or -1 */
    s_call_t *calls;                    /* [config.window] */
    uint64_t *session_id;               /* [window] a slot's client_id, 0 unset */
    uint64_t *session_seq;              /* [window] its last seq used */
    uint32_t *done;                     /* [window] ring of DONE slots */
    uint32_t done_head, done_count;     /* Invariant: done_count <= window */
    uint32_t pending;                   /* Invariant (5) */
    uint64_t serial;                    /* the last call's serial */
    uint64_t replies_dropped;           /* undecodable, late or unmatched */
};

static void s_finish (zr_kvclient_t *self, s_call_t *call);

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

static int
s_clamp (int value, int lo, int hi)
{
    zr_assert (lo <= hi);
    return value < lo ? lo : value > hi ? hi : value;
}

/* Fills zero fields of *config with defaults; returns -1 (with a line on
   stderr) if a field is out of range. */
static int
s_config_complete (zr_kvclient_config_t *config)
{
    zr_kvclient_config_t def;
    zr_kvclient_config_defaults (&def);
    if (config->timeout_ms == 0)
        config->timeout_ms = def.timeout_ms;
    if (config->connect_timeout_ms == 0)
        config->connect_timeout_ms = def.connect_timeout_ms;
    if (config->backoff_ms_min == 0)
        config->backoff_ms_min = def.backoff_ms_min;
    if (config->backoff_ms_max == 0)
        config->backoff_ms_max = def.backoff_ms_max;
    if (config->window == 0)
        config->window = def.window;
    if (config->try_timeout_ms == 0)
        config->try_timeout_ms = s_clamp (config->timeout_ms / 4, 200, 2000);
    if (config->timeout_ms < 1 || config->timeout_ms > ZR_KVCLIENT_TIMEOUT_MS_MAX
        || config->try_timeout_ms < 1 || config->connect_timeout_ms < 1
        || config->backoff_ms_min < 1
        || config->backoff_ms_max < config->backoff_ms_min
        || config->window > ZR_KVCLIENT_WINDOW_MAX) {
        fprintf (stderr, "zr_kvclient: config out of range (timeouts >= 1 ms, "
                         "timeout <= %d ms, backoff min <= max, window <= %d)\n",
                 ZR_KVCLIENT_TIMEOUT_MS_MAX, ZR_KVCLIENT_WINDOW_MAX);
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
    if (s_config_complete (&self->config) != 0) {
        free (self);
        return NULL;
    }
    self->leader = -1;
    uint32_t w = self->config.window;
    self->calls = (s_call_t *) calloc (w, sizeof (s_call_t));
    self->session_id = (uint64_t *) calloc (w, sizeof (uint64_t));
    self->session_seq = (uint64_t *) calloc (w, sizeof (uint64_t));
    self->done = (uint32_t *) calloc (w, sizeof (uint32_t));
    zr_assert (self->calls && self->session_id && self->session_seq && self->done);
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
    for (uint32_t i = 0; i < self->config.window; i++) {
        free (self->calls [i].data);
        zframe_destroy (&self->calls [i].frame);
    }
    for (size_t i = 0; i < self->n_endpoints; i++)
        zr_link_close (&self->endpoints [i]);
    free (self->calls);
    free (self->session_id);
    free (self->session_seq);
    free (self->done);
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

static int64_t
s_min64 (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void s_note (char *buffer, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_note (char *buffer, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (buffer, ZR_KVCLIENT_ERROR_MAX, format, args);
    va_end (args);
}

static uint32_t
s_slot (zr_kvclient_t *self, const s_call_t *call)
{
    zr_assert (call >= self->calls && call < self->calls + self->config.window);
    return (uint32_t) (call - self->calls);
}

static const char *
s_name (zr_kvclient_t *self, int endpoint)
{
    zr_assert (endpoint >= 0 && (size_t) endpoint < self->n_endpoints);
    return self->endpoints [endpoint].name;
}

static void
s_forget_leader (zr_kvclient_t *self, int endpoint)
{
    if (self->leader == endpoint)
        self->leader = -1;
}

static void
s_backoff (zr_kvclient_t *self, s_call_t *call, int64_t now)
{
    zr_assert (call->backoff_ms >= 1);
    call->state = S_WAIT;
    call->wake_at = s_min64 (now + call->backoff_ms, call->deadline);
    call->backoff_ms = call->backoff_ms * 2 > self->config.backoff_ms_max
                           ? self->config.backoff_ms_max
                           : call->backoff_ms * 2;
}

/* The next try goes to target; after a round of as many moves as there
   are endpoints without progress, it backs off first. */
static void
s_move (zr_kvclient_t *self, s_call_t *call, int target, int64_t now)
{
    zr_assert (call->pinned < 0);
    zr_assert (target >= 0 && (size_t) target < self->n_endpoints);
    call->target = target;
    call->state = S_READY;
    if (++call->hops >= self->n_endpoints) {
        call->hops = 0;
        s_backoff (self, call, now);
    }
}

static int
s_next (zr_kvclient_t *self, const s_call_t *call)
{
    return (int) (((size_t) call->target + 1) % self->n_endpoints);
}

static void
s_finish (zr_kvclient_t *self, s_call_t *call)
{
    zr_assert (call->state != S_FREE && call->state != S_DONE);
    call->outcome = zr_kvclient_classify (call->tries, call->n_tries);    /* Invariant (4) */
    call->state = S_DONE;
    zr_assert (self->done_count < self->config.window);
    uint32_t tail = (self->done_head + self->done_count) % self->config.window;
    self->done [tail] = s_slot (self, call);
    self->done_count++;
}

/* Sends the call's next try to its target: SENT if the request left,
   CONNECT if the target has no connection up (nothing was queued). */
static void
s_try_send (zr_kvclient_t *self, s_call_t *call, int64_t now)
{
    zr_assert (call->state == S_READY);
    if (now >= call->deadline) {
        s_finish (self, call);
        return;
    }
    if (call->n_tries == ZR_KVCLIENT_TRIES_MAX) {
        s_note (call->note, "gave up after %d tries", ZR_KVCLIENT_TRIES_MAX);
        s_finish (self, call);
        return;
    }
    zr_client_request_t request = call->request;       /* Invariant (1) */
    request.request_id = call->serial << S_SERIAL_SHIFT
                         | (uint64_t) s_slot (self, call) << S_SLOT_SHIFT
                         | call->n_tries;                /* Invariant (2) */
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_client_request_encode (&request, &data, &size);
    if (rc != 0) {                      /* ZR_ENOMEM: s_start encoded it once */
        s_note (call->note, "cannot encode the request: %s", zr_strerror (rc));
        s_finish (self, call);
        return;
    }
    zr_link_t *ep = &self->endpoints [call->target];
    int sent = zmq_send (zsock_resolve (ep->dealer), data, size, ZMQ_DONTWAIT);
    int err = errno;
    free (data);
    if (sent >= 0) {
        call->tries [call->n_tries++] = ZR_KVCLIENT_TRY_SENT;
        call->state = S_SENT;
        call->wake_at = s_min64 (now + self->config.try_timeout_ms, call->deadline);
        return;
    }
    /* ZMQ_IMMEDIATE: no connection is up, so the request did not leave.
       A pinned call has nowhere else to go: it waits a try's length. */
    if (err != EAGAIN)
        s_note (call->note, "cannot send to %s: %s", ep->name, zmq_strerror (err));
    else
        s_note (call->note, "could not connect to %s", ep->name);
    int wait = call->pinned >= 0 ? self->config.try_timeout_ms
                                 : self->config.connect_timeout_ms;
    call->state = S_CONNECT;
    call->wake_at = s_min64 (now + wait, call->deadline);
}

/* Takes a free slot for request; returns 0, ZR_EBUSY or ZR_EINVAL. */
static int
s_start (zr_kvclient_t *self, int pinned, const zr_client_request_t *request,
         int timeout_ms, uint64_t token)
{
    zr_assert (self && request);
    if (self->pending == self->config.window)
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
    uint32_t slot = 0;
    while (self->calls [slot].state != S_FREE)
        slot++;
    zr_assert (slot < self->config.window);    /* Invariant (5) */
    s_call_t *call = &self->calls [slot];
    memset (call, 0, sizeof *call);
    call->request = *request;
    size_t total = request->key.size + request->value.size + request->old.size;
    call->data = (uint8_t *) malloc (total ? total : 1);
    zr_assert (call->data);
    uint8_t *at = call->data;
    zr_client_bytes_t *fields [3] = {&call->request.key, &call->request.value,
                                     &call->request.old};
    for (int i = 0; i < 3; i++) {
        if (fields [i]->size)
            memcpy (at, fields [i]->data, fields [i]->size);
        fields [i]->data = at;
        at += fields [i]->size;
    }
    if (s_is_write (request->type) && request->client_id == 0) {
        if (self->session_id [slot] == 0)
            self->session_id [slot] = zr_link_random_id ();
        call->request.client_id = self->session_id [slot];
        call->request.seq = ++self->session_seq [slot];
    }
    call->token = token;
    call->serial = ++self->serial;
    call->pinned = pinned;
    call->target = pinned >= 0 ? pinned
                   : self->leader >= 0 && s_needs_leader (request) ? self->leader
                                                                   : 0;
    call->code = -1;
    call->replier = -1;
    int64_t now = zclock_mono ();
    call->deadline = now + (timeout_ms > 0 ? timeout_ms : self->config.timeout_ms);
    call->backoff_ms = self->config.backoff_ms_min;
    call->state = S_READY;
    self->pending++;
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

/* Acts on a reply for a call's try (see client.h for the rules). A
   reply to an earlier try only settles that try, unless it ends the
   call (OK, or a verdict on the request itself). */
static void
s_call_reply (zr_kvclient_t *self, s_call_t *call, uint32_t try_index,
              int from, int64_t now)
{
    const zr_client_reply_t *reply = &call->reply;
    bool current = call->state == S_SENT && try_index + 1 == call->n_tries;
    zr_kvclient_try_t state;
    zr_kvclient_step_t step = zr_kvclient_on_reply ((int) reply->code,
                                                    call->pinned >= 0, &state);
    call->tries [try_index] = (uint8_t) state;  /* Invariant (3) */
    if (reply->code == ZR_CLIENT_OK) {
        if (s_needs_leader (&call->request))
            self->leader = from;
        if (reply->type == ZR_CLIENT_STATUS)
            s_learn_leader (self, from, reply);
        s_finish (self, call);
        return;
    }
    s_note (call->note, "%s: %s: %.*s", s_name (self, from),
            zr_client_code_name ((int) reply->code),
            (int) (reply->message.size < 300 ? reply->message.size : 300),
            reply->message.size ? (const char *) reply->message.data : "");
    if (state == ZR_KVCLIENT_TRY_MAYBE && !call->doubt [0])
        memcpy (call->doubt, call->note, sizeof call->doubt);
    if (step == ZR_KVCLIENT_FINISH) {
        s_finish (self, call);
        return;
    }
    if (!current)
        return;                         /* stale advice; the current try goes on */
    if (step == ZR_KVCLIENT_BACKOFF) {
        s_backoff (self, call, now);
        return;
    }
    s_forget_leader (self, from);
    int hint = step == ZR_KVCLIENT_REDIRECT ? s_hint (self, from, reply) : -1;
    if (hint >= 0)
        self->leader = hint;
    s_move (self, call, hint >= 0 ? hint : s_next (self, call), now);
}

/* One frame from endpoint `from`: finds the try it answers (Invariant
   (2)) and hands it over, or drops it. Takes the frame. */
static void
s_handle_reply (zr_kvclient_t *self, int from, zframe_t **frame_p, int64_t now)
{
    zframe_t *frame = *frame_p;
    *frame_p = NULL;
    zr_client_reply_t reply;
    if (zr_client_reply_decode (zframe_data (frame), zframe_size (frame), &reply) != 0) {
        self->replies_dropped++;
        zframe_destroy (&frame);
        return;
    }
    uint64_t serial = reply.request_id >> S_SERIAL_SHIFT;
    uint32_t slot = (uint32_t) (reply.request_id >> S_SLOT_SHIFT) & 0xfff;
    uint32_t try_index = (uint32_t) reply.request_id & 0xff;
    s_call_t *call = slot < self->config.window ? &self->calls [slot] : NULL;
    if (!call || call->serial != serial || call->state == S_FREE
        || call->state == S_DONE || try_index >= call->n_tries
        || reply.type != call->request.type) {
        self->replies_dropped++;        /* late, or not ours */
        zframe_destroy (&frame);
        return;
    }
    zframe_destroy (&call->frame);
    call->frame = frame;
    call->reply = reply;
    call->code = (int) reply.code;
    call->replier = from;
    s_call_reply (self, call, try_index, from, now);
}

/* The try waiting on call's target will get no reply we can count on:
   it stays in doubt (Invariant (3)) and the call moves on. */
static void
s_try_lost (zr_kvclient_t *self, s_call_t *call, const char *why, int64_t now)
{
    zr_assert (call->state == S_SENT);
    s_note (call->note, "%s %s after the request was sent", s_name (self, call->target), why);
    if (!call->doubt [0])
        memcpy (call->doubt, call->note, sizeof call->doubt);
    s_forget_leader (self, call->target);
    if (call->pinned >= 0 || now >= call->deadline)
        s_finish (self, call);
    else
        s_move (self, call, s_next (self, call), now);
}

static void
s_handle_monitor (zr_kvclient_t *self, int endpoint, int64_t now)
{
    if (!zr_link_disconnected (&self->endpoints [endpoint]))
        return;
    s_forget_leader (self, endpoint);
    for (uint32_t i = 0; i < self->config.window; i++) {
        s_call_t *call = &self->calls [i];
        if (call->state == S_SENT && call->target == endpoint)
            s_try_lost (self, call, "dropped the connection", now);
    }
}

/* Timers of every call in flight, then sends what is ready. */
static void
s_advance (zr_kvclient_t *self, int64_t now)
{
    for (uint32_t i = 0; i < self->config.window; i++) {
        s_call_t *call = &self->calls [i];
        if (call->state == S_SENT && now >= call->wake_at)
            s_try_lost (self, call, "sent no reply in time", now);
        else if (call->state == S_WAIT && now >= call->wake_at)
            call->state = S_READY;
        else if (call->state == S_CONNECT && now >= call->wake_at) {
            if (call->pinned >= 0 || now >= call->deadline)
                s_finish (self, call);
            else
                s_move (self, call, s_next (self, call), now);
        }
        if (call->state == S_READY)
            s_try_send (self, call, now);
    }
}

/* Ends every call in flight with what it has: SIGINT or SIGTERM. */
static void
s_interrupt (zr_kvclient_t *self)
{
    for (uint32_t i = 0; i < self->config.window; i++) {
        s_call_t *call = &self->calls [i];
        if (call->state != S_FREE && call->state != S_DONE) {
            s_note (call->note, "interrupted");
            s_finish (self, call);
        }
    }
}

/* Waits up to timeout_ms for replies, connections and disconnections,
   and handles what arrived. */
static void
s_poll (zr_kvclient_t *self, int64_t timeout_ms)
{
    zmq_pollitem_t items [2 * ZR_KVCLIENT_ENDPOINTS_MAX];
    size_t n = self->n_endpoints;
    for (size_t e = 0; e < n; e++) {
        short events = ZMQ_POLLIN;
        for (uint32_t i = 0; i < self->config.window; i++)
            if (self->calls [i].state == S_CONNECT && self->calls [i].target == (int) e)
                events |= ZMQ_POLLOUT;
        items [2 * e] = (zmq_pollitem_t) {zsock_resolve (self->endpoints [e].dealer), 0, events, 0};
        items [2 * e + 1] = (zmq_pollitem_t) {zsock_resolve (self->endpoints [e].monitor), 0, ZMQ_POLLIN, 0};
    }
    if (zmq_poll (items, (int) (2 * n), (long) timeout_ms) <= 0)
        return;                         /* nothing, or EINTR */
    int64_t now = zclock_mono ();
    for (size_t e = 0; e < n; e++) {
        zr_link_t *ep = &self->endpoints [e];
        if (items [2 * e].revents & ZMQ_POLLIN) {
            zframe_t *frame;
            while ((frame = zr_link_recv (ep, &self->replies_dropped)))
                s_handle_reply (self, (int) e, &frame, now);
        }
        if (items [2 * e].revents & ZMQ_POLLOUT)
            for (uint32_t i = 0; i < self->config.window; i++)
                if (self->calls [i].state == S_CONNECT && self->calls [i].target == (int) e)
                    self->calls [i].state = S_READY;
        if (items [2 * e + 1].revents & ZMQ_POLLIN)
            s_handle_monitor (self, (int) e, now);
    }
}

/* The earliest timer of the calls in flight. */
static int64_t
s_next_wake (zr_kvclient_t *self)
{
    int64_t wake = INT64_MAX;
    for (uint32_t i = 0; i < self->config.window; i++) {
        const s_call_t *call = &self->calls [i];
        if (call->state == S_SENT || call->state == S_WAIT || call->state == S_CONNECT)
            wake = s_min64 (wake, s_min64 (call->wake_at, call->deadline));
    }
    return wake;
}

/* ----------------------------------------------------------------------
   Results
   ---------------------------------------------------------------------- */

/* Moves the oldest DONE call into *result and frees its slot. */
static void
s_result_take (zr_kvclient_t *self, zr_kvclient_result_t *result)
{
    zr_assert (self->done_count > 0);
    uint32_t slot = self->done [self->done_head];
    self->done_head = (self->done_head + 1) % self->config.window;
    self->done_count--;
    s_call_t *call = &self->calls [slot];
    zr_assert (call->state == S_DONE);
    memset (result, 0, sizeof *result);
    result->token = call->token;
    result->outcome = call->outcome;
    result->code = call->code;
    result->frame = call->frame;
    call->frame = NULL;
    if (result->frame)
        result->reply = call->reply;
    if (call->replier >= 0)
        snprintf (result->endpoint, sizeof result->endpoint, "%s",
                  s_name (self, call->replier));
    result->tries = call->n_tries;
    if (s_is_write (call->request.type)) {
        result->client_id = call->request.client_id;
        result->seq = call->request.seq;
    }
    if (result->outcome == ZR_KVCLIENT_UNKNOWN)
        snprintf (result->error, sizeof result->error,
                  "outcome unknown, it may have taken effect: %.400s",
                  call->doubt [0] ? call->doubt : call->note);
    else if (result->outcome == ZR_KVCLIENT_FAILED)
        snprintf (result->error, sizeof result->error, "%s",
                  call->note [0] ? call->note : "timed out before any server answered");
    free (call->data);
    memset (call, 0, sizeof *call);     /* S_FREE */
    zr_assert (self->pending > 0);
    self->pending--;                    /* Invariant (5) */
}

int
zr_kvclient_recv (zr_kvclient_t *self, zr_kvclient_result_t *result, int timeout_ms)
{
    zr_assert (self && result);
    if (self->pending == 0)
        return ZR_EINVAL;
    int64_t end = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    bool polled = false;                /* even with timeout 0, read once */
    while (true) {
        int64_t now = zclock_mono ();
        if (self->done_count == 0)
            s_advance (self, now);
        if (self->done_count == 0 && zsys_interrupted)
            s_interrupt (self);
        if (self->done_count > 0) {
            s_result_take (self, result);
            return 0;
        }
        if (now >= end && polled)
            return ZR_EBUSY;
        int64_t wait = s_min64 (s_next_wake (self), end) - now;
        s_poll (self, wait < 0 ? 0 : wait);
        polled = true;
    }
}

int
zr_kvclient_call (zr_kvclient_t *self, const zr_client_request_t *request,
                  zr_kvclient_result_t *result)
{
    zr_assert (self && request && result);
    zr_assert (self->pending == 0);
    int rc = zr_kvclient_send (self, request, 0);
    return rc ? rc : zr_kvclient_recv (self, result, -1);
}

int
zr_kvclient_call_at (zr_kvclient_t *self, const char *endpoint,
                     const zr_client_request_t *request, int timeout_ms,
                     zr_kvclient_result_t *result)
{
    zr_assert (self && request && result);
    zr_assert (self->pending == 0);
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
    return self->pending;
}

const char *
zr_kvclient_leader (zr_kvclient_t *self)
{
    zr_assert (self);
    return self->leader >= 0 ? s_name (self, self->leader) : NULL;
}
