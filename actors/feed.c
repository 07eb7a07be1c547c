/*  =========================================================================
    feed - serves the message bus's subscriptions from the WAL (see feed.h)
    =========================================================================
*/
#include "actors.h"
#include "bus.h"
#include "feed.h"

#if defined (__linux__)
#   include <sched.h>
#   include <sys/resource.h>
#   include <sys/syscall.h>
#endif

/* Where a subscription stands (feed.h). */
typedef enum { S_OPENING, S_SEARCHING, S_ACTIVE } s_state_t;

/* Entries read from the WAL, decoded once, shared by reference count
   between the subscriptions that use them and the tail (feed.h). */
typedef struct {
    zr_entry_t *entries;                /* owned; entries [i].index == first + i */
    zr_bus_entry_t *bus;                /* decoded; op 0: not a publication */
    uint32_t n;                         /* entries, >= 1 */
    zr_index_t first;                   /* index of entries [0] */
    uint32_t refs;                      /* holders, >= 1 */
} s_batch_t;

typedef struct {
    uint64_t id;                        /* the application's */
    void *handle;                       /* its place in the ring */
    s_state_t state;
    uint32_t from_mode;                 /* zraft_from_t */
    zr_index_t from;                    /* ZRAFT_FROM_INDEX: the first wanted */
    char prefix [ZRAFT_SUBJECT_MAX + 1];        /* subjects delivered start so */
    size_t prefix_size;                 /* its bytes, 0: every subject */
    uint32_t credit;                    /* deliveries allowed, <= ZRAFT_CREDIT_MAX */
    zr_index_t pos;                     /* ACTIVE: next index to examine;
                                           SEARCHING: next to read, in lo..hi */
    s_batch_t *batch;                   /* a reference, or NULL */
    /* SEARCHING (FROM_LAST): windows lo..hi, downwards from top. */
    zr_index_t top;                     /* commit index at subscription */
    zr_index_t lo, hi;                  /* the window being read */
    uint64_t window;                    /* its size, entries */
    zr_index_t found;                   /* newest match in it, 0 if none */
    bool bottom;                        /* nothing older is held: last window */
    bool delivered;                     /* at least one DELIVER went out */
} s_sub_t;

typedef struct {
    zsock_t *pipe;                      /* zactor pipe: $TERM */
    zsock_t *requests;                  /* from the handle (PAIR) */
    zsock_t *wake;                      /* the node's wake-ups (PULL) */
    zsock_t *events;                    /* to the application (PUSH) */
    zpoller_t *poller;                  /* over the three above */
    zr_feed_args_t args;                /* copied arguments */
    zr_wal_reader_t *reader;            /* made at the first read */
    bool known;                         /* a position was posted */
    zr_feed_position_t at;              /* the newest read */
    zhashx_t *subs;                     /* s_sub_t by id, owned */
    zlistx_t *ring;                     /* the same, in turn order */
    s_batch_t *tail;                    /* the batch reaching furthest, or NULL */
    zr_feed_record_t *out;              /* the FEED message being built */
    uint32_t n_out;                     /* its records, <= ZR_FEED_MSG_RECORDS */
    uint8_t *bytes;                     /* its deliveries' bytes (feed.h,
                                           Memory), or NULL */
    size_t bytes_size;                  /* used */
    size_t bytes_capacity;              /* allocated */
    bool held;                          /* out could not be sent: retry */
    bool work;                          /* a subscription may have work */
    uint32_t round_reads;               /* WAL reads this round */
    uint32_t round_records;             /* deliveries this round */
    uint32_t credited;                  /* subscriptions with credit > 0 */
    bool terminated;                    /* $TERM received */
} self_t;

/* ---------------------------------------------------------------- maps */

static size_t
s_key_hash (const void *key)
{
    uint64_t k;
    memcpy (&k, key, sizeof k);
    return (size_t) (k * 0x9E3779B97F4A7C15u);
}

static int
s_key_compare (const void *a, const void *b)
{
    uint64_t x, y;
    memcpy (&x, a, sizeof x);
    memcpy (&y, b, sizeof y);
    return x < y ? -1 : x > y ? 1 : 0;
}

static void *
s_key_dup (const void *key)
{
    uint64_t *copy = (uint64_t *) malloc (sizeof *copy);
    zr_assert (copy);
    memcpy (copy, key, sizeof *copy);
    return copy;
}

static void
s_key_free (void **key_p)
{
    free (*key_p);
    *key_p = NULL;
}

zhashx_t *
zr_feed_map_new (void)
{
    zhashx_t *map = zhashx_new ();
    zr_assert (map);
    zhashx_set_key_hasher (map, s_key_hash);
    zhashx_set_key_comparator (map, s_key_compare);
    zhashx_set_key_duplicator (map, s_key_dup);
    zhashx_set_key_destructor (map, s_key_free);
    return map;
}

void
zr_feed_records_free (zframe_t **frame_p, void *bytes)
{
    zr_assert (frame_p);
    zframe_destroy (frame_p);
    free (bytes);
}

/* ---------------------------------------------------------------- news */

zsock_t *
zr_feed_wake_connect (const char *endpoint, zr_id_t id)
{
    zr_assert (endpoint && endpoint [0]);
    zsock_t *sock = zsock_new (ZMQ_PUSH);
    zr_assert (sock);
    zsock_set_sndhwm (sock, 0);         /* at most two on their way (feed.h) */
    zsock_set_sndtimeo (sock, 0);
    if (zsock_connect (sock, "%s", endpoint) != 0) {
        zr_error ("n%u feed: cannot connect %s", id, endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

void
zr_feed_post (zr_feed_news_t *news, zsock_t *wake, zr_feed_position_t *sent,
              const zr_feed_position_t *now)
{
    zr_assert (news && wake && sent && now);
    zr_assert (now->deliverable <= now->commit);
    if (memcmp (sent, now, sizeof *now) == 0)
        return;
    pthread_mutex_lock (&news->lock);
    news->at = *now;
    news->posts++;
    pthread_mutex_unlock (&news->lock);
    *sent = *now;
    /* Set: the feed clears it before it reads the news, so either the
       feed has yet to read this post, or a wake-up is on its way. */
    if (atomic_load (&news->wake_wanted)
        && !atomic_exchange (&news->wake_pending, true))
        zmq_send (zsock_resolve (wake), "", 0, ZMQ_DONTWAIT);
        /* no high-water mark: fails only as the context ends */
}

bool
zr_feed_news_read (zr_feed_news_t *news, zsock_t *wake, zr_feed_position_t *at)
{
    zr_assert (news && wake && at);
    char byte;
    while (zmq_recv (zsock_resolve (wake), &byte, sizeof byte, ZMQ_DONTWAIT) >= 0)
        ;                               /* drained: now clear, then read */
    atomic_store (&news->wake_pending, false);
    pthread_mutex_lock (&news->lock);
    *at = news->at;
    uint64_t posts = news->posts;
    pthread_mutex_unlock (&news->lock);
    return posts > 0;
}

/* ---------------------------------------------------------------- recent */

_Static_assert ((ZR_FEED_RECENT_ENTRIES & (ZR_FEED_RECENT_ENTRIES - 1)) == 0,
                "the recent ring is indexed modulo a power of two");

void
zr_feed_news_init (zr_feed_news_t *news)
{
    zr_assert (news);
    int rc = pthread_mutex_init (&news->lock, NULL);
    zr_assert (rc == 0);
    atomic_init (&news->wake_pending, false);
    atomic_init (&news->wake_wanted, false);
    rc = pthread_mutex_init (&news->recent.lock, NULL);
    zr_assert (rc == 0);
    atomic_init (&news->recent.wanted, false);
}

static zr_entry_t *
s_recent_slot (zr_feed_recent_t *recent, zr_index_t index)
{
    return &recent->ring [index & (ZR_FEED_RECENT_ENTRIES - 1)];
}

/* Drops the oldest entry held. Under the lock. */
static void
s_recent_drop (zr_feed_recent_t *recent)
{
    zr_assert (recent->n > 0);
    zr_entry_t *entry = s_recent_slot (recent, recent->first);
    recent->bytes -= entry->size;
    zr_blob_unref (&entry->blob);
    recent->first++;
    recent->n--;
}

/* Drops every entry held. Under the lock. */
static void
s_recent_empty (zr_feed_recent_t *recent)
{
    while (recent->n > 0)
        s_recent_drop (recent);
}

void
zr_feed_news_fini (zr_feed_news_t *news)
{
    zr_assert (news);
    s_recent_empty (&news->recent);     /* no thread uses news any more */
    free (news->recent.ring);
    pthread_mutex_destroy (&news->recent.lock);
    pthread_mutex_destroy (&news->lock);
}

void
zr_feed_wake_want (zr_feed_news_t *news, bool wanted)
{
    zr_assert (news);
    atomic_store (&news->wake_wanted, wanted);
}

void
zr_feed_recent_want (zr_feed_news_t *news, bool wanted)
{
    zr_assert (news);
    atomic_store (&news->recent.wanted, wanted);
}

void
zr_feed_recent_add (zr_feed_news_t *news, zr_entry_t *entries, uint32_t n)
{
    zr_assert (news && (entries || n == 0));
    zr_feed_recent_t *recent = &news->recent;
    bool wanted = atomic_load (&recent->wanted);
    pthread_mutex_lock (&recent->lock);
    if (!wanted || n == 0) {
        s_recent_empty (recent);        /* no subscription: hold nothing */
        pthread_mutex_unlock (&recent->lock);
        return;
    }
    if (!recent->ring) {
        recent->ring = (zr_entry_t *) calloc (ZR_FEED_RECENT_ENTRIES,
                                              sizeof *recent->ring);
        zr_assert (recent->ring);       /* actors treat OOM as fatal */
    }
    if (recent->n > 0 && entries [0].index != recent->first + recent->n)
        s_recent_empty (recent);        /* not what follows: a restore */
    for (uint32_t i = 0; i < n; i++) {
        zr_entry_t *entry = &entries [i];
        zr_assert (i == 0 || entry->index == entries [0].index + i);
        while (recent->n > 0 && (recent->n == ZR_FEED_RECENT_ENTRIES
                                 || recent->bytes + entry->size > ZR_FEED_RECENT_BYTES))
            s_recent_drop (recent);
        if (recent->n == 0)
            recent->first = entry->index;
        *s_recent_slot (recent, entry->index) = *entry;    /* its reference */
        entry->blob = NULL;
        entry->data = NULL;
        recent->n++;
        recent->bytes += entry->size;
    }
    pthread_mutex_unlock (&recent->lock);
}

bool
zr_feed_recent_read (zr_feed_news_t *news, zr_index_t from, zr_index_t to,
                     size_t bytes_max, zr_entry_t **entries_p, uint32_t *n_p)
{
    zr_assert (news && from >= 1 && to >= from && entries_p && n_p);
    zr_feed_recent_t *recent = &news->recent;
    pthread_mutex_lock (&recent->lock);
    if (recent->n == 0 || from < recent->first || from - recent->first >= recent->n) {
        pthread_mutex_unlock (&recent->lock);
        return false;
    }
    zr_index_t last = recent->first + recent->n - 1;
    if (to < last)
        last = to;
    uint32_t n = 0;
    size_t bytes = 0;
    for (zr_index_t i = from; i <= last; i++) {
        size_t size = s_recent_slot (recent, i)->size;
        if (n > 0 && bytes + size > bytes_max)
            break;
        bytes += size;
        n++;
    }
    zr_entry_t *entries = (zr_entry_t *) malloc (n * sizeof *entries);
    zr_assert (entries);
    for (uint32_t k = 0; k < n; k++) {
        entries [k] = *s_recent_slot (recent, from + k);
        if (entries [k].blob)
            zr_blob_ref (entries [k].blob);
    }
    pthread_mutex_unlock (&recent->lock);
    *entries_p = entries;
    *n_p = n;
    return true;
}

/* ---------------------------------------------------------------- batches */

static s_batch_t *
s_batch_ref (s_batch_t *batch)
{
    zr_assert (batch && batch->refs > 0);
    batch->refs++;
    return batch;
}

static void
s_batch_unref (s_batch_t **batch_p)
{
    s_batch_t *batch = *batch_p;
    if (!batch)
        return;
    zr_assert (batch->refs > 0);
    if (--batch->refs == 0) {
        zr_entries_destroy (&batch->entries, batch->n);
        free (batch->bus);
        free (batch);
    }
    *batch_p = NULL;
}

static bool
s_batch_holds (const s_batch_t *batch, zr_index_t index)
{
    return batch && index >= batch->first && index - batch->first < batch->n;
}

static zr_index_t
s_batch_last (const s_batch_t *batch)
{
    return batch->first + batch->n - 1;
}

/* Decodes the publications of a batch read (feed.h: once per batch). */
static void
s_batch_decode (self_t *self, s_batch_t *batch)
{
    batch->bus = (zr_bus_entry_t *) calloc (batch->n, sizeof *batch->bus);
    zr_assert (batch->bus);
    for (uint32_t i = 0; i < batch->n; i++) {
        const zr_entry_t *entry = &batch->entries [i];
        zr_assert (entry->index == batch->first + i);
        if (entry->type != ZR_ENTRY_BUS)
            continue;
        if (zr_bus_entry_decode (entry->data, entry->size, &batch->bus [i]) != 0) {
            memset (&batch->bus [i], 0, sizeof batch->bus [i]);
            zr_warning ("n%u feed: bus entry %llu is malformed; not delivered",
                        self->args.id, (unsigned long long) entry->index);
        }
    }
}

/* Reads [from, deliverable] into a new batch (one reference: the
   caller's). Returns 0, or the reader's ZR_E* code. */
static int
s_batch_read (self_t *self, zr_index_t from, s_batch_t **batch_p)
{
    zr_assert (from >= 1 && from <= self->at.deliverable);
    if (!self->reader)
        self->reader = zr_wal_reader_new (self->args.data_dir);
    if (!self->reader) {
        zr_error ("n%u feed: cannot open the WAL in %s", self->args.id,
                  self->args.data_dir);
        return ZR_EIO;
    }
    zr_entry_t *entries = NULL;
    uint32_t n = 0;
    int rc = 0;
    /* The ring is a copy of the log's tail, never more: below the first
       index the log holds, the WAL says what a snapshot took. */
    if (from < self->at.first
        || !zr_feed_recent_read (self->args.news, from, self->at.deliverable,
                                 ZR_FEED_READ_BYTES, &entries, &n))
        rc = zr_wal_read (self->reader, from, self->at.deliverable,
                          ZR_FEED_READ_BYTES, self->at.deliverable, &entries, &n);
    if (rc == 0 && n == 0)
        rc = ZR_ECORRUPT;               /* durable entries must be there */
    if (rc != 0) {
        zr_entries_destroy (&entries, n);
        if (rc != ZR_ECOMPACTED)
            zr_error ("n%u feed: cannot read entry %llu: %s", self->args.id,
                      (unsigned long long) from, zr_strerror (rc));
        return rc;
    }
    self->round_reads++;
    s_batch_t *batch = (s_batch_t *) calloc (1, sizeof *batch);
    zr_assert (batch);
    *batch = (s_batch_t) {.entries = entries, .n = n, .first = from, .refs = 1};
    s_batch_decode (self, batch);
    *batch_p = batch;
    return 0;
}

/* Moves sub's position past an index compaction took: to the next
   index, or to the first one held if that is further. */
static void
s_sub_past_compacted (self_t *self, s_sub_t *sub)
{
    sub->pos = sub->pos + 1 > self->at.first ? sub->pos + 1 : self->at.first;
}

/* Makes sub's batch one that holds index: the tail if it does, else a
   new read, which becomes the tail if it reaches further. Returns 0 or
   the reader's ZR_E* code. */
static int
s_sub_fetch (self_t *self, s_sub_t *sub, zr_index_t index)
{
    s_batch_unref (&sub->batch);
    if (s_batch_holds (self->tail, index)) {
        sub->batch = s_batch_ref (self->tail);
        return 0;
    }
    int rc = s_batch_read (self, index, &sub->batch);
    if (rc == 0 && (!self->tail || s_batch_last (sub->batch) > s_batch_last (self->tail))) {
        s_batch_unref (&self->tail);
        self->tail = s_batch_ref (sub->batch);
    }
    return rc;
}

/* ---------------------------------------------------------------- output */

/* Sends the FEED message being built, if any. On failure (the pipe is
   full: the bound broke, or the application is gone) it is held and
   retried (feed.h); nothing more is read meanwhile. */
static void
s_self_flush (self_t *self)
{
    if (self->n_out == 0) {
        self->held = false;
        return;
    }
    if (self->bytes_capacity > self->bytes_size) {
        /* Only what the deliveries use crosses (feed.h, Memory). */
        uint8_t *fit = (uint8_t *) realloc (self->bytes, self->bytes_size);
        if (fit) {
            self->bytes = fit;
            self->bytes_capacity = self->bytes_size;
        }
    }
    if (self->bytes)
        zr_handoff_send (self->bytes);
    zmsg_t *msg = zmsg_new ();
    zr_assert (msg);
    zmsg_addstr (msg, zr_events_verbs [ZR_EVENTS_FEED].verb);
    zmsg_addmem (msg, self->out, self->n_out * sizeof (zr_feed_record_t));
    zmsg_addmem (msg, &self->bytes, sizeof self->bytes);
    if (zmsg_send (&msg, self->events) != 0) {
        zmsg_destroy (&msg);
        if (!self->held)
            zr_warning ("n%u feed: the events socket is full; holding %u records",
                        self->args.id, self->n_out);
        self->held = true;
        return;
    }
    self->n_out = 0;
    self->bytes = NULL;                 /* they went with the message */
    self->bytes_size = 0;
    self->bytes_capacity = 0;
    self->held = false;
}

/* Appends a record (its bytes already appended), sending the message
   when full. */
static void
s_self_record (self_t *self, const zr_feed_record_t *record)
{
    zr_assert (!self->held && self->n_out < ZR_FEED_MSG_RECORDS);
    self->out [self->n_out++] = *record;
    if (self->n_out == ZR_FEED_MSG_RECORDS || self->bytes_size >= ZR_FEED_MSG_BYTES)
        s_self_flush (self);
}

/* Appends a SUBSCRIBED or UNSUBSCRIBED record for sub. */
static void
s_self_answer (self_t *self, const s_sub_t *sub, int type, int status,
               zr_index_t first)
{
    zr_assert (type == ZRAFT_EVENT_SUBSCRIBED || type == ZRAFT_EVENT_UNSUBSCRIBED);
    zr_feed_record_t record = {.sub = sub->id, .type = type, .status = status,
                               .first = first, .last = self->at.commit};
    s_self_record (self, &record);
}

/* Says whether the feed wants the node's wake-ups (feed.h): while a
   subscription has credit, or one waits for the first news. */
static void
s_self_want (self_t *self)
{
    zr_feed_wake_want (self->args.news, self->credited > 0
                                        || (!self->known && zhashx_size (self->subs) > 0));
}

/* Sets sub's credit, counting the subscriptions that have some. */
static void
s_sub_credit_set (self_t *self, s_sub_t *sub, uint32_t credit)
{
    if (sub->credit == 0 && credit > 0)
        self->credited++;
    else
    if (sub->credit > 0 && credit == 0)
        self->credited--;
    sub->credit = credit;
}

/* Appends the DELIVER of publication entry (bus: decoded) to sub: its
   payload, subject and a NUL to the message's bytes, and its record. */
static void
s_self_deliver (self_t *self, s_sub_t *sub, const zr_entry_t *entry,
                const zr_bus_entry_t *bus)
{
    zr_assert (sub->credit > 0 && bus->op == ZR_BUS_PUBLISH);
    size_t size = (size_t) bus->payload_size + bus->subject_size + 1;
    if (self->bytes_capacity - self->bytes_size < size) {
        size_t capacity = self->bytes_capacity ? self->bytes_capacity
                                               : ZR_FEED_BYTES_MIN;
        while (capacity - self->bytes_size < size)
            capacity *= 2;
        self->bytes = (uint8_t *) realloc (self->bytes, capacity);
        zr_assert (self->bytes);        /* actors treat OOM as fatal */
        self->bytes_capacity = capacity;
    }
    uint8_t *at = self->bytes + self->bytes_size;
    if (bus->payload_size)
        memcpy (at, bus->payload, bus->payload_size);
    memcpy (at + bus->payload_size, bus->subject, bus->subject_size);
    at [size - 1] = '\0';
    zr_feed_record_t record = {.sub = sub->id, .type = ZRAFT_EVENT_DELIVER,
                               .index = entry->index, .term = entry->term,
                               .offset = self->bytes_size,
                               .size = bus->payload_size,
                               .subject_size = bus->subject_size};
    self->bytes_size += size;
    sub->delivered = true;
    s_sub_credit_set (self, sub, sub->credit - 1);
    self->round_records++;
    s_self_record (self, &record);
}

/* ---------------------------------------------------------------- subscriptions */

/* Frees sub, taking it out of the map and the ring. */
static void
s_sub_remove (self_t *self, s_sub_t **sub_p)
{
    s_sub_t *sub = *sub_p;
    zr_assert (zhashx_lookup (self->subs, &sub->id) == sub);
    zhashx_delete (self->subs, &sub->id);
    s_sub_credit_set (self, sub, 0);
    zr_feed_recent_want (self->args.news, zhashx_size (self->subs) > 0);
    zlistx_delete (self->ring, sub->handle);
    s_batch_unref (&sub->batch);
    free (sub);
    *sub_p = NULL;
}

/* Ends sub with an UNSUBSCRIBED: rc 0 (asked), ZR_ECOMPACTED (ERANGE:
   its position was compacted), or another reader error (EIO). */
static void
s_sub_end (self_t *self, s_sub_t **sub_p, int rc)
{
    s_sub_t *sub = *sub_p;
    int status = rc == 0 ? 0 : rc == ZR_ECOMPACTED ? ZRAFT_ERANGE : ZRAFT_EIO;
    zr_index_t first = self->at.first;
    if (rc == ZR_ECOMPACTED && first <= sub->pos)
        first = sub->pos + 1;           /* the node's news is older than the WAL */
    s_self_answer (self, sub, ZRAFT_EVENT_UNSUBSCRIBED, status, first);
    s_sub_remove (self, sub_p);
}

static bool
s_sub_matches (const s_sub_t *sub, const zr_bus_entry_t *bus)
{
    return bus->op == ZR_BUS_PUBLISH && bus->subject_size >= sub->prefix_size
           && memcmp (bus->subject, sub->prefix, sub->prefix_size) == 0;
}

/* Starts a FROM_LAST search's next window, below the last (feed.h). */
static void
s_sub_window (self_t *self, s_sub_t *sub, zr_index_t hi)
{
    zr_index_t lowest = self->at.first;
    sub->hi = hi;
    sub->lo = hi >= sub->window ? hi - sub->window + 1 : 1;
    if (sub->lo < lowest)
        sub->lo = lowest;
    sub->pos = sub->lo;
    sub->found = 0;
}

/* Resolves where sub starts, now that the log's position is known, and
   answers SUBSCRIBED. Returns false if it ended (ERANGE). */
static bool
s_sub_open (self_t *self, s_sub_t **sub_p)
{
    s_sub_t *sub = *sub_p;
    const zr_feed_position_t *at = &self->at;
    if (sub->from_mode == ZRAFT_FROM_INDEX && sub->from < at->first) {
        s_self_answer (self, sub, ZRAFT_EVENT_SUBSCRIBED, ZRAFT_ERANGE, at->first);
        s_sub_remove (self, sub_p);
        return false;
    }
    sub->state = S_ACTIVE;
    if (sub->from_mode == ZRAFT_FROM_INDEX)
        sub->pos = sub->from;
    else
    if (sub->from_mode == ZRAFT_FROM_FIRST)
        sub->pos = at->first;
    else
    if (sub->from_mode == ZRAFT_FROM_NEXT || at->commit < at->first)
        sub->pos = at->commit + 1;      /* LAST with nothing held: what follows */
    else {
        zr_assert (sub->from_mode == ZRAFT_FROM_LAST);
        sub->state = S_SEARCHING;
        sub->top = at->commit;
        sub->window = ZR_FEED_SEARCH_MIN;
        s_sub_window (self, sub, sub->top);
    }
    s_self_answer (self, sub, ZRAFT_EVENT_SUBSCRIBED, 0, at->first);
    return true;
}

/* A FROM_LAST search read its window: start there, or search the next
   one, or start after top if nothing older is held. */
static void
s_sub_search_next (self_t *self, s_sub_t *sub)
{
    zr_assert (sub->pos > sub->hi);
    if (sub->found) {
        sub->state = S_ACTIVE;
        sub->pos = sub->found;
    }
    else
    if (sub->bottom || sub->lo <= self->at.first) {
        sub->state = S_ACTIVE;
        sub->pos = sub->top + 1;
    }
    else {
        if (sub->window < ZR_FEED_SEARCH_MAX)
            sub->window *= 2;
        s_sub_window (self, sub, sub->lo - 1);
    }
}

/* One turn of a FROM_LAST search: reads on in its window. Returns false
   if sub ended (the WAL failed). */
static bool
s_sub_search (self_t *self, s_sub_t **sub_p)
{
    s_sub_t *sub = *sub_p;
    if (sub->credit == 0 || self->at.deliverable < sub->top)
        return true;                    /* no credit: no reads; or the window
                                           is not readable yet */
    bool fetched = false;
    for (uint32_t examined = 0; sub->pos <= sub->hi && examined < ZR_FEED_TURN_ENTRIES;
         examined++) {
        if (!s_batch_holds (sub->batch, sub->pos)) {
            if (fetched || self->round_reads >= ZR_FEED_ROUND_READS)
                return true;
            fetched = true;
            int rc = s_sub_fetch (self, sub, sub->pos);
            if (rc == ZR_ECOMPACTED) {
                /* Compaction took a prefix: nothing below pos is held. */
                sub->bottom = true;
                sub->found = 0;
                s_sub_past_compacted (self, sub);
                continue;
            }
            if (rc != 0) {
                s_sub_end (self, sub_p, rc);
                return false;
            }
        }
        if (s_sub_matches (sub, &sub->batch->bus [sub->pos - sub->batch->first]))
            sub->found = sub->pos;
        sub->pos++;
    }
    if (sub->pos > sub->hi)
        s_sub_search_next (self, sub);
    return true;
}

/* One turn of an active subscription (feed.h, Fairness). Returns false
   if sub ended. */
static bool
s_sub_serve (self_t *self, s_sub_t **sub_p)
{
    s_sub_t *sub = *sub_p;
    bool fetched = false;
    uint32_t records = 0;
    for (uint32_t examined = 0;
         sub->credit > 0 && sub->pos <= self->at.deliverable && !self->held
         && records < ZR_FEED_TURN_RECORDS && examined < ZR_FEED_TURN_ENTRIES;
         examined++) {
        if (!s_batch_holds (sub->batch, sub->pos)) {
            if (fetched || self->round_reads >= ZR_FEED_ROUND_READS)
                break;
            fetched = true;
            int rc = s_sub_fetch (self, sub, sub->pos);
            if (rc == ZR_ECOMPACTED && sub->from_mode == ZRAFT_FROM_FIRST
                && !sub->delivered) {
                /* FIRST asked for the first index held, and nothing was
                   delivered from the one it found: the next held is as
                   good (feed.h). */
                s_sub_past_compacted (self, sub);
                continue;
            }
            if (rc != 0) {
                s_sub_end (self, sub_p, rc);
                return false;
            }
        }
        uint32_t i = (uint32_t) (sub->pos - sub->batch->first);
        if (s_sub_matches (sub, &sub->batch->bus [i])) {
            s_self_deliver (self, sub, &sub->batch->entries [i], &sub->batch->bus [i]);
            records++;
        }
        sub->pos++;
    }
    return true;
}

/* True if a turn of sub would do something now. */
static bool
s_sub_has_work (const self_t *self, const s_sub_t *sub)
{
    if (sub->state == S_OPENING)
        return self->known;
    if (sub->state == S_SEARCHING)
        return sub->credit > 0 && self->at.deliverable >= sub->top;
    return sub->credit > 0 && sub->pos <= self->at.deliverable;
}

/* Gives sub a turn; returns false if it ended. */
static bool
s_sub_turn (self_t *self, s_sub_t **sub_p)
{
    s_sub_t *sub = *sub_p;
    if (sub->state == S_OPENING && (!self->known || !s_sub_open (self, sub_p)))
        return *sub_p != NULL;
    if (sub->state == S_SEARCHING)
        return s_sub_search (self, sub_p);
    return s_sub_serve (self, sub_p);
}

/* A round: each subscription gets a turn, round robin, within the
   round's budget (feed.h, Fairness); then the records leave. */
static void
s_self_round (self_t *self)
{
    self->round_reads = 0;
    self->round_records = 0;
    self->work = false;
    for (size_t turns = zlistx_size (self->ring); turns > 0 && !self->held; turns--) {
        if (self->round_reads >= ZR_FEED_ROUND_READS
            || self->round_records >= ZR_FEED_ROUND_RECORDS) {
            self->work = true;          /* the rest next round */
            break;
        }
        s_sub_t *sub = (s_sub_t *) zlistx_first (self->ring);
        zr_assert (sub);
        if (!s_sub_turn (self, &sub))
            continue;
        zlistx_move_end (self->ring, sub->handle);
        if (s_sub_has_work (self, sub))
            self->work = true;
    }
    s_self_flush (self);
}

/* ---------------------------------------------------------------- input */

static void
s_self_subscribe (self_t *self, const zr_verb_arg_t *args)
{
    uint64_t id = args [0].u;
    zr_assert (!zhashx_lookup (self->subs, &id));       /* the handle checks */
    zr_assert (zhashx_size (self->subs) < self->args.subs_max);
    zr_assert (args [1].u <= ZRAFT_FROM_NEXT && args [3].u <= ZRAFT_CREDIT_MAX);
    s_sub_t *sub = (s_sub_t *) calloc (1, sizeof *sub);
    zr_assert (sub);
    sub->id = id;
    sub->state = S_OPENING;
    sub->from_mode = (uint32_t) args [1].u;
    sub->from = args [2].u;
    s_sub_credit_set (self, sub, (uint32_t) args [3].u);
    sub->prefix_size = strlen (args [4].s);
    zr_assert (sub->prefix_size <= ZRAFT_SUBJECT_MAX);
    memcpy (sub->prefix, args [4].s, sub->prefix_size);
    zhashx_insert (self->subs, &id, sub);
    zr_feed_recent_want (self->args.news, true);
    sub->handle = zlistx_add_end (self->ring, sub);
    zr_assert (sub->handle);
}

/* Handles one request from the handle (feed.h). */
static void
s_self_request (self_t *self, int verb, const zr_verb_arg_t *args)
{
    s_sub_t *sub = verb == ZR_FEED_SUBSCRIBE ? NULL
                 : (s_sub_t *) zhashx_lookup (self->subs, &args [0].u);
    if (verb == ZR_FEED_SUBSCRIBE)
        s_self_subscribe (self, args);
    else
    if (verb == ZR_FEED_CREDIT && sub) {
        uint64_t credit = (uint64_t) sub->credit + args [1].u;
        s_sub_credit_set (self, sub, credit < ZRAFT_CREDIT_MAX ? (uint32_t) credit
                                                               : ZRAFT_CREDIT_MAX);
    }
    else
    if (verb == ZR_FEED_UNSUBSCRIBE && sub)
        s_sub_end (self, &sub, 0);
    /* else: the subscription ended already (feed.h) */
}

/* Takes the requests waiting, up to a pipe's worth. */
static void
s_self_handle_requests (self_t *self)
{
    for (int n = 0; n < ZR_FEED_QUEUE_MAX && !self->held
                    && (zsock_events (self->requests) & ZMQ_POLLIN); n++) {
        zr_verb_msg_t msg;
        int verb = zr_verb_recv (self->requests, zr_feed_verbs, &msg);
        if (verb < 0) {
            self->terminated = true;    /* the context ended */
            break;
        }
        s_self_request (self, verb, msg.args);
        zr_verb_msg_reset (&msg);
    }
    self->work = true;
}

/* Takes the node's newest position, if one was posted. Done after every
   wait (a wake-up or not), so that a subscription opens with the
   freshest news. */
static void
s_self_handle_news (self_t *self)
{
    zr_feed_position_t at;
    if (!zr_feed_news_read (self->args.news, self->wake, &at))
        return;
    if (memcmp (&at, &self->at, sizeof at) == 0 && self->known)
        return;
    if (at.deliverable > self->at.deliverable)
        self->at.deliverable = at.deliverable;  /* never goes back (feed.h) */
    self->at.first = at.first;
    self->at.commit = at.commit;
    self->known = true;
    self->work = true;
}

static void
s_self_handle_pipe (self_t *self)
{
    zr_verb_msg_t msg;
    /* Only $TERM comes on the pipe: the empty table asserts on the rest. */
    int verb = zr_verb_recv_table (self->pipe, zr_feed_verbs, 0, &msg);
    zr_assert (verb < 0);
    self->terminated = true;
}

/* ---------------------------------------------------------------- actor */

static void s_self_destroy (self_t **self_p);

/* The events PUSH's high-water mark: all the records credit allows
   (feed.h), or no limit if that does not fit an int. */
static int
s_events_hwm (uint32_t subs_max)
{
    uint64_t bound = (uint64_t) subs_max * (ZRAFT_CREDIT_MAX + 2) + 16;
    return bound < INT32_MAX ? (int) bound : 0;
}

/* Returns NULL (having logged why) if a socket cannot be set up. */
static self_t *
s_self_new (zsock_t *pipe, const zr_feed_args_t *args)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    zr_assert (self);
    self->pipe = pipe;
    self->args = *args;
    zr_assert (args->subs_max >= 1 && args->subs_max <= ZR_FEED_SUBS_MAX);
    self->subs = zr_feed_map_new ();
    self->ring = zlistx_new ();
    self->out = (zr_feed_record_t *) calloc (ZR_FEED_MSG_RECORDS, sizeof *self->out);
    self->requests = zsock_new (ZMQ_PAIR);
    self->wake = zsock_new (ZMQ_PULL);
    self->events = zsock_new (ZMQ_PUSH);
    zr_assert (self->ring && self->out && self->requests && self->wake
               && self->events);
    zsock_set_rcvhwm (self->requests, ZR_FEED_QUEUE_MAX);
    zsock_set_rcvhwm (self->wake, 0);
    zsock_set_sndhwm (self->events, s_events_hwm (args->subs_max));
    zsock_set_sndtimeo (self->events, 0);
    if (zsock_connect (self->requests, "%s", args->requests_endpoint) != 0
        || zsock_bind (self->wake, "%s", args->wake_endpoint) != 0
        || zsock_connect (self->events, "%s", args->events_endpoint) != 0) {
        zr_error ("n%u feed: cannot set up its sockets (%s)", args->id,
                  zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->requests, self->wake, NULL);
    zr_assert (self->poller);
    zpoller_set_nonstop (self->poller, true);   /* ended by $TERM only */
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    s_sub_t *sub;
    while (self->ring && (sub = (s_sub_t *) zlistx_first (self->ring)))
        s_sub_remove (self, &sub);
    zhashx_destroy (&self->subs);
    zlistx_destroy (&self->ring);
    s_batch_unref (&self->tail);
    free (self->bytes);
    free (self->out);
    zr_wal_reader_destroy (&self->reader);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->requests);
    zsock_destroy (&self->wake);
    zsock_destroy (&self->events);
    free (self);
    *self_p = NULL;
}

/* Makes this thread background work (feed.h, Scheduling): SCHED_BATCH,
   nice raised by ZR_FEED_NICE (at most 19). Linux only: its threads
   have their own nice values. A refusal is logged and ignored. */
static void
s_background (zr_id_t id)
{
#if defined (__linux__)
    struct sched_param param = {.sched_priority = 0};
    int rc = pthread_setschedparam (pthread_self (), SCHED_BATCH, &param);
    if (rc)
        zr_warning ("n%u feed: SCHED_BATCH refused (%s); delivering in the "
                    "normal class", id, strerror (rc));
    id_t tid = (id_t) syscall (SYS_gettid);
    errno = 0;
    int nice_now = getpriority (PRIO_PROCESS, tid);
    if (errno == 0 && nice_now < 19)    /* -1 and errno: refused */
        setpriority (PRIO_PROCESS, tid, nice_now + ZR_FEED_NICE > 19
                                        ? 19 : nice_now + ZR_FEED_NICE);
    if (errno)
        zr_warning ("n%u feed: nice %+d refused (%s); delivering at the "
                    "server's priority", id, ZR_FEED_NICE, strerror (errno));
#else
    (void) id;
#endif
}

void
zr_feed_actor (zsock_t *pipe, void *args)
{
    const zr_feed_args_t *feed_args = (const zr_feed_args_t *) args;
    zr_actor_name ("feed", feed_args->id);
    if (feed_args->background)
        s_background (feed_args->id);
    self_t *self = s_self_new (pipe, feed_args);
    if (zr_actor_ready (pipe, args, self ? 0 : ZR_EINVAL) != 0)
        return;
    while (!self->terminated) {
        int timeout = self->held ? ZR_FEED_RETRY_MS : self->work ? 0 : -1;
        void *which = zr_actor_wait (self->poller, timeout, &self->terminated);
        if (which == pipe)
            s_self_handle_pipe (self);
        else
        if (which == self->requests)
            s_self_handle_requests (self);
        if (self->held)
            s_self_flush (self);
        s_self_want (self);             /* before the news it must not miss */
        s_self_handle_news (self);
        if (!self->held && !self->terminated)
            s_self_round (self);
        s_self_want (self);             /* credit spent: no more wake-ups */
    }
    s_self_destroy (&self);
}
