/*  =========================================================================
    totalorder - a total-order checker for message-bus histories

    The recorder (a mutex over one array of events, in the order they
    were recorded), the checker (messages, then indexes, then each
    consumer's stream) and the JSON-lines dump. See totalorder.h for the
    model and the kinds of violation.

    Invariants of a check:
      1. The index table holds one entry per index the history knows,
         the first record of it (an acknowledgement or a delivery, in
         recording order): the reference every other record of that
         index is compared with (DISAGREE).
      2. A consumer's stream is what it accepted since its last FRESH
         subscription: strictly increasing indexes. A delivery at or
         below the stream's end is a DUPLICATE if the stream holds it,
         else a REORDER, and is not accepted.
      3. Every index in a stream's covered range that the table knows,
         whose subject matches the segment's prefix, is in the stream;
         each one that is not is LOST.
    =========================================================================
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "history.h"
#include "totalorder.h"

/* Misuse of the recorder by a test: no recovery makes sense. */
#define S_REQUIRE(cond, what) HISTORY_REQUIRE ("totalorder", cond, what)

typedef enum {
    S_PUBLISH = 1,
    S_SUBSCRIBE = 2,
    S_DELIVER = 3,
    S_COVERED = 4
} s_type_t;

typedef enum {
    S_PENDING = 0,
    S_OK = 1,
    S_FAILED = 2,
    S_UNKNOWN = 3
} s_outcome_t;

/* One recorded event. */
typedef struct {
    s_type_t type;
    uint32_t who;                       /* PUBLISH: client; else consumer */
    s_outcome_t outcome;                /* PUBLISH */
    bool duplicate;                     /* ok PUBLISH: the bus said so */
    bool resume;                        /* SUBSCRIBE: TOTALORDER_RESUME */
    uint64_t producer;                  /* PUBLISH */
    uint64_t seq;                       /* PUBLISH */
    uint64_t index;                     /* ok PUBLISH, DELIVER, COVERED;
                                           SUBSCRIBE: from */
    uint64_t term;                      /* ok PUBLISH, DELIVER (0: unknown) */
    char *subject;                      /* owned: PUBLISH, DELIVER;
                                           SUBSCRIBE: the prefix ("" all) */
    char *id;                           /* owned: PUBLISH, DELIVER */
} s_event_t;

struct _totalorder_t {
    pthread_mutex_t mutex;              /* guards every field below */
    s_event_t *events;                  /* the history, in recording order */
    size_t size;                        /* events used, <= TOTALORDER_EVENTS_MAX */
    size_t capacity;                    /* events allocated */
    zhashx_t *keys;                     /* "producer/seq" -> id (owned) */
    zhashx_t *ids;                      /* id -> "producer/seq/subject" (owned) */
    zhashx_t *consumers;                /* "consumer" -> itself: subscribed */
};

/* A message as the check sees it: every attempt of one id. */
typedef struct {
    const s_event_t *first;             /* its first attempt */
    uint32_t attempts;                  /* attempts recorded */
    uint32_t oks, unknowns;             /* their outcomes (failed: the rest) */
    uint64_t acked_index;               /* its first ok attempt's index, 0 */
    uint64_t seen_index;                /* the first index any record put it at */
    bool doubled;                       /* reported DOUBLE already */
} s_msg_t;

/* One record of an index: an ok attempt or a delivery. */
typedef struct {
    const s_event_t *ev;
    size_t order;                       /* position in the history */
} s_rec_t;

/* What one totalorder_check works with. */
typedef struct {
    zhashx_t *msgs;                     /* id -> s_msg_t (owned) */
    s_rec_t *table;                     /* invariant 1: one per index, sorted */
    size_t known;                       /* entries in table */
    uint64_t *stream;                   /* invariant 2: the current stream */
    size_t streamed, stream_cap;        /* its length and allocation */
    uint64_t expect;                    /* the next index the stream wants */
    totalorder_stats_t stats;           /* counts and violations */
    FILE *out;                          /* the report (open_memstream) */
} s_check_t;

//  --------------------------------------------------------------------------
//  Recorder

static bool
s_text_ok (const char *text)
{
    return text && strnlen (text, TOTALORDER_TEXT_MAX + 1) <= TOTALORDER_TEXT_MAX;
}

totalorder_t *
totalorder_new (void)
{
    totalorder_t *self = (totalorder_t *) calloc (1, sizeof *self);
    S_REQUIRE (self, "out of memory");
    int rc = pthread_mutex_init (&self->mutex, NULL);
    S_REQUIRE (rc == 0, "pthread_mutex_init failed");
    self->keys = zhashx_new ();
    self->ids = zhashx_new ();
    self->consumers = zhashx_new ();
    S_REQUIRE (self->keys && self->ids && self->consumers, "out of memory");
    zhashx_set_destructor (self->keys, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->keys, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (self->ids, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->ids, (zhashx_duplicator_fn *) strdup);
    return self;
}

void
totalorder_destroy (totalorder_t **self_p)
{
    S_REQUIRE (self_p, "NULL self_p");
    totalorder_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++) {
        free (self->events [i].subject);
        free (self->events [i].id);
    }
    free (self->events);
    zhashx_destroy (&self->keys);
    zhashx_destroy (&self->ids);
    zhashx_destroy (&self->consumers);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

/* Appends ev (its strings already owned); returns its position. Called
   with the mutex held. */
static uint64_t
s_append (totalorder_t *self, const s_event_t *ev)
{
    S_REQUIRE (self->size < TOTALORDER_EVENTS_MAX, "history full");
    if (self->size == self->capacity) {
        size_t capacity = self->capacity ? 2 * self->capacity : 1024;
        s_event_t *events =
            (s_event_t *) realloc (self->events, capacity * sizeof *events);
        S_REQUIRE (events, "out of memory");
        self->events = events;
        self->capacity = capacity;
    }
    self->events [self->size] = *ev;
    return (uint64_t) self->size++;
}

/* A (producer, seq) names one id, and an id one (producer, seq, subject),
   for the whole history. Called with the mutex held. */
static void
s_identity_check (totalorder_t *self, uint64_t producer, uint64_t seq,
                  const char *subject, const char *id)
{
    char key [48];
    snprintf (key, sizeof key, "%" PRIu64 "/%" PRIu64, producer, seq);
    if (producer) {
        const char *known = (const char *) zhashx_lookup (self->keys, key);
        S_REQUIRE (!known || streq (known, id), "(producer, seq) reused for another id");
        if (!known)
            zhashx_insert (self->keys, key, (void *) id);
    }
    char *whole = zsys_sprintf ("%s/%s", key, subject);
    S_REQUIRE (whole, "out of memory");
    const char *known = (const char *) zhashx_lookup (self->ids, id);
    S_REQUIRE (!known || streq (known, whole),
               "id reused by another (producer, seq) or subject");
    if (!known)
        zhashx_insert (self->ids, id, whole);
    zstr_free (&whole);
}

uint64_t
totalorder_publish (totalorder_t *self, uint32_t client, uint64_t producer,
                    uint64_t seq, const char *subject, const char *id)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (s_text_ok (subject) && *subject, "subject missing or too long");
    S_REQUIRE (s_text_ok (id) && *id, "id missing or too long");
    s_event_t ev = {.type = S_PUBLISH, .who = client, .producer = producer,
                    .seq = seq, .subject = history_strdup (subject),
                    .id = history_strdup (id)};
    pthread_mutex_lock (&self->mutex);
    s_identity_check (self, producer, seq, subject, id);
    uint64_t n = s_append (self, &ev);
    pthread_mutex_unlock (&self->mutex);
    return n;
}

static void
s_complete (totalorder_t *self, uint64_t attempt, s_outcome_t outcome,
            uint64_t index, uint64_t term, bool duplicate)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (outcome != S_OK || index > 0, "acknowledged at index 0");
    pthread_mutex_lock (&self->mutex);
    S_REQUIRE (attempt < self->size, "no such attempt");
    s_event_t *ev = &self->events [attempt];
    S_REQUIRE (ev->type == S_PUBLISH, "not a publish attempt");
    S_REQUIRE (ev->outcome == S_PENDING, "attempt completed twice");
    ev->outcome = outcome;
    ev->index = index;
    ev->term = term;
    ev->duplicate = duplicate;
    pthread_mutex_unlock (&self->mutex);
}

void
totalorder_ok (totalorder_t *self, uint64_t attempt, uint64_t index,
               uint64_t term, bool duplicate)
{
    s_complete (self, attempt, S_OK, index, term, duplicate);
}

void
totalorder_failed (totalorder_t *self, uint64_t attempt)
{
    s_complete (self, attempt, S_FAILED, 0, 0, false);
}

void
totalorder_unknown (totalorder_t *self, uint64_t attempt)
{
    s_complete (self, attempt, S_UNKNOWN, 0, 0, false);
}

/* Records a consumer's event; subscribe marks the consumer known, the
   others require it. */
static void
s_consumer_event (totalorder_t *self, s_event_t *ev)
{
    char key [16];
    snprintf (key, sizeof key, "%" PRIu32, ev->who);
    pthread_mutex_lock (&self->mutex);
    if (ev->type == S_SUBSCRIBE)
        zhashx_update (self->consumers, key, self);
    else
        S_REQUIRE (zhashx_lookup (self->consumers, key),
                   "consumer event before its first subscription");
    s_append (self, ev);
    pthread_mutex_unlock (&self->mutex);
}

void
totalorder_subscribe (totalorder_t *self, uint32_t consumer, uint64_t from,
                      const char *prefix, totalorder_start_t how)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (from > 0, "subscription from index 0");
    S_REQUIRE (!prefix || s_text_ok (prefix), "prefix too long");
    S_REQUIRE (how == TOTALORDER_FRESH || how == TOTALORDER_RESUME, "bad start");
    s_event_t ev = {.type = S_SUBSCRIBE, .who = consumer, .index = from,
                    .resume = how == TOTALORDER_RESUME,
                    .subject = history_strdup (prefix ? prefix : "")};
    s_consumer_event (self, &ev);
}

void
totalorder_deliver (totalorder_t *self, uint32_t consumer, uint64_t index,
                    uint64_t term, const char *subject, const char *id)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE (index > 0, "delivery at index 0");
    S_REQUIRE (s_text_ok (subject) && s_text_ok (id), "subject or id missing or too long");
    s_event_t ev = {.type = S_DELIVER, .who = consumer, .index = index,
                    .term = term, .subject = history_strdup (subject),
                    .id = history_strdup (id)};
    s_consumer_event (self, &ev);
}

void
totalorder_covered (totalorder_t *self, uint32_t consumer, uint64_t index)
{
    S_REQUIRE (self, "NULL self");
    s_event_t ev = {.type = S_COVERED, .who = consumer, .index = index};
    s_consumer_event (self, &ev);
}

size_t
totalorder_size (totalorder_t *self)
{
    S_REQUIRE (self, "NULL self");
    pthread_mutex_lock (&self->mutex);
    size_t size = self->size;
    pthread_mutex_unlock (&self->mutex);
    return size;
}

const char *
totalorder_kind_str (totalorder_kind_t kind)
{
    static const char *names [TOTALORDER_KINDS] = {
        "lost", "duplicate", "reorder", "disagree", "double", "unexpected",
        "filter"};
    return kind < TOTALORDER_KINDS ? names [kind] : "?";
}

//  --------------------------------------------------------------------------
//  The check

/* Counts a violation of kind and describes it, up to
   TOTALORDER_EXAMPLES_MAX per kind. */
static void
s_violation (s_check_t *chk, totalorder_kind_t kind, const char *format, ...)
{
    assert (kind < TOTALORDER_KINDS);
    uint64_t n = ++chk->stats.violations [kind];
    chk->stats.total++;
    if (n > TOTALORDER_EXAMPLES_MAX)
        return;
    fprintf (chk->out, "%s: ", totalorder_kind_str (kind));
    va_list args;
    va_start (args, format);
    vfprintf (chk->out, format, args);
    va_end (args);
    fputc ('\n', chk->out);
}

static void
s_msg_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

/* Gathers the attempts of each id into chk->msgs, with their counts. */
static void
s_messages (totalorder_t *self, s_check_t *chk)
{
    for (size_t i = 0; i < self->size; i++) {
        const s_event_t *ev = &self->events [i];
        if (ev->type != S_PUBLISH)
            continue;
        chk->stats.attempts++;
        s_msg_t *msg = (s_msg_t *) zhashx_lookup (chk->msgs, ev->id);
        if (!msg) {
            msg = (s_msg_t *) calloc (1, sizeof *msg);
            S_REQUIRE (msg, "out of memory");
            msg->first = ev;
            zhashx_insert (chk->msgs, ev->id, msg);
        }
        msg->attempts++;
        msg->oks += ev->outcome == S_OK;
        msg->unknowns += ev->outcome == S_UNKNOWN || ev->outcome == S_PENDING;
        chk->stats.duplicates_acked += ev->outcome == S_OK && ev->duplicate;
        if (ev->outcome == S_OK && !msg->acked_index)
            msg->acked_index = ev->index;
        if (ev->outcome == S_OK && ev->index > chk->stats.max_acked)
            chk->stats.max_acked = ev->index;
    }
    chk->stats.messages = zhashx_size (chk->msgs);
    for (s_msg_t *msg = (s_msg_t *) zhashx_first (chk->msgs); msg;
         msg = (s_msg_t *) zhashx_next (chk->msgs)) {
        chk->stats.acked += msg->oks > 0;
        chk->stats.unknown += msg->oks == 0 && msg->unknowns > 0;
        chk->stats.failed += msg->oks == 0 && msg->unknowns == 0;
    }
}

/* The message a record names at its index, checked: UNEXPECTED for a
   delivery nobody published or whose attempts all failed; then, for a
   record that agrees with its index's reference (one that does not is a
   DISAGREE already), DOUBLE when the message sits at a second index
   (except a producer-0 message sent more than once: nothing
   deduplicates those). */
static void
s_record_message (s_check_t *chk, const s_event_t *ev, bool agrees)
{
    s_msg_t *msg = (s_msg_t *) zhashx_lookup (chk->msgs, ev->id);
    if (!msg || (msg->oks == 0 && msg->unknowns == 0)) {
        s_violation (chk, TOTALORDER_UNEXPECTED,
                     "consumer %" PRIu32 " received '%s' at index %" PRIu64 ", %s",
                     ev->who, ev->id, ev->index,
                     msg ? "whose every attempt failed" : "never published");
        return;
    }
    if (!agrees)
        return;
    if (!msg->seen_index)
        msg->seen_index = ev->index;
    bool retried_plain = msg->first->producer == 0 && msg->attempts > 1;
    if (msg->seen_index != ev->index && !msg->doubled && !retried_plain) {
        msg->doubled = true;
        s_violation (chk, TOTALORDER_DOUBLE,
                     "'%s' (producer %" PRIu64 " seq %" PRIu64 ") at index %"
                     PRIu64 " and at index %" PRIu64 " (%s)",
                     ev->id, msg->first->producer, msg->first->seq,
                     msg->seen_index, ev->index,
                     ev->type == S_PUBLISH ? "acknowledged at the second"
                                           : "delivered at the second");
    }
}

static int
s_rec_compare (const void *a, const void *b)
{
    const s_rec_t *x = (const s_rec_t *) a, *y = (const s_rec_t *) b;
    if (x->ev->index != y->ev->index)
        return x->ev->index < y->ev->index ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Whether two records of one index disagree: message, subject, or both
   terms known and different. */
static bool
s_rec_differ (const s_event_t *a, const s_event_t *b)
{
    return !streq (a->id, b->id) || !streq (a->subject, b->subject)
        || (a->term && b->term && a->term != b->term);
}

static void
s_rec_describe (char *buf, size_t size, const s_event_t *ev)
{
    if (ev->type == S_PUBLISH)
        snprintf (buf, size, "acknowledged '%s' [%s] term %" PRIu64 " to client %"
                  PRIu32, ev->id, ev->subject, ev->term, ev->who);
    else
        snprintf (buf, size, "consumer %" PRIu32 " received '%s' [%s] term %"
                  PRIu64, ev->who, ev->id, ev->subject, ev->term);
}

/* Builds the index table (invariant 1) from every ok attempt and every
   delivery, reporting DISAGREE, DOUBLE and UNEXPECTED on the way. */
static void
s_index_table (totalorder_t *self, s_check_t *chk)
{
    s_rec_t *recs = (s_rec_t *) calloc (self->size + 1, sizeof *recs);
    S_REQUIRE (recs, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < self->size; i++) {
        const s_event_t *ev = &self->events [i];
        if ((ev->type == S_PUBLISH && ev->outcome == S_OK) || ev->type == S_DELIVER)
            recs [n++] = (s_rec_t) {.ev = ev, .order = i};
    }
    qsort (recs, n, sizeof *recs, s_rec_compare);
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        const s_event_t *ev = recs [i].ev;
        if (known == 0 || recs [known - 1].ev->index != ev->index) {
            recs [known++] = recs [i];          /* the reference (i >= known) */
            s_record_message (chk, ev, true);
            continue;
        }
        const s_event_t *ref = recs [known - 1].ev;
        bool differ = s_rec_differ (ref, ev);
        s_record_message (chk, ev, !differ);
        if (differ) {
            char a [640], b [640];
            s_rec_describe (a, sizeof a, ref);
            s_rec_describe (b, sizeof b, ev);
            s_violation (chk, TOTALORDER_DISAGREE, "index %" PRIu64 ": %s; %s",
                         ev->index, a, b);
        }
    }
    chk->table = recs;
    chk->known = known;
    chk->stats.indexes = known;
}

/* The first table entry at or above index. */
static size_t
s_table_seek (const s_check_t *chk, uint64_t index)
{
    size_t lo = 0, hi = chk->known;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chk->table [mid].ev->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Invariant 3 over [first, last]: every known index there whose subject
   starts with prefix is LOST to consumer (none of them is in its
   stream, which ends below first). */
static void
s_gap (s_check_t *chk, uint32_t consumer, const char *prefix, uint64_t first,
       uint64_t last, const char *where)
{
    size_t plen = strlen (prefix);
    for (size_t i = s_table_seek (chk, first);
         i < chk->known && chk->table [i].ev->index <= last; i++) {
        const s_event_t *ref = chk->table [i].ev;
        if (strncmp (ref->subject, prefix, plen) != 0)
            continue;
        s_violation (chk, TOTALORDER_LOST,
                     "consumer %" PRIu32 " never received '%s' at index %" PRIu64
                     " (%s %" PRIu64 "..%" PRIu64 ")", consumer, ref->id,
                     ref->index, where, first, last);
    }
}

/* Whether the current stream holds index (it is sorted). */
static bool
s_streamed (const s_check_t *chk, uint64_t index)
{
    size_t lo = 0, hi = chk->streamed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chk->stream [mid] < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < chk->streamed && chk->stream [lo] == index;
}

static void
s_stream_push (s_check_t *chk, uint64_t index)
{
    if (chk->streamed == chk->stream_cap) {
        chk->stream_cap = chk->stream_cap ? 2 * chk->stream_cap : 256;
        chk->stream = (uint64_t *) realloc (chk->stream,
                                            chk->stream_cap * sizeof *chk->stream);
        S_REQUIRE (chk->stream, "out of memory");
    }
    assert (chk->streamed == 0 || chk->stream [chk->streamed - 1] < index);
    chk->stream [chk->streamed++] = index;
    chk->expect = index + 1;
}

/* One consumer's segment: what it is, and what it has covered. */
typedef struct {
    uint32_t consumer;
    const char *prefix;                 /* "": every subject */
    uint64_t from;                      /* its first index */
    uint64_t covered;                   /* the highest index it covers, 0 */
} s_segment_t;

/* One delivery of a segment: accepted into the stream (after checking
   the gap before it), or a DUPLICATE, REORDER or FILTER. */
static void
s_consume (s_check_t *chk, s_segment_t *seg, const s_event_t *ev)
{
    chk->stats.deliveries++;
    if (strncmp (ev->subject, seg->prefix, strlen (seg->prefix)) != 0)
        s_violation (chk, TOTALORDER_FILTER,
                     "consumer %" PRIu32 " received '%s' [%s] at index %" PRIu64
                     " through prefix '%s'", seg->consumer, ev->id, ev->subject,
                     ev->index, seg->prefix);
    if (ev->index < chk->expect || ev->index < seg->from) {
        bool again = s_streamed (chk, ev->index);
        const char *why = again ? "again"
                        : ev->index < seg->from ? "below its subscription's start"
                                                : "after a later index";
        s_violation (chk, again ? TOTALORDER_DUPLICATE : TOTALORDER_REORDER,
                     "consumer %" PRIu32 " received index %" PRIu64 " ('%s') %s"
                     " (subscribed from %" PRIu64 ", stream at %" PRIu64 ")",
                     seg->consumer, ev->index, ev->id, why, seg->from,
                     chk->expect - 1);
        return;
    }
    if (ev->index > chk->expect)
        s_gap (chk, seg->consumer, seg->prefix, chk->expect, ev->index - 1,
               "between deliveries");
    s_stream_push (chk, ev->index);
    if (ev->index > seg->covered)
        seg->covered = ev->index;
}

/* Ends a segment: the rest of its covered range must hold nothing. */
static void
s_segment_end (s_check_t *chk, const s_segment_t *seg)
{
    if (seg->covered >= chk->expect)
        s_gap (chk, seg->consumer, seg->prefix, chk->expect, seg->covered,
               "covered");
    if (seg->covered >= chk->expect)
        chk->expect = seg->covered + 1;
}

/* Starts a segment: a FRESH one (or a consumer's first) starts a new
   stream at from; a RESUME continues the stream, and what lies between
   its end and from is a gap the consumer skipped. */
static void
s_segment_start (s_check_t *chk, s_segment_t *seg, const s_event_t *ev,
                 bool first)
{
    chk->stats.segments++;
    *seg = (s_segment_t) {.consumer = ev->who, .prefix = ev->subject,
                          .from = ev->index};
    if (first || !ev->resume) {
        chk->streamed = 0;
        chk->expect = ev->index;
    }
    else if (ev->index > chk->expect) {
        s_gap (chk, ev->who, ev->subject, chk->expect, ev->index - 1,
               "skipped by a resume to");
        chk->expect = ev->index;
    }
}

static int
s_by_consumer (const void *a, const void *b)
{
    const s_event_t *x = *(const s_event_t *const *) a;
    const s_event_t *y = *(const s_event_t *const *) b;
    if (x->who != y->who)
        return x->who < y->who ? -1 : 1;
    return x < y ? -1 : x > y;          /* recording order */
}

/* Walks every consumer's events in recording order. */
static void
s_consumers (totalorder_t *self, s_check_t *chk, int flags)
{
    const s_event_t **evs = (const s_event_t **) calloc (self->size + 1, sizeof *evs);
    S_REQUIRE (evs, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < self->size; i++)
        if (self->events [i].type != S_PUBLISH)
            evs [n++] = &self->events [i];
    qsort (evs, n, sizeof *evs, s_by_consumer);
    s_segment_t seg = {0};
    for (size_t i = 0; i < n; i++) {
        const s_event_t *ev = evs [i];
        bool first = i == 0 || evs [i - 1]->who != ev->who;
        if (first)
            chk->stats.consumers++;
        if (ev->type == S_SUBSCRIBE) {
            if (!first)
                s_segment_end (chk, &seg);
            s_segment_start (chk, &seg, ev, first);
        }
        else if (ev->type == S_DELIVER)
            s_consume (chk, &seg, ev);
        else if (ev->index > seg.covered)
            seg.covered = ev->index;
        bool last = i + 1 == n || evs [i + 1]->who != ev->who;
        if (last && (flags & TOTALORDER_COMPLETE) && chk->stats.max_acked > seg.covered)
            seg.covered = chk->stats.max_acked;
        if (last)
            s_segment_end (chk, &seg);
    }
    free (evs);
}

static void
s_summary (s_check_t *chk)
{
    const totalorder_stats_t *st = &chk->stats;
    fprintf (chk->out,
             "totalorder: %" PRIu64 " attempts of %" PRIu64 " messages (%" PRIu64
             " acked, %" PRIu64 " unknown, %" PRIu64 " failed), %" PRIu64
             " consumers, %" PRIu64 " subscriptions, %" PRIu64 " deliveries, %"
             PRIu64 " indexes known: ", st->attempts, st->messages, st->acked,
             st->unknown, st->failed, st->consumers, st->segments,
             st->deliveries, st->indexes);
    if (st->total == 0) {
        fputs ("no violation\n", chk->out);
        return;
    }
    fprintf (chk->out, "%" PRIu64 " violations:", st->total);
    for (int k = 0; k < TOTALORDER_KINDS; k++)
        if (st->violations [k])
            fprintf (chk->out, " %s %" PRIu64, totalorder_kind_str ((totalorder_kind_t) k),
                     st->violations [k]);
    fputc ('\n', chk->out);
}

uint64_t
totalorder_check (totalorder_t *self, int flags, totalorder_stats_t *stats,
                  char **report)
{
    S_REQUIRE (self, "NULL self");
    S_REQUIRE ((flags & ~TOTALORDER_COMPLETE) == 0, "unknown flags");
    s_check_t chk = {.msgs = zhashx_new ()};
    char *text = NULL;
    size_t text_size = 0;
    chk.out = open_memstream (&text, &text_size);
    S_REQUIRE (chk.msgs && chk.out, "out of memory");
    zhashx_set_destructor (chk.msgs, s_msg_free);
    pthread_mutex_lock (&self->mutex);
    s_messages (self, &chk);
    s_index_table (self, &chk);
    s_consumers (self, &chk, flags);
    pthread_mutex_unlock (&self->mutex);
    s_summary (&chk);
    fclose (chk.out);
    free (chk.table);
    free (chk.stream);
    zhashx_destroy (&chk.msgs);
    if (stats)
        *stats = chk.stats;
    if (report)
        *report = text;
    else
        free (text);
    return chk.stats.total;
}

//  --------------------------------------------------------------------------
//  The dump

/* Writes text as a JSON string. */
static void
s_dump_text (FILE *out, const char *text)
{
    fputc ('"', out);
    history_json_text (out, text, SIZE_MAX);
    fputc ('"', out);
}

static void
s_dump_event (FILE *out, const s_event_t *ev, size_t n)
{
    static const char *outcomes [] = {"pending", "ok", "failed", "unknown"};
    if (ev->type == S_PUBLISH) {
        fprintf (out, "{\"ev\":\"publish\",\"n\":%zu,\"client\":%" PRIu32
                 ",\"producer\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"subject\":",
                 n, ev->who, ev->producer, ev->seq);
        s_dump_text (out, ev->subject);
        fputs (",\"id\":", out);
        s_dump_text (out, ev->id);
        fprintf (out, ",\"outcome\":\"%s\"", outcomes [ev->outcome]);
        if (ev->outcome == S_OK)
            fprintf (out, ",\"index\":%" PRIu64 ",\"term\":%" PRIu64
                     ",\"duplicate\":%s", ev->index, ev->term,
                     ev->duplicate ? "true" : "false");
    }
    else if (ev->type == S_SUBSCRIBE) {
        fprintf (out, "{\"ev\":\"subscribe\",\"consumer\":%" PRIu32 ",\"from\":%"
                 PRIu64 ",\"prefix\":", ev->who, ev->index);
        s_dump_text (out, ev->subject);
        fprintf (out, ",\"resume\":%s", ev->resume ? "true" : "false");
    }
    else if (ev->type == S_DELIVER) {
        fprintf (out, "{\"ev\":\"deliver\",\"consumer\":%" PRIu32 ",\"index\":%"
                 PRIu64 ",\"term\":%" PRIu64 ",\"subject\":", ev->who,
                 ev->index, ev->term);
        s_dump_text (out, ev->subject);
        fputs (",\"id\":", out);
        s_dump_text (out, ev->id);
    }
    else
        fprintf (out, "{\"ev\":\"covered\",\"consumer\":%" PRIu32 ",\"index\":%"
                 PRIu64, ev->who, ev->index);
    fputs ("}\n", out);
}

int
totalorder_dump (totalorder_t *self, const char *path)
{
    S_REQUIRE (self && path, "NULL argument");
    FILE *out = fopen (path, "w");
    if (!out)
        return -1;
    pthread_mutex_lock (&self->mutex);
    for (size_t i = 0; i < self->size; i++)
        s_dump_event (out, &self->events [i], i);
    pthread_mutex_unlock (&self->mutex);
    return history_close (out);
}
