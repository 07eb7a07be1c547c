/*  =========================================================================
    msgpack_walk - the structural check of a msgpack frame (see
    msgpack_walk.h)

    One pass over the raw bytes, in order, with a stack of "objects still
    due" per open container: it allocates nothing, reads every byte at
    most once, and never looks past data [size - 1].
    =========================================================================
*/
#include "transport.h"

_Static_assert (ZR_MSGPACK_WALK_DEPTH_MAX < 32,
                "msgpack-c embeds a 32-deep stack");

/* Roles of a msgpack format byte. */
enum { S_SCALAR, S_UINT, S_LEN, S_EXT, S_ARRAY, S_MAP, S_BAD };

/* Format bytes 0xc0..0xdf: role, then bytes of the length/count/value
   field (S_UINT, S_LEN, S_EXT, S_ARRAY, S_MAP) or of the body after the
   format byte (S_SCALAR). */
static const uint8_t s_formats [32][2] = {
    { S_SCALAR, 0 }, { S_BAD, 0 }, { S_SCALAR, 0 }, { S_SCALAR, 0 },
    { S_LEN, 1 }, { S_LEN, 2 }, { S_LEN, 4 },               /* bin */
    { S_EXT, 1 }, { S_EXT, 2 }, { S_EXT, 4 },               /* ext */
    { S_SCALAR, 4 }, { S_SCALAR, 8 },                       /* float */
    { S_UINT, 1 }, { S_UINT, 2 }, { S_UINT, 4 }, { S_UINT, 8 },
    { S_SCALAR, 1 }, { S_SCALAR, 2 }, { S_SCALAR, 4 }, { S_SCALAR, 8 },
    { S_SCALAR, 2 }, { S_SCALAR, 3 }, { S_SCALAR, 5 },      /* fixext */
    { S_SCALAR, 9 }, { S_SCALAR, 17 },
    { S_LEN, 1 }, { S_LEN, 2 }, { S_LEN, 4 },               /* str */
    { S_ARRAY, 2 }, { S_ARRAY, 4 }, { S_MAP, 2 }, { S_MAP, 4 }
};

/* One msgpack header as read from the bytes. */
typedef struct {
    uint8_t role;                   /* S_* */
    uint64_t value;                 /* uint value, str/bin/ext length or count */
    size_t bytes;                   /* header bytes, format byte included */
} s_head_t;

static uint64_t
s_big_endian (const uint8_t *bytes, size_t n)
{
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++)
        value = (value << 8) | bytes [i];
    return value;
}

/* Reads the header at data [pos] (pos < size) without looking past it.
   Returns 0, ZR_ETRUNCATED if the header is cut, ZR_EMALFORMED on 0xc1. */
static int
s_head_read (const uint8_t *data, size_t size, size_t pos, s_head_t *head)
{
    zr_assert (pos < size);
    uint8_t byte = data [pos];
    size_t field = 0;               /* bytes of the value field */
    size_t body = 0;                /* further bytes: ext type, scalar body */
    head->value = 0;
    if (byte <= 0x7f) {
        head->role = S_UINT;
        head->value = byte;
    }
    else if (byte <= 0x9f) {
        head->role = byte <= 0x8f ? S_MAP : S_ARRAY;
        head->value = byte & 0x0f;
    }
    else if (byte <= 0xbf) {
        head->role = S_LEN;
        head->value = byte & 0x1f;
    }
    else if (byte >= 0xe0)
        head->role = S_SCALAR;
    else {
        head->role = s_formats [byte - 0xc0][0];
        if (head->role == S_BAD)
            return ZR_EMALFORMED;
        if (head->role == S_SCALAR)
            body = s_formats [byte - 0xc0][1];
        else
            field = s_formats [byte - 0xc0][1];
        if (head->role == S_EXT)
            body = 1;
    }
    head->bytes = 1 + field + body;
    if (size - pos < head->bytes)
        return ZR_ETRUNCATED;
    if (field)
        head->value = s_big_endian (data + pos + 1, field);
    return 0;
}

size_t
zr_msgpack_walk_uints (const uint8_t *data, size_t size, uint64_t *values,
                       size_t n)
{
    zr_assert (data || size == 0);
    zr_assert (values || n == 0);
    s_head_t head;
    if (size == 0 || s_head_read (data, size, 0, &head) != 0
    ||  head.role != S_ARRAY)
        return 0;
    size_t pos = head.bytes;
    size_t count = head.value < n ? (size_t) head.value : n;
    size_t read = 0;
    while (read < count && pos < size
           && s_head_read (data, size, pos, &head) == 0
           && head.role == S_UINT) {
        values [read++] = head.value;
        pos += head.bytes;
    }
    return read;
}

int
zr_msgpack_walk_version (const uint8_t *data, size_t size, uint64_t version)
{
    uint64_t first;
    if (zr_msgpack_walk_uints (data, size, &first, 1) == 0)
        return 0;
    return first == version ? 0 : ZR_EVERSION;
}

int
zr_msgpack_walk (const uint8_t *data, size_t size, size_t depth_max,
                 uint64_t objects_max)
{
    zr_assert (data || size == 0);
    zr_assert (depth_max >= 1 && depth_max <= ZR_MSGPACK_WALK_DEPTH_MAX);
    uint64_t due [ZR_MSGPACK_WALK_DEPTH_MAX + 1];  /* objects due per level */
    uint64_t objects = 0;           /* objects claimed by containers */
    size_t depth = 0;               /* containers open */
    size_t pos = 0;
    due [0] = 1;
    while (true) {
        while (depth > 0 && due [depth] == 0)
            depth--;
        if (depth == 0 && due [0] == 0)
            break;
        if (pos == size)
            return ZR_ETRUNCATED;
        due [depth]--;
        s_head_t head;
        int rc = s_head_read (data, size, pos, &head);
        if (rc)
            return rc;
        pos += head.bytes;
        size_t left = size - pos;
        uint64_t children = 0;
        if (head.role == S_LEN || head.role == S_EXT) {
            if (head.value > left)
                return ZR_ECOUNT;
            pos += (size_t) head.value;
        }
        else if (head.role == S_ARRAY || head.role == S_MAP) {
            children = head.role == S_MAP ? 2 * head.value : head.value;
            if (children > left)
                return ZR_ECOUNT;
            objects += children;
            if (objects > objects_max)
                return ZR_ETOOBIG;
        }
        if (children > 0) {
            if (depth == depth_max)
                return ZR_EMALFORMED;
            due [++depth] = children;
        }
    }
    return pos == size ? 0 : ZR_ETRAILING;
}

/* Returns the kind of the object whose format byte is byte. */
static zr_msgpack_kind_t
s_kind (uint8_t byte, uint8_t role)
{
    switch (role) {
    case S_UINT:
        return ZR_MSGPACK_UINT;
    case S_ARRAY:
        return ZR_MSGPACK_ARRAY;
    case S_MAP:
        return ZR_MSGPACK_MAP;
    case S_LEN:
        return byte >= 0xc4 && byte <= 0xc6 ? ZR_MSGPACK_BIN : ZR_MSGPACK_STR;
    default:
        return ZR_MSGPACK_OTHER;
    }
}

int
zr_msgpack_walk_item (const uint8_t *data, size_t size, size_t *pos,
                      zr_msgpack_item_t *item)
{
    zr_assert (data || size == 0);
    zr_assert (pos && item && *pos <= size);
    memset (item, 0, sizeof *item);
    if (*pos == size)
        return ZR_ETRUNCATED;
    s_head_t head;
    int rc = s_head_read (data, size, *pos, &head);
    if (rc)
        return rc;
    size_t next = *pos + head.bytes;
    size_t left = size - next;
    item->kind = s_kind (data [*pos], head.role);
    item->value = head.value;
    if (head.role == S_LEN || head.role == S_EXT) {
        if (head.value > left)
            return ZR_ECOUNT;
        if (head.role == S_LEN && head.value > 0)
            item->body = data + next;
        next += (size_t) head.value;
    }
    else
    if ((head.role == S_ARRAY && head.value > left)
        || (head.role == S_MAP && head.value > left / 2))
        return ZR_ECOUNT;
    if (item->kind != ZR_MSGPACK_UINT && item->kind != ZR_MSGPACK_STR
        && item->kind != ZR_MSGPACK_BIN && item->kind != ZR_MSGPACK_ARRAY
        && item->kind != ZR_MSGPACK_MAP)
        item->value = 0;
    *pos = next;
    return 0;
}

int
zr_msgpack_out_write (void *arg, const char *buf, size_t len)
{
    zr_msgpack_out_t *out = (zr_msgpack_out_t *) arg;
    zr_assert (out && (!out->data || out->used <= out->size));
    if (out->data) {
        if (len > out->size - out->used)
            return -1;
        memcpy (out->data + out->used, buf, len);
    }
    out->used += len;
    return 0;
}
