/*  =========================================================================
    test_client_codec - unit tests of transport/client: the client
    protocol's requests and replies, round trips and hostile frames

    Every rule of client.h has a test here: a round trip of every request
    and reply type with every code, every limit at and over, truncation
    at every byte, trailing bytes, the version, field counts and types
    (every field of every frame swapped for every other msgpack type),
    the semantic rules, the decoder's precedence, what a failed decode
    still says (request_id, type), plus a seeded mutation loop (ZR_SEED
    overrides the seed; failures print it). The worked example of
    docs/PROTOCOL.md is checked byte for byte.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "../lib/mpedit.h"

#include "transport.h"

#define S_SEED_DEFAULT 0xc11e27c0dec0ffeeULL
#define S_MUTATIONS 20000
#define S_FIELDS_MAX 16                 /* fields in any frame (STATUS: 15) */

//  --------------------------------------------------------------------------
//  Helpers: values

/* size bytes of a pattern that depends on seed (size <= VALUE_MAX + 1). */
static zr_client_bytes_t
s_pattern (size_t size, uint8_t seed)
{
    static uint8_t buf [4][ZR_CLIENT_VALUE_MAX + 1];
    zr_assert (size <= ZR_CLIENT_VALUE_MAX + 1);
    uint8_t *data = buf [seed % 4];
    for (size_t i = 0; i < size; i++)
        data [i] = (uint8_t) (i * 31 + seed);
    return (zr_client_bytes_t) { size ? data : NULL, size };
}

/* A str of size characters 'a'.. (no NUL), from a buffer per seed
   (< 16). */
static zr_client_bytes_t
s_text (size_t size, uint8_t seed)
{
    static uint8_t buf [16][ZR_CLIENT_MESSAGE_MAX + 1];
    zr_assert (size <= ZR_CLIENT_MESSAGE_MAX + 1 && seed < 16);
    uint8_t *data = buf [seed];
    for (size_t i = 0; i < size; i++)
        data [i] = (uint8_t) ('a' + (i + seed) % 26);
    return (zr_client_bytes_t) { size ? data : NULL, size };
}

static zr_client_bytes_t
s_cstr (const char *text)
{
    return (zr_client_bytes_t) { (const uint8_t *) text, strlen (text) };
}

/* Returns a valid request of type whose numbers need every integer width. */
static zr_client_request_t
s_request (zr_client_type_t type)
{
    zr_client_request_t request = {
        .type = type, .request_id = (1ULL << 40) + type
    };
    if (type == ZR_CLIENT_PUT || type == ZR_CLIENT_DEL
    ||  type == ZR_CLIENT_CAS) {
        request.client_id = 0x9f3c1d2e4b5a6978ULL;
        request.seq = 70000;
    }
    if (type <= ZR_CLIENT_CAS)
        request.key = s_pattern (5, 1);
    if (type == ZR_CLIENT_PUT || type == ZR_CLIENT_CAS)
        request.value = s_pattern (300, 2);
    if (type == ZR_CLIENT_CAS)
        request.old = s_pattern (40, 3);
    if (type == ZR_CLIENT_GET)
        request.stale = true;
    if (type == ZR_CLIENT_TRANSFER)
        request.to = 3;
    if (type == ZR_CLIENT_FAULT) {
        request.peer = 2;
        request.cut = true;
        request.drop_ppm = 250000;
        request.delay_ms = 300;
    }
    return request;
}

/* Fills a STATUS reply's fields with n members (the server is member 1). */
static void
s_status_fill (zr_client_reply_t *reply, uint32_t n, size_t name_size,
               size_t endpoint_size)
{
    reply->name = s_text (name_size, 0);
    reply->id = 1;
    reply->role = 2;
    reply->term = 1ULL << 33;
    reply->leader = 1;
    reply->commit = 70000;
    reply->applied = 65536;
    reply->first_index = 255;
    reply->last_index = 70001;
    reply->snapshot_index = 254;
    reply->health = s_text (name_size, 4);
    reply->n_members = n;
    for (uint32_t i = 0; i < n; i++) {
        zr_client_member_t *member = &reply->members [i];
        member->id = i + 1;
        member->name = s_text (name_size, (uint8_t) i);
        member->peer_endpoint = s_text (endpoint_size, 1);
        member->client_endpoint = i % 3 == 2 ? s_text (0, 0)
                                             : s_text (endpoint_size, 2);
        member->bus_endpoint = i % 4 == 3 ? s_text (0, 0)
                                          : s_text (endpoint_size, 3);
    }
}

/* Returns a valid reply of type with code OK. */
static zr_client_reply_t
s_reply_ok (zr_client_type_t type)
{
    zr_client_reply_t reply = {
        .type = type, .request_id = UINT64_MAX - type, .code = ZR_CLIENT_OK
    };
    if (type == ZR_CLIENT_PUT || type == ZR_CLIENT_DEL
    ||  type == ZR_CLIENT_CAS)
        reply.index = 1ULL << 40;
    if (type == ZR_CLIENT_GET) {
        reply.found = true;
        reply.value = s_pattern (70000, 4);
    }
    if (type == ZR_CLIENT_CAS)
        reply.swapped = true;
    if (type == ZR_CLIENT_STATUS)
        s_status_fill (&reply, 3, 2, 20);
    return reply;
}

/* Returns a valid reply of type with error code (not OK). */
static zr_client_reply_t
s_reply_error (zr_client_type_t type, zr_client_code_t code)
{
    zr_client_reply_t reply = {
        .type = type, .request_id = 300 + type, .code = code, .leader = 2,
        .leader_endpoint = s_cstr ("tcp://127.0.0.1:7102"),
        .message = s_cstr ("not the leader")
    };
    return reply;
}

//  --------------------------------------------------------------------------
//  Helpers: comparing, encoding, decoding

static void
s_assert_bytes_eq (zr_client_bytes_t a, zr_client_bytes_t b)
{
    ck_assert_uint_eq (a.size, b.size);
    if (a.size > 0)
        ck_assert_int_eq (memcmp (a.data, b.data, a.size), 0);
    else
        ck_assert_ptr_null (b.data);
}

/* Asserts that b (decoded) carries what a (encoded) does: the fields of
   a's type, zero in the others. */
static void
s_assert_request_eq (const zr_client_request_t *a, const zr_client_request_t *b)
{
    zr_client_type_t t = a->type;
    bool session = t == ZR_CLIENT_PUT || t == ZR_CLIENT_DEL
                   || t == ZR_CLIENT_CAS;
    ck_assert_int_eq (a->type, b->type);
    ck_assert_uint_eq (a->request_id, b->request_id);
    ck_assert_uint_eq (session ? a->client_id : 0, b->client_id);
    ck_assert_uint_eq (session ? a->seq : 0, b->seq);
    s_assert_bytes_eq (t <= ZR_CLIENT_CAS ? a->key : s_pattern (0, 0), b->key);
    s_assert_bytes_eq (t == ZR_CLIENT_PUT || t == ZR_CLIENT_CAS
                       ? a->value : s_pattern (0, 0), b->value);
    s_assert_bytes_eq (t == ZR_CLIENT_CAS ? a->old : s_pattern (0, 0), b->old);
    ck_assert_int_eq (t == ZR_CLIENT_GET && a->stale, b->stale);
    ck_assert_uint_eq (t == ZR_CLIENT_TRANSFER ? a->to : 0, b->to);
    bool fault = t == ZR_CLIENT_FAULT;
    ck_assert_uint_eq (fault ? a->peer : 0, b->peer);
    ck_assert_int_eq (fault && a->cut, b->cut);
    ck_assert_uint_eq (fault ? a->drop_ppm : 0, b->drop_ppm);
    ck_assert_uint_eq (fault ? a->delay_ms : 0, b->delay_ms);
}

static void
s_assert_status_eq (const zr_client_reply_t *a, const zr_client_reply_t *b)
{
    s_assert_bytes_eq (a->name, b->name);
    ck_assert_uint_eq (a->id, b->id);
    ck_assert_uint_eq (a->role, b->role);
    ck_assert_uint_eq (a->term, b->term);
    ck_assert_uint_eq (a->commit, b->commit);
    ck_assert_uint_eq (a->applied, b->applied);
    ck_assert_uint_eq (a->first_index, b->first_index);
    ck_assert_uint_eq (a->last_index, b->last_index);
    ck_assert_uint_eq (a->snapshot_index, b->snapshot_index);
    s_assert_bytes_eq (a->health, b->health);
    ck_assert_uint_eq (a->n_members, b->n_members);
    for (uint32_t i = 0; i < a->n_members; i++) {
        ck_assert_uint_eq (a->members [i].id, b->members [i].id);
        s_assert_bytes_eq (a->members [i].name, b->members [i].name);
        s_assert_bytes_eq (a->members [i].peer_endpoint,
                           b->members [i].peer_endpoint);
        s_assert_bytes_eq (a->members [i].client_endpoint,
                           b->members [i].client_endpoint);
        s_assert_bytes_eq (a->members [i].bus_endpoint,
                           b->members [i].bus_endpoint);
    }
}

/* As s_assert_request_eq, for replies. */
static void
s_assert_reply_eq (const zr_client_reply_t *a, const zr_client_reply_t *b)
{
    ck_assert_int_eq (a->type, b->type);
    ck_assert_uint_eq (a->request_id, b->request_id);
    ck_assert_int_eq (a->code, b->code);
    bool ok = a->code == ZR_CLIENT_OK;
    zr_client_type_t t = a->type;
    bool indexed = ok && (t == ZR_CLIENT_PUT || t == ZR_CLIENT_DEL
                          || t == ZR_CLIENT_CAS);
    ck_assert_uint_eq (indexed ? a->index : 0, b->index);
    ck_assert_int_eq (ok && t == ZR_CLIENT_GET && a->found, b->found);
    ck_assert_int_eq (ok && t == ZR_CLIENT_CAS && a->swapped, b->swapped);
    s_assert_bytes_eq (ok && t == ZR_CLIENT_GET ? a->value : s_pattern (0, 0),
                       b->value);
    bool status = ok && t == ZR_CLIENT_STATUS;
    ck_assert_uint_eq (status || !ok ? a->leader : 0, b->leader);
    if (status)
        s_assert_status_eq (a, b);
    else {
        ck_assert_uint_eq (b->n_members, 0);
        ck_assert_uint_eq (b->name.size + b->id + b->role + b->term, 0);
    }
    s_assert_bytes_eq (ok ? s_pattern (0, 0) : a->leader_endpoint,
                       b->leader_endpoint);
    s_assert_bytes_eq (ok ? s_pattern (0, 0) : a->message, b->message);
}

/* Encodes request, asserting success; the caller frees *data. */
static size_t
s_request_encode (const zr_client_request_t *request, uint8_t **data)
{
    size_t size = 0;
    ck_assert_int_eq (zr_client_request_encode (request, data, &size), 0);
    ck_assert_ptr_nonnull (*data);
    ck_assert_uint_le (size, ZR_CLIENT_FRAME_MAX);
    return size;
}

static size_t
s_reply_encode (const zr_client_reply_t *reply, uint8_t **data)
{
    size_t size = 0;
    ck_assert_int_eq (zr_client_reply_encode (reply, data, &size), 0);
    ck_assert_ptr_nonnull (*data);
    ck_assert_uint_le (size, ZR_CLIENT_FRAME_MAX);
    return size;
}

/* Encodes, decodes and compares request. */
static void
s_request_round_trip (const zr_client_request_t *request)
{
    uint8_t *data;
    size_t size = s_request_encode (request, &data);
    zr_client_request_t copy;
    ck_assert_int_eq (zr_client_request_decode (data, size, &copy), 0);
    s_assert_request_eq (request, &copy);
    free (data);
}

static void
s_reply_round_trip (const zr_client_reply_t *reply)
{
    uint8_t *data;
    size_t size = s_reply_encode (reply, &data);
    zr_client_reply_t copy;
    ck_assert_int_eq (zr_client_reply_decode (data, size, &copy), 0);
    s_assert_reply_eq (reply, &copy);
    free (data);
}

/* Returns the request encoder's result, freeing any frame. */
static int
s_request_encode_rc (const zr_client_request_t *request)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_client_request_encode (request, &data, &size);
    ck_assert (rc == 0 ? data != NULL : data == NULL && size == 0);
    free (data);
    return rc;
}

static int
s_reply_encode_rc (const zr_client_reply_t *reply)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = zr_client_reply_encode (reply, &data, &size);
    ck_assert (rc == 0 ? data != NULL : data == NULL && size == 0);
    free (data);
    return rc;
}

static int
s_request_rc (const void *data, size_t size)
{
    zr_client_request_t request;
    return zr_client_request_decode ((const uint8_t *) data, size, &request);
}

static int
s_reply_rc (const void *data, size_t size)
{
    zr_client_reply_t reply;
    return zr_client_reply_decode ((const uint8_t *) data, size, &reply);
}

/* One frame of every request type and of every reply type and code. */
#define S_REQUESTS ZR_CLIENT_TYPE_MAX
#define S_REPLIES (ZR_CLIENT_TYPE_MAX * (ZR_CLIENT_CODE_MAX + 1) + 2)

typedef struct {
    uint8_t *data;                      /* the frame, malloc'd */
    size_t size;
    bool request;                       /* a request (else a reply) */
} s_frame_t;

/* Fills frames (S_REQUESTS + S_REPLIES of them) from the encoders. */
static void
s_frames_new (s_frame_t *frames)
{
    size_t n = 0;
    for (int t = 1; t <= ZR_CLIENT_TYPE_MAX; t++) {
        zr_client_request_t request = s_request ((zr_client_type_t) t);
        frames [n].size = s_request_encode (&request, &frames [n].data);
        frames [n++].request = true;
    }
    for (int t = 1; t <= ZR_CLIENT_TYPE_MAX; t++) {
        zr_client_reply_t reply = s_reply_ok ((zr_client_type_t) t);
        if (t == ZR_CLIENT_GET)
            reply.value = s_pattern (20, 4);     /* keeps mutations fast */
        frames [n].size = s_reply_encode (&reply, &frames [n].data);
        frames [n++].request = false;
        for (int c = 1; c <= ZR_CLIENT_CODE_MAX; c++) {
            reply = s_reply_error ((zr_client_type_t) t, (zr_client_code_t) c);
            frames [n].size = s_reply_encode (&reply, &frames [n].data);
            frames [n++].request = false;
        }
    }
    zr_client_reply_t reply = s_reply_error (0, ZR_CLIENT_MALFORMED);
    reply.leader = 0;
    reply.leader_endpoint = s_cstr ("");
    frames [n].size = s_reply_encode (&reply, &frames [n].data);
    frames [n++].request = false;
    reply = s_reply_ok (ZR_CLIENT_STATUS);
    s_status_fill (&reply, ZR_NODES_MAX, 3, 9);
    frames [n].size = s_reply_encode (&reply, &frames [n].data);
    frames [n++].request = false;
    ck_assert_uint_eq (n, S_REQUESTS + S_REPLIES);
}

static void
s_frames_destroy (s_frame_t *frames)
{
    for (size_t i = 0; i < S_REQUESTS + S_REPLIES; i++)
        free (frames [i].data);
}

static int
s_frame_rc (const s_frame_t *frame, const void *data, size_t size)
{
    return frame->request ? s_request_rc (data, size)
                          : s_reply_rc (data, size);
}

/* The result of decoding frame edited as s_frame_edit says. */
static int
s_edit_rc (const s_frame_t *frame, uint32_t at, const msgpack_object *object)
{
    msgpack_sbuffer out;
    mpedit_frame (frame->data, frame->size, at, object, &out);
    int rc = s_frame_rc (frame, out.data, out.size);
    msgpack_sbuffer_destroy (&out);
    return rc;
}

/* Returns the number of elements of frame's top-level array. */
static uint32_t
s_frame_fields (const s_frame_t *frame)
{
    uint8_t byte = frame->data [0];
    if (byte == 0xdc)                   /* array16: STATUS, 16 fields */
        return (uint32_t) frame->data [1] << 8 | frame->data [2];
    ck_assert (byte >= 0x90 && byte <= 0x9f);
    return byte & 0x0f;
}


//  --------------------------------------------------------------------------
//  zr_client_request_encode

/* Every request type survives a round trip, every integer width too. */
START_TEST (client_request_encode_round_trips_every_type)
{
    for (int t = 1; t <= ZR_CLIENT_TYPE_MAX; t++) {
        zr_client_request_t request = s_request ((zr_client_type_t) t);
        s_request_round_trip (&request);
        request.stale = false;
        request.cut = false;
        request.request_id = 0;
        s_request_round_trip (&request);
    }
}
END_TEST

/* Every limit of a request, exactly reached, survives a round trip; the
   largest request (a CAS with key, old and new at their limits) fits
   ZR_CLIENT_FRAME_MAX. */
START_TEST (client_request_encode_round_trips_limits)
{
    zr_client_request_t request = s_request (ZR_CLIENT_CAS);
    request.key = s_pattern (ZR_CLIENT_KEY_MAX, 1);
    request.old = s_pattern (ZR_CLIENT_VALUE_MAX, 2);
    request.value = s_pattern (ZR_CLIENT_VALUE_MAX, 3);
    request.client_id = UINT64_MAX;
    request.seq = UINT64_MAX;
    request.request_id = UINT64_MAX;
    s_request_round_trip (&request);
    request.client_id = request.seq = 1;
    request.key = s_pattern (1, 1);
    request.old = request.value = s_pattern (0, 0);
    s_request_round_trip (&request);
    request = s_request (ZR_CLIENT_PUT);
    request.value = s_pattern (0, 0);
    s_request_round_trip (&request);
    request = s_request (ZR_CLIENT_TRANSFER);
    request.to = 0;
    s_request_round_trip (&request);
    request.to = ZR_NODES_MAX;
    s_request_round_trip (&request);
    request = s_request (ZR_CLIENT_FAULT);
    request.peer = ZR_NODES_MAX;
    request.drop_ppm = 1000000;
    request.delay_ms = 60000;
    s_request_round_trip (&request);
    request.peer = 1;
    request.drop_ppm = request.delay_ms = 0;
    s_request_round_trip (&request);
}
END_TEST

/* A request that breaks a rule is ZR_EINVAL, not an abort, and leaves
   *data and *size alone. */
START_TEST (client_request_encode_refuses_broken_rules)
{
    zr_client_request_t r = s_request (ZR_CLIENT_PUT);
    r.key = s_pattern (ZR_CLIENT_KEY_MAX + 1, 1);
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r.key = s_pattern (0, 1);
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r.key = (zr_client_bytes_t) { NULL, 3 };
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_PUT);
    r.value = s_pattern (ZR_CLIENT_VALUE_MAX + 1, 2);
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_CAS);
    r.old = s_pattern (ZR_CLIENT_VALUE_MAX + 1, 2);
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_DEL);
    r.client_id = 0;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_CAS);
    r.seq = 0;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_GET);
    r.key = s_pattern (0, 1);
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_TRANSFER);
    r.to = ZR_NODES_MAX + 1;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_FAULT);
    r.peer = 0;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r.peer = ZR_NODES_MAX + 1;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_FAULT);
    r.drop_ppm = 1000001;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_FAULT);
    r.delay_ms = 60001;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r = s_request (ZR_CLIENT_STATUS);
    r.type = 0;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    r.type = ZR_CLIENT_TYPE_MAX + 1;
    ck_assert_int_eq (s_request_encode_rc (&r), ZR_EINVAL);
    /* The GET's session fields and a STATUS's key are not carried. */
    r = s_request (ZR_CLIENT_GET);
    ck_assert_int_eq (r.client_id + r.seq, 0);
    ck_assert_int_eq (s_request_encode_rc (&r), 0);
    r = s_request (ZR_CLIENT_STATUS);
    r.key = s_pattern (ZR_CLIENT_KEY_MAX + 1, 1);
    r.peer = 99;
    ck_assert_int_eq (s_request_encode_rc (&r), 0);
}
END_TEST

/* The worked example of docs/PROTOCOL.md, byte for byte: a PUT, its OK
   reply, and a NOT_LEADER reply to it. */
START_TEST (client_encode_writes_the_worked_example)
{
    static const uint8_t put [] = {
        0x97, 0x01, 0x01, 0x07, 0xcf, 0x9f, 0x3c, 0x1d, 0x2e, 0x4b, 0x5a,
        0x69, 0x78, 0x01, 0xc4, 0x01, 'k', 0xc4, 0x02, 'v', '1'
    };
    static const uint8_t ok [] = { 0x95, 0x01, 0x01, 0x07, 0x00, 0x2a };
    static const uint8_t redirect [] = {
        0x97, 0x01, 0x01, 0x07, 0x01, 0x02, 0xb4, 't', 'c', 'p', ':', '/',
        '/', '1', '2', '7', '.', '0', '.', '0', '.', '1', ':', '7', '1', '0',
        '2', 0xae, 'n', 'o', 't', ' ', 't', 'h', 'e', ' ', 'l', 'e', 'a', 'd',
        'e', 'r'
    };
    zr_client_request_t request = {
        .type = ZR_CLIENT_PUT, .request_id = 7,
        .client_id = 0x9f3c1d2e4b5a6978ULL, .seq = 1,
        .key = s_cstr ("k"), .value = s_cstr ("v1")
    };
    uint8_t *data;
    size_t size = s_request_encode (&request, &data);
    ck_assert_uint_eq (size, sizeof put);
    ck_assert_int_eq (memcmp (data, put, size), 0);
    free (data);
    zr_client_reply_t reply = {
        .type = ZR_CLIENT_PUT, .request_id = 7, .code = ZR_CLIENT_OK,
        .index = 42
    };
    size = s_reply_encode (&reply, &data);
    ck_assert_uint_eq (size, sizeof ok);
    ck_assert_int_eq (memcmp (data, ok, size), 0);
    free (data);
    reply = s_reply_error (ZR_CLIENT_PUT, ZR_CLIENT_NOT_LEADER);
    reply.request_id = 7;
    size = s_reply_encode (&reply, &data);
    ck_assert_uint_eq (size, sizeof redirect);
    ck_assert_int_eq (memcmp (data, redirect, size), 0);
    free (data);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_client_reply_encode

/* Every reply type with code OK survives a round trip: GET found or
   not, CAS swapped or not, STATUS with no member and with ZR_NODES_MAX
   members whose names and endpoints are at their limits. */
START_TEST (client_reply_encode_round_trips_every_type)
{
    for (int t = 1; t <= ZR_CLIENT_TYPE_MAX; t++) {
        zr_client_reply_t reply = s_reply_ok ((zr_client_type_t) t);
        s_reply_round_trip (&reply);
    }
    zr_client_reply_t reply = s_reply_ok (ZR_CLIENT_GET);
    reply.value = s_pattern (ZR_CLIENT_VALUE_MAX, 1);
    s_reply_round_trip (&reply);
    reply.found = false;
    reply.value = s_pattern (0, 0);
    s_reply_round_trip (&reply);
    reply.found = true;
    s_reply_round_trip (&reply);            /* found, empty value */
    reply = s_reply_ok (ZR_CLIENT_CAS);
    reply.swapped = false;
    reply.index = 1;
    s_reply_round_trip (&reply);
    reply = s_reply_ok (ZR_CLIENT_STATUS);
    s_status_fill (&reply, 0, 0, 0);
    reply.role = 0;
    reply.leader = 0;
    s_reply_round_trip (&reply);
    s_status_fill (&reply, ZR_NODES_MAX, ZR_CLIENT_NAME_MAX,
                   ZR_CLIENT_ENDPOINT_MAX);
    reply.id = ZR_NODES_MAX;
    reply.leader = ZR_NODES_MAX;
    reply.members [0].id = ZR_NODES_MAX;    /* ids in any order */
    reply.members [ZR_NODES_MAX - 1].id = 1;
    s_reply_round_trip (&reply);
}
END_TEST

/* Every code survives a round trip on every reply type, with and without
   a leader; a MALFORMED reply may have type 0. */
START_TEST (client_reply_encode_round_trips_every_code)
{
    for (int t = 1; t <= ZR_CLIENT_TYPE_MAX; t++)
        for (int c = 1; c <= ZR_CLIENT_CODE_MAX; c++) {
            zr_client_reply_t reply = s_reply_error ((zr_client_type_t) t,
                                                     (zr_client_code_t) c);
            s_reply_round_trip (&reply);
            reply.leader_endpoint = s_cstr ("");
            s_reply_round_trip (&reply);
            reply.leader = 0;
            reply.message = s_text (ZR_CLIENT_MESSAGE_MAX, 3);
            s_reply_round_trip (&reply);
        }
    zr_client_reply_t reply = s_reply_error (0, ZR_CLIENT_MALFORMED);
    reply.request_id = 0;
    reply.leader = ZR_NODES_MAX;
    reply.leader_endpoint = s_text (ZR_CLIENT_ENDPOINT_MAX, 1);
    s_reply_round_trip (&reply);
}
END_TEST

/* A reply that breaks a rule is ZR_EINVAL. */
START_TEST (client_reply_encode_refuses_broken_rules)
{
    zr_client_reply_t r = s_reply_ok (ZR_CLIENT_STATUS);
    r.type = 0;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_error (0, ZR_CLIENT_BUSY);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_error (ZR_CLIENT_TYPE_MAX + 1, ZR_CLIENT_MALFORMED);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_error (ZR_CLIENT_PUT, ZR_CLIENT_CODE_MAX + 1);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_DEL);
    r.index = 0;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_GET);
    r.found = false;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_GET);
    r.value = s_pattern (ZR_CLIENT_VALUE_MAX + 1, 1);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_STATUS);
    r.role = 3;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_STATUS);
    r.members [2].id = r.members [0].id;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_STATUS);
    r.n_members = ZR_NODES_MAX + 1;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_STATUS);
    r.members [1].peer_endpoint = s_text (ZR_CLIENT_ENDPOINT_MAX + 1, 1);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_STATUS);
    r.name = (zr_client_bytes_t) { (const uint8_t *) "n\0", 2 };
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_ok (ZR_CLIENT_STATUS);
    r.health = s_text (ZR_CLIENT_MESSAGE_MAX + 1, 1);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r.health = s_text (ZR_CLIENT_MESSAGE_MAX, 1);
    ck_assert_int_eq (s_reply_encode_rc (&r), 0);
    r = s_reply_error (ZR_CLIENT_GET, ZR_CLIENT_NOT_LEADER);
    r.leader = 0;
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    r = s_reply_error (ZR_CLIENT_GET, ZR_CLIENT_UNKNOWN);
    r.message = s_text (ZR_CLIENT_MESSAGE_MAX + 1, 1);
    ck_assert_int_eq (s_reply_encode_rc (&r), ZR_EINVAL);
    /* An error reply carries no STATUS fields: they are not judged. */
    r = s_reply_error (ZR_CLIENT_STATUS, ZR_CLIENT_BUSY);
    r.n_members = 99;
    r.role = 99;
    ck_assert_int_eq (s_reply_encode_rc (&r), 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_client_request_decode and zr_client_reply_decode: the raw bytes

/* Every proper prefix of every frame is ZR_ETRUNCATED or ZR_ECOUNT (a
   length that claims more than is left), and nothing else. */
START_TEST (client_decode_rejects_every_truncation)
{
    s_frame_t frames [S_REQUESTS + S_REPLIES];
    s_frames_new (frames);
    for (size_t i = 0; i < S_REQUESTS + S_REPLIES; i++) {
        for (size_t size = 0; size < frames [i].size; size++) {
            int rc = s_frame_rc (&frames [i], frames [i].data, size);
            ck_assert_msg (rc == ZR_ETRUNCATED || rc == ZR_ECOUNT,
                           "frame %zu size %zu: rc %d", i, size, rc);
        }
        ck_assert_int_eq (s_frame_rc (&frames [i], frames [i].data,
                                      frames [i].size), 0);
    }
    ck_assert_int_eq (s_request_rc (NULL, 0), ZR_ETRUNCATED);
    ck_assert_int_eq (s_reply_rc (NULL, 0), ZR_ETRUNCATED);
    s_frames_destroy (frames);
}
END_TEST

/* Any byte after a whole frame is ZR_ETRAILING. */
START_TEST (client_decode_rejects_trailing_bytes)
{
    s_frame_t frames [S_REQUESTS + S_REPLIES];
    s_frames_new (frames);
    for (size_t i = 0; i < S_REQUESTS + S_REPLIES; i++) {
        uint8_t *longer = (uint8_t *) malloc (frames [i].size + 2);
        ck_assert_ptr_nonnull (longer);
        memcpy (longer, frames [i].data, frames [i].size);
        longer [frames [i].size] = 0x00;
        longer [frames [i].size + 1] = 0xc1;
        ck_assert_int_eq (s_frame_rc (&frames [i], longer, frames [i].size + 1),
                          ZR_ETRAILING);
        /* A second whole frame after the first is trailing too. */
        ck_assert_int_eq (s_frame_rc (&frames [i], longer, frames [i].size + 2),
                          ZR_ETRAILING);
        free (longer);
    }
    s_frames_destroy (frames);
}
END_TEST

/* A frame of ZR_CLIENT_FRAME_MAX bytes is read; one byte more is
   ZR_ETOOBIG before anything else is looked at. */
START_TEST (client_decode_rejects_oversized_frame)
{
    size_t size = ZR_CLIENT_FRAME_MAX + 1;
    uint8_t *frame = (uint8_t *) malloc (size);
    ck_assert_ptr_nonnull (frame);
    memset (frame, 0xc1, size);
    static const uint8_t status [] = { 0x93, 0x01, 0x05, 0x00 };
    memcpy (frame, status, sizeof status);
    ck_assert_int_eq (s_request_rc (frame, ZR_CLIENT_FRAME_MAX), ZR_ETRAILING);
    ck_assert_int_eq (s_request_rc (frame, size), ZR_ETOOBIG);
    ck_assert_int_eq (s_reply_rc (frame, size), ZR_ETOOBIG);
    frame [1] = 0x02;                       /* another version too */
    ck_assert_int_eq (s_request_rc (frame, size), ZR_ETOOBIG);
    ck_assert_int_eq (s_request_rc (frame, ZR_CLIENT_FRAME_MAX), ZR_EVERSION);
    free (frame);
}
END_TEST

/* A frame of another version is ZR_EVERSION, even if the rest is
   garbage or cut; a version in a signed format is caught by the schema. */
START_TEST (client_decode_rejects_other_versions)
{
    static const uint8_t v2 [] = { 0x93, 0x02, 0x05, 0x00 };
    static const uint8_t v0 [] = { 0x93, 0x00, 0x05, 0x00 };
    static const uint8_t v2_garbage [] = { 0x93, 0x02, 0xc1 };
    static const uint8_t v2_cut [] = { 0xdc, 0x00, 0x03, 0x02 };
    static const uint8_t wide [] = { 0x93, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1,
                                     0x05, 0x00 };
    static const uint8_t wide_v2 [] = { 0x93, 0xcf, 1, 0, 0, 0, 0, 0, 0, 1,
                                        0x05, 0x00 };
    static const uint8_t int8_v2 [] = { 0x93, 0xd0, 0x02, 0x05, 0x00 };
    static const uint8_t int8_v1 [] = { 0x93, 0xd0, 0x01, 0x05, 0x00 };
    static const uint8_t reply_v3 [] = { 0x94, 0x03, 0x05, 0x00, 0x00 };
    ck_assert_int_eq (s_request_rc (v2, sizeof v2), ZR_EVERSION);
    ck_assert_int_eq (s_request_rc (v0, sizeof v0), ZR_EVERSION);
    ck_assert_int_eq (s_request_rc (v2_garbage, sizeof v2_garbage),
                      ZR_EVERSION);
    ck_assert_int_eq (s_request_rc (v2_cut, sizeof v2_cut), ZR_EVERSION);
    ck_assert_int_eq (s_request_rc (wide, sizeof wide), 0);
    ck_assert_int_eq (s_request_rc (wide_v2, sizeof wide_v2), ZR_EVERSION);
    ck_assert_int_eq (s_request_rc (int8_v2, sizeof int8_v2), ZR_EVERSION);
    ck_assert_int_eq (s_request_rc (int8_v1, sizeof int8_v1), 0);
    ck_assert_int_eq (s_reply_rc (reply_v3, sizeof reply_v3), ZR_EVERSION);
    ck_assert_int_eq (s_reply_rc (v2_garbage, sizeof v2_garbage), ZR_EVERSION);
}
END_TEST

/* The walk's limits: counts beyond the bytes (ZR_ECOUNT), more than
   ZR_CLIENT_OBJECTS_MAX objects (ZR_ETOOBIG), nesting deeper than
   ZR_CLIENT_DEPTH_MAX or the reserved byte 0xc1 (ZR_EMALFORMED). */
START_TEST (client_decode_checks_the_walk)
{
    static const uint8_t huge_array [] = { 0xdd, 0xff, 0xff, 0xff, 0xff,
                                           0x01, 0x05, 0x00 };
    static const uint8_t huge_bin [] = { 0x97, 0x01, 0x02, 0x01, 0xc6, 0xff,
                                         0xff, 0xff, 0xff, 0x00 };
    static const uint8_t reserved [] = { 0x93, 0x01, 0x05, 0xc1 };
    static const uint8_t depth3 [] = { 0x94, 0x01, 0x05, 0x00, 0x91, 0x91,
                                       0xc0 };
    static const uint8_t depth4 [] = { 0x94, 0x01, 0x05, 0x00, 0x91, 0x91,
                                       0x91, 0xc0 };
    ck_assert_int_eq (s_request_rc (huge_array, sizeof huge_array), ZR_ECOUNT);
    ck_assert_int_eq (s_request_rc (huge_bin, sizeof huge_bin), ZR_ECOUNT);
    ck_assert_int_eq (s_request_rc (reserved, sizeof reserved), ZR_EMALFORMED);
    /* Three levels pass the walk (and fail the schema), four do not. */
    ck_assert_int_eq (s_request_rc (depth3, sizeof depth3), ZR_EMALFORMED);
    ck_assert_int_eq (s_request_rc (depth4, sizeof depth4), ZR_EMALFORMED);
    ck_assert_int_eq (zr_msgpack_walk (depth3, sizeof depth3,
                                       ZR_CLIENT_DEPTH_MAX,
                                       ZR_CLIENT_OBJECTS_MAX), 0);
    ck_assert_int_eq (zr_msgpack_walk (depth4, sizeof depth4,
                                       ZR_CLIENT_DEPTH_MAX,
                                       ZR_CLIENT_OBJECTS_MAX), ZR_EMALFORMED);
    /* A STATUS request padded to exactly ZR_CLIENT_OBJECTS_MAX objects
       passes the walk (wrong count), one more object does not. */
    uint8_t frame [3 + ZR_CLIENT_OBJECTS_MAX + 1] = { 0xdc, 0x00,
                                                     ZR_CLIENT_OBJECTS_MAX,
                                                     0x01, 0x05, 0x00 };
    ck_assert_int_eq (s_request_rc (frame, 3 + ZR_CLIENT_OBJECTS_MAX),
                      ZR_EMALFORMED);
    frame [2]++;
    ck_assert_int_eq (s_request_rc (frame, sizeof frame), ZR_ETOOBIG);
}
END_TEST

/* The precedence of client.h: size, version, walk, schema (in field
   order), then the semantic rules. */
START_TEST (client_decode_follows_precedence)
{
    zr_client_request_t r = s_request (ZR_CLIENT_PUT);
    r.key = s_pattern (ZR_CLIENT_KEY_MAX, 1);
    uint8_t *data;
    size_t size = s_request_encode (&r, &data);
    s_frame_t frame = { data, size, true };
    /* Schema before semantics: a key over its limit (ZR_ETOOBIG) and a
       client_id 0 (a semantic rule). */
    msgpack_object zero = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
    msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
    uint8_t key [ZR_CLIENT_KEY_MAX + 1] = { 0 };
    msgpack_object big_key = { .type = MSGPACK_OBJECT_BIN,
                               .via.bin = { sizeof key, (const char *) key } };
    msgpack_sbuffer out, out2;
    mpedit_frame (data, size, 5, &big_key, &out);
    s_frame_t edited = { (uint8_t *) out.data, out.size, true };
    ck_assert_int_eq (s_edit_rc (&edited, 3, &zero), ZR_ETOOBIG);
    /* In field order: a value of the wrong type after the big key is
       still ZR_ETOOBIG; a client_id of the wrong type before it wins. */
    ck_assert_int_eq (s_edit_rc (&edited, 6, &nil), ZR_ETOOBIG);
    ck_assert_int_eq (s_edit_rc (&edited, 3, &nil), ZR_EMALFORMED);
    /* Walk before schema: the same frame with a byte more. */
    mpedit_frame (edited.data, edited.size, 3, &nil, &out2);
    msgpack_sbuffer_write (&out2, "", 1);
    ck_assert_int_eq (s_request_rc (out2.data, out2.size), ZR_ETRAILING);
    msgpack_sbuffer_destroy (&out2);
    msgpack_sbuffer_destroy (&out);
    ck_assert_int_eq (s_edit_rc (&frame, 3, &zero), ZR_EMALFORMED);
    free (data);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_client_request_decode and zr_client_reply_decode: schema

/* A field count other than the type's (and code's) is ZR_EMALFORMED:
   one field more or less, on every frame. */
START_TEST (client_decode_rejects_wrong_field_counts)
{
    s_frame_t frames [S_REQUESTS + S_REPLIES];
    s_frames_new (frames);
    msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
    msgpack_object one = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                           .via.u64 = 1 };
    for (size_t i = 0; i < S_REQUESTS + S_REPLIES; i++) {
        uint32_t n = s_frame_fields (&frames [i]);
        ck_assert_int_eq (s_edit_rc (&frames [i], n, &nil), ZR_EMALFORMED);
        ck_assert_int_eq (s_edit_rc (&frames [i], n, &one), ZR_EMALFORMED);
        /* An OK STATUS without its last field, health, is the shape
           servers wrote before it was added: taken, health "". */
        bool status = n == 16;
        ck_assert_int_eq (s_edit_rc (&frames [i], n - 1, NULL),
                          status ? 0 : ZR_EMALFORMED);
        if (status) {
            ck_assert_int_eq (s_edit_rc (&frames [i], n - 2, NULL), ZR_EMALFORMED);
            msgpack_sbuffer out;
            mpedit_frame (frames [i].data, frames [i].size, n - 1, NULL, &out);
            zr_client_reply_t old;
            ck_assert_int_eq (zr_client_reply_decode ((const uint8_t *) out.data,
                                                      out.size, &old), 0);
            ck_assert_uint_eq (old.health.size, 0);
            ck_assert_uint_gt (old.n_members, 0);
            msgpack_sbuffer_destroy (&out);
            zr_client_reply_t now;
            ck_assert_int_eq (zr_client_reply_decode (frames [i].data,
                                                      frames [i].size, &now), 0);
            ck_assert_uint_gt (now.health.size, 0);
        }
    }
    /* Shorter than any head. */
    static const uint8_t two [] = { 0x92, 0x01, 0x05 };
    static const uint8_t three [] = { 0x93, 0x01, 0x05, 0x00 };
    static const uint8_t empty [] = { 0x90 };
    ck_assert_int_eq (s_request_rc (two, sizeof two), ZR_EMALFORMED);
    ck_assert_int_eq (s_reply_rc (three, sizeof three), ZR_EMALFORMED);
    ck_assert_int_eq (s_request_rc (empty, sizeof empty), ZR_EMALFORMED);
    ck_assert_int_eq (s_reply_rc (empty, sizeof empty), ZR_EMALFORMED);
    s_frames_destroy (frames);
}
END_TEST


/* Every field of every frame, swapped for an object of any other
   msgpack type, is ZR_EMALFORMED. */
START_TEST (client_decode_rejects_wrong_field_types)
{
    s_frame_t frames [S_REQUESTS + S_REPLIES];
    s_frames_new (frames);
    size_t n_candidates;
    const msgpack_object *candidates = mpedit_candidates (&n_candidates);
    size_t edits = 0;
    for (size_t i = 0; i < S_REQUESTS + S_REPLIES; i++) {
        msgpack_unpacked result;
        msgpack_unpacked_init (&result);
        size_t offset = 0;
        ck_assert_int_eq (msgpack_unpack_next (&result,
                                               (const char *) frames [i].data,
                                               frames [i].size, &offset),
                          MSGPACK_UNPACK_SUCCESS);
        msgpack_object_array array = result.data.via.array;
        for (uint32_t f = 0; f < array.size; f++)
            for (size_t c = 0; c < n_candidates; c++) {
                if (candidates [c].type == array.ptr [f].type)
                    continue;
                int rc = s_edit_rc (&frames [i], f, &candidates [c]);
                ck_assert_msg (rc == ZR_EMALFORMED,
                               "frame %zu field %u type %d: rc %d", i, f,
                               candidates [c].type, rc);
                edits++;
            }
        msgpack_unpacked_destroy (&result);
    }
    ck_assert_uint_gt (edits, 1000);
    s_frames_destroy (frames);
}
END_TEST

/* Every field of a STATUS member, swapped for another type, and a member
   of 3 or 6 fields are ZR_EMALFORMED; one of 4 (a server from before the
   bus endpoint) decodes with an empty bus endpoint. */
START_TEST (client_reply_decode_rejects_bad_members)
{
    zr_client_reply_t reply = s_reply_ok (ZR_CLIENT_STATUS);
    uint8_t *data;
    size_t size = s_reply_encode (&reply, &data);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    ck_assert_int_eq (msgpack_unpack_next (&result, (const char *) data, size,
                                           &offset), MSGPACK_UNPACK_SUCCESS);
    msgpack_object *members = &result.data.via.array.ptr [14];
    ck_assert_int_eq (members->type, MSGPACK_OBJECT_ARRAY);
    msgpack_object *member = &members->via.array.ptr [1];
    s_frame_t frame = { data, size, false };
    size_t n_candidates;
    const msgpack_object *candidates = mpedit_candidates (&n_candidates);
    for (uint32_t f = 0; f < 5; f++)
        for (size_t c = 0; c < n_candidates; c++) {
            msgpack_object saved = member->via.array.ptr [f];
            if (candidates [c].type == saved.type)
                continue;
            member->via.array.ptr [f] = candidates [c];
            ck_assert_int_eq (s_edit_rc (&frame, 14, members), ZR_EMALFORMED);
            member->via.array.ptr [f] = saved;
        }
    member->via.array.size = 3;
    ck_assert_int_eq (s_edit_rc (&frame, 14, members), ZR_EMALFORMED);
    msgpack_object fields [6];
    memcpy (fields, member->via.array.ptr, 5 * sizeof fields [0]);
    fields [5] = fields [4];
    member->via.array.ptr = fields;
    member->via.array.size = 6;
    ck_assert_int_eq (s_edit_rc (&frame, 14, members), ZR_EMALFORMED);
    member->via.array.size = 5;
    ck_assert_int_eq (s_edit_rc (&frame, 14, members), 0);
    /* Four fields: the bus endpoint (set in the frame) reads as "". */
    ck_assert_uint_gt (fields [4].via.str.size, 0);
    member->via.array.size = 4;
    msgpack_sbuffer out;
    mpedit_frame (frame.data, frame.size, 14, members, &out);
    zr_client_reply_t decoded;
    ck_assert_int_eq (zr_client_reply_decode ((const uint8_t *) out.data,
                                              out.size, &decoded), 0);
    ck_assert_uint_eq (decoded.members [1].bus_endpoint.size, 0);
    ck_assert_uint_gt (decoded.members [1].client_endpoint.size, 0);
    msgpack_sbuffer_destroy (&out);
    msgpack_unpacked_destroy (&result);
    free (data);
}
END_TEST

/* Integers in signed formats holding a value >= 0 are read (some packers
   write every integer as int64); the encoder writes the smallest form. */
START_TEST (client_decode_accepts_signed_formats)
{
    static const uint8_t transfer [] = { 0x94, 0xd0, 0x01, 0xd1, 0x00, 0x06,
                                         0xd3, 0, 0, 0, 0, 0, 0, 0, 9,
                                         0xd2, 0, 0, 0, 3 };
    zr_client_request_t request;
    ck_assert_int_eq (zr_client_request_decode (transfer, sizeof transfer,
                                                &request), 0);
    ck_assert_int_eq (request.type, ZR_CLIENT_TRANSFER);
    ck_assert_uint_eq (request.request_id, 9);
    ck_assert_uint_eq (request.to, 3);
    uint8_t *data;
    size_t size = s_request_encode (&request, &data);
    static const uint8_t canonical [] = { 0x94, 0x01, 0x06, 0x09, 0x03 };
    ck_assert_uint_eq (size, sizeof canonical);
    ck_assert_int_eq (memcmp (data, canonical, size), 0);
    free (data);
}
END_TEST

/* Types other than 1..ZR_CLIENT_TYPE_MAX (0 too, in a request or in an
   OK reply) and codes over ZR_CLIENT_CODE_MAX are ZR_EMALFORMED. */
START_TEST (client_decode_rejects_unknown_types_and_codes)
{
    zr_client_request_t request = s_request (ZR_CLIENT_STATUS);
    uint8_t *data;
    size_t size = s_request_encode (&request, &data);
    s_frame_t frame = { data, size, true };
    static const uint64_t types [] = { 0, ZR_CLIENT_TYPE_MAX + 1, 255, 256,
                                       1ULL << 40 };
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        msgpack_object type = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                                .via.u64 = types [i] };
        ck_assert_int_eq (s_edit_rc (&frame, 1, &type), ZR_EMALFORMED);
    }
    free (data);
    zr_client_reply_t reply = s_reply_ok (ZR_CLIENT_SNAPSHOT);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        msgpack_object type = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                                .via.u64 = types [i] };
        ck_assert_int_eq (s_edit_rc (&frame, 1, &type), ZR_EMALFORMED);
    }
    static const uint64_t codes [] = { ZR_CLIENT_CODE_MAX + 1, 1ULL << 33 };
    for (size_t i = 0; i < sizeof codes / sizeof codes [0]; i++) {
        msgpack_object code = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                                .via.u64 = codes [i] };
        ck_assert_int_eq (s_edit_rc (&frame, 3, &code), ZR_EMALFORMED);
    }
    free (data);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_client_request_decode and zr_client_reply_decode: limits and rules

/* Returns the decoding of frame with field at replaced by a uint. */
static int
s_uint_rc (const s_frame_t *frame, uint32_t at, uint64_t value)
{
    msgpack_object object = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                              .via.u64 = value };
    return s_edit_rc (frame, at, &object);
}

/* Returns the decoding of frame with field at replaced by size bytes of
   a bin (or a str), byte 0 nul if asked. */
static int
s_bytes_rc (const s_frame_t *frame, uint32_t at, bool str, size_t size,
            bool nul)
{
    static uint8_t bytes [ZR_CLIENT_VALUE_MAX + 1];
    memset (bytes, 'a', size);
    if (nul && size > 0)
        bytes [0] = 0;
    msgpack_object object = { .type = str ? MSGPACK_OBJECT_STR
                                          : MSGPACK_OBJECT_BIN };
    object.via.bin.size = (uint32_t) size;
    object.via.bin.ptr = (const char *) bytes;
    return s_edit_rc (frame, at, &object);
}

/* Every size limit of a request, at (0) and over (ZR_ETOOBIG); an empty
   key is ZR_EMALFORMED. */
START_TEST (client_request_decode_checks_limits)
{
    struct { zr_client_type_t type; uint32_t at; size_t max; } cases [] = {
        { ZR_CLIENT_PUT, 5, ZR_CLIENT_KEY_MAX },
        { ZR_CLIENT_PUT, 6, ZR_CLIENT_VALUE_MAX },
        { ZR_CLIENT_GET, 3, ZR_CLIENT_KEY_MAX },
        { ZR_CLIENT_DEL, 5, ZR_CLIENT_KEY_MAX },
        { ZR_CLIENT_CAS, 5, ZR_CLIENT_KEY_MAX },
        { ZR_CLIENT_CAS, 6, ZR_CLIENT_VALUE_MAX },
        { ZR_CLIENT_CAS, 7, ZR_CLIENT_VALUE_MAX },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zr_client_request_t request = s_request (cases [i].type);
        uint8_t *data;
        size_t size = s_request_encode (&request, &data);
        s_frame_t frame = { data, size, true };
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, false,
                                      cases [i].max, false), 0);
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, false,
                                      cases [i].max + 1, false), ZR_ETOOBIG);
        ck_assert_int_eq (s_bytes_rc (&frame, cases [i].at, false, 0, false),
                          cases [i].max == ZR_CLIENT_KEY_MAX ? ZR_EMALFORMED
                                                             : 0);
        free (data);
    }
}
END_TEST

/* The numeric rules of requests: session ids from 1, server ids, fault
   ranges; each at its bound and one past it. */
START_TEST (client_request_decode_checks_rules)
{
    struct {
        zr_client_type_t type; uint32_t at; uint64_t good, bad;
    } cases [] = {
        { ZR_CLIENT_PUT, 3, 1, 0 }, { ZR_CLIENT_PUT, 4, 1, 0 },
        { ZR_CLIENT_DEL, 3, UINT64_MAX, 0 }, { ZR_CLIENT_DEL, 4, 1, 0 },
        { ZR_CLIENT_CAS, 3, 1, 0 }, { ZR_CLIENT_CAS, 4, 1, 0 },
        { ZR_CLIENT_TRANSFER, 3, 0, ZR_NODES_MAX + 1 },
        { ZR_CLIENT_TRANSFER, 3, ZR_NODES_MAX, (1ULL << 32) + 1 },
        { ZR_CLIENT_FAULT, 3, 1, 0 },
        { ZR_CLIENT_FAULT, 3, ZR_NODES_MAX, ZR_NODES_MAX + 1 },
        { ZR_CLIENT_FAULT, 5, 1000000, 1000001 },
        { ZR_CLIENT_FAULT, 5, 0, 1ULL << 32 },
        { ZR_CLIENT_FAULT, 6, 60000, 60001 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zr_client_request_t request = s_request (cases [i].type);
        uint8_t *data;
        size_t size = s_request_encode (&request, &data);
        s_frame_t frame = { data, size, true };
        ck_assert_int_eq (s_uint_rc (&frame, cases [i].at, cases [i].good), 0);
        ck_assert_msg (s_uint_rc (&frame, cases [i].at, cases [i].bad)
                       == ZR_EMALFORMED, "case %zu", i);
        free (data);
    }
}
END_TEST

/* Every size limit of a reply at and over: GET's value, STATUS's names
   and endpoints, an error's endpoint and message; a STATUS with
   ZR_NODES_MAX members and one more. */
START_TEST (client_reply_decode_checks_limits)
{
    zr_client_reply_t reply = s_reply_ok (ZR_CLIENT_GET);
    uint8_t *data;
    size_t size = s_reply_encode (&reply, &data);
    s_frame_t frame = { data, size, false };
    ck_assert_int_eq (s_bytes_rc (&frame, 5, false, ZR_CLIENT_VALUE_MAX,
                                  false), 0);
    ck_assert_int_eq (s_bytes_rc (&frame, 5, false, ZR_CLIENT_VALUE_MAX + 1,
                                  false), ZR_ETOOBIG);
    free (data);
    reply = s_reply_error (ZR_CLIENT_PUT, ZR_CLIENT_NOT_LEADER);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    ck_assert_int_eq (s_bytes_rc (&frame, 5, true, ZR_CLIENT_ENDPOINT_MAX,
                                  false), 0);
    ck_assert_int_eq (s_bytes_rc (&frame, 5, true, ZR_CLIENT_ENDPOINT_MAX + 1,
                                  false), ZR_ETOOBIG);
    ck_assert_int_eq (s_bytes_rc (&frame, 6, true, ZR_CLIENT_MESSAGE_MAX,
                                  false), 0);
    ck_assert_int_eq (s_bytes_rc (&frame, 6, true, ZR_CLIENT_MESSAGE_MAX + 1,
                                  false), ZR_ETOOBIG);
    free (data);
    reply = s_reply_ok (ZR_CLIENT_STATUS);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    ck_assert_int_eq (s_bytes_rc (&frame, 4, true, ZR_CLIENT_NAME_MAX,
                                  false), 0);
    ck_assert_int_eq (s_bytes_rc (&frame, 4, true, ZR_CLIENT_NAME_MAX + 1,
                                  false), ZR_ETOOBIG);
    free (data);
    /* Members: ZR_NODES_MAX is fine, one more is too big (the walk's
       object budget says so first when they are full members). */
    s_status_fill (&reply, ZR_NODES_MAX, ZR_CLIENT_NAME_MAX,
                   ZR_CLIENT_ENDPOINT_MAX);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    msgpack_object members [ZR_NODES_MAX + 1];
    for (int i = 0; i <= ZR_NODES_MAX; i++)
        members [i] = (msgpack_object) { .type = MSGPACK_OBJECT_ARRAY };
    msgpack_object list = { .type = MSGPACK_OBJECT_ARRAY,
                            .via.array = { ZR_NODES_MAX + 1, members } };
    ck_assert_int_eq (s_edit_rc (&frame, 14, &list), ZR_ETOOBIG);
    ck_assert_int_eq (s_reply_rc (data, size), 0);
    free (data);
}
END_TEST

/* Member names and endpoints at and over their limits. */
START_TEST (client_reply_decode_checks_member_limits)
{
    zr_client_reply_t within = s_reply_ok (ZR_CLIENT_STATUS);
    s_status_fill (&within, 2, 1, 1);
    const size_t limits [] = { ZR_CLIENT_NAME_MAX, ZR_CLIENT_ENDPOINT_MAX,
                               ZR_CLIENT_ENDPOINT_MAX, ZR_CLIENT_ENDPOINT_MAX };
    for (int f = 0; f < 4; f++)
        for (size_t extra = 0; extra <= 1; extra++) {
            /* Encode short strs, then widen one in the frame. */
            zr_client_bytes_t text = s_text (limits [f] + extra, 5);
            uint8_t *data;
            size_t size = s_reply_encode (&within, &data);
            msgpack_unpacked result;
            msgpack_unpacked_init (&result);
            size_t offset = 0;
            ck_assert_int_eq (msgpack_unpack_next (&result,
                                                   (const char *) data, size,
                                                   &offset),
                              MSGPACK_UNPACK_SUCCESS);
            msgpack_object *members = &result.data.via.array.ptr [14];
            msgpack_object *field = &members->via.array.ptr [1]
                                         .via.array.ptr [1 + f];
            field->via.str.size = (uint32_t) text.size;
            field->via.str.ptr = (const char *) text.data;
            s_frame_t frame = { data, size, false };
            ck_assert_int_eq (s_edit_rc (&frame, 14, members),
                              extra ? ZR_ETOOBIG : 0);
            msgpack_unpacked_destroy (&result);
            free (data);
        }
}
END_TEST

/* The semantic rules of replies, each on an otherwise valid frame. */
START_TEST (client_reply_decode_checks_rules)
{
    struct {
        zr_client_type_t type; zr_client_code_t code; uint32_t at;
        uint64_t good, bad;
    } cases [] = {
        { ZR_CLIENT_PUT, ZR_CLIENT_OK, 4, 1, 0 },
        { ZR_CLIENT_DEL, ZR_CLIENT_OK, 4, UINT64_MAX, 0 },
        { ZR_CLIENT_CAS, ZR_CLIENT_OK, 5, 1, 0 },
        { ZR_CLIENT_STATUS, ZR_CLIENT_OK, 5, ZR_NODES_MAX, 0 },
        { ZR_CLIENT_STATUS, ZR_CLIENT_OK, 5, 1, ZR_NODES_MAX + 1 },
        { ZR_CLIENT_STATUS, ZR_CLIENT_OK, 6, 0, 3 },
        { ZR_CLIENT_STATUS, ZR_CLIENT_OK, 6, 2, 1ULL << 32 },
        { ZR_CLIENT_STATUS, ZR_CLIENT_OK, 8, 0, ZR_NODES_MAX + 1 },
        { ZR_CLIENT_STATUS, ZR_CLIENT_OK, 8, ZR_NODES_MAX, 1ULL << 35 },
        { ZR_CLIENT_GET, ZR_CLIENT_BUSY, 4, ZR_NODES_MAX, ZR_NODES_MAX + 1 },
        { ZR_CLIENT_GET, ZR_CLIENT_NOT_LEADER, 4, 1, 0 },  /* endpoint set */
        { ZR_CLIENT_PUT, ZR_CLIENT_MALFORMED, 1, 0, ZR_CLIENT_TYPE_MAX + 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zr_client_reply_t reply = cases [i].code == ZR_CLIENT_OK
                                  ? s_reply_ok (cases [i].type)
                                  : s_reply_error (cases [i].type,
                                                   cases [i].code);
        uint8_t *data;
        size_t size = s_reply_encode (&reply, &data);
        s_frame_t frame = { data, size, false };
        ck_assert_msg (s_uint_rc (&frame, cases [i].at, cases [i].good) == 0,
                       "case %zu good", i);
        ck_assert_msg (s_uint_rc (&frame, cases [i].at, cases [i].bad)
                       == ZR_EMALFORMED, "case %zu bad", i);
        free (data);
    }
}
END_TEST

/* More reply rules: type 0 only with MALFORMED, GET not found with a
   value, NUL in a str, duplicate or bad member ids. */
START_TEST (client_reply_decode_checks_more_rules)
{
    uint8_t *data;
    zr_client_reply_t reply = s_reply_error (ZR_CLIENT_PUT, ZR_CLIENT_BUSY);
    size_t size = s_reply_encode (&reply, &data);
    s_frame_t frame = { data, size, false };
    ck_assert_int_eq (s_uint_rc (&frame, 1, 0), ZR_EMALFORMED);
    ck_assert_int_eq (s_bytes_rc (&frame, 6, true, 5, true), ZR_EMALFORMED);
    ck_assert_int_eq (s_bytes_rc (&frame, 5, true, 5, true), ZR_EMALFORMED);
    ck_assert_int_eq (s_bytes_rc (&frame, 6, true, 5, false), 0);
    free (data);
    reply = s_reply_error (ZR_CLIENT_PUT, ZR_CLIENT_MALFORMED);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    ck_assert_int_eq (s_uint_rc (&frame, 1, 0), 0);
    free (data);
    reply = s_reply_ok (ZR_CLIENT_GET);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    msgpack_object not_found = { .type = MSGPACK_OBJECT_BOOLEAN };
    ck_assert_int_eq (s_edit_rc (&frame, 4, &not_found), ZR_EMALFORMED);
    ck_assert_int_eq (s_bytes_rc (&frame, 5, false, 0, false), 0);
    free (data);
    reply = s_reply_ok (ZR_CLIENT_STATUS);
    size = s_reply_encode (&reply, &data);
    frame = (s_frame_t) { data, size, false };
    ck_assert_int_eq (s_bytes_rc (&frame, 4, true, 3, true), ZR_EMALFORMED);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    ck_assert_int_eq (msgpack_unpack_next (&result, (const char *) data, size,
                                           &offset), MSGPACK_UNPACK_SUCCESS);
    msgpack_object *members = &result.data.via.array.ptr [14];
    msgpack_object *id = &members->via.array.ptr [2].via.array.ptr [0];
    const uint64_t bad_ids [] = { 0, 1, 2, ZR_NODES_MAX + 1 };  /* 1, 2 dup */
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids [0]; i++) {
        id->via.u64 = bad_ids [i];
        ck_assert_int_eq (s_edit_rc (&frame, 14, members), ZR_EMALFORMED);
    }
    id->via.u64 = ZR_NODES_MAX;
    ck_assert_int_eq (s_edit_rc (&frame, 14, members), 0);
    msgpack_unpacked_destroy (&result);
    free (data);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_client_request_decode and zr_client_reply_decode: what they return

/* A frame that fails still says its request_id and (known) type, when
   its head is an array of unsigned integers; else both are 0, and every
   other field is zero. */
START_TEST (client_decode_echoes_the_head_on_error)
{
    zr_client_request_t request = s_request (ZR_CLIENT_PUT);
    request.key = s_pattern (ZR_CLIENT_KEY_MAX, 1);
    uint8_t *data;
    size_t size = s_request_encode (&request, &data);
    s_frame_t frame = { data, size, true };
    msgpack_sbuffer out;
    uint8_t key [ZR_CLIENT_KEY_MAX + 1] = { 0 };
    msgpack_object big = { .type = MSGPACK_OBJECT_BIN,
                           .via.bin = { sizeof key, (const char *) key } };
    mpedit_frame (data, size, 5, &big, &out);
    zr_client_request_t got;
    memset (&got, 0xff, sizeof got);
    ck_assert_int_eq (zr_client_request_decode ((const uint8_t *) out.data,
                                                out.size, &got), ZR_ETOOBIG);
    ck_assert_int_eq (got.type, ZR_CLIENT_PUT);
    ck_assert_uint_eq (got.request_id, request.request_id);
    ck_assert_uint_eq (got.client_id + got.seq + got.key.size, 0);
    ck_assert_ptr_null (got.key.data);
    msgpack_sbuffer_destroy (&out);
    /* Cut after the request_id (a uint64: bytes 3 to 11): still
       echoed. Cut inside it: not. */
    ck_assert_int_eq (zr_client_request_decode (data, 12, &got),
                      ZR_ETRUNCATED);
    ck_assert_uint_eq (got.request_id, request.request_id);
    ck_assert_int_eq (zr_client_request_decode (data, 11, &got),
                      ZR_ETRUNCATED);
    ck_assert_uint_eq (got.request_id, 0);
    ck_assert_int_eq (got.type, 0);
    /* An unknown type: the request_id, type 0. */
    ck_assert_int_eq (s_uint_rc (&frame, 1, 99), ZR_EMALFORMED);
    static const uint8_t unknown [] = { 0x93, 0x01, 0x63, 0x2a };
    ck_assert_int_eq (zr_client_request_decode (unknown, sizeof unknown, &got),
                      ZR_EMALFORMED);
    ck_assert_int_eq (got.type, 0);
    ck_assert_uint_eq (got.request_id, 42);
    /* Another version says its head too. */
    static const uint8_t v2 [] = { 0x93, 0x02, 0x05, 0x2a };
    ck_assert_int_eq (zr_client_request_decode (v2, sizeof v2, &got),
                      ZR_EVERSION);
    ck_assert_int_eq (got.type, ZR_CLIENT_STATUS);
    ck_assert_uint_eq (got.request_id, 42);
    free (data);
    /* A reply too. */
    zr_client_reply_t reply;
    static const uint8_t cut_reply [] = { 0x95, 0x01, 0x03, 0x2a, 0x00,
                                          0xcd, 0x01 };
    ck_assert_int_eq (zr_client_reply_decode (cut_reply, sizeof cut_reply,
                                              &reply), ZR_ETRUNCATED);
    ck_assert_int_eq (reply.type, ZR_CLIENT_DEL);
    ck_assert_uint_eq (reply.request_id, 42);
    ck_assert_uint_eq (reply.index, 0);
}
END_TEST

/* Decoded bytes point into the frame, empty ones are NULL, and fields
   the type does not carry are zero whatever the struct held. */
START_TEST (client_decode_points_into_the_frame)
{
    zr_client_request_t request = s_request (ZR_CLIENT_CAS);
    request.old = s_pattern (0, 0);
    uint8_t *data;
    size_t size = s_request_encode (&request, &data);
    zr_client_request_t got;
    memset (&got, 0xff, sizeof got);
    ck_assert_int_eq (zr_client_request_decode (data, size, &got), 0);
    ck_assert (got.key.data > data && got.key.data + got.key.size
               <= data + size);
    ck_assert (got.value.data > data && got.value.data + got.value.size
               == data + size);
    ck_assert_ptr_null (got.old.data);
    ck_assert_uint_eq (got.to + got.peer + got.drop_ppm + got.delay_ms, 0);
    ck_assert (!got.stale && !got.cut);
    free (data);
    zr_client_reply_t reply = s_reply_ok (ZR_CLIENT_STATUS);
    size = s_reply_encode (&reply, &data);
    zr_client_reply_t rgot;
    memset (&rgot, 0xff, sizeof rgot);
    ck_assert_int_eq (zr_client_reply_decode (data, size, &rgot), 0);
    ck_assert (rgot.name.data > data && rgot.name.data < data + size);
    ck_assert (rgot.members [2].name.data > data
               && rgot.members [2].name.data < data + size);
    ck_assert_ptr_null (rgot.members [2].client_endpoint.data);
    ck_assert_uint_eq (rgot.index + rgot.found + rgot.swapped, 0);
    ck_assert_uint_eq (rgot.value.size + rgot.message.size
                       + rgot.leader_endpoint.size, 0);
    ck_assert_uint_eq (rgot.members [3].id + rgot.members [8].name.size, 0);
    free (data);
}
END_TEST

/* Mutates frame (size bytes, room for size + 8) 1..4 times: flip a bit,
   overwrite, insert or delete a byte. Returns the new size. */
static size_t
s_mutate (uint8_t *frame, size_t size, uint64_t *state)
{
    static const uint8_t special [] = { 0x00, 0x7f, 0xc1, 0xc4, 0xd9, 0xdd,
                                        0xcf, 0xff, 0x90, 0x9f, 0xc2, 0xc3 };
    uint64_t rounds = 1 + mpedit_xorshift (state) % 4;
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t op = mpedit_xorshift (state) % 5;
        size_t at = size ? (size_t) (mpedit_xorshift (state) % size) : 0;
        uint8_t byte = (uint8_t) mpedit_xorshift (state);
        if (op == 0 && size)
            frame [at] ^= (uint8_t) (1u << (byte % 8));
        else if (op == 1 && size)
            frame [at] = byte;
        else if (op == 2 && size)
            frame [at] = special [byte % sizeof special];
        else if (op == 3) {
            memmove (frame + at + 1, frame + at, size - at);
            frame [at] = byte;
            size++;
        }
        else if (size) {
            memmove (frame + at, frame + at + 1, size - at - 1);
            size--;
        }
    }
    return size;
}

/* Decodes frame both ways; what decodes re-encodes to a frame that
   decodes to the same. Returns how many of the two decoded. */
static int
s_mutant_check (const uint8_t *frame, size_t size, uint64_t seed, int i)
{
    int decoded = 0;
    zr_client_request_t request;
    int rc = zr_client_request_decode (frame, size, &request);
    ck_assert_msg (rc <= 0 && rc >= ZR_ECOUNT, "ZR_SEED=%llu mutation %d: "
                   "rc %d", (unsigned long long) seed, i, rc);
    if (rc == 0) {
        decoded++;
        s_request_round_trip (&request);
    }
    zr_client_reply_t reply;
    rc = zr_client_reply_decode (frame, size, &reply);
    ck_assert_msg (rc <= 0 && rc >= ZR_ECOUNT, "ZR_SEED=%llu mutation %d: "
                   "rc %d", (unsigned long long) seed, i, rc);
    if (rc == 0) {
        decoded++;
        s_reply_round_trip (&reply);
    }
    return decoded;
}

/* Random mutations of valid frames never crash the decoders, and what
   they accept round trips. */
START_TEST (client_decode_survives_random_mutations)
{
    const char *env = getenv ("ZR_SEED");
    uint64_t seed = env ? strtoull (env, NULL, 0) : S_SEED_DEFAULT;
    uint64_t state = seed ? seed : 1;
    s_frame_t frames [S_REQUESTS + S_REPLIES];
    s_frames_new (frames);
    static uint8_t frame [8192];
    size_t accepted = 0;
    for (int i = 0; i < S_MUTATIONS; i++) {
        const s_frame_t *valid = &frames [i % (S_REQUESTS + S_REPLIES)];
        ck_assert_uint_le (valid->size + 8, sizeof frame);
        memcpy (frame, valid->data, valid->size);
        size_t size = s_mutate (frame, valid->size, &state);
        accepted += (size_t) s_mutant_check (frame, size, seed, i);
    }
    /* Flipped bits in bytes and ids decode fine, so some mutants pass. */
    ck_assert_uint_gt (accepted, 0);
    ck_assert_uint_lt (accepted, S_MUTATIONS);
    s_frames_destroy (frames);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_client_type_name and zr_client_code_name

/* Every type and code has its name; anything else is "?". */
START_TEST (client_names_name_every_type_and_code)
{
    static const char *types [] = { "?", "PUT", "GET", "DEL", "CAS",
                                    "STATUS", "TRANSFER", "SNAPSHOT",
                                    "FAULT", "?" };
    static const char *codes [] = { "OK", "NOT_LEADER", "BUSY", "INVALID",
                                    "UNAVAILABLE", "UNKNOWN",
                                    "SESSION_EXPIRED", "MALFORMED", "?" };
    for (int t = 0; t <= ZR_CLIENT_TYPE_MAX + 1; t++)
        ck_assert_str_eq (zr_client_type_name (t), types [t]);
    for (int c = 0; c <= ZR_CLIENT_CODE_MAX + 1; c++)
        ck_assert_str_eq (zr_client_code_name (c), codes [c]);
    ck_assert_str_eq (zr_client_type_name (-1), "?");
    ck_assert_str_eq (zr_client_code_name (-1), "?");
}
END_TEST

//  --------------------------------------------------------------------------

int
main (void)
{
    Suite *suite = suite_create ("client_codec");

    TCase *encode = tcase_create ("client_encode");
    tcase_set_timeout (encode, 60);
    tcase_add_test (encode, client_request_encode_round_trips_every_type);
    tcase_add_test (encode, client_request_encode_round_trips_limits);
    tcase_add_test (encode, client_request_encode_refuses_broken_rules);
    tcase_add_test (encode, client_encode_writes_the_worked_example);
    tcase_add_test (encode, client_reply_encode_round_trips_every_type);
    tcase_add_test (encode, client_reply_encode_round_trips_every_code);
    tcase_add_test (encode, client_reply_encode_refuses_broken_rules);
    suite_add_tcase (suite, encode);

    TCase *bytes = tcase_create ("client_decode_bytes");
    tcase_set_timeout (bytes, 60);
    tcase_add_test (bytes, client_decode_rejects_every_truncation);
    tcase_add_test (bytes, client_decode_rejects_trailing_bytes);
    tcase_add_test (bytes, client_decode_rejects_oversized_frame);
    tcase_add_test (bytes, client_decode_rejects_other_versions);
    tcase_add_test (bytes, client_decode_checks_the_walk);
    tcase_add_test (bytes, client_decode_follows_precedence);
    suite_add_tcase (suite, bytes);

    TCase *schema = tcase_create ("client_decode_schema");
    tcase_set_timeout (schema, 60);
    tcase_add_test (schema, client_decode_rejects_wrong_field_counts);
    tcase_add_test (schema, client_decode_rejects_wrong_field_types);
    tcase_add_test (schema, client_reply_decode_rejects_bad_members);
    tcase_add_test (schema, client_decode_accepts_signed_formats);
    tcase_add_test (schema, client_decode_rejects_unknown_types_and_codes);
    suite_add_tcase (suite, schema);

    TCase *rules = tcase_create ("client_decode_rules");
    tcase_set_timeout (rules, 60);
    tcase_add_test (rules, client_request_decode_checks_limits);
    tcase_add_test (rules, client_request_decode_checks_rules);
    tcase_add_test (rules, client_reply_decode_checks_limits);
    tcase_add_test (rules, client_reply_decode_checks_member_limits);
    tcase_add_test (rules, client_reply_decode_checks_rules);
    tcase_add_test (rules, client_reply_decode_checks_more_rules);
    suite_add_tcase (suite, rules);

    TCase *result = tcase_create ("client_decode_result");
    tcase_set_timeout (result, 60);
    tcase_add_test (result, client_decode_echoes_the_head_on_error);
    tcase_add_test (result, client_decode_points_into_the_frame);
    tcase_add_test (result, client_decode_survives_random_mutations);
    suite_add_tcase (suite, result);

    TCase *names = tcase_create ("client_names");
    tcase_add_test (names, client_names_name_every_type_and_code);
    suite_add_tcase (suite, names);

    return check_run (suite);
}
