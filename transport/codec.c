/*  =========================================================================
    codec - msgpack encoding of the Raft RPCs (see codec.h)

    Decoding runs in two passes. A small walker first checks the raw bytes
    (truncation, element counts against the bytes left, depth, object
    budget, trailing bytes), because msgpack-c allocates per claimed
    element: an array32 header claiming 4 billion elements in a 10-byte
    frame would make it allocate ~100 GB. Only a frame that passed the
    walker reaches msgpack-c (zr_mp_unpack), whose object tree is then read
    with strict type checks and the semantic rules of codec.h. The walker
    is msgpack_walk.c, shared with the client protocol's codec.
    =========================================================================
*/
#include "transport.h"

/* Every error code has a stats slot. */
#define S_SLOT_FITS(name, value, text)                                       \
    _Static_assert ((value) < 0 && -(value) < ZR_CODEC_STATS_SLOTS,          \
                    #name " has a stats slot");
ZR_ERRORS (S_SLOT_FITS)
#undef S_SLOT_FITS
_Static_assert (ZR_ENTRY_BYTES_MAX <= UINT32_MAX, "entry size fits a bin32");
_Static_assert (ZR_BATCH_ENTRIES_MAX <= UINT32_MAX, "batch fits an array32");
_Static_assert (ZR_CODEC_DEPTH_MAX <= ZR_MSGPACK_WALK_DEPTH_MAX,
                "the walker takes the codec's depth");

/* Fields in a frame, by message type (the table in codec.h). */
static const uint32_t s_fields [] = { 0, 7, 6, 10, 11, 7, 6, 5, 10, 9 };
_Static_assert (sizeof s_fields / sizeof s_fields [0] == ZR_MSG_TYPE_MAX + 1,
                "one field count per message type");
#define S_HEAD_FIELDS 5             /* version, type, from, to, term */

//  --------------------------------------------------------------------------
//  Semantic rules, shared by the decoder (checked) and encoder (asserted)

static bool
s_id_valid (zr_id_t id)
{
    return id >= 1 && id <= ZR_NODES_MAX;
}

/* Returns 0, ZR_ETOOBIG or ZR_EMALFORMED for an APPEND (codec.h rules). */
static int
s_check_append (const zr_message_t *msg)
{
    if (msg->n_entries > ZR_BATCH_ENTRIES_MAX)
        return ZR_ETOOBIG;
    if (msg->prev_term > msg->term
    ||  (msg->prev_index == 0) != (msg->prev_term == 0)
    ||  msg->prev_index > UINT64_MAX - msg->n_entries
    ||  (msg->n_entries > 0 && !msg->entries))
        return ZR_EMALFORMED;
    zr_term_t floor = msg->prev_term > 1 ? msg->prev_term : 1;
    for (uint32_t i = 0; i < msg->n_entries; i++) {
        const zr_entry_t *entry = &msg->entries [i];
        if (entry->size > ZR_ENTRY_BYTES_MAX)
            return ZR_ETOOBIG;
        if (!zr_entry_type_valid (entry->type)
        ||  entry->term < floor || entry->term > msg->term
        ||  entry->index != msg->prev_index + 1 + i
        ||  (entry->size > 0 && !entry->data))
            return ZR_EMALFORMED;
        floor = entry->term;
    }
    return 0;
}

/* Returns 0, ZR_ETOOBIG or ZR_EMALFORMED for any message. */
static int
s_check (const zr_message_t *msg)
{
    if (msg->type < ZR_MSG_VOTE || msg->type > ZR_MSG_TYPE_MAX
    ||  !s_id_valid (msg->from) || !s_id_valid (msg->to)
    ||  msg->from == msg->to || msg->term == 0)
        return ZR_EMALFORMED;
    switch (msg->type) {
    case ZR_MSG_VOTE:
    case ZR_MSG_PREVOTE:
        if (msg->last_term > msg->term
        ||  (msg->last_index == 0) != (msg->last_term == 0))
            return ZR_EMALFORMED;
        return 0;
    case ZR_MSG_APPEND:
        return s_check_append (msg);
    case ZR_MSG_APPEND_REPLY:
        if (msg->conflict_term > msg->term
        ||  (msg->conflict_term > 0
             && (msg->conflict_index == 0
                 || msg->conflict_index > msg->match_index)))
            return ZR_EMALFORMED;
        return 0;
    case ZR_MSG_SNAPSHOT:
        if (msg->chunk_size > ZR_CHUNK_BYTES_MAX)
            return ZR_ETOOBIG;
        if (msg->last_index == 0 || msg->last_term == 0
        ||  msg->last_term > msg->term || msg->snap_offset > msg->snap_size
        ||  msg->chunk_size > msg->snap_size - msg->snap_offset
        ||  (msg->chunk_size > 0 && !msg->chunk))
            return ZR_EMALFORMED;
        return 0;
    case ZR_MSG_SNAPSHOT_REPLY:
        if (msg->last_index == 0 || (msg->installed && !msg->success))
            return ZR_EMALFORMED;
        return 0;
    default:
        return 0;
    }
}

//  --------------------------------------------------------------------------
//  Schema: the msgpack object tree into a message

static bool
s_uint (const msgpack_object *object, uint64_t *value)
{
    if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *value = object->via.u64;
    return true;
}

static bool
s_bool (const msgpack_object *object, bool *value)
{
    if (object->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *value = object->via.boolean;
    return true;
}

static bool
s_id (const msgpack_object *object, zr_id_t *id)
{
    uint64_t value;
    if (!s_uint (object, &value) || value < 1 || value > ZR_NODES_MAX)
        return false;
    *id = (zr_id_t) value;
    return true;
}

/* Reads one [term, type, data] entry; data points into the frame. */
static int
s_decode_entry (const msgpack_object *object, zr_entry_t *entry)
{
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size != 3)
        return ZR_EMALFORMED;
    const msgpack_object *field = object->via.array.ptr;
    uint64_t type;
    if (!s_uint (&field [0], &entry->term) || !s_uint (&field [1], &type)
    ||  !zr_entry_type_valid (type)
    ||  field [2].type != MSGPACK_OBJECT_BIN)
        return ZR_EMALFORMED;
    if (field [2].via.bin.size > ZR_ENTRY_BYTES_MAX)
        return ZR_ETOOBIG;
    entry->type = (uint8_t) type;
    entry->size = field [2].via.bin.size;
    entry->data = entry->size ? (const uint8_t *) field [2].via.bin.ptr : NULL;
    return 0;
}

/* Reads the entry list into msg (prev_index already set), then copies
   every payload into one shared blob. */
static int
s_decode_entries (const msgpack_object *list, zr_message_t *msg)
{
    if (list->type != MSGPACK_OBJECT_ARRAY)
        return ZR_EMALFORMED;
    uint32_t n = list->via.array.size;
    if (n > ZR_BATCH_ENTRIES_MAX)
        return ZR_ETOOBIG;
    if (n == 0)
        return 0;
    msg->entries = (zr_entry_t *) calloc (n, sizeof (zr_entry_t));
    if (!msg->entries)
        return ZR_ENOMEM;
    msg->n_entries = n;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        int rc = s_decode_entry (&list->via.array.ptr [i], &msg->entries [i]);
        if (rc)
            return rc;
        msg->entries [i].index = msg->prev_index + 1 + i;
        total += msg->entries [i].size;
    }
    if (total == 0)
        return 0;
    zr_blob_t *blob = zr_blob_new (total);
    if (!blob)
        return ZR_ENOMEM;
    size_t offset = 0;
    for (uint32_t i = 0; i < n; i++) {
        zr_entry_t *entry = &msg->entries [i];
        if (entry->size == 0)
            continue;
        memcpy (blob->data + offset, entry->data, entry->size);
        entry->data = blob->data + offset;
        entry->blob = zr_blob_ref (blob);
        offset += entry->size;
    }
    zr_blob_unref (&blob);          /* the entries hold the references */
    return 0;
}

/* Reads an InstallSnapshot chunk (bin) into a blob of its own. */
static int
s_decode_chunk (const msgpack_object *object, zr_message_t *msg)
{
    if (object->type != MSGPACK_OBJECT_BIN)
        return ZR_EMALFORMED;
    if (object->via.bin.size > ZR_CHUNK_BYTES_MAX)
        return ZR_ETOOBIG;
    msg->chunk_size = object->via.bin.size;
    if (msg->chunk_size == 0)
        return 0;
    msg->chunk_blob = zr_blob_new (msg->chunk_size);
    if (!msg->chunk_blob)
        return ZR_ENOMEM;
    memcpy (msg->chunk_blob->data, object->via.bin.ptr, msg->chunk_size);
    msg->chunk = msg->chunk_blob->data;
    return 0;
}

/* Reads the fields after the version and type into msg. */
static int
s_decode_fields (const msgpack_object *field, zr_message_t *msg)
{
    if (!s_id (&field [2], &msg->from) || !s_id (&field [3], &msg->to)
    ||  !s_uint (&field [4], &msg->term))
        return ZR_EMALFORMED;
    switch (msg->type) {
    case ZR_MSG_VOTE:
    case ZR_MSG_PREVOTE:
        if (!s_uint (&field [5], &msg->last_index)
        ||  !s_uint (&field [6], &msg->last_term))
            return ZR_EMALFORMED;
        return 0;
    case ZR_MSG_VOTE_REPLY:
    case ZR_MSG_PREVOTE_REPLY:
        return s_bool (&field [5], &msg->granted) ? 0 : ZR_EMALFORMED;
    case ZR_MSG_TIMEOUT_NOW:
        return 0;
    case ZR_MSG_APPEND:
        if (!s_uint (&field [5], &msg->prev_index)
        ||  !s_uint (&field [6], &msg->prev_term)
        ||  !s_uint (&field [7], &msg->commit)
        ||  !s_uint (&field [8], &msg->round))
            return ZR_EMALFORMED;
        return s_decode_entries (&field [9], msg);
    case ZR_MSG_APPEND_REPLY:
        if (!s_bool (&field [5], &msg->success)
        ||  !s_uint (&field [6], &msg->match_index)
        ||  !s_uint (&field [7], &msg->conflict_term)
        ||  !s_uint (&field [8], &msg->conflict_index)
        ||  !s_uint (&field [9], &msg->last_index)
        ||  !s_uint (&field [10], &msg->round))
            return ZR_EMALFORMED;
        return 0;
    case ZR_MSG_SNAPSHOT:
        if (!s_uint (&field [5], &msg->last_index)
        ||  !s_uint (&field [6], &msg->last_term)
        ||  !s_uint (&field [7], &msg->snap_offset)
        ||  !s_uint (&field [8], &msg->snap_size))
            return ZR_EMALFORMED;
        return s_decode_chunk (&field [9], msg);
    case ZR_MSG_SNAPSHOT_REPLY:
        if (!s_uint (&field [5], &msg->last_index)
        ||  !s_uint (&field [6], &msg->snap_offset)
        ||  !s_bool (&field [7], &msg->success)
        ||  !s_bool (&field [8], &msg->installed))
            return ZR_EMALFORMED;
        return 0;
    default:
        return ZR_EMALFORMED;       /* s_decode_frame checked the type */
    }
}

/* Reads the top-level object into a new message (*msg_p, NULL on error). */
static int
s_decode_frame (const msgpack_object *root, zr_message_t **msg_p)
{
    *msg_p = NULL;
    if (root->type != MSGPACK_OBJECT_ARRAY
    ||  root->via.array.size < S_HEAD_FIELDS)
        return ZR_EMALFORMED;
    const msgpack_object *field = root->via.array.ptr;
    uint64_t version, type;
    if (!s_uint (&field [0], &version))
        return ZR_EMALFORMED;
    if (version != ZR_CODEC_VERSION)
        return ZR_EVERSION;
    if (!s_uint (&field [1], &type)
    ||  type < ZR_MSG_VOTE || type > ZR_MSG_TYPE_MAX
    ||  root->via.array.size != s_fields [type])
        return ZR_EMALFORMED;
    zr_message_t *msg = zr_message_new ((zr_msg_type_t) type);
    if (!msg)
        return ZR_ENOMEM;
    int rc = s_decode_fields (field, msg);
    if (rc == 0)
        rc = s_check (msg);
    if (rc)
        zr_message_destroy (&msg);
    *msg_p = msg;
    return rc;
}

int
zr_codec_decode (const void *data, size_t size, zr_message_t **msg_p)
{
    zr_assert (msg_p);
    zr_assert (data || size == 0);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    zr_message_t *msg = NULL;
    int rc = zr_mp_unpack ((const uint8_t *) data, size, ZR_CODEC_VERSION,
                           ZR_FRAME_BYTES_MAX, ZR_CODEC_DEPTH_MAX,
                           ZR_CODEC_OBJECTS_MAX, &result);
    if (rc == 0)
        rc = s_decode_frame (&result.data, &msg);
    msgpack_unpacked_destroy (&result);
    if (rc == 0)
        *msg_p = msg;
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoder

/* Bytes msgpack-c takes for an unsigned integer (smallest form). */
static uint64_t
s_uint_size (uint64_t value)
{
    return value < 128 ? 1 : value < 256 ? 2 : value < 65536 ? 3
         : value <= UINT32_MAX ? 5 : 9;
}

/* Bytes of an array header for n elements. */
static uint64_t
s_array_head_size (uint64_t n)
{
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

/* Bytes of a bin header for n bytes (msgpack has no fixbin). */
static uint64_t
s_bin_head_size (uint64_t n)
{
    return n < 256 ? 2 : n < 65536 ? 3 : 5;
}

/* Returns the exact size of msg's frame. */
static uint64_t
s_frame_size (const zr_message_t *msg)
{
    uint64_t bytes = 3 + s_uint_size (msg->from) + s_uint_size (msg->to)
                   + s_uint_size (msg->term);
    if (msg->type == ZR_MSG_VOTE || msg->type == ZR_MSG_PREVOTE)
        bytes += s_uint_size (msg->last_index) + s_uint_size (msg->last_term);
    else
    if (msg->type == ZR_MSG_VOTE_REPLY || msg->type == ZR_MSG_PREVOTE_REPLY)
        bytes += 1;
    else
    if (msg->type == ZR_MSG_TIMEOUT_NOW)
        ;
    else
    if (msg->type == ZR_MSG_APPEND_REPLY)
        bytes += 1 + s_uint_size (msg->match_index)
               + s_uint_size (msg->conflict_term)
               + s_uint_size (msg->conflict_index)
               + s_uint_size (msg->last_index) + s_uint_size (msg->round);
    else
    if (msg->type == ZR_MSG_SNAPSHOT)
        bytes += s_uint_size (msg->last_index) + s_uint_size (msg->last_term)
               + s_uint_size (msg->snap_offset) + s_uint_size (msg->snap_size)
               + s_bin_head_size (msg->chunk_size) + msg->chunk_size;
    else
    if (msg->type == ZR_MSG_SNAPSHOT_REPLY)
        bytes += s_uint_size (msg->last_index) + s_uint_size (msg->snap_offset) + 2;
    else {
        bytes += s_uint_size (msg->prev_index) + s_uint_size (msg->prev_term)
               + s_uint_size (msg->commit) + s_uint_size (msg->round)
               + s_array_head_size (msg->n_entries);
        for (uint32_t i = 0; i < msg->n_entries; i++) {
            const zr_entry_t *entry = &msg->entries [i];
            /* fixarray (3) and entry type are one byte each */
            bytes += 2 + s_uint_size (entry->term)
                   + s_bin_head_size (entry->size) + entry->size;
        }
    }
    return bytes;
}

/* Packs msg; returns 0 or -1 if the buffer could not grow. */
static int
s_pack (msgpack_packer *pk, const zr_message_t *msg)
{
    int rc = msgpack_pack_array (pk, s_fields [msg->type]);
    rc |= msgpack_pack_uint64 (pk, ZR_CODEC_VERSION);
    rc |= msgpack_pack_uint64 (pk, msg->type);
    rc |= msgpack_pack_uint64 (pk, msg->from);
    rc |= msgpack_pack_uint64 (pk, msg->to);
    rc |= msgpack_pack_uint64 (pk, msg->term);
    if (msg->type == ZR_MSG_VOTE || msg->type == ZR_MSG_PREVOTE) {
        rc |= msgpack_pack_uint64 (pk, msg->last_index);
        rc |= msgpack_pack_uint64 (pk, msg->last_term);
    }
    else
    if (msg->type == ZR_MSG_VOTE_REPLY || msg->type == ZR_MSG_PREVOTE_REPLY)
        rc |= msg->granted ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
    else
    if (msg->type == ZR_MSG_TIMEOUT_NOW)
        ;
    else
    if (msg->type == ZR_MSG_APPEND_REPLY) {
        rc |= msg->success ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        rc |= msgpack_pack_uint64 (pk, msg->match_index);
        rc |= msgpack_pack_uint64 (pk, msg->conflict_term);
        rc |= msgpack_pack_uint64 (pk, msg->conflict_index);
        rc |= msgpack_pack_uint64 (pk, msg->last_index);
        rc |= msgpack_pack_uint64 (pk, msg->round);
    }
    else
    if (msg->type == ZR_MSG_SNAPSHOT) {
        rc |= msgpack_pack_uint64 (pk, msg->last_index);
        rc |= msgpack_pack_uint64 (pk, msg->last_term);
        rc |= msgpack_pack_uint64 (pk, msg->snap_offset);
        rc |= msgpack_pack_uint64 (pk, msg->snap_size);
        rc |= msgpack_pack_bin (pk, msg->chunk_size);
        if (msg->chunk_size > 0)
            rc |= msgpack_pack_bin_body (pk, msg->chunk, msg->chunk_size);
    }
    else
    if (msg->type == ZR_MSG_SNAPSHOT_REPLY) {
        rc |= msgpack_pack_uint64 (pk, msg->last_index);
        rc |= msgpack_pack_uint64 (pk, msg->snap_offset);
        rc |= msg->success ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        rc |= msg->installed ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
    }
    else {
        rc |= msgpack_pack_uint64 (pk, msg->prev_index);
        rc |= msgpack_pack_uint64 (pk, msg->prev_term);
        rc |= msgpack_pack_uint64 (pk, msg->commit);
        rc |= msgpack_pack_uint64 (pk, msg->round);
        rc |= msgpack_pack_array (pk, msg->n_entries);
        for (uint32_t i = 0; i < msg->n_entries; i++) {
            const zr_entry_t *entry = &msg->entries [i];
            rc |= msgpack_pack_array (pk, 3);
            rc |= msgpack_pack_uint64 (pk, entry->term);
            rc |= msgpack_pack_uint64 (pk, entry->type);
            rc |= msgpack_pack_bin (pk, entry->size);
            if (entry->size > 0)
                rc |= msgpack_pack_bin_body (pk, entry->data, entry->size);
        }
    }
    return rc;
}

int
zr_codec_encode (const zr_message_t *msg, msgpack_sbuffer *sbuf)
{
    zr_assert (msg);
    zr_assert (sbuf);
    int rc = s_check (msg);
    if (rc == ZR_ETOOBIG)
        return rc;
    zr_assert (rc == 0 && "message breaks a rule of codec.h");
    uint64_t bytes = s_frame_size (msg);
    if (bytes > ZR_FRAME_BYTES_MAX)
        return ZR_ETOOBIG;
    /* Grow once to the exact size, not by doubling, for big batches. */
    size_t start = sbuf->size;
    if (sbuf->alloc - sbuf->size < bytes) {
        char *data = (char *) realloc (sbuf->data, start + bytes);
        if (!data)
            return ZR_ENOMEM;
        sbuf->data = data;
        sbuf->alloc = start + bytes;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    if (s_pack (&pk, msg) != 0)
        return ZR_ENOMEM;
    zr_assert (sbuf->size - start == bytes);
    return 0;
}

void
zr_codec_stats_add (zr_codec_stats_t *stats, int rc)
{
    zr_assert (stats);
    zr_assert (rc <= 0 && rc > -ZR_CODEC_STATS_SLOTS);
    stats->count [-rc]++;
}
