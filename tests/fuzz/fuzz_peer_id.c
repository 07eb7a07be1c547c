/*  =========================================================================
    fuzz_peer_id - zr_peer_id_parse on arbitrary routing identities

    A ROUTER hands the node whatever identity a connecting peer chose, so
    the parser sees hostile bytes. Checks that it accepts exactly
    "<n|r|d><digit 1..ZR_NODES_MAX>-<16 hex>-<16 hex>" in lower case (a
    reference parser written from peer.h's contract, independent of
    peer.c), that what it accepts prints back to the same bytes, and that
    it allocates nothing.
    =========================================================================
*/
#include "../../transport/transport.h"
#include "fuzz.h"

#include <ctype.h>

const char fuzz_target [] = "peer_id";

/* The contract of zr_peer_id_parse, written out: the id, or 0. */
static zr_id_t
s_expected (const uint8_t *data, size_t size)
{
    if (size != 36 || (data [0] != 'n' && data [0] != 'r' && data [0] != 'd')
        || data [1] < '1' || data [1] > '0' + ZR_NODES_MAX
        || data [2] != '-' || data [19] != '-')
        return 0;
    for (size_t i = 3; i < size; i++)
        if (i != 19 && !isdigit (data [i]) && !(data [i] >= 'a' && data [i] <= 'f'))
            return 0;
    return (zr_id_t) (data [1] - '0');
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char kind = 0;
    zr_peer_who_t who;
    fuzz_alloc_begin ();
    zr_id_t id = zr_peer_id_parse (data, size, &kind, &who);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, 0, 0);
    FUZZ_CHECK (id == s_expected (data, size));
    if (id == 0)
        return 0;
    FUZZ_CHECK (kind == (char) data [0] && who.id == id);
    char text [ZR_PEER_IDENTITY_MAX + 1];
    size_t len = zr_peer_identity (kind, &who, text);
    FUZZ_CHECK (len == size && memcmp (text, data, size) == 0);
    return 0;
}
