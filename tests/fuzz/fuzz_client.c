/*  =========================================================================
    fuzz_client - zr_client_request_decode and zr_client_reply_decode on
    arbitrary frames

    Every frame a client sends reaches zraft-node's request decoder, and
    every frame a server (or whatever listens at an endpoint) sends
    reaches a client's reply decoder. Each input is decoded both ways,
    checking the promises of client.h:
    - the result is 0 or one of the decoder's error codes (never
      ZR_ENOMEM here: nothing fails to allocate);
    - allocation is a constant, whatever the frame (S_ALLOC_CONSTANT);
    - on error the struct is zero but for the request_id and a known
      type, and those are what the frame's head says (read here with
      zr_msgpack_walk_uints);
    - a decoded request or reply keeps every limit and rule, its bytes
      lie inside the frame (empty ones NULL), fields its type does not
      carry are zero;
    - round trip: it re-encodes (the encoder refuses anything that breaks
      a rule) into the canonical form, at most as long as the frame (but
      for a byte per STATUS member of 4 elements, which re-encodes with
      an empty bus endpoint, and three for a STATUS of 15 elements, which
      re-encodes with an empty health), which decodes to an equal request or reply
      and re-encodes to the same bytes;
    - the frame less its last byte is refused, and the frame plus a byte
      is refused with ZR_ETRAILING.
    =========================================================================
*/
#include "../../transport/transport.h"
#include "fuzz.h"
#include "frames.h"

const char fuzz_target [] = "client";

/* Allocation bound: msgpack-c's zone (one 8 KiB chunk holds the at most
   ZR_CLIENT_OBJECTS_MAX objects of 24 bytes) and nothing per frame byte:
   the decoded struct points into the frame. */
#define S_ALLOC_MULTIPLE 0
#define S_ALLOC_CONSTANT (16 * 1024)


/* Checks that bytes lie inside the frame, are NULL when empty, fit max
   and, for a str, hold no NUL. */
static void
s_check_bytes (zr_client_bytes_t bytes, const uint8_t *data, size_t size,
               size_t max, bool str)
{
    fuzz_check_bytes (bytes.data, bytes.size, data, size, 0, max, str);
}

static bool
s_empty (zr_client_bytes_t bytes)
{
    return bytes.size == 0 && bytes.data == NULL;
}

/* Checks a decoded request against client.h's limits and rules. */
static void
s_check_request (const zr_client_request_t *r, const uint8_t *data,
                 size_t size)
{
    zr_client_type_t t = r->type;
    FUZZ_CHECK (t >= ZR_CLIENT_PUT && t <= ZR_CLIENT_TYPE_MAX);
    bool command = t <= ZR_CLIENT_CAS;
    bool session = command && t != ZR_CLIENT_GET;
    FUZZ_CHECK (session ? r->client_id >= 1 && r->seq >= 1
                        : r->client_id == 0 && r->seq == 0);
    s_check_bytes (r->key, data, size, ZR_CLIENT_KEY_MAX, false);
    FUZZ_CHECK (command ? r->key.size >= 1 : s_empty (r->key));
    s_check_bytes (r->value, data, size, ZR_CLIENT_VALUE_MAX, false);
    s_check_bytes (r->old, data, size, ZR_CLIENT_VALUE_MAX, false);
    if (t != ZR_CLIENT_PUT && t != ZR_CLIENT_CAS)
        FUZZ_CHECK (s_empty (r->value));
    if (t != ZR_CLIENT_CAS)
        FUZZ_CHECK (s_empty (r->old));
    FUZZ_CHECK (t == ZR_CLIENT_GET || !r->stale);
    FUZZ_CHECK (r->to <= (t == ZR_CLIENT_TRANSFER ? ZR_NODES_MAX : 0));
    if (t == ZR_CLIENT_FAULT) {
        FUZZ_CHECK (r->peer >= 1 && r->peer <= ZR_NODES_MAX);
        FUZZ_CHECK (r->drop_ppm <= 1000000 && r->delay_ms <= 60000);
    }
    else
        FUZZ_CHECK (r->peer == 0 && !r->cut && r->drop_ppm == 0
                    && r->delay_ms == 0);
}

/* Checks a decoded STATUS reply (code OK). */
static void
s_check_status (const zr_client_reply_t *r, const uint8_t *data, size_t size)
{
    s_check_bytes (r->name, data, size, ZR_CLIENT_NAME_MAX, true);
    s_check_bytes (r->health, data, size, ZR_CLIENT_MESSAGE_MAX, true);
    FUZZ_CHECK (r->id >= 1 && r->id <= ZR_NODES_MAX);
    FUZZ_CHECK (r->role <= 2 && r->leader <= ZR_NODES_MAX);
    FUZZ_CHECK (r->n_members <= ZR_NODES_MAX);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < ZR_NODES_MAX; i++) {
        const zr_client_member_t *m = &r->members [i];
        if (i >= r->n_members) {
            FUZZ_CHECK (m->id == 0 && s_empty (m->name));
            FUZZ_CHECK (s_empty (m->peer_endpoint));
            FUZZ_CHECK (s_empty (m->client_endpoint));
            FUZZ_CHECK (s_empty (m->bus_endpoint));
            continue;
        }
        FUZZ_CHECK (m->id >= 1 && m->id <= ZR_NODES_MAX);
        FUZZ_CHECK ((seen & (1u << m->id)) == 0);
        seen |= 1u << m->id;
        s_check_bytes (m->name, data, size, ZR_CLIENT_NAME_MAX, true);
        s_check_bytes (m->peer_endpoint, data, size, ZR_CLIENT_ENDPOINT_MAX,
                       true);
        s_check_bytes (m->client_endpoint, data, size,
                       ZR_CLIENT_ENDPOINT_MAX, true);
        s_check_bytes (m->bus_endpoint, data, size, ZR_CLIENT_ENDPOINT_MAX,
                       true);
    }
}

/* Checks a decoded reply against client.h's limits and rules. */
static void
s_check_reply (const zr_client_reply_t *r, const uint8_t *data, size_t size)
{
    zr_client_type_t t = r->type;
    FUZZ_CHECK ((unsigned) t <= ZR_CLIENT_TYPE_MAX);
    FUZZ_CHECK ((unsigned) r->code <= ZR_CLIENT_CODE_MAX);
    FUZZ_CHECK (t != 0 || r->code == ZR_CLIENT_MALFORMED);
    bool ok = r->code == ZR_CLIENT_OK;
    bool indexed = ok && (t == ZR_CLIENT_PUT || t == ZR_CLIENT_DEL
                          || t == ZR_CLIENT_CAS);
    FUZZ_CHECK (indexed ? r->index >= 1 : r->index == 0);
    FUZZ_CHECK (!r->found || (ok && t == ZR_CLIENT_GET));
    FUZZ_CHECK (!r->swapped || (ok && t == ZR_CLIENT_CAS));
    s_check_bytes (r->value, data, size, ZR_CLIENT_VALUE_MAX, false);
    FUZZ_CHECK (r->found || s_empty (r->value));
    s_check_bytes (r->leader_endpoint, data, size, ZR_CLIENT_ENDPOINT_MAX,
                   true);
    s_check_bytes (r->message, data, size, ZR_CLIENT_MESSAGE_MAX, true);
    FUZZ_CHECK (r->leader <= ZR_NODES_MAX);
    if (ok)
        FUZZ_CHECK (s_empty (r->leader_endpoint) && s_empty (r->message));
    else
        FUZZ_CHECK (r->leader > 0 || s_empty (r->leader_endpoint));
    if (ok && t == ZR_CLIENT_STATUS)
        s_check_status (r, data, size);
    else {
        FUZZ_CHECK (s_empty (r->name) && r->id == 0 && r->role == 0);
        FUZZ_CHECK (r->term == 0 && r->commit == 0 && r->applied == 0);
        FUZZ_CHECK (r->first_index == 0 && r->last_index == 0);
        FUZZ_CHECK (r->snapshot_index == 0 && r->n_members == 0);
        FUZZ_CHECK (s_empty (r->health));
        FUZZ_CHECK (!ok || r->leader == 0);
    }
}

static bool
s_bytes_equal (zr_client_bytes_t a, zr_client_bytes_t b)
{
    return fuzz_bytes_equal (a.data, a.size, b.data, b.size);
}

static void
s_check_request_equal (const zr_client_request_t *a,
                       const zr_client_request_t *b)
{
    FUZZ_CHECK (a->type == b->type && a->request_id == b->request_id);
    FUZZ_CHECK (a->client_id == b->client_id && a->seq == b->seq);
    FUZZ_CHECK (s_bytes_equal (a->key, b->key));
    FUZZ_CHECK (s_bytes_equal (a->value, b->value));
    FUZZ_CHECK (s_bytes_equal (a->old, b->old));
    FUZZ_CHECK (a->stale == b->stale && a->to == b->to);
    FUZZ_CHECK (a->peer == b->peer && a->cut == b->cut);
    FUZZ_CHECK (a->drop_ppm == b->drop_ppm && a->delay_ms == b->delay_ms);
}

static void
s_check_reply_equal (const zr_client_reply_t *a, const zr_client_reply_t *b)
{
    FUZZ_CHECK (a->type == b->type && a->request_id == b->request_id);
    FUZZ_CHECK (a->code == b->code && a->index == b->index);
    FUZZ_CHECK (a->found == b->found && a->swapped == b->swapped);
    FUZZ_CHECK (s_bytes_equal (a->value, b->value));
    FUZZ_CHECK (s_bytes_equal (a->name, b->name));
    FUZZ_CHECK (a->id == b->id && a->role == b->role && a->term == b->term);
    FUZZ_CHECK (a->leader == b->leader && a->commit == b->commit);
    FUZZ_CHECK (a->applied == b->applied);
    FUZZ_CHECK (a->first_index == b->first_index);
    FUZZ_CHECK (a->last_index == b->last_index);
    FUZZ_CHECK (a->snapshot_index == b->snapshot_index);
    FUZZ_CHECK (s_bytes_equal (a->health, b->health));
    FUZZ_CHECK (a->n_members == b->n_members);
    for (uint32_t i = 0; i < a->n_members; i++) {
        const zr_client_member_t *x = &a->members [i], *y = &b->members [i];
        FUZZ_CHECK (x->id == y->id && s_bytes_equal (x->name, y->name));
        FUZZ_CHECK (s_bytes_equal (x->peer_endpoint, y->peer_endpoint));
        FUZZ_CHECK (s_bytes_equal (x->client_endpoint, y->client_endpoint));
        FUZZ_CHECK (s_bytes_equal (x->bus_endpoint, y->bus_endpoint));
    }
    FUZZ_CHECK (s_bytes_equal (a->leader_endpoint, b->leader_endpoint));
    FUZZ_CHECK (s_bytes_equal (a->message, b->message));
}

/* Checks what a failed decode leaves: type and request_id from the
   frame's head (type only if known), nothing else. */
static void
s_check_head (uint64_t type, uint64_t request_id, const uint8_t *data,
              size_t size)
{
    uint64_t head [3] = { 0, 0, 0 };
    if (zr_msgpack_walk_uints (data, size, head, 3) < 3)
        head [1] = head [2] = 0;
    FUZZ_CHECK (request_id == head [2]);
    FUZZ_CHECK (type == (head [1] <= ZR_CLIENT_TYPE_MAX ? head [1] : 0));
}

static void
s_check_failed_request (const zr_client_request_t *r, const uint8_t *data,
                        size_t size)
{
    s_check_head ((uint64_t) r->type, r->request_id, data, size);
    zr_client_request_t zero;
    memset (&zero, 0, sizeof zero);
    zero.type = r->type;
    zero.request_id = r->request_id;
    FUZZ_CHECK (memcmp (&zero, r, sizeof zero) == 0);
}

static void
s_check_failed_reply (const zr_client_reply_t *r, const uint8_t *data,
                      size_t size)
{
    s_check_head ((uint64_t) r->type, r->request_id, data, size);
    zr_client_reply_t zero;
    memset (&zero, 0, sizeof zero);
    zero.type = r->type;
    zero.request_id = r->request_id;
    FUZZ_CHECK (memcmp (&zero, r, sizeof zero) == 0);
}

/* The request decoder and the reply decoder, for fuzz_check_neighbours
   (arg: non-NULL for the request decoder). */
static int
s_decode (void *arg, const uint8_t *data, size_t size)
{
    zr_client_request_t r;
    zr_client_reply_t p;
    return arg ? zr_client_request_decode (data, size, &r)
               : zr_client_reply_decode (data, size, &p);
}

static void
s_check_neighbours (const uint8_t *data, size_t size, bool request)
{
    fuzz_check_neighbours (data, size, ZR_CLIENT_FRAME_MAX, s_decode,
                           request ? (void *) data : NULL);
}

/* Re-encodes a decoded request, checks the round trip; returns the
   canonical frame's size. */
static size_t
s_request_round_trip (const zr_client_request_t *request)
{
    uint8_t *first, *second;
    size_t first_size, second_size;
    FUZZ_CHECK (zr_client_request_encode (request, &first, &first_size) == 0);
    zr_client_request_t copy;
    FUZZ_CHECK (zr_client_request_decode (first, first_size, &copy) == 0);
    s_check_request_equal (request, &copy);
    FUZZ_CHECK (zr_client_request_encode (&copy, &second, &second_size) == 0);
    FUZZ_CHECK (second_size == first_size);
    FUZZ_CHECK (memcmp (first, second, first_size) == 0);
    free (first);
    free (second);
    return first_size;
}

static size_t
s_reply_round_trip (const zr_client_reply_t *reply)
{
    uint8_t *first, *second;
    size_t first_size, second_size;
    FUZZ_CHECK (zr_client_reply_encode (reply, &first, &first_size) == 0);
    zr_client_reply_t copy;
    FUZZ_CHECK (zr_client_reply_decode (first, first_size, &copy) == 0);
    s_check_reply_equal (reply, &copy);
    FUZZ_CHECK (zr_client_reply_encode (&copy, &second, &second_size) == 0);
    FUZZ_CHECK (second_size == first_size);
    FUZZ_CHECK (memcmp (first, second, first_size) == 0);
    free (first);
    free (second);
    return first_size;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zr_client_request_t request;
    fuzz_alloc_begin ();
    int rc = zr_client_request_decode (data, size, &request);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_ALLOC_MULTIPLE,
                       S_ALLOC_CONSTANT);
    FUZZ_CHECK (rc == 0 || fuzz_is_decode_error (rc));
    if (rc == 0) {
        s_check_request (&request, data, size);
        FUZZ_CHECK (s_request_round_trip (&request) <= size);
        s_check_neighbours (data, size, true);
    }
    else
        s_check_failed_request (&request, data, size);

    zr_client_reply_t reply;
    fuzz_alloc_begin ();
    rc = zr_client_reply_decode (data, size, &reply);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_ALLOC_MULTIPLE,
                       S_ALLOC_CONSTANT);
    FUZZ_CHECK (rc == 0 || fuzz_is_decode_error (rc));
    if (rc == 0) {
        s_check_reply (&reply, data, size);
        /* A STATUS member of 4 fields (a server before the bus endpoint)
           re-encodes with an empty bus endpoint: one byte more; a STATUS
           of 15 fields (before health) with an empty health and an
           array16 head: three more. */
        size_t slack = 0;
        for (uint32_t i = 0; i < reply.n_members; i++)
            slack += reply.members [i].bus_endpoint.size == 0;
        if (reply.code == ZR_CLIENT_OK && reply.type == ZR_CLIENT_STATUS
            && reply.health.size == 0)
            slack += 3;
        FUZZ_CHECK (s_reply_round_trip (&reply) <= size + slack);
        s_check_neighbours (data, size, false);
    }
    else
        s_check_failed_reply (&reply, data, size);
    return 0;
}
