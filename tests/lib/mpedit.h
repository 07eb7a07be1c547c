/*  =========================================================================
    mpedit - what the strict codecs' tests do to msgpack frames: swap,
    drop or add a top-level element, try an object of every msgpack
    type, and draw seeded mutations

    Used by tests/unit/test_client_codec.c and test_bus_codec.c. Asserts
    (Check) that the frame it is given is a whole msgpack array.
    =========================================================================
*/
#ifndef ZR_TEST_MPEDIT_H_INCLUDED
#define ZR_TEST_MPEDIT_H_INCLUDED

#include <msgpack.h>
#include <stdint.h>

/* Writes into out (initialised here; the caller destroys it) frame with
   its top-level array edited: element at replaced by *object, or removed
   if object is NULL, or *object appended if at is the element count. */
void mpedit_frame (const uint8_t *data, size_t size, uint32_t at,
                   const msgpack_object *object, msgpack_sbuffer *out);

/* Objects of every msgpack type (one each: nil, true, 1, -1, 1.0, "x",
   bin "x", [], {}, ext): static, *n of them. */
const msgpack_object *mpedit_candidates (size_t *n);

/* The next number of a xorshift64 sequence (state never 0). */
uint64_t mpedit_xorshift (uint64_t *state);

#endif
