/*  =========================================================================
    frames.h - checks the fuzz targets of the msgpack codecs share
    (fuzz_client.c, fuzz_bus_wire.c): static inline, included after
    transport/transport.h and fuzz.h

    A codec's promises that do not depend on its schema: the result of
    a decode is 0 or one of the decoder's codes, bytes it hands out lie
    inside the frame, and a frame that decodes is refused one byte
    shorter or longer.
    =========================================================================
*/
#ifndef ZR_FUZZ_FRAMES_H_INCLUDED
#define ZR_FUZZ_FRAMES_H_INCLUDED

#include <string.h>

/* A decoder's codes (client.h, bus.h): ZR_ENOMEM is not one here. */
static inline bool
fuzz_is_decode_error (int rc)
{
    return rc == ZR_ETOOBIG || rc == ZR_EVERSION || rc == ZR_ETRUNCATED
           || rc == ZR_ECOUNT || rc == ZR_ETRAILING || rc == ZR_EMALFORMED;
}

/* Checks that size bytes at bytes lie inside the frame (data, frame
   size), with bytes NULL exactly when empty, min..max of them and, for
   a str, no NUL. */
static inline void
fuzz_check_bytes (const uint8_t *bytes, size_t size, const uint8_t *data,
                  size_t frame, size_t min, size_t max, bool str)
{
    FUZZ_CHECK (size >= min && size <= max);
    FUZZ_CHECK ((size > 0) == (bytes != NULL));
    if (size == 0)
        return;
    FUZZ_CHECK (bytes >= data && size <= frame && bytes + size <= data + frame);
    FUZZ_CHECK (!str || memchr (bytes, 0, size) == NULL);
}

static inline bool
fuzz_bytes_equal (const uint8_t *a, size_t a_size, const uint8_t *b,
                  size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp (a, b, a_size) == 0);
}

/* Checks that a frame that decodes is refused one byte shorter
   (ZR_ETRUNCATED or ZR_ECOUNT) and one byte longer (ZR_ETRAILING, or
   ZR_ETOOBIG past frame_max): decode (arg, data, size) is the decoder. */
static inline void
fuzz_check_neighbours (const uint8_t *data, size_t size, size_t frame_max,
                       int (*decode) (void *arg, const uint8_t *data,
                                      size_t size), void *arg)
{
    int rc = decode (arg, data, size - 1);
    FUZZ_CHECK (rc == ZR_ETRUNCATED || rc == ZR_ECOUNT);
    uint8_t *longer = (uint8_t *) malloc (size + 1);
    FUZZ_CHECK (longer);
    memcpy (longer, data, size);
    longer [size] = 0;
    rc = decode (arg, longer, size + 1);
    FUZZ_CHECK (rc == (size + 1 > frame_max ? ZR_ETOOBIG : ZR_ETRAILING));
    free (longer);
}

#endif
