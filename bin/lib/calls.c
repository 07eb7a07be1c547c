/*  =========================================================================
    calls - the calls in flight of a client (see calls.h)
    =========================================================================
*/
#include "calls.h"
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "../../raft/raft.h"

#define S_SLOT_SHIFT 8
#define S_SERIAL_SHIFT 20

struct _zr_calls_t {
    zr_kvclient_config_t config;        /* a copy */
    size_t item_size;                   /* bytes per slot */
    uint8_t *items;                     /* [window] items, zr_call_t first */
    uint32_t *done;                     /* [window] ring of DONE slots */
    uint32_t done_head, done_count;     /* Invariant (4) */
    uint32_t pending;                   /* Invariant (4) */
    uint64_t serial;                    /* the last call's */
};

static int64_t
s_min64 (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

void
zr_calls_note (char *note, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (note, ZR_CALLS_ERROR_MAX, format, args);
    va_end (args);
}

zr_calls_t *
zr_calls_new (const zr_kvclient_config_t *config, size_t item_size)
{
    zr_assert (config && item_size >= sizeof (zr_call_t));
    zr_assert (config->window >= 1 && config->window <= ZR_CALLS_WINDOW_MAX);
    zr_assert (config->try_timeout_ms >= 1 && config->connect_timeout_ms >= 1);
    zr_assert (config->backoff_ms_min >= 1
               && config->backoff_ms_max >= config->backoff_ms_min);
    zr_calls_t *self = (zr_calls_t *) calloc (1, sizeof *self);
    zr_assert (self);
    self->config = *config;
    self->item_size = item_size;
    self->items = (uint8_t *) calloc (config->window, item_size);
    self->done = (uint32_t *) calloc (config->window, sizeof (uint32_t));
    zr_assert (self->items && self->done);
    return self;
}

void
zr_calls_destroy (zr_calls_t **self_p)
{
    zr_assert (self_p);
    zr_calls_t *self = *self_p;
    if (!self)
        return;
    free (self->items);
    free (self->done);
    free (self);
    *self_p = NULL;
}

void *
zr_calls_item (zr_calls_t *self, uint32_t slot)
{
    zr_assert (self && slot < self->config.window);
    return self->items + (size_t) slot * self->item_size;
}

uint32_t
zr_calls_slot (zr_calls_t *self, const void *item)
{
    zr_assert (self && item);
    size_t offset = (size_t) ((const uint8_t *) item - self->items);
    zr_assert (offset % self->item_size == 0
               && offset / self->item_size < self->config.window);
    return (uint32_t) (offset / self->item_size);
}

void *
zr_calls_start (zr_calls_t *self, uint64_t token, int target, int pinned,
                int timeout_ms, int64_t now)
{
    zr_assert (self && target >= 0 && timeout_ms >= 1);
    if (self->pending == self->config.window)
        return NULL;
    uint32_t slot = 0;
    while (((zr_call_t *) zr_calls_item (self, slot))->state != ZR_CALL_FREE)
        slot++;                         /* Invariant (4): one is free */
    void *item = zr_calls_item (self, slot);
    memset (item, 0, self->item_size);
    zr_call_t *call = (zr_call_t *) item;
    call->token = token;
    call->serial = ++self->serial;
    call->pinned = pinned;
    call->target = target;
    call->replier = -1;
    call->deadline = now + timeout_ms;
    call->backoff_ms = self->config.backoff_ms_min;
    call->state = ZR_CALL_READY;
    self->pending++;
    return item;
}

uint64_t
zr_calls_try_id (zr_calls_t *self, const zr_call_t *call)
{
    zr_assert (self && call && call->serial >= 1);
    return call->serial << S_SERIAL_SHIFT
           | (uint64_t) zr_calls_slot (self, call) << S_SLOT_SHIFT
           | call->n_tries;             /* Invariant (1) */
}

void *
zr_calls_find (zr_calls_t *self, uint64_t id, uint32_t *try_index)
{
    zr_assert (self && try_index);
    uint64_t serial = id >> S_SERIAL_SHIFT;
    uint32_t slot = (uint32_t) (id >> S_SLOT_SHIFT) & 0xfff;
    *try_index = (uint32_t) id & 0xff;
    if (slot >= self->config.window)
        return NULL;
    zr_call_t *call = (zr_call_t *) zr_calls_item (self, slot);
    if (call->serial != serial || call->state == ZR_CALL_FREE
        || call->state == ZR_CALL_DONE || *try_index >= call->n_tries)
        return NULL;
    return call;
}

void
zr_calls_finish (zr_calls_t *self, zr_call_t *call)
{
    zr_assert (call->state != ZR_CALL_FREE && call->state != ZR_CALL_DONE);
    call->outcome = zr_kvclient_classify (call->tries, call->n_tries);
    call->state = ZR_CALL_DONE;         /* Invariant (3) */
    zr_assert (self->done_count < self->config.window);
    uint32_t tail = (self->done_head + self->done_count) % self->config.window;
    self->done [tail] = zr_calls_slot (self, call);
    self->done_count++;
}

static void
s_backoff (zr_calls_t *self, zr_call_t *call, int64_t now)
{
    zr_assert (call->backoff_ms >= 1);
    call->state = ZR_CALL_WAIT;
    call->wake_at = s_min64 (now + call->backoff_ms, call->deadline);
    call->backoff_ms = call->backoff_ms * 2 > self->config.backoff_ms_max
                       ? self->config.backoff_ms_max : call->backoff_ms * 2;
}

void
zr_calls_move (zr_calls_t *self, zr_call_t *call, int target,
               size_t n_endpoints, int64_t now)
{
    zr_assert (call->pinned < 0);
    zr_assert (target >= 0 && (size_t) target < n_endpoints);
    call->target = target;
    call->state = ZR_CALL_READY;
    if (++call->hops >= n_endpoints) {
        call->hops = 0;
        s_backoff (self, call, now);
    }
}

int
zr_calls_next (const zr_call_t *call, size_t n_endpoints)
{
    zr_assert (call && n_endpoints >= 1);
    return (int) (((size_t) call->target + 1) % n_endpoints);
}

bool
zr_calls_may_send (zr_calls_t *self, zr_call_t *call, int64_t now)
{
    zr_assert (call->state == ZR_CALL_READY);
    if (now >= call->deadline) {
        zr_calls_finish (self, call);
        return false;
    }
    if (call->n_tries == ZR_CALLS_TRIES_MAX) {
        char last [ZR_CALLS_ERROR_MAX];
        memcpy (last, call->note, sizeof last);
        zr_calls_note (call->note, "gave up after %d tries%s%.300s%s",
                       ZR_CALLS_TRIES_MAX, *last ? " (the last: " : "", last,
                       *last ? ")" : "");
        zr_calls_finish (self, call);
        return false;
    }
    return true;
}

void
zr_calls_sent (zr_calls_t *self, zr_call_t *call, int64_t now)
{
    zr_assert (call->state == ZR_CALL_READY
               && call->n_tries < ZR_CALLS_TRIES_MAX);
    call->tries [call->n_tries++] = ZR_KVCLIENT_TRY_SENT;
    call->state = ZR_CALL_SENT;
    call->wake_at = s_min64 (now + self->config.try_timeout_ms, call->deadline);
}

/* Notes why call's target has no connection: none could be made, or one
   was accepted whose handshake never completed (a stopped process: the
   kernel still accepts for it). */
static void
s_connect_note (zr_call_t *call, const zr_calls_endpoints_t *eps)
{
    const char *name = eps->names [call->target];
    if (eps->links && eps->links [call->target].accepted)
        zr_calls_note (call->note, "%s accepted a connection but did not answer"
                       " (stopped, or too busy?)", name);
    else
        zr_calls_note (call->note, "could not connect to %s", name);
}

void
zr_calls_unsent (zr_calls_t *self, zr_call_t *call, int err,
                 const zr_calls_endpoints_t *eps, int64_t now)
{
    zr_assert (call->state == ZR_CALL_READY && eps);
    if (err != EAGAIN)
        zr_calls_note (call->note, "cannot send to %s: %s",
                       eps->names [call->target], zmq_strerror (err));
    else
        s_connect_note (call, eps);
    /* ZMQ_IMMEDIATE: no connection is up, so the request did not leave.
       A pinned call has nowhere else to go: it waits a try's length. */
    int wait = call->pinned >= 0 ? self->config.try_timeout_ms
                                 : self->config.connect_timeout_ms;
    call->state = ZR_CALL_CONNECT;
    call->wake_at = s_min64 (now + wait, call->deadline);
}

zr_kvclient_step_t
zr_calls_answer (zr_calls_t *self, zr_call_t *call, uint32_t try_index,
                 int code, int from, const char *note, int64_t now)
{
    zr_assert (try_index < call->n_tries && note);
    bool current = call->state == ZR_CALL_SENT
                   && try_index + 1 == call->n_tries;
    zr_kvclient_try_t state;
    zr_kvclient_step_t step = zr_kvclient_on_reply (code, call->pinned >= 0,
                                                    &state);
    call->tries [try_index] = (uint8_t) state;     /* Invariant (2) */
    call->replier = from;
    if (code != ZR_CLIENT_OK) {
        zr_calls_note (call->note, "%s", note);
        if (state == ZR_KVCLIENT_TRY_MAYBE && !call->doubt [0])
            memcpy (call->doubt, call->note, sizeof call->doubt);
    }
    if (step == ZR_KVCLIENT_FINISH) {
        zr_calls_finish (self, call);
        return ZR_KVCLIENT_FINISH;
    }
    if (!current)
        return ZR_KVCLIENT_BACKOFF;     /* stale advice: the try goes on */
    if (step == ZR_KVCLIENT_BACKOFF) {
        s_backoff (self, call, now);
        return ZR_KVCLIENT_BACKOFF;
    }
    return step;                        /* REDIRECT, NEXT: the caller moves */
}

static void
s_forget (const zr_calls_endpoints_t *eps, int endpoint)
{
    if (eps->leader && *eps->leader == endpoint)
        *eps->leader = -1;
}

void
zr_calls_lost (zr_calls_t *self, zr_call_t *call, const char *why,
               const zr_calls_endpoints_t *eps, int64_t now)
{
    zr_assert (call->state == ZR_CALL_SENT && why && eps);
    zr_calls_note (call->note, "%s %s after the request was sent",
                   eps->names [call->target], why);
    if (!call->doubt [0])
        memcpy (call->doubt, call->note, sizeof call->doubt);
    s_forget (eps, call->target);
    if (call->pinned >= 0 || now >= call->deadline)
        zr_calls_finish (self, call);
    else
        zr_calls_move (self, call, zr_calls_next (call, eps->n), eps->n, now);
}

void
zr_calls_advance (zr_calls_t *self, const zr_calls_endpoints_t *eps,
                  int64_t now, void (*send) (void *arg, void *item, int64_t now),
                  void *arg)
{
    zr_assert (self && eps && send);
    for (uint32_t i = 0; i < self->config.window; i++) {
        zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state == ZR_CALL_SENT && now >= call->wake_at)
            zr_calls_lost (self, call, "sent no reply in time", eps, now);
        else
        if (call->state == ZR_CALL_WAIT && now >= call->wake_at)
            call->state = ZR_CALL_READY;
        else
        if (call->state == ZR_CALL_CONNECT && now >= call->wake_at) {
            s_connect_note (call, eps);     /* what is known now */
            if (call->pinned >= 0 || now >= call->deadline)
                zr_calls_finish (self, call);
            else
                zr_calls_move (self, call, zr_calls_next (call, eps->n),
                               eps->n, now);
        }
        if (call->state == ZR_CALL_READY)
            send (arg, call, now);
    }
}

void
zr_calls_dropped (zr_calls_t *self, int endpoint,
                  const zr_calls_endpoints_t *eps, int64_t now)
{
    zr_assert (self && eps);
    s_forget (eps, endpoint);
    for (uint32_t i = 0; i < self->config.window; i++) {
        zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state == ZR_CALL_SENT && call->target == endpoint)
            zr_calls_lost (self, call, "dropped the connection", eps, now);
    }
}

void
zr_calls_refused (zr_calls_t *self, int endpoint, const char *note,
                  const zr_calls_endpoints_t *eps, int64_t now)
{
    zr_assert (self && note && eps);
    s_forget (eps, endpoint);
    /* UNAVAILABLE: not done, try another (finishes a pinned call);
       MALFORMED: not done, finish. */
    int code = eps->n > 1 ? ZR_CLIENT_UNAVAILABLE : ZR_CLIENT_MALFORMED;
    for (uint32_t i = 0; i < self->config.window; i++) {
        zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state != ZR_CALL_SENT || call->target != endpoint)
            continue;
        zr_kvclient_step_t step = zr_calls_answer (self, call, call->n_tries - 1,
                                                   code, endpoint, note, now);
        if (step == ZR_KVCLIENT_FINISH)
            call->refused = true;
        else
        if (step == ZR_KVCLIENT_NEXT)
            zr_calls_move (self, call, zr_calls_next (call, eps->n), eps->n, now);
    }
}

void
zr_calls_connected (zr_calls_t *self, int endpoint)
{
    zr_assert (self);
    for (uint32_t i = 0; i < self->config.window; i++) {
        zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state == ZR_CALL_CONNECT && call->target == endpoint)
            call->state = ZR_CALL_READY;
    }
}

bool
zr_calls_waiting_for (zr_calls_t *self, int endpoint)
{
    zr_assert (self);
    for (uint32_t i = 0; i < self->config.window; i++) {
        const zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state == ZR_CALL_CONNECT && call->target == endpoint)
            return true;
    }
    return false;
}

void
zr_calls_interrupt (zr_calls_t *self)
{
    zr_assert (self);
    for (uint32_t i = 0; i < self->config.window; i++) {
        zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state != ZR_CALL_FREE && call->state != ZR_CALL_DONE) {
            zr_calls_note (call->note, "interrupted");
            zr_calls_finish (self, call);
        }
    }
}

int64_t
zr_calls_next_wake (zr_calls_t *self)
{
    zr_assert (self);
    int64_t wake = INT64_MAX;
    for (uint32_t i = 0; i < self->config.window; i++) {
        const zr_call_t *call = (zr_call_t *) zr_calls_item (self, i);
        if (call->state == ZR_CALL_SENT || call->state == ZR_CALL_WAIT
            || call->state == ZR_CALL_CONNECT)
            wake = s_min64 (wake, s_min64 (call->wake_at, call->deadline));
    }
    return wake;
}

void *
zr_calls_done (zr_calls_t *self)
{
    zr_assert (self);
    if (self->done_count == 0)
        return NULL;
    uint32_t slot = self->done [self->done_head];
    self->done_head = (self->done_head + 1) % self->config.window;
    self->done_count--;
    zr_call_t *call = (zr_call_t *) zr_calls_item (self, slot);
    zr_assert (call->state == ZR_CALL_DONE);
    return call;
}

void
zr_calls_release (zr_calls_t *self, void *item)
{
    zr_assert (self && item);
    zr_call_t *call = (zr_call_t *) item;
    zr_assert (call->state == ZR_CALL_DONE);
    memset (item, 0, self->item_size); /* FREE */
    zr_assert (self->pending > 0);
    self->pending--;                    /* Invariant (4) */
}

void
zr_calls_error (const zr_call_t *call, char *error)
{
    zr_assert (call && error);
    error [0] = 0;
    if (call->outcome == ZR_KVCLIENT_UNKNOWN)
        snprintf (error, ZR_CALLS_ERROR_MAX, "outcome unknown, it may have"
                  " taken effect: %.400s", call->doubt [0] ? call->doubt
                                                           : call->note);
    else
    if (call->outcome == ZR_KVCLIENT_FAILED)
        snprintf (error, ZR_CALLS_ERROR_MAX, "%s", call->note [0]
                  ? call->note : "timed out before any server answered");
}

uint32_t
zr_calls_pending (zr_calls_t *self)
{
    zr_assert (self);
    return self->pending;
}
