/*  =========================================================================
    test_kv - unit tests of bin/lib/kv: commands, sessions, snapshots

    Every command and every session rule of kv.h has a test, plus the
    two properties a replicated state machine lives by: servers fed the
    same log (or the same snapshot, then the same log) answer and
    snapshot byte for byte alike; and no bytes, command or snapshot, cut
    or flipped, crash it or change a state they were refused by. The
    randomised tests take ZR_SEED (default S_SEED_DEFAULT) and print it
    in every failure message.
    =========================================================================
*/
#include "../../raft/raft.h"
#include "../../transport/client.h"
#include "../../bin/lib/kv.h"

#include <check.h>
#include "../lib/check_run.h"
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#define S_SEED_DEFAULT 0x6b7673656564ULL
/* An index above every index a test applies: snapshots taken at it
   compare states whatever was applied last. */
#define S_INDEX_TOP 1000000000ULL

//  --------------------------------------------------------------------------
//  Helpers

static uint64_t
s_seed (void)
{
    const char *env = getenv ("ZR_SEED");
    return env ? strtoull (env, NULL, 0) : S_SEED_DEFAULT;
}

/* A PUT, DEL or CAS command (old and new as C strings, NULL for none). */
static zr_kv_cmd_t
s_cmd (zr_kv_cmd_type_t type, uint64_t time_ms, uint64_t client_id,
       uint64_t seq, const char *key, const char *old, const char *value)
{
    zr_kv_cmd_t cmd;
    memset (&cmd, 0, sizeof cmd);
    cmd.type = type;
    cmd.time_ms = time_ms;
    cmd.client_id = client_id;
    cmd.seq = seq;
    cmd.key = key;
    cmd.key_size = strlen (key);
    if (old) {
        cmd.old = old;
        cmd.old_size = strlen (old);
    }
    if (value) {
        cmd.value = value;
        cmd.value_size = strlen (value);
    }
    return cmd;
}

/* Encodes cmd, applies it at index, returns the decoded result. */
static zr_kv_result_t
s_apply_cmd (zr_kv_t *kv, uint64_t index, const zr_kv_cmd_t *cmd)
{
    void *data;
    size_t size;
    ck_assert_int_eq (zr_kv_cmd_encode (cmd, &data, &size), 0);
    void *result = NULL;
    size_t result_size = 0;
    zr_kv_apply (kv, index, 1, data, size, &result, &result_size);
    free (data);
    zr_kv_result_t decoded;
    ck_assert_int_eq (zr_kv_result_decode (result, result_size, &decoded), 0);
    free (result);
    return decoded;
}

static zr_kv_result_t
s_put (zr_kv_t *kv, uint64_t index, uint64_t time_ms, uint64_t client_id,
       uint64_t seq, const char *key, const char *value)
{
    zr_kv_cmd_t cmd = s_cmd (ZR_KV_PUT, time_ms, client_id, seq, key, NULL, value);
    return s_apply_cmd (kv, index, &cmd);
}

static zr_kv_result_t
s_del (zr_kv_t *kv, uint64_t index, uint64_t time_ms, uint64_t client_id,
       uint64_t seq, const char *key)
{
    zr_kv_cmd_t cmd = s_cmd (ZR_KV_DEL, time_ms, client_id, seq, key, NULL, NULL);
    return s_apply_cmd (kv, index, &cmd);
}

static zr_kv_result_t
s_cas (zr_kv_t *kv, uint64_t index, uint64_t time_ms, uint64_t client_id,
       uint64_t seq, const char *key, const char *old, const char *value)
{
    zr_kv_cmd_t cmd = s_cmd (ZR_KV_CAS, time_ms, client_id, seq, key, old, value);
    return s_apply_cmd (kv, index, &cmd);
}

static zr_kv_result_t
s_announce (zr_kv_t *kv, uint64_t index, uint64_t time_ms, uint32_t member,
            const char *endpoint)
{
    zr_kv_cmd_t cmd;
    memset (&cmd, 0, sizeof cmd);
    cmd.type = ZR_KV_ANNOUNCE;
    cmd.time_ms = time_ms;
    cmd.member = member;
    cmd.endpoint = endpoint;
    cmd.endpoint_size = strlen (endpoint);
    return s_apply_cmd (kv, index, &cmd);
}

/* Asserts a result's fields. */
static void
s_expect (zr_kv_result_t result, int code, uint64_t index, bool swapped)
{
    ck_assert_int_eq (result.code, code);
    ck_assert_uint_eq (result.index, index);
    ck_assert_int_eq (result.swapped, swapped);
}

/* Asserts what a query of key answers: value, or absent if NULL. */
static void
s_expect_value (zr_kv_t *kv, const char *key, const char *value)
{
    void *answer = NULL;
    size_t size = 0;
    ck_assert_int_eq (zr_kv_query (kv, key, strlen (key), &answer, &size), 0);
    bool found;
    const void *bytes;
    size_t length;
    ck_assert_int_eq (zr_kv_answer_decode (answer, size, &found, &bytes, &length), 0);
    ck_assert_int_eq (found, value != NULL);
    if (value) {
        ck_assert_uint_eq (length, strlen (value));
        ck_assert (memcmp (bytes, value, length) == 0);
    }
    else
        ck_assert_uint_eq (length, 0);
    free (answer);
}

/* A snapshot of kv at index (caller frees *data). */
static void
s_snapshot (zr_kv_t *kv, uint64_t index, void **data, size_t *size)
{
    ck_assert_int_eq (zr_kv_snapshot (kv, index, data, size), 0);
    ck_assert_ptr_nonnull (*data);
}

/* Asserts that a and b snapshot to the same bytes at S_INDEX_TOP. */
static void
s_expect_same_state (zr_kv_t *a, zr_kv_t *b, const char *context)
{
    void *x, *y;
    size_t x_size, y_size;
    s_snapshot (a, S_INDEX_TOP, &x, &x_size);
    s_snapshot (b, S_INDEX_TOP, &y, &y_size);
    ck_assert_msg (x_size == y_size && memcmp (x, y, x_size) == 0,
                   "%s: states differ (%zu and %zu snapshot bytes)", context,
                   x_size, y_size);
    ck_assert_uint_eq (zr_kv_size (a), zr_kv_size (b));
    ck_assert_uint_eq (zr_kv_sessions (a), zr_kv_sessions (b));
    ck_assert_uint_eq (zr_kv_log_time (a), zr_kv_log_time (b));
    free (x);
    free (y);
}

/* Applies data at index, asserts the result is INVALID there. */
static void
s_apply_invalid (zr_kv_t *kv, uint64_t index, const void *data, size_t size,
                 const char *context)
{
    void *result = NULL;
    size_t result_size = 0;
    zr_kv_apply (kv, index, 1, data, size, &result, &result_size);
    zr_kv_result_t decoded;
    ck_assert_int_eq (zr_kv_result_decode (result, result_size, &decoded), 0);
    ck_assert_msg (decoded.code == ZR_CLIENT_INVALID && decoded.index == index,
                   "%s: code %d index %llu", context, decoded.code,
                   (unsigned long long) decoded.index);
    free (result);
}

/* A small state with everything a snapshot carries: keys (one empty
   value, one binary key), sessions (one with a failed CAS cached), two
   members and a log time. Returns the last index applied. */
static uint64_t
s_populate (zr_kv_t *kv)
{
    s_put (kv, 1, 1000, 7, 1, "alpha", "one");
    s_put (kv, 2, 1001, 8, 1, "beta", "");
    s_cas (kv, 3, 1001, 9, 1, "alpha", "nope", "two");
    s_announce (kv, 4, 1002, 3, "tcp://127.0.0.1:7003");
    s_announce (kv, 5, 1003, 1, "tcp://127.0.0.1:7001");
    zr_kv_cmd_t cmd = s_cmd (ZR_KV_PUT, 1004, 7, 2, "k", NULL, "binary");
    const uint8_t key [3] = { 0, 0xff, 0 };
    cmd.key = key;
    cmd.key_size = sizeof key;
    s_apply_cmd (kv, 6, &cmd);
    s_del (kv, 7, 1005, 8, 2, "nothing");
    return 7;
}

/* A seeded random log: commands of every type from a few clients, with
   retries, stale seqs, restarts, times that jump ahead and go back, and
   garbage entries. */
typedef struct {
    zr_rng_t rng;                       /* the log's randomness */
    uint64_t time_ms;                   /* the proposers' clock */
    uint64_t seq [16];                  /* last seq per client 1..15 */
} s_log_t;

static void
s_log_init (s_log_t *log, uint64_t seed)
{
    memset (log, 0, sizeof *log);
    zr_rng_seed (&log->rng, seed);
    log->time_ms = 1000;
}

static uint64_t
s_log_seq (s_log_t *log, uint64_t client)
{
    uint64_t roll = zr_rng_range (&log->rng, 0, 20);
    if (roll == 0 || log->seq [client] == 0)
        log->seq [client] = 1;          /* starts (over) */
    else
    if (roll == 1 && log->seq [client] > 1)
        return log->seq [client] - 1;   /* a stale retry */
    else
    if (roll > 4)
        log->seq [client]++;            /* else the same seq: a retry */
    return log->seq [client];
}

/* Writes the next entry of the log into *data (caller frees). */
static void
s_log_next (s_log_t *log, void **data, size_t *size)
{
    zr_rng_t *rng = &log->rng;
    log->time_ms += zr_rng_range (rng, 0, 400);
    uint64_t time_ms = log->time_ms - zr_rng_range (rng, 0, 2) * 700;
    uint64_t kind = zr_rng_range (rng, 0, 20);
    if (kind == 0) {
        *size = (size_t) zr_rng_range (rng, 0, 16);
        *data = malloc (*size + 1);
        for (size_t i = 0; i < *size; i++)
            ((uint8_t *) *data) [i] = (uint8_t) zr_rng_next (rng);
        return;
    }
    char key [8], old [8], value [8], endpoint [32];
    snprintf (key, sizeof key, "k%u", (unsigned) zr_rng_range (rng, 0, 8));
    snprintf (old, sizeof old, "v%u", (unsigned) zr_rng_range (rng, 0, 4));
    snprintf (value, sizeof value, "v%u", (unsigned) zr_rng_range (rng, 0, 4));
    uint64_t client = zr_rng_range (rng, 1, 16);
    zr_kv_cmd_t cmd;
    if (kind == 1) {
        memset (&cmd, 0, sizeof cmd);
        snprintf (endpoint, sizeof endpoint, "tcp://h:%u",
                  (unsigned) zr_rng_range (rng, 1, 100));
        cmd.type = ZR_KV_ANNOUNCE;
        cmd.time_ms = time_ms;
        cmd.member = (uint32_t) zr_rng_range (rng, 1, ZR_NODES_MAX + 1);
        cmd.endpoint = endpoint;
        cmd.endpoint_size = strlen (endpoint);
    }
    else {
        zr_kv_cmd_type_t type = kind < 10 ? ZR_KV_PUT : kind < 14 ? ZR_KV_DEL : ZR_KV_CAS;
        cmd = s_cmd (type, time_ms, client, s_log_seq (log, client), key,
                     type == ZR_KV_CAS ? old : NULL, type == ZR_KV_DEL ? NULL : value);
    }
    ck_assert_int_eq (zr_kv_cmd_encode (&cmd, data, size), 0);
}

/* Applies data at index to kv; returns the result bytes (caller frees). */
static void *
s_apply_raw (zr_kv_t *kv, uint64_t index, const void *data, size_t size,
             size_t *result_size)
{
    void *result = NULL;
    zr_kv_apply (kv, index, 1, data, size, &result, result_size);
    ck_assert_ptr_nonnull (result);
    return result;
}

/* Feeds n entries of the log seeded seed to every instance of kvs from
   index first on, asserting after each that the results are the same
   bytes and every state snapshots alike. */
static void
s_feed_alike (zr_kv_t **kvs, size_t n_kvs, uint64_t seed, uint64_t first,
              size_t n)
{
    s_log_t log;
    s_log_init (&log, seed);
    for (size_t i = 0; i < n; i++) {
        void *data;
        size_t size;
        s_log_next (&log, &data, &size);
        size_t size0;
        void *result0 = s_apply_raw (kvs [0], first + i, data, size, &size0);
        for (size_t k = 1; k < n_kvs; k++) {
            size_t sizek;
            void *resultk = s_apply_raw (kvs [k], first + i, data, size, &sizek);
            ck_assert_msg (size0 == sizek && memcmp (result0, resultk, size0) == 0,
                           "ZR_SEED=%llu entry %zu: results differ",
                           (unsigned long long) seed, i);
            free (resultk);
            char context [64];
            snprintf (context, sizeof context, "ZR_SEED=%llu entry %zu",
                      (unsigned long long) seed, i);
            if (i % 16 == 0 || i + 1 == n)
                s_expect_same_state (kvs [0], kvs [k], context);
        }
        free (result0);
        free (data);
    }
}

//  --------------------------------------------------------------------------
//  zr_kv_cmd_encode / zr_kv_cmd_decode

START_TEST (kv_cmd_encode_round_trips_every_type)
{
    /* kv.h's table: each command decodes to the fields it was made of. */
    zr_kv_cmd_t cmds [4];
    cmds [0] = s_cmd (ZR_KV_PUT, 1ULL << 40, UINT64_MAX, 70000, "key", NULL, "value");
    cmds [1] = s_cmd (ZR_KV_DEL, 0, 1, 1, "key", NULL, NULL);
    cmds [2] = s_cmd (ZR_KV_CAS, 300, 2, 255, "k", "", "new");
    memset (&cmds [3], 0, sizeof cmds [3]);
    cmds [3].type = ZR_KV_ANNOUNCE;
    cmds [3].time_ms = 5;
    cmds [3].member = ZR_NODES_MAX;
    cmds [3].endpoint = "tcp://10.0.0.1:5555";
    cmds [3].endpoint_size = strlen (cmds [3].endpoint);
    for (int i = 0; i < 4; i++) {
        void *data;
        size_t size;
        ck_assert_int_eq (zr_kv_cmd_encode (&cmds [i], &data, &size), 0);
        zr_kv_cmd_t cmd;
        ck_assert_int_eq (zr_kv_cmd_decode (data, size, &cmd), 0);
        ck_assert_int_eq (cmd.type, cmds [i].type);
        ck_assert_uint_eq (cmd.time_ms, cmds [i].time_ms);
        ck_assert_uint_eq (cmd.client_id, cmds [i].client_id);
        ck_assert_uint_eq (cmd.seq, cmds [i].seq);
        ck_assert_uint_eq (cmd.key_size, cmds [i].key_size);
        ck_assert (cmd.key_size == 0 || memcmp (cmd.key, cmds [i].key, cmd.key_size) == 0);
        ck_assert_uint_eq (cmd.value_size, cmds [i].value_size);
        ck_assert (cmd.value_size == 0
                   || memcmp (cmd.value, cmds [i].value, cmd.value_size) == 0);
        ck_assert_uint_eq (cmd.old_size, cmds [i].old_size);
        ck_assert_uint_eq (cmd.member, cmds [i].member);
        ck_assert_uint_eq (cmd.endpoint_size, cmds [i].endpoint_size);
        ck_assert (cmd.endpoint_size == 0
                   || memcmp (cmd.endpoint, cmds [i].endpoint, cmd.endpoint_size) == 0);
        /* the pointers point into the entry */
        if (cmd.key_size)
            ck_assert ((const uint8_t *) cmd.key > (const uint8_t *) data
                       && (const uint8_t *) cmd.key < (const uint8_t *) data + size);
        free (data);
    }
}
END_TEST

START_TEST (kv_cmd_encode_round_trips_largest_fields)
{
    /* client.h's limits are inclusive: a full key, old and new fit. */
    size_t big = ZR_CLIENT_VALUE_MAX;
    char *bytes = (char *) malloc (big);
    memset (bytes, 'x', big);
    zr_kv_cmd_t cmd = s_cmd (ZR_KV_CAS, 1, 1, 1, "k", NULL, NULL);
    cmd.key = bytes;
    cmd.key_size = ZR_CLIENT_KEY_MAX;
    cmd.old = bytes;
    cmd.old_size = big;
    cmd.value = bytes;
    cmd.value_size = big;
    void *data;
    size_t size;
    ck_assert_int_eq (zr_kv_cmd_encode (&cmd, &data, &size), 0);
    ck_assert_uint_le (size, ZR_CLIENT_FRAME_MAX);
    zr_kv_cmd_t decoded;
    ck_assert_int_eq (zr_kv_cmd_decode (data, size, &decoded), 0);
    ck_assert_uint_eq (decoded.key_size, ZR_CLIENT_KEY_MAX);
    ck_assert_uint_eq (decoded.old_size, big);
    ck_assert_uint_eq (decoded.value_size, big);
    free (data);
    free (bytes);
}
END_TEST

START_TEST (kv_cmd_encode_rejects_fields_over_limits)
{
    /* client.h's limits: the encoder refuses with ZR_EINVAL, never asserts. */
    static char big [ZR_CLIENT_VALUE_MAX + 1];
    memset (big, 'x', sizeof big);
    void *data = NULL;
    size_t size = 0;
    zr_kv_cmd_t cmd = s_cmd (ZR_KV_PUT, 1, 1, 1, "k", NULL, "v");
    zr_kv_cmd_t bad [12];
    for (int i = 0; i < 12; i++)
        bad [i] = cmd;
    bad [0].key_size = 0;
    bad [1].key = big, bad [1].key_size = ZR_CLIENT_KEY_MAX + 1;
    bad [2].value = big, bad [2].value_size = ZR_CLIENT_VALUE_MAX + 1;
    bad [3].client_id = 0;
    bad [4].seq = 0;
    bad [5].type = (zr_kv_cmd_type_t) 5;
    bad [6].type = ZR_KV_CAS, bad [6].old = big, bad [6].old_size = ZR_CLIENT_VALUE_MAX + 1;
    bad [7].type = ZR_KV_ANNOUNCE, bad [7].member = 0, bad [7].endpoint = "e",
        bad [7].endpoint_size = 1;
    bad [8] = bad [7], bad [8].member = ZR_NODES_MAX + 1;
    bad [9] = bad [7], bad [9].member = 1, bad [9].endpoint_size = 0;
    bad [10] = bad [9], bad [10].endpoint = "a\0b", bad [10].endpoint_size = 3;
    bad [11] = bad [9], bad [11].endpoint = big, bad [11].endpoint_size = 256;
    for (int i = 0; i < 12; i++)
        ck_assert_msg (zr_kv_cmd_encode (&bad [i], &data, &size) == ZR_EINVAL,
                       "bad command %d accepted", i);
    ck_assert_ptr_null (data);
}
END_TEST

START_TEST (kv_cmd_decode_rejects_every_truncation)
{
    /* A command cut anywhere is malformed: its array header counts the
       fields, every bin its bytes. *cmd is left alone. */
    zr_kv_cmd_t cmds [3] = {
        s_cmd (ZR_KV_PUT, 1ULL << 33, 300, 70000, "key", NULL, "value"),
        s_cmd (ZR_KV_DEL, 2, 1, 1, "key", NULL, NULL),
        s_cmd (ZR_KV_CAS, 3, 1, 1, "key", "old", "new")
    };
    for (int i = 0; i < 3; i++) {
        void *data;
        size_t size;
        ck_assert_int_eq (zr_kv_cmd_encode (&cmds [i], &data, &size), 0);
        for (size_t cut = 0; cut < size; cut++) {
            zr_kv_cmd_t cmd;
            memset (&cmd, 0xab, sizeof cmd);
            ck_assert_msg (zr_kv_cmd_decode (data, cut, &cmd) == ZR_EMALFORMED,
                           "command %d cut at %zu decoded", i, cut);
            ck_assert_uint_eq (cmd.time_ms, 0xababababababababULL);
        }
        free (data);
    }
}
END_TEST

/* Packs an array of n with the fields given by the picture: u = uint64,
   i = a signed int (msgpack int8 -1), b = bin "k", s = str "e", t = true. */
static void
s_pack_picture (msgpack_sbuffer *sbuf, const char *picture, const uint64_t *values)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, strlen (picture));
    for (size_t i = 0; picture [i]; i++) {
        if (picture [i] == 'u')
            msgpack_pack_uint64 (&pk, values [i]);
        else
        if (picture [i] == 'i')
            msgpack_pack_int8 (&pk, -1);
        else
        if (picture [i] == 'b') {
            msgpack_pack_bin (&pk, 1);
            msgpack_pack_bin_body (&pk, "k", 1);
        }
        else
        if (picture [i] == 's') {
            msgpack_pack_str (&pk, 1);
            msgpack_pack_str_body (&pk, "e", 1);
        }
        else
            msgpack_pack_true (&pk);
    }
}

START_TEST (kv_cmd_decode_rejects_wrong_schema)
{
    /* Wrong types, counts, limits and trailing bytes: each malformed. */
    static const struct {
        const char *picture;
        uint64_t values [8];
    } cases [] = {
        { "uuuubb", { 1, 1, 1, 1 } },          /* good PUT */
        { "uuuub", { 1, 1, 1, 1 } },           /* PUT one field short */
        { "uuuubbb", { 1, 1, 1, 1 } },         /* PUT one field long */
        { "uuuusb", { 1, 1, 1, 1 } },          /* key a str */
        { "uuuubs", { 1, 1, 1, 1 } },          /* value a str */
        { "uuiubb", { 1, 1, 0, 1 } },          /* signed client id */
        { "uuuubb", { 1, 1, 0, 1 } },          /* client id 0 */
        { "uuuubb", { 1, 1, 1, 0 } },          /* seq 0 */
        { "uuuubb", { 0, 1, 1, 1 } },          /* command 0 */
        { "uuuubb", { 5, 1, 1, 1 } },          /* command 5 */
        { "tuuubb", { 1, 1, 1, 1 } },          /* command a bool */
        { "uuus", { 4, 1, 1 } },               /* good ANNOUNCE */
        { "uuub", { 4, 1, 1 } },               /* endpoint a bin */
        { "uuus", { 4, 1, 0 } },               /* member 0 */
        { "uuus", { 4, 1, ZR_NODES_MAX + 1 } },/* member 10 */
        { "uuuss", { 4, 1, 1 } },              /* good ANNOUNCE with bus */
        { "uuusb", { 4, 1, 1 } },              /* bus endpoint a bin */
        { "uuusss", { 4, 1, 1 } },             /* ANNOUNCE one field long */
        { "uuuub", { 2, 1, 1, 1 } },           /* good DEL */
        { "uuuubbb", { 3, 1, 1, 1 } },         /* good CAS */
        { "uuuubb", { 3, 1, 1, 1 } },          /* CAS without new */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init (&sbuf);
        s_pack_picture (&sbuf, cases [i].picture, cases [i].values);
        bool good = i == 0 || i == 11 || i == 15 || i == 18 || i == 19;
        zr_kv_cmd_t cmd;
        ck_assert_msg ((zr_kv_cmd_decode (sbuf.data, sbuf.size, &cmd) == 0) == good,
                       "case %zu", i);
        if (good) {
            msgpack_sbuffer_write (&sbuf, "\0", 1);
            ck_assert_msg (zr_kv_cmd_decode (sbuf.data, sbuf.size, &cmd)
                           == ZR_EMALFORMED, "case %zu with a trailing byte", i);
        }
        msgpack_sbuffer_destroy (&sbuf);
    }
}
END_TEST

START_TEST (kv_cmd_decode_rejects_huge_counts)
{
    /* Counts and lengths larger than the bytes present are refused
       before anything is read or allocated. */
    static const uint8_t frames [][10] = {
        { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00 },
        { 0x96, 0x01, 0x00, 0x01, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff },
        { 0x96, 0x01, 0x00, 0x01, 0x01, 0xc4, 0x05, 0x61, 0x62, 0x63 },
        { 0x96, 0x01, 0x00, 0x01, 0x01, 0xc5, 0x10, 0x01, 0x61, 0x62 },
        { 0x94, 0x04, 0x00, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61 },
        { 0x96, 0x01, 0x00, 0xcf, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames [0]; i++) {
        zr_kv_cmd_t cmd;
        ck_assert_msg (zr_kv_cmd_decode (frames [i], sizeof frames [i], &cmd)
                       == ZR_EMALFORMED, "frame %zu", i);
    }
    zr_kv_cmd_t cmd;
    ck_assert_int_eq (zr_kv_cmd_decode (NULL, 0, &cmd), ZR_EMALFORMED);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_kv_apply / zr_kv_query: commands

START_TEST (kv_apply_put_then_query)
{
    /* PUT sets, a second PUT replaces; query answers [found, value]. */
    zr_kv_t *kv = zr_kv_new (NULL);
    ck_assert_ptr_nonnull (kv);
    s_expect_value (kv, "a", NULL);
    s_expect (s_put (kv, 1, 10, 1, 1, "a", "one"), ZR_CLIENT_OK, 1, false);
    s_expect_value (kv, "a", "one");
    s_expect (s_put (kv, 2, 10, 1, 2, "a", ""), ZR_CLIENT_OK, 2, false);
    s_expect_value (kv, "a", "");
    s_expect (s_put (kv, 3, 10, 1, 3, "b", "two"), ZR_CLIENT_OK, 3, false);
    ck_assert_uint_eq (zr_kv_size (kv), 2);
    ck_assert_uint_eq (zr_kv_sessions (kv), 1);
    ck_assert_uint_eq (zr_kv_log_time (kv), 10);
    zr_kv_destroy (&kv);
    ck_assert_ptr_null (kv);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_del_removes_key)
{
    /* DEL removes a key; deleting a missing key is OK too. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_put (kv, 1, 10, 1, 1, "a", "one");
    s_expect (s_del (kv, 2, 10, 1, 2, "a"), ZR_CLIENT_OK, 2, false);
    s_expect_value (kv, "a", NULL);
    s_expect (s_del (kv, 3, 10, 1, 3, "a"), ZR_CLIENT_OK, 3, false);
    ck_assert_uint_eq (zr_kv_size (kv), 0);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_cas_compares_bytes)
{
    /* CAS swaps only when the current value equals old byte for byte; a
       missing key never matches, not even an empty old. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_expect (s_cas (kv, 1, 10, 1, 1, "a", "", "x"), ZR_CLIENT_OK, 1, false);
    s_expect_value (kv, "a", NULL);
    s_put (kv, 2, 10, 1, 2, "a", "abc");
    s_expect (s_cas (kv, 3, 10, 1, 3, "a", "ab", "x"), ZR_CLIENT_OK, 3, false);
    s_expect (s_cas (kv, 4, 10, 1, 4, "a", "abcd", "x"), ZR_CLIENT_OK, 4, false);
    s_expect (s_cas (kv, 5, 10, 1, 5, "a", "abd", "x"), ZR_CLIENT_OK, 5, false);
    s_expect_value (kv, "a", "abc");
    s_expect (s_cas (kv, 6, 10, 1, 6, "a", "abc", ""), ZR_CLIENT_OK, 6, true);
    s_expect_value (kv, "a", "");
    s_expect (s_cas (kv, 7, 10, 1, 7, "a", "", "z"), ZR_CLIENT_OK, 7, true);
    s_expect_value (kv, "a", "z");
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_cas_failure_counts_for_session)
{
    /* A CAS that does not swap is applied all the same: its retry gets
       the cached swapped=false, even once the value would match. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_put (kv, 1, 10, 1, 1, "a", "one");
    s_expect (s_cas (kv, 2, 10, 2, 1, "a", "two", "three"), ZR_CLIENT_OK, 2, false);
    s_put (kv, 3, 10, 1, 2, "a", "two");
    s_expect (s_cas (kv, 4, 10, 2, 1, "a", "two", "three"), ZR_CLIENT_OK, 2, false);
    s_expect_value (kv, "a", "two");
    s_expect (s_cas (kv, 5, 10, 2, 2, "a", "two", "three"), ZR_CLIENT_OK, 5, true);
    s_expect (s_cas (kv, 6, 10, 2, 2, "a", "two", "three"), ZR_CLIENT_OK, 5, true);
    s_expect_value (kv, "a", "three");
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_duplicate_seq_applies_once)
{
    /* Thesis §6.3: the same seq again returns the first result (its
       index) and changes nothing, whatever else happened since. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_expect (s_put (kv, 1, 10, 5, 1, "a", "first"), ZR_CLIENT_OK, 1, false);
    s_put (kv, 2, 11, 6, 1, "a", "other");
    s_expect (s_put (kv, 3, 12, 5, 1, "a", "first"), ZR_CLIENT_OK, 1, false);
    s_expect_value (kv, "a", "other");
    s_expect (s_del (kv, 4, 13, 5, 2, "a"), ZR_CLIENT_OK, 4, false);
    s_put (kv, 5, 14, 6, 2, "a", "back");
    s_expect (s_del (kv, 6, 15, 5, 2, "a"), ZR_CLIENT_OK, 4, false);
    s_expect_value (kv, "a", "back");
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_older_seq_is_session_expired)
{
    /* Thesis §6.3: a seq older than the session's last is refused. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_put (kv, 1, 10, 5, 1, "a", "1");
    s_put (kv, 2, 10, 5, 3, "a", "3");     /* seqs may skip */
    s_expect (s_put (kv, 3, 10, 5, 2, "a", "2"), ZR_CLIENT_SESSION_EXPIRED, 3, false);
    s_expect (s_put (kv, 4, 10, 5, 1, "a", "1"), ZR_CLIENT_SESSION_EXPIRED, 4, false);
    s_expect_value (kv, "a", "3");
    s_expect (s_put (kv, 5, 10, 5, 3, "a", "3"), ZR_CLIENT_OK, 2, false);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_new_session_needs_seq_1)
{
    /* A client without a session and seq > 1 lost its session: refused,
       and no session is made for it. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_expect (s_put (kv, 1, 10, 5, 2, "a", "2"), ZR_CLIENT_SESSION_EXPIRED, 1, false);
    s_expect_value (kv, "a", NULL);
    ck_assert_uint_eq (zr_kv_sessions (kv), 0);
    s_expect (s_put (kv, 2, 10, 5, 1, "a", "1"), ZR_CLIENT_OK, 2, false);
    ck_assert_uint_eq (zr_kv_sessions (kv), 1);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_garbage_is_invalid_noop)
{
    /* An entry that does not decode is a no-op with INVALID, its index,
       and leaves even the log time alone. */
    zr_kv_t *kv = zr_kv_new (NULL);
    uint64_t last = s_populate (kv);
    zr_kv_t *copy = zr_kv_new (NULL);
    s_populate (copy);
    const uint8_t garbage [] = { 0x96, 0x01, 0xcf, 0xff };
    s_apply_invalid (kv, last + 1, garbage, sizeof garbage, "garbage");
    s_apply_invalid (kv, last + 2, NULL, 0, "empty");
    s_expect_same_state (kv, copy, "after garbage");
    zr_kv_apply (kv, last + 3, 1, garbage, sizeof garbage, NULL, NULL);
    s_expect_same_state (kv, copy, "without a result");
    zr_kv_destroy (&kv);
    zr_kv_destroy (&copy);
}
END_TEST

START_TEST (kv_apply_announce_fills_member_directory)
{
    /* ANNOUNCE records a member's client endpoint; a later one replaces
       it; the accessor copies it NUL-terminated if buf is big enough. */
    zr_kv_t *kv = zr_kv_new (NULL);
    char buf [ZR_CLIENT_ENDPOINT_MAX + 1];
    ck_assert (!zr_kv_member_endpoint (kv, 2, buf, sizeof buf));
    s_expect (s_announce (kv, 1, 10, 2, "tcp://127.0.0.1:9000"), ZR_CLIENT_OK, 1, false);
    ck_assert (zr_kv_member_endpoint (kv, 2, buf, sizeof buf));
    ck_assert_str_eq (buf, "tcp://127.0.0.1:9000");
    s_announce (kv, 2, 10, 2, "tcp://h:1");
    ck_assert (zr_kv_member_endpoint (kv, 2, buf, sizeof buf));
    ck_assert_str_eq (buf, "tcp://h:1");
    ck_assert (!zr_kv_member_endpoint (kv, 2, buf, 9));    /* 9 bytes + NUL */
    ck_assert (zr_kv_member_endpoint (kv, 2, buf, 10));
    ck_assert (!zr_kv_member_endpoint (kv, 0, buf, sizeof buf));
    ck_assert (!zr_kv_member_endpoint (kv, ZR_NODES_MAX + 1, buf, sizeof buf));
    ck_assert (!zr_kv_member_endpoint (kv, 1, buf, sizeof buf));
    char longest [ZR_CLIENT_ENDPOINT_MAX + 1];
    memset (longest, 'e', ZR_CLIENT_ENDPOINT_MAX);
    longest [ZR_CLIENT_ENDPOINT_MAX] = '\0';
    s_announce (kv, 3, 10, ZR_NODES_MAX, longest);
    ck_assert (zr_kv_member_endpoint (kv, ZR_NODES_MAX, buf, sizeof buf));
    ck_assert_str_eq (buf, longest);
    ck_assert_uint_eq (zr_kv_sessions (kv), 0);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_announce_records_bus_endpoint)
{
    /* An ANNOUNCE may carry the member's bus endpoint too: it round
       trips, lands in the directory, survives a snapshot, and a later
       ANNOUNCE without one clears it. */
    zr_kv_t *kv = zr_kv_new (NULL);
    zr_kv_cmd_t cmd;
    memset (&cmd, 0, sizeof cmd);
    cmd.type = ZR_KV_ANNOUNCE;
    cmd.time_ms = 10;
    cmd.member = 2;
    cmd.endpoint = "tcp://h:7102";
    cmd.endpoint_size = strlen (cmd.endpoint);
    cmd.bus_endpoint = "tcp://h:7202";
    cmd.bus_endpoint_size = strlen (cmd.bus_endpoint);
    void *data;
    size_t size;
    ck_assert_int_eq (zr_kv_cmd_encode (&cmd, &data, &size), 0);
    ck_assert_uint_eq (((uint8_t *) data) [0], 0x95);   /* five fields */
    zr_kv_cmd_t decoded;
    ck_assert_int_eq (zr_kv_cmd_decode (data, size, &decoded), 0);
    ck_assert_uint_eq (decoded.bus_endpoint_size, 12);
    ck_assert_int_eq (memcmp (decoded.bus_endpoint, "tcp://h:7202", 12), 0);
    free (data);
    char buf [ZR_CLIENT_ENDPOINT_MAX + 1];
    ck_assert (!zr_kv_member_bus_endpoint (kv, 2, buf, sizeof buf));
    s_expect (s_apply_cmd (kv, 1, &cmd), ZR_CLIENT_OK, 1, false);
    ck_assert (zr_kv_member_bus_endpoint (kv, 2, buf, sizeof buf));
    ck_assert_str_eq (buf, "tcp://h:7202");
    ck_assert (zr_kv_member_endpoint (kv, 2, buf, sizeof buf));
    ck_assert_str_eq (buf, "tcp://h:7102");
    ck_assert (!zr_kv_member_bus_endpoint (kv, 0, buf, sizeof buf));
    ck_assert (!zr_kv_member_bus_endpoint (kv, 2, buf, 12));
    s_announce (kv, 2, 10, 3, "tcp://h:7103");   /* another, without bus */
    void *snap;
    size_t snap_size;
    s_snapshot (kv, 2, &snap, &snap_size);
    zr_kv_t *copy = zr_kv_new (NULL);
    ck_assert_int_eq (zr_kv_restore (copy, 2, snap, snap_size), 0);
    ck_assert (zr_kv_member_bus_endpoint (copy, 2, buf, sizeof buf));
    ck_assert_str_eq (buf, "tcp://h:7202");
    ck_assert (!zr_kv_member_bus_endpoint (copy, 3, buf, sizeof buf));
    void *again;
    size_t again_size;
    s_snapshot (copy, 2, &again, &again_size);
    ck_assert (again_size == snap_size && !memcmp (again, snap, snap_size));
    free (snap);
    free (again);
    s_announce (copy, 3, 10, 2, "tcp://h:7102");
    ck_assert (!zr_kv_member_bus_endpoint (copy, 2, buf, sizeof buf));
    /* An empty bus endpoint is no endpoint: four fields are written. */
    cmd.bus_endpoint_size = 0;
    ck_assert_int_eq (zr_kv_cmd_encode (&cmd, &data, &size), 0);
    ck_assert_uint_eq (((uint8_t *) data) [0], 0x94);
    free (data);
    cmd.bus_endpoint = "a\0b";
    cmd.bus_endpoint_size = 3;
    ck_assert_int_eq (zr_kv_cmd_encode (&cmd, &data, &size), ZR_EINVAL);
    zr_kv_destroy (&kv);
    zr_kv_destroy (&copy);
}
END_TEST

/* Reads member 1's endpoint until told to stop; every read must be one
   of the two endpoints the writer alternates, never a mix. */
typedef struct {
    zr_kv_t *kv;                        /* shared */
    atomic_bool stop;                   /* set by the writer */
    int torn;                           /* reads that were neither */
    int reads;                          /* reads that found one */
} s_reader_arg_t;

static void *
s_reader (void *arg)
{
    s_reader_arg_t *reader = (s_reader_arg_t *) arg;
    char buf [ZR_CLIENT_ENDPOINT_MAX + 1];
    while (!atomic_load (&reader->stop) || reader->reads == 0)
        if (zr_kv_member_endpoint (reader->kv, 1, buf, sizeof buf)) {
            reader->reads++;
            if (strcmp (buf, "tcp://short:1") != 0
            &&  strcmp (buf, "tcp://a-much-longer-host-name:65535") != 0)
                reader->torn++;
        }
    return NULL;
}

START_TEST (kv_member_endpoint_is_thread_safe)
{
    /* The directory is written on the applier thread and read on another
       (kv.h): a reader never sees half of one endpoint over another. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_reader_arg_t reader = { kv, false, 0, 0 };
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_reader, &reader), 0);
    for (uint64_t i = 1; i <= 20000; i++)
        s_announce (kv, i, i, 1, i % 2 ? "tcp://short:1"
                                       : "tcp://a-much-longer-host-name:65535");
    atomic_store (&reader.stop, true);
    ck_assert_int_eq (pthread_join (thread, NULL), 0);
    ck_assert_int_eq (reader.torn, 0);
    ck_assert_int_gt (reader.reads, 0);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_query_refuses_bad_keys)
{
    /* A query's data is a key of 1..ZR_CLIENT_KEY_MAX bytes, else -1. */
    zr_kv_t *kv = zr_kv_new (NULL);
    static char big [ZR_CLIENT_KEY_MAX + 1];
    void *answer = NULL;
    size_t size = 0;
    ck_assert_int_eq (zr_kv_query (kv, "", 0, &answer, &size), -1);
    ck_assert_int_eq (zr_kv_query (kv, NULL, 0, &answer, &size), -1);
    ck_assert_int_eq (zr_kv_query (kv, big, sizeof big, &answer, &size), -1);
    ck_assert_ptr_null (answer);
    ck_assert_int_eq (zr_kv_query (kv, big, ZR_CLIENT_KEY_MAX, &answer, &size), 0);
    free (answer);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_apply_asserts_on_index_going_back)
{
    /* Indexes increase (kv.h): the applier's contract, asserted. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_put (kv, 5, 10, 1, 1, "a", "1");
    s_put (kv, 5, 10, 1, 2, "a", "2");
}
END_TEST

//  --------------------------------------------------------------------------
//  Sessions: expiry by log time and by cap

START_TEST (kv_sessions_expire_by_log_time)
{
    /* A session unused for session_ttl_ms of log time is dropped at the
       first command that brings the log time there; then its next seq
       is refused. One ms less keeps it. */
    zr_kv_config_t config = { 1000, 10 };
    zr_kv_t *kv = zr_kv_new (&config);
    s_put (kv, 1, 5000, 1, 1, "a", "1");
    s_put (kv, 2, 5000, 2, 1, "b", "1");
    s_put (kv, 3, 5999, 3, 1, "c", "1");       /* 999 ms later: both live */
    ck_assert_uint_eq (zr_kv_sessions (kv), 3);
    s_put (kv, 4, 5999, 2, 2, "b", "2");       /* 2 used at 5999 */
    s_put (kv, 5, 6000, 3, 2, "c", "2");       /* 1 expires */
    ck_assert_uint_eq (zr_kv_sessions (kv), 2);
    s_expect (s_put (kv, 6, 6000, 1, 2, "a", "2"), ZR_CLIENT_SESSION_EXPIRED, 6, false);
    s_expect_value (kv, "a", "1");
    s_expect (s_put (kv, 7, 6998, 2, 2, "b", "2"), ZR_CLIENT_OK, 4, false);
    s_put (kv, 8, 8000, 4, 1, "d", "1");       /* 2 and 3 expire */
    ck_assert_uint_eq (zr_kv_sessions (kv), 1);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_sessions_expire_with_any_command)
{
    /* Expiry runs on every decoded command, ANNOUNCE included. */
    zr_kv_config_t config = { 100, 10 };
    zr_kv_t *kv = zr_kv_new (&config);
    s_put (kv, 1, 0, 1, 1, "a", "1");
    s_announce (kv, 2, 100, 1, "tcp://h:1");
    ck_assert_uint_eq (zr_kv_sessions (kv), 0);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_log_time_never_goes_backwards)
{
    /* The log time is the largest time_ms applied: an earlier stamp (a
       proposer's clock behind) moves nothing, and a session used then is
       used at the log time, so it does not expire early. */
    zr_kv_config_t config = { 1000, 10 };
    zr_kv_t *kv = zr_kv_new (&config);
    s_put (kv, 1, 5000, 1, 1, "a", "1");
    s_put (kv, 2, 1000, 2, 1, "b", "1");
    ck_assert_uint_eq (zr_kv_log_time (kv), 5000);
    s_put (kv, 3, 5500, 1, 2, "a", "2");
    ck_assert_uint_eq (zr_kv_sessions (kv), 2);
    s_put (kv, 4, 6000, 1, 3, "a", "3");       /* 2 used at 5000: expires */
    ck_assert_uint_eq (zr_kv_sessions (kv), 1);
    s_put (kv, 5, 0, 1, 4, "a", "4");
    ck_assert_uint_eq (zr_kv_log_time (kv), 6000);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_sessions_cap_drops_least_recently_used)
{
    /* Beyond sessions_max the least recently used session goes, ties in
       log time broken by the index of the last use (kv.h). */
    zr_kv_config_t config = { 1000000, 3 };
    zr_kv_t *kv = zr_kv_new (&config);
    s_put (kv, 1, 10, 1, 1, "a", "1");
    s_put (kv, 2, 10, 2, 1, "b", "1");
    s_put (kv, 3, 10, 3, 1, "c", "1");
    s_put (kv, 4, 10, 1, 1, "a", "1");         /* a retry uses 1 too */
    s_put (kv, 5, 10, 4, 1, "d", "1");         /* drops 2 */
    ck_assert_uint_eq (zr_kv_sessions (kv), 3);
    s_expect (s_put (kv, 6, 10, 2, 2, "b", "2"), ZR_CLIENT_SESSION_EXPIRED, 6, false);
    s_expect (s_put (kv, 7, 10, 1, 1, "a", "1"), ZR_CLIENT_OK, 1, false);
    s_put (kv, 8, 10, 5, 1, "e", "1");         /* drops 3 */
    s_expect (s_put (kv, 9, 10, 3, 2, "c", "2"), ZR_CLIENT_SESSION_EXPIRED, 9, false);
    s_expect (s_put (kv, 10, 10, 4, 2, "d", "2"), ZR_CLIENT_OK, 10, false);
    ck_assert_uint_eq (zr_kv_sessions (kv), 3);
    zr_kv_destroy (&kv);
}
END_TEST

START_TEST (kv_sessions_expire_alike_on_two_instances)
{
    /* Two instances fed the same log (with expiry by time and by a small
       cap at work) give the same results and states after every entry. */
    zr_kv_config_t config = { 2000, 6 };
    zr_kv_t *kvs [2] = { zr_kv_new (&config), zr_kv_new (&config) };
    s_feed_alike (kvs, 2, s_seed (), 1, 3000);
    ck_assert_uint_le (zr_kv_sessions (kvs [0]), 6);
    zr_kv_destroy (&kvs [0]);
    zr_kv_destroy (&kvs [1]);
}
END_TEST

START_TEST (kv_sessions_expiry_is_amortised)
{
    /* Many sessions, few of them expiring at a time: applying stays
       fast (a scan of every session per entry would take minutes). */
    zr_kv_config_t config = { 50000, 100000 };
    zr_kv_t *kv = zr_kv_new (&config);
    uint64_t index = 0;
    for (uint64_t client = 1; client <= 100000; client++)
        s_put (kv, ++index, client, client, 1, "k", "v");
    ck_assert_uint_eq (zr_kv_sessions (kv), 50000);
    for (uint64_t client = 1; client <= 100000; client++)
        s_put (kv, ++index, 100000 + client, 100000 + client, 1, "k", "v");
    ck_assert_uint_eq (zr_kv_sessions (kv), 50000);
    zr_kv_destroy (&kv);
}
END_TEST

//  --------------------------------------------------------------------------
//  Snapshot and restore

START_TEST (kv_snapshot_round_trip_equals_original)
{
    /* A restored copy snapshots to the same bytes and answers alike:
       map, sessions with their cached results, members, log time. */
    zr_kv_t *kv = zr_kv_new (NULL);
    uint64_t last = s_populate (kv);
    void *data;
    size_t size;
    s_snapshot (kv, last, &data, &size);
    zr_kv_t *copy = zr_kv_new (NULL);
    ck_assert_int_eq (zr_kv_restore (copy, last, data, size), 0);
    s_expect_same_state (kv, copy, "restored");
    void *again;
    size_t again_size;
    s_snapshot (copy, last, &again, &again_size);
    ck_assert (again_size == size && memcmp (again, data, size) == 0);
    s_expect_value (copy, "alpha", "one");
    s_expect_value (copy, "beta", "");
    char buf [64];
    ck_assert (zr_kv_member_endpoint (copy, 3, buf, sizeof buf));
    ck_assert_str_eq (buf, "tcp://127.0.0.1:7003");
    ck_assert (!zr_kv_member_endpoint (copy, 2, buf, sizeof buf));
    /* the failed CAS is cached, the retry does not apply */
    s_expect (s_cas (copy, last + 1, 2000, 9, 1, "alpha", "one", "x"),
              ZR_CLIENT_OK, 3, false);
    s_expect_value (copy, "alpha", "one");
    ck_assert_uint_eq (zr_kv_log_time (copy), 2000);
    free (data);
    free (again);
    zr_kv_destroy (&kv);
    zr_kv_destroy (&copy);
}
END_TEST

START_TEST (kv_snapshot_of_empty_state_restores)
{
    /* The smallest snapshot: nothing applied, taken at index 0 or later. */
    zr_kv_t *kv = zr_kv_new (NULL);
    void *data;
    size_t size;
    s_snapshot (kv, 0, &data, &size);
    zr_kv_t *copy = zr_kv_new (NULL);
    s_put (copy, 1, 10, 1, 1, "a", "1");
    ck_assert_int_eq (zr_kv_restore (copy, 0, data, size), 0);
    ck_assert_uint_eq (zr_kv_size (copy), 0);
    ck_assert_uint_eq (zr_kv_sessions (copy), 0);
    ck_assert_uint_eq (zr_kv_log_time (copy), 0);
    free (data);
    zr_kv_destroy (&kv);
    zr_kv_destroy (&copy);
}
END_TEST

START_TEST (kv_snapshot_replicas_behave_alike_afterwards)
{
    /* A server that applied the log and two restored from its snapshot
       (one of them busy before) then apply the same log alike: the
       session order, which decides expiry, survives the snapshot. */
    zr_kv_config_t config = { 2000, 6 };
    uint64_t seed = s_seed ();
    zr_kv_t *kvs [3] = { zr_kv_new (&config), zr_kv_new (&config),
                         zr_kv_new (&config) };
    s_feed_alike (kvs, 1, seed, 1, 1000);
    s_feed_alike (kvs + 2, 1, seed + 1, 1, 300);
    void *data;
    size_t size;
    s_snapshot (kvs [0], 1000, &data, &size);
    ck_assert_int_eq (zr_kv_restore (kvs [1], 1000, data, size), 0);
    ck_assert_int_eq (zr_kv_restore (kvs [2], 1000, data, size), 0);
    s_expect_same_state (kvs [0], kvs [1], "restored");
    s_feed_alike (kvs, 3, seed + 2, 1001, 2000);
    free (data);
    for (int i = 0; i < 3; i++)
        zr_kv_destroy (&kvs [i]);
}
END_TEST

START_TEST (kv_restore_refuses_every_truncation)
{
    /* A snapshot cut anywhere is refused, and the state it was offered
       to stays as it was. */
    zr_kv_t *kv = zr_kv_new (NULL);
    uint64_t last = s_populate (kv);
    void *data;
    size_t size;
    s_snapshot (kv, last, &data, &size);
    zr_kv_t *target = zr_kv_new (NULL);
    zr_kv_t *witness = zr_kv_new (NULL);
    s_put (target, 1, 77, 1, 1, "t", "v");
    s_put (witness, 1, 77, 1, 1, "t", "v");
    for (size_t cut = 0; cut < size; cut++)
        ck_assert_msg (zr_kv_restore (target, last, data, cut) == -1,
                       "cut at %zu restored", cut);
    uint8_t *longer = (uint8_t *) malloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = 0xc0;
    ck_assert_int_eq (zr_kv_restore (target, last, longer, size + 1), -1);
    ck_assert_int_eq (zr_kv_restore (target, last + 1, data, size), -1);
    ck_assert_int_eq (zr_kv_restore (target, last - 1, data, size), -1);
    s_expect_same_state (target, witness, "after refusals");
    free (longer);
    free (data);
    zr_kv_destroy (&kv);
    zr_kv_destroy (&target);
    zr_kv_destroy (&witness);
}
END_TEST

START_TEST (kv_restore_survives_random_flips)
{
    /* Random byte flips: a refused snapshot leaves the state alone; an
       accepted one (a flipped value byte is still a snapshot) yields a
       state that snapshots and restores again. */
    uint64_t seed = s_seed ();
    zr_rng_t rng;
    zr_rng_seed (&rng, seed);
    zr_kv_t *kv = zr_kv_new (NULL);
    uint64_t last = s_populate (kv);
    void *data;
    size_t size;
    s_snapshot (kv, last, &data, &size);
    zr_kv_t *target = zr_kv_new (NULL);
    zr_kv_t *witness = zr_kv_new (NULL);
    uint8_t *bytes = (uint8_t *) malloc (size);
    int refused = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy (bytes, data, size);
        int flips = (int) zr_rng_range (&rng, 1, 4);
        for (int f = 0; f < flips; f++)
            bytes [zr_rng_range (&rng, 0, size)] ^= (uint8_t) zr_rng_range (&rng, 1, 256);
        if (zr_kv_restore (target, last, bytes, size) == -1) {
            refused++;
            s_expect_same_state (target, witness, "refused flip");
            continue;
        }
        void *again;
        size_t again_size;
        s_snapshot (target, last, &again, &again_size);
        ck_assert_msg (zr_kv_restore (witness, last, again, again_size) == 0,
                       "ZR_SEED=%llu round %d", (unsigned long long) seed, round);
        s_expect_same_state (target, witness, "accepted flip");
        free (again);
        ck_assert_int_eq (zr_kv_restore (target, 0, NULL, 0), -1);
        s_expect_same_state (target, witness, "refused after an accepted flip");
    }
    ck_assert_int_gt (refused, 10000);
    free (bytes);
    free (data);
    zr_kv_destroy (&kv);
    zr_kv_destroy (&target);
    zr_kv_destroy (&witness);
}
END_TEST

/* Packs a snapshot [version, index, log_time, members, sessions, map]
   whose parts are given as raw msgpack. */
static void
s_pack_snapshot (msgpack_sbuffer *sbuf, uint64_t version, uint64_t log_time_ms,
                 const char *members, size_t members_size, const char *sessions,
                 size_t sessions_size, const char *map, size_t map_size)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 6);
    msgpack_pack_uint64 (&pk, version);
    msgpack_pack_uint64 (&pk, 100);
    msgpack_pack_uint64 (&pk, log_time_ms);
    msgpack_sbuffer_write (sbuf, members, members_size);
    msgpack_sbuffer_write (sbuf, sessions, sessions_size);
    msgpack_sbuffer_write (sbuf, map, map_size);
}

START_TEST (kv_restore_refuses_broken_rules)
{
    /* Snapshots that parse but break a rule of kv.c's format: version,
       member order and endpoints, session order and fields, key order. */
#define S(x) x, sizeof (x) - 1
    static const struct {
        uint64_t version;
        const char *members; size_t members_size;
        const char *sessions; size_t sessions_size;
        const char *map; size_t map_size;
    } cases [] = {
        /* 0: good: members 1 and 2, sessions 7 then 8, keys "a" < "b" */
        { 1, S ("\x92\x92\x01\xa1x\x92\x02\xa1y"),
          S ("\x92\x96\x07\x01\x05\xc2\x0a\x05\x96\x08\x01\x06\xc3\x0a\x06"),
          S ("\x82\xc4\x01" "a" "\xc4\x00\xc4\x01" "b" "\xc4\x01" "v") },
        { 2, S ("\x90"), S ("\x90"), S ("\x80") },                 /* version */
        { 1, S ("\x92\x92\x02\xa1x\x92\x01\xa1y"), S ("\x90"), S ("\x80") },
        { 1, S ("\x91\x92\x0a\xa1x"), S ("\x90"), S ("\x80") },    /* member 10 */
        { 1, S ("\x91\x92\x01\xa0"), S ("\x90"), S ("\x80") },     /* endpoint "" */
        { 1, S ("\x91\x92\x01\xa1\x00"), S ("\x90"), S ("\x80") }, /* NUL */
        { 1, S ("\x91\x92\x01\xc4\x01x"), S ("\x90"), S ("\x80") },/* bin */
        { 1, S ("\x90"),                                           /* index order */
          S ("\x92\x96\x07\x01\x05\xc2\x0a\x06\x96\x08\x01\x04\xc3\x0a\x05"),
          S ("\x80") },
        { 1, S ("\x90"),                                           /* time order */
          S ("\x92\x96\x07\x01\x05\xc2\x09\x05\x96\x08\x01\x06\xc3\x08\x06"),
          S ("\x80") },
        { 1, S ("\x90"),                                           /* client twice */
          S ("\x92\x96\x07\x01\x05\xc2\x0a\x05\x96\x07\x01\x06\xc3\x0a\x06"),
          S ("\x80") },
        { 1, S ("\x90"), S ("\x91\x96\x07\x01\x05\xc2\x0b\x05"), S ("\x80") },  /* after log time */
        { 1, S ("\x90"), S ("\x91\x96\x07\x01\x05\xc2\x0a\x65"), S ("\x80") },  /* after index */
        { 1, S ("\x90"), S ("\x91\x96\x07\x01\x06\xc2\x0a\x05"), S ("\x80") },  /* index > used */
        { 1, S ("\x90"), S ("\x91\x96\x00\x01\x05\xc2\x0a\x05"), S ("\x80") },  /* client 0 */
        { 1, S ("\x90"), S ("\x91\x96\x07\x00\x05\xc2\x0a\x05"), S ("\x80") },  /* seq 0 */
        { 1, S ("\x90"), S ("\x91\x95\x07\x01\x05\xc2\x0a"), S ("\x80") },      /* 5 fields */
        { 1, S ("\x90"), S ("\x90"), S ("\x82\xc4\x01" "b" "\xc4\x00\xc4\x01" "a" "\xc4\x00") },
        { 1, S ("\x90"), S ("\x90"), S ("\x82\xc4\x01" "a" "\xc4\x00\xc4\x01" "a" "\xc4\x00") },
        { 1, S ("\x90"), S ("\x90"), S ("\x82\xc4\x02" "ab" "\xc4\x00\xc4\x01" "a" "\xc4\x00") },
        { 1, S ("\x90"), S ("\x90"), S ("\x81\xc4\x00\xc4\x00") },  /* empty key */
        { 1, S ("\x90"), S ("\x90"), S ("\x81\xa1" "a" "\xc4\x00") },  /* str key */
    };
#undef S
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init (&sbuf);
        s_pack_snapshot (&sbuf, cases [i].version, 10, cases [i].members,
                         cases [i].members_size, cases [i].sessions,
                         cases [i].sessions_size, cases [i].map, cases [i].map_size);
        zr_kv_t *kv = zr_kv_new (NULL);
        ck_assert_msg ((zr_kv_restore (kv, 100, sbuf.data, sbuf.size) == 0) == (i == 0),
                       "case %zu", i);
        if (i == 0) {
            ck_assert_uint_eq (zr_kv_size (kv), 2);
            ck_assert_uint_eq (zr_kv_sessions (kv), 2);
            ck_assert_uint_eq (zr_kv_log_time (kv), 10);
            s_expect_value (kv, "b", "v");
            /* the session order survives: 8 used last, its CAS swapped */
            s_expect (s_put (kv, 101, 10, 8, 1, "z", "z"), ZR_CLIENT_OK, 6, true);
        }
        else
            ck_assert_uint_eq (zr_kv_size (kv), 0);
        zr_kv_destroy (&kv);
        msgpack_sbuffer_destroy (&sbuf);
    }
}
END_TEST

START_TEST (kv_snapshot_large_map)
{
    /* 100,000 keys: the snapshot restores to the same bytes, in time. */
    zr_kv_t *kv = zr_kv_new (NULL);
    char key [32], value [64];
    for (uint64_t i = 1; i <= 100000; i++) {
        snprintf (key, sizeof key, "key-%llu", (unsigned long long) (i * 7919 % 100003));
        snprintf (value, sizeof value, "value-%llu-%llu", (unsigned long long) i,
                  (unsigned long long) (i * i));
        s_expect (s_put (kv, i, i, 1 + i % 1000, 1 + (i - 1) / 1000, key, value),
                  ZR_CLIENT_OK, i, false);
    }
    ck_assert_uint_eq (zr_kv_size (kv), 100000);
    struct timespec t0, t1, t2;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    void *data;
    size_t size;
    s_snapshot (kv, 100000, &data, &size);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    zr_kv_t *copy = zr_kv_new (NULL);
    ck_assert_int_eq (zr_kv_restore (copy, 100000, data, size), 0);
    clock_gettime (CLOCK_MONOTONIC, &t2);
    fprintf (stderr, "kv_snapshot_large_map: %zu bytes, snapshot %.1f ms, "
             "restore %.1f ms\n", size,
             (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6,
             (double) (t2.tv_sec - t1.tv_sec) * 1e3 + (double) (t2.tv_nsec - t1.tv_nsec) / 1e6);
    s_expect_same_state (kv, copy, "100k keys");
    s_expect_value (copy, "key-7919", "value-1-1");
    free (data);
    zr_kv_destroy (&kv);
    zr_kv_destroy (&copy);
}
END_TEST

//  --------------------------------------------------------------------------
//  Hostile commands

START_TEST (kv_apply_survives_cut_and_flipped_commands)
{
    /* Every truncation of every command, and random flips: a command
       that does not decode is INVALID and changes nothing; one that
       still decodes applies on both instances alike. */
    uint64_t seed = s_seed ();
    zr_rng_t rng;
    zr_rng_seed (&rng, seed);
    zr_kv_t *kv = zr_kv_new (NULL), *witness = zr_kv_new (NULL);
    uint64_t index = s_populate (kv);
    s_populate (witness);
    s_log_t log;
    s_log_init (&log, seed);
    for (int n = 0; n < 2000; n++) {
        void *data;
        size_t size;
        s_log_next (&log, &data, &size);
        zr_kv_cmd_t cmd;
        bool good = zr_kv_cmd_decode (data, size, &cmd) == 0;
        for (size_t cut = 0; good && cut < size; cut++)
            s_apply_invalid (kv, ++index, data, cut, "cut");
        uint8_t *bytes = (uint8_t *) malloc (size + 1);
        memcpy (bytes, data, size);
        if (size)
            bytes [zr_rng_range (&rng, 0, size)] ^= (uint8_t) zr_rng_range (&rng, 1, 256);
        size_t r0, r1;
        ++index;
        free (s_apply_raw (kv, index, bytes, size, &r0));
        free (s_apply_raw (witness, index, bytes, size, &r1));
        char context [64];
        snprintf (context, sizeof context, "ZR_SEED=%llu command %d",
                  (unsigned long long) seed, n);
        s_expect_same_state (kv, witness, context);
        free (bytes);
        free (data);
    }
    zr_kv_destroy (&kv);
    zr_kv_destroy (&witness);
}
END_TEST

//  --------------------------------------------------------------------------
//  Results and answers

START_TEST (kv_result_round_trips_and_refuses_damage)
{
    /* [code, index, swapped] both ways; cut or grown, it is malformed. */
    zr_kv_result_t results [3] = {
        { ZR_CLIENT_OK, UINT64_MAX, true }, { ZR_CLIENT_INVALID, 0, false },
        { ZR_CLIENT_SESSION_EXPIRED, 300, false } };
    for (int i = 0; i < 3; i++) {
        void *data;
        size_t size;
        ck_assert_int_eq (zr_kv_result_encode (&results [i], &data, &size), 0);
        zr_kv_result_t decoded;
        ck_assert_int_eq (zr_kv_result_decode (data, size, &decoded), 0);
        s_expect (decoded, results [i].code, results [i].index, results [i].swapped);
        for (size_t cut = 0; cut < size; cut++)
            ck_assert_int_eq (zr_kv_result_decode (data, cut, &decoded), ZR_EMALFORMED);
        uint8_t longer [16];
        memcpy (longer, data, size);
        longer [size] = 0;
        ck_assert_int_eq (zr_kv_result_decode (longer, size + 1, &decoded), ZR_EMALFORMED);
        free (data);
    }
    zr_kv_result_t bad = { ZR_CLIENT_CODE_MAX + 1, 1, false };
    void *data = NULL;
    size_t size;
    ck_assert_int_eq (zr_kv_result_encode (&bad, &data, &size), ZR_EINVAL);
    const uint8_t code_8 [] = { 0x93, 0x08, 0x01, 0xc2 };
    zr_kv_result_t decoded;
    ck_assert_int_eq (zr_kv_result_decode (code_8, sizeof code_8, &decoded), ZR_EMALFORMED);
}
END_TEST

START_TEST (kv_answer_decode_refuses_damage)
{
    /* [found, value]: a not-found answer carries no bytes; cut, it is
       malformed. */
    zr_kv_t *kv = zr_kv_new (NULL);
    s_put (kv, 1, 1, 1, 1, "a", "value");
    void *answer;
    size_t size;
    ck_assert_int_eq (zr_kv_query (kv, "a", 1, &answer, &size), 0);
    bool found;
    const void *value;
    size_t value_size;
    for (size_t cut = 0; cut < size; cut++)
        ck_assert_int_eq (zr_kv_answer_decode (answer, cut, &found, &value, &value_size),
                          ZR_EMALFORMED);
    free (answer);
    const uint8_t absent_with_bytes [] = { 0x92, 0xc2, 0xc4, 0x01, 0x61 };
    ck_assert_int_eq (zr_kv_answer_decode (absent_with_bytes, sizeof absent_with_bytes,
                                           &found, &value, &value_size), ZR_EMALFORMED);
    const uint8_t absent [] = { 0x92, 0xc2, 0xc4, 0x00 };
    ck_assert_int_eq (zr_kv_answer_decode (absent, sizeof absent, &found, &value,
                                           &value_size), 0);
    ck_assert (!found);
    zr_kv_destroy (&kv);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("kv");

    TCase *codec = tcase_create ("kv_cmd");
    tcase_add_test (codec, kv_cmd_encode_round_trips_every_type);
    tcase_add_test (codec, kv_cmd_encode_round_trips_largest_fields);
    tcase_add_test (codec, kv_cmd_encode_rejects_fields_over_limits);
    tcase_add_test (codec, kv_cmd_decode_rejects_every_truncation);
    tcase_add_test (codec, kv_cmd_decode_rejects_wrong_schema);
    tcase_add_test (codec, kv_cmd_decode_rejects_huge_counts);
    tcase_add_test (codec, kv_result_round_trips_and_refuses_damage);
    tcase_add_test (codec, kv_answer_decode_refuses_damage);
    suite_add_tcase (suite, codec);

    TCase *apply = tcase_create ("kv_apply");
    tcase_set_timeout (apply, 60);
    tcase_add_test (apply, kv_apply_put_then_query);
    tcase_add_test (apply, kv_apply_del_removes_key);
    tcase_add_test (apply, kv_apply_cas_compares_bytes);
    tcase_add_test (apply, kv_apply_cas_failure_counts_for_session);
    tcase_add_test (apply, kv_apply_duplicate_seq_applies_once);
    tcase_add_test (apply, kv_apply_older_seq_is_session_expired);
    tcase_add_test (apply, kv_apply_new_session_needs_seq_1);
    tcase_add_test (apply, kv_apply_garbage_is_invalid_noop);
    tcase_add_test (apply, kv_apply_announce_fills_member_directory);
    tcase_add_test (apply, kv_member_endpoint_is_thread_safe);
    tcase_add_test (apply, kv_apply_announce_records_bus_endpoint);
    tcase_add_test (apply, kv_query_refuses_bad_keys);
    tcase_add_test_raise_signal (apply, kv_apply_asserts_on_index_going_back, SIGABRT);
    tcase_add_test (apply, kv_apply_survives_cut_and_flipped_commands);
    suite_add_tcase (suite, apply);

    TCase *sessions = tcase_create ("kv_sessions");
    tcase_set_timeout (sessions, 120);
    tcase_add_test (sessions, kv_sessions_expire_by_log_time);
    tcase_add_test (sessions, kv_sessions_expire_with_any_command);
    tcase_add_test (sessions, kv_log_time_never_goes_backwards);
    tcase_add_test (sessions, kv_sessions_cap_drops_least_recently_used);
    tcase_add_test (sessions, kv_sessions_expire_alike_on_two_instances);
    tcase_add_test (sessions, kv_sessions_expiry_is_amortised);
    suite_add_tcase (suite, sessions);

    TCase *snapshot = tcase_create ("kv_snapshot");
    tcase_set_timeout (snapshot, 120);
    tcase_add_test (snapshot, kv_snapshot_round_trip_equals_original);
    tcase_add_test (snapshot, kv_snapshot_of_empty_state_restores);
    tcase_add_test (snapshot, kv_snapshot_replicas_behave_alike_afterwards);
    tcase_add_test (snapshot, kv_restore_refuses_every_truncation);
    tcase_add_test (snapshot, kv_restore_survives_random_flips);
    tcase_add_test (snapshot, kv_restore_refuses_broken_rules);
    tcase_add_test (snapshot, kv_snapshot_large_map);
    suite_add_tcase (suite, snapshot);

    return check_run (suite);
}
