/*  =========================================================================
    fuzz_kv - the key/value state machine (bin/lib/kv.h) on arbitrary
    log entries and snapshots

    The input is one control byte, then a payload. Bit 0 of the control
    byte picks what the payload is, the other seven bits are an index:
    - 0, an entry: zr_kv_apply of the payload at index 1000 to a small
      state (map, sessions, members). zr_kv_cmd_decode allocates
      nothing; the entry is INVALID exactly when it does not decode, and
      then the state is as before (byte for byte, by snapshot); a decoded
      command re-encodes to at most the payload's size and decodes to the
      same fields. Apply allocates within S_APPLY_ALLOC_*.
    - 1, a snapshot: zr_kv_restore of the payload at index control >> 1
      into the same small state, within S_RESTORE_ALLOC_*. Refused, the
      state is as before; accepted, the state snapshots to at most the
      payload's size (the canonical form), and that snapshot restores
      into another instance which snapshots to the same bytes.
    Seeds: tests/fuzz/seeds.c (seeds kv DIR).
    =========================================================================
*/
#include "../../raft/raft.h"
#include "../../transport/client.h"
#include "../../bin/lib/kv.h"
#include "fuzz.h"

const char fuzz_target [] = "kv";

#define S_ENTRY_INDEX 1000
/* Above every index used: snapshots at it compare states. */
#define S_INDEX_TOP 100000

/* Apply copies a key and a value (each with a header), adds a table
   item and a session, may grow a small table, encodes a result. */
#define S_APPLY_ALLOC_MULTIPLE 2
#define S_APPLY_ALLOC_CONSTANT (16 * 1024)
/* Restore builds per element at most: a map entry (5 input bytes) takes
   a key copy, a value, a zhashx item and its share of the table (~90
   bytes); a session (7 bytes) a session, a zlistx node, an item and its
   share (~150 bytes). The constant: the empty tables, the directory. */
#define S_RESTORE_ALLOC_MULTIPLE 32
#define S_RESTORE_ALLOC_CONSTANT (16 * 1024)

static void
s_apply (zr_kv_t *kv, uint64_t index, const zr_kv_cmd_t *cmd)
{
    void *data;
    size_t size;
    FUZZ_CHECK (zr_kv_cmd_encode (cmd, &data, &size) == 0);
    zr_kv_apply (kv, index, 1, data, size, NULL, NULL);
    free (data);
}

/* The state every input starts from: three keys, two sessions (one
   with a CAS cached), a member. */
static zr_kv_t *
s_state_new (void)
{
    zr_kv_config_t config = { 1000, 4 };
    zr_kv_t *kv = zr_kv_new (&config);
    FUZZ_CHECK (kv);
    zr_kv_cmd_t cmd;
    memset (&cmd, 0, sizeof cmd);
    cmd.type = ZR_KV_PUT;
    cmd.time_ms = 500;
    cmd.client_id = 1;
    cmd.seq = 1;
    cmd.key = "k";
    cmd.key_size = 1;
    cmd.value = "v";
    cmd.value_size = 1;
    s_apply (kv, 1, &cmd);
    cmd.seq = 2;
    cmd.key = "key";
    cmd.key_size = 3;
    s_apply (kv, 2, &cmd);
    cmd.type = ZR_KV_CAS;
    cmd.client_id = 2;
    cmd.seq = 1;
    cmd.old = "v";
    cmd.old_size = 1;
    cmd.value = "w";
    s_apply (kv, 3, &cmd);
    memset (&cmd, 0, sizeof cmd);
    cmd.type = ZR_KV_ANNOUNCE;
    cmd.time_ms = 600;
    cmd.member = 2;
    cmd.endpoint = "tcp://127.0.0.1:1";
    cmd.endpoint_size = strlen (cmd.endpoint);
    s_apply (kv, 4, &cmd);
    return kv;
}

/* kv's snapshot at S_INDEX_TOP (caller frees). */
static void *
s_snapshot (zr_kv_t *kv, size_t *size)
{
    void *data = NULL;
    FUZZ_CHECK (zr_kv_snapshot (kv, S_INDEX_TOP, &data, size) == 0);
    FUZZ_CHECK (data);
    return data;
}

static bool
s_same (const void *a, size_t a_size, const void *b, size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp (a, b, a_size) == 0);
}

/* Checks that a decoded command re-encodes canonically and round-trips. */
static void
s_check_round_trip (const zr_kv_cmd_t *cmd, size_t size)
{
    void *data;
    size_t encoded;
    FUZZ_CHECK (zr_kv_cmd_encode (cmd, &data, &encoded) == 0);
    FUZZ_CHECK (encoded <= size);
    zr_kv_cmd_t copy;
    FUZZ_CHECK (zr_kv_cmd_decode (data, encoded, &copy) == 0);
    FUZZ_CHECK (copy.type == cmd->type && copy.time_ms == cmd->time_ms);
    FUZZ_CHECK (copy.client_id == cmd->client_id && copy.seq == cmd->seq);
    FUZZ_CHECK (copy.member == cmd->member);
    FUZZ_CHECK (s_same (copy.key, copy.key_size, cmd->key, cmd->key_size));
    FUZZ_CHECK (s_same (copy.value, copy.value_size, cmd->value, cmd->value_size));
    FUZZ_CHECK (s_same (copy.old, copy.old_size, cmd->old, cmd->old_size));
    FUZZ_CHECK (s_same (copy.endpoint, copy.endpoint_size, cmd->endpoint,
                        cmd->endpoint_size));
    FUZZ_CHECK (s_same (copy.bus_endpoint, copy.bus_endpoint_size,
                        cmd->bus_endpoint, cmd->bus_endpoint_size));
    free (data);
}

static void
s_entry (zr_kv_t *kv, const uint8_t *data, size_t size)
{
    zr_kv_cmd_t cmd;
    fuzz_alloc_begin ();
    int rc = zr_kv_cmd_decode (data, size, &cmd);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, 0, 0);
    FUZZ_CHECK (rc == 0 || rc == ZR_EMALFORMED);
    if (rc == 0)
        s_check_round_trip (&cmd, size);
    size_t before_size;
    void *before = s_snapshot (kv, &before_size);
    void *result = NULL;
    size_t result_size = 0;
    fuzz_alloc_begin ();
    zr_kv_apply (kv, S_ENTRY_INDEX, 1, data, size, &result, &result_size);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_APPLY_ALLOC_MULTIPLE,
                       S_APPLY_ALLOC_CONSTANT);
    zr_kv_result_t decoded;
    FUZZ_CHECK (zr_kv_result_decode (result, result_size, &decoded) == 0);
    FUZZ_CHECK ((decoded.code == ZR_CLIENT_INVALID) == (rc != 0));
    FUZZ_CHECK (decoded.code == ZR_CLIENT_OK || decoded.code == ZR_CLIENT_INVALID
                || decoded.code == ZR_CLIENT_SESSION_EXPIRED);
    FUZZ_CHECK (decoded.index <= S_ENTRY_INDEX);
    if (rc != 0) {
        size_t after_size;
        void *after = s_snapshot (kv, &after_size);
        FUZZ_CHECK (s_same (before, before_size, after, after_size));
        free (after);
    }
    free (result);
    free (before);
}

static void
s_restore (zr_kv_t *kv, uint64_t index, const uint8_t *data, size_t size)
{
    size_t before_size;
    void *before = s_snapshot (kv, &before_size);
    fuzz_alloc_begin ();
    int rc = zr_kv_restore (kv, index, data, size);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_RESTORE_ALLOC_MULTIPLE,
                       S_RESTORE_ALLOC_CONSTANT);
    FUZZ_CHECK (rc == 0 || rc == -1);
    size_t after_size;
    void *after = NULL;
    if (rc == -1) {
        after = s_snapshot (kv, &after_size);
        FUZZ_CHECK (s_same (before, before_size, after, after_size));
    }
    else {
        FUZZ_CHECK (zr_kv_snapshot (kv, index, &after, &after_size) == 0);
        FUZZ_CHECK (after_size <= size);
        zr_kv_t *copy = zr_kv_new (NULL);
        FUZZ_CHECK (copy);
        FUZZ_CHECK (zr_kv_restore (copy, index, after, after_size) == 0);
        void *again = NULL;
        size_t again_size;
        FUZZ_CHECK (zr_kv_snapshot (copy, index, &again, &again_size) == 0);
        FUZZ_CHECK (s_same (after, after_size, again, again_size));
        FUZZ_CHECK (zr_kv_size (copy) == zr_kv_size (kv));
        FUZZ_CHECK (zr_kv_sessions (copy) == zr_kv_sessions (kv));
        FUZZ_CHECK (zr_kv_log_time (copy) == zr_kv_log_time (kv));
        free (again);
        zr_kv_destroy (&copy);
    }
    free (after);
    free (before);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    zr_kv_t *kv = s_state_new ();
    if (data [0] & 1)
        s_restore (kv, data [0] >> 1, data + 1, size - 1);
    else
        s_entry (kv, data + 1, size - 1);
    zr_kv_destroy (&kv);
    return 0;
}
