/*  =========================================================================
    msgpack_tree - what the strict msgpack codecs share: the raw-bytes
    steps before msgpack-c builds a tree, a reader of that tree with
    strict types, and a packer into a frame of exact size

    The client codec (client.h) and the bus codec (bus.h) read a frame
    the same way (the peer codec, codec.h, shares the first steps,
    zr_mp_unpack): its size, its version element and the structural walk
    (msgpack_walk.h) judge the raw bytes first, so msgpack-c only ever
    builds a tree of a bounded number of objects (zr_mp_unpack); then the
    codec's schema reads the top-level array field by field with a
    zr_mp_reader_t, which keeps the first error so fields are judged in
    frame order; str and bin fields point into the frame (msgpack-c
    references their bodies in the buffer it is given). Encoders pack
    twice, once to count and once into a buffer of exactly that size
    (zr_mp_encode). The schemas themselves stay in the codecs.
    =========================================================================
*/
#ifndef ZR_MSGPACK_TREE_H_INCLUDED
#define ZR_MSGPACK_TREE_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a frame's fields in order; after the first error every read
   returns zero and rc keeps that error. */
typedef struct {
    const msgpack_object *field;        /* the next field */
    const msgpack_object *end;          /* past the last field */
    int rc;                             /* first error, 0 if none */
} zr_mp_reader_t;

/* Runs the raw-bytes steps on size bytes at data: over frame_max ->
   ZR_ETOOBIG; a version element other than version -> ZR_EVERSION; the
   walk (depth_max, objects_max) -> its codes; then msgpack-c: on
   success (0) result holds the frame's tree (the caller initialised
   result and destroys it). ZR_ENOMEM if msgpack-c runs out of memory.
   The tree's zone is sized for the frame (msgpack_tree.c: not
   msgpack_unpack_next's 8 KiB first chunk, a large-bin malloc per frame
   on which glibc consolidates its fast bins). */
int zr_mp_unpack (const uint8_t *data, size_t size, uint64_t version,
                  size_t frame_max, size_t depth_max, uint64_t objects_max,
                  msgpack_unpacked *result);

/* Starts a reader on the elements of array (an ARRAY object). */
void zr_mp_reader_init (zr_mp_reader_t *reader, const msgpack_object *array);

/* Returns the next field, or NULL (rc set to ZR_EMALFORMED if it was
   0) if an error came before or no field is left. */
const msgpack_object *zr_mp_next (zr_mp_reader_t *reader);

/* Sets rc to error (<= 0; 0 does nothing) unless an error came first. */
void zr_mp_fail (zr_mp_reader_t *reader, int error);

/* Reads an integer >= 0, in any msgpack integer format (msgpack-c
   stores non-negative int8..int64 as positive integers too); else
   ZR_EMALFORMED. */
uint64_t zr_mp_read_uint (zr_mp_reader_t *reader);

/* As zr_mp_read_uint, for a value that fits 32 bits (else ZR_EMALFORMED). */
uint32_t zr_mp_read_u32 (zr_mp_reader_t *reader);

/* Reads a bool (msgpack true/false; else ZR_EMALFORMED). */
bool zr_mp_read_bool (zr_mp_reader_t *reader);

/* Reads a str (type MSGPACK_OBJECT_STR) or bin (MSGPACK_OBJECT_BIN) of
   at most max bytes: returns its size and sets *data (NULL when empty);
   ZR_ETOOBIG above max, ZR_EMALFORMED for another type (size 0 then). */
size_t zr_mp_read_bytes (zr_mp_reader_t *reader, msgpack_object_type type,
                         size_t max, const uint8_t **data);

/* Returns 0, ZR_ETOOBIG (over max) or ZR_EMALFORMED (bytes without
   data) for size bytes at data; the str form also refuses a NUL byte. */
int zr_mp_bytes_check (const uint8_t *data, size_t size, size_t max);
int zr_mp_str_check (const uint8_t *data, size_t size, size_t max);

/* Pack a bool, a bin and a str (size bytes at data; data may be NULL
   when size is 0). Return 0 or -1 (the output is full). */
int zr_mp_pack_bool (msgpack_packer *pk, bool value);
int zr_mp_pack_bin (msgpack_packer *pk, const uint8_t *data, size_t size);
int zr_mp_pack_str (msgpack_packer *pk, const uint8_t *data, size_t size);

/* Packs what with pack (which returns 0, or -1 when the output is full),
   once to count and once into a frame of exactly that size, which it
   returns in *data, *size (malloc'd: the caller frees it). Asserts that
   pack succeeds and that the frame is 1..frame_max bytes: the caller
   checked what against rules that keep it so. Returns 0 or ZR_ENOMEM
   (then *data and *size are untouched). */
int zr_mp_encode (int (*pack) (msgpack_packer *, const void *),
                  const void *what, size_t frame_max, uint8_t **data,
                  size_t *size);

#endif
