/*  =========================================================================
    kv - zraft-node's replicated state machine (see kv.h)

    Design notes.

    The map is a czmq zhashx whose keys are s_bytes_t (size, hash, bytes)
    and whose items are s_value_t; every key carries its SipHash-2-4
    under a random per-instance key, computed once when the key enters,
    so a client cannot choose keys that collide (a zhashx chain that
    stays long makes it grow its table until it asserts). Iteration
    order therefore differs between servers, and nothing depends on it:
    the snapshot sorts the keys.

    Sessions live in a second zhashx (client id -> s_session_t, which
    owns them) and in a zlistx, lru, ordered by last use. Every command
    touches its session at the log time, which never goes backwards, so
    moving it to the end of lru keeps the list sorted: expiry pops from
    the head and stops at the first live session (amortised O(1) per
    command: a session is dropped at most once after it was created).

    Commands, results, answers and snapshots are msgpack, read by a small
    strict reader over the raw bytes (s_reader_t) rather than msgpack-c's
    object tree: it allocates nothing, so a restore allocates what the
    state it builds needs (a constant factor of the snapshot's size) and
    a command decode allocates nothing at all.

    Invariants (the restore decoder checks them on every snapshot, so a
    test that restores what zr_kv_snapshot wrote checks them too):
    1. Every session is in both sessions and lru, once; lru is sorted by
       used_index, strictly increasing, and by used_ms, non-decreasing.
    2. used_ms <= log_time_ms, 1 <= index <= used_index <= applied.
    3. A session's cached result is the OK of command seq, applied at
       index; seq >= 1 once created (a session is created by its seq 1).
    4. members [id] is "" until member id announced itself; written on
       the applier thread under members_lock, read elsewhere under it.

    Snapshot format (one msgpack array, version ZR_KV_SNAPSHOT_VERSION):
    [version, index, log_time_ms,
     [[member id, endpoint (str)[, bus endpoint (str)]], ...]
                                                ids strictly increasing;
                                                the bus endpoint only if
                                                one was announced
     [[client_id, seq, index, swapped, used_ms, used_index], ...]   lru order
     {key (bin): value (bin), ...}]             keys strictly increasing
    Canonical: two servers at the same index write the same bytes.
    =========================================================================
*/
#include "../../raft/raft.h"
#include "../../transport/client.h"
#include "kv.h"

#include <czmq.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>

#define ZR_KV_SNAPSHOT_VERSION 1
#define S_TTL_MS_DEFAULT (3600ull * 1000)
#define S_SESSIONS_MAX_DEFAULT 100000u
#define S_SNAPSHOT_FIELDS 6
#define S_SESSION_FIELDS 6
#define S_MEMBER_FIELDS 2               /* 3 with a bus endpoint */
/* The largest result: fixarray, code, uint64 index, bool. */
#define S_RESULT_BYTES_MAX 12

/* Fields of a command by type, [cmd, time_ms] included (kv.h's table);
   an ANNOUNCE with a bus endpoint has one more. */
static const uint64_t s_cmd_fields [] = { 0, 6, 5, 7, 4 };
_Static_assert (sizeof s_cmd_fields / sizeof s_cmd_fields [0] == ZR_KV_ANNOUNCE + 1,
                "one field count per command");
_Static_assert (ZR_CLIENT_VALUE_MAX <= UINT32_MAX, "a value fits a bin32");

//  --------------------------------------------------------------------------
//  Structures

/* A key: a view for a lookup, or (s_key_dup) a copy whose bytes follow
   the struct. */
typedef struct {
    size_t size;                        /* bytes, 1..ZR_CLIENT_KEY_MAX */
    size_t hash;                        /* SipHash of the bytes */
    const uint8_t *data;                /* the bytes */
} s_bytes_t;

/* A value in the map. */
typedef struct {
    size_t size;                        /* bytes, <= ZR_CLIENT_VALUE_MAX */
    uint8_t data [];                    /* the bytes */
} s_value_t;

/* A client id as the sessions table hashes it. */
typedef struct {
    uint64_t id;                        /* the client id, >= 1 */
    size_t hash;                        /* SipHash of id */
} s_id_t;

/* One client session (thesis §6.3). Invariants (1)-(3). */
typedef struct {
    s_id_t key;                         /* the client, key in sessions */
    uint64_t seq;                       /* last seq applied, >= 1 */
    uint64_t index;                     /* entry that applied seq */
    bool swapped;                       /* seq's CAS outcome (false otherwise) */
    uint64_t used_ms;                   /* log time of the last use */
    uint64_t used_index;                /* entry of the last use */
    void *handle;                       /* this session's node in lru */
} s_session_t;

/* Everything the log builds except the member directory: what restore
   builds aside and swaps in whole. */
typedef struct {
    zhashx_t *map;                      /* s_bytes_t -> s_value_t, owns both */
    zhashx_t *sessions;                 /* s_id_t -> s_session_t, owns them */
    zlistx_t *lru;                      /* sessions, least recently used first */
    uint64_t hash_key [2];              /* SipHash key, random per state */
    uint64_t log_time_ms;               /* max time_ms applied; never decreases */
    uint64_t applied;                   /* last index applied or restored */
} s_state_t;

/* The member directory: endpoints, "" where none was announced. */
typedef struct {
    char endpoint [ZR_NODES_MAX + 1][ZR_CLIENT_ENDPOINT_MAX + 1];  /* [0] unused */
    char bus [ZR_NODES_MAX + 1][ZR_CLIENT_ENDPOINT_MAX + 1];   /* "" if none;
                                                   only with an endpoint */
} s_members_t;

struct _zr_kv_t {
    zr_kv_config_t config;              /* defaults filled in */
    s_state_t state;                    /* applier thread only */
    s_members_t members;                /* invariant (4) */
    pthread_mutex_t members_lock;       /* guards members against readers */
    atomic_size_t map_size;             /* copies for other threads, */
    atomic_size_t sessions_size;        /*   published after each */
    atomic_uint_fast64_t log_time_ms;   /*   command and restore */
};

//  --------------------------------------------------------------------------
//  SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF")

static uint64_t
s_rotl (uint64_t x, unsigned bits)
{
    return (x << bits) | (x >> (64 - bits));
}

static void
s_sip_round (uint64_t v [4])
{
    v [0] += v [1]; v [1] = s_rotl (v [1], 13); v [1] ^= v [0];
    v [0] = s_rotl (v [0], 32);
    v [2] += v [3]; v [3] = s_rotl (v [3], 16); v [3] ^= v [2];
    v [0] += v [3]; v [3] = s_rotl (v [3], 21); v [3] ^= v [0];
    v [2] += v [1]; v [1] = s_rotl (v [1], 17); v [1] ^= v [2];
    v [2] = s_rotl (v [2], 32);
}

static void
s_sip_absorb (uint64_t v [4], uint64_t m)
{
    v [3] ^= m;
    s_sip_round (v);
    s_sip_round (v);
    v [0] ^= m;
}

static uint64_t
s_siphash (const uint64_t key [2], const uint8_t *data, size_t size)
{
    uint64_t v [4] = { key [0] ^ 0x736f6d6570736575ull, key [1] ^ 0x646f72616e646f6dull,
                       key [0] ^ 0x6c7967656e657261ull, key [1] ^ 0x7465646279746573ull };
    size_t whole = size - size % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = 0;
        for (unsigned j = 0; j < 8; j++)
            m |= (uint64_t) data [i + j] << (8 * j);
        s_sip_absorb (v, m);
    }
    uint64_t last = (uint64_t) size << 56;
    for (size_t j = 0; j < size % 8; j++)
        last |= (uint64_t) data [whole + j] << (8 * j);
    s_sip_absorb (v, last);
    v [2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        s_sip_round (v);
    return v [0] ^ v [1] ^ v [2] ^ v [3];
}

//  --------------------------------------------------------------------------
//  Keys, values, sessions: what the zhashx tables call

static size_t
s_bytes_hash (const void *key)
{
    return ((const s_bytes_t *) key)->hash;
}

static int
s_bytes_compare (const void *a, const void *b)
{
    const s_bytes_t *x = (const s_bytes_t *) a, *y = (const s_bytes_t *) b;
    if (x->hash != y->hash || x->size != y->size)
        return 1;
    return memcmp (x->data, y->data, x->size);
}

/* Copies a key view into one allocation (zhashx's key duplicator). */
static void *
s_key_dup (const void *key)
{
    const s_bytes_t *view = (const s_bytes_t *) key;
    s_bytes_t *copy = (s_bytes_t *) malloc (sizeof (s_bytes_t) + view->size);
    zr_assert (copy);
    uint8_t *bytes = (uint8_t *) (copy + 1);
    memcpy (bytes, view->data, view->size);
    copy->size = view->size;
    copy->hash = view->hash;
    copy->data = bytes;
    return copy;
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static s_bytes_t
s_key_view (const s_state_t *state, const void *data, size_t size)
{
    zr_assert (size >= 1 && size <= ZR_CLIENT_KEY_MAX);
    s_bytes_t view = { size, (size_t) s_siphash (state->hash_key, data, size),
                       (const uint8_t *) data };
    return view;
}

static s_value_t *
s_value_new (const void *data, size_t size)
{
    zr_assert (size <= ZR_CLIENT_VALUE_MAX);
    s_value_t *value = (s_value_t *) malloc (sizeof (s_value_t) + size);
    zr_assert (value);
    value->size = size;
    if (size)
        memcpy (value->data, data, size);
    return value;
}

static size_t
s_id_hash (const void *key)
{
    return ((const s_id_t *) key)->hash;
}

static int
s_id_compare (const void *a, const void *b)
{
    return ((const s_id_t *) a)->id != ((const s_id_t *) b)->id;
}

static s_id_t
s_id_key (const s_state_t *state, uint64_t id)
{
    uint8_t bytes [8];
    for (unsigned i = 0; i < 8; i++)
        bytes [i] = (uint8_t) (id >> (8 * i));
    s_id_t key = { id, (size_t) s_siphash (state->hash_key, bytes, sizeof bytes) };
    return key;
}

//  --------------------------------------------------------------------------
//  State: the map and the sessions

static void
s_state_init (s_state_t *state)
{
    memset (state, 0, sizeof *state);
    if (getrandom (state->hash_key, sizeof state->hash_key, 0)
        != (ssize_t) sizeof state->hash_key) {
        /* No entropy source: still a key no client can see. */
        state->hash_key [0] = (uint64_t) zclock_usecs ();
        state->hash_key [1] = (uint64_t) (uintptr_t) state ^ (uint64_t) getpid ();
    }
    state->map = zhashx_new ();
    state->sessions = zhashx_new ();
    state->lru = zlistx_new ();
    zr_assert (state->map && state->sessions && state->lru);
    zhashx_set_key_hasher (state->map, s_bytes_hash);
    zhashx_set_key_comparator (state->map, s_bytes_compare);
    zhashx_set_key_duplicator (state->map, s_key_dup);
    zhashx_set_key_destructor (state->map, s_free);
    zhashx_set_destructor (state->map, s_free);
    zhashx_set_key_hasher (state->sessions, s_id_hash);
    zhashx_set_key_comparator (state->sessions, s_id_compare);
    zhashx_set_key_duplicator (state->sessions, NULL);
    zhashx_set_key_destructor (state->sessions, NULL);
    zhashx_set_destructor (state->sessions, s_free);
}

static void
s_state_fini (s_state_t *state)
{
    zlistx_destroy (&state->lru);       /* holds no destructor */
    zhashx_destroy (&state->sessions);
    zhashx_destroy (&state->map);
}

static s_session_t *
s_session_lookup (s_state_t *state, uint64_t client_id)
{
    s_id_t key = s_id_key (state, client_id);
    return (s_session_t *) zhashx_lookup (state->sessions, &key);
}

static void
s_session_drop (s_state_t *state, s_session_t *session)
{
    zr_assert (session && session->handle);
    zr_assert (zlistx_delete (state->lru, session->handle) == 0);
    zhashx_delete (state->sessions, &session->key);     /* frees session */
}

/* Drops the sessions not used for ttl_ms of log time, oldest first. */
static void
s_sessions_expire (s_state_t *state, uint64_t ttl_ms)
{
    s_session_t *oldest;
    while ((oldest = (s_session_t *) zlistx_head (state->lru))
    &&      state->log_time_ms - oldest->used_ms >= ttl_ms)
        s_session_drop (state, oldest);
}

/* Appends a session to lru and sessions; the caller fills in the rest. */
static s_session_t *
s_session_add (s_state_t *state, uint64_t client_id)
{
    s_session_t *session = (s_session_t *) calloc (1, sizeof (s_session_t));
    zr_assert (session);
    session->key = s_id_key (state, client_id);
    session->handle = zlistx_add_end (state->lru, session);
    zr_assert (session->handle);
    if (zhashx_insert (state->sessions, &session->key, session) != 0) {
        zlistx_delete (state->lru, session->handle);
        free (session);
        return NULL;                    /* the id is there already */
    }
    return session;
}

/* Creates the session of client_id (absent), first dropping the least
   recently used sessions while sessions_max are live. */
static s_session_t *
s_session_create (s_state_t *state, uint64_t client_id, uint32_t sessions_max)
{
    zr_assert (sessions_max >= 1);
    while (zhashx_size (state->sessions) >= sessions_max)
        s_session_drop (state, (s_session_t *) zlistx_head (state->lru));
    s_session_t *session = s_session_add (state, client_id);
    zr_assert (session);
    return session;
}

static void
s_session_touch (s_state_t *state, s_session_t *session, uint64_t index)
{
    zr_assert (index > session->used_index);
    zr_assert (state->log_time_ms >= session->used_ms);
    session->used_ms = state->log_time_ms;
    session->used_index = index;
    zlistx_move_end (state->lru, session->handle);
}

static void
s_map_put (s_state_t *state, const s_bytes_t *key, const void *data, size_t size)
{
    zhashx_update (state->map, key, s_value_new (data, size));
}

/* Runs PUT, DEL or CAS on the map; returns whether a CAS swapped. */
static bool
s_map_run (s_state_t *state, const zr_kv_cmd_t *cmd)
{
    s_bytes_t key = s_key_view (state, cmd->key, cmd->key_size);
    if (cmd->type == ZR_KV_PUT) {
        s_map_put (state, &key, cmd->value, cmd->value_size);
        return false;
    }
    if (cmd->type == ZR_KV_DEL) {
        zhashx_delete (state->map, &key);
        return false;
    }
    zr_assert (cmd->type == ZR_KV_CAS);
    const s_value_t *current = (const s_value_t *) zhashx_lookup (state->map, &key);
    if (!current || current->size != cmd->old_size
    ||  (cmd->old_size && memcmp (current->data, cmd->old, cmd->old_size) != 0))
        return false;
    s_map_put (state, &key, cmd->value, cmd->value_size);
    return true;
}

//  --------------------------------------------------------------------------
//  Strict msgpack reader over raw bytes

typedef struct {
    const uint8_t *data;                /* the buffer, borrowed */
    size_t size;                        /* its bytes */
    size_t pos;                         /* next byte; pos <= size */
} s_reader_t;

/* Takes n bytes (*bytes points to them), or returns false if fewer are left. */
static bool
s_take (s_reader_t *r, size_t n, const uint8_t **bytes)
{
    if (r->size - r->pos < n)
        return false;
    *bytes = r->data + r->pos;
    r->pos += n;
    return true;
}

static bool
s_read_big_endian (s_reader_t *r, size_t n, uint64_t *value)
{
    const uint8_t *bytes;
    if (!s_take (r, n, &bytes))
        return false;
    *value = 0;
    for (size_t i = 0; i < n; i++)
        *value = (*value << 8) | bytes [i];
    return true;
}

/* An unsigned integer: positive fixint or uint 8/16/32/64. */
static bool
s_read_uint (s_reader_t *r, uint64_t *value)
{
    const uint8_t *byte;
    if (!s_take (r, 1, &byte))
        return false;
    if (*byte <= 0x7f) {
        *value = *byte;
        return true;
    }
    if (*byte < 0xcc || *byte > 0xcf)
        return false;
    return s_read_big_endian (r, (size_t) 1 << (*byte - 0xcc), value);
}

static bool
s_read_bool (s_reader_t *r, bool *value)
{
    const uint8_t *byte;
    if (!s_take (r, 1, &byte) || (*byte != 0xc2 && *byte != 0xc3))
        return false;
    *value = *byte == 0xc3;
    return true;
}

/* An array (or, if map, a map) header; the count may not exceed the
   bytes left (every element takes one at least). */
static bool
s_read_count (s_reader_t *r, bool map, uint64_t *count)
{
    const uint8_t *byte;
    if (!s_take (r, 1, &byte))
        return false;
    uint8_t fix = map ? 0x80 : 0x90;
    uint8_t wide = map ? 0xde : 0xdc;   /* 16 bits, then 32 at wide + 1 */
    if (*byte >= fix && *byte <= fix + 0x0f)
        *count = *byte & 0x0f;
    else
    if (*byte == wide || *byte == wide + 1) {
        if (!s_read_big_endian (r, *byte == wide ? 2 : 4, count))
            return false;
    }
    else
        return false;
    return *count <= (r->size - r->pos) / (map ? 2 : 1);
}

/* A bin (or, if str, a str) of at most max bytes; *bytes points into r. */
static bool
s_read_bytes (s_reader_t *r, bool str, size_t max, const uint8_t **bytes,
              size_t *size)
{
    const uint8_t *byte;
    if (!s_take (r, 1, &byte))
        return false;
    uint64_t length;
    uint8_t first = str ? 0xd9 : 0xc4; /* 8 bits, 16 at +1, 32 at +2 */
    if (str && *byte >= 0xa0 && *byte <= 0xbf)
        length = *byte & 0x1f;
    else
    if (*byte >= first && *byte <= first + 2) {
        if (!s_read_big_endian (r, (size_t) 1 << (*byte - first), &length))
            return false;
    }
    else
        return false;
    if (length > max || length > r->size - r->pos)
        return false;
    *size = (size_t) length;
    return s_take (r, *size, bytes);
}

/* An array header of exactly n elements. */
static bool
s_read_array_of (s_reader_t *r, uint64_t n)
{
    uint64_t count;
    return s_read_count (r, false, &count) && count == n;
}

//  --------------------------------------------------------------------------
//  Packing into an exact buffer

/* A buffer allocated at its final size, which msgpack-c writes into. */
typedef struct {
    uint8_t *data;                      /* malloc'd, alloc bytes */
    size_t size;                        /* bytes written */
    size_t alloc;                       /* bytes allocated */
} s_buffer_t;

static int
s_buffer_write (void *data, const char *bytes, size_t size)
{
    s_buffer_t *buffer = (s_buffer_t *) data;
    zr_assert (buffer->alloc - buffer->size >= size);
    memcpy (buffer->data + buffer->size, bytes, size);
    buffer->size += size;
    return 0;
}

static void
s_buffer_init (s_buffer_t *buffer, msgpack_packer *pk, size_t alloc)
{
    buffer->data = (uint8_t *) malloc (alloc ? alloc : 1);
    zr_assert (buffer->data);
    buffer->size = 0;
    buffer->alloc = alloc;
    msgpack_packer_init (pk, buffer, s_buffer_write);
}

/* Hands the buffer, which must be full, to the caller. */
static void
s_buffer_release (s_buffer_t *buffer, void **data, size_t *size)
{
    zr_assert (buffer->size == buffer->alloc);
    *data = buffer->data;
    *size = buffer->size;
    buffer->data = NULL;
}

/* Bytes msgpack-c takes for an unsigned integer (smallest form). */
static size_t
s_uint_size (uint64_t value)
{
    return value < 128 ? 1 : value < 256 ? 2 : value < 65536 ? 3
         : value <= UINT32_MAX ? 5 : 9;
}

/* Bytes of an array or map header of n elements. */
static size_t
s_count_size (uint64_t n)
{
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

/* Bytes of a bin of n bytes, header included. */
static size_t
s_bin_size (size_t n)
{
    return (n < 256 ? 2 : n < 65536 ? 3 : 5) + n;
}

/* Bytes of a str of n bytes, header included. */
static size_t
s_str_size (size_t n)
{
    return (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5) + n;
}

static void
s_pack_bin (msgpack_packer *pk, const void *data, size_t size)
{
    msgpack_pack_bin (pk, size);
    if (size)
        msgpack_pack_bin_body (pk, data, size);
}

static void
s_pack_bool (msgpack_packer *pk, bool value)
{
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

//  --------------------------------------------------------------------------
//  Constructor and destructor

zr_kv_t *
zr_kv_new (const zr_kv_config_t *config)
{
    zr_kv_t *self = (zr_kv_t *) calloc (1, sizeof (zr_kv_t));
    if (!self)
        return NULL;
    if (config)
        self->config = *config;
    if (self->config.session_ttl_ms == 0)
        self->config.session_ttl_ms = S_TTL_MS_DEFAULT;
    if (self->config.sessions_max == 0)
        self->config.sessions_max = S_SESSIONS_MAX_DEFAULT;
    s_state_init (&self->state);
    zr_assert (pthread_mutex_init (&self->members_lock, NULL) == 0);
    atomic_init (&self->map_size, 0);
    atomic_init (&self->sessions_size, 0);
    atomic_init (&self->log_time_ms, 0);
    return self;
}

void
zr_kv_destroy (zr_kv_t **self_p)
{
    zr_assert (self_p);
    zr_kv_t *self = *self_p;
    if (!self)
        return;
    s_state_fini (&self->state);
    pthread_mutex_destroy (&self->members_lock);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Commands

/* Checks cmd against kv.h's table and the client protocol's limits. */
static bool
s_cmd_valid (const zr_kv_cmd_t *cmd)
{
    if (cmd->type == ZR_KV_ANNOUNCE)
        return cmd->member >= 1 && cmd->member <= ZR_NODES_MAX
            && cmd->endpoint && cmd->endpoint_size >= 1
            && cmd->endpoint_size <= ZR_CLIENT_ENDPOINT_MAX
            && !memchr (cmd->endpoint, 0, cmd->endpoint_size)
            && cmd->bus_endpoint_size <= ZR_CLIENT_ENDPOINT_MAX
            && (cmd->bus_endpoint_size == 0
                || (cmd->bus_endpoint
                    && !memchr (cmd->bus_endpoint, 0, cmd->bus_endpoint_size)));
    if (cmd->type != ZR_KV_PUT && cmd->type != ZR_KV_DEL && cmd->type != ZR_KV_CAS)
        return false;
    if (cmd->client_id == 0 || cmd->seq == 0 || !cmd->key
    ||  cmd->key_size == 0 || cmd->key_size > ZR_CLIENT_KEY_MAX)
        return false;
    if (cmd->type == ZR_KV_DEL)
        return true;
    if (cmd->value_size > ZR_CLIENT_VALUE_MAX || (cmd->value_size && !cmd->value))
        return false;
    return cmd->type == ZR_KV_PUT
        || (cmd->old_size <= ZR_CLIENT_VALUE_MAX && (!cmd->old_size || cmd->old));
}

static size_t
s_cmd_size (const zr_kv_cmd_t *cmd)
{
    size_t bytes = 2 + s_uint_size (cmd->time_ms);     /* fixarray, cmd */
    if (cmd->type == ZR_KV_ANNOUNCE)
        return bytes + 1 + s_str_size (cmd->endpoint_size)
               + (cmd->bus_endpoint_size ? s_str_size (cmd->bus_endpoint_size)
                                         : 0);
    bytes += s_uint_size (cmd->client_id) + s_uint_size (cmd->seq)
           + s_bin_size (cmd->key_size);
    if (cmd->type == ZR_KV_CAS)
        bytes += s_bin_size (cmd->old_size);
    if (cmd->type != ZR_KV_DEL)
        bytes += s_bin_size (cmd->value_size);
    return bytes;
}

int
zr_kv_cmd_encode (const zr_kv_cmd_t *cmd, void **data, size_t *size)
{
    zr_assert (cmd && data && size);
    if (!s_cmd_valid (cmd))
        return ZR_EINVAL;
    s_buffer_t buffer;
    msgpack_packer pk;
    s_buffer_init (&buffer, &pk, s_cmd_size (cmd));
    bool bus = cmd->type == ZR_KV_ANNOUNCE && cmd->bus_endpoint_size > 0;
    msgpack_pack_array (&pk, (size_t) s_cmd_fields [cmd->type] + bus);
    msgpack_pack_uint64 (&pk, (uint64_t) cmd->type);
    msgpack_pack_uint64 (&pk, cmd->time_ms);
    if (cmd->type == ZR_KV_ANNOUNCE) {
        msgpack_pack_uint64 (&pk, cmd->member);
        msgpack_pack_str (&pk, cmd->endpoint_size);
        msgpack_pack_str_body (&pk, cmd->endpoint, cmd->endpoint_size);
        if (bus) {
            msgpack_pack_str (&pk, cmd->bus_endpoint_size);
            msgpack_pack_str_body (&pk, cmd->bus_endpoint,
                                   cmd->bus_endpoint_size);
        }
    }
    else {
        msgpack_pack_uint64 (&pk, cmd->client_id);
        msgpack_pack_uint64 (&pk, cmd->seq);
        s_pack_bin (&pk, cmd->key, cmd->key_size);
        if (cmd->type == ZR_KV_CAS)
            s_pack_bin (&pk, cmd->old, cmd->old_size);
        if (cmd->type != ZR_KV_DEL)
            s_pack_bin (&pk, cmd->value, cmd->value_size);
    }
    s_buffer_release (&buffer, data, size);
    return 0;
}

/* Reads the fields of a PUT, DEL or CAS after [cmd, time_ms]. */
static bool
s_decode_client (s_reader_t *r, zr_kv_cmd_t *cmd)
{
    const uint8_t *key, *old = NULL, *value = NULL;
    if (!s_read_uint (r, &cmd->client_id) || !s_read_uint (r, &cmd->seq)
    ||  cmd->client_id == 0 || cmd->seq == 0
    ||  !s_read_bytes (r, false, ZR_CLIENT_KEY_MAX, &key, &cmd->key_size)
    ||  cmd->key_size == 0)
        return false;
    if (cmd->type == ZR_KV_CAS
    &&  !s_read_bytes (r, false, ZR_CLIENT_VALUE_MAX, &old, &cmd->old_size))
        return false;
    if (cmd->type != ZR_KV_DEL
    &&  !s_read_bytes (r, false, ZR_CLIENT_VALUE_MAX, &value, &cmd->value_size))
        return false;
    cmd->key = key;
    cmd->old = old;
    cmd->value = value;
    return true;
}

/* Reads an endpoint: a str of 1..ZR_CLIENT_ENDPOINT_MAX bytes, no NUL. */
static bool
s_read_endpoint (s_reader_t *r, const char **endpoint, size_t *size)
{
    const uint8_t *bytes;
    if (!s_read_bytes (r, true, ZR_CLIENT_ENDPOINT_MAX, &bytes, size)
    ||  *size == 0 || memchr (bytes, 0, *size))
        return false;
    *endpoint = (const char *) bytes;
    return true;
}

/* Reads the fields of an ANNOUNCE after [cmd, time_ms]; the bus
   endpoint if the command has its field (bus). */
static bool
s_decode_announce (s_reader_t *r, zr_kv_cmd_t *cmd, bool bus)
{
    uint64_t member;
    if (!s_read_uint (r, &member) || member < 1 || member > ZR_NODES_MAX
    ||  !s_read_endpoint (r, &cmd->endpoint, &cmd->endpoint_size)
    ||  (bus && !s_read_endpoint (r, &cmd->bus_endpoint,
                                  &cmd->bus_endpoint_size)))
        return false;
    cmd->member = (uint32_t) member;
    return true;
}

int
zr_kv_cmd_decode (const void *data, size_t size, zr_kv_cmd_t *cmd)
{
    zr_assert (cmd);
    zr_assert (data || size == 0);
    s_reader_t r = { (const uint8_t *) data, size, 0 };
    zr_kv_cmd_t decoded;
    memset (&decoded, 0, sizeof decoded);
    uint64_t count, type;
    if (!s_read_count (&r, false, &count) || !s_read_uint (&r, &type)
    ||  type < ZR_KV_PUT || type > ZR_KV_ANNOUNCE
    ||  (count != s_cmd_fields [type]
         && !(type == ZR_KV_ANNOUNCE && count == s_cmd_fields [type] + 1))
    ||  !s_read_uint (&r, &decoded.time_ms))
        return ZR_EMALFORMED;
    decoded.type = (zr_kv_cmd_type_t) type;
    bool ok = decoded.type == ZR_KV_ANNOUNCE
              ? s_decode_announce (&r, &decoded, count > s_cmd_fields [type])
              : s_decode_client (&r, &decoded);
    if (!ok || r.pos != r.size)
        return ZR_EMALFORMED;
    *cmd = decoded;
    return 0;
}

//  --------------------------------------------------------------------------
//  zraft_fsm_t callbacks

/* Publishes the figures other threads may read. */
static void
s_publish (zr_kv_t *self)
{
    atomic_store_explicit (&self->map_size, zhashx_size (self->state.map),
                           memory_order_relaxed);
    atomic_store_explicit (&self->sessions_size,
                           zhashx_size (self->state.sessions), memory_order_relaxed);
    atomic_store_explicit (&self->log_time_ms, self->state.log_time_ms,
                           memory_order_relaxed);
}

static void
s_announce (zr_kv_t *self, const zr_kv_cmd_t *cmd)
{
    zr_assert (cmd->member >= 1 && cmd->member <= ZR_NODES_MAX);
    zr_assert (cmd->endpoint_size <= ZR_CLIENT_ENDPOINT_MAX);
    zr_assert (pthread_mutex_lock (&self->members_lock) == 0);
    char *endpoint = self->members.endpoint [cmd->member];
    memcpy (endpoint, cmd->endpoint, cmd->endpoint_size);
    endpoint [cmd->endpoint_size] = '\0';
    /* The latest ANNOUNCE says both: without a bus endpoint, none. */
    char *bus = self->members.bus [cmd->member];
    if (cmd->bus_endpoint_size)
        memcpy (bus, cmd->bus_endpoint, cmd->bus_endpoint_size);
    bus [cmd->bus_endpoint_size] = '\0';
    zr_assert (pthread_mutex_unlock (&self->members_lock) == 0);
}

/* Applies a PUT, DEL or CAS at index under its client's session. */
static void
s_client_apply (zr_kv_t *self, uint64_t index, const zr_kv_cmd_t *cmd,
                zr_kv_result_t *result)
{
    s_state_t *state = &self->state;
    s_session_t *session = s_session_lookup (state, cmd->client_id);
    if (!session && cmd->seq == 1)
        session = s_session_create (state, cmd->client_id, self->config.sessions_max);
    if (!session) {
        result->code = ZR_CLIENT_SESSION_EXPIRED;   /* expired, or never was */
        return;
    }
    s_session_touch (state, session, index);
    if (cmd->seq < session->seq)
        result->code = ZR_CLIENT_SESSION_EXPIRED;
    else
    if (cmd->seq == session->seq) {
        result->code = ZR_CLIENT_OK;                /* a retry: invariant (3) */
        result->index = session->index;
        result->swapped = session->swapped;
    }
    else {
        result->code = ZR_CLIENT_OK;
        result->swapped = s_map_run (state, cmd);
        session->seq = cmd->seq;
        session->index = index;
        session->swapped = result->swapped;
    }
}

void
zr_kv_apply (void *arg, uint64_t index, uint64_t term, const void *data,
             size_t size, void **result, size_t *result_size)
{
    zr_kv_t *self = (zr_kv_t *) arg;
    zr_assert (self);
    zr_assert (index > self->state.applied);
    (void) term;
    zr_kv_result_t outcome = { ZR_CLIENT_INVALID, index, false };
    zr_kv_cmd_t cmd;
    if (zr_kv_cmd_decode (data, size, &cmd) == 0) {
        if (cmd.time_ms > self->state.log_time_ms)
            self->state.log_time_ms = cmd.time_ms;
        s_sessions_expire (&self->state, self->config.session_ttl_ms);
        if (cmd.type == ZR_KV_ANNOUNCE) {
            s_announce (self, &cmd);
            outcome.code = ZR_CLIENT_OK;
        }
        else
            s_client_apply (self, index, &cmd, &outcome);
    }
    self->state.applied = index;
    s_publish (self);
    if (result) {
        zr_assert (result_size);
        zr_assert (zr_kv_result_encode (&outcome, result, result_size) == 0);
    }
}

int
zr_kv_query (void *arg, const void *data, size_t size, void **result,
             size_t *result_size)
{
    zr_kv_t *self = (zr_kv_t *) arg;
    zr_assert (self && result && result_size);
    if (!data || size == 0 || size > ZR_CLIENT_KEY_MAX)
        return -1;
    s_bytes_t key = s_key_view (&self->state, data, size);
    const s_value_t *value = (const s_value_t *) zhashx_lookup (self->state.map, &key);
    size_t value_size = value ? value->size : 0;
    s_buffer_t buffer;
    msgpack_packer pk;
    s_buffer_init (&buffer, &pk, 2 + s_bin_size (value_size));
    msgpack_pack_array (&pk, 2);
    s_pack_bool (&pk, value != NULL);
    s_pack_bin (&pk, value ? value->data : NULL, value_size);
    s_buffer_release (&buffer, result, result_size);
    return 0;
}

//  --------------------------------------------------------------------------
//  Snapshot

/* A map entry, for sorting. */
typedef struct {
    const s_bytes_t *key;               /* in the map */
    const s_value_t *value;             /* in the map */
} s_pair_t;

/* Orders keys by their bytes, a shorter prefix first. */
static int
s_key_order (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    int rc = memcmp (a, b, a_size < b_size ? a_size : b_size);
    if (rc == 0)
        rc = a_size < b_size ? -1 : a_size > b_size ? 1 : 0;
    return rc;
}

static int
s_pair_compare (const void *a, const void *b)
{
    const s_bytes_t *x = ((const s_pair_t *) a)->key;
    const s_bytes_t *y = ((const s_pair_t *) b)->key;
    return s_key_order (x->data, x->size, y->data, y->size);
}

/* Returns the map's entries sorted by key (caller frees); adds the bytes
   they take in the snapshot to *bytes. */
static s_pair_t *
s_map_sorted (s_state_t *state, size_t *bytes)
{
    size_t n = zhashx_size (state->map);
    s_pair_t *pairs = (s_pair_t *) malloc ((n ? n : 1) * sizeof (s_pair_t));
    zr_assert (pairs);
    size_t i = 0;
    for (const s_value_t *value = (const s_value_t *) zhashx_first (state->map);
         value; value = (const s_value_t *) zhashx_next (state->map)) {
        zr_assert (i < n);
        pairs [i].key = (const s_bytes_t *) zhashx_cursor (state->map);
        pairs [i].value = value;
        *bytes += s_bin_size (pairs [i].key->size) + s_bin_size (value->size);
        i++;
    }
    zr_assert (i == n);
    qsort (pairs, n, sizeof (s_pair_t), s_pair_compare);
    return pairs;
}

static size_t
s_session_size (const s_session_t *session)
{
    return 2 + s_uint_size (session->key.id) + s_uint_size (session->seq)
         + s_uint_size (session->index) + s_uint_size (session->used_ms)
         + s_uint_size (session->used_index);
}

/* Bytes of the snapshot before the map's entries. */
static size_t
s_snapshot_head_size (zr_kv_t *self, uint64_t index)
{
    s_state_t *state = &self->state;
    size_t bytes = 2 + s_uint_size (index) + s_uint_size (state->log_time_ms);
    size_t members = 0;
    for (uint32_t id = 1; id <= ZR_NODES_MAX; id++) {
        size_t length = strlen (self->members.endpoint [id]);
        size_t bus = strlen (self->members.bus [id]);
        if (length) {
            bytes += 1 + s_uint_size (id) + s_str_size (length)
                     + (bus ? s_str_size (bus) : 0);
            members++;
        }
    }
    bytes += s_count_size (members) + s_count_size (zlistx_size (state->lru))
           + s_count_size (zhashx_size (state->map));
    for (const s_session_t *session = (const s_session_t *) zlistx_first (state->lru);
         session; session = (const s_session_t *) zlistx_next (state->lru))
        bytes += s_session_size (session);
    return bytes;
}

static void
s_pack_head (msgpack_packer *pk, zr_kv_t *self, uint64_t index)
{
    s_state_t *state = &self->state;
    msgpack_pack_array (pk, S_SNAPSHOT_FIELDS);
    msgpack_pack_uint64 (pk, ZR_KV_SNAPSHOT_VERSION);
    msgpack_pack_uint64 (pk, index);
    msgpack_pack_uint64 (pk, state->log_time_ms);
    size_t members = 0;
    for (uint32_t id = 1; id <= ZR_NODES_MAX; id++)
        members += self->members.endpoint [id][0] != '\0';
    msgpack_pack_array (pk, members);
    for (uint32_t id = 1; id <= ZR_NODES_MAX; id++) {
        const char *endpoint = self->members.endpoint [id];
        const char *bus = self->members.bus [id];
        if (endpoint [0]) {
            msgpack_pack_array (pk, S_MEMBER_FIELDS + (bus [0] != '\0'));
            msgpack_pack_uint64 (pk, id);
            msgpack_pack_str (pk, strlen (endpoint));
            msgpack_pack_str_body (pk, endpoint, strlen (endpoint));
            if (bus [0]) {
                msgpack_pack_str (pk, strlen (bus));
                msgpack_pack_str_body (pk, bus, strlen (bus));
            }
        }
    }
    msgpack_pack_array (pk, zlistx_size (state->lru));
    for (const s_session_t *session = (const s_session_t *) zlistx_first (state->lru);
         session; session = (const s_session_t *) zlistx_next (state->lru)) {
        msgpack_pack_array (pk, S_SESSION_FIELDS);
        msgpack_pack_uint64 (pk, session->key.id);
        msgpack_pack_uint64 (pk, session->seq);
        msgpack_pack_uint64 (pk, session->index);
        s_pack_bool (pk, session->swapped);
        msgpack_pack_uint64 (pk, session->used_ms);
        msgpack_pack_uint64 (pk, session->used_index);
    }
}

int
zr_kv_snapshot (void *arg, uint64_t index, void **data, size_t *size)
{
    zr_kv_t *self = (zr_kv_t *) arg;
    zr_assert (self && data && size);
    zr_assert (index >= self->state.applied);
    /* The members are read without the lock: this thread is their only writer. */
    size_t bytes = s_snapshot_head_size (self, index);
    size_t n = zhashx_size (self->state.map);
    s_pair_t *pairs = s_map_sorted (&self->state, &bytes);
    s_buffer_t buffer;
    msgpack_packer pk;
    s_buffer_init (&buffer, &pk, bytes);
    s_pack_head (&pk, self, index);
    msgpack_pack_map (&pk, n);
    for (size_t i = 0; i < n; i++) {
        s_pack_bin (&pk, pairs [i].key->data, pairs [i].key->size);
        s_pack_bin (&pk, pairs [i].value->data, pairs [i].value->size);
    }
    free (pairs);
    s_buffer_release (&buffer, data, size);
    return 0;
}

//  --------------------------------------------------------------------------
//  Restore: everything checked, built aside, swapped in on success

/* Reads a member: [id, endpoint] or [id, endpoint, bus endpoint], its
   id above previous. */
static bool
s_restore_member (s_reader_t *r, s_members_t *members, uint64_t *previous)
{
    uint64_t fields, id;
    const char *endpoint, *bus = NULL;
    size_t length, bus_length = 0;
    if (!s_read_count (r, false, &fields)
    ||  (fields != S_MEMBER_FIELDS && fields != S_MEMBER_FIELDS + 1)
    ||  !s_read_uint (r, &id) || id <= *previous || id > ZR_NODES_MAX
    ||  !s_read_endpoint (r, &endpoint, &length)
    ||  (fields > S_MEMBER_FIELDS && !s_read_endpoint (r, &bus, &bus_length)))
        return false;
    memcpy (members->endpoint [id], endpoint, length);
    members->endpoint [id][length] = '\0';
    if (bus_length)
        memcpy (members->bus [id], bus, bus_length);
    members->bus [id][bus_length] = '\0';
    *previous = id;
    return true;
}

static bool
s_restore_members (s_reader_t *r, s_members_t *members)
{
    uint64_t n, previous = 0;
    if (!s_read_count (r, false, &n) || n > ZR_NODES_MAX)
        return false;
    for (uint64_t i = 0; i < n; i++)
        if (!s_restore_member (r, members, &previous))
            return false;
    return true;
}

/* Reads one session into state, after previous (NULL for the first):
   invariants (1)-(3) against the snapshot's index and log time. */
static bool
s_restore_session (s_reader_t *r, s_state_t *state, const s_session_t *previous)
{
    s_session_t s;
    memset (&s, 0, sizeof s);
    if (!s_read_array_of (r, S_SESSION_FIELDS) || !s_read_uint (r, &s.key.id)
    ||  !s_read_uint (r, &s.seq) || !s_read_uint (r, &s.index)
    ||  !s_read_bool (r, &s.swapped) || !s_read_uint (r, &s.used_ms)
    ||  !s_read_uint (r, &s.used_index))
        return false;
    if (s.key.id == 0 || s.seq == 0 || s.index == 0 || s.index > s.used_index
    ||  s.used_index > state->applied || s.used_ms > state->log_time_ms)
        return false;
    if (previous && (s.used_index <= previous->used_index
                     || s.used_ms < previous->used_ms))
        return false;
    s_session_t *session = s_session_add (state, s.key.id);
    if (!session)
        return false;                   /* a client twice */
    session->seq = s.seq;
    session->index = s.index;
    session->swapped = s.swapped;
    session->used_ms = s.used_ms;
    session->used_index = s.used_index;
    return true;
}

static bool
s_restore_sessions (s_reader_t *r, s_state_t *state)
{
    uint64_t n;
    if (!s_read_count (r, false, &n))
        return false;
    const s_session_t *previous = NULL;
    for (uint64_t i = 0; i < n; i++) {
        if (!s_restore_session (r, state, previous))
            return false;
        previous = (const s_session_t *) zlistx_tail (state->lru);
    }
    return true;
}

static bool
s_restore_map (s_reader_t *r, s_state_t *state)
{
    uint64_t n;
    if (!s_read_count (r, true, &n))
        return false;
    const uint8_t *previous = NULL;
    size_t previous_size = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *key, *value;
        size_t key_size, value_size;
        if (!s_read_bytes (r, false, ZR_CLIENT_KEY_MAX, &key, &key_size)
        ||  key_size == 0
        ||  (previous && s_key_order (previous, previous_size, key, key_size) >= 0)
        ||  !s_read_bytes (r, false, ZR_CLIENT_VALUE_MAX, &value, &value_size))
            return false;
        s_bytes_t view = s_key_view (state, key, key_size);
        s_value_t *copy = s_value_new (value, value_size);
        if (zhashx_insert (state->map, &view, copy) != 0) {
            free (copy);                /* unreachable: the keys are sorted */
            return false;
        }
        previous = key;
        previous_size = key_size;
    }
    return true;
}

static bool
s_restore_all (s_reader_t *r, uint64_t index, s_state_t *state,
               s_members_t *members)
{
    uint64_t version, stored_index;
    if (!s_read_array_of (r, S_SNAPSHOT_FIELDS) || !s_read_uint (r, &version)
    ||  version != ZR_KV_SNAPSHOT_VERSION || !s_read_uint (r, &stored_index)
    ||  stored_index != index || !s_read_uint (r, &state->log_time_ms))
        return false;
    state->applied = index;
    return s_restore_members (r, members) && s_restore_sessions (r, state)
        && s_restore_map (r, state) && r->pos == r->size;
}

int
zr_kv_restore (void *arg, uint64_t index, const void *data, size_t size)
{
    zr_kv_t *self = (zr_kv_t *) arg;
    zr_assert (self);
    zr_assert (data || size == 0);
    s_reader_t r = { (const uint8_t *) data, size, 0 };
    s_state_t fresh;
    s_state_init (&fresh);
    s_members_t *members = (s_members_t *) calloc (1, sizeof (s_members_t));
    zr_assert (members);
    if (!s_restore_all (&r, index, &fresh, members)) {
        s_state_fini (&fresh);
        free (members);
        return -1;
    }
    s_state_fini (&self->state);
    self->state = fresh;
    zr_assert (pthread_mutex_lock (&self->members_lock) == 0);
    self->members = *members;
    zr_assert (pthread_mutex_unlock (&self->members_lock) == 0);
    free (members);
    s_publish (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Results and answers

int
zr_kv_result_encode (const zr_kv_result_t *result, void **data, size_t *size)
{
    zr_assert (result && data && size);
    if (result->code < 0 || result->code > ZR_CLIENT_CODE_MAX)
        return ZR_EINVAL;
    s_buffer_t buffer;
    msgpack_packer pk;
    s_buffer_init (&buffer, &pk, 3 + s_uint_size (result->index));
    msgpack_pack_array (&pk, 3);
    msgpack_pack_uint64 (&pk, (uint64_t) result->code);
    msgpack_pack_uint64 (&pk, result->index);
    s_pack_bool (&pk, result->swapped);
    zr_assert (buffer.size <= S_RESULT_BYTES_MAX);
    s_buffer_release (&buffer, data, size);
    return 0;
}

int
zr_kv_result_decode (const void *data, size_t size, zr_kv_result_t *result)
{
    zr_assert (result);
    zr_assert (data || size == 0);
    s_reader_t r = { (const uint8_t *) data, size, 0 };
    uint64_t code, index;
    bool swapped;
    if (!s_read_array_of (&r, 3) || !s_read_uint (&r, &code)
    ||  code > ZR_CLIENT_CODE_MAX || !s_read_uint (&r, &index)
    ||  !s_read_bool (&r, &swapped) || r.pos != r.size)
        return ZR_EMALFORMED;
    result->code = (int) code;
    result->index = index;
    result->swapped = swapped;
    return 0;
}

int
zr_kv_answer_decode (const void *data, size_t size, bool *found,
                     const void **value, size_t *value_size)
{
    zr_assert (found && value && value_size);
    zr_assert (data || size == 0);
    s_reader_t r = { (const uint8_t *) data, size, 0 };
    bool present;
    const uint8_t *bytes;
    size_t length;
    if (!s_read_array_of (&r, 2) || !s_read_bool (&r, &present)
    ||  !s_read_bytes (&r, false, ZR_CLIENT_VALUE_MAX, &bytes, &length)
    ||  (!present && length > 0) || r.pos != r.size)
        return ZR_EMALFORMED;
    *found = present;
    *value = bytes;
    *value_size = length;
    return 0;
}

//  --------------------------------------------------------------------------
//  Member directory and figures

/* Copies endpoint (NUL-terminated, "" if none) into buf under the
   members' lock: true if there was one and it fit. */
static bool
s_member_copy (zr_kv_t *self, const char *endpoint, char *buf, size_t size)
{
    zr_assert (pthread_mutex_lock (&self->members_lock) == 0);
    size_t length = strlen (endpoint);
    bool copied = length > 0 && length < size;
    if (copied)
        memcpy (buf, endpoint, length + 1);
    zr_assert (pthread_mutex_unlock (&self->members_lock) == 0);
    return copied;
}

bool
zr_kv_member_endpoint (zr_kv_t *self, uint32_t id, char *buf, size_t size)
{
    zr_assert (self);
    zr_assert (buf || size == 0);
    if (id < 1 || id > ZR_NODES_MAX)
        return false;
    return s_member_copy (self, self->members.endpoint [id], buf, size);
}

bool
zr_kv_member_bus_endpoint (zr_kv_t *self, uint32_t id, char *buf,
                           size_t size)
{
    zr_assert (self);
    zr_assert (buf || size == 0);
    if (id < 1 || id > ZR_NODES_MAX)
        return false;
    return s_member_copy (self, self->members.bus [id], buf, size);
}

size_t
zr_kv_size (zr_kv_t *self)
{
    zr_assert (self);
    return atomic_load_explicit (&self->map_size, memory_order_relaxed);
}

size_t
zr_kv_sessions (zr_kv_t *self)
{
    zr_assert (self);
    return atomic_load_explicit (&self->sessions_size, memory_order_relaxed);
}

uint64_t
zr_kv_log_time (zr_kv_t *self)
{
    zr_assert (self);
    return (uint64_t) atomic_load_explicit (&self->log_time_ms, memory_order_relaxed);
}
