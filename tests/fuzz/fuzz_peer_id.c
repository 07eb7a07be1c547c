/*  =========================================================================
    fuzz_peer_id - zr_peer_id_parse on arbitrary routing identities

    A ROUTER hands the node whatever identity a connecting peer chose, so
    the parser sees hostile bytes. Checks that it accepts exactly
    "<n|r><decimal 1..ZR_NODES_MAX>" of at most 4 bytes (a reference
    parser written from peer.h's contract, independent of peer.c), that
    what it accepts prints back to an identity it accepts the same way,
    and that it allocates nothing.
    =========================================================================
*/
#include "../../transport/transport.h"
#include "fuzz.h"

#include <ctype.h>

const char fuzz_target [] = "peer_id";

/* Identity bytes: the kind and up to 3 digits (peer.h). */
#define S_ID_BYTES_MAX 4

/* The contract of zr_peer_id_parse, written out: the id, or 0. */
static zr_id_t
s_expected (const uint8_t *data, size_t size)
{
    if (size < 2 || size > S_ID_BYTES_MAX
        || (data [0] != 'n' && data [0] != 'r' && data [0] != 'd'))
        return 0;
    uint32_t id = 0;
    for (size_t i = 1; i < size; i++) {
        if (!isdigit (data [i]))
            return 0;
        id = id * 10 + (uint32_t) (data [i] - '0');
    }
    return id >= 1 && id <= ZR_NODES_MAX ? id : 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char kind = 0;
    fuzz_alloc_begin ();
    zr_id_t id = zr_peer_id_parse (data, size, &kind);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, 0, 0);
    FUZZ_CHECK (id == s_expected (data, size));
    if (id == 0)
        return 0;
    FUZZ_CHECK (kind == (char) data [0]);
    char text [16];
    int len = snprintf (text, sizeof text, "%c%u", kind, id);
    FUZZ_CHECK (len >= 2 && len <= S_ID_BYTES_MAX);
    char again = 0;
    FUZZ_CHECK (zr_peer_id_parse (text, (size_t) len, &again) == id);
    FUZZ_CHECK (again == kind);
    return 0;
}
