/*  =========================================================================
    client - the client protocol: msgpack requests and replies between a
    client (zraft-ctl, zraft-bench, a program) and zraft-node

    A client connects a DEALER to a server's client endpoint (a ROUTER)
    and sends one frame per request; the server answers with one frame
    per request, carrying the request's id, in any order. Like the peer
    codec (codec.h), this one treats every frame as hostile: it never
    asserts on input, never allocates more than a constant factor of the
    frame's size, and reports what is wrong with a distinct ZR_E* code.
    docs/PROTOCOL.md is the user's description of the same tables.

    A frame is one msgpack array. Integers are unsigned, bools are msgpack
    true/false, keys and values are bin, names and endpoints are str.

    Requests: [version, type, request_id, fields...]
    | type (wire)   | fields                                       | n |
    |---------------|----------------------------------------------|---|
    | PUT (1)       | client_id, seq, key, value                   | 7 |
    | GET (2)       | key, stale (bool)                            | 5 |
    | DEL (3)       | client_id, seq, key                          | 6 |
    | CAS (4)       | client_id, seq, key, old, new                | 8 |
    | STATUS (5)    | (none)                                       | 3 |
    | TRANSFER (6)  | to (server id; 0 = the most up-to-date peer) | 4 |
    | SNAPSHOT (7)  | (none)                                       | 3 |
    | FAULT (8)     | peer, cut (bool), drop_ppm, delay_ms         | 7 |

    Replies: [version, type, request_id, code, fields...], type and
    request_id echo the request's. With code OK:
    | type     | fields                                                |
    |----------|-------------------------------------------------------|
    | PUT, DEL | index (the entry that applied it)                     |
    | GET      | found (bool), value (empty bin when not found)        |
    | CAS      | swapped (bool), index                                 |
    | STATUS   | name, id, role (0 follower, 1 candidate, 2 leader),   |
    |          | term, leader, commit, applied, first_index,           |
    |          | last_index, snapshot_index,                           |
    |          | members: [[id, name, peer_endpoint, client_endpoint,  |
    |          | bus_endpoint]] (client_endpoint "" until the member   |
    |          | announced it; bus_endpoint "" until then or without a |
    |          | bus; a member of 4 elements, from a server before the |
    |          | bus endpoint was added, decodes with it ""),          |
    |          | health (str: "" if well, else what ails the server,   |
    |          | "disk failed"; a reply of 15 fields, from a           |
    |          | server before it was added, decodes with it "")       |
    | TRANSFER, SNAPSHOT, FAULT | (none)                               |
    With any other code: leader (id, 0 if unknown), leader_endpoint (its
    client endpoint, "" if unknown), message (str, for people).

    Codes, and what a client may conclude:
    | code (wire)       | meaning                              | applied? |
    |-------------------|--------------------------------------|----------|
    | OK (0)            | done                                 | yes      |
    | NOT_LEADER (1)    | ask leader_endpoint                  | no       |
    | BUSY (2)          | back-pressure or a transfer: retry   | no       |
    | INVALID (3)       | a request the server cannot take     | no       |
    | UNAVAILABLE (4)   | shutting down or its disk failed     | no       |
    | UNKNOWN (5)       | lost its leadership while the entry  | maybe:   |
    |                   | was in flight: retry with the same   | retry    |
    |                   | client_id and seq                    | same seq |
    | SESSION_EXPIRED(6)| seq older than the session's last,   | maybe    |
    |                   | or the session expired               |          |
    | MALFORMED (7)     | the frame did not decode             | no       |
    A MALFORMED reply to a frame whose request_id could not be read
    carries request_id 0 and type 0.

    Limits: key 1..ZR_CLIENT_KEY_MAX bytes, value and old at most
    ZR_CLIENT_VALUE_MAX, name at most ZR_CLIENT_NAME_MAX, endpoint at most
    ZR_CLIENT_ENDPOINT_MAX, message at most ZR_CLIENT_MESSAGE_MAX, at most
    ZR_NODES_MAX members, drop_ppm at most 1,000,000, delay_ms at most
    60,000; client_id and seq >= 1 on PUT, DEL and CAS; peer and to are
    server ids (1..ZR_NODES_MAX, to may be 0).

    Semantic rules (checked by the decoders, refused by the encoders):
    limits above; str fields hold no NUL byte; a reply of type 0 has code
    MALFORMED; with code OK, PUT, DEL and CAS carry index >= 1, GET with
    found false carries an empty value, STATUS has id 1..ZR_NODES_MAX,
    role 0..2, leader 0..ZR_NODES_MAX and members with distinct ids
    1..ZR_NODES_MAX; with another code, leader is 0..ZR_NODES_MAX and a
    leader_endpoint comes with a leader (leader 0: endpoint "").
    Unsigned integers may come in any msgpack integer format holding a
    value >= 0 (int8..int64 too, as some packers write them); encoders
    write the smallest.

    Decoder precedence (first match wins), as codec.h: frame size ->
    ZR_ETOOBIG; version element != ZR_CLIENT_VERSION -> ZR_EVERSION; the
    structural walk (truncation, counts, depth, trailing bytes) ->
    ZR_ETRUNCATED / ZR_ECOUNT / ZR_EMALFORMED / ZR_ETRAILING; schema and
    limits -> ZR_EMALFORMED or ZR_ETOOBIG (a key, value, name, endpoint
    or message over its limit, more than ZR_NODES_MAX members); semantic
    rules -> ZR_EMALFORMED. Containers nest at most ZR_CLIENT_DEPTH_MAX
    deep (frame, members, member) and claim at most ZR_CLIENT_OBJECTS_MAX
    objects in all, else the walk says ZR_EMALFORMED or ZR_ETOOBIG.
    =========================================================================
*/
#ifndef ZR_CLIENT_H_INCLUDED
#define ZR_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZR_CLIENT_VERSION 1
#define ZR_CLIENT_KEY_MAX 4096u
#define ZR_CLIENT_VALUE_MAX (256u << 10)
#define ZR_CLIENT_NAME_MAX 64u
#define ZR_CLIENT_ENDPOINT_MAX 255u
#define ZR_CLIENT_MESSAGE_MAX 1024u
/* Containers nested in one frame: frame, members, member. */
#define ZR_CLIENT_DEPTH_MAX 3
/* Objects claimed by the containers of one frame: a STATUS reply with
   ZR_NODES_MAX members (15 + 9 + 9 x 5 = 69), with room to spare. */
#define ZR_CLIENT_OBJECTS_MAX 72u
/* The largest frame either side sends: a CAS with a full key, old and new. */
#define ZR_CLIENT_FRAME_MAX (ZR_CLIENT_KEY_MAX + 2 * ZR_CLIENT_VALUE_MAX + 4096u)

typedef enum {
    ZR_CLIENT_PUT = 1,
    ZR_CLIENT_GET = 2,
    ZR_CLIENT_DEL = 3,
    ZR_CLIENT_CAS = 4,
    ZR_CLIENT_STATUS = 5,
    ZR_CLIENT_TRANSFER = 6,
    ZR_CLIENT_SNAPSHOT = 7,
    ZR_CLIENT_FAULT = 8
} zr_client_type_t;
#define ZR_CLIENT_TYPE_MAX 8

typedef enum {
    ZR_CLIENT_OK = 0,
    ZR_CLIENT_NOT_LEADER = 1,
    ZR_CLIENT_BUSY = 2,
    ZR_CLIENT_INVALID = 3,
    ZR_CLIENT_UNAVAILABLE = 4,
    ZR_CLIENT_UNKNOWN = 5,
    ZR_CLIENT_SESSION_EXPIRED = 6,
    ZR_CLIENT_MALFORMED = 7
} zr_client_code_t;
#define ZR_CLIENT_CODE_MAX 7

/* Bytes that point into a decoded frame (or, to encode, the caller's). */
typedef struct {
    const uint8_t *data;
    size_t size;
} zr_client_bytes_t;

typedef struct {
    zr_client_type_t type;
    uint64_t request_id;
    uint64_t client_id;                 /* PUT, DEL, CAS */
    uint64_t seq;                       /* PUT, DEL, CAS */
    zr_client_bytes_t key;              /* PUT, GET, DEL, CAS */
    zr_client_bytes_t value;            /* PUT; CAS: the new value */
    zr_client_bytes_t old;              /* CAS */
    bool stale;                         /* GET */
    uint32_t to;                        /* TRANSFER */
    uint32_t peer;                      /* FAULT */
    bool cut;                           /* FAULT */
    uint32_t drop_ppm;                  /* FAULT */
    uint32_t delay_ms;                  /* FAULT */
} zr_client_request_t;

typedef struct {
    uint32_t id;
    zr_client_bytes_t name;             /* str */
    zr_client_bytes_t peer_endpoint;    /* str */
    zr_client_bytes_t client_endpoint;  /* str, empty if not announced */
    zr_client_bytes_t bus_endpoint;     /* str, empty if not announced or no
                                           bus (--listen-bus) */
} zr_client_member_t;

typedef struct {
    zr_client_type_t type;
    uint64_t request_id;
    zr_client_code_t code;
    /* OK */
    uint64_t index;                     /* PUT, DEL, CAS */
    bool found;                         /* GET */
    bool swapped;                       /* CAS */
    zr_client_bytes_t value;            /* GET */
    /* OK STATUS */
    zr_client_bytes_t name;
    uint32_t id;
    uint32_t role;                      /* 0 follower, 1 candidate, 2 leader */
    uint64_t term;
    uint32_t leader;                    /* also on errors */
    uint64_t commit, applied, first_index, last_index, snapshot_index;
    zr_client_member_t members [9];     /* ZR_NODES_MAX */
    uint32_t n_members;
    zr_client_bytes_t health;           /* str: "" if well, else what ails
                                           it ("disk failed") */
    /* errors */
    zr_client_bytes_t leader_endpoint;  /* str */
    zr_client_bytes_t message;          /* str */
} zr_client_reply_t;

/* Encoders: return 0 and a frame malloc'd by the encoder (*data, *size:
   the caller owns it and must free it); ZR_EINVAL if the request or
   reply breaks a rule above (they are asserted nowhere: a program's bad
   input must not abort it); ZR_ENOMEM. Fields the type (and, for a
   reply, the code) does not carry are ignored. On error *data and *size
   are untouched. */
int zr_client_request_encode (const zr_client_request_t *request,
                              uint8_t **data, size_t *size);
int zr_client_reply_encode (const zr_client_reply_t *reply,
                            uint8_t **data, size_t *size);

/* Decoders: fill *request or *reply with pointers into data (which must
   outlive them; empty bytes have data NULL), fields the frame does not
   carry zero; return 0 or ZR_ETOOBIG, ZR_EVERSION, ZR_ETRUNCATED,
   ZR_ECOUNT, ZR_ETRAILING, ZR_EMALFORMED (the precedence above) or
   ZR_ENOMEM. On error the struct is zero but for request_id and type,
   which hold what the frame's head says when it opens with an array of
   unsigned integers [version, type, request_id, ...] (type only if it is
   a known one), so a server can answer MALFORMED to that request_id.
   Never assert on the frame; allocate a constant amount (msgpack-c's
   object tree, at most ZR_CLIENT_OBJECTS_MAX objects), whatever it holds. */
int zr_client_request_decode (const uint8_t *data, size_t size,
                              zr_client_request_t *request);
int zr_client_reply_decode (const uint8_t *data, size_t size,
                            zr_client_reply_t *reply);

/* Static names: "PUT", ..., "OK", "NOT_LEADER", ... ("?" if unknown). */
const char *zr_client_type_name (int type);
const char *zr_client_code_name (int code);

#endif
