/*  =========================================================================
    fuzz_codec - zr_codec_decode on arbitrary frames

    Every frame a peer sends reaches zr_codec_decode. Checks the promises
    of codec.h on whatever bytes come in:
    - the result is 0 or one of the decoder's error codes (never ZR_ENOMEM
      here: nothing fails to allocate), and *msg_p is untouched on error;
    - allocation stays within S_ALLOC_MULTIPLE x frame + S_ALLOC_CONSTANT;
    - a decoded message keeps the limits and rules (entry count against
      the bytes present, payload sizes, indexes, ids, semantic rules,
      a SNAPSHOT chunk within its snapshot and in a blob of its own);
    - round trip: it re-encodes (the encoder asserts every rule) into the
      canonical form, at most as long as the frame, which decodes to an
      equal message and re-encodes to the same bytes;
    - the frame less its last byte is refused, and the frame plus a byte
      is refused with ZR_ETRAILING.
    =========================================================================
*/
#include "../../transport/transport.h"
#include "fuzz.h"

const char fuzz_target [] = "codec";

/* Allocation bound, bytes per frame byte plus a constant. msgpack-c
   builds a 24-byte msgpack_object per element (an element can be one
   byte) in a zone whose chunks double from 8 KiB, so an array of n
   elements can take a chunk of 48 n bytes (tests/fuzz/crashes/codec/
   alloc-objects-max: 33 x the frame); an APPEND adds a 40-byte
   zr_entry_t per entry (at least 5 frame bytes each: 8 x) and one copy
   of the payloads. ZR_CODEC_OBJECTS_MAX caps it all at about 1 MiB. */
#define S_ALLOC_MULTIPLE 64
#define S_ALLOC_CONSTANT (16 * 1024)

/* Smallest encoding of one entry: fixarray, term, type, bin8 of 0. */
#define S_ENTRY_BYTES_MIN 5

/* Checks the InstallSnapshot fields: codec.h's SNAPSHOT and
   SNAPSHOT_REPLY rules, a chunk within the frame, in its own blob, and
   zero in the types that do not carry them. */
static void
s_check_snapshot (const zr_message_t *msg, size_t size)
{
    FUZZ_CHECK (msg->chunk_size <= ZR_CHUNK_BYTES_MAX);
    FUZZ_CHECK (msg->chunk_size <= size);
    FUZZ_CHECK ((msg->chunk_size > 0) == (msg->chunk != NULL));
    FUZZ_CHECK ((msg->chunk_size > 0) == (msg->chunk_blob != NULL));
    if (msg->chunk_blob)
        FUZZ_CHECK (msg->chunk == msg->chunk_blob->data
                    && msg->chunk_size <= msg->chunk_blob->size);
    if (msg->type == ZR_MSG_SNAPSHOT) {
        FUZZ_CHECK (msg->last_index >= 1 && msg->last_term >= 1);
        FUZZ_CHECK (msg->last_term <= msg->term);
        FUZZ_CHECK (msg->snap_offset <= msg->snap_size);
        FUZZ_CHECK (msg->chunk_size <= msg->snap_size - msg->snap_offset);
    }
    else
        FUZZ_CHECK (msg->chunk_size == 0 && msg->snap_size == 0);
    if (msg->type == ZR_MSG_SNAPSHOT_REPLY) {
        FUZZ_CHECK (msg->last_index >= 1);
        FUZZ_CHECK (!msg->installed || msg->success);
    }
    else
        FUZZ_CHECK (!msg->installed);
    if (msg->type != ZR_MSG_SNAPSHOT && msg->type != ZR_MSG_SNAPSHOT_REPLY)
        FUZZ_CHECK (msg->snap_offset == 0);
}

/* Checks what a decoded message promises beyond what the encoder
   asserts: the limits, against the size of the frame it came from. */
static void
s_check_limits (const zr_message_t *msg, size_t size)
{
    FUZZ_CHECK (msg->type >= ZR_MSG_VOTE && msg->type <= ZR_MSG_TYPE_MAX);
    FUZZ_CHECK (msg->n_entries <= ZR_BATCH_ENTRIES_MAX);
    FUZZ_CHECK ((uint64_t) msg->n_entries * S_ENTRY_BYTES_MIN <= size);
    FUZZ_CHECK ((msg->n_entries > 0) == (msg->entries != NULL));
    FUZZ_CHECK (msg->type == ZR_MSG_APPEND || msg->n_entries == 0);
    uint64_t payload = 0;
    for (uint32_t i = 0; i < msg->n_entries; i++) {
        const zr_entry_t *entry = &msg->entries [i];
        FUZZ_CHECK (entry->size <= ZR_ENTRY_BYTES_MAX);
        FUZZ_CHECK (entry->index == msg->prev_index + 1 + i);
        FUZZ_CHECK ((entry->size > 0) == (entry->data != NULL));
        FUZZ_CHECK ((entry->size > 0) == (entry->blob != NULL));
        if (entry->blob) {
            const uint8_t *start = entry->blob->data;
            FUZZ_CHECK (entry->data >= start);
            FUZZ_CHECK (entry->data + entry->size
                        <= start + entry->blob->size);
        }
        payload += entry->size;
    }
    FUZZ_CHECK (payload <= size);
    s_check_snapshot (msg, size);
}

/* Checks that a and b carry the same fields and entries. */
static void
s_check_equal (const zr_message_t *a, const zr_message_t *b)
{
    FUZZ_CHECK (a->type == b->type && a->from == b->from && a->to == b->to);
    FUZZ_CHECK (a->term == b->term && a->granted == b->granted);
    FUZZ_CHECK (a->last_index == b->last_index && a->last_term == b->last_term);
    FUZZ_CHECK (a->prev_index == b->prev_index && a->prev_term == b->prev_term);
    FUZZ_CHECK (a->commit == b->commit && a->success == b->success);
    FUZZ_CHECK (a->match_index == b->match_index);
    FUZZ_CHECK (a->conflict_term == b->conflict_term);
    FUZZ_CHECK (a->conflict_index == b->conflict_index);
    FUZZ_CHECK (a->round == b->round);
    FUZZ_CHECK (a->snap_offset == b->snap_offset);
    FUZZ_CHECK (a->snap_size == b->snap_size);
    FUZZ_CHECK (a->installed == b->installed);
    FUZZ_CHECK (a->chunk_size == b->chunk_size);
    FUZZ_CHECK (a->chunk_size == 0
                || memcmp (a->chunk, b->chunk, a->chunk_size) == 0);
    FUZZ_CHECK (a->n_entries == b->n_entries);
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const zr_entry_t *x = &a->entries [i], *y = &b->entries [i];
        FUZZ_CHECK (x->term == y->term && x->index == y->index);
        FUZZ_CHECK (x->type == y->type && x->size == y->size);
        FUZZ_CHECK (x->size == 0 || memcmp (x->data, y->data, x->size) == 0);
    }
}

/* Encodes msg, checks the encoding decodes to an equal message which
   encodes to the same bytes. Returns the encoded size. */
static size_t
s_check_round_trip (const zr_message_t *msg)
{
    msgpack_sbuffer first, second;
    msgpack_sbuffer_init (&first);
    msgpack_sbuffer_init (&second);
    FUZZ_CHECK (zr_codec_encode (msg, &first) == 0);
    zr_message_t *copy = NULL;
    FUZZ_CHECK (zr_codec_decode (first.data, first.size, &copy) == 0);
    s_check_equal (msg, copy);
    FUZZ_CHECK (zr_codec_encode (copy, &second) == 0);
    FUZZ_CHECK (second.size == first.size);
    FUZZ_CHECK (memcmp (first.data, second.data, first.size) == 0);
    size_t bytes = first.size;
    zr_message_destroy (&copy);
    msgpack_sbuffer_destroy (&first);
    msgpack_sbuffer_destroy (&second);
    return bytes;
}

/* Checks that a good frame cut by one byte, or grown by one, is refused. */
static void
s_check_neighbours (const uint8_t *data, size_t size)
{
    zr_message_t *msg = NULL;
    FUZZ_CHECK (zr_codec_decode (data, size - 1, &msg) != 0);
    FUZZ_CHECK (msg == NULL);
    uint8_t *longer = (uint8_t *) malloc (size + 1);
    FUZZ_CHECK (longer);
    memcpy (longer, data, size);
    longer [size] = 0;
    FUZZ_CHECK (zr_codec_decode (longer, size + 1, &msg) == ZR_ETRAILING);
    FUZZ_CHECK (msg == NULL);
    free (longer);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zr_message_t sentinel;
    zr_message_t *msg = &sentinel;
    fuzz_alloc_begin ();
    int rc = zr_codec_decode (data, size, &msg);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_ALLOC_MULTIPLE,
                       S_ALLOC_CONSTANT);
    if (rc != 0) {
        FUZZ_CHECK (rc == ZR_ETOOBIG || rc == ZR_EVERSION
                    || rc == ZR_ETRUNCATED || rc == ZR_ECOUNT
                    || rc == ZR_ETRAILING || rc == ZR_EMALFORMED);
        FUZZ_CHECK (msg == &sentinel);
        return 0;
    }
    FUZZ_CHECK (msg && msg != &sentinel);
    s_check_limits (msg, size);
    FUZZ_CHECK (s_check_round_trip (msg) <= size);
    s_check_neighbours (data, size);
    zr_message_destroy (&msg);
    return 0;
}
