/*  =========================================================================
    bus - the message bus's log entries and replicated state (see bus.h)

    Design notes
    ------------
    A producer's window lives in a ring of slots, one per seq: slot
    (seq % cap) holds the index and term of that seq's publication, or
    index 0 if it was not applied. Invariants, checked by s_producer_check:
    (2) low <= high and high - low < cap <= window: every seq remembered
        lies in [low, high], so no two of them share a slot. low is a
        lower bound (the lowest seq that may be remembered), not
        necessarily a seq applied.
    (3) A slot holds either nothing (index 0) or the publication of the
        one seq of (high - cap, high] with its residue: advancing high
        clears the slots of the seqs it passes over, so a slot never
        speaks for a forgotten seq.
    (4) cap starts at S_RING_MIN (or window if smaller) and only grows
        (doubling, at most window), when a seq to remember would not
        fit (2).
    Producers form a list from least to most recently heard from (the
    LRU order, by apply order: deterministic), and a zhashx by id with a
    keyed hash (ids come from clients: a chain of colliding ids is not
    theirs to build).
    =========================================================================
*/
#include "actors.h"
#include "bus.h"

#include <sys/random.h>

#define S_RING_MIN 16u                  /* first ring of a producer */
#define S_PUBLISH_FIELDS 5              /* op, subject, payload, producer, seq */
#define S_CURSOR_FIELDS 3               /* op, name, index */
#define S_SECTION_FIELDS 3              /* version, producers, cursors */
#define S_TRIPLE 3                      /* seq, index, term */

_Static_assert (ZR_BUS_CURSORS_MAX * (2 + ZRAFT_CURSOR_NAME_MAX + 9) + 5
                <= ZRAFT_RESULT_BYTES_MAX, "every cursor fits a RESULT");
_Static_assert (ZRAFT_SUBJECT_MAX < 256 && ZRAFT_CURSOR_NAME_MAX < 256,
                "names fit a str8");

/* ---------------------------------------------------------------- entry codec */

/* Reads an unsigned integer at *pos. Returns 0 or -1. */
static int
s_read_uint (const uint8_t *data, size_t size, size_t *pos, uint64_t *value)
{
    zr_msgpack_item_t item;
    if (zr_msgpack_walk_item (data, size, pos, &item) != 0
        || item.kind != ZR_MSGPACK_UINT)
        return -1;
    *value = item.value;
    return 0;
}

/* Reads a str of 1..max bytes without NUL at *pos. Returns 0 or -1. */
static int
s_read_name (const uint8_t *data, size_t size, size_t *pos, size_t max,
             const char **name, uint32_t *name_size)
{
    zr_msgpack_item_t item;
    if (zr_msgpack_walk_item (data, size, pos, &item) != 0
        || item.kind != ZR_MSGPACK_STR || item.value < 1 || item.value > max
        || memchr (item.body, 0, (size_t) item.value))
        return -1;
    *name = (const char *) item.body;
    *name_size = (uint32_t) item.value;
    return 0;
}

/* Reads PUBLISH's fields after the op. Returns 0 or -1. */
static int
s_decode_publish (const uint8_t *data, size_t size, size_t *pos,
                  zr_bus_entry_t *out)
{
    if (s_read_name (data, size, pos, ZRAFT_SUBJECT_MAX, &out->subject,
                     &out->subject_size) != 0)
        return -1;
    zr_msgpack_item_t item;
    if (zr_msgpack_walk_item (data, size, pos, &item) != 0
        || item.kind != ZR_MSGPACK_BIN || item.value > ZR_ENTRY_BYTES_MAX)
        return -1;
    out->payload = item.body;
    out->payload_size = (uint32_t) item.value;
    if (s_read_uint (data, size, pos, &out->producer) != 0)
        return -1;
    return s_read_uint (data, size, pos, &out->seq);
}

int
zr_bus_entry_decode (const void *data, size_t size, zr_bus_entry_t *out)
{
    zr_assert (out);
    zr_assert (data || size == 0);
    memset (out, 0, sizeof *out);
    const uint8_t *bytes = (const uint8_t *) data;
    size_t pos = 0;
    zr_msgpack_item_t head;
    uint64_t op = 0;
    int rc = zr_msgpack_walk_item (bytes, size, &pos, &head) == 0
             && head.kind == ZR_MSGPACK_ARRAY
             && s_read_uint (bytes, size, &pos, &op) == 0 ? 0 : -1;
    if (rc == 0 && op == ZR_BUS_PUBLISH && head.value == S_PUBLISH_FIELDS)
        rc = s_decode_publish (bytes, size, &pos, out);
    else
    if (rc == 0 && op == ZR_BUS_CURSOR && head.value == S_CURSOR_FIELDS) {
        rc = s_read_name (bytes, size, &pos, ZRAFT_CURSOR_NAME_MAX, &out->name,
                          &out->name_size);
        if (rc == 0)
            rc = s_read_uint (bytes, size, &pos, &out->index);
    }
    else
        rc = -1;
    if (rc == 0 && pos != size)
        rc = -1;                        /* trailing bytes */
    if (rc == 0)
        out->op = (uint8_t) op;
    else
        memset (out, 0, sizeof *out);
    return rc;
}

/* Returns true if the text of size bytes is a valid name (1..max, no NUL). */
static bool
s_name_valid (const char *text, size_t size, size_t max)
{
    return text && size >= 1 && size <= max && !memchr (text, 0, size);
}

static void
s_pack_str (msgpack_packer *pk, const char *text, size_t size)
{
    msgpack_pack_str (pk, size);
    msgpack_pack_str_body (pk, text, size);
}

/* Returns true if entry may be encoded (what the decoder accepts). */
static bool
s_entry_valid (const zr_bus_entry_t *entry)
{
    if (entry->op == ZR_BUS_PUBLISH)
        return s_name_valid (entry->subject, entry->subject_size, ZRAFT_SUBJECT_MAX)
               && (entry->payload_size == 0 || entry->payload)
               && entry->payload_size <= ZR_ENTRY_BYTES_MAX;
    return entry->op == ZR_BUS_CURSOR
           && s_name_valid (entry->name, entry->name_size, ZRAFT_CURSOR_NAME_MAX);
}

/* Packs a valid entry; returns msgpack's result (0, or -1 when the
   output refused). */
static int
s_pack_entry (msgpack_packer *pk, const zr_bus_entry_t *entry)
{
    bool publish = entry->op == ZR_BUS_PUBLISH;
    int rc = msgpack_pack_array (pk, publish ? S_PUBLISH_FIELDS : S_CURSOR_FIELDS);
    rc |= msgpack_pack_uint8 (pk, entry->op);
    if (publish) {
        rc |= msgpack_pack_str (pk, entry->subject_size);
        rc |= msgpack_pack_str_body (pk, entry->subject, entry->subject_size);
        rc |= msgpack_pack_bin (pk, entry->payload_size);
        if (entry->payload_size > 0)
            rc |= msgpack_pack_bin_body (pk, entry->payload, entry->payload_size);
        rc |= msgpack_pack_uint64 (pk, entry->producer);
        rc |= msgpack_pack_uint64 (pk, entry->seq);
    }
    else {
        rc |= msgpack_pack_str (pk, entry->name_size);
        rc |= msgpack_pack_str_body (pk, entry->name, entry->name_size);
        rc |= msgpack_pack_uint64 (pk, entry->index);
    }
    return rc;
}

size_t
zr_bus_entry_size (const zr_bus_entry_t *entry)
{
    zr_assert (entry);
    if (!s_entry_valid (entry))
        return 0;
    zr_msgpack_out_t out = {NULL, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, zr_msgpack_out_write);
    s_pack_entry (&pk, entry);
    return out.used <= ZR_ENTRY_BYTES_MAX ? out.used : 0;
}

size_t
zr_bus_entry_write (const zr_bus_entry_t *entry, uint8_t *buf, size_t len)
{
    zr_assert (entry && buf);
    if (!s_entry_valid (entry))
        return 0;
    zr_msgpack_out_t out = {buf, len, 0};
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, zr_msgpack_out_write);
    return s_pack_entry (&pk, entry) == 0 ? out.used : 0;
}

void *
zr_bus_entry_encode (const zr_bus_entry_t *entry, size_t *size_p)
{
    zr_assert (entry && size_p);
    *size_p = 0;
    size_t size = zr_bus_entry_size (entry);
    uint8_t *data = size ? (uint8_t *) malloc (size) : NULL;
    if (!data)
        return NULL;                    /* invalid, too big, or out of memory */
    size_t written = zr_bus_entry_write (entry, data, size);
    zr_assert (written == size);
    *size_p = size;
    return data;
}

/* ---------------------------------------------------------------- producers */

typedef struct {
    zr_index_t index;                   /* the publication's, 0: not applied */
    zr_term_t term;                     /* its term */
} s_slot_t;

typedef struct {
    uint64_t id;                        /* producer id, >= 1 */
    size_t hash;                        /* keyed hash of id (zhashx) */
} s_key_t;

typedef struct _s_producer_t s_producer_t;
struct _s_producer_t {
    s_key_t key;                        /* the table's key (points here) */
    uint64_t high;                      /* highest seq applied */
    uint64_t low;                       /* lowest seq that may be remembered (2) */
    uint32_t cap;                       /* slots in ring, S_RING_MIN..window (4) */
    s_slot_t *ring;                     /* slot of seq s: ring [s % cap] (3) */
    s_producer_t *older;                /* LRU neighbours, NULL at the ends */
    s_producer_t *newer;
};

/* A cursor's value (its name is the table's key). */
typedef struct {
    uint64_t index;                     /* last index its consumer processed */
} s_cursor_t;

struct _zr_bus_t {
    uint32_t window;                    /* seqs remembered per producer */
    uint32_t producers_max;             /* producers remembered */
    uint64_t hash_key;                  /* keys the producer table's hash */
    zhashx_t *producers;                /* s_key_t * -> s_producer_t * (owned) */
    s_producer_t *oldest;               /* LRU list: least recently heard */
    s_producer_t *newest;               /* ...most recently heard */
    zhashx_t *cursors;                  /* name -> s_cursor_t * (owned);
                                           size <= ZR_BUS_CURSORS_MAX */
    zr_index_t applied;                 /* last index applied, for order */
};

/* Checks invariants (2) to (4) of a producer. */
static void
s_producer_check (const zr_bus_t *bus, const s_producer_t *p)
{
    zr_assert (p->key.id >= 1 && p->ring);
    zr_assert (p->low <= p->high && p->high - p->low < p->cap);       /* (2) */
    zr_assert (p->cap <= bus->window);                              /* (4) */
}

static uint64_t
s_mix (uint64_t x)
{
    /* splitmix64's finaliser: a bijection that spreads every bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static s_key_t
s_key (const zr_bus_t *bus, uint64_t id)
{
    s_key_t key = {id, (size_t) s_mix (id ^ bus->hash_key)};
    return key;
}

static size_t
s_key_hash (const void *key)
{
    return ((const s_key_t *) key)->hash;
}

static int
s_key_compare (const void *a, const void *b)
{
    return ((const s_key_t *) a)->id != ((const s_key_t *) b)->id;
}

/* Returns a table keyed by s_key_t pointers (stored as given; freed
   with key_destructor if not NULL), its items freed with destructor. */
static zhashx_t *
s_id_table_new (zhashx_destructor_fn *destructor,
                zhashx_destructor_fn *key_destructor)
{
    zhashx_t *table = zhashx_new ();
    zr_assert (table);
    zhashx_set_key_hasher (table, s_key_hash);
    zhashx_set_key_comparator (table, s_key_compare);
    zhashx_set_key_duplicator (table, NULL);
    zhashx_set_key_destructor (table, key_destructor);
    zhashx_set_destructor (table, destructor);
    return table;
}

static void
s_producer_free (void **item_p)
{
    s_producer_t *p = (s_producer_t *) *item_p;
    if (p) {
        free (p->ring);
        free (p);
        *item_p = NULL;
    }
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

/* Returns a ring cap holding span seqs: at least S_RING_MIN (or the
   window if smaller), doubling, at most the window. */
static uint32_t
s_cap_for (uint32_t window, uint64_t span)
{
    uint64_t cap = S_RING_MIN;
    while (cap < span && cap < window)
        cap *= 2;
    return (uint32_t) (cap < window ? cap : window);
}

/* Rebuilds p's ring with cap slots (>= the span [low, high]). */
static void
s_producer_resize (s_producer_t *p, uint32_t cap)
{
    zr_assert (cap >= p->high - p->low + 1);
    s_slot_t *ring = (s_slot_t *) calloc (cap, sizeof *ring);
    zr_assert (ring);
    for (uint64_t seq = p->low; p->ring && seq <= p->high; seq++)
        ring [seq % cap] = p->ring [seq % p->cap];
    free (p->ring);
    p->ring = ring;
    p->cap = cap;
}

/* Returns the slot of seq if p may remember it (in [low, high]), or NULL. */
static s_slot_t *
s_slot (const s_producer_t *p, uint64_t seq)
{
    if (seq < p->low || seq > p->high)
        return NULL;
    return &p->ring [seq % p->cap];
}

/* Returns true if seq is not above high - window: refused (ZR_ESTALE). */
static bool
s_stale (uint64_t high, uint32_t window, uint64_t seq)
{
    return high >= window && seq <= high - window;
}

/* Makes room for seq in p's ring (seq not stale): raises high (clearing
   the slots it passes over, (3)) or lowers low, growing the ring first
   when the span would not fit (4). */
static void
s_producer_reach (const zr_bus_t *bus, s_producer_t *p, uint64_t seq)
{
    zr_assert (!s_stale (p->high, bus->window, seq));
    uint64_t high = seq > p->high ? seq : p->high;
    uint64_t low = seq < p->low ? seq : p->low;
    if (high >= bus->window && low <= high - bus->window)
        low = high - bus->window + 1;   /* forgotten: below the window */
    if (low > p->high)
        low = high;                     /* nothing older stays */
    if (high - low + 1 > p->cap) {
        p->low = p->low > low ? p->low : low;   /* what moves to the new ring */
        if (p->low > p->high)
            p->low = p->high;
        s_producer_resize (p, s_cap_for (bus->window, high - low + 1));
    }
    uint64_t passed = high - p->high;
    for (uint64_t i = 0; i < passed && i < p->cap; i++)
        p->ring [(high - i) % p->cap] = (s_slot_t) {0, 0};
    p->high = high;
    p->low = low;
    s_producer_check (bus, p);
}

/* Moves p to the newest end of the LRU list (it may be in it or not). */
static void
s_lru_touch (zr_bus_t *bus, s_producer_t *p, bool listed)
{
    if (listed && bus->newest == p)
        return;
    if (listed) {
        if (p->older)
            p->older->newer = p->newer;
        else
            bus->oldest = p->newer;
        p->newer->older = p->older;     /* not newest: has a newer */
    }
    p->older = bus->newest;
    p->newer = NULL;
    if (bus->newest)
        bus->newest->newer = p;
    else
        bus->oldest = p;
    bus->newest = p;
}

/* Forgets the producer least recently heard from. */
static void
s_lru_evict (zr_bus_t *bus)
{
    s_producer_t *p = bus->oldest;
    zr_assert (p);
    bus->oldest = p->newer;
    if (bus->oldest)
        bus->oldest->older = NULL;
    else
        bus->newest = NULL;
    zhashx_delete (bus->producers, &p->key);    /* frees p */
}

/* Adds producer id with seq as its only seq so far, the newest,
   forgetting the oldest if producers_max are remembered. */
static s_producer_t *
s_producer_add (zr_bus_t *bus, uint64_t id, uint64_t seq, uint32_t cap)
{
    if (zhashx_size (bus->producers) >= bus->producers_max)
        s_lru_evict (bus);
    s_producer_t *p = (s_producer_t *) calloc (1, sizeof *p);
    zr_assert (p);
    p->key = s_key (bus, id);
    p->high = seq;
    p->low = seq;
    s_producer_resize (p, cap);
    int rc = zhashx_insert (bus->producers, &p->key, p);
    zr_assert (rc == 0);
    s_lru_touch (bus, p, false);
    return p;
}

static s_producer_t *
s_producer_find (const zr_bus_t *bus, uint64_t id)
{
    s_key_t key = s_key (bus, id);
    return (s_producer_t *) zhashx_lookup (bus->producers, &key);
}

/* ---------------------------------------------------------------- state */

zr_bus_t *
zr_bus_new (uint32_t window, uint32_t producers_max)
{
    zr_assert (window >= 1 && window <= ZR_BUS_WINDOW_MAX);
    zr_assert (producers_max >= 1);
    zr_bus_t *self = (zr_bus_t *) calloc (1, sizeof *self);
    zr_assert (self);
    self->window = window;
    self->producers_max = producers_max;
    if (getrandom (&self->hash_key, sizeof self->hash_key, 0)
        != (ssize_t) sizeof self->hash_key)
        self->hash_key = s_mix ((uint64_t) zclock_usecs () ^ (uintptr_t) self);
    self->producers = s_id_table_new (s_producer_free, NULL);
    self->cursors = zhashx_new ();
    zr_assert (self->cursors);
    zhashx_set_destructor (self->cursors, s_free);      /* keys: strdup'd */
    return self;
}

void
zr_bus_destroy (zr_bus_t **self_p)
{
    zr_assert (self_p);
    zr_bus_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->producers);
    zhashx_destroy (&self->cursors);
    free (self);
    *self_p = NULL;
}

size_t
zr_bus_producers (const zr_bus_t *self)
{
    zr_assert (self);
    return zhashx_size (self->producers);
}

/* Applies a publication (producer >= 1) at (index, term). */
static void
s_apply_publish (zr_bus_t *self, const zr_bus_entry_t *entry, zr_index_t index,
                 zr_term_t term, zr_bus_outcome_t *out)
{
    s_producer_t *p = s_producer_find (self, entry->producer);
    if (!p) {
        p = s_producer_add (self, entry->producer, entry->seq,
                            s_cap_for (self->window, 1));
        *s_slot (p, entry->seq) = (s_slot_t) {index, term};
        return;
    }
    s_lru_touch (self, p, true);
    s_slot_t *slot = s_slot (p, entry->seq);
    if (slot && slot->index) {
        *out = (zr_bus_outcome_t) {.duplicate = true, .index = slot->index,
                                   .term = slot->term};
        return;
    }
    if (s_stale (p->high, self->window, entry->seq)) {
        out->status = ZR_ESTALE;
        return;
    }
    s_producer_reach (self, p, entry->seq);
    *s_slot (p, entry->seq) = (s_slot_t) {index, term};
}

/* Applies a cursor commit: the cursor only moves forward. */
static void
s_apply_cursor (zr_bus_t *self, const zr_bus_entry_t *entry,
                zr_bus_outcome_t *out)
{
    char name [ZRAFT_CURSOR_NAME_MAX + 1];
    memcpy (name, entry->name, entry->name_size);
    name [entry->name_size] = '\0';
    s_cursor_t *cursor = (s_cursor_t *) zhashx_lookup (self->cursors, name);
    if (cursor) {
        if (entry->index > cursor->index)
            cursor->index = entry->index;
        return;
    }
    if (zhashx_size (self->cursors) >= ZR_BUS_CURSORS_MAX) {
        out->status = ZR_EINVAL;
        return;
    }
    cursor = (s_cursor_t *) malloc (sizeof *cursor);
    zr_assert (cursor);
    cursor->index = entry->index;
    int rc = zhashx_insert (self->cursors, name, cursor);
    zr_assert (rc == 0);
}

void
zr_bus_apply (zr_bus_t *self, zr_index_t index, zr_term_t term, const void *data,
              size_t size, zr_bus_outcome_t *out)
{
    zr_assert (self && out);
    zr_assert (index >= 1 && term >= 1 && index >= self->applied);
    self->applied = index;
    *out = (zr_bus_outcome_t) {.index = index, .term = term};
    zr_bus_entry_t entry;
    if (zr_bus_entry_decode (data, size, &entry) != 0)
        out->status = ZR_EINVAL;        /* changes nothing */
    else
    if (entry.op == ZR_BUS_CURSOR)
        s_apply_cursor (self, &entry, out);
    else
    if (entry.producer != 0)
        s_apply_publish (self, &entry, index, term, out);
}

int
zr_bus_cursor (const zr_bus_t *self, const char *name, size_t size,
               uint64_t *index)
{
    zr_assert (self && index);
    if (!s_name_valid (name, size, ZRAFT_CURSOR_NAME_MAX))
        return -1;
    char key [ZRAFT_CURSOR_NAME_MAX + 1];
    memcpy (key, name, size);
    key [size] = '\0';
    const s_cursor_t *cursor = (const s_cursor_t *) zhashx_lookup (self->cursors, key);
    if (!cursor)
        return -1;
    *index = cursor->index;
    return 0;
}

static int
s_name_compare (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

/* Packs the cursors as a map, in name order (deterministic bytes). */
static void
s_pack_cursors (const zr_bus_t *self, msgpack_packer *pk)
{
    zlistx_t *names = zhashx_keys (self->cursors);
    zr_assert (names);
    zlistx_set_comparator (names, s_name_compare);
    zlistx_sort (names);
    msgpack_pack_map (pk, zlistx_size (names));
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names)) {
        const s_cursor_t *cursor =
            (const s_cursor_t *) zhashx_lookup (self->cursors, name);
        s_pack_str (pk, name, strlen (name));
        msgpack_pack_uint64 (pk, cursor->index);
    }
    zlistx_destroy (&names);
}

/* Returns sbuf's bytes (taken) in *size_p, never NULL (OOM is fatal). */
static void *
s_release (msgpack_sbuffer *sbuf, size_t *size_p)
{
    zr_assert (sbuf->data);             /* actors treat OOM as fatal */
    *size_p = sbuf->size;
    return msgpack_sbuffer_release (sbuf);
}

void *
zr_bus_cursors_encode (const zr_bus_t *self, size_t *size_p)
{
    zr_assert (self && size_p);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    s_pack_cursors (self, &pk);
    void *data = s_release (&sbuf, size_p);
    zr_assert (*size_p <= ZRAFT_RESULT_BYTES_MAX);
    return data;
}

/* ---------------------------------------------------------------- section */

/* Packs one producer: [id, seq, index, term, ...] over the seqs applied. */
static void
s_pack_producer (const s_producer_t *p, msgpack_packer *pk)
{
    uint32_t n = 0;
    for (uint64_t seq = p->low; seq <= p->high; seq++)
        n += p->ring [seq % p->cap].index != 0;
    zr_assert (n >= 1);                 /* high's own publication */
    msgpack_pack_array (pk, 1 + S_TRIPLE * n);
    msgpack_pack_uint64 (pk, p->key.id);
    for (uint64_t seq = p->low; seq <= p->high; seq++) {
        const s_slot_t *slot = &p->ring [seq % p->cap];
        if (slot->index == 0)
            continue;
        msgpack_pack_uint64 (pk, seq);
        msgpack_pack_uint64 (pk, slot->index);
        msgpack_pack_uint64 (pk, slot->term);
    }
}

void *
zr_bus_section_encode (const zr_bus_t *self, size_t *size_p)
{
    zr_assert (self && size_p);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, S_SECTION_FIELDS);
    msgpack_pack_uint8 (&pk, ZR_BUS_SECTION_VERSION);
    msgpack_pack_array (&pk, zhashx_size (self->producers));
    for (const s_producer_t *p = self->oldest; p; p = p->newer)
        s_pack_producer (p, &pk);
    s_pack_cursors (self, &pk);
    return s_release (&sbuf, size_p);
}

/* A section being read: bytes, position, limits. */
typedef struct {
    const uint8_t *data;                /* the section */
    size_t size;                        /* its bytes */
    size_t pos;                         /* next byte */
    zr_index_t snap_index;              /* indexes are at most this */
} s_section_t;

/* Reads producer triples (count of them) into a new producer of bus,
   the newest, keeping those within bus's window. Returns 0 or -1. */
static int
s_restore_producer (zr_bus_t *bus, s_section_t *s, uint64_t id, uint64_t count,
                    bool keep)
{
    uint64_t triple [S_TRIPLE], previous = 0;
    s_producer_t *p = NULL;
    for (uint64_t i = 0; i < count; i++) {
        for (int k = 0; k < S_TRIPLE; k++)
            if (s_read_uint (s->data, s->size, &s->pos, &triple [k]) != 0)
                return -1;
        if ((i > 0 && triple [0] <= previous) || triple [1] < 1
            || triple [1] > s->snap_index || triple [2] < 1)
            return -1;
        previous = triple [0];
        if (!keep)
            continue;
        if (!p)
            p = s_producer_add (bus, id, triple [0], s_cap_for (bus->window, 1));
        else
            s_producer_reach (bus, p, triple [0]);
        *s_slot (p, triple [0]) = (s_slot_t) {triple [1], triple [2]};
    }
    return 0;
}

/* Reads the producers array: [id, triples...] each, ids distinct and
   >= 1; keeps the newest producers_max. Returns 0 or -1. */
static int
s_restore_producers (zr_bus_t *bus, s_section_t *s)
{
    zr_msgpack_item_t list, item;
    if (zr_msgpack_walk_item (s->data, s->size, &s->pos, &list) != 0
        || list.kind != ZR_MSGPACK_ARRAY)
        return -1;
    uint64_t skip = list.value > bus->producers_max
                  ? list.value - bus->producers_max : 0;
    zhashx_t *seen = s_id_table_new (NULL, s_free);    /* skipped ones too */
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < list.value; i++) {
        uint64_t id = 0;
        rc = zr_msgpack_walk_item (s->data, s->size, &s->pos, &item) == 0
             && item.kind == ZR_MSGPACK_ARRAY && item.value >= 1 + S_TRIPLE
             && (item.value - 1) % S_TRIPLE == 0
             && s_read_uint (s->data, s->size, &s->pos, &id) == 0 && id >= 1
             ? 0 : -1;
        s_key_t *key = rc == 0 ? (s_key_t *) malloc (sizeof *key) : NULL;
        if (key) {
            *key = s_key (bus, id);
            rc = zhashx_insert (seen, key, key) == 0 ? 0 : -1;  /* distinct */
            if (rc != 0)
                free (key);
        }
        if (rc == 0)
            rc = s_restore_producer (bus, s, id, (item.value - 1) / S_TRIPLE,
                                     i >= skip);
    }
    zhashx_destroy (&seen);
    return rc;
}

/* Reads the cursors map: names valid and distinct. Returns 0 or -1. */
static int
s_restore_cursors (zr_bus_t *bus, s_section_t *s)
{
    zr_msgpack_item_t map;
    if (zr_msgpack_walk_item (s->data, s->size, &s->pos, &map) != 0
        || map.kind != ZR_MSGPACK_MAP || map.value > ZR_BUS_CURSORS_MAX)
        return -1;
    for (uint64_t i = 0; i < map.value; i++) {
        zr_bus_entry_t entry = {.op = ZR_BUS_CURSOR};
        if (s_read_name (s->data, s->size, &s->pos, ZRAFT_CURSOR_NAME_MAX,
                         &entry.name, &entry.name_size) != 0
            || s_read_uint (s->data, s->size, &s->pos, &entry.index) != 0
            || zr_bus_cursor (bus, entry.name, entry.name_size, &entry.index) == 0)
            return -1;                  /* bad, or a name twice */
        zr_bus_outcome_t out = {0};
        s_apply_cursor (bus, &entry, &out);
        zr_assert (out.status == 0);
    }
    return 0;
}

/* Swaps the contents of two states with the same limits. */
static void
s_swap (zr_bus_t *a, zr_bus_t *b)
{
    zr_bus_t copy = *a;
    *a = *b;
    *b = copy;
}

int
zr_bus_section_restore (zr_bus_t *self, zr_index_t snap_index, const void *data,
                        size_t size)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    zr_bus_t *fresh = zr_bus_new (self->window, self->producers_max);
    fresh->hash_key = self->hash_key;
    fresh->applied = snap_index;
    s_section_t s = {.data = (const uint8_t *) data, .size = size,
                     .snap_index = snap_index};
    zr_msgpack_item_t head;
    uint64_t version = 0;
    int rc = 0;
    if (size > 0) {
        rc = zr_msgpack_walk_item (s.data, size, &s.pos, &head) == 0
             && head.kind == ZR_MSGPACK_ARRAY && head.value == S_SECTION_FIELDS
             && s_read_uint (s.data, size, &s.pos, &version) == 0
             && version == ZR_BUS_SECTION_VERSION ? 0 : -1;
        if (rc == 0)
            rc = s_restore_producers (fresh, &s);
        if (rc == 0)
            rc = s_restore_cursors (fresh, &s);
        if (rc == 0 && s.pos != size)
            rc = -1;                    /* trailing bytes */
    }
    if (rc == 0)
        s_swap (self, fresh);
    zr_bus_destroy (&fresh);
    return rc;
}

/* ---------------------------------------------------------------- gate */

/* One producer's publications appended and not yet committed. */
typedef struct {
    s_key_t key;                        /* the table's key (points here) */
    uint64_t max;                       /* highest seq among them */
    uint32_t n;                         /* in seqs/indexes */
    uint32_t capacity;                  /* slots allocated */
    uint64_t *seqs;                     /* in append order */
    zr_index_t *indexes;                /* where each was appended */
} s_pending_t;

struct _zr_bus_gate_t {
    zr_bus_t *copy;                     /* bus state as of the commit index */
    zhashx_t *pending;                  /* s_key_t * -> s_pending_t * (owned) */
    size_t n_pending;                   /* publications in it */
};

static void
s_pending_free (void **item_p)
{
    s_pending_t *p = (s_pending_t *) *item_p;
    if (p) {
        free (p->seqs);
        free (p->indexes);
        free (p);
        *item_p = NULL;
    }
}

zr_bus_gate_t *
zr_bus_gate_new (uint32_t window, uint32_t producers_max)
{
    zr_bus_gate_t *self = (zr_bus_gate_t *) calloc (1, sizeof *self);
    zr_assert (self);
    self->copy = zr_bus_new (window, producers_max);
    self->pending = s_id_table_new (s_pending_free, NULL);
    return self;
}

void
zr_bus_gate_destroy (zr_bus_gate_t **self_p)
{
    zr_assert (self_p);
    zr_bus_gate_t *self = *self_p;
    if (!self)
        return;
    zr_bus_destroy (&self->copy);
    zhashx_destroy (&self->pending);
    free (self);
    *self_p = NULL;
}

size_t
zr_bus_gate_pending (const zr_bus_gate_t *self)
{
    zr_assert (self);
    return self->n_pending;
}

static s_pending_t *
s_pending_find (const zr_bus_gate_t *self, uint64_t producer)
{
    s_key_t key = s_key (self->copy, producer);
    return (s_pending_t *) zhashx_lookup (self->pending, &key);
}

/* Returns the position of seq in p's pending list, or -1. */
static int64_t
s_pending_at (const s_pending_t *p, uint64_t seq)
{
    for (uint32_t i = 0; p && i < p->n; i++)
        if (p->seqs [i] == seq)
            return i;
    return -1;
}

zr_bus_verdict_t
zr_bus_gate_judge (zr_bus_gate_t *self, const zr_bus_entry_t *entry,
                   bool term_ready, zr_bus_outcome_t *out)
{
    zr_assert (self && entry && out);
    memset (out, 0, sizeof *out);
    if (entry->op == ZR_BUS_CURSOR) {
        uint64_t index;
        if (zr_bus_cursor (self->copy, entry->name, entry->name_size, &index) != 0
            && zhashx_size (self->copy->cursors) >= ZR_BUS_CURSORS_MAX) {
            out->status = ZR_EINVAL;    /* a new name, no room: as apply says */
            return ZR_BUS_ANSWERED;
        }
        return ZR_BUS_ADMIT;
    }
    if (entry->producer == 0)
        return ZR_BUS_ADMIT;
    if (!term_ready)
        return ZR_BUS_WAIT;             /* earlier terms' entries undecided */
    const s_producer_t *p = s_producer_find (self->copy, entry->producer);
    const s_pending_t *pending = s_pending_find (self, entry->producer);
    const s_slot_t *slot = p ? s_slot (p, entry->seq) : NULL;
    if (slot && slot->index) {
        *out = (zr_bus_outcome_t) {.duplicate = true, .index = slot->index,
                                   .term = slot->term};
        return ZR_BUS_ANSWERED;
    }
    if (s_pending_at (pending, entry->seq) >= 0)
        return ZR_BUS_WAIT;             /* the first one is not decided yet */
    uint64_t high = p ? p->high : 0;
    if (pending && pending->max > high)
        high = pending->max;
    if ((p || pending) && s_stale (high, self->copy->window, entry->seq)) {
        out->status = ZR_ESTALE;
        return ZR_BUS_ANSWERED;
    }
    return ZR_BUS_ADMIT;
}

void
zr_bus_gate_appended (zr_bus_gate_t *self, uint64_t producer, uint64_t seq,
                      zr_index_t index)
{
    zr_assert (self && producer >= 1 && index >= 1);
    s_pending_t *p = s_pending_find (self, producer);
    if (!p) {
        p = (s_pending_t *) calloc (1, sizeof *p);
        zr_assert (p);
        p->key = s_key (self->copy, producer);
        int rc = zhashx_insert (self->pending, &p->key, p);
        zr_assert (rc == 0);
    }
    zr_assert (s_pending_at (p, seq) < 0);
    zr_assert (p->n == 0 || p->indexes [p->n - 1] < index);
    if (p->n == p->capacity) {
        p->capacity = p->capacity ? 2 * p->capacity : 8;
        p->seqs = (uint64_t *) realloc (p->seqs, p->capacity * sizeof *p->seqs);
        p->indexes = (zr_index_t *) realloc (p->indexes,
                                             p->capacity * sizeof *p->indexes);
        zr_assert (p->seqs && p->indexes);
    }
    p->seqs [p->n] = seq;
    p->indexes [p->n++] = index;
    if (p->n == 1 || seq > p->max)
        p->max = seq;
    self->n_pending++;
}

/* Forgets the pending publication (producer, seq) appended at index. */
static void
s_pending_commit (zr_bus_gate_t *self, uint64_t producer, uint64_t seq,
                  zr_index_t index)
{
    s_pending_t *p = s_pending_find (self, producer);
    int64_t at = s_pending_at (p, seq);
    if (at < 0 || p->indexes [at] != index)
        return;                         /* not ours (a follower's log) */
    uint32_t i = (uint32_t) at;
    memmove (p->seqs + i, p->seqs + i + 1, (p->n - i - 1) * sizeof *p->seqs);
    memmove (p->indexes + i, p->indexes + i + 1,
             (p->n - i - 1) * sizeof *p->indexes);
    p->n--;
    zr_assert (self->n_pending > 0);
    self->n_pending--;
    if (p->n == 0) {
        zhashx_delete (self->pending, &p->key);
        return;
    }
    p->max = p->seqs [0];
    for (uint32_t k = 1; k < p->n; k++)
        p->max = p->seqs [k] > p->max ? p->seqs [k] : p->max;
}

void
zr_bus_gate_committed (zr_bus_gate_t *self, const zr_entry_t *entries,
                       uint32_t n)
{
    zr_assert (self && (entries || n == 0));
    for (uint32_t i = 0; i < n; i++) {
        const zr_entry_t *e = &entries [i];
        if (e->type != ZR_ENTRY_BUS)
            continue;
        zr_bus_outcome_t out;
        zr_bus_apply (self->copy, e->index, e->term, e->data, e->size, &out);
        zr_bus_entry_t entry;
        if (self->n_pending && zr_bus_entry_decode (e->data, e->size, &entry) == 0
            && entry.op == ZR_BUS_PUBLISH && entry.producer != 0)
            s_pending_commit (self, entry.producer, entry.seq, e->index);
    }
}

void
zr_bus_gate_step_down (zr_bus_gate_t *self)
{
    zr_assert (self);
    zhashx_purge (self->pending);
    self->n_pending = 0;
}

int
zr_bus_gate_restore (zr_bus_gate_t *self, zr_index_t snap_index,
                     const void *data, size_t size)
{
    zr_assert (self);
    int rc = zr_bus_section_restore (self->copy, snap_index, data, size);
    if (rc == 0)
        zr_bus_gate_step_down (self);
    return rc;
}
