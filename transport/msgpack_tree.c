/*  =========================================================================
    msgpack_tree - what the strict msgpack codecs share (see
    msgpack_tree.h)
    =========================================================================
*/
#include "transport.h"

//  --------------------------------------------------------------------------
//  Decoding

/* Frames up to this size get a first zone chunk under glibc's large-bin
   requests (1 KiB); larger ones msgpack-c's default. */
#define S_SMALL_FRAME 400u
#define S_SMALL_CHUNK 960u

/* msgpack-c's tree of a frame the walk judged: 0, ZR_ENOMEM, or
   ZR_EMALFORMED (unreachable after the walk). Its zone's first chunk is
   sized for the frame: msgpack_unpack_next's 8 KiB one is a large-bin
   malloc per frame, and glibc consolidates its fast bins on each (15% of
   zraft-node's bus loop in a profile at W=256). */
static int
s_tree (const uint8_t *data, size_t size, msgpack_unpacked *result)
{
    zr_assert (data || size == 0);
    zr_assert (result);
    msgpack_unpacked_destroy (result);
    result->zone = msgpack_zone_new (size <= S_SMALL_FRAME ? S_SMALL_CHUNK
                                                           : MSGPACK_ZONE_CHUNK_SIZE);
    if (!result->zone)
        return ZR_ENOMEM;
    size_t offset = 0;
    msgpack_unpack_return ret = msgpack_unpack ((const char *) data, size, &offset,
                                                result->zone, &result->data);
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
        return ZR_ENOMEM;
    if (ret != MSGPACK_UNPACK_SUCCESS || offset != size)
        return ZR_EMALFORMED;       /* the walker makes this unreachable */
    return 0;
}

int
zr_mp_unpack (const uint8_t *data, size_t size, uint64_t version,
              size_t frame_max, size_t depth_max, uint64_t objects_max,
              msgpack_unpacked *result)
{
    zr_assert (data || size == 0);
    zr_assert (result);
    if (size > frame_max)
        return ZR_ETOOBIG;
    int rc = zr_msgpack_walk_version (data, size, version);
    if (rc == 0)
        rc = zr_msgpack_walk (data, size, depth_max, objects_max);
    return rc ? rc : s_tree (data, size, result);
}

void
zr_mp_reader_init (zr_mp_reader_t *reader, const msgpack_object *array)
{
    zr_assert (reader && array);
    zr_assert (array->type == MSGPACK_OBJECT_ARRAY);
    *reader = (zr_mp_reader_t) { array->via.array.ptr,
                                 array->via.array.ptr + array->via.array.size,
                                 0 };
}

const msgpack_object *
zr_mp_next (zr_mp_reader_t *reader)
{
    zr_assert (reader);
    if (reader->rc == 0 && reader->field == reader->end)
        reader->rc = ZR_EMALFORMED;
    return reader->rc ? NULL : reader->field++;
}

void
zr_mp_fail (zr_mp_reader_t *reader, int error)
{
    zr_assert (reader && error <= 0);
    if (reader->rc == 0)
        reader->rc = error;
}

uint64_t
zr_mp_read_uint (zr_mp_reader_t *reader)
{
    const msgpack_object *object = zr_mp_next (reader);
    if (object && object->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return object->via.u64;
    zr_mp_fail (reader, ZR_EMALFORMED);
    return 0;
}

uint32_t
zr_mp_read_u32 (zr_mp_reader_t *reader)
{
    uint64_t value = zr_mp_read_uint (reader);
    if (value <= UINT32_MAX)
        return (uint32_t) value;
    zr_mp_fail (reader, ZR_EMALFORMED);
    return 0;
}

bool
zr_mp_read_bool (zr_mp_reader_t *reader)
{
    const msgpack_object *object = zr_mp_next (reader);
    if (object && object->type == MSGPACK_OBJECT_BOOLEAN)
        return object->via.boolean;
    zr_mp_fail (reader, ZR_EMALFORMED);
    return false;
}

size_t
zr_mp_read_bytes (zr_mp_reader_t *reader, msgpack_object_type type,
                  size_t max, const uint8_t **data)
{
    zr_assert (type == MSGPACK_OBJECT_STR || type == MSGPACK_OBJECT_BIN);
    zr_assert (data);
    *data = NULL;
    const msgpack_object *object = zr_mp_next (reader);
    if (!object || object->type != type) {
        zr_mp_fail (reader, ZR_EMALFORMED);
        return 0;
    }
    /* bin and str share one layout in msgpack-c's union. */
    size_t size = type == MSGPACK_OBJECT_BIN ? object->via.bin.size
                                             : object->via.str.size;
    if (size > max) {
        zr_mp_fail (reader, ZR_ETOOBIG);
        return 0;
    }
    if (size > 0)
        *data = type == MSGPACK_OBJECT_BIN
              ? (const uint8_t *) object->via.bin.ptr
              : (const uint8_t *) object->via.str.ptr;
    return size;
}

int
zr_mp_bytes_check (const uint8_t *data, size_t size, size_t max)
{
    if (size > max)
        return ZR_ETOOBIG;
    return size > 0 && !data ? ZR_EMALFORMED : 0;
}

int
zr_mp_str_check (const uint8_t *data, size_t size, size_t max)
{
    int rc = zr_mp_bytes_check (data, size, max);
    if (rc == 0 && size > 0 && memchr (data, 0, size))
        rc = ZR_EMALFORMED;
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoding

int
zr_mp_pack_bool (msgpack_packer *pk, bool value)
{
    return value ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
}

int
zr_mp_pack_bin (msgpack_packer *pk, const uint8_t *data, size_t size)
{
    int rc = msgpack_pack_bin (pk, size);
    if (size > 0)
        rc |= msgpack_pack_bin_body (pk, data, size);
    return rc;
}

int
zr_mp_pack_str (msgpack_packer *pk, const uint8_t *data, size_t size)
{
    int rc = msgpack_pack_str (pk, size);
    if (size > 0)
        rc |= msgpack_pack_str_body (pk, data, size);
    return rc;
}

int
zr_mp_encode (int (*pack) (msgpack_packer *, const void *), const void *what,
              size_t frame_max, uint8_t **data, size_t *size)
{
    zr_assert (pack && what && data && size);
    zr_msgpack_out_t out = { NULL, 0, 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, zr_msgpack_out_write);
    zr_assert (pack (&pk, what) == 0);
    /* The caller's rules keep every frame within frame_max. */
    zr_assert (out.used > 0 && out.used <= frame_max);
    out.size = out.used;
    out.used = 0;
    out.data = (uint8_t *) malloc (out.size);
    if (!out.data)
        return ZR_ENOMEM;
    zr_assert (pack (&pk, what) == 0);
    zr_assert (out.used == out.size);
    *data = out.data;
    *size = out.size;
    return 0;
}
