/*  =========================================================================
    client - the client protocol's msgpack codec (see client.h)

    Decoding runs as the peer codec's does (codec.c): the frame size, the
    version element and the structural walk (msgpack_walk.h) look at the
    raw bytes first, so msgpack-c only ever builds a tree of at most
    ZR_CLIENT_OBJECTS_MAX objects; then the schema reads that tree field
    by field with strict types and limits (zr_mp_reader_t keeps the first
    error, so fields are judged in frame order), then the semantic rules
    (s_request_check, s_reply_check) judge the whole. The decoded struct
    points into the caller's frame: msgpack-c references str
    and bin bodies in the buffer it is given, and the tree is dropped
    before returning.

    The encoders check the same rules (so a frame we encode always
    decodes to what was encoded), pack once to count the bytes and once
    into a buffer of exactly that size. The steps every strict codec
    shares (unpacking, the reader, the packer) are msgpack_tree.h's.
    =========================================================================
*/
#include "transport.h"

_Static_assert (sizeof ((zr_client_reply_t *) 0)->members
                    / sizeof ((zr_client_reply_t *) 0)->members [0]
                == ZR_NODES_MAX, "one member slot per server");
_Static_assert (ZR_CLIENT_DEPTH_MAX <= ZR_MSGPACK_WALK_DEPTH_MAX,
                "the walker takes the client codec's depth");
_Static_assert (ZR_CLIENT_FRAME_MAX <= UINT32_MAX, "lengths fit a bin32");

#define S_DROP_PPM_MAX 1000000u
#define S_DELAY_MS_MAX 60000u
#define S_ROLE_MAX 2u               /* 0 follower, 1 candidate, 2 leader */
#define S_REQUEST_HEAD 3            /* version, type, request_id */
#define S_REPLY_HEAD 4              /* version, type, request_id, code */
#define S_ERROR_FIELDS 7            /* head, leader, leader_endpoint, message */
#define S_MEMBER_FIELDS 5           /* id, name, peer, client and bus endpoints */
#define S_MEMBER_FIELDS_OLD 4       /* without the bus endpoint: read as "" */
_Static_assert (16 + (1 + S_MEMBER_FIELDS) * ZR_NODES_MAX <= ZR_CLIENT_OBJECTS_MAX,
                "a full STATUS reply passes the walk");

/* Fields in a request frame, by type (the table in client.h). */
static const uint32_t s_request_fields [] = { 0, 7, 5, 6, 8, 3, 4, 3, 7 };
/* Fields in a reply frame with code OK, by type. */
static const uint32_t s_reply_fields [] = { 0, 5, 6, 5, 6, 16, 4, 4, 4 };
#define S_STATUS_FIELDS_OLD 15      /* STATUS without health: read as "" */
_Static_assert (sizeof s_request_fields / sizeof s_request_fields [0]
                == ZR_CLIENT_TYPE_MAX + 1, "one count per request type");
_Static_assert (sizeof s_reply_fields / sizeof s_reply_fields [0]
                == ZR_CLIENT_TYPE_MAX + 1, "one count per reply type");

static const char *s_type_names [] = {
    "?", "PUT", "GET", "DEL", "CAS", "STATUS", "TRANSFER", "SNAPSHOT",
    "FAULT"
};
static const char *s_code_names [] = {
    "OK", "NOT_LEADER", "BUSY", "INVALID", "UNAVAILABLE", "UNKNOWN",
    "SESSION_EXPIRED", "MALFORMED"
};
_Static_assert (sizeof s_type_names / sizeof s_type_names [0]
                == ZR_CLIENT_TYPE_MAX + 1, "one name per type");
_Static_assert (sizeof s_code_names / sizeof s_code_names [0]
                == ZR_CLIENT_CODE_MAX + 1, "one name per code");

//  --------------------------------------------------------------------------
//  Semantic rules, shared by the decoders (checked) and encoders (refused)

static bool
s_id_valid (uint32_t id)
{
    return id >= 1 && id <= ZR_NODES_MAX;
}

static int
s_bytes_check (zr_client_bytes_t bytes, size_t max)
{
    return zr_mp_bytes_check (bytes.data, bytes.size, max);
}

static int
s_str_check (zr_client_bytes_t str, size_t max)
{
    return zr_mp_str_check (str.data, str.size, max);
}

/* Returns the first error of a key/value request (PUT, GET, DEL, CAS). */
static int
s_command_check (const zr_client_request_t *request)
{
    int rc = s_bytes_check (request->key, ZR_CLIENT_KEY_MAX);
    if (rc == 0 && (request->type == ZR_CLIENT_PUT
                    || request->type == ZR_CLIENT_CAS))
        rc = s_bytes_check (request->value, ZR_CLIENT_VALUE_MAX);
    if (rc == 0 && request->type == ZR_CLIENT_CAS)
        rc = s_bytes_check (request->old, ZR_CLIENT_VALUE_MAX);
    if (rc == 0 && request->key.size == 0)
        rc = ZR_EMALFORMED;
    if (rc == 0 && request->type != ZR_CLIENT_GET
    &&  (request->client_id == 0 || request->seq == 0))
        rc = ZR_EMALFORMED;
    return rc;
}

/* Returns 0, ZR_ETOOBIG or ZR_EMALFORMED for any request. */
static int
s_request_check (const zr_client_request_t *request)
{
    switch (request->type) {
    case ZR_CLIENT_PUT:
    case ZR_CLIENT_GET:
    case ZR_CLIENT_DEL:
    case ZR_CLIENT_CAS:
        return s_command_check (request);
    case ZR_CLIENT_STATUS:
    case ZR_CLIENT_SNAPSHOT:
        return 0;
    case ZR_CLIENT_TRANSFER:
        return request->to <= ZR_NODES_MAX ? 0 : ZR_EMALFORMED;
    case ZR_CLIENT_FAULT:
        if (!s_id_valid (request->peer) || request->drop_ppm > S_DROP_PPM_MAX
        ||  request->delay_ms > S_DELAY_MS_MAX)
            return ZR_EMALFORMED;
        return 0;
    default:
        return ZR_EMALFORMED;
    }
}

/* Returns the first error of a STATUS reply's members. */
static int
s_members_check (const zr_client_reply_t *reply)
{
    if (reply->n_members > ZR_NODES_MAX)
        return ZR_ETOOBIG;
    bool seen [ZR_NODES_MAX + 1] = { false };
    for (uint32_t i = 0; i < reply->n_members; i++) {
        const zr_client_member_t *member = &reply->members [i];
        int rc = s_str_check (member->name, ZR_CLIENT_NAME_MAX);
        if (rc == 0)
            rc = s_str_check (member->peer_endpoint, ZR_CLIENT_ENDPOINT_MAX);
        if (rc == 0)
            rc = s_str_check (member->client_endpoint,
                              ZR_CLIENT_ENDPOINT_MAX);
        if (rc == 0)
            rc = s_str_check (member->bus_endpoint, ZR_CLIENT_ENDPOINT_MAX);
        if (rc == 0 && (!s_id_valid (member->id) || seen [member->id]))
            rc = ZR_EMALFORMED;
        if (rc)
            return rc;
        seen [member->id] = true;
    }
    return 0;
}

/* Returns the first error of a STATUS reply with code OK. */
static int
s_status_check (const zr_client_reply_t *reply)
{
    int rc = s_str_check (reply->name, ZR_CLIENT_NAME_MAX);
    if (rc == 0)
        rc = s_str_check (reply->health, ZR_CLIENT_MESSAGE_MAX);
    if (rc == 0)
        rc = s_members_check (reply);
    if (rc == 0 && (!s_id_valid (reply->id) || reply->role > S_ROLE_MAX
                    || reply->leader > ZR_NODES_MAX))
        rc = ZR_EMALFORMED;
    return rc;
}

/* Returns the first error of a reply with a code other than OK. */
static int
s_error_check (const zr_client_reply_t *reply)
{
    int rc = s_str_check (reply->leader_endpoint, ZR_CLIENT_ENDPOINT_MAX);
    if (rc == 0)
        rc = s_str_check (reply->message, ZR_CLIENT_MESSAGE_MAX);
    if (rc == 0 && (reply->leader > ZR_NODES_MAX
                    || (reply->leader == 0 && reply->leader_endpoint.size)))
        rc = ZR_EMALFORMED;
    return rc;
}

/* Returns 0, ZR_ETOOBIG or ZR_EMALFORMED for any reply. */
static int
s_reply_check (const zr_client_reply_t *reply)
{
    if ((unsigned) reply->type > ZR_CLIENT_TYPE_MAX
    ||  (unsigned) reply->code > ZR_CLIENT_CODE_MAX
    ||  (reply->type == 0 && reply->code != ZR_CLIENT_MALFORMED))
        return ZR_EMALFORMED;
    if (reply->code != ZR_CLIENT_OK)
        return s_error_check (reply);
    switch (reply->type) {
    case ZR_CLIENT_PUT:
    case ZR_CLIENT_DEL:
    case ZR_CLIENT_CAS:
        return reply->index >= 1 ? 0 : ZR_EMALFORMED;
    case ZR_CLIENT_GET: {
        int rc = s_bytes_check (reply->value, ZR_CLIENT_VALUE_MAX);
        if (rc == 0 && !reply->found && reply->value.size > 0)
            rc = ZR_EMALFORMED;
        return rc;
    }
    case ZR_CLIENT_STATUS:
        return s_status_check (reply);
    default:
        return 0;                   /* TRANSFER, SNAPSHOT, FAULT */
    }
}

//  --------------------------------------------------------------------------
//  Schema: msgpack-c's object tree into a request or reply

static zr_client_bytes_t
s_read_bin (zr_mp_reader_t *reader, size_t max)
{
    zr_client_bytes_t bytes;
    bytes.size = zr_mp_read_bytes (reader, MSGPACK_OBJECT_BIN, max,
                                   &bytes.data);
    return bytes;
}

static zr_client_bytes_t
s_read_str (zr_mp_reader_t *reader, size_t max)
{
    zr_client_bytes_t bytes;
    bytes.size = zr_mp_read_bytes (reader, MSGPACK_OBJECT_STR, max,
                                   &bytes.data);
    return bytes;
}

/* Reads the fields after the head of a request of a known type. */
static void
s_request_read (zr_mp_reader_t *reader, zr_client_request_t *request)
{
    zr_client_type_t type = request->type;
    if (type == ZR_CLIENT_PUT || type == ZR_CLIENT_DEL
    ||  type == ZR_CLIENT_CAS) {
        request->client_id = zr_mp_read_uint (reader);
        request->seq = zr_mp_read_uint (reader);
    }
    if (type <= ZR_CLIENT_CAS)
        request->key = s_read_bin (reader, ZR_CLIENT_KEY_MAX);
    if (type == ZR_CLIENT_PUT)
        request->value = s_read_bin (reader, ZR_CLIENT_VALUE_MAX);
    else
    if (type == ZR_CLIENT_GET)
        request->stale = zr_mp_read_bool (reader);
    else
    if (type == ZR_CLIENT_CAS) {
        request->old = s_read_bin (reader, ZR_CLIENT_VALUE_MAX);
        request->value = s_read_bin (reader, ZR_CLIENT_VALUE_MAX);
    }
    else
    if (type == ZR_CLIENT_TRANSFER)
        request->to = zr_mp_read_u32 (reader);
    else
    if (type == ZR_CLIENT_FAULT) {
        request->peer = zr_mp_read_u32 (reader);
        request->cut = zr_mp_read_bool (reader);
        request->drop_ppm = zr_mp_read_u32 (reader);
        request->delay_ms = zr_mp_read_u32 (reader);
    }
}

/* Reads a STATUS reply's member list (ZR_ETOOBIG over ZR_NODES_MAX). */
static void
s_members_read (zr_mp_reader_t *reader, zr_client_reply_t *reply)
{
    const msgpack_object *list = zr_mp_next (reader);
    if (!list || list->type != MSGPACK_OBJECT_ARRAY) {
        zr_mp_fail (reader, ZR_EMALFORMED);
        return;
    }
    if (list->via.array.size > ZR_NODES_MAX) {
        zr_mp_fail (reader, ZR_ETOOBIG);
        return;
    }
    for (uint32_t i = 0; i < list->via.array.size && reader->rc == 0; i++) {
        const msgpack_object *object = &list->via.array.ptr [i];
        if (object->type != MSGPACK_OBJECT_ARRAY
        ||  (object->via.array.size != S_MEMBER_FIELDS
             && object->via.array.size != S_MEMBER_FIELDS_OLD)) {
            zr_mp_fail (reader, ZR_EMALFORMED);
            return;
        }
        zr_mp_reader_t fields;
        zr_mp_reader_init (&fields, object);
        zr_client_member_t *member = &reply->members [i];
        member->id = zr_mp_read_u32 (&fields);
        member->name = s_read_str (&fields, ZR_CLIENT_NAME_MAX);
        member->peer_endpoint = s_read_str (&fields, ZR_CLIENT_ENDPOINT_MAX);
        member->client_endpoint = s_read_str (&fields, ZR_CLIENT_ENDPOINT_MAX);
        if (object->via.array.size == S_MEMBER_FIELDS)
            member->bus_endpoint = s_read_str (&fields, ZR_CLIENT_ENDPOINT_MAX);
        zr_mp_fail (reader, fields.rc);
        reply->n_members = i + 1;
    }
}

/* Reads the fields after the head of a reply with a known type and code. */
static void
s_reply_read (zr_mp_reader_t *reader, zr_client_reply_t *reply)
{
    if (reply->code != ZR_CLIENT_OK) {
        reply->leader = zr_mp_read_u32 (reader);
        reply->leader_endpoint = s_read_str (reader, ZR_CLIENT_ENDPOINT_MAX);
        reply->message = s_read_str (reader, ZR_CLIENT_MESSAGE_MAX);
        return;
    }
    switch (reply->type) {
    case ZR_CLIENT_PUT:
    case ZR_CLIENT_DEL:
        reply->index = zr_mp_read_uint (reader);
        break;
    case ZR_CLIENT_GET:
        reply->found = zr_mp_read_bool (reader);
        reply->value = s_read_bin (reader, ZR_CLIENT_VALUE_MAX);
        break;
    case ZR_CLIENT_CAS:
        reply->swapped = zr_mp_read_bool (reader);
        reply->index = zr_mp_read_uint (reader);
        break;
    case ZR_CLIENT_STATUS:
        reply->name = s_read_str (reader, ZR_CLIENT_NAME_MAX);
        reply->id = zr_mp_read_u32 (reader);
        reply->role = zr_mp_read_u32 (reader);
        reply->term = zr_mp_read_uint (reader);
        reply->leader = zr_mp_read_u32 (reader);
        reply->commit = zr_mp_read_uint (reader);
        reply->applied = zr_mp_read_uint (reader);
        reply->first_index = zr_mp_read_uint (reader);
        reply->last_index = zr_mp_read_uint (reader);
        reply->snapshot_index = zr_mp_read_uint (reader);
        s_members_read (reader, reply);
        if (reader->field < reader->end)    /* not a reply of 15 fields */
            reply->health = s_read_str (reader, ZR_CLIENT_MESSAGE_MAX);
        break;
    default:
        break;                      /* TRANSFER, SNAPSHOT, FAULT */
    }
}

/* Reads the head of a frame: an array of at least head fields, whose
   version (ZR_EVERSION if another), type (at most ZR_CLIENT_TYPE_MAX)
   and request_id it stores; the reader is left on field 3. */
static int
s_head_read (const msgpack_object *root, uint32_t head, zr_mp_reader_t *reader,
             uint64_t *type, uint64_t *request_id)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < head)
        return ZR_EMALFORMED;
    zr_mp_reader_init (reader, root);
    uint64_t version = zr_mp_read_uint (reader);
    if (reader->rc)
        return reader->rc;
    if (version != ZR_CLIENT_VERSION)
        return ZR_EVERSION;
    *type = zr_mp_read_uint (reader);
    *request_id = zr_mp_read_uint (reader);
    if (reader->rc == 0 && *type > ZR_CLIENT_TYPE_MAX)
        reader->rc = ZR_EMALFORMED;
    return reader->rc;
}

/* Reads a request from the tree (precedence step 4, then 5). */
static int
s_request_decode (const msgpack_object *root, zr_client_request_t *request)
{
    zr_mp_reader_t reader;
    uint64_t type, request_id;
    int rc = s_head_read (root, S_REQUEST_HEAD, &reader, &type, &request_id);
    if (rc)
        return rc;
    if (type == 0 || root->via.array.size != s_request_fields [type])
        return ZR_EMALFORMED;
    request->type = (zr_client_type_t) type;
    request->request_id = request_id;
    s_request_read (&reader, request);
    return reader.rc ? reader.rc : s_request_check (request);
}

/* Reads a reply from the tree (precedence step 4, then 5). */
static int
s_reply_decode (const msgpack_object *root, zr_client_reply_t *reply)
{
    zr_mp_reader_t reader;
    uint64_t type, request_id;
    int rc = s_head_read (root, S_REPLY_HEAD, &reader, &type, &request_id);
    if (rc)
        return rc;
    uint64_t code = zr_mp_read_uint (&reader);
    if (reader.rc || code > ZR_CLIENT_CODE_MAX)
        return ZR_EMALFORMED;
    uint32_t fields = code == ZR_CLIENT_OK ? s_reply_fields [type]
                                           : S_ERROR_FIELDS;
    /* Type 0 with code OK has no field count (0): refused here. */
    bool old_status = code == ZR_CLIENT_OK && type == ZR_CLIENT_STATUS
                      && root->via.array.size == S_STATUS_FIELDS_OLD;
    if (fields == 0 || (root->via.array.size != fields && !old_status))
        return ZR_EMALFORMED;
    reply->type = (zr_client_type_t) type;
    reply->request_id = request_id;
    reply->code = (zr_client_code_t) code;
    s_reply_read (&reader, reply);
    return reader.rc ? reader.rc : s_reply_check (reply);
}

/* Runs precedence steps 1 to 3 on the raw bytes, then msgpack-c: on
   success result holds the frame's tree. */
static int
s_unpack (const uint8_t *data, size_t size, msgpack_unpacked *result)
{
    return zr_mp_unpack (data, size, ZR_CLIENT_VERSION, ZR_CLIENT_FRAME_MAX,
                         ZR_CLIENT_DEPTH_MAX, ZR_CLIENT_OBJECTS_MAX, result);
}

/* What a frame that did not decode says of itself: type (if a known
   one) and request_id, when its head is an array of unsigned integers;
   zero otherwise. */
static void
s_head_peek (const uint8_t *data, size_t size, uint64_t *type,
             uint64_t *request_id)
{
    uint64_t head [S_REQUEST_HEAD];
    *type = 0;
    *request_id = 0;
    if (zr_msgpack_walk_uints (data, size, head, S_REQUEST_HEAD)
        < S_REQUEST_HEAD)
        return;
    *type = head [1] <= ZR_CLIENT_TYPE_MAX ? head [1] : 0;
    *request_id = head [2];
}

int
zr_client_request_decode (const uint8_t *data, size_t size,
                          zr_client_request_t *request)
{
    zr_assert (request);
    zr_assert (data || size == 0);
    memset (request, 0, sizeof *request);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    int rc = s_unpack (data, size, &result);
    if (rc == 0)
        rc = s_request_decode (&result.data, request);
    msgpack_unpacked_destroy (&result);
    if (rc) {
        uint64_t type, request_id;
        s_head_peek (data, size, &type, &request_id);
        memset (request, 0, sizeof *request);
        request->type = (zr_client_type_t) type;
        request->request_id = request_id;
    }
    return rc;
}

int
zr_client_reply_decode (const uint8_t *data, size_t size,
                        zr_client_reply_t *reply)
{
    zr_assert (reply);
    zr_assert (data || size == 0);
    memset (reply, 0, sizeof *reply);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    int rc = s_unpack (data, size, &result);
    if (rc == 0)
        rc = s_reply_decode (&result.data, reply);
    msgpack_unpacked_destroy (&result);
    if (rc) {
        uint64_t type, request_id;
        s_head_peek (data, size, &type, &request_id);
        memset (reply, 0, sizeof *reply);
        reply->type = (zr_client_type_t) type;
        reply->request_id = request_id;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoders

static int
s_pack_bin (msgpack_packer *pk, zr_client_bytes_t bytes)
{
    return zr_mp_pack_bin (pk, bytes.data, bytes.size);
}

static int
s_pack_str (msgpack_packer *pk, zr_client_bytes_t str)
{
    return zr_mp_pack_str (pk, str.data, str.size);
}

/* Packs a checked request; returns 0 or -1 if the output is full. */
static int
s_request_pack (msgpack_packer *pk, const void *arg)
{
    const zr_client_request_t *request = (const zr_client_request_t *) arg;
    zr_client_type_t type = request->type;
    int rc = msgpack_pack_array (pk, s_request_fields [type]);
    rc |= msgpack_pack_uint64 (pk, ZR_CLIENT_VERSION);
    rc |= msgpack_pack_uint64 (pk, type);
    rc |= msgpack_pack_uint64 (pk, request->request_id);
    if (type == ZR_CLIENT_PUT || type == ZR_CLIENT_DEL
    ||  type == ZR_CLIENT_CAS) {
        rc |= msgpack_pack_uint64 (pk, request->client_id);
        rc |= msgpack_pack_uint64 (pk, request->seq);
    }
    if (type <= ZR_CLIENT_CAS)
        rc |= s_pack_bin (pk, request->key);
    if (type == ZR_CLIENT_PUT)
        rc |= s_pack_bin (pk, request->value);
    else
    if (type == ZR_CLIENT_GET)
        rc |= zr_mp_pack_bool (pk, request->stale);
    else
    if (type == ZR_CLIENT_CAS) {
        rc |= s_pack_bin (pk, request->old);
        rc |= s_pack_bin (pk, request->value);
    }
    else
    if (type == ZR_CLIENT_TRANSFER)
        rc |= msgpack_pack_uint64 (pk, request->to);
    else
    if (type == ZR_CLIENT_FAULT) {
        rc |= msgpack_pack_uint64 (pk, request->peer);
        rc |= zr_mp_pack_bool (pk, request->cut);
        rc |= msgpack_pack_uint64 (pk, request->drop_ppm);
        rc |= msgpack_pack_uint64 (pk, request->delay_ms);
    }
    return rc;
}

/* Packs a STATUS reply's fields after the head. */
static int
s_status_pack (msgpack_packer *pk, const zr_client_reply_t *reply)
{
    int rc = s_pack_str (pk, reply->name);
    rc |= msgpack_pack_uint64 (pk, reply->id);
    rc |= msgpack_pack_uint64 (pk, reply->role);
    rc |= msgpack_pack_uint64 (pk, reply->term);
    rc |= msgpack_pack_uint64 (pk, reply->leader);
    rc |= msgpack_pack_uint64 (pk, reply->commit);
    rc |= msgpack_pack_uint64 (pk, reply->applied);
    rc |= msgpack_pack_uint64 (pk, reply->first_index);
    rc |= msgpack_pack_uint64 (pk, reply->last_index);
    rc |= msgpack_pack_uint64 (pk, reply->snapshot_index);
    rc |= msgpack_pack_array (pk, reply->n_members);
    for (uint32_t i = 0; i < reply->n_members; i++) {
        const zr_client_member_t *member = &reply->members [i];
        rc |= msgpack_pack_array (pk, S_MEMBER_FIELDS);
        rc |= msgpack_pack_uint64 (pk, member->id);
        rc |= s_pack_str (pk, member->name);
        rc |= s_pack_str (pk, member->peer_endpoint);
        rc |= s_pack_str (pk, member->client_endpoint);
        rc |= s_pack_str (pk, member->bus_endpoint);
    }
    rc |= s_pack_str (pk, reply->health);
    return rc;
}

/* Packs a checked reply; returns 0 or -1 if the output is full. */
static int
s_reply_pack (msgpack_packer *pk, const void *arg)
{
    const zr_client_reply_t *reply = (const zr_client_reply_t *) arg;
    bool ok = reply->code == ZR_CLIENT_OK;
    int rc = msgpack_pack_array (pk, ok ? s_reply_fields [reply->type]
                                        : S_ERROR_FIELDS);
    rc |= msgpack_pack_uint64 (pk, ZR_CLIENT_VERSION);
    rc |= msgpack_pack_uint64 (pk, reply->type);
    rc |= msgpack_pack_uint64 (pk, reply->request_id);
    rc |= msgpack_pack_uint64 (pk, reply->code);
    if (!ok) {
        rc |= msgpack_pack_uint64 (pk, reply->leader);
        rc |= s_pack_str (pk, reply->leader_endpoint);
        rc |= s_pack_str (pk, reply->message);
    }
    else
    if (reply->type == ZR_CLIENT_PUT || reply->type == ZR_CLIENT_DEL)
        rc |= msgpack_pack_uint64 (pk, reply->index);
    else
    if (reply->type == ZR_CLIENT_GET) {
        rc |= zr_mp_pack_bool (pk, reply->found);
        rc |= s_pack_bin (pk, reply->value);
    }
    else
    if (reply->type == ZR_CLIENT_CAS) {
        rc |= zr_mp_pack_bool (pk, reply->swapped);
        rc |= msgpack_pack_uint64 (pk, reply->index);
    }
    else
    if (reply->type == ZR_CLIENT_STATUS)
        rc |= s_status_pack (pk, reply);
    return rc;
}

int
zr_client_request_encode (const zr_client_request_t *request, uint8_t **data,
                          size_t *size)
{
    zr_assert (request);
    zr_assert (data && size);
    if (s_request_check (request) != 0)
        return ZR_EINVAL;
    return zr_mp_encode (s_request_pack, request, ZR_CLIENT_FRAME_MAX, data,
                         size);
}

int
zr_client_reply_encode (const zr_client_reply_t *reply, uint8_t **data,
                        size_t *size)
{
    zr_assert (reply);
    zr_assert (data && size);
    if (s_reply_check (reply) != 0)
        return ZR_EINVAL;
    return zr_mp_encode (s_reply_pack, reply, ZR_CLIENT_FRAME_MAX, data,
                         size);
}

//  --------------------------------------------------------------------------
//  Names

const char *
zr_client_type_name (int type)
{
    return type >= 1 && type <= ZR_CLIENT_TYPE_MAX ? s_type_names [type] : "?";
}

const char *
zr_client_code_name (int code)
{
    return code >= 0 && code <= ZR_CLIENT_CODE_MAX ? s_code_names [code] : "?";
}
