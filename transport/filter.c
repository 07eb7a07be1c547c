/*  =========================================================================
    filter - the fault-injecting filter on one server's incoming links
    (see filter.h)
    =========================================================================
*/
#include "transport.h"

typedef struct {
    uint64_t due_ms;                    /* release time */
    uint64_t seq;                       /* tie-break: arrival order (2) */
    zr_message_t *msg;                  /* owned */
} s_held_t;

struct _zr_filter_t {
    zr_rng_t rng;                       /* every random choice */
    zr_link_fault_t links [ZR_NODES_MAX + 1];   /* by sending peer */
    bool active;                        /* some link has a fault */
    s_held_t *heap;                     /* min-heap on (due_ms, seq) (2) */
    uint32_t held;                      /* messages in heap, <= HELD_MAX (3) */
    uint32_t capacity;                  /* heap slots allocated */
    uint64_t seq;                       /* messages held so far */
    zr_filter_stats_t stats;            /* counters */
};

zr_filter_t *
zr_filter_new (uint64_t seed)
{
    zr_filter_t *self = (zr_filter_t *) calloc (1, sizeof (zr_filter_t));
    if (!self)
        return NULL;
    zr_rng_seed (&self->rng, seed);
    return self;
}

void
zr_filter_destroy (zr_filter_t **self_p)
{
    zr_assert (self_p);
    zr_filter_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; i < self->held; i++)
        zr_message_destroy (&self->heap [i].msg);
    free (self->heap);
    free (self);
    *self_p = NULL;
}

int
zr_filter_set (zr_filter_t *self, zr_id_t peer, const zr_link_fault_t *fault)
{
    zr_assert (self && fault);
    if (peer < 1 || peer > ZR_NODES_MAX || fault->drop_ppm > ZR_FILTER_PPM
        || fault->dup_ppm > ZR_FILTER_PPM
        || (uint64_t) fault->delay_ms + fault->jitter_ms > ZR_FILTER_DELAY_MAX_MS)
        return ZR_EINVAL;
    self->links [peer] = *fault;
    self->active = false;
    for (zr_id_t id = 1; id <= ZR_NODES_MAX; id++) {
        const zr_link_fault_t *f = &self->links [id];
        if (f->cut || f->drop_ppm || f->dup_ppm || f->delay_ms || f->jitter_ms)
            self->active = true;
    }
    return 0;
}

bool
zr_filter_active (const zr_filter_t *self)
{
    zr_assert (self);
    return self->active;
}

static bool
s_before (const s_held_t *a, const s_held_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

/* Holds msg until due_ms; drops it if the filter is full (3). */
static void
s_hold (zr_filter_t *self, zr_message_t *msg, uint64_t due_ms)
{
    if (self->held == ZR_FILTER_HELD_MAX) {
        self->stats.dropped++;
        zr_message_destroy (&msg);
        return;
    }
    if (self->held == self->capacity) {
        uint32_t capacity = self->capacity ? self->capacity * 2 : 256;
        s_held_t *grown = (s_held_t *) realloc (self->heap, capacity * sizeof (s_held_t));
        if (!grown) {
            self->stats.dropped++;
            zr_message_destroy (&msg);
            return;
        }
        self->heap = grown;
        self->capacity = capacity;
    }
    s_held_t item = {due_ms, self->seq++, msg};
    uint32_t i = self->held++;
    while (i > 0 && s_before (&item, &self->heap [(i - 1) / 2])) {
        self->heap [i] = self->heap [(i - 1) / 2];
        i = (i - 1) / 2;
    }
    self->heap [i] = item;
    self->stats.delayed++;
}

/* Passes one copy: at once (returned) or held (NULL). */
static zr_message_t *
s_route (zr_filter_t *self, const zr_link_fault_t *f, zr_message_t *msg,
         uint64_t now_ms)
{
    if (f->delay_ms == 0 && f->jitter_ms == 0)
        return msg;
    uint64_t delay = f->delay_ms + (f->jitter_ms ? zr_rng_range (&self->rng, 0, f->jitter_ms) : 0);
    s_hold (self, msg, now_ms + delay);
    return NULL;
}

zr_message_t *
zr_filter_pass (zr_filter_t *self, zr_message_t *msg, uint64_t now_ms,
                zr_message_t **dup_p)
{
    zr_assert (self && msg && dup_p);
    zr_assert (msg->from >= 1 && msg->from <= ZR_NODES_MAX);
    *dup_p = NULL;
    const zr_link_fault_t *f = &self->links [msg->from];
    if (f->cut || (f->drop_ppm && zr_rng_range (&self->rng, 0, ZR_FILTER_PPM) < f->drop_ppm)) {
        self->stats.dropped++;
        zr_message_destroy (&msg);
        return NULL;
    }
    if (f->dup_ppm && zr_rng_range (&self->rng, 0, ZR_FILTER_PPM) < f->dup_ppm) {
        zr_message_t *copy = zr_message_dup (msg);
        if (copy) {
            self->stats.duplicated++;
            *dup_p = s_route (self, f, copy, now_ms);
        }
    }
    return s_route (self, f, msg, now_ms);
}

zr_message_t *
zr_filter_due (zr_filter_t *self, uint64_t now_ms)
{
    zr_assert (self);
    if (self->held == 0 || self->heap [0].due_ms > now_ms)
        return NULL;
    zr_message_t *msg = self->heap [0].msg;
    s_held_t last = self->heap [--self->held];
    uint32_t i = 0;
    while (true) {
        uint32_t child = 2 * i + 1;
        if (child >= self->held)
            break;
        if (child + 1 < self->held && s_before (&self->heap [child + 1], &self->heap [child]))
            child++;
        if (!s_before (&self->heap [child], &last))
            break;
        self->heap [i] = self->heap [child];
        i = child;
    }
    if (self->held > 0)
        self->heap [i] = last;
    return msg;
}

uint64_t
zr_filter_next_ms (const zr_filter_t *self)
{
    zr_assert (self);
    return self->held ? self->heap [0].due_ms : UINT64_MAX;
}

void
zr_filter_stats (const zr_filter_t *self, zr_filter_stats_t *stats)
{
    zr_assert (self && stats);
    *stats = self->stats;
}
