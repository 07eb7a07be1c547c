/*  =========================================================================
    linearize - a linearizability checker for key/value histories

    The recorder (a mutex over an array of operations), the search
    (Wing & Gong with Lowe's cache, one key at a time), the explanation
    (bisection over prefixes, then over windows), and the JSON-lines dump
    and loader. See linearize.h for the model and the design notes, whose
    numbers the comments below cite.
    =========================================================================
*/
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "history.h"
#include "linearize.h"

#define S_ABSENT 0u                     /* register state: no value */
#define S_ANY UINT32_MAX                /* register state: any value (a window) */
#define S_NEVER INT64_MAX               /* completion of an unknown operation */
#define S_BEFORE INT64_MIN              /* a window start before everything */
#define S_NIL UINT32_MAX                /* end of the entry list */
#define S_REPORT_OPS_MAX 60             /* operations listed per window */
#define S_REPORT_TEXT_MAX 40            /* bytes of a key or value shown */
#define S_LINE_MAX (6 * 3 * LINEARIZE_TEXT_MAX + 1024)  /* a dump line */

/* Misuse of the recorder by a test: no recovery makes sense. */
#define S_REQUIRE(cond, what) HISTORY_REQUIRE ("linearize", cond, what)

/* One recorded operation (the recorder's copy of a lin_op_t). */
typedef struct {
    uint64_t id;                        /* shown in reports */
    lin_type_t type;
    lin_outcome_t outcome;
    uint32_t client;                    /* for reports */
    int64_t invoke_us;                  /* when it was invoked */
    int64_t complete_us;                /* when it completed (ok, failed) or
                                           was given up (unknown); 0 pending */
    char *key;                          /* owned */
    char *value;                        /* owned: PUT; CAS new; ok GET read
                                           (NULL: not found) */
    char *old;                          /* owned: CAS expected */
    bool swapped;                       /* ok CAS */
} s_rec_t;

struct _linearize_t {
    pthread_mutex_t mutex;              /* guards every field below */
    s_rec_t *recs;                      /* the history, in recording order */
    size_t size;                        /* recs used, <= LINEARIZE_OPS_MAX */
    size_t capacity;                    /* recs allocated */
    int64_t last_us;                    /* the latest stamp given: stamps
                                           strictly increase */
    uint64_t budget;                    /* states per search, > 0 */
    uint64_t states;                    /* states the last check added */
};

/* An operation as one search sees it: values as small ids. */
typedef struct {
    const s_rec_t *rec;                 /* the operation it comes from */
    lin_type_t type;
    bool known;                         /* its result is known: it must be
                                           linearized, before ret */
    bool cut;                           /* known in the history but unknown
                                           here (a prefix or window cut it) */
    uint32_t value;                     /* PUT; CAS new; GET read (S_ABSENT:
                                           not found) */
    uint32_t old;                       /* CAS expected, never S_ABSENT */
    bool swapped;                       /* known CAS */
    int64_t call;                       /* invocation */
    int64_t ret;                        /* completion; S_NEVER if !known */
} s_call_t;

/* An invocation or completion in the search's list (Lowe's "entries"). */
typedef struct {
    int64_t time;
    uint32_t op;                        /* index of the s_call_t */
    bool is_ret;                        /* a completion */
    uint32_t match;                     /* the other entry of the same op */
    uint32_t prev, next;                /* list links; S_NIL ends it */
} s_entry_t;

/* A cache key: which known operations are linearized, and the register. */
typedef struct {
    uint32_t state;
    uint32_t words;                     /* length of bits */
    uint64_t bits [];
} s_memo_t;

/* What one linearize_check works with. */
typedef struct {
    linearize_t *self;
    zhashx_t *values;                   /* value text -> id (1, 2, ...) */
    uint32_t values_next;               /* the next id to give */
    uint64_t states;                    /* states added, every search */
    bool budget_hit;                    /* some explanation search hit it */
    int64_t origin;                     /* earliest invocation, for reports */
    FILE *out;                          /* the report (open_memstream) */
} s_check_t;

//  --------------------------------------------------------------------------
//  Recorder

static int64_t
s_now_us (void)
{
    struct timespec ts;
    int rc = clock_gettime (CLOCK_MONOTONIC, &ts);
    S_REQUIRE (rc == 0, "clock_gettime failed");
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A stamp later than every earlier one. Called with the mutex held. */
static int64_t
s_stamp (linearize_t *self)
{
    int64_t now = s_now_us ();
    if (now <= self->last_us)
        now = self->last_us + 1;
    self->last_us = now;
    return now;
}

linearize_t *
linearize_new (void)
{
    linearize_t *self = (linearize_t *) calloc (1, sizeof *self);
    S_REQUIRE (self, "out of memory");
    int rc = pthread_mutex_init (&self->mutex, NULL);
    S_REQUIRE (rc == 0, "pthread_mutex_init failed");
    self->budget = LINEARIZE_BUDGET_DEFAULT;
    return self;
}

void
linearize_destroy (linearize_t **self_p)
{
    S_REQUIRE (self_p, "NULL self_p");
    linearize_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++) {
        free (self->recs [i].key);
        free (self->recs [i].value);
        free (self->recs [i].old);
    }
    free (self->recs);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

void
linearize_set_budget (linearize_t *self, uint64_t states)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (states > 0, "budget must be positive");
    pthread_mutex_lock (&self->mutex);
    self->budget = states;
    pthread_mutex_unlock (&self->mutex);
}

/* Appends a record (strings copied). Called with the mutex held. */
static uint64_t
s_append (linearize_t *self, const lin_op_t *op)
{
    S_REQUIRE (self->size < LINEARIZE_OPS_MAX, "history full");
    if (self->size == self->capacity) {
        size_t capacity = self->capacity ? 2 * self->capacity : 256;
        s_rec_t *recs = (s_rec_t *) realloc (self->recs, capacity * sizeof *recs);
        S_REQUIRE (recs, "out of memory");
        self->recs = recs;
        self->capacity = capacity;
    }
    s_rec_t *rec = &self->recs [self->size];
    *rec = (s_rec_t) {.id = op->id, .type = op->type, .outcome = op->outcome,
                      .client = op->client, .invoke_us = op->invoke_us,
                      .complete_us = op->complete_us, .swapped = op->swapped};
    rec->key = history_strdup (op->key);
    rec->value = history_strdup (op->value);
    rec->old = history_strdup (op->old);
    return (uint64_t) self->size++;
}

static bool
s_text_ok (const char *text)
{
    return text && strnlen (text, LINEARIZE_TEXT_MAX + 1) <= LINEARIZE_TEXT_MAX;
}

static uint64_t
s_invoke (linearize_t *self, uint32_t client, lin_type_t type,
          const char *key, const char *value, const char *old)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (s_text_ok (key), "key missing or too long");
    S_REQUIRE (!value || s_text_ok (value), "value too long");
    S_REQUIRE (!old || s_text_ok (old), "old value too long");
    pthread_mutex_lock (&self->mutex);
    lin_op_t op = {.id = self->size, .type = type, .outcome = LIN_PENDING,
                   .client = client, .invoke_us = s_stamp (self),
                   .key = key, .value = value, .old = old};
    uint64_t id = s_append (self, &op);
    pthread_mutex_unlock (&self->mutex);
    return id;
}

uint64_t
linearize_put (linearize_t *self, uint32_t client, const char *key,
               const char *value)
{
    S_REQUIRE (value, "put without a value");
    return s_invoke (self, client, LIN_PUT, key, value, NULL);
}

uint64_t
linearize_get (linearize_t *self, uint32_t client, const char *key)
{
    return s_invoke (self, client, LIN_GET, key, NULL, NULL);
}

uint64_t
linearize_del (linearize_t *self, uint32_t client, const char *key)
{
    return s_invoke (self, client, LIN_DEL, key, NULL, NULL);
}

uint64_t
linearize_cas (linearize_t *self, uint32_t client, const char *key,
               const char *old, const char *new_value)
{
    S_REQUIRE (old && new_value, "cas without old or new value");
    return s_invoke (self, client, LIN_CAS, key, new_value, old);
}

/* Completes operation id with outcome; for an ok get, value is what it
   read (copied). */
static void
s_complete (linearize_t *self, uint64_t id, lin_type_t type,
            lin_outcome_t outcome, const char *value, bool swapped)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (!value || s_text_ok (value), "value read too long");
    pthread_mutex_lock (&self->mutex);
    S_REQUIRE (id < self->size, "no such operation");
    s_rec_t *rec = &self->recs [id];
    S_REQUIRE (rec->outcome == LIN_PENDING, "operation completed twice");
    S_REQUIRE (type == 0 || rec->type == type, "result of the wrong type");
    rec->outcome = outcome;
    rec->complete_us = s_stamp (self);
    if (rec->type == LIN_GET && outcome == LIN_OK)
        rec->value = history_strdup (value);
    rec->swapped = swapped;
    pthread_mutex_unlock (&self->mutex);
}

void
linearize_ok (linearize_t *self, uint64_t id)
{
    pthread_mutex_lock (&self->mutex);
    S_REQUIRE (id < self->size, "no such operation");
    lin_type_t type = self->recs [id].type;
    pthread_mutex_unlock (&self->mutex);
    S_REQUIRE (type == LIN_PUT || type == LIN_DEL, "linearize_ok on a get or cas");
    s_complete (self, id, type, LIN_OK, NULL, false);
}

void
linearize_ok_get (linearize_t *self, uint64_t id, const char *value)
{
    s_complete (self, id, LIN_GET, LIN_OK, value, false);
}

void
linearize_ok_cas (linearize_t *self, uint64_t id, bool swapped)
{
    s_complete (self, id, LIN_CAS, LIN_OK, NULL, swapped);
}

void
linearize_failed (linearize_t *self, uint64_t id)
{
    s_complete (self, id, 0, LIN_FAILED, NULL, false);
}

void
linearize_unknown (linearize_t *self, uint64_t id)
{
    s_complete (self, id, 0, LIN_UNKNOWN, NULL, false);
}

/* The rules of linearize_add; NULL if op is well formed. */
static const char *
s_op_error (const lin_op_t *op)
{
    if (op->type < LIN_PUT || op->type > LIN_CAS)
        return "type out of range";
    if (op->outcome < LIN_PENDING || op->outcome > LIN_UNKNOWN)
        return "outcome out of range";
    if (!s_text_ok (op->key))
        return "key missing or too long";
    if (op->outcome != LIN_PENDING && op->complete_us < op->invoke_us)
        return "completes before it is invoked";
    bool ok = op->outcome == LIN_OK;
    bool needs_value = op->type == LIN_PUT || op->type == LIN_CAS;
    if (needs_value && !s_text_ok (op->value))
        return "value missing or too long";
    if (op->type == LIN_GET && op->value && (!ok || !s_text_ok (op->value)))
        return "a get's value without an ok outcome, or too long";
    if (op->type == LIN_DEL && op->value)
        return "a del with a value";
    if ((op->type == LIN_CAS) != (op->old != NULL) || (op->old && !s_text_ok (op->old)))
        return "old value missing, misplaced or too long";
    if (op->swapped && !(ok && op->type == LIN_CAS))
        return "swapped on an operation that is not an ok cas";
    return NULL;
}

int
linearize_add (linearize_t *self, const lin_op_t *op, char *errbuf, size_t size)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (op, "NULL op");
    const char *error = s_op_error (op);
    if (error) {
        if (errbuf && size)
            snprintf (errbuf, size, "operation %llu: %s",
                      (unsigned long long) op->id, error);
        return -1;
    }
    pthread_mutex_lock (&self->mutex);
    if (self->size == LINEARIZE_OPS_MAX) {
        pthread_mutex_unlock (&self->mutex);
        if (errbuf && size)
            snprintf (errbuf, size, "more than %u operations", LINEARIZE_OPS_MAX);
        return -1;
    }
    s_append (self, op);
    int64_t latest = op->complete_us > op->invoke_us ? op->complete_us : op->invoke_us;
    if (latest > self->last_us)
        self->last_us = latest;
    pthread_mutex_unlock (&self->mutex);
    return 0;
}

size_t
linearize_size (linearize_t *self)
{
    S_REQUIRE (self, "NULL self");
    pthread_mutex_lock (&self->mutex);
    size_t size = self->size;
    pthread_mutex_unlock (&self->mutex);
    return size;
}

uint64_t
linearize_states (linearize_t *self)
{
    S_REQUIRE (self, "NULL self");
    pthread_mutex_lock (&self->mutex);
    uint64_t states = self->states;
    pthread_mutex_unlock (&self->mutex);
    return states;
}

const char *
linearize_verdict_str (lin_verdict_t verdict)
{
    switch (verdict) {
    case LIN_LINEARIZABLE: return "linearizable";
    case LIN_VIOLATION: return "not linearizable";
    case LIN_BUDGET: return "unknown: budget exceeded";
    }
    return "?";
}

//  --------------------------------------------------------------------------
//  The search: Wing & Gong, with Lowe's cache

/* The register's step: whether c may take effect in state, and the state
   after it. An unknown cas swaps if it finds old (where it takes effect
   is the search's choice); from S_ANY, a read fixes the value. */
static bool
s_step (const s_call_t *c, uint32_t state, uint32_t *next)
{
    switch (c->type) {
    case LIN_PUT:
        *next = c->value;
        return true;
    case LIN_DEL:
        *next = S_ABSENT;
        return true;
    case LIN_GET:                       /* known: unknown gets are dropped */
        *next = c->value;
        return state == S_ANY || state == c->value;
    case LIN_CAS:
        if (!c->known) {
            *next = state == c->old ? c->value : state;
            return true;
        }
        if (c->swapped) {
            *next = c->value;
            return state == S_ANY || state == c->old;
        }
        *next = state;
        return state != c->old;
    }
    S_REQUIRE (false, "operation type out of range");
    return false;
}

/* One round of a 64-bit mix (splitmix64's multiplier and shift). */
static uint64_t
s_mix (uint64_t h, uint64_t word)
{
    h = (h ^ word) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

static size_t
s_memo_hash (const void *key)
{
    const s_memo_t *memo = (const s_memo_t *) key;
    uint64_t h = s_mix (0x9E3779B97F4A7C15ull, memo->state);
    for (uint32_t i = 0; i < memo->words; i++)
        h = s_mix (h, memo->bits [i]);
    h = (h ^ (h >> 29)) * 0x94D049BB133111EBull;
    return (size_t) (h ^ (h >> 32));
}

static int
s_memo_cmp (const void *a, const void *b)
{
    const s_memo_t *x = (const s_memo_t *) a, *y = (const s_memo_t *) b;
    if (x->state != y->state)
        return x->state < y->state ? -1 : 1;
    return memcmp (x->bits, y->bits, x->words * sizeof x->bits [0]);
}

static void
s_free_item (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static int
s_entry_cmp (const void *a, const void *b)
{
    const s_entry_t *x = (const s_entry_t *) a, *y = (const s_entry_t *) b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->is_ret != y->is_ret)         /* equal times overlap: calls first */
        return x->is_ret ? 1 : -1;
    return (x->op > y->op) - (x->op < y->op);
}

/* The sets of unknown operations applied with which a configuration
   (known operations linearized, register state) was reached. */
typedef struct {
    uint32_t count;                     /* sets held */
    uint32_t capacity;                  /* sets room */
    uint64_t sets [];                   /* count sets of uwords words */
} s_variants_t;

/* One search's working set. A configuration is (K, state, U): the known
   operations linearized, the register, the unknown operations applied.
   The cache maps (K, state) to the U it was reached with; (K, state, U)
   is dominated by (K, state, U') when U' is a subset of U: the unknown
   operations in U but not in U' could still be left unapplied from
   there, so every way on from (K, state, U) is open from (K, state, U')
   too (design note 6). */
typedef struct {
    const s_call_t *calls;              /* the operations, n of them */
    size_t n;
    s_entry_t *entries;                 /* 2n sorted, then the head at 2n */
    uint32_t head;                      /* index of the list head */
    uint32_t *slot;                     /* op -> its bit in K or in U */
    uint32_t uwords;                    /* words of a U set */
    s_memo_t *probe;                    /* K and state of the configuration */
    uint64_t *applied;                  /* U of the configuration */
    size_t unknown_left;                /* unknown operations not in U */
    zhashx_t *cache;                    /* s_memo_t -> s_variants_t */
    uint32_t *stack_entry;              /* call entries linearized, in order */
    uint32_t *stack_state;              /* the state before each */
    size_t depth;                       /* stack used */
    uint64_t added;                     /* configurations cached */
} s_search_t;

/* Gives each operation its bit (known ones in K, unknown ones in U) and
   allocates the search's sets. */
static void
s_search_slots (s_search_t *s)
{
    uint32_t known = 0, unknown = 0;
    s->slot = (uint32_t *) calloc (s->n, sizeof (uint32_t));
    S_REQUIRE (s->slot, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        s->slot [i] = s->calls [i].known ? known++ : unknown++;
    size_t kwords = (known + 63) / 64;
    s->uwords = (unknown + 63) / 64;
    s->unknown_left = unknown;
    s->probe = (s_memo_t *) calloc (1, sizeof (s_memo_t) + kwords * sizeof (uint64_t));
    s->applied = (uint64_t *) calloc (s->uwords + 1, sizeof (uint64_t));
    S_REQUIRE (s->probe && s->applied, "out of memory");
    s->probe->words = (uint32_t) kwords;
}

/* Builds the time-ordered list of invocations and completions. */
static void
s_search_init (s_search_t *s, const s_call_t *calls, size_t n)
{
    *s = (s_search_t) {.calls = calls, .n = n, .head = (uint32_t) (2 * n)};
    s->entries = (s_entry_t *) calloc (2 * n + 1, sizeof (s_entry_t));
    s->stack_entry = (uint32_t *) calloc (n, sizeof (uint32_t));
    s->stack_state = (uint32_t *) calloc (n, sizeof (uint32_t));
    s->cache = zhashx_new ();
    S_REQUIRE (s->entries && s->stack_entry && s->stack_state && s->cache,
               "out of memory");
    s_search_slots (s);
    zhashx_set_key_hasher (s->cache, s_memo_hash);
    zhashx_set_key_comparator (s->cache, s_memo_cmp);
    zhashx_set_key_duplicator (s->cache, NULL);
    zhashx_set_key_destructor (s->cache, s_free_item);
    zhashx_set_destructor (s->cache, s_free_item);
    for (uint32_t i = 0; i < n; i++) {
        s->entries [2 * i] = (s_entry_t) {.time = calls [i].call, .op = i};
        s->entries [2 * i + 1] = (s_entry_t) {.time = calls [i].ret, .op = i,
                                              .is_ret = true};
    }
    qsort (s->entries, 2 * n, sizeof (s_entry_t), s_entry_cmp);
    uint32_t *call_at = (uint32_t *) calloc (n, sizeof (uint32_t));
    S_REQUIRE (call_at, "out of memory");
    for (uint32_t k = 0; k < 2 * n; k++) {
        s_entry_t *e = &s->entries [k];
        e->prev = k == 0 ? s->head : k - 1;
        e->next = k + 1 == 2 * n ? S_NIL : k + 1;
        if (!e->is_ret)
            call_at [e->op] = k;
        else {
            e->match = call_at [e->op];
            s->entries [e->match].match = k;
        }
    }
    s->entries [s->head] = (s_entry_t) {.next = 0, .prev = S_NIL, .match = S_NIL};
    free (call_at);
}

static void
s_search_fini (s_search_t *s)
{
    zhashx_destroy (&s->cache);
    free (s->entries);
    free (s->slot);
    free (s->probe);
    free (s->applied);
    free (s->stack_entry);
    free (s->stack_state);
}

static void
s_unlink (s_entry_t *entries, uint32_t k)
{
    s_entry_t *e = &entries [k];
    entries [e->prev].next = e->next;
    if (e->next != S_NIL)
        entries [e->next].prev = e->prev;
}

static void
s_relink (s_entry_t *entries, uint32_t k)
{
    s_entry_t *e = &entries [k];
    entries [e->prev].next = k;
    if (e->next != S_NIL)
        entries [e->next].prev = k;
}

/* Lowe's lift: takes call entry k and its completion out of the list. */
static void
s_lift (s_entry_t *entries, uint32_t k)
{
    S_REQUIRE (!entries [k].is_ret, "lift of a completion");
    s_unlink (entries, k);
    s_unlink (entries, entries [k].match);
}

/* The inverse of s_lift, in reverse order (dancing links). */
static void
s_unlift (s_entry_t *entries, uint32_t k)
{
    S_REQUIRE (!entries [k].is_ret, "unlift of a completion");
    s_relink (entries, entries [k].match);
    s_relink (entries, k);
}

/* Marks operation op linearized (on) or not, in K or in U. */
static void
s_mark (s_search_t *s, uint32_t op, bool on)
{
    uint32_t slot = s->slot [op];
    uint64_t *bits = s->calls [op].known ? s->probe->bits : s->applied;
    uint64_t mask = 1ull << (slot % 64);
    S_REQUIRE (((bits [slot / 64] & mask) != 0) != on, "marked twice");
    if (on)
        bits [slot / 64] |= mask;
    else
        bits [slot / 64] &= ~mask;
    if (!s->calls [op].known)
        s->unknown_left += on ? (size_t) -1 : 1;
}

/* Whether the configuration in probe and applied is dominated by one
   cached; if not, caches it. Returns 1 if new, 0 if dominated, -1 if new
   but the budget is spent. */
static int
s_search_remember (s_search_t *s, uint64_t budget)
{
    s_variants_t *v = (s_variants_t *) zhashx_lookup (s->cache, s->probe);
    size_t set_bytes = s->uwords * sizeof (uint64_t);
    for (uint32_t i = 0; v && i < v->count; i++) {
        const uint64_t *seen = v->sets + (size_t) i * s->uwords;
        bool subset = true;
        for (uint32_t w = 0; w < s->uwords && subset; w++)
            subset = (seen [w] & ~s->applied [w]) == 0;
        if (subset)
            return 0;
    }
    if (s->added >= budget)
        return -1;
    s->added++;
    if (v && v->count < v->capacity) {
        memcpy (v->sets + (size_t) v->count++ * s->uwords, s->applied, set_bytes);
        return 1;
    }
    uint32_t capacity = v ? 2 * v->capacity : 1;
    s_variants_t *grown = (s_variants_t *) malloc (sizeof (s_variants_t)
                                                   + capacity * set_bytes);
    S_REQUIRE (grown, "out of memory");
    grown->count = v ? v->count : 0;
    grown->capacity = capacity;
    if (v)
        memcpy (grown->sets, v->sets, v->count * set_bytes);
    memcpy (grown->sets + (size_t) grown->count++ * s->uwords, s->applied, set_bytes);
    if (v)
        zhashx_update (s->cache, s->probe, grown);     /* frees v */
    else {
        size_t key_bytes = sizeof (s_memo_t) + s->probe->words * sizeof (uint64_t);
        s_memo_t *key = (s_memo_t *) malloc (key_bytes);
        S_REQUIRE (key, "out of memory");
        memcpy (key, s->probe, key_bytes);
        int rc = zhashx_insert (s->cache, key, grown);
        S_REQUIRE (rc == 0, "cache insert failed");
    }
    return 1;
}

/* Tries to linearize the operation of call entry k from *state. Returns
   1 if it did (a configuration not dominated: state updated, entry
   lifted), 0 if the step is illegal or dominated, -1 over budget. */
static int
s_search_try (s_search_t *s, uint32_t k, uint32_t *state, uint64_t budget)
{
    uint32_t op = s->entries [k].op;
    uint32_t next;
    if (!s_step (&s->calls [op], *state, &next))
        return 0;
    uint32_t before = s->probe->state;
    s_mark (s, op, true);
    s->probe->state = next;
    int rc = s_search_remember (s, budget);
    if (rc <= 0) {
        s_mark (s, op, false);
        s->probe->state = before;
        return rc;
    }
    S_REQUIRE (s->depth < s->n, "stack overflow");
    s->stack_entry [s->depth] = k;
    s->stack_state [s->depth] = *state;
    s->depth++;
    *state = next;
    s_lift (s->entries, k);
    return 1;
}

/* Takes the last linearized operation back; returns its call entry. */
static uint32_t
s_search_undo (s_search_t *s, uint32_t *state)
{
    S_REQUIRE (s->depth > 0, "undo of nothing");
    s->depth--;
    uint32_t k = s->stack_entry [s->depth];
    *state = s->stack_state [s->depth];
    s->probe->state = *state;
    s_mark (s, s->entries [k].op, false);
    s_unlift (s->entries, k);
    return k;
}

/* Whether calls [n] can be linearized from register state init: 1 yes,
   0 no, -1 unknown (more than budget configurations). Adds those it
   caches to *states. Each configuration tries the known operations that
   may go next first, then the unknown ones (pass 1), so that a
   configuration is first reached with as few unknown operations applied
   as it can be, and the later ways to it are dominated. Invariant: every
   linearized operation is on the stack, in order, and out of the list;
   required counts the known ones that are not. */
static int
s_search (const s_call_t *calls, size_t n, uint32_t init, uint64_t budget,
          uint64_t *states)
{
    size_t required = 0;
    for (size_t i = 0; i < n; i++)
        required += calls [i].known;
    if (required == 0)
        return 1;                       /* design note 2 */
    s_search_t s;
    s_search_init (&s, calls, n);
    uint32_t state = init;
    s.probe->state = init;
    int rc = s_search_remember (&s, budget) < 0 ? -1 : 1;
    uint32_t k = s.entries [s.head].next;
    bool pass = 0;
    while (required > 0 && rc == 1) {
        /* A known operation's completion lies ahead of every unknown's. */
        S_REQUIRE (k != S_NIL, "ran off the entry list");
        const s_entry_t *e = &s.entries [k];
        if (!e->is_ret) {
            int tried = calls [e->op].known == !pass
                      ? s_search_try (&s, k, &state, budget) : 0;
            if (tried < 0)
                rc = -1;
            else if (tried > 0) {
                required -= calls [e->op].known;
                k = s.entries [s.head].next;
                pass = 0;
            }
            else
                k = e->next;
        }
        else if (!pass && s.unknown_left > 0) {
            pass = 1;                   /* now the unknown operations */
            k = s.entries [s.head].next;
        }
        else if (s.depth == 0)
            rc = 0;                     /* nothing left to take back */
        else {
            k = s_search_undo (&s, &state);
            required += calls [s.entries [k].op].known;
            pass = !calls [s.entries [k].op].known;
            k = s.entries [k].next;
        }
    }
    *states += s.added;
    s_search_fini (&s);
    return rc;
}

//  --------------------------------------------------------------------------
//  Checking a key: the calls of a prefix or window, and the explanation

/* The id of value text (S_ABSENT for NULL). */
static uint32_t
s_value_id (s_check_t *chk, const char *text)
{
    if (!text)
        return S_ABSENT;
    void *found = zhashx_lookup (chk->values, text);
    if (found)
        return (uint32_t) (uintptr_t) found;
    S_REQUIRE (chk->values_next < S_ANY - 1, "too many values");
    uint32_t id = chk->values_next++;
    zhashx_insert (chk->values, text, (void *) (uintptr_t) id);
    return id;
}

/* Fills calls from the key's records (recs [n]) as the history looks in
   the window (start, cut]: operations invoked after cut are left out,
   ok operations completed by start are dropped, and those still running
   at start or at cut become unknown (design notes 3 and 4). start is
   S_BEFORE and cut S_NEVER for the whole history. Failed operations and
   unknown gets are left out. Returns how many calls it filled. */
static size_t
s_calls_build (s_check_t *chk, s_rec_t **recs, size_t n, int64_t start,
               int64_t cut, s_call_t *calls)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const s_rec_t *rec = recs [i];
        bool ok = rec->outcome == LIN_OK;
        if (rec->outcome == LIN_FAILED || rec->invoke_us > cut
            || (ok && rec->complete_us <= start))
            continue;
        bool known = ok && rec->complete_us <= cut && rec->invoke_us > start;
        if (!known && rec->type == LIN_GET)
            continue;
        calls [k++] = (s_call_t) {
            .rec = rec, .type = rec->type, .known = known, .cut = ok && !known,
            .value = s_value_id (chk, rec->value), .old = s_value_id (chk, rec->old),
            .swapped = rec->swapped, .call = rec->invoke_us,
            .ret = known ? rec->complete_us : S_NEVER};
    }
    return k;
}

/* Drops unknown writes nothing could have observed (design note 5): an
   unknown put or cas writing v when no known get read v, no cas (of any
   outcome) expects v, and no known cas on the key failed to swap; an
   unknown del likewise when no known get read "not found". Repeats until
   nothing more goes (a dropped cas no longer expects its old value).
   Returns how many calls are kept, in order, at the front of calls. */
static size_t
s_calls_prune (s_check_t *chk, s_call_t *calls, size_t k)
{
    bool *seen = (bool *) calloc (chk->values_next, sizeof (bool));
    S_REQUIRE (seen, "out of memory");
    size_t before;
    do {
        before = k;
        bool unswapped = false;
        memset (seen, 0, chk->values_next * sizeof (bool));
        for (size_t i = 0; i < k; i++) {
            const s_call_t *c = &calls [i];
            if (c->type == LIN_GET && c->known)
                seen [c->value] = true;
            if (c->type == LIN_CAS)
                seen [c->old] = true;
            unswapped |= c->type == LIN_CAS && c->known && !c->swapped;
        }
        if (unswapped)
            break;
        size_t kept = 0;
        for (size_t i = 0; i < k; i++) {
            const s_call_t *c = &calls [i];
            uint32_t wrote = c->type == LIN_DEL ? S_ABSENT : c->value;
            if (!c->known && c->type != LIN_GET && !seen [wrote])
                continue;
            calls [kept++] = *c;
        }
        k = kept;
    } while (k < before);
    free (seen);
    return k;
}

/* Searches the window (start, cut] of the key: 1, 0 or -1 as s_search.
   A window with a start begins from any value (design note 4). */
static int
s_window_check (s_check_t *chk, s_rec_t **recs, size_t n, int64_t start,
                int64_t cut)
{
    s_call_t *calls = (s_call_t *) calloc (n ? n : 1, sizeof (s_call_t));
    S_REQUIRE (calls, "out of memory");
    size_t k = s_calls_build (chk, recs, n, start, cut, calls);
    k = s_calls_prune (chk, calls, k);
    uint32_t init = start == S_BEFORE ? S_ABSENT : S_ANY;
    int rc = s_search (calls, k, init, chk->self->budget, &chk->states);
    if (rc < 0)
        chk->budget_hit = true;
    free (calls);
    return rc;
}

static void
s_put_quoted (FILE *out, const char *text)
{
    fputc ('"', out);
    history_json_text (out, text, S_REPORT_TEXT_MAX);
    fputc ('"', out);
}

/* "+12.345 ms" relative to the history's first invocation. */
static void
s_put_time (FILE *out, s_check_t *chk, int64_t t)
{
    if (t == S_NEVER) {
        fputs ("never", out);
        return;
    }
    int64_t rel = t - chk->origin;
    fprintf (out, "+%lld.%03lld ms", (long long) (rel / 1000),
             (long long) (rel % 1000));
}

/* One line per operation: id, client, what it did, when, and how it ended. */
static void
s_put_op (FILE *out, s_check_t *chk, const s_rec_t *rec, const char *note)
{
    fprintf (out, "    #%-6llu client %-4u ", (unsigned long long) rec->id, rec->client);
    static const char *names [] = {"?", "put", "get", "del", "cas"};
    fputs (names [rec->type], out);
    if (rec->type == LIN_PUT) {
        fputc (' ', out);
        s_put_quoted (out, rec->value);
    }
    if (rec->type == LIN_CAS) {
        fputc (' ', out);
        s_put_quoted (out, rec->old);
        fputs (" -> ", out);
        s_put_quoted (out, rec->value);
    }
    if (rec->outcome == LIN_OK && rec->type == LIN_GET) {
        fputs (" = ", out);
        if (rec->value)
            s_put_quoted (out, rec->value);
        else
            fputs ("not found", out);
    }
    if (rec->outcome == LIN_OK && rec->type == LIN_CAS)
        fputs (rec->swapped ? ": swapped" : ": not swapped", out);
    static const char *outcomes [] = {"pending", "ok", "failed", "unknown"};
    fputs ("  [", out);
    s_put_time (out, chk, rec->invoke_us);
    fputs (", ", out);
    s_put_time (out, chk, rec->outcome == LIN_OK ? rec->complete_us : S_NEVER);
    fprintf (out, "] %s%s\n", outcomes [rec->outcome], note);
}

/* For each value a known get of the window read that no write inside
   the window wrote, the writers of it elsewhere in the key's history. */
static void
s_put_writers (s_check_t *chk, s_rec_t **recs, size_t n, const s_call_t *calls,
               size_t k)
{
    for (size_t i = 0; i < k; i++) {
        const s_rec_t *get = calls [i].rec;
        if (get->type != LIN_GET || !calls [i].known || !get->value)
            continue;
        bool inside = false;
        for (size_t j = 0; j < k && !inside; j++)
            inside = calls [j].type != LIN_GET && calls [j].rec->value
                     && strcmp (calls [j].rec->value, get->value) == 0;
        if (inside)
            continue;
        fprintf (chk->out, "  the value #%llu read, ", (unsigned long long) get->id);
        s_put_quoted (chk->out, get->value);
        fputs (", was written outside the window by:\n", chk->out);
        size_t writers = 0;
        for (size_t j = 0; j < n; j++) {
            const s_rec_t *w = recs [j];
            if (w->type != LIN_GET && w->value && strcmp (w->value, get->value) == 0
                && w->outcome != LIN_FAILED) {
                s_put_op (chk->out, chk, w, "");
                writers++;
            }
        }
        if (writers == 0)
            fputs ("    (no operation that did not fail)\n", chk->out);
    }
}

/* Lists the operations of the window (start, cut], then where the values
   its gets read came from. */
static void
s_put_window (s_check_t *chk, s_rec_t **recs, size_t n, int64_t start,
              int64_t cut)
{
    s_call_t *calls = (s_call_t *) calloc (n ? n : 1, sizeof (s_call_t));
    S_REQUIRE (calls, "out of memory");
    size_t built = s_calls_build (chk, recs, n, start, cut, calls);
    size_t k = s_calls_prune (chk, calls, built);
    for (size_t i = 0; i < k && i < S_REPORT_OPS_MAX; i++)
        s_put_op (chk->out, chk, calls [i].rec,
                  calls [i].cut ? " (result cut off: runs past the edge)" : "");
    if (k > S_REPORT_OPS_MAX)
        fprintf (chk->out, "    ... and %zu more\n", k - S_REPORT_OPS_MAX);
    if (built > k)
        fprintf (chk->out, "    (and %zu writes of unknown outcome that nothing "
                 "observed, left out)\n", built - k);
    s_put_writers (chk, recs, n, calls, k);
    free (calls);
}

static int
s_time_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* The completion times of the key's ok operations, sorted (caller frees);
   *m of them. */
static int64_t *
s_completions (s_rec_t **recs, size_t n, size_t *m)
{
    int64_t *times = (int64_t *) calloc (n ? n : 1, sizeof (int64_t));
    S_REQUIRE (times, "out of memory");
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (recs [i]->outcome == LIN_OK)
            times [(*m)++] = recs [i]->complete_us;
    qsort (times, *m, sizeof (int64_t), s_time_cmp);
    return times;
}

/* The largest j in [1, j_max] whose window (times [j-1], cut] fails from
   any value, found by bisection; 0 if none was seen to fail. Every j it
   returns was checked and failed (design note 4). */
static size_t
s_smallest_window (s_check_t *chk, s_rec_t **recs, size_t n,
                   const int64_t *times, size_t j_max, int64_t cut)
{
    size_t lo = 0, hi = j_max;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (s_window_check (chk, recs, n, times [mid - 1], cut) == 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Explains why a key's history is not linearizable: the shortest failing
   prefix (design note 3), the smallest failing window found inside it
   (note 4), and the window's operations. */
static void
s_explain (s_check_t *chk, s_rec_t **recs, size_t n)
{
    size_t m;
    int64_t *times = s_completions (recs, n, &m);
    S_REQUIRE (m > 0, "a violation without a completed operation");
    chk->budget_hit = false;
    size_t lo = 0, hi = m - 1;      /* the whole history fails, so hi does */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_window_check (chk, recs, n, S_BEFORE, times [mid]) == 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    int64_t cut = times [lo];
    size_t j_max = 0, invoked = 0;
    while (j_max < m && times [j_max] < cut)
        j_max++;
    for (size_t i = 0; i < n; i++)
        invoked += recs [i]->invoke_us <= cut && recs [i]->outcome != LIN_FAILED;
    const s_rec_t *last = NULL;
    for (size_t i = 0; i < n && !last; i++)
        if (recs [i]->outcome == LIN_OK && recs [i]->complete_us == cut)
            last = recs [i];
    FILE *out = chk->out;
    fprintf (out, "  the shortest prefix that cannot be linearized ends at ");
    s_put_time (out, chk, cut);
    fprintf (out, ", when #%llu completed (%zu operations invoked by then, "
             "failed ones aside)%s\n", (unsigned long long) last->id, invoked,
             chk->budget_hit ? "; some shorter prefixes exceeded the budget" : "");
    size_t j = s_smallest_window (chk, recs, n, times, j_max, cut);
    if (j == 0) {
        fputs ("  no window inside it fails on its own; from the empty key, "
               "these operations cannot be linearized:\n", out);
        s_put_window (chk, recs, n, S_BEFORE, cut);
    }
    else {
        fputs ("  the smallest window found: whatever value the key held at ", out);
        s_put_time (out, chk, times [j - 1]);
        fputs (", these operations cannot be linearized after it:\n", out);
        s_put_window (chk, recs, n, times [j - 1], cut);
    }
    free (times);
}

/* Checks one key's operations (recs [n], all of one key): the verdict,
   and its lines in the report. */
static lin_verdict_t
s_check_key (s_check_t *chk, s_rec_t **recs, size_t n)
{
    int rc = s_window_check (chk, recs, n, S_BEFORE, S_NEVER);
    if (rc == 1)
        return LIN_LINEARIZABLE;
    fputs ("key ", chk->out);
    s_put_quoted (chk->out, recs [0]->key);
    if (rc < 0) {
        fprintf (chk->out, ": unknown: budget exceeded (%zu operations; a "
                 "search needed more than %llu states)\n", n,
                 (unsigned long long) chk->self->budget);
        return LIN_BUDGET;
    }
    fprintf (chk->out, ": not linearizable (%zu operations)\n", n);
    s_explain (chk, recs, n);
    return LIN_VIOLATION;
}

static int
s_rec_cmp (const void *a, const void *b)
{
    const s_rec_t *x = *(s_rec_t *const *) a, *y = *(s_rec_t *const *) b;
    int c = strcmp (x->key, y->key);
    if (c)
        return c;
    if (x->invoke_us != y->invoke_us)
        return x->invoke_us < y->invoke_us ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Checks every key of self's history (mutex held); the report in out. */
static lin_verdict_t
s_check_all (linearize_t *self, s_check_t *chk)
{
    s_rec_t **order = (s_rec_t **) calloc (self->size ? self->size : 1, sizeof (s_rec_t *));
    S_REQUIRE (order, "out of memory");
    chk->origin = self->size ? self->recs [0].invoke_us : 0;
    for (size_t i = 0; i < self->size; i++) {
        order [i] = &self->recs [i];
        if (order [i]->invoke_us < chk->origin)
            chk->origin = order [i]->invoke_us;
    }
    qsort (order, self->size, sizeof (s_rec_t *), s_rec_cmp);
    size_t keys = 0, violations = 0, over = 0;
    for (size_t i = 0, j; i < self->size; i = j) {
        for (j = i + 1; j < self->size && strcmp (order [j]->key, order [i]->key) == 0; j++)
            ;
        lin_verdict_t v = s_check_key (chk, order + i, j - i);
        keys++;
        violations += v == LIN_VIOLATION;
        over += v == LIN_BUDGET;
    }
    free (order);
    lin_verdict_t verdict = violations ? LIN_VIOLATION
                          : over ? LIN_BUDGET : LIN_LINEARIZABLE;
    fprintf (chk->out, "%s: %zu operations on %zu keys (%zu not linearizable, "
             "%zu over budget); %llu states explored, budget %llu per search\n",
             linearize_verdict_str (verdict), self->size, keys, violations, over,
             (unsigned long long) chk->states, (unsigned long long) self->budget);
    return verdict;
}

lin_verdict_t
linearize_check (linearize_t *self, char **report)
{
    S_REQUIRE (self, "NULL self");
    char *text = NULL;
    size_t text_size = 0;
    s_check_t chk = {.self = self, .values_next = 1};
    chk.values = zhashx_new ();
    chk.out = open_memstream (&text, &text_size);
    S_REQUIRE (chk.values && chk.out, "out of memory");
    pthread_mutex_lock (&self->mutex);
    lin_verdict_t verdict = s_check_all (self, &chk);
    self->states = chk.states;
    pthread_mutex_unlock (&self->mutex);
    fclose (chk.out);
    zhashx_destroy (&chk.values);
    if (report)
        *report = text;
    else
        free (text);
    return verdict;
}

//  --------------------------------------------------------------------------
//  The dump (JSON lines)

static void
s_put_field (FILE *out, const char *name, const char *text)
{
    fprintf (out, ",\"%s\":\"", name);
    history_json_text (out, text, SIZE_MAX);
    fputc ('"', out);
}

static void
s_dump_rec (FILE *out, const s_rec_t *rec)
{
    static const char *names [] = {"?", "put", "get", "del", "cas"};
    static const char *outcomes [] = {"pending", "ok", "failed", "unknown"};
    fprintf (out, "{\"id\":%llu,\"client\":%u,\"op\":\"%s\"",
             (unsigned long long) rec->id, rec->client, names [rec->type]);
    s_put_field (out, "key", rec->key);
    if (rec->type == LIN_PUT)
        s_put_field (out, "value", rec->value);
    if (rec->type == LIN_CAS) {
        s_put_field (out, "old", rec->old);
        s_put_field (out, "new", rec->value);
    }
    fprintf (out, ",\"invoke\":%lld", (long long) rec->invoke_us);
    if (rec->outcome == LIN_PENDING)
        fputs (",\"complete\":null", out);
    else
        fprintf (out, ",\"complete\":%lld", (long long) rec->complete_us);
    fprintf (out, ",\"outcome\":\"%s\"", outcomes [rec->outcome]);
    if (rec->outcome == LIN_OK && rec->type == LIN_GET) {
        fprintf (out, ",\"found\":%s", rec->value ? "true" : "false");
        if (rec->value)
            s_put_field (out, "value", rec->value);
    }
    if (rec->outcome == LIN_OK && rec->type == LIN_CAS)
        fprintf (out, ",\"swapped\":%s", rec->swapped ? "true" : "false");
    fputs ("}\n", out);
}

int
linearize_dump (linearize_t *self, const char *path)
{
    S_REQUIRE (self && path, "NULL argument");
    FILE *out = fopen (path, "w");
    if (!out)
        return -1;
    pthread_mutex_lock (&self->mutex);
    for (size_t i = 0; i < self->size; i++)
        s_dump_rec (out, &self->recs [i]);
    pthread_mutex_unlock (&self->mutex);
    return history_close (out);
}

//  --------------------------------------------------------------------------
//  The loader: one strict JSON object per line, fields as linearize_dump
//  writes them (in any order, each at most once)

typedef enum {
    S_F_ID, S_F_CLIENT, S_F_OP, S_F_KEY, S_F_VALUE, S_F_OLD, S_F_NEW,
    S_F_INVOKE, S_F_COMPLETE, S_F_OUTCOME, S_F_FOUND, S_F_SWAPPED, S_FIELDS
} s_field_t;

static const char *s_field_names [S_FIELDS] = {
    "id", "client", "op", "key", "value", "old", "new", "invoke", "complete",
    "outcome", "found", "swapped"};

/* One line as parsed. */
typedef struct {
    const char *p;                      /* cursor */
    const char *end;                    /* end of the line */
    const char *error;                  /* first error (static text) */
    bool has [S_FIELDS];                /* fields seen */
    int64_t num [S_FIELDS];             /* numeric fields */
    bool null_complete;                 /* "complete":null */
    bool flag [S_FIELDS];               /* boolean fields */
    char *text [S_FIELDS];              /* string fields, owned */
} s_line_t;

static void
s_skip_ws (s_line_t *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
        l->p++;
}

static bool
s_fail (s_line_t *l, const char *error)
{
    if (!l->error)
        l->error = error;
    return false;
}

static bool
s_accept (s_line_t *l, char c)
{
    s_skip_ws (l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return true;
    }
    return false;
}

/* A word (true, false, null) at the cursor. */
static bool
s_word (s_line_t *l, const char *word)
{
    size_t len = strlen (word);
    if ((size_t) (l->end - l->p) >= len && memcmp (l->p, word, len) == 0) {
        l->p += len;
        return true;
    }
    return false;
}

/* \u00XX, the cursor after the 'u': one byte, 0x01 to 0xff. */
static bool
s_unicode (s_line_t *l, char *byte)
{
    if (l->end - l->p < 4)
        return s_fail (l, "truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; i++) {
        char c = *l->p++;
        int digit = c >= '0' && c <= '9' ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0)
            return s_fail (l, "bad hex digit in a \\u escape");
        value = value * 16 + (unsigned) digit;
    }
    if (value == 0 || value > 0xff)
        return s_fail (l, "\\u escape outside \\u0001-\\u00ff (one byte each)");
    *byte = (char) value;
    return true;
}

/* A string at the cursor into *out (caller frees), at most
   LINEARIZE_TEXT_MAX bytes once unescaped. */
static bool
s_string (s_line_t *l, char **out)
{
    if (!s_accept (l, '"'))
        return s_fail (l, "expected a string");
    char buf [LINEARIZE_TEXT_MAX + 1];
    size_t len = 0;
    while (true) {
        if (l->p >= l->end)
            return s_fail (l, "unterminated string");
        char c = *l->p++;
        if (c == '"')
            break;
        if ((unsigned char) c < 0x20)
            return s_fail (l, "control character in a string");
        if (c == '\\') {
            if (l->p >= l->end)
                return s_fail (l, "unterminated string");
            char e = *l->p++;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *at = strchr (from, e);
            if (e == 'u') {
                if (!s_unicode (l, &c))
                    return false;
            }
            else if (e && at)
                c = to [at - from];
            else
                return s_fail (l, "bad escape in a string");
        }
        if (len == LINEARIZE_TEXT_MAX)
            return s_fail (l, "string longer than LINEARIZE_TEXT_MAX");
        buf [len++] = c;
    }
    buf [len] = 0;
    *out = history_strdup (buf);
    return true;
}

/* An integer at the cursor, within int64_t (negative if allowed). */
static bool
s_integer (s_line_t *l, int64_t *out, bool negative_ok)
{
    s_skip_ws (l);
    bool negative = l->p < l->end && *l->p == '-';
    if (negative && !negative_ok)
        return s_fail (l, "negative number where none is allowed");
    l->p += negative;
    if (l->p >= l->end || *l->p < '0' || *l->p > '9')
        return s_fail (l, "expected a number");
    uint64_t value = 0;
    for (; l->p < l->end && *l->p >= '0' && *l->p <= '9'; l->p++) {
        uint64_t digit = (uint64_t) (*l->p - '0');
        if (value > ((uint64_t) INT64_MAX - digit) / 10)
            return s_fail (l, "number out of range");
        value = value * 10 + digit;
    }
    if (l->p < l->end && (*l->p == '.' || *l->p == 'e' || *l->p == 'E'))
        return s_fail (l, "not an integer");
    *out = negative ? -(int64_t) value : (int64_t) value;
    return true;
}

static bool
s_value (s_line_t *l, s_field_t f)
{
    s_skip_ws (l);
    switch (f) {
    case S_F_OP: case S_F_KEY: case S_F_VALUE: case S_F_OLD: case S_F_NEW:
    case S_F_OUTCOME:
        return s_string (l, &l->text [f]);
    case S_F_FOUND: case S_F_SWAPPED:
        if (s_word (l, "true"))
            return l->flag [f] = true;
        if (s_word (l, "false"))
            return true;
        return s_fail (l, "expected true or false");
    case S_F_COMPLETE:
        if (s_word (l, "null"))
            return l->null_complete = true;
        return s_integer (l, &l->num [f], true);
    case S_F_INVOKE:
        return s_integer (l, &l->num [f], true);
    case S_F_ID: case S_F_CLIENT:
        return s_integer (l, &l->num [f], false);
    case S_FIELDS:
        break;
    }
    return s_fail (l, "no such field");
}

/* Parses the object on the line into l's fields. */
static bool
s_object (s_line_t *l)
{
    if (!s_accept (l, '{'))
        return s_fail (l, "expected '{'");
    if (s_accept (l, '}'))
        return s_fail (l, "empty object");
    do {
        char *name = NULL;
        if (!s_string (l, &name))
            return false;
        int f = 0;
        while (f < S_FIELDS && strcmp (s_field_names [f], name) != 0)
            f++;
        free (name);
        if (f == S_FIELDS)
            return s_fail (l, "unknown field");
        if (l->has [f])
            return s_fail (l, "field given twice");
        l->has [f] = true;
        if (!s_accept (l, ':'))
            return s_fail (l, "expected ':'");
        if (!s_value (l, (s_field_t) f))
            return false;
    } while (s_accept (l, ','));
    if (!s_accept (l, '}'))
        return s_fail (l, "expected ',' or '}'");
    s_skip_ws (l);
    if (l->p != l->end)
        return s_fail (l, "trailing characters after the object");
    return true;
}

/* index of text in names [n], or -1. */
static int
s_lookup (const char *text, const char *const *names, int n)
{
    for (int i = 0; text && i < n; i++)
        if (strcmp (text, names [i]) == 0)
            return i;
    return -1;
}

/* Turns l's fields into op (pointing into l); NULL, or what is wrong. */
static const char *
s_line_op (s_line_t *l, lin_op_t *op)
{
    static const char *const types [] = {"put", "get", "del", "cas"};
    static const char *const outcomes [] = {"pending", "ok", "failed", "unknown"};
    int type = s_lookup (l->text [S_F_OP], types, 4);
    int outcome = s_lookup (l->text [S_F_OUTCOME], outcomes, 4);
    if (type < 0 || outcome < 0)
        return "op or outcome missing or not one of the known words";
    if (!l->has [S_F_ID] || !l->has [S_F_CLIENT] || !l->has [S_F_KEY]
        || !l->has [S_F_INVOKE] || !l->has [S_F_COMPLETE])
        return "id, client, key, invoke or complete missing";
    if (l->num [S_F_CLIENT] > UINT32_MAX)
        return "client out of range";
    if (l->null_complete != (outcome == LIN_PENDING))
        return "complete must be null exactly when the outcome is pending";
    bool ok_get = type + 1 == LIN_GET && outcome == LIN_OK;
    bool ok_cas = type + 1 == LIN_CAS && outcome == LIN_OK;
    if (l->has [S_F_FOUND] != ok_get || l->has [S_F_SWAPPED] != ok_cas)
        return "found belongs to ok gets, swapped to ok cas, and nowhere else";
    if (ok_get && l->flag [S_F_FOUND] != (l->text [S_F_VALUE] != NULL))
        return "an ok get has a value exactly when found is true";
    if ((type + 1 == LIN_CAS) != (l->has [S_F_OLD] && l->has [S_F_NEW])
        || (type + 1 == LIN_CAS && l->has [S_F_VALUE]))
        return "a cas has old and new (and no value); nothing else has them";
    *op = (lin_op_t) {.id = (uint64_t) l->num [S_F_ID], .type = (lin_type_t) (type + 1),
                      .outcome = (lin_outcome_t) outcome,
                      .client = (uint32_t) l->num [S_F_CLIENT],
                      .invoke_us = l->num [S_F_INVOKE],
                      .complete_us = l->null_complete ? 0 : l->num [S_F_COMPLETE],
                      .key = l->text [S_F_KEY],
                      .value = type + 1 == LIN_CAS ? l->text [S_F_NEW] : l->text [S_F_VALUE],
                      .old = l->text [S_F_OLD], .swapped = l->flag [S_F_SWAPPED]};
    return NULL;
}

/* Adds the operation on one line (without its newline) to self; 0, or -1
   with the reason in errbuf. */
static int
s_load_line (linearize_t *self, const char *text, size_t len, char *errbuf,
             size_t size)
{
    s_line_t l = {.p = text, .end = text + len};
    lin_op_t op;
    int rc = -1;
    const char *error = NULL;
    if (!s_object (&l))
        error = l.error;
    else if ((error = s_line_op (&l, &op)) == NULL)
        rc = linearize_add (self, &op, errbuf, size);
    if (error)
        snprintf (errbuf, size, "%s", error);
    for (int f = 0; f < S_FIELDS; f++)
        free (l.text [f]);
    return rc;
}

linearize_t *
linearize_load (const char *path, char **error)
{
    S_REQUIRE (path, "NULL path");
    FILE *in = fopen (path, "r");
    if (!in) {
        if (error)
            *error = zsys_sprintf ("%s: %s", path, strerror (errno));
        return NULL;
    }
    linearize_t *self = linearize_new ();
    char *line = NULL, errbuf [256] = "";
    size_t capacity = 0, number = 0;
    ssize_t len;
    while ((len = getline (&line, &capacity, in)) >= 0) {
        number++;
        while (len > 0 && (line [len - 1] == '\n' || line [len - 1] == '\r'))
            len--;
        size_t blank = strspn (line, " \t");
        if ((ssize_t) blank >= len)
            continue;
        if (len > (ssize_t) S_LINE_MAX)
            snprintf (errbuf, sizeof errbuf, "line longer than %u bytes",
                      (unsigned) S_LINE_MAX);
        else if (memchr (line, 0, (size_t) len))
            snprintf (errbuf, sizeof errbuf, "NUL byte in the line");
        else if (s_load_line (self, line, (size_t) len, errbuf, sizeof errbuf) == 0)
            continue;
        break;
    }
    bool read_error = ferror (in) != 0;
    free (line);
    fclose (in);
    if (*errbuf || read_error) {
        if (error)
            *error = zsys_sprintf ("%s:%zu: %s", path, number,
                                   *errbuf ? errbuf : "read error");
        linearize_destroy (&self);
    }
    return self;
}
