/*  =========================================================================
    test_bus_codec - unit tests of transport/bus: the bus protocol's
    messages, round trips and hostile frames

    Every rule of bus.h has a test here: a round trip of every message
    type, every limit at and over, truncation at every byte, trailing
    bytes, the version, field counts and types (every field of every
    frame swapped for every other msgpack type), the rules, the
    decoder's precedence, what a failed decode still says (type, id),
    the cursors map (order, limits, its walk), plus a seeded mutation
    loop (ZR_SEED overrides the seed; failures print it). The worked
    example of docs/PROTOCOL.md's bus section is checked byte for byte.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "../lib/mpedit.h"

#include "../../transport/transport.h"

#define S_SEED_DEFAULT 0xb05c0dec5eedULL
#define S_MUTATIONS 20000

//  --------------------------------------------------------------------------
//  Helpers: values and messages

/* size bytes of a pattern that depends on seed (size <= PAYLOAD_MAX + 1). */
static zr_busmsg_bytes_t
s_pattern (size_t size, uint8_t seed)
{
    static uint8_t buf [2][ZR_BUSMSG_PAYLOAD_MAX + 1];
    zr_assert (size <= ZR_BUSMSG_PAYLOAD_MAX + 1);
    uint8_t *data = buf [seed % 2];
    for (size_t i = 0; i < size; i++)
        data [i] = (uint8_t) (i * 31 + seed);
    return (zr_busmsg_bytes_t) { size ? data : NULL, size };
}

/* A str of size characters 'a'.. (no NUL), from a buffer per seed (< 8). */
static zr_busmsg_bytes_t
s_text (size_t size, uint8_t seed)
{
    static uint8_t buf [8][ZR_BUSMSG_TEXT_MAX + 2];
    zr_assert (size <= ZR_BUSMSG_TEXT_MAX + 1 && seed < 8);
    uint8_t *data = buf [seed];
    for (size_t i = 0; i < size; i++)
        data [i] = (uint8_t) ('a' + (i + seed) % 26);
    return (zr_busmsg_bytes_t) { size ? data : NULL, size };
}

static zr_busmsg_bytes_t
s_cstr (const char *text)
{
    return (zr_busmsg_bytes_t) { (const uint8_t *) text, strlen (text) };
}

static zr_busmsg_bytes_t
s_bytes (const char *data, size_t size)
{
    return (zr_busmsg_bytes_t) { (const uint8_t *) data, size };
}

/* A cursors map of three entries, one index in each integer width. */
static const uint8_t s_map [] = {
    0x83, 0xa1, 'a', 0x01, 0xa2, 'a', 'b', 0xcd, 0x01, 0x00,
    0xa7, 'b', 'i', 'l', 'l', 'i', 'n', 'g', 0xcf, 0, 0, 1, 0, 0, 0, 0, 0
};

/* Returns a valid message of type whose numbers need many widths. */
static zr_busmsg_t
s_msg (zr_busmsg_type_t type)
{
    zr_busmsg_t m = { .type = type, .id = (1ULL << 40) + type };
    switch (type) {
    case ZR_BUSMSG_PUBLISH:
        m.subject = s_cstr ("orders.eu");
        m.payload = s_pattern (300, 1);
        m.producer = 0x9f3c1d2e4b5a6978ULL;
        m.seq = 70000;
        break;
    case ZR_BUSMSG_ACK:
        m.index = 1ULL << 33;
        m.term = 5;
        m.duplicate = true;
        break;
    case ZR_BUSMSG_NOT_LEADER:
        m.endpoint = s_cstr ("tcp://127.0.0.1:7202");
        break;
    case ZR_BUSMSG_ERROR:
        m.code = ZR_BUSMSG_CODE_STALE;
        m.text = s_cstr ("sequence below the producer's window");
        break;
    case ZR_BUSMSG_SUBSCRIBE:
        m.from_mode = ZR_BUSMSG_FROM_INDEX;
        m.from = 42;
        m.prefix = s_cstr ("orders.");
        m.credit = 256;
        m.name = s_cstr ("billing");
        m.run_max = 64;
        break;
    case ZR_BUSMSG_OK:
        m.first = 1;
        m.last = 70000;
        m.heartbeat_ms = 1000;
        m.timeout_ms = 10000;
        break;
    case ZR_BUSMSG_OUT_OF_RANGE:
        m.first = 65536;
        break;
    case ZR_BUSMSG_DELIVER:
        m.index = 70001;
        m.term = 6;
        m.subject = s_cstr ("orders.eu");
        m.payload = s_pattern (20, 0);
        break;
    case ZR_BUSMSG_CREDIT:
        m.credit = ZR_BUSMSG_CREDIT_MAX;
        break;
    case ZR_BUSMSG_COMMIT_CURSOR:
        m.name = s_cstr ("billing");
        m.index = 70001;
        break;
    case ZR_BUSMSG_CURSORS_REPLY:
        m.cursors = (zr_busmsg_bytes_t) { s_map, sizeof s_map };
        m.n_cursors = 3;
        break;
    case ZR_BUSMSG_HEARTBEAT:
        m.id = 0;
        m.index = 70000;
        break;
    default:
        break;                          /* UNSUBSCRIBE, CURSORS */
    }
    return m;
}

//  --------------------------------------------------------------------------
//  Helpers: comparing, encoding, decoding

static void
s_assert_bytes_eq (zr_busmsg_bytes_t a, zr_busmsg_bytes_t b)
{
    ck_assert_uint_eq (a.size, b.size);
    if (a.size > 0)
        ck_assert_int_eq (memcmp (a.data, b.data, a.size), 0);
    else
        ck_assert_ptr_null (b.data);
}

/* Asserts that b (decoded) carries what a (encoded, with only its
   type's fields set) does. */
static void
s_assert_msg_eq (const zr_busmsg_t *a, const zr_busmsg_t *b)
{
    ck_assert_int_eq (a->type, b->type);
    ck_assert_uint_eq (a->id, b->id);
    s_assert_bytes_eq (a->subject, b->subject);
    s_assert_bytes_eq (a->payload, b->payload);
    ck_assert_uint_eq (a->producer, b->producer);
    ck_assert_uint_eq (a->seq, b->seq);
    ck_assert_uint_eq (a->index, b->index);
    ck_assert_uint_eq (a->term, b->term);
    ck_assert_int_eq (a->duplicate, b->duplicate);
    s_assert_bytes_eq (a->endpoint, b->endpoint);
    ck_assert_uint_eq (a->code, b->code);
    s_assert_bytes_eq (a->text, b->text);
    ck_assert_uint_eq (a->from_mode, b->from_mode);
    ck_assert_uint_eq (a->from, b->from);
    s_assert_bytes_eq (a->prefix, b->prefix);
    ck_assert_uint_eq (a->credit, b->credit);
    s_assert_bytes_eq (a->name, b->name);
    ck_assert_uint_eq (a->run_max, b->run_max);
    if (a->n_records > 0) {
        ck_assert_uint_eq (a->n_records, b->n_records);
        s_assert_bytes_eq (a->records, b->records);
    }
    else
    if (b->type == ZR_BUSMSG_DELIVER || b->type == ZR_BUSMSG_PUBLISH
        || b->type == ZR_BUSMSG_ACK)    /* one record, from the fields */
        ck_assert_uint_eq (b->n_records, 1);
    else
        ck_assert (b->n_records == 0 && b->records.size == 0);
    ck_assert_uint_eq (a->first, b->first);
    ck_assert_uint_eq (a->last, b->last);
    ck_assert_uint_eq (a->heartbeat_ms, b->heartbeat_ms);
    ck_assert_uint_eq (a->timeout_ms, b->timeout_ms);
    s_assert_bytes_eq (a->cursors, b->cursors);
    ck_assert_uint_eq (a->n_cursors, b->n_cursors);
}

/* Encodes msg, asserting success; the caller frees *data. */
static size_t
s_encode (const zr_busmsg_t *msg, uint8_t **data)
{
    size_t size = 0;
    ck_assert_int_eq (zr_busmsg_encode (msg, data, &size), 0);
    ck_assert_ptr_nonnull (*data);
    ck_assert_uint_le (size, ZR_BUSMSG_FRAME_MAX);
    return size;
}

static void
s_round_trip (const zr_busmsg_t *msg)
{
    uint8_t *data;
    size_t size = s_encode (msg, &data);
    zr_busmsg_t copy;
    ck_assert_int_eq (zr_busmsg_decode (data, size, &copy), 0);
    s_assert_msg_eq (msg, &copy);
    free (data);
}

/* Returns the encoder's result, checking it left nothing on error. */
static int
s_encode_rc (const zr_busmsg_t *msg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_busmsg_encode (msg, &data, &size);
    ck_assert (rc == 0 ? data != NULL : data == NULL && size == 0);
    free (data);
    return rc;
}

static int
s_rc (const void *data, size_t size)
{
    zr_busmsg_t msg;
    return zr_busmsg_decode ((const uint8_t *) data, size, &msg);
}

/* One encoded frame of every type. */
typedef struct {
    uint8_t *data;
    size_t size;
} s_frame_t;

static void
s_frames_new (s_frame_t *frames)
{
    for (int t = 1; t <= ZR_BUSMSG_TYPE_MAX; t++) {
        zr_busmsg_t msg = s_msg ((zr_busmsg_type_t) t);
        frames [t - 1].size = s_encode (&msg, &frames [t - 1].data);
    }
}

static void
s_frames_destroy (s_frame_t *frames)
{
    for (int t = 1; t <= ZR_BUSMSG_TYPE_MAX; t++)
        free (frames [t - 1].data);
}

/* Decodes frame edited as mpedit_frame says. */
static int
s_edit_rc (const uint8_t *data, size_t size, uint32_t at,
           const msgpack_object *object)
{
    msgpack_sbuffer out;
    mpedit_frame (data, size, at, object, &out);
    int rc = s_rc (out.data, out.size);
    msgpack_sbuffer_destroy (&out);
    return rc;
}

static int
s_uint_rc (const s_frame_t *frame, uint32_t at, uint64_t value)
{
    msgpack_object object = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                              .via.u64 = value };
    return s_edit_rc (frame->data, frame->size, at, &object);
}

/* Field at replaced by a str (or bin) of size bytes, byte 0 NUL if asked. */
static int
s_bytes_rc (const s_frame_t *frame, uint32_t at, bool str, size_t size,
            bool nul)
{
    static uint8_t bytes [ZR_BUSMSG_PAYLOAD_MAX + 1];
    memset (bytes, 'a', size);
    if (nul && size > 0)
        bytes [0] = 0;
    msgpack_object object = { .type = str ? MSGPACK_OBJECT_STR
                                          : MSGPACK_OBJECT_BIN };
    object.via.bin.size = (uint32_t) size;
    object.via.bin.ptr = (const char *) bytes;
    return s_edit_rc (frame->data, frame->size, at, &object);
}


//  --------------------------------------------------------------------------
//  zr_busmsg_encode

/* Every type survives a round trip, and again with every optional
   field at zero or empty. */
START_TEST (bus_encode_round_trips_every_type)
{
    for (int t = 1; t <= ZR_BUSMSG_TYPE_MAX; t++) {
        zr_busmsg_t msg = s_msg ((zr_busmsg_type_t) t);
        s_round_trip (&msg);
    }
    zr_busmsg_t m = s_msg (ZR_BUSMSG_PUBLISH);
    m.producer = m.seq = 0;
    m.payload = s_pattern (0, 0);
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_ACK);
    m.duplicate = false;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_NOT_LEADER);
    m.endpoint = s_cstr ("");
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_SUBSCRIBE);
    for (uint32_t mode = ZR_BUSMSG_FROM_FIRST; mode <= ZR_BUSMSG_FROM_MAX; mode++) {
        m.from_mode = mode;
        m.from = 0;
        m.prefix = m.name = s_cstr ("");
        m.credit = 0;
        s_round_trip (&m);
    }
    m = s_msg (ZR_BUSMSG_CURSORS_REPLY);
    static const uint8_t empty [] = { 0x80 };
    m.cursors = (zr_busmsg_bytes_t) { empty, 1 };
    m.n_cursors = 0;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_HEARTBEAT);
    m.index = 0;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_ERROR);
    m.id = 0;
    m.code = ZR_BUSMSG_CODE_MALFORMED;
    m.text = s_cstr ("");
    s_round_trip (&m);
}
END_TEST

/* Every limit, exactly reached, survives a round trip; the largest
   PUBLISH fits ZR_BUSMSG_FRAME_MAX. */
START_TEST (bus_encode_round_trips_limits)
{
    zr_busmsg_t m = s_msg (ZR_BUSMSG_PUBLISH);
    m.subject = s_text (ZR_BUSMSG_SUBJECT_MAX, 1);
    m.payload = s_pattern (ZR_BUSMSG_PAYLOAD_MAX, 1);
    m.id = m.producer = m.seq = UINT64_MAX;
    s_round_trip (&m);
    m.subject = s_text (1, 1);
    m.id = m.producer = m.seq = 1;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_DELIVER);
    m.subject = s_text (ZR_BUSMSG_SUBJECT_MAX, 2);
    m.payload = s_pattern (ZR_BUSMSG_PAYLOAD_MAX, 0);
    m.index = m.term = UINT64_MAX;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_ERROR);
    m.text = s_text (ZR_BUSMSG_TEXT_MAX, 3);
    for (uint32_t c = 1; c <= ZR_BUSMSG_CODE_MAX; c++) {
        m.code = c;
        s_round_trip (&m);
    }
    m = s_msg (ZR_BUSMSG_NOT_LEADER);
    m.endpoint = s_text (ZR_BUSMSG_ENDPOINT_MAX, 4);
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_SUBSCRIBE);
    m.from = UINT64_MAX;
    m.prefix = s_text (ZR_BUSMSG_SUBJECT_MAX, 5);
    m.name = s_text (ZR_BUSMSG_NAME_MAX, 6);
    m.credit = ZR_BUSMSG_CREDIT_MAX;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_OK);
    m.first = m.last = 1;                   /* one entry */
    s_round_trip (&m);
    m.first = 5;                            /* an empty log from 5 */
    m.last = 4;
    m.heartbeat_ms = ZR_BUSMSG_HEARTBEAT_MS_MAX;
    m.timeout_ms = ZR_BUSMSG_TIMEOUT_MS_MAX;
    s_round_trip (&m);
    m.heartbeat_ms = 1;
    m.timeout_ms = 2;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_CREDIT);
    m.credit = 1;
    s_round_trip (&m);
    m = s_msg (ZR_BUSMSG_COMMIT_CURSOR);
    m.name = s_text (ZR_BUSMSG_NAME_MAX, 7);
    m.index = 1;
    s_round_trip (&m);
}
END_TEST

/* A message that breaks a rule is ZR_EINVAL, not an abort. */
START_TEST (bus_encode_refuses_broken_rules)
{
    zr_busmsg_t m = s_msg (ZR_BUSMSG_PUBLISH);
    m.type = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m.type = ZR_BUSMSG_TYPE_MAX + 1;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_PUBLISH);
    m.id = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_PUBLISH);
    m.subject = s_cstr ("");
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m.subject = s_text (ZR_BUSMSG_SUBJECT_MAX + 1, 0);
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m.subject = (zr_busmsg_bytes_t) { (const uint8_t *) "a\0b", 3 };
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_PUBLISH);
    m.payload = s_pattern (ZR_BUSMSG_PAYLOAD_MAX + 1, 0);
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_PUBLISH);
    m.payload = (zr_busmsg_bytes_t) { NULL, 3 };
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_PUBLISH);
    m.producer = 0;                         /* seq without a producer */
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_ACK);
    m.index = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_DELIVER);
    m.term = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_NOT_LEADER);
    m.endpoint = s_text (ZR_BUSMSG_ENDPOINT_MAX + 1, 0);
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_ERROR);
    m.code = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m.code = ZR_BUSMSG_CODE_MAX + 1;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_ERROR);
    m.id = 0;                               /* id 0 is MALFORMED's only */
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_SUBSCRIBE);
    m.from = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_SUBSCRIBE);
    m.from_mode = ZR_BUSMSG_FROM_NEXT;         /* from without mode INDEX */
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m.from_mode = ZR_BUSMSG_FROM_MAX + 1;
    m.from = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_SUBSCRIBE);
    m.credit = ZR_BUSMSG_CREDIT_MAX + 1;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_SUBSCRIBE);
    m.run_max = ZR_BUSMSG_RUN_MAX + 1;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_OK);
    m.first = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_OK);
    m.first = m.last + 2;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_OK);
    m.timeout_ms = m.heartbeat_ms;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_OK);
    m.heartbeat_ms = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_OK);
    m.timeout_ms = ZR_BUSMSG_TIMEOUT_MS_MAX + 1;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_OUT_OF_RANGE);
    m.first = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_CREDIT);
    m.credit = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_COMMIT_CURSOR);
    m.index = 0;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_COMMIT_CURSOR);
    m.name = s_cstr ("");
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m = s_msg (ZR_BUSMSG_CURSORS_REPLY);
    m.n_cursors = 2;                        /* the map holds three */
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    m.cursors = s_cstr ("\x81");            /* cut */
    m.n_cursors = 1;
    ck_assert_int_eq (s_encode_rc (&m), ZR_EINVAL);
    /* Fields the type does not carry are not judged. */
    m = s_msg (ZR_BUSMSG_CURSORS);
    m.subject = s_text (ZR_BUSMSG_SUBJECT_MAX + 1, 0);
    m.credit = UINT32_MAX;
    ck_assert_int_eq (s_encode_rc (&m), 0);
}
END_TEST

/* The worked example of docs/PROTOCOL.md: a PUBLISH, its ACK, a
   NOT_LEADER, a SUBSCRIBE, a DELIVER and a HEARTBEAT, then a SUBSCRIBE
   asking for runs and a DELIVER of two records, byte for byte. */
START_TEST (bus_encode_writes_the_worked_example)
{
    static const uint8_t publish [] = {
        0x97, 0x01, 0x01, 0x05, 0xa2, 'o', '1', 0xc4, 0x02, 'h', 'i', 0x2a,
        0x07
    };
    static const uint8_t ack [] = { 0x96, 0x01, 0x02, 0x05, 0xcc, 0x96, 0x03,
                                    0xc2 };
    static const uint8_t not_leader [] = {
        0x94, 0x01, 0x03, 0x05, 0xb4, 't', 'c', 'p', ':', '/', '/', '1', '2',
        '7', '.', '0', '.', '0', '.', '1', ':', '7', '2', '0', '2'
    };
    static const uint8_t subscribe [] = {
        0x98, 0x01, 0x05, 0x09, 0x01, 0x00, 0xa1, 'o', 0x0a, 0xa0
    };
    static const uint8_t deliver [] = {
        0x97, 0x01, 0x08, 0x09, 0xcc, 0x96, 0x03, 0xa2, 'o', '1', 0xc4, 0x02,
        'h', 'i'
    };
    static const uint8_t heartbeat [] = { 0x93, 0x01, 0x0e, 0xcc, 0x96 };
    static const uint8_t subscribe_runs [] = {
        0x99, 0x01, 0x05, 0x09, 0x01, 0x00, 0xa1, 'o', 0x0a, 0xa0,
        0xcd, 0x01, 0x00
    };
    static const uint8_t deliver_run [] = {
        0x9b, 0x01, 0x08, 0x09, 0xcc, 0x96, 0x03, 0xa2, 'o', '1', 0xc4, 0x02,
        'h', 'i', 0xcc, 0x98, 0x03, 0xa2, 'o', '2', 0xc4, 0x02, 'y', 'o'
    };
    static const uint8_t publish_run [] = {
        0x9b, 0x01, 0x01, 0x05, 0xa2, 'o', '1', 0xc4, 0x02, 'h', 'i', 0x2a,
        0x07, 0xa2, 'o', '2', 0xc4, 0x02, 'y', 'o', 0x2a, 0x08
    };
    static const uint8_t ack_run [] = {
        0x99, 0x01, 0x02, 0x05, 0xcc, 0x96, 0x03, 0xc2, 0xcc, 0x97, 0x03, 0xc2
    };
    zr_busmsg_run_t publications = {.type = ZR_BUSMSG_PUBLISH};
    zr_busmsg_run_t acks = {.type = ZR_BUSMSG_ACK};
    for (uint64_t k = 0; k < 2; k++) {
        zr_busmsg_record_t p = {.subject = s_cstr (k ? "o2" : "o1"),
                                .payload = s_cstr (k ? "yo" : "hi"),
                                .producer = 42, .seq = 7 + k};
        zr_busmsg_record_t a = {.index = 150 + k, .term = 3};
        ck_assert_int_eq (zr_busmsg_run_add (&publications, &p, 2), 0);
        ck_assert_int_eq (zr_busmsg_run_add (&acks, &a, 2), 0);
    }
    zr_busmsg_run_t run = { 0 };
    zr_busmsg_record_t records [2] = {
        { .index = 150, .term = 3, .subject = s_cstr ("o1"),
          .payload = s_cstr ("hi") },
        { .index = 152, .term = 3, .subject = s_cstr ("o2"),
          .payload = s_cstr ("yo") } };
    ck_assert_int_eq (zr_busmsg_run_add (&run, &records [0], 2), 0);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &records [1], 2), 0);
    struct { zr_busmsg_t msg; const uint8_t *bytes; size_t size; } cases [] = {
        { { .type = ZR_BUSMSG_PUBLISH, .id = 5, .subject = s_cstr ("o1"),
            .payload = s_cstr ("hi"), .producer = 42, .seq = 7 },
          publish, sizeof publish },
        { { .type = ZR_BUSMSG_ACK, .id = 5, .index = 150, .term = 3 },
          ack, sizeof ack },
        { { .type = ZR_BUSMSG_NOT_LEADER, .id = 5,
            .endpoint = s_cstr ("tcp://127.0.0.1:7202") },
          not_leader, sizeof not_leader },
        { { .type = ZR_BUSMSG_SUBSCRIBE, .id = 9,
            .from_mode = ZR_BUSMSG_FROM_FIRST, .prefix = s_cstr ("o"),
            .credit = 10 }, subscribe, sizeof subscribe },
        { { .type = ZR_BUSMSG_DELIVER, .id = 9, .index = 150, .term = 3,
            .subject = s_cstr ("o1"), .payload = s_cstr ("hi") },
          deliver, sizeof deliver },
        { { .type = ZR_BUSMSG_HEARTBEAT, .index = 150 },
          heartbeat, sizeof heartbeat },
        { { .type = ZR_BUSMSG_SUBSCRIBE, .id = 9,
            .from_mode = ZR_BUSMSG_FROM_FIRST, .prefix = s_cstr ("o"),
            .credit = 10, .run_max = 256 },
          subscribe_runs, sizeof subscribe_runs },
        { { .type = ZR_BUSMSG_DELIVER, .id = 9, .n_records = run.n,
            .records = { run.data, run.size } },
          deliver_run, sizeof deliver_run },
        { { .type = ZR_BUSMSG_PUBLISH, .id = 5, .n_records = publications.n,
            .records = { publications.data, publications.size } },
          publish_run, sizeof publish_run },
        { { .type = ZR_BUSMSG_ACK, .id = 5, .n_records = acks.n,
            .records = { acks.data, acks.size } },
          ack_run, sizeof ack_run },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        uint8_t *data;
        size_t size = s_encode (&cases [i].msg, &data);
        ck_assert_uint_eq (size, cases [i].size);
        ck_assert_int_eq (memcmp (data, cases [i].bytes, size), 0);
        free (data);
    }
    zr_busmsg_run_free (&run);
    zr_busmsg_run_free (&publications);
    zr_busmsg_run_free (&acks);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_busmsg_decode: the raw bytes

/* Every proper prefix of every frame is ZR_ETRUNCATED or ZR_ECOUNT. */
START_TEST (bus_decode_rejects_every_truncation)
{
    s_frame_t frames [ZR_BUSMSG_TYPE_MAX];
    s_frames_new (frames);
    for (int t = 0; t < ZR_BUSMSG_TYPE_MAX; t++) {
        for (size_t size = 0; size < frames [t].size; size++) {
            int rc = s_rc (frames [t].data, size);
            ck_assert_msg (rc == ZR_ETRUNCATED || rc == ZR_ECOUNT,
                           "type %d size %zu: rc %d", t + 1, size, rc);
        }
        ck_assert_int_eq (s_rc (frames [t].data, frames [t].size), 0);
    }
    ck_assert_int_eq (s_rc (NULL, 0), ZR_ETRUNCATED);
    s_frames_destroy (frames);
}
END_TEST

/* Any byte after a whole frame is ZR_ETRAILING. */
START_TEST (bus_decode_rejects_trailing_bytes)
{
    s_frame_t frames [ZR_BUSMSG_TYPE_MAX];
    s_frames_new (frames);
    for (int t = 0; t < ZR_BUSMSG_TYPE_MAX; t++) {
        uint8_t *longer = (uint8_t *) malloc (frames [t].size + 2);
        ck_assert_ptr_nonnull (longer);
        memcpy (longer, frames [t].data, frames [t].size);
        longer [frames [t].size] = 0x00;
        longer [frames [t].size + 1] = 0xc1;
        ck_assert_int_eq (s_rc (longer, frames [t].size + 1), ZR_ETRAILING);
        ck_assert_int_eq (s_rc (longer, frames [t].size + 2), ZR_ETRAILING);
        free (longer);
    }
    s_frames_destroy (frames);
}
END_TEST

/* A frame of ZR_BUSMSG_FRAME_MAX bytes is read; one byte more is
   ZR_ETOOBIG before anything else is looked at; another version is
   ZR_EVERSION even if the rest is garbage. */
START_TEST (bus_decode_checks_size_and_version)
{
    size_t size = ZR_BUSMSG_FRAME_MAX + 1;
    uint8_t *frame = (uint8_t *) malloc (size);
    ck_assert_ptr_nonnull (frame);
    memset (frame, 0xc1, size);
    static const uint8_t cursors [] = { 0x93, 0x01, 0x0c, 0x05 };
    memcpy (frame, cursors, sizeof cursors);
    ck_assert_int_eq (s_rc (frame, ZR_BUSMSG_FRAME_MAX), ZR_ETRAILING);
    ck_assert_int_eq (s_rc (frame, size), ZR_ETOOBIG);
    frame [1] = 0x02;
    ck_assert_int_eq (s_rc (frame, size), ZR_ETOOBIG);
    ck_assert_int_eq (s_rc (frame, ZR_BUSMSG_FRAME_MAX), ZR_EVERSION);
    free (frame);
    static const uint8_t v0 [] = { 0x93, 0x00, 0x0c, 0x05 };
    static const uint8_t v2_garbage [] = { 0x93, 0x02, 0xc1 };
    static const uint8_t int8_v1 [] = { 0x93, 0xd0, 0x01, 0x0c, 0x05 };
    static const uint8_t negative_v [] = { 0x93, 0xff, 0x0c, 0x05 };
    ck_assert_int_eq (s_rc (v0, sizeof v0), ZR_EVERSION);
    ck_assert_int_eq (s_rc (v2_garbage, sizeof v2_garbage), ZR_EVERSION);
    ck_assert_int_eq (s_rc (int8_v1, sizeof int8_v1), 0);
    ck_assert_int_eq (s_rc (negative_v, sizeof negative_v), ZR_EMALFORMED);
}
END_TEST

/* The walk's limits: counts beyond the bytes (ZR_ECOUNT), more than
   ZR_BUSMSG_OBJECTS_MAX objects (ZR_ETOOBIG), nesting deeper than
   ZR_BUSMSG_DEPTH_MAX or the byte 0xc1 (ZR_EMALFORMED). */
START_TEST (bus_decode_checks_the_walk)
{
    static const uint8_t huge_array [] = { 0xdd, 0xff, 0xff, 0xff, 0xff,
                                           0x01, 0x0c, 0x05 };
    static const uint8_t huge_bin [] = { 0x97, 0x01, 0x01, 0x01, 0xa1, 'o',
                                         0xc6, 0xff, 0xff, 0xff, 0xff, 0x00 };
    static const uint8_t reserved [] = { 0x93, 0x01, 0x0c, 0xc1 };
    static const uint8_t depth2 [] = { 0x94, 0x01, 0x0d, 0x05, 0x81, 0xa1,
                                       'a', 0x90 };
    static const uint8_t depth3 [] = { 0x94, 0x01, 0x0d, 0x05, 0x81, 0xa1,
                                       'a', 0x91, 0x01 };
    ck_assert_int_eq (s_rc (huge_array, sizeof huge_array), ZR_ECOUNT);
    ck_assert_int_eq (s_rc (huge_bin, sizeof huge_bin), ZR_ECOUNT);
    ck_assert_int_eq (s_rc (reserved, sizeof reserved), ZR_EMALFORMED);
    /* An empty array as an index passes the walk (two levels), then
       fails the map's check; one level more fails the walk. */
    ck_assert_int_eq (s_rc (depth2, sizeof depth2), ZR_EMALFORMED);
    ck_assert_int_eq (zr_msgpack_walk (depth2, sizeof depth2,
                                       ZR_BUSMSG_DEPTH_MAX, ZR_BUSMSG_OBJECTS_MAX),
                      0);
    ck_assert_int_eq (zr_msgpack_walk (depth3, sizeof depth3,
                                       ZR_BUSMSG_DEPTH_MAX, ZR_BUSMSG_OBJECTS_MAX),
                      ZR_EMALFORMED);
    /* A CURSORS request padded to ZR_BUSMSG_OBJECTS_MAX objects passes the
       walk (and has the wrong count); one object more does not. */
    uint8_t frame [3 + ZR_BUSMSG_OBJECTS_MAX + 1];
    memset (frame, 0x00, sizeof frame);
    frame [0] = 0xdc;
    frame [1] = (uint8_t) (ZR_BUSMSG_OBJECTS_MAX >> 8);
    frame [2] = (uint8_t) ZR_BUSMSG_OBJECTS_MAX;
    frame [3] = 0x01;
    frame [4] = 0x0c;
    ck_assert_int_eq (s_rc (frame, 3 + ZR_BUSMSG_OBJECTS_MAX), ZR_EMALFORMED);
    frame [2]++;
    ck_assert_int_eq (s_rc (frame, sizeof frame), ZR_ETOOBIG);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_busmsg_decode: schema

/* One element more or less than the type's count is ZR_EMALFORMED, on
   every frame; so is a frame shorter than any head. */
START_TEST (bus_decode_rejects_wrong_field_counts)
{
    s_frame_t frames [ZR_BUSMSG_TYPE_MAX];
    s_frames_new (frames);
    msgpack_object one = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                           .via.u64 = 1 };
    for (int t = 0; t < ZR_BUSMSG_TYPE_MAX; t++) {
        uint32_t n = frames [t].data [0] & 0x0f;
        ck_assert_int_eq (s_edit_rc (frames [t].data, frames [t].size, n, &one),
                          ZR_EMALFORMED);
        /* SUBSCRIBE's run_max is its optional last element. */
        bool optional = t + 1 == ZR_BUSMSG_SUBSCRIBE;
        ck_assert_int_eq (s_edit_rc (frames [t].data, frames [t].size, n - 1,
                                     NULL), optional ? 0 : ZR_EMALFORMED);
        if (optional)
            ck_assert_int_eq (s_edit_rc (frames [t].data, frames [t].size,
                                         n - 2, NULL), ZR_EMALFORMED);
    }
    static const uint8_t one_element [] = { 0x91, 0x01 };
    static const uint8_t empty [] = { 0x90 };
    static const uint8_t not_array [] = { 0x81, 0x01, 0x0c };
    ck_assert_int_eq (s_rc (one_element, sizeof one_element), ZR_EMALFORMED);
    ck_assert_int_eq (s_rc (empty, sizeof empty), ZR_EMALFORMED);
    ck_assert_int_eq (s_rc (not_array, sizeof not_array), ZR_EMALFORMED);
    s_frames_destroy (frames);
}
END_TEST


/* Every field of every frame swapped for an object of another msgpack
   type is ZR_EMALFORMED (an empty map as the cursors is a valid map). */
START_TEST (bus_decode_rejects_wrong_field_types)
{
    s_frame_t frames [ZR_BUSMSG_TYPE_MAX];
    s_frames_new (frames);
    size_t n_candidates;
    const msgpack_object *candidates = mpedit_candidates (&n_candidates);
    size_t edits = 0;
    for (int t = 0; t < ZR_BUSMSG_TYPE_MAX; t++) {
        msgpack_unpacked result;
        msgpack_unpacked_init (&result);
        size_t offset = 0;
        ck_assert_int_eq (msgpack_unpack_next (&result,
                                               (const char *) frames [t].data,
                                               frames [t].size, &offset),
                          MSGPACK_UNPACK_SUCCESS);
        msgpack_object_array array = result.data.via.array;
        for (uint32_t f = 0; f < array.size; f++)
            for (size_t c = 0; c < n_candidates; c++) {
                if (candidates [c].type == array.ptr [f].type)
                    continue;
                int rc = s_edit_rc (frames [t].data, frames [t].size, f,
                                    &candidates [c]);
                ck_assert_msg (rc == ZR_EMALFORMED, "type %d field %u "
                               "candidate %d: rc %d", t + 1, f,
                               candidates [c].type, rc);
                edits++;
            }
        msgpack_unpacked_destroy (&result);
    }
    ck_assert_uint_gt (edits, 400);
    s_frames_destroy (frames);
}
END_TEST

/* Integers in signed formats holding a value >= 0 are read, anywhere
   (the cursors map too); the encoder writes the smallest form. */
START_TEST (bus_decode_accepts_signed_formats)
{
    static const uint8_t credit [] = { 0x94, 0xd0, 0x01, 0xd1, 0x00, 0x09,
                                       0xd3, 0, 0, 0, 0, 0, 0, 0, 9,
                                       0xd2, 0, 0, 0, 3 };
    zr_busmsg_t msg;
    ck_assert_int_eq (zr_busmsg_decode (credit, sizeof credit, &msg), 0);
    ck_assert_int_eq (msg.type, ZR_BUSMSG_CREDIT);
    ck_assert_uint_eq (msg.id, 9);
    ck_assert_uint_eq (msg.credit, 3);
    uint8_t *data;
    size_t size = s_encode (&msg, &data);
    static const uint8_t canonical [] = { 0x94, 0x01, 0x09, 0x09, 0x03 };
    ck_assert_uint_eq (size, sizeof canonical);
    ck_assert_int_eq (memcmp (data, canonical, size), 0);
    free (data);
    static const uint8_t reply [] = { 0x94, 0xd0, 0x01, 0x0d, 0xd0, 0x05,
                                      0x82, 0xa1, 'a', 0xd0, 0x7f,
                                      0xa1, 'b', 0xd3, 0, 0, 0, 0, 0, 0, 1, 0 };
    ck_assert_int_eq (zr_busmsg_decode (reply, sizeof reply, &msg), 0);
    ck_assert_uint_eq (msg.id, 5);
    ck_assert_uint_eq (msg.n_cursors, 2);
    ck_assert_uint_eq (msg.cursors.size, 16);
    uint8_t negative [sizeof reply];
    memcpy (negative, reply, sizeof reply);
    negative [10] = 0x80;                   /* int8 -128 */
    ck_assert_int_eq (s_rc (negative, sizeof negative), ZR_EMALFORMED);
    /* A DELIVER run whose head (read through the tree) and records (read
       raw) use signed formats; then its head plain (read raw only). */
    static const uint8_t deliver [] = {
        0x9b, 0xd0, 0x01, 0xd0, 0x08, 0xd1, 0x00, 0x09,
        0xd1, 0x00, 0x96, 0xd0, 0x03, 0xa2, 'o', '1', 0xc4, 0x02, 'h', 'i',
        0xd2, 0, 0, 0, 0x98, 0x03, 0xa2, 'o', '2', 0xc4, 0x02, 'y', 'o'
    };
    for (int plain = 0; plain < 2; plain++) {
        const uint8_t *frame = deliver;
        uint8_t copy [sizeof deliver];
        size_t copy_size = sizeof deliver;
        if (plain) {                        /* 9b 01 08 09, then the rest */
            copy [0] = 0x9b;
            copy [1] = 0x01;
            copy [2] = 0x08;
            copy [3] = 0x09;
            memcpy (copy + 4, deliver + 8, sizeof deliver - 8);
            copy_size = sizeof deliver - 4;
            frame = copy;
        }
        ck_assert_int_eq (zr_busmsg_decode (frame, copy_size, &msg), 0);
        ck_assert_int_eq (msg.type, ZR_BUSMSG_DELIVER);
        ck_assert_uint_eq (msg.id, 9);
        ck_assert_uint_eq (msg.n_records, 2);
        ck_assert_uint_eq (msg.index, 150);
        ck_assert_uint_eq (msg.term, 3);
        zr_busmsg_records_iter_t iter;
        zr_busmsg_record_t record;
        zr_busmsg_records_iter (&msg, &iter);
        ck_assert (zr_busmsg_records_next (&iter, &record));
        ck_assert (zr_busmsg_records_next (&iter, &record));
        ck_assert_uint_eq (record.index, 152);
        ck_assert (!zr_busmsg_records_next (&iter, &record));
        s_round_trip (&msg);
    }
}
END_TEST

/* Types outside 1..ZR_BUSMSG_TYPE_MAX are ZR_EMALFORMED. */
START_TEST (bus_decode_rejects_unknown_types)
{
    zr_busmsg_t m = s_msg (ZR_BUSMSG_CURSORS);
    uint8_t *data;
    size_t size = s_encode (&m, &data);
    s_frame_t frame = { data, size };
    static const uint64_t types [] = { 0, ZR_BUSMSG_TYPE_MAX + 1, 255, 256,
                                       1ULL << 40 };
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++)
        ck_assert_int_eq (s_uint_rc (&frame, 1, types [i]), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (&frame, 1, ZR_BUSMSG_UNSUBSCRIBE), 0);
    free (data);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_busmsg_decode: limits and rules

/* Every str and bin limit at the limit (0) and one over (ZR_ETOOBIG);
   an empty subject or name, a NUL in a str, are ZR_EMALFORMED. */
START_TEST (bus_decode_checks_limits)
{
    struct {
        zr_busmsg_type_t type;
        uint32_t at;                    /* the field's element */
        bool str;
        size_t max;
        bool empty_ok;
    } cases [] = {
        { ZR_BUSMSG_PUBLISH, 3, true, ZR_BUSMSG_SUBJECT_MAX, false },
        { ZR_BUSMSG_PUBLISH, 4, false, ZR_BUSMSG_PAYLOAD_MAX, true },
        { ZR_BUSMSG_NOT_LEADER, 3, true, ZR_BUSMSG_ENDPOINT_MAX, true },
        { ZR_BUSMSG_ERROR, 4, true, ZR_BUSMSG_TEXT_MAX, true },
        { ZR_BUSMSG_SUBSCRIBE, 5, true, ZR_BUSMSG_SUBJECT_MAX, true },
        { ZR_BUSMSG_SUBSCRIBE, 7, true, ZR_BUSMSG_NAME_MAX, true },
        { ZR_BUSMSG_DELIVER, 5, true, ZR_BUSMSG_SUBJECT_MAX, false },
        { ZR_BUSMSG_DELIVER, 6, false, ZR_BUSMSG_PAYLOAD_MAX, true },
        { ZR_BUSMSG_COMMIT_CURSOR, 3, true, ZR_BUSMSG_NAME_MAX, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zr_busmsg_t m = s_msg (cases [i].type);
        uint8_t *data;
        size_t size = s_encode (&m, &data);
        s_frame_t frame = { data, size };
        bool str = cases [i].str;
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, str,
                                      cases [i].max, false), 0);
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, str,
                                      cases [i].max + 1, false), ZR_ETOOBIG);
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, str, 0, false),
                          cases [i].empty_ok ? 0 : ZR_EMALFORMED);
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, str, 3, true),
                          str ? ZR_EMALFORMED : 0);
        free (data);
    }
}
END_TEST

/* The integer rules, each at its edge. */
START_TEST (bus_decode_checks_rules)
{
    s_frame_t f [ZR_BUSMSG_TYPE_MAX];
    s_frames_new (f);
    s_frame_t *publish = &f [ZR_BUSMSG_PUBLISH - 1];
    ck_assert_int_eq (s_uint_rc (publish, 2, 0), ZR_EMALFORMED);   /* id */
    ck_assert_int_eq (s_uint_rc (publish, 5, 0), ZR_EMALFORMED);   /* seq alone */
    s_frame_t *ack = &f [ZR_BUSMSG_ACK - 1];
    ck_assert_int_eq (s_uint_rc (ack, 3, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ack, 4, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ack, 4, 1), 0);
    s_frame_t *error = &f [ZR_BUSMSG_ERROR - 1];
    ck_assert_int_eq (s_uint_rc (error, 3, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (error, 3, ZR_BUSMSG_CODE_MAX + 1), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (error, 3, 1ULL << 32), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (error, 2, 0), ZR_EMALFORMED); /* not MALFORMED */
    s_frame_t *subscribe = &f [ZR_BUSMSG_SUBSCRIBE - 1];
    ck_assert_int_eq (s_uint_rc (subscribe, 3, ZR_BUSMSG_FROM_MAX + 1),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (subscribe, 3, ZR_BUSMSG_FROM_LAST),
                      ZR_EMALFORMED);                   /* with from 42 */
    ck_assert_int_eq (s_uint_rc (subscribe, 4, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (subscribe, 6, ZR_BUSMSG_CREDIT_MAX), 0);
    ck_assert_int_eq (s_uint_rc (subscribe, 6, ZR_BUSMSG_CREDIT_MAX + 1),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (subscribe, 8, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (subscribe, 8, 1), 0);
    ck_assert_int_eq (s_uint_rc (subscribe, 8, ZR_BUSMSG_RUN_MAX), 0);
    ck_assert_int_eq (s_uint_rc (subscribe, 8, ZR_BUSMSG_RUN_MAX + 1),
                      ZR_EMALFORMED);
    s_frame_t *ok = &f [ZR_BUSMSG_OK - 1];             /* 1, 70000, 1000, 10000 */
    ck_assert_int_eq (s_uint_rc (ok, 3, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ok, 3, 70001), 0);
    ck_assert_int_eq (s_uint_rc (ok, 3, 70002), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ok, 5, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ok, 5, 10000), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ok, 5, ZR_BUSMSG_HEARTBEAT_MS_MAX + 1),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (ok, 6, ZR_BUSMSG_TIMEOUT_MS_MAX + 1),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (&f [ZR_BUSMSG_OUT_OF_RANGE - 1], 3, 0),
                      ZR_EMALFORMED);
    s_frame_t *deliver = &f [ZR_BUSMSG_DELIVER - 1];
    ck_assert_int_eq (s_uint_rc (deliver, 3, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (deliver, 4, 0), ZR_EMALFORMED);
    s_frame_t *credit = &f [ZR_BUSMSG_CREDIT - 1];
    ck_assert_int_eq (s_uint_rc (credit, 3, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (credit, 3, ZR_BUSMSG_CREDIT_MAX + 1),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (&f [ZR_BUSMSG_COMMIT_CURSOR - 1], 4, 0),
                      ZR_EMALFORMED);
    for (int t = 1; t <= ZR_BUSMSG_TYPE_MAX; t++)
        if (t != ZR_BUSMSG_HEARTBEAT)
            ck_assert_int_eq (s_uint_rc (&f [t - 1], 2, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_uint_rc (&f [ZR_BUSMSG_HEARTBEAT - 1], 2, 0), 0);
    s_frames_destroy (f);
}
END_TEST

/* What a failed decode leaves: the zero message but for the head's
   type (if known) and id (not a HEARTBEAT's). */
START_TEST (bus_decode_keeps_the_head_on_error)
{
    static const uint8_t bad_credit [] = { 0x94, 0x01, 0x09, 0x07, 0x00 };
    static const uint8_t unknown [] = { 0x94, 0x01, 0x63, 0x07, 0x00 };
    static const uint8_t bad_heartbeat [] = { 0x93, 0x01, 0x0e, 0xc0 };
    static const uint8_t heartbeat_extra [] = { 0x94, 0x01, 0x0e, 0x05, 0x05 };
    static const uint8_t no_head [] = { 0x93, 0x01, 0xc0, 0x07 };
    zr_busmsg_t msg;
    ck_assert_int_eq (zr_busmsg_decode (bad_credit, sizeof bad_credit, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (msg.type, ZR_BUSMSG_CREDIT);
    ck_assert_uint_eq (msg.id, 7);
    ck_assert_uint_eq (msg.credit, 0);
    ck_assert_int_eq (zr_busmsg_decode (unknown, sizeof unknown, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (msg.type, 0);
    ck_assert_uint_eq (msg.id, 7);
    ck_assert_int_eq (zr_busmsg_decode (bad_heartbeat, sizeof bad_heartbeat,
                                         &msg), ZR_EMALFORMED);
    ck_assert_int_eq (msg.type, 0);         /* the head is not 3 integers */
    ck_assert_int_eq (zr_busmsg_decode (heartbeat_extra,
                                         sizeof heartbeat_extra, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (msg.type, ZR_BUSMSG_HEARTBEAT);
    ck_assert_uint_eq (msg.id, 0);
    ck_assert_int_eq (zr_busmsg_decode (no_head, sizeof no_head, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (msg.type, 0);
    ck_assert_uint_eq (msg.id, 0);
    zr_busmsg_t zero;
    memset (&zero, 0, sizeof zero);
    ck_assert_int_eq (memcmp (&msg, &zero, sizeof zero), 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  The cursors map

/* Decodes [1, CURSORS_REPLY, 5, map] with map given as raw bytes. */
static int
s_map_rc (const uint8_t *map, size_t size, zr_busmsg_t *msg)
{
    uint8_t *frame = (uint8_t *) malloc (size + 4);
    ck_assert_ptr_nonnull (frame);
    static const uint8_t head [] = { 0x94, 0x01, 0x0d, 0x05 };
    memcpy (frame, head, 4);
    memcpy (frame + 4, map, size);
    int rc = zr_busmsg_decode (frame, size + 4, msg);
    free (frame);
    return rc;
}

/* Names strictly increasing, str 1..ZR_BUSMSG_NAME_MAX without NUL, uint
   indexes, at most ZR_BUSMSG_CURSORS_MAX entries. */
START_TEST (bus_decode_checks_the_cursors_map)
{
    zr_busmsg_t msg;
    static const uint8_t sorted [] = { 0x82, 0xa1, 'a', 0x01, 0xa2, 'a', 'a',
                                       0x02 };
    static const uint8_t equal [] = { 0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02 };
    static const uint8_t reversed [] = { 0x82, 0xa1, 'b', 0x01, 0xa1, 'a',
                                         0x02 };
    static const uint8_t prefix_after [] = { 0x82, 0xa2, 'a', 'a', 0x01, 0xa1,
                                             'a', 0x02 };
    static const uint8_t empty_name [] = { 0x81, 0xa0, 0x01 };
    static const uint8_t nul_name [] = { 0x81, 0xa1, 0x00, 0x01 };
    static const uint8_t bin_name [] = { 0x81, 0xc4, 0x01, 'a', 0x01 };
    static const uint8_t nil_index [] = { 0x81, 0xa1, 'a', 0xc0 };
    static const uint8_t str8_name [] = { 0x81, 0xd9, 0x01, 'a', 0x01 };
    ck_assert_int_eq (s_map_rc (sorted, sizeof sorted, &msg), 0);
    ck_assert_uint_eq (msg.n_cursors, 2);
    ck_assert_int_eq (s_map_rc (equal, sizeof equal, &msg), ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (reversed, sizeof reversed, &msg), ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (prefix_after, sizeof prefix_after, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (empty_name, sizeof empty_name, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (nul_name, sizeof nul_name, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (bin_name, sizeof bin_name, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (nil_index, sizeof nil_index, &msg),
                      ZR_EMALFORMED);
    ck_assert_int_eq (s_map_rc (str8_name, sizeof str8_name, &msg), 0);
    /* A name of ZR_BUSMSG_NAME_MAX bytes (str8), then one over (str16). */
    uint8_t big [5 + ZR_BUSMSG_NAME_MAX + 1];
    big [0] = 0x81;
    big [1] = 0xd9;
    big [2] = ZR_BUSMSG_NAME_MAX;
    memset (big + 3, 'n', ZR_BUSMSG_NAME_MAX);
    big [3 + ZR_BUSMSG_NAME_MAX] = 0x07;
    ck_assert_int_eq (s_map_rc (big, 4 + ZR_BUSMSG_NAME_MAX, &msg), 0);
    big [1] = 0xda;
    big [2] = (ZR_BUSMSG_NAME_MAX + 1) >> 8;
    big [3] = (ZR_BUSMSG_NAME_MAX + 1) & 0xff;
    memset (big + 4, 'n', ZR_BUSMSG_NAME_MAX + 1);
    big [sizeof big - 1] = 0x07;
    ck_assert_int_eq (s_map_rc (big, sizeof big, &msg), ZR_ETOOBIG);
}
END_TEST

/* zr_busmsg_cursors_encode sorts, refuses equal names and more than
   ZR_BUSMSG_CURSORS_MAX; a full map passes the decoder, one entry more is
   ZR_ETOOBIG; the walk returns every cursor in order. */
START_TEST (bus_cursors_encode_sorts_and_walks)
{
    static char names [ZR_BUSMSG_CURSORS_MAX + 1][8];
    static zr_busmsg_cursor_t cursors [ZR_BUSMSG_CURSORS_MAX + 1];
    for (uint32_t i = 0; i <= ZR_BUSMSG_CURSORS_MAX; i++) {
        /* Descending, so the encoder has to sort them. */
        snprintf (names [i], sizeof names [i], "c%05u", 99999 - i);
        cursors [i] = (zr_busmsg_cursor_t) { s_cstr (names [i]), 1000 + i };
    }
    uint8_t *map = NULL;
    size_t size = 0;
    ck_assert_int_eq (zr_busmsg_cursors_encode (cursors, ZR_BUSMSG_CURSORS_MAX + 1,
                                             &map, &size), ZR_EINVAL);
    ck_assert_int_eq (zr_busmsg_cursors_encode (cursors, ZR_BUSMSG_CURSORS_MAX,
                                             &map, &size), 0);
    zr_busmsg_t reply = { .type = ZR_BUSMSG_CURSORS_REPLY, .id = 3,
                           .cursors = { map, size },
                           .n_cursors = ZR_BUSMSG_CURSORS_MAX };
    uint8_t *frame;
    size_t frame_size = s_encode (&reply, &frame);
    zr_busmsg_t msg;
    ck_assert_int_eq (zr_busmsg_decode (frame, frame_size, &msg), 0);
    zr_busmsg_cursors_iter_t iter;
    zr_busmsg_cursors_iter (&msg, &iter);
    zr_busmsg_cursor_t cursor;
    uint32_t n = 0;
    while (zr_busmsg_cursors_next (&iter, &cursor)) {
        char expected [8];
        uint32_t original = ZR_BUSMSG_CURSORS_MAX - 1 - n;
        snprintf (expected, sizeof expected, "c%05u", 99999 - original);
        ck_assert_uint_eq (cursor.name.size, strlen (expected));
        ck_assert_int_eq (memcmp (cursor.name.data, expected, 6), 0);
        ck_assert_uint_eq (cursor.index, 1000 + original);
        n++;
    }
    ck_assert_uint_eq (n, ZR_BUSMSG_CURSORS_MAX);
    ck_assert (!zr_busmsg_cursors_next (&iter, &cursor));
    free (frame);
    free (map);
    /* A map16 header claiming one entry more, without the bytes: the
       walk says ZR_ECOUNT (bus_decode_refuses_too_many_cursors backs
       the claim with bytes). */
    uint8_t over [] = { 0xde, (ZR_BUSMSG_CURSORS_MAX + 1) >> 8,
                        (ZR_BUSMSG_CURSORS_MAX + 1) & 0xff };
    ck_assert_int_eq (s_map_rc (over, sizeof over, &msg), ZR_ECOUNT);
    /* Equal names and a bad name are refused; none is fine. */
    cursors [1].name = cursors [0].name;
    ck_assert_int_eq (zr_busmsg_cursors_encode (cursors, 2, &map, &size),
                      ZR_EINVAL);
    cursors [1].name = s_cstr ("");
    ck_assert_int_eq (zr_busmsg_cursors_encode (cursors, 2, &map, &size),
                      ZR_EINVAL);
    ck_assert_int_eq (zr_busmsg_cursors_encode (NULL, 0, &map, &size), 0);
    ck_assert_uint_eq (size, 1);
    ck_assert_uint_eq (map [0], 0x80);
    free (map);
}
END_TEST

/* A map claiming more than ZR_BUSMSG_CURSORS_MAX entries with the bytes to
   back it is ZR_ETOOBIG (the walk allows it, the schema does not). */
START_TEST (bus_decode_refuses_too_many_cursors)
{
    size_t n = ZR_BUSMSG_CURSORS_MAX + 1;
    size_t size = 3 + n * 3;
    uint8_t *map = (uint8_t *) malloc (size);
    ck_assert_ptr_nonnull (map);
    map [0] = 0xde;
    map [1] = (uint8_t) (n >> 8);
    map [2] = (uint8_t) n;
    for (size_t i = 0; i < n; i++) {
        map [3 + 3 * i] = 0xa1;
        map [4 + 3 * i] = 'a';
        map [5 + 3 * i] = 0x01;
    }
    zr_busmsg_t msg;
    /* 4 + 2 x 2049 objects pass the walk (ZR_BUSMSG_OBJECTS_MAX leaves room
       for the frame's fields); the schema refuses the count. */
    ck_assert_int_eq (s_map_rc (map, size, &msg), ZR_ETOOBIG);
    free (map);
}
END_TEST

//  --------------------------------------------------------------------------
//  Mutations and names

/* Seeded byte mutations of every frame: the decoder returns 0 or a
   decode error, never crashes; what decodes re-encodes and decodes
   again to the same message. */
START_TEST (bus_decode_survives_mutations)
{
    const char *env = getenv ("ZR_SEED");
    uint64_t seed = env ? strtoull (env, NULL, 0) : S_SEED_DEFAULT;
    uint64_t state = seed ? seed : 1;
    s_frame_t frames [ZR_BUSMSG_TYPE_MAX];
    s_frames_new (frames);
    uint8_t buffer [4096];
    for (int i = 0; i < S_MUTATIONS; i++) {
        const s_frame_t *frame = &frames [mpedit_xorshift (&state) % ZR_BUSMSG_TYPE_MAX];
        size_t size = frame->size < sizeof buffer ? frame->size : sizeof buffer;
        memcpy (buffer, frame->data, size);
        int flips = 1 + (int) (mpedit_xorshift (&state) % 4);
        for (int f = 0; f < flips; f++)
            buffer [mpedit_xorshift (&state) % size] = (uint8_t) mpedit_xorshift (&state);
        if (mpedit_xorshift (&state) % 8 == 0)
            size = mpedit_xorshift (&state) % size;
        zr_busmsg_t msg;
        int rc = zr_busmsg_decode (buffer, size, &msg);
        ck_assert_msg (rc == 0 || rc == ZR_ETOOBIG || rc == ZR_EVERSION
                       || rc == ZR_ETRUNCATED || rc == ZR_ECOUNT
                       || rc == ZR_ETRAILING || rc == ZR_EMALFORMED,
                       "seed %" PRIu64 " mutation %d: rc %d", seed, i, rc);
        if (rc != 0)
            continue;
        uint8_t *again;
        size_t again_size = s_encode (&msg, &again);
        ck_assert_uint_le (again_size, size);
        zr_busmsg_t copy;
        ck_assert_int_eq (zr_busmsg_decode (again, again_size, &copy), 0);
        s_assert_msg_eq (&msg, &copy);
        free (again);
    }
    s_frames_destroy (frames);
}
END_TEST

//  --------------------------------------------------------------------------
//  DELIVER runs

/* Record i (0..) of the runs below: index 10 + 3 i, term 2 + i / 100,
   subject "s<i % 7>", a payload of i % 5 bytes (none for 0). */
static zr_busmsg_record_t
s_record (uint32_t i)
{
    static char subjects [7][3];
    snprintf (subjects [i % 7], sizeof subjects [0], "s%u", i % 7);
    zr_busmsg_bytes_t payload = s_pattern (i % 5, 1);
    return (zr_busmsg_record_t) {.index = 10 + 3 * (uint64_t) i,
                                 .term = 2 + i / 100,
                                 .subject = s_cstr (subjects [i % 7]),
                                 .payload = payload};
}

static void
s_assert_record_eq (const zr_busmsg_record_t *a, const zr_busmsg_record_t *b)
{
    ck_assert_uint_eq (a->index, b->index);
    ck_assert_uint_eq (a->term, b->term);
    s_assert_bytes_eq (a->subject, b->subject);
    s_assert_bytes_eq (a->payload, b->payload);
}

/* A run of records 0..n-1, added with max. */
static void
s_run_fill (zr_busmsg_run_t *run, uint32_t n, uint32_t max)
{
    for (uint32_t i = 0; i < n; i++) {
        zr_busmsg_record_t record = s_record (i);
        ck_assert_int_eq (zr_busmsg_run_add (run, &record, max), 0);
    }
}

/* Walks msg's records, asserting they are records 0..n-1. */
static void
s_assert_run (const zr_busmsg_t *msg, uint32_t n)
{
    zr_busmsg_records_iter_t iter;
    zr_busmsg_records_iter (msg, &iter);
    zr_busmsg_record_t record;
    uint32_t i = 0;
    while (zr_busmsg_records_next (&iter, &record)) {
        ck_assert_uint_lt (i, n);
        zr_busmsg_record_t expected = s_record (i++);
        s_assert_record_eq (&record, &expected);
    }
    ck_assert_uint_eq (i, n);
}

/* Packs a DELIVER head [1, 8, id 9] for count elements in all. */
static void
s_deliver_head (msgpack_packer *pk, uint32_t count)
{
    msgpack_pack_array (pk, count);
    msgpack_pack_uint64 (pk, ZR_BUSMSG_VERSION);
    msgpack_pack_uint64 (pk, ZR_BUSMSG_DELIVER);
    msgpack_pack_uint64 (pk, 9);
}

static void
s_pack_record (msgpack_packer *pk, const zr_busmsg_record_t *record)
{
    msgpack_pack_uint64 (pk, record->index);
    msgpack_pack_uint64 (pk, record->term);
    msgpack_pack_str (pk, record->subject.size);
    msgpack_pack_str_body (pk, record->subject.data, record->subject.size);
    msgpack_pack_bin (pk, record->payload.size);
    msgpack_pack_bin_body (pk, record->payload.data, record->payload.size);
}

/* Decodes a DELIVER of records [0..n) packed by hand. */
static int
s_records_rc (const zr_busmsg_record_t *records, uint32_t n)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, msgpack_sbuffer_write);
    s_deliver_head (&pk, 3 + 4 * n);
    for (uint32_t i = 0; i < n; i++)
        s_pack_record (&pk, &records [i]);
    int rc = s_rc (out.data, out.size);
    msgpack_sbuffer_destroy (&out);
    return rc;
}

/* Runs of 1, 2, 37 and ZR_BUSMSG_RUN_MAX records survive a round trip:
   the decoded DELIVER's fields are its first record's, its records
   walk back in order and re-encode to the same bytes; a run of one is
   byte for byte the single DELIVER; a single DELIVER walks as one
   record. */
START_TEST (bus_deliver_runs_round_trip)
{
    uint32_t sizes [] = { 1, 2, 37, ZR_BUSMSG_RUN_MAX };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes [0]; k++) {
        uint32_t n = sizes [k];
        zr_busmsg_run_t run = { 0 };
        s_run_fill (&run, n, ZR_BUSMSG_RUN_MAX);
        ck_assert_uint_eq (run.n, n);
        zr_busmsg_t msg = { .type = ZR_BUSMSG_DELIVER, .id = 9,
                            .n_records = run.n,
                            .records = { run.data, run.size } };
        s_assert_run (&msg, n);         /* the run, before it leaves */
        uint8_t *data;
        size_t size = s_encode (&msg, &data);
        zr_busmsg_t decoded;
        ck_assert_int_eq (zr_busmsg_decode (data, size, &decoded), 0);
        ck_assert_int_eq (decoded.type, ZR_BUSMSG_DELIVER);
        ck_assert_uint_eq (decoded.id, 9);
        ck_assert_uint_eq (decoded.n_records, n);
        s_assert_bytes_eq (decoded.records, msg.records);
        zr_busmsg_record_t first = s_record (0);
        zr_busmsg_record_t fields = {.index = decoded.index,
                                     .term = decoded.term,
                                     .subject = decoded.subject,
                                     .payload = decoded.payload};
        s_assert_record_eq (&fields, &first);
        s_assert_run (&decoded, n);
        s_round_trip (&decoded);
        if (n == 1) {
            zr_busmsg_t single = { .type = ZR_BUSMSG_DELIVER, .id = 9,
                                   .index = first.index, .term = first.term,
                                   .subject = first.subject,
                                   .payload = first.payload };
            uint8_t *one;
            size_t one_size = s_encode (&single, &one);
            ck_assert_uint_eq (one_size, size);
            ck_assert_int_eq (memcmp (one, data, size), 0);
            free (one);
            s_assert_run (&single, 1);
        }
        free (data);
        zr_busmsg_run_free (&run);
        ck_assert_ptr_null (run.data);
    }
}
END_TEST

/* zr_busmsg_run_add: full by count (max, capped to 1..RUN_MAX) or by
   bytes (one record of a full subject and payload always fits, alone);
   records that break a rule or the order refused; the run unchanged on
   error; reset keeps or frees the buffer. */
START_TEST (bus_run_add_keeps_the_limits)
{
    zr_busmsg_run_t run = { 0 };
    s_run_fill (&run, 3, 3);
    zr_busmsg_record_t next = s_record (3);
    zr_busmsg_run_t before = run;
    ck_assert_int_eq (zr_busmsg_run_add (&run, &next, 3), ZR_EBUSY);
    ck_assert (memcmp (&run, &before, sizeof run) == 0);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &next, 4), 0);
    zr_busmsg_run_reset (&run, SIZE_MAX);
    ck_assert_ptr_nonnull (run.data);   /* kept */
    ck_assert (run.n == 0 && run.size == 0 && run.bytes == 0);
    s_run_fill (&run, 1, 0);            /* max 0 is 1 */
    ck_assert_int_eq (zr_busmsg_run_add (&run, &next, 0), ZR_EBUSY);
    zr_busmsg_run_reset (&run, 0);
    ck_assert_ptr_null (run.data);      /* freed */
    s_run_fill (&run, ZR_BUSMSG_RUN_MAX, UINT32_MAX);   /* capped */
    next = s_record (ZR_BUSMSG_RUN_MAX);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &next, UINT32_MAX), ZR_EBUSY);
    zr_busmsg_run_reset (&run, 0);
    /* Bytes: a full record alone, then nothing more. */
    zr_busmsg_record_t big = {.index = 5, .term = 1,
                              .subject = s_text (ZR_BUSMSG_SUBJECT_MAX, 1),
                              .payload = s_pattern (ZR_BUSMSG_PAYLOAD_MAX, 0)};
    zr_busmsg_record_t small = {.index = 6, .term = 1, .subject = s_cstr ("a"),
                                .payload = s_pattern (0, 0)};
    ck_assert_int_eq (zr_busmsg_run_add (&run, &big, 2), 0);
    ck_assert_uint_eq (run.bytes, ZR_BUSMSG_RUN_BYTES_MAX);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &small, 2), ZR_EBUSY);
    zr_busmsg_t msg = { .type = ZR_BUSMSG_DELIVER, .id = 1,
                        .n_records = run.n,
                        .records = { run.data, run.size } };
    uint8_t *data;
    size_t size = s_encode (&msg, &data);
    zr_busmsg_t decoded;
    ck_assert_int_eq (zr_busmsg_decode (data, size, &decoded), 0);
    ck_assert_uint_eq (decoded.payload.size, ZR_BUSMSG_PAYLOAD_MAX);
    free (data);
    zr_busmsg_run_reset (&run, 0);
    /* Two halves fit; a byte more does not. */
    size_t half = (ZR_BUSMSG_RUN_BYTES_MAX - 2 * (1 + ZR_BUSMSG_RECORD_OVERHEAD))
                  / 2;
    zr_busmsg_record_t a = {.index = 1, .term = 1, .subject = s_cstr ("a"),
                            .payload = s_pattern (half, 0)};
    zr_busmsg_record_t b = {.index = 2, .term = 1, .subject = s_cstr ("b"),
                            .payload = s_pattern (half, 1)};
    ck_assert_int_eq (zr_busmsg_run_add (&run, &a, 2), 0);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &b, 2), 0);
    zr_busmsg_run_reset (&run, 0);
    b.payload = s_pattern (ZR_BUSMSG_RUN_BYTES_MAX - 2 * (1 + ZR_BUSMSG_RECORD_OVERHEAD)
                           - half + 1, 1);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &a, 2), 0);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &b, 2), ZR_EBUSY);
    zr_busmsg_run_reset (&run, 0);
    /* Rules and order. */
    s_run_fill (&run, 2, 10);           /* indexes 10, 13 */
    before = run;
#define S_BAD(i, t, s, ...) {.index = (i), .term = (t), .subject = s, \
                            .payload = __VA_ARGS__}
    zr_busmsg_record_t bad [] = {
        S_BAD (13, 2, s_cstr ("x"), s_pattern (0, 0)),  /* not above */
        S_BAD (12, 2, s_cstr ("x"), s_pattern (0, 0)),  /* below */
        S_BAD (0, 2, s_cstr ("x"), s_pattern (0, 0)),
        S_BAD (20, 0, s_cstr ("x"), s_pattern (0, 0)),
        S_BAD (20, 2, s_cstr (""), s_pattern (0, 0)),
        S_BAD (20, 2, s_bytes ("a\0b", 3), s_pattern (0, 0)),
        S_BAD (20, 2, s_bytes (NULL, 2), s_pattern (0, 0)),
        S_BAD (20, 2, s_text (ZR_BUSMSG_SUBJECT_MAX + 1, 0), s_pattern (0, 0)),
        S_BAD (20, 2, s_cstr ("x"), s_pattern (ZR_BUSMSG_PAYLOAD_MAX + 1, 0)),
        S_BAD (20, 2, s_cstr ("x"), s_bytes (NULL, 4)),
    };
#undef S_BAD
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        ck_assert_msg (zr_busmsg_run_add (&run, &bad [i], 10) == ZR_EINVAL,
                       "bad record %zu", i);
        ck_assert (memcmp (&run, &before, sizeof run) == 0);
    }
    zr_busmsg_run_free (&run);
}
END_TEST

/* Every way a DELIVER's run can be wrong is refused: the element count
   (no record, a record cut, more than RUN_MAX records: ZR_ETOOBIG),
   each record's field types and limits, the run's bytes (ZR_ETOOBIG),
   and the rules (indexes strictly increasing, index and term >= 1, a
   subject without NUL), limits before rules. */
START_TEST (bus_decode_checks_runs)
{
    zr_busmsg_record_t r [4];
    for (uint32_t i = 0; i < 4; i++)
        r [i] = s_record (i);
    ck_assert_int_eq (s_records_rc (r, 4), 0);
    /* Counts. */
    ck_assert_int_eq (s_records_rc (r, 0), ZR_EMALFORMED);
    for (int cut = 1; cut <= 3; cut++) {
        s_frame_t frame;
        zr_busmsg_run_t run = { 0 };
        s_run_fill (&run, 2, 2);
        zr_busmsg_t msg = { .type = ZR_BUSMSG_DELIVER, .id = 9,
                            .n_records = 2,
                            .records = { run.data, run.size } };
        frame.size = s_encode (&msg, &frame.data);
        ck_assert_int_eq (s_edit_rc (frame.data, frame.size,
                                     (uint32_t) (11 - cut), NULL),
                          ZR_EMALFORMED);       /* 3 + 8 - 1 elements */
        msgpack_object one = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                               .via.u64 = 1 };
        ck_assert_int_eq (s_edit_rc (frame.data, frame.size, 11, &one),
                          ZR_EMALFORMED);       /* 3 + 8 + 1 */
        free (frame.data);
        zr_busmsg_run_free (&run);
    }
    {
        static zr_busmsg_record_t many [ZR_BUSMSG_RUN_MAX + 1];
        for (uint32_t i = 0; i <= ZR_BUSMSG_RUN_MAX; i++)
            many [i] = s_record (i);
        ck_assert_int_eq (s_records_rc (many, ZR_BUSMSG_RUN_MAX), 0);
        ck_assert_int_eq (s_records_rc (many, ZR_BUSMSG_RUN_MAX + 1),
                          ZR_ETOOBIG);
    }
    /* Types, field by field of the third record (elements 11..14). */
    {
        zr_busmsg_run_t run = { 0 };
        s_run_fill (&run, 4, 4);
        zr_busmsg_t msg = { .type = ZR_BUSMSG_DELIVER, .id = 9,
                            .n_records = 4,
                            .records = { run.data, run.size } };
        s_frame_t frame;
        frame.size = s_encode (&msg, &frame.data);
        size_t n_candidates;
        const msgpack_object *candidates = mpedit_candidates (&n_candidates);
        msgpack_object_type types [4] = { MSGPACK_OBJECT_POSITIVE_INTEGER,
                                          MSGPACK_OBJECT_POSITIVE_INTEGER,
                                          MSGPACK_OBJECT_STR,
                                          MSGPACK_OBJECT_BIN };
        for (uint32_t f = 0; f < 4; f++)
            for (size_t c = 0; c < n_candidates; c++)
                if (candidates [c].type != types [f])
                    ck_assert_int_eq (s_edit_rc (frame.data, frame.size,
                                                 11 + f, &candidates [c]),
                                      ZR_EMALFORMED);
        /* Limits of the same record's subject and payload. */
        ck_assert_int_eq (s_bytes_rc (&frame, 13, true,
                                      ZR_BUSMSG_SUBJECT_MAX, false), 0);
        ck_assert_int_eq (s_bytes_rc (&frame, 13, true,
                                      ZR_BUSMSG_SUBJECT_MAX + 1, false),
                          ZR_ETOOBIG);
        ck_assert_int_eq (s_bytes_rc (&frame, 13, true, 0, false),
                          ZR_EMALFORMED);
        ck_assert_int_eq (s_bytes_rc (&frame, 13, true, 2, true),
                          ZR_EMALFORMED);       /* a NUL */
        ck_assert_int_eq (s_bytes_rc (&frame, 14, false,
                                      ZR_BUSMSG_PAYLOAD_MAX + 1, false),
                          ZR_ETOOBIG);
        /* The rules: index (element 11 is record 2's, between 13 and
           19), term. */
        ck_assert_int_eq (s_uint_rc (&frame, 11, 14), 0);
        ck_assert_int_eq (s_uint_rc (&frame, 11, 18), 0);
        ck_assert_int_eq (s_uint_rc (&frame, 11, 13), ZR_EMALFORMED);
        ck_assert_int_eq (s_uint_rc (&frame, 11, 19), ZR_EMALFORMED);
        ck_assert_int_eq (s_uint_rc (&frame, 11, 0), ZR_EMALFORMED);
        ck_assert_int_eq (s_uint_rc (&frame, 3, 0), ZR_EMALFORMED);
        ck_assert_int_eq (s_uint_rc (&frame, 12, 0), ZR_EMALFORMED);
        ck_assert_int_eq (s_uint_rc (&frame, 12, UINT64_MAX), 0);
        ck_assert_int_eq (s_uint_rc (&frame, 2, 0), ZR_EMALFORMED);   /* id */
        free (frame.data);
        zr_busmsg_run_free (&run);
    }
    /* The run's bytes: two records over ZR_BUSMSG_RUN_BYTES_MAX though
       the frame is within ZR_BUSMSG_FRAME_MAX. */
    size_t room = ZR_BUSMSG_RUN_BYTES_MAX - 2 * (1 + ZR_BUSMSG_RECORD_OVERHEAD);
    zr_busmsg_record_t two [2] = {
        { .index = 1, .term = 1, .subject = s_cstr ("a"),
          .payload = s_pattern (room / 2, 0) },
        { .index = 2, .term = 1, .subject = s_cstr ("b"),
          .payload = s_pattern (room - room / 2, 1) } };
    ck_assert_int_eq (s_records_rc (two, 2), 0);
    two [1].payload = s_pattern (room - room / 2 + 1, 1);
    ck_assert_int_eq (s_records_rc (two, 2), ZR_ETOOBIG);
    /* Limits before rules: an index out of order before a subject too
       long is still ZR_ETOOBIG. */
    zr_busmsg_record_t mixed [2] = { r [1], r [0] };
    ck_assert_int_eq (s_records_rc (mixed, 2), ZR_EMALFORMED);
    mixed [1].subject = s_text (ZR_BUSMSG_SUBJECT_MAX + 1, 2);
    ck_assert_int_eq (s_records_rc (mixed, 2), ZR_ETOOBIG);
    /* The encoder refuses what the decoder would. */
    zr_busmsg_run_t run = { 0 };
    s_run_fill (&run, 3, 3);
    zr_busmsg_t msg = { .type = ZR_BUSMSG_DELIVER, .id = 9, .n_records = 2,
                        .records = { run.data, run.size } };
    ck_assert_int_eq (s_encode_rc (&msg), ZR_EINVAL);       /* holds 3 */
    msg.n_records = 4;
    ck_assert_int_eq (s_encode_rc (&msg), ZR_EINVAL);
    msg.n_records = ZR_BUSMSG_RUN_MAX + 1;
    ck_assert_int_eq (s_encode_rc (&msg), ZR_EINVAL);
    msg.n_records = 3;
    msg.records.size--;
    ck_assert_int_eq (s_encode_rc (&msg), ZR_EINVAL);
    msg.records = (zr_busmsg_bytes_t) { NULL, 0 };
    ck_assert_int_eq (s_encode_rc (&msg), ZR_EINVAL);
    msg.records = (zr_busmsg_bytes_t) { run.data, run.size };
    msg.id = 0;
    ck_assert_int_eq (s_encode_rc (&msg), ZR_EINVAL);
    msg.id = 9;
    ck_assert_int_eq (s_encode_rc (&msg), 0);
    zr_busmsg_run_free (&run);
}
END_TEST

/* A PUBLISH run's record i (producers and seqs vary; producer 0 with
   seq 0 every fifth). */
static zr_busmsg_record_t
s_publication (uint32_t i)
{
    zr_busmsg_record_t r = s_record (i);
    bool none = i % 5 == 4;
    return (zr_busmsg_record_t) {.subject = r.subject, .payload = r.payload,
                                 .producer = none ? 0 : 1 + i % 3,
                                 .seq = none ? 0 : 100 + i};
}

/* An ACK run's record i (indexes not in order, duplicates mixed in). */
static zr_busmsg_record_t
s_ack (uint32_t i)
{
    return (zr_busmsg_record_t) {.index = i % 4 == 3 ? 5 : 1000 + i,
                                 .term = 3 + i / 100,
                                 .duplicate = i % 4 == 3};
}

/* Packs [1, type, id] and count - 3 raw records of type. */
static int
s_run_rc (int type, uint64_t id, const zr_busmsg_record_t *records,
          uint32_t n)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3 + (type == ZR_BUSMSG_ACK ? 3 : 4) * n);
    msgpack_pack_uint64 (&pk, ZR_BUSMSG_VERSION);
    msgpack_pack_uint64 (&pk, (uint64_t) type);
    msgpack_pack_uint64 (&pk, id);
    for (uint32_t i = 0; i < n; i++) {
        const zr_busmsg_record_t *r = &records [i];
        if (type == ZR_BUSMSG_PUBLISH) {
            msgpack_pack_str_with_body (&pk, r->subject.data, r->subject.size);
            msgpack_pack_bin_with_body (&pk, r->payload.data, r->payload.size);
            msgpack_pack_uint64 (&pk, r->producer);
            msgpack_pack_uint64 (&pk, r->seq);
        }
        else {
            msgpack_pack_uint64 (&pk, r->index);
            msgpack_pack_uint64 (&pk, r->term);
            if (r->duplicate)
                msgpack_pack_true (&pk);
            else
                msgpack_pack_false (&pk);
        }
    }
    int rc = s_rc (out.data, out.size);
    msgpack_sbuffer_destroy (&out);
    return rc;
}

START_TEST (bus_publish_and_ack_runs)
{
    static zr_busmsg_record_t records [ZR_BUSMSG_RUN_MAX + 1];
    for (int type = ZR_BUSMSG_PUBLISH; type <= ZR_BUSMSG_ACK; type++) {
        bool publish = type == ZR_BUSMSG_PUBLISH;
        for (uint32_t i = 0; i <= ZR_BUSMSG_RUN_MAX; i++)
            records [i] = publish ? s_publication (i) : s_ack (i);
        uint32_t sizes [] = {1, 2, 7, ZR_BUSMSG_RUN_MAX};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes [0]; k++) {
            uint32_t n = sizes [k];
            zr_busmsg_run_t run = {.type = (zr_busmsg_type_t) type};
            for (uint32_t i = 0; i < n; i++)
                ck_assert_int_eq (zr_busmsg_run_add (&run, &records [i],
                                                     ZR_BUSMSG_RUN_MAX), 0);
            ck_assert_int_eq (zr_busmsg_run_add (&run, &records [n], n),
                              ZR_EBUSY);
            zr_busmsg_t msg = {.type = (zr_busmsg_type_t) type, .id = 40,
                               .n_records = run.n,
                               .records = {run.data, run.size}};
            uint8_t *data = NULL;
            size_t size = s_encode (&msg, &data);
            ck_assert_int_eq (s_run_rc (type, 40, records, n), 0);
            /* zr_busmsg_run_head + the run's bytes: the same frame. */
            uint8_t head [ZR_BUSMSG_RUN_HEAD_MAX];
            size_t head_size = zr_busmsg_run_head (&run, 40, head);
            ck_assert_uint_gt (head_size, 0);
            ck_assert_uint_eq (head_size + run.size, size);
            ck_assert_int_eq (memcmp (head, data, head_size), 0);
            ck_assert_int_eq (memcmp (run.data, data + head_size, run.size), 0);
            ck_assert_uint_eq (zr_busmsg_run_head (&run, 0, head), 0);
            zr_busmsg_t decoded;
            ck_assert_int_eq (zr_busmsg_decode (data, size, &decoded), 0);
            ck_assert_int_eq (decoded.type, type);
            ck_assert_uint_eq (decoded.id, 40);
            ck_assert_uint_eq (decoded.n_records, n);
            /* The first record's fields, then the walk. */
            ck_assert_uint_eq (decoded.producer, records [0].producer);
            ck_assert_uint_eq (decoded.seq, records [0].seq);
            ck_assert_uint_eq (decoded.index, records [0].index);
            ck_assert_int_eq (decoded.duplicate, records [0].duplicate);
            s_assert_bytes_eq (decoded.subject, records [0].subject);
            zr_busmsg_records_iter_t iter;
            zr_busmsg_records_iter (&decoded, &iter);
            zr_busmsg_record_t got;
            uint32_t i = 0;
            while (zr_busmsg_records_next (&iter, &got)) {
                ck_assert_uint_lt (i, n);
                const zr_busmsg_record_t *want = &records [i++];
                s_assert_record_eq (&got, want);
                ck_assert_uint_eq (got.producer, want->producer);
                ck_assert_uint_eq (got.seq, want->seq);
                ck_assert_int_eq (got.duplicate, want->duplicate);
            }
            ck_assert_uint_eq (i, n);
            /* One record: the same bytes as the message of its fields. */
            if (n == 1) {
                zr_busmsg_t one = {.type = (zr_busmsg_type_t) type, .id = 40,
                                   .subject = records [0].subject,
                                   .payload = records [0].payload,
                                   .producer = records [0].producer,
                                   .seq = records [0].seq,
                                   .index = records [0].index,
                                   .term = records [0].term,
                                   .duplicate = records [0].duplicate};
                uint8_t *alone = NULL;
                size_t alone_size = s_encode (&one, &alone);
                ck_assert_uint_eq (alone_size, size);
                ck_assert_int_eq (memcmp (alone, data, size), 0);
                free (alone);
            }
            free (data);
            /* Reset keeps the type. */
            zr_busmsg_run_reset (&run, 0);
            ck_assert_int_eq (run.type, type);
            ck_assert_uint_eq (run.n, 0);
        }
        /* Counts: one over the limit, and a broken count. */
        ck_assert_int_eq (s_run_rc (type, 40, records, ZR_BUSMSG_RUN_MAX + 1),
                          ZR_ETOOBIG);
        ck_assert_int_eq (s_run_rc (type, 40, records, 0), ZR_EMALFORMED);
        /* The ids of a run stay within 64 bits. */
        ck_assert_int_eq (s_run_rc (type, UINT64_MAX - 1, records, 2), 0);
        ck_assert_int_eq (s_run_rc (type, UINT64_MAX, records, 2),
                          ZR_EMALFORMED);
        ck_assert_int_eq (s_run_rc (type, UINT64_MAX, records, 1), 0);
        zr_busmsg_run_t two = {.type = (zr_busmsg_type_t) type};
        ck_assert_int_eq (zr_busmsg_run_add (&two, &records [0], 2), 0);
        ck_assert_int_eq (zr_busmsg_run_add (&two, &records [1], 2), 0);
        zr_busmsg_t over = {.type = (zr_busmsg_type_t) type, .id = UINT64_MAX,
                            .n_records = 2, .records = {two.data, two.size}};
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (zr_busmsg_encode (&over, &data, &size), ZR_EINVAL);
        uint8_t head [ZR_BUSMSG_RUN_HEAD_MAX];
        ck_assert_uint_eq (zr_busmsg_run_head (&two, UINT64_MAX, head), 0);
        ck_assert_uint_gt (zr_busmsg_run_head (&two, UINT64_MAX - 1, head), 0);
        zr_busmsg_run_free (&two);
        ck_assert_int_eq (two.type, type);
        ck_assert_uint_eq (zr_busmsg_run_head (&two, 1, head), 0);
        ck_assert_ptr_null (two.data);
    }
    /* Each record keeps its type's rules, in a run as alone. */
    zr_busmsg_record_t publications [3] = {s_publication (0), s_publication (1),
                                           s_publication (2)};
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_PUBLISH, 1, publications, 3), 0);
    publications [1].producer = 0;      /* producer 0 with a seq */
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_PUBLISH, 1, publications, 3),
                      ZR_EMALFORMED);
    zr_busmsg_run_t run = {.type = ZR_BUSMSG_PUBLISH};
    ck_assert_int_eq (zr_busmsg_run_add (&run, &publications [1], 3),
                      ZR_EINVAL);
    publications [1] = s_publication (1);
    publications [2].subject = s_cstr ("");
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_PUBLISH, 1, publications, 3),
                      ZR_EMALFORMED);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &publications [2], 3),
                      ZR_EINVAL);
    publications [2].subject = s_text (ZR_BUSMSG_SUBJECT_MAX + 1, 0);
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_PUBLISH, 1, publications, 3),
                      ZR_ETOOBIG);
    /* A PUBLISH run's bytes: two full publications do not fit one. */
    publications [0].payload = s_pattern (ZR_BUSMSG_PAYLOAD_MAX / 2 + 200, 0);
    publications [1].payload = s_pattern (ZR_BUSMSG_PAYLOAD_MAX / 2 + 200, 1);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &publications [0], 3), 0);
    ck_assert_int_eq (zr_busmsg_run_add (&run, &publications [1], 3), ZR_EBUSY);
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_PUBLISH, 1, publications, 2),
                      ZR_ETOOBIG);
    zr_busmsg_run_free (&run);
    zr_busmsg_record_t acks [2] = {s_ack (0), s_ack (1)};
    acks [1].term = 0;
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_ACK, 1, acks, 2), ZR_EMALFORMED);
    run = (zr_busmsg_run_t) {.type = ZR_BUSMSG_ACK};
    ck_assert_int_eq (zr_busmsg_run_add (&run, &acks [1], 2), ZR_EINVAL);
    acks [1] = s_ack (1);
    acks [0].index = 0;
    ck_assert_int_eq (s_run_rc (ZR_BUSMSG_ACK, 1, acks, 2), ZR_EMALFORMED);
    zr_busmsg_run_free (&run);
}
END_TEST

START_TEST (bus_names_and_directions)
{
    ck_assert_str_eq (zr_busmsg_type_name (ZR_BUSMSG_PUBLISH), "PUBLISH");
    ck_assert_str_eq (zr_busmsg_type_name (ZR_BUSMSG_HEARTBEAT),
                      "HEARTBEAT");
    ck_assert_str_eq (zr_busmsg_type_name (0), "?");
    ck_assert_str_eq (zr_busmsg_type_name (ZR_BUSMSG_TYPE_MAX + 1), "?");
    ck_assert_str_eq (zr_busmsg_code_name (ZR_BUSMSG_CODE_BUSY), "BUSY");
    ck_assert_str_eq (zr_busmsg_code_name (ZR_BUSMSG_CODE_MALFORMED), "MALFORMED");
    ck_assert_str_eq (zr_busmsg_code_name (0), "?");
    int both = 0;
    for (int t = 1; t <= ZR_BUSMSG_TYPE_MAX; t++) {
        bool c = zr_busmsg_from_client (t), s = zr_busmsg_from_server (t);
        ck_assert (c || s);
        both += c && s;
    }
    ck_assert_int_eq (both, 1);             /* HEARTBEAT */
    ck_assert (zr_busmsg_from_client (ZR_BUSMSG_HEARTBEAT));
    ck_assert (!zr_busmsg_from_client (0) && !zr_busmsg_from_server (0));
    ck_assert (!zr_busmsg_from_server (ZR_BUSMSG_TYPE_MAX + 1));
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("bus_codec");
    TCase *tc = tcase_create ("bus_msg_encode");
    tcase_add_test (tc, bus_encode_round_trips_every_type);
    tcase_add_test (tc, bus_encode_round_trips_limits);
    tcase_add_test (tc, bus_encode_refuses_broken_rules);
    tcase_add_test (tc, bus_encode_writes_the_worked_example);
    suite_add_tcase (s, tc);
    tc = tcase_create ("bus_msg_decode");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, bus_decode_rejects_every_truncation);
    tcase_add_test (tc, bus_decode_rejects_trailing_bytes);
    tcase_add_test (tc, bus_decode_checks_size_and_version);
    tcase_add_test (tc, bus_decode_checks_the_walk);
    tcase_add_test (tc, bus_decode_rejects_wrong_field_counts);
    tcase_add_test (tc, bus_decode_rejects_wrong_field_types);
    tcase_add_test (tc, bus_decode_accepts_signed_formats);
    tcase_add_test (tc, bus_decode_rejects_unknown_types);
    tcase_add_test (tc, bus_decode_checks_limits);
    tcase_add_test (tc, bus_decode_checks_rules);
    tcase_add_test (tc, bus_decode_keeps_the_head_on_error);
    tcase_add_test (tc, bus_decode_survives_mutations);
    suite_add_tcase (s, tc);
    tc = tcase_create ("bus_cursors");
    tcase_add_test (tc, bus_decode_checks_the_cursors_map);
    tcase_add_test (tc, bus_cursors_encode_sorts_and_walks);
    tcase_add_test (tc, bus_decode_refuses_too_many_cursors);
    tcase_add_test (tc, bus_names_and_directions);
    suite_add_tcase (s, tc);
    tc = tcase_create ("bus_runs");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, bus_deliver_runs_round_trip);
    tcase_add_test (tc, bus_run_add_keeps_the_limits);
    tcase_add_test (tc, bus_decode_checks_runs);
    tcase_add_test (tc, bus_publish_and_ack_runs);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return check_run (s_suite ());
}
