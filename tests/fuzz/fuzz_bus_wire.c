/*  =========================================================================
    fuzz_bus_wire - zr_busmsg_decode on arbitrary frames

    Every frame a bus client sends reaches zraft-node's bus endpoint, and
    every frame a server (or whatever listens at an endpoint) sends
    reaches a bus client: one decoder serves both. Each input checks the
    promises of transport/bus.h:
    - the result is 0 or one of the decoder's error codes (never
      ZR_ENOMEM here);
    - allocation is a constant, whatever the frame (S_ALLOC_CONSTANT);
    - on error the message is zero but for a known type and the id, and
      those are what the frame's head says (zr_msgpack_walk_uints);
    - a decoded message keeps every limit and rule, its bytes lie inside
      the frame (empty ones NULL), fields its type does not carry are
      zero; a CURSORS_REPLY's map walks to exactly n_cursors cursors in
      strictly increasing order; a PUBLISH's, ACK's or DELIVER's records
      walk to exactly n_records records (1..ZR_BUSMSG_RUN_MAX) inside the
      frame, each keeping its type's rules (a DELIVER's indexes strictly
      increasing), the first one's in its fields, within
      ZR_BUSMSG_RUN_BYTES_MAX, a run's ids within 64 bits; a SUBSCRIBE's
      run_max is 0..RUN_MAX;
    - round trip: it re-encodes into the canonical form, at most as long
      as the frame, which decodes to an equal message and re-encodes to
      the same bytes;
    - the frame less its last byte is refused, and the frame plus a byte
      is refused with ZR_ETRAILING.
    =========================================================================
*/
#include "../../transport/transport.h"
#include "fuzz.h"
#include "frames.h"

const char fuzz_target [] = "bus_wire";

/* Allocation bound: msgpack-c's zone. The walk lets through at most
   ZR_BUSMSG_OBJECTS_MAX objects (7,696) of 24 bytes; a full map's 3,840
   pairs (180 KiB) take one zone chunk of 256 KiB (sizes double from
   8 KiB), beside the frame's own: 512 KiB covers them; the decoded
   message points into the frame. */
#define S_ALLOC_MULTIPLE 0
#define S_ALLOC_CONSTANT (512 * 1024)


static void
s_check_bytes (zr_busmsg_bytes_t bytes, const uint8_t *data, size_t size,
               size_t min, size_t max, bool str)
{
    fuzz_check_bytes (bytes.data, bytes.size, data, size, min, max, str);
}

static bool
s_empty (zr_busmsg_bytes_t bytes)
{
    return bytes.size == 0 && bytes.data == NULL;
}

/* Walks a CURSORS_REPLY's map: n_cursors cursors, names in order. */
static void
s_check_cursors (const zr_busmsg_t *m, const uint8_t *data, size_t size)
{
    s_check_bytes (m->cursors, data, size, 1, size, false);
    FUZZ_CHECK (m->n_cursors <= ZR_BUSMSG_CURSORS_MAX);
    zr_busmsg_cursors_iter_t iter;
    zr_busmsg_cursors_iter (m, &iter);
    zr_busmsg_cursor_t cursor, previous = { { NULL, 0 }, 0 };
    uint32_t n = 0;
    while (zr_busmsg_cursors_next (&iter, &cursor)) {
        s_check_bytes (cursor.name, data, size, 1, ZR_BUSMSG_NAME_MAX, true);
        if (n > 0) {
            size_t common = previous.name.size < cursor.name.size
                          ? previous.name.size : cursor.name.size;
            int order = memcmp (previous.name.data, cursor.name.data, common);
            FUZZ_CHECK (order < 0 || (order == 0
                                      && previous.name.size < cursor.name.size));
        }
        previous = cursor;
        n++;
    }
    FUZZ_CHECK (n == m->n_cursors);
}

/* Walks a run (PUBLISH, ACK, DELIVER): n_records records keeping their
   type's rules (a DELIVER's in order), its first in the message's
   fields. */
static void
s_check_records (const zr_busmsg_t *m, const uint8_t *data, size_t size)
{
    int t = m->type;
    s_check_bytes (m->records, data, size, t == ZR_BUSMSG_ACK ? 3 : 4, size,
                   false);
    FUZZ_CHECK (m->n_records >= 1 && m->n_records <= ZR_BUSMSG_RUN_MAX);
    FUZZ_CHECK (t == ZR_BUSMSG_DELIVER
                || m->id <= UINT64_MAX - (m->n_records - 1));
    FUZZ_CHECK (m->records.data + m->records.size == data + size);
    zr_busmsg_records_iter_t iter;
    zr_busmsg_records_iter (m, &iter);
    zr_busmsg_record_t record;
    uint64_t last = 0;
    size_t bytes = 0;
    uint32_t n = 0;
    while (zr_busmsg_records_next (&iter, &record)) {
        if (t == ZR_BUSMSG_DELIVER)
            FUZZ_CHECK (record.index > last);
        if (t == ZR_BUSMSG_PUBLISH)
            FUZZ_CHECK (record.index == 0 && record.term == 0
                        && !record.duplicate
                        && (record.producer || !record.seq));
        else
            FUZZ_CHECK (record.index >= 1 && record.term >= 1
                        && record.producer == 0 && record.seq == 0);
        if (t == ZR_BUSMSG_ACK)
            FUZZ_CHECK (s_empty (record.subject) && s_empty (record.payload));
        else {
            FUZZ_CHECK (!record.duplicate);
            s_check_bytes (record.subject, data, size, 1,
                           ZR_BUSMSG_SUBJECT_MAX, true);
            s_check_bytes (record.payload, data, size, 0,
                           ZR_BUSMSG_PAYLOAD_MAX, false);
        }
        if (n == 0)
            FUZZ_CHECK (record.index == m->index && record.term == m->term
                        && record.subject.data == m->subject.data
                        && record.subject.size == m->subject.size
                        && record.payload.data == m->payload.data
                        && record.payload.size == m->payload.size
                        && record.producer == m->producer
                        && record.seq == m->seq
                        && record.duplicate == m->duplicate);
        bytes += record.subject.size + record.payload.size
                 + ZR_BUSMSG_RECORD_OVERHEAD;
        last = record.index;
        n++;
    }
    FUZZ_CHECK (n == m->n_records && iter.pos == iter.size);
    FUZZ_CHECK (bytes <= ZR_BUSMSG_RUN_BYTES_MAX);
}

/* Checks the fields of a decoded message against its type's rules. */
static void
s_check_msg (const zr_busmsg_t *m, const uint8_t *data, size_t size)
{
    int t = m->type;
    FUZZ_CHECK (t >= 1 && t <= ZR_BUSMSG_TYPE_MAX);
    FUZZ_CHECK (t == ZR_BUSMSG_HEARTBEAT ? m->id == 0
                : m->id >= 1 || (t == ZR_BUSMSG_ERROR
                                 && m->code == ZR_BUSMSG_CODE_MALFORMED));
    bool publication = t == ZR_BUSMSG_PUBLISH || t == ZR_BUSMSG_DELIVER;
    if (publication) {
        s_check_bytes (m->subject, data, size, 1, ZR_BUSMSG_SUBJECT_MAX, true);
        s_check_bytes (m->payload, data, size, 0, ZR_BUSMSG_PAYLOAD_MAX, false);
    }
    else
        FUZZ_CHECK (s_empty (m->subject) && s_empty (m->payload));
    FUZZ_CHECK (m->producer || !m->seq);
    if (t != ZR_BUSMSG_PUBLISH)
        FUZZ_CHECK (m->producer == 0);
    bool indexed = t == ZR_BUSMSG_ACK || t == ZR_BUSMSG_DELIVER;
    FUZZ_CHECK (indexed ? m->index >= 1 && m->term >= 1 : m->term == 0);
    if (t == ZR_BUSMSG_COMMIT_CURSOR)
        FUZZ_CHECK (m->index >= 1);
    else
    if (!indexed && t != ZR_BUSMSG_HEARTBEAT)
        FUZZ_CHECK (m->index == 0);
    FUZZ_CHECK (!m->duplicate || t == ZR_BUSMSG_ACK);
    s_check_bytes (m->endpoint, data, size, 0, ZR_BUSMSG_ENDPOINT_MAX, true);
    FUZZ_CHECK (t == ZR_BUSMSG_NOT_LEADER || s_empty (m->endpoint));
    s_check_bytes (m->text, data, size, 0, ZR_BUSMSG_TEXT_MAX, true);
    FUZZ_CHECK (t == ZR_BUSMSG_ERROR ? m->code >= 1
                                        && m->code <= ZR_BUSMSG_CODE_MAX
                                      : m->code == 0 && s_empty (m->text));
    bool subscribe = t == ZR_BUSMSG_SUBSCRIBE;
    FUZZ_CHECK (m->from_mode <= ZR_BUSMSG_FROM_MAX && (subscribe || !m->from_mode));
    FUZZ_CHECK ((m->from_mode == ZR_BUSMSG_FROM_INDEX && subscribe)
                == (m->from >= 1));
    s_check_bytes (m->prefix, data, size, 0, ZR_BUSMSG_SUBJECT_MAX, true);
    FUZZ_CHECK (subscribe || s_empty (m->prefix));
    FUZZ_CHECK (m->credit <= ZR_BUSMSG_CREDIT_MAX);
    FUZZ_CHECK (t == ZR_BUSMSG_CREDIT ? m->credit >= 1
                : subscribe || m->credit == 0);
    bool named = t == ZR_BUSMSG_COMMIT_CURSOR;
    s_check_bytes (m->name, data, size, named ? 1 : 0, ZR_BUSMSG_NAME_MAX, true);
    FUZZ_CHECK (named || subscribe || s_empty (m->name));
    if (t == ZR_BUSMSG_OK) {
        FUZZ_CHECK (m->first >= 1 && m->first - 1 <= m->last);
        FUZZ_CHECK (m->heartbeat_ms >= 1
                    && m->heartbeat_ms < m->timeout_ms
                    && m->timeout_ms <= ZR_BUSMSG_TIMEOUT_MS_MAX);
    }
    else
        FUZZ_CHECK (m->last == 0 && m->heartbeat_ms == 0
                    && m->timeout_ms == 0);
    FUZZ_CHECK (t == ZR_BUSMSG_OK || t == ZR_BUSMSG_OUT_OF_RANGE
                ? m->first >= 1 : m->first == 0);
    if (t == ZR_BUSMSG_CURSORS_REPLY)
        s_check_cursors (m, data, size);
    else
        FUZZ_CHECK (s_empty (m->cursors) && m->n_cursors == 0);
    if (t == ZR_BUSMSG_DELIVER || t == ZR_BUSMSG_PUBLISH || t == ZR_BUSMSG_ACK)
        s_check_records (m, data, size);
    else
        FUZZ_CHECK (s_empty (m->records) && m->n_records == 0);
    FUZZ_CHECK (m->run_max <= ZR_BUSMSG_RUN_MAX && (subscribe || !m->run_max));
}

static bool
s_bytes_equal (zr_busmsg_bytes_t a, zr_busmsg_bytes_t b)
{
    return fuzz_bytes_equal (a.data, a.size, b.data, b.size);
}

static void
s_check_equal (const zr_busmsg_t *a, const zr_busmsg_t *b)
{
    FUZZ_CHECK (a->type == b->type && a->id == b->id);
    FUZZ_CHECK (s_bytes_equal (a->subject, b->subject));
    FUZZ_CHECK (s_bytes_equal (a->payload, b->payload));
    FUZZ_CHECK (a->producer == b->producer && a->seq == b->seq);
    FUZZ_CHECK (a->index == b->index && a->term == b->term);
    FUZZ_CHECK (a->duplicate == b->duplicate);
    FUZZ_CHECK (s_bytes_equal (a->endpoint, b->endpoint));
    FUZZ_CHECK (a->code == b->code && s_bytes_equal (a->text, b->text));
    FUZZ_CHECK (a->from_mode == b->from_mode && a->from == b->from);
    FUZZ_CHECK (s_bytes_equal (a->prefix, b->prefix));
    FUZZ_CHECK (a->credit == b->credit && s_bytes_equal (a->name, b->name));
    FUZZ_CHECK (a->first == b->first && a->last == b->last);
    FUZZ_CHECK (a->heartbeat_ms == b->heartbeat_ms);
    FUZZ_CHECK (a->timeout_ms == b->timeout_ms);
    FUZZ_CHECK (s_bytes_equal (a->cursors, b->cursors));
    FUZZ_CHECK (a->n_cursors == b->n_cursors);
    FUZZ_CHECK (a->run_max == b->run_max && a->n_records == b->n_records);
    FUZZ_CHECK (s_bytes_equal (a->records, b->records));
}

/* What a failed decode leaves: type and id from the head, nothing else. */
static void
s_check_failed (const zr_busmsg_t *m, const uint8_t *data, size_t size)
{
    uint64_t head [3] = { 0, 0, 0 };
    if (zr_msgpack_walk_uints (data, size, head, 3) < 3)
        head [1] = head [2] = 0;
    bool known = head [1] >= 1 && head [1] <= ZR_BUSMSG_TYPE_MAX;
    FUZZ_CHECK ((uint64_t) m->type == (known ? head [1] : 0));
    FUZZ_CHECK (m->id == (m->type == ZR_BUSMSG_HEARTBEAT ? 0 : head [2]));
    zr_busmsg_t zero;
    memset (&zero, 0, sizeof zero);
    zero.type = m->type;
    zero.id = m->id;
    FUZZ_CHECK (memcmp (&zero, m, sizeof zero) == 0);
}

static int
s_decode (void *arg, const uint8_t *data, size_t size)
{
    (void) arg;
    zr_busmsg_t m;
    return zr_busmsg_decode (data, size, &m);
}

/* Re-encodes a decoded message, checks the round trip; returns the
   canonical frame's size. */
static size_t
s_round_trip (const zr_busmsg_t *msg)
{
    uint8_t *first, *second;
    size_t first_size, second_size;
    FUZZ_CHECK (zr_busmsg_encode (msg, &first, &first_size) == 0);
    zr_busmsg_t copy;
    FUZZ_CHECK (zr_busmsg_decode (first, first_size, &copy) == 0);
    s_check_equal (msg, &copy);
    FUZZ_CHECK (zr_busmsg_encode (&copy, &second, &second_size) == 0);
    FUZZ_CHECK (second_size == first_size);
    FUZZ_CHECK (memcmp (first, second, first_size) == 0);
    free (first);
    free (second);
    return first_size;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zr_busmsg_t msg;
    fuzz_alloc_begin ();
    int rc = zr_busmsg_decode (data, size, &msg);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_ALLOC_MULTIPLE,
                       S_ALLOC_CONSTANT);
    FUZZ_CHECK (rc == 0 || fuzz_is_decode_error (rc));
    if (rc == 0) {
        s_check_msg (&msg, data, size);
        FUZZ_CHECK (s_round_trip (&msg) <= size);
        fuzz_check_neighbours (data, size, ZR_BUSMSG_FRAME_MAX, s_decode,
                               NULL);
    }
    else
        s_check_failed (&msg, data, size);
    return 0;
}
