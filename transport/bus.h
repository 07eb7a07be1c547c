/*  =========================================================================
    bus - the bus protocol: msgpack messages between a bus client
    (zraft-ctl pub/sub, bin/lib/busclient.h, a program) and zraft-node's
    bus endpoint

    A client connects a DEALER to a server's bus endpoint (a ROUTER,
    zraft-node --listen-bus) and sends one frame per message; the server
    sends one frame per message back. Requests (PUBLISH, COMMIT_CURSOR,
    CURSORS) are answered once each, carrying the request's id, in any
    order; a subscription (SUBSCRIBE) is answered by OK, then DELIVERs
    carrying the subscription's id, each a run of consecutive deliveries
    (at most the SUBSCRIBE's run_max; one if it has none), one delivery
    per credit the client gave.
    HEARTBEAT flows both ways while a subscription is idle. Like the
    client codec (client.h), this one treats every frame as hostile: it
    never asserts on input, never allocates more than a constant factor
    of the frame's size, and reports what is wrong with a distinct ZR_E*
    code. docs/PROTOCOL.md ("The bus protocol") is the user's description
    of the same tables.

    A frame is one msgpack array [version, type, fields...]. Integers are
    unsigned, bools msgpack true/false, payloads bin, subjects, names,
    endpoints and texts str (no NUL byte).

    | type (wire)        | dir | fields after type                   | n |
    |--------------------|-----|-------------------------------------|---|
    | PUBLISH (1)        | c>s | id, then a run of 1..RUN_MAX        |3+ |
    |                    |     | publications: subject, payload,     |4n |
    |                    |     | producer, seq each (ids id..id+n-1) |   |
    | ACK (2)            | s>c | id, then a run of 1..RUN_MAX acks:  |3+ |
    |                    |     | index, term, duplicate (bool) each  |3n |
    |                    |     | (ids id..id+n-1)                    |   |
    | NOT_LEADER (3)     | s>c | id, leader's bus endpoint ("": ?)   | 4 |
    | ERROR (4)          | s>c | id, code, text                      | 5 |
    | SUBSCRIBE (5)      | c>s | id, from_mode, from, prefix, credit,| 8 |
    |                    |     | cursor name ("": none) [, run_max]  | 9 |
    | OK (6)             | s>c | id, first, last, heartbeat_ms,      | 7 |
    |                    |     | timeout_ms                          |   |
    | OUT_OF_RANGE (7)   | s>c | id, first                           | 4 |
    | DELIVER (8)        | s>c | id, then a run of 1..RUN_MAX        |3+ |
    |                    |     | records: index, term, subject,      |4n |
    |                    |     | payload each                        |   |
    | CREDIT (9)         | c>s | id, credit                          | 4 |
    | UNSUBSCRIBE (10)   | c>s | id                                  | 3 |
    | COMMIT_CURSOR (11) | c>s | id, name, index                     | 5 |
    | CURSORS (12)       | c>s | id                                  | 3 |
    | CURSORS_REPLY (13) | s>c | id, cursors: map {name str: index}  | 4 |
    | HEARTBEAT (14)     | both| index (s>c: last committed; c>s:    | 3 |
    |                    |     | last delivered, 0 if none)          |   |

    Runs. PUBLISH, ACK and DELIVER carry a run of records (a PUBLISH or
    ACK of one record is the same bytes as before runs existed). The
    k-th publication of a PUBLISH run (k from 0) is request id + k, and
    is answered on that id, as if it came alone; a server joins the ACKs
    of publications that came in one PUBLISH run of two or more into ACK
    runs (the k-th ack answers id + k), never the ACKs of publications
    sent alone, so a client that sends no runs gets none.

    Answers: PUBLISH -> ACK | NOT_LEADER | ERROR (each publication); COMMIT_CURSOR -> ACK
    (duplicate false) | NOT_LEADER | ERROR; CURSORS -> CURSORS_REPLY |
    NOT_LEADER | ERROR; SUBSCRIBE -> OK | OUT_OF_RANGE | NOT_LEADER (a
    cursor named: only the leader reads it) | ERROR, then DELIVERs; a
    subscription the server ends says OUT_OF_RANGE or ERROR with its id.
    CREDIT, UNSUBSCRIBE and HEARTBEAT get no answer (an unknown
    subscription's CREDIT: ERROR INVALID).

    Error codes, and what a publisher may conclude:
    | code (wire)     | meaning                                 | applied? |
    |-----------------|-----------------------------------------|----------|
    | BUSY (1)        | back-pressure or a transfer: retry      | no       |
    | INVALID (2)     | refused: bad subject, sub id in use,    | no       |
    |                 | unknown subscription, not a request     |          |
    | UNAVAILABLE (3) | shutting down, or the disk failed       | no       |
    | UNKNOWN (4)     | leadership lost with the entry in       | maybe:   |
    |                 | flight: retry, same producer and seq    | retry    |
    | STALE (5)       | seq below the producer's dedup window   | maybe    |
    | MALFORMED (6)   | the frame did not decode                | no       |
    An ERROR to a frame whose id could not be read carries id 0, code
    MALFORMED.

    Rules (checked by the decoder, refused by the encoder): id >= 1 (an
    ERROR's may be 0, with MALFORMED); subject 1..ZR_BUSMSG_SUBJECT_MAX,
    name 1..ZR_BUSMSG_NAME_MAX (SUBSCRIBE's cursor: 0..), prefix
    0..ZR_BUSMSG_SUBJECT_MAX, endpoint 0..ZR_BUSMSG_ENDPOINT_MAX, text
    0..ZR_BUSMSG_TEXT_MAX bytes; payload at most ZR_BUSMSG_PAYLOAD_MAX; producer
    0 (no deduplication) comes with seq 0; ACK carries index and
    term >= 1, COMMIT_CURSOR index >= 1; code 1..ZR_BUSMSG_CODE_MAX;
    from_mode 0..3 (zr_busmsg_from_t), from >= 1 with mode INDEX and 0
    otherwise; credit 0..ZR_BUSMSG_CREDIT_MAX on SUBSCRIBE, 1.. on CREDIT;
    SUBSCRIBE's run_max, when present, 1..ZR_BUSMSG_RUN_MAX (the
    9-element form; the 8-element form means 1, decoded as 0); a PUBLISH,
    ACK or DELIVER holds 1..ZR_BUSMSG_RUN_MAX records (more: ZR_ETOOBIG),
    each record keeping its type's rules (a PUBLISH's and a DELIVER's
    subject and payload as above, an ACK's and a DELIVER's index and
    term >= 1, a PUBLISH's producer 0 with seq 0), a DELIVER's indexes
    strictly increasing, a PUBLISH's or ACK's id + n - 1 within 64 bits,
    and sum (subject + payload + ZR_BUSMSG_RECORD_OVERHEAD) over its
    records at most ZR_BUSMSG_RUN_BYTES_MAX (else ZR_ETOOBIG), so one
    record of a full subject and payload always fits a frame;
    OK: first >= 1, first <= last + 1, heartbeat_ms
    1..ZR_BUSMSG_HEARTBEAT_MS_MAX,
    heartbeat_ms < timeout_ms <= ZR_BUSMSG_TIMEOUT_MS_MAX; OUT_OF_RANGE first
    >= 1; CURSORS_REPLY at most ZR_BUSMSG_CURSORS_MAX entries, names as
    above, strictly increasing (bytewise, a shorter prefix first: so
    distinct), any index. Unsigned integers may come in any msgpack
    integer format holding a value >= 0; encoders write the smallest
    (the cursors map is copied as given).

    Decoder precedence (first match wins), as client.h: frame size ->
    ZR_ETOOBIG; version element != ZR_BUSMSG_VERSION -> ZR_EVERSION; the
    structural walk (msgpack_walk.h: truncation, counts, depth, trailing
    bytes) -> ZR_ETRUNCATED / ZR_ECOUNT / ZR_EMALFORMED / ZR_ETRAILING;
    the element count of the type -> ZR_EMALFORMED (a run of more than
    ZR_BUSMSG_RUN_MAX records: ZR_ETOOBIG);
    schema and limits, field by field -> ZR_EMALFORMED or ZR_ETOOBIG (a
    field over its limit, a map of more than ZR_BUSMSG_CURSORS_MAX, a
    run over ZR_BUSMSG_RUN_BYTES_MAX once its records are read); the
    rules -> ZR_EMALFORMED. Containers nest at most ZR_BUSMSG_DEPTH_MAX deep
    (frame, cursors map) and claim at most ZR_BUSMSG_OBJECTS_MAX objects.
    =========================================================================
*/
#ifndef ZR_TRANSPORT_BUS_H_INCLUDED
#define ZR_TRANSPORT_BUS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZR_BUSMSG_VERSION 1
#define ZR_BUSMSG_SUBJECT_MAX 255u         /* ZRAFT_SUBJECT_MAX */
#define ZR_BUSMSG_NAME_MAX 255u            /* ZRAFT_CURSOR_NAME_MAX */
#define ZR_BUSMSG_ENDPOINT_MAX 255u        /* ZR_CLIENT_ENDPOINT_MAX */
#define ZR_BUSMSG_TEXT_MAX 1024u
#define ZR_BUSMSG_PAYLOAD_MAX (1u << 20)   /* ZRAFT_ENTRY_BYTES_MAX */
#define ZR_BUSMSG_CREDIT_MAX 65536u        /* ZRAFT_CREDIT_MAX */
#define ZR_BUSMSG_CURSORS_MAX 3840u     /* entries in a CURSORS_REPLY:
                                           ZRAFT_CURSORS_MAX */
#define ZR_BUSMSG_RUN_MAX 256u           /* records in one PUBLISH, ACK
                                           or DELIVER */
/* What a record counts against ZR_BUSMSG_RUN_BYTES_MAX beside its
   subject and payload (a DELIVER's headers take at most 28 bytes, a
   PUBLISH's 25, an ACK's 19). */
#define ZR_BUSMSG_RECORD_OVERHEAD 32u
#define ZR_BUSMSG_RUN_BYTES_MAX (ZR_BUSMSG_PAYLOAD_MAX + ZR_BUSMSG_SUBJECT_MAX \
                                 + ZR_BUSMSG_RECORD_OVERHEAD)
#define ZR_BUSMSG_HEARTBEAT_MS_MAX 60000u
#define ZR_BUSMSG_TIMEOUT_MS_MAX 600000u
/* Containers nested in one frame: frame, cursors map. */
#define ZR_BUSMSG_DEPTH_MAX 2
/* Objects claimed by the containers of one frame: a full cursors map
   (two per entry) and the frame's own fields (a full DELIVER claims
   3 + 4 x ZR_BUSMSG_RUN_MAX, fewer). */
#define ZR_BUSMSG_OBJECTS_MAX (2u * ZR_BUSMSG_CURSORS_MAX + 16u)
/* The largest frame either side sends: a PUBLISH or DELIVER with a full
   subject and payload (a DELIVER's run is bounded by
   ZR_BUSMSG_RUN_BYTES_MAX; a full CURSORS_REPLY is about half of it). */
#define ZR_BUSMSG_FRAME_MAX (ZR_BUSMSG_PAYLOAD_MAX + 4096u)

typedef enum {
    ZR_BUSMSG_PUBLISH = 1,
    ZR_BUSMSG_ACK = 2,
    ZR_BUSMSG_NOT_LEADER = 3,
    ZR_BUSMSG_ERROR = 4,
    ZR_BUSMSG_SUBSCRIBE = 5,
    ZR_BUSMSG_OK = 6,
    ZR_BUSMSG_OUT_OF_RANGE = 7,
    ZR_BUSMSG_DELIVER = 8,
    ZR_BUSMSG_CREDIT = 9,
    ZR_BUSMSG_UNSUBSCRIBE = 10,
    ZR_BUSMSG_COMMIT_CURSOR = 11,
    ZR_BUSMSG_CURSORS = 12,
    ZR_BUSMSG_CURSORS_REPLY = 13,
    ZR_BUSMSG_HEARTBEAT = 14
} zr_busmsg_type_t;
#define ZR_BUSMSG_TYPE_MAX 14

typedef enum {
    ZR_BUSMSG_CODE_BUSY = 1,
    ZR_BUSMSG_CODE_INVALID = 2,
    ZR_BUSMSG_CODE_UNAVAILABLE = 3,
    ZR_BUSMSG_CODE_UNKNOWN = 4,
    ZR_BUSMSG_CODE_STALE = 5,
    ZR_BUSMSG_CODE_MALFORMED = 6
} zr_busmsg_code_t;
#define ZR_BUSMSG_CODE_MAX 6

/* Where a subscription starts: include/zraft.h's zraft_from_t. */
typedef enum {
    ZR_BUSMSG_FROM_INDEX = 0,
    ZR_BUSMSG_FROM_FIRST = 1,
    ZR_BUSMSG_FROM_LAST = 2,
    ZR_BUSMSG_FROM_NEXT = 3
} zr_busmsg_from_t;
#define ZR_BUSMSG_FROM_MAX 3

/* Bytes that point into a decoded frame (or, to encode, the caller's). */
typedef struct {
    const uint8_t *data;
    size_t size;
} zr_busmsg_bytes_t;

/* One record of a run: a DELIVER's (index, term, subject, payload), a
   PUBLISH's (subject, payload, producer, seq) or an ACK's (index,
   term, duplicate); the fields its type does not carry are zero. */
typedef struct {
    uint64_t index;                     /* >= 1; DELIVER: increasing */
    uint64_t term;                      /* >= 1 */
    zr_busmsg_bytes_t subject;          /* str 1..ZR_BUSMSG_SUBJECT_MAX */
    zr_busmsg_bytes_t payload;          /* bin 0..ZR_BUSMSG_PAYLOAD_MAX */
    uint64_t producer;                  /* 0: no deduplication */
    uint64_t seq;                       /* 0 with producer 0 */
    bool duplicate;
} zr_busmsg_record_t;

/* One message of any type; fields its type does not carry are zero. */
typedef struct {
    zr_busmsg_type_t type;
    uint64_t id;                        /* request or subscription; not
                                           HEARTBEAT */
    zr_busmsg_bytes_t subject;          /* PUBLISH, DELIVER (str) */
    zr_busmsg_bytes_t payload;          /* PUBLISH, DELIVER (bin) */
    /* A run's (PUBLISH, ACK, DELIVER) record fields are its first
       record's; records holds the n_records records as on the wire
       (decoded: from the first record to the frame's end; walk them
       with zr_busmsg_records_iter). To encode one record, leave
       n_records 0 and set its fields; to encode a run, set records and
       n_records (zr_busmsg_run_t builds them): the record fields are
       then ignored. */
    uint32_t n_records;                 /* PUBLISH, ACK, DELIVER */
    zr_busmsg_bytes_t records;          /* PUBLISH, ACK, DELIVER */
    uint64_t producer;                  /* PUBLISH; 0: no deduplication */
    uint64_t seq;                       /* PUBLISH */
    uint64_t index;                     /* ACK, DELIVER, COMMIT_CURSOR,
                                           HEARTBEAT */
    uint64_t term;                      /* ACK, DELIVER */
    bool duplicate;                     /* ACK */
    zr_busmsg_bytes_t endpoint;         /* NOT_LEADER (str) */
    uint32_t code;                      /* ERROR: a zr_busmsg_code_t */
    zr_busmsg_bytes_t text;             /* ERROR (str), for people */
    uint32_t from_mode;                 /* SUBSCRIBE: a zr_busmsg_from_t */
    uint64_t from;                      /* SUBSCRIBE, mode INDEX */
    zr_busmsg_bytes_t prefix;           /* SUBSCRIBE (str) */
    uint32_t credit;                    /* SUBSCRIBE, CREDIT */
    zr_busmsg_bytes_t name;             /* SUBSCRIBE's cursor, COMMIT_CURSOR
                                           (str) */
    uint32_t run_max;                   /* SUBSCRIBE: records per DELIVER
                                           the client takes; 0: the field
                                           is absent (one record) */
    uint64_t first;                     /* OK, OUT_OF_RANGE */
    uint64_t last;                      /* OK */
    uint32_t heartbeat_ms;              /* OK: the server's heartbeat */
    uint32_t timeout_ms;                /* OK: silence that ends a session */
    zr_busmsg_bytes_t cursors;          /* CURSORS_REPLY: the map's bytes */
    uint32_t n_cursors;                 /* CURSORS_REPLY: its entries */
} zr_busmsg_t;

/* One durable cursor. */
typedef struct {
    zr_busmsg_bytes_t name;             /* str, 1..ZR_BUSMSG_NAME_MAX */
    uint64_t index;                     /* the last index its consumer took */
} zr_busmsg_cursor_t;

/* Walks a CURSORS_REPLY's map. */
typedef struct {
    const uint8_t *data;                /* the map's bytes */
    size_t size;                        /* their size */
    size_t pos;                         /* the next entry */
    uint32_t left;                      /* entries not read yet */
} zr_busmsg_cursors_iter_t;

/* Walks a run's records. */
typedef struct {
    zr_busmsg_type_t type;              /* PUBLISH, ACK or DELIVER */
    const uint8_t *data;                /* the records' bytes */
    size_t size;                        /* their size */
    size_t pos;                         /* the next record */
    uint32_t left;                      /* records not read yet */
    zr_busmsg_record_t single;          /* a message of n_records 0 */
} zr_busmsg_records_iter_t;

/* A run of records being gathered for one DELIVER, PUBLISH or ACK.
   Start it zeroed (a DELIVER's), or zeroed with type set;
   zr_busmsg_run_reset empties it (keeping its type), zr_busmsg_run_free
   frees it. */
typedef struct {
    zr_busmsg_type_t type;              /* PUBLISH, ACK, DELIVER (or 0) */
    uint8_t *data;                      /* the records, encoded; owned */
    size_t size;                        /* bytes used */
    size_t capacity;                    /* bytes allocated */
    uint32_t n;                         /* records */
    uint64_t last;                      /* the last record's index */
    size_t bytes;                       /* counted against
                                           ZR_BUSMSG_RUN_BYTES_MAX */
} zr_busmsg_run_t;

/* Encodes msg: returns 0 and a frame malloc'd by the encoder (*data,
   *size: the caller owns it and must free it); ZR_EINVAL if msg breaks a
   rule above (asserted nowhere: a program's bad input must not abort
   it; for CURSORS_REPLY, cursors must be a map that passes the decoder
   and holds n_cursors entries; for a run (PUBLISH, ACK, DELIVER) with
   n_records > 0, records must hold that many records of its type that
   pass the decoder: they are copied as given); ZR_ENOMEM. Fields msg's type does not
   carry are ignored. On error *data and *size are untouched. */
int zr_busmsg_encode (const zr_busmsg_t *msg, uint8_t **data, size_t *size);

/* Decodes a frame: fills *msg with pointers into data (which must
   outlive it; empty bytes have data NULL), fields the type does not
   carry zero; returns 0 or ZR_ETOOBIG, ZR_EVERSION, ZR_ETRUNCATED,
   ZR_ECOUNT, ZR_ETRAILING, ZR_EMALFORMED (the precedence above) or
   ZR_ENOMEM. On error *msg is zero but for type and id, which hold what
   the frame's head says when it opens with an array of unsigned
   integers [version, type, id, ...] (type only if a known one; id not
   for HEARTBEAT), so a server can answer MALFORMED to that id. Never
   asserts on the frame; allocates a constant amount (msgpack-c's object
   tree, at most ZR_BUSMSG_OBJECTS_MAX objects) whatever it holds. */
int zr_busmsg_decode (const uint8_t *data, size_t size, zr_busmsg_t *msg);

/* True for the types a client sends (PUBLISH, SUBSCRIBE, CREDIT,
   UNSUBSCRIBE, COMMIT_CURSOR, CURSORS, HEARTBEAT), and for those a
   server sends (ACK, NOT_LEADER, ERROR, OK, OUT_OF_RANGE, DELIVER,
   CURSORS_REPLY, HEARTBEAT). */
bool zr_busmsg_from_client (int type);
bool zr_busmsg_from_server (int type);

/* Sorts cursors [0..n) by name (bytewise, a shorter prefix first) and
   encodes them as a CURSORS_REPLY's map: 0 and *data, *size (malloc'd,
   the caller frees them); ZR_EINVAL if n is over ZR_BUSMSG_CURSORS_MAX, a
   name breaks its rule or two are equal; ZR_ENOMEM. */
int zr_busmsg_cursors_encode (zr_busmsg_cursor_t *cursors, size_t n,
                           uint8_t **data, size_t *size);

/* Starts a walk over a decoded (or encoded) CURSORS_REPLY's cursors;
   zr_busmsg_cursors_next then returns true and the next cursor (its name
   points into the map's bytes) until there is none. */
void zr_busmsg_cursors_iter (const zr_busmsg_t *msg,
                             zr_busmsg_cursors_iter_t *iter);
bool zr_busmsg_cursors_next (zr_busmsg_cursors_iter_t *iter,
                             zr_busmsg_cursor_t *cursor);

/* Starts a walk over a PUBLISH's, ACK's or DELIVER's records (decoded,
   or to be encoded: with n_records 0, its one record from its fields);
   zr_busmsg_records_next then returns true and the next record (its
   bytes point into the records', or msg's) until there is none. */
void zr_busmsg_records_iter (const zr_busmsg_t *msg,
                             zr_busmsg_records_iter_t *iter);
bool zr_busmsg_records_next (zr_busmsg_records_iter_t *iter,
                             zr_busmsg_record_t *record);

/* Appends record (copied; the fields of run's type) to run. Returns 0;
   ZR_EBUSY if the run holds max records (1..ZR_BUSMSG_RUN_MAX; more is
   taken as that) or the record would take it over
   ZR_BUSMSG_RUN_BYTES_MAX: send the run, reset it and add again (an
   empty run takes any valid record); ZR_EINVAL if the record breaks a
   rule of its type or, in a DELIVER's, its index is not above the last
   one's; ZR_ENOMEM. On error run is unchanged. */
int zr_busmsg_run_add (zr_busmsg_run_t *run, const zr_busmsg_record_t *record,
                       uint32_t max);

/* The largest head zr_busmsg_run_head writes: array32, version, type,
   uint64 id. */
#define ZR_BUSMSG_RUN_HEAD_MAX 16

/* The head of the message that carries run (of run's type) with id:
   writes it to head (ZR_BUSMSG_RUN_HEAD_MAX bytes at most) and returns
   its size; the frame is that head followed by run's bytes as they are
   (run->data, run->size). Nothing is checked again: a run that
   zr_busmsg_run_add built passes the decoder by construction (so
   servers send a run without re-reading it, as zr_busmsg_encode
   would). Returns 0, writing nothing, if run is empty or id breaks
   its rule (bus.h). */
size_t zr_busmsg_run_head (const zr_busmsg_run_t *run, uint64_t id,
                           uint8_t *head);

/* Empties run (its message was sent or is dropped), keeping its type,
   and its buffer if it is at most keep bytes, else freeing it. */
void zr_busmsg_run_reset (zr_busmsg_run_t *run, size_t keep);

/* Frees what run holds and zeroes it, but for its type. */
void zr_busmsg_run_free (zr_busmsg_run_t *run);

/* Static names: "PUBLISH", ..., "BUSY", ... ("?" if unknown). */
const char *zr_busmsg_type_name (int type);
const char *zr_busmsg_code_name (int code);

#endif
