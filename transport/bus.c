/*  =========================================================================
    bus - the bus protocol's msgpack codec (see bus.h)

    Decoding runs as the client codec's does (client.c, with the shared
    steps of msgpack_tree.h): the frame size, the version element and
    the structural walk judge the raw bytes, msgpack-c builds a tree of at
    most ZR_BUSMSG_OBJECTS_MAX objects, the schema reads it field by field
    (s_msg_read), then the rules judge the whole (s_msg_check). The
    decoded message points into the caller's frame.

    A CURSORS_REPLY's map and a run's records (PUBLISH, ACK, DELIVER)
    are the fields read from the raw bytes rather than the tree: the
    message keeps their bytes (they are the frame's last elements, so
    they run to the frame's end), and s_cursors_check or s_records_check
    reads them once with a small reader (s_raw_t) that allocates
    nothing: names, order and limits checked, entries counted.
    zr_busmsg_cursors_next and zr_busmsg_records_next walk the same
    bytes later, so a reply of 3,840 cursors or a run of 256 deliveries
    needs no array. A run's element count says its records (3 + 4 n for
    PUBLISH and DELIVER, 3 + 3 n for ACK: s_record_fields); a SUBSCRIBE
    has 8 or 9 (run_max); every other type has one count (s_fields). A
    run whose head is in unsigned formats (as every encoder writes it)
    skips msgpack-c's tree altogether (s_run_decode: the same steps and
    codes, from the raw bytes), so a server reads each PUBLISH, and a
    client each ACK and DELIVER, once.

    A sender builds a run record by record (zr_busmsg_run_t: each
    checked as it is added, packed into the run's buffer); the message
    that carries it copies the records as given, as a CURSORS_REPLY's
    map is copied.

    The encoders check the same rules (so a frame we encode always
    decodes to what was encoded) and copy a CURSORS_REPLY's map as given.
    =========================================================================
*/
#include "transport.h"

_Static_assert (ZR_BUSMSG_DEPTH_MAX <= ZR_MSGPACK_WALK_DEPTH_MAX,
                "the walker takes the bus codec's depth");
_Static_assert (ZR_BUSMSG_FRAME_MAX <= UINT32_MAX, "lengths fit a bin32");
/* The largest record's headers: uint64 index and term (9 bytes each),
   str8 subject header (2), bin32 payload header (5); the largest head:
   array32 (5), version, type (1 each), uint64 id (9). */
_Static_assert (9 + 9 + 2 + 5 <= ZR_BUSMSG_RECORD_OVERHEAD
                && ZR_BUSMSG_RUN_BYTES_MAX + 5 + 1 + 1 + 9
                   <= ZR_BUSMSG_FRAME_MAX, "a full run fits a frame");
_Static_assert (3 + 4 * ZR_BUSMSG_RUN_MAX <= ZR_BUSMSG_OBJECTS_MAX,
                "a full run passes the walk");
/* A full map: per entry a str8 header and name, a uint64 (9 bytes). */
_Static_assert (ZR_BUSMSG_CURSORS_MAX * (2 + ZR_BUSMSG_NAME_MAX + 9) + 64
                <= ZR_BUSMSG_FRAME_MAX, "a full CURSORS_REPLY fits a frame");

#define S_HEAD 3                        /* version, type, id */
#define S_SUBSCRIBE_RUN 9               /* a SUBSCRIBE with its run_max */

/* Elements of a frame by type, version and type included (bus.h). */
static const uint32_t s_fields [] = { 0, 7, 6, 4, 5, 8, 7, 4, 7, 4, 3, 5, 3,
                                      4, 3 };
_Static_assert (sizeof s_fields / sizeof s_fields [0]
                == ZR_BUSMSG_TYPE_MAX + 1, "one count per type");

static const char *s_type_names [] = {
    "?", "PUBLISH", "ACK", "NOT_LEADER", "ERROR", "SUBSCRIBE", "OK",
    "OUT_OF_RANGE", "DELIVER", "CREDIT", "UNSUBSCRIBE", "COMMIT_CURSOR",
    "CURSORS", "CURSORS_REPLY", "HEARTBEAT"
};
static const char *s_code_names [] = {
    "?", "BUSY", "INVALID", "UNAVAILABLE", "UNKNOWN", "STALE", "MALFORMED"
};
_Static_assert (sizeof s_type_names / sizeof s_type_names [0]
                == ZR_BUSMSG_TYPE_MAX + 1, "one name per type");
_Static_assert (sizeof s_code_names / sizeof s_code_names [0]
                == ZR_BUSMSG_CODE_MAX + 1, "one name per code");

//  --------------------------------------------------------------------------
//  The raw reader of a cursors map (and of a frame's head)

/* Reads msgpack headers from bytes, never past size. */
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;                         /* Invariant: pos <= size */
} s_raw_t;

/* Reads n (<= 8) big-endian bytes; false if fewer are left. */
static bool
s_raw_be (s_raw_t *raw, size_t n, uint64_t *value)
{
    zr_assert (n <= 8 && raw->pos <= raw->size);
    if (raw->size - raw->pos < n)
        return false;
    *value = 0;
    for (size_t i = 0; i < n; i++)
        *value = (*value << 8) | raw->data [raw->pos++];
    return true;
}

/* Reads the format byte; false at the end. */
static bool
s_raw_byte (s_raw_t *raw, uint8_t *byte)
{
    if (raw->pos == raw->size)
        return false;
    *byte = raw->data [raw->pos++];
    return true;
}

/* Reads an integer >= 0 in any format (positive fixint, uint8..64,
   int8..64 holding a value >= 0). */
static bool
s_raw_uint (s_raw_t *raw, uint64_t *value)
{
    uint8_t byte;
    if (!s_raw_byte (raw, &byte))
        return false;
    if (byte <= 0x7f) {
        *value = byte;
        return true;
    }
    if (byte < 0xcc || byte > 0xd3)
        return false;
    size_t n = (size_t) 1 << ((byte - 0xcc) & 3);   /* 1, 2, 4, 8 bytes */
    if (!s_raw_be (raw, n, value))
        return false;
    /* Signed forms (0xd0..0xd3): the sign bit must be clear. */
    return byte <= 0xcf || (*value >> (8 * n - 1)) == 0;
}

/* Reads a str: its bytes (in place) and size. */
static bool
s_raw_str (s_raw_t *raw, const uint8_t **data, size_t *size)
{
    uint8_t byte;
    uint64_t length;
    if (!s_raw_byte (raw, &byte))
        return false;
    if (byte >= 0xa0 && byte <= 0xbf)
        length = (uint64_t) (byte & 0x1f);
    else
    if (byte < 0xd9 || byte > 0xdb
    ||  !s_raw_be (raw, (size_t) 1 << (byte - 0xd9), &length))
        return false;
    if (length > raw->size - raw->pos)
        return false;
    *data = raw->data + raw->pos;
    *size = (size_t) length;
    raw->pos += (size_t) length;
    return true;
}

/* Reads a bin: its bytes (in place, NULL when empty) and size. */
static bool
s_raw_bin (s_raw_t *raw, const uint8_t **data, size_t *size)
{
    uint8_t byte;
    uint64_t length;
    if (!s_raw_byte (raw, &byte) || byte < 0xc4 || byte > 0xc6
    ||  !s_raw_be (raw, (size_t) 1 << (byte - 0xc4), &length)
    ||  length > raw->size - raw->pos)
        return false;
    *data = length ? raw->data + raw->pos : NULL;
    *size = (size_t) length;
    raw->pos += (size_t) length;
    return true;
}

/* Reads a map header (fixmap, map16, map32): its entry count. */
static bool
s_raw_map (s_raw_t *raw, uint64_t *count)
{
    uint8_t byte;
    if (!s_raw_byte (raw, &byte))
        return false;
    if (byte >= 0x80 && byte <= 0x8f) {
        *count = (uint64_t) (byte & 0x0f);
        return true;
    }
    return (byte == 0xde && s_raw_be (raw, 2, count))
           || (byte == 0xdf && s_raw_be (raw, 4, count));
}

/* Reads an array header (fixarray, array16, array32): its count. */
static bool
s_raw_array (s_raw_t *raw, uint64_t *count)
{
    uint8_t byte;
    if (!s_raw_byte (raw, &byte))
        return false;
    *count = (uint64_t) (byte & 0x0f);
    return (byte >= 0x90 && byte <= 0x9f)
           || (byte == 0xdc && s_raw_be (raw, 2, count))
           || (byte == 0xdd && s_raw_be (raw, 4, count));
}

/* Skips a frame's head (array header, version, type, id): the offset of
   its first field after the id, or 0 if the head is not that; sets
   *count to the frame's elements. */
static size_t
s_raw_after_head (const uint8_t *data, size_t size, uint64_t *count)
{
    s_raw_t raw = { data, size, 0 };
    uint64_t skipped;
    bool head = s_raw_array (&raw, count) && s_raw_uint (&raw, &skipped)
                && s_raw_uint (&raw, &skipped) && s_raw_uint (&raw, &skipped);
    return head ? raw.pos : 0;
}

/* Orders names by their bytes, a shorter prefix first. */
static int
s_name_order (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    int rc = a_size && b_size ? memcmp (a, b, a_size < b_size ? a_size
                                                              : b_size) : 0;
    if (rc == 0)
        rc = a_size < b_size ? -1 : a_size > b_size ? 1 : 0;
    return rc;
}

/* Checks size bytes at data: exactly one map of at most
   ZR_BUSMSG_CURSORS_MAX entries {name: index}, names str 1..ZR_BUSMSG_NAME_MAX
   without NUL and strictly increasing; sets *n. Returns 0, ZR_ETOOBIG
   (too many entries, a name too long) or ZR_EMALFORMED. */
static int
s_cursors_check (const uint8_t *data, size_t size, uint32_t *n)
{
    s_raw_t raw = { data, size, 0 };
    uint64_t count;
    if (!data || !s_raw_map (&raw, &count))
        return ZR_EMALFORMED;
    if (count > ZR_BUSMSG_CURSORS_MAX)
        return ZR_ETOOBIG;
    const uint8_t *previous = NULL;
    size_t previous_size = 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *name;
        size_t name_size;
        uint64_t index;
        if (!s_raw_str (&raw, &name, &name_size))
            return ZR_EMALFORMED;
        if (name_size > ZR_BUSMSG_NAME_MAX)
            return ZR_ETOOBIG;
        if (name_size == 0 || memchr (name, 0, name_size)
        ||  (previous && s_name_order (previous, previous_size, name,
                                       name_size) >= 0)
        ||  !s_raw_uint (&raw, &index))
            return ZR_EMALFORMED;
        previous = name;
        previous_size = name_size;
    }
    if (raw.pos != raw.size)
        return ZR_EMALFORMED;
    *n = (uint32_t) count;
    return 0;
}

/* True for the types that carry a run of records. */
static bool
s_is_run (uint64_t type)
{
    return type == ZR_BUSMSG_PUBLISH || type == ZR_BUSMSG_ACK
           || type == ZR_BUSMSG_DELIVER;
}

/* Elements per record of a run's type. */
static uint32_t
s_record_fields (uint64_t type)
{
    return type == ZR_BUSMSG_ACK ? 3 : 4;
}

/* Reads a record's subject and payload (schema and limits). */
static int
s_raw_publication (s_raw_t *raw, zr_busmsg_record_t *record)
{
    if (!s_raw_str (raw, &record->subject.data, &record->subject.size))
        return ZR_EMALFORMED;
    if (record->subject.size > ZR_BUSMSG_SUBJECT_MAX)
        return ZR_ETOOBIG;
    if (!s_raw_bin (raw, &record->payload.data, &record->payload.size))
        return ZR_EMALFORMED;
    return record->payload.size > ZR_BUSMSG_PAYLOAD_MAX ? ZR_ETOOBIG : 0;
}

/* Reads one record of a run of type (schema and limits only): 0,
   ZR_ETOOBIG (a subject or payload over its limit) or ZR_EMALFORMED. */
static int
s_raw_record (s_raw_t *raw, uint64_t type, zr_busmsg_record_t *record)
{
    *record = (zr_busmsg_record_t) {0};
    if (type == ZR_BUSMSG_PUBLISH) {
        int rc = s_raw_publication (raw, record);
        if (rc)
            return rc;
        return s_raw_uint (raw, &record->producer)
               && s_raw_uint (raw, &record->seq) ? 0 : ZR_EMALFORMED;
    }
    if (!s_raw_uint (raw, &record->index) || !s_raw_uint (raw, &record->term))
        return ZR_EMALFORMED;
    if (type == ZR_BUSMSG_DELIVER)
        return s_raw_publication (raw, record);
    uint8_t byte;                       /* ACK: duplicate, a bool */
    if (!s_raw_byte (raw, &byte) || (byte != 0xc2 && byte != 0xc3))
        return ZR_EMALFORMED;
    record->duplicate = byte == 0xc3;
    return 0;
}

/* A record's rules but a DELIVER's order: index and term >= 1 (ACK,
   DELIVER), a subject (PUBLISH, DELIVER), producer 0 with seq 0
   (PUBLISH). */
static bool
s_record_valid (uint64_t type, const zr_busmsg_record_t *record)
{
    if (type != ZR_BUSMSG_PUBLISH && (record->index < 1 || record->term < 1))
        return false;
    if (type == ZR_BUSMSG_ACK)
        return true;
    if (type == ZR_BUSMSG_PUBLISH && record->producer == 0 && record->seq)
        return false;
    return record->subject.size >= 1 && record->subject.data
           && !memchr (record->subject.data, 0, record->subject.size);
}

/* What a record counts against ZR_BUSMSG_RUN_BYTES_MAX. */
static size_t
s_record_bytes (const zr_busmsg_record_t *record)
{
    return record->subject.size + record->payload.size
           + ZR_BUSMSG_RECORD_OVERHEAD;
}

/* Checks a run's records (type PUBLISH, ACK or DELIVER): exactly n
   (1..ZR_BUSMSG_RUN_MAX) records in bytes, each read as s_raw_record,
   then the run's size, then the rules (s_record_valid; a DELIVER's
   indexes strictly increasing); sets *first to the first record if
   first is not NULL. Returns 0, ZR_ETOOBIG or ZR_EMALFORMED. */
static int
s_records_check (uint64_t type, zr_busmsg_bytes_t bytes, uint32_t n,
                 zr_busmsg_record_t *first)
{
    if (n > ZR_BUSMSG_RUN_MAX)
        return ZR_ETOOBIG;
    if (n == 0 || !bytes.data)
        return ZR_EMALFORMED;
    s_raw_t raw = { bytes.data, bytes.size, 0 };
    bool valid = true;                  /* the rules, judged last */
    uint64_t last = 0;
    size_t run_bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        zr_busmsg_record_t record;
        int rc = s_raw_record (&raw, type, &record);
        if (rc)
            return rc;
        valid = valid && s_record_valid (type, &record)
                && (type != ZR_BUSMSG_DELIVER || record.index > last);
        last = record.index;
        run_bytes += s_record_bytes (&record);
        if (i == 0 && first)
            *first = record;
    }
    if (raw.pos != raw.size)
        return ZR_EMALFORMED;
    if (run_bytes > ZR_BUSMSG_RUN_BYTES_MAX)
        return ZR_ETOOBIG;
    return valid ? 0 : ZR_EMALFORMED;
}

//  --------------------------------------------------------------------------
//  The rules, shared by the decoder (checked) and the encoder (refused)

/* A subject or name: str of 1..max bytes. */
static int
s_name_check (zr_busmsg_bytes_t name, size_t max)
{
    int rc = zr_mp_str_check (name.data, name.size, max);
    return rc == 0 && name.size == 0 ? ZR_EMALFORMED : rc;
}

static int
s_str_check (zr_busmsg_bytes_t str, size_t max)
{
    return zr_mp_str_check (str.data, str.size, max);
}

static int
s_subscribe_check (const zr_busmsg_t *msg)
{
    int rc = s_str_check (msg->prefix, ZR_BUSMSG_SUBJECT_MAX);
    if (rc == 0)
        rc = s_str_check (msg->name, ZR_BUSMSG_NAME_MAX);
    if (rc == 0 && (msg->from_mode > ZR_BUSMSG_FROM_MAX
                    || (msg->from_mode == ZR_BUSMSG_FROM_INDEX)
                       != (msg->from > 0)
                    || msg->credit > ZR_BUSMSG_CREDIT_MAX
                    || msg->run_max > ZR_BUSMSG_RUN_MAX))
        rc = ZR_EMALFORMED;
    return rc;
}

/* PUBLISH and DELIVER: subject and payload. */
static int
s_publication_check (const zr_busmsg_t *msg)
{
    int rc = s_name_check (msg->subject, ZR_BUSMSG_SUBJECT_MAX);
    if (rc == 0)
        rc = zr_mp_bytes_check (msg->payload.data, msg->payload.size,
                                ZR_BUSMSG_PAYLOAD_MAX);
    return rc;
}

static bool
s_ok_valid (const zr_busmsg_t *msg)
{
    return msg->first >= 1 && msg->first - 1 <= msg->last
           && msg->heartbeat_ms >= 1
           && msg->heartbeat_ms <= ZR_BUSMSG_HEARTBEAT_MS_MAX
           && msg->timeout_ms > msg->heartbeat_ms
           && msg->timeout_ms <= ZR_BUSMSG_TIMEOUT_MS_MAX;
}

/* Returns 0, ZR_ETOOBIG or ZR_EMALFORMED for a message of a known type. */
static int
s_fields_check (const zr_busmsg_t *msg)
{
    int rc = 0;
    uint32_t n = 0;
    if (s_is_run (msg->type) && msg->n_records)
        return s_records_check (msg->type, msg->records, msg->n_records, NULL);
    switch (msg->type) {
    case ZR_BUSMSG_PUBLISH:
        rc = s_publication_check (msg);
        return rc ? rc : msg->producer == 0 && msg->seq ? ZR_EMALFORMED : 0;
    case ZR_BUSMSG_DELIVER:
        rc = s_publication_check (msg);
        return rc ? rc : msg->index && msg->term ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_ACK:
        return msg->index && msg->term ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_NOT_LEADER:
        return s_str_check (msg->endpoint, ZR_BUSMSG_ENDPOINT_MAX);
    case ZR_BUSMSG_ERROR:
        rc = s_str_check (msg->text, ZR_BUSMSG_TEXT_MAX);
        return rc ? rc : msg->code >= 1 && msg->code <= ZR_BUSMSG_CODE_MAX
                         ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_SUBSCRIBE:
        return s_subscribe_check (msg);
    case ZR_BUSMSG_OK:
        return s_ok_valid (msg) ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_OUT_OF_RANGE:
        return msg->first >= 1 ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_CREDIT:
        return msg->credit >= 1 && msg->credit <= ZR_BUSMSG_CREDIT_MAX
               ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_COMMIT_CURSOR:
        rc = s_name_check (msg->name, ZR_BUSMSG_NAME_MAX);
        return rc ? rc : msg->index >= 1 ? 0 : ZR_EMALFORMED;
    case ZR_BUSMSG_CURSORS_REPLY:
        rc = s_cursors_check (msg->cursors.data, msg->cursors.size, &n);
        return rc ? rc : n == msg->n_cursors ? 0 : ZR_EMALFORMED;
    default:
        return 0;                       /* UNSUBSCRIBE, CURSORS, HEARTBEAT */
    }
}

/* The id's rules: 0 only for HEARTBEAT and ERROR MALFORMED; a PUBLISH
   or ACK run's ids id..id + n - 1 within 64 bits. */
static bool
s_id_valid (const zr_busmsg_t *msg)
{
    if ((msg->type == ZR_BUSMSG_PUBLISH || msg->type == ZR_BUSMSG_ACK)
        && msg->n_records > 1 && msg->id > UINT64_MAX - (msg->n_records - 1))
        return false;
    return msg->id != 0 || msg->type == ZR_BUSMSG_HEARTBEAT
           || (msg->type == ZR_BUSMSG_ERROR
               && msg->code == ZR_BUSMSG_CODE_MALFORMED);
}

/* Returns 0, ZR_ETOOBIG or ZR_EMALFORMED for any message. */
static int
s_msg_check (const zr_busmsg_t *msg)
{
    if (msg->type < 1 || msg->type > ZR_BUSMSG_TYPE_MAX || !s_id_valid (msg))
        return ZR_EMALFORMED;
    return s_fields_check (msg);
}

/* Elements of a frame of msg's type, version and type included. */
static uint32_t
s_count (const zr_busmsg_t *msg)
{
    if (s_is_run (msg->type))
        return S_HEAD + s_record_fields (msg->type) * (msg->n_records
                                                       ? msg->n_records : 1);
    if (msg->type == ZR_BUSMSG_SUBSCRIBE && msg->run_max)
        return S_SUBSCRIBE_RUN;
    return s_fields [msg->type];
}

/* Judges a frame's element count for type (known): 0, ZR_ETOOBIG (a
   run of more than ZR_BUSMSG_RUN_MAX records) or ZR_EMALFORMED. */
static int
s_count_check (uint64_t type, uint32_t count)
{
    if (s_is_run (type)) {
        uint32_t fields = s_record_fields (type);
        if (count < S_HEAD + fields || (count - S_HEAD) % fields)
            return ZR_EMALFORMED;
        return (count - S_HEAD) / fields > ZR_BUSMSG_RUN_MAX ? ZR_ETOOBIG : 0;
    }
    if (type == ZR_BUSMSG_SUBSCRIBE && count == S_SUBSCRIBE_RUN)
        return 0;
    return count == s_fields [type] ? 0 : ZR_EMALFORMED;
}

//  --------------------------------------------------------------------------
//  Schema: msgpack-c's object tree into a message

static zr_busmsg_bytes_t
s_read_str (zr_mp_reader_t *reader, size_t max)
{
    zr_busmsg_bytes_t bytes;
    bytes.size = zr_mp_read_bytes (reader, MSGPACK_OBJECT_STR, max,
                                   &bytes.data);
    return bytes;
}

/* Reads a CURSORS_REPLY's map: a MAP object of at most
   ZR_BUSMSG_CURSORS_MAX entries in the tree, its bytes from the frame (the
   last element: from after the head to the end). */
static void
s_cursors_read (zr_mp_reader_t *reader, const uint8_t *data, size_t size,
                zr_busmsg_t *msg)
{
    const msgpack_object *map = zr_mp_next (reader);
    if (!map || map->type != MSGPACK_OBJECT_MAP) {
        zr_mp_fail (reader, ZR_EMALFORMED);
        return;
    }
    if (map->via.map.size > ZR_BUSMSG_CURSORS_MAX) {
        zr_mp_fail (reader, ZR_ETOOBIG);
        return;
    }
    /* The tree said the head is an array of three integers >= 0. */
    uint64_t count;
    size_t pos = s_raw_after_head (data, size, &count);
    if (!pos) {
        zr_mp_fail (reader, ZR_EMALFORMED);     /* unreachable */
        return;
    }
    msg->cursors = (zr_busmsg_bytes_t) { data + pos, size - pos };
    int rc = s_cursors_check (msg->cursors.data, msg->cursors.size,
                              &msg->n_cursors);
    zr_mp_fail (reader, rc);
}

/* Reads a run's records (msg->type's) from the frame's bytes after its
   head (count: the frame's elements), its first into the message's
   fields. Returns 0 or s_records_check's code. */
static int
s_records_take (const uint8_t *data, size_t size, uint32_t count,
                zr_busmsg_t *msg)
{
    uint64_t elements;
    size_t pos = s_raw_after_head (data, size, &elements);
    if (!pos)
        return ZR_EMALFORMED;           /* unreachable: the head was read */
    uint32_t n = (count - S_HEAD) / s_record_fields (msg->type);
    zr_busmsg_bytes_t records = { data + pos, size - pos };
    zr_busmsg_record_t first;
    int rc = s_records_check (msg->type, records, n, &first);
    if (rc == 0) {
        msg->records = records;
        msg->n_records = n;
        msg->index = first.index;
        msg->term = first.term;
        msg->subject = first.subject;
        msg->payload = first.payload;
        msg->producer = first.producer;
        msg->seq = first.seq;
        msg->duplicate = first.duplicate;
    }
    return rc;
}

/* A run (PUBLISH, ACK, DELIVER: type) from the raw bytes alone, without
   msgpack-c's tree (a run is read once, by s_records_check): for frames
   whose head the caller read as unsigned integers [version, type, id,
   ...]. The same steps and codes as the tree's way (zr_mp_unpack's,
   then s_msg_decode's). */
static int
s_run_decode (const uint8_t *data, size_t size, uint64_t type, uint64_t id,
              zr_busmsg_t *msg)
{
    if (size > ZR_BUSMSG_FRAME_MAX)
        return ZR_ETOOBIG;
    int rc = zr_msgpack_walk_version (data, size, ZR_BUSMSG_VERSION);
    if (rc == 0)
        rc = zr_msgpack_walk (data, size, ZR_BUSMSG_DEPTH_MAX,
                              ZR_BUSMSG_OBJECTS_MAX);
    uint64_t count = 0;
    if (rc == 0 && !s_raw_after_head (data, size, &count))
        rc = ZR_EMALFORMED;             /* unreachable: the head was read */
    /* The walk bounds count by the objects a frame may claim. */
    if (rc == 0)
        rc = s_count_check (type, (uint32_t) count);
    if (rc)
        return rc;
    msg->type = (zr_busmsg_type_t) type;
    msg->id = id;
    rc = s_records_take (data, size, (uint32_t) count, msg);
    return rc ? rc : s_id_valid (msg) ? 0 : ZR_EMALFORMED;
}

/* Reads the fields after the head of a message of a known type, of
   count elements in all. */
static void
s_msg_read (zr_mp_reader_t *r, const uint8_t *data, size_t size,
            uint32_t count, zr_busmsg_t *msg)
{
    switch (msg->type) {
    case ZR_BUSMSG_PUBLISH:             /* runs: a head in signed formats */
    case ZR_BUSMSG_ACK:
    case ZR_BUSMSG_DELIVER:
        zr_mp_fail (r, s_records_take (data, size, count, msg));
        break;
    case ZR_BUSMSG_NOT_LEADER:
        msg->endpoint = s_read_str (r, ZR_BUSMSG_ENDPOINT_MAX);
        break;
    case ZR_BUSMSG_ERROR:
        msg->code = zr_mp_read_u32 (r);
        msg->text = s_read_str (r, ZR_BUSMSG_TEXT_MAX);
        break;
    case ZR_BUSMSG_SUBSCRIBE:
        msg->from_mode = zr_mp_read_u32 (r);
        msg->from = zr_mp_read_uint (r);
        msg->prefix = s_read_str (r, ZR_BUSMSG_SUBJECT_MAX);
        msg->credit = zr_mp_read_u32 (r);
        msg->name = s_read_str (r, ZR_BUSMSG_NAME_MAX);
        if (count == S_SUBSCRIBE_RUN) {
            msg->run_max = zr_mp_read_u32 (r);
            if (msg->run_max == 0)      /* present: 1.. (bus.h) */
                zr_mp_fail (r, ZR_EMALFORMED);
        }
        break;
    case ZR_BUSMSG_OK:
        msg->first = zr_mp_read_uint (r);
        msg->last = zr_mp_read_uint (r);
        msg->heartbeat_ms = zr_mp_read_u32 (r);
        msg->timeout_ms = zr_mp_read_u32 (r);
        break;
    case ZR_BUSMSG_OUT_OF_RANGE:
        msg->first = zr_mp_read_uint (r);
        break;
    case ZR_BUSMSG_CREDIT:
        msg->credit = zr_mp_read_u32 (r);
        break;
    case ZR_BUSMSG_COMMIT_CURSOR:
        msg->name = s_read_str (r, ZR_BUSMSG_NAME_MAX);
        msg->index = zr_mp_read_uint (r);
        break;
    case ZR_BUSMSG_CURSORS_REPLY:
        s_cursors_read (r, data, size, msg);
        break;
    case ZR_BUSMSG_HEARTBEAT:
        msg->index = zr_mp_read_uint (r);
        break;
    default:
        break;                          /* UNSUBSCRIBE, CURSORS */
    }
}

/* Reads a message from the tree (precedence step 4, then 5). */
static int
s_msg_decode (const msgpack_object *root, const uint8_t *data, size_t size,
              zr_busmsg_t *msg)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2)
        return ZR_EMALFORMED;
    zr_mp_reader_t reader;
    zr_mp_reader_init (&reader, root);
    uint64_t version = zr_mp_read_uint (&reader);
    if (reader.rc)
        return reader.rc;
    if (version != ZR_BUSMSG_VERSION)
        return ZR_EVERSION;
    uint64_t type = zr_mp_read_uint (&reader);
    if (reader.rc || type < 1 || type > ZR_BUSMSG_TYPE_MAX)
        return ZR_EMALFORMED;
    uint32_t count = root->via.array.size;
    int rc = s_count_check (type, count);
    if (rc)
        return rc;
    msg->type = (zr_busmsg_type_t) type;
    if (msg->type != ZR_BUSMSG_HEARTBEAT)
        msg->id = zr_mp_read_uint (&reader);
    s_msg_read (&reader, data, size, count, msg);
    if (reader.rc)
        return reader.rc;
    /* A run's records were checked whole as they were read. */
    if (s_is_run (msg->type))
        return s_id_valid (msg) ? 0 : ZR_EMALFORMED;
    return s_msg_check (msg);
}

int
zr_busmsg_decode (const uint8_t *data, size_t size, zr_busmsg_t *msg)
{
    zr_assert (msg);
    zr_assert (data || size == 0);
    memset (msg, 0, sizeof *msg);
    uint64_t head [S_HEAD];
    bool plain = zr_msgpack_walk_uints (data, size, head, S_HEAD) == S_HEAD;
    int rc;
    if (plain && s_is_run (head [1]))
        rc = s_run_decode (data, size, head [1], head [2], msg);
    else {
        msgpack_unpacked result;
        msgpack_unpacked_init (&result);
        rc = zr_mp_unpack (data, size, ZR_BUSMSG_VERSION, ZR_BUSMSG_FRAME_MAX,
                           ZR_BUSMSG_DEPTH_MAX, ZR_BUSMSG_OBJECTS_MAX, &result);
        if (rc == 0)
            rc = s_msg_decode (&result.data, data, size, msg);
        msgpack_unpacked_destroy (&result);
    }
    if (rc) {
        /* What the frame's head says of it, for an ERROR MALFORMED. */
        memset (msg, 0, sizeof *msg);
        if (plain) {
            bool known = head [1] >= 1 && head [1] <= ZR_BUSMSG_TYPE_MAX;
            msg->type = (zr_busmsg_type_t) (known ? head [1] : 0);
            msg->id = msg->type == ZR_BUSMSG_HEARTBEAT ? 0 : head [2];
        }
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoder

static int
s_pack_str (msgpack_packer *pk, zr_busmsg_bytes_t str)
{
    return zr_mp_pack_str (pk, str.data, str.size);
}

static int
s_pack_bin (msgpack_packer *pk, zr_busmsg_bytes_t bytes)
{
    return zr_mp_pack_bin (pk, bytes.data, bytes.size);
}

/* Packs the head: the array of s_count (msg) elements, version, type
   and (but for HEARTBEAT) id. Returns 0 or -1 if the output is full. */
static int
s_head_pack (msgpack_packer *pk, const zr_busmsg_t *msg)
{
    int rc = msgpack_pack_array (pk, s_count (msg));
    rc |= msgpack_pack_uint64 (pk, ZR_BUSMSG_VERSION);
    rc |= msgpack_pack_uint64 (pk, msg->type);
    if (msg->type != ZR_BUSMSG_HEARTBEAT)
        rc |= msgpack_pack_uint64 (pk, msg->id);
    return rc;
}

/* Packs the fields after the head (returns 0 or -1 if the output is full). */
static int
s_fields_pack (msgpack_packer *pk, const zr_busmsg_t *msg)
{
    if (s_is_run (msg->type) && msg->n_records)     /* the checked run, */
        return pk->callback (pk->data, (const char *) msg->records.data,
                             msg->records.size);    /* as it is */
    switch (msg->type) {
    case ZR_BUSMSG_PUBLISH:
        return s_pack_str (pk, msg->subject) | s_pack_bin (pk, msg->payload)
               | msgpack_pack_uint64 (pk, msg->producer)
               | msgpack_pack_uint64 (pk, msg->seq);
    case ZR_BUSMSG_ACK:
        return msgpack_pack_uint64 (pk, msg->index)
               | msgpack_pack_uint64 (pk, msg->term)
               | zr_mp_pack_bool (pk, msg->duplicate);
    case ZR_BUSMSG_NOT_LEADER:
        return s_pack_str (pk, msg->endpoint);
    case ZR_BUSMSG_ERROR:
        return msgpack_pack_uint64 (pk, msg->code) | s_pack_str (pk, msg->text);
    case ZR_BUSMSG_SUBSCRIBE:
        return msgpack_pack_uint64 (pk, msg->from_mode)
               | msgpack_pack_uint64 (pk, msg->from)
               | s_pack_str (pk, msg->prefix)
               | msgpack_pack_uint64 (pk, msg->credit)
               | s_pack_str (pk, msg->name)
               | (msg->run_max ? msgpack_pack_uint64 (pk, msg->run_max) : 0);
    case ZR_BUSMSG_OK:
        return msgpack_pack_uint64 (pk, msg->first)
               | msgpack_pack_uint64 (pk, msg->last)
               | msgpack_pack_uint64 (pk, msg->heartbeat_ms)
               | msgpack_pack_uint64 (pk, msg->timeout_ms);
    case ZR_BUSMSG_OUT_OF_RANGE:
        return msgpack_pack_uint64 (pk, msg->first);
    case ZR_BUSMSG_DELIVER:
        return msgpack_pack_uint64 (pk, msg->index)
               | msgpack_pack_uint64 (pk, msg->term)
               | s_pack_str (pk, msg->subject) | s_pack_bin (pk, msg->payload);
    case ZR_BUSMSG_CREDIT:
        return msgpack_pack_uint64 (pk, msg->credit);
    case ZR_BUSMSG_COMMIT_CURSOR:
        return s_pack_str (pk, msg->name)
               | msgpack_pack_uint64 (pk, msg->index);
    case ZR_BUSMSG_CURSORS_REPLY:
        /* The checked map, as it is. */
        return pk->callback (pk->data, (const char *) msg->cursors.data,
                             msg->cursors.size);
    case ZR_BUSMSG_HEARTBEAT:
        return msgpack_pack_uint64 (pk, msg->index);
    default:
        return 0;                       /* UNSUBSCRIBE, CURSORS */
    }
}

/* Packs a checked message; returns 0 or -1 if the output is full. */
static int
s_msg_pack (msgpack_packer *pk, const void *arg)
{
    const zr_busmsg_t *msg = (const zr_busmsg_t *) arg;
    return s_head_pack (pk, msg) | s_fields_pack (pk, msg);
}

int
zr_busmsg_encode (const zr_busmsg_t *msg, uint8_t **data, size_t *size)
{
    zr_assert (msg);
    zr_assert (data && size);
    if (s_msg_check (msg) != 0)
        return ZR_EINVAL;
    return zr_mp_encode (s_msg_pack, msg, ZR_BUSMSG_FRAME_MAX, data, size);
}

//  --------------------------------------------------------------------------
//  Cursors

static int
s_cursor_compare (const void *a, const void *b)
{
    const zr_busmsg_cursor_t *x = (const zr_busmsg_cursor_t *) a;
    const zr_busmsg_cursor_t *y = (const zr_busmsg_cursor_t *) b;
    return s_name_order (x->name.data, x->name.size, y->name.data,
                         y->name.size);
}

/* Cursors for the packer. */
typedef struct {
    const zr_busmsg_cursor_t *cursors;     /* sorted, checked */
    size_t n;
} s_cursor_list_t;

/* Packs a cursor list as a map. */
static int
s_cursors_pack (msgpack_packer *pk, const void *arg)
{
    const s_cursor_list_t *list = (const s_cursor_list_t *) arg;
    int rc = msgpack_pack_map (pk, list->n);
    for (size_t i = 0; i < list->n; i++)
        rc |= s_pack_str (pk, list->cursors [i].name)
              | msgpack_pack_uint64 (pk, list->cursors [i].index);
    return rc;
}

int
zr_busmsg_cursors_encode (zr_busmsg_cursor_t *cursors, size_t n, uint8_t **data,
                       size_t *size)
{
    zr_assert (cursors || n == 0);
    zr_assert (data && size);
    if (n > ZR_BUSMSG_CURSORS_MAX)
        return ZR_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (s_name_check (cursors [i].name, ZR_BUSMSG_NAME_MAX) != 0)
            return ZR_EINVAL;
    if (n > 1)
        qsort (cursors, n, sizeof *cursors, s_cursor_compare);
    for (size_t i = 1; i < n; i++)
        if (s_cursor_compare (&cursors [i - 1], &cursors [i]) == 0)
            return ZR_EINVAL;
    s_cursor_list_t list = { cursors, n };
    return zr_mp_encode (s_cursors_pack, &list, ZR_BUSMSG_FRAME_MAX, data,
                         size);
}

void
zr_busmsg_cursors_iter (const zr_busmsg_t *msg, zr_busmsg_cursors_iter_t *iter)
{
    zr_assert (msg && iter);
    zr_assert (msg->type == ZR_BUSMSG_CURSORS_REPLY);
    memset (iter, 0, sizeof *iter);
    s_raw_t raw = { msg->cursors.data, msg->cursors.size, 0 };
    uint64_t count;
    if (msg->cursors.data && s_raw_map (&raw, &count)
    &&  count <= ZR_BUSMSG_CURSORS_MAX) {
        iter->data = msg->cursors.data;
        iter->size = msg->cursors.size;
        iter->pos = raw.pos;
        iter->left = (uint32_t) count;
    }
}

bool
zr_busmsg_cursors_next (zr_busmsg_cursors_iter_t *iter,
                        zr_busmsg_cursor_t *cursor)
{
    zr_assert (iter && cursor);
    if (iter->left == 0)
        return false;
    s_raw_t raw = { iter->data, iter->size, iter->pos };
    /* The map was checked when it was decoded or encoded; a map that
       was not ends the walk here rather than misreading it. */
    if (!s_raw_str (&raw, &cursor->name.data, &cursor->name.size)
    ||  !s_raw_uint (&raw, &cursor->index)) {
        iter->left = 0;
        return false;
    }
    iter->pos = raw.pos;
    iter->left--;
    return true;
}

//  --------------------------------------------------------------------------
//  Records: a run's walk, a sender's run

void
zr_busmsg_records_iter (const zr_busmsg_t *msg, zr_busmsg_records_iter_t *iter)
{
    zr_assert (msg && iter);
    zr_assert (s_is_run (msg->type));
    memset (iter, 0, sizeof *iter);
    iter->type = msg->type;
    if (msg->n_records == 0) {
        bool publish = msg->type == ZR_BUSMSG_PUBLISH;
        bool ack = msg->type == ZR_BUSMSG_ACK;
        iter->single = (zr_busmsg_record_t) {
            .index = publish ? 0 : msg->index,
            .term = publish ? 0 : msg->term,
            .subject = ack ? (zr_busmsg_bytes_t) {0} : msg->subject,
            .payload = ack ? (zr_busmsg_bytes_t) {0} : msg->payload,
            .producer = publish ? msg->producer : 0,
            .seq = publish ? msg->seq : 0,
            .duplicate = ack && msg->duplicate};
        iter->left = 1;
        return;
    }
    iter->data = msg->records.data;
    iter->size = msg->records.size;
    iter->left = msg->n_records <= ZR_BUSMSG_RUN_MAX ? msg->n_records : 0;
}

bool
zr_busmsg_records_next (zr_busmsg_records_iter_t *iter,
                        zr_busmsg_record_t *record)
{
    zr_assert (iter && record);
    if (iter->left == 0)
        return false;
    if (!iter->data) {
        *record = iter->single;
        iter->left = 0;
        return true;
    }
    /* The run was checked when it was decoded or encoded; one that was
       not ends the walk here rather than misreading it. */
    s_raw_t raw = { iter->data, iter->size, iter->pos };
    if (s_raw_record (&raw, iter->type, record) != 0) {
        iter->left = 0;
        return false;
    }
    iter->pos = raw.pos;
    iter->left--;
    return true;
}

/* msgpack-c's writer into a run's buffer (grown by doubling). */
static int
s_run_write (void *data, const char *buf, size_t len)
{
    zr_busmsg_run_t *run = (zr_busmsg_run_t *) data;
    if (run->capacity - run->size < len) {
        size_t capacity = run->capacity ? run->capacity : 4096;
        while (capacity - run->size < len)
            capacity *= 2;
        uint8_t *grown = (uint8_t *) realloc (run->data, capacity);
        if (!grown)
            return -1;
        run->data = grown;
        run->capacity = capacity;
    }
    memcpy (run->data + run->size, buf, len);
    run->size += len;
    return 0;
}

int
zr_busmsg_run_add (zr_busmsg_run_t *run, const zr_busmsg_record_t *record,
                   uint32_t max)
{
    zr_assert (run && record);
    zr_busmsg_type_t type = run->type ? run->type : ZR_BUSMSG_DELIVER;
    zr_assert (s_is_run (type));
    bool ack = type == ZR_BUSMSG_ACK;
    if (!s_record_valid (type, record)
    ||  (!ack && (record->subject.size > ZR_BUSMSG_SUBJECT_MAX
                  || record->payload.size > ZR_BUSMSG_PAYLOAD_MAX
                  || (record->payload.size && !record->payload.data)))
    ||  (type == ZR_BUSMSG_DELIVER && run->n && record->index <= run->last))
        return ZR_EINVAL;
    max = max < 1 ? 1 : max > ZR_BUSMSG_RUN_MAX ? ZR_BUSMSG_RUN_MAX : max;
    size_t bytes = ack ? ZR_BUSMSG_RECORD_OVERHEAD : s_record_bytes (record);
    if (run->n >= max || run->bytes + bytes > ZR_BUSMSG_RUN_BYTES_MAX)
        return ZR_EBUSY;
    size_t size = run->size;
    msgpack_packer pk;
    msgpack_packer_init (&pk, run, s_run_write);
    int rc;
    if (type == ZR_BUSMSG_PUBLISH)
        rc = s_pack_str (&pk, record->subject)
             | s_pack_bin (&pk, record->payload)
             | msgpack_pack_uint64 (&pk, record->producer)
             | msgpack_pack_uint64 (&pk, record->seq);
    else
    if (ack)
        rc = msgpack_pack_uint64 (&pk, record->index)
             | msgpack_pack_uint64 (&pk, record->term)
             | zr_mp_pack_bool (&pk, record->duplicate);
    else
        rc = msgpack_pack_uint64 (&pk, record->index)
             | msgpack_pack_uint64 (&pk, record->term)
             | s_pack_str (&pk, record->subject)
             | s_pack_bin (&pk, record->payload);
    if (rc != 0) {
        run->size = size;               /* unchanged */
        return ZR_ENOMEM;
    }
    run->n++;
    run->last = record->index;
    run->bytes += bytes;
    return 0;
}

size_t
zr_busmsg_run_head (const zr_busmsg_run_t *run, uint64_t id, uint8_t *head)
{
    zr_assert (run && head);
    zr_busmsg_t msg = {.type = run->type ? run->type : ZR_BUSMSG_DELIVER,
                       .id = id, .n_records = run->n};
    zr_assert (s_is_run (msg.type));
    if (run->n == 0 || run->n > ZR_BUSMSG_RUN_MAX || !s_id_valid (&msg))
        return 0;
    zr_msgpack_out_t out = {head, ZR_BUSMSG_RUN_HEAD_MAX, 0};
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, zr_msgpack_out_write);
    int rc = s_head_pack (&pk, &msg);
    zr_assert (rc == 0);                /* 16 bytes hold any head */
    return out.used;
}

void
zr_busmsg_run_reset (zr_busmsg_run_t *run, size_t keep)
{
    zr_assert (run);
    bool kept = run->capacity <= keep;
    if (!kept)
        free (run->data);
    *run = (zr_busmsg_run_t) {.type = run->type,
                              .data = kept ? run->data : NULL,
                              .capacity = kept ? run->capacity : 0};
}

void
zr_busmsg_run_free (zr_busmsg_run_t *run)
{
    zr_assert (run);
    free (run->data);
    *run = (zr_busmsg_run_t) {.type = run->type};
}

//  --------------------------------------------------------------------------
//  Directions and names

bool
zr_busmsg_from_client (int type)
{
    return type == ZR_BUSMSG_PUBLISH || type == ZR_BUSMSG_SUBSCRIBE
           || type == ZR_BUSMSG_CREDIT || type == ZR_BUSMSG_UNSUBSCRIBE
           || type == ZR_BUSMSG_COMMIT_CURSOR || type == ZR_BUSMSG_CURSORS
           || type == ZR_BUSMSG_HEARTBEAT;
}

bool
zr_busmsg_from_server (int type)
{
    return (type >= 1 && type <= ZR_BUSMSG_TYPE_MAX
            && !zr_busmsg_from_client (type))
           || type == ZR_BUSMSG_HEARTBEAT;
}

const char *
zr_busmsg_type_name (int type)
{
    return type >= 1 && type <= ZR_BUSMSG_TYPE_MAX ? s_type_names [type] : "?";
}

const char *
zr_busmsg_code_name (int code)
{
    return code >= 1 && code <= ZR_BUSMSG_CODE_MAX ? s_code_names [code] : "?";
}
