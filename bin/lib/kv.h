/*  =========================================================================
    kv - zraft-node's replicated state machine: a key/value map with
    client sessions and the cluster's member directory

    Every change reaches the map as a command in the Raft log, applied
    in index order on the applier thread (zraft_fsm_t.apply); reads run
    there too (zraft_fsm_t.query), so the map needs no lock. Only the
    member directory is also read from the server's main thread, under
    a mutex.

    Commands (one msgpack array per log entry, strictly decoded; an entry
    that does not decode is applied as a no-op with result INVALID, on
    every server alike):
    | cmd (wire)    | fields after [cmd, time_ms]                  |
    |---------------|----------------------------------------------|
    | PUT (1)       | client_id, seq, key, value                   |
    | DEL (2)       | client_id, seq, key                          |
    | CAS (3)       | client_id, seq, key, old, new                |
    | ANNOUNCE (4)  | member id, client endpoint (str)[, bus       |
    |               | endpoint (str)]                              |
    Integers are msgpack unsigned (client_id, seq >= 1; member id
    1..ZR_NODES_MAX), key, value and old are bin within the client
    protocol's limits (client.h), the endpoints strs of 1..255 bytes
    without NUL. An ANNOUNCE names the member's client endpoint and, if
    it has a bus endpoint (zraft-node --listen-bus), that one too: the
    latest ANNOUNCE of a member replaces both. time_ms is the proposer's wall clock; the log's time is
    the largest time_ms applied so far, so it never goes backwards and
    every server computes the same one (an entry that does not decode
    leaves it alone).

    Sessions (Raft thesis §6.3): a client (client_id) numbers its
    commands (seq 1, 2, ...). A session remembers the last seq applied
    and its result: the same seq again returns that result without
    applying twice; an older seq gets SESSION_EXPIRED. A command with
    seq 1 from a client without a session creates it; any other seq from
    such a client gets SESSION_EXPIRED (its session expired, so whether
    its earlier commands applied is unknown): the client starts over with
    a new client_id. A session not used (by any command of its client)
    for session_ttl_ms of log time is dropped, and beyond sessions_max
    the least recently used goes, ties broken by the index of the last
    use: all decided by the log alone, so every server drops the same
    sessions at the same index. Sessions are part of the snapshot, in
    that order. A client's seq 1 retried after its session was dropped
    applies again: the thesis' limit of expiring sessions.
    =========================================================================
*/
#ifndef ZR_KV_H_INCLUDED
#define ZR_KV_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ZR_KV_PUT = 1,
    ZR_KV_DEL = 2,
    ZR_KV_CAS = 3,
    ZR_KV_ANNOUNCE = 4
} zr_kv_cmd_type_t;

typedef struct {
    zr_kv_cmd_type_t type;
    uint64_t time_ms;
    uint64_t client_id, seq;            /* PUT, DEL, CAS */
    const void *key; size_t key_size;   /* PUT, DEL, CAS */
    const void *value; size_t value_size;   /* PUT; CAS: new */
    const void *old; size_t old_size;   /* CAS */
    uint32_t member;                    /* ANNOUNCE */
    const char *endpoint; size_t endpoint_size;     /* ANNOUNCE, not NUL-terminated */
    const char *bus_endpoint; size_t bus_endpoint_size; /* ANNOUNCE: 0 if none */
} zr_kv_cmd_t;

/* The outcome of one command, what apply returns to the proposer. code
   is a zr_client_code_t (transport/client.h): OK, INVALID or
   SESSION_EXPIRED. */
typedef struct {
    int code;
    uint64_t index;                     /* the entry that applied it (for a
                                           duplicate: the first time) */
    bool swapped;                       /* CAS */
} zr_kv_result_t;

/* Every server of a cluster must run with the same configuration. */
typedef struct {
    uint64_t session_ttl_ms;            /* 0: default, 1 hour of log time */
    uint32_t sessions_max;              /* 0: default, 100,000 */
} zr_kv_config_t;

typedef struct _zr_kv_t zr_kv_t;

/* config may be NULL for the defaults. Returns NULL if out of memory. */
zr_kv_t *zr_kv_new (const zr_kv_config_t *config);
/* Idempotent; NULLs *self_p. */
void zr_kv_destroy (zr_kv_t **self_p);

/* Encodes cmd into a malloc'd buffer; returns 0 or ZR_EINVAL (a field
   over the client protocol's limits). */
int zr_kv_cmd_encode (const zr_kv_cmd_t *cmd, void **data, size_t *size);
/* Decodes an entry; the pointers in *cmd point into data. Returns 0 or
   ZR_EMALFORMED. */
int zr_kv_cmd_decode (const void *data, size_t size, zr_kv_cmd_t *cmd);

/* zraft_fsm_t callbacks, arg = the zr_kv_t, all on one thread (the
   applier). apply returns the encoded zr_kv_result_t as its result
   (skipped if result is NULL); indexes must increase from call to call
   and exceed a restored snapshot's (asserted). query takes a key and
   returns [found, value], or -1 for a key outside 1..ZR_CLIENT_KEY_MAX.
   snapshot/restore carry the map, the sessions, the member directory
   and the log time in one versioned msgpack buffer (kv.c), canonical:
   servers at the same index write the same bytes; snapshot's index is
   the last index applied (noops included), restore's must be the one
   the snapshot was taken at. restore checks everything and returns -1,
   leaving the state unchanged, for bytes that are not such a snapshot.
   Results, answers and snapshots are malloc'd: the caller frees them. */
void zr_kv_apply (void *arg, uint64_t index, uint64_t term, const void *data,
                  size_t size, void **result, size_t *result_size);
int zr_kv_query (void *arg, const void *data, size_t size, void **result,
                 size_t *result_size);
int zr_kv_snapshot (void *arg, uint64_t index, void **data, size_t *size);
int zr_kv_restore (void *arg, uint64_t index, const void *data, size_t size);

/* Results and query answers, both ways. Encoders return 0 (ZR_EINVAL
   for a code outside zr_client_code_t); decoders are strict (exactly the
   encoders' form, nothing after it) and return 0 or ZR_EMALFORMED; the
   value points into data. */
int zr_kv_result_encode (const zr_kv_result_t *result, void **data, size_t *size);
int zr_kv_result_decode (const void *data, size_t size, zr_kv_result_t *result);
int zr_kv_answer_decode (const void *data, size_t size, bool *found,
                         const void **value, size_t *value_size);

/* The member directory (thread-safe): copies member id's announced client
   endpoint, NUL-terminated, into buf (size bytes) and returns true, or
   returns false if it has not announced one or buf is too small. */
bool zr_kv_member_endpoint (zr_kv_t *self, uint32_t id, char *buf, size_t size);
/* The same for member id's announced bus endpoint. */
bool zr_kv_member_bus_endpoint (zr_kv_t *self, uint32_t id, char *buf,
                                size_t size);

/* For tests and status (thread-safe: copies published after each
   command and restore): entries in the map, live sessions, log time. */
size_t zr_kv_size (zr_kv_t *self);
size_t zr_kv_sessions (zr_kv_t *self);
uint64_t zr_kv_log_time (zr_kv_t *self);

#endif
