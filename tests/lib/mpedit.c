/*  =========================================================================
    mpedit - edits of msgpack frames for the codecs' tests (mpedit.h)
    =========================================================================
*/
#include "mpedit.h"

#include <check.h>

/* Writes into out (initialised here; the caller destroys it) frame with
   its top-level array edited: element at replaced by *object, or removed
   if object is NULL, or *object appended if at is the element count. */
void
mpedit_frame (const uint8_t *data, size_t size, uint32_t at,
              const msgpack_object *object, msgpack_sbuffer *out)
{
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    ck_assert_int_eq (msgpack_unpack_next (&result, (const char *) data, size,
                                           &offset), MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq (result.data.type, MSGPACK_OBJECT_ARRAY);
    msgpack_object_array array = result.data.via.array;
    ck_assert_uint_le (at, array.size);
    msgpack_sbuffer_init (out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    uint32_t n = array.size - (object == NULL)
                 + (object != NULL && at == array.size);
    msgpack_pack_array (&pk, n);
    for (uint32_t i = 0; i <= array.size; i++) {
        if (i == at && object)
            msgpack_pack_object (&pk, *object);
        else
        if (i < array.size && i != at)
            msgpack_pack_object (&pk, array.ptr [i]);
    }
    msgpack_unpacked_destroy (&result);
}

const msgpack_object *
mpedit_candidates (size_t *n)
{
    static const uint8_t bytes [] = "x";
    static msgpack_object objects [10];
    objects [0] = (msgpack_object) { .type = MSGPACK_OBJECT_NIL };
    objects [1] = (msgpack_object) { .type = MSGPACK_OBJECT_BOOLEAN,
                                     .via.boolean = true };
    objects [2] = (msgpack_object) { .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                                     .via.u64 = 1 };
    objects [3] = (msgpack_object) { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER,
                                     .via.i64 = -1 };
    objects [4] = (msgpack_object) { .type = MSGPACK_OBJECT_FLOAT64,
                                     .via.f64 = 1.0 };
    objects [5] = (msgpack_object) { .type = MSGPACK_OBJECT_STR,
                                     .via.str = { 1, (const char *) bytes } };
    objects [6] = (msgpack_object) { .type = MSGPACK_OBJECT_BIN,
                                     .via.bin = { 1, (const char *) bytes } };
    objects [7] = (msgpack_object) { .type = MSGPACK_OBJECT_ARRAY };
    objects [8] = (msgpack_object) { .type = MSGPACK_OBJECT_MAP };
    objects [9] = (msgpack_object) { .type = MSGPACK_OBJECT_EXT,
                                     .via.ext = { 1, 1, (const char *) bytes } };
    *n = sizeof objects / sizeof objects [0];
    return objects;
}

uint64_t
mpedit_xorshift (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}
