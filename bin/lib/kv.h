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
    | ANNOUNCE (4)  | member id, client endpoint (str)             |
    time_ms is the proposer's wall clock; the log's time is the largest
    time_ms applied so far, so it never goes backwards and every server
    computes the same one.

    Sessions (Raft thesis §6.3): a client (client_id) numbers its
    commands (seq 1, 2, ...). A session remembers the last seq applied
    and its result: the same seq again returns that result without
    applying twice; an older seq gets SESSION_EXPIRED. A session not used
    for session_ttl_ms of log time is dropped, and beyond sessions_max
    the least recently used goes: both decided by log time and client id
    alone, so every server drops the same sessions at the same index.
    Sessions are part of the snapshot.
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

typedef struct {
    uint64_t session_ttl_ms;            /* default 1 hour of log time */
    uint32_t sessions_max;              /* default 100,000 */
} zr_kv_config_t;

typedef struct _zr_kv_t zr_kv_t;

/* config may be NULL for the defaults. */
zr_kv_t *zr_kv_new (const zr_kv_config_t *config);
void zr_kv_destroy (zr_kv_t **self_p);

/* Encodes cmd into a malloc'd buffer; returns 0 or ZR_EINVAL (a field
   over the client protocol's limits). */
int zr_kv_cmd_encode (const zr_kv_cmd_t *cmd, void **data, size_t *size);
/* Decodes an entry; the pointers in *cmd point into data. Returns 0 or
   ZR_EMALFORMED. */
int zr_kv_cmd_decode (const void *data, size_t size, zr_kv_cmd_t *cmd);

/* zraft_fsm_t callbacks, arg = the zr_kv_t. apply returns the encoded
   zr_kv_result_t as its result; query takes a key and returns
   [found, value]; snapshot/restore carry the map, the sessions, the
   member directory and the log time. */
void zr_kv_apply (void *arg, uint64_t index, uint64_t term, const void *data,
                  size_t size, void **result, size_t *result_size);
int zr_kv_query (void *arg, const void *data, size_t size, void **result,
                 size_t *result_size);
int zr_kv_snapshot (void *arg, uint64_t index, void **data, size_t *size);
int zr_kv_restore (void *arg, uint64_t index, const void *data, size_t size);

/* Results and query answers, both ways. */
int zr_kv_result_encode (const zr_kv_result_t *result, void **data, size_t *size);
int zr_kv_result_decode (const void *data, size_t size, zr_kv_result_t *result);
int zr_kv_answer_decode (const void *data, size_t size, bool *found,
                         const void **value, size_t *value_size);

/* The member directory (thread-safe): copies member id's announced client
   endpoint into buf (size bytes) and returns true, or returns false if
   it has not announced one. */
bool zr_kv_member_endpoint (zr_kv_t *self, uint32_t id, char *buf, size_t size);

/* For tests and status: entries in the map, live sessions, log time. */
size_t zr_kv_size (zr_kv_t *self);
size_t zr_kv_sessions (zr_kv_t *self);
uint64_t zr_kv_log_time (zr_kv_t *self);

#endif
