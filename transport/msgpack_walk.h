/*  =========================================================================
    msgpack_walk - the structural check of a msgpack frame, before
    msgpack-c builds an object tree from it

    msgpack-c allocates per element a frame claims: an array32 header
    claiming 4 billion elements in a 10-byte frame would make it allocate
    about 100 GB. The walker reads the raw bytes first, allocating
    nothing, and lets a frame through only if it holds exactly one object
    whose containers claim no more elements than the bytes left could
    hold, nested no deeper and claiming no more objects in all than the
    caller's limits. It knows nothing of any schema: the peer codec
    (codec.h) and the client codec (client.h) each call it with their
    limits, then read msgpack-c's tree with their own rules.

    Codes, in byte order, first error wins (codec.h's precedence step 3):
    a header or fixed-size scalar cut short, or a container left
    unfinished -> ZR_ETRUNCATED; a container count (map: 2 x count) or a
    str/bin/ext length larger than the bytes left -> ZR_ECOUNT; containers
    claiming more than objects_max objects in all -> ZR_ETOOBIG; byte
    0xc1 or more than depth_max nested containers -> ZR_EMALFORMED; bytes
    after the object -> ZR_ETRAILING.
    =========================================================================
*/
#ifndef ZR_MSGPACK_WALK_H_INCLUDED
#define ZR_MSGPACK_WALK_H_INCLUDED

/* The deepest nesting any caller may allow. */
#define ZR_MSGPACK_WALK_DEPTH_MAX 8

/* Returns ZR_EVERSION if the size bytes at data open with an array whose
   first element is a complete unsigned integer (positive fixint or
   uint8..uint64) other than version, else 0: a frame of another version
   is reported as such even if the rest of it is garbage. Reads nothing
   past data [size - 1]; never fails otherwise. */
int zr_msgpack_walk_version (const uint8_t *data, size_t size,
                             uint64_t version);

/* Reads up to n leading elements of the top-level array at data into
   values, stopping at the first that is not a complete unsigned integer
   (positive fixint or uint8..uint64) or at the array's end. Returns how
   many it read (0 if data does not open with an array header). For
   error replies that echo what a bad frame's head says; nothing else
   of the frame is looked at. */
size_t zr_msgpack_walk_uints (const uint8_t *data, size_t size,
                              uint64_t *values, size_t n);

/* Checks that the size bytes at data hold exactly one well-formed
   msgpack object, containers nested at most depth_max deep (1: a flat
   array) and claiming at most objects_max objects in all. Returns 0 or
   a code above. data may be NULL only when size is 0. Asserts 1 <=
   depth_max <= ZR_MSGPACK_WALK_DEPTH_MAX; never asserts on the bytes. */
int zr_msgpack_walk (const uint8_t *data, size_t size, size_t depth_max,
                     uint64_t objects_max);

/* One msgpack object's header, as zr_msgpack_walk_item reads it. */
typedef enum {
    ZR_MSGPACK_UINT = 1,                /* positive fixint, uint8..uint64 */
    ZR_MSGPACK_STR = 2,                 /* fixstr, str8..str32 */
    ZR_MSGPACK_BIN = 3,                 /* bin8..bin32 */
    ZR_MSGPACK_ARRAY = 4,               /* fixarray, array16, array32 */
    ZR_MSGPACK_MAP = 5,                 /* fixmap, map16, map32 */
    ZR_MSGPACK_OTHER = 6                /* nil, bool, negative or signed
                                           int, float, ext */
} zr_msgpack_kind_t;

typedef struct {
    zr_msgpack_kind_t kind;             /* what the header says */
    uint64_t value;                     /* UINT: the value; STR, BIN: bytes;
                                           ARRAY: elements; MAP: pairs */
    const uint8_t *body;                /* STR, BIN: the bytes (inside data),
                                           NULL when empty or another kind */
} zr_msgpack_item_t;

/* Reads the object header at data [*pos] into *item, allocating
   nothing, for decoders that read a small schema straight from the
   bytes (actors/bus.c): a scalar is read whole, a str or bin with its
   body (item->body points into data), a container's header only (its
   elements follow, one call each). Advances *pos past what it read.
   Returns 0; ZR_ETRUNCATED when the header or a scalar is cut (also at
   *pos == size); ZR_ECOUNT when a str, bin or ext claims more bytes
   than are left, or a container more elements than bytes left;
   ZR_EMALFORMED on byte 0xc1. *pos is unchanged on error. Signed
   integer formats are OTHER even when non-negative: the callers'
   encoder never writes them. */
int zr_msgpack_walk_item (const uint8_t *data, size_t size, size_t *pos,
                          zr_msgpack_item_t *item);

/* Where a msgpack packer writes (msgpack_packer_init with
   zr_msgpack_out_write and a zr_msgpack_out_t): it counts the bytes
   while data is NULL, else copies them into data, refusing to write
   past size; so an encoder packs once to size a buffer, once into it
   (the client codec, actors/bus.c). */
typedef struct {
    uint8_t *data;                      /* the buffer, or NULL to count */
    size_t size;                        /* bytes of data */
    size_t used;                        /* bytes written (or counted) */
} zr_msgpack_out_t;

/* msgpack_packer_write_t over a zr_msgpack_out_t (arg): 0, or -1 when
   buf does not fit (nothing copied). */
int zr_msgpack_out_write (void *arg, const char *buf, size_t len);

#endif
